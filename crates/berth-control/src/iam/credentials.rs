//! The IAM use cases of a user's other credentials: console passwords (login profiles,
//! ChangePassword, the account's password policy) and virtual MFA devices. Each authorises on
//! the resource AWS names (the user's ARN, the device's serial number, `*` for the account's
//! password policy) before it reads or writes.

use berth_iam::{IamError, ListOptions, Page, Principal, Tag};
// The domain's records, as the outputs carry them.
pub use berth_iam::{LoginProfile, MfaDevice, NewVirtualMfa, PasswordPolicy, VirtualMfaDevice};
use zeroize::Zeroizing;

use super::{ListTagsOutput, Paging, user_arn};
use crate::{Control, Ctx, Error};

// ---------------------------------------------------------------------------------------------
// Inputs and outputs.
// ---------------------------------------------------------------------------------------------

/// CreateLoginProfile. Without `user_name`: the calling user.
#[derive(Debug, Clone, Default)]
pub struct CreateLoginProfileInput {
    pub user_name: Option<String>,
    pub password: Zeroizing<String>,
    pub password_reset_required: bool,
}

/// GetLoginProfile, DeleteLoginProfile. Without `user_name`: the calling user.
#[derive(Debug, Clone, Default)]
pub struct LoginProfileUserInput {
    pub user_name: Option<String>,
}

pub type GetLoginProfileInput = LoginProfileUserInput;
pub type DeleteLoginProfileInput = LoginProfileUserInput;

