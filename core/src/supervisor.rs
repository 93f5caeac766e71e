//! The supervisor: one per Gateway. It owns the lifecycle — connect, classify failures,
//! back off or pause, run the session, decide readiness — and publishes a state stream.
//!
//! # Lifecycle controls
//!
//! | Call | Effect |
//! |---|---|
//! | [`Node::nudge`] | retry now (network regained, app foregrounded); does not lift a pause or a suspension |
//! | [`Node::suspend`] / [`Node::unsuspend`] ([`Node::set_suspended`]) | no socket while suspended (iOS background, Linux sleep): the live session closes with 1000 and no attempt starts until unsuspended, which retries at once with a fresh backoff |
//! | [`Node::pause`] | stop retrying with a [`PauseKind::Requested`] reason until [`Node::resume`] |
//! | [`Node::resume`] | lifts a pause (terminal error or [`Node::pause`]) and retries now; it does **not** lift a suspension |
//! | [`Node::set_foreground`] | foreground gating and queued work (commands.md §4) |
//!
//! # Bound on connection attempts
//!
//! Every attempt (a TCP connect) first asks an [`AttemptBudget`]: at most
//! [`NodeConfig::max_attempts_per_minute`] (default 10, battery profile 6) attempts start in
//! any sliding 60-second window, whatever the failure mode — backoff, `retryAfterMs`,
//! `restartExpectedMs`, nudges, wake-ups, a Gateway that closes every session right after
//! hello. The backoff itself keeps the common case far lower (at most 6 attempts in the first
//! minute of failures, then one per cap). A session that ends within
//! [`NodeConfig::stable_session`] of its hello does not reset the backoff.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{Notify, broadcast, mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, info_span, warn};

use crate::backoff::{AttemptBudget, Backoff, BackoffConfig};
use crate::clock::{Clock, RandomSource, SystemClock, SystemRandom};
use crate::commands::PlatformFamily;
use crate::endpoint::{Endpoint, TlsPin};
use crate::events::{HostStats, NodeEvent, PresenceAlive, PresenceTrigger, send_node_event};
use crate::identity::DeviceIdentity;
use crate::invoke::{CommandRegistry, InvokeConfig, InvokeRouter, InvokeStats};
use crate::outbox::{Outbox, OutboxConfig, OutboxStats, ReplayPolicy, replay_policy};
use crate::protocol::{
    ClientId, ClientInfo, ClientMode, ConnectAuth, ErrorShape, HelloOk, NodeEventResult, PairDecision,
    PendingAckParams, PendingAckResult, PendingDrainItem, PendingDrainParams, PendingDrainResult, PendingPullResult,
    Role, names,
};
use crate::secret::Secret;
use crate::session::{
    ConnectRequest, HandshakeConfig, HandshakeError, LivenessConfig, RequestError, Session, SessionEnd, SessionEndKind,
    SessionEvent, SessionHandle, handshake,
};
use crate::store::{CredentialStore, StoreError, StoredToken, TokenKey, load_or_create_identity};
use crate::transport::{self, PinMismatch, TransportConfig, TransportError};
use serde_json::json;

/// Who this node says it is.
#[derive(Debug, Clone)]
pub struct ClientDescriptor {
    /// `client.id` (`node-host`, `openclaw-ios`, `openclaw-android`).
    pub id: ClientId,
    /// Name shown to operators.
    pub display_name: Option<String>,
    /// App/library version.
    pub version: String,
    /// Platform (`linux`, `iOS 18.4`, `Android 15`).
    pub platform: String,
    /// Device family (`Linux`, `iPhone`, `Android`).
    pub device_family: Option<String>,
    /// Model identifier.
    pub model_identifier: Option<String>,
    /// Stable per-install instance id.
    pub instance_id: Option<String>,
}

impl ClientDescriptor {
    /// The headless Linux host: `node-host`, `linux`, `Linux`.
    pub fn linux_node_host(version: impl Into<String>) -> Self {
        ClientDescriptor {
            id: ClientId::NodeHost,
            display_name: None,
            version: version.into(),
            platform: "linux".into(),
            device_family: Some("Linux".into()),
            model_identifier: None,
            instance_id: None,
        }
    }

    fn client_info(&self) -> ClientInfo {
        ClientInfo {
            id: self.id,
            display_name: self.display_name.clone(),
            version: self.version.clone(),
            build_id: None,
            platform: self.platform.clone(),
            device_family: self.device_family.clone(),
            model_identifier: self.model_identifier.clone(),
            time_zone: None,
            mode: ClientMode::Node,
            instance_id: self.instance_id.clone(),
        }
    }
}

/// Credentials the user or app configured explicitly for this Gateway.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Shared Gateway token.
    pub shared_token: Option<Secret>,
    /// Shared Gateway password.
    pub password: Option<Secret>,
    /// Setup-code bootstrap token (forgotten after the first successful hello).
    pub bootstrap_token: Option<Secret>,
}

/// Supplies `node.host.stats`.
pub type HostStatsProvider = Arc<dyn Fn() -> HostStats + Send + Sync>;

