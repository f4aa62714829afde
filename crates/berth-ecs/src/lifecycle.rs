//! The task state machine, as pure functions.
//!
//! `PROVISIONING → PENDING → ACTIVATING → RUNNING → DEACTIVATING → STOPPING → DEPROVISIONING →
//! STOPPED`. A task only moves forward; a report of an earlier state than the task is in is
//! stale (an agent resending) and changes nothing.

/// A task's `lastStatus` / `desiredStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub const ALL: [TaskStatus; 8] = [
        TaskStatus::Provisioning,
        TaskStatus::Pending,
        TaskStatus::Activating,
        TaskStatus::Running,
        TaskStatus::Deactivating,
        TaskStatus::Stopping,
        TaskStatus::Deprovisioning,
        TaskStatus::Stopped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }

    pub fn parse(s: &str) -> Option<TaskStatus> {
        TaskStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Counted as pending in a cluster's or instance's counts.
    pub fn is_pending(self) -> bool {
        self < TaskStatus::Running
    }
}

/// The status a task starts in: tasks with a network interface to attach (awsvpc, Fargate)
/// start `PROVISIONING`; the others `PENDING`, as AWS shows them.
pub fn initial_status(awsvpc: bool, fargate: bool) -> TaskStatus {
    if awsvpc || fargate {
        TaskStatus::Provisioning
    } else {
        TaskStatus::Pending
    }
}

/// What a reported status does to a task whose last status is `last`: `Some(new)` to move
/// forward, `None` when the report is stale or repeats the current state.
pub fn advance(last: TaskStatus, reported: TaskStatus) -> Option<TaskStatus> {
    (reported > last).then_some(reported)
}

/// A container's `lastStatus`: PENDING → RUNNING → STOPPED, forward only.
pub fn advance_container(last: &str, reported: &str) -> Option<&'static str> {
    let rank = |s: &str| match s {
        "PENDING" => Some(0),
        "RUNNING" => Some(1),
        "STOPPED" => Some(2),
        _ => None,
    };
    let (from, to) = (rank(last)?, rank(reported)?);
    (to > from).then(|| ["PENDING", "RUNNING", "STOPPED"][to])
}

/// Why a task stopped, given what is known when it reaches STOPPED.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopFacts<'a> {
    /// StopTask was called (with this reason, or none).
    pub user_stop: Option<Option<&'a str>>,
    /// The task reached RUNNING before it stopped.
    pub was_running: bool,
    /// An essential container has stopped.
    pub essential_exited: bool,
    /// The agent's reason for the task, or the first container reason it gave.
    pub agent_reason: Option<&'a str>,
}

/// AWS's default reason for a task stopped by StopTask without a reason.
pub const USER_STOP_REASON: &str = "Task stopped by user";
/// AWS's reason when an essential container exits.
pub const ESSENTIAL_EXITED_REASON: &str = "Essential container in task exited";

/// The `stopCode` and `stoppedReason` of a stopped task.
pub fn stop_outcome(f: &StopFacts<'_>) -> (&'static str, String) {
    if let Some(reason) = f.user_stop {
        return (
            "UserInitiated",
            reason.unwrap_or(USER_STOP_REASON).to_string(),
        );
    }
    if f.was_running && f.essential_exited {
        return (
            "EssentialContainerExited",
            ESSENTIAL_EXITED_REASON.to_string(),
        );
    }
    if f.was_running {
        return (
            "EssentialContainerExited",
            f.agent_reason
                .unwrap_or(ESSENTIAL_EXITED_REASON)
                .to_string(),
        );
    }
    // The agent's wording for a failed start (e.g. `CannotPullContainerError: ...`).
    (
        "TaskFailedToStart",
        f.agent_reason.unwrap_or("Task failed to start").to_string(),
    )
}

/// A container's `healthStatus` values.
pub const HEALTH_STATUSES: [&str; 3] = ["HEALTHY", "UNHEALTHY", "UNKNOWN"];

/// A task's `healthStatus` from the health of its essential containers that have a health
/// check, in ECS's priority order: any `UNHEALTHY` makes it `UNHEALTHY`; otherwise any
/// `UNKNOWN` makes it `UNKNOWN`; all `HEALTHY` makes it `HEALTHY`. A task without such a
/// container is `UNKNOWN`.
pub fn task_health(essential_checked: &[&str]) -> &'static str {
    if essential_checked.contains(&"UNHEALTHY") {
        "UNHEALTHY"
    } else if essential_checked.is_empty() || essential_checked.iter().any(|h| *h != "HEALTHY") {
        "UNKNOWN"
    } else {
        "HEALTHY"
    }
}

/// Whether a task was started by a service's scheduler: its `group` is `service:<name>` or
/// its `startedBy` is a deployment's `ecs-svc/<id>`.
pub fn belongs_to_service(group: Option<&str>, started_by: Option<&str>) -> bool {
    group.is_some_and(|g| g.starts_with("service:"))
        || started_by.is_some_and(|s| s.starts_with("ecs-svc/"))
}

