//! The failures a console page shows: a code and a message in the API's words, and the page's
//! HTTP status.

use axum::http::StatusCode;

/// A refusal or failure, as the console shows it (in the page, in place of the data).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ConsoleError {
    /// The page's status: a denial is 403 whatever the API protocol answers.
    pub status: StatusCode,
    /// The AWS error code (`AccessDeniedException`, `ClientException`, …).
    pub code: String,
    /// The message as the API says it.
    pub message: String,
}

impl ConsoleError {
    /// A 400 refusal with `code`.
    pub fn client(code: &str, message: impl Into<String>) -> ConsoleError {
        ConsoleError {
            status: StatusCode::BAD_REQUEST,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// The console refuses a repository credential that is not a secret's full ARN, as the
    /// AWS console does (RegisterTaskDefinition itself accepts a name or a partial ARN).
    pub fn secret_not_full_arn(container: &str, given: &str) -> ConsoleError {
        ConsoleError::client(
            "ClientException",
            format!(
                "container {container}: repositoryCredentials.credentialsParameter must be the full ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-AbCdEf, with the 6-character suffix), not {given:?}"
            ),
        )
    }

    /// The pasted task definition is not a JSON object.
    pub fn bad_json(detail: &str) -> ConsoleError {
        ConsoleError::client(
            "SerializationException",
            format!("the task definition is not a JSON object: {detail}"),
        )
    }
}
