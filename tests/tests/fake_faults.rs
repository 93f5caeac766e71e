//! The core `Node` (in process) against the testkit's fake Gateway: faults and edge cases
//! the real Gateway cannot produce on cue.
//!
//! Every test asserts what the node put on the wire (exact JSON shapes), that nothing
//! panicked or hung (every wait is bounded), and that reconnects stay bounded
//! (`FakeGateway::accepted_count`). Timings come from short `NodeConfig` values so the
//! whole file runs in a few seconds. The expected outcome is written above each test.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clawnode::endpoint::Endpoint;
use clawnode::protocol::Role;
use clawnode::store::{CredentialStore, MemoryStore, StoredToken, TokenKey};
use clawnode::{
    ClientDescriptor, CommandError, CommandRegistry, Credentials, InvokeContext, Node, NodeConfig, NodeNotice,
    NodeState, PauseKind,
};
use clawnode_testkit::{FakeConn, FakeGateway, FakeOptions, TestkitError};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

/// The shared Gateway token most tests configure.
const SHARED: &str = "shared-token-0123456789";
/// Bound for one expected frame or state change.
const STEP: Duration = Duration::from_secs(5);
/// `policy.maxPayload` of a real Gateway (25 MiB).
const MAX_PAYLOAD: u64 = 26_214_400;

// ---------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------

/// Counters the handlers bump, so tests can see what ran.
#[derive(Default)]
struct Probes {
    sleep_runs: AtomicU64,
    cancel_started: AtomicU64,
    cancel_seen: AtomicU64,
    stubborn_started: AtomicU64,
    stubborn_finished: AtomicU64,
    stubborn_dropped: AtomicU64,
}

/// Runs its closure when dropped (a handler future that is aborted is dropped).
struct OnDrop<F: FnMut()>(F);

impl<F: FnMut()> Drop for OnDrop<F> {
    fn drop(&mut self) {
        (self.0)()
    }
}

fn param_u64(ctx: &InvokeContext, name: &str, default: u64) -> u64 {
    ctx.params.get(name).and_then(Value::as_u64).unwrap_or(default)
}

/// 40 000 bytes: `"abcé"` (5 bytes) × 8000, so a 16 384-byte cut falls inside an `é`.
fn progress_text() -> String {
    "abcé".repeat(8000)
}

fn registry(p: &Arc<Probes>) -> CommandRegistry {
    let mut r = CommandRegistry::new();
    r.register("test.echo", |ctx: InvokeContext| async move { Ok(json!({ "echo": ctx.params })) }).unwrap();
    r.register("device.info", |_ctx: InvokeContext| async move { Ok(json!({"model": "fake"})) }).unwrap();
    r.register("system.which", |_ctx: InvokeContext| async move { Ok(json!({"found": {}})) }).unwrap();
    let probes = p.clone();
    r.register("test.sleep", move |ctx: InvokeContext| {
        let p = probes.clone();
        async move {
            p.sleep_runs.fetch_add(1, Ordering::SeqCst);
            let ms = param_u64(&ctx, "ms", 200);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            Ok(json!({"slept": ms, "id": ctx.id}))
        }
    })
    .unwrap();
    let probes = p.clone();
    r.register("test.wait_cancel", move |ctx: InvokeContext| {
        let p = probes.clone();
        async move {
            p.cancel_started.fetch_add(1, Ordering::SeqCst);
            tokio::select! {
                _ = ctx.cancel.cancelled() => {
                    p.cancel_seen.fetch_add(1, Ordering::SeqCst);
                    // A result after a cancel must never reach the wire.
                    Ok(json!({"cancelled": true}))
                }
                _ = tokio::time::sleep(Duration::from_secs(10)) => Err(CommandError::new("NOT_CANCELLED", "no cancel")),
            }
        }
    })
    .unwrap();
    let probes = p.clone();
    r.register("test.stubborn", move |ctx: InvokeContext| {
        let p = probes.clone();
        async move {
            p.stubborn_started.fetch_add(1, Ordering::SeqCst);
            let pd = p.clone();
            let _guard = OnDrop(move || {
                pd.stubborn_dropped.fetch_add(1, Ordering::SeqCst);
            });
            // Ignores ctx.cancel on purpose.
            tokio::time::sleep(Duration::from_millis(param_u64(&ctx, "ms", 5000))).await;
            p.stubborn_finished.fetch_add(1, Ordering::SeqCst);
            Ok(json!({"late": true, "id": ctx.id}))
        }
    })
    .unwrap();
    r.register("test.big", |ctx: InvokeContext| async move {
        Ok(Value::String("x".repeat(param_u64(&ctx, "bytes", 10_240) as usize)))
    })
    .unwrap();
    r.register("test.progress", |ctx: InvokeContext| async move {
        let sink = ctx.progress();
        let text = progress_text();
        sink.send(&text).await.map_err(|e| CommandError::unavailable(e.to_string()))?;
        sink.heartbeat().await.map_err(|e| CommandError::unavailable(e.to_string()))?;
        Ok(json!({"sent": text.len()}))
    })
    .unwrap();
    r
}

// ---------------------------------------------------------------------------------------
// Node setup and waits
// ---------------------------------------------------------------------------------------

fn base_cfg(fake: &FakeGateway) -> NodeConfig {
    let mut cfg =
        NodeConfig::new(Endpoint::parse(&fake.ws_url()).unwrap(), ClientDescriptor::linux_node_host("0.1.0-test"));
    cfg.client.display_name = Some("fake-faults".into());
    cfg.credentials = Credentials { shared_token: Some(SHARED.into()), ..Default::default() };
    cfg.backoff.initial = Duration::from_millis(100);
    cfg.backoff.max = Duration::from_secs(2);
    cfg.handshake.challenge_timeout = Duration::from_secs(3);
    cfg.handshake.hello_timeout = Duration::from_secs(3);
    cfg.invoke.result_ack_timeout = Duration::from_secs(5);
    cfg
}

fn new_node(cfg: NodeConfig, probes: &Arc<Probes>) -> (Node, Arc<MemoryStore>) {
    count_worker_panics();
    let store = Arc::new(MemoryStore::default());
    let node = Node::new(cfg, registry(probes), store.clone()).unwrap();
    (node, store)
}

fn token_key(node: &Node, fake: &FakeGateway) -> TokenKey {
    TokenKey {
        origin: Endpoint::parse(&fake.ws_url()).unwrap().origin().to_string(),
        device_id: node.device_id().to_string(),
        role: Role::Node,
    }
}

async fn wait_state(node: &Node, what: &str, timeout: Duration, pred: impl Fn(&NodeState) -> bool) -> NodeState {
    let mut rx = node.subscribe_state();
    let r = tokio::time::timeout(timeout, async {
        loop {
            let s = rx.borrow_and_update().clone();
            if pred(&s) {
                return s;
            }
            if rx.changed().await.is_err() {
                return NodeState::Stopped;
            }
        }
    })
    .await;
    r.unwrap_or_else(|_| panic!("timed out waiting for {what}; state is {:?}", node.state()))
}

async fn eventually(what: &str, timeout: Duration, f: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(f(), "timed out waiting for {what}");
}

/// Panics on tokio worker threads, i.e. inside the node's tasks (test bodies run on their
/// own thread through `block_on`, and the fake's tasks do not panic).
static WORKER_PANICS: AtomicU64 = AtomicU64::new(0);

fn count_worker_panics() {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().name().is_some_and(|n| n.starts_with("tokio-runtime-worker")) {
                WORKER_PANICS.fetch_add(1, Ordering::SeqCst);
            }
            default(info)
        }));
    });
}

/// Stops the node within a bound and checks it ends `Stopped`, with no panic anywhere in
/// the node (tasks or handlers).
async fn stop(node: &Node) {
    tokio::time::timeout(Duration::from_secs(8), node.stop()).await.expect("node.stop() returns");
    assert_eq!(node.state(), NodeState::Stopped);
    assert_eq!(node.invoke_stats().panicked.load(Ordering::SeqCst), 0, "no handler panicked");
    assert_eq!(WORKER_PANICS.load(Ordering::SeqCst), 0, "no task of the node panicked");
}

