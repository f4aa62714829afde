//! Principals: who a request is made as.

use serde::{Deserialize, Serialize};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Principal {
    /// The account's root user.
    Root { account: String },
}

/// What `sts:GetCallerIdentity` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerIdentity {
    pub user_id: String,
    pub account: String,
    pub arn: String,
}

impl Principal {
    /// The account the principal belongs to.
    pub fn account(&self) -> &str {
        match self {
            Principal::Root { account } => account,
        }
    }

    /// The principal's ARN, as AWS shows it in GetCallerIdentity and in denial messages.
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account } => format!("arn:aws:iam::{account}:root"),
        }
    }

    /// GetCallerIdentity's answer for this principal (the root user's UserId is its account id).
    pub fn caller_identity(&self) -> CallerIdentity {
        match self {
            Principal::Root { account } => CallerIdentity {
                user_id: account.clone(),
                account: account.clone(),
                arn: self.arn(),
            },
        }
    }
}
