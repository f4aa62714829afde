//! Service last accessed data: which services an entity's identity policies allow, and when the
//! entity (or, for a group or a managed policy, the users and roles it reaches) last tried to
//! use each of them, from berth's own records of authenticated calls.
//!
//! The records are kept per entity id and action (`iam_last_accessed`); the application keeps
//! the freshest times in memory and writes a record here at most once a minute per entity and
//! action. A report is a job (`iam_access_jobs`) made complete at once.
//!
//! Which services a document allows is read from its `Allow` statements' `Action` (and
//! `NotAction`) namespaces, as AWS's service last accessed data does: permissions policies only
//! (no boundaries, resource policies or conditions). A wildcard namespace (`*`, `s*`) reaches
//! the services of [`SERVICES`], berth's table of namespaces and their names; a namespace named
//! literally and not in the table is listed with its namespace as its name.

use std::collections::{BTreeMap, BTreeSet};

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};
use serde::{Deserialize, Serialize};

use crate::entity;
use crate::policies::{EntityKind, find_policy, load};
use crate::{Group, Iam, IamError, ListOptions, Role, User};

/// Store table of last accesses, keyed by `{account}/{entity id}/{lowercased action}`.
const ACCESS: &str = "iam_last_accessed";
/// Store table of service last accessed jobs, keyed by `{account}/{job id}`.
const JOBS: &str = "iam_access_jobs";
/// Store table of each account's STS preferences (SetSecurityTokenServicePreferences), keyed
/// by account id.
const STS_PREFERENCES: &str = "iam_sts_preferences";

/// The account's global endpoint token version as GetAccountSummary counts it: 1 (`v1Token`,
/// the default) or 2 (`v2Token`).
pub(crate) fn token_version(tx: &dyn Tx, account: &str) -> Result<u64, IamError> {
    Ok(
        match get_json::<String>(tx, STS_PREFERENCES, account)?.as_deref() {
            Some("v2Token") => 2,
            _ => 1,
        },
    )
}

/// Service namespaces and their names as the Service Authorization Reference titles them:
/// berth's own services first, then common ones a policy may name.
pub const SERVICES: &[(&str, &str)] = &[
    ("ecs", "Amazon Elastic Container Service"),
    ("iam", "AWS Identity and Access Management"),
    ("kms", "AWS Key Management Service"),
    ("logs", "Amazon CloudWatch Logs"),
    ("secretsmanager", "AWS Secrets Manager"),
    ("ssm", "AWS Systems Manager"),
    ("sts", "AWS Security Token Service"),
    ("cloudwatch", "Amazon CloudWatch"),
    ("dynamodb", "Amazon DynamoDB"),
    ("ec2", "Amazon EC2"),
    ("ecr", "Amazon Elastic Container Registry"),
    ("elasticloadbalancing", "Elastic Load Balancing"),
    ("events", "Amazon EventBridge"),
    ("lambda", "AWS Lambda"),
    ("s3", "Amazon S3"),
    ("sns", "Amazon SNS"),
    ("sqs", "Amazon SQS"),
];

/// The name of a service namespace: berth's table's, or the namespace itself.
pub fn service_name(namespace: &str) -> String {
    SERVICES
        .iter()
        .find(|(ns, _)| *ns == namespace)
        .map_or_else(|| namespace.to_string(), |(_, n)| (*n).to_string())
}

/// One attempt to use an action, as recorded: the latest for its entity and action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    /// The entity's ARN at the time (a user's, a role's).
    pub entity_arn: String,
    /// `service:Operation` as authorised, e.g. `iam:ListUsers`.
    pub action: String,
    /// Seconds since the epoch.
    pub time: u64,
    pub region: String,
}

impl AccessRecord {
    /// The action's namespace, lowercased.
    pub fn namespace(&self) -> String {
        self.action
            .split_once(':')
            .map_or(self.action.as_str(), |(ns, _)| ns)
            .to_ascii_lowercase()
    }
}

