//! [`Wire`]: the fake Gateway's side of one node session, for tests that script a
//! [`FakeConn`](crate::FakeConn) frame by frame.
//!
//! A `Wire` reads what the node sent (skipping pings, counting pongs), keeps a log of every
//! JSON frame, answers requests the way the real Gateway does ([`Wire::auto_ack`]), sends
//! `node.invoke.request` events and collects `node.invoke.result`s. Every read is bounded;
//! what the node did instead of the expected frame is returned as a [`Got`] or reported in
//! the panic message.
//!
//! ```no_run
//! # async fn demo(fake: &mut clawnode_testkit::FakeGateway, node_id: &str) {
//! use clawnode_testkit::wire::{STEP, Wire};
//! use serde_json::json;
//! let (mut wire, _connect) = Wire::accept(fake, node_id, 30_000, 26_214_400, None).await;
//! let probe = wire.expect("node.event", STEP).await; // the readiness probe
//! wire.auto_ack(&probe).await;
//! wire.invoke("i-1", "test.echo", json!({"x": 1}), 5_000).await;
//! assert_eq!(wire.result().await["ok"], true);
//! # }
//! ```

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::error::TestkitError;
use crate::fake::{FakeConn, FakeGateway};

/// Bound for one expected frame, connection or state change. Generous on purpose: only a
/// failing test waits this long, and a loaded 2-core CI must not trip it.
pub const STEP: Duration = Duration::from_secs(10);

/// What the node did next on a connection.
#[derive(Debug)]
pub enum Got {
    /// A JSON text (or binary) frame.
    Frame(Value),
    /// A close frame: code (none for an empty close frame) and reason.
    Close(Option<u16>, String),
    /// The connection ended without a close frame (or the pump stopped).
    Ended(String),
    /// Nothing within the wait.
    Timeout,
}

/// One fake connection plus a log of every frame the node sent on it.
pub struct Wire {
    /// The connection (send events, replies, closes; TCP faults).
    pub conn: FakeConn,
    /// The node id put into the invokes this wire sends.
    pub node_id: String,
    /// Every JSON frame the node sent, in order.
    pub log: Vec<Value>,
    /// Pongs the node sent (answers to the fake's pings).
    pub pongs: usize,
}

impl Wire {
    /// Wraps `conn`; invokes sent through it address `node_id`.
    pub fn new(conn: FakeConn, node_id: &str) -> Wire {
        Wire { conn, node_id: node_id.to_string(), log: Vec::new(), pongs: 0 }
    }

    /// Accepts the next connection (within [`STEP`]), reads the node's `connect` and answers
    /// hello-ok with `tick_ms`, `max_payload` and optionally a new device token. Returns the
    /// wire and the `connect` request. Panics when any of that does not happen.
    pub async fn accept(
        fake: &mut FakeGateway,
        node_id: &str,
        tick_ms: u64,
        max_payload: u64,
        device_token: Option<&str>,
    ) -> (Wire, Value) {
        let (wire, connect) = Wire::next_connect(fake, node_id).await;
        wire.conn.hello_ok(request_id(&connect), tick_ms, max_payload, device_token).await.expect("send hello-ok");
        (wire, connect)
    }

    /// Accepts the next connection (within [`STEP`]) and reads the node's `connect` request,
    /// leaving it unanswered (for [`Wire::reject`], or a hand-written hello).
    pub async fn next_connect(fake: &mut FakeGateway, node_id: &str) -> (Wire, Value) {
        let conn = fake.next_conn(STEP).await.expect("the node connects");
        let mut wire = Wire::new(conn, node_id);
        let connect = wire.expect("connect", STEP).await;
        (wire, connect)
    }

    /// Rejects `connect` with the error shape `error`, then closes with `code`/`reason` like
    /// the Gateway — in the background, so the test can keep timing the node.
    pub async fn reject(self, connect: &Value, error: Value, code: u16, reason: &str) {
        self.conn.reply_err(request_id(connect), error).await.expect("send the connect error");
        let reason = reason.to_string();
        tokio::spawn(async move {
            let _ = self.conn.close(code, &reason).await;
        });
    }

