//! Amazon ECS (JSON 1.1, target prefix `AmazonEC2ContainerServiceV20141113`): each operation
//! decodes its typed input, runs its use case in `berth_control::ecs` and encodes the typed
//! output. `BerthPollTasks` is berth's agent channel (see ARCHITECTURE.md, "The agent
//! channel").

use berth_control::ecs as uc;

use crate::error::WireError;
use crate::services::{Ctx, json};

/// Answers every waiting `BerthPollTasks` (and Fargate poll) now, and every later one at once.
pub fn release_polls() {
    berth_control::polls::release();
}

/// Wakes every waiting `BerthPollTasks` (and Fargate poll) to look again.
pub fn notify_changes() {
    berth_control::polls::notify_changes();
}

/// Runs one operation on the request's body; `None` when there is no such operation.
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
        "BerthPollTasks" => json::call(body, |i| uc::poll_tasks(ctx, i)),
        _ => return None,
    })
}
