//! berth-iam: who is calling.
//!
//! Accounts, the principals that live in them, and the access keys that prove a request comes
//! from one of them; IAM users, roles and their policies (`users`, `roles`, `policies`), and
//! what the authoriser and STS need of them. Plain Rust over the [`berth_store::Store`] trait: no HTTP, no clock (the
//! caller passes `now` as Unix seconds), no files.
//!
//! Invariant: a secret access key is stored only sealed under the [`berth_core::RootKey`], with
//! the access key id as associated data; it is opened only to verify a signature.
//! A console password or a service-specific credential's password is kept only as an Argon2id
//! hash; an MFA seed and a server certificate's private key only sealed under the root key.

pub mod access;
mod account;
pub mod authz;
mod catalogue;
mod certs;
mod cred_error;
mod details;
mod entity;
mod error;
mod groups;
mod instance_profiles;
mod keys;
mod login;
mod mfa;
pub mod oidc;
mod policies;
mod principal;
mod report;
mod roles;
pub mod saml;
mod service_linked;
pub mod simulate;
pub mod sts;
pub mod user_sessions;
mod users;
pub mod web_identity;

pub use catalogue::{ECS_TASK_EXECUTION_ROLE_POLICY_ARN, aws_managed_policies, aws_managed_policy};
pub use certs::{
    CREDENTIAL_SERVICES, NewServerCertificate, ServerCertificate, ServiceSpecificCredential,
    SigningCertificate, SshEncoding, SshPublicKey,
};
pub use cred_error::CredError;
pub use details::{AuthorizationDetail, DetailsFilter};
pub use entity::{ListOptions, MAX_TAGS, NameField, Page, Tag};
pub use error::{DeleteConflict, IamError};
pub use groups::{GROUP_INLINE_POLICIES_MAX, GROUPS_PER_USER, Group};
pub use instance_profiles::page_in_order as page_of;
pub use instance_profiles::{InstanceProfile, InstanceProfileInfo, ROLES_PER_INSTANCE_PROFILE};
pub use keys::{
    AccessKeyRecord, KeyOwner, KeyStatus, NewCredentials, ResolvedKey, SessionInfo, token_digest,
};
pub use login::{LoginProfile, PasswordPolicy, PasswordSignIn, check_password, sign_in_decoy};
pub use mfa::{MfaDevice, NewVirtualMfa, SessionMfa, VirtualMfaDevice, totp};
pub use policies::{
    AttachedPolicy, EntityKind, InlinePolicy, MANAGED_POLICY_MAX, MAX_ATTACHED,
    MAX_POLICY_VERSIONS, ManagedPolicy, NewPolicy, PolicyEntity, PolicyFilter, PolicyInfo,
    PolicyScope, PolicyUsage, PolicyVersion, StoredVersion,
};
pub use principal::{CallerIdentity, Principal};
pub use report::{CredentialReport, REPORT_FRESH_SECS, ReportState};
pub use roles::{
    DEFAULT_MAX_SESSION_DURATION, NewRole, ROLE_INLINE_POLICIES_MAX, Role, TRUST_POLICY_MAX,
};
pub use service_linked::{DeletionStatus, linked_role_name};
pub use users::{
    ACCESS_KEYS_PER_USER, AccessKeyInfo, CreatedAccessKey, KeyHolder, NewUser,
    USER_INLINE_POLICIES_MAX, User,
};

use berth_core::RootKey;
use berth_store::{Store, StoreExt, get_json, put_json};
use serde::{Deserialize, Serialize};

/// Store table of accounts, keyed by account id.
pub(crate) const ACCOUNTS: &str = "accounts";

/// An AWS account: a namespace of its own, with its own root credentials.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Account {
    pub id: String,
    pub created_at: u64,
}

/// Refuses an account id that is not twelve digits.
fn check_account_id(id: &str) -> Result<(), IamError> {
    if berth_core::ids::is_account_id(id) {
        Ok(())
    } else {
        Err(IamError::InvalidAccountId(id.to_string()))
    }
}

/// Records a new account.
fn put_account(tx: &dyn berth_store::Tx, id: &str, now: u64) -> Result<(), IamError> {
    let account = Account {
        id: id.to_string(),
        created_at: now,
    };
    Ok(put_json(tx, ACCOUNTS, id, &account)?)
}

