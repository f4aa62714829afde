//! AWS STS in the domain: role sessions and their temporary credentials.
//!
//! Whether a caller may assume a role is decided by [`crate::authz::decide`] against the role's
//! trust policy (the wire layer asks it, as for every call); this module validates the request,
//! evaluates the trust policy for a service principal (the ECS control plane assuming a task's
//! execution role), and mints the session: an `ASIA…` key, its secret sealed like any other,
//! and a session token stored only as a SHA-256 digest.
//!
//! A session may be narrowed by session policies: an inline `Policy` and up to ten managed
//! policies (`PolicyArns`). They are kept as one document: the statements of every session
//! policy, side by side (see [`merge_session_policies`]). A request is allowed by that document
//! exactly when at least one session policy allows it, and denied by it exactly when one of
//! them denies it, so the engine's single session-policy slot gives AWS's answer.

use base64::Engine;
use berth_policy::{Context, Mode, PolicyKind, PolicySet};
use zeroize::Zeroizing;

use crate::keys::{self, KeyOwner, NewCredentials, SessionInfo};
use crate::{Iam, IamError};

mod tags;

pub use tags::*;

/// Shortest session AWS issues, in seconds.
pub const MIN_DURATION: u32 = 900;
/// Default session length, in seconds.
pub const DEFAULT_DURATION: u32 = 3600;
/// A role chain (a role session assuming a role) is limited to one hour.
pub const CHAINED_MAX: u32 = 3600;
/// The most managed session policies (`PolicyArns`) one session takes.
pub const MAX_POLICY_ARNS: usize = 10;
/// The plaintext of the inline and managed session policies together, in characters.
pub const SESSION_POLICY_PLAINTEXT_MAX: usize = 2048;

/// Errors of STS requests, in the terms the wire layer needs.
#[derive(Debug, thiserror::Error)]
pub enum StsError {
    /// `ValidationError` with AWS's text.
    #[error("{0}")]
    Validation(String),
    /// `MalformedPolicyDocument` for a bad session policy.
    #[error("{0}")]
    MalformedPolicy(String),
    /// `PackedPolicyTooLarge`.
    #[error("{0}")]
    PackedPolicyTooLarge(String),
    /// `AccessDenied` with AWS's text.
    #[error("{0}")]
    AccessDenied(String),
    /// `InvalidParameterValue` with AWS's text (session tags).
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error(transparent)]
    Iam(#[from] IamError),
}

/// What STS needs to know of a role.
#[derive(Debug, Clone)]
pub struct RoleInfo {
    pub account: String,
    pub name: String,
    /// `AROA…`
    pub id: String,
    pub path: String,
    /// The trust policy, verbatim.
    pub trust_policy: String,
    /// Seconds, 3600–43200.
    pub max_session_duration: u32,
}

impl RoleInfo {
    pub fn arn(&self) -> String {
        crate::entity::iam_arn(&self.account, "role", &self.path, &self.name)
    }
}

/// A freshly minted role session.
pub struct Session {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Zeroizing<String>,
    /// Unix seconds.
    pub expiration: u64,
    /// `AROA…:session-name`
    pub assumed_role_id: String,
    /// `arn:aws:sts::A:assumed-role/ROLE/SESSION`
    pub arn: String,
    /// Percentage of the packed-policy limit the session policy uses, when one was given.
    pub packed_policy_size: Option<u32>,
    /// The session's source identity, when it has one.
    pub source_identity: Option<String>,
}

fn validation(value: &str, member: &str, constraint: &str) -> StsError {
    StsError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    ))
}

