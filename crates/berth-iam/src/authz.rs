//! Authorisation as the domain sees it: gather the policies that apply to a principal, ask the
//! policy engine, and turn a denial into AWS's words.
//!
//! The wire layer builds the request context (time, region, transport, service keys) and says
//! which resource policy applies; this module adds what only the identity domain knows.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use berth_policy::{Context, Decision, Mode, Policy, PolicyKind, PolicySet};

use crate::Principal;

/// The verbatim policy documents that apply to a principal's own side of a request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityDocuments {
    /// Inline and attached managed policies (for a role session: the role's).
    pub policies: Vec<String>,
    /// The permissions boundary, if one is set.
    pub boundary: Option<String>,
    /// The session policy of a role session, if one was passed.
    pub session: Option<String>,
    /// An IAM user's own tags, as `aws:PrincipalTag/<key>` condition keys with their values
    /// (a role session's come with the session instead).
    pub principal_tags: Vec<(String, String)>,
}

/// One question for [`decide`].
pub struct Question<'a> {
    pub principal: &'a Principal,
    pub action: &'a str,
    pub resource: &'a str,
    /// The resource's owner; `None` is the principal's own account.
    pub resource_account: Option<&'a str>,
    /// The resource's own policy (resource policy, key policy, trust policy), verbatim.
    pub resource_policy: Option<&'a str>,
    /// What kind of document `resource_policy` is.
    pub resource_policy_kind: PolicyKind,
    pub mode: Mode,
    pub context: &'a Context,
}

/// The global condition keys of a request made by `principal` in `region` at `now`
/// (`aws:CurrentTime`, `aws:EpochTime`, `aws:RequestedRegion`, `aws:SecureTransport`,
/// `aws:userid`, `aws:SourceIp` when known, and the keys fixed for a role session), plus the
/// call's own `extra` keys. The wire layer and `berth doctor` both build contexts with this, so
/// a check explained offline sees what the real request sees.
pub fn request_context(
    principal: &Principal,
    region: &str,
    now: std::time::SystemTime,
    source_ip: Option<std::net::IpAddr>,
    session_keys: &[(String, String)],
    extra: &[(String, Vec<String>)],
) -> Context {
    use berth_policy::ContextValue;
    // The six global keys, the session's, the service's, and room for a caller's additions.
    let mut c = Context::with_capacity(8 + session_keys.len() + extra.len());
    c.insert("aws:CurrentTime", ContextValue::Date(now));
    let epoch = berth_core::time::epoch_secs(now);
    c.insert("aws:EpochTime", ContextValue::Number(epoch as f64));
    c.insert("aws:RequestedRegion", region);
    // berth listens on plain HTTP.
    c.insert("aws:SecureTransport", ContextValue::Bool(false));
    c.insert("aws:userid", principal.user_id().as_str());
    if let Some(ip) = source_ip {
        c.insert("aws:SourceIp", ContextValue::Ip(ip));
    }
    for (k, v) in session_keys {
        c.insert(k, v.as_str());
    }
    for (k, values) in extra {
        c.insert_multi(k, values.iter().map(String::as_str));
    }
    c
}

/// The engine's view of a berth principal.
pub fn engine_principal(p: &Principal) -> berth_policy::Principal {
    match p {
        Principal::Root { account } => berth_policy::Principal::root(account),
        Principal::User { account, .. } => berth_policy::Principal::user(account, &p.arn()),
        Principal::AssumedRole { account, .. } => berth_policy::Principal::assumed_role(
            account,
            &p.role_arn().unwrap_or_default(),
            &p.arn(),
        ),
        // Judged as a user with its `federated-user` ARN; `aws:PrincipalType` reads
        // `FederatedUser` and `aws:username` is absent, as AWS documents.
        Principal::FederatedUser { account, .. } => {
            berth_policy::Principal::federated_user(account, &p.arn())
        }
    }
}

/// Parsed documents, by text and kind: stored documents are parsed once, not on every request
/// (parsing a large policy costs far more than evaluating it). Looked up by the text as
/// borrowed (no copy of the document per lookup). Bounded: when it holds
/// [`PARSE_CACHE_ENTRIES`] texts it starts again empty.
struct ParseCache {
    entries: Mutex<ParsedByText>,
}

/// Keyed with foldhash's seeded quality hasher: hashing a document's text is most of a
/// lookup, and with std's SipHash `decide` took about a fifth longer (BENCHMARKS.md).
type ParsedByText = HashMap<String, Vec<(PolicyKind, Arc<Policy>)>, foldhash::quality::RandomState>;

const PARSE_CACHE_ENTRIES: usize = 4096;

static PARSED: LazyLock<ParseCache> = LazyLock::new(|| ParseCache {
    entries: Mutex::new(HashMap::default()),
});

