//! The console's pages. Each one asks the API's handlers (through [`super::call`]) as the
//! signed-in principal and renders what comes back; a refusal is shown in the page in AWS's
//! words, in place of the data.

use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::html::{self, esc, url};
use super::{ConsoleState, Req, Signed, call, html_response, redirect};
use crate::error::WireError;
use crate::protocol::Service;
use berth_control::authz::Check;

/// AWS console's reason for a task stopped by hand.
const STOP_REASON: &str = "Task stopped by user";

pub(crate) struct Pages<'a> {
    pub st: &'a ConsoleState,
    pub who: &'a Signed,
}

/// A page being built: its body and the status of the worst thing that went wrong.
struct Out {
    body: String,
    status: StatusCode,
}

impl Out {
    fn new() -> Out {
        Out {
            body: String::new(),
            status: StatusCode::OK,
        }
    }

    fn error(&mut self, e: &WireError) {
        self.body.push_str(&html::error_box(
            &e.code,
            e.message.as_deref().unwrap_or(""),
        ));
        if self.status == StatusCode::OK {
            self.status = e.console_status();
        }
    }

    fn push(&mut self, s: &str) {
        self.body.push_str(s);
    }
}

fn s<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn arr<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

fn num(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_i64)
        .map(|n| n.to_string())
        .unwrap_or_default()
}

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
fn check_full_secret_arns(input: &Value) -> Result<(), WireError> {
    for c in arr(input, "containerDefinitions") {
        if let Some(p) = c.pointer("/repositoryCredentials/credentialsParameter") {
            let given = p.as_str().unwrap_or("");
            if !is_full_secret_arn(given) {
                return Err(WireError::console_secret_not_full_arn(s(c, "name"), given));
            }
        }
    }
    Ok(())
}

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

