//! A container definition's Linux and Docker settings and a task's volumes, as the runtime
//! gets them: the ECS agent's mapping of each member to Docker's create options, and the
//! order the task's containers are made and started in (a container after those it links to,
//! takes volumes from, or shares namespaces with).
//!
//! What a launch type refuses is refused at registration (`berth_ecs::taskdef`); what berth
//! does not run at all (EFS/FSx volumes, FireLens, App Mesh
//! proxies, environment files, GPUs, another OS or CPU architecture) fails the task before
//! anything is pulled, with a stopped reason that names the member ([`unsupported`]); on an
//! instance, placement refuses most of those first (`requiresAttributes` the agent does not
//! advertise).

use std::collections::{BTreeSet, HashMap};

use berth_ecs::AgentTask;
use berth_ecs::ContainerDefinition;
use serde_json::Value;

use crate::runtime::{Device, HostSettings, Ulimit, VolumeSpec};

/// The label on the Docker volumes berth makes for a task (task-scoped: removed with it).
pub const LABEL_VOLUME_TASK: &str = "berth.task-arn";

/// Docker names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]`.
fn docker_safe(raw: &str) -> String {
    raw.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn task_id(task_arn: &str) -> &str {
    task_arn.rsplit('/').next().unwrap_or(task_arn)
}

/// The Docker container name of a task's container (`ecs-<family>-<revision>-<name>-<task id>`).
pub fn docker_name(task: &AgentTask, container: &str) -> String {
    docker_safe(&format!(
        "ecs-{}-{}-{}-{}",
        task.family,
        task.revision,
        container,
        task_id(&task.task_arn)
    ))
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn text<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn flag(v: &Value, key: &str) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn objects(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// How a task volume is mounted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// `host.sourcePath`: a directory of the host.
    HostPath(String),
    /// A Docker volume: made for the task (an empty `host`, or `dockerVolumeConfiguration`
    /// with `scope: task`; removed with the task), or shared (`scope: shared`: kept, made
    /// only with `autoprovision`).
    Docker {
        spec: VolumeSpec,
        task_scoped: bool,
        autoprovision: bool,
    },
    /// A volume berth does not provide; the text is the stopped reason.
    Unsupported(String),
}

/// The environment variable that maps an EFS file system to a directory of the host:
/// `BERTH_EFS_` and the file system id upper-cased, `-` as `_` (`fs-12345678` →
/// `BERTH_EFS_FS_12345678`).
pub fn efs_variable(file_system_id: &str) -> String {
    let id: String = file_system_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("BERTH_EFS_{id}")
}

/// Whether this process maps any EFS file system to a directory (the agent then advertises
/// `ecs.capability.efs`).
pub fn efs_mapped() -> bool {
    std::env::vars_os().any(|(k, _)| k.to_string_lossy().starts_with("BERTH_EFS_"))
}

/// An EFS volume as a bind mount of the directory its file system is mapped to (with its
/// `rootDirectory` under it), or why not.
fn efs_source(name: &str, efs: &Value, env: &dyn Fn(&str) -> Option<String>) -> VolumeSource {
    let id = text(efs, "fileSystemId").unwrap_or("");
    let variable = efs_variable(id);
    let Some(dir) = env(&variable).filter(|d| !d.is_empty()) else {
        return VolumeSource::Unsupported(format!(
            "berth does not provide EFS volumes: volume '{name}' has efsVolumeConfiguration (file system {id}); map it to a directory with {variable}=/path"
        ));
    };
    let root = text(efs, "rootDirectory").unwrap_or("/");
    if root.split('/').any(|p| p == "..") {
        return VolumeSource::Unsupported(format!(
            "volume '{name}': efsVolumeConfiguration.rootDirectory must not contain '..'"
        ));
    }
    let root = root.trim_matches('/');
    if root.is_empty() {
        VolumeSource::HostPath(dir)
    } else {
        VolumeSource::HostPath(format!("{}/{root}", dir.trim_end_matches('/')))
    }
}

/// A task's volumes by name (EFS file systems mapped by this process's environment).
pub fn task_volumes(task: &AgentTask) -> Vec<(String, VolumeSource)> {
    task_volumes_in(task, &|k| std::env::var(k).ok())
}

/// [`task_volumes`] with the environment given.
pub fn task_volumes_in(
    task: &AgentTask,
    env: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, VolumeSource)> {
    let mut out = Vec::new();
    for v in &task.volumes {
        let Some(name) = text(v, "name") else {
            continue;
        };
        let scoped_name = docker_safe(&format!(
            "ecs-{}-{}-{}-{}",
            task.family,
            task.revision,
            name,
            task_id(&task.task_arn)
        ));
        let task_label = HashMap::from([(LABEL_VOLUME_TASK.to_string(), task.task_arn.clone())]);
        let source = if let Some(path) = v
            .get("host")
            .and_then(|h| text(h, "sourcePath"))
            .filter(|p| !p.is_empty())
        {
            VolumeSource::HostPath(path.to_string())
        } else if let Some(d) = v.get("dockerVolumeConfiguration") {
            let shared = text(d, "scope") == Some("shared");
            let mut labels: HashMap<String, String> = d
                .get("labels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            if !shared {
                labels.extend(task_label);
            }
            let driver_opts = d
                .get("driverOpts")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                        .collect()
                })
                .unwrap_or_default();
            VolumeSource::Docker {
                spec: VolumeSpec {
                    name: if shared {
                        name.to_string()
                    } else {
                        scoped_name
                    },
                    driver: text(d, "driver").map(str::to_string),
                    driver_opts,
                    labels,
                },
                task_scoped: !shared,
                autoprovision: flag(d, "autoprovision"),
            }
        } else if let Some(efs) = v.get("efsVolumeConfiguration") {
            efs_source(name, efs, env)
        } else if v.get("fsxWindowsFileServerVolumeConfiguration").is_some() {
            VolumeSource::Unsupported(format!(
                "berth does not provide FSx volumes: volume '{name}' has fsxWindowsFileServerVolumeConfiguration"
            ))
        } else if v.get("s3filesVolumeConfiguration").is_some() {
            VolumeSource::Unsupported(format!(
                "berth does not provide S3 Files volumes: volume '{name}' has s3filesVolumeConfiguration"
            ))
        } else if v.get("configuredAtLaunch").and_then(Value::as_bool) == Some(true) {
            VolumeSource::Unsupported(format!(
                "berth does not provide EBS volumes: volume '{name}' is configuredAtLaunch"
            ))
        } else {
            // An empty `host` (or none): a volume the agent makes for the task.
            VolumeSource::Docker {
                spec: VolumeSpec {
                    name: scoped_name,
                    labels: task_label,
                    ..Default::default()
                },
                task_scoped: true,
                autoprovision: true,
            }
        };
        out.push((name.to_string(), source));
    }
    out
}

