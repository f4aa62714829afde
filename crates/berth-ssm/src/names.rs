//! Parameter names and labels, checked as Parameter Store checks them.

use crate::SsmError;

/// The most levels of a parameter hierarchy.
pub const MAX_DEPTH: usize = 15;
/// The most characters of a name a caller may give, counted with the ARN that precedes it
/// (the model's 2048 includes 1037 Parameter Store reserves).
pub const MAX_NAME_WITH_ARN: usize = 1011;

/// AWS's words for a name with characters outside `a-zA-Z0-9_.-/` or a reserved prefix (the
/// text Parameter Store answers with for both, to berth's best knowledge).
pub const INVALID_NAME: &str = "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_";

/// A name with a `/` that does not start with one.
pub const NOT_FULLY_QUALIFIED: &str = "Parameter name must be a fully qualified name.";

fn model_length(name: &str) -> SsmError {
    SsmError::Validation(format!(
        "1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 2048"
    ))
}

/// Checks a name PutParameter creates (already trimmed of surrounding spaces): length,
/// characters, hierarchy, reserved prefixes. `arn_prefix_len` is the length of
/// `arn:aws:ssm:<region>:<account>:parameter/`, which counts toward the 1011 characters.
pub fn validate_name(name: &str, arn_prefix_len: usize) -> Result<(), SsmError> {
    if name.is_empty() {
        return Err(SsmError::Validation(
            "1 validation error detected: Value '' at 'name' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ));
    }
    if name.chars().count() > 2048 {
        return Err(model_length(""));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(SsmError::Validation(NOT_FULLY_QUALIFIED.into()));
    }
    let chars_ok = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'));
    let segments_ok = !name.starts_with('/')
        || name
            .strip_prefix('/')
            .is_some_and(|rest| rest.split('/').all(|s| !s.is_empty()));
    if !chars_ok || !segments_ok {
        return Err(SsmError::Validation(INVALID_NAME.into()));
    }
    let lower = name.to_ascii_lowercase();
    if lower.starts_with("/aws/") {
        return Err(SsmError::Reserved(name.to_string()));
    }
    let bare = lower.trim_start_matches('/');
    if bare.starts_with("aws") || bare.starts_with("ssm") {
        return Err(SsmError::Validation(INVALID_NAME.into()));
    }
    if name.matches('/').count() > MAX_DEPTH {
        return Err(SsmError::HierarchyLevel);
    }
    if arn_prefix_len + name.trim_start_matches('/').len() > MAX_NAME_WITH_ARN {
        // AWS's text for this limit is not known to berth; the model's constraint words.
        return Err(SsmError::Validation(format!(
            "1 validation error detected: Value at 'name' failed to satisfy constraint: Member must have length less than or equal to {}",
            MAX_NAME_WITH_ARN.saturating_sub(arn_prefix_len)
        )));
    }
    Ok(())
}

/// Checks a path GetParametersByPath or a Path filter names: it starts with `/`, has only a
/// name's characters, and is at most 15 levels deep.
pub fn validate_path(path: &str) -> Result<(), SsmError> {
    let chars_ok = path
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/'));
    if !path.starts_with('/') || !chars_ok || path.contains("//") {
        // AWS's text for a path that is not one, to berth's best knowledge.
        return Err(SsmError::Validation(
            "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.".into(),
        ));
    }
    if path.trim_end_matches('/').matches('/').count() > MAX_DEPTH {
        return Err(SsmError::HierarchyLevel);
    }
    Ok(())
}

/// Whether a label may be attached: 1–100 characters of letters, digits, `.`, `-`, `_`, not
/// beginning with a digit, `aws` or `ssm` (case-insensitive). Others are InvalidLabels.
pub fn valid_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.len() <= 100
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && !label.as_bytes().first().is_some_and(u8::is_ascii_digit)
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
}

/// What a caller's name for a parameter asks for: the name, and a version or label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Latest,
    Version(u64),
    Label(String),
}

impl Selector {
    /// The `Selector` member of an answer: `:3`, `:prod`.
    pub fn as_member(&self) -> Option<String> {
        match self {
            Selector::Latest => None,
            Selector::Version(v) => Some(format!(":{v}")),
            Selector::Label(l) => Some(format!(":{l}")),
        }
    }
}

/// A caller's reference to a parameter: the text before any selector (a name or an ARN, as
/// given), the parameter's name, and the selector. `None` when it names no parameter of this
/// account and region (an ARN of another, or a malformed one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The name or ARN as the caller wrote it, without the selector.
    pub given: String,
    /// The candidate names: an ARN's `parameter/a` may be `a` or `/a`; others have one.
    pub names: Vec<String>,
    pub selector: Selector,
}

/// Parses `name`, `name:version`, `name:label`, or a parameter ARN with the same suffixes.
pub fn parse_reference(text: &str, account: &str, region: &str) -> Option<Reference> {
    let (given, rest) = if let Some(arn_rest) = text.strip_prefix("arn:") {
        // arn:<partition>:ssm:<region>:<account>:parameter/<name>[:selector]
        let mut parts = arn_rest.splitn(5, ':');
        let partition = parts.next()?;
        let service = parts.next()?;
        let r = parts.next()?;
        let a = parts.next()?;
        let resource = parts.next()?;
        if partition != "aws" || service != "ssm" || r != region || a != account {
            return None;
        }
        let resource = resource.strip_prefix("parameter/")?;
        let (bare, selector) = match resource.split_once(':') {
            Some((b, s)) => (b, Some(s)),
            None => (resource, None),
        };
        let given_len = text.len() - selector.map_or(0, |s| s.len() + 1);
        let names = if bare.contains('/') {
            vec![format!("/{bare}")]
        } else {
            vec![bare.to_string(), format!("/{bare}")]
        };
        (text.get(..given_len)?.to_string(), (names, selector))
    } else {
        let (bare, selector) = match text.split_once(':') {
            Some((b, s)) => (b, Some(s)),
            None => (text, None),
        };
        (bare.to_string(), (vec![bare.to_string()], selector))
    };
    let (names, selector) = rest;
    let selector = match selector {
        None => Selector::Latest,
        Some(s) if s.is_empty() || s.contains(':') => return None,
        Some(s) if s.bytes().all(|b| b.is_ascii_digit()) => Selector::Version(s.parse().ok()?),
        Some(s) => Selector::Label(s.to_string()),
    };
    if names.iter().any(|n| n.is_empty()) {
        return None;
    }
    Some(Reference {
        given,
        names,
        selector,
    })
}

/// Checks an AllowedPattern (at most 1024 characters; a regular expression) and that `value`
/// matches it. Parameter Store's patterns are Java regular expressions; berth compiles them
/// with `regex-lite` (no look-around or backreferences), bounded in size.
pub fn check_pattern(pattern: &str, value: &str) -> Result<(), SsmError> {
    if pattern.chars().count() > 1024 {
        return Err(SsmError::Validation(
            "1 validation error detected: Value at 'allowedPattern' failed to satisfy constraint: Member must have length less than or equal to 1024".into(),
        ));
    }
    let re = regex_lite::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .nest_limit(64)
        .build()
        .map_err(|e| {
            // AWS's text for a pattern that does not compile is not known to berth.
            SsmError::InvalidAllowedPattern(format!("Invalid AllowedPattern: {e}"))
        })?;
    if re.is_match(value) {
        Ok(())
    } else {
        Err(SsmError::PatternMismatch(pattern.to_string()))
    }
}
