//! Container instances: register, deregister, describe, list, attributes.

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde::Deserialize;
use serde_json::Value;

use crate::ecs::{Caller, Ecs, new_id, page};
use crate::error::EcsError;
use crate::lifecycle::TaskStatus;
use crate::model::{Attribute, ContainerInstance, Failure, Resource, Tag};
use crate::placement::{Candidate, HostPort};
use crate::records::{StoredInstance, StoredTask, T_INSTANCES, T_TASKS};

/// How long after its last poll an agent still counts as connected.
pub const AGENT_CONNECTED_SECS: u64 = 90;

/// Whether `i`'s agent polled (or registered) within [`AGENT_CONNECTED_SECS`] of `now`.
fn agent_connected(i: &StoredInstance, now: u64) -> bool {
    now.saturating_sub(i.last_poll_at.unwrap_or(i.instance.registered_at)) <= AGENT_CONNECTED_SECS
}

/// AWS's limit of custom attributes per resource.
const MAX_CUSTOM_ATTRIBUTES: usize = 10;

/// RegisterContainerInstance's input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterContainerInstanceInput {
    #[serde(default)]
    pub cluster: Option<String>,
    #[serde(default)]
    pub instance_identity_document: Option<String>,
    #[serde(default)]
    pub total_resources: Vec<Resource>,
    #[serde(default)]
    pub version_info: Option<Value>,
    #[serde(default)]
    pub container_instance_arn: Option<String>,
    #[serde(default)]
    pub attributes: Vec<Attribute>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

fn is_custom(name: &str) -> bool {
    !name.starts_with("ecs.") && !name.starts_with("com.amazonaws.ecs.")
}

