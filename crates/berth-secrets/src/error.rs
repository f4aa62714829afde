//! Secrets Manager domain errors. Each `Display` text is AWS's message; the API crate maps
//! variants to codes.

use berth_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// `ResourceNotFoundException`.
    #[error("Secrets Manager can't find the specified secret.")]
    NotFound,
    /// `ResourceNotFoundException`: no version carries this staging label.
    #[error("Secrets Manager can't find the specified secret value for staging label: {0}")]
    NoVersionForStage(String),
    /// `ResourceNotFoundException`: no version has this id.
    #[error("Secrets Manager can't find the specified secret value for VersionId: {0}")]
    NoVersion(String),
    /// `ResourceExistsException`.
    #[error("The operation failed because the secret {0} already exists.")]
    Exists(String),
    /// `ResourceExistsException`: a ClientRequestToken reused with other data.
    #[error("You can't modify an existing version, you can only create a new version.")]
    VersionExists,
    /// `InvalidRequestException`.
    #[error("You can't perform this operation on the secret because it was marked for deletion.")]
    MarkedForDeletion,
    /// `InvalidRequestException`.
    #[error(
        "You can't create this secret because a secret with this name is already scheduled for deletion."
    )]
    NameScheduledForDeletion,
    /// `InvalidParameterException`.
    #[error("{0}")]
    InvalidParameter(String),
    /// `InvalidRequestException`.
    #[error("{0}")]
    InvalidRequest(String),
    /// `ValidationException`: a model constraint (length, pattern) does not hold.
    #[error("{0}")]
    Validation(String),
    /// `MalformedPolicyDocumentException`.
    #[error("{0}")]
    MalformedPolicy(String),
    /// `LimitExceededException`.
    #[error("{0}")]
    LimitExceeded(String),
    /// `InvalidNextTokenException`.
    #[error("{0}")]
    InvalidNextToken(String),
    /// A stored value that does not open under its data key: tampering or corruption.
    #[error("stored secret value does not open")]
    Corrupt,
    #[error(transparent)]
    Store(#[from] StoreError),
}
