//! Multi-Region keys: a primary key (`mrk-` id) and its replicas in other regions share the key
//! id and the key material; each has its own policy, tags, description and state. Which
//! region is primary and which are replicas is one record per key id
//! ([`MULTI_REGION`]); ReplicateKey and UpdatePrimaryRegion change it, and a rotation of the
//! primary's material reaches every replica in the same transaction.

use base64::Engine;
use berth_store::{StoreExt, Tx, get_json, put_json};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::model::OlderMaterial;
use crate::{
    B64, KEYS, Key, KeyManager, KeyState, Kms, KmsError, NewKey, check_tags, load_key,
    material_context, merge_tags, validate_policy,
};

/// Table of multi-Region key sets: `{account}/{key_id}`.
pub const MULTI_REGION: &str = "kms_multi_region";

/// Where a multi-Region key's primary and replicas are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultiRegionSet {
    pub primary: String,
    /// The replicas' regions, in the order they were made.
    pub replicas: Vec<String>,
}

/// A fresh multi-Region key id: `mrk-` and 32 hex digits.
pub fn new_multi_region_key_id() -> String {
    let mut b = [0u8; 16];
    berth_core::ids::random_bytes(&mut b);
    let hex: String = b.iter().map(|b| format!("{b:02x}")).collect();
    format!("mrk-{hex}")
}

fn set_key(account: &str, key_id: &str) -> String {
    format!("{account}/{key_id}")
}

pub(crate) fn record_primary(tx: &dyn Tx, key: &Key) -> Result<(), KmsError> {
    put_json(
        tx,
        MULTI_REGION,
        &set_key(&key.account, &key.key_id),
        &MultiRegionSet {
            primary: key.region.clone(),
            replicas: Vec::new(),
        },
    )?;
    Ok(())
}

fn not_multi_region(k: &Key) -> KmsError {
    // AWS's text is not known to berth.
    KmsError::Unsupported(format!("{} is not a multi-Region key", k.arn))
}

/// The set of `key`, its replicas whose keys are gone left out.
fn set_in(tx: &dyn Tx, key: &Key, now: u64) -> Result<Option<MultiRegionSet>, KmsError> {
    if !key.multi_region {
        return Ok(None);
    }
    let Some(mut set): Option<MultiRegionSet> =
        get_json(tx, MULTI_REGION, &set_key(&key.account, &key.key_id))?
    else {
        return Ok(None);
    };
    let mut live = Vec::new();
    for r in set.replicas {
        if load_key(tx, &key.account, &r, &key.key_id, now)?.is_some() {
            live.push(r);
        }
    }
    set.replicas = live;
    Ok(Some(set))
}

