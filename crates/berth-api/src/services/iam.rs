//! AWS Identity and Access Management (Query protocol, version 2010-05-08).
//!
//! Each operation's input is decoded from the form parameters and checked against the
//! constraints of the IAM model (lengths, ranges, enums: AWS's `ValidationError` with its
//! `N validation error(s) detected: …` text); the use case in `berth_control::iam` authorises
//! and acts; its output is written as XML. Policy documents go out URL-encoded, as AWS sends
//! them.

use berth_control::iam::{self as op, *};
use berth_core::time::iso8601;

use crate::error::WireError;
use crate::services::query::{FromQuery, ToXml, call};
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    let p = params;
    Some(match action {
        "CreateUser" => call(p, |i| op::create_user(ctx, i)),
        "GetUser" => call(p, |i| op::get_user(ctx, i)),
        "DeleteUser" => call(p, |i| op::delete_user(ctx, i)),
        "ListUsers" => call(p, |i| op::list_users(ctx, i)),
        "CreateAccessKey" => call(p, |i| op::create_access_key(ctx, i)),
        "DeleteAccessKey" => call(p, |i| op::delete_access_key(ctx, i)),
        "ListAccessKeys" => call(p, |i| op::list_access_keys(ctx, i)),
        "PutUserPolicy" => call(p, |i| op::put_user_policy(ctx, i)),
        "GetUserPolicy" => call(p, |i| op::get_user_policy(ctx, i)),
        "DeleteUserPolicy" => call(p, |i| op::delete_user_policy(ctx, i)),
        "ListUserPolicies" => call(p, |i| op::list_user_policies(ctx, i)),
        "AttachUserPolicy" => call(p, |i| op::attach_user_policy(ctx, i)),
        "DetachUserPolicy" => call(p, |i| op::detach_user_policy(ctx, i)),
        "ListAttachedUserPolicies" => call(p, |i| op::list_attached_user_policies(ctx, i)),
        "CreateRole" => call(p, |i| op::create_role(ctx, i)),
        "GetRole" => call(p, |i| op::get_role(ctx, i)),
        "DeleteRole" => call(p, |i| op::delete_role(ctx, i)),
        "ListRoles" => call(p, |i| op::list_roles(ctx, i)),
        "UpdateAssumeRolePolicy" => call(p, |i| op::update_assume_role_policy(ctx, i)),
        "PutRolePolicy" => call(p, |i| op::put_role_policy(ctx, i)),
        "GetRolePolicy" => call(p, |i| op::get_role_policy(ctx, i)),
        "DeleteRolePolicy" => call(p, |i| op::delete_role_policy(ctx, i)),
        "ListRolePolicies" => call(p, |i| op::list_role_policies(ctx, i)),
        "AttachRolePolicy" => call(p, |i| op::attach_role_policy(ctx, i)),
        "DetachRolePolicy" => call(p, |i| op::detach_role_policy(ctx, i)),
        "ListAttachedRolePolicies" => call(p, |i| op::list_attached_role_policies(ctx, i)),
        "PutRolePermissionsBoundary" => call(p, |i| op::put_role_permissions_boundary(ctx, i)),
        "TagRole" => call(p, |i| op::tag_role(ctx, i)),
        "CreatePolicy" => call(p, |i| op::create_policy(ctx, i)),
        "GetPolicy" => call(p, |i| op::get_policy(ctx, i)),
        "GetPolicyVersion" => call(p, |i| op::get_policy_version(ctx, i)),
        "DeletePolicy" => call(p, |i| op::delete_policy(ctx, i)),
        "ListPolicies" => call(p, |i| op::list_policies(ctx, i)),
        "CreateGroup" => call(p, |i| op::create_group(ctx, i)),
        "GetGroup" => call(p, |i| op::get_group(ctx, i)),
        "ListGroups" => call(p, |i| op::list_groups(ctx, i)),
        "ListGroupsForUser" => call(p, |i| op::list_groups_for_user(ctx, i)),
        "UpdateGroup" => call(p, |i| op::update_group(ctx, i)),
        "DeleteGroup" => call(p, |i| op::delete_group(ctx, i)),
        "AddUserToGroup" => call(p, |i| op::add_user_to_group(ctx, i)),
        "RemoveUserFromGroup" => call(p, |i| op::remove_user_from_group(ctx, i)),
        "PutGroupPolicy" => call(p, |i| op::put_group_policy(ctx, i)),
        "GetGroupPolicy" => call(p, |i| op::get_group_policy(ctx, i)),
        "DeleteGroupPolicy" => call(p, |i| op::delete_group_policy(ctx, i)),
        "ListGroupPolicies" => call(p, |i| op::list_group_policies(ctx, i)),
        "AttachGroupPolicy" => call(p, |i| op::attach_group_policy(ctx, i)),
        "DetachGroupPolicy" => call(p, |i| op::detach_group_policy(ctx, i)),
        "ListAttachedGroupPolicies" => call(p, |i| op::list_attached_group_policies(ctx, i)),
        "CreateInstanceProfile" => call(p, |i| op::create_instance_profile(ctx, i)),
        "GetInstanceProfile" => call(p, |i| op::get_instance_profile(ctx, i)),
        "DeleteInstanceProfile" => call(p, |i| op::delete_instance_profile(ctx, i)),
        "ListInstanceProfiles" => call(p, |i| op::list_instance_profiles(ctx, i)),
        "ListInstanceProfilesForRole" => call(p, |i| op::list_instance_profiles_for_role(ctx, i)),
        "AddRoleToInstanceProfile" => call(p, |i| op::add_role_to_instance_profile(ctx, i)),
        "RemoveRoleFromInstanceProfile" => {
            call(p, |i| op::remove_role_from_instance_profile(ctx, i))
        }
        "TagInstanceProfile" => call(p, |i| op::tag_instance_profile(ctx, i)),
        "UntagInstanceProfile" => call(p, |i| op::untag_instance_profile(ctx, i)),
        "ListInstanceProfileTags" => call(p, |i| op::list_instance_profile_tags(ctx, i)),
        "CreatePolicyVersion" => call(p, |i| op::create_policy_version(ctx, i)),
        "ListPolicyVersions" => call(p, |i| op::list_policy_versions(ctx, i)),
        "DeletePolicyVersion" => call(p, |i| op::delete_policy_version(ctx, i)),
        "SetDefaultPolicyVersion" => call(p, |i| op::set_default_policy_version(ctx, i)),
        "ListEntitiesForPolicy" => call(p, |i| op::list_entities_for_policy(ctx, i)),
        "TagPolicy" => call(p, |i| op::tag_policy(ctx, i)),
        "UntagPolicy" => call(p, |i| op::untag_policy(ctx, i)),
        "ListPolicyTags" => call(p, |i| op::list_policy_tags(ctx, i)),
        "PutUserPermissionsBoundary" => call(p, |i| op::put_user_permissions_boundary(ctx, i)),
        "DeleteUserPermissionsBoundary" => {
            call(p, |i| op::delete_user_permissions_boundary(ctx, i))
        }
        "DeleteRolePermissionsBoundary" => {
            call(p, |i| op::delete_role_permissions_boundary(ctx, i))
        }
        "UpdateUser" => call(p, |i| op::update_user(ctx, i)),
        "TagUser" => call(p, |i| op::tag_user(ctx, i)),
        "UntagUser" => call(p, |i| op::untag_user(ctx, i)),
        "ListUserTags" => call(p, |i| op::list_user_tags(ctx, i)),
        "UpdateAccessKey" => call(p, |i| op::update_access_key(ctx, i)),
        "GetAccessKeyLastUsed" => call(p, |i| op::get_access_key_last_used(ctx, i)),
        "GetAccountSummary" => call(p, |i| op::get_account_summary(ctx, i)),
        "CreateAccountAlias" => call(p, |i| op::create_account_alias(ctx, i)),
        "DeleteAccountAlias" => call(p, |i| op::delete_account_alias(ctx, i)),
        "ListAccountAliases" => call(p, |i| op::list_account_aliases(ctx, i)),
        "UpdateRole" => call(p, |i| op::update_role(ctx, i)),
        "UpdateRoleDescription" => call(p, |i| op::update_role_description(ctx, i)),
        "UntagRole" => call(p, |i| op::untag_role(ctx, i)),
        "ListRoleTags" => call(p, |i| op::list_role_tags(ctx, i)),
        "ListSAMLProviders" => call(p, |i| op::list_saml_providers(ctx, i)),
        "ListOpenIDConnectProviders" => call(p, |i| op::list_open_id_connect_providers(ctx, i)),
        "CreateServiceLinkedRole" => call(p, |i| op::create_service_linked_role(ctx, i)),
        "DeleteServiceLinkedRole" => call(p, |i| op::delete_service_linked_role(ctx, i)),
        "GetServiceLinkedRoleDeletionStatus" => {
            call(p, |i| op::get_service_linked_role_deletion_status(ctx, i))
        }
        _ => {
            return sim::dispatch(ctx, action, params)
                .or_else(|| details::dispatch(ctx, action, params))
                .or_else(|| oidc::dispatch(ctx, action, params))
                .or_else(|| saml::dispatch(ctx, action, params))
                .or_else(|| creds::dispatch(ctx, action, p));
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Input: the model's constraints, checked as AWS's request validation does.
// ---------------------------------------------------------------------------------------------

/// Largest policy document the model accepts (`policyDocumentType`).
const POLICY_DOCUMENT_MAX: usize = 131_072;
/// `policyDocumentType`'s pattern, as AWS quotes it.
const POLICY_DOCUMENT_PATTERN: &str = "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";

/// `impl FromQuery` for inputs built by [`decode`]: each `|i| Input { member: expr, … }` reads
/// its members through `i` in the order written (the model's).
macro_rules! from_query {
    ($(|$i:ident| $ty:ident { $($field:ident: $value:expr),* $(,)? })*) => {
        $(
            impl FromQuery for $ty {
                fn from_query(p: &QueryParams) -> Result<Self, WireError> {
                    decode(p, |$i| $ty { $($field: $value),* })
                }
            }
        )*
    };
}

/// Builds an input with `build`, which reads the members in the model's order, then fails with
/// every constraint the members broke (AWS reports all of a request's at once).
fn decode<T>(
    params: &QueryParams,
    build: impl FnOnce(&mut Input<'_>) -> T,
) -> Result<T, WireError> {
    let mut input = Input::new(params);
    let value = build(&mut input);
    input.finish()?;
    Ok(value)
}

/// Collects constraint failures. IAM quotes no value in these messages (`Value at 'tags'
/// failed to satisfy constraint: …`).
struct Input<'p> {
    params: &'p QueryParams,
    errors: Vec<String>,
}

impl<'p> Input<'p> {
    fn new(params: &'p QueryParams) -> Input<'p> {
        Input {
            params,
            errors: Vec::new(),
        }
    }

    fn fail(&mut self, member: &str, constraint: &str) {
        self.errors.push(format!(
            "Value at '{member}' failed to satisfy constraint: {constraint}"
        ));
    }

    fn opt(&self, name: &str) -> Option<&'p str> {
        self.params.get(name)
    }

    fn required(&mut self, name: &str, member: &str) -> &'p str {
        match self.params.get(name) {
            Some(v) => v,
            None => {
                self.errors.push(format!(
                    "Value null at '{member}' failed to satisfy constraint: Member must not be null"
                ));
                ""
            }
        }
    }

    fn length(&mut self, member: &str, value: &str, min: usize, max: usize) {
        let n = value.chars().count();
        if n < min {
            self.fail(
                member,
                &format!("Member must have length greater than or equal to {min}"),
            );
        } else if n > max {
            self.fail(
                member,
                &format!("Member must have length less than or equal to {max}"),
            );
        }
    }

    /// An optional string parameter with length bounds.
    fn string(&mut self, name: &str, member: &str, min: usize, max: usize) -> Option<String> {
        let v = self.opt(name)?;
        self.length(member, v, min, max);
        Some(v.to_string())
    }

    /// A required string parameter with length bounds (empty when absent: the request fails).
    fn required_string(&mut self, name: &str, member: &str, min: usize, max: usize) -> String {
        match self.opt(name) {
            Some(v) => {
                self.length(member, v, min, max);
                v.to_string()
            }
            None => self.required(name, member).to_string(),
        }
    }

    fn document(&mut self, name: &str, member: &str) -> String {
        let v = self.required(name, member);
        if self.opt(name).is_some() {
            self.length(member, v, 1, POLICY_DOCUMENT_MAX);
            let ok = v
                .chars()
                .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'));
            if !ok {
                self.fail(
                    member,
                    &format!(
                        "Member must satisfy regular expression pattern: {POLICY_DOCUMENT_PATTERN}"
                    ),
                );
            }
        }
        v.to_string()
    }

    fn arn(&mut self, name: &str, member: &str) -> Option<String> {
        self.string(name, member, 20, 2048)
    }

    fn required_arn(&mut self, name: &str, member: &str) -> String {
        self.required_string(name, member, 20, 2048)
    }

    fn int(&mut self, name: &str, member: &str, min: i64, max: i64) -> Option<i64> {
        let raw = self.opt(name)?;
        let Ok(n) = raw.trim().parse::<i64>() else {
            // botocore never sends this; AWS's wording for it is not known.
            self.fail(member, "Member must be a number");
            return None;
        };
        if n < min {
            self.fail(
                member,
                &format!("Member must have value greater than or equal to {min}"),
            );
        } else if n > max {
            self.fail(
                member,
                &format!("Member must have value less than or equal to {max}"),
            );
        }
        Some(n)
    }

    fn one_of(&mut self, name: &str, member: &str, allowed: &[&str]) -> Option<&'p str> {
        let v = self.opt(name)?;
        if !allowed.contains(&v) {
            self.fail(member, "Member must satisfy enum value set");
        }
        Some(v)
    }

    fn boolean(&self, name: &str) -> bool {
        self.opt(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    }

    /// `UserName`. A user's name may be 128 characters where the operation takes an existing
    /// user (the inline policy calls, GetUser, DeleteUser) and 64 elsewhere, as in the botocore
    /// model.
    fn user_name(&mut self, max: usize) -> String {
        self.required_string("UserName", "userName", 1, max)
    }

    /// `UserName` where it may be left out (the caller's own).
    fn given_user_name(&mut self) -> Option<String> {
        self.string("UserName", "userName", 1, 128)
    }

    fn role_name(&mut self) -> String {
        self.required_string("RoleName", "roleName", 1, 64)
    }

    fn group_name(&mut self) -> String {
        self.required_string("GroupName", "groupName", 1, 128)
    }

    fn instance_profile_name(&mut self) -> String {
        self.required_string("InstanceProfileName", "instanceProfileName", 1, 128)
    }

    /// `TagKeys.member.N`: 1–50 keys of 1–128 characters.
    fn tag_keys(&mut self) -> Vec<String> {
        let keys: Vec<String> = self
            .params
            .list("TagKeys")
            .into_iter()
            .map(str::to_string)
            .collect();
        if keys.is_empty() && self.opt("TagKeys").is_none() {
            self.required("TagKeys", "tagKeys");
        }
        if keys.len() > MAX_TAGS {
            self.fail(
                "tagKeys",
                &format!("Member must have length less than or equal to {MAX_TAGS}"),
            );
        }
        for k in &keys {
            self.length("tagKeys", k, 1, 128);
        }
        keys
    }

    /// `VersionId`: `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`.
    fn version_id(&mut self) -> String {
        let version_id = self.required("VersionId", "versionId").to_string();
        if self.opt("VersionId").is_some() && !is_version_id(&version_id) {
            self.fail(
                "versionId",
                "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?",
            );
        }
        version_id
    }

    /// `AccessKeyId`: 16–128 word characters.
    fn access_key_id(&mut self) -> String {
        let access_key_id = self.required_string("AccessKeyId", "accessKeyId", 16, 128);
        if !access_key_id.is_empty()
            && !access_key_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.fail(
                "accessKeyId",
                "Member must satisfy regular expression pattern: [\\w]+",
            );
        }
        access_key_id
    }

    fn policy_name(&mut self) -> String {
        self.required_string("PolicyName", "policyName", 1, 128)
    }

    fn policy_arn(&mut self) -> String {
        self.required_arn("PolicyArn", "policyArn")
    }

    fn path(&mut self) -> Option<String> {
        self.string("Path", "path", 1, 512)
    }

    fn description(&mut self) -> Option<String> {
        self.string("Description", "description", 0, 1000)
    }

    /// `Marker` and `MaxItems` (1–1000, default 100).
    fn paging(&mut self) -> Paging {
        let marker = self.opt("Marker");
        if let Some(m) = marker {
            self.length("marker", m, 1, 320);
            if !m.chars().all(|c| ('\u{20}'..='\u{ff}').contains(&c)) {
                self.fail(
                    "marker",
                    "Member must satisfy regular expression pattern: [\\u0020-\\u00FF]+",
                );
            }
        }
        let max = self.int("MaxItems", "maxItems", 1, 1000);
        Paging {
            marker: marker.map(str::to_string),
            max_items: max.and_then(|n| usize::try_from(n.clamp(1, 1000)).ok()),
        }
    }

    /// A `pathPrefix` of users or roles: `/` then printable ASCII.
    fn path_prefix(&mut self) -> Option<String> {
        let v = self.string("PathPrefix", "pathPrefix", 1, 512)?;
        if !v.starts_with('/') || !v.bytes().all(|b| (0x21..=0x7f).contains(&b)) {
            self.fail(
                "pathPrefix",
                "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
            );
        }
        Some(v)
    }

    /// A `pathPrefix` of policies (`policyPathType`).
    fn policy_path_prefix(&mut self) -> Option<String> {
        let v = self.string("PathPrefix", "pathPrefix", 1, 512)?;
        let ok = v.starts_with('/')
            && v.ends_with('/')
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"/.,+@=_-".contains(&b))
            && !v.contains("//");
        if !ok {
            self.fail(
                "pathPrefix",
                "Member must satisfy regular expression pattern: ((/[A-Za-z0-9\\.,\\+@=_-]+)*)/",
            );
        }
        Some(v)
    }

    /// `Tags.member.N.Key` / `.Value`: at most 50, keys 1–128 and values 0–256 characters of
    /// letters, digits, white space and `_.:/=+-@`.
    fn tags(&mut self, required: bool) -> Vec<Tag> {
        let members = self.params.members("Tags");
        if required && members.is_empty() && self.opt("Tags").is_none() {
            self.required("Tags", "tags");
        }
        if members.len() > MAX_TAGS {
            self.fail(
                "tags",
                &format!("Member must have length less than or equal to {}", MAX_TAGS),
            );
        }
        let tag_chars = |s: &str| {
            s.chars()
                .all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
        };
        let pattern = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]";
        let mut tags = Vec::new();
        for (i, m) in members.iter().enumerate() {
            let n = i + 1;
            let key = match m.get("Key") {
                Some(k) => k,
                None => {
                    self.errors.push(format!(
                        "Value null at 'tags.{n}.member.key' failed to satisfy constraint: Member must not be null"
                    ));
                    continue;
                }
            };
            let value = match m.get("Value") {
                Some(v) => v,
                None => {
                    self.errors.push(format!(
                        "Value null at 'tags.{n}.member.value' failed to satisfy constraint: Member must not be null"
                    ));
                    continue;
                }
            };
            let key_member = format!("tags.{n}.member.key");
            let value_member = format!("tags.{n}.member.value");
            self.length(&key_member, key, 1, 128);
            if !key.is_empty() && !tag_chars(key) {
                self.fail(
                    &key_member,
                    &format!("Member must satisfy regular expression pattern: {pattern}+"),
                );
            }
            self.length(&value_member, value, 0, 256);
            if !tag_chars(value) {
                self.fail(
                    &value_member,
                    &format!("Member must satisfy regular expression pattern: {pattern}*"),
                );
            }
            tags.push(Tag {
                key: key.to_string(),
                value: value.to_string(),
            });
        }
        tags
    }

    fn finish(self) -> Result<(), WireError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(WireError::validation_failed(&self.errors))
        }
    }
}

