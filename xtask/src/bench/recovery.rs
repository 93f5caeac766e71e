//! Recovery: how long after a new Gateway is ready (same port and state) the node answers
//! an invoke again — after a graceful restart (SIGTERM: `shutdown` + close 1012) and after
//! a crash (SIGKILL: the socket just dies). Two nodes, each on its stored device token only:
//! the core `Node` in process, and the release `clawnode run` binary as a device runs it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clawnode::endpoint::Endpoint;
use clawnode::store::MemoryStore;
use clawnode::{ClientDescriptor, CommandRegistry, Credentials, InvokeContext, Node, NodeConfig, NodeState};
use clawnode_testkit::{ClawnodeProcess, Gateway, Operator, Provisioned};
use serde_json::{Value, json};

use super::{R, e, pct};

const RUNS: usize = 5;
const T: Duration = Duration::from_secs(60);

fn registry() -> CommandRegistry {
    let mut r = CommandRegistry::new();
    let _ = r.register("test.echo", |ctx: InvokeContext| async move { Ok(json!({ "echo": ctx.params })) });
    r
}

fn node_cfg(gw: &Gateway, creds: Credentials) -> R<NodeConfig> {
    let mut cfg =
        NodeConfig::new(Endpoint::parse(&gw.ws_url()).map_err(e)?, ClientDescriptor::linux_node_host("0.1.0"));
    cfg.client.display_name = Some("bench-recovery".into());
    cfg.credentials = creds;
    Ok(cfg)
}

async fn wait_ready(node: &Node, timeout: Duration) -> R<()> {
    let mut rx = node.subscribe_state();
    tokio::time::timeout(timeout, async {
        loop {
            if matches!(*rx.borrow_and_update(), NodeState::Ready { .. }) {
                return;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    })
    .await
    .map_err(|_| format!("node not ready within {timeout:?}: {:?}", node.state()))
}

/// The invoke that shows a node is back, and the answer it must give.
struct Probe {
    command: &'static str,
    params: Value,
    answered: fn(&Value) -> bool,
}

/// `test.echo` of the in-process node.
fn echo_probe() -> Probe {
    Probe { command: "test.echo", params: json!("r"), answered: |p| *p == json!({"echo": "r"}) }
}

/// `system.which` of `clawnode run`.
fn which_probe() -> Probe {
    Probe { command: "system.which", params: json!({"bins": ["sh"]}), answered: |p| p.get("bins").is_some() }
}

/// From now: an operator connects and invokes until the node answers; the elapsed time and
/// how long the operator's own connect took.
async fn first_answer(gw: &Gateway, node_id: &str, probe: &Probe, timeout: Duration) -> R<(Duration, Duration)> {
    let call = (probe.command, probe.params.clone());
    let url = gw.ws_url();
    let a = clawnode_testkit::first_answer(&url, gw.token(), node_id, call, probe.answered, timeout);
    let a = a.await.map_err(e)?;
    Ok((a.total, a.operator_connected))
}

fn summary(ms: &mut [f64]) -> Value {
    let max = ms.iter().copied().fold(f64::NAN, f64::max);
    json!({"runsMs": ms.to_vec(), "medianMs": pct(ms, 50.0), "maxMs": max})
}

/// 5 restarts and 5 crashes of the real Gateway; median and max of ready → answered invoke.
pub async fn recovery(prov: &Provisioned) -> R<Value> {
    println!("\n## recovery: new Gateway ready → first answered invoke ({RUNS} restarts, {RUNS} crashes)");
    let mut gw =
        Gateway::builder().provisioned(prov.clone()).allow_commands(&["test.echo"]).start().await.map_err(e)?;
    let store = Arc::new(MemoryStore::default());
    // Pair once with the shared token; then run on the stored device token only.
    let first = Node::new(
        node_cfg(&gw, Credentials { shared_token: Some(gw.token().into()), ..Default::default() })?,
        registry(),
        store.clone(),
    )
    .map_err(e)?;
    let node_id = first.device_id().to_string();
    first.start();
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.map_err(e)?;
    let surface = op.wait_for_pending_node(T).await.map_err(e)?;
    op.node_pair_approve(surface["requestId"].as_str().unwrap_or_default()).await.map_err(e)?;
    wait_ready(&first, T).await?;
    first.stop().await;
    op.close().await;
    let node = Node::new(node_cfg(&gw, Credentials::default())?, registry(), store).map_err(e)?;
    node.start();
    wait_ready(&node, T).await?;
    first_answer(&gw, &node_id, &echo_probe(), T).await?;

    // When the node last became Ready (its hello plus the readiness probe).
    let ready_at = Arc::new(std::sync::Mutex::new(None::<Instant>));
    {
        let mut rx = node.subscribe_state();
        let ready_at = ready_at.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                if matches!(*rx.borrow_and_update(), NodeState::Ready { .. })
                    && let Ok(mut r) = ready_at.lock()
                {
                    *r = Some(Instant::now());
                }
            }
        });
    }
    let mut out = outages(&mut gw, &node_id, &echo_probe(), &|| node.connect_attempts(), Some(&ready_at)).await?;
    node.stop().await;
    gw.stop().await.map_err(e)?;
    out["method"] = json!(
        "core Node on its stored device token; the testkit's Gateway::restart on the same port and state (after SIGKILL for a crash); time from the Gateway's ready line to the first test.echo answered to a freshly connected operator"
    );
    Ok(out)
}

