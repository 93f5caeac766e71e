//! Self-tests of the testkit: the real Gateway launcher + operator client, and the
//! fake Gateway driven by a raw tungstenite client.

use std::time::{Duration, Instant};

use clawnode_testkit::fake::{FakeGateway, FakeOptions};
use clawnode_testkit::gateway::Gateway;
use clawnode_testkit::operator::Operator;
use clawnode_testkit::provision::{provision, provision_async};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

const T: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_gateway_smoke() {
    let t0 = Instant::now();
    let prov = provision_async().await.expect("provision");
    eprintln!("provision: {:?}", t0.elapsed());
    let mut gw = Gateway::builder().auto_approve_local(false).provisioned(prov).start().await.expect("gateway start");
    eprintln!("gateway start: {:?} on {}", gw.startup_time(), gw.ws_url());
    let cfg: Value = serde_json::from_slice(&std::fs::read(gw.state_dir().join("openclaw.json")).expect("config"))
        .expect("config json");
    assert_eq!(cfg["gateway"]["nodes"]["pairing"]["autoApproveLocal"], false);

    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connect");
    assert_eq!(op.hello()["type"], "hello-ok");
    assert_eq!(op.hello()["auth"]["role"], "operator");

    let nodes = op.node_list().await.expect("node.list");
    assert!(nodes["nodes"].is_array(), "node.list: {nodes}");
    let devices = op.device_pair_list().await.expect("device.pair.list");
    assert!(devices["pending"].is_array(), "device.pair.list: {devices}");
    let health = op.request("health", json!({})).await.expect("health");
    assert!(health.is_object(), "health: {health}");

    // Errors carry the full ErrorShape.
    let err = op.node_describe("no-such-node").await.expect_err("unknown node");
    assert_eq!(err.code(), Some("INVALID_REQUEST"), "{err}");

    // A wrong shared token is rejected with the documented details code.
    let bad = Operator::connect(&gw.ws_url(), "wrong-token").await.expect_err("wrong token");
    match &bad {
        clawnode_testkit::TestkitError::Operator(e) => {
            assert_eq!(e.details_code(), Some("AUTH_TOKEN_MISMATCH"), "{e}")
        }
        other => panic!("unexpected error {other}"),
    }

    // Restart: same port, token and state; the old operator sees the shutdown.
    let port = gw.port();
    let t1 = Instant::now();
    gw.restart().await.expect("restart");
    eprintln!("gateway restart: {:?} (ready after {:?})", t1.elapsed(), gw.startup_time());
    assert_eq!(gw.port(), port);
    let closed = op.wait_closed(T).await.expect("old operator closed");
    eprintln!(
        "old operator: {closed}; close frame {:?}; shutdown event: {:?}",
        op.close_frame(),
        op.events().iter().find(|e| e["event"] == "shutdown")
    );
    let op2 = Operator::connect(&gw.ws_url(), gw.token()).await.expect("reconnect after restart");
    let nodes = op2.node_list().await.expect("node.list after restart");
    assert!(nodes["nodes"].is_array());
    op2.close().await;

    let status = gw.stop().await.expect("stop");
    eprintln!("gateway stop: {status:?}; total {:?}", t0.elapsed());
    assert!(TcpStream::connect(("127.0.0.1", port)).await.is_err(), "port {port} still open after stop");
}

#[test]
fn provision_is_idempotent_and_concurrent() {
    let handles: Vec<_> = (0..4).map(|_| std::thread::spawn(provision)).collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().expect("thread").expect("provision")).collect();
    assert!(results.windows(2).all(|w| w[0] == w[1]));
    let t = Instant::now();
    let p = provision().expect("provision");
    assert!(t.elapsed() < Duration::from_millis(500), "{:?}", t.elapsed());
    assert!(p.node.is_file() && p.openclaw_entry.is_file());
}

async fn raw_client(url: &str) -> WebSocketStream<TcpStream> {
    let addr = url.trim_start_matches("ws://");
    let tcp = TcpStream::connect(addr).await.expect("tcp");
    tokio_tungstenite::client_async(url, tcp).await.expect("upgrade").0
}

