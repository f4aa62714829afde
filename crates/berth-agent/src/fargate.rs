//! berth's Fargate capacity: runs the FARGATE tasks of every account and region on the
//! server host's Docker Engine, inside the server process (`berth server`, `berth up`).
//!
//! It is the agent's task runner ([`crate::agent`]) with Fargate's rules:
//! - it learns what to run from the control plane directly ([`FargateControl::poll`], level-
//!   triggered like an agent's poll, each task with its execution role's credentials), not
//!   over a container instance;
//! - the registry secret is still fetched **over the API**, SigV4-signed with the task's
//!   execution-role credentials, so IAM and KMS decide exactly as for an agent;
//! - each task gets its own Docker network (a user-defined bridge named after the task,
//!   removed when the task stops) and a pause container on it whose network namespace all its
//!   containers share, so they reach each other over `localhost` as on Fargate (without a pause
//!   image: each container on the task's network, reachable by name); no host ports, and
//!   never the agent's `ECS_ENGINE_AUTH_*` credentials;
//! - failures read like Fargate's (`ResourceInitializationError: unable to pull secrets or
//!   registry auth: ...`, `CannotPullContainerError: ...`).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_ecs::AgentTask;
use tokio::sync::watch;

use crate::agent::{TaskRun, stop_leftover};
use crate::api::ApiError;
use crate::control::TaskControl;
use crate::engine_auth::EngineAuth;
use crate::runtime::ContainerRuntime;

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

struct Running {
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
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
        tokio::pin!(shutdown);
        tracing::info!("fargate capacity ready");
        let mut running: HashMap<String, Running> = HashMap::new();
        let mut finished: HashSet<String> = HashSet::new();
        let mut seq: Option<u64> = None;
        let mut last_poll: Option<tokio::time::Instant> = None;
        loop {
            // At most one poll per MIN_POLL_INTERVAL: every ECS change anywhere wakes the poll,
            // and a busy server should not have the runner rescan after each one.
            if let Some(at) = last_poll {
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep_until(at + MIN_POLL_INTERVAL) => {}
                }
            }
            last_poll = Some(tokio::time::Instant::now());
            let polled = tokio::select! {
                _ = &mut shutdown => break,
                p = self.control.poll(seq) => p,
            };
            running.retain(|arn, r| {
                if r.handle.is_finished() {
                    finished.insert(arn.clone());
                    false
                } else {
                    true
                }
            });
            let work = match polled {
                Ok(w) => w,
                Err(e) => {
                    tracing::warn!(error = %e, "fargate poll failed");
                    seq = None;
                    tokio::select! {
                        _ = &mut shutdown => break,
                        _ = tokio::time::sleep(Duration::from_secs(2)) => continue,
                    }
                }
            };
            seq = Some(work.seq);
            for task in work.tasks_to_start {
                if running.contains_key(&task.task_arn) || finished.contains(&task.task_arn) {
                    continue;
                }
                let arn = task.task_arn.clone();
                tracing::info!(task = %arn, "starting fargate task");
                let (tx, rx) = watch::channel(false);
                let run = TaskRun {
                    runtime: self.runtime.clone(),
                    control: self.control.clone(),
                    cluster: cluster_name(&task.cluster_arn).to_string(),
                    instance_arn: String::new(),
                    task,
                    // ECS_ENGINE_AUTH_* never applies to Fargate tasks.
                    engine_auth: Arc::new(EngineAuth::default()),
                    fargate: true,
                };
                let handle = tokio::spawn(run.run(rx));
                running.insert(arn, Running { stop: tx, handle });
            }
            for task_arn in work.tasks_to_stop {
                if let Some(r) = running.get(&task_arn) {
                    if !*r.stop.borrow() {
                        tracing::info!(task = %task_arn, "stopping fargate task");
                        let _ = r.stop.send(true);
                    }
                } else if finished.insert(task_arn.clone()) {
                    // Not run by this process: containers left by an earlier run.
                    let rt = self.runtime.clone();
                    let control = self.control.clone();
                    let cluster = task_arn
                        .split(":task/")
                        .nth(1)
                        .and_then(|r| r.split('/').next())
                        .unwrap_or("default")
                        .to_string();
                    tokio::spawn(async move {
                        stop_leftover(rt, control, &cluster, None, &task_arn).await;
                    });
                }
            }
        }
        tracing::info!("fargate capacity stopping; running containers are left to the next start");
        for (_, r) in running {
            r.handle.abort();
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
