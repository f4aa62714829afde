//! berth-doctor: explains, without running anything, whether a task definition's start would
//! succeed, and for each failed check the reason and the smallest fix.
//!
//! Plain Rust over the [`Store`] and the [`RootKey`]: it asks the same domain crates and the
//! same policy engine the real path asks (the control plane assuming the execution role, the
//! agent's `GetSecretValue` as that role, Secrets Manager's `kms:Decrypt` on its behalf, the
//! agent's parsing of the secret, placement). Only [`registry`] does network I/O, and only
//! when asked to.

mod fields;
mod logs;
mod registered;
pub mod registry;
mod service;

pub use registered::diagnose_registered;
pub use service::{ServiceOptions, ServiceReport, diagnose_service};

use std::time::{Duration, UNIX_EPOCH};

use berth_core::RootKey;
use berth_ecs::{RegisterTaskDefinitionInput, TaskDefinition, taskdef};
use berth_iam::Iam;
use berth_iam::Principal;
use berth_iam::authz::{IdentityDocuments, Question, Verdict};
use berth_iam::sts::RoleInfo;
use berth_kms::{Key, KeyManager, Kms};
use berth_policy::{Context, Decision, Mode, PolicyKind, PolicyType};
use berth_secrets::{AWSCURRENT, Secret, SecretRef, SecretValue, Secrets, SecretsError};
use berth_store::Store;
use serde::Serialize;
use serde_json::{Value, json};

/// The service principal that assumes a task's execution role.
pub const ECS_TASKS: &str = "ecs-tasks.amazonaws.com";

/// Where the task definition comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A registered one: `family`, `family:revision` or its ARN.
    Registered(String),
    /// A RegisterTaskDefinition input (or a DescribeTaskDefinition answer) as JSON.
    Document(Value),
}

/// What to diagnose.
#[derive(Debug, Clone)]
pub struct Options {
    pub account: String,
    pub region: String,
    pub source: Source,
    /// The principal that would call RunTask; `None` is the account's root user.
    pub caller_arn: Option<String>,
    /// Look for container instances in this cluster only.
    pub cluster: Option<String>,
    /// Also try the credentials against the image's registry (network I/O).
    pub registry_check: bool,
    /// Certificates the registry check trusts besides the machine's (a PEM file).
    pub ca_file: Option<std::path::PathBuf>,
    /// Unix seconds.
    pub now: u64,
}

/// The checks, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    TaskDefinition,
    ExecutionRole,
    PassRole,
    Secret,
    GetSecretValue,
    KmsDecrypt,
    SecretValue,
    Registry,
    Placement,
    /// An awslogs container's CloudWatch Logs permissions.
    Awslogs,
    /// A member berth refuses, emulates or does not run on the launch type diagnosed.
    Field,
    /// `--service`: the service's cluster.
    Cluster,
    /// `--service`: the service itself.
    Service,
    /// `--service`: container instances registered and connected.
    Capacity,
    /// `--service`: placement constraints against the instances.
    Constraints,
    /// `--service`: the latest stopped tasks' reasons.
    StoppedTasks,
    /// `--service`: the deployment circuit breaker.
    CircuitBreaker,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::TaskDefinition => "task-definition",
            CheckKind::ExecutionRole => "execution-role",
            CheckKind::PassRole => "pass-role",
            CheckKind::Secret => "secret",
            CheckKind::GetSecretValue => "get-secret-value",
            CheckKind::KmsDecrypt => "kms-decrypt",
            CheckKind::SecretValue => "secret-value",
            CheckKind::Registry => "registry",
            CheckKind::Placement => "placement",
            CheckKind::Awslogs => "awslogs",
            CheckKind::Field => "field",
            CheckKind::Cluster => "cluster",
            CheckKind::Service => "service",
            CheckKind::Capacity => "capacity",
            CheckKind::Constraints => "constraints",
            CheckKind::StoppedTasks => "stopped-tasks",
            CheckKind::CircuitBreaker => "circuit-breaker",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    pub check: CheckKind,
    /// The container the check is about, for per-container checks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub container: Option<String>,
    pub ok: bool,
    pub reason: String,
    /// The smallest change that makes the check pass (JSON for policy statements).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// The whole diagnosis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The task definition as found (ARN for a registered one, family for a document).
    pub task_definition: String,
    pub checks: Vec<CheckResult>,
}

impl Report {
    /// Whether every check passed.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// What stops a diagnosis from running at all (the store, the root key).
#[derive(Debug, thiserror::Error)]
pub enum DoctorError {
    #[error("{0}")]
    Iam(#[from] berth_iam::IamError),
    #[error("{0}")]
    Secrets(#[from] SecretsError),
    #[error("{0}")]
    Kms(#[from] berth_kms::KmsError),
    #[error("{0}")]
    Ecs(#[from] berth_ecs::EcsError),
}

/// The task definition, reduced to what the checks need.
struct Plan {
    name: String,
    execution_role: Option<String>,
    containers: Vec<PlanContainer>,
    fargate: bool,
    /// The definition as JSON (RegisterTaskDefinition's members).
    definition: Value,
}

struct PlanContainer {
    name: String,
    image: String,
    credentials: Option<String>,
    /// `secrets` then `secretOptions`: (name, valueFrom, whether it is a log driver option).
    secrets: Vec<(String, String, bool)>,
    /// The capabilities its secrets need of an instance.
    capabilities: Vec<&'static str>,
}

fn ok(check: CheckKind, container: Option<&str>, reason: impl Into<String>) -> CheckResult {
    CheckResult {
        check,
        container: container.map(str::to_string),
        ok: true,
        reason: reason.into(),
        fix: None,
    }
}

fn fail(
    check: CheckKind,
    container: Option<&str>,
    reason: impl Into<String>,
    fix: impl Into<String>,
) -> CheckResult {
    CheckResult {
        check,
        container: container.map(str::to_string),
        ok: false,
        reason: reason.into(),
        fix: Some(fix.into()),
    }
}

/// A check that cannot run because `needs` failed: not passed, with no fix of its own (the
/// fix of `needs` comes first).
fn not_checked(check: CheckKind, container: Option<&str>, needs: CheckKind) -> CheckResult {
    CheckResult {
        check,
        container: container.map(str::to_string),
        ok: false,
        reason: format!("{NOT_CHECKED}{}", needs.as_str()),
        fix: None,
    }
}

/// How the reason of a check that could not run begins.
pub const NOT_CHECKED: &str = "not checked: needs ";

impl CheckResult {
    /// Whether the check did not run (another check it needs failed).
    pub fn skipped(&self) -> bool {
        !self.ok && self.fix.is_none() && self.reason.contains(NOT_CHECKED)
    }
}

/// The execution role's session as the agent's calls carry it.
fn execution_principal(role: &RoleInfo) -> Principal {
    Principal::AssumedRole {
        account: role.account.clone(),
        role_name: role.name.clone(),
        role_id: role.id.clone(),
        role_path: role.path.clone(),
        session_name: TASK_ID.to_string(),
        session_key_id: String::new(),
    }
}

fn pretty(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string())
}

/// The family a task definition's fixes name things after.
fn plan_family(plan: &Plan) -> &str {
    let tail = plan.name.rsplit('/').next().unwrap_or(&plan.name);
    let family = tail.split(':').next().unwrap_or(tail);
    if family.is_empty() { "task" } else { family }
}

/// The name and path (`/` when none) of a role ARN `arn:aws:iam::ACCOUNT:role/PATH/NAME`.
fn role_name_and_path(arn: &str) -> (String, String) {
    let resource = arn.splitn(6, ':').nth(5).unwrap_or("");
    let rest = resource.strip_prefix("role/").unwrap_or(resource);
    match rest.rsplit_once('/') {
        Some((path, name)) => (name.to_string(), format!("/{path}/")),
        None => (rest.to_string(), "/".to_string()),
    }
}

/// The trust policy berth recommends for an execution role of `account`.
pub fn recommended_trust_policy(account: &str, region: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": ECS_TASKS},
            "Action": "sts:AssumeRole",
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": format!("arn:aws:ecs:{region}:{account}:*")}
            }
        }]
    })
}

