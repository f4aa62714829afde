//! Condition operators and their evaluation.

use std::net::IpAddr;

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use berth_core::time;

use crate::context::{KeyValues, Val};
use crate::pattern::{ArnPattern, Case, Glob, Resolve};

/// Standard base64 (RFC 4648 §4), as `BinaryEquals` values and binary context values are
/// written: padded when encoding; padding optional, and unused trailing bits ignored, when
/// decoding.
pub(crate) const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Supplies condition keys (and policy variables) for one request.
pub(crate) trait Lookup {
    /// `key` is lowercase.
    fn lookup(&self, key: &str) -> Option<KeyValues<'_>>;
    /// The same source, as a policy-variable resolver.
    fn as_resolve(&self) -> &dyn Resolve;
}

/// An operator family, without negation, qualifier or `IfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Base {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    NumericEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    /// `ArnEquals` and `ArnLike` behave identically.
    Arn,
    Null,
}

impl Base {
    pub(crate) fn is_date(self) -> bool {
        matches!(
            self,
            Base::DateEquals
                | Base::DateLessThan
                | Base::DateLessThanEquals
                | Base::DateGreaterThan
                | Base::DateGreaterThanEquals
        )
    }
}

/// `ForAnyValue:` / `ForAllValues:`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qualifier {
    None,
    ForAnyValue,
    ForAllValues,
}

/// A parsed operator name such as `ForAllValues:StringNotLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Operator {
    pub(crate) base: Base,
    pub(crate) negated: bool,
    pub(crate) qualifier: Qualifier,
    pub(crate) if_exists: bool,
}

const OPERATORS: &[(&str, Base, bool)] = &[
    ("StringEquals", Base::StringEquals, false),
    ("StringNotEquals", Base::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Base::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Base::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Base::StringLike, false),
    ("StringNotLike", Base::StringLike, true),
    ("NumericEquals", Base::NumericEquals, false),
    ("NumericNotEquals", Base::NumericEquals, true),
    ("NumericLessThan", Base::NumericLessThan, false),
    ("NumericLessThanEquals", Base::NumericLessThanEquals, false),
    ("NumericGreaterThan", Base::NumericGreaterThan, false),
    (
        "NumericGreaterThanEquals",
        Base::NumericGreaterThanEquals,
        false,
    ),
    ("DateEquals", Base::DateEquals, false),
    ("DateNotEquals", Base::DateEquals, true),
    ("DateLessThan", Base::DateLessThan, false),
    ("DateLessThanEquals", Base::DateLessThanEquals, false),
    ("DateGreaterThan", Base::DateGreaterThan, false),
    ("DateGreaterThanEquals", Base::DateGreaterThanEquals, false),
    ("Bool", Base::Bool, false),
    ("BinaryEquals", Base::BinaryEquals, false),
    ("IpAddress", Base::IpAddress, false),
    ("NotIpAddress", Base::IpAddress, true),
    ("ArnEquals", Base::Arn, false),
    ("ArnLike", Base::Arn, false),
    ("ArnNotEquals", Base::Arn, true),
    ("ArnNotLike", Base::Arn, true),
    ("Null", Base::Null, false),
];

impl Operator {
    /// Parses an operator name (case-sensitive, as AWS). At most one
    /// qualifier prefix and one `IfExists` suffix; `Null` takes no `IfExists`.
    pub(crate) fn parse(name: &str) -> Option<Operator> {
        let (qualifier, rest) = if let Some(r) = name.strip_prefix("ForAnyValue:") {
            (Qualifier::ForAnyValue, r)
        } else if let Some(r) = name.strip_prefix("ForAllValues:") {
            (Qualifier::ForAllValues, r)
        } else {
            (Qualifier::None, name)
        };
        let (if_exists, rest) = match rest.strip_suffix("IfExists") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        let &(_, base, negated) = OPERATORS.iter().find(|(n, _, _)| *n == rest)?;
        if base == Base::Null && if_exists {
            return None;
        }
        Some(Operator {
            base,
            negated,
            qualifier,
            if_exists,
        })
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `203.0.113.0/24`, `2001:DB8::/32`; without a prefix, the single address.
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().ok()?,
            Some(_) => return None,
            None => max,
        };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            (IpAddr::V4(_), IpAddr::V6(ip)) => ip
                .to_ipv4_mapped()
                .is_some_and(|v4| self.contains(IpAddr::V4(v4))),
            (IpAddr::V6(_), IpAddr::V4(ip)) => self.contains(IpAddr::V6(ip.to_ipv6_mapped())),
        }
    }
}

