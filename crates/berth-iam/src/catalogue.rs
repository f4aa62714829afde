//! The AWS managed policies berth serves to every account (`arn:aws:iam::aws:policy/…`), from
//! `data/aws-managed-policies.json` (AWS's own names, ids, paths, default versions, dates and
//! documents; see `data/README.md` for where they come from). The file is compiled into the
//! binary and read once.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

use crate::ManagedPolicy;

/// The AWS managed policy for ECS task execution roles.
pub const ECS_TASK_EXECUTION_ROLE_POLICY_ARN: &str =
    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

const DATA: &str = include_str!("../data/aws-managed-policies.json");

/// One policy as the data file has it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    id: String,
    path: String,
    default_version_id: String,
    /// `2017-11-16T18:48:22Z`
    created: String,
    updated: String,
    #[serde(default)]
    description: Option<String>,
    document: String,
}

struct Catalogue {
    policies: Vec<ManagedPolicy>,
    by_arn: HashMap<String, usize>,
}

fn load() -> Result<Vec<ManagedPolicy>, String> {
    let entries: Vec<Entry> = serde_json::from_str(DATA).map_err(|e| e.to_string())?;
    entries
        .into_iter()
        .map(|e| {
            let date = |s: &str| {
                berth_core::time::parse_iso8601(s)
                    .ok_or_else(|| format!("{}: bad date {s}", e.name))
            };
            Ok(ManagedPolicy {
                arn: format!("arn:aws:iam::aws:policy{}{}", e.path, e.name),
                created_at: date(&e.created)?,
                updated_at: date(&e.updated)?,
                name: e.name,
                id: e.id,
                path: e.path,
                description: e.description,
                document: e.document,
                default_version_id: e.default_version_id,
                tags: Vec::new(),
                versions: Vec::new(),
                next_version: 0,
            })
        })
        .collect()
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    // The file is part of the build and its test loads it; a fault here would leave the
    // catalogue empty rather than stop the server.
    let policies = load().unwrap_or_default();
    let by_arn = policies
        .iter()
        .enumerate()
        .map(|(i, p)| (p.arn.clone(), i))
        .collect();
    Catalogue { policies, by_arn }
});

/// Every AWS managed policy berth knows, by name (case-insensitively).
pub fn aws_managed_policies() -> &'static [ManagedPolicy] {
    &CATALOGUE.policies
}

/// The AWS managed policy with this ARN.
pub fn aws_managed_policy(arn: &str) -> Option<&'static ManagedPolicy> {
    let c = &*CATALOGUE;
    c.by_arn.get(arn).and_then(|i| c.policies.get(*i))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_catalogue_loads_and_every_document_is_valid() {
        let all = load().unwrap();
        assert!(all.len() >= 100, "{}", all.len());
        for p in &all {
            berth_policy::parse(&p.document, berth_policy::PolicyKind::Identity)
                .unwrap_or_else(|e| panic!("{}: {e}", p.name));
            assert!(p.id.starts_with("ANPA") && p.id.len() == 21, "{}", p.id);
            assert!(p.path.starts_with('/') && p.path.ends_with('/'));
            assert!(p.default_version_id.starts_with('v'));
        }
        let names: Vec<String> = all.iter().map(|p| p.name.to_ascii_lowercase()).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(names, sorted, "sorted by name, each once");
        for wanted in [
            "AdministratorAccess",
            "PowerUserAccess",
            "ReadOnlyAccess",
            "IAMFullAccess",
            "AWSLambdaBasicExecutionRole",
            "AmazonECS_FullAccess",
            "AmazonEC2ContainerRegistryReadOnly",
            "SecretsManagerReadWrite",
            "AmazonSSMReadOnlyAccess",
            "CloudWatchLogsFullAccess",
            "AWSKeyManagementServicePowerUser",
        ] {
            assert!(all.iter().any(|p| p.name == wanted), "{wanted}");
        }
    }

    #[test]
    fn the_ecs_task_execution_policy_is_one_entry() {
        let p = aws_managed_policy(ECS_TASK_EXECUTION_ROLE_POLICY_ARN).unwrap();
        assert_eq!(p.name, "AmazonECSTaskExecutionRolePolicy");
        assert_eq!(p.id, "ANPAJG4T4G4PV56DE72PY");
        assert_eq!(p.path, "/service-role/");
        assert_eq!(p.created_at, 1_510_858_102);
        assert!(p.document.contains("ecr:GetAuthorizationToken"));
        assert!(aws_managed_policy("arn:aws:iam::aws:policy/Nope").is_none());
    }
}
