//! What a role session carries besides its role: session tags (passed, and inherited as
//! transitive through a role chain), the source identity, and an MFA sign-in.
//!
//! Tag keys are unique without regard to case (`Department` and `department` are one key) and
//! keep the case they were given. A session's tags become its `aws:PrincipalTag/<key>` keys,
//! over the role's own tags of the same key.

use super::{StsError, validation};
use crate::keys::SessionInfo;

/// The most session tags, and transitive tag keys, one request passes.
pub const MAX_SESSION_TAGS: usize = 50;

/// Session tags, key -> value, keys unique without regard to case.
pub type SessionTags = Vec<(String, String)>;

/// What a new role session carries besides its role and policies.
#[derive(Debug, Clone, Default)]
pub struct SessionExtras {
    /// Condition keys fixed for the session's lifetime (e.g. `aws:SourceAccount` for a session
    /// the ECS control plane opened).
    pub context: Vec<(String, String)>,
    /// The session tags: inherited transitive ones and those passed ([`session_tags`]).
    pub tags: Vec<(String, String)>,
    /// The keys of `tags` that pass on to the next session of a chain.
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
    /// When the caller's MFA code was checked (Unix seconds).
    pub mfa_authenticated_at: Option<u64>,
}

/// A character of the model's tag pattern `[\p{L}\p{Z}\p{N}_.:/=+\-@]`.
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || (c.is_whitespace() && !c.is_control()) || "_.:/=+-@".contains(c)
}

const TAG_PATTERN: &str = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]";

/// `Tags` and `TransitiveTagKeys` against the model: at most 50 of each; a key of 1–128
/// characters and a value of 0–256, of the tag pattern.
pub fn validate_session_tags(
    tags: &[(String, String)],
    transitive: &[String],
) -> Result<(), StsError> {
    // AWS's words for a list over its length are not established here: berth answers in the
    // form it uses for `PolicyArns`.
    for (list, len) in [
        ("tags", tags.len()),
        ("transitiveTagKeys", transitive.len()),
    ] {
        if len > MAX_SESSION_TAGS {
            return Err(StsError::Validation(format!(
                "1 validation error detected: Value at '{list}' failed to satisfy constraint: Member must have length less than or equal to {MAX_SESSION_TAGS}"
            )));
        }
    }
    for (i, (key, value)) in tags.iter().enumerate() {
        check_key(key, &format!("tags.{}.member.key", i + 1))?;
        let member = format!("tags.{}.member.value", i + 1);
        if value.chars().count() > 256 {
            return Err(validation(
                value,
                &member,
                "Member must have length less than or equal to 256",
            ));
        }
        if !value.chars().all(tag_char) {
            return Err(validation(
                value,
                &member,
                &format!("Member must satisfy regular expression pattern: {TAG_PATTERN}*"),
            ));
        }
    }
    for (i, key) in transitive.iter().enumerate() {
        check_key(key, &format!("transitiveTagKeys.{}.member", i + 1))?;
    }
    Ok(())
}

fn check_key(key: &str, member: &str) -> Result<(), StsError> {
    let n = key.chars().count();
    if n < 1 {
        return Err(validation(
            key,
            member,
            "Member must have length greater than or equal to 1",
        ));
    }
    if n > 128 {
        return Err(validation(
            key,
            member,
            "Member must have length less than or equal to 128",
        ));
    }
    if !key.chars().all(tag_char) {
        return Err(validation(
            key,
            member,
            &format!("Member must satisfy regular expression pattern: {TAG_PATTERN}+"),
        ));
    }
    Ok(())
}

fn invalid(message: &str) -> StsError {
    StsError::InvalidParameterValue(message.into())
}

