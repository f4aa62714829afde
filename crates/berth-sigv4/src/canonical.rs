//! The canonical request.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, percent_encode};

use crate::crypto::sha256_hex;
use crate::{Authorization, Request, SigV4Error, bounded};

/// The query parameter that carries a presigned request's signature: the only one the
/// signature does not cover.
pub(crate) const SIGNATURE_PARAMETER: &str = "X-Amz-Signature";

/// Bytes left as they are in a canonical query component: everything but AWS's unreserved
/// characters `A-Z a-z 0-9 - _ . ~` is percent-encoded (upper-case hex).
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Like [`COMPONENT`] but keeping `/`, for paths.
const PATH: &AsciiSet = &COMPONENT.remove(b'/');

/// How the canonical URI is made from the request's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathMode {
    /// Remove `.` and `..` segments and collapse repeated slashes, then URI-encode the result
    /// (what botocore and most SDKs sign, and what [`crate::sign`] produces).
    Normalized,
    /// URI-encode the path exactly as received (some SDKs sign the path without normalizing).
    AsReceived,
}

/// Builds the canonical request for `signed_headers` (names as listed in `SignedHeaders`).
///
/// Lines, joined with `\n`: the method; the canonical URI (the path as on the wire, normalized
/// per `path`, URI-encoded again, so `%3A` becomes `%253A`: every service but S3 signs the
/// path double-encoded); the canonical query (parameters split on `&`, names and values
/// percent-decoded and re-encoded with AWS's unreserved set, sorted by name then value, an
/// absent value kept as `name=`; `+` is taken literally); one `name:value` line per signed
/// header (lower-case name; each received value trimmed, inner whitespace runs collapsed to
/// one space, repeated headers joined with `,` in the order received); an empty line; the
/// signed header names joined with `;`; and the hex SHA-256 of the body.
///
/// The payload hash is always computed from the body. A client that signed an
/// `x-amz-content-sha256` header used that header's value instead, so the two agree exactly
/// when the header matches the body; when it does not, the signature fails to verify, which
/// keeps the body covered by the signature.
///
/// Fails with [`SigV4Error::Incomplete`] (`'<name>' is named as a SignedHeader, but it does not
/// exist in the HTTP request.`, AWS's wording) when a signed header is absent.
pub fn canonical_request(
    req: &Request,
    signed_headers: &[String],
    path: PathMode,
) -> Result<String, SigV4Error> {
    canonical_request_with_hash(req, signed_headers, path, &sha256_hex(req.body))
}

/// The canonical request `auth` was computed over: for the header form, [`canonical_request`]
/// with `auth`'s signed headers; for a presigned request the same but with `X-Amz-Signature`
/// left out of the canonical query (every other parameter, `X-Amz-Security-Token` included,
/// is in it). The payload hash is the body's in both forms: for every service but Amazon S3,
/// botocore's presigned requests sign the hash of their (empty) body, not `UNSIGNED-PAYLOAD`.
pub fn canonical_request_for(
    req: &Request,
    auth: &Authorization,
    path: PathMode,
) -> Result<String, SigV4Error> {
    let headers = canonical_headers(req, &auth.signed_headers)?;
    Ok(join_canonical(
        req.method,
        &canonical_uri(req.path, path),
        &canonical_query_of(req.query, auth),
        &headers,
        &sha256_hex(req.body),
    ))
}

/// The canonical query of `query` as `auth` signed it: without `X-Amz-Signature` for a
/// presigned request.
pub(crate) fn canonical_query_of(query: &str, auth: &Authorization) -> String {
    if auth.presigned.is_some() {
        canonical_query_without(query, SIGNATURE_PARAMETER)
    } else {
        canonical_query(query)
    }
}

/// [`canonical_request`] with the payload hash already computed.
pub(crate) fn canonical_request_with_hash(
    req: &Request,
    signed_headers: &[String],
    path: PathMode,
    payload_hash: &str,
) -> Result<String, SigV4Error> {
    let headers = canonical_headers(req, signed_headers)?;
    Ok(join_canonical(
        req.method,
        &canonical_uri(req.path, path),
        &canonical_query(req.query),
        &headers,
        payload_hash,
    ))
}

