//! Failures of a user's other credentials: console passwords and the account's password
//! policy, MFA devices.
//!
//! Where AWS answers a case with a fixed text, the variant's `Display` is that text; texts not
//! confirmed against the live API say so.

/// Errors of login profiles, passwords and MFA devices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredError {
    /// GetLoginProfile, UpdateLoginProfile, DeleteLoginProfile for a user without one.
    #[error("Login Profile for User {0} cannot be found.")]
    NoSuchLoginProfile(String),
    /// CreateLoginProfile for a user that has one.
    #[error("Login Profile for user {0} already exists.")]
    LoginProfileExists(String),
    /// GetAccountPasswordPolicy on an account without a custom policy.
    #[error("The Password Policy with domain name {0} cannot be found.")]
    NoPasswordPolicy(String),
    /// A password the account's policy refuses (AWS's texts are not all confirmed).
    #[error("{0}")]
    PasswordPolicyViolation(String),
    /// ChangePassword with an old password that is not the user's.
    #[error("The old password was incorrect.")]
    WrongOldPassword,
    /// ChangePassword by a principal that is not an IAM user.
    #[error("Only IAM Users can change their own password.")]
    NotAnIamUser,
    /// DeleteUser while the user has a console password.
    #[error("Cannot delete entity, must delete login profile first.")]
    LoginProfileLeft,

    // --- MFA ---
    #[error("VirtualMFADevice with serial number {0} doesn't exist.")]
    NoSuchVirtualMfa(String),
    #[error("MFA device with serial number {0} cannot be found.")]
    NoSuchMfa(String),
    #[error("MFADevice entity at the same path and name already exists.")]
    VirtualMfaExists,
    /// EnableMFADevice with codes that are not two consecutive codes of the device.
    #[error("Authentication code for the MFA device is not valid.")]
    InvalidAuthenticationCode,
    /// EnableMFADevice on a device already assigned.
    #[error("MFA Device is already in use.")]
    MfaInUse,
    /// DeleteVirtualMFADevice on a device still assigned to a user.
    #[error("MFA VirtualDevice in use. Must deactivate first.")]
    MfaStillAssigned,
    /// DeleteUser while the user has an MFA device.
    #[error("Cannot delete entity, must remove MFA device first.")]
    MfaLeft,
    /// More MFA devices than a user may have (AWS: 8).
    #[error("Cannot exceed quota for MFADevicesPerUser: 8")]
    MfaQuota,
    /// A serial number that is not a virtual MFA device's ARN of the account (berth's text).
    #[error("{0} is not a virtual MFA device of this account")]
    NotVirtualMfa(String),

    // --- SSH keys, certificates, service-specific credentials ---
    /// AWS's texts for these are not confirmed; the words follow the model's documentation.
    #[error("The public key is malformed or otherwise invalid.")]
    InvalidPublicKey,
    #[error("The public key encoding format is unsupported or unrecognized.")]
    UnrecognizedPublicKeyEncoding,
    #[error("The SSH public key is already associated with the specified IAM user.")]
    DuplicateSshPublicKey,
    #[error("Cannot exceed quota for PublicKeysPerUser: 5")]
    SshKeyQuota,
    #[error("The Public Key with id {0} cannot be found.")]
    NoSuchSshPublicKey(String),
    #[error("Unable to parse certificate. Please ensure the certificate is in PEM format.")]
    MalformedCertificate,
    #[error("Unable to parse private key. Please ensure the private key is in PEM format.")]
    MalformedPrivateKey,
    #[error("The public key certificate and the private key do not match.")]
    KeyPairMismatch,
    #[error("The same certificate is already associated with an IAM user in the account.")]
    DuplicateCertificate,
    #[error("Cannot exceed quota for SigningCertificatesPerUser: 2")]
    SigningCertificateQuota,
    #[error("The Certificate with id {0} cannot be found.")]
    NoSuchCertificate(String),
    #[error("The Server Certificate with name {0} cannot be found.")]
    NoSuchServerCertificate(String),
    #[error("The Server Certificate with name {0} already exists.")]
    ServerCertificateExists(String),
    #[error("No such service {0} is supported for Service-Specific Credentials")]
    ServiceNotSupported(String),
    #[error("Cannot exceed quota for ServiceSpecificCredentialsPerUserPerService: 2")]
    ServiceCredentialQuota,
    #[error("The Service Specific Credential with id {0} cannot be found.")]
    NoSuchServiceCredential(String),
    #[error("Cannot delete entity, must delete signing certificates first.")]
    SigningCertificatesLeft,
    #[error("Cannot delete entity, must delete SSH public keys first.")]
    SshKeysLeft,
    #[error("Cannot delete entity, must delete service specific credentials first.")]
    ServiceCredentialsLeft,

    // --- reports and the account ---
    /// GetCredentialReport before any GenerateCredentialReport (AWS's text is not confirmed).
    #[error(
        "Unable to find credential report. To generate a credential report, use GenerateCredentialReport."
    )]
    ReportNotPresent,
    /// The Organizations features of an account that is not in an organization (the error shape
    /// has no message).
    #[error("no organization is associated with the account")]
    OrganizationNotFound,
    /// Outbound web identity federation, which berth's accounts do not have enabled (AWS's text
    /// is not confirmed).
    #[error("Outbound identity federation is disabled for your account.")]
    OutboundFederationDisabled,
    /// A delegation request id berth does not have (berth has none; berth's text).
    #[error("delegation request {0} not found")]
    NoSuchDelegationRequest(String),
    /// A role template berth does not have (berth has none; berth's text).
    #[error("role template {0} not found")]
    NoSuchRoleTemplate(String),
    /// GetHumanReadableSummary of an entity berth has no summary of (berth's text).
    #[error("no delegation request {0} to summarise")]
    NoSummary(String),
    /// A service last accessed job id berth did not give (berth's text; AWS's is not known).
    #[error("no service last accessed job with id {0}")]
    NoSuchAccessJob(String),
    /// A feature of AWS that berth does not have, named with what berth lacks (berth's text;
    /// AWS's answer in berth's place is not known).
    #[error("berth does not have {0}")]
    NotInBerth(String),
}