mod details;
mod oidc;
mod saml;
mod sim;

// ---------------------------------------------------------------------------------------------
// Inputs, each member read in the model's order.
// ---------------------------------------------------------------------------------------------

from_query! {
    |i| CreateUserInput {
        path: i.path(),
        user_name: i.user_name(64),
        permissions_boundary: i.arn("PermissionsBoundary", "permissionsBoundary"),
        tags: i.tags(false),
    }

    |i| GetUserInput {
        user_name: i.given_user_name(),
    }

    |i| DeleteUserInput {
        user_name: i.user_name(128),
    }

    |i| ListUsersInput {
        path_prefix: i.path_prefix(),
        paging: i.paging(),
    }

    |i| CreateAccessKeyInput {
        user_name: i.given_user_name(),
    }

    |i| DeleteAccessKeyInput {
        user_name: i.given_user_name(),
        access_key_id: i.access_key_id(),
    }

    |i| ListAccessKeysInput {
        user_name: i.given_user_name(),
        paging: i.paging(),
    }

    |i| CreateRoleInput {
        path: i.path(),
        role_name: i.role_name(),
        assume_role_policy_document: i
            .document("AssumeRolePolicyDocument", "assumeRolePolicyDocument"),
        description: i.description(),
        max_session_duration: i
            .int("MaxSessionDuration", "maxSessionDuration", 3600, 43200)
            .and_then(|n| u32::try_from(n).ok()),
        permissions_boundary: i.arn("PermissionsBoundary", "permissionsBoundary"),
        tags: i.tags(false),
    }

    |i| GetRoleInput {
        role_name: i.role_name(),
    }

    |i| DeleteRoleInput {
        role_name: i.role_name(),
    }

    |i| ListRolesInput {
        path_prefix: i.path_prefix(),
        paging: i.paging(),
    }

    |i| UpdateAssumeRolePolicyInput {
        role_name: i.role_name(),
        policy_document: i.document("PolicyDocument", "policyDocument"),
    }

    |i| PutRolePermissionsBoundaryInput {
        role_name: i.role_name(),
        permissions_boundary: i.required_arn("PermissionsBoundary", "permissionsBoundary"),
    }

    |i| TagRoleInput {
        role_name: i.role_name(),
        tags: i.tags(true),
    }

    |i| PutUserPolicyInput {
        user_name: i.user_name(128),
        policy_name: i.policy_name(),
        policy_document: i.document("PolicyDocument", "policyDocument"),
    }

    |i| PutRolePolicyInput {
        role_name: i.role_name(),
        policy_name: i.policy_name(),
        policy_document: i.document("PolicyDocument", "policyDocument"),
    }

    |i| GetUserPolicyInput {
        user_name: i.user_name(128),
        policy_name: i.policy_name(),
    }

    |i| GetRolePolicyInput {
        role_name: i.role_name(),
        policy_name: i.policy_name(),
    }

    |i| DeleteUserPolicyInput {
        user_name: i.user_name(128),
        policy_name: i.policy_name(),
    }

    |i| DeleteRolePolicyInput {
        role_name: i.role_name(),
        policy_name: i.policy_name(),
    }

    |i| ListUserPoliciesInput {
        user_name: i.user_name(128),
        paging: i.paging(),
    }

    |i| ListRolePoliciesInput {
        role_name: i.role_name(),
        paging: i.paging(),
    }

    |i| AttachUserPolicyInput {
        user_name: i.user_name(64),
        policy_arn: i.policy_arn(),
    }

    |i| AttachRolePolicyInput {
        role_name: i.role_name(),
        policy_arn: i.policy_arn(),
    }

    |i| DetachUserPolicyInput {
        user_name: i.user_name(64),
        policy_arn: i.policy_arn(),
    }

    |i| DetachRolePolicyInput {
        role_name: i.role_name(),
        policy_arn: i.policy_arn(),
    }

    |i| ListAttachedUserPoliciesInput {
        user_name: i.user_name(64),
        path_prefix: i.policy_path_prefix(),
        paging: i.paging(),
    }

    |i| ListAttachedRolePoliciesInput {
        role_name: i.role_name(),
        path_prefix: i.policy_path_prefix(),
        paging: i.paging(),
    }

    |i| CreatePolicyInput {
        policy_name: i.policy_name(),
        path: i.path(),
        policy_document: i.document("PolicyDocument", "policyDocument"),
        description: i.description(),
        tags: i.tags(false),
    }

    |i| GetPolicyInput {
        policy_arn: i.policy_arn(),
    }

    |i| GetPolicyVersionInput {
        policy_arn: i.policy_arn(),
        version_id: i.version_id(),
    }
}

