//! IAM's console passwords, password policy and MFA devices on the wire: inputs checked
//! against the model's constraints, outputs as IAM's XML. Passwords are read into
//! `Zeroizing` strings and never written out; a virtual MFA device's seed and QR code go out
//! once, base64-encoded (the model's blobs).

use base64::Engine;
use berth_control::iam::{self as op, *};
use zeroize::Zeroizing;

use super::{Input, date, decode, member, page_xml, tags_xml, user_fields};
use crate::error::WireError;
use crate::services::query::{FromQuery, ToXml, call};
use crate::services::{Ctx, QueryParams};
use crate::xml::element;

/// The operations of this module; `None` for any other.
pub(super) fn dispatch(
    ctx: &Ctx<'_>,
    action: &str,
    p: &QueryParams,
) -> Option<Result<String, WireError>> {
    Some(match action {
        "CreateLoginProfile" => call(p, |i| op::create_login_profile(ctx, i)),
        "GetLoginProfile" => call(p, |i| op::get_login_profile(ctx, i)),
        "UpdateLoginProfile" => call(p, |i| op::update_login_profile(ctx, i)),
        "DeleteLoginProfile" => call(p, |i| op::delete_login_profile(ctx, i)),
        "ChangePassword" => call(p, |i| op::change_password(ctx, i)),
        "GetAccountPasswordPolicy" => call(p, |i| op::get_account_password_policy(ctx, i)),
        "UpdateAccountPasswordPolicy" => call(p, |i| op::update_account_password_policy(ctx, i)),
        "DeleteAccountPasswordPolicy" => call(p, |i| op::delete_account_password_policy(ctx, i)),
        "CreateVirtualMFADevice" => call(p, |i| op::create_virtual_mfa_device(ctx, i)),
        "EnableMFADevice" => call(p, |i| op::enable_mfa_device(ctx, i)),
        "ResyncMFADevice" => call(p, |i| op::resync_mfa_device(ctx, i)),
        "DeactivateMFADevice" => call(p, |i| op::deactivate_mfa_device(ctx, i)),
        "DeleteVirtualMFADevice" => call(p, |i| op::delete_virtual_mfa_device(ctx, i)),
        "GetMFADevice" => call(p, |i| op::get_mfa_device(ctx, i)),
        "ListMFADevices" => call(p, |i| op::list_mfa_devices(ctx, i)),
        "ListVirtualMFADevices" => call(p, |i| op::list_virtual_mfa_devices(ctx, i)),
        "TagMFADevice" => call(p, |i| op::tag_mfa_device(ctx, i)),
        "UntagMFADevice" => call(p, |i| op::untag_mfa_device(ctx, i)),
        "ListMFADeviceTags" => call(p, |i| op::list_mfa_device_tags(ctx, i)),
        _ => return super::certs::dispatch(ctx, action, p),
    })
}

// ---------------------------------------------------------------------------------------------
// Input.
// ---------------------------------------------------------------------------------------------

impl Input<'_> {
    /// A `passwordType` member: 1–128 characters of tab, newline, carriage return or
    /// U+0020–U+00FF.
    fn password(&mut self, name: &str, member: &str, required: bool) -> Option<Zeroizing<String>> {
        let v = match self.opt(name) {
            Some(v) => v,
            None if required => {
                self.required(name, member);
                return Some(Zeroizing::new(String::new()));
            }
            None => return None,
        };
        self.length(member, v, 1, 128);
        if !v
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
        {
            self.fail(
                member,
                "Member must satisfy regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
            );
        }
        Some(Zeroizing::new(v.to_string()))
    }

    /// `SerialNumber`: 9–256 characters of `[\w+=/:,.@-]`.
    fn serial_number(&mut self) -> String {
        let v = self.required_string("SerialNumber", "serialNumber", 9, 256);
        if !v.is_empty()
            && !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+=/:,.@-".contains(&b))
        {
            self.fail(
                "serialNumber",
                "Member must satisfy regular expression pattern: [\\w+=/:,.@-]+",
            );
        }
        v
    }

    /// `AuthenticationCode1`/`2`: six digits.
    fn authentication_code(&mut self, name: &str, member: &str) -> String {
        let v = self.required_string(name, member, 6, 6);
        if !v.is_empty() && !v.bytes().all(|b| b.is_ascii_digit()) {
            self.fail(
                member,
                "Member must satisfy regular expression pattern: [\\d]+",
            );
        }
        v
    }

    /// A `[\w+=,.@-]+` name, `min`–`max` characters.
    pub(super) fn word_name(&mut self, name: &str, member: &str, max: usize) -> String {
        let v = self.required_string(name, member, 1, max);
        if !v.is_empty()
            && !v
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
        {
            self.fail(
                member,
                "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
            );
        }
        v
    }

    fn optional_bool(&self, name: &str) -> Option<bool> {
        self.opt(name).map(|v| v.eq_ignore_ascii_case("true"))
    }

    fn count(&mut self, name: &str, member: &str, min: i64, max: i64) -> Option<u32> {
        self.int(name, member, min, max)
            .and_then(|n| u32::try_from(n).ok())
    }
}

