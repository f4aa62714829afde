//! berth-ecs: the ECS control plane — clusters, task definitions, container instances, tasks,
//! placement, the task lifecycle and what an agent is told to run.
//!
//! Plain Rust over the [`Store`] trait: no HTTP, no clock (every operation takes `now`, in
//! seconds since the Unix epoch). Each operation acts in one account and region
//! ([`Ecs::new`]); records are keyed `{account}/{region}/...`. Every mutation is one store
//! transaction.
//!
//! - [`taskdef`]: validation in AWS's words, computed `requiresAttributes`/`compatibilities`.
//! - [`placement`]: which container instance takes a task (pure).
//! - [`lifecycle`]: the task state machine (pure).
//! - [`agent`]: the task payload an agent receives (registry auth, execution-role slot).
//! - [`fargate`]: what berth's in-process Fargate runner runs and stops.

pub mod agent;
mod cluster;
pub mod fargate;
mod instance;
pub mod lifecycle;
pub mod model;
pub mod placement;
mod registry;
mod task;
pub mod taskdef;

use berth_store::{Store, StoreError, Tx, get_json};
use serde::{Deserialize, Serialize};

pub use agent::{AgentPoll, AgentTask, RoleCredentials, attach_execution_role_credentials};
pub use instance::{AGENT_CONNECTED_SECS, RegisterContainerInstanceInput};
pub use model::*;
pub use task::{
    ContainerStateChangeInput, ListTasksInput, RunTaskInput, StartTaskInput, TASK_NOT_FOUND,
    TaskStateChangeInput,
};

/// AWS's text for a cluster that does not exist.
pub const CLUSTER_NOT_FOUND: &str = "Cluster not found.";

/// What can go wrong; `berth-api` maps each to AWS's code.
#[derive(Debug, thiserror::Error)]
pub enum EcsError {
    /// `ClientException`.
    #[error("{0}")]
    Client(String),
    /// `InvalidParameterException`.
    #[error("{0}")]
    InvalidParameter(String),
    /// `ClusterNotFoundException`.
    #[error("Cluster not found.")]
    ClusterNotFound,
    #[error("The Cluster cannot be deleted while Container Instances are active or draining.")]
    ClusterContainsInstances,
    #[error("The Cluster cannot be deleted while Tasks are active.")]
    ClusterContainsTasks,
    /// `PlatformUnknownException`.
    #[error("The specified platform does not exist.")]
    PlatformUnknown,
    /// `PlatformTaskDefinitionIncompatibilityException`.
    #[error("One or more of the requested capabilities are not supported.")]
    PlatformIncompatible,
    /// `TargetNotFoundException`.
    #[error("{0}")]
    TargetNotFound(String),
    /// `AttributeLimitExceededException`.
    #[error("{0}")]
    AttributeLimit(String),
    /// An agent reported on a task that is not placed on its container instance
    /// (`AccessDeniedException`).
    #[error("{0}")]
    NotPlacedHere(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

const T_CLUSTERS: &str = "ecs_clusters";
const T_FAMILIES: &str = "ecs_families";
const T_TASKDEFS: &str = "ecs_taskdefs";
const T_INSTANCES: &str = "ecs_instances";
const T_TASKS: &str = "ecs_tasks";
const T_TOKENS: &str = "ecs_tokens";

/// Who makes a call, as far as the agent binding cares: the principal's identity (an assumed
/// role's session counts as its role ARN, so refreshed sessions stay the same agent) and whether
/// it is the account's root user.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub identity: &'a str,
    pub root: bool,
}

/// The name of the cluster used when a call names none.
pub const DEFAULT_CLUSTER: &str = "default";

/// The ECS control plane of one account in one region.
pub struct Ecs<'a> {
    store: &'a dyn Store,
    account: &'a str,
    region: &'a str,
}

/// A stored cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredCluster {
    cluster: Cluster,
}

