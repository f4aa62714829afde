//! A decision with its reasons, as IAM's policy simulator reports it: which statements matched,
//! which condition keys the request lacked, and what the permissions boundary said.

use crate::condition::Lookup;
use crate::eval::{
    Env, action_matches, conditions_hold, evaluate, principal_grant, resource_matches,
};
use crate::{Decision, Effect, Mode, Policy, PolicySet, Request};

/// Which policy of a [`PolicySet`] a statement belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The identity-based policy at this index of [`PolicySet::identity`].
    Identity(usize),
    /// The resource policy.
    Resource,
    /// The permissions boundary.
    Boundary,
    /// The session policy.
    Session,
}

/// A statement of one of the set's policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementAt {
    pub source: Source,
    /// Its index in [`Policy::statements`].
    pub index: usize,
}

/// The outcome of [`explain`].
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// What [`evaluate`] decides.
    pub decision: Decision,
    /// The statements that decided: for an allowed request, the `Allow` statements that apply
    /// (identity-based and resource policies); for an explicit deny, the `Deny` statements that
    /// apply (any policy); none for an implicit deny.
    pub matched: Vec<StatementAt>,
    /// Condition keys (lowercase) of statements that apply by action and resource whose value
    /// the request does not carry, each with the statement that names it.
    pub missing: Vec<(StatementAt, String)>,
    /// Whether the permissions boundary allows the request; `None` without a boundary.
    pub boundary_allows: Option<bool>,
}

/// Decides `req` as [`evaluate`] does and says why.
pub fn explain(req: &Request<'_>, policies: &PolicySet<'_>, mode: Mode) -> Explanation {
    let decision = evaluate(req, policies, mode);
    let env = Env { req };
    let mut applying: Vec<(StatementAt, Effect)> = Vec::new();
    let mut missing = Vec::new();
    let mut look = |policy: &Policy, source: Source, by_principal: bool| {
        for (index, st) in policy.statements().iter().enumerate() {
            if by_principal && principal_grant(st.principal.as_ref(), req.principal).is_none() {
                continue;
            }
            if !action_matches(st, req.action) || !resource_matches(st, req.resource, &env) {
                continue;
            }
            let at = StatementAt { source, index };
            for c in &st.conditions {
                let absent = env.lookup(&c.key).is_none();
                if absent && !missing.iter().any(|(_, k)| k == &c.key) {
                    missing.push((at, c.key.clone()));
                }
            }
            if conditions_hold(st, &env) {
                applying.push((at, st.effect()));
            }
        }
    };
    for (i, p) in policies.identity.iter().enumerate() {
        look(p, Source::Identity(i), false);
    }
    if let Some(p) = policies.resource {
        look(p, Source::Resource, true);
    }
    if let Some(p) = policies.boundary {
        look(p, Source::Boundary, false);
    }
    if let Some(p) = policies.session {
        look(p, Source::Session, false);
    }
    let boundary_allows = policies.boundary.map(|_| {
        let of_boundary = |e: Effect| {
            applying
                .iter()
                .any(|(at, eff)| at.source == Source::Boundary && *eff == e)
        };
        of_boundary(Effect::Allow) && !of_boundary(Effect::Deny)
    });
    let matched = match decision {
        Decision::Allowed { .. } => applying
            .iter()
            .filter(|(at, e)| {
                *e == Effect::Allow && matches!(at.source, Source::Identity(_) | Source::Resource)
            })
            .map(|(at, _)| *at)
            .collect(),
        Decision::ExplicitDeny { .. } => applying
            .iter()
            .filter(|(_, e)| *e == Effect::Deny)
            .map(|(at, _)| *at)
            .collect(),
        Decision::ImplicitDeny { .. } => Vec::new(),
    };
    Explanation {
        decision,
        matched,
        missing,
        boundary_allows,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::{Context, PolicyKind, Principal, parse};

    fn ask(docs: &[&str], boundary: Option<&str>, ctx: &Context, action: &str) -> Explanation {
        let parsed: Vec<Policy> = docs
            .iter()
            .map(|d| parse(d, PolicyKind::Identity).unwrap())
            .collect();
        let refs: Vec<&Policy> = parsed.iter().collect();
        let b = boundary.map(|d| parse(d, PolicyKind::Boundary).unwrap());
        let alice = Principal::user("111122223333", "arn:aws:iam::111122223333:user/alice");
        let req = Request {
            principal: &alice,
            action,
            resource: "*",
            resource_account: None,
            context: ctx,
        };
        let set = PolicySet {
            identity: &refs,
            boundary: b.as_ref(),
            ..PolicySet::default()
        };
        explain(&req, &set, Mode::Standard)
    }

    const ALLOW_S3: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"},{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"aws:username":"alice","s3:Prefix":"home/"}}}]}"#;
    const DENY_PUT: &str = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:Put*","Resource":"*"}}"#;

    #[test]
    fn names_the_statements_that_decide_and_the_missing_keys() {
        let ctx = Context::new();
        let e = ask(&[ALLOW_S3], None, &ctx, "s3:GetObject");
        assert!(!e.decision.is_allowed());
        assert!(e.matched.is_empty());
        assert_eq!(e.missing.len(), 1);
        assert_eq!(e.missing[0].1, "s3:prefix");
        assert_eq!(e.boundary_allows, None);

        let ctx = Context::new().with("s3:prefix", "home/");
        let e = ask(&[ALLOW_S3, DENY_PUT], None, &ctx, "s3:GetObject");
        assert!(e.decision.is_allowed());
        assert_eq!(
            e.matched,
            vec![StatementAt {
                source: Source::Identity(0),
                index: 1
            }]
        );
        assert!(e.missing.is_empty());

        let e = ask(&[ALLOW_S3, DENY_PUT], None, &ctx, "s3:PutObject");
        assert!(matches!(e.decision, Decision::ExplicitDeny { .. }));
        assert_eq!(
            e.matched,
            vec![StatementAt {
                source: Source::Identity(1),
                index: 0
            }]
        );
    }

    #[test]
    fn reports_the_boundary() {
        let ctx = Context::new();
        let ec2_only = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}"#;
        let e = ask(&[ALLOW_S3], Some(ec2_only), &ctx, "ec2:RunInstances");
        assert!(e.decision.is_allowed());
        assert_eq!(e.boundary_allows, Some(true));
        let e = ask(&[ALLOW_S3], Some(DENY_PUT), &ctx, "ec2:RunInstances");
        assert!(!e.decision.is_allowed());
        assert_eq!(e.boundary_allows, Some(false));
    }
}