impl Ecs<'_> {
    pub(crate) fn instance_arn(&self, cluster: &str, id: &str) -> String {
        self.arn(&format!("container-instance/{cluster}/{id}"))
    }

    fn instance_key(&self, cluster: &str, id: &str) -> String {
        format!("{}{cluster}/{id}", self.scope())
    }

    /// The id a container instance reference (ARN or id) names in `cluster`.
    pub(crate) fn instance_id(&self, cluster: &str, reference: &str) -> Option<String> {
        let r = reference.trim();
        let id = if r.starts_with("arn:") {
            let rest = r.strip_prefix(&self.arn("container-instance/"))?;
            match rest.split_once('/') {
                Some((c, id)) if c == cluster => id,
                Some(_) => return None,
                // The old ARN format without the cluster name.
                None => rest,
            }
        } else {
            r
        };
        (!id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .then(|| id.to_string())
    }

    pub(crate) fn get_instance(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        reference: &str,
    ) -> Result<Option<StoredInstance>, EcsError> {
        let Some(id) = self.instance_id(cluster, reference) else {
            return Ok(None);
        };
        Ok(get_json(tx, T_INSTANCES, &self.instance_key(cluster, &id))?)
    }

    pub(crate) fn put_instance(&self, tx: &dyn Tx, i: &StoredInstance) -> Result<(), EcsError> {
        Ok(put_json(
            tx,
            T_INSTANCES,
            &self.instance_key(&i.cluster, &i.id),
            i,
        )?)
    }

    /// The instance with its remaining resources, task counts and connection filled in.
    pub(crate) fn instance_view(
        &self,
        tx: &dyn Tx,
        i: &StoredInstance,
        now: u64,
    ) -> Result<ContainerInstance, EcsError> {
        let (cpu_used, mem_used, running, pending, ports, _) = self.instance_load(tx, i, now)?;
        let mut view = i.instance.clone();
        view.running_tasks_count = running;
        view.pending_tasks_count = pending;
        view.agent_connected = view.status != "INACTIVE" && agent_connected(i, now);
        view.remaining_resources = view
            .registered_resources
            .iter()
            .map(|r| {
                let used = match r.name.as_deref() {
                    Some("CPU") => cpu_used,
                    Some("MEMORY") => mem_used,
                    _ => 0,
                };
                let mut r = r.clone();
                let udp = match r.name.as_deref() {
                    Some("PORTS") => Some(false),
                    Some("PORTS_UDP") => Some(true),
                    _ => None,
                };
                if let Some(udp) = udp {
                    let set = r.string_set_value.get_or_insert_with(Vec::new);
                    for (p, _) in ports.iter().filter(|(_, u)| *u == udp) {
                        let p = p.to_string();
                        if !set.contains(&p) {
                            set.push(p);
                        }
                    }
                }
                if used > 0
                    && let Some(v) = r.integer_value.as_mut()
                {
                    *v = v.saturating_sub(used);
                }
                r
            })
            .collect();
        Ok(view)
    }

    /// CPU and memory held by the instance's tasks that have not stopped, its counts, the host
    /// ports they hold and their groups.
    #[allow(clippy::type_complexity)]
    fn instance_load(
        &self,
        tx: &dyn Tx,
        i: &StoredInstance,
        now: u64,
    ) -> Result<(i64, i64, u32, u32, Vec<HostPort>, Vec<String>), EcsError> {
        let prefix = format!("{}{}/", self.scope(), i.cluster);
        let tasks: Vec<(String, StoredTask)> = scan_json(tx, T_TASKS, &prefix)?;
        let (mut cpu, mut mem, mut running, mut pending) = (0i64, 0i64, 0, 0);
        let mut ports = Vec::new();
        let mut groups = Vec::new();
        let arn = &i.instance.container_instance_arn;
        for (_, t) in &tasks {
            if t.task.container_instance_arn.as_deref() != Some(arn.as_str()) || !t.visible(now) {
                continue;
            }
            let status = TaskStatus::parse(&t.task.last_status);
            if status == Some(TaskStatus::Stopped) {
                continue;
            }
            // A task holds no less than nothing (a record from before the limits may say
            // otherwise), and the sums saturate.
            cpu = i64::saturating_add(cpu, t.reserved_cpu.max(0));
            mem = i64::saturating_add(mem, t.reserved_memory.max(0));
            ports.extend(t.reserved_ports.iter().copied());
            if let Some(g) = &t.task.group {
                groups.push(g.clone());
            }
            match status {
                Some(TaskStatus::Running) => running += 1,
                Some(s) if s.is_pending() => pending += 1,
                _ => {}
            }
        }
        Ok((cpu, mem, running, pending, ports, groups))
    }

    /// The cluster's instances (not INACTIVE) as placement sees them: for explaining a
    /// placement outside a call (`berth doctor --service`).
    pub fn placement_candidates(
        &self,
        cluster: &str,
        now: u64,
    ) -> Result<Vec<Candidate>, EcsError> {
        let cluster = self.cluster_name(Some(cluster))?;
        self.store.read(|tx| {
            Ok(self
                .candidates(tx, &cluster, now)?
                .into_iter()
                .map(|(_, c)| c)
                .collect())
        })
    }

    /// The cluster's instances as placement sees them.
    pub(crate) fn candidates(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        now: u64,
    ) -> Result<Vec<(StoredInstance, Candidate)>, EcsError> {
        let prefix = format!("{}{cluster}/", self.scope());
        let all: Vec<(String, StoredInstance)> = scan_json(tx, T_INSTANCES, &prefix)?;
        let mut out = Vec::new();
        for (_, i) in all {
            if i.instance.status == "INACTIVE" {
                continue;
            }
            let (cpu_used, mem_used, running, _, mut ports_taken, task_groups) =
                self.instance_load(tx, &i, now)?;
            ports_taken.extend(i.reserved_ports());
            let c = Candidate {
                arn: i.instance.container_instance_arn.clone(),
                active: i.instance.status == "ACTIVE",
                connected: agent_connected(&i, now),
                external: i.external(),
                attributes: i.instance.attributes.clone(),
                cpu_free: i.resource("CPU").saturating_sub(cpu_used),
                memory_free: i.resource("MEMORY").saturating_sub(mem_used),
                ports_taken,
                ec2_instance_id: i.instance.ec2_instance_id.clone(),
                registered_at: i.instance.registered_at,
                running_tasks_count: running,
                task_groups,
            };
            out.push((i, c));
        }
        Ok(out)
    }

    /// RegisterContainerInstance. With `containerInstanceArn` of a registered instance it
    /// re-registers that instance (an agent restarting) and keeps its tasks.
    pub fn register_container_instance(
        &self,
        input: RegisterContainerInstanceInput,
        caller: &Caller<'_>,
        now: u64,
    ) -> Result<ContainerInstance, EcsError> {
        let cluster = self.cluster_name(input.cluster.as_deref())?;
        let ec2_instance_id = input
            .instance_identity_document
            .as_deref()
            .and_then(|d| serde_json::from_str::<Value>(d).ok())
            .and_then(|v| {
                v.get("instanceId")
                    .and_then(|i| i.as_str())
                    .map(String::from)
            });
        for a in &input.attributes {
            if a.name.is_empty() || a.name.len() > 128 {
                return Err(EcsError::InvalidParameter(
                    "attribute names must be 1-128 characters".into(),
                ));
            }
        }
        self.store.write(|tx| {
            self.cluster_or_default(tx, &cluster, now)?;
            let existing = match input.container_instance_arn.as_deref() {
                Some(arn) => self
                    .get_instance(tx, &cluster, arn)?
                    .filter(|i| i.instance.status != "INACTIVE"),
                None => None,
            };
            let mut attributes: Vec<Attribute> = Vec::new();
            for a in &input.attributes {
                attributes.retain(|x| x.name != a.name);
                attributes.push(Attribute {
                    name: a.name.clone(),
                    value: a.value.clone(),
                    target_type: None,
                    target_id: None,
                });
            }
            let stored = match existing {
                Some(mut i) => {
                    // Custom attributes set by PutAttributes survive a re-registration.
                    for a in &i.instance.attributes {
                        if is_custom(&a.name) && !attributes.iter().any(|x| x.name == a.name) {
                            attributes.push(a.clone());
                        }
                    }
                    i.instance.attributes = attributes;
                    i.instance.registered_resources = input.total_resources.clone();
                    i.instance.version_info = input.version_info.clone();
                    i.instance.version += 1;
                    i.instance.status = "ACTIVE".into();
                    if ec2_instance_id.is_some() {
                        i.instance.ec2_instance_id = ec2_instance_id.clone();
                    }
                    if !i.is_agent(caller) {
                        return Err(EcsError::NotPlacedHere(format!(
                            "container instance {} was registered by another principal",
                            i.instance.container_instance_arn
                        )));
                    }
                    i.last_poll_at = Some(now);
                    i.seq += 1;
                    i
                }
                None => {
                    let id = new_id();
                    StoredInstance {
                        instance: ContainerInstance {
                            container_instance_arn: self.instance_arn(&cluster, &id),
                            ec2_instance_id: ec2_instance_id.clone(),
                            version: 1,
                            version_info: input.version_info.clone(),
                            remaining_resources: Vec::new(),
                            registered_resources: input.total_resources.clone(),
                            status: "ACTIVE".into(),
                            agent_connected: true,
                            running_tasks_count: 0,
                            pending_tasks_count: 0,
                            attributes,
                            registered_at: now,
                            attachments: Vec::new(),
                            tags: input.tags.clone(),
                        },
                        cluster: cluster.clone(),
                        id,
                        seq: 1,
                        last_poll_at: Some(now),
                        agent: Some(caller.identity.to_string()),
                        poll_cursor: None,
                    }
                }
            };
            self.put_instance(tx, &stored)?;
            self.instance_view(tx, &stored, now)
        })
    }

    /// DeregisterContainerInstance: refused while tasks run on it unless `force`.
    pub fn deregister_container_instance(
        &self,
        cluster: Option<&str>,
        reference: &str,
        force: bool,
        now: u64,
    ) -> Result<ContainerInstance, EcsError> {
        let cluster = self.cluster_name(cluster)?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut i = self
                .get_instance(tx, &cluster, reference)?
                .filter(|i| i.instance.status != "INACTIVE")
                .ok_or_else(|| {
                    // AWS's wording for an unknown instance here is not known to berth.
                    EcsError::InvalidParameter(format!("container instance not found: {reference}"))
                })?;
            let (_, _, running, pending, _, _) = self.instance_load(tx, &i, now)?;
            if running + pending > 0 && !force {
                return Err(EcsError::InvalidParameter(
                    "Found running tasks on the instance.".into(),
                ));
            }
            i.instance.status = "INACTIVE".into();
            i.instance.version += 1;
            i.seq += 1;
            self.put_instance(tx, &i)?;
            self.instance_view(tx, &i, now)
        })
    }

    /// DescribeContainerInstances: unknown ones are `MISSING` failures.
    pub fn describe_container_instances(
        &self,
        cluster: Option<&str>,
        references: &[String],
        now: u64,
    ) -> Result<(Vec<ContainerInstance>, Vec<Failure>), EcsError> {
        crate::ecs::check_describe_count("containerInstances", references.len())?;
        let cluster = self.cluster_name(cluster)?;
        self.store.read(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut out = Vec::new();
            let mut failures = Vec::new();
            for r in references {
                match self.get_instance(tx, &cluster, r)? {
                    Some(i) => out.push(self.instance_view(tx, &i, now)?),
                    None => {
                        let arn = match self.instance_id(&cluster, r) {
                            Some(id) if !r.starts_with("arn:") => self.instance_arn(&cluster, &id),
                            _ => r.clone(),
                        };
                        failures.push(Failure::new(&arn, "MISSING"));
                    }
                }
            }
            Ok((out, failures))
        })
    }

    /// ListContainerInstances: ACTIVE and DRAINING ones unless `status` says otherwise.
    pub fn list_container_instances(
        &self,
        cluster: Option<&str>,
        status: Option<&str>,
        token: Option<&str>,
        max: Option<i64>,
    ) -> Result<(Vec<String>, Option<String>), EcsError> {
        let cluster = self.cluster_name(cluster)?;
        let all: Vec<(String, StoredInstance)> = self.store.read(|tx| {
            self.active_cluster(tx, &cluster)?;
            Ok::<_, EcsError>(scan_json(
                tx,
                T_INSTANCES,
                &format!("{}{cluster}/", self.scope()),
            )?)
        })?;
        let items: Vec<(String, String)> = all
            .into_iter()
            .filter(|(_, i)| match status {
                Some(s) => i.instance.status == s,
                None => i.instance.status != "INACTIVE",
            })
            .map(|(k, i)| (k, i.instance.container_instance_arn))
            .collect();
        page(&items, token, max)
    }

    fn attribute_target(
        &self,
        tx: &dyn Tx,
        cluster: &str,
        a: &Attribute,
    ) -> Result<StoredInstance, EcsError> {
        if a.target_type
            .as_deref()
            .is_some_and(|t| t != "container-instance")
        {
            return Err(EcsError::InvalidParameter(format!(
                "unsupported attribute target type: {}",
                a.target_type.as_deref().unwrap_or("")
            )));
        }
        let target = a
            .target_id
            .as_deref()
            .ok_or_else(|| EcsError::InvalidParameter("attribute targetId is required".into()))?;
        self.get_instance(tx, cluster, target)?
            .filter(|i| i.instance.status != "INACTIVE")
            .ok_or_else(|| {
                // AWS's TargetNotFoundException wording is not known to berth.
                EcsError::TargetNotFound(format!("could not find target {target}"))
            })
    }

    /// PutAttributes on container instances.
    pub fn put_attributes(
        &self,
        cluster: Option<&str>,
        attributes: &[Attribute],
    ) -> Result<Vec<Attribute>, EcsError> {
        let cluster = self.cluster_name(cluster)?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut out = Vec::new();
            for a in attributes {
                if a.name.is_empty() || a.name.len() > 128 {
                    return Err(EcsError::InvalidParameter(
                        "attribute names must be 1-128 characters".into(),
                    ));
                }
                let mut i = self.attribute_target(tx, &cluster, a)?;
                i.instance.attributes.retain(|x| x.name != a.name);
                i.instance.attributes.push(Attribute {
                    name: a.name.clone(),
                    value: a.value.clone(),
                    target_type: None,
                    target_id: None,
                });
                let custom = i
                    .instance
                    .attributes
                    .iter()
                    .filter(|x| is_custom(&x.name))
                    .count();
                if custom > MAX_CUSTOM_ATTRIBUTES {
                    return Err(EcsError::AttributeLimit(format!(
                        "a container instance can have at most {MAX_CUSTOM_ATTRIBUTES} custom attributes"
                    )));
                }
                i.instance.version += 1;
                self.put_instance(tx, &i)?;
                out.push(Attribute {
                    name: a.name.clone(),
                    value: a.value.clone(),
                    target_type: Some("container-instance".into()),
                    target_id: Some(i.instance.container_instance_arn.clone()),
                });
            }
            Ok(out)
        })
    }

    /// DeleteAttributes on container instances.
    pub fn delete_attributes(
        &self,
        cluster: Option<&str>,
        attributes: &[Attribute],
    ) -> Result<Vec<Attribute>, EcsError> {
        let cluster = self.cluster_name(cluster)?;
        self.store.write(|tx| {
            self.active_cluster(tx, &cluster)?;
            let mut out = Vec::new();
            for a in attributes {
                let mut i = self.attribute_target(tx, &cluster, a)?;
                i.instance.attributes.retain(|x| x.name != a.name);
                i.instance.version += 1;
                self.put_instance(tx, &i)?;
                out.push(Attribute {
                    name: a.name.clone(),
                    value: a.value.clone(),
                    target_type: Some("container-instance".into()),
                    target_id: Some(i.instance.container_instance_arn.clone()),
                });
            }
            Ok(out)
        })
    }
}
