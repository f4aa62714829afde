//! berth-control: the application. One method per use case, authorisation included.
//!
//! Every use case runs with a [`Ctx`]: the [`Control`] (the store, the root key, the clock), the
//! verified [`Caller`] and the time the request arrived. A use case states its authorisation
//! question as an [`authz::Check`] and asks [`Ctx::authorize`] before it acts; only then does it
//! call the domain crates (`berth-iam`, `berth-kms`, `berth-secrets`, `berth-ecs`), which are
//! plain Rust over the `Store` trait. Failures are [`Error`]s: the wire crate maps them to AWS
//! error codes in one place.
//!
//! The adapters above this crate (the wire crate `berth-api`, the console, the in-process
//! Fargate capacity, `berth doctor`) call these use cases directly; none of them calls another
//! adapter.

pub mod authz;
pub mod console;
pub mod ecs;
pub mod error;
pub mod iam;
pub mod keys;
pub mod kms;
pub mod logs;
pub mod polls;
pub mod secretsmanager;
pub mod ssm;
pub mod sts;
pub mod tags;

use std::cell::OnceCell;
use std::sync::Arc;
use std::time::SystemTime;

use berth_core::RootKey;
use berth_core::ids::Regions;
use berth_iam::{Iam, SessionInfo};
use berth_store::Store;

pub use berth_iam::Principal;
pub use berth_iam::authz::IdentityDocuments;
pub use error::Error;

/// What every use case shares: the store, the root key and the clock.
pub struct Control {
    pub store: Arc<dyn Store>,
    pub root_key: RootKey,
    /// Seconds added to the system clock (negative: subtracted). Zero in normal use; tests set
    /// it to see time pass (credential expiry) without waiting.
    pub clock_offset_secs: i64,
    /// The regions berth answers to (AWS's, and the operator's extra ones): each a namespace; a
    /// request or a console session in any other is refused.
    pub regions: Regions,
    /// The latest attempts of users and role sessions on each action (service last accessed
    /// data).
    pub access: iam::AccessLog,
    /// The OIDC issuers' signing keys, fetched for AssumeRoleWithWebIdentity.
    pub jwks: sts::Jwks,
}

impl Control {
    pub fn new(store: Arc<dyn Store>, root_key: RootKey, clock_offset_secs: i64) -> Control {
        Control {
            store,
            root_key,
            clock_offset_secs,
            regions: Regions::default(),
            access: iam::AccessLog::default(),
            jwks: sts::Jwks::default(),
        }
    }

    /// This control trusting the certificates of `ca_file` (PEM) besides the machine's when it
    /// fetches an OIDC issuer's keys.
    pub fn with_ca_file(self, ca_file: Option<std::path::PathBuf>) -> Control {
        Control {
            jwks: sts::Jwks::new(ca_file),
            ..self
        }
    }

    /// This control answering to `regions`.
    pub fn with_regions(self, regions: Regions) -> Control {
        Control { regions, ..self }
    }

    pub fn iam(&self) -> Iam<'_> {
        Iam::new(self.store.as_ref(), &self.root_key)
    }

    /// berth's notion of now.
    pub fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        let offset = std::time::Duration::from_secs(self.clock_offset_secs.unsigned_abs());
        if self.clock_offset_secs >= 0 {
            now + offset
        } else {
            now - offset
        }
    }

    /// A request context for `caller`, arriving now.
    pub fn ctx<'a>(&'a self, caller: &'a Caller, request_id: &'a str) -> Ctx<'a> {
        Ctx {
            control: self,
            caller,
            request_id,
            now: self.now(),
            identity: OnceCell::new(),
        }
    }
}

/// A verified caller: who signed the request and in which region it acts.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub access_key_id: String,
    /// The region of the credential scope: the namespace the request acts in.
    pub region: String,
    /// For temporary credentials: the role session they carry.
    pub session: Option<SessionInfo>,
    /// The client's address, for `aws:SourceIp`.
    pub source_ip: Option<std::net::IpAddr>,
    /// For temporary credentials opened with an MFA code: when it was checked (Unix seconds),
    /// for `aws:MultiFactorAuthPresent` and `aws:MultiFactorAuthAge`.
    pub mfa_authenticated_at: Option<u64>,
}

/// One request as a use case sees it.
pub struct Ctx<'a> {
    pub control: &'a Control,
    pub caller: &'a Caller,
    pub request_id: &'a str,
    pub now: SystemTime,
    /// The caller's identity policy documents, read once per request on first use (a call that
    /// authorises twice, like GetSecretValue's own check and KMS's as the caller, reads them
    /// once). Lives only as long as the request, so a changed policy applies to the next one.
    pub identity: OnceCell<IdentityDocuments>,
}

impl Ctx<'_> {
    /// The caller's account: the namespace the request acts in (with `caller.region`).
    pub fn account(&self) -> &str {
        self.caller.principal.account()
    }

    /// Seconds since the Unix epoch at the time the request arrived.
    pub fn now_secs(&self) -> u64 {
        berth_core::time::epoch_secs(self.now)
    }

    /// Authorises `action` (e.g. `iam:CreateUser`) on `resource` (an ARN, or `*`) for the
    /// caller, with identity policies only. Every use case calls this (or
    /// [`authz::authorize`] with a fuller [`authz::Check`]) before it acts.
    pub fn authorize(&self, action: &str, resource: &str) -> Result<(), Error> {
        authz::authorize(self, &authz::Check::new(action, resource))
    }
}

/// What the use cases' unit tests share.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod testing {
    use super::*;

    /// A control over a fresh in-memory SQLite store with a new root key.
    pub fn control() -> Control {
        Control::new(
            Arc::new(berth_store::SqliteStore::in_memory().unwrap()),
            RootKey::generate(),
            0,
        )
    }

    /// The IAM user `user` calling with a long-term key in us-east-1.
    pub fn user_caller(user: &berth_iam::User) -> Caller {
        caller(berth_iam::Principal::User {
            account: user.account.clone(),
            name: user.name.clone(),
            id: user.id.clone(),
            path: user.path.clone(),
        })
    }

    /// `principal` calling with a long-term key in us-east-1.
    pub fn caller(principal: berth_iam::Principal) -> Caller {
        Caller {
            principal,
            access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            region: "us-east-1".into(),
            session: None,
            source_ip: None,
            mfa_authenticated_at: None,
        }
    }
}
