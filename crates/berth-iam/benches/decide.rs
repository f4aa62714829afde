//! A live decision's cost: `berth_iam::authz::decide`, the function every authorised call goes
//! through, over the documents `identity_policies` gathers for a principal (inline, attached
//! and group policies, the permissions boundary, a role session's session policy), with the
//! request context `request_context` builds. Besides the engine's evaluation (measured alone in
//! `cargo bench -p berth-policy --bench evaluate`), this includes finding each stored document's
//! parsed form in the parse cache (by its text) and the engine's view of the principal. Reading
//! the documents from the store is not included: `bench/bench.py`'s managed-policy rows measure
//! the whole call.
//!
//! `cargo bench -p berth-iam --bench decide`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::SystemTime;

use berth_iam::Principal;
use berth_iam::authz::{IdentityDocuments, Question, decide, request_context};
use berth_policy::{Context, Mode, PolicyKind};

const ACCOUNT: &str = "111122223333";
const SECRET: &str = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbCdEf";

/// Five statements that do not allow the request (document `d`'s own resources).
fn others(d: usize) -> Vec<String> {
    vec![
        format!(
            r#"{{"Sid":"Ecs","Effect":"Allow","Action":["ecs:Describe*","ecs:List*","ecs:RunTask"],"Resource":"arn:aws:ecs:*:{ACCOUNT}:task-definition/app-{d}:*"}}"#
        ),
        format!(
            r#"{{"Sid":"Team","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:team-{d}/*","Condition":{{"StringEquals":{{"aws:RequestedRegion":"us-east-1"}}}}}}"#
        ),
        format!(
            r#"{{"Sid":"Key","Effect":"Allow","Action":["kms:Decrypt","kms:GenerateDataKey"],"Resource":"arn:aws:kms:us-east-1:{ACCOUNT}:key/{d:08}-aaaa-bbbb-cccc-dddddddddddd"}}"#
        ),
        format!(
            r#"{{"Sid":"Params","Effect":"Allow","Action":"ssm:GetParameter*","Resource":"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/team-{d}/*"}}"#
        ),
        format!(
            r#"{{"Sid":"NoAdmin","Effect":"Deny","Action":"secretsmanager:*","Resource":"arn:aws:secretsmanager:*:{ACCOUNT}:secret:admin-{d}/*"}}"#
        ),
    ]
}

fn document(stmts: &[String]) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        stmts.join(",")
    )
}

/// `n` documents of five statements, the last one's last statement allowing the request.
fn documents(n: usize) -> Vec<String> {
    (0..n)
        .map(|d| {
            let mut stmts = others(d);
            if d + 1 == n {
                stmts.pop();
                stmts.push(format!(
                    r#"{{"Sid":"Read","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/*"}}"#
                ));
            }
            document(&stmts)
        })
        .collect()
}

fn boundary() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":["secretsmanager:Get*","secretsmanager:Describe*","secretsmanager:List*"],"Resource":"arn:aws:secretsmanager:*:{ACCOUNT}:secret:*"}},
            {{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*","Condition":{{"StringLike":{{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}}}}},
            {{"Effect":"Allow","Action":["ecs:*","logs:*","ssm:GetParameter*"],"Resource":"*"}},
            {{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}},
            {{"Effect":"Deny","Action":["iam:*","organizations:*"],"Resource":"*"}}]}}"#
    )
}

fn session_policy() -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
            {{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:prod/*"}},
            {{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"}},
            {{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/app:*"}}]}}"#
    )
}

fn user() -> Principal {
    Principal::User {
        account: ACCOUNT.into(),
        name: "alice".into(),
        id: "AIDAALICE".into(),
        path: "/".into(),
    }
}

fn role_session() -> Principal {
    Principal::AssumedRole {
        account: ACCOUNT.into(),
        role_name: "app".into(),
        role_id: "AROAAPP".into(),
        role_path: "/".into(),
        session_name: "task-1".into(),
        session_key_id: "ASIATASK".into(),
    }
}

const CASES: [&str; 5] = [
    "user_1_policy",
    "user_3_groups",
    "user_10_managed",
    "role_boundary",
    "session_policy",
];

/// The principal and its documents as `identity_policies` (and, for a session, the caller's
/// session policy) hands them to `decide`.
fn case(name: &str) -> (Principal, IdentityDocuments) {
    match name {
        "user_1_policy" => (
            user(),
            IdentityDocuments {
                policies: documents(1),
                ..Default::default()
            },
        ),
        // The user's inline policy, then per group an inline and an attached one.
        "user_3_groups" => (
            user(),
            IdentityDocuments {
                policies: documents(7),
                ..Default::default()
            },
        ),
        "user_10_managed" => (
            user(),
            IdentityDocuments {
                policies: documents(10),
                ..Default::default()
            },
        ),
        "role_boundary" => (
            role_session(),
            IdentityDocuments {
                policies: documents(2),
                boundary: Some(boundary()),
                ..Default::default()
            },
        ),
        _ => (
            role_session(),
            IdentityDocuments {
                policies: documents(2),
                boundary: Some(boundary()),
                session: Some(session_policy()),
                ..Default::default()
            },
        ),
    }
}

fn context(p: &Principal) -> Context {
    request_context(
        p,
        "us-east-1",
        SystemTime::now(),
        Some("10.1.2.3".parse().unwrap()),
        &[],
        &[],
    )
}

fn ask(p: &Principal, docs: &IdentityDocuments, ctx: &Context) -> bool {
    decide(
        &Question {
            principal: p,
            action: "secretsmanager:GetSecretValue",
            resource: SECRET,
            resource_account: None,
            resource_policy: None,
            resource_policy_kind: PolicyKind::Resource,
            mode: Mode::Standard,
            context: ctx,
        },
        docs,
    )
    .is_allowed()
}

#[divan::bench(args = CASES)]
fn decide_live(b: divan::Bencher, name: &str) {
    let (p, docs) = case(name);
    let ctx = context(&p);
    // The first decision parses the documents into the cache; the measured ones find them.
    assert!(ask(&p, &docs, &ctx), "{name} must allow");
    b.bench_local(|| ask(&p, black_box(&docs), &ctx));
}

fn main() {
    divan::main();
}