/// Everything a [`Node`] needs.
#[derive(Clone)]
pub struct NodeConfig {
    /// Where the Gateway is.
    pub endpoint: Endpoint,
    /// Transport settings (plaintext policy, timeouts).
    pub transport: TransportConfig,
    /// Explicit credentials.
    pub credentials: Credentials,
    /// Client description.
    pub client: ClientDescriptor,
    /// Permission snapshot.
    pub permissions: BTreeMap<String, bool>,
    /// Host `PATH` (node-host).
    pub path_env: Option<String>,
    /// Reconnect schedule.
    pub backoff: BackoffConfig,
    /// Handshake deadlines.
    pub handshake: HandshakeConfig,
    /// Pings and tick watchdog.
    pub liveness: LivenessConfig,
    /// Dispatch limits.
    pub invoke: InvokeConfig,
    /// `node.host.stats` source; when set, stats are sent on connect (as the readiness
    /// probe) and every `host_stats_interval`.
    pub host_stats: Option<HostStatsProvider>,
    /// Cadence of `node.host.stats`.
    pub host_stats_interval: Duration,
    /// Longest wait between readiness probes while commands await approval.
    pub approval_retry_max: Duration,
    /// Hard bound: connection attempts started in any sliding 60 s window (≥ 1).
    pub max_attempts_per_minute: u32,
    /// A session shorter than this (hello to end) does not reset the backoff.
    pub stable_session: Duration,
    /// The offline outbox for `node.event`s (see [`crate::outbox`]).
    pub outbox: OutboxConfig,
    /// Local throttle of `node.presence.alive` (the Gateway keeps one per 60 s).
    pub presence_throttle: Duration,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("endpoint", &self.endpoint.to_string())
            .field("client", &self.client)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl NodeConfig {
    /// Defaults for `endpoint` and `client`.
    pub fn new(endpoint: Endpoint, client: ClientDescriptor) -> Self {
        NodeConfig {
            endpoint,
            transport: TransportConfig::default(),
            credentials: Credentials::default(),
            client,
            permissions: BTreeMap::new(),
            path_env: None,
            backoff: BackoffConfig::default(),
            handshake: HandshakeConfig::default(),
            liveness: LivenessConfig::default(),
            invoke: InvokeConfig::default(),
            host_stats: None,
            host_stats_interval: Duration::from_secs(60),
            approval_retry_max: Duration::from_secs(30),
            max_attempts_per_minute: 10,
            stable_session: Duration::from_secs(10),
            outbox: OutboxConfig::default(),
            presence_throttle: Duration::from_secs(60),
        }
    }

    /// The battery profile for mobile nodes: backoff capped at 5 minutes with full jitter
    /// ([`BackoffConfig::battery`]) and at most 6 attempts per minute.
    pub fn with_battery_profile(mut self) -> Self {
        self.backoff = BackoffConfig::battery();
        self.max_attempts_per_minute = 6;
        self
    }
}

/// Why the node stopped retrying until someone acts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PauseKind {
    /// Credentials are missing or wrong.
    Auth,
    /// The device identity or its proof was rejected.
    Identity,
    /// Protocol or version incompatibility.
    Incompatible,
    /// Transport policy (e.g. plaintext refused) or configuration.
    Configuration,
    /// The credential store failed.
    Storage,
    /// The Gateway presented a certificate other than the pinned one. Nothing was sent.
    /// The app decides: accept the observed fingerprint ([`Node::trust_pin`]) or keep the
    /// old pin (stay paused).
    PinMismatch(PinMismatch),
    /// No pin and the certificate fails system trust. Probe, confirm and pin it
    /// ([`Node::trust_pin`]) or fix the certificate.
    TlsUntrusted {
        /// The leaf fingerprint the Gateway presented.
        observed: TlsPin,
    },
    /// The app or user paused the node ([`Node::pause`]).
    Requested,
}

/// A terminal condition: no retry until [`Node::resume`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseReason {
    /// Category.
    pub kind: PauseKind,
    /// `details.code` when the Gateway sent one.
    pub code: Option<String>,
    /// What happened.
    pub message: String,
    /// What to do.
    pub remediation: String,
}

/// What the node is doing, as the app shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum NodeState {
    /// Not started.
    Idle,
    /// Opening a connection.
    Connecting {
        /// Attempt number since the last success.
        attempt: u32,
    },
    /// The device awaits operator approval; retrying keeps the request alive.
    AwaitingDeviceApproval {
        /// Pairing request id to approve.
        request_id: Option<String>,
        /// `not-paired`, `role-upgrade`, …
        reason: Option<String>,
        /// Human hint.
        remediation: String,
        /// Connection attempts made while waiting.
        attempts: u64,
    },
    /// Connected and paired, but the command surface awaits operator approval.
    AwaitingCommandApproval {
        /// This node's id.
        node_id: String,
    },
    /// Connected; commands are live.
    Ready {
        /// This node's id.
        node_id: String,
        /// Gateway version.
        server_version: String,
        /// `hello-ok.auth.method`.
        auth_method: Option<String>,
    },
    /// Waiting before the next attempt.
    BackingOff {
        /// The wait.
        delay: Duration,
        /// Why.
        reason: String,
    },
    /// Stopped retrying until the app or user acts.
    Paused(PauseReason),
    /// Suspended by the app ([`Node::suspend`]): no socket until [`Node::unsuspend`].
    Suspended,
    /// Stopped for good.
    Stopped,
}

/// Informational notices (besides state).
#[derive(Debug, Clone, PartialEq)]
pub enum NodeNotice {
    /// A connection attempt started.
    ConnectAttempt {
        /// Total attempts so far.
        total: u64,
    },
    /// Hello received.
    Connected {
        /// Gateway version.
        server_version: String,
        /// Auth method.
        auth_method: Option<String>,
        /// Epoch of the new session.
        epoch: u64,
    },
    /// A new device token was persisted.
    DeviceTokenStored,
    /// A stored device token was rejected and deleted.
    DeviceTokenCleared,
    /// The session ended.
    Disconnected {
        /// Description.
        reason: String,
    },
    /// Surface decision received.
    PairResolved {
        /// The decision.
        decision: String,
    },
    /// Broadcast events were lost.
    SeqGap {
        /// Expected seq.
        expected: u64,
        /// Received seq.
        received: u64,
    },
    /// Another Gateway event reached the node.
    GatewayEvent {
        /// Name.
        event: String,
    },
    /// An item of the Gateway's offline work queue (`node.pending.drain`: `status.request`,
    /// `location.request`) for the app to act on.
    PendingWork {
        /// The drained item.
        item: PendingDrainItem,
    },
    /// A queued foreground action (`node.pending.pull`) ran on return to the foreground and
    /// was acknowledged (its result cannot reach the original caller).
    PendingActionRan {
        /// Action id.
        id: String,
        /// Command.
        command: String,
        /// Error code when it failed.
        error: Option<String>,
    },
}

