//! Reconnect backoff: 1 s × 2 up to a cap, optional full jitter, reset on hello, and an
//! attempt budget that bounds connection attempts per minute under every failure mode.
//!
//! All waits use tokio's monotonic clock ([`tokio::time::Instant`]): a wall-clock jump
//! (NTP, a phone's time zone change, suspend/resume) neither shortens nor stretches a delay.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::clock::RandomSource;

/// Jitter mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Jitter {
    /// Exact delays (what the official clients do).
    #[default]
    None,
    /// Uniform in `[0, delay]` ("full jitter"), never below `floor`.
    Full,
}

/// Backoff settings.
#[derive(Debug, Clone)]
pub struct BackoffConfig {
    /// First delay.
    pub initial: Duration,
    /// Growth factor.
    pub factor: u32,
    /// Cap.
    pub max: Duration,
    /// Jitter.
    pub jitter: Jitter,
    /// Smallest delay jitter may produce.
    pub floor: Duration,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            initial: Duration::from_secs(1),
            factor: 2,
            max: Duration::from_secs(30),
            jitter: Jitter::None,
            floor: Duration::from_millis(250),
        }
    }
}

impl BackoffConfig {
    /// The default schedule with another cap (`max`).
    pub fn with_cap(max: Duration) -> Self {
        BackoffConfig { max: max.max(Duration::from_secs(1)), ..Default::default() }
    }

    /// The battery profile for mobile nodes: 1 s × 2 up to 5 minutes, full jitter (floor
    /// 1 s). A Gateway that stays unreachable costs about 12 attempts an hour once the cap
    /// is reached, instead of 120 with the 30 s default.
    pub fn battery() -> Self {
        BackoffConfig {
            initial: Duration::from_secs(1),
            factor: 2,
            max: Duration::from_secs(300),
            jitter: Jitter::Full,
            floor: Duration::from_secs(1),
        }
    }
}

/// A sliding-window budget of connection attempts: at most `max_attempts` in any
/// `window`. It is the hard bound behind every other rule (backoff, `retryAfterMs`,
/// `restartExpectedMs`, nudges, wake-ups, sessions that die right after hello): the
/// supervisor asks [`AttemptBudget::wait_before_next`] before each attempt and waits that
/// long, whatever else says "now".
#[derive(Debug, Clone)]
pub struct AttemptBudget {
    max_attempts: usize,
    window: Duration,
    recent: VecDeque<Instant>,
}

impl AttemptBudget {
    /// At most `max_attempts` (≥ 1) attempts in any `window`.
    pub fn new(max_attempts: u32, window: Duration) -> Self {
        AttemptBudget { max_attempts: (max_attempts.max(1)) as usize, window, recent: VecDeque::new() }
    }

    /// How long to wait at `now` before the next attempt may start (zero: go).
    pub fn wait_before_next(&mut self, now: Instant) -> Duration {
        while let Some(first) = self.recent.front() {
            if now.saturating_duration_since(*first) >= self.window {
                self.recent.pop_front();
            } else {
                break;
            }
        }
        if self.recent.len() < self.max_attempts {
            return Duration::ZERO;
        }
        match self.recent.front() {
            Some(first) => (*first + self.window).saturating_duration_since(now),
            None => Duration::ZERO,
        }
    }

    /// Records an attempt started at `now`.
    pub fn record(&mut self, now: Instant) {
        self.recent.push_back(now);
        while self.recent.len() > self.max_attempts {
            self.recent.pop_front();
        }
    }
}

/// Backoff state.
#[derive(Debug, Clone)]
pub struct Backoff {
    cfg: BackoffConfig,
    attempt: u32,
}

impl Backoff {
    /// New state.
    pub fn new(cfg: BackoffConfig) -> Self {
        Backoff { cfg, attempt: 0 }
    }

    /// Failed attempts since the last reset.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Resets after a successful hello.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// Restores an attempt count (a session that died right after hello does not earn a
    /// reset: the supervisor puts the count back so a flapping Gateway still backs off).
    pub fn set_attempt(&mut self, attempt: u32) {
        self.attempt = attempt;
    }

    /// The cap of this schedule.
    #[cfg(test)]
    pub fn cap(&self) -> Duration {
        self.cfg.max
    }

    /// The next delay (and counts an attempt).
    pub fn next_delay(&mut self, rng: &dyn RandomSource) -> Duration {
        let exp = self.cfg.factor.max(1).saturating_pow(self.attempt.min(30));
        let base = self.cfg.initial.saturating_mul(exp).min(self.cfg.max);
        self.attempt = self.attempt.saturating_add(1);
        match self.cfg.jitter {
            Jitter::None => base,
            Jitter::Full => {
                let ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
                let r = rng.next_u64().unwrap_or(u64::MAX);
                let pick = if ms == 0 { 0 } else { r % (ms + 1) };
                Duration::from_millis(pick).max(self.cfg.floor.min(base))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SeededRandom;

    #[test]
    fn doubles_to_cap_and_resets() {
        let rng = SeededRandom::new(1);
        let mut b = Backoff::new(BackoffConfig::default());
        let secs: Vec<u64> = (0..8).map(|_| b.next_delay(&rng).as_secs()).collect();
        assert_eq!(secs, vec![1, 2, 4, 8, 16, 30, 30, 30]);
        b.reset();
        assert_eq!(b.next_delay(&rng), Duration::from_secs(1));
    }

    #[test]
    fn full_jitter_stays_in_range() {
        let rng = SeededRandom::new(3);
        let mut b = Backoff::new(BackoffConfig { jitter: Jitter::Full, ..Default::default() });
        for i in 0..50 {
            let cap = Duration::from_secs(1 << i.min(5)).min(Duration::from_secs(30));
            let d = b.next_delay(&rng);
            assert!(d <= cap && d >= Duration::from_millis(250), "{d:?}");
        }
    }

    #[test]
    fn battery_profile_caps_at_five_minutes() {
        let rng = SeededRandom::new(9);
        let mut b = Backoff::new(BackoffConfig::battery());
        for _ in 0..40 {
            let d = b.next_delay(&rng);
            assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(300), "{d:?}");
        }
        assert_eq!(Backoff::new(BackoffConfig::with_cap(Duration::from_secs(90))).cap(), Duration::from_secs(90));
    }

    #[test]
    fn budget_bounds_any_sliding_window() {
        let mut b = AttemptBudget::new(10, Duration::from_secs(60));
        let t0 = Instant::now();
        let mut t = t0;
        let mut starts = Vec::new();
        // A caller that wants to retry every 100 ms for 10 minutes.
        while t < t0 + Duration::from_secs(600) {
            let w = b.wait_before_next(t);
            t += w;
            b.record(t);
            starts.push(t);
            t += Duration::from_millis(100);
        }
        for (i, s) in starts.iter().enumerate() {
            let n = starts[i..].iter().take_while(|x| x.duration_since(*s) < Duration::from_secs(60)).count();
            assert!(n <= 10, "{n} attempts within 60 s of attempt {i}");
        }
        assert!(starts.len() >= 100 && starts.len() <= 110, "{}", starts.len());
    }

    #[test]
    fn attempts_per_minute_are_bounded() {
        // With the default schedule, at most 6 attempts fit into the first minute of failures.
        let rng = SeededRandom::new(1);
        let mut b = Backoff::new(BackoffConfig::default());
        let mut t = Duration::ZERO;
        let mut n = 1; // the first attempt happens at t = 0
        loop {
            t += b.next_delay(&rng);
            if t > Duration::from_secs(60) {
                break;
            }
            n += 1;
        }
        assert!(n <= 6, "{n}");
    }
}
