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
}
