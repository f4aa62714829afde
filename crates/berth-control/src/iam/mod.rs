//! The IAM use cases: users and their access keys, roles, inline and attached policies, and
//! customer managed policies.
//!
//! Each authorises the call on the resource as AWS names it (the user's or role's ARN with its
//! path when it exists, the ARN it would have otherwise), then acts through `berth-iam`.

pub mod access;
mod certs;
mod credentials;
mod details;
mod oidc;
mod reports;
mod saml;
mod sim;
mod types;

pub use access::*;
pub use certs::*;
pub use credentials::*;
pub use details::*;
pub use oidc::*;
pub use reports::*;
pub use saml::*;
pub use sim::*;
pub use types::*;

use berth_iam::{IamError, KeyHolder, NewPolicy, NewRole, NewUser, PolicyFilter, Principal};

use crate::authz::{Check, authorize};
use crate::{Ctx, Error};

// ---------------------------------------------------------------------------------------------
// Resources and callers.
// ---------------------------------------------------------------------------------------------

/// The user's ARN (with its path when the user exists).
fn user_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, Error> {
    Ok(match ctx.control.iam().find_user(ctx.account(), name)? {
        Some(u) => u.arn(),
        None => format!("arn:aws:iam::{}:user/{name}", ctx.account()),
    })
}

/// The role's ARN (with its path when the role exists).
fn role_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, Error> {
    Ok(match ctx.control.iam().role(ctx.account(), name)? {
        Some(r) => r.arn(),
        None => format!("arn:aws:iam::{}:role/{name}", ctx.account()),
    })
}

/// The group's ARN (with its path when the group exists).
fn group_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, Error> {
    Ok(match ctx.control.iam().find_group(ctx.account(), name)? {
        Some(g) => g.arn(),
        None => format!("arn:aws:iam::{}:group/{name}", ctx.account()),
    })
}

/// The instance profile's ARN (with its path when the profile exists).
fn instance_profile_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, Error> {
    Ok(
        match ctx
            .control
            .iam()
            .find_instance_profile(ctx.account(), name)?
        {
            Some(p) => p.arn(),
            None => format!("arn:aws:iam::{}:instance-profile/{name}", ctx.account()),
        },
    )
}

/// Whose keys a call without `UserName` is about: the calling user's own, or the root user's.
/// A role session must name the user.
fn key_holder<'a>(ctx: &'a Ctx<'_>, given: Option<&'a str>) -> Result<KeyHolder<'a>, Error> {
    if let Some(name) = given {
        return Ok(KeyHolder::User(name));
    }
    match &ctx.caller.principal {
        Principal::Root { .. } => Ok(KeyHolder::Root),
        Principal::User { name, .. } => Ok(KeyHolder::User(name)),
        Principal::AssumedRole { .. } | Principal::FederatedUser { .. } => {
            Err(IamError::NonUserCredentials.into())
        }
    }
}

fn holder_arn(ctx: &Ctx<'_>, holder: KeyHolder<'_>) -> Result<String, Error> {
    match holder {
        KeyHolder::Root => Ok(format!("arn:aws:iam::{}:root", ctx.account())),
        KeyHolder::User(name) => user_arn(ctx, name),
    }
}

/// The resource of a List call over one kind of entity, as AWS names it in a denial:
/// `arn:aws:iam::ACCOUNT:{kind}/`.
fn list_resource(ctx: &Ctx<'_>, kind: &str) -> String {
    format!("arn:aws:iam::{}:{kind}/", ctx.account())
}

/// The ARN a new user, role or policy gets: `arn:aws:iam::ACCOUNT:{kind}{path}{name}`.
fn new_arn(ctx: &Ctx<'_>, kind: &str, path: Option<&str>, name: &str) -> String {
    format!(
        "arn:aws:iam::{}:{kind}{}{name}",
        ctx.account(),
        path.unwrap_or("/")
    )
}

/// A create call's check, with `iam:PermissionsBoundary` when a boundary is given.
fn create_check<'a>(action: &'a str, arn: &'a str, boundary: Option<&str>) -> Check<'a> {
    let check = Check::new(action, arn);
    match boundary {
        Some(b) => check.with_context("iam:PermissionsBoundary", b),
        None => check,
    }
}

// ---------------------------------------------------------------------------------------------
// Users and access keys.
// ---------------------------------------------------------------------------------------------

pub fn create_user(ctx: &Ctx<'_>, input: CreateUserInput) -> Result<CreateUserOutput, Error> {
    let arn = new_arn(ctx, "user", input.path.as_deref(), &input.user_name);
    let boundary = input.permissions_boundary.as_deref();
    authorize(ctx, &create_check("iam:CreateUser", &arn, boundary))?;
    let user = ctx.control.iam().create_user(
        ctx.account(),
        NewUser {
            name: &input.user_name,
            path: input.path.as_deref(),
            permissions_boundary: boundary,
            tags: input.tags,
        },
        ctx.now_secs(),
    )?;
    Ok(CreateUserOutput { user })
}

pub fn get_user(ctx: &Ctx<'_>, input: GetUserInput) -> Result<GetUserOutput, Error> {
    let iam = ctx.control.iam();
    let name = match (input.user_name.as_deref(), &ctx.caller.principal) {
        (Some(n), _) => n,
        (None, Principal::User { name, .. }) => name.as_str(),
        (None, Principal::Root { account }) => {
            let arn = format!("arn:aws:iam::{account}:root");
            ctx.authorize("iam:GetUser", &arn)?;
            let created_at = iam.account(account)?.map(|a| a.created_at).unwrap_or(0);
            return Ok(GetUserOutput {
                user: GotUser::Root {
                    account: account.clone(),
                    arn,
                    created_at,
                },
            });
        }
        (None, Principal::AssumedRole { .. } | Principal::FederatedUser { .. }) => {
            return Err(IamError::NonUserCredentials.into());
        }
    };
    ctx.authorize("iam:GetUser", &user_arn(ctx, name)?)?;
    let user = iam.get_user(ctx.account(), name)?;
    Ok(GetUserOutput {
        user: GotUser::User(user),
    })
}

pub fn delete_user(ctx: &Ctx<'_>, input: DeleteUserInput) -> Result<(), Error> {
    ctx.authorize("iam:DeleteUser", &user_arn(ctx, &input.user_name)?)?;
    ctx.control
        .iam()
        .delete_user(ctx.account(), &input.user_name)?;
    Ok(())
}

