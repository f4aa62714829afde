//! Where a policy's statements sit in its text, and the condition keys each names as written:
//! what IAM's policy simulator reports (`StartPosition`/`EndPosition` of a matched statement,
//! `GetContextKeysFor*Policy`).
//!
//! Positions are IAM's: lines count from 1; a statement starts at the column just after its
//! opening `{` and ends at the column just after its closing `}` (columns counted in characters
//! from 1). AWS documents this only by example: `{"Version":"2012-10-17","Statement":{…}}` on
//! one line reports a statement from column 38 to one past its last brace.

use crate::json::Json;

/// A line and column in a policy's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// Where one statement starts and ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatementSpan {
    pub start: Position,
    pub end: Position,
}

/// The spans of the statements of `text`, in document order (the order of
/// [`crate::Policy::statements`]). Empty for a text that is not a policy.
pub fn statement_spans(text: &str) -> Vec<StatementSpan> {
    let mut s = Scanner::new(text);
    s.ws();
    if !s.eat('{') {
        return Vec::new();
    }
    let mut spans = Vec::new();
    loop {
        s.ws();
        let Some(key) = s.string() else {
            return spans;
        };
        s.ws();
        if !s.eat(':') {
            return spans;
        }
        s.ws();
        if key == "Statement" {
            match s.peek() {
                Some('{') => spans.extend(s.object_span()),
                Some('[') => {
                    s.bump();
                    loop {
                        s.ws();
                        match s.peek() {
                            Some('{') => spans.extend(s.object_span()),
                            Some(']') => {
                                s.bump();
                                break;
                            }
                            Some(_) => s.skip_value(),
                            None => return spans,
                        }
                        s.ws();
                        if !s.eat(',') {
                            s.ws();
                            s.eat(']');
                            break;
                        }
                    }
                }
                _ => s.skip_value(),
            }
        } else {
            s.skip_value();
        }
        s.ws();
        if !s.eat(',') {
            return spans;
        }
    }
}

/// The condition keys each statement of `text` names, as written (operators' keys in document
/// order, each once per statement). Empty for a text that is not JSON.
pub fn statement_condition_keys(text: &str) -> Vec<Vec<String>> {
    let Ok(Json::Object(top)) = Json::parse(text) else {
        return Vec::new();
    };
    let statements: Vec<&Json> = match top.iter().find(|(k, _)| k == "Statement") {
        Some((_, Json::Array(items))) => items.iter().collect(),
        Some((_, obj @ Json::Object(_))) => vec![obj],
        _ => return Vec::new(),
    };
    statements
        .into_iter()
        .map(|st| {
            let mut keys: Vec<String> = Vec::new();
            let Json::Object(members) = st else {
                return keys;
            };
            for (name, value) in members {
                if name != "Condition" {
                    continue;
                }
                let Json::Object(ops) = value else { continue };
                for (_, block) in ops {
                    let Json::Object(entries) = block else {
                        continue;
                    };
                    for (key, _) in entries {
                        if !keys.iter().any(|k| k.eq_ignore_ascii_case(key)) {
                            keys.push(key.clone());
                        }
                    }
                }
            }
            keys
        })
        .collect()
}

/// A character cursor that counts lines and columns.
struct Scanner<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
    line: u32,
    column: u32,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Scanner<'a> {
        Scanner {
            chars: text.chars().peekable(),
            line: 1,
            column: 1,
        }
    }

    fn peek(&mut self) -> Option<char> {
        self.chars.peek().copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.chars.next()?;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.column = 1;
        } else {
            self.column = self.column.saturating_add(1);
        }
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn ws(&mut self) {
        while self
            .peek()
            .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
        {
            self.bump();
        }
    }

    /// A string's raw content (escapes left as written), the cursor past its closing quote.
    fn string(&mut self) -> Option<String> {
        if !self.eat('"') {
            return None;
        }
        let mut out = String::new();
        loop {
            match self.bump()? {
                '"' => return Some(out),
                '\\' => {
                    out.push('\\');
                    out.push(self.bump()?);
                }
                c => out.push(c),
            }
        }
    }

    /// Skips one value; brackets are counted, not recursed into.
    fn skip_value(&mut self) {
        match self.peek() {
            Some('"') => {
                self.string();
            }
            Some('{' | '[') => {
                self.container_end();
            }
            _ => {
                while self
                    .peek()
                    .is_some_and(|c| !matches!(c, ',' | '}' | ']' | ' ' | '\t' | '\n' | '\r'))
                {
                    self.bump();
                }
            }
        }
    }

    /// Moves past the object or array at the cursor; the position of its closing bracket.
    fn container_end(&mut self) -> Option<Position> {
        let mut depth = 0usize;
        loop {
            match self.peek()? {
                '"' => {
                    self.string()?;
                }
                '{' | '[' => {
                    depth += 1;
                    self.bump();
                }
                '}' | ']' => {
                    depth = depth.saturating_sub(1);
                    let at = Position {
                        line: self.line,
                        column: self.column,
                    };
                    self.bump();
                    if depth == 0 {
                        return Some(at);
                    }
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// The span of the object at the cursor, in IAM's convention.
    fn object_span(&mut self) -> Option<StatementSpan> {
        let start = Position {
            line: self.line,
            column: self.column.saturating_add(1),
        };
        let end = self.container_end()?;
        Some(StatementSpan {
            start,
            end: Position {
                line: end.line,
                column: end.column.saturating_add(1),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(l1: u32, c1: u32, l2: u32, c2: u32) -> StatementSpan {
        StatementSpan {
            start: Position {
                line: l1,
                column: c1,
            },
            end: Position {
                line: l2,
                column: c2,
            },
        }
    }

    #[test]
    fn one_statement_on_one_line_as_aws_reports_it() {
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}"#;
        assert_eq!(statement_spans(doc), vec![span(1, 38, 1, 167)]);
        assert_eq!(
            statement_condition_keys(doc),
            vec![vec!["aws:CurrentTime".to_string()]]
        );
    }

    #[test]
    fn statements_of_an_array_across_lines() {
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"x}\\\"{\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\", \"Action\": [\"s3:*\"], \"Resource\": \"*\"},\n    {\n      \"Effect\": \"Deny\",\n      \"Action\": \"s3:Put*\",\n      \"Resource\": \"arn:aws:s3:::b/{x}\",\n      \"Condition\": {\"StringEquals\": {\"s3:prefix\": \"a\", \"aws:username\": \"b\"}, \"Bool\": {\"S3:Prefix\": \"true\"}}\n    }\n  ]\n}";
        assert_eq!(
            statement_spans(doc),
            vec![span(5, 6, 5, 61), span(6, 6, 11, 6)]
        );
        assert_eq!(
            statement_condition_keys(doc),
            vec![
                vec![],
                vec!["s3:prefix".to_string(), "aws:username".to_string()]
            ]
        );
    }

    #[test]
    fn not_a_policy_has_no_statements() {
        assert!(statement_spans("[1,2]").is_empty());
        assert!(statement_spans("{\"Statement\": ").is_empty());
        assert!(statement_condition_keys("nope").is_empty());
    }
}
