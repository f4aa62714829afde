//! The application's failures, and ([`codes`]) each as AWS names it. Nothing here knows a
//! protocol: the wire crate renders an [`AwsError`] as JSON or Query XML.

mod codes;

pub use codes::AwsError;

use berth_store::StoreError;

// The domain failures an `Error` carries, for the wire crate's mapping.
pub use berth_ecs::EcsError;
pub use berth_iam::sts::StsError;
pub use berth_iam::{DeleteConflict, IamError, NameField};
pub use berth_kms::KmsError;
pub use berth_logs::LogsError;
pub use berth_secrets::SecretsError;
pub use berth_ssm::SsmError;

/// Why a use case did not complete.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// IAM policy denies the call; the message is AWS's, naming the principal, action and
    /// resource (and the policy type that denied).
    #[error("{0}")]
    AccessDenied(String),
    #[error(transparent)]
    Iam(#[from] IamError),
    #[error(transparent)]
    Sts(#[from] StsError),
    #[error(transparent)]
    Kms(#[from] KmsError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Ecs(#[from] EcsError),
    #[error(transparent)]
    Ssm(#[from] SsmError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Logs(#[from] LogsError),
    /// A required member of the operation's input is absent (`member` as the model names it).
    #[error("member {0} must not be null")]
    MissingMember(String),
    /// A member of the input has the wrong JSON type.
    #[error("{member} must be {expected}")]
    WrongType {
        member: String,
        expected: &'static str,
    },
    /// The input does not match the operation's input shape.
    #[error("{0}")]
    Serialization(String),
    /// A parameter's value is not valid for the operation (`InvalidParameterException`).
    #[error("{0}")]
    InvalidParameter(String),
    /// The request is not valid as a whole (`InvalidRequestException`).
    #[error("{0}")]
    InvalidRequest(String),
    /// The input fails the model's constraints (`ValidationException`, `ValidationError` on
    /// the Query protocol).
    #[error("{0}")]
    Validation(String),
    /// KMS refuses a call Secrets Manager makes on the caller's behalf.
    #[error("access to kms is not allowed")]
    KmsAccessDenied,
    /// The KMS key cannot encrypt a secret's value.
    #[error("the kms key cannot encrypt the secret value")]
    EncryptionFailure,
    /// The KMS key cannot decrypt a secret's value.
    #[error("the kms key cannot decrypt the secret value")]
    DecryptionFailure,
    /// berth failed; the detail is logged, never shown to the caller.
    #[error("internal failure: {0}")]
    Internal(String),
    /// A KMS call with `DryRun` would have succeeded (`DryRunOperationException`).
    #[error("the request would have succeeded, but the dry run option is set")]
    DryRun,
    /// The KMS key does not support the requested algorithm or use
    /// (`InvalidKeyUsageException`).
    #[error("{0}")]
    InvalidKeyUsage(String),
    /// An IAM request whose members are well formed but not acceptable (`InvalidInput`).
    #[error("{0}")]
    InvalidInput(String),
    /// DecodeAuthorizationMessage given a message berth did not encode.
    #[error("the authorization message cannot be decoded")]
    InvalidAuthorizationMessage,
    /// A web identity token or SAML assertion STS does not accept (`InvalidIdentityToken`).
    #[error("{0}")]
    InvalidIdentityToken(String),
    /// A web identity token past its expiry (`ExpiredTokenException`).
    #[error("{0}")]
    ExpiredIdentityToken(String),
    /// The identity provider's keys could not be fetched (`IDPCommunicationError`).
    #[error("{0}")]
    IdpCommunication(String),
    /// GetWebIdentityToken in an account that has not enabled outbound web identity
    /// federation (`OutboundWebIdentityFederationDisabledException`, 403).
    #[error("outbound web identity federation is disabled")]
    OutboundWebIdentityFederationDisabled,
}
