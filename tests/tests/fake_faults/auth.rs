//! Auth and pairing: the readiness probe and surface approval, device pairing retries,
//! auth pauses, device tokens (persisted from hello, compare-and-delete on mismatch).

use super::*;

// Expected: the first frame after hello is `node.event` (node.presence.alive, trigger
// connect) with params exactly {event, payloadJSON:string}; PAIRING_CHANGED →
// AwaitingCommandApproval; `node.pair.resolved` approved (no seq) → Ready on the same
// socket, invokes answered, exactly one connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_probe_pairing_changed_then_pair_resolved() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    let mut notices = node.notices();
    let node_id = node.device_id().to_string();
    node.start();

    let (mut wire, _) = Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, None).await;
    let probe = wire.req(STEP, "readiness probe").await;
    assert_eq!(probe["method"], "node.event", "the first RPC after hello is node.event: {probe}");
    let params = &probe["params"];
    assert_eq!(keys(params), set(&["event", "payloadJSON"]));
    let event = params["event"].as_str().unwrap();
    assert!(event == "node.presence.alive" || event == "node.host.stats", "{event}");
    let payload: Value =
        serde_json::from_str(params["payloadJSON"].as_str().expect("payloadJSON is a string")).unwrap();
    assert!(payload.is_object(), "{payload}");
    assert_eq!(event, "node.presence.alive", "no host_stats provider configured");
    assert_eq!(payload["trigger"], "connect");
    assert_eq!(payload["platform"], "linux");
    assert_eq!(payload["displayName"], "fake-faults");

    wire.conn.reply_err(probe["id"].as_str().unwrap(), pairing_changed()).await.unwrap();
    let s = wait_state(&node, "awaiting command approval", STEP, |s| {
        matches!(s, NodeState::AwaitingCommandApproval { .. })
    })
    .await;
    assert_eq!(s, NodeState::AwaitingCommandApproval { node_id: node_id.clone() });

    wire.conn
        .send_event(
            "node.pair.resolved",
            json!({"requestId": "surface-1", "nodeId": node_id, "decision": "approved", "ts": now_ms()}),
            None,
        )
        .await
        .unwrap();
    let s = wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    assert_eq!(
        s,
        NodeState::Ready {
            node_id: node_id.clone(),
            server_version: "2026.9.6".into(),
            auth_method: Some("token".into())
        }
    );
    wire.invoke("after-approval", "test.echo", json!({"a": 1}), 5_000).await;
    let r = wire.result().await;
    assert_eq!(r["ok"], true);
    wire.drain(Duration::from_millis(300)).await;
    assert!(
        drain_notices(&mut notices).contains(&NodeNotice::PairResolved { decision: "approved".into() }),
        "PairResolved notice"
    );
    assert_eq!(fake.accepted_count(), 1, "approval needs no reconnect");
    stop(&node).await;
}

// Expected: NOT_PAIRED/PAIRING_REQUIRED {requestId:"r1"} → AwaitingDeviceApproval
// {request_id:"r1"} with a growing attempt count; retries keep the request alive on a
// steady cadence of 60 s / budget from the first retry (budget 60/min here → 1 s; the
// 250 ms backoff does not apply: no gap shorter than the cadence, none growing); after
// approval the next connect succeeds → Ready. Connections = attempts = 5.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pairing_required_waits_and_retries_with_backoff() {
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.backoff.initial = Duration::from_millis(250);
        cfg.max_attempts_per_minute = 60;
    })
    .await;
    let nid = node.device_id().to_string();
    node.start();

    for i in 1..=4u64 {
        let (wire, connect) = Wire::next_connect(&mut fake, &nid).await;
        wire.reject(
            &connect,
            json!({"code": "NOT_PAIRED", "message": "pairing required: device is not approved yet",
                "details": {"code": "PAIRING_REQUIRED", "reason": "not-paired", "requestId": "r1",
                    "remediationHint": "Approve this device from the pending pairing requests.",
                    "deviceId": nid, "requestedRole": "node"}}),
            1008,
            "pairing required: device is not approved yet (requestId: r1)",
        )
        .await;
        let s = wait_state(
            &node,
            "awaiting device approval",
            STEP,
            |s| matches!(s, NodeState::AwaitingDeviceApproval { attempts, .. } if *attempts == i),
        )
        .await;
        match s {
            NodeState::AwaitingDeviceApproval { request_id, reason, attempts, .. } => {
                assert_eq!(request_id.as_deref(), Some("r1"));
                assert_eq!(reason.as_deref(), Some("not-paired"));
                assert_eq!(attempts, i);
            }
            other => panic!("{other:?}"),
        }
    }
    let mut wire = accept_ready(&mut fake, &node, 30_000, MAX_PAYLOAD).await;
    let t = fake.accepted_times();
    let gaps: Vec<Duration> = t.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps.len(), 4);
    // The fake stamps accepts, so a gap may read a little under the node's 1 s timer;
    // the upper bound leaves 800 ms for a loaded machine.
    for g in &gaps {
        assert!(*g >= Duration::from_millis(950), "never faster than the cadence: {gaps:?}");
        assert!(*g <= Duration::from_millis(1800), "steady cadence, no growth: {gaps:?}");
    }
    wire.drain(Duration::from_millis(300)).await;
    assert_eq!(fake.accepted_count(), 5);
    assert_eq!(node.connect_attempts(), 5);
    stop(&node).await;
}

