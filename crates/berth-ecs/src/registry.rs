//! Task definitions: register, describe, list, deregister, delete.
//!
//! Revisions count per family from 1 and never go back: the family's last revision is kept
//! even when every revision is deregistered or deleted.

use berth_store::{StoreExt, Tx, get_json, put_json, scan_json};

use crate::ecs::{Ecs, page};
use crate::error::EcsError;
use crate::model::{Failure, RegisterTaskDefinitionInput, Tag, TaskDefinition};
use crate::records::{Family, StoredTaskDef, T_FAMILIES, T_TASKDEFS};
use crate::taskdef;

/// AWS's text when DescribeTaskDefinition finds nothing.
pub const DESCRIBE_MISSING: &str = "Unable to describe task definition.";
/// AWS's text when DeregisterTaskDefinition (and DeleteTaskDefinitions) finds nothing.
pub const DEFINITION_MISSING: &str = "The specified task definition does not exist.";

/// The most task definitions one DeleteTaskDefinitions names.
pub const MAX_DELETE: usize = 10;

/// A parsed task definition reference: family and, when given, revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefRef {
    pub family: String,
    pub revision: Option<u64>,
}

impl Ecs<'_> {
    fn def_key(&self, family: &str, revision: u64) -> String {
        format!("{}{family}/{revision:010}", self.scope())
    }

    /// Parses `family`, `family:rev` or an ARN of this account and region; `None` when it
    /// names nothing here (another account's ARN included).
    pub fn parse_def_ref(&self, reference: &str) -> Option<DefRef> {
        let r = reference.trim();
        let body = if r.starts_with("arn:") {
            r.strip_prefix(&self.arn("task-definition/"))?
        } else {
            r
        };
        let (family, revision) = match body.split_once(':') {
            Some((f, rev)) => (f, Some(rev.parse::<u64>().ok()?)),
            None => (body, None),
        };
        taskdef::valid_name(family).then(|| DefRef {
            family: family.to_string(),
            revision,
        })
    }

    /// The revision a reference names; a bare family means its latest ACTIVE revision.
    pub(crate) fn find_def(
        &self,
        tx: &dyn Tx,
        reference: &str,
    ) -> Result<Option<StoredTaskDef>, EcsError> {
        let Some(r) = self.parse_def_ref(reference) else {
            return Ok(None);
        };
        match r.revision {
            Some(rev) => Ok(get_json(tx, T_TASKDEFS, &self.def_key(&r.family, rev))?),
            None => {
                // Newest first with a keyed cursor (revisions are zero-padded in the key), so
                // the latest ACTIVE revision costs a read or two, not the family's history.
                const CHUNK: usize = 16;
                let prefix = format!("{}{}/", self.scope(), r.family);
                let mut after: Option<String> = None;
                loop {
                    let chunk =
                        tx.scan_range(T_TASKDEFS, &prefix, after.as_deref(), true, CHUNK)?;
                    let n = chunk.len();
                    for (k, v) in chunk {
                        let d: StoredTaskDef = serde_json::from_slice(&v).map_err(|source| {
                            berth_store::StoreError::Decode {
                                table: T_TASKDEFS.into(),
                                key: k.clone(),
                                source,
                            }
                        })?;
                        if d.def.status == "ACTIVE" {
                            return Ok(Some(d));
                        }
                        after = Some(k);
                    }
                    if n < CHUNK {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// RegisterTaskDefinition.
    pub fn register_task_definition(
        &self,
        mut input: RegisterTaskDefinitionInput,
        registered_by: &str,
        now: u64,
    ) -> Result<(TaskDefinition, Vec<Tag>), EcsError> {
        taskdef::validate(self.account, &mut input)?;
        let requires_attributes = taskdef::requires_attributes(&input);
        let compatibilities = taskdef::compatibilities(&input);
        let family = input.family.clone().unwrap_or_default();
        self.store.write(|tx| {
            let fkey = format!("{}{family}", self.scope());
            let mut fam: Family = get_json(tx, T_FAMILIES, &fkey)?.unwrap_or_default();
            fam.last_revision += 1;
            put_json(tx, T_FAMILIES, &fkey, &fam)?;
            let revision = fam.last_revision;
            let def = TaskDefinition {
                task_definition_arn: self.task_definition_arn(&family, revision),
                container_definitions: input.container_definitions,
                family: family.clone(),
                task_role_arn: input.task_role_arn,
                execution_role_arn: input.execution_role_arn,
                network_mode: input.network_mode,
                revision,
                volumes: input.volumes,
                status: "ACTIVE".into(),
                requires_attributes,
                placement_constraints: input.placement_constraints,
                compatibilities,
                requires_compatibilities: input.requires_compatibilities,
                cpu: input.cpu,
                memory: input.memory,
                registered_at: now,
                deregistered_at: None,
                delete_requested_at: None,
                registered_by: Some(registered_by.to_string()),
                extra: input.extra,
            };
            let stored = StoredTaskDef {
                def: def.clone(),
                tags: input.tags,
            };
            put_json(tx, T_TASKDEFS, &self.def_key(&family, revision), &stored)?;
            Ok((def, stored.tags))
        })
    }

    /// DescribeTaskDefinition: the definition and its tags.
    pub fn describe_task_definition(
        &self,
        reference: &str,
    ) -> Result<(TaskDefinition, Vec<Tag>), EcsError> {
        self.store.read(|tx| {
            self.find_def(tx, reference)?
                .map(|d| (d.def, d.tags))
                .ok_or_else(|| EcsError::Client(DESCRIBE_MISSING.into()))
        })
    }

    /// ListTaskDefinitions: `family_prefix` is the exact family, as AWS treats it.
    pub fn list_task_definitions(
        &self,
        family_prefix: Option<&str>,
        status: Option<&str>,
        descending: bool,
        token: Option<&str>,
        max: Option<i64>,
    ) -> Result<(Vec<String>, Option<String>), EcsError> {
        let status = status.unwrap_or("ACTIVE");
        let prefix = match family_prefix {
            Some(f) => format!("{}{f}/", self.scope()),
            None => self.scope(),
        };
        let all: Vec<(String, StoredTaskDef)> =
            self.store.read(|tx| scan_json(tx, T_TASKDEFS, &prefix))?;
        let mut items: Vec<(String, String)> = all
            .into_iter()
            .filter(|(_, d)| d.def.status == status)
            .map(|(k, d)| (k, d.def.task_definition_arn))
            .collect();
        if descending {
            items.reverse();
        }
        page(&items, token, max)
    }

    /// ListTaskDefinitionFamilies: ACTIVE families have an ACTIVE revision; INACTIVE ones none.
    pub fn list_task_definition_families(
        &self,
        family_prefix: Option<&str>,
        status: Option<&str>,
        token: Option<&str>,
        max: Option<i64>,
    ) -> Result<(Vec<String>, Option<String>), EcsError> {
        let status = status.unwrap_or("ACTIVE");
        let all: Vec<(String, StoredTaskDef)> = self
            .store
            .read(|tx| scan_json(tx, T_TASKDEFS, &self.scope()))?;
        let mut families: Vec<(String, bool)> = Vec::new();
        for (_, d) in all {
            if family_prefix.is_some_and(|p| !d.def.family.starts_with(p)) {
                continue;
            }
            let active = d.def.status == "ACTIVE";
            match families.iter_mut().find(|(f, _)| *f == d.def.family) {
                Some((_, a)) => *a |= active,
                None => families.push((d.def.family.clone(), active)),
            }
        }
        let items: Vec<(String, String)> = families
            .into_iter()
            .filter(|(_, active)| match status {
                "ALL" => true,
                "INACTIVE" => !active,
                _ => *active,
            })
            .map(|(f, _)| (f.clone(), f))
            .collect();
        page(&items, token, max)
    }

    /// DeregisterTaskDefinition: the revision becomes INACTIVE (its number is never reused).
    pub fn deregister_task_definition(
        &self,
        reference: &str,
        now: u64,
    ) -> Result<TaskDefinition, EcsError> {
        let missing = || EcsError::Client(DEFINITION_MISSING.into());
        // A revision is required; AWS's wording for a bare family is not known to berth, so it
        // answers as for a definition that does not exist.
        let r = self.parse_def_ref(reference).ok_or_else(missing)?;
        let rev = r.revision.ok_or_else(missing)?;
        self.store.write(|tx| {
            let key = self.def_key(&r.family, rev);
            let mut d: StoredTaskDef = get_json(tx, T_TASKDEFS, &key)?.ok_or_else(missing)?;
            if d.def.status == "ACTIVE" {
                d.def.status = "INACTIVE".into();
                d.def.deregistered_at = Some(now);
                put_json(tx, T_TASKDEFS, &key, &d)?;
            }
            Ok(d.def)
        })
    }

    /// DeleteTaskDefinitions: INACTIVE revisions move to DELETE_IN_PROGRESS.
    pub fn delete_task_definitions(
        &self,
        references: &[String],
        now: u64,
    ) -> Result<(Vec<TaskDefinition>, Vec<Failure>), EcsError> {
        if references.len() > MAX_DELETE {
            // AWS documents "up to 10 task definitions"; its wording is not known to berth.
            return Err(EcsError::InvalidParameter(format!(
                "taskDefinitions can have at most {MAX_DELETE} items."
            )));
        }
        self.store.write(|tx| {
            let mut out = Vec::new();
            let mut failures = Vec::new();
            for given in references {
                let found = match self.parse_def_ref(given) {
                    Some(DefRef {
                        family,
                        revision: Some(rev),
                    }) => get_json::<StoredTaskDef>(tx, T_TASKDEFS, &self.def_key(&family, rev))?
                        .map(|d| (self.def_key(&family, rev), d)),
                    _ => None,
                };
                let Some((key, mut d)) = found else {
                    failures.push(Failure::new(given, DEFINITION_MISSING));
                    continue;
                };
                if d.def.status == "ACTIVE" {
                    // AWS refuses to delete an ACTIVE revision; berth is not sure of its exact
                    // failure reason text.
                    failures.push(Failure::new(
                        &d.def.task_definition_arn,
                        "The specified task definition is still in ACTIVE status. Please deregister the target and try again.",
                    ));
                    continue;
                }
                if d.def.status == "INACTIVE" {
                    d.def.status = "DELETE_IN_PROGRESS".into();
                    d.def.delete_requested_at = Some(now);
                    put_json(tx, T_TASKDEFS, &key, &d)?;
                }
                out.push(d.def);
            }
            Ok((out, failures))
        })
    }
}
