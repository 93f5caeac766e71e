//! The `Node` object and the listener the app implements.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clawnode::endpoint::TlsPin;
use clawnode::store::{CredentialStore, FileStore, MemoryStore, PinStore};
use clawnode::{CommandRegistry, NodeEvent};
use tokio::sync::broadcast::error::RecvError;
use tracing::warn;

use crate::config::NodeConfig;
use crate::error::{ListenerError, NodeError};
use crate::handler::{CommandHandler, adapter};
use crate::runtime;
use crate::state::{NodeNotice, NodeState};
use crate::store::{ForeignStore, SecureStore, SecureStoreAdapter};

/// Receives state changes and notices. Called on a library thread, in order; return quickly.
#[uniffi::export(foreign)]
pub trait NodeListener: Send + Sync {
    /// The state changed (pairing required with its request id, awaiting command approval,
    /// ready, paused with its reason, …).
    fn on_state(&self, state: NodeState) -> Result<(), ListenerError>;
    /// Something happened that is not a state change.
    fn on_notice(&self, notice: NodeNotice) -> Result<(), ListenerError>;
}

/// A ClawNode node. Build it, register handlers, `start()`, and `stop()` (or `stop_blocking()`) it
/// when done. A stopped node cannot be started again: build a new one (same store → same
/// identity and device token).
#[derive(uniffi::Object)]
pub struct Node {
    pub(crate) core: clawnode::Node,
    handlers: Mutex<Handlers>,
    listener: Mutex<Option<Arc<dyn NodeListener>>>,
    forwarder: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node").field("device_id", &self.core.device_id()).finish()
    }
}

/// command → (options, handler).
type Handlers = BTreeMap<String, (CommandOptions, Arc<dyn CommandHandler>)>;

/// How a command is registered ([`Node::register_command_with`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct CommandOptions {
    /// Cap family to declare it under. `None`: the catalog's for catalog commands, else the
    /// first name segment (`acme.gpio.read` → `acme`). Setting it turns the catalog rules off.
    #[uniffi(default = None)]
    pub cap: Option<String>,
    /// Refuse it with `NODE_BACKGROUND_UNAVAILABLE` while the app is in the background, in
    /// addition to the catalog's own rule (e.g. for `canvas.*` or an app command that needs
    /// the screen).
    #[uniffi(default = false)]
    pub foreground_only: bool,
}

/// The Gateway's answer to a `node.event` ([`Node::send_event`]).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EventOutcome {
    /// Sent now (`true`) or queued in the offline outbox until the next connect (`false`).
    pub sent: bool,
    /// Whether a Gateway handler took it (`None` when the Gateway did not say).
    pub handled: Option<bool>,
    /// The Gateway's reason (`persisted`, `throttled`, `unsupported_event`, …; `queued`
    /// when queued).
    pub reason: Option<String>,
}

impl From<clawnode::EventDelivery> for EventOutcome {
    fn from(d: clawnode::EventDelivery) -> Self {
        match d {
            clawnode::EventDelivery::Sent(r) => EventOutcome { sent: true, handled: r.handled, reason: r.reason },
            clawnode::EventDelivery::Queued => {
                EventOutcome { sent: false, handled: None, reason: Some("queued".into()) }
            }
            other => EventOutcome { sent: false, handled: None, reason: Some(format!("{other:?}")) },
        }
    }
}

/// Why the app reports the node alive (`node.presence.alive` trigger).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PresenceTrigger {
    /// The app went to the background.
    Background,
    /// A silent push woke it.
    SilentPush,
    /// Background app refresh.
    BgAppRefresh,
    /// A significant location change woke it.
    SignificantLocation,
    /// The user asked.
    Manual,
}

impl From<PresenceTrigger> for clawnode::events::PresenceTrigger {
    fn from(t: PresenceTrigger) -> Self {
        use clawnode::events::PresenceTrigger as T;
        match t {
            PresenceTrigger::Background => T::Background,
            PresenceTrigger::SilentPush => T::SilentPush,
            PresenceTrigger::BgAppRefresh => T::BgAppRefresh,
            PresenceTrigger::SignificantLocation => T::SignificantLocation,
            PresenceTrigger::Manual => T::Manual,
        }
    }
}

fn lock_err<T>(_: T) -> NodeError {
    NodeError::Internal { detail: "lock poisoned".into() }
}

