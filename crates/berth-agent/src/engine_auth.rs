//! Registry credentials from the agent's environment (`ECS_ENGINE_AUTH_TYPE` /
//! `ECS_ENGINE_AUTH_DATA`), with the ECS agent's formats and registry matching; used only for
//! containers without `repositoryCredentials`.
//!
//! - `docker`: `{"<registry>": {"username": "...", "password": "...", "email": "..."}}`.
//! - `dockercfg`: `{"<registry>": {"auth": "base64(user:pass)", "email": "..."}}`; an entry
//!   with bad base64 or no `:` is skipped with a warning.
//! - berth also accepts the modern `{"auths": {...}}` wrapper of Docker's config.json, for
//!   either type (the ECS agent does not).

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::asm::RegistryAuth;

/// Docker Hub's key in these maps.
const DOCKER_HUB_KEY: &str = "index.docker.io/v1/";

/// Registry credentials by registry key (`http://` / `https://` stripped).
#[derive(Clone, Default)]
pub struct EngineAuth {
    entries: BTreeMap<String, RegistryAuth>,
}

impl fmt::Debug for EngineAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineAuth")
            .field("registries", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

fn strip_scheme(key: &str) -> &str {
    key.strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key)
}

/// `user:pass` from base64, or `None`.
fn decode_auth(auth: &str) -> Option<RegistryAuth> {
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .ok()?,
    );
    let text = std::str::from_utf8(&bytes).ok()?;
    let (user, pass) = text.split_once(':')?;
    Some(RegistryAuth {
        username: Zeroizing::new(user.to_string()),
        password: Zeroizing::new(pass.to_string()),
    })
}

impl EngineAuth {
    /// Parses the environment's settings. Unknown types and unparsable data give an empty
    /// map (the agent still starts) and a warning, never the data itself.
    pub fn parse(kind: Option<&str>, data: Option<&str>) -> EngineAuth {
        let (Some(kind), Some(data)) = (kind, data) else {
            return EngineAuth::default();
        };
        let kind = kind.trim();
        let dockercfg = match kind {
            "docker" => false,
            "dockercfg" => true,
            "" => return EngineAuth::default(),
            other => {
                tracing::warn!(auth_type = %other, "ECS_ENGINE_AUTH_TYPE is neither docker nor dockercfg; ignored");
                return EngineAuth::default();
            }
        };
        let Ok(value) = serde_json::from_str::<Value>(data) else {
            tracing::warn!(auth_type = %kind, "ECS_ENGINE_AUTH_DATA is not JSON; ignored");
            return EngineAuth::default();
        };
        let map = match value.get("auths") {
            Some(Value::Object(inner)) => inner.clone(),
            _ => match value {
                Value::Object(m) => m,
                _ => {
                    tracing::warn!(auth_type = %kind, "ECS_ENGINE_AUTH_DATA is not an object; ignored");
                    return EngineAuth::default();
                }
            },
        };
        let mut entries = BTreeMap::new();
        for (key, entry) in map {
            let registry = strip_scheme(&key).to_string();
            let field = |n: &str| {
                entry
                    .get(n)
                    .and_then(Value::as_str)
                    .filter(|s| !s.is_empty())
            };
            let auth = if dockercfg {
                field("auth").and_then(decode_auth)
            } else {
                match (field("username"), field("password")) {
                    (Some(u), Some(p)) => Some(RegistryAuth {
                        username: Zeroizing::new(u.to_string()),
                        password: Zeroizing::new(p.to_string()),
                    }),
                    _ => field("auth").and_then(decode_auth),
                }
            };
            match auth {
                Some(a) => {
                    entries.insert(registry, a);
                }
                None => {
                    tracing::warn!(registry = %registry, "ECS_ENGINE_AUTH_DATA entry without usable credentials; skipped")
                }
            }
        }
        EngineAuth { entries }
    }

