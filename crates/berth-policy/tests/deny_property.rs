//! Property: for random policy sets and requests, adding a matching explicit
//! `Deny` statement to any of the policies makes the decision an explicit deny.
#![allow(clippy::unwrap_used)]

use berth_policy::{
    Context, Decision, Mode, Policy, PolicyKind, PolicySet, Principal, Request, evaluate, parse,
};
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "kms:Decrypt",
    "secretsmanager:GetSecretValue",
    "iam:GetUser",
    "sts:AssumeRole",
];
const ACTION_PATTERNS: &[&str] = &[
    "s3:GetObject",
    "kms:Decrypt",
    "secretsmanager:GetSecretValue",
    "s3:*",
    "*",
    "kms:*",
    "secretsmanager:Get*",
    "iam:Get?ser",
    "STS:assumerole",
];
const RESOURCES: &[&str] = &[
    "arn:aws:s3:::b/k",
    "arn:aws:kms:us-east-1:111122223333:key/k1",
    "arn:aws:secretsmanager:us-east-1:111122223333:secret:s-AbCdEf",
    "arn:aws:iam::111122223333:role/R",
    "*",
];
const RESOURCE_PATTERNS: &[&str] = &[
    "arn:aws:s3:::b/k",
    "arn:aws:kms:us-east-1:111122223333:key/k1",
    "*",
    "arn:aws:s3:::*",
    "arn:aws:kms:*:*:key/*",
    "arn:aws:secretsmanager:*:*:secret:s-??????",
    "arn:aws:iam::*:role/${aws:PrincipalTag/team}",
];
const PRINCIPALS: &[&str] = &[
    r#""*""#,
    r#"{"AWS":"111122223333"}"#,
    r#"{"AWS":"arn:aws:iam::444455556666:root"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:user/alice"}"#,
    r#"{"AWS":"arn:aws:iam::111122223333:role/R"}"#,
    r#"{"AWS":"arn:aws:sts::111122223333:assumed-role/R/s"}"#,
    r#"{"Service":"ecs-tasks.amazonaws.com"}"#,
];
const CONDITIONS: &[&str] = &[
    r#"{"StringEquals":{"aws:PrincipalTag/team":"red"}}"#,
    r#"{"Bool":{"aws:SecureTransport":"true"}}"#,
    r#"{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
    r#"{"StringNotEquals":{"aws:PrincipalAccount":"444455556666"}}"#,
    r#"{"Null":{"aws:TokenIssueTime":"true"}}"#,
    r#"{"ForAllValues:StringLike":{"aws:TagKeys":"env*"}}"#,
];

#[derive(Debug, Clone)]
struct GenStatement {
    allow: bool,
    actions: Vec<&'static str>,
    not_action: bool,
    resources: Vec<&'static str>,
    not_resource: bool,
    condition: Option<&'static str>,
    principal: &'static str,
    not_principal: bool,
}

fn statement() -> impl Strategy<Value = GenStatement> {
    (
        any::<bool>(),
        prop::collection::vec(select(ACTION_PATTERNS), 1..3),
        prop::bool::weighted(0.2),
        prop::collection::vec(select(RESOURCE_PATTERNS), 1..3),
        prop::bool::weighted(0.2),
        prop::option::weighted(0.3, select(CONDITIONS)),
        select(PRINCIPALS),
        prop::bool::weighted(0.15),
    )
        .prop_map(
            |(
                allow,
                actions,
                not_action,
                resources,
                not_resource,
                condition,
                principal,
                not_principal,
            )| {
                GenStatement {
                    allow,
                    actions,
                    not_action,
                    resources,
                    not_resource,
                    condition,
                    principal,
                    not_principal,
                }
            },
        )
}

fn to_json(st: &GenStatement, with_principal: bool) -> Value {
    let mut v = json!({
        "Effect": if st.allow { "Allow" } else { "Deny" },
        (if st.not_action { "NotAction" } else { "Action" }): st.actions,
        (if st.not_resource { "NotResource" } else { "Resource" }): st.resources,
    });
    if let Some(c) = st.condition {
        v["Condition"] = serde_json::from_str(c).unwrap();
    }
    if with_principal {
        let key = if st.not_principal {
            "NotPrincipal"
        } else {
            "Principal"
        };
        v[key] = serde_json::from_str(st.principal).unwrap();
    }
    v
}

fn doc(statements: &[Value], version_2012: bool) -> String {
    if version_2012 {
        json!({"Version": "2012-10-17", "Statement": statements}).to_string()
    } else {
        json!({"Statement": statements}).to_string()
    }
}

#[derive(Debug, Clone)]
struct World {
    identity: Vec<Vec<GenStatement>>,
    resource: Option<Vec<GenStatement>>,
    boundary: Option<Vec<GenStatement>>,
    session: Option<Vec<GenStatement>>,
    version_2012: bool,
    principal: usize,
    action: &'static str,
    resource_arn: &'static str,
    resource_account: Option<&'static str>,
    tags: Vec<(&'static str, &'static str)>,
    mode: Mode,
    target: usize,
    deny_form: usize,
}

fn policy_stmts() -> impl Strategy<Value = Vec<GenStatement>> {
    prop::collection::vec(statement(), 1..4)
}

