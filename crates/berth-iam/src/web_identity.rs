//! Web identity federation in the domain: an OpenID Connect ID token (a JWT) checked against
//! the account's registered OIDC provider and the issuer's keys, and a role's trust policy
//! asked whether the provider's users may assume it.
//!
//! The token's signature is verified with `jsonwebtoken` (RS256/384/512, PS256/384/512,
//! ES256/384) against the JSON Web Key Set the caller of [`verify`] fetched from the issuer;
//! this module does no I/O and takes `now` as an argument. Its failures are
//! [`WebIdentityError`]s, each carrying the words AWS answers with where they are known.

use berth_policy::Context;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::oidc::OidcProvider;
use crate::sts::{RoleInfo, StsError};
use crate::{Iam, IamError};

/// The longest web identity token STS takes (the model's `clientTokenType`).
pub const MAX_TOKEN_LEN: usize = 20_000;

/// AWS's words when the issuer's keys cannot be had or none of them is the token's.
pub const NO_VERIFICATION_KEY: &str = "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements";

/// Why a web identity token is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebIdentityError {
    /// `InvalidIdentityToken`: malformed, unknown issuer, bad signature, wrong audience.
    #[error("{0}")]
    Invalid(String),
    /// `ExpiredTokenException`.
    #[error("{0}")]
    Expired(String),
}

fn invalid(m: impl Into<String>) -> WebIdentityError {
    WebIdentityError::Invalid(m.into())
}

/// What the token says before its signature is checked: enough to find the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnverifiedToken {
    /// `iss`, as written.
    pub issuer: String,
    /// `kid` of the header, when there is one.
    pub key_id: Option<String>,
}

/// The claims of a verified token that STS uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedClaims {
    pub issuer: String,
    pub subject: String,
    /// `aud`: one string or a list.
    pub audiences: Vec<String>,
    /// `azp`, when present (AWS matches it against the client ids as well).
    pub authorized_party: Option<String>,
    /// `amr`: a string or a list.
    pub amr: Vec<String>,
    /// The session tags claim ([`TAGS_CLAIM`]), as the token holds it.
    pub tags_claim: Option<serde_json::Value>,
    /// The source identity claim ([`SOURCE_IDENTITY_CLAIM`]), as the token holds it.
    pub source_identity_claim: Option<serde_json::Value>,
}

/// The claim of session tags: `{"principal_tags": {KEY: [VALUE]}, "transitive_tag_keys":
/// [KEY]}`.
pub const TAGS_CLAIM: &str = "https://aws.amazon.com/tags";
/// The claim of the session's source identity: a string.
pub const SOURCE_IDENTITY_CLAIM: &str = "https://aws.amazon.com/source_identity";

/// AWS's words for a session tags claim it cannot read (as AWS answers
/// AssumeRoleWithWebIdentity with `ValidationError`; which malformations AWS answers so is
/// not established here, berth answers every malformed shape so).
pub const UNABLE_TO_VALIDATE_TAGS: &str = "Unable to validate tags";

/// What a token passes to its session besides its identity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenSession {
    /// The session tags, key -> value (ordered by key).
    pub tags: Vec<(String, String)>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
}

fn b64url(part: &str) -> Result<Vec<u8>, WebIdentityError> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .map_err(|_| invalid("the web identity token is not a JWT"))
}

/// Reads the issuer and key id of a compact JWT without trusting them.
pub fn peek(token: &str) -> Result<UnverifiedToken, WebIdentityError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid("the web identity token is too long"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(_sig), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(invalid("the web identity token is not a JWT"));
    };
    let header: serde_json::Value = serde_json::from_slice(&b64url(header)?)
        .map_err(|_| invalid("the web identity token is not a JWT"))?;
    let payload: serde_json::Value = serde_json::from_slice(&b64url(payload)?)
        .map_err(|_| invalid("the web identity token is not a JWT"))?;
    let issuer = payload
        .get("iss")
        .and_then(|v| v.as_str())
        .ok_or_else(|| invalid("the web identity token has no iss claim"))?;
    Ok(UnverifiedToken {
        issuer: issuer.to_string(),
        key_id: header
            .get("kid")
            .and_then(|v| v.as_str())
            .map(str::to_string),
    })
}