/// ECS's stop code when its service scheduler stops a task.
pub const SERVICE_SCHEDULER_STOP_CODE: &str = "ServiceSchedulerInitiated";
/// ECS's stopped reason for a service's task whose essential container failed its health check.
pub const HEALTH_CHECK_STOP_REASON: &str = "Task failed container health checks";

/// How long a stopped task stays visible: ECS keeps a stopped task describable for at least
/// an hour.
pub const STOPPED_TASK_TTL_SECS: u64 = 3600;

/// Whether a task stopped at `stopped_at` is gone at `now`.
pub fn expired(stopped_at: Option<u64>, now: u64) -> bool {
    stopped_at.is_some_and(|t| now >= t.saturating_add(STOPPED_TASK_TTL_SECS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use TaskStatus::*;

    #[test]
    fn statuses_round_trip_and_order() {
        for s in TaskStatus::ALL {
            assert_eq!(TaskStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(TaskStatus::parse("BOGUS"), None);
        assert!(TaskStatus::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn forward_only_table() {
        let cases = [
            (Pending, Running, Some(Running)),
            (Provisioning, Pending, Some(Pending)),
            (Provisioning, Running, Some(Running)),
            (Running, Running, None),
            (Running, Pending, None),
            (Running, Stopped, Some(Stopped)),
            (Pending, Stopped, Some(Stopped)),
            (Deactivating, Stopping, Some(Stopping)),
            (Stopped, Running, None),
            (Stopped, Stopped, None),
        ];
        for (last, reported, want) in cases {
            assert_eq!(advance(last, reported), want, "{last:?} + {reported:?}");
        }
    }

    #[test]
    fn container_table() {
        let cases = [
            ("PENDING", "RUNNING", Some("RUNNING")),
            ("RUNNING", "STOPPED", Some("STOPPED")),
            ("PENDING", "STOPPED", Some("STOPPED")),
            ("STOPPED", "RUNNING", None),
            ("RUNNING", "RUNNING", None),
            ("RUNNING", "WEIRD", None),
        ];
        for (last, reported, want) in cases {
            assert_eq!(advance_container(last, reported), want);
        }
    }

    #[test]
    fn initial() {
        assert_eq!(initial_status(false, false), Pending);
        assert_eq!(initial_status(true, false), Provisioning);
        assert_eq!(initial_status(true, true), Provisioning);
    }

    #[test]
    fn stop_codes() {
        let base = StopFacts {
            user_stop: None,
            was_running: true,
            essential_exited: true,
            agent_reason: None,
        };
        let cases = [
            (
                StopFacts {
                    user_stop: Some(None),
                    ..base.clone()
                },
                ("UserInitiated", USER_STOP_REASON),
            ),
            (
                StopFacts {
                    user_stop: Some(Some("done")),
                    ..base.clone()
                },
                ("UserInitiated", "done"),
            ),
            (
                base.clone(),
                ("EssentialContainerExited", ESSENTIAL_EXITED_REASON),
            ),
            (
                StopFacts {
                    was_running: false,
                    essential_exited: false,
                    agent_reason: Some("CannotPullContainerError: denied"),
                    ..base.clone()
                },
                ("TaskFailedToStart", "CannotPullContainerError: denied"),
            ),
        ];
        for (facts, (code, reason)) in cases {
            let (c, r) = stop_outcome(&facts);
            assert_eq!((c, r.as_str()), (code, reason));
        }
    }

    #[test]
    fn health_aggregation() {
        let cases: [(&[&str], &str); 8] = [
            (&[], "UNKNOWN"),
            (&["HEALTHY"], "HEALTHY"),
            (&["HEALTHY", "HEALTHY"], "HEALTHY"),
            (&["UNHEALTHY", "UNKNOWN"], "UNHEALTHY"),
            (&["UNHEALTHY", "HEALTHY"], "UNHEALTHY"),
            (&["HEALTHY", "UNKNOWN"], "UNKNOWN"),
            (&["UNKNOWN"], "UNKNOWN"),
            (&["UNHEALTHY", "UNKNOWN", "HEALTHY"], "UNHEALTHY"),
        ];
        for (states, want) in cases {
            assert_eq!(task_health(states), want, "{states:?}");
        }
    }

    #[test]
    fn service_tasks() {
        assert!(belongs_to_service(Some("service:web"), None));
        assert!(belongs_to_service(None, Some("ecs-svc/123")));
        assert!(!belongs_to_service(Some("family:web"), Some("me")));
        assert!(!belongs_to_service(None, None));
    }

    #[test]
    fn ttl() {
        assert!(!expired(None, 10_000));
        assert!(!expired(Some(1000), 1000 + 3599));
        assert!(expired(Some(1000), 1000 + 3600));
    }
}
