//! IAM's SSH public keys, signing certificates, server certificates and service-specific
//! credentials on the wire. A server certificate's private key is read into a `Zeroizing`
//! string and never written out; a service password goes out once.

use berth_control::iam::{self as op, *};
use zeroize::Zeroizing;

use super::{Input, date, decode, member, page_xml, status, tags_xml};
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
        "UploadSSHPublicKey" => call(p, |i| op::upload_ssh_public_key(ctx, i)),
        "GetSSHPublicKey" => call(p, |i| op::get_ssh_public_key(ctx, i)),
        "ListSSHPublicKeys" => call(p, |i| op::list_ssh_public_keys(ctx, i)),
        "UpdateSSHPublicKey" => call(p, |i| op::update_ssh_public_key(ctx, i)),
        "DeleteSSHPublicKey" => call(p, |i| op::delete_ssh_public_key(ctx, i)),
        "UploadSigningCertificate" => call(p, |i| op::upload_signing_certificate(ctx, i)),
        "ListSigningCertificates" => call(p, |i| op::list_signing_certificates(ctx, i)),
        "UpdateSigningCertificate" => call(p, |i| op::update_signing_certificate(ctx, i)),
        "DeleteSigningCertificate" => call(p, |i| op::delete_signing_certificate(ctx, i)),
        "UploadServerCertificate" => call(p, |i| op::upload_server_certificate(ctx, i)),
        "GetServerCertificate" => call(p, |i| {
            op::get_server_certificate(ctx, i).map(GetServerCertificate)
        }),
        "ListServerCertificates" => call(p, |i| op::list_server_certificates(ctx, i)),
        "UpdateServerCertificate" => call(p, |i| op::update_server_certificate(ctx, i)),
        "DeleteServerCertificate" => call(p, |i| op::delete_server_certificate(ctx, i)),
        "TagServerCertificate" => call(p, |i| op::tag_server_certificate(ctx, i)),
        "UntagServerCertificate" => call(p, |i| op::untag_server_certificate(ctx, i)),
        "ListServerCertificateTags" => call(p, |i| op::list_server_certificate_tags(ctx, i)),
        "CreateServiceSpecificCredential" => {
            call(p, |i| op::create_service_specific_credential(ctx, i))
        }
        "ListServiceSpecificCredentials" => {
            call(p, |i| op::list_service_specific_credentials(ctx, i))
        }
        "UpdateServiceSpecificCredential" => {
            call(p, |i| op::update_service_specific_credential(ctx, i))
        }
        "ResetServiceSpecificCredential" => {
            call(p, |i| op::reset_service_specific_credential(ctx, i))
        }
        "DeleteServiceSpecificCredential" => {
            call(p, |i| op::delete_service_specific_credential(ctx, i))
        }
        _ => return super::reports::dispatch(ctx, action, p),
    })
}

// ---------------------------------------------------------------------------------------------
// Input.
// ---------------------------------------------------------------------------------------------

const TEXT_PATTERN: &str = "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+";

impl Input<'_> {
    /// A PEM-like text member: `min`–`max` characters of tab, newline, carriage return or
    /// U+0020–U+00FF.
    fn text(&mut self, name: &str, member: &str, max: usize, required: bool) -> Option<String> {
        let v = match self.opt(name) {
            Some(v) => v,
            None if required => {
                self.required(name, member);
                return Some(String::new());
            }
            None => return None,
        };
        self.length(member, v, 1, max);
        if !v
            .chars()
            .all(|c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))
        {
            self.fail(
                member,
                &format!("Member must satisfy regular expression pattern: {TEXT_PATTERN}"),
            );
        }
        Some(v.to_string())
    }

    /// An id of word characters, `min`–128 long.
    fn word_id(&mut self, name: &str, member: &str, min: usize) -> String {
        let v = self.required_string(name, member, min, 128);
        if !v.is_empty() && !v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            self.fail(
                member,
                "Member must satisfy regular expression pattern: [\\w]+",
            );
        }
        v
    }

    /// `Status`: `Active`, `Inactive` (`Expired` is kept as inactive).
    fn key_status(&mut self) -> KeyStatus {
        match self.one_of("Status", "status", &["Active", "Inactive", "Expired"]) {
            Some("Active") => KeyStatus::Active,
            None => {
                self.required("Status", "status");
                KeyStatus::Inactive
            }
            Some(_) => KeyStatus::Inactive,
        }
    }

    fn server_certificate_name(
        &mut self,
        name: &str,
        member: &str,
        required: bool,
    ) -> Option<String> {
        if !required && self.opt(name).is_none() {
            return None;
        }
        Some(self.word_name(name, member, 128))
    }
}

