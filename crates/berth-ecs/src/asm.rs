//! The registry credentials a container's `asm` registry authentication names: a Secrets
//! Manager secret whose value is parsed the way the ECS agent parses it (a Go `json.Unmarshal`
//! into `{Username, Password}`): keys match case-insensitively, later keys win, extra keys are
//! ignored, `null` leaves a field empty, anything but a string is an invalid schema. Failures
//! read as the agent's messages.
//!
//! Pure: the caller fetches the secret (the agent, over the API) or reads it (the doctor).

use std::fmt;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use zeroize::Zeroizing;

/// The agent's message for a secret without a string value.
pub const EMPTY_VALUE: &str = "asm fetching authorization data: empty secrets value";
/// The agent's message for a secret value that is not `{"username": "...", "password": "..."}`.
pub const INVALID_SCHEMA: &str =
    "asm fetching authorization data: unable to unmarshal secret value, invalid schema";
/// The agent's message for a missing or empty username.
pub const EMPTY_USERNAME: &str =
    "asm fetching username: AuthorizationData is malformed, empty field";
/// The agent's message for a missing or empty password.
pub const EMPTY_PASSWORD: &str =
    "asm fetching password: AuthorizationData is malformed, empty field";

/// Registry credentials: in memory only, wiped when dropped, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RegistryAuth {
    pub username: Zeroizing<String>,
    pub password: Zeroizing<String>,
}

impl fmt::Debug for RegistryAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RegistryAuth { .. }")
    }
}

/// Parses a secret's `SecretString` (absent for a binary-only secret) into registry
/// credentials, or the agent's message for why it cannot.
pub fn parse_secret(secret_string: Option<&str>) -> Result<RegistryAuth, &'static str> {
    let text = secret_string.unwrap_or("");
    if text.is_empty() {
        return Err(EMPTY_VALUE);
    }
    let value: AuthData = serde_json::from_str(text).map_err(|_| INVALID_SCHEMA)?;
    let username = value
        .username
        .filter(|u| !u.is_empty())
        .ok_or(EMPTY_USERNAME)?;
    let password = value
        .password
        .filter(|p| !p.is_empty())
        .ok_or(EMPTY_PASSWORD)?;
    Ok(RegistryAuth {
        username: Zeroizing::new(username),
        password: Zeroizing::new(password),
    })
}

/// `{Username, Password}` as Go's encoding/json fills it.
#[derive(Default)]
struct AuthData {
    username: Option<String>,
    password: Option<String>,
}

impl<'de> Deserialize<'de> for AuthData {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AuthDataVisitor)
    }
}

struct AuthDataVisitor;

impl<'de> Visitor<'de> for AuthDataVisitor {
    type Value = AuthData;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    // A top-level `null` leaves the struct as it was (no error).
    fn visit_unit<E: de::Error>(self) -> Result<AuthData, E> {
        Ok(AuthData::default())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<AuthData, A::Error> {
        let mut out = AuthData::default();
        while let Some(key) = map.next_key::<String>()? {
            let slot = if go_fold_eq(&key, "Username") {
                &mut out.username
            } else if go_fold_eq(&key, "Password") {
                &mut out.password
            } else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            // A string sets the field, `null` clears it, anything else is a type error.
            *slot = map.next_value::<Option<String>>()?;
        }
        Ok(out)
    }
}

/// Go's `strings.EqualFold` for a key against an ASCII field name: simple Unicode case
/// folding, under which the Kelvin sign folds to `k` and the long s to `s`.
fn go_fold_eq(key: &str, field: &str) -> bool {
    let mut k = key.chars();
    for f in field.chars() {
        let Some(c) = k.next() else { return false };
        let c = match c {
            '\u{212A}' => 'k',
            '\u{017F}' => 's',
            c if c.is_ascii() => c.to_ascii_lowercase(),
            _ => return false,
        };
        if c != f.to_ascii_lowercase() {
            return false;
        }
    }
    k.next().is_none()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn ok(s: &str) -> (String, String) {
        let a = parse_secret(Some(s)).unwrap();
        (a.username.to_string(), a.password.to_string())
    }

    #[test]
    fn accepts_the_documented_shape_and_variants() {
        let both = |u: &str, p: &str| (u.to_string(), p.to_string());
        assert_eq!(ok(r#"{"username":"u","password":"p"}"#), both("u", "p"));
        assert_eq!(ok(r#"{"USERNAME":"u","PassWord":"p"}"#), both("u", "p"));
        assert_eq!(
            ok(r#"{"username":"u","password":"p","email":"x","n":1,"o":{"a":[1]}}"#),
            both("u", "p")
        );
        // Later keys win, whatever their case.
        assert_eq!(
            ok(r#"{"username":"a","Username":"b","password":"p"}"#),
            both("b", "p")
        );
        // Go's folding: the Kelvin sign and the long s.
        assert_eq!(
            ok("{\"u\u{17F}ername\":\"u\",\"pa\u{17F}\u{17F}word\":\"p\"}"),
            both("u", "p")
        );
        assert_eq!(
            ok(r#"{"username":"abc>>>def","password":"abc>>>def"}"#),
            both("abc>>>def", "abc>>>def")
        );
    }

    #[test]
    fn the_agents_messages() {
        let cases: [(Option<&str>, &str); 14] = [
            (None, EMPTY_VALUE),
            (Some(""), EMPTY_VALUE),
            (Some("not json"), INVALID_SCHEMA),
            (Some("[1,2]"), INVALID_SCHEMA),
            (Some("\"text\""), INVALID_SCHEMA),
            (Some("12"), INVALID_SCHEMA),
            (Some(r#"{"username":1,"password":"p"}"#), INVALID_SCHEMA),
            (Some(r#"{"username":"u","password":"p"} x"#), INVALID_SCHEMA),
            (Some("null"), EMPTY_USERNAME),
            (Some("{}"), EMPTY_USERNAME),
            (Some(r#"{"username":"","password":"p"}"#), EMPTY_USERNAME),
            (
                Some(r#"{"username":"u","password":"p","Username":null}"#),
                EMPTY_USERNAME,
            ),
            (Some(r#"{"username":"u"}"#), EMPTY_PASSWORD),
            (Some(r#"{"username":"u","password":""}"#), EMPTY_PASSWORD),
        ];
        for (given, want) in cases {
            assert_eq!(parse_secret(given).err(), Some(want), "{given:?}");
        }
    }

    #[test]
    fn credentials_do_not_print() {
        let a = parse_secret(Some(r#"{"username":"user1","password":"hunter2"}"#)).unwrap();
        let shown = format!("{a:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("user1"));
    }
}
