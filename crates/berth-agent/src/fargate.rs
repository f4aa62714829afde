//! berth's Fargate capacity: runs the FARGATE tasks of every account and region on the
//! server host's Docker Engine, inside the server process (`berth server`, `berth up`).
//!
//! It is the agent's task runner ([`crate::agent`]) with Fargate's rules:
//! - it learns what to run from the control plane directly ([`FargateControl::poll`], level-
//!   triggered like an agent's poll, each task with its execution role's credentials), not
//!   over a container instance;
//! - the registry secret and the containers' `secrets` are still fetched **over the API**,
//!   SigV4-signed with the task's execution-role credentials, so IAM and KMS decide exactly as
//!   for an agent; Fargate's platform versions gate `secrets` at RunTask (1.3.0, and 1.4.0 for
//!   JSON keys and version selectors);
//! - each task gets its own Docker network (a user-defined bridge named after the task,
//!   removed when the task stops) and a pause container on it whose network namespace all its
//!   containers share, so they reach each other over `localhost` as on Fargate (without a pause
//!   image: each container on the task's network, reachable by name); no host ports, and
//!   never the agent's `ECS_ENGINE_AUTH_*` credentials;
//! - failures read like Fargate's (`ResourceInitializationError: unable to pull secrets or
//!   registry auth: ...`, `CannotPullContainerError: ...`).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_ecs::AgentTask;

use crate::agent::TaskRun;
use crate::api::ApiError;
use crate::control::TaskControl;
use crate::engine_auth::EngineAuth;
use crate::runtime::ContainerRuntime;
use crate::supervise::{Capacity, Event, Leftover, Orders, Runs, supervise};

/// The shortest time between two polls.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

/// What the Fargate runner is told by one poll.
#[derive(Debug, Clone, Default)]
pub struct FargateAssignment {
    /// Send it back to wait for the next change.
    pub seq: u64,
    /// Every Fargate task that should run (with its execution-role credentials).
    pub tasks_to_start: Vec<AgentTask>,
    /// Fargate tasks to stop (ARNs).
    pub tasks_to_stop: Vec<String>,
}

/// The control plane as berth's Fargate runner sees it. Reports name the task by ARN (its
/// account and region come from it) and carry no container instance.
pub trait FargateControl: TaskControl {
    /// Waits (up to about 20 s) for a change since `seq`, then answers; at once without `seq`.
    fn poll(
        &self,
        seq: Option<u64>,
    ) -> impl Future<Output = Result<FargateAssignment, ApiError>> + Send;
}

/// The cluster name of a cluster ARN (`arn:...:cluster/NAME`).
fn cluster_name(cluster_arn: &str) -> &str {
    cluster_arn.rsplit('/').next().unwrap_or(cluster_arn)
}

/// berth's Fargate capacity on one container runtime.
pub struct FargateRunner<R, C> {
    runtime: Arc<R>,
    control: Arc<C>,
}

impl<R: ContainerRuntime, C: FargateControl> FargateRunner<R, C> {
    pub fn new(runtime: Arc<R>, control: Arc<C>) -> FargateRunner<R, C> {
        FargateRunner { runtime, control }
    }

    /// Polls and runs Fargate tasks until `shutdown` completes. Running containers are left
    /// running on shutdown; the next start adopts them (found by the task's label).
    pub async fn run(self, shutdown: impl Future<Output = ()>) {
        tracing::info!("fargate capacity ready");
        supervise(self, shutdown).await;
    }
}

impl<R: ContainerRuntime, C: FargateControl> Capacity for FargateRunner<R, C> {
    type Runtime = R;
    type Control = C;

    // At most one poll per interval: every ECS change anywhere wakes the poll, and a busy
    // server should not have the runner rescan after each one.
    const MIN_POLL_INTERVAL: Option<Duration> = Some(MIN_POLL_INTERVAL);

    fn runtime(&self) -> &Arc<R> {
        &self.runtime
    }

    fn control(&self) -> &Arc<C> {
        &self.control
    }

    async fn poll(&self, seq: Option<u64>) -> Result<Orders, ApiError> {
        let work = self.control.poll(seq).await?;
        Ok(Orders {
            seq: work.seq,
            tasks_to_start: work.tasks_to_start,
            tasks_to_stop: work.tasks_to_stop,
        })
    }

    fn task_run(&self, task: AgentTask) -> TaskRun<R, C> {
        TaskRun {
            runtime: self.runtime.clone(),
            control: self.control.clone(),
            cluster: cluster_name(&task.cluster_arn).to_string(),
            instance_arn: String::new(),
            task,
            // ECS_ENGINE_AUTH_* never applies to Fargate tasks.
            engine_auth: Arc::new(EngineAuth::default()),
            fargate: true,
        }
    }

    fn leftover(&self, task_arn: &str) -> Leftover {
        let cluster = task_arn
            .split(":task/")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .unwrap_or("default")
            .to_string();
        Leftover {
            cluster,
            instance_arn: None,
        }
    }

    async fn after_poll(&mut self, _runs: &Runs) {}

    fn log(&self, event: Event<'_>) {
        match event {
            Event::PollFailed(e) => tracing::warn!(error = %e, "fargate poll failed"),
            Event::Starting(task) => tracing::info!(task = %task, "starting fargate task"),
            Event::Stopping(task) => tracing::info!(task = %task, "stopping fargate task"),
            Event::ShuttingDown => tracing::info!(
                "fargate capacity stopping; running containers are left to the next start"
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cluster_names() {
        assert_eq!(
            super::cluster_name("arn:aws:ecs:us-east-1:000000000000:cluster/edge"),
            "edge"
        );
    }
}
