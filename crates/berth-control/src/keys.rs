//! Access keys as authentication needs them: the signing secret, and who the key stands for.
//!
//! The wire crate verifies the SigV4 signature with [`SigningKey::secret`]; everything about
//! the key itself (unknown, inactive, a session token that is not the key's, expired temporary
//! credentials) is decided here.

use std::time::SystemTime;

use berth_iam::authz::IdentityDocuments;
use berth_iam::{KeyOwner, KeyStatus, Principal};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{Caller, Control, Error};

/// Why an access key does not authenticate a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFailure {
    /// The access key id is unknown or inactive.
    #[error("the access key is unknown or inactive")]
    Unknown,
    /// A session token is missing, unexpected, or not the key's.
    #[error("the session token does not belong to the access key")]
    BadToken,
    /// Temporary credentials past their expiry.
    #[error("the temporary credentials have expired")]
    Expired,
    /// The key store failed.
    #[error("the access key could not be read: {0}")]
    Internal(String),
}

/// A key that may sign requests: its secret (to verify the signature with) and its caller.
pub struct SigningKey {
    pub secret: Zeroizing<String>,
    /// The caller the key stands for; `source_ip` is left for the listener to fill in.
    pub caller: Caller,
    /// The owner's identity policy documents when they were read with the key (a user's key).
    pub identity: Option<IdentityDocuments>,
}

impl Control {
    /// The key `access_key_id` as it may sign a request in `region` at `now`, with the session
    /// token the request carries (`X-Amz-Security-Token`).
    pub fn signing_key(
        &self,
        access_key_id: &str,
        region: &str,
        session_token: Option<&str>,
        now: SystemTime,
    ) -> Result<SigningKey, KeyFailure> {
        let key = self
            .iam()
            .resolve_access_key(access_key_id)
            .map_err(|e| KeyFailure::Internal(e.to_string()))?
            .ok_or(KeyFailure::Unknown)?;
        if key.status != KeyStatus::Active {
            return Err(KeyFailure::Unknown);
        }
        match (&key.session_token_sha256, session_token) {
            (None, None) => {}
            (Some(expected), Some(given)) => {
                let digest = berth_iam::token_digest(given);
                if !bool::from(expected.as_bytes().ct_eq(digest.as_bytes())) {
                    return Err(KeyFailure::BadToken);
                }
            }
            _ => return Err(KeyFailure::BadToken),
        }
        if key
            .expires_at
            .is_some_and(|exp| berth_core::time::epoch_secs(now) >= exp)
        {
            return Err(KeyFailure::Expired);
        }
        let (session, mfa_authenticated_at) = match key.owner {
            KeyOwner::Session(info) => {
                let mfa = info.mfa_authenticated_at;
                (Some(info), mfa)
            }
            KeyOwner::UserSession {
                mfa_authenticated_at,
                ..
            } => (None, mfa_authenticated_at),
            _ => (None, None),
        };
        Ok(SigningKey {
            secret: key.secret,
            caller: Caller {
                principal: key.principal,
                access_key_id: key.access_key_id,
                region: region.to_string(),
                session,
                source_ip: None,
                mfa_authenticated_at,
            },
            identity: key.identity,
        })
    }
}

/// Why a console sign-in is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignInFailure {
    /// The access key id is unknown or inactive.
    #[error("the access key is unknown or inactive")]
    UnknownKey,
    /// The secret access key is not the key's.
    #[error("the secret access key does not match")]
    WrongSecret,
    /// Temporary credentials (`ASIA…`) cannot sign in.
    #[error("temporary credentials cannot sign in")]
    Temporary,
    /// The key store failed.
    #[error("the access key could not be read: {0}")]
    Internal(String),
}

impl Control {
    /// The principal of an active, long-term access key whose secret is `secret` (compared in
    /// constant time): the console's sign-in.
    pub fn sign_in(&self, access_key_id: &str, secret: &str) -> Result<Principal, SignInFailure> {
        let key = self
            .iam()
            .resolve_access_key(access_key_id)
            .map_err(|e| SignInFailure::Internal(e.to_string()))?
            .filter(|k| k.status == KeyStatus::Active)
            .ok_or(SignInFailure::UnknownKey)?;
        if !bool::from(secret.as_bytes().ct_eq(key.secret.as_bytes())) {
            return Err(SignInFailure::WrongSecret);
        }
        if matches!(
            key.owner,
            KeyOwner::Session(_) | KeyOwner::UserSession { .. } | KeyOwner::RootSession
        ) {
            return Err(SignInFailure::Temporary);
        }
        Ok(key.principal)
    }

    /// The principal of `access_key_id` while the key is active; `None` once it is deleted or
    /// deactivated (a console session looks its key up on every request).
    pub fn active_key_principal(&self, access_key_id: &str) -> Result<Option<Principal>, Error> {
        Ok(self
            .iam()
            .resolve_access_key(access_key_id)?
            .filter(|k| k.status == KeyStatus::Active)
            .map(|k| k.principal))
    }
}
