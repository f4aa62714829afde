//! The last successful cryptographic use of each key, for GetKeyLastUsage.
//!
//! One record per key (`{key ARN}`): the operation, when, and the request's id. Tracking began
//! for the whole store when its first use was recorded ([`TRACKING_SINCE`]): a key made before
//! that may have been used before it, as AWS says of keys older than their tracking start.

use berth_store::{StoreExt, get_json, put_json};
use serde::{Deserialize, Serialize};

use crate::{Kms, KmsError};

/// Table of last uses: `{key ARN}`, and [`TRACKING_SINCE`].
pub const LAST_USES: &str = "kms_last_uses";
/// The row of [`LAST_USES`] that holds when tracking began (Unix seconds).
const TRACKING_SINCE: &str = "!tracking-since";

/// A key's last successful cryptographic use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastUse {
    /// The operation's name as GetKeyLastUsage reports it (`Decrypt`, `GenerateDataKey`, …).
    pub operation: String,
    /// Unix seconds.
    pub timestamp: u64,
    pub request_id: String,
}

impl Kms<'_> {
    /// Records `used` as the key's last use (and, the first time, that tracking starts then).
    pub fn record_use(&self, key_arn: &str, used: &LastUse) -> Result<(), KmsError> {
        self.store.write(|tx| {
            if get_json::<u64>(tx, LAST_USES, TRACKING_SINCE)?.is_none() {
                put_json(tx, LAST_USES, TRACKING_SINCE, &used.timestamp)?;
            }
            put_json(tx, LAST_USES, key_arn, used)?;
            Ok(())
        })
    }

    /// The key's last recorded use, and when tracking began (`None`: nothing recorded yet in
    /// this store).
    pub fn last_use(&self, key_arn: &str) -> Result<(Option<LastUse>, Option<u64>), KmsError> {
        self.store.read(|tx| {
            Ok((
                get_json(tx, LAST_USES, key_arn)?,
                get_json(tx, LAST_USES, TRACKING_SINCE)?,
            ))
        })
    }
}
