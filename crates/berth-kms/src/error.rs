//! KMS domain errors. Each `Display` text is the message AWS sends for it; the API crate maps
//! variants to codes.

use berth_core::SealError;
use berth_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// `NotFoundException`: the key, alias or key id does not resolve.
    #[error("{0}")]
    NotFound(String),
    /// `InvalidArnException`: e.g. a key ARN of another region (`Invalid arn us-west-2`).
    #[error("{0}")]
    InvalidArn(String),
    /// `DisabledException`.
    #[error("{0} is disabled.")]
    Disabled(String),
    /// `KMSInvalidStateException`, with AWS's message.
    #[error("{0}")]
    InvalidState(String),
    /// `InvalidCiphertextException`: AWS sends it without a message.
    #[error("")]
    InvalidCiphertext,
    /// `IncorrectKeyException`.
    #[error("The key ID in the request does not identify a CMK that can perform this operation.")]
    IncorrectKey,
    /// `AlreadyExistsException`.
    #[error("{0}")]
    AlreadyExists(String),
    /// `NotAuthorizedException` (AWS sends it without a message): `alias/aws/` is reserved.
    #[error("")]
    ReservedAlias,
    /// `ValidationException`, AWS's text.
    #[error("{0}")]
    Validation(String),
    /// `MalformedPolicyDocumentException`.
    #[error("{0}")]
    MalformedPolicy(String),
    /// `LimitExceededException`: a key policy over the 32 KB quota. AWS documents the code
    /// (the `Policy` member of CreateKey and PutKeyPolicy) but not its message; this text is
    /// berth's.
    #[error("the key policy exceeds the key policy document size quota of 32768 bytes")]
    PolicyTooLarge,
    /// `UnsupportedOperationException`.
    #[error("{0}")]
    Unsupported(String),
    /// `InvalidMarkerException`.
    #[error("{0}")]
    InvalidMarker(String),
    /// `TagException`.
    #[error("{0}")]
    Tag(String),
    /// `InvalidGrantTokenException`.
    #[error("{0}")]
    InvalidGrantToken(String),
    /// `InvalidGrantIdException`.
    #[error("{0}")]
    InvalidGrantId(String),
    /// `LimitExceededException` with a message.
    #[error("{0}")]
    LimitExceeded(String),
    /// `InvalidKeyUsageException`, AWS's text.
    #[error("{0}")]
    InvalidKeyUsage(String),
    /// `KMSInvalidSignatureException`: the signature does not verify. AWS's message for it is
    /// not known to berth; it is sent without one.
    #[error("")]
    InvalidSignature,
    /// `KMSInvalidMacException`: the MAC does not verify (sent without a message, as above).
    #[error("")]
    InvalidMac,
    /// `CustomKeyStoreNotFoundException`.
    #[error("{0}")]
    CustomKeyStoreNotFound(String),
    /// `CloudHsmClusterNotFoundException`.
    #[error("{0}")]
    CloudHsmClusterNotFound(String),
    /// `ExpiredImportTokenException`: the import token is more than 24 hours old. AWS's
    /// message is not known to berth.
    #[error("the import token has expired; get new parameters for import")]
    ExpiredImportToken,
    /// `InvalidImportTokenException`: the token is not one berth made for this key. AWS's
    /// message is not known to berth.
    #[error("the import token is not valid for this key")]
    InvalidImportToken,
    /// `IncorrectKeyMaterialException`.
    #[error("{0}")]
    IncorrectKeyMaterial(String),
    /// Key material that does not open: the store was tampered with or the root key changed.
    #[error("key material does not open: {0}")]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