/// A user or role a report covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessEntity {
    /// `USER` or `ROLE`.
    pub kind: String,
    pub arn: String,
    pub name: String,
    pub id: String,
    pub path: String,
}

/// The latest attempt in a service or on an action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastAccess {
    pub time: u64,
    pub entity_arn: String,
    pub region: String,
}

/// One action's latest attempt (ACTION_LEVEL reports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionAccess {
    /// The operation's name, without the namespace.
    pub name: String,
    pub last: LastAccess,
}

/// One service of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceAccess {
    pub namespace: String,
    pub name: String,
    pub last: Option<LastAccess>,
    /// How many of the report's entities tried the service.
    pub total_entities: u32,
    /// ACTION_LEVEL: the actions tried, latest first.
    pub actions: Vec<ActionAccess>,
    /// Each entity of the report with its latest attempt in the service.
    pub entities: Vec<(AccessEntity, Option<u64>)>,
}

/// A service last accessed job and its report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessJob {
    pub id: String,
    /// The user, group, role or policy ARN reported on.
    pub arn: String,
    pub action_level: bool,
    pub created: u64,
    pub services: Vec<ServiceAccess>,
}

/// A policy of an entity, as ListPoliciesGrantingServiceAccess names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPolicy {
    pub name: String,
    /// A managed policy's ARN; `None` for an inline policy.
    pub arn: Option<String>,
    /// An inline policy's holder: `USER`, `ROLE` or `GROUP`, and its name.
    pub holder: Option<(&'static str, String)>,
    pub document: String,
}

/// What an ARN given to the service last accessed operations names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessSubject {
    Entity(EntityKind),
    Policy,
}

/// `true` when the glob `pattern` (`*`, `?`; lowercased) matches `text`.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            (0..=text.len()).any(|i| text.get(i..).is_some_and(|t| glob(rest, t)))
        }
        Some((p, rest)) => match text.split_first() {
            Some((t, trest)) if *p == b'?' || p == t => glob(rest, trest),
            _ => false,
        },
    }
}

/// The `Action` / `NotAction` values of a statement, lowercased.
fn strings(v: Option<&serde_json::Value>) -> Vec<String> {
    match v {
        Some(serde_json::Value::String(s)) => vec![s.to_ascii_lowercase()],
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_ascii_lowercase))
            .collect(),
        _ => Vec::new(),
    }
}

/// What a document's `Allow` statements reach: action patterns, and the `NotAction` lists of
/// statements that allow everything but those.
struct Allowed {
    actions: Vec<String>,
    not_actions: Vec<Vec<String>>,
}

fn allowed(document: &str) -> Allowed {
    let mut out = Allowed {
        actions: Vec::new(),
        not_actions: Vec::new(),
    };
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(document) else {
        return out;
    };
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(a)) => a.iter().collect(),
        Some(s @ serde_json::Value::Object(_)) => vec![s],
        _ => Vec::new(),
    };
    for s in statements {
        if s.get("Effect").and_then(|e| e.as_str()) != Some("Allow") {
            continue;
        }
        out.actions.extend(strings(s.get("Action")));
        if s.get("NotAction").is_some() {
            out.not_actions.push(strings(s.get("NotAction")));
        }
    }
    out
}

/// The namespace part of an action pattern (`*` for `*`).
fn namespace_of(pattern: &str) -> &str {
    pattern.split_once(':').map_or(pattern, |(ns, _)| ns)
}

/// Whether a document allows any action of `namespace` (lowercased).
pub fn allows_namespace(document: &str, namespace: &str) -> bool {
    let a = allowed(document);
    a.actions
        .iter()
        .any(|p| glob(namespace_of(p).as_bytes(), namespace.as_bytes()))
        || a.not_actions.iter().any(|not| {
            !not.iter().any(|p| {
                glob(namespace_of(p).as_bytes(), namespace.as_bytes())
                    && p.split_once(':').is_none_or(|(_, op)| op == "*")
            })
        })
}

