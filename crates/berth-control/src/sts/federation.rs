//! Federation: AssumeRoleWithWebIdentity and AssumeRoleWithSAML (called without AWS
//! credentials, as on AWS: the token or assertion is the proof), and the STS operations
//! berth answers without the feature behind them (AssumeRoot, GetDelegatedAccessToken,
//! GetScopedCredentials, GetWebIdentityToken).

pub mod jwks;

/// A role session as the federation operations issue it.
pub use berth_iam::sts::Session as RoleSession;
use berth_iam::sts::{self as domain, SessionPolicies};
use berth_iam::web_identity::{self, WebIdentityError};

use crate::authz::{Check, authorize};
use crate::{Control, Ctx, Error};

/// AssumeRoleWithWebIdentity's members, the model's constraints checked by the decoder.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleWithWebIdentityInput {
    pub role_arn: String,
    pub role_session_name: String,
    pub web_identity_token: String,
    /// Only for OAuth 2.0 access tokens of Amazon and Facebook; berth keeps no such providers.
    pub provider_id: Option<String>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub duration_seconds: Option<i64>,
}

pub struct AssumeRoleWithWebIdentityOutput {
    pub session: RoleSession,
    /// The token's `sub`.
    pub subject_from_web_identity_token: String,
    /// The token's audience that matched the provider's client ids.
    pub audience: String,
    /// The token's `iss`.
    pub provider: String,
}

/// AssumeRoleWithSAML's members.
#[derive(Debug, Clone, Default)]
pub struct AssumeRoleWithSamlInput {
    pub role_arn: String,
    pub principal_arn: String,
    /// Base64 of the IdP's SAML response.
    pub saml_assertion: String,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
    pub duration_seconds: Option<i64>,
}

pub struct AssumeRoleWithSamlOutput {
    pub session: RoleSession,
}

fn not_authorized(action: &str) -> Error {
    Error::AccessDenied(format!("Not authorized to perform {action}"))
}

/// The role an ARN names, or `None` (a malformed ARN, another service, no such role).
fn role_of(control: &Control, role_arn: &str) -> Result<Option<domain::RoleInfo>, Error> {
    let Ok(parsed) = berth_core::Arn::parse(role_arn) else {
        return Ok(None);
    };
    let Some(resource) = parsed.resource.strip_prefix("role/") else {
        return Ok(None);
    };
    if parsed.service != "iam" || !berth_core::ids::is_account_id(&parsed.account) {
        return Ok(None);
    }
    let name = resource.rsplit('/').next().unwrap_or(resource);
    Ok(control
        .iam()
        .role_info(&parsed.account, name)?
        .filter(|r| r.arn() == role_arn))
}

fn token_error(e: WebIdentityError) -> Error {
    match e {
        WebIdentityError::Invalid(m) => Error::InvalidIdentityToken(m),
        WebIdentityError::Expired(m) => Error::ExpiredIdentityToken(m),
    }
}

