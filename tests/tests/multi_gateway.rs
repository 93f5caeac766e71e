//! One `clawnode run` serving two real Gateways (`openclaw@2026.9.6`) on two ports from one
//! identity (`[[gateway]]` tables):
//!
//! - each Gateway pairs the node separately (its own command-surface approval, its own
//!   device token, keyed by its origin);
//! - each Gateway sees the command list of its own table (`commands` scope);
//! - invokes sent to both at once are all answered, and `clawnode status` counts each
//!   Gateway's invokes on its own entry (an answer on the wrong socket would time out at
//!   the sender and be counted on the other entry);
//! - killing one Gateway leaves the other serving: its invokes keep working while the
//!   killed one's entry shows it disconnected.

use std::time::Duration;

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

async fn approve(node: &ClawnodeProcess, name: &str, op: &Operator) -> String {
    node.wait_line(&format!("[{name}] paired; commands await approval"), T).await.unwrap();
    let surface = op.wait_for_pending_node(T).await.unwrap();
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    node.wait_line(&format!("[{name}] ready: node"), T).await.unwrap();
    surface["nodeId"].as_str().unwrap().to_string()
}

fn status(state: &std::path::Path) -> Value {
    let bin = clawnode_testkit::clawnode_bin().unwrap();
    let out = std::process::Command::new(bin).args(["status", "--json", "--state-dir"]).arg(state).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn declared(op: &Operator, node_id: &str) -> Vec<String> {
    let d = op.node_describe(node_id).await.unwrap();
    let mut v: Vec<String> =
        d["commands"].as_array().unwrap().iter().filter_map(|c| c.as_str().map(str::to_string)).collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_run_serves_two_gateways() {
    let home = Gateway::builder().start().await.expect("gateway home starts");
    let mut work = Gateway::builder().start().await.expect("gateway work starts");
    let op_home = Operator::connect(&home.ws_url(), home.token()).await.unwrap();
    let op_work = Operator::connect(&work.ws_url(), work.token()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("home-token"), home.token()).unwrap();
    std::fs::write(dir.path().join("work-token"), work.token()).unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[[gateway]]\nname = \"home\"\nurl = \"{}\"\ntoken_file = \"home-token\"\n\n\
             [[gateway]]\nname = \"work\"\nurl = \"{}\"\ntoken_file = \"work-token\"\ncommands = [\"system.which\", \"device.info\"]\n",
            home.ws_url(),
            work.ws_url()
        ),
    )
    .unwrap();
    let state = dir.path().join("state");
    let args = ["run", "--config", cfg.to_str().unwrap(), "--state-dir", state.to_str().unwrap()];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let home_id = approve(&node, "home", &op_home).await;
    let work_id = approve(&node, "work", &op_work).await;
    assert_eq!(home_id, work_id, "one identity on both Gateways");

    // Each Gateway sees its own table's command list.
    let (h, w) = (declared(&op_home, &home_id).await, declared(&op_work, &work_id).await);
    assert!(h.contains(&"system.notify".to_string()) && h.contains(&"system.run".to_string()), "{h:?}");
    // (The Gateway lists only what its allowlist admits: device.info is declared to work but
    // not a Linux default, so it is not shown.)
    assert_eq!(w, ["system.which"], "work's table scope: {w:?}");

    // Device tokens: one per origin.
    let tokens: Value = serde_json::from_slice(&std::fs::read(state.join("device-tokens.json")).unwrap()).unwrap();
    let mut origins: Vec<String> =
        tokens["tokens"].as_object().unwrap().values().map(|e| e["origin"].as_str().unwrap().to_string()).collect();
    origins.sort();
    let mut want = vec![format!("{}", home.ws_url()), format!("{}", work.ws_url())];
    want.sort();
    assert_eq!(origins, want, "{tokens}");
    // Separate exec approvals per Gateway.
    assert!(state.join("gateways").join("home").is_dir() && state.join("gateways").join("work").is_dir());

    // Invokes on both at once: 3 on home, 5 on work, all answered.
    let hs = (0..3).map(|_| op_home.node_invoke(&home_id, "system.which", json!({"bins": ["sh"]}), 10_000));
    let ws = (0..5).map(|_| op_work.node_invoke(&work_id, "system.which", json!({"bins": ["sh"]}), 10_000));
    let (hr, wr) = tokio::join!(futures_util::future::join_all(hs), futures_util::future::join_all(ws));
    for r in hr.into_iter().chain(wr) {
        let r = r.unwrap();
        assert!(r["payload"]["bins"]["sh"].is_string(), "{r}");
    }
    let s = status(&state);
    let g = s["gateways"].as_array().unwrap();
    assert_eq!((g[0]["name"].as_str(), g[1]["name"].as_str()), (Some("home"), Some("work")), "{s}");
    assert_eq!(g[0]["gateway"], home.ws_url().as_str());
    assert_eq!((g[0]["state"]["kind"].as_str(), g[1]["state"]["kind"].as_str()), (Some("ready"), Some("ready")));
    assert_eq!(
        (g[0]["invokes"]["succeeded"].as_u64(), g[1]["invokes"]["succeeded"].as_u64()),
        (Some(3), Some(5)),
        "{s}"
    );
    // A command outside work's scope: the Gateway itself refuses to forward it (the
    // node never declared it there), while home runs it.
    assert!(op_work.node_invoke(&work_id, "system.notify", json!({"title": "x", "body": "y"}), 5_000).await.is_err());

    // Kill work: home keeps serving; work's entry shows it down.
    work.kill();
    node.wait_line("[work] disconnected", T).await.unwrap();
    let r = op_home.node_invoke(&home_id, "system.which", json!({"bins": ["sh"]}), 10_000).await.unwrap();
    assert!(r["payload"]["bins"]["sh"].is_string(), "{r}");
    let s = status(&state);
    let g = s["gateways"].as_array().unwrap();
    assert_eq!(g[0]["state"]["kind"], "ready", "{s}");
    assert_ne!(g[1]["state"]["kind"], "ready", "{s}");
    assert!(g[1]["lastError"].is_string(), "{s}");
    assert_eq!(g[0]["invokes"]["succeeded"].as_u64(), Some(4), "{s}");
    assert!(node.is_running());
    let st = node.terminate().await.unwrap();
    assert!(st.success(), "{st:?}");
    op_home.close().await;
    op_work.close().await;
}