/// The provider host and path an issuer names: `https://` and a trailing `/` removed (how
/// IAM keys an OIDC provider and how the condition keys are prefixed).
pub fn issuer_host_path(issuer: &str) -> &str {
    issuer
        .strip_prefix("https://")
        .unwrap_or(issuer)
        .trim_end_matches('/')
}

fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// The keys of a JWKS document that `jsonwebtoken` understands (others are skipped: a set
/// may hold encryption keys or algorithms it does not know).
fn keys_of(jwks: &str) -> Vec<Jwk> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(jwks) else {
        return Vec::new();
    };
    doc.get("keys")
        .and_then(|k| k.as_array())
        .map(|keys| {
            keys.iter()
                .filter_map(|k| serde_json::from_value::<Jwk>(k.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Whether the issuer's key set has a key for this token (by `kid`, or any key without one).
pub fn has_key(jwks: &str, key_id: Option<&str>) -> bool {
    let keys = keys_of(jwks);
    match key_id {
        Some(kid) => keys.iter().any(|k| k.common.key_id.as_deref() == Some(kid)),
        None => !keys.is_empty(),
    }
}

const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// Verifies `token` with the issuer's key set `jwks`, then its issuer (the provider's URL),
/// audience (one of the provider's client ids) and expiry against `now` (Unix seconds).
pub fn verify(
    token: &str,
    jwks: &str,
    provider: &OidcProvider,
    now: u64,
) -> Result<VerifiedClaims, WebIdentityError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|_| invalid("the web identity token is not a JWT"))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid(format!(
            "the web identity token's algorithm {:?} is not one STS accepts",
            header.alg
        )));
    }
    let keys = keys_of(jwks);
    let candidates: Vec<&Jwk> = keys
        .iter()
        .filter(|k| match header.kid.as_deref() {
            Some(kid) => k.common.key_id.as_deref() == Some(kid),
            None => true,
        })
        .collect();
    if candidates.is_empty() {
        return Err(invalid(NO_VERIFICATION_KEY));
    }
    let mut validation = Validation::new(header.alg);
    // Expiry is checked below against berth's clock; the audience against the provider.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let mut claims = None;
    for jwk in candidates {
        let Ok(key) = DecodingKey::from_jwk(jwk) else {
            continue;
        };
        if let Ok(data) = jsonwebtoken::decode::<serde_json::Value>(token, &key, &validation) {
            claims = Some(data.claims);
            break;
        }
    }
    // AWS's words for a token whose signature does not verify are not established here.
    let claims = claims.ok_or_else(|| invalid("the web identity token's signature is invalid"))?;
    let issuer = claims
        .get("iss")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    if issuer_host_path(&issuer) != provider.url {
        return Err(invalid(format!(
            "No OpenIDConnect provider found in your account for {issuer}"
        )));
    }
    if let Some(exp) = claims.get("exp").and_then(|v| v.as_f64()) {
        if (now as f64) >= exp {
            return Err(WebIdentityError::Expired(format!(
                "Token expired: current date/time {now} must be before the expiration date/time {}",
                exp as u64
            )));
        }
    } else {
        return Err(invalid("the web identity token has no exp claim"));
    }
    let audiences = strings(claims.get("aud"));
    let authorized_party = claims
        .get("azp")
        .and_then(|v| v.as_str())
        .map(str::to_string);
    let accepted = audiences
        .iter()
        .chain(authorized_party.iter())
        .any(|a| provider.client_ids.iter().any(|c| c == a));
    if !accepted {
        return Err(invalid("Incorrect token audience"));
    }
    Ok(VerifiedClaims {
        issuer,
        subject: claims
            .get("sub")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string(),
        audiences,
        authorized_party,
        amr: strings(claims.get("amr")),
        tags_claim: claims.get(TAGS_CLAIM).cloned(),
        source_identity_claim: claims.get(SOURCE_IDENTITY_CLAIM).cloned(),
    })
}

