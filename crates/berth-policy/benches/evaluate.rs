//! Policy evaluation throughput: decisions per second for realistic identity policies of 10, 30
//! and 100 statements (actions lists, wildcard resources, conditions, an explicit Deny), next to
//! the baseline of a one-statement policy measured in the same run, and parsing of the same
//! documents.
//!
//! Then the policy sets a live decision combines (`berth_iam::authz::decide` hands the
//! principal's documents to [`evaluate`] as one [`PolicySet`], as measured here):
//! - a user with an inline policy and three groups, each group with an inline and an attached
//!   policy (7 identity documents, the allowing statement in the last group's);
//! - a user with 10 attached managed policies, only the last of which allows (the row of
//!   `bench/bench.py` measures the same through the API);
//! - a role with two policies and a permissions boundary;
//! - a role session (assumed-role principal) with the role's two policies, its boundary and a
//!   session policy passed to AssumeRole: all three must allow.
//!
//! `cargo bench -p berth-policy --bench evaluate` prints divan's table, then one line per case:
//! `ratio <case>: <decisions/s> decisions/s, <x> of the one-statement baseline`.
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
    let mut stmts = others(n.saturating_sub(1), n / 2);
    stmts.push(allowing());
    document(&stmts)
}

/// The statement that allows the request.
fn allowing() -> String {
    format!(
        r#"{{"Sid":"Last","Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/*","Condition":{{"StringEquals":{{"aws:RequestedRegion":"us-east-1"}}}}}}"#
    )
}

fn document(stmts: &[String]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        stmts.join(",")
    )
}

/// `n` statements that do not allow the request (the `deny_at`th, if a kind-3 one, is a Deny
/// on other secrets).
fn others(n: usize, deny_at: usize) -> Vec<String> {
    let mut stmts = Vec::new();
    for i in 0..n {
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
            3 if i == deny_at => format!(
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
    stmts
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

/// A principal and the documents a live decision combines for it.
struct Combined {
    principal: Principal,
    identity: Vec<Policy>,
    boundary: Option<Policy>,
    session: Option<Policy>,
}

const ROLE: &str = "arn:aws:iam::111122223333:role/app";
const SESSION: &str = "arn:aws:sts::111122223333:assumed-role/app/task-1";

fn identity(doc: &str) -> Policy {
    parse(doc, PolicyKind::Identity).unwrap()
}

/// A boundary of the usual shape: what the team may ever do, and no IAM.
fn boundary() -> Policy {
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["secretsmanager:Get*","secretsmanager:Describe*","secretsmanager:List*"],"Resource":"arn:aws:secretsmanager:*:{ACCOUNT}:secret:*"}},
            {{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{{"StringLike":{{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}}}}},
            {{"Effect":"Allow","Action":["ecs:*","logs:*","ssm:GetParameter*"],"Resource":"*"}},
            {{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}},
            {{"Effect":"Deny","Action":["iam:*","organizations:*"],"Resource":"*"}}]}}"#
    );
    parse(&doc, PolicyKind::Boundary).unwrap()
}

/// A session policy passed to AssumeRole: the one secret tree, its key, the task's logs.
fn session_policy() -> Policy {
    let doc = format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/*"}},
            {{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"}},
            {{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/app:*"}}]}}"#
    );
    parse(&doc, PolicyKind::Session).unwrap()
}

/// `docs` identity documents of `size` statements each, only the last allowing (its last
/// statement).
fn documents(docs: usize, size: usize) -> Vec<Policy> {
    (0..docs)
        .map(|d| {
            if d + 1 == docs {
                let mut stmts = others(size.saturating_sub(1), usize::MAX);
                stmts.push(allowing());
                identity(&document(&stmts))
            } else {
                identity(&document(&others(size, usize::MAX)))
            }
        })
        .collect()
}

/// The cases of a live decision measured here (see the module's documentation).
const CASES: [&str; 4] = [
    "user_3_groups",
    "user_10_managed",
    "role_boundary",
    "session_policy",
];

fn combined(case: &str) -> Combined {
    let role = || Principal::assumed_role(ACCOUNT, ROLE, SESSION);
    match case {
        // The user's inline policy, then per group an inline and an attached one.
        "user_3_groups" => Combined {
            principal: alice(),
            identity: documents(7, 5),
            boundary: None,
            session: None,
        },
        "user_10_managed" => Combined {
            principal: alice(),
            identity: documents(10, 5),
            boundary: None,
            session: None,
        },
        "role_boundary" => Combined {
            principal: role(),
            identity: documents(2, 10),
            boundary: Some(boundary()),
            session: None,
        },
        _ => Combined {
            principal: role(),
            identity: documents(2, 10),
            boundary: Some(boundary()),
            session: Some(session_policy()),
        },
    }
}

fn decide_combined(c: &Combined, ctx: &Context) -> bool {
    let req = Request {
        principal: &c.principal,
        action: "secretsmanager:GetSecretValue",
        resource: SECRET,
        resource_account: None,
        context: ctx,
    };
    let identity: Vec<&Policy> = c.identity.iter().collect();
    let set = PolicySet {
        identity: &identity,
        resource: None,
        boundary: c.boundary.as_ref(),
        session: c.session.as_ref(),
    };
    evaluate(&req, &set, Mode::Standard).is_allowed()
}

#[divan::bench(args = CASES)]
fn evaluate_combined(b: divan::Bencher, case: &str) {
    let c = combined(case);
    let ctx = context();
    assert!(decide_combined(&c, &ctx), "{case} must allow");
    b.bench_local(|| decide_combined(black_box(&c), &ctx));
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

/// Decisions per second of `decide`, measured for about `budget`.
fn rate(mut decide: impl FnMut() -> bool, budget: Duration) -> f64 {
    let start = Instant::now();
    let mut n: u64 = 0;
    while start.elapsed() < budget {
        for _ in 0..256 {
            black_box(decide());
        }
        n += 256;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

/// The rate of `decide` against the one-statement baseline's, interleaved three times so that
/// the machine's noise falls on both alike: (decisions/s, baseline decisions/s).
fn against_baseline(mut decide_it: impl FnMut() -> bool) -> (f64, f64) {
    let budget = Duration::from_millis(300);
    let base_policy = parse(&trivial(), PolicyKind::Identity).unwrap();
    let (p, ctx) = (alice(), context());
    let (mut base, mut real) = (0.0, 0.0);
    for _ in 0..3 {
        base += rate(|| decide(black_box(&base_policy), &p, &ctx), budget);
        real += rate(&mut decide_it, budget);
    }
    (real / 3.0, base / 3.0)
}

fn main() {
    divan::main();
    // The ratio against the baseline, measured here in the same process.
    let (p, ctx) = (alice(), context());
    for n in SIZES {
        let policy = parse(&realistic(n), PolicyKind::Identity).unwrap();
        let (real, base) = against_baseline(|| decide(black_box(&policy), &p, &ctx));
        println!(
            "ratio {n} statements: {real:.0} decisions/s, {:.3}x of the one-statement baseline ({base:.0} decisions/s)",
            real / base
        );
    }
    for case in CASES {
        let c = combined(case);
        let (real, base) = against_baseline(|| decide_combined(black_box(&c), &ctx));
        println!(
            "ratio {case}: {real:.0} decisions/s, {:.3}x of the one-statement baseline ({base:.0} decisions/s)",
            real / base
        );
    }
}
