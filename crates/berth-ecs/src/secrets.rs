//! A container's `secrets` and its log configuration's `secretOptions`, as the ECS control
//! plane hands them to the agent and as the ECS agent reads them.
//!
//! - The control plane resolves each entry's provider and region ([`agent_secrets`]): a
//!   `valueFrom` that is a Secrets Manager ARN is fetched from Secrets Manager (`asm`) in the
//!   ARN's region; anything else is an SSM Parameter Store parameter (`ssm`), by ARN in the
//!   ARN's region or by name in the task's region. A Secrets Manager secret *name* is
//!   therefore looked up in Parameter Store, where it is not found.
//! - The agent parses a Secrets Manager `valueFrom` ([`parse_asm`]): `arn:…:secret:NAME` is
//!   the secret itself; `arn:…:secret:NAME:json-key:version-stage:version-id` (all three
//!   positions present, any of them empty) selects a version and a JSON key; any other count
//!   of `:`-separated parts is refused with the agent's words.
//! - A JSON key's value is rendered as the agent renders it ([`json_key_value`]): a Go
//!   `fmt.Sprintf("%v")` of what `encoding/json` decoded (numbers are float64: `100000000`
//!   reads `1e+08`; objects `map[k:v]`; arrays `[a b]`; `null` `<nil>`).
//!
//! Pure: the agent fetches, the doctor reads the store.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use zeroize::Zeroizing;

use crate::error::EcsError;
use crate::model::ContainerDefinition;

/// The provider of a secret kept in Secrets Manager.
pub const PROVIDER_ASM: &str = "asm";
/// The provider of a parameter kept in SSM Parameter Store.
pub const PROVIDER_SSM: &str = "ssm";
/// A `secrets` entry: an environment variable of the container.
pub const TYPE_ENVIRONMENT_VARIABLE: &str = "ENVIRONMENT_VARIABLE";
/// A `secretOptions` entry: an option of the log driver, set before the container starts.
pub const TYPE_BOOTSTRAP: &str = "BOOTSTRAP";
/// The value goes to the container.
pub const TARGET_CONTAINER: &str = "CONTAINER";
/// The value goes to the container's log driver.
pub const TARGET_LOG_DRIVER: &str = "LOG_DRIVER";

/// The capability an instance advertises to take tasks with Secrets Manager `secrets`.
pub const CAP_ASM_ENV: &str = "ecs.capability.secrets.asm.environment-variables";
/// The capability for SSM Parameter Store `secrets`.
pub const CAP_SSM_ENV: &str = "ecs.capability.secrets.ssm.environment-variables";
/// The capability for Secrets Manager `secretOptions` of a log driver.
pub const CAP_ASM_LOG: &str = "ecs.capability.secrets.asm.bootstrap.log-driver";
/// The capability for SSM Parameter Store `secretOptions` of a log driver.
pub const CAP_SSM_LOG: &str = "ecs.capability.secrets.ssm.bootstrap.log-driver";

/// Every secrets capability, as the ECS agent advertises them.
pub const AGENT_CAPABILITIES: [&str; 4] = [CAP_SSM_ENV, CAP_SSM_LOG, CAP_ASM_ENV, CAP_ASM_LOG];

/// RegisterTaskDefinition's refusal of `secrets` (or `secretOptions`) without an execution role.
pub const SECRETS_NEED_ROLE: &str = "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.";

/// RegisterTaskDefinition's refusal of a secret named like an environment variable (or another
/// secret) of the same container.
pub fn name_clash(name: &str) -> String {
    format!(
        "The secret name must be unique and not shared with any new or existing environment variables set on the container, such as '{name}'."
    )
}

/// RegisterTaskDefinition's checks of a container's `secrets` and `secretOptions`: they need
/// the execution role, and a secret may not share its name with an environment variable or
/// another secret of the container. Whether AWS also refuses a secret option named like
/// another one, or checks `valueFrom` here, is not known to berth (the agent refuses a
/// malformed Secrets Manager ARN at start).
pub(crate) fn check_registration(c: &ContainerDefinition, has_role: bool) -> Result<(), EcsError> {
    if !has_role && has_secrets(c) {
        return Err(EcsError::Client(SECRETS_NEED_ROLE.to_string()));
    }
    let mut names: BTreeSet<&str> = c
        .extra
        .get("environment")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|kv| kv.get("name").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default();
    let secrets = env_secrets(c);
    for (name, _) in &secrets {
        if !names.insert(name) {
            return Err(EcsError::Client(name_clash(name)));
        }
    }
    Ok(())
}

