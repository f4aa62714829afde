//! Parsing the `Authorization` header, and the query-string form of a presigned request.

use percent_encoding::percent_decode_str;

use crate::{
    ALGORITHM, Authorization, CredentialScope, MAX_PRESIGNED_EXPIRES, Presigned, Request,
    SigV4Error, bounded,
};

/// AWS's text when neither date header is present.
pub(crate) const MISSING_DATE_MESSAGE: &str =
    "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.";

/// The parameters every header must carry, in the order AWS reports them.
const REQUIRED: [&str; 3] = ["Credential", "Signature", "SignedHeaders"];

/// How parsing failed: either parameters are missing (which [`authorization_of`] reports
/// together with a missing date header) or something else is wrong.
enum ParseFailure {
    Missing(Vec<&'static str>),
    Other(SigV4Error),
}

/// Parses the value of an `Authorization` header.
///
/// The accepted form is `AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/<term>,
/// SignedHeaders=<name>;<name>..., Signature=<hex>`; parameters may be separated by commas
/// and/or whitespace, in any order; unknown parameters are ignored; when a parameter is repeated
/// the first occurrence counts.
///
/// Errors:
/// * [`SigV4Error::MissingAuthentication`] when the value does not start with `AWS4-` (AWS
///   treats such a header, e.g. `Bearer ...` or a Signature Version 2 `AWS ...`, as no
///   authentication at all);
/// * [`SigV4Error::Incomplete`] for a token without `=`, for missing `Credential`, `Signature`
///   or `SignedHeaders` (all missing ones listed, then `Authorization=<value>`), for an
///   algorithm other than `AWS4-HMAC-SHA256`, and for a `Credential` that does not have five
///   `/`-separated parts.
///
/// For an unsupported algorithm the message is `Unsupported AWS 'algorithm': '<algorithm>'`.
/// Different AWS services have been recorded with different endings for this text (a trailing
/// `.`, or ` (only AWS4-HMAC-SHA256 for now). `), so the ending is not known to be AWS's.
///
/// The scope is not checked here beyond its shape: [`crate::verify`] checks its date and
/// terminator against the request, and [`Authorization::expect_scope`] its region and service.
pub fn parse_authorization(value: &str) -> Result<Authorization, SigV4Error> {
    match parse_inner(value) {
        Ok(auth) => Ok(auth),
        Err(ParseFailure::Missing(missing)) => Err(SigV4Error::Incomplete(missing_message(
            &missing, false, value,
        ))),
        Err(ParseFailure::Other(err)) => Err(err),
    }
}

/// Finds the request's `Authorization` header and parses it or, when there is no such header
/// and the query string has `X-Amz-Algorithm`, parses the query-string form of a presigned
/// request.
///
/// Besides what [`parse_authorization`] reports, the message for missing parameters also lists
/// a missing date header (`Authorization header requires existence of either a 'X-Amz-Date' or
/// a 'Date' header.`), as AWS does. More than one `Authorization` header is refused with
/// [`SigV4Error::Incomplete`] (`multiple authorization headers`, this crate's wording).
///
/// A presigned request is refused with [`SigV4Error::Incomplete`] when `X-Amz-Credential`,
/// `X-Amz-Signature`, `X-Amz-SignedHeaders` or `X-Amz-Date` is missing (`AWS query-string
/// parameters must include 'X-Amz-Credential'. ... Re-examine the query-string parameters.`,
/// every missing one listed: AWS's text as recorded by the scratchstack-aws-signature crate),
/// for an algorithm other than `AWS4-HMAC-SHA256`, a credential without five parts, and an
/// `X-Amz-Expires` that is not a number (`X-Amz-Expires should be a number`), negative
/// (`X-Amz-Expires must be non-negative`) or over seven days (`X-Amz-Expires must be less than
/// a week (in seconds); that is, the given X-Amz-Expires must be less than 604800 seconds`):
/// Amazon S3's texts, which S3 sends as `AuthorizationQueryParametersError`; AWS's other
/// services' texts are not known. When a parameter is repeated the first occurrence counts (the
/// signature covers every occurrence but `X-Amz-Signature`'s).
pub fn authorization_of(req: &Request) -> Result<Authorization, SigV4Error> {
    let mut values = req.header_values("authorization");
    let Some(value) = values.next() else {
        return match presigned_of(req.query) {
            Some(parsed) => parsed,
            None => Err(SigV4Error::MissingAuthentication),
        };
    };
    if values.next().is_some() {
        return Err(SigV4Error::Incomplete(
            "multiple authorization headers".to_string(),
        ));
    }
    let date_missing = !req.has_header("x-amz-date") && !req.has_header("date");
    match parse_inner(value) {
        Ok(_) if date_missing => Err(SigV4Error::Incomplete(missing_message(&[], true, value))),
        Ok(auth) => Ok(auth),
        Err(ParseFailure::Missing(missing)) => Err(SigV4Error::Incomplete(missing_message(
            &missing,
            date_missing,
            value,
        ))),
        Err(ParseFailure::Other(err)) => Err(err),
    }
}

/// The query parameters a presigned request must carry, in the order AWS reports them missing.
const QUERY_REQUIRED: [&str; 4] = [
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-SignedHeaders",
    "X-Amz-Date",
];

/// The query-string form, when the query has `X-Amz-Algorithm`; `None` otherwise.
fn presigned_of(query: &str) -> Option<Result<Authorization, SigV4Error>> {
    let mut algorithm = None;
    let mut found: [Option<String>; 4] = Default::default();
    let mut expires = None;
    let mut token = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = percent_decode_str(name).decode_utf8_lossy();
        let slot = match name.as_ref() {
            "X-Amz-Algorithm" => &mut algorithm,
            "X-Amz-Expires" => &mut expires,
            "X-Amz-Security-Token" => &mut token,
            other => match QUERY_REQUIRED.iter().position(|p| *p == other) {
                Some(i) => &mut found[i],
                None => continue,
            },
        };
        if slot.is_none() {
            *slot = Some(percent_decode_str(value).decode_utf8_lossy().into_owned());
        }
    }
    let algorithm = algorithm?;
    Some(parse_presigned(&algorithm, found, expires, token))
}