/// Credentials of `role` for the holder of an OpenID Connect ID token: the token's issuer
/// must be an OIDC provider of the role's account, its signature verify with a key of the
/// issuer's JWKS (fetched by OIDC discovery), its audience be one of the provider's client
/// ids and it be unexpired; then the role's trust policy must allow
/// `sts:AssumeRoleWithWebIdentity` to `Principal.Federated` = the provider's ARN, with the
/// provider's `:aud`, `:sub`, `:amr` keys. The token's session tags and source identity
/// claims pass to the session as AssumeRole's `Tags`, `TransitiveTagKeys` and
/// `SourceIdentity` do, and need `sts:TagSession` and `sts:SetSourceIdentity` of the trust
/// policy. No AWS credentials are involved: `now` is the request's time (Unix seconds).
pub fn assume_role_with_web_identity(
    control: &Control,
    now: u64,
    input: AssumeRoleWithWebIdentityInput,
) -> Result<AssumeRoleWithWebIdentityOutput, Error> {
    const ACTION: &str = "sts:AssumeRoleWithWebIdentity";
    if input.provider_id.is_some() {
        // berth's own words: AWS accepts `www.amazon.com` and `graph.facebook.com` here.
        return Err(Error::InvalidIdentityToken(
            "berth verifies OpenID Connect ID tokens only; ProviderId names an OAuth 2.0 provider it does not know".into(),
        ));
    }
    let token = input.web_identity_token.as_str();
    let peeked = web_identity::peek(token).map_err(token_error)?;
    // The provider is the role's account's: an unknown role leaves no account to look in.
    let role = role_of(control, &input.role_arn)?;
    let account = match &role {
        Some(r) => r.account.clone(),
        None => berth_core::Arn::parse(&input.role_arn)
            .map(|a| a.account)
            .unwrap_or_default(),
    };
    let no_provider = || {
        Error::InvalidIdentityToken(format!(
            "No OpenIDConnect provider found in your account for {}",
            peeked.issuer
        ))
    };
    let provider = if berth_core::ids::is_account_id(&account) {
        control
            .iam()
            .oidc_provider_for_issuer(&account, &peeked.issuer)?
            .ok_or_else(no_provider)?
    } else {
        return Err(no_provider());
    };
    let keys = control
        .jwks
        .keys_for(&peeked.issuer, peeked.key_id.as_deref())
        .map_err(|e| match e {
            // berth's words: AWS's message for an unreachable provider is not established.
            jwks::FetchError::Unreachable(m) => {
                Error::IdpCommunication(format!("the identity provider could not be reached: {m}"))
            }
            jwks::FetchError::NoKeys(_) => {
                Error::InvalidIdentityToken(web_identity::NO_VERIFICATION_KEY.into())
            }
        })?;
    let claims = web_identity::verify(token, &keys, &provider, now).map_err(token_error)?;
    let passed = claims.session()?;
    let role = role.ok_or_else(|| not_authorized(ACTION))?;
    let mut context = claims.context(&provider);
    for (key, values) in super::request_tag_keys(&passed.tags) {
        context.insert_multi(&key, values);
    }
    if !passed.transitive_tag_keys.is_empty() {
        context.insert_multi("sts:TransitiveTagKeys", passed.transitive_tag_keys.clone());
    }
    if let Some(source) = &passed.source_identity {
        context.insert_multi("sts:SourceIdentity", vec![source.clone()]);
    }
    if !web_identity::federated_may_assume(&role, &provider.arn(), ACTION, &context) {
        return Err(not_authorized(ACTION));
    }
    // The token's session tags need `sts:TagSession`, its source identity
    // `sts:SetSourceIdentity`, both of the trust policy (AWS's words for these refusals are
    // not established here: berth answers as for the assumption itself).
    for (needed, action) in [
        (!passed.tags.is_empty(), "sts:TagSession"),
        (passed.source_identity.is_some(), "sts:SetSourceIdentity"),
    ] {
        if needed && !web_identity::federated_may_assume(&role, &provider.arn(), action, &context) {
            return Err(not_authorized(action));
        }
    }
    let duration =
        domain::validate_duration(input.duration_seconds, role.max_session_duration, false)?;
    let session = control.iam().issue_session(
        &role,
        &input.role_session_name,
        duration,
        SessionPolicies {
            inline: input.policy.as_deref(),
            arns: &input.policy_arns,
        },
        berth_iam::sts::SessionExtras {
            tags: passed.tags,
            transitive_tag_keys: passed.transitive_tag_keys,
            source_identity: passed.source_identity,
            ..Default::default()
        },
        now,
    )?;
    Ok(AssumeRoleWithWebIdentityOutput {
        session,
        audience: claims.audience(&provider),
        subject_from_web_identity_token: claims.subject,
        provider: claims.issuer,
    })
}

