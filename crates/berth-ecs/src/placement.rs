//! Task placement as a pure function: which container instance takes a task.
//!
//! An instance fits when it is ACTIVE with its agent connected, has every attribute the task definition requires
//! (`requiresAttributes`, plus the launch type's kind of instance) and has the task's CPU and
//! memory free, and none of the host ports it publishes taken. Placement constraints
//! (`memberOf` with the cluster query language of [`crate::query`], `distinctInstance`) narrow
//! the instances; placement strategies (`spread`, `binpack`, `random`, in order) choose among
//! those that remain.

use serde_json::Value;

use crate::model::{Attribute, Failure};
use crate::query::{self, Expr, Facts};

/// AWS's limit of placement strategies of a task or service.
pub const MAX_STRATEGIES: usize = 5;

/// The failure reason of an instance a `memberOf` constraint excludes (AWS's API failure
/// reason).
pub const MEMBER_OF_UNSATISFIED: &str = "MemberOf placement constraint unsatisfied";

/// The failure reason of an instance that already runs a task of the group under
/// `distinctInstance`. Modelled on [`MEMBER_OF_UNSATISFIED`]: AWS does not document this one.
pub const DISTINCT_INSTANCE_UNSATISFIED: &str = "DistinctInstance placement constraint unsatisfied";

/// A placement constraint, parsed.
#[derive(Debug, Clone)]
pub enum Constraint {
    /// Each task of the group on a different instance.
    DistinctInstance,
    /// Only instances the expression selects.
    MemberOf(Expr),
}

/// A placement strategy, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Strategy {
    Random,
    /// Spread the group's tasks evenly over the instances (`instanceId`/`host`).
    SpreadInstances,
    /// Spread the group's tasks evenly over the values of an attribute.
    SpreadAttribute(String),
    /// The instance with the least of the resource remaining.
    BinpackCpu,
    BinpackMemory,
}

fn text<'v>(v: &'v Value, member: &str) -> Option<&'v str> {
    v.get(member).and_then(Value::as_str)
}

/// Parses placement constraints (RunTask's, a service's, or a task definition's with
/// `task_definition`, where only `memberOf` is allowed). The error is the message for the
/// caller; where AWS's words are known they are AWS's.
pub fn parse_constraints(
    values: &[Value],
    task_definition: bool,
) -> Result<Vec<Constraint>, String> {
    let mut out = Vec::new();
    for v in values {
        let expression = text(v, "expression").filter(|e| !e.trim().is_empty());
        match text(v, "type") {
            Some("distinctInstance") if task_definition => {
                return Err("constraint.type 'distinctInstance' is not supported.".into());
            }
            Some("distinctInstance") => {
                if expression.is_some() {
                    return Err("distinctInstance expression should not be specified.".into());
                }
                out.push(Constraint::DistinctInstance);
            }
            Some("memberOf") => {
                // AWS's wording for a memberOf constraint without an expression, or with one
                // that does not parse, is not known to berth.
                let Some(e) = expression else {
                    return Err("a memberOf placement constraint needs an expression".into());
                };
                let parsed = query::parse(e).map_err(|err| {
                    format!("invalid memberOf placement constraint expression '{e}': {err}")
                })?;
                out.push(Constraint::MemberOf(parsed));
            }
            other => {
                // The model's enum; AWS's wording for another type is not known to berth.
                return Err(format!(
                    "placement constraint type '{}' is not one of distinctInstance, memberOf",
                    other.unwrap_or("")
                ));
            }
        }
    }
    Ok(out)
}