fn parse_presigned(
    algorithm: &str,
    found: [Option<String>; 4],
    expires: Option<String>,
    token: Option<String>,
) -> Result<Authorization, SigV4Error> {
    let [credential, signature, signed_headers, amz_date] =
        found.map(|v| v.filter(|v| !v.is_empty()));
    let (Some(credential), Some(signature), Some(signed_headers), Some(amz_date)) =
        (&credential, &signature, &signed_headers, &amz_date)
    else {
        let missing: Vec<String> = QUERY_REQUIRED
            .iter()
            .zip([&credential, &signature, &signed_headers, &amz_date])
            .filter(|(_, v)| v.is_none())
            .map(|(name, _)| format!("AWS query-string parameters must include '{name}'."))
            .collect();
        return Err(SigV4Error::Incomplete(format!(
            "{} Re-examine the query-string parameters.",
            missing.join(" ")
        )));
    };
    if algorithm != ALGORITHM {
        return Err(unsupported_algorithm(algorithm));
    }
    let expires = match expires {
        None => None,
        Some(text) => Some(parse_expires(&text)?),
    };
    let (access_key_id, scope, terminator) = split_credential(credential)?;
    Ok(Authorization {
        access_key_id,
        scope,
        terminator,
        signed_headers: split_signed_headers(signed_headers),
        signature: signature.clone(),
        presigned: Some(Presigned {
            amz_date: amz_date.clone(),
            expires,
            security_token: token,
        }),
    })
}

