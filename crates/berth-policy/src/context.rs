//! The request context: condition keys and their values.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::SystemTime;

use base64::Engine;
use berth_core::time;

use crate::condition::BASE64;

/// One value of a condition key.
///
/// Operators convert values as needed: a `String` compared with a numeric,
/// date, boolean or IP operator is parsed; a non-string value compared with a
/// string operator is printed (`true`, `10`, `203.0.113.7`, ISO 8601 UTC
/// date, base64 for binary).
#[derive(Debug, Clone, PartialEq)]
pub enum ContextValue {
    /// A string.
    String(String),
    /// A boolean (`aws:SecureTransport`, `aws:MultiFactorAuthPresent`).
    Bool(bool),
    /// A number (`aws:MultiFactorAuthAge`, `s3:max-keys`).
    Number(f64),
    /// A point in time (`aws:CurrentTime`, `aws:TokenIssueTime`).
    Date(SystemTime),
    /// An IP address (`aws:SourceIp`).
    Ip(IpAddr),
    /// Raw bytes, compared by `BinaryEquals` against the policy's base64.
    Binary(Vec<u8>),
}

impl From<&str> for ContextValue {
    fn from(v: &str) -> Self {
        ContextValue::String(v.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(v: String) -> Self {
        ContextValue::String(v)
    }
}

impl From<&String> for ContextValue {
    fn from(v: &String) -> Self {
        ContextValue::String(v.clone())
    }
}

impl From<bool> for ContextValue {
    fn from(v: bool) -> Self {
        ContextValue::Bool(v)
    }
}

impl From<f64> for ContextValue {
    fn from(v: f64) -> Self {
        ContextValue::Number(v)
    }
}

impl From<i64> for ContextValue {
    fn from(v: i64) -> Self {
        // Precision loss beyond 2^53 is irrelevant for condition keys.
        #[allow(clippy::cast_precision_loss)]
        ContextValue::Number(v as f64)
    }
}

impl From<SystemTime> for ContextValue {
    fn from(v: SystemTime) -> Self {
        ContextValue::Date(v)
    }
}

impl From<IpAddr> for ContextValue {
    fn from(v: IpAddr) -> Self {
        ContextValue::Ip(v)
    }
}

impl From<Vec<u8>> for ContextValue {
    fn from(v: Vec<u8>) -> Self {
        ContextValue::Binary(v)
    }
}

/// Condition keys of a request. Key names are case-insensitive; a key may
/// hold several values (a multivalued key such as `aws:TagKeys`).
///
/// Besides what is inserted, evaluation derives these keys from the
/// principal when the context lacks them: `aws:PrincipalArn` (the role ARN
/// for a role session), `aws:PrincipalAccount`, `aws:PrincipalType`
/// (`Account`, `User`, `AssumedRole`), `aws:username` (IAM users only) and
/// `aws:PrincipalServiceName` (service principals). Everything else —
/// `aws:userid`, `aws:CurrentTime`, `aws:SourceIp`, `aws:SourceArn`,
/// `kms:ViaService`, tags, ... — is the caller's to supply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Context {
    entries: HashMap<String, Values>,
}

/// The values of one key: most keys have one, kept without a `Vec` of its own. A list of one
/// is always `One`, so that equal contexts compare equal.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    One(ContextValue),
    Many(Vec<ContextValue>),
}

impl Values {
    fn from_vec(mut values: Vec<ContextValue>) -> Values {
        if values.len() == 1
            && let Some(v) = values.pop()
        {
            return Values::One(v);
        }
        Values::Many(values)
    }

    fn as_slice(&self) -> &[ContextValue] {
        match self {
            Values::One(v) => std::slice::from_ref(v),
            Values::Many(vs) => vs,
        }
    }

    fn into_vec(self) -> Vec<ContextValue> {
        match self {
            Values::One(v) => vec![v],
            Values::Many(vs) => vs,
        }
    }
}

impl Context {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty context with room for `keys` keys without growing.
    pub fn with_capacity(keys: usize) -> Self {
        Context {
            entries: HashMap::with_capacity(keys),
        }
    }

    /// Sets a single-valued key, replacing any previous values.
    pub fn insert(&mut self, key: &str, value: impl Into<ContextValue>) -> &mut Self {
        self.entries
            .insert(key.to_lowercase(), Values::One(value.into()));
        self
    }

    /// Sets a multivalued key, replacing any previous values. An empty list
    /// makes the key present with no values (`ForAllValues` is then true and
    /// `ForAnyValue` false, as for a missing key).
    pub fn insert_multi<V: Into<ContextValue>>(
        &mut self,
        key: &str,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        self.entries.insert(
            key.to_lowercase(),
            Values::from_vec(values.into_iter().map(Into::into).collect()),
        );
        self
    }

    /// Builder form of [`Context::insert`].
    #[must_use]
    pub fn with(mut self, key: &str, value: impl Into<ContextValue>) -> Self {
        self.insert(key, value);
        self
    }