/// The headers part of a canonical request: one `name:value` line per signed header (in
/// signed-header order), an empty line, and the names joined with `;` (no final line break).
/// Names are lower-cased; each value is made canonical, repeated headers joined with `,` in
/// the order received. Written into one string, without a string per header.
pub(crate) fn canonical_headers(
    req: &Request,
    signed_headers: &[String],
) -> Result<String, SigV4Error> {
    let mut out = String::with_capacity(256);
    for name in signed_headers {
        let start = out.len();
        push_lowercase(&mut out, name);
        let name_end = out.len();
        out.push(':');
        let mut found = false;
        for value in req.header_values(name) {
            if found {
                out.push(',');
            }
            push_canonical_header_value(&mut out, value);
            found = true;
        }
        if !found {
            let name = out.get(start..name_end).unwrap_or(name);
            return Err(SigV4Error::Incomplete(format!(
                "'{}' is named as a SignedHeader, but it does not exist in the HTTP request.",
                bounded(name)
            )));
        }
        out.push('\n');
    }
    out.push('\n');
    for (i, name) in signed_headers.iter().enumerate() {
        if i > 0 {
            out.push(';');
        }
        push_lowercase(&mut out, name);
    }
    Ok(out)
}

/// Appends `s` with ASCII letters lower-cased (what `str::to_ascii_lowercase` gives).
fn push_lowercase(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| c.to_ascii_lowercase()));
}

/// Joins the parts of a canonical request; `headers` is [`canonical_headers`]'s block.
pub(crate) fn join_canonical(
    method: &str,
    uri: &str,
    query: &str,
    headers: &str,
    payload_hash: &str,
) -> String {
    let mut out = String::with_capacity(
        method.len() + uri.len() + query.len() + headers.len() + payload_hash.len() + 4,
    );
    out.push_str(method);
    out.push('\n');
    out.push_str(uri);
    out.push('\n');
    out.push_str(query);
    out.push('\n');
    out.push_str(headers);
    out.push('\n');
    out.push_str(payload_hash);
    out
}

/// Joins the parts of a canonical request; `headers` are `(lower-case name, canonical value)`
/// in signed-header order.
pub(crate) fn assemble(
    method: &str,
    uri: &str,
    query: &str,
    headers: &[(String, String)],
    payload_hash: &str,
) -> String {
    let mut block = String::new();
    for (name, value) in headers {
        block.push_str(name);
        block.push(':');
        block.push_str(value);
        block.push('\n');
    }
    block.push('\n');
    let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();
    block.push_str(&names.join(";"));
    join_canonical(method, uri, query, &block, payload_hash)
}

/// Trims a header value and collapses each inner run of whitespace (line breaks of folded
/// values included) to one space.
pub(crate) fn canonical_header_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    push_canonical_header_value(&mut out, value);
    out
}

/// Appends [`canonical_header_value`] of `value` to `out`.
fn push_canonical_header_value(out: &mut String, value: &str) {
    let mut first = true;
    for part in value
        .split([' ', '\t', '\r', '\n', '\x0b', '\x0c'])
        .filter(|part| !part.is_empty())
    {
        if !first {
            out.push(' ');
        }
        out.push_str(part);
        first = false;
    }
}

/// The canonical URI of a wire path.
pub(crate) fn canonical_uri(path: &str, mode: PathMode) -> String {
    let path: std::borrow::Cow<'_, str> = match mode {
        PathMode::Normalized => normalize_path(path).into(),
        PathMode::AsReceived if path.is_empty() => "/".into(),
        PathMode::AsReceived => path.into(),
    };
    percent_encode(path.as_bytes(), PATH).to_string()
}

/// Removes `.` and `..` segments and empty segments (repeated slashes). The result starts with
/// `/`, and ends with `/` when the input did and any segment is left.
pub(crate) fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut out = String::with_capacity(path.len() + 1);
    out.push('/');
    out.push_str(&segments.join("/"));
    if !segments.is_empty() && path.ends_with('/') {
        out.push('/');
    }
    out
}

/// The canonical query string of a raw query.
pub(crate) fn canonical_query(query: &str) -> String {
    canonical_query_without(query, "")
}

