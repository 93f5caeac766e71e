//! The node: one per Gateway. It owns the lifecycle — connect, classify failures,
//! back off or pause, run the session, decide readiness — and publishes a state stream.
//!
//! # Lifecycle controls
//!
//! | Call | Effect |
//! |---|---|
//! | [`Node::nudge`] | retry now (network regained, app foregrounded); does not lift a pause or a suspension |
//! | [`Node::suspend`] / [`Node::unsuspend`] ([`Node::set_suspended`]) | no socket while suspended (iOS background, Linux sleep): the live session closes with 1000 and no attempt starts until unsuspended, which retries at once with a fresh backoff |
//! | [`Node::pause`] | stop retrying with a [`PauseKind::Requested`] reason until [`Node::resume`] |
//! | [`Node::resume`] | lifts a pause (terminal error or [`Node::pause`]) and retries now; it does **not** lift a suspension, nor a pin mismatch ([`Node::trust_pin`] does) |
//! | [`Node::set_foreground`] | foreground gating and queued work (commands.md §4); the return to the foreground cuts a backoff wait short, like a nudge, and checks a live session (`health` within 5 s, else it is closed 4000 and replaced at once) |
//!
//! # Layout
//!
//! `policy` decides (a pure state machine: events in, effects and one action out, time
//! passed in); `driver` performs its decisions; `connected` runs one live session; `auth`
//! picks the credential and stores the hello's tokens; `pending` flushes the outbox and does
//! the foreground work; `config` and `state` are the public types.
//!
//! # Bound on connection attempts
//!
//! Every WebSocket handshake first asks an [`AttemptBudget`](crate::backoff::AttemptBudget):
//! at most [`NodeConfig::max_attempts_per_minute`] (default 10, battery profile 6) start in
//! any sliding 60-second window, whatever the failure mode — backoff, `retryAfterMs`,
//! `restartExpectedMs`, nudges, wake-ups, a Gateway that closes every session right after
//! hello. While the Gateway's port refuses, cheap TCP reachability checks
//! ([`NodeConfig::reachability_interval`]; not handshakes, no credential) gate the next
//! handshake, so the node is back as soon as the port accepts. A session ended by a Gateway
//! restart or close does not grow the backoff; one that ends within
//! [`NodeConfig::stable_session`] of its hello does not reset it.

mod auth;
mod config;
mod connected;
mod driver;
mod pending;
mod policy;
mod requests;
mod state;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, info, info_span, warn};

pub use config::{ClientDescriptor, Credentials, HostStatsProvider, NodeConfig};
pub use requests::SessionCounters;
pub use state::{AliveOutcome, EventDelivery, NodeNotice, NodeState, PauseKind, PauseReason, Remediation};

use crate::clock::{Clock, RandomSource, SystemClock, SystemRandom};
use crate::commands::PlatformFamily;
use crate::endpoint::{Endpoint, TlsPin};
use crate::events::{NodeEvent, PresenceAlive, PresenceTrigger, send_node_event};
use crate::identity::DeviceIdentity;
use crate::invoke::{CommandRegistry, InvokeRouter, InvokeStats};
use crate::outbox::{Outbox, OutboxStats, ReplayPolicy, replay_policy};
use crate::protocol::{
    NodeEventResult, PendingAckParams, PendingAckResult, PendingDrainParams, PendingDrainResult, PendingPullResult,
    Role, names,
};
use crate::session::{RequestError, SessionHandle};
use crate::store::{CredentialStore, StoreError, TokenKey, load_or_create_identity};
use crate::transport;
use driver::{Control, supervise};
use serde_json::json;

/// Notices buffered per receiver ([`Node::notices`]); a receiver that falls further
/// behind loses the oldest (`RecvError::Lagged`). Chat deltas can come in bursts.
pub(crate) const NOTICE_BUFFER: usize = 1024;

/// Errors of the [`Node`] API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// Loading or creating the identity failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No live session.
    #[error("not connected")]
    NotConnected,
    /// A pin was offered for a plaintext endpoint.
    #[error("a TLS pin needs a wss:// endpoint")]
    PinOnPlaintext,
    /// A request failed.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// [`Node::request`] was asked for a method the node sends itself.
    #[error("{0} is sent by the node itself")]
    ReservedMethod(String),
}

