//! Request evaluation: AWS's policy evaluation logic for identity-based,
//! resource-based, permissions-boundary and session policies.

use std::borrow::Cow;
use std::fmt;

use crate::condition::Lookup;
use crate::context::{Context, KeyValues, Val};
use crate::pattern::{Case, Resolve};
use crate::policy::{
    ActionBlock, AwsPrincipal, Effect, Policy, PrincipalBlock, PrincipalSpec, ResourceBlock,
    Statement,
};

/// What kind of identity makes the request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// The account root user (`arn:aws:iam::ACCOUNT:root`).
    Root,
    /// An IAM user.
    User,
    /// A role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    AssumedRole {
        /// The role's ARN (`arn:aws:iam::ACCOUNT:role/PATH/ROLE`).
        role_arn: String,
    },
    /// An AWS service, e.g. `ecs-tasks.amazonaws.com`.
    Service(String),
    /// A web-identity or SAML federated caller, named by its identity provider
    /// (`arn:aws:iam::ACCOUNT:oidc-provider/HOST`, `…:saml-provider/NAME`): what a trust
    /// policy's `Principal.Federated` lists.
    Federated(String),
    /// A federated user (`arn:aws:sts::ACCOUNT:federated-user/NAME`, from
    /// GetFederationToken): judged as a user, but with `aws:PrincipalType`
    /// `FederatedUser` and no `aws:username`.
    FederatedUser,
}

/// The identity that makes a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The caller's ARN: user ARN, role-session ARN or root ARN (for a
    /// service, conventionally the service name).
    pub arn: String,
    /// The caller's account ID.
    pub account: String,
    /// What kind of identity it is.
    pub kind: PrincipalKind,
}

impl Principal {
    /// The root user of `account`.
    pub fn root(account: &str) -> Principal {
        Principal {
            arn: format!("arn:aws:iam::{account}:root"),
            account: account.to_owned(),
            kind: PrincipalKind::Root,
        }
    }

    /// An IAM user, from its ARN (`arn:aws:iam::ACCOUNT:user/PATH/NAME`).
    pub fn user(account: &str, arn: &str) -> Principal {
        Principal {
            arn: arn.to_owned(),
            account: account.to_owned(),
            kind: PrincipalKind::User,
        }
    }

    /// A federated user, from its ARN (`arn:aws:sts::ACCOUNT:federated-user/NAME`).
    pub fn federated_user(account: &str, arn: &str) -> Principal {
        Principal {
            arn: arn.to_owned(),
            account: account.to_owned(),
            kind: PrincipalKind::FederatedUser,
        }
    }

    /// A role session: `role_arn` is the role (with its path), `session_arn`
    /// the `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION` ARN.
    pub fn assumed_role(account: &str, role_arn: &str, session_arn: &str) -> Principal {
        Principal {
            arn: session_arn.to_owned(),
            account: account.to_owned(),
            kind: PrincipalKind::AssumedRole {
                role_arn: role_arn.to_owned(),
            },
        }
    }

    /// An AWS service principal (`ecs-tasks.amazonaws.com`); its `arn` is
    /// the service name and its `account` empty.
    pub fn service(name: &str) -> Principal {
        Principal {
            arn: name.to_owned(),
            account: String::new(),
            kind: PrincipalKind::Service(name.to_owned()),
        }
    }

    /// A federated caller of the identity provider `provider` (its ARN); its `arn` is the
    /// provider's ARN and its `account` empty.
    pub fn federated(provider: &str) -> Principal {
        Principal {
            arn: provider.to_owned(),
            account: String::new(),
            kind: PrincipalKind::Federated(provider.to_owned()),
        }
    }

    /// Recognises a root, user or role-session ARN. For a session the role
    /// ARN is rebuilt without a path (session ARNs do not carry it); use
    /// [`Principal::assumed_role`] when the path is known.
    pub fn from_arn(arn: &str) -> Option<Principal> {
        let rest = arn.strip_prefix("arn:")?;
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let [partition, service, _region, account, resource] = parts.as_slice() else {
            return None;
        };
        match *service {
            "iam" if *resource == "root" => Some(Principal::root(account)),
            "iam" if resource.starts_with("user/") => Some(Principal::user(account, arn)),
            "sts" => {
                let mut pieces = resource.strip_prefix("assumed-role/")?.split('/');
                let role = pieces.next().filter(|r| !r.is_empty())?;
                pieces.next().filter(|s| !s.is_empty())?;
                let role_arn = format!("arn:{partition}:iam::{account}:role/{role}");
                Some(Principal::assumed_role(account, &role_arn, arn))
            }
            _ => None,
        }
    }