/// AssumeRoleWithSAML: the SAML provider must be the role's account's and the assertion a
/// base64 SAML response; berth does not verify XML signatures (no maintained Rust crate
/// verifies XML-DSig), so it never issues credentials for an assertion and says so.
pub fn assume_role_with_saml(
    control: &Control,
    _now: u64,
    input: AssumeRoleWithSamlInput,
) -> Result<AssumeRoleWithSamlOutput, Error> {
    const ACTION: &str = "sts:AssumeRoleWithSAML";
    use base64::Engine;
    let Some(role) = role_of(control, &input.role_arn)? else {
        return Err(not_authorized(ACTION));
    };
    // berth's words in this function: AWS's for these cases are not established here.
    let provider_ok = control
        .iam()
        .get_saml_provider(&role.account, &input.principal_arn)
        .is_ok();
    if !provider_ok {
        return Err(Error::InvalidIdentityToken(format!(
            "no SAML provider {} in the role's account",
            input.principal_arn
        )));
    }
    let xml = base64::engine::general_purpose::STANDARD
        .decode(input.saml_assertion.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .filter(|x| x.contains("Response") && x.trim_start().starts_with('<'));
    if xml.is_none() {
        return Err(Error::InvalidIdentityToken(
            "the SAML assertion is not a base64-encoded SAML response".into(),
        ));
    }
    Err(Error::InvalidIdentityToken(
        "berth cannot verify the signature of a SAML assertion, so it issues no credentials for one".into(),
    ))
}

#[derive(Debug, Clone, Default)]
pub struct AssumeRootInput {
    pub target_principal: String,
    pub task_policy_arn: String,
    pub duration_seconds: Option<i64>,
}

pub struct AssumeRootOutput {
    pub session: RoleSession,
}

/// berth has no AWS Organizations, so no account has centralized root access to assume: the
/// call is refused in berth's words (AWS's answer for an account outside an organization is
/// not established).
pub fn assume_root(ctx: &Ctx<'_>, input: AssumeRootInput) -> Result<AssumeRootOutput, Error> {
    authorize(ctx, &Check::new("sts:AssumeRoot", "*"))?;
    Err(Error::AccessDenied(format!(
        "berth has no AWS Organizations: the root user of {} cannot be assumed (AssumeRoot needs centralized root access in an organization)",
        input.target_principal
    )))
}

#[derive(Debug, Clone, Default)]
pub struct GetDelegatedAccessTokenInput {
    pub trade_in_token: String,
}

pub struct GetDelegatedAccessTokenOutput {
    pub session: RoleSession,
}

/// berth issues no trade-in tokens, so none can be exchanged.
pub fn get_delegated_access_token(
    _ctx: &Ctx<'_>,
    _input: GetDelegatedAccessTokenInput,
) -> Result<GetDelegatedAccessTokenOutput, Error> {
    Err(Error::Sts(domain::StsError::Validation(
        "berth issues no trade-in tokens: the token cannot be exchanged".into(),
    )))
}

#[derive(Debug, Clone, Default)]
pub struct GetScopedCredentialsInput {
    pub policy: Option<String>,
    pub duration_seconds: Option<i64>,
}

pub struct GetScopedCredentialsOutput {
    pub session: RoleSession,
}

/// berth does not scope sessions down: the call is refused in berth's words, whatever the
/// credentials (AWS's answer to long-term credentials is not established here).
pub fn get_scoped_credentials(
    _ctx: &Ctx<'_>,
    _input: GetScopedCredentialsInput,
) -> Result<GetScopedCredentialsOutput, Error> {
    Err(Error::AccessDenied(
        "berth does not issue scoped credentials (GetScopedCredentials)".into(),
    ))
}

#[derive(Debug, Clone, Default)]
pub struct GetWebIdentityTokenInput {
    pub audience: Vec<String>,
    pub signing_algorithm: String,
}

pub struct GetWebIdentityTokenOutput {
    pub web_identity_token: String,
}

/// Outbound web identity federation cannot be enabled in berth: the account's answer is
/// the disabled feature's.
pub fn get_web_identity_token(
    ctx: &Ctx<'_>,
    _input: GetWebIdentityTokenInput,
) -> Result<GetWebIdentityTokenOutput, Error> {
    authorize(ctx, &Check::new("sts:GetWebIdentityToken", "*"))?;
    Err(Error::OutboundWebIdentityFederationDisabled)
}
