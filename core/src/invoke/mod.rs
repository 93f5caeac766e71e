//! Invoke dispatch: registry lookup → bounded concurrency → deadline/cancel → handler →
//! `node.invoke.result` on the session that received the request.

mod context;
mod registry;

pub use crate::command_error::CommandError;
pub use crate::stats::{InvokeStats, Turnaround, TurnaroundSnapshot};
pub use context::{InvokeContext, InvokeInputChunk, MAX_PROGRESS_CHUNK_BYTES, ProgressSink};
pub use registry::{CommandHandler, CommandRegistry, HandlerFuture, RegistryError, default_cap};

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{Instrument as _, debug, info, info_span, warn};

use crate::commands::{self, PlatformFamily};
use crate::protocol::{
    InvokeCancel, InvokeInput, InvokeRequest, InvokeResultOk, InvokeResultParams, JsonText, json_text_size_hint, names,
};
use crate::session::{InvokeDispatch, RequestError, SessionHandle, Timing};

/// Dispatch limits.
#[derive(Debug, Clone)]
pub struct InvokeConfig {
    /// Handlers running at once.
    pub max_in_flight: usize,
    /// Requests waiting for a slot; beyond this a request is answered `NODE_BUSY` at once.
    pub max_queued: usize,
    /// Deadline when the request carries no `timeoutMs`.
    pub default_timeout: Duration,
    /// How long a handler may take to stop after cancellation before it is aborted.
    pub cancel_grace: Duration,
    /// Wait for the Gateway's ack of a result.
    pub result_ack_timeout: Duration,
}

impl Default for InvokeConfig {
    fn default() -> Self {
        InvokeConfig {
            max_in_flight: 64,
            max_queued: 1024,
            default_timeout: Duration::from_secs(30),
            cancel_grace: Duration::from_secs(1),
            result_ack_timeout: Duration::from_secs(15),
        }
    }
}

/// The error a foreground-only command gets while the app is backgrounded (commands.md §4).
pub(crate) fn background_unavailable(command: &str) -> CommandError {
    CommandError::new("NODE_BACKGROUND_UNAVAILABLE", format!("{command} requires the app in the foreground"))
}

struct InFlight {
    cancel: CancellationToken,
    input: mpsc::Sender<InvokeInputChunk>,
    /// Fired when an input chunk found the handler's buffer full.
    overflow: CancellationToken,
}

/// Input chunks buffered per invoke before the handler reads them; one more is answered
/// with [`INPUT_BUFFER_OVERFLOW`] (protocol.md §4.2; the upstream Rust host does the same).
pub const INPUT_BUFFER_CHUNKS: usize = 64;

/// The error code of an invoke whose handler did not read its `node.invoke.input` chunks
/// fast enough: the chunk that found the buffer full ends the invoke with this error
/// instead of being dropped silently.
pub const INPUT_BUFFER_OVERFLOW: &str = "INPUT_BUFFER_OVERFLOW";

type Key = (u64, String);

/// Routes invoke traffic from sessions to handlers.
pub(crate) struct InvokeRouter {
    registry: RwLock<Arc<CommandRegistry>>,
    permits: Arc<Semaphore>,
    queued: AtomicUsize,
    cfg: InvokeConfig,
    inflight: Mutex<HashMap<Key, InFlight>>,
    recent: Mutex<(VecDeque<Key>, HashSet<Key>)>,
    stopping: CancellationToken,
    stats: Arc<InvokeStats>,
    background: AtomicBool,
    platform: PlatformFamily,
    /// Handler tasks not yet ended (finished, or dropped after an abort).
    running: Arc<Running>,
}

/// Counts live handler tasks; `wait_idle` resolves when none is left.
#[derive(Default)]
struct Running {
    count: AtomicUsize,
    idle: tokio::sync::Notify,
}

/// Held inside a handler task: its drop (completion or abort) marks the task ended.
struct RunningGuard(Arc<Running>);

