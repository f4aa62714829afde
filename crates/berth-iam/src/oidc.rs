//! OpenID Connect identity providers: an account's trusted issuers (`oidc-provider/…`), their
//! audiences (client ids), certificate thumbprints and tags. berth keeps them for the IAM API
//! and for trust policies that name them; it never fetches anything from an issuer.

use berth_store::{StoreExt, get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};

use crate::entity::{self, Tag, merge_tags, remove_tags};
use crate::{Iam, IamError, MAX_TAGS};

pub(crate) const TABLE: &str = "iam_oidc_providers";

/// The most client ids one provider has (AWS's quota).
pub const MAX_CLIENT_IDS: usize = 100;
/// The most thumbprints one provider has.
pub const MAX_THUMBPRINTS: usize = 5;

/// An OIDC provider as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProvider {
    pub account: String,
    /// The issuer without its `https://` (what the ARN and GetOpenIDConnectProvider show).
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created_at: u64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl OidcProvider {
    pub fn arn(&self) -> String {
        format!("arn:aws:iam::{}:oidc-provider/{}", self.account, self.url)
    }
}

/// What a new provider is made of.
#[derive(Debug, Clone, Default)]
pub struct NewOidcProvider<'a> {
    /// As given, `https://…`.
    pub url: &'a str,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub tags: Vec<Tag>,
}

/// The issuer of `url` as the ARN names it: without `https://` and a trailing `/`.
fn issuer(url: &str) -> Result<String, IamError> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| IamError::InvalidOidc("The URL must begin with https://".into()))?;
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains(['?', '#', ' ']) {
        return Err(IamError::InvalidOidc(format!("Invalid URL: {url}")));
    }
    Ok(rest.to_string())
}