impl Kms<'_> {
    /// The primary and replicas of a multi-Region key; `None` for a single-Region key.
    pub fn multi_region_set(
        &self,
        key: &Key,
        now: u64,
    ) -> Result<Option<MultiRegionSet>, KmsError> {
        self.store.read(|tx| set_in(tx, key, now))
    }

    /// Whether `key` is a multi-Region replica (its automatic rotation follows the primary).
    pub fn is_replica(&self, key: &Key, now: u64) -> Result<bool, KmsError> {
        Ok(self
            .multi_region_set(key, now)?
            .is_some_and(|s| s.primary != key.region))
    }

    fn reseal(&self, from: &Key, to_arn: &str, sealed: &str) -> Result<String, KmsError> {
        let raw = B64
            .decode(sealed)
            .map_err(|_| KmsError::Seal(berth_core::SealError::BadFormat))?;
        let material = self.root.open(&material_context(&from.arn), &raw)?;
        Ok(B64.encode(self.root.seal(&material_context(to_arn), &material)))
    }

    /// Gives `to` the material (current and earlier) and rotation schedule of `from`.
    fn copy_material(&self, from: &Key, to: &mut Key) -> Result<(), KmsError> {
        to.sealed_material = self.reseal(from, &to.arn, &from.sealed_material)?;
        to.material_id = from.material_id.clone();
        to.older_materials = from
            .older_materials
            .iter()
            .map(|o| {
                Ok(OlderMaterial {
                    id: o.id.clone(),
                    sealed: self.reseal(from, &to.arn, &o.sealed)?,
                })
            })
            .collect::<Result<_, KmsError>>()?;
        to.rotations = from.rotations.clone();
        to.rotation_period_days = from.rotation_period_days;
        to.next_rotation = from.next_rotation;
        Ok(())
    }

    /// ReplicateKey: a replica of the primary `key` in `region`, with its own description,
    /// policy (the default one when `None`) and tags; it takes the primary's material and its
    /// enabled or disabled state.
    pub fn replicate(
        &self,
        key: &Key,
        region: &str,
        input: NewKey,
        now: u64,
    ) -> Result<Key, KmsError> {
        if !key.multi_region {
            return Err(not_multi_region(key));
        }
        if key.state == KeyState::PendingDeletion {
            return Err(Kms::pending(key));
        }
        let policy = match input.policy {
            Some(p) => {
                validate_policy(&p)?;
                p
            }
            None => crate::default_key_policy(&key.account),
        };
        check_tags(&input.tags)?;
        let mut tags = Vec::new();
        merge_tags(&mut tags, &input.tags)?;
        let mut replica = self.key_record_with(
            Some(key.key_id.clone()),
            &key.account,
            region,
            now,
            KeyManager::Customer,
            input.description,
            policy,
            tags,
            (&key.spec, &key.usage),
            &Zeroizing::new(Vec::new()),
        );
        replica.multi_region = true;
        replica.origin = key.origin.clone();
        replica.state = key.state;
        self.copy_material(key, &mut replica)?;
        self.store.write(|tx| -> Result<(), KmsError> {
            let set = set_in(tx, key, now)?.ok_or_else(|| not_multi_region(key))?;
            if set.primary != key.region {
                // AWS's text is not known to berth.
                return Err(KmsError::Unsupported(format!(
                    "{} is a replica key; replicate its primary key in {}",
                    key.arn, set.primary
                )));
            }
            if set.primary == region || set.replicas.iter().any(|r| r == region) {
                return Err(KmsError::AlreadyExists(format!(
                    "Replica key {} already exists",
                    replica.arn
                )));
            }
            // A replica pending deletion (or its leftovers) may still hold the id there.
            if load_key(tx, &key.account, region, &key.key_id, now)?.is_some() {
                return Err(KmsError::AlreadyExists(format!(
                    "Replica key {} already exists",
                    replica.arn
                )));
            }
            put_json(
                tx,
                KEYS,
                &format!("{}/{region}/{}", key.account, key.key_id),
                &replica,
            )?;
            let mut set = set;
            set.replicas.push(region.to_string());
            put_json(tx, MULTI_REGION, &set_key(&key.account, &key.key_id), &set)?;
            Ok(())
        })?;
        Ok(replica)
    }

    /// UpdatePrimaryRegion: the replica in `region` becomes the primary and the current
    /// primary `key` a replica.
    pub fn update_primary(&self, key: &Key, region: &str, now: u64) -> Result<(), KmsError> {
        if !key.multi_region {
            return Err(not_multi_region(key));
        }
        self.store.write(|tx| -> Result<(), KmsError> {
            let mut set = set_in(tx, key, now)?.ok_or_else(|| not_multi_region(key))?;
            if set.primary != key.region {
                // AWS's text is not known to berth.
                return Err(KmsError::Unsupported(format!(
                    "{} is not the primary key; its primary is in {}",
                    key.arn, set.primary
                )));
            }
            if region == set.primary {
                return Ok(());
            }
            let Some(pos) = set.replicas.iter().position(|r| r == region) else {
                return Err(KmsError::NotFound(format!(
                    "Key '{}' does not exist",
                    crate::key_arn_of(region, &key.account, &key.key_id)
                )));
            };
            set.replicas.remove(pos);
            set.replicas.push(std::mem::take(&mut set.primary));
            set.primary = region.to_string();
            put_json(tx, MULTI_REGION, &set_key(&key.account, &key.key_id), &set)?;
            Ok(())
        })
    }

    /// After a rotation of the primary `key`: every replica takes its material.
    pub(crate) fn sync_replicas(&self, key: &Key, now: u64) -> Result<(), KmsError> {
        let Some(set) = self.multi_region_set(key, now)? else {
            return Ok(());
        };
        for region in set.replicas.iter().filter(|r| **r != key.region) {
            self.store.write(|tx| -> Result<(), KmsError> {
                let Some(mut replica) = load_key(tx, &key.account, region, &key.key_id, now)?
                else {
                    return Ok(());
                };
                self.copy_material(key, &mut replica)?;
                put_json(
                    tx,
                    KEYS,
                    &format!("{}/{region}/{}", key.account, key.key_id),
                    &replica,
                )?;
                Ok(())
            })?;
        }
        Ok(())
    }
}
