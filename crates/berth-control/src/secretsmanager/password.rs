//! GetRandomPassword: a password drawn from the operating system's CSPRNG (`getrandom`, through
//! `berth_core::ids::random_bytes`), from the character classes AWS uses.

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Ctx, Error};

/// The punctuation AWS draws from: every printable ASCII character that is not a letter, a
/// digit or the space.
pub const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
const LOWER: &str = "abcdefghijklmnopqrstuvwxyz";
const UPPER: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS: &str = "0123456789";
/// AWS's default PasswordLength.
pub const DEFAULT_LENGTH: i64 = 32;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordInput {
    pub password_length: Option<i64>,
    pub exclude_characters: Option<String>,
    pub exclude_numbers: Option<bool>,
    pub exclude_punctuation: Option<bool>,
    pub exclude_uppercase: Option<bool>,
    pub exclude_lowercase: Option<bool>,
    pub include_space: Option<bool>,
    pub require_each_included_type: Option<bool>,
}

#[derive(Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRandomPasswordOutput {
    #[serde(serialize_with = "password_text")]
    pub random_password: Zeroizing<String>,
}

impl std::fmt::Debug for GetRandomPasswordOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetRandomPasswordOutput")
            .finish_non_exhaustive()
    }
}

fn password_text<S: serde::Serializer>(v: &Zeroizing<String>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(v)
}

/// A uniform index below `n` (1..=256) from the CSPRNG, by rejection sampling.
fn uniform(n: usize) -> usize {
    let limit = 256 - 256 % n;
    loop {
        let mut b = [0u8; 1];
        berth_core::ids::random_bytes(&mut b);
        let x = b[0] as usize;
        if x < limit {
            return x % n;
        }
    }
}

pub fn get_random_password(
    ctx: &Ctx<'_>,
    input: GetRandomPasswordInput,
) -> Result<GetRandomPasswordOutput, Error> {
    let length = input.password_length.unwrap_or(DEFAULT_LENGTH);
    if !(1..=4096).contains(&length) {
        return Err(Error::Validation(format!(
            "1 validation error detected: Value '{length}' at 'passwordLength' failed to satisfy constraint: Member must have value {}",
            if length < 1 {
                "greater than or equal to 1"
            } else {
                "less than or equal to 4096"
            }
        )));
    }
    let exclude = input.exclude_characters.unwrap_or_default();
    if exclude.chars().count() > 4096 {
        return Err(Error::Validation(
            "1 validation error detected: Value at 'excludeCharacters' failed to satisfy constraint: Member must have length less than or equal to 4096".into(),
        ));
    }
    ctx.authorize("secretsmanager:GetRandomPassword", "*")?;
    let classes: Vec<Vec<char>> = [
        (input.exclude_lowercase, LOWER),
        (input.exclude_uppercase, UPPER),
        (input.exclude_numbers, DIGITS),
        (input.exclude_punctuation, PUNCTUATION),
        (input.include_space.map(|b| !b).or(Some(true)), " "),
    ]
    .into_iter()
    .filter(|(excluded, _)| !excluded.unwrap_or(false))
    .map(|(_, set)| set.chars().filter(|c| !exclude.contains(*c)).collect())
    .filter(|set: &Vec<char>| !set.is_empty())
    .collect();
    let pool: Vec<char> = classes.iter().flatten().copied().collect();
    if pool.is_empty() {
        // AWS's text for this case is not known to berth.
        return Err(Error::InvalidParameter(
            "no characters are left to make a password from: every character type is excluded"
                .into(),
        ));
    }
    let length = length as usize;
    let require_each = input.require_each_included_type.unwrap_or(true);
    if require_each && length < classes.len() {
        // AWS's text for this case is not known to berth.
        return Err(Error::InvalidParameter(
            "Password length is too short based on the required types.".into(),
        ));
    }
    let mut chars: Vec<char> = Vec::with_capacity(length);
    if require_each {
        for class in &classes {
            if let Some(c) = class.get(uniform(class.len())) {
                chars.push(*c);
            }
        }
    }
    while chars.len() < length {
        if let Some(c) = pool.get(uniform(pool.len())) {
            chars.push(*c);
        }
    }
    // Fisher–Yates, so the required characters sit anywhere.
    for i in (1..chars.len()).rev() {
        let j = uniform_below(i + 1);
        chars.swap(i, j);
    }
    Ok(GetRandomPasswordOutput {
        random_password: Zeroizing::new(chars.into_iter().collect()),
    })
}

