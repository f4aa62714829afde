//! `berth_secrets` errors on the wire.

use berth_control::error::SecretsError;

use super::WireError;

impl From<SecretsError> for WireError {
    fn from(e: SecretsError) -> WireError {
        let code = match &e {
            SecretsError::NotFound
            | SecretsError::NoVersionForStage(_)
            | SecretsError::NoVersion(_) => "ResourceNotFoundException",
            SecretsError::Exists(_) | SecretsError::VersionExists => "ResourceExistsException",
            SecretsError::MarkedForDeletion
            | SecretsError::NameScheduledForDeletion
            | SecretsError::InvalidRequest(_) => "InvalidRequestException",
            SecretsError::InvalidParameter(_) => "InvalidParameterException",
            SecretsError::Validation(_) => "ValidationException",
            SecretsError::MalformedPolicy(_) => "MalformedPolicyDocumentException",
            SecretsError::LimitExceeded(_) => "LimitExceededException",
            SecretsError::InvalidNextToken(_) => "InvalidNextTokenException",
            SecretsError::Corrupt | SecretsError::Store(_) => return WireError::internal(&e),
        };
        WireError::client(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        let w: WireError = SecretsError::NotFound.into();
        assert_eq!(
            (w.code.as_str(), w.message.as_deref()),
            (
                "ResourceNotFoundException",
                Some("Secrets Manager can't find the specified secret.")
            )
        );
        let w: WireError = SecretsError::MarkedForDeletion.into();
        assert_eq!(w.code, "InvalidRequestException");
    }
}