impl RunningGuard {
    fn new(r: &Arc<Running>) -> Self {
        r.count.fetch_add(1, Ordering::SeqCst);
        RunningGuard(r.clone())
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

const RECENT_IDS: usize = 1024;

impl std::fmt::Debug for InvokeRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvokeRouter").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

impl InvokeRouter {
    /// A router over `registry` applying `platform`'s catalog defaults, clamps and
    /// foreground rules (commands.md §3–4).
    pub fn for_platform(registry: CommandRegistry, cfg: InvokeConfig, platform: PlatformFamily) -> Arc<Self> {
        Arc::new(InvokeRouter {
            registry: RwLock::new(Arc::new(registry)),
            permits: Arc::new(Semaphore::new(cfg.max_in_flight.max(1))),
            queued: AtomicUsize::new(0),
            cfg,
            inflight: Mutex::new(HashMap::new()),
            recent: Mutex::new((VecDeque::new(), HashSet::new())),
            stopping: CancellationToken::new(),
            stats: Arc::new(InvokeStats::default()),
            background: AtomicBool::new(false),
            platform,
            running: Arc::default(),
        })
    }

    /// Marks the app backgrounded (`true`) or foregrounded: while backgrounded, commands
    /// registered as needing the foreground answer `NODE_BACKGROUND_UNAVAILABLE`.
    pub fn set_background(&self, background: bool) {
        self.background.store(background, Ordering::SeqCst);
    }

    /// Whether the app is marked backgrounded.
    pub fn is_background(&self) -> bool {
        self.background.load(Ordering::SeqCst)
    }

    /// Runs one queued action (`node.pending.pull`) through the same path as a live
    /// invoke (registry, foreground gate, concurrency limit, deadline, panic capture) and
    /// returns its outcome instead of sending a `node.invoke.result`: results of queued
    /// actions cannot reach the original caller. `session` is the live session (progress
    /// frames of such an action are ignored by the Gateway).
    pub async fn run_local(
        self: &Arc<Self>,
        id: &str,
        command: &str,
        params_json: Option<String>,
        session: &SessionHandle,
    ) -> Result<Value, CommandError> {
        let req = InvokeRequest {
            id: id.to_string(),
            node_id: session.node_id().to_string(),
            command: command.to_string(),
            params_json,
            params: None,
            timeout_ms: None,
            idempotency_key: None,
            session_key: None,
        };
        let cancel = CancellationToken::new();
        let (_input_tx, input_rx) = mpsc::channel(1);
        let deadline = Instant::now() + self.cfg.default_timeout;
        let span = info_span!("pending_action", id = %id, command = %command);
        let overflow = CancellationToken::new();
        let r = self.execute(&req, session, &cancel, (input_rx, &overflow), deadline).instrument(span).await;
        let r = r.unwrap_or_else(|| Err(CommandError::unavailable("cancelled")));
        match &r {
            Ok(_) => self.stats.succeeded.fetch_add(1, Ordering::Relaxed),
            Err(_) => self.stats.failed.fetch_add(1, Ordering::Relaxed),
        };
        r
    }

    /// The current registry.
    pub fn registry(&self) -> Arc<CommandRegistry> {
        self.registry.read().map(|r| r.clone()).unwrap_or_default()
    }

    /// Replaces the registry (takes effect for new invokes; declared on the next connect).
    pub fn set_registry(&self, registry: CommandRegistry) {
        if let Ok(mut r) = self.registry.write() {
            *r = Arc::new(registry);
        }
    }

    /// Counters.
    pub fn stats(&self) -> &Arc<InvokeStats> {
        &self.stats
    }

    /// Handler tasks still running (including ones cancelled but not yet stopped).
    pub fn running_handlers(&self) -> usize {
        self.running.count.load(Ordering::SeqCst)
    }

    /// Waits until every handler task has ended (a cancelled handler is aborted after
    /// `cancel_grace`), at most `timeout`; returns whether none is left.
    pub async fn wait_handlers_ended(&self, timeout: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.running.idle.notified();
                if self.running.count.load(Ordering::SeqCst) == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(timeout, wait).await.is_ok()
    }

    /// Enters shutdown: new requests get `NODE_NOT_READY`, running ones are cancelled.
    pub fn shut_down(&self) {
        self.stopping.cancel();
        if let Ok(m) = self.inflight.lock() {
            for f in m.values() {
                f.cancel.cancel();
            }
        }
    }

    fn finish(&self, key: &Key) {
        if let Ok(mut m) = self.inflight.lock() {
            m.remove(key);
        }
        if let Ok(mut r) = self.recent.lock() {
            let (order, set) = &mut *r;
            if set.insert(key.clone()) {
                order.push_back(key.clone());
                while order.len() > RECENT_IDS {
                    if let Some(old) = order.pop_front() {
                        set.remove(&old);
                    }
                }
            }
        }
    }

    async fn execute(
        self: &Arc<Self>,
        req: &InvokeRequest,
        session: &SessionHandle,
        cancel: &CancellationToken,
        (input, overflow): (mpsc::Receiver<InvokeInputChunk>, &CancellationToken),
        deadline: Instant,
    ) -> Option<Result<Value, CommandError>> {
        if self.stopping.is_cancelled() {
            return Some(Err(CommandError::new("NODE_NOT_READY", "node is shutting down")));
        }
        // Wait for a slot, bounded by the queue size and the request's own deadline.
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.queued.fetch_add(1, Ordering::SeqCst) >= self.cfg.max_queued {
                    self.queued.fetch_sub(1, Ordering::SeqCst);
                    self.stats.busy.fetch_add(1, Ordering::Relaxed);
                    return Some(Err(CommandError::unavailable("NODE_BUSY: too many invokes queued")));
                }
                let r = tokio::select! {
                    p = self.permits.clone().acquire_owned() => p.ok(),
                    _ = tokio::time::sleep_until(deadline) => None,
                    _ = cancel.cancelled() => None,
                };
                self.queued.fetch_sub(1, Ordering::SeqCst);
                match r {
                    Some(p) => p,
                    None if cancel.is_cancelled() => return None,
                    None => {
                        self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                        return Some(Err(CommandError::new("TIMEOUT", "node invoke timed out while queued")));
                    }
                }
            }
        };
        let registry = self.registry();
        let Some(entry) = registry.entry(&req.command) else {
            return Some(Err(CommandError::unavailable("command not supported")));
        };
        let (handler, spec) = (entry.handler.clone(), entry.spec);
        if self.is_background() && entry.needs_foreground_on(self.platform) {
            self.stats.background_refused.fetch_add(1, Ordering::Relaxed);
            return Some(Err(background_unavailable(&req.command)));
        }
        let params = match req.params_value() {
            Ok(p) => p,
            Err(e) => return Some(Err(CommandError::invalid_request(format!("paramsJSON is not valid JSON: {e}")))),
        };
        let params = match spec.map(|s| commands::normalize_params(s.name, &params, self.platform)) {
            None | Some(Ok(None)) => params,
            Some(Ok(Some(normalized))) => normalized,
            Some(Err(e)) => {
                self.stats.invalid_params.fetch_add(1, Ordering::Relaxed);
                debug!(code = e.code(), "catalog params refused");
                return Some(Err(e));
            }
        };
        let ctx = InvokeContext::new(
            req.id.clone(),
            req.command.clone(),
            params,
            deadline,
            req.idempotency_key.clone(),
            req.session_key.clone(),
            cancel.clone(),
            session.clone(),
            input,
        );
        let running = RunningGuard::new(&self.running);
        let call = handler.call(ctx);
        let mut task = tokio::spawn(
            async move {
                let _running = running;
                call.await
            }
            .in_current_span(),
        );
        let outcome = tokio::select! {
            // Checked in this order: a cancellation (`node.invoke.cancel`, session end) wins
            // over a handler that finished in the same instant, e.g. one that returns as soon
            // as it sees `ctx.cancel`; with an unbiased select such a result was sometimes
            // sent although a cancelled invoke must get none.
            biased;
            _ = cancel.cancelled() => None,
            _ = overflow.cancelled() => None,
            r = &mut task => Some(r),
            _ = tokio::time::sleep_until(deadline) => None,
        };
        let result = match outcome {
            Some(Ok(Ok(v))) if spec.is_some() => match commands::check_result_budget(&req.command, &v) {
                Ok(()) => Some(Ok(v)),
                Err(e) => {
                    self.stats.over_budget.fetch_add(1, Ordering::Relaxed);
                    warn!(code = e.code(), "result over the command's size budget");
                    Some(Err(e))
                }
            },
            Some(Ok(r)) => Some(r),
            Some(Err(e)) if e.is_panic() => {
                self.stats.panicked.fetch_add(1, Ordering::Relaxed);
                warn!("handler panicked");
                Some(Err(CommandError::unavailable("handler panicked")))
            }
            Some(Err(_)) => None,
            None => {
                let overflowed = overflow.is_cancelled() && !cancel.is_cancelled();
                let timed_out = !cancel.is_cancelled() && !overflowed;
                cancel.cancel();
                // Let the handler observe the cancellation, then abort it. This runs on its own
                // task so that a TIMEOUT is answered at the deadline and not a whole grace
                // period later (a handler ignoring cancellation used to delay the answer by
                // `cancel_grace`); the slot stays taken until the handler has really stopped.
                let grace = self.cfg.cancel_grace;
                tokio::spawn(
                    async move {
                        if tokio::time::timeout(grace, &mut task).await.is_err() {
                            debug!("handler ignored cancellation for {grace:?}; aborted");
                            task.abort();
                        }
                        drop(permit);
                    }
                    .in_current_span(),
                );
                return if overflowed {
                    warn!("handler did not read its input; answered {INPUT_BUFFER_OVERFLOW}");
                    Some(Err(CommandError::new(
                        INPUT_BUFFER_OVERFLOW,
                        format!(
                            "more than {INPUT_BUFFER_CHUNKS} input chunks waiting: the handler is not reading its input"
                        ),
                    )))
                } else if timed_out {
                    self.stats.timed_out.fetch_add(1, Ordering::Relaxed);
                    Some(Err(CommandError::new("TIMEOUT", "node invoke timed out")))
                } else {
                    None
                };
            }
        };
        drop(permit);
        result
    }

