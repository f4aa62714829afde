//! Grants: a key's delegations of some of its operations to one grantee principal, with an
//! optional retiring principal and encryption-context constraints.
//!
//! A grant lives at `{account}/{region}/{key_id}/{grant_id}` in [`GRANTS`]. Its token names
//! that place (base64url of the place and a random nonce): every CreateGrant answers a new
//! token, and all tokens of one grant work alike. Grants are immediately consistent in berth,
//! so a token is only ever needed to name a grant for RetireGrant.

use base64::Engine;
use berth_store::{StoreExt, get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};

use crate::{EncryptionContext, Key, Kms, KmsError, Page, paginate};

/// Table of grants: `{account}/{region}/{key_id}/{grant_id}`.
pub const GRANTS: &str = "kms_grants";
/// Most grants on one key (AWS's "Grants per KMS key" quota).
pub const MAX_GRANTS_PER_KEY: usize = 50_000;

const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The operations a grant may allow, as the model's `GrantOperation` enum names them.
pub const GRANT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
    "Encapsulate",
    "Decapsulate",
];

/// A grant's encryption-context constraints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantConstraints {
    pub subset: Option<EncryptionContext>,
    pub equals: Option<EncryptionContext>,
}

impl GrantConstraints {
    /// Whether a request with `context` meets the constraints: every pair of `subset` is in
    /// it, and it is exactly `equals`.
    pub fn allow(&self, context: &EncryptionContext) -> bool {
        let subset_ok = self
            .subset
            .as_ref()
            .is_none_or(|s| s.iter().all(|(k, v)| context.get(k) == Some(v)));
        let equals_ok = self.equals.as_ref().is_none_or(|e| e == context);
        subset_ok && equals_ok
    }

    pub fn is_empty(&self) -> bool {
        self.subset.is_none() && self.equals.is_none()
    }
}

/// A grant on a key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub grant_id: String,
    pub key_id: String,
    pub key_arn: String,
    pub account: String,
    pub region: String,
    pub name: Option<String>,
    /// `GranteePrincipal` (an ARN) or, for a service, `GranteeServicePrincipal`.
    pub grantee: String,
    #[serde(default)]
    pub grantee_is_service: bool,
    pub retiring: Option<String>,
    #[serde(default)]
    pub retiring_is_service: bool,
    /// `arn:aws:iam::A:root` of the account the grant was created in.
    pub issuing_account: String,
    pub operations: Vec<String>,
    pub constraints: GrantConstraints,
    pub created: u64,
}

impl Grant {
    /// Whether the grant allows `operation` (`Decrypt`, not `kms:Decrypt`) with `context`.
    /// The constraints do not apply to DescribeKey and RetireGrant (AWS's rule).
    pub fn allows(&self, operation: &str, context: &EncryptionContext) -> bool {
        self.operations.iter().any(|o| o == operation)
            && (matches!(operation, "DescribeKey" | "RetireGrant")
                || self.constraints.allow(context))
    }

    /// Whether a grant made through this one's CreateGrant may carry `constraints`: at least
    /// as strict as this grant's (every pair this grant requires, the child requires too).
    pub fn admits_child(&self, child: &GrantConstraints) -> bool {
        let covers = |parent: &EncryptionContext, c: &EncryptionContext| {
            parent.iter().all(|(k, v)| c.get(k) == Some(v))
        };
        let child_any = |parent: &EncryptionContext| {
            child.equals.as_ref().is_some_and(|e| covers(parent, e))
                || child.subset.as_ref().is_some_and(|s| covers(parent, s))
        };
        let subset_ok = self.constraints.subset.as_ref().is_none_or(child_any);
        let equals_ok = self
            .constraints
            .equals
            .as_ref()
            .is_none_or(|e| child.equals.as_ref() == Some(e));
        subset_ok && equals_ok
    }

    fn place(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.account, self.region, self.key_id, self.grant_id
        )
    }
}

/// What CreateGrant asks for.
#[derive(Debug, Clone, Default)]
pub struct NewGrant {
    pub name: Option<String>,
    pub grantee: String,
    pub grantee_is_service: bool,
    pub retiring: Option<String>,
    pub retiring_is_service: bool,
    pub operations: Vec<String>,
    pub constraints: GrantConstraints,
}