/// `v[1-9][0-9]*(\.[A-Za-z0-9-]*)?`
fn is_version_id(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('v') else {
        return false;
    };
    let (num, suffix) = match rest.split_once('.') {
        Some((n, s)) => (n, Some(s)),
        None => (rest, None),
    };
    !num.is_empty()
        && !num.starts_with('0')
        && num.bytes().all(|b| b.is_ascii_digit())
        && suffix.is_none_or(|s| s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

from_query! {
    |i| DeletePolicyInput {
        policy_arn: i.policy_arn(),
    }

    |i| ListPoliciesInput {
        scope: match i.one_of("Scope", "scope", &["All", "AWS", "Local"]) {
            Some("AWS") => PolicyScope::Aws,
            Some("Local") => PolicyScope::Local,
            _ => PolicyScope::All,
        },
        only_attached: i.boolean("OnlyAttached"),
        path_prefix: i.policy_path_prefix(),
        policy_usage_filter: match i.one_of(
            "PolicyUsageFilter",
            "policyUsageFilter",
            &["PermissionsPolicy", "PermissionsBoundary"],
        ) {
            Some("PermissionsPolicy") => Some(PolicyUsage::PermissionsPolicy),
            Some("PermissionsBoundary") => Some(PolicyUsage::PermissionsBoundary),
            _ => None,
        },
        paging: i.paging(),
    }

    |i| CreateGroupInput {
        path: i.path(),
        group_name: i.group_name(),
    }

    |i| GetGroupInput {
        group_name: i.group_name(),
        paging: i.paging(),
    }

    |i| ListGroupsInput {
        path_prefix: i.path_prefix(),
        paging: i.paging(),
    }

    |i| ListGroupsForUserInput {
        user_name: i.user_name(128),
        paging: i.paging(),
    }

    |i| UpdateGroupInput {
        group_name: i.group_name(),
        new_path: i.string("NewPath", "newPath", 1, 512),
        new_group_name: i.string("NewGroupName", "newGroupName", 1, 128),
    }

    |i| DeleteGroupInput {
        group_name: i.group_name(),
    }

    |i| GroupMembershipInput {
        group_name: i.group_name(),
        user_name: i.user_name(64),
    }

    |i| PutGroupPolicyInput {
        group_name: i.group_name(),
        policy_name: i.policy_name(),
        policy_document: i.document("PolicyDocument", "policyDocument"),
    }

    |i| GroupPolicyInput {
        group_name: i.group_name(),
        policy_name: i.policy_name(),
    }

    |i| ListGroupPoliciesInput {
        group_name: i.group_name(),
        paging: i.paging(),
    }

    |i| GroupPolicyArnInput {
        group_name: i.group_name(),
        policy_arn: i.policy_arn(),
    }

    |i| ListAttachedGroupPoliciesInput {
        group_name: i.group_name(),
        path_prefix: i.policy_path_prefix(),
        paging: i.paging(),
    }

    |i| CreateInstanceProfileInput {
        instance_profile_name: i.instance_profile_name(),
        path: i.path(),
        tags: i.tags(false),
    }

    |i| InstanceProfileNameInput {
        instance_profile_name: i.instance_profile_name(),
    }

    |i| ListInstanceProfilesInput {
        path_prefix: i.path_prefix(),
        paging: i.paging(),
    }

    |i| ListInstanceProfilesForRoleInput {
        role_name: i.role_name(),
        paging: i.paging(),
    }

    |i| InstanceProfileRoleInput {
        instance_profile_name: i.instance_profile_name(),
        role_name: i.role_name(),
    }

    |i| TagInstanceProfileInput {
        instance_profile_name: i.instance_profile_name(),
        tags: i.tags(true),
    }

    |i| UntagInstanceProfileInput {
        instance_profile_name: i.instance_profile_name(),
        tag_keys: i.tag_keys(),
    }

    |i| ListInstanceProfileTagsInput {
        instance_profile_name: i.instance_profile_name(),
        paging: i.paging(),
    }

    |i| CreateServiceLinkedRoleInput {
        aws_service_name: i.required_string("AWSServiceName", "aWSServiceName", 1, 128),
        description: i.description(),
        custom_suffix: i.string("CustomSuffix", "customSuffix", 1, 64),
    }

    |i| DeleteServiceLinkedRoleInput {
        role_name: i.role_name(),
    }

    |i| GetServiceLinkedRoleDeletionStatusInput {
        deletion_task_id: i.required_string("DeletionTaskId", "deletionTaskId", 1, 1000),
    }

    |i| CreatePolicyVersionInput {
        policy_arn: i.policy_arn(),
        policy_document: i.document("PolicyDocument", "policyDocument"),
        set_as_default: i.boolean("SetAsDefault"),
    }

    |i| ListPolicyVersionsInput {
        policy_arn: i.policy_arn(),
        paging: i.paging(),
    }

    |i| PolicyVersionIdInput {
        policy_arn: i.policy_arn(),
        version_id: i.version_id(),
    }

    |i| ListEntitiesForPolicyInput {
        policy_arn: i.policy_arn(),
        entity_filter: match i.one_of(
            "EntityFilter",
            "entityFilter",
            &[
                "User",
                "Role",
                "Group",
                "LocalManagedPolicy",
                "AWSManagedPolicy",
            ],
        ) {
            Some("User") => Some(EntityKind::User),
            Some("Role") => Some(EntityKind::Role),
            Some("Group") => Some(EntityKind::Group),
            _ => None,
        },
        path_prefix: i.string("PathPrefix", "pathPrefix", 1, 512),
        policy_usage_filter: match i.one_of(
            "PolicyUsageFilter",
            "policyUsageFilter",
            &["PermissionsPolicy", "PermissionsBoundary"],
        ) {
            Some("PermissionsPolicy") => Some(PolicyUsage::PermissionsPolicy),
            Some("PermissionsBoundary") => Some(PolicyUsage::PermissionsBoundary),
            _ => None,
        },
        paging: i.paging(),
    }

    |i| TagPolicyInput {
        policy_arn: i.policy_arn(),
        tags: i.tags(true),
    }

    |i| UntagPolicyInput {
        policy_arn: i.policy_arn(),
        tag_keys: i.tag_keys(),
    }

    |i| ListPolicyTagsInput {
        policy_arn: i.policy_arn(),
        paging: i.paging(),
    }

    |i| PutUserPermissionsBoundaryInput {
        user_name: i.user_name(128),
        permissions_boundary: i.required_arn("PermissionsBoundary", "permissionsBoundary"),
    }

    |i| DeleteUserPermissionsBoundaryInput {
        user_name: i.user_name(128),
    }

    |i| DeleteRolePermissionsBoundaryInput {
        role_name: i.role_name(),
    }

    |i| UpdateUserInput {
        user_name: i.user_name(128),
        new_path: i.string("NewPath", "newPath", 1, 512),
        new_user_name: i.string("NewUserName", "newUserName", 1, 64),
    }

    |i| TagUserInput {
        user_name: i.user_name(128),
        tags: i.tags(true),
    }

    |i| UntagUserInput {
        user_name: i.user_name(128),
        tag_keys: i.tag_keys(),
    }

    |i| ListUserTagsInput {
        user_name: i.user_name(128),
        paging: i.paging(),
    }
}

impl FromQuery for UpdateAccessKeyInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| {
            let user_name = i.given_user_name();
            let access_key_id = i.access_key_id();
            let status = match i.one_of("Status", "status", &["Active", "Inactive", "Expired"]) {
                Some("Active") => KeyStatus::Active,
                None => {
                    i.required("Status", "status");
                    KeyStatus::Active
                }
                // An expired key does not sign either; berth keeps it as inactive.
                Some(_) => KeyStatus::Inactive,
            };
            UpdateAccessKeyInput {
                user_name,
                access_key_id,
                status,
            }
        })
    }
}

