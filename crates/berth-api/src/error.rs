//! Wire errors: the one place where failures become AWS error codes, statuses and messages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::auth::AuthError;
use crate::protocol::Protocol;
use crate::xml;

/// AWS's text for a signature that does not verify.
pub const SIGNATURE_MISMATCH: &str = berth_sigv4::SIGNATURE_MISMATCH_MESSAGE;
/// AWS's text for an unknown access key or a session token that does not belong to it.
pub const INVALID_TOKEN: &str = "The security token included in the request is invalid.";
/// AWS's text for expired temporary credentials.
pub const EXPIRED_TOKEN: &str = "The security token included in the request is expired";

/// An error as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    pub status: StatusCode,
    pub code: String,
    pub message: Option<String>,
    /// Query errors say `Sender` (the caller's fault) or `Receiver` (berth's).
    pub sender_fault: bool,
}

impl WireError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> WireError {
        WireError {
            status,
            code: code.to_string(),
            message: Some(message.into()),
            sender_fault: status.is_client_error(),
        }
    }

    /// A 400 client error.
    pub fn client(code: &str, message: impl Into<String>) -> WireError {
        WireError::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// An internal failure; the detail goes to the log, never to the caller.
    pub fn internal(detail: &dyn std::fmt::Display) -> WireError {
        berth_control::error::AwsError::internal(detail).into()
    }

    /// JSON protocol: the operation named by `X-Amz-Target` does not exist (AWS sends no message).
    pub fn unknown_operation() -> WireError {
        WireError {
            status: StatusCode::BAD_REQUEST,
            code: "UnknownOperationException".into(),
            message: None,
            sender_fault: true,
        }
    }

    /// An authorisation denial in the service's words: `AccessDenied` (403) for the Query
    /// services, `AccessDeniedException` (400) for the JSON ones.
    pub fn access_denied(service: crate::protocol::Service, message: String) -> WireError {
        match service.protocol() {
            Protocol::Query { .. } => {
                WireError::new(StatusCode::FORBIDDEN, "AccessDenied", message)
            }
            Protocol::Json { .. } => WireError::client("AccessDeniedException", message),
        }
    }

    /// The JSON body does not decode as the operation's input.
    pub fn serialization(message: impl Into<String>) -> WireError {
        WireError::client("SerializationException", message)
    }

    /// The Query input fails the model's constraints: AWS's `ValidationError` listing each
    /// failure (`1 validation error detected: …`, `N validation errors detected: a; b`).
    pub fn validation_failed(failures: &[String]) -> WireError {
        let message = match failures {
            [one] => format!("1 validation error detected: {one}"),
            all => format!(
                "{} validation errors detected: {}",
                all.len(),
                all.join("; ")
            ),
        };
        WireError::client("ValidationError", message)
    }

    /// A Query request without an `Action`.
    pub fn missing_action() -> WireError {
        WireError::client(
            "MissingAction",
            "The request is missing an action or a required parameter.",
        )
    }

    /// A Query request for an action the service's version does not have.
    pub fn invalid_action(action: &str, version: &str) -> WireError {
        WireError::client(
            "InvalidAction",
            format!("Could not find operation {action} for version {version}"),
        )
    }

    /// The request body exceeds what berth reads. AWS has no single code for this; berth
    /// answers 413 with `RequestEntityTooLarge`.
    pub fn body_too_large(limit: usize) -> WireError {
        WireError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "RequestEntityTooLarge",
            format!("request body exceeds the limit of {limit} bytes"),
        )
    }

    /// Renders the error in `protocol`'s shape (`None`: the protocol could not be told, JSON).
    pub fn render(&self, protocol: Option<Protocol>, request_id: &str) -> Response {
        let (content_type, body) = match protocol {
            Some(Protocol::Query { xmlns, .. }) => {
                ("text/xml", self.query_body(Some(xmlns), request_id))
            }
            Some(Protocol::Json { message_field, .. }) => {
                ("application/x-amz-json-1.1", self.json_body(message_field))
            }
            None => ("application/x-amz-json-1.1", self.json_body("message")),
        };
        let mut resp = (self.status, body).into_response();
        let headers = resp.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-RequestId", v);
        }
        resp
    }

    fn json_body(&self, message_field: &str) -> String {
        let mut obj = serde_json::Map::new();
        obj.insert("__type".into(), self.code.clone().into());
        if let Some(m) = &self.message {
            obj.insert(message_field.into(), m.clone().into());
        }
        serde_json::Value::Object(obj).to_string()
    }

    fn query_body(&self, xmlns: Option<&str>, request_id: &str) -> String {
        let mut out = String::from("<ErrorResponse");
        if let Some(ns) = xmlns {
            out.push_str(&format!(" xmlns=\"{}\"", xml::escape(ns)));
        }
        out.push_str("><Error>");
        xml::element(
            &mut out,
            "Type",
            if self.sender_fault {
                "Sender"
            } else {
                "Receiver"
            },
        );
        xml::element(&mut out, "Code", &self.code);
        if let Some(m) = &self.message {
            xml::element(&mut out, "Message", m);
        }
        out.push_str("</Error>");
        xml::element(&mut out, "RequestId", request_id);
        out.push_str("</ErrorResponse>");
        out
    }

    /// An authentication failure in the words of `protocol`.
    pub fn from_auth(err: &AuthError, protocol: Option<Protocol>) -> WireError {
        let query = matches!(protocol, Some(Protocol::Query { .. }));
        let pick = |json: &str, q: &str| {
            if query {
                q.to_string()
            } else {
                json.to_string()
            }
        };
        let bad = StatusCode::BAD_REQUEST;
        let forbidden = StatusCode::FORBIDDEN;
        match err {
            // AWS wording for a request with no Authorization header. The JSON services' text
            // is "Missing Authentication Token"; the Query services' text adds "Request is".
            AuthError::Missing => {
                if query {
                    WireError::new(
                        forbidden,
                        "MissingAuthenticationToken",
                        "Request is missing Authentication Token",
                    )
                } else {
                    WireError::new(
                        bad,
                        "MissingAuthenticationTokenException",
                        berth_sigv4::MISSING_AUTHENTICATION_MESSAGE,
                    )
                }
            }
            AuthError::Incomplete(msg) => WireError::new(
                bad,
                &pick("IncompleteSignatureException", "IncompleteSignature"),
                msg.clone(),
            ),
            AuthError::UnknownKey | AuthError::BadToken => {
                if query {
                    WireError::new(forbidden, "InvalidClientTokenId", INVALID_TOKEN)
                } else {
                    WireError::new(bad, "UnrecognizedClientException", INVALID_TOKEN)
                }
            }
            AuthError::ExpiredToken => WireError::new(
                if query { forbidden } else { bad },
                &pick("ExpiredTokenException", "ExpiredToken"),
                EXPIRED_TOKEN,
            ),
            AuthError::SignatureMismatch => {
                if query {
                    WireError::new(forbidden, "SignatureDoesNotMatch", SIGNATURE_MISMATCH)
                } else {
                    WireError::new(bad, "InvalidSignatureException", SIGNATURE_MISMATCH)
                }
            }
            AuthError::SignatureRefused(msg) => {
                if query {
                    WireError::new(forbidden, "SignatureDoesNotMatch", msg.clone())
                } else {
                    WireError::new(bad, "InvalidSignatureException", msg.clone())
                }
            }
            AuthError::Internal(detail) => WireError::internal(detail),
        }
    }
}

