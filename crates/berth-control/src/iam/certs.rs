//! The IAM use cases of SSH public keys, signing certificates, server certificates and
//! service-specific credentials. A user's credentials are authorised on the user's ARN, a server
//! certificate on its own (`arn:aws:iam::ACCOUNT:server-certificate{path}{name}`).

use berth_iam::{IamError, KeyStatus, NewServerCertificate, Page, Tag};
use zeroize::Zeroizing;

// The domain's records, as the outputs carry them.
pub use berth_iam::{
    ServerCertificate, ServiceSpecificCredential, SigningCertificate, SshEncoding, SshPublicKey,
};

use super::credentials::user_or_caller;
use super::{ListTagsOutput, Paging, list_resource, user_arn};
use crate::{Ctx, Error};

// ---------------------------------------------------------------------------------------------
// Inputs and outputs.
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Default)]
pub struct UploadSshPublicKeyInput {
    pub user_name: String,
    pub ssh_public_key_body: String,
}

#[derive(Debug, Clone)]
pub struct SshPublicKeyOutput {
    pub ssh_public_key: SshPublicKey,
}

#[derive(Debug, Clone)]
pub struct GetSshPublicKeyInput {
    pub user_name: String,
    pub ssh_public_key_id: String,
    pub encoding: SshEncoding,
}

#[derive(Debug, Clone)]
pub struct ListSshPublicKeysOutput {
    pub ssh_public_keys: Page<SshPublicKey>,
}

