//! Each failure as AWS names it: the error code of the service's model, the HTTP status, and
//! the message. The one place where berth's failures get AWS's codes; the wire crate renders
//! them in each protocol's shape and the console shows them.

use berth_ecs::EcsError;
use berth_iam::IamError;
use berth_iam::sts::StsError;
use berth_kms::KmsError;
use berth_logs::LogsError;
use berth_secrets::SecretsError;
use berth_ssm::SsmError;

use super::Error;

/// AWS's text for a failure of its own.
const INTERNAL_FAILURE: &str =
    "The request processing has failed because of an unknown error, exception or failure.";

/// A failure as AWS answers it (in the JSON protocol's words; the Query protocol says a denial
/// and a failed constraint its own way, which the wire crate knows).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The HTTP status.
    pub status: u16,
    /// The error code (`__type`, `<Code>`).
    pub code: &'static str,
    /// The message; AWS sends none for a few errors.
    pub message: Option<String>,
}

impl AwsError {
    /// A 400 error.
    fn client(code: &'static str, message: impl Into<String>) -> AwsError {
        AwsError::with_status(400, code, message)
    }

    fn with_status(status: u16, code: &'static str, message: impl Into<String>) -> AwsError {
        AwsError {
            status,
            code,
            message: Some(message.into()),
        }
    }

    /// berth's own failure: the detail goes to the log, never to the caller.
    pub fn internal(detail: &dyn std::fmt::Display) -> AwsError {
        tracing::error!(error = %detail, "internal error");
        AwsError::with_status(500, "InternalFailure", INTERNAL_FAILURE)
    }
}

impl Error {
    /// This failure as AWS answers it.
    pub fn into_aws(self) -> AwsError {
        use Error as E;
        match self {
            E::AccessDenied(m) => AwsError::client("AccessDeniedException", m),
            E::Iam(e) => iam(e),
            E::Sts(e) => sts(e),
            E::Kms(e) => kms(e),
            E::Secrets(e) => secrets(e),
            E::Ecs(e) => ecs(e),
            E::Ssm(e) => ssm(e),
            E::Store(e) => AwsError::internal(&e),
            E::Logs(e) => logs(e),
            E::MissingMember(member) => AwsError::client(
                "ValidationException",
                format!(
                    "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
                ),
            ),
            e @ E::WrongType { .. } => AwsError::client("SerializationException", e.to_string()),
            E::Serialization(m) => AwsError::client("SerializationException", m),
            E::InvalidParameter(m) => AwsError::client("InvalidParameterException", m),
            E::InvalidRequest(m) => AwsError::client("InvalidRequestException", m),
            E::Validation(m) => AwsError::client("ValidationException", m),
            E::KmsAccessDenied => {
                AwsError::client("AccessDeniedException", "Access to KMS is not allowed")
            }
            E::EncryptionFailure => AwsError::client(
                "EncryptionFailure",
                "Secrets Manager can't encrypt the protected secret text using the provided KMS key. Check that the KMS key is available, enabled, and not in an invalid state.",
            ),
            E::DecryptionFailure => AwsError::client(
                "DecryptionFailure",
                "Secrets Manager can't decrypt the protected secret text using the provided KMS key.",
            ),
            E::Internal(detail) => AwsError::internal(&detail),
            E::DryRun => AwsError::client(
                "DryRunOperationException",
                "The request would have succeeded, but the DryRun option is set.",
            ),
            E::InvalidKeyUsage(m) => AwsError::client("InvalidKeyUsageException", m),
            E::InvalidInput(m) => AwsError::client("InvalidInput", m),
            // AWS's text for a message it cannot decode is not confirmed.
            E::InvalidAuthorizationMessage => AwsError::client(
                "InvalidAuthorizationMessageException",
                "The message is not a valid encoded authorization message",
            ),
            E::InvalidIdentityToken(m) => AwsError::client("InvalidIdentityToken", m),
            E::ExpiredIdentityToken(m) => AwsError::client("ExpiredTokenException", m),
            E::IdpCommunication(m) => AwsError::client("IDPCommunicationError", m),
            // The model's documentation of the error, as AWS's message is not confirmed.
            E::OutboundWebIdentityFederationDisabled => AwsError::with_status(
                403,
                "OutboundWebIdentityFederationDisabledException",
                "The outbound web identity federation feature is not enabled for this account. To use this feature, you must first enable it through the Amazon Web Services Management Console or API.",
            ),
        }
    }
}

