//! `node.invoke.request` end to end: param forms and error shapes, duplicate ids,
//! responses matched by id, concurrency, cancel (and cancel racing the result), deadlines,
//! oversized results, progress, results never crossing sockets, the typed catalog.

use super::*;

// Expected: paramsJSON string, legacy `params` object and `paramsJSON:null` are all
// answered `{id,nodeId,ok:true,payloadJSON}` (exact keys); unknown command →
// `{ok:false,error:{code:"UNAVAILABLE",message:"UNAVAILABLE: command not supported"}}`;
// invalid paramsJSON → INVALID_REQUEST. One connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invoke_param_forms_and_error_shapes() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.invoke_raw(json!({"id": "i-json", "nodeId": nid, "command": "test.echo",
        "paramsJSON": "{\"x\":1,\"s\":\"é\"}", "timeoutMs": 5000, "idempotencyKey": "k1"}))
        .await;
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "payloadJSON"]));
    assert_eq!((r["id"].as_str(), r["nodeId"].as_str(), &r["ok"]), (Some("i-json"), Some(nid.as_str()), &json!(true)));
    let payload: Value = serde_json::from_str(r["payloadJSON"].as_str().expect("payloadJSON string")).unwrap();
    assert_eq!(payload, json!({"echo": {"x": 1, "s": "é"}}));

    wire.invoke_raw(json!({"id": "i-legacy", "nodeId": nid, "command": "test.echo",
        "params": {"y": [1, 2]}, "timeoutMs": 5000}))
        .await;
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "payloadJSON"]));
    assert_eq!(r["id"], "i-legacy");
    assert_eq!(
        serde_json::from_str::<Value>(r["payloadJSON"].as_str().unwrap()).unwrap(),
        json!({"echo": {"y": [1, 2]}})
    );

    wire.invoke("i-null", "test.echo", Value::Null, 5000).await;
    let r = wire.result().await;
    assert_eq!(
        r,
        json!({"id": "i-null", "nodeId": nid, "ok": true, "payloadJSON": "{\"echo\":{}}"}),
        "absent params are {{}}"
    );

    wire.invoke("i-unknown", "test.nope", json!({}), 5000).await;
    let r = wire.result().await;
    assert_eq!(
        r,
        json!({"id": "i-unknown", "nodeId": nid, "ok": false,
            "error": {"code": "UNAVAILABLE", "message": "UNAVAILABLE: command not supported"}})
    );

    wire.invoke_raw(
        json!({"id": "i-bad", "nodeId": nid, "command": "test.echo", "paramsJSON": "{bad", "timeoutMs": 5000}),
    )
    .await;
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "error"]));
    assert_eq!(r["ok"], false);
    assert_eq!(keys(&r["error"]), set(&["code", "message"]));
    assert_eq!(r["error"]["code"], "INVALID_REQUEST");
    assert!(r["error"]["message"].as_str().unwrap().starts_with("INVALID_REQUEST: "), "{r}");

    wire.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: the same invoke id sent twice while the first runs → one execution, one
// result; the router counts one duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_invoke_id_runs_once() {
    let Rig { mut fake, probes, node, .. } = Rig::new(|_| {}).await;
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.invoke("dup-1", "test.sleep", json!({"ms": 400}), 5000).await;
    eventually("first run started", STEP, || probes.sleep_runs.load(Ordering::SeqCst) == 1).await;
    wire.invoke("dup-1", "test.sleep", json!({"ms": 400}), 5000).await;
    wire.drain(Duration::from_millis(1000)).await;
    let results = wire.results_for("dup-1");
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["ok"], true);
    assert_eq!(probes.sleep_runs.load(Ordering::SeqCst), 1, "exactly one execution");
    assert_eq!(node.invoke_stats().duplicates.load(Ordering::SeqCst), 1);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: responses to the node's own requests are matched by id, not by order. Held:
