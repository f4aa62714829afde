//! What a SIGHUP means to this process.
//!
//! Sent with `kill -HUP` (or a service manager's reload), it re-reads the listener's TLS
//! certificate and the agent's engine-auth file, and berth carries on. Sent because the
//! terminal berth runs in went away (its window closed, its SSH session dropped, the shell
//! that started it exited), it stops berth as SIGTERM does: a `berth up` nobody can see any
//! more would otherwise keep running and keep what it added to the host (169.254.170.2 on
//! `berth-ecs0` or `lo`) for good.
//!
//! The two are told apart by the controlling terminal: berth had one when it started and it no
//! longer opens. Under `nohup` (SIGHUP ignored when berth started) a SIGHUP never stops berth.

use std::sync::OnceLock;
use std::time::Duration;

/// Whether a hangup of the terminal stops this process; decided once, at start.
static STOPS_ON_HANGUP: OnceLock<bool> = OnceLock::new();

/// How long after a SIGHUP the terminal is looked for: the kernel signals the terminal's
/// foreground processes before it takes the terminal from the session.
const SETTLE: [Duration; 4] = [
    Duration::ZERO,
    Duration::from_millis(50),
    Duration::from_millis(200),
    Duration::from_millis(750),
];

/// Notes, before any signal handler is installed, whether this process has a terminal to lose
/// and whether it was started to survive losing it (SIGHUP ignored, as `nohup` does).
pub fn note_at_start() {
    let stops = has_terminal() && !sighup_ignored(&proc_status());
    let _ = STOPS_ON_HANGUP.set(stops);
}

/// Resolves when a SIGHUP arrives and the terminal is gone; never otherwise.
pub async fn terminal_gone() {
    if STOPS_ON_HANGUP.get().copied().unwrap_or(false)
        && let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    {
        while hup.recv().await.is_some() {
            for wait in SETTLE {
                tokio::time::sleep(wait).await;
                if !has_terminal() {
                    tracing::info!("SIGHUP: the terminal is gone");
                    return;
                }
            }
        }
    }
    std::future::pending::<()>().await
}

/// Whether the controlling terminal opens (it does not once the terminal hung up or the
/// session lost it, nor for a process started without one).
fn has_terminal() -> bool {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .is_ok()
}

fn proc_status() -> String {
    std::fs::read_to_string("/proc/self/status").unwrap_or_default()
}

/// Whether SIGHUP (signal 1, the mask's lowest bit) is in the `SigIgn:` mask of a
/// /proc/<pid>/status text; false when the line is missing or unreadable.
fn sighup_ignored(status: &str) -> bool {
    status
        .lines()
        .find_map(|line| line.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & 1 == 1)
}

#[cfg(test)]
mod tests {
    use super::sighup_ignored;

    #[test]
    fn the_ignored_mask_is_read_for_sighup_only() {
        let status = |mask: &str| {
            format!("Name:\tberth\nSigBlk:\t0000000000000001\nSigIgn:\t{mask}\nSigCgt:\t0\n")
        };
        assert!(sighup_ignored(&status("0000000000000001")));
        assert!(sighup_ignored(&status("0000000000001001")));
        // SIGINT (2) and SIGQUIT (3) ignored, as a shell does for background jobs: not SIGHUP.
        assert!(!sighup_ignored(&status("0000000000000006")));
        assert!(!sighup_ignored(&status("0000000000000000")));
        assert!(!sighup_ignored("Name:\tberth\n"));
        assert!(!sighup_ignored("SigIgn:\tnot hex\n"));
    }
}
