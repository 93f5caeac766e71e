//! One live connection: challenge → signed connect → hello-ok, then the reader loop
//! (responses, events, invoke dispatch), a writer task, client pings and the tick watchdog.
//!
//! The reader never waits on a handler: invoke requests are handed to an
//! [`InvokeDispatch`] which runs them as their own tasks and answers through the
//! [`SessionHandle`] of the session that received them.
//!
//! Longer than the ~600 lines a core file aims for (about 620 non-test lines), on purpose: the
//! handshake and the reader loop share the frame, close and pre-auth size handling of one
//! socket, so they are read together; what stands alone (the handle callers keep) is in
//! `handle.rs`.

mod handle;

pub use handle::{RequestError, SessionHandle, Timing};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::identity::{DeviceIdentity, SignatureInput, js_trim};
use crate::protocol::{
    ClientInfo, ConnectAuth, ConnectChallenge, ConnectParams, DeviceProof, ErrorShape, EventFrame, HelloOk,
    InboundFrame, InvokeCancel, InvokeInput, InvokeRequest, MAX_PROTOCOL_VERSION, MIN_PROTOCOL_VERSION, PairResolved,
    RequestFrame, Role, ShutdownEvent, names,
};
use crate::transport::{TransportError, WsStream};

use handle::Outbound;

/// The Gateway's limit on any frame before hello.
pub const MAX_PREAUTH_PAYLOAD_BYTES: usize = 65_536;

/// Handshake deadlines (transport.md §5.1).
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// Wait for `connect.challenge`.
    pub challenge_timeout: Duration,
    /// Wait for the `connect` response.
    pub hello_timeout: Duration,
}

impl Default for HandshakeConfig {
    fn default() -> Self {
        HandshakeConfig { challenge_timeout: Duration::from_secs(15), hello_timeout: Duration::from_secs(15) }
    }
}

/// Liveness settings of a running session.
#[derive(Debug, Clone)]
pub struct LivenessConfig {
    /// Client WebSocket ping cadence.
    pub client_ping_interval: Duration,
    /// Silence allowed, as a multiple of `policy.tickIntervalMs`.
    pub tick_timeout_factor: u32,
}

impl Default for LivenessConfig {
    fn default() -> Self {
        LivenessConfig { client_ping_interval: Duration::from_secs(15), tick_timeout_factor: 2 }
    }
}

/// What the connect request declares, besides the identity proof.
#[derive(Debug, Clone)]
pub struct ConnectRequest {
    /// Client description.
    pub client: ClientInfo,
    /// Capability categories.
    pub caps: Vec<String>,
    /// Declared commands.
    pub commands: Vec<String>,
    /// Permission snapshot.
    pub permissions: BTreeMap<String, bool>,
    /// Host `PATH` (node-host).
    pub path_env: Option<String>,
    /// Credentials for this attempt.
    pub auth: ConnectAuth,
}