/// `[[gateway]]` tables do not combine with explicit target flags, and need unique names.
#[tokio::test]
async fn gateway_tables_refuse_target_flags() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    let state = dir.path().join("state");
    for (body, extra, want) in [
        (
            "[[gateway]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1\"\n",
            vec!["--url", "ws://127.0.0.1:2", "--token", "t"],
            "--url cannot be combined with [[gateway]] tables",
        ),
        // A discovery run would otherwise silently serve the tables instead.
        (
            "[[gateway]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1\"\n",
            vec!["--discover", "pi"],
            "--discover cannot be combined with [[gateway]] tables",
        ),
        (
            "[[gateway]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1\"\n[[gateway]]\nname = \"a\"\nurl = \"ws://127.0.0.1:2\"\n",
            vec![],
            "two [[gateway]] tables are named \"a\"",
        ),
        ("[[gateway]]\nurl = \"ws://127.0.0.1:1\"\n", vec![], "needs a name"),
        (
            "[[gateway]]\nname = \"a\"\nurl = \"ws://127.0.0.1:1\"\n[[gateway]]\nname = \"b\"\nurl = \"ws://127.0.0.1:1/\"\n",
            vec![],
            "is already served by another table",
        ),
    ] {
        std::fs::write(&cfg, body).unwrap();
        let mut args = vec!["run", "--config", cfg.to_str().unwrap(), "--state-dir", state.to_str().unwrap()];
        args.extend(extra);
        let mut p = ClawnodeProcess::spawn(&args, &[]).unwrap();
        let st = p.wait_exit(T).await.unwrap();
        assert_eq!(st.code(), Some(2), "{body}: {:?}", p.lines());
        assert!(p.lines().join("\n").contains(want), "{want}: {:?}", p.lines());
    }
}
