//! The [`Ecs`] handle: the account and region a call acts in, and the names it builds from
//! them (record keys, ARNs, cluster references). The operations are in the modules that own
//! each resource.

use berth_store::Store;

use crate::error::EcsError;
use crate::taskdef;

/// The name of the cluster used when a call names none.
pub const DEFAULT_CLUSTER: &str = "default";

/// Who makes a call, as far as the agent binding cares: the principal's identity (an assumed
/// role's session counts as its role ARN, so refreshed sessions stay the same agent) and whether
/// it is the account's root user.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub identity: &'a str,
    pub root: bool,
}

/// The availability zone berth gives a region's Fargate tasks and, unless told otherwise
/// (`BERTH_AVAILABILITY_ZONE`), its agents' instances: one zone per region, named as AWS names
/// a region's first zone.
pub fn default_zone(region: &str) -> String {
    format!("{region}a")
}

/// The attribute in which an instance advertises its zone (as the ECS agent does).
pub const ZONE_ATTRIBUTE: &str = "ecs.availability-zone";

/// The ECS control plane of one account in one region.
pub struct Ecs<'a> {
    pub(crate) store: &'a dyn Store,
    pub(crate) account: &'a str,
    pub(crate) region: &'a str,
}

impl<'a> Ecs<'a> {
    pub fn new(store: &'a dyn Store, account: &'a str, region: &'a str) -> Ecs<'a> {
        Ecs {
            store,
            account,
            region,
        }
    }

    pub fn account(&self) -> &str {
        self.account
    }

    pub fn region(&self) -> &str {
        self.region
    }

    /// The key prefix of this account and region's records.
    pub(crate) fn scope(&self) -> String {
        format!("{}/{}/", self.account, self.region)
    }

    pub(crate) fn arn(&self, resource: &str) -> String {
        format!("arn:aws:ecs:{}:{}:{resource}", self.region, self.account)
    }

    /// The ARN of the cluster named `name`.
    pub fn cluster_arn(&self, name: &str) -> String {
        self.arn(&format!("cluster/{name}"))
    }

    /// The ARN of a task definition revision.
    pub fn task_definition_arn(&self, family: &str, revision: u64) -> String {
        self.arn(&format!("task-definition/{family}:{revision}"))
    }

    /// The cluster name a reference (name or ARN, `None` = `default`) means, or
    /// `ClusterNotFound` for an ARN of another account or region.
    pub fn cluster_name(&self, reference: Option<&str>) -> Result<String, EcsError> {
        let r = reference.map(str::trim).filter(|s| !s.is_empty());
        let Some(r) = r else {
            return Ok(DEFAULT_CLUSTER.to_string());
        };
        if r.starts_with("arn:") {
            let prefix = self.arn("cluster/");
            return r
                .strip_prefix(&prefix)
                .filter(|n| taskdef::valid_name(n))
                .map(str::to_string)
                .ok_or(EcsError::ClusterNotFound);
        }
        // Keys are built from the name: anything that is not a cluster name names no cluster.
        if !taskdef::valid_name(r) {
            return Err(EcsError::ClusterNotFound);
        }
        Ok(r.to_string())
    }
}

/// The most resources one Describe call names (DescribeTasks, DescribeClusters,
/// DescribeContainerInstances), as AWS documents.
pub const MAX_DESCRIBE: usize = 100;

/// More than [`MAX_DESCRIBE`] names in a Describe call. AWS's words for DescribeTasks are
/// `taskIds can have at most 100 items.`; for the others berth words it alike (`clusters`,
/// `containerInstances`), AWS's own wording not being known to it.
pub fn check_describe_count(member: &str, n: usize) -> Result<(), EcsError> {
    if n > MAX_DESCRIBE {
        return Err(EcsError::InvalidParameter(format!(
            "{member} can have at most {MAX_DESCRIBE} items."
        )));
    }
    Ok(())
}

/// A 32-character lower-case hex id, as ECS task and container instance ids are.
pub(crate) fn new_id() -> String {
    let mut b = [0u8; 16];
    berth_core::ids::random_bytes(&mut b);
    hex::encode(b)
}

/// A UUID-shaped id (container ARNs).
pub(crate) fn new_uuid() -> String {
    berth_core::ids::request_id()
}

/// Pagination: `items` sorted, starting after `token`, at most `max` (1–100, default 100).
pub(crate) fn page<T: Clone>(
    items: &[(String, T)],
    token: Option<&str>,
    max: Option<i64>,
) -> Result<(Vec<T>, Option<String>), EcsError> {
    let max = match max {
        None => 100,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => {
            return Err(EcsError::InvalidParameter(
                "maxResults must be between 1 and 100".into(),
            ));
        }
    };
    // The token is the key of the last item of the previous page.
    let start = match token.filter(|t| !t.is_empty()) {
        None => 0,
        Some(t) => match items.iter().position(|(k, _)| k == t) {
            Some(i) => i + 1,
            None => {
                return Err(EcsError::InvalidParameter(
                    "the nextToken is not valid".into(),
                ));
            }
        },
    };
    let rest = &items[start..];
    let taken: Vec<T> = rest.iter().take(max).map(|(_, v)| v.clone()).collect();
    let next = (rest.len() > max).then(|| rest[max - 1].0.clone());
    Ok((taken, next))
}