fn iam(e: IamError) -> AwsError {
    use IamError as E;
    match e {
        E::InvalidAccountId(_)
        | E::InvalidName(_)
        | E::InvalidPath
        | E::InvalidArn(_)
        | E::NonUserCredentials => AwsError::client("ValidationError", e.to_string()),
        E::AccountExists(_)
        | E::AccessKeyInUse(_)
        | E::UserExists(_)
        | E::RoleExists(_)
        | E::PolicyExists(_)
        | E::GroupExists(_)
        | E::InstanceProfileExists(_)
        | E::AccountAliasExists(_)
        | E::OidcProviderExists(_)
        | E::SamlProviderExists(_) => {
            AwsError::with_status(409, "EntityAlreadyExists", e.to_string())
        }
        E::NoSuchUser(_)
        | E::NoSuchRole(_)
        | E::NoSuchUserPolicy(_)
        | E::NoSuchRolePolicy(_)
        | E::NoSuchPolicy(_)
        | E::PolicyNotAttachable(_)
        | E::NoSuchPolicyVersion { .. }
        | E::BoundaryNotAttachable(_)
        | E::NoSuchAccessKey(_)
        | E::NoSuchGroup(_)
        | E::NoSuchGroupPolicy(_)
        | E::NoSuchInstanceProfile(_)
        | E::NoSuchAccountAlias(_)
        | E::NoSuchOidcProvider(_)
        | E::NoSuchSamlProvider(_) => AwsError::with_status(404, "NoSuchEntity", e.to_string()),
        E::MalformedPolicy(_) => AwsError::client("MalformedPolicyDocument", e.to_string()),
        E::ProtectedRole(_) => AwsError::client("UnmodifiableEntity", e.to_string()),
        E::CustomSuffixNotAllowed(_)
        | E::ServiceRoleNameTaken(_)
        | E::UnknownLinkedService(_)
        | E::NotServiceLinked(_)
        | E::NoSuchDeletionTask(_) => AwsError::client("InvalidInput", e.to_string()),
        E::InvalidBoundaryArn(_) | E::DuplicateTagKeys | E::InvalidOidc(_) | E::InvalidSaml(_) => {
            AwsError::client("InvalidInput", e.to_string())
        }
        E::AccessKeyQuota
        | E::UserPolicyTooLarge(_)
        | E::RolePolicyTooLarge(_)
        | E::ManagedPolicyTooLarge
        | E::TrustPolicyTooLarge
        | E::AttachedPolicyQuota { .. }
        | E::TagQuota
        | E::GroupPolicyTooLarge(_)
        | E::GroupsPerUserQuota
        | E::InstanceProfileRoleQuota
        | E::PolicyVersionQuota
        | E::OidcQuota(..) => AwsError::with_status(409, "LimitExceeded", e.to_string()),
        E::DeleteConflict(_) => AwsError::with_status(409, "DeleteConflict", e.to_string()),
        E::AwsManagedPolicy | E::AwsManagedPolicyChange(_) => {
            AwsError::with_status(403, "AccessDenied", e.to_string())
        }
        E::Cred(c) => credentials(c),
        E::Seal(_) | E::Store(_) => AwsError::internal(&e),
    }
}

