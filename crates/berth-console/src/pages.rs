//! The console's pages. Each one asks the application (through [`Ops`]) as the signed-in
//! principal and renders what comes back with the [`views`] templates; a refusal is shown in
//! the page in AWS's words, in place of the data.

use std::net::IpAddr;
use std::time::Instant;

use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use berth_control::keys::SignInFailure;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::error::ConsoleError;
use crate::extract::{self, Signed};
use crate::ops::{self, Ops};
use crate::views::{self, TextInput, Who, url};
use crate::{ConsoleState, html_response, plain, redirect, session};

/// AWS console's reason for a task stopped by hand.
const STOP_REASON: &str = "Task stopped by user";

const SAMPLE_TASK_DEFINITION: &str = r#"{
  "family": "private-app",
  "executionRoleArn": "ecsTaskExecutionRole",
  "networkMode": "awsvpc",
  "requiresCompatibilities": ["FARGATE"],
  "cpu": "256",
  "memory": "512",
  "containerDefinitions": [{
    "name": "app",
    "image": "127.0.0.1:5000/app:1",
    "essential": true,
    "repositoryCredentials": {
      "credentialsParameter": "arn:aws:secretsmanager:us-east-1:000000000000:secret:registry-creds-AbCdEf"
    }
  }]
}"#;

// ---- forms and queries ----------------------------------------------------------------------

