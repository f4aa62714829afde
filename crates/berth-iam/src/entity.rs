//! What users, roles and managed policies share: names, paths, tags, store keys, pages.

use serde::{Deserialize, Serialize};

use crate::IamError;

/// Store table of IAM users, keyed by `{account}/{lowercased name}`.
pub(crate) const USERS: &str = "iam_users";
/// Store table of IAM roles, keyed by `{account}/{lowercased name}`.
pub(crate) const ROLES: &str = "iam_roles";
/// Store table of customer managed policies, keyed by `{account}/{lowercased name}`.
pub(crate) const POLICIES: &str = "iam_policies";
/// Store table of IAM groups, keyed by `{account}/{lowercased name}`.
pub(crate) const GROUPS: &str = "iam_groups";
/// Store table of instance profiles, keyed by `{account}/{lowercased name}`.
pub(crate) const INSTANCE_PROFILES: &str = "iam_instance_profiles";

/// A unique id as IAM gives users, roles, groups, policies and instance profiles: `prefix`
/// (`AIDA`, `AROA`, `AGPA`, `ANPA`, `AIPA`) and 17 characters, 21 in all.
pub(crate) fn unique_id(prefix: &str) -> String {
    let mut id = berth_core::ids::aws_id(prefix);
    id.extend(berth_core::ids::aws_id("").chars().take(1));
    id
}

/// The store key of a named entity. IAM names are unique per account case-insensitively, so
/// the key holds the name lowercased (names are ASCII once [`check_name`] passed).
pub(crate) fn key(account: &str, name: &str) -> String {
    format!("{account}/{}", name.to_ascii_lowercase())
}

/// The scan prefix of every entity of an account.
pub(crate) fn account_prefix(account: &str) -> String {
    format!("{account}/")
}

/// A name field and its longest allowed length, as the IAM model declares them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    UserName,
    RoleName,
    PolicyName,
    GroupName,
    InstanceProfileName,
}

impl NameField {
    /// The field as AWS names it in validation messages.
    pub fn wire_name(self) -> &'static str {
        match self {
            NameField::UserName => "userName",
            NameField::RoleName => "roleName",
            NameField::PolicyName => "policyName",
            NameField::GroupName => "groupName",
            NameField::InstanceProfileName => "instanceProfileName",
        }
    }

    pub fn max_len(self) -> usize {
        match self {
            NameField::UserName | NameField::RoleName => 64,
            NameField::PolicyName | NameField::GroupName | NameField::InstanceProfileName => 128,
        }
    }
}

/// `[\w+=,.@-]+` with `\w` = `[A-Za-z0-9_]`, at most 128 characters: a name to look up
/// (some lookups take longer names than creation allows; they simply find nothing).
pub(crate) fn check_name(field: NameField, name: &str) -> Result<(), IamError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(IamError::InvalidName(field))
    }
}

/// A name for a new entity: [`check_name`], at most the field's length.
pub(crate) fn check_new_name(field: NameField, name: &str) -> Result<(), IamError> {
    check_name(field, name)?;
    if name.len() > field.max_len() {
        return Err(IamError::InvalidName(field));
    }
    Ok(())
}

/// A user or role path: `/` or `/…/` of printable ASCII (`!`–`~`), at most 512 characters.
pub(crate) fn check_entity_path(path: &str) -> Result<(), IamError> {
    let ok = path.len() <= 512
        && (path == "/"
            || (path.len() >= 3
                && path.starts_with('/')
                && path.ends_with('/')
                && path.bytes().all(|b| (0x21..=0x7e).contains(&b))));
    if ok {
        Ok(())
    } else {
        Err(IamError::InvalidPath)
    }
}

