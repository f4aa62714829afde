//! Container dependencies (`dependsOn`) as the ECS agent resolves them, as pure functions: when
//! a container may start, when it never will (in the agent's words), and whether a task's
//! dependencies can be resolved at all.
//!
//! A dependency's `startTimeout` bounds the wait for its `COMPLETE`, `SUCCESS` or `HEALTHY`,
//! counted from the dependency's start; without one (or 0) the agent waits as long as the task
//! runs (`START` is never timed).

use std::time::Duration;

use berth_ecs::AgentTask;

/// Where a dependency is when the agent decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepState {
    /// Created, not started yet (itself waiting).
    Created,
    /// Running, with its health (`HEALTHY`, `UNHEALTHY`, `UNKNOWN`; `None`: no health check).
    Running { health: Option<String> },
    /// Exited with this code.
    Stopped { exit_code: i64 },
    /// It will never start (its own dependencies failed, or the task is stopping).
    NeverStarts,
}

/// One `dependsOn` entry of the container that waits, with its dependency's state.
#[derive(Debug, Clone)]
pub struct Dependency<'a> {
    pub name: &'a str,
    pub image: &'a str,
    /// `START`, `COMPLETE`, `SUCCESS` or `HEALTHY`.
    pub condition: &'a str,
    pub state: DepState,
    /// The dependency's `startTimeout` (`None` or zero: none).
    pub start_timeout: Option<Duration>,
    /// How long ago the dependency started (`None`: not started).
    pub since_started: Option<Duration>,
}

/// What to do with the waiting container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Start,
    Wait,
    /// It never starts: the agent's words (the container's reason is
    /// `CannotStartContainerError: <words>`, its exit code 143).
    Fail(String),
}

/// The exit code the ECS agent gives a container whose dependency cannot be resolved.
pub const DEPENDENCY_EXIT_CODE: i64 = 143;

/// A container as the agent prints it in its dependency errors:
/// `name(image) (KNOWN->DESIRED)[ - Exit: N]`.
fn describe(name: &str, image: &str, state: &DepState) -> String {
    match state {
        DepState::Created => format!("{name}({image}) (CREATED->RUNNING)"),
        DepState::Running { .. } => format!("{name}({image}) (RUNNING->RUNNING)"),
        DepState::Stopped { exit_code } => {
            format!("{name}({image}) (STOPPED->STOPPED) - Exit: {exit_code}")
        }
        DepState::NeverStarts => format!("{name}({image}) (CREATED->STOPPED)"),
    }
}