    /// The identity chain AWS checks for `NotPrincipal`: account, role (for a
    /// session), then the principal itself.
    fn chain(&self) -> [Option<Identity<'_>>; 3] {
        match &self.kind {
            PrincipalKind::Root => [Some(Identity::Account(&self.account)), None, None],
            PrincipalKind::User | PrincipalKind::FederatedUser => [
                Some(Identity::Account(&self.account)),
                Some(Identity::Arn(&self.arn)),
                None,
            ],
            PrincipalKind::AssumedRole { role_arn } => [
                Some(Identity::Account(&self.account)),
                Some(Identity::Arn(role_arn)),
                Some(Identity::Arn(&self.arn)),
            ],
            PrincipalKind::Service(s) => [Some(Identity::Service(s)), None, None],
            PrincipalKind::Federated(f) => [Some(Identity::Federated(f)), None, None],
        }
    }
}

enum Identity<'a> {
    Account(&'a str),
    Arn(&'a str),
    Service(&'a str),
    Federated(&'a str),
}

/// One authorization question: may `principal` perform `action` on
/// `resource`?
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Who asks.
    pub principal: &'a Principal,
    /// `service:Action`, e.g. `secretsmanager:GetSecretValue`.
    pub action: &'a str,
    /// The target's ARN, or `*` for actions without a resource.
    pub resource: &'a str,
    /// The account that owns the resource; `None` means the principal's own
    /// account.
    pub resource_account: Option<&'a str>,
    /// Condition keys.
    pub context: &'a Context,
}

/// The policies that apply to a request.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicySet<'a> {
    /// All identity-based policies of the principal (inline, attached, group
    /// policies); for a role session, the role's.
    pub identity: &'a [&'a Policy],
    /// The target's resource policy, trust policy or key policy.
    pub resource: Option<&'a Policy>,
    /// The principal's permissions boundary.
    pub boundary: Option<&'a Policy>,
    /// The session policy of a role session.
    pub session: Option<&'a Policy>,
}

/// How the resource policy takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// Most resources: within an account, an identity-based policy or the
    /// resource policy may allow.
    #[default]
    Standard,
    /// Role trust policies and KMS key policies: the resource policy must
    /// allow, directly or by delegating to the account (then the identity
    /// side must allow too). An identity-based policy alone never suffices.
    ResourcePolicyRequired,
}

/// A policy type, as named in AWS's denial messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// Identity-based policies.
    Identity,
    /// The resource-based policy (trust policy, key policy).
    Resource,
    /// The permissions boundary.
    Boundary,
    /// The session policy.
    Session,
}

impl PolicyType {
    /// `identity-based policy`, `resource-based policy`, `permissions
    /// boundary`, `session policy`.
    pub fn phrase(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity-based policy",
            PolicyType::Resource => "resource-based policy",
            PolicyType::Boundary => "permissions boundary",
            PolicyType::Session => "session policy",
        }
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.phrase())
    }
}

/// What made a request allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AllowedBy {
    /// The identity-based policies (within limits of boundary and session).
    Identity,
    /// The resource policy alone (it names the principal, or everyone).
    Resource,
    /// Both: cross-account, or a resource policy delegating to the account.
    IdentityAndResource,
    /// The root user in its own account.
    AccountRoot,
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// Allowed.
    Allowed {
        /// Which policies allowed it.
        by: AllowedBy,
    },
    /// A `Deny` statement matched.
    ExplicitDeny {
        /// The type of the policy with the `Deny`.
        policy_type: PolicyType,
    },
    /// No policy (or not every required policy) allowed it.
    ImplicitDeny {
        /// The policy type that did not allow.
        missing: PolicyType,
    },
}

