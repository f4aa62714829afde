//! Server-side AWS Signature Version 4 verification (header and query-string forms) and a
//! matching signer (header form).
//!
//! The crate knows nothing about HTTP frameworks and does no I/O: callers describe a request
//! with [`Request`] (method, raw path, raw query, headers as received, body bytes) and get
//! plain values back.
//!
//! Verifying a request:
//!
//! 1. [`authorization_of`] finds and parses the `Authorization` header
//!    (`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...`) or, without one, the
//!    query-string form of a presigned request (`X-Amz-Algorithm`, `X-Amz-Credential`,
//!    `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`, `X-Amz-Signature`, and
//!    `X-Amz-Security-Token` for temporary credentials);
//! 2. the caller looks up the secret for [`Authorization::access_key_id`] (and, for temporary
//!    credentials, checks [`Authorization::security_token`] against the session; this crate only
//!    makes sure the token is signed);
//! 3. [`verify`] checks the timestamp (and a presigned request's expiry), the credential scope,
//!    that `Host` and every `X-Amz-*` header are signed, and the signature.
//!
//! Whatever a message repeats of the client's input is cut to a short, escaped prefix
//! ([`bounded`]).
//!
//! Canonicalization follows the rules for every service but S3: the path is normalized
//! (dot segments removed, repeated slashes collapsed) and its wire form is URI-encoded again
//! ("double encoding"). A signature over the path exactly as received (not normalized, as some
//! SDKs send it) is accepted too; see [`PathMode`].
//!
//! Errors are [`SigV4Error`] values; the HTTP layer picks the AWS error code from the variant
//! and shows the variant's text, which is AWS's own wording where known.
//!
//! ```
//! use std::time::SystemTime;
//! use berth_sigv4::{Request, authorization_of, sign, verify};
//!
//! # fn main() -> Result<(), berth_sigv4::SigV4Error> {
//! let body = br#"{"cluster":"default"}"#;
//! let mut headers = vec![
//!     ("Host", "ecs.us-east-1.amazonaws.com"),
//!     ("Content-Type", "application/x-amz-json-1.1"),
//! ];
//! let now = SystemTime::now();
//! let req = Request { method: "POST", path: "/", query: "", headers: &headers, body };
//! let added = sign(&req, "AKIDEXAMPLE", "secret", None, "us-east-1", "ecs", now);
//! headers.extend(added.iter().map(|(n, v)| (n.as_str(), v.as_str())));
//!
//! // On the server:
//! let req = Request { method: "POST", path: "/", query: "", headers: &headers, body };
//! let auth = authorization_of(&req)?;
//! assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
//! verify(&req, &auth, "secret", now)?;
//! # Ok(())
//! # }
//! ```

mod auth;
mod canonical;
mod crypto;
mod quote;
mod sign;
mod verify;

pub use auth::{authorization_of, parse_authorization};
pub use canonical::{PathMode, canonical_request, canonical_request_for};
pub use crypto::{signature, signing_key, string_to_sign};
pub use quote::{QUOTE_LIMIT, bounded};
pub use sign::sign;
pub use verify::verify;

use std::fmt;
use std::time::Duration;

/// The only signing algorithm this crate accepts and produces.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The last element of every credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";

/// How far the request's timestamp may be from the server's clock, either way.
pub const MAX_CLOCK_SKEW: Duration = Duration::from_secs(5 * 60);

/// The longest lifetime a presigned request may ask for in `X-Amz-Expires`: seven days, in
/// seconds (the most Amazon S3 documents; a signing key is good for seven days).
pub const MAX_PRESIGNED_EXPIRES: u64 = 7 * 24 * 60 * 60;

/// AWS's message for a request without authentication information
/// (error code `MissingAuthenticationToken`).
///
/// JSON-protocol services (ECS, KMS, Secrets Manager) answer with this text; the query-protocol
/// services (IAM, STS) have been seen answering `Request is missing Authentication Token`
/// instead.
pub const MISSING_AUTHENTICATION_MESSAGE: &str = "Missing Authentication Token";

