//! AWS Security Token Service (Query protocol, version 2011-06-15).
//!
//! Each operation's input is decoded from the form parameters and checked against the STS
//! model's constraints (the first failure is reported, quoting the value, as AWS does); the use
//! case in `berth_control::sts` authorises and acts; its output is written as XML.

use berth_control::sts::{
    self as op, AssumeRoleInput, AssumeRoleOutput, GetCallerIdentityInput, GetCallerIdentityOutput,
};

pub(crate) mod federation;
mod tokens;

use crate::error::WireError;
use crate::services::query::{FromQuery, ToXml, call};
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    Some(match action {
        "GetCallerIdentity" => call(params, |i| op::get_caller_identity(ctx, i)),
        "AssumeRole" => call(params, |i| op::assume_role(ctx, i)),
        _ => return tokens::dispatch(ctx, action, params),
    })
}

/// STS's text for a failed constraint, quoting the value (`None`: the member is absent).
fn validation(value: Option<&str>, member: &str, constraint: &str) -> WireError {
    let value = value.map_or_else(|| "null".to_string(), |v| format!("'{v}'"));
    WireError::validation_failed(&[format!(
        "Value {value} at '{member}' failed to satisfy constraint: {constraint}"
    )])
}

fn required<'p>(params: &'p QueryParams, name: &str, member: &str) -> Result<&'p str, WireError> {
    params
        .get(name)
        .ok_or_else(|| validation(None, member, "Member must not be null"))
}