from_query! {
    |i| UploadSshPublicKeyInput {
        user_name: i.user_name(64),
        ssh_public_key_body: i.text("SSHPublicKeyBody", "sSHPublicKeyBody", 16384, true).unwrap_or_default(),
    }

    |i| UpdateSshPublicKeyInput {
        user_name: i.user_name(64),
        ssh_public_key_id: i.word_id("SSHPublicKeyId", "sSHPublicKeyId", 20),
        status: i.key_status(),
    }

    |i| DeleteSshPublicKeyInput {
        user_name: i.user_name(64),
        ssh_public_key_id: i.word_id("SSHPublicKeyId", "sSHPublicKeyId", 20),
    }

    |i| UploadSigningCertificateInput {
        user_name: i.given_user_name(),
        certificate_body: i.text("CertificateBody", "certificateBody", 16384, true).unwrap_or_default(),
    }

    |i| UpdateSigningCertificateInput {
        user_name: i.given_user_name(),
        certificate_id: i.word_id("CertificateId", "certificateId", 24),
        status: i.key_status(),
    }

    |i| DeleteSigningCertificateInput {
        user_name: i.given_user_name(),
        certificate_id: i.word_id("CertificateId", "certificateId", 24),
    }

    |i| UploadServerCertificateInput {
        path: i.path(),
        server_certificate_name: i
            .server_certificate_name("ServerCertificateName", "serverCertificateName", true)
            .unwrap_or_default(),
        certificate_body: i.text("CertificateBody", "certificateBody", 16384, true).unwrap_or_default(),
        private_key: Zeroizing::new(i.text("PrivateKey", "privateKey", 16384, true).unwrap_or_default()),
        certificate_chain: i.text("CertificateChain", "certificateChain", 2_097_152, false),
        tags: i.tags(false),
    }

    |i| ServerCertificateNameInput {
        server_certificate_name: i
            .server_certificate_name("ServerCertificateName", "serverCertificateName", true)
            .unwrap_or_default(),
    }

    |i| ListServerCertificatesInput {
        path_prefix: i.path_prefix(),
        paging: i.paging(),
    }

    |i| UpdateServerCertificateInput {
        server_certificate_name: i
            .server_certificate_name("ServerCertificateName", "serverCertificateName", true)
            .unwrap_or_default(),
        new_path: i.string("NewPath", "newPath", 1, 512),
        new_server_certificate_name: i.server_certificate_name(
            "NewServerCertificateName",
            "newServerCertificateName",
            false,
        ),
    }

    |i| TagServerCertificateInput {
        server_certificate_name: i
            .server_certificate_name("ServerCertificateName", "serverCertificateName", true)
            .unwrap_or_default(),
        tags: i.tags(true),
    }

    |i| UntagServerCertificateInput {
        server_certificate_name: i
            .server_certificate_name("ServerCertificateName", "serverCertificateName", true)
            .unwrap_or_default(),
        tag_keys: i.tag_keys(),
    }

    |i| ListServerCertificateTagsInput {
        server_certificate_name: i
            .server_certificate_name("ServerCertificateName", "serverCertificateName", true)
            .unwrap_or_default(),
        paging: i.paging(),
    }

    |i| CreateServiceSpecificCredentialInput {
        user_name: i.user_name(64),
        service_name: i.required("ServiceName", "serviceName").to_string(),
        credential_age_days: i
            .int("CredentialAgeDays", "credentialAgeDays", 1, 36600)
            .and_then(|n| u32::try_from(n).ok()),
    }

    |i| ListServiceSpecificCredentialsRequest {
        user_name: i.string("UserName", "userName", 1, 64),
        service_name: i.opt("ServiceName").map(str::to_string),
        all_users: i.boolean("AllUsers"),
        paging: i.paging(),
    }

    |i| UpdateServiceSpecificCredentialInput {
        user_name: i.string("UserName", "userName", 1, 64),
        service_specific_credential_id: i.word_id("ServiceSpecificCredentialId", "serviceSpecificCredentialId", 20),
        status: i.key_status(),
    }

    |i| ServiceSpecificCredentialIdInput {
        user_name: i.string("UserName", "userName", 1, 64),
        service_specific_credential_id: i.word_id("ServiceSpecificCredentialId", "serviceSpecificCredentialId", 20),
    }
}