/// `X-Amz-Expires`: whole seconds, 0 to [`MAX_PRESIGNED_EXPIRES`].
fn parse_expires(text: &str) -> Result<u64, SigV4Error> {
    let Ok(n) = text.trim().parse::<i64>() else {
        return Err(SigV4Error::Incomplete(
            "X-Amz-Expires should be a number".to_string(),
        ));
    };
    let Ok(n) = u64::try_from(n) else {
        return Err(SigV4Error::Incomplete(
            "X-Amz-Expires must be non-negative".to_string(),
        ));
    };
    if n > MAX_PRESIGNED_EXPIRES {
        return Err(SigV4Error::Incomplete(format!(
            "X-Amz-Expires must be less than a week (in seconds); that is, the given X-Amz-Expires must be less than {MAX_PRESIGNED_EXPIRES} seconds"
        )));
    }
    Ok(n)
}

fn unsupported_algorithm(algorithm: &str) -> SigV4Error {
    SigV4Error::Incomplete(format!(
        "Unsupported AWS 'algorithm': '{}'",
        bounded(algorithm)
    ))
}

/// `key/date/region/service/terminator`.
fn split_credential(credential: &str) -> Result<(String, CredentialScope, String), SigV4Error> {
    let mut parts = credential.split('/');
    let (Some(access_key_id), Some(date), Some(region), Some(service), Some(terminator), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(SigV4Error::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{}'",
            bounded(credential)
        )));
    };
    Ok((
        access_key_id.to_string(),
        CredentialScope {
            date: date.to_string(),
            region: region.to_string(),
            service: service.to_string(),
        },
        terminator.to_string(),
    ))
}

fn split_signed_headers(list: &str) -> Vec<String> {
    list.split(';')
        .filter(|h| !h.is_empty())
        .map(str::to_string)
        .collect()
}

/// AWS's text for missing parts: one sentence per part, then the header echoed (cut to a
/// short prefix by [`bounded`]).
pub(crate) fn missing_message(missing: &[&str], date_missing: bool, value: &str) -> String {
    let mut message = String::new();
    for part in missing {
        message.push_str(&format!(
            "Authorization header requires '{part}' parameter. "
        ));
    }
    if date_missing {
        message.push_str(MISSING_DATE_MESSAGE);
        message.push(' ');
    }
    message.push_str("Authorization=");
    message.push_str(&bounded(value));
    message
}

