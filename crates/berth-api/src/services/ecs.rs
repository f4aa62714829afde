//! Amazon ECS (JSON 1.1, target prefix `AmazonEC2ContainerServiceV20141113`): each operation
//! decodes its typed input, runs its use case in `berth_control::ecs` and encodes the typed
//! output. `BerthPollTasks` is berth's agent channel (see ARCHITECTURE.md, "The agent
//! channel").

use std::cell::Cell;
use std::time::Instant;

use berth_control::ecs as uc;
use berth_control::polls::{Polled, Wait};

use crate::error::WireError;
use crate::services::{Ctx, json};

/// One `BerthPollTasks` request across its looks: when it arrived, and what its latest look
/// found to wait for. The server looks, and while there is nothing new awaits
/// [`await_news`] and looks again; no thread is held while it waits.
pub struct LongPoll {
    started: Instant,
    wait: Cell<Option<uc::PollWait>>,
}

impl LongPoll {
    /// A poll that arrives now.
    pub fn new() -> LongPoll {
        LongPoll {
            started: Instant::now(),
            wait: Cell::new(None),
        }
    }

    /// What the latest look found to wait for (`None`: it answered); taken, not copied.
    pub fn take_wait(&self) -> Option<uc::PollWait> {
        self.wait.take()
    }
}

impl Default for LongPoll {
    fn default() -> LongPoll {
        LongPoll::new()
    }
}

/// One look of a `BerthPollTasks`: its answer, or (with nothing new) an empty body and the
/// wait left in `poll` for the server.
pub fn poll_tasks(ctx: &Ctx<'_>, body: &[u8], poll: &LongPoll) -> Result<Vec<u8>, WireError> {
    let input = json::decode(body)?;
    match uc::poll_tasks(ctx, input, poll.started)? {
        Polled::Ready(output) => json::encode(&output),
        Polled::Wait(wait) => {
            poll.wait.set(Some(wait));
            Ok(Vec::new())
        }
    }
}

/// Waits until a waiting `BerthPollTasks` has news: after each change its instance's cursor is
/// reread (no request verified again); returns once the cursor moved, the deadline passed or
/// the process is shutting down, for the poll to look again in full. Holds no thread.
pub async fn await_news(control: &berth_control::Control, waiting: &uc::PollWait) {
    let mut wait = waiting.wait;
    loop {
        wait_for_change(wait).await;
        match uc::poll_tasks_recheck(control, waiting) {
            Some(next) => wait = next,
            None => return,
        }
    }
}

/// Waits for the change a poll's look was waiting for, or its deadline, whichever comes
/// first; holds no thread.
pub async fn wait_for_change(wait: Wait) {
    let deadline = tokio::time::Instant::from_std(wait.deadline);
    let _ = tokio::time::timeout_at(deadline, wait.changed()).await;
}

/// Runs one operation on the request's body; `None` when there is no such operation
/// (`BerthPollTasks` is [`poll_tasks`], which the server calls for each look).
pub fn dispatch(ctx: &Ctx<'_>, operation: &str, body: &[u8]) -> Option<Result<Vec<u8>, WireError>> {
    Some(match operation {
        "CreateCluster" => json::call(body, |i| uc::create_cluster(ctx, i)),
        "DescribeClusters" => json::call(body, |i| uc::describe_clusters(ctx, i)),
        "ListClusters" => json::call(body, |i| uc::list_clusters(ctx, i)),
        "DeleteCluster" => json::call(body, |i| uc::delete_cluster(ctx, i)),
        "RegisterTaskDefinition" => json::call(body, |i| uc::register_task_definition(ctx, i)),
        "DescribeTaskDefinition" => json::call(body, |i| uc::describe_task_definition(ctx, i)),
        "ListTaskDefinitions" => json::call(body, |i| uc::list_task_definitions(ctx, i)),
        "ListTaskDefinitionFamilies" => {
            json::call(body, |i| uc::list_task_definition_families(ctx, i))
        }
        "DeregisterTaskDefinition" => json::call(body, |i| uc::deregister_task_definition(ctx, i)),
        "DeleteTaskDefinitions" => json::call(body, |i| uc::delete_task_definitions(ctx, i)),
        "RegisterContainerInstance" => {
            json::call(body, |i| uc::register_container_instance(ctx, i))
        }
        "DeregisterContainerInstance" => {
            json::call(body, |i| uc::deregister_container_instance(ctx, i))
        }
        "DescribeContainerInstances" => {
            json::call(body, |i| uc::describe_container_instances(ctx, i))
        }
        "ListContainerInstances" => json::call(body, |i| uc::list_container_instances(ctx, i)),
        "PutAttributes" => json::call(body, |i| uc::put_attributes(ctx, i)),
        "DeleteAttributes" => json::call(body, |i| uc::delete_attributes(ctx, i)),
        "RunTask" => json::call(body, |i| uc::run_task(ctx, i)),
        "StartTask" => json::call(body, |i| uc::start_task(ctx, i)),
        "StopTask" => json::call(body, |i| uc::stop_task(ctx, i)),
        "DescribeTasks" => json::call(body, |i| uc::describe_tasks(ctx, i)),
        "ListTasks" => json::call(body, |i| uc::list_tasks(ctx, i)),
        "SubmitTaskStateChange" => json::call(body, |i| uc::submit_task_state_change(ctx, i)),
        "SubmitContainerStateChange" => {
            json::call(body, |i| uc::submit_container_state_change(ctx, i))
        }
        "CreateService" => json::call(body, |i| uc::create_service(ctx, i)),
        "UpdateService" => json::call(body, |i| uc::update_service(ctx, i)),
        "DeleteService" => json::call(body, |i| uc::delete_service(ctx, i)),
        "DescribeServices" => json::call(body, |i| uc::describe_services(ctx, i)),
        "ListServices" => json::call(body, |i| uc::list_services(ctx, i)),
        "ListServicesByNamespace" => json::call(body, |i| uc::list_services_by_namespace(ctx, i)),
        "UpdateContainerInstancesState" => {
            json::call(body, |i| uc::update_container_instances_state(ctx, i))
        }
        "TagResource" => json::call(body, |i| uc::tag_resource(ctx, i)),
        "UntagResource" => json::call(body, |i| uc::untag_resource(ctx, i)),
        "ListTagsForResource" => json::call(body, |i| uc::list_tags_for_resource(ctx, i)),
        _ => return None,
    })
}
