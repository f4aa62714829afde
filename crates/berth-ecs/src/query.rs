//! The cluster query language of `memberOf` placement constraints: a parser and an evaluator
//! over what berth knows about one container instance. Pure.
//!
//! An expression is `subject operator [argument]`, combined with `and`/`&&`, `or`/`||`,
//! `not`/`!` and parentheses (`not` binds tightest, then `and`, then `or`). Subjects:
//! `attribute:NAME`, `ec2InstanceId`, `registeredAt`, `runningTasksCount`, `agentConnected`,
//! `task:group`. Operators: `==`/`equals`, `!=`/`not_equals`, `>`/`greater_than`,
//! `>=`/`greater_than_equal`, `<`/`less_than`, `<=`/`less_than_equal`, `exists`,
//! `!exists`/`not_exists`, `in`, `!in`/`not_in` (with a list `[a, b]`), `=~`/`matches`,
//! `!~`/`not_matches` (a regular expression matched against the whole value).
//!
//! AWS documents the syntax but not its error messages, nor what a negated operator says of an
//! instance that lacks the attribute: here `!=`, `not_in` and `not_matches` are the negations
//! of `==`, `in` and `matches` (true when the attribute is absent). AWS's patterns are Java
//! regular expressions; berth's are the `regex-lite` crate's (the common subset agrees).

use std::fmt;

use regex_lite::Regex;

use crate::model::Attribute;

/// The longest expression AWS accepts (`PlacementConstraint.expression`).
pub const MAX_EXPRESSION_CHARS: usize = 2000;

/// How deeply parentheses and `not` may nest (bounds the parser's recursion).
const MAX_DEPTH: usize = 64;

/// What an expression can ask of one container instance.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub attributes: &'a [Attribute],
    pub ec2_instance_id: Option<&'a str>,
    /// Epoch seconds.
    pub registered_at: u64,
    pub running_tasks_count: u32,
    pub agent_connected: bool,
    /// The groups of the instance's tasks that have not stopped (one entry per task).
    pub task_groups: &'a [String],
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Test(Test),
}

/// One `subject operator [argument]`.
#[derive(Debug, Clone)]
pub struct Test {
    subject: Subject,
    op: Op,
    arg: Arg,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Subject {
    Attribute(String),
    Ec2InstanceId,
    RegisteredAt,
    RunningTasksCount,
    AgentConnected,
    TaskGroup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    Exists,
    NotExists,
    In,
    NotIn,
    Matches,
    NotMatches,
}

#[derive(Debug, Clone)]
enum Arg {
    None,
    Value(String),
    List(Vec<String>),
    Pattern(String, Regex),
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word {
            "==" | "equals" => Op::Eq,
            "!=" | "not_equals" => Op::Ne,
            ">" | "greater_than" => Op::Gt,
            ">=" | "greater_than_equal" => Op::Ge,
            "<" | "less_than" => Op::Lt,
            "<=" | "less_than_equal" => Op::Le,
            "exists" => Op::Exists,
            "!exists" | "not_exists" => Op::NotExists,
            "in" => Op::In,
            "!in" | "not_in" => Op::NotIn,
            "=~" | "matches" => Op::Matches,
            "!~" | "not_matches" => Op::NotMatches,
            _ => return None,
        })
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Exists => "exists",
            Op::NotExists => "!exists",
            Op::In => "in",
            Op::NotIn => "!in",
            Op::Matches => "=~",
            Op::NotMatches => "!~",
        }
    }

    fn ordering(self) -> bool {
        matches!(self, Op::Gt | Op::Ge | Op::Lt | Op::Le)
    }
}

impl Subject {
    fn parse(word: &str) -> Option<Subject> {
        if let Some(name) = word.strip_prefix("attribute:") {
            return (!name.is_empty()).then(|| Subject::Attribute(name.to_string()));
        }
        Some(match word {
            "ec2InstanceId" => Subject::Ec2InstanceId,
            "registeredAt" => Subject::RegisteredAt,
            "runningTasksCount" => Subject::RunningTasksCount,
            "agentConnected" => Subject::AgentConnected,
            "task:group" => Subject::TaskGroup,
            _ => return None,
        })
    }