#[derive(Debug, Clone)]
pub struct UpdateSshPublicKeyInput {
    pub user_name: String,
    pub ssh_public_key_id: String,
    pub status: KeyStatus,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteSshPublicKeyInput {
    pub user_name: String,
    pub ssh_public_key_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct UploadSigningCertificateInput {
    pub user_name: Option<String>,
    pub certificate_body: String,
}

#[derive(Debug, Clone)]
pub struct SigningCertificateOutput {
    pub certificate: SigningCertificate,
}

#[derive(Debug, Clone)]
pub struct ListSigningCertificatesOutput {
    pub certificates: Page<SigningCertificate>,
}

#[derive(Debug, Clone)]
pub struct UpdateSigningCertificateInput {
    pub user_name: Option<String>,
    pub certificate_id: String,
    pub status: KeyStatus,
}

#[derive(Debug, Clone, Default)]
pub struct DeleteSigningCertificateInput {
    pub user_name: Option<String>,
    pub certificate_id: String,
}

#[derive(Debug, Clone, Default)]
pub struct UploadServerCertificateInput {
    pub path: Option<String>,
    pub server_certificate_name: String,
    pub certificate_body: String,
    pub private_key: Zeroizing<String>,
    pub certificate_chain: Option<String>,
    pub tags: Vec<Tag>,
}

/// UploadServerCertificate (metadata and tags), GetServerCertificate (the body and chain too).
#[derive(Debug, Clone)]
pub struct ServerCertificateOutput {
    pub server_certificate: ServerCertificate,
}

pub type UploadServerCertificateOutput = ServerCertificateOutput;
pub type GetServerCertificateOutput = ServerCertificateOutput;

/// GetServerCertificate, DeleteServerCertificate.
#[derive(Debug, Clone, Default)]
pub struct ServerCertificateNameInput {
    pub server_certificate_name: String,
}

#[derive(Debug, Clone, Default)]
pub struct ListServerCertificatesInput {
    pub path_prefix: Option<String>,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListServerCertificatesOutput {
    pub server_certificates: Page<ServerCertificate>,
}

#[derive(Debug, Clone, Default)]
pub struct UpdateServerCertificateInput {
    pub server_certificate_name: String,
    pub new_path: Option<String>,
    pub new_server_certificate_name: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TagServerCertificateInput {
    pub server_certificate_name: String,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default)]
pub struct UntagServerCertificateInput {
    pub server_certificate_name: String,
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ListServerCertificateTagsInput {
    pub server_certificate_name: String,
    pub paging: Paging,
}

#[derive(Debug, Clone, Default)]
pub struct CreateServiceSpecificCredentialInput {
    pub user_name: String,
    pub service_name: String,
    pub credential_age_days: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct ServiceSpecificCredentialOutput {
    pub service_specific_credential: ServiceSpecificCredential,
}

#[derive(Debug, Clone, Default)]
pub struct ListServiceSpecificCredentialsRequest {
    pub user_name: Option<String>,
    pub service_name: Option<String>,
    pub all_users: bool,
    pub paging: Paging,
}

#[derive(Debug, Clone)]
pub struct ListServiceSpecificCredentialsOutput {
    pub service_specific_credentials: Page<ServiceSpecificCredential>,
}

#[derive(Debug, Clone)]
pub struct UpdateServiceSpecificCredentialInput {
    pub user_name: Option<String>,
    pub service_specific_credential_id: String,
    pub status: KeyStatus,
}

/// ResetServiceSpecificCredential, DeleteServiceSpecificCredential.
#[derive(Debug, Clone, Default)]
pub struct ServiceSpecificCredentialIdInput {
    pub user_name: Option<String>,
    pub service_specific_credential_id: String,
}

// ---------------------------------------------------------------------------------------------
// SSH public keys.
// ---------------------------------------------------------------------------------------------

pub fn upload_ssh_public_key(
    ctx: &Ctx<'_>,
    input: UploadSshPublicKeyInput,
) -> Result<SshPublicKeyOutput, Error> {
    ctx.authorize("iam:UploadSSHPublicKey", &user_arn(ctx, &input.user_name)?)?;
    let ssh_public_key = ctx.control.iam().upload_ssh_public_key(
        ctx.account(),
        &input.user_name,
        &input.ssh_public_key_body,
        ctx.now_secs(),
    )?;
    Ok(SshPublicKeyOutput { ssh_public_key })
}

pub fn get_ssh_public_key(
    ctx: &Ctx<'_>,
    input: GetSshPublicKeyInput,
) -> Result<SshPublicKeyOutput, Error> {
    ctx.authorize("iam:GetSSHPublicKey", &user_arn(ctx, &input.user_name)?)?;
    let ssh_public_key = ctx.control.iam().get_ssh_public_key(
        ctx.account(),
        &input.user_name,
        &input.ssh_public_key_id,
        input.encoding,
    )?;
    Ok(SshPublicKeyOutput { ssh_public_key })
}

pub fn list_ssh_public_keys(
    ctx: &Ctx<'_>,
    input: super::ListSshPublicKeysInput,
) -> Result<ListSshPublicKeysOutput, Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:ListSSHPublicKeys", &user_arn(ctx, name)?)?;
    let ssh_public_keys =
        ctx.control
            .iam()
            .list_ssh_public_keys(ctx.account(), name, input.paging.options())?;
    Ok(ListSshPublicKeysOutput { ssh_public_keys })
}

pub fn update_ssh_public_key(ctx: &Ctx<'_>, input: UpdateSshPublicKeyInput) -> Result<(), Error> {
    ctx.authorize("iam:UpdateSSHPublicKey", &user_arn(ctx, &input.user_name)?)?;
    ctx.control.iam().update_ssh_public_key(
        ctx.account(),
        &input.user_name,
        &input.ssh_public_key_id,
        input.status,
    )?;
    Ok(())
}

pub fn delete_ssh_public_key(ctx: &Ctx<'_>, input: DeleteSshPublicKeyInput) -> Result<(), Error> {
    ctx.authorize("iam:DeleteSSHPublicKey", &user_arn(ctx, &input.user_name)?)?;
    ctx.control.iam().delete_ssh_public_key(
        ctx.account(),
        &input.user_name,
        &input.ssh_public_key_id,
    )?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Signing certificates.
// ---------------------------------------------------------------------------------------------

pub fn upload_signing_certificate(
    ctx: &Ctx<'_>,
    input: UploadSigningCertificateInput,
) -> Result<SigningCertificateOutput, Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:UploadSigningCertificate", &user_arn(ctx, name)?)?;
    let certificate = ctx.control.iam().upload_signing_certificate(
        ctx.account(),
        name,
        &input.certificate_body,
        ctx.now_secs(),
    )?;
    Ok(SigningCertificateOutput { certificate })
}

pub fn list_signing_certificates(
    ctx: &Ctx<'_>,
    input: super::ListSigningCertificatesInput,
) -> Result<ListSigningCertificatesOutput, Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:ListSigningCertificates", &user_arn(ctx, name)?)?;
    let certificates =
        ctx.control
            .iam()
            .list_signing_certificates(ctx.account(), name, input.paging.options())?;
    Ok(ListSigningCertificatesOutput { certificates })
}

pub fn update_signing_certificate(
    ctx: &Ctx<'_>,
    input: UpdateSigningCertificateInput,
) -> Result<(), Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:UpdateSigningCertificate", &user_arn(ctx, name)?)?;
    ctx.control.iam().update_signing_certificate(
        ctx.account(),
        name,
        &input.certificate_id,
        input.status,
    )?;
    Ok(())
}

pub fn delete_signing_certificate(
    ctx: &Ctx<'_>,
    input: DeleteSigningCertificateInput,
) -> Result<(), Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:DeleteSigningCertificate", &user_arn(ctx, name)?)?;
    ctx.control
        .iam()
        .delete_signing_certificate(ctx.account(), name, &input.certificate_id)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Server certificates.
// ---------------------------------------------------------------------------------------------

/// The server certificate's ARN (with its path when it exists).
fn server_certificate_arn(ctx: &Ctx<'_>, name: &str) -> Result<String, Error> {
    Ok(
        match ctx
            .control
            .iam()
            .find_server_certificate(ctx.account(), name)?
        {
            Some(c) => c.arn,
            None => format!("arn:aws:iam::{}:server-certificate/{name}", ctx.account()),
        },
    )
}

pub fn upload_server_certificate(
    ctx: &Ctx<'_>,
    input: UploadServerCertificateInput,
) -> Result<UploadServerCertificateOutput, Error> {
    let arn = format!(
        "arn:aws:iam::{}:server-certificate{}{}",
        ctx.account(),
        input.path.as_deref().unwrap_or("/"),
        input.server_certificate_name
    );
    ctx.authorize("iam:UploadServerCertificate", &arn)?;
    let server_certificate = ctx.control.iam().upload_server_certificate(
        ctx.account(),
        NewServerCertificate {
            name: &input.server_certificate_name,
            path: input.path.as_deref(),
            body: &input.certificate_body,
            private_key: &input.private_key,
            chain: input.certificate_chain.as_deref(),
            tags: input.tags,
        },
        ctx.now_secs(),
    )?;
    Ok(ServerCertificateOutput { server_certificate })
}

pub fn get_server_certificate(
    ctx: &Ctx<'_>,
    input: ServerCertificateNameInput,
) -> Result<GetServerCertificateOutput, Error> {
    let arn = server_certificate_arn(ctx, &input.server_certificate_name)?;
    ctx.authorize("iam:GetServerCertificate", &arn)?;
    let server_certificate = ctx
        .control
        .iam()
        .get_server_certificate(ctx.account(), &input.server_certificate_name)?;
    Ok(ServerCertificateOutput { server_certificate })
}

pub fn list_server_certificates(
    ctx: &Ctx<'_>,
    input: ListServerCertificatesInput,
) -> Result<ListServerCertificatesOutput, Error> {
    ctx.authorize(
        "iam:ListServerCertificates",
        &list_resource(ctx, "server-certificate"),
    )?;
    let server_certificates = ctx.control.iam().list_server_certificates(
        ctx.account(),
        input.path_prefix.as_deref(),
        input.paging.options(),
    )?;
    Ok(ListServerCertificatesOutput {
        server_certificates,
    })
}

pub fn update_server_certificate(
    ctx: &Ctx<'_>,
    input: UpdateServerCertificateInput,
) -> Result<(), Error> {
    let arn = server_certificate_arn(ctx, &input.server_certificate_name)?;
    ctx.authorize("iam:UpdateServerCertificate", &arn)?;
    ctx.control.iam().update_server_certificate(
        ctx.account(),
        &input.server_certificate_name,
        input.new_server_certificate_name.as_deref(),
        input.new_path.as_deref(),
    )?;
    Ok(())
}

pub fn delete_server_certificate(
    ctx: &Ctx<'_>,
    input: ServerCertificateNameInput,
) -> Result<(), Error> {
    let arn = server_certificate_arn(ctx, &input.server_certificate_name)?;
    ctx.authorize("iam:DeleteServerCertificate", &arn)?;
    ctx.control
        .iam()
        .delete_server_certificate(ctx.account(), &input.server_certificate_name)?;
    Ok(())
}

pub fn tag_server_certificate(
    ctx: &Ctx<'_>,
    input: TagServerCertificateInput,
) -> Result<(), Error> {
    let arn = server_certificate_arn(ctx, &input.server_certificate_name)?;
    ctx.authorize("iam:TagServerCertificate", &arn)?;
    ctx.control.iam().tag_server_certificate(
        ctx.account(),
        &input.server_certificate_name,
        input.tags,
    )?;
    Ok(())
}

pub fn untag_server_certificate(
    ctx: &Ctx<'_>,
    input: UntagServerCertificateInput,
) -> Result<(), Error> {
    let arn = server_certificate_arn(ctx, &input.server_certificate_name)?;
    ctx.authorize("iam:UntagServerCertificate", &arn)?;
    ctx.control.iam().untag_server_certificate(
        ctx.account(),
        &input.server_certificate_name,
        &input.tag_keys,
    )?;
    Ok(())
}

pub fn list_server_certificate_tags(
    ctx: &Ctx<'_>,
    input: ListServerCertificateTagsInput,
) -> Result<ListTagsOutput, Error> {
    let arn = server_certificate_arn(ctx, &input.server_certificate_name)?;
    ctx.authorize("iam:ListServerCertificateTags", &arn)?;
    let c = ctx
        .control
        .iam()
        .get_server_certificate(ctx.account(), &input.server_certificate_name)?;
    let tags = berth_iam::page_of(c.tags, input.paging.options());
    Ok(ListTagsOutput { tags })
}

// ---------------------------------------------------------------------------------------------
// Service-specific credentials.
// ---------------------------------------------------------------------------------------------

pub fn create_service_specific_credential(
    ctx: &Ctx<'_>,
    input: CreateServiceSpecificCredentialInput,
) -> Result<ServiceSpecificCredentialOutput, Error> {
    ctx.authorize(
        "iam:CreateServiceSpecificCredential",
        &user_arn(ctx, &input.user_name)?,
    )?;
    let service_specific_credential = ctx.control.iam().create_service_specific_credential(
        ctx.account(),
        &input.user_name,
        &input.service_name,
        input.credential_age_days,
        ctx.now_secs(),
    )?;
    Ok(ServiceSpecificCredentialOutput {
        service_specific_credential,
    })
}

/// A user's credentials (the caller's own without `UserName`), or with `AllUsers` every user's
/// of the account (authorised on the account's users, `arn:aws:iam::ACCOUNT:user/`).
pub fn list_service_specific_credentials(
    ctx: &Ctx<'_>,
    input: ListServiceSpecificCredentialsRequest,
) -> Result<ListServiceSpecificCredentialsOutput, Error> {
    if let Some(s) = input.service_name.as_deref()
        && !berth_iam::CREDENTIAL_SERVICES.contains(&s)
    {
        return Err(
            IamError::from(berth_iam::CredError::ServiceNotSupported(s.to_string())).into(),
        );
    }
    let user = if input.all_users && input.user_name.is_none() {
        ctx.authorize(
            "iam:ListServiceSpecificCredentials",
            &list_resource(ctx, "user"),
        )?;
        None
    } else {
        let name = user_or_caller(ctx, input.user_name.as_deref())?;
        ctx.authorize("iam:ListServiceSpecificCredentials", &user_arn(ctx, name)?)?;
        Some(name)
    };
    let service_specific_credentials = ctx.control.iam().list_service_specific_credentials(
        ctx.account(),
        user,
        input.service_name.as_deref(),
        input.paging.options(),
    )?;
    Ok(ListServiceSpecificCredentialsOutput {
        service_specific_credentials,
    })
}

pub fn update_service_specific_credential(
    ctx: &Ctx<'_>,
    input: UpdateServiceSpecificCredentialInput,
) -> Result<(), Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:UpdateServiceSpecificCredential", &user_arn(ctx, name)?)?;
    ctx.control.iam().update_service_specific_credential(
        ctx.account(),
        name,
        &input.service_specific_credential_id,
        input.status,
    )?;
    Ok(())
}

pub fn reset_service_specific_credential(
    ctx: &Ctx<'_>,
    input: ServiceSpecificCredentialIdInput,
) -> Result<ServiceSpecificCredentialOutput, Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:ResetServiceSpecificCredential", &user_arn(ctx, name)?)?;
    let service_specific_credential = ctx.control.iam().reset_service_specific_credential(
        ctx.account(),
        name,
        &input.service_specific_credential_id,
    )?;
    Ok(ServiceSpecificCredentialOutput {
        service_specific_credential,
    })
}

pub fn delete_service_specific_credential(
    ctx: &Ctx<'_>,
    input: ServiceSpecificCredentialIdInput,
) -> Result<(), Error> {
    let name = user_or_caller(ctx, input.user_name.as_deref())?;
    ctx.authorize("iam:DeleteServiceSpecificCredential", &user_arn(ctx, name)?)?;
    ctx.control.iam().delete_service_specific_credential(
        ctx.account(),
        name,
        &input.service_specific_credential_id,
    )?;
    Ok(())
}