fn check_thumbprints(t: &[String]) -> Result<(), IamError> {
    if t.len() > MAX_THUMBPRINTS {
        return Err(IamError::InvalidOidc(format!(
            "Thumbprint list must contain fewer than {} entries",
            MAX_THUMBPRINTS + 1
        )));
    }
    if let Some(bad) = t.iter().find(|x| !x.bytes().all(|b| b.is_ascii_hexdigit())) {
        return Err(IamError::InvalidOidc(format!(
            "Thumbprint must be a 40-character hex string: {bad}"
        )));
    }
    Ok(())
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// The issuer an `oidc-provider` ARN of `account` names; `NoSuchEntity` for any other ARN.
fn key_of(account: &str, arn: &str) -> Result<String, IamError> {
    let prefix = format!("arn:aws:iam::{account}:oidc-provider/");
    match arn.strip_prefix(&prefix) {
        Some(url) if !url.is_empty() => Ok(format!("{account}/{url}")),
        _ => Err(IamError::NoSuchOidcProvider(arn.to_string())),
    }
}

impl Iam<'_> {
    pub fn create_oidc_provider(
        &self,
        account: &str,
        new: NewOidcProvider<'_>,
        now: u64,
    ) -> Result<OidcProvider, IamError> {
        let url = issuer(new.url)?;
        let client_ids = dedup(new.client_ids);
        if client_ids.len() > MAX_CLIENT_IDS {
            return Err(IamError::OidcQuota(
                "ClientIdsPerOpenIdConnectProvider",
                MAX_CLIENT_IDS,
            ));
        }
        let thumbprints = dedup(new.thumbprints);
        check_thumbprints(&thumbprints)?;
        if new.tags.len() > MAX_TAGS {
            return Err(IamError::TagQuota);
        }
        entity::check_distinct_tags(&new.tags)?;
        self.store.write(|tx| {
            let key = format!("{account}/{url}");
            if get_json::<OidcProvider>(tx, TABLE, &key)?.is_some() {
                return Err(IamError::OidcProviderExists(new.url.to_string()));
            }
            let p = OidcProvider {
                account: account.to_string(),
                url,
                client_ids,
                thumbprints,
                created_at: now,
                tags: new.tags,
            };
            put_json(tx, TABLE, &key, &p)?;
            Ok(p)
        })
    }

    pub fn get_oidc_provider(&self, account: &str, arn: &str) -> Result<OidcProvider, IamError> {
        let key = key_of(account, arn)?;
        self.store
            .read(|tx| Ok::<_, IamError>(get_json::<OidcProvider>(tx, TABLE, &key)?))?
            .ok_or_else(|| IamError::NoSuchOidcProvider(arn.to_string()))
    }

    /// The account's providers, by issuer.
    pub fn list_oidc_providers(&self, account: &str) -> Result<Vec<OidcProvider>, IamError> {
        self.store.read(|tx| {
            Ok(
                scan_json::<OidcProvider>(tx, TABLE, &entity::account_prefix(account))?
                    .into_iter()
                    .map(|(_, p)| p)
                    .collect(),
            )
        })
    }

    pub fn delete_oidc_provider(&self, account: &str, arn: &str) -> Result<(), IamError> {
        let key = key_of(account, arn)?;
        self.store.write(|tx| {
            if get_json::<OidcProvider>(tx, TABLE, &key)?.is_none() {
                return Err(IamError::NoSuchOidcProvider(arn.to_string()));
            }
            tx.delete(TABLE, &key)?;
            Ok(())
        })
    }

    /// Changes a provider in one write.
    pub fn update_oidc_provider(
        &self,
        account: &str,
        arn: &str,
        change: impl FnOnce(&mut OidcProvider) -> Result<(), IamError>,
    ) -> Result<(), IamError> {
        let key = key_of(account, arn)?;
        self.store.write(|tx| {
            let mut p = get_json::<OidcProvider>(tx, TABLE, &key)?
                .ok_or_else(|| IamError::NoSuchOidcProvider(arn.to_string()))?;
            change(&mut p)?;
            put_json(tx, TABLE, &key, &p)?;
            Ok(())
        })
    }

    pub fn add_oidc_client_id(&self, account: &str, arn: &str, id: &str) -> Result<(), IamError> {
        self.update_oidc_provider(account, arn, |p| {
            if !p.client_ids.iter().any(|c| c == id) {
                if p.client_ids.len() >= MAX_CLIENT_IDS {
                    return Err(IamError::OidcQuota(
                        "ClientIdsPerOpenIdConnectProvider",
                        MAX_CLIENT_IDS,
                    ));
                }
                p.client_ids.push(id.to_string());
            }
            Ok(())
        })
    }

    /// Removing a client id the provider does not have changes nothing, as in AWS.
    pub fn remove_oidc_client_id(
        &self,
        account: &str,
        arn: &str,
        id: &str,
    ) -> Result<(), IamError> {
        self.update_oidc_provider(account, arn, |p| {
            p.client_ids.retain(|c| c != id);
            Ok(())
        })
    }

    pub fn set_oidc_thumbprints(
        &self,
        account: &str,
        arn: &str,
        thumbprints: Vec<String>,
    ) -> Result<(), IamError> {
        let thumbprints = dedup(thumbprints);
        check_thumbprints(&thumbprints)?;
        self.update_oidc_provider(account, arn, |p| {
            p.thumbprints = thumbprints;
            Ok(())
        })
    }

    pub fn tag_oidc_provider(
        &self,
        account: &str,
        arn: &str,
        tags: Vec<Tag>,
    ) -> Result<(), IamError> {
        self.update_oidc_provider(account, arn, |p| {
            merge_tags(&mut p.tags, tags)?;
            if p.tags.len() > MAX_TAGS {
                return Err(IamError::TagQuota);
            }
            Ok(())
        })
    }

    pub fn untag_oidc_provider(
        &self,
        account: &str,
        arn: &str,
        keys: &[String],
    ) -> Result<(), IamError> {
        self.update_oidc_provider(account, arn, |p| {
            remove_tags(&mut p.tags, keys);
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use berth_core::RootKey;
    use berth_store::SqliteStore;

    const A: &str = "111122223333";
    const T: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn providers_are_kept_by_issuer() {
        let store = SqliteStore::in_memory().unwrap();
        let rk = RootKey::generate();
        let iam = Iam::new(&store, &rk);
        let p = iam
            .create_oidc_provider(
                A,
                NewOidcProvider {
                    url: "https://token.example.com/",
                    client_ids: vec!["sts.amazonaws.com".into(), "sts.amazonaws.com".into()],
                    thumbprints: vec![T.into()],
                    tags: Vec::new(),
                },
                5,
            )
            .unwrap();
        assert_eq!(
            p.arn(),
            format!("arn:aws:iam::{A}:oidc-provider/token.example.com")
        );
        assert_eq!(p.client_ids, ["sts.amazonaws.com"]);
        assert!(matches!(
            iam.create_oidc_provider(
                A,
                NewOidcProvider {
                    url: "https://token.example.com",
                    ..Default::default()
                },
                6
            ),
            Err(IamError::OidcProviderExists(_))
        ));
        assert!(matches!(
            iam.create_oidc_provider(
                A,
                NewOidcProvider {
                    url: "http://x",
                    ..Default::default()
                },
                6
            ),
            Err(IamError::InvalidOidc(_))
        ));
        iam.add_oidc_client_id(A, &p.arn(), "app").unwrap();
        iam.remove_oidc_client_id(A, &p.arn(), "sts.amazonaws.com")
            .unwrap();
        assert_eq!(
            iam.get_oidc_provider(A, &p.arn()).unwrap().client_ids,
            ["app"]
        );
        assert!(matches!(
            iam.set_oidc_thumbprints(A, &p.arn(), vec!["zz".repeat(20)]),
            Err(IamError::InvalidOidc(_))
        ));
        assert_eq!(iam.list_oidc_providers(A).unwrap().len(), 1);
        iam.delete_oidc_provider(A, &p.arn()).unwrap();
        assert!(matches!(
            iam.get_oidc_provider(A, &p.arn()),
            Err(IamError::NoSuchOidcProvider(_))
        ));
        assert!(iam.list_oidc_providers(A).unwrap().is_empty());
    }
}
