//! Key rotation, descriptions, untagging and alias retargeting.

use berth_store::{StoreExt, get_json, put_json};
use zeroize::Zeroizing;

use crate::model::{OlderMaterial, Rotation};
use crate::{ALIASES, Alias, B64, Key, KeyManager, KeyState, Kms, KmsError, material_context};
use base64::Engine;

/// Bounds of `RotationPeriodInDays`.
pub const MIN_ROTATION_DAYS: i64 = 90;
pub const MAX_ROTATION_DAYS: i64 = 2560;
/// The period EnableKeyRotation uses when none is given.
pub const DEFAULT_ROTATION_DAYS: u32 = 365;
/// On-demand rotations one key may have (AWS's quota).
pub const MAX_ON_DEMAND_ROTATIONS: usize = 25;

/// Refuses rotation of a key that cannot rotate: a key that is not a symmetric encryption key,
/// or an AWS managed key. AWS's texts for these refusals are not known to berth.
fn check_rotatable(k: &Key) -> Result<(), KmsError> {
    if !k.is_symmetric() {
        return Err(KmsError::Unsupported(format!(
            "{} key rotation is not supported for key spec {}",
            k.arn, k.spec
        )));
    }
    if k.manager == KeyManager::Aws {
        return Err(KmsError::Unsupported(format!(
            "{} is an AWS managed key; AWS rotates it",
            k.arn
        )));
    }
    if k.is_external() {
        // Rotation of imported material (by importing new material) is not offered by berth;
        // AWS's text for this refusal is not known to berth.
        return Err(KmsError::Unsupported(format!(
            "{} origin is EXTERNAL which is not valid for this operation.",
            k.arn
        )));
    }
    k.check_usable()
}

/// `RotationPeriodInDays`: 90–2560, 365 when absent; `ValidationException` with AWS's text.
pub fn check_rotation_days(days: Option<i64>) -> Result<u32, KmsError> {
    match days {
        None => Ok(DEFAULT_ROTATION_DAYS),
        Some(d) if (MIN_ROTATION_DAYS..=MAX_ROTATION_DAYS).contains(&d) => Ok(d as u32),
        Some(d) => Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{d}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value {}",
            if d < MIN_ROTATION_DAYS {
                format!("greater than or equal to {MIN_ROTATION_DAYS}")
            } else {
                format!("less than or equal to {MAX_ROTATION_DAYS}")
            }
        ))),
    }
}