    async fn send_result(
        &self,
        session: &SessionHandle,
        id: &str,
        result: Result<Value, CommandError>,
        received: Option<Instant>,
    ) {
        // The frame text is written in one pass straight from the result (payloadJSON escaped
        // on the fly) into a buffer sized once, and the result is dropped as soon as the text
        // exists: a large payload is never held in more than two copies (result + frame, then
        // frame + socket buffer).
        let send = |result: Result<Value, CommandError>| {
            let timeout = self.cfg.result_ack_timeout;
            let node_id = session.node_id();
            let timing = received.map(|since| Timing { since, stats: self.stats.clone() });
            async move {
                match result {
                    Ok(v) => {
                        let hint = json_text_size_hint(&v) + id.len() + node_id.len() + 48;
                        let write = move |buf: &mut Vec<u8>| {
                            let params = InvokeResultOk { id, node_id, ok: true, payload_json: JsonText(&v) };
                            serde_json::to_writer(&mut *buf, &params)
                        };
                        session.request_timed(names::NODE_INVOKE_RESULT, hint, write, timeout, timing).await
                    }
                    Err(e) => {
                        let params = InvokeResultParams {
                            id: id.to_string(),
                            node_id: node_id.to_string(),
                            ok: false,
                            payload_json: None,
                            error: Some(e.to_wire()),
                        };
                        let text = serde_json::to_string(&params).unwrap_or_else(|_| "{}".into());
                        let write = move |buf: &mut Vec<u8>| {
                            buf.extend_from_slice(text.as_bytes());
                            Ok(())
                        };
                        session.request_timed(names::NODE_INVOKE_RESULT, 256, write, timeout, timing).await
                    }
                }
            }
        };
        let ok = result.is_ok();
        let mut outcome = send(result).await;
        if let Err(RequestError::TooLarge { size, limit }) = &outcome {
            self.stats.too_large.fetch_add(1, Ordering::Relaxed);
            warn!(size, limit, "result exceeds policy.maxPayload; answering PAYLOAD_TOO_LARGE");
            let e = CommandError::new(
                "PAYLOAD_TOO_LARGE",
                format!("result of {size} bytes exceeds the gateway limit of {limit} bytes"),
            );
            outcome = send(Err(e)).await;
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
        } else if ok {
            self.stats.succeeded.fetch_add(1, Ordering::Relaxed);
        } else {
            self.stats.failed.fetch_add(1, Ordering::Relaxed);
        }
        match outcome {
            Ok(ack) => {
                if ack.get("ignored").and_then(Value::as_bool) == Some(true) {
                    self.stats.late_results.fetch_add(1, Ordering::Relaxed);
                    debug!("gateway ignored the result (late or unknown id)");
                }
            }
            Err(RequestError::Closed) => {
                self.stats.dropped_results.fetch_add(1, Ordering::Relaxed);
                info!("session ended before the result could be sent; dropped (never sent on a newer socket)");
            }
            Err(e) => warn!(error = %e, "sending node.invoke.result failed"),
        }
    }
}