/// Runs every check.
pub fn diagnose(
    store: &dyn Store,
    root_key: &RootKey,
    opts: &Options,
) -> Result<Report, DoctorError> {
    let mut checks = Vec::new();
    let plan = match load_plan(store, opts) {
        Ok(p) => p,
        Err(reason) => {
            checks.push(fail(
                CheckKind::TaskDefinition,
                None,
                reason,
                "register the task definition, or pass it with --file",
            ));
            return Ok(Report {
                task_definition: match &opts.source {
                    Source::Registered(r) => r.clone(),
                    Source::Document(_) => String::new(),
                },
                checks,
            });
        }
    };
    let d = Doctor {
        store,
        root_key,
        opts,
        definition: &plan.definition,
    };
    let private: Vec<&PlanContainer> = plan
        .containers
        .iter()
        .filter(|c| c.credentials.is_some())
        .collect();
    let with_secrets: Vec<&PlanContainer> = plan
        .containers
        .iter()
        .filter(|c| !c.secrets.is_empty())
        .collect();
    let awslogs = logs::awslogs_containers(&plan.definition);
    // The execution role, once checked (for the registry secret, the secrets or awslogs).
    let mut checked_role: Option<Option<RoleInfo>> = None;
    if private.is_empty() && with_secrets.is_empty() {
        checks.push(ok(
            CheckKind::TaskDefinition,
            None,
            "no container uses repositoryCredentials or secrets",
        ));
    } else {
        let role = d.check_role(&plan, private.is_empty(), &mut checks)?;
        if let Some(given) = &plan.execution_role {
            checks.push(d.check_pass_role(&d.pass_role_target(given)?)?);
        }
        for c in private {
            d.check_container(c, role.as_ref(), &mut checks)?;
        }
        for c in with_secrets {
            d.check_container_secrets(c, role.as_ref(), &mut checks)?;
        }
        checked_role = Some(role);
    }
    if !awslogs.is_empty() {
        let role = match checked_role {
            Some(r) => r,
            None if plan.execution_role.is_some() => {
                let r = d.check_role(&plan, false, &mut checks)?;
                if let Some(given) = &plan.execution_role {
                    checks.push(d.check_pass_role(&d.pass_role_target(given)?)?);
                }
                r
            }
            None => None,
        };
        // A role that is named but missing has failed its own check already.
        if role.is_some() || plan.execution_role.is_none() {
            d.check_awslogs(&awslogs, role.as_ref(), &mut checks)?;
        }
    }
    let mut capabilities: Vec<&'static str> = Vec::new();
    if plan.containers.iter().any(|c| c.credentials.is_some()) {
        capabilities.push(taskdef::PRIVATE_REGISTRY_CAPABILITY);
    }
    for cap in plan.containers.iter().flat_map(|c| c.capabilities.iter()) {
        if !capabilities.contains(cap) {
            capabilities.push(cap);
        }
    }
    checks.push(d.check_placement(&plan, &capabilities)?);
    checks.extend(fields::field_checks(&plan.definition, plan.fargate));
    Ok(Report {
        task_definition: plan.name,
        checks,
    })
}

fn load_plan(store: &dyn Store, opts: &Options) -> Result<Plan, String> {
    match &opts.source {
        Source::Registered(reference) => {
            let ecs = berth_ecs::Ecs::new(store, &opts.account, &opts.region);
            let def: TaskDefinition = ecs.resolve_task_definition(reference).map_err(|e| {
                format!(
                    "task definition {reference} not found in account {} region {}: {e}",
                    opts.account, opts.region
                )
            })?;
            Ok(Plan {
                name: def.task_definition_arn.clone(),
                execution_role: def.execution_role_arn.clone(),
                fargate: def.compatibilities.iter().any(|c| c == "FARGATE"),
                containers: containers_of(&def.container_definitions),
                definition: serde_json::to_value(&def).unwrap_or(Value::Null),
            })
        }
        Source::Document(doc) => {
            let doc = doc.get("taskDefinition").unwrap_or(doc).clone();
            let input: RegisterTaskDefinitionInput = serde_json::from_value(doc)
                .map_err(|e| format!("the task definition file does not parse: {e}"))?;
            let execution_role = match &input.execution_role_arn {
                Some(r) => Some(
                    taskdef::complete_role(&opts.account, r)
                        .map_err(|e| format!("executionRoleArn: {e}"))?,
                ),
                None => None,
            };
            Ok(Plan {
                name: input.family.clone().unwrap_or_default(),
                execution_role,
                fargate: taskdef::compatibilities(&input)
                    .iter()
                    .any(|c| c == "FARGATE"),
                containers: containers_of(&input.container_definitions),
                definition: serde_json::to_value(&input).unwrap_or(Value::Null),
            })
        }
    }
}

fn containers_of(defs: &[berth_ecs::ContainerDefinition]) -> Vec<PlanContainer> {
    defs.iter()
        .map(|c| PlanContainer {
            name: c.name().to_string(),
            image: c.image.clone().unwrap_or_default(),
            credentials: c
                .repository_credentials
                .as_ref()
                .map(|r| r.credentials_parameter.clone()),
            secrets: berth_ecs::secrets::env_secrets(c)
                .into_iter()
                .map(|(n, v)| (n, v, false))
                .chain(
                    berth_ecs::secrets::log_secrets(c)
                        .into_iter()
                        .map(|(n, v)| (n, v, true)),
                )
                .collect(),
            capabilities: berth_ecs::secrets::capabilities(c),
        })
        .collect()
}

struct Doctor<'a> {
    store: &'a dyn Store,
    root_key: &'a RootKey,
    opts: &'a Options,
    /// The definition as JSON (RegisterTaskDefinition's members and more).
    definition: &'a Value,
}

/// RegisterTaskDefinition's members (models/ecs.json), the ones a fix registers again with.
const REGISTER_MEMBERS: &[&str] = &[
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "tags",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
    "enableFaultInjection",
    "trustedExecutionConfiguration",
];