pub fn list_users(ctx: &Ctx<'_>, input: ListUsersInput) -> Result<ListUsersOutput, Error> {
    ctx.authorize("iam:ListUsers", &list_resource(ctx, "user"))?;
    let users = ctx.control.iam().list_users(
        ctx.account(),
        input.path_prefix.as_deref(),
        input.paging.options(),
    )?;
    Ok(ListUsersOutput { users })
}

pub fn create_access_key(
    ctx: &Ctx<'_>,
    input: CreateAccessKeyInput,
) -> Result<CreateAccessKeyOutput, Error> {
    let holder = key_holder(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:CreateAccessKey", &holder_arn(ctx, holder)?)?;
    let access_key = ctx
        .control
        .iam()
        .create_access_key(ctx.account(), holder, ctx.now_secs())?;
    Ok(CreateAccessKeyOutput { access_key })
}

pub fn delete_access_key(ctx: &Ctx<'_>, input: DeleteAccessKeyInput) -> Result<(), Error> {
    let holder = key_holder(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:DeleteAccessKey", &holder_arn(ctx, holder)?)?;
    ctx.control
        .iam()
        .delete_access_key(ctx.account(), holder, &input.access_key_id)?;
    Ok(())
}

pub fn list_access_keys(
    ctx: &Ctx<'_>,
    input: ListAccessKeysInput,
) -> Result<ListAccessKeysOutput, Error> {
    let holder = key_holder(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:ListAccessKeys", &holder_arn(ctx, holder)?)?;
    let access_key_metadata =
        ctx.control
            .iam()
            .list_access_keys(ctx.account(), holder, input.paging.options())?;
    Ok(ListAccessKeysOutput {
        access_key_metadata,
    })
}

// ---------------------------------------------------------------------------------------------
// Roles.
// ---------------------------------------------------------------------------------------------

pub fn create_role(ctx: &Ctx<'_>, input: CreateRoleInput) -> Result<CreateRoleOutput, Error> {
    let arn = new_arn(ctx, "role", input.path.as_deref(), &input.role_name);
    let boundary = input.permissions_boundary.as_deref();
    authorize(ctx, &create_check("iam:CreateRole", &arn, boundary))?;
    let role = ctx.control.iam().create_role(
        ctx.account(),
        NewRole {
            name: &input.role_name,
            path: input.path.as_deref(),
            assume_role_policy: &input.assume_role_policy_document,
            description: input.description.as_deref(),
            max_session_duration: input.max_session_duration,
            permissions_boundary: boundary,
            tags: input.tags,
        },
        ctx.now_secs(),
    )?;
    Ok(CreateRoleOutput { role })
}

pub fn get_role(ctx: &Ctx<'_>, input: GetRoleInput) -> Result<GetRoleOutput, Error> {
    ctx.authorize("iam:GetRole", &role_arn(ctx, &input.role_name)?)?;
    let role = ctx
        .control
        .iam()
        .get_role(ctx.account(), &input.role_name)?;
    Ok(GetRoleOutput { role })
}

pub fn delete_role(ctx: &Ctx<'_>, input: DeleteRoleInput) -> Result<(), Error> {
    ctx.authorize("iam:DeleteRole", &role_arn(ctx, &input.role_name)?)?;
    ctx.control
        .iam()
        .delete_role(ctx.account(), &input.role_name)?;
    Ok(())
}

pub fn list_roles(ctx: &Ctx<'_>, input: ListRolesInput) -> Result<ListRolesOutput, Error> {
    ctx.authorize("iam:ListRoles", &list_resource(ctx, "role"))?;
    let roles = ctx.control.iam().list_roles(
        ctx.account(),
        input.path_prefix.as_deref(),
        input.paging.options(),
    )?;
    Ok(ListRolesOutput { roles })
}

pub fn update_assume_role_policy(
    ctx: &Ctx<'_>,
    input: UpdateAssumeRolePolicyInput,
) -> Result<(), Error> {
    ctx.authorize(
        "iam:UpdateAssumeRolePolicy",
        &role_arn(ctx, &input.role_name)?,
    )?;
    ctx.control.iam().update_assume_role_policy(
        ctx.account(),
        &input.role_name,
        &input.policy_document,
    )?;
    Ok(())
}

pub fn put_role_permissions_boundary(
    ctx: &Ctx<'_>,
    input: PutRolePermissionsBoundaryInput,
) -> Result<(), Error> {
    let arn = role_arn(ctx, &input.role_name)?;
    authorize(
        ctx,
        &Check::new("iam:PutRolePermissionsBoundary", &arn).with_context(
            "iam:PermissionsBoundary",
            input.permissions_boundary.as_str(),
        ),
    )?;
    ctx.control.iam().put_role_permissions_boundary(
        ctx.account(),
        &input.role_name,
        &input.permissions_boundary,
    )?;
    Ok(())
}

pub fn tag_role(ctx: &Ctx<'_>, input: TagRoleInput) -> Result<(), Error> {
    ctx.authorize("iam:TagRole", &role_arn(ctx, &input.role_name)?)?;
    ctx.control
        .iam()
        .tag_role(ctx.account(), &input.role_name, input.tags)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Inline and attached policies of users and roles.
// ---------------------------------------------------------------------------------------------

/// The user or role whose policies an operation is about.
#[derive(Clone, Copy)]
enum Holder<'a> {
    User(&'a str),
    Role(&'a str),
    Group(&'a str),
}

impl<'a> Holder<'a> {
    fn kind(self) -> (EntityKind, &'a str) {
        match self {
            Holder::User(name) => (EntityKind::User, name),
            Holder::Role(name) => (EntityKind::Role, name),
            Holder::Group(name) => (EntityKind::Group, name),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Holder::User(_) => "User",
            Holder::Role(_) => "Role",
            Holder::Group(_) => "Group",
        }
    }

    fn arn(self, ctx: &Ctx<'_>) -> Result<String, Error> {
        match self {
            Holder::User(name) => user_arn(ctx, name),
            Holder::Role(name) => role_arn(ctx, name),
            Holder::Group(name) => group_arn(ctx, name),
        }
    }

    /// Authorises `iam:{verb}UserPolicy` / `iam:{verb}RolePolicy` (`…Policies` when
    /// `plural`) on the holder, with the attached policy's ARN as `iam:PolicyARN` if given.
    fn authorize(
        self,
        ctx: &Ctx<'_>,
        verb: &str,
        plural: bool,
        policy_arn: Option<&str>,
    ) -> Result<(), Error> {
        let noun = if plural { "Policies" } else { "Policy" };
        let action = format!("iam:{verb}{}{noun}", self.name());
        let arn = self.arn(ctx)?;
        let check = Check::new(&action, &arn);
        match policy_arn {
            Some(p) => authorize(ctx, &check.with_context("iam:PolicyARN", p)),
            None => authorize(ctx, &check),
        }
    }
}

fn put_inline(
    ctx: &Ctx<'_>,
    holder: Holder<'_>,
    policy: &str,
    document: &str,
) -> Result<(), Error> {
    holder.authorize(ctx, "Put", false, None)?;
    let (kind, name) = holder.kind();
    ctx.control
        .iam()
        .put_inline_policy(kind, ctx.account(), name, policy, document)?;
    Ok(())
}

/// The holder's stored name and its inline policy `policy`.
fn get_inline(
    ctx: &Ctx<'_>,
    holder: Holder<'_>,
    policy: &str,
) -> Result<(String, berth_iam::InlinePolicy), Error> {
    holder.authorize(ctx, "Get", false, None)?;
    let (kind, name) = holder.kind();
    Ok(ctx
        .control
        .iam()
        .get_inline_policy(kind, ctx.account(), name, policy)?)
}

fn delete_inline(ctx: &Ctx<'_>, holder: Holder<'_>, policy: &str) -> Result<(), Error> {
    holder.authorize(ctx, "Delete", false, None)?;
    let (kind, name) = holder.kind();
    ctx.control
        .iam()
        .delete_inline_policy(kind, ctx.account(), name, policy)?;
    Ok(())
}

fn list_inline(
    ctx: &Ctx<'_>,
    holder: Holder<'_>,
    paging: &Paging,
) -> Result<ListPolicyNamesOutput, Error> {
    holder.authorize(ctx, "List", true, None)?;
    let (kind, name) = holder.kind();
    let policy_names =
        ctx.control
            .iam()
            .list_inline_policies(kind, ctx.account(), name, paging.options())?;
    Ok(ListPolicyNamesOutput { policy_names })
}

fn attach(ctx: &Ctx<'_>, holder: Holder<'_>, arn: &str) -> Result<(), Error> {
    holder.authorize(ctx, "Attach", false, Some(arn))?;
    let (kind, name) = holder.kind();
    ctx.control
        .iam()
        .attach_policy(kind, ctx.account(), name, arn)?;
    Ok(())
}

fn detach(ctx: &Ctx<'_>, holder: Holder<'_>, arn: &str) -> Result<(), Error> {
    holder.authorize(ctx, "Detach", false, Some(arn))?;
    let (kind, name) = holder.kind();
    ctx.control
        .iam()
        .detach_policy(kind, ctx.account(), name, arn)?;
    Ok(())
}

fn list_attached(
    ctx: &Ctx<'_>,
    holder: Holder<'_>,
    path_prefix: Option<&str>,
    paging: &Paging,
) -> Result<ListAttachedPoliciesOutput, Error> {
    holder.authorize(ctx, "ListAttached", true, None)?;
    let (kind, name) = holder.kind();
    let attached_policies = ctx.control.iam().list_attached_policies(
        kind,
        ctx.account(),
        name,
        path_prefix,
        paging.options(),
    )?;
    Ok(ListAttachedPoliciesOutput { attached_policies })
}

pub fn put_user_policy(ctx: &Ctx<'_>, input: PutUserPolicyInput) -> Result<(), Error> {
    put_inline(
        ctx,
        Holder::User(&input.user_name),
        &input.policy_name,
        &input.policy_document,
    )
}

pub fn put_role_policy(ctx: &Ctx<'_>, input: PutRolePolicyInput) -> Result<(), Error> {
    put_inline(
        ctx,
        Holder::Role(&input.role_name),
        &input.policy_name,
        &input.policy_document,
    )
}

pub fn get_user_policy(
    ctx: &Ctx<'_>,
    input: GetUserPolicyInput,
) -> Result<GetUserPolicyOutput, Error> {
    let (user_name, policy) = get_inline(ctx, Holder::User(&input.user_name), &input.policy_name)?;
    Ok(GetUserPolicyOutput {
        user_name,
        policy_name: policy.name,
        policy_document: policy.document,
    })
}

pub fn get_role_policy(
    ctx: &Ctx<'_>,
    input: GetRolePolicyInput,
) -> Result<GetRolePolicyOutput, Error> {
    let (role_name, policy) = get_inline(ctx, Holder::Role(&input.role_name), &input.policy_name)?;
    Ok(GetRolePolicyOutput {
        role_name,
        policy_name: policy.name,
        policy_document: policy.document,
    })
}

pub fn delete_user_policy(ctx: &Ctx<'_>, input: DeleteUserPolicyInput) -> Result<(), Error> {
    delete_inline(ctx, Holder::User(&input.user_name), &input.policy_name)
}

pub fn delete_role_policy(ctx: &Ctx<'_>, input: DeleteRolePolicyInput) -> Result<(), Error> {
    delete_inline(ctx, Holder::Role(&input.role_name), &input.policy_name)
}

pub fn list_user_policies(
    ctx: &Ctx<'_>,
    input: ListUserPoliciesInput,
) -> Result<ListUserPoliciesOutput, Error> {
    list_inline(ctx, Holder::User(&input.user_name), &input.paging)
}

pub fn list_role_policies(
    ctx: &Ctx<'_>,
    input: ListRolePoliciesInput,
) -> Result<ListRolePoliciesOutput, Error> {
    list_inline(ctx, Holder::Role(&input.role_name), &input.paging)
}

pub fn attach_user_policy(ctx: &Ctx<'_>, input: AttachUserPolicyInput) -> Result<(), Error> {
    attach(ctx, Holder::User(&input.user_name), &input.policy_arn)
}

pub fn attach_role_policy(ctx: &Ctx<'_>, input: AttachRolePolicyInput) -> Result<(), Error> {
    attach(ctx, Holder::Role(&input.role_name), &input.policy_arn)
}

pub fn detach_user_policy(ctx: &Ctx<'_>, input: DetachUserPolicyInput) -> Result<(), Error> {
    detach(ctx, Holder::User(&input.user_name), &input.policy_arn)
}

pub fn detach_role_policy(ctx: &Ctx<'_>, input: DetachRolePolicyInput) -> Result<(), Error> {
    detach(ctx, Holder::Role(&input.role_name), &input.policy_arn)
}

pub fn list_attached_user_policies(
    ctx: &Ctx<'_>,
    input: ListAttachedUserPoliciesInput,
) -> Result<ListAttachedUserPoliciesOutput, Error> {
    list_attached(
        ctx,
        Holder::User(&input.user_name),
        input.path_prefix.as_deref(),
        &input.paging,
    )
}

pub fn list_attached_role_policies(
    ctx: &Ctx<'_>,
    input: ListAttachedRolePoliciesInput,
) -> Result<ListAttachedRolePoliciesOutput, Error> {
    list_attached(
        ctx,
        Holder::Role(&input.role_name),
        input.path_prefix.as_deref(),
        &input.paging,
    )
}

// ---------------------------------------------------------------------------------------------
// Managed policies.
// ---------------------------------------------------------------------------------------------

pub fn create_policy(ctx: &Ctx<'_>, input: CreatePolicyInput) -> Result<CreatePolicyOutput, Error> {
    let arn = new_arn(ctx, "policy", input.path.as_deref(), &input.policy_name);
    ctx.authorize("iam:CreatePolicy", &arn)?;
    let policy = ctx.control.iam().create_policy(
        ctx.account(),
        NewPolicy {
            name: &input.policy_name,
            path: input.path.as_deref(),
            document: &input.policy_document,
            description: input.description.as_deref(),
            tags: input.tags,
        },
        ctx.now_secs(),
    )?;
    Ok(CreatePolicyOutput { policy })
}

pub fn get_policy(ctx: &Ctx<'_>, input: GetPolicyInput) -> Result<GetPolicyOutput, Error> {
    ctx.authorize("iam:GetPolicy", &input.policy_arn)?;
    let policy = ctx
        .control
        .iam()
        .get_policy(ctx.account(), &input.policy_arn)?;
    Ok(GetPolicyOutput { policy })
}

pub fn get_policy_version(
    ctx: &Ctx<'_>,
    input: GetPolicyVersionInput,
) -> Result<GetPolicyVersionOutput, Error> {
    ctx.authorize("iam:GetPolicyVersion", &input.policy_arn)?;
    let policy_version = ctx.control.iam().get_policy_version(
        ctx.account(),
        &input.policy_arn,
        &input.version_id,
    )?;
    Ok(GetPolicyVersionOutput { policy_version })
}

pub fn delete_policy(ctx: &Ctx<'_>, input: DeletePolicyInput) -> Result<(), Error> {
    ctx.authorize("iam:DeletePolicy", &input.policy_arn)?;
    ctx.control
        .iam()
        .delete_policy(ctx.account(), &input.policy_arn)?;
    Ok(())
}

pub fn list_policies(ctx: &Ctx<'_>, input: ListPoliciesInput) -> Result<ListPoliciesOutput, Error> {
    ctx.authorize("iam:ListPolicies", &list_resource(ctx, "policy"))?;
    let policies = ctx.control.iam().list_policies(
        ctx.account(),
        PolicyFilter {
            scope: input.scope,
            only_attached: input.only_attached,
            path_prefix: input.path_prefix.as_deref(),
            usage: input.policy_usage_filter,
        },
        input.paging.options(),
    )?;
    Ok(ListPoliciesOutput { policies })
}

// ---------------------------------------------------------------------------------------------
// Groups.
// ---------------------------------------------------------------------------------------------

pub fn create_group(ctx: &Ctx<'_>, input: CreateGroupInput) -> Result<CreateGroupOutput, Error> {
    let arn = new_arn(ctx, "group", input.path.as_deref(), &input.group_name);
    ctx.authorize("iam:CreateGroup", &arn)?;
    let group = ctx.control.iam().create_group(
        ctx.account(),
        &input.group_name,
        input.path.as_deref(),
        ctx.now_secs(),
    )?;
    Ok(CreateGroupOutput { group })
}

pub fn get_group(ctx: &Ctx<'_>, input: GetGroupInput) -> Result<GetGroupOutput, Error> {
    ctx.authorize("iam:GetGroup", &group_arn(ctx, &input.group_name)?)?;
    let (group, users) =
        ctx.control
            .iam()
            .get_group(ctx.account(), &input.group_name, input.paging.options())?;
    Ok(GetGroupOutput { group, users })
}

pub fn list_groups(ctx: &Ctx<'_>, input: ListGroupsInput) -> Result<ListGroupsOutput, Error> {
    ctx.authorize("iam:ListGroups", &list_resource(ctx, "group"))?;
    let groups = ctx.control.iam().list_groups(
        ctx.account(),
        input.path_prefix.as_deref(),
        input.paging.options(),
    )?;
    Ok(ListGroupsOutput { groups })
}

pub fn list_groups_for_user(
    ctx: &Ctx<'_>,
    input: ListGroupsForUserInput,
) -> Result<ListGroupsForUserOutput, Error> {
    ctx.authorize("iam:ListGroupsForUser", &user_arn(ctx, &input.user_name)?)?;
    let groups = ctx.control.iam().list_groups_for_user(
        ctx.account(),
        &input.user_name,
        input.paging.options(),
    )?;
    Ok(ListGroupsOutput { groups })
}

pub fn update_group(ctx: &Ctx<'_>, input: UpdateGroupInput) -> Result<(), Error> {
    ctx.authorize("iam:UpdateGroup", &group_arn(ctx, &input.group_name)?)?;
    ctx.control.iam().update_group(
        ctx.account(),
        &input.group_name,
        input.new_group_name.as_deref(),
        input.new_path.as_deref(),
    )?;
    Ok(())
}

pub fn delete_group(ctx: &Ctx<'_>, input: DeleteGroupInput) -> Result<(), Error> {
    ctx.authorize("iam:DeleteGroup", &group_arn(ctx, &input.group_name)?)?;
    ctx.control
        .iam()
        .delete_group(ctx.account(), &input.group_name)?;
    Ok(())
}

pub fn add_user_to_group(ctx: &Ctx<'_>, input: AddUserToGroupInput) -> Result<(), Error> {
    ctx.authorize("iam:AddUserToGroup", &group_arn(ctx, &input.group_name)?)?;
    ctx.control
        .iam()
        .add_user_to_group(ctx.account(), &input.group_name, &input.user_name)?;
    Ok(())
}

pub fn remove_user_from_group(ctx: &Ctx<'_>, input: RemoveUserFromGroupInput) -> Result<(), Error> {
    ctx.authorize(
        "iam:RemoveUserFromGroup",
        &group_arn(ctx, &input.group_name)?,
    )?;
    ctx.control
        .iam()
        .remove_user_from_group(ctx.account(), &input.group_name, &input.user_name)?;
    Ok(())
}

pub fn put_group_policy(ctx: &Ctx<'_>, input: PutGroupPolicyInput) -> Result<(), Error> {
    put_inline(
        ctx,
        Holder::Group(&input.group_name),
        &input.policy_name,
        &input.policy_document,
    )
}

pub fn get_group_policy(
    ctx: &Ctx<'_>,
    input: GetGroupPolicyInput,
) -> Result<GetGroupPolicyOutput, Error> {
    let (group_name, policy) =
        get_inline(ctx, Holder::Group(&input.group_name), &input.policy_name)?;
    Ok(GetGroupPolicyOutput {
        group_name,
        policy_name: policy.name,
        policy_document: policy.document,
    })
}

pub fn delete_group_policy(ctx: &Ctx<'_>, input: DeleteGroupPolicyInput) -> Result<(), Error> {
    delete_inline(ctx, Holder::Group(&input.group_name), &input.policy_name)
}

pub fn list_group_policies(
    ctx: &Ctx<'_>,
    input: ListGroupPoliciesInput,
) -> Result<ListGroupPoliciesOutput, Error> {
    list_inline(ctx, Holder::Group(&input.group_name), &input.paging)
}

pub fn attach_group_policy(ctx: &Ctx<'_>, input: AttachGroupPolicyInput) -> Result<(), Error> {
    attach(ctx, Holder::Group(&input.group_name), &input.policy_arn)
}

pub fn detach_group_policy(ctx: &Ctx<'_>, input: DetachGroupPolicyInput) -> Result<(), Error> {
    detach(ctx, Holder::Group(&input.group_name), &input.policy_arn)
}

pub fn list_attached_group_policies(
    ctx: &Ctx<'_>,
    input: ListAttachedGroupPoliciesInput,
) -> Result<ListAttachedGroupPoliciesOutput, Error> {
    list_attached(
        ctx,
        Holder::Group(&input.group_name),
        input.path_prefix.as_deref(),
        &input.paging,
    )
}

// ---------------------------------------------------------------------------------------------
// Instance profiles.
// ---------------------------------------------------------------------------------------------

pub fn create_instance_profile(
    ctx: &Ctx<'_>,
    input: CreateInstanceProfileInput,
) -> Result<CreateInstanceProfileOutput, Error> {
    let arn = new_arn(
        ctx,
        "instance-profile",
        input.path.as_deref(),
        &input.instance_profile_name,
    );
    ctx.authorize("iam:CreateInstanceProfile", &arn)?;
    let profile = ctx.control.iam().create_instance_profile(
        ctx.account(),
        &input.instance_profile_name,
        input.path.as_deref(),
        input.tags,
        ctx.now_secs(),
    )?;
    Ok(InstanceProfileOutput {
        instance_profile: InstanceProfileInfo {
            profile,
            roles: Vec::new(),
        },
    })
}

pub fn get_instance_profile(
    ctx: &Ctx<'_>,
    input: GetInstanceProfileInput,
) -> Result<GetInstanceProfileOutput, Error> {
    let name = &input.instance_profile_name;
    ctx.authorize("iam:GetInstanceProfile", &instance_profile_arn(ctx, name)?)?;
    let instance_profile = ctx
        .control
        .iam()
        .get_instance_profile(ctx.account(), name)?;
    Ok(InstanceProfileOutput { instance_profile })
}

pub fn delete_instance_profile(
    ctx: &Ctx<'_>,
    input: DeleteInstanceProfileInput,
) -> Result<(), Error> {
    let name = &input.instance_profile_name;
    ctx.authorize(
        "iam:DeleteInstanceProfile",
        &instance_profile_arn(ctx, name)?,
    )?;
    ctx.control
        .iam()
        .delete_instance_profile(ctx.account(), name)?;
    Ok(())
}

pub fn list_instance_profiles(
    ctx: &Ctx<'_>,
    input: ListInstanceProfilesInput,
) -> Result<ListInstanceProfilesOutput, Error> {
    ctx.authorize(
        "iam:ListInstanceProfiles",
        &list_resource(ctx, "instance-profile"),
    )?;
    let instance_profiles = ctx.control.iam().list_instance_profiles(
        ctx.account(),
        input.path_prefix.as_deref(),
        input.paging.options(),
    )?;
    Ok(ListInstanceProfilesOutput { instance_profiles })
}

pub fn list_instance_profiles_for_role(
    ctx: &Ctx<'_>,
    input: ListInstanceProfilesForRoleInput,
) -> Result<ListInstanceProfilesForRoleOutput, Error> {
    ctx.authorize(
        "iam:ListInstanceProfilesForRole",
        &role_arn(ctx, &input.role_name)?,
    )?;
    let instance_profiles = ctx.control.iam().list_instance_profiles_for_role(
        ctx.account(),
        &input.role_name,
        input.paging.options(),
    )?;
    Ok(ListInstanceProfilesOutput { instance_profiles })
}

/// Also needs `iam:PassRole` on the role, as AWS documents for this operation.
pub fn add_role_to_instance_profile(
    ctx: &Ctx<'_>,
    input: AddRoleToInstanceProfileInput,
) -> Result<(), Error> {
    let name = &input.instance_profile_name;
    ctx.authorize(
        "iam:AddRoleToInstanceProfile",
        &instance_profile_arn(ctx, name)?,
    )?;
    ctx.authorize("iam:PassRole", &role_arn(ctx, &input.role_name)?)?;
    ctx.control
        .iam()
        .add_role_to_instance_profile(ctx.account(), name, &input.role_name)?;
    Ok(())
}

pub fn remove_role_from_instance_profile(
    ctx: &Ctx<'_>,
    input: RemoveRoleFromInstanceProfileInput,
) -> Result<(), Error> {
    let name = &input.instance_profile_name;
    ctx.authorize(
        "iam:RemoveRoleFromInstanceProfile",
        &instance_profile_arn(ctx, name)?,
    )?;
    ctx.control
        .iam()
        .remove_role_from_instance_profile(ctx.account(), name, &input.role_name)?;
    Ok(())
}

pub fn tag_instance_profile(ctx: &Ctx<'_>, input: TagInstanceProfileInput) -> Result<(), Error> {
    let name = &input.instance_profile_name;
    ctx.authorize("iam:TagInstanceProfile", &instance_profile_arn(ctx, name)?)?;
    ctx.control
        .iam()
        .tag_instance_profile(ctx.account(), name, input.tags)?;
    Ok(())
}

pub fn untag_instance_profile(
    ctx: &Ctx<'_>,
    input: UntagInstanceProfileInput,
) -> Result<(), Error> {
    let name = &input.instance_profile_name;
    ctx.authorize(
        "iam:UntagInstanceProfile",
        &instance_profile_arn(ctx, name)?,
    )?;
    ctx.control
        .iam()
        .untag_instance_profile(ctx.account(), name, &input.tag_keys)?;
    Ok(())
}

pub fn list_instance_profile_tags(
    ctx: &Ctx<'_>,
    input: ListInstanceProfileTagsInput,
) -> Result<ListInstanceProfileTagsOutput, Error> {
    let name = &input.instance_profile_name;
    ctx.authorize(
        "iam:ListInstanceProfileTags",
        &instance_profile_arn(ctx, name)?,
    )?;
    let tags = ctx.control.iam().list_instance_profile_tags(
        ctx.account(),
        name,
        input.paging.options(),
    )?;
    Ok(ListTagsOutput { tags })
}

// ---------------------------------------------------------------------------------------------
// Service-linked roles.
// ---------------------------------------------------------------------------------------------

/// Authorised on the role it makes, with `iam:AWSServiceName`.
pub fn create_service_linked_role(
    ctx: &Ctx<'_>,
    input: CreateServiceLinkedRoleInput,
) -> Result<CreateServiceLinkedRoleOutput, Error> {
    let service = input.aws_service_name.as_str();
    let name = match (berth_iam::linked_role_name(service), &input.custom_suffix) {
        (Some(base), Some(suffix)) => format!("{base}_{suffix}"),
        (Some(base), None) => base.to_string(),
        (None, _) => String::new(),
    };
    let arn = format!(
        "arn:aws:iam::{}:role/aws-service-role/{service}/{name}",
        ctx.account()
    );
    authorize(
        ctx,
        &Check::new("iam:CreateServiceLinkedRole", &arn)
            .with_context("iam:AWSServiceName", service),
    )?;
    let role = ctx.control.iam().create_service_linked_role(
        ctx.account(),
        service,
        input.description.as_deref(),
        input.custom_suffix.as_deref(),
        ctx.now_secs(),
    )?;
    Ok(CreateServiceLinkedRoleOutput { role })
}

pub fn delete_service_linked_role(
    ctx: &Ctx<'_>,
    input: DeleteServiceLinkedRoleInput,
) -> Result<DeleteServiceLinkedRoleOutput, Error> {
    ctx.authorize(
        "iam:DeleteServiceLinkedRole",
        &role_arn(ctx, &input.role_name)?,
    )?;
    let deletion_task_id = ctx
        .control
        .iam()
        .delete_service_linked_role(ctx.account(), &input.role_name)?;
    Ok(DeleteServiceLinkedRoleOutput { deletion_task_id })
}

/// Authorised on the role the task deleted (`task/<role path><role name>/<id>`).
pub fn get_service_linked_role_deletion_status(
    ctx: &Ctx<'_>,
    input: GetServiceLinkedRoleDeletionStatusInput,
) -> Result<GetServiceLinkedRoleDeletionStatusOutput, Error> {
    let role = input
        .deletion_task_id
        .strip_prefix("task")
        .and_then(|rest| rest.rsplit_once('/'))
        .map(|(path_and_name, _)| format!("arn:aws:iam::{}:role{path_and_name}", ctx.account()));
    ctx.authorize(
        "iam:GetServiceLinkedRoleDeletionStatus",
        role.as_deref().unwrap_or("*"),
    )?;
    let status = ctx
        .control
        .iam()
        .service_linked_role_deletion_status(ctx.account(), &input.deletion_task_id)?;
    Ok(GetServiceLinkedRoleDeletionStatusOutput { status })
}

// ---------------------------------------------------------------------------------------------
// Managed policy versions, entities and tags.
// ---------------------------------------------------------------------------------------------

pub fn create_policy_version(
    ctx: &Ctx<'_>,
    input: CreatePolicyVersionInput,
) -> Result<CreatePolicyVersionOutput, Error> {
    ctx.authorize("iam:CreatePolicyVersion", &input.policy_arn)?;
    let policy_version = ctx.control.iam().create_policy_version(
        ctx.account(),
        &input.policy_arn,
        &input.policy_document,
        input.set_as_default,
        ctx.now_secs(),
    )?;
    Ok(CreatePolicyVersionOutput { policy_version })
}

pub fn list_policy_versions(
    ctx: &Ctx<'_>,
    input: ListPolicyVersionsInput,
) -> Result<ListPolicyVersionsOutput, Error> {
    ctx.authorize("iam:ListPolicyVersions", &input.policy_arn)?;
    let versions = ctx.control.iam().list_policy_versions(
        ctx.account(),
        &input.policy_arn,
        input.paging.options(),
    )?;
    Ok(ListPolicyVersionsOutput { versions })
}

pub fn delete_policy_version(ctx: &Ctx<'_>, input: DeletePolicyVersionInput) -> Result<(), Error> {
    ctx.authorize("iam:DeletePolicyVersion", &input.policy_arn)?;
    ctx.control
        .iam()
        .delete_policy_version(ctx.account(), &input.policy_arn, &input.version_id)?;
    Ok(())
}

pub fn set_default_policy_version(
    ctx: &Ctx<'_>,
    input: SetDefaultPolicyVersionInput,
) -> Result<(), Error> {
    ctx.authorize("iam:SetDefaultPolicyVersion", &input.policy_arn)?;
    ctx.control.iam().set_default_policy_version(
        ctx.account(),
        &input.policy_arn,
        &input.version_id,
        ctx.now_secs(),
    )?;
    Ok(())
}

pub fn list_entities_for_policy(
    ctx: &Ctx<'_>,
    input: ListEntitiesForPolicyInput,
) -> Result<ListEntitiesForPolicyOutput, Error> {
    ctx.authorize("iam:ListEntitiesForPolicy", &input.policy_arn)?;
    let entities = ctx.control.iam().list_entities_for_policy(
        ctx.account(),
        &input.policy_arn,
        input.entity_filter,
        input.path_prefix.as_deref(),
        input.policy_usage_filter,
        input.paging.options(),
    )?;
    Ok(ListEntitiesForPolicyOutput { entities })
}

pub fn tag_policy(ctx: &Ctx<'_>, input: TagPolicyInput) -> Result<(), Error> {
    ctx.authorize("iam:TagPolicy", &input.policy_arn)?;
    ctx.control
        .iam()
        .tag_policy(ctx.account(), &input.policy_arn, input.tags)?;
    Ok(())
}

pub fn untag_policy(ctx: &Ctx<'_>, input: UntagPolicyInput) -> Result<(), Error> {
    ctx.authorize("iam:UntagPolicy", &input.policy_arn)?;
    ctx.control
        .iam()
        .untag_policy(ctx.account(), &input.policy_arn, &input.tag_keys)?;
    Ok(())
}

pub fn list_policy_tags(
    ctx: &Ctx<'_>,
    input: ListPolicyTagsInput,
) -> Result<ListPolicyTagsOutput, Error> {
    ctx.authorize("iam:ListPolicyTags", &input.policy_arn)?;
    let tags = ctx.control.iam().list_policy_tags(
        ctx.account(),
        &input.policy_arn,
        input.paging.options(),
    )?;
    Ok(ListTagsOutput { tags })
}

// ---------------------------------------------------------------------------------------------
// Users in full, and the account.
// ---------------------------------------------------------------------------------------------

pub fn put_user_permissions_boundary(
    ctx: &Ctx<'_>,
    input: PutUserPermissionsBoundaryInput,
) -> Result<(), Error> {
    let arn = user_arn(ctx, &input.user_name)?;
    authorize(
        ctx,
        &Check::new("iam:PutUserPermissionsBoundary", &arn).with_context(
            "iam:PermissionsBoundary",
            input.permissions_boundary.as_str(),
        ),
    )?;
    ctx.control.iam().put_user_permissions_boundary(
        ctx.account(),
        &input.user_name,
        &input.permissions_boundary,
    )?;
    Ok(())
}

pub fn delete_user_permissions_boundary(
    ctx: &Ctx<'_>,
    input: DeleteUserPermissionsBoundaryInput,
) -> Result<(), Error> {
    ctx.authorize(
        "iam:DeleteUserPermissionsBoundary",
        &user_arn(ctx, &input.user_name)?,
    )?;
    ctx.control
        .iam()
        .delete_user_permissions_boundary(ctx.account(), &input.user_name)?;
    Ok(())
}

pub fn delete_role_permissions_boundary(
    ctx: &Ctx<'_>,
    input: DeleteRolePermissionsBoundaryInput,
) -> Result<(), Error> {
    ctx.authorize(
        "iam:DeleteRolePermissionsBoundary",
        &role_arn(ctx, &input.role_name)?,
    )?;
    ctx.control
        .iam()
        .delete_role_permissions_boundary(ctx.account(), &input.role_name)?;
    Ok(())
}

pub fn update_user(ctx: &Ctx<'_>, input: UpdateUserInput) -> Result<(), Error> {
    ctx.authorize("iam:UpdateUser", &user_arn(ctx, &input.user_name)?)?;
    ctx.control.iam().update_user(
        ctx.account(),
        &input.user_name,
        input.new_user_name.as_deref(),
        input.new_path.as_deref(),
    )?;
    Ok(())
}

pub fn tag_user(ctx: &Ctx<'_>, input: TagUserInput) -> Result<(), Error> {
    ctx.authorize("iam:TagUser", &user_arn(ctx, &input.user_name)?)?;
    ctx.control
        .iam()
        .tag_user(ctx.account(), &input.user_name, input.tags)?;
    Ok(())
}

pub fn untag_user(ctx: &Ctx<'_>, input: UntagUserInput) -> Result<(), Error> {
    ctx.authorize("iam:UntagUser", &user_arn(ctx, &input.user_name)?)?;
    ctx.control
        .iam()
        .untag_user(ctx.account(), &input.user_name, &input.tag_keys)?;
    Ok(())
}

pub fn list_user_tags(
    ctx: &Ctx<'_>,
    input: ListUserTagsInput,
) -> Result<ListUserTagsOutput, Error> {
    ctx.authorize("iam:ListUserTags", &user_arn(ctx, &input.user_name)?)?;
    let tags = ctx.control.iam().list_user_tags(
        ctx.account(),
        &input.user_name,
        input.paging.options(),
    )?;
    Ok(ListTagsOutput { tags })
}

pub fn update_access_key(ctx: &Ctx<'_>, input: UpdateAccessKeyInput) -> Result<(), Error> {
    let holder = key_holder(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:UpdateAccessKey", &holder_arn(ctx, holder)?)?;
    ctx.control.iam().update_access_key(
        ctx.account(),
        holder,
        &input.access_key_id,
        input.status,
    )?;
    Ok(())
}

/// Authorised on the key's user (the root user for one of its keys).
pub fn get_access_key_last_used(
    ctx: &Ctx<'_>,
    input: GetAccessKeyLastUsedInput,
) -> Result<GetAccessKeyLastUsedOutput, Error> {
    let owner = ctx
        .control
        .iam()
        .access_key_owner(ctx.account(), &input.access_key_id);
    let resource = match &owner {
        Ok(Some(user)) => user_arn(ctx, user)?,
        Ok(None) => format!("arn:aws:iam::{}:root", ctx.account()),
        Err(_) => format!("arn:aws:iam::{}:user/", ctx.account()),
    };
    ctx.authorize("iam:GetAccessKeyLastUsed", &resource)?;
    Ok(GetAccessKeyLastUsedOutput { user_name: owner? })
}

pub fn get_account_summary(
    ctx: &Ctx<'_>,
    _input: GetAccountSummaryInput,
) -> Result<GetAccountSummaryOutput, Error> {
    ctx.authorize("iam:GetAccountSummary", "*")?;
    let summary_map = ctx.control.iam().account_summary(ctx.account())?;
    Ok(GetAccountSummaryOutput { summary_map })
}

pub fn create_account_alias(ctx: &Ctx<'_>, input: CreateAccountAliasInput) -> Result<(), Error> {
    ctx.authorize("iam:CreateAccountAlias", "*")?;
    ctx.control
        .iam()
        .create_account_alias(ctx.account(), &input.account_alias)?;
    Ok(())
}

pub fn delete_account_alias(ctx: &Ctx<'_>, input: DeleteAccountAliasInput) -> Result<(), Error> {
    ctx.authorize("iam:DeleteAccountAlias", "*")?;
    ctx.control
        .iam()
        .delete_account_alias(ctx.account(), &input.account_alias)?;
    Ok(())
}

pub fn list_account_aliases(
    ctx: &Ctx<'_>,
    input: ListAccountAliasesInput,
) -> Result<ListAccountAliasesOutput, Error> {
    ctx.authorize("iam:ListAccountAliases", "*")?;
    let aliases = ctx.control.iam().account_aliases(ctx.account())?;
    let opts = input.paging.options();
    let account_aliases = berth_iam::page_of(aliases, opts);
    Ok(ListAccountAliasesOutput { account_aliases })
}

// ---------------------------------------------------------------------------------------------
// Roles, continued.
// ---------------------------------------------------------------------------------------------

pub fn update_role(ctx: &Ctx<'_>, input: UpdateRoleInput) -> Result<(), Error> {
    ctx.authorize("iam:UpdateRole", &role_arn(ctx, &input.role_name)?)?;
    ctx.control.iam().update_role(
        ctx.account(),
        &input.role_name,
        input.description.as_deref(),
        input.max_session_duration,
    )?;
    Ok(())
}

pub fn update_role_description(
    ctx: &Ctx<'_>,
    input: UpdateRoleDescriptionInput,
) -> Result<UpdateRoleDescriptionOutput, Error> {
    ctx.authorize(
        "iam:UpdateRoleDescription",
        &role_arn(ctx, &input.role_name)?,
    )?;
    let role = ctx.control.iam().update_role(
        ctx.account(),
        &input.role_name,
        Some(&input.description),
        None,
    )?;
    Ok(UpdateRoleDescriptionOutput { role })
}

pub fn untag_role(ctx: &Ctx<'_>, input: UntagRoleInput) -> Result<(), Error> {
    ctx.authorize("iam:UntagRole", &role_arn(ctx, &input.role_name)?)?;
    ctx.control
        .iam()
        .untag_role(ctx.account(), &input.role_name, &input.tag_keys)?;
    Ok(())
}

pub fn list_role_tags(
    ctx: &Ctx<'_>,
    input: ListRoleTagsInput,
) -> Result<ListRoleTagsOutput, Error> {
    ctx.authorize("iam:ListRoleTags", &role_arn(ctx, &input.role_name)?)?;
    let tags = ctx.control.iam().list_role_tags(
        ctx.account(),
        &input.role_name,
        input.paging.options(),
    )?;
    Ok(ListTagsOutput { tags })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::Caller;
    use crate::testing::control;

    use crate::testing::caller;

    const ACCOUNT: &str = "111122223333";

    fn root() -> Caller {
        caller(Principal::Root {
            account: ACCOUNT.into(),
        })
    }

    #[test]
    fn users_are_created_listed_and_shown() {
        let control = control();
        let root = root();
        let ctx = control.ctx(&root, "r1");
        let created = create_user(
            &ctx,
            CreateUserInput {
                path: Some("/team/".into()),
                user_name: "alice".into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(
            created.user.arn(),
            format!("arn:aws:iam::{ACCOUNT}:user/team/alice")
        );
        let listed = list_users(&ctx, ListUsersInput::default()).unwrap();
        assert_eq!(listed.users.items.len(), 1);
        assert!(!listed.users.is_truncated());
        let shown = get_user(
            &ctx,
            GetUserInput {
                user_name: Some("alice".into()),
            },
        )
        .unwrap();
        assert!(matches!(shown.user, GotUser::User(u) if u.name == "alice"));
    }

    #[test]
    fn get_user_without_a_name_is_the_callers_own() {
        let control = control();
        let root = root();
        let ctx = control.ctx(&root, "r1");
        let shown = get_user(&ctx, GetUserInput::default()).unwrap();
        assert!(matches!(
            shown.user,
            GotUser::Root { account, arn, .. }
                if account == ACCOUNT && arn == format!("arn:aws:iam::{ACCOUNT}:root")
        ));
        let session = caller(Principal::AssumedRole {
            account: ACCOUNT.into(),
            role_name: "r".into(),
            role_id: "AROAEXAMPLE".into(),
            role_path: "/".into(),
            session_name: "s".into(),
            session_key_id: "ASIAEXAMPLE".into(),
        });
        let ctx = control.ctx(&session, "r2");
        let e = get_user(&ctx, GetUserInput::default()).unwrap_err();
        assert!(
            matches!(e, Error::Iam(IamError::NonUserCredentials)),
            "{e:?}"
        );
        let e = create_access_key(&ctx, CreateAccessKeyInput::default()).err();
        assert!(matches!(e, Some(Error::Iam(IamError::NonUserCredentials))));
    }

    #[test]
    fn a_user_without_permission_is_denied_in_awss_words() {
        let control = control();
        let root = root();
        let ctx = control.ctx(&root, "r1");
        let bob = create_user(
            &ctx,
            CreateUserInput {
                user_name: "bob".into(),
                ..Default::default()
            },
        )
        .unwrap()
        .user;
        let bob = caller(Principal::User {
            account: ACCOUNT.into(),
            name: bob.name,
            id: bob.id,
            path: bob.path,
        });
        let ctx = control.ctx(&bob, "r2");
        let e = delete_role(
            &ctx,
            DeleteRoleInput {
                role_name: "ops".into(),
            },
        )
        .unwrap_err();
        let Error::AccessDenied(message) = e else {
            panic!("{e:?}");
        };
        assert!(
            message.contains(&format!(
                "is not authorized to perform: iam:DeleteRole on resource: arn:aws:iam::{ACCOUNT}:role/ops"
            )),
            "{message}"
        );
    }
}
