//! `clawnode import-openclaw` against the official TS node host and the real Gateway
//! (`openclaw@2026.9.6`): the TS host pairs (silent loopback device pairing, surface approved
//! by the operator), stops; its SQLite state is imported; `clawnode run --url` without a
//! token then connects as the same device with its device token, and no new device pairing
//! request appears.

use std::time::{Duration, Instant};

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
use serde_json::Value;

const T: Duration = Duration::from_secs(90);

async fn ts_node(op: &Operator) -> Option<Value> {
    let list = op.node_list().await.ok()?;
    list["nodes"].as_array()?.iter().find(|n| n["displayName"] == "ts").cloned()
}

async fn approve_surface(op: &Operator, node_id: &str) {
    let deadline = Instant::now() + T;
    loop {
        let list = op.node_pair_list().await.unwrap();
        if let Some(p) = list["pending"].as_array().and_then(|a| a.iter().find(|p| p["nodeId"] == node_id)) {
            op.node_pair_approve(p["requestId"].as_str().unwrap()).await.unwrap();
            return;
        }
        assert!(Instant::now() < deadline, "no pending surface request for {node_id}: {list}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imports_the_official_host_identity_and_token() {
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let p = gw.provisioned().clone();
    let ts_state = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(ts_state.path().join("home")).unwrap();

    // The official host pairs and gets its surface approved.
    let mut ts = tokio::process::Command::new(&p.node)
        .arg(&p.openclaw_entry)
        .args(["node", "run", "--host", "127.0.0.1", "--port", &gw.port().to_string(), "--display-name", "ts"])
        .current_dir(&p.gateway_dir)
        .env("OPENCLAW_GATEWAY_TOKEN", gw.token())
        .env("OPENCLAW_STATE_DIR", ts_state.path())
        .env("HOME", ts_state.path().join("home"))
        .env_remove("OPENCLAW_GATEWAY_URL")
        .env("PATH", format!("{}:{}", p.node_bin_dir.display(), std::env::var("PATH").unwrap_or_default()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn openclaw node run");
    let deadline = Instant::now() + Duration::from_secs(120);
    let node_id = loop {
        if let Some(n) = ts_node(&op).await
            && n["connected"] == true
        {
            break n["nodeId"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "the TS host never connected");
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    approve_surface(&op, &node_id).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    ts.kill().await.unwrap();
    assert!(ts_state.path().join("state/openclaw.sqlite").exists());
    let pending_before = op.device_pair_list().await.unwrap()["pending"].as_array().map_or(0, Vec::len);
    assert_eq!(pending_before, 0);

    // A ClawNode state directory with another identity: refused without --force.
    let ours = tempfile::tempdir().unwrap();
    let ours_dir = ours.path().to_str().unwrap().to_string();
    let from = ts_state.path().to_str().unwrap().to_string();
    // The default build reads the SQLite state through the official host's Node runtime.
    let node_rt = p.node.to_str().unwrap().to_string();
    let mut ident = ClawnodeProcess::spawn(&["identity", "--state-dir", &ours_dir], &[]).unwrap();
    assert!(ident.wait_exit(Duration::from_secs(30)).await.unwrap().success());
    let mut refused = ClawnodeProcess::spawn(
        &["import-openclaw", "--state-dir", &ours_dir, "--from", &from, "--node", &node_rt],
        &[],
    )
    .unwrap();
    let st = refused.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert_eq!(st.code(), Some(2), "{:?}", refused.lines());
    assert!(refused.lines().iter().any(|l| l.contains("--force")), "{:?}", refused.lines());

    let args = ["import-openclaw", "--state-dir", &ours_dir, "--from", &from, "--force", "--node", &node_rt];
    let mut imp = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let st = imp.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert!(st.success(), "{:?}", imp.lines());
    let out = imp.lines().join("\n");
    assert!(out.contains(&node_id), "{out}");
    assert!(out.contains("device token: role node for ws://127.0.0.1"), "{out}");
    let tokens: Value =
        serde_json::from_slice(&std::fs::read(ours.path().join("device-tokens.json")).unwrap()).unwrap();
    let entry = tokens["tokens"].as_object().unwrap().values().next().unwrap().clone();
    assert_eq!(entry["deviceId"], node_id.as_str());
    assert_eq!(entry["role"], "node");
    assert_eq!(entry["origin"], gw.ws_url().trim_end_matches('/'));

    // ClawNode connects as the same device with the imported device token (no shared token).
    let url = gw.ws_url();
    let mut node = ClawnodeProcess::spawn(&["run", "--url", &url, "--state-dir", &ours_dir], &[]).unwrap();
    let first = tokio::time::timeout(T, async {
        loop {
            if let Some(l) =
                node.lines().into_iter().find(|l| l.contains("ready: node") || l.contains("commands await approval"))
            {
                return l;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("clawnode never connected: {:?}", node.lines()));
    if first.contains("commands await approval") {
        // ClawNode declares a different command surface than the TS host: approve it.
        approve_surface(&op, &node_id).await;
    }
    let ready = node.wait_line("ready: node", T).await.unwrap();
    assert!(ready.contains(&node_id), "{ready}");
    assert!(ready.contains("auth: device-token"), "{ready}");
    assert!(node.lines().iter().all(|l| !l.contains("pairing required")), "{:?}", node.lines());
    let list = op.device_pair_list().await.unwrap();
    assert!(list["pending"].as_array().is_none_or(Vec::is_empty), "{list}");
    let r = op.node_invoke(&node_id, "system.which", serde_json::json!({"bins": ["sh"]}), 10_000).await.unwrap();
    assert!(r["payload"]["bins"]["sh"].is_string(), "{r}");
    assert!(node.terminate().await.unwrap().success());
    op.close().await;
}
