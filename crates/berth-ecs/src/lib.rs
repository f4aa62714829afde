//! berth-ecs: the ECS control plane — clusters, task definitions, container instances, tasks,
//! placement, the task lifecycle and what an agent is told to run.
//!
//! Plain Rust over the [`Store`](berth_store::Store) trait: no HTTP, no clock (every operation takes `now`, in
//! seconds since the Unix epoch). Each operation acts in one account and region
//! ([`Ecs::new`]); records are keyed `{account}/{region}/...`. Every mutation is one store
//! transaction.
//!
//! - [`taskdef`]: validation in AWS's words, computed `requiresAttributes`/`compatibilities`.
//! - [`placement`]: which container instance takes a task (pure).
//! - [`lifecycle`]: the task state machine (pure).
//! - [`agent`]: the task payload an agent receives (registry auth, execution-role slot).
//! - [`asm`]: the registry credentials in a Secrets Manager secret, as the ECS agent reads them.
//! - [`secrets`]: a container's `secrets` and `secretOptions`: provider and region, the
//!   agent's parsing of a Secrets Manager `valueFrom`, a JSON key's value as the agent renders it.
//! - [`fargate`]: what berth's in-process Fargate runner runs and stops.
//! - [`service`]: services, their deployments and the scheduler's rollout decision (pure),
//!   and the operations on stored services.
//! - [`tagging`]: tags of every taggable resource, by ARN.
//!
//! The modules depend on each other in one direction only: the pure ones (`model`, `error`,
//! `asm`, `secrets`, `lifecycle`, `placement`, `taskdef`) first; then `ecs` (the [`Ecs`] handle, its keys and
//! ARNs) and `records` (the tables and what each stores); then `agent` (the payload built
//! from a stored task); then the operations, each on the records and on the ones before it:
//! `cluster`, `registry` (task definitions), `instance`, `task`, `fargate` and `service`. No module
//! imports from one after it.

pub mod agent;
pub mod asm;
mod cluster;
mod ecs;
mod error;
pub mod fargate;
pub mod fields;
mod instance;
pub mod lifecycle;
pub mod model;
pub mod placement;
pub mod query;
mod records;
mod registry;
pub mod secrets;
pub mod service;
pub mod tagging;
mod task;
pub mod taskdef;

pub use agent::{
    AgentPoll, AgentTask, RoleCredentials, attach_execution_role_credentials,
    attach_task_role_credentials,
};
pub use ecs::{
    Caller, DEFAULT_CLUSTER, Ecs, MAX_DESCRIBE, ZONE_ATTRIBUTE, check_describe_count, default_zone,
};
pub use error::{CLUSTER_NOT_FOUND, EcsError};
pub use instance::{AGENT_CONNECTED_SECS, RegisterContainerInstanceInput};
pub use model::*;
pub use task::{
    ContainerStateChangeInput, ListTasksInput, RunTaskInput, StartTaskInput, TASK_NOT_FOUND,
    TaskStateChangeInput,
};

#[cfg(test)]
mod tests;
