//! Replication across berth's regions: ReplicateSecretToRegions (and CreateSecret's
//! AddReplicaRegions), RemoveRegionsFromReplication, StopReplicationToReplica. A replica is a
//! read-only secret of the same name and ARN suffix in another region, its values sealed under
//! a key of that region (asked for as the caller), with `PrimaryRegion` naming the primary's
//! region. Every write to the primary is carried to its replicas in the same request.
//! Cross-account replicas (AssociateCrossAccountReplica, DisassociateCrossAccountReplica) are
//! not part of berth.

use berth_secrets::{Replica, Secret, SecretsError, Version};
use serde::{Deserialize, Serialize};

use super::{find, now_ms, open, seal_in, secrets, wire_date};
use crate::kms::required;
use crate::{Ctx, Error};

/// One region to replicate to, as the input gives it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicaRegionInput {
    pub region: Option<String>,
    pub kms_key_id: Option<String>,
}

/// One replica as DescribeSecret and the replication operations show it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationStatusOutput {
    pub region: String,
    pub kms_key_id: String,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_accessed_date: Option<f64>,
}

impl ReplicationStatusOutput {
    pub fn of(r: &Replica, last_accessed: Option<u64>) -> ReplicationStatusOutput {
        ReplicationStatusOutput {
            region: r.region.clone(),
            kms_key_id: r
                .kms_key_id
                .clone()
                .unwrap_or_else(|| berth_kms::SECRETS_MANAGER_ALIAS.to_string()),
            status: r.status.clone(),
            status_message: r.message.clone(),
            last_accessed_date: last_accessed.map(wire_date),
        }
    }
}

/// A failure's message as AWS would say it, for a replica's StatusMessage.
fn reason(e: Error) -> String {
    e.into_aws().message.unwrap_or_default()
}

const IN_SYNC: &str = "InSync";
const FAILED: &str = "Failed";
/// AWS's StatusMessage of a replica in sync.
const SUCCEEDED: &str = "Replication succeeded";

/// Checks the regions to replicate to: berth's regions, not the caller's own, each once.
pub(crate) fn replica_regions_of(
    ctx: &Ctx<'_>,
    list: Vec<ReplicaRegionInput>,
) -> Result<Vec<(String, Option<String>)>, Error> {
    let mut out: Vec<(String, Option<String>)> = Vec::new();
    for r in list {
        let region = required(r.region, "region")?;
        if !berth_core::ids::is_region(&region) {
            return Err(Error::Validation(format!(
                "1 validation error detected: Value '{region}' at 'addReplicaRegions.1.member.region' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([a-z]+-)+\\d+$"
            )));
        }
        // berth's words: AWS's texts for these cases are not known to berth.
        if !ctx.control.regions.contains(&region) {
            return Err(Error::InvalidParameter(format!(
                "berth does not answer to region {region}"
            )));
        }
        if region == ctx.caller.region {
            return Err(Error::InvalidParameter(format!(
                "a secret cannot be replicated to its own region {region}"
            )));
        }
        if out.iter().any(|(r, _)| *r == region) {
            return Err(Error::InvalidParameter(format!(
                "region {region} is given more than once"
            )));
        }
        let kms = r
            .kms_key_id
            .filter(|k| !k.is_empty() && k != berth_kms::SECRETS_MANAGER_ALIAS);
        out.push((region, kms));
    }
    Ok(out)
}

/// The ARN of `primary`'s replica in `region`: the same, with the region changed.
fn replica_arn(primary: &Secret, region: &str) -> String {
    match berth_core::Arn::parse(&primary.arn) {
        Ok(mut a) => {
            a.region = region.to_string();
            a.to_string()
        }
        Err(_) => primary.arn.clone(),
    }
}