from_query! {
    |i| GetAccessKeyLastUsedInput {
        access_key_id: i.access_key_id(),
    }
}

impl FromQuery for GetAccountSummaryInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |_| GetAccountSummaryInput {})
    }
}

impl FromQuery for AccountAliasInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| {
            let account_alias = i.required_string("AccountAlias", "accountAlias", 3, 63);
            if i.opt("AccountAlias").is_some() && !is_account_alias(&account_alias) {
                i.fail(
                    "accountAlias",
                    "Member must satisfy regular expression pattern: ^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$",
                );
            }
            AccountAliasInput { account_alias }
        })
    }
}

/// `^[a-z0-9]([a-z0-9]|-(?!-)){1,61}[a-z0-9]$`: lowercase letters, digits and single hyphens,
/// neither first nor last.
fn is_account_alias(a: &str) -> bool {
    let ok_chars = a
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    (3..=63).contains(&a.len())
        && ok_chars
        && !a.starts_with('-')
        && !a.ends_with('-')
        && !a.contains("--")
}

from_query! {
    |i| ListAccountAliasesInput {
        paging: i.paging(),
    }

    // MaxSigninSessionDuration and ResetMaxSigninSessionDuration concern console sign-in,
    // which berth does not have; they are accepted and have no effect.
    |i| UpdateRoleInput {
        role_name: i.role_name(),
        description: i.description(),
        max_session_duration: i
            .int("MaxSessionDuration", "maxSessionDuration", 3600, 43200)
            .and_then(|n| u32::try_from(n).ok()),
    }

    |i| UpdateRoleDescriptionInput {
        role_name: i.role_name(),
        description: i.required_string("Description", "description", 0, 1000),
    }

    |i| UntagRoleInput {
        role_name: i.role_name(),
        tag_keys: i.tag_keys(),
    }

    |i| ListRoleTagsInput {
        role_name: i.role_name(),
        paging: i.paging(),
    }

    |i| ListUserCredentialsInput {
        user_name: i.given_user_name(),
        paging: i.paging(),
    }
}

