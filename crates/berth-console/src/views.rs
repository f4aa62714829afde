//! The console's HTML, as maud templates: the page layout and the pieces the pages share.
//! maud escapes every value spliced into a template (text and attribute values alike); the
//! one string written through unescaped is the style sheet below, a constant of this file.

use maud::{DOCTYPE, Markup, PreEscaped, html};

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
    ("/console/services", "Services"),
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

/// The signed-in principal as the layout shows it: its ARN, and the CSRF token for the
/// sign-out form.
pub struct Who<'a> {
    pub principal: &'a str,
    pub csrf: &'a str,
}

/// A whole page. `active` is the navigation entry to mark; `who` is the signed-in principal,
/// `None` on the sign-in page (no navigation, no sign-out form).
pub fn page(title: &str, active: &str, who: Option<Who<'_>>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · berth console" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header {
                    span.brand { "berth console" }
                    @if let Some(w) = &who {
                        span.who { "Signed in as " (w.principal) }
                        form method="post" action="/console/signout" {
                            (csrf_field(w.csrf))
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                @if who.is_some() {
                    nav aria-label="Console sections" {
                        ul {
                            @for (href, label) in NAV {
                                li {
                                    a href=(href) aria-current=[(*href == active).then_some("page")] { (label) }
                                }
                            }
                        }
                    }
                }
                main #main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// The hidden CSRF field every state-changing form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// An error box (announced to screen readers); `code` may be empty.
pub fn error_box(code: &str, message: &str) -> Markup {
    html! {
        div.error role="alert" {
            @if !code.is_empty() {
                strong { (code) } ": "
            }
            (message)
        }
    }
}

/// A confirmation box.
pub fn notice_box(message: &str) -> Markup {
    html! { div.notice role="status" { (message) } }
}

/// A table with column headers; each row's first cell is its row header.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<Markup>]) -> Markup {
    html! {
        div.wrap {
            table {
                caption.muted { (caption) }
                thead {
                    tr {
                        @for h in headers {
                            th scope="col" { (h) }
                        }
                    }
                }
                tbody {
                    @for row in rows {
                        tr {
                            @for (i, cell) in row.iter().enumerate() {
                                @if i == 0 {
                                    th scope="row" { (cell) }
                                } @else {
                                    td { (cell) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A `<select>` with a label; `options` are (value, text); `selected` is marked. `id` is the
/// element's id (for the label), `name` the form field's.
pub fn select(
    id: &str,
    name: &str,
    label: &str,
    options: &[(String, String)],
    selected: &str,
) -> Markup {
    html! {
        label for=(id) { (label) }
        select id=(id) name=(name) {
            @for (value, text) in options {
                option value=(value) selected[value == selected] { (text) }
            }
        }
    }
}

/// A labelled text input (never spell-checked: the console's inputs are names and ids).
pub struct TextInput<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub value: &'a str,
    pub required: bool,
    pub autocomplete: Option<&'a str>,
    pub placeholder: Option<&'a str>,
}

impl<'a> TextInput<'a> {
    pub fn new(name: &'a str, label: &'a str, value: &'a str) -> TextInput<'a> {
        TextInput {
            name,
            label,
            value,
            required: false,
            autocomplete: None,
            placeholder: None,
        }
    }

    pub fn required(self) -> TextInput<'a> {
        TextInput {
            required: true,
            ..self
        }
    }

    pub fn render(&self) -> Markup {
        html! {
            label for=(self.name) { (self.label) }
            input type="text" id=(self.name) name=(self.name) value=(self.value)
                autocomplete=[self.autocomplete] placeholder=[self.placeholder]
                required[self.required] spellcheck="false";
        }
    }
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
    fn user_strings_cannot_break_out_of_the_layout() {
        let evil = "\"><img src=x onerror=alert(1)>";
        let who = Who {
            principal: evil,
            csrf: evil,
        };
        let html = page(evil, "/console", Some(who), html! {}).into_string();
        assert!(!html.contains("<img"), "{html}");
        let t = table(evil, &[evil], &[vec![html! { (evil) }]]).into_string();
        assert!(!t.contains("<img"));
        let s = select(
            evil,
            evil,
            evil,
            &[(evil.to_string(), evil.to_string())],
            evil,
        )
        .into_string();
        assert!(!s.contains("<img") && s.contains(" selected"), "{s}");
        assert!(
            !TextInput::new(evil, evil, evil)
                .render()
                .into_string()
                .contains("<img")
        );
        assert!(!error_box(evil, evil).into_string().contains("<img"));
        assert_eq!(
            notice_box(r#"<script>alert("x")</script> & 'y'"#).into_string(),
            "<div class=\"notice\" role=\"status\">&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'y'</div>"
        );
    }

    #[test]
    fn nav_marks_the_current_page_only() {
        let who = Who {
            principal: "p",
            csrf: "t",
        };
        let html = page("Secrets", "/console/secrets", Some(who), html! {}).into_string();
        assert_eq!(html.matches("aria-current=\"page\"").count(), 1);
        assert!(html.contains("<a href=\"/console/secrets\" aria-current=\"page\">"));
        // The sign-in page has no navigation and no sign-out form.
        let html = page("Sign in", "", None, html! {}).into_string();
        assert!(!html.contains("<nav") && !html.contains("signout"));
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(url("a b&c=d/é"), "a+b%26c%3Dd%2F%C3%A9");
    }

    #[test]
    fn error_boxes_name_the_code_when_there_is_one() {
        assert_eq!(
            error_box("AccessDeniedException", "no").into_string(),
            "<div class=\"error\" role=\"alert\"><strong>AccessDeniedException</strong>: no</div>"
        );
        assert_eq!(
            error_box("", "no").into_string(),
            "<div class=\"error\" role=\"alert\">no</div>"
        );
    }
}