/// Replaces, in every string of `v`, `wrong` by `right` when the string is `wrong` or starts
/// with `wrong:` (a `valueFrom` with selectors).
fn replace_strings(v: &mut Value, wrong: &str, right: &str) {
    match v {
        Value::String(s) => {
            if s == wrong {
                *s = right.to_string();
            } else if let Some(rest) = s.strip_prefix(wrong).filter(|r| r.starts_with(':')) {
                *s = format!("{right}{rest}");
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_strings(x, wrong, right)),
        Value::Object(o) => o
            .values_mut()
            .for_each(|x| replace_strings(x, wrong, right)),
        _ => {}
    }
}

/// A stand-in task id for the task the control plane would start.
const TASK_ID: &str = "00000000000000000000000000000000";

/// The outcome of trying fixes against the real decision.
struct FixSearch {
    identity_needed: bool,
    resource_needed: bool,
    /// The decision with both fixes applied is still a denial (an explicit deny, a boundary).
    still_denied: Option<Decision>,
    /// The identity policy whose Deny decides, when an explicit deny in an identity-based
    /// policy decides.
    denying: Option<Denying>,
}

/// An identity policy of the principal holding a Deny that matches the request.
#[derive(Debug, Clone)]
struct Denying {
    /// `put-role-policy` / `put-user-policy` target for an inline policy, or the managed
    /// policy's ARN.
    holder: Holder,
    /// The inline policy's name, or the managed policy's ARN.
    policy: String,
    managed: bool,
    /// The policy with the denying statements removed (for an inline policy).
    without: Value,
}

impl<'a> Doctor<'a> {
    fn iam(&self) -> Iam<'a> {
        Iam::new(self.store, self.root_key)
    }

    fn task_arn(&self) -> String {
        let cluster = self
            .opts
            .cluster
            .as_deref()
            .unwrap_or(berth_ecs::DEFAULT_CLUSTER);
        format!(
            "arn:aws:ecs:{}:{}:task/{cluster}/{TASK_ID}",
            self.opts.region, self.opts.account
        )
    }

    /// The execution role: named, there, and assumable by ECS. `for_secrets`: only
    /// `secrets` need it (RegisterTaskDefinition's words for those when it is missing).
    fn check_role(
        &self,
        plan: &Plan,
        for_secrets: bool,
        checks: &mut Vec<CheckResult>,
    ) -> Result<Option<RoleInfo>, DoctorError> {
        let kind = CheckKind::ExecutionRole;
        let account = &self.opts.account;
        let trust = sh(&pretty(&recommended_trust_policy(
            account,
            &self.opts.region,
        )));
        let Some(role_arn) = &plan.execution_role else {
            checks.push(fail(
                kind,
                None,
                if for_secrets {
                    berth_ecs::secrets::SECRETS_NEED_ROLE
                } else {
                    taskdef::PRIVATE_REGISTRY_NEEDS_ROLE
                },
                format!(
                    "# an execution role ECS may assume, then register the task definition again with --execution-role-arn arn:aws:iam::{account}:role/{family}-execution-role:\naws iam create-role --role-name {family}-execution-role --assume-role-policy-document {trust}",
                    family = sh(plan_family(plan))
                ),
            ));
            return Ok(None);
        };
        let found = match berth_iam::sts::parse_role_arn(role_arn) {
            Some((acct, name)) => self
                .iam()
                .role_info(&acct, &name)?
                .filter(|r| &r.arn() == role_arn),
            None => None,
        };
        let Some(role) = found else {
            let (name, path) = role_name_and_path(role_arn);
            let path = if path == "/" {
                String::new()
            } else {
                format!(" --path {}", sh(&path))
            };
            checks.push(fail(
                kind,
                None,
                format!("the execution role {role_arn} does not exist"),
                format!(
                    "# the role, with a trust policy that lets ECS assume it:\naws iam create-role --role-name {}{path} --assume-role-policy-document {trust}",
                    sh(&name)
                ),
            ));
            return Ok(None);
        };
        let context = Context::new()
            .with("aws:SourceAccount", account.as_str())
            .with("aws:SourceArn", self.task_arn());
        if berth_iam::sts::service_may_assume(&role, ECS_TASKS, &context) {
            checks.push(ok(kind, None, format!("{ECS_TASKS} may assume {role_arn}")));
        } else {
            checks.push(fail(
                kind,
                None,
                format!(
                    "the trust policy of {role_arn} does not let {ECS_TASKS} assume it (aws:SourceAccount {account}, aws:SourceArn {})",
                    self.task_arn()
                ),
                format!(
                    "# the trust policy that lets ECS assume it (it replaces the current one):\naws iam update-assume-role-policy --role-name {} --policy-document {trust}",
                    sh(&role.name)
                ),
            ));
        }
        Ok(Some(role))
    }

    /// The caller named by `--caller-arn`, as the authoriser would see it.
    fn caller(&self) -> Result<Result<Principal, String>, DoctorError> {
        let account = &self.opts.account;
        let Some(arn) = &self.opts.caller_arn else {
            return Ok(Ok(Principal::Root {
                account: account.clone(),
            }));
        };
        let Ok(parsed) = berth_core::Arn::parse(arn) else {
            return Ok(Err(format!("--caller-arn {arn} is not an ARN")));
        };
        if parsed.service == "iam" && parsed.resource == "root" {
            return Ok(Ok(Principal::Root {
                account: parsed.account,
            }));
        }
        if let Some(rest) = parsed.resource.strip_prefix("user/") {
            let name = rest.rsplit('/').next().unwrap_or(rest);
            return Ok(match self.iam().find_user(&parsed.account, name)? {
                Some(u) => Ok(Principal::User {
                    account: u.account,
                    name: u.name,
                    id: u.id,
                    path: u.path,
                }),
                None => Err(format!("the caller {arn} does not exist")),
            });
        }
        if let Some(rest) = parsed.resource.strip_prefix("assumed-role/")
            && let Some((role_name, session)) = rest.split_once('/')
        {
            return Ok(match self.iam().role_info(&parsed.account, role_name)? {
                Some(r) => Ok(Principal::AssumedRole {
                    account: r.account,
                    role_name: r.name,
                    role_id: r.id,
                    role_path: r.path,
                    session_name: session.to_string(),
                    session_key_id: String::new(),
                }),
                None => Err(format!("the role of the caller {arn} does not exist")),
            });
        }
        Ok(Err(format!(
            "--caller-arn must be an account root, user or assumed-role ARN, not {arn}"
        )))
    }

    /// The request's global condition keys, built as the wire layer builds them (a task's
    /// execution-role session has no fixed session keys and no source address offline).
    fn context(
        &self,
        principal: &Principal,
        region: &str,
        extra: &[(String, Vec<String>)],
    ) -> Context {
        berth_iam::authz::request_context(
            principal,
            region,
            UNIX_EPOCH + Duration::from_secs(self.opts.now),
            None,
            &[],
            extra,
        )
    }

    fn decide(
        &self,
        principal: &Principal,
        docs: &IdentityDocuments,
        q: &Ask<'_>,
        extra_identity: Option<&Value>,
        resource_policy: Option<&str>,
    ) -> Verdict {
        let mut docs = docs.clone();
        if let Some(stmt) = extra_identity {
            docs.policies
                .push(json!({"Version": "2012-10-17", "Statement": [stmt]}).to_string());
        }
        let context = self.context(principal, q.region, &q.context);
        berth_iam::authz::decide(
            &Question {
                principal,
                action: q.action,
                resource: q.resource,
                resource_account: Some(q.owner),
                resource_policy,
                resource_policy_kind: PolicyKind::Resource,
                mode: q.mode,
                context: &context,
            },
            &docs,
        )
    }

    /// Whether `q` is allowed; when not, which of the two fixes it needs.
    fn search(
        &self,
        principal: &Principal,
        q: &Ask<'_>,
        identity_fix: &Value,
        resource_fix: &Value,
    ) -> Result<Option<FixSearch>, DoctorError> {
        let docs = self.iam().identity_policies(principal)?;
        let own = q.owner == principal.account();
        if principal.is_root() && own && q.resource_policy.is_none() {
            return Ok(None);
        }
        if self
            .decide(principal, &docs, q, None, q.resource_policy)
            .is_allowed()
        {
            return Ok(None);
        }
        let patched = with_statement(q.resource_policy, resource_fix);
        let by_identity = self
            .decide(principal, &docs, q, Some(identity_fix), q.resource_policy)
            .is_allowed();
        if by_identity {
            return Ok(Some(FixSearch {
                identity_needed: true,
                resource_needed: false,
                still_denied: None,
                denying: None,
            }));
        }
        let by_resource = self
            .decide(principal, &docs, q, None, patched.as_deref())
            .is_allowed();
        if by_resource {
            return Ok(Some(FixSearch {
                identity_needed: false,
                resource_needed: true,
                still_denied: None,
                denying: None,
            }));
        }
        let both = self.decide(principal, &docs, q, Some(identity_fix), patched.as_deref());
        let still_denied = (!both.is_allowed()).then_some(both.decision);
        let denying = match still_denied {
            Some(Decision::ExplicitDeny {
                policy_type: PolicyType::Identity,
            }) => self.denying_policy(principal, q)?,
            _ => None,
        };
        Ok(Some(FixSearch {
            identity_needed: true,
            resource_needed: true,
            still_denied,
            denying,
        }))
    }

    /// The fix for a failed `q` as commands to paste: see [`render_fix`]. When a Deny in the
    /// resource's policy decides, the policy is given without its denying statements (each
    /// asked alone).
    #[allow(clippy::too_many_arguments)]
    fn fix(
        &self,
        s: &FixSearch,
        principal: &Principal,
        q: &Ask<'_>,
        identity: &Value,
        target: Target<'_>,
        resource: &Value,
    ) -> Result<String, DoctorError> {
        let mut without = None;
        if let Some(Decision::ExplicitDeny {
            policy_type: PolicyType::Resource,
        }) = s.still_denied
            && let Some(Ok(mut doc)) = q.resource_policy.map(serde_json::from_str::<Value>)
        {
            let docs = self.iam().identity_policies(principal)?;
            let statements = match doc.get("Statement") {
                Some(Value::Array(a)) => a.clone(),
                Some(one) => vec![one.clone()],
                None => Vec::new(),
            };
            let version = doc.get("Version").cloned().unwrap_or(json!("2012-10-17"));
            let mut kept: Vec<Value> = statements
                .into_iter()
                .filter(|st| {
                    let alone = json!({"Version": version, "Statement": [st]}).to_string();
                    !matches!(
                        self.decide(principal, &docs, q, Some(identity), Some(&alone))
                            .decision,
                        Decision::ExplicitDeny { .. }
                    )
                })
                .collect();
            if s.resource_needed && !resource.is_null() {
                kept.push(resource.clone());
            }
            doc["Statement"] = Value::Array(kept);
            without = Some(doc);
        }
        Ok(render_fix(
            s,
            &principal.arn(),
            identity,
            target,
            resource,
            without,
        ))
    }

    /// The inline or attached policy of `principal` whose Deny decides `q` (each asked alone),
    /// with its denying statements removed.
    fn denying_policy(
        &self,
        principal: &Principal,
        q: &Ask<'_>,
    ) -> Result<Option<Denying>, DoctorError> {
        let Some(holder) = Holder::of(&principal.arn()) else {
            return Ok(None);
        };
        let iam = self.iam();
        let account = principal.account().to_string();
        let mut candidates: Vec<(String, bool, String)> = Vec::new();
        let all = berth_iam::ListOptions {
            marker: None,
            max_items: 1000,
        };
        match &holder {
            Holder::Role(name) => {
                for p in iam.list_role_policies(&account, name, all)?.items {
                    let (_, doc) = iam.get_role_policy(&account, name, &p)?;
                    candidates.push((p, false, doc.document));
                }
                for a in iam
                    .list_attached_role_policies(&account, name, None, all)?
                    .items
                {
                    let info = iam.get_policy(&account, &a.arn)?;
                    candidates.push((a.arn, true, info.policy.document));
                }
            }
            Holder::User(name) => {
                for p in iam.list_user_policies(&account, name, all)?.items {
                    let (_, doc) = iam.get_user_policy(&account, name, &p)?;
                    candidates.push((p, false, doc.document));
                }
                for a in iam
                    .list_attached_user_policies(&account, name, None, all)?
                    .items
                {
                    let info = iam.get_policy(&account, &a.arn)?;
                    candidates.push((a.arn, true, info.policy.document));
                }
            }
        }
        let denies = |doc: &str| {
            let docs = IdentityDocuments {
                policies: vec![doc.to_string()],
                ..IdentityDocuments::default()
            };
            matches!(
                self.decide(principal, &docs, q, None, None).decision,
                Decision::ExplicitDeny { .. }
            )
        };
        for (policy, managed, document) in candidates {
            if !denies(&document) {
                continue;
            }
            let mut without: Value = serde_json::from_str(&document).unwrap_or(Value::Null);
            let statements = match without.get("Statement") {
                Some(Value::Array(a)) => a.clone(),
                Some(one) => vec![one.clone()],
                None => Vec::new(),
            };
            let version = without
                .get("Version")
                .cloned()
                .unwrap_or(json!("2012-10-17"));
            let kept: Vec<Value> = statements
                .into_iter()
                .filter(|st| {
                    let alone = json!({"Version": version, "Statement": [st]}).to_string();
                    !denies(&alone)
                })
                .collect();
            without["Statement"] = Value::Array(kept);
            return Ok(Some(Denying {
                holder,
                policy,
                managed,
                without,
            }));
        }
        Ok(None)
    }

    /// The ARN RunTask decides `iam:PassRole` on: the role's own ARN as IAM stores it (role
    /// names are unique without regard to case, so `role/ADMIN` names `role/admin`), or the
    /// ARN as written when no such role exists.
    fn pass_role_target(&self, given: &str) -> Result<String, DoctorError> {
        Ok(match berth_iam::sts::parse_role_arn(given) {
            Some((account, name)) => self
                .iam()
                .role_info(&account, &name)?
                .map_or_else(|| given.to_string(), |r| r.arn()),
            None => given.to_string(),
        })
    }

    fn check_pass_role(&self, role_arn: &str) -> Result<CheckResult, DoctorError> {
        let kind = CheckKind::PassRole;
        let principal = match self.caller()? {
            Ok(p) => p,
            Err(reason) => {
                return Ok(fail(
                    kind,
                    None,
                    reason,
                    "pass an existing principal's ARN with --caller-arn",
                ));
            }
        };
        let caller = principal.arn();
        let ask = Ask {
            action: "iam:PassRole",
            resource: role_arn,
            owner: principal.account(),
            region: &self.opts.region,
            resource_policy: None,
            mode: Mode::Standard,
            context: vec![(
                "iam:PassedToService".to_string(),
                vec![ECS_TASKS.to_string()],
            )],
        };
        let stmt = json!({"Effect": "Allow", "Action": "iam:PassRole", "Resource": role_arn});
        Ok(match self.search(&principal, &ask, &stmt, &Value::Null)? {
            None => ok(kind, None, format!("{caller} may iam:PassRole {role_arn}")),
            Some(s) => fail(
                kind,
                None,
                format!("{caller} may not iam:PassRole {role_arn}{}", denied_by(&s)),
                self.fix(&s, &principal, &ask, &stmt, Target::None, &Value::Null)?,
            ),
        })
    }

    fn check_container(
        &self,
        c: &PlanContainer,
        role: Option<&RoleInfo>,
        checks: &mut Vec<CheckResult>,
    ) -> Result<(), DoctorError> {
        let name = Some(c.name.as_str());
        let secret_id = c.credentials.as_deref().unwrap_or_default();
        let Some(secret) = self.check_secret(name, secret_id, role, checks)? else {
            let needs = CheckKind::Secret;
            checks.push(not_checked(CheckKind::GetSecretValue, name, needs));
            checks.push(not_checked(CheckKind::KmsDecrypt, name, needs));
            checks.push(not_checked(CheckKind::SecretValue, name, needs));
            return Ok(());
        };
        let Some(role) = role else {
            // Without a role there is nothing to authorise; the value is still checked.
            let needs = CheckKind::ExecutionRole;
            checks.push(not_checked(CheckKind::GetSecretValue, name, needs));
            checks.push(not_checked(CheckKind::KmsDecrypt, name, needs));
            return self.check_value(c, &secret, checks);
        };
        let principal = execution_principal(role);
        let role_arn = role.arn();
        self.check_get_secret_value(name, &secret, &principal, &role_arn, checks)?;
        // The value is checked even when a permission is missing, so every problem shows at once.
        let current = secret
            .version_with_stage(AWSCURRENT)
            .map(|v| v.id.clone())
            .unwrap_or_default();
        self.check_kms(name, &secret, &current, &principal, &role_arn, checks)?;
        self.check_value(c, &secret, checks)?;
        Ok(())
    }

    /// GetSecretValue of `secret` as the execution role, in the secret's region.
    fn check_get_secret_value(
        &self,
        name: Option<&str>,
        secret: &Secret,
        principal: &Principal,
        role_arn: &str,
        checks: &mut Vec<CheckResult>,
    ) -> Result<(), DoctorError> {
        let ask = Ask {
            action: "secretsmanager:GetSecretValue",
            resource: &secret.arn,
            owner: &secret.account,
            region: &secret.region,
            resource_policy: secret.resource_policy.as_deref(),
            mode: Mode::Standard,
            context: secret.condition_keys(),
        };
        let identity = json!({"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret.arn});
        let resource = json!({"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "secretsmanager:GetSecretValue", "Resource": "*"});
        let kind = CheckKind::GetSecretValue;
        match self.search(principal, &ask, &identity, &resource)? {
            None => {
                checks.push(ok(
                    kind,
                    name,
                    format!(
                        "{role_arn} may secretsmanager:GetSecretValue {}",
                        secret.arn
                    ),
                ));
            }
            Some(s) => {
                checks.push(fail(
                    kind,
                    name,
                    format!(
                        "{role_arn} may not secretsmanager:GetSecretValue {}{}",
                        secret.arn,
                        denied_by(&s)
                    ),
                    self.fix(
                        &s,
                        principal,
                        &ask,
                        &identity,
                        Target::Secret {
                            arn: &secret.arn,
                            policy: secret.resource_policy.as_deref(),
                        },
                        &resource,
                    )?,
                ));
            }
        }
        Ok(())
    }

    /// Each `secrets` and `secretOptions` entry of a container, as the agent would fetch it:
    /// the `valueFrom` parses, the secret resolves, the selected version exists, the execution
    /// role may read it and have it decrypted, and the JSON key is there. The values are never
    /// shown. Parameter Store references are named but not checked.
    fn check_container_secrets(
        &self,
        c: &PlanContainer,
        role: Option<&RoleInfo>,
        checks: &mut Vec<CheckResult>,
    ) -> Result<(), DoctorError> {
        let name = Some(c.name.as_str());
        for (var, from, log) in &c.secrets {
            let what = if *log {
                format!("secretOptions {var}")
            } else {
                format!("secret {var}")
            };
            if berth_ecs::secrets::provider_of(from) == berth_ecs::secrets::PROVIDER_SSM {
                self.check_parameter(name, &what, from, role, checks)?;
                continue;
            }
            let request = match berth_ecs::secrets::parse_asm(from) {
                Ok(r) => r,
                Err(e) => {
                    checks.push(fail(
                        CheckKind::Secret,
                        name,
                        format!(
                            "{what}: the agent would stop the task with \"trying to retrieve secret with value {from} resulted in error: {e}\""
                        ),
                        "write valueFrom as the secret's ARN, or the ARN followed by all three selectors :json-key:version-stage:version-id (each may be empty)",
                    ));
                    continue;
                }
            };
            let first = checks.len();
            let found = self.check_secret(name, &request.secret_id, role, checks)?;
            for r in checks.iter_mut().skip(first) {
                r.reason =
                    format!("{what}: {}", r.reason).replace("credentialsParameter", "valueFrom");
                r.fix = r
                    .fix
                    .take()
                    .map(|f| f.replace("credentialsParameter", "valueFrom"));
            }
            let Some(secret) = found else {
                for kind in [
                    CheckKind::GetSecretValue,
                    CheckKind::KmsDecrypt,
                    CheckKind::SecretValue,
                ] {
                    let mut r = not_checked(kind, name, CheckKind::Secret);
                    r.reason = format!("{what}: {}", r.reason);
                    checks.push(r);
                }
                continue;
            };
            let stage = request.version_stage.as_deref();
            let id = request.version_id.as_deref();
            let version = secret
                .versions
                .iter()
                .find(|v| {
                    let labelled = |l: &str| v.stages.iter().any(|s| s == l);
                    // GetSecretValue: the id and the label both match when both are given;
                    // AWSCURRENT when neither is.
                    match (stage, id) {
                        (None, None) => labelled(AWSCURRENT),
                        (Some(l), None) => labelled(l),
                        (None, Some(i)) => v.id == i,
                        (Some(l), Some(i)) => v.id == i && labelled(l),
                    }
                })
                .map(|v| v.id.clone());
            let Some(version) = version else {
                let wanted = match (stage, id) {
                    (Some(s), Some(i)) => format!("version {i} with staging label {s}"),
                    (Some(s), None) => format!("a version with staging label {s}"),
                    (None, Some(i)) => format!("version {i}"),
                    (None, None) => "an AWSCURRENT version".to_string(),
                };
                checks.push(fail(
                    CheckKind::SecretValue,
                    name,
                    format!(
                        "{what}: {} has no {wanted}: the agent would stop the task with ResourceNotFoundException",
                        secret.arn
                    ),
                    format!(
                        "correct the version selectors of {from}, or give a version the label (aws secretsmanager update-secret-version-stage --secret-id {} --version-stage STAGE --move-to-version-id ID)",
                        secret.arn
                    ),
                ));
                // The role's access to the secret does not depend on the version.
                let first = checks.len();
                match role {
                    Some(role) => {
                        let principal = execution_principal(role);
                        self.check_get_secret_value(
                            name,
                            &secret,
                            &principal,
                            &role.arn(),
                            checks,
                        )?;
                    }
                    None => checks.push(not_checked(
                        CheckKind::GetSecretValue,
                        name,
                        CheckKind::ExecutionRole,
                    )),
                }
                checks.push(not_checked(
                    CheckKind::KmsDecrypt,
                    name,
                    CheckKind::SecretValue,
                ));
                for r in checks.iter_mut().skip(first) {
                    r.reason = format!("{what}: {}", r.reason);
                }
                continue;
            };
            let first = checks.len();
            if let Some(role) = role {
                let principal = execution_principal(role);
                let role_arn = role.arn();
                self.check_get_secret_value(name, &secret, &principal, &role_arn, checks)?;
                self.check_kms(name, &secret, &version, &principal, &role_arn, checks)?;
            } else {
                let needs = CheckKind::ExecutionRole;
                checks.push(not_checked(CheckKind::GetSecretValue, name, needs));
                checks.push(not_checked(CheckKind::KmsDecrypt, name, needs));
            }
            for r in checks.iter_mut().skip(first) {
                r.reason = format!("{what}: {}", r.reason);
            }
            self.check_json_key(name, &what, &secret, &version, &request.json_key, checks)?;
        }
        Ok(())
    }

    /// A Parameter Store reference as the agent would fetch it: the parameter is there (by
    /// name in the task's region, or by ARN in its own), the execution role may
    /// `ssm:GetParameters` it, and a SecureString's key may be used to decrypt it through
    /// Parameter Store. Selectors (`:version`, `:label`) are not checked.
    fn check_parameter(
        &self,
        name: Option<&str>,
        what: &str,
        from: &str,
        role: Option<&RoleInfo>,
        checks: &mut Vec<CheckResult>,
    ) -> Result<(), DoctorError> {
        let caller_account = role
            .map(|r| r.account.clone())
            .unwrap_or_else(|| self.opts.account.clone());
        let (account, region, names) = match from.strip_prefix("arn:") {
            Some(_) => {
                let parts: Vec<&str> = from.splitn(6, ':').collect();
                let resource = parts.get(5).copied().unwrap_or("");
                let bare = resource.strip_prefix("parameter/").unwrap_or(resource);
                (
                    parts.get(4).copied().unwrap_or("").to_string(),
                    berth_ecs::secrets::region_of(from, &self.opts.region),
                    vec![bare.to_string(), format!("/{bare}")],
                )
            }
            None => (
                caller_account.clone(),
                self.opts.region.clone(),
                vec![from.to_string()],
            ),
        };
        let ssm = berth_ssm::Ssm::new(self.store);
        let mut found = None;
        for n in &names {
            if let Some(p) = ssm.get(&account, &region, n).map_err(|e| {
                DoctorError::Ecs(berth_ecs::EcsError::Client(format!("reading {n}: {e}")))
            })? {
                found = Some(p);
                break;
            }
        }
        let Some(p) = found else {
            checks.push(fail(
                CheckKind::Secret,
                name,
                format!(
                    "{what}: no parameter {from} in account {account} region {region}: the agent would stop the task with \"fetching secret data from SSM Parameter Store in {region}: invalid parameters: {from}\""
                ),
                format!(
                    "# the parameter, its value in place of ... (or correct valueFrom):\naws ssm put-parameter --region {region} --name {} --type SecureString --value '...'",
                    sh(names.first().map(String::as_str).unwrap_or(from))
                ),
            ));
            return Ok(());
        };
        let arn = p.arn();
        checks.push(ok(
            CheckKind::Secret,
            name,
            format!(
                "{what}: the parameter {arn} exists ({})",
                p.latest.kind.as_str()
            ),
        ));
        let Some(role) = role else {
            return Ok(());
        };
        let principal = execution_principal(role);
        let role_arn = role.arn();
        let ask = Ask {
            action: "ssm:GetParameters",
            resource: &arn,
            owner: &p.account,
            region: &p.region,
            resource_policy: None,
            mode: Mode::Standard,
            context: Vec::new(),
        };
        let identity = json!({"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": arn});
        match self.search(&principal, &ask, &identity, &Value::Null)? {
            None => checks.push(ok(
                CheckKind::GetSecretValue,
                name,
                format!("{what}: {role_arn} may ssm:GetParameters {arn}"),
            )),
            Some(s) => checks.push(fail(
                CheckKind::GetSecretValue,
                name,
                format!(
                    "{what}: {role_arn} may not ssm:GetParameters {arn}{}",
                    denied_by(&s)
                ),
                self.fix(&s, &principal, &ask, &identity, Target::None, &Value::Null)?,
            )),
        }
        if p.latest.kind != berth_ssm::ParamType::SecureString {
            return Ok(());
        }
        let key_id = p
            .latest
            .key_id
            .clone()
            .unwrap_or_else(|| berth_kms::SSM_ALIAS.to_string());
        let key = match Kms::new(self.store, self.root_key).resolve(
            &p.account,
            &p.region,
            &key_id,
            self.opts.now,
        ) {
            Ok(k) => k,
            Err(e) => {
                checks.push(fail(
                    CheckKind::KmsDecrypt,
                    name,
                    format!("{what}: the KMS key {key_id} of {arn} cannot be used: {e}"),
                    "put the parameter again under an existing, enabled key (aws ssm put-parameter --overwrite --key-id KEY)",
                ));
                return Ok(());
            }
        };
        let via = format!("ssm.{}.amazonaws.com", p.region);
        let encryption_context = berth_control::ssm::encryption_context(&arn);
        let mut context = key.condition_keys(principal.account(), Some(&encryption_context));
        context.push(("kms:ViaService".to_string(), vec![via.clone()]));
        let ask = Ask {
            action: "kms:Decrypt",
            resource: &key.arn,
            owner: &key.account,
            region: &p.region,
            resource_policy: Some(&key.policy),
            mode: Mode::ResourcePolicyRequired,
            context,
        };
        let identity = json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn,
            "Condition": {"StringEquals": {"kms:ViaService": via}}});
        let key_stmt = json!({"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": via}}});
        match self.search(&principal, &ask, &identity, &key_stmt)? {
            None => checks.push(ok(
                CheckKind::KmsDecrypt,
                name,
                format!(
                    "{what}: {role_arn} may kms:Decrypt {} via Parameter Store",
                    key.arn
                ),
            )),
            Some(s) => checks.push(fail(
                CheckKind::KmsDecrypt,
                name,
                format!(
                    "{what}: {role_arn} may not kms:Decrypt {} via Parameter Store{}",
                    key.arn,
                    denied_by(&s)
                ),
                self.fix(
                    &s,
                    &principal,
                    &ask,
                    &identity,
                    Target::Key {
                        arn: &key.arn,
                        policy: &key.policy,
                    },
                    &key_stmt,
                )?,
            )),
        }
        Ok(())
    }

    /// The selected version opened in-process, and its JSON key looked up as the agent looks
    /// it up (never shown).
    fn check_json_key(
        &self,
        name: Option<&str>,
        what: &str,
        secret: &Secret,
        version: &str,
        key: &str,
        checks: &mut Vec<CheckResult>,
    ) -> Result<(), DoctorError> {
        let kind = CheckKind::SecretValue;
        let opened = berth_control::secretsmanager::open_value(
            self.store,
            self.root_key,
            secret,
            version,
            self.opts.now,
            |_, _| Ok(()),
        );
        let value = match opened {
            Ok(v) => v,
            Err(berth_control::Error::Store(e)) => return Err(SecretsError::Store(e).into()),
            Err(_) => {
                checks.push(fail(
                    kind,
                    name,
                    format!(
                        "{what}: version {version} of {} does not decrypt",
                        secret.arn
                    ),
                    "put a new value (aws secretsmanager put-secret-value)",
                ));
                return Ok(());
            }
        };
        let text = match &value {
            SecretValue::String(s) => Some(s.as_str()),
            SecretValue::Binary(_) => None,
        };
        if key.is_empty() {
            checks.push(ok(
                kind,
                name,
                match text {
                    Some(_) => format!("{what}: the container gets the whole SecretString"),
                    None => format!(
                        "{what}: the secret has no SecretString (binary): the container gets an empty value"
                    ),
                },
            ));
            return Ok(());
        }
        match berth_ecs::secrets::json_key_value(text, key) {
            Ok(_) => checks.push(ok(
                kind,
                name,
                format!("{what}: the value has the JSON key {key}"),
            )),
            Err(msg) => checks.push(fail(
                kind,
                name,
                format!("{what}: the agent would stop the task with {msg:?}"),
                format!(
                    "# a JSON object with the key, its value in place of ... (or correct the JSON key in valueFrom):\naws secretsmanager put-secret-value --secret-id {} --secret-string {}",
                    sh(&secret.arn),
                    sh(&json!({ key: "..." }).to_string())
                ),
            )),
        }
        Ok(())
    }

    /// Resolves the reference as the agent and Secrets Manager would.
    fn check_secret(
        &self,
        name: Option<&str>,
        secret_id: &str,
        role: Option<&RoleInfo>,
        checks: &mut Vec<CheckResult>,
    ) -> Result<Option<Secret>, DoctorError> {
        let kind = CheckKind::Secret;
        // The agent calls Secrets Manager in the secret's region (from its ARN), else the
        // task's; as the execution role, whose account is the caller's.
        let caller_account = role
            .map(|r| r.account.clone())
            .unwrap_or_else(|| self.opts.account.clone());
        let parsed = match SecretRef::parse(secret_id) {
            Ok(r) => r,
            Err(_) => {
                checks.push(fail(
                    kind,
                    name,
                    format!("credentialsParameter {secret_id:?} is not a secret name or ARN"),
                    "set credentialsParameter to the secret's full ARN",
                ));
                return Ok(None);
            }
        };
        let region = match &parsed {
            SecretRef::Name(_) => self.opts.region.clone(),
            SecretRef::FullArn { region, .. } | SecretRef::PartialArn { region, .. } => {
                region.clone()
            }
        };
        let sm = Secrets::new(self.store);
        // Secrets Manager's records keep milliseconds.
        let now_ms = self.opts.now.saturating_mul(1000);
        let found = match sm.resolve(&caller_account, &region, secret_id, now_ms) {
            Ok(s) => s,
            Err(SecretsError::NotFound) => {
                let (reason, fix, meant) =
                    self.not_found(&parsed, &caller_account, &region, secret_id)?;
                let fix = match &meant {
                    Some(m) => self.reregister(secret_id, &m.arn).unwrap_or(fix),
                    None => fix,
                };
                checks.push(fail(kind, name, reason, fix));
                // The secret it meant, when there is one: the checks that follow ask about it,
                // so every failure shows at once.
                return Ok(meant.filter(|m| !m.is_deleted()));
            }
            Err(e) => return Err(e.into()),
        };
        if found.is_deleted() {
            checks.push(fail(
                kind,
                name,
                format!("the secret {} is scheduled for deletion", found.arn),
                format!(
                    "aws secretsmanager restore-secret --secret-id {}",
                    found.arn
                ),
            ));
            return Ok(None);
        }
        if found.version_with_stage(AWSCURRENT).is_none() {
            checks.push(fail(
                kind,
                name,
                format!("the secret {} has no AWSCURRENT version", found.arn),
                format!(
                    "# the registry's username and password in place of ...:\naws secretsmanager put-secret-value --secret-id {} --secret-string '{{\"username\":\"...\",\"password\":\"...\"}}'",
                    sh(&found.arn)
                ),
            ));
            return Ok(None);
        }
        let reason = if found.arn == secret_id {
            format!("the secret {secret_id} exists")
        } else {
            format!("{secret_id} resolves to {}", found.arn)
        };
        checks.push(ok(kind, name, reason));
        Ok(Some(found))
    }

    fn not_found(
        &self,
        parsed: &SecretRef,
        caller_account: &str,
        region: &str,
        secret_id: &str,
    ) -> Result<(String, String, Option<Secret>), DoctorError> {
        let sm = Secrets::new(self.store);
        // Secrets Manager's records keep milliseconds.
        let now = self.opts.now.saturating_mul(1000);
        Ok(match parsed {
            SecretRef::PartialArn {
                account, name: n, ..
            } if account != caller_account => {
                let meant = sm.by_name(account, region, n, now)?;
                let full = meant
                    .as_ref()
                    .map(|s| s.arn.clone())
                    .unwrap_or_else(|| format!("{secret_id}-XXXXXX"));
                (
                    format!(
                        "{secret_id} names a secret of account {account}: cross-account secrets must be referenced by full ARN"
                    ),
                    format!("set credentialsParameter to the full ARN {full}"),
                    meant,
                )
            }
            SecretRef::FullArn {
                account, name: n, ..
            } => match sm.by_name(account, region, n, now)? {
                Some(s) => (
                    format!(
                        "{secret_id} does not match the secret's ARN {} (the six-character suffix differs)",
                        s.arn
                    ),
                    format!("set credentialsParameter to {}", s.arn),
                    Some(s),
                ),
                None => (
                    format!("no secret {n} in account {account} region {region}"),
                    "create the secret, or correct credentialsParameter".to_string(),
                    None,
                ),
            },
            SecretRef::PartialArn {
                account, name: n, ..
            } => (
                format!("no secret {n} in account {account} region {region}"),
                "create the secret, or correct credentialsParameter".to_string(),
                None,
            ),
            SecretRef::Name(n) => (
                format!("no secret {n} in account {caller_account} region {region}"),
                "create the secret, or correct credentialsParameter (another account's secret needs its full ARN)".to_string(),
                None,
            ),
        })
    }

    /// The command registering the task definition again with every reference `wrong` (a
    /// `credentialsParameter` or a `valueFrom`'s secret part) replaced by `right`; `None` for a
    /// definition that is not registered.
    fn reregister(&self, wrong: &str, right: &str) -> Option<String> {
        if !matches!(self.opts.source, Source::Registered(_)) {
            return None;
        }
        let def = self.definition.as_object()?;
        let mut input = serde_json::Map::new();
        for member in REGISTER_MEMBERS {
            if let Some(v) = def.get(*member).filter(|v| !v.is_null()) {
                input.insert((*member).to_string(), v.clone());
            }
        }
        let mut input = Value::Object(input);
        replace_strings(&mut input, wrong, right);
        Some(format!(
            "# the task definition registered again with {right}; run the new revision:\naws ecs register-task-definition --region {} --cli-input-json {}",
            sh(&self.opts.region),
            sh(&pretty(&input))
        ))
    }

    /// The key that decrypts a version of the secret, found as Secrets Manager finds it.
    fn key_of(&self, secret: &Secret, version_id: &str) -> Result<Option<Key>, DoctorError> {
        if secret.version(version_id).is_none() {
            return Ok(None);
        }
        let sealed = Secrets::new(self.store).sealed_value(secret, version_id)?;
        let blob = sealed.data_key_blob()?;
        let key =
            Kms::new(self.store, self.root_key).key_of_blob(&secret.region, &blob, self.opts.now);
        Ok(key.ok())
    }

    fn check_kms(
        &self,
        name: Option<&str>,
        secret: &Secret,
        version_id: &str,
        principal: &Principal,
        role_arn: &str,
        checks: &mut Vec<CheckResult>,
    ) -> Result<bool, DoctorError> {
        let kind = CheckKind::KmsDecrypt;
        let Some(key) = self.key_of(secret, version_id)? else {
            checks.push(fail(
                kind,
                name,
                format!("the KMS key of {} is gone: Secrets Manager cannot decrypt it", secret.arn),
                "put a new value under an existing key (aws secretsmanager update-secret --kms-key-id ...)",
            ));
            return Ok(false);
        };
        if !key.enabled() {
            checks.push(fail(
                kind,
                name,
                format!("the KMS key {} is {}", key.arn, key.state.as_str()),
                if key.state == berth_kms::KeyState::PendingDeletion {
                    format!(
                        "# cancel its deletion (the key is then Disabled), and enable it:\naws kms cancel-key-deletion --key-id {arn}\naws kms enable-key --key-id {arn}",
                        arn = sh(&key.arn)
                    )
                } else {
                    format!("aws kms enable-key --key-id {}", sh(&key.arn))
                },
            ));
            return Ok(false);
        }
        let via = format!("secretsmanager.{}.amazonaws.com", secret.region);
        // As Secrets Manager asks KMS for the data key: the secret's ARN and version as the
        // encryption context, and the service as kms:ViaService.
        let encryption_context =
            berth_control::secretsmanager::encryption_context(&secret.arn, version_id);
        let mut context = key.condition_keys(principal.account(), Some(&encryption_context));
        context.push(("kms:ViaService".to_string(), vec![via.clone()]));
        let ask = Ask {
            action: "kms:Decrypt",
            resource: &key.arn,
            owner: &key.account,
            region: &secret.region,
            resource_policy: Some(&key.policy),
            mode: Mode::ResourcePolicyRequired,
            context,
        };
        let identity = json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn,
            "Condition": {"StringEquals": {"kms:ViaService": via}}});
        let key_stmt = json!({"Effect": "Allow", "Principal": {"AWS": role_arn}, "Action": "kms:Decrypt", "Resource": "*",
            "Condition": {"StringEquals": {"kms:ViaService": via}}});
        let managed = key.manager == KeyManager::Aws;
        Ok(match self.search(principal, &ask, &identity, &key_stmt)? {
            None => {
                checks.push(ok(
                    kind,
                    name,
                    if managed {
                        format!(
                            "the secret uses the AWS managed key {}: no kms permission is needed",
                            berth_kms::SECRETS_MANAGER_ALIAS
                        )
                    } else {
                        format!("{role_arn} may kms:Decrypt {} via Secrets Manager", key.arn)
                    },
                ));
                true
            }
            Some(_) if managed => {
                checks.push(fail(
                    kind,
                    name,
                    format!(
                        "{} is under the AWS managed key {}, which only its own account may use: cross-account reads never work with it",
                        secret.arn,
                        berth_kms::SECRETS_MANAGER_ALIAS
                    ),
                    "re-encrypt the secret under a customer-managed key (aws secretsmanager update-secret --kms-key-id KEY) whose key policy allows the role",
                ));
                false
            }
            Some(s) => {
                checks.push(fail(
                    kind,
                    name,
                    format!(
                        "{role_arn} may not kms:Decrypt {} via Secrets Manager{}: the agent would get AccessDeniedException: Access to KMS is not allowed",
                        key.arn,
                        denied_by(&s)
                    ),
                    self.fix(
                        &s,
                        principal,
                        &ask,
                        &identity,
                        Target::Key {
                            arn: &key.arn,
                            policy: &key.policy,
                        },
                        &key_stmt,
                    )?,
                ));
                false
            }
        })
    }

    /// Decrypts the AWSCURRENT value in-process and parses it as the agent does.
    fn check_value(
        &self,
        c: &PlanContainer,
        secret: &Secret,
        checks: &mut Vec<CheckResult>,
    ) -> Result<(), DoctorError> {
        let kind = CheckKind::SecretValue;
        let name = Some(c.name.as_str());
        let value = match self.open_current(secret)? {
            Some(v) => v,
            None => {
                checks.push(fail(
                    kind,
                    name,
                    format!("the AWSCURRENT value of {} does not decrypt", secret.arn),
                    "put a new value (aws secretsmanager put-secret-value)",
                ));
                return Ok(());
            }
        };
        let shape = "{\"username\": \"...\", \"password\": \"...\"}";
        let parsed = match &value {
            SecretValue::String(s) => berth_ecs::asm::parse_secret(Some(s.as_str())),
            SecretValue::Binary(_) => berth_ecs::asm::parse_secret(None),
        };
        match parsed {
            Ok(auth) => {
                checks.push(ok(
                    kind,
                    name,
                    "the AWSCURRENT value has a username and a password",
                ));
                if self.opts.registry_check {
                    checks.push(registry::check_trusting(
                        &c.name,
                        &c.image,
                        &auth,
                        self.opts.ca_file.as_deref(),
                    ));
                }
            }
            Err(msg) => {
                let field = match msg {
                    m if m == berth_ecs::asm::EMPTY_USERNAME => {
                        "the secret has no non-empty string \"username\" field".to_string()
                    }
                    m if m == berth_ecs::asm::EMPTY_PASSWORD => {
                        "the secret has no non-empty string \"password\" field".to_string()
                    }
                    m if m == berth_ecs::asm::EMPTY_VALUE => {
                        "the secret has no SecretString (empty or binary)".to_string()
                    }
                    _ => "the secret is not a JSON object of strings".to_string(),
                };
                checks.push(fail(
                    kind,
                    name,
                    format!("{field}: the agent would stop the task with {msg:?}"),
                    format!(
                        "# the registry's username and password in place of ... (keys in any case; string values):\naws secretsmanager put-secret-value --secret-id {} --secret-string '{shape}'",
                        sh(&secret.arn)
                    ),
                ));
            }
        }
        Ok(())
    }

    fn open_current(&self, secret: &Secret) -> Result<Option<SecretValue>, DoctorError> {
        let Some(version) = secret.version_with_stage(AWSCURRENT) else {
            return Ok(None);
        };
        // The doctor reads the data directory as its owner: no caller to authorise.
        let opened = berth_control::secretsmanager::open_value(
            self.store,
            self.root_key,
            secret,
            &version.id,
            self.opts.now,
            |_, _| Ok(()),
        );
        match opened {
            Ok(value) => Ok(Some(value)),
            Err(berth_control::Error::Store(e)) => Err(SecretsError::Store(e).into()),
            Err(_) => Ok(None),
        }
    }

    fn check_placement(
        &self,
        plan: &Plan,
        capabilities: &[&str],
    ) -> Result<CheckResult, DoctorError> {
        let kind = CheckKind::Placement;
        let ecs = berth_ecs::Ecs::new(self.store, &self.opts.account, &self.opts.region);
        let clusters: Vec<String> = match &self.opts.cluster {
            Some(c) => vec![c.clone()],
            None => {
                let mut out = Vec::new();
                let mut token: Option<String> = None;
                loop {
                    let (arns, next) = ecs.list_clusters(token.as_deref(), Some(100))?;
                    out.extend(arns);
                    match next {
                        Some(t) => token = Some(t),
                        None => break,
                    }
                }
                out
            }
        };
        let mut seen_active = 0usize;
        let mut seen_connected = 0usize;
        for cluster in &clusters {
            let mut token: Option<String> = None;
            loop {
                let Ok((arns, next)) = ecs.list_container_instances(
                    Some(cluster),
                    Some("ACTIVE"),
                    token.as_deref(),
                    Some(100),
                ) else {
                    break;
                };
                if !arns.is_empty() {
                    let (instances, _) =
                        ecs.describe_container_instances(Some(cluster), &arns, self.opts.now)?;
                    for i in instances.iter().filter(|i| i.status == "ACTIVE") {
                        seen_active += 1;
                        if !i.agent_connected {
                            continue; // placement passes it over (AGENT)
                        }
                        seen_connected += 1;
                        if capabilities
                            .iter()
                            .all(|cap| i.attributes.iter().any(|a| a.name == *cap))
                        {
                            return Ok(ok(
                                kind,
                                None,
                                format!(
                                    "container instance {} can run it",
                                    i.container_instance_arn
                                ),
                            ));
                        }
                    }
                }
                match next {
                    Some(t) => token = Some(t),
                    None => break,
                }
            }
        }
        if plan.fargate {
            return Ok(ok(
                kind,
                None,
                "the task definition is FARGATE-compatible: run it with --launch-type FARGATE --platform-version 1.4.0 (1.2.0 or later)",
            ));
        }
        let scope = match &self.opts.cluster {
            Some(c) => format!("cluster {c}"),
            None => format!("account {} region {}", self.opts.account, self.opts.region),
        };
        let reason = if seen_active == 0 {
            format!(
                "no ACTIVE container instance in {scope}, and the task definition is not FARGATE-compatible"
            )
        } else if seen_connected == 0 {
            format!(
                "no ACTIVE container instance in {scope} has a connected agent (none polled in the last {} s), and the task definition is not FARGATE-compatible",
                berth_ecs::AGENT_CONNECTED_SECS
            )
        } else {
            format!(
                "no ACTIVE container instance in {scope} advertises {}, and the task definition is not FARGATE-compatible",
                capabilities.join(", ")
            )
        };
        Ok(fail(
            kind,
            None,
            reason,
            "start an agent (berth agent --endpoint URL --cluster NAME, or berth up), or make the task FARGATE-compatible (networkMode awsvpc, requiresCompatibilities FARGATE and a Fargate cpu/memory size)",
        ))
    }
}