#[derive(Debug, Clone)]
pub struct LoginProfileOutput {
    pub login_profile: LoginProfile,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateLoginProfileInput {
    pub user_name: String,
    pub password: Option<Zeroizing<String>>,
    pub password_reset_required: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct ChangePasswordInput {
    pub old_password: Zeroizing<String>,
    pub new_password: Zeroizing<String>,
}

/// GetAccountPasswordPolicy, DeleteAccountPasswordPolicy.
#[derive(Debug, Clone, Default)]
pub struct AccountPasswordPolicyInput {}

/// UpdateAccountPasswordPolicy: every member not given takes its default.
#[derive(Debug, Clone, Default)]
pub struct UpdateAccountPasswordPolicyInput {
    pub policy: PasswordPolicy,
}

#[derive(Debug, Clone)]
pub struct GetAccountPasswordPolicyOutput {
    pub password_policy: PasswordPolicy,
}

#[derive(Debug, Clone, Default)]
pub struct CreateVirtualMfaDeviceInput {
    pub path: Option<String>,
    pub virtual_mfa_device_name: String,
    pub tags: Vec<Tag>,
}

pub struct CreateVirtualMfaDeviceOutput {
    pub virtual_mfa_device: NewVirtualMfa,
}

/// EnableMFADevice, ResyncMFADevice.
#[derive(Debug, Clone, Default)]
pub struct MfaCodesInput {
    pub user_name: String,
    pub serial_number: String,
    pub authentication_code1: String,
    pub authentication_code2: String,
}

pub type EnableMfaDeviceInput = MfaCodesInput;
pub type ResyncMfaDeviceInput = MfaCodesInput;

#[derive(Debug, Clone, Default)]
pub struct DeactivateMfaDeviceInput {
    pub user_name: Option<String>,
    pub serial_number: String,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteVirtualMfaDeviceInput {
    pub serial_number: String,
}

#[derive(Debug, Clone, Default)]
pub struct GetMfaDeviceInput {
    pub serial_number: String,
    pub user_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct GetMfaDeviceOutput {
    pub device: MfaDevice,
}

#[derive(Debug, Clone)]
pub struct ListMfaDevicesOutput {
    pub mfa_devices: Page<MfaDevice>,
}

/// ListVirtualMFADevices: `assigned` from `AssignmentStatus` (`Any`: `None`).
#[derive(Debug, Clone, Default)]
pub struct ListVirtualMfaDevicesRequest {
    pub assigned: Option<bool>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListVirtualMfaDevicesOutput {
    pub virtual_mfa_devices: Page<VirtualMfaDevice>,
}

#[derive(Debug, Clone, Default)]
pub struct TagMfaDeviceInput {
    pub serial_number: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UntagMfaDeviceInput {
    pub serial_number: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListMfaDeviceTagsInput {
    pub serial_number: String,
    pub paging: Paging,
}

// ---------------------------------------------------------------------------------------------
// Helpers.
// ---------------------------------------------------------------------------------------------

/// The user a call is about: the one named, else the calling user (root and role sessions
/// must name one).
pub(super) fn user_or_caller<'a>(
    ctx: &'a Ctx<'_>,
    given: Option<&'a str>,
) -> Result<&'a str, Error> {
    match (given, &ctx.caller.principal) {
        (Some(n), _) => Ok(n),
        (None, Principal::User { name, .. }) => Ok(name),
        (None, _) => Err(IamError::NonUserCredentials.into()),
    }
}

fn all(paging: &Paging) -> ListOptions<'_> {
    paging.options()
}

// ---------------------------------------------------------------------------------------------
// Login profiles and passwords.
// ---------------------------------------------------------------------------------------------

pub fn create_login_profile(
    ctx: &Ctx<'_>,
    input: CreateLoginProfileInput,
) -> Result<LoginProfileOutput, Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:CreateLoginProfile", &user_arn(ctx, name)?)?;
    let login_profile = ctx.control.iam().create_login_profile(
        ctx.account(),
        name,
        &input.password,
        input.password_reset_required,
        ctx.now_secs(),
    )?;
    Ok(LoginProfileOutput { login_profile })
}

pub fn get_login_profile(
    ctx: &Ctx<'_>,
    input: GetLoginProfileInput,
) -> Result<LoginProfileOutput, Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:GetLoginProfile", &user_arn(ctx, name)?)?;
    let login_profile = ctx.control.iam().get_login_profile(ctx.account(), name)?;
    Ok(LoginProfileOutput { login_profile })
}

pub fn update_login_profile(ctx: &Ctx<'_>, input: UpdateLoginProfileInput) -> Result<(), Error> {
    ctx.authorize("iam:UpdateLoginProfile", &user_arn(ctx, &input.user_name)?)?;
    ctx.control.iam().update_login_profile(
        ctx.account(),
        &input.user_name,
        input.password.as_deref().map(String::as_str),
        input.password_reset_required,
        ctx.now_secs(),
    )?;
    Ok(())
}

pub fn delete_login_profile(ctx: &Ctx<'_>, input: DeleteLoginProfileInput) -> Result<(), Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:DeleteLoginProfile", &user_arn(ctx, name)?)?;
    ctx.control
        .iam()
        .delete_login_profile(ctx.account(), name)?;
    Ok(())
}

/// The calling IAM user changes its own password. With a password policy that lets users
/// change their own password (`AllowUsersToChangePassword`), no identity policy is needed (AWS
/// grants it with the policy); otherwise `iam:ChangePassword` on the user must be allowed.
pub fn change_password(ctx: &Ctx<'_>, input: ChangePasswordInput) -> Result<(), Error> {
    let Principal::User { name, .. } = &ctx.caller.principal else {
        return Err(IamError::from(berth_iam::CredError::NotAnIamUser).into());
    };
    let iam = ctx.control.iam();
    let self_service = match iam.get_account_password_policy(ctx.account()) {
        Ok(p) => p.allow_users_to_change_password,
        Err(IamError::Cred(_)) => false,
        Err(e) => return Err(e.into()),
    };
    if !self_service {
        ctx.authorize("iam:ChangePassword", &user_arn(ctx, name)?)?;
    }
    iam.change_password(
        ctx.account(),
        name,
        &input.old_password,
        &input.new_password,
        ctx.now_secs(),
    )?;
    Ok(())
}

pub fn get_account_password_policy(
    ctx: &Ctx<'_>,
    _input: AccountPasswordPolicyInput,
) -> Result<GetAccountPasswordPolicyOutput, Error> {
    ctx.authorize("iam:GetAccountPasswordPolicy", "*")?;
    let password_policy = ctx
        .control
        .iam()
        .get_account_password_policy(ctx.account())?;
    Ok(GetAccountPasswordPolicyOutput { password_policy })
}

pub fn update_account_password_policy(
    ctx: &Ctx<'_>,
    input: UpdateAccountPasswordPolicyInput,
) -> Result<(), Error> {
    ctx.authorize("iam:UpdateAccountPasswordPolicy", "*")?;
    ctx.control
        .iam()
        .update_account_password_policy(ctx.account(), &input.policy)?;
    Ok(())
}

pub fn delete_account_password_policy(
    ctx: &Ctx<'_>,
    _input: AccountPasswordPolicyInput,
) -> Result<(), Error> {
    ctx.authorize("iam:DeleteAccountPasswordPolicy", "*")?;
    ctx.control
        .iam()
        .delete_account_password_policy(ctx.account())?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// MFA devices.
// ---------------------------------------------------------------------------------------------

/// The serial number (ARN) a new virtual device gets.
fn mfa_arn(ctx: &Ctx<'_>, path: Option<&str>, name: &str) -> String {
    format!(
        "arn:aws:iam::{}:mfa{}{name}",
        ctx.account(),
        path.unwrap_or("/")
    )
}

pub fn create_virtual_mfa_device(
    ctx: &Ctx<'_>,
    input: CreateVirtualMfaDeviceInput,
) -> Result<CreateVirtualMfaDeviceOutput, Error> {
    let arn = mfa_arn(ctx, input.path.as_deref(), &input.virtual_mfa_device_name);
    ctx.authorize("iam:CreateVirtualMFADevice", &arn)?;
    let virtual_mfa_device = ctx.control.iam().create_virtual_mfa_device(
        ctx.account(),
        &input.virtual_mfa_device_name,
        input.path.as_deref(),
        input.tags,
        ctx.now_secs(),
    )?;
    Ok(CreateVirtualMfaDeviceOutput { virtual_mfa_device })
}

pub fn enable_mfa_device(ctx: &Ctx<'_>, input: EnableMfaDeviceInput) -> Result<(), Error> {
    ctx.authorize("iam:EnableMFADevice", &user_arn(ctx, &input.user_name)?)?;
    ctx.control.iam().enable_mfa_device(
        ctx.account(),
        &input.user_name,
        &input.serial_number,
        &input.authentication_code1,
        &input.authentication_code2,
        ctx.now_secs(),
    )?;
    Ok(())
}

pub fn resync_mfa_device(ctx: &Ctx<'_>, input: ResyncMfaDeviceInput) -> Result<(), Error> {
    ctx.authorize("iam:ResyncMFADevice", &user_arn(ctx, &input.user_name)?)?;
    ctx.control.iam().resync_mfa_device(
        ctx.account(),
        &input.user_name,
        &input.serial_number,
        &input.authentication_code1,
        &input.authentication_code2,
        ctx.now_secs(),
    )?;
    Ok(())
}

pub fn deactivate_mfa_device(ctx: &Ctx<'_>, input: DeactivateMfaDeviceInput) -> Result<(), Error> {
    let resource = match input.user_name.as_deref() {
        Some(n) => user_arn(ctx, n)?,
        None => input.serial_number.clone(),
    };
    ctx.authorize("iam:DeactivateMFADevice", &resource)?;
    ctx.control.iam().deactivate_mfa_device(
        ctx.account(),
        input.user_name.as_deref(),
        &input.serial_number,
    )?;
    Ok(())
}

pub fn delete_virtual_mfa_device(
    ctx: &Ctx<'_>,
    input: DeleteVirtualMfaDeviceInput,
) -> Result<(), Error> {
    ctx.authorize("iam:DeleteVirtualMFADevice", &input.serial_number)?;
    ctx.control
        .iam()
        .delete_virtual_mfa_device(ctx.account(), &input.serial_number)?;
    Ok(())
}

/// GetMFADevice: an assigned device (of the named user, when one is named).
pub fn get_mfa_device(
    ctx: &Ctx<'_>,
    input: GetMfaDeviceInput,
) -> Result<GetMfaDeviceOutput, Error> {
    let resource = match input.user_name.as_deref() {
        Some(n) => user_arn(ctx, n)?,
        None => input.serial_number.clone(),
    };
    ctx.authorize("iam:GetMFADevice", &resource)?;
    let not_found = || {
        Error::from(IamError::from(berth_iam::CredError::NoSuchMfa(
            input.serial_number.clone(),
        )))
    };
    let d = ctx
        .control
        .iam()
        .virtual_mfa_device(ctx.account(), &input.serial_number)
        .map_err(|_| not_found())?;
    let (Some(user), Some(enable_date)) = (d.user, d.enable_date) else {
        return Err(not_found());
    };
    if input
        .user_name
        .as_deref()
        .is_some_and(|n| !n.eq_ignore_ascii_case(&user.name))
    {
        return Err(not_found());
    }
    Ok(GetMfaDeviceOutput {
        device: MfaDevice {
            user_name: user.name,
            serial_number: d.serial_number,
            enable_date,
        },
    })
}

pub fn list_mfa_devices(
    ctx: &Ctx<'_>,
    input: super::ListMfaDevicesInput,
) -> Result<ListMfaDevicesOutput, Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:ListMFADevices", &user_arn(ctx, name)?)?;
    let mfa_devices =
        ctx.control
            .iam()
            .list_mfa_devices(ctx.account(), name, all(&input.paging))?;
    Ok(ListMfaDevicesOutput { mfa_devices })
}

pub fn list_virtual_mfa_devices(
    ctx: &Ctx<'_>,
    input: ListVirtualMfaDevicesRequest,
) -> Result<ListVirtualMfaDevicesOutput, Error> {
    ctx.authorize("iam:ListVirtualMFADevices", "*")?;
    let virtual_mfa_devices = ctx.control.iam().list_virtual_mfa_devices(
        ctx.account(),
        input.assigned,
        all(&input.paging),
    )?;
    Ok(ListVirtualMfaDevicesOutput {
        virtual_mfa_devices,
    })
}

pub fn tag_mfa_device(ctx: &Ctx<'_>, input: TagMfaDeviceInput) -> Result<(), Error> {
    ctx.authorize("iam:TagMFADevice", &input.serial_number)?;
    ctx.control
        .iam()
        .tag_mfa_device(ctx.account(), &input.serial_number, input.tags)?;
    Ok(())
}

pub fn untag_mfa_device(ctx: &Ctx<'_>, input: UntagMfaDeviceInput) -> Result<(), Error> {
    ctx.authorize("iam:UntagMFADevice", &input.serial_number)?;
    ctx.control
        .iam()
        .untag_mfa_device(ctx.account(), &input.serial_number, &input.tag_keys)?;
    Ok(())
}

pub fn list_mfa_device_tags(
    ctx: &Ctx<'_>,
    input: ListMfaDeviceTagsInput,
) -> Result<ListTagsOutput, Error> {
    ctx.authorize("iam:ListMFADeviceTags", &input.serial_number)?;
    let d = ctx
        .control
        .iam()
        .virtual_mfa_device(ctx.account(), &input.serial_number)?;
    let tags = berth_iam::page_of(d.tags, input.paging.options());
    Ok(ListTagsOutput { tags })
}

// ---------------------------------------------------------------------------------------------
// The console's password sign-in.
// ---------------------------------------------------------------------------------------------

/// A console session opened with a user's password: it lasts while the login profile signed in
/// with does (a deleted or recreated profile ends it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordLogin {
    pub account: String,
    pub user_id: String,
    pub profile_created_at: u64,
}

/// Why a password sign-in is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordSignInFailure {
    /// The account, the user, its login profile or the password is not right (which one is
    /// not told).
    #[error("the account, user name or password is not valid")]
    Invalid,
    /// The user must set a new password first (`PasswordResetRequired`).
    #[error("the password must be changed before signing in")]
    ResetRequired,
    /// The password is older than the password policy's `MaxPasswordAge`.
    #[error("the password has expired")]
    Expired,
    #[error("the sign-in could not be checked: {0}")]
    Internal(String),
}

