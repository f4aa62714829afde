//! Wildcard patterns, policy variables and ARN-segment matching.
//!
//! Patterns are tokenised once, when the policy is parsed, into [`Atom`]s;
//! evaluation walks the atoms against the request text without allocating,
//! except when a pattern holds policy variables (they are substituted into a
//! temporary buffer first).

use std::borrow::Cow;

/// Resolves a policy variable (`${key}`) to its single value.
pub(crate) trait Resolve {
    /// `key` is lowercase. `None` when the key is absent or multivalued.
    fn resolve(&self, key: &str) -> Option<Cow<'_, str>>;
}

/// A resolver that knows no variables.
pub(crate) struct NoVars;

impl Resolve for NoVars {
    fn resolve(&self, _key: &str) -> Option<Cow<'_, str>> {
        None
    }
}

/// A policy variable reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VarRef {
    /// The context key, lowercase.
    pub(crate) key: String,
    /// The default from `${key, 'default'}`.
    pub(crate) default: Option<String>,
}

/// One element of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Atom {
    /// A literal character.
    Char(char),
    /// `*`: any run of characters (including none).
    Star,
    /// `?`: exactly one character.
    One,
    /// `${...}`: replaced by the variable's value, taken literally.
    Var(Box<VarRef>),
}

/// Whether letters compare case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    Sensitive,
    Insensitive,
}

/// Splits `text` into atoms. With `wildcards` false, `*` and `?` are
/// literal (e.g. `StringEquals`). With `variables` false (policy version
/// `2008-10-17`), `${...}` is literal text.
pub(crate) fn tokenize(text: &str, wildcards: bool, variables: bool) -> Vec<Atom> {
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if variables
            && rest.starts_with("${")
            && let Some(end) = rest[2..].find('}')
            && let Some(atom) = parse_variable(&rest[2..2 + end])
        {
            out.push(atom);
            rest = &rest[2 + end + 1..];
            continue;
        }
        out.push(match c {
            '*' if wildcards => Atom::Star,
            '?' if wildcards => Atom::One,
            _ => Atom::Char(c),
        });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Parses the inside of `${...}`; `None` when it is not a valid variable
/// (the text is then kept literally).
fn parse_variable(inner: &str) -> Option<Atom> {
    let t = inner.trim();
    match t {
        "*" => return Some(Atom::Char('*')),
        "?" => return Some(Atom::Char('?')),
        "$" => return Some(Atom::Char('$')),
        _ => {}
    }
    let (key, default) = match t.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            if d.len() >= 2 && d.starts_with('\'') && d.ends_with('\'') {
                (k.trim(), Some(d[1..d.len() - 1].to_owned()))
            } else {
                return None;
            }
        }
        None => (t, None),
    };
    if key.is_empty() || key.contains(char::is_whitespace) {
        return None;
    }
    Some(Atom::Var(Box::new(VarRef {
        key: key.to_lowercase(),
        default,
    })))
}

/// A compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Glob {
    atoms: Vec<Atom>,
    has_vars: bool,
}

impl Glob {
    pub(crate) fn from_atoms(atoms: Vec<Atom>) -> Glob {
        let has_vars = atoms.iter().any(|a| matches!(a, Atom::Var(_)));
        Glob { atoms, has_vars }
    }

    pub(crate) fn new(text: &str, wildcards: bool, variables: bool) -> Glob {
        Glob::from_atoms(tokenize(text, wildcards, variables))
    }

    pub(crate) fn has_vars(&self) -> bool {
        self.has_vars
    }

    /// Whether `text` matches. A variable that cannot be resolved (and has
    /// no default) makes the pattern match nothing.
    pub(crate) fn is_match(&self, text: &str, case: Case, vars: &dyn Resolve) -> bool {
        if !self.has_vars {
            return glob_match(&self.atoms, text, case);
        }
        match self.substitute(vars) {
            Some(atoms) => glob_match(&atoms, text, case),
            None => false,
        }
    }

    /// The pattern with variables replaced by their (literal) values, or
    /// `None` when one cannot be resolved.
    fn substitute(&self, vars: &dyn Resolve) -> Option<Vec<Atom>> {
        let mut out = Vec::with_capacity(self.atoms.len() + 16);
        for atom in &self.atoms {
            match atom {
                Atom::Var(v) => {
                    let value = vars
                        .resolve(&v.key)
                        .or_else(|| v.default.as_deref().map(Cow::Borrowed))?;
                    out.extend(value.chars().map(Atom::Char));
                }
                Atom::Char(c) => out.push(Atom::Char(*c)),
                Atom::Star => out.push(Atom::Star),
                Atom::One => out.push(Atom::One),
            }
        }
        Some(out)
    }

