//! Console passwords: a user's login profile, the account's password policy, ChangePassword,
//! and the password sign-in the console asks.
//!
//! Invariant: a password is kept only as a slow salted hash (Argon2id, a 16-byte salt from the
//! operating system's generator); it is never stored, returned or logged in the clear.

use argon2::{Algorithm, Argon2, Params, Version};
use berth_store::{StoreExt, Tx, get_json, put_json};
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::cred_error::CredError;
use crate::policies;
use crate::{Iam, IamError, User};

/// Store table of login profiles, keyed by `{account}/{user id}` (a renamed user keeps it).
pub(crate) const LOGIN_PROFILES: &str = "iam_login_profiles";
/// Store table of custom password policies, keyed by account.
const PASSWORD_POLICIES: &str = "iam_password_policies";

/// Argon2id's cost: OWASP's minimum for Argon2id (19 MiB, two passes, one lane).
const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_PASSES: u32 = 2;
const ARGON2_LANES: u32 = 1;
const HASH_LEN: usize = 32;

/// A password as stored: Argon2id's output with its salt and cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasswordHash {
    /// hex of the 16-byte salt.
    salt: String,
    /// hex of the 32-byte hash.
    hash: String,
    m: u32,
    t: u32,
    p: u32,
}

impl PasswordHash {
    pub(crate) fn new(password: &str) -> PasswordHash {
        let mut salt = [0u8; 16];
        berth_core::ids::random_bytes(&mut salt);
        let hash = derive(
            password,
            &salt,
            ARGON2_MEMORY_KIB,
            ARGON2_PASSES,
            ARGON2_LANES,
        )
        .unwrap_or_default();
        PasswordHash {
            salt: hex::encode(salt),
            hash: hex::encode(hash),
            m: ARGON2_MEMORY_KIB,
            t: ARGON2_PASSES,
            p: ARGON2_LANES,
        }
    }

    /// Whether `password` is the one hashed (the comparison takes constant time).
    pub(crate) fn verify(&self, password: &str) -> bool {
        let (Ok(salt), Ok(expected)) = (hex::decode(&self.salt), hex::decode(&self.hash)) else {
            return false;
        };
        match derive(password, &salt, self.m, self.t, self.p) {
            Some(got) => !expected.is_empty() && bool::from(got.as_slice().ct_eq(&expected)),
            None => false,
        }
    }
}

fn derive(password: &str, salt: &[u8], m: u32, t: u32, p: u32) -> Option<Vec<u8>> {
    let params = Params::new(m, t, p, Some(HASH_LEN)).ok()?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    let mut out = vec![0u8; HASH_LEN];
    argon
        .hash_password_into(password.as_bytes(), salt, &mut out)
        .ok()?;
    Some(out)
}

/// A user's console password as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredLoginProfile {
    user_id: String,
    created_at: u64,
    password_reset_required: bool,
    password: PasswordHash,
    /// When the password was last set (creation, UpdateLoginProfile, ChangePassword).
    changed_at: u64,
    /// The hashes of the passwords before this one, newest first (for `PasswordReusePrevention`;
    /// at most 24 kept).
    #[serde(default)]
    previous: Vec<PasswordHash>,
}

/// A login profile as the API shows it (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginProfile {
    pub user_name: String,
    pub created_at: u64,
    pub password_reset_required: bool,
}

/// The account's password policy, with the model's member names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordPolicy {
    pub minimum_password_length: u32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    /// Days a password lasts; `None` (0 given): passwords do not expire.
    pub max_password_age: Option<u32>,
    /// How many previous passwords a user may not reuse; `None` (0 given): no prevention.
    pub password_reuse_prevention: Option<u32>,
    pub hard_expiry: Option<bool>,
}

impl Default for PasswordPolicy {
    /// What UpdateAccountPasswordPolicy sets for every member it is not given.
    fn default() -> Self {
        PasswordPolicy {
            minimum_password_length: 6,
            require_symbols: false,
            require_numbers: false,
            require_uppercase_characters: false,
            require_lowercase_characters: false,
            allow_users_to_change_password: false,
            max_password_age: None,
            password_reuse_prevention: None,
            hard_expiry: None,
        }
    }
}