/// One policy value of a condition, pre-parsed for its operator.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CondValue {
    /// String operators (wildcards only for `StringLike`).
    Text(Glob),
    /// `Bool`: the value, or a template with variables parsed when evaluated.
    Bool(Option<bool>),
    BoolTemplate(Glob),
    Arn(ArnPattern),
    /// `None` when the policy value is not a number (never matches).
    Num(Option<f64>),
    Date(Option<i128>),
    Ip(Option<Cidr>),
    Bin(Option<Vec<u8>>),
    Null(Option<bool>),
}

impl CondValue {
    pub(crate) fn compile(base: Base, raw: &str, variables: bool) -> CondValue {
        match base {
            Base::StringEquals | Base::StringEqualsIgnoreCase => {
                CondValue::Text(Glob::new(raw, false, variables))
            }
            Base::StringLike => CondValue::Text(Glob::new(raw, true, variables)),
            Base::Bool => {
                let g = Glob::new(raw, false, variables);
                if g.has_vars() {
                    CondValue::BoolTemplate(g)
                } else {
                    CondValue::Bool(parse_bool(raw))
                }
            }
            Base::Arn => CondValue::Arn(ArnPattern::new(raw, variables)),
            Base::NumericEquals
            | Base::NumericLessThan
            | Base::NumericLessThanEquals
            | Base::NumericGreaterThan
            | Base::NumericGreaterThanEquals => CondValue::Num(parse_number(raw)),
            Base::DateEquals
            | Base::DateLessThan
            | Base::DateLessThanEquals
            | Base::DateGreaterThan
            | Base::DateGreaterThanEquals => CondValue::Date(time::parse_policy_date(raw)),
            Base::IpAddress => CondValue::Ip(Cidr::parse(raw)),
            Base::BinaryEquals => CondValue::Bin(BASE64.decode(raw.trim()).ok()),
            Base::Null => CondValue::Null(parse_bool(raw)),
        }
    }
}

fn parse_number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|n| n.is_finite())
}

fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// One condition: an operator applied to one key with one or more values.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub(crate) op: Operator,
    /// The key, lowercase.
    pub(crate) key: String,
    pub(crate) values: Vec<CondValue>,
}

fn ctx_number(v: Val<'_>) -> Option<f64> {
    match v {
        Val::Num(n) => Some(n),
        Val::Str(s) => parse_number(s),
        _ => None,
    }
}

fn ctx_date(v: Val<'_>) -> Option<i128> {
    match v {
        Val::Date(ns) => Some(ns),
        Val::Str(s) => time::parse_policy_date(s),
        // Whole and fractional epoch seconds.
        #[allow(clippy::cast_possible_truncation)]
        Val::Num(n) if n.is_finite() => Some((n * 1e9) as i128),
        _ => None,
    }
}

fn ctx_bool(v: Val<'_>) -> Option<bool> {
    match v {
        Val::Bool(b) => Some(b),
        Val::Str(s) => parse_bool(s),
        _ => None,
    }
}

