//! The core `Node` (in process) against the real Gateway under process-level faults:
//!
//! 1. SIGSTOP of the Gateway's whole process group for 70 s, then SIGCONT. Expected: the
//!    node's tick watchdog (2 × 30 s) closes the frozen session with 4000 within ~60-65 s;
//!    its reconnect attempts meanwhile stay within the attempt budget (≤ 10 per minute;
//!    the kernel still accepts TCP, so each attempt ends at the 15 s upgrade deadline or the
//!    challenge deadline); after SIGCONT the node reconnects by itself and invokes work.
//! 2. SIGKILL of the Gateway and a new one on the same port and state dir. Expected: the
//!    node (which holds only its stored device token, no shared secret) reconnects with that
//!    token without any operator action and serves invokes.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clawnode::endpoint::Endpoint;
use clawnode::store::{CredentialStore as _, MemoryStore};
use clawnode::{Credentials, Node, NodeConfig, NodeNotice, NodeState};
use clawnode_testkit::{Gateway, Operator, echo_registry, node_config, pair_once, wait_state};
use serde_json::json;

const T: Duration = Duration::from_secs(60);

fn signal_group(pgid: u32, sig: &str) {
    let st = Command::new("kill").args([sig, "--", &format!("-{pgid}")]).status().expect("run kill");
    assert!(st.success(), "kill {sig} -{pgid}");
}

fn node_cfg(gw: &Gateway, creds: Credentials) -> NodeConfig {
    node_config(&gw.ws_url(), "real-faults", creds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigstop_70s_then_sigcont_and_kill_then_new_gateway_on_same_state() {
    let mut gw = Gateway::builder().allow_commands(&["test.echo"]).start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let store = Arc::new(MemoryStore::default());

    // Pair once with the shared token; the device token lands in the store.
    let shared = Credentials { shared_token: Some(gw.token().into()), ..Default::default() };
    let device_id = pair_once(&op, node_cfg(&gw, shared), echo_registry(), store.clone(), T).await;
    op.close().await;

    // From here on the node holds only its stored device token.
    let node = Node::new(node_cfg(&gw, Credentials::default()), echo_registry(), store.clone()).unwrap();
    assert_eq!(node.device_id(), device_id, "same identity from the store");
    let mut notices = node.notices();
    node.start();
    wait_state(&node, "ready on the device token", T, |s| matches!(s, NodeState::Ready { .. })).await;
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    op.wait_for_node_connected(&device_id, T).await.unwrap();
    let r = op.node_invoke(&device_id, "test.echo", json!("before"), 10_000).await.unwrap();
    assert_eq!(r["payload"], json!({"echo": "before"}));
    op.close().await;

    // 1. Freeze the whole process group for 70 s.
    let pgid = gw.pid().expect("gateway pid");
    let attempts_before = node.connect_attempts();
    let stopped_at = Instant::now();
    signal_group(pgid, "-STOP");
    let mut disconnect_after = None;
    while stopped_at.elapsed() < Duration::from_secs(70) {
        match tokio::time::timeout(Duration::from_millis(500), notices.recv()).await {
            Ok(Ok(NodeNotice::Disconnected { reason })) if disconnect_after.is_none() => {
                eprintln!("disconnected after {:?}: {reason}", stopped_at.elapsed());
                disconnect_after = Some((stopped_at.elapsed(), reason));
            }
            _ => {}
        }
    }
    signal_group(pgid, "-CONT");
    let frozen_attempts = node.connect_attempts() - attempts_before;
    let (after, reason) = disconnect_after.expect("the frozen session was closed");
    assert!(reason.contains("tick timeout"), "{reason}");
    assert!(after >= Duration::from_secs(55) && after <= Duration::from_secs(67), "{after:?}");
    assert!(frozen_attempts <= 10, "attempts while frozen: {frozen_attempts}");
    let cont_at = Instant::now();
    wait_state(&node, "ready after SIGCONT", T, |s| matches!(s, NodeState::Ready { .. })).await;
    eprintln!("ready {:?} after SIGCONT ({frozen_attempts} attempts while frozen)", cont_at.elapsed());
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    op.wait_for_node_connected(&device_id, T).await.unwrap();
    let r = op.node_invoke(&device_id, "test.echo", json!("after-stop"), 10_000).await.unwrap();
    assert_eq!(r["payload"], json!({"echo": "after-stop"}));
    op.close().await;

    // 2. Kill it; a new Gateway on the same port and state dir.
    let attempts_before = node.connect_attempts();
    gw.kill();
    wait_state(&node, "disconnected", T, |s| !matches!(s, NodeState::Ready { .. })).await;
    gw.restart().await.expect("a new gateway on the same port and state");
    wait_state(&node, "ready on the new gateway", T, |s| matches!(s, NodeState::Ready { .. })).await;
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.unwrap();
    op.wait_for_node_connected(&device_id, T).await.unwrap();
    let r = op.node_invoke(&device_id, "test.echo", json!("new-gateway"), 10_000).await.unwrap();
    assert_eq!(r["payload"], json!({"echo": "new-gateway"}));
    let n = node.connect_attempts() - attempts_before;
    assert!(n <= 10, "bounded reconnects across the restart: {n}");
    assert!(
        store
            .load_token(&clawnode::store::TokenKey {
                origin: Endpoint::parse(&gw.ws_url()).unwrap().origin().to_string(),
                device_id: device_id.clone(),
                role: clawnode::protocol::Role::Node,
            })
            .unwrap()
            .is_some()
    );

    node.stop().await;
    assert_eq!(node.state(), NodeState::Stopped);
    op.close().await;
    gw.stop().await.unwrap();
}