/// Parses placement strategies (at most [`MAX_STRATEGIES`]). AWS's wording for a strategy it
/// refuses is not known to berth; the messages are berth's.
pub fn parse_strategies(values: &[Value]) -> Result<Vec<Strategy>, String> {
    if values.len() > MAX_STRATEGIES {
        return Err(format!(
            "at most {MAX_STRATEGIES} placement strategies can be specified"
        ));
    }
    let mut out = Vec::new();
    for v in values {
        let field = text(v, "field");
        let s = match (text(v, "type"), field) {
            (Some("random"), _) => Strategy::Random,
            (Some("spread"), Some(f))
                if f.eq_ignore_ascii_case("instanceId") || f.eq_ignore_ascii_case("host") =>
            {
                Strategy::SpreadInstances
            }
            (Some("spread"), Some(f))
                if f.starts_with("attribute:") && f.len() > "attribute:".len() =>
            {
                Strategy::SpreadAttribute(f["attribute:".len()..].to_string())
            }
            (Some("spread"), f) => {
                return Err(format!(
                    "the spread placement strategy's field must be instanceId, host or attribute:NAME, not '{}'",
                    f.unwrap_or("")
                ));
            }
            (Some("binpack"), Some(f)) if f.eq_ignore_ascii_case("cpu") => Strategy::BinpackCpu,
            (Some("binpack"), Some(f)) if f.eq_ignore_ascii_case("memory") => {
                Strategy::BinpackMemory
            }
            (Some("binpack"), f) => {
                return Err(format!(
                    "the binpack placement strategy's field must be cpu or memory, not '{}'",
                    f.unwrap_or("")
                ));
            }
            (t, _) => {
                return Err(format!(
                    "placement strategy type '{}' is not one of random, spread, binpack",
                    t.unwrap_or("")
                ));
            }
        };
        out.push(s);
    }
    Ok(out)
}

/// How tasks are placed besides what they need: the constraints and strategies in force, the
/// task group they belong to (what `distinctInstance` and `spread` count), and the seed of
/// `random`.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub constraints: Vec<Constraint>,
    pub strategies: Vec<Strategy>,
    pub group: String,
    pub seed: u64,
}

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
    pub ec2_instance_id: Option<String>,
    /// Epoch seconds.
    pub registered_at: u64,
    pub running_tasks_count: u32,
    /// The groups of its tasks that have not stopped, one entry per task.
    pub task_groups: Vec<String>,
}

impl Candidate {
    /// What the cluster query language sees of the instance.
    pub fn facts(&self) -> Facts<'_> {
        Facts {
            attributes: &self.attributes,
            ec2_instance_id: self.ec2_instance_id.as_deref(),
            registered_at: self.registered_at,
            running_tasks_count: self.running_tasks_count,
            agent_connected: self.connected,
            task_groups: &self.task_groups,
        }
    }

    fn group_count(&self, group: &str) -> i64 {
        self.task_groups.iter().filter(|g| *g == group).count() as i64
    }

    fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_deref().unwrap_or(""))
    }
}

/// Why the constraints exclude `c`, or `None` when they do not.
pub fn unsatisfied(rules: &Rules, c: &Candidate) -> Option<&'static str> {
    for k in &rules.constraints {
        match k {
            Constraint::MemberOf(e) if !e.eval(&c.facts()) => return Some(MEMBER_OF_UNSATISFIED),
            Constraint::DistinctInstance if c.task_groups.contains(&rules.group) => {
                return Some(DISTINCT_INSTANCE_UNSATISFIED);
            }
            _ => {}
        }
    }
    None
}

