//! Shared helpers for the table-driven tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use berth_policy::{
    AllowedBy, Context, ContextValue, Decision, Mode, Policy, PolicyKind, PolicySet, PolicyType,
    Principal, Request, evaluate, parse,
};

pub const A: &str = "111122223333";
pub const B: &str = "444455556666";

pub fn alice() -> Principal {
    Principal::user(A, "arn:aws:iam::111122223333:user/alice")
}

pub fn bob_b() -> Principal {
    Principal::user(B, "arn:aws:iam::444455556666:user/bob")
}

/// Session `s1` of role `arn:aws:iam::111122223333:role/app/R` (role path `/app/`).
pub fn session() -> Principal {
    Principal::assumed_role(
        A,
        "arn:aws:iam::111122223333:role/app/R",
        "arn:aws:sts::111122223333:assumed-role/R/s1",
    )
}

pub fn ecs_tasks() -> Principal {
    Principal::service("ecs-tasks.amazonaws.com")
}

pub const ALLOWED_ID: Decision = Decision::Allowed {
    by: AllowedBy::Identity,
};
pub const ALLOWED_RES: Decision = Decision::Allowed {
    by: AllowedBy::Resource,
};
pub const ALLOWED_BOTH: Decision = Decision::Allowed {
    by: AllowedBy::IdentityAndResource,
};
pub const ALLOWED_ROOT: Decision = Decision::Allowed {
    by: AllowedBy::AccountRoot,
};

pub const fn implicit(missing: PolicyType) -> Decision {
    Decision::ImplicitDeny { missing }
}

pub const fn explicit(policy_type: PolicyType) -> Decision {
    Decision::ExplicitDeny { policy_type }
}

/// One evaluation case: policies as JSON text, a request and the expected decision.
pub struct Case {
    pub name: &'static str,
    pub identity: Vec<String>,
    pub resource_policy: Option<String>,
    /// Parse the resource policy as a trust policy instead of a resource policy.
    pub trust: bool,
    pub boundary: Option<String>,
    pub session_policy: Option<String>,
    pub principal: Principal,
    pub action: &'static str,
    pub resource: &'static str,
    pub resource_account: Option<&'static str>,
    pub context: Vec<(&'static str, Vec<ContextValue>)>,
    pub mode: Mode,
    pub expect: Decision,
}

impl Case {
    pub fn new(
        name: &'static str,
        principal: Principal,
        action: &'static str,
        resource: &'static str,
    ) -> Case {
        Case {
            name,
            identity: Vec::new(),
            resource_policy: None,
            trust: false,
            boundary: None,
            session_policy: None,
            principal,
            action,
            resource,
            resource_account: None,
            context: Vec::new(),
            mode: Mode::Standard,
            expect: implicit(PolicyType::Identity),
        }
    }
    pub fn identity(mut self, doc: &str) -> Case {
        self.identity.push(doc.to_owned());
        self
    }
    pub fn resource_policy(mut self, doc: &str) -> Case {
        self.resource_policy = Some(doc.to_owned());
        self
    }
    pub fn trust_policy(mut self, doc: &str) -> Case {
        self.resource_policy = Some(doc.to_owned());
        self.trust = true;
        self.mode = Mode::ResourcePolicyRequired;
        self
    }
    pub fn boundary(mut self, doc: &str) -> Case {
        self.boundary = Some(doc.to_owned());
        self
    }
    pub fn session_policy(mut self, doc: &str) -> Case {
        self.session_policy = Some(doc.to_owned());
        self
    }
    pub fn owner(mut self, account: &'static str) -> Case {
        self.resource_account = Some(account);
        self
    }
    pub fn ctx(mut self, key: &'static str, value: impl Into<ContextValue>) -> Case {
        self.context.push((key, vec![value.into()]));
        self
    }
    pub fn ctx_multi(mut self, key: &'static str, values: &[&str]) -> Case {
        self.context
            .push((key, values.iter().map(|v| ContextValue::from(*v)).collect()));
        self
    }
    pub fn mode(mut self, mode: Mode) -> Case {
        self.mode = mode;
        self
    }
    pub fn expect(mut self, d: Decision) -> Case {
        self.expect = d;
        self
    }

    pub fn decide(&self) -> Decision {
        let parse_or = |doc: &str, kind| {
            parse(doc, kind)
                .unwrap_or_else(|e| panic!("{}: {kind:?} policy: {}", self.name, e.diagnostic()))
        };
        let identity: Vec<Policy> = self
            .identity
            .iter()
            .map(|d| parse_or(d, PolicyKind::Identity))
            .collect();
        let identity_refs: Vec<&Policy> = identity.iter().collect();
        let res_kind = if self.trust {
            PolicyKind::Trust
        } else {
            PolicyKind::Resource
        };
        let resource = self
            .resource_policy
            .as_deref()
            .map(|d| parse_or(d, res_kind));
        let boundary = self
            .boundary
            .as_deref()
            .map(|d| parse_or(d, PolicyKind::Boundary));
        let session = self
            .session_policy
            .as_deref()
            .map(|d| parse_or(d, PolicyKind::Session));
        let mut ctx = Context::new();
        for (k, v) in &self.context {
            ctx.insert_multi(k, v.clone());
        }
        let req = Request {
            principal: &self.principal,
            action: self.action,
            resource: self.resource,
            resource_account: self.resource_account,
            context: &ctx,
        };
        let set = PolicySet {
            identity: &identity_refs,
            resource: resource.as_ref(),
            boundary: boundary.as_ref(),
            session: session.as_ref(),
        };
        evaluate(&req, &set, self.mode)
    }
}

/// Runs every case and reports all mismatches at once.
pub fn check(cases: &[Case]) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|c| {
            let got = c.decide();
            (got != c.expect).then(|| format!("{}: expected {:?}, got {:?}", c.name, c.expect, got))
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// An identity policy with one Allow statement.
pub fn allow(action: &str, resource: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"{action}","Resource":"{resource}"}}]}}"#
    )
}

/// An identity policy with one Deny statement.
pub fn deny(action: &str, resource: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":"{action}","Resource":"{resource}"}}]}}"#
    )
}

/// A resource policy with one statement for `principal` (JSON).
pub fn res_stmt(effect: &str, principal: &str, action: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"{effect}","Principal":{principal},"Action":"{action}","Resource":"*"}}]}}"#
    )
}
