//! CloudWatch Logs domain errors. Each `Display` text is AWS's message where AWS's is known;
//! the application maps variants to codes.

use berth_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum LogsError {
    /// `ResourceNotFoundException`.
    #[error("The specified log group does not exist.")]
    GroupNotFound,
    /// `ResourceNotFoundException`.
    #[error("The specified log stream does not exist.")]
    StreamNotFound,
    /// `ResourceAlreadyExistsException`.
    #[error("The specified log group already exists")]
    GroupExists,
    /// `ResourceAlreadyExistsException`.
    #[error("The specified log stream already exists")]
    StreamExists,
    /// `InvalidParameterException`: CloudWatch Logs answers a failed model constraint (length,
    /// pattern, range, enum) and a broken batch rule with this code.
    #[error("{0}")]
    InvalidParameter(String),
    /// A stored record does not decode.
    #[error("corrupt log record: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// AWS's words for a value that fails one of the model's constraints.
pub fn constraint(value: &str, member: &str, rule: &str) -> LogsError {
    LogsError::InvalidParameter(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {rule}"
    ))
}