/// Amazon S3's message for a presigned request past its expiry (S3 sends it with
/// `AccessDenied`). AWS's other services are reported to ignore `X-Amz-Expires` and to hold a
/// presigned request to the clock-skew window of its `X-Amz-Date` alone (aws-sdk-go pull request
/// 2224); their text for one past its expiry is not known.
pub const PRESIGNED_EXPIRED_MESSAGE: &str = "Request has expired";

/// AWS's message when the computed signature differs from the one the request carries
/// (error code `SignatureDoesNotMatch`, `InvalidSignatureException` in JSON protocols).
pub const SIGNATURE_MISMATCH_MESSAGE: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

/// A request as it came off the wire, in the form the signature covers.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method, e.g. `POST`.
    pub method: &'a str,
    /// The path exactly as on the wire (still percent-encoded as received), without `?` and query.
    pub path: &'a str,
    /// The raw query string without the leading `?`; empty when there is none.
    pub query: &'a str,
    /// Headers as received: names in any case, duplicates allowed, values unprocessed.
    /// Borrowed, so that a server need not copy every header of every request.
    pub headers: &'a [(&'a str, &'a str)],
    /// The request body.
    pub body: &'a [u8],
}

impl<'a> Request<'a> {
    /// Values of every header named `name` (compared without regard to case), in order received.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// Whether the request carries at least one header named `name` (any case).
    pub fn has_header(&self, name: &str) -> bool {
        self.headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case(name))
    }
}

/// The credential scope of a signature: `date/region/service/aws4_request`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// The signing date, `YYYYMMDD`.
    pub date: String,
    /// The region the request was signed for, e.g. `us-east-1`.
    pub region: String,
    /// The signing name of the service, e.g. `ecs` or `secretsmanager`.
    pub service: String,
}

impl fmt::Display for CredentialScope {
    /// Formats the scope as it appears in the string to sign: `date/region/service/aws4_request`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{SCOPE_TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// The parsed value of an `Authorization: AWS4-HMAC-SHA256 ...` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id from `Credential`.
    pub access_key_id: String,
    /// Date, region and service from `Credential`.
    pub scope: CredentialScope,
    /// The scope's last element as sent; [`verify`] requires [`SCOPE_TERMINATOR`].
    pub terminator: String,
    /// The names listed in `SignedHeaders`, in the order given.
    pub signed_headers: Vec<String>,
    /// The hex signature as sent.
    pub signature: String,
    /// For a presigned request (signature in the query string), what the query string says
    /// beyond the header form; `None` for the header form.
    pub presigned: Option<Presigned>,
}

/// The parts of a presigned request's query string that the header form carries in headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    /// `X-Amz-Date` as given (checked by [`verify`]).
    pub amz_date: String,
    /// `X-Amz-Expires` in seconds, at most [`MAX_PRESIGNED_EXPIRES`]; `None` when absent, and
    /// then the request is valid within [`MAX_CLOCK_SKEW`] of its date, like a header-signed
    /// one.
    pub expires: Option<u64>,
    /// `X-Amz-Security-Token`, percent-decoded.
    pub security_token: Option<String>,
}

impl Authorization {
    /// The session token the signature covers: a presigned request's `X-Amz-Security-Token`
    /// query parameter, else the `X-Amz-Security-Token` header (which [`verify`] requires to be
    /// signed). A presigned request that has both is answered with the query parameter's, the
    /// one its URL was made with.
    pub fn security_token<'r>(&'r self, req: &Request<'r>) -> Option<&'r str> {
        if let Some(token) = self
            .presigned
            .as_ref()
            .and_then(|p| p.security_token.as_deref())
        {
            return Some(token);
        }
        req.header_values("x-amz-security-token").next()
    }