    /// The next JSON frame or close. Pings are skipped, pongs counted. Panics on a frame that
    /// is not UTF-8 JSON (the node never sends one).
    pub async fn next(&mut self, timeout: Duration) -> Got {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let text = match self.conn.recv_message(left).await {
                Err(TestkitError::Timeout { .. }) => return Got::Timeout,
                Err(e) => return Got::Ended(e.to_string()),
                Ok(Message::Text(t)) => t.to_string(),
                Ok(Message::Binary(b)) => String::from_utf8(b.to_vec()).expect("node sent non-UTF-8 binary"),
                Ok(Message::Close(f)) => {
                    return match f {
                        Some(f) => Got::Close(Some(u16::from(f.code)), f.reason.to_string()),
                        None => Got::Close(None, String::new()),
                    };
                }
                Ok(Message::Pong(_)) => {
                    self.pongs += 1;
                    continue;
                }
                Ok(_) => continue,
            };
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("node sent non-JSON ({e}): {text}"));
            self.log.push(v.clone());
            return Got::Frame(v);
        }
    }

    /// The next frame, which must be a request with exactly the keys `type`, `id`, `method`,
    /// `params`; `what` names it in the panic message otherwise.
    pub async fn req(&mut self, timeout: Duration, what: &str) -> Value {
        match self.next(timeout).await {
            Got::Frame(v) => {
                assert_eq!(v["type"], "req", "the node only sends requests: {v}");
                let keys: BTreeSet<&str> =
                    v.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
                assert_eq!(keys, BTreeSet::from(["type", "id", "method", "params"]), "request frame shape: {v}");
                v
            }
            other => panic!("waiting for {what}: {other:?}"),
        }
    }

    /// The next request with `method`; other requests are acked on the way
    /// ([`Wire::auto_ack`]).
    pub async fn expect(&mut self, method: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.req(left, method).await;
            if v["method"] == method {
                return v;
            }
            self.auto_ack(&v).await;
        }
    }

    /// Answers request `req` with `ok: true` and `payload`.
    pub async fn ack(&self, req: &Value, payload: Value) {
        self.conn.reply_ok(request_id(req), payload).await.expect("fake reply");
    }

    /// Answers a request the way the real Gateway does: `node.event` with
    /// `{ok, event, handled, reason}`, `node.invoke.progress` with `{ok, ignored:false}`,
    /// anything else with `{ok:true}`.
    pub async fn auto_ack(&self, req: &Value) {
        let payload = match req["method"].as_str() {
            Some("node.event") => {
                json!({"ok": true, "event": req["params"]["event"], "handled": true, "reason": "updated"})
            }
            Some("node.invoke.progress") => json!({"ok": true, "ignored": false}),
            _ => json!({"ok": true}),
        };
        self.ack(req, payload).await;
    }

    /// Reads for `dur`, acking every request, and returns what came; the socket must stay
    /// open (panics on a close or end).
    pub async fn drain(&mut self, dur: Duration) -> Vec<Value> {
        let deadline = Instant::now() + dur;
        let mut out = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return out;
            }
            match self.next(left).await {
                Got::Frame(v) => {
                    self.auto_ack(&v).await;
                    out.push(v);
                }
                Got::Timeout => return out,
                other => panic!("the socket must stay open, got {other:?}"),
            }
        }
    }

    /// Collects the params of `n` `node.invoke.result` requests within `timeout`, acking
    /// everything; panics when fewer come.
    pub async fn results(&mut self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        let mut out = Vec::new();
        while out.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Got::Frame(v) => {
                    self.auto_ack(&v).await;
                    if v["method"] == "node.invoke.result" {
                        out.push(v["params"].clone());
                    }
                }
                other => panic!("waiting for {n} results ({} so far): {other:?}", out.len()),
            }
        }
        out
    }

    /// The next `node.invoke.result` params (acked), within [`STEP`].
    pub async fn result(&mut self) -> Value {
        self.results(1, STEP).await.remove(0)
    }

    /// Sends `node.invoke.request` for `command` with `paramsJSON` (JSON `null` for
    /// `Value::Null`), `timeoutMs` and `idempotencyKey: "k-<id>"`.
    pub async fn invoke(&self, id: &str, command: &str, params: Value, timeout_ms: u64) {
        let params_json = if params.is_null() { Value::Null } else { Value::String(params.to_string()) };
        self.invoke_raw(json!({"id": id, "nodeId": self.node_id, "command": command,
            "paramsJSON": params_json, "timeoutMs": timeout_ms, "idempotencyKey": format!("k-{id}")}))
            .await;
    }

    /// Sends `node.invoke.request` with `payload` as it is (legacy or malformed forms).
    pub async fn invoke_raw(&self, payload: Value) {
        self.conn.send_event("node.invoke.request", payload, None).await.expect("send invoke");
    }

    /// The `node.invoke.result` params in the log with this invoke id.
    pub fn results_for(&self, id: &str) -> Vec<Value> {
        self.log
            .iter()
            .filter(|f| f["method"] == "node.invoke.result" && f["params"]["id"] == id)
            .map(|f| f["params"].clone())
            .collect()
    }
}

/// The `id` of a request frame (panics on a frame without one: the node always sends it).
fn request_id(req: &Value) -> &str {
    req["id"].as_str().unwrap_or_else(|| panic!("request without an id: {req}"))
}