/// A uniform index below `n` (any size) from the CSPRNG.
fn uniform_below(n: usize) -> usize {
    if n <= 256 {
        return uniform(n);
    }
    let limit = u64::MAX - u64::MAX % n as u64;
    loop {
        let mut b = [0u8; 8];
        berth_core::ids::random_bytes(&mut b);
        let x = u64::from_le_bytes(b);
        if x < limit {
            return (x % n as u64) as usize;
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::sync::Arc;

    use berth_core::RootKey;
    use berth_store::SqliteStore;

    use super::*;
    use crate::testing::caller;
    use crate::{Control, Principal};

    fn with_ctx(f: impl FnOnce(&Ctx<'_>)) {
        let store = Arc::new(SqliteStore::in_memory().unwrap());
        let control = Control::new(store, RootKey::generate(), 0);
        let c = caller(Principal::Root {
            account: "111122223333".into(),
        });
        let ctx = control.ctx(&c, "r");
        f(&ctx);
    }

    fn password(ctx: &Ctx<'_>, input: GetRandomPasswordInput) -> Result<String, Error> {
        get_random_password(ctx, input).map(|o| o.random_password.to_string())
    }

    #[test]
    fn defaults_are_aws_defaults() {
        with_ctx(|ctx| {
            for _ in 0..50 {
                let p = password(ctx, GetRandomPasswordInput::default()).unwrap();
                assert_eq!(p.chars().count(), 32);
                assert!(p.chars().any(|c| c.is_ascii_lowercase()));
                assert!(p.chars().any(|c| c.is_ascii_uppercase()));
                assert!(p.chars().any(|c| c.is_ascii_digit()));
                assert!(p.chars().any(|c| PUNCTUATION.contains(c)));
                assert!(!p.contains(' '));
            }
        });
    }

    #[test]
    fn options_shape_the_password() {
        with_ctx(|ctx| {
            let p = password(
                ctx,
                GetRandomPasswordInput {
                    password_length: Some(4096),
                    exclude_punctuation: Some(true),
                    exclude_uppercase: Some(true),
                    exclude_characters: Some("abc0".into()),
                    include_space: Some(true),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(p.len(), 4096);
            assert!(
                p.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == ' ')
            );
            assert!(!p.contains(['a', 'b', 'c', '0']));
            assert!(p.contains(' '));
            let short = password(
                ctx,
                GetRandomPasswordInput {
                    password_length: Some(4),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(short.len(), 4);
            assert!(matches!(
                password(
                    ctx,
                    GetRandomPasswordInput {
                        password_length: Some(3),
                        ..Default::default()
                    }
                ),
                Err(Error::InvalidParameter(_))
            ));
            let one = password(
                ctx,
                GetRandomPasswordInput {
                    password_length: Some(1),
                    require_each_included_type: Some(false),
                    ..Default::default()
                },
            )
            .unwrap();
            assert_eq!(one.len(), 1);
            for bad in [0, 4097] {
                assert!(matches!(
                    password(
                        ctx,
                        GetRandomPasswordInput {
                            password_length: Some(bad),
                            ..Default::default()
                        }
                    ),
                    Err(Error::Validation(_))
                ));
            }
            let everything_excluded = GetRandomPasswordInput {
                exclude_lowercase: Some(true),
                exclude_uppercase: Some(true),
                exclude_numbers: Some(true),
                exclude_characters: Some(PUNCTUATION.into()),
                ..Default::default()
            };
            assert!(matches!(
                password(ctx, everything_excluded),
                Err(Error::InvalidParameter(_))
            ));
        });
    }
}
