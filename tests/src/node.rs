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