/// One authorisation question, as a handler would state it.
struct Ask<'a> {
    action: &'a str,
    resource: &'a str,
    owner: &'a str,
    region: &'a str,
    resource_policy: Option<&'a str>,
    mode: Mode,
    context: Vec<(String, Vec<String>)>,
}

/// `policy` with `stmt` appended to its statements (a new document when there is none).
fn with_statement(policy: Option<&str>, stmt: &Value) -> Option<String> {
    if stmt.is_null() {
        return policy.map(str::to_string);
    }
    let mut doc = match policy.map(serde_json::from_str::<Value>) {
        Some(Ok(v)) => v,
        _ => json!({"Version": "2012-10-17", "Statement": []}),
    };
    let stmts = match doc.get_mut("Statement") {
        Some(Value::Array(a)) => {
            a.push(stmt.clone());
            return Some(doc.to_string());
        }
        Some(single) => vec![single.clone(), stmt.clone()],
        None => vec![stmt.clone()],
    };
    doc["Statement"] = Value::Array(stmts);
    Some(doc.to_string())
}

/// "a" or "an" before `phrase`.
fn article(phrase: &str) -> &'static str {
    if phrase.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

fn denied_by(s: &FixSearch) -> String {
    match (s.identity_needed, s.resource_needed) {
        (_, _) if s.still_denied.is_some() => match s.still_denied {
            Some(Decision::ExplicitDeny { policy_type }) => match &s.denying {
                Some(d) => format!(": an explicit deny in {} refuses it", d.describe()),
                None => format!(
                    ": an explicit deny in {} {} refuses it",
                    article(policy_type.phrase()),
                    policy_type.phrase()
                ),
            },
            Some(Decision::ImplicitDeny { missing }) => {
                format!(": the {} does not allow it", missing.phrase())
            }
            _ => String::new(),
        },
        (true, false) => ": no identity-based policy allows it".to_string(),
        (false, true) => ": the resource-based policy does not allow it".to_string(),
        _ => {
            ": neither an identity-based policy nor the resource-based policy allows it".to_string()
        }
    }
}

