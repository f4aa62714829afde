//! Asymmetric and HMAC keys: Sign, Verify, GetPublicKey, GenerateMac, VerifyMac,
//! GenerateDataKeyPair(WithoutPlaintext), and the algorithm lists of a key's metadata.

use berth_kms::asym as crypto;
use berth_kms::{EncryptionContext, KmsError, Signed};
use serde::{Deserialize, Serialize};

use super::{Blob, authorize_key, check_grant_tokens, dry_run, kms, required, resolve};
use crate::{Ctx, Error};

/// The algorithm lists KeyMetadata carries for a key spec and usage.
#[derive(Debug, Clone, Default)]
pub struct Algorithms {
    pub encryption: Option<Vec<&'static str>>,
    pub signing: Option<Vec<&'static str>>,
    pub mac: Option<Vec<&'static str>>,
    pub key_agreement: Option<Vec<&'static str>>,
    pub encapsulation: Option<Vec<&'static str>>,
}

pub(crate) fn algorithms(spec: &str, usage: &str) -> Algorithms {
    let list = |v: &[&'static str]| (!v.is_empty()).then(|| v.to_vec());
    Algorithms {
        encryption: list(crypto::encryption_algorithms(spec, usage)),
        signing: list(crypto::signing_algorithms(spec, usage)),
        mac: list(crypto::mac_algorithms(spec)),
        key_agreement: list(crypto::key_agreement_algorithms(spec, usage)),
        encapsulation: list(crypto::encapsulation_algorithms(spec)),
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignInput {
    pub key_id: Option<String>,
    pub message: Option<Blob>,
    pub message_type: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub signing_algorithm: Option<String>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignOutput {
    pub key_id: String,
    pub signature: Blob,
    pub signing_algorithm: String,
}

fn check_message(message: &Blob) -> Result<(), Error> {
    if message.as_slice().is_empty() {
        return Err(KmsError::Validation(
            "1 validation error detected: Value at 'message' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        )
        .into());
    }
    Ok(())
}

pub fn sign(ctx: &Ctx<'_>, input: SignInput) -> Result<SignOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let message = required(input.message, "message")?;
    check_message(&message)?;
    let algorithm = required(input.signing_algorithm, "signingAlgorithm")?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:Sign", &key, None, &[])?;
    let what = Signed {
        message: message.as_slice(),
        message_type: input.message_type.as_deref().unwrap_or("RAW"),
        algorithm: &algorithm,
    };
    dry_run(input.dry_run, &[&key])?;
    let signature = kms(ctx).sign(&key, what)?;
    super::used(ctx, &key.arn, "Sign");
    Ok(SignOutput {
        key_id: key.arn,
        signature: Blob::new(signature),
        signing_algorithm: algorithm,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyInput {
    pub key_id: Option<String>,
    pub message: Option<Blob>,
    pub message_type: Option<String>,
    pub signature: Option<Blob>,
    pub signing_algorithm: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyOutput {
    pub key_id: String,
    pub signature_valid: bool,
    pub signing_algorithm: String,
}

pub fn verify(ctx: &Ctx<'_>, input: VerifyInput) -> Result<VerifyOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let message = required(input.message, "message")?;
    check_message(&message)?;
    let signature = required(input.signature, "signature")?;
    let algorithm = required(input.signing_algorithm, "signingAlgorithm")?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:Verify", &key, None, &[])?;
    let what = Signed {
        message: message.as_slice(),
        message_type: input.message_type.as_deref().unwrap_or("RAW"),
        algorithm: &algorithm,
    };
    dry_run(input.dry_run, &[&key])?;
    kms(ctx).verify(&key, what, signature.as_slice())?;
    super::used(ctx, &key.arn, "Verify");
    Ok(VerifyOutput {
        key_id: key.arn,
        signature_valid: true,
        signing_algorithm: algorithm,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyInput {
    pub key_id: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetPublicKeyOutput {
    pub key_id: String,
    pub public_key: Blob,
    pub customer_master_key_spec: String,
    pub key_spec: String,
    pub key_usage: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<&'static str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithms: Option<Vec<&'static str>>,
}

pub fn get_public_key(
    ctx: &Ctx<'_>,
    input: GetPublicKeyInput,
) -> Result<GetPublicKeyOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:GetPublicKey", &key, None, &[])?;
    let public = kms(ctx).public_key(&key)?;
    let a = algorithms(&key.spec, &key.usage);
    Ok(GetPublicKeyOutput {
        key_id: key.arn,
        public_key: Blob::new(public),
        customer_master_key_spec: key.spec.clone(),
        key_spec: key.spec,
        key_usage: key.usage,
        encryption_algorithms: a.encryption,
        signing_algorithms: a.signing,
        key_agreement_algorithms: a.key_agreement,
        encapsulation_algorithms: a.encapsulation,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacInput {
    pub message: Option<Blob>,
    pub key_id: Option<String>,
    pub mac_algorithm: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateMacOutput {
    pub mac: Blob,
    pub mac_algorithm: String,
    pub key_id: String,
}

pub fn generate_mac(ctx: &Ctx<'_>, input: GenerateMacInput) -> Result<GenerateMacOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let message = required(input.message, "message")?;
    check_message(&message)?;
    let algorithm = required(input.mac_algorithm, "macAlgorithm")?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:GenerateMac", &key, None, &[])?;
    dry_run(input.dry_run, &[&key])?;
    let mac = kms(ctx).generate_mac(&key, &algorithm, message.as_slice())?;
    super::used(ctx, &key.arn, "GenerateMac");
    Ok(GenerateMacOutput {
        mac: Blob::new(mac),
        mac_algorithm: algorithm,
        key_id: key.arn,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacInput {
    pub message: Option<Blob>,
    pub key_id: Option<String>,
    pub mac_algorithm: Option<String>,
    pub mac: Option<Blob>,
    pub grant_tokens: Option<Vec<String>>,
    pub dry_run: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VerifyMacOutput {
    pub key_id: String,
    pub mac_valid: bool,
    pub mac_algorithm: String,
}

pub fn verify_mac(ctx: &Ctx<'_>, input: VerifyMacInput) -> Result<VerifyMacOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let message = required(input.message, "message")?;
    check_message(&message)?;
    let mac = required(input.mac, "mac")?;
    let algorithm = required(input.mac_algorithm, "macAlgorithm")?;
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, "kms:VerifyMac", &key, None, &[])?;
    dry_run(input.dry_run, &[&key])?;
    kms(ctx).verify_mac(&key, &algorithm, message.as_slice(), mac.as_slice())?;
    super::used(ctx, &key.arn, "VerifyMac");
    Ok(VerifyMacOutput {
        key_id: key.arn,
        mac_valid: true,
        mac_algorithm: algorithm,
    })
}

/// The model's `DataKeyPairSpec` values berth makes.
const KEY_PAIR_SPECS: &[&str] = &[
    "RSA_2048",
    "RSA_3072",
    "RSA_4096",
    "ECC_NIST_P256",
    "ECC_NIST_P384",
    "ECC_NIST_P521",
    "ECC_SECG_P256K1",
];

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairInput {
    pub encryption_context: Option<EncryptionContext>,
    pub key_id: Option<String>,
    pub key_pair_spec: Option<String>,
    pub grant_tokens: Option<Vec<String>>,
    pub recipient: Option<serde_json::Value>,
    pub dry_run: Option<bool>,
}

pub type GenerateDataKeyPairWithoutPlaintextInput = GenerateDataKeyPairInput;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateDataKeyPairOutput {
    pub private_key_ciphertext_blob: Blob,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_plaintext: Option<Blob>,
    pub public_key: Blob,
    pub key_id: String,
    pub key_pair_spec: String,
}

fn data_key_pair(
    ctx: &Ctx<'_>,
    input: GenerateDataKeyPairInput,
    action: &str,
    with_plaintext: bool,
) -> Result<GenerateDataKeyPairOutput, Error> {
    check_grant_tokens(input.grant_tokens.as_deref())?;
    let spec = required(input.key_pair_spec, "keyPairSpec")?;
    if !KEY_PAIR_SPECS.contains(&spec.as_str()) {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{spec}' at 'keyPairSpec' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            KEY_PAIR_SPECS.join(", ")
        ))
        .into());
    }
    if input.recipient.is_some() {
        return Err(KmsError::Unsupported(
            "berth does not support Nitro Enclaves attestation (Recipient)".into(),
        )
        .into());
    }
    let context = input.encryption_context.unwrap_or_default();
    let key = resolve(ctx, required(input.key_id.as_deref(), "keyId")?)?;
    authorize_key(ctx, action, &key, Some(&context), &[])?;
    let operation = action.strip_prefix("kms:").unwrap_or(action);
    berth_kms::require_symmetric(&key, operation)?;
    dry_run(input.dry_run, &[&key])?;
    let private = crypto::generate(&spec)?;
    let public = crypto::public_key(&spec, &private)?;
    let blob = kms(ctx).encrypt(&key, &private, &context)?;
    super::used(ctx, &key.arn, operation);
    Ok(GenerateDataKeyPairOutput {
        private_key_ciphertext_blob: Blob::new(blob),
        private_key_plaintext: with_plaintext.then(|| Blob(private)),
        public_key: Blob::new(public),
        key_id: key.arn,
        key_pair_spec: spec,
    })
}

pub fn generate_data_key_pair(
    ctx: &Ctx<'_>,
    input: GenerateDataKeyPairInput,
) -> Result<GenerateDataKeyPairOutput, Error> {
    data_key_pair(ctx, input, "kms:GenerateDataKeyPair", true)
}

pub fn generate_data_key_pair_without_plaintext(
    ctx: &Ctx<'_>,
    input: GenerateDataKeyPairWithoutPlaintextInput,
) -> Result<GenerateDataKeyPairOutput, Error> {
    data_key_pair(ctx, input, "kms:GenerateDataKeyPairWithoutPlaintext", false)
}
