//! An operator-role WebSocket client for driving the real Gateway in tests.
//!
//! It connects exactly like the harness in protocol.md §5.1 (`client.id:"cli"`, mode
//! `cli`, protocol 4..4, role `operator`, the five operator scopes, `auth.token`, no
//! device identity). A background task owns the socket: it keeps reading (so
//! tungstenite answers the Gateway's pings), correlates responses to requests by id
//! (out of order is fine), and appends every event frame to a log that tests can search
//! ([`Operator::wait_event`]) or consume ([`Operator::next_event`]).
//!
//! Every call has a timeout. RPC failures come back as [`OperatorError::Rpc`] holding
//! the Gateway's full [`ErrorShape`], so tests can assert exact codes and messages.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::error::TestkitError;
use crate::util::random_hex;

/// Default per-request timeout.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// How long [`Operator::connect`] waits for `connect.challenge`.
pub const CHALLENGE_TIMEOUT: Duration = Duration::from_secs(15);
/// The five operator scopes requested by [`default_connect_params`].
pub const OPERATOR_SCOPES: [&str; 5] =
    ["operator.admin", "operator.read", "operator.write", "operator.pairing", "operator.approvals"];
const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The Gateway's `ErrorShape` (protocol.md §1.2), as received.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorShape {
    /// Top-level `error.code` (e.g. `NOT_PAIRED`, `INVALID_REQUEST`, `UNAVAILABLE`).
    pub code: String,
    /// `error.message` (human text).
    pub message: String,
    /// `error.details`, if any.
    pub details: Option<Value>,
    /// `error.retryable`, if present.
    pub retryable: Option<bool>,
    /// `error.retryAfterMs`, if present.
    pub retry_after_ms: Option<u64>,
    /// The whole `error` object as received.
    pub raw: Value,
}

impl ErrorShape {
    /// Parses an `error` object (missing fields become empty strings).
    pub fn from_value(v: &Value) -> Self {
        ErrorShape {
            code: v["code"].as_str().unwrap_or_default().to_string(),
            message: v["message"].as_str().unwrap_or_default().to_string(),
            details: v.get("details").cloned(),
            retryable: v.get("retryable").and_then(Value::as_bool),
            retry_after_ms: v.get("retryAfterMs").and_then(Value::as_u64),
            raw: v.clone(),
        }
    }

    /// `details.code`, if present (e.g. `PAIRING_REQUIRED`, `PAIRING_CHANGED`).
    pub fn details_code(&self) -> Option<&str> {
        self.details.as_ref()?.get("code")?.as_str()
    }
}

impl fmt::Display for ErrorShape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)?;
        if let Some(d) = &self.details {
            write!(f, " (details: {d})")?;
        }
        Ok(())
    }
}

/// Why an operator call failed.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// The Gateway answered `ok:false`.
    #[error("{method} failed: {error}")]
    Rpc {
        /// The method called.
        method: String,
        /// The Gateway's error.
        error: Box<ErrorShape>,
    },
    /// No response (or awaited condition) within the timeout.
    #[error("{method}: nothing within {timeout:?}")]
    Timeout {
        /// The method or wait.
        method: String,
        /// The budget.
        timeout: Duration,
    },
    /// The connection closed before a response arrived.
    #[error("{method}: connection closed ({reason})")]
    Closed {
        /// The method or wait.
        method: String,
        /// Close code/reason or transport error.
        reason: String,
    },
    /// Connecting failed before the `connect` RPC (TCP, WebSocket upgrade, challenge).
    #[error("connect: {0}")]
    Connect(String),
    /// The Gateway sent something unexpected (e.g. a response without `payload` shape).
    #[error("{method}: unexpected response: {detail}")]
    Unexpected {
        /// The method called.
        method: String,
        /// What was wrong.
        detail: String,
    },
}