async fn next_json(ws: &mut WebSocketStream<TcpStream>) -> Value {
    loop {
        let m =
            tokio::time::timeout(T, ws.next()).await.expect("frame in time").expect("stream open").expect("no error");
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).expect("json");
        }
    }
}

#[tokio::test]
async fn fake_gateway_handshake_events_close() {
    let mut fake = FakeGateway::start().await.expect("fake");
    let mut client = raw_client(&fake.ws_url()).await;
    let mut conn = fake.next_conn(T).await.expect("conn");
    assert_eq!(fake.accepted_count(), 1);

    let ch = next_json(&mut client).await;
    assert_eq!(ch["event"], "connect.challenge");
    assert_eq!(ch["payload"]["nonce"].as_str().map(str::len), Some(36));
    assert!(ch["payload"]["ts"].as_u64().is_some());
    assert_eq!(conn.nonce(), ch["payload"]["nonce"].as_str());

    let req = json!({"type": "req", "id": "r1", "method": "connect", "params": {"minProtocol": 4}});
    client.send(Message::text(req.to_string())).await.expect("send");
    let got = conn.recv_request("connect", T).await.expect("connect req");
    assert_eq!(got["params"]["minProtocol"], 4);
    conn.hello_ok("r1", 1000, 1024, Some("devtok")).await.expect("hello");
    let hello = next_json(&mut client).await;
    assert_eq!(hello["ok"], true);
    let p = &hello["payload"];
    assert_eq!(p["type"], "hello-ok");
    assert_eq!(p["protocol"], 4);
    assert_eq!(p["policy"]["tickIntervalMs"], 1000);
    assert_eq!(p["policy"]["maxPayload"], 1024);
    assert_eq!(p["auth"]["deviceToken"], "devtok");
    assert!(p["server"]["connId"].is_string());

    conn.send_event("tick", json!({"ts": 1}), Some(1)).await.expect("event");
    let ev = next_json(&mut client).await;
    assert_eq!((ev["event"].as_str(), ev["seq"].as_u64()), (Some("tick"), Some(1)));

    // Pings are answered (respond_to_pings defaults to true).
    client.send(Message::Ping(b"p1".to_vec().into())).await.expect("ping");
    let pong = tokio::time::timeout(T, client.next()).await.expect("pong in time");
    assert!(matches!(pong, Some(Ok(Message::Pong(_)))), "{pong:?}");

    conn.close(4001, "gateway auth changed").await.expect("close");
    let close = loop {
        match tokio::time::timeout(T, client.next()).await.expect("close in time") {
            Some(Ok(Message::Close(f))) => break f,
            Some(Ok(_)) => continue,
            other => panic!("expected close, got {other:?}"),
        }
    };
    let f = close.expect("close frame");
    assert_eq!(u16::from(f.code), 4001);
    assert_eq!(f.reason.as_str(), "gateway auth changed");
}

