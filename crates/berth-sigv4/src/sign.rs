//! Signing a request.

use std::collections::BTreeMap;
use std::time::SystemTime;

use berth_core::time;

use crate::canonical::{
    PathMode, assemble, canonical_header_value, canonical_query, canonical_uri,
};
use crate::crypto::{sha256_hex, signature, signing_key, string_to_sign};
use crate::{ALGORITHM, CredentialScope, Request};

/// Headers never signed: the ones [`sign`] sets itself, and ones that proxies and HTTP
/// clients are known to add or change (botocore leaves the same ones out).
const UNSIGNED: [&str; 7] = [
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "user-agent",
    "expect",
    "transfer-encoding",
    "x-amzn-trace-id",
];

/// Signs `req` with Signature Version 4 (header form) and returns the headers to add, with
/// lower-case names: `x-amz-date`, `x-amz-security-token` when `session_token` is given, and
/// `authorization`.
///
/// Every header of `req` is signed except `authorization`, `x-amz-date`,
/// `x-amz-security-token` (replaced by the returned ones; the caller must drop any it had),
/// `user-agent`, `expect`, `transfer-encoding` and `x-amzn-trace-id`. `req` must carry the
/// `Host` header the request will be sent with. The path is signed normalized and
/// double-encoded, as for every service but S3; the payload hash is that of `req.body` (no
/// `x-amz-content-sha256` header is added).
pub fn sign(
    req: &Request,
    access_key_id: &str,
    secret: &str,
    session_token: Option<&str>,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Vec<(String, String)> {
    let amz_date = time::amz_date(time::unix_secs(now));
    let scope = CredentialScope {
        date: amz_date.get(..8).unwrap_or_default().to_string(),
        region: region.to_string(),
        service: service.to_string(),
    };

    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in req.headers {
        let name = name.to_ascii_lowercase();
        if UNSIGNED.contains(&name.as_str()) {
            continue;
        }
        grouped
            .entry(name)
            .or_default()
            .push(canonical_header_value(value));
    }
    grouped.insert("x-amz-date".to_string(), vec![amz_date.clone()]);
    if let Some(token) = session_token {
        grouped.insert(
            "x-amz-security-token".to_string(),
            vec![canonical_header_value(token)],
        );
    }
    let headers: Vec<(String, String)> = grouped
        .into_iter()
        .map(|(name, values)| (name, values.join(",")))
        .collect();

    let creq = assemble(
        req.method,
        &canonical_uri(req.path, PathMode::Normalized),
        &canonical_query(req.query),
        &headers,
        &sha256_hex(req.body),
    );
    let sts = string_to_sign(&amz_date, &scope, &creq);
    let sig = signature(&signing_key(secret, &scope), &sts);
    let names: Vec<&str> = headers.iter().map(|(name, _)| name.as_str()).collect();

    let mut out = vec![("x-amz-date".to_string(), amz_date)];
    if let Some(token) = session_token {
        out.push(("x-amz-security-token".to_string(), token.to_string()));
    }
    out.push((
        "authorization".to_string(),
        format!(
            "{ALGORITHM} Credential={access_key_id}/{scope}, SignedHeaders={}, Signature={sig}",
            names.join(";")
        ),
    ));
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::refs;
    use crate::{SigV4Error, authorization_of, verify};
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// Signs, then verifies the request with the added headers.
    fn round_trip(
        method: &str,
        path: &str,
        query: &str,
        headers: &[(&str, &str)],
        body: &[u8],
        token: Option<&str>,
    ) -> (Vec<(String, String)>, Result<(), SigV4Error>) {
        let now = at(1_440_938_160);
        let mut hs = owned(headers);
        let req = Request {
            method,
            path,
            query,
            headers: &refs(&hs),
            body,
        };
        let added = sign(&req, "AKIDEXAMPLE", SECRET, token, "us-east-1", "sts", now);
        hs.extend(added.iter().cloned());
        let req = Request {
            method,
            path,
            query,
            headers: &refs(&hs),
            body,
        };
        let result = authorization_of(&req).and_then(|auth| verify(&req, &auth, SECRET, now));
        (added, result)
    }

    #[test]
    fn output_headers() {
        let (added, result) = round_trip(
            "GET",
            "/",
            "",
            &[("Host", "example.amazonaws.com")],
            b"",
            Some("tok"),
        );
        assert_eq!(result, Ok(()));
        let names: Vec<&str> = added.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            ["x-amz-date", "x-amz-security-token", "authorization"]
        );
        assert_eq!(added[0].1, "20150830T123600Z");
        assert_eq!(added[1].1, "tok");
        assert!(added[2].1.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sts/aws4_request, \
             SignedHeaders=host;x-amz-date;x-amz-security-token, Signature="
        ));
    }

    // Same inputs as the test suite's `get-vanilla`: the signer must produce its signature.
    #[test]
    fn matches_the_vanilla_vector() {
        let hs = owned(&[("Host", "example.amazonaws.com")]);
        let req = Request {
            method: "GET",
            path: "/",
            query: "",
            headers: &refs(&hs),
            body: b"",
        };
        let added = sign(
            &req,
            "AKIDEXAMPLE",
            SECRET,
            None,
            "us-east-1",
            "service",
            at(1_440_938_160),
        );
        assert_eq!(
            added[1].1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, \
             Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn round_trip_post_form_with_session_token() {
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let (_, result) = round_trip(
            "POST",
            "/",
            "",
            &[
                ("Host", "sts.amazonaws.com"),
                (
                    "Content-Type",
                    "application/x-www-form-urlencoded; charset=utf-8",
                ),
                ("Content-Length", "43"),
                ("User-Agent", "berth-test"),
            ],
            body,
            Some("FwoGZXIvYXdzEBYaDK7/example+token=="),
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn round_trip_odd_paths_queries_and_headers() {
        let (_, result) = round_trip(
            "GET",
            "//a/./b%20c/../d%3A",
            "b=2&a=%7e&a=1&empty&x=%2f",
            &[
                ("Host", "example.amazonaws.com"),
                ("X-Multi", " one  two "),
                ("x-multi", "three"),
            ],
            b"",
            None,
        );
        assert_eq!(result, Ok(()));
    }

    #[test]
    fn existing_date_token_and_authorization_are_not_signed() {
        let (added, result) = round_trip(
            "GET",
            "/",
            "",
            &[
                ("Host", "example.amazonaws.com"),
                ("Expect", "100-continue"),
                ("X-Amzn-Trace-Id", "Root=1"),
            ],
            b"",
            None,
        );
        assert_eq!(result, Ok(()));
        assert!(added[1].1.contains("SignedHeaders=host;x-amz-date,"));
    }

    #[test]
    fn any_single_byte_change_of_the_body_fails() {
        let body: Vec<u8> = br#"{"cluster":"default","taskDefinition":"web:1","count":1}"#.to_vec();
        let now = at(1_440_938_160);
        let mut hs = owned(&[
            ("Host", "ecs.us-east-1.amazonaws.com"),
            ("Content-Type", "application/x-amz-json-1.1"),
        ]);
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &refs(&hs),
            body: &body,
        };
        hs.extend(sign(&req, "AKID", SECRET, None, "us-east-1", "ecs", now));
        let check = |body: &[u8]| {
            let req = Request {
                method: "POST",
                path: "/",
                query: "",
                headers: &refs(&hs),
                body,
            };
            authorization_of(&req).and_then(|auth| verify(&req, &auth, SECRET, now))
        };
        assert_eq!(check(&body), Ok(()));
        for i in 0..body.len() {
            for flip in [0x01u8, 0x20, 0x80, 0xff] {
                let mut changed = body.clone();
                changed[i] ^= flip;
                assert_eq!(
                    check(&changed),
                    Err(SigV4Error::SignatureDoesNotMatch),
                    "byte {i} ^ {flip:#x}"
                );
            }
        }
        // Truncation and extension too.
        assert_eq!(
            check(&body[..body.len() - 1]),
            Err(SigV4Error::SignatureDoesNotMatch)
        );
        let mut longer = body.clone();
        longer.push(b' ');
        assert_eq!(check(&longer), Err(SigV4Error::SignatureDoesNotMatch));
    }
}
