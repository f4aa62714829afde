//! The task definition's members that berth refuses, emulates or does not run on the launch
//! type diagnosed, from the decision table `berth_ecs::fields`.

use berth_ecs::fields::decision;
use serde_json::Value;

use crate::{CheckKind, CheckResult, fail, ok};

/// Whether a member is given (not null, not an empty list or object, not `false`).
fn given(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// One check per member whose decision on this launch type is not plainly applied: failed for
/// what is refused, not placed or fails the task; passed (listed) for what is emulated or only
/// recorded.
pub fn field_checks(definition: &Value, fargate: bool) -> Vec<CheckResult> {
    let mut out = Vec::new();
    let mut look = |shape: &str, member: &str, container: Option<&str>, path: String| {
        let Some(f) = decision(shape, member) else {
            return;
        };
        let text = if fargate && f.fargate != "same" {
            f.fargate
        } else {
            f.ec2
        };
        let launch = if fargate { "FARGATE" } else { "EC2" };
        let refused = ["refused", "not placed", "fails the task"]
            .iter()
            .any(|v| text.starts_with(v))
            || text.contains("not placed)");
        let emulated = ["emulated", "recorded"].iter().any(|v| text.starts_with(v))
            || text.contains("; emulated");
        if refused {
            out.push(fail(
                CheckKind::Field,
                container,
                format!("{path} on {launch}: {text}"),
                format!("remove {path}, or run the task where berth provides it"),
            ));
        } else if emulated {
            out.push(ok(
                CheckKind::Field,
                container,
                format!("{path} on {launch}: {text}"),
            ));
        }
    };
    let Some(task) = definition.as_object() else {
        return out;
    };
    for (member, v) in task {
        if given(v) && member != "containerDefinitions" && member != "volumes" {
            look(
                "RegisterTaskDefinitionRequest",
                member,
                None,
                member.clone(),
            );
        }
    }
    for v in task
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = v.get("name").and_then(Value::as_str).unwrap_or("");
        for (member, value) in v.as_object().into_iter().flatten() {
            if member != "name" && given(value) {
                look("Volume", member, None, format!("volume '{name}' {member}"));
            }
        }
        if v.get("host")
            .and_then(|h| h.get("sourcePath"))
            .is_some_and(given)
        {
            look(
                "HostVolumeProperties",
                "sourcePath",
                None,
                format!("volume '{name}' host.sourcePath"),
            );
        }
    }
    let containers = task.get("containerDefinitions").and_then(Value::as_array);
    for c in containers.into_iter().flatten() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("");
        for (member, value) in c.as_object().into_iter().flatten() {
            if !given(value) {
                continue;
            }
            if member == "linuxParameters" {
                for (lp, lv) in value.as_object().into_iter().flatten() {
                    if given(lv) {
                        look(
                            "LinuxParameters",
                            lp,
                            Some(name),
                            format!("linuxParameters.{lp}"),
                        );
                    }
                }
            } else {
                look("ContainerDefinition", member, Some(name), member.clone());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn refused_and_emulated_members_are_listed_per_launch_type() {
        let def = json!({
            "family": "f", "ipcMode": "host", "ephemeralStorage": {"sizeInGiB": 30},
            "volumes": [{"name": "e", "efsVolumeConfiguration": {"fileSystemId": "fs-1"}}],
            "containerDefinitions": [{"name": "app", "image": "busybox", "privileged": true,
                "healthCheck": {"command": ["CMD", "true"]}, "memory": 6,
                "linuxParameters": {"sharedMemorySize": 64, "initProcessEnabled": true}}],
        });
        let ec2 = field_checks(&def, false);
        let reasons: Vec<&str> = ec2.iter().map(|c| c.reason.as_str()).collect();
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("healthCheck on EC2: not placed")),
            "{reasons:?}"
        );
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with("volume 'e' efsVolumeConfiguration on EC2: emulated")),
            "{reasons:?}"
        );
        assert!(
            !reasons.iter().any(|r| r.starts_with("privileged")),
            "applied on EC2: {reasons:?}"
        );
        let fargate = field_checks(&def, true);
        let failed: Vec<&str> = fargate
            .iter()
            .filter(|c| !c.ok)
            .map(|c| c.reason.as_str())
            .collect();
        for want in [
            "ipcMode on FARGATE: refused",
            "privileged on FARGATE: refused",
            "linuxParameters.sharedMemorySize on FARGATE: refused",
        ] {
            assert!(
                failed.iter().any(|r| r.starts_with(want)),
                "{want}: {failed:?}"
            );
        }
        assert!(fargate.iter().any(|c| {
            c.ok && c
                .reason
                .starts_with("ephemeralStorage on FARGATE: validated 21-200 GiB; emulated")
        }));
        assert!(
            !fargate
                .iter()
                .any(|c| c.reason.starts_with("linuxParameters.initProcessEnabled"))
        );
    }
}
