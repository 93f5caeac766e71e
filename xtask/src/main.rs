//! `cargo xtask demo|test`: orchestration only.
//!
//! - `demo`: provisions and starts the real Gateway on loopback, runs a `clawnode` node,
//!   approves it as operator (device, then command surface), invokes `device.info`,
//!   `system.which` and `device.status`, prints the results, and stops everything.
//! - `test`: fmt check, clippy `-D warnings`, the public API listing check, provisioning,
//!   unit and integration tests, then the bindings: generated-code drift check, Python
//!   (pytest) and Kotlin/JVM (JUnit) against the real Gateway, Swift syntax check.
//! - `bindings [--check]`: regenerates the committed Kotlin and Swift bindings (or checks them).
//! - `phones`: `cargo clippy -p clawnode-ffi -D warnings` for the Android and iOS targets
//!   (installs rust-std, clang and lld when missing; see `phones.rs`). CI runs it after `test`.
//! - `dist [--wheels]`: static release binaries, SHA-256 sums, size table, `.deb`s (and
//!   Python wheels) for the device targets (`dist.rs`).
//! - `devices` (alias `arm`): those artifacts run as devices run them, against the real
//!   Gateway: ARM under qemu-user, the `.deb` in a Debian root, the wheels (`devices.rs`).
//!   CI runs it once, after `test`.
//! - `api [--check]`: regenerates the committed listing of the core's public API,
//!   `core/public-api.txt` (or checks it).

#![warn(clippy::unwrap_used, clippy::expect_used)]

mod alloc;
mod api;
mod bench;
mod fuzz;
mod phones;
mod soak;

mod bindings;
mod deb;
mod devices;
mod dist;
mod wheels;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <demo|test|dist [--wheels]|devices|phones|bench|bench-recovery|fuzz [--seconds N]|soak --minutes N|bindings [--check]|api [--check]>"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    if let Some(code) = api::rustdoc_wrapper() {
        return code;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("test") => test(&args[1..]),
        Some("demo") => demo(),
        Some("fuzz") => report(fuzz::main(&args[1..], &workspace_root())),
        Some("soak") => soak_entry(&args[1..]),
        Some("bindings") => {
            match bindings::bindings(&workspace_root(), args.get(1).map(String::as_str) == Some("--check")) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("xtask bindings: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some("phones") => report(phones::main(&workspace_root())),
        Some("api") => report(api::main(&workspace_root(), args.get(1).map(String::as_str) == Some("--check"))),
        Some("dist") => report(dist::main(&args[1..])),
        Some("devices" | "arm") => report(devices::main()),
        Some("bench") => bench_entry(),
        Some("bench-run") => report(bench::run_impl()),
        Some("bench-render") => report(bench::render_only()),
        Some("bench-recovery") => report(bench::recovery_only()),
        Some("bench-child") => report(bench::child::run(&args[1..])),
        _ => usage(),
    }
}

