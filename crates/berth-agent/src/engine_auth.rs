//! Registry credentials from the agent's environment (`ECS_ENGINE_AUTH_TYPE` /
//! `ECS_ENGINE_AUTH_DATA`), with the ECS agent's formats and registry matching; used only for
//! containers without `repositoryCredentials`.
//!
//! - `docker`: `{"<registry>": {"username": "...", "password": "...", "email": "..."}}`.
//! - `dockercfg`: `{"<registry>": {"auth": "base64(user:pass)", "email": "..."}}`; an entry
//!   with bad base64 or no `:` is skipped with a warning.
//! - berth also accepts the modern `{"auths": {...}}` wrapper of Docker's config.json, for
//!   either type (the ECS agent does not).
//!
//! Beyond the ECS agent, the settings can live in a file ([`EngineAuthSource::from_file`],
//! `--engine-auth-file` / `ECS_ENGINE_AUTH_FILE`): either `/etc/ecs/ecs.config`-style lines
//! `ECS_ENGINE_AUTH_TYPE=...` and `ECS_ENGINE_AUTH_DATA=...`, or the JSON data alone (type from
//! `ECS_ENGINE_AUTH_TYPE`, default `docker`). The file is checked (modification time, size,
//! inode) before each task's pulls and re-read when it changed; SIGHUP re-reads it at once.
//! The environment-variable form is read once: a running process cannot see a changed
//! environment.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use base64::Engine;
use berth_ecs::asm::RegistryAuth;
use serde_json::Value;
use zeroize::Zeroizing;

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

/// What identifies one version of the file: modification time, size, inode.
type Fingerprint = (Option<SystemTime>, u64, u64);

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok(), m.len(), m.ino()))
}

/// Parses an engine-auth file: `ECS_ENGINE_AUTH_TYPE=` / `ECS_ENGINE_AUTH_DATA=` lines (as in
/// the ECS agent's `/etc/ecs/ecs.config`; other lines and `#` comments ignored), or the JSON
/// data alone with `default_kind` (else `docker`).
pub fn parse_file(text: &str, default_kind: Option<&str>) -> EngineAuth {
    if text.trim_start().starts_with('{') {
        return EngineAuth::parse(Some(default_kind.unwrap_or("docker")), Some(text));
    }
    let mut kind = default_kind.map(str::to_string);
    let mut data: Option<Zeroizing<String>> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        match key.trim() {
            "ECS_ENGINE_AUTH_TYPE" => kind = Some(value.trim().to_string()),
            "ECS_ENGINE_AUTH_DATA" => data = Some(Zeroizing::new(value.trim().to_string())),
            _ => {}
        }
    }
    if data.is_some() && kind.is_none() {
        tracing::warn!(
            "the engine auth file has ECS_ENGINE_AUTH_DATA but no ECS_ENGINE_AUTH_TYPE; ignored"
        );
    }
    EngineAuth::parse(kind.as_deref(), data.as_deref().map(String::as_str))
}

/// The agent's registry credentials as they are now: fixed (from the environment) or from a
/// file that is re-read when it changes.
pub struct EngineAuthSource {
    file: Option<PathBuf>,
    default_kind: Option<String>,
    state: Mutex<(Option<Fingerprint>, Arc<EngineAuth>)>,
}

impl fmt::Debug for EngineAuthSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EngineAuthSource")
            .field("file", &self.file)
            .finish_non_exhaustive()
    }
}

impl Default for EngineAuthSource {
    fn default() -> EngineAuthSource {
        EngineAuthSource::fixed(EngineAuth::default())
    }
}

impl EngineAuthSource {
    /// Credentials that never change (the environment-variable form).
    pub fn fixed(auth: EngineAuth) -> EngineAuthSource {
        EngineAuthSource {
            file: None,
            default_kind: None,
            state: Mutex::new((None, Arc::new(auth))),
        }
    }

    /// Credentials from `path`, read now and again whenever it changes. A missing or
    /// unreadable file gives no credentials and a warning (the agent still starts).
    pub fn from_file(path: PathBuf, default_kind: Option<String>) -> EngineAuthSource {
        let source = EngineAuthSource {
            file: Some(path),
            default_kind,
            state: Mutex::new((None, Arc::new(EngineAuth::default()))),
        };
        source.reload();
        source
    }