/// The same outages with the release `clawnode run` binary (`bin`) as the node: paired once
/// with the shared token, then restarted as a device runs it, on its stored device token.
pub async fn recovery_cli(prov: &Provisioned, bin: &Path) -> R<Value> {
    println!(
        "\n## recovery of `clawnode run`: new Gateway ready → first answered invoke ({RUNS} restarts, {RUNS} crashes)"
    );
    let mut gw =
        Gateway::builder().provisioned(prov.clone()).allow_commands(&["system.which"]).start().await.map_err(e)?;
    let dir = tempfile::tempdir().map_err(e)?;
    let (state, token_file) = (dir.path().join("state"), dir.path().join("token"));
    std::fs::write(&token_file, gw.token()).map_err(e)?;
    let (url, state_s) = (gw.ws_url(), state.display().to_string());
    let token_s = token_file.display().to_string();
    let op = Operator::connect(&url, gw.token()).await.map_err(e)?;
    let pair = ["run", "--url", &url, "--token-file", &token_s, "--state-dir", &state_s];
    let mut first = ClawnodeProcess::spawn_with(&[], bin, &pair, &[]).map_err(e)?;
    let node_id = op.approve_next_surface(T).await.map_err(e)?;
    first.wait_line("ready: node", T).await.map_err(e)?;
    first.terminate().await.map_err(e)?;
    op.close().await;
    let node =
        ClawnodeProcess::spawn_with(&[], bin, &["run", "--url", &url, "--state-dir", &state_s], &[]).map_err(e)?;
    node.wait_line("(auth: device-token)", T).await.map_err(e)?;
    first_answer(&gw, &node_id, &which_probe(), T).await?;
    let handshakes = || node.lines().iter().filter(|l| l.contains("connecting (attempt")).count() as u64;
    let mut out = outages(&mut gw, &node_id, &which_probe(), &handshakes, None).await?;
    let mut node = node;
    node.terminate().await.map_err(e)?;
    gw.stop().await.map_err(e)?;
    out["method"] = json!(
        "release `clawnode run --url … --state-dir …` on its stored device token (paired before with the shared token); the testkit's Gateway::restart on the same port and state (after SIGKILL for a crash); time from the Gateway's ready line to the first system.which answered to a freshly connected operator; handshakes counted from the node's 'connecting (attempt' status lines"
    );
    Ok(out)
}

