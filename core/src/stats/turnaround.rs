//! Node-side turnaround of invokes: from the moment the `node.invoke.request` frame was read
//! off the socket to the moment its `node.invoke.result` frame was written to it. A fixed,
//! allocation-free histogram (1 µs buckets to 1 ms, 64 µs buckets to 65 ms, then one overflow
//! bucket), recorded by the session writer.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const FINE: usize = 1024; // 0..1024 µs, 1 µs wide
const COARSE: usize = 1008; // 1024..65536 µs, 64 µs wide
const COARSE_WIDTH: u64 = 64;
const BUCKETS: usize = FINE + COARSE + 1;

/// Percentiles of the recorded turnarounds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TurnaroundSnapshot {
    /// Invokes recorded.
    pub count: u64,
    /// Median, µs (exact to the µs below 1 ms, then to 64 µs).
    pub p50_us: u64,
    /// 90th percentile, µs.
    pub p90_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// Largest, µs.
    pub max_us: u64,
}

/// The histogram (shared by the router and the session writers).
pub struct Turnaround {
    buckets: Box<[AtomicU64]>,
    max_us: AtomicU64,
}

impl Default for Turnaround {
    fn default() -> Self {
        Turnaround { buckets: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(), max_us: AtomicU64::new(0) }
    }
}

impl std::fmt::Debug for Turnaround {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Turnaround").field(&self.snapshot()).finish()
    }
}

fn bucket(us: u64) -> usize {
    if us < FINE as u64 {
        us as usize
    } else {
        // Clamp in u64 before narrowing: on 32-bit targets `as usize` of a large quotient
        // would wrap (2^32 coarse buckets ≈ 76 h of turnaround land in bucket FINE).
        let coarse = ((us - FINE as u64) / COARSE_WIDTH).min(COARSE as u64);
        FINE + usize::try_from(coarse).unwrap_or(COARSE)
    }
}

/// The value a bucket reports: its µs below 1 ms, its upper bound above.
fn upper_bound(i: usize) -> u64 {
    if i < FINE { i as u64 } else { FINE as u64 + (i - FINE + 1) as u64 * COARSE_WIDTH }
}

impl Turnaround {
    /// Records one turnaround.
    pub fn record(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.buckets[bucket(us)].fetch_add(1, Ordering::Relaxed);
        self.max_us.fetch_max(us, Ordering::Relaxed);
    }

    /// Percentiles so far.
    pub fn snapshot(&self) -> TurnaroundSnapshot {
        let counts: Vec<u64> = self.buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        let count: u64 = counts.iter().sum();
        let max_us = self.max_us.load(Ordering::Relaxed);
        let pct = |p: f64| -> u64 {
            if count == 0 {
                return 0;
            }
            let rank = ((count as f64) * p / 100.0).ceil().max(1.0) as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= rank {
                    return upper_bound(i).min(max_us);
                }
            }
            max_us
        };
        TurnaroundSnapshot { count, p50_us: pct(50.0), p90_us: pct(90.0), p99_us: pct(99.0), max_us }
    }

    /// Forgets everything recorded so far (e.g. after a warm-up).
    pub fn reset(&self) {
        for b in self.buckets.iter() {
            b.store(0, Ordering::Relaxed);
        }
        self.max_us.store(0, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let t = Turnaround::default();
        assert_eq!(t.snapshot(), TurnaroundSnapshot::default());
        for us in 1..=100u64 {
            t.record(Duration::from_micros(us));
        }
        let s = t.snapshot();
        assert_eq!((s.count, s.p50_us, s.p90_us, s.p99_us, s.max_us), (100, 50, 90, 99, 100));
        t.record(Duration::from_millis(5));
        t.record(Duration::from_secs(100));
        let s = t.snapshot();
        assert_eq!(s.count, 102);
        assert_eq!(s.max_us, 100_000_000);
        assert_eq!(bucket(1023), 1023);
        assert_eq!(bucket(1024), 1024);
        assert_eq!(upper_bound(1024), 1088);
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
        // 2^32 coarse widths past FINE (≈ 76 h): the last bucket, not the first coarse one
        // (the quotient wrapped to 0 when narrowed to a 32-bit usize before clamping).
        assert_eq!(bucket(FINE as u64 + (1u64 << 32) * COARSE_WIDTH), BUCKETS - 1);
        assert_eq!(bucket(FINE as u64 + (1u64 << 32) * COARSE_WIDTH + 64), BUCKETS - 1);
        t.reset();
        assert_eq!(t.snapshot().count, 0);
    }
}
