//! AWS Identity and Access Management (Query protocol, version 2010-05-08).
//!
//! Each handler checks its input against the constraints of the IAM model (lengths, ranges,
//! enums: AWS's `ValidationError` with its `N validation error(s) detected: …` text), asks
//! the authoriser, calls `berth-iam`, and writes the result as XML. Policy documents go out
//! URL-encoded, as AWS sends them.

use berth_core::time::iso8601;
use berth_iam::{
    AccessKeyInfo, AttachedPolicy, IamError, KeyHolder, KeyStatus, ListOptions, ManagedPolicy,
    NewPolicy, NewRole, NewUser, Page, PolicyFilter, PolicyInfo, PolicyScope, PolicyUsage,
    Principal, Role, Tag, User,
};

use crate::error::WireError;
use crate::services::{Ctx, QueryParams};
use crate::xml::element;
use berth_control::authz::Check;

type Handler = fn(&Ctx<'_>, &QueryParams) -> Result<String, WireError>;

pub fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    params: &QueryParams,
) -> Option<Result<String, WireError>> {
    let handler: Handler = match action {
        "CreateUser" => create_user,
        "GetUser" => get_user,
        "DeleteUser" => delete_user,
        "ListUsers" => list_users,
        "CreateAccessKey" => create_access_key,
        "DeleteAccessKey" => delete_access_key,
        "ListAccessKeys" => list_access_keys,
        "PutUserPolicy" => |c, p| put_inline_policy(c, p, Holder::User),
        "GetUserPolicy" => |c, p| get_inline_policy(c, p, Holder::User),
        "DeleteUserPolicy" => |c, p| delete_inline_policy(c, p, Holder::User),
        "ListUserPolicies" => |c, p| list_inline_policies(c, p, Holder::User),
        "AttachUserPolicy" => |c, p| attach_policy(c, p, Holder::User),
        "DetachUserPolicy" => |c, p| detach_policy(c, p, Holder::User),
        "ListAttachedUserPolicies" => |c, p| list_attached_policies(c, p, Holder::User),
        "CreateRole" => create_role,
        "GetRole" => get_role,
        "DeleteRole" => delete_role,
        "ListRoles" => list_roles,
        "UpdateAssumeRolePolicy" => update_assume_role_policy,
        "PutRolePolicy" => |c, p| put_inline_policy(c, p, Holder::Role),
        "GetRolePolicy" => |c, p| get_inline_policy(c, p, Holder::Role),
        "DeleteRolePolicy" => |c, p| delete_inline_policy(c, p, Holder::Role),
        "ListRolePolicies" => |c, p| list_inline_policies(c, p, Holder::Role),
        "AttachRolePolicy" => |c, p| attach_policy(c, p, Holder::Role),
        "DetachRolePolicy" => |c, p| detach_policy(c, p, Holder::Role),
        "ListAttachedRolePolicies" => |c, p| list_attached_policies(c, p, Holder::Role),
        "PutRolePermissionsBoundary" => put_role_permissions_boundary,
        "TagRole" => tag_role,
        "CreatePolicy" => create_policy,
        "GetPolicy" => get_policy,
        "GetPolicyVersion" => get_policy_version,
        "DeletePolicy" => delete_policy,
        "ListPolicies" => list_policies,
        _ => return None,
    };
    Some(handler(ctx, params))
}

// ---------------------------------------------------------------------------------------------
// Input: the model's constraints, checked as AWS's request validation does.
// ---------------------------------------------------------------------------------------------

/// Largest policy document the model accepts (`policyDocumentType`).
const POLICY_DOCUMENT_MAX: usize = 131_072;
/// `policyDocumentType`'s pattern, as AWS quotes it.
const POLICY_DOCUMENT_PATTERN: &str = "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";

