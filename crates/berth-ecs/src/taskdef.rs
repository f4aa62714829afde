//! Task definitions as pure functions: validation in AWS's words, the computed
//! `requiresAttributes` and `compatibilities`, role completion, task-size parsing.

use crate::error::EcsError;
use crate::model::{Attribute, ContainerDefinition, RegisterTaskDefinitionInput};

/// The capability an instance must advertise to run a task with `repositoryCredentials`.
pub const PRIVATE_REGISTRY_CAPABILITY: &str =
    "ecs.capability.private-registry-authentication.secretsmanager";

/// AWS's text for `repositoryCredentials` without an execution role.
pub const PRIVATE_REGISTRY_NEEDS_ROLE: &str = "Private repository authentication requires that the task definition specify a value for executionRoleArn.";

fn client(msg: &str) -> EcsError {
    EcsError::Client(msg.to_string())
}

/// TaskDefinition members that RegisterTaskDefinition does not take.
const OUTPUT_ONLY: [&str; 9] = [
    "taskDefinitionArn",
    "revision",
    "status",
    "requiresAttributes",
    "compatibilities",
    "registeredAt",
    "deregisteredAt",
    "deleteRequestedAt",
    "registeredBy",
];

/// `[A-Za-z0-9_-]{1,255}`: the alphabet of family and container names.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Completes a role given as a bare name (or `path/name`) with the account id; an ARN must be an
/// IAM role ARN. AWS answers `Role is not valid` otherwise.
pub fn complete_role(account: &str, role: &str) -> Result<String, EcsError> {
    if let Some(rest) = role.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        let ok = parts.len() == 5
            && !parts[0].is_empty()
            && parts[1] == "iam"
            && parts[2].is_empty()
            && parts[3].len() == 12
            && parts[3].bytes().all(|b| b.is_ascii_digit())
            && parts[4].strip_prefix("role/").is_some_and(valid_role_path);
        return if ok {
            Ok(role.to_string())
        } else {
            Err(client("Role is not valid"))
        };
    }
    if valid_role_path(role) {
        Ok(format!("arn:aws:iam::{account}:role/{role}"))
    } else {
        Err(client("Role is not valid"))
    }
}

fn valid_role_path(s: &str) -> bool {
    !s.is_empty()
        && !s.ends_with('/')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-/".contains(&b))
}

/// Parses a task-level CPU value: `1024` or `1 vCPU` (= 1024 units).
pub fn parse_cpu(s: &str) -> Option<i64> {
    parse_size(s, "vcpu")
}

/// Parses a task-level memory value: `2048` (MiB) or `2 GB` (= 2048 MiB).
pub fn parse_memory(s: &str) -> Option<i64> {
    parse_size(s, "gb")
}

fn parse_size(s: &str, unit: &str) -> Option<i64> {
    let t = s.trim().to_ascii_lowercase();
    if let Some(num) = t.strip_suffix(unit) {
        let v: f64 = num.trim().parse().ok()?;
        if !v.is_finite() || v <= 0.0 {
            return None;
        }
        return Some((v * 1024.0).round() as i64);
    }
    let v: i64 = t.parse().ok()?;
    (v > 0).then_some(v)
}

/// Whether Fargate has a size for this task CPU (units) and memory (MiB).
pub fn fargate_size_ok(cpu: i64, memory: i64) -> bool {
    let gib = |n: i64| n * 1024;
    let stepped = |lo: i64, hi: i64, step: i64| memory >= lo && memory <= hi && memory % step == 0;
    match cpu {
        256 => matches!(memory, 512 | 1024 | 2048),
        512 => stepped(gib(1), gib(4), 1024),
        1024 => stepped(gib(2), gib(8), 1024),
        2048 => stepped(gib(4), gib(16), 1024),
        4096 => stepped(gib(8), gib(30), 1024),
        8192 => stepped(gib(16), gib(60), gib(4)),
        16384 => stepped(gib(32), gib(120), gib(8)),
        _ => false,
    }
}