from_query! {
    |i| CreateLoginProfileInput {
        user_name: i.string("UserName", "userName", 1, 64),
        password: i.password("Password", "password", false).unwrap_or_default(),
        password_reset_required: i.boolean("PasswordResetRequired"),
    }

    |i| LoginProfileUserInput {
        user_name: i.string("UserName", "userName", 1, 64),
    }

    // MaxSigninSessionDuration and ResetMaxSigninSessionDuration are accepted and have no
    // effect: a console session lasts berth's own session length.
    |i| UpdateLoginProfileInput {
        user_name: i.user_name(64),
        password: i.password("Password", "password", false),
        password_reset_required: i.optional_bool("PasswordResetRequired"),
    }

    |i| ChangePasswordInput {
        old_password: i.password("OldPassword", "oldPassword", true).unwrap_or_default(),
        new_password: i.password("NewPassword", "newPassword", true).unwrap_or_default(),
    }

    |i| UpdateAccountPasswordPolicyInput {
        policy: PasswordPolicy {
            minimum_password_length: i
                .count("MinimumPasswordLength", "minimumPasswordLength", 6, 128)
                .unwrap_or(6),
            require_symbols: i.boolean("RequireSymbols"),
            require_numbers: i.boolean("RequireNumbers"),
            require_uppercase_characters: i.boolean("RequireUppercaseCharacters"),
            require_lowercase_characters: i.boolean("RequireLowercaseCharacters"),
            allow_users_to_change_password: i.boolean("AllowUsersToChangePassword"),
            max_password_age: i.count("MaxPasswordAge", "maxPasswordAge", 1, 1095),
            password_reuse_prevention: i.count(
                "PasswordReusePrevention",
                "passwordReusePrevention",
                1,
                24,
            ),
            hard_expiry: i.optional_bool("HardExpiry"),
        },
    }

    |i| CreateVirtualMfaDeviceInput {
        path: i.path(),
        virtual_mfa_device_name: i.word_name("VirtualMFADeviceName", "virtualMFADeviceName", 226),
        tags: i.tags(false),
    }

    |i| MfaCodesInput {
        user_name: i.user_name(128),
        serial_number: i.serial_number(),
        authentication_code1: i.authentication_code("AuthenticationCode1", "authenticationCode1"),
        authentication_code2: i.authentication_code("AuthenticationCode2", "authenticationCode2"),
    }

    |i| DeactivateMfaDeviceInput {
        user_name: i.given_user_name(),
        serial_number: i.serial_number(),
    }

    |i| DeleteVirtualMfaDeviceInput {
        serial_number: i.serial_number(),
    }

    |i| GetMfaDeviceInput {
        serial_number: i.serial_number(),
        user_name: i.string("UserName", "userName", 1, 64),
    }

    |i| TagMfaDeviceInput {
        serial_number: i.serial_number(),
        tags: i.tags(true),
    }

    |i| UntagMfaDeviceInput {
        serial_number: i.serial_number(),
        tag_keys: i.tag_keys(),
    }

    |i| ListMfaDeviceTagsInput {
        serial_number: i.serial_number(),
        paging: i.paging(),
    }
}

impl FromQuery for AccountPasswordPolicyInput {
    fn from_query(_: &QueryParams) -> Result<Self, WireError> {
        Ok(AccountPasswordPolicyInput {})
    }
}

