//! Authentication: who signed this request, and did they sign it right.

use std::time::SystemTime;

use berth_control::keys::KeyFailure;
use berth_control::{Caller, Control, IdentityDocuments};
use berth_sigv4::{Authorization, SigV4Error};

use crate::protocol::Service;

/// Why a request is not authenticated. [`crate::WireError::from_auth`] gives each its wire form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthError {
    /// No `Authorization` header.
    Missing,
    /// The header or the credential scope is malformed; the message is AWS's.
    Incomplete(String),
    /// The access key id is unknown or inactive.
    UnknownKey,
    /// A session token is missing, unexpected, or not the key's.
    BadToken,
    /// Temporary credentials past their expiry.
    ExpiredToken,
    /// The signature does not verify.
    SignatureMismatch,
    /// The signature is refused for a stated reason (time outside the allowed skew, a scope
    /// that does not fit, a header that must be signed and is not); the message is AWS's.
    SignatureRefused(String),
    /// The key store failed.
    Internal(String),
}

impl From<SigV4Error> for AuthError {
    fn from(e: SigV4Error) -> AuthError {
        match e {
            SigV4Error::MissingAuthentication => AuthError::Missing,
            SigV4Error::Expired { message } | SigV4Error::NotYetCurrent { message } => {
                AuthError::SignatureRefused(message)
            }
            SigV4Error::InvalidScope(message) => AuthError::SignatureRefused(message),
            e @ SigV4Error::HeaderNotSigned(_) => AuthError::SignatureRefused(e.to_string()),
            SigV4Error::SignatureDoesNotMatch => AuthError::SignatureMismatch,
            SigV4Error::Incomplete(message) => AuthError::Incomplete(message),
        }
    }
}

/// The service a request is for, from its credential scope, checked against its `X-Amz-Target`.
pub fn scoped_service(
    authz: &Authorization,
    target_service: Option<Service>,
) -> Result<Service, AuthError> {
    let named = Service::from_signing_name(&authz.scope.service);
    match (named, target_service) {
        (Some(s), Some(t)) if s != t => Err(wrong_service(t)),
        (Some(s), _) => Ok(s),
        // AWS's endpoint for the target's service would name itself; without a target there is
        // no endpoint to speak for, and berth says which signing names it serves.
        (None, Some(t)) => Err(wrong_service(t)),
        (None, None) => Err(AuthError::SignatureRefused(format!(
            "Credential should be scoped to correct service: one of 'ecs', 'secretsmanager', 'kms', 'iam', 'sts', not '{}'. ",
            berth_sigv4::bounded(&authz.scope.service)
        ))),
    }
}

fn wrong_service(s: Service) -> AuthError {
    AuthError::SignatureRefused(format!(
        "Credential should be scoped to correct service: '{}'. ",
        s.signing_name()
    ))
}

/// Verifies the request (header-signed or presigned) against the signer's stored key and returns
/// who signed it, with their identity policy documents when they were read along with the key
/// (a user's key).
///
/// The credential scope's region must be one of the control's regions (AWS's and the
/// configured extra ones): AWS refuses a credential scoped to a region it does not serve with `Credential should
/// be scoped to a valid region, not '<region>'. `, and berth does the same rather than open a
/// new namespace for a made-up region.
pub fn authenticate(
    control: &Control,
    req: &berth_sigv4::Request<'_>,
    authz: &Authorization,
    now: SystemTime,
) -> Result<(Caller, Option<IdentityDocuments>), AuthError> {
    if !control.regions.contains(&authz.scope.region) {
        return Err(AuthError::SignatureRefused(
            berth_sigv4::wrong_region_message(&authz.scope.region),
        ));
    }
    let token = authz.security_token(req);
    let key = control
        .signing_key(&authz.access_key_id, &authz.scope.region, token, now)
        .map_err(|e| match e {
            KeyFailure::Unknown => AuthError::UnknownKey,
            KeyFailure::BadToken => AuthError::BadToken,
            KeyFailure::Expired => AuthError::ExpiredToken,
            KeyFailure::Internal(detail) => AuthError::Internal(detail),
        })?;
    berth_sigv4::verify(req, authz, &key.secret, now)?;
    Ok((key.caller, key.identity))
}
