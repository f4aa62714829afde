//! What an agent is told: the tasks placed on its container instance, each with what it needs
//! to start them (container definitions with overrides applied, private registry
//! authentication, and a slot for the execution role's credentials).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::model::ContainerDefinition;
use crate::records::StoredTask;
use crate::secrets::{AgentSecret, agent_secrets};

/// How a container's image pull is authenticated (`type` `asm`: a Secrets Manager secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistryAuthentication {
    #[serde(rename = "type")]
    pub kind: String,
    pub asm_auth_data: AsmAuthData,
}

/// The secret holding the registry credentials, and the region to fetch it from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AsmAuthData {
    pub credentials_parameter: String,
    pub region: String,
}

/// Temporary credentials of the task's execution role, as the ECS agent receives them.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleCredentials {
    pub credentials_id: String,
    pub role_arn: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// RFC 3339 UTC, e.g. `2026-11-29T03:00:00Z`.
    pub expiration: String,
}

impl std::fmt::Debug for RoleCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleCredentials")
            .field("credentials_id", &self.credentials_id)
            .field("role_arn", &self.role_arn)
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// One container as the agent starts it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentContainer {
    pub container_arn: String,
    pub name: String,
    /// The container definition with the task's overrides applied.
    pub definition: ContainerDefinition,
    /// `null` when the image is pulled without credentials from berth.
    pub registry_authentication: Option<RegistryAuthentication>,
    /// The container's `secrets` and its log driver's `secretOptions`, each with its provider
    /// and region resolved.
    #[serde(default)]
    pub secrets: Vec<AgentSecret>,
}

/// One task as the agent receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentTask {
    pub task_arn: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub family: String,
    pub revision: u64,
    pub desired_status: String,
    pub last_status: String,
    pub launch_type: String,
    pub network_mode: Option<String>,
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
    pub volumes: Vec<Value>,
    /// The definition's `pidMode` and `ipcMode` (`host`, `task`, `none`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipc_mode: Option<String>,
    /// The definition's task-level members a runner must honour or refuse
    /// (`runtimePlatform`, `proxyConfiguration`, `inferenceAccelerators`,
    /// `trustedExecutionConfiguration`, `ephemeralStorage`), as registered.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub task_settings: serde_json::Map<String, Value>,
    pub containers: Vec<AgentContainer>,
    /// Filled by [`attach_execution_role_credentials`]; `null` until the control plane
    /// assumes the execution role for the task.
    pub execution_role_credentials: Option<RoleCredentials>,
    /// The task role's credentials (`taskRoleArn`), filled by [`attach_task_role_credentials`]
    /// on every poll while the task should run: the agent serves them to the task's containers
    /// under `credentials_id`, which stays the same for the task's whole life.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_credentials: Option<RoleCredentials>,
    /// The service that started the task (its `group` `service:<name>`), for the task
    /// metadata endpoint's `ServiceName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The task's tags and its container instance's, as of this poll (the task metadata
    /// endpoint's `TaskTags` and `ContainerInstanceTags`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<crate::model::Tag>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub container_instance_tags: Vec<crate::model::Tag>,
    /// The task's zone (`availabilityZone`), for the task metadata endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability_zone: Option<String>,
}

/// A task the agent must stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopOrder {
    pub task_arn: String,
    pub reason: Option<String>,
}

/// The answer to an agent's poll.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentPoll {
    pub container_instance_arn: String,
    /// The instance's cursor: send it back to wait for the next change.
    pub seq: u64,
    /// Every task placed on the instance whose desired status is RUNNING (level-triggered:
    /// the agent starts those it does not run yet).
    pub tasks_to_start: Vec<AgentTask>,
    /// Tasks whose desired status is STOPPED and which the agent has not reported stopped.
    pub tasks_to_stop: Vec<StopOrder>,
}

/// Puts the execution role's temporary credentials into a task's payload. The control plane
/// calls this after assuming the task's execution role as the ECS tasks service (so the role's
/// trust policy decides); the credentials are never stored.
/// Returns false (and leaves the task alone) when they are not for the task's execution role.
pub fn attach_execution_role_credentials(task: &mut AgentTask, creds: RoleCredentials) -> bool {
    if task.execution_role_arn.as_deref() != Some(creds.role_arn.as_str()) {
        return false;
    }
    task.execution_role_credentials = Some(creds);
    true
}

