//! Task placement as a pure function: which container instance takes a task.
//!
//! An instance fits when it is ACTIVE with its agent connected, has every attribute the task definition requires
//! (`requiresAttributes`, plus the launch type's kind of instance) and has the task's CPU and
//! memory free, and none of the host ports it publishes taken.

use crate::model::{Attribute, Failure};

/// The marker of an ECS Anywhere (EXTERNAL) instance: the ECS agent with `ECS_EXTERNAL=true`
/// advertises `ecs.capability.external` (and drops `ecs.capability.task-eni`, so `awsvpc` tasks
/// never fit there). Whether AWS also tells external instances by their `mi-` id is not known
/// to berth.
pub const EXTERNAL_CAPABILITY: &str = "ecs.capability.external";

/// What placement knows about one instance.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub arn: String,
    pub active: bool,
    /// Whether its agent has polled lately (`agentConnected`).
    pub connected: bool,
    pub external: bool,
    pub attributes: Vec<Attribute>,
    pub cpu_free: i64,
    pub memory_free: i64,
    /// Host ports taken (reserved by the agent, or published by its tasks).
    pub ports_taken: Vec<HostPort>,
}

/// A host port and whether it is UDP.
pub type HostPort = (u16, bool);

/// What a task needs.
#[derive(Debug, Clone)]
pub struct Need {
    pub attributes: Vec<Attribute>,
    pub external: bool,
    pub cpu: i64,
    pub memory: i64,
    pub ports: Vec<HostPort>,
    /// GPUs the task's containers require (`resourceRequirements` of type `GPU`); berth's
    /// container instances offer none.
    pub gpus: i64,
}

fn has_attribute(have: &[Attribute], want: &Attribute) -> bool {
    have.iter().any(|a| {
        a.name == want.name && (want.value.is_none() || a.value.as_deref() == want.value.as_deref())
    })
}

/// Why `c` cannot take the task, or `None` when it can.
pub fn misfit(need: &Need, c: &Candidate) -> Option<&'static str> {
    // ECS's AGENT failure: "the container instance … has an agent that's currently
    // disconnected" (and berth also gives it for a DRAINING instance).
    if !c.active || !c.connected {
        return Some("AGENT");
    }
    if c.external != need.external {
        // AWS does not list an EC2 instance as a failure of an EXTERNAL task or the reverse in a
        // documented way; berth reports the mismatch as an attribute it lacks.
        return Some("ATTRIBUTE");
    }
    if !need
        .attributes
        .iter()
        .all(|a| has_attribute(&c.attributes, a))
    {
        return Some("ATTRIBUTE");
    }
    if need.cpu > c.cpu_free {
        return Some("RESOURCE:CPU");
    }
    if need.memory > c.memory_free {
        return Some("RESOURCE:MEMORY");
    }
    if need.gpus > 0 {
        return Some("RESOURCE:GPU");
    }
    if need.ports.iter().any(|p| c.ports_taken.contains(p)) {
        return Some("RESOURCE:PORTS");
    }
    None
}