impl FromQuery for ListAccountCredentialsInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| {
            i.one_of(
                "AssignmentStatus",
                "assignmentStatus",
                &["Assigned", "Unassigned", "Any"],
            );
            ListAccountCredentialsInput { paging: i.paging() }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Output.
// ---------------------------------------------------------------------------------------------

/// Percent-encodes a policy document as IAM returns it: every byte but the unreserved
/// characters of RFC 3986 as `%XX` (a space is `%20`, never `+`).
fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn date(out: &mut String, name: &str, secs: u64) {
    element(out, name, &iso8601(secs));
}

fn tags_xml(out: &mut String, tags: &[Tag]) {
    out.push_str("<Tags>");
    for t in tags {
        out.push_str("<member>");
        element(out, "Key", &t.key);
        element(out, "Value", &t.value);
        out.push_str("</member>");
    }
    out.push_str("</Tags>");
}

fn boundary_xml(out: &mut String, arn: Option<&str>) {
    if let Some(arn) = arn {
        out.push_str("<PermissionsBoundary>");
        element(out, "PermissionsBoundaryType", "Policy");
        element(out, "PermissionsBoundaryArn", arn);
        out.push_str("</PermissionsBoundary>");
    }
}

/// `<User>` as CreateUser/GetUser show it (ListUsers omits the boundary and tags).
fn user_xml(out: &mut String, u: &User) {
    out.push_str("<User>");
    user_fields(out, u, true);
    out.push_str("</User>");
}

fn user_fields(out: &mut String, u: &User, full: bool) {
    element(out, "Path", &u.path);
    element(out, "UserName", &u.name);
    element(out, "UserId", &u.id);
    element(out, "Arn", &u.arn());
    date(out, "CreateDate", u.created_at);
    if full {
        boundary_xml(out, u.permissions_boundary.as_deref());
        if !u.tags.is_empty() {
            tags_xml(out, &u.tags);
        }
    }
}

/// Which operation a role is shown by: each shows a different subset of its fields.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RoleView {
    Create,
    Get,
    List,
}