// Expected: AUTH_TOKEN_MISMATCH (canRetryWithDeviceToken, but no stored token) → Paused
// {Auth, AUTH_TOKEN_MISMATCH}; exactly one connection and none more within 3 s;
// `resume()` → a new connect attempt follows at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_mismatch_pauses_until_resume() {
    let Rig { mut fake, node, .. } = Rig::new(|_| {}).await;
    node.start();

    let (wire, connect) = Wire::next_connect(&mut fake, node.device_id()).await;
    wire.reject(
        &connect,
        json!({"code": "INVALID_REQUEST",
            "message": "unauthorized: gateway token mismatch (provide gateway auth token)",
            "details": {"code": "AUTH_TOKEN_MISMATCH", "authReason": "token_mismatch",
                "canRetryWithDeviceToken": true, "recommendedNextStep": "retry_with_device_token"}}),
        1008,
        "unauthorized: gateway token mismatch",
    )
    .await;
    let s = wait_state(&node, "paused", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    match s {
        NodeState::Paused(p) => {
            assert_eq!(p.kind, PauseKind::Auth);
            assert_eq!(p.code.as_deref(), Some("AUTH_TOKEN_MISMATCH"));
        }
        other => panic!("{other:?}"),
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(fake.accepted_count(), 1, "paused: no retries");
    assert_eq!(node.connect_attempts(), 1);
    assert!(matches!(node.state(), NodeState::Paused(_)));

    node.resume();
    let conn = fake.next_conn(STEP).await.expect("resume retries at once");
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    assert_eq!(connect["params"]["auth"], json!({"token": SHARED}));
    wire.conn.hello_ok(connect["id"].as_str().unwrap(), 30_000, MAX_PAYLOAD, None).await.unwrap();
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected: a stored device token and no shared token → connect `auth` is exactly
// {deviceToken} and the signature binds it. AUTH_DEVICE_TOKEN_MISMATCH → compare-and-delete:
// a token replaced meanwhile survives; the rejected token itself is deleted on the next
// rejection; each rejection pauses (Auth); one connection per resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_token_mismatch_compare_and_delete_then_pause() {
    let Rig { mut fake, node, store, .. } = Rig::new(|cfg| {
        cfg.credentials = Credentials::default();
    })
    .await;
    let key = token_key(&node, &fake);
    let tok = |t: &str| StoredToken { token: t.into(), scopes: vec![], issued_at_ms: Some(1), updated_at_ms: 1 };
    store.save_token(&key, &tok("dev-tok-1")).unwrap();
    let mut notices = node.notices();
    node.start();

    let mismatch = json!({"code": "INVALID_REQUEST",
        "message": "unauthorized: device token mismatch (rotate/reissue device token)",
        "details": {"code": "AUTH_DEVICE_TOKEN_MISMATCH", "recommendedNextStep": "update_auth_credentials"}});

    // Round 1: a newer token lands while the connect is in flight; it must survive.
    let conn = fake.next_conn(STEP).await.unwrap();
    let challenge = conn.challenge().cloned().unwrap();
    let mut wire = Wire::new(conn, node.device_id());
    let connect = wire.expect("connect", STEP).await;
    assert_eq!(connect["params"]["auth"], json!({"deviceToken": "dev-tok-1"}));
    verify_v3(&connect, &challenge, "dev-tok-1");
    store.save_token(&key, &tok("dev-tok-2")).unwrap();
    wire.reject(&connect, mismatch.clone(), 1008, "unauthorized: device token mismatch").await;
    let s = wait_state(&node, "paused", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    match s {
        NodeState::Paused(p) => {
            assert_eq!(p.kind, PauseKind::Auth);
            assert_eq!(p.code.as_deref(), Some("AUTH_DEVICE_TOKEN_MISMATCH"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(store.load_token(&key).unwrap().map(|t| t.token.expose().to_string()).as_deref(), Some("dev-tok-2"));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(fake.accepted_count(), 1);

    // Round 2: the token it sent is still stored → deleted.
    node.resume();
    let (wire, connect) = Wire::next_connect(&mut fake, node.device_id()).await;
    assert_eq!(connect["params"]["auth"], json!({"deviceToken": "dev-tok-2"}));
    wire.reject(&connect, mismatch, 1008, "unauthorized: device token mismatch").await;
    eventually("token deleted", STEP, || store.load_token(&key).unwrap().is_none()).await;
    wait_state(&node, "paused again", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(matches!(node.state(), NodeState::Paused(_)));
    assert_eq!(fake.accepted_count(), 2);
    let cleared = drain_notices(&mut notices).iter().filter(|n| **n == NodeNotice::DeviceTokenCleared).count();
    assert_eq!(cleared, 1, "only the matching token was deleted");
    stop(&node).await;
}

// Expected: hello-ok with a new `auth.deviceToken` is persisted under (origin, deviceId,
// node) with issuedAtMs (notice DeviceTokenStored); with a shared token configured the next
// connect still sends exactly {token}. 2 connections.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hello_device_token_is_persisted() {
    let Rig { mut fake, node, store, .. } = Rig::new(|_| {}).await;
    let key = token_key(&node, &fake);
    let mut notices = node.notices();
    node.start();

    let (mut wire, _) = Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, Some("issued-tok-1")).await;
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    let stored = store.load_token(&key).unwrap().expect("device token persisted");
    assert_eq!(stored.token.expose(), "issued-tok-1");
    assert!(stored.issued_at_ms.is_some());
    assert!(stored.scopes.is_empty());
    assert!(drain_notices(&mut notices).contains(&NodeNotice::DeviceTokenStored));

    wire.conn.close(1012, "service restart").await.unwrap();
    let (mut wire2, connect) =
        Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, Some("issued-tok-1")).await;
    assert_eq!(connect["params"]["auth"], json!({"token": SHARED}), "errata 6: the shared token on every connect");
    let probe = wire2.expect("node.event", STEP).await;
    wire2.auto_ack(&probe).await;
    wait_state(&node, "ready again", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    assert!(!drain_notices(&mut notices).contains(&NodeNotice::DeviceTokenStored), "unchanged token not rewritten");
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}

// Expected (4001 then AUTH_DEVICE_TOKEN_MISMATCH, pairing.md §3.8): a node running on its
// stored device token is closed 4001 "client invalidated: gateway auth changed"; it
// reconnects at once with the same token, is rejected AUTH_DEVICE_TOKEN_MISMATCH,
// compare-and-deletes exactly that token, and pauses (no shared secret, no setup code):
// 2 connections, none more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn close_4001_then_device_token_mismatch_deletes_and_pauses() {
    let Rig { mut fake, node, store, .. } = Rig::new(|cfg| {
        cfg.credentials = Credentials::default();
    })
    .await;
    let key = token_key(&node, &fake);
    store
        .save_token(
            &key,
            &StoredToken { token: "dev-A".into(), scopes: vec![], issued_at_ms: Some(1), updated_at_ms: 1 },
        )
        .unwrap();
    node.start();
    let (mut wire, connect) = Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, None).await;
    assert_eq!(connect["params"]["auth"], json!({"deviceToken": "dev-A"}));
    let probe = wire.expect("node.event", STEP).await;
    wire.auto_ack(&probe).await;
    wait_state(&node, "ready", STEP, |s| matches!(s, NodeState::Ready { .. })).await;
    wire.conn.close(4001, "client invalidated: gateway auth changed").await.unwrap();

    let (wire, connect) = Wire::next_connect(&mut fake, node.device_id()).await;
    assert_eq!(connect["params"]["auth"], json!({"deviceToken": "dev-A"}));
    wire.reject(
        &connect,
        json!({"code": "INVALID_REQUEST", "message": "unauthorized: device token mismatch",
            "details": {"code": "AUTH_DEVICE_TOKEN_MISMATCH"}}),
        1008,
        "unauthorized: device token mismatch",
    )
    .await;
    let s = wait_state(&node, "paused", STEP, |s| matches!(s, NodeState::Paused(_))).await;
    assert!(matches!(&s, NodeState::Paused(p) if p.code.as_deref() == Some("AUTH_DEVICE_TOKEN_MISMATCH")), "{s:?}");
    assert!(store.load_token(&key).unwrap().is_none(), "the rejected token was deleted");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(fake.accepted_count(), 2);
    stop(&node).await;
}
