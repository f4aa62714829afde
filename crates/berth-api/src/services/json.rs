//! The JSON 1.1 protocol's codec: an operation's typed input is decoded from the body and its
//! typed output encoded, here and nowhere else.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::WireError;

/// The body as an operation's input: an empty body is `{}`.
fn object_bytes(body: &[u8]) -> &[u8] {
    if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    }
}

/// A body that is not JSON, or not an object, in AWS's code.
fn not_json(e: &serde_json::Error) -> WireError {
    WireError::serialization(format!("request body is not valid JSON: {e}"))
}

fn not_an_object() -> WireError {
    WireError::serialization("request body must be a JSON object")
}

/// Decodes an operation's input from the body, which must be a JSON object.
pub fn decode<I: DeserializeOwned>(body: &[u8]) -> Result<I, WireError> {
    let body = object_bytes(body);
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(not_an_object());
    }
    serde_json::from_slice(body).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            not_json(&e)
        } else if e.to_string().starts_with("invalid type: map,") {
            // AWS's JSON protocol's words for an object where the model has a list or a
            // scalar.
            WireError::serialization("Start of structure or map found where not expected")
        } else {
            WireError::serialization(format!(
                "request does not match the operation's input shape: {e}"
            ))
        }
    })
}

/// Encodes an operation's output as compact JSON.
pub fn encode<O: Serialize + ?Sized>(output: &O) -> Result<Vec<u8>, WireError> {
    serde_json::to_vec(output).map_err(|e| WireError::internal(&e))
}

/// Runs one operation: decodes its input from `body`, calls the use case, encodes its output.
pub fn call<I: DeserializeOwned, O: Serialize>(
    body: &[u8],
    use_case: impl FnOnce(I) -> Result<O, berth_control::Error>,
) -> Result<Vec<u8>, WireError> {
    let input = decode(body)?;
    let output = use_case(input)?;
    encode(&output)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, serde::Serialize, Debug, PartialEq)]
    struct In {
        #[serde(rename = "SecretId")]
        secret_id: Option<String>,
    }

    #[test]
    fn empty_body_is_an_empty_object_and_errors_are_serialization_exceptions() {
        let got: In = decode(b"  ").unwrap_or(In {
            secret_id: Some("x".into()),
        });
        assert_eq!(got, In { secret_id: None });
        let e = decode::<In>(b"{").err().map(|e| e.code);
        assert_eq!(e.as_deref(), Some("SerializationException"));
        let e = decode::<In>(br#"{"SecretId": 5}"#).err().map(|e| e.code);
        assert_eq!(e.as_deref(), Some("SerializationException"));
        let e = decode::<In>(b"[]").err().map(|e| e.code);
        assert_eq!(e.as_deref(), Some("SerializationException"));
        let e = decode::<In>(b" []").err().map(|e| e.message);
        assert_eq!(e, Some(Some("request body must be a JSON object".into())));
        let e = decode::<In>(br#"{"SecretId": {"a": 1}}"#)
            .err()
            .map(|e| e.message);
        assert_eq!(
            e,
            Some(Some(
                "Start of structure or map found where not expected".into()
            ))
        );
        let out = call(br#"{"SecretId":"a"}"#, |i: In| Ok(i)).unwrap_or_default();
        assert_eq!(out, br#"{"SecretId":"a"}"#);
    }
}