/// The tags of a new session and its transitive keys: the calling session's transitive tags
/// (role chaining), then the tags passed. A key passed twice (in any case), a passed key that
/// an inherited transitive tag already holds, and a transitive key that names no passed tag
/// are refused with AWS's `InvalidParameterValue` texts.
pub fn session_tags(
    passed: &[(String, String)],
    transitive: &[String],
    caller: Option<&SessionInfo>,
) -> Result<(SessionTags, Vec<String>), StsError> {
    let passed_keys: Vec<String> = passed.iter().map(|(k, _)| k.to_lowercase()).collect();
    let mut seen = std::collections::HashSet::new();
    if !passed_keys.iter().all(|k| seen.insert(k.as_str())) {
        return Err(invalid(
            "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
        ));
    }
    let inherited: Vec<(String, String)> = caller
        .map(|s| {
            s.tags
                .iter()
                .filter(|(k, _)| {
                    s.transitive_tag_keys
                        .iter()
                        .any(|t| t.to_lowercase() == k.to_lowercase())
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if inherited
        .iter()
        .any(|(k, _)| passed_keys.contains(&k.to_lowercase()))
    {
        return Err(invalid(
            "One of the specified transitive tag keys can't be set because it conflicts with a transitive tag key from the calling session.",
        ));
    }
    if transitive
        .iter()
        .any(|t| !passed_keys.contains(&t.to_lowercase()))
    {
        return Err(invalid(
            "The specified transitive tag key must be included in the requested tags.",
        ));
    }
    let mut keys: Vec<String> = inherited.iter().map(|(k, _)| k.clone()).collect();
    for t in transitive {
        if !keys.iter().any(|k| k.to_lowercase() == t.to_lowercase()) {
            keys.push(t.clone());
        }
    }
    let mut tags = inherited;
    tags.extend(passed.iter().cloned());
    Ok((tags, keys))
}

/// The characters session tags take of the packed space (keys and values).
pub(crate) fn tag_chars(tags: &[(String, String)]) -> usize {
    tags.iter()
        .map(|(k, v)| k.chars().count() + v.chars().count())
        .sum()
}

/// The `aws:PrincipalTag/<key>` keys of a role session: the role's tags, each replaced by a
/// session tag of the same key in any case.
pub(crate) fn principal_tags(
    role_tags: &[(String, String)],
    session_tags: &[(String, String)],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = role_tags
        .iter()
        .filter(|(k, _)| {
            !session_tags
                .iter()
                .any(|(s, _)| s.to_lowercase() == k.to_lowercase())
        })
        .map(|(k, v)| (format!("aws:PrincipalTag/{k}"), v.clone()))
        .collect();
    out.extend(
        session_tags
            .iter()
            .map(|(k, v)| (format!("aws:PrincipalTag/{k}"), v.clone())),
    );
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(k: &str, v: &str) -> (String, String) {
        (k.into(), v.into())
    }

    #[test]
    fn tags_meet_the_model() {
        assert!(validate_session_tags(&[t("team", "a b"), t("x:y", "")], &[]).is_ok());
        let e = validate_session_tags(&[t("", "v")], &[]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: Member must have length greater than or equal to 1"
        );
        let e = validate_session_tags(&[t("ok", "bad#")], &[]).unwrap_err();
        assert!(e.to_string().contains("'tags.1.member.value'"), "{e}");
        let many: Vec<_> = (0..51).map(|i| t(&format!("k{i}"), "v")).collect();
        assert!(validate_session_tags(&many, &[]).is_err());
        assert!(validate_session_tags(&[], &["a".repeat(129)]).is_err());
    }

    #[test]
    fn transitive_tags_are_inherited_and_not_overridden() {
        let e = session_tags(&[t("Team", "a"), t("team", "b")], &[], None).unwrap_err();
        assert!(matches!(e, StsError::InvalidParameterValue(m) if m.starts_with("Duplicate")));
        let e = session_tags(&[t("team", "a")], &["Project".into()], None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "The specified transitive tag key must be included in the requested tags."
        );
        let (tags, keys) =
            session_tags(&[t("Team", "a"), t("env", "dev")], &["team".into()], None).unwrap();
        let caller = SessionInfo {
            tags,
            transitive_tag_keys: keys,
            ..Default::default()
        };
        // Only the transitive tag passes on; passing it again in any case fails.
        let e = session_tags(&[t("TEAM", "b")], &[], Some(&caller)).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("One of the specified transitive tag keys")
        );
        let (tags, keys) = session_tags(&[t("env", "prod")], &[], Some(&caller)).unwrap();
        assert_eq!(tags, [t("Team", "a"), t("env", "prod")]);
        assert_eq!(keys, ["Team"]);
        assert_eq!(
            principal_tags(&[t("TEAM", "role"), t("cost", "1")], &tags),
            [
                t("aws:PrincipalTag/cost", "1"),
                t("aws:PrincipalTag/Team", "a"),
                t("aws:PrincipalTag/env", "prod")
            ]
        );
    }
}
