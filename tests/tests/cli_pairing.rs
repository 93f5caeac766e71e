//! The `clawnode` binary against the real Gateway (`openclaw@2026.9.6`), with explicit
//! pairing (`gateway.nodes.pairing.autoApproveLocal=false`):
//!
//! 1. the node reports pairing required with the requestId the operator sees, keeps it
//!    while waiting, and connects by itself after `device.pair.approve`, persisting its
//!    device token;
//! 2. `node.pair.approve` → `node.pair.resolved` → ready without reconnecting, and the
//!    operator's `node.invoke system.which` returns the node's real answer;
//! 3. restarted with `--url` but no `--token`, it reconnects with the stored device token
//!    (`hello-ok.auth.method = device-token`);
//! 6. a wrong shared token pauses the node (exit 78) after one attempt, and with
//!    `--on-pause wait` it makes no further attempt.

use std::time::Duration;

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

fn connecting_lines(p: &ClawnodeProcess) -> usize {
    p.lines().iter().filter(|l| l.contains("] connecting (attempt")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_pairs_invokes_and_reconnects_with_device_token() {
    let gw = Gateway::builder()
        .auto_approve_local(false)
        .allow_commands(&["device.info", "device.status"])
        .start()
        .await
        .expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_string();

    // The identity printed for out-of-band checks is the one the node will use.
    let mut ident = ClawnodeProcess::spawn(&["identity", "--json", "--state-dir", &state_dir], &[]).unwrap();
    let status = ident.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert!(status.success());
    let ident: Value = serde_json::from_str(&ident.lines()[0]).unwrap();
    let device_id = ident["deviceId"].as_str().unwrap().to_string();
    assert_eq!(device_id.len(), 64);
    assert_eq!(ident["publicKey"].as_str().unwrap().len(), 43);

    // 1. Pairing required, with the requestId the operator sees.
    let url = gw.ws_url();
    let args = ["run", "--url", &url, "--token", gw.token(), "--state-dir", &state_dir, "--display-name", "itest-node"];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let line = node.wait_line("approve request ", T).await.unwrap();
    let request_id = line.split("approve request ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    assert!(line.contains(&format!("openclaw devices approve {request_id}")), "{line}");
    let pending = op.wait_for_pending_device(T).await.unwrap();
    assert_eq!(pending["requestId"], request_id.as_str());
    assert_eq!(pending["deviceId"], device_id.as_str());
    assert_eq!(pending["clientId"], "node-host");
    assert_eq!(pending["platform"], "linux");
    assert_eq!(pending["deviceFamily"], "Linux");
    assert_eq!(pending["role"], "node");

    // It keeps retrying with the same request (no churn).
    node.wait_line("still awaiting approval of", T).await.unwrap();
    let list = op.device_pair_list().await.unwrap();
    let pending: Vec<&Value> = list["pending"].as_array().unwrap().iter().collect();
    assert_eq!(pending.len(), 1, "{list}");
    assert_eq!(pending[0]["requestId"], request_id.as_str());
    assert!(node.lines().iter().all(|l| !l.contains("approve request") || l.contains(&request_id)));

    // Approve the device: the node reconnects by itself and stores its device token.
    op.device_pair_approve(&request_id).await.unwrap();
    node.wait_line("commands await approval", T).await.unwrap();
    let tokens: Value =
        serde_json::from_slice(&std::fs::read(state.path().join("device-tokens.json")).unwrap()).unwrap();
    let entry = tokens["tokens"].as_object().unwrap().values().next().unwrap().clone();
    assert_eq!(entry["origin"], url.trim_end_matches('/'));
    assert_eq!(entry["deviceId"], device_id.as_str());
    assert_eq!(entry["role"], "node");
    assert_eq!(entry["token"].as_str().unwrap().len(), 43);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.path().join("device-tokens.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // 2. Approve the command surface: the live node becomes ready without reconnecting.
    let surface = op.wait_for_pending_node(T).await.unwrap();
    assert_eq!(surface["nodeId"], device_id.as_str());
    let mut declared: Vec<String> =
        surface["commands"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    declared.sort();
    assert_eq!(
        declared,
        vec![
            "device.info",
            "device.status",
            "system.execApprovals.get",
            "system.execApprovals.set",
            "system.notify",
            "system.run",
            "system.run.prepare",
            "system.which"
        ]
    );
    let connects_before = connecting_lines(&node);
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    let ready = node.wait_line("ready: node", T).await.unwrap();
    assert!(ready.contains(&device_id), "{ready}");
    assert_eq!(connecting_lines(&node), connects_before, "approval must not need a reconnect");
    assert!(!node.lines().iter().any(|l| l.contains("disconnected")));

    let r = op.node_invoke(&device_id, "system.which", json!({"bins": ["sh"]}), 10_000).await.unwrap();
    let sh = r["payload"]["bins"]["sh"].as_str().expect("sh found");
    assert!(std::path::Path::new(sh).exists(), "{r}");
    assert_eq!(r["command"], "system.which");
    assert_eq!(r["nodeId"], device_id.as_str());

    let r = op.node_invoke(&device_id, "device.info", json!({}), 10_000).await.unwrap();
    assert_eq!(r["payload"]["platform"], "linux", "{r}");
    let r = op.node_invoke(&device_id, "device.status", json!({}), 10_000).await.unwrap();
    assert!(r["payload"]["memory"].is_object(), "{r}");

    // The Gateway got node.host.stats from the node.
    let described = op.node_describe(&device_id).await.unwrap();
    assert!(described["hostStats"].is_object(), "{described}");

    // 3. Restart with --url and no --token: the stored device token is used.
    let st = node.terminate().await.unwrap();
    assert!(st.success(), "{st:?}");
    let args = ["run", "--url", &url, "--state-dir", &state_dir];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let ready = node.wait_line("ready: node", T).await.unwrap();
    assert!(ready.contains("auth: device-token"), "{ready}");
    let r =
        op.node_invoke(&device_id, "system.which", json!({"bins": ["sh", "definitely-not-a-binary"]}), 10_000).await;
    let r = r.unwrap();
    assert!(r["payload"]["bins"]["sh"].is_string());
    assert!(r["payload"]["bins"].get("definitely-not-a-binary").is_none());
    node.terminate().await.unwrap();

    // --url to another origin with no token and no stored token for it: refused up front.
    let other = format!("ws://127.0.0.1:{}", gw.port().wrapping_add(1));
    let mut refused = ClawnodeProcess::spawn(&["run", "--url", &other, "--state-dir", &state_dir], &[]).unwrap();
    let st = refused.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert_eq!(st.code(), Some(2));
    assert!(refused.lines().iter().any(|l| l.contains("explicit credentials")), "{:?}", refused.lines());

    // 6. A wrong shared token: one attempt, then a terminal pause (exit 78).
    let bad_state = tempfile::tempdir().unwrap();
    let bad_dir = bad_state.path().to_str().unwrap();
    let args = ["run", "--url", &url, "--token", "wrong-token", "--state-dir", bad_dir];
    let mut bad = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let st = bad.wait_exit(T).await.unwrap();
    assert_eq!(st.code(), Some(78), "{:?}", bad.lines());
    assert!(bad.lines().iter().any(|l| l.contains("paused") && l.contains("AUTH_TOKEN_MISMATCH")), "{:?}", bad.lines());
    assert_eq!(connecting_lines(&bad), 1);
    // With --on-pause wait it stays paused and does not retry.
    let args = ["run", "--url", &url, "--token", "wrong-token", "--state-dir", bad_dir, "--on-pause", "wait"];
    let mut bad = ClawnodeProcess::spawn(&args, &[]).unwrap();
    bad.wait_line("paused", T).await.unwrap();
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert!(bad.is_running());
    assert_eq!(connecting_lines(&bad), 1, "{:?}", bad.lines());
    let st = bad.terminate().await.unwrap();
    assert!(st.success());

    op.close().await;
}
