//! What the mobile bindings get from the core (issue #14), against the real Gateway
//! (`openclaw@2026.9.6`), through the core API the FFI wraps:
//!
//! 1. an iPhone node (`openclaw-ios`, `iOS 18.4`):
//!    - progress: `node.invoke.progress` reaches the Gateway attributed to the invoke (acked;
//!      a `NODE_NOT_READY` after it is turned by the Gateway into "not-ready after
//!      invocation progress" — the only way an operator's `node.invoke` shows progress:
//!      the Gateway forwards chunks only to its own internal callers);
//!    - a Gateway event with its payload: `chat.subscribe` to a session, then the operator's
//!      `chat.inject` → a typed `chat` event (`final`, the message) as a notice;
//!    - a foreground action queued while backgrounded (`screen.record` →
//!      `QUEUED_UNTIL_FOREGROUND`) runs after `set_foreground(true)` and is acked
//!      (`PendingActionRan` with the Gateway's `queuedActionId`); the drained work queue
//!      item reaches the app (`PendingWork`);
//!    - node-role requests: `node.skills.update`, `node.pluginSurface.refresh`, a generic
//!      request, a reserved method refused locally; absent params reach a handler as `{}`.
//! 2. a setup code with two URLs whose first is dead: the node chooses the second and pairs.
//! 3. TLS: a pin mismatch pauses with expected/observed/system-trusted; `trust_pin`
//!    stores the pin and the node becomes ready; a new node on the same store uses it; a
//!    configured pin (a setup code's) is stored after the hello it led to.
//!
//! Input chunks (`node.invoke.input`) are tested on the fake Gateway (`fake_faults`): the
//! real one sends them only for its own duplex features, which a loopback operator cannot
//! start.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::gateway_event::{ChatState, GatewayEvent};
use clawnode::protocol::{ClientId, NodeSkill};
use clawnode::store::{MemoryStore, PinStore};
use clawnode::{
    ClientDescriptor, CommandError, CommandRegistry, Credentials, InvokeContext, Node, NodeConfig, NodeError,
    NodeEvent, NodeNotice, NodeState, PauseKind, Remediation,
};
use clawnode_testkit::{Gateway, Operator, wait_state};
use serde_json::{Value, json};
use tokio::sync::broadcast;

const T: Duration = Duration::from_secs(60);

fn iphone() -> ClientDescriptor {
    ClientDescriptor {
        id: ClientId::Ios,
        display_name: Some("parity-iphone".into()),
        version: "1.2.3".into(),
        platform: "iOS 18.4".into(),
        device_family: Some("iPhone".into()),
        model_identifier: Some("iPhone17,1".into()),
        instance_id: None,
    }
}

#[derive(Default)]
struct Seen {
    progress_ack: Mutex<Option<Result<(), String>>>,
    echo_params: Mutex<Option<Value>>,
    snaps: Mutex<u32>,
}

fn registry(seen: Arc<Seen>) -> CommandRegistry {
    let mut r = CommandRegistry::new();
    let s = seen.clone();
    r.register("test.progress", move |ctx: InvokeContext| {
        let s = s.clone();
        async move {
            let ack = ctx.progress().send("step 1 of 2\n").await.map_err(|e| e.to_string());
            *s.progress_ack.lock().unwrap() = Some(ack);
            // NODE_NOT_READY after progress: the Gateway must not retry it.
            Err(CommandError::new("NODE_NOT_READY", "not ready after all"))
        }
    })
    .unwrap();
    let s = seen.clone();
    r.register("test.echo", move |ctx: InvokeContext| {
        let s = s.clone();
        async move {
            *s.echo_params.lock().unwrap() = Some(ctx.params.clone());
            Ok(json!({"ok": true}))
        }
    })
    .unwrap();
    let s = seen;
    r.register("screen.record", move |_ctx: InvokeContext| {
        let s = s.clone();
        async move {
            *s.snaps.lock().unwrap() += 1;
            Ok(json!({"format": "mp4", "base64": "", "durationMs": 1, "hasAudio": false}))
        }
    })
    .unwrap();
    r
}

