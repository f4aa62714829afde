//! The `{Key, Value}` tag shape Secrets Manager and Parameter Store share on the wire. How each
//! service checks a tag is its own (see their `tags_of`).

use serde::{Deserialize, Serialize};

/// A tag as an operation's input gives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    pub key: Option<String>,
    pub value: Option<String>,
}

/// A tag as an answer shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagOutput {
    pub key: String,
    pub value: String,
}

impl From<berth_secrets::Tag> for TagOutput {
    fn from(t: berth_secrets::Tag) -> TagOutput {
        TagOutput {
            key: t.key,
            value: t.value,
        }
    }
}

impl From<berth_ssm::Tag> for TagOutput {
    fn from(t: berth_ssm::Tag) -> TagOutput {
        TagOutput {
            key: t.key,
            value: t.value,
        }
    }
}