/// One secret as the agent receives it (the ECS agent's `Secret`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentSecret {
    /// The environment variable, or the log driver's option.
    pub name: String,
    pub value_from: String,
    /// Where the value is fetched.
    pub region: String,
    /// `asm` or `ssm`.
    pub provider: String,
    /// `ENVIRONMENT_VARIABLE` or `BOOTSTRAP`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `CONTAINER` or `LOG_DRIVER`.
    pub target: String,
}

impl AgentSecret {
    /// The agent's key for a fetched value: `valueFrom` and region.
    pub fn cache_key(&self) -> String {
        format!("{}_{}", self.value_from, self.region)
    }
}

/// The `:`-separated fields of an ARN: partition, service, region, account, resource.
fn arn_fields(s: &str) -> Option<[&str; 5]> {
    let mut p = s.splitn(6, ':');
    if p.next()? != "arn" {
        return None;
    }
    Some([p.next()?, p.next()?, p.next()?, p.next()?, p.next()?])
}

/// `asm` for a Secrets Manager ARN, `ssm` for anything else.
pub fn provider_of(value_from: &str) -> &'static str {
    match arn_fields(value_from) {
        Some([_, "secretsmanager", ..]) => PROVIDER_ASM,
        _ => PROVIDER_SSM,
    }
}

/// The region a secret is fetched from: its ARN's, else the task's.
pub fn region_of(value_from: &str, task_region: &str) -> String {
    match arn_fields(value_from) {
        Some([_, _, region, ..]) if !region.is_empty() => region.to_string(),
        _ => task_region.to_string(),
    }
}

/// `(name, valueFrom)` of each entry of a JSON list of `{name, valueFrom}`.
fn entries(list: Option<&Value>) -> Vec<(String, String)> {
    list.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|s| {
                    let text = |k: &str| {
                        s.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    (text("name"), text("valueFrom"))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// A container's `secrets`: `(name, valueFrom)`.
pub fn env_secrets(c: &ContainerDefinition) -> Vec<(String, String)> {
    entries(c.extra.get("secrets"))
}

/// A container's `logConfiguration.secretOptions`: `(name, valueFrom)`.
pub fn log_secrets(c: &ContainerDefinition) -> Vec<(String, String)> {
    entries(
        c.extra
            .get("logConfiguration")
            .and_then(|l| l.get("secretOptions")),
    )
}

/// Whether a container names any secret.
pub fn has_secrets(c: &ContainerDefinition) -> bool {
    !env_secrets(c).is_empty() || !log_secrets(c).is_empty()
}

/// A container's secrets as the agent receives them: `secrets` first, then `secretOptions`.
pub fn agent_secrets(c: &ContainerDefinition, task_region: &str) -> Vec<AgentSecret> {
    let make = |(name, value_from): (String, String), kind: &str, target: &str| AgentSecret {
        region: region_of(&value_from, task_region),
        provider: provider_of(&value_from).to_string(),
        name,
        value_from,
        kind: kind.to_string(),
        target: target.to_string(),
    };
    env_secrets(c)
        .into_iter()
        .map(|e| make(e, TYPE_ENVIRONMENT_VARIABLE, TARGET_CONTAINER))
        .chain(
            log_secrets(c)
                .into_iter()
                .map(|e| make(e, TYPE_BOOTSTRAP, TARGET_LOG_DRIVER)),
        )
        .collect()
}

/// The capabilities a container's secrets need of an instance, as the ECS agent names them.
pub fn capabilities(c: &ContainerDefinition) -> Vec<&'static str> {
    let mut out = Vec::new();
    for (_, from) in env_secrets(c) {
        out.push(if provider_of(&from) == PROVIDER_ASM {
            CAP_ASM_ENV
        } else {
            CAP_SSM_ENV
        });
    }
    for (_, from) in log_secrets(c) {
        out.push(if provider_of(&from) == PROVIDER_ASM {
            CAP_ASM_LOG
        } else {
            CAP_SSM_LOG
        });
    }
    out
}

/// Whether a Secrets Manager `valueFrom` selects a JSON key or a version (Fargate needs
/// platform version 1.4.0 for those).
pub fn uses_selectors(value_from: &str) -> bool {
    provider_of(value_from) == PROVIDER_ASM
        && matches!(parse_asm(value_from), Ok(r) if !r.json_key.is_empty() || r.version_stage.is_some() || r.version_id.is_some())
}

/// The oldest Fargate platform version that runs a definition's containers' secrets, as AWS
/// documents it: 1.3.0 for whole secrets, 1.4.0 for a JSON key or a version selector.
/// `None` when no container names a secret.
pub fn fargate_platform_needed(containers: &[ContainerDefinition]) -> Option<&'static str> {
    let mut needed = None;
    for c in containers {
        for (_, from) in env_secrets(c).into_iter().chain(log_secrets(c)) {
            if uses_selectors(&from) {
                return Some("1.4.0");
            }
            needed = Some("1.3.0");
        }
    }
    needed
}

/// What the agent asks Secrets Manager for one `valueFrom`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmRequest {
    /// GetSecretValue's `SecretId`: the `valueFrom` itself, or its ARN without the selectors.
    pub secret_id: String,
    /// Empty: the whole `SecretString`.
    pub json_key: String,
    pub version_stage: Option<String>,
    pub version_id: Option<String>,
}

