use berth_core::SealError;
use berth_store::StoreError;

/// Errors of the identity domain. The API crate maps each to its wire form in one place.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("account id must be twelve digits: {0}")]
    InvalidAccountId(String),
    #[error("account {0} already exists")]
    AccountExists(String),
    #[error("access key {0} belongs to another principal")]
    AccessKeyInUse(String),
    #[error("stored secret does not open: {0}")]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