/// Collects constraint failures; AWS reports all of a request's at once. IAM quotes no value in
/// these messages (`Value at 'tags' failed to satisfy constraint: …`).
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

    /// A string parameter with length bounds; `None` when absent and optional.
    fn string(
        &mut self,
        name: &str,
        member: &str,
        min: usize,
        max: usize,
        required: bool,
    ) -> Option<&'p str> {
        let v = if required {
            Some(self.required(name, member)).filter(|v| !v.is_empty() || self.opt(name).is_some())
        } else {
            self.opt(name)
        };
        if let Some(v) = v {
            self.length(member, v, min, max);
        }
        v
    }

    fn document(&mut self, name: &str, member: &str) -> &'p str {
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
        v
    }

    fn arn(&mut self, name: &str, member: &str, required: bool) -> Option<&'p str> {
        self.string(name, member, 20, 2048, required)
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

    /// `Marker` and `MaxItems` (1–1000, default 100).
    fn list_options(&mut self) -> ListOptions<'p> {
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
        let max = self.int("MaxItems", "maxItems", 1, 1000).unwrap_or(100);
        ListOptions {
            marker,
            max_items: usize::try_from(max.clamp(1, 1000)).unwrap_or(100),
        }
    }

    /// A `pathPrefix` of users or roles: `/` then printable ASCII.
    fn path_prefix(&mut self) -> Option<&'p str> {
        let v = self.string("PathPrefix", "pathPrefix", 1, 512, false)?;
        if !v.starts_with('/') || !v.bytes().all(|b| (0x21..=0x7f).contains(&b)) {
            self.fail(
                "pathPrefix",
                "Member must satisfy regular expression pattern: \\u002F[\\u0021-\\u007F]*",
            );
        }
        Some(v)
    }

    /// A `pathPrefix` of policies (`policyPathType`).
    fn policy_path_prefix(&mut self) -> Option<&'p str> {
        let v = self.string("PathPrefix", "pathPrefix", 1, 512, false)?;
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
        if members.len() > berth_iam::MAX_TAGS {
            self.fail(
                "tags",
                &format!(
                    "Member must have length less than or equal to {}",
                    berth_iam::MAX_TAGS
                ),
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
        match self.errors.len() {
            0 => Ok(()),
            1 => Err(WireError::client(
                "ValidationError",
                format!("1 validation error detected: {}", self.errors[0]),
            )),
            n => Err(WireError::client(
                "ValidationError",
                format!("{n} validation errors detected: {}", self.errors.join("; ")),
            )),
        }
    }
}

fn user_name(input: &mut Input<'_>, max: usize) -> String {
    input
        .string("UserName", "userName", 1, max, true)
        .unwrap_or_default()
        .to_string()
}

fn role_name(input: &mut Input<'_>) -> String {
    input
        .string("RoleName", "roleName", 1, 64, true)
        .unwrap_or_default()
        .to_string()
}