/// The agent's words for a `valueFrom` whose resource has neither 2 nor 5 parts.
pub const INVALID_ASM_ARN: &str = "an invalid ARN format for the AWS Secrets Manager secret was specified. Specify a valid ARN and try again.";

/// Parses a Secrets Manager `valueFrom` as the ECS agent does; the error is the text the agent
/// puts after `trying to retrieve secret with value <valueFrom> resulted in error: `.
pub fn parse_asm(value_from: &str) -> Result<AsmRequest, String> {
    if !value_from.starts_with("arn:") {
        return Err("arn: invalid prefix".to_string());
    }
    let Some([partition, service, region, account, resource]) = arn_fields(value_from) else {
        return Err("arn: not enough sections".to_string());
    };
    let parts: Vec<&str> = resource.split(':').collect();
    match parts.as_slice() {
        [_, _] => Ok(AsmRequest {
            secret_id: value_from.to_string(),
            json_key: String::new(),
            version_stage: None,
            version_id: None,
        }),
        [kind, id, key, stage, version] => {
            let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
            Ok(AsmRequest {
                secret_id: format!("arn:{partition}:{service}:{region}:{account}:{kind}:{id}"),
                json_key: key.to_string(),
                version_stage: some(stage),
                version_id: some(version),
            })
        }
        _ => Err(INVALID_ASM_ARN.to_string()),
    }
}

/// The agent's words for a secret whose JSON has no such key.
pub fn missing_json_key(key: &str) -> String {
    format!("retrieved secret from Secrets Manager did not contain json key {key}")
}

/// The value of `key` in a secret's `SecretString` as the agent renders it, or the agent's
/// words for why not (Go's `encoding/json` errors for a value that is not a JSON object, the
/// missing-key message). A binary-only secret (`None`) reads as empty input.
pub fn json_key_value(secret_string: Option<&str>, key: &str) -> Result<Zeroizing<String>, String> {
    let text = secret_string.unwrap_or("");
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| go_syntax_error(text, &e))?;
    let body = raw.get().trim_start();
    let map: Option<BTreeMap<String, Box<RawValue>>> = match body.as_bytes().first() {
        Some(b'{') => Some(serde_json::from_str(body).map_err(|e| go_syntax_error(body, &e))?),
        // `null` leaves Go's map nil: no key is found.
        Some(b'n') => None,
        Some(b'[') => return Err(go_type_error("array")),
        Some(b'"') => return Err(go_type_error("string")),
        Some(b't' | b'f') => return Err(go_type_error("bool")),
        _ => return Err(go_type_error("number")),
    };
    let value = map
        .as_ref()
        .and_then(|m| m.get(key))
        .ok_or_else(|| missing_json_key(key))?;
    let mut out = Zeroizing::new(String::new());
    go_format(value, &mut out).map_err(|e| go_syntax_error(value.get(), &e))?;
    Ok(out)
}

