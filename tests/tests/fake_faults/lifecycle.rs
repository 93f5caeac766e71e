//! The app's lifecycle calls: `stop`, `suspend`/`unsuspend`, `pause`/`resume`.

use super::*;

// Expected: `node.stop()` closes the socket with 1000, the state ends Stopped and no
// reconnect follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_closes_with_1000() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
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

// Expected: `stop()` returns only after every handler has ended: a handler that ignores
// cancellation (`test.stubborn`, 5 s sleep) is aborted after the 1 s grace and dropped before
// `stop()` returns (so nothing of it, e.g. a foreign future of the bindings, outlives the
// node); it never finishes and its result is never sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_waits_for_handlers_to_end() {
    let Rig { mut fake, probes, node, .. } = Rig::new(|_| {}).await;
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

// Expected (suspend/unsuspend): `suspend()` closes the live session with 1000, the state is
// Suspended and no socket opens (nudges included) until `unsuspend()`, which connects at
// once; `resume()` does not lift a suspension. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_closes_and_unsuspend_reconnects_at_once() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
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
    assert!(fake.accepted_times()[1] - t < Duration::from_millis(1500), "unsuspend connects at once");
    wire2.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (pause API): `pause("user")` closes the session (1000), the state is Paused
// {Requested, "user"} with no retries; `resume()` connects again. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_api_holds_until_resume() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
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