fn policy_name(input: &mut Input<'_>) -> String {
    input
        .string("PolicyName", "policyName", 1, 128, true)
        .unwrap_or_default()
        .to_string()
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
fn user_xml(out: &mut String, u: &User, full: bool) {
    out.push_str("<User>");
    user_fields(out, u, full);
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

fn page_tail<T>(out: &mut String, page: &Page<T>) {
    element(
        out,
        "IsTruncated",
        if page.is_truncated() { "true" } else { "false" },
    );
    if let Some(m) = &page.marker {
        element(out, "Marker", m);
    }
}

fn names_xml(page: &Page<String>) -> String {
    let mut out = String::from("<PolicyNames>");
    for n in &page.items {
        element(&mut out, "member", n);
    }
    out.push_str("</PolicyNames>");
    page_tail(&mut out, page);
    out
}

fn attached_xml(page: &Page<AttachedPolicy>) -> String {
    let mut out = String::from("<AttachedPolicies>");
    for a in &page.items {
        out.push_str("<member>");
        element(&mut out, "PolicyName", &a.name);
        element(&mut out, "PolicyArn", &a.arn);
        out.push_str("</member>");
    }
    out.push_str("</AttachedPolicies>");
    page_tail(&mut out, page);
    out
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

// ---------------------------------------------------------------------------------------------
// Resources and callers.
// ---------------------------------------------------------------------------------------------

fn user_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, WireError> {
    Ok(match ctx.control.iam().find_user(ctx.account(), name)? {
        Some(u) => u.arn(),
        None => format!("arn:aws:iam::{}:user/{name}", ctx.account()),
    })
}

fn role_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, WireError> {
    Ok(match ctx.control.iam().role(ctx.account(), name)? {
        Some(r) => r.arn(),
        None => format!("arn:aws:iam::{}:role/{name}", ctx.account()),
    })
}

/// Whose keys a call without `UserName` is about: the calling user's own, or the root user's.
/// A role session must name the user.
fn key_holder<'a>(ctx: &'a Ctx<'_>, given: Option<&'a str>) -> Result<KeyHolder<'a>, WireError> {
    if let Some(name) = given {
        return Ok(KeyHolder::User(name));
    }
    match &ctx.caller.principal {
        Principal::Root { .. } => Ok(KeyHolder::Root),
        Principal::User { name, .. } => Ok(KeyHolder::User(name)),
        Principal::AssumedRole { .. } => Err(IamError::NonUserCredentials.into()),
    }
}

fn holder_arn(ctx: &Ctx<'_>, holder: KeyHolder<'_>) -> Result<String, WireError> {
    match holder {
        KeyHolder::Root => Ok(format!("arn:aws:iam::{}:root", ctx.account())),
        KeyHolder::User(name) => user_arn(ctx, name),
    }
}

// ---------------------------------------------------------------------------------------------
// Users.
// ---------------------------------------------------------------------------------------------

fn create_user(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let path = input.string("Path", "path", 1, 512, false);
    let name = user_name(&mut input, 64);
    let boundary = input.arn("PermissionsBoundary", "permissionsBoundary", false);
    let tags = input.tags(false);
    input.finish()?;
    let arn = format!(
        "arn:aws:iam::{}:user{}{name}",
        ctx.account(),
        path.unwrap_or("/")
    );
    let mut check = Check::new("iam:CreateUser", &arn);
    if let Some(b) = boundary {
        check = check.with_context("iam:PermissionsBoundary", b);
    }
    berth_control::authz::authorize(ctx, &check).map_err(WireError::from)?;
    let user = ctx.control.iam().create_user(
        ctx.account(),
        NewUser {
            name: &name,
            path,
            permissions_boundary: boundary,
            tags,
        },
        ctx.now_secs(),
    )?;
    let mut out = String::new();
    user_xml(&mut out, &user, true);
    Ok(out)
}

fn get_user(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let given = input.string("UserName", "userName", 1, 128, false);
    input.finish()?;
    let iam = ctx.control.iam();
    let name = match (given, &ctx.caller.principal) {
        (Some(n), _) => n,
        (None, Principal::User { name, .. }) => name.as_str(),
        (None, Principal::Root { account }) => {
            // The root user as GetUser shows it: no name, no path (AWS's answer as observed; it
            // is not in the API reference).
            let arn = format!("arn:aws:iam::{account}:root");
            ctx.authorize("iam:GetUser", &arn)?;
            let created = iam.account(account)?.map(|a| a.created_at).unwrap_or(0);
            let mut out = String::from("<User>");
            element(&mut out, "UserId", account);
            element(&mut out, "Arn", &arn);
            date(&mut out, "CreateDate", created);
            out.push_str("</User>");
            return Ok(out);
        }
        (None, Principal::AssumedRole { .. }) => {
            return Err(IamError::NonUserCredentials.into());
        }
    };
    ctx.authorize("iam:GetUser", &user_arn(ctx, name)?)?;
    let user = iam.get_user(ctx.account(), name)?;
    let mut out = String::new();
    user_xml(&mut out, &user, true);
    Ok(out)
}

fn delete_user(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let name = user_name(&mut input, 128);
    input.finish()?;
    ctx.authorize("iam:DeleteUser", &user_arn(ctx, &name)?)?;
    ctx.control.iam().delete_user(ctx.account(), &name)?;
    Ok(String::new())
}

fn list_users(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let prefix = input.path_prefix();
    let opts = input.list_options();
    input.finish()?;
    ctx.authorize("iam:ListUsers", "*")?;
    let page = ctx.control.iam().list_users(ctx.account(), prefix, opts)?;
    let mut out = String::from("<Users>");
    for u in &page.items {
        out.push_str("<member>");
        user_fields(&mut out, u, false);
        out.push_str("</member>");
    }
    out.push_str("</Users>");
    page_tail(&mut out, &page);
    Ok(out)
}

fn create_access_key(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let given = input.string("UserName", "userName", 1, 128, false);
    input.finish()?;
    let holder = key_holder(ctx, given)?;
    ctx.authorize("iam:CreateAccessKey", &holder_arn(ctx, holder)?)?;
    let key = ctx
        .control
        .iam()
        .create_access_key(ctx.account(), holder, ctx.now_secs())?;
    let mut out = String::from("<AccessKey>");
    key_fields(&mut out, &key.info);
    element(&mut out, "SecretAccessKey", &key.secret_access_key);
    date(&mut out, "CreateDate", key.info.created_at);
    out.push_str("</AccessKey>");
    Ok(out)
}

fn delete_access_key(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let given = input.string("UserName", "userName", 1, 128, false);
    let key_id = input
        .string("AccessKeyId", "accessKeyId", 16, 128, true)
        .unwrap_or_default();
    if !key_id.is_empty()
        && !key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        input.fail(
            "accessKeyId",
            "Member must satisfy regular expression pattern: [\\w]+",
        );
    }
    input.finish()?;
    let holder = key_holder(ctx, given)?;
    ctx.authorize("iam:DeleteAccessKey", &holder_arn(ctx, holder)?)?;
    ctx.control
        .iam()
        .delete_access_key(ctx.account(), holder, key_id)?;
    Ok(String::new())
}