/// The next notice matching `pred`, within `T`.
async fn notice<F: Fn(&NodeNotice) -> bool>(
    rx: &mut broadcast::Receiver<NodeNotice>,
    what: &str,
    pred: F,
) -> NodeNotice {
    let r = tokio::time::timeout(T, async {
        loop {
            match rx.recv().await {
                Ok(n) if pred(&n) => return n,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => panic!("notices closed waiting for {what}"),
            }
        }
    })
    .await;
    r.unwrap_or_else(|_| panic!("no {what} notice within {T:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iphone_progress_events_queued_work_and_requests() {
    let gw = Gateway::builder()
        .allow_commands(&["test.progress", "test.echo", "screen.record"])
        .start()
        .await
        .expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let seen = Arc::new(Seen::default());
    let mut cfg = NodeConfig::new(Endpoint::parse(&gw.ws_url()).unwrap(), iphone());
    cfg.credentials = Credentials { shared_token: Some(gw.token().into()), ..Default::default() };
    let node = Node::new(cfg, registry(seen.clone()), Arc::new(MemoryStore::default())).unwrap();
    let id = node.device_id().to_string();
    let mut notices = node.notices();
    node.start();
    wait_state(&node, "awaiting command approval", T, |s| matches!(s, NodeState::AwaitingCommandApproval { .. })).await;
    let surface = op.wait_for_pending_node(T).await.unwrap();
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    wait_state(&node, "ready", T, |s| matches!(s, NodeState::Ready { .. })).await;

    // Absent params: `{}` for the handler.
    op.node_invoke(&id, "test.echo", Value::Null, 10_000).await.unwrap();
    assert_eq!(seen.echo_params.lock().unwrap().clone(), Some(json!({})));

    // 1a. Progress reaches the Gateway for this invoke.
    let e = op.node_invoke(&id, "test.progress", json!({}), 10_000).await.unwrap_err();
    let shape = e.shape().expect("gateway error").clone();
    assert_eq!(shape.code, "UNAVAILABLE", "{shape}");
    assert!(shape.message.contains("not-ready after invocation progress"), "{shape}");
    assert_eq!(seen.progress_ack.lock().unwrap().clone(), Some(Ok(())), "the Gateway acked the progress frame");

    // 1b. chat.subscribe, then the operator injects a message into that session.
    let created = op.request("sessions.create", json!({"key": "parity-chat"})).await.unwrap();
    let key = created["key"].as_str().unwrap_or("parity-chat").to_string();
    let sub = NodeEvent::Custom { event: "chat.subscribe".into(), payload: json!({"sessionKey": key}) };
    node.emit_event(sub).await.unwrap();
    op.request("chat.inject", json!({"sessionKey": key, "message": "hello from the operator"})).await.unwrap();
    let n =
        notice(&mut notices, "chat event", |n| matches!(n, NodeNotice::GatewayEvent { event: GatewayEvent::Chat(_) }))
            .await;
    let NodeNotice::GatewayEvent { event: GatewayEvent::Chat(chat) } = n else { unreachable!() };
    assert_eq!(chat.state, ChatState::Final);
    assert!(chat.run_id.starts_with("inject-"), "{chat:?}");
    assert!(chat.session_key.ends_with("parity-chat"), "{chat:?}");
    let message = chat.message.expect("the message").to_string();
    assert!(message.contains("hello from the operator"), "{message}");

    // 1c. A foreground action queued while backgrounded, run on the return.
    node.set_foreground(false);
    let e = op.node_invoke(&id, "screen.record", json!({}), 10_000).await.unwrap_err();
    let shape = e.shape().expect("gateway error").clone();
    let details = shape.details.clone().unwrap_or_default();
    assert_eq!(details["code"], "QUEUED_UNTIL_FOREGROUND", "{shape}");
    let queued = details["queuedActionId"].as_str().expect("queuedActionId").to_string();
    assert_eq!(*seen.snaps.lock().unwrap(), 0, "not run in the background");
    node.set_foreground(true);
    let n = notice(&mut notices, "pending action ran", |n| matches!(n, NodeNotice::PendingActionRan { .. })).await;
    assert_eq!(n, NodeNotice::PendingActionRan { id: queued, command: "screen.record".into(), error: None });
    assert_eq!(*seen.snaps.lock().unwrap(), 1, "the queued action ran once");
    let n = notice(&mut notices, "pending work", |n| matches!(n, NodeNotice::PendingWork { .. })).await;
    let NodeNotice::PendingWork { item } = n else { unreachable!() };
    assert_eq!(item.kind, "status.request", "{item:?}");
    let pulled = node.pending_pull().await.unwrap();
    assert!(pulled.actions.is_empty(), "acked: nothing left to pull ({pulled:?})");

    // 1d. Node-role requests.
    let skill = NodeSkill { name: "parity-skill".into(), description: "A test skill.".into(), content: "Do X.".into() };
    let r = node.update_skills(vec![skill]).await.unwrap();
    assert_eq!(r["nodeId"], id.as_str(), "{r}");
    let e = node.refresh_plugin_surface("canvas", None).await.unwrap_err();
    assert!(matches!(&e, NodeError::Request(clawnode::RequestError::Rejected(s)) if s.code == "UNAVAILABLE"), "{e}");
    let health = node.request("health", json!({})).await.unwrap();
    assert!(health.is_object(), "{health}");
    let e = node.request("node.event", json!({})).await.unwrap_err();
    assert!(matches!(e, NodeError::ReservedMethod(ref m) if m == "node.event"), "{e}");
    node.stop().await;
}

/// The node's command surface awaits the operator (a mobile node, even without commands).
async fn approve_surface(node: &Node, op: &Operator) {
    wait_state(node, "awaiting command approval", T, |s| {
        matches!(s, NodeState::AwaitingCommandApproval { .. } | NodeState::Ready { .. })
    })
    .await;
    if matches!(node.state(), NodeState::AwaitingCommandApproval { .. }) {
        let surface = op.wait_for_pending_node(T).await.unwrap();
        op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    }
}

fn setup_code(primary: &str, urls: &[&str], token: &str) -> String {
    use base64::Engine as _;
    let v = json!({"url": primary, "urls": urls, "bootstrapToken": token});
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(&v).unwrap())
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_code_whose_first_url_is_dead_pairs_with_the_second() {
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let setup = op
        .request("device.pair.setupCode", json!({"bootstrapProfile": "node", "publicUrl": gw.ws_url()}))
        .await
        .unwrap();
    let issued = clawnode::setup_code::decode(setup["setupCode"].as_str().unwrap(), now_ms()).unwrap();
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dead = format!("ws://127.0.0.1:{dead_port}");
    let live = gw.ws_url();
    let code = setup_code(&dead, &[&dead, &live], issued.bootstrap_token.expose());
    let code = clawnode::setup_code::decode(&code, now_ms()).unwrap();
    let cfg = NodeConfig::for_setup_code(&code, iphone()).unwrap();
    assert_eq!(cfg.endpoint.origin().to_string(), dead, "the primary first");
    let node = Node::new(cfg, CommandRegistry::new(), Arc::new(MemoryStore::default())).unwrap();
    node.start();
    approve_surface(&node, &op).await;
    wait_state(&node, "ready through the second URL", T, |s| matches!(s, NodeState::Ready { .. })).await;
    assert_eq!(node.endpoint().origin().to_string(), live.trim_end_matches('/'));
    assert_eq!(node.connect_attempts(), 1, "the dead URL cost a probe, not a handshake");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pin_mismatch_then_trust_then_ready_and_the_pin_is_kept() {
    let certs = tempfile::tempdir().unwrap();
    let cert_path = certs.path().join("gateway-cert.pem");
    let key_path = certs.path().join("gateway-key.pem");
    let gw = Gateway::builder()
        .extra_config(json!({"gateway": {"tls": {
            "enabled": true,
            "autoGenerate": true,
            "certPath": cert_path.to_str().unwrap(),
            "keyPath": key_path.to_str().unwrap(),
        }}}))
        .start()
        .await
        .expect("TLS gateway starts (needs the system openssl)");
    let url = format!("wss://127.0.0.1:{}", gw.port());
    let pin = TlsPin::of_der(&clawnode_testkit::tls::first_cert_der(&cert_path).expect("gateway cert"));
    let old = TlsPin::parse(&"ab".repeat(32)).unwrap();
    let store = Arc::new(MemoryStore::default());
    let cfg_for = |pin: Option<TlsPin>| {
        let mut cfg = NodeConfig::new(Endpoint::parse_pinned(&url, pin).unwrap(), iphone());
        cfg.credentials = Credentials { shared_token: Some(gw.token().into()), ..Default::default() };
        cfg.pins = Some(store.clone());
        cfg
    };

    // The app pinned an old certificate: the rotation pauses with both fingerprints.
    let node = Node::new(cfg_for(Some(old)), CommandRegistry::new(), store.clone()).unwrap();
    node.start();
    let s = wait_state(&node, "pin mismatch", T, |s| matches!(s, NodeState::Paused(_))).await;
    let NodeState::Paused(p) = s else { unreachable!() };
    assert_eq!(p.remediation_kind(), Remediation::TrustCertificate);
    let PauseKind::PinMismatch(m) = &p.kind else { panic!("{p:?}") };
    assert_eq!((m.expected, m.observed, m.system_trusted), (old, pin, false));
    assert_eq!(store.load_pin(&url).unwrap(), None, "nothing stored before the app decides");

    // The app decides to trust the observed certificate: stored, resumed, ready.
    node.trust_pin(m.observed).unwrap();
    assert_eq!(store.load_pin(&url).unwrap(), Some(pin));
    let op = Operator::connect(&url, gw.token()).await.expect("operator connects over wss");
    approve_surface(&node, &op).await;
    wait_state(&node, "ready after trusting", T, |s| matches!(s, NodeState::Ready { .. })).await;
    node.stop().await;

    // Next start without a configured pin: the stored one applies.
    let node = Node::new(cfg_for(None), CommandRegistry::new(), store.clone()).unwrap();
    assert_eq!(node.endpoint().pin, Some(pin));
    node.start();
    wait_state(&node, "ready with the stored pin", T, |s| matches!(s, NodeState::Ready { .. })).await;
    node.stop().await;

    // A pin that came with the configuration (a setup code's) is stored once it led to a hello.
    let fresh = Arc::new(MemoryStore::default());
    let mut cfg = cfg_for(Some(pin));
    cfg.pins = Some(fresh.clone());
    let node = Node::new(cfg, CommandRegistry::new(), store.clone()).unwrap();
    node.start();
    wait_state(&node, "ready with the configured pin", T, |s| matches!(s, NodeState::Ready { .. })).await;
    assert_eq!(fresh.load_pin(&url).unwrap(), Some(pin), "kept for the next start");
    node.stop().await;
}
