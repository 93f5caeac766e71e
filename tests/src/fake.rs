//! A small scriptable fake Gateway for faults the real one cannot produce on cue.
//!
//! [`FakeGateway::start`] listens on `127.0.0.1:0`. For every accepted TCP connection
//! it records the accept time, performs the WebSocket upgrade, sends a
//! `connect.challenge` event (`{nonce: <uuid v4>, ts: <now ms>}`), and hands the test a
//! [`FakeConn`] through [`FakeGateway::next_conn`]. The test then scripts the
//! conversation: [`FakeConn::recv_request`] the node's `connect`, answer with
//! [`FakeConn::hello_ok`] or [`FakeConn::reply_err`], push events, send garbage with
//! [`FakeConn::send_raw`], close with any code, drop the TCP connection, or stall.
//!
//! # Pings and the `respond_to_pings` option
//!
//! tungstenite answers a ping automatically, but only while the socket is being read:
//! the pong is queued when the ping is read and flushed on the next read or write.
//! So the only way to *not* answer pings is to not read the socket. Each [`FakeConn`]
//! has a pump task that owns the socket:
//!
//! * `respond_to_pings: true` (default): the pump reads continuously, forwarding every
//!   message (pings included) to the test's queue, so pings are answered at once.
//! * `respond_to_pings: false`: the pump reads only while a `recv_*` call is waiting
//!   for a data frame. Pings that arrive in between stay unread in the kernel buffer,
//!   so the peer sees no pong (a "dropped pong"). Pings read during a `recv_*` are
//!   still answered.
//! * [`FakeConn::stall`] stops reading for good (on either setting): no pongs, no
//!   frames delivered, the socket stays open until the [`FakeConn`] is dropped. Sends
//!   from the test still go out.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};

use crate::error::TestkitError;
use crate::util::{now_ms, random_hex, random_uuid};

/// Options for [`FakeGateway::start_with`].
#[derive(Debug, Clone)]
pub struct FakeOptions {
    /// Keep reading every connection so pings are answered (see the module docs).
    pub respond_to_pings: bool,
    /// Send `connect.challenge` right after the upgrade (turn off to test a client's
    /// challenge timeout).
    pub send_challenge: bool,
    /// Inbound message/frame size limit (`None`: unlimited). Default 64 MiB.
    pub max_message_size: Option<usize>,
}

impl Default for FakeOptions {
    fn default() -> Self {
        FakeOptions { respond_to_pings: true, send_challenge: true, max_message_size: Some(64 << 20) }
    }
}

/// A listening fake Gateway. Dropping it stops accepting (open [`FakeConn`]s live on).
#[derive(Debug)]
pub struct FakeGateway {
    addr: SocketAddr,
    conns: mpsc::UnboundedReceiver<FakeConn>,
    accepted: Arc<Mutex<Vec<Instant>>>,
    task: JoinHandle<()>,
}

impl FakeGateway {
    /// Starts a fake Gateway with [`FakeOptions::default`].
    pub async fn start() -> Result<FakeGateway, TestkitError> {
        Self::start_with(FakeOptions::default()).await
    }

    /// Starts a fake Gateway with `opts` on `127.0.0.1:0`.
    pub async fn start_with(opts: FakeOptions) -> Result<FakeGateway, TestkitError> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| TestkitError::io("fake gateway bind", e))?;
        let addr = listener.local_addr().map_err(|e| TestkitError::io("fake gateway local_addr", e))?;
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let (tx, conns) = mpsc::unbounded_channel();
        let task = tokio::spawn(accept_loop(listener, opts, accepted.clone(), tx));
        Ok(FakeGateway { addr, conns, accepted, task })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The listening port.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `ws://127.0.0.1:<port>`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// How many connections were accepted so far that sent something (including ones whose
    /// WebSocket upgrade failed); a reachability check (TCP connect and close, no byte) is
    /// not counted.
    pub fn accepted_count(&self) -> usize {
        self.accepted.lock().map(|v| v.len()).unwrap_or(0)
    }

    /// When each counted connection was accepted, in order.
    pub fn accepted_times(&self) -> Vec<Instant> {
        self.accepted.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// The next upgraded connection (challenge already sent when enabled).
    pub async fn next_conn(&mut self, timeout: Duration) -> Result<FakeConn, TestkitError> {
        match tokio::time::timeout(timeout, self.conns.recv()).await {
            Err(_) => Err(TestkitError::Timeout { what: "fake gateway: next connection".into(), timeout }),
            Ok(None) => Err(TestkitError::Closed("fake gateway stopped accepting".into())),
            Ok(Some(c)) => Ok(c),
        }
    }

    /// Stops accepting new connections (the port is closed).
    pub fn stop_accepting(&self) {
        self.task.abort();
    }
}