/// Writes (or refreshes) `primary`'s replica in `region`, sealing the values it lacks under
/// the replica's key; `Err` carries the reason the replica is `Failed`.
fn write_one(
    ctx: &Ctx<'_>,
    primary: &Secret,
    replica: &Replica,
    overwrite: bool,
) -> Result<(), Error> {
    let sm = secrets(ctx);
    let now = now_ms(ctx);
    let arn = replica_arn(primary, &replica.region);
    let existing = sm.by_name(&primary.account, &replica.region, &primary.name, now)?;
    let existing = match existing {
        // This primary's own replica (a promoted one is a secret of its own).
        Some(e) if e.arn == arn && e.primary_region.as_deref() == Some(primary.region.as_str()) => {
            Some(e)
        }
        Some(_) if !overwrite => {
            // AWS's text for this case is not known to berth.
            return Err(Error::InvalidRequest(format!(
                "a secret named {} already exists in {}",
                primary.name, replica.region
            )));
        }
        _ => None,
    };
    let mut values = Vec::new();
    let mut versions: Vec<Version> = Vec::new();
    for v in &primary.versions {
        let kept = existing.as_ref().and_then(|e| e.version(&v.id)).cloned();
        match kept {
            Some(mut k) => {
                k.stages = v.stages.clone();
                versions.push(k);
            }
            None => {
                let plain = open(ctx, primary, v)?;
                let sealed = seal_in(
                    ctx,
                    &replica.region,
                    &primary.account,
                    &arn,
                    replica.kms_key_id.as_deref(),
                    &v.id,
                    &plain,
                )?;
                versions.push(Version {
                    kms_key_arn: sealed.kms_key_arn.clone(),
                    ..v.clone()
                });
                values.push(sealed);
            }
        }
    }
    let record = Secret {
        arn,
        region: replica.region.clone(),
        kms_key_id: replica.kms_key_id.clone(),
        primary_region: Some(primary.region.clone()),
        replicas: Vec::new(),
        resource_policy: primary.resource_policy.clone(),
        last_accessed: existing.as_ref().and_then(|e| e.last_accessed),
        versions,
        ..primary.clone()
    };
    sm.write_replica(&record, values)?;
    Ok(())
}

/// Replicates `primary` to `regions` (added to those it has); returns the primary as stored.
pub(crate) fn replicate(
    ctx: &Ctx<'_>,
    primary: &Secret,
    regions: Vec<(String, Option<String>)>,
    overwrite: bool,
) -> Result<Secret, Error> {
    let mut replicas = primary.replicas.clone();
    for (region, kms_key_id) in regions {
        let mut r = Replica {
            region: region.clone(),
            kms_key_id,
            status: IN_SYNC.into(),
            message: Some(SUCCEEDED.into()),
        };
        if let Err(e) = write_one(ctx, primary, &r, overwrite) {
            r.status = FAILED.into();
            r.message = Some(reason(e));
        }
        replicas.retain(|x| x.region != region);
        replicas.push(r);
    }
    Ok(secrets(ctx).set_replicas(primary, replicas, now_ms(ctx))?)
}

/// Carries a write to `primary` over to its replicas; returns the primary as stored.
pub(crate) fn sync_replicas(ctx: &Ctx<'_>, primary: Secret) -> Result<Secret, Error> {
    if primary.replicas.is_empty() {
        return Ok(primary);
    }
    let mut replicas = primary.replicas.clone();
    for r in &mut replicas {
        match write_one(ctx, &primary, r, false) {
            Ok(()) => {
                r.status = IN_SYNC.into();
                r.message = Some(SUCCEEDED.into());
            }
            Err(e) => {
                r.status = FAILED.into();
                r.message = Some(reason(e));
            }
        }
    }
    if replicas == primary.replicas {
        return Ok(primary);
    }
    Ok(secrets(ctx).set_replicas(&primary, replicas, now_ms(ctx))?)
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicateSecretToRegionsInput {
    pub secret_id: Option<String>,
    pub add_replica_regions: Option<Vec<ReplicaRegionInput>>,
    pub force_overwrite_replica_secret: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReplicationOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
    pub replication_status: Vec<ReplicationStatusOutput>,
}

fn replication_output(s: Secret) -> ReplicationOutput {
    ReplicationOutput {
        replication_status: s
            .replicas
            .iter()
            .map(|r| ReplicationStatusOutput::of(r, None))
            .collect(),
        arn: s.arn,
    }
}

fn primary_only(s: &Secret) -> Result<(), Error> {
    s.check_not_deleted()?;
    super::not_replica(s)
}

pub fn replicate_secret_to_regions(
    ctx: &Ctx<'_>,
    input: ReplicateSecretToRegionsInput,
) -> Result<ReplicationOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let list = required(input.add_replica_regions, "addReplicaRegions")?;
    if list.is_empty() {
        return Err(Error::Validation(
            "1 validation error detected: Value '[]' at 'addReplicaRegions' failed to satisfy constraint: Member must have length greater than or equal to 1".into(),
        ));
    }
    let regions = replica_regions_of(ctx, list)?;
    let secret = find(ctx, id, "secretsmanager:ReplicateSecretToRegions")?;
    primary_only(&secret)?;
    let out = replicate(
        ctx,
        &secret,
        regions,
        input.force_overwrite_replica_secret.unwrap_or(false),
    )?;
    Ok(replication_output(out))
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveRegionsFromReplicationInput {
    pub secret_id: Option<String>,
    pub remove_replica_regions: Option<Vec<String>>,
}

pub fn remove_regions_from_replication(
    ctx: &Ctx<'_>,
    input: RemoveRegionsFromReplicationInput,
) -> Result<ReplicationOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let regions = required(input.remove_replica_regions, "removeReplicaRegions")?;
    let secret = find(ctx, id, "secretsmanager:RemoveRegionsFromReplication")?;
    primary_only(&secret)?;
    for region in &regions {
        if !secret.replicas.iter().any(|r| &r.region == region) {
            // AWS's text for this case is not known to berth.
            return Err(Error::InvalidParameter(format!(
                "the secret does not replicate to region {region}"
            )));
        }
    }
    let sm = secrets(ctx);
    let now = now_ms(ctx);
    for region in &regions {
        if let Some(r) = sm.by_name(&secret.account, region, &secret.name, now)?
            && r.arn == replica_arn(&secret, region)
        {
            sm.remove(&r)?;
        }
    }
    let left: Vec<Replica> = secret
        .replicas
        .iter()
        .filter(|r| !regions.contains(&r.region))
        .cloned()
        .collect();
    Ok(replication_output(sm.set_replicas(&secret, left, now)?))
}