/// Whether the container `target` (created, waiting) may start, given its dependencies, in
/// the ECS agent's order of checks: a timed-out dependency, a `SUCCESS` dependency that exited
/// non-zero, a dependency that will never start; then whether each condition is met.
pub fn decide(target: &str, target_image: &str, deps: &[Dependency<'_>]) -> Decision {
    let me = describe(target, target_image, &DepState::Created);
    let mut blocked = false;
    for d in deps {
        let dep = describe(d.name, d.image, &d.state);
        let stopped = matches!(d.state, DepState::Stopped { .. });
        let timed = matches!(d.condition, "SUCCESS" | "COMPLETE" | "HEALTHY");
        if timed
            && !stopped
            && let (Some(limit), Some(since)) = (d.start_timeout, d.since_started)
            && !limit.is_zero()
            && since > limit
        {
            return Decision::Fail(format!(
                "dependency graph: container ordering dependency [{dep}] for target [{me}] has timed out."
            ));
        }
        if d.condition == "SUCCESS"
            && let DepState::Stopped { exit_code } = d.state
            && exit_code != 0
        {
            return Decision::Fail(format!(
                "dependency graph: failed to resolve container ordering dependency [{dep}] for target [{me}] as dependency did not exit successfully."
            ));
        }
        if d.state == DepState::NeverStarts {
            return Decision::Fail(format!(
                "dependency graph: failed to resolve container ordering dependency [{dep}] for target [{me}] because dependency will never start"
            ));
        }
        let met = match (d.condition, &d.state) {
            ("START", DepState::Running { .. } | DepState::Stopped { .. }) => true,
            ("COMPLETE", DepState::Stopped { .. }) => true,
            ("SUCCESS", DepState::Stopped { exit_code: 0 }) => true,
            ("HEALTHY", DepState::Running { health }) => health.as_deref() == Some("HEALTHY"),
            _ => false,
        };
        blocked |= !met;
    }
    if blocked {
        Decision::Wait
    } else {
        Decision::Start
    }
}

/// The ECS agent's reason for a task whose dependencies can never all be resolved (a cycle,
/// or `HEALTHY` on a container without a health check).
pub fn unresolvable_reason(task_arn: &str) -> String {
    format!("Task dependencies cannot be resolved, taskArn: {task_arn}")
}

/// Whether every container of the task can reach its start in some order, as the ECS agent
/// checks before it starts a task: each container's dependencies must be resolvable by
/// containers already resolved, and a `HEALTHY` dependency must have a health check.
pub fn resolvable(task: &AgentTask) -> bool {
    let mut resolved: Vec<&str> = Vec::new();
    let mut unresolved: Vec<_> = task.containers.iter().collect();
    while !unresolved.is_empty() {
        let next = unresolved.iter().position(|c| {
            crate::settings::depends_on(&c.definition)
                .iter()
                .all(|(name, condition)| {
                    resolved.contains(&name.as_str())
                        && (condition != "HEALTHY"
                            || task.containers.iter().any(|d| {
                                d.name == *name
                                    && crate::settings::health_check(&d.definition).is_some()
                            }))
                })
        });
        match next {
            Some(i) => resolved.push(unresolved.remove(i).name.as_str()),
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dep(condition: &str, state: DepState) -> Dependency<'_> {
        Dependency {
            name: "side",
            image: "busybox",
            condition,
            state,
            start_timeout: None,
            since_started: Some(Duration::from_secs(1)),
        }
    }

    fn running(health: Option<&str>) -> DepState {
        DepState::Running {
            health: health.map(str::to_string),
        }
    }

    #[test]
    fn conditions() {
        use Decision::*;
        let cases = [
            ("START", DepState::Created, Wait),
            ("START", running(None), Start),
            ("START", DepState::Stopped { exit_code: 1 }, Start),
            ("COMPLETE", running(None), Wait),
            ("COMPLETE", DepState::Stopped { exit_code: 3 }, Start),
            ("SUCCESS", running(None), Wait),
            ("SUCCESS", DepState::Stopped { exit_code: 0 }, Start),
            ("HEALTHY", running(Some("UNKNOWN")), Wait),
            ("HEALTHY", running(Some("UNHEALTHY")), Wait),
            ("HEALTHY", running(Some("HEALTHY")), Start),
            ("HEALTHY", DepState::Stopped { exit_code: 0 }, Wait),
        ];
        for (condition, state, want) in cases {
            assert_eq!(
                decide("app", "busybox", &[dep(condition, state.clone())]),
                want,
                "{condition} {state:?}"
            );
        }
    }

    #[test]
    fn failures_in_the_agents_words() {
        let failed = decide(
            "app",
            "busybox",
            &[dep("SUCCESS", DepState::Stopped { exit_code: 1 })],
        );
        assert_eq!(
            failed,
            Decision::Fail("dependency graph: failed to resolve container ordering dependency [side(busybox) (STOPPED->STOPPED) - Exit: 1] for target [app(busybox) (CREATED->RUNNING)] as dependency did not exit successfully.".into())
        );
        let never = decide("app", "busybox", &[dep("START", DepState::NeverStarts)]);
        assert!(
            matches!(&never, Decision::Fail(m) if m.ends_with("because dependency will never start")),
            "{never:?}"
        );
        let mut slow = dep("HEALTHY", running(Some("UNKNOWN")));
        slow.start_timeout = Some(Duration::from_secs(5));
        slow.since_started = Some(Duration::from_secs(6));
        assert_eq!(
            decide("app", "busybox", &[slow.clone()]),
            Decision::Fail("dependency graph: container ordering dependency [side(busybox) (RUNNING->RUNNING)] for target [app(busybox) (CREATED->RUNNING)] has timed out.".into())
        );
        // START is never timed; a zero timeout is none.
        slow.condition = "START";
        assert_eq!(decide("app", "busybox", &[slow.clone()]), Decision::Start);
        slow.condition = "HEALTHY";
        slow.start_timeout = Some(Duration::ZERO);
        assert_eq!(decide("app", "busybox", &[slow]), Decision::Wait);
    }
}