// the readiness probe and two results; answered in reverse (result 2, an unknown id,
// result 1 with `ignored:true`, then the probe with PAIRING_CHANGED) → the state becomes
// AwaitingCommandApproval (the probe got its own error), both results complete, one late.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_out_of_order_are_matched_by_id() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    node.start();
    let (mut wire, _) = Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, None).await;
    let probe = wire.req(STEP, "probe").await;
    assert_eq!(probe["method"], "node.event");

    wire.invoke("ooo-1", "test.echo", json!(1), 5000).await;
    let r1 = wire.req(STEP, "result 1").await;
    wire.invoke("ooo-2", "test.echo", json!(2), 5000).await;
    let r2 = wire.req(STEP, "result 2").await;
    assert_eq!((r1["method"].as_str(), r1["params"]["id"].as_str()), (Some("node.invoke.result"), Some("ooo-1")));
    assert_eq!((r2["method"].as_str(), r2["params"]["id"].as_str()), (Some("node.invoke.result"), Some("ooo-2")));
    let ids: BTreeSet<&str> = [&probe, &r1, &r2].iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "request ids are unique per connection");

    wire.ack(&r2, json!({"ok": true})).await;
    wire.conn.reply_ok("no-such-request", json!({"ok": true})).await.unwrap();
    wire.ack(&r1, json!({"ok": true, "ignored": true})).await;
    wire.conn.reply_err(probe["id"].as_str().unwrap(), pairing_changed()).await.unwrap();

    wait_state(&node, "awaiting command approval", STEP, |s| matches!(s, NodeState::AwaitingCommandApproval { .. }))
        .await;
    let stats = node.invoke_stats();
    eventually("late ack seen", STEP, || stats.late_results.load(Ordering::SeqCst) == 1).await;
    assert_eq!(stats.succeeded.load(Ordering::SeqCst), 2);
    assert_eq!(stats.dropped_results.load(Ordering::SeqCst), 0);
    let extra = wire.drain(Duration::from_millis(300)).await;
    assert!(extra.iter().all(|f| f["method"] != "node.invoke.result"), "nothing re-sent: {extra:?}");
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: 16, then 64 invokes of a 200 ms handler in flight at once all get exactly one
// `ok:true` result each, well under the serial time (12.8 s for 64; bound 8 s, wide for a
// loaded CI); nothing dropped, one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_then_sixty_four_concurrent_invokes() {
    let Rig { mut fake, probes, node, .. } = Rig::new(|_| {}).await;
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    for batch in [16usize, 64] {
        let started = Instant::now();
        let expected: BTreeSet<String> = (0..batch).map(|i| format!("c{batch}-{i}")).collect();
        for id in &expected {
            wire.invoke(id, "test.sleep", json!({"ms": 200}), 10_000).await;
        }
        let results = wire.results(batch, Duration::from_secs(20)).await;
        let elapsed = started.elapsed();
        let got: BTreeSet<String> = results.iter().map(|r| r["id"].as_str().unwrap().to_string()).collect();
        assert_eq!(got, expected, "one result per invoke");
        assert!(results.iter().all(|r| r["ok"] == true), "{results:?}");
        assert!(elapsed < Duration::from_secs(8), "{batch} invokes ran concurrently: {elapsed:?}");
    }
    let extra = wire.drain(Duration::from_millis(300)).await;
    assert!(extra.iter().all(|f| f["method"] != "node.invoke.result"), "{extra:?}");
    assert_eq!(probes.sleep_runs.load(Ordering::SeqCst), 80);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: `node.invoke.cancel {invokeId,nodeId}` fires the handler's ctx.cancel; no