impl VerifiedClaims {
    /// The session tags, transitive keys and source identity the token's claims pass, checked
    /// as AssumeRole's members are: `principal_tags` maps each key to a list of exactly one
    /// string (multivalued session tags are not supported), `transitive_tag_keys` lists
    /// strings; a claim of another shape is refused with [`UNABLE_TO_VALIDATE_TAGS`]. The
    /// model's limits (50 tags, key and value lengths and characters), keys unique without
    /// regard to case and transitive keys among the tags are AssumeRole's, in its words.
    pub fn session(&self) -> Result<TokenSession, StsError> {
        let malformed = || StsError::Validation(UNABLE_TO_VALIDATE_TAGS.into());
        let mut out = TokenSession::default();
        if let Some(claim) = &self.tags_claim {
            let claim = claim.as_object().ok_or_else(malformed)?;
            if let Some(tags) = claim.get("principal_tags") {
                let tags = tags.as_object().ok_or_else(malformed)?;
                if tags.len() > crate::sts::MAX_SESSION_TAGS {
                    // The model's words for the list, checked before any tag is read.
                    crate::sts::validate_session_tags(
                        &vec![(String::new(), String::new()); tags.len()],
                        &[],
                    )?;
                }
                for (key, values) in tags {
                    let value = match values.as_array().map(Vec::as_slice) {
                        Some([serde_json::Value::String(v)]) => v.clone(),
                        _ => return Err(malformed()),
                    };
                    out.tags.push((key.clone(), value));
                }
            }
            if let Some(keys) = claim.get("transitive_tag_keys") {
                let keys = keys.as_array().ok_or_else(malformed)?;
                if keys.len() > crate::sts::MAX_SESSION_TAGS {
                    crate::sts::validate_session_tags(&[], &vec![String::new(); keys.len()])?;
                }
                for key in keys {
                    out.transitive_tag_keys
                        .push(key.as_str().ok_or_else(malformed)?.to_string());
                }
            }
        }
        crate::sts::validate_session_tags(&out.tags, &out.transitive_tag_keys)?;
        let (tags, keys) = crate::sts::session_tags(&out.tags, &out.transitive_tag_keys, None)?;
        out.tags = tags;
        out.transitive_tag_keys = keys;
        if let Some(claim) = &self.source_identity_claim {
            // berth's words for a claim that is not a string: AWS's are not established.
            let source = claim.as_str().ok_or_else(|| {
                StsError::Validation(format!(
                    "the web identity token's {SOURCE_IDENTITY_CLAIM} claim is not a string"
                ))
            })?;
            crate::sts::validate_source_identity(source)?;
            out.source_identity = Some(source.to_string());
        }
        Ok(out)
    }

    /// The audience STS reports and matches `:aud` against: the `azp` when the token has one
    /// (as AWS documents for tokens with several audiences), else the first client id found
    /// among `aud`.
    pub fn audience(&self, provider: &OidcProvider) -> String {
        if let Some(azp) = &self.authorized_party {
            return azp.clone();
        }
        self.audiences
            .iter()
            .find(|a| provider.client_ids.iter().any(|c| c == *a))
            .or(self.audiences.first())
            .cloned()
            .unwrap_or_default()
    }

    /// The request context of the trust policy: `<host/path>:aud`, `:sub`, `:amr` (and
    /// `:oaud`, the other audiences), as AWS documents the web identity keys.
    pub fn context(&self, provider: &OidcProvider) -> Context {
        let host = provider.url.as_str();
        let mut ctx = Context::new()
            .with(&format!("{host}:aud"), self.audience(provider))
            .with(&format!("{host}:sub"), self.subject.clone());
        if !self.amr.is_empty() {
            ctx.insert_multi(&format!("{host}:amr"), self.amr.clone());
        }
        let aud = self.audience(provider);
        let others: Vec<String> = self
            .audiences
            .iter()
            .filter(|a| **a != aud)
            .cloned()
            .collect();
        if !others.is_empty() {
            ctx.insert_multi(&format!("{host}:oaud"), others);
        }
        ctx
    }
}

/// Whether `role`'s trust policy lets the federated users of `provider_arn` perform `action`
/// (`sts:AssumeRoleWithWebIdentity`, `sts:AssumeRoleWithSAML`) with the request `context`.
pub fn federated_may_assume(
    role: &RoleInfo,
    provider_arn: &str,
    action: &str,
    context: &Context,
) -> bool {
    crate::sts::trust_allows(
        role,
        &berth_policy::Principal::federated(provider_arn),
        action,
        context,
    )
}