fn go_type_error(kind: &str) -> String {
    format!("json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
}

/// Go's `encoding/json` syntax errors for the common cases: the end of the input, and the
/// character that breaks the grammar with what Go was looking for there (`looking for
/// beginning of value`, `after object key`, `after object key:value pair`, `after array
/// element`, `looking for beginning of object key string`, `after top-level value`). Go's words
/// for a broken literal, number or string escape are not reproduced (berth names the character
/// as for a value).
fn go_syntax_error(text: &str, e: &serde_json::Error) -> String {
    if e.is_eof() || text.trim().is_empty() {
        return "unexpected end of JSON input".to_string();
    }
    let first = text.trim_start().chars().next().unwrap_or(' ');
    if !matches!(first, '{' | '[' | '"' | '-' | '0'..='9' | 't' | 'f' | 'n') {
        return format!(
            "invalid character {} looking for beginning of value",
            go_quote_char(first)
        );
    }
    // The offending character: serde's position (1-based column on line `line`).
    let at = text
        .lines()
        .nth(e.line().saturating_sub(1))
        .and_then(|l| l.chars().nth(e.column().saturating_sub(1)))
        .unwrap_or(' ');
    let message = e.to_string();
    let context = if message.starts_with("trailing characters") {
        "after top-level value"
    } else if message.starts_with("expected `:`") {
        "after object key"
    } else if message.starts_with("expected `,` or `}`") {
        "after object key:value pair"
    } else if message.starts_with("expected `,` or `]`") {
        "after array element"
    } else if message.starts_with("key must be a string") {
        "looking for beginning of object key string"
    } else {
        "looking for beginning of value"
    };
    format!("invalid character {} {context}", go_quote_char(at))
}

/// Go's `quoteChar`: `'x'`, with `\'` and `"` as Go writes them.
fn go_quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        c if c.is_ascii_graphic() || c == ' ' => format!("'{c}'"),
        c => format!("{:?}", c.to_string()).replace('"', "'"),
    }
}

/// Go's `%v` of a decoded JSON value: strings as they are, numbers as float64 (`%g` with the
/// shortest digits, the exponent form from 1e+06 up and below 1e-04), `true`/`false`, `<nil>`,
/// `map[k:v …]` in key order, `[a b …]`.
fn go_format(raw: &RawValue, out: &mut String) -> Result<(), serde_json::Error> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'"') => {
            let s: Zeroizing<String> = Zeroizing::new(serde_json::from_str(text)?);
            out.push_str(&s);
        }
        Some(b'{') => {
            let m: BTreeMap<String, Box<RawValue>> = serde_json::from_str(text)?;
            out.push_str("map[");
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                go_format(v, out)?;
            }
            out.push(']');
        }
        Some(b'[') => {
            let a: Vec<Box<RawValue>> = serde_json::from_str(text)?;
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                go_format(v, out)?;
            }
            out.push(']');
        }
        Some(b't') => out.push_str("true"),
        Some(b'f') => out.push_str("false"),
        Some(b'n') => out.push_str("<nil>"),
        _ => {
            // A JSON number's text parsed as Go parses it (the nearest float64).
            let f: f64 = text.parse().unwrap_or(f64::NAN);
            out.push_str(&go_float(f));
        }
    }
    Ok(())
}

