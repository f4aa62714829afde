//! berth-ssm: the SSM Parameter Store domain — parameters, their versions (the newest 100),
//! labels, tags, and the name-ordered index that GetParametersByPath and DescribeParameters
//! scan by prefix.
//!
//! Plain Rust over the [`Store`] trait: no HTTP, no authorisation, no cryptography. A
//! SecureString's value arrives here already sealed (by `berth-control`, under a KMS key, as
//! the caller) and is kept as the text it is given.
//!
//! Tables:
//! - [`PARAMS`]: `{account}/{region}/{name}` → [`Parameter`], the head: its newest version,
//!   labels and tags. Ordered by name, so a path (`/app/`) is a key prefix.
//! - [`VERSIONS`]: `{account}/{region}/{name}|{version:010}` → [`Version`]. `|` is no
//!   character of a name, so one parameter's versions are one prefix.

mod error;
pub mod filter;
pub mod names;

use std::collections::BTreeMap;

use berth_store::{Store, StoreExt, Tx, get_json, put_json};
use serde::{Deserialize, Serialize};

pub use error::SsmError;
pub use filter::{Filter, FilterKey};
pub use names::{valid_label, validate_name};

/// Table of parameter heads: `{account}/{region}/{name}`.
pub const PARAMS: &str = "ssm_params";
/// Table of parameter versions: `{account}/{region}/{name}|{version:010}`.
pub const VERSIONS: &str = "ssm_versions";

/// Parameter Store keeps the 100 newest versions of a parameter.
pub const MAX_VERSIONS: u64 = 100;
/// Most labels on one version.
pub const MAX_LABELS_PER_VERSION: usize = 10;
/// Most tags on one parameter.
pub const MAX_TAGS: usize = 50;
/// Largest value of a standard parameter, in characters.
pub const STANDARD_VALUE_MAX: usize = 4096;
/// Largest value of an advanced parameter, in characters.
pub const ADVANCED_VALUE_MAX: usize = 8192;

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamType {
    String,
    StringList,
    SecureString,
}

impl ParamType {
    pub fn parse(s: &str) -> Option<ParamType> {
        match s {
            "String" => Some(ParamType::String),
            "StringList" => Some(ParamType::StringList),
            "SecureString" => Some(ParamType::SecureString),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ParamType::String => "String",
            ParamType::StringList => "StringList",
            ParamType::SecureString => "SecureString",
        }
    }
}

/// A tag on a parameter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// One version of a parameter, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    pub version: u64,
    pub kind: ParamType,
    /// The value; for a SecureString, the sealed value (base64) `berth-control` made.
    pub value: String,
    /// For a SecureString: the KMS key as the caller named it (AWS shows it so).
    pub key_id: Option<String>,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    pub tier: String,
    pub data_type: String,
    pub modified: u64,
    pub modified_user: String,
}

/// A parameter: its newest version, the range of versions kept, labels and tags.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Parameter {
    pub name: String,
    pub account: String,
    pub region: String,
    pub latest: Version,
    /// The oldest version kept (versions `oldest..=latest.version` exist).
    pub oldest: u64,
    /// Each label and the version it is on.
    pub labels: BTreeMap<String, u64>,
    pub tags: Vec<Tag>,
}

impl Parameter {
    /// `arn:aws:ssm:<region>:<account>:parameter/<name without its leading slash>`.
    pub fn arn(&self) -> String {
        arn(&self.account, &self.region, &self.name)
    }

    /// The labels on `version`, in name order.
    pub fn labels_of(&self, version: u64) -> Vec<String> {
        self.labels
            .iter()
            .filter(|(_, v)| **v == version)
            .map(|(l, _)| l.clone())
            .collect()
    }
}

/// A parameter's ARN.
pub fn arn(account: &str, region: &str, name: &str) -> String {
    format!(
        "arn:aws:ssm:{region}:{account}:parameter/{}",
        name.strip_prefix('/').unwrap_or(name)
    )
}

fn scope(account: &str, region: &str) -> String {
    format!("{account}/{region}/")
}

fn head_key(account: &str, region: &str, name: &str) -> String {
    format!("{account}/{region}/{name}")
}

fn version_key(account: &str, region: &str, name: &str, version: u64) -> String {
    format!("{account}/{region}/{name}|{version:010}")
}

/// What PutParameter writes: the new version (its number is given here) and, for a new
/// parameter, its tags.
#[derive(Debug, Clone)]
pub struct NewVersion {
    pub account: String,
    pub region: String,
    pub name: String,
    pub version: Version,
    pub overwrite: bool,
    pub tags: Vec<Tag>,
}