impl InvokeDispatch for Arc<InvokeRouter> {
    fn on_request(&self, req: InvokeRequest, session: SessionHandle, received: Instant) {
        self.stats.received.fetch_add(1, Ordering::Relaxed);
        let key: Key = (session.epoch(), req.id.clone());
        let cancel = CancellationToken::new();
        let (input_tx, input_rx) = mpsc::channel(INPUT_BUFFER_CHUNKS);
        let overflow = CancellationToken::new();
        {
            let recent_dup = self.recent.lock().map(|r| r.1.contains(&key)).unwrap_or(false);
            let Ok(mut m) = self.inflight.lock() else { return };
            if recent_dup || m.contains_key(&key) {
                self.stats.duplicates.fetch_add(1, Ordering::Relaxed);
                warn!(id = %req.id, "duplicate invoke id ignored");
                return;
            }
            m.insert(key.clone(), InFlight { cancel: cancel.clone(), input: input_tx, overflow: overflow.clone() });
        }
        let timeout = Duration::from_millis(
            req.timeout_ms.unwrap_or(u64::try_from(self.cfg.default_timeout.as_millis()).unwrap_or(30_000)).max(1),
        );
        let deadline = Instant::now() + timeout;
        let router = self.clone();
        let span = info_span!("invoke", id = %req.id, command = %req.command, epoch = session.epoch());
        tokio::spawn(
            async move {
                debug!(timeout_ms = timeout.as_millis() as u64, "invoke started");
                let started = Instant::now();
                match router.execute(&req, &session, &cancel, (input_rx, &overflow), deadline).await {
                    Some(result) => {
                        if let Err(e) = &result {
                            debug!(code = e.code(), "invoke failed");
                        }
                        router.send_result(&session, &req.id, result, Some(received)).await;
                    }
                    None => {
                        router.stats.cancelled.fetch_add(1, Ordering::Relaxed);
                        debug!("invoke cancelled; no result sent");
                    }
                }
                debug!(elapsed_us = started.elapsed().as_micros() as u64, "invoke finished");
                router.finish(&key);
            }
            .instrument(span),
        );
    }

