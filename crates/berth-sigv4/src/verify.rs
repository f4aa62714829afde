//! Verifying a signed request.

use std::time::SystemTime;

use berth_core::mac::hmac_sha256;
use berth_core::time;
use subtle::Choice;

use crate::auth::{MISSING_DATE_MESSAGE, missing_message};
use crate::canonical::{
    PathMode, canonical_headers, canonical_query_of, canonical_uri, join_canonical,
};
use crate::crypto::{hex32, sha256_hex, signatures_equal, signing_key, string_to_sign};
use crate::{
    Authorization, MAX_CLOCK_SKEW, PRESIGNED_EXPIRED_MESSAGE, Request, SCOPE_TERMINATOR,
    SigV4Error, bounded, wrong_region_message,
};

/// Verifies `req`'s signature as described by `auth` (usually from
/// [`crate::authorization_of`]) under `secret_access_key`, at server time `now`.
///
/// Checks, in this order (the first failure is returned):
///
/// 1. the request's timestamp: for the header form `X-Amz-Date` (`YYYYMMDDTHHMMSSZ`) or, when
///    that header is absent, `Date` (`Sun, 30 Aug 2015 12:36:00 GMT`); for a presigned request
///    the `X-Amz-Date` parameter. It must be present and well-formed
///    ([`SigV4Error::Incomplete`]);
/// 2. the timestamp is within [`MAX_CLOCK_SKEW`] of `now`, bounds included
///    ([`SigV4Error::Expired`], [`SigV4Error::NotYetCurrent`]); a presigned request with
///    `X-Amz-Expires` may instead be as old as that many seconds, bound included, and past it is
///    refused with [`SigV4Error::Expired`] ([`crate::PRESIGNED_EXPIRED_MESSAGE`]);
/// 3. `host` is among the signed headers ([`SigV4Error::HeaderNotSigned`]);
/// 4. the credential scope: non-empty region, terminator `aws4_request`, date equal to the
///    date part of the timestamp ([`SigV4Error::InvalidScope`], every problem in one message);
/// 5. every `X-Amz-*` header the request carries is signed ([`SigV4Error::HeaderNotSigned`]),
///    as AWS's documentation requires: an unsigned `X-Amz-Target` could be changed by anyone
///    who sees the request to run another operation with its signature, and an unsigned
///    session token could be swapped (some SDKs used to add that one after signing; it is
///    refused all the same);
/// 6. the signature: canonical request ([`crate::canonical_request_for`], with the path
///    normalized; when the path as received differs from its normalized form, that form is
///    tried too), string to sign, signing key, HMAC-SHA256, compared with the given signature
///    in constant time ([`SigV4Error::Incomplete`] when a signed header is absent,
///    [`SigV4Error::SignatureDoesNotMatch`] otherwise).
///
/// The region and service are not compared with the server's; see
/// [`Authorization::expect_scope`]. Whether the access key and any session token are valid is
/// for the caller to decide.
pub fn verify(
    req: &Request,
    auth: &Authorization,
    secret_access_key: &str,
    now: SystemTime,
) -> Result<(), SigV4Error> {
    let now = time::unix_secs(now);
    let amz_date = match &auth.presigned {
        None => {
            let (amz_date, request_time) = request_timestamp(req)?;
            check_clock_skew(request_time, now)?;
            amz_date
        }
        Some(presigned) => {
            let value = presigned.amz_date.trim();
            let Some(request_time) = time::parse_amz_date(value) else {
                return Err(not_iso_basic(value));
            };
            check_presigned_window(request_time, presigned.expires, now)?;
            value.to_string()
        }
    };

    if !is_signed(auth, "host") {
        return Err(SigV4Error::HeaderNotSigned("Host".to_string()));
    }
    check_scope(auth, &amz_date)?;
    check_amz_headers_signed(req, auth)?;

    // Everything but the canonical URI is the same for both path modes: computed once.
    let headers = canonical_headers(req, &auth.signed_headers)?;
    let query = canonical_query_of(req.query, auth);
    let payload_hash = sha256_hex(req.body);
    let key = signing_key(secret_access_key, &auth.scope);
    let normalized = canonical_uri(req.path, PathMode::Normalized);
    let as_received = canonical_uri(req.path, PathMode::AsReceived);
    let mut uris = vec![normalized.as_str()];
    if as_received != normalized {
        uris.push(as_received.as_str());
    }
    // Every candidate is computed and compared, without stopping at the first match.
    let mut matched = Choice::from(0u8);
    for uri in uris {
        let creq = join_canonical(req.method, uri, &query, &headers, &payload_hash);
        let sts = string_to_sign(&amz_date, &auth.scope, &creq);
        let computed = hex32(&hmac_sha256(&key, sts.as_bytes()));
        matched |= signatures_equal(&computed, &auth.signature);
    }
    if bool::from(matched) {
        Ok(())
    } else {
        Err(SigV4Error::SignatureDoesNotMatch)
    }
}

