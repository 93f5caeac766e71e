//! The core `Node` (in process) against the real Gateway:
//!
//! 4. a handler error reaches the operator as `UNAVAILABLE "<CODE>: <CODE>: msg"` with
//!    `details.nodeError`; a handler that overruns `timeoutMs` yields the Gateway's TIMEOUT,
//!    sees its cancellation, and sends nothing afterwards;
//! 5. a Gateway restart (`shutdown` + 1012): the node reconnects by itself and serves
//!    invokes again; the invoke that was running when the socket died is cancelled and its
//!    result is never sent on the new socket.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clawnode::endpoint::Endpoint;
use clawnode::store::MemoryStore;
use clawnode::{
    ClientDescriptor, CommandError, CommandRegistry, Credentials, InvokeContext, Node, NodeConfig, NodeState,
};
use clawnode_testkit::{Gateway, Operator, eventually, wait_state};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);
/// Bound for `eventually` (10 s: what the file's own copy polled for).
const EVENTUALLY: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Probes {
    slow_started: AtomicU64,
    slow_cancelled: AtomicU64,
    slow_finished: AtomicU64,
}

fn registry(p: Arc<Probes>) -> CommandRegistry {
    let mut r = CommandRegistry::new();
    r.register("test.echo", |ctx: InvokeContext| async move { Ok(json!({ "echo": ctx.params })) }).unwrap();
    r.register("test.fail", |_ctx: InvokeContext| async move { Err(CommandError::new("TEST_FAILED", "boom")) })
        .unwrap();
    r.register("test.slow", move |ctx: InvokeContext| {
        let p = p.clone();
        async move {
            p.slow_started.fetch_add(1, Ordering::SeqCst);
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(30)) => {
                    p.slow_finished.fetch_add(1, Ordering::SeqCst);
                    Ok(json!({"late": true}))
                }
                _ = ctx.cancel.cancelled() => {
                    p.slow_cancelled.fetch_add(1, Ordering::SeqCst);
                    Err(CommandError::new("CANCELLED", "cancelled"))
                }
            }
        }
    })
    .unwrap();
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_timeouts_and_gateway_restart() {
    let mut gw = Gateway::builder()
        .allow_commands(&["test.echo", "test.fail", "test.slow"])
        .start()
        .await
        .expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");

    let probes = Arc::new(Probes::default());
    let mut cfg =
        NodeConfig::new(Endpoint::parse(&gw.ws_url()).unwrap(), ClientDescriptor::linux_node_host("0.1.0-test"));
    cfg.client.display_name = Some("invoke-test".into());
    cfg.credentials = Credentials { shared_token: Some(gw.token().into()), ..Default::default() };
    let node = Node::new(cfg, registry(probes.clone()), Arc::new(MemoryStore::default())).unwrap();
    let device_id = node.device_id().to_string();
    node.start();

    // Loopback device pairing is silent by default; the surface still needs approval.
    wait_state(&node, "awaiting command approval", T, |s| matches!(s, NodeState::AwaitingCommandApproval { .. })).await;
    let surface = op.wait_for_pending_node(T).await.unwrap();
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    wait_state(&node, "ready", T, |s| matches!(s, NodeState::Ready { .. })).await;

    let r = op.node_invoke(&device_id, "test.echo", json!({"x": 1, "s": "é"}), 10_000).await.unwrap();
    assert_eq!(r["payload"], json!({"echo": {"x": 1, "s": "é"}}));
    assert_eq!(r["ok"], true);

    // 4a. Handler error: exact operator-visible shape.
    let e = op.node_invoke(&device_id, "test.fail", Value::Null, 10_000).await.unwrap_err();
    let shape = e.shape().expect("gateway error");
    assert_eq!(shape.code, "UNAVAILABLE");
    assert_eq!(shape.message, "TEST_FAILED: TEST_FAILED: boom");
    let details = shape.details.clone().unwrap();
    assert_eq!(details["nodeError"]["code"], "TEST_FAILED");
    assert_eq!(details["nodeError"]["message"], "TEST_FAILED: boom");

    // Unknown command: the Gateway refuses it before it reaches the node.
    let e = op.node_invoke(&device_id, "test.nope", Value::Null, 5_000).await.unwrap_err();
    assert_eq!(e.shape().unwrap().code, "INVALID_REQUEST");

    // 4b. Overrun: the Gateway times out; the handler sees the cancellation; no late result.
    let stats = node.invoke_stats();
    let succeeded_before = stats.succeeded.load(Ordering::SeqCst);
    let e = op.node_invoke(&device_id, "test.slow", Value::Null, 1_500).await.unwrap_err();
    let shape = e.shape().expect("gateway error");
    assert_eq!(shape.code, "UNAVAILABLE", "{shape}");
    assert!(shape.message.starts_with("TIMEOUT"), "{shape}");
    assert_eq!(shape.details.clone().unwrap()["nodeError"]["code"], "TIMEOUT");
    eventually("slow handler cancelled", EVENTUALLY, || probes.slow_cancelled.load(Ordering::SeqCst) == 1).await;
    assert_eq!(probes.slow_finished.load(Ordering::SeqCst), 0);
    assert_eq!(stats.succeeded.load(Ordering::SeqCst), succeeded_before);
    // The router records the outcome just after the handler observed the cancellation.
    eventually("router counted the timeout", EVENTUALLY, || {
        stats.timed_out.load(Ordering::SeqCst) + stats.cancelled.load(Ordering::SeqCst) == 1
    })
    .await;

    // 5. Gateway restart while an invoke runs.
    let attempts_before = node.connect_attempts();
    let op_for_slow = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    let id = device_id.clone();
    let slow = tokio::spawn(async move { op_for_slow.node_invoke(&id, "test.slow", Value::Null, 25_000).await });
    eventually("second slow handler started", EVENTUALLY, || probes.slow_started.load(Ordering::SeqCst) == 2).await;
    op.close().await;
    gw.restart().await.expect("gateway restarts");
    assert!(slow.await.unwrap().is_err(), "the operator's invoke dies with the gateway");
    eventually("running handler cancelled by the session end", EVENTUALLY, || {
        probes.slow_cancelled.load(Ordering::SeqCst) == 2
    })
    .await;
    let ready = wait_state(&node, "ready after restart", T, |s| matches!(s, NodeState::Ready { .. })).await;
    assert!(node.connect_attempts() > attempts_before, "{ready:?}");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    op.wait_for_node_connected(&device_id, T).await.unwrap();
    let r = op.node_invoke(&device_id, "test.echo", json!([1, 2, 3]), 10_000).await.unwrap();
    assert_eq!(r["payload"], json!({"echo": [1, 2, 3]}));
    assert_eq!(probes.slow_finished.load(Ordering::SeqCst), 0);
    assert_eq!(stats.succeeded.load(Ordering::SeqCst), succeeded_before + 1, "only the new echo succeeded");
    // Bounded reconnects: a restart costs a handful of attempts, not a storm.
    assert!(node.connect_attempts() - attempts_before <= 8, "{}", node.connect_attempts() - attempts_before);

    node.stop().await;
    assert_eq!(node.state(), NodeState::Stopped);
    op.close().await;
    gw.stop().await.unwrap();
}