/// The namespaces the documents allow any action of, sorted.
pub fn allowed_namespaces<'a>(documents: impl IntoIterator<Item = &'a str>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in documents {
        let a = allowed(d);
        for p in &a.actions {
            let ns = namespace_of(p);
            if ns.contains(['*', '?']) {
                out.extend(
                    SERVICES
                        .iter()
                        .filter(|(s, _)| glob(ns.as_bytes(), s.as_bytes()))
                        .map(|(s, _)| (*s).to_string()),
                );
            } else if !ns.is_empty() {
                out.insert(ns.to_string());
            }
        }
        if !a.not_actions.is_empty() {
            out.extend(
                SERVICES
                    .iter()
                    .filter(|(s, _)| allows_namespace(d, s))
                    .map(|(s, _)| (*s).to_string()),
            );
        }
    }
    out
}

/// The report of `entities` (each with its records) on the services `documents` allow.
pub fn build_report(
    documents: &[String],
    entities: &[(AccessEntity, Vec<AccessRecord>)],
    action_level: bool,
) -> Vec<ServiceAccess> {
    allowed_namespaces(documents.iter().map(String::as_str))
        .into_iter()
        .map(|ns| {
            let mut last: Option<LastAccess> = None;
            let mut actions: BTreeMap<String, LastAccess> = BTreeMap::new();
            let mut per_entity = Vec::new();
            let mut total = 0;
            for (entity, records) in entities {
                let mut latest: Option<u64> = None;
                for r in records.iter().filter(|r| r.namespace() == ns) {
                    latest = latest.max(Some(r.time));
                    let here = LastAccess {
                        time: r.time,
                        entity_arn: r.entity_arn.clone(),
                        region: r.region.clone(),
                    };
                    if last.as_ref().is_none_or(|l| r.time > l.time) {
                        last = Some(here.clone());
                    }
                    let op = r.action.split_once(':').map_or("", |(_, op)| op);
                    let slot = actions
                        .entry(op.to_ascii_lowercase())
                        .or_insert(here.clone());
                    if r.time >= slot.time {
                        *slot = here;
                    }
                }
                if latest.is_some() {
                    total += 1;
                }
                per_entity.push((entity.clone(), latest));
            }
            let mut tracked: Vec<ActionAccess> = if action_level {
                entities
                    .iter()
                    .flat_map(|(_, rs)| rs.iter())
                    .filter(|r| r.namespace() == ns)
                    .filter_map(|r| {
                        let op = r.action.split_once(':').map_or("", |(_, op)| op);
                        let l = actions.remove(&op.to_ascii_lowercase())?;
                        Some(ActionAccess {
                            name: op.to_string(),
                            last: l,
                        })
                    })
                    .collect()
            } else {
                Vec::new()
            };
            tracked.sort_by(|a, b| b.last.time.cmp(&a.last.time).then(a.name.cmp(&b.name)));
            per_entity.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.arn.cmp(&b.0.arn)));
            ServiceAccess {
                name: service_name(&ns),
                namespace: ns,
                last,
                total_entities: total,
                actions: tracked,
                entities: per_entity,
            }
        })
        .collect()
}

fn user_entity(u: &User) -> AccessEntity {
    AccessEntity {
        kind: "USER".into(),
        arn: u.arn(),
        name: u.name.clone(),
        id: u.id.clone(),
        path: u.path.clone(),
    }
}

fn role_entity(r: &Role) -> AccessEntity {
    AccessEntity {
        kind: "ROLE".into(),
        arn: r.arn(),
        name: r.name.clone(),
        id: r.id.clone(),
        path: r.path.clone(),
    }
}

fn inline(
    policies: &[crate::InlinePolicy],
    holder: &'static str,
    name: &str,
    out: &mut Vec<NamedPolicy>,
) {
    out.extend(policies.iter().map(|p| NamedPolicy {
        name: p.name.clone(),
        arn: None,
        holder: Some((holder, name.to_string())),
        document: p.document.clone(),
    }));
}

