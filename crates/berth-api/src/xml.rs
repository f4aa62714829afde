//! A small XML writer for Query-protocol responses: elements, escaped text, nothing else.

/// Escapes text for an XML element or a double-quoted attribute (apostrophes stay as they are,
/// as in AWS's own messages).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// Appends `<name>text</name>` with the text escaped.
pub fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    out.push_str(&escape(text));
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

/// Wraps an operation's result XML in the Query response envelope.
pub fn response(operation: &str, xmlns: &str, result_inner: &str, request_id: &str) -> String {
    let mut out = String::with_capacity(result_inner.len() + 256);
    out.push_str(&format!(
        "<{operation}Response xmlns=\"{}\"><{operation}Result>",
        escape(xmlns)
    ));
    out.push_str(result_inner);
    out.push_str(&format!("</{operation}Result><ResponseMetadata>"));
    element(&mut out, "RequestId", request_id);
    out.push_str(&format!("</ResponseMetadata></{operation}Response>"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c'");
        let mut s = String::new();
        element(&mut s, "Arn", "x&y");
        assert_eq!(s, "<Arn>x&amp;y</Arn>");
    }

    #[test]
    fn envelope_shape() {
        let x = response(
            "GetCallerIdentity",
            "https://sts.amazonaws.com/doc/2011-06-15/",
            "<Account>1</Account>",
            "rid",
        );
        assert_eq!(
            x,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult><Account>1</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        );
    }
}