fn report(r: Result<(), String>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask bench`: builds xtask in release and runs the measuring part from there, so
/// the node under test (the bench child) is an optimised build.
fn bench_entry() -> ExitCode {
    if let Err(e) = step("build xtask (release)", cargo().args(["build", "--release", "-p", "xtask"])) {
        eprintln!("xtask bench: {e}");
        return ExitCode::FAILURE;
    }
    let exe = match target_dir() {
        Ok(t) => t.join("release/xtask"),
        Err(e) => {
            eprintln!("xtask bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    let status = Command::new(exe).arg("bench-run").status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            eprintln!("xtask bench failed: {s}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("xtask bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo xtask soak --minutes N` (default 10): see `soak.rs`.
fn soak_entry(args: &[String]) -> ExitCode {
    let minutes = match args {
        [] => 10,
        [flag, n] if flag == "--minutes" => match n.parse() {
            Ok(n) => n,
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    if let Err(e) =
        step("build clawnode", cargo().args(["build", "--quiet", "-p", "clawnode-cli", "--bin", "clawnode"]))
    {
        eprintln!("xtask soak: {e}");
        return ExitCode::FAILURE;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("xtask soak: {e}");
            return ExitCode::FAILURE;
        }
    };
    report(rt.block_on(soak::run(minutes)))
}

/// Installs, when missing, the Debian packages the integration tests use: `sshd` for the
/// managed SSH tunnel test, `ssh`/`ssh-keygen`, and `systemd-analyze` for the unit check.
/// Idempotent: nothing happens when everything is there.
const SYSTEM_PACKAGES: &str = r#"set -eu
need=""
[ -x /usr/sbin/sshd ] || need="$need openssh-server"
command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || need="$need openssh-client"
command -v systemd-analyze >/dev/null 2>&1 || need="$need systemd"
[ -x /usr/bin/tinyproxy ] || need="$need tinyproxy"
[ -x /usr/sbin/danted ] || need="$need dante-server"
[ -x /usr/sbin/nginx ] || need="$need nginx-light"
command -v openssl >/dev/null 2>&1 || need="$need openssl"
# Discovery tests: network namespaces (ip netns, veth, bridge) and a real DNS server (NSD)
# serving the Gateway's wide-area DNS-SD zone.
[ -x /usr/sbin/ip ] || [ -x /sbin/ip ] || need="$need iproute2"
[ -x /usr/sbin/nsd ] || need="$need nsd"
if [ -z "$need" ]; then echo "system packages present"; exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need
else
  echo "the tests need:$need (install them with apt-get as root)" >&2
  exit 1
fi"#;

use clawnode_testkit::workspace::workspace_root;

/// The target directory as cargo resolves it (`CARGO_TARGET_DIR`, `build.target-dir`), asked
/// once through the testkit's one helper.
pub(crate) fn target_dir() -> Result<std::path::PathBuf, String> {
    clawnode_testkit::workspace::target_dir().map_err(|e| e.to_string())
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

fn step(name: &str, cmd: &mut Command) -> Result<Duration, String> {
    println!("\n==> {name}");
    let start = Instant::now();
    let status = cmd.status().map_err(|e| format!("{name}: cannot run: {e}"))?;
    let took = start.elapsed();
    if !status.success() {
        return Err(format!("{name} failed ({status}) after {:.1}s", took.as_secs_f64()));
    }
    println!("<== {name}: ok in {:.1}s", took.as_secs_f64());
    Ok(took)
}

fn test(extra: &[String]) -> ExitCode {
    let start = Instant::now();
    let target = match target_dir() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("xtask test: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut test_cmd = cargo();
    test_cmd.args(["test", "--workspace"]).args(extra);
    let mut steps: Vec<(&str, Command)> = vec![
        ("cargo fmt --check", {
            let mut c = cargo();
            c.args(["fmt", "--all", "--", "--check"]);
            c
        }),
        ("cargo clippy -D warnings", {
            let mut c = cargo();
            c.args(["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"]);
            c
        }),
        // The core's public API against the committed listing (rustdoc of one crate, after
        // clippy has built its dependencies' metadata: seconds).
        ("public API listing (core/public-api.txt)", {
            let mut c = cargo();
            c.args(["run", "--quiet", "-p", "xtask", "--", "api", "--check"]);
            c
        }),
        ("provision Node 24 + openclaw@2026.9.6", {
            let mut c = cargo();
            c.args(["run", "--quiet", "-p", "clawnode-testkit", "--bin", "clawnode-provision"]);
            c
        }),
        ("provision system packages (openssh-server, systemd, tinyproxy, dante-server, nginx-light)", {
            let mut c = Command::new("bash");
            c.args(["-c", SYSTEM_PACKAGES]);
            c
        }),
        ("build clawnode", {
            let mut c = cargo();
            c.args(["build", "-p", "clawnode-cli", "--bin", "clawnode"]);
            c
        }),
        ("cargo test (unit + integration, real Gateway)", test_cmd),
        // The default CLI reads the official host's SQLite through its Node runtime; the
        // optional in-process reader (rusqlite) has its own unit test.
        ("cargo test -p clawnode-cli --features import-openclaw (import)", {
            let mut c = cargo();
            c.args(["test", "-p", "clawnode-cli", "--features", "import-openclaw", "--bin", "clawnode", "import"]);
            c
        }),
    ];
    // A short smoke of every fuzz target (installs the pinned cargo-fuzz when missing).
    steps.push(("fuzz smoke (7 targets × 10 s)", {
        let mut c = cargo();
        c.args(["run", "--quiet", "-p", "xtask", "--", "fuzz", "--seconds", "10"]);
        c
    }));
    // Python, Kotlin/JVM and Swift bindings (bindings/, android/, ios/).
    steps.extend(bindings::test_steps(&workspace_root(), &target));
    let mut timings = Vec::new();
    for (name, mut cmd) in steps {
        match step(name, &mut cmd) {
            Ok(d) => timings.push((name, d)),
            Err(e) => {
                eprintln!("\nxtask test: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    println!("\nxtask test summary:");
    for (name, d) in &timings {
        println!("  {:<48} {:>7.1}s", name, d.as_secs_f64());
    }
    println!("  {:<48} {:>7.1}s", "total", start.elapsed().as_secs_f64());
    ExitCode::SUCCESS
}

fn demo() -> ExitCode {
    if let Err(e) =
        step("build clawnode", cargo().args(["build", "--quiet", "-p", "clawnode-cli", "--bin", "clawnode"]))
    {
        eprintln!("xtask demo: {e}");
        return ExitCode::FAILURE;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("xtask demo: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(demo_flow()) {
        Ok(()) => {
            println!("\ndemo finished: everything stopped.");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("\nxtask demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn say(text: &str) {
    println!("\n### {text}");
}

fn show(title: &str, v: &serde_json::Value) {
    println!("--- {title}");
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_default());
}

async fn demo_flow() -> Result<(), String> {
    use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
    const T: Duration = Duration::from_secs(90);
    let e = |x: &dyn std::fmt::Display| x.to_string();

    say("provisioning Node 24 and openclaw@2026.9.6 (cached after the first run)");
    let prov = tokio::task::spawn_blocking(clawnode_testkit::provision).await.map_err(|x| e(&x))?.map_err(|x| e(&x))?;
    println!("node:    {}", prov.node.display());
    println!("gateway: {}", prov.gateway_dir.display());

    say("starting the real Gateway on loopback (explicit pairing, device.* allowed)");
    let mut gw = Gateway::builder()
        .provisioned(prov)
        .auto_approve_local(false)
        .allow_commands(&["device.info", "device.status"])
        .start()
        .await
        .map_err(|x| e(&x))?;
    println!("gateway ready at {} in {:.1}s", gw.ws_url(), gw.startup_time().as_secs_f64());
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.map_err(|x| e(&x))?;
    println!("operator connected (client id cli, all operator scopes)");

    say("starting the ClawNode node: clawnode run --url … --token …");
    let state = tempfile::tempdir().map_err(|x| e(&x))?;
    let state_dir = state.path().to_string_lossy().to_string();
    let url = gw.ws_url();
    let node = ClawnodeProcess::spawn(
        &["run", "--url", &url, "--token", gw.token(), "--state-dir", &state_dir, "--display-name", "clawnode-demo"],
        &[],
    )
    .map_err(|x| e(&x))?;
    node.wait_line("approve request ", T).await.map_err(|x| e(&x))?;

    say("operator: approving the device (device.pair.approve)");
    let pending = op.wait_for_pending_device(T).await.map_err(|x| e(&x))?;
    let request_id = pending["requestId"].as_str().unwrap_or_default().to_string();
    let device_id = pending["deviceId"].as_str().unwrap_or_default().to_string();
    println!("pending device {device_id} (request {request_id})");
    op.device_pair_approve(&request_id).await.map_err(|x| e(&x))?;
    node.wait_line("commands await approval", T).await.map_err(|x| e(&x))?;

    say("operator: approving the command surface (node.pair.approve)");
    let surface = op.wait_for_pending_node(T).await.map_err(|x| e(&x))?;
    println!("declared commands: {}", surface["commands"]);
    op.node_pair_approve(surface["requestId"].as_str().unwrap_or_default()).await.map_err(|x| e(&x))?;
    node.wait_line("ready: node", T).await.map_err(|x| e(&x))?;

    say("operator: invoking commands on the node");
    for (command, params) in [
        ("device.info", serde_json::json!({})),
        ("system.which", serde_json::json!({"bins": ["sh", "ls", "git", "no-such-tool"]})),
        ("device.status", serde_json::json!({})),
    ] {
        let started = Instant::now();
        let r = op.node_invoke(&device_id, command, params.clone(), 10_000).await.map_err(|x| e(&x))?;
        show(
            &format!("node.invoke {command} {params} ({:.1} ms)", started.elapsed().as_secs_f64() * 1000.0),
            &r["payload"],
        );
    }

    say("stopping the node and the Gateway");
    let mut node = node;
    let status = node.terminate().await.map_err(|x| e(&x))?;
    println!("clawnode exited: {status}");
    op.close().await;
    gw.stop().await.map_err(|x| e(&x))?;
    println!("gateway stopped");
    Ok(())
}