    /// Whether the subject takes `op` (as AWS's guide lists them per subject).
    fn allows(&self, op: Op) -> bool {
        match self {
            Subject::Attribute(_) => true,
            Subject::Ec2InstanceId | Subject::AgentConnected | Subject::TaskGroup => !op.ordering(),
            Subject::RegisteredAt | Subject::RunningTasksCount => {
                matches!(op, Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le)
            }
        }
    }
}

impl fmt::Display for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subject::Attribute(n) => write!(f, "attribute:{n}"),
            Subject::Ec2InstanceId => f.write_str("ec2InstanceId"),
            Subject::RegisteredAt => f.write_str("registeredAt"),
            Subject::RunningTasksCount => f.write_str("runningTasksCount"),
            Subject::AgentConnected => f.write_str("agentConnected"),
            Subject::TaskGroup => f.write_str("task:group"),
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Or(a, b) => write!(f, "({a} or {b})"),
            Expr::And(a, b) => write!(f, "({a} and {b})"),
            Expr::Not(a) => write!(f, "not ({a})"),
            Expr::Test(t) => {
                write!(f, "{} {}", t.subject, t.op.symbol())?;
                match &t.arg {
                    Arg::None => Ok(()),
                    Arg::Value(v) => write!(f, " {v}"),
                    Arg::List(l) => write!(f, " [{}]", l.join(", ")),
                    Arg::Pattern(p, _) => write!(f, " {p}"),
                }
            }
        }
    }
}

/// Why an expression does not parse (berth's words: AWS's are not documented).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses an expression.
pub fn parse(text: &str) -> Result<Expr, ParseError> {
    if text.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(ParseError(format!(
            "the expression is longer than {MAX_EXPRESSION_CHARS} characters"
        )));
    }
    let mut p = Parser {
        s: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    let e = p.or()?;
    p.ws();
    if let Some(c) = p.peek() {
        return Err(p.err(&format!("unexpected '{c}'")));
    }
    Ok(e)
}