/// `word` quoted for a POSIX shell when it needs it.
fn sh(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// Whose identity policies a fix goes into.
#[derive(Debug, Clone, PartialEq)]
enum Holder {
    Role(String),
    User(String),
}

impl Holder {
    /// The role of a role or assumed-role ARN, the user of a user ARN; `None` for a root.
    fn of(arn: &str) -> Option<Holder> {
        let resource = arn.splitn(6, ':').nth(5)?;
        if let Some(rest) = resource.strip_prefix("role/") {
            return rest.rsplit('/').next().map(|n| Holder::Role(n.to_string()));
        }
        if let Some(rest) = resource.strip_prefix("assumed-role/") {
            return rest.split('/').next().map(|n| Holder::Role(n.to_string()));
        }
        if let Some(rest) = resource.strip_prefix("user/") {
            return rest.rsplit('/').next().map(|n| Holder::User(n.to_string()));
        }
        None
    }

    fn kind_and_name(&self) -> (&'static str, &str) {
        match self {
            Holder::Role(n) => ("role", n),
            Holder::User(n) => ("user", n),
        }
    }

    /// The command that puts `doc` as the inline policy `policy_name`.
    fn put(&self, policy_name: &str, doc: &Value) -> String {
        let (kind, name) = self.kind_and_name();
        format!(
            "aws iam put-{kind}-policy --{kind}-name {} --policy-name {} --policy-document {}",
            sh(name),
            sh(policy_name),
            sh(&pretty(doc))
        )
    }
}

impl Denying {
    fn describe(&self) -> String {
        let (kind, name) = self.holder.kind_and_name();
        if self.managed {
            format!(
                "the managed policy {} attached to {kind} {name}",
                self.policy
            )
        } else {
            format!("the inline policy {} of {kind} {name}", self.policy)
        }
    }
}

/// A policy name of the doctor's own for `stmt`: `berth-doctor-<action>-<8 hex digits of a
/// digest of the statement>`, so it replaces no policy of the user's and putting the same fix
/// twice changes nothing.
fn fix_policy_name(stmt: &Value) -> String {
    let action = match stmt.get("Action") {
        Some(Value::String(a)) => a.rsplit(':').next().unwrap_or(a).to_string(),
        _ => "access".to_string(),
    };
    let digest = berth_core::mac::hmac_sha256(b"berth-doctor", stmt.to_string().as_bytes());
    let hex: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("berth-doctor-{action}-{hex}")
}

/// The command giving the principal `principal_arn` the identity statement `stmt`, as an inline
/// policy of its own.
fn identity_command(principal_arn: &str, stmt: &Value) -> String {
    match Holder::of(principal_arn) {
        Some(h) => {
            let (kind, name) = h.kind_and_name();
            format!(
                "# a policy of its own for {kind} {name} (it replaces none of its policies):\n{}",
                h.put(
                    &fix_policy_name(stmt),
                    &json!({"Version": "2012-10-17", "Statement": [stmt]})
                )
            )
        }
        None => format!(
            "# {principal_arn} takes no identity policies: make the call as a user or role with:\n# {}",
            stmt
        ),
    }
}

/// Where a resource-side fix goes.
#[derive(Debug, Clone, Copy)]
enum Target<'a> {
    None,
    Secret {
        arn: &'a str,
        policy: Option<&'a str>,
    },
    Key {
        arn: &'a str,
        policy: &'a str,
    },
}