/// Login profiles, passwords and MFA devices.
fn credentials(e: berth_iam::CredError) -> AwsError {
    use berth_iam::CredError as C;
    let text = e.to_string();
    match e {
        C::NoSuchLoginProfile(_)
        | C::NoPasswordPolicy(_)
        | C::NoSuchVirtualMfa(_)
        | C::NoSuchMfa(_)
        | C::NotVirtualMfa(_) => AwsError::with_status(404, "NoSuchEntity", text),
        C::LoginProfileExists(_) | C::VirtualMfaExists | C::MfaInUse => {
            AwsError::with_status(409, "EntityAlreadyExists", text)
        }
        C::PasswordPolicyViolation(_) => AwsError::client("PasswordPolicyViolation", text),
        // AWS's code for a wrong old password is not confirmed.
        C::WrongOldPassword => AwsError::with_status(403, "AccessDenied", text),
        C::NotAnIamUser => AwsError::client("InvalidUserType", text),
        C::LoginProfileLeft | C::MfaLeft | C::MfaStillAssigned => {
            AwsError::with_status(409, "DeleteConflict", text)
        }
        C::InvalidAuthenticationCode => {
            AwsError::with_status(403, "InvalidAuthenticationCode", text)
        }
        C::MfaQuota | C::SshKeyQuota | C::SigningCertificateQuota | C::ServiceCredentialQuota => {
            AwsError::with_status(409, "LimitExceeded", text)
        }
        C::NoSuchSshPublicKey(_)
        | C::NoSuchCertificate(_)
        | C::NoSuchServerCertificate(_)
        | C::NoSuchServiceCredential(_) => AwsError::with_status(404, "NoSuchEntity", text),
        C::ServerCertificateExists(_) => AwsError::with_status(409, "EntityAlreadyExists", text),
        C::InvalidPublicKey => AwsError::client("InvalidPublicKey", text),
        C::UnrecognizedPublicKeyEncoding => AwsError::client("UnrecognizedPublicKeyEncoding", text),
        C::DuplicateSshPublicKey => AwsError::client("DuplicateSSHPublicKey", text),
        C::MalformedCertificate | C::MalformedPrivateKey => {
            AwsError::client("MalformedCertificate", text)
        }
        C::KeyPairMismatch => AwsError::client("KeyPairMismatch", text),
        C::DuplicateCertificate => AwsError::with_status(409, "DuplicateCertificate", text),
        C::ServiceNotSupported(_) => AwsError::with_status(404, "NotSupportedService", text),
        C::SigningCertificatesLeft | C::SshKeysLeft | C::ServiceCredentialsLeft => {
            AwsError::with_status(409, "DeleteConflict", text)
        }
        C::ReportNotPresent => AwsError::with_status(410, "ReportNotPresent", text),
        C::OrganizationNotFound => AwsError {
            status: 400,
            code: "OrganizationNotFoundException",
            message: None,
        },
        C::OutboundFederationDisabled => AwsError::with_status(404, "FeatureDisabled", text),
        C::NoSuchDelegationRequest(_)
        | C::NoSuchRoleTemplate(_)
        | C::NoSummary(_)
        | C::NoSuchAccessJob(_) => AwsError::with_status(404, "NoSuchEntity", text),
        C::NotInBerth(_) => AwsError::client("InvalidInput", text),
    }
}

fn sts(e: StsError) -> AwsError {
    match e {
        StsError::Validation(m) => AwsError::client("ValidationError", m),
        StsError::MalformedPolicy(m) => AwsError::client("MalformedPolicyDocument", m),
        StsError::PackedPolicyTooLarge(m) => AwsError::client("PackedPolicyTooLarge", m),
        StsError::AccessDenied(m) => AwsError::with_status(403, "AccessDenied", m),
        StsError::InvalidParameterValue(m) => AwsError::client("InvalidParameterValue", m),
        StsError::Iam(e) => iam(e),
    }
}

fn kms(e: KmsError) -> AwsError {
    let code = match &e {
        KmsError::NotFound(_) => "NotFoundException",
        KmsError::InvalidArn(_) => "InvalidArnException",
        KmsError::Disabled(_) => "DisabledException",
        KmsError::InvalidState(_) => "KMSInvalidStateException",
        KmsError::InvalidCiphertext => "InvalidCiphertextException",
        KmsError::IncorrectKey => "IncorrectKeyException",
        KmsError::AlreadyExists(_) => "AlreadyExistsException",
        KmsError::ReservedAlias => "NotAuthorizedException",
        KmsError::Validation(_) => "ValidationException",
        KmsError::MalformedPolicy(_) => "MalformedPolicyDocumentException",
        KmsError::PolicyTooLarge => "LimitExceededException",
        KmsError::Unsupported(_) => "UnsupportedOperationException",
        KmsError::InvalidMarker(_) => "InvalidMarkerException",
        KmsError::Tag(_) => "TagException",
        KmsError::InvalidGrantToken(_) => "InvalidGrantTokenException",
        KmsError::InvalidGrantId(_) => "InvalidGrantIdException",
        KmsError::LimitExceeded(_) => "LimitExceededException",
        KmsError::InvalidKeyUsage(_) => "InvalidKeyUsageException",
        KmsError::InvalidSignature => "KMSInvalidSignatureException",
        KmsError::InvalidMac => "KMSInvalidMacException",
        KmsError::CustomKeyStoreNotFound(_) => "CustomKeyStoreNotFoundException",
        KmsError::CloudHsmClusterNotFound(_) => "CloudHsmClusterNotFoundException",
        KmsError::ExpiredImportToken => "ExpiredImportTokenException",
        KmsError::InvalidImportToken => "InvalidImportTokenException",
        KmsError::IncorrectKeyMaterial(_) => "IncorrectKeyMaterialException",
        KmsError::Seal(_) | KmsError::Store(_) => return AwsError::internal(&e),
    };
    match e {
        // AWS sends these two without a message.
        KmsError::InvalidCiphertext
        | KmsError::ReservedAlias
        | KmsError::InvalidSignature
        | KmsError::InvalidMac => AwsError {
            status: 400,
            code,
            message: None,
        },
        e => AwsError::client(code, e.to_string()),
    }
}

