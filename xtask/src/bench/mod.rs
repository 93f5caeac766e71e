//! `cargo xtask bench`: ClawNode measured side by side with the official TS node host on the
//! same real Gateway, the node-side ceiling on a fake Gateway, large payloads, micro
//! benchmarks and sizes. Writes `docs/benchmarks.{json,md,png}`. A benchmark, never a test.

mod chart;
pub mod child;
mod procs;
mod recovery;

use std::collections::HashMap;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clawnode_testkit::{FakeGateway, Gateway, Operator, Provisioned};
use serde_json::{Value, json};

type R<T> = Result<T, String>;

fn e<E: std::fmt::Display>(x: E) -> String {
    x.to_string()
}

fn root() -> PathBuf {
    clawnode_testkit::workspace::workspace_root()
}

/// The target directory as cargo resolves it.
fn target() -> R<PathBuf> {
    crate::target_dir()
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    let idx = ((p / 100.0) * (v.len() - 1) as f64).round() as usize;
    v[idx.min(v.len() - 1)]
}

fn mib(b: u64) -> f64 {
    b as f64 / (1024.0 * 1024.0)
}

/// A node host process under test, spawned in its own process group.
struct Host {
    name: &'static str,
    cmd: Box<dyn Fn() -> Command>,
    child: Option<Child>,
    node_id: String,
    /// clawnode only: its state directory (for `clawnode status --json`) and the times, in ms
    /// after spawn, at which its own status lines `connecting` and `ready:` appeared.
    status_dir: Option<PathBuf>,
    marks: Arc<std::sync::Mutex<HashMap<&'static str, f64>>>,
}