struct Parser {
    s: Vec<char>,
    pos: usize,
    depth: usize,
}

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '/' | '@' | '*' | '+' | '$')
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.pos).copied()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.s.get(self.pos + n).copied()
    }

    fn ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn err(&self, what: &str) -> ParseError {
        ParseError(format!("{what} at position {}", self.pos + 1))
    }

    /// A run of word characters, without consuming it.
    fn look_word(&self) -> String {
        self.s
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| word_char(**c))
            .collect()
    }

    /// `word` as a whole keyword next (not the start of a longer word).
    fn keyword(&mut self, word: &str) -> bool {
        self.ws();
        if self.look_word() == word {
            self.pos += word.chars().count();
            true
        } else {
            false
        }
    }

    fn symbol(&mut self, sym: &str) -> bool {
        self.ws();
        let n = sym.chars().count();
        let here: String = self
            .s
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .take(n)
            .collect();
        if here == sym {
            self.pos += n;
            true
        } else {
            false
        }
    }

    fn nest(&mut self) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.err("the expression nests too deeply"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.and()?;
        while self.symbol("||") || self.keyword("or") {
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.unary()?;
        while self.symbol("&&") || self.keyword("and") {
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.ws();
        if self.keyword("not") || (self.peek() == Some('!') && self.symbol("!")) {
            self.nest()?;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.symbol("(") {
            self.nest()?;
            let inner = self.or()?;
            if !self.symbol(")") {
                return Err(self.err("missing ')'"));
            }
            self.depth -= 1;
            return Ok(inner);
        }
        self.test().map(Expr::Test)
    }

    fn test(&mut self) -> Result<Test, ParseError> {
        self.ws();
        let word = self.look_word();
        if word.is_empty() {
            return Err(match self.peek() {
                Some(c) => self.err(&format!("expected a subject, found '{c}'")),
                None => self.err("expected a subject"),
            });
        }
        let subject =
            Subject::parse(&word).ok_or_else(|| self.err(&format!("unknown subject '{word}'")))?;
        self.pos += word.chars().count();
        self.ws();
        let op_text: String =
            if self.peek() == Some('!') && self.peek_at(1).is_some_and(char::is_alphabetic) {
                self.pos += 1;
                let w = format!("!{}", self.look_word());
                self.pos -= 1;
                w
            } else if self.peek().is_some_and(|c| "=!<>~".contains(c)) {
                self.s
                    .get(self.pos..)
                    .unwrap_or_default()
                    .iter()
                    .take_while(|c| "=!<>~".contains(**c))
                    .collect()
            } else {
                self.look_word()
            };
        let op = Op::parse(&op_text)
            .ok_or_else(|| self.err(&format!("expected an operator after '{subject}'")))?;
        self.pos += op_text.chars().count();
        if !subject.allows(op) {
            return Err(self.err(&format!(
                "'{subject}' does not take the operator '{}'",
                op.symbol()
            )));
        }
        let arg = match op {
            Op::Exists | Op::NotExists => Arg::None,
            Op::In | Op::NotIn => Arg::List(self.list()?),
            Op::Matches | Op::NotMatches => {
                let p = self.pattern()?;
                let re = Regex::new(&format!("^(?:{p})$"))
                    .map_err(|e| self.err(&format!("invalid pattern '{p}': {e}")))?;
                Arg::Pattern(p, re)
            }
            _ => Arg::Value(self.value()?),
        };
        check_arg(&subject, &arg).map_err(|m| self.err(&m))?;
        Ok(Test { subject, op, arg })
    }

    fn value(&mut self) -> Result<String, ParseError> {
        self.ws();
        let v: String = self
            .s
            .get(self.pos..)
            .unwrap_or_default()
            .iter()
            .take_while(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '[' | ']' | ','))
            .collect();
        if v.is_empty() {
            return Err(self.err("expected a value"));
        }
        self.pos += v.chars().count();
        Ok(v)
    }

    fn list(&mut self) -> Result<Vec<String>, ParseError> {
        if !self.symbol("[") {
            return Err(self.err("expected '[' to open the argument list"));
        }
        let mut out = Vec::new();
        loop {
            out.push(self.value()?);
            if self.symbol(",") {
                continue;
            }
            if self.symbol("]") {
                return Ok(out);
            }
            return Err(self.err("expected ',' or ']' in the argument list"));
        }
    }

    /// A pattern: up to whitespace, or up to a `)` that closes a parenthesis opened before it.
    fn pattern(&mut self) -> Result<String, ParseError> {
        self.ws();
        let mut depth = 0usize;
        let mut out = String::new();
        let mut escaped = false;
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                break;
            }
            if !escaped {
                if c == '(' {
                    depth += 1;
                } else if c == ')' {
                    if depth == 0 {
                        break;
                    }
                    depth -= 1;
                }
            }
            escaped = !escaped && c == '\\';
            out.push(c);
            self.pos += 1;
        }
        if out.is_empty() {
            return Err(self.err("expected a pattern"));
        }
        Ok(out)
    }
}

fn check_arg(subject: &Subject, arg: &Arg) -> Result<(), String> {
    let values: Vec<&String> = match arg {
        Arg::Value(v) => vec![v],
        Arg::List(l) => l.iter().collect(),
        _ => return Ok(()),
    };
    for v in values {
        match subject {
            Subject::RegisteredAt if parse_date(v).is_none() => {
                return Err(format!("'{v}' is not a date"));
            }
            Subject::RunningTasksCount if v.parse::<u64>().is_err() => {
                return Err(format!("'{v}' is not a whole number"));
            }
            Subject::AgentConnected if v != "true" && v != "false" => {
                return Err(format!("'{v}' is not true or false"));
            }
            _ => {}
        }
    }
    Ok(())
}

