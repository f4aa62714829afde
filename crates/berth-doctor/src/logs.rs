//! The awslogs checks: for each container whose `logConfiguration` uses the `awslogs` driver,
//! whether the task's execution role may create its log stream and put its events (and create
//! its group, with `awslogs-create-group`), decided as CloudWatch Logs decides them for
//! berth's shipper: on the stream's ARN (`…:log-group:<group>:log-stream:<stream>`) and, for
//! the group, on `…:log-group:<group>:log-stream:`.

use berth_iam::Principal;
use berth_iam::sts::RoleInfo;
use berth_policy::Mode;
use serde_json::{Value, json};

use crate::{Ask, CheckKind, CheckResult, Doctor, DoctorError, TASK_ID, denied_by, fixes, ok};

/// A container's awslogs destination.
pub(crate) struct AwslogsContainer {
    pub(crate) name: String,
    pub(crate) group: String,
    pub(crate) region: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) create_group: bool,
}

/// The containers of a definition (RegisterTaskDefinition's JSON) that use awslogs.
pub(crate) fn awslogs_containers(definition: &Value) -> Vec<AwslogsContainer> {
    let Some(defs) = definition
        .get("containerDefinitions")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    defs.iter()
        .filter_map(|c| {
            let log = c.get("logConfiguration")?;
            if log.get("logDriver").and_then(Value::as_str) != Some("awslogs") {
                return None;
            }
            let opt = |k: &str| {
                log.get("options")
                    .and_then(|o| o.get(k))
                    .and_then(Value::as_str)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            };
            Some(AwslogsContainer {
                name: c
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                group: opt("awslogs-group").unwrap_or_default(),
                region: opt("awslogs-region"),
                prefix: opt("awslogs-stream-prefix"),
                create_group: opt("awslogs-create-group").is_some_and(|v| {
                    matches!(v.as_str(), "true" | "True" | "TRUE" | "1" | "t" | "T")
                }),
            })
        })
        .collect()
}

impl Doctor<'_> {
    /// The awslogs checks of every container in `containers`, as `role` (none: the agent's
    /// own credentials ship the output, on an instance; nothing to check here).
    pub(crate) fn check_awslogs(
        &self,
        containers: &[AwslogsContainer],
        role: Option<&RoleInfo>,
        checks: &mut Vec<CheckResult>,
    ) -> Result<(), DoctorError> {
        let kind = CheckKind::Awslogs;
        for c in containers {
            let name = Some(c.name.as_str());
            if c.group.is_empty() {
                checks.push(crate::fail(
                    kind,
                    name,
                    "logConfiguration has no awslogs-group: Docker refuses the container (`must specify a value for log opt 'awslogs-group'`)",
                    "set logConfiguration.options.awslogs-group to the log group's name",
                ));
                continue;
            }
            let Some(role) = role else {
                checks.push(ok(
                    kind,
                    name,
                    "no execution role: the container instance's agent ships the output with its own credentials",
                ));
                continue;
            };
            let principal = Principal::AssumedRole {
                account: role.account.clone(),
                role_name: role.name.clone(),
                role_id: role.id.clone(),
                role_path: role.path.clone(),
                session_name: TASK_ID.to_string(),
                session_key_id: String::new(),
            };
            let role_arn = role.arn();
            let region = c.region.as_deref().unwrap_or(&self.opts.region);
            // Without a prefix the stream is named after the container's Docker ID.
            let stream = match &c.prefix {
                Some(p) => format!("{p}/{}/{TASK_ID}", c.name),
                None => "0".repeat(64),
            };
            let stream_arn = format!(
                "arn:aws:logs:{region}:{}:log-group:{}:log-stream:{stream}",
                role.account, c.group
            );
            let group_arn = format!(
                "arn:aws:logs:{region}:{}:log-group:{}:log-stream:",
                role.account, c.group
            );
            let mut asks: Vec<(&str, &str)> = Vec::new();
            if c.create_group {
                asks.push(("logs:CreateLogGroup", &group_arn));
            }
            asks.push(("logs:CreateLogStream", &stream_arn));
            asks.push(("logs:PutLogEvents", &stream_arn));
            for (action, resource) in asks {
                let ask = Ask {
                    action,
                    resource,
                    owner: &role.account,
                    region,
                    resource_policy: None,
                    mode: Mode::Standard,
                    context: Vec::new(),
                };
                // The fix AWS documents: the group's streams (`log-group:<group>:*`).
                let identity = json!({
                    "Effect": "Allow",
                    "Action": action,
                    "Resource": format!("arn:aws:logs:{region}:{}:log-group:{}:*", role.account, c.group),
                });
                let what = match action {
                    "logs:PutLogEvents" => {
                        "without it the container runs and its output is refused"
                    }
                    _ => "without it the container does not start",
                };
                checks.push(
                    match self.search(&principal, &ask, &identity, &Value::Null)? {
                        None => ok(kind, name, format!("{role_arn} may {action} {resource}")),
                        Some(s) => crate::fail(
                            kind,
                            name,
                            format!(
                                "{role_arn} may not {action} {resource}{} ({what})",
                                denied_by(&s)
                            ),
                            fixes(&s, &role_arn, &identity, "", &Value::Null),
                        ),
                    },
                );
            }
        }
        Ok(())
    }
}