/// A string member's length, as STS reports the first failure: quoting the value, or `...`
/// for a long or secret one (`quote` false).
fn length(value: &str, member: &str, min: usize, max: usize, quote: bool) -> Result<(), WireError> {
    let n = value.chars().count();
    let shown = if quote { value } else { "..." };
    if n < min {
        return Err(validation(
            Some(shown),
            member,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(validation(
            Some(shown),
            member,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// An optional integer member.
fn number(params: &QueryParams, name: &str, member: &str) -> Result<Option<i64>, WireError> {
    match params.get(name) {
        None => Ok(None),
        Some(d) => d
            .parse::<i64>()
            .map(Some)
            .map_err(|_| validation(Some(d), member, "Member must be a number")),
    }
}

/// `PolicyArns.member.N.arn`. The model does not require `arn`, but a descriptor without one
/// names no policy; berth refuses it rather than drop a narrowing the caller asked for (AWS's
/// answer is not established here).
fn policy_arns(params: &QueryParams) -> Result<Vec<String>, WireError> {
    let mut arns = Vec::new();
    for (i, member) in params.members("PolicyArns").iter().enumerate() {
        let arn = member.get("arn").ok_or_else(|| {
            validation(
                None,
                &format!("policyArns.{}.member.arn", i + 1),
                "Member must not be null",
            )
        })?;
        arns.push(arn.to_string());
    }
    op::validate_policy_arns(&arns)?;
    Ok(arns)
}

/// The `Credentials` element of every answer that issues credentials.
fn credentials(out: &mut String, id: &str, secret: &str, token: &str, expiration: u64) {
    out.push_str("<Credentials>");
    element(out, "AccessKeyId", id);
    element(out, "SecretAccessKey", secret);
    element(out, "SessionToken", token);
    element(out, "Expiration", &berth_core::time::iso8601(expiration));
    out.push_str("</Credentials>");
}

/// A role session's `Credentials` element.
fn role_credentials(out: &mut String, s: &op::RoleSession) {
    credentials(
        out,
        &s.access_key_id,
        &s.secret_access_key,
        &s.session_token,
        s.expiration,
    );
}

/// A role session's `AssumedRoleUser` element, then its `PackedPolicySize`.
fn assumed_role_user(out: &mut String, s: &op::RoleSession) {
    out.push_str("<AssumedRoleUser>");
    element(out, "AssumedRoleId", &s.assumed_role_id);
    element(out, "Arn", &s.arn);
    out.push_str("</AssumedRoleUser>");
    if let Some(size) = s.packed_policy_size {
        element(out, "PackedPolicySize", &size.to_string());
    }
}

impl FromQuery for GetCallerIdentityInput {
    fn from_query(_params: &QueryParams) -> Result<Self, WireError> {
        Ok(GetCallerIdentityInput)
    }
}

impl FromQuery for AssumeRoleInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let role_arn = required(params, "RoleArn", "roleArn")?;
        let session_name = required(params, "RoleSessionName", "roleSessionName")?;
        if role_arn.len() < 20 {
            return Err(validation(
                Some(role_arn),
                "roleArn",
                "Member must have length greater than or equal to 20",
            ));
        }
        op::validate_session_name(session_name)?;
        let duration_seconds = number(params, "DurationSeconds", "durationSeconds")?;
        let policy_arns = policy_arns(params)?;
        let tags = tag_members(params)?;
        let transitive_tag_keys: Vec<String> = params
            .list("TransitiveTagKeys")
            .into_iter()
            .map(str::to_string)
            .collect();
        op::validate_session_tags(&tags, &transitive_tag_keys)?;
        let source_identity = params.get("SourceIdentity");
        if let Some(s) = source_identity {
            op::validate_source_identity(s)?;
        }
        let (serial_number, token_code) = tokens::mfa_members(params)?;
        Ok(AssumeRoleInput {
            role_arn: role_arn.to_string(),
            role_session_name: session_name.to_string(),
            duration_seconds,
            policy: params.get("Policy").map(str::to_string),
            policy_arns,
            external_id: params.get("ExternalId").map(str::to_string),
            tags,
            transitive_tag_keys,
            source_identity: source_identity.map(str::to_string),
            serial_number,
            token_code,
        })
    }
}

impl ToXml for GetCallerIdentityOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "Arn", &self.arn);
        element(out, "UserId", &self.user_id);
        element(out, "Account", &self.account);
    }
}

impl ToXml for AssumeRoleOutput {
    fn to_xml(&self, out: &mut String) {
        let session = &self.session;
        role_credentials(out, session);
        assumed_role_user(out, session);
        if let Some(source) = &session.source_identity {
            element(out, "SourceIdentity", source);
        }
    }
}

/// `Tags.member.N.Key` / `.Value` (both required by the model), of AssumeRole and
/// GetFederationToken.
pub(super) fn tag_members(params: &QueryParams) -> Result<Vec<(String, String)>, WireError> {
    let mut tags = Vec::new();
    for (i, member) in params.members("Tags").iter().enumerate() {
        let field = |name: &str, wire: &str| {
            member.get(name).map(str::to_string).ok_or_else(|| {
                validation(
                    None,
                    &format!("tags.{}.member.{wire}", i + 1),
                    "Member must not be null",
                )
            })
        };
        tags.push((field("Key", "key")?, field("Value", "value")?));
    }
    Ok(tags)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn assume_role_input_constraints() {
        let e =
            AssumeRoleInput::from_query(&QueryParams::parse(b"RoleSessionName=s1")).unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
            )
        );
        let e = AssumeRoleInput::from_query(&QueryParams::parse(
            b"RoleArn=arn:aws:iam::1:r/r&RoleSessionName=s1",
        ))
        .unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "1 validation error detected: Value 'arn:aws:iam::1:r/r' at 'roleArn' failed to satisfy constraint: Member must have length greater than or equal to 20"
            )
        );
        let e = AssumeRoleInput::from_query(&QueryParams::parse(
            b"RoleArn=arn:aws:iam::111122223333:role/r&RoleSessionName=s1&DurationSeconds=x",
        ))
        .unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "1 validation error detected: Value 'x' at 'durationSeconds' failed to satisfy constraint: Member must be a number"
            )
        );
        let input = AssumeRoleInput::from_query(&QueryParams::parse(
            b"RoleArn=arn:aws:iam::111122223333:role/r&RoleSessionName=s1&DurationSeconds=900&ExternalId=e",
        ))
        .unwrap();
        assert_eq!(input.duration_seconds, Some(900));
        assert_eq!(input.external_id.as_deref(), Some("e"));
        assert_eq!(input.policy, None);
        assert!(input.policy_arns.is_empty());
        let input = AssumeRoleInput::from_query(&QueryParams::parse(
            b"RoleArn=arn:aws:iam::111122223333:role/r&RoleSessionName=s1&PolicyArns.member.2.arn=arn:aws:iam::aws:policy/B&PolicyArns.member.1.arn=arn:aws:iam::111122223333:policy/A",
        ))
        .unwrap();
        assert_eq!(
            input.policy_arns,
            [
                "arn:aws:iam::111122223333:policy/A",
                "arn:aws:iam::aws:policy/B"
            ]
        );
        let e = AssumeRoleInput::from_query(&QueryParams::parse(
            b"RoleArn=arn:aws:iam::111122223333:role/r&RoleSessionName=s1&PolicyArns.member.1.Arn=x",
        ))
        .unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "1 validation error detected: Value null at 'policyArns.1.member.arn' failed to satisfy constraint: Member must not be null"
            )
        );
    }
}
