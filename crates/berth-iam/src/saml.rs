//! SAML 2.0 identity providers: an account's trusted IdPs (`saml-provider/NAME`), their
//! metadata documents (kept verbatim) and tags. berth reads the metadata's `validUntil`
//! attribute, if any; it does not verify signatures or certificates in it.

use berth_store::{StoreExt, get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};

use crate::entity::{self, Tag, merge_tags, remove_tags};
use crate::{Iam, IamError, MAX_TAGS};

pub(crate) const TABLE: &str = "iam_saml_providers";

/// A SAML provider as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlProvider {
    pub account: String,
    pub name: String,
    pub metadata: String,
    pub created_at: u64,
    /// The metadata's `validUntil`, as written there.
    pub valid_until: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl SamlProvider {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:saml-provider/{}", self.account, self.name)
    }
}

/// The metadata's `validUntil="…"`, if it has one; a document that is not SAML metadata (no
/// `EntityDescriptor`) is refused (AWS's text for it is not confirmed).
fn read_metadata(doc: &str) -> Result<Option<String>, IamError> {
    if !doc.contains("EntityDescriptor") {
        return Err(IamError::InvalidSaml("Could not parse metadata".into()));
    }
    Ok(doc.split_once("validUntil=").and_then(|(_, rest)| {
        let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
        let rest = &rest[1..];
        rest.split_once(quote).map(|(v, _)| v.to_string())
    }))
}

fn key_of(account: &str, arn: &str) -> Result<String, IamError> {
    let prefix = format!("arn:aws:iam::{account}:saml-provider/");
    match arn.strip_prefix(&prefix) {
        Some(name) if !name.is_empty() && !name.contains('/') => Ok(format!("{account}/{name}")),
        _ => Err(IamError::NoSuchSamlProvider(arn.to_string())),
    }
}

impl Iam<'_> {
    pub fn create_saml_provider(
        &self,
        account: &str,
        name: &str,
        metadata: &str,
        tags: Vec<Tag>,
        now: u64,
    ) -> Result<SamlProvider, IamError> {
        let valid_until = read_metadata(metadata)?;
        if tags.len() > MAX_TAGS {
            return Err(IamError::TagQuota);
        }
        entity::check_distinct_tags(&tags)?;
        self.store.write(|tx| {
            let key = format!("{account}/{name}");
            if get_json::<SamlProvider>(tx, TABLE, &key)?.is_some() {
                return Err(IamError::SamlProviderExists(name.to_string()));
            }
            let p = SamlProvider {
                account: account.to_string(),
                name: name.to_string(),
                metadata: metadata.to_string(),
                created_at: now,
                valid_until,
                tags,
            };
            put_json(tx, TABLE, &key, &p)?;
            Ok(p)
        })
    }

    pub fn get_saml_provider(&self, account: &str, arn: &str) -> Result<SamlProvider, IamError> {
        let key = key_of(account, arn)?;
        self.store
            .read(|tx| Ok::<_, IamError>(get_json::<SamlProvider>(tx, TABLE, &key)?))?
            .ok_or_else(|| IamError::NoSuchSamlProvider(arn.to_string()))
    }

    /// The account's providers, by name.
    pub fn list_saml_providers(&self, account: &str) -> Result<Vec<SamlProvider>, IamError> {
        self.store.read(|tx| {
            Ok(
                scan_json::<SamlProvider>(tx, TABLE, &entity::account_prefix(account))?
                    .into_iter()
                    .map(|(_, p)| p)
                    .collect(),
            )
        })
    }

    pub fn delete_saml_provider(&self, account: &str, arn: &str) -> Result<(), IamError> {
        let key = key_of(account, arn)?;
        self.store.write(|tx| {
            if get_json::<SamlProvider>(tx, TABLE, &key)?.is_none() {
                return Err(IamError::NoSuchSamlProvider(arn.to_string()));
            }
            tx.delete(TABLE, &key)?;
            Ok(())
        })
    }

    /// Changes a provider in one write.
    pub fn update_saml_provider(
        &self,
        account: &str,
        arn: &str,
        change: impl FnOnce(&mut SamlProvider) -> Result<(), IamError>,
    ) -> Result<SamlProvider, IamError> {
        let key = key_of(account, arn)?;
        self.store.write(|tx| {
            let mut p = get_json::<SamlProvider>(tx, TABLE, &key)?
                .ok_or_else(|| IamError::NoSuchSamlProvider(arn.to_string()))?;
            change(&mut p)?;
            put_json(tx, TABLE, &key, &p)?;
            Ok(p)
        })
    }

    pub fn set_saml_metadata(
        &self,
        account: &str,
        arn: &str,
        metadata: &str,
    ) -> Result<SamlProvider, IamError> {
        let valid_until = read_metadata(metadata)?;
        self.update_saml_provider(account, arn, |p| {
            p.metadata = metadata.to_string();
            p.valid_until = valid_until;
            Ok(())
        })
    }

    pub fn tag_saml_provider(
        &self,
        account: &str,
        arn: &str,
        tags: Vec<Tag>,
    ) -> Result<(), IamError> {
        self.update_saml_provider(account, arn, |p| {
            merge_tags(&mut p.tags, tags)?;
            if p.tags.len() > MAX_TAGS {
                return Err(IamError::TagQuota);
            }
            Ok(())
        })
        .map(|_| ())
    }

    pub fn untag_saml_provider(
        &self,
        account: &str,
        arn: &str,
        keys: &[String],
    ) -> Result<(), IamError> {
        self.update_saml_provider(account, arn, |p| {
            remove_tags(&mut p.tags, keys);
            Ok(())
        })
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn metadata_is_read_for_its_validity() {
        let doc = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" validUntil="2030-01-01T00:00:00Z" entityID="x"/>"#;
        assert_eq!(
            read_metadata(doc).unwrap().as_deref(),
            Some("2030-01-01T00:00:00Z")
        );
        assert_eq!(read_metadata("<md:EntityDescriptor/>").unwrap(), None);
        assert!(matches!(
            read_metadata("<html/>"),
            Err(IamError::InvalidSaml(_))
        ));
    }
}