/// Why a handshake failed.
#[derive(Debug, thiserror::Error)]
pub enum HandshakeError {
    /// Opening the socket failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// No `connect.challenge` in time.
    #[error("no connect.challenge within {0:?}")]
    ChallengeTimeout(Duration),
    /// The challenge was unusable (empty nonce, bad ts).
    #[error("invalid connect.challenge: {0}")]
    InvalidChallenge(String),
    /// The socket closed before hello.
    #[error("gateway closed the connection before hello (code {code:?}, reason {reason:?})")]
    Closed {
        /// Close code.
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// No response to `connect` in time.
    #[error("no hello within {0:?}")]
    HelloTimeout(Duration),
    /// The Gateway rejected the connect.
    #[error("connect rejected: {0}")]
    Rejected(ErrorShape),
    /// The connect frame exceeds the pre-auth limit.
    #[error("connect frame of {0} bytes exceeds the gateway's 64 KiB pre-auth limit")]
    TooLarge(usize),
    /// A malformed hello or frame.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// Socket I/O failed.
    #[error("socket error: {0}")]
    Io(String),
}

/// Builds and signs the `connect` params for a challenge (v3, `signedAt = challenge.ts`).
pub fn build_connect_params(
    identity: &DeviceIdentity,
    req: &ConnectRequest,
    challenge: &ConnectChallenge,
) -> ConnectParams {
    let scopes: Vec<String> = Vec::new();
    let nonce = js_trim(&challenge.nonce).to_string();
    let input = SignatureInput {
        device_id: identity.device_id(),
        client_id: req.client.id,
        client_mode: req.client.mode,
        role: Role::Node,
        scopes: &scopes,
        signed_at_ms: challenge.ts,
        token: req.auth.signature_token(),
        nonce: &nonce,
        platform: Some(&req.client.platform),
        device_family: req.client.device_family.as_deref(),
    };
    let signature = identity.sign(&input.v3());
    ConnectParams {
        min_protocol: MIN_PROTOCOL_VERSION,
        max_protocol: MAX_PROTOCOL_VERSION,
        client: req.client.clone(),
        role: Role::Node,
        scopes,
        caps: req.caps.clone(),
        commands: req.commands.clone(),
        permissions: req.permissions.clone(),
        path_env: req.path_env.clone(),
        device: DeviceProof {
            id: identity.device_id().to_string(),
            public_key: identity.public_key_b64url(),
            signature,
            signed_at: challenge.ts,
            nonce,
        },
        auth: req.auth.clone(),
        locale: None,
        user_agent: None,
    }
}

pub(crate) fn message_text(msg: Message) -> Option<Result<String, String>> {
    match msg {
        Message::Text(t) => Some(Ok(t.as_str().to_owned())),
        Message::Binary(b) => Some(String::from_utf8(b.to_vec()).map_err(|_| "binary frame is not UTF-8".into())),
        _ => None,
    }
}

fn close_info(frame: Option<CloseFrame>) -> (Option<u16>, String) {
    match frame {
        Some(f) => (Some(u16::from(f.code)), f.reason.as_str().to_owned()),
        None => (None, String::new()),
    }
}

/// Runs the handshake on an open socket.
pub async fn handshake(
    mut ws: WsStream,
    identity: &DeviceIdentity,
    req: &ConnectRequest,
    cfg: &HandshakeConfig,
) -> Result<(WsStream, HelloOk), HandshakeError> {
    // 1. Wait for the challenge.
    let deadline = Instant::now() + cfg.challenge_timeout;
    let challenge = loop {
        let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => {
                let _ = ws
                    .close(Some(CloseFrame { code: CloseCode::Policy, reason: "connect challenge timeout".into() }))
                    .await;
                return Err(HandshakeError::ChallengeTimeout(cfg.challenge_timeout));
            }
            Ok(None) => return Err(HandshakeError::Closed { code: None, reason: String::new() }),
            Ok(Some(Err(e))) => return Err(HandshakeError::Io(e.to_string())),
            Ok(Some(Ok(m))) => m,
        };
        if let Message::Close(f) = msg {
            let (code, reason) = close_info(f);
            return Err(HandshakeError::Closed { code, reason });
        }
        let Some(text) = message_text(msg) else { continue };
        let text = text.map_err(HandshakeError::Protocol)?;
        match InboundFrame::parse(&text) {
            Ok(InboundFrame::Event(ev)) if ev.event == names::EV_CONNECT_CHALLENGE => {
                let payload = ev.payload.unwrap_or(Value::Null);
                let ch: ConnectChallenge =
                    serde_json::from_value(payload).map_err(|e| HandshakeError::InvalidChallenge(e.to_string()))?;
                if js_trim(&ch.nonce).is_empty() {
                    return Err(HandshakeError::InvalidChallenge("empty nonce".into()));
                }
                break ch;
            }
            Ok(_) => continue,
            Err(e) => return Err(HandshakeError::Protocol(e.to_string())),
        }
    };
    // 2. Signed connect.
    let params = build_connect_params(identity, req, &challenge);
    let params = serde_json::to_value(&params).map_err(|e| HandshakeError::Protocol(e.to_string()))?;
    let text = RequestFrame { id: "connect".into(), method: names::CONNECT.into(), params: Some(params) }.to_json();
    if text.len() > MAX_PREAUTH_PAYLOAD_BYTES {
        return Err(HandshakeError::TooLarge(text.len()));
    }
    ws.send(Message::text(text)).await.map_err(|e| HandshakeError::Io(e.to_string()))?;
    // 3. Wait for the response.
    let deadline = Instant::now() + cfg.hello_timeout;
    loop {
        let msg = match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => {
                let _ =
                    ws.close(Some(CloseFrame { code: CloseCode::from(4000), reason: "connect timeout".into() })).await;
                return Err(HandshakeError::HelloTimeout(cfg.hello_timeout));
            }
            Ok(None) => return Err(HandshakeError::Closed { code: None, reason: String::new() }),
            Ok(Some(Err(e))) => return Err(HandshakeError::Io(e.to_string())),
            Ok(Some(Ok(m))) => m,
        };
        if let Message::Close(f) = msg {
            let (code, reason) = close_info(f);
            return Err(HandshakeError::Closed { code, reason });
        }
        let Some(text) = message_text(msg) else { continue };
        let text = text.map_err(HandshakeError::Protocol)?;
        match InboundFrame::parse(&text) {
            Ok(InboundFrame::Response(r)) if r.id == "connect" => {
                if r.ok {
                    let hello: HelloOk = serde_json::from_value(r.payload.unwrap_or(Value::Null))
                        .map_err(|e| HandshakeError::Protocol(format!("malformed hello-ok: {e}")))?;
                    return Ok((ws, hello));
                }
                let err = r.error.unwrap_or(ErrorShape {
                    code: "UNAVAILABLE".into(),
                    message: "connect failed without an error".into(),
                    details: None,
                    retryable: None,
                    retry_after_ms: None,
                });
                return Err(HandshakeError::Rejected(err));
            }
            _ => continue,
        }
    }
}