/// The containers a container is started after because it links to them or takes volumes
/// from them (its `dependsOn` aside).
pub fn started_after(c: &ContainerDefinition) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for l in strings(c.extra.get("links")) {
        out.insert(l.split(':').next().unwrap_or("").to_string());
    }
    for v in objects(c.extra.get("volumesFrom")) {
        if let Some(s) = text(v, "sourceContainer") {
            out.insert(s.to_string());
        }
    }
    out
}

/// The containers of a task in the order they are made and started: each after the ones it
/// links to, takes volumes from and depends on (otherwise in definition order).
pub fn creation_order(task: &AgentTask) -> Vec<String> {
    let names: Vec<&str> = task.containers.iter().map(|c| c.name.as_str()).collect();
    let deps = |c: &ContainerDefinition| -> BTreeSet<String> {
        let mut out = started_after(c);
        for (name, _) in depends_on(c) {
            out.insert(name);
        }
        out
    };
    let mut done: Vec<String> = Vec::new();
    // At most one pass per container; a cycle (which AWS refuses) keeps definition order.
    for _ in 0..names.len() {
        for c in &task.containers {
            if done.contains(&c.name) {
                continue;
            }
            let ready = deps(&c.definition)
                .iter()
                .all(|d| done.contains(d) || !names.contains(&d.as_str()) || *d == c.name);
            if ready {
                done.push(c.name.clone());
            }
        }
    }
    for c in &task.containers {
        if !done.contains(&c.name) {
            done.push(c.name.clone());
        }
    }
    done
}