/// The sign-in form. The secret is wiped from memory when the form is dropped.
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct SignInForm {
    /// The pre-session token (double submit with the sign-in cookie).
    pub signin: String,
    pub access_key_id: String,
    pub secret: Zeroizing<String>,
    pub region: String,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterForm {
    pub cluster_name: String,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RegisterForm {
    pub task_definition: String,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct RunForm {
    pub cluster: String,
    pub task_definition: String,
    pub launch_type: String,
    pub subnet: String,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct StopForm {
    pub cluster: String,
    pub task: String,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskDefinitionQuery {
    pub task_definition: Option<String>,
}

impl TaskDefinitionQuery {
    /// The task definition asked for; an empty value is none.
    pub fn task_definition(&self) -> Option<&str> {
        self.task_definition.as_deref().filter(|v| !v.is_empty())
    }
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TasksQuery {
    pub cluster: Option<String>,
    pub task_definition: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServicesQuery {
    pub cluster: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ServiceQuery {
    pub cluster: String,
    pub service: String,
}

/// How many of a service's events its page shows (a service keeps 100).
const SERVICE_EVENTS: usize = 20;

#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct TaskLogsQuery {
    pub cluster: String,
    pub task: String,
    pub container: String,
    /// GetLogEvents' token of the older lines.
    pub token: Option<String>,
}

/// How many lines a log page shows.
const LOG_PAGE_LINES: i64 = 50;

/// An awslogs container's group, region (when set) and stream prefix (when set), from a task
/// definition as DescribeTaskDefinition answers it.
fn awslogs_of(
    definition: &Value,
    container: &str,
) -> Option<(String, Option<String>, Option<String>)> {
    let c = definition
        .get("containerDefinitions")?
        .as_array()?
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(container))?;
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
    Some((
        opt("awslogs-group")?,
        opt("awslogs-region"),
        opt("awslogs-stream-prefix"),
    ))
}

/// What the Tasks page shows and pre-fills: from its query, or from the form that failed.
#[derive(Default)]
pub struct TasksView {
    pub cluster: Option<String>,
    pub task_definition: String,
    pub launch_type: String,
    pub subnet: String,
}

fn non_empty(s: &str) -> Option<String> {
    Some(s).filter(|s| !s.is_empty()).map(str::to_string)
}

impl From<TasksQuery> for TasksView {
    fn from(q: TasksQuery) -> TasksView {
        TasksView {
            cluster: q.cluster.as_deref().and_then(non_empty),
            task_definition: q.task_definition.unwrap_or_default(),
            ..TasksView::default()
        }
    }
}

// ---- helpers --------------------------------------------------------------------------------

/// `family:revision` of a task definition ARN.
fn short_def(arn: &str) -> &str {
    arn.rsplit_once('/').map(|(_, r)| r).unwrap_or(arn)
}

/// The last path segment of an ARN (a task's id).
fn short_id(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// Whether `s` is a Secrets Manager secret's full ARN: the ARN with the secret's name and the
/// hyphen and 6 characters that Secrets Manager appends.
pub(crate) fn is_full_secret_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(7, ':').collect();
    let [
        "arn",
        partition,
        "secretsmanager",
        region,
        account,
        "secret",
        name,
    ] = parts.as_slice()
    else {
        return false;
    };
    !partition.is_empty()
        && berth_core::ids::is_region(region)
        && berth_core::ids::is_account_id(account)
        && name.rsplit_once('-').is_some_and(|(n, suffix)| {
            !n.is_empty() && suffix.len() == 6 && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
        })
}

/// The console's own rule on top of RegisterTaskDefinition's: repository credentials by full
/// secret ARN only, as the AWS console requires.
fn check_full_secret_arns(input: &Value) -> Result<(), ConsoleError> {
    let containers = input
        .get("containerDefinitions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for c in containers {
        if let Some(p) = c.pointer("/repositoryCredentials/credentialsParameter") {
            let given = p.as_str().unwrap_or("");
            if !is_full_secret_arn(given) {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("");
                return Err(ConsoleError::secret_not_full_arn(name, given));
            }
        }
    }
    Ok(())
}

/// A pasted task definition: a JSON object whose repository credentials name secrets by full
/// ARN.
fn parse_task_definition(document: &str) -> Result<Value, ConsoleError> {
    let v = serde_json::from_str::<Value>(document)
        .map_err(|e| ConsoleError::bad_json(&e.to_string()))?;
    if !v.is_object() {
        return Err(ConsoleError::bad_json("expected an object"));
    }
    check_full_secret_arns(&v)?;
    Ok(v)
}

/// A page being built: its parts and the status of the worst thing that went wrong.
struct Out {
    parts: Vec<Markup>,
    status: StatusCode,
}

impl Out {
    fn new() -> Out {
        Out {
            parts: Vec::new(),
            status: StatusCode::OK,
        }
    }

    fn error(&mut self, e: &ConsoleError) {
        self.parts.push(views::error_box(&e.code, &e.message));
        if self.status == StatusCode::OK {
            self.status = e.status;
        }
    }

    fn push(&mut self, m: Markup) {
        self.parts.push(m);
    }
}

// ---- the pages ------------------------------------------------------------------------------

pub(crate) struct Pages<'a> {
    st: &'a ConsoleState,
    who: &'a Signed,
    ops: Ops<'a>,
}

impl<'a> Pages<'a> {
    pub fn new(st: &'a ConsoleState, who: &'a Signed) -> Pages<'a> {
        Pages {
            st,
            who,
            ops: Ops::new(&st.control, &who.caller),
        }
    }

    fn render(&self, title: &str, active: &str, out: Out) -> Response {
        let body = html! {
            @if let Some(f) = &self.who.session.flash {
                (views::notice_box(f))
            }
            p.muted { "Account " (self.who.account()) " · region " (self.who.region()) }
            @for part in &out.parts {
                (part)
            }
        };
        let principal = self.who.principal_arn();
        let who = Who {
            principal: &principal,
            csrf: self.who.csrf(),
        };
        html_response(out.status, views::page(title, active, Some(who), body), &[])
    }

    fn flash_and_redirect(&self, message: String, location: &str) -> Response {
        self.st.sessions.flash(&self.who.id, message);
        redirect(location, &[])
    }

    pub fn not_found(&self) -> Response {
        let mut out = Out::new();
        out.status = StatusCode::NOT_FOUND;
        out.push(html! {
            p { "There is no such page. " a href="/console" { "Go to the overview" } "." }
        });
        self.render("Not found", "", out)
    }

    // ---- clusters ---------------------------------------------------------------------------

    /// The clusters as a table, or the refusal.
    fn cluster_table(&self, out: &mut Out) {
        let arns = match self.ops.list_clusters() {
            Ok(a) => a,
            Err(e) => return out.error(&e),
        };
        if arns.is_empty() {
            out.push(html! {
                p { "No clusters yet. The " code { "default" } " cluster is made on first use." }
            });
            return;
        }
        let clusters = match self.ops.describe_clusters(&arns) {
            Ok(c) => c,
            Err(e) => return out.error(&e),
        };
        let count = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
        let rows: Vec<Vec<Markup>> = clusters
            .iter()
            .map(|c| {
                vec![
                    html! { a href={ "/console/tasks?cluster=" (url(&c.name)) } { (c.name) } },
                    html! { a href={ "/console/services?cluster=" (url(&c.name)) } { "Services" } },
                    html! { (c.status) },
                    html! { (count(c.running_tasks)) },
                    html! { (count(c.pending_tasks)) },
                    html! { (count(c.container_instances)) },
                    html! { (c.arn) },
                ]
            })
            .collect();
        out.push(views::table(
            "Clusters",
            &[
                "Name",
                "Services",
                "Status",
                "Running tasks",
                "Pending tasks",
                "Container instances",
                "ARN",
            ],
            &rows,
        ));
    }

    pub fn overview(&self) -> Response {
        let mut out = Out::new();
        out.push(html! { h2 { "Clusters" } });
        self.cluster_table(&mut out);
        out.push(html! {
            h2 { "Next steps" }
            ul {
                li { a href="/console/task-definitions" { "Register a task definition" } " from JSON" }
                li { a href="/console/tasks" { "Run and stop tasks" } ", and see why a task stopped" }
                li { a href="/console/secrets" { "Secrets" } ": metadata only, never values" }
                li { a href="/console/doctor" { "Doctor" } ": would a task definition start, and the fix when not" }
            }
        });
        self.render("Overview", "/console", out)
    }

    pub fn clusters(&self, error: Option<&ConsoleError>, name: &str) -> Response {
        let mut out = Out::new();
        if let Some(e) = error {
            out.error(e);
        }
        self.cluster_table(&mut out);
        out.push(html! {
            h2 { "Create a cluster" }
            form.card method="post" action="/console/clusters" {
                (views::csrf_field(self.who.csrf()))
                (TextInput::new("clusterName", "Cluster name", name).required().render())
                button type="submit" { "Create cluster" }
            }
        });
        self.render("Clusters", "/console/clusters", out)
    }

    pub fn create_cluster(&self, form: &ClusterForm) -> Response {
        let name = form.cluster_name.trim();
        match self.ops.create_cluster(name) {
            Ok(created) => {
                self.flash_and_redirect(format!("cluster {created} created"), "/console/clusters")
            }
            Err(e) => self.clusters(Some(&e), name),
        }
    }

    // ---- task definitions -------------------------------------------------------------------

    pub fn task_definitions(&self, error: Option<&ConsoleError>, document: &str) -> Response {
        let mut out = Out::new();
        if let Some(e) = error {
            out.error(e);
        }
        match self.ops.list_task_definitions() {
            Ok(arns) if arns.is_empty() => out.push(html! { p { "No task definitions yet." } }),
            Ok(arns) => {
                // Families in first-seen order (newest revision first).
                let mut families: Vec<(&str, Vec<&str>)> = Vec::new();
                for a in &arns {
                    let fam = short_def(a).rsplit_once(':').map_or(a.as_str(), |(f, _)| f);
                    match families.iter_mut().find(|(f, _)| *f == fam) {
                        Some((_, revs)) => revs.push(a),
                        None => families.push((fam, vec![a])),
                    }
                }
                let rows: Vec<Vec<Markup>> = families
                    .iter()
                    .map(|(fam, revs)| {
                        let latest = url(revs.first().copied().unwrap_or_default());
                        vec![
                            html! { (fam) },
                            html! {
                                @for (i, a) in revs.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    a href={ "/console/task-definition?taskDefinition=" (url(a)) } { (short_def(a)) }
                                }
                            },
                            html! {
                                a href={ "/console/tasks?taskDefinition=" (latest) } { "Run" }
                                " · "
                                a href={ "/console/doctor?taskDefinition=" (latest) } { "Doctor" }
                            },
                        ]
                    })
                    .collect();
                out.push(views::table(
                    "Active task definitions by family",
                    &["Family", "Revisions", "Latest revision"],
                    &rows,
                ));
            }
            Err(e) => out.error(&e),
        }
        let doc = if document.is_empty() {
            SAMPLE_TASK_DEFINITION
        } else {
            document
        };
        out.push(html! {
            h2 { "Register a task definition" }
            form.card method="post" action="/console/task-definitions" {
                (views::csrf_field(self.who.csrf()))
                label for="taskDefinition" { "Task definition JSON (RegisterTaskDefinition input)" }
                p #td-help .muted {
                    "A private registry's credentials are named by the secret's full ARN (with its "
                    "6-character suffix), as the AWS console requires."
                }
                textarea #taskDefinition name="taskDefinition" rows="18"
                    aria-describedby="td-help" spellcheck="false" required { (doc) }
                button type="submit" { "Register" }
            }
        });
        self.render("Task definitions", "/console/task-definitions", out)
    }

    pub fn register_task_definition(&self, form: &RegisterForm) -> Response {
        let document = &form.task_definition;
        let result = parse_task_definition(document)
            .and_then(|input| self.ops.register_task_definition(input));
        match result {
            Ok(arn) => self.flash_and_redirect(
                format!("registered {}", short_def(&arn)),
                &format!("/console/task-definition?taskDefinition={}", url(&arn)),
            ),
            Err(e) => self.task_definitions(Some(&e), document),
        }
    }

    pub fn task_definition(&self, reference: Option<&str>) -> Response {
        let mut out = Out::new();
        let Some(reference) = reference else {
            return self.task_definitions(None, "");
        };
        match self.ops.describe_task_definition(reference) {
            Ok(def) => {
                let rows = vec![
                    vec![html! { "ARN" }, html! { (def.arn) }],
                    vec![html! { "Status" }, html! { (def.status) }],
                    vec![
                        html! { "Execution role" },
                        html! { (def.execution_role_arn.as_deref().unwrap_or("")) },
                    ],
                    vec![html! { "Network mode" }, html! { (def.network_mode) }],
                    vec![
                        html! { "Compatibilities" },
                        html! { (def.compatibilities.join(", ")) },
                    ],
                ];
                out.push(views::table("Summary", &["Field", "Value"], &rows));
                let arn = url(&def.arn);
                out.push(html! {
                    p {
                        a href={ "/console/tasks?taskDefinition=" (arn) } { "Run this task definition" }
                        " · "
                        a href={ "/console/doctor?taskDefinition=" (arn) } { "Ask the doctor" }
                    }
                    h2 { "JSON" }
                    pre { (def.json) }
                });
                self.render(short_def(&def.arn), "/console/task-definitions", out)
            }
            Err(e) => {
                out.error(&e);
                self.render("Task definition", "/console/task-definitions", out)
            }
        }
    }

    // ---- services ---------------------------------------------------------------------------

    /// A cluster chooser; the cluster chosen (the query's, else the first listed, else
    /// `default`), and whether it is known not to exist.
    fn choose_cluster(
        &self,
        out: &mut Out,
        given: Option<&str>,
        action: &str,
        label: &str,
    ) -> (String, bool) {
        let listed = self.ops.list_clusters();
        let mut clusters: Vec<String> = match &listed {
            Ok(arns) => arns.iter().map(|a| short_id(a).to_string()).collect(),
            Err(e) => {
                out.error(e);
                Vec::new()
            }
        };
        let cluster = given
            .and_then(non_empty)
            .or_else(|| clusters.first().cloned())
            .unwrap_or_else(|| berth_control::ecs::DEFAULT_CLUSTER.to_string());
        let missing = listed.is_ok() && !clusters.contains(&cluster);
        if !clusters.contains(&cluster) {
            clusters.push(cluster.clone());
        }
        let options: Vec<(String, String)> =
            clusters.iter().map(|c| (c.clone(), c.clone())).collect();
        out.push(html! {
            form.card method="get" action=(action) {
                (views::select("cluster", "cluster", "Cluster", &options, &cluster))
                button type="submit" { (label) }
            }
        });
        (cluster, missing)
    }

    /// A cluster's services: counts, task definition, deployments and the latest event.
    pub fn services(&self, q: &ServicesQuery) -> Response {
        let mut out = Out::new();
        let (cluster, missing) = self.choose_cluster(
            &mut out,
            q.cluster.as_deref(),
            "/console/services",
            "Show services",
        );
        out.push(html! { h2 { "Services in " (cluster) } });
        if missing {
            out.push(html! {
                p { "There is no cluster " (cluster) ". Create it on the " a href="/console/clusters" { "Clusters" } " page." }
            });
            return self.render("Services", "/console/services", out);
        }
        let arns = match self.ops.list_services(&cluster) {
            Ok(a) => a,
            Err(e) => {
                out.error(&e);
                return self.render("Services", "/console/services", out);
            }
        };
        if arns.is_empty() {
            out.push(html! {
                p { "No services in this cluster. Create one with " code { "aws ecs create-service" } "." }
            });
            return self.render("Services", "/console/services", out);
        }
        let services = match self.ops.describe_services(&cluster, &arns) {
            Ok(s) => s,
            Err(e) => {
                out.error(&e);
                return self.render("Services", "/console/services", out);
            }
        };
        let rows: Vec<Vec<Markup>> = services
            .iter()
            .map(|s| {
                vec![
                    html! {
                        a href={ "/console/service?cluster=" (url(&cluster)) "&service=" (url(&s.name)) } { (s.name) }
                    },
                    html! { (s.status) },
                    html! { (s.scheduling_strategy) },
                    html! { (s.desired) },
                    html! { (s.running) },
                    html! { (s.pending) },
                    html! {
                        a href={ "/console/task-definition?taskDefinition=" (url(&s.task_definition)) } {
                            (short_def(&s.task_definition))
                        }
                    },
                    html! {
                        @for (i, d) in s.deployments.iter().enumerate() {
                            @if i > 0 { br; }
                            (d.status) " " (d.rollout_state)
                        }
                    },
                    html! {
                        @if let Some((at, m)) = s.events.first() {
                            (views::time(Some(*at as f64))) " " (m)
                        }
                    },
                ]
            })
            .collect();
        out.push(views::table(
            "Services",
            &[
                "Name",
                "Status",
                "Scheduling",
                "Desired",
                "Running",
                "Pending",
                "Task definition",
                "Deployments",
                "Latest event",
            ],
            &rows,
        ));
        self.render("Services", "/console/services", out)
    }

    /// One service: its counts, placement, deployments and latest events.
    pub fn service(&self, q: &ServiceQuery) -> Response {
        let mut out = Out::new();
        let cluster = non_empty(&q.cluster)
            .unwrap_or_else(|| berth_control::ecs::DEFAULT_CLUSTER.to_string());
        let title = format!("Service {}", q.service);
        let found = if q.service.is_empty() {
            Ok(Vec::new())
        } else {
            self.ops
                .describe_services(&cluster, std::slice::from_ref(&q.service))
        };
        let s = match found {
            Ok(mut s) if !s.is_empty() => s.swap_remove(0),
            Ok(_) => {
                out.status = StatusCode::NOT_FOUND;
                out.push(html! {
                    p {
                        "There is no service " (q.service) " in cluster " (cluster) ". See the "
                        a href={ "/console/services?cluster=" (url(&cluster)) } { "services of the cluster" } "."
                    }
                });
                return self.render(&title, "/console/services", out);
            }
            Err(e) => {
                out.error(&e);
                return self.render(&title, "/console/services", out);
            }
        };
        out.push(html! {
            dl.card {
                dt { "ARN" } dd { (s.arn) }
                dt { "Cluster" } dd { a href={ "/console/services?cluster=" (url(&cluster)) } { (cluster) } }
                dt { "Status" } dd { (s.status) }
                dt { "Scheduling strategy" } dd { (s.scheduling_strategy) }
                dt { "Launch type" } dd { (s.launch_type) }
                dt { "Desired / running / pending" } dd { (s.desired) " / " (s.running) " / " (s.pending) }
                dt { "Task definition" } dd {
                    a href={ "/console/task-definition?taskDefinition=" (url(&s.task_definition)) } { (short_def(&s.task_definition)) }
                }
                dt { "Placement constraints" } dd {
                    @if s.placement_constraints.is_empty() { "none" }
                    @for (i, (t, e)) in s.placement_constraints.iter().enumerate() {
                        @if i > 0 { br; }
                        (t) @if !e.is_empty() { " " code { (e) } }
                    }
                }
                dt { "Placement strategy" } dd {
                    @if s.placement_strategy.is_empty() { "none" }
                    @for (i, (t, f)) in s.placement_strategy.iter().enumerate() {
                        @if i > 0 { br; }
                        (t) @if !f.is_empty() { " " code { (f) } }
                    }
                }
            }
            p {
                a href={ "/console/tasks?cluster=" (url(&cluster)) } { "Tasks of the cluster" }
                " · why it is not steady: " code { "berth doctor --service " (s.name) " --cluster " (cluster) }
            }
        });
        let rows: Vec<Vec<Markup>> = s
            .deployments
            .iter()
            .map(|d| {
                vec![
                    html! { (d.id) },
                    html! { (d.status) },
                    html! { (short_def(&d.task_definition)) },
                    html! { (d.desired) },
                    html! { (d.running) },
                    html! { (d.pending) },
                    html! { (d.failed) },
                    html! { (d.rollout_state) },
                    html! { (d.rollout_state_reason) },
                ]
            })
            .collect();
        out.push(html! { h2 { "Deployments" } });
        out.push(views::table(
            "Deployments",
            &[
                "ID",
                "Status",
                "Task definition",
                "Desired",
                "Running",
                "Pending",
                "Failed tasks",
                "Rollout state",
                "Reason",
            ],
            &rows,
        ));
        out.push(html! { h2 { "Events" } });
        if s.events.is_empty() {
            out.push(html! { p { "No events yet." } });
        } else {
            let rows: Vec<Vec<Markup>> = s
                .events
                .iter()
                .take(SERVICE_EVENTS)
                .map(|(at, m)| vec![html! { (views::time(Some(*at as f64))) }, html! { (m) }])
                .collect();
            out.push(views::table(
                "Latest events, newest first",
                &["Time", "Message"],
                &rows,
            ));
        }
        self.render(&title, "/console/services", out)
    }

    // ---- tasks ------------------------------------------------------------------------------

    pub fn tasks(&self, view: &TasksView, error: Option<&ConsoleError>) -> Response {
        let mut out = Out::new();
        if let Some(e) = error {
            out.error(e);
        }
        let listed = self.ops.list_clusters();
        let mut clusters: Vec<String> = match &listed {
            Ok(arns) => arns.iter().map(|a| short_id(a).to_string()).collect(),
            Err(e) => {
                out.error(e);
                Vec::new()
            }
        };
        let cluster = view
            .cluster
            .clone()
            .or_else(|| clusters.first().cloned())
            .unwrap_or_else(|| berth_control::ecs::DEFAULT_CLUSTER.to_string());
        // A cluster known not to exist (the listing worked and it is not there) has no tasks to
        // list; `default` is made by the first RunTask.
        let missing = listed.is_ok() && !clusters.contains(&cluster);
        if !clusters.contains(&cluster) {
            clusters.push(cluster.clone());
        }
        let options: Vec<(String, String)> =
            clusters.iter().map(|c| (c.clone(), c.clone())).collect();
        out.push(html! {
            form.card method="get" action="/console/tasks" {
                (views::select("cluster", "cluster", "Cluster", &options, &cluster))
                button type="submit" { "Show tasks" }
            }
        });
        if missing {
            out.push(html! {
                h2 { "Tasks in " (cluster) }
                p {
                    "There is no cluster " (cluster) " yet. Create it on the "
                    a href="/console/clusters" { "Clusters" }
                    " page"
                    @if cluster == berth_control::ecs::DEFAULT_CLUSTER {
                        ", or run a task: the default cluster is made on first use"
                    }
                    "."
                }
            });
        } else {
            self.task_table(&mut out, &cluster);
        }
        self.run_form(&mut out, view, &options, &cluster);
        self.render("Tasks", "/console/tasks", out)
    }

    fn task_table(&self, out: &mut Out, cluster: &str) {
        out.push(html! { h2 { "Tasks in " (cluster) } });
        let mut arns: Vec<String> = Vec::new();
        for desired in ["RUNNING", "STOPPED"] {
            match self.ops.list_tasks(cluster, desired) {
                Ok(a) => arns.extend(a),
                Err(e) => return out.error(&e),
            }
        }
        if arns.is_empty() {
            out.push(html! {
                p { "No tasks in this cluster (stopped tasks stay visible for an hour)." }
            });
            return;
        }
        let mut tasks = match self.ops.describe_tasks(cluster, &arns) {
            Ok(t) => t,
            Err(e) => return out.error(&e),
        };
        tasks.sort_by(|a, b| {
            let t = |t: &ops::Task| t.created_at.unwrap_or(0.0);
            t(b).total_cmp(&t(a))
        });
        // The task definitions, once each: which containers use awslogs.
        let mut definitions: std::collections::HashMap<String, Value> = Default::default();
        for t in &tasks {
            if !definitions.contains_key(&t.task_definition_arn)
                && let Ok(td) = self.ops.describe_task_definition(&t.task_definition_arn)
            {
                let json = serde_json::from_str(&td.json).unwrap_or(Value::Null);
                definitions.insert(t.task_definition_arn.clone(), json);
            }
        }
        let logs_link = |t: &ops::Task, c: &ops::Container| {
            definitions
                .get(&t.task_definition_arn)
                .and_then(|d| awslogs_of(d, &c.name))
                .map(|_| {
                    format!(
                        "/console/task-logs?cluster={}&task={}&container={}",
                        url(cluster),
                        url(&t.arn),
                        url(&c.name)
                    )
                })
        };
        let rows: Vec<Vec<Markup>> = tasks
            .iter()
            .map(|t| {
                let id = short_id(&t.arn);
                vec![
                    html! { (id) },
                    html! {
                        a href={ "/console/task-definition?taskDefinition=" (url(&t.task_definition_arn)) } {
                            (short_def(&t.task_definition_arn))
                        }
                    },
                    html! { (t.launch_type) },
                    html! { (t.last_status) },
                    html! { (t.desired_status) },
                    html! { (t.stop_code) },
                    html! { (t.stopped_reason) },
                    html! {
                        @for (i, c) in t.containers.iter().enumerate() {
                            @if i > 0 { br; }
                            (c.name) ": " (c.last_status)
                            @if let Some(code) = c.exit_code { ", exit code " (code) }
                            @if !c.reason.is_empty() { " (" (c.reason) ")" }
                            @if let Some(href) = logs_link(t, c) {
                                " " a href=(href) aria-label={ "Log of " (c.name) } { "log" }
                            }
                        }
                    },
                    html! { (views::time(t.created_at)) },
                    html! {
                        @if t.desired_status != "STOPPED" {
                            form method="post" action="/console/tasks/stop" {
                                (views::csrf_field(self.who.csrf()))
                                input type="hidden" name="cluster" value=(cluster);
                                input type="hidden" name="task" value=(t.arn);
                                button.danger type="submit" aria-label={ "Stop task " (id) } { "Stop" }
                            }
                        }
                    },
                ]
            })
            .collect();
        out.push(views::table(
            "Tasks, newest first",
            &[
                "Task",
                "Task definition",
                "Launch type",
                "Last status",
                "Desired status",
                "Stop code",
                "Stopped reason",
                "Containers",
                "Created",
                "Action",
            ],
            &rows,
        ));
    }

    /// A task's container log (awslogs): its last lines, newest first, and a link to older
    /// ones; read with GetLogEvents as the signed-in principal.
    pub fn task_logs(&self, q: &TaskLogsQuery) -> Response {
        let mut out = Out::new();
        let back = format!("/console/tasks?cluster={}", url(&q.cluster));
        let title = format!("Log of {} in task {}", q.container, short_id(&q.task));
        out.push(html! { p { a href=(back) { "Back to the tasks" } } });
        let task = match self
            .ops
            .describe_tasks(&q.cluster, std::slice::from_ref(&q.task))
        {
            Ok(t) => t.into_iter().next(),
            Err(e) => {
                out.error(&e);
                return self.render(&title, "/console/tasks", out);
            }
        };
        let Some(task) = task else {
            out.push(html! { p { "There is no task " (q.task) " in cluster " (q.cluster) "." } });
            return self.render(&title, "/console/tasks", out);
        };
        let definition = match self.ops.describe_task_definition(&task.task_definition_arn) {
            Ok(td) => serde_json::from_str(&td.json).unwrap_or(Value::Null),
            Err(e) => {
                out.error(&e);
                return self.render(&title, "/console/tasks", out);
            }
        };
        let Some((group, region, prefix)) = awslogs_of(&definition, &q.container) else {
            out.push(
                html! { p { "Container " (q.container) " does not use the awslogs log driver." } },
            );
            return self.render(&title, "/console/tasks", out);
        };
        let runtime_id = task
            .containers
            .iter()
            .find(|c| c.name == q.container)
            .and_then(|c| c.runtime_id.clone());
        // As ECS names the stream: prefix/container/task-id, else the container's Docker ID.
        let stream = match (prefix, runtime_id) {
            (Some(p), _) => format!("{p}/{}/{}", q.container, short_id(&task.arn)),
            (None, Some(id)) => id,
            (None, None) => {
                out.push(html! { p { "The container has not started: its log stream has no name yet." } });
                return self.render(&title, "/console/tasks", out);
            }
        };
        let region = region.unwrap_or_else(|| self.who.region().to_string());
        let token = q.token.as_deref().filter(|t| !t.is_empty());
        match self
            .ops
            .get_log_events(&region, &group, &stream, token, LOG_PAGE_LINES)
        {
            Err(e) => out.error(&e),
            Ok(page) => {
                out.push(html! { p { "Log group " code { (group) } ", stream " code { (stream) } " (" (region) ")." } });
                if page.events.is_empty() {
                    out.push(html! { p { "No more lines." } });
                } else {
                    let rows: Vec<Vec<Markup>> = page
                        .events
                        .iter()
                        .map(|(ms, line)| {
                            vec![
                                html! { (views::time(Some(*ms as f64 / 1000.0))) },
                                html! { code { (line) } },
                            ]
                        })
                        .collect();
                    out.push(views::table(
                        "Lines, newest first",
                        &["Time", "Message"],
                        &rows,
                    ));
                    let older = format!(
                        "/console/task-logs?cluster={}&task={}&container={}&token={}",
                        url(&q.cluster),
                        url(&q.task),
                        url(&q.container),
                        url(&page.older)
                    );
                    out.push(html! { p { a href=(older) { "Older lines" } } });
                }
            }
        }
        self.render(&title, "/console/tasks", out)
    }

    fn run_form(
        &self,
        out: &mut Out,
        view: &TasksView,
        clusters: &[(String, String)],
        cluster: &str,
    ) {
        let defs = match self.ops.list_task_definitions() {
            Ok(d) => d,
            Err(e) => return out.error(&e),
        };
        let options: Vec<(String, String)> = defs
            .iter()
            .map(|a| (a.clone(), short_def(a).to_string()))
            .collect();
        let launch: Vec<(String, String)> = ["EC2", "EXTERNAL", "FARGATE"]
            .iter()
            .map(|l| (l.to_string(), l.to_string()))
            .collect();
        let chosen_launch = match view.launch_type.as_str() {
            "" => "EC2",
            l => l,
        };
        let subnet = TextInput {
            placeholder: Some("subnet-12345678"),
            ..TextInput::new(
                "subnet",
                "Subnet (required for FARGATE; recorded, not provisioned)",
                &view.subnet,
            )
        };
        out.push(html! {
            h2 { "Run a task" }
            form.card method="post" action="/console/tasks/run" {
                (views::csrf_field(self.who.csrf()))
                (views::select("run-cluster", "cluster", "Cluster", clusters, cluster))
                (views::select("taskDefinition", "taskDefinition", "Task definition", &options, &view.task_definition))
                (views::select("launchType", "launchType", "Launch type", &launch, chosen_launch))
                (subnet.render())
                button type="submit" { "Run task" }
            }
        });
    }

    pub fn run_task(&self, form: &RunForm) -> Response {
        let subnet = form.subnet.trim();
        let run = ops::RunTask {
            cluster: form.cluster.clone(),
            task_definition: form.task_definition.clone(),
            launch_type: form.launch_type.clone(),
            subnet: non_empty(subnet),
        };
        match self.ops.run_task(&run) {
            Ok(started) => {
                let started: Vec<String> = started
                    .iter()
                    .map(|t| format!("{} ({})", short_id(&t.task_arn), t.last_status))
                    .collect();
                self.flash_and_redirect(
                    format!("started task {}", started.join(", ")),
                    &format!("/console/tasks?cluster={}", url(&form.cluster)),
                )
            }
            Err(e) => {
                let view = TasksView {
                    cluster: non_empty(&form.cluster),
                    task_definition: form.task_definition.clone(),
                    launch_type: form.launch_type.clone(),
                    subnet: form.subnet.clone(),
                };
                self.tasks(&view, Some(&e))
            }
        }
    }

    pub fn stop_task(&self, form: &StopForm) -> Response {
        match self.ops.stop_task(&form.cluster, &form.task, STOP_REASON) {
            Ok(last_status) => self.flash_and_redirect(
                format!("stopping task {} ({last_status})", short_id(&form.task)),
                &format!("/console/tasks?cluster={}", url(&form.cluster)),
            ),
            Err(e) => {
                let view = TasksView {
                    cluster: non_empty(&form.cluster),
                    ..TasksView::default()
                };
                self.tasks(&view, Some(&e))
            }
        }
    }

    // ---- secrets ----------------------------------------------------------------------------

    pub fn secrets(&self) -> Response {
        let mut out = Out::new();
        out.push(html! {
            p {
                "Metadata only: the console has no way to read a secret's value. Use "
                code { "aws secretsmanager get-secret-value" } " where you must."
            }
        });
        match self.ops.list_secrets() {
            Ok(list) if list.is_empty() => out.push(html! { p { "No secrets yet." } }),
            Ok(list) => {
                let rows: Vec<Vec<Markup>> = list
                    .iter()
                    .map(|sec| {
                        vec![
                            html! { (sec.name) },
                            html! { (sec.arn) },
                            html! { (sec.description) },
                            html! {
                                @match &sec.kms_key_id {
                                    Some(k) => (k),
                                    None => "aws/secretsmanager (AWS managed key)",
                                }
                            },
                            html! { (views::time(sec.last_changed)) },
                            html! {
                                @for (i, (k, v)) in sec.tags.iter().enumerate() {
                                    @if i > 0 { br; }
                                    (k) "=" (v)
                                }
                            },
                        ]
                    })
                    .collect();
                out.push(views::table(
                    "Secrets",
                    &[
                        "Name",
                        "ARN",
                        "Description",
                        "KMS key",
                        "Last changed",
                        "Tags",
                    ],
                    &rows,
                ));
            }
            Err(e) => out.error(&e),
        }
        self.render("Secrets", "/console/secrets", out)
    }

    // ---- doctor -----------------------------------------------------------------------------

    pub fn doctor(&self, wanted: &str) -> Response {
        let mut out = Out::new();
        out.push(html! {
            p {
                "Says, without running anything, whether a task definition would start, and the "
                "smallest fix for each failed check (the checks of " code { "berth doctor" } ")."
            }
        });
        match self.ops.list_task_definitions() {
            Ok(defs) => {
                let options: Vec<(String, String)> = defs
                    .iter()
                    .map(|a| (a.clone(), short_def(a).to_string()))
                    .collect();
                out.push(html! {
                    form.card method="get" action="/console/doctor" {
                        (views::select("taskDefinition", "taskDefinition", "Task definition", &options, wanted))
                        button type="submit" { "Diagnose" }
                    }
                });
            }
            Err(e) => out.error(&e),
        }
        if !wanted.is_empty() {
            match self.ops.diagnose(wanted) {
                Ok(report) => out.push(report_view(&report)),
                Err(e) => out.error(&e),
            }
        }
        self.render("Doctor", "/console/doctor", out)
    }
}

fn report_view(report: &berth_doctor::Report) -> Markup {
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    let rows: Vec<Vec<Markup>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                html! { span.nowrap { (c.check.as_str()) } },
                html! { (c.container.as_deref().unwrap_or("")) },
                html! {
                    @if c.ok { span.ok { "pass" } } @else { span.fail { "FAIL" } }
                },
                html! { (c.reason) },
                html! {
                    @if let Some(f) = &c.fix { pre { (f) } }
                },
            ]
        })
        .collect();
    html! {
        h2 { "Report for " (report.task_definition) }
        @if failed == 0 {
            p.ok role="status" { "Verdict: the task would start (every check passes)." }
        } @else {
            p.fail role="status" {
                "Verdict: the task would not start (" (failed) " check"
                @if failed != 1 { "s" }
                " failed)."
            }
        }
        (views::table(
            "Checks, in the order they run",
            &["Check", "Container", "Result", "Reason", "Fix"],
            &rows,
        ))
    }
}

