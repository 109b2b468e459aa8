//! [`Deadline`]: the attempt timeout of a typed call, kept by one watchdog
//! thread for the whole process instead of a tokio timer per request.
//!
//! Why not reqwest's timeout: it arms a boxed tokio timer for every request
//! and wraps the answer's body in another layer that polls it, and on a
//! one-record call that cost about 1.4 µs, most of the crate's own cost
//! over a plain reqwest call. Here an attempt stores its deadline in an
//! atomic, and the call registers once with the watchdog (a short lock);
//! the watchdog sleeps until the earliest deadline and wakes the calls
//! whose deadline has passed.

use std::{
    cell::OnceCell,
    panic::AssertUnwindSafe,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError,
    },
    task::{Context, Waker},
    time::{Duration, Instant},
};

use futures::task::AtomicWaker;

/// How long the watchdog keeps waking, with no call registered, before it
/// sleeps until the next registration: a quick run of calls then never has
/// to wake it.
const IDLE_GRACE: Duration = Duration::from_secs(1);

/// `at` while no attempt is running.
const DISARMED: u64 = 0;
/// `at` once the watchdog found the deadline passed.
const FIRED: u64 = u64::MAX;

/// The attempt deadline of one call. Built disarmed; registers with the
/// watchdog the first time it is armed, and leaves it when dropped.
#[derive(Default)]
pub(crate) struct Deadline {
    slot: OnceCell<Arc<Slot>>,
}

/// What the watchdog shares with one call.
struct Slot {
    /// Nanoseconds since [`epoch`] when the attempt times out, or
    /// [`DISARMED`] or [`FIRED`].
    at: AtomicU64,
    /// The task polling the call.
    waker: AtomicWaker,
    /// This slot's place in the registry.
    index: usize,
}

impl Deadline {
    /// Starts an attempt that may run for `timeout`. False when there is
    /// no watchdog (its thread could not start): the caller must then
    /// enforce the timeout another way.
    pub(crate) fn arm(&self, timeout: Duration) -> bool {
        let Some(watchdog) = watchdog() else {
            return false;
        };
        let at = since_epoch(Instant::now())
            .saturating_add(nanos(timeout))
            .clamp(DISARMED + 1, FIRED - 1);
        let mut registry = watchdog.lock();
        let slot = self.slot.get_or_init(|| registry.insert());
        slot.at.store(at, Ordering::Release);
        // Wake the watchdog only if it would sleep past this deadline.
        if registry.wakes_at.is_none_or(|wake| at < wake) {
            registry.wakes_at = Some(at);
            watchdog.wake.notify_one();
        }
        true
    }

    /// Ends the attempt: waits (pacing, backoff) do not count against it.
    pub(crate) fn disarm(&self) {
        if let Some(slot) = self.slot.get() {
            slot.at.store(DISARMED, Ordering::Release);
        }
    }

    /// Whether the running attempt's deadline has passed.
    pub(crate) fn passed(&self) -> bool {
        self.slot
            .get()
            .is_some_and(|slot| slot.at.load(Ordering::Acquire) == FIRED)
    }

    /// Like [`passed`](Self::passed), and asks to be woken through `cx`
    /// when the deadline passes.
    pub(crate) fn poll_passed(&self, cx: &Context<'_>) -> bool {
        let Some(slot) = self.slot.get() else {
            return false;
        };
        slot.waker.register(cx.waker());
        slot.at.load(Ordering::Acquire) == FIRED
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        if let (Some(slot), Some(watchdog)) = (self.slot.get(), watchdog()) {
            watchdog.lock().remove(slot.index);
        }
    }
}

/// The watchdog's shared state and the condition its thread sleeps on.
struct Watchdog {
    registry: Mutex<Registry>,
    wake: Condvar,
}

/// The calls registered, in a slab: a call's index stays its own until it
/// leaves, and a freed index is reused.
#[derive(Default)]
struct Registry {
    slots: Vec<Option<Arc<Slot>>>,
    free: Vec<usize>,
    /// When the thread wakes next (nanoseconds since [`epoch`]); `None`
    /// while it sleeps until notified.
    wakes_at: Option<u64>,
}

impl Registry {
    fn insert(&mut self) -> Arc<Slot> {
        let index = self.free.pop().unwrap_or(self.slots.len());
        let slot = Arc::new(Slot {
            at: AtomicU64::new(DISARMED),
            waker: AtomicWaker::new(),
            index,
        });
        if index == self.slots.len() {
            self.slots.push(Some(slot.clone()));
        } else {
            self.slots[index] = Some(slot.clone());
        }
        slot
    }

