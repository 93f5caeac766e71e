//! Liveness and reconnects: reading never blocks on a handler, the tick watchdog,
//! half-open sockets, dropped pongs, server close codes and restart hints, and the attempt
//! budget under a flapping Gateway.

use super::*;

// Expected: with tick 1000 ms (watchdog 2 s) a handler busy for 3 s does not stall the
// node: it answers the fake's pings, keeps pinging itself, answers a second invoke
// meanwhile, and the session survives (the fake sends ticks like a Gateway). One connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_handler_does_not_block_reading() {
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.liveness.client_ping_interval = Duration::from_millis(300);
    })
    .await;
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 1_000, MAX_PAYLOAD).await;

    let started = Instant::now();
    wire.invoke("long-1", "test.sleep", json!({"ms": 3000}), 10_000).await;
    let mut seq = 0;
    let mut quick_sent: Option<Instant> = None;
    let mut quick_latency = None;
    let mut long_done = None;
    while long_done.is_none() && started.elapsed() < Duration::from_secs(12) {
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
    // A node whose reading waited for the handler would answer after the 3 s handler.
    assert!(quick_latency < Duration::from_millis(2000), "{quick_latency:?}");
    let long_done = long_done.expect("the long invoke finished");
    assert!(long_done >= Duration::from_millis(2900), "{long_done:?}");
    assert!(wire.pongs >= 4, "the node answered the fake's pings: {} pongs", wire.pongs);
    assert!(wire.conn.pings_received() >= 5, "the node kept pinging: {}", wire.conn.pings_received());
    assert_eq!(wire.results_for("long-1")[0]["ok"], true);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: hello with tickIntervalMs 1000 and then silence (the fake still answers the
// node's 250 ms pings; pongs are not Gateway traffic) → the node closes 4000 "tick
// timeout" after 2-3 s (bound 6 s for a loaded CI; never before 2 × tick) and reconnects
// once; the new session stays up (2 connections).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tick_watchdog_closes_4000_and_reconnects() {
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.liveness.client_ping_interval = Duration::from_millis(250);
    })
    .await;
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 1_000, MAX_PAYLOAD).await;
    let ready_at = Instant::now();

    let close = loop {
        match wire.next(STEP).await {
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
    assert!(silent_for < Duration::from_millis(6000), "{silent_for:?}");
    assert!(wire.conn.pings_received() >= 4, "pings kept flowing: {}", wire.conn.pings_received());

    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.drain(Duration::from_millis(500)).await;
    assert_eq!(fake.accepted_count(), 2, "exactly one reconnect");
    stop(&node).await;
}

// Expected (half-open socket): after hello (tick 1000 ms) the fake stops reading and sending
// but keeps the TCP connection open. The node notices within the tick window (2 × tick,
// checked every second): a new connection arrives 2-4 s after the stall (bound 8 s for a
// loaded CI; never before 2 × tick); the old socket is abandoned, the new one serves
// invokes. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_socket_is_detected_within_the_tick_window() {
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.liveness.client_ping_interval = Duration::from_millis(300);
    })
    .await;
    node.start();
    let wire = accept_ready(&mut fake, &node, 1_000, MAX_PAYLOAD).await;
    wire.conn.stall();
    let stalled_at = Instant::now();
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let detected = fake.accepted_times()[1] - stalled_at;
    assert!(detected >= Duration::from_millis(1800), "not before 2 × tick: {detected:?}");
    assert!(detected < Duration::from_millis(8000), "within the tick window: {detected:?}");
    wire2.invoke("after-half-open", "test.echo", json!(1), 5000).await;
    assert_eq!(wire2.result().await["ok"], true);
    assert_eq!(fake.accepted_count(), 2);
    drop(wire);
    stop(&node).await;
}

// Expected (dropped pongs): the fake never answers the node's 200 ms pings. While the
// Gateway keeps sending ticks (every 500 ms, tick 1000) the session stays up — pongs are
// not required, Gateway traffic proves liveness. When ticks stop too, the tick watchdog
// closes 4000 within 2-3 × tick (bound 6 s for a loaded CI) and the node reconnects once.
// 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_pongs_then_silence_closes_within_the_window() {
    let Rig { mut fake, node, .. } = Rig::with(FakeOptions { respond_to_pings: false, ..Default::default() }, |cfg| {
        cfg.liveness.client_ping_interval = Duration::from_millis(200);
    })
    .await;
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
        match wire.next(STEP).await {
            Got::Frame(f) => wire.auto_ack(&f).await,
            other => break other,
        }
    };
    assert!(matches!(close, Got::Close(Some(4000), _)), "{close:?}");
    let after = silent_from.elapsed();
    assert!(after < Duration::from_millis(6000), "{after:?}");
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.drain(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected: `shutdown {reason, restartExpectedMs:300}` then close 1012 → the node echoes
// the close and reconnects after ≈300 ms (its backoff would be 8 s; bound 4 s for a loaded
// CI); 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_with_restart_hint_then_1012() {
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.backoff.initial = Duration::from_secs(8);
        cfg.backoff.max = Duration::from_secs(16);
    })
    .await;
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
    assert!(delay < Duration::from_millis(4000), "restartExpectedMs wins over the 8 s backoff: {delay:?}");
    wire2.drain(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected: close 4001 "client invalidated" → the node reconnects promptly (backoff
// 100 ms; bound 3 s for a loaded CI), one reconnect only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_4001_reconnects() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    node.start();
    let wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let closed_at = Instant::now();
    wire.conn.close(4001, "client invalidated: gateway auth changed").await.unwrap();
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let delay = fake.accepted_times()[1] - closed_at;
    assert!(delay < Duration::from_millis(3000), "reconnect follows the 100 ms backoff: {delay:?}");
    wire2.drain(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected: connect rejected `UNAVAILABLE` with retryAfterMs 200 (details.reason
// startup-sidecars) + close 1013 → BackingOff 200 ms and a retry after ≈200 ms (the
// backoff would say 8 s; bound 4 s for a loaded CI); the retry succeeds; 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_unavailable_1013_retries_after_retry_after_ms() {
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.backoff.initial = Duration::from_secs(8);
        cfg.backoff.max = Duration::from_secs(16);
    })
    .await;
    node.start();

    let (wire, connect) = Wire::next_connect(&mut fake, node.device_id()).await;
    let rejected_at = Instant::now();
    wire.reject(
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
    assert!(delay < Duration::from_millis(4000), "{delay:?}");
    wire2.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (storm bound): a Gateway that answers hello and closes 1012 with
// `restartExpectedMs: 0` right away, plus an app nudging 50 times a second, cannot make the
// node exceed its attempt budget (here 5 per minute): exactly 5 connections within 6 s,
// the state says why it waits. (Default budget: 10 per minute; battery profile: 6.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attempts_per_minute_are_bounded_under_a_flapping_gateway() {
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.max_attempts_per_minute = 5;
    })
    .await;
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