struct Inner {
    cfg: NodeConfig,
    identity: DeviceIdentity,
    store: Arc<dyn CredentialStore>,
    router: Arc<InvokeRouter>,
    state: watch::Sender<NodeState>,
    notices: broadcast::Sender<NodeNotice>,
    nudge: Notify,
    ctl: watch::Sender<Control>,
    foreground: std::sync::atomic::AtomicBool,
    fg_work_due: std::sync::atomic::AtomicBool,
    fg_kick: Notify,
    outbox: Mutex<Outbox>,
    flush_kick: Notify,
    flushing: Arc<std::sync::atomic::AtomicBool>,
    ready: std::sync::atomic::AtomicBool,
    last_presence: Mutex<Option<tokio::time::Instant>>,
    stop: CancellationToken,
    current: Mutex<Option<SessionHandle>>,
    clock: Arc<dyn Clock>,
    rng: Arc<dyn RandomSource>,
    epoch: AtomicU64,
    attempts: AtomicU64,
    /// The endpoint in force: the configured one (or the chosen setup-code candidate) with
    /// its pin (configured, stored, or trusted since).
    endpoint_now: Mutex<Endpoint>,
    /// `hello-ok.pluginSurfaceUrls`, updated by `node.pluginSurface.refresh`.
    surface_urls: Mutex<std::collections::BTreeMap<String, String>>,
    /// Counters of the current (or last) session.
    session_stats: Mutex<Option<Arc<crate::session::SessionStats>>>,
}

/// A node: the public handle over the supervisor.
#[derive(Clone)]
pub struct Node {
    inner: Arc<Inner>,
    task: Arc<Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("device_id", &self.device_id()).field("state", &self.state()).finish()
    }
}

impl Node {
    /// Builds a node: loads (or creates) the identity from `store`. An identity that exists
    /// but cannot be loaded is an error, never silently replaced.
    pub fn new(cfg: NodeConfig, registry: CommandRegistry, store: Arc<dyn CredentialStore>) -> Result<Self, NodeError> {
        Self::with_clock(cfg, registry, store, Arc::new(SystemClock), Arc::new(SystemRandom::new()))
    }

    /// Like [`Node::new`] with an explicit clock and random source.
    pub fn with_clock(
        cfg: NodeConfig,
        registry: CommandRegistry,
        store: Arc<dyn CredentialStore>,
        clock: Arc<dyn Clock>,
        rng: Arc<dyn RandomSource>,
    ) -> Result<Self, NodeError> {
        let identity = load_or_create_identity(store.as_ref(), rng.as_ref(), clock.now_ms())?;
        let platform = PlatformFamily::classify(&cfg.client.platform, cfg.client.device_family.as_deref());
        let router = InvokeRouter::for_platform(registry, cfg.invoke.clone(), platform);
        let (state, _) = watch::channel(NodeState::Idle);
        let (notices, _) = broadcast::channel(NOTICE_BUFFER);
        let (ctl, _) = watch::channel(Control::default());
        let outbox = Mutex::new(Outbox::new(cfg.outbox.clone()));
        let endpoint_now = Mutex::new(with_stored_pin(cfg.endpoint.clone(), cfg.pins.as_deref())?);
        Ok(Node {
            inner: Arc::new(Inner {
                cfg,
                identity,
                store,
                router,
                state,
                notices,
                nudge: Notify::new(),
                ctl,
                foreground: std::sync::atomic::AtomicBool::new(true),
                fg_work_due: std::sync::atomic::AtomicBool::new(false),
                fg_kick: Notify::new(),
                outbox,
                flush_kick: Notify::new(),
                flushing: Arc::new(std::sync::atomic::AtomicBool::new(false)),
                ready: std::sync::atomic::AtomicBool::new(false),
                last_presence: Mutex::new(None),
                stop: CancellationToken::new(),
                current: Mutex::new(None),
                clock,
                rng,
                epoch: AtomicU64::new(0),
                attempts: AtomicU64::new(0),
                endpoint_now,
                surface_urls: Mutex::new(std::collections::BTreeMap::new()),
                session_stats: Mutex::new(None),
            }),
            task: Arc::new(Mutex::new(None)),
        })
    }

    /// This node's device id (= its node id).
    pub fn device_id(&self) -> &str {
        self.inner.identity.device_id()
    }

    /// The device identity.
    pub fn identity(&self) -> &DeviceIdentity {
        &self.inner.identity
    }