/// A managed policy path: `((/[A-Za-z0-9.,+@=_-]+)*)/`, at most 512 characters.
pub(crate) fn check_policy_path(path: &str) -> Result<(), IamError> {
    if path == "/" {
        return Ok(());
    }
    let Some(inner) = path
        .strip_prefix('/')
        .and_then(|p| p.strip_suffix('/'))
        .filter(|_| path.len() <= 512)
    else {
        return Err(IamError::InvalidPath);
    };
    let ok = inner.split('/').all(|seg| {
        !seg.is_empty()
            && seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".,+@=_-".contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(IamError::InvalidPath)
    }
}

/// A tag on a user, role or policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// The most tags an IAM entity carries.
pub const MAX_TAGS: usize = 50;

/// Refuses a tag list naming one key twice (keys compare case-insensitively).
pub(crate) fn check_distinct_tags(tags: &[Tag]) -> Result<(), IamError> {
    for (i, t) in tags.iter().enumerate() {
        if tags[..i]
            .iter()
            .any(|u| u.key.to_lowercase() == t.key.to_lowercase())
        {
            return Err(IamError::DuplicateTagKeys);
        }
    }
    Ok(())
}

/// Adds `new` tags to `existing`: a key already there (case-insensitively) takes the new
/// key's spelling and value; others are appended. Fails past [`MAX_TAGS`].
pub(crate) fn merge_tags(existing: &mut Vec<Tag>, new: Vec<Tag>) -> Result<(), IamError> {
    check_distinct_tags(&new)?;
    for t in new {
        match existing
            .iter_mut()
            .find(|e| e.key.to_lowercase() == t.key.to_lowercase())
        {
            Some(e) => *e = t,
            None => existing.push(t),
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(IamError::TagQuota);
    }
    Ok(())
}

/// Removes the tags with the given keys (compared case-insensitively); keys not there are
/// ignored.
pub(crate) fn remove_tags(existing: &mut Vec<Tag>, keys: &[String]) {
    existing.retain(|t| {
        !keys
            .iter()
            .any(|k| k.to_lowercase() == t.key.to_lowercase())
    });
}

/// A policy document's size as IAM counts it against its quotas: characters, white space not
/// counted.
pub(crate) fn policy_size(doc: &str) -> usize {
    doc.chars().filter(|c| !c.is_whitespace()).count()
}

/// How much of a list to return: from `marker` (a value a previous page returned), at most
/// `max_items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOptions<'a> {
    pub marker: Option<&'a str>,
    pub max_items: usize,
}

impl Default for ListOptions<'_> {
    fn default() -> Self {
        ListOptions {
            marker: None,
            max_items: 100,
        }
    }
}

/// One page of a list. `marker` is set when more items follow: pass it back to get them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub marker: Option<String>,
}

impl<T> Page<T> {
    pub fn is_truncated(&self) -> bool {
        self.marker.is_some()
    }
}

/// Pages `items`, each with its sort key (unique, ASCII), by key order. The marker is the key
/// of the first item not returned.
pub(crate) fn paginate<T>(mut items: Vec<(String, T)>, opts: ListOptions<'_>) -> Page<T> {
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let mut rest = items
        .into_iter()
        .skip_while(|(k, _)| opts.marker.is_some_and(|m| k.as_str() < m));
    let max = opts.max_items.max(1);
    let taken: Vec<T> = rest.by_ref().take(max).map(|(_, t)| t).collect();
    let marker = rest.next().map(|(k, _)| k);
    Page {
        items: taken,
        marker,
    }
}

/// Checks what an update gives an entity: a new name (named by `field`) and a new path.
pub(crate) fn check_update(
    field: NameField,
    new_name: Option<&str>,
    new_path: Option<&str>,
) -> Result<(), IamError> {
    if let Some(n) = new_name {
        check_new_name(field, n)?;
    }
    if let Some(p) = new_path {
        check_entity_path(p)?;
    }
    Ok(())
}

/// The ARN of an IAM entity: `arn:aws:iam::<account>:<kind><path><name>` (the path begins and
/// ends with `/`).
pub(crate) fn iam_arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