fn role_xml(out: &mut String, r: &Role, view: RoleView) {
    out.push_str("<Role>");
    role_fields(out, r, view);
    out.push_str("</Role>");
}

fn role_fields(out: &mut String, r: &Role, view: RoleView) {
    element(out, "Path", &r.path);
    element(out, "RoleName", &r.name);
    element(out, "RoleId", &r.id);
    element(out, "Arn", &r.arn());
    date(out, "CreateDate", r.created_at);
    element(
        out,
        "AssumeRolePolicyDocument",
        &url_encode(&r.assume_role_policy),
    );
    if view != RoleView::Create {
        if let Some(d) = &r.description {
            element(out, "Description", d);
        }
        element(
            out,
            "MaxSessionDuration",
            &r.max_session_duration.to_string(),
        );
    }
    if view != RoleView::List {
        boundary_xml(out, r.permissions_boundary.as_deref());
        if !r.tags.is_empty() {
            tags_xml(out, &r.tags);
        }
    }
    if view == RoleView::Get {
        // berth does not track role use; AWS sends the element empty for an unused role.
        out.push_str("<RoleLastUsed></RoleLastUsed>");
    }
}

/// Which operation a managed policy is shown by.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PolicyView {
    Create,
    Get,
    List,
}

fn policy_xml(out: &mut String, info: &PolicyInfo, view: PolicyView) {
    out.push_str("<Policy>");
    policy_fields(out, info, view);
    out.push_str("</Policy>");
}

fn policy_fields(out: &mut String, info: &PolicyInfo, view: PolicyView) {
    let p: &ManagedPolicy = &info.policy;
    element(out, "PolicyName", &p.name);
    element(out, "PolicyId", &p.id);
    element(out, "Arn", &p.arn);
    element(out, "Path", &p.path);
    element(out, "DefaultVersionId", &p.default_version_id);
    element(out, "AttachmentCount", &info.attachment_count.to_string());
    element(
        out,
        "PermissionsBoundaryUsageCount",
        &info.permissions_boundary_usage_count.to_string(),
    );
    element(out, "IsAttachable", "true");
    if let (PolicyView::Get, Some(d)) = (view, &p.description) {
        element(out, "Description", d);
    }
    date(out, "CreateDate", p.created_at);
    date(out, "UpdateDate", p.updated_at);
    match view {
        PolicyView::Get => tags_xml(out, &p.tags),
        PolicyView::Create if !p.tags.is_empty() => tags_xml(out, &p.tags),
        _ => {}
    }
}

/// A list's `<{name}>` of `<member>`s, each written by `item`, then `IsTruncated` and `Marker`.
fn page_xml<T>(out: &mut String, name: &str, page: &Page<T>, item: impl Fn(&mut String, &T)) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    for i in &page.items {
        item(out, i);
    }
    out.push_str("</");
    out.push_str(name);
    out.push('>');
    element(
        out,
        "IsTruncated",
        if page.is_truncated() { "true" } else { "false" },
    );
    if let Some(m) = &page.marker {
        element(out, "Marker", m);
    }
}

/// `<member>…</member>` with `fields` inside.
fn member<T>(fields: impl Fn(&mut String, &T)) -> impl Fn(&mut String, &T) {
    move |out, item| {
        out.push_str("<member>");
        fields(out, item);
        out.push_str("</member>");
    }
}

fn status(s: KeyStatus) -> &'static str {
    match s {
        KeyStatus::Active => "Active",
        KeyStatus::Inactive => "Inactive",
    }
}