/// `SourceIdentity`: 2–256 characters of `[\w+=,.@-]`.
pub fn validate_source_identity(s: &str) -> Result<(), StsError> {
    let n = s.chars().count();
    if n < 2 {
        return Err(validation(
            s,
            "sourceIdentity",
            "Member must have length greater than or equal to 2",
        ));
    }
    if n > 256 {
        return Err(validation(
            s,
            "sourceIdentity",
            "Member must have length less than or equal to 256",
        ));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(validation(
            s,
            "sourceIdentity",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    Ok(())
}

/// `RoleSessionName`: 2–64 characters of `[\w+=,.@-]`.
pub fn validate_session_name(name: &str) -> Result<(), StsError> {
    if name.chars().count() < 2 {
        return Err(validation(
            name,
            "roleSessionName",
            "Member must have length greater than or equal to 2",
        ));
    }
    if name.chars().count() > 64 {
        return Err(validation(
            name,
            "roleSessionName",
            "Member must have length less than or equal to 64",
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(validation(
            name,
            "roleSessionName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    Ok(())
}

/// `DurationSeconds`: 900 up to the role's maximum (one hour when role-chaining).
pub fn validate_duration(
    given: Option<i64>,
    role_max: u32,
    chained: bool,
) -> Result<u32, StsError> {
    let Some(d) = given else {
        return Ok(DEFAULT_DURATION.min(if chained { CHAINED_MAX } else { role_max }));
    };
    if d < MIN_DURATION as i64 {
        return Err(validation(
            &d.to_string(),
            "durationSeconds",
            "Member must have value greater than or equal to 900",
        ));
    }
    if d > 43200 {
        return Err(validation(
            &d.to_string(),
            "durationSeconds",
            "Member must have value less than or equal to 43200",
        ));
    }
    if chained && d > CHAINED_MAX as i64 {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".into(),
        ));
    }
    if d > role_max as i64 {
        return Err(StsError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .into(),
        ));
    }
    Ok(d as u32)
}

/// Checks a session policy; returns its packed size as a percentage of AWS's limit (2048
/// characters of policy text).
pub fn validate_session_policy(doc: &str) -> Result<u32, StsError> {
    check_inline_session_policy(doc)?;
    Ok(packed_percent(compact_len(doc)).min(100))
}

/// The inline session policy: at most 2048 characters, and a valid session policy.
fn check_inline_session_policy(doc: &str) -> Result<(), StsError> {
    if doc.chars().count() > SESSION_POLICY_PLAINTEXT_MAX {
        return Err(validation(
            "...",
            "policy",
            "Member must have length less than or equal to 2048",
        ));
    }
    berth_policy::parse(doc, PolicyKind::Session)
        .map_err(|e| StsError::MalformedPolicy(e.to_string()))?;
    Ok(())
}

/// A policy's characters without white space.
fn compact_len(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// AWS packs and compresses the session policies; berth reports the share of the plaintext
/// limit their text takes, rounded up.
fn packed_percent(chars: usize) -> u32 {
    let percent = (chars * 100).div_ceil(SESSION_POLICY_PLAINTEXT_MAX);
    u32::try_from(percent).unwrap_or(u32::MAX)
}

/// `PolicyArns`: at most ten, each of the model's `arnType` length (20–2048 characters).
pub fn validate_policy_arns(arns: &[String]) -> Result<(), StsError> {
    if arns.len() > MAX_POLICY_ARNS {
        // The model sets no length on the list; AWS documents "up to 10 managed policy ARNs".
        // AWS's words for an eleventh are not established here: berth answers in the
        // constraint form it uses for other over-long lists (IAM's `Tags`), naming the member.
        return Err(StsError::Validation(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10".into(),
        ));
    }
    for (i, arn) in arns.iter().enumerate() {
        let member = format!("policyArns.{}.member.arn", i + 1);
        let len = arn.chars().count();
        if len < 20 {
            return Err(validation(
                arn,
                &member,
                "Member must have length greater than or equal to 20",
            ));
        }
        if len > 2048 {
            return Err(validation(
                arn,
                &member,
                "Member must have length less than or equal to 2048",
            ));
        }
    }
    Ok(())
}

/// The session policies an AssumeRole passes.
#[derive(Debug, Clone, Copy, Default)]
pub struct SessionPolicies<'a> {
    /// The inline session policy (`Policy`), verbatim.
    pub inline: Option<&'a str>,
    /// The managed session policies (`PolicyArns`), as given.
    pub arns: &'a [String],
}

impl SessionPolicies<'_> {
    fn is_empty(&self) -> bool {
        self.inline.is_none() && self.arns.is_empty()
    }
}

/// One session-policy document holding the statements of every document in `docs`.
///
/// Each document takes part as a whole: a request is allowed by the result exactly when some
/// statement of some document allows it, and denied exactly when some statement of some
/// document denies it, which is AWS's rule for several session policies (allowed by at least
/// one, denied by none). Three things are kept equal in the move: `Sid`s are dropped (they do
/// not take part in a decision, and two documents may use the same one); a statement from a
/// document whose `Version` is not `2012-10-17` has its policy variables made literal
/// (`${` written as `${$}{` in `Resource`, `NotResource` and condition values, the only places
/// variables are read), since the merged document is `2012-10-17`; and a lone statement
/// object counts as a list of one. A single document is kept verbatim.
pub fn merge_session_policies(docs: &[&str]) -> Result<String, StsError> {
    use serde_json::Value;
    if let [only] = docs {
        return Ok((*only).to_string());
    }
    let mut statements = Vec::new();
    for doc in docs {
        let parsed: Value =
            serde_json::from_str(doc).map_err(|e| StsError::MalformedPolicy(e.to_string()))?;
        let variables = parsed.get("Version").and_then(Value::as_str) == Some("2012-10-17");
        let list = match parsed.get("Statement") {
            Some(Value::Array(list)) => list.clone(),
            Some(one @ Value::Object(_)) => vec![one.clone()],
            _ => Vec::new(),
        };
        for mut statement in list {
            if let Value::Object(fields) = &mut statement {
                fields.remove("Sid");
                if !variables {
                    for element in ["Resource", "NotResource", "Condition"] {
                        if let Some(v) = fields.get_mut(element) {
                            make_variables_literal(v);
                        }
                    }
                }
            }
            statements.push(statement);
        }
    }
    let merged = serde_json::json!({"Version": "2012-10-17", "Statement": statements}).to_string();
    // Every part was a valid policy; the whole must be one too.
    berth_policy::parse(&merged, PolicyKind::Session)
        .map_err(|e| StsError::MalformedPolicy(e.to_string()))?;
    Ok(merged)
}

/// Rewrites `${` as `${$}{` in every string value (object keys untouched).
fn make_variables_literal(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.contains("${") => *s = s.replace("${", "${$}{"),
        Value::Array(items) => items.iter_mut().for_each(make_variables_literal),
        Value::Object(fields) => fields.values_mut().for_each(make_variables_literal),
        _ => {}
    }
}

/// Whether an AWS service principal (e.g. `ecs-tasks.amazonaws.com`) may assume `role`, with
/// the request's condition keys (`aws:SourceAccount`, `aws:SourceArn`).
pub fn service_may_assume(role: &RoleInfo, service: &str, context: &Context) -> bool {
    trust_allows(
        role,
        &berth_policy::Principal::service(service),
        "sts:AssumeRole",
        context,
    )
}

/// Whether `role`'s trust policy alone allows `principal` to perform `action` with the request
/// `context` (a trust policy that does not parse allows nothing).
pub(crate) fn trust_allows(
    role: &RoleInfo,
    principal: &berth_policy::Principal,
    action: &str,
    context: &Context,
) -> bool {
    let Ok(trust) = berth_policy::parse(&role.trust_policy, PolicyKind::Trust) else {
        return false;
    };
    let arn = role.arn();
    let request = berth_policy::Request {
        principal,
        action,
        resource: &arn,
        resource_account: Some(&role.account),
        context,
    };
    let set = PolicySet {
        resource: Some(&trust),
        ..PolicySet::default()
    };
    berth_policy::evaluate(&request, &set, Mode::ResourcePolicyRequired).is_allowed()
}

/// The session token of the temporary key `access_key_id` (see [`session_token`]).
pub(crate) fn session_token_for(
    root_key: &berth_core::RootKey,
    access_key_id: &str,
) -> Zeroizing<String> {
    session_token(root_key, access_key_id)
}

/// A session's token: an HMAC of its access key id under a key derived from the root key.
/// It can be recomputed (to hand a task's execution-role credentials to its agent again) and
/// so is never stored; the key record keeps only its SHA-256 for verification.
fn session_token(root_key: &berth_core::RootKey, access_key_id: &str) -> Zeroizing<String> {
    let key = root_key.derive(b"berth:sts:session-token");
    let tag = berth_core::mac::hmac_sha256(key.as_ref(), access_key_id.as_bytes());
    let mut raw = Zeroizing::new(b"berth-session-v1:".to_vec());
    raw.extend_from_slice(access_key_id.as_bytes());
    raw.push(b':');
    raw.extend_from_slice(&tag);
    Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(raw.as_slice()))
}

/// Store table indexing live service sessions by `{account}/{role name}/{session name}`, so the
/// same task's execution-role session is handed out again rather than minted anew.
const SERVICE_SESSIONS: &str = "service_sessions";

/// The role ARN's account and name, when it is an IAM role ARN.
pub fn parse_role_arn(role_arn: &str) -> Option<(String, String)> {
    let arn = berth_core::Arn::parse(role_arn).ok()?;
    let resource = arn.resource.strip_prefix("role/")?;
    if arn.service != "iam" || !berth_core::ids::is_account_id(&arn.account) {
        return None;
    }
    let name = resource.rsplit('/').next().unwrap_or(resource);
    Some((arn.account, name.to_string()))
}

/// The packed size of a session's policies and tags together, when tags were passed (they
/// share the packed space); `packed`, the policies' own size, when none were.
pub(crate) fn packed_with_tags(
    policies: SessionPolicies<'_>,
    tags: &[(String, String)],
    packed: Option<u32>,
) -> Result<Option<u32>, StsError> {
    if tags.is_empty() {
        return Ok(packed);
    }
    let chars = policies.inline.map_or(0, compact_len)
        + policies
            .arns
            .iter()
            .map(|a| a.chars().count())
            .sum::<usize>()
        + tag_chars(tags);
    let percent = packed_percent(chars);
    if percent > 100 {
        return Err(StsError::PackedPolicyTooLarge(format!(
            "Packed policy consumes {percent}% of allotted space, please use smaller policy."
        )));
    }
    Ok(Some(percent))
}

impl Iam<'_> {
    /// An AWS service assumes `role_arn` on a customer's behalf: the ECS control plane opening
    /// a task's execution-role session as `ecs-tasks.amazonaws.com`, with `aws:SourceAccount`
    /// and `aws:SourceArn` naming the task. The trust policy alone decides.
    pub fn assume_role_for_service(
        &self,
        role_arn: &str,
        service: &str,
        source_account: &str,
        source_arn: &str,
        session_name: &str,
        now: u64,
    ) -> Result<Session, StsError> {
        self.assume_role_for_service_fresh(
            role_arn,
            service,
            source_account,
            source_arn,
            session_name,
            now,
            300,
        )
    }

    /// [`Self::assume_role_for_service`], handing out the recorded session again only while
    /// it has more than `min_left_secs` seconds left (a new session is issued otherwise).
    #[allow(clippy::too_many_arguments)]
    pub fn assume_role_for_service_fresh(
        &self,
        role_arn: &str,
        service: &str,
        source_account: &str,
        source_arn: &str,
        session_name: &str,
        now: u64,
        min_left_secs: u64,
    ) -> Result<Session, StsError> {
        let denied = || {
            StsError::AccessDenied(format!(
                "{service} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"
            ))
        };
        let (account, name) = parse_role_arn(role_arn).ok_or_else(denied)?;
        let role = self
            .role_info(&account, &name)?
            .filter(|r| r.arn() == role_arn)
            .ok_or_else(denied)?;
        let context = Context::new()
            .with("aws:SourceAccount", source_account)
            .with("aws:SourceArn", source_arn);
        if !service_may_assume(&role, service, &context) {
            return Err(denied());
        }
        let index_key = format!(
            "{}/{}/{}",
            role.account,
            role.name.to_ascii_lowercase(),
            session_name
        );
        if let Some(existing) =
            self.live_service_session(&index_key, &role, session_name, now, min_left_secs)?
        {
            return Ok(existing);
        }
        let duration = DEFAULT_DURATION
            .min(role.max_session_duration)
            .max(MIN_DURATION);
        let session = self.issue_session(
            &role,
            session_name,
            duration,
            SessionPolicies::default(),
            SessionExtras::default(),
            now,
        )?;
        self.store_write(|tx| {
            tx.put(
                SERVICE_SESSIONS,
                &index_key,
                session.access_key_id.as_bytes(),
            )?;
            Ok(())
        })?;
        Ok(session)
    }

    /// The unexpired session recorded under `index_key`, re-opened, if it still belongs to
    /// this very role (a role deleted and made again has a new id).
    fn live_service_session(
        &self,
        index_key: &str,
        role: &RoleInfo,
        session_name: &str,
        now: u64,
        min_left_secs: u64,
    ) -> Result<Option<Session>, StsError> {
        let Some(raw) = self.store_read(|tx| Ok(tx.get(SERVICE_SESSIONS, index_key)?))? else {
            return Ok(None);
        };
        let akid = String::from_utf8_lossy(&raw).into_owned();
        let Some(key) = self.resolve_access_key(&akid)? else {
            return Ok(None);
        };
        // Hand out only sessions with more than `min_left_secs` left.
        let fresh = key
            .expires_at
            .is_some_and(|e| e > now.saturating_add(min_left_secs));
        let same_role = matches!(&key.owner, KeyOwner::Session(s) if s.role_id == role.id);
        if !fresh || !same_role {
            return Ok(None);
        }
        Ok(Some(Session {
            assumed_role_id: format!("{}:{}", role.id, session_name),
            arn: format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                role.account, role.name, session_name
            ),
            session_token: session_token(self.root_key, &akid),
            expiration: key.expires_at.unwrap_or(now),
            access_key_id: akid,
            secret_access_key: key.secret,
            packed_policy_size: None,
            source_identity: None,
        }))
    }

    /// The session's policy document (the inline and managed session policies merged) and its
    /// packed size, after AWS's checks: the inline policy's length and grammar, the ARNs'
    /// shape, the plaintext of both within the packed limit, and each ARN a managed policy of
    /// the role's account or an AWS managed policy berth knows.
    pub fn session_policy(
        &self,
        role: &RoleInfo,
        policies: SessionPolicies<'_>,
    ) -> Result<(Option<String>, Option<u32>), StsError> {
        if policies.is_empty() {
            return Ok((None, None));
        }
        if let Some(doc) = policies.inline {
            check_inline_session_policy(doc)?;
        }
        validate_policy_arns(policies.arns)?;
        // Neither the order of AWS's checks nor its words for an ARN that is not a policy's,
        // or for a policy that does not exist, are established here: berth uses IAM's own
        // words for those (`ARN … is not valid.`, `Policy … does not exist or is not
        // attachable.`) as a ValidationError.
        for arn in policies.arns {
            let is_policy_arn = berth_core::Arn::parse(arn)
                .is_ok_and(|a| a.service == "iam" && a.resource.starts_with("policy/"));
            if !is_policy_arn {
                return Err(StsError::Validation(format!("ARN {arn} is not valid.")));
            }
        }
        // The plaintext of the inline policy and the managed policies' ARNs counts together.
        let chars = policies.inline.map_or(0, compact_len)
            + policies
                .arns
                .iter()
                .map(|a| a.chars().count())
                .sum::<usize>();
        let percent = packed_percent(chars);
        if percent > 100 {
            return Err(StsError::PackedPolicyTooLarge(format!(
                "Packed policy consumes {percent}% of allotted space, please use smaller policy."
            )));
        }
        let managed = self.store_read(|tx| {
            policies
                .arns
                .iter()
                .map(|arn| {
                    // The policies must exist in the role's account (or be AWS's).
                    crate::policies::find_policy(tx, &role.account, arn)
                        .map(|p| p.map(|p| p.document).ok_or_else(|| arn.clone()))
                })
                .collect::<Result<Vec<_>, IamError>>()
        })?;
        let mut docs: Vec<&str> = policies.inline.into_iter().collect();
        for found in &managed {
            match found {
                Ok(doc) => docs.push(doc),
                Err(arn) => {
                    return Err(StsError::Validation(format!(
                        "Policy {arn} does not exist or is not attachable."
                    )));
                }
            }
        }
        Ok((Some(merge_session_policies(&docs)?), Some(percent)))
    }

    /// Mints a session of `role` (the trust decision is the caller's to have made), narrowed
    /// by the session policies given.
    pub fn issue_session(
        &self,
        role: &RoleInfo,
        session_name: &str,
        duration: u32,
        policies: SessionPolicies<'_>,
        extras: SessionExtras,
        now: u64,
    ) -> Result<Session, StsError> {
        let (session_policy, packed_policy_size) = self.session_policy(role, policies)?;
        let packed_policy_size = packed_with_tags(policies, &extras.tags, packed_policy_size)?;
        // The role's own tags as the session begins, each replaced by a session tag of the
        // same key; and the source identity, for every later call of the session.
        let role_tags: Vec<(String, String)> = self
            .role(&role.account, &role.name)?
            .filter(|r| r.id == role.id)
            .map(|r| r.tags.into_iter().map(|t| (t.key, t.value)).collect())
            .unwrap_or_default();
        let mut context = extras.context;
        context.extend(principal_tags(&role_tags, &extras.tags));
        if let Some(source) = &extras.source_identity {
            context.push(("aws:SourceIdentity".into(), source.clone()));
        }
        let creds = NewCredentials::generate(&role.account, "ASIA");
        let token = session_token(self.root_key, &creds.access_key_id);
        let expiration = now + duration as u64;
        let info = SessionInfo {
            role_name: role.name.clone(),
            role_id: role.id.clone(),
            role_path: role.path.clone(),
            session_name: session_name.to_string(),
            session_policy,
            context,
            tags: extras.tags,
            transitive_tag_keys: extras.transitive_tag_keys,
            source_identity: extras.source_identity,
            mfa_authenticated_at: extras.mfa_authenticated_at,
        };
        self.store_write(|tx| {
            keys::insert(
                tx,
                self.root_key,
                &creds,
                KeyOwner::Session(info.clone()),
                now,
                Some((token.as_str(), expiration)),
            )
        })?;
        Ok(Session {
            assumed_role_id: format!("{}:{}", role.id, session_name),
            arn: format!(
                "arn:aws:sts::{}:assumed-role/{}/{}",
                role.account, role.name, session_name
            ),
            access_key_id: creds.access_key_id,
            secret_access_key: creds.secret_access_key,
            session_token: token,
            expiration,
            packed_policy_size,
            source_identity: info.source_identity,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    fn role(trust: &str) -> RoleInfo {
        RoleInfo {
            account: "111122223333".into(),
            name: "exec".into(),
            id: "AROAEXEC".into(),
            path: "/".into(),
            trust_policy: trust.into(),
            max_session_duration: 3600,
        }
    }

    const ECS_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"ArnLike":{"aws:SourceArn":"arn:aws:ecs:us-east-1:111122223333:*"},"StringEquals":{"aws:SourceAccount":"111122223333"}}}]}"#;

    #[test]
    fn service_trust_with_source_conditions() {
        let r = role(ECS_TRUST);
        let good = Context::new()
            .with("aws:SourceAccount", "111122223333")
            .with(
                "aws:SourceArn",
                "arn:aws:ecs:us-east-1:111122223333:task/default/abc",
            );
        assert!(service_may_assume(&r, "ecs-tasks.amazonaws.com", &good));
        let wrong_account = Context::new()
            .with("aws:SourceAccount", "999999999999")
            .with(
                "aws:SourceArn",
                "arn:aws:ecs:us-east-1:111122223333:task/default/abc",
            );
        assert!(!service_may_assume(
            &r,
            "ecs-tasks.amazonaws.com",
            &wrong_account
        ));
        assert!(!service_may_assume(&r, "ec2.amazonaws.com", &good));
    }

    #[test]
    fn validations_use_aws_words() {
        assert!(validate_session_name("ok-name").is_ok());
        let e = validate_session_name("bad name").unwrap_err().to_string();
        assert_eq!(
            e,
            "1 validation error detected: Value 'bad name' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        );
        assert!(validate_session_name("a").is_err());
        assert_eq!(validate_duration(None, 7200, false).unwrap(), 3600);
        assert_eq!(validate_duration(Some(7200), 7200, false).unwrap(), 7200);
        assert!(validate_duration(Some(899), 3600, false).is_err());
        assert_eq!(
            validate_duration(Some(7200), 3600, false)
                .unwrap_err()
                .to_string(),
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        );
        assert!(validate_duration(Some(7200), 43200, true).is_err());
        assert!(matches!(
            validate_session_policy("{"),
            Err(StsError::MalformedPolicy(_))
        ));
    }

    #[test]
    fn a_service_session_is_reused_while_fresh() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        // No such role: refused in the service's words.
        let e = iam
            .assume_role_for_service(
                "arn:aws:iam::111122223333:role/exec",
                "ecs-tasks.amazonaws.com",
                "111122223333",
                "arn:aws:ecs:us-east-1:111122223333:task/default/t1",
                "t1",
                1000,
            )
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "ecs-tasks.amazonaws.com is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::111122223333:role/exec"
            )
        );
    }

    #[test]
    fn a_task_session_is_handed_out_again_not_minted_anew() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_role(
            "111122223333",
            crate::roles::NewRole::new("exec", ECS_TRUST),
            0,
        )
        .unwrap();
        let assume = |session: &str, now: u64| {
            iam.assume_role_for_service(
                "arn:aws:iam::111122223333:role/exec",
                "ecs-tasks.amazonaws.com",
                "111122223333",
                &format!("arn:aws:ecs:us-east-1:111122223333:task/default/{session}"),
                session,
                now,
            )
        };
        let first = assume("t1", 1000).unwrap();
        assert_eq!(first.arn, "arn:aws:sts::111122223333:assumed-role/exec/t1");
        let again = assume("t1", 1100).unwrap();
        assert_eq!(again.access_key_id, first.access_key_id);
        assert_eq!(*again.session_token, *first.session_token);
        assert_eq!(*again.secret_access_key, *first.secret_access_key);
        // Another task gets its own session; so does this one once its session nears expiry.
        assert_ne!(
            assume("t2", 1100).unwrap().access_key_id,
            first.access_key_id
        );
        assert_ne!(
            assume("t1", first.expiration - 60).unwrap().access_key_id,
            first.access_key_id
        );
        // A trust policy with the wrong source account refuses the service.
        assert!(
            iam.assume_role_for_service(
                "arn:aws:iam::111122223333:role/exec",
                "ecs-tasks.amazonaws.com",
                "999999999999",
                "arn:aws:ecs:us-east-1:111122223333:task/default/t3",
                "t3",
                1000,
            )
            .is_err()
        );
    }

    fn allowed_by(doc: &str, action: &str, resource: &str, user: &str) -> (bool, bool) {
        let policy = berth_policy::parse(doc, PolicyKind::Session).unwrap();
        let role = berth_policy::Principal::assumed_role(
            "111122223333",
            "arn:aws:iam::111122223333:role/r",
            &format!("arn:aws:sts::111122223333:assumed-role/r/{user}"),
        );
        let context = Context::new().with("aws:username", user);
        let request = berth_policy::Request {
            principal: &role,
            action,
            resource,
            resource_account: None,
            context: &context,
        };
        let all = berth_policy::parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            PolicyKind::Identity,
        )
        .unwrap();
        let identity = [&all];
        let set = PolicySet {
            identity: &identity,
            session: Some(&policy),
            ..PolicySet::default()
        };
        let d = berth_policy::evaluate(&request, &set, Mode::Standard);
        (
            d.is_allowed(),
            matches!(d, berth_policy::Decision::ExplicitDeny { .. }),
        )
    }

    #[test]
    fn merged_session_policies_allow_what_one_allows_and_deny_what_one_denies() {
        let describe = r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Allow","Action":"secretsmanager:DescribeSecret","Resource":"*"}]}"#;
        let get = r#"{"Version":"2012-10-17","Statement":{"Sid":"S","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}}"#;
        let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:*:*:secret:prod-*"}]}"#;
        // A single document is kept as given.
        assert_eq!(merge_session_policies(&[describe]).unwrap(), describe);
        // Two documents with the same Sid, one with a lone statement object.
        let both = merge_session_policies(&[describe, get]).unwrap();
        let dev = "arn:aws:secretsmanager:us-east-1:111122223333:secret:dev-a";
        let prod = "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod-a";
        assert_eq!(
            allowed_by(&both, "secretsmanager:DescribeSecret", dev, "u"),
            (true, false)
        );
        assert_eq!(
            allowed_by(&both, "secretsmanager:GetSecretValue", dev, "u"),
            (true, false)
        );
        assert_eq!(
            allowed_by(&both, "secretsmanager:DeleteSecret", dev, "u"),
            (false, false)
        );
        let all = merge_session_policies(&[describe, get, deny]).unwrap();
        assert_eq!(
            allowed_by(&all, "secretsmanager:GetSecretValue", dev, "u"),
            (true, false)
        );
        assert_eq!(
            allowed_by(&all, "secretsmanager:GetSecretValue", prod, "u"),
            (false, true)
        );
    }

    #[test]
    fn merging_keeps_variables_of_an_old_version_literal() {
        // Without Version 2012-10-17, `${aws:username}` is literal text.
        let old = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}"#;
        let new = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"arn:aws:s3:::b/${aws:username}/*"}]}"#;
        let merged = merge_session_policies(&[old, new]).unwrap();
        assert!(
            allowed_by(
                &merged,
                "s3:GetObject",
                "arn:aws:s3:::b/${aws:username}/x",
                "u"
            )
            .0
        );
        assert!(!allowed_by(&merged, "s3:GetObject", "arn:aws:s3:::b/u/x", "u").0);
        assert!(allowed_by(&merged, "s3:PutObject", "arn:aws:s3:::b/u/x", "u").0);
        assert!(!allowed_by(&merged, "s3:PutObject", "arn:aws:s3:::b/v/x", "u").0);
    }

    #[test]
    fn managed_session_policies_are_checked_as_aws_does() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let r = role(ECS_TRUST);
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:DescribeSecret","Resource":"*"}]}"#;
        let p = iam
            .create_policy(
                "111122223333",
                crate::policies::NewPolicy {
                    name: "describe",
                    document: doc,
                    ..Default::default()
                },
                0,
            )
            .unwrap();
        let ask = |inline: Option<&str>, arns: &[&str]| {
            let arns: Vec<String> = arns.iter().map(|a| a.to_string()).collect();
            iam.session_policy(
                &r,
                SessionPolicies {
                    inline,
                    arns: &arns,
                },
            )
        };
        assert!(ask(None, &[]).unwrap() == (None, None));
        let (merged, size) = ask(None, &[&p.policy.arn]).unwrap();
        assert_eq!(merged.as_deref(), Some(doc));
        // 46 characters of ARN of 2048.
        assert_eq!(size, Some(3));
        let (merged, _) = ask(None, &[&p.policy.arn, ECS_TASK_EXECUTION]).unwrap();
        assert!(merged.unwrap().contains("ecr:GetAuthorizationToken"));
        let e = ask(None, &["arn:aws:iam::111122223333:policy/nope"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Policy arn:aws:iam::111122223333:policy/nope does not exist or is not attachable."
        );
        // Another account's policy is not the role's account's.
        let e = ask(None, &["arn:aws:iam::444455556666:policy/describe"]).unwrap_err();
        assert!(matches!(e, StsError::Validation(_)));
        let e = ask(None, &["arn:aws:iam::111122223333:role/describe"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ARN arn:aws:iam::111122223333:role/describe is not valid."
        );
        let eleven: Vec<&str> = vec![p.policy.arn.as_str(); 11];
        let e = ask(None, &eleven).unwrap_err();
        assert!(e.to_string().ends_with(
            "at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"
        ));
        let e = ask(None, &["arn:aws:iam::1:p"]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value 'arn:aws:iam::1:p' at 'policyArns.1.member.arn' failed to satisfy constraint: Member must have length greater than or equal to 20"
        );
        // The inline policy and the ARNs share the packed limit.
        let statement = r#"{"Effect":"Allow","Action":"secretsmanager:DescribeSecret","Resource":"arn:aws:secretsmanager:us-east-1:111122223333:secret:a"}"#;
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
            vec![statement; 15].join(",")
        );
        assert!(compact_len(&big) <= 2048, "{}", compact_len(&big));
        assert!(ask(Some(&big), &[]).is_ok());
        let e = ask(Some(&big), &[p.policy.arn.as_str(); 10]).unwrap_err();
        assert!(
            matches!(&e, StsError::PackedPolicyTooLarge(m) if m.starts_with("Packed policy consumes 1") && m.ends_with("% of allotted space, please use smaller policy.")),
            "{e:?}"
        );
    }

    const ECS_TASK_EXECUTION: &str = crate::ECS_TASK_EXECUTION_ROLE_POLICY_ARN;

    #[test]
    fn session_tokens_are_recomputable_and_distinct() {
        let rk = RootKey::generate();
        assert_eq!(*session_token(&rk, "ASIA1"), *session_token(&rk, "ASIA1"));
        assert_ne!(*session_token(&rk, "ASIA1"), *session_token(&rk, "ASIA2"));
        assert_ne!(
            *session_token(&rk, "ASIA1"),
            *session_token(&RootKey::generate(), "ASIA1")
        );
    }

    // Tokens are recomputed, never stored: the format and the MAC must not drift. The value
    // was computed independently (root key 00 01 .. 1f).
    #[test]
    fn session_token_vector() {
        let rk = RootKey::from_base64("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=").unwrap();
        assert_eq!(
            *session_token(&rk, "ASIAEXAMPLE"),
            "YmVydGgtc2Vzc2lvbi12MTpBU0lBRVhBTVBMRTrcM+NrG1YQWW6Ztrtwlr4jqhVW9esZqCqQ84DQa2DwYw=="
        );
    }

    #[test]
    fn issued_session_resolves_with_its_token_and_expiry() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let s = iam
            .issue_session(
                &role(ECS_TRUST),
                "task-1",
                900,
                SessionPolicies::default(),
                SessionExtras::default(),
                1000,
            )
            .unwrap();
        assert!(s.access_key_id.starts_with("ASIA"));
        assert_eq!(s.expiration, 1900);
        assert_eq!(s.arn, "arn:aws:sts::111122223333:assumed-role/exec/task-1");
        let k = iam.resolve_access_key(&s.access_key_id).unwrap().unwrap();
        assert_eq!(k.expires_at, Some(1900));
        assert_eq!(
            k.session_token_sha256.as_deref(),
            Some(keys::token_digest(&s.session_token).as_str())
        );
        assert_eq!(k.principal.arn(), s.arn);
        assert_eq!(k.secret.as_str(), s.secret_access_key.as_str());
    }
}