    fn on_cancel(&self, cancel: InvokeCancel, session: &SessionHandle) {
        let key: Key = (session.epoch(), cancel.invoke_id.clone());
        if let Ok(m) = self.inflight.lock()
            && let Some(f) = m.get(&key)
        {
            debug!(id = %cancel.invoke_id, "gateway cancelled invoke");
            f.cancel.cancel();
        }
    }

    fn on_input(&self, input: InvokeInput, session: &SessionHandle) {
        let key: Key = (session.epoch(), input.id.clone());
        let target = self.inflight.lock().ok().and_then(|m| m.get(&key).map(|f| (f.input.clone(), f.overflow.clone())));
        let Some((tx, overflow)) = target else {
            debug!(id = %input.id, "input for an invoke that is not running; ignored");
            return;
        };
        match tx.try_send(InvokeInputChunk { seq: input.seq, payload_json: input.payload_json }) {
            Ok(()) => {}
            // Never dropped silently: the invoke ends with INPUT_BUFFER_OVERFLOW.
            Err(mpsc::error::TrySendError::Full(_)) => overflow.cancel(),
            // The handler dropped its input stream: it does not want more.
            Err(mpsc::error::TrySendError::Closed(_)) => debug!(id = %input.id, "input after the handler closed it"),
        }
    }

    fn on_session_end(&self, session: &SessionHandle) {
        // Work for a dead socket cannot deliver its result: cancel it.
        if let Ok(m) = self.inflight.lock() {
            for ((epoch, _), f) in m.iter() {
                if *epoch == session.epoch() {
                    f.cancel.cancel();
                }
            }
        }
    }
}
