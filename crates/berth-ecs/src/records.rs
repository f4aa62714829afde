//! What the control plane stores: its tables and the record kept in each. The operations on
//! clusters, task definitions, container instances and tasks read and write these records;
//! this module depends on none of them.

use serde::{Deserialize, Serialize};

use crate::ecs::Caller;
use crate::lifecycle::{self, TaskStatus};
use crate::model::{Cluster, ContainerInstance, Resource, Tag, Task, TaskDefinition};
use crate::placement::{EXTERNAL_CAPABILITY, HostPort};

/// Clusters, keyed `{account}/{region}/{name}`.
pub(crate) const T_CLUSTERS: &str = "ecs_clusters";
/// Task definition families (their last revision), keyed `{account}/{region}/{family}`.
pub(crate) const T_FAMILIES: &str = "ecs_families";
/// Task definition revisions, keyed `{account}/{region}/{family}/{revision, 10 digits}`.
pub(crate) const T_TASKDEFS: &str = "ecs_taskdefs";
/// Container instances, keyed `{account}/{region}/{cluster}/{id}`.
pub(crate) const T_INSTANCES: &str = "ecs_instances";
/// Tasks, keyed `{account}/{region}/{cluster}/{id}`.
pub(crate) const T_TASKS: &str = "ecs_tasks";
/// RunTask client tokens, keyed `{account}/{region}/{cluster}/{token}`.
pub(crate) const T_TOKENS: &str = "ecs_tokens";
/// A service deployment's images resolved to digests (`versionConsistency`), keyed
/// `{account}/{region}/{cluster}/{deployment id}`.
pub(crate) const T_PINS: &str = "ecs_pins";
/// Services, keyed `{account}/{region}/{cluster}/{name}`.
pub(crate) const T_SERVICES: &str = "ecs_services";

/// A stored cluster.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredCluster {
    pub cluster: Cluster,
}

/// A stored task definition revision and its tags.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredTaskDef {
    pub def: TaskDefinition,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A task definition family: revisions count from 1 and are never reused.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct Family {
    pub last_revision: u64,
}

/// A container instance as stored: the API shape plus what berth keeps about its agent.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredInstance {
    pub instance: ContainerInstance,
    pub cluster: String,
    pub id: String,
    /// Bumped whenever what the agent should run changes: the agent channel's cursor.
    #[serde(default)]
    pub seq: u64,
    #[serde(default)]
    pub last_poll_at: Option<u64>,
    /// Who registered the instance (a role session counts as its role): the only identity,
    /// besides the account's root, that may poll for it and report on its tasks.
    #[serde(default)]
    pub agent: Option<String>,
    /// The key of the last task of the last page an agent's poll answered with, while pages
    /// remain (see `Ecs::poll`).
    #[serde(default)]
    pub poll_cursor: Option<String>,
}

impl StoredInstance {
    /// Whether `caller` may act as this instance's agent.
    pub fn is_agent(&self, caller: &Caller<'_>) -> bool {
        caller.root || self.agent.as_deref().is_none_or(|a| a == caller.identity)
    }

    pub fn external(&self) -> bool {
        self.instance
            .attributes
            .iter()
            .any(|a| a.name == EXTERNAL_CAPABILITY)
    }

    /// The host ports the agent reserved (`PORTS`, `PORTS_UDP`).
    pub fn reserved_ports(&self) -> Vec<HostPort> {
        let mut out = Vec::new();
        for r in &self.instance.registered_resources {
            let udp = match r.name.as_deref() {
                Some("PORTS") => false,
                Some("PORTS_UDP") => true,
                _ => continue,
            };
            for p in r.string_set_value.iter().flatten() {
                if let Ok(port) = p.trim().parse::<u16>() {
                    out.push((port, udp));
                }
            }
        }
        out
    }

    /// The amount of a registered resource (`CPU`, `MEMORY`), 0 when not registered.
    pub fn resource(&self, name: &str) -> i64 {
        self.instance
            .registered_resources
            .iter()
            .find(|r| r.name.as_deref() == Some(name))
            .and_then(Resource::number)
            .unwrap_or(0)
    }
}

/// A task as stored: the API shape plus what placement and the agent need.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredTask {
    pub task: Task,
    pub cluster: String,
    pub id: String,
    pub reserved_cpu: i64,
    pub reserved_memory: i64,
    /// Host ports the task publishes on its instance.
    #[serde(default)]
    pub reserved_ports: Vec<HostPort>,
    /// The definition the task was started from (it may be deregistered meanwhile).
    pub definition: TaskDefinition,
    /// The execution role in effect (the definition's, or the override's).
    pub execution_role_arn: Option<String>,
    /// Containers whose image runs as `repository@digest`: the digest its service deployment
    /// resolved the tag to (`versionConsistency`), by container name.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub pinned_images: std::collections::BTreeMap<String, String>,
    /// A FARGATE task's lease: the server replica whose Fargate runner took it, until when
    /// (`crate::fargate`). `None` for other launch types and for a task not yet taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<crate::service::Claim>,
    /// Stopped as on a lost host: its lease's replica is told to stop whatever it still runs
    /// of it (`crate::fargate`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub host_lost: bool,
}

/// A deployment's resolved images (`T_PINS`): container name → `repository@digest`, each
/// recorded once, from the first task of the deployment that pulled it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct StoredPins {
    pub images: std::collections::BTreeMap<String, String>,
}

impl StoredTask {
    /// Stopped tasks stay visible for an hour, then are gone.
    pub fn visible(&self, now: u64) -> bool {
        !lifecycle::expired(self.task.stopped_at, now)
    }

    pub fn status(&self) -> TaskStatus {
        TaskStatus::parse(&self.task.last_status).unwrap_or(TaskStatus::Pending)
    }
}

/// The part of a stored task that DescribeTasks answers with: the record's other members
/// (notably the whole task definition it was started from) are skipped, not decoded.
#[derive(Deserialize)]
pub(crate) struct StoredTaskView {
    pub task: Task,
}

/// A RunTask client token's record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct TokenRecord {
    pub fingerprint: String,
    pub task_arns: Vec<String>,
}