impl PasswordPolicy {
    /// `ExpirePasswords`: whether passwords have a maximum age.
    pub fn expire_passwords(&self) -> bool {
        self.max_password_age.is_some()
    }
}

/// The symbols IAM's password policy counts: `! @ # $ % ^ & * ( ) _ + - = [ ] { } | '`.
const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";

/// Checks `password` against the account's policy, or, without one, against AWS's default
/// policy (at least 8 characters, at least three of uppercase letters, lowercase letters,
/// numbers and symbols). The first rule broken is reported.
///
/// The texts for the length and the four character classes are AWS's as its console and CLI
/// show them; the default policy's mix rule and the reuse rule use berth's words (AWS's are not
/// confirmed).
pub fn check_password(policy: Option<&PasswordPolicy>, password: &str) -> Result<(), CredError> {
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let number = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    let violation = |m: &str| Err(CredError::PasswordPolicyViolation(m.to_string()));
    let len = password.chars().count();
    let Some(p) = policy else {
        if len < 8 {
            return violation("Password should have a minimum length of 8");
        }
        if [upper, lower, number, symbol]
            .iter()
            .filter(|b| **b)
            .count()
            < 3
        {
            return violation(
                "Password should have at least three of the following character types: uppercase letters, lowercase letters, numbers and symbols",
            );
        }
        return Ok(());
    };
    if len < p.minimum_password_length as usize {
        return violation(&format!(
            "Password should have a minimum length of {}",
            p.minimum_password_length
        ));
    }
    if p.require_uppercase_characters && !upper {
        return violation("Password should have at least one uppercase letter");
    }
    if p.require_lowercase_characters && !lower {
        return violation("Password should have at least one lowercase letter");
    }
    if p.require_numbers && !number {
        return violation("Password should have at least one number");
    }
    if p.require_symbols && !symbol {
        return violation("Password should have at least one symbol");
    }
    Ok(())
}

/// The work of checking a password, for a sign-in that has nothing to check it against (so that
/// timing does not tell an unknown account or user from a wrong password).
pub fn sign_in_decoy(password: &str) {
    PasswordHash::new(password);
}

fn profile_key(account: &str, user_id: &str) -> String {
    format!("{account}/{user_id}")
}

pub(crate) fn policy_of(tx: &dyn Tx, account: &str) -> Result<Option<PasswordPolicy>, IamError> {
    Ok(get_json(tx, PASSWORD_POLICIES, account)?)
}

/// The user's stored login profile, if it has one.
pub(crate) fn stored_profile(
    tx: &dyn Tx,
    account: &str,
    user: &User,
) -> Result<Option<StoredLoginProfile>, IamError> {
    Ok(get_json(
        tx,
        LOGIN_PROFILES,
        &profile_key(account, &user.id),
    )?)
}

/// Refuses a password reused within the policy's `PasswordReusePrevention`.
fn check_reuse(
    policy: Option<&PasswordPolicy>,
    profile: &StoredLoginProfile,
    password: &str,
) -> Result<(), CredError> {
    let Some(n) = policy.and_then(|p| p.password_reuse_prevention) else {
        return Ok(());
    };
    let recent = std::iter::once(&profile.password).chain(profile.previous.iter());
    if recent.take(n as usize).any(|h| h.verify(password)) {
        return Err(CredError::PasswordPolicyViolation(format!(
            "Password should not be one of the previous {n} passwords"
        )));
    }
    Ok(())
}

/// Replaces a profile's password, keeping the old one's hash for reuse prevention.
fn set_password(profile: &mut StoredLoginProfile, password: &str, now: u64) {
    let old = std::mem::replace(&mut profile.password, PasswordHash::new(password));
    profile.previous.insert(0, old);
    profile.previous.truncate(24);
    profile.changed_at = now;
}

/// Who signed in with a password: the user, and the login profile's creation time (a session
/// lasts while that profile does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordSignIn {
    pub user: User,
    pub profile_created_at: u64,
    /// The password must be changed before the user may do anything else.
    pub password_reset_required: bool,
    /// The password is older than the policy's `MaxPasswordAge`.
    pub expired: bool,
}

