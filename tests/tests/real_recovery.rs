//! Recovery against the real Gateway (issue 13): after a graceful restart (SIGTERM:
//! `shutdown` + close 1012) and after a crash (SIGKILL) of the Gateway, a new Gateway on the
//! same port and state answers an invoke through the node soon after it is ready, with a
//! bounded number of handshakes. The bound here is loose (5 s) so it cannot flake on a
//! loaded machine; `cargo xtask bench-recovery` measures it (5 runs each, median and max).
//!
//! And a device awaiting approval (`autoApproveLocal=false`) picks up an approval given at
//! an arbitrary moment within the pairing cadence (6 s with the default budget of 10
//! handshakes a minute) plus a margin for a loaded machine.

use std::sync::Arc;
use std::time::{Duration, Instant};

use clawnode::endpoint::Endpoint;
use clawnode::store::MemoryStore;
use clawnode::{ClientDescriptor, CommandRegistry, Credentials, InvokeContext, Node, NodeConfig, NodeState};
use clawnode_testkit::{Gateway, Operator, wait_state};
use serde_json::json;

const T: Duration = Duration::from_secs(60);

async fn wait_ready(node: &Node) {
    let mut rx = node.subscribe_state();
    let r = tokio::time::timeout(T, async {
        while !matches!(*rx.borrow_and_update(), NodeState::Ready { .. }) {
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await;
    r.unwrap_or_else(|_| panic!("not ready; state is {:?}", node.state()));
}

fn node_cfg(gw: &Gateway, creds: Credentials) -> NodeConfig {
    let mut cfg = NodeConfig::new(Endpoint::parse(&gw.ws_url()).unwrap(), ClientDescriptor::linux_node_host("0.1.0"));
    cfg.client.display_name = Some("real-recovery".into());
    cfg.credentials = creds;
    cfg
}

fn registry() -> CommandRegistry {
    let mut r = CommandRegistry::new();
    r.register("test.echo", |ctx: InvokeContext| async move { Ok(json!({ "echo": ctx.params })) }).unwrap();
    r
}

/// From now until an operator's invoke is answered by the node.
async fn first_answer(gw: &Gateway, node_id: &str) -> Duration {
    let t0 = Instant::now();
    while t0.elapsed() < T {
        if let Ok(op) = Operator::connect(&gw.ws_url(), gw.token()).await {
            while t0.elapsed() < T && op.closed().is_none() {
                if let Ok(r) = op.node_invoke(node_id, "test.echo", json!("r"), 2_000).await {
                    assert_eq!(r["payload"], json!({"echo": "r"}));
                    op.close().await;
                    return t0.elapsed();
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no answered invoke within {T:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_soon_after_a_restart_and_after_a_crash() {
    let mut gw = Gateway::builder().allow_commands(&["test.echo"]).start().await.expect("gateway starts");
    let store = Arc::new(MemoryStore::default());
    let first = Node::new(
        node_cfg(&gw, Credentials { shared_token: Some(gw.token().into()), ..Default::default() }),
        registry(),
        store.clone(),
    )
    .unwrap();
    let node_id = first.device_id().to_string();
    first.start();
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    let surface = op.wait_for_pending_node(T).await.unwrap();
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    wait_ready(&first).await;
    first.stop().await;
    op.close().await;

    let node = Node::new(node_cfg(&gw, Credentials::default()), registry(), store).unwrap();
    node.start();
    wait_ready(&node).await;
    first_answer(&gw, &node_id).await;

    for crash in [false, true] {
        let before = node.connect_attempts();
        if crash {
            gw.kill();
        }
        gw.restart().await.expect("a new gateway on the same port and state");
        let took = first_answer(&gw, &node_id).await;
        let handshakes = node.connect_attempts() - before;
        eprintln!(
            "{}: answered {took:?} after ready, {handshakes} handshakes",
            if crash { "crash" } else { "restart" }
        );
        assert!(took < Duration::from_secs(5), "ready → answered invoke: {took:?}");
        assert!(handshakes <= 10, "handshakes across the outage: {handshakes}");
    }
    node.stop().await;
    gw.stop().await.unwrap();
}

/// The pairing cadence with the default budget (60 s / 10 handshakes).
const CADENCE: Duration = Duration::from_secs(6);
/// Allowance for a loaded 2-core machine: the approval's RPC, the Gateway's handling of the
/// next connect, scheduling.
const MARGIN: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approval_is_picked_up_within_the_pairing_cadence() {
    let gw = Gateway::builder().auto_approve_local(false).allow_commands(&["test.echo"]).start().await.unwrap();
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    let node = Node::new(
        node_cfg(&gw, Credentials { shared_token: Some(gw.token().into()), ..Default::default() }),
        registry(),
        Arc::new(MemoryStore::default()),
    )
    .unwrap();
    node.start();
    let pending = op.wait_for_pending_device(T).await.unwrap();
    let request_id = pending["requestId"].as_str().unwrap().to_string();
    wait_state(&node, "awaiting device approval", T, |s| matches!(s, NodeState::AwaitingDeviceApproval { .. })).await;

    // An arbitrary moment: 2 s plus 0–6.99 s from the clock's sub-second digits, so runs
    // land in different phases of the retry cadence.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let delay = Duration::from_secs(2) + Duration::from_millis(u64::from(nanos % 7_000));
    tokio::time::sleep(delay).await;
    let attempts_before = node.connect_attempts();
    let approved = Instant::now();
    op.device_pair_approve(&request_id).await.unwrap();
    wait_state(&node, "hello after the approval", T, |s| {
        matches!(s, NodeState::AwaitingCommandApproval { .. } | NodeState::Ready { .. })
    })
    .await;
    let took = approved.elapsed();
    eprintln!("approved {delay:?} into the wait; connected {took:?} later ({} handshakes before)", attempts_before);
    assert!(took <= CADENCE + MARGIN, "approval → hello: {took:?}");
    // The retries while waiting stayed within the budget (10 in any minute).
    let waited = delay + took;
    let max = 1 + waited.as_secs().div_ceil(CADENCE.as_secs());
    assert!(node.connect_attempts() <= max, "{} handshakes in {waited:?}", node.connect_attempts());

    // The approved device's commands then go live on the same socket.
    let surface = op.wait_for_pending_node(T).await.unwrap();
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    wait_ready(&node).await;
    node.stop().await;
    op.close().await;
}