/// What [`Node::emit_event`] did with an event.
#[derive(Debug, Clone, PartialEq)]
pub enum EventDelivery {
    /// Sent on the live session; the Gateway's answer.
    Sent(NodeEventResult),
    /// Queued in the offline outbox; it is sent in order after the next hello unless it
    /// expires first.
    Queued,
}

/// Outcome of [`Node::report_alive`].
#[derive(Debug, Clone, PartialEq)]
pub enum AliveOutcome {
    /// Sent; the Gateway's answer (`reason: "persisted"` or `"throttled"`).
    Sent(NodeEventResult),
    /// Not sent: one went out less than [`NodeConfig::presence_throttle`] ago.
    Throttled,
}

/// App-driven lifecycle requests, observed by the supervisor.
#[derive(Debug, Clone, Default, PartialEq)]
struct Control {
    suspended: bool,
    pause: Option<String>,
    resume_gen: u64,
}

impl Control {
    fn interrupts(&self) -> bool {
        self.suspended || self.pause.is_some()
    }
}

/// Resolves once `pred` holds (no borrow is held across an await).
async fn wait_ctl(rx: &mut watch::Receiver<Control>, pred: impl FnMut(&Control) -> bool) {
    let _ = rx.wait_for(pred).await;
}

/// Resolves once a suspension or a pause is requested.
async fn interrupted(rx: &mut watch::Receiver<Control>) {
    wait_ctl(rx, Control::interrupts).await
}