    /// From `ECS_ENGINE_AUTH_TYPE` / `ECS_ENGINE_AUTH_DATA`, read once at start.
    pub fn from_environment() -> EngineAuth {
        let kind = std::env::var("ECS_ENGINE_AUTH_TYPE").ok();
        let data = std::env::var("ECS_ENGINE_AUTH_DATA")
            .ok()
            .map(Zeroizing::new);
        EngineAuth::parse(kind.as_deref(), data.as_deref().map(String::as_str))
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The credentials for `image`: Docker Hub images use only `index.docker.io/v1/`; other
    /// registries an exact host key, else a key whose host is the registry and whose text is
    /// a prefix of the image.
    pub fn for_image(&self, image: &str) -> Option<&RegistryAuth> {
        let registry = match image.split_once('/') {
            Some((first, _))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                first
            }
            _ => return self.entries.get(DOCKER_HUB_KEY),
        };
        if let Some(a) = self.entries.get(registry) {
            return Some(a);
        }
        self.entries
            .iter()
            .filter(|(k, _)| k.split('/').next() == Some(registry) && image.starts_with(k.as_str()))
            .max_by_key(|(k, _)| k.len())
            .map(|(_, a)| a)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn user(a: Option<&RegistryAuth>) -> Option<(String, String)> {
        a.map(|a| (a.username.to_string(), a.password.to_string()))
    }

    fn pair(u: &str, p: &str) -> Option<(String, String)> {
        Some((u.to_string(), p.to_string()))
    }

    #[test]
    fn docker_format_and_matching() {
        let e = EngineAuth::parse(
            Some(" docker "),
            Some(
                r#"{"https://index.docker.io/v1/": {"username": "hub", "password": "h"},
                    "http://127.0.0.1:5000": {"username": "loc", "password": "l", "email": "x"},
                    "reg.example.com/team": {"username": "team", "password": "t"},
                    "nopass.example.com": {"username": "u"}}"#,
            ),
        );
        assert_eq!(user(e.for_image("busybox")), pair("hub", "h"));
        assert_eq!(user(e.for_image("library/busybox:1")), pair("hub", "h"));
        assert_eq!(user(e.for_image("127.0.0.1:5000/app:1")), pair("loc", "l"));
        assert_eq!(
            user(e.for_image("reg.example.com/team/app")),
            pair("team", "t")
        );
        assert_eq!(user(e.for_image("reg.example.com/other/app")), None);
        assert_eq!(user(e.for_image("nopass.example.com/app")), None);
        assert!(!format!("{e:?}").contains("\"l\""));
    }

    #[test]
    fn dockercfg_format_skips_bad_entries() {
        let good = base64::engine::general_purpose::STANDARD.encode("u:abc>>>def");
        let no_colon = base64::engine::general_purpose::STANDARD.encode("nocolon");
        let data = format!(
            r#"{{"127.0.0.1:5000": {{"auth": "{good}", "email": "e"}},
                 "a.example": {{"auth": "***"}}, "b.example": {{"auth": "{no_colon}"}}}}"#
        );
        let e = EngineAuth::parse(Some("dockercfg"), Some(&data));
        assert_eq!(
            user(e.for_image("127.0.0.1:5000/app")),
            pair("u", "abc>>>def")
        );
        assert_eq!(user(e.for_image("a.example/x")), None);
        assert_eq!(user(e.for_image("b.example/x")), None);
    }

    #[test]
    fn the_auths_wrapper_is_accepted() {
        let auth = base64::engine::general_purpose::STANDARD.encode("w:p");
        let data = format!(r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}}}}}"#);
        for kind in ["docker", "dockercfg"] {
            let e = EngineAuth::parse(Some(kind), Some(&data));
            assert_eq!(
                user(e.for_image("127.0.0.1:5000/app")),
                pair("w", "p"),
                "{kind}"
            );
        }
    }

    #[test]
    fn bad_settings_give_nothing() {
        assert!(EngineAuth::parse(Some("basic"), Some("{}")).is_empty());
        assert!(EngineAuth::parse(Some("docker"), Some("not json")).is_empty());
        assert!(EngineAuth::parse(Some("docker"), Some("[1]")).is_empty());
        assert!(EngineAuth::parse(None, Some("{}")).is_empty());
        assert!(EngineAuth::parse(Some("docker"), None).is_empty());
    }
}