impl Decision {
    /// Whether the request is allowed.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allowed { .. })
    }

    /// AWS's access-denied text, e.g.
    /// `User: arn:aws:iam::111122223333:user/alice is not authorized to perform: kms:Decrypt on resource: arn:aws:kms:us-east-1:111122223333:key/k because no resource-based policy allows the kms:Decrypt action`
    /// or `... with an explicit deny in an identity-based policy`.
    /// `resource` is what the caller named (AWS echoes e.g. the `SecretId`
    /// as given). Empty for [`Decision::Allowed`].
    pub fn denial_message(&self, principal_arn: &str, action: &str, resource: &str) -> String {
        let head = format!(
            "User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
        );
        match self {
            Decision::Allowed { .. } => String::new(),
            Decision::ExplicitDeny { policy_type } => {
                format!(
                    "{head} with an explicit deny in a{} {}",
                    article(*policy_type),
                    policy_type.phrase()
                )
            }
            Decision::ImplicitDeny { missing } => {
                format!(
                    "{head} because no {} allows the {action} action",
                    missing.phrase()
                )
            }
        }
    }
}

fn article(t: PolicyType) -> &'static str {
    match t {
        PolicyType::Identity => "n",
        _ => "",
    }
}

// ---------------------------------------------------------------------------

/// Condition keys and variables of one request: the context first, then
/// values derived from the principal.
pub(crate) struct Env<'a> {
    pub(crate) req: &'a Request<'a>,
}

impl Env<'_> {
    fn derived(&self, key: &str) -> Option<&str> {
        let p = self.req.principal;
        match (key, &p.kind) {
            ("aws:principalservicename", PrincipalKind::Service(s)) => Some(s),
            (_, PrincipalKind::Service(_) | PrincipalKind::Federated(_)) => None,
            ("aws:principalarn", PrincipalKind::AssumedRole { role_arn }) => Some(role_arn),
            ("aws:principalarn", _) => Some(&p.arn),
            ("aws:principalaccount", _) => Some(&p.account),
            ("aws:principaltype", PrincipalKind::Root) => Some("Account"),
            ("aws:principaltype", PrincipalKind::User) => Some("User"),
            ("aws:principaltype", PrincipalKind::FederatedUser) => Some("FederatedUser"),
            ("aws:principaltype", PrincipalKind::AssumedRole { .. }) => Some("AssumedRole"),
            ("aws:username", PrincipalKind::User) => p.arn.rsplit('/').next(),
            _ => None,
        }
    }
}

impl Lookup for Env<'_> {
    fn lookup(&self, key: &str) -> Option<KeyValues<'_>> {
        if let Some(v) = self.req.context.get_lower(key) {
            return Some(KeyValues::Ctx(v));
        }
        self.derived(key).map(|s| KeyValues::One(Val::Str(s)))
    }

    fn as_resolve(&self) -> &dyn Resolve {
        self
    }
}

impl Resolve for Env<'_> {
    fn resolve(&self, key: &str) -> Option<Cow<'_, str>> {
        self.lookup(key)?.single().map(Val::text)
    }
}

/// How a resource-policy statement names the principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grant {
    /// By its account: delegates to the account's identity policies.
    Account,
    /// By the role ARN (for a session), `*`, or `NotPrincipal`: not limited
    /// by identity policies, but by the boundary and session policy.
    Limited,
    /// By the user or session ARN itself, or the service name: not limited.
    Direct,
}

fn spec_grant(spec: &PrincipalSpec, p: &Principal) -> Option<Grant> {
    if let PrincipalKind::Service(name) = &p.kind {
        let named = spec.any || spec.service.iter().any(|s| s.eq_ignore_ascii_case(name));
        return named.then_some(Grant::Direct);
    }
    if let PrincipalKind::Federated(provider) = &p.kind {
        let named = spec.any || spec.federated.iter().any(|f| f == provider);
        return named.then_some(Grant::Direct);
    }
    let mut best = spec.any.then_some(Grant::Limited);
    for a in &spec.aws {
        let g = match a {
            AwsPrincipal::Any => Some(Grant::Limited),
            AwsPrincipal::Account(acct) if *acct == p.account => Some(Grant::Account),
            AwsPrincipal::Arn(arn) if *arn == p.arn => Some(Grant::Direct),
            AwsPrincipal::Arn(arn) => match &p.kind {
                PrincipalKind::AssumedRole { role_arn } if arn == role_arn => Some(Grant::Limited),
                _ => None,
            },
            _ => None,
        };
        best = best.max(g);
    }
    best
}

