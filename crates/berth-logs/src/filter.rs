//! Filter patterns for unstructured log events: terms that must all occur, quoted phrases,
//! `?term` alternatives (at least one must occur) and `-term` exclusions (none may occur).
//! Matching is case-sensitive substring matching of each term in the event's message.
//!
//! JSON patterns (`{ $.field = … }`), space-delimited patterns (`[a, b, …]`) and regular
//! expressions (`%…%`) are refused: berth cannot match them, and an answer that matched
//! nothing would be a wrong answer.

use crate::LogsError;

/// A parsed filter pattern. The empty pattern matches every event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pattern {
    /// Every one of these must occur.
    pub all: Vec<String>,
    /// When not empty, at least one of these must occur.
    pub any: Vec<String>,
    /// None of these may occur.
    pub none: Vec<String>,
}

/// Why a pattern is refused, in berth's words.
fn unsupported(kind: &str) -> LogsError {
    LogsError::InvalidParameter(format!(
        "berth does not support {kind} filter patterns; it matches terms, \"quoted phrases\", ?alternatives and -exclusions"
    ))
}

impl Pattern {
    /// Parses `text` (at most 1,024 characters, as the model says).
    pub fn parse(text: &str) -> Result<Pattern, LogsError> {
        if text.chars().count() > 1024 {
            return Err(crate::constraint(
                text,
                "filterPattern",
                "Member must have length less than or equal to 1024",
            ));
        }
        let trimmed = text.trim();
        match trimmed.chars().next() {
            Some('{') => return Err(unsupported("JSON")),
            Some('[') => return Err(unsupported("space-delimited")),
            Some('%') => return Err(unsupported("regular expression")),
            _ => {}
        }
        let mut pattern = Pattern::default();
        let mut rest = trimmed;
        while !rest.is_empty() {
            let (kind, after) = match rest.as_bytes().first() {
                Some(b'?') => (Kind::Any, &rest[1..]),
                Some(b'-') if rest.len() > 1 => (Kind::None, &rest[1..]),
                _ => (Kind::All, rest),
            };
            let (term, next) = if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').ok_or_else(|| {
                    LogsError::InvalidParameter("Invalid filter pattern".to_string())
                })?;
                (&quoted[..end], &quoted[end + 1..])
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                (&after[..end], &after[end..])
            };
            if !term.is_empty() {
                let list = match kind {
                    Kind::All => &mut pattern.all,
                    Kind::Any => &mut pattern.any,
                    Kind::None => &mut pattern.none,
                };
                list.push(term.to_string());
            }
            rest = next.trim_start();
        }
        Ok(pattern)
    }

    /// Whether `message` matches.
    pub fn matches(&self, message: &str) -> bool {
        self.all.iter().all(|t| message.contains(t.as_str()))
            && (self.any.is_empty() || self.any.iter().any(|t| message.contains(t.as_str())))
            && !self.none.iter().any(|t| message.contains(t.as_str()))
    }
}

enum Kind {
    All,
    Any,
    None,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn m(p: &str, msg: &str) -> bool {
        Pattern::parse(p).unwrap().matches(msg)
    }

    #[test]
    fn terms_all_must_match() {
        assert!(m("", "anything"));
        assert!(m("ERROR", "[ERROR] disk full"));
        assert!(!m("ERROR", "[error] disk full"));
        assert!(m("ERROR disk", "[ERROR] disk full"));
        assert!(!m("ERROR cpu", "[ERROR] disk full"));
    }

    #[test]
    fn phrases_alternatives_exclusions() {
        assert!(m("\"disk full\"", "ERROR disk full now"));
        assert!(!m("\"disk full\"", "full disk"));
        assert!(m("?ERROR ?WARN", "WARN low memory"));
        assert!(!m("?ERROR ?WARN", "INFO ok"));
        assert!(m("ERROR -Exiting", "ERROR retrying"));
        assert!(!m("ERROR -Exiting", "ERROR Exiting now"));
        assert!(!m("-\"going down\"", "server going down"));
        assert_eq!(
            Pattern::parse("  a  ?b -c \"d e\"").unwrap(),
            Pattern {
                all: vec!["a".into(), "d e".into()],
                any: vec!["b".into()],
                none: vec!["c".into()],
            }
        );
    }

    #[test]
    fn refuses_what_it_cannot_match() {
        for p in ["{ $.level = \"error\" }", "[ip, user]", "%ERR.*%", "\"open"] {
            assert!(
                matches!(Pattern::parse(p), Err(LogsError::InvalidParameter(_))),
                "{p}"
            );
        }
        assert!(Pattern::parse(&"a".repeat(1025)).is_err());
    }
}
