//! The typed inputs and outputs of the IAM operations, with the botocore model's member names
//! in snake case. An input holds what its wire decoder accepted: required members are present
//! and every member meets the model's constraints (lengths, patterns, ranges, enums).

// The domain's records, as the outputs carry them.
pub use berth_iam::{
    AccessKeyInfo, AttachedPolicy, CreatedAccessKey, DeletionStatus, EntityKind, Group,
    InstanceProfile, InstanceProfileInfo, KeyStatus, ListOptions, MAX_TAGS, ManagedPolicy, Page,
    PolicyEntity, PolicyInfo, PolicyScope, PolicyUsage, PolicyVersion, Role, Tag, User,
};

/// `Marker` and `MaxItems` of a List operation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Paging {
    pub marker: Option<String>,
    /// 1–1000; absent means 100.
    pub max_items: Option<usize>,
}

impl Paging {
    /// The page to read, as the domain takes it.
    pub fn options(&self) -> ListOptions<'_> {
        ListOptions {
            marker: self.marker.as_deref(),
            max_items: self.max_items.unwrap_or(100).clamp(1, 1000),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Users and access keys.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct CreateUserInput {
    pub path: Option<String>,
    pub user_name: String,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct CreateUserOutput {
    pub user: User,
}

/// Without `user_name`: the calling user, or the root user.
#[derive(Debug, Clone, Default)]
pub struct GetUserInput {
    pub user_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GetUserOutput {
    pub user: GotUser,
}

/// The user GetUser shows.
#[derive(Debug, Clone)]
pub enum GotUser {
    User(User),
    /// The root user: no name, no path (AWS's answer as observed; it is not in the API
    /// reference). Its id is the account's.
    Root {
        account: String,
        arn: String,
        created_at: u64,
    },
}

#[derive(Debug, Clone, Default)]
pub struct DeleteUserInput {
    pub user_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListUsersInput {
    pub path_prefix: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListUsersOutput {
    pub users: Page<User>,
}

/// Without `user_name`: the calling user's own keys, or the root user's.
#[derive(Debug, Clone, Default)]
pub struct CreateAccessKeyInput {
    pub user_name: Option<String>,
}

/// The new key with its secret: the only time the secret is shown.
pub struct CreateAccessKeyOutput {
    pub access_key: CreatedAccessKey,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteAccessKeyInput {
    pub user_name: Option<String>,
    pub access_key_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListAccessKeysInput {
    pub user_name: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListAccessKeysOutput {
    pub access_key_metadata: Page<AccessKeyInfo>,
}

// ---------------------------------------------------------------------------------------------
// Roles.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct CreateRoleInput {
    pub path: Option<String>,
    pub role_name: String,
    pub assume_role_policy_document: String,
    pub description: Option<String>,
    /// 3600–43200 seconds.
    pub max_session_duration: Option<u32>,
    pub permissions_boundary: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct CreateRoleOutput {
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct GetRoleInput {
    pub role_name: String,
}

#[derive(Debug, Clone)]
pub struct GetRoleOutput {
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteRoleInput {
    pub role_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListRolesInput {
    pub path_prefix: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListRolesOutput {
    pub roles: Page<Role>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateAssumeRolePolicyInput {
    pub role_name: String,
    pub policy_document: String,
}

#[derive(Debug, Clone, Default)]
pub struct PutRolePermissionsBoundaryInput {
    pub role_name: String,
    pub permissions_boundary: String,
}

#[derive(Debug, Clone, Default)]
pub struct TagRoleInput {
    pub role_name: String,
    pub tags: Vec<Tag>,
}

// ---------------------------------------------------------------------------------------------
// Inline and attached policies of users and roles.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct PutUserPolicyInput {
    pub user_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Clone, Default)]
pub struct PutRolePolicyInput {
    pub role_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Clone, Default)]
pub struct GetUserPolicyInput {
    pub user_name: String,
    pub policy_name: String,
}

/// The document as stored (the wire URL-encodes it).
#[derive(Debug, Clone)]
pub struct GetUserPolicyOutput {
    pub user_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Clone, Default)]
pub struct GetRolePolicyInput {
    pub role_name: String,
    pub policy_name: String,
}

/// The document as stored (the wire URL-encodes it).
#[derive(Debug, Clone)]
pub struct GetRolePolicyOutput {
    pub role_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteUserPolicyInput {
    pub user_name: String,
    pub policy_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteRolePolicyInput {
    pub role_name: String,
    pub policy_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListUserPoliciesInput {
    pub user_name: String,
    pub paging: Paging,
}

#[derive(Debug, Clone, Default)]
pub struct ListRolePoliciesInput {
    pub role_name: String,
    pub paging: Paging,
}

/// The inline policies' names (ListUserPolicies, ListRolePolicies).
#[derive(Debug, Clone)]
pub struct ListPolicyNamesOutput {
    pub policy_names: Page<String>,
}

pub type ListUserPoliciesOutput = ListPolicyNamesOutput;
pub type ListRolePoliciesOutput = ListPolicyNamesOutput;

#[derive(Debug, Clone, Default)]
pub struct AttachUserPolicyInput {
    pub user_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Clone, Default)]
pub struct AttachRolePolicyInput {
    pub role_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Clone, Default)]
pub struct DetachUserPolicyInput {
    pub user_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Clone, Default)]
pub struct DetachRolePolicyInput {
    pub role_name: String,
    pub policy_arn: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListAttachedUserPoliciesInput {
    pub user_name: String,
    pub path_prefix: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone, Default)]
pub struct ListAttachedRolePoliciesInput {
    pub role_name: String,
    pub path_prefix: Option<String>,
    pub paging: Paging,
}

/// The managed policies attached to a user or role.
#[derive(Debug, Clone)]
pub struct ListAttachedPoliciesOutput {
    pub attached_policies: Page<AttachedPolicy>,
}

pub type ListAttachedUserPoliciesOutput = ListAttachedPoliciesOutput;
pub type ListAttachedRolePoliciesOutput = ListAttachedPoliciesOutput;

// ---------------------------------------------------------------------------------------------
// Managed policies.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct CreatePolicyInput {
    pub policy_name: String,
    pub path: Option<String>,
    pub policy_document: String,
    pub description: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct CreatePolicyOutput {
    pub policy: PolicyInfo,
}

#[derive(Debug, Clone, Default)]
pub struct GetPolicyInput {
    pub policy_arn: String,
}

#[derive(Debug, Clone)]
pub struct GetPolicyOutput {
    pub policy: PolicyInfo,
}

#[derive(Debug, Clone, Default)]
pub struct GetPolicyVersionInput {
    pub policy_arn: String,
    pub version_id: String,
}

/// The version's document as stored (the wire URL-encodes it).
#[derive(Debug, Clone)]
pub struct GetPolicyVersionOutput {
    pub policy_version: PolicyVersion,
}

#[derive(Debug, Clone, Default)]
pub struct DeletePolicyInput {
    pub policy_arn: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListPoliciesInput {
    pub scope: PolicyScope,
    pub only_attached: bool,
    pub path_prefix: Option<String>,
    pub policy_usage_filter: Option<PolicyUsage>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListPoliciesOutput {
    pub policies: Page<PolicyInfo>,
}

// ---------------------------------------------------------------------------------------------
// Groups.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct CreateGroupInput {
    pub path: Option<String>,
    pub group_name: String,
}

#[derive(Debug, Clone)]
pub struct CreateGroupOutput {
    pub group: Group,
}

#[derive(Debug, Clone, Default)]
pub struct GetGroupInput {
    pub group_name: String,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct GetGroupOutput {
    pub group: Group,
    pub users: Page<User>,
}

#[derive(Debug, Clone, Default)]
pub struct ListGroupsInput {
    pub path_prefix: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListGroupsOutput {
    pub groups: Page<Group>,
}

#[derive(Debug, Clone, Default)]
pub struct ListGroupsForUserInput {
    pub user_name: String,
    pub paging: Paging,
}

pub type ListGroupsForUserOutput = ListGroupsOutput;

#[derive(Debug, Clone, Default)]
pub struct UpdateGroupInput {
    pub group_name: String,
    pub new_path: Option<String>,
    pub new_group_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteGroupInput {
    pub group_name: String,
}

/// AddUserToGroup and RemoveUserFromGroup.
#[derive(Debug, Clone, Default)]
pub struct GroupMembershipInput {
    pub group_name: String,
    pub user_name: String,
}

pub type AddUserToGroupInput = GroupMembershipInput;
pub type RemoveUserFromGroupInput = GroupMembershipInput;

#[derive(Debug, Clone, Default)]
pub struct PutGroupPolicyInput {
    pub group_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Clone, Default)]
pub struct GroupPolicyInput {
    pub group_name: String,
    pub policy_name: String,
}

pub type GetGroupPolicyInput = GroupPolicyInput;
pub type DeleteGroupPolicyInput = GroupPolicyInput;

#[derive(Debug, Clone)]
pub struct GetGroupPolicyOutput {
    pub group_name: String,
    pub policy_name: String,
    pub policy_document: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListGroupPoliciesInput {
    pub group_name: String,
    pub paging: Paging,
}

pub type ListGroupPoliciesOutput = ListPolicyNamesOutput;

/// AttachGroupPolicy and DetachGroupPolicy.
#[derive(Debug, Clone, Default)]
pub struct GroupPolicyArnInput {
    pub group_name: String,
    pub policy_arn: String,
}

pub type AttachGroupPolicyInput = GroupPolicyArnInput;
pub type DetachGroupPolicyInput = GroupPolicyArnInput;

#[derive(Debug, Clone, Default)]
pub struct ListAttachedGroupPoliciesInput {
    pub group_name: String,
    pub path_prefix: Option<String>,
    pub paging: Paging,
}

pub type ListAttachedGroupPoliciesOutput = ListAttachedPoliciesOutput;

// ---------------------------------------------------------------------------------------------
// Instance profiles.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct CreateInstanceProfileInput {
    pub instance_profile_name: String,
    pub path: Option<String>,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone)]
pub struct InstanceProfileOutput {
    pub instance_profile: InstanceProfileInfo,
}

pub type CreateInstanceProfileOutput = InstanceProfileOutput;
pub type GetInstanceProfileOutput = InstanceProfileOutput;

/// GetInstanceProfile and DeleteInstanceProfile.
#[derive(Debug, Clone, Default)]
pub struct InstanceProfileNameInput {
    pub instance_profile_name: String,
}

pub type GetInstanceProfileInput = InstanceProfileNameInput;
pub type DeleteInstanceProfileInput = InstanceProfileNameInput;

#[derive(Debug, Clone, Default)]
pub struct ListInstanceProfilesInput {
    pub path_prefix: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListInstanceProfilesOutput {
    pub instance_profiles: Page<InstanceProfileInfo>,
}

#[derive(Debug, Clone, Default)]
pub struct ListInstanceProfilesForRoleInput {
    pub role_name: String,
    pub paging: Paging,
}

pub type ListInstanceProfilesForRoleOutput = ListInstanceProfilesOutput;

/// AddRoleToInstanceProfile and RemoveRoleFromInstanceProfile.
#[derive(Debug, Clone, Default)]
pub struct InstanceProfileRoleInput {
    pub instance_profile_name: String,
    pub role_name: String,
}

pub type AddRoleToInstanceProfileInput = InstanceProfileRoleInput;
pub type RemoveRoleFromInstanceProfileInput = InstanceProfileRoleInput;

#[derive(Debug, Clone, Default)]
pub struct TagInstanceProfileInput {
    pub instance_profile_name: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UntagInstanceProfileInput {
    pub instance_profile_name: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListInstanceProfileTagsInput {
    pub instance_profile_name: String,
    pub paging: Paging,
}

/// The tags of ListInstanceProfileTags (and the other List…Tags).
#[derive(Debug, Clone)]
pub struct ListTagsOutput {
    pub tags: Page<Tag>,
}

pub type ListInstanceProfileTagsOutput = ListTagsOutput;

// ---------------------------------------------------------------------------------------------
// Service-linked roles.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct CreateServiceLinkedRoleInput {
    pub aws_service_name: String,
    pub description: Option<String>,
    pub custom_suffix: Option<String>,
}

#[derive(Debug, Clone)]
pub struct CreateServiceLinkedRoleOutput {
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteServiceLinkedRoleInput {
    pub role_name: String,
}

#[derive(Debug, Clone)]
pub struct DeleteServiceLinkedRoleOutput {
    pub deletion_task_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct GetServiceLinkedRoleDeletionStatusInput {
    pub deletion_task_id: String,
}

#[derive(Debug, Clone)]
pub struct GetServiceLinkedRoleDeletionStatusOutput {
    pub status: DeletionStatus,
}

// ---------------------------------------------------------------------------------------------
// Managed policy versions, entities and tags.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct CreatePolicyVersionInput {
    pub policy_arn: String,
    pub policy_document: String,
    pub set_as_default: bool,
}

#[derive(Debug, Clone)]
pub struct CreatePolicyVersionOutput {
    pub policy_version: PolicyVersion,
}

#[derive(Debug, Clone, Default)]
pub struct ListPolicyVersionsInput {
    pub policy_arn: String,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListPolicyVersionsOutput {
    pub versions: Page<PolicyVersion>,
}

/// DeletePolicyVersion and SetDefaultPolicyVersion.
#[derive(Debug, Clone, Default)]
pub struct PolicyVersionIdInput {
    pub policy_arn: String,
    pub version_id: String,
}

pub type DeletePolicyVersionInput = PolicyVersionIdInput;
pub type SetDefaultPolicyVersionInput = PolicyVersionIdInput;

#[derive(Debug, Clone, Default)]
pub struct ListEntitiesForPolicyInput {
    pub policy_arn: String,
    /// `User`, `Role` or `Group`; `LocalManagedPolicy` and `AWSManagedPolicy` filter nothing.
    pub entity_filter: Option<EntityKind>,
    pub path_prefix: Option<String>,
    pub policy_usage_filter: Option<PolicyUsage>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListEntitiesForPolicyOutput {
    pub entities: Page<PolicyEntity>,
}

#[derive(Debug, Clone, Default)]
pub struct TagPolicyInput {
    pub policy_arn: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UntagPolicyInput {
    pub policy_arn: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListPolicyTagsInput {
    pub policy_arn: String,
    pub paging: Paging,
}

pub type ListPolicyTagsOutput = ListTagsOutput;

// ---------------------------------------------------------------------------------------------
// Users in full, and the account.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct PutUserPermissionsBoundaryInput {
    pub user_name: String,
    pub permissions_boundary: String,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteUserPermissionsBoundaryInput {
    pub user_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteRolePermissionsBoundaryInput {
    pub role_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateUserInput {
    pub user_name: String,
    pub new_path: Option<String>,
    pub new_user_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TagUserInput {
    pub user_name: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UntagUserInput {
    pub user_name: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListUserTagsInput {
    pub user_name: String,
    pub paging: Paging,
}

pub type ListUserTagsOutput = ListTagsOutput;

#[derive(Debug, Clone)]
pub struct UpdateAccessKeyInput {
    pub user_name: Option<String>,
    pub access_key_id: String,
    pub status: KeyStatus,
}

#[derive(Debug, Clone, Default)]
pub struct GetAccessKeyLastUsedInput {
    pub access_key_id: String,
}

/// berth does not record key use: the answer is AWS's for a key never used.
#[derive(Debug, Clone)]
pub struct GetAccessKeyLastUsedOutput {
    /// `None` for one of the root user's keys.
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct GetAccountSummaryInput {}

#[derive(Debug, Clone)]
pub struct GetAccountSummaryOutput {
    pub summary_map: Vec<(&'static str, u64)>,
}

/// CreateAccountAlias and DeleteAccountAlias.
#[derive(Debug, Clone, Default)]
pub struct AccountAliasInput {
    pub account_alias: String,
}

pub type CreateAccountAliasInput = AccountAliasInput;
pub type DeleteAccountAliasInput = AccountAliasInput;

#[derive(Debug, Clone, Default)]
pub struct ListAccountAliasesInput {
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListAccountAliasesOutput {
    pub account_aliases: Page<String>,
}

// ---------------------------------------------------------------------------------------------
// Roles, continued.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct UpdateRoleInput {
    pub role_name: String,
    pub description: Option<String>,
    /// 3600–43200 seconds.
    pub max_session_duration: Option<u32>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateRoleDescriptionInput {
    pub role_name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct UpdateRoleDescriptionOutput {
    pub role: Role,
}

#[derive(Debug, Clone, Default)]
pub struct UntagRoleInput {
    pub role_name: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListRoleTagsInput {
    pub role_name: String,
    pub paging: Paging,
}

pub type ListRoleTagsOutput = ListTagsOutput;

// ---------------------------------------------------------------------------------------------
// A user's credential lists, and the identity providers berth has none of.
// ---------------------------------------------------------------------------------------------

/// ListMFADevices, ListSSHPublicKeys, ListSigningCertificates:
/// a user's (without `user_name`: the caller's own).
#[derive(Debug, Clone, Default)]
pub struct ListUserCredentialsInput {
    pub user_name: Option<String>,
    pub paging: Paging,
}

pub type ListMfaDevicesInput = ListUserCredentialsInput;
pub type ListSshPublicKeysInput = ListUserCredentialsInput;
pub type ListSigningCertificatesInput = ListUserCredentialsInput;

/// ListSAMLProviders, ListOpenIDConnectProviders.
#[derive(Debug, Clone, Default)]
pub struct ListAccountCredentialsInput {
    pub paging: Paging,
}

pub type ListSamlProvidersInput = ListAccountCredentialsInput;
pub type ListOpenIdConnectProvidersInput = ListAccountCredentialsInput;

/// An empty list: berth has no way to make what it lists. `list` is the model's member name.
#[derive(Debug, Clone)]
pub struct EmptyListOutput {
    pub list: &'static str,
    /// Whether the output has `IsTruncated` (the identity provider lists have not).
    pub paged: bool,
}