    /// Starts the supervisor on the current tokio runtime (idempotent).
    pub fn start(&self) {
        let Ok(mut t) = self.task.lock() else { return };
        if t.is_some() {
            return;
        }
        let inner = self.inner.clone();
        let span = info_span!("node", device_id = %&inner.identity.device_id()[..12], gateway = %inner.cfg.endpoint);
        *t = Some(tokio::spawn(supervise(inner).instrument(span)));
    }

    /// Stops: closes the socket (1000), cancels running handlers, ends the supervisor.
    pub async fn stop(&self) {
        self.inner.stop.cancel();
        self.inner.router.shut_down();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task
            && tokio::time::timeout(Duration::from_secs(5), task).await.is_err()
        {
            warn!("supervisor did not stop within 5 s");
        }
        // Handlers were cancelled by `shut_down`; one that ignores it is aborted after the
        // grace period. Return only once they have ended, so nothing of theirs (a foreign
        // future of the bindings, a child process) outlives `stop()`.
        let grace = self.inner.cfg.invoke.cancel_grace + Duration::from_secs(1);
        if !self.inner.router.wait_handlers_ended(grace).await {
            warn!(running = self.inner.router.running_handlers(), "handlers still running after stop");
        }
        self.inner.set_state(NodeState::Stopped);
    }

    /// Replaces the command registry (hosts that register handlers after building the node,
    /// e.g. the FFI bindings). New invokes use it at once; the declared `commands`/`caps` are
    /// taken from it on every connect, so a change made while connected is declared on the
    /// next connection.
    pub fn set_registry(&self, registry: CommandRegistry) {
        self.inner.router.set_registry(registry);
    }

    /// The commands currently registered (what the next connect declares).
    pub fn commands(&self) -> Vec<String> {
        self.inner.router.registry().commands()
    }

    /// The current state.
    pub fn state(&self) -> NodeState {
        self.inner.state.borrow().clone()
    }

    /// A receiver of state changes.
    pub fn subscribe_state(&self) -> watch::Receiver<NodeState> {
        self.inner.state.subscribe()
    }

    /// A receiver of notices.
    pub fn notices(&self) -> broadcast::Receiver<NodeNotice> {
        self.inner.notices.subscribe()
    }

    /// Retry now (network regained, app in foreground): cuts the current backoff wait
    /// short. Does not lift a pause or a suspension, and the attempt budget still applies.
    pub fn nudge(&self) {
        self.inner.nudge.notify_one();
    }

    /// Lifts a pause (terminal error, or [`Node::pause`]) after the user acted, and retries
    /// now. Does not lift a suspension ([`Node::unsuspend`] does).
    pub fn resume(&self) {
        self.inner.ctl.send_modify(|c| {
            c.pause = None;
            c.resume_gen = c.resume_gen.wrapping_add(1);
        });
    }

    /// Pauses the node until [`Node::resume`]: the live session closes (1000) and no
    /// attempt starts; the state becomes `Paused` with [`PauseKind::Requested`] and `reason`.
    pub fn pause(&self, reason: impl Into<String>) {
        let reason = reason.into();
        self.inner.ctl.send_modify(|c| c.pause = Some(reason));
    }

    /// Suspends the node (iOS background, Linux sleep): the live session closes (1000), no
    /// socket is opened until [`Node::unsuspend`]; the state is `Suspended`. Idempotent.
    pub fn suspend(&self) {
        self.set_suspended(true);
    }

    /// Ends a suspension and connects at once (a wake-up: the backoff starts afresh; the
    /// attempt budget still applies). The readiness probe after hello reports presence.
    pub fn unsuspend(&self) {
        self.set_suspended(false);
    }

    /// [`Node::suspend`] (`true`) or [`Node::unsuspend`] (`false`).
    pub fn set_suspended(&self, suspended: bool) {
        self.inner.ctl.send_if_modified(|c| {
            if c.suspended == suspended {
                false
            } else {
                c.suspended = suspended;
                true
            }
        });
    }

    /// Whether the node is suspended.
    pub fn is_suspended(&self) -> bool {
        self.inner.ctl.borrow().suspended
    }