fn parse_inner(value: &str) -> Result<Authorization, ParseFailure> {
    let trimmed = value.trim();
    if !trimmed.starts_with("AWS4-") {
        return Err(ParseFailure::Other(SigV4Error::MissingAuthentication));
    }
    let (algorithm, rest) = match trimmed.split_once(|c: char| c.is_ascii_whitespace()) {
        Some((algorithm, rest)) => (algorithm, rest),
        None => (trimmed, ""),
    };

    let mut credential: Option<&str> = None;
    let mut signed_headers: Option<&str> = None;
    let mut signature: Option<&str> = None;
    for token in rest
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|t| !t.is_empty())
    {
        let Some((key, val)) = token.split_once('=') else {
            return Err(ParseFailure::Other(SigV4Error::Incomplete(format!(
                "'{}' not a valid key=value pair (missing equal-sign) in Authorization header: '{}'.",
                bounded(token),
                bounded(value)
            ))));
        };
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(val);
        }
    }

    // An empty `Credential` or `Signature` counts as missing; an empty `SignedHeaders` is a
    // list without names (rejected later because `host` must be signed).
    let credential = credential.filter(|c| !c.is_empty());
    let signature = signature.filter(|s| !s.is_empty());
    let missing: Vec<&'static str> = REQUIRED
        .into_iter()
        .zip([
            credential.is_none(),
            signature.is_none(),
            signed_headers.is_none(),
        ])
        .filter_map(|(name, absent)| absent.then_some(name))
        .collect();
    let (Some(credential), Some(signature), Some(signed_headers)) =
        (credential, signature, signed_headers)
    else {
        return Err(ParseFailure::Missing(missing));
    };

    if algorithm != ALGORITHM {
        return Err(ParseFailure::Other(unsupported_algorithm(algorithm)));
    }

    let (access_key_id, scope, terminator) =
        split_credential(credential).map_err(ParseFailure::Other)?;
    Ok(Authorization {
        access_key_id,
        scope,
        terminator,
        signed_headers: split_signed_headers(signed_headers),
        signature: signature.to_string(),
        presigned: None,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::refs;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31";

    fn incomplete(value: &str) -> String {
        match parse_authorization(value) {
            Err(SigV4Error::Incomplete(message)) => message,
            other => panic!("expected Incomplete, got {other:?}"),
        }
    }

    #[test]
    fn parses_a_good_header() {
        let auth = parse_authorization(GOOD).unwrap();
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(auth.scope.date, "20150830");
        assert_eq!(auth.scope.region, "us-east-1");
        assert_eq!(auth.scope.service, "service");
        assert_eq!(auth.terminator, "aws4_request");
        assert_eq!(auth.signed_headers, vec!["host", "x-amz-date"]);
        assert_eq!(
            auth.signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn separators_and_order_are_flexible() {
        let compact = "AWS4-HMAC-SHA256 Signature=abc,SignedHeaders=host,Credential=K/20150830/r/s/aws4_request";
        let auth = parse_authorization(compact).unwrap();
        assert_eq!(auth.access_key_id, "K");
        assert_eq!(auth.signature, "abc");
        assert_eq!(auth.signed_headers, vec!["host"]);

        let spaced = "  AWS4-HMAC-SHA256   Credential=K/20150830/r/s/aws4_request ,\tSignedHeaders=host , Signature=abc ";
        assert_eq!(parse_authorization(spaced).unwrap().access_key_id, "K");
    }

    #[test]
    fn first_occurrence_wins_and_unknown_parameters_are_ignored() {
        let value = "AWS4-HMAC-SHA256 Credential=A/20150830/r/s/aws4_request, Credential=B/20150830/r/s/aws4_request, Foo=bar, SignedHeaders=host, Signature=abc";
        assert_eq!(parse_authorization(value).unwrap().access_key_id, "A");
    }

    #[test]
    fn not_sigv4_is_missing_authentication() {
        for value in [
            "",
            "Bearer abc",
            "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=",
        ] {
            assert_eq!(
                parse_authorization(value),
                Err(SigV4Error::MissingAuthentication),
                "{value:?}"
            );
        }
    }

    #[test]
    fn every_missing_part_is_listed() {
        let value = "AWS4-HMAC-SHA256";
        assert_eq!(
            incomplete(value),
            "Authorization header requires 'Credential' parameter. \
             Authorization header requires 'Signature' parameter. \
             Authorization header requires 'SignedHeaders' parameter. \
             Authorization=AWS4-HMAC-SHA256"
        );

        let value = "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, Signature=";
        assert_eq!(
            incomplete(value),
            format!(
                "Authorization header requires 'Signature' parameter. \
                 Authorization header requires 'SignedHeaders' parameter. \
                 Authorization={value}"
            )
        );

        let value = "AWS4-HMAC-SHA256 SignedHeaders=host, Signature=abc";
        assert_eq!(
            incomplete(value),
            format!("Authorization header requires 'Credential' parameter. Authorization={value}")
        );
    }

    #[test]
    fn empty_signed_headers_is_present_but_empty() {
        let value = "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request, SignedHeaders=, Signature=abc";
        assert!(
            parse_authorization(value)
                .unwrap()
                .signed_headers
                .is_empty()
        );
    }

    #[test]
    fn token_without_equal_sign() {
        let value = "AWS4-HMAC-SHA256 Credential= K/20150830/r/s/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(
            incomplete(value),
            format!(
                "'K/20150830/r/s/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: '{value}'."
            )
        );
    }

    #[test]
    fn unsupported_algorithm() {
        let value = "AWS4-HMAC-SHA1 Credential=K/20150830/r/s/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(
            incomplete(value),
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'"
        );
        // Missing parameters are reported before the algorithm.
        assert!(
            incomplete("AWS4-ECDSA-P256-SHA256 Signature=abc")
                .starts_with("Authorization header requires 'Credential' parameter.")
        );
    }

    #[test]
    fn credential_needs_five_parts() {
        for credential in ["K/20150830/r/s", "K/20150830/r/s/aws4_request/extra", "K"] {
            let value = format!(
                "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host, Signature=abc"
            );
            assert_eq!(
                incomplete(&value),
                format!(
                    "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'"
                )
            );
        }
    }

    #[test]
    fn bad_scope_parts_parse_and_are_left_to_verify() {
        let value = "AWS4-HMAC-SHA256 Credential=K/2015/ /s/xyz, SignedHeaders=host, Signature=abc";
        // The space splits the credential into two tokens: the second lacks '='.
        assert!(incomplete(value).contains("not a valid key=value pair"));

        let value = "AWS4-HMAC-SHA256 Credential=K/2015//s/xyz, SignedHeaders=host, Signature=abc";
        let auth = parse_authorization(value).unwrap();
        assert_eq!(auth.scope.date, "2015");
        assert_eq!(auth.scope.region, "");
        assert_eq!(auth.terminator, "xyz");
    }

    fn request_with<'a>(headers: &'a [(&'a str, &'a str)]) -> Request<'a> {
        Request {
            method: "GET",
            path: "/",
            query: "",
            headers,
            body: b"",
        }
    }

    #[test]
    fn authorization_of_finds_the_header() {
        let headers = vec![
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
            ("authorization".to_string(), GOOD.to_string()),
        ];
        let auth = authorization_of(&request_with(&refs(&headers))).unwrap();
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
    }

    #[test]
    fn authorization_of_without_header() {
        let headers = vec![("Host".to_string(), "example.com".to_string())];
        assert_eq!(
            authorization_of(&request_with(&refs(&headers))),
            Err(SigV4Error::MissingAuthentication)
        );
    }

    #[test]
    fn authorization_of_lists_a_missing_date_too() {
        let value = "AWS4-HMAC-SHA256 Credential=K/20150830/r/s/aws4_request";
        let headers = vec![("Authorization".to_string(), value.to_string())];
        assert_eq!(
            authorization_of(&request_with(&refs(&headers))),
            Err(SigV4Error::Incomplete(format!(
                "Authorization header requires 'Signature' parameter. \
                 Authorization header requires 'SignedHeaders' parameter. \
                 Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
                 Authorization={value}"
            )))
        );

        let headers = vec![("Authorization".to_string(), GOOD.to_string())];
        assert_eq!(
            authorization_of(&request_with(&refs(&headers))),
            Err(SigV4Error::Incomplete(format!(
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. \
                 Authorization={}",
                crate::bounded(GOOD)
            )))
        );

        // A `Date` header is enough.
        let headers = vec![
            ("Authorization".to_string(), GOOD.to_string()),
            (
                "Date".to_string(),
                "Sun, 30 Aug 2015 12:36:00 GMT".to_string(),
            ),
        ];
        assert!(authorization_of(&request_with(&refs(&headers))).is_ok());
    }

    #[test]
    fn authorization_of_refuses_two_headers() {
        let headers = vec![
            ("Authorization".to_string(), GOOD.to_string()),
            ("authorization".to_string(), GOOD.to_string()),
            ("X-Amz-Date".to_string(), "20150830T123600Z".to_string()),
        ];
        assert_eq!(
            authorization_of(&request_with(&refs(&headers))),
            Err(SigV4Error::Incomplete(
                "multiple authorization headers".to_string()
            ))
        );
    }
}