impl Pages<'_> {
    fn ecs(&self, operation: &str, input: Value) -> Result<Value, WireError> {
        call(self.st, self.who, Service::Ecs, operation, input)
    }

    fn render(&self, title: &str, active: &str, out: Out) -> Response {
        let mut body = String::new();
        if let Some(f) = &self.who.session.flash {
            body.push_str(&html::notice_box(f));
        }
        let _ = write!(
            body,
            "<p class=\"muted\">Account {} · region {}</p>",
            esc(self.who.account()),
            esc(self.who.region())
        );
        body.push_str(&out.body);
        let page = html::page(
            title,
            active,
            Some((&self.who.principal_arn(), self.who.csrf())),
            &body,
        );
        html_response(out.status, page, &[])
    }

    fn flash_and_redirect(&self, message: String, location: &str) -> Response {
        self.st.sessions.flash(&self.who.id, message);
        redirect(location, &[])
    }

    pub fn not_found(&self) -> Response {
        let mut out = Out::new();
        out.status = StatusCode::NOT_FOUND;
        out.push("<p>There is no such page. <a href=\"/console\">Go to the overview</a>.</p>");
        self.render("Not found", "", out)
    }

    // ---- clusters ---------------------------------------------------------------------------

    /// The clusters (ListClusters, DescribeClusters) as a table, or the refusal.
    fn cluster_table(&self, out: &mut Out) -> Vec<String> {
        let arns: Vec<String> = match self.ecs("ListClusters", json!({ "maxResults": 100 })) {
            Ok(v) => arr(&v, "clusterArns")
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect(),
            Err(e) => {
                out.error(&e);
                return Vec::new();
            }
        };
        if arns.is_empty() {
            out.push(
                "<p>No clusters yet. The <code>default</code> cluster is made on first use.</p>",
            );
            return Vec::new();
        }
        let clusters = match self.ecs("DescribeClusters", json!({ "clusters": arns })) {
            Ok(v) => arr(&v, "clusters").to_vec(),
            Err(e) => {
                out.error(&e);
                return Vec::new();
            }
        };
        let mut names = Vec::new();
        let rows: Vec<Vec<String>> = clusters
            .iter()
            .map(|c| {
                let name = s(c, "clusterName");
                names.push(name.to_string());
                vec![
                    format!(
                        "<a href=\"/console/tasks?cluster={}\">{}</a>",
                        esc(&url(name)),
                        esc(name)
                    ),
                    esc(s(c, "status")),
                    num(c, "runningTasksCount"),
                    num(c, "pendingTasksCount"),
                    num(c, "registeredContainerInstancesCount"),
                    esc(s(c, "clusterArn")),
                ]
            })
            .collect();
        out.push(&html::table(
            "Clusters",
            &[
                "Name",
                "Status",
                "Running tasks",
                "Pending tasks",
                "Container instances",
                "ARN",
            ],
            &rows,
        ));
        names
    }

    pub fn overview(&self) -> Response {
        let mut out = Out::new();
        out.push("<h2>Clusters</h2>");
        self.cluster_table(&mut out);
        out.push(
            "<h2>Next steps</h2><ul>\
             <li><a href=\"/console/task-definitions\">Register a task definition</a> from JSON</li>\
             <li><a href=\"/console/tasks\">Run and stop tasks</a>, and see why a task stopped</li>\
             <li><a href=\"/console/secrets\">Secrets</a>: metadata only, never values</li>\
             <li><a href=\"/console/doctor\">Doctor</a>: would a task definition start, and the fix when not</li>\
             </ul>",
        );
        self.render("Overview", "/console", out)
    }

    pub fn clusters(&self, error: Option<&WireError>, name: &str) -> Response {
        let mut out = Out::new();
        if let Some(e) = error {
            out.error(e);
        }
        self.cluster_table(&mut out);
        let _ = write!(
            out.body,
            "<h2>Create a cluster</h2><form class=\"card\" method=\"post\" action=\"/console/clusters\">{}{}\
             <button type=\"submit\">Create cluster</button></form>",
            html::csrf_field(self.who.csrf()),
            html::text_input(
                "clusterName",
                "Cluster name",
                name,
                " required spellcheck=\"false\""
            ),
        );
        self.render("Clusters", "/console/clusters", out)
    }

    pub fn create_cluster(&self, req: &Req<'_>) -> Response {
        let name = req.form("clusterName").trim();
        match self.ecs("CreateCluster", json!({ "clusterName": name })) {
            Ok(v) => self.flash_and_redirect(
                format!(
                    "cluster {} created",
                    v.pointer("/cluster/clusterName")
                        .and_then(Value::as_str)
                        .unwrap_or(name)
                ),
                "/console/clusters",
            ),
            Err(e) => self.clusters(Some(&e), name),
        }
    }

    // ---- task definitions -------------------------------------------------------------------

    /// ACTIVE task definition ARNs, newest first.
    fn task_definition_arns(&self) -> Result<Vec<String>, WireError> {
        let v = self.ecs(
            "ListTaskDefinitions",
            json!({ "status": "ACTIVE", "sort": "DESC", "maxResults": 100 }),
        )?;
        Ok(arr(&v, "taskDefinitionArns")
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect())
    }

    pub fn task_definitions(&self, error: Option<&WireError>, document: &str) -> Response {
        let mut out = Out::new();
        if let Some(e) = error {
            out.error(e);
        }
        match self.task_definition_arns() {
            Ok(arns) if arns.is_empty() => out.push("<p>No task definitions yet.</p>"),
            Ok(arns) => {
                // Families in first-seen order (newest revision first).
                let mut families: Vec<(String, Vec<String>)> = Vec::new();
                for a in &arns {
                    let fam = short_def(a).rsplit_once(':').map_or(a.as_str(), |(f, _)| f);
                    match families.iter_mut().find(|(f, _)| f == fam) {
                        Some((_, revs)) => revs.push(a.clone()),
                        None => families.push((fam.to_string(), vec![a.clone()])),
                    }
                }
                let rows: Vec<Vec<String>> = families
                    .iter()
                    .map(|(fam, revs)| {
                        let links: Vec<String> = revs
                            .iter()
                            .map(|a| {
                                format!(
                                    "<a href=\"/console/task-definition?taskDefinition={}\">{}</a>",
                                    esc(&url(a)),
                                    esc(short_def(a))
                                )
                            })
                            .collect();
                        let latest = &revs[0];
                        vec![
                            esc(fam),
                            links.join(", "),
                            format!(
                                "<a href=\"/console/tasks?taskDefinition={0}\">Run</a> · \
                                 <a href=\"/console/doctor?taskDefinition={0}\">Doctor</a>",
                                esc(&url(latest))
                            ),
                        ]
                    })
                    .collect();
                out.push(&html::table(
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
        let _ = write!(
            out.body,
            "<h2>Register a task definition</h2>\
             <form class=\"card\" method=\"post\" action=\"/console/task-definitions\">{}\
             <label for=\"taskDefinition\">Task definition JSON (RegisterTaskDefinition input)</label>\
             <p id=\"td-help\" class=\"muted\">A private registry's credentials are named by the \
             secret's full ARN (with its 6-character suffix), as the AWS console requires.</p>\
             <textarea id=\"taskDefinition\" name=\"taskDefinition\" rows=\"18\" \
             aria-describedby=\"td-help\" spellcheck=\"false\" required>{}</textarea>\
             <button type=\"submit\">Register</button></form>",
            html::csrf_field(self.who.csrf()),
            esc(doc)
        );
        self.render("Task definitions", "/console/task-definitions", out)
    }

    pub fn register_task_definition(&self, req: &Req<'_>) -> Response {
        let document = req.form("taskDefinition");
        let result = serde_json::from_str::<Value>(document)
            .map_err(|e| WireError::console_bad_json(&e.to_string()))
            .and_then(|v| {
                if v.is_object() {
                    Ok(v)
                } else {
                    Err(WireError::console_bad_json("expected an object"))
                }
            })
            .and_then(|v| check_full_secret_arns(&v).map(|()| v))
            .and_then(|v| self.ecs("RegisterTaskDefinition", v));
        match result {
            Ok(v) => {
                let arn = v
                    .pointer("/taskDefinition/taskDefinitionArn")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                self.flash_and_redirect(
                    format!("registered {}", short_def(arn)),
                    &format!("/console/task-definition?taskDefinition={}", url(arn)),
                )
            }
            Err(e) => self.task_definitions(Some(&e), document),
        }
    }

    pub fn task_definition(&self, req: &Req<'_>) -> Response {
        let mut out = Out::new();
        let Some(reference) = req.query("taskDefinition") else {
            return self.task_definitions(None, "");
        };
        match self.ecs(
            "DescribeTaskDefinition",
            json!({ "taskDefinition": reference }),
        ) {
            Ok(v) => {
                let def = v.get("taskDefinition").cloned().unwrap_or(Value::Null);
                let arn = s(&def, "taskDefinitionArn");
                let compat: Vec<&str> = arr(&def, "compatibilities")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                let rows = vec![
                    vec!["ARN".to_string(), esc(arn)],
                    vec!["Status".to_string(), esc(s(&def, "status"))],
                    vec![
                        "Execution role".to_string(),
                        esc(s(&def, "executionRoleArn")),
                    ],
                    vec!["Network mode".to_string(), esc(s(&def, "networkMode"))],
                    vec!["Compatibilities".to_string(), esc(&compat.join(", "))],
                ];
                out.push(&html::table("Summary", &["Field", "Value"], &rows));
                let _ = write!(
                    out.body,
                    "<p><a href=\"/console/tasks?taskDefinition={0}\">Run this task definition</a> · \
                     <a href=\"/console/doctor?taskDefinition={0}\">Ask the doctor</a></p>\
                     <h2>JSON</h2><pre>{1}</pre>",
                    esc(&url(arn)),
                    esc(&serde_json::to_string_pretty(&def).unwrap_or_default())
                );
                self.render(short_def(arn), "/console/task-definitions", out)
            }
            Err(e) => {
                out.error(&e);
                self.render("Task definition", "/console/task-definitions", out)
            }
        }
    }

    // ---- tasks ------------------------------------------------------------------------------

    pub fn tasks(&self, req: &Req<'_>, error: Option<&WireError>) -> Response {
        let mut out = Out::new();
        if let Some(e) = error {
            out.error(e);
        }
        let listed = self.ecs("ListClusters", json!({ "maxResults": 100 }));
        let mut clusters: Vec<String> = match &listed {
            Ok(v) => arr(v, "clusterArns")
                .iter()
                .filter_map(Value::as_str)
                .map(|a| short_id(a).to_string())
                .collect(),
            Err(e) => {
                out.error(e);
                Vec::new()
            }
        };
        let cluster = req
            .query("cluster")
            .or_else(|| (!req.form("cluster").is_empty()).then(|| req.form("cluster")))
            .map(str::to_string)
            .or_else(|| clusters.first().cloned())
            .unwrap_or_else(|| berth_ecs::DEFAULT_CLUSTER.to_string());
        // A cluster known not to exist (the listing worked and it is not there) has no tasks to
        // list; `default` is made by the first RunTask.
        let missing = listed.is_ok() && !clusters.contains(&cluster);
        if !clusters.contains(&cluster) {
            clusters.push(cluster.clone());
        }
        let options: Vec<(String, String)> =
            clusters.iter().map(|c| (c.clone(), c.clone())).collect();
        let _ = write!(
            out.body,
            "<form class=\"card\" method=\"get\" action=\"/console/tasks\">{}\
             <button type=\"submit\">Show tasks</button></form>",
            html::select("cluster", "cluster", "Cluster", &options, &cluster)
        );
        if missing {
            let _ = write!(
                out.body,
                "<h2>Tasks in {0}</h2><p>There is no cluster {0} yet. Create it on the \
                 <a href=\"/console/clusters\">Clusters</a> page{1}.</p>",
                esc(&cluster),
                if cluster == berth_ecs::DEFAULT_CLUSTER {
                    ", or run a task: the default cluster is made on first use"
                } else {
                    ""
                }
            );
        } else {
            self.task_table(&mut out, &cluster);
        }
        self.run_form(&mut out, req, &options, &cluster);
        self.render("Tasks", "/console/tasks", out)
    }

    fn task_table(&self, out: &mut Out, cluster: &str) {
        let _ = write!(out.body, "<h2>Tasks in {}</h2>", esc(cluster));
        let mut arns: Vec<Value> = Vec::new();
        for desired in ["RUNNING", "STOPPED"] {
            match self.ecs(
                "ListTasks",
                json!({ "cluster": cluster, "desiredStatus": desired, "maxResults": 100 }),
            ) {
                Ok(v) => arns.extend(arr(&v, "taskArns").iter().cloned()),
                Err(e) => {
                    out.error(&e);
                    return;
                }
            }
        }
        if arns.is_empty() {
            out.push("<p>No tasks in this cluster (stopped tasks stay visible for an hour).</p>");
            return;
        }
        let mut tasks = match self.ecs(
            "DescribeTasks",
            json!({ "cluster": cluster, "tasks": arns }),
        ) {
            Ok(v) => arr(&v, "tasks").to_vec(),
            Err(e) => {
                out.error(&e);
                return;
            }
        };
        tasks.sort_by(|a, b| {
            let t = |v: &Value| v.get("createdAt").and_then(Value::as_f64).unwrap_or(0.0);
            t(b).total_cmp(&t(a))
        });
        let rows: Vec<Vec<String>> = tasks
            .iter()
            .map(|t| {
                let arn = s(t, "taskArn");
                let containers: Vec<String> = arr(t, "containers")
                    .iter()
                    .map(|c| {
                        let mut line = format!("{}: {}", esc(s(c, "name")), esc(s(c, "lastStatus")));
                        if let Some(code) = c.get("exitCode").and_then(Value::as_i64) {
                            let _ = write!(line, ", exit code {code}");
                        }
                        if !s(c, "reason").is_empty() {
                            let _ = write!(line, " ({})", esc(s(c, "reason")));
                        }
                        line
                    })
                    .collect();
                let action = if s(t, "desiredStatus") == "STOPPED" {
                    String::new()
                } else {
                    format!(
                        "<form method=\"post\" action=\"/console/tasks/stop\">{}\
                         <input type=\"hidden\" name=\"cluster\" value=\"{}\">\
                         <input type=\"hidden\" name=\"task\" value=\"{}\">\
                         <button class=\"danger\" type=\"submit\" aria-label=\"Stop task {}\">Stop</button></form>",
                        html::csrf_field(self.who.csrf()),
                        esc(cluster),
                        esc(arn),
                        esc(short_id(arn))
                    )
                };
                vec![
                    esc(short_id(arn)),
                    format!(
                        "<a href=\"/console/task-definition?taskDefinition={}\">{}</a>",
                        esc(&url(s(t, "taskDefinitionArn"))),
                        esc(short_def(s(t, "taskDefinitionArn")))
                    ),
                    esc(s(t, "launchType")),
                    esc(s(t, "lastStatus")),
                    esc(s(t, "desiredStatus")),
                    esc(s(t, "stopCode")),
                    esc(s(t, "stoppedReason")),
                    containers.join("<br>"),
                    html::time(t.get("createdAt").and_then(Value::as_f64)),
                    action,
                ]
            })
            .collect();
        out.push(&html::table(
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

    fn run_form(&self, out: &mut Out, req: &Req<'_>, clusters: &[(String, String)], cluster: &str) {
        let defs = match self.task_definition_arns() {
            Ok(d) => d,
            Err(e) => {
                out.error(&e);
                return;
            }
        };
        let wanted = req
            .query("taskDefinition")
            .unwrap_or_else(|| req.form("taskDefinition"));
        let options: Vec<(String, String)> = defs
            .iter()
            .map(|a| (a.clone(), short_def(a).to_string()))
            .collect();
        let launch: Vec<(String, String)> = ["EC2", "EXTERNAL", "FARGATE"]
            .iter()
            .map(|l| (l.to_string(), l.to_string()))
            .collect();
        let chosen_launch = match req.form("launchType") {
            "" => "EC2",
            l => l,
        };
        let _ = write!(
            out.body,
            "<h2>Run a task</h2><form class=\"card\" method=\"post\" action=\"/console/tasks/run\">{}{}{}{}{}\
             <button type=\"submit\">Run task</button></form>",
            html::csrf_field(self.who.csrf()),
            html::select("run-cluster", "cluster", "Cluster", clusters, cluster),
            html::select(
                "taskDefinition",
                "taskDefinition",
                "Task definition",
                &options,
                wanted
            ),
            html::select(
                "launchType",
                "launchType",
                "Launch type",
                &launch,
                chosen_launch
            ),
            html::text_input(
                "subnet",
                "Subnet (required for FARGATE; recorded, not provisioned)",
                req.form("subnet"),
                " placeholder=\"subnet-12345678\" spellcheck=\"false\""
            ),
        );
    }

    pub fn run_task(&self, req: &Req<'_>) -> Response {
        let cluster = req.form("cluster");
        let mut input = json!({
            "cluster": cluster,
            "taskDefinition": req.form("taskDefinition"),
            "launchType": req.form("launchType"),
            "count": 1,
        });
        let subnet = req.form("subnet").trim();
        if !subnet.is_empty() {
            input["networkConfiguration"] =
                json!({ "awsvpcConfiguration": { "subnets": [subnet] } });
        }
        let result = self.ecs("RunTask", input).and_then(|v| {
            if let Some(f) = arr(&v, "failures").first() {
                return Err(WireError::client(
                    "RunTask failure",
                    format!("{}: {}", s(f, "arn"), s(f, "reason")),
                ));
            }
            Ok(v)
        });
        match result {
            Ok(v) => {
                let started: Vec<String> = arr(&v, "tasks")
                    .iter()
                    .map(|t| format!("{} ({})", short_id(s(t, "taskArn")), s(t, "lastStatus")))
                    .collect();
                self.flash_and_redirect(
                    format!("started task {}", started.join(", ")),
                    &format!("/console/tasks?cluster={}", url(cluster)),
                )
            }
            Err(e) => self.tasks(req, Some(&e)),
        }
    }

    pub fn stop_task(&self, req: &Req<'_>) -> Response {
        let cluster = req.form("cluster");
        let task = req.form("task");
        match self.ecs(
            "StopTask",
            json!({ "cluster": cluster, "task": task, "reason": STOP_REASON }),
        ) {
            Ok(v) => self.flash_and_redirect(
                format!(
                    "stopping task {} ({})",
                    short_id(task),
                    v.pointer("/task/lastStatus")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                ),
                &format!("/console/tasks?cluster={}", url(cluster)),
            ),
            Err(e) => self.tasks(req, Some(&e)),
        }
    }

    // ---- secrets ----------------------------------------------------------------------------

    pub fn secrets(&self) -> Response {
        let mut out = Out::new();
        out.push(
            "<p>Metadata only: the console has no way to read a secret's value. \
             Use <code>aws secretsmanager get-secret-value</code> where you must.</p>",
        );
        match call(
            self.st,
            self.who,
            Service::SecretsManager,
            "ListSecrets",
            json!({ "MaxResults": 100 }),
        ) {
            Ok(v) if arr(&v, "SecretList").is_empty() => out.push("<p>No secrets yet.</p>"),
            Ok(v) => {
                let rows: Vec<Vec<String>> = arr(&v, "SecretList")
                    .iter()
                    .map(|sec| {
                        let tags: Vec<String> = arr(sec, "Tags")
                            .iter()
                            .map(|t| format!("{}={}", esc(s(t, "Key")), esc(s(t, "Value"))))
                            .collect();
                        let key = match s(sec, "KmsKeyId") {
                            "" => "aws/secretsmanager (AWS managed key)".to_string(),
                            k => esc(k),
                        };
                        vec![
                            esc(s(sec, "Name")),
                            esc(s(sec, "ARN")),
                            esc(s(sec, "Description")),
                            key,
                            html::time(sec.get("LastChangedDate").and_then(Value::as_f64)),
                            tags.join("<br>"),
                        ]
                    })
                    .collect();
                out.push(&html::table(
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

    pub fn doctor(&self, req: &Req<'_>) -> Response {
        let mut out = Out::new();
        out.push(
            "<p>Says, without running anything, whether a task definition would start, and the \
             smallest fix for each failed check (the checks of <code>berth doctor</code>).</p>",
        );
        let wanted = req.query("taskDefinition").unwrap_or("");
        match self.task_definition_arns() {
            Ok(defs) => {
                let options: Vec<(String, String)> = defs
                    .iter()
                    .map(|a| (a.clone(), short_def(a).to_string()))
                    .collect();
                let _ = write!(
                    out.body,
                    "<form class=\"card\" method=\"get\" action=\"/console/doctor\">{}\
                     <button type=\"submit\">Diagnose</button></form>",
                    html::select(
                        "taskDefinition",
                        "taskDefinition",
                        "Task definition",
                        &options,
                        wanted
                    )
                );
            }
            Err(e) => out.error(&e),
        }
        if !wanted.is_empty() {
            match self.diagnose(wanted) {
                Ok(report) => render_report(&mut out, &report),
                Err(e) => out.error(&e),
            }
        }
        self.render("Doctor", "/console/doctor", out)
    }

    /// The doctor's report on a registered task definition, for a caller who may read it and
    /// simulate its execution role's policies.
    fn diagnose(&self, reference: &str) -> Result<berth_doctor::Report, WireError> {
        let v = self.ecs(
            "DescribeTaskDefinition",
            json!({ "taskDefinition": reference }),
        )?;
        let def = v.get("taskDefinition").cloned().unwrap_or(Value::Null);
        if let Some(role) = def.get("executionRoleArn").and_then(Value::as_str) {
            super::authorize(
                self.st,
                self.who,
                Service::Iam,
                &Check::new("iam:SimulatePrincipalPolicy", role),
            )?;
        }
        let api = &self.st.api;
        let now = api
            .now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let report = berth_doctor::diagnose(
            api.store.as_ref(),
            &api.root_key,
            &berth_doctor::Options {
                account: self.who.account().to_string(),
                region: self.who.region().to_string(),
                source: berth_doctor::Source::Registered(s(&def, "taskDefinitionArn").to_string()),
                caller_arn: Some(self.who.principal_arn()),
                cluster: None,
                registry_check: false,
                now,
            },
        )?;
        Ok(report)
    }
}

fn render_report(out: &mut Out, report: &berth_doctor::Report) {
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    let verdict = if failed == 0 {
        "<p class=\"ok\" role=\"status\">Verdict: the task would start (every check passes).</p>"
            .to_string()
    } else {
        format!(
            "<p class=\"fail\" role=\"status\">Verdict: the task would not start ({failed} check{} failed).</p>",
            if failed == 1 { "" } else { "s" }
        )
    };
    let _ = write!(
        out.body,
        "<h2>Report for {}</h2>{verdict}",
        esc(&report.task_definition)
    );
    let rows: Vec<Vec<String>> = report
        .checks
        .iter()
        .map(|c| {
            vec![
                format!("<span class=\"nowrap\">{}</span>", esc(c.check.as_str())),
                esc(c.container.as_deref().unwrap_or("")),
                if c.ok {
                    "<span class=\"ok\">pass</span>".to_string()
                } else {
                    "<span class=\"fail\">FAIL</span>".to_string()
                },
                esc(&c.reason),
                c.fix
                    .as_deref()
                    .map(|f| format!("<pre>{}</pre>", esc(f)))
                    .unwrap_or_default(),
            ]
        })
        .collect();
    out.push(&html::table(
        "Checks, in the order they run",
        &["Check", "Container", "Result", "Reason", "Fix"],
        &rows,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let err = check_full_secret_arns(&td("registry-creds")).err();
        let message = err.and_then(|e| e.message).unwrap_or_default();
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