impl Host {
    fn spawn(&mut self) -> R<u32> {
        let mut c = (self.cmd)();
        let watch = self.status_dir.is_some();
        c.stdin(Stdio::null())
            .stdout(if watch { Stdio::piped() } else { Stdio::null() })
            .stderr(Stdio::null())
            .process_group(0);
        let t0 = Instant::now();
        let mut child = c.spawn().map_err(|x| format!("spawn {}: {x}", self.name))?;
        if let Some(out) = child.stdout.take() {
            let marks = self.marks.clone();
            if let Ok(mut m) = marks.lock() {
                m.clear();
            }
            std::thread::spawn(move || {
                use std::io::BufRead as _;
                for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    let at = t0.elapsed().as_secs_f64() * 1000.0;
                    for key in ["connecting", "ready:"] {
                        if line.contains(key)
                            && let Ok(mut m) = marks.lock()
                        {
                            m.entry(key).or_insert(at);
                        }
                    }
                }
            });
        }
        let pid = child.id();
        self.child = Some(child);
        Ok(pid)
    }

    /// `clawnode status --json` of a running clawnode host.
    fn status(&self) -> Option<Value> {
        let dir = self.status_dir.as_ref()?;
        let out =
            Command::new(clawnode_release().ok()?).args(["status", "--json", "--state-dir"]).arg(dir).output().ok()?;
        serde_json::from_slice(&out.stdout).ok()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let pid = c.id();
            let _ = Command::new("kill").args(["-TERM", "--", &format!("-{pid}")]).status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = Command::new("kill").args(["-KILL", "--", &format!("-{pid}")]).status();
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn node_entry(op: &Operator, pred: impl Fn(&Value) -> bool) -> R<Option<Value>> {
    let list = op.node_list().await.map_err(e)?;
    Ok(list["nodes"].as_array().and_then(|a| a.iter().find(|n| pred(n)).cloned()))
}

async fn wait_connected(op: &Operator, display: &str, want: bool, timeout: Duration) -> R<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(n) = node_entry(op, |n| n["displayName"] == display).await?
            && (n["connected"] == true) == want
        {
            return Ok(n);
        }
        if Instant::now() > deadline {
            return Err(format!("{display}: connected={want} not reached in {timeout:?}"));
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn approve_surface(op: &Operator, node_id: &str) -> R<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let list = op.node_pair_list().await.map_err(e)?;
        if let Some(p) = list["pending"].as_array().and_then(|a| a.iter().find(|p| p["nodeId"] == node_id)) {
            op.node_pair_approve(p["requestId"].as_str().unwrap_or_default()).await.map_err(e)?;
            return Ok(());
        }
        if list["paired"].as_array().is_some_and(|a| a.iter().any(|p| p["nodeId"] == node_id)) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("no pending surface request for {node_id}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn invoke_ok(op: &Operator, node: &str) -> bool {
    op.node_invoke(node, "system.which", json!({"bins": ["sh"]}), 10_000).await.is_ok()
}

#[derive(Default, Clone, Debug)]
struct HostFigures {
    spawn_to_connected_ms: Vec<f64>,
    idle_rss: u64,
    latency_ms: (f64, f64, f64),
    cpu_ms_per_1000: f64,
    throughput: Vec<(usize, f64, u64)>,
    peak_rss: u64,
    session_kept: bool,
    /// clawnode only: spawn → its `connecting` line / its `ready:` line (ms, per run).
    node_marks: Vec<(f64, f64)>,
    /// clawnode only: its own turnaround histogram over the sequential invokes.
    node_turnaround: Option<Value>,
}

async fn spawn_to_connected(op: &Arc<Operator>, host: &mut Host, display: &str, f: &mut HostFigures) -> R<()> {
    host.stop();
    wait_connected(op, display, false, Duration::from_secs(30)).await?;
    let t0 = Instant::now();
    host.spawn()?;
    wait_connected(op, display, true, Duration::from_secs(90)).await?;
    f.spawn_to_connected_ms.push(t0.elapsed().as_secs_f64() * 1000.0);
    if host.status_dir.is_some() {
        // The node's own lines (printed right before its TCP connect, and when the readiness
        // probe after hello-ok was answered).
        let dl = Instant::now() + Duration::from_secs(10);
        loop {
            let m = host.marks.lock().map(|m| m.clone()).unwrap_or_default();
            if let (Some(c), Some(r)) = (m.get("connecting"), m.get("ready:")) {
                f.node_marks.push((*c, *r));
                break;
            }
            if Instant::now() > dl {
                return Err(format!("{}: no `ready:` line", host.name));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    // Wait until invokes work (surface live).
    let dl = Instant::now() + Duration::from_secs(30);
    while !invoke_ok(op, &host.node_id).await {
        if Instant::now() > dl {
            return Err(format!("{}: invokes never worked", host.name));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// Sequential invokes: latencies and the node's CPU time for them.
async fn sequential(op: &Arc<Operator>, host: &Host, n: usize, lat: &mut Vec<f64>) -> R<f64> {
    let cpu0 = procs::tree_cpu_secs(host.pid());
    for _ in 0..n {
        let t = Instant::now();
        op.node_invoke(&host.node_id, "system.which", json!({"bins": ["sh"]}), 10_000).await.map_err(e)?;
        lat.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    Ok(procs::tree_cpu_secs(host.pid()) - cpu0)
}

/// `k` invokes in flight for `secs`: (ok, errors, elapsed).
async fn concurrent(op: &Arc<Operator>, host: &Host, k: usize, secs: u64) -> (u64, u64, f64) {
    let ok = Arc::new(AtomicU64::new(0));
    let err = Arc::new(AtomicU64::new(0));
    let stop_at = Instant::now() + Duration::from_secs(secs);
    let mut tasks = Vec::new();
    for _ in 0..k {
        let (op, ok, err, id) = (op.clone(), ok.clone(), err.clone(), host.node_id.clone());
        tasks.push(tokio::spawn(async move {
            while Instant::now() < stop_at {
                match op.node_invoke(&id, "system.which", json!({"bins": ["sh"]}), 15_000).await {
                    Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                    Err(_) => err.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let t0 = Instant::now();
    for t in tasks {
        let _ = t.await;
    }
    (ok.load(Ordering::Relaxed), err.load(Ordering::Relaxed), t0.elapsed().as_secs_f64())
}

/// Measures both hosts with interleaved rounds (A, B, A, B…) so that load changes on the
/// machine affect both alike.
async fn measure_both(op: &Arc<Operator>, hosts: &mut [(&mut Host, &str); 2]) -> R<[HostFigures; 2]> {
    let mut figs = [HostFigures::default(), HostFigures::default()];
    for _ in 0..3 {
        for (i, (host, display)) in hosts.iter_mut().enumerate() {
            spawn_to_connected(op, host, display, &mut figs[i]).await?;
        }
    }
    let mut connected_at = Vec::new();
    for (host, display) in hosts.iter() {
        let _ = host;
        connected_at.push(node_entry(op, |n| n["displayName"] == *display).await?.map(|n| n["connectedAtMs"].clone()));
    }
    // Latency: 300 sequential system.which each, in 3 interleaved rounds; CPU per invoke
    // over 1300 sequential invokes each.
    let mut lats = [Vec::new(), Vec::new()];
    let mut cpu = [0.0f64; 2];
    for _ in 0..3 {
        for (i, (host, _)) in hosts.iter().enumerate() {
            cpu[i] += sequential(op, host, 100, &mut lats[i]).await?;
        }
    }
    for _ in 0..2 {
        for (i, (host, _)) in hosts.iter().enumerate() {
            cpu[i] += sequential(op, host, 500, &mut Vec::new()).await?;
        }
    }
    for (i, (host, _)) in hosts.iter().enumerate() {
        figs[i].node_turnaround = host.status().map(|s| s["invokes"]["turnaroundUs"].clone());
    }
    for i in 0..2 {
        figs[i].latency_ms = (pct(&mut lats[i], 50.0), pct(&mut lats[i], 90.0), pct(&mut lats[i], 99.0));
        figs[i].cpu_ms_per_1000 = cpu[i] * 1000.0 / 1300.0 * 1000.0;
    }
    // Throughput with 16 and 64 in flight: 2 interleaved rounds of 5 s each.
    for k in [16usize, 64] {
        let mut acc = [(0u64, 0u64, 0.0f64); 2];
        for _ in 0..2 {
            for (i, (host, _)) in hosts.iter().enumerate() {
                let (ok, err, secs) = concurrent(op, host, k, 5).await;
                acc[i].0 += ok;
                acc[i].1 += err;
                acc[i].2 += secs;
            }
        }
        for i in 0..2 {
            figs[i].throughput.push((k, acc[i].0 as f64 / acc[i].2, acc[i].1));
        }
    }
    for (i, (host, display)) in hosts.iter().enumerate() {
        figs[i].peak_rss = procs::tree_hwm(host.pid());
        let after = node_entry(op, |n| n["displayName"] == *display).await?;
        figs[i].session_kept =
            after.is_some_and(|n| n["connected"] == true && Some(n["connectedAtMs"].clone()) == connected_at[i]);
    }
    Ok(figs)
}

fn clawnode_release() -> R<PathBuf> {
    Ok(target()?.join("release/clawnode"))
}

async fn side_by_side(prov: &Provisioned) -> R<Value> {
    println!("\n## side by side on one real Gateway: clawnode vs openclaw node run");
    let gw = Gateway::builder().provisioned(prov.clone()).start().await.map_err(e)?;
    let op = Arc::new(Operator::connect(&gw.ws_url(), gw.token()).await.map_err(e)?);
    let (url, token, port) = (gw.ws_url(), gw.token().to_string(), gw.port());
    let tmp = tempfile::tempdir().map_err(e)?;
    let cn_state = tmp.path().join("clawnode");
    let ts_state = tmp.path().join("ts");
    std::fs::create_dir_all(ts_state.join("home")).map_err(e)?;

    let bin = clawnode_release()?;
    let (u, t, s) = (url.clone(), token.clone(), cn_state.clone());
    let mut cn = Host {
        name: "clawnode",
        cmd: Box::new(move || {
            let mut c = Command::new(&bin);
            c.args([
                "run",
                "--url",
                &u,
                "--token",
                &t,
                "--display-name",
                "bench-clawnode",
                "--commands",
                "system.which",
            ])
            .arg("--state-dir")
            .arg(&s)
            .env_remove("OPENCLAW_GATEWAY_URL");
            c
        }),
        child: None,
        node_id: String::new(),
        status_dir: Some(cn_state.clone()),
        marks: Arc::default(),
    };
    let (p, t, s) = (prov.clone(), token.clone(), ts_state.clone());
    let mut ts = Host {
        name: "openclaw node run",
        cmd: Box::new(move || {
            let mut c = Command::new(&p.node);
            c.arg(&p.openclaw_entry)
                .args(["node", "run", "--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--display-name", "bench-ts"])
                .current_dir(&p.gateway_dir)
                .env("OPENCLAW_GATEWAY_TOKEN", &t)
                .env("OPENCLAW_STATE_DIR", &s)
                .env("HOME", s.join("home"))
                .env("PATH", format!("{}:{}", p.node_bin_dir.display(), std::env::var("PATH").unwrap_or_default()));
            c
        }),
        child: None,
        node_id: String::new(),
        status_dir: None,
        marks: Arc::default(),
    };
    // First pairing of both (loopback device pairing is silent; the surface needs approval).
    for (host, display) in [(&mut cn, "bench-clawnode"), (&mut ts, "bench-ts")] {
        host.spawn()?;
        let deadline = Instant::now() + Duration::from_secs(120);
        let node = loop {
            if let Some(n) = node_entry(&op, |n| n["displayName"] == display).await? {
                break n;
            }
            if Instant::now() > deadline {
                return Err(format!("{display} never showed up in node.list"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        host.node_id = node["nodeId"].as_str().unwrap_or_default().to_string();
        approve_surface(&op, &host.node_id).await?;
        println!("{display}: paired as {}", &host.node_id[..12]);
    }
    // Idle RSS 30 s after connect, both at once (they must be idle and connected).
    for (host, display) in [(&mut cn, "bench-clawnode"), (&mut ts, "bench-ts")] {
        host.stop();
        wait_connected(&op, display, false, Duration::from_secs(30)).await?;
        host.spawn()?;
        wait_connected(&op, display, true, Duration::from_secs(60)).await?;
    }
    tokio::time::sleep(Duration::from_secs(30)).await;
    let idle = [procs::tree_rss(cn.pid()), procs::tree_rss(ts.pid())];
    println!("idle RSS: clawnode {:.2} MiB, ts {:.1} MiB", mib(idle[0]), mib(idle[1]));
    let [mut cf, mut tf] = measure_both(&op, &mut [(&mut cn, "bench-clawnode"), (&mut ts, "bench-ts")]).await?;
    cf.idle_rss = idle[0];
    tf.idle_rss = idle[1];
    println!("clawnode: {cf:?}");
    println!("ts: {tf:?}");
    cn.stop();
    ts.stop();
    drop(gw);
    let fig = |f: &HostFigures| {
        let mut s = f.spawn_to_connected_ms.clone();
        json!({
            "spawnToConnectedMs": pct(&mut s, 50.0),
            "spawnToConnectedRunsMs": f.spawn_to_connected_ms,
            "idleRssBytes": f.idle_rss,
            "peakRssBytes": f.peak_rss,
            "cpuMsPer1000Invokes": f.cpu_ms_per_1000,
            "latencyMs": {"p50": f.latency_ms.0, "p90": f.latency_ms.1, "p99": f.latency_ms.2},
            "throughput": f.throughput.iter().map(|(k, r, err)| json!({"inFlight": k, "invokesPerSec": r, "errors": err})).collect::<Vec<_>>(),
            "sessionKeptUnderLoad": f.session_kept,
            "nodeSpawnToConnectingMs": (!f.node_marks.is_empty()).then(|| {
                let mut v: Vec<f64> = f.node_marks.iter().map(|m| m.0).collect();
                pct(&mut v, 50.0)
            }),
            "nodeSpawnToReadyMs": (!f.node_marks.is_empty()).then(|| {
                let mut v: Vec<f64> = f.node_marks.iter().map(|m| m.1).collect();
                pct(&mut v, 50.0)
            }),
            "nodeTurnaroundUs": f.node_turnaround,
        })
    };
    Ok(json!({"clawnode": fig(&cf), "ts": fig(&tf)}))
}

/// Spawns the bench child (release xtask) pinned to CPU 0.
fn spawn_child(url: &str, token: &str) -> R<Child> {
    let exe = std::env::current_exe().map_err(e)?;
    let mut c = if Path::new("/usr/bin/taskset").exists() {
        let mut c = Command::new("taskset");
        c.args(["-c", "0"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    c.args(["bench-child", "--url", url, "--token", token])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(e)
}

struct ChildIo {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl ChildIo {
    fn new(mut child: Child) -> Self {
        let (tx, rx) = std::sync::mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                use std::io::BufRead as _;
                for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(l);
                }
            });
        }
        ChildIo { child, lines: rx }
    }
    fn wait_line(&self, prefix: &str, timeout: Duration) -> R<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return Ok(l),
                Ok(_) => continue,
                Err(_) => return Err(format!("bench child: no {prefix:?} line")),
            }
        }
    }
    fn stats(&mut self) -> R<(u64, u64)> {
        let l = self.command("stats", "{")?;
        let v: Value = serde_json::from_str(&l).map_err(e)?;
        Ok((v["allocs"].as_u64().unwrap_or(0), v["allocBytes"].as_u64().unwrap_or(0)))
    }

    /// Sends a stdin command and returns the first answer line starting with `prefix`.
    fn command(&mut self, cmd: &str, prefix: &str) -> R<String> {
        use std::io::Write as _;
        let stdin = self.child.stdin.as_mut().ok_or("child stdin")?;
        writeln!(stdin, "{cmd}").map_err(e)?;
        self.wait_line(prefix, Duration::from_secs(10))
    }
}

impl Drop for ChildIo {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn ceiling() -> R<Value> {
    println!("\n## node-side ceiling on the fake Gateway (node pinned to one core)");
    let mut fake = FakeGateway::start().await.map_err(e)?;
    let mut child = ChildIo::new(spawn_child(&fake.ws_url(), "bench-token")?);
    let child_pid = child.child.id();
    let mut conn = fake.next_conn(Duration::from_secs(30)).await.map_err(e)?;
    let connect = conn.accept_connect(Duration::from_secs(30)).await.map_err(e)?;
    let node_id = connect["params"]["device"]["id"].as_str().unwrap_or_default().to_string();
    // Readiness probe.
    let probe = conn.recv_request("node.event", Duration::from_secs(10)).await.map_err(e)?;
    conn.reply_ok(probe["id"].as_str().unwrap_or_default(), json!({"ok": true, "handled": true})).await.map_err(e)?;
    child.wait_line("READY", Duration::from_secs(10))?;
    let mut rows = Vec::new();
    let mut turnaround = Vec::new();
    let mut node_turnaround = String::new();
    let mut seq = 0u64;
    for (k, n) in [(1usize, 5_000usize), (16, 20_000), (256, 40_000)] {
        // Warm up.
        run_invokes(&mut conn, &node_id, k, 1000, &mut seq, &mut Vec::new()).await?;
        if k == 1 {
            child.command("turnaround-reset", "OK")?;
        }
        let (a0, b0) = child.stats()?;
        let cpu0 = procs::tree_cpu_secs(child_pid);
        let t0 = Instant::now();
        let mut rtts = Vec::new();
        run_invokes(&mut conn, &node_id, k, n, &mut seq, &mut rtts).await?;
        let secs = t0.elapsed().as_secs_f64();
        let cpu = procs::tree_cpu_secs(child_pid) - cpu0;
        let (a1, b1) = child.stats()?;
        // The stats request itself allocates a little; negligible against n invokes.
        let row = json!({
            "inFlight": k,
            "invokes": n,
            "invokesPerSec": n as f64 / secs,
            "nodeCpuUsPerInvoke": cpu * 1e6 / n as f64,
            "nodeCeilingInvokesPerSecOneCore": if cpu > 0.0 { n as f64 / cpu } else { f64::NAN },
            "allocsPerInvoke": (a1 - a0) as f64 / n as f64,
            "allocBytesPerInvoke": (b1 - b0) as f64 / n as f64,
        });
        println!("{row}");
        rows.push(row);
        if k == 1 {
            turnaround = rtts;
            node_turnaround = child.command("turnaround", "{")?;
        }
    }
    let rss = procs::tree_rss(child_pid);
    drop(conn);
    drop(child);
    let node_t: Value = serde_json::from_str(&node_turnaround).map_err(e)?;
    let t = json!({
        "p50Us": node_t["p50"],
        "p90Us": node_t["p90"],
        "p99Us": node_t["p99"],
        "maxUs": node_t["max"],
        "count": node_t["count"],
        "method": "the node's own histogram, 1 in flight on the fake Gateway: request frame read off the socket → result frame written to it",
        "roundTripP50Us": pct(&mut turnaround.clone(), 50.0),
        "roundTripP99Us": pct(&mut turnaround, 99.0),
        "roundTripMethod": "seen from the fake Gateway: invoke frame written → result frame read (adds both loopback hops and both processes' wake-ups)",
    });
    Ok(json!({"rows": rows, "turnaround": t, "childRssBytes": rss}))
}

async fn run_invokes(
    conn: &mut clawnode_testkit::FakeConn,
    node_id: &str,
    k: usize,
    n: usize,
    seq: &mut u64,
    rtts: &mut Vec<f64>,
) -> R<()> {
    let mut sent_at: HashMap<String, Instant> = HashMap::new();
    let mut sent = 0usize;
    let mut done = 0usize;
    let mut send_one = |sent: &mut usize| {
        *seq += 1;
        *sent += 1;
        let id = format!("b{seq}");
        let frame = json!({"type": "event", "event": "node.invoke.request", "payload": {
            "id": id, "nodeId": node_id, "command": "bench.echo", "paramsJSON": "{}", "timeoutMs": 30000}});
        (id, frame)
    };
    while sent < k.min(n) {
        let (id, f) = send_one(&mut sent);
        sent_at.insert(id, Instant::now());
        conn.send_json(&f).await.map_err(e)?;
    }
    while done < n {
        let frame = conn.recv_frame(Duration::from_secs(30)).await.map_err(e)?;
        let method = frame["method"].as_str().unwrap_or_default();
        let rid = frame["id"].as_str().unwrap_or_default().to_string();
        if method == "node.invoke.result" {
            if let Some(t) = sent_at.remove(frame["params"]["id"].as_str().unwrap_or_default()) {
                rtts.push(t.elapsed().as_secs_f64() * 1e6);
            }
            if frame["params"]["ok"] != true {
                return Err(format!("invoke failed: {frame}"));
            }
            done += 1;
            conn.reply_ok(&rid, json!({"ok": true})).await.map_err(e)?;
            if sent < n {
                let (id, f) = send_one(&mut sent);
                sent_at.insert(id, Instant::now());
                conn.send_json(&f).await.map_err(e)?;
            }
        } else if !rid.is_empty() {
            conn.reply_ok(&rid, json!({"ok": true})).await.map_err(e)?;
        }
    }
    Ok(())
}

async fn large(prov: &Provisioned) -> R<Value> {
    println!("\n## large payloads through the real Gateway");
    let gw = Gateway::builder()
        .provisioned(prov.clone())
        .allow_commands(&["bench.big", "bench.echo"])
        .start()
        .await
        .map_err(e)?;
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.map_err(e)?;
    let child = ChildIo::new(spawn_child(&gw.ws_url(), gw.token())?);
    let pid = child.child.id();
    let awaiting = child.wait_line("AWAITING", Duration::from_secs(60))?;
    let node_id = awaiting.trim_start_matches("AWAITING ").trim().to_string();
    approve_surface(&op, &node_id).await?;
    child.wait_line("READY", Duration::from_secs(60))?;
    op.node_invoke(&node_id, "bench.echo", json!({}), 10_000).await.map_err(e)?;
    let base_rss = procs::tree_rss(pid);
    let payload = 20 * 1024 * 1024u64;
    let t0 = Instant::now();
    let r = op.node_invoke(&node_id, "bench.big", json!({"bytes": payload}), 60_000).await.map_err(e)?;
    let secs = t0.elapsed().as_secs_f64();
    let got = r["payload"]["base64"].as_str().map(str::len).unwrap_or(0) as u64;
    let peak = procs::tree_hwm(pid);
    println!("20 MiB: {secs:.2}s, node peak RSS {:.1} MiB (base {:.1})", mib(peak), mib(base_rss));
    let over = op.node_invoke(&node_id, "bench.big", json!({"bytes": 30 * 1024 * 1024}), 60_000).await;
    let over_code = match &over {
        Err(x) => x.shape().map(|s| s.message.clone()).unwrap_or_else(|| x.to_string()),
        Ok(_) => "accepted (unexpected)".into(),
    };
    let alive = op.node_invoke(&node_id, "bench.echo", json!({}), 10_000).await.is_ok();
    drop(child);
    drop(gw);
    Ok(json!({
        "payloadBytes": payload,
        "receivedBytes": got,
        "seconds": secs,
        "nodePeakRssBytes": peak,
        "nodeBaseRssBytes": base_rss,
        "peakOverPayload": peak as f64 / payload as f64,
        "overLimitResult": over_code,
        "sessionAliveAfterOverLimit": alive,
    }))
}

fn micro() -> R<Value> {
    println!("\n## micro-benchmarks (criterion)");
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(root())
        .args(["bench", "-q", "-p", "clawnode", "--bench", "micro", "--", "--output-format", "bencher"])
        .output()
        .map_err(e)?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut rows = Vec::new();
    for l in text.lines() {
        // "test name ... bench:        1234 ns/iter (+/- 56)"
        if let Some(rest) = l.strip_prefix("test ")
            && let Some((name, b)) = rest.split_once(" ... bench:")
        {
            let ns: f64 = b.split_whitespace().next().unwrap_or("0").replace(',', "").parse().unwrap_or(f64::NAN);
            rows.push(json!({"name": name.trim(), "nsPerIter": ns}));
        }
    }
    if !out.status.success() || rows.is_empty() {
        return Err(format!("cargo bench failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    Ok(json!(rows))
}

fn sizes() -> Value {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).ok();
    let mut v = json!({"clawnodeBinaryBytes": clawnode_release().ok().and_then(|p| size(&p))});
    let ffi = target().map(|t| t.join("release-ffi/libclawnode_ffi.so")).unwrap_or_default();
    if ffi.is_file() {
        let stripped = std::env::temp_dir().join("libclawnode_ffi.stripped.so");
        let ok = std::fs::copy(&ffi, &stripped).is_ok()
            && Command::new("strip").arg(&stripped).status().is_ok_and(|s| s.success());
        v["ffiCdylibBytes"] = json!(size(&ffi));
        if ok {
            v["ffiCdylibStrippedBytes"] = json!(size(&stripped));
        }
    }
    v
}

fn build_release() -> R<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(&cargo)
        .current_dir(root())
        .args(["build", "--release", "-p", "clawnode-cli", "--bin", "clawnode"])
        .status()
        .map_err(e)?;
    if !st.success() {
        return Err("release build of clawnode failed".into());
    }
    if root().join("bindings/Cargo.toml").exists() {
        let st = Command::new(&cargo)
            .current_dir(root())
            .args(["build", "--profile", "release-ffi", "-p", "clawnode-ffi"])
            .status()
            .map_err(e)?;
        if !st.success() {
            println!("note: the FFI cdylib did not build; its size is not reported");
        }
    }
    Ok(())
}

/// The measuring part, run from the release xtask binary.
pub fn run_impl() -> R<()> {
    // Keep the driver off the core the bench child is pinned to.
    let _ = Command::new("taskset").args(["-p", "-c", "1", &std::process::id().to_string()]).output();
    build_release()?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().map_err(e)?;
    let report = rt.block_on(async {
        let prov = tokio::task::spawn_blocking(clawnode_testkit::provision).await.map_err(e)?.map_err(e)?;
        let ceiling = ceiling().await?;
        let large = large(&prov).await?;
        let side = side_by_side(&prov).await?;
        let recovery = recovery::recovery(&prov).await?;
        R::Ok(json!({"ceiling": ceiling, "large": large, "sideBySide": side, "recovery": recovery}))
    })?;
    let mut report = report;
    report["micro"] = micro().unwrap_or_else(|x| json!({"error": x}));
    report["sizes"] = sizes();
    report["machine"] = json!({
        // Not available_parallelism(): the driver pins itself to one CPU.
        "cpus": std::fs::read_to_string("/proc/cpuinfo").map(|c| c.lines().filter(|l| l.starts_with("processor")).count()).unwrap_or(0),
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "date": String::from_utf8_lossy(&Command::new("date").arg("-u").arg("+%Y-%m-%dT%H:%M:%SZ").output().map(|o| o.stdout).unwrap_or_default()).trim(),
        "gateway": "openclaw@2026.9.6",
    });
    report["targets"] = targets(&report);
    let docs = root().join("docs");
    std::fs::write(docs.join("benchmarks.json"), serde_json::to_string_pretty(&report).map_err(e)?).map_err(e)?;
    chart::render(&report, &docs.join("benchmarks.png"))?;
    std::fs::write(docs.join("benchmarks.md"), markdown(&report)).map_err(e)?;
    println!("\nwrote docs/benchmarks.json, docs/benchmarks.md, docs/benchmarks.png");
    Ok(())
}

fn targets(r: &Value) -> Value {
    let f = |p: &str| r.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let cn_cpu = f("/sideBySide/clawnode/cpuMsPer1000Invokes");
    let ts_cpu = f("/sideBySide/ts/cpuMsPer1000Invokes");
    let errors64 = r
        .pointer("/sideBySide/clawnode/throughput")
        .and_then(Value::as_array)
        .and_then(|a| a.iter().find(|t| t["inFlight"] == 64))
        .map(|t| t["errors"].as_u64().unwrap_or(u64::MAX))
        .unwrap_or(u64::MAX);
    let kept = r.pointer("/sideBySide/clawnode/sessionKeptUnderLoad").and_then(Value::as_bool).unwrap_or(false);
    let ceiling = r
        .pointer("/ceiling/rows")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x["nodeCeilingInvokesPerSecOneCore"].as_f64()).fold(0.0, f64::max))
        .unwrap_or(f64::NAN);
    let bin = f("/sizes/clawnodeBinaryBytes");
    let cdylib = f("/sizes/ffiCdylibStrippedBytes");
    let row = |name: &str, target: &str, value: String, met: bool| json!({"name": name, "target": target, "value": value, "met": met});
    let mib_s = |b: f64| format!("{:.2} MiB", b / 1048576.0);
    json!([
        row(
            "idle RSS",
            "≤ 4 MiB",
            mib_s(f("/sideBySide/clawnode/idleRssBytes")),
            f("/sideBySide/clawnode/idleRssBytes") <= 4.0 * 1048576.0
        ),
        row(
            "spawn → connected (paired; Gateway's node.list)",
            "≤ 30 ms",
            format!(
                "{:.1} ms (node's own start-up: spawn → `connecting` {:.1} ms; spawn → `ready:` {:.1} ms)",
                f("/sideBySide/clawnode/spawnToConnectedMs"),
                f("/sideBySide/clawnode/nodeSpawnToConnectingMs"),
                f("/sideBySide/clawnode/nodeSpawnToReadyMs")
            ),
            f("/sideBySide/clawnode/spawnToConnectedMs") <= 30.0
        ),
        row(
            "node turnaround p50",
            "≤ 50 µs",
            format!(
                "{:.0} µs (real Gateway, sequential: {:.0} µs)",
                f("/ceiling/turnaround/p50Us"),
                f("/sideBySide/clawnode/nodeTurnaroundUs/p50")
            ),
            f("/ceiling/turnaround/p50Us") <= 50.0
        ),
        row(
            "node turnaround p99",
            "≤ 500 µs",
            format!(
                "{:.0} µs (real Gateway, sequential: {:.0} µs)",
                f("/ceiling/turnaround/p99Us"),
                f("/sideBySide/clawnode/nodeTurnaroundUs/p99")
            ),
            f("/ceiling/turnaround/p99Us") <= 500.0
        ),
        row("node CPU per invoke vs TS host", "≤ 1/10", format!("1/{:.1}", ts_cpu / cn_cpu), cn_cpu * 10.0 <= ts_cpu),
        row(
            "64 in flight",
            "0 errors, no session loss",
            format!("{errors64} errors, session kept: {kept}"),
            errors64 == 0 && kept
        ),
        row("fake-Gateway ceiling, one core", "≥ 50k invokes/s", format!("{:.0}/s", ceiling), ceiling >= 50_000.0),
        row("clawnode binary (stripped)", "≤ 3 MiB", mib_s(bin), bin <= 3.0 * 1048576.0),
        row(
            "FFI cdylib (stripped)",
            "≤ 3 MiB",
            if cdylib.is_nan() { "not built".into() } else { mib_s(cdylib) },
            cdylib <= 3.0 * 1048576.0
        ),
        row(
            "20 MiB result peak RSS",
            "≤ 3× payload",
            format!("{:.2}×", f("/large/peakOverPayload")),
            f("/large/peakOverPayload") <= 3.0
        ),
    ])
}

fn markdown(r: &Value) -> String {
    let f = |p: &str| r.pointer(p).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let ratio = |p: &str| f(&format!("/sideBySide/clawnode{p}")) / f(&format!("/sideBySide/ts{p}"));
    let mut s = String::new();
    s.push_str("# Benchmarks\n\nGenerated by `cargo xtask bench` (release build) on ");
    s.push_str(&format!(
        "{} ({} CPUs, kernel {}), Gateway {}. Figures are from one run; rerun to reproduce.\n\n",
        r["machine"]["date"].as_str().unwrap_or("?"),
        r["machine"]["cpus"],
        r["machine"]["kernel"].as_str().unwrap_or("?"),
        r["machine"]["gateway"].as_str().unwrap_or("?")
    ));
    s.push_str("![chart](benchmarks.png)\n\n## Targets\n\n| Target | Goal | Measured | Met |\n|---|---|---|---|\n");
    for t in r["targets"].as_array().cloned().unwrap_or_default() {
        s.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            t["name"].as_str().unwrap_or(""),
            t["target"].as_str().unwrap_or(""),
            t["value"].as_str().unwrap_or(""),
            if t["met"] == true { "yes" } else { "**no**" }
        ));
    }
    s.push_str("\n## Side by side on one real Gateway\n\n`clawnode run` (release) and the official `openclaw node run` (same pinned npm package), both already paired, on the same Gateway in the same run.\n\n| Figure | clawnode | openclaw node run | ratio |\n|---|---|---|---|\n");
    let rows: &[(&str, &str, f64)] = &[
        ("spawn → connected (median of 3), ms", "/spawnToConnectedMs", 1.0),
        ("idle RSS 30 s after connect, MiB", "/idleRssBytes", 1.0 / 1048576.0),
        ("peak RSS under load, MiB", "/peakRssBytes", 1.0 / 1048576.0),
        ("node CPU per 1000 invokes, ms", "/cpuMsPer1000Invokes", 1.0),
        ("invoke latency p50, ms", "/latencyMs/p50", 1.0),
        ("invoke latency p90, ms", "/latencyMs/p90", 1.0),
        ("invoke latency p99, ms", "/latencyMs/p99", 1.0),
    ];
    for (name, p, scale) in rows {
        s.push_str(&format!(
            "| {name} | {:.2} | {:.2} | {:.3} |\n",
            f(&format!("/sideBySide/clawnode{p}")) * scale,
            f(&format!("/sideBySide/ts{p}")) * scale,
            ratio(p)
        ));
    }
    for (i, k) in [16, 64].iter().enumerate() {
        let t = |who: &str, key: &str| f(&format!("/sideBySide/{who}/throughput/{i}/{key}"));
        s.push_str(&format!(
            "| {k} in flight: invokes/s (errors) | {:.0} ({}) | {:.0} ({}) | {:.3} |\n",
            t("clawnode", "invokesPerSec"),
            t("clawnode", "errors"),
            t("ts", "invokesPerSec"),
            t("ts", "errors"),
            t("clawnode", "invokesPerSec") / t("ts", "invokesPerSec")
        ));
    }
    s.push_str("\nEnd-to-end latency and throughput are bound by the Gateway (Node.js) for both hosts.\n\n## Node-side ceiling (fake Gateway, node pinned to one core)\n\n| In flight | invokes/s (wall) | node CPU µs/invoke | ceiling on one core (1/CPU) | allocations/invoke | bytes allocated/invoke |\n|---|---|---|---|---|---|\n");
    for row in r["ceiling"]["rows"].as_array().cloned().unwrap_or_default() {
        s.push_str(&format!(
            "| {} | {:.0} | {:.1} | {:.0} | {:.1} | {:.0} |\n",
            row["inFlight"],
            row["invokesPerSec"].as_f64().unwrap_or(f64::NAN),
            row["nodeCpuUsPerInvoke"].as_f64().unwrap_or(f64::NAN),
            row["nodeCeilingInvokesPerSecOneCore"].as_f64().unwrap_or(f64::NAN),
            row["allocsPerInvoke"].as_f64().unwrap_or(f64::NAN),
            row["allocBytesPerInvoke"].as_f64().unwrap_or(f64::NAN),
        ));
    }
    s.push_str(&format!(
        "\nNode-side turnaround ({}; {} invokes): p50 {:.0} µs, p90 {:.0} µs, p99 {:.0} µs, max {:.0} µs. \
         Round trip {}: p50 {:.0} µs, p99 {:.0} µs.\n\n",
        r["ceiling"]["turnaround"]["method"].as_str().unwrap_or(""),
        f("/ceiling/turnaround/count"),
        f("/ceiling/turnaround/p50Us"),
        f("/ceiling/turnaround/p90Us"),
        f("/ceiling/turnaround/p99Us"),
        f("/ceiling/turnaround/maxUs"),
        r["ceiling"]["turnaround"]["roundTripMethod"].as_str().unwrap_or(""),
        f("/ceiling/turnaround/roundTripP50Us"),
        f("/ceiling/turnaround/roundTripP99Us"),
    ));
    s.push_str(&format!(
        "## Large payloads\n\nA 20 MiB base64 result through the real Gateway: {:.2} s end to end, node peak RSS {:.1} MiB ({:.2}× the payload). A 30 MiB result (over `policy.maxPayload`): `{}`; session alive afterwards: {}.\n\n",
        f("/large/seconds"),
        f("/large/nodePeakRssBytes") / 1048576.0,
        f("/large/peakOverPayload"),
        r["large"]["overLimitResult"].as_str().unwrap_or("?"),
        r["large"]["sessionAliveAfterOverLimit"]
    ));
    if r.get("recovery").is_some() {
        s.push_str(&format!(
            "## Recovery\n\nNew Gateway ready (same port and state) → first invoke answered through the node, 5 runs each: after a restart (SIGTERM) median {:.0} ms, max {:.0} ms; after a crash (SIGKILL) median {:.0} ms, max {:.0} ms.\n\n",
            f("/recovery/restart/medianMs"),
            f("/recovery/restart/maxMs"),
            f("/recovery/crash/medianMs"),
            f("/recovery/crash/maxMs"),
        ));
    }
    s.push_str("## Micro-benchmarks (criterion)\n\n| Benchmark | time |\n|---|---|\n");
    for m in r["micro"].as_array().cloned().unwrap_or_default() {
        s.push_str(&format!(
            "| {} | {:.0} ns |\n",
            m["name"].as_str().unwrap_or(""),
            m["nsPerIter"].as_f64().unwrap_or(f64::NAN)
        ));
    }
    s.push_str(&format!(
        "\n## Sizes\n\n- `clawnode` release binary (stripped; profile `release`: LTO, 1 codegen unit, opt-level `z`, `panic = \"abort\"`, DT_RELR + identical-code folding): {:.2} MiB\n",
        f("/sizes/clawnodeBinaryBytes") / 1048576.0
    ));
    if !f("/sizes/ffiCdylibStrippedBytes").is_nan() {
        s.push_str(&format!(
            "- `clawnode-ffi` cdylib (profile `release-ffi`: like `release` but `panic = \"unwind\"`; then `strip`): {:.2} MiB\n",
            f("/sizes/ffiCdylibStrippedBytes") / 1048576.0
        ));
    }
    s.push_str(
        "\nWhy the missed targets are missed (profiles with perf and strace, and what was fixed): \
         [performance.md](performance.md).\n",
    );
    s
}

/// `cargo xtask bench-recovery`: the recovery section alone.
pub fn recovery_only() -> R<()> {
    recovery::run_only()
}

/// Re-renders `docs/benchmarks.{md,png}` from `docs/benchmarks.json` (no measuring).
pub fn render_only() -> R<()> {
    let docs = root().join("docs");
    let mut report: Value =
        serde_json::from_str(&std::fs::read_to_string(docs.join("benchmarks.json")).map_err(e)?).map_err(e)?;
    report["targets"] = targets(&report);
    chart::render(&report, &docs.join("benchmarks.png"))?;
    std::fs::write(docs.join("benchmarks.md"), markdown(&report)).map_err(e)?;
    Ok(())
}