fn drain_notices(rx: &mut tokio::sync::broadcast::Receiver<NodeNotice>) -> Vec<NodeNotice> {
    let mut out = Vec::new();
    while let Ok(n) = rx.try_recv() {
        out.push(n);
    }
    out
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object().unwrap_or_else(|| panic!("not an object: {v}")).keys().cloned().collect()
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

// ---------------------------------------------------------------------------------------
// The fake side of one connection
// ---------------------------------------------------------------------------------------

/// What the node did next on a connection.
#[derive(Debug)]
enum Got {
    /// A JSON text (or binary) frame.
    Frame(Value),
    /// A close frame.
    Close(Option<u16>, String),
    /// The connection ended without a close frame (or the pump stopped).
    #[allow(dead_code)] // shown through Debug in failure messages
    Ended(String),
    /// Nothing within the wait.
    Timeout,
}

/// One fake connection plus a log of every frame the node sent on it.
struct Wire {
    conn: FakeConn,
    node_id: String,
    log: Vec<Value>,
    pongs: usize,
}

impl Wire {
    fn new(conn: FakeConn, node_id: &str) -> Wire {
        Wire { conn, node_id: node_id.to_string(), log: Vec::new(), pongs: 0 }
    }

    /// The next JSON frame or close. Pings are skipped, pongs counted.
    async fn next(&mut self, timeout: Duration) -> Got {
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

    /// The next frame, which must be a request.
    async fn req(&mut self, timeout: Duration, what: &str) -> Value {
        match self.next(timeout).await {
            Got::Frame(v) => {
                assert_eq!(v["type"], "req", "the node only sends requests: {v}");
                assert_eq!(keys(&v), set(&["type", "id", "method", "params"]), "request frame shape: {v}");
                v
            }
            other => panic!("waiting for {what}: {other:?}"),
        }
    }

    /// The next request with `method`; other requests are acked on the way.
    async fn expect(&mut self, method: &str, timeout: Duration) -> Value {
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

    async fn ack(&self, req: &Value, payload: Value) {
        self.conn.reply_ok(req["id"].as_str().unwrap(), payload).await.expect("fake reply");
    }

    /// Answers a request the way the real Gateway does.
    async fn auto_ack(&self, req: &Value) {
        let payload = match req["method"].as_str() {
            Some("node.event") => {
                json!({"ok": true, "event": req["params"]["event"], "handled": true, "reason": "updated"})
            }
            Some("node.invoke.progress") => json!({"ok": true, "ignored": false}),
            _ => json!({"ok": true}),
        };
        self.ack(req, payload).await;
    }

    /// Reads for `dur`, acking every request; the socket must stay open.
    async fn drain(&mut self, dur: Duration) -> Vec<Value> {
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

    /// Collects the params of `n` `node.invoke.result` requests, acking everything.
    async fn results(&mut self, n: usize, timeout: Duration) -> Vec<Value> {
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

    /// The next `node.invoke.result` params (acked).
    async fn result(&mut self) -> Value {
        self.results(1, STEP).await.remove(0)
    }

    /// Sends `node.invoke.request` with `paramsJSON` (null for `Value::Null`).
    async fn invoke(&self, id: &str, command: &str, params: Value, timeout_ms: u64) {
        let params_json = if params.is_null() { Value::Null } else { Value::String(params.to_string()) };
        self.invoke_raw(json!({"id": id, "nodeId": self.node_id, "command": command,
            "paramsJSON": params_json, "timeoutMs": timeout_ms, "idempotencyKey": format!("k-{id}")}))
            .await;
    }

    async fn invoke_raw(&self, payload: Value) {
        self.conn.send_event("node.invoke.request", payload, None).await.expect("send invoke");
    }

    /// `node.invoke.result` params in the log with this invoke id.
    fn results_for(&self, id: &str) -> Vec<Value> {
        self.log
            .iter()
            .filter(|f| f["method"] == "node.invoke.result" && f["params"]["id"] == id)
            .map(|f| f["params"].clone())
            .collect()
    }
}

/// Accepts the next connection, reads `connect` and answers hello-ok.
async fn accept(
    fake: &mut FakeGateway,
    node: &Node,
    tick_ms: u64,
    max_payload: u64,
    device_token: Option<&str>,
) -> (Wire, Value) {
    let conn = fake.next_conn(STEP).await.expect("the node connects");
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    wire.conn.hello_ok(connect["id"].as_str().unwrap(), tick_ms, max_payload, device_token).await.unwrap();
    (wire, connect)
}

/// Accepts a connection, acks the readiness probe and waits for `Ready`.
async fn accept_ready(fake: &mut FakeGateway, node: &Node, tick_ms: u64, max_payload: u64) -> Wire {
    let (mut wire, _) = accept(fake, node, tick_ms, max_payload, None).await;
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    wire
}

/// Rejects `connect` with `error`, then closes like the Gateway (in the background so the
/// test can keep timing the node).
async fn reject(wire: Wire, connect: &Value, error: Value, code: u16, reason: &str) {
    wire.conn.reply_err(connect["id"].as_str().unwrap(), error).await.unwrap();
    let reason = reason.to_string();
    tokio::spawn(async move {
        let _ = wire.conn.close(code, &reason).await;
    });
}

fn pairing_changed() -> Value {
    json!({"code": "UNAVAILABLE", "message": "node pairing changed while invocation was active",
        "retryable": true, "details": {"code": "PAIRING_CHANGED"}})
}

/// Verifies `connect.params.device.signature` over the v3 payload built by hand.
fn verify_v3(connect: &Value, challenge: &Value, token: &str) {
    let d = &connect["params"]["device"];
    let pk = URL_SAFE_NO_PAD.decode(d["publicKey"].as_str().unwrap()).expect("publicKey is base64url");
    assert_eq!(pk.len(), 32, "raw Ed25519 key");
    let id = hex(ring::digest::digest(&ring::digest::SHA256, &pk).as_ref());
    assert_eq!(d["id"], id.as_str(), "device.id = hex sha256(publicKey)");
    let sig = URL_SAFE_NO_PAD.decode(d["signature"].as_str().unwrap()).expect("signature is base64url");
    assert_eq!(sig.len(), 64);
    let ts = challenge["ts"].as_u64().unwrap();
    let nonce = challenge["nonce"].as_str().unwrap();
    let v3 = format!("v3|{id}|node-host|node|node||{ts}|{token}|{nonce}|linux|linux");
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, &pk);
    key.verify(v3.as_bytes(), &sig).unwrap_or_else(|_| panic!("v3 signature must verify over {v3:?}"));
    let v2 = format!("v2|{id}|node-host|node|node||{ts}|{token}|{nonce}");
    assert!(key.verify(v2.as_bytes(), &sig).is_err(), "the node signs v3, not v2");
}

// ---------------------------------------------------------------------------------------
// 1. Handshake shape
// ---------------------------------------------------------------------------------------

// Expected: the first frame is `connect` with exactly the closed key set (no permissions,
// pathEnv, locale, userAgent), protocol 3..4, node-host/linux/Linux, role node, scopes [],
// sorted caps and commands, device{id,publicKey,signature,signedAt=challenge.ts,
// nonce=challenge.nonce}, auth{token}; the v3 signature verifies with ring. One connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_is_the_exact_closed_shape_with_a_valid_v3_signature() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();

    let conn = fake.next_conn(STEP).await.unwrap();
    let challenge = conn.challenge().cloned().expect("challenge sent");
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.req(STEP, "connect").await;
    assert_eq!(connect["method"], "connect");
    let p = &connect["params"];
    assert_eq!(
        keys(p),
        set(&["minProtocol", "maxProtocol", "client", "role", "scopes", "caps", "commands", "device", "auth"])
    );
    assert_eq!(p["minProtocol"], 3);
    assert_eq!(p["maxProtocol"], 4);
    assert_eq!(
        p["client"],
        json!({"id": "node-host", "displayName": "fake-faults", "version": "0.1.0-test",
            "platform": "linux", "deviceFamily": "Linux", "mode": "node"})
    );
    assert_eq!(p["role"], "node");
    assert_eq!(p["scopes"], json!([]));
    assert_eq!(p["caps"], json!(["device", "system", "test"]));
    let commands: Vec<String> = serde_json::from_value(p["commands"].clone()).unwrap();
    let mut sorted = commands.clone();
    sorted.sort();
    assert_eq!(commands, sorted, "commands are sorted");
    assert_eq!(
        commands,
        [
            "device.info",
            "system.which",
            "test.big",
            "test.echo",
            "test.progress",
            "test.sleep",
            "test.stubborn",
            "test.wait_cancel"
        ]
    );
    let d = &p["device"];
    assert_eq!(keys(d), set(&["id", "publicKey", "signature", "signedAt", "nonce"]));
    assert_eq!(d["id"], node.device_id());
    assert_eq!(d["publicKey"], node.identity().public_key_b64url().as_str());
    assert_eq!(d["signedAt"], challenge["ts"], "signedAt is the challenge ts");
    assert_eq!(d["nonce"], challenge["nonce"], "nonce is the challenge nonce");
    assert_eq!(p["auth"], json!({"token": SHARED}));
    verify_v3(&connect, &challenge, SHARED);

    wire.conn.hello_ok(connect["id"].as_str().unwrap(), 30_000, MAX_PAYLOAD, None).await.unwrap();
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    stop(&node).await;
    assert_eq!(fake.accepted_count(), 1);
}

// ---------------------------------------------------------------------------------------
// 2. Readiness and surface approval
// ---------------------------------------------------------------------------------------

// Expected: the first frame after hello is `node.event` (node.presence.alive, trigger
// connect) with params exactly {event, payloadJSON:string}; PAIRING_CHANGED →
// AwaitingCommandApproval; `node.pair.resolved` approved (no seq) → Ready on the same
// socket, invokes answered, exactly one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_probe_pairing_changed_then_pair_resolved() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    let mut notices = node.notices();
    let node_id = node.device_id().to_string();
    node.start();

    let (mut wire, _) = accept(&mut fake, &node, 30_000, MAX_PAYLOAD, None).await;
    let probe = wire.req(STEP, "readiness probe").await;
    assert_eq!(probe["method"], "node.event", "the first RPC after hello is node.event: {probe}");
    let params = &probe["params"];
    assert_eq!(keys(params), set(&["event", "payloadJSON"]));
    let event = params["event"].as_str().unwrap();
    assert!(event == "node.presence.alive" || event == "node.host.stats", "{event}");
    let payload: Value =
        serde_json::from_str(params["payloadJSON"].as_str().expect("payloadJSON is a string")).unwrap();
    assert!(payload.is_object(), "{payload}");
    assert_eq!(event, "node.presence.alive", "no host_stats provider configured");
    assert_eq!(payload["trigger"], "connect");
    assert_eq!(payload["platform"], "linux");
    assert_eq!(payload["displayName"], "fake-faults");

    wire.conn.reply_err(probe["id"].as_str().unwrap(), pairing_changed()).await.unwrap();
    let s = wait_state(&node, "awaiting command approval", STEP, |s| {
        matches!(s, NodeState::AwaitingCommandApproval { .. })
    })
    .await;
    assert_eq!(s, NodeState::AwaitingCommandApproval { node_id: node_id.clone() });

    wire.conn
        .send_event(
            "node.pair.resolved",
            json!({"requestId": "surface-1", "nodeId": node_id, "decision": "approved", "ts": now_ms()}),
            None,
        )
        .await
        .unwrap();
    let s = wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    assert_eq!(
        s,
        NodeState::Ready {
            node_id: node_id.clone(),
            server_version: "2026.9.6".into(),
            auth_method: Some("token".into())
        }
    );
    wire.invoke("after-approval", "test.echo", json!({"a": 1}), 5_000).await;
    let r = wire.result().await;
    assert_eq!(r["ok"], true);
    wire.drain(Duration::from_millis(300)).await;
    assert!(
        drain_notices(&mut notices).contains(&NodeNotice::PairResolved { decision: "approved".into() }),
        "PairResolved notice"
    );
    assert_eq!(fake.accepted_count(), 1, "approval needs no reconnect");
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 3. Invoke forms, errors, duplicates, out-of-order responses
// ---------------------------------------------------------------------------------------

// Expected: paramsJSON string, legacy `params` object and `paramsJSON:null` are all
// answered `{id,nodeId,ok:true,payloadJSON}` (exact keys); unknown command →
// `{ok:false,error:{code:"UNAVAILABLE",message:"UNAVAILABLE: command not supported"}}`;
// invalid paramsJSON → INVALID_REQUEST. One connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_param_forms_and_error_shapes() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.invoke_raw(json!({"id": "i-json", "nodeId": nid, "command": "test.echo",
        "paramsJSON": "{\"x\":1,\"s\":\"é\"}", "timeoutMs": 5000, "idempotencyKey": "k1"}))
        .await;
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "payloadJSON"]));
    assert_eq!((r["id"].as_str(), r["nodeId"].as_str(), &r["ok"]), (Some("i-json"), Some(nid.as_str()), &json!(true)));
    let payload: Value = serde_json::from_str(r["payloadJSON"].as_str().expect("payloadJSON string")).unwrap();
    assert_eq!(payload, json!({"echo": {"x": 1, "s": "é"}}));

    wire.invoke_raw(json!({"id": "i-legacy", "nodeId": nid, "command": "test.echo",
        "params": {"y": [1, 2]}, "timeoutMs": 5000}))
        .await;
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "payloadJSON"]));
    assert_eq!(r["id"], "i-legacy");
    assert_eq!(
        serde_json::from_str::<Value>(r["payloadJSON"].as_str().unwrap()).unwrap(),
        json!({"echo": {"y": [1, 2]}})
    );

    wire.invoke("i-null", "test.echo", Value::Null, 5000).await;
    let r = wire.result().await;
    assert_eq!(r, json!({"id": "i-null", "nodeId": nid, "ok": true, "payloadJSON": "{\"echo\":null}"}));

    wire.invoke("i-unknown", "test.nope", json!({}), 5000).await;
    let r = wire.result().await;
    assert_eq!(
        r,
        json!({"id": "i-unknown", "nodeId": nid, "ok": false,
            "error": {"code": "UNAVAILABLE", "message": "UNAVAILABLE: command not supported"}})
    );

    wire.invoke_raw(
        json!({"id": "i-bad", "nodeId": nid, "command": "test.echo", "paramsJSON": "{bad", "timeoutMs": 5000}),
    )
    .await;
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "error"]));
    assert_eq!(r["ok"], false);
    assert_eq!(keys(&r["error"]), set(&["code", "message"]));
    assert_eq!(r["error"]["code"], "INVALID_REQUEST");
    assert!(r["error"]["message"].as_str().unwrap().starts_with("INVALID_REQUEST: "), "{r}");

    wire.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: the same invoke id sent twice while the first runs → one execution, one
