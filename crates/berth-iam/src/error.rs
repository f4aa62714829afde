use berth_core::SealError;
use berth_store::StoreError;

use crate::entity::NameField;

/// Errors of the identity domain. The API crate maps each to its wire form in one place.
///
/// Where AWS answers a case with a fixed text, the variant's `Display` is that text, to the
/// letter; berth's own texts are lowercase.
#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("account id must be twelve digits: {0}")]
    InvalidAccountId(String),
    #[error("account {0} already exists")]
    AccountExists(String),
    #[error("access key {0} belongs to another principal")]
    AccessKeyInUse(String),

    // --- not found ---
    #[error("The user with name {0} cannot be found.")]
    NoSuchUser(String),
    #[error("The role with name {0} cannot be found.")]
    NoSuchRole(String),
    #[error("The group with name {0} cannot be found.")]
    NoSuchGroup(String),
    #[error("The group policy with name {0} cannot be found.")]
    NoSuchGroupPolicy(String),
    /// An alias the account does not have (AWS's text is not confirmed).
    #[error("The account alias {0} cannot be found.")]
    NoSuchAccountAlias(String),
    #[error("Instance Profile {0} cannot be found.")]
    NoSuchInstanceProfile(String),
    #[error("The user policy with name {0} cannot be found.")]
    NoSuchUserPolicy(String),
    #[error("The role policy with name {0} cannot be found.")]
    NoSuchRolePolicy(String),
    /// A managed policy looked up (GetPolicy, DeletePolicy) or detached that is not there.
    #[error("Policy {0} was not found.")]
    NoSuchPolicy(String),
    /// A managed policy to attach that is not there (or not visible to the account).
    #[error("Policy {0} does not exist or is not attachable.")]
    PolicyNotAttachable(String),
    #[error("Policy {arn} version {version} does not exist or is not attachable.")]
    NoSuchPolicyVersion { arn: String, version: String },
    /// A permissions boundary that is not an existing managed policy.
    #[error("Scope ARN: {0} does not exist or is not attachable.")]
    BoundaryNotAttachable(String),
    #[error("The Access Key with id {0} cannot be found.")]
    NoSuchAccessKey(String),
    /// An OIDC provider that is not there (AWS's text is not confirmed).
    #[error("OpenIDConnect Provider not found for arn {0}")]
    NoSuchOidcProvider(String),
    /// A SAML provider that is not there (AWS's text is not confirmed).
    #[error("Manifest not found for arn {0}")]
    NoSuchSamlProvider(String),

    // --- already exists ---
    #[error("User with name {0} already exists.")]
    UserExists(String),
    #[error("Role with name {0} already exists.")]
    RoleExists(String),
    #[error("Group with name {0} already exists.")]
    GroupExists(String),
    /// An alias another account has (AWS's text is not confirmed).
    #[error("The account alias {0} already exists.")]
    AccountAliasExists(String),
    #[error("Instance Profile {0} already exists.")]
    InstanceProfileExists(String),
    #[error("A policy called {0} already exists. Duplicate names are not allowed.")]
    PolicyExists(String),
    /// An OIDC provider of the same issuer (AWS's text is not confirmed).
    #[error("Provider with url {0} already exists.")]
    OidcProviderExists(String),
    /// A SAML provider of the same name (AWS's text is not confirmed).
    #[error("SAMLProvider {0} already exists")]
    SamlProviderExists(String),

    // --- bad input ---
    /// The policy engine's `MalformedPolicyDocument` text.
    #[error("{0}")]
    MalformedPolicy(String),
    #[error(
        "The specified value for {} is invalid. It must contain only alphanumeric characters and/or the following: +=,.@_-",
        .0.wire_name()
    )]
    InvalidName(NameField),
    #[error(
        "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters."
    )]
    InvalidPath,
    /// A string given as a policy ARN that is not an ARN at all (AWS's text, two spaces
    /// included).
    #[error("Invalid ARN:  Could not be parsed!")]
    InvalidArn(String),
    /// A permissions boundary ARN that is not a policy ARN.
    #[error("ARN {0} is not valid.")]
    InvalidBoundaryArn(String),
    #[error("Duplicate tag keys found. Please note that Tag keys are case insensitive.")]
    DuplicateTagKeys,
    /// An OIDC provider's URL or thumbprints that IAM refuses (AWS's texts are not confirmed).
    #[error("{0}")]
    InvalidOidc(String),
    /// More client ids than a provider takes.
    #[error("Cannot exceed quota for {0}: {1}")]
    OidcQuota(&'static str, usize),
    /// A metadata document IAM cannot read.
    #[error("{0}")]
    InvalidSaml(String),
    /// A call that defaults to the caller's own user, made with credentials that are not a
    /// user's (a role session).
    #[error("Must specify userName when calling with non-User credentials")]
    NonUserCredentials,

    // --- quotas ---
    #[error("Cannot exceed quota for AccessKeysPerUser: 2")]
    AccessKeyQuota,
    #[error("Maximum policy size of 2048 bytes exceeded for user {0}")]
    UserPolicyTooLarge(String),
    #[error("Maximum policy size of 10240 bytes exceeded for role {0}")]
    RolePolicyTooLarge(String),
    #[error("Maximum policy size of 5120 bytes exceeded for group {0}")]
    GroupPolicyTooLarge(String),
    #[error("Cannot exceed quota for GroupsPerUser: 10")]
    GroupsPerUserQuota,
    #[error("Cannot exceed quota for InstanceSessionsPerInstanceProfile: 1")]
    InstanceProfileRoleQuota,
    /// AWS's text as its documentation gives it; not confirmed against the live API.
    #[error(
        "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version."
    )]
    PolicyVersionQuota,
    #[error("Cannot exceed quota for PolicySize: 6144")]
    ManagedPolicyTooLarge,
    #[error("Cannot exceed quota for ACLSizePerRole: 2048")]
    TrustPolicyTooLarge,
    #[error("Cannot exceed quota for {quota}: {limit}")]
    AttachedPolicyQuota { quota: &'static str, limit: usize },
    /// Unsure: AWS's text for more than 50 tags after TagRole is not confirmed.
    #[error("Cannot exceed quota for TagsPerRole: 50")]
    TagQuota,

    /// A change to a role only AWS may change (a service-linked role).
    #[error(
        "Cannot perform the operation on the protected role '{0}' - this role is only modifiable by AWS"
    )]
    ProtectedRole(String),
    #[error("Custom suffix is not allowed for {0}")]
    CustomSuffixNotAllowed(String),
    #[error("Service role name {0} has been taken in this account, please try a different suffix.")]
    ServiceRoleNameTaken(String),
    /// A service berth has no service-linked role for (berth's own text).
    #[error("berth does not know the service-linked role of {0}")]
    UnknownLinkedService(String),
    /// DeleteServiceLinkedRole on a role that is not service-linked (berth's own text: AWS's
    /// is not confirmed).
    #[error("role {0} is not a service-linked role")]
    NotServiceLinked(String),
    /// A deletion task id that berth did not hand out (berth's own text).
    #[error("deletion task {0} not found")]
    NoSuchDeletionTask(String),

    // --- conflicts ---
    #[error("{0}")]
    DeleteConflict(DeleteConflict),
    #[error("Cannot delete policies outside your own account.")]
    AwsManagedPolicy,
    /// A change to an AWS managed policy (berth's own text: AWS's is not confirmed).
    #[error("policy {0} is managed by AWS and only AWS changes it")]
    AwsManagedPolicyChange(String),

    /// A login profile's, a password's or an MFA device's failure.
    #[error(transparent)]
    Cred(#[from] crate::cred_error::CredError),

    #[error("stored secret does not open: {0}")]
    Seal(#[from] SealError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What keeps an entity from being deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DeleteConflict {
    #[error("Cannot delete entity, must delete access keys first.")]
    AccessKeys,
    #[error("Cannot delete entity, must delete policies first.")]
    InlinePolicies,
    #[error("Cannot delete entity, must detach all policies first.")]
    AttachedPolicies,
    /// A group that still has users; a user that is still in a group.
    #[error("Cannot delete entity, must remove users from group first.")]
    GroupMembers,
    /// An instance profile that still holds a role; a role still in an instance profile.
    #[error("Cannot delete entity, must remove roles from instance profile first.")]
    InstanceProfileRoles,
    /// The default version of a managed policy (AWS's text, not confirmed against the live API).
    #[error("Cannot delete the default version of a policy.")]
    DefaultPolicyVersion,
    /// A managed policy with versions besides its default.
    #[error(
        "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy."
    )]
    PolicyVersions,
    /// A managed policy still attached to, or bounding, a user or role.
    #[error("Cannot delete a policy attached to entities.")]
    PolicyInUse,
}