/// Validates a registration and normalises it in place (roles completed, sizes as numbers,
/// container defaults filled). Messages are AWS's where known.
pub fn validate(account: &str, input: &mut RegisterTaskDefinitionInput) -> Result<(), EcsError> {
    // Members that only the answer carries are computed, never taken from the request (kept,
    // they would also clash with the computed ones).
    for key in OUTPUT_ONLY {
        input.extra.remove(key);
    }
    let family = input.family.as_deref().unwrap_or("");
    if !valid_name(family) {
        return Err(client("Family contains invalid characters."));
    }
    if input.container_definitions.is_empty() {
        return Err(client("Container list cannot be empty."));
    }
    if let Some(mode) = &input.network_mode
        && !matches!(mode.as_str(), "bridge" | "host" | "awsvpc" | "none")
    {
        // AWS's wording for an unknown network mode is not documented; berth's own.
        return Err(EcsError::InvalidParameter(format!(
            "invalid network mode: {mode}"
        )));
    }
    for c in &input.requires_compatibilities {
        if !matches!(
            c.as_str(),
            "EC2" | "FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES"
        ) {
            return Err(EcsError::InvalidParameter(format!(
                "invalid compatibility: {c}"
            )));
        }
    }
    if let Some(role) = input.execution_role_arn.as_deref() {
        input.execution_role_arn = Some(complete_role(account, role)?);
    }
    if let Some(role) = input.task_role_arn.as_deref() {
        input.task_role_arn = Some(complete_role(account, role)?);
    }
    let cpu = match input.cpu.as_deref() {
        Some(s) => Some(parse_cpu(s).ok_or_else(|| client("Invalid 'cpu' setting for task."))?),
        None => None,
    };
    let memory = match input.memory.as_deref() {
        Some(s) => {
            Some(parse_memory(s).ok_or_else(|| client("Invalid 'memory' setting for task."))?)
        }
        None => None,
    };
    input.cpu = cpu.map(|v| v.to_string());
    input.memory = memory.map(|v| v.to_string());

    let mut seen = std::collections::BTreeSet::new();
    for c in &input.container_definitions {
        let name = c.name.as_deref().unwrap_or("");
        if name.is_empty() {
            return Err(client("Container.name should not be null or empty."));
        }
        if !valid_name(name) {
            return Err(client("Container.name contains invalid characters."));
        }
        if c.image.as_deref().is_none_or(|i| i.trim().is_empty()) {
            return Err(client("Container.image should not be null or empty."));
        }
        if memory.is_none() && c.memory.is_none() && c.memory_reservation.is_none() {
            return Err(client(&format!(
                "Invalid setting for container '{name}'. At least one of 'memory' or 'memoryReservation' must be specified."
            )));
        }
        if !seen.insert(name.to_string()) {
            // AWS refuses duplicate container names; its exact wording is not known to berth.
            return Err(client(&format!("duplicate container name: {name}")));
        }
        if c.repository_credentials.is_some() && input.execution_role_arn.is_none() {
            return Err(client(PRIVATE_REGISTRY_NEEDS_ROLE));
        }
    }

    if input
        .requires_compatibilities
        .iter()
        .any(|c| c == "FARGATE")
    {
        if input.network_mode.as_deref() != Some("awsvpc") {
            return Err(client(
                "Fargate only supports network mode \u{2018}awsvpc\u{2019}.",
            ));
        }
        let Some(cpu) = cpu else {
            return Err(client(
                "Fargate requires that 'cpu' be defined at the task level.",
            ));
        };
        let Some(memory) = memory else {
            return Err(client(
                "Fargate requires that 'memory' be defined at the task level.",
            ));
        };
        if !fargate_size_ok(cpu, memory) {
            return Err(client("No Fargate configuration exists for given values."));
        }
    }
    for c in &mut input.container_definitions {
        fill_container_defaults(c);
    }
    Ok(())
}