impl Drop for FakeGateway {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(
    listener: TcpListener,
    opts: FakeOptions,
    accepted: Arc<Mutex<Vec<Instant>>>,
    tx: mpsc::UnboundedSender<FakeConn>,
) {
    loop {
        let Ok((tcp, peer)) = listener.accept().await else {
            continue;
        };
        let opts = opts.clone();
        let tx = tx.clone();
        let accepted = accepted.clone();
        tokio::spawn(async move {
            let accepted_at = Instant::now();
            // Counted once its first byte arrives (stamped with the accept time): the node's
            // reachability checks connect and close without sending anything.
            let mut first = [0u8; 1];
            match tokio::time::timeout(Duration::from_secs(10), tcp.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {
                    if let Ok(mut v) = accepted.lock() {
                        let at = v.partition_point(|t| *t <= accepted_at);
                        v.insert(at, accepted_at);
                    }
                }
                Ok(_) => return,
                Err(_) => {}
            }
            let _ = tcp.set_nodelay(true);
            let cfg = WebSocketConfig::default()
                .max_message_size(opts.max_message_size)
                .max_frame_size(opts.max_message_size);
            let upgrade = tokio::time::timeout(
                Duration::from_secs(10),
                tokio_tungstenite::accept_async_with_config(tcp, Some(cfg)),
            )
            .await;
            let Ok(Ok(mut ws)) = upgrade else {
                return;
            };
            let challenge = if opts.send_challenge {
                let payload = json!({"nonce": random_uuid(), "ts": now_ms()});
                let frame = json!({"type": "event", "event": "connect.challenge", "payload": payload});
                if ws.send(Message::text(frame.to_string())).await.is_err() {
                    return;
                }
                Some(payload)
            } else {
                None
            };
            let conn = FakeConn::spawn(ws, peer, accepted_at, challenge, opts.respond_to_pings);
            let _ = tx.send(conn);
        });
    }
}

enum Cmd {
    Send(Message, oneshot::Sender<Result<(), String>>),
    Close(u16, String, oneshot::Sender<()>),
    DropTcp { reset: bool },
    Stall,
    Demand(i64),
}

#[derive(Default)]
struct ConnState {
    closed: Mutex<Option<String>>,
    pings: AtomicUsize,
}

/// One accepted connection of a [`FakeGateway`], scripted by the test.
///
/// Dropping it drops the socket (TCP FIN without a close frame).
#[derive(Debug)]
pub struct FakeConn {
    cmd: mpsc::UnboundedSender<Cmd>,
    incoming: mpsc::UnboundedReceiver<Message>,
    state: Arc<ConnState>,
    peer: SocketAddr,
    accepted_at: Instant,
    challenge: Option<Value>,
    respond_to_pings: bool,
}

impl std::fmt::Debug for ConnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnState").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cmd")
    }
}

impl FakeConn {
    fn spawn(
        ws: WebSocketStream<TcpStream>,
        peer: SocketAddr,
        accepted_at: Instant,
        challenge: Option<Value>,
        respond_to_pings: bool,
    ) -> FakeConn {
        let (cmd, cmd_rx) = mpsc::unbounded_channel();
        let (in_tx, incoming) = mpsc::unbounded_channel();
        let state = Arc::new(ConnState::default());
        tokio::spawn(pump(ws, cmd_rx, in_tx, state.clone(), respond_to_pings));
        FakeConn { cmd, incoming, state, peer, accepted_at, challenge, respond_to_pings }
    }

    /// The client's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// When the TCP connection was accepted.
    pub fn accepted_at(&self) -> Instant {
        self.accepted_at
    }

    /// The `connect.challenge` payload sent (`{nonce, ts}`), if enabled.
    pub fn challenge(&self) -> Option<&Value> {
        self.challenge.as_ref()
    }

    /// The challenge nonce, if a challenge was sent.
    pub fn nonce(&self) -> Option<&str> {
        self.challenge.as_ref()?.get("nonce")?.as_str()
    }

    /// How many WebSocket pings the pump has read from the client.
    pub fn pings_received(&self) -> usize {
        self.state.pings.load(Ordering::Relaxed)
    }

    /// Why the connection ended, once it has.
    pub fn closed_reason(&self) -> Option<String> {
        self.state.closed.lock().ok().and_then(|g| g.clone())
    }

    fn closed_err(&self) -> TestkitError {
        TestkitError::Closed(self.closed_reason().unwrap_or_else(|| "fake connection ended".into()))
    }

