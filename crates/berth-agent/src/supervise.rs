//! The one loop that keeps a capacity's tasks running: poll the control plane, start a
//! [`TaskRun`] for each task that should run and does not yet, tell a run to stop when the task
//! should stop, and stop the leftovers of tasks this process does not run. The agent (on its
//! container instance) and berth's Fargate runner (for every account and region) are each a
//! [`Capacity`]: how to poll, how to make a task's run, where a leftover belongs, and what
//! to do between polls is theirs; the loop is this one.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use berth_ecs::AgentTask;
use tokio::sync::watch;

use crate::agent::{TaskRun, stop_leftover};
use crate::api::ApiError;
use crate::control::TaskControl;
use crate::runtime::ContainerRuntime;

/// How long after a failed poll the next one is made.
const RETRY_POLL_AFTER: Duration = Duration::from_secs(2);

/// What one poll says.
pub(crate) struct Orders {
    /// The cursor to send back to wait for the next change.
    pub(crate) seq: u64,
    /// Every task that should run (level-triggered: those already running are in it too).
    pub(crate) tasks_to_start: Vec<AgentTask>,
    /// The ARNs of the tasks to stop.
    pub(crate) tasks_to_stop: Vec<String>,
}

/// Where the containers of a task this process does not run belong.
pub(crate) struct Leftover {
    pub(crate) cluster: String,
    /// The agent's container instance; `None` for berth's Fargate runner (which also removes
    /// the task's network).
    pub(crate) instance_arn: Option<String>,
}

/// What the loop has to say, in the capacity's own words (and log target).
pub(crate) enum Event<'a> {
    PollFailed(&'a ApiError),
    Starting(&'a str),
    Stopping(&'a str),
    /// The loop ends; running containers are left to the next start.
    ShuttingDown,
}

/// A capacity that runs tasks on a container runtime: the agent, or berth's Fargate runner.
pub(crate) trait Capacity: Send + Sync {
    type Runtime: ContainerRuntime;
    type Control: TaskControl;

    /// The shortest time between the starts of two polls (`None`: poll again at once).
    const MIN_POLL_INTERVAL: Option<Duration>;

    fn runtime(&self) -> &Arc<Self::Runtime>;
    fn control(&self) -> &Arc<Self::Control>;

    /// The next orders: at once without `seq`, else after the next change since `seq`.
    fn poll(&self, seq: Option<u64>) -> impl Future<Output = Result<Orders, ApiError>> + Send;

    /// The run of a task that this process starts.
    fn task_run(&self, task: AgentTask) -> TaskRun<Self::Runtime, Self::Control>;

    /// Where the containers of `task_arn`, which this process does not run, belong.
    fn leftover(&self, task_arn: &str) -> Leftover;

    /// Called after every poll (failed ones too), with the runs as they are then.
    fn after_poll(&mut self, runs: &Runs) -> impl Future<Output = ()> + Send;

    fn log(&self, event: Event<'_>);
}

/// One task run by this process.
pub(crate) struct Running {
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

/// The task runs of this process.
#[derive(Default)]
pub(crate) struct Runs {
    /// Runs in progress, by task ARN.
    pub(crate) running: HashMap<String, Running>,
    /// Tasks this process is done with: their runs ended, or their leftovers were stopped.
    finished: HashSet<String>,
    /// Tasks whose run by this process is over (their containers should be gone).
    pub(crate) ran: HashSet<String>,
}

impl Runs {
    /// Moves the runs that ended to `finished` and `ran`.
    fn reap(&mut self) {
        let Runs {
            running,
            finished,
            ran,
        } = self;
        running.retain(|arn, r| {
            if r.handle.is_finished() {
                finished.insert(arn.clone());
                ran.insert(arn.clone());
                false
            } else {
                true
            }
        });
    }
}

/// Polls and runs `capacity`'s tasks until `shutdown` completes. Running containers are left
/// running on shutdown (their runs are dropped); the next start adopts them.
pub(crate) async fn supervise<S: Capacity>(mut capacity: S, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    let mut runs = Runs::default();
    let mut seq: Option<u64> = None;
    let mut last_poll: Option<tokio::time::Instant> = None;
    loop {
        if let (Some(min), Some(at)) = (S::MIN_POLL_INTERVAL, last_poll) {
            tokio::select! {
                _ = &mut shutdown => break,
                _ = tokio::time::sleep_until(at + min) => {}
            }
        }
        last_poll = Some(tokio::time::Instant::now());
        let polled = tokio::select! {
            _ = &mut shutdown => break,
            p = capacity.poll(seq) => p,
        };
        runs.reap();
        capacity.after_poll(&runs).await;
        let orders = match polled {
            Ok(o) => o,
            Err(e) => {
                capacity.log(Event::PollFailed(&e));
                seq = None;
                tokio::select! {
                    _ = &mut shutdown => break,
                    _ = tokio::time::sleep(RETRY_POLL_AFTER) => continue,
                }
            }
        };
        seq = Some(orders.seq);
        for task in orders.tasks_to_start {
            // The task role's current credentials, for the task endpoint, and the execution
            // role's, for the task's awslogs shippers.
            crate::endpoint::refresh(&task);
            crate::awslogs::refresh_execution_credentials(&task);
            if runs.running.contains_key(&task.task_arn) || runs.finished.contains(&task.task_arn) {
                continue;
            }
            let arn = task.task_arn.clone();
            capacity.log(Event::Starting(&arn));
            let (stop, stopped) = watch::channel(false);
            let handle = tokio::spawn(capacity.task_run(task).run(stopped));
            runs.running.insert(arn, Running { stop, handle });
        }
        for task_arn in orders.tasks_to_stop {
            if let Some(r) = runs.running.get(&task_arn) {
                if !*r.stop.borrow() {
                    capacity.log(Event::Stopping(&task_arn));
                    let _ = r.stop.send(true);
                }
            } else if runs.finished.insert(task_arn.clone()) {
                // Not run by this process: containers left by an earlier run.
                let Leftover {
                    cluster,
                    instance_arn,
                } = capacity.leftover(&task_arn);
                let runtime = capacity.runtime().clone();
                let control = capacity.control().clone();
                tokio::spawn(async move {
                    stop_leftover(
                        runtime,
                        control,
                        &cluster,
                        instance_arn.as_deref(),
                        &task_arn,
                    )
                    .await;
                });
            }
        }
    }
    capacity.log(Event::ShuttingDown);
    for (_, r) in runs.running {
        r.handle.abort();
    }
}
