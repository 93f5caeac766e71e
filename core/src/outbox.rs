//! The offline outbox: `node.event`s emitted while no session is live, kept in a bounded
//! queue and flushed in order after the next hello.
//!
//! Only events that still make sense later are kept, each kind with a maximum age
//! ([`replay_policy`]):
//!
//! | Event | Policy |
//! |---|---|
//! | `notifications.changed`, `exec.started` / `exec.finished` / `exec.denied` | kept, max age 1 h (configurable) |
//! | `node.host.stats` | only the newest is kept, max age 5 min |
//! | `agent.request`, `voice.transcript` | **never** queued: they would start stale agent turns; [`crate::Node::send_event`] fails fast with `NotConnected` |
//! | `node.presence.alive` | never queued (the readiness probe after hello reports presence) |
//! | `chat.subscribe` / `chat.unsubscribe` | never queued (subscriptions belong to one connection) |
//! | any other (custom) event | never queued |
//!
//! The queue holds at most [`OutboxConfig::max_events`] events; when full the oldest is
//! dropped and counted. Expired events are dropped (and counted) at flush time. Ages use
//! the monotonic clock.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

use crate::events::NodeEvent;

/// What happens to an event emitted while disconnected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayPolicy {
    /// Queue it; drop it when older than `max_age` at flush time.
    Keep {
        /// Maximum age.
        max_age: Duration,
    },
    /// Queue it, replacing any queued event of the same name; drop it when older than
    /// `max_age`.
    LatestOnly {
        /// Maximum age.
        max_age: Duration,
    },
    /// Never queue: the caller gets `NotConnected` at once.
    Never,
}

/// Outbox limits.
#[derive(Debug, Clone)]
pub struct OutboxConfig {
    /// Most events queued; the oldest is dropped beyond this.
    pub max_events: usize,
    /// Maximum age of kept events (`notifications.changed`, `exec.*`).
    pub max_age: Duration,
    /// Maximum age of the newest `node.host.stats`.
    pub stats_max_age: Duration,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig { max_events: 256, max_age: Duration::from_secs(3600), stats_max_age: Duration::from_secs(300) }
    }
}

/// The policy for an event name under `cfg`.
pub fn replay_policy(name: &str, cfg: &OutboxConfig) -> ReplayPolicy {
    match name {
        "notifications.changed" | "exec.started" | "exec.finished" | "exec.denied" => {
            ReplayPolicy::Keep { max_age: cfg.max_age }
        }
        "node.host.stats" => ReplayPolicy::LatestOnly { max_age: cfg.stats_max_age },
        _ => ReplayPolicy::Never,
    }
}

/// Outbox counters (monotonic, except `queued`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutboxStats {
    /// Events waiting now.
    pub queued: usize,
    /// Events accepted into the queue so far.
    pub accepted: u64,
    /// Events sent by a flush.
    pub flushed: u64,
    /// Oldest events dropped because the queue was full.
    pub dropped_overflow: u64,
    /// Events dropped because they were too old at flush time.
    pub dropped_expired: u64,
    /// `node.host.stats` replaced by a newer one.
    pub replaced: u64,
    /// Events refused because their kind is never replayed.
    pub refused: u64,
}

#[derive(Debug)]
struct Item {
    at: Instant,
    max_age: Duration,
    event: NodeEvent,
}

/// The bounded queue itself (the supervisor wraps it in a mutex).
#[derive(Debug)]
pub struct Outbox {
    cfg: OutboxConfig,
    items: VecDeque<Item>,
    stats: OutboxStats,
}

impl Outbox {
    /// An empty outbox.
    pub fn new(cfg: OutboxConfig) -> Self {
        Outbox { cfg, items: VecDeque::new(), stats: OutboxStats::default() }
    }

