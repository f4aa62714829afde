//! berth's Fargate capacity as the control plane sees it: the in-process Fargate runner
//! (`berth_agent::fargate`) asks for every FARGATE task of every account and region that it
//! should run or stop, and reports their states. It is part of the control plane, like AWS's
//! own Fargate, so these calls are not API calls; the registry secret is still fetched over
//! the API with the task's execution-role credentials.
//!
//! A Fargate task waits in PROVISIONING until a runner takes it: [`fargate_work`] moves it
//! to PENDING under a lease of the runner's server replica (the task's claim: its owner and
//! until when). Several server replicas on one database each run a Fargate runner; a task is
//! only ever handed to the replica that holds its lease, so it runs once. From then on
//! StopTask leaves the stop to that runner, which reports the task STOPPED when its
//! containers are gone; a task nobody took stops at once.
//!
//! [`fargate_leases`] renews a replica's leases (each server does it every scheduler period)
//! and takes over the tasks whose lease lapsed: their replica stopped renewing, which is how
//! a lost Fargate host looks from the control plane. Such a task is stopped with
//! [`HOST_LOST_STOP_CODE`] and [`host_lost_reason`]; a service replaces it. Should its replica
//! come back (a stall, a restart under the same id), its runner is told to stop such a task,
//! which removes whatever it still runs of it. With one server (SQLite) that server holds
//! every lease.

use berth_store::{Store, StoreExt, put_json, scan_json};

use crate::agent::{self, AgentTask};
use crate::error::EcsError;
use crate::lifecycle::TaskStatus;
use crate::records::{StoredTask, T_TASKS};
use crate::service::Claim;

/// The stop code of a task whose Fargate host was lost (a value of ECS's `TaskStopCode`).
pub const HOST_LOST_STOP_CODE: &str = "InfrastructureHealth";

/// The stoppedReason of a task whose Fargate host was lost: the server replica that ran it
/// stopped renewing its lease. AWS's own wording for a Fargate task whose underlying host
/// failed is not documented; this names what happened in berth's terms.
pub fn host_lost_reason(replica: &str) -> String {
    format!(
        "Task stopped because its Fargate host was lost (berth replica {replica} stopped renewing its lease)"
    )
}

/// Whether `t` is a Fargate task the runners deal with: FARGATE, visible, not STOPPED.
fn live_fargate(t: &StoredTask, now: u64) -> bool {
    t.task.launch_type == "FARGATE" && t.visible(now) && t.status() != TaskStatus::Stopped
}

/// Whether another replica holds `t`'s lease at `now`.
fn held_by_other(t: &StoredTask, owner: &str, now: u64) -> bool {
    t.claim
        .as_ref()
        .is_some_and(|c| c.owner != owner && c.until > now)
}

/// Whether `owner` is to take `t` now: a PROVISIONING task that should run, or a task taken
/// without a lease (stored before leases existed), which the first runner to look adopts.
fn to_take(t: &StoredTask) -> bool {
    let provisioning = t.status() == TaskStatus::Provisioning;
    (provisioning && t.task.desired_status != "STOPPED") || (!provisioning && t.claim.is_none())
}

/// A Fargate task to run, with the account and region it lives in.
#[derive(Debug, Clone, PartialEq)]
pub struct FargateTask {
    pub account: String,
    pub region: String,
    pub task: AgentTask,
}

/// A Fargate task to stop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FargateStop {
    pub account: String,
    pub region: String,
    pub task_arn: String,
}

/// What the Fargate runner should run and stop now (level-triggered, like an agent's poll).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FargateWork {
    pub tasks_to_start: Vec<FargateTask>,
    pub tasks_to_stop: Vec<FargateStop>,
}

/// The account and region of a stored task's key (`{account}/{region}/{cluster}/{id}`).
fn scope_of(key: &str) -> Option<(&str, &str)> {
    let mut parts = key.splitn(3, '/');
    Some((parts.next()?, parts.next()?))
}