impl Control {
    /// The console's sign-in as AWS's sign-in page asks it: the account (id or alias), the IAM
    /// user's name and its password (checked against its Argon2id hash).
    pub fn password_sign_in(
        &self,
        account_or_alias: &str,
        user_name: &str,
        password: &str,
    ) -> Result<(PasswordLogin, Principal), PasswordSignInFailure> {
        let internal = |e: IamError| PasswordSignInFailure::Internal(e.to_string());
        let iam = self.iam();
        let Some(account) = iam
            .account_for_sign_in(account_or_alias.trim())
            .map_err(internal)?
        else {
            berth_iam::sign_in_decoy(password);
            return Err(PasswordSignInFailure::Invalid);
        };
        let now = berth_core::time::epoch_secs(self.now());
        let signed = iam
            .password_sign_in(&account, user_name.trim(), password, now)
            .map_err(internal)?
            .ok_or(PasswordSignInFailure::Invalid)?;
        if signed.password_reset_required {
            return Err(PasswordSignInFailure::ResetRequired);
        }
        if signed.expired {
            return Err(PasswordSignInFailure::Expired);
        }
        let login = PasswordLogin {
            account: account.clone(),
            user_id: signed.user.id.clone(),
            profile_created_at: signed.profile_created_at,
        };
        Ok((
            login,
            Principal::User {
                account,
                name: signed.user.name,
                id: signed.user.id,
                path: signed.user.path,
            },
        ))
    }

    /// The user of a password session, while its login profile is the one it signed in with;
    /// `None` once the profile or the user is gone.
    pub fn password_session_principal(
        &self,
        login: &PasswordLogin,
    ) -> Result<Option<Principal>, Error> {
        Ok(self
            .iam()
            .login_session_user(&login.account, &login.user_id, login.profile_created_at)?
            .map(|u| Principal::User {
                account: u.account,
                name: u.name,
                id: u.id,
                path: u.path,
            }))
    }
}
