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

use clawnode::store::MemoryStore;
use clawnode::{Credentials, Node, NodeState};
use clawnode_testkit::{Gateway, Operator, echo_registry, node_config, pair_once, wait_ready, wait_state};
use serde_json::json;

const T: Duration = Duration::from_secs(60);

fn node_cfg(gw: &Gateway, creds: Credentials) -> clawnode::NodeConfig {
    node_config(&gw.ws_url(), "real-recovery", creds)
}

fn shared(gw: &Gateway) -> Credentials {
    Credentials { shared_token: Some(gw.token().into()), ..Default::default() }
}

/// From now until an operator's `test.echo` is answered by the node.
async fn first_answer(gw: &Gateway, node_id: &str) -> Duration {
    let (url, echo) = (gw.ws_url(), ("test.echo", json!("r")));
    let a = clawnode_testkit::first_answer(&url, gw.token(), node_id, echo, |p| *p == json!({"echo": "r"}), T);
    a.await.expect("the node answers").total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn back_soon_after_a_restart_and_after_a_crash() {
    let mut gw = Gateway::builder().allow_commands(&["test.echo"]).start().await.expect("gateway starts");
    let store = Arc::new(MemoryStore::default());
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    let node_id = pair_once(&op, node_cfg(&gw, shared(&gw)), echo_registry(), store.clone(), T).await;
    op.close().await;

    let node = Node::new(node_cfg(&gw, Credentials::default()), echo_registry(), store).unwrap();
    node.start();
    wait_ready(&node, T).await;
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
    let node = Node::new(node_cfg(&gw, shared(&gw)), echo_registry(), Arc::new(MemoryStore::default())).unwrap();
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
    op.approve_next_surface(T).await.unwrap();
    wait_ready(&node, T).await;
    node.stop().await;
    op.close().await;
}
