//! The ECS operations' inputs and outputs, with the botocore model's member names (camelCase).
//!
//! Inputs that the domain takes whole (RegisterTaskDefinition, RegisterContainerInstance,
//! RunTask, StartTask, ListTasks and the agent's state changes) are the domain's own types.

use berth_ecs::{Attribute, Cluster, ContainerInstance, Failure, Tag, Task, TaskDefinition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::tags::Tagged;

pub use berth_ecs::{
    ListTasksInput, RegisterContainerInstanceInput, RegisterTaskDefinitionInput, RunTaskInput,
    StartTaskInput,
};
/// SubmitTaskStateChange's input, plus berth's `containerInstance`.
pub type SubmitTaskStateChangeInput = berth_ecs::TaskStateChangeInput;
/// SubmitContainerStateChange's input, plus berth's `containerInstance`.
pub type SubmitContainerStateChangeInput = berth_ecs::ContainerStateChangeInput;
/// BerthPollTasks' answer: the tasks to start and stop on the container instance.
pub type PollTasksOutput = berth_ecs::AgentPoll;

/// `include: ["TAGS"]` asks for the resources' tags.
pub(super) fn includes_tags(include: &[String]) -> bool {
    include.iter().any(|s| s == "TAGS")
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateClusterInput {
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    #[serde(default)]
    pub settings: Vec<Value>,
    #[serde(default)]
    pub configuration: Option<Value>,
}

/// The answer of every operation that returns one cluster.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterOutput {
    pub cluster: Cluster,
}
pub type CreateClusterOutput = ClusterOutput;
pub type DeleteClusterOutput = ClusterOutput;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeClustersInput {
    #[serde(default)]
    pub clusters: Vec<String>,
    #[serde(default)]
    pub include: Vec<String>,
}

impl DescribeClustersInput {
    pub fn includes_tags(&self) -> bool {
        includes_tags(&self.include)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribeClustersOutput {
    pub clusters: Tagged<Cluster>,
    pub failures: Vec<Failure>,
}

/// The input of the List operations that page through one kind of name.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersInput {
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListClustersOutput {
    pub cluster_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteClusterInput {
    #[serde(default)]
    pub cluster: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterTaskDefinitionOutput {
    pub task_definition: TaskDefinition,
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskDefinitionInput {
    #[serde(default)]
    pub task_definition: Option<String>,
    #[serde(default)]
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTaskDefinitionOutput {
    pub task_definition: TaskDefinition,
    /// Only with `include: ["TAGS"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionsInput {
    #[serde(default)]
    pub family_prefix: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub sort: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionsOutput {
    pub task_definition_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionFamiliesInput {
    #[serde(default)]
    pub family_prefix: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTaskDefinitionFamiliesOutput {
    pub families: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterTaskDefinitionInput {
    #[serde(default)]
    pub task_definition: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterTaskDefinitionOutput {
    pub task_definition: TaskDefinition,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTaskDefinitionsInput {
    #[serde(default)]
    pub task_definitions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteTaskDefinitionsOutput {
    pub task_definitions: Vec<TaskDefinition>,
    pub failures: Vec<Failure>,
}

/// The answer of every operation that returns one container instance.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerInstanceOutput {
    pub container_instance: ContainerInstance,
}
pub type RegisterContainerInstanceOutput = ContainerInstanceOutput;
pub type DeregisterContainerInstanceOutput = ContainerInstanceOutput;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterContainerInstanceInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub container_instance: Option<String>,
    #[serde(default)]
    pub force: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeContainerInstancesInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub container_instances: Vec<String>,
    #[serde(default)]
    pub include: Vec<String>,
}

impl DescribeContainerInstancesInput {
    pub fn includes_tags(&self) -> bool {
        includes_tags(&self.include)
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeContainerInstancesOutput {
    pub container_instances: Tagged<ContainerInstance>,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListContainerInstancesInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub filter: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListContainerInstancesOutput {
    pub container_instance_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// PutAttributes' and DeleteAttributes' input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AttributesInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
}
pub type PutAttributesInput = AttributesInput;
pub type DeleteAttributesInput = AttributesInput;

/// PutAttributes' and DeleteAttributes' answer.
#[derive(Debug, Clone, Serialize)]
pub struct AttributesOutput {
    pub attributes: Vec<Attribute>,
}
pub type PutAttributesOutput = AttributesOutput;
pub type DeleteAttributesOutput = AttributesOutput;

/// RunTask's and StartTask's answer.
#[derive(Debug, Clone, Serialize)]
pub struct TasksOutput {
    pub tasks: Vec<Task>,
    pub failures: Vec<Failure>,
}
pub type RunTaskOutput = TasksOutput;
pub type StartTaskOutput = TasksOutput;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopTaskInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub task: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StopTaskOutput {
    pub task: Task,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeTasksInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub tasks: Vec<String>,
    #[serde(default)]
    pub include: Vec<String>,
}

impl DescribeTasksInput {
    pub fn includes_tags(&self) -> bool {
        includes_tags(&self.include)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribeTasksOutput {
    pub tasks: Tagged<Task>,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTasksOutput {
    pub task_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// SubmitTaskStateChange's and SubmitContainerStateChange's answer.
#[derive(Debug, Clone, Serialize)]
pub struct AcknowledgmentOutput {
    /// The model's acknowledgment is a string; AWS's exact value is not known to berth, which
    /// says `"true"`.
    pub acknowledgment: String,
}
pub type SubmitTaskStateChangeOutput = AcknowledgmentOutput;
pub type SubmitContainerStateChangeOutput = AcknowledgmentOutput;

/// `BerthPollTasks {cluster, containerInstance, seq?, waitSeconds?}`: berth's agent channel.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollTasksInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub container_instance: Option<String>,
    /// The cursor of the agent's last answer: wait while it is unchanged.
    #[serde(default)]
    pub seq: Option<u64>,
    /// How long to wait for a change (default and most 20).
    #[serde(default)]
    pub wait_seconds: Option<u64>,
}

// ---- services -------------------------------------------------------------------------------

pub use berth_ecs::service::{
    CreateServiceInput, ListServicesInput, Service, ServiceEvent, UpdateServiceInput,
};

/// The answer of every operation that returns one service.
#[derive(Debug, Clone, Serialize)]
pub struct ServiceOutput {
    pub service: Service,
}
pub type CreateServiceOutput = ServiceOutput;
pub type UpdateServiceOutput = ServiceOutput;
pub type DeleteServiceOutput = ServiceOutput;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteServiceInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub force: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeServicesInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DescribeServicesOutput {
    pub services: Tagged<Service>,
    pub failures: Vec<Failure>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesOutput {
    pub service_arns: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListServicesByNamespaceInput {
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

pub type ListServicesByNamespaceOutput = ListServicesOutput;

// ---- tags -----------------------------------------------------------------------------------

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TagResourceInput {
    #[serde(default)]
    pub resource_arn: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UntagResourceInput {
    #[serde(default)]
    pub resource_arn: Option<String>,
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListTagsForResourceInput {
    #[serde(default)]
    pub resource_arn: Option<String>,
}

/// TagResource's and UntagResource's (empty) answer.
#[derive(Debug, Clone, Serialize)]
pub struct EmptyOutput {}

#[derive(Debug, Clone, Serialize)]
pub struct ListTagsForResourceOutput {
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateContainerInstancesStateInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub container_instances: Vec<String>,
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateContainerInstancesStateOutput {
    pub container_instances: Vec<ContainerInstance>,
    pub failures: Vec<Failure>,
}