    /// Tells the node whether the app is in the foreground (default: yes). While
    /// backgrounded, commands registered with [`CommandRegistry::register_foreground`]
    /// answer `NODE_BACKGROUND_UNAVAILABLE`. On the return to the foreground the node runs
    /// `node.pending.pull`, executes the queued actions through the same router, acks
    /// them with `node.pending.ack` (notices [`NodeNotice::PendingActionRan`]), then
    /// drains `node.pending.drain` into [`NodeNotice::PendingWork`] notices — now if a
    /// session is live, else right after the next hello.
    pub fn set_foreground(&self, foreground: bool) {
        let was = self.inner.foreground.swap(foreground, Ordering::SeqCst);
        self.inner.router.set_background(!foreground);
        if foreground && !was {
            self.inner.fg_work_due.store(true, Ordering::SeqCst);
            self.inner.fg_kick.notify_one();
            // Back in the foreground: a backoff wait is cut short (the budget still applies).
            self.inner.ctl.send_modify(|c| c.foreground_gen = c.foreground_gen.wrapping_add(1));
        }
    }

    /// Whether the app is marked as in the foreground.
    pub fn is_foreground(&self) -> bool {
        self.inner.foreground.load(Ordering::SeqCst)
    }

    /// Sends `node.presence.alive {trigger}` (a wake: silent push, background refresh, …)
    /// unless one went out less than [`NodeConfig::presence_throttle`] ago (the Gateway
    /// persists one per 60 s). Fails with `NotConnected` without a live session.
    pub async fn report_alive(&self, trigger: PresenceTrigger) -> Result<AliveOutcome, NodeError> {
        let handle = self.live_session()?;
        if !self.inner.presence_due() {
            return Ok(AliveOutcome::Throttled);
        }
        let ev = NodeEvent::PresenceAlive(self.inner.presence(trigger));
        let r = send_node_event(&handle, &ev, Duration::from_secs(15)).await?;
        self.inner.mark_presence();
        Ok(AliveOutcome::Sent(r))
    }

    /// The endpoint connections go to, with the pin currently in force.
    pub fn endpoint(&self) -> Endpoint {
        self.inner.endpoint()
    }

    /// Replaces the endpoint's pin (after a [`PauseKind::PinMismatch`] the app accepted the
    /// observed fingerprint, or after a first-use probe the user confirmed) and, when paused,
    /// retries now. The pin is stored in [`NodeConfig::pins`] (keyed by the origin) when the
    /// node has a pin store. Device tokens stay bound to the origin, which the pin is not
    /// part of.
    pub fn trust_pin(&self, pin: TlsPin) -> Result<(), NodeError> {
        let endpoint = self.inner.endpoint();
        if !endpoint.tls {
            return Err(NodeError::PinOnPlaintext);
        }
        if let Some(pins) = &self.inner.cfg.pins {
            pins.save_pin(&endpoint.origin().to_string(), &pin)?;
        }
        if let Ok(mut e) = self.inner.endpoint_now.lock() {
            e.pin = Some(pin);
        }
        info!(pin = %pin, "TLS pin replaced");
        self.inner.ctl.send_modify(|c| c.pin_gen = c.pin_gen.wrapping_add(1));
        if matches!(self.state(), NodeState::Paused(_)) {
            self.resume();
        }
        Ok(())
    }

    /// Sends a `node.event` on the live session, or queues it in the offline outbox when
    /// disconnected and its kind may be replayed later (see [`crate::outbox`]); a queued
    /// event returns `Ok` with `ok: false, reason: "queued"`. Kinds never replayed
    /// (`agent.request`, `voice.transcript`, …) fail fast with `NotConnected`.
    /// [`Node::emit_event`] tells the two outcomes apart by type.
    pub async fn send_event(&self, event: NodeEvent) -> Result<NodeEventResult, NodeError> {
        let name = event.name().to_string();
        match self.emit_event(event).await? {
            EventDelivery::Sent(r) => Ok(r),
            EventDelivery::Queued => {
                Ok(NodeEventResult { ok: false, event: Some(name), handled: None, reason: Some("queued".into()) })
            }
        }
    }