fn listed(spec: &PrincipalSpec, id: &Identity<'_>) -> bool {
    if spec.any {
        return true;
    }
    match id {
        Identity::Account(acct) => spec.aws.iter().any(|a| match a {
            AwsPrincipal::Any => true,
            AwsPrincipal::Account(x) => x == acct,
            _ => false,
        }),
        Identity::Arn(arn) => spec.aws.iter().any(|a| match a {
            AwsPrincipal::Any => true,
            AwsPrincipal::Arn(x) => x == arn,
            _ => false,
        }),
        Identity::Service(s) => spec.service.iter().any(|x| x.eq_ignore_ascii_case(s)),
        Identity::Federated(f) => spec.federated.iter().any(|x| x == f),
    }
}

/// How a statement's principal element applies to the caller.
pub(crate) fn principal_grant(block: Option<&PrincipalBlock>, p: &Principal) -> Option<Grant> {
    match block? {
        PrincipalBlock::Principal(spec) => spec_grant(spec, p),
        // Excluded only if every identity in its chain is listed.
        PrincipalBlock::NotPrincipal(spec) => {
            let excluded = p.chain().iter().flatten().all(|id| listed(spec, id));
            (!excluded).then_some(Grant::Limited)
        }
    }
}

pub(crate) fn action_matches(st: &Statement, action: &str) -> bool {
    match &st.actions {
        None => false,
        Some(ActionBlock::Action(globs)) => globs
            .iter()
            .any(|g| g.is_match(action, Case::Insensitive, &crate::pattern::NoVars)),
        Some(ActionBlock::NotAction(globs)) => !globs
            .iter()
            .any(|g| g.is_match(action, Case::Insensitive, &crate::pattern::NoVars)),
    }
}

pub(crate) fn resource_matches(st: &Statement, resource: &str, env: &Env<'_>) -> bool {
    match &st.resources {
        None => true,
        Some(ResourceBlock::Resource(pats)) => pats.iter().any(|p| p.is_match(resource, env)),
        Some(ResourceBlock::NotResource(pats)) => !pats.iter().any(|p| p.is_match(resource, env)),
    }
}

pub(crate) fn conditions_hold(st: &Statement, env: &Env<'_>) -> bool {
    st.conditions.iter().all(|c| c.evaluate(env))
}

#[derive(Default)]
struct Outcome {
    deny: bool,
    allow: bool,
}

/// Evaluates a policy that is not the resource policy (principal ignored).
fn eval_plain(policy: &Policy, env: &Env<'_>) -> Outcome {
    let mut out = Outcome::default();
    for st in policy.statements() {
        if st.effect() == Effect::Allow && out.allow {
            continue;
        }
        if action_matches(st, env.req.action)
            && resource_matches(st, env.req.resource, env)
            && conditions_hold(st, env)
        {
            match st.effect() {
                Effect::Deny => {
                    out.deny = true;
                    return out;
                }
                Effect::Allow => out.allow = true,
            }
        }
    }
    out
}

#[derive(Default)]
struct ResourceOutcome {
    deny: bool,
    grant: Option<Grant>,
}

/// Evaluates the resource policy: statements apply only to the principals
/// they name (a statement without a principal names no one).
fn eval_resource(policy: &Policy, env: &Env<'_>) -> ResourceOutcome {
    let mut out = ResourceOutcome::default();
    for st in policy.statements() {
        if st.effect() == Effect::Allow && out.grant == Some(Grant::Direct) {
            continue;
        }
        let Some(grant) = principal_grant(st.principal.as_ref(), env.req.principal) else {
            continue;
        };
        if action_matches(st, env.req.action)
            && resource_matches(st, env.req.resource, env)
            && conditions_hold(st, env)
        {
            match st.effect() {
                Effect::Deny => {
                    out.deny = true;
                    return out;
                }
                Effect::Allow => out.grant = out.grant.max(Some(grant)),
            }
        }
    }
    out
}

