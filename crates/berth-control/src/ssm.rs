//! AWS Systems Manager Parameter Store: one function per operation.
//!
//! Each use case authorises `ssm:<Operation>` on the parameter's ARN
//! (`arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`) before it
//! reads or writes, then acts through `berth_ssm`. A SecureString's value is encrypted under
//! the KMS key `KeyId` names (the AWS managed key `alias/aws/ssm` when none), **as the
//! caller**, with `kms:ViaService = ssm.<region>.amazonaws.com` and the encryption context
//! `{"PARAMETER_ARN": <the parameter's ARN>}`, as Parameter Store does: a standard parameter's
//! value is encrypted by KMS Encrypt (the stored value is the KMS ciphertext blob), an
//! advanced one's (up to 8 KB, beyond KMS Encrypt's 4 KB) under a data key from
//! GenerateDataKey. Reading with `WithDecryption` asks KMS Decrypt as the caller; without it
//! the answer carries the stored ciphertext, base64, as AWS's does.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use berth_kms::{EncryptionContext, Key, Kms, KmsError};
use berth_ssm::filter::{self, Filter, FilterKey, Use};
use berth_ssm::names::{self, Reference, Selector};
use berth_ssm::{NewVersion, ParamType, Parameter, Ssm, SsmError, Tag, Version};
use serde::{Deserialize, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::kms::{Empty, authorize_key, required};
use crate::{Ctx, Error};

fn ssm<'c>(ctx: &'c Ctx<'_>) -> Ssm<'c> {
    Ssm::new(ctx.control.store.as_ref())
}

fn kms<'c>(ctx: &'c Ctx<'_>) -> Kms<'c> {
    Kms::new(ctx.control.store.as_ref(), &ctx.control.root_key)
}

fn arn_of(ctx: &Ctx<'_>, name: &str) -> String {
    berth_ssm::arn(ctx.account(), &ctx.caller.region, name)
}

fn authorize_name(ctx: &Ctx<'_>, action: &str, name: &str) -> Result<String, Error> {
    let arn = arn_of(ctx, name);
    ctx.authorize(action, &arn)?;
    Ok(arn)
}

/// The encryption context Parameter Store binds to a SecureString's ciphertext.
pub fn encryption_context(parameter_arn: &str) -> EncryptionContext {
    let mut c = EncryptionContext::new();
    c.insert("PARAMETER_ARN".into(), parameter_arn.to_string());
    c
}

/// KMS's failure as Parameter Store passes it on: KMS's message, then the service, status,
/// code and request id in the AWS SDK for Java's words.
fn via_kms(ctx: &Ctx<'_>, code: &str, message: &str) -> String {
    format!(
        "{message} (Service: AWSKMS; Status Code: 400; Error Code: {code}; Request ID: {}; Proxy: null)",
        ctx.request_id
    )
}

/// Authorises Parameter Store's call to KMS on the caller's behalf; a denial is KMS's, as
/// Parameter Store surfaces it (`AccessDeniedException`).
fn authorize_via(
    ctx: &Ctx<'_>,
    action: &str,
    key: &Key,
    context: &EncryptionContext,
) -> Result<(), Error> {
    let via = format!("ssm.{}.amazonaws.com", ctx.caller.region);
    authorize_key(ctx, action, key, Some(context), &[("kms:ViaService", via)]).map_err(
        |e| match e {
            Error::AccessDenied(m) => {
                Error::AccessDenied(via_kms(ctx, "AccessDeniedException", &m))
            }
            e => e,
        },
    )
}

/// A KMS failure of a SecureString's key as Parameter Store answers it: `InvalidKeyId` for
/// a key that is missing, disabled or pending deletion (AWS's exact text is not known to
/// berth; KMS's reason is passed on).
fn key_failure(ctx: &Ctx<'_>, e: KmsError) -> Error {
    match e {
        KmsError::NotFound(_) | KmsError::InvalidArn(_) => {
            SsmError::InvalidKeyId(via_kms(ctx, "NotFoundException", &e.to_string())).into()
        }
        KmsError::Disabled(_) => {
            SsmError::InvalidKeyId(via_kms(ctx, "DisabledException", &e.to_string())).into()
        }
        KmsError::InvalidState(_) => {
            SsmError::InvalidKeyId(via_kms(ctx, "KMSInvalidStateException", &e.to_string())).into()
        }
        e => e.into(),
    }
}

/// The first byte of an envelope (advanced parameter): a KMS ciphertext blob starts with 1.
const ENVELOPE_V1: u8 = 2;

/// Encrypts a SecureString's `value` for the parameter `arn` under `key_id` as the caller;
/// the ciphertext, base64.
fn seal(
    ctx: &Ctx<'_>,
    arn: &str,
    key_id: &str,
    advanced: bool,
    value: &str,
) -> Result<String, Error> {
    let k = kms(ctx);
    let key = k
        .resolve(ctx.account(), &ctx.caller.region, key_id, ctx.now_secs())
        .map_err(|e| key_failure(ctx, e))?;
    let context = encryption_context(arn);
    if !advanced && value.len() <= berth_kms::MAX_PLAINTEXT {
        authorize_via(ctx, "kms:Encrypt", &key, &context)?;
        let blob = k
            .encrypt(&key, value.as_bytes(), &context)
            .map_err(|e| key_failure(ctx, e))?;
        crate::kms::used(ctx, &key.arn, "Encrypt");
        return Ok(STANDARD.encode(blob));
    }
    authorize_via(ctx, "kms:GenerateDataKey", &key, &context)?;
    let (data_key, blob) = k
        .generate_data_key(&key, berth_core::seal::KEY_LEN, &context)
        .map_err(|e| key_failure(ctx, e))?;
    crate::kms::used(ctx, &key.arn, "GenerateDataKey");
    let data_key: &[u8; berth_core::seal::KEY_LEN] = data_key
        .as_slice()
        .try_into()
        .map_err(|_| Error::Internal("data key of the wrong length".into()))?;
    let blob_len =
        u16::try_from(blob.len()).map_err(|_| Error::Internal("data key blob too long".into()))?;
    let mut out = vec![ENVELOPE_V1];
    out.extend_from_slice(&blob_len.to_be_bytes());
    out.extend_from_slice(&blob);
    berth_core::seal::seal_into(data_key, arn.as_bytes(), value.as_bytes(), &mut out);
    Ok(STANDARD.encode(out))
}

/// Decrypts a SecureString's stored ciphertext as the caller.
fn open(ctx: &Ctx<'_>, arn: &str, stored: &str) -> Result<Zeroizing<String>, Error> {
    let corrupt = || Error::Internal("stored SecureString does not decode".into());
    let bytes = STANDARD.decode(stored).map_err(|_| corrupt())?;
    let (blob, sealed) = match bytes.first() {
        Some(&ENVELOPE_V1) => {
            let len = bytes
                .get(1..3)
                .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
                .ok_or_else(corrupt)?;
            let blob = bytes.get(3..3 + len).ok_or_else(corrupt)?;
            (blob, Some(bytes.get(3 + len..).ok_or_else(corrupt)?))
        }
        _ => (bytes.as_slice(), None),
    };
    let k = kms(ctx);
    let key = k
        .key_of_blob(&ctx.caller.region, blob, ctx.now_secs())
        .map_err(|e| key_failure(ctx, e))?;
    let context = encryption_context(arn);
    authorize_via(ctx, "kms:Decrypt", &key, &context)?;
    let plain = k
        .decrypt(&key, blob, &context)
        .map_err(|e| key_failure(ctx, e))?;
    crate::kms::used(ctx, &key.arn, "Decrypt");
    let plain = match sealed {
        None => plain,
        Some(sealed) => {
            let data_key: &[u8; berth_core::seal::KEY_LEN] =
                plain.as_slice().try_into().map_err(|_| corrupt())?;
            berth_core::seal::open(data_key, arn.as_bytes(), sealed).map_err(|_| corrupt())?
        }
    };
    let text = String::from_utf8(plain.to_vec()).map_err(|_| corrupt())?;
    Ok(Zeroizing::new(text))
}

/// A value in an answer; wiped from memory when dropped.
#[derive(Clone, Default)]
pub struct Value(pub Zeroizing<String>);

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Value(..)")
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

/// The value of `v` of the parameter `arn` as an answer shows it.
fn shown_value(ctx: &Ctx<'_>, arn: &str, v: &Version, decrypt: bool) -> Result<Value, Error> {
    if v.kind == ParamType::SecureString && decrypt {
        return Ok(Value(open(ctx, arn, &v.value)?));
    }
    Ok(Value(Zeroizing::new(v.value.clone())))
}

/// A parameter as GetParameter, GetParameters and GetParametersByPath answer it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterOutput {
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: &'static str,
    pub value: Value,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selector: Option<String>,
    pub last_modified_date: u64,
    #[serde(rename = "ARN")]
    pub arn: String,
    pub data_type: String,
}