    /// Sends a `node.event` now, or queues it for after the next hello (see
    /// [`Node::send_event`]). While older events wait in the outbox, a replayable event is
    /// queued behind them so the order is kept.
    pub async fn emit_event(&self, event: NodeEvent) -> Result<EventDelivery, NodeError> {
        let replayable = replay_policy(event.name(), &self.inner.cfg.outbox) != ReplayPolicy::Never;
        let backlog = self.inner.outbox.lock().map(|o| !o.is_empty()).unwrap_or(false);
        let live = self.live_session().ok().filter(|_| self.inner.ready.load(Ordering::SeqCst));
        match live {
            Some(h) if !(replayable && backlog) => match send_node_event(&h, &event, Duration::from_secs(15)).await {
                Ok(r) => Ok(EventDelivery::Sent(r)),
                Err(RequestError::Closed) if replayable => self.enqueue(event),
                Err(e) => Err(e.into()),
            },
            Some(_) => {
                let r = self.enqueue(event);
                self.inner.flush_kick.notify_one();
                r
            }
            None if replayable => self.enqueue(event),
            None => {
                if let Ok(mut o) = self.inner.outbox.lock() {
                    o.push(event, tokio::time::Instant::now());
                }
                Err(NodeError::NotConnected)
            }
        }
    }

    fn enqueue(&self, event: NodeEvent) -> Result<EventDelivery, NodeError> {
        let mut o = self.inner.outbox.lock().map_err(|_| NodeError::NotConnected)?;
        if o.push(event, tokio::time::Instant::now()) {
            Ok(EventDelivery::Queued)
        } else {
            Err(NodeError::NotConnected)
        }
    }

    /// Outbox counters.
    pub fn outbox_stats(&self) -> OutboxStats {
        self.inner.outbox.lock().map(|o| o.stats()).unwrap_or_default()
    }

    fn live_session(&self) -> Result<SessionHandle, NodeError> {
        self.inner.current.lock().ok().and_then(|c| c.clone()).ok_or(NodeError::NotConnected)
    }

    /// `node.pending.pull`: invokes the Gateway queued while the app was in the background.
    pub async fn pending_pull(&self) -> Result<PendingPullResult, NodeError> {
        let v = self.live_session()?.request(names::NODE_PENDING_PULL, json!({}), Duration::from_secs(15)).await?;
        Ok(serde_json::from_value(v).unwrap_or_default())
    }

    /// `node.pending.ack {ids}` (at least one id).
    pub async fn pending_ack(&self, ids: Vec<String>) -> Result<PendingAckResult, NodeError> {
        if ids.is_empty() {
            return Ok(PendingAckResult::default());
        }
        let params = serde_json::to_value(PendingAckParams { ids }).unwrap_or_default();
        let v = self.live_session()?.request(names::NODE_PENDING_ACK, params, Duration::from_secs(15)).await?;
        Ok(serde_json::from_value(v).unwrap_or_default())
    }

    /// `node.pending.drain {maxItems?}` (1..10): queued `status.request` / `location.request` items.
    pub async fn pending_drain(&self, max_items: Option<u8>) -> Result<PendingDrainResult, NodeError> {
        let params = serde_json::to_value(PendingDrainParams { max_items: max_items.map(|m| m.clamp(1, 10)) })
            .unwrap_or_default();
        let v = self.live_session()?.request(names::NODE_PENDING_DRAIN, params, Duration::from_secs(15)).await?;
        Ok(serde_json::from_value(v).unwrap_or_default())
    }

    /// Invoke counters.
    pub fn invoke_stats(&self) -> Arc<InvokeStats> {
        self.inner.router.stats().clone()
    }

    /// Connection attempts made so far.
    pub fn connect_attempts(&self) -> u64 {
        self.inner.attempts.load(Ordering::Relaxed)
    }
}

impl Inner {
    fn set_state(&self, s: NodeState) {
        self.state.send_if_modified(|cur| {
            if *cur == s {
                false
            } else {
                *cur = s;
                true
            }
        });
    }

    fn notice(&self, n: NodeNotice) {
        let _ = self.notices.send(n);
    }

    fn token_key(&self) -> TokenKey {
        TokenKey {
            origin: self.endpoint().origin().to_string(),
            device_id: self.identity.device_id().to_string(),
            role: Role::Node,
        }
    }

    fn trusted_for_device_retry(&self) -> bool {
        transport::is_trusted_for_device_retry(&self.endpoint())
    }

    fn endpoint(&self) -> Endpoint {
        self.endpoint_now.lock().map(|e| e.clone()).unwrap_or_else(|_| self.cfg.endpoint.clone())
    }