#[tokio::test]
async fn fake_gateway_pull_mode_drops_pongs_and_drop_tcp() {
    let mut fake =
        FakeGateway::start_with(FakeOptions { respond_to_pings: false, ..FakeOptions::default() }).await.expect("fake");
    let mut client = raw_client(&fake.ws_url()).await;
    let mut conn = fake.next_conn(T).await.expect("conn");
    let _challenge = next_json(&mut client).await;
    client.send(Message::Ping(b"p".to_vec().into())).await.expect("ping");
    // Not read by the fake, so no pong.
    let r = tokio::time::timeout(Duration::from_millis(700), client.next()).await;
    assert!(r.is_err(), "unexpected frame {r:?}");
    // A recv_* reads on demand.
    client.send(Message::text(r#"{"type":"req","id":"1","method":"x"}"#)).await.expect("send");
    let f = conn.recv_frame(T).await.expect("frame");
    assert_eq!(f["method"], "x");
    assert_eq!(conn.pings_received(), 1);

    // Abrupt TCP drop: no close frame.
    conn.drop_tcp();
    let end = loop {
        match tokio::time::timeout(T, client.next()).await.expect("end in time") {
            Some(Ok(Message::Pong(_))) => continue,
            other => break other,
        }
    };
    assert!(!matches!(end, Some(Ok(Message::Close(_)))), "got a close frame: {end:?}");
    // Second connection is counted with its timestamp.
    let _c2 = raw_client(&fake.ws_url()).await;
    let _conn2 = fake.next_conn(T).await.expect("conn2");
    assert_eq!(fake.accepted_count(), 2);
    let times = fake.accepted_times();
    assert!(times[0] <= times[1]);
}

#[tokio::test]
async fn operator_against_fake_correlates_out_of_order() {
    let mut fake = FakeGateway::start().await.expect("fake");
    let url = fake.ws_url();
    let client = tokio::spawn(async move { Operator::connect(&url, "tok").await });
    let mut conn = fake.next_conn(T).await.expect("conn");
    let req = conn.accept_connect(T).await.expect("connect");
    assert_eq!(req["params"]["client"]["id"], "cli");
    assert_eq!(req["params"]["role"], "operator");
    assert_eq!(req["params"]["auth"]["token"], "tok");
    assert_eq!(req["params"]["scopes"].as_array().map(Vec::len), Some(5));
    let op = client.await.expect("join").expect("operator");

    let op = std::sync::Arc::new(op);
    let (a, b) = (op.clone(), op.clone());
    let ta = tokio::spawn(async move { a.request("a", json!({})).await });
    let tb = tokio::spawn(async move { b.request("b", json!({})).await });
    let r1 = conn.recv_frame(T).await.expect("r1");
    let r2 = conn.recv_frame(T).await.expect("r2");
    let (ra, rb) = if r1["method"] == "a" { (r1, r2) } else { (r2, r1) };
    conn.send_event("node.pair.requested", json!({"requestId": "x"}), Some(1)).await.expect("event");
    conn.reply_err(
        rb["id"].as_str().expect("id"),
        json!({"code": "UNAVAILABLE", "message": "node not connected", "details": {"code": "NOT_CONNECTED"}}),
    )
    .await
    .expect("err");
    conn.reply_ok(ra["id"].as_str().expect("id"), json!({"v": 1})).await.expect("ok");
    assert_eq!(ta.await.expect("join").expect("a")["v"], 1);
    let e = tb.await.expect("join").expect_err("b fails");
    let shape = e.shape().expect("shape");
    assert_eq!(shape.code, "UNAVAILABLE");
    assert_eq!(shape.message, "node not connected");
    assert_eq!(e.details_code(), Some("NOT_CONNECTED"));

    let ev = op.next_event("node.pair.requested", T).await.expect("event");
    assert_eq!(ev["payload"]["requestId"], "x");
    assert!(op.next_event("node.pair.requested", Duration::from_millis(100)).await.is_err());
    assert!(op.wait_event(|e| e["event"] == "node.pair.requested", T).await.is_ok());

    // Timeouts are bounded.
    let e = op.request_with_timeout("never", json!({}), Duration::from_millis(200)).await.expect_err("timeout");
    assert!(matches!(e, clawnode_testkit::OperatorError::Timeout { .. }), "{e}");
}

#[test]
fn gateway_dropped_during_panic_leaves_no_process() {
    let (tx, rx) = std::sync::mpsc::channel();
    let joined = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let gw = Gateway::builder().start().await.expect("gateway start");
            let root = gw.state_dir().parent().map(|p| p.to_path_buf());
            tx.send((gw.pid().expect("pid"), gw.port(), root)).expect("send");
            panic!("deliberate panic with a live gateway");
        })
    })
    .join();
    assert!(joined.is_err(), "the thread should have panicked");
    let (pid, port, root) = rx.recv().expect("pid");
    // Killed group members are reaped by init asynchronously: allow a moment.
    let deadline = Instant::now() + Duration::from_secs(5);
    // SAFETY: probing (signal 0) the process group the gateway ran in.
    #[allow(unsafe_code, reason = "kill(2) with signal 0")]
    while unsafe { libc::kill(-(pid as i32), 0) } == 0 {
        assert!(Instant::now() < deadline, "process group {pid} still alive");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    // The state dir is kept (and printed) on panic; clean it up here.
    let root = root.expect("root");
    assert!(root.join("gateway.log").is_file());
    let _ = std::fs::remove_dir_all(root);
}