impl OperatorError {
    /// The Gateway's error, when this is an [`OperatorError::Rpc`].
    pub fn shape(&self) -> Option<&ErrorShape> {
        match self {
            OperatorError::Rpc { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Top-level `error.code`, when this is an [`OperatorError::Rpc`].
    pub fn code(&self) -> Option<&str> {
        self.shape().map(|s| s.code.as_str())
    }

    /// `error.details.code`, when present.
    pub fn details_code(&self) -> Option<&str> {
        self.shape().and_then(ErrorShape::details_code)
    }
}

#[derive(Default)]
struct EventLog {
    events: Vec<Value>,
    consumed: Vec<bool>,
}

struct Shared {
    pending: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    log: Mutex<EventLog>,
    closed: Mutex<Option<String>>,
    close_frame: Mutex<Option<(u16, String)>>,
    notify: watch::Sender<u64>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    fn bump(&self) {
        self.notify.send_modify(|n| *n = n.wrapping_add(1));
    }

    fn closed_reason(&self) -> Option<String> {
        lock(&self.closed).clone()
    }
}

/// The `connect` params of protocol.md §5.1 for a shared-token operator.
pub fn default_connect_params(token: &str) -> Value {
    json!({
        "minProtocol": 4,
        "maxProtocol": 4,
        "client": {"id": "cli", "version": "0.1", "platform": "linux", "mode": "cli"},
        "role": "operator",
        "scopes": OPERATOR_SCOPES,
        "auth": {"token": token},
    })
}

/// An operator connection. Dropping it closes the socket (close code 1000).
pub struct Operator {
    shared: Arc<Shared>,
    out: mpsc::UnboundedSender<Message>,
    hello: Value,
    next_id: AtomicU64,
    request_timeout: Duration,
}

impl fmt::Debug for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Operator").field("closed", &self.shared.closed_reason()).finish_non_exhaustive()
    }
}

impl Operator {
    /// Connects to `url` (`ws://` or `wss://host:port[/path]`; over TLS any certificate is
    /// accepted: a test harness only) with the shared `token` using
    /// [`default_connect_params`]; waits for `connect.challenge`, sends `connect`, and
    /// returns once `hello-ok` arrived.
    pub async fn connect(url: &str, token: &str) -> Result<Operator, TestkitError> {
        Self::connect_with_params(url, default_connect_params(token)).await
    }

    /// Like [`Operator::connect`] but with arbitrary `connect` params (e.g. fewer
    /// scopes). A rejected `connect` is [`TestkitError::Operator`] with
    /// [`OperatorError::Rpc`].
    pub async fn connect_with_params(url: &str, params: Value) -> Result<Operator, TestkitError> {
        let op = Self::open(url).await?;
        op.wait_event(|e| e["event"] == "connect.challenge", CHALLENGE_TIMEOUT).await?;
        let hello = op.request("connect", params).await?;
        Ok(Operator { hello, ..op })
    }

    /// Opens the WebSocket and starts the reader task, without the handshake.
    async fn open(url: &str) -> Result<Operator, TestkitError> {
        let parsed = url::Url::parse(url).map_err(|e| OperatorError::Connect(format!("bad url {url}: {e}")))?;
        let tls = match parsed.scheme() {
            "ws" => false,
            "wss" => true,
            _ => return Err(OperatorError::Connect(format!("only ws:// and wss:// are supported, got {url}")).into()),
        };
        let host = parsed
            .host_str()
            .ok_or_else(|| OperatorError::Connect(format!("no host in {url}")))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let tcp = tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect((host.as_str(), port)))
            .await
            .map_err(|_| OperatorError::Connect(format!("TCP connect to {host}:{port} timed out")))?
            .map_err(|e| OperatorError::Connect(format!("TCP connect to {host}:{port}: {e}")))?;
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn IoStream> = if tls {
            Box::new(crate::tls::connect_any_cert(tcp, &host).await.map_err(OperatorError::Connect)?)
        } else {
            Box::new(tcp)
        };
        let (ws, _resp) = tokio::time::timeout(
            Duration::from_secs(10),
            tokio_tungstenite::client_async_with_config(url, stream, Some(operator_ws_config())),
        )
        .await
        .map_err(|_| OperatorError::Connect("WebSocket upgrade timed out".into()))?
        .map_err(|e| OperatorError::Connect(format!("WebSocket upgrade: {e}")))?;

