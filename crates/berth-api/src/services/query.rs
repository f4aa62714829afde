//! The Query protocol's codec: an operation's typed input is decoded from the form parameters
//! (lists as `Name.member.N`) and its typed output written as XML, here and in the service
//! modules' [`FromQuery`] and [`ToXml`] implementations.

use crate::error::WireError;

/// An operation's input as the Query protocol carries it. Decoding checks the members against
/// the model's constraints and fails with AWS's `ValidationError` text.
pub trait FromQuery: Sized {
    fn from_query(params: &QueryParams) -> Result<Self, WireError>;
}

/// An operation's output as the inner XML of its `<{Operation}Result>`.
pub trait ToXml {
    fn to_xml(&self, out: &mut String);
}

/// An operation with no output members answers an empty result.
impl ToXml for () {
    fn to_xml(&self, _out: &mut String) {}
}

/// Runs one operation: decodes its input from `params`, calls the use case, writes its output.
pub fn call<I: FromQuery, O: ToXml>(
    params: &QueryParams,
    use_case: impl FnOnce(I) -> Result<O, berth_control::Error>,
) -> Result<String, WireError> {
    let input = I::from_query(params)?;
    let output = use_case(input)?;
    let mut out = String::new();
    output.to_xml(&mut out);
    Ok(out)
}

/// A Query request's parameters, in order (lists arrive as `Name.member.N`).
#[derive(Debug, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(raw: &[u8]) -> QueryParams {
        QueryParams(form_urlencoded::parse(raw).into_owned().collect())
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The members of the list `prefix` (`prefix.member.1`, `prefix.member.2`, …), in index
    /// order. Entries with an index that is not a positive number are ignored.
    pub fn list(&self, prefix: &str) -> Vec<&str> {
        let head = format!("{prefix}.member.");
        let mut items: Vec<(u32, &str)> = self
            .0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(&head)?.parse::<u32>().ok()?;
                (n > 0).then_some((n, v.as_str()))
            })
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items.dedup_by_key(|(n, _)| *n);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// The structures of the list `prefix` (`prefix.member.N.Field`), in index order: each as
    /// its fields, e.g. `Tags.member.1.Key` / `Tags.member.1.Value` → `{Key, Value}`.
    pub fn members(&self, prefix: &str) -> Vec<Member<'_>> {
        let head = format!("{prefix}.member.");
        let mut members: std::collections::BTreeMap<u32, Member<'_>> = Default::default();
        for (k, v) in &self.0 {
            let Some(rest) = k.strip_prefix(&head) else {
                continue;
            };
            let Some((n, field)) = rest.split_once('.') else {
                continue;
            };
            let Some(n) = n.parse::<u32>().ok().filter(|n| *n > 0) else {
                continue;
            };
            let m = members.entry(n).or_default();
            if m.get(field).is_none() {
                m.0.push((field, v.as_str()));
            }
        }
        members.into_values().collect()
    }
}

/// One structure of a Query list: its fields by name.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Member<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Member<'a> {
    /// The value of `field`, if the member has it.
    pub fn get(&self, field: &str) -> Option<&'a str> {
        self.0.iter().find(|(f, _)| *f == field).map(|(_, v)| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_lists_and_structures() {
        let p = QueryParams::parse(
            b"Tags.member.2.Key=b&Tags.member.1.Value=x&Tags.member.1.Key=a&Tags.member.2.Value=&Names.member.2=two&Names.member.1=one&Names.member.x=no",
        );
        assert_eq!(p.list("Names"), vec!["one", "two"]);
        assert!(p.list("Other").is_empty());
        let tags = p.members("Tags");
        assert_eq!(tags.len(), 2);
        assert_eq!(
            (tags[0].get("Key"), tags[0].get("Value")),
            (Some("a"), Some("x"))
        );
        assert_eq!(
            (tags[1].get("Key"), tags[1].get("Value")),
            (Some("b"), Some(""))
        );
        assert_eq!(tags[0].get("Nope"), None);
    }
}
