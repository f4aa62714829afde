//! DescribeParameters' and GetParametersByPath's ParameterFilters (and DescribeParameters'
//! older `Filters`), checked and matched as Parameter Store does. The error texts follow what
//! Parameter Store is known to answer; where berth does not know AWS's exact words it says so.

use crate::{Parameter, SsmError, names};

/// What a filter looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterKey {
    Name,
    Type,
    KeyId,
    Path,
    Tier,
    DataType,
    Label,
    Tag(String),
}

impl FilterKey {
    fn parse(key: &str) -> Option<FilterKey> {
        Some(match key {
            "Name" => FilterKey::Name,
            "Type" => FilterKey::Type,
            "KeyId" => FilterKey::KeyId,
            "Path" => FilterKey::Path,
            "Tier" => FilterKey::Tier,
            "DataType" => FilterKey::DataType,
            "Label" => FilterKey::Label,
            k => FilterKey::Tag(
                k.strip_prefix("tag:")
                    .filter(|t| !t.is_empty())?
                    .to_string(),
            ),
        })
    }
}

/// How a filter compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Option_ {
    Equals,
    BeginsWith,
    Contains,
    Recursive,
    OneLevel,
}

/// One checked filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub key: FilterKey,
    pub option: Option_,
    pub values: Vec<String>,
}

/// Which operation the filters are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Describe,
    ByPath,
}

fn constraint(index: usize, member: &str, value: &str, rule: &str) -> String {
    format!(
        "Value '{value}' at 'parameterFilters.{index}.member.{member}' failed to satisfy constraint: {rule}"
    )
}

/// Checks ParameterFilters for `usage`, in the order Parameter Store checks: the model's
/// constraints (all of them reported in one ValidationException), then keys, values, options.
pub fn parse_filters(
    raw: &[(String, Option<String>, Vec<String>)],
    usage: Use,
) -> Result<Vec<Filter>, SsmError> {
    let mut errors = Vec::new();
    for (i, (key, option, values)) in raw.iter().enumerate() {
        let n = i + 1;
        let key_ok =
            FilterKey::parse(key).is_some() && !key.is_empty() && key.chars().count() <= 132;
        if !key_ok {
            errors.push(constraint(
                n,
                "key",
                key,
                "Member must satisfy regular expression pattern: tag:.+|Name|Type|KeyId|Path|Label|Tier|DataType",
            ));
        }
        if let Some(o) = option
            && (o.is_empty() || o.chars().count() > 10)
        {
            errors.push(constraint(
                n,
                "option",
                o,
                "Member must have length less than or equal to 10",
            ));
        }
        if values.len() > 50 {
            errors.push(format!(
                "Value at 'parameterFilters.{n}.member.values' failed to satisfy constraint: Member must have length less than or equal to 50"
            ));
        }
        if values
            .iter()
            .any(|v| v.is_empty() || v.chars().count() > 1024)
        {
            errors.push(format!(
                "Value at 'parameterFilters.{n}.member.values' failed to satisfy constraint: [Member must have length less than or equal to 1024, Member must have length greater than or equal to 1]"
            ));
        }
    }
    match errors.len() {
        0 => {}
        1 => {
            return Err(SsmError::Validation(format!(
                "1 validation error detected: {}",
                errors.join("; ")
            )));
        }
        k => {
            return Err(SsmError::Validation(format!(
                "{k} validation errors detected: {}",
                errors.join("; ")
            )));
        }
    }
    let mut out: Vec<Filter> = Vec::new();
    for (key, option, values) in raw {
        let Some(k) = FilterKey::parse(key) else {
            continue;
        };
        let allowed_here = match usage {
            Use::Describe => k != FilterKey::Label,
            Use::ByPath => matches!(k, FilterKey::Type | FilterKey::KeyId | FilterKey::Label),
        };
        if !allowed_here {
            let valid = match usage {
                Use::Describe => "[Path, Name, Type, KeyId, Tier]",
                Use::ByPath => "[Type, KeyId, Label]",
            };
            return Err(SsmError::InvalidFilterKey(format!(
                "The following filter key is not valid: {key}. Valid filter keys include: {valid}."
            )));
        }
        if out.iter().any(|f| f.key == k) {
            return Err(SsmError::InvalidFilterKey(format!(
                "The following filter is duplicated in the request: {key}. A request can contain only one occurrence of a specific filter."
            )));
        }
        if values.is_empty() && !matches!(k, FilterKey::Tag(_)) {
            return Err(SsmError::InvalidFilterValue(format!(
                "The following filter values are missing : null for filter key {key}."
            )));
        }
        let option = match (&k, option.as_deref()) {
            (FilterKey::Path, None | Some("OneLevel")) => Option_::OneLevel,
            (FilterKey::Path, Some("Recursive")) => Option_::Recursive,
            (FilterKey::Path, Some(o)) => {
                return Err(SsmError::InvalidFilterOption(format!(
                    "The following filter option is not valid: {o}. Valid options include: [Recursive, OneLevel]."
                )));
            }
            (FilterKey::Label, None | Some("Equals")) => Option_::Equals,
            (_, None | Some("Equals")) => Option_::Equals,
            (FilterKey::Label, Some(o)) => {
                return Err(SsmError::InvalidFilterOption(format!(
                    "The following filter option is not valid: {o}. Valid options include: [Equals]."
                )));
            }
            (_, Some("BeginsWith")) => Option_::BeginsWith,
            (FilterKey::Name, Some("Contains")) if usage == Use::Describe => Option_::Contains,
            (_, Some(o)) => {
                return Err(SsmError::InvalidFilterOption(format!(
                    "The following filter option is not valid: {o}. Valid options include: [BeginsWith, Equals]."
                )));
            }
        };
        match &k {
            FilterKey::Path => {
                for v in values {
                    let lower = v.to_ascii_lowercase();
                    if lower.starts_with("/aws") || lower.starts_with("/ssm") {
                        return Err(SsmError::Validation(
                            "Filters for common parameters can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). When using global parameters, please specify within a global namespace.".into(),
                        ));
                    }
                    names::validate_path(v)?;
                }
            }
            FilterKey::Tier => {
                if let Some(v) = values.iter().find(|v| {
                    !["Standard", "Advanced", "Intelligent-Tiering"].contains(&v.as_str())
                }) {
                    return Err(SsmError::InvalidFilterOption(format!(
                        "The following filter value is not valid: {v}. Valid values include: [Standard, Advanced, Intelligent-Tiering]."
                    )));
                }
            }
            FilterKey::Type => {
                if let Some(v) = values.iter().find(|v| crate::ParamType::parse(v).is_none()) {
                    return Err(SsmError::InvalidFilterOption(format!(
                        "The following filter value is not valid: {v}. Valid values include: [String, StringList, SecureString]."
                    )));
                }
            }
            _ => {}
        }
        out.push(Filter {
            key: k,
            option,
            values: values.clone(),
        });
    }
    Ok(out)
}