    /// The next message of any kind (text, binary, ping, pong, close), raw.
    pub async fn recv_message(&mut self, timeout: Duration) -> Result<Message, TestkitError> {
        if let Ok(m) = self.incoming.try_recv() {
            return Ok(m);
        }
        let pull = !self.respond_to_pings;
        if pull {
            let _ = self.cmd.send(Cmd::Demand(1));
        }
        let res = tokio::time::timeout(timeout, self.incoming.recv()).await;
        match res {
            Err(_) => {
                if pull {
                    let _ = self.cmd.send(Cmd::Demand(-1));
                }
                Err(TestkitError::Timeout { what: "fake conn: next message".into(), timeout })
            }
            Ok(None) => Err(self.closed_err()),
            Ok(Some(m)) => Ok(m),
        }
    }

    /// The next text (or binary) frame parsed as JSON, skipping pings/pongs. A close
    /// frame becomes [`TestkitError::Closed`] with its code and reason.
    pub async fn recv_frame(&mut self, timeout: Duration) -> Result<Value, TestkitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg = self.recv_message(left).await.map_err(|e| match e {
                TestkitError::Timeout { .. } => {
                    TestkitError::Timeout { what: "fake conn: next JSON frame".into(), timeout }
                }
                other => other,
            })?;
            let text = match msg {
                Message::Text(t) => t.to_string(),
                Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                Message::Close(f) => {
                    let (code, reason) =
                        f.map(|f| (u16::from(f.code), f.reason.to_string())).unwrap_or((1005, String::new()));
                    return Err(TestkitError::Closed(format!("client sent close {code} {reason:?}")));
                }
                _ => continue,
            };
            return serde_json::from_str(&text)
                .map_err(|e| TestkitError::Protocol(format!("non-JSON frame from client ({e}): {text:.200}")));
        }
    }

    /// The next request frame with `method` (other frames are skipped and dropped).
    pub async fn recv_request(&mut self, method: &str, timeout: Duration) -> Result<Value, TestkitError> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let f = self.recv_frame(left).await.map_err(|e| match e {
                TestkitError::Timeout { .. } => {
                    TestkitError::Timeout { what: format!("fake conn: request {method}"), timeout }
                }
                other => other,
            })?;
            if f["type"] == "req" && f["method"] == method {
                return Ok(f);
            }
        }
    }

    /// Sends a raw message (binary, non-JSON text, oversized, ping, …).
    pub async fn send_raw(&self, msg: Message) -> Result<(), TestkitError> {
        let (ack, rx) = oneshot::channel();
        self.cmd.send(Cmd::Send(msg, ack)).map_err(|_| self.closed_err())?;
        match tokio::time::timeout(Duration::from_secs(30), rx).await {
            Err(_) => Err(TestkitError::Timeout { what: "fake conn: send".into(), timeout: Duration::from_secs(30) }),
            Ok(Err(_)) => Err(self.closed_err()),
            Ok(Ok(Err(e))) => Err(TestkitError::Closed(format!("send failed: {e}"))),
            Ok(Ok(Ok(()))) => Ok(()),
        }
    }

    /// Sends `v` as one text frame.
    pub async fn send_json(&self, v: &Value) -> Result<(), TestkitError> {
        self.send_raw(Message::text(v.to_string())).await
    }

    /// Sends `{type:"res", id, ok:true, payload}`.
    pub async fn reply_ok(&self, id: &str, payload: Value) -> Result<(), TestkitError> {
        self.send_json(&json!({"type": "res", "id": id, "ok": true, "payload": payload})).await
    }

    /// Sends `{type:"res", id, ok:false, error}` (`error` is an `ErrorShape` object).
    pub async fn reply_err(&self, id: &str, error: Value) -> Result<(), TestkitError> {
        self.send_json(&json!({"type": "res", "id": id, "ok": false, "error": error})).await
    }

    /// Sends `{type:"event", event, payload, seq?}`.
    pub async fn send_event(&self, name: &str, payload: Value, seq: Option<u64>) -> Result<(), TestkitError> {
        let mut f = json!({"type": "event", "event": name, "payload": payload});
        if let Some(s) = seq {
            f["seq"] = json!(s);
        }
        self.send_json(&f).await
    }

    /// Answers the `connect` request `id` with [`hello_ok_payload`].
    pub async fn hello_ok(
        &self,
        id: &str,
        tick_interval_ms: u64,
        max_payload: u64,
        device_token: Option<&str>,
    ) -> Result<(), TestkitError> {
        self.reply_ok(id, hello_ok_payload(tick_interval_ms, max_payload, device_token)).await
    }

    /// Waits for the client's `connect` request and answers it with
    /// [`hello_ok_payload`] (tick 30 s, max payload 25 MiB, no device token).
    /// Returns the `connect` request frame.
    pub async fn accept_connect(&mut self, timeout: Duration) -> Result<Value, TestkitError> {
        let req = self.recv_request("connect", timeout).await?;
        let id = req["id"].as_str().unwrap_or_default().to_string();
        self.hello_ok(&id, 30_000, 26_214_400, None).await?;
        Ok(req)
    }

    /// Sends a close frame with `code`/`reason` and waits (at most 5 s) for the
    /// client's close reply; then the socket is dropped.
    pub async fn close(&self, code: u16, reason: &str) -> Result<(), TestkitError> {
        let (ack, rx) = oneshot::channel();
        self.cmd.send(Cmd::Close(code, reason.to_string(), ack)).map_err(|_| self.closed_err())?;
        let _ = tokio::time::timeout(Duration::from_secs(10), rx).await;
        Ok(())
    }

    /// Drops the TCP connection abruptly: no close frame, plain FIN.
    pub fn drop_tcp(&self) {
        let _ = self.cmd.send(Cmd::DropTcp { reset: false });
    }

    /// Drops the TCP connection with an RST (`SO_LINGER` 0), no close frame.
    pub fn reset_tcp(&self) {
        let _ = self.cmd.send(Cmd::DropTcp { reset: true });
    }

    /// Stops polling the socket for good: no more reads, so no pongs and no frames
    /// delivered; the socket stays open until this `FakeConn` is dropped.
    pub fn stall(&self) {
        let _ = self.cmd.send(Cmd::Stall);
    }
}

