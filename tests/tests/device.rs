//! A release `clawnode` as a device runs it, against the real Gateway on loopback: the static
//! binaries of `cargo xtask dist` (aarch64 and armv7 under qemu-user, x86_64 natively) and the
//! binary installed from the `.deb` inside a Debian root (through `chroot`). `cargo xtask
//! devices` runs this test once per build; plain `cargo test` skips it (loudly) because it
//! needs a binary that cargo does not build here.
//!
//! Configuration (environment):
//! - `CLAWNODE_DEVICE_BIN`: the binary (as the runner sees it). Without it: skipped.
//! - `CLAWNODE_DEVICE_RUNNER`: blank-separated program and arguments put before the binary
//!   (`qemu-aarch64`, `chroot --userspec=clawnode:clawnode /path/to/root`).
//! - `CLAWNODE_DEVICE_ARCH`: the `std::env::consts::ARCH` the binary must report in
//!   `device.info` (`aarch64`, `arm`, `x86_64`): proves which build answered.
//! - `CLAWNODE_DEVICE_STATE_A` / `CLAWNODE_DEVICE_STATE_B`: state directories as the binary
//!   sees them (default: fresh temp dirs); `CLAWNODE_DEVICE_CONFIG`: `--config` for phase B.
//! - `CLAWNODE_DEVICE_MAX_RSS_KIB`: when set, the idle RSS of the ready node (no runner) must
//!   not exceed it.
//!
//! A. Explicit approval: `run --url --token` → the operator approves the device
//!    (`device.pair.approve`) and the command surface (`node.pair.approve`) → ready →
//!    `system.which` and `device.info` answered by the build under test → the Gateway
//!    restarts → the node reconnects by itself (same device, explicit token) and answers
//!    again.
//! B. Day one: `pair <setup code>` (from `device.pair.setupCode`) exits 0, then `run` with no
//!    target (as the packaged unit runs it) connects with the stored device token and answers.

use std::time::{Duration, Instant};

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
use serde_json::{Value, json};

/// Generous: qemu-user runs the node about 5–20× slower than native.
const T: Duration = Duration::from_secs(120);

struct Device {
    runner: Vec<String>,
    bin: std::path::PathBuf,
    arch: Option<String>,
}