/// The CPU architecture of this host as `runtimePlatform` names it.
pub fn host_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "ARM64",
        _ => "X86_64",
    }
}

/// What berth cannot run for this task, as the stopped reason (the first one found).
pub fn unsupported(task: &AgentTask) -> Option<String> {
    let t = &task.task_settings;
    if let Some(p) = t.get("runtimePlatform") {
        if let Some(arch) = text(p, "cpuArchitecture")
            && arch != host_architecture()
        {
            return Some(format!(
                "berth runs {} containers on this host: runtimePlatform.cpuArchitecture is {arch}",
                host_architecture()
            ));
        }
        if let Some(family) = text(p, "operatingSystemFamily")
            && family != "LINUX"
        {
            return Some(format!(
                "berth runs Linux containers: runtimePlatform.operatingSystemFamily is {family}"
            ));
        }
    }
    for (member, what) in [
        ("proxyConfiguration", "App Mesh proxies"),
        ("inferenceAccelerators", "Elastic Inference accelerators"),
        ("trustedExecutionConfiguration", "trusted execution"),
    ] {
        if t.get(member)
            .is_some_and(|v| v.is_object() || v.as_array().is_some_and(|a| !a.is_empty()))
        {
            return Some(format!(
                "berth does not provide {what}: the task definition has {member}"
            ));
        }
    }
    for (_, source) in task_volumes(task) {
        if let VolumeSource::Unsupported(why) = source {
            return Some(why);
        }
    }
    for c in &task.containers {
        let x = &c.definition.extra;
        for (member, what) in [
            ("firelensConfiguration", "FireLens log routing"),
            ("environmentFiles", "environment files"),
            ("restartPolicy", "container restart policies"),
            ("credentialSpecs", "credential specs (gMSA)"),
        ] {
            let disabled = member == "restartPolicy"
                && x.get(member)
                    .and_then(|r| r.get("enabled"))
                    .and_then(Value::as_bool)
                    != Some(true);
            if !disabled && (!objects(x.get(member)).is_empty() || member_object(x, member)) {
                return Some(format!(
                    "berth does not run {what}: container '{}' has {member}",
                    c.name
                ));
            }
        }
        for r in objects(x.get("resourceRequirements")) {
            if let Some(kind) = text(r, "type") {
                return Some(format!(
                    "berth does not provide {kind} resources: container '{}' has resourceRequirements",
                    c.name
                ));
            }
        }
    }
    None
}

/// ECS's defaults for a health check's members (seconds; retries).
pub const HEALTH_DEFAULT_INTERVAL: u64 = 30;
pub const HEALTH_DEFAULT_TIMEOUT: u64 = 5;
pub const HEALTH_DEFAULT_RETRIES: i64 = 3;

/// A container definition's `healthCheck` as Docker runs it, ECS's defaults filled in
/// (interval 30 s, timeout 5 s, 3 retries, no start period); `None` without one (or without
/// a command).
pub fn health_check(d: &ContainerDefinition) -> Option<crate::runtime::HealthCheck> {
    let h = d.extra.get("healthCheck").filter(|h| h.is_object())?;
    let test = strings(h.get("command"));
    if test.is_empty() {
        return None;
    }
    let secs = |k: &str, default: u64| {
        std::time::Duration::from_secs(h.get(k).and_then(Value::as_u64).unwrap_or(default))
    };
    Some(crate::runtime::HealthCheck {
        test,
        interval: secs("interval", HEALTH_DEFAULT_INTERVAL),
        timeout: secs("timeout", HEALTH_DEFAULT_TIMEOUT),
        retries: h
            .get("retries")
            .and_then(Value::as_i64)
            .unwrap_or(HEALTH_DEFAULT_RETRIES),
        start_period: secs("startPeriod", 0),
    })
}