/// The FARGATE tasks (all accounts and regions) that the runner of server replica `owner`
/// should run (desired RUNNING, not stopped) or stop (desired STOPPED, taken but not
/// stopped), a page of each (see [`FARGATE_START_PAGE`]): only the tasks whose lease `owner`
/// holds. The PROVISIONING tasks handed out are taken here under `owner`'s lease until
/// `now + lease`: they move to PENDING in the same transaction.
pub fn fargate_work(
    store: &dyn Store,
    owner: &str,
    lease: u64,
    now: u64,
) -> Result<FargateWork, EcsError> {
    // A read first: most polls find nothing to take, and need no write lock.
    let all: Vec<(String, StoredTask)> =
        store.read(|tx| Ok::<_, EcsError>(scan_json(tx, T_TASKS, "")?))?;
    let taking = all
        .iter()
        .any(|(_, t)| live_fargate(t, now) && to_take(t) && !held_by_other(t, owner, now));
    if !taking {
        return collect(all, owner, lease, now, |_, _| Ok(()));
    }
    store.write(|tx| {
        let all: Vec<(String, StoredTask)> = scan_json(tx, T_TASKS, "")?;
        collect(all, owner, lease, now, |key, t| {
            Ok(put_json(tx, T_TASKS, key, t)?)
        })
    })
}

/// What one pass of [`fargate_leases`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeasePass {
    /// Leases of the replica renewed.
    pub renewed: usize,
    /// Tasks whose replica's lease lapsed, now stopped as on a lost host (their ARNs).
    pub lost: Vec<String>,
}

/// Renews server replica `owner`'s leases on its Fargate tasks (until `now + lease`, once
/// half of the lease is gone) and stops the tasks whose lease another replica let lapse, as
/// on a lost host ([`HOST_LOST_STOP_CODE`], [`host_lost_reason`]); a task already told to
/// stop keeps its stop code and reason. Read first; written only when something changes.
pub fn fargate_leases(
    store: &dyn Store,
    owner: &str,
    lease: u64,
    now: u64,
) -> Result<LeasePass, EcsError> {
    let due = |t: &StoredTask| match &t.claim {
        Some(c) if c.owner == owner => c.until < now + lease / 2 + 1,
        Some(c) => c.until <= now,
        None => false,
    };
    let all: Vec<(String, StoredTask)> =
        store.read(|tx| Ok::<_, EcsError>(scan_json(tx, T_TASKS, "")?))?;
    if !all.iter().any(|(_, t)| live_fargate(t, now) && due(t)) {
        return Ok(LeasePass::default());
    }
    store.write(|tx| {
        let mut pass = LeasePass::default();
        let all: Vec<(String, StoredTask)> = scan_json(tx, T_TASKS, "")?;
        for (key, mut t) in all {
            if !live_fargate(&t, now) || !due(&t) {
                continue;
            }
            let Some(claim) = t.claim.clone() else {
                continue;
            };
            if claim.owner == owner {
                t.claim = Some(Claim {
                    owner: owner.to_string(),
                    until: now + lease,
                });
                pass.renewed += 1;
            } else {
                lose_host(&mut t, &claim.owner, now);
                pass.lost.push(t.task.task_arn.clone());
            }
            put_json(tx, T_TASKS, &key, &t)?;
        }
        Ok(pass)
    })
}

/// Stops `t` as a task whose Fargate host (server replica `replica`) was lost.
fn lose_host(t: &mut StoredTask, replica: &str, now: u64) {
    if t.task.stop_code.is_none() {
        t.task.stop_code = Some(HOST_LOST_STOP_CODE.into());
        t.task.stopped_reason = Some(host_lost_reason(replica));
    }
    crate::task::finish_stop(t, None, now);
    t.host_lost = true;
    t.task.version += 1;
}

/// The most tasks to run one answer to the Fargate runner carries: those not yet taken first,
/// then those not yet running, then running ones (which the runner adopts after a restart), a window that moves with
/// the clock. The poll is level-triggered: the rest come in the next answers.
pub const FARGATE_START_PAGE: usize = 10;
/// The most tasks to stop one answer carries.
pub const FARGATE_STOP_PAGE: usize = 100;