// result; the router counts one duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_invoke_id_runs_once() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.invoke("dup-1", "test.sleep", json!({"ms": 400}), 5000).await;
    eventually("first run started", STEP, || probes.sleep_runs.load(Ordering::SeqCst) == 1).await;
    wire.invoke("dup-1", "test.sleep", json!({"ms": 400}), 5000).await;
    wire.drain(Duration::from_millis(1000)).await;
    let results = wire.results_for("dup-1");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["ok"], true);
    assert_eq!(probes.sleep_runs.load(Ordering::SeqCst), 1, "exactly one execution");
    assert_eq!(node.invoke_stats().duplicates.load(Ordering::SeqCst), 1);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: responses to the node's own requests are matched by id, not by order. Held:
// the readiness probe and two results; answered in reverse (result 2, an unknown id,
// result 1 with `ignored:true`, then the probe with PAIRING_CHANGED) → the state becomes
// AwaitingCommandApproval (the probe got its own error), both results complete, one late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_out_of_order_are_matched_by_id() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let (mut wire, _) = accept(&mut fake, &node, 30_000, MAX_PAYLOAD, None).await;
    let probe = wire.req(STEP, "probe").await;
    assert_eq!(probe["method"], "node.event");

    wire.invoke("ooo-1", "test.echo", json!(1), 5000).await;
    let r1 = wire.req(STEP, "result 1").await;
    wire.invoke("ooo-2", "test.echo", json!(2), 5000).await;
    let r2 = wire.req(STEP, "result 2").await;
    assert_eq!((r1["method"].as_str(), r1["params"]["id"].as_str()), (Some("node.invoke.result"), Some("ooo-1")));
    assert_eq!((r2["method"].as_str(), r2["params"]["id"].as_str()), (Some("node.invoke.result"), Some("ooo-2")));
    let ids: BTreeSet<&str> = [&probe, &r1, &r2].iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "request ids are unique per connection");

    wire.ack(&r2, json!({"ok": true})).await;
    wire.conn.reply_ok("no-such-request", json!({"ok": true})).await.unwrap();
    wire.ack(&r1, json!({"ok": true, "ignored": true})).await;
    wire.conn.reply_err(probe["id"].as_str().unwrap(), pairing_changed()).await.unwrap();

    wait_state(&node, "awaiting command approval", STEP, |s| matches!(s, NodeState::AwaitingCommandApproval { .. }))
        .await;
    let stats = node.invoke_stats();
    eventually("late ack seen", STEP, || stats.late_results.load(Ordering::SeqCst) == 1).await;
    assert_eq!(stats.succeeded.load(Ordering::SeqCst), 2);
    assert_eq!(stats.dropped_results.load(Ordering::SeqCst), 0);
    let extra = wire.drain(Duration::from_millis(300)).await;
    assert!(extra.iter().all(|f| f["method"] != "node.invoke.result"), "nothing re-sent: {extra:?}");
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 4. Concurrency and liveness
// ---------------------------------------------------------------------------------------

// Expected: 16, then 64 invokes of a 200 ms handler in flight at once all get exactly one
// `ok:true` result each, well under the serial time; nothing dropped, one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_then_sixty_four_concurrent_invokes() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    for batch in [16usize, 64] {
        let started = Instant::now();
        let expected: BTreeSet<String> = (0..batch).map(|i| format!("c{batch}-{i}")).collect();
        for id in &expected {
            wire.invoke(id, "test.sleep", json!({"ms": 200}), 10_000).await;
        }
        let results = wire.results(batch, Duration::from_secs(10)).await;
        let elapsed = started.elapsed();
        let got: BTreeSet<String> = results.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(got, expected, "one result per invoke");
        assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");
        assert!(elapsed < Duration::from_secs(4), "{batch} invokes ran concurrently: {elapsed:?}");
    }
    let extra = wire.drain(Duration::from_millis(300)).await;
    assert!(extra.iter().all(|f| f["method"] != "node.invoke.result"), "{extra:?}");
    assert_eq!(probes.sleep_runs.load(Ordering::SeqCst), 80);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: with tick 1000 ms (watchdog 2 s) a handler busy for 3 s does not stall the
// node: it answers the fake's pings, keeps pinging itself, answers a second invoke
// meanwhile, and the session survives (the fake sends ticks like a Gateway). One connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_handler_does_not_block_reading() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.liveness.client_ping_interval = Duration::from_millis(300);
    let (node, _store) = new_node(cfg, &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 1_000, MAX_PAYLOAD).await;

    let started = Instant::now();
    wire.invoke("long-1", "test.sleep", json!({"ms": 3000}), 10_000).await;
    let mut seq = 0;
    let mut quick_sent: Option<Instant> = None;
    let mut quick_latency = None;
    let mut long_done = None;
    while long_done.is_none() && started.elapsed() < Duration::from_secs(6) {
        seq += 1;
        wire.conn.send_event("tick", json!({"ts": now_ms()}), Some(seq)).await.unwrap();
        wire.conn.send_raw(Message::Ping(b"fake-ping".to_vec().into())).await.unwrap();
        if seq == 2 {
            wire.invoke("quick-1", "test.echo", json!("meanwhile"), 5000).await;
            quick_sent = Some(Instant::now());
        }
        let until = Instant::now() + Duration::from_millis(500);
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match wire.next(left).await {
                Got::Timeout => break,
                Got::Frame(f) => {
                    wire.auto_ack(&f).await;
                    if f["method"] == "node.invoke.result" {
                        match f["params"]["id"].as_str() {
                            Some("quick-1") => quick_latency = quick_sent.map(|t| t.elapsed()),
                            Some("long-1") => long_done = Some(started.elapsed()),
                            other => panic!("unexpected result {other:?}"),
                        }
                    }
                }
                other => panic!("the session must survive the long handler: {other:?}"),
            }
        }
    }
    let quick_latency = quick_latency.expect("the second invoke was answered while the first ran");
    assert!(quick_latency < Duration::from_millis(500), "{quick_latency:?}");
    let long_done = long_done.expect("the long invoke finished");
    assert!(long_done >= Duration::from_millis(2900), "{long_done:?}");
    assert!(wire.pongs >= 4, "the node answered the fake's pings: {} pongs", wire.pongs);
    assert!(wire.conn.pings_received() >= 5, "the node kept pinging: {}", wire.conn.pings_received());
    assert_eq!(wire.results_for("long-1")[0]["ok"], true);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 5. Cancel, 6. deadline, 7. result too large, 8. progress
// ---------------------------------------------------------------------------------------

