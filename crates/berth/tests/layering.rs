//! The workspace's floors, read from `cargo metadata`: a crate depends only on the floors below
//! it (ARCHITECTURE.md, "Layers"). A new crate must be given its floor here.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// Each workspace crate's floor, from the bottom.
const FLOORS: &[(&str, Floor)] = &[
    ("berth-core", Floor::Foundation),
    ("berth-policy", Floor::Foundation),
    ("berth-sigv4", Floor::Foundation),
    ("berth-store", Floor::Foundation),
    ("berth-iam", Floor::Domain),
    ("berth-kms", Floor::Domain),
    ("berth-secrets", Floor::Domain),
    ("berth-ssm", Floor::Domain),
    ("berth-ecs", Floor::Domain),
    ("berth-logs", Floor::Domain),
    ("berth-control", Floor::Application),
    ("berth-doctor", Floor::Application),
    ("berth-tls", Floor::Application),
    ("berth-api", Floor::Adapter),
    ("berth-console", Floor::Adapter),
    ("berth-agent", Floor::Adapter),
    ("berth", Floor::Binary),
    ("berth-bench", Floor::Binary),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Floor {
    Foundation,
    Domain,
    Application,
    Adapter,
    Binary,
}

/// Crates that do I/O (network, Docker, async runtimes, HTTP): never below the application,
/// except the store, whose SQLite implementation and commit wait live with its trait.
const IO_CRATES: &[&str] = &[
    "tokio",
    "axum",
    "hyper",
    "hyper-util",
    "bollard",
    "rustls",
    "ureq",
    "reqwest",
    "tower",
    "tower-http",
];

/// What the wire crate and the console may use of the workspace: the application and the
/// foundations, never a domain crate's internals directly.
const ADAPTER_MAY_USE: &[&str] = &[
    "berth-control",
    "berth-doctor",
    "berth-tls",
    "berth-core",
    "berth-sigv4",
    "berth-store",
    "berth-policy",
];

/// Each workspace crate with its dependencies by name: normal, dev and build ones, or
/// (`normal_only`) those its library and binaries use.
fn workspace_deps(normal_only: bool) -> BTreeMap<String, Vec<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(&root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let packages = meta["packages"].as_array().expect("packages");
    packages
        .iter()
        .map(|p| {
            let name = p["name"].as_str().expect("name").to_string();
            let deps = p["dependencies"]
                .as_array()
                .expect("dependencies")
                .iter()
                .filter(|d| !normal_only || d["kind"].is_null())
                .map(|d| d["name"].as_str().expect("dependency name").to_string())
                .collect();
            (name, deps)
        })
        .collect()
}

fn workspace() -> BTreeMap<String, Vec<String>> {
    workspace_deps(false)
}

fn floor(name: &str) -> Option<Floor> {
    FLOORS.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

#[test]
fn every_crate_depends_only_on_the_floors_below_it() {
    let ws = workspace();
    let mut wrong = Vec::new();
    for (name, deps) in &ws {
        let Some(own) = floor(name) else {
            wrong.push(format!("{name} has no floor in tests/layering.rs"));
            continue;
        };
        for dep in deps.iter().filter(|d| ws.contains_key(*d)) {
            let Some(theirs) = floor(dep) else { continue };
            // Foundations, domain crates and the application may use crates of their own
            // floor; adapters stand side by side and never use each other.
            let same_floor_ok = own == theirs && own <= Floor::Application;
            if theirs > own || (theirs == own && !same_floor_ok) {
                wrong.push(format!("{name} ({own:?}) depends on {dep} ({theirs:?})"));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}

#[test]
fn only_the_agent_and_the_binary_use_docker() {
    let ws = workspace();
    let users: Vec<&str> = ws
        .iter()
        .filter(|(_, deps)| deps.iter().any(|d| d == "bollard"))
        .map(|(n, _)| n.as_str())
        .collect();
    assert!(
        users.iter().all(|n| ["berth-agent", "berth"].contains(n)),
        "bollard is used by {users:?}"
    );
}

#[test]
fn foundations_and_domain_do_no_io() {
    let ws = workspace();
    let mut wrong = Vec::new();
    for (name, deps) in &ws {
        if name == "berth-store" || floor(name).is_none_or(|f| f > Floor::Domain) {
            continue;
        }
        for dep in deps.iter().filter(|d| IO_CRATES.contains(&d.as_str())) {
            wrong.push(format!("{name} depends on {dep}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "I/O below the application:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_wire_crate_and_the_console_use_the_application_not_the_domain() {
    // Their tests may set up state through the domain crates; their code may not.
    let ws = workspace_deps(true);
    let mut wrong = Vec::new();
    for adapter in ["berth-api", "berth-console"] {
        let Some(deps) = ws.get(adapter) else {
            wrong.push(format!("{adapter} is not in the workspace"));
            continue;
        };
        for dep in deps.iter().filter(|d| d.starts_with("berth")) {
            if !ADAPTER_MAY_USE.contains(&dep.as_str()) {
                wrong.push(format!("{adapter} depends on {dep}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "adapter reaches past the application:\n{}",
        wrong.join("\n")
    );
}
