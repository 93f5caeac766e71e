//! Reconnect backoff: 1 s × 2 up to a cap, optional full jitter, reset on hello.

use std::time::Duration;

use crate::clock::RandomSource;

/// Jitter mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