fn key_fields(out: &mut String, k: &AccessKeyInfo) {
    // AWS's form for the root user's own keys is not documented; berth leaves UserName out.
    if let Some(u) = &k.user_name {
        element(out, "UserName", u);
    }
    element(out, "AccessKeyId", &k.access_key_id);
    element(out, "Status", status(k.status));
}

impl ToXml for CreateUserOutput {
    fn to_xml(&self, out: &mut String) {
        user_xml(out, &self.user);
    }
}

impl ToXml for GetUserOutput {
    fn to_xml(&self, out: &mut String) {
        match &self.user {
            GotUser::User(u) => user_xml(out, u),
            GotUser::Root {
                account,
                arn,
                created_at,
            } => {
                out.push_str("<User>");
                element(out, "UserId", account);
                element(out, "Arn", arn);
                date(out, "CreateDate", *created_at);
                out.push_str("</User>");
            }
        }
    }
}

impl ToXml for ListUsersOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "Users",
            &self.users,
            member(|out, u| user_fields(out, u, false)),
        );
    }
}

impl ToXml for CreateAccessKeyOutput {
    fn to_xml(&self, out: &mut String) {
        let key = &self.access_key;
        out.push_str("<AccessKey>");
        key_fields(out, &key.info);
        element(out, "SecretAccessKey", &key.secret_access_key);
        date(out, "CreateDate", key.info.created_at);
        out.push_str("</AccessKey>");
    }
}

impl ToXml for ListAccessKeysOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "AccessKeyMetadata",
            &self.access_key_metadata,
            member(|out, k: &AccessKeyInfo| {
                key_fields(out, k);
                date(out, "CreateDate", k.created_at);
            }),
        );
    }
}

impl ToXml for CreateRoleOutput {
    fn to_xml(&self, out: &mut String) {
        role_xml(out, &self.role, RoleView::Create);
    }
}

impl ToXml for GetRoleOutput {
    fn to_xml(&self, out: &mut String) {
        role_xml(out, &self.role, RoleView::Get);
    }
}

impl ToXml for ListRolesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "Roles",
            &self.roles,
            member(|out, r| role_fields(out, r, RoleView::List)),
        );
    }
}

impl ToXml for GetUserPolicyOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "UserName", &self.user_name);
        element(out, "PolicyName", &self.policy_name);
        element(out, "PolicyDocument", &url_encode(&self.policy_document));
    }
}

impl ToXml for GetRolePolicyOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "RoleName", &self.role_name);
        element(out, "PolicyName", &self.policy_name);
        element(out, "PolicyDocument", &url_encode(&self.policy_document));
    }
}

impl ToXml for ListPolicyNamesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(out, "PolicyNames", &self.policy_names, |out, n| {
            element(out, "member", n)
        });
    }
}

impl ToXml for ListAttachedPoliciesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "AttachedPolicies",
            &self.attached_policies,
            member(|out, a: &AttachedPolicy| {
                element(out, "PolicyName", &a.name);
                element(out, "PolicyArn", &a.arn);
            }),
        );
    }
}

impl ToXml for CreatePolicyOutput {
    fn to_xml(&self, out: &mut String) {
        policy_xml(out, &self.policy, PolicyView::Create);
    }
}

impl ToXml for GetPolicyOutput {
    fn to_xml(&self, out: &mut String) {
        policy_xml(out, &self.policy, PolicyView::Get);
    }
}

/// A policy version's fields, with its document when `document`.
fn version_fields(out: &mut String, v: &PolicyVersion, document: bool) {
    if document {
        element(out, "Document", &url_encode(&v.document));
    }
    element(out, "VersionId", &v.version_id);
    element(
        out,
        "IsDefaultVersion",
        if v.is_default { "true" } else { "false" },
    );
    date(out, "CreateDate", v.created_at);
}

impl ToXml for GetPolicyVersionOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<PolicyVersion>");
        version_fields(out, &self.policy_version, true);
        out.push_str("</PolicyVersion>");
    }
}

impl ToXml for CreatePolicyVersionOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<PolicyVersion>");
        version_fields(out, &self.policy_version, false);
        out.push_str("</PolicyVersion>");
    }
}

impl ToXml for ListPolicyVersionsOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "Versions",
            &self.versions,
            member(|out, v| version_fields(out, v, false)),
        );
    }
}

impl ToXml for ListEntitiesForPolicyOutput {
    fn to_xml(&self, out: &mut String) {
        for (list, kind, name, id) in [
            ("PolicyGroups", EntityKind::Group, "GroupName", "GroupId"),
            ("PolicyUsers", EntityKind::User, "UserName", "UserId"),
            ("PolicyRoles", EntityKind::Role, "RoleName", "RoleId"),
        ] {
            out.push('<');
            out.push_str(list);
            out.push('>');
            for e in self.entities.items.iter().filter(|e| e.kind == kind) {
                out.push_str("<member>");
                element(out, name, &e.name);
                element(out, id, &e.id);
                out.push_str("</member>");
            }
            out.push_str("</");
            out.push_str(list);
            out.push('>');
        }
        element(
            out,
            "IsTruncated",
            if self.entities.is_truncated() {
                "true"
            } else {
                "false"
            },
        );
        if let Some(m) = &self.entities.marker {
            element(out, "Marker", m);
        }
    }
}

impl ToXml for ListPoliciesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "Policies",
            &self.policies,
            member(|out, p| policy_fields(out, p, PolicyView::List)),
        );
    }
}

fn group_fields(out: &mut String, g: &Group) {
    element(out, "Path", &g.path);
    element(out, "GroupName", &g.name);
    element(out, "GroupId", &g.id);
    element(out, "Arn", &g.arn());
    date(out, "CreateDate", g.created_at);
}

fn group_xml(out: &mut String, g: &Group) {
    out.push_str("<Group>");
    group_fields(out, g);
    out.push_str("</Group>");
}

impl ToXml for CreateGroupOutput {
    fn to_xml(&self, out: &mut String) {
        group_xml(out, &self.group);
    }
}

impl ToXml for GetGroupOutput {
    fn to_xml(&self, out: &mut String) {
        group_xml(out, &self.group);
        page_xml(
            out,
            "Users",
            &self.users,
            member(|out, u| user_fields(out, u, false)),
        );
    }
}

impl ToXml for ListGroupsOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(out, "Groups", &self.groups, member(group_fields));
    }
}

impl ToXml for GetGroupPolicyOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "GroupName", &self.group_name);
        element(out, "PolicyName", &self.policy_name);
        element(out, "PolicyDocument", &url_encode(&self.policy_document));
    }
}

fn instance_profile_fields(out: &mut String, info: &InstanceProfileInfo) {
    let p: &InstanceProfile = &info.profile;
    element(out, "Path", &p.path);
    element(out, "InstanceProfileName", &p.name);
    element(out, "InstanceProfileId", &p.id);
    element(out, "Arn", &p.arn());
    date(out, "CreateDate", p.created_at);
    out.push_str("<Roles>");
    for r in &info.roles {
        out.push_str("<member>");
        role_fields(out, r, RoleView::List);
        out.push_str("</member>");
    }
    out.push_str("</Roles>");
    if !p.tags.is_empty() {
        tags_xml(out, &p.tags);
    }
}

