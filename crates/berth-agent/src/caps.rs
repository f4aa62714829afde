//! Linux capabilities a container asks for, and why runc may refuse them.
//!
//! A container that is `privileged`, or that adds capabilities (`linuxParameters.capabilities.add`),
//! asks runc for capabilities the Docker daemon must hold itself. Where the daemon's capability
//! bounding set lacks one of them (a daemon started inside a sandbox or a VM whose init dropped
//! it), every such container fails at start with runc's words `unable to apply caps: operation
//! not permitted`, whatever else the task does. The agent keeps Docker's words in the reason, as
//! ECS does, and adds what failed.

/// The kernel's capability names, by number (`capability.h`).
const NAMES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// runc's words when it cannot give the container's process its capabilities.
const RUNC_CAPS_FAILURE: &str = "unable to apply caps";

/// The capabilities up to `last` (the kernel's `cap_last_cap`) missing from `bounding` (a
/// `/proc/<pid>/status` `CapBnd` in hex).
pub fn missing_from_bounding_set(bounding: &str, last: u32) -> Vec<&'static str> {
    let Ok(set) = u64::from_str_radix(bounding.trim(), 16) else {
        return Vec::new();
    };
    NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| (*i as u32) <= last && set & (1u64 << i) == 0)
        .map(|(_, n)| *n)
        .collect()
}

/// The capabilities this host's bounding set lacks, as this process sees it (the Docker
/// daemon on the same host cannot hold more: a bounding set is only ever reduced from init's).
/// Empty where `/proc` does not tell.
pub fn missing_on_this_host() -> Vec<&'static str> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok());
    let bounding = std::fs::read_to_string("/proc/1/status")
        .or_else(|_| std::fs::read_to_string("/proc/self/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapBnd:").map(|v| v.trim().to_string()))
        });
    match (bounding, last) {
        (Some(b), Some(last)) => missing_from_bounding_set(&b, last),
        _ => Vec::new(),
    }
}

/// berth's words to add to a start failure `words` (Docker's) of a container that is
/// `privileged` or adds `cap_add`, when runc refused its capabilities; `missing` is what this
/// host's bounding set lacks.
pub fn explain_start_failure(
    words: &str,
    privileged: bool,
    cap_add: &[String],
    missing: &[&str],
) -> Option<String> {
    if !words.contains(RUNC_CAPS_FAILURE) {
        return None;
    }
    let asked = if privileged {
        "the container is privileged, which asks for every capability".to_string()
    } else if !cap_add.is_empty() {
        format!("the container adds capabilities {}", cap_add.join(", "))
    } else {
        "the container asks for capabilities".to_string()
    };
    let lacking = if missing.is_empty() {
        "the Docker daemon does not hold all of them".to_string()
    } else {
        format!(
            "this host's capability bounding set (and so the Docker daemon's) lacks {}",
            missing.join(", ")
        )
    };
    Some(format!("{asked}, and {lacking}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bounding_set_without_sys_resource() {
        assert_eq!(
            missing_from_bounding_set("000001fffeffffff", 40),
            vec!["CAP_SYS_RESOURCE"]
        );
        assert!(missing_from_bounding_set("000001ffffffffff", 40).is_empty());
        // Capabilities past the kernel's last one are not missing.
        assert!(missing_from_bounding_set("0000003fffffffff", 37).is_empty());
        assert!(missing_from_bounding_set("zz", 40).is_empty());
    }

    #[test]
    fn runcs_refusal_is_explained() {
        let words = "Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown";
        assert_eq!(
            explain_start_failure(words, true, &[], &["CAP_SYS_RESOURCE"]).unwrap(),
            "the container is privileged, which asks for every capability, and this host's capability bounding set (and so the Docker daemon's) lacks CAP_SYS_RESOURCE"
        );
        assert_eq!(
            explain_start_failure(words, false, &["SYS_RESOURCE".into()], &[]).unwrap(),
            "the container adds capabilities SYS_RESOURCE, and the Docker daemon does not hold all of them"
        );
        assert!(explain_start_failure("no such image", true, &[], &[]).is_none());
    }
}