/// The index of the instance that takes the task (the fitting one with the most free memory,
/// then the first in order), or one failure per instance saying why it did not fit.
pub fn choose(need: &Need, candidates: &[Candidate]) -> Result<usize, Vec<Failure>> {
    let mut best: Option<usize> = None;
    let mut failures = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        match misfit(need, c) {
            None => {
                if best.is_none_or(|b| c.memory_free > candidates[b].memory_free) {
                    best = Some(i);
                }
            }
            Some(reason) => failures.push(Failure::new(&c.arn, reason)),
        }
    }
    best.ok_or(failures)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CAP: &str = "ecs.capability.private-registry-authentication.secretsmanager";

    fn cand(arn: &str, attrs: &[&str], cpu: i64, mem: i64) -> Candidate {
        Candidate {
            arn: arn.into(),
            active: true,
            connected: true,
            external: false,
            attributes: attrs.iter().map(|a| Attribute::named(a)).collect(),
            cpu_free: cpu,
            memory_free: mem,
            ports_taken: vec![(22, false), (51678, false)],
        }
    }

    fn need(attrs: &[&str], cpu: i64, mem: i64) -> Need {
        Need {
            attributes: attrs.iter().map(|a| Attribute::named(a)).collect(),
            external: false,
            cpu,
            memory: mem,
            ports: Vec::new(),
            gpus: 0,
        }
    }

    fn reasons(r: Result<usize, Vec<Failure>>) -> Vec<(String, String)> {
        r.unwrap_err()
            .into_iter()
            .map(|f| (f.arn.unwrap(), f.reason.unwrap()))
            .collect()
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn table() {
        let cases: Vec<(Need, Vec<Candidate>, Result<usize, Vec<(&str, &str)>>)> = vec![
            (
                need(&[CAP], 0, 128),
                vec![cand("a", &[], 1024, 1024)],
                Err(vec![("a", "ATTRIBUTE")]),
            ),
            (
                need(&[CAP], 0, 128),
                vec![cand("a", &[], 1024, 1024), cand("b", &[CAP], 1024, 1024)],
                Ok(1),
            ),
            (
                need(&[], 2048, 128),
                vec![cand("a", &[], 1024, 1024)],
                Err(vec![("a", "RESOURCE:CPU")]),
            ),
            (
                need(&[], 0, 4096),
                vec![cand("a", &[], 1024, 1024)],
                Err(vec![("a", "RESOURCE:MEMORY")]),
            ),
            (
                need(&[], 0, 100),
                vec![cand("a", &[], 1024, 512), cand("b", &[], 1024, 2048)],
                Ok(1),
            ),
            (
                need(&[], 0, 100),
                vec![Candidate {
                    active: false,
                    ..cand("a", &[], 1024, 1024)
                }],
                Err(vec![("a", "AGENT")]),
            ),
            (
                // A disconnected agent's instance is passed over for a connected one.
                need(&[], 0, 100),
                vec![
                    Candidate {
                        connected: false,
                        ..cand("a", &[], 4096, 4096)
                    },
                    cand("b", &[], 1024, 1024),
                ],
                Ok(1),
            ),
            (
                need(&[], 0, 100),
                vec![Candidate {
                    connected: false,
                    ..cand("a", &[], 1024, 1024)
                }],
                Err(vec![("a", "AGENT")]),
            ),
            (
                Need {
                    external: true,
                    ..need(&[], 0, 100)
                },
                vec![
                    cand("a", &[], 1024, 1024),
                    Candidate {
                        external: true,
                        ..cand("b", &[], 1024, 1024)
                    },
                ],
                Ok(1),
            ),
        ];
        for (n, cs, want) in cases {
            match want {
                Ok(i) => assert_eq!(choose(&n, &cs).unwrap(), i),
                Err(w) => {
                    let got = reasons(choose(&n, &cs));
                    let want: Vec<(String, String)> = w
                        .into_iter()
                        .map(|(a, r)| (a.to_string(), r.to_string()))
                        .collect();
                    assert_eq!(got, want);
                }
            }
        }
    }

    #[test]
    fn ports() {
        let c = cand("a", &[], 1024, 1024);
        let cases = [
            (vec![(8080, false)], Ok(0)),
            (vec![(22, false)], Err(vec![("a", "RESOURCE:PORTS")])),
            (vec![(22, true)], Ok(0)),
            (
                vec![(8080, false), (51678, false)],
                Err(vec![("a", "RESOURCE:PORTS")]),
            ),
        ];
        for (ports, want) in cases {
            let n = Need {
                ports,
                ..need(&[], 0, 1)
            };
            match want {
                Ok(i) => assert_eq!(choose(&n, std::slice::from_ref(&c)).unwrap(), i),
                Err(w) => assert_eq!(
                    reasons(choose(&n, std::slice::from_ref(&c))),
                    w.into_iter()
                        .map(|(a, r)| (a.to_string(), r.to_string()))
                        .collect::<Vec<_>>()
                ),
            }
        }
    }

    #[test]
    fn valued_attribute_must_match() {
        let mut c = cand("a", &[], 1024, 1024);
        c.attributes.push(Attribute {
            name: "stack".into(),
            value: Some("prod".into()),
            target_type: None,
            target_id: None,
        });
        let mut n = need(&[], 0, 1);
        n.attributes.push(Attribute {
            name: "stack".into(),
            value: Some("dev".into()),
            target_type: None,
            target_id: None,
        });
        assert!(choose(&n, std::slice::from_ref(&c)).is_err());
        n.attributes[0].value = Some("prod".into());
        assert_eq!(choose(&n, &[c]).unwrap(), 0);
    }

    #[test]
    fn a_task_needing_gpus_finds_none() {
        let n = Need {
            gpus: 1,
            ..need(&[], 0, 1)
        };
        let c = cand("a", &[], 1024, 1024);
        assert_eq!(misfit(&n, &c), Some("RESOURCE:GPU"));
    }
}