/// Every `X-Amz-*` header of the request must be among the signed ones.
fn check_amz_headers_signed(req: &Request, auth: &Authorization) -> Result<(), SigV4Error> {
    for (name, _) in req.headers {
        let amz = name
            .get(..6)
            .is_some_and(|prefix| prefix.eq_ignore_ascii_case("x-amz-"));
        if amz && !is_signed(auth, name) {
            return Err(SigV4Error::HeaderNotSigned(display_name(name)));
        }
    }
    Ok(())
}

/// A header name with each `-`-separated word capitalised (`x-amz-target` → `X-Amz-Target`),
/// cut to a short prefix.
fn display_name(name: &str) -> String {
    let bounded = crate::bounded(name);
    let mut out = String::with_capacity(bounded.len());
    let mut word_start = true;
    for c in bounded.chars() {
        if word_start {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c.to_ascii_lowercase());
        }
        word_start = c == '-';
    }
    out
}

fn not_iso_basic(value: &str) -> SigV4Error {
    SigV4Error::Incomplete(format!(
        "Date must be in ISO-8601 'basic format'. Got '{}'. See http://en.wikipedia.org/wiki/ISO_8601",
        bounded(value)
    ))
}

/// A presigned request's window: not more than [`MAX_CLOCK_SKEW`] in the future; not older
/// than `expires` seconds, or than [`MAX_CLOCK_SKEW`] without `X-Amz-Expires`.
fn check_presigned_window(
    request_time: i64,
    expires: Option<u64>,
    now: i64,
) -> Result<(), SigV4Error> {
    check_not_future(request_time, now)?;
    let Some(expires) = expires else {
        return check_not_past(request_time, now);
    };
    let expires = i64::try_from(expires).unwrap_or(i64::MAX);
    if now > request_time.saturating_add(expires) {
        return Err(SigV4Error::Expired {
            message: PRESIGNED_EXPIRED_MESSAGE.to_string(),
        });
    }
    Ok(())
}

fn is_signed(auth: &Authorization, name: &str) -> bool {
    auth.signed_headers
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name))
}

/// The request's timestamp as `YYYYMMDDTHHMMSSZ` and as Unix seconds.
fn request_timestamp(req: &Request) -> Result<(String, i64), SigV4Error> {
    let mut amz = req.header_values("x-amz-date");
    if let Some(first) = amz.next() {
        // Repeated headers are taken together, as in the canonical request, and so fail.
        let joined: std::borrow::Cow<'_, str> = match amz.next() {
            None => first.into(),
            Some(second) => [first, second]
                .into_iter()
                .chain(amz)
                .collect::<Vec<_>>()
                .join(",")
                .into(),
        };
        let value = joined.trim();
        return match time::parse_amz_date(value) {
            Some(unix) => Ok((value.to_string(), unix)),
            None => Err(not_iso_basic(value)),
        };
    }
    let date: Vec<&str> = req.header_values("date").collect();
    if !date.is_empty() {
        let value = date.join(",");
        let value = value.trim();
        return match time::parse_http_date(value) {
            Some(unix) => Ok((time::amz_date(unix), unix)),
            None => Err(SigV4Error::Incomplete(format!(
                "date header is not an http date: '{}'",
                bounded(value)
            ))),
        };
    }
    let message = match req.header_values("authorization").next() {
        Some(raw) => missing_message(&[], true, raw),
        None => MISSING_DATE_MESSAGE.to_string(),
    };
    Err(SigV4Error::Incomplete(message))
}

fn check_clock_skew(request_time: i64, now: i64) -> Result<(), SigV4Error> {
    check_not_past(request_time, now)?;
    check_not_future(request_time, now)
}

/// The allowed skew in seconds, and in minutes for the messages.
fn skew() -> (i64, i64) {
    let skew = i64::try_from(MAX_CLOCK_SKEW.as_secs()).unwrap_or(i64::MAX);
    (skew, skew / 60)
}

