//! TagResource, UntagResource and ListTagsForResource on clusters, task definitions, tasks,
//! services and container instances, named by ARN.

use berth_store::{StoreExt, Tx, get_json, put_json};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ecs::Ecs;
use crate::error::EcsError;
use crate::model::Tag;
use crate::records::{
    StoredCluster, StoredInstance, StoredTask, StoredTaskDef, T_CLUSTERS, T_INSTANCES, T_TASKDEFS,
    T_TASKS,
};
use crate::taskdef::{self, MAX_TAGS};

/// AWS's text for a resource ARN that names nothing (`ResourceNotFoundException`).
pub const RESOURCE_NOT_FOUND: &str = "The specified resource could not be found.";
/// The longest tag key and value (AWS documents 128 and 256 characters).
pub const MAX_KEY_CHARS: usize = 128;
pub const MAX_VALUE_CHARS: usize = 256;

fn bad(msg: &str) -> EcsError {
    EcsError::InvalidParameter(msg.to_string())
}

fn missing() -> EcsError {
    EcsError::ResourceNotFound(RESOURCE_NOT_FOUND.into())
}

/// The tags a caller may set: keys 1–128 characters, values at most 256, and no key in the
/// `aws:` prefix, which AWS reserves. AWS's wording for these is not known to berth.
pub fn check_tags(tags: &[Tag]) -> Result<(), EcsError> {
    taskdef::check_tag_count(tags.len())?;
    for t in tags {
        let key = t.key.as_deref().unwrap_or("");
        let chars = key.chars().count();
        if chars == 0 || chars > MAX_KEY_CHARS {
            return Err(bad("Tag keys must be between 1 and 128 characters."));
        }
        if t.value.as_deref().unwrap_or("").chars().count() > MAX_VALUE_CHARS {
            return Err(bad("Tag values must be at most 256 characters."));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad(
                "Tag keys with the 'aws:' prefix are reserved for AWS use.",
            ));
        }
    }
    Ok(())
}

/// The kinds of ECS resource that carry tags.
enum Target {
    Cluster(String),
    TaskDefinition(String, u64),
    Task(String, String),
    Service(String, String),
    Instance(String, String),
}

impl Ecs<'_> {
    fn target(&self, arn: &str) -> Result<Target, EcsError> {
        let rest = arn.strip_prefix(&self.arn("")).ok_or_else(|| {
            // Another account's or region's ARN, or no ECS ARN at all.
            bad(&format!("Invalid resource ARN: {arn}"))
        })?;
        let (kind, body) = rest.split_once('/').ok_or_else(missing)?;
        let two = |b: &str| -> Result<(String, String), EcsError> {
            match b.split_once('/') {
                Some((c, n)) if taskdef::valid_name(c) && !n.is_empty() && !n.contains('/') => {
                    Ok((c.to_string(), n.to_string()))
                }
                _ => Err(missing()),
            }
        };
        Ok(match kind {
            "cluster" if taskdef::valid_name(body) => Target::Cluster(body.to_string()),
            "task-definition" => {
                let d = self.parse_def_ref(body).ok_or_else(missing)?;
                Target::TaskDefinition(d.family, d.revision.ok_or_else(missing)?)
            }
            "task" => {
                let (c, n) = two(body)?;
                Target::Task(c, n)
            }
            "service" => {
                let (c, n) = two(body)?;
                Target::Service(c, n)
            }
            "container-instance" => {
                let (c, n) = two(body)?;
                Target::Instance(c, n)
            }
            _ => return Err(missing()),
        })
    }

    /// Applies `f` to the tags of the resource `arn` names (inside one transaction); the
    /// resource is written back when `write`.
    fn with_tags(
        &self,
        arn: &str,
        write: bool,
        f: &mut dyn FnMut(&mut Vec<Tag>) -> Result<(), EcsError>,
    ) -> Result<(), EcsError> {
        let target = self.target(arn)?;
        let scope = self.scope();
        let run = |tx: &dyn Tx| -> Result<(), EcsError> {
            match &target {
                Target::Cluster(name) => {
                    let key = format!("{scope}{name}");
                    edit::<StoredCluster>(tx, T_CLUSTERS, &key, write, &mut |c| {
                        if c.cluster.status != "ACTIVE" {
                            return Err(EcsError::ClusterNotFound);
                        }
                        f(&mut c.cluster.tags)
                    })?
                    .ok_or(EcsError::ClusterNotFound)
                }
                Target::TaskDefinition(family, rev) => {
                    let key = format!("{scope}{family}/{rev:010}");
                    edit::<StoredTaskDef>(tx, T_TASKDEFS, &key, write, &mut |d| f(&mut d.tags))?
                        .ok_or_else(missing)
                }
                Target::Task(cluster, id) => {
                    let key = format!("{scope}{cluster}/{id}");
                    edit::<StoredTask>(tx, T_TASKS, &key, write, &mut |t| f(&mut t.task.tags))?
                        .ok_or_else(missing)
                }
                Target::Instance(cluster, id) => {
                    let key = format!("{scope}{cluster}/{id}");
                    edit::<StoredInstance>(tx, T_INSTANCES, &key, write, &mut |i| {
                        if i.instance.status == "INACTIVE" {
                            return Err(missing());
                        }
                        f(&mut i.instance.tags)
                    })?
                    .ok_or_else(missing)
                }
                Target::Service(cluster, name) => {
                    if self.service_tags_mut(tx, cluster, name, write, f)? {
                        Ok(())
                    } else {
                        Err(missing())
                    }
                }
            }
        };
        if write {
            self.store.write(run)
        } else {
            self.store.read(run)
        }
    }

    /// TagResource: adds `tags`, replacing the value of a key already there; at most 50 tags.
    pub fn tag_resource(&self, arn: &str, tags: &[Tag]) -> Result<(), EcsError> {
        check_tags(tags)?;
        self.with_tags(arn, true, &mut |have| {
            for t in tags {
                match have.iter_mut().find(|h| h.key == t.key) {
                    Some(h) => h.value = t.value.clone(),
                    None => have.push(t.clone()),
                }
            }
            if have.len() > MAX_TAGS {
                return Err(bad(&format!(
                    "A resource can have at most {MAX_TAGS} tags."
                )));
            }
            Ok(())
        })
    }

    /// UntagResource: removes the tags with these keys (absent keys are no error).
    pub fn untag_resource(&self, arn: &str, keys: &[String]) -> Result<(), EcsError> {
        self.with_tags(arn, true, &mut |have| {
            have.retain(|t| !keys.iter().any(|k| t.key.as_deref() == Some(k.as_str())));
            Ok(())
        })
    }

    /// ListTagsForResource.
    pub fn list_tags_for_resource(&self, arn: &str) -> Result<Vec<Tag>, EcsError> {
        let mut out = Vec::new();
        self.with_tags(arn, false, &mut |have| {
            out = have.clone();
            Ok(())
        })?;
        Ok(out)
    }
}

/// Reads the record at `key`, applies `f`, writes it back when `write`; `None` when absent.
fn edit<T: Serialize + DeserializeOwned>(
    tx: &dyn Tx,
    table: &str,
    key: &str,
    write: bool,
    f: &mut dyn FnMut(&mut T) -> Result<(), EcsError>,
) -> Result<Option<()>, EcsError> {
    let Some(mut v) = get_json::<T>(tx, table, key)? else {
        return Ok(None);
    };
    f(&mut v)?;
    if write {
        put_json(tx, table, key, &v)?;
    }
    Ok(Some(()))
}