impl Device {
    fn from_env() -> Option<Self> {
        let bin = std::env::var_os("CLAWNODE_DEVICE_BIN")?;
        let runner = std::env::var("CLAWNODE_DEVICE_RUNNER")
            .map(|r| r.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        Some(Device { runner, bin: bin.into(), arch: std::env::var("CLAWNODE_DEVICE_ARCH").ok() })
    }

    fn spawn(&self, args: &[&str]) -> ClawnodeProcess {
        ClawnodeProcess::spawn_with(&self.runner, &self.bin, args, &[]).expect("spawn the device binary")
    }
}

fn ready_count(p: &ClawnodeProcess) -> usize {
    p.lines().iter().filter(|l| l.contains("ready: node")).count()
}

fn kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// `system.which` and `device.info` answered by the build under test.
async fn answers(op: &Operator, node_id: &str, dev: &Device) {
    let r = op.node_invoke(node_id, "system.which", json!({"bins": ["sh", "no-such-tool-xyz"]}), 30_000).await.unwrap();
    let sh = r["payload"]["bins"]["sh"].as_str().expect("sh found");
    assert!(sh.ends_with("/sh"), "{r}");
    assert!(r["payload"]["bins"].get("no-such-tool-xyz").is_none(), "{r}");
    let r = op.node_invoke(node_id, "device.info", json!({}), 30_000).await.unwrap();
    assert_eq!(r["payload"]["platform"], "linux", "{r}");
    if let Some(arch) = &dev.arch {
        assert_eq!(r["payload"]["arch"], arch.as_str(), "the build under test answers: {r}");
    }
    eprintln!("device.info from the device build: {}", r["payload"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_build_pairs_answers_and_reconnects() {
    let Some(dev) = Device::from_env() else {
        eprintln!(
            "\n*** SKIPPED device_build_pairs_answers_and_reconnects: CLAWNODE_DEVICE_BIN is not set.\n\
             *** `cargo xtask devices` runs it for the static and packaged builds (qemu-user for ARM).\n"
        );
        return;
    };
    let mut gw = Gateway::builder()
        .auto_approve_local(false)
        .allow_commands(&["device.info", "device.status"])
        .start()
        .await
        .expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let (tmp_a, tmp_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let dir = |var: &str, tmp: &tempfile::TempDir| {
        std::env::var(var).unwrap_or_else(|_| tmp.path().to_string_lossy().into_owned())
    };
    let (state_a, state_b) = (dir("CLAWNODE_DEVICE_STATE_A", &tmp_a), dir("CLAWNODE_DEVICE_STATE_B", &tmp_b));
    let url = gw.ws_url();

    // A. Explicit approval by the operator.
    let started = Instant::now();
    let args = ["run", "--url", &url, "--token", gw.token(), "--state-dir", &state_a, "--display-name", "device-test"];
    let mut node = dev.spawn(&args);
    node.wait_line("approve request ", T).await.unwrap();
    let pending = op.wait_for_pending_device(T).await.unwrap();
    let device_id = pending["deviceId"].as_str().unwrap().to_string();
    assert_eq!(pending["platform"], "linux", "{pending}");
    assert_eq!(pending["role"], "node", "{pending}");
    op.device_pair_approve(pending["requestId"].as_str().unwrap()).await.unwrap();
    node.wait_line("commands await approval", T).await.unwrap();
    let surface = op.wait_for_pending_node(T).await.unwrap();
    assert_eq!(surface["nodeId"], device_id.as_str());
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    let ready = node.wait_line("ready: node", T).await.unwrap();
    assert!(ready.contains(&device_id), "{ready}");
    eprintln!("device build: spawn to ready (two approvals) in {:.1}s", started.elapsed().as_secs_f64());
    answers(&op, &device_id, &dev).await;

    if dev.runner.is_empty()
        && let Some(pid) = node.pid()
    {
        // Idle: connected, nothing to do. Let the allocator and the kernel settle.
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (rss, anon, file) = (kib(pid, "VmRSS:"), kib(pid, "RssAnon:"), kib(pid, "RssFile:"));
        eprintln!("idle RSS of the ready node: {rss} KiB (anonymous {anon} KiB, file {file} KiB)");
        if let Some(max) = std::env::var("CLAWNODE_DEVICE_MAX_RSS_KIB").ok().and_then(|m| m.parse::<u64>().ok()) {
            assert!(rss > 0 && rss <= max, "idle RSS {rss} KiB > {max} KiB");
        }
    }

    // The Gateway restarts: the node reconnects by itself and answers again.
    let before = ready_count(&node);
    let restarted = Instant::now();
    gw.restart().await.unwrap();
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator reconnects");
    let deadline = Instant::now() + T;
    while ready_count(&node) <= before {
        assert!(Instant::now() < deadline, "no reconnect after the Gateway restart: {:?}", node.lines());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let again = node.lines().into_iter().rfind(|l| l.contains("ready: node")).unwrap();
    assert!(again.contains(&device_id), "{again}");
    eprintln!("device build: ready again {:.1}s after the Gateway restart began", restarted.elapsed().as_secs_f64());
    answers(&op, &device_id, &dev).await;
    node.terminate().await.unwrap();

    // B. Day one: a setup code, then the unit's `run` with no target.
    let setup = op
        .request("device.pair.setupCode", json!({"bootstrapProfile": "node", "publicUrl": gw.ws_url()}))
        .await
        .unwrap();
    let code = setup["setupCode"].as_str().expect("setupCode").to_string();
    let mut pair = dev.spawn(&["pair", &code, "--state-dir", &state_b]);
    let st = pair.wait_exit(T).await.unwrap();
    assert!(st.success(), "pair: {st}: {:?}", pair.lines());
    eprintln!("--- `clawnode pair <setup code>` printed:\n{}\n---", pair.lines().join("\n"));
    let mut run_args = vec!["run", "--state-dir", &state_b];
    let config = std::env::var("CLAWNODE_DEVICE_CONFIG").ok();
    if let Some(c) = &config {
        run_args.extend(["--config", c]);
    }
    let mut unit = dev.spawn(&run_args);
    let ready = unit.wait_line("ready: node", T).await.unwrap();
    assert!(ready.contains("auth: device-token"), "{ready}");
    let node_b = ready.split("ready: node ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    assert_ne!(node_b, device_id);
    answers(&op, &node_b, &dev).await;
    eprintln!("--- `clawnode run` (as the unit runs it) printed:\n{}\n---", unit.lines().join("\n"));
    unit.terminate().await.unwrap();
    let listed: Value = op.request("node.list", json!({})).await.unwrap();
    let ids: Vec<&str> = listed["nodes"].as_array().unwrap().iter().filter_map(|n| n["nodeId"].as_str()).collect();
    assert!(ids.contains(&device_id.as_str()) && ids.contains(&node_b.as_str()), "{listed}");
    op.close().await;
    gw.stop().await.unwrap();
}