// `node.invoke.result` for that id is ever sent; the session keeps serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_fires_ctx_cancel_and_sends_no_result() {
    let Rig { mut fake, probes, node, .. } = Rig::new(|_| {}).await;
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.invoke("cx-1", "test.wait_cancel", Value::Null, 10_000).await;
    eventually("handler started", STEP, || probes.cancel_started.load(Ordering::SeqCst) == 1).await;
    wire.conn.send_event("node.invoke.cancel", json!({"invokeId": "cx-1", "nodeId": nid}), None).await.unwrap();
    eventually("ctx.cancel fired", STEP, || probes.cancel_seen.load(Ordering::SeqCst) == 1).await;
    wire.drain(Duration::from_millis(800)).await;
    assert!(wire.results_for("cx-1").is_empty(), "no result after a cancel: {:?}", wire.results_for("cx-1"));
    assert_eq!(node.invoke_stats().cancelled.load(Ordering::SeqCst), 1);

    wire.invoke("cx-after", "test.echo", json!(1), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: timeoutMs 300 with a handler that ignores cancellation → the node answers
// `{ok:false,error:{code:"TIMEOUT",message:"TIMEOUT: node invoke timed out"}}` at ≈300 ms
// (not a cancel grace later: the grace is 3 s, the bound 2 s), and the handler is aborted
// after the grace (dropped, never finishes its 5 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_answers_timeout_and_aborts_the_handler() {
    let Rig { mut fake, probes, node, .. } = Rig::new(|cfg| {
        cfg.invoke.cancel_grace = Duration::from_secs(3);
    })
    .await;
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let sent = Instant::now();
    wire.invoke("dl-1", "test.stubborn", json!({"ms": 5000}), 300).await;
    let r = wire.result().await;
    let elapsed = sent.elapsed();
    assert_eq!(
        r,
        json!({"id": "dl-1", "nodeId": nid, "ok": false,
            "error": {"code": "TIMEOUT", "message": "TIMEOUT: node invoke timed out"}})
    );
    assert!(elapsed >= Duration::from_millis(280), "not before the deadline: {elapsed:?}");
    assert!(elapsed < Duration::from_millis(2000), "TIMEOUT is sent at the deadline: {elapsed:?}");
    eventually("handler aborted after the grace", STEP, || probes.stubborn_dropped.load(Ordering::SeqCst) == 1).await;
    assert_eq!(probes.stubborn_finished.load(Ordering::SeqCst), 0, "the handler never completes");
    assert_eq!(node.invoke_stats().timed_out.load(Ordering::SeqCst), 1);
    let extra = wire.drain(Duration::from_millis(300)).await;
    assert!(extra.iter().all(|f| f["method"] != "node.invoke.result"), "{extra:?}");
    assert_eq!(wire.results_for("dl-1").len(), 1);
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: with maxPayload 4096 a 10 KB result becomes `{ok:false,error:{code:
// "PAYLOAD_TOO_LARGE",...}}` in a frame within the limit; the socket stays up and serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_result_is_answered_payload_too_large() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, 4096).await;

    wire.invoke("big-1", "test.big", json!({"bytes": 10_240}), 5000).await;
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "error"]));
    assert_eq!((r["id"].as_str(), &r["ok"]), (Some("big-1"), &json!(false)));
    assert_eq!(r["error"]["code"], "PAYLOAD_TOO_LARGE");
    assert!(r["error"]["message"].as_str().unwrap().starts_with("PAYLOAD_TOO_LARGE: "), "{r}");
    let frame = wire.log.iter().find(|f| f["params"]["id"] == "big-1").unwrap();
    assert!(frame.to_string().len() <= 4096);
    assert_eq!(node.invoke_stats().too_large.load(Ordering::SeqCst), 1);

    wire.invoke("small-1", "test.echo", json!("ok"), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    wire.drain(Duration::from_millis(200)).await;
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: `progress().send(40 000 bytes)` → `node.invoke.progress {invokeId,nodeId,seq,
// chunk}` with seq 0,1,2, chunks ≤ 16384 bytes cut on char boundaries, concatenating to
// the text; `heartbeat()` → seq 3 with an empty chunk; then the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_chunks_and_heartbeat() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.invoke("pg-1", "test.progress", Value::Null, 10_000).await;
    let r = wire.result().await;
    assert_eq!(r["ok"], true);
    let progress: Vec<Value> =
        wire.log.iter().filter(|f| f["method"] == "node.invoke.progress").map(|f| f["params"].clone()).collect();
    for p in &progress {
        assert_eq!(keys(p), set(&["invokeId", "nodeId", "seq", "chunk"]));
        assert_eq!((p["invokeId"].as_str(), p["nodeId"].as_str()), (Some("pg-1"), Some(nid.as_str())));
    }
    let seqs: Vec<u64> = progress.iter().map(|p| p["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, vec![0, 1, 2, 3]);
    let chunks: Vec<&str> = progress.iter().map(|p| p["chunk"].as_str().unwrap()).collect();
    assert!(chunks.iter().all(|c| c.len() <= 16_384), "{:?}", chunks.iter().map(|c| c.len()).collect::<Vec<_>>());
    assert_eq!(chunks[..3].concat(), progress_text());
    assert_eq!(chunks[3], "", "heartbeat is an empty chunk");
    let result_pos = wire.log.iter().position(|f| f["method"] == "node.invoke.result").unwrap();
    let last_progress = wire.log.iter().rposition(|f| f["method"] == "node.invoke.progress").unwrap();
    assert!(last_progress < result_pos, "progress precedes the result");
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: `node.invoke.input {id,nodeId,seq,payloadJSON}` chunks reach the handler in the
// Gateway's order; a handler that does not read gets its invoke answered
// `INPUT_BUFFER_OVERFLOW` (exact error shape) as soon as chunk 65 finds the 64-slot buffer
// full, instead of chunks vanishing; input for an unknown invoke is ignored. The real
// Gateway sends input only for its own duplex features (terminal relay of a session
// catalog, the Claude CLI skill runtime, plugin runtimes), which a loopback operator cannot
// start: hence the fake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn input_chunks_in_order_and_overflow_is_an_error() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    wire.conn
        .send_event("node.invoke.input", json!({"id": "nobody", "nodeId": nid, "seq": 0, "payloadJSON": "1"}), None)
        .await
        .unwrap();
    wire.invoke("in-1", "test.input", json!({"n": 5}), 10_000).await;
    for seq in 0..5u64 {
        let payload = json!({"kind": "data", "data": format!("chunk-{seq}")}).to_string();
        wire.conn
            .send_event(
                "node.invoke.input",
                json!({"id": "in-1", "nodeId": nid, "seq": seq, "payloadJSON": payload}),
                None,
            )
            .await
            .unwrap();
    }
    let r = wire.result().await;
    assert_eq!(r["ok"], true, "{r}");
    let v: Value = serde_json::from_str(r["payloadJSON"].as_str().unwrap()).unwrap();
    let seqs: Vec<u64> = v["chunks"].as_array().unwrap().iter().map(|c| c["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, [0, 1, 2, 3, 4]);
    assert_eq!(v["chunks"][3]["payload"], json!({"kind": "data", "data": "chunk-3"}).to_string());

    wire.invoke("in-deaf", "test.deaf", Value::Null, 10_000).await;
    for seq in 0..65u64 {
        wire.conn
            .send_event(
                "node.invoke.input",
                json!({"id": "in-deaf", "nodeId": nid, "seq": seq, "payloadJSON": "0"}),
                None,
            )
            .await
            .unwrap();
    }
    let r = wire.result().await;
    assert_eq!(keys(&r), set(&["id", "nodeId", "ok", "error"]));
    assert_eq!((r["id"].as_str(), &r["ok"]), (Some("in-deaf"), &json!(false)));
    assert_eq!(r["error"]["code"], "INPUT_BUFFER_OVERFLOW", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().starts_with("INPUT_BUFFER_OVERFLOW: more than 64"), "{r}");
    wire.drain(Duration::from_millis(300)).await;
    assert_eq!(wire.results_for("in-deaf").len(), 1, "one answer, nothing after it");
    assert_eq!(fake.accepted_count(), 1, "the session survives");
    stop(&node).await;
}

// Expected (cancel racing the result): 40 invokes of a 0-3 ms handler, each followed at
// once by its `node.invoke.cancel`. Every id ends with at most one result, never a result
// after the node counted it cancelled: results + cancellations = 40; the session survives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_racing_the_result_gives_at_most_one_outcome() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    let nid = node.device_id().to_string();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    const N: u64 = 40;
    for i in 0..N {
        let id = format!("race-{i}");
        wire.invoke(&id, "test.sleep", json!({"ms": i % 4}), 5000).await;
        wire.conn.send_event("node.invoke.cancel", json!({"invokeId": id, "nodeId": nid}), None).await.unwrap();
    }
    let stats = node.invoke_stats();
    eventually("every race settled", STEP, || {
        stats.succeeded.load(Ordering::SeqCst) + stats.cancelled.load(Ordering::SeqCst) == N
    })
    .await;
    wire.drain(Duration::from_millis(500)).await;
    let mut results = 0;
    for i in 0..N {
        let n = result_count(&wire, &format!("race-{i}"));
        assert!(n <= 1, "race-{i} answered {n} times");
        results += n as u64;
    }
    assert_eq!(results, stats.succeeded.load(Ordering::SeqCst), "every counted success is on the wire");
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected: an invoke still running when the TCP connection dies (RST, then FIN) finishes
// after the node reconnected, but its result is never sent on the new socket; the new
// socket serves new invokes. 3 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn result_after_socket_death_is_not_sent_on_the_new_socket() {
    let Rig { mut fake, probes, node, .. } = Rig::new(|cfg| {
        // Long grace so the (cancel-ignoring) handler really finishes after the socket died.
        cfg.invoke.cancel_grace = Duration::from_secs(3);
    })
    .await;
    node.start();
    let wire1 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let mut wire = wire1;
    for (round, old_id) in [(1u64, "old-1"), (2, "old-2")] {
        wire.invoke(old_id, "test.stubborn", json!({"ms": 1000}), 10_000).await;
        eventually("slow handler started", STEP, || probes.stubborn_started.load(Ordering::SeqCst) == round).await;
        if round == 1 {
            wire.conn.reset_tcp();
        } else {
            wire.conn.drop_tcp();
        }
        let mut next = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
        next.invoke(&format!("new-{round}"), "test.echo", json!(round), 5000).await;
        assert_eq!(next.result().await["ok"], true);
        eventually("old handler finished", STEP, || probes.stubborn_finished.load(Ordering::SeqCst) == round).await;
        next.drain(Duration::from_millis(500)).await;
        assert!(next.results_for(old_id).is_empty(), "{old_id} leaked onto the new socket: {:?}", next.log);
        wire = next;
    }
    assert_eq!(node.invoke_stats().succeeded.load(Ordering::SeqCst), 2, "only new-1 and new-2");
    assert_eq!(fake.accepted_count(), 3);
    stop(&node).await;
}

// Expected (slow consumer): close 1008 "slow consumer" while an invoke runs → the running
// invoke is cancelled with its socket (no result anywhere), the node reconnects once after
// its backoff and serves invokes; the invoke id re-sent on the new socket runs once there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_consumer_close_1008_mid_invoke() {
    let Rig { mut fake, probes, node, .. } = Rig::new(|_| {}).await;
    node.start();
    let wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire.invoke("slow-1", "test.wait_cancel", Value::Null, 10_000).await;
    eventually("handler started", STEP, || probes.cancel_started.load(Ordering::SeqCst) == 1).await;
    wire.conn.close(1008, "slow consumer").await.unwrap();
    eventually("handler cancelled with its socket", STEP, || probes.cancel_seen.load(Ordering::SeqCst) == 1).await;
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.invoke("slow-1", "test.echo", json!("again"), 5000).await;
    let r = wire2.result().await;
    assert_eq!((r["id"].as_str(), r["ok"].as_bool()), (Some("slow-1"), Some(true)));
    wire2.drain(Duration::from_millis(400)).await;
    assert_eq!(result_count(&wire2, "slow-1"), 1, "one result, on the new socket, for the new request");
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (typed catalog, commands.md §3–§6, as an iOS node): catalog commands declare their
// cap family; params reach handlers normalized with iOS defaults and clamps (camera.snap
// front/1600/0.9/0 ms; quality 5 → 1, delayMs 99999 → 10000; location.get timeoutMs 10000,
// 500 → 1000); bad params (`maxWidth:"wide"`, an empty notification) answer
// INVALID_REQUEST without running the handler; a 5 000 000-byte snap answers
// PAYLOAD_TOO_LARGE ("Reduce maxWidth or quality") and the session stays; backgrounded,
// camera.snap answers NODE_BACKGROUND_UNAVAILABLE (iOS rule, registered with plain
// `register_typed`) while location.get and a non-catalog command still run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_rules_for_an_ios_node() {
    use clawnode::commands::{CameraFacing, CameraSnap, CameraSnapParams, CameraSnapResult};
    let mut fake = FakeGateway::start().await.unwrap();
    count_worker_panics();
    let seen: Arc<std::sync::Mutex<Vec<CameraSnapParams>>> = Arc::default();
    let notify_runs = Arc::new(AtomicU64::new(0));
    let mut r = CommandRegistry::new();
    let s = seen.clone();
    r.register_typed::<CameraSnap, _, _>(move |p: CameraSnapParams, _ctx| {
        let s = s.clone();
        async move {
            let len = if p.device_id.as_deref() == Some("big") { 5_000_000 } else { 8 };
            s.lock().unwrap().push(p);
            Ok(CameraSnapResult { format: "jpg".into(), base64: "A".repeat(len), width: 16, height: 12 })
        }
    })
    .unwrap();
    r.register("location.get", |ctx: InvokeContext| async move { Ok(ctx.params) }).unwrap();
    let n = notify_runs.clone();
    r.register("system.notify", move |_ctx: InvokeContext| {
        n.fetch_add(1, Ordering::SeqCst);
        async { Ok(json!({})) }
    })
    .unwrap();
    r.register("acme.gpio.read", |ctx: InvokeContext| async move { Ok(json!({"raw": ctx.params})) }).unwrap();
    let mut cfg = base_cfg(&fake);
    cfg.client.platform = "iOS 18.4".into();
    cfg.client.device_family = Some("iPhone".into());
    let node = Node::new(cfg, r, Arc::new(MemoryStore::default())).unwrap();
    node.start();
    let (mut wire, connect) = Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, None).await;
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    assert_eq!(connect["params"]["caps"], json!(["acme", "camera", "location", "system"]));
    assert_eq!(
        connect["params"]["commands"],
        json!(["acme.gpio.read", "camera.snap", "location.get", "system.notify"])
    );
    let payload = |r: &Value| serde_json::from_str::<Value>(r["payloadJSON"].as_str().unwrap()).unwrap();

    wire.invoke("s1", "camera.snap", json!({}), 5000).await;
    let r = wire.result().await;
    assert_eq!(payload(&r), json!({"format": "jpg", "base64": "AAAAAAAA", "width": 16, "height": 12}));
    wire.invoke("s2", "camera.snap", json!({"quality": 5, "delayMs": 99_999, "format": "jpeg"}), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    {
        let seen = seen.lock().unwrap();
        assert_eq!(
            (seen[0].facing, seen[0].max_width, seen[0].quality, seen[0].delay_ms),
            (CameraFacing::Front, 1600, 0.9, 0)
        );
        assert_eq!((seen[1].quality, seen[1].delay_ms), (1.0, 10_000));
    }
    wire.invoke("s3", "camera.snap", json!({"maxWidth": "wide"}), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["error"]["code"], "INVALID_REQUEST", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("maxWidth"), "{r}");
    assert_eq!(seen.lock().unwrap().len(), 2, "the handler did not run");
    wire.invoke("s4", "camera.snap", json!({"deviceId": "big"}), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["error"]["code"], "PAYLOAD_TOO_LARGE", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("Reduce maxWidth or quality"), "{r}");

    wire.invoke("l1", "location.get", Value::Null, 5000).await;
    assert_eq!(payload(&wire.result().await)["timeoutMs"], 10_000);
    wire.invoke("l2", "location.get", json!({"timeoutMs": 500, "extra": true}), 5000).await;
    let p = payload(&wire.result().await);
    assert_eq!(p["timeoutMs"], 1000);
    assert!(p.get("extra").is_none(), "normalized params carry only catalog keys: {p}");
    wire.invoke("n1", "system.notify", json!({"title": " ", "body": ""}), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["error"]["code"], "INVALID_REQUEST", "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("empty notification"), "{r}");
    assert_eq!(notify_runs.load(Ordering::SeqCst), 0);

    node.set_foreground(false);
    wire.invoke("b1", "camera.snap", json!({}), 5000).await;
    assert_eq!(wire.result().await["error"]["code"], "NODE_BACKGROUND_UNAVAILABLE");
    wire.invoke("b2", "location.get", json!({}), 5000).await;
    assert_eq!(wire.result().await["ok"], true);
    wire.invoke("b3", "acme.gpio.read", json!({"pin": 4}), 5000).await;
    assert_eq!(payload(&wire.result().await), json!({"raw": {"pin": 4}}));
    assert_eq!(seen.lock().unwrap().len(), 3);
    assert_eq!(fake.accepted_count(), 1, "one session throughout");
    stop(&node).await;
}