/// The identity service: accounts and their keys.
pub struct Iam<'a> {
    store: &'a dyn Store,
    root_key: &'a RootKey,
}

impl<'a> Iam<'a> {
    pub fn new(store: &'a dyn Store, root_key: &'a RootKey) -> Iam<'a> {
        Iam { store, root_key }
    }

    /// The account, if it exists.
    pub fn account(&self, id: &str) -> Result<Option<Account>, IamError> {
        self.store.read(|tx| Ok(get_json(tx, ACCOUNTS, id)?))
    }

    /// Creates an account with a fresh root access key; fails if it exists.
    pub fn create_account(&self, id: &str, now: u64) -> Result<NewCredentials, IamError> {
        check_account_id(id)?;
        let creds = NewCredentials::generate(id, "AKIA");
        self.store.write(|tx| {
            if get_json::<Account>(tx, ACCOUNTS, id)?.is_some() {
                return Err(IamError::AccountExists(id.to_string()));
            }
            put_account(tx, id, now)?;
            keys::insert(tx, self.root_key, &creds, KeyOwner::Root, now, None)
        })?;
        Ok(creds)
    }

    /// Makes sure the account exists and that `access_key_id`/`secret` is one of its root keys
    /// (used for credentials given through the environment). A key id that belongs elsewhere
    /// is refused.
    pub fn ensure_root_key(
        &self,
        id: &str,
        access_key_id: &str,
        secret: &str,
        now: u64,
    ) -> Result<(), IamError> {
        check_account_id(id)?;
        let creds = NewCredentials {
            account_id: id.to_string(),
            access_key_id: access_key_id.to_string(),
            secret_access_key: zeroize::Zeroizing::new(secret.to_string()),
        };
        self.store.write(|tx| {
            if get_json::<Account>(tx, ACCOUNTS, id)?.is_none() {
                put_account(tx, id, now)?;
            }
            let existing = get_json::<AccessKeyRecord>(tx, keys::TABLE, access_key_id)?;
            if existing.is_some_and(|e| e.account_id != id || e.owner != KeyOwner::Root) {
                return Err(IamError::AccessKeyInUse(access_key_id.to_string()));
            }
            keys::insert(tx, self.root_key, &creds, KeyOwner::Root, now, None)
        })
    }

    /// Whether the root key opens what this store sealed under a root key, tried on one stored
    /// access key's secret: `Some(true)` when it opens, `Some(false)` when it does not (the
    /// data was sealed under another key), `None` when the store holds no access key.
    pub fn root_key_opens_stored_keys(&self) -> Result<Option<bool>, IamError> {
        let record = self.store.read(|tx| {
            let Some((id, _)) = tx
                .scan_range(keys::TABLE, "", None, false, 1)?
                .into_iter()
                .next()
            else {
                return Ok::<_, IamError>(None);
            };
            Ok(get_json::<AccessKeyRecord>(tx, keys::TABLE, &id)?)
        })?;
        match record.map(|r| r.resolve(self.root_key)) {
            None => Ok(None),
            Some(Ok(_)) => Ok(Some(true)),
            Some(Err(IamError::Seal(_))) => Ok(Some(false)),
            Some(Err(e)) => Err(e),
        }
    }

    /// Root access key ids of an account.
    pub fn root_key_ids(&self, account_id: &str) -> Result<Vec<String>, IamError> {
        self.store
            .read(|tx| keys::ids_of(tx, account_id, &KeyOwner::Root))
    }

    /// Runs `f` in one read transaction of the identity store.
    pub(crate) fn store_read<T>(
        &self,
        f: impl FnOnce(&dyn berth_store::Tx) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        self.store.read(f)
    }

    /// Runs `f` in one write transaction of the identity store.
    pub(crate) fn store_write<T>(
        &self,
        f: impl FnOnce(&dyn berth_store::Tx) -> Result<T, IamError>,
    ) -> Result<T, IamError> {
        self.store.write(f)
    }

    /// Looks up an access key and opens its secret, for signature verification. A user's key
    /// carries the user's id and path from the user record; a key whose user no longer exists
    /// resolves to nothing.
    ///
    /// For a user's key the user's identity policy documents come with it (`identity`), read
    /// from the same user record in the same transaction, so that a request decodes the record
    /// once.
    pub fn resolve_access_key(&self, access_key_id: &str) -> Result<Option<ResolvedKey>, IamError> {
        type Who = (String, String, String, String, authz::IdentityDocuments);
        type Found = (AccessKeyRecord, Option<Who>);
        let found: Option<Found> = self.store.read(|tx| {
            let Some(record) = get_json::<AccessKeyRecord>(tx, keys::TABLE, access_key_id)? else {
                return Ok::<_, IamError>(None);
            };
            let user = match &record.owner {
                KeyOwner::User { name } | KeyOwner::UserSession { name, .. } => {
                    match get_json::<policies::PolicyHolderView>(
                        tx,
                        entity::USERS,
                        &entity::key(&record.account_id, name),
                    )? {
                        Some(mut u) => {
                            let docs = u.user_documents(tx, &record.account_id, &[])?;
                            Some((u.account, u.name, u.id, u.path, docs))
                        }
                        None => None,
                    }
                }
                _ => None,
            };
            Ok(Some((record, user)))
        })?;
        let Some((record, user)) = found else {
            return Ok(None);
        };
        let is_user_key = matches!(
            record.owner,
            KeyOwner::User { .. } | KeyOwner::UserSession { .. }
        );
        let mut resolved = record.resolve(self.root_key)?;
        if is_user_key {
            let Some((account, name, id, path, docs)) = user else {
                return Ok(None);
            };
            resolved.identity = Some(docs);
            resolved.principal = Principal::User {
                account,
                name,
                id,
                path,
            };
        }
        Ok(Some(resolved))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use berth_store::SqliteStore;

    #[test]
    fn only_the_sealing_root_key_opens_stored_keys() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        assert_eq!(
            Iam::new(&store, &rk).root_key_opens_stored_keys().unwrap(),
            None
        );
        Iam::new(&store, &rk)
            .create_account("111122223333", 10)
            .unwrap();
        assert_eq!(
            Iam::new(&store, &rk).root_key_opens_stored_keys().unwrap(),
            Some(true)
        );
        let other = RootKey::generate();
        assert_eq!(
            Iam::new(&store, &other)
                .root_key_opens_stored_keys()
                .unwrap(),
            Some(false)
        );
    }

    #[test]
    fn create_account_issues_a_working_root_key() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let creds = iam.create_account("111122223333", 10).unwrap();
        assert!(creds.access_key_id.starts_with("AKIA"));
        let resolved = iam
            .resolve_access_key(&creds.access_key_id)
            .unwrap()
            .unwrap();
        assert_eq!(
            resolved.principal,
            Principal::Root {
                account: "111122223333".into()
            }
        );
        assert_eq!(resolved.secret.as_str(), creds.secret_access_key.as_str());
        assert!(matches!(
            iam.create_account("111122223333", 11),
            Err(IamError::AccountExists(_))
        ));
        assert!(matches!(
            iam.create_account("1111", 11),
            Err(IamError::InvalidAccountId(_))
        ));
        assert!(iam.resolve_access_key("AKIANOTTHERE").unwrap().is_none());
    }

    #[test]
    fn secrets_are_sealed_in_the_store() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let creds = iam.create_account("111122223333", 10).unwrap();
        let raw = store
            .read(|tx| tx.get(keys::TABLE, &creds.access_key_id))
            .unwrap()
            .unwrap();
        let text = String::from_utf8_lossy(&raw);
        assert!(!text.contains(creds.secret_access_key.as_str()));
        // Under another root key the secret does not open.
        let other = RootKey::generate();
        assert!(
            Iam::new(&store, &other)
                .resolve_access_key(&creds.access_key_id)
                .is_err()
        );
    }

    #[test]
    fn ensure_root_key_is_idempotent_and_guards_key_ids() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.ensure_root_key("000000000000", "AKIAENVKEY", "s3cret", 1)
            .unwrap();
        iam.ensure_root_key("000000000000", "AKIAENVKEY", "rotated", 2)
            .unwrap();
        let r = iam.resolve_access_key("AKIAENVKEY").unwrap().unwrap();
        assert_eq!(r.secret.as_str(), "rotated");
        assert_eq!(
            iam.root_key_ids("000000000000").unwrap(),
            vec!["AKIAENVKEY".to_string()]
        );
        assert!(matches!(
            iam.ensure_root_key("111122223333", "AKIAENVKEY", "x", 3),
            Err(IamError::AccessKeyInUse(_))
        ));
    }
}
