//! Amazon ECS (JSON 1.1, target prefix `AmazonEC2ContainerServiceV20141113`): each operation
//! decodes its typed input, runs its use case in `berth_control::ecs` and encodes the typed
//! output. `BerthPollTasks` is berth's agent channel (see ARCHITECTURE.md, "The agent
//! channel").

use berth_control::ecs as uc;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

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

/// What an operation's input arrives as and its output leaves as: the request body's bytes on
/// the API (compact JSON bytes back), or a JSON value (a value back) for the console, whose
/// entry that is until it calls `berth_control::ecs` directly.
pub trait Body {
    type Output;

    /// Decodes the input, runs `use_case` and encodes its output.
    fn call<I: DeserializeOwned, O: Serialize>(
        self,
        use_case: impl FnOnce(I) -> Result<O, berth_control::Error>,
    ) -> Result<Self::Output, WireError>;
}

impl Body for &[u8] {
    type Output = Vec<u8>;

    fn call<I: DeserializeOwned, O: Serialize>(
        self,
        use_case: impl FnOnce(I) -> Result<O, berth_control::Error>,
    ) -> Result<Vec<u8>, WireError> {
        json::call(self, use_case)
    }
}

impl Body for Value {
    type Output = Value;

    fn call<I: DeserializeOwned, O: Serialize>(
        self,
        use_case: impl FnOnce(I) -> Result<O, berth_control::Error>,
    ) -> Result<Value, WireError> {
        let input = serde_json::from_value(self).map_err(|e| {
            WireError::serialization(format!(
                "request does not match the operation's input shape: {e}"
            ))
        })?;
        let output = use_case(input)?;
        serde_json::to_value(&output).map_err(|e| WireError::internal(&e))
    }
}

/// Runs one operation on `body` (the request's bytes, or the console's JSON value); `None`
/// when there is no such operation.
pub fn dispatch<B: Body>(
    ctx: &Ctx<'_>,
    operation: &str,
    body: B,
) -> Option<Result<B::Output, WireError>> {
    Some(match operation {
        "CreateCluster" => body.call(|i| uc::create_cluster(ctx, i)),
        "DescribeClusters" => body.call(|i| uc::describe_clusters(ctx, i)),
        "ListClusters" => body.call(|i| uc::list_clusters(ctx, i)),
        "DeleteCluster" => body.call(|i| uc::delete_cluster(ctx, i)),
        "RegisterTaskDefinition" => body.call(|i| uc::register_task_definition(ctx, i)),
        "DescribeTaskDefinition" => body.call(|i| uc::describe_task_definition(ctx, i)),
        "ListTaskDefinitions" => body.call(|i| uc::list_task_definitions(ctx, i)),
        "ListTaskDefinitionFamilies" => body.call(|i| uc::list_task_definition_families(ctx, i)),
        "DeregisterTaskDefinition" => body.call(|i| uc::deregister_task_definition(ctx, i)),
        "DeleteTaskDefinitions" => body.call(|i| uc::delete_task_definitions(ctx, i)),
        "RegisterContainerInstance" => body.call(|i| uc::register_container_instance(ctx, i)),
        "DeregisterContainerInstance" => body.call(|i| uc::deregister_container_instance(ctx, i)),
        "DescribeContainerInstances" => body.call(|i| uc::describe_container_instances(ctx, i)),
        "ListContainerInstances" => body.call(|i| uc::list_container_instances(ctx, i)),
        "PutAttributes" => body.call(|i| uc::put_attributes(ctx, i)),
        "DeleteAttributes" => body.call(|i| uc::delete_attributes(ctx, i)),
        "RunTask" => body.call(|i| uc::run_task(ctx, i)),
        "StartTask" => body.call(|i| uc::start_task(ctx, i)),
        "StopTask" => body.call(|i| uc::stop_task(ctx, i)),
        "DescribeTasks" => body.call(|i| uc::describe_tasks(ctx, i)),
        "ListTasks" => body.call(|i| uc::list_tasks(ctx, i)),
        "SubmitTaskStateChange" => body.call(|i| uc::submit_task_state_change(ctx, i)),
        "SubmitContainerStateChange" => body.call(|i| uc::submit_container_state_change(ctx, i)),
        "BerthPollTasks" => body.call(|i| uc::poll_tasks(ctx, i)),
        _ => return None,
    })
}