        let (notify, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            log: Mutex::new(EventLog::default()),
            closed: Mutex::new(None),
            close_frame: Mutex::new(None),
            notify,
        });
        let (out, out_rx) = mpsc::unbounded_channel();
        tokio::spawn(reader_task(ws, out_rx, shared.clone()));
        Ok(Operator {
            shared,
            out,
            hello: Value::Null,
            next_id: AtomicU64::new(1),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        })
    }

    /// The `hello-ok` payload received for `connect`.
    pub fn hello(&self) -> &Value {
        &self.hello
    }

    /// Changes the default per-request timeout (30 s).
    pub fn set_request_timeout(&mut self, timeout: Duration) {
        self.request_timeout = timeout;
    }

    /// Whether the connection is closed (and why).
    pub fn closed(&self) -> Option<String> {
        self.shared.closed_reason()
    }

    /// The close frame received from the Gateway (code, reason), if any.
    pub fn close_frame(&self) -> Option<(u16, String)> {
        lock(&self.shared.close_frame).clone()
    }

    /// Waits until the connection is closed (returns the reason).
    pub async fn wait_closed(&self, timeout: Duration) -> Result<String, OperatorError> {
        let mut rx = self.shared.notify.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            if let Some(r) = self.shared.closed_reason() {
                return Ok(r);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Err(_) => {
                    return Err(OperatorError::Timeout { method: "wait_closed".into(), timeout });
                }
                Ok(Err(_)) => return Ok("reader stopped".into()),
                Ok(Ok(())) => {}
            }
        }
    }

    /// Sends a raw frame (any JSON) without waiting for anything.
    pub fn send_frame(&self, frame: &Value) -> Result<(), OperatorError> {
        self.out.send(Message::text(frame.to_string())).map_err(|_| OperatorError::Closed {
            method: "send_frame".into(),
            reason: self.shared.closed_reason().unwrap_or_default(),
        })
    }

    /// Calls `method` with `params` and the default timeout; returns the `payload`
    /// (`Value::Null` if absent).
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, OperatorError> {
        self.request_with_timeout(method, params, self.request_timeout).await
    }

    /// Calls `method` with `params`, waiting at most `timeout` for the response.
    pub async fn request_with_timeout(
        &self,
        method: &str,
        params: Value,
        timeout: Duration,
    ) -> Result<Value, OperatorError> {
        let id = format!("{}:{}", self.next_id.fetch_add(1, Ordering::Relaxed), random_hex(8));
        let (tx, rx) = oneshot::channel();
        lock(&self.shared.pending).insert(id.clone(), tx);
        let frame = json!({"type": "req", "id": id, "method": method, "params": params});
        if self.out.send(Message::text(frame.to_string())).is_err() {
            lock(&self.shared.pending).remove(&id);
            return Err(OperatorError::Closed {
                method: method.into(),
                reason: self.shared.closed_reason().unwrap_or_default(),
            });
        }
        let res = match tokio::time::timeout(timeout, rx).await {
            Err(_) => {
                lock(&self.shared.pending).remove(&id);
                return Err(OperatorError::Timeout { method: method.into(), timeout });
            }
            Ok(Err(_)) => {
                return Err(OperatorError::Closed {
                    method: method.into(),
                    reason: self.shared.closed_reason().unwrap_or_default(),
                });
            }
            Ok(Ok(res)) => res,
        };
        match res["ok"].as_bool() {
            Some(true) => Ok(res.get("payload").cloned().unwrap_or(Value::Null)),
            Some(false) => Err(OperatorError::Rpc {
                method: method.into(),
                error: Box::new(ErrorShape::from_value(&res["error"])),
            }),
            None => Err(OperatorError::Unexpected {
                method: method.into(),
                detail: format!("response without boolean ok: {res}"),
            }),
        }
    }

    /// All event frames received so far (whole frames: `{type, event, payload, seq?}`).
    pub fn events(&self) -> Vec<Value> {
        lock(&self.shared.log).events.clone()
    }

    /// How many events were received so far (use as a mark for
    /// [`Operator::wait_event_since`]).
    pub fn event_count(&self) -> usize {
        lock(&self.shared.log).events.len()
    }

    /// Returns the first event frame in the *whole* history (including events received
    /// before this call) matching `pred`, waiting up to `timeout`. Does not consume.
    pub async fn wait_event<F>(&self, pred: F, timeout: Duration) -> Result<Value, OperatorError>
    where
        F: Fn(&Value) -> bool,
    {
        self.wait_event_since(0, pred, timeout).await
    }

    /// Like [`Operator::wait_event`] but only considers events with index ≥ `since`
    /// (see [`Operator::event_count`]).
    pub async fn wait_event_since<F>(&self, since: usize, pred: F, timeout: Duration) -> Result<Value, OperatorError>
    where
        F: Fn(&Value) -> bool,
    {
        self.wait_in_log(|log| log.events.iter().skip(since).find(|e| pred(e)).cloned(), "wait_event", timeout).await
    }

    /// Takes the oldest not-yet-taken event named `name` (waiting up to `timeout`).
    /// Each event is returned by `next_event` at most once; [`Operator::wait_event`]
    /// and [`Operator::events`] still see it.
    pub async fn next_event(&self, name: &str, timeout: Duration) -> Result<Value, OperatorError> {
        self.wait_in_log(
            |log| {
                let idx = log.events.iter().enumerate().position(|(i, e)| !log.consumed[i] && e["event"] == name)?;
                log.consumed[idx] = true;
                Some(log.events[idx].clone())
            },
            &format!("event {name}"),
            timeout,
        )
        .await
    }

    async fn wait_in_log<F>(&self, mut check: F, what: &str, timeout: Duration) -> Result<Value, OperatorError>
    where
        F: FnMut(&mut EventLog) -> Option<Value>,
    {
        let mut rx = self.shared.notify.subscribe();
        let deadline = Instant::now() + timeout;
        loop {
            rx.borrow_and_update();
            if let Some(v) = check(&mut lock(&self.shared.log)) {
                return Ok(v);
            }
            if let Some(reason) = self.shared.closed_reason() {
                return Err(OperatorError::Closed { method: what.into(), reason });
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Err(_) => {
                    return Err(OperatorError::Timeout { method: what.into(), timeout });
                }
                Ok(Err(_)) => {
                    return Err(OperatorError::Closed { method: what.into(), reason: "reader stopped".into() });
                }
                Ok(Ok(())) => {}
            }
        }
    }

    /// `device.pair.list` → `{pending:[…], paired:[…]}`.
    pub async fn device_pair_list(&self) -> Result<Value, OperatorError> {
        self.request("device.pair.list", json!({})).await
    }

    /// `device.pair.approve {requestId}`.
    pub async fn device_pair_approve(&self, request_id: &str) -> Result<Value, OperatorError> {
        self.request("device.pair.approve", json!({"requestId": request_id})).await
    }

    /// `node.pair.list` → `{pending:[…], paired:[…]}`.
    pub async fn node_pair_list(&self) -> Result<Value, OperatorError> {
        self.request("node.pair.list", json!({})).await
    }

    /// `node.pair.approve {requestId}`.
    pub async fn node_pair_approve(&self, request_id: &str) -> Result<Value, OperatorError> {
        self.request("node.pair.approve", json!({"requestId": request_id})).await
    }

    /// `node.list` → `{ts, nodes:[NodeEntry], …}`.
    pub async fn node_list(&self) -> Result<Value, OperatorError> {
        self.request("node.list", json!({})).await
    }

    /// `node.describe {nodeId}`.
    pub async fn node_describe(&self, node_id: &str) -> Result<Value, OperatorError> {
        self.request("node.describe", json!({"nodeId": node_id})).await
    }

    /// `node.invoke {nodeId, command, params, timeoutMs, idempotencyKey}` with a fresh
    /// idempotency key. The RPC itself waits `timeout_ms` + 10 s.
    pub async fn node_invoke(
        &self,
        node_id: &str,
        command: &str,
        params: Value,
        timeout_ms: u64,
    ) -> Result<Value, OperatorError> {
        let params = json!({
            "nodeId": node_id,
            "command": command,
            "params": params,
            "timeoutMs": timeout_ms,
            "idempotencyKey": format!("testkit-{}", random_hex(16)),
        });
        self.request_with_timeout("node.invoke", params, Duration::from_millis(timeout_ms) + Duration::from_secs(10))
            .await
    }

    /// Polls `device.pair.list` until a pending request exists; returns the first one.
    pub async fn wait_for_pending_device(&self, timeout: Duration) -> Result<Value, OperatorError> {
        self.poll("device.pair.list", |r| r["pending"].as_array().and_then(|a| a.first().cloned()), timeout).await
    }

    /// Approves the next pending command surface (`node.pair.list` → `node.pair.approve`)
    /// and returns the node id it belongs to.
    pub async fn approve_next_surface(&self, timeout: Duration) -> Result<String, OperatorError> {
        self.approve_surface_declaring(&[], timeout).await
    }

    /// Like [`Operator::approve_next_surface`], after checking that the surface declares
    /// every command of `commands` (panics with the declared list otherwise).
    pub async fn approve_surface_declaring(
        &self,
        commands: &[&str],
        timeout: Duration,
    ) -> Result<String, OperatorError> {
        let surface = self.wait_for_pending_node(timeout).await?;
        let node_id = surface["nodeId"].as_str().unwrap_or_default().to_string();
        let declared: Vec<&str> =
            surface["commands"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
        for c in commands {
            assert!(declared.contains(c), "{c} not declared: {declared:?}");
        }
        self.node_pair_approve(surface["requestId"].as_str().unwrap_or_default()).await?;
        Ok(node_id)
    }

    /// Sets the node's exec approvals (through the Gateway) to `defaults` with
    /// `security: full, ask: off`: every `system.run` allowed, the node's own checks aside.
    pub async fn allow_all_exec(&self, node_id: &str) -> Result<Value, OperatorError> {
        let current = self.request("exec.approvals.node.get", json!({"nodeId": node_id})).await?;
        let file = json!({"version": 1, "defaults": {"security": "full", "ask": "off"}});
        self.request("exec.approvals.node.set", json!({"nodeId": node_id, "file": file, "baseHash": current["hash"]}))
            .await
    }

    /// Polls `node.pair.list` until a pending request exists; returns the first one.
    pub async fn wait_for_pending_node(&self, timeout: Duration) -> Result<Value, OperatorError> {
        self.poll("node.pair.list", |r| r["pending"].as_array().and_then(|a| a.first().cloned()), timeout).await
    }

    /// Polls `node.list` until the node `node_id` shows `connected:true`; returns its
    /// `NodeEntry`.
    pub async fn wait_for_node_connected(&self, node_id: &str, timeout: Duration) -> Result<Value, OperatorError> {
        self.poll(
            "node.list",
            |r| r["nodes"].as_array()?.iter().find(|n| n["nodeId"] == node_id && n["connected"] == true).cloned(),
            timeout,
        )
        .await
    }

    /// Calls `method {}` every 250 ms until `extract` returns something (bounded).
    pub async fn poll<F>(&self, method: &str, extract: F, timeout: Duration) -> Result<Value, OperatorError>
    where
        F: Fn(&Value) -> Option<Value>,
    {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let res = self.request_with_timeout(method, json!({}), left.max(Duration::from_millis(100))).await;
            match res {
                Ok(v) => {
                    if let Some(found) = extract(&v) {
                        return Ok(found);
                    }
                }
                Err(OperatorError::Timeout { .. }) => {}
                Err(e) => return Err(e),
            }
            if Instant::now() + POLL_INTERVAL >= deadline {
                return Err(OperatorError::Timeout { method: format!("poll {method}"), timeout });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Sends a close frame (1000) and waits (bounded, 5 s) for the socket to close.
    pub async fn close(self) {
        let _ = self.out.send(Message::Close(Some(CloseFrame { code: 1000.into(), reason: "".into() })));
        let _ = self.wait_closed(Duration::from_secs(5)).await;
    }
}

/// A byte stream the operator's WebSocket runs on (TCP or TLS over TCP).
trait IoStream: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> IoStream for T {}

type Ws = tokio_tungstenite::WebSocketStream<Box<dyn IoStream>>;

async fn reader_task(mut ws: Ws, mut out: mpsc::UnboundedReceiver<Message>, shared: Arc<Shared>) {
    let reason = loop {
        tokio::select! {
            msg = out.recv() => match msg {
                Some(m) => {
                    if let Err(e) = ws.send(m).await {
                        break format!("send failed: {e}");
                    }
                }
                None => {
                    // The Operator was dropped: close politely (bounded).
                    let _ = tokio::time::timeout(Duration::from_secs(2), ws.close(None)).await;
                    break "operator dropped".to_string();
                }
            },
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(t))) => dispatch(&shared, t.as_str()),
                Some(Ok(Message::Binary(b))) => dispatch(&shared, &String::from_utf8_lossy(&b)),
                Some(Ok(Message::Close(frame))) => {
                    let (code, reason) = frame
                        .map(|f| (u16::from(f.code), f.reason.to_string()))
                        .unwrap_or((1005, String::new()));
                    *lock(&shared.close_frame) = Some((code, reason));
                    // Keep polling so tungstenite completes the close handshake.
                }
                Some(Ok(_)) => {} // ping/pong: tungstenite answers pings itself
                Some(Err(e)) => break format!("read error: {e}"),
                None => {
                    break match lock(&shared.close_frame).clone() {
                        Some((code, reason)) => format!("closed by peer: {code} {reason:?}"),
                        None => "closed by peer without close frame".to_string(),
                    };
                }
            },
        }
    };
    *lock(&shared.closed) = Some(reason);
    lock(&shared.pending).clear();
    shared.bump();
}