fn managed(
    tx: &dyn Tx,
    account: &str,
    arns: &[String],
    out: &mut Vec<NamedPolicy>,
) -> Result<(), IamError> {
    for arn in arns {
        if let Some(p) = find_policy(tx, account, arn)? {
            out.push(NamedPolicy {
                name: p.name.clone(),
                arn: Some(p.arn.clone()),
                holder: None,
                document: p.document,
            });
        }
    }
    Ok(())
}

/// The ARN's kind and the entity's or policy's name; `None` for an ARN that names no user,
/// group, role or policy of IAM.
pub fn access_subject(arn: &str) -> Option<(AccessSubject, String)> {
    let parsed = berth_core::Arn::parse(arn).ok()?;
    if parsed.service != "iam" || !parsed.region.is_empty() {
        return None;
    }
    let (kind, rest) = [
        ("user/", AccessSubject::Entity(EntityKind::User)),
        ("role/", AccessSubject::Entity(EntityKind::Role)),
        ("group/", AccessSubject::Entity(EntityKind::Group)),
        ("policy/", AccessSubject::Policy),
    ]
    .into_iter()
    .find_map(|(p, k)| parsed.resource.strip_prefix(p).map(|r| (k, r)))?;
    let name = rest.rsplit('/').next().unwrap_or(rest);
    (!name.is_empty()).then(|| (kind, name.to_string()))
}

