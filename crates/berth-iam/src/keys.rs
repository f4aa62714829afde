//! Access keys: the id/secret pairs that sign requests.

use base64::Engine;
use berth_core::RootKey;
use berth_store::{Tx, put_json, scan_json};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{IamError, Principal};

/// Store table of access keys, keyed by access key id.
pub(crate) const TABLE: &str = "access_keys";

/// Who an access key belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum KeyOwner {
    /// The account's root user.
    Root,
    /// An IAM user, by name (names are unique per account, compared case-insensitively).
    User { name: String },
    /// A role session: temporary credentials with a session token.
    Session(SessionInfo),
    /// Temporary credentials of an IAM user from `sts:GetSessionToken`: they act as the user.
    /// `mfa_authenticated_at`: when the user's MFA code was checked for them (Unix seconds).
    UserSession {
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        mfa_authenticated_at: Option<u64>,
    },
    /// Temporary credentials of the root user from `sts:GetSessionToken`.
    RootSession,
    /// A federated user's credentials from `sts:GetFederationToken`, asked for by the IAM user
    /// `user_name`; `policy` is the federation's policy (inline and managed merged), `None`
    /// when none was passed (the session may do nothing); `tags` the session tags passed,
    /// key as given -> value, keys unique without regard to case.
    Federated {
        user_name: String,
        name: String,
        policy: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        tags: Vec<(String, String)>,
    },
}

/// What a temporary key carries about its role session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub role_name: String,
    pub role_id: String,
    pub role_path: String,
    pub session_name: String,
    /// An inline session policy passed to AssumeRole, verbatim.
    pub session_policy: Option<String>,
    /// Condition keys fixed for the session's lifetime (e.g. `aws:SourceAccount` for a session
    /// the ECS control plane opened), name -> value.
    #[serde(default)]
    pub context: Vec<(String, String)>,
    /// The session tags (those passed and those inherited as transitive), key as given ->
    /// value; keys are unique without regard to case.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// The keys of `tags` that pass on to a session this one opens (role chaining).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    /// The source identity set when the session (or the first of its chain) began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// When an MFA code was checked for the session (Unix seconds), if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_authenticated_at: Option<u64>,
}

/// `Active` keys sign; `Inactive` keys are refused like unknown ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// An access key as stored: the secret sealed, a session token only as its SHA-256.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    pub access_key_id: String,
    pub account_id: String,
    pub owner: KeyOwner,
    /// base64 of the secret sealed under the root key with the key id as context.
    pub sealed_secret: String,
    pub status: KeyStatus,
    pub created_at: u64,
    /// Unix seconds after which the key is expired (temporary credentials only).
    pub expires_at: Option<u64>,
    /// hex SHA-256 of the session token, for temporary credentials.
    pub session_token_sha256: Option<String>,
}

/// Credentials just made, to hand to their owner once.
pub struct NewCredentials {
    pub account_id: String,
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
}

impl NewCredentials {
    pub(crate) fn generate(account_id: &str, prefix: &str) -> NewCredentials {
        NewCredentials {
            account_id: account_id.to_string(),
            access_key_id: berth_core::ids::aws_id(prefix),
            secret_access_key: Zeroizing::new(berth_core::ids::secret_access_key()),
        }
    }
}

/// A key ready for signature verification.
pub struct ResolvedKey {
    pub access_key_id: String,
    pub owner: KeyOwner,
    pub principal: Principal,
    pub secret: Zeroizing<String>,
    pub status: KeyStatus,
    pub expires_at: Option<u64>,
    pub session_token_sha256: Option<String>,
    /// The owner's identity policy documents when they were read with the key (a user's key:
    /// from the same user record, in the same read transaction); `None` when not read yet.
    pub identity: Option<crate::authz::IdentityDocuments>,
}

fn seal_context(access_key_id: &str) -> Vec<u8> {
    format!("berth:access-key:{access_key_id}").into_bytes()
}

/// SHA-256 of a session token, as stored.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(crate) fn insert(
    tx: &dyn Tx,
    root_key: &RootKey,
    creds: &NewCredentials,
    owner: KeyOwner,
    now: u64,
    session: Option<(&str, u64)>,
) -> Result<(), IamError> {
    let sealed = root_key.seal(
        &seal_context(&creds.access_key_id),
        creds.secret_access_key.as_bytes(),
    );
    let record = AccessKeyRecord {
        access_key_id: creds.access_key_id.clone(),
        account_id: creds.account_id.clone(),
        owner,
        sealed_secret: base64::engine::general_purpose::STANDARD.encode(sealed),
        status: KeyStatus::Active,
        created_at: now,
        expires_at: session.map(|(_, exp)| exp),
        session_token_sha256: session.map(|(token, _)| token_digest(token)),
    };
    put_json(tx, TABLE, &creds.access_key_id, &record)?;
    Ok(())
}

pub(crate) fn ids_of(
    tx: &dyn Tx,
    account_id: &str,
    owner: &KeyOwner,
) -> Result<Vec<String>, IamError> {
    Ok(records_of(tx, account_id, owner)?
        .into_iter()
        .map(|r| r.access_key_id)
        .collect())
}

/// The access keys `owner` has in `account`.
pub(crate) fn records_of(
    tx: &dyn Tx,
    account_id: &str,
    owner: &KeyOwner,
) -> Result<Vec<AccessKeyRecord>, IamError> {
    Ok(scan_json::<AccessKeyRecord>(tx, TABLE, "")?
        .into_iter()
        .filter(|(_, r)| r.account_id == account_id && &r.owner == owner)
        .map(|(_, r)| r)
        .collect())
}

impl AccessKeyRecord {
    pub(crate) fn resolve(self, root_key: &RootKey) -> Result<ResolvedKey, IamError> {
        let sealed = base64::engine::general_purpose::STANDARD
            .decode(&self.sealed_secret)
            .map_err(|_| berth_core::SealError::BadFormat)?;
        let opened = root_key.open(&seal_context(&self.access_key_id), &sealed)?;
        let secret = Zeroizing::new(String::from_utf8_lossy(&opened).into_owned());
        let principal = match &self.owner {
            KeyOwner::Root | KeyOwner::RootSession => Principal::Root {
                account: self.account_id.clone(),
            },
            KeyOwner::User { name } | KeyOwner::UserSession { name, .. } => {
                // The user's id and path are filled in by the caller from the user record;
                // a key whose user is gone resolves to nothing (see `Iam::resolve_access_key`).
                Principal::User {
                    account: self.account_id.clone(),
                    name: name.clone(),
                    id: String::new(),
                    path: "/".into(),
                }
            }
            KeyOwner::Federated {
                user_name, name, ..
            } => Principal::FederatedUser {
                account: self.account_id.clone(),
                user_name: user_name.clone(),
                name: name.clone(),
                session_key_id: self.access_key_id.clone(),
            },
            KeyOwner::Session(s) => Principal::AssumedRole {
                account: self.account_id.clone(),
                role_name: s.role_name.clone(),
                role_id: s.role_id.clone(),
                role_path: s.role_path.clone(),
                session_name: s.session_name.clone(),
                session_key_id: self.access_key_id.clone(),
            },
        };
        Ok(ResolvedKey {
            owner: self.owner,
            access_key_id: self.access_key_id,
            principal,
            secret,
            status: self.status,
            expires_at: self.expires_at,
            session_token_sha256: self.session_token_sha256,
            identity: None,
        })
    }
}