/// Receives invoke traffic from a session (implemented by the invoke router).
pub trait InvokeDispatch: Send + Sync {
    /// A `node.invoke.request` arrived on `session` (its frame was read at `received`). Must
    /// not block.
    fn on_request(&self, request: InvokeRequest, session: SessionHandle, received: Instant);
    /// A `node.invoke.cancel` arrived.
    fn on_cancel(&self, cancel: InvokeCancel, session: &SessionHandle);
    /// A `node.invoke.input` arrived.
    fn on_input(&self, input: InvokeInput, session: &SessionHandle);
    /// The session ended; in-flight work for it may be cancelled.
    fn on_session_end(&self, session: &SessionHandle);
}

/// Notable things a session saw, for the supervisor.
#[derive(Debug, Clone)]
pub enum SessionEvent {
    /// `node.pair.resolved` for this node.
    PairResolved(PairResolved),
    /// A broadcast `seq` was skipped.
    SeqGap {
        /// The seq expected next.
        expected: u64,
        /// The seq received.
        received: u64,
    },
    /// Another event, with its payload (typed for the host by `GatewayEvent::parse`).
    Other(String, Option<Value>),
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq)]
pub enum SessionEndKind {
    /// The Gateway (or the network) closed the socket.
    Closed {
        /// Close code (None: no close frame).
        code: Option<u16>,
        /// Close reason.
        reason: String,
    },
    /// No inbound traffic for 2 × `tickIntervalMs`; closed with 4000.
    TickTimeout,
    /// Reading or writing failed.
    SocketError(String),
    /// Stopped locally.
    Stopped,
}

/// The end of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionEnd {
    /// What happened.
    pub kind: SessionEndKind,
    /// A `shutdown` event seen before the end.
    pub shutdown: Option<ShutdownEvent>,
}

/// Counters of one session.
#[derive(Debug, Default)]
pub struct SessionStats {
    /// Frames that were not valid JSON frames.
    pub malformed_frames: AtomicU64,
    /// `seq` gaps seen.
    pub seq_gaps: AtomicU64,
    /// Responses whose id matched no request.
    pub unknown_responses: AtomicU64,
}

/// A running session.
pub struct Session {
    handle: SessionHandle,
    task: tokio::task::JoinHandle<SessionEnd>,
    stop: CancellationToken,
    stale: CancellationToken,
    /// Counters (reported by `Node::session_stats`).
    pub stats: Arc<SessionStats>,
}

impl Session {
    /// Starts the reader and writer of an authenticated socket.
    pub fn start(
        ws: WsStream,
        hello: &HelloOk,
        epoch: u64,
        node_id: String,
        dispatch: Arc<dyn InvokeDispatch>,
        events: mpsc::UnboundedSender<SessionEvent>,
        liveness: LivenessConfig,
    ) -> Session {
        let (out_tx, out_rx) = mpsc::channel::<Outbound>(256);
        let handle = SessionHandle::new(out_tx, epoch, node_id, hello.policy.max_payload);
        let stop = CancellationToken::new();
        let stale = CancellationToken::new();
        let stats = Arc::new(SessionStats::default());
        let tick = Duration::from_millis(hello.policy.tick_interval_ms.max(1000));
        let span = tracing::info_span!("session", epoch, conn_id = %hello.server.conn_id);
        let task = tokio::spawn(tracing::Instrument::instrument(
            run(
                ws,
                out_rx,
                handle.clone(),
                dispatch,
                events,
                liveness,
                tick,
                (stop.clone(), stale.clone()),
                stats.clone(),
            ),
            span,
        ));
        Session { handle, task, stop, stale, stats }
    }

    /// The handle for requests on this session.
    pub fn handle(&self) -> &SessionHandle {
        &self.handle
    }