impl FromQuery for ListVirtualMfaDevicesRequest {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| {
            let assigned = match i.one_of(
                "AssignmentStatus",
                "assignmentStatus",
                &["Assigned", "Unassigned", "Any"],
            ) {
                Some("Assigned") => Some(true),
                Some("Unassigned") => Some(false),
                _ => None,
            };
            ListVirtualMfaDevicesRequest {
                assigned,
                paging: i.paging(),
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Output.
// ---------------------------------------------------------------------------------------------

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

impl ToXml for LoginProfileOutput {
    fn to_xml(&self, out: &mut String) {
        let p = &self.login_profile;
        out.push_str("<LoginProfile>");
        element(out, "UserName", &p.user_name);
        date(out, "CreateDate", p.created_at);
        element(
            out,
            "PasswordResetRequired",
            bool_text(p.password_reset_required),
        );
        out.push_str("</LoginProfile>");
    }
}

impl ToXml for GetAccountPasswordPolicyOutput {
    fn to_xml(&self, out: &mut String) {
        let p = &self.password_policy;
        out.push_str("<PasswordPolicy>");
        element(
            out,
            "MinimumPasswordLength",
            &p.minimum_password_length.to_string(),
        );
        element(out, "RequireSymbols", bool_text(p.require_symbols));
        element(out, "RequireNumbers", bool_text(p.require_numbers));
        element(
            out,
            "RequireUppercaseCharacters",
            bool_text(p.require_uppercase_characters),
        );
        element(
            out,
            "RequireLowercaseCharacters",
            bool_text(p.require_lowercase_characters),
        );
        element(
            out,
            "AllowUsersToChangePassword",
            bool_text(p.allow_users_to_change_password),
        );
        element(out, "ExpirePasswords", bool_text(p.expire_passwords()));
        if let Some(n) = p.max_password_age {
            element(out, "MaxPasswordAge", &n.to_string());
        }
        if let Some(n) = p.password_reuse_prevention {
            element(out, "PasswordReusePrevention", &n.to_string());
        }
        if let Some(h) = p.hard_expiry {
            element(out, "HardExpiry", bool_text(h));
        }
        out.push_str("</PasswordPolicy>");
    }
}

fn virtual_device_fields(out: &mut String, d: &VirtualMfaDevice) {
    element(out, "SerialNumber", &d.serial_number);
    if let Some(u) = &d.user {
        out.push_str("<User>");
        user_fields(out, u, false);
        out.push_str("</User>");
    }
    if let Some(e) = d.enable_date {
        date(out, "EnableDate", e);
    }
    if !d.tags.is_empty() {
        tags_xml(out, &d.tags);
    }
}

impl ToXml for CreateVirtualMfaDeviceOutput {
    fn to_xml(&self, out: &mut String) {
        let v = &self.virtual_mfa_device;
        let b64 = base64::engine::general_purpose::STANDARD;
        out.push_str("<VirtualMFADevice>");
        virtual_device_fields(out, &v.device);
        element(
            out,
            "Base32StringSeed",
            &b64.encode(v.base32_seed.as_bytes()),
        );
        element(out, "QRCodePNG", &b64.encode(&v.qr_code_png));
        out.push_str("</VirtualMFADevice>");
    }
}

fn mfa_fields(out: &mut String, d: &MfaDevice) {
    element(out, "UserName", &d.user_name);
    element(out, "SerialNumber", &d.serial_number);
    date(out, "EnableDate", d.enable_date);
}

impl ToXml for GetMfaDeviceOutput {
    fn to_xml(&self, out: &mut String) {
        mfa_fields(out, &self.device);
    }
}

impl ToXml for ListMfaDevicesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(out, "MFADevices", &self.mfa_devices, member(mfa_fields));
    }
}

impl ToXml for ListVirtualMfaDevicesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "VirtualMFADevices",
            &self.virtual_mfa_devices,
            member(virtual_device_fields),
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn password_policy_members_take_their_defaults() {
        let input = UpdateAccountPasswordPolicyInput::from_query(&QueryParams::parse(
            b"RequireNumbers=true",
        ))
        .unwrap();
        assert_eq!(input.policy.minimum_password_length, 6);
        assert!(input.policy.require_numbers);
        assert_eq!(input.policy.max_password_age, None);
        let e = UpdateAccountPasswordPolicyInput::from_query(&QueryParams::parse(
            b"MinimumPasswordLength=5&MaxPasswordAge=2000",
        ))
        .unwrap_err();
        assert_eq!(
            e.message.as_deref(),
            Some(
                "2 validation errors detected: Value at 'minimumPasswordLength' failed to satisfy constraint: Member must have value greater than or equal to 6; Value at 'maxPasswordAge' failed to satisfy constraint: Member must have value less than or equal to 1095"
            )
        );
    }

    #[test]
    fn codes_are_six_digits() {
        let e = MfaCodesInput::from_query(&QueryParams::parse(
            b"UserName=a&SerialNumber=arn:aws:iam::1:mfa/x&AuthenticationCode1=12345a&AuthenticationCode2=1234",
        ))
        .unwrap_err();
        let m = e.message.unwrap_or_default();
        assert!(m.starts_with("2 validation errors detected"), "{m}");
    }
}