/// Decides a request the way AWS does (SCPs and RCPs aside):
///
/// 1. A matching `Deny` in any policy: [`Decision::ExplicitDeny`] naming the
///    policy type (checked in the order identity, resource, boundary,
///    session).
/// 2. Same account (`resource_account` is `None` or the principal's), in
///    [`Mode::Standard`]: the root user is allowed; a resource policy naming
///    the user ARN, the session ARN or the service is enough; one naming the
///    role ARN (for a session) or `*` is enough if the boundary and session
///    policy (when present) allow; a statement naming only the account
///    delegates to the identity policies. Otherwise the identity policies
///    must allow, and the boundary and session policy too.
/// 3. Cross-account: the resource policy must allow (any form of naming),
///    and the identity side (identity policies, boundary, session policy)
///    must allow.
/// 4. [`Mode::ResourcePolicyRequired`]: as above, except the identity
///    policies never suffice alone: with no resource-policy allow the answer
///    is "no resource-based policy allows"; an account-level allow needs the
///    identity side too, also for the root user. A service principal is
///    decided by the resource policy alone, in either mode.
pub fn evaluate(req: &Request<'_>, policies: &PolicySet<'_>, mode: Mode) -> Decision {
    let env = Env { req };
    let principal = req.principal;

    let mut identity_allow = false;
    for p in policies.identity {
        let o = eval_plain(p, &env);
        if o.deny {
            return Decision::ExplicitDeny {
                policy_type: PolicyType::Identity,
            };
        }
        identity_allow |= o.allow;
    }
    let resource = policies.resource.map(|p| eval_resource(p, &env));
    if resource.as_ref().is_some_and(|r| r.deny) {
        return Decision::ExplicitDeny {
            policy_type: PolicyType::Resource,
        };
    }
    let boundary = policies.boundary.map(|p| eval_plain(p, &env));
    if boundary.as_ref().is_some_and(|o| o.deny) {
        return Decision::ExplicitDeny {
            policy_type: PolicyType::Boundary,
        };
    }
    let session = policies.session.map(|p| eval_plain(p, &env));
    if session.as_ref().is_some_and(|o| o.deny) {
        return Decision::ExplicitDeny {
            policy_type: PolicyType::Session,
        };
    }

    let grant = resource.and_then(|r| r.grant);
    if matches!(
        principal.kind,
        PrincipalKind::Service(_) | PrincipalKind::Federated(_)
    ) {
        return match grant {
            Some(Grant::Direct | Grant::Limited) => Decision::Allowed {
                by: AllowedBy::Resource,
            },
            _ => Decision::ImplicitDeny {
                missing: PolicyType::Resource,
            },
        };
    }

    let is_root = principal.kind == PrincipalKind::Root;
    let same_account = req.resource_account.is_none_or(|a| a == principal.account);
    let identity_ok = is_root || identity_allow;
    let limit_missing = if boundary.is_some_and(|o| !o.allow) {
        Some(PolicyType::Boundary)
    } else if session.is_some_and(|o| !o.allow) {
        Some(PolicyType::Session)
    } else {
        None
    };
    let identity_side = || -> Result<(), PolicyType> {
        if !identity_ok {
            return Err(PolicyType::Identity);
        }
        limit_missing.map_or(Ok(()), Err)
    };
    let deny = |missing| Decision::ImplicitDeny { missing };

    if same_account {
        if mode == Mode::Standard && is_root {
            return Decision::Allowed {
                by: AllowedBy::AccountRoot,
            };
        }
        match grant {
            Some(Grant::Direct) => {
                return Decision::Allowed {
                    by: AllowedBy::Resource,
                };
            }
            Some(Grant::Limited) => {
                return match limit_missing {
                    None => Decision::Allowed {
                        by: AllowedBy::Resource,
                    },
                    Some(t) => deny(t),
                };
            }
            Some(Grant::Account) => {
                return match identity_side() {
                    Ok(()) if mode == Mode::Standard => Decision::Allowed {
                        by: AllowedBy::Identity,
                    },
                    Ok(()) => Decision::Allowed {
                        by: AllowedBy::IdentityAndResource,
                    },
                    Err(t) => deny(t),
                };
            }
            None => {}
        }
        if mode == Mode::ResourcePolicyRequired {
            return deny(PolicyType::Resource);
        }
        return match identity_side() {
            Ok(()) => Decision::Allowed {
                by: AllowedBy::Identity,
            },
            Err(t) => deny(t),
        };
    }

    // Cross-account: both sides must allow.
    if grant.is_none() {
        return deny(PolicyType::Resource);
    }
    match identity_side() {
        Ok(()) => Decision::Allowed {
            by: AllowedBy::IdentityAndResource,
        },
        Err(t) => deny(t),
    }
}