impl Iam<'_> {
    /// Gives a user a console password.
    pub fn create_login_profile(
        &self,
        account: &str,
        user_name: &str,
        password: &str,
        password_reset_required: bool,
        now: u64,
    ) -> Result<LoginProfile, IamError> {
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            if stored_profile(tx, account, &user)?.is_some() {
                return Err(CredError::LoginProfileExists(user.name.clone()).into());
            }
            check_password(policy_of(tx, account)?.as_ref(), password)?;
            let stored = StoredLoginProfile {
                user_id: user.id.clone(),
                created_at: now,
                password_reset_required,
                password: PasswordHash::new(password),
                changed_at: now,
                previous: Vec::new(),
            };
            put_json(tx, LOGIN_PROFILES, &profile_key(account, &user.id), &stored)?;
            Ok(LoginProfile {
                user_name: user.name,
                created_at: now,
                password_reset_required,
            })
        })
    }

    /// A user's login profile.
    pub fn get_login_profile(
        &self,
        account: &str,
        user_name: &str,
    ) -> Result<LoginProfile, IamError> {
        self.store.read(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let p = stored_profile(tx, account, &user)?
                .ok_or_else(|| CredError::NoSuchLoginProfile(user.name.clone()))?;
            Ok(LoginProfile {
                user_name: user.name,
                created_at: p.created_at,
                password_reset_required: p.password_reset_required,
            })
        })
    }

    /// Sets a new password and/or whether it must be reset at the next sign-in.
    pub fn update_login_profile(
        &self,
        account: &str,
        user_name: &str,
        password: Option<&str>,
        password_reset_required: Option<bool>,
        now: u64,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let mut p = stored_profile(tx, account, &user)?
                .ok_or_else(|| CredError::NoSuchLoginProfile(user.name.clone()))?;
            if let Some(pw) = password {
                let policy = policy_of(tx, account)?;
                check_password(policy.as_ref(), pw)?;
                check_reuse(policy.as_ref(), &p, pw)?;
                set_password(&mut p, pw, now);
            }
            if let Some(r) = password_reset_required {
                p.password_reset_required = r;
            }
            put_json(tx, LOGIN_PROFILES, &profile_key(account, &user.id), &p)?;
            Ok(())
        })
    }

    /// Removes a user's console password.
    pub fn delete_login_profile(&self, account: &str, user_name: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            if stored_profile(tx, account, &user)?.is_none() {
                return Err(CredError::NoSuchLoginProfile(user.name).into());
            }
            tx.delete(LOGIN_PROFILES, &profile_key(account, &user.id))?;
            Ok(())
        })
    }

    /// A user changes its own password: the old one must match and the new one pass the
    /// policy. Clears `PasswordResetRequired`. (Whether the user may is authorisation's
    /// question.)
    pub fn change_password(
        &self,
        account: &str,
        user_name: &str,
        old_password: &str,
        new_password: &str,
        now: u64,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            let user: User = policies::load(tx, account, user_name)?;
            let mut p = stored_profile(tx, account, &user)?
                .ok_or_else(|| CredError::NoSuchLoginProfile(user.name.clone()))?;
            let policy = policy_of(tx, account)?;
            if !p.password.verify(old_password) {
                return Err(CredError::WrongOldPassword.into());
            }
            check_password(policy.as_ref(), new_password)?;
            check_reuse(policy.as_ref(), &p, new_password)?;
            set_password(&mut p, new_password, now);
            p.password_reset_required = false;
            put_json(tx, LOGIN_PROFILES, &profile_key(account, &user.id), &p)?;
            Ok(())
        })
    }

    /// The account's custom password policy.
    pub fn get_account_password_policy(&self, account: &str) -> Result<PasswordPolicy, IamError> {
        self.store.read(|tx| {
            policy_of(tx, account)?
                .ok_or_else(|| CredError::NoPasswordPolicy(account.to_string()).into())
        })
    }

    /// Sets (replaces) the account's password policy.
    pub fn update_account_password_policy(
        &self,
        account: &str,
        policy: &PasswordPolicy,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            put_json(tx, PASSWORD_POLICIES, account, policy)?;
            Ok(())
        })
    }

    /// Removes the account's password policy (AWS's default policy applies again).
    pub fn delete_account_password_policy(&self, account: &str) -> Result<(), IamError> {
        self.store.write(|tx| {
            if policy_of(tx, account)?.is_none() {
                return Err(CredError::NoPasswordPolicy(account.to_string()).into());
            }
            tx.delete(PASSWORD_POLICIES, account)?;
            Ok(())
        })
    }

    /// The console's password sign-in: the user and its password, checked in constant time.
    /// `None` when the user, its login profile or the password is not right (the caller does
    /// not learn which).
    pub fn password_sign_in(
        &self,
        account: &str,
        user_name: &str,
        password: &str,
        now: u64,
    ) -> Result<Option<PasswordSignIn>, IamError> {
        let found = self.store.read(|tx| {
            let user: User = match policies::load(tx, account, user_name) {
                Ok(u) => u,
                Err(IamError::NoSuchUser(_) | IamError::InvalidName(_)) => return Ok(None),
                Err(e) => return Err(e),
            };
            let profile = stored_profile(tx, account, &user)?;
            Ok(profile.map(|p| (user, p, policy_of(tx, account))))
        })?;
        let Some((user, profile, policy)) = found else {
            sign_in_decoy(password);
            return Ok(None);
        };
        if !profile.password.verify(password) {
            return Ok(None);
        }
        let expired = policy?
            .and_then(|p| p.max_password_age)
            .is_some_and(|days| now >= profile.changed_at + u64::from(days) * 86_400);
        Ok(Some(PasswordSignIn {
            user,
            profile_created_at: profile.created_at,
            password_reset_required: profile.password_reset_required,
            expired,
        }))
    }

    /// The account a sign-in names: its twelve-digit id, or its alias.
    pub fn account_for_sign_in(&self, account_or_alias: &str) -> Result<Option<String>, IamError> {
        if berth_core::ids::is_account_id(account_or_alias) {
            return Ok(self.account(account_or_alias)?.map(|a| a.id));
        }
        self.store.read(|tx| {
            Ok(get_json::<String>(
                tx,
                crate::account::ALIASES,
                &account_or_alias.to_ascii_lowercase(),
            )?)
        })
    }

    /// The user of a password session while its login profile is the one signed in with.
    pub fn login_session_user(
        &self,
        account: &str,
        user_id: &str,
        profile_created_at: u64,
    ) -> Result<Option<User>, IamError> {
        self.store.read(|tx| {
            let p: Option<StoredLoginProfile> =
                get_json(tx, LOGIN_PROFILES, &profile_key(account, user_id))?;
            if p.is_none_or(|p| p.created_at != profile_created_at) {
                return Ok(None);
            }
            let users = berth_store::scan_json::<User>(
                tx,
                crate::entity::USERS,
                &crate::entity::account_prefix(account),
            )?;
            Ok(users.into_iter().map(|(_, u)| u).find(|u| u.id == user_id))
        })
    }
}