/// The canonical query string of a raw query, leaving out every parameter whose decoded name is
/// `skip` (none when `skip` is empty).
fn canonical_query_without(query: &str, skip: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (reencode(name), reencode(value))
        })
        .filter(|(name, _)| skip.is_empty() || name != skip)
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Percent-decodes (leaving malformed escapes as they are) and encodes again with AWS's set.
fn reencode(component: &str) -> String {
    let bytes: Vec<u8> = percent_decode_str(component).collect();
    percent_encode(&bytes, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::refs;

    #[test]
    fn normalizes_paths() {
        for (input, expected) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/a/b/../c/", "/a/c/"),
            ("/a/./b/.", "/a/b"),
            ("/../../a", "/a"),
            ("/a%2F/b", "/a%2F/b"),
        ] {
            assert_eq!(normalize_path(input), expected, "{input:?}");
        }
    }

    #[test]
    fn encodes_the_wire_path_again() {
        assert_eq!(
            canonical_uri(
                "/functions/arn%3Aaws%3Alambda/invocations",
                PathMode::Normalized
            ),
            "/functions/arn%253Aaws%253Alambda/invocations"
        );
        assert_eq!(
            canonical_uri("/example space/", PathMode::AsReceived),
            "/example%20space/"
        );
        assert_eq!(
            canonical_uri("/\u{1234}", PathMode::Normalized),
            "/%E1%88%B4"
        );
        assert_eq!(
            canonical_uri("/-._~azAZ09!*'()+,;=:@$&", PathMode::Normalized),
            "/-._~azAZ09%21%2A%27%28%29%2B%2C%3B%3D%3A%40%24%26"
        );
        assert_eq!(canonical_uri("", PathMode::AsReceived), "/");
        assert_eq!(canonical_uri("//a/../b", PathMode::AsReceived), "//a/../b");
    }

    #[test]
    fn canonicalizes_queries() {
        assert_eq!(canonical_query(""), "");
        assert_eq!(
            canonical_query("Param2=value2&Param1=value1"),
            "Param1=value1&Param2=value2"
        );
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1"),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        // Same name: sorted by value.
        assert_eq!(canonical_query("a=2&a=1&a="), "a=&a=1&a=2");
        // Missing value keeps `=`; empty pieces are dropped.
        assert_eq!(canonical_query("b&&a="), "a=&b=");
        // Decoded then re-encoded: lower-case escapes, needless escapes, reserved characters.
        assert_eq!(
            canonical_query("k=%7e%2d%41&x=a b/c&y=%zz&p=1+2"),
            "k=~-A&p=1%2B2&x=a%20b%2Fc&y=%25zz"
        );
        // Sorting is on encoded bytes (upper-case before lower-case).
        assert_eq!(canonical_query("b=1&B=2&_=3"), "B=2&_=3&b=1");
    }

    #[test]
    fn canonical_header_values() {
        assert_eq!(canonical_header_value("  value1  "), "value1");
        assert_eq!(canonical_header_value("\"a   b   c\""), "\"a b c\"");
        assert_eq!(
            canonical_header_value("value1\n  value2\r\n\tvalue3"),
            "value1 value2 value3"
        );
        assert_eq!(canonical_header_value(""), "");
    }

    #[test]
    fn builds_a_canonical_request() {
        let headers = vec![
            ("Host".to_string(), "example.amazonaws.com".to_string()),
            ("My-Header1".to_string(), " b ".to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
            ("my-header1".to_string(), "a".to_string()),
        ];
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &refs(&headers),
            body: b"",
        };
        let signed = vec![
            "host".to_string(),
            "My-Header1".to_string(),
            "x-amz-date".to_string(),
        ];
        assert_eq!(
            canonical_request(&req, &signed, PathMode::Normalized).unwrap(),
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:b,a\nx-amz-date:20150830T123600Z\n\n\
             host;my-header1;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn a_signed_header_must_exist() {
        let headers = vec![("Host".to_string(), "h".to_string())];
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &refs(&headers),
            body: b"",
        };
        assert_eq!(
            canonical_request(
                &req,
                &["accept".to_string(), "host".to_string()],
                PathMode::Normalized
            ),
            Err(SigV4Error::Incomplete(
                "'accept' is named as a SignedHeader, but it does not exist in the HTTP request."
                    .to_string()
            ))
        );
    }
}