// ---- sign-in --------------------------------------------------------------------------------

/// The sign-in page, with the form's values kept (never the secret).
pub(crate) fn sign_in_page(
    st: &ConsoleState,
    headers: &HeaderMap,
    status: StatusCode,
    error: Option<&str>,
    form: &SignInForm,
) -> Response {
    // The pre-session token: kept if the browser has one, else a new one.
    let (token, set) = match extract::cookie(headers, session::SIGNIN_COOKIE) {
        Some(t) if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (t.to_string(), None)
        }
        _ => {
            let t = session::token();
            let c = session::signin_cookie(&t, st.secure_cookies);
            (t, Some(c))
        }
    };
    let region = match form.region.as_str() {
        "" => "us-east-1",
        r => r,
    };
    let key = TextInput {
        autocomplete: Some("username"),
        ..TextInput::new("access_key_id", "Access key ID", &form.access_key_id).required()
    };
    let body = html! {
        @if let Some(e) = error {
            (views::error_box("", e))
        }
        p {
            "Sign in with an access key: an IAM user's or the account root user's (the root key is in "
            code { "DATA_DIR/credentials" } "). Temporary credentials (" code { "ASIA…" }
            ") cannot sign in."
        }
        form.card method="post" action="/console/signin" {
            input type="hidden" name="signin" value=(token);
            (key.render())
            label for="secret" { "Secret access key" }
            input type="password" id="secret" name="secret" autocomplete="current-password" required;
            (TextInput::new("region", "Region", region).required().render())
            button type="submit" { "Sign in" }
        }
        (crate::password::form(&token))
    };
    let page = views::page("Sign in", "", None, body);
    let cookies: Vec<String> = set.into_iter().collect();
    html_response(status, page, &cookies)
}

