//! Task IAM roles: the control plane assumes a task's `taskRoleArn` as the ECS tasks service
//! and hands the session to whoever runs the task (an agent's poll, berth's Fargate runner),
//! which serves it to the task's containers on `169.254.170.2` under a credentials id.
//!
//! The session is assumed as `ecs-tasks.amazonaws.com` with `aws:SourceAccount` (the task's
//! account) and `aws:SourceArn` (the task's ARN) in the trust policy's context, and named after
//! the task id, as for the execution role. Sessions last an hour (STS's default; the role's
//! `MaxSessionDuration` caps it); a poll hands out the recorded session again while more than a
//! third of that is left and a fresh one after, so a task's credentials are renewed well before
//! they expire (each poll brings the current ones, and a waiting poll answers at least every
//! 20 seconds). AWS does not document when it renews task credentials.
//!
//! The credentials id is derived from the task ARN under a key of berth's root key: unguessable
//! without the key (128 bits), and the same for the task's whole life, so the
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` a container was created with keeps working across
//! renewals and agent restarts.

use berth_ecs::{AgentTask, Ecs, RoleCredentials};

use crate::{Control, Error};

/// A session is renewed once less than this is left (a third of STS's default hour).
pub const RENEW_WHEN_LEFT_SECS: u64 = 1200;

/// The label of the root-key derivation the credentials ids are made with.
const CREDENTIALS_ID_KEY: &[u8] = b"berth ecs task role credentials id";

/// The id the task's role credentials are served under (`/v2/credentials/<id>`): 128 bits of
/// an HMAC of the task ARN, written like a UUID, as the ECS agent's ids are.
pub fn credentials_id(control: &Control, task_arn: &str) -> String {
    let key = control.root_key.derive(CREDENTIALS_ID_KEY);
    let tag = berth_core::mac::hmac_sha256(key.as_ref(), task_arn.as_bytes());
    let hex: String = tag.iter().take(16).map(|b| format!("{b:02x}")).collect();
    let part = |a: usize, b: usize| hex.get(a..b).unwrap_or_default();
    format!(
        "{}-{}-{}-{}-{}",
        part(0, 8),
        part(8, 12),
        part(12, 16),
        part(16, 20),
        part(20, 32)
    )
}

/// Whether the task has not reached RUNNING yet (its role is assumed for the first time).
pub(crate) fn starting(task: &AgentTask) -> bool {
    berth_ecs::lifecycle::TaskStatus::parse(&task.last_status)
        .is_none_or(|s| s < berth_ecs::lifecycle::TaskStatus::Running)
}

/// The task role's credentials for `task` at `now`, in the task's account (`ecs`). A role that
/// cannot be assumed stops a task that is starting (`TaskFailedToStart`, with the words ECS
/// uses for a role it cannot assume) and `None` comes back; a running task keeps what its
/// runner holds (`None`, logged).
pub fn assume_task_role(
    control: &Control,
    ecs: &Ecs<'_>,
    task: &AgentTask,
    now: u64,
) -> Result<Option<RoleCredentials>, Error> {
    let Some(role_arn) = task.task_role_arn.as_deref() else {
        return Ok(None);
    };
    let (task_id, account) = super::task_session(ecs, task);
    match control.iam().assume_role_for_service_fresh(
        role_arn,
        "ecs-tasks.amazonaws.com",
        account,
        &task.task_arn,
        task_id,
        now,
        RENEW_WHEN_LEFT_SECS,
    ) {
        Ok(session) => Ok(Some(RoleCredentials {
            credentials_id: credentials_id(control, &task.task_arn),
            role_arn: role_arn.to_string(),
            access_key_id: session.access_key_id.clone(),
            secret_access_key: session.secret_access_key.to_string(),
            session_token: session.session_token.to_string(),
            expiration: berth_core::time::iso8601(session.expiration),
        })),
        Err(berth_iam::sts::StsError::AccessDenied(detail)) => {
            tracing::info!(task = %task.task_arn, role = role_arn, %detail, "task role cannot be assumed");
            if starting(task) {
                let reason = format!(
                    "ECS was unable to assume the role '{role_arn}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role."
                );
                ecs.fail_to_start(&task.task_arn, &reason, now)?;
            }
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::testing::control;

    #[test]
    fn credentials_ids_are_stable_per_task_and_unguessable() {
        let c = control();
        let task = "arn:aws:ecs:us-east-1:000000000000:task/default/0123456789abcdef";
        let id = credentials_id(&c, task);
        assert_eq!(id.len(), 36);
        assert_eq!(
            id.split('-').map(str::len).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        assert!(id.chars().all(|ch| ch == '-' || ch.is_ascii_hexdigit()));
        // The same task, the same id (renewals, agent restarts).
        assert_eq!(credentials_id(&c, task), id);
        // Another task, or another berth (root key): another id.
        assert_ne!(credentials_id(&c, &format!("{task}0")), id);
        assert_ne!(credentials_id(&control(), task), id);
    }
}