impl FromQuery for GetSshPublicKeyInput {
    fn from_query(p: &QueryParams) -> Result<Self, WireError> {
        decode(p, |i| {
            let user_name = i.user_name(64);
            let ssh_public_key_id = i.word_id("SSHPublicKeyId", "sSHPublicKeyId", 20);
            let encoding = match i.one_of("Encoding", "encoding", &["SSH", "PEM"]) {
                Some("PEM") => SshEncoding::Pem,
                Some(_) => SshEncoding::Ssh,
                None => {
                    i.required("Encoding", "encoding");
                    SshEncoding::Ssh
                }
            };
            GetSshPublicKeyInput {
                user_name,
                ssh_public_key_id,
                encoding,
            }
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Output.
// ---------------------------------------------------------------------------------------------

impl ToXml for SshPublicKeyOutput {
    fn to_xml(&self, out: &mut String) {
        let k = &self.ssh_public_key;
        out.push_str("<SSHPublicKey>");
        element(out, "UserName", &k.user_name);
        element(out, "SSHPublicKeyId", &k.ssh_public_key_id);
        element(out, "Fingerprint", &k.fingerprint);
        element(out, "SSHPublicKeyBody", &k.ssh_public_key_body);
        element(out, "Status", status(k.status));
        date(out, "UploadDate", k.upload_date);
        out.push_str("</SSHPublicKey>");
    }
}

impl ToXml for ListSshPublicKeysOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "SSHPublicKeys",
            &self.ssh_public_keys,
            member(|out, k: &SshPublicKey| {
                element(out, "UserName", &k.user_name);
                element(out, "SSHPublicKeyId", &k.ssh_public_key_id);
                element(out, "Status", status(k.status));
                date(out, "UploadDate", k.upload_date);
            }),
        );
    }
}

fn signing_fields(out: &mut String, c: &SigningCertificate) {
    element(out, "UserName", &c.user_name);
    element(out, "CertificateId", &c.certificate_id);
    element(out, "CertificateBody", &c.certificate_body);
    element(out, "Status", status(c.status));
    date(out, "UploadDate", c.upload_date);
}

impl ToXml for SigningCertificateOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<Certificate>");
        signing_fields(out, &self.certificate);
        out.push_str("</Certificate>");
    }
}

impl ToXml for ListSigningCertificatesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "Certificates",
            &self.certificates,
            member(signing_fields),
        );
    }
}

fn server_metadata(out: &mut String, c: &ServerCertificate) {
    element(out, "Path", &c.path);
    element(out, "ServerCertificateName", &c.name);
    element(out, "ServerCertificateId", &c.id);
    element(out, "Arn", &c.arn);
    date(out, "UploadDate", c.upload_date);
    date(out, "Expiration", c.expiration);
}

/// UploadServerCertificate's answer: the metadata, then the tags.
impl ToXml for ServerCertificateOutput {
    fn to_xml(&self, out: &mut String) {
        let c = &self.server_certificate;
        out.push_str("<ServerCertificateMetadata>");
        server_metadata(out, c);
        out.push_str("</ServerCertificateMetadata>");
        if !c.tags.is_empty() {
            tags_xml(out, &c.tags);
        }
    }
}

/// GetServerCertificate's answer: `<ServerCertificate>` with the metadata, body, chain, tags.
struct GetServerCertificate(ServerCertificateOutput);

impl ToXml for GetServerCertificate {
    fn to_xml(&self, out: &mut String) {
        let c = &self.0.server_certificate;
        out.push_str("<ServerCertificate><ServerCertificateMetadata>");
        server_metadata(out, c);
        out.push_str("</ServerCertificateMetadata>");
        element(out, "CertificateBody", &c.body);
        if let Some(chain) = &c.chain {
            element(out, "CertificateChain", chain);
        }
        if !c.tags.is_empty() {
            tags_xml(out, &c.tags);
        }
        out.push_str("</ServerCertificate>");
    }
}

impl ToXml for ListServerCertificatesOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "ServerCertificateMetadataList",
            &self.server_certificates,
            member(server_metadata),
        );
    }
}

fn service_credential_fields(out: &mut String, c: &ServiceSpecificCredential) {
    date(out, "CreateDate", c.create_date);
    if let Some(e) = c.expiration_date {
        date(out, "ExpirationDate", e);
    }
    element(out, "ServiceName", &c.service_name);
    element(out, "ServiceUserName", &c.service_user_name);
    if let Some(p) = &c.service_password {
        element(out, "ServicePassword", p);
    }
    element(out, "ServiceSpecificCredentialId", &c.id);
    element(out, "UserName", &c.user_name);
    element(out, "Status", status(c.status));
}

impl ToXml for ServiceSpecificCredentialOutput {
    fn to_xml(&self, out: &mut String) {
        out.push_str("<ServiceSpecificCredential>");
        service_credential_fields(out, &self.service_specific_credential);
        out.push_str("</ServiceSpecificCredential>");
    }
}

impl ToXml for ListServiceSpecificCredentialsOutput {
    fn to_xml(&self, out: &mut String) {
        page_xml(
            out,
            "ServiceSpecificCredentials",
            &self.service_specific_credentials,
            member(service_credential_fields),
        );
    }
}
