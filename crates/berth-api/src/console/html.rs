//! The console's HTML: escaping and the page layout. Every string that did not come from this
//! file goes through [`esc`] (text and attribute values alike).

use std::fmt::Write as _;

/// Escapes `s` for HTML text and for double- or single-quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `s` for a URL query value.
pub fn url(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The sections of the console, in the navigation's order: (path, label).
pub const NAV: &[(&str, &str)] = &[
    ("/console", "Overview"),
    ("/console/clusters", "Clusters"),
    ("/console/task-definitions", "Task definitions"),
    ("/console/tasks", "Tasks"),
    ("/console/secrets", "Secrets"),
    ("/console/doctor", "Doctor"),
];

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;font:16px/1.5 'DejaVu Sans',system-ui,sans-serif;color:#1b1f23;background:#f6f7f9}\
a{color:#0b57a4}a:focus,button:focus,input:focus,select:focus,textarea:focus{outline:3px solid #f0a500;outline-offset:1px}\
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}\
header{background:#232f3e;color:#fff;padding:8px 16px;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:center}\
header .brand{font-weight:bold;font-size:18px;margin-right:auto}\
header .who{font-size:13px;overflow-wrap:anywhere}\
header button{background:#fff;color:#232f3e;border:0}\
nav ul{list-style:none;margin:0;padding:0 16px;display:flex;flex-wrap:wrap;gap:4px 16px;background:#e3e7ec}\
nav a{display:inline-block;padding:8px 0}nav a[aria-current=page]{font-weight:bold;color:#1b1f23;text-decoration:none;border-bottom:3px solid #f0a500}\
main{padding:16px;max-width:1200px}\
h1{font-size:26px;margin:8px 0 16px}h2{font-size:20px;margin:24px 0 8px}\
.wrap{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;background:#fff;width:100%}\
th,td{border:1px solid #c9cfd6;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px;overflow-wrap:anywhere;min-width:5.5em}\
thead th{white-space:nowrap}.nowrap{white-space:nowrap}\
th{background:#eef1f4}\
form.card,section.card{background:#fff;border:1px solid #c9cfd6;padding:12px;margin:12px 0}\
label{display:block;font-weight:bold;margin:8px 0 2px}\
input[type=text],input[type=password],select,textarea{width:100%;max-width:40em;padding:6px;font:inherit;border:1px solid #6b7682;border-radius:3px}\
textarea{max-width:100%;font-family:'DejaVu Sans Mono',monospace;font-size:13px}\
button{font:inherit;padding:6px 14px;margin-top:8px;background:#0b57a4;color:#fff;border:1px solid #0b57a4;border-radius:3px;cursor:pointer}\
button.danger{background:#b3261e;border-color:#b3261e;margin:0}\
pre{background:#fff;border:1px solid #c9cfd6;padding:8px;white-space:pre-wrap;overflow-wrap:anywhere;font-size:13px}\
.error{background:#fdecea;border:1px solid #b3261e;padding:8px 12px}\
.notice{background:#e8f4ea;border:1px solid #2e7d32;padding:8px 12px}\
.ok{color:#1e6b24;font-weight:bold}.fail{color:#b3261e;font-weight:bold}\
.muted{color:#56606b;font-size:14px}\
";

/// A whole page. `active` is the navigation entry to mark; `who` is the signed-in principal
/// (with the CSRF token for the sign-out form), `None` on the sign-in page.
pub fn page(title: &str, active: &str, who: Option<(&str, &str)>, body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · berth console</title><style>{STYLE}</style></head><body>\
         <a class=\"skip\" href=\"#main\">Skip to content</a>\
         <header><span class=\"brand\">berth console</span>",
        esc(title)
    );
    if let Some((principal, csrf)) = who {
        let _ = write!(
            out,
            "<span class=\"who\">Signed in as {}</span>\
             <form method=\"post\" action=\"/console/signout\">{}<button type=\"submit\">Sign out</button></form>",
            esc(principal),
            csrf_field(csrf)
        );
    }
    out.push_str("</header>");
    if who.is_some() {
        out.push_str("<nav aria-label=\"Console sections\"><ul>");
        for (href, label) in NAV {
            let current = if *href == active {
                " aria-current=\"page\""
            } else {
                ""
            };
            let _ = write!(out, "<li><a href=\"{href}\"{current}>{label}</a></li>");
        }
        out.push_str("</ul></nav>");
    }
    let _ = write!(
        out,
        "<main id=\"main\"><h1>{}</h1>{body}</main></body></html>",
        esc(title)
    );
    out
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(token: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        esc(token)
    )
}

/// An error box (announced to screen readers).
pub fn error_box(code: &str, message: &str) -> String {
    if code.is_empty() {
        format!("<div class=\"error\" role=\"alert\">{}</div>", esc(message))
    } else {
        format!(
            "<div class=\"error\" role=\"alert\"><strong>{}</strong>: {}</div>",
            esc(code),
            esc(message)
        )
    }
}

/// A confirmation box.
pub fn notice_box(message: &str) -> String {
    format!(
        "<div class=\"notice\" role=\"status\">{}</div>",
        esc(message)
    )
}

/// A table with column headers; `rows` are already-escaped cell HTML.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<div class=\"wrap\"><table>");
    let _ = write!(
        out,
        "<caption class=\"muted\">{}</caption><thead><tr>",
        esc(caption)
    );
    for h in headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        for (i, cell) in row.iter().enumerate() {
            if i == 0 {
                let _ = write!(out, "<th scope=\"row\">{cell}</th>");
            } else {
                let _ = write!(out, "<td>{cell}</td>");
            }
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A `<select>` with a label; `options` are (value, text); `selected` is marked. `id` is the
/// element's id (for the label), `name` the form field's.
pub fn select(
    id: &str,
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
) -> String {
    let mut out = format!(
        "<label for=\"{}\">{}</label><select id=\"{}\" name=\"{}\">",
        esc(id),
        esc(label),
        esc(id),
        esc(name)
    );
    for (value, text) in options {
        let sel = if value == selected { " selected" } else { "" };
        let _ = write!(
            out,
            "<option value=\"{}\"{sel}>{}</option>",
            esc(value),
            esc(text)
        );
    }
    out.push_str("</select>");
    out
}

/// A labelled text input.
pub fn text_input(name: &str, label: &str, value: &str, extra: &str) -> String {
    format!(
        "<label for=\"{n}\">{}</label><input type=\"text\" id=\"{n}\" name=\"{n}\" value=\"{}\"{extra}>",
        esc(label),
        esc(value),
        n = esc(name)
    )
}

/// Unix seconds as an ISO 8601 UTC time; empty for none.
pub fn time(secs: Option<f64>) -> String {
    match secs {
        Some(s) if s >= 0.0 => berth_core::time::iso8601(s as u64),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_every_markup_character() {
        assert_eq!(
            esc(r#"<script>alert("x")</script> & 'y'"#),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;"
        );
        assert_eq!(esc("plain-arn:aws:ecs"), "plain-arn:aws:ecs");
    }

    #[test]
    fn user_strings_cannot_break_out_of_the_layout() {
        let evil = "\"><img src=x onerror=alert(1)>";
        let html = page(evil, "/console", Some((evil, evil)), "");
        assert!(!html.contains("<img"), "{html}");
        let t = table(evil, &[evil], &[vec![esc(evil)]]);
        assert!(!t.contains("<img"));
        let s = select(
            evil,
            evil,
            evil,
            &[(evil.to_string(), evil.to_string())],
            evil,
        );
        assert!(!s.contains("<img") && s.contains(" selected"));
        assert!(!text_input(evil, evil, evil, "").contains("<img"));
        assert!(!error_box(evil, evil).contains("<img"));
    }

    #[test]
    fn nav_marks_the_current_page_only() {
        let html = page("Secrets", "/console/secrets", Some(("p", "t")), "");
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1);
        assert!(html.contains("<a href=\"/console/secrets\" aria-current=\"page\">"));
        // The sign-in page has no navigation and no sign-out form.
        let html = page("Sign in", "", None, "");
        assert!(!html.contains("<nav") && !html.contains("signout"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }
}
