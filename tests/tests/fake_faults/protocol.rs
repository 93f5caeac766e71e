//! The handshake and the frames around it: `connect`'s exact closed shape and its v3
//! signature, the challenge, hello and WebSocket-upgrade deadlines, malformed and oversized
//! inbound frames.

use super::*;

// Expected: the first frame is `connect` with exactly the closed key set (no permissions,
// pathEnv, locale, userAgent), protocol 3..4, node-host/linux/Linux, role node, scopes [],
// sorted caps and commands, device{id,publicKey,signature,signedAt=challenge.ts,
// nonce=challenge.nonce}, auth{token}; the v3 signature verifies with ring. One connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_is_the_exact_closed_shape_with_a_valid_v3_signature() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    node.start();

    let conn = fake.next_conn(STEP).await.unwrap();
    let challenge = conn.challenge().cloned().expect("challenge sent");
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.req(STEP, "connect").await;
    assert_eq!(connect["method"], "connect");
    let p = &connect["params"];
    assert_eq!(
        keys(p),
        set(&["minProtocol", "maxProtocol", "client", "role", "scopes", "caps", "commands", "device", "auth"])
    );
    assert_eq!(p["minProtocol"], 3);
    assert_eq!(p["maxProtocol"], 4);
    assert_eq!(
        p["client"],
        json!({"id": "node-host", "displayName": "fake-faults", "version": "0.1.0-test",
            "platform": "linux", "deviceFamily": "Linux", "mode": "node"})
    );
    assert_eq!(p["role"], "node");
    assert_eq!(p["scopes"], json!([]));
    assert_eq!(p["caps"], json!(["device", "system", "test"]));
    let commands: Vec<String> = serde_json::from_value(p["commands"].clone()).unwrap();
    let mut sorted = commands.clone();
    sorted.sort();
    assert_eq!(commands, sorted, "commands are sorted");
    assert_eq!(
        commands,
        [
            "device.info",
            "system.which",
            "test.big",
            "test.deaf",
            "test.echo",
            "test.input",
            "test.progress",
            "test.sleep",
            "test.stubborn",
            "test.wait_cancel"
        ]
    );
    let d = &p["device"];
    assert_eq!(keys(d), set(&["id", "publicKey", "signature", "signedAt", "nonce"]));
    assert_eq!(d["id"], node.device_id());
    assert_eq!(d["publicKey"], node.identity().public_key_b64url().as_str());
    assert_eq!(d["signedAt"], challenge["ts"], "signedAt is the challenge ts");
    assert_eq!(d["nonce"], challenge["nonce"], "nonce is the challenge nonce");
    assert_eq!(p["auth"], json!({"token": SHARED}));
    verify_v3(&connect, &challenge, SHARED);

    wire.conn.hello_ok(connect["id"].as_str().unwrap(), 30_000, MAX_PAYLOAD, None).await.unwrap();
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    stop(&node).await;
    assert_eq!(fake.accepted_count(), 1);
}

// Expected: no `connect.challenge` → after challenge_timeout (300 ms) the node closes
// 1008 "connect challenge timeout" and retries; a `connect` left unanswered → after
// hello_timeout (300 ms) it closes 4000 "connect timeout" and retries. Bounded attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handshake_timeouts_close_and_retry() {
    let Rig { mut fake, node, .. } = Rig::with(FakeOptions { send_challenge: false, ..Default::default() }, |cfg| {
        cfg.handshake.challenge_timeout = Duration::from_millis(300);
        cfg.handshake.hello_timeout = Duration::from_millis(300);
        cfg.backoff.initial = Duration::from_millis(200);
    })
    .await;
    node.start();

    let conn = fake.next_conn(STEP).await.unwrap();
    let mut wire = Wire::new(conn, node.device_id());
    let t0 = wire.conn.accepted_at();
    match wire.next(STEP).await {
        Got::Close(code, reason) => {
            assert_eq!(code, Some(1008));
            assert_eq!(reason, "connect challenge timeout");
        }
        other => panic!("expected close 1008, got {other:?}"),
    }
    let waited = t0.elapsed();
    assert!(waited >= Duration::from_millis(280) && waited < Duration::from_millis(3000), "{waited:?}");
    assert!(wire.log.is_empty(), "nothing sent without a challenge");

    // Second attempt: send a challenge by hand, then never answer `connect`.
    let conn = fake.next_conn(STEP).await.expect("the node retries");
    let mut wire = Wire::new(conn, node.device_id());
    wire.conn
        .send_event("connect.challenge", json!({"nonce": "2b9f4a0e-0d1c-4e55-8d3e-6b1c2d3e4f50", "ts": now_ms()}), None)
        .await
        .unwrap();
    let connect = wire.expect("connect", STEP).await;
    assert_eq!(connect["params"]["device"]["nonce"], "2b9f4a0e-0d1c-4e55-8d3e-6b1c2d3e4f50");
    let sent = Instant::now();
    match wire.next(STEP).await {
        Got::Close(code, reason) => {
            assert_eq!(code, Some(4000));
            assert_eq!(reason, "connect timeout");
        }
        other => panic!("expected close 4000, got {other:?}"),
    }
    assert!(sent.elapsed() < Duration::from_millis(3000), "{:?}", sent.elapsed());
    let _third = fake.next_conn(STEP).await.expect("the node retries again");
    stop(&node).await;
    let n = fake.accepted_count();
    assert!((3..=4).contains(&n), "bounded attempts: {n}");
}