fn list_access_keys(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let given = input.string("UserName", "userName", 1, 128, false);
    let opts = input.list_options();
    input.finish()?;
    let holder = key_holder(ctx, given)?;
    ctx.authorize("iam:ListAccessKeys", &holder_arn(ctx, holder)?)?;
    let page = ctx
        .control
        .iam()
        .list_access_keys(ctx.account(), holder, opts)?;
    let mut out = String::from("<AccessKeyMetadata>");
    for k in &page.items {
        out.push_str("<member>");
        key_fields(&mut out, k);
        date(&mut out, "CreateDate", k.created_at);
        out.push_str("</member>");
    }
    out.push_str("</AccessKeyMetadata>");
    page_tail(&mut out, &page);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Roles.
// ---------------------------------------------------------------------------------------------

fn create_role(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let path = input.string("Path", "path", 1, 512, false);
    let name = role_name(&mut input);
    let trust = input.document("AssumeRolePolicyDocument", "assumeRolePolicyDocument");
    let description = input.string("Description", "description", 0, 1000, false);
    let max_session = input.int("MaxSessionDuration", "maxSessionDuration", 3600, 43200);
    let boundary = input.arn("PermissionsBoundary", "permissionsBoundary", false);
    let tags = input.tags(false);
    input.finish()?;
    let arn = format!(
        "arn:aws:iam::{}:role{}{name}",
        ctx.account(),
        path.unwrap_or("/")
    );
    let mut check = Check::new("iam:CreateRole", &arn);
    if let Some(b) = boundary {
        check = check.with_context("iam:PermissionsBoundary", b);
    }
    berth_control::authz::authorize(ctx, &check).map_err(WireError::from)?;
    let role = ctx.control.iam().create_role(
        ctx.account(),
        NewRole {
            name: &name,
            path,
            assume_role_policy: trust,
            description,
            max_session_duration: max_session.and_then(|n| u32::try_from(n).ok()),
            permissions_boundary: boundary,
            tags,
        },
        ctx.now_secs(),
    )?;
    let mut out = String::from("<Role>");
    role_fields(&mut out, &role, RoleView::Create);
    out.push_str("</Role>");
    Ok(out)
}

fn get_role(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let name = role_name(&mut input);
    input.finish()?;
    ctx.authorize("iam:GetRole", &role_arn(ctx, &name)?)?;
    let role = ctx.control.iam().get_role(ctx.account(), &name)?;
    let mut out = String::from("<Role>");
    role_fields(&mut out, &role, RoleView::Get);
    out.push_str("</Role>");
    Ok(out)
}

fn delete_role(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let name = role_name(&mut input);
    input.finish()?;
    ctx.authorize("iam:DeleteRole", &role_arn(ctx, &name)?)?;
    ctx.control.iam().delete_role(ctx.account(), &name)?;
    Ok(String::new())
}

fn list_roles(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let prefix = input.path_prefix();
    let opts = input.list_options();
    input.finish()?;
    ctx.authorize("iam:ListRoles", "*")?;
    let page = ctx.control.iam().list_roles(ctx.account(), prefix, opts)?;
    let mut out = String::from("<Roles>");
    for r in &page.items {
        out.push_str("<member>");
        role_fields(&mut out, r, RoleView::List);
        out.push_str("</member>");
    }
    out.push_str("</Roles>");
    page_tail(&mut out, &page);
    Ok(out)
}

fn update_assume_role_policy(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let name = role_name(&mut input);
    let doc = input.document("PolicyDocument", "policyDocument");
    input.finish()?;
    ctx.authorize("iam:UpdateAssumeRolePolicy", &role_arn(ctx, &name)?)?;
    ctx.control
        .iam()
        .update_assume_role_policy(ctx.account(), &name, doc)?;
    Ok(String::new())
}

fn put_role_permissions_boundary(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let role = role_name(&mut input);
    let boundary = input
        .arn("PermissionsBoundary", "permissionsBoundary", true)
        .unwrap_or_default();
    input.finish()?;
    let check_arn = role_arn(ctx, &role)?;
    berth_control::authz::authorize(
        ctx,
        &Check::new("iam:PutRolePermissionsBoundary", &check_arn)
            .with_context("iam:PermissionsBoundary", boundary),
    )?;
    ctx.control
        .iam()
        .put_role_permissions_boundary(ctx.account(), &role, boundary)?;
    Ok(String::new())
}

fn tag_role(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let role = role_name(&mut input);
    let tags = input.tags(true);
    input.finish()?;
    ctx.authorize("iam:TagRole", &role_arn(ctx, &role)?)?;
    ctx.control.iam().tag_role(ctx.account(), &role, tags)?;
    Ok(String::new())
}

// ---------------------------------------------------------------------------------------------
// Inline and attached policies of users and roles: one handler for both.
// ---------------------------------------------------------------------------------------------

/// Who holds the policies an operation is about.
#[derive(Clone, Copy)]
enum Holder {
    User,
    Role,
}

impl Holder {
    /// The `UserName` / `RoleName` parameter. A user's name may be 128 characters where the
    /// operation takes an existing user (the inline policy calls) and 64 elsewhere, as in the
    /// botocore model; a role's is 64.
    fn name(self, input: &mut Input<'_>, user_max: usize) -> String {
        match self {
            Holder::User => user_name(input, user_max),
            Holder::Role => role_name(input),
        }
    }

    fn arn(self, ctx: &Ctx<'_>, name: &str) -> Result<String, WireError> {
        match self {
            Holder::User => user_arn(ctx, name),
            Holder::Role => role_arn(ctx, name),
        }
    }

    /// `iam:{verb}UserPolicy` / `iam:{verb}RolePolicy` (`…Policies` for the lists).
    fn action(self, verb: &str, plural: bool) -> String {
        let who = match self {
            Holder::User => "User",
            Holder::Role => "Role",
        };
        let noun = if plural { "Policies" } else { "Policy" };
        format!("iam:{verb}{who}{noun}")
    }

    fn name_element(self) -> &'static str {
        match self {
            Holder::User => "UserName",
            Holder::Role => "RoleName",
        }
    }
}

