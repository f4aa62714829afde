//! Policy evaluation throughput: decisions per second for realistic identity policies of 10, 30
//! and 100 statements (actions lists, wildcard resources, conditions, an explicit Deny), next to
//! the baseline of a one-statement policy measured in the same run, and parsing of the same
//! documents.
//!
//! `cargo bench -p berth-policy --bench evaluate` prints divan's table, then one line per size:
//! `ratio <n> statements: <decisions/s> decisions/s, <x> of the one-statement baseline`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime};

use berth_policy::{
    Context, ContextValue, Mode, Policy, PolicyKind, PolicySet, Principal, Request, evaluate, parse,
};

const ACCOUNT: &str = "111122223333";
const SIZES: [usize; 3] = [10, 30, 100];
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";

/// A one-statement policy that allows the request: the baseline.
fn trivial() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"{SECRET}"}}]}}"#
    )
}

/// `n` statements of the kinds real policies have; the one that allows the request is last, so
/// every statement is looked at. One Deny (on another resource) is in the middle.
fn realistic(n: usize) -> String {
    let mut stmts = Vec::new();
    for i in 0..n.saturating_sub(1) {
        let s = match i % 5 {
            0 => format!(
                r#"{{"Sid":"S{i}","Effect":"Allow","Action":["ecs:Describe*","ecs:List*","ecs:RunTask"],"Resource":"arn:aws:ecs:*:{ACCOUNT}:task-definition/app-{i}:*"}}"#
            ),
            1 => format!(
                r#"{{"Sid":"S{i}","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:team-{i}/*","Condition":{{"StringEquals":{{"aws:RequestedRegion":"us-east-1"}},"IpAddress":{{"aws:SourceIp":["10.0.0.0/8","192.168.0.0/16"]}}}}}}"#
            ),
            2 => format!(
                r#"{{"Sid":"S{i}","Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"arn:aws:kms:us-east-1:{ACCOUNT}:key/{i:08}-aaaa-bbbb-cccc-dddddddddddd","Condition":{{"StringLike":{{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}}}}}"#
            ),
            3 if i == n / 2 => format!(
                r#"{{"Sid":"S{i}","Effect":"Deny","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:{ACCOUNT}:secret:admin/*"}}"#
            ),
            3 => format!(
                r#"{{"Sid":"S{i}","Effect":"Allow","NotAction":["iam:*","organizations:*"],"Resource":"arn:aws:s3:::bucket-{i}/*","Condition":{{"Bool":{{"aws:SecureTransport":"true"}}}}}}"#
            ),
            _ => format!(
                r#"{{"Sid":"S{i}","Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"}}"#
            ),
        };
        stmts.push(s);
    }
    stmts.push(format!(
        r#"{{"Sid":"Last","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/*","Condition":{{"StringEquals":{{"aws:RequestedRegion":"us-east-1"}}}}}}"#
    ));
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        stmts.join(",")
    )
}

fn context() -> Context {
    let mut c = Context::new();
    c.insert("aws:RequestedRegion", "us-east-1");
    c.insert("aws:SecureTransport", false);
    c.insert("aws:username", "alice");
    c.insert("aws:userid", "AIDAEXAMPLE");
    c.insert("aws:CurrentTime", ContextValue::Date(SystemTime::now()));
    let ip: IpAddr = "10.1.2.3".parse().unwrap();
    c.insert("aws:SourceIp", ContextValue::Ip(ip));
    c
}

fn decide(policy: &Policy, principal: &Principal, ctx: &Context) -> bool {
    let req = Request {
        principal,
        action: "secretsmanager:GetSecretValue",
        resource: SECRET,
        resource_account: None,
        context: ctx,
    };
    let identity = [policy];
    let set = PolicySet {
        identity: &identity,
        ..PolicySet::default()
    };
    evaluate(&req, &set, Mode::Standard).is_allowed()
}

fn alice() -> Principal {
    Principal::user(ACCOUNT, "arn:aws:iam::111122223333:user/alice")
}

#[divan::bench]
fn evaluate_baseline_1_statement(b: divan::Bencher) {
    let policy = parse(&trivial(), PolicyKind::Identity).unwrap();
    let (p, ctx) = (alice(), context());
    assert!(decide(&policy, &p, &ctx));
    b.bench_local(|| decide(black_box(&policy), &p, &ctx));
}

#[divan::bench(args = SIZES)]
fn evaluate_realistic(b: divan::Bencher, n: usize) {
    let policy = parse(&realistic(n), PolicyKind::Identity).unwrap();
    let (p, ctx) = (alice(), context());
    assert!(decide(&policy, &p, &ctx));
    b.bench_local(|| decide(black_box(&policy), &p, &ctx));
}

#[divan::bench]
fn parse_baseline_1_statement(b: divan::Bencher) {
    let doc = trivial();
    b.bench_local(|| parse(black_box(&doc), PolicyKind::Identity).is_ok());
}

#[divan::bench(args = SIZES)]
fn parse_realistic(b: divan::Bencher, n: usize) {
    let doc = realistic(n);
    b.bench_local(|| parse(black_box(&doc), PolicyKind::Identity).is_ok());
}

/// Decisions per second for `policy`, measured for about `budget`.
fn rate(policy: &Policy, budget: Duration) -> f64 {
    let (p, ctx) = (alice(), context());
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..256 {
            black_box(decide(black_box(policy), &p, &ctx));
        }
        n += 256;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    divan::main();
    // The ratio against the baseline, measured here in the same process, interleaved so that
    // the machine's noise falls on both alike.
    let budget = Duration::from_millis(300);
    let base_policy = parse(&trivial(), PolicyKind::Identity).unwrap();
    for n in SIZES {
        let policy = parse(&realistic(n), PolicyKind::Identity).unwrap();
        let (mut base, mut real) = (0.0, 0.0);
        for _ in 0..3 {
            base += rate(&base_policy, budget);
            real += rate(&policy, budget);
        }
        let (base, real) = (base / 3.0, real / 3.0);
        println!(
            "ratio {n} statements: {real:.0} decisions/s, {:.3}x of the one-statement baseline ({base:.0} decisions/s)",
            real / base
        );
    }
}