fn ctx_ip(v: Val<'_>) -> Option<IpAddr> {
    match v {
        Val::Ip(ip) => Some(ip),
        Val::Str(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether one context value satisfies the operator (un-negated) for one
/// policy value.
fn matches_one(base: Base, v: Val<'_>, cv: &CondValue, env: &dyn Lookup) -> bool {
    match (base, cv) {
        (Base::StringEquals | Base::StringLike, CondValue::Text(g)) => {
            g.is_match(&v.text(), Case::Sensitive, env.as_resolve())
        }
        (Base::StringEqualsIgnoreCase, CondValue::Text(g)) => {
            g.is_match(&v.text(), Case::Insensitive, env.as_resolve())
        }
        (Base::Arn, CondValue::Arn(p)) => p.is_match(&v.text(), env.as_resolve()),
        (Base::Bool, CondValue::Bool(Some(p))) => ctx_bool(v) == Some(*p),
        (Base::Bool, CondValue::BoolTemplate(g)) => {
            let Some(text) = g.render(env.as_resolve()) else {
                return false;
            };
            match (parse_bool(&text), ctx_bool(v)) {
                (Some(p), Some(c)) => p == c,
                _ => false,
            }
        }
        (_, CondValue::Num(Some(p))) => {
            let Some(c) = ctx_number(v) else {
                return false;
            };
            match base {
                Base::NumericEquals => c == *p,
                Base::NumericLessThan => c < *p,
                Base::NumericLessThanEquals => c <= *p,
                Base::NumericGreaterThan => c > *p,
                Base::NumericGreaterThanEquals => c >= *p,
                _ => false,
            }
        }
        (_, CondValue::Date(Some(p))) => {
            let Some(c) = ctx_date(v) else {
                return false;
            };
            match base {
                Base::DateEquals => c == *p,
                Base::DateLessThan => c < *p,
                Base::DateLessThanEquals => c <= *p,
                Base::DateGreaterThan => c > *p,
                Base::DateGreaterThanEquals => c >= *p,
                _ => false,
            }
        }
        (Base::IpAddress, CondValue::Ip(Some(net))) => ctx_ip(v).is_some_and(|ip| net.contains(ip)),
        (Base::BinaryEquals, CondValue::Bin(Some(p))) => match v {
            Val::Bin(b) => b == p.as_slice(),
            Val::Str(s) => BASE64.decode(s.trim()).is_ok_and(|b| b == *p),
            _ => false,
        },
        _ => false,
    }
}

impl Condition {
    /// Evaluates the condition for a request.
    ///
    /// * Missing key: `...IfExists` → true; `ForAllValues:` → true;
    ///   `ForAnyValue:` → false; otherwise true for a negated operator
    ///   (`StringNotEquals`, `NotIpAddress`, `ArnNotLike`, ...) and false for
    ///   a positive one.
    /// * Several policy values are ORed for positive operators; a negated
    ///   operator is true when the key matches none of them.
    /// * Without a qualifier a multivalued key behaves like `ForAnyValue:`
    ///   for positive operators and requires that no value match for negated
    ///   ones.
    pub(crate) fn evaluate(&self, env: &dyn Lookup) -> bool {
        let values = env.lookup(&self.key);
        if self.op.base == Base::Null {
            let present = values.is_some_and(|v| !v.is_empty());
            return self.values.iter().any(|cv| match cv {
                CondValue::Null(Some(want_absent)) => *want_absent != present,
                _ => false,
            });
        }
        let Some(values) = values.filter(|v| !v.is_empty()) else {
            if self.op.if_exists {
                return true;
            }
            return match self.op.qualifier {
                Qualifier::ForAllValues => true,
                Qualifier::ForAnyValue => false,
                Qualifier::None => self.op.negated,
            };
        };
        let base = self.op.base;
        let matches = |v: Val<'_>| self.values.iter().any(|cv| matches_one(base, v, cv, env));
        let negated = self.op.negated;
        match self.op.qualifier {
            Qualifier::None => values.any(matches) != negated,
            Qualifier::ForAnyValue => values.any(|v| matches(v) != negated),
            Qualifier::ForAllValues => values.all(|v| matches(v) != negated),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn operator_names() {
        let op = Operator::parse("ForAllValues:StringNotLikeIfExists").unwrap();
        assert_eq!(op.base, Base::StringLike);
        assert!(op.negated && op.if_exists);
        assert_eq!(op.qualifier, Qualifier::ForAllValues);
        assert!(Operator::parse("StringEqualz").is_none());
        assert!(Operator::parse("stringequals").is_none());
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("ForAnyValue::StringEqualsIfExists").is_none());
        assert!(Operator::parse("StringEqualsIfExistsIfExists").is_none());
        assert_eq!(Operator::parse("ArnEquals").unwrap().base, Base::Arn);
    }

    #[test]
    fn a_prefix_length_is_digits_only() {
        // Rust's integer parse takes a leading `+`; a CIDR's prefix length does not.
        assert!(Cidr::parse("10.0.0.0/+8").is_none());
        assert!(Cidr::parse("10.0.0.0/").is_none());
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0.0/8").is_some());
    }

    #[test]
    fn cidr() {
        let n = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(n.contains("203.0.113.200".parse().unwrap()));
        assert!(!n.contains("203.0.114.1".parse().unwrap()));
        let one = Cidr::parse("10.1.2.3").unwrap();
        assert!(one.contains("10.1.2.3".parse().unwrap()));
        assert!(!one.contains("10.1.2.4".parse().unwrap()));
        let all = Cidr::parse("0.0.0.0/0").unwrap();
        assert!(all.contains("1.2.3.4".parse().unwrap()));
        let v6 = Cidr::parse("2001:DB8:1234:5678::/64").unwrap();
        assert!(v6.contains("2001:db8:1234:5678::1".parse().unwrap()));
        assert!(!v6.contains("2001:db8:1234:5679::1".parse().unwrap()));
        assert!(!v6.contains("10.0.0.1".parse().unwrap()));
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("nope").is_none());
        assert!(Cidr::parse("10.0.0.0/").is_none());
    }

    #[test]
    fn base64_values() {
        for s in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let e = BASE64.encode(s.as_bytes());
            assert_eq!(BASE64.decode(&e).unwrap(), s.as_bytes());
        }
        assert_eq!(BASE64.encode(b"foobar"), "Zm9vYmFy");
        assert_eq!(BASE64.encode(b"fo"), "Zm8=");
        assert_eq!(BASE64.decode("Zm8").unwrap(), b"fo");
        assert_eq!(
            BASE64.decode("QmluYXJ5VmFsdWVJbkJhc2U2NA==").unwrap(),
            b"BinaryValueInBase64"
        );
        assert!(BASE64.decode("a").is_err());
        assert!(BASE64.decode("@@@@").is_err());
    }
}