fn parameter_output(
    ctx: &Ctx<'_>,
    p: &Parameter,
    v: &Version,
    shown_name: String,
    selector: Option<String>,
    decrypt: bool,
) -> Result<ParameterOutput, Error> {
    let arn = p.arn();
    Ok(ParameterOutput {
        name: shown_name,
        kind: v.kind.as_str(),
        value: shown_value(ctx, &arn, v, decrypt)?,
        version: v.version,
        selector,
        last_modified_date: v.modified,
        arn,
        data_type: v.data_type.clone(),
    })
}

/// The parameter and version a reference names, once `action` is authorised on it.
fn find(ctx: &Ctx<'_>, r: &Reference, action: &str) -> Result<(Parameter, Version), Error> {
    let first = r.names.first().ok_or(SsmError::NotFound)?;
    authorize_name(ctx, action, first)?;
    let s = ssm(ctx);
    let mut found = None;
    for n in &r.names {
        if let Some(p) = s.get(ctx.account(), &ctx.caller.region, n)? {
            found = Some(p);
            break;
        }
    }
    let p = found.ok_or(SsmError::NotFound)?;
    let v = match &r.selector {
        Selector::Latest => p.latest.clone(),
        Selector::Version(n) => s
            .version(&p, *n)?
            .ok_or_else(|| SsmError::VersionNotFound {
                name: p.name.clone(),
                version: n.to_string(),
            })?,
        Selector::Label(l) => {
            let n = p.labels.get(l).copied().ok_or(SsmError::NotFound)?;
            s.version(&p, n)?.ok_or(SsmError::NotFound)?
        }
    };
    Ok((p, v))
}

fn reference(ctx: &Ctx<'_>, text: &str) -> Option<Reference> {
    names::parse_reference(text.trim(), ctx.account(), &ctx.caller.region)
}

fn enum_error(member: &str, value: &str, set: &str) -> Error {
    Error::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{set}]"
    ))
}

fn max_results(n: Option<i64>, max: i64) -> Result<usize, Error> {
    match n {
        None => Ok(max as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(Error::Validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value {}",
            if n < 1 {
                "greater than or equal to 1".to_string()
            } else {
                format!("less than or equal to {max}")
            }
        ))),
    }
}

