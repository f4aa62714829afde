//! GetSessionToken, GetAccessKeyInfo and DecodeAuthorizationMessage on the Query protocol.

use berth_control::sts::{
    self as op, DecodeAuthorizationMessageInput, DecodeAuthorizationMessageOutput,
    GetAccessKeyInfoInput, GetAccessKeyInfoOutput, GetSessionTokenInput, GetSessionTokenOutput,
};

use super::{length, policy_arns, required, validation};
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
        "GetSessionToken" => call(params, |i| op::get_session_token(ctx, i)),
        "GetFederationToken" => call(params, |i| op::get_federation_token(ctx, i)),
        "GetAccessKeyInfo" => call(params, |i| op::get_access_key_info(ctx, i)),
        "DecodeAuthorizationMessage" => call(params, |i| op::decode_authorization_message(ctx, i)),
        _ => return super::federation::dispatch(ctx, action, params),
    })
}

/// `DurationSeconds` of GetSessionToken and GetFederationToken: the model's range, 900 to
/// 129,600 seconds.
fn token_duration(params: &QueryParams) -> Result<Option<u32>, WireError> {
    let Some(d) = params.get("DurationSeconds") else {
        return Ok(None);
    };
    let n = d
        .parse::<i64>()
        .map_err(|_| validation(Some(d), "durationSeconds", "Member must be a number"))?;
    if n < 900 {
        return Err(validation(
            Some(d),
            "durationSeconds",
            "Member must have value greater than or equal to 900",
        ));
    }
    if n > 129_600 {
        return Err(validation(
            Some(d),
            "durationSeconds",
            "Member must have value less than or equal to 129600",
        ));
    }
    Ok(u32::try_from(n).ok())
}

impl FromQuery for GetSessionTokenInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let duration_seconds = token_duration(params)?;
        let (serial_number, token_code) = mfa_members(params)?;
        Ok(GetSessionTokenInput {
            duration_seconds,
            serial_number,
            token_code,
        })
    }
}

/// `SerialNumber` (9–256 characters of `[\w+=/:,.@-]`) and `TokenCode` (six digits), as
/// GetSessionToken and AssumeRole take them.
pub(super) fn mfa_members(
    params: &QueryParams,
) -> Result<(Option<String>, Option<String>), WireError> {
    {
        let serial_number = params.get("SerialNumber");
        if let Some(s) = serial_number {
            length(s, "serialNumber", 9, 256, true)?;
            if !s
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=/:,.@-".contains(c))
            {
                return Err(validation(
                    Some(s),
                    "serialNumber",
                    "Member must satisfy regular expression pattern: [\\w+=/:,.@-]*",
                ));
            }
        }
        let token_code = params.get("TokenCode");
        if let Some(t) = token_code {
            length(t, "tokenCode", 6, 6, true)?;
            if !t.chars().all(|c| c.is_ascii_digit()) {
                return Err(validation(
                    Some(t),
                    "tokenCode",
                    "Member must satisfy regular expression pattern: [\\d]*",
                ));
            }
        }
        Ok((
            serial_number.map(str::to_string),
            token_code.map(str::to_string),
        ))
    }
}

impl FromQuery for GetAccessKeyInfoInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let id = required(params, "AccessKeyId", "accessKeyId")?;
        length(id, "accessKeyId", 16, 128, true)?;
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(validation(
                Some(id),
                "accessKeyId",
                "Member must satisfy regular expression pattern: [\\w]*",
            ));
        }
        Ok(GetAccessKeyInfoInput {
            access_key_id: id.to_string(),
        })
    }
}

impl FromQuery for DecodeAuthorizationMessageInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let m = required(params, "EncodedMessage", "encodedMessage")?;
        // The message itself is not quoted: it may be long.
        if m.is_empty() || m.chars().count() > 10_240 {
            return Err(validation(
                Some("..."),
                "encodedMessage",
                if m.is_empty() {
                    "Member must have length greater than or equal to 1"
                } else {
                    "Member must have length less than or equal to 10240"
                },
            ));
        }
        Ok(DecodeAuthorizationMessageInput {
            encoded_message: m.to_string(),
        })
    }
}

impl ToXml for GetSessionTokenOutput {
    fn to_xml(&self, out: &mut String) {
        let c = &self.credentials;
        super::credentials(
            out,
            &c.access_key_id,
            &c.secret_access_key,
            &c.session_token,
            c.expiration,
        );
    }
}

impl ToXml for GetAccessKeyInfoOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "Account", &self.account);
    }
}

impl ToXml for DecodeAuthorizationMessageOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "DecodedMessage", &self.decoded_message);
    }
}

impl FromQuery for op::GetFederationTokenInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let name = required(params, "Name", "name")?;
        length(name, "name", 2, 32, true)?;
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        {
            return Err(validation(
                Some(name),
                "name",
                "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
            ));
        }
        let duration_seconds = token_duration(params)?;
        let policy_arns = policy_arns(params)?;
        let tags = super::tag_members(params)?;
        op::validate_session_tags(&tags, &[])?;
        Ok(op::GetFederationTokenInput {
            name: name.to_string(),
            policy: params.get("Policy").map(str::to_string),
            policy_arns,
            duration_seconds,
            tags,
        })
    }
}

impl ToXml for op::GetFederationTokenOutput {
    fn to_xml(&self, out: &mut String) {
        let c = &self.credentials;
        super::credentials(
            out,
            &c.access_key_id,
            &c.secret_access_key,
            &c.session_token,
            c.expiration,
        );
        out.push_str("<FederatedUser>");
        element(out, "FederatedUserId", &self.federated_user_id);
        element(out, "Arn", &self.arn);
        out.push_str("</FederatedUser>");
        if let Some(size) = self.packed_policy_size {
            element(out, "PackedPolicySize", &size.to_string());
        }
    }
}