fn dispatch(shared: &Shared, text: &str) {
    let Ok(frame) = serde_json::from_str::<Value>(text) else {
        tracing::warn!("operator: non-JSON frame ignored: {text:.200}");
        return;
    };
    match frame["type"].as_str() {
        Some("res") => {
            let id = frame["id"].as_str().unwrap_or_default().to_string();
            if let Some(tx) = lock(&shared.pending).remove(&id) {
                let _ = tx.send(frame);
            }
        }
        Some("event") => {
            {
                let mut log = lock(&shared.log);
                log.events.push(frame);
                log.consumed.push(false);
            }
            shared.bump();
        }
        _ => tracing::warn!("operator: unexpected frame ignored: {text:.200}"),
    }
}

/// The operator accepts large responses: a `node.invoke` result carries the payload twice
/// (`payload` and `payloadJSON`), so a 25 MiB node result is ~50 MiB here.
fn operator_ws_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(128 << 20))
        .max_frame_size(Some(128 << 20))
}

/// How long a node took to answer again (see [`first_answer`]).
#[derive(Debug, Clone, Copy)]
pub struct Answered {
    /// From the call until the node's answer arrived.
    pub total: Duration,
    /// From the call until the operator's own connection was up.
    pub operator_connected: Duration,
}

/// From now until the node `node_id` answers `command` with `params` to a freshly connected
/// operator at `url`: connects (again) until the Gateway accepts, then invokes every 10 ms
/// (2 s timeout each) until an answer whose payload `expect` accepts arrives.
pub async fn first_answer(
    url: &str,
    token: &str,
    node_id: &str,
    (command, params): (&str, Value),
    expect: impl Fn(&Value) -> bool,
    timeout: Duration,
) -> Result<Answered, TestkitError> {
    let t0 = std::time::Instant::now();
    while t0.elapsed() < timeout {
        if let Ok(op) = Operator::connect(url, token).await {
            let operator_connected = t0.elapsed();
            while t0.elapsed() < timeout && op.closed().is_none() {
                match op.node_invoke(node_id, command, params.clone(), 2_000).await {
                    Ok(r) if expect(&r["payload"]) => {
                        op.close().await;
                        return Ok(Answered { total: t0.elapsed(), operator_connected });
                    }
                    _ => tokio::time::sleep(Duration::from_millis(10)).await,
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Err(TestkitError::Timeout { what: format!("an answer of {node_id} to {command}"), timeout })
}