fn put_inline_policy(ctx: &Ctx<'_>, params: &QueryParams, h: Holder) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let holder = h.name(&mut input, 128);
    let name = policy_name(&mut input);
    let doc = input.document("PolicyDocument", "policyDocument");
    input.finish()?;
    ctx.authorize(&h.action("Put", false), &h.arn(ctx, &holder)?)?;
    let iam = ctx.control.iam();
    match h {
        Holder::User => iam.put_user_policy(ctx.account(), &holder, &name, doc)?,
        Holder::Role => iam.put_role_policy(ctx.account(), &holder, &name, doc)?,
    }
    Ok(String::new())
}

fn get_inline_policy(ctx: &Ctx<'_>, params: &QueryParams, h: Holder) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let holder = h.name(&mut input, 128);
    let name = policy_name(&mut input);
    input.finish()?;
    ctx.authorize(&h.action("Get", false), &h.arn(ctx, &holder)?)?;
    let iam = ctx.control.iam();
    let (holder, policy) = match h {
        Holder::User => iam.get_user_policy(ctx.account(), &holder, &name)?,
        Holder::Role => iam.get_role_policy(ctx.account(), &holder, &name)?,
    };
    let mut out = String::new();
    element(&mut out, h.name_element(), &holder);
    element(&mut out, "PolicyName", &policy.name);
    element(&mut out, "PolicyDocument", &url_encode(&policy.document));
    Ok(out)
}