/// Errors of the [`Node`] API.
#[derive(Debug, thiserror::Error)]
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
    pin_override: Mutex<Option<TlsPin>>,
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
        let (notices, _) = broadcast::channel(256);
        let (ctl, _) = watch::channel(Control::default());
        let outbox = Mutex::new(Outbox::new(cfg.outbox.clone()));
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
                pin_override: Mutex::new(None),
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
        self.inner.state.send_replace(NodeState::Stopped);
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
    /// retries now. The app persists the pin itself. Device tokens stay bound to the origin,
    /// which the pin is not part of.
    pub fn trust_pin(&self, pin: TlsPin) -> Result<(), NodeError> {
        if !self.inner.cfg.endpoint.tls {
            return Err(NodeError::PinOnPlaintext);
        }
        if let Ok(mut p) = self.inner.pin_override.lock() {
            *p = Some(pin);
        }
        info!(pin = %pin, "TLS pin replaced");
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
            origin: self.cfg.endpoint.origin().to_string(),
            device_id: self.identity.device_id().to_string(),
            role: Role::Node,
        }
    }

    fn trusted_for_device_retry(&self) -> bool {
        transport::is_trusted_for_device_retry(&self.endpoint())
    }

    fn endpoint(&self) -> Endpoint {
        let mut e = self.cfg.endpoint.clone();
        if let Some(p) = self.pin_override.lock().ok().and_then(|p| *p) {
            e.pin = Some(p);
        }
        e
    }

    /// Waits `delay`; a nudge (when `nudgeable`), a suspension or a pause request cut it
    /// short. Returns false when stopping.
    async fn wait(&self, delay: Duration, nudgeable: bool) -> bool {
        let mut ctl = self.ctl.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(delay) => true,
            _ = self.nudge.notified(), if nudgeable => true,
            _ = interrupted(&mut ctl) => true,
            _ = self.stop.cancelled() => false,
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

enum Next {
    Retry(Duration),
    Pause(PauseReason),
}

struct Attempt {
    auth: ConnectAuth,
    sent_device_token: Option<Secret>,
    used_bootstrap: bool,
}

fn select_auth(
    creds: &Credentials,
    stored: Option<&StoredToken>,
    device_retry: bool,
    bootstrap: Option<&Secret>,
) -> Attempt {
    let stored_token = stored.map(|t| t.token.clone());
    if device_retry && let Some(t) = stored_token.clone() {
        return Attempt {
            auth: ConnectAuth {
                token: creds.shared_token.clone(),
                device_token: Some(t.clone()),
                ..Default::default()
            },
            sent_device_token: Some(t),
            used_bootstrap: false,
        };
    }
    if creds.shared_token.is_some() || creds.password.is_some() {
        return Attempt {
            auth: ConnectAuth {
                token: creds.shared_token.clone(),
                password: creds.password.clone(),
                ..Default::default()
            },
            sent_device_token: None,
            used_bootstrap: false,
        };
    }
    if let Some(t) = stored_token {
        return Attempt {
            auth: ConnectAuth { device_token: Some(t.clone()), ..Default::default() },
            sent_device_token: Some(t),
            used_bootstrap: false,
        };
    }
    if let Some(b) = bootstrap {
        return Attempt {
            auth: ConnectAuth { bootstrap_token: Some(b.clone()), ..Default::default() },
            sent_device_token: None,
            used_bootstrap: true,
        };
    }
    Attempt { auth: ConnectAuth::default(), sent_device_token: None, used_bootstrap: false }
}

const TERMINAL_AUTH: &[&str] = &[
    "AUTH_TOKEN_MISSING",
    "AUTH_PASSWORD_MISSING",
    "AUTH_PASSWORD_MISMATCH",
    "AUTH_TOKEN_NOT_CONFIGURED",
    "AUTH_PASSWORD_NOT_CONFIGURED",
    "AUTH_SCOPE_MISMATCH",
    "AUTH_IDENTITY_HEADER_REQUIRED",
    "AUTH_VERIFIED_USER_REQUIRED",
    "AUTH_REQUIRED",
    "AUTH_UNAUTHORIZED",
    "AUTH_TAILSCALE_IDENTITY_MISSING",
    "AUTH_TAILSCALE_PROXY_MISSING",
    "AUTH_TAILSCALE_IDENTITY_MISMATCH",
];

fn pause(kind: PauseKind, err: &ErrorShape, remediation: &str) -> Next {
    Next::Pause(PauseReason {
        kind,
        code: err.detail_code(),
        message: err.to_string(),
        remediation: err.details().remediation_hint.unwrap_or_else(|| remediation.to_string()),
    })
}

async fn supervise(inner: Arc<Inner>) {
    let mut backoff = Backoff::new(inner.cfg.backoff.clone());
    let mut budget = AttemptBudget::new(inner.cfg.max_attempts_per_minute, Duration::from_secs(60));
    let mut bootstrap = inner.cfg.credentials.bootstrap_token.clone();
    let mut device_retry_pending = false;
    let mut device_retry_used = false;
    let key = inner.token_key();
    loop {
        if inner.stop.is_cancelled() {
            break;
        }
        let ctl = inner.ctl.borrow().clone();
        if let Some(message) = ctl.pause {
            let reason = PauseReason {
                kind: PauseKind::Requested,
                code: None,
                message,
                remediation: "resume the node when ready".into(),
            };
            if !pause_until_resumed(&inner, reason).await {
                break;
            }
            backoff.reset();
            continue;
        }
        if ctl.suspended {
            info!("suspended: no connection until unsuspended");
            inner.set_state(NodeState::Suspended);
            let mut rx = inner.ctl.subscribe();
            tokio::select! {
                _ = wait_ctl(&mut rx, |c| !c.suspended || c.pause.is_some()) => {}
                _ = inner.stop.cancelled() => break,
            }
            info!("unsuspended: connecting now");
            backoff.reset();
            continue;
        }
        let wait = budget.wait_before_next(tokio::time::Instant::now());
        if !wait.is_zero() {
            warn!(wait_ms = wait.as_millis() as u64, "connection attempt budget spent; waiting");
            if !matches!(*inner.state.borrow(), NodeState::AwaitingDeviceApproval { .. }) {
                inner.set_state(NodeState::BackingOff {
                    delay: wait,
                    reason: format!("at most {} connection attempts per minute", inner.cfg.max_attempts_per_minute),
                });
            }
            if !inner.wait(wait, false).await {
                break;
            }
            continue;
        }
        budget.record(tokio::time::Instant::now());
        let stored = match inner.store.load_token(&key) {
            Ok(t) => t,
            Err(e) => {
                let reason = PauseReason {
                    kind: PauseKind::Storage,
                    code: None,
                    message: e.to_string(),
                    remediation: "fix or move aside the credential store, then resume".into(),
                };
                if !pause_until_resumed(&inner, reason).await {
                    break;
                }
                continue;
            }
        };
        let attempt = select_auth(&inner.cfg.credentials, stored.as_ref(), device_retry_pending, bootstrap.as_ref());
        device_retry_pending = false;
        let total = inner.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        inner.notice(NodeNotice::ConnectAttempt { total });
        if !matches!(*inner.state.borrow(), NodeState::AwaitingDeviceApproval { .. }) {
            inner.set_state(NodeState::Connecting { attempt: backoff.attempt() + 1 });
        }
        let req = ConnectRequest {
            client: inner.cfg.client.client_info(),
            caps: inner.router.registry().caps(),
            commands: inner.router.registry().commands(),
            permissions: inner.cfg.permissions.clone(),
            path_env: inner.cfg.path_env.clone(),
            auth: attempt.auth.clone(),
        };
        let mut ctl_rx = inner.ctl.subscribe();
        let result = tokio::select! {
            r = connect_once(&inner, &req) => r,
            _ = interrupted(&mut ctl_rx) => continue,
            _ = inner.stop.cancelled() => break,
        };
        let next = match result {
            Ok((ws, hello)) => {
                let attempt_before = backoff.attempt();
                backoff.reset();
                device_retry_used = false;
                if attempt.used_bootstrap {
                    bootstrap = None;
                }
                persist_tokens(&inner, &key, stored.as_ref(), &attempt, &hello);
                let connected_at = tokio::time::Instant::now();
                let end = run_connected(&inner, ws, hello).await;
                if inner.stop.is_cancelled() {
                    break;
                }
                let reason = describe_end(&end);
                info!(%reason, "session ended");
                inner.notice(NodeNotice::Disconnected { reason: reason.clone() });
                if inner.ctl.borrow().interrupts() {
                    continue;
                }
                if end.kind == SessionEndKind::Stopped {
                    break;
                }
                if connected_at.elapsed() < inner.cfg.stable_session {
                    // A session that died right after hello does not earn a reset.
                    backoff.set_attempt(attempt_before);
                }
                let delay = match end.shutdown.as_ref().and_then(|s| s.restart_expected_ms) {
                    Some(ms) => Duration::from_millis(ms).clamp(Duration::from_millis(250), inner.cfg.backoff.max),
                    None => backoff.next_delay(inner.rng.as_ref()),
                };
                inner.set_state(NodeState::BackingOff { delay, reason });
                Next::Retry(delay)
            }
            Err(e) => classify(
                &inner,
                e,
                &mut backoff,
                &attempt,
                &key,
                stored.is_some(),
                &mut device_retry_pending,
                &mut device_retry_used,
                &mut bootstrap,
            ),
        };
        match next {
            Next::Retry(delay) => {
                debug!(delay_ms = delay.as_millis() as u64, "retrying");
                if !inner.wait(delay, true).await {
                    break;
                }
            }
            Next::Pause(reason) => {
                if !pause_until_resumed(&inner, reason).await {
                    break;
                }
                backoff.reset();
                device_retry_used = false;
            }
        }
    }
    inner.set_state(NodeState::Stopped);
}

async fn pause_until_resumed(inner: &Inner, reason: PauseReason) -> bool {
    let mut rx = inner.ctl.subscribe();
    let gen_at_pause = rx.borrow_and_update().resume_gen;
    warn!(code = ?reason.code, message = %reason.message, "paused: {}", reason.remediation);
    inner.set_state(NodeState::Paused(reason));
    tokio::select! {
        _ = wait_ctl(&mut rx, |c| c.resume_gen != gen_at_pause) => true,
        _ = inner.stop.cancelled() => false,
    }
}

async fn connect_once(inner: &Inner, req: &ConnectRequest) -> Result<(transport::WsStream, HelloOk), HandshakeError> {
    let ws = transport::open(&inner.endpoint(), &inner.cfg.transport).await?;
    handshake(ws, &inner.identity, req, &inner.cfg.handshake).await
}

fn persist_tokens(inner: &Inner, key: &TokenKey, stored: Option<&StoredToken>, attempt: &Attempt, hello: &HelloOk) {
    let Some(token) = hello.auth.device_token.clone() else { return };
    let unchanged = stored.is_some_and(|s| s.token.ct_eq(&token));
    if unchanged {
        return;
    }
    // If the token equals the one we sent, keep the stored scopes (handleConnectHello).
    let scopes = match (&attempt.sent_device_token, stored) {
        (Some(sent), Some(s)) if sent.ct_eq(&token) => s.scopes.clone(),
        _ => hello.auth.scopes.clone(),
    };
    let t = StoredToken { token, scopes, issued_at_ms: hello.auth.issued_at_ms, updated_at_ms: inner.clock.now_ms() };
    match inner.store.save_token(key, &t) {
        Ok(()) => {
            info!("device token stored");
            inner.notice(NodeNotice::DeviceTokenStored);
        }
        Err(e) => warn!(error = %e, "could not persist the device token"),
    }
    // Bootstrap hand-off tokens, only over a trusted transport.
    let endpoint = inner.endpoint();
    if attempt.used_bootstrap && (endpoint.tls || transport::is_loopback_host(&endpoint.host)) {
        for h in &hello.auth.device_tokens {
            let role = match h.role.as_str() {
                "operator" => Role::Operator,
                "node" => Role::Node,
                _ => continue,
            };
            let k = TokenKey { role, ..key.clone() };
            let t = StoredToken {
                token: h.device_token.clone(),
                scopes: h.scopes.clone(),
                issued_at_ms: h.issued_at_ms,
                updated_at_ms: inner.clock.now_ms(),
            };
            if let Err(e) = inner.store.save_token(&k, &t) {
                warn!(error = %e, "could not persist a hand-off token");
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn classify(
    inner: &Inner,
    err: HandshakeError,
    backoff: &mut Backoff,
    attempt: &Attempt,
    key: &TokenKey,
    have_stored: bool,
    device_retry_pending: &mut bool,
    device_retry_used: &mut bool,
    bootstrap: &mut Option<Secret>,
) -> Next {
    let rng = inner.rng.as_ref();
    let retry = |backoff: &mut Backoff, reason: String| {
        let delay = backoff.next_delay(rng);
        inner.set_state(NodeState::BackingOff { delay, reason });
        Next::Retry(delay)
    };
    let shape = match err {
        HandshakeError::Transport(t) if t.is_terminal() => {
            let (kind, remediation) = match &t {
                TransportError::PinMismatch(m) => (
                    PauseKind::PinMismatch(m.clone()),
                    if m.system_trusted {
                        "the gateway's certificate changed (the new one passes system trust): verify the new fingerprint, then accept it or keep the old pin"
                    } else {
                        "the gateway's certificate changed and is not system-trusted: verify the new fingerprint out of band before accepting it; otherwise use a new setup code"
                    },
                ),
                TransportError::Untrusted { observed, .. } => (
                    PauseKind::TlsUntrusted { observed: *observed },
                    "pin the gateway's certificate after verifying its fingerprint out of band",
                ),
                _ => (PauseKind::Configuration, "change the gateway URL or transport settings"),
            };
            return Next::Pause(PauseReason {
                kind,
                code: None,
                message: t.to_string(),
                remediation: remediation.into(),
            });
        }
        HandshakeError::TooLarge(n) => {
            return Next::Pause(PauseReason {
                kind: PauseKind::Configuration,
                code: None,
                message: format!("connect frame of {n} bytes exceeds the 64 KiB pre-auth limit"),
                remediation: "declare fewer commands or permissions".into(),
            });
        }
        HandshakeError::Rejected(e) => e,
        other => {
            warn!(error = %other, "connect failed");
            return retry(backoff, other.to_string());
        }
    };
    let details = shape.details();
    let code = details.code.clone().unwrap_or_default();
    warn!(code = %shape.code, detail = %code, message = %shape.message, "connect rejected");
    match code.as_str() {
        "PAIRING_REQUIRED" => {
            let delay = backoff.next_delay(rng);
            let request_id = details.request_id.clone();
            info!(request_id = ?request_id, reason = ?details.reason, "pairing required; retrying in {delay:?} to keep the request alive");
            inner.set_state(NodeState::AwaitingDeviceApproval {
                attempts: inner.attempts.load(Ordering::Relaxed),
                request_id,
                reason: details.reason.clone(),
                remediation: details
                    .remediation_hint
                    .clone()
                    .unwrap_or_else(|| "Approve this device from the pending pairing requests.".into()),
            });
            Next::Retry(delay)
        }
        "AUTH_RATE_LIMITED" => {
            let delay = shape
                .effective_retry_after_ms()
                .map(Duration::from_millis)
                .unwrap_or_else(|| backoff.next_delay(rng))
                .max(Duration::from_secs(1));
            inner.set_state(NodeState::BackingOff { delay, reason: "rate limited".into() });
            Next::Retry(delay)
        }
        "AUTH_TOKEN_MISMATCH" => {
            if details.can_retry_with_device_token == Some(true)
                && have_stored
                && !*device_retry_used
                && inner.trusted_for_device_retry()
            {
                *device_retry_pending = true;
                *device_retry_used = true;
                info!("shared token rejected; retrying once with the stored device token");
                Next::Retry(Duration::from_millis(250))
            } else {
                pause(PauseKind::Auth, &shape, "the gateway token is wrong: fix --token / OPENCLAW_GATEWAY_TOKEN")
            }
        }
        "AUTH_DEVICE_TOKEN_MISMATCH" => {
            if let Some(sent) = &attempt.sent_device_token {
                match inner.store.delete_token_if(key, sent) {
                    Ok(true) => {
                        info!("stored device token rejected; deleted");
                        inner.notice(NodeNotice::DeviceTokenCleared);
                    }
                    Ok(false) => {}
                    Err(e) => warn!(error = %e, "could not delete the rejected device token"),
                }
            }
            let have_shared = inner.cfg.credentials.shared_token.is_some() || inner.cfg.credentials.password.is_some();
            let sent_shared = attempt.auth.token.is_some() || attempt.auth.password.is_some();
            if have_shared && !sent_shared {
                retry(backoff, "device token rejected; retrying with the shared token".into())
            } else if bootstrap.is_some() {
                retry(backoff, "device token rejected; retrying with the setup code".into())
            } else {
                pause(
                    PauseKind::Auth,
                    &shape,
                    "the device token was revoked or rotated: reconnect with the gateway token or a new setup code",
                )
            }
        }
        "AUTH_BOOTSTRAP_TOKEN_INVALID" => {
            *bootstrap = None;
            pause(PauseKind::Auth, &shape, "the setup code is expired or used: ask for a new one")
        }
        "PROTOCOL_MISMATCH" | "CLIENT_VERSION_MISMATCH" => {
            pause(PauseKind::Incompatible, &shape, "update ClawNode or the Gateway")
        }
        "DEVICE_IDENTITY_REQUIRED" => pause(PauseKind::Identity, &shape, "the node must send its device identity"),
        c if c.starts_with("DEVICE_AUTH_") => pause(
            PauseKind::Identity,
            &shape,
            "the device proof was rejected: check the system clock (±120 s) and the identity files",
        ),
        c if TERMINAL_AUTH.contains(&c) => {
            pause(PauseKind::Auth, &shape, "provide valid gateway credentials (--token, --password or a setup code)")
        }
        _ if shape.code == "UNAVAILABLE" => {
            let delay = shape
                .effective_retry_after_ms()
                .map(|ms| Duration::from_millis(ms).clamp(Duration::from_millis(100), inner.cfg.backoff.max))
                .unwrap_or_else(|| backoff.next_delay(rng));
            inner.set_state(NodeState::BackingOff { delay, reason: shape.to_string() });
            Next::Retry(delay)
        }
        "" if shape.code == "INVALID_REQUEST" => {
            pause(PauseKind::Incompatible, &shape, "the gateway refused the connect parameters; update ClawNode")
        }
        _ => retry(backoff, shape.to_string()),
    }
}

fn describe_end(end: &SessionEnd) -> String {
    let base = match &end.kind {
        SessionEndKind::Closed { code, reason } => match code {
            Some(c) => format!("closed by gateway ({c} {reason})"),
            None => "connection closed".to_string(),
        },
        SessionEndKind::TickTimeout => "tick timeout".into(),
        SessionEndKind::SocketError(e) => format!("socket error: {e}"),
        SessionEndKind::Stopped => "stopped".into(),
    };
    match &end.shutdown {
        Some(s) => format!("{base}; gateway shutdown: {}", s.reason),
        None => base,
    }
}

enum Probe {
    Ready,
    AwaitingApproval,
    Closed,
}

async fn probe(inner: &Inner, handle: &SessionHandle) -> Probe {
    let event = match &inner.cfg.host_stats {
        Some(p) => NodeEvent::HostStats(p()),
        None => NodeEvent::PresenceAlive(inner.presence(PresenceTrigger::Connect)),
    };
    match send_node_event(handle, &event, Duration::from_secs(15)).await {
        Ok(r) => {
            if matches!(event, NodeEvent::PresenceAlive(_)) {
                inner.mark_presence();
            }
            debug!(event = event.name(), handled = ?r.handled, reason = ?r.reason, "readiness probe ok");
            Probe::Ready
        }
        Err(e) if e.detail_code().as_deref() == Some("PAIRING_CHANGED") => Probe::AwaitingApproval,
        Err(RequestError::Closed) => Probe::Closed,
        Err(e) => {
            warn!(error = %e, "readiness probe failed; treating the session as ready");
            Probe::Ready
        }
    }
}

async fn run_connected(inner: &Arc<Inner>, ws: transport::WsStream, hello: HelloOk) -> SessionEnd {
    let epoch = inner.epoch.fetch_add(1, Ordering::Relaxed) + 1;
    let node_id = inner.identity.device_id().to_string();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let dispatch: Arc<dyn crate::session::InvokeDispatch> = Arc::new(inner.router.clone());
    let session = Session::start(ws, &hello, epoch, node_id.clone(), dispatch, ev_tx, inner.cfg.liveness.clone());
    let handle = session.handle().clone();
    if let Ok(mut c) = inner.current.lock() {
        *c = Some(handle.clone());
    }
    info!(
        epoch,
        server = %hello.server.version,
        auth_method = ?hello.auth.method,
        tick_ms = hello.policy.tick_interval_ms,
        "connected"
    );
    inner.notice(NodeNotice::Connected {
        server_version: hello.server.version.clone(),
        auth_method: hello.auth.method.clone(),
        epoch,
    });
    let ready_state = NodeState::Ready {
        node_id: node_id.clone(),
        server_version: hello.server.version.clone(),
        auth_method: hello.auth.method.clone(),
    };
    let awaiting_state = NodeState::AwaitingCommandApproval { node_id: node_id.clone() };

    let mut awaiting = match probe(inner, &handle).await {
        Probe::Ready => {
            inner.set_state(ready_state.clone());
            inner.ready.store(true, Ordering::SeqCst);
            spawn_flush(inner, &handle);
            false
        }
        Probe::AwaitingApproval => {
            info!("device paired; command surface awaits operator approval");
            inner.set_state(awaiting_state.clone());
            true
        }
        Probe::Closed => false,
    };
    let mut approval_delay = Duration::from_secs(2);
    let approval_timer = tokio::time::sleep(approval_delay);
    tokio::pin!(approval_timer);
    let mut stats_timer = tokio::time::interval_at(
        tokio::time::Instant::now() + inner.cfg.host_stats_interval,
        inner.cfg.host_stats_interval,
    );
    stats_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop_sent = false;
    let session_closed = handle.clone();
    let mut ctl_rx = inner.ctl.subscribe();
    if inner.foreground.load(Ordering::SeqCst) && inner.fg_work_due.swap(false, Ordering::SeqCst) {
        spawn_foreground_work(inner, &handle);
    }

    loop {
        tokio::select! {
            _ = session_closed.closed() => break,
            _ = interrupted(&mut ctl_rx), if !stop_sent => {
                info!("closing the session: suspended or paused by the app");
                stop_sent = true;
                session.stop();
            }
            _ = inner.fg_kick.notified() => {
                if inner.foreground.load(Ordering::SeqCst) && inner.fg_work_due.swap(false, Ordering::SeqCst) {
                    spawn_foreground_work(inner, &handle);
                }
            }
            _ = inner.flush_kick.notified() => {
                if !awaiting {
                    spawn_flush(inner, &handle);
                }
            }
            ev = ev_rx.recv() => match ev {
                None => break,
                Some(SessionEvent::PairResolved(p)) => {
                    if !p.node_id.is_empty() && p.node_id != node_id {
                        continue;
                    }
                    inner.notice(NodeNotice::PairResolved { decision: format!("{:?}", p.decision).to_lowercase() });
                    match p.decision {
                        PairDecision::Approved => {
                            info!("command surface approved");
                            awaiting = false;
                            inner.set_state(ready_state.clone());
                            inner.ready.store(true, Ordering::SeqCst);
                            spawn_flush(inner, &handle);
                            // The stats sent as the first probe were refused before approval.
                            if let Some(p) = &inner.cfg.host_stats {
                                let ev = NodeEvent::HostStats(p());
                                let h = handle.clone();
                                tokio::spawn(async move {
                                    if let Err(e) = send_node_event(&h, &ev, Duration::from_secs(15)).await {
                                        debug!(error = %e, "node.host.stats failed");
                                    }
                                });
                            }
                        }
                        other => {
                            warn!(decision = ?other, "command surface not approved");
                            awaiting = true;
                            inner.ready.store(false, Ordering::SeqCst);
                            inner.set_state(awaiting_state.clone());
                        }
                    }
                }
                Some(SessionEvent::SeqGap { expected, received }) => {
                    warn!(expected, received, "event sequence gap");
                    inner.notice(NodeNotice::SeqGap { expected, received });
                }
                Some(SessionEvent::Other(event, _)) => inner.notice(NodeNotice::GatewayEvent { event }),
            },
            _ = &mut approval_timer, if awaiting => {
                match probe(inner, &handle).await {
                    Probe::Ready => {
                        awaiting = false;
                        inner.set_state(ready_state.clone());
                        inner.ready.store(true, Ordering::SeqCst);
                        spawn_flush(inner, &handle);
                    }
                    Probe::AwaitingApproval => {}
                    Probe::Closed => break,
                }
                approval_delay = (approval_delay * 2).min(inner.cfg.approval_retry_max);
                approval_timer.as_mut().reset(tokio::time::Instant::now() + approval_delay);
            }
            _ = stats_timer.tick(), if inner.cfg.host_stats.is_some() => {
                if let Some(p) = &inner.cfg.host_stats {
                    let ev = NodeEvent::HostStats(p());
                    let h = handle.clone();
                    tokio::spawn(async move {
                        if let Err(e) = send_node_event(&h, &ev, Duration::from_secs(15)).await {
                            debug!(error = %e, "node.host.stats failed");
                        }
                    });
                }
            }
            _ = inner.stop.cancelled(), if !stop_sent => {
                stop_sent = true;
                session.stop();
            }
        }
    }
    inner.ready.store(false, Ordering::SeqCst);
    if let Ok(mut c) = inner.current.lock() {
        *c = None;
    }
    let end = session.wait().await;
    if inner.stop.is_cancelled() {
        return SessionEnd { kind: SessionEndKind::Stopped, shutdown: end.shutdown };
    }
    end
}

/// Flushes the outbox on `handle`, in order, one event at a time (one flusher at a time).
fn spawn_flush(inner: &Arc<Inner>, handle: &SessionHandle) {
    if inner.outbox.lock().map(|o| o.is_empty()).unwrap_or(true) {
        return;
    }
    if inner.flushing.swap(true, Ordering::SeqCst) {
        return;
    }
    let inner = inner.clone();
    let handle = handle.clone();
    tokio::spawn(
        async move {
            let mut sent = 0u64;
            loop {
                let next = inner.outbox.lock().ok().and_then(|mut o| o.pop_fresh(tokio::time::Instant::now()));
                let Some((event, at)) = next else { break };
                match send_node_event(&handle, &event, Duration::from_secs(15)).await {
                    Ok(_) => {
                        sent += 1;
                        if let Ok(mut o) = inner.outbox.lock() {
                            o.count_flushed();
                        }
                    }
                    Err(e)
                        if matches!(e, RequestError::Closed)
                            || e.detail_code().as_deref() == Some("PAIRING_CHANGED") =>
                    {
                        if let Ok(mut o) = inner.outbox.lock() {
                            o.requeue(event, at);
                        }
                        break;
                    }
                    Err(e) => warn!(error = %e, event = event.name(), "queued event refused by the gateway; dropped"),
                }
            }
            if sent > 0 {
                info!(sent, "outbox flushed");
            }
            inner.flushing.store(false, Ordering::SeqCst);
        }
        .in_current_span(),
    );
}

/// On the return to the foreground: pull, run and ack queued actions, then drain the
/// offline work queue into notices (commands.md §4). A session that ends midway leaves the
/// work due for the next hello; unacked actions stay queued on the Gateway.
fn spawn_foreground_work(inner: &Arc<Inner>, handle: &SessionHandle) {
    let inner = inner.clone();
    let handle = handle.clone();
    tokio::spawn(
        async move {
            if let Err(e) = foreground_work(&inner, &handle).await {
                if matches!(e, RequestError::Closed) {
                    inner.fg_work_due.store(true, Ordering::SeqCst);
                }
                warn!(error = %e, "foreground work (node.pending.*) failed");
            }
        }
        .in_current_span(),
    );
}

async fn foreground_work(inner: &Arc<Inner>, handle: &SessionHandle) -> Result<(), RequestError> {
    const T: Duration = Duration::from_secs(15);
    let v = handle.request(names::NODE_PENDING_PULL, json!({}), T).await?;
    let pulled: PendingPullResult = serde_json::from_value(v).unwrap_or_default();
    let mut acked = Vec::new();
    for a in pulled.actions {
        if !inner.foreground.load(Ordering::SeqCst) {
            break;
        }
        let r = inner.router.run_local(&a.id, &a.command, a.params_json.clone(), handle).await;
        let error = r.as_ref().err().map(|e| e.code().to_string());
        if error.as_deref() == Some("NODE_BACKGROUND_UNAVAILABLE") {
            // Backgrounded again meanwhile: leave it queued.
            continue;
        }
        info!(id = %a.id, command = %a.command, error = ?error, "queued action ran");
        inner.notice(NodeNotice::PendingActionRan { id: a.id.clone(), command: a.command.clone(), error });
        acked.push(a.id);
    }
    if !acked.is_empty() {
        let params = serde_json::to_value(PendingAckParams { ids: acked }).unwrap_or_default();
        handle.request(names::NODE_PENDING_ACK, params, T).await?;
    }
    for _ in 0..10 {
        let params = serde_json::to_value(PendingDrainParams { max_items: Some(10) }).unwrap_or_default();
        let v = handle.request(names::NODE_PENDING_DRAIN, params, T).await?;
        let drained: PendingDrainResult = serde_json::from_value(v).unwrap_or_default();
        let empty = drained.items.is_empty();
        for item in drained.items {
            inner.notice(NodeNotice::PendingWork { item });
        }
        if !drained.has_more || empty {
            break;
        }
    }
    Ok(())
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
    fn auth_selection_order() {
        let stored = StoredToken { token: "dev".into(), scopes: vec![], issued_at_ms: None, updated_at_ms: 0 };
        let shared = Credentials { shared_token: Some("shared".into()), ..Default::default() };
        let a = select_auth(&shared, Some(&stored), false, None);
        assert_eq!(a.auth.token.as_ref().map(Secret::expose), Some("shared"));
        assert!(a.auth.device_token.is_none());
        let a = select_auth(&shared, Some(&stored), true, None);
        assert_eq!(a.auth.token.as_ref().map(Secret::expose), Some("shared"));
        assert_eq!(a.auth.device_token.as_ref().map(Secret::expose), Some("dev"));
        assert_eq!(a.auth.signature_token(), "shared");
        let none = Credentials::default();
        let a = select_auth(&none, Some(&stored), false, Some(&"boot".into()));
        assert_eq!(a.auth.device_token.as_ref().map(Secret::expose), Some("dev"));
        assert!(a.auth.bootstrap_token.is_none());
        let a = select_auth(&none, None, false, Some(&"boot".into()));
        assert!(a.used_bootstrap);
        assert_eq!(a.auth.signature_token(), "boot");
        let a = select_auth(&none, None, false, None);
        assert!(a.auth.is_empty());
        let pw = Credentials { password: Some("pw".into()), ..Default::default() };
        let a = select_auth(&pw, Some(&stored), false, None);
        assert_eq!(a.auth.signature_token(), "");
        assert!(a.auth.device_token.is_none());
    }
}