/// Go's `%v` of a float64: `strconv.FormatFloat(f, 'g', -1, 64)`.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    // Rust's `{:e}` gives the shortest digits that read back as `f`: `d[.ddd]eX`.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if f < 0.0 { "-" } else { "" };
    // Shortest %g: the exponent form when the exponent is below -4 or at least 6.
    let eprec = 6;
    if exp < -4 || exp >= eprec {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{first}{dot}{rest}e{esign}{:02}", exp.abs());
    }
    // Fixed notation with exactly the digits needed.
    let dp = exp + 1; // digits before the point
    let body = if dp <= 0 {
        format!("0.{}{}", "0".repeat((-dp) as usize), digits)
    } else if dp as usize >= digits.len() {
        format!("{}{}", digits, "0".repeat(dp as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(dp as usize);
        format!("{a}.{b}")
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db-AbCdEf";

    #[test]
    fn providers_and_regions() {
        let cases = [
            (ARN, "asm", "eu-west-1"),
            (
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db",
                "asm",
                "eu-west-1",
            ),
            (&*format!("{ARN}:password::"), "asm", "eu-west-1"),
            (
                "arn:aws:ssm:ap-south-1:111122223333:parameter/app/db",
                "ssm",
                "ap-south-1",
            ),
            ("/app/db", "ssm", "us-east-1"),
            ("db", "ssm", "us-east-1"),
            // A Secrets Manager secret's name is not an ARN: Parameter Store is asked.
            ("db-AbCdEf", "ssm", "us-east-1"),
            ("arn:aws:secretsmanager::1:secret:x", "asm", "us-east-1"),
        ];
        for (from, provider, region) in cases {
            assert_eq!(provider_of(from), provider, "{from}");
            assert_eq!(region_of(from, "us-east-1"), region, "{from}");
        }
    }

    #[test]
    fn the_agent_parses_value_from() {
        let ok = |v: &str| parse_asm(v).unwrap();
        assert_eq!(
            ok(ARN),
            AsmRequest {
                secret_id: ARN.into(),
                json_key: String::new(),
                version_stage: None,
                version_id: None
            }
        );
        let r = ok(&format!("{ARN}:password:AWSPREVIOUS:"));
        assert_eq!(
            (
                r.secret_id.as_str(),
                r.json_key.as_str(),
                r.version_stage.as_deref(),
                r.version_id
            ),
            (ARN, "password", Some("AWSPREVIOUS"), None)
        );
        let r = ok(&format!("{ARN}:::0f1e2d3c-aaaa-bbbb-cccc-000000000000"));
        assert_eq!(r.json_key, "");
        assert_eq!(r.version_stage, None);
        assert_eq!(
            r.version_id.as_deref(),
            Some("0f1e2d3c-aaaa-bbbb-cccc-000000000000")
        );
        assert_eq!(ok(&format!("{ARN}:::")).secret_id, ARN);
        // A partial ARN (no suffix) goes to GetSecretValue as it is.
        let partial = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:db";
        assert_eq!(ok(partial).secret_id, partial);
        assert_eq!(ok(&format!("{partial}:k::")).secret_id, partial);
        // The agent's refusals.
        for bad in [
            format!("{ARN}:password"),
            format!("{ARN}:password:"),
            format!("{ARN}:a:b:c:d"),
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret".to_string(),
        ] {
            assert_eq!(parse_asm(&bad).unwrap_err(), INVALID_ASM_ARN, "{bad}");
        }
        assert_eq!(parse_asm("db").unwrap_err(), "arn: invalid prefix");
        assert_eq!(
            parse_asm("arn:aws:secretsmanager").unwrap_err(),
            "arn: not enough sections"
        );
        assert!(uses_selectors(&format!("{ARN}::AWSCURRENT:")));
        assert!(!uses_selectors(&format!("{ARN}:::")));
        assert!(!uses_selectors(ARN));
        assert!(!uses_selectors("/a:b:c:d"));
    }

    #[test]
    fn go_floats() {
        let cases = [
            (100000000.0, "1e+08"),
            (1000000.0, "1e+06"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (42.0, "42"),
            (-42.5, "-42.5"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (0.1, "0.1"),
            (1.5e300, "1.5e+300"),
            (0.0, "0"),
            (-0.0, "-0"),
            (3.0e-7, "3e-07"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
        ];
        for (f, want) in cases {
            assert_eq!(go_float(f), want, "{f}");
        }
    }

    #[test]
    fn json_keys_render_as_the_agent_renders_them() {
        let doc = r#"{"s":"p@ss w:rd","n":100000000,"i":7,"f":2.5,"b":true,"z":null,
            "o":{"b":2,"a":"x","c":[1,"y",null]},"a":[true,{"k":"v"}],"dup":1,"dup":"last"}"#;
        let get = |k: &str| json_key_value(Some(doc), k).map(|v| v.to_string());
        assert_eq!(get("s").unwrap(), "p@ss w:rd");
        assert_eq!(get("n").unwrap(), "1e+08");
        assert_eq!(get("i").unwrap(), "7");
        assert_eq!(get("f").unwrap(), "2.5");
        assert_eq!(get("b").unwrap(), "true");
        assert_eq!(get("z").unwrap(), "<nil>");
        assert_eq!(get("o").unwrap(), "map[a:x b:2 c:[1 y <nil>]]");
        assert_eq!(get("a").unwrap(), "[true map[k:v]]");
        assert_eq!(get("dup").unwrap(), "last");
        assert_eq!(get("S").unwrap_err(), missing_json_key("S"));
        assert_eq!(
            json_key_value(Some("null"), "k").unwrap_err(),
            missing_json_key("k")
        );
        let type_error = |kind: &str| {
            format!("json: cannot unmarshal {kind} into Go value of type map[string]interface {{}}")
        };
        for (text, want) in [
            ("[1]", type_error("array")),
            ("\"x\"", type_error("string")),
            ("12", type_error("number")),
            ("true", type_error("bool")),
            ("", "unexpected end of JSON input".to_string()),
            ("{\"a\":", "unexpected end of JSON input".to_string()),
            (
                "'a'",
                "invalid character '\\'' looking for beginning of value".to_string(),
            ),
            (
                "plain text",
                "invalid character 'p' looking for beginning of value".to_string(),
            ),
            (
                "{\"a\" 1}",
                "invalid character '1' after object key".to_string(),
            ),
            (
                "{\"a\":1 \"b\":2}",
                "invalid character '\"' after object key:value pair".to_string(),
            ),
            (
                "{\"a\":[1 2]}",
                "invalid character '2' after array element".to_string(),
            ),
            (
                "{a:1}",
                "invalid character 'a' looking for beginning of object key string".to_string(),
            ),
            (
                "{\"a\":1} x",
                "invalid character 'x' after top-level value".to_string(),
            ),
            (
                "{\"a\":}",
                "invalid character '}' looking for beginning of value".to_string(),
            ),
        ] {
            assert_eq!(json_key_value(Some(text), "a").unwrap_err(), want, "{text}");
        }
        assert_eq!(
            json_key_value(None, "a").unwrap_err(),
            "unexpected end of JSON input"
        );
    }

    #[test]
    fn agent_secrets_and_platforms() {
        let c: ContainerDefinition = serde_json::from_value(json!({
            "name": "app", "image": "x",
            "secrets": [{"name": "DB", "valueFrom": ARN}, {"name": "P", "valueFrom": "/p"}],
            "logConfiguration": {"logDriver": "splunk", "secretOptions": [
                {"name": "splunk-token", "valueFrom": "arn:aws:ssm:eu-west-2:1:parameter/t"}]}
        }))
        .unwrap();
        let got = agent_secrets(&c, "us-east-1");
        let view: Vec<(&str, &str, &str, &str, &str)> = got
            .iter()
            .map(|s| {
                (
                    s.name.as_str(),
                    s.region.as_str(),
                    s.provider.as_str(),
                    s.kind.as_str(),
                    s.target.as_str(),
                )
            })
            .collect();
        assert_eq!(
            view,
            vec![
                (
                    "DB",
                    "eu-west-1",
                    "asm",
                    "ENVIRONMENT_VARIABLE",
                    "CONTAINER"
                ),
                ("P", "us-east-1", "ssm", "ENVIRONMENT_VARIABLE", "CONTAINER"),
                (
                    "splunk-token",
                    "eu-west-2",
                    "ssm",
                    "BOOTSTRAP",
                    "LOG_DRIVER"
                ),
            ]
        );
        assert_eq!(got[1].cache_key(), "/p_us-east-1");
        assert_eq!(
            serde_json::to_value(&got[0]).unwrap(),
            json!({"name": "DB", "valueFrom": ARN, "region": "eu-west-1", "provider": "asm",
                   "type": "ENVIRONMENT_VARIABLE", "target": "CONTAINER"})
        );
        assert_eq!(
            fargate_platform_needed(std::slice::from_ref(&c)),
            Some("1.3.0")
        );
        let mut keyed = c.clone();
        keyed.extra.insert(
            "secrets".into(),
            json!([{"name": "K", "valueFrom": format!("{ARN}:password::")}]),
        );
        assert_eq!(fargate_platform_needed(&[c, keyed]), Some("1.4.0"));
        let plain: ContainerDefinition =
            serde_json::from_value(json!({"name": "p", "image": "x"})).unwrap();
        assert_eq!(fargate_platform_needed(&[plain]), None);
    }
}