fn delete_inline_policy(
    ctx: &Ctx<'_>,
    params: &QueryParams,
    h: Holder,
) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let holder = h.name(&mut input, 128);
    let name = policy_name(&mut input);
    input.finish()?;
    ctx.authorize(&h.action("Delete", false), &h.arn(ctx, &holder)?)?;
    let iam = ctx.control.iam();
    match h {
        Holder::User => iam.delete_user_policy(ctx.account(), &holder, &name)?,
        Holder::Role => iam.delete_role_policy(ctx.account(), &holder, &name)?,
    }
    Ok(String::new())
}

fn list_inline_policies(
    ctx: &Ctx<'_>,
    params: &QueryParams,
    h: Holder,
) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let holder = h.name(&mut input, 128);
    let opts = input.list_options();
    input.finish()?;
    ctx.authorize(&h.action("List", true), &h.arn(ctx, &holder)?)?;
    let iam = ctx.control.iam();
    let page = match h {
        Holder::User => iam.list_user_policies(ctx.account(), &holder, opts)?,
        Holder::Role => iam.list_role_policies(ctx.account(), &holder, opts)?,
    };
    Ok(names_xml(&page))
}

fn attach_policy(ctx: &Ctx<'_>, params: &QueryParams, h: Holder) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let holder = h.name(&mut input, 64);
    let arn = input
        .arn("PolicyArn", "policyArn", true)
        .unwrap_or_default();
    input.finish()?;
    let check_arn = h.arn(ctx, &holder)?;
    berth_control::authz::authorize(
        ctx,
        &Check::new(&h.action("Attach", false), &check_arn).with_context("iam:PolicyARN", arn),
    )?;
    let iam = ctx.control.iam();
    match h {
        Holder::User => iam.attach_user_policy(ctx.account(), &holder, arn)?,
        Holder::Role => iam.attach_role_policy(ctx.account(), &holder, arn)?,
    }
    Ok(String::new())
}

fn detach_policy(ctx: &Ctx<'_>, params: &QueryParams, h: Holder) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let holder = h.name(&mut input, 64);
    let arn = input
        .arn("PolicyArn", "policyArn", true)
        .unwrap_or_default();
    input.finish()?;
    let check_arn = h.arn(ctx, &holder)?;
    berth_control::authz::authorize(
        ctx,
        &Check::new(&h.action("Detach", false), &check_arn).with_context("iam:PolicyARN", arn),
    )?;
    let iam = ctx.control.iam();
    match h {
        Holder::User => iam.detach_user_policy(ctx.account(), &holder, arn)?,
        Holder::Role => iam.detach_role_policy(ctx.account(), &holder, arn)?,
    }
    Ok(String::new())
}

fn list_attached_policies(
    ctx: &Ctx<'_>,
    params: &QueryParams,
    h: Holder,
) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let holder = h.name(&mut input, 64);
    let prefix = input.policy_path_prefix();
    let opts = input.list_options();
    input.finish()?;
    ctx.authorize(&h.action("ListAttached", true), &h.arn(ctx, &holder)?)?;
    let iam = ctx.control.iam();
    let page = match h {
        Holder::User => iam.list_attached_user_policies(ctx.account(), &holder, prefix, opts)?,
        Holder::Role => iam.list_attached_role_policies(ctx.account(), &holder, prefix, opts)?,
    };
    Ok(attached_xml(&page))
}

// ---------------------------------------------------------------------------------------------
// Managed policies.
// ---------------------------------------------------------------------------------------------