/// Puts the task role's temporary credentials into a task's payload (see
/// [`attach_execution_role_credentials`]). Returns false (and leaves the task alone) when they
/// are not for the task's role.
pub fn attach_task_role_credentials(task: &mut AgentTask, creds: RoleCredentials) -> bool {
    if task.task_role_arn.as_deref() != Some(creds.role_arn.as_str()) {
        return false;
    }
    task.role_credentials = Some(creds);
    true
}

/// The region a secret is fetched from: the one in its ARN; a secret named without an ARN
/// lives in the task's own region.
pub fn secret_region(credentials_parameter: &str, task_region: &str) -> String {
    let mut parts = credentials_parameter.splitn(6, ':');
    match (parts.next(), parts.nth(2)) {
        (Some("arn"), Some(region)) if !region.is_empty() => region.to_string(),
        _ => task_region.to_string(),
    }
}

/// Applies a container override (`command`, `environment`, `cpu`, `memory`, ...) to a
/// container definition.
pub fn apply_override(def: &mut ContainerDefinition, o: &Value) {
    if let Some(cmd) = o.get("command") {
        def.extra.insert("command".into(), cmd.clone());
    }
    if let Some(env) = o.get("environment").and_then(|e| e.as_array()) {
        let mut merged: Vec<Value> = def
            .extra
            .get("environment")
            .and_then(|e| e.as_array())
            .cloned()
            .unwrap_or_default();
        for kv in env {
            let name = kv.get("name");
            merged.retain(|x| x.get("name") != name);
            merged.push(kv.clone());
        }
        def.extra.insert("environment".into(), Value::Array(merged));
    }
    for key in ["environmentFiles", "resourceRequirements"] {
        if let Some(v) = o.get(key) {
            def.extra.insert(key.into(), v.clone());
        }
    }
    if let Some(v) = o.get("cpu").and_then(Value::as_i64) {
        def.cpu = Some(v);
    }
    if let Some(v) = o.get("memory").and_then(Value::as_i64) {
        def.memory = Some(v);
    }
    if let Some(v) = o.get("memoryReservation").and_then(Value::as_i64) {
        def.memory_reservation = Some(v);
    }
}

/// The container overrides of a task's `overrides` for container `name`.
pub fn container_override<'v>(overrides: &'v Value, name: &str) -> Option<&'v Value> {
    overrides
        .get("containerOverrides")?
        .as_array()?
        .iter()
        .find(|o| o.get("name").and_then(Value::as_str) == Some(name))
}

/// The task-level members the payload carries in `task_settings`.
const TASK_SETTINGS: [&str; 5] = [
    "runtimePlatform",
    "proxyConfiguration",
    "inferenceAccelerators",
    "trustedExecutionConfiguration",
    "ephemeralStorage",
];

fn def_string(extra: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    extra.get(key).and_then(Value::as_str).map(str::to_string)
}