/// A sign-in attempt: the origin, the pre-session token, the region, the throttle, then the
/// key and its secret (compared in constant time).
pub(crate) fn sign_in(
    st: &ConsoleState,
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    form: &SignInForm,
) -> Response {
    if !extract::same_origin(headers) {
        return plain(StatusCode::FORBIDDEN, "cross-origin request refused");
    }
    let refuse = |status, message: &str| sign_in_page(st, headers, status, Some(message), form);
    let pre = extract::cookie(headers, session::SIGNIN_COOKIE).unwrap_or("");
    if !session::tokens_match(&form.signin, pre) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the sign-in form expired: sign in again",
        );
    }
    let key_id = form.access_key_id.trim();
    let region = form.region.trim();
    if !st.control.regions.contains(region) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "the region is not one berth answers to (for example us-east-1; others come from BERTH_EXTRA_REGIONS)",
        );
    }
    let invalid = "the access key id or the secret access key is not valid";
    if let Err(wait) = st.throttle.check(peer, Instant::now()) {
        tracing::info!(peer = ?peer, "console sign-in refused: too many failures");
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "too many failed sign-ins from this address: try again in {} s",
                wait.as_secs().max(1)
            ),
        );
    }
    let principal = match st.control.sign_in(key_id, &form.secret) {
        Ok(p) => p,
        Err(SignInFailure::Internal(e)) => {
            tracing::error!(error = %e, "console: access key lookup failed");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, crate::INTERNAL_FAILURE);
        }
        Err(e @ (SignInFailure::UnknownKey | SignInFailure::WrongSecret)) => {
            tracing::info!(access_key_id = key_id, reason = %e, "console sign-in refused");
            st.throttle.failed(peer, Instant::now());
            return refuse(StatusCode::UNAUTHORIZED, invalid);
        }
        Err(SignInFailure::Temporary) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                "temporary credentials (ASIA…) cannot sign in to the console: use an IAM user's access key or the account's root key",
            );
        }
    };
    // A new session for every sign-in; one the browser already had ends here.
    if let Some(old) = extract::cookie(headers, session::SESSION_COOKIE) {
        st.sessions.remove(old);
    }
    let id = match st.sessions.create(key_id, region) {
        Ok(id) => id,
        Err(e) => return refuse(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
    };
    tracing::info!(principal = %principal.arn(), access_key_id = key_id, "console sign-in");
    redirect(
        "/console",
        &[
            session::session_cookie(&id, st.secure_cookies),
            session::expired_cookie(session::SIGNIN_COOKIE, st.secure_cookies),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn full_secret_arns_only() {
        assert!(is_full_secret_arn(
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:registry-creds-AbCdEf"
        ));
        assert!(is_full_secret_arn(
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:a/b-c-123456"
        ));
        for bad in [
            "registry-creds",
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:registry-creds",
            "arn:aws:secretsmanager:us-east-1:000000000000:secret:-AbCdEf",
            "arn:aws:ssm:us-east-1:000000000000:parameter/x-AbCdEf",
            "arn:aws:secretsmanager:us-east-1:0000:secret:registry-creds-AbCdEf",
            "",
        ] {
            assert!(!is_full_secret_arn(bad), "{bad}");
        }
    }

    #[test]
    fn pasted_definitions_name_secrets_by_full_arn() {
        let td = |param: &str| {
            json!({"family": "f", "containerDefinitions": [
                {"name": "plain", "image": "x"},
                {"name": "app", "image": "x", "repositoryCredentials": {"credentialsParameter": param}}
            ]})
        };
        let message = check_full_secret_arns(&td("registry-creds"))
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(
            message.contains("container app") && message.contains("full ARN"),
            "{message}"
        );
        assert!(
            check_full_secret_arns(&td(
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:registry-creds-AbCdEf"
            ))
            .is_ok()
        );
        assert!(check_full_secret_arns(&json!({"family": "f"})).is_ok());
        let e = parse_task_definition("[1]").err().map(|e| e.code);
        assert_eq!(e.as_deref(), Some("SerializationException"));
    }

    #[test]
    fn names_from_arns() {
        assert_eq!(
            short_def("arn:aws:ecs:us-east-1:000000000000:task-definition/web:3"),
            "web:3"
        );
        assert_eq!(
            short_id("arn:aws:ecs:us-east-1:000000000000:task/default/abc123"),
            "abc123"
        );
    }
}