/// A minimal, schema-faithful `hello-ok` payload (protocol.md §2.6) for role `node`.
pub fn hello_ok_payload(tick_interval_ms: u64, max_payload: u64, device_token: Option<&str>) -> Value {
    let mut auth = json!({"role": "node", "scopes": [], "method": "token"});
    if let Some(t) = device_token {
        auth["deviceToken"] = json!(t);
        auth["issuedAtMs"] = json!(now_ms());
    }
    json!({
        "type": "hello-ok",
        "protocol": 4,
        "server": {"version": "2026.9.6", "connId": random_uuid()},
        "features": {"methods": [], "events": []},
        "snapshot": {},
        "auth": auth,
        "policy": {
            "maxPayload": max_payload,
            "maxBufferedBytes": 52_428_800u64,
            "tickIntervalMs": tick_interval_ms,
        },
    })
}

/// A fresh opaque device token (44 lowercase hex characters).
pub fn fake_device_token() -> String {
    random_hex(22)
}

async fn pump(
    mut ws: WebSocketStream<TcpStream>,
    mut cmds: mpsc::UnboundedReceiver<Cmd>,
    incoming: mpsc::UnboundedSender<Message>,
    state: Arc<ConnState>,
    respond_to_pings: bool,
) {
    let mut demand: i64 = 0;
    let mut stalled = false;
    let reason = loop {
        let reading = !stalled && (respond_to_pings || demand > 0);
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                None => break "FakeConn dropped".to_string(),
                Some(Cmd::Send(m, ack)) => {
                    let r = ws.send(m).await.map_err(|e| e.to_string());
                    let failed = r.as_ref().err().cloned();
                    let _ = ack.send(r);
                    if let Some(e) = failed {
                        break format!("send failed: {e}");
                    }
                }
                Some(Cmd::Close(code, reason, ack)) => {
                    let frame = CloseFrame { code: code.into(), reason: reason.clone().into() };
                    let _ = ws.send(Message::Close(Some(frame))).await;
                    let deadline = Instant::now() + Duration::from_secs(5);
                    while let Ok(Some(Ok(m))) = tokio::time::timeout_at(deadline, ws.next()).await {
                        let _ = incoming.send(m);
                    }
                    let _ = ack.send(());
                    break format!("closed by fake: {code} {reason:?}");
                }
                Some(Cmd::DropTcp { reset }) => {
                    if reset {
                        let _ = ws.get_ref().set_zero_linger();
                    }
                    break format!("dropped by fake (reset: {reset})");
                }
                Some(Cmd::Stall) => stalled = true,
                Some(Cmd::Demand(n)) => demand = (demand + n).max(0),
            },
            msg = ws.next(), if reading => match msg {
                Some(Ok(m)) => {
                    match &m {
                        Message::Ping(_) => { state.pings.fetch_add(1, Ordering::Relaxed); }
                        Message::Pong(_) | Message::Frame(_) => {}
                        _ => demand = (demand - 1).max(0),
                    }
                    let _ = incoming.send(m);
                }
                Some(Err(e)) => break format!("read error: {e}"),
                None => break "client closed the connection".to_string(),
            },
        }
    };
    if let Ok(mut g) = state.closed.lock() {
        *g = Some(reason);
    }
    drop(ws);
}