// Expected: `node.invoke.cancel {invokeId,nodeId}` fires the handler's ctx.cancel; no
// `node.invoke.result` for that id is ever sent; the session keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_fires_ctx_cancel_and_sends_no_result() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.invoke("cx-1", "test.wait_cancel", Value::Null, 10_000).await;
    eventually("handler started", STEP, || probes.cancel_started.load(Ordering::SeqCst) == 1).await;
    wire.conn.send_event("node.invoke.cancel", json!({"invokeId": "cx-1", "nodeId": nid}), None).await.unwrap();
    eventually("ctx.cancel fired", Duration::from_secs(2), || probes.cancel_seen.load(Ordering::SeqCst) == 1).await;
    wire.drain(Duration::from_millis(800)).await;
    assert!(wire.results_for("cx-1").is_empty(), "no result after a cancel: {:?}", wire.results_for("cx-1"));
    assert_eq!(node.invoke_stats().cancelled.load(Ordering::SeqCst), 1);

    wire.invoke("cx-after", "test.echo", json!(1), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: timeoutMs 300 with a handler that ignores cancellation → the node answers
// `{ok:false,error:{code:"TIMEOUT",message:"TIMEOUT: node invoke timed out"}}` at ≈300 ms
// (not a cancel grace later), and the handler is aborted (dropped, never finishes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_answers_timeout_and_aborts_the_handler() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.invoke.cancel_grace = Duration::from_secs(1);
    let (node, _store) = new_node(cfg, &probes);
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let sent = Instant::now();
    wire.invoke("dl-1", "test.stubborn", json!({"ms": 5000}), 300).await;
    let r = wire.result().await;
    let elapsed = sent.elapsed();
    assert_eq!(
        r,
        json!({"id": "dl-1", "nodeId": nid, "ok": false,
            "error": {"code": "TIMEOUT", "message": "TIMEOUT: node invoke timed out"}})
    );
    assert!(elapsed >= Duration::from_millis(280), "not before the deadline: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(800), "TIMEOUT is sent at the deadline: {elapsed:?}");
    eventually("handler aborted after the grace", Duration::from_secs(3), || {
        probes.stubborn_dropped.load(Ordering::SeqCst) == 1
    })
    .await;
    assert_eq!(probes.stubborn_finished.load(Ordering::SeqCst), 0, "the handler never completes");
    assert_eq!(node.invoke_stats().timed_out.load(Ordering::SeqCst), 1);
    let extra = wire.drain(Duration::from_millis(300)).await;
    assert!(extra.iter().all(|f| f["method"] != "node.invoke.result"), "{extra:?}");
    assert_eq!(wire.results_for("dl-1").len(), 1);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: with maxPayload 4096 a 10 KB result becomes `{ok:false,error:{code:
// "PAYLOAD_TOO_LARGE",...}}` in a frame within the limit; the socket stays up and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_result_is_answered_payload_too_large() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, 4096).await;

    wire.invoke("big-1", "test.big", json!({"bytes": 10_240}), 5000).await;
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "error"]));
    assert_eq!((r["id"].as_str(), &r["ok"]), (Some("big-1"), &json!(false)));
    assert_eq!(r["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert!(r["error"]["message"].as_str().unwrap().starts_with("PAYLOAD_TOO_LARGE: "), "{r}");
    let frame = wire.log.iter().find(|f| f["params"]["id"] == "big-1").unwrap();
    assert!(frame.to_string().len() <= 4096);
    assert_eq!(node.invoke_stats().too_large.load(Ordering::SeqCst), 1);

    wire.invoke("small-1", "test.echo", json!("ok"), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    wire.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: `progress().send(40 000 bytes)` → `node.invoke.progress {invokeId,nodeId,seq,
// chunk}` with seq 0,1,2, chunks ≤ 16384 bytes cut on char boundaries, concatenating to
// the text; `heartbeat()` → seq 3 with an empty chunk; then the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_chunks_and_heartbeat() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.invoke("pg-1", "test.progress", Value::Null, 10_000).await;
    let r = wire.result().await;
    assert_eq!(r["ok"], true);
    let progress: Vec<Value> =
        wire.log.iter().filter(|f| f["method"] == "node.invoke.progress").map(|f| f["params"].clone()).collect();
    for p in &progress {
        assert_eq!(keys(p), set(&["invokeId", "nodeId", "seq", "chunk"]));
        assert_eq!((p["invokeId"].as_str(), p["nodeId"].as_str()), (Some("pg-1"), Some(nid.as_str())));
    }
    let seqs: Vec<u64> = progress.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    let chunks: Vec<&str> = progress.iter().map(|p| p["chunk"].as_str().unwrap()).collect();
    assert!(chunks.iter().all(|c| c.len() <= 16_384), "{:?}", chunks.iter().map(|c| c.len()).collect::<Vec<_>>());
    assert_eq!(chunks[..3].concat(), progress_text());
    assert_eq!(chunks[3], "", "heartbeat is an empty chunk");
    let result_pos = wire.log.iter().position(|f| f["method"] == "node.invoke.result").unwrap();
    let last_progress = wire.log.iter().rposition(|f| f["method"] == "node.invoke.progress").unwrap();
    assert!(last_progress < result_pos, "progress precedes the result");
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 9. Tick watchdog, 10. server close codes
// ---------------------------------------------------------------------------------------

// Expected: hello with tickIntervalMs 1000 and then silence (the fake still answers the
// node's 250 ms pings; pongs are not Gateway traffic) → the node closes 4000 "tick
// timeout" after 2-3 s and reconnects once; the new session stays up (2 connections).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tick_watchdog_closes_4000_and_reconnects() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.liveness.client_ping_interval = Duration::from_millis(250);
    let (node, _store) = new_node(cfg, &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 1_000, MAX_PAYLOAD).await;
    let ready_at = Instant::now();

    let close = loop {
        match wire.next(Duration::from_secs(6)).await {
            Got::Frame(f) => wire.auto_ack(&f).await,
            other => break other,
        }
    };
    let silent_for = ready_at.elapsed();
    match close {
        Got::Close(code, reason) => {
            assert_eq!(code, Some(4000));
            assert_eq!(reason, "tick timeout");
        }
        other => panic!("expected close 4000, got {other:?}"),
    }
    assert!(silent_for >= Duration::from_millis(1900), "not before 2 × tick: {silent_for:?}");
    assert!(silent_for < Duration::from_millis(4000), "{silent_for:?}");
    assert!(wire.conn.pings_received() >= 4, "pings kept flowing: {}", wire.conn.pings_received());

    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.drain(Duration::from_millis(500)).await;
    assert_eq!(fake.accepted_count(), 2, "exactly one reconnect");
    stop(&node).await;
}

// Expected: `shutdown {reason, restartExpectedMs:300}` then close 1012 → the node echoes
// the close and reconnects after ≈300 ms (its backoff would be 2 s); 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_restart_hint_then_1012() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.backoff.initial = Duration::from_secs(2);
    cfg.backoff.max = Duration::from_secs(4);
    let (node, _store) = new_node(cfg, &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.conn
        .send_event("shutdown", json!({"reason": "gateway restarting", "restartExpectedMs": 300}), Some(1))
        .await
        .unwrap();
    let closed_at = Instant::now();
    wire.conn.close(1012, "service restart").await.unwrap();
    match wire.next(Duration::from_secs(1)).await {
        Got::Close(code, _) => assert_eq!(code, Some(1012), "the node echoes the close code"),
        other => panic!("expected the node's close reply, got {other:?}"),
    }
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let delay = fake.accepted_times()[1] - closed_at;
    assert!(delay >= Duration::from_millis(250), "{delay:?}");
    assert!(delay < Duration::from_millis(1200), "restartExpectedMs wins over the 2 s backoff: {delay:?}");
    wire2.drain(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected: close 4001 "client invalidated" → the node reconnects promptly (backoff
// 100 ms), one reconnect only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_4001_reconnects() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let closed_at = Instant::now();
    wire.conn.close(4001, "client invalidated: gateway auth changed").await.unwrap();
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let delay = fake.accepted_times()[1] - closed_at;
    assert!(delay < Duration::from_millis(1500), "reconnect follows the 100 ms backoff: {delay:?}");
    wire2.drain(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected: connect rejected `UNAVAILABLE` with retryAfterMs 200 (details.reason
// startup-sidecars) + close 1013 → BackingOff 200 ms and a retry after ≈200 ms (the
// backoff would say 2 s); the retry succeeds; 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_unavailable_1013_retries_after_retry_after_ms() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.backoff.initial = Duration::from_secs(2);
    cfg.backoff.max = Duration::from_secs(4);
    let (node, _store) = new_node(cfg, &probes);
    node.start();

    let conn = fake.next_conn(STEP).await.unwrap();
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    let rejected_at = Instant::now();
    reject(
        wire,
        &connect,
        json!({"code": "UNAVAILABLE", "message": "gateway starting; retry shortly", "retryable": true,
            "retryAfterMs": 200, "details": {"reason": "startup-sidecars"}}),
        1013,
        "gateway starting",
    )
    .await;
    let s = wait_state(&node, "backing off", STEP, |s| matches!(s, NodeState::BackingOff { .. })).await;
    assert!(matches!(s, NodeState::BackingOff { delay, .. } if delay == Duration::from_millis(200)), "{s:?}");
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let delay = fake.accepted_times()[1] - rejected_at;
    assert!(delay >= Duration::from_millis(150), "{delay:?}");
    assert!(delay < Duration::from_millis(1000), "{delay:?}");
    wire2.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 11. Pairing and pauses
// ---------------------------------------------------------------------------------------

// Expected: NOT_PAIRED/PAIRING_REQUIRED {requestId:"r1"} → AwaitingDeviceApproval
// {request_id:"r1"} with a growing attempt count; retries keep the request alive with
// growing intervals (≈100, 200, 400 ms); after approval the next connect succeeds → Ready.
// Connections = attempts = 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_required_waits_and_retries_with_backoff() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    let nid = node.device_id().to_string();
    node.start();

    for i in 1..=4u64 {
        let conn = fake.next_conn(STEP).await.unwrap();
        let mut wire = Wire::new(conn, &nid);
        let connect = wire.expect("connect", STEP).await;
        reject(
            wire,
            &connect,
            json!({"code": "NOT_PAIRED", "message": "pairing required: device is not approved yet",
                "details": {"code": "PAIRING_REQUIRED", "reason": "not-paired", "requestId": "r1",
                    "remediationHint": "Approve this device from the pending pairing requests.",
                    "deviceId": nid, "requestedRole": "node"}}),
            1008,
            "pairing required: device is not approved yet (requestId: r1)",
        )
        .await;
        let s = wait_state(
            &node,
            "awaiting device approval",
            STEP,
            |s| matches!(s, NodeState::AwaitingDeviceApproval { attempts, .. } if *attempts == i),
        )
        .await;
        match s {
            NodeState::AwaitingDeviceApproval { request_id, reason, attempts, .. } => {
                assert_eq!(request_id.as_deref(), Some("r1"));
                assert_eq!(reason.as_deref(), Some("not-paired"));
                assert_eq!(attempts, i);
            }
            other => panic!("{other:?}"),
        }
    }
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let t = fake.accepted_times();
    let gaps: Vec<Duration> = t.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), 4);
    assert!(gaps[0] >= Duration::from_millis(90), "{gaps:?}");
    for w in gaps.windows(2) {
        assert!(w[1] > w[0] + Duration::from_millis(50), "intervals grow: {gaps:?}");
    }
    assert!(gaps[3] < Duration::from_millis(1500), "{gaps:?}");
    wire.drain(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted_count(), 5);
    assert_eq!(node.connect_attempts(), 5);
    stop(&node).await;
}

// Expected: AUTH_TOKEN_MISMATCH (canRetryWithDeviceToken, but no stored token) → Paused
// {Auth, AUTH_TOKEN_MISMATCH}; exactly one connection and none more within 3 s;
// `resume()` → a new connect attempt follows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_mismatch_pauses_until_resume() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();

    let conn = fake.next_conn(STEP).await.unwrap();
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    reject(
        wire,
        &connect,
        json!({"code": "INVALID_REQUEST",
            "message": "unauthorized: gateway token mismatch (provide gateway auth token)",
            "details": {"code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch",
                "canRetryWithDeviceToken": true, "recommendedNextStep": "retry_with_device_token"}}),
        1008,
        "unauthorized: gateway token mismatch",
    )
    .await;
    let s = wait_state(&node, "paused", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    match s {
        NodeState::Paused(p) => {
            assert_eq!(p.kind, PauseKind::Auth);
            assert_eq!(p.code.as_deref(), Some("AUTH_TOKEN_MISMATCH"));
        }
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.accepted_count(), 1, "paused: no retries");
    assert_eq!(node.connect_attempts(), 1);
    assert!(matches!(node.state(), NodeState::Paused(_)));

    node.resume();
    let conn = fake.next_conn(Duration::from_secs(2)).await.expect("resume retries at once");
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    assert_eq!(connect["params"]["auth"], json!({"token": SHARED}));
    wire.conn.hello_ok(connect["id"].as_str().unwrap(), 30_000, MAX_PAYLOAD, None).await.unwrap();
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 12. Device tokens
// ---------------------------------------------------------------------------------------

// Expected: a stored device token and no shared token → connect `auth` is exactly
// {deviceToken} and the signature binds it. AUTH_DEVICE_TOKEN_MISMATCH → compare-and-delete:
// a token replaced meanwhile survives; the rejected token itself is deleted on the next
// rejection; each rejection pauses (Auth); one connection per resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_token_mismatch_compare_and_delete_then_pause() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.credentials = Credentials::default();
    let (node, store) = new_node(cfg, &probes);
    let key = token_key(&node, &fake);
    let tok = |t: &str| StoredToken { token: t.into(), scopes: vec![], issued_at_ms: Some(1), updated_at_ms: 1 };
    store.save_token(&key, &tok("dev-tok-1")).unwrap();
    let mut notices = node.notices();
    node.start();

    let mismatch = json!({"code": "INVALID_REQUEST",
        "message": "unauthorized: device token mismatch (rotate/reissue device token)",
        "details": {"code": "AUTH_DEVICE_TOKEN_MISMATCH", "recommendedNextStep": "update_auth_credentials"}});

    // Round 1: a newer token lands while the connect is in flight; it must survive.
    let conn = fake.next_conn(STEP).await.unwrap();
    let challenge = conn.challenge().cloned().unwrap();
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    assert_eq!(connect["params"]["auth"], json!({"deviceToken": "dev-tok-1"}));
    verify_v3(&connect, &challenge, "dev-tok-1");
    store.save_token(&key, &tok("dev-tok-2")).unwrap();
    reject(wire, &connect, mismatch.clone(), 1008, "unauthorized: device token mismatch").await;
    let s = wait_state(&node, "paused", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    match s {
        NodeState::Paused(p) => {
            assert_eq!(p.kind, PauseKind::Auth);
            assert_eq!(p.code.as_deref(), Some("AUTH_DEVICE_TOKEN_MISMATCH"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.load_token(&key).unwrap().map(|t| t.token.expose().to_string()).as_deref(), Some("dev-tok-2"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.accepted_count(), 1);

    // Round 2: the token it sent is still stored → deleted.
    node.resume();
    let conn = fake.next_conn(STEP).await.unwrap();
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    assert_eq!(connect["params"]["auth"], json!({"deviceToken": "dev-tok-2"}));
    reject(wire, &connect, mismatch, 1008, "unauthorized: device token mismatch").await;
    eventually("token deleted", STEP, || store.load_token(&key).unwrap().is_none()).await;
    wait_state(&node, "paused again", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(matches!(node.state(), NodeState::Paused(_)));
    assert_eq!(fake.accepted_count(), 2);
    let cleared = drain_notices(&mut notices).iter().filter(|n| **n == NodeNotice::DeviceTokenCleared).count();
    assert_eq!(cleared, 1, "only the matching token was deleted");
    stop(&node).await;
}

// Expected: hello-ok with a new `auth.deviceToken` is persisted under (origin, deviceId,
// node) with issuedAtMs (notice DeviceTokenStored); with a shared token configured the next
// connect still sends exactly {token}. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_device_token_is_persisted() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, store) = new_node(base_cfg(&fake), &probes);
    let key = token_key(&node, &fake);
    let mut notices = node.notices();
    node.start();

    let (mut wire, _) = accept(&mut fake, &node, 30_000, MAX_PAYLOAD, Some("issued-tok-1")).await;
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    let stored = store.load_token(&key).unwrap().expect("device token persisted");
    assert_eq!(stored.token.expose(), "issued-tok-1");
    assert!(stored.issued_at_ms.is_some());
    assert!(stored.scopes.is_empty());
    assert!(drain_notices(&mut notices).contains(&NodeNotice::DeviceTokenStored));

    wire.conn.close(1012, "service restart").await.unwrap();
    let (mut wire2, connect) = accept(&mut fake, &node, 30_000, MAX_PAYLOAD, Some("issued-tok-1")).await;
    assert_eq!(connect["params"]["auth"], json!({"token": SHARED}), "errata 6: the shared token on every connect");
    let probe = wire2.expect("node.event", STEP).await;
    wire2.auto_ack(&probe).await;
    wait_state(&node, "ready again", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    assert!(!drain_notices(&mut notices).contains(&NodeNotice::DeviceTokenStored), "unchanged token not rewritten");
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 13. Malformed inbound frames
// ---------------------------------------------------------------------------------------

// Expected: non-JSON text, non-UTF-8 binary, a JSON array, `{}`, a frame without fields,
// an invoke request without id/command, an unknown event and a response with an unknown id
// are ignored (no close, no reply); a seq jump raises one SeqGap notice; a later invoke is
// answered, and a binary frame carrying an invoke request is handled like text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_ignored() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    let nid = node.device_id().to_string();
    let mut notices = node.notices();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let c = &wire.conn;
    c.send_raw(Message::text("this is not json")).await.unwrap();
    c.send_raw(Message::binary(vec![0xff, 0xfe, 0xfd, 0x00])).await.unwrap();
    c.send_raw(Message::text("[1,2,3]")).await.unwrap();
    c.send_raw(Message::text("{}")).await.unwrap();
    c.send_raw(Message::text(r#"{"type":"res"}"#)).await.unwrap();
    c.send_raw(Message::text(r#"{"type":"req","id":"x","method":"node.list"}"#)).await.unwrap();
    c.send_raw(Message::text(r#"{"type":"event","event":"node.invoke.request","payload":{"nope":true}}"#))
        .await
        .unwrap();
    c.send_event("some.future.event", json!({"x": 1}), None).await.unwrap();
    c.reply_ok("no-such-request", json!({"ok": true})).await.unwrap();
    c.send_event("tick", json!({"ts": now_ms()}), Some(1)).await.unwrap();
    c.send_event("tick", json!({"ts": now_ms()}), Some(3)).await.unwrap();

    wire.invoke("after-garbage", "test.echo", json!("still here"), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["id"], "after-garbage");
    assert_eq!(r["ok"], true);

    let bin = json!({"type": "event", "event": "node.invoke.request", "payload": {"id": "bin-1", "nodeId": nid,
        "command": "test.echo", "paramsJSON": "{\"b\":true}", "timeoutMs": 5000}});
    wire.conn.send_raw(Message::binary(bin.to_string().into_bytes())).await.unwrap();
    let r = wire.result().await;
    assert_eq!(r, json!({"id": "bin-1", "nodeId": nid, "ok": true, "payloadJSON": "{\"echo\":{\"b\":true}}"}));

    let extra = wire.drain(Duration::from_millis(300)).await;
    assert!(extra.is_empty(), "garbage got no reply: {extra:?}");
    assert_eq!(wire.log.iter().filter(|f| f["method"] == "node.invoke.result").count(), 2);
    assert!(matches!(node.state(), NodeState::Ready { .. }));
    let n = drain_notices(&mut notices);
    assert_eq!(n.iter().filter(|n| matches!(n, NodeNotice::SeqGap { expected: 2, received: 3 })).count(), 1, "{n:?}");
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 14. Results never cross sockets
// ---------------------------------------------------------------------------------------

// Expected: an invoke still running when the TCP connection dies (RST, then FIN) finishes
// after the node reconnected, but its result is never sent on the new socket; the new
// socket serves new invokes. 3 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_after_socket_death_is_not_sent_on_the_new_socket() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    // Long grace so the (cancel-ignoring) handler really finishes after the socket died.
    cfg.invoke.cancel_grace = Duration::from_secs(3);
    let (node, _store) = new_node(cfg, &probes);
    node.start();
    let wire1 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let mut wire = wire1;
    for (round, old_id) in [(1u64, "old-1"), (2, "old-2")] {
        wire.invoke(old_id, "test.stubborn", json!({"ms": 1000}), 10_000).await;
        eventually("slow handler started", STEP, || probes.stubborn_started.load(Ordering::SeqCst) == round).await;
        if round == 1 {
            wire.conn.reset_tcp();
        } else {
            wire.conn.drop_tcp();
        }
        let mut next = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
        next.invoke(&format!("new-{round}"), "test.echo", json!(round), 5000).await;
        assert_eq!(next.result().await["ok"], true);
        eventually("old handler finished", Duration::from_secs(3), || {
            probes.stubborn_finished.load(Ordering::SeqCst) == round
        })
        .await;
        next.drain(Duration::from_millis(500)).await;
        assert!(next.results_for(old_id).is_empty(), "{old_id} leaked onto the new socket: {:?}", next.log);
        wire = next;
    }
    assert_eq!(node.invoke_stats().succeeded.load(Ordering::SeqCst), 2, "only new-1 and new-2");
    assert_eq!(fake.accepted_count(), 3);
    stop(&node).await;
}

// ---------------------------------------------------------------------------------------
// 15. Stop, and handshake timeouts
// ---------------------------------------------------------------------------------------

// Expected: `node.stop()` closes the socket with 1000, the state ends Stopped and no
// reconnect follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_with_1000() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let n = node.clone();
    let stopper = tokio::spawn(async move { tokio::time::timeout(Duration::from_secs(8), n.stop()).await });
    let close = loop {
        match wire.next(STEP).await {
            Got::Frame(f) => wire.auto_ack(&f).await,
            other => break other,
        }
    };
    match close {
        Got::Close(code, _) => assert_eq!(code, Some(1000)),
        other => panic!("expected close 1000, got {other:?}"),
    }
    stopper.await.unwrap().expect("stop returns");
    assert_eq!(node.state(), NodeState::Stopped);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.accepted_count(), 1);
    assert_eq!(WORKER_PANICS.load(Ordering::SeqCst), 0);
}

// Expected: no `connect.challenge` → after challenge_timeout (300 ms) the node closes
// 1008 "connect challenge timeout" and retries; a `connect` left unanswered → after
// hello_timeout (300 ms) it closes 4000 "connect timeout" and retries. Bounded attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_timeouts_close_and_retry() {
    let mut fake = FakeGateway::start_with(FakeOptions { send_challenge: false, ..Default::default() }).await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.handshake.challenge_timeout = Duration::from_millis(300);
    cfg.handshake.hello_timeout = Duration::from_millis(300);
    cfg.backoff.initial = Duration::from_millis(200);
    let (node, _store) = new_node(cfg, &probes);
    node.start();

    let conn = fake.next_conn(STEP).await.unwrap();
    let mut wire = Wire::new(conn, node.device_id());
    let t0 = wire.conn.accepted_at();
    match wire.next(STEP).await {
        Got::Close(code, reason) => {
            assert_eq!(code, Some(1008));
            assert_eq!(reason, "connect challenge timeout");
        }
        other => panic!("expected close 1008, got {other:?}"),
    }
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(280) && waited < Duration::from_millis(1500), "{waited:?}");
    assert!(wire.log.is_empty(), "nothing sent without a challenge");

    // Second attempt: send a challenge by hand, then never answer `connect`.
    let conn = fake.next_conn(STEP).await.expect("the node retries");
    let mut wire = Wire::new(conn, node.device_id());
    wire.conn
        .send_event("connect.challenge", json!({"nonce": "2b9f4a0e-0d1c-4e55-8d3e-6b1c2d3e4f50", "ts": now_ms()}), None)
        .await
        .unwrap();
    let connect = wire.expect("connect", STEP).await;
    assert_eq!(connect["params"]["device"]["nonce"], "2b9f4a0e-0d1c-4e55-8d3e-6b1c2d3e4f50");
    let sent = Instant::now();
    match wire.next(STEP).await {
        Got::Close(code, reason) => {
            assert_eq!(code, Some(4000));
            assert_eq!(reason, "connect timeout");
        }
        other => panic!("expected close 4000, got {other:?}"),
    }
    assert!(sent.elapsed() < Duration::from_millis(1500), "{:?}", sent.elapsed());
    let _third = fake.next_conn(STEP).await.expect("the node retries again");
    stop(&node).await;
    let n = fake.accepted_count();
    assert!((3..=4).contains(&n), "bounded attempts: {n}");
}

// ---------------------------------------------------------------------------------------
// 16. Resilience (issue 6): liveness, storms, lifecycle, foreground gating, outbox
// ---------------------------------------------------------------------------------------

/// `node.invoke.result` params of the first result for `id` in `log`, if any.
fn result_count(wire: &Wire, id: &str) -> usize {
    wire.results_for(id).len()
}

// Expected (half-open socket): after hello (tick 1000 ms) the fake stops reading and sending
// but keeps the TCP connection open. The node notices within the tick window (2 × tick,
// checked every second): a new connection arrives 2-4 s after the stall; the old socket is
// abandoned, the new one serves invokes. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_socket_is_detected_within_the_tick_window() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.liveness.client_ping_interval = Duration::from_millis(300);
    let (node, _store) = new_node(cfg, &probes);
    node.start();
    let wire = accept_ready(&mut fake, &node, 1_000, MAX_PAYLOAD).await;
    wire.conn.stall();
    let stalled_at = Instant::now();
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let detected = fake.accepted_times()[1] - stalled_at;
    assert!(detected >= Duration::from_millis(1800), "not before 2 × tick: {detected:?}");
    assert!(detected < Duration::from_millis(4500), "within the tick window: {detected:?}");
    wire2.invoke("after-half-open", "test.echo", json!(1), 5000).await;
    assert_eq!(wire2.result().await["ok"], true);
    assert_eq!(fake.accepted_count(), 2);
    drop(wire);
    stop(&node).await;
}

// Expected (dropped pongs): the fake never answers the node's 200 ms pings. While the
// Gateway keeps sending ticks (every 500 ms, tick 1000) the session stays up — pongs are
// not required, Gateway traffic proves liveness. When ticks stop too, the tick watchdog
// closes 4000 within 2-3 × tick and the node reconnects once. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_pongs_then_silence_closes_within_the_window() {
    let mut fake =
        FakeGateway::start_with(FakeOptions { respond_to_pings: false, ..Default::default() }).await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.liveness.client_ping_interval = Duration::from_millis(200);
    let (node, _store) = new_node(cfg, &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 1_000, MAX_PAYLOAD).await;
    for seq in 1..=6u64 {
        wire.conn.send_event("tick", json!({"ts": now_ms()}), Some(seq)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(matches!(node.state(), NodeState::Ready { .. }), "{:?}", node.state());
    assert_eq!(fake.accepted_count(), 1, "ticks kept the session although no pong came back");
    let silent_from = Instant::now();
    let close = loop {
        match wire.next(Duration::from_secs(5)).await {
            Got::Frame(f) => wire.auto_ack(&f).await,
            other => break other,
        }
    };
    assert!(matches!(close, Got::Close(Some(4000), _)), "{close:?}");
    let after = silent_from.elapsed();
    assert!(after < Duration::from_millis(3500), "{after:?}");
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.drain(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (slow consumer): close 1008 "slow consumer" while an invoke runs → the running
// invoke is cancelled with its socket (no result anywhere), the node reconnects once after
// its backoff and serves invokes; the invoke id re-sent on the new socket runs once there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_close_1008_mid_invoke() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire.invoke("slow-1", "test.wait_cancel", Value::Null, 10_000).await;
    eventually("handler started", STEP, || probes.cancel_started.load(Ordering::SeqCst) == 1).await;
    wire.conn.close(1008, "slow consumer").await.unwrap();
    eventually("handler cancelled with its socket", STEP, || probes.cancel_seen.load(Ordering::SeqCst) == 1).await;
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.invoke("slow-1", "test.echo", json!("again"), 5000).await;
    let r = wire2.result().await;
    assert_eq!((r["id"].as_str(), r["ok"].as_bool()), (Some("slow-1"), Some(true)));
    wire2.drain(Duration::from_millis(400)).await;
    assert_eq!(result_count(&wire2, "slow-1"), 1, "one result, on the new socket, for the new request");
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (4001 then AUTH_DEVICE_TOKEN_MISMATCH, pairing.md §3.8): a node running on its
// stored device token is closed 4001 "client invalidated: gateway auth changed"; it
// reconnects at once with the same token, is rejected AUTH_DEVICE_TOKEN_MISMATCH,
// compare-and-deletes exactly that token, and pauses (no shared secret, no setup code):
// 2 connections, none more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_4001_then_device_token_mismatch_deletes_and_pauses() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.credentials = Credentials::default();
    let (node, store) = new_node(cfg, &probes);
    let key = token_key(&node, &fake);
    store
        .save_token(
            &key,
            &StoredToken { token: "dev-A".into(), scopes: vec![], issued_at_ms: Some(1), updated_at_ms: 1 },
        )
        .unwrap();
    node.start();
    let (mut wire, connect) = accept(&mut fake, &node, 30_000, MAX_PAYLOAD, None).await;
    assert_eq!(connect["params"]["auth"], json!({"deviceToken": "dev-A"}));
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    wire.conn.close(4001, "client invalidated: gateway auth changed").await.unwrap();

    let conn = fake.next_conn(STEP).await.unwrap();
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    assert_eq!(connect["params"]["auth"], json!({"deviceToken": "dev-A"}));
    reject(
        wire,
        &connect,
        json!({"code": "INVALID_REQUEST", "message": "unauthorized: device token mismatch",
            "details": {"code": "AUTH_DEVICE_TOKEN_MISMATCH"}}),
        1008,
        "unauthorized: device token mismatch",
    )
    .await;
    let s = wait_state(&node, "paused", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    assert!(matches!(&s, NodeState::Paused(p) if p.code.as_deref() == Some("AUTH_DEVICE_TOKEN_MISMATCH")), "{s:?}");
    assert!(store.load_token(&key).unwrap().is_none(), "the rejected token was deleted");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (cancel racing the result): 40 invokes of a 0-3 ms handler, each followed at
// once by its `node.invoke.cancel`. Every id ends with at most one result, never a result
// after the node counted it cancelled: results + cancellations = 40; the session survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_racing_the_result_gives_at_most_one_outcome() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    const N: u64 = 40;
    for i in 0..N {
        let id = format!("race-{i}");
        wire.invoke(&id, "test.sleep", json!({"ms": i % 4}), 5000).await;
        wire.conn.send_event("node.invoke.cancel", json!({"invokeId": id, "nodeId": nid}), None).await.unwrap();
    }
    let stats = node.invoke_stats();
    eventually("every race settled", STEP, || {
        stats.succeeded.load(Ordering::SeqCst) + stats.cancelled.load(Ordering::SeqCst) == N
    })
    .await;
    wire.drain(Duration::from_millis(500)).await;
    let mut results = 0;
    for i in 0..N {
        let n = result_count(&wire, &format!("race-{i}"));
        assert!(n <= 1, "race-{i} answered {n} times");
        results += n as u64;
    }
    assert_eq!(results, stats.succeeded.load(Ordering::SeqCst), "every counted success is on the wire");
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected (oversized inbound frame): with a 64 KiB inbound limit, a 200 KiB text frame
// ends the session (capacity error, no panic); the node reconnects once after its backoff
// and serves invokes. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_inbound_frame_ends_the_session_and_reconnects() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.transport.max_inbound_message = 64 * 1024;
    let (node, _store) = new_node(cfg, &probes);
    node.start();
    let wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let big = json!({"type": "event", "event": "health", "payload": {"pad": "x".repeat(200 * 1024)}});
    let _ = wire.conn.send_json(&big).await;
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.invoke("after-big", "test.echo", json!(2), 5000).await;
    assert_eq!(wire2.result().await["ok"], true);
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (storm bound): a Gateway that answers hello and closes 1012 with
// `restartExpectedMs: 0` right away, plus an app nudging 50 times a second, cannot make the
// node exceed its attempt budget (here 5 per minute): exactly 5 connections within 6 s,
// the state says why it waits. (Default budget: 10 per minute; battery profile: 6.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_per_minute_are_bounded_under_a_flapping_gateway() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.max_attempts_per_minute = 5;
    let (node, _store) = new_node(cfg, &probes);
    node.start();
    let nudger = {
        let n = node.clone();
        tokio::spawn(async move {
            loop {
                n.nudge();
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let t0 = Instant::now();
    let mut conns = Vec::new();
    while t0.elapsed() < Duration::from_secs(6) {
        let Ok(conn) = fake.next_conn(Duration::from_millis(500)).await else { continue };
        let mut wire = Wire::new(conn, node.device_id());
        let Got::Frame(connect) = wire.next(STEP).await else { continue };
        wire.conn.hello_ok(connect["id"].as_str().unwrap(), 30_000, MAX_PAYLOAD, None).await.unwrap();
        let _ = wire.conn.send_event("shutdown", json!({"reason": "flap", "restartExpectedMs": 0}), Some(1)).await;
        let _ = wire.conn.close(1012, "service restart").await;
        conns.push(wire);
    }
    nudger.abort();
    assert_eq!(fake.accepted_count(), 5, "the budget holds under every failure mode");
    assert!(
        matches!(node.state(), NodeState::BackingOff { ref reason, .. } if reason.contains("per minute")),
        "{:?}",
        node.state()
    );
    stop(&node).await;
}

// Expected (suspend/unsuspend): `suspend()` closes the live session with 1000, the state is
// Suspended and no socket opens (nudges included) until `unsuspend()`, which connects at
// once; `resume()` does not lift a suspension. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_closes_and_unsuspend_reconnects_at_once() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    node.suspend();
    let close = loop {
        match wire.next(STEP).await {
            Got::Frame(f) => wire.auto_ack(&f).await,
            other => break other,
        }
    };
    assert!(matches!(close, Got::Close(Some(1000), _)), "{close:?}");
    wait_state(&node, "suspended", STEP, |s| *s == NodeState::Suspended).await;
    node.nudge();
    node.resume();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fake.accepted_count(), 1, "no socket while suspended");
    assert!(node.is_suspended());
    let t = Instant::now();
    node.unsuspend();
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    assert!(fake.accepted_times()[1] - t < Duration::from_millis(500), "unsuspend connects at once");
    wire2.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (pause API): `pause("user")` closes the session (1000), the state is Paused
// {Requested, "user"} with no retries; `resume()` connects again. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_api_holds_until_resume() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let _wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    node.pause("user asked");
    let s = wait_state(&node, "paused", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    assert!(matches!(&s, NodeState::Paused(p) if p.kind == PauseKind::Requested && p.message == "user asked"), "{s:?}");
    node.nudge();
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(fake.accepted_count(), 1);
    node.resume();
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (handshake deadline, transport.md §5.1): a server that accepts TCP but never
// answers the WebSocket upgrade is abandoned after `upgrade_timeout` (300 ms here, 15 s by
// default) and retried with backoff; bounded attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrade_deadline() {
    count_worker_panics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let accepts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let a = accepts.clone();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            a.lock().unwrap().push(Instant::now());
            held.push(s);
        }
    });
    let mut cfg = NodeConfig::new(Endpoint::parse(&url).unwrap(), ClientDescriptor::linux_node_host("0.1.0-test"));
    cfg.credentials = Credentials { shared_token: Some(SHARED.into()), ..Default::default() };
    cfg.transport.upgrade_timeout = Duration::from_millis(300);
    cfg.backoff.initial = Duration::from_millis(100);
    let node = Node::new(cfg, CommandRegistry::new(), Arc::new(MemoryStore::default())).unwrap();
    node.start();
    eventually("a second attempt", STEP, || accepts.lock().unwrap().len() >= 2).await;
    let t = accepts.lock().unwrap().clone();
    let gap = t[1] - t[0];
    assert!(gap >= Duration::from_millis(380) && gap < Duration::from_millis(1500), "{gap:?}");
    stop(&node).await;
    server.abort();
}

fn camera_registry(p: &Arc<Probes>) -> CommandRegistry {
    let mut r = registry(p);
    let probes = p.clone();
    r.register_foreground("camera.snap", move |_ctx: InvokeContext| {
        let p = probes.clone();
        async move {
            p.sleep_runs.fetch_add(100, Ordering::SeqCst);
            Ok(json!({"format": "jpg"}))
        }
    })
    .unwrap();
    r
}

// Expected (foreground gating and queued work, commands.md §4): backgrounded, the
// foreground-only `camera.snap` answers `NODE_BACKGROUND_UNAVAILABLE` without running while
// `test.echo` still works. `set_foreground(true)` → `node.pending.pull {}`; the queued
// `camera.snap` runs through the router (handler runs once), then `node.pending.ack
// {ids:["q1"]}`, then `node.pending.drain {maxItems:10}` whose item reaches the app as a
// PendingWork notice. `report_alive` right after the connect probe is throttled locally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_gating_pull_run_ack_and_drain() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    count_worker_panics();
    let node = Node::new(base_cfg(&fake), camera_registry(&probes), Arc::new(MemoryStore::default())).unwrap();
    let nid = node.device_id().to_string();
    let mut notices = node.notices();
    node.set_foreground(false);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    assert_eq!(
        node.report_alive(clawnode::events::PresenceTrigger::SilentPush).await.unwrap(),
        clawnode::AliveOutcome::Throttled
    );

    wire.invoke("bg-1", "camera.snap", json!({}), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"]["code"], "NODE_BACKGROUND_UNAVAILABLE", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().starts_with("NODE_BACKGROUND_UNAVAILABLE: "), "{r}");
    assert_eq!(probes.sleep_runs.load(Ordering::SeqCst), 0, "handler not run");
    wire.invoke("bg-2", "test.echo", json!("bg"), 5000).await;
    assert_eq!(wire.result().await["ok"], true);

    node.set_foreground(true);
    let pull = wire.expect("node.pending.pull", STEP).await;
    assert_eq!(pull["params"], json!({}));
    wire.ack(
        &pull,
        json!({"nodeId": nid, "actions": [{"id": "q1", "command": "camera.snap",
        "paramsJSON": "{\"quality\":0.8}", "enqueuedAtMs": now_ms()}]}),
    )
    .await;
    let ack = wire.expect("node.pending.ack", STEP).await;
    assert_eq!(ack["params"], json!({"ids": ["q1"]}));
    assert_eq!(probes.sleep_runs.load(Ordering::SeqCst), 100, "the queued action ran once");
    wire.ack(&ack, json!({"nodeId": nid, "ackedIds": ["q1"], "remainingCount": 0})).await;
    let drain = wire.expect("node.pending.drain", STEP).await;
    assert_eq!(drain["params"], json!({"maxItems": 10}));
    wire.ack(
        &drain,
        json!({"nodeId": nid, "revision": 1, "items": [{"id": "baseline-status",
        "type": "status.request", "priority": "default", "createdAtMs": 1, "expiresAtMs": null}], "hasMore": false}),
    )
    .await;
    let mut got_work = false;
    let mut got_ran = false;
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline && !(got_work && got_ran) {
        match tokio::time::timeout(Duration::from_millis(200), notices.recv()).await {
            Ok(Ok(NodeNotice::PendingWork { item })) => {
                assert_eq!(item.kind, "status.request");
                got_work = true;
            }
            Ok(Ok(NodeNotice::PendingActionRan { id, command, error })) => {
                assert_eq!((id.as_str(), command.as_str(), error), ("q1", "camera.snap", None));
                got_ran = true;
            }
            _ => {}
        }
    }
    assert!(got_work && got_ran, "work {got_work}, ran {got_ran}");
    wire.invoke("fg-1", "camera.snap", json!({}), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected (offline outbox): while disconnected, `notifications.changed` and `exec.finished`
// are queued (`reason:"queued"`), `node.host.stats` keeps only the newest, `agent.request`
// and `voice.transcript` fail fast with NotConnected; with room for 3 the oldest is dropped
// and counted. After hello and the readiness probe the queue is flushed in order: n2, stats
// #2, exec — then a live event goes out directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_queues_offline_and_flushes_in_order_after_hello() {
    use clawnode::events::{
        AgentRequest, ExecEvent, HostStats, NodeEvent, NotificationChange, NotificationsChanged, VoiceTranscript,
    };
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let mut cfg = base_cfg(&fake);
    cfg.outbox.max_events = 3;
    let (node, _store) = new_node(cfg, &probes);
    let notif = |k: &str| {
        NodeEvent::NotificationsChanged(NotificationsChanged {
            change: NotificationChange::Posted,
            key: k.into(),
            session_key: None,
            package_name: None,
            title: None,
            text: None,
        })
    };
    let stats = |cpu: u32| {
        NodeEvent::HostStats(HostStats {
            cpu_count: cpu,
            load_average: None,
            memory_total_bytes: 8,
            memory_free_bytes: 4,
            disk_total_bytes: None,
            disk_available_bytes: None,
        })
    };
    let exec = NodeEvent::ExecFinished(ExecEvent {
        session_key: None,
        run_id: "run-1".into(),
        host: "node",
        command: Some("ls".into()),
        exit_code: Some(0),
        timed_out: None,
        success: Some(true),
        output: None,
        reason: None,
    });
    let r = node.send_event(notif("n1")).await.unwrap();
    assert_eq!(r.reason.as_deref(), Some("queued"));
    node.send_event(notif("n2")).await.unwrap();
    node.send_event(stats(1)).await.unwrap();
    node.send_event(stats(2)).await.unwrap();
    assert!(matches!(node.emit_event(exec.clone()).await.unwrap(), clawnode::EventDelivery::Queued));
    let agent = NodeEvent::AgentRequest(AgentRequest {
        message: "stale".into(),
        session_key: None,
        channel: None,
        to: None,
        deliver: None,
        timeout_seconds: None,
    });
    assert!(matches!(node.send_event(agent).await, Err(clawnode::NodeError::NotConnected)));
    let voice = NodeEvent::VoiceTranscript(VoiceTranscript {
        text: "hi".into(),
        session_key: None,
        event_id: None,
        timestamp: None,
    });
    assert!(matches!(node.send_event(voice).await, Err(clawnode::NodeError::NotConnected)));
    let s = node.outbox_stats();
    assert_eq!((s.queued, s.dropped_overflow, s.replaced, s.refused), (3, 1, 1, 2), "{s:?}");

    node.start();
    let (mut wire, _) = accept(&mut fake, &node, 30_000, MAX_PAYLOAD, None).await;
    let probe = wire.expect("node.event", STEP).await;
    assert_eq!(probe["params"]["event"], "node.presence.alive");
    wire.auto_ack(&probe).await;
    let mut flushed = Vec::new();
    for _ in 0..3 {
        let f = wire.expect("node.event", STEP).await;
        wire.auto_ack(&f).await;
        flushed.push(f["params"].clone());
    }
    let names: Vec<&str> = flushed.iter().map(|p| p["event"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["notifications.changed", "node.host.stats", "exec.finished"]);
    assert!(flushed[0]["payloadJSON"].as_str().unwrap().contains("\"n2\""));
    assert!(flushed[1]["payloadJSON"].as_str().unwrap().contains("\"cpuCount\":2"));
    eventually("flush counted", STEP, || node.outbox_stats().flushed == 3).await;
    let n = node.clone();
    let live = tokio::spawn(async move { n.emit_event(notif("live")).await });
    let f = wire.expect("node.event", STEP).await;
    wire.auto_ack(&f).await;
    assert!(matches!(live.await.unwrap().unwrap(), clawnode::EventDelivery::Sent(_)));
    assert_eq!(node.outbox_stats().queued, 0);
    stop(&node).await;
}

// Expected (typed catalog, commands.md §3–§6, as an iOS node): catalog commands declare their
// cap family; params reach handlers normalized with iOS defaults and clamps (camera.snap
// front/1600/0.9/0 ms; quality 5 → 1, delayMs 99999 → 10000; location.get timeoutMs 10000,
// 500 → 1000); bad params (`maxWidth:"wide"`, an empty notification) answer
// INVALID_REQUEST without running the handler; a 5 000 000-byte snap answers
// PAYLOAD_TOO_LARGE ("Reduce maxWidth or quality") and the session stays; backgrounded,
// camera.snap answers NODE_BACKGROUND_UNAVAILABLE (iOS rule, registered with plain
// `register_typed`) while location.get and a non-catalog command still run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_rules_for_an_ios_node() {
    use clawnode::commands::{CameraFacing, CameraSnap, CameraSnapParams, CameraSnapResult};
    let mut fake = FakeGateway::start().await.unwrap();
    count_worker_panics();
    let seen: Arc<std::sync::Mutex<Vec<CameraSnapParams>>> = Arc::default();
    let notify_runs = Arc::new(AtomicU64::new(0));
    let mut r = CommandRegistry::new();
    let s = seen.clone();
    r.register_typed::<CameraSnap, _, _>(move |p: CameraSnapParams, _ctx| {
        let s = s.clone();
        async move {
            let len = if p.device_id.as_deref() == Some("big") { 5_000_000 } else { 8 };
            s.lock().unwrap().push(p);
            Ok(CameraSnapResult { format: "jpg".into(), base64: "A".repeat(len), width: 16, height: 12 })
        }
    })
    .unwrap();
    r.register("location.get", |ctx: InvokeContext| async move { Ok(ctx.params) }).unwrap();
    let n = notify_runs.clone();
    r.register("system.notify", move |_ctx: InvokeContext| {
        n.fetch_add(1, Ordering::SeqCst);
        async { Ok(json!({})) }
    })
    .unwrap();
    r.register("acme.gpio.read", |ctx: InvokeContext| async move { Ok(json!({"raw": ctx.params})) }).unwrap();
    let mut cfg = base_cfg(&fake);
    cfg.client.platform = "iOS 18.4".into();
    cfg.client.device_family = Some("iPhone".into());
    let node = Node::new(cfg, r, Arc::new(MemoryStore::default())).unwrap();
    node.start();
    let (mut wire, connect) = accept(&mut fake, &node, 30_000, MAX_PAYLOAD, None).await;
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    assert_eq!(connect["params"]["caps"], json!(["acme", "camera", "location", "system"]));
    assert_eq!(
        connect["params"]["commands"],
        json!(["acme.gpio.read", "camera.snap", "location.get", "system.notify"])
    );
    let payload = |r: &Value| serde_json::from_str::<Value>(r["payloadJSON"].as_str().unwrap()).unwrap();

    wire.invoke("s1", "camera.snap", json!({}), 5000).await;
    let r = wire.result().await;
    assert_eq!(payload(&r), json!({"format": "jpg", "base64": "AAAAAAAA", "width": 16, "height": 12}));
    wire.invoke("s2", "camera.snap", json!({"quality": 5, "delayMs": 99_999, "format": "jpeg"}), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            (seen[0].facing, seen[0].max_width, seen[0].quality, seen[0].delay_ms),
            (CameraFacing::Front, 1600, 0.9, 0)
        );
        assert_eq!((seen[1].quality, seen[1].delay_ms), (1.0, 10_000));
    }
    wire.invoke("s3", "camera.snap", json!({"maxWidth": "wide"}), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["error"]["code"], "INVALID_REQUEST", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("maxWidth"), "{r}");
    assert_eq!(seen.lock().unwrap().len(), 2, "the handler did not run");
    wire.invoke("s4", "camera.snap", json!({"deviceId": "big"}), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["error"]["code"], "PAYLOAD_TOO_LARGE", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("Reduce maxWidth or quality"), "{r}");

    wire.invoke("l1", "location.get", Value::Null, 5000).await;
    assert_eq!(payload(&wire.result().await)["timeoutMs"], 10_000);
    wire.invoke("l2", "location.get", json!({"timeoutMs": 500, "extra": true}), 5000).await;
    let p = payload(&wire.result().await);
    assert_eq!(p["timeoutMs"], 1000);
    assert!(p.get("extra").is_none(), "normalized params carry only catalog keys: {p}");
    wire.invoke("n1", "system.notify", json!({"title": " ", "body": ""}), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["error"]["code"], "INVALID_REQUEST", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("empty notification"), "{r}");
    assert_eq!(notify_runs.load(Ordering::SeqCst), 0);

    node.set_foreground(false);
    wire.invoke("b1", "camera.snap", json!({}), 5000).await;
    assert_eq!(wire.result().await["error"]["code"], "NODE_BACKGROUND_UNAVAILABLE");
    wire.invoke("b2", "location.get", json!({}), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    wire.invoke("b3", "acme.gpio.read", json!({"pin": 4}), 5000).await;
    assert_eq!(payload(&wire.result().await), json!({"raw": {"pin": 4}}));
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert_eq!(fake.accepted_count(), 1, "one session throughout");
    stop(&node).await;
}

// Expected: `stop()` returns only after every handler has ended: a handler that ignores
// cancellation (`test.stubborn`, 5 s sleep) is aborted after the 1 s grace and dropped before
// `stop()` returns (so nothing of it, e.g. a foreign future of the bindings, outlives the
// node); it never finishes and its result is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_waits_for_handlers_to_end() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    let (node, _store) = new_node(base_cfg(&fake), &probes);
    node.start();
    let wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire.invoke("s-1", "test.stubborn", json!({"ms": 5000}), 30_000).await;
    eventually("the handler runs", STEP, || probes.stubborn_started.load(Ordering::SeqCst) == 1).await;
    let started = Instant::now();
    stop(&node).await;
    let took = started.elapsed();
    assert_eq!(probes.stubborn_dropped.load(Ordering::SeqCst), 1, "the handler was dropped before stop() returned");
    assert_eq!(probes.stubborn_finished.load(Ordering::SeqCst), 0);
    assert!(took >= Duration::from_millis(900) && took < Duration::from_secs(4), "{took:?}");
    assert!(wire.results_for("s-1").is_empty());
}