/// The members AWS fills in every container definition it returns.
fn fill_container_defaults(c: &mut ContainerDefinition) {
    if c.cpu.is_none() {
        c.cpu = Some(0);
    }
    if c.essential.is_none() {
        c.essential = Some(true);
    }
    for key in ["portMappings", "environment", "mountPoints", "volumesFrom"] {
        c.extra
            .entry(key)
            .or_insert_with(|| serde_json::Value::Array(Vec::new()));
    }
}

fn is_ecr_image(image: &str) -> bool {
    let host = image.split('/').next().unwrap_or("");
    image.contains('/') && host.contains(".dkr.ecr.") && host.contains(".amazonaws.com")
}

/// The attributes an instance must have to run this definition, as AWS computes them.
///
/// What berth is sure of: `repositoryCredentials` requires
/// `ecs.capability.private-registry-authentication.secretsmanager`. The others follow what AWS
/// returns for common definitions (observed outputs); AWS adds more for features berth does
/// not list here, and berth is not certain of the docker-remote-api version AWS pairs with
/// each feature.
pub fn requires_attributes(input: &RegisterTaskDefinitionInput) -> Vec<Attribute> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !out.iter().any(|n| n == name) {
            out.push(name.to_string());
        }
    };
    let awsvpc = input.network_mode.as_deref() == Some("awsvpc");
    for c in &input.container_definitions {
        if c.repository_credentials.is_some() {
            // Certain: ECS places a task with `repositoryCredentials` only on an instance that
            // advertises this capability. Whether AWS also adds a docker-remote-api version for
            // it is not known to berth; it adds none.
            add(PRIVATE_REGISTRY_CAPABILITY);
        }
        if c.memory_reservation.is_some() {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.21");
        }
        if let Some(log) = c.extra.get("logConfiguration")
            && let Some(driver) = log.get("logDriver").and_then(|d| d.as_str())
        {
            add(&format!(
                "com.amazonaws.ecs.capability.logging-driver.{driver}"
            ));
            if driver == "awslogs" {
                add("com.amazonaws.ecs.capability.docker-remote-api.1.19");
                if input.execution_role_arn.is_some() {
                    add("ecs.capability.execution-role-awslogs");
                }
            }
        }
        // ECR pulls with the execution role need this; berth only adds it for ECR images
        // (berth does not emulate ECR itself) — AWS is believed to do the same.
        if input.execution_role_arn.is_some() && c.image.as_deref().is_some_and(is_ecr_image) {
            add("ecs.capability.execution-role-ecr-pull");
            add("com.amazonaws.ecs.capability.ecr-auth");
        }
        if let Some(secrets) = c.extra.get("secrets").and_then(|s| s.as_array()) {
            for s in secrets {
                let from = s.get("valueFrom").and_then(|v| v.as_str()).unwrap_or("");
                if from.starts_with("arn:aws:secretsmanager:") {
                    add("ecs.capability.secrets.asm.environment-variables");
                } else {
                    add("ecs.capability.secrets.ssm.environment-variables");
                }
            }
        }
        if c.extra.contains_key("healthCheck") {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.24");
            add("ecs.capability.container-health-check");
        }
        if c.extra.contains_key("dependsOn") {
            add("ecs.capability.container-ordering");
        }
        if c.extra.contains_key("dockerLabels") {
            add("com.amazonaws.ecs.capability.docker-remote-api.1.18");
        }
        if c.extra.get("privileged").and_then(|p| p.as_bool()) == Some(true) {
            add("com.amazonaws.ecs.capability.privileged-container");
        }
    }
    if input.task_role_arn.is_some() {
        add("com.amazonaws.ecs.capability.task-iam-role");
    }
    if awsvpc {
        add("com.amazonaws.ecs.capability.docker-remote-api.1.18");
        add("ecs.capability.task-eni");
    }
    out.iter().map(|n| Attribute::named(n)).collect()
}