    /// `--engine-auth-file` (else `ECS_ENGINE_AUTH_FILE`) when given, else the environment
    /// variables, read once.
    pub fn from_environment(file: Option<PathBuf>) -> EngineAuthSource {
        let file = file.or_else(|| {
            std::env::var_os("ECS_ENGINE_AUTH_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        match file {
            Some(path) => {
                if std::env::var_os("ECS_ENGINE_AUTH_DATA").is_some() {
                    tracing::warn!(path = %path.display(), "ECS_ENGINE_AUTH_DATA is ignored: the engine auth file is used");
                }
                let kind = std::env::var("ECS_ENGINE_AUTH_TYPE").ok();
                EngineAuthSource::from_file(path, kind)
            }
            None => EngineAuthSource::fixed(EngineAuth::from_environment()),
        }
    }

    /// The file this source reads, if any.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    fn read(&self, path: &Path) -> EngineAuth {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let text = Zeroizing::new(text);
                parse_file(&text, self.default_kind.as_deref())
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "reading the engine auth file; no engine credentials");
                EngineAuth::default()
            }
        }
    }

    /// Re-reads the file now (SIGHUP), whether or not it changed.
    pub fn reload(&self) {
        let Some(path) = &self.file else {
            tracing::info!(
                "engine auth comes from the environment, which a running process cannot re-read; use --engine-auth-file to change it without a restart"
            );
            return;
        };
        let print = fingerprint(path);
        let auth = self.read(path);
        tracing::info!(path = %path.display(), registries = auth.entries.len(), "engine auth file read");
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        *state = (print, Arc::new(auth));
    }

    /// The credentials now: the file is re-read first when it changed since the last read.
    pub fn current(&self) -> Arc<EngineAuth> {
        if let Some(path) = &self.file {
            let print = fingerprint(path);
            let stale = {
                let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
                state.0 != print
            };
            if stale {
                self.reload();
            }
        }
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.1.clone()
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

    #[test]
    fn files_in_both_forms_are_reread_when_they_change() {
        let dir = std::env::temp_dir().join(format!("berth-engine-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ecs.config");
        let cfg = |u: &str, p: &str| {
            format!(
                "# the agent's config\nECS_CLUSTER=x\nECS_ENGINE_AUTH_TYPE=docker\nECS_ENGINE_AUTH_DATA={{\"127.0.0.1:5000\": {{\"username\": \"{u}\", \"password\": \"{p}\"}}}}\n"
            )
        };
        std::fs::write(&path, cfg("a", "abc>>>def")).unwrap();
        let source = EngineAuthSource::from_file(path.clone(), None);
        assert_eq!(
            user(source.current().for_image("127.0.0.1:5000/app")),
            pair("a", "abc>>>def")
        );
        // A changed file (other size) is seen by the next call.
        std::fs::write(&path, cfg("bb", "second")).unwrap();
        assert_eq!(
            user(source.current().for_image("127.0.0.1:5000/app")),
            pair("bb", "second")
        );
        // The JSON data alone, with the `auths` wrapper and the dockercfg type.
        let auth = base64::engine::general_purpose::STANDARD.encode("w:abc>>>def");
        std::fs::write(
            &path,
            format!(r#"{{"auths": {{"127.0.0.1:5000": {{"auth": "{auth}"}}}}}}"#),
        )
        .unwrap();
        let json = EngineAuthSource::from_file(path.clone(), Some("dockercfg".into()));
        assert_eq!(
            user(json.current().for_image("127.0.0.1:5000/app")),
            pair("w", "abc>>>def")
        );
        // Gone: no credentials, no failure.
        std::fs::remove_file(&path).unwrap();
        assert!(json.current().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
        assert!(!format!("{source:?}").contains("second"));
    }

    #[test]
    fn a_file_without_a_type_gives_nothing() {
        assert!(parse_file("ECS_ENGINE_AUTH_DATA={}", None).is_empty());
        assert!(parse_file("ECS_ENGINE_AUTH_TYPE=basic\nECS_ENGINE_AUTH_DATA={}", None).is_empty());
    }
}
