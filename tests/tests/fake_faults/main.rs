//! The core `Node` (in process) against the testkit's fake Gateway: faults and edge cases
//! the real Gateway cannot produce on cue. One test binary (one link on CI), one module
//! per concern:
//!
//! * [`protocol`]: the handshake's exact shape, handshake and upgrade deadlines, malformed
//!   and oversized inbound frames;
//! * [`invoke`]: invoke forms and error shapes, duplicates, concurrency, cancel, deadlines,
//!   result size, progress, results never crossing sockets, the typed catalog;
//! * [`liveness`]: the tick watchdog, half-open sockets, pings and pongs, close codes and
//!   restart hints, the attempt budget;
//! * [`auth`]: readiness and surface approval, device pairing, auth pauses, device tokens;
//! * [`lifecycle`]: stop, suspend, pause;
//! * [`foreground`]: foreground gating and queued work;
//! * [`outbox`]: events queued offline and flushed after hello.
//!
//! Every test asserts what the node put on the wire (exact JSON shapes), that nothing
//! panicked or hung (every wait is bounded), and that reconnects stay bounded
//! (`FakeGateway::accepted_count`). Timings come from short `NodeConfig` values so the
//! whole binary runs in a few seconds. The expected outcome is written above each test.
//!
//! Time: these tests run the node and the fake over real loopback sockets on a
//! multi-threaded runtime, so they use real time. Paused tokio time needs a current-thread
//! runtime and auto-advances to the next timer whenever the runtime parks — also while a
//! frame is in flight on a real socket — so the node's handshake and ack timeouts would fire
//! early. Bounds on durations are therefore one-sided where load could only make things
//! later (a lower bound: "not before the deadline") and, where an upper bound is the point
//! ("at once", "the hint beats the backoff"), it is wide enough for a loaded 2-core CI and
//! the competing behaviour is moved further away in the test's config (see each test).

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
use clawnode_testkit::wire::STEP;
use clawnode_testkit::{FakeGateway, FakeOptions, Got, Wire, eventually, wait_state};
use serde_json::{Value, json};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

mod auth;
mod foreground;
mod invoke;
mod lifecycle;
mod liveness;
mod outbox;
mod protocol;

/// The shared Gateway token most tests configure.
const SHARED: &str = "shared-token-0123456789";
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
    // Reads `n` input chunks and answers them in the order read.
    r.register("test.input", |ctx: InvokeContext| async move {
        let n = param_u64(&ctx, "n", 3);
        let mut input = ctx.take_input().ok_or_else(|| CommandError::unavailable("no input"))?;
        let mut got = Vec::new();
        while (got.len() as u64) < n {
            match input.recv().await {
                Some(c) => got.push(json!({"seq": c.seq, "payload": c.payload_json})),
                None => break,
            }
        }
        Ok(json!({ "chunks": got }))
    })
    .unwrap();
    // Never reads its input (but keeps it open); waits for the cancellation.
    r.register("test.deaf", |ctx: InvokeContext| async move {
        let ctx = ctx; // the whole context, input included, lives as long as the handler
        ctx.cancel.cancelled().await;
        Ok(json!({"cancelled": true}))
    })
    .unwrap();
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

/// The connect preamble of a test: a fake Gateway, fresh probes, and a node (not started yet)
/// with the test [`registry`] and a memory store, configured by [`base_cfg`] then `tweak`.
struct Rig {
    fake: FakeGateway,
    probes: Arc<Probes>,
    node: Node,
    store: Arc<MemoryStore>,
}

impl Rig {
    /// A rig on a default fake Gateway.
    async fn new(tweak: impl FnOnce(&mut NodeConfig)) -> Rig {
        Rig::with(FakeOptions::default(), tweak).await
    }

    /// A rig on a fake Gateway started with `opts`.
    async fn with(opts: FakeOptions, tweak: impl FnOnce(&mut NodeConfig)) -> Rig {
        let fake = FakeGateway::start_with(opts).await.unwrap();
        let probes = Arc::new(Probes::default());
        let mut cfg = base_cfg(&fake);
        tweak(&mut cfg);
        let (node, store) = new_node(cfg, &probes);
        Rig { fake, probes, node, store }
    }
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

/// Accepts a connection, acks the readiness probe and waits for `Ready`: the one connect
/// helper (hello-ok with `tick_ms` and `max_payload`, no device token).
async fn accept_ready(fake: &mut FakeGateway, node: &Node, tick_ms: u64, max_payload: u64) -> Wire {
    let (mut wire, _) = Wire::accept(fake, node.device_id(), tick_ms, max_payload, None).await;
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    wire
}

/// The number of `node.invoke.result`s for `id` seen on `wire`.
fn result_count(wire: &Wire, id: &str) -> usize {
    wire.results_for(id).len()
}

/// The error shape of a readiness probe rejected because the command surface changed.
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