/// The payload of a stored task for its agent.
pub(crate) fn payload(t: &StoredTask, region: &str) -> AgentTask {
    let def = &t.definition;
    let overrides = &t.task.overrides;
    let containers = def
        .container_definitions
        .iter()
        .map(|c| {
            let mut d = c.clone();
            if let Some(o) = container_override(overrides, c.name()) {
                apply_override(&mut d, o);
            }
            // The digest its service deployment resolved the tag to (`versionConsistency`).
            if let Some(pinned) = t.pinned_images.get(c.name()) {
                d.image = Some(pinned.clone());
            }
            let registry_authentication =
                c.repository_credentials
                    .as_ref()
                    .map(|rc| RegistryAuthentication {
                        kind: "asm".into(),
                        asm_auth_data: AsmAuthData {
                            credentials_parameter: rc.credentials_parameter.clone(),
                            region: secret_region(&rc.credentials_parameter, region),
                        },
                    });
            let container_arn = t
                .task
                .containers
                .iter()
                .find(|x| x.name == c.name())
                .map(|x| x.container_arn.clone())
                .unwrap_or_default();
            AgentContainer {
                container_arn,
                name: c.name().to_string(),
                secrets: agent_secrets(c, region),
                definition: d,
                registry_authentication,
            }
        })
        .collect();
    let role_override = |key: &str| {
        overrides
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    AgentTask {
        task_arn: t.task.task_arn.clone(),
        cluster_arn: t.task.cluster_arn.clone(),
        task_definition_arn: def.task_definition_arn.clone(),
        family: def.family.clone(),
        revision: def.revision,
        desired_status: t.task.desired_status.clone(),
        last_status: t.task.last_status.clone(),
        launch_type: t.task.launch_type.clone(),
        network_mode: def.network_mode.clone(),
        cpu: t.task.cpu.clone(),
        memory: t.task.memory.clone(),
        task_role_arn: role_override("taskRoleArn").or_else(|| def.task_role_arn.clone()),
        execution_role_arn: t.execution_role_arn.clone(),
        volumes: def.volumes.clone(),
        pid_mode: def_string(&def.extra, "pidMode"),
        ipc_mode: def_string(&def.extra, "ipcMode"),
        task_settings: TASK_SETTINGS
            .iter()
            .filter_map(|k| Some((k.to_string(), def.extra.get(*k)?.clone())))
            .filter(|(_, v)| !v.is_null())
            .collect(),
        containers,
        execution_role_credentials: None,
        role_credentials: None,
        service_name: t
            .task
            .group
            .as_deref()
            .and_then(|g| g.strip_prefix("service:"))
            .map(str::to_string),
        tags: t.task.tags.clone(),
        container_instance_tags: Vec::new(),
        availability_zone: t.task.availability_zone.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_regions() {
        let cases = [
            (
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:x-AbCdEf",
                "eu-west-1",
            ),
            (
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:secret_name",
                "us-east-1",
            ),
            ("my-secret", "ap-south-1"),
            ("arn:aws:secretsmanager::1:secret:x", "ap-south-1"),
        ];
        for (given, want) in cases {
            assert_eq!(secret_region(given, "ap-south-1"), want, "{given}");
        }
    }

    #[test]
    fn overrides_apply() {
        let mut d: ContainerDefinition = serde_json::from_value(json!({
            "name": "app", "image": "x", "memory": 128,
            "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        apply_override(
            &mut d,
            &json!({"name": "app", "command": ["sh"], "memory": 256,
                    "environment": [{"name": "B", "value": "3"}]}),
        );
        assert_eq!(d.memory, Some(256));
        assert_eq!(d.extra["command"], json!(["sh"]));
        assert_eq!(
            d.extra["environment"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])
        );
    }

    #[test]
    fn credentials_attach_only_for_the_role() {
        let mut t = AgentTask {
            task_arn: "t".into(),
            cluster_arn: "c".into(),
            task_definition_arn: "d".into(),
            family: "f".into(),
            revision: 1,
            desired_status: "RUNNING".into(),
            last_status: "PENDING".into(),
            launch_type: "EC2".into(),
            network_mode: None,
            cpu: None,
            memory: None,
            task_role_arn: None,
            execution_role_arn: Some("arn:aws:iam::000000000000:role/exec".into()),
            volumes: vec![],
            pid_mode: None,
            ipc_mode: None,
            task_settings: Default::default(),
            containers: vec![],
            execution_role_credentials: None,
            role_credentials: None,
            service_name: None,
            tags: vec![],
            container_instance_tags: vec![],
            availability_zone: None,
        };
        let creds = |role: &str| RoleCredentials {
            credentials_id: "id".into(),
            role_arn: role.into(),
            access_key_id: "ASIA".into(),
            secret_access_key: "s".into(),
            session_token: "t".into(),
            expiration: "2026-11-29T03:00:00Z".into(),
        };
        assert!(!attach_execution_role_credentials(
            &mut t,
            creds("arn:aws:iam::000000000000:role/other")
        ));
        assert!(t.execution_role_credentials.is_none());
        assert!(attach_execution_role_credentials(
            &mut t,
            creds("arn:aws:iam::000000000000:role/exec")
        ));
        assert!(t.execution_role_credentials.is_some());
        assert!(!format!("{:?}", creds("x")).contains("\"s\""));
    }
}
