//! Bounded waits on an in-process [`clawnode::Node`], shared by every test file that drives
//! one (against the real Gateway or the fake).

use std::time::Duration;

use clawnode::{Node, NodeState};
use tokio::time::Instant;

/// Waits until the node's state satisfies `pred` and returns that state; panics with `what`
/// and the current state after `timeout`. A state already current counts (it is checked
/// before waiting for a change); a node whose state channel closed reads as `Stopped`.
pub async fn wait_state(node: &Node, what: &str, timeout: Duration, pred: impl Fn(&NodeState) -> bool) -> NodeState {
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

/// Polls `f` every 20 ms until it holds; panics with `what` when it still does not after
/// `timeout`.
pub async fn eventually(what: &str, timeout: Duration, f: impl Fn() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(f(), "timed out waiting for {what}");
}

/// Waits until the node is `Ready` (see [`wait_state`]).
pub async fn wait_ready(node: &Node, timeout: Duration) -> NodeState {
    wait_state(node, "ready", timeout, |s| matches!(s, NodeState::Ready { .. })).await
}

/// Pairs a device once, as a node host does on its first run: starts a [`Node`] with `cfg`
/// (its credentials hold the Gateway's shared token) on `store`, approves its command
/// surface as `op`, waits until it is ready, then stops it. Its device token stays in
/// `store`, so a node made next on the same store runs on the device token alone. Returns
/// the device id.
pub async fn pair_once(
    op: &crate::Operator,
    cfg: clawnode::NodeConfig,
    registry: clawnode::CommandRegistry,
    store: std::sync::Arc<dyn clawnode::store::CredentialStore>,
    timeout: Duration,
) -> String {
    let first = Node::new(cfg, registry, store).expect("node config is valid");
    let device_id = first.device_id().to_string();
    first.start();
    let approved = op.approve_next_surface(timeout).await.expect("the command surface is approved");
    assert_eq!(approved, device_id, "the pending surface is this node's");
    wait_ready(&first, timeout).await;
    first.stop().await;
    device_id
}

/// A registry with one command, `test.echo`, which answers `{"echo": <params>}`.
pub fn echo_registry() -> clawnode::CommandRegistry {
    let mut r = clawnode::CommandRegistry::new();
    r.register(
        "test.echo",
        |ctx: clawnode::InvokeContext| async move { Ok(serde_json::json!({ "echo": ctx.params })) },
    )
    .expect("one registration");
    r
}

/// A Linux node-host config for the Gateway at `url`, shown as `display_name`, with `creds`.
pub fn node_config(url: &str, display_name: &str, creds: clawnode::Credentials) -> clawnode::NodeConfig {
    let endpoint = clawnode::endpoint::Endpoint::parse(url).expect("a valid gateway url");
    let mut cfg = clawnode::NodeConfig::new(endpoint, clawnode::ClientDescriptor::linux_node_host("0.1.0"));
    cfg.client.display_name = Some(display_name.into());
    cfg.credentials = creds;
    cfg
}