fn world() -> impl Strategy<Value = World> {
    (
        (
            prop::collection::vec(policy_stmts(), 0..3),
            prop::option::of(policy_stmts()),
            prop::option::of(policy_stmts()),
            prop::option::of(policy_stmts()),
            any::<bool>(),
        ),
        (
            0usize..5,
            select(ACTIONS),
            select(RESOURCES),
            select(&[None, Some("111122223333"), Some("444455556666")][..]),
            prop::collection::vec(
                select(
                    &[
                        ("aws:PrincipalTag/team", "red"),
                        ("aws:SecureTransport", "true"),
                        ("aws:SourceIp", "10.1.2.3"),
                        ("aws:TagKeys", "env1"),
                    ][..],
                ),
                0..4,
            ),
            select(&[Mode::Standard, Mode::ResourcePolicyRequired][..]),
            0usize..8,
            0usize..4,
        ),
    )
        .prop_map(
            |(
                (identity, resource, boundary, session, version_2012),
                (principal, action, resource_arn, resource_account, tags, mode, target, deny_form),
            )| World {
                identity,
                resource,
                boundary,
                session,
                version_2012,
                principal,
                action,
                resource_arn,
                resource_account,
                tags,
                mode,
                target,
                deny_form,
            },
        )
}

fn principal(i: usize) -> Principal {
    match i {
        0 => Principal::user("111122223333", "arn:aws:iam::111122223333:user/alice"),
        1 => Principal::assumed_role(
            "111122223333",
            "arn:aws:iam::111122223333:role/R",
            "arn:aws:sts::111122223333:assumed-role/R/s",
        ),
        2 => Principal::root("111122223333"),
        3 => Principal::user("444455556666", "arn:aws:iam::444455556666:user/bob"),
        _ => Principal::service("ecs-tasks.amazonaws.com"),
    }
}

/// A Deny statement that matches `action` on `resource`, in one of a few forms.
fn matching_deny(w: &World, with_principal: bool) -> Value {
    let service = w.action.split(':').next().unwrap();
    let mut v = match w.deny_form {
        0 => json!({"Effect": "Deny", "Action": w.action, "Resource": "*"}),
        1 => json!({"Effect": "Deny", "Action": "*", "Resource": [w.resource_arn, "*"]}),
        2 => json!({"Effect": "Deny", "Action": format!("{service}:*"), "Resource": "*"}),
        _ => {
            json!({"Effect": "Deny", "NotAction": "nosuchservice:*", "NotResource": "arn:aws:nosuch:::x"})
        }
    };
    if with_principal {
        v["Principal"] = json!("*");
    }
    v
}

fn decide(w: &World, add_deny: bool) -> Decision {
    let mut identity: Vec<Vec<Value>> = w
        .identity
        .iter()
        .map(|p| p.iter().map(|s| to_json(s, false)).collect())
        .collect();
    let mut resource: Option<Vec<Value>> = w
        .resource
        .as_ref()
        .map(|p| p.iter().map(|s| to_json(s, true)).collect());
    let mut boundary: Option<Vec<Value>> = w
        .boundary
        .as_ref()
        .map(|p| p.iter().map(|s| to_json(s, false)).collect());
    let mut session: Option<Vec<Value>> = w
        .session
        .as_ref()
        .map(|p| p.iter().map(|s| to_json(s, false)).collect());

    if add_deny {
        // Slots: each identity policy, then resource, boundary, session.
        let mut slots: Vec<usize> = (0..identity.len()).collect();
        if resource.is_some() {
            slots.push(100);
        }
        if boundary.is_some() {
            slots.push(101);
        }
        if session.is_some() {
            slots.push(102);
        }
        if slots.is_empty() {
            identity.push(Vec::new());
            slots.push(0);
        }
        match slots[w.target % slots.len()] {
            100 => resource.as_mut().unwrap().push(matching_deny(w, true)),
            101 => boundary.as_mut().unwrap().push(matching_deny(w, false)),
            102 => session.as_mut().unwrap().push(matching_deny(w, false)),
            i => identity[i].push(matching_deny(w, false)),
        }
    }

    let p = |stmts: &[Value], kind| -> Policy {
        let text = doc(stmts, w.version_2012);
        parse(&text, kind).unwrap_or_else(|e| panic!("{}: {text}", e.diagnostic()))
    };
    let identity: Vec<Policy> = identity
        .iter()
        .map(|s| p(s, PolicyKind::Identity))
        .collect();
    let identity_refs: Vec<&Policy> = identity.iter().collect();
    let resource = resource.as_deref().map(|s| p(s, PolicyKind::Resource));
    let boundary = boundary.as_deref().map(|s| p(s, PolicyKind::Boundary));
    let session = session.as_deref().map(|s| p(s, PolicyKind::Session));

    let mut ctx = Context::new();
    let mut tag_keys = Vec::new();
    for (k, v) in &w.tags {
        if *k == "aws:TagKeys" {
            tag_keys.push(*v);
        } else {
            ctx.insert(k, *v);
        }
    }
    if !tag_keys.is_empty() {
        ctx.insert_multi("aws:TagKeys", tag_keys);
    }
    let who = principal(w.principal);
    let req = Request {
        principal: &who,
        action: w.action,
        resource: w.resource_arn,
        resource_account: w.resource_account,
        context: &ctx,
    };
    let set = PolicySet {
        identity: &identity_refs,
        resource: resource.as_ref(),
        boundary: boundary.as_ref(),
        session: session.as_ref(),
    };
    evaluate(&req, &set, w.mode)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn matching_deny_always_wins(w in world()) {
        let before = decide(&w, false);
        let after = decide(&w, true);
        prop_assert!(
            matches!(after, Decision::ExplicitDeny { .. }),
            "before {:?}, after {:?}", before, after
        );
    }

    #[test]
    fn evaluation_is_deterministic(w in world()) {
        prop_assert_eq!(decide(&w, false), decide(&w, false));
    }
}