fn check_not_past(request_time: i64, now: i64) -> Result<(), SigV4Error> {
    let (skew, minutes) = skew();
    let earliest = now.saturating_sub(skew);
    if request_time < earliest {
        return Err(SigV4Error::Expired {
            message: format!(
                "Signature expired: {} is now earlier than {} ({} - {minutes} min.)",
                time::amz_date(request_time),
                time::amz_date(earliest),
                time::amz_date(now)
            ),
        });
    }
    Ok(())
}

fn check_not_future(request_time: i64, now: i64) -> Result<(), SigV4Error> {
    let (skew, minutes) = skew();
    let latest = now.saturating_add(skew);
    if request_time > latest {
        return Err(SigV4Error::NotYetCurrent {
            message: format!(
                "Signature not yet current: {} is still later than {} ({} + {minutes} min.)",
                time::amz_date(request_time),
                time::amz_date(latest),
                time::amz_date(now)
            ),
        });
    }
    Ok(())
}

fn check_scope(auth: &Authorization, amz_date: &str) -> Result<(), SigV4Error> {
    let mut message = String::new();
    if auth.scope.region.is_empty() {
        message.push_str(&wrong_region_message(&auth.scope.region));
    }
    if auth.terminator != SCOPE_TERMINATOR {
        message.push_str(&format!(
            "Credential should be scoped with a valid terminator: '{SCOPE_TERMINATOR}', not '{}'. ",
            bounded(&auth.terminator)
        ));
    }
    let day = amz_date.get(..8).unwrap_or(amz_date);
    if auth.scope.date != day {
        message.push_str(&format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{day}', from '{amz_date}'.",
            bounded(&auth.scope.date)
        ));
    }
    if message.is_empty() {
        Ok(())
    } else {
        Err(SigV4Error::InvalidScope(message))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::refs;
    use crate::{CredentialScope, canonical_request, parse_authorization, sign};
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    /// 2026-11-29T01:15:00Z
    const NOW: u64 = 1_795_914_900;

    fn at(unix: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(unix)
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn get<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request {
            method: "GET",
            path: "/",
            query: "",
            headers,
            body: b"",
        }
    }

    /// Signs a GET with the given extra headers and returns all headers.
    fn signed(extra: &[(&str, &str)], token: Option<&str>, time: u64) -> Vec<(String, String)> {
        let mut hs = headers(&[("Host", "ecs.us-east-1.amazonaws.com")]);
        hs.extend(headers(extra));
        let added = sign(
            &get(&refs(&hs)),
            "AKID",
            SECRET,
            token,
            "us-east-1",
            "ecs",
            at(time),
        );
        hs.extend(added);
        hs
    }

    fn check(hs: &[(String, String)], now: u64) -> Result<(), SigV4Error> {
        let hs = refs(hs);
        let req = get(&hs);
        let auth = crate::authorization_of(&req)?;
        verify(&req, &auth, SECRET, at(now))
    }

    fn replace(hs: &mut [(String, String)], name: &str, f: impl Fn(&str) -> String) {
        for (n, v) in hs.iter_mut() {
            if n.eq_ignore_ascii_case(name) {
                *v = f(v);
            }
        }
    }

    #[test]
    fn repeated_date_headers_are_taken_together() {
        let hs = headers(&[
            ("Host", "example.com"),
            ("X-Amz-Date", "20261129T011500Z"),
            ("x-amz-date", " 20261129T011500Z "),
        ]);
        let hs = refs(&hs);
        assert_eq!(
            request_timestamp(&get(&hs)),
            Err(SigV4Error::Incomplete(
                "Date must be in ISO-8601 'basic format'. Got '20261129T011500Z, 20261129T011500Z'. See http://en.wikipedia.org/wiki/ISO_8601".into()
            ))
        );
        let one = headers(&[
            ("Host", "example.com"),
            ("X-Amz-Date", " 20261129T011500Z "),
        ]);
        let one = refs(&one);
        assert_eq!(
            request_timestamp(&get(&one)),
            Ok(("20261129T011500Z".to_string(), NOW as i64))
        );
    }

    #[test]
    fn accepts_its_own_signature() {
        assert_eq!(check(&signed(&[], None, NOW), NOW), Ok(()));
    }

    #[test]
    fn clock_skew_bounds_are_inclusive() {
        let hs = signed(&[], None, NOW);
        assert_eq!(check(&hs, NOW + 300), Ok(()));
        assert_eq!(check(&hs, NOW - 300), Ok(()));
        assert!(matches!(
            check(&hs, NOW + 301),
            Err(SigV4Error::Expired { .. })
        ));
        assert!(matches!(
            check(&hs, NOW - 301),
            Err(SigV4Error::NotYetCurrent { .. })
        ));
    }

    #[test]
    fn clock_skew_messages_are_aws_wording() {
        // Signed at 01:00:00, checked at 01:15:00.
        let hs = signed(&[], None, NOW - 900);
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::Expired {
                message: "Signature expired: 20261129T010000Z is now earlier than 20261129T011000Z (20261129T011500Z - 5 min.)".into()
            })
        );
        // Signed at 01:21:00, checked at 01:15:00.
        let hs = signed(&[], None, NOW + 360);
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::NotYetCurrent {
                message: "Signature not yet current: 20261129T012100Z is still later than 20261129T012000Z (20261129T011500Z + 5 min.)".into()
            })
        );
    }

    #[test]
    fn a_date_header_may_replace_x_amz_date() {
        // Sign by hand with a `Date` header only.
        let hs = headers(&[
            ("Host", "example.com"),
            ("Date", "Sun, 29 Nov 2026 01:15:00 GMT"),
        ]);
        let borrowed = refs(&hs);
        let req = get(&borrowed);
        let signed_headers = vec!["date".to_string(), "host".to_string()];
        let scope = CredentialScope {
            date: "20261129".into(),
            region: "us-east-1".into(),
            service: "ecs".into(),
        };
        let creq = canonical_request(&req, &signed_headers, PathMode::Normalized).unwrap();
        let sts = string_to_sign("20261129T011500Z", &scope, &creq);
        let sig = crate::signature(&signing_key(SECRET, &scope), &sts);
        let mut hs = hs.clone();
        hs.push((
            "Authorization".into(),
            format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/ecs/aws4_request, SignedHeaders=date;host, Signature={sig}"
            ),
        ));
        assert_eq!(check(&hs, NOW), Ok(()));
        assert!(matches!(
            check(&hs, NOW + 400),
            Err(SigV4Error::Expired { .. })
        ));
    }

    #[test]
    fn bad_timestamps() {
        let mut hs = signed(&[], None, NOW);
        replace(&mut hs, "x-amz-date", |_| "2026-11-29T01:15:00Z".into());
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::Incomplete(
                "Date must be in ISO-8601 'basic format'. Got '2026-11-29T01:15:00Z'. See http://en.wikipedia.org/wiki/ISO_8601".into()
            ))
        );

        let mut hs = signed(&[], None, NOW);
        hs.retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"));
        hs.push(("Date".into(), "yesterday".into()));
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::Incomplete(
                "date header is not an http date: 'yesterday'".into()
            ))
        );

        // Without any date header, verify (given an already parsed authorization) names it.
        let mut hs = signed(&[], None, NOW);
        let auth = crate::authorization_of(&get(&refs(&hs))).unwrap();
        hs.retain(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"));
        let raw = hs
            .iter()
            .find(|(n, _)| n == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap();
        assert_eq!(
            verify(&get(&refs(&hs)), &auth, SECRET, at(NOW)),
            Err(SigV4Error::Incomplete(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={}",
                bounded(&raw)
            )))
        );
    }

    fn with_authorization(hs: &mut [(String, String)], f: impl Fn(&str) -> String) {
        replace(hs, "authorization", f);
    }

    #[test]
    fn host_must_be_signed() {
        let mut hs = signed(&[], None, NOW);
        with_authorization(&mut hs, |v| {
            v.replace("SignedHeaders=host;", "SignedHeaders=")
        });
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::HeaderNotSigned("Host".into()))
        );
        assert_eq!(
            check(&hs, NOW).unwrap_err().to_string(),
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        );
    }

    #[test]
    fn x_amz_date_must_be_signed_when_present() {
        let mut hs = signed(&[], None, NOW);
        with_authorization(&mut hs, |v| v.replace("host;x-amz-date", "host"));
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::HeaderNotSigned("X-Amz-Date".into()))
        );
    }

    #[test]
    fn every_x_amz_header_must_be_signed() {
        // Signed over host and x-amz-date only, then given a target: the replay of a
        // DescribeSecret signature as another operation.
        let mut hs = signed(&[], None, NOW);
        hs.push((
            "X-Amz-Target".into(),
            "secretsmanager.GetSecretValue".into(),
        ));
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::HeaderNotSigned("X-Amz-Target".into()))
        );
        assert_eq!(
            check(&hs, NOW).unwrap_err().to_string(),
            "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization."
        );
        // Any other x-amz-* header too; x-amzn-trace-id is not one.
        let mut hs = signed(&[], None, NOW);
        hs.push(("x-amz-user-agent".into(), "aws-sdk".into()));
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::HeaderNotSigned("X-Amz-User-Agent".into()))
        );
        let mut hs = signed(&[], None, NOW);
        hs.push(("X-Amzn-Trace-Id".into(), "Root=1-5759e988".into()));
        assert_eq!(check(&hs, NOW), Ok(()));
        // A huge unsigned name is quoted short.
        let mut hs = signed(&[], None, NOW);
        hs.push((format!("x-amz-{}", "a".repeat(10_000)), "v".into()));
        let message = check(&hs, NOW).unwrap_err().to_string();
        assert!(message.len() < 300, "{}", message.len());
        // Signed, it verifies.
        let hs = signed(
            &[("X-Amz-Target", "secretsmanager.DescribeSecret")],
            None,
            NOW,
        );
        assert_eq!(check(&hs, NOW), Ok(()));
    }

    #[test]
    fn garbage_is_quoted_short() {
        let garbage = format!("AWS4-HMAC-SHA256 {}", "x".repeat(380_000));
        let hs = headers(&[
            ("Authorization", &garbage),
            ("X-Amz-Date", "20261129T011500Z"),
        ]);
        let err = crate::authorization_of(&get(&refs(&hs))).unwrap_err();
        let message = err.to_string();
        assert!(message.len() < 600, "{}", message.len());
        assert!(message.contains("not a valid key=value pair"), "{message}");
        assert!(message.ends_with("…'."), "{message}");
    }

    fn presigned_get(query: &str) -> Result<Authorization, SigV4Error> {
        crate::authorization_of(&Request {
            method: "GET",
            path: "/",
            query,
            headers: &[("Host", "example.com")],
            body: b"",
        })
    }

    #[test]
    fn presigned_parameters() {
        assert_eq!(
            presigned_get("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261129T011500Z"),
            Err(SigV4Error::Incomplete(
                "AWS query-string parameters must include 'X-Amz-Credential'. \
                 AWS query-string parameters must include 'X-Amz-Signature'. \
                 AWS query-string parameters must include 'X-Amz-SignedHeaders'. \
                 Re-examine the query-string parameters."
                    .into()
            ))
        );
        let base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261129%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Date=20261129T011500Z&X-Amz-SignedHeaders=host&X-Amz-Signature=00";
        let auth = presigned_get(base).unwrap();
        assert_eq!(auth.scope.region, "us-east-1");
        assert_eq!(auth.presigned.as_ref().unwrap().expires, None);
        for (expires, message) in [
            ("abc", "X-Amz-Expires should be a number"),
            ("-1", "X-Amz-Expires must be non-negative"),
            (
                "604801",
                "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds",
            ),
        ] {
            assert_eq!(
                presigned_get(&format!("{base}&X-Amz-Expires={expires}")),
                Err(SigV4Error::Incomplete(message.into()))
            );
        }
        assert_eq!(
            presigned_get(&format!("{base}&X-Amz-Expires=604800"))
                .unwrap()
                .presigned
                .unwrap()
                .expires,
            Some(604_800)
        );
        assert!(matches!(
            presigned_get(&base.replace("HMAC-SHA256", "HMAC-SHA1")),
            Err(SigV4Error::Incomplete(m)) if m == "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'"
        ));
        // Without X-Amz-Algorithm the query is not an authorization.
        assert_eq!(
            presigned_get("X-Amz-Signature=00"),
            Err(SigV4Error::MissingAuthentication)
        );
    }

    #[test]
    fn session_token_must_be_signed() {
        let token = "FwoGZXIvYXdzEBYaDK7example+token/==";
        let hs = signed(&[], Some(token), NOW);
        assert_eq!(check(&hs, NOW), Ok(()));

        // A token added after signing (not in SignedHeaders) is refused, even though the
        // signature over the other headers is right.
        let mut hs = signed(&[], None, NOW);
        hs.push(("X-Amz-Security-Token".into(), token.into()));
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::HeaderNotSigned("X-Amz-Security-Token".into()))
        );

        // A signed token cannot be swapped.
        let mut hs = signed(&[], Some(token), NOW);
        replace(&mut hs, "x-amz-security-token", |_| "other".into());
        assert_eq!(check(&hs, NOW), Err(SigV4Error::SignatureDoesNotMatch));
    }

    #[test]
    fn scope_problems_are_reported_together() {
        let mut hs = signed(&[], None, NOW);
        with_authorization(&mut hs, |v| {
            v.replace("/20261129/us-east-1/ecs/aws4_request", "/20261128//ecs/xyz")
        });
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::InvalidScope(
                "Credential should be scoped to a valid region, not ''. \
                 Credential should be scoped with a valid terminator: 'aws4_request', not 'xyz'. \
                 Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20261128' != '20261129', from '20261129T011500Z'."
                    .into()
            ))
        );

        let mut hs = signed(&[], None, NOW);
        with_authorization(&mut hs, |v| v.replace("/aws4_request", "/aws4_requesT"));
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::InvalidScope(
                "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_requesT'. ".into()
            ))
        );
    }

    #[test]
    fn missing_signed_header_is_incomplete() {
        let mut hs = signed(
            &[(
                "X-Amz-Target",
                "AmazonEC2ContainerServiceV20141113.ListClusters",
            )],
            None,
            NOW,
        );
        hs.retain(|(n, _)| n != "X-Amz-Target");
        assert_eq!(
            check(&hs, NOW),
            Err(SigV4Error::Incomplete(
                "'x-amz-target' is named as a SignedHeader, but it does not exist in the HTTP request.".into()
            ))
        );
    }

    #[test]
    fn wrong_secret_or_signature() {
        let hs = signed(&[], None, NOW);
        let hs = refs(&hs);
        let req = get(&hs);
        let auth = crate::authorization_of(&req).unwrap();
        assert_eq!(
            verify(&req, &auth, "another secret", at(NOW)),
            Err(SigV4Error::SignatureDoesNotMatch)
        );

        for mangle in [
            |s: &str| s.to_uppercase(),
            |s: &str| s[..63].to_string(),
            |s: &str| format!("{s}0"),
            |_: &str| "0".repeat(64),
            |_: &str| "zz".to_string(),
        ] {
            let mut bad = auth.clone();
            bad.signature = mangle(&auth.signature);
            assert_eq!(
                verify(&req, &bad, SECRET, at(NOW)),
                Err(SigV4Error::SignatureDoesNotMatch),
                "{}",
                bad.signature
            );
        }
    }

    #[test]
    fn every_signature_digit_matters() {
        let hs = signed(&[], None, NOW);
        let hs = refs(&hs);
        let req = get(&hs);
        let auth = crate::authorization_of(&req).unwrap();
        for i in 0..auth.signature.len() {
            let mut bad = auth.clone();
            let mut digits: Vec<u8> = bad.signature.into_bytes();
            digits[i] = if digits[i] == b'0' { b'1' } else { b'0' };
            bad.signature = String::from_utf8(digits).unwrap();
            assert_eq!(
                verify(&req, &bad, SECRET, at(NOW)),
                Err(SigV4Error::SignatureDoesNotMatch)
            );
        }
    }

    #[test]
    fn unnormalized_paths_are_accepted_either_way() {
        // A client that signs the path as sent, without normalizing it.
        let hs = headers(&[("Host", "example.com"), ("X-Amz-Date", "20261129T011500Z")]);
        let req = Request {
            method: "GET",
            path: "//a/./b/../c",
            query: "",
            headers: &refs(&hs),
            body: b"",
        };
        let scope = CredentialScope {
            date: "20261129".into(),
            region: "us-east-1".into(),
            service: "ecs".into(),
        };
        let signed_headers = vec!["host".to_string(), "x-amz-date".to_string()];
        for mode in [PathMode::AsReceived, PathMode::Normalized] {
            let creq = canonical_request(&req, &signed_headers, mode).unwrap();
            let sts = string_to_sign("20261129T011500Z", &scope, &creq);
            let sig = crate::signature(&signing_key(SECRET, &scope), &sts);
            let auth = parse_authorization(&format!(
                "AWS4-HMAC-SHA256 Credential=AKID/20261129/us-east-1/ecs/aws4_request, SignedHeaders=host;x-amz-date, Signature={sig}"
            ))
            .unwrap();
            assert_eq!(verify(&req, &auth, SECRET, at(NOW)), Ok(()), "{mode:?}");
        }
    }
}