/// A token naming the grant: base64url of its place and a random nonce.
fn token_for(grant: &Grant) -> String {
    let mut nonce = [0u8; 16];
    berth_core::ids::random_bytes(&mut nonce);
    let nonce: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    B64URL.encode(format!("{}#{nonce}", grant.place()))
}

/// The place a token names, or `InvalidGrantToken`.
fn place_of_token(token: &str) -> Result<String, KmsError> {
    let invalid = || KmsError::InvalidGrantToken("Invalid grant token".into());
    let raw = B64URL
        .decode(token.trim_end_matches('='))
        .map_err(|_| invalid())?;
    let text = String::from_utf8(raw).map_err(|_| invalid())?;
    let (place, _nonce) = text.split_once('#').ok_or_else(invalid)?;
    if place.split('/').count() != 4 {
        return Err(invalid());
    }
    Ok(place.to_string())
}

fn new_grant_id() -> String {
    let mut b = [0u8; 32];
    berth_core::ids::random_bytes(&mut b);
    b.iter().map(|b| format!("{b:02x}")).collect()
}

impl Kms<'_> {
    /// CreateGrant on `key`: a new grant, or with a `name` that an identical grant of the key
    /// already carries, that grant; either way with a fresh token.
    pub fn create_grant(
        &self,
        key: &Key,
        new: NewGrant,
        now: u64,
    ) -> Result<(Grant, String), KmsError> {
        let prefix = format!("{}/{}/{}/", key.account, key.region, key.key_id);
        let fresh = Grant {
            grant_id: new_grant_id(),
            key_id: key.key_id.clone(),
            key_arn: key.arn.clone(),
            account: key.account.clone(),
            region: key.region.clone(),
            name: new.name,
            grantee: new.grantee,
            grantee_is_service: new.grantee_is_service,
            retiring: new.retiring,
            retiring_is_service: new.retiring_is_service,
            issuing_account: format!("arn:aws:iam::{}:root", key.account),
            operations: new.operations,
            constraints: new.constraints,
            created: now,
        };
        let grant = self.store.write(|tx| -> Result<Grant, KmsError> {
            let existing: Vec<(String, Grant)> = scan_json(tx, GRANTS, &prefix)?;
            if fresh.name.is_some()
                && let Some((_, same)) = existing.iter().find(|(_, g)| {
                    g.name == fresh.name
                        && g.grantee == fresh.grantee
                        && g.grantee_is_service == fresh.grantee_is_service
                        && g.retiring == fresh.retiring
                        && g.operations == fresh.operations
                        && g.constraints == fresh.constraints
                })
            {
                return Ok(same.clone());
            }
            if existing.len() >= MAX_GRANTS_PER_KEY {
                return Err(KmsError::LimitExceeded(format!(
                    "The request was rejected because a quota was exceeded: grants per KMS key ({MAX_GRANTS_PER_KEY})"
                )));
            }
            put_json(tx, GRANTS, &fresh.place(), &fresh)?;
            Ok(fresh.clone())
        })?;
        let token = token_for(&grant);
        Ok((grant, token))
    }

    /// The grants of `key`, in grant-id order.
    pub fn grants_of(&self, key: &Key) -> Result<Vec<Grant>, KmsError> {
        let prefix = format!("{}/{}/{}/", key.account, key.region, key.key_id);
        let all: Vec<(String, Grant)> = self.store.read(|tx| scan_json(tx, GRANTS, &prefix))?;
        Ok(all.into_iter().map(|(_, g)| g).collect())
    }

    /// ListGrants: the key's grants, optionally one grant or one grantee's.
    pub fn list_grants(
        &self,
        key: &Key,
        grant_id: Option<&str>,
        grantee: Option<&str>,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Grant>, KmsError> {
        let grants: Vec<Grant> = self
            .grants_of(key)?
            .into_iter()
            .filter(|g| grant_id.is_none_or(|id| g.grant_id == id))
            .filter(|g| grantee.is_none_or(|p| g.grantee == p))
            .collect();
        paginate(grants, |g| g.grant_id.clone(), limit, marker)
    }

    /// ListRetirableGrants: the grants of every key, in every account of this store, in
    /// `region` whose retiring principal is `retiring`.
    pub fn list_retirable_grants(
        &self,
        region: &str,
        retiring: &str,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<Grant>, KmsError> {
        let all: Vec<(String, Grant)> = self.store.read(|tx| scan_json(tx, GRANTS, ""))?;
        let grants: Vec<Grant> = all
            .into_iter()
            .map(|(_, g)| g)
            .filter(|g| g.region == region && g.retiring.as_deref() == Some(retiring))
            .collect();
        paginate(grants, |g| g.place(), limit, marker)
    }

    /// The grant a token names.
    pub fn grant_by_token(&self, token: &str) -> Result<Grant, KmsError> {
        let place = place_of_token(token)?;
        self.store
            .read(|tx| get_json::<Grant>(tx, GRANTS, &place))?
            .ok_or_else(|| KmsError::NotFound("Grant does not exist".into()))
    }

    /// The grant `grant_id` of `key`, or `NotFound` (AWS's text is not known to berth).
    pub fn grant(&self, key: &Key, grant_id: &str) -> Result<Grant, KmsError> {
        let place = format!("{}/{}/{}/{grant_id}", key.account, key.region, key.key_id);
        self.store
            .read(|tx| get_json::<Grant>(tx, GRANTS, &place))?
            .ok_or_else(|| KmsError::NotFound(format!("Grant ID {grant_id} not found")))
    }

    /// RetireGrant / RevokeGrant: the grant is gone.
    pub fn delete_grant(&self, grant: &Grant) -> Result<(), KmsError> {
        self.store.write(|tx| {
            tx.delete(GRANTS, &grant.place())?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn constraints_subset_and_equals() {
        let ctx = |pairs: &[(&str, &str)]| -> EncryptionContext {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let sub = GrantConstraints {
            subset: Some(ctx(&[("a", "1")])),
            equals: None,
        };
        assert!(sub.allow(&ctx(&[("a", "1"), ("b", "2")])));
        assert!(!sub.allow(&ctx(&[("a", "2")])));
        assert!(!sub.allow(&ctx(&[])));
        let eq = GrantConstraints {
            subset: None,
            equals: Some(ctx(&[("a", "1")])),
        };
        assert!(eq.allow(&ctx(&[("a", "1")])));
        assert!(!eq.allow(&ctx(&[("a", "1"), ("b", "2")])));
        assert!(GrantConstraints::default().allow(&ctx(&[("x", "y")])));
        let parent = Grant {
            constraints: sub.clone(),
            ..sample()
        };
        assert!(parent.admits_child(&sub));
        assert!(parent.admits_child(&GrantConstraints {
            subset: None,
            equals: Some(ctx(&[("a", "1"), ("b", "2")])),
        }));
        assert!(!parent.admits_child(&GrantConstraints::default()));
        assert!(parent.allows("DescribeKey", &ctx(&[])));
        assert!(!parent.allows("Decrypt", &ctx(&[])));
        assert!(!parent.allows("Encrypt", &ctx(&[("a", "1")])));
    }

    fn sample() -> Grant {
        Grant {
            grant_id: "ab".into(),
            key_id: "k".into(),
            key_arn: "arn".into(),
            account: "111122223333".into(),
            region: "us-east-1".into(),
            name: None,
            grantee: "p".into(),
            grantee_is_service: false,
            retiring: None,
            retiring_is_service: false,
            issuing_account: "arn:aws:iam::111122223333:root".into(),
            operations: vec!["Decrypt".into(), "DescribeKey".into()],
            constraints: GrantConstraints::default(),
            created: 0,
        }
    }

    #[test]
    fn tokens_name_their_grant() {
        let g = sample();
        let t1 = token_for(&g);
        let t2 = token_for(&g);
        assert_ne!(t1, t2);
        assert_eq!(place_of_token(&t1).unwrap(), g.place());
        assert!(place_of_token("!!!").is_err());
        assert!(place_of_token(&B64URL.encode("no-hash")).is_err());
    }
}