impl Target<'_> {
    fn name(&self) -> String {
        match self {
            Target::None => String::new(),
            Target::Secret { arn, .. } => format!("the resource policy of {arn}"),
            Target::Key { arn, .. } => format!("the key policy of {arn}"),
        }
    }

    /// The command putting `doc` as the resource's whole policy.
    fn put(&self, doc: &Value) -> String {
        match self {
            Target::None => String::new(),
            Target::Secret { arn, .. } => format!(
                "aws secretsmanager put-resource-policy --secret-id {} --resource-policy {}",
                sh(arn),
                sh(&pretty(doc))
            ),
            Target::Key { arn, .. } => format!(
                "aws kms put-key-policy --key-id {} --policy-name default --policy {}",
                sh(arn),
                sh(&pretty(doc))
            ),
        }
    }

    fn policy(&self) -> Option<&str> {
        match self {
            Target::None => None,
            Target::Secret { policy, .. } => *policy,
            Target::Key { policy, .. } => Some(policy),
        }
    }

    /// The command adding `stmt` to the resource's policy (its current statements kept).
    fn add(&self, stmt: &Value) -> String {
        let doc = with_statement(self.policy(), stmt)
            .and_then(|d| serde_json::from_str::<Value>(&d).ok())
            .unwrap_or(Value::Null);
        format!(
            "# {}: the current policy with the statement added:\n{}",
            self.name(),
            self.put(&doc)
        )
    }
}