    /// The text with variables substituted and wildcards kept as written;
    /// `None` when a variable cannot be resolved.
    pub(crate) fn render(&self, vars: &dyn Resolve) -> Option<Cow<'_, str>> {
        let atoms: Cow<'_, [Atom]> = if self.has_vars {
            Cow::Owned(self.substitute(vars)?)
        } else {
            Cow::Borrowed(&self.atoms)
        };
        Some(Cow::Owned(
            atoms
                .iter()
                .map(|a| match a {
                    Atom::Char(c) => *c,
                    Atom::Star => '*',
                    Atom::One => '?',
                    Atom::Var(_) => '\u{fffd}',
                })
                .collect(),
        ))
    }
}

fn chars_eq(p: char, c: char, case: Case) -> bool {
    if p == c {
        return true;
    }
    match case {
        Case::Sensitive => false,
        Case::Insensitive => {
            if p.is_ascii() && c.is_ascii() {
                p.eq_ignore_ascii_case(&c)
            } else {
                p.to_lowercase().eq(c.to_lowercase())
            }
        }
    }
}

/// Iterative wildcard match with single-star backtracking: linear for
/// patterns with at most one `*`, O(n·m) worst case.
fn glob_match(atoms: &[Atom], text: &str, case: Case) -> bool {
    let mut ai = 0usize;
    let mut ti = 0usize;
    // (atom index after the last star, text index it is currently matched up to)
    let mut backtrack: Option<(usize, usize)> = None;
    loop {
        if let Some(atom) = atoms.get(ai) {
            let next = text[ti..].chars().next();
            match atom {
                Atom::Star => {
                    backtrack = Some((ai + 1, ti));
                    ai += 1;
                    continue;
                }
                Atom::One => {
                    if let Some(c) = next {
                        ai += 1;
                        ti += c.len_utf8();
                        continue;
                    }
                }
                Atom::Char(p) => {
                    if let Some(c) = next
                        && chars_eq(*p, c, case)
                    {
                        ai += 1;
                        ti += c.len_utf8();
                        continue;
                    }
                }
                Atom::Var(_) => return false,
            }
        } else if ti == text.len() {
            return true;
        }
        // Mismatch: let the last star swallow one more character.
        match backtrack {
            Some((star_ai, star_ti)) => match text[star_ti..].chars().next() {
                Some(c) => {
                    let nt = star_ti + c.len_utf8();
                    backtrack = Some((star_ai, nt));
                    ai = star_ai;
                    ti = nt;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

/// An ARN pattern for `Resource`/`NotResource` and the `Arn...` condition
/// operators.
///
/// AWS matches ARNs segment by segment: the pattern and the value are each
/// split at the first five colons, and `*`/`?` never cross a colon within the
/// first five segments; the sixth segment (the resource part) is the rest of
/// the string, so a `*` there matches `/` and `:` alike
/// (`arn:aws:ecs:us-east-1:111122223333:*` matches
/// `...:task-definition/web:3`). A pattern with fewer than six segments
/// (e.g. `*`, `arn:aws:s3:*`) matches its last segment against the rest of
/// the value; a value with fewer segments than the pattern never matches.
///
/// Unsure: how AWS treats patterns with fewer than six segments is not
/// documented; the rule above makes `*` and `arn:aws:SERVICE:*` match every
/// ARN of that form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArnPattern {
    segments: Vec<Glob>,
}

impl ArnPattern {
    pub(crate) fn new(text: &str, variables: bool) -> ArnPattern {
        let atoms = tokenize(text, true, variables);
        let mut segments = Vec::with_capacity(6);
        let mut current = Vec::new();
        for atom in atoms {
            if atom == Atom::Char(':') && segments.len() < 5 {
                segments.push(Glob::from_atoms(std::mem::take(&mut current)));
            } else {
                current.push(atom);
            }
        }
        segments.push(Glob::from_atoms(current));
        ArnPattern { segments }
    }

    pub(crate) fn is_match(&self, value: &str, vars: &dyn Resolve) -> bool {
        let mut parts = value.splitn(self.segments.len(), ':');
        for seg in &self.segments {
            match parts.next() {
                Some(part) if seg.is_match(part, Case::Sensitive, vars) => {}
                _ => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<String, String>);
    impl Resolve for Map {
        fn resolve(&self, key: &str) -> Option<Cow<'_, str>> {
            self.0.get(key).map(|s| Cow::Borrowed(s.as_str()))
        }
    }

    fn g(p: &str, t: &str) -> bool {
        Glob::new(p, true, true).is_match(t, Case::Sensitive, &NoVars)
    }

    #[test]
    fn glob_basics() {
        assert!(g("*", ""));
        assert!(g("*", "anything"));
        assert!(g("a*c", "abc"));
        assert!(g("a*c", "ac"));
        assert!(!g("a*c", "ab"));
        assert!(g("a?c", "abc"));
        assert!(!g("a?c", "ac"));
        assert!(g("*log*", "carlossalazar-logs"));
        assert!(g("a*b*c", "axxbyyc"));
        assert!(!g("a*b*c", "axxbyy"));
        assert!(g("??????", "AbCdEf"));
        assert!(!g("??????", "AbCdE"));
        assert!(g("é*", "été"));
        assert!(!g("abc", "ABC"));
    }

    #[test]
    fn glob_case_insensitive() {
        let p = Glob::new("secretsmanager:Get*", true, false);
        assert!(p.is_match("SecretsManager:GETSECRETVALUE", Case::Insensitive, &NoVars));
        assert!(!p.is_match("SecretsManager:GETSECRETVALUE", Case::Sensitive, &NoVars));
    }

    #[test]
    fn literal_when_no_wildcards() {
        let p = Glob::new("a*", false, false);
        assert!(p.is_match("a*", Case::Sensitive, &NoVars));
        assert!(!p.is_match("ab", Case::Sensitive, &NoVars));
    }

    #[test]
    fn variables() {
        let vars = Map(HashMap::from([
            ("aws:username".to_owned(), "alice".to_owned()),
            ("aws:principaltag/team".to_owned(), "yel*low".to_owned()),
        ]));
        let p = Glob::new("home/${aws:username}/*", true, true);
        assert!(p.is_match("home/alice/x", Case::Sensitive, &vars));
        assert!(!p.is_match("home/bob/x", Case::Sensitive, &vars));
        // A variable value is literal, even when it holds a wildcard character.
        let p = Glob::new("b-${aws:PrincipalTag/team}", true, true);
        assert!(p.is_match("b-yel*low", Case::Sensitive, &vars));
        assert!(!p.is_match("b-yelXlow", Case::Sensitive, &vars));
        // Unresolvable: matches nothing, even `*`-like text.
        let p = Glob::new("${aws:userid}*", true, true);
        assert!(!p.is_match("x", Case::Sensitive, &vars));
        // Defaults.
        let p = Glob::new("b-${aws:PrincipalTag/dept, 'company-wide'}", true, true);
        assert!(p.is_match("b-company-wide", Case::Sensitive, &vars));
        let p = Glob::new("b-${ aws:PrincipalTag/team , 'x'}", true, true);
        assert!(p.is_match("b-yel*low", Case::Sensitive, &vars));
        // Specials.
        let p = Glob::new("a${*}b${?}c${$}", true, true);
        assert!(p.is_match("a*b?c$", Case::Sensitive, &vars));
        assert!(!p.is_match("axb?c$", Case::Sensitive, &vars));
        // Version 2008: no variables, `${` is literal and `*` inside is a wildcard.
        let p = Glob::new("${aws:username}", true, false);
        assert!(p.is_match("${aws:username}", Case::Sensitive, &vars));
        assert!(!p.is_match("alice", Case::Sensitive, &vars));
        // Unclosed: literal.
        let p = Glob::new("a${b", true, true);
        assert!(p.is_match("a${b", Case::Sensitive, &vars));
    }

    #[test]
    fn arn_segments() {
        let a = |p: &str, v: &str| ArnPattern::new(p, true).is_match(v, &NoVars);
        assert!(a("*", "arn:aws:s3:::b"));
        assert!(a("*", "*"));
        assert!(a("arn:aws:s3:::*", "arn:aws:s3:::bucket/key/with:colon"));
        assert!(a(
            "arn:aws:ecs:us-east-1:111122223333:*",
            "arn:aws:ecs:us-east-1:111122223333:task-definition/web:3"
        ));
        assert!(!a(
            "arn:aws:ecs:*:111122223333:*",
            "arn:aws:ecs:us-east-1:999999999999:task/x"
        ));
        // The AWS documentation example: `*` does not cross colons in the
        // first five segments.
        assert!(!a(
            "arn:aws:someservice:*:111122223333:finance/*",
            "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt"
        ));
        assert!(a("arn:aws:s3:*", "arn:aws:s3:::bucket"));
        assert!(!a("arn:aws:s3:::bucket/*", "*"));
        assert!(!a("arn:aws:s3:::bucket", "arn:aws:s3"));
    }

    #[test]
    fn arn_variable_with_colon_is_not_a_separator() {
        let vars = Map(HashMap::from([(
            "cognito-identity.amazonaws.com:sub".to_owned(),
            "us-east-1:1234".to_owned(),
        )]));
        let p = ArnPattern::new(
            "arn:aws:s3:::bucket/${cognito-identity.amazonaws.com:sub}/*",
            true,
        );
        assert!(p.is_match("arn:aws:s3:::bucket/us-east-1:1234/f", &vars));
        assert!(!p.is_match("arn:aws:s3:::bucket/us-east-1:9/f", &vars));
    }
}
