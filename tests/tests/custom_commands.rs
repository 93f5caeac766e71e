//! Commands without Rust (`[[commands]]` in the config file) served by the `clawnode`
//! binary to the real Gateway (`openclaw@2026.9.6`), which allows them through
//! `gateway.nodes.commands.allow`: params JSON on stdin, JSON result from stdout,
//! `CODE: message` on stderr with a non-zero exit → that error, timeouts; and a config
//! with a reserved name is refused before connecting.

use std::path::Path;
use std::time::Duration;

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

fn write_script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_declared_commands() {
    let gw = Gateway::builder()
        .allow_commands(&["demo.echo", "demo.fail", "demo.slow", "demo.env"])
        .start()
        .await
        .expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let dir = tempfile::tempdir().unwrap();
    let state_dir = dir.path().join("state");
    let state_dir = state_dir.to_str().unwrap();
    write_script(
        dir.path(),
        "echo.sh",
        "printf '{\"command\":\"%s\",\"mode\":\"%s\",\"params\":' \"$CLAWNODE_COMMAND\" \"$1\"; cat; printf '}'",
    );
    write_script(dir.path(), "fail.sh", "echo 'some noise' >&2; echo 'DEMO_BROKEN: the demo is broken' >&2; exit 3");
    write_script(dir.path(), "slow.sh", "sleep 30");
    // The node's own keys never reach a command (the attack: a command that reads them).
    write_script(
        dir.path(),
        "env.sh",
        "if env | grep -q leak-marker; then l=true; else l=false; fi; printf '{\"leaked\":%s,\"path\":\"%s\"}' $l \"$PATH\"",
    );
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        r#"
[[commands]]
name = "demo.echo"
argv = ["./echo.sh", "fixed-arg"]

[[commands]]
name = "demo.fail"
argv = ["./fail.sh"]
dangerous = true

[[commands]]
name = "demo.slow"
argv = ["./slow.sh"]
timeout = 1

[[commands]]
name = "demo.env"
argv = ["./env.sh"]
"#,
    )
    .unwrap();
    let url = gw.ws_url();
    let cfg = config.to_str().unwrap();
    let args = ["run", "--url", &url, "--token", gw.token(), "--state-dir", state_dir, "--config", cfg];
    let secrets = [("OPENCLAW_GATEWAY_TOKEN", "leak-marker-1"), ("CLAWNODE_EXTRA", "leak-marker-2")];
    let mut node = ClawnodeProcess::spawn(&args, &secrets).unwrap();
    node.wait_line("demo.fail is marked dangerous", T).await.unwrap();
    node.wait_line("commands await approval", T).await.unwrap();
    let node_id = op.approve_surface_declaring(&["demo.echo", "demo.fail", "demo.slow", "demo.env"], T).await.unwrap();
    node.wait_line("ready: node", T).await.unwrap();

    let r = op.node_invoke(&node_id, "demo.echo", json!({"x": [1, "é"]}), 10_000).await.unwrap();
    assert_eq!(r["payload"], json!({"command": "demo.echo", "mode": "fixed-arg", "params": {"x": [1, "é"]}}), "{r}");
    let r = op.node_invoke(&node_id, "demo.echo", Value::Null, 10_000).await.unwrap();
    let p = &r["payload"]["params"];
    assert!(p.is_null() || *p == json!({}), "{r}");

    let r = op.node_invoke(&node_id, "demo.env", json!({}), 10_000).await.unwrap();
    assert_eq!(r["payload"]["leaked"], false, "the node's environment reached a command: {r}");
    assert_eq!(r["payload"]["path"], clawnode_exec::policy::DEFAULT_PATH, "{r}");

    let e = op.node_invoke(&node_id, "demo.fail", json!({}), 10_000).await.unwrap_err();
    let shape = e.shape().unwrap();
    let details = shape.details.clone().unwrap();
    assert_eq!(details["nodeError"]["code"], "DEMO_BROKEN", "{shape}");
    assert_eq!(details["nodeError"]["message"], "DEMO_BROKEN: the demo is broken");

    let started = std::time::Instant::now();
    let e = op.node_invoke(&node_id, "demo.slow", json!({}), 10_000).await.unwrap_err();
    let details = e.shape().unwrap().details.clone().unwrap();
    assert_eq!(details["nodeError"]["code"], "TIMEOUT", "{details}");
    assert!(started.elapsed() < Duration::from_secs(8));
    node.terminate().await.unwrap();

    // A name colliding with a built-in is refused up front.
    std::fs::write(&config, "[[commands]]\nname = \"system.run\"\nargv = [\"/bin/true\"]\n").unwrap();
    let mut bad = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let st = bad.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert_eq!(st.code(), Some(2));
    assert!(bad.lines().iter().any(|l| l.contains("collides with a built-in")), "{:?}", bad.lines());
    op.close().await;
}