impl<'a> Ecs<'a> {
    pub fn new(store: &'a dyn Store, account: &'a str, region: &'a str) -> Ecs<'a> {
        Ecs {
            store,
            account,
            region,
        }
    }

    pub fn account(&self) -> &str {
        self.account
    }

    pub fn region(&self) -> &str {
        self.region
    }

    fn scope(&self) -> String {
        format!("{}/{}/", self.account, self.region)
    }

    fn arn(&self, resource: &str) -> String {
        format!("arn:aws:ecs:{}:{}:{resource}", self.region, self.account)
    }

    /// The ARN of the cluster named `name`.
    pub fn cluster_arn(&self, name: &str) -> String {
        self.arn(&format!("cluster/{name}"))
    }

    /// The ARN of a task definition revision.
    pub fn task_definition_arn(&self, family: &str, revision: u64) -> String {
        self.arn(&format!("task-definition/{family}:{revision}"))
    }

    /// The cluster name a reference (name or ARN, `None` = `default`) means, or
    /// `ClusterNotFound` for an ARN of another account or region.
    pub fn cluster_name(&self, reference: Option<&str>) -> Result<String, EcsError> {
        let r = reference.map(str::trim).filter(|s| !s.is_empty());
        let Some(r) = r else {
            return Ok(DEFAULT_CLUSTER.to_string());
        };
        if r.starts_with("arn:") {
            let prefix = self.arn("cluster/");
            return r
                .strip_prefix(&prefix)
                .filter(|n| taskdef::valid_name(n))
                .map(str::to_string)
                .ok_or(EcsError::ClusterNotFound);
        }
        // Keys are built from the name: anything that is not a cluster name names no cluster.
        if !taskdef::valid_name(r) {
            return Err(EcsError::ClusterNotFound);
        }
        Ok(r.to_string())
    }

    /// The ACTIVE cluster `name` inside a transaction.
    fn active_cluster(&self, tx: &dyn Tx, name: &str) -> Result<Cluster, EcsError> {
        let key = format!("{}{name}", self.scope());
        match get_json::<StoredCluster>(tx, T_CLUSTERS, &key)? {
            Some(c) if c.cluster.status == "ACTIVE" => Ok(c.cluster),
            _ => Err(EcsError::ClusterNotFound),
        }
    }

    /// Like [`Ecs::active_cluster`], but makes the `default` cluster when a call that names no
    /// cluster (or names `default`) finds none, as AWS does on first use.
    fn cluster_or_default(&self, tx: &dyn Tx, name: &str, now: u64) -> Result<Cluster, EcsError> {
        match self.active_cluster(tx, name) {
            Err(EcsError::ClusterNotFound) if name == DEFAULT_CLUSTER => {
                self.put_new_cluster(tx, name, Vec::new(), Vec::new(), None, now)
            }
            other => other,
        }
    }
}

/// A 32-character lower-case hex id, as ECS task and container instance ids are.
fn new_id() -> String {
    let mut b = [0u8; 16];
    berth_core::ids::random_bytes(&mut b);
    hex::encode(b)
}

/// A UUID-shaped id (container ARNs).
fn new_uuid() -> String {
    berth_core::ids::request_id()
}

/// Pagination: `items` sorted, starting after `token`, at most `max` (1–100, default 100).
fn page<T: Clone>(
    items: &[(String, T)],
    token: Option<&str>,
    max: Option<i64>,
) -> Result<(Vec<T>, Option<String>), EcsError> {
    let max = match max {
        None => 100,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => {
            return Err(EcsError::InvalidParameter(
                "maxResults must be between 1 and 100".into(),
            ));
        }
    };
    // The token is the key of the last item of the previous page.
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match items.iter().position(|(k, _)| k == t) {
            Some(i) => i + 1,
            None => {
                return Err(EcsError::InvalidParameter(
                    "the nextToken is not valid".into(),
                ));
            }
        },
    };
    let rest = &items[start..];
    let taken: Vec<T> = rest.iter().take(max).map(|(_, v)| v.clone()).collect();
    let next = (rest.len() > max).then(|| rest[max - 1].0.clone());
    Ok((taken, next))
}

#[cfg(test)]
mod tests;
