//! `berth_kms` errors on the wire.

use axum::http::StatusCode;
use berth_control::error::KmsError;

use super::WireError;

impl From<KmsError> for WireError {
    fn from(e: KmsError) -> WireError {
        let code = match &e {
            KmsError::NotFound(_) => "NotFoundException",
            KmsError::InvalidArn(_) => "InvalidArnException",
            KmsError::Disabled(_) => "DisabledException",
            KmsError::InvalidState(_) => "KMSInvalidStateException",
            KmsError::InvalidCiphertext => "InvalidCiphertextException",
            KmsError::IncorrectKey => "IncorrectKeyException",
            KmsError::AlreadyExists(_) => "AlreadyExistsException",
            KmsError::ReservedAlias => "NotAuthorizedException",
            KmsError::Validation(_) => "ValidationException",
            KmsError::MalformedPolicy(_) => "MalformedPolicyDocumentException",
            KmsError::Unsupported(_) => "UnsupportedOperationException",
            KmsError::InvalidMarker(_) => "InvalidMarkerException",
            KmsError::Tag(_) => "TagException",
            KmsError::Seal(_) | KmsError::Store(_) => return WireError::internal(&e),
        };
        match e {
            // AWS sends these two without a message.
            KmsError::InvalidCiphertext | KmsError::ReservedAlias => WireError {
                status: StatusCode::BAD_REQUEST,
                code: code.to_string(),
                message: None,
                sender_fault: true,
            },
            e => WireError::client(code, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let w: WireError = KmsError::Disabled("arn:k".into()).into();
        assert_eq!(
            (w.code.as_str(), w.message.as_deref()),
            ("DisabledException", Some("arn:k is disabled."))
        );
        let w: WireError = KmsError::InvalidCiphertext.into();
        assert_eq!(
            (w.code.as_str(), w.message),
            ("InvalidCiphertextException", None)
        );
        let w: WireError = KmsError::IncorrectKey.into();
        assert_eq!(w.code, "IncorrectKeyException");
    }
}