fn create_policy(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let name = policy_name(&mut input);
    let path = input.string("Path", "path", 1, 512, false);
    let doc = input.document("PolicyDocument", "policyDocument");
    let description = input.string("Description", "description", 0, 1000, false);
    let tags = input.tags(false);
    input.finish()?;
    let arn = format!(
        "arn:aws:iam::{}:policy{}{name}",
        ctx.account(),
        path.unwrap_or("/")
    );
    ctx.authorize("iam:CreatePolicy", &arn)?;
    let info = ctx.control.iam().create_policy(
        ctx.account(),
        NewPolicy {
            name: &name,
            path,
            document: doc,
            description,
            tags,
        },
        ctx.now_secs(),
    )?;
    let mut out = String::from("<Policy>");
    policy_fields(&mut out, &info, PolicyView::Create);
    out.push_str("</Policy>");
    Ok(out)
}

fn get_policy(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let arn = input
        .arn("PolicyArn", "policyArn", true)
        .unwrap_or_default();
    input.finish()?;
    ctx.authorize("iam:GetPolicy", arn)?;
    let info = ctx.control.iam().get_policy(ctx.account(), arn)?;
    let mut out = String::from("<Policy>");
    policy_fields(&mut out, &info, PolicyView::Get);
    out.push_str("</Policy>");
    Ok(out)
}

fn get_policy_version(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let arn = input
        .arn("PolicyArn", "policyArn", true)
        .unwrap_or_default();
    let version = input.required("VersionId", "versionId");
    if input.opt("VersionId").is_some() && !is_version_id(version) {
        input.fail(
            "versionId",
            "Member must satisfy regular expression pattern: v[1-9][0-9]*(\\.[A-Za-z0-9-]*)?",
        );
    }
    input.finish()?;
    ctx.authorize("iam:GetPolicyVersion", arn)?;
    let v = ctx
        .control
        .iam()
        .get_policy_version(ctx.account(), arn, version)?;
    let mut out = String::from("<PolicyVersion>");
    element(&mut out, "Document", &url_encode(&v.document));
    element(&mut out, "VersionId", &v.version_id);
    element(
        &mut out,
        "IsDefaultVersion",
        if v.is_default { "true" } else { "false" },
    );
    date(&mut out, "CreateDate", v.created_at);
    out.push_str("</PolicyVersion>");
    Ok(out)
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

fn delete_policy(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let arn = input
        .arn("PolicyArn", "policyArn", true)
        .unwrap_or_default();
    input.finish()?;
    ctx.authorize("iam:DeletePolicy", arn)?;
    ctx.control.iam().delete_policy(ctx.account(), arn)?;
    Ok(String::new())
}

fn list_policies(ctx: &Ctx<'_>, params: &QueryParams) -> Result<String, WireError> {
    let mut input = Input::new(params);
    let scope = match input.one_of("Scope", "scope", &["All", "AWS", "Local"]) {
        Some("AWS") => PolicyScope::Aws,
        Some("Local") => PolicyScope::Local,
        _ => PolicyScope::All,
    };
    let only_attached = input.boolean("OnlyAttached");
    let prefix = input.policy_path_prefix();
    let usage = match input.one_of(
        "PolicyUsageFilter",
        "policyUsageFilter",
        &["PermissionsPolicy", "PermissionsBoundary"],
    ) {
        Some("PermissionsPolicy") => Some(PolicyUsage::PermissionsPolicy),
        Some("PermissionsBoundary") => Some(PolicyUsage::PermissionsBoundary),
        _ => None,
    };
    let opts = input.list_options();
    input.finish()?;
    ctx.authorize("iam:ListPolicies", "*")?;
    let page = ctx.control.iam().list_policies(
        ctx.account(),
        PolicyFilter {
            scope,
            only_attached,
            path_prefix: prefix,
            usage,
        },
        opts,
    )?;
    let mut out = String::from("<Policies>");
    for p in &page.items {
        out.push_str("<member>");
        policy_fields(&mut out, p, PolicyView::List);
        out.push_str("</member>");
    }
    out.push_str("</Policies>");
    page_tail(&mut out, &page);
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

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
        let mut input = Input::new(&params);
        input.list_options();
        let e = input.finish().unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message.as_deref(),
            Some(
                "2 validation errors detected: Value at 'marker' failed to satisfy constraint: Member must have length greater than or equal to 1; Value at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"
            )
        );
        let params = QueryParams::parse(b"");
        let mut input = Input::new(&params);
        user_name(&mut input, 64);
        assert_eq!(
            input.finish().unwrap_err().message.as_deref(),
            Some(
                "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"
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
}
