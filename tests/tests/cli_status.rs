//! `clawnode status` against a running `clawnode run` on the real Gateway (`openclaw@2026.9.6`):
//! the control socket is 0600, the snapshot follows the node from "commands await approval"
//! to ready, and the allowlist self-check predicts `device.info` (not a Linux default: needs
//! `gateway.nodes.commands.allow`) vs `system.which` (desktop-host: allowed once approved).
//! With no node running, `clawnode status` exits 3 with a clear message.

use std::time::Duration;

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
use serde_json::Value;

const T: Duration = Duration::from_secs(60);

async fn status(state_dir: &str) -> Value {
    let mut p = ClawnodeProcess::spawn(&["status", "--json", "--state-dir", state_dir], &[]).unwrap();
    let st = p.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert!(st.success(), "{:?}", p.lines());
    serde_json::from_str(&p.lines()[0]).unwrap()
}

fn entry<'a>(v: &'a Value, command: &str) -> &'a Value {
    v["allowlist"]["commands"].as_array().unwrap().iter().find(|c| c["command"] == command).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_state_and_allowlist_prediction() {
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_string();

    // No node yet: a clear message and a non-zero exit.
    let mut none = ClawnodeProcess::spawn(&["status", "--state-dir", &state_dir], &[]).unwrap();
    let st = none.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert_eq!(st.code(), Some(3), "{:?}", none.lines());
    assert!(none.lines().iter().any(|l| l.contains("no clawnode node is running")), "{:?}", none.lines());

    let url = gw.ws_url();
    let args = ["run", "--url", &url, "--token", gw.token(), "--state-dir", &state_dir];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    node.wait_line("commands await approval", T).await.unwrap();

    #[cfg(unix)]
    {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let meta = std::fs::metadata(state.path().join("control.sock")).unwrap();
        assert!(meta.file_type().is_socket());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }

    let v = status(&state_dir).await;
    assert_eq!(v["state"]["kind"], "awaiting-command-approval", "{v}");
    assert_eq!(v["pendingApproval"]["kind"], "commands", "{v}");
    assert_eq!(v["gateway"], url.trim_end_matches('/'));
    assert!(!v.to_string().contains(gw.token()), "the snapshot must not carry the token");
    assert_eq!(v["allowlist"]["surface"], "pending");
    assert_eq!(entry(&v, "device.info")["allowed"], "only-if-allowed", "{v}");
    assert_eq!(entry(&v, "device.info")["policy"], "not-in-defaults");
    assert_eq!(entry(&v, "system.which")["allowed"], "after-approval", "{v}");
    assert_eq!(entry(&v, "system.which")["policy"], "desktop-host");

    // Approve the surface: ready, and system.which is now predicted allowed.
    let surface = op.wait_for_pending_node(T).await.unwrap();
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    node.wait_line("ready: node", T).await.unwrap();
    let device_id = v["deviceId"].as_str().unwrap().to_string();
    let r = op.node_invoke(&device_id, "system.which", serde_json::json!({"bins": ["sh"]}), 10_000).await.unwrap();
    assert!(r["payload"]["bins"]["sh"].is_string(), "{r}");

    let v = status(&state_dir).await;
    assert_eq!(v["state"]["kind"], "ready", "{v}");
    assert!(v["pendingApproval"].is_null(), "{v}");
    assert_eq!(v["allowlist"]["surface"], "approved");
    assert_eq!(entry(&v, "system.which")["allowed"], "yes", "{v}");
    assert_eq!(entry(&v, "device.info")["allowed"], "only-if-allowed", "{v}");
    assert_eq!(entry(&v, "system.notify")["allowed"], "yes", "{v}");
    assert!(v["invokes"]["succeeded"].as_u64().unwrap() >= 1, "{v}");
    assert!(v["allowlist"]["note"].as_str().unwrap().contains("never sees invoke denials"));

    // Human form.
    let mut p = ClawnodeProcess::spawn(&["status", "--state-dir", &state_dir], &[]).unwrap();
    assert!(p.wait_exit(Duration::from_secs(30)).await.unwrap().success());
    let text = p.lines().join("\n");
    assert!(text.contains("allowlist self-check"), "{text}");
    assert!(text.contains("device.info") && text.contains("only-if-allowed"), "{text}");

    // --deep: the Gateway's `health` (as `openclaw status --deep`), asked through the node
    // with its shared token; the token never appears in the answer.
    let mut p = ClawnodeProcess::spawn(&["status", "--deep", "--json", "--state-dir", &state_dir], &[]).unwrap();
    assert!(p.wait_exit(Duration::from_secs(60)).await.unwrap().success(), "{:?}", p.lines());
    let v: Value = serde_json::from_str(&p.lines().join("\n")).unwrap();
    let health = &v["health"];
    assert!(health.get("error").is_none(), "{health}");
    assert_eq!(health["ok"], true, "{health}");
    assert!(!v.to_string().contains(gw.token()));
    let mut p = ClawnodeProcess::spawn(&["status", "--deep", "--state-dir", &state_dir], &[]).unwrap();
    assert!(p.wait_exit(Duration::from_secs(60)).await.unwrap().success());
    assert!(p.lines().iter().any(|l| l.starts_with("health:") && l.contains("ok")), "{:?}", p.lines());

    // A second node on the same state directory is refused.
    let mut second = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let st = second.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert_eq!(st.code(), Some(2), "{:?}", second.lines());

    // Stopped: the socket is gone and status says so.
    assert!(node.terminate().await.unwrap().success());
    // On its device token alone the node has no operator credential: --deep says so.
    let args = ["run", "--url", &url, "--state-dir", &state_dir];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    node.wait_line("ready: node", T).await.unwrap();
    let mut p = ClawnodeProcess::spawn(&["status", "--deep", "--json", "--state-dir", &state_dir], &[]).unwrap();
    assert!(p.wait_exit(Duration::from_secs(60)).await.unwrap().success(), "{:?}", p.lines());
    let v: Value = serde_json::from_str(&p.lines().join("\n")).unwrap();
    assert!(v["health"]["error"].as_str().unwrap().contains("no shared gateway token"), "{v}");
    assert!(node.terminate().await.unwrap().success());
    assert!(!state.path().join("control.sock").exists());
    let mut gone = ClawnodeProcess::spawn(&["status", "--state-dir", &state_dir], &[]).unwrap();
    assert_eq!(gone.wait_exit(Duration::from_secs(30)).await.unwrap().code(), Some(3));

    op.close().await;
}