    /// Checks the scope's region and service against what the server expects, with AWS's
    /// messages (`Credential should be scoped to a valid region, not 'x'. ` and
    /// `Credential should be scoped to correct service: 'y'. `, joined when both apply).
    ///
    /// [`verify`] does not call this: the server decides which regions and service names it
    /// answers to.
    pub fn expect_scope(&self, region: &str, service: &str) -> Result<(), SigV4Error> {
        let mut message = String::new();
        if self.scope.region != region {
            message.push_str(&wrong_region_message(&self.scope.region));
        }
        if self.scope.service != service {
            message.push_str(&format!(
                "Credential should be scoped to correct service: '{}'. ",
                bounded(service)
            ));
        }
        if message.is_empty() {
            Ok(())
        } else {
            Err(SigV4Error::InvalidScope(message))
        }
    }
}

/// Why a request's signature was not accepted.
///
/// The variants follow the AWS error codes the HTTP layer will answer with; the `Display` text
/// is the message to show. Where the text says "AWS wording" it reproduces messages AWS has been
/// seen to send; the others are marked as this crate's own phrasing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigV4Error {
    /// No `Authorization` header, or one that is not AWS Signature Version 4 at all (it does not
    /// start with `AWS4-`). AWS answers `MissingAuthenticationToken`; the text is
    /// [`MISSING_AUTHENTICATION_MESSAGE`].
    #[error("Missing Authentication Token")]
    MissingAuthentication,

    /// The `Authorization` header (or the date header it needs) is present but unusable.
    /// AWS answers `IncompleteSignature` (`IncompleteSignatureException`) with texts such as:
    ///
    /// * `Authorization header requires 'Credential' parameter. Authorization header requires
    ///   'Signature' parameter. ... Authorization=<header value>` (every missing part is listed,
    ///   including `Authorization header requires existence of either a 'X-Amz-Date' or a 'Date'
    ///   header.`);
    /// * `'<token>' not a valid key=value pair (missing equal-sign) in Authorization header:
    ///   '<header value>'.`;
    /// * `Credential must have exactly 5 slash-delimited elements, e.g.
    ///   keyid/date/region/service/term, got '<credential>'`;
    /// * `Unsupported AWS 'algorithm': '<algorithm>'` (AWS's exact tail is uncertain, see
    ///   [`parse_authorization`]);
    /// * `Date must be in ISO-8601 'basic format'. Got '<value>'. See
    ///   http://en.wikipedia.org/wiki/ISO_8601`;
    /// * `'<name>' is named as a SignedHeader, but it does not exist in the HTTP request.`.
    #[error("{0}")]
    Incomplete(String),

    /// The credential scope does not fit the request: terminator other than `aws4_request`,
    /// empty region, date not matching the request's timestamp, or (from
    /// [`Authorization::expect_scope`]) the wrong region or service. AWS reports all problems
    /// of the scope in one message, e.g. `Credential should be scoped with a valid terminator:
    /// 'aws4_request', not 'xyz'. Date in Credential scope does not match YYYYMMDD from ISO-8601
    /// version of date from HTTP: '20150830' != '20150831', from '20150831T123600Z'.`
    ///
    /// AWS has been seen answering these with `SignatureDoesNotMatch` (query protocol) or
    /// `InvalidSignatureException` (JSON protocol), not `IncompleteSignature`.
    #[error("{0}")]
    InvalidScope(String),

    /// A header that must be covered by the signature is missing from `SignedHeaders` (or
    /// `X-Amz-SignedHeaders`): `Host` always, and every `X-Amz-*` header the request carries
    /// (`X-Amz-Target`, `X-Amz-Date`, `X-Amz-Security-Token`, ...), as AWS's documentation of
    /// the canonical request requires ("Any x-amz-* headers that you plan to include in your
    /// request must also be added", IAM User Guide, *Create a signed AWS API request*). The
    /// field is the header's display name (`Host`, `X-Amz-Target`: each word capitalised,
    /// quoted through [`bounded`]).
    ///
    /// For `Host` the text is AWS's (`'Host' or ':authority' must be a 'SignedHeader' in the AWS
    /// Authorization.`, sent with `SignatureDoesNotMatch`/`InvalidSignatureException`); for the
    /// others it is `'<Name>' must be a 'SignedHeader' in the AWS Authorization.`, the form AWS's
    /// request-signing layer is recorded using for other required headers (`'Content-Type'`,
    /// by the scratchstack-aws-signature crate's tests); AWS's exact text for an unsigned
    /// `X-Amz-*` header on these services is not known.
    #[error("{}", header_not_signed_message(.0))]
    HeaderNotSigned(String),

    /// The request's timestamp is more than [`MAX_CLOCK_SKEW`] in the past, or a presigned
    /// request is past `X-Amz-Date` + `X-Amz-Expires`. The message is AWS's: `Signature
    /// expired: 20261129T010000Z is now earlier than 20261129T011000Z (20261129T011500Z - 5
    /// min.)`, and for a presigned request Amazon S3's `Request has expired`
    /// ([`PRESIGNED_EXPIRED_MESSAGE`]).
    #[error("{message}")]
    Expired {
        /// The full message.
        message: String,
    },

    /// The request's timestamp is more than [`MAX_CLOCK_SKEW`] in the future. The message is
    /// AWS's: `Signature not yet current: 20261129T012100Z is still later than 20261129T012000Z
    /// (20261129T011500Z + 5 min.)`.
    #[error("{message}")]
    NotYetCurrent {
        /// The full message.
        message: String,
    },

    /// The signature differs from the one computed with the secret; the text is
    /// [`SIGNATURE_MISMATCH_MESSAGE`].
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    SignatureDoesNotMatch,
}