pub type StopReplicationToReplicaInput = super::SecretIdInput;

#[derive(Debug, Clone, Serialize)]
pub struct StopReplicationToReplicaOutput {
    #[serde(rename = "ARN")]
    pub arn: String,
}

pub fn stop_replication_to_replica(
    ctx: &Ctx<'_>,
    input: StopReplicationToReplicaInput,
) -> Result<StopReplicationToReplicaOutput, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    let secret = find(ctx, id, "secretsmanager:StopReplicationToReplica")?;
    let Some(primary_region) = secret.primary_region.clone() else {
        // AWS's text for this case is not known to berth.
        return Err(Error::InvalidRequest(
            "this secret is not a replica: StopReplicationToReplica is called on a replica, in its region".into(),
        ));
    };
    let sm = secrets(ctx);
    let now = now_ms(ctx);
    let promoted = sm.promote(&secret, now)?;
    if let Some(p) = sm.by_name(&secret.account, &primary_region, &secret.name, now)? {
        let left: Vec<Replica> = p
            .replicas
            .iter()
            .filter(|r| r.region != secret.region)
            .cloned()
            .collect();
        sm.set_replicas(&p, left, now)?;
    }
    Ok(StopReplicationToReplicaOutput { arn: promoted.arn })
}

/// AssociateCrossAccountReplica / DisassociateCrossAccountReplica's input.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CrossAccountReplicaInput {
    pub secret_id: Option<String>,
    #[serde(rename = "CrossAccountReplicaARN")]
    pub cross_account_replica_arn: Option<String>,
    pub replica_restriction: Option<serde::de::IgnoredAny>,
    #[serde(rename = "ReplicationRoleARN")]
    pub replication_role_arn: Option<String>,
}

/// Cross-account replication is not part of berth: the secret is found and the caller
/// authorised, then the request is refused.
fn cross_account(
    ctx: &Ctx<'_>,
    input: CrossAccountReplicaInput,
    action: &str,
) -> Result<crate::kms::Empty, Error> {
    let id = required(input.secret_id.as_deref(), "secretId")?;
    required(input.cross_account_replica_arn, "crossAccountReplicaARN")?;
    find(ctx, id, action)?;
    Err(
        SecretsError::InvalidRequest("berth does not replicate secrets to other accounts".into())
            .into(),
    )
}

pub fn associate_cross_account_replica(
    ctx: &Ctx<'_>,
    input: CrossAccountReplicaInput,
) -> Result<crate::kms::Empty, Error> {
    cross_account(ctx, input, "secretsmanager:AssociateCrossAccountReplica")
}

pub fn disassociate_cross_account_replica(
    ctx: &Ctx<'_>,
    input: CrossAccountReplicaInput,
) -> Result<crate::kms::Empty, Error> {
    cross_account(ctx, input, "secretsmanager:DisassociateCrossAccountReplica")
}
