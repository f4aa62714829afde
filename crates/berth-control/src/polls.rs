//! The agents' long polls: a wake-up whenever anything in ECS changes, and a release for the
//! process's shutdown.
//!
//! A process-wide generation counter: a change anywhere wakes every poll, which then rereads
//! its own instance's cursor (spurious wake-ups are cheap; missed ones are impossible because
//! the generation is read before the cursor).
//!
//! Waiting holds no thread. A poll's use case never blocks: it answers, or finds nothing new
//! and returns [`Polled::Wait`] with the generation it read. Its caller (the wire crate, the
//! Fargate runner) awaits [`Wait::changed`], a future that completes once the generation moves
//! on (or the process is shutting down), up to the wait's deadline, and then asks again. The
//! future works on any executor: it only stores its task's [`Waker`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{LazyLock, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

/// What one look at a long poll found.
#[derive(Debug)]
pub enum Polled<T, W = Wait> {
    /// The answer.
    Ready(T),
    /// Nothing new: wait for [`Wait::changed`] (or the deadline), then look again.
    Wait(W),
}

/// A long poll with nothing new to answer: the generation it read before it looked, and the
/// time by which it answers whatever it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    pub seen: u64,
    pub deadline: Instant,
}

impl Wait {
    /// Completes once the generation differs from the one seen, or the process is shutting
    /// down (at once if either is already so). The caller bounds it with the deadline.
    pub fn changed(&self) -> Changed {
        Changed {
            signal: &SIGNAL,
            seen: self.seen,
            slot: None,
        }
    }
}

/// The generation, whether the process is shutting down, and the tasks waiting for a change.
struct State {
    generation: u64,
    released: bool,
    next_slot: u64,
    waiting: HashMap<u64, Waker>,
}

struct Signal {
    state: Mutex<State>,
}

impl Signal {
    fn new() -> Signal {
        Signal {
            state: Mutex::new(State {
                generation: 0,
                released: false,
                next_slot: 0,
                waiting: HashMap::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn current(&self) -> u64 {
        self.lock().generation
    }

    fn released(&self) -> bool {
        self.lock().released
    }

    /// Moves the generation on (and with `release`, marks the shutdown) and wakes every
    /// waiting task; the wakers run after the lock is let go.
    fn notify(&self, release: bool) {
        let waiting = {
            let mut s = self.lock();
            s.generation = s.generation.wrapping_add(1);
            s.released |= release;
            std::mem::take(&mut s.waiting)
        };
        for (_, waker) in waiting {
            waker.wake();
        }
    }

    fn poll_changed(&self, seen: u64, slot: &mut Option<u64>, cx: &mut Context<'_>) -> Poll<()> {
        let mut s = self.lock();
        if s.generation != seen || s.released {
            if let Some(id) = slot.take() {
                s.waiting.remove(&id);
            }
            return Poll::Ready(());
        }
        let id = *slot.get_or_insert_with(|| {
            s.next_slot = s.next_slot.wrapping_add(1);
            s.next_slot
        });
        match s.waiting.get_mut(&id) {
            Some(w) if w.will_wake(cx.waker()) => {}
            Some(w) => w.clone_from(cx.waker()),
            None => {
                s.waiting.insert(id, cx.waker().clone());
            }
        }
        Poll::Pending
    }

    fn forget(&self, slot: u64) {
        self.lock().waiting.remove(&slot);
    }
}

static SIGNAL: LazyLock<Signal> = LazyLock::new(Signal::new);

/// The future of [`Wait::changed`]: ready once the generation is no longer the one seen, or
/// the process is shutting down. Dropping it (at the deadline) forgets its waker.
#[must_use = "a future does nothing unless awaited"]
pub struct Changed {
    signal: &'static Signal,
    seen: u64,
    slot: Option<u64>,
}

impl Future for Changed {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        this.signal.poll_changed(this.seen, &mut this.slot, cx)
    }
}

impl Drop for Changed {
    fn drop(&mut self) {
        if let Some(slot) = self.slot.take() {
            self.signal.forget(slot);
        }
    }
}

/// The generation now; read it before the state a poll looks at.
pub fn generation() -> u64 {
    SIGNAL.current()
}

/// Wakes every waiting poll to look again: called after every ECS change, and by the server
/// once a request's changes are committed and on disk.
pub fn notify_changes() {
    SIGNAL.notify(false);
}

/// Answers every waiting poll now, and every later one at once, so a graceful shutdown does
/// not wait out the long polls. For the process's shutdown only: there is no way back.
pub fn release() {
    SIGNAL.notify(true);
}

/// Whether the process is shutting down (polls answer at once).
pub fn released() -> bool {
    SIGNAL.released()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    /// Counts its wake-ups.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll_once(signal: &Signal, seen: u64, slot: &mut Option<u64>, count: &Arc<Count>) -> bool {
        let waker = Waker::from(count.clone());
        signal
            .poll_changed(seen, slot, &mut Context::from_waker(&waker))
            .is_ready()
    }

    #[test]
    fn a_change_wakes_each_waiter_once_and_is_never_missed() {
        let signal = Signal::new();
        let (a, b) = (
            Arc::new(Count(AtomicUsize::new(0))),
            Arc::new(Count(AtomicUsize::new(0))),
        );
        let seen = signal.current();
        let (mut slot_a, mut slot_b) = (None, None);
        // Nothing changed: both wait, registered once however often they are polled.
        assert!(!poll_once(&signal, seen, &mut slot_a, &a));
        assert!(!poll_once(&signal, seen, &mut slot_a, &a));
        assert!(!poll_once(&signal, seen, &mut slot_b, &b));
        assert_eq!(signal.lock().waiting.len(), 2);
        // A change wakes both, once each, and they are then ready.
        signal.notify(false);
        assert_eq!(a.0.load(Ordering::SeqCst), 1);
        assert_eq!(b.0.load(Ordering::SeqCst), 1);
        assert!(poll_once(&signal, seen, &mut slot_a, &a));
        assert!(poll_once(&signal, seen, &mut slot_b, &b));
        assert!(signal.lock().waiting.is_empty());
        // A change between reading the generation and waiting is not missed.
        let seen = signal.current();
        signal.notify(false);
        let mut slot = None;
        assert!(poll_once(&signal, seen, &mut slot, &a));
    }

    #[test]
    fn release_wakes_every_waiter_and_later_ones_at_once() {
        let signal = Signal::new();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let seen = signal.current();
        let mut slot = None;
        assert!(!poll_once(&signal, seen, &mut slot, &count));
        signal.notify(true);
        assert_eq!(count.0.load(Ordering::SeqCst), 1);
        assert!(signal.released());
        // A poll that reads the generation after the release does not wait.
        let mut later = None;
        assert!(poll_once(&signal, signal.current(), &mut later, &count));
    }

    #[test]
    fn a_dropped_wait_forgets_its_waker() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let signal: &'static Signal = Box::leak(Box::new(Signal::new()));
        let mut fut = Box::pin(Changed {
            signal,
            seen: signal.current(),
            slot: None,
        });
        assert!(
            fut.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_pending()
        );
        assert_eq!(signal.lock().waiting.len(), 1);
        drop(fut);
        assert!(signal.lock().waiting.is_empty());
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }
}