fn secrets(e: SecretsError) -> AwsError {
    let code = match &e {
        SecretsError::NotFound
        | SecretsError::NoVersionForStage(_)
        | SecretsError::NoVersion(_) => "ResourceNotFoundException",
        SecretsError::Exists(_) | SecretsError::VersionExists => "ResourceExistsException",
        SecretsError::MarkedForDeletion
        | SecretsError::NameScheduledForDeletion
        | SecretsError::InvalidRequest(_) => "InvalidRequestException",
        SecretsError::InvalidParameter(_) => "InvalidParameterException",
        SecretsError::Validation(_) => "ValidationException",
        SecretsError::MalformedPolicy(_) => "MalformedPolicyDocumentException",
        SecretsError::LimitExceeded(_) => "LimitExceededException",
        SecretsError::InvalidNextToken(_) => "InvalidNextTokenException",
        SecretsError::Corrupt | SecretsError::Store(_) => return AwsError::internal(&e),
    };
    AwsError::client(code, e.to_string())
}

/// ECS's codes: all 400 but the store's failures.
fn ecs(e: EcsError) -> AwsError {
    let code = match &e {
        EcsError::Client(_) => "ClientException",
        EcsError::InvalidParameter(_) => "InvalidParameterException",
        EcsError::ClusterNotFound => "ClusterNotFoundException",
        EcsError::ClusterContainsInstances => "ClusterContainsContainerInstancesException",
        EcsError::ClusterContainsTasks => "ClusterContainsTasksException",
        EcsError::PlatformUnknown => "PlatformUnknownException",
        EcsError::PlatformIncompatible => "PlatformTaskDefinitionIncompatibilityException",
        EcsError::TargetNotFound(_) => "TargetNotFoundException",
        EcsError::AttributeLimit(_) => "AttributeLimitExceededException",
        EcsError::NotPlacedHere(_) => "AccessDeniedException",
        EcsError::Serialization(_) => "SerializationException",
        EcsError::ClusterContainsServices => "ClusterContainsServicesException",
        EcsError::ServiceNotFound => "ServiceNotFoundException",
        EcsError::ServiceNotActive => "ServiceNotActiveException",
        EcsError::ResourceNotFound(_) => "ResourceNotFoundException",
        EcsError::Store(_) => return AwsError::internal(&e),
    };
    AwsError::client(code, e.to_string())
}

/// Parameter Store's codes: all 400 but the store's failures. AWS sends ParameterNotFound
/// and the tagging errors without a message.
fn ssm(e: SsmError) -> AwsError {
    use SsmError as E;
    let code = match &e {
        E::NotFound => "ParameterNotFound",
        E::AlreadyExists => "ParameterAlreadyExists",
        E::VersionNotFound { .. } => "ParameterVersionNotFound",
        E::LabelLimit => "ParameterVersionLabelLimitExceeded",
        E::MaxVersions { .. } => "ParameterMaxVersionLimitExceeded",
        E::HierarchyLevel => "HierarchyLevelLimitExceededException",
        E::TypeMismatch => "HierarchyTypeMismatchException",
        E::PatternMismatch(_) => "ParameterPatternMismatchException",
        E::InvalidAllowedPattern(_) => "InvalidAllowedPatternException",
        E::Validation(_) => "ValidationException",
        E::Reserved(_) => "AccessDeniedException",
        E::InvalidFilterKey(_) => "InvalidFilterKey",
        E::InvalidFilterOption(_) => "InvalidFilterOption",
        E::InvalidFilterValue(_) => "InvalidFilterValue",
        E::InvalidKeyId(_) => "InvalidKeyId",
        E::InvalidNextToken => "InvalidNextToken",
        E::TooManyTags => "TooManyTagsError",
        E::InvalidResourceId => "InvalidResourceId",
        E::InvalidResourceType => "InvalidResourceType",
        E::Store(_) => return AwsError::internal(&e),
    };
    match e {
        E::NotFound | E::TooManyTags | E::InvalidResourceId | E::InvalidResourceType => AwsError {
            status: 400,
            code,
            message: None,
        },
        e => AwsError::client(code, e.to_string()),
    }
}