/// The fix, as commands to paste (with `#` comments), for an identity-only question asked
/// without an [`Ask`] (no Deny named).
#[allow(dead_code)]
fn fixes(
    s: &FixSearch,
    role_arn: &str,
    identity: &Value,
    resource_name: &str,
    resource: &Value,
) -> String {
    let _ = (resource_name, resource);
    render_fix(s, role_arn, identity, Target::None, &Value::Null, None)
}

/// The fix for `s`: the identity statement's command, the resource policy's command, or the
/// command removing the Deny that decides; `resource_without_deny` is the resource policy
/// with its denying statements removed.
fn render_fix(
    s: &FixSearch,
    principal_arn: &str,
    identity: &Value,
    target: Target<'_>,
    resource: &Value,
    resource_without_deny: Option<Value>,
) -> String {
    let mut out = Vec::new();
    match s.still_denied {
        Some(Decision::ExplicitDeny {
            policy_type: PolicyType::Identity,
        }) => {
            return match &s.denying {
                Some(d) if d.managed => {
                    let (kind, name) = d.holder.kind_and_name();
                    format!(
                        "# {} holds a Deny that matches: detach it (or edit it to narrow the Deny):\naws iam detach-{kind}-policy --{kind}-name {} --policy-arn {}",
                        d.describe(),
                        sh(name),
                        sh(&d.policy)
                    )
                }
                Some(d) => format!(
                    "# {} holds a Deny that matches: the policy without that statement:\n{}",
                    d.describe(),
                    d.holder.put(&d.policy, &d.without)
                ),
                None => "# remove or narrow the Deny statement in the identity-based policy that matches this request".to_string(),
            };
        }
        Some(Decision::ExplicitDeny {
            policy_type: PolicyType::Resource,
        }) => {
            return match resource_without_deny {
                Some(doc) => format!(
                    "# {} holds a Deny that matches: the policy without that statement{}:\n{}",
                    target.name(),
                    if s.resource_needed { ", and with the statement allowing it" } else { "" },
                    target.put(&doc)
                ),
                None => "# remove or narrow the Deny statement in the resource-based policy that matches this request".to_string(),
            };
        }
        Some(Decision::ExplicitDeny { policy_type }) => {
            return format!(
                "# remove or narrow the Deny statement in the {} that matches this request",
                policy_type.phrase()
            );
        }
        _ => {}
    }
    if s.identity_needed {
        out.push(identity_command(principal_arn, identity));
    }
    if s.resource_needed && !matches!(target, Target::None) {
        out.push(target.add(resource));
    }
    if let Some(Decision::ImplicitDeny { missing }) = s.still_denied {
        out.push(format!(
            "# and make the {} of {principal_arn} allow it as well",
            missing.phrase()
        ));
    }
    out.join("\n")
}

#[cfg(test)]
mod tests;