/// The records of `table` in `account` whose path starts with `path_prefix`, by name
/// (case-insensitively), one page; `path_and_name` reads a record's path and name.
pub(crate) fn list_under<T: serde::de::DeserializeOwned>(
    tx: &dyn berth_store::Tx,
    table: &str,
    account: &str,
    path_prefix: Option<&str>,
    opts: ListOptions<'_>,
    path_and_name: fn(&T) -> (&str, &str),
) -> Result<Page<T>, IamError> {
    let items = berth_store::scan_json::<T>(tx, table, &account_prefix(account))?
        .into_iter()
        .filter(|(_, t)| under(path_and_name(t).0, path_prefix))
        .map(|(_, t)| (path_and_name(&t).1.to_ascii_lowercase(), t))
        .collect();
    Ok(paginate(items, opts))
}

/// Whether `path` falls under `prefix` (no prefix: everything).
pub(crate) fn under(path: &str, prefix: Option<&str>) -> bool {
    prefix.is_none_or(|p| path.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_model_pattern() {
        assert!(check_name(NameField::UserName, "bob+ops=1,x.y@z_-").is_ok());
        assert!(check_name(NameField::UserName, "").is_err());
        assert!(check_name(NameField::UserName, "bob smith").is_err());
        assert!(check_name(NameField::UserName, "bøb").is_err());
        assert!(check_new_name(NameField::UserName, &"a".repeat(64)).is_ok());
        assert!(check_new_name(NameField::UserName, &"a".repeat(65)).is_err());
        assert!(check_name(NameField::UserName, &"a".repeat(65)).is_ok());
        assert!(check_new_name(NameField::PolicyName, &"a".repeat(128)).is_ok());
        assert!(check_name(NameField::PolicyName, &"a".repeat(129)).is_err());
    }

    #[test]
    fn paths() {
        for ok in ["/", "/a/", "/a/b/", "/a!~/"] {
            assert!(check_entity_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "/a", "a/", "//x", "/a b/"] {
            assert!(check_entity_path(bad).is_err(), "{bad}");
        }
        for ok in ["/", "/service-role/", "/a/b.c/"] {
            assert!(check_policy_path(ok).is_ok(), "{ok}");
        }
        for bad in ["", "/a", "//", "/a//b/", "/a b/", "/a!/"] {
            assert!(check_policy_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_merge_case_insensitively() {
        let t = |k: &str, v: &str| Tag {
            key: k.into(),
            value: v.into(),
        };
        assert!(matches!(
            check_distinct_tags(&[t("a", "1"), t("A", "2")]),
            Err(IamError::DuplicateTagKeys)
        ));
        let mut tags = vec![t("somekey", "v"), t("other", "o")];
        merge_tags(&mut tags, vec![t("Somekey", "new"), t("third", "3")]).unwrap_or_default();
        assert_eq!(
            tags,
            vec![t("Somekey", "new"), t("other", "o"), t("third", "3")]
        );
        let many: Vec<Tag> = (0..50).map(|i| t(&format!("k{i}"), "")).collect();
        assert!(matches!(
            merge_tags(&mut tags, many),
            Err(IamError::TagQuota)
        ));
    }

    #[test]
    fn pages_by_key() {
        let items: Vec<(String, u32)> = (0..5).map(|i| (format!("k{i}"), i)).collect();
        let p = paginate(
            items.clone(),
            ListOptions {
                marker: None,
                max_items: 2,
            },
        );
        assert_eq!(p.items, vec![0, 1]);
        assert_eq!(p.marker.as_deref(), Some("k2"));
        let p = paginate(
            items,
            ListOptions {
                marker: Some("k2"),
                max_items: 100,
            },
        );
        assert_eq!(p.items, vec![2, 3, 4]);
        assert!(!p.is_truncated());
    }

    #[test]
    fn unique_ids_have_21_characters() {
        for prefix in ["AIDA", "AROA", "AGPA", "AIPA", "ANPA"] {
            let id = unique_id(prefix);
            assert_eq!(id.len(), 21, "{id}");
            assert!(id.starts_with(prefix));
        }
    }

    #[test]
    fn size_ignores_white_space() {
        assert_eq!(policy_size("{ \"a\" :\n\t1 }"), 7);
    }
}
