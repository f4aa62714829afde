//! berth's Fargate capacity as the control plane sees it: the in-process Fargate runner
//! (`berth_agent::fargate`) asks for every FARGATE task of every account and region that it
//! should run or stop, and reports their states. It is part of the control plane, like AWS's
//! own Fargate, so these calls are not API calls; the registry secret is still fetched over
//! the API with the task's execution-role credentials.
//!
//! A Fargate task waits in PROVISIONING until the runner takes it: [`fargate_work`] moves it
//! to PENDING (the runner "claims" it). From then on StopTask leaves the stop to the runner,
//! which reports the task STOPPED when its containers are gone; a task nobody took stops at
//! once.

use berth_store::{Store, StoreExt, put_json, scan_json};

use crate::agent::{self, AgentTask};
use crate::error::EcsError;
use crate::lifecycle::TaskStatus;
use crate::records::{StoredTask, T_TASKS};

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

/// The FARGATE tasks (all accounts and regions) that the runner should run (desired RUNNING,
/// not stopped) or stop (desired STOPPED, taken but not stopped), a page of each (see
/// [`FARGATE_START_PAGE`]). The PROVISIONING tasks handed out are taken here: they move to
/// PENDING in the same transaction.
pub fn fargate_work(store: &dyn Store, now: u64) -> Result<FargateWork, EcsError> {
    // A read first: most polls find nothing to take, and need no write lock.
    let all: Vec<(String, StoredTask)> =
        store.read(|tx| Ok::<_, EcsError>(scan_json(tx, T_TASKS, "")?))?;
    let fargate = |t: &StoredTask| t.task.launch_type == "FARGATE" && t.visible(now);
    let to_take = all.iter().any(|(_, t)| {
        fargate(t)
            && t.task.desired_status != "STOPPED"
            && TaskStatus::parse(&t.task.last_status) == Some(TaskStatus::Provisioning)
    });
    if !to_take {
        return collect(all, now, |_, _| Ok(()));
    }
    store.write(|tx| {
        let all: Vec<(String, StoredTask)> = scan_json(tx, T_TASKS, "")?;
        collect(all, now, |key, t| Ok(put_json(tx, T_TASKS, key, t)?))
    })
}

/// The most tasks to run one answer to the Fargate runner carries: those not yet taken first,
/// then those not yet running, then running ones (which the runner adopts after a restart), a window that moves with
/// the clock. The poll is level-triggered: the rest come in the next answers.
pub const FARGATE_START_PAGE: usize = 10;
/// The most tasks to stop one answer carries.
pub const FARGATE_STOP_PAGE: usize = 100;

/// Sorts the tasks into work, at most [`FARGATE_START_PAGE`] to run and [`FARGATE_STOP_PAGE`]
/// to stop, taking the PROVISIONING ones it hands out (`save` stores a taken task).
fn collect(
    all: Vec<(String, StoredTask)>,
    now: u64,
    save: impl Fn(&str, &StoredTask) -> Result<(), EcsError>,
) -> Result<FargateWork, EcsError> {
    let mut work = FargateWork::default();
    let mut starting = Vec::new();
    let mut running = Vec::new();
    for (key, t) in all {
        if t.task.launch_type != "FARGATE" || !t.visible(now) {
            continue;
        }
        let status = TaskStatus::parse(&t.task.last_status).unwrap_or(TaskStatus::Pending);
        if status == TaskStatus::Stopped {
            continue;
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
