//! Invoke counters and the node-side turnaround histogram: written by the invoke router
//! and the session writer, read by hosts (`clawnode status`, benchmarks). Its own module so
//! that neither the session nor the router depends on the other for it.

mod turnaround;

pub use turnaround::{Turnaround, TurnaroundSnapshot};

use std::sync::atomic::AtomicU64;

/// Counters of the router (monotonic).
#[derive(Debug, Default)]
pub struct InvokeStats {
    /// Requests received.
    pub received: AtomicU64,
    /// Results sent with `ok:true`.
    pub succeeded: AtomicU64,
    /// Results sent with an error.
    pub failed: AtomicU64,
    /// Local deadline expiries.
    pub timed_out: AtomicU64,
    /// Cancelled invokes (no result sent).
    pub cancelled: AtomicU64,
    /// Duplicate invoke ids ignored.
    pub duplicates: AtomicU64,
    /// Results dropped because their session had ended.
    pub dropped_results: AtomicU64,
    /// Results the Gateway acked as `ignored` (late).
    pub late_results: AtomicU64,
    /// Results replaced by `PAYLOAD_TOO_LARGE`.
    pub too_large: AtomicU64,
    /// Requests refused because the queue was full.
    pub busy: AtomicU64,
    /// Handlers that panicked.
    pub panicked: AtomicU64,
    /// Requests refused with `NODE_BACKGROUND_UNAVAILABLE` (app in the background).
    pub background_refused: AtomicU64,
    /// Catalog commands refused with `INVALID_REQUEST` before the handler ran (bad params).
    pub invalid_params: AtomicU64,
    /// Catalog results over their size budget, answered `PAYLOAD_TOO_LARGE`.
    pub over_budget: AtomicU64,
    /// Node-side turnaround of answered invokes: request frame read → result frame written.
    pub turnaround: Turnaround,
}