/// A container definition's `dependsOn`: (container name, condition).
pub fn depends_on(d: &ContainerDefinition) -> Vec<(String, String)> {
    objects(d.extra.get("dependsOn"))
        .iter()
        .filter_map(|o| {
            Some((
                text(o, "containerName")?.to_string(),
                text(o, "condition")?.to_string(),
            ))
        })
        .collect()
}

/// Whether `x[key]` is a JSON object (healthCheck, firelensConfiguration).
fn member_object(x: &serde_json::Map<String, Value>, key: &str) -> bool {
    x.get(key).is_some_and(Value::is_object)
}

/// Fargate's default ephemeral storage, GiB (platform version 1.4.0 and later).
pub const FARGATE_DEFAULT_STORAGE_GIB: i64 = 20;

/// A Fargate task's ephemeral storage: `ephemeralStorage.sizeInGiB` (21-200, validated at
/// registration), else Fargate's default.
pub fn ephemeral_storage_gib(task: &AgentTask) -> i64 {
    task.task_settings
        .get("ephemeralStorage")
        .and_then(|e| e.get("sizeInGiB"))
        .and_then(Value::as_i64)
        .unwrap_or(FARGATE_DEFAULT_STORAGE_GIB)
}

/// The container definition's Linux and Docker settings for the runtime. `pidMode` and
/// `ipcMode` `task` share the namespaces of the task's first container made (or, on Fargate,
/// of its pause container: [`crate::agent::joined_to_pause`]).
pub fn host_settings(task: &AgentTask, d: &ContainerDefinition) -> HostSettings {
    let x = &d.extra;
    let mut h = HostSettings::default();
    if task.launch_type == "FARGATE" {
        h.storage_size_gib = Some(ephemeral_storage_gib(task));
    }
    for l in strings(x.get("links")) {
        let (target, alias) = l.split_once(':').unwrap_or((l.as_str(), l.as_str()));
        h.links
            .push(format!("{}:{alias}", docker_name(task, target)));
    }
    for u in objects(x.get("ulimits")) {
        let (Some(name), Some(soft), Some(hard)) = (
            text(u, "name"),
            u.get("softLimit").and_then(Value::as_i64),
            u.get("hardLimit").and_then(Value::as_i64),
        ) else {
            continue;
        };
        h.ulimits.push(Ulimit {
            name: name.to_string(),
            soft,
            hard,
        });
    }
    if let Some(lp) = x.get("linuxParameters").filter(|v| v.is_object()) {
        if let Some(caps) = lp.get("capabilities") {
            h.cap_add = strings(caps.get("add"));
            h.cap_drop = strings(caps.get("drop"));
        }
        for dev in objects(lp.get("devices")) {
            let Some(host_path) = text(dev, "hostPath") else {
                continue;
            };
            let perms = strings(dev.get("permissions"));
            let permissions = if perms.is_empty() {
                "rwm".to_string()
            } else {
                [("read", 'r'), ("write", 'w'), ("mknod", 'm')]
                    .iter()
                    .filter(|(p, _)| perms.iter().any(|x| x == p))
                    .map(|(_, c)| *c)
                    .collect()
            };
            h.devices.push(Device {
                host_path: host_path.to_string(),
                container_path: text(dev, "containerPath").unwrap_or(host_path).to_string(),
                permissions,
            });
        }
        h.init = lp.get("initProcessEnabled").and_then(Value::as_bool);
        h.shm_size_mib = lp.get("sharedMemorySize").and_then(Value::as_i64);
        for t in objects(lp.get("tmpfs")) {
            let Some(path) = text(t, "containerPath") else {
                continue;
            };
            let mut opts: Vec<String> = Vec::new();
            if let Some(size) = t.get("size").and_then(Value::as_i64) {
                opts.push(format!("size={size}m"));
            }
            opts.extend(strings(t.get("mountOptions")));
            h.tmpfs.push((path.to_string(), opts.join(",")));
        }
        h.max_swap_mib = lp.get("maxSwap").and_then(Value::as_i64);
        h.swappiness = lp.get("swappiness").and_then(Value::as_i64);
        if h.max_swap_mib.is_some() && h.swappiness.is_none() {
            // The ECS agent's default when maxSwap is given without swappiness.
            h.swappiness = Some(60);
        }
    }
    h.readonly_rootfs = x.get("readonlyRootFilesystem").and_then(Value::as_bool) == Some(true);
    h.privileged = x.get("privileged").and_then(Value::as_bool) == Some(true);
    for e in objects(x.get("extraHosts")) {
        if let (Some(host), Some(ip)) = (text(e, "hostname"), text(e, "ipAddress")) {
            h.extra_hosts.push(format!("{host}:{ip}"));
        }
    }
    h.dns = strings(x.get("dnsServers"));
    h.dns_search = strings(x.get("dnsSearchDomains"));
    h.hostname = x
        .get("hostname")
        .and_then(Value::as_str)
        .map(str::to_string);
    for s in objects(x.get("systemControls")) {
        if let (Some(ns), Some(v)) = (text(s, "namespace"), text(s, "value")) {
            h.sysctls.push((ns.to_string(), v.to_string()));
        }
    }
    h.security_opt = strings(x.get("dockerSecurityOptions"));
    h.tty = x.get("pseudoTerminal").and_then(Value::as_bool) == Some(true);
    h.open_stdin = x.get("interactive").and_then(Value::as_bool) == Some(true);
    h.network_disabled = x.get("disableNetworking").and_then(Value::as_bool) == Some(true);
    h.stop_timeout = x.get("stopTimeout").and_then(Value::as_i64);
    h.health_check = health_check(d);

    // Namespaces shared by the task: the first container made owns them.
    let owner = creation_order(task).into_iter().next();
    let is_owner = owner.as_deref() == d.name.as_deref();
    let owner_ref = owner.map(|o| format!("container:{}", docker_name(task, &o)));
    h.pid_mode = match task.pid_mode.as_deref() {
        Some("host") => Some("host".into()),
        Some("task") if !is_owner => owner_ref.clone(),
        _ => None,
    };
    h.pid_task = task.pid_mode.as_deref() == Some("task");
    h.ipc_mode = match task.ipc_mode.as_deref() {
        Some("host") => Some("host".into()),
        Some("none") => Some("none".into()),
        Some("task") if is_owner => Some("shareable".into()),
        Some("task") => owner_ref,
        _ => None,
    };

    // Volumes.
    let volumes = task_volumes(task);
    for m in objects(x.get("mountPoints")) {
        let (Some(source), Some(target)) = (text(m, "sourceVolume"), text(m, "containerPath"))
        else {
            continue;
        };
        let Some((_, v)) = volumes.iter().find(|(n, _)| n == source) else {
            continue;
        };
        let from = match v {
            VolumeSource::HostPath(p) => p.clone(),
            VolumeSource::Docker { spec, .. } => spec.name.clone(),
            VolumeSource::Unsupported(_) => continue,
        };
        let ro = if flag(m, "readOnly") { ":ro" } else { "" };
        h.binds.push(format!("{from}:{target}{ro}"));
    }
    for v in objects(x.get("volumesFrom")) {
        if let Some(source) = text(v, "sourceContainer") {
            let ro = if flag(v, "readOnly") { ":ro" } else { "" };
            h.volumes_from
                .push(format!("{}{ro}", docker_name(task, source)));
        }
    }
    h
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn task(volumes: Value, containers: Value, extra: Value) -> AgentTask {
        let mut t = json!({
            "taskArn": "arn:aws:ecs:us-east-1:000000000000:task/c1/abc",
            "clusterArn": "arn:aws:ecs:us-east-1:000000000000:cluster/c1",
            "taskDefinitionArn": "d", "family": "web", "revision": 3,
            "desiredStatus": "RUNNING", "lastStatus": "PENDING", "launchType": "EC2",
            "networkMode": null, "cpu": null, "memory": null, "taskRoleArn": null,
            "executionRoleArn": null, "volumes": volumes, "containers": containers,
            "executionRoleCredentials": null,
        });
        if let (Some(t), Some(e)) = (t.as_object_mut(), extra.as_object()) {
            t.extend(e.clone());
        }
        serde_json::from_value(t).unwrap()
    }

    fn c(name: &str, def: Value) -> Value {
        let mut d = json!({"name": name, "image": "busybox"});
        if let (Some(d), Some(e)) = (d.as_object_mut(), def.as_object()) {
            d.extend(e.clone());
        }
        json!({"containerArn": format!("arn:c/{name}"), "name": name, "definition": d,
               "registryAuthentication": null})
    }

    #[test]
    fn every_linux_and_docker_setting_is_mapped() {
        let t = task(
            json!([]),
            json!([
                c("db", json!({})),
                c(
                    "app",
                    json!({
                        "links": ["db:database", "db"],
                        "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 2048}],
                        "linuxParameters": {
                            "capabilities": {"add": ["NET_ADMIN"], "drop": ["MKNOD"]},
                            "devices": [{"hostPath": "/dev/null", "containerPath": "/dev/x", "permissions": ["read", "write"]}],
                            "initProcessEnabled": true, "sharedMemorySize": 128,
                            "tmpfs": [{"containerPath": "/scratch", "size": 64, "mountOptions": ["noexec"]}],
                            "maxSwap": 0,
                        },
                        "readonlyRootFilesystem": true, "privileged": true,
                        "extraHosts": [{"hostname": "h.example", "ipAddress": "10.0.0.9"}],
                        "dnsServers": ["10.0.0.2"], "dnsSearchDomains": ["corp.example"],
                        "hostname": "apphost", "systemControls": [{"namespace": "net.ipv4.ip_forward", "value": "1"}],
                        "dockerSecurityOptions": ["no-new-privileges"], "interactive": true,
                        "pseudoTerminal": true, "stopTimeout": 9, "disableNetworking": false,
                    })
                )
            ]),
            json!({"pidMode": "task", "ipcMode": "task"}),
        );
        let h = host_settings(&t, &t.containers[1].definition);
        assert_eq!(
            h.links,
            vec!["ecs-web-3-db-abc:database", "ecs-web-3-db-abc:db"]
        );
        assert_eq!(
            h.ulimits[0],
            Ulimit {
                name: "nofile".into(),
                soft: 1024,
                hard: 2048
            }
        );
        assert_eq!(
            (h.cap_add.clone(), h.cap_drop.clone()),
            (vec!["NET_ADMIN".to_string()], vec!["MKNOD".to_string()])
        );
        assert_eq!(h.devices[0].permissions, "rw");
        assert_eq!(h.devices[0].container_path, "/dev/x");
        assert_eq!((h.init, h.shm_size_mib), (Some(true), Some(128)));
        assert_eq!(
            h.tmpfs,
            vec![("/scratch".to_string(), "size=64m,noexec".to_string())]
        );
        assert_eq!((h.max_swap_mib, h.swappiness), (Some(0), Some(60)));
        assert!(h.readonly_rootfs && h.privileged && h.tty && h.open_stdin && !h.network_disabled);
        assert_eq!(h.extra_hosts, vec!["h.example:10.0.0.9"]);
        assert_eq!(
            (h.dns.clone(), h.dns_search.clone()),
            (
                vec!["10.0.0.2".to_string()],
                vec!["corp.example".to_string()]
            )
        );
        assert_eq!(h.hostname.as_deref(), Some("apphost"));
        assert_eq!(
            h.sysctls,
            vec![("net.ipv4.ip_forward".to_string(), "1".to_string())]
        );
        assert_eq!(h.security_opt, vec!["no-new-privileges"]);
        assert_eq!(h.stop_timeout, Some(9));
        // db is made first (app links to it) and owns the task's namespaces.
        assert_eq!(creation_order(&t), vec!["db", "app"]);
        assert_eq!(h.pid_mode.as_deref(), Some("container:ecs-web-3-db-abc"));
        assert_eq!(h.ipc_mode.as_deref(), Some("container:ecs-web-3-db-abc"));
        let owner = host_settings(&t, &t.containers[0].definition);
        assert_eq!(
            (owner.pid_mode, owner.ipc_mode.as_deref()),
            (None, Some("shareable"))
        );
    }

    #[test]
    fn volumes_and_mounts() {
        let t = task(
            json!([
                {"name": "hostdir", "host": {"sourcePath": "/srv/data"}},
                {"name": "scratch", "host": {}},
                {"name": "none"},
                {"name": "shared", "dockerVolumeConfiguration": {"scope": "shared", "autoprovision": true,
                    "driver": "local", "driverOpts": {"type": "tmpfs", "device": "tmpfs"}, "labels": {"a": "b"}}},
                {"name": "mine", "dockerVolumeConfiguration": {"scope": "task", "driver": "local"}},
            ]),
            json!([
                c(
                    "app",
                    json!({
                        "mountPoints": [
                            {"sourceVolume": "hostdir", "containerPath": "/data", "readOnly": true},
                            {"sourceVolume": "scratch", "containerPath": "/scratch"},
                            {"sourceVolume": "shared", "containerPath": "/shared"},
                            {"sourceVolume": "mine", "containerPath": "/mine"},
                        ],
                    })
                ),
                c(
                    "reader",
                    json!({"volumesFrom": [{"sourceContainer": "app", "readOnly": true}]})
                )
            ]),
            json!({}),
        );
        let h = host_settings(&t, &t.containers[0].definition);
        assert_eq!(
            h.binds,
            vec![
                "/srv/data:/data:ro",
                "ecs-web-3-scratch-abc:/scratch",
                "shared:/shared",
                "ecs-web-3-mine-abc:/mine",
            ]
        );
        let r = host_settings(&t, &t.containers[1].definition);
        assert_eq!(r.volumes_from, vec!["ecs-web-3-app-abc:ro"]);
        let vols = task_volumes(&t);
        assert!(matches!(
            &vols[2].1,
            VolumeSource::Docker {
                task_scoped: true,
                ..
            }
        ));
        match &vols[3].1 {
            VolumeSource::Docker {
                spec,
                task_scoped,
                autoprovision,
            } => {
                assert!(!task_scoped && *autoprovision);
                assert_eq!(spec.driver.as_deref(), Some("local"));
                assert_eq!(spec.driver_opts["type"], "tmpfs");
                assert!(!spec.labels.contains_key(LABEL_VOLUME_TASK));
            }
            other => panic!("{other:?}"),
        }
        assert!(unsupported(&t).is_none());
    }

    #[test]
    fn what_berth_does_not_run_is_named() {
        let efs = task(
            json!([{"name": "e", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}]),
            json!([c("app", json!({}))]),
            json!({}),
        );
        assert_eq!(
            unsupported(&efs).unwrap(),
            "berth does not provide EFS volumes: volume 'e' has efsVolumeConfiguration (file system fs-1); map it to a directory with BERTH_EFS_FS_1=/path"
        );
        let mapped = |k: &str| (k == "BERTH_EFS_FS_1").then(|| "/srv/efs/".to_string());
        let efs = task(
            json!([{"name": "e", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/app/data"}},
                   {"name": "f", "efsVolumeConfiguration": {"fileSystemId": "fs-1", "rootDirectory": "/../etc"}}]),
            json!([c("app", json!({}))]),
            json!({}),
        );
        let vols = task_volumes_in(&efs, &mapped);
        assert_eq!(
            vols[0].1,
            VolumeSource::HostPath("/srv/efs/app/data".into())
        );
        assert!(matches!(&vols[1].1, VolumeSource::Unsupported(m) if m.contains("'..'")));
        let hc = task(
            json!([]),
            json!([c(
                "app",
                json!({"healthCheck": {"command": ["CMD", "true"]}})
            )]),
            json!({}),
        );
        assert!(unsupported(&hc).is_none());
        let hc_def = &hc.containers[0].definition;
        let check = health_check(hc_def).unwrap();
        assert_eq!(check.test, ["CMD", "true"]);
        assert_eq!(check.interval, std::time::Duration::from_secs(30));
        assert_eq!(check.timeout, std::time::Duration::from_secs(5));
        assert_eq!(check.retries, 3);
        assert_eq!(check.start_period, std::time::Duration::ZERO);
        let gpu = task(
            json!([]),
            json!([c(
                "app",
                json!({"resourceRequirements": [{"type": "GPU", "value": "1"}]})
            )]),
            json!({}),
        );
        assert!(unsupported(&gpu).unwrap().contains("GPU"));
        let empty = task(
            json!([]),
            json!([c(
                "app",
                json!({"dependsOn": [], "environmentFiles": null,
                                   "restartPolicy": {"enabled": false}})
            )]),
            json!({}),
        );
        assert!(unsupported(&empty).is_none());
        let other_arch = if host_architecture() == "X86_64" {
            "ARM64"
        } else {
            "X86_64"
        };
        let arch = task(
            json!([]),
            json!([c("app", json!({}))]),
            json!({"taskSettings": {"runtimePlatform": {"cpuArchitecture": other_arch}}}),
        );
        assert!(
            unsupported(&arch)
                .unwrap()
                .contains("runtimePlatform.cpuArchitecture")
        );
        let same_arch = task(
            json!([]),
            json!([c("app", json!({}))]),
            json!({"taskSettings": {"runtimePlatform": {"cpuArchitecture": host_architecture(),
                                                         "operatingSystemFamily": "LINUX"}}}),
        );
        assert!(unsupported(&same_arch).is_none());
        let mesh = task(
            json!([]),
            json!([c("app", json!({}))]),
            json!({"taskSettings": {"proxyConfiguration": {"type": "APPMESH", "containerName": "envoy"}}}),
        );
        assert_eq!(
            unsupported(&mesh).unwrap(),
            "berth does not provide App Mesh proxies: the task definition has proxyConfiguration"
        );
    }

    #[test]
    fn fargate_containers_carry_the_task_s_ephemeral_storage() {
        let one = json!([c("app", json!({}))]);
        let ec2 = task(json!([]), one.clone(), json!({}));
        assert_eq!(
            host_settings(&ec2, &ec2.containers[0].definition).storage_size_gib,
            None
        );
        let fargate = task(json!([]), one.clone(), json!({"launchType": "FARGATE"}));
        assert_eq!(
            host_settings(&fargate, &fargate.containers[0].definition).storage_size_gib,
            Some(FARGATE_DEFAULT_STORAGE_GIB)
        );
        let sized = task(
            json!([]),
            one,
            json!({"launchType": "FARGATE", "taskSettings": {"ephemeralStorage": {"sizeInGiB": 64}}}),
        );
        assert_eq!(
            host_settings(&sized, &sized.containers[0].definition).storage_size_gib,
            Some(64)
        );
        assert!(crate::docker::storage_size_supported("overlay2", "xfs"));
        assert!(!crate::docker::storage_size_supported("overlay2", "extfs"));
        assert!(!crate::docker::storage_size_supported("vfs", "xfs"));
    }
}
