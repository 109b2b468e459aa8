//! Client-side pacing: [`Pacing`] (the settings) and the pacer the transport
//! asks before each attempt. Reads (GET) and writes (POST, PUT, DELETE) have
//! a lane each, shared by every clone of a client.
//!
//! A lane spreads requests evenly, one every `1/rate` (a little more, see
//! [`MARGIN`]), so no window of a second ever holds more than the rate: a
//! server limiting requests per second, per minute or per sliding window
//! sees no burst. It also learns: a throttled answer (409/429) cuts the rate
//! (multiplicative decrease) and holds the lane for the `Retry-After`; each
//! answer that was not throttled raises it by a small step (additive
//! increase), never above the configured rate. So a server whose real limit
//! is below the configured one (another integration shares the budget) is
//! throttled a few times, not at every request.

use std::{
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

use reqwest::Method;

/// How much slower than the configured rate a lane sends: 3 %, so that a
/// server limiting at exactly that rate, with its own clock and rounding,
/// never sees one request too many.
const MARGIN: f64 = 1.03;

/// What a throttled answer leaves of the rate.
const DECREASE: f64 = 0.7;

/// What each answer that was not throttled adds, as a share of the
/// configured rate: about 15 answers climb back from one decrease.
const INCREASE: f64 = 0.02;

/// The lowest rate a lane falls to, as a share of the configured rate.
const FLOOR: f64 = 1.0 / 64.0;

/// Client-side pacing: requests per minute, kept separately for writes and
/// reads, and lowered for a while when the server throttles.
///
/// ```
/// use nexudus_timepasses::Pacing;
/// let pacing = Pacing::default().writes_per_minute(30).reads_per_minute(240);
/// # let _ = pacing;
/// ```
#[derive(Clone, Debug)]
pub struct Pacing {
    writes_per_minute: Option<NonZeroU32>,
    reads_per_minute: Option<NonZeroU32>,
    adaptive: bool,
}

impl Default for Pacing {
    /// 60 writes a minute (the documented limit) and 120 reads a minute (the
    /// strictest of the documented read limits), adaptive.
    fn default() -> Self {
        Pacing {
            writes_per_minute: NonZeroU32::new(60),
            reads_per_minute: NonZeroU32::new(120),
            adaptive: true,
        }
    }
}

impl Pacing {
    /// No client-side pacing; the server's throttling still applies (and
    /// is retried as the [`RetryPolicy`](crate::RetryPolicy) says).
    pub fn unlimited() -> Self {
        Pacing {
            writes_per_minute: None,
            reads_per_minute: None,
            adaptive: true,
        }
    }

    /// Writes (POST, PUT, DELETE) allowed per minute; 0 lifts the limit.
    pub fn writes_per_minute(mut self, n: u32) -> Self {
        self.writes_per_minute = NonZeroU32::new(n);
        self
    }

    /// Reads (GET) allowed per minute; 0 lifts the limit.
    pub fn reads_per_minute(mut self, n: u32) -> Self {
        self.reads_per_minute = NonZeroU32::new(n);
        self
    }

    /// Whether throttled answers lower the rate for a while (default on).
    /// Off, the lanes keep the configured rate whatever the server says.
    pub fn adaptive(mut self, on: bool) -> Self {
        self.adaptive = on;
        self
    }
}

/// The lanes built from [`Pacing`].
pub(crate) struct Pacer {
    reads: Option<Lane>,
    writes: Option<Lane>,
}

impl Pacer {
    pub(crate) fn new(p: &Pacing) -> Self {
        let lane =
            |n: Option<NonZeroU32>| n.map(|n| Lane::new(f64::from(n.get()) / 60.0, p.adaptive));
        Pacer {
            reads: lane(p.reads_per_minute),
            writes: lane(p.writes_per_minute),
        }
    }

    fn lane(&self, method: &Method) -> Option<&Lane> {
        if *method == Method::GET {
            self.reads.as_ref()
        } else {
            self.writes.as_ref()
        }
    }

    /// Reserves the next slot of `method`'s lane and returns it, for the
    /// caller to wait until then; `None` when the lane is not paced.
    pub(crate) fn reserve(&self, method: &Method) -> Option<Instant> {
        self.lane(method).map(Lane::reserve)
    }

    /// Tells `method`'s lane how the attempt sent at `sent` was answered.
    pub(crate) fn answered(
        &self,
        method: &Method,
        sent: Instant,
        throttled: Option<Option<Duration>>,
    ) {
        let Some(lane) = self.lane(method) else {
            return;
        };
        match throttled {
            Some(retry_after) => lane.throttled(sent, retry_after),
            None => lane.passed(sent),
        }
    }
}

/// One lane: its configured rate, its current rate and its next free slot.
struct Lane {
    configured: f64,
    adaptive: bool,
    state: Mutex<LaneState>,
}

struct LaneState {
    /// Requests per second now.
    rate: f64,
    /// The earliest instant the next request may go.
    next: Instant,
    /// When the rate was last cut: answers to requests sent before it say
    /// nothing new (they all left at the old rate).
    cut: Option<Instant>,
}

impl Lane {
    fn new(per_second: f64, adaptive: bool) -> Self {
        Lane {
            configured: per_second,
            adaptive,
            state: Mutex::new(LaneState {
                rate: per_second,
                next: Instant::now(),
                cut: None,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, LaneState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes the next slot: now if the lane is free, else the one after the
    /// last taken.
    fn reserve(&self) -> Instant {
        let mut s = self.state();
        let slot = s.next.max(Instant::now());
        s.next = slot + Duration::from_secs_f64(MARGIN / s.rate);
        slot
    }

    /// A throttled answer: hold the lane for `retry_after`, and cut the rate
    /// once per round of requests (the others in flight left at the old rate).
    fn throttled(&self, sent: Instant, retry_after: Option<Duration>) {
        let mut s = self.state();
        if let Some(wait) = retry_after {
            s.next = s.next.max(Instant::now() + wait);
        }
        if !self.adaptive || s.cut.is_some_and(|cut| sent < cut) {
            return;
        }
        s.rate = (s.rate * DECREASE).max(self.configured * FLOOR);
        s.cut = Some(Instant::now());
        tracing::debug!(
            rate_per_minute = s.rate * 60.0,
            "throttled: pacing slowed down"
        );
    }

    /// An answer that was not throttled: climb back towards the configured rate.
    fn passed(&self, sent: Instant) {
        if !self.adaptive {
            return;
        }
        let mut s = self.state();
        if s.rate < self.configured && s.cut.is_none_or(|cut| sent >= cut) {
            s.rate = (s.rate + self.configured * INCREASE).min(self.configured);
        }
    }

    #[cfg(test)]
    fn rate(&self) -> f64 {
        self.state().rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_spread_evenly_with_the_margin() {
        let lane = Lane::new(10.0, true);
        let first = lane.reserve();
        let slots: Vec<Instant> = (0..5).map(|_| lane.reserve()).collect();
        let gap = Duration::from_secs_f64(MARGIN / 10.0);
        assert_eq!(slots[0] - first, gap);
        for pair in slots.windows(2) {
            assert_eq!(pair[1] - pair[0], gap);
        }
    }

    #[test]
    fn throttling_cuts_once_per_round_and_passing_climbs_back() {
        let lane = Lane::new(10.0, true);
        let sent = Instant::now();
        lane.throttled(sent, None);
        assert!((lane.rate() - 7.0).abs() < 1e-9);
        // Another answer to a request sent before the cut: no second cut.
        lane.throttled(sent, None);
        assert!((lane.rate() - 7.0).abs() < 1e-9);
        let later = Instant::now() + Duration::from_millis(1);
        for _ in 0..100 {
            lane.passed(later);
        }
        assert!(
            (lane.rate() - 10.0).abs() < 1e-9,
            "never above the configured rate"
        );
    }

    #[test]
    fn the_rate_has_a_floor_and_retry_after_holds_the_lane() {
        let lane = Lane::new(10.0, true);
        for _ in 0..100 {
            lane.throttled(Instant::now() + Duration::from_secs(1), None);
        }
        assert!((lane.rate() - 10.0 * FLOOR).abs() < 1e-9);
        lane.throttled(Instant::now(), Some(Duration::from_secs(3)));
        assert!(lane.reserve() >= Instant::now() + Duration::from_millis(2900));
    }

    #[test]
    fn a_fixed_lane_does_not_learn() {
        let lane = Lane::new(10.0, false);
        lane.throttled(Instant::now(), None);
        assert_eq!(lane.rate(), 10.0);
    }
}