fn mix(seed: u64, i: usize) -> u64 {
    // splitmix64 of the seed and the index: `random`'s order, reproducible for a seed.
    let mut z = seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The order of preference of fitting candidate `i` under the strategies (smaller first).
fn rank(rules: &Rules, candidates: &[Candidate], i: usize) -> Vec<i64> {
    let Some(c) = candidates.get(i) else {
        return Vec::new();
    };
    if rules.strategies.is_empty() {
        // Without strategies, berth takes the instance with the most free memory (AWS's
        // default is not documented for every call).
        return vec![-c.memory_free];
    }
    rules
        .strategies
        .iter()
        .map(|s| match s {
            Strategy::Random => (mix(rules.seed, i) >> 1) as i64,
            Strategy::SpreadInstances => c.group_count(&rules.group),
            Strategy::SpreadAttribute(name) => {
                let value = c.attribute(name);
                candidates
                    .iter()
                    .filter(|o| o.active && o.attribute(name) == value)
                    .map(|o| o.group_count(&rules.group))
                    .sum()
            }
            Strategy::BinpackCpu => c.cpu_free,
            Strategy::BinpackMemory => c.memory_free,
        })
        .collect()
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
    choose_with(need, candidates, &Rules::default())
}

/// The index of the instance that takes the task under `rules`: of the instances that fit
/// and satisfy every constraint, the first by the strategies in order (then the first in
/// order); or one failure per instance saying why it was passed over (its agent, then the
/// constraints, then what the task needs).
pub fn choose_with(
    need: &Need,
    candidates: &[Candidate],
    rules: &Rules,
) -> Result<usize, Vec<Failure>> {
    let mut best: Option<(Vec<i64>, usize)> = None;
    let mut failures = Vec::new();
    for (i, c) in candidates.iter().enumerate() {
        let why = if !c.active || !c.connected {
            misfit(need, c)
        } else {
            unsatisfied(rules, c).or_else(|| misfit(need, c))
        };
        match why {
            None => {
                let r = rank(rules, candidates, i);
                if best.as_ref().is_none_or(|(b, _)| r < *b) {
                    best = Some((r, i));
                }
            }
            Some(reason) => failures.push(Failure::new(&c.arn, reason)),
        }
    }
    best.map(|(_, i)| i).ok_or(failures)
}

/// Records a task of `group` placed on `c` (what later choices in the same call count).
pub fn take(c: &mut Candidate, need: &Need, group: &str) {
    c.cpu_free = c.cpu_free.saturating_sub(need.cpu);
    c.memory_free = c.memory_free.saturating_sub(need.memory);
    c.ports_taken.extend(need.ports.iter().copied());
    c.task_groups.push(group.to_string());
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
            ec2_instance_id: None,
            registered_at: 0,
            running_tasks_count: 0,
            task_groups: Vec::new(),
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
    fn with(c: Candidate, attrs: &[(&str, &str)], groups: &[&str]) -> Candidate {
        let mut c = c;
        for (n, v) in attrs {
            c.attributes.push(Attribute {
                name: (*n).into(),
                value: Some((*v).into()),
                target_type: None,
                target_id: None,
            });
        }
        c.task_groups = groups.iter().map(|g| g.to_string()).collect();
        c
    }

    fn rules(constraints: serde_json::Value, strategies: serde_json::Value) -> Rules {
        Rules {
            constraints: parse_constraints(constraints.as_array().unwrap(), false).unwrap(),
            strategies: parse_strategies(strategies.as_array().unwrap()).unwrap(),
            group: "g".into(),
            seed: 7,
        }
    }

    #[test]
    fn member_of_selects_and_reports() {
        let cs = vec![
            with(cand("a", &[], 1024, 4096), &[("stack", "dev")], &[]),
            with(cand("b", &[], 1024, 1024), &[("stack", "prod")], &[]),
        ];
        let r = rules(
            serde_json::json!([{"type": "memberOf", "expression": "attribute:stack == prod"}]),
            serde_json::json!([]),
        );
        assert_eq!(choose_with(&need(&[], 0, 1), &cs, &r).unwrap(), 1);
        let r = rules(
            serde_json::json!([{"type": "memberOf", "expression": "attribute:stack == qa"}]),
            serde_json::json!([]),
        );
        assert_eq!(
            reasons(choose_with(&need(&[], 0, 1), &cs, &r)),
            vec![
                ("a".to_string(), MEMBER_OF_UNSATISFIED.to_string()),
                ("b".to_string(), MEMBER_OF_UNSATISFIED.to_string())
            ]
        );
    }

    #[test]
    fn distinct_instance_places_one_task_of_the_group_per_instance() {
        let mut cs = vec![cand("a", &[], 4096, 4096), cand("b", &[], 4096, 4096)];
        let r = rules(
            serde_json::json!([{"type": "distinctInstance"}]),
            serde_json::json!([]),
        );
        let n = need(&[], 0, 1);
        let mut placed = Vec::new();
        for _ in 0..3 {
            match choose_with(&n, &cs, &r) {
                Ok(i) => {
                    take(&mut cs[i], &n, &r.group);
                    placed.push(i);
                }
                Err(f) => {
                    assert!(
                        f.iter()
                            .all(|f| f.reason.as_deref() == Some(DISTINCT_INSTANCE_UNSATISFIED))
                    );
                    assert_eq!(f.len(), 2);
                }
            }
        }
        placed.sort_unstable();
        assert_eq!(placed, vec![0, 1]);
    }

    #[test]
    fn strategies() {
        let n = need(&[], 100, 100);
        // binpack memory: the least remaining memory that still fits.
        let cs = vec![
            cand("a", &[], 4096, 4096),
            cand("b", &[], 4096, 512),
            cand("c", &[], 4096, 50),
        ];
        let r = rules(
            serde_json::json!([]),
            serde_json::json!([{"type": "binpack", "field": "memory"}]),
        );
        assert_eq!(choose_with(&n, &cs, &r).unwrap(), 1);
        // spread over instances: the one with the fewest of the group's tasks.
        let cs = vec![
            with(cand("a", &[], 4096, 4096), &[], &["g", "g"]),
            with(cand("b", &[], 4096, 4096), &[], &["g", "other", "other"]),
        ];
        let r = rules(
            serde_json::json!([]),
            serde_json::json!([{"type": "spread", "field": "instanceId"}]),
        );
        assert_eq!(choose_with(&n, &cs, &r).unwrap(), 1);
        // spread over an attribute, then binpack on cpu within the zone.
        let cs = vec![
            with(cand("a", &[], 4096, 4096), &[("zone", "1")], &["g"]),
            with(cand("b", &[], 2048, 4096), &[("zone", "2")], &[]),
            with(cand("c", &[], 1024, 4096), &[("zone", "2")], &[]),
        ];
        let r = rules(
            serde_json::json!([]),
            serde_json::json!([{"type": "spread", "field": "attribute:zone"}, {"type": "binpack", "field": "cpu"}]),
        );
        assert_eq!(choose_with(&n, &cs, &r).unwrap(), 2);
        // random: some fitting instance, the same one for the same seed.
        let r = rules(
            serde_json::json!([]),
            serde_json::json!([{"type": "random"}]),
        );
        let first = choose_with(&n, &cs, &r).unwrap();
        assert_eq!(choose_with(&n, &cs, &r).unwrap(), first);
    }

    #[test]
    fn validation() {
        let bad_constraints = [
            serde_json::json!({"type": "distinctInstance", "expression": "attribute:a exists"}),
            serde_json::json!({"type": "memberOf"}),
            serde_json::json!({"type": "memberOf", "expression": "attribute:a =="}),
            serde_json::json!({"type": "sameInstance"}),
        ];
        for c in bad_constraints {
            assert!(
                parse_constraints(std::slice::from_ref(&c), false).is_err(),
                "{c}"
            );
        }
        assert_eq!(
            parse_constraints(&[serde_json::json!({"type": "distinctInstance"})], true)
                .unwrap_err(),
            "constraint.type 'distinctInstance' is not supported."
        );
        for s in [
            serde_json::json!({"type": "spread"}),
            serde_json::json!({"type": "spread", "field": "zone"}),
            serde_json::json!({"type": "binpack", "field": "disk"}),
            serde_json::json!({"type": "pack"}),
        ] {
            assert!(parse_strategies(std::slice::from_ref(&s)).is_err(), "{s}");
        }
        let six = vec![serde_json::json!({"type": "random"}); 6];
        assert!(parse_strategies(&six).is_err());
        assert!(parse_strategies(&six[..5]).is_ok());
    }
}
