//! AssumeRoleWithWebIdentity, AssumeRoleWithSAML and the STS operations berth answers
//! without their feature, on the Query protocol. The first two are also answered unsigned
//! ([`unsigned`]), as AWS answers them: the token or assertion is the caller's proof.

use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use berth_control::Control;
use berth_control::sts::{
    self as op, AssumeRoleWithSamlInput, AssumeRoleWithSamlOutput, AssumeRoleWithWebIdentityInput,
    AssumeRoleWithWebIdentityOutput, AssumeRootInput, AssumeRootOutput,
    GetDelegatedAccessTokenInput, GetDelegatedAccessTokenOutput, GetScopedCredentialsInput,
    GetScopedCredentialsOutput, GetWebIdentityTokenInput, GetWebIdentityTokenOutput,
};

use super::{
    assumed_role_user, length, number, policy_arns, required, role_credentials, validation,
};
use crate::error::WireError;
use crate::protocol::{Protocol, Service};
use crate::services::query::{FromQuery, ToXml, call};
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    let now = ctx.now_secs();
    Some(match action {
        "AssumeRoleWithWebIdentity" => call(params, |i| {
            op::assume_role_with_web_identity(ctx.control, now, i)
        }),
        "AssumeRoleWithSAML" => call(params, |i| op::assume_role_with_saml(ctx.control, now, i)),
        "AssumeRoot" => call(params, |i| op::assume_root(ctx, i)),
        "GetDelegatedAccessToken" => call(params, |i| op::get_delegated_access_token(ctx, i)),
        "GetScopedCredentials" => call(params, |i| op::get_scoped_credentials(ctx, i)),
        "GetWebIdentityToken" => call(params, |i| op::get_web_identity_token(ctx, i)),
        _ => return None,
    })
}

/// The operations STS answers without a signature.
const UNSIGNED: &[&str] = &["AssumeRoleWithWebIdentity", "AssumeRoleWithSAML"];

/// Answers a request that carries no SigV4 at all when it is one of [`UNSIGNED`] (form body,
/// or the query string of a GET or a bodiless POST); `None` for anything else, which is then
/// refused as unsigned.
pub(crate) fn unsigned(
    control: &Control,
    parts: &Parts,
    body: &[u8],
    request_id: &str,
) -> Option<Response> {
    let raw: &[u8] = if parts.method == Method::GET || body.is_empty() {
        parts.uri.query().unwrap_or("").as_bytes()
    } else {
        body
    };
    let params = QueryParams::parse(raw);
    let action = params.get("Action").filter(|a| UNSIGNED.contains(a))?;
    let protocol = Service::Sts.protocol();
    let Protocol::Query { version, xmlns } = protocol else {
        return None;
    };
    let given = params.get("Version").unwrap_or("NO_VERSION_SPECIFIED");
    let now = berth_core::time::epoch_secs(control.now());
    let result = if given != version {
        Err(WireError::invalid_action(
            action,
            &berth_sigv4::bounded(given),
        ))
    } else if action == "AssumeRoleWithWebIdentity" {
        call(&params, |i| {
            op::assume_role_with_web_identity(control, now, i)
        })
    } else {
        call(&params, |i| op::assume_role_with_saml(control, now, i))
    };
    Some(match result {
        Ok(inner) => {
            let body = crate::xml::response(action, xmlns, &inner, request_id);
            let mut resp = (StatusCode::OK, body).into_response();
            let headers = resp.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"));
            if let Ok(v) = HeaderValue::from_str(request_id) {
                headers.insert("x-amzn-RequestId", v);
            }
            resp
        }
        Err(e) => {
            let e = e.in_protocol(protocol);
            tracing::info!(code = %e.code, action, "unsigned request refused");
            e.render(Some(protocol), request_id)
        }
    })
}

fn role_members(params: &QueryParams) -> Result<(String, String), WireError> {
    let role_arn = required(params, "RoleArn", "roleArn")?;
    length(role_arn, "roleArn", 20, 2048, true)?;
    Ok((role_arn.to_string(), String::new()))
}

impl FromQuery for AssumeRoleWithWebIdentityInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let (role_arn, _) = role_members(params)?;
        let session_name = required(params, "RoleSessionName", "roleSessionName")?;
        op::validate_session_name(session_name)?;
        let token = required(params, "WebIdentityToken", "webIdentityToken")?;
        length(token, "webIdentityToken", 4, 20_000, false)?;
        let provider_id = params.get("ProviderId");
        if let Some(p) = provider_id {
            length(p, "providerId", 4, 2048, true)?;
        }
        Ok(AssumeRoleWithWebIdentityInput {
            role_arn,
            role_session_name: session_name.to_string(),
            web_identity_token: token.to_string(),
            provider_id: provider_id.map(str::to_string),
            policy: params.get("Policy").map(str::to_string),
            policy_arns: policy_arns(params)?,
            duration_seconds: number(params, "DurationSeconds", "durationSeconds")?,
        })
    }
}

impl FromQuery for AssumeRoleWithSamlInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let (role_arn, _) = role_members(params)?;
        let principal = required(params, "PrincipalArn", "principalArn")?;
        length(principal, "principalArn", 20, 2048, true)?;
        let assertion = required(params, "SAMLAssertion", "sAMLAssertion")?;
        length(assertion, "sAMLAssertion", 4, 100_000, false)?;
        Ok(AssumeRoleWithSamlInput {
            role_arn,
            principal_arn: principal.to_string(),
            saml_assertion: assertion.to_string(),
            policy: params.get("Policy").map(str::to_string),
            policy_arns: policy_arns(params)?,
            duration_seconds: number(params, "DurationSeconds", "durationSeconds")?,
        })
    }
}

impl FromQuery for AssumeRootInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let target = required(params, "TargetPrincipal", "targetPrincipal")?;
        length(target, "targetPrincipal", 12, 2048, true)?;
        let task_policy_arn = params
            .get("TaskPolicyArn.arn")
            .ok_or_else(|| validation(None, "taskPolicyArn", "Member must not be null"))?;
        let duration_seconds = number(params, "DurationSeconds", "durationSeconds")?;
        if let Some(d) = duration_seconds.filter(|d| !(0..=900).contains(d)) {
            let constraint = if d < 0 {
                "Member must have value greater than or equal to 0"
            } else {
                "Member must have value less than or equal to 900"
            };
            return Err(validation(
                Some(&d.to_string()),
                "durationSeconds",
                constraint,
            ));
        }
        Ok(AssumeRootInput {
            target_principal: target.to_string(),
            task_policy_arn: task_policy_arn.to_string(),
            duration_seconds,
        })
    }
}

impl FromQuery for GetDelegatedAccessTokenInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let token = required(params, "TradeInToken", "tradeInToken")?;
        Ok(GetDelegatedAccessTokenInput {
            trade_in_token: token.to_string(),
        })
    }
}

impl FromQuery for GetScopedCredentialsInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        Ok(GetScopedCredentialsInput {
            policy: params.get("Policy").map(str::to_string),
            duration_seconds: number(params, "DurationSeconds", "durationSeconds")?,
        })
    }
}

impl FromQuery for GetWebIdentityTokenInput {
    fn from_query(params: &QueryParams) -> Result<Self, WireError> {
        let audience: Vec<String> = params
            .list("Audience")
            .into_iter()
            .map(str::to_string)
            .collect();
        if audience.is_empty() {
            return Err(validation(None, "audience", "Member must not be null"));
        }
        if audience.len() > 10 {
            return Err(validation(
                None,
                "audience",
                "Member must have length less than or equal to 10",
            ));
        }
        let algorithm = required(params, "SigningAlgorithm", "signingAlgorithm")?;
        length(algorithm, "signingAlgorithm", 5, 5, true)?;
        Ok(GetWebIdentityTokenInput {
            audience,
            signing_algorithm: algorithm.to_string(),
        })
    }
}

impl ToXml for AssumeRoleWithWebIdentityOutput {
    fn to_xml(&self, out: &mut String) {
        role_credentials(out, &self.session);
        element(
            out,
            "SubjectFromWebIdentityToken",
            &self.subject_from_web_identity_token,
        );
        assumed_role_user(out, &self.session);
        element(out, "Provider", &self.provider);
        element(out, "Audience", &self.audience);
        if let Some(source) = &self.session.source_identity {
            element(out, "SourceIdentity", source);
        }
    }
}

impl ToXml for AssumeRoleWithSamlOutput {
    fn to_xml(&self, out: &mut String) {
        role_credentials(out, &self.session);
        assumed_role_user(out, &self.session);
    }
}

impl ToXml for AssumeRootOutput {
    fn to_xml(&self, out: &mut String) {
        role_credentials(out, &self.session);
    }
}

impl ToXml for GetDelegatedAccessTokenOutput {
    fn to_xml(&self, out: &mut String) {
        role_credentials(out, &self.session);
    }
}

impl ToXml for GetScopedCredentialsOutput {
    fn to_xml(&self, out: &mut String) {
        role_credentials(out, &self.session);
    }
}

impl ToXml for GetWebIdentityTokenOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "WebIdentityToken", &self.web_identity_token);
    }
}
