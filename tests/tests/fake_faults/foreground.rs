//! Foreground gating and queued work (commands.md §4).

use super::*;

fn camera_registry(p: &Arc<Probes>) -> CommandRegistry {
    let mut r = registry(p);
    let probes = p.clone();
    r.register_foreground("camera.snap", move |_ctx: InvokeContext| {
        let p = probes.clone();
        async move {
            p.sleep_runs.fetch_add(100, Ordering::SeqCst);
            Ok(json!({"format": "jpg"}))
        }
    })
    .unwrap();
    r
}

// Expected (foreground gating and queued work, commands.md §4): backgrounded, the
// foreground-only `camera.snap` answers `NODE_BACKGROUND_UNAVAILABLE` without running while
// `test.echo` still works. `set_foreground(true)` → `node.pending.pull {}`; the queued
// `camera.snap` runs through the router (handler runs once), then `node.pending.ack
// {ids:["q1"]}`, then `node.pending.drain {maxItems:10}` whose item reaches the app as a
// PendingWork notice. `report_alive` right after the connect probe is throttled locally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_gating_pull_run_ack_and_drain() {
    let mut fake = FakeGateway::start().await.unwrap();
    let probes = Arc::new(Probes::default());
    count_worker_panics();
    let node = Node::new(base_cfg(&fake), camera_registry(&probes), Arc::new(MemoryStore::default())).unwrap();
    let nid = node.device_id().to_string();
    let mut notices = node.notices();
    node.set_foreground(false);
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    assert_eq!(
        node.report_alive(clawnode::events::PresenceTrigger::SilentPush).await.unwrap(),
        clawnode::AliveOutcome::Throttled
    );

    wire.invoke("bg-1", "camera.snap", json!({}), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["ok"], false);
    assert_eq!(r["error"]["code"], "NODE_BACKGROUND_UNAVAILABLE", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().starts_with("NODE_BACKGROUND_UNAVAILABLE: "), "{r}");
    assert_eq!(probes.sleep_runs.load(Ordering::SeqCst), 0, "handler not run");
    wire.invoke("bg-2", "test.echo", json!("bg"), 5000).await;
    assert_eq!(wire.result().await["ok"], true);

    node.set_foreground(true);
    let pull = wire.expect("node.pending.pull", STEP).await;
    assert_eq!(pull["params"], json!({}));
    wire.ack(
        &pull,
        json!({"nodeId": nid, "actions": [{"id": "q1", "command": "camera.snap",
        "paramsJSON": "{\"quality\":0.8}", "enqueuedAtMs": now_ms()}]}),
    )
    .await;
    let ack = wire.expect("node.pending.ack", STEP).await;
    assert_eq!(ack["params"], json!({"ids": ["q1"]}));
    assert_eq!(probes.sleep_runs.load(Ordering::SeqCst), 100, "the queued action ran once");
    wire.ack(&ack, json!({"nodeId": nid, "ackedIds": ["q1"], "remainingCount": 0})).await;
    let drain = wire.expect("node.pending.drain", STEP).await;
    assert_eq!(drain["params"], json!({"maxItems": 10}));
    wire.ack(
        &drain,
        json!({"nodeId": nid, "revision": 1, "items": [{"id": "baseline-status",
        "type": "status.request", "priority": "default", "createdAtMs": 1, "expiresAtMs": null}], "hasMore": false}),
    )
    .await;
    let mut got_work = false;
    let mut got_ran = false;
    let deadline = Instant::now() + STEP;
    while Instant::now() < deadline && !(got_work && got_ran) {
        match tokio::time::timeout(Duration::from_millis(200), notices.recv()).await {
            Ok(Ok(NodeNotice::PendingWork { item })) => {
                assert_eq!(item.kind, "status.request");
                got_work = true;
            }
            Ok(Ok(NodeNotice::PendingActionRan { id, command, error })) => {
                assert_eq!((id.as_str(), command.as_str(), error), ("q1", "camera.snap", None));
                got_ran = true;
            }
            _ => {}
        }
    }
    assert!(got_work && got_ran, "work {got_work}, ran {got_ran}");
    wire.invoke("fg-1", "camera.snap", json!({}), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected (transport.md §5.4, issue #14): the Gateway closes the session with a code that
// grows the backoff (4000; a restart-like close such as 1012 goes to reachability checks
// instead, see the policy), so the node waits the first backoff step — 20 s here — and no
// connection arrives within 1.5 s. The app returns to the foreground: the wait is cut short
// and the next connection arrives at once (< 3 s), hello and all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn return_to_foreground_cuts_the_backoff_wait() {
    let Rig { mut fake, node, .. } = Rig::new(|c| {
        c.backoff.initial = Duration::from_secs(20);
        c.backoff.max = Duration::from_secs(60);
    })
    .await;
    node.start();
    let wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    node.set_foreground(false);
    wire.conn.close(4000, "closed by the test").await.unwrap();
    wait_state(&node, "backing off", STEP, |s| matches!(s, NodeState::BackingOff { .. })).await;
    assert!(fake.next_conn(Duration::from_millis(1500)).await.is_err(), "the node waits out its backoff");
    let t0 = Instant::now();
    node.set_foreground(true);
    let (_wire, _) = Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, None).await;
    assert!(t0.elapsed() < Duration::from_secs(3), "reconnected {:?} after the foreground", t0.elapsed());
    stop(&node).await;
}

// Expected (transport.md §5.4: "on foreground, force reconnect when stale"): back in the
// foreground, the node sends `health {}` on its live session. A Gateway that does not answer
// within 5 s gets close 4000 ("stale") and a new connection follows at once; one that
// answers keeps its session.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn foreground_liveness_check_replaces_a_dead_session() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    // Answered: the session stays.
    node.set_foreground(false);
    node.set_foreground(true);
    let health = wire.expect("health", STEP).await;
    assert_eq!(health["params"], json!({}));
    wire.ack(&health, json!({"ok": true})).await;
    wire.drain(Duration::from_millis(5_500)).await;
    assert_eq!(fake.accepted_count(), 1);
    // Not answered: closed as stale within the check's 5 s, then a new connection.
    node.set_foreground(false);
    let t0 = Instant::now();
    node.set_foreground(true);
    let _unanswered = wire.expect("health", STEP).await;
    loop {
        match wire.next(Duration::from_secs(8)).await {
            Got::Close(code, reason) => {
                assert_eq!((code, reason.as_str()), (Some(4000), "stale"));
                break;
            }
            Got::Frame(v) if v["method"] == "node.pending.pull" || v["method"] == "node.pending.drain" => {
                wire.auto_ack(&v).await
            }
            other => panic!("expected the stale close, got {other:?}"),
        }
    }
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(4_900) && waited < Duration::from_secs(7), "{waited:?}");
    let (_wire, _) = Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, None).await;
    assert!(t0.elapsed() < Duration::from_secs(9), "reconnected {:?} after the foreground", t0.elapsed());
    stop(&node).await;
}
