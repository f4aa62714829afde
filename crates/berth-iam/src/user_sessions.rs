//! `sts:GetSessionToken`: temporary credentials of an IAM user (or the root user) that act as
//! that user, and `sts:GetAccessKeyInfo`'s look-up of a key's account.

use berth_store::get_json;
use zeroize::Zeroizing;

use crate::keys::{self, AccessKeyRecord, KeyOwner, NewCredentials};
use crate::sts::StsError;
use crate::{Iam, IamError};

/// Shortest session, in seconds.
pub const MIN_DURATION: u32 = 900;
/// Longest session of an IAM user, in seconds (36 hours).
pub const USER_MAX_DURATION: u32 = 129_600;
/// A user's session when no duration is given (12 hours).
pub const USER_DEFAULT_DURATION: u32 = 43_200;
/// The root user's sessions last at most, and by default, one hour.
pub const ROOT_MAX_DURATION: u32 = 3600;

/// The session policy of a federated user given no policy: it allows nothing.
pub const NOTHING: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"*","Resource":"*"}]}"#;

/// Whose session GetSessionToken opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionHolder<'a> {
    Root,
    User(&'a str),
}

/// Temporary credentials of a user session.
pub struct UserSession {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Zeroizing<String>,
    /// Unix seconds.
    pub expiration: u64,
}

/// The session's length: the duration given (the model's 900–129600 already checked) or the
/// default; the root user's is held to one hour, as AWS does, without an error.
pub fn session_duration(holder: SessionHolder<'_>, given: Option<u32>) -> u32 {
    match holder {
        SessionHolder::Root => given.unwrap_or(ROOT_MAX_DURATION).min(ROOT_MAX_DURATION),
        SessionHolder::User(_) => given
            .unwrap_or(USER_DEFAULT_DURATION)
            .clamp(MIN_DURATION, USER_MAX_DURATION),
    }
}

impl Iam<'_> {
    /// Mints temporary credentials for `holder` of `account`, valid for `duration` seconds;
    /// `mfa_authenticated_at` when the user's MFA code was checked for them.
    pub fn issue_user_session(
        &self,
        account: &str,
        holder: SessionHolder<'_>,
        duration: u32,
        mfa_authenticated_at: Option<u64>,
        now: u64,
    ) -> Result<UserSession, StsError> {
        let owner = match holder {
            SessionHolder::Root => KeyOwner::RootSession,
            SessionHolder::User(name) => KeyOwner::UserSession {
                name: name.to_string(),
                mfa_authenticated_at,
            },
        };
        let creds = NewCredentials::generate(account, "ASIA");
        let token = crate::sts::session_token_for(self.root_key, &creds.access_key_id);
        let expiration = now + u64::from(duration);
        self.store_write(|tx| {
            keys::insert(
                tx,
                self.root_key,
                &creds,
                owner.clone(),
                now,
                Some((token.as_str(), expiration)),
            )
        })?;
        Ok(UserSession {
            access_key_id: creds.access_key_id,
            secret_access_key: creds.secret_access_key,
            session_token: token,
            expiration,
        })
    }

    /// Mints a federated user's credentials for the IAM user `user_name` (GetFederationToken),
    /// narrowed by the federation's policies (checked as AssumeRole's session policies are)
    /// and carrying the session `tags` (checked by the caller); with the packed size of the
    /// policies and tags, when some were given.
    #[allow(clippy::too_many_arguments)]
    pub fn issue_federation_session(
        &self,
        account: &str,
        user_name: &str,
        name: &str,
        duration: u32,
        policies: crate::sts::SessionPolicies<'_>,
        tags: Vec<(String, String)>,
        now: u64,
    ) -> Result<(UserSession, Option<u32>), StsError> {
        // The checks and the merge take the policies of this account.
        let scope = crate::sts::RoleInfo {
            account: account.to_string(),
            name: String::new(),
            id: String::new(),
            path: "/".into(),
            trust_policy: String::new(),
            max_session_duration: USER_MAX_DURATION,
        };
        let (policy, packed) = self.session_policy(&scope, policies)?;
        let packed = crate::sts::packed_with_tags(policies, &tags, packed)?;
        let owner = KeyOwner::Federated {
            user_name: user_name.to_string(),
            name: name.to_string(),
            policy,
            tags,
        };
        let creds = NewCredentials::generate(account, "ASIA");
        let token = crate::sts::session_token_for(self.root_key, &creds.access_key_id);
        let expiration = now + u64::from(duration);
        self.store_write(|tx| {
            keys::insert(
                tx,
                self.root_key,
                &creds,
                owner.clone(),
                now,
                Some((token.as_str(), expiration)),
            )
        })?;
        Ok((
            UserSession {
                access_key_id: creds.access_key_id,
                secret_access_key: creds.secret_access_key,
                session_token: token,
                expiration,
            },
            packed,
        ))
    }

    /// The account an access key berth issued belongs to (long-term or temporary, active or
    /// not); `None` for a key berth never issued.
    pub fn access_key_account(&self, access_key_id: &str) -> Result<Option<String>, IamError> {
        self.store_read(|tx| {
            Ok(get_json::<AccessKeyRecord>(tx, keys::TABLE, access_key_id)?.map(|r| r.account_id))
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::NewUser;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    #[test]
    fn the_empty_federation_policy_is_a_valid_session_policy() {
        berth_policy::parse(NOTHING, berth_policy::PolicyKind::Session).unwrap();
    }

    #[test]
    fn durations_as_aws_sets_them() {
        assert_eq!(session_duration(SessionHolder::User("u"), None), 43_200);
        assert_eq!(session_duration(SessionHolder::User("u"), Some(900)), 900);
        assert_eq!(
            session_duration(SessionHolder::User("u"), Some(129_600)),
            129_600
        );
        assert_eq!(session_duration(SessionHolder::Root, None), 3600);
        assert_eq!(session_duration(SessionHolder::Root, Some(7200)), 3600);
        assert_eq!(session_duration(SessionHolder::Root, Some(900)), 900);
    }

    #[test]
    fn a_user_session_acts_as_the_user_and_is_not_one_of_its_keys() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        iam.create_user("111122223333", NewUser::named("ann"), 0)
            .unwrap();
        let s = iam
            .issue_user_session("111122223333", SessionHolder::User("ann"), 900, None, 10)
            .unwrap();
        assert!(s.access_key_id.starts_with("ASIA"));
        assert_eq!(s.expiration, 910);
        let key = iam.resolve_access_key(&s.access_key_id).unwrap().unwrap();
        assert_eq!(key.principal.arn(), "arn:aws:iam::111122223333:user/ann");
        assert_eq!(key.expires_at, Some(910));
        assert_eq!(
            key.session_token_sha256.as_deref(),
            Some(crate::token_digest(&s.session_token).as_str())
        );
        assert!(
            iam.list_access_keys(
                "111122223333",
                crate::KeyHolder::User("ann"),
                crate::ListOptions::default()
            )
            .unwrap()
            .items
            .is_empty()
        );
        assert_eq!(
            iam.access_key_account(&s.access_key_id).unwrap().as_deref(),
            Some("111122223333")
        );
        assert_eq!(iam.access_key_account("AKIANOTISSUEDBYUS").unwrap(), None);
        // The user gone, its sessions are gone with it.
        iam.delete_user("111122223333", "ann").unwrap();
        assert!(iam.resolve_access_key(&s.access_key_id).unwrap().is_none());
    }
}