/// Sorts the tasks whose lease `owner` holds (or may take) into work, at most
/// [`FARGATE_START_PAGE`] to run and [`FARGATE_STOP_PAGE`] to stop, taking the PROVISIONING
/// ones it hands out and adopting taken ones without a lease (`save` stores a taken task).
fn collect(
    all: Vec<(String, StoredTask)>,
    owner: &str,
    lease: u64,
    now: u64,
    save: impl Fn(&str, &StoredTask) -> Result<(), EcsError>,
) -> Result<FargateWork, EcsError> {
    let mut work = FargateWork::default();
    let mut starting = Vec::new();
    let mut running = Vec::new();
    let claim = Claim {
        owner: owner.to_string(),
        until: now + lease,
    };
    for (key, mut t) in all {
        // Lost with this replica's lease (it stalled, or restarted under its id): whatever it
        // still runs of the task is stopped.
        if t.host_lost
            && t.visible(now)
            && t.claim.as_ref().is_some_and(|c| c.owner == owner)
            && work.tasks_to_stop.len() < FARGATE_STOP_PAGE
            && let Some((account, region)) = scope_of(&key)
        {
            work.tasks_to_stop.push(FargateStop {
                account: account.to_string(),
                region: region.to_string(),
                task_arn: t.task.task_arn.clone(),
            });
            continue;
        }
        if !live_fargate(&t, now) || held_by_other(&t, owner, now) {
            continue;
        }
        let status = t.status();
        if status > TaskStatus::Provisioning {
            match &t.claim {
                // Lapsed: `fargate_leases` stops it as on a lost host.
                Some(c) if c.owner != owner => continue,
                Some(_) => {}
                None => {
                    t.claim = Some(claim.clone());
                    t.task.version += 1;
                    save(&key, &t)?;
                }
            }
        }
        let Some((account, region)) = scope_of(&key) else {
            continue;
        };
        if t.task.desired_status == "STOPPED" {
            if status > TaskStatus::Provisioning && work.tasks_to_stop.len() < FARGATE_STOP_PAGE {
                work.tasks_to_stop.push(FargateStop {
                    account: account.to_string(),
                    region: region.to_string(),
                    task_arn: t.task.task_arn.clone(),
                });
            }
            continue;
        }
        if status < TaskStatus::Running {
            starting.push((key, t, status));
        } else {
            running.push((key, t, status));
        }
    }
    // Untaken (PROVISIONING) tasks first, so that tasks the runner is still starting do not
    // hold back the others.
    starting.sort_by_key(|(_, _, status)| *status != TaskStatus::Provisioning);
    let room = FARGATE_START_PAGE.saturating_sub(starting.len());
    let offset = if running.is_empty() {
        0
    } else {
        usize::try_from(now).unwrap_or(0) % running.len()
    };
    running.rotate_left(offset);
    let chosen = starting
        .into_iter()
        .take(FARGATE_START_PAGE)
        .chain(running.into_iter().take(room));
    for (key, mut t, status) in chosen {
        let Some((account, region)) = scope_of(&key) else {
            continue;
        };
        if status == TaskStatus::Provisioning {
            t.task.last_status = TaskStatus::Pending.as_str().into();
            t.claim = Some(claim.clone());
            t.task.version += 1;
            save(&key, &t)?;
        }
        let task = agent::payload(&t, region);
        work.tasks_to_start.push(FargateTask {
            account: account.to_string(),
            region: region.to_string(),
            task,
        });
    }
    Ok(work)
}

#[cfg(test)]
mod tests {
    #[test]
    fn scopes() {
        assert_eq!(
            super::scope_of("000000000000/us-east-1/default/abc"),
            Some(("000000000000", "us-east-1"))
        );
        assert_eq!(super::scope_of("x"), None);
    }
}