    /// Queues `event` at `now` per its policy; returns false (and counts a refusal) for a
    /// kind that is never replayed.
    pub fn push(&mut self, event: NodeEvent, now: Instant) -> bool {
        let (max_age, latest_only) = match replay_policy(event.name(), &self.cfg) {
            ReplayPolicy::Never => {
                self.stats.refused += 1;
                return false;
            }
            ReplayPolicy::Keep { max_age } => (max_age, false),
            ReplayPolicy::LatestOnly { max_age } => (max_age, true),
        };
        if latest_only {
            let before = self.items.len();
            let name = event.name().to_string();
            self.items.retain(|i| i.event.name() != name);
            self.stats.replaced += (before - self.items.len()) as u64;
        }
        if self.cfg.max_events == 0 {
            self.stats.dropped_overflow += 1;
            return true;
        }
        while self.items.len() >= self.cfg.max_events {
            self.items.pop_front();
            self.stats.dropped_overflow += 1;
        }
        self.items.push_back(Item { at: now, max_age, event });
        self.stats.accepted += 1;
        true
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The next event still fresh at `now`, oldest first; expired ones are dropped (and
    /// counted) on the way. Returns the event and its enqueue time (for [`Outbox::requeue`]).
    pub fn pop_fresh(&mut self, now: Instant) -> Option<(NodeEvent, Instant)> {
        while let Some(item) = self.items.pop_front() {
            if now.saturating_duration_since(item.at) > item.max_age {
                self.stats.dropped_expired += 1;
                continue;
            }
            return Some((item.event, item.at));
        }
        None
    }

    /// Puts an event whose send failed back at the front, keeping its age.
    pub fn requeue(&mut self, event: NodeEvent, at: Instant) {
        let max_age = match replay_policy(event.name(), &self.cfg) {
            ReplayPolicy::Keep { max_age } | ReplayPolicy::LatestOnly { max_age } => max_age,
            ReplayPolicy::Never => return,
        };
        self.items.push_front(Item { at, max_age, event });
        while self.items.len() > self.cfg.max_events.max(1) {
            self.items.pop_back();
            self.stats.dropped_overflow += 1;
        }
    }

    /// Counts a flushed event.
    pub fn count_flushed(&mut self) {
        self.stats.flushed += 1;
    }

    /// Counters.
    pub fn stats(&self) -> OutboxStats {
        OutboxStats { queued: self.items.len(), ..self.stats }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::{ExecEvent, HostStats, NotificationChange, NotificationsChanged, VoiceTranscript};

    fn notif(key: &str) -> NodeEvent {
        NodeEvent::NotificationsChanged(NotificationsChanged {
            change: NotificationChange::Posted,
            key: key.into(),
            session_key: None,
            package_name: None,
            title: None,
            text: None,
        })
    }

    fn stats(cpu: u32) -> NodeEvent {
        NodeEvent::HostStats(HostStats {
            cpu_count: cpu,
            load_average: None,
            memory_total_bytes: 1,
            memory_free_bytes: 1,
            disk_total_bytes: None,
            disk_available_bytes: None,
        })
    }

    #[test]
    fn policies() {
        let cfg = OutboxConfig::default();
        assert_eq!(replay_policy("agent.request", &cfg), ReplayPolicy::Never);
        assert_eq!(replay_policy("voice.transcript", &cfg), ReplayPolicy::Never);
        assert_eq!(replay_policy("node.presence.alive", &cfg), ReplayPolicy::Never);
        assert_eq!(replay_policy("chat.subscribe", &cfg), ReplayPolicy::Never);
        assert!(matches!(replay_policy("exec.finished", &cfg), ReplayPolicy::Keep { .. }));
        assert!(matches!(replay_policy("notifications.changed", &cfg), ReplayPolicy::Keep { .. }));
        assert!(matches!(replay_policy("node.host.stats", &cfg), ReplayPolicy::LatestOnly { .. }));
    }

    #[test]
    fn bounded_ordered_latest_only_and_aged() {
        let t0 = Instant::now();
        let mut o = Outbox::new(OutboxConfig { max_events: 3, max_age: Duration::from_secs(10), ..Default::default() });
        assert!(!o.push(
            NodeEvent::VoiceTranscript(VoiceTranscript {
                text: "hi".into(),
                session_key: None,
                event_id: None,
                timestamp: None
            }),
            t0
        ));
        assert!(o.push(notif("a"), t0));
        assert!(o.push(stats(1), t0));
        assert!(o.push(notif("b"), t0 + Duration::from_secs(5)));
        assert!(o.push(stats(2), t0 + Duration::from_secs(6)));
        // Full at 3 (a, b, stats 2): one more drops the oldest (a).
        let exec = NodeEvent::ExecFinished(ExecEvent {
            session_key: None,
            run_id: "r".into(),
            host: "node",
            command: None,
            exit_code: Some(0),
            timed_out: None,
            success: Some(true),
            output: None,
            reason: None,
        });
        assert!(o.push(exec.clone(), t0 + Duration::from_secs(7)));
        let s = o.stats();
        assert_eq!((s.queued, s.dropped_overflow, s.replaced, s.refused), (3, 1, 1, 1));
        // At t0+16 s the notification b (age 11 s) has expired.
        let now = t0 + Duration::from_secs(16);
        let mut out = Vec::new();
        while let Some((e, _)) = o.pop_fresh(now) {
            out.push(e);
        }
        assert_eq!(out, vec![stats(2), exec]);
        assert_eq!(o.stats().dropped_expired, 1);
    }
}