/// CloudWatch Logs' codes: all 400 but berth's own failures.
fn logs(e: LogsError) -> AwsError {
    let code = match &e {
        LogsError::GroupNotFound | LogsError::StreamNotFound => "ResourceNotFoundException",
        LogsError::GroupExists | LogsError::StreamExists => "ResourceAlreadyExistsException",
        LogsError::InvalidParameter(_) => "InvalidParameterException",
        LogsError::Corrupt(_) | LogsError::Store(_) => return AwsError::internal(&e),
    };
    AwsError::client(code, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_errors_have_aws_codes_and_statuses() {
        use crate::error::{DeleteConflict, IamError as E};
        let cases: Vec<(E, &str, u16, &str)> = vec![
            (
                E::NoSuchUser("bob".into()),
                "NoSuchEntity",
                404,
                "The user with name bob cannot be found.",
            ),
            (
                E::PolicyNotAttachable("arn:aws:iam::111122223333:policy/P".into()),
                "NoSuchEntity",
                404,
                "Policy arn:aws:iam::111122223333:policy/P does not exist or is not attachable.",
            ),
            (
                E::UserExists("bob".into()),
                "EntityAlreadyExists",
                409,
                "User with name bob already exists.",
            ),
            (
                E::PolicyExists("P".into()),
                "EntityAlreadyExists",
                409,
                "A policy called P already exists. Duplicate names are not allowed.",
            ),
            (
                E::MalformedPolicy("Syntax errors in policy.".into()),
                "MalformedPolicyDocument",
                400,
                "Syntax errors in policy.",
            ),
            (
                E::DeleteConflict(DeleteConflict::AccessKeys),
                "DeleteConflict",
                409,
                "Cannot delete entity, must delete access keys first.",
            ),
            (
                E::AccessKeyQuota,
                "LimitExceeded",
                409,
                "Cannot exceed quota for AccessKeysPerUser: 2",
            ),
            (
                E::UserPolicyTooLarge("bob".into()),
                "LimitExceeded",
                409,
                "Maximum policy size of 2048 bytes exceeded for user bob",
            ),
            (
                E::DuplicateTagKeys,
                "InvalidInput",
                400,
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ),
            (
                E::InvalidName(crate::error::NameField::UserName),
                "ValidationError",
                400,
                "The specified value for userName is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-",
            ),
            (
                E::InvalidArn("bare".into()),
                "ValidationError",
                400,
                "Invalid ARN:  Could not be parsed!",
            ),
            (
                E::NoSuchGroup("g".into()),
                "NoSuchEntity",
                404,
                "The group with name g cannot be found.",
            ),
            (
                E::DeleteConflict(DeleteConflict::GroupMembers),
                "DeleteConflict",
                409,
                "Cannot delete entity, must remove users from group first.",
            ),
            (
                E::InstanceProfileRoleQuota,
                "LimitExceeded",
                409,
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1",
            ),
            (
                E::ProtectedRole("AWSServiceRoleForECS".into()),
                "UnmodifiableEntity",
                400,
                "Cannot perform the operation on the protected role 'AWSServiceRoleForECS' - this role is only modifiable by AWS",
            ),
            (
                E::CustomSuffixNotAllowed("ecs.amazonaws.com".into()),
                "InvalidInput",
                400,
                "Custom suffix is not allowed for ecs.amazonaws.com",
            ),
            (
                E::DeleteConflict(DeleteConflict::DefaultPolicyVersion),
                "DeleteConflict",
                409,
                "Cannot delete the default version of a policy.",
            ),
            (
                E::NoSuchOidcProvider("arn:aws:iam::111122223333:oidc-provider/x".into()),
                "NoSuchEntity",
                404,
                "OpenIDConnect Provider not found for arn arn:aws:iam::111122223333:oidc-provider/x",
            ),
            (
                E::OidcProviderExists("https://x".into()),
                "EntityAlreadyExists",
                409,
                "Provider with url https://x already exists.",
            ),
            (
                E::SamlProviderExists("idp".into()),
                "EntityAlreadyExists",
                409,
                "SAMLProvider idp already exists",
            ),
            (
                E::InvalidSaml("Could not parse metadata".into()),
                "InvalidInput",
                400,
                "Could not parse metadata",
            ),
            (
                E::OidcQuota("ClientIdsPerOpenIdConnectProvider", 100),
                "LimitExceeded",
                409,
                "Cannot exceed quota for ClientIdsPerOpenIdConnectProvider: 100",
            ),
        ];
        for (err, code, status, message) in cases {
            let we = Error::from(err).into_aws();
            assert_eq!(
                (we.code, we.status, we.message.as_deref()),
                (code, status, Some(message))
            );
        }
    }

    #[test]
    fn ecs_codes() {
        let cases = [
            (EcsError::Client("x".into()), "ClientException", "x"),
            (
                EcsError::ClusterNotFound,
                "ClusterNotFoundException",
                "Cluster not found.",
            ),
            (
                EcsError::PlatformUnknown,
                "PlatformUnknownException",
                "The specified platform does not exist.",
            ),
            (
                EcsError::PlatformIncompatible,
                "PlatformTaskDefinitionIncompatibilityException",
                "One or more of the requested capabilities are not supported.",
            ),
        ];
        for (e, code, msg) in cases {
            let w = Error::from(e).into_aws();
            assert_eq!(w.code, code);
            assert_eq!(w.status, 400);
            assert_eq!(w.message.as_deref(), Some(msg));
        }
    }

    #[test]
    fn kms_codes() {
        let w = Error::from(KmsError::Disabled("arn:k".into())).into_aws();
        assert_eq!(
            (w.code, w.message.as_deref()),
            ("DisabledException", Some("arn:k is disabled."))
        );
        let w = Error::from(KmsError::InvalidCiphertext).into_aws();
        assert_eq!((w.code, w.message), ("InvalidCiphertextException", None));
        let w = Error::from(KmsError::IncorrectKey).into_aws();
        assert_eq!(w.code, "IncorrectKeyException");
    }

    #[test]
    fn secrets_codes() {
        let w = Error::from(SecretsError::NotFound).into_aws();
        assert_eq!(
            (w.code, w.message.as_deref()),
            (
                "ResourceNotFoundException",
                Some("Secrets Manager can't find the specified secret.")
            )
        );
        let w = Error::from(SecretsError::MarkedForDeletion).into_aws();
        assert_eq!(w.code, "InvalidRequestException");
    }

    #[test]
    fn ssm_codes() {
        let w = Error::from(SsmError::NotFound).into_aws();
        assert_eq!((w.code, w.message), ("ParameterNotFound", None));
        let w = Error::from(SsmError::AlreadyExists).into_aws();
        assert_eq!(
            (w.code, w.message.as_deref()),
            (
                "ParameterAlreadyExists",
                Some(
                    "The parameter already exists. To overwrite this value, set the overwrite option in the request to true."
                )
            )
        );
        let w = Error::from(SsmError::VersionNotFound {
            name: "/a".into(),
            version: "3".into(),
        })
        .into_aws();
        assert_eq!(w.code, "ParameterVersionNotFound");
        assert_eq!(
            w.message.as_deref(),
            Some(
                "Systems Manager could not find version 3 of /a. Verify the version and try again."
            )
        );
        let w = Error::from(SsmError::Reserved("/aws/x".into())).into_aws();
        assert_eq!(w.code, "AccessDeniedException");
    }

    #[test]
    fn logs_codes() {
        let cases = [
            (
                LogsError::GroupNotFound,
                "ResourceNotFoundException",
                "The specified log group does not exist.",
            ),
            (
                LogsError::StreamNotFound,
                "ResourceNotFoundException",
                "The specified log stream does not exist.",
            ),
            (
                LogsError::GroupExists,
                "ResourceAlreadyExistsException",
                "The specified log group already exists",
            ),
            (
                LogsError::InvalidParameter("x".into()),
                "InvalidParameterException",
                "x",
            ),
        ];
        for (e, code, msg) in cases {
            let w = Error::from(e).into_aws();
            assert_eq!(
                (w.status, w.code, w.message.as_deref()),
                (400, code, Some(msg))
            );
        }
    }

    #[test]
    fn simulator_and_sts_failures() {
        let we = Error::InvalidInput("Policy statement must contain actions.".into()).into_aws();
        assert_eq!(
            (we.code, we.status, we.message.as_deref()),
            (
                "InvalidInput",
                400,
                Some("Policy statement must contain actions.")
            )
        );
        let we = Error::InvalidAuthorizationMessage.into_aws();
        assert_eq!(
            (we.code, we.status),
            ("InvalidAuthorizationMessageException", 400)
        );
    }

    #[test]
    fn internal_failures_say_nothing_of_their_cause() {
        let w = Error::Internal("disk on fire".into()).into_aws();
        assert_eq!((w.status, w.code), (500, "InternalFailure"));
        assert!(!w.message.unwrap_or_default().contains("disk"));
    }
}