    /// Stores the pin in force after a hello when the pin store has none for the origin
    /// (a setup code's pin, pairing.md: the code's pin becomes the gateway's pin).
    fn remember_pin(&self) {
        let e = self.endpoint();
        if let (Some(pins), Some(pin)) = (&self.cfg.pins, e.pin) {
            let origin = e.origin().to_string();
            if matches!(pins.load_pin(&origin), Ok(None))
                && let Err(err) = pins.save_pin(&origin, &pin)
            {
                warn!(error = %err, "could not store the TLS pin");
            }
        }
    }

    fn presence_due(&self) -> bool {
        self.last_presence.lock().map(|l| l.is_none_or(|t| t.elapsed() >= self.cfg.presence_throttle)).unwrap_or(true)
    }

    fn mark_presence(&self) {
        if let Ok(mut l) = self.last_presence.lock() {
            *l = Some(tokio::time::Instant::now());
        }
    }

    fn presence(&self, trigger: PresenceTrigger) -> PresenceAlive {
        PresenceAlive {
            trigger,
            sent_at_ms: Some(self.clock.now_ms()),
            display_name: self.cfg.client.display_name.clone(),
            version: Some(self.cfg.client.version.clone()),
            platform: Some(self.cfg.client.platform.clone()),
            device_family: self.cfg.client.device_family.clone(),
            model_identifier: self.cfg.client.model_identifier.clone(),
        }
    }
}

/// `endpoint` with the pin `pins` holds for its origin when it has none of its own.
fn with_stored_pin(endpoint: Endpoint, pins: Option<&dyn crate::store::PinStore>) -> Result<Endpoint, StoreError> {
    match pins {
        Some(pins) if endpoint.tls && endpoint.pin.is_none() => {
            let stored = pins.load_pin(&endpoint.origin().to_string())?;
            Ok(Endpoint { pin: stored, ..endpoint })
        }
        _ => Ok(endpoint),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_can_be_replaced_after_construction() {
        let endpoint = Endpoint::parse("ws://127.0.0.1:18789").unwrap();
        let cfg = NodeConfig::new(endpoint, ClientDescriptor::linux_node_host("0"));
        let node = Node::new(cfg, CommandRegistry::new(), Arc::new(crate::store::MemoryStore::default())).unwrap();
        assert!(node.commands().is_empty());
        let mut r = CommandRegistry::new();
        r.register("device.info", |_ctx: crate::invoke::InvokeContext| async { Ok(serde_json::Value::Null) }).unwrap();
        node.set_registry(r);
        assert_eq!(node.commands(), vec!["device.info"]);
        assert_eq!(node.inner.router.registry().caps(), vec!["device"]);
    }

    #[test]
    fn stored_pins_apply_to_unpinned_wss_endpoints_and_trust_pin_stores() {
        use crate::store::{MemoryStore, PinStore};
        let stored = TlsPin::parse(&"ab".repeat(32)).unwrap();
        let other = TlsPin::parse(&"cd".repeat(32)).unwrap();
        let pins = Arc::new(MemoryStore::default());
        pins.save_pin("wss://gw.example:8443", &stored).unwrap();
        let node_for = |url: &str, pin: Option<TlsPin>| {
            let mut cfg =
                NodeConfig::new(Endpoint::parse_pinned(url, pin).unwrap(), ClientDescriptor::linux_node_host("0"));
            cfg.pins = Some(pins.clone());
            Node::new(cfg, CommandRegistry::new(), Arc::new(MemoryStore::default())).unwrap()
        };
        assert_eq!(node_for("wss://gw.example:8443", None).endpoint().pin, Some(stored), "the stored pin applies");
        assert_eq!(node_for("wss://gw.example:8443", Some(other)).endpoint().pin, Some(other), "a configured pin wins");
        assert_eq!(node_for("wss://gw2.example:8443", None).endpoint().pin, None, "never another origin's pin");
        let n = node_for("wss://gw2.example:8443", None);
        n.trust_pin(other).unwrap();
        assert_eq!(n.endpoint().pin, Some(other));
        assert_eq!(pins.load_pin("wss://gw2.example:8443").unwrap(), Some(other), "trust_pin stores the pin");
        let plain = node_for("ws://127.0.0.1:18789", None);
        assert!(matches!(plain.trust_pin(other), Err(NodeError::PinOnPlaintext)));
    }
}