/// The Parameter Store domain over a store.
pub struct Ssm<'a> {
    store: &'a dyn Store,
}

fn load(
    tx: &dyn Tx,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Option<Parameter>, SsmError> {
    Ok(get_json(tx, PARAMS, &head_key(account, region, name))?)
}

fn load_existing(
    tx: &dyn Tx,
    account: &str,
    region: &str,
    name: &str,
) -> Result<Parameter, SsmError> {
    load(tx, account, region, name)?.ok_or(SsmError::NotFound)
}

fn save(tx: &dyn Tx, p: &Parameter) -> Result<(), SsmError> {
    Ok(put_json(
        tx,
        PARAMS,
        &head_key(&p.account, &p.region, &p.name),
        p,
    )?)
}

impl<'a> Ssm<'a> {
    pub fn new(store: &'a dyn Store) -> Ssm<'a> {
        Ssm { store }
    }

    /// The parameter `name`, if there is one.
    pub fn get(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<Parameter>, SsmError> {
        self.store.read(|tx| load(tx, account, region, name))
    }

    /// Version `version` of `p`: the head's own copy for the newest, else the stored one.
    pub fn version(&self, p: &Parameter, version: u64) -> Result<Option<Version>, SsmError> {
        if version == p.latest.version {
            return Ok(Some(p.latest.clone()));
        }
        if version < p.oldest || version > p.latest.version {
            return Ok(None);
        }
        let key = version_key(&p.account, &p.region, &p.name, version);
        self.store
            .read(|tx| Ok::<_, SsmError>(get_json(tx, VERSIONS, &key)?))
    }

    /// PutParameter: version 1 of a new parameter, or (with `overwrite`) the next version of
    /// an existing one. Beyond 100 versions the oldest is deleted, unless it carries a label.
    pub fn put(&self, new: NewVersion) -> Result<Parameter, SsmError> {
        self.store.write(|tx| {
            let existing = load(tx, &new.account, &new.region, &new.name)?;
            let mut version = new.version.clone();
            let p = match existing {
                Some(_) if !new.overwrite => return Err(SsmError::AlreadyExists),
                Some(mut p) => {
                    if p.latest.kind != version.kind {
                        return Err(SsmError::TypeMismatch);
                    }
                    version.version = p.latest.version + 1;
                    if version.version - p.oldest + 1 > MAX_VERSIONS {
                        if p.labels.values().any(|v| *v == p.oldest) {
                            return Err(SsmError::MaxVersions {
                                name: p.name.clone(),
                                version: p.oldest,
                            });
                        }
                        tx.delete(
                            VERSIONS,
                            &version_key(&p.account, &p.region, &p.name, p.oldest),
                        )?;
                        p.oldest += 1;
                    }
                    p.latest = version.clone();
                    p
                }
                None => {
                    if new.tags.len() > MAX_TAGS {
                        return Err(SsmError::TooManyTags);
                    }
                    version.version = 1;
                    Parameter {
                        name: new.name.clone(),
                        account: new.account.clone(),
                        region: new.region.clone(),
                        latest: version.clone(),
                        oldest: 1,
                        labels: BTreeMap::new(),
                        tags: new.tags.clone(),
                    }
                }
            };
            put_json(
                tx,
                VERSIONS,
                &version_key(&p.account, &p.region, &p.name, version.version),
                &version,
            )?;
            save(tx, &p)?;
            Ok(p)
        })
    }

    /// DeleteParameter: the parameter and every version of it.
    pub fn delete(&self, account: &str, region: &str, name: &str) -> Result<(), SsmError> {
        self.store.write(|tx| {
            let p = load_existing(tx, account, region, name)?;
            for v in p.oldest..=p.latest.version {
                tx.delete(VERSIONS, &version_key(account, region, name, v))?;
            }
            tx.delete(PARAMS, &head_key(account, region, name))?;
            Ok(())
        })
    }

    /// At most `limit` parameters whose names start with `prefix`, in name order, after the
    /// name `after`. Reads only the rows returned.
    pub fn scan(
        &self,
        account: &str,
        region: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Parameter>, SsmError> {
        let base = scope(account, region);
        let key_prefix = format!("{base}{prefix}");
        let after_key = after.map(|a| format!("{base}{a}"));
        self.store.read(|tx| {
            tx.scan_range(PARAMS, &key_prefix, after_key.as_deref(), false, limit)?
                .into_iter()
                .map(|(k, v)| {
                    serde_json::from_slice(&v).map_err(|source| {
                        SsmError::Store(berth_store::StoreError::Decode {
                            table: PARAMS.into(),
                            key: k,
                            source,
                        })
                    })
                })
                .collect()
        })
    }

    /// At most `limit` versions of `p`, oldest first, after version `after`.
    pub fn history(
        &self,
        p: &Parameter,
        after: Option<u64>,
        limit: usize,
    ) -> Result<Vec<Version>, SsmError> {
        let prefix = format!("{}|", head_key(&p.account, &p.region, &p.name));
        let after_key = after.map(|a| version_key(&p.account, &p.region, &p.name, a));
        self.store.read(|tx| {
            tx.scan_range(VERSIONS, &prefix, after_key.as_deref(), false, limit)?
                .into_iter()
                .map(|(k, v)| {
                    serde_json::from_slice(&v).map_err(|source| {
                        SsmError::Store(berth_store::StoreError::Decode {
                            table: VERSIONS.into(),
                            key: k,
                            source,
                        })
                    })
                })
                .collect()
        })
    }

    /// LabelParameterVersion: attaches the valid ones of `labels` to `version` (the newest
    /// when `None`), moving each from the version it was on. Returns the invalid labels and
    /// the version labelled.
    pub fn label(
        &self,
        account: &str,
        region: &str,
        name: &str,
        version: Option<u64>,
        labels: &[String],
    ) -> Result<(Vec<String>, u64), SsmError> {
        self.store.write(|tx| {
            let mut p = load_existing(tx, account, region, name)?;
            let version = version.unwrap_or(p.latest.version);
            if version < p.oldest || version > p.latest.version {
                return Err(SsmError::VersionNotFound {
                    name: name.to_string(),
                    version: version.to_string(),
                });
            }
            let (valid, invalid): (Vec<&String>, Vec<&String>) =
                labels.iter().partition(|l| valid_label(l));
            for l in valid {
                p.labels.insert(l.clone(), version);
            }
            if p.labels.values().filter(|v| **v == version).count() > MAX_LABELS_PER_VERSION {
                return Err(SsmError::LabelLimit);
            }
            save(tx, &p)?;
            Ok((invalid.into_iter().cloned().collect(), version))
        })
    }

    /// UnlabelParameterVersion: removes those of `labels` that are on `version`. Returns the
    /// labels removed and the ones that were not on it.
    pub fn unlabel(
        &self,
        account: &str,
        region: &str,
        name: &str,
        version: u64,
        labels: &[String],
    ) -> Result<(Vec<String>, Vec<String>), SsmError> {
        self.store.write(|tx| {
            let mut p = load_existing(tx, account, region, name)?;
            if version < p.oldest || version > p.latest.version {
                return Err(SsmError::VersionNotFound {
                    name: name.to_string(),
                    version: version.to_string(),
                });
            }
            let mut removed = Vec::new();
            let mut invalid = Vec::new();
            for l in labels {
                if p.labels.get(l) == Some(&version) {
                    p.labels.remove(l);
                    removed.push(l.clone());
                } else {
                    invalid.push(l.clone());
                }
            }
            save(tx, &p)?;
            Ok((removed, invalid))
        })
    }

    /// AddTagsToResource: sets each tag (a key already there takes the new value).
    pub fn add_tags(
        &self,
        account: &str,
        region: &str,
        name: &str,
        tags: &[Tag],
    ) -> Result<(), SsmError> {
        self.store.write(|tx| {
            let mut p = load(tx, account, region, name)?.ok_or(SsmError::InvalidResourceId)?;
            for t in tags {
                match p.tags.iter_mut().find(|x| x.key == t.key) {
                    Some(x) => x.value = t.value.clone(),
                    None => p.tags.push(t.clone()),
                }
            }
            if p.tags.len() > MAX_TAGS {
                return Err(SsmError::TooManyTags);
            }
            save(tx, &p)
        })
    }

    /// RemoveTagsFromResource.
    pub fn remove_tags(
        &self,
        account: &str,
        region: &str,
        name: &str,
        keys: &[String],
    ) -> Result<(), SsmError> {
        self.store.write(|tx| {
            let mut p = load(tx, account, region, name)?.ok_or(SsmError::InvalidResourceId)?;
            p.tags.retain(|t| !keys.contains(&t.key));
            save(tx, &p)
        })
    }
}

#[cfg(test)]
mod tests;