    /// Builder form of [`Context::insert_multi`].
    #[must_use]
    pub fn with_multi<V: Into<ContextValue>>(
        mut self,
        key: &str,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.insert_multi(key, values);
        self
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &str) -> Option<Vec<ContextValue>> {
        self.entries
            .remove(&key.to_lowercase())
            .map(Values::into_vec)
    }

    /// The values of a key (any case).
    pub fn get(&self, key: &str) -> Option<&[ContextValue]> {
        self.entries.get(&key.to_lowercase()).map(Values::as_slice)
    }

    /// Lookup with a key that is already lowercase (no allocation).
    pub(crate) fn get_lower(&self, key: &str) -> Option<&[ContextValue]> {
        self.entries.get(key).map(Values::as_slice)
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A borrowed view of one value, as operators see it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Val<'a> {
    Str(&'a str),
    Bool(bool),
    Num(f64),
    /// Nanoseconds since the Unix epoch.
    Date(i128),
    Ip(IpAddr),
    Bin(&'a [u8]),
}

impl<'a> Val<'a> {
    pub(crate) fn of(v: &'a ContextValue) -> Val<'a> {
        match v {
            ContextValue::String(s) => Val::Str(s),
            ContextValue::Bool(b) => Val::Bool(*b),
            ContextValue::Number(n) => Val::Num(*n),
            ContextValue::Date(t) => Val::Date(time::epoch_nanos(*t)),
            ContextValue::Ip(ip) => Val::Ip(*ip),
            ContextValue::Binary(b) => Val::Bin(b),
        }
    }

    /// The value as text, for string and ARN operators and for variables.
    pub(crate) fn text(self) -> Cow<'a, str> {
        match self {
            Val::Str(s) => Cow::Borrowed(s),
            Val::Bool(true) => Cow::Borrowed("true"),
            Val::Bool(false) => Cow::Borrowed("false"),
            Val::Num(n) => Cow::Owned(format_number(n)),
            Val::Date(ns) => Cow::Owned(time::iso8601_nanos(ns)),
            Val::Ip(ip) => Cow::Owned(ip.to_string()),
            Val::Bin(b) => Cow::Owned(BASE64.encode(b)),
        }
    }
}

fn format_number(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{n:.0}")
    } else {
        n.to_string()
    }
}

/// The values of one key as found for a request.
#[derive(Debug, Clone, Copy)]
pub(crate) enum KeyValues<'a> {
    /// From the [`Context`].
    Ctx(&'a [ContextValue]),
    /// Derived from the principal.
    One(Val<'a>),
}

impl<'a> KeyValues<'a> {
    pub(crate) fn is_empty(&self) -> bool {
        match self {
            KeyValues::Ctx(v) => v.is_empty(),
            KeyValues::One(_) => false,
        }
    }

    pub(crate) fn single(&self) -> Option<Val<'a>> {
        match self {
            KeyValues::Ctx([v]) => Some(Val::of(v)),
            KeyValues::Ctx(_) => None,
            KeyValues::One(v) => Some(*v),
        }
    }

    pub(crate) fn any(&self, mut f: impl FnMut(Val<'a>) -> bool) -> bool {
        match self {
            KeyValues::Ctx(vs) => vs.iter().any(|v| f(Val::of(v))),
            KeyValues::One(v) => f(*v),
        }
    }

    pub(crate) fn all(&self, mut f: impl FnMut(Val<'a>) -> bool) -> bool {
        match self {
            KeyValues::Ctx(vs) => vs.iter().all(|v| f(Val::of(v))),
            KeyValues::One(v) => f(*v),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_are_case_insensitive() {
        let c = Context::new().with("aws:SourceIp", "10.0.0.1");
        assert_eq!(c.get("AWS:sourceip").unwrap().len(), 1);
        assert!(c.get_lower("aws:sourceip").is_some());
    }

    #[test]
    fn one_value_however_it_was_given() {
        let one = Context::new().with("k", "a");
        let listed = Context::new().with_multi("K", ["a"]);
        assert_eq!(one, listed);
        assert_eq!(one.get("k"), Some(&[ContextValue::from("a")][..]));
        let none = Context::with_capacity(4).with_multi("k", Vec::<String>::new());
        assert_eq!(none.get("k"), Some(&[][..]));
        assert_ne!(none, one);
        let mut two = Context::new().with_multi("k", ["a", "b"]);
        assert_eq!(two.get("k").map(<[_]>::len), Some(2));
        assert_eq!(
            two.remove("K"),
            Some(vec![ContextValue::from("a"), ContextValue::from("b")])
        );
        let mut one = one;
        assert_eq!(one.remove("k"), Some(vec![ContextValue::from("a")]));
        assert!(one.is_empty());
    }

    #[test]
    fn text_forms() {
        assert_eq!(Val::Num(10.0).text(), "10");
        assert_eq!(Val::Num(1.5).text(), "1.5");
        assert_eq!(Val::Bool(true).text(), "true");
        assert_eq!(Val::Date(0).text(), "1970-01-01T00:00:00Z");
    }
}