/// When the user's password was last set, if it has one (for the credential report).
pub(crate) fn password_changed_at(
    tx: &dyn Tx,
    account: &str,
    user: &User,
) -> Result<Option<u64>, IamError> {
    Ok(stored_profile(tx, account, user)?.map(|p| p.changed_at))
}

/// Refuses to delete a user that still has a console password.
pub(crate) fn check_none_left(tx: &dyn Tx, account: &str, user: &User) -> Result<(), IamError> {
    if stored_profile(tx, account, user)?.is_some() {
        return Err(CredError::LoginProfileLeft.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::NewUser;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";

    #[test]
    fn hashes_verify_only_their_password() {
        let h = PasswordHash::new("Correct-Horse-1");
        assert!(h.verify("Correct-Horse-1"));
        assert!(!h.verify("correct-horse-1"));
        assert_ne!(h.hash, hex::encode("Correct-Horse-1"));
        // A fresh salt each time.
        assert_ne!(PasswordHash::new("x").salt, PasswordHash::new("x").salt);
    }

    #[test]
    fn policy_rules_in_order() {
        let p = PasswordPolicy {
            minimum_password_length: 10,
            require_uppercase_characters: true,
            require_numbers: true,
            require_symbols: true,
            ..PasswordPolicy::default()
        };
        let msg = |pw: &str| match check_password(Some(&p), pw) {
            Err(CredError::PasswordPolicyViolation(m)) => m,
            other => format!("{other:?}"),
        };
        assert_eq!(msg("short"), "Password should have a minimum length of 10");
        assert_eq!(
            msg("alllowercase1!"),
            "Password should have at least one uppercase letter"
        );
        assert_eq!(
            msg("NoNumbersHere!"),
            "Password should have at least one number"
        );
        assert_eq!(
            msg("NoSymbols123"),
            "Password should have at least one symbol"
        );
        assert!(check_password(Some(&p), "Good-Password-1").is_ok());
        // AWS's default policy: 8 characters, three kinds.
        assert!(check_password(None, "abcdefg1").is_err());
        assert!(check_password(None, "Abcdefg1").is_ok());
        assert!(check_password(None, "Ab1!").is_err());
    }

    #[test]
    fn login_profile_lifecycle_and_sign_in() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let u = iam.create_user(A, NewUser::named("ann"), 1).unwrap();
        let p = iam
            .create_login_profile(A, "ANN", "Passw0rd!", true, 5)
            .unwrap();
        assert_eq!(p.user_name, "ann");
        assert!(matches!(
            iam.create_login_profile(A, "ann", "Passw0rd!", false, 6),
            Err(IamError::Cred(CredError::LoginProfileExists(_)))
        ));
        assert!(matches!(
            iam.delete_user(A, "ann"),
            Err(IamError::Cred(CredError::LoginProfileLeft))
        ));
        let s = iam
            .password_sign_in(A, "ann", "Passw0rd!", 7)
            .unwrap()
            .unwrap();
        assert!(s.password_reset_required);
        assert_eq!(s.user.id, u.id);
        assert!(
            iam.password_sign_in(A, "ann", "wrong", 7)
                .unwrap()
                .is_none()
        );
        assert!(
            iam.password_sign_in(A, "nobody", "Passw0rd!", 7)
                .unwrap()
                .is_none()
        );
        // The stored record holds no password.
        let raw = store
            .read(|tx| tx.get(LOGIN_PROFILES, &profile_key(A, &u.id)))
            .unwrap()
            .unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains("Passw0rd"));

        iam.change_password(A, "ann", "Passw0rd!", "N3w-Password", 8)
            .unwrap();
        assert!(
            !iam.get_login_profile(A, "ann")
                .unwrap()
                .password_reset_required
        );
        assert!(matches!(
            iam.change_password(A, "ann", "Passw0rd!", "Other-Pass-1", 9),
            Err(IamError::Cred(CredError::WrongOldPassword))
        ));
        iam.update_account_password_policy(
            A,
            &PasswordPolicy {
                password_reuse_prevention: Some(2),
                allow_users_to_change_password: true,
                ..PasswordPolicy::default()
            },
        )
        .unwrap();
        assert!(matches!(
            iam.change_password(A, "ann", "N3w-Password", "Passw0rd!", 9),
            Err(IamError::Cred(CredError::PasswordPolicyViolation(_)))
        ));
        assert!(
            iam.login_session_user(A, &u.id, 5)
                .unwrap()
                .is_some_and(|x| x.name == "ann")
        );
        iam.delete_login_profile(A, "ann").unwrap();
        assert!(iam.login_session_user(A, &u.id, 5).unwrap().is_none());
        iam.delete_user(A, "ann").unwrap();
        iam.delete_account_password_policy(A).unwrap();
        assert!(matches!(
            iam.get_account_password_policy(A),
            Err(IamError::Cred(CredError::NoPasswordPolicy(_)))
        ));
    }
}
