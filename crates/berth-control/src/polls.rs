//! The agents' long polls: a wake-up whenever anything in ECS changes, and a release for the
//! process's shutdown.
//!
//! A process-wide generation counter: a change anywhere wakes every poll, which then rereads
//! its own instance's cursor (spurious wake-ups are cheap; missed ones are impossible because
//! the generation is read before the cursor).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, LazyLock, Mutex};
use std::time::Instant;

/// A generation counter and the condition variable its waiters sleep on.
struct Signal {
    generation: Mutex<u64>,
    changed: Condvar,
}

impl Signal {
    fn new() -> Signal {
        Signal {
            generation: Mutex::new(0),
            changed: Condvar::new(),
        }
    }

    fn current(&self) -> u64 {
        *self.generation.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn notify(&self) {
        let mut g = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        *g = g.wrapping_add(1);
        self.changed.notify_all();
    }

    fn wait(&self, seen: u64, deadline: Instant) {
        let mut g = self.generation.lock().unwrap_or_else(|p| p.into_inner());
        while *g == seen {
            let now = Instant::now();
            if now >= deadline {
                return;
            }
            g = match self.changed.wait_timeout(g, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
}

static SIGNAL: LazyLock<Signal> = LazyLock::new(Signal::new);

/// Set once the process is shutting down: agents' polls answer at once instead of waiting.
static RELEASED: AtomicBool = AtomicBool::new(false);

/// The generation now; read it before the state a poll looks at.
pub fn generation() -> u64 {
    SIGNAL.current()
}

/// Wakes every waiting poll to look again: called after every ECS change, and by the server
/// once a request's changes are committed and on disk.
pub fn notify_changes() {
    SIGNAL.notify();
}

/// Waits until the generation differs from `seen` or `deadline` passes.
pub fn wait(seen: u64, deadline: Instant) {
    SIGNAL.wait(seen, deadline);
}

/// Answers every waiting poll now, and every later one at once, so a graceful shutdown does
/// not wait out the long polls. For the process's shutdown only: there is no way back.
pub fn release() {
    RELEASED.store(true, Ordering::SeqCst);
    notify_changes();
}

/// Whether the process is shutting down (polls answer at once).
pub fn released() -> bool {
    RELEASED.load(Ordering::SeqCst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn signal_wakes_a_waiter_and_times_out() {
        let signal = Arc::new(Signal::new());
        // Nothing changes: the wait ends at its deadline.
        let started = Instant::now();
        signal.wait(signal.current(), started + Duration::from_millis(50));
        assert!(started.elapsed() >= Duration::from_millis(50));
        // A change wakes the waiter long before its deadline.
        let seen = signal.current();
        let s2 = signal.clone();
        let waiter = std::thread::spawn(move || {
            let t = Instant::now();
            s2.wait(seen, t + Duration::from_secs(10));
            t.elapsed()
        });
        std::thread::sleep(Duration::from_millis(20));
        signal.notify();
        let waited = waiter.join().unwrap_or(Duration::from_secs(99));
        assert!(waited < Duration::from_secs(5));
        // A change before the wait starts is not missed.
        let seen = signal.current();
        signal.notify();
        let t = Instant::now();
        signal.wait(seen, t + Duration::from_secs(10));
        assert!(t.elapsed() < Duration::from_secs(1));
    }
}