/// Epoch seconds of a `registeredAt` argument: `2018-06-18T22:28:28+00:00`,
/// `2018-06-18T22:28:28Z`, `2018-06-18T22:28:28` (UTC) or `2018-06-18`.
pub fn parse_date(v: &str) -> Option<u64> {
    let (date, rest) = match v.split_once('T') {
        Some((d, r)) => (d, Some(r)),
        None => (v, None),
    };
    if date.len() != 10 {
        return None;
    }
    let Some(rest) = rest else {
        return berth_core::time::parse_iso8601(&format!("{date}T00:00:00Z"));
    };
    let (time, offset) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 0i64)
    } else if rest.len() == 14 {
        let (t, o) = rest.split_at(8);
        let sign = match o.get(..1) {
            Some("+") => 1,
            Some("-") => -1,
            _ => return None,
        };
        let (h, m) = o.get(1..)?.split_once(':')?;
        let secs = h.parse::<i64>().ok()? * 3600 + m.parse::<i64>().ok()? * 60;
        (t, sign * secs)
    } else {
        (rest, 0)
    };
    if time.len() != 8 {
        return None;
    }
    let utc = berth_core::time::parse_iso8601(&format!("{date}T{time}Z"))?;
    u64::try_from(i64::try_from(utc).ok()?.checked_sub(offset)?).ok()
}

fn compare(have: &str, op: Op, want: &str) -> bool {
    let ord = match (have.parse::<f64>(), want.parse::<f64>()) {
        (Ok(a), Ok(b)) => a.partial_cmp(&b),
        _ => Some(have.cmp(want)),
    };
    let Some(ord) = ord else { return false };
    match op {
        Op::Gt => ord.is_gt(),
        Op::Ge => ord.is_ge(),
        Op::Lt => ord.is_lt(),
        Op::Le => ord.is_le(),
        _ => false,
    }
}

impl Test {
    fn eval(&self, f: &Facts<'_>) -> bool {
        // Subjects with many values (task:group) hold when any value does, and their negated
        // operators when none does.
        let values: Vec<String> = match &self.subject {
            Subject::Attribute(name) => f
                .attributes
                .iter()
                .filter(|a| a.name == *name)
                .map(|a| a.value.clone().unwrap_or_default())
                .take(1)
                .collect(),
            Subject::Ec2InstanceId => f.ec2_instance_id.map(String::from).into_iter().collect(),
            Subject::RegisteredAt => vec![f.registered_at.to_string()],
            Subject::RunningTasksCount => vec![f.running_tasks_count.to_string()],
            Subject::AgentConnected => vec![f.agent_connected.to_string()],
            Subject::TaskGroup => f.task_groups.to_vec(),
        };
        let want = |v: &str| -> String {
            match self.subject {
                Subject::RegisteredAt => parse_date(v).unwrap_or_default().to_string(),
                _ => v.to_string(),
            }
        };
        let any = |p: &dyn Fn(&str) -> bool| values.iter().any(|v| p(v));
        match (&self.op, &self.arg) {
            (Op::Exists, _) => !values.is_empty(),
            (Op::NotExists, _) => values.is_empty(),
            (Op::Eq, Arg::Value(w)) => any(&|v| v == want(w)),
            (Op::Ne, Arg::Value(w)) => !any(&|v| v == want(w)),
            (Op::In, Arg::List(l)) => any(&|v| l.iter().any(|w| v == want(w))),
            (Op::NotIn, Arg::List(l)) => !any(&|v| l.iter().any(|w| v == want(w))),
            (Op::Matches, Arg::Pattern(_, re)) => any(&|v| re.is_match(v)),
            (Op::NotMatches, Arg::Pattern(_, re)) => !any(&|v| re.is_match(v)),
            (op, Arg::Value(w)) if op.ordering() => any(&|v| compare(v, *op, &want(w))),
            _ => false,
        }
    }
}