// Expected (handshake deadline, transport.md §5.1): a server that accepts TCP but never
// answers the WebSocket upgrade is abandoned after `upgrade_timeout` (300 ms here, 15 s by
// default) and retried with backoff; bounded attempts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_upgrade_deadline() {
    count_worker_panics();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let accepts = Arc::new(std::sync::Mutex::new(Vec::new()));
    let a = accepts.clone();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            a.lock().unwrap().push(Instant::now());
            held.push(s);
        }
    });
    let mut cfg = NodeConfig::new(Endpoint::parse(&url).unwrap(), ClientDescriptor::linux_node_host("0.1.0-test"));
    cfg.credentials = Credentials { shared_token: Some(SHARED.into()), ..Default::default() };
    cfg.transport.upgrade_timeout = Duration::from_millis(300);
    cfg.backoff.initial = Duration::from_millis(100);
    let node = Node::new(cfg, CommandRegistry::new(), Arc::new(MemoryStore::default())).unwrap();
    node.start();
    eventually("a second attempt", STEP, || accepts.lock().unwrap().len() >= 2).await;
    let t = accepts.lock().unwrap().clone();
    let gap = t[1] - t[0];
    assert!(gap >= Duration::from_millis(380) && gap < Duration::from_millis(3000), "{gap:?}");
    stop(&node).await;
    server.abort();
}

// Expected: non-JSON text, non-UTF-8 binary, a JSON array, `{}`, a frame without fields,
// an invoke request without id/command, an unknown event and a response with an unknown id
// are ignored (no close, no reply); a seq jump raises one SeqGap notice; a later invoke is
// answered, and a binary frame carrying an invoke request is handled like text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_are_ignored() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    let nid = node.device_id().to_string();
    let mut notices = node.notices();
    node.start();
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;

    let c = &wire.conn;
    c.send_raw(Message::text("this is not json")).await.unwrap();
    c.send_raw(Message::binary(vec![0xff, 0xfe, 0xfd, 0x00])).await.unwrap();
    c.send_raw(Message::text("[1,2,3]")).await.unwrap();
    c.send_raw(Message::text("{}")).await.unwrap();
    c.send_raw(Message::text(r#"{"type":"res"}"#)).await.unwrap();
    c.send_raw(Message::text(r#"{"type":"req","id":"x","method":"node.list"}"#)).await.unwrap();
    c.send_raw(Message::text(r#"{"type":"event","event":"node.invoke.request","payload":{"nope":true}}"#))
        .await
        .unwrap();
    c.send_event("some.future.event", json!({"x": 1}), None).await.unwrap();
    c.reply_ok("no-such-request", json!({"ok": true})).await.unwrap();
    c.send_event("tick", json!({"ts": now_ms()}), Some(1)).await.unwrap();
    c.send_event("tick", json!({"ts": now_ms()}), Some(3)).await.unwrap();

    wire.invoke("after-garbage", "test.echo", json!("still here"), 5000).await;
    let r = wire.result().await;
    assert_eq!(r["id"], "after-garbage");
    assert_eq!(r["ok"], true);

    let bin = json!({"type": "event", "event": "node.invoke.request", "payload": {"id": "bin-1", "nodeId": nid,
        "command": "test.echo", "paramsJSON": "{\"b\":true}", "timeoutMs": 5000}});
    wire.conn.send_raw(Message::binary(bin.to_string().into_bytes())).await.unwrap();
    let r = wire.result().await;
    assert_eq!(r, json!({"id": "bin-1", "nodeId": nid, "ok": true, "payloadJSON": "{\"echo\":{\"b\":true}}"}));

    let extra = wire.drain(Duration::from_millis(300)).await;
    assert!(extra.is_empty(), "garbage got no reply: {extra:?}");
    assert_eq!(wire.log.iter().filter(|f| f["method"] == "node.invoke.result").count(), 2);
    assert!(matches!(node.state(), NodeState::Ready { .. }));
    let n = drain_notices(&mut notices);
    assert_eq!(n.iter().filter(|n| matches!(n, NodeNotice::SeqGap { expected: 2, received: 3 })).count(), 1, "{n:?}");
    assert_eq!(fake.accepted_count(), 1);
    stop(&node).await;
}

// Expected (oversized inbound frame): with a 64 KiB inbound limit, a 200 KiB text frame
// ends the session (capacity error, no panic); the node reconnects once after its backoff
// and serves invokes. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_inbound_frame_ends_the_session_and_reconnects() {
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.transport.max_inbound_message = 64 * 1024;
    })
    .await;
    node.start();
    let wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let big = json!({"type": "event", "event": "health", "payload": {"pad": "x".repeat(200 * 1024)}});
    let _ = wire.conn.send_json(&big).await;
    let mut wire2 = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    wire2.invoke("after-big", "test.echo", json!(2), 5000).await;
    assert_eq!(wire2.result().await["ok"], true);
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}