#[uniffi::export]
impl Node {
    /// Builds a node: validates `config` and loads (or creates and saves) the device identity
    /// from `store` (else from `config.state_dir`, else memory). Synchronous; no I/O with the
    /// Gateway happens before `start()`.
    #[uniffi::constructor]
    pub fn new(
        config: NodeConfig,
        store: Option<Arc<dyn SecureStore>>,
        listener: Option<Arc<dyn NodeListener>>,
    ) -> Result<Arc<Self>, NodeError> {
        let mut cfg = config.to_core()?;
        // One store for credentials and TLS pins.
        let (store, pins): (Arc<dyn CredentialStore>, Arc<dyn PinStore>) = match (store, &config.state_dir) {
            (Some(s), _) => {
                let a = Arc::new(SecureStoreAdapter::new(ForeignStore(s)));
                (a.clone(), a)
            }
            (None, Some(dir)) => {
                let f = Arc::new(FileStore::new(dir));
                (f.clone(), f)
            }
            (None, None) => {
                let m = Arc::new(MemoryStore::default());
                (m.clone(), m)
            }
        };
        cfg.pins = Some(pins);
        let core = clawnode::Node::new(cfg, CommandRegistry::new(), store)?;
        Ok(Arc::new(Node {
            core,
            handlers: Mutex::new(BTreeMap::new()),
            listener: Mutex::new(listener),
            forwarder: Mutex::new(None),
        }))
    }

    /// This node's device id (= node id), stable for the stored identity.
    pub fn device_id(&self) -> String {
        self.core.device_id().to_string()
    }

    /// Registers `handler` for `command`. Catalog commands (see `catalog()`) get their
    /// catalog rules: cap family, params validated and normalized before the handler runs,
    /// the platform's foreground rule and the result budget. Other commands get the cap of
    /// their first segment (`acme.gpio.read` → `acme`) unless `cap` is given (which also
    /// turns the catalog rules off). Register before `start()`: the command set is declared
    /// on connect. Registering again replaces the handler.
    pub fn register_command(
        &self,
        command: String,
        cap: Option<String>,
        handler: Arc<dyn CommandHandler>,
    ) -> Result<(), NodeError> {
        self.register_command_with(command, CommandOptions { cap, foreground_only: false }, handler)
    }

    /// Like `register_command`, with options (e.g. `foreground_only` for a command the
    /// catalog does not know that needs the app on screen).
    pub fn register_command_with(
        &self,
        command: String,
        options: CommandOptions,
        handler: Arc<dyn CommandHandler>,
    ) -> Result<(), NodeError> {
        let mut handlers = self.handlers.lock().map_err(lock_err)?;
        let mut candidate = handlers.clone();
        candidate.insert(command, (options, handler));
        self.core.set_registry(build_registry(&candidate)?);
        *handlers = candidate;
        Ok(())
    }

    /// The commands registered so far (what the next connect declares).
    pub fn commands(&self) -> Vec<String> {
        self.core.commands()
    }

    /// Starts connecting in the background (idempotent). Progress arrives through the
    /// listener and `state()`.
    pub fn start(&self) -> Result<(), NodeError> {
        let handle = runtime::handle()?;
        let _enter = handle.enter();
        self.core.start();
        let mut fwd = self.forwarder.lock().map_err(lock_err)?;
        if fwd.is_none() {
            let listener = self.listener.lock().map_err(lock_err)?.clone();
            if let Some(listener) = listener {
                *fwd = Some(handle.spawn(forward(self.core.clone(), listener)));
            }
        }
        Ok(())
    }

    /// Stops: closes the socket, cancels running handlers, delivers `Stopped`, then releases
    /// the handlers and the listener (no reference cycles with foreign objects).
    pub async fn stop(&self) -> Result<(), NodeError> {
        let core = self.core.clone();
        let fwd = self.take_forwarder();
        runtime::run(async move {
            core.stop().await;
            join_forwarder(fwd).await;
            Ok(())
        })
        .await?;
        self.release();
        Ok(())
    }