impl Iam<'_> {
    /// The account's OIDC provider for `issuer` (`https://host/path`), if one is registered.
    pub fn oidc_provider_for_issuer(
        &self,
        account: &str,
        issuer: &str,
    ) -> Result<Option<OidcProvider>, IamError> {
        if !issuer.starts_with("https://") {
            return Ok(None);
        }
        let arn = format!(
            "arn:aws:iam::{account}:oidc-provider/{}",
            issuer_host_path(issuer)
        );
        match self.get_oidc_provider(account, &arn) {
            Ok(p) => Ok(Some(p)),
            Err(IamError::NoSuchOidcProvider(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn provider() -> OidcProvider {
        OidcProvider {
            account: "111122223333".into(),
            url: "issuer.example.com/tenant".into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            thumbprints: Vec::new(),
            created_at: 0,
            tags: Vec::new(),
        }
    }

    // The public P-256 key of RFC 7515's ES256 example, and an encryption key that is skipped.
    const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1","use":"sig","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},{"kty":"RSA","kid":"enc","use":"enc","alg":"RSA-OAEP-256","n":"AQAB","e":"AQAB"}]}"#;

    #[test]
    fn tokens_are_peeked_then_verified() {
        assert!(peek("a.b").is_err());
        assert!(peek("not a token").is_err());
        assert_eq!(issuer_host_path("https://h.example/p/"), "h.example/p");
        assert!(has_key(JWKS, Some("k1")));
        assert!(!has_key(JWKS, Some("k2")));
        assert!(!has_key("{}", None));
        // A token signed by no key of the set.
        let header = base64url(r#"{"alg":"ES256","kid":"k1"}"#);
        let payload = base64url(
            r#"{"iss":"https://issuer.example.com/tenant","aud":"sts.amazonaws.com","sub":"s","exp":2000}"#,
        );
        let token = format!("{header}.{payload}.AAAA");
        let t = peek(&token).unwrap();
        assert_eq!(t.issuer, "https://issuer.example.com/tenant");
        assert_eq!(t.key_id.as_deref(), Some("k1"));
        assert_eq!(
            verify(&token, JWKS, &provider(), 1000).unwrap_err(),
            invalid("the web identity token's signature is invalid")
        );
        let other = format!(
            "{}.{payload}.AAAA",
            base64url(r#"{"alg":"ES256","kid":"k9"}"#)
        );
        assert_eq!(
            verify(&other, JWKS, &provider(), 1000).unwrap_err(),
            invalid(NO_VERIFICATION_KEY)
        );
        let hs = format!("{}.{payload}.AAAA", base64url(r#"{"alg":"HS256"}"#));
        assert!(verify(&hs, JWKS, &provider(), 1000).is_err());
    }

    fn with_claims(
        tags: Option<serde_json::Value>,
        source: Option<serde_json::Value>,
    ) -> VerifiedClaims {
        VerifiedClaims {
            issuer: "https://issuer.example.com/tenant".into(),
            subject: "s".into(),
            audiences: vec!["sts.amazonaws.com".into()],
            authorized_party: None,
            amr: Vec::new(),
            tags_claim: tags,
            source_identity_claim: source,
        }
    }

    #[test]
    fn token_claims_pass_session_tags_and_a_source_identity() {
        use serde_json::json;
        let s = with_claims(None, None).session().unwrap();
        assert_eq!(s, TokenSession::default());
        let s = with_claims(
            Some(
                json!({"principal_tags": {"Project": ["Automation"], "Cost": ["9"]},
                        "transitive_tag_keys": ["project"]}),
            ),
            Some(json!("ann@example")),
        )
        .session()
        .unwrap();
        assert_eq!(
            s.tags,
            [
                ("Cost".to_string(), "9".to_string()),
                ("Project".to_string(), "Automation".to_string())
            ]
        );
        assert_eq!(s.transitive_tag_keys, ["project"]);
        assert_eq!(s.source_identity.as_deref(), Some("ann@example"));
        let malformed = [
            json!("x"),
            json!({"principal_tags": ["a"]}),
            json!({"principal_tags": {"a": "v"}}),
            json!({"principal_tags": {"a": ["v", "w"]}}),
            json!({"principal_tags": {"a": [1]}}),
            json!({"principal_tags": {"a": ["v"]}, "transitive_tag_keys": "a"}),
        ];
        for claim in malformed {
            let e = with_claims(Some(claim.clone()), None)
                .session()
                .unwrap_err();
            assert!(
                matches!(&e, StsError::Validation(m) if m == UNABLE_TO_VALIDATE_TAGS),
                "{claim}: {e:?}"
            );
        }
        let e = with_claims(
            Some(json!({"principal_tags": {"Team": ["a"], "team": ["b"]}})),
            None,
        )
        .session()
        .unwrap_err();
        assert!(matches!(e, StsError::InvalidParameterValue(m) if m.starts_with("Duplicate")));
        let e = with_claims(
            Some(json!({"principal_tags": {"a": ["v"]}, "transitive_tag_keys": ["b"]})),
            None,
        )
        .session()
        .unwrap_err();
        assert!(matches!(e, StsError::InvalidParameterValue(_)));
        let e = with_claims(Some(json!({"principal_tags": {"a": ["bad#"]}})), None)
            .session()
            .unwrap_err();
        assert!(e.to_string().contains("'tags.1.member.value'"), "{e}");
        let many: serde_json::Map<String, serde_json::Value> =
            (0..51).map(|i| (format!("k{i}"), json!(["v"]))).collect();
        let e = with_claims(Some(json!({ "principal_tags": many })), None)
            .session()
            .unwrap_err();
        assert!(e.to_string().contains("'tags' failed"), "{e}");
        let e = with_claims(None, Some(json!("a"))).session().unwrap_err();
        assert!(e.to_string().contains("'sourceIdentity'"), "{e}");
        assert!(with_claims(None, Some(json!(7))).session().is_err());
    }

    #[test]
    fn the_context_carries_the_providers_keys() {
        let claims = VerifiedClaims {
            issuer: "https://issuer.example.com/tenant".into(),
            subject: "repo:a/b".into(),
            audiences: vec!["other".into(), "sts.amazonaws.com".into()],
            authorized_party: None,
            amr: vec!["authenticated".into()],
            tags_claim: None,
            source_identity_claim: None,
        };
        let p = provider();
        assert_eq!(claims.audience(&p), "sts.amazonaws.com");
        let ctx = claims.context(&p);
        assert!(ctx.get("issuer.example.com/tenant:sub").is_some());
        assert!(ctx.get("issuer.example.com/tenant:aud").is_some());
        assert!(ctx.get("issuer.example.com/tenant:amr").is_some());
        assert!(ctx.get("issuer.example.com/tenant:oaud").is_some());
    }

    #[test]
    fn trust_policies_name_the_provider() {
        let provider_arn = "arn:aws:iam::111122223333:oidc-provider/issuer.example.com/tenant";
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"{provider_arn}"}},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{{"StringEquals":{{"issuer.example.com/tenant:sub":"repo:a/b"}}}}}}]}}"#
        );
        let role = RoleInfo {
            account: "111122223333".into(),
            name: "ci".into(),
            id: "AROAEXAMPLE".into(),
            path: "/".into(),
            trust_policy: trust,
            max_session_duration: 3600,
        };
        let ok = Context::new().with("issuer.example.com/tenant:sub", "repo:a/b");
        let other = Context::new().with("issuer.example.com/tenant:sub", "repo:x/y");
        let action = "sts:AssumeRoleWithWebIdentity";
        assert!(federated_may_assume(&role, provider_arn, action, &ok));
        assert!(!federated_may_assume(&role, provider_arn, action, &other));
        assert!(!federated_may_assume(
            &role,
            provider_arn,
            "sts:AssumeRoleWithSAML",
            &ok
        ));
        assert!(!federated_may_assume(
            &role,
            "arn:aws:iam::111122223333:oidc-provider/elsewhere.example.com",
            action,
            &ok
        ));
    }

    fn base64url(s: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }
}