/// The launch types a (validated) definition can run on: always EC2 and EXTERNAL; FARGATE only
/// with `awsvpc` and a task size Fargate offers.
pub fn compatibilities(input: &RegisterTaskDefinitionInput) -> Vec<String> {
    let mut out = vec!["EC2".to_string(), "EXTERNAL".to_string()];
    let size = input
        .cpu
        .as_deref()
        .and_then(parse_cpu)
        .zip(input.memory.as_deref().and_then(parse_memory));
    if input.network_mode.as_deref() == Some("awsvpc")
        && size.is_some_and(|(c, m)| fargate_size_ok(c, m))
    {
        out.push("FARGATE".to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::RepositoryCredentials;

    fn container(name: &str, image: &str, memory: Option<i64>) -> ContainerDefinition {
        ContainerDefinition {
            name: Some(name.into()),
            image: Some(image.into()),
            cpu: None,
            memory,
            memory_reservation: None,
            essential: None,
            repository_credentials: None,
            extra: Default::default(),
        }
    }

    fn input(cs: Vec<ContainerDefinition>) -> RegisterTaskDefinitionInput {
        RegisterTaskDefinitionInput {
            family: Some("web".into()),
            container_definitions: cs,
            ..Default::default()
        }
    }

    fn err(r: Result<(), EcsError>) -> String {
        match r {
            Err(EcsError::Client(m)) | Err(EcsError::InvalidParameter(m)) => m,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn validation_messages() {
        let ok = || input(vec![container("app", "busybox", Some(128))]);
        let cases: Vec<(Box<dyn Fn(&mut RegisterTaskDefinitionInput)>, &str)> = vec![
            (
                Box::new(|i| i.family = Some("bad family".into())),
                "Family contains invalid characters.",
            ),
            (
                Box::new(|i| i.family = Some(String::new())),
                "Family contains invalid characters.",
            ),
            (
                Box::new(|i| i.container_definitions.clear()),
                "Container list cannot be empty.",
            ),
            (
                Box::new(|i| i.container_definitions[0].name = None),
                "Container.name should not be null or empty.",
            ),
            (
                Box::new(|i| i.container_definitions[0].name = Some("a.b".into())),
                "Container.name contains invalid characters.",
            ),
            (
                Box::new(|i| i.container_definitions[0].image = None),
                "Container.image should not be null or empty.",
            ),
            (
                Box::new(|i| i.container_definitions[0].memory = None),
                "Invalid setting for container 'app'. At least one of 'memory' or 'memoryReservation' must be specified.",
            ),
            (
                Box::new(|i| {
                    i.container_definitions[0].repository_credentials =
                        Some(RepositoryCredentials {
                            credentials_parameter: "x".into(),
                        })
                }),
                PRIVATE_REGISTRY_NEEDS_ROLE,
            ),
            (
                Box::new(|i| i.execution_role_arn = Some("arn:aws:s3:::bucket".into())),
                "Role is not valid",
            ),
            (
                Box::new(|i| i.requires_compatibilities = vec!["FARGATE".into()]),
                "Fargate only supports network mode \u{2018}awsvpc\u{2019}.",
            ),
            (
                Box::new(|i| {
                    i.requires_compatibilities = vec!["FARGATE".into()];
                    i.network_mode = Some("awsvpc".into());
                }),
                "Fargate requires that 'cpu' be defined at the task level.",
            ),
            (
                Box::new(|i| {
                    i.requires_compatibilities = vec!["FARGATE".into()];
                    i.network_mode = Some("awsvpc".into());
                    i.cpu = Some("256".into());
                    i.memory = Some("4096".into());
                }),
                "No Fargate configuration exists for given values.",
            ),
        ];
        for (mutate, want) in cases {
            let mut i = ok();
            mutate(&mut i);
            assert_eq!(err(validate("000000000000", &mut i)), want);
        }
        let mut i = ok();
        validate("000000000000", &mut i).unwrap();
    }

    #[test]
    fn roles_are_completed() {
        let cases = [
            (
                "ecsTaskExecutionRole",
                Some("arn:aws:iam::123456789012:role/ecsTaskExecutionRole"),
            ),
            (
                "service-role/x",
                Some("arn:aws:iam::123456789012:role/service-role/x"),
            ),
            (
                "arn:aws:iam::111122223333:role/r",
                Some("arn:aws:iam::111122223333:role/r"),
            ),
            ("arn:aws:iam::111122223333:user/u", None),
            ("bad name!", None),
            ("", None),
        ];
        for (given, want) in cases {
            assert_eq!(
                complete_role("123456789012", given).ok().as_deref(),
                want,
                "{given}"
            );
        }
    }

    #[test]
    fn sizes_and_fargate_table() {
        assert_eq!(parse_cpu("1 vCPU"), Some(1024));
        assert_eq!(parse_cpu(".25 vcpu"), Some(256));
        assert_eq!(parse_memory("2 GB"), Some(2048));
        assert_eq!(parse_memory("512"), Some(512));
        assert_eq!(parse_memory("x"), None);
        let cases = [
            (256, 512, true),
            (256, 1024, true),
            (256, 3072, false),
            (512, 4096, true),
            (1024, 1024, false),
            (4096, 30720, true),
            (8192, 20480, true),
            (8192, 18432, false),
            (300, 1024, false),
        ];
        for (cpu, mem, want) in cases {
            assert_eq!(fargate_size_ok(cpu, mem), want, "{cpu}/{mem}");
        }
    }

    #[test]
    fn computed_attributes_and_compatibilities() {
        let mut c = container("app", "private-repo/private-image", Some(128));
        c.repository_credentials = Some(RepositoryCredentials {
            credentials_parameter: "arn:aws:secretsmanager:us-east-1:000000000000:secret:s".into(),
        });
        let mut i = input(vec![c]);
        i.execution_role_arn = Some("ecsTaskExecutionRole".into());
        validate("000000000000", &mut i).unwrap();
        let names: Vec<String> = requires_attributes(&i)
            .into_iter()
            .map(|a| a.name)
            .collect();
        assert_eq!(names, vec![PRIVATE_REGISTRY_CAPABILITY.to_string()]);
        assert_eq!(compatibilities(&i), vec!["EC2", "EXTERNAL"]);

        i.network_mode = Some("awsvpc".into());
        i.cpu = Some("256".into());
        i.memory = Some("512".into());
        assert_eq!(compatibilities(&i), vec!["EC2", "EXTERNAL", "FARGATE"]);
        assert!(
            requires_attributes(&i)
                .iter()
                .any(|a| a.name == "ecs.capability.task-eni")
        );
        // No execution-role-ecr-pull for a non-ECR image.
        assert!(
            !requires_attributes(&i)
                .iter()
                .any(|a| a.name == "ecs.capability.execution-role-ecr-pull")
        );
        i.container_definitions[0].image =
            Some("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1".into());
        assert!(
            requires_attributes(&i)
                .iter()
                .any(|a| a.name == "ecs.capability.execution-role-ecr-pull")
        );
    }

    #[test]
    fn output_members_of_the_request_are_dropped() {
        let mut i: RegisterTaskDefinitionInput = serde_json::from_value(serde_json::json!({
            "family": "f", "status": "INACTIVE", "revision": 7, "pidMode": "task",
            "containerDefinitions": [{"name": "a", "image": "b", "memory": 1}]
        }))
        .unwrap();
        validate("000000000000", &mut i).unwrap();
        assert_eq!(i.extra.keys().collect::<Vec<_>>(), vec!["pidMode"]);
    }

    #[test]
    fn defaults_are_filled() {
        let mut i = input(vec![container("app", "busybox", Some(128))]);
        validate("000000000000", &mut i).unwrap();
        let c = &i.container_definitions[0];
        assert_eq!(c.cpu, Some(0));
        assert_eq!(c.essential, Some(true));
        assert_eq!(c.extra["portMappings"], serde_json::json!([]));
    }
}