impl Iam<'_> {
    /// Sets the account's global endpoint token version: `v1Token` or `v2Token`.
    pub fn set_global_endpoint_token_version(
        &self,
        account: &str,
        version: &str,
    ) -> Result<(), IamError> {
        self.store.write(|tx| {
            put_json(tx, STS_PREFERENCES, account, &version.to_string())?;
            Ok(())
        })
    }

    /// Keeps `record` as the latest attempt of entity `entity_id` on its action, unless a later
    /// one is stored.
    pub fn record_access(
        &self,
        account: &str,
        entity_id: &str,
        record: &AccessRecord,
    ) -> Result<(), IamError> {
        let key = format!(
            "{account}/{entity_id}/{}",
            record.action.to_ascii_lowercase()
        );
        self.store.write(|tx| {
            if let Some(old) = get_json::<AccessRecord>(tx, ACCESS, &key)?
                && old.time >= record.time
            {
                return Ok(());
            }
            put_json(tx, ACCESS, &key, record)?;
            Ok(())
        })
    }

    /// The stored latest attempts of one entity, one per action.
    pub fn accesses(&self, account: &str, entity_id: &str) -> Result<Vec<AccessRecord>, IamError> {
        self.store.read(|tx| {
            Ok(
                scan_json::<AccessRecord>(tx, ACCESS, &format!("{account}/{entity_id}/"))?
                    .into_iter()
                    .map(|(_, r)| r)
                    .collect(),
            )
        })
    }

    /// The identity policies of the user, group or role `name` (a user's groups' included),
    /// named as ListPoliciesGrantingServiceAccess names them, and the entity's ARN.
    pub fn named_policies(
        &self,
        account: &str,
        kind: EntityKind,
        name: &str,
    ) -> Result<(String, Vec<NamedPolicy>), IamError> {
        self.store.read(|tx| {
            let mut out = Vec::new();
            let arn = match kind {
                EntityKind::User => {
                    let u: User = load(tx, account, name)?;
                    inline(&u.inline_policies, "USER", &u.name, &mut out);
                    managed(tx, account, &u.attached_policies, &mut out)?;
                    for g in &u.groups {
                        if let Some(g) =
                            get_json::<Group>(tx, entity::GROUPS, &entity::key(account, g))?
                        {
                            inline(&g.inline_policies, "GROUP", &g.name, &mut out);
                            managed(tx, account, &g.attached_policies, &mut out)?;
                        }
                    }
                    u.arn()
                }
                EntityKind::Role => {
                    let r: Role = load(tx, account, name)?;
                    inline(&r.inline_policies, "ROLE", &r.name, &mut out);
                    managed(tx, account, &r.attached_policies, &mut out)?;
                    r.arn()
                }
                EntityKind::Group => {
                    let g: Group = load(tx, account, name)?;
                    inline(&g.inline_policies, "GROUP", &g.name, &mut out);
                    managed(tx, account, &g.attached_policies, &mut out)?;
                    g.arn()
                }
            };
            Ok((arn, out))
        })
    }

    /// What a report on `arn` covers: the documents it reads, and the users and roles whose
    /// attempts count (a user, a role; a group's members; the users and roles a managed policy
    /// is attached to, directly or through a group). `NoSuchEntity` for what does not exist.
    pub fn access_scope(
        &self,
        account: &str,
        arn: &str,
    ) -> Result<(Vec<String>, Vec<AccessEntity>), IamError> {
        let not_found = |kind: AccessSubject, name: String| match kind {
            AccessSubject::Entity(EntityKind::User) => IamError::NoSuchUser(name),
            AccessSubject::Entity(EntityKind::Role) => IamError::NoSuchRole(name),
            AccessSubject::Entity(EntityKind::Group) => IamError::NoSuchGroup(name),
            AccessSubject::Policy => IamError::NoSuchPolicy(arn.to_string()),
        };
        let Some((kind, name)) = access_subject(arn) else {
            return Err(IamError::InvalidArn(arn.to_string()));
        };
        if berth_core::Arn::parse(arn).is_ok_and(|a| a.account != account && a.account != "aws") {
            return Err(not_found(kind, name));
        }
        match kind {
            AccessSubject::Entity(k) => {
                let (own, policies) = self.named_policies(account, k, &name)?;
                if own != arn {
                    return Err(not_found(kind, name));
                }
                let documents = policies.into_iter().map(|p| p.document).collect();
                let entities = self.store.read(|tx| {
                    Ok::<_, IamError>(match k {
                        EntityKind::User => vec![user_entity(&load::<User>(tx, account, &name)?)],
                        EntityKind::Role => vec![role_entity(&load::<Role>(tx, account, &name)?)],
                        EntityKind::Group => crate::groups::members(tx, account, &name)?
                            .iter()
                            .map(user_entity)
                            .collect(),
                    })
                })?;
                Ok((documents, entities))
            }
            AccessSubject::Policy => {
                let all = ListOptions {
                    marker: None,
                    max_items: usize::MAX,
                };
                let users = self.list_entities_for_policy(
                    account,
                    arn,
                    None,
                    None,
                    Some(crate::PolicyUsage::PermissionsPolicy),
                    all,
                )?;
                self.store.read(|tx| {
                    let policy = find_policy(tx, account, arn)?
                        .ok_or_else(|| IamError::NoSuchPolicy(arn.to_string()))?;
                    let mut entities = BTreeMap::new();
                    for e in &users.items {
                        match e.kind {
                            EntityKind::User => {
                                let u: User = load(tx, account, &e.name)?;
                                entities.insert(u.arn(), user_entity(&u));
                            }
                            EntityKind::Role => {
                                let r: Role = load(tx, account, &e.name)?;
                                entities.insert(r.arn(), role_entity(&r));
                            }
                            EntityKind::Group => {
                                for u in crate::groups::members(tx, account, &e.name)? {
                                    entities.insert(u.arn(), user_entity(&u));
                                }
                            }
                        }
                    }
                    Ok((vec![policy.document], entities.into_values().collect()))
                })
            }
        }
    }

    pub fn put_access_job(&self, account: &str, job: &AccessJob) -> Result<(), IamError> {
        self.store
            .write(|tx| Ok(put_json(tx, JOBS, &format!("{account}/{}", job.id), job)?))
    }

    pub fn access_job(&self, account: &str, id: &str) -> Result<Option<AccessJob>, IamError> {
        self.store
            .read(|tx| Ok(get_json(tx, JOBS, &format!("{account}/{id}"))?))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn rec(arn: &str, action: &str, time: u64) -> AccessRecord {
        AccessRecord {
            entity_arn: arn.into(),
            action: action.into(),
            time,
            region: "us-east-1".into(),
        }
    }

    #[test]
    fn the_allowed_namespaces_are_the_allow_statements() {
        let d = r#"{"Version":"2012-10-17","Statement":[
            {"Effect":"Allow","Action":["S3:Get*","ecs:ListClusters"],"Resource":"*"},
            {"Effect":"Deny","Action":"kms:*","Resource":"*"},
            {"Effect":"Allow","Action":"s*:List*","Resource":"*"}]}"#;
        let got: Vec<String> = allowed_namespaces([d]).into_iter().collect();
        assert_eq!(
            got,
            ["ecs", "s3", "secretsmanager", "sns", "sqs", "ssm", "sts"]
        );
        let not = r#"{"Statement":{"Effect":"Allow","NotAction":["iam:*","s3:*"],"Resource":"*"}}"#;
        let got = allowed_namespaces([not]);
        assert!(got.contains("kms") && !got.contains("iam") && !got.contains("s3"));
        assert!(allows_namespace(d, "s3") && !allows_namespace(d, "kms"));
        assert!(allowed_namespaces(["not json"]).is_empty());
    }

    #[test]
    fn the_report_counts_each_entitys_latest_attempt() {
        let doc =
            r#"{"Statement":[{"Effect":"Allow","Action":["iam:*","kms:Decrypt"],"Resource":"*"}]}"#;
        let e = |name: &str| AccessEntity {
            kind: "USER".into(),
            arn: format!("arn:aws:iam::1:user/{name}"),
            name: name.into(),
            id: name.into(),
            path: "/".into(),
        };
        let a = "arn:aws:iam::1:user/a";
        let b = "arn:aws:iam::1:user/b";
        let entities = vec![
            (
                e("a"),
                vec![rec(a, "iam:ListUsers", 10), rec(a, "iam:GetUser", 30)],
            ),
            (
                e("b"),
                vec![rec(b, "iam:ListUsers", 20), rec(b, "s3:GetObject", 50)],
            ),
        ];
        let report = build_report(&[doc.to_string()], &entities, true);
        assert_eq!(
            report
                .iter()
                .map(|s| s.namespace.as_str())
                .collect::<Vec<_>>(),
            ["iam", "kms"]
        );
        let iam = &report[0];
        assert_eq!(iam.name, "AWS Identity and Access Management");
        assert_eq!(iam.total_entities, 2);
        assert_eq!(
            iam.last.as_ref().map(|l| (l.time, l.entity_arn.as_str())),
            Some((30, a))
        );
        let actions: Vec<(&str, u64)> = iam
            .actions
            .iter()
            .map(|x| (x.name.as_str(), x.last.time))
            .collect();
        assert_eq!(actions, [("GetUser", 30), ("ListUsers", 20)]);
        assert_eq!(
            iam.entities
                .iter()
                .map(|(e, t)| (e.name.as_str(), *t))
                .collect::<Vec<_>>(),
            [("a", Some(30)), ("b", Some(20))]
        );
        let kms = &report[1];
        assert!(kms.last.is_none() && kms.total_entities == 0);
        let service_level = build_report(&[doc.to_string()], &entities, false);
        assert!(service_level[0].actions.is_empty());
    }

    #[test]
    fn subjects_are_users_groups_roles_and_policies() {
        assert_eq!(
            access_subject("arn:aws:iam::111122223333:user/eng/bob"),
            Some((AccessSubject::Entity(EntityKind::User), "bob".into()))
        );
        assert_eq!(
            access_subject("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            Some((AccessSubject::Policy, "ReadOnlyAccess".into()))
        );
        assert_eq!(access_subject("arn:aws:s3:::bucket"), None);
        assert_eq!(access_subject("arn:aws:iam::111122223333:user/"), None);
    }
}
