//! Quoting what a client sent, in messages and logs, with a bound.

use std::borrow::Cow;

/// At most this many characters of a client's value are quoted; a longer value is cut there
/// and ends with `…`.
pub const QUOTE_LIMIT: usize = 128;

/// `value` as it may appear in an error message or a log line: at most [`QUOTE_LIMIT`]
/// characters, control characters escaped (`\n`, `\u{1b}`), and `…` appended when the value
/// was cut. A short value without control characters is returned as it is.
///
/// Every message of this crate that repeats something the client sent (a header, a parameter,
/// a credential) quotes it through this, so a client cannot make berth write or send back more
/// than a few hundred bytes of its own input per message.
pub fn bounded(value: &str) -> Cow<'_, str> {
    let short = value.len() <= QUOTE_LIMIT;
    if short && !value.chars().any(char::is_control) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(QUOTE_LIMIT + 8);
    for (i, c) in value.chars().enumerate() {
        if i == QUOTE_LIMIT {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_values_are_kept() {
        assert!(matches!(bounded("us-east-1"), Cow::Borrowed("us-east-1")));
        assert_eq!(bounded(""), "");
        let exact = "a".repeat(QUOTE_LIMIT);
        assert_eq!(bounded(&exact), exact);
    }

    #[test]
    fn long_values_are_cut() {
        let long = "x".repeat(380_000);
        let quoted = bounded(&long);
        assert_eq!(quoted, format!("{}…", "x".repeat(QUOTE_LIMIT)));
        // Multi-byte characters are counted as characters and never split.
        let wide = "é".repeat(QUOTE_LIMIT + 1);
        assert_eq!(bounded(&wide), format!("{}…", "é".repeat(QUOTE_LIMIT)));
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(bounded("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
        let many = "\n".repeat(1000);
        let quoted = bounded(&many);
        assert!(quoted.ends_with('…'));
        assert_eq!(quoted.matches("\\n").count(), QUOTE_LIMIT);
    }
}