    /// Blocking `stop()` for exit paths (`atexit`, `deinit`, `onCleared`) where no async
    /// context is available. Must not be called from a handler or listener callback.
    pub fn stop_blocking(&self) {
        let Ok(handle) = runtime::handle() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            let core = self.core.clone();
            handle.spawn(async move { core.stop().await });
            return;
        }
        let fwd = self.take_forwarder();
        handle.block_on(async {
            self.core.stop().await;
            join_forwarder(fwd).await;
        });
        self.release();
    }

    /// The current state.
    pub fn state(&self) -> NodeState {
        self.core.state().into()
    }

    /// Retry now (network changed, app came to the foreground). Does not lift a pause.
    pub fn nudge(&self) {
        self.core.nudge();
    }

    /// Lifts a pause (after the user fixed credentials) and retries now.
    pub fn resume(&self) {
        self.core.resume();
    }

    /// Suspends the node (app going to the background for long, user switch): closes the
    /// connection and stays `Suspended` until `unsuspend()`.
    pub fn suspend(&self) {
        self.core.suspend();
    }

    /// Ends a suspension and connects again.
    pub fn unsuspend(&self) {
        self.core.unsuspend();
    }

    /// Tells the node whether the app is in the foreground (commands that need the
    /// foreground are refused with `NODE_BACKGROUND_UNAVAILABLE` while it is not; coming
    /// back to the foreground reconnects at once).
    pub fn set_foreground(&self, foreground: bool) {
        self.core.set_foreground(foreground);
    }

    /// Trusts `pin` (64 hex, `:` allowed) for the `wss://` endpoint — after a `PinMismatch`
    /// or `TlsUntrusted` pause the user confirmed, or a `probe_tls` fingerprint the user
    /// verified — stores it in the node's store (`SecureStore` key `clawnode.pin.<origin>`,
    /// used on the next start when `tls_pin` is not set) and retries when paused.
    pub fn trust_pin(&self, pin: String) -> Result<(), NodeError> {
        let pin = TlsPin::parse(&pin).map_err(|e| NodeError::InvalidConfig { detail: e.to_string() })?;
        Ok(self.core.trust_pin(pin)?)
    }

    /// Sends a `node.event` named `event` with `payload_json` (a JSON object) and returns
    /// the Gateway's `{handled, reason}`. Events that survive a reconnect
    /// (`notifications.changed`, `exec.*`, …) are queued while offline (`sent: false`);
    /// others fail with `NotConnected` when there is no live session.
    pub async fn send_event(&self, event: String, payload_json: String) -> Result<EventOutcome, NodeError> {
        let payload: serde_json::Value = serde_json::from_str(&payload_json)
            .map_err(|e| NodeError::InvalidConfig { detail: format!("payload is not JSON: {e}") })?;
        let core = self.core.clone();
        runtime::run(async move { Ok(core.emit_event(NodeEvent::Custom { event, payload }).await?.into()) }).await
    }

    /// Sends `node.presence.alive` (after a silent push, background refresh, …) so the
    /// Gateway records the node as seen. Throttled locally to one per minute: returns
    /// `sent: false, reason: "throttled"` then. Fails with `NotConnected` without a session.
    pub async fn report_alive(&self, trigger: PresenceTrigger) -> Result<EventOutcome, NodeError> {
        let core = self.core.clone();
        runtime::run(async move {
            Ok(match core.report_alive(trigger.into()).await? {
                clawnode::AliveOutcome::Sent(r) => EventOutcome { sent: true, handled: r.handled, reason: r.reason },
                clawnode::AliveOutcome::Throttled => {
                    EventOutcome { sent: false, handled: None, reason: Some("throttled".into()) }
                }
                other => EventOutcome { sent: false, handled: None, reason: Some(format!("{other:?}")) },
            })
        })
        .await
    }

    /// Pauses reconnecting (state `Paused`, kind `Requested`, with `reason`), e.g. while the user
    /// edits the connection; `resume()` lifts it.
    pub fn pause(&self, reason: String) {
        self.core.pause(reason);
    }
}

impl Node {
    fn take_forwarder(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.forwarder.lock().ok().and_then(|mut f| f.take())
    }

    /// Drops the foreign handlers and listener (after the node stopped).
    fn release(&self) {
        if let Ok(mut l) = self.listener.lock() {
            l.take();
        }
        if let Ok(mut h) = self.handlers.lock() {
            h.clear();
        }
        self.core.set_registry(CommandRegistry::new());
    }
}

/// Lets the forwarder deliver `Stopped`, then ends it. Runs on the runtime.
async fn join_forwarder(fwd: Option<tokio::task::JoinHandle<()>>) {
    if let Some(mut fwd) = fwd
        && tokio::time::timeout(Duration::from_secs(2), &mut fwd).await.is_err()
    {
        fwd.abort();
    }
}

fn build_registry(handlers: &Handlers) -> Result<CommandRegistry, NodeError> {
    let mut r = CommandRegistry::new();
    for (name, (options, handler)) in handlers {
        let res = match &options.cap {
            Some(cap) => r.register_with_cap(name, cap, adapter(handler.clone())).map(|_| ()),
            None => r.register(name, adapter(handler.clone())).map(|_| ()),
        };
        res.map_err(|e| NodeError::InvalidConfig { detail: e.to_string() })?;
        if options.foreground_only {
            r.set_needs_foreground(name, true);
        }
    }
    Ok(r)
}

/// Delivers states and notices to the listener until `Stopped`.
async fn forward(core: clawnode::Node, listener: Arc<dyn NodeListener>) {
    let mut states = core.subscribe_state();
    let mut notices = core.notices();
    let deliver_state = |s: NodeState| {
        if let Err(e) = listener.on_state(s) {
            warn!(error = %e, "listener.on_state failed");
        }
    };
    let initial: NodeState = states.borrow_and_update().clone().into();
    let mut stopped = initial == NodeState::Stopped;
    deliver_state(initial);
    while !stopped {
        tokio::select! {
            changed = states.changed() => {
                if changed.is_err() {
                    break;
                }
                let s: NodeState = states.borrow_and_update().clone().into();
                stopped = s == NodeState::Stopped;
                deliver_state(s);
            }
            n = notices.recv() => match n {
                Ok(n) => {
                    if let Some(n) = NodeNotice::from_core(n)
                        && let Err(e) = listener.on_notice(n)
                    {
                        warn!(error = %e, "listener.on_notice failed");
                    }
                }
                Err(RecvError::Lagged(missed)) => {
                    warn!(missed, "the listener fell behind: notices were dropped (return from on_notice quickly)");
                }
                Err(RecvError::Closed) => break,
            },
        }
    }
}