impl ToXml for InstanceProfileOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<InstanceProfile>");
        instance_profile_fields(out, &self.instance_profile);
        out.push_str("</InstanceProfile>");
    }
}

impl ToXml for ListInstanceProfilesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "InstanceProfiles",
            &self.instance_profiles,
            member(instance_profile_fields),
        );
    }
}

impl ToXml for ListTagsOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "Tags",
            &self.tags,
            member(|out, t: &Tag| {
                element(out, "Key", &t.key);
                element(out, "Value", &t.value);
            }),
        );
    }
}

impl ToXml for CreateServiceLinkedRoleOutput {
    fn to_xml(&self, out: &mut String) {
        role_xml(out, &self.role, RoleView::Get);
    }
}

impl ToXml for DeleteServiceLinkedRoleOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "DeletionTaskId", &self.deletion_task_id);
    }
}

impl ToXml for GetServiceLinkedRoleDeletionStatusOutput {
    fn to_xml(&self, out: &mut String) {
        element(out, "Status", self.status.as_str());
    }
}

impl ToXml for GetAccessKeyLastUsedOutput {
    fn to_xml(&self, out: &mut String) {
        if let Some(u) = &self.user_name {
            element(out, "UserName", u);
        }
        // AWS's answer for a key never used: no date, `N/A` for the service and region.
        out.push_str("<AccessKeyLastUsed>");
        element(out, "ServiceName", "N/A");
        element(out, "Region", "N/A");
        out.push_str("</AccessKeyLastUsed>");
    }
}

impl ToXml for UpdateRoleDescriptionOutput {
    fn to_xml(&self, out: &mut String) {
        role_xml(out, &self.role, RoleView::Get);
    }
}

impl ToXml for EmptyListOutput {
    fn to_xml(&self, out: &mut String) {
        out.push('<');
        out.push_str(self.list);
        out.push_str("/>");
        if self.paged {
            element(out, "IsTruncated", "false");
        }
    }
}

impl ToXml for GetAccountSummaryOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<SummaryMap>");
        for (k, v) in &self.summary_map {
            out.push_str("<entry>");
            element(out, "key", k);
            element(out, "value", &v.to_string());
            out.push_str("</entry>");
        }
        out.push_str("</SummaryMap>");
    }
}

impl ToXml for ListAccountAliasesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(out, "AccountAliases", &self.account_aliases, |out, a| {
            element(out, "member", a)
        });
    }
}

// SSH keys, signing and server certificates, service-specific credentials.
mod certs;
// Console passwords, the password policy and MFA devices.
mod creds;
// The credential report and the account's other account-wide answers.
mod reports;
// Service last accessed data, the STS preferences and the features berth's accounts lack.
mod access;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn account_aliases_follow_the_model_pattern() {
        for ok in ["abc", "my-org-1", "a1b"] {
            assert!(is_account_alias(ok), "{ok}");
        }
        for bad in ["ab", "-abc", "abc-", "a--b", "ABC", "a_b"] {
            assert!(!is_account_alias(bad), "{bad}");
        }
    }

    #[test]
    fn documents_are_percent_encoded_without_plus() {
        assert_eq!(
            url_encode("{\"Version\": \"2012-10-17\"}\n"),
            "%7B%22Version%22%3A%20%222012-10-17%22%7D%0A"
        );
        assert_eq!(url_encode("a-b_c.d~é"), "a-b_c.d~%C3%A9");
    }

    #[test]
    fn version_ids() {
        for ok in ["v1", "v12", "v3.abc-1"] {
            assert!(is_version_id(ok), "{ok}");
        }
        for bad in ["", "1", "v", "v0", "v01", "vx", "v1.a_b"] {
            assert!(!is_version_id(bad), "{bad}");
        }
    }

    #[test]
    fn validation_messages_count_and_join() {
        let params = QueryParams::parse(b"MaxItems=0&Marker=");
        let e = decode(&params, |i| i.paging()).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message.as_deref(),
            Some(
                "2 validation errors detected: Value at 'marker' failed to satisfy constraint: Member must have length greater than or equal to 1; Value at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )
        );
        let e = DeleteUserInput::from_query(&QueryParams::parse(b"")).unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"
            )
        );
    }

    #[test]
    fn inputs_decode_in_the_models_terms() {
        let params = QueryParams::parse(
            b"RoleName=r&AssumeRolePolicyDocument=%7B%7D&MaxSessionDuration=7200&Tags.member.1.Key=k&Tags.member.1.Value=v",
        );
        let input = CreateRoleInput::from_query(&params).unwrap();
        assert_eq!(input.role_name, "r");
        assert_eq!(input.assume_role_policy_document, "{}");
        assert_eq!(input.max_session_duration, Some(7200));
        assert_eq!(input.path, None);
        assert_eq!(input.tags.len(), 1);
        let params = QueryParams::parse(b"Scope=Local&OnlyAttached=true&MaxItems=5");
        let input = ListPoliciesInput::from_query(&params).unwrap();
        assert_eq!(input.scope, PolicyScope::Local);
        assert!(input.only_attached);
        assert_eq!(input.paging.max_items, Some(5));
        let e = ListPoliciesInput::from_query(&QueryParams::parse(b"Scope=Mine")).unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "1 validation error detected: Value at 'scope' failed to satisfy constraint: Member must satisfy enum value set"
            )
        );
    }

    #[test]
    fn tag_constraints() {
        let long = "k".repeat(129);
        let raw = format!(
            "Tags.member.1.Key={long}&Tags.member.1.Value=v&Tags.member.2.Key=a%21&Tags.member.2.Value="
        );
        let params = QueryParams::parse(raw.as_bytes());
        let mut input = Input::new(&params);
        let tags = input.tags(false);
        assert_eq!(tags.len(), 2);
        let msg = input.finish().unwrap_err().message.unwrap_or_default();
        assert!(msg.starts_with("2 validation errors detected: Value at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128; Value at 'tags.2.member.key'"), "{msg}");
    }

    #[test]
    fn lists_write_members_then_truncation() {
        let out = ListPolicyNamesOutput {
            policy_names: Page {
                items: vec!["a".into(), "b<".into()],
                marker: Some("m".into()),
            },
        };
        let mut xml = String::new();
        out.to_xml(&mut xml);
        assert_eq!(
            xml,
            "<PolicyNames><member>a</member><member>b&lt;</member></PolicyNames><IsTruncated>true</IsTruncated><Marker>m</Marker>"
        );
    }
}