impl ParseCache {
    fn get_or_parse(&self, doc: &str, kind: PolicyKind) -> Result<Arc<Policy>, String> {
        if let Some(p) = self
            .lock()
            .get(doc)
            .and_then(|kinds| kinds.iter().find(|(k, _)| *k == kind))
        {
            return Ok(p.1.clone());
        }
        let parsed = Arc::new(berth_policy::parse(doc, kind).map_err(|e| e.to_string())?);
        let mut entries = self.lock();
        if entries.len() >= PARSE_CACHE_ENTRIES {
            entries.clear();
        }
        let kinds = entries.entry(doc.to_string()).or_default();
        kinds.retain(|(k, _)| *k != kind);
        kinds.push((kind, parsed.clone()));
        Ok(parsed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ParsedByText> {
        // The map holds only parse results; one left by a panicking thread is still valid.
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Parses a stored document; one that no longer parses (it was valid when stored) counts as
/// absent, and the caller is told so it can log it.
fn parse_stored(doc: &str, kind: PolicyKind, broken: &mut Vec<String>) -> Option<Arc<Policy>> {
    match PARSED.get_or_parse(doc, kind) {
        Ok(p) => Some(p),
        Err(e) => {
            broken.push(e);
            None
        }
    }
}

/// The outcome of [`decide`]: the engine's decision, and any stored document that did not parse.
pub struct Verdict {
    pub decision: Decision,
    pub broken_documents: Vec<String>,
}

impl Verdict {
    pub fn is_allowed(&self) -> bool {
        self.decision.is_allowed()
    }

    /// AWS's denial text for the caller, naming `resource` as the caller gave it.
    pub fn denial_message(&self, principal: &Principal, action: &str, resource: &str) -> String {
        self.decision
            .denial_message(&principal.arn(), action, resource)
    }
}

/// Evaluates a question against the principal's documents, in AWS's decision order.
pub fn decide(q: &Question<'_>, docs: &IdentityDocuments) -> Verdict {
    let mut broken = Vec::new();
    let identity: Vec<Arc<Policy>> = docs
        .policies
        .iter()
        .filter_map(|d| parse_stored(d, PolicyKind::Identity, &mut broken))
        .collect();
    let identity_refs: Vec<&Policy> = identity.iter().map(|p| p.as_ref()).collect();
    let boundary = docs
        .boundary
        .as_deref()
        .and_then(|d| parse_stored(d, PolicyKind::Boundary, &mut broken));
    let session = docs
        .session
        .as_deref()
        .and_then(|d| parse_stored(d, PolicyKind::Session, &mut broken));
    let resource = q
        .resource_policy
        .and_then(|d| parse_stored(d, q.resource_policy_kind, &mut broken));
    let principal = engine_principal(q.principal);
    let request = berth_policy::Request {
        principal: &principal,
        action: q.action,
        resource: q.resource,
        resource_account: q.resource_account,
        context: q.context,
    };
    let set = PolicySet {
        identity: &identity_refs,
        resource: resource.as_deref(),
        boundary: boundary.as_deref(),
        session: session.as_deref(),
    };
    Verdict {
        decision: berth_policy::evaluate(&request, &set, q.mode),
        broken_documents: broken,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parse_cache_keeps_each_kind_of_a_text_apart() {
        let cache = ParseCache {
            entries: Mutex::new(HashMap::default()),
        };
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
        let first = cache.get_or_parse(doc, PolicyKind::Identity).unwrap();
        // A resource policy needs a Principal: the same text is refused as that kind.
        assert!(cache.get_or_parse(doc, PolicyKind::Resource).is_err());
        let again = cache.get_or_parse(doc, PolicyKind::Identity).unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        let boundary = cache.get_or_parse(doc, PolicyKind::Boundary).unwrap();
        assert!(!Arc::ptr_eq(&first, &boundary));
        assert!(Arc::ptr_eq(
            &boundary,
            &cache.get_or_parse(doc, PolicyKind::Boundary).unwrap()
        ));
        assert_eq!(cache.lock().len(), 1);
        assert_eq!(cache.lock().get(doc).map(Vec::len), Some(2));
    }

    fn alice() -> Principal {
        Principal::User {
            account: "111122223333".into(),
            name: "alice".into(),
            id: "AIDAALICE".into(),
            path: "/".into(),
        }
    }

    fn ask(p: &Principal, action: &str, docs: &IdentityDocuments) -> Verdict {
        let ctx = Context::new();
        decide(
            &Question {
                principal: p,
                action,
                resource: "*",
                resource_account: None,
                resource_policy: None,
                resource_policy_kind: PolicyKind::Resource,
                mode: Mode::Standard,
                context: &ctx,
            },
            docs,
        )
    }

    #[test]
    fn identity_policies_allow_and_deny_with_aws_text() {
        let docs = IdentityDocuments {
            policies: vec![r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*"}]}"#.into()],
            ..Default::default()
        };
        assert!(ask(&alice(), "sts:GetCallerIdentity", &docs).is_allowed());
        let v = ask(&alice(), "iam:CreateUser", &docs);
        assert!(!v.is_allowed());
        assert_eq!(
            v.denial_message(&alice(), "iam:CreateUser", "*"),
            "User: arn:aws:iam::111122223333:user/alice is not authorized to perform: iam:CreateUser on resource: * because no identity-based policy allows the iam:CreateUser action"
        );
    }

    #[test]
    fn root_is_allowed_in_its_account_but_not_past_a_deny() {
        let root = Principal::Root {
            account: "111122223333".into(),
        };
        assert!(ask(&root, "iam:CreateUser", &IdentityDocuments::default()).is_allowed());
    }

    #[test]
    fn a_broken_stored_document_counts_as_absent_and_is_reported() {
        let docs = IdentityDocuments {
            policies: vec!["{not json".into()],
            ..Default::default()
        };
        let v = ask(&alice(), "sts:GetCallerIdentity", &docs);
        assert!(!v.is_allowed());
        assert_eq!(v.broken_documents.len(), 1);
    }

    /// A user's request in eu-west-1 from 203.0.113.7 at 2023-11-14T22:13:20Z, over plain HTTP,
    /// with a session key and a call's own multivalued key.
    fn full_context() -> Context {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        request_context(
            &alice(),
            "eu-west-1",
            now,
            Some("203.0.113.7".parse().unwrap()),
            &[("aws:SourceAccount".into(), "444455556666".into())],
            &[(
                "kms:EncryptionContextKeys".into(),
                vec!["SecretARN".into(), "SecretVersionId".into()],
            )],
        )
    }

    #[test]
    fn request_context_holds_the_global_keys_the_sessions_and_the_calls() {
        use berth_policy::ContextValue;
        let c = full_context();
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let one = |k: &str| c.get(k).map(<[ContextValue]>::to_vec);
        assert_eq!(one("aws:CurrentTime"), Some(vec![ContextValue::Date(now)]));
        assert_eq!(
            one("aws:EpochTime"),
            Some(vec![ContextValue::Number(1_700_000_000.0)])
        );
        assert_eq!(one("aws:RequestedRegion"), Some(vec!["eu-west-1".into()]));
        assert_eq!(
            one("aws:SecureTransport"),
            Some(vec![ContextValue::Bool(false)])
        );
        assert_eq!(one("aws:userid"), Some(vec!["AIDAALICE".into()]));
        assert_eq!(
            one("aws:SourceIp"),
            Some(vec![ContextValue::Ip("203.0.113.7".parse().unwrap())])
        );
        assert_eq!(one("aws:SourceAccount"), Some(vec!["444455556666".into()]));
        assert_eq!(
            one("kms:EncryptionContextKeys"),
            Some(vec!["SecretARN".into(), "SecretVersionId".into()])
        );
        assert_eq!(c.len(), 8);
        let without_ip = request_context(&alice(), "us-east-1", now, None, &[], &[]);
        assert_eq!(without_ip.get("aws:SourceIp"), None);
        assert_eq!(without_ip.len(), 5);
    }

    #[test]
    fn the_request_context_decides_conditions_on_global_keys() {
        let docs = IdentityDocuments {
            policies: vec![r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:GetCallerIdentity","Resource":"*","Condition":{
                "IpAddress":{"aws:SourceIp":"203.0.113.0/24"},
                "StringEquals":{"aws:userid":"AIDAALICE","aws:RequestedRegion":"eu-west-1","aws:SourceAccount":"444455556666"},
                "Bool":{"aws:SecureTransport":"false"},
                "DateGreaterThan":{"aws:CurrentTime":"2023-01-01T00:00:00Z"},
                "DateLessThan":{"aws:EpochTime":"2024-01-01T00:00:00Z"},
                "ForAnyValue:StringEquals":{"kms:EncryptionContextKeys":"SecretVersionId"}}}]}"#.into()],
            ..Default::default()
        };
        let ask_in = |ctx: &Context| {
            decide(
                &Question {
                    principal: &alice(),
                    action: "sts:GetCallerIdentity",
                    resource: "*",
                    resource_account: None,
                    resource_policy: None,
                    resource_policy_kind: PolicyKind::Resource,
                    mode: Mode::Standard,
                    context: ctx,
                },
                &docs,
            )
        };
        assert!(ask_in(&full_context()).is_allowed());
        let mut elsewhere = full_context();
        elsewhere.insert(
            "aws:SourceIp",
            berth_policy::ContextValue::Ip("198.51.100.1".parse().unwrap()),
        );
        assert!(!ask_in(&elsewhere).is_allowed());
    }

    #[test]
    fn session_policy_limits_a_role_session() {
        let session = Principal::AssumedRole {
            account: "111122223333".into(),
            role_name: "r".into(),
            role_id: "AROAR".into(),
            role_path: "/".into(),
            session_name: "s".into(),
            session_key_id: "ASIAX".into(),
        };
        let mut docs = IdentityDocuments {
            policies: vec![r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#.into()],
            ..Default::default()
        };
        assert!(ask(&session, "kms:Decrypt", &docs).is_allowed());
        docs.session = Some(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:*","Resource":"*"}]}"#.into());
        let v = ask(&session, "kms:Decrypt", &docs);
        assert!(!v.is_allowed());
        assert!(
            v.denial_message(&session, "kms:Decrypt", "*")
                .ends_with("because no session policy allows the kms:Decrypt action")
        );
    }
}