/// [`RUNS`] graceful restarts, then [`RUNS`] crashes (SIGKILL) of `gw`, same port and state:
/// per run the time from the new Gateway's ready line to the first answered `probe`, and the
/// handshakes the node made (`attempts()` before and after); `ready_at`, when given, is
/// when the node last became Ready.
async fn outages(
    gw: &mut Gateway,
    node_id: &str,
    probe: &Probe,
    attempts: &dyn Fn() -> u64,
    ready_at: Option<&std::sync::Mutex<Option<Instant>>>,
) -> R<Value> {
    let mut out = json!({});
    for (name, crash) in [("restart", false), ("crash", true)] {
        let mut ms = Vec::new();
        let mut handshakes = Vec::new();
        let mut node_ready = Vec::new();
        let mut op_connect = Vec::new();
        for run in 1..=RUNS {
            let before = attempts();
            if crash {
                gw.kill();
            }
            if let Some(Ok(mut r)) = ready_at.map(|r| r.lock()) {
                *r = None;
            }
            gw.restart().await.map_err(e)?;
            let gw_ready = Instant::now();
            tracing::info!(run, name, "bench: gateway ready");
            let (took, op_ms) = first_answer(gw, node_id, probe, T).await?;
            let n = attempts() - before;
            // Signed: negative when the node was back before the Gateway logged ready.
            let node_ms = ready_at.and_then(|r| r.lock().ok().and_then(|r| *r)).map(|t| {
                if t >= gw_ready {
                    t.duration_since(gw_ready).as_secs_f64() * 1000.0
                } else {
                    -(gw_ready.duration_since(t).as_secs_f64() * 1000.0)
                }
            });
            let ready = node_ms.map(|ms| format!("node Ready at {ms:+.0} ms, ")).unwrap_or_default();
            println!(
                "  {name} {run}: answered {:.0} ms after ready ({ready}operator connected at {:.0} ms; {n} handshakes)",
                took.as_secs_f64() * 1000.0,
                op_ms.as_secs_f64() * 1000.0
            );
            ms.push(took.as_secs_f64() * 1000.0);
            handshakes.push(n);
            node_ready.push(node_ms);
            op_connect.push(op_ms.as_secs_f64() * 1000.0);
            // Let the session settle past `stable_session` as a long-running node would.
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
        let mut s = summary(&mut ms);
        s["handshakes"] = json!(handshakes);
        s["nodeReadyAfterGatewayReadyMs"] = json!(node_ready);
        s["operatorConnectMs"] = json!(op_connect);
        println!(
            "  {name}: median {:.0} ms, max {:.0} ms",
            s["medianMs"].as_f64().unwrap_or(f64::NAN),
            s["maxMs"].as_f64().unwrap_or(f64::NAN)
        );
        out[name] = s;
    }
    Ok(out)
}

/// `cargo xtask bench-recovery`: only this section (the in-process node and the release
/// `clawnode run`), printed as JSON, with the stripped size of the release FFI library.
/// With `CLAWNODE_BENCH_LOG` set, the node's debug log (with timestamps) goes to stderr,
/// interleaved with the bench's own "gateway ready" marks.
pub fn run_only() -> R<()> {
    if std::env::var_os("CLAWNODE_BENCH_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(std::io::stderr)
            .with_target(false)
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().map_err(e)?;
    super::build_release()?;
    let bin = super::clawnode_release()?;
    let v = rt.block_on(async {
        let prov = tokio::task::spawn_blocking(clawnode_testkit::provision).await.map_err(e)?.map_err(e)?;
        let mut v = json!({ "node": recovery(&prov).await?, "clawnodeRun": recovery_cli(&prov, &bin).await? });
        v["ffiCdylib"] = super::sizes()["ffiCdylibStrippedBytes"].clone();
        Ok::<_, String>(v)
    })?;
    println!("{}", serde_json::to_string_pretty(&v).map_err(e)?);
    Ok(())
}