    fn remove(&mut self, index: usize) {
        if let Some(entry) = self.slots.get_mut(index) {
            if entry.take().is_some() {
                self.free.push(index);
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.free.len() == self.slots.len()
    }

    /// Fires every armed deadline at or before `now`: returns the wakers to
    /// wake (after the lock is released) and the earliest deadline still to
    /// come.
    fn fire(&self, now: u64) -> (Vec<Waker>, Option<u64>) {
        let mut due = Vec::new();
        let mut earliest: Option<u64> = None;
        for slot in self.slots.iter().flatten() {
            let at = slot.at.load(Ordering::Acquire);
            if at == DISARMED || at == FIRED {
                continue;
            }
            if at > now {
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
                continue;
            }
            // Only this deadline fires: an attempt armed meanwhile keeps
            // its own.
            if slot
                .at
                .compare_exchange(at, FIRED, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                due.extend(slot.waker.take());
            }
        }
        (due, earliest)
    }
}

impl Watchdog {
    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The thread's loop: fire what has passed, sleep until the earliest
    /// deadline, and once nothing has been registered for [`IDLE_GRACE`],
    /// sleep until a call registers.
    fn run(&self) {
        let mut registry = self.lock();
        let mut idle_since: Option<u64> = None;
        loop {
            let now = since_epoch(Instant::now());
            let (due, earliest) = registry.fire(now);
            if !due.is_empty() {
                // Woken without the lock, so that calls arming or leaving
                // never wait behind a wake; a waker that panics must not
                // take the watchdog down with it.
                drop(registry);
                for waker in due {
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
                }
                registry = self.lock();
                continue;
            }
            idle_since = if registry.is_empty() {
                Some(idle_since.unwrap_or(now))
            } else {
                None
            };
            let grace_end = |since: u64| since.saturating_add(nanos(IDLE_GRACE));
            registry.wakes_at = match (earliest, idle_since) {
                (Some(at), _) => Some(at),
                (None, Some(since)) if grace_end(since) > now => Some(grace_end(since)),
                (None, Some(_)) => None,
                // Calls registered, none in an attempt: look again within
                // the grace, as one may arm at any moment.
                (None, None) => Some(grace_end(now)),
            };
            registry = match registry.wakes_at {
                None => self
                    .wake
                    .wait(registry)
                    .unwrap_or_else(PoisonError::into_inner),
                Some(at) => {
                    let wait = Duration::from_nanos(at.saturating_sub(now));
                    match self.wake.wait_timeout(registry, wait) {
                        Ok((registry, _)) => registry,
                        Err(poisoned) => poisoned.into_inner().0,
                    }
                }
            };
        }
    }
}

/// The process's watchdog, its thread started on first use; `None` if the
/// thread could not start.
fn watchdog() -> Option<&'static Watchdog> {
    static WATCHDOG: OnceLock<Option<&'static Watchdog>> = OnceLock::new();
    *WATCHDOG.get_or_init(|| {
        let watchdog: &'static Watchdog = Box::leak(Box::new(Watchdog {
            registry: Mutex::new(Registry::default()),
            wake: Condvar::new(),
        }));
        std::thread::Builder::new()
            .name("nexudus-deadlines".into())
            .stack_size(256 * 1024)
            .spawn(move || watchdog.run())
            .ok()
            .map(|_| watchdog)
    })
}

/// The instant deadlines are counted from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn since_epoch(instant: Instant) -> u64 {
    nanos(instant.saturating_duration_since(epoch()))
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::task::Poll;

    use super::*;

    /// Waits (on the task's waker) until `deadline` has passed.
    async fn until_passed(deadline: &Deadline) {
        poll_fn(|cx| {
            if deadline.poll_passed(cx) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
    }

    #[tokio::test]
    async fn an_armed_deadline_passes_and_wakes_the_task() {
        let deadline = Deadline::default();
        assert!(deadline.arm(Duration::from_millis(30)));
        assert!(!deadline.passed());
        let started = Instant::now();
        // Bounded: a watchdog that never fired fails here instead of hanging.
        tokio::time::timeout(Duration::from_secs(10), until_passed(&deadline))
            .await
            .expect("the deadline passed");
        assert!(started.elapsed() >= Duration::from_millis(25));
        assert!(deadline.passed());
    }

    #[tokio::test]
    async fn a_disarmed_deadline_never_passes_and_rearming_starts_afresh() {
        let deadline = Deadline::default();
        assert!(deadline.arm(Duration::from_millis(10)));
        deadline.disarm();
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(!deadline.passed(), "a disarmed deadline fired");

        assert!(deadline.arm(Duration::from_millis(10)));
        tokio::time::timeout(Duration::from_secs(10), until_passed(&deadline))
            .await
            .expect("the deadline passed");
        // A new attempt gets a new deadline, not the old one's verdict.
        assert!(deadline.arm(Duration::from_secs(3600)));
        assert!(!deadline.passed());
    }

    #[tokio::test]
    async fn a_short_deadline_armed_after_a_long_one_still_fires_on_time() {
        let long = Deadline::default();
        assert!(long.arm(Duration::from_secs(3600)));
        let short = Deadline::default();
        assert!(short.arm(Duration::from_millis(20)));
        tokio::time::timeout(Duration::from_secs(10), until_passed(&short))
            .await
            .expect("the short deadline passed while the long one waits");
        assert!(!long.passed());
    }

    #[test]
    fn a_dropped_deadline_leaves_the_registry_and_its_index_is_reused() {
        let mut registry = Registry::default();
        let first = registry.insert();
        let second = registry.insert();
        registry.remove(first.index);
        assert!(!registry.is_empty());
        let third = registry.insert();
        assert_eq!(third.index, first.index);
        registry.remove(second.index);
        registry.remove(third.index);
        registry.remove(third.index);
        assert!(registry.is_empty());
        assert_eq!(registry.free.len(), 2, "an index freed twice");
    }
}