/// DescribeParameters' older `Filters`: Name (names beginning with a value), Type, KeyId.
pub fn parse_legacy(raw: &[(String, Vec<String>)]) -> Result<Vec<Filter>, SsmError> {
    raw.iter()
        .map(|(key, values)| {
            let (key, option) = match key.as_str() {
                "Name" => (FilterKey::Name, Option_::BeginsWith),
                "Type" => (FilterKey::Type, Option_::Equals),
                "KeyId" => (FilterKey::KeyId, Option_::Equals),
                other => {
                    return Err(SsmError::Validation(format!(
                        "1 validation error detected: Value '{other}' at 'filters.1.member.key' failed to satisfy constraint: Member must satisfy enum value set: [Name, Type, KeyId]"
                    )));
                }
            };
            if values.is_empty() {
                return Err(SsmError::InvalidFilterValue(
                    "The following filter values are missing : null for filter key Name.".into(),
                ));
            }
            Ok(Filter {
                key,
                option,
                values: values.clone(),
            })
        })
        .collect()
}

fn compare(option: Option_, have: &str, want: &str) -> bool {
    match option {
        Option_::BeginsWith => have.starts_with(want),
        Option_::Contains => have.contains(want),
        _ => have == want,
    }
}

/// Whether `path` (a Path filter's value) holds `name` at one level or any depth.
pub fn in_path(name: &str, path: &str, recursive: bool) -> bool {
    let base = path.trim_end_matches('/');
    let Some(rest) = name.strip_prefix(base).and_then(|r| r.strip_prefix('/')) else {
        return false;
    };
    !rest.is_empty() && (recursive || !rest.contains('/'))
}

impl Filter {
    /// Whether `p` passes this filter (a Label filter passes when any version carries one of
    /// its labels; the caller picks that version).
    pub fn matches(&self, p: &Parameter) -> bool {
        let any = |have: &str| self.values.iter().any(|v| compare(self.option, have, v));
        match &self.key {
            FilterKey::Name => {
                let name = p.name.as_str();
                // A Name filter's value may be given with or without the leading slash.
                self.values.iter().any(|v| {
                    compare(self.option, name, v)
                        || (!v.starts_with('/')
                            && compare(self.option, name.trim_start_matches('/'), v))
                })
            }
            FilterKey::Type => any(p.latest.kind.as_str()),
            FilterKey::KeyId => p.latest.key_id.as_deref().is_some_and(any),
            FilterKey::Tier => any(&p.latest.tier),
            FilterKey::DataType => any(&p.latest.data_type),
            FilterKey::Path => self
                .values
                .iter()
                .any(|v| in_path(&p.name, v, self.option == Option_::Recursive)),
            FilterKey::Label => p.labels.keys().any(|l| self.values.contains(l)),
            FilterKey::Tag(key) => p
                .tags
                .iter()
                .any(|t| &t.key == key && (self.values.is_empty() || any(&t.value))),
        }
    }
}