impl Kms<'_> {
    /// EnableKeyRotation with a period of 90–2560 days (365 by default).
    pub fn enable_rotation(&self, key: &Key, days: Option<i64>, now: u64) -> Result<Key, KmsError> {
        let days = check_rotation_days(days)?;
        self.update_key(key, now, |k| {
            check_rotatable(k)?;
            k.rotation_period_days = Some(days);
            let since = k.rotations.last().map_or(k.created, |r| r.date);
            k.next_rotation = Some(berth_core::time::add_days(since.max(now), days as u64));
            Ok(())
        })
    }

    /// DisableKeyRotation.
    pub fn disable_rotation(&self, key: &Key, now: u64) -> Result<Key, KmsError> {
        self.update_key(key, now, |k| {
            check_rotatable(k)?;
            k.rotation_period_days = None;
            k.next_rotation = None;
            Ok(())
        })
    }

    /// Rotates the key's material now (`ON_DEMAND`) or on its schedule (`AUTOMATIC`): new
    /// material becomes current, the old is kept to decrypt what it encrypted.
    pub fn rotate(&self, key: &Key, kind: &str, now: u64) -> Result<Key, KmsError> {
        let rotated = self.rotate_one(key, kind, now)?;
        if rotated.multi_region {
            self.sync_replicas(&rotated, now)?;
        }
        Ok(rotated)
    }

    fn rotate_one(&self, key: &Key, kind: &str, now: u64) -> Result<Key, KmsError> {
        let mut material = Zeroizing::new(vec![0u8; 32]);
        berth_core::ids::random_bytes(material.as_mut());
        let sealed = B64.encode(self.root.seal(&material_context(&key.arn), &material));
        self.update_key(key, now, |k| {
            check_rotatable(k)?;
            if kind == "ON_DEMAND"
                && k.rotations.iter().filter(|r| r.kind == "ON_DEMAND").count()
                    >= MAX_ON_DEMAND_ROTATIONS
            {
                // AWS answers LimitExceededException; its text is not known to berth.
                return Err(KmsError::LimitExceeded(format!(
                    "{} has reached the quota of {MAX_ON_DEMAND_ROTATIONS} on-demand rotations",
                    k.arn
                )));
            }
            let old = OlderMaterial {
                id: k.material_id.clone(),
                sealed: std::mem::replace(&mut k.sealed_material, sealed),
            };
            k.older_materials.push(old);
            k.material_id = crate::new_material_id();
            k.rotations.push(Rotation {
                material_id: k.material_id.clone(),
                date: now,
                kind: kind.to_string(),
            });
            if let Some(days) = k.rotation_period_days
                && kind == "AUTOMATIC"
            {
                k.next_rotation = Some(berth_core::time::add_days(now, days as u64));
            }
            Ok(())
        })
    }

    /// Rotates `key` if its automatic rotation is due; answers the key as it is now.
    pub fn rotate_if_due(&self, key: Key, now: u64) -> Result<Key, KmsError> {
        match key.next_rotation {
            Some(due)
                if now >= due
                    && key.enabled()
                    && key.is_symmetric()
                    && !(key.multi_region && self.is_replica(&key, now)?) =>
            {
                self.rotate(&key, "AUTOMATIC", now)
            }
            _ => Ok(key),
        }
    }

    /// UpdateKeyDescription.
    pub fn set_description(&self, key: &Key, description: &str, now: u64) -> Result<Key, KmsError> {
        self.update_key(key, now, |k| {
            if k.state == KeyState::PendingDeletion {
                return Err(Self::pending(k));
            }
            k.description = description.to_string();
            Ok(())
        })
    }

    /// UntagResource: removes the tags with these keys (absent ones are ignored).
    pub fn untag_key(&self, key: &Key, keys: &[String], now: u64) -> Result<Key, KmsError> {
        self.update_key(key, now, |k| {
            if k.state == KeyState::PendingDeletion {
                return Err(Self::pending(k));
            }
            k.tags.retain(|t| !keys.contains(&t.key));
            Ok(())
        })
    }

    /// UpdateAlias: points an existing alias of the account and region at `key`.
    pub fn update_alias(&self, name: &str, key: &Key, now: u64) -> Result<Alias, KmsError> {
        let store_key = format!("{}/{}/{name}", key.account, key.region);
        self.store.write(|tx| -> Result<Alias, KmsError> {
            let missing = || {
                KmsError::NotFound(format!(
                    "Alias {} is not found.",
                    crate::alias_arn(&key.region, &key.account, name)
                ))
            };
            let mut alias: Alias = get_json(tx, ALIASES, &store_key)?.ok_or_else(missing)?;
            let current =
                crate::load_key(tx, &key.account, &key.region, &alias.target_key_id, now)?
                    .ok_or_else(missing)?;
            if current.spec != key.spec || current.usage != key.usage {
                // AWS requires the same key type and usage; its text is not known to berth.
                return Err(KmsError::Validation(format!(
                    "{} and {} are not the same type of key with the same key usage",
                    current.arn, key.arn
                )));
            }
            if key.state == KeyState::PendingDeletion {
                return Err(Self::pending(key));
            }
            alias.target_key_id = key.key_id.clone();
            alias.updated = now;
            put_json(tx, ALIASES, &store_key, &alias)?;
            Ok(alias)
        })
    }
}