fn token(cursor: &str) -> String {
    STANDARD.encode(format!("berth-ssm:{cursor}"))
}

fn cursor(t: Option<&str>) -> Result<Option<String>, Error> {
    match t {
        None => Ok(None),
        Some(t) => STANDARD
            .decode(t)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .and_then(|s| s.strip_prefix("berth-ssm:").map(str::to_string))
            .filter(|c| c.is_ascii() && !c.chars().any(|ch| ch.is_ascii_control()))
            .map(Some)
            .ok_or_else(|| SsmError::InvalidNextToken.into()),
    }
}

pub use crate::tags::{TagInput, TagOutput};

fn tag_text_ok(s: &str) -> bool {
    s.chars().all(|c| {
        c.is_alphanumeric()
            || c.is_whitespace()
            || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
    })
}

fn tags_of(tags: Vec<TagInput>) -> Result<Vec<Tag>, Error> {
    if tags.len() > 1000 {
        return Err(Error::Validation(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to 1000".into(),
        ));
    }
    tags.into_iter()
        .map(|t| {
            let key = required(t.key, "tags.member.key")?;
            let value = required(t.value, "tags.member.value")?;
            if key.is_empty() || key.chars().count() > 128 || !tag_text_ok(&key) {
                return Err(Error::Validation(format!(
                    "1 validation error detected: Value '{key}' at 'tags.member.key' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$ and have length between 1 and 128"
                )));
            }
            if value.chars().count() > 256 || !tag_text_ok(&value) {
                return Err(Error::Validation(format!(
                    "1 validation error detected: Value '{value}' at 'tags.member.value' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([\\p{{L}}\\p{{Z}}\\p{{N}}_.:/=+\\-@]*)$ and have length less than or equal to 256"
                )));
            }
            if key.to_ascii_lowercase().starts_with("aws:") {
                // AWS's text for a reserved tag key on a parameter is not known to berth.
                return Err(Error::Validation(
                    "tag keys beginning with aws: are reserved for AWS use".into(),
                ));
            }
            Ok(Tag { key, value })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// PutParameter

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterInput {
    pub name: Option<String>,
    pub description: Option<String>,
    pub value: Option<Value>,
    #[serde(rename = "Type")]
    pub kind: Option<String>,
    pub key_id: Option<String>,
    pub overwrite: Option<bool>,
    pub allowed_pattern: Option<String>,
    pub tags: Option<Vec<TagInput>>,
    pub tier: Option<String>,
    pub policies: Option<String>,
    pub data_type: Option<String>,
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        String::deserialize(d).map(|s| Value(Zeroizing::new(s)))
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutParameterOutput {
    pub version: u64,
    pub tier: String,
}

const STANDARD_TOO_LARGE: &str = "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html";

const NO_DOWNGRADE: &str = "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.";

pub fn put_parameter(ctx: &Ctx<'_>, input: PutParameterInput) -> Result<PutParameterOutput, Error> {
    let name = required(input.name, "name")?.trim().to_string();
    let value = required(input.value, "value")?;
    let region = ctx.caller.region.clone();
    let account = ctx.account().to_string();
    let arn_prefix = berth_ssm::arn(&account, &region, "").len();
    names::validate_name(&name, arn_prefix)?;
    if value.0.is_empty() {
        return Err(Error::Validation(
            "1 validation error detected: Value '' at 'value' failed to satisfy constraint: Member must have length greater than or equal to 1.".into(),
        ));
    }
    if value.0.contains("{{") && value.0.contains("}}") {
        // Parameters cannot be nested (the model's PutParameter documentation); the text is
        // AWS's to berth's best knowledge.
        return Err(Error::Validation(
            "Parameter value can't nest another parameter. Do not use \"{{}}\" in the value."
                .into(),
        ));
    }
    let kind = match input.kind.as_deref() {
        None => None,
        Some(t) => Some(
            ParamType::parse(t)
                .ok_or_else(|| enum_error("type", t, "SecureString, StringList, String"))?,
        ),
    };
    let tier_asked = match input.tier.as_deref() {
        None | Some("Standard" | "Advanced" | "Intelligent-Tiering") => input.tier.clone(),
        Some(t) => {
            return Err(enum_error(
                "tier",
                t,
                "Standard, Advanced, Intelligent-Tiering",
            ));
        }
    };
    if let Some(d) = &input.description
        && d.chars().count() > 1024
    {
        return Err(Error::Validation(
            "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 1024".into(),
        ));
    }
    let data_type = input.data_type.unwrap_or_else(|| "text".into());
    if data_type != "text" {
        // `aws:ec2:image` and `aws:ssm:integration` validate against EC2 and integrations,
        // which berth does not have.
        return Err(Error::Validation(format!(
            "The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )));
    }
    if input.policies.as_deref().is_some_and(|p| !p.is_empty()) {
        return Err(Error::Validation(
            "berth does not support parameter policies".into(),
        ));
    }
    let overwrite = input.overwrite.unwrap_or(false);
    let tags = tags_of(input.tags.unwrap_or_default())?;
    if overwrite && !tags.is_empty() {
        return Err(Error::Validation(
            "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.".into(),
        ));
    }
    let arn = authorize_name(ctx, "ssm:PutParameter", &name)?;
    if !tags.is_empty() {
        // Tagging at creation needs AddTagsToResource as well.
        ctx.authorize("ssm:AddTagsToResource", &arn)?;
    }
    let existing = ssm(ctx).get(&account, &region, &name)?;
    if existing.is_some() && !overwrite {
        return Err(SsmError::AlreadyExists.into());
    }
    let prev = existing.as_ref().map(|p| &p.latest);
    let kind = kind.or(prev.map(|v| v.kind)).ok_or_else(|| {
        Error::Validation("A parameter type is required when you create a parameter.".into())
    })?;
    if prev.is_some_and(|v| v.kind != kind) {
        return Err(SsmError::TypeMismatch.into());
    }
    if input.key_id.is_some() && kind != ParamType::SecureString {
        return Err(Error::Validation(
            "KeyId is required for SecureString type parameter only.".into(),
        ));
    }
    let chars = value.0.chars().count();
    let prev_advanced = prev.is_some_and(|v| v.tier == "Advanced");
    let tier = match tier_asked.as_deref() {
        Some("Advanced") => "Advanced",
        Some("Standard") if prev_advanced => return Err(Error::Validation(NO_DOWNGRADE.into())),
        Some("Standard") => "Standard",
        Some(_) if prev_advanced || chars > berth_ssm::STANDARD_VALUE_MAX => "Advanced",
        Some(_) => "Standard",
        None if prev_advanced => "Advanced",
        None => "Standard",
    };
    if tier == "Standard" && chars > berth_ssm::STANDARD_VALUE_MAX {
        return Err(Error::Validation(STANDARD_TOO_LARGE.into()));
    }
    if chars > berth_ssm::ADVANCED_VALUE_MAX {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value at 'value' failed to satisfy constraint: Member must have length less than or equal to {}",
            berth_ssm::ADVANCED_VALUE_MAX
        )));
    }
    let allowed_pattern = input
        .allowed_pattern
        .or_else(|| prev.and_then(|v| v.allowed_pattern.clone()))
        .filter(|p| !p.is_empty());
    if let Some(p) = &allowed_pattern {
        names::check_pattern(p, &value.0)?;
    }
    if kind == ParamType::StringList && value.0.split(',').any(str::is_empty) {
        // AWS's words for an empty item in a StringList are not known to berth.
        return Err(Error::Validation(
            "a StringList value is a comma-separated list of non-empty items".into(),
        ));
    }
    let (stored, key_id) = if kind == ParamType::SecureString {
        let key_id = input
            .key_id
            .or_else(|| prev.and_then(|v| v.key_id.clone()))
            .unwrap_or_else(|| berth_kms::SSM_ALIAS.to_string());
        let sealed = seal(ctx, &arn, &key_id, tier == "Advanced", &value.0)?;
        (sealed, Some(key_id))
    } else {
        (value.0.to_string(), None)
    };
    let description = input
        .description
        .or_else(|| prev.and_then(|v| v.description.clone()));
    let p = ssm(ctx).put(NewVersion {
        account,
        region,
        name,
        version: Version {
            version: 0,
            kind,
            value: stored,
            key_id,
            description,
            allowed_pattern,
            tier: tier.to_string(),
            data_type,
            modified: ctx.now_secs(),
            modified_user: ctx.caller.principal.arn(),
        },
        overwrite,
        tags,
    })?;
    Ok(PutParameterOutput {
        version: p.latest.version,
        tier: p.latest.tier,
    })
}

// ---------------------------------------------------------------------------------------
// GetParameter, GetParameters

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterInput {
    pub name: Option<String>,
    pub with_decryption: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterOutput {
    pub parameter: ParameterOutput,
}

pub fn get_parameter(ctx: &Ctx<'_>, input: GetParameterInput) -> Result<GetParameterOutput, Error> {
    let text = required(input.name, "name")?;
    let r = reference(ctx, &text).ok_or(SsmError::NotFound)?;
    let (p, v) = find(ctx, &r, "ssm:GetParameter")?;
    // GetParameter names the parameter by its name, even when asked by ARN.
    let name = p.name.clone();
    Ok(GetParameterOutput {
        parameter: parameter_output(
            ctx,
            &p,
            &v,
            name,
            r.selector.as_member(),
            input.with_decryption.unwrap_or(false),
        )?,
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersInput {
    pub names: Option<Vec<String>>,
    pub with_decryption: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersOutput {
    pub parameters: Vec<ParameterOutput>,
    pub invalid_parameters: Vec<String>,
}

fn names_list(names: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let names = required(names, "names")?;
    if names.is_empty() || names.len() > 10 {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '[{}]' at 'names' failed to satisfy constraint: Member must have length {}",
            names.join(", "),
            if names.is_empty() {
                "greater than or equal to 1"
            } else {
                "less than or equal to 10"
            }
        )));
    }
    let mut seen: Vec<String> = Vec::new();
    for n in names {
        if !seen.contains(&n) {
            seen.push(n);
        }
    }
    Ok(seen)
}

/// GetParameters: each parameter found is answered under the name or ARN exactly as asked
/// (without its selector, which is the answer's `Selector`); the ECS agent finds the values
/// by that string. The ones not found are InvalidParameters, as asked.
pub fn get_parameters(
    ctx: &Ctx<'_>,
    input: GetParametersInput,
) -> Result<GetParametersOutput, Error> {
    let asked = names_list(input.names)?;
    let decrypt = input.with_decryption.unwrap_or(false);
    let mut parameters = Vec::new();
    let mut invalid = Vec::new();
    for text in asked {
        let Some(r) = reference(ctx, &text) else {
            invalid.push(text);
            continue;
        };
        match find(ctx, &r, "ssm:GetParameters") {
            Ok((p, v)) => parameters.push(parameter_output(
                ctx,
                &p,
                &v,
                r.given.clone(),
                r.selector.as_member(),
                decrypt,
            )?),
            Err(Error::Ssm(SsmError::NotFound | SsmError::VersionNotFound { .. })) => {
                invalid.push(text)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(GetParametersOutput {
        parameters,
        invalid_parameters: invalid,
    })
}

// ---------------------------------------------------------------------------------------
// GetParametersByPath, DescribeParameters

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterStringFilter {
    pub key: Option<String>,
    pub option: Option<String>,
    pub values: Option<Vec<String>>,
}

fn string_filters(
    filters: Option<Vec<ParameterStringFilter>>,
    usage: Use,
) -> Result<Vec<Filter>, Error> {
    let raw = filters
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            Ok((
                required(f.key, "parameterFilters.member.key")?,
                f.option,
                f.values.unwrap_or_default(),
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(filter::parse_filters(&raw, usage)?)
}

/// The most rows one page of a filtered scan reads before it answers with what it found and
/// a NextToken, as Parameter Store does when it "reaches an internal limit".
const SCAN_BUDGET: usize = 1000;
/// Rows read at a time.
const CHUNK: usize = 100;

/// Pages through the parameters whose names start with `prefix` after `after`, keeping
/// those `keep` accepts, until `max` are kept or the budget is spent; the page and the
/// cursor to continue from.
fn scan_page<T>(
    ctx: &Ctx<'_>,
    prefix: &str,
    after: Option<String>,
    max: usize,
    mut keep: impl FnMut(&Parameter) -> Result<Option<T>, Error>,
) -> Result<(Vec<T>, Option<String>), Error> {
    let s = ssm(ctx);
    let mut out = Vec::new();
    let mut after = after;
    let mut read = 0;
    loop {
        let chunk = s.scan(
            ctx.account(),
            &ctx.caller.region,
            prefix,
            after.as_deref(),
            CHUNK,
        )?;
        let full = chunk.len() == CHUNK;
        let n = chunk.len();
        for (i, p) in chunk.iter().enumerate() {
            read += 1;
            after = Some(p.name.clone());
            if let Some(t) = keep(p)? {
                out.push(t);
            }
            let more = i + 1 < n || full;
            if out.len() == max || read >= SCAN_BUDGET {
                return Ok((out, if more { after } else { None }));
            }
        }
        if !full {
            return Ok((out, None));
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathInput {
    pub path: Option<String>,
    pub recursive: Option<bool>,
    pub parameter_filters: Option<Vec<ParameterStringFilter>>,
    pub with_decryption: Option<bool>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParametersByPathOutput {
    pub parameters: Vec<ParameterOutput>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

pub fn get_parameters_by_path(
    ctx: &Ctx<'_>,
    input: GetParametersByPathInput,
) -> Result<GetParametersByPathOutput, Error> {
    let path = required(input.path, "path")?.trim().to_string();
    names::validate_path(&path)?;
    let max = max_results(input.max_results, 10)?;
    let filters = string_filters(input.parameter_filters, Use::ByPath)?;
    let after = cursor(input.next_token.as_deref())?;
    let recursive = input.recursive.unwrap_or(false);
    let decrypt = input.with_decryption.unwrap_or(false);
    let base = path.trim_end_matches('/');
    authorize_name(
        ctx,
        "ssm:GetParametersByPath",
        if base.is_empty() { "/" } else { base },
    )?;
    let prefix = format!("{base}/");
    let labels: Option<Vec<String>> = filters
        .iter()
        .find(|f| f.key == FilterKey::Label)
        .map(|f| f.values.clone());
    let s = ssm(ctx);
    let (parameters, next) = scan_page(ctx, &prefix, after, max, |p| {
        if !filter::in_path(&p.name, &prefix, recursive) || !filters.iter().all(|f| f.matches(p)) {
            return Ok(None);
        }
        let v = match &labels {
            None => p.latest.clone(),
            Some(ls) => {
                let Some(n) = ls.iter().find_map(|l| p.labels.get(l).copied()) else {
                    return Ok(None);
                };
                match s.version(p, n)? {
                    Some(v) => v,
                    None => return Ok(None),
                }
            }
        };
        Ok(Some(parameter_output(
            ctx,
            p,
            &v,
            p.name.clone(),
            None,
            decrypt,
        )?))
    })?;
    Ok(GetParametersByPathOutput {
        parameters,
        next_token: next.map(|c| token(&c)),
    })
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParametersFilter {
    pub key: Option<String>,
    pub values: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersInput {
    pub filters: Option<Vec<ParametersFilter>>,
    pub parameter_filters: Option<Vec<ParameterStringFilter>>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
    pub shared: Option<bool>,
}

/// A parameter's metadata, as DescribeParameters answers it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterMetadata {
    pub name: String,
    #[serde(rename = "ARN")]
    pub arn: String,
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub last_modified_date: u64,
    pub last_modified_user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    pub version: u64,
    pub tier: String,
    pub policies: Vec<()>,
    pub data_type: String,
}

fn metadata(p: &Parameter) -> ParameterMetadata {
    let v = &p.latest;
    ParameterMetadata {
        name: p.name.clone(),
        arn: p.arn(),
        kind: v.kind.as_str(),
        key_id: v.key_id.clone(),
        last_modified_date: v.modified,
        last_modified_user: v.modified_user.clone(),
        description: v.description.clone(),
        allowed_pattern: v.allowed_pattern.clone(),
        version: v.version,
        tier: v.tier.clone(),
        policies: Vec::new(),
        data_type: v.data_type.clone(),
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeParametersOutput {
    pub parameters: Vec<ParameterMetadata>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

pub fn describe_parameters(
    ctx: &Ctx<'_>,
    input: DescribeParametersInput,
) -> Result<DescribeParametersOutput, Error> {
    let legacy = input.filters.unwrap_or_default();
    let has_string_filters = input
        .parameter_filters
        .as_ref()
        .is_some_and(|f| !f.is_empty());
    if !legacy.is_empty() && has_string_filters {
        return Err(Error::Validation(
            "You can use either Filters or ParameterFilters in a single request.".into(),
        ));
    }
    let mut filters = string_filters(input.parameter_filters, Use::Describe)?;
    let legacy = legacy
        .into_iter()
        .map(|f| {
            Ok((
                required(f.key, "filters.member.key")?,
                required(f.values, "filters.member.values")?,
            ))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    filters.extend(filter::parse_legacy(&legacy)?);
    let max = max_results(input.max_results, 50)?;
    let after = cursor(input.next_token.as_deref())?;
    ctx.authorize("ssm:DescribeParameters", "*")?;
    if input.shared == Some(true) {
        // Parameters shared from other accounts (AWS RAM) are not part of berth.
        return Ok(DescribeParametersOutput {
            parameters: Vec::new(),
            next_token: None,
        });
    }
    // Narrow the scan to a prefix when one filter pins it.
    let prefix = filters
        .iter()
        .find_map(|f| match (&f.key, f.option, f.values.as_slice()) {
            (FilterKey::Path, _, [one]) => Some(format!("{}/", one.trim_end_matches('/'))),
            (FilterKey::Name, filter::Option_::BeginsWith | filter::Option_::Equals, [one])
                if one.starts_with('/') =>
            {
                Some(one.clone())
            }
            _ => None,
        })
        .unwrap_or_default();
    let (parameters, next) = scan_page(ctx, &prefix, after, max, |p| {
        Ok(filters.iter().all(|f| f.matches(p)).then(|| metadata(p)))
    })?;
    Ok(DescribeParametersOutput {
        parameters,
        next_token: next.map(|c| token(&c)),
    })
}

// ---------------------------------------------------------------------------------------
// GetParameterHistory

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistoryInput {
    pub name: Option<String>,
    pub with_decryption: Option<bool>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParameterHistory {
    pub name: String,
    #[serde(rename = "Type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    pub last_modified_date: u64,
    pub last_modified_user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_pattern: Option<String>,
    pub version: u64,
    pub labels: Vec<String>,
    pub tier: String,
    pub policies: Vec<()>,
    pub data_type: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetParameterHistoryOutput {
    pub parameters: Vec<ParameterHistory>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

pub fn get_parameter_history(
    ctx: &Ctx<'_>,
    input: GetParameterHistoryInput,
) -> Result<GetParameterHistoryOutput, Error> {
    let text = required(input.name, "name")?;
    let max = max_results(input.max_results, 50)?;
    let after = match cursor(input.next_token.as_deref())? {
        None => None,
        Some(c) => Some(
            c.parse::<u64>()
                .map_err(|_| Error::from(SsmError::InvalidNextToken))?,
        ),
    };
    let mut r = reference(ctx, &text).ok_or(SsmError::NotFound)?;
    r.selector = Selector::Latest;
    let (p, _) = find(ctx, &r, "ssm:GetParameterHistory")?;
    let decrypt = input.with_decryption.unwrap_or(false);
    let arn = p.arn();
    let mut versions = ssm(ctx).history(&p, after, max + 1)?;
    let more = versions.len() > max;
    versions.truncate(max);
    let next = if more {
        versions.last().map(|v| token(&v.version.to_string()))
    } else {
        None
    };
    let parameters = versions
        .into_iter()
        .map(|v| {
            Ok(ParameterHistory {
                name: p.name.clone(),
                kind: v.kind.as_str(),
                value: shown_value(ctx, &arn, &v, decrypt)?,
                labels: p.labels_of(v.version),
                key_id: v.key_id,
                last_modified_date: v.modified,
                last_modified_user: v.modified_user,
                description: v.description,
                allowed_pattern: v.allowed_pattern,
                version: v.version,
                tier: v.tier,
                policies: Vec::new(),
                data_type: v.data_type,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(GetParameterHistoryOutput {
        parameters,
        next_token: next,
    })
}

// ---------------------------------------------------------------------------------------
// DeleteParameter, DeleteParameters

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParameterInput {
    pub name: Option<String>,
}

pub fn delete_parameter(ctx: &Ctx<'_>, input: DeleteParameterInput) -> Result<Empty, Error> {
    let name = required(input.name, "name")?.trim().to_string();
    authorize_name(ctx, "ssm:DeleteParameter", &name)?;
    ssm(ctx).delete(ctx.account(), &ctx.caller.region, &name)?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersInput {
    pub names: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteParametersOutput {
    pub deleted_parameters: Vec<String>,
    pub invalid_parameters: Vec<String>,
}

pub fn delete_parameters(
    ctx: &Ctx<'_>,
    input: DeleteParametersInput,
) -> Result<DeleteParametersOutput, Error> {
    let names = names_list(input.names)?;
    for n in &names {
        authorize_name(ctx, "ssm:DeleteParameters", n.trim())?;
    }
    let mut deleted = Vec::new();
    let mut invalid = Vec::new();
    for n in names {
        match ssm(ctx).delete(ctx.account(), &ctx.caller.region, n.trim()) {
            Ok(()) => deleted.push(n),
            Err(SsmError::NotFound) => invalid.push(n),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(DeleteParametersOutput {
        deleted_parameters: deleted,
        invalid_parameters: invalid,
    })
}

// ---------------------------------------------------------------------------------------
// LabelParameterVersion, UnlabelParameterVersion

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersionInput {
    pub name: Option<String>,
    pub parameter_version: Option<u64>,
    pub labels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LabelParameterVersionOutput {
    pub invalid_labels: Vec<String>,
    pub parameter_version: u64,
}

fn labels_list(labels: Option<Vec<String>>) -> Result<Vec<String>, Error> {
    let labels = required(labels, "labels")?;
    if labels.is_empty() || labels.len() > 10 {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '[{}]' at 'labels' failed to satisfy constraint: Member must have length {}",
            labels.join(", "),
            if labels.is_empty() {
                "greater than or equal to 1"
            } else {
                "less than or equal to 10"
            }
        )));
    }
    if let Some(l) = labels
        .iter()
        .find(|l| l.is_empty() || l.chars().count() > 100)
    {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '[{l}]' at 'labels' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 100, Member must have length greater than or equal to 1]"
        )));
    }
    Ok(labels)
}

/// The name a label or tag operation names (a name or an ARN, no selector).
fn plain_name(ctx: &Ctx<'_>, text: &str) -> Result<Reference, Error> {
    match reference(ctx, text) {
        Some(r) if r.selector == Selector::Latest => Ok(r),
        _ => Err(SsmError::NotFound.into()),
    }
}

fn existing_name(ctx: &Ctx<'_>, r: &Reference, action: &str) -> Result<String, Error> {
    let (p, _) = find(ctx, r, action)?;
    Ok(p.name)
}

pub fn label_parameter_version(
    ctx: &Ctx<'_>,
    input: LabelParameterVersionInput,
) -> Result<LabelParameterVersionOutput, Error> {
    let text = required(input.name, "name")?;
    let labels = labels_list(input.labels)?;
    let r = plain_name(ctx, &text)?;
    let name = existing_name(ctx, &r, "ssm:LabelParameterVersion")?;
    let (invalid, version) = ssm(ctx).label(
        ctx.account(),
        &ctx.caller.region,
        &name,
        input.parameter_version,
        &labels,
    )?;
    Ok(LabelParameterVersionOutput {
        invalid_labels: invalid,
        parameter_version: version,
    })
}

/// The same members as LabelParameterVersion's.
pub type UnlabelParameterVersionInput = LabelParameterVersionInput;

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UnlabelParameterVersionOutput {
    pub removed_labels: Vec<String>,
    pub invalid_labels: Vec<String>,
}

pub fn unlabel_parameter_version(
    ctx: &Ctx<'_>,
    input: UnlabelParameterVersionInput,
) -> Result<UnlabelParameterVersionOutput, Error> {
    let text = required(input.name, "name")?;
    let version = required(input.parameter_version, "parameterVersion")?;
    let labels = labels_list(input.labels)?;
    let r = plain_name(ctx, &text)?;
    let name = existing_name(ctx, &r, "ssm:UnlabelParameterVersion")?;
    let (removed, invalid) =
        ssm(ctx).unlabel(ctx.account(), &ctx.caller.region, &name, version, &labels)?;
    Ok(UnlabelParameterVersionOutput {
        removed_labels: removed,
        invalid_labels: invalid,
    })
}

// ---------------------------------------------------------------------------------------
// AddTagsToResource, RemoveTagsFromResource, ListTagsForResource

/// The parameter a tagging call names; other resource types are not part of berth.
fn tagged_parameter(
    ctx: &Ctx<'_>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    action: &str,
) -> Result<Parameter, Error> {
    let resource_type = required(resource_type, "resourceType")?;
    let resource_id = required(resource_id, "resourceId")?;
    const TYPES: &str = "Document, ManagedInstance, MaintenanceWindow, Parameter, PatchBaseline, OpsItem, OpsMetadata, Automation, Association";
    if !TYPES.split(", ").any(|t| t == resource_type) {
        return Err(enum_error("resourceType", &resource_type, TYPES));
    }
    if resource_type != "Parameter" {
        return Err(SsmError::InvalidResourceType.into());
    }
    let r = plain_name(ctx, &resource_id).map_err(|_| SsmError::InvalidResourceId)?;
    let first = r.names.first().ok_or(SsmError::InvalidResourceId)?;
    authorize_name(ctx, action, first)?;
    let s = ssm(ctx);
    for n in &r.names {
        if let Some(p) = s.get(ctx.account(), &ctx.caller.region, n)? {
            return Ok(p);
        }
    }
    Err(SsmError::InvalidResourceId.into())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddTagsToResourceInput {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub tags: Option<Vec<TagInput>>,
}

pub fn add_tags_to_resource(ctx: &Ctx<'_>, input: AddTagsToResourceInput) -> Result<Empty, Error> {
    let tags = tags_of(required(input.tags, "tags")?)?;
    let p = tagged_parameter(
        ctx,
        input.resource_type,
        input.resource_id,
        "ssm:AddTagsToResource",
    )?;
    ssm(ctx).add_tags(&p.account, &p.region, &p.name, &tags)?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveTagsFromResourceInput {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

pub fn remove_tags_from_resource(
    ctx: &Ctx<'_>,
    input: RemoveTagsFromResourceInput,
) -> Result<Empty, Error> {
    let keys = required(input.tag_keys, "tagKeys")?;
    let p = tagged_parameter(
        ctx,
        input.resource_type,
        input.resource_id,
        "ssm:RemoveTagsFromResource",
    )?;
    ssm(ctx).remove_tags(&p.account, &p.region, &p.name, &keys)?;
    Ok(Empty {})
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceInput {
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsForResourceOutput {
    pub tag_list: Vec<TagOutput>,
}

pub fn list_tags_for_resource(
    ctx: &Ctx<'_>,
    input: ListTagsForResourceInput,
) -> Result<ListTagsForResourceOutput, Error> {
    let p = tagged_parameter(
        ctx,
        input.resource_type,
        input.resource_id,
        "ssm:ListTagsForResource",
    )?;
    Ok(ListTagsForResourceOutput {
        tag_list: p.tags.into_iter().map(TagOutput::from).collect(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use berth_core::RootKey;
    use berth_store::{SqliteStore, Store};

    use super::*;
    use crate::testing::caller;
    use crate::{Caller, Control, Principal};

    fn control() -> (Arc<SqliteStore>, Control) {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let control = Control::new(store.clone(), RootKey::generate(), 0);
        (store, control)
    }

    fn root() -> Caller {
        caller(Principal::Root {
            account: "111122223333".into(),
        })
    }

    fn put(
        ctx: &Ctx<'_>,
        name: &str,
        value: &str,
        kind: &str,
        tier: Option<&str>,
    ) -> PutParameterOutput {
        put_parameter(
            ctx,
            PutParameterInput {
                name: Some(name.into()),
                value: Some(Value(Zeroizing::new(value.into()))),
                kind: Some(kind.into()),
                tier: tier.map(str::to_string),
                ..Default::default()
            },
        )
        .unwrap()
    }

    fn get(ctx: &Ctx<'_>, name: &str, decrypt: bool) -> Result<ParameterOutput, Error> {
        get_parameter(
            ctx,
            GetParameterInput {
                name: Some(name.into()),
                with_decryption: Some(decrypt),
            },
        )
        .map(|o| o.parameter)
    }

    /// Every stored row of `table`, as text.
    fn rows(store: &SqliteStore, table: &str) -> String {
        let mut all = String::new();
        store
            .read_tx(&mut |tx| {
                for (_, v) in tx.scan(table, "")? {
                    all.push_str(&String::from_utf8_lossy(&v));
                }
                Ok(())
            })
            .unwrap();
        all
    }

    #[test]
    fn secure_strings_are_sealed_at_rest_and_open_as_the_caller() {
        let (store, control) = control();
        let root = root();
        let ctx = control.ctx(&root, "r1");
        let secret = "plain-Vx93-secret";
        let big = "b".repeat(5000);
        assert_eq!(
            put(&ctx, "/s/std", secret, "SecureString", None).tier,
            "Standard"
        );
        assert_eq!(
            put(&ctx, "/s/adv", &big, "SecureString", Some("Advanced")).tier,
            "Advanced"
        );
        let sealed = get(&ctx, "/s/std", false).unwrap();
        assert_ne!(&*sealed.value.0, secret);
        // A standard SecureString is a KMS ciphertext blob (format byte 1), an advanced one an
        // envelope (2).
        let bytes = STANDARD.decode(&*sealed.value.0).unwrap();
        assert_eq!(bytes.first(), Some(&1));
        let adv = STANDARD
            .decode(&*get(&ctx, "/s/adv", false).unwrap().value.0)
            .unwrap();
        assert_eq!(adv.first(), Some(&ENVELOPE_V1));
        assert_eq!(&*get(&ctx, "/s/std", true).unwrap().value.0, secret);
        assert_eq!(*get(&ctx, "/s/adv", true).unwrap().value.0, big);
        for table in [berth_ssm::PARAMS, berth_ssm::VERSIONS] {
            let text = rows(&store, table);
            assert!(text.contains("SecureString"));
            assert!(!text.contains(secret) && !text.contains(&big));
        }
        // The ciphertext is bound to its parameter: another parameter's ARN does not open it.
        assert!(open(&ctx, &arn_of(&ctx, "/s/other"), &sealed.value.0).is_err());
    }

    #[test]
    fn get_parameters_answers_names_as_asked() {
        let (_store, control) = control();
        let root = root();
        let ctx = control.ctx(&root, "r1");
        put(&ctx, "/a/b", "v1", "String", None);
        let arn = arn_of(&ctx, "/a/b");
        let out = get_parameters(
            &ctx,
            GetParametersInput {
                names: Some(vec![
                    arn.clone(),
                    "/a/b:1".into(),
                    "/a/none".into(),
                    arn.clone(),
                ]),
                with_decryption: None,
            },
        )
        .unwrap();
        let names: Vec<&str> = out.parameters.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, [arn.as_str(), "/a/b"]);
        assert_eq!(out.parameters[1].selector.as_deref(), Some(":1"));
        assert_eq!(out.invalid_parameters, ["/a/none"]);
    }

    #[test]
    fn tokens_round_trip_and_refuse_others() {
        let t = token("/app/x");
        assert_eq!(cursor(Some(&t)).ok(), Some(Some("/app/x".to_string())));
        assert!(matches!(
            cursor(Some("bm9wZQ==")),
            Err(Error::Ssm(SsmError::InvalidNextToken))
        ));
        assert!(max_results(Some(11), 10).is_err());
        assert_eq!(max_results(None, 10).ok(), Some(10));
    }

    #[test]
    fn the_encryption_context_is_the_parameter_arn() {
        let c = encryption_context("arn:aws:ssm:us-east-1:111122223333:parameter/a/b");
        assert_eq!(
            c.get("PARAMETER_ARN").map(String::as_str),
            Some("arn:aws:ssm:us-east-1:111122223333:parameter/a/b")
        );
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn tags_are_checked() {
        let t = |k: &str, v: &str| TagInput {
            key: Some(k.into()),
            value: Some(v.into()),
        };
        assert!(tags_of(vec![t("env", "prod")]).is_ok());
        assert!(tags_of(vec![t("", "x")]).is_err());
        assert!(tags_of(vec![t("aws:x", "x")]).is_err());
        assert!(tags_of(vec![t("a", "b$")]).is_err());
    }
}
