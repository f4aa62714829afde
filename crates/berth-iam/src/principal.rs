//! Principals: who a request is made as.

use serde::{Deserialize, Serialize};

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum Principal {
    /// The account's root user.
    Root { account: String },
    /// An IAM user, signing with one of its access keys.
    User {
        account: String,
        name: String,
        /// `AIDA…`
        id: String,
        path: String,
    },
    /// A role session from `sts:AssumeRole` (or the ECS control plane assuming an execution role).
    AssumedRole {
        account: String,
        role_name: String,
        /// `AROA…`
        role_id: String,
        role_path: String,
        session_name: String,
        /// The temporary access key id that carries this session: its record holds the session
        /// policy, if any.
        session_key_id: String,
    },
    /// A federated user from `sts:GetFederationToken`: the IAM user `user_name` that asked,
    /// under the federated `name`; allowed what both the user's policies and the federation's
    /// policy allow.
    FederatedUser {
        account: String,
        user_name: String,
        name: String,
        /// The temporary access key id that carries it: its record holds the policy.
        session_key_id: String,
    },
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
            Principal::Root { account }
            | Principal::User { account, .. }
            | Principal::AssumedRole { account, .. }
            | Principal::FederatedUser { account, .. } => account,
        }
    }

    /// The principal's ARN, as AWS shows it in GetCallerIdentity and in denial messages.
    pub fn arn(&self) -> String {
        match self {
            Principal::Root { account } => format!("arn:aws:iam::{account}:root"),
            Principal::User {
                account,
                name,
                path,
                ..
            } => format!("arn:aws:iam::{account}:user{path}{name}"),
            Principal::AssumedRole {
                account,
                role_name,
                session_name,
                ..
            } => format!("arn:aws:sts::{account}:assumed-role/{role_name}/{session_name}"),
            Principal::FederatedUser { account, name, .. } => {
                format!("arn:aws:sts::{account}:federated-user/{name}")
            }
        }
    }

    /// The ARN of the role behind an assumed-role session.
    pub fn role_arn(&self) -> Option<String> {
        match self {
            Principal::AssumedRole {
                account,
                role_name,
                role_path,
                ..
            } => Some(format!("arn:aws:iam::{account}:role{role_path}{role_name}")),
            _ => None,
        }
    }

    /// `aws:userid`: the account id for root, `AIDA…` for a user, `AROA…:session` for a role session.
    pub fn user_id(&self) -> String {
        match self {
            Principal::Root { account } => account.clone(),
            Principal::User { id, .. } => id.clone(),
            Principal::AssumedRole {
                role_id,
                session_name,
                ..
            } => format!("{role_id}:{session_name}"),
            Principal::FederatedUser { account, name, .. } => format!("{account}:{name}"),
        }
    }

    /// GetCallerIdentity's answer for this principal.
    pub fn caller_identity(&self) -> CallerIdentity {
        CallerIdentity {
            user_id: self.user_id(),
            account: self.account().to_string(),
            arn: self.arn(),
        }
    }

    pub fn is_root(&self) -> bool {
        matches!(self, Principal::Root { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_and_ids() {
        let u = Principal::User {
            account: "111122223333".into(),
            name: "alice".into(),
            id: "AIDAEXAMPLE".into(),
            path: "/dev/".into(),
        };
        assert_eq!(u.arn(), "arn:aws:iam::111122223333:user/dev/alice");
        assert_eq!(u.user_id(), "AIDAEXAMPLE");
        let r = Principal::AssumedRole {
            account: "111122223333".into(),
            role_name: "exec".into(),
            role_id: "AROAEXAMPLE".into(),
            role_path: "/".into(),
            session_name: "task-1".into(),
            session_key_id: "ASIAX".into(),
        };
        assert_eq!(
            r.arn(),
            "arn:aws:sts::111122223333:assumed-role/exec/task-1"
        );
        assert_eq!(
            r.role_arn().as_deref(),
            Some("arn:aws:iam::111122223333:role/exec")
        );
        assert_eq!(r.caller_identity().user_id, "AROAEXAMPLE:task-1");
    }
}