fn header_not_signed_message(header: &str) -> String {
    if header == "Host" {
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.".to_string()
    } else {
        format!(
            "'{}' must be a 'SignedHeader' in the AWS Authorization.",
            bounded(header)
        )
    }
}

/// AWS's text for a region it does not serve (an empty one included); the region is quoted
/// through [`bounded`].
pub fn wrong_region_message(region: &str) -> String {
    format!(
        "Credential should be scoped to a valid region, not '{}'. ",
        bounded(region)
    )
}

/// Borrows owned header pairs as [`Request::headers`] takes them (tests build owned ones).
#[cfg(test)]
pub(crate) fn refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mismatch_message_constant_matches_display() {
        assert_eq!(
            SigV4Error::SignatureDoesNotMatch.to_string(),
            SIGNATURE_MISMATCH_MESSAGE
        );
        assert_eq!(
            SigV4Error::MissingAuthentication.to_string(),
            MISSING_AUTHENTICATION_MESSAGE
        );
    }

    #[test]
    fn header_not_signed_texts() {
        assert_eq!(
            SigV4Error::HeaderNotSigned("Host".into()).to_string(),
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
        );
        assert_eq!(
            SigV4Error::HeaderNotSigned("X-Amz-Security-Token".into()).to_string(),
            "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization."
        );
    }

    #[test]
    fn scope_display() {
        let scope = CredentialScope {
            date: "20150830".into(),
            region: "us-east-1".into(),
            service: "iam".into(),
        };
        assert_eq!(scope.to_string(), "20150830/us-east-1/iam/aws4_request");
    }

    #[test]
    fn expect_scope_messages() {
        let auth = Authorization {
            access_key_id: "AKID".into(),
            scope: CredentialScope {
                date: "20150830".into(),
                region: "eu-west-1".into(),
                service: "kms".into(),
            },
            terminator: SCOPE_TERMINATOR.into(),
            signed_headers: vec!["host".into()],
            signature: String::new(),
            presigned: None,
        };
        assert_eq!(auth.expect_scope("eu-west-1", "kms"), Ok(()));
        assert_eq!(
            auth.expect_scope("us-east-1", "kms"),
            Err(SigV4Error::InvalidScope(
                "Credential should be scoped to a valid region, not 'eu-west-1'. ".into()
            ))
        );
        assert_eq!(
            auth.expect_scope("us-east-1", "ecs"),
            Err(SigV4Error::InvalidScope(
                "Credential should be scoped to a valid region, not 'eu-west-1'. \
                 Credential should be scoped to correct service: 'ecs'. "
                    .into()
            ))
        );
    }
}