impl Expr {
    /// The custom attribute (name, value) that would make an instance a member when the
    /// expression asks for one: `attribute:NAME == VALUE`, `attribute:NAME in [VALUE, …]`, or
    /// such a test joined by `and`/`or` with others (the first found). For suggesting
    /// PutAttributes.
    pub fn wanted_attribute(&self) -> Option<(String, String)> {
        match self {
            Expr::Test(Test {
                subject: Subject::Attribute(name),
                op: Op::Eq,
                arg: Arg::Value(v),
            }) => Some((name.clone(), v.clone())),
            Expr::Test(Test {
                subject: Subject::Attribute(name),
                op: Op::In,
                arg: Arg::List(l),
            }) => l.first().map(|v| (name.clone(), v.clone())),
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.wanted_attribute().or_else(|| b.wanted_attribute())
            }
            _ => None,
        }
    }

    /// Whether the instance described by `f` is a member.
    pub fn eval(&self, f: &Facts<'_>) -> bool {
        match self {
            Expr::Or(a, b) => a.eval(f) || b.eval(f),
            Expr::And(a, b) => a.eval(f) && b.eval(f),
            Expr::Not(a) => !a.eval(f),
            Expr::Test(t) => t.eval(f),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use proptest::prelude::*;

    use super::*;

    fn attr(name: &str, value: Option<&str>) -> Attribute {
        Attribute {
            name: name.into(),
            value: value.map(String::from),
            target_type: None,
            target_id: None,
        }
    }

    fn holds(expr: &str, f: &Facts<'_>) -> bool {
        parse(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .eval(f)
    }

    #[test]
    fn the_guides_examples() {
        let attrs = vec![
            attr("ecs.instance-type", Some("t2.small")),
            attr("ecs.availability-zone", Some("us-east-1a")),
            attr("ecs.os-type", Some("linux")),
            attr("stack", Some("prod")),
            attr("ecs.capability.secrets.asm.environment-variables", None),
        ];
        let groups = vec!["service:web".to_string(), "database".to_string()];
        let f = Facts {
            attributes: &attrs,
            ec2_instance_id: Some("i-0123456789abcdef0"),
            registered_at: parse_date("2018-06-18T22:28:28Z").unwrap(),
            running_tasks_count: 3,
            agent_connected: true,
            task_groups: &groups,
        };
        let yes = [
            "attribute:ecs.instance-type == t2.small",
            "attribute:ecs.instance-type equals t2.small",
            "attribute:ecs.instance-type =~ t2.*",
            "attribute:ecs.instance-type matches t2.(small|micro)",
            "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]",
            "attribute:ecs.availability-zone !in [us-east-1c]",
            "attribute:ecs.availability-zone not_in [us-east-1c]",
            "attribute:stack exists",
            "attribute:color !exists",
            "attribute:color not_exists",
            "attribute:ecs.capability.secrets.asm.environment-variables exists",
            "attribute:stack != dev",
            "attribute:color != blue",
            "attribute:ecs.instance-type =~ t2.* or attribute:ecs.instance-type =~ c4.*",
            "(attribute:ecs.instance-type =~ t2.*) && attribute:stack == prod",
            "not(attribute:stack == dev)",
            "! attribute:stack == dev",
            "attribute:ecs.instance-type !~ c4.*",
            "ec2InstanceId == i-0123456789abcdef0",
            "ec2InstanceId in ['x', i-0123456789abcdef0]",
            "registeredAt == 2018-06-18T22:28:28+00:00",
            "registeredAt >= 2018-06-18",
            "registeredAt < 2018-06-19T00:00:00",
            "runningTasksCount > 2",
            "runningTasksCount <= 3",
            "agentConnected == true",
            "task:group == service:web",
            "task:group in [database, cache]",
            "task:group != cache",
            "task:group exists",
            "attribute:stack == prod and (task:group == database or runningTasksCount == 0)",
        ];
        for e in yes {
            assert!(holds(e, &f), "{e}");
        }
        let no = [
            "attribute:ecs.instance-type == t2.micro",
            "attribute:color == blue",
            "attribute:color exists",
            "attribute:stack !exists",
            "attribute:ecs.instance-type =~ t2",
            "task:group == cache",
            "task:group !in [database]",
            "runningTasksCount < 3",
            "registeredAt > 2018-06-18T22:28:28Z",
            "not attribute:stack == prod",
            "attribute:stack == prod and attribute:color exists",
        ];
        for e in no {
            assert!(!holds(e, &f), "{e}");
        }
    }

    #[test]
    fn bad_expressions_are_refused() {
        for e in [
            "",
            "attribute:",
            "color == blue",
            "attribute:color",
            "attribute:color ===",
            "attribute:color ==",
            "attribute:color in blue",
            "attribute:color in [blue",
            "(attribute:color exists",
            "attribute:color exists)",
            "attribute:color exists and",
            "attribute:color =~ (",
            "runningTasksCount == many",
            "registeredAt > yesterday",
            "ec2InstanceId > i-1",
            "agentConnected == maybe",
            "attribute:a exists attribute:b exists",
        ] {
            assert!(parse(e).is_err(), "{e:?} parsed");
        }
        let deep = format!("{}attribute:a exists{}", "(".repeat(100), ")".repeat(100));
        assert!(parse(&deep).is_err());
        assert!(parse(&"x".repeat(MAX_EXPRESSION_CHARS + 1)).is_err());
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01"), Some(0));
        assert_eq!(parse_date("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_date("1970-01-01T00:00:10Z"), Some(10));
        assert_eq!(parse_date("1970-01-01T00:00:10"), Some(10));
        assert_eq!(parse_date("1970-1-1"), None);
    }

    fn arb_test() -> impl Strategy<Value = String> {
        let name = prop::sample::select(vec!["a", "b", "stack"]);
        let value = prop::sample::select(vec!["x", "y", "prod"]);
        (name, value, 0..6u8).prop_map(|(n, v, k)| match k {
            0 => format!("attribute:{n} == {v}"),
            1 => format!("attribute:{n} != {v}"),
            2 => format!("attribute:{n} exists"),
            3 => format!("attribute:{n} in [{v}, z]"),
            4 => format!("attribute:{n} =~ {v}.*"),
            _ => format!("task:group == {v}"),
        })
    }

    fn arb_expr() -> impl Strategy<Value = String> {
        arb_test().prop_recursive(4, 24, 2, |inner| {
            prop_oneof![
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) and ({b})")),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a}) || ({b})")),
                inner.prop_map(|a| format!("not ({a})")),
            ]
        })
    }

    fn arb_facts() -> impl Strategy<Value = (Vec<Attribute>, Vec<String>)> {
        let attrs = prop::collection::vec(
            (
                prop::sample::select(vec!["a", "b", "stack"]),
                prop::sample::select(vec!["x", "y", "prod", "xy"]),
            ),
            0..3,
        )
        .prop_map(|v| v.into_iter().map(|(n, x)| attr(n, Some(x))).collect());
        let groups = prop::collection::vec(
            prop::sample::select(vec!["x".to_string(), "y".to_string()]),
            0..2,
        );
        (attrs, groups)
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,80}") {
            let _ = parse(&s);
        }

        #[test]
        fn printing_and_parsing_again_keeps_the_meaning(e in arb_expr(), (attrs, groups) in arb_facts()) {
            let f = Facts { attributes: &attrs, ec2_instance_id: None, registered_at: 0, running_tasks_count: 0, agent_connected: true, task_groups: &groups };
            let parsed = parse(&e).unwrap();
            let again = parse(&parsed.to_string()).unwrap();
            prop_assert_eq!(parsed.eval(&f), again.eval(&f));
        }

        #[test]
        fn not_negates_and_de_morgan_holds(a in arb_expr(), b in arb_expr(), (attrs, groups) in arb_facts()) {
            let f = Facts { attributes: &attrs, ec2_instance_id: None, registered_at: 0, running_tasks_count: 0, agent_connected: true, task_groups: &groups };
            let ea = parse(&a).unwrap().eval(&f);
            let eb = parse(&b).unwrap().eval(&f);
            prop_assert_eq!(parse(&format!("not ({a})")).unwrap().eval(&f), !ea);
            prop_assert_eq!(parse(&format!("({a}) and ({b})")).unwrap().eval(&f), ea && eb);
            prop_assert_eq!(
                parse(&format!("not (({a}) or ({b}))")).unwrap().eval(&f),
                parse(&format!("not ({a}) and not ({b})")).unwrap().eval(&f)
            );
        }
    }
}