    /// Asks the session to close (1000) and returns immediately.
    pub fn stop(&self) {
        self.stop.cancel();
    }

    /// A token that, once cancelled, ends the session as dead (close 4000, ending like a tick
    /// timeout: the node reconnects at once without growing its backoff).
    pub fn stale_token(&self) -> CancellationToken {
        self.stale.clone()
    }

    /// Waits for the session to end.
    pub async fn wait(self) -> SessionEnd {
        match self.task.await {
            Ok(end) => end,
            Err(e) => {
                SessionEnd { kind: SessionEndKind::SocketError(format!("session task failed: {e}")), shutdown: None }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn run(
    ws: WsStream,
    mut out_rx: mpsc::Receiver<Outbound>,
    handle: SessionHandle,
    dispatch: Arc<dyn InvokeDispatch>,
    events: mpsc::UnboundedSender<SessionEvent>,
    liveness: LivenessConfig,
    tick: Duration,
    (stop, stale): (CancellationToken, CancellationToken),
    stats: Arc<SessionStats>,
) -> SessionEnd {
    let (mut sink, mut stream) = ws.split();
    let writer_failed = CancellationToken::new();
    let writer_done = writer_failed.clone();
    let session_over = handle.shared.closed.clone();
    let writer = tokio::spawn(async move {
        loop {
            let item = tokio::select! {
                // Items queued before the end (e.g. our own close frame) still go out first.
                biased;
                item = out_rx.recv() => item,
                // The session ended (peer close, socket error): stop writing. Waiting for the
                // channel to close instead meant waiting for the last `SessionHandle` clone to
                // drop, which kept the socket open and delayed every reconnect by the 2 s join
                // timeout below.
                _ = session_over.cancelled() => None,
            };
            let Some(item) = item else { break };
            let res = match item {
                Outbound::Text(t, timing) => {
                    let r = sink.send(Message::text(t)).await;
                    if let (Ok(()), Some(t)) = (&r, timing) {
                        t.stats.turnaround.record(t.since.elapsed());
                    }
                    r
                }
                Outbound::Ping => sink.send(Message::Ping(Vec::new().into())).await,
                Outbound::Close(code, reason) => {
                    let _ = sink
                        .send(Message::Close(Some(CloseFrame { code: CloseCode::from(code), reason: reason.into() })))
                        .await;
                    let _ = sink.flush().await;
                    break;
                }
            };
            if let Err(e) = res {
                debug!(error = %e, "session writer failed");
                break;
            }
        }
        // Completes the close handshake: tungstenite queues the reply to a peer's close frame
        // when the reader sees it but only writes it on a later read or flush, and the reader
        // stops at the close. Without this flush the Gateway never got its close echoed.
        let _ = sink.flush().await;
        writer_done.cancel();
    });

    let silence_limit = tick * liveness.tick_timeout_factor;
    let mut last_rx = Instant::now();
    let mut watchdog = tokio::time::interval(tick.min(Duration::from_secs(5)).max(Duration::from_millis(100)));
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut pinger =
        tokio::time::interval_at(Instant::now() + liveness.client_ping_interval, liveness.client_ping_interval);
    pinger.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_seq: Option<u64> = None;
    let mut shutdown: Option<ShutdownEvent> = None;

    let kind = loop {
        tokio::select! {
            msg = stream.next() => {
                let msg = match msg {
                    None => break SessionEndKind::Closed { code: None, reason: String::new() },
                    Some(Err(e)) => break SessionEndKind::SocketError(e.to_string()),
                    Some(Ok(m)) => m,
                };
                // Only Gateway traffic (text/binary frames) feeds the tick watchdog, as in the
                // TS client (events and responses refresh `lastTick`). Pongs to our own pings
                // must not: the peer's WebSocket layer answers them even when the Gateway above
                // it sends nothing, so a short ping interval kept a silent session alive forever.
                if matches!(msg, Message::Text(_) | Message::Binary(_)) {
                    last_rx = Instant::now();
                }
                if let Message::Close(f) = msg {
                    let (code, reason) = close_info(f);
                    break SessionEndKind::Closed { code, reason };
                }
                let Some(text) = message_text(msg) else { continue };
                let text = match text {
                    Ok(t) => t,
                    Err(e) => {
                        stats.malformed_frames.fetch_add(1, Ordering::Relaxed);
                        warn!(error = %e, "ignoring undecodable frame");
                        continue;
                    }
                };
                match InboundFrame::parse(&text) {
                    Err(e) => {
                        stats.malformed_frames.fetch_add(1, Ordering::Relaxed);
                        warn!(error = %e, len = text.len(), "ignoring malformed frame");
                    }
                    Ok(InboundFrame::Response(r)) => {
                        let result = if r.ok {
                            Ok(r.payload.unwrap_or(Value::Null))
                        } else {
                            Err(r.error.unwrap_or(ErrorShape {
                                code: "UNAVAILABLE".into(), message: "error without details".into(),
                                details: None, retryable: None, retry_after_ms: None,
                            }))
                        };
                        if !handle.complete(&r.id, result) {
                            stats.unknown_responses.fetch_add(1, Ordering::Relaxed);
                            debug!(id = %r.id, "response for an unknown or expired request");
                        }
                    }
                    Ok(InboundFrame::Event(ev)) => {
                        if let Some(seq) = ev.seq {
                            if let Some(prev) = last_seq
                                && seq > prev + 1
                            {
                                stats.seq_gaps.fetch_add(1, Ordering::Relaxed);
                                let _ = events.send(SessionEvent::SeqGap { expected: prev + 1, received: seq });
                            }
                            last_seq = Some(seq);
                        }
                        if let Some(s) = handle_event(ev, &handle, dispatch.as_ref(), &events, last_rx) {
                            info!(reason = %s.reason, restart_expected_ms = ?s.restart_expected_ms, "gateway announced shutdown");
                            shutdown = Some(s);
                        }
                    }
                }
            }
            _ = watchdog.tick() => {
                if last_rx.elapsed() > silence_limit {
                    warn!(silence_ms = last_rx.elapsed().as_millis() as u64, "tick timeout: closing 4000");
                    let _ = handle.send_raw(Outbound::Close(4000, "tick timeout".into())).await;
                    break SessionEndKind::TickTimeout;
                }
            }
            _ = pinger.tick() => {
                let _ = handle.shared.out.try_send(Outbound::Ping);
            }
            _ = writer_failed.cancelled() => {
                break SessionEndKind::SocketError("writer failed".into());
            }
            _ = stale.cancelled() => {
                warn!("the Gateway did not answer the liveness check: closing 4000");
                let _ = handle.send_raw(Outbound::Close(4000, "stale".into())).await;
                break SessionEndKind::TickTimeout;
            }
            _ = stop.cancelled() => {
                let _ = handle.send_raw(Outbound::Close(1000, "node stopping".into())).await;
                break SessionEndKind::Stopped;
            }
        }
    };
    handle.close();
    dispatch.on_session_end(&handle);
    // Give the writer a moment to flush a close frame, then drop the socket. A writer stuck
    // on a full socket is aborted rather than detached, so it cannot keep the socket open.
    let abort = writer.abort_handle();
    if tokio::time::timeout(Duration::from_secs(2), writer).await.is_err() {
        abort.abort();
    }
    SessionEnd { kind, shutdown }
}

fn handle_event(
    ev: EventFrame,
    handle: &SessionHandle,
    dispatch: &dyn InvokeDispatch,
    events: &mpsc::UnboundedSender<SessionEvent>,
    received: Instant,
) -> Option<ShutdownEvent> {
    let payload = ev.payload.unwrap_or(Value::Null);
    match ev.event.as_str() {
        names::EV_INVOKE_REQUEST => match serde_json::from_value::<InvokeRequest>(payload) {
            Ok(req) => dispatch.on_request(req, handle.clone(), received),
            Err(e) => warn!(error = %e, "malformed node.invoke.request"),
        },
        names::EV_INVOKE_CANCEL => match serde_json::from_value::<InvokeCancel>(payload) {
            Ok(c) => dispatch.on_cancel(c, handle),
            Err(e) => warn!(error = %e, "malformed node.invoke.cancel"),
        },
        names::EV_INVOKE_INPUT => match serde_json::from_value::<InvokeInput>(payload) {
            Ok(i) => dispatch.on_input(i, handle),
            Err(e) => warn!(error = %e, "malformed node.invoke.input"),
        },
        names::EV_PAIR_RESOLVED => match serde_json::from_value::<PairResolved>(payload) {
            Ok(p) => {
                let _ = events.send(SessionEvent::PairResolved(p));
            }
            Err(e) => warn!(error = %e, "malformed node.pair.resolved"),
        },
        names::EV_TICK => {}
        names::EV_SHUTDOWN => {
            return Some(
                serde_json::from_value::<ShutdownEvent>(payload)
                    .unwrap_or(ShutdownEvent { reason: String::new(), restart_expected_ms: None }),
            );
        }
        other => {
            debug!(event = other, "event ignored by the session");
            let _ = events.send(SessionEvent::Other(other.to_string(), Some(payload)));
        }
    }
    None
}
