//! Parsed RSA private keys, kept between calls: parsing a PKCS #8 RSA key (and precomputing
//! its CRT values) costs more than the signature itself.
//!
//! Entries are keyed by the key ARN and its material id, so new material (a rotation, an
//! import) is a new entry; at most [`MAX_ENTRIES`] are kept. The cache holds material only: a
//! caller reaches it after authorisation and after the key's state was checked on the key
//! record read for this request, so a disabled or deleted key is never used from it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::{Key, Kms, KmsError, asym};

/// Most parsed keys kept.
pub const MAX_ENTRIES: usize = 256;

type Cache = HashMap<(String, String), Arc<rsa::PrivateKey>>;

static RSA_KEYS: Mutex<Option<Cache>> = Mutex::new(None);

fn get(id: &(String, String)) -> Option<Arc<rsa::PrivateKey>> {
    let guard = RSA_KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    guard.as_ref().and_then(|c| c.get(id).cloned())
}

fn put(id: (String, String), key: Arc<rsa::PrivateKey>) {
    let mut guard = RSA_KEYS.lock().unwrap_or_else(PoisonError::into_inner);
    let cache = guard.get_or_insert_with(HashMap::new);
    if cache.len() >= MAX_ENTRIES && !cache.contains_key(&id) {
        // Any entry may go: a key used again is parsed again.
        if let Some(victim) = cache.keys().next().cloned() {
            cache.remove(&victim);
        }
    }
    cache.insert(id, key);
}

impl Kms<'_> {
    /// The parsed private key of an RSA key (already authorised and checked usable).
    pub(crate) fn rsa_private(&self, key: &Key) -> Result<Arc<rsa::PrivateKey>, KmsError> {
        if key.material_id.is_empty() {
            return Ok(Arc::new(asym::rsa_key(&self.material(key)?)?));
        }
        let id = (key.arn.clone(), key.material_id.clone());
        if let Some(k) = get(&id) {
            return Ok(k);
        }
        let parsed = Arc::new(asym::rsa_key(&self.material(key)?)?);
        put(id, parsed.clone());
        Ok(parsed)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_cache_is_bounded() {
        let der = asym::generate("RSA_2048").unwrap();
        let k = Arc::new(asym::rsa_key(&der).unwrap());
        for i in 0..MAX_ENTRIES + 10 {
            put((format!("arn:{i}"), "m".into()), k.clone());
        }
        let len = RSA_KEYS.lock().unwrap().as_ref().unwrap().len();
        assert!(len <= MAX_ENTRIES);
        assert!(get(&(format!("arn:{}", MAX_ENTRIES + 9), "m".into())).is_some());
        assert!(get(&("arn:none".into(), "m".into())).is_none());
    }
}