/// A failure as AWS names it, in the JSON protocol's words; [`WireError::in_protocol`] gives a
/// Query service's where they differ.
impl From<berth_control::error::AwsError> for WireError {
    fn from(e: berth_control::error::AwsError) -> WireError {
        let status = StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        WireError {
            status,
            code: e.code.to_string(),
            message: e.message,
            sender_fault: status.is_client_error(),
        }
    }
}

impl From<berth_control::Error> for WireError {
    fn from(e: berth_control::Error) -> WireError {
        e.into_aws().into()
    }
}

impl From<berth_control::error::StsError> for WireError {
    fn from(e: berth_control::error::StsError) -> WireError {
        berth_control::Error::from(e).into()
    }
}

impl WireError {
    /// This error as `protocol` says it: the Query services (IAM, STS) answer a denial with
    /// `AccessDenied` (403) and a failed constraint with `ValidationError`.
    pub fn in_protocol(self, protocol: Protocol) -> WireError {
        match (protocol, self.code.as_str()) {
            (Protocol::Query { .. }, "AccessDeniedException") => WireError {
                status: StatusCode::FORBIDDEN,
                code: "AccessDenied".into(),
                ..self
            },
            (Protocol::Query { .. }, "ValidationException") => WireError {
                code: "ValidationError".into(),
                ..self
            },
            _ => self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_and_query_shapes() {
        let e = WireError::client("ValidationError", "bad <thing>");
        let v: serde_json::Value =
            serde_json::from_str(&e.json_body("Message")).unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"__type": "ValidationError", "Message": "bad <thing>"})
        );
        assert_eq!(
            e.query_body(Some("https://iam.amazonaws.com/doc/2010-05-08/"), "r1"),
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>ValidationError</Code><Message>bad &lt;thing&gt;</Message></Error><RequestId>r1</RequestId></ErrorResponse>"
        );
        let v: serde_json::Value =
            serde_json::from_str(&WireError::unknown_operation().json_body("message"))
                .unwrap_or_default();
        assert_eq!(
            v,
            serde_json::json!({"__type": "UnknownOperationException"})
        );
    }

    #[test]
    fn auth_codes_per_protocol() {
        let q = Some(Protocol::Query {
            version: "2011-06-15",
            xmlns: "x",
        });
        let j = Some(Protocol::Json {
            target_prefix: "TrentService",
            message_field: "message",
        });
        let cases = [
            (
                AuthError::UnknownKey,
                "InvalidClientTokenId",
                403,
                "UnrecognizedClientException",
                400,
            ),
            (
                AuthError::SignatureMismatch,
                "SignatureDoesNotMatch",
                403,
                "InvalidSignatureException",
                400,
            ),
            (
                AuthError::Missing,
                "MissingAuthenticationToken",
                403,
                "MissingAuthenticationTokenException",
                400,
            ),
            (
                AuthError::Incomplete("x".into()),
                "IncompleteSignature",
                400,
                "IncompleteSignatureException",
                400,
            ),
            (
                AuthError::ExpiredToken,
                "ExpiredToken",
                403,
                "ExpiredTokenException",
                400,
            ),
        ];
        for (err, qcode, qstatus, jcode, jstatus) in cases {
            let we = WireError::from_auth(&err, q);
            assert_eq!((we.code.as_str(), we.status.as_u16()), (qcode, qstatus));
            let we = WireError::from_auth(&err, j);
            assert_eq!((we.code.as_str(), we.status.as_u16()), (jcode, jstatus));
        }
    }
}
