//! How `clawnode run` finds the Gateway, against the real Gateway (`openclaw@2026.9.6`),
//! for the ways a tailnet device names it (issue 16, item 5):
//!
//! 1. no target flag: `OPENCLAW_GATEWAY_PORT` gives the local target's port;
//! 2. `--host/--port` (as `openclaw node run` takes them) build an explicit target, which
//!    needs explicit credentials like `--url`;
//! 3. `--context-path`: the URL carries the path (what the Gateway does with it is recorded);
//! 4. local mode with `gateway.tls.enabled` in `openclaw.json`: `wss://127.0.0.1:<port>`,
//!    pinned to the Gateway's own certificate, no flag;
//! 5. `--tailscale-auth`: an explicit URL with no shared secret is tried (one connect that
//!    carries none) instead of being refused up front; on loopback the Gateway cannot see a
//!    Tailscale identity, so it refuses the connect and the node pauses (exit 78).
//!
//! Each run uses a fresh state directory (a new device: auto-approved on loopback, its
//! commands then await approval) and an empty `OPENCLAW_STATE_DIR`/`XDG_CONFIG_HOME`, so no
//! config of the machine leaks in.

use std::path::Path;
use std::time::Duration;

use clawnode_testkit::{ClawnodeProcess, Gateway};
use serde_json::json;

const T: Duration = Duration::from_secs(90);
const CONNECTED: &str = "paired; commands await approval";

/// Runs `clawnode run <args>` with `envs` plus an empty config environment.
fn run(args: &[&str], envs: &[(&str, &str)], scratch: &Path) -> (ClawnodeProcess, tempfile::TempDir) {
    let state = tempfile::tempdir().unwrap();
    let empty = scratch.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let empty = empty.to_str().unwrap().to_string();
    let mut all: Vec<(&str, &str)> = vec![("OPENCLAW_STATE_DIR", &empty), ("XDG_CONFIG_HOME", &empty)];
    all.extend_from_slice(envs);
    let full = [&["run", "--state-dir", state.path().to_str().unwrap()], args].concat();
    (ClawnodeProcess::spawn(&full, &all).unwrap(), state)
}

fn connects(p: &ClawnodeProcess) -> usize {
    p.lines().iter().filter(|l| l.contains("] connecting (attempt")).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn port_env_host_port_context_path_and_tailscale_auth() {
    let gw = Gateway::builder()
        .extra_config(json!({"gateway": {"auth": {"allowTailscale": true}}}))
        .start()
        .await
        .expect("gateway starts");
    let scratch = tempfile::tempdir().unwrap();
    let port = gw.port().to_string();

    // 1. OPENCLAW_GATEWAY_PORT (and OpenClaw's `host:port` form of it).
    for value in [port.clone(), format!("127.0.0.1:{port}")] {
        let envs = [("OPENCLAW_GATEWAY_PORT", value.as_str()), ("OPENCLAW_GATEWAY_TOKEN", gw.token())];
        let (mut p, _s) = run(&[], &envs, scratch.path());
        let line = p.wait_line(CONNECTED, T).await.unwrap_or_else(|e| panic!("{e}: {:?}", p.lines()));
        assert!(line.contains(CONNECTED), "{line}");
        assert!(
            p.lines().iter().any(|l| l.contains(&format!("ws://127.0.0.1:{port}")) && l.contains("default")),
            "the default target on the env port: {:?}",
            p.lines()
        );
        p.terminate().await.unwrap();
    }

    // 2. --host/--port with a token; without one it is an explicit target: refused (exit 2).
    let (mut p, _s) = run(&["--host", "127.0.0.1", "--port", &port, "--token", gw.token()], &[], scratch.path());
    p.wait_line(CONNECTED, T).await.unwrap_or_else(|e| panic!("{e}: {:?}", p.lines()));
    assert!(p.lines().iter().any(|l| l.contains("--host/--port")), "{:?}", p.lines());
    p.terminate().await.unwrap();
    let envs = [("OPENCLAW_GATEWAY_TOKEN", gw.token())];
    let (mut p, _s) = run(&["--host", "127.0.0.1", "--port", &port], &envs, scratch.path());
    assert_eq!(p.wait_exit(T).await.unwrap().code(), Some(2), "{:?}", p.lines());
    assert!(p.lines().iter().any(|l| l.contains("explicit credentials")), "{:?}", p.lines());

    // 3. --context-path: the Gateway serves its WebSocket on any path of its port (2026.9.6),
    //    so a node behind a path-routing proxy reaches it with the path.
    let args = ["--port", &port, "--context-path", "openclaw-gw", "--token", gw.token()];
    let (mut p, _s) = run(&args, &[], scratch.path());
    p.wait_line(CONNECTED, T).await.unwrap_or_else(|e| panic!("{e}: {:?}", p.lines()));
    assert!(p.lines().iter().any(|l| l.contains(&format!("ws://127.0.0.1:{port}/openclaw-gw"))), "{:?}", p.lines());
    p.terminate().await.unwrap();

    // 5. --tailscale-auth: tried (not refused up front), with no secret from env or config;
    //    a direct loopback connect carries no Tailscale identity, so the Gateway refuses it.
    let url = gw.ws_url();
    let envs = [("OPENCLAW_GATEWAY_TOKEN", gw.token())];
    let (mut p, _s) = run(&["--url", &url, "--tailscale-auth"], &envs, scratch.path());
    let st = p.wait_exit(T).await.unwrap();
    assert_eq!(st.code(), Some(78), "paused on the Gateway's refusal: {:?}", p.lines());
    assert_eq!(connects(&p), 1, "{:?}", p.lines());
    assert!(p.lines().iter().any(|l| l.contains("paused") && l.contains("AUTH_")), "{:?}", p.lines());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_mode_follows_gateway_tls_enabled() {
    let gw = Gateway::builder()
        .extra_config(json!({"gateway": {"tls": {"enabled": true, "autoGenerate": true}}}))
        .start()
        .await
        .expect("TLS gateway starts (needs /usr/bin/openssl)");
    // The Gateway's own openclaw.json and state directory: local mode, tls.enabled, its port,
    // and the certificate it generated in <state>/gateway/tls/ (the testkit passes port and
    // token on the Gateway's command line, so the node gets them from the environment).
    let state_dir = gw.state_dir().to_str().unwrap().to_string();
    assert!(gw.state_dir().join("gateway/tls/gateway-cert.pem").exists(), "the Gateway wrote its cert there");
    let scratch = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let args = ["run", "--state-dir", state.path().to_str().unwrap()];
    let xdg = scratch.path().to_str().unwrap();
    let port = gw.port().to_string();
    let envs = [
        ("OPENCLAW_STATE_DIR", state_dir.as_str()),
        ("XDG_CONFIG_HOME", xdg),
        ("OPENCLAW_GATEWAY_TOKEN", gw.token()),
        ("OPENCLAW_GATEWAY_PORT", port.as_str()),
    ];
    let mut p = ClawnodeProcess::spawn(&args, &envs).unwrap();
    p.wait_line(CONNECTED, T).await.unwrap_or_else(|e| panic!("{e}: {:?}", p.lines()));
    let url = format!("wss://127.0.0.1:{}", gw.port());
    assert!(p.lines().iter().any(|l| l.contains(&url) && l.contains("openclaw.json")), "{:?}", p.lines());
    p.terminate().await.unwrap();
}
