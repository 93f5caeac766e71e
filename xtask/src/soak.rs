//! `cargo xtask soak --minutes N`: the real Gateway restarted every 20 s while an operator
//! invokes `system.which` on a `clawnode` CLI node every 100 ms, for N minutes. Reports
//! invokes answered vs lost, the node's reconnects, and its RSS and open fds at start and
//! end (`/proc/<pid>/status`, `/proc/<pid>/fd`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator, OperatorError};
use serde_json::json;

const T: Duration = Duration::from_secs(90);

#[derive(Debug, Default)]
struct Counts {
    attempted: u64,
    answered: u64,
    /// Dispatched to the node, no answer (a result lost between node and Gateway).
    lost: u64,
    /// Not dispatched: the Gateway was restarting or the node was reconnecting.
    not_dispatched: u64,
    /// The operator's own connection died with the Gateway mid-call (outcome unknown to it).
    interrupted: u64,
    other: BTreeMap<String, u64>,
}

fn proc_stats(pid: u32) -> (u64, usize) {
    let rss = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse::<u64>().ok()))
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    (rss, fds)
}

fn classify(c: &mut Counts, e: &OperatorError) {
    match e {
        OperatorError::Closed { .. } | OperatorError::Connect(_) => c.interrupted += 1,
        _ => {
            let details = e.shape().and_then(|s| s.details.clone()).unwrap_or_default();
            let code = e.details_code().or(e.code()).unwrap_or("?").to_string();
            if details.get("nodeCommandDispatched").and_then(|v| v.as_bool()) == Some(true) {
                c.lost += 1;
                *c.other.entry(format!("lost:{code}")).or_default() += 1;
            } else if matches!(code.as_str(), "NOT_CONNECTED" | "PAIRING_CHANGED" | "UNAVAILABLE")
                || details.get("nodeCommandDispatched").and_then(|v| v.as_bool()) == Some(false)
            {
                c.not_dispatched += 1;
            } else {
                *c.other.entry(code).or_default() += 1;
            }
        }
    }
}

/// Runs the soak and prints the report.
pub async fn run(minutes: u64) -> Result<(), String> {
    let e = |x: &dyn std::fmt::Display| x.to_string();
    let gw = Gateway::builder().allow_commands(&["system.which"]).start().await.map_err(|x| e(&x))?;
    let state = tempfile::tempdir().map_err(|x| e(&x))?;
    let state_dir = state.path().display().to_string();
    let url = gw.ws_url();
    let token = gw.token().to_string();
    let node = ClawnodeProcess::spawn(
        &[
            "run",
            "--url",
            &url,
            "--token",
            gw.token(),
            "--state-dir",
            &state_dir,
            "--display-name",
            "soak",
            "--commands",
            "system.which",
        ],
        &[],
    )
    .map_err(|x| e(&x))?;
    let pid = node.pid().ok_or("clawnode did not start")?;
    let op = Operator::connect(&url, gw.token()).await.map_err(|x| e(&x))?;
    let surface = op.wait_for_pending_node(T).await.map_err(|x| e(&x))?;
    op.node_pair_approve(surface["requestId"].as_str().unwrap_or_default()).await.map_err(|x| e(&x))?;
    node.wait_line("ready: node ", T).await.map_err(|x| e(&x))?;
    let node_id = node
        .lines()
        .iter()
        .find_map(|l| l.split("ready: node ").nth(1).and_then(|r| r.split_whitespace().next()).map(str::to_string))
        .ok_or("no node id in the ready line")?;
    op.wait_for_node_connected(&node_id, T).await.map_err(|x| e(&x))?;
    // Warm up so the start figures are steady-state.
    for _ in 0..20 {
        let _ = op.node_invoke(&node_id, "system.which", json!({"bins": ["sh"]}), 5_000).await;
    }
    let (rss0, fds0) = proc_stats(pid);
    let ready0 = node.lines().iter().filter(|l| l.contains("ready: node ")).count();
    println!("soak: {minutes} min; node pid {pid}: RSS {rss0} KiB, {fds0} fds at start");

    let end = Instant::now() + Duration::from_secs(minutes * 60);
    let mut counts = Counts::default();
    let mut restarts = 0u64;
    let mut next_restart = Instant::now() + Duration::from_secs(20);
    let mut op = Some(op);
    let invoker_pace = Duration::from_millis(100);
    let mut restart_task: Option<tokio::task::JoinHandle<(Gateway, Result<(), String>)>> = None;
    let mut gw_slot = Some(gw);
    while Instant::now() < end {
        let tick = Instant::now();
        if restart_task.is_none()
            && tick >= next_restart
            && let Some(mut g) = gw_slot.take()
        {
            restarts += 1;
            restart_task = Some(tokio::spawn(async move {
                let r = g.restart().await.map_err(|x| x.to_string());
                (g, r)
            }));
        }
        if restart_task.as_ref().is_some_and(|t| t.is_finished())
            && let Some(t) = restart_task.take()
        {
            let (g, r) = t.await.map_err(|x| e(&x))?;
            r?;
            gw_slot = Some(g);
            next_restart = Instant::now() + Duration::from_secs(20);
        }
        counts.attempted += 1;
        if op.as_ref().is_none_or(|o| o.closed().is_some()) {
            op = Operator::connect(&url, &token).await.ok();
        }
        match &op {
            None => counts.not_dispatched += 1,
            Some(o) => match o.node_invoke(&node_id, "system.which", json!({"bins": ["sh"]}), 5_000).await {
                Ok(r) if r["ok"] == true => counts.answered += 1,
                Ok(r) => *counts.other.entry(format!("not ok: {r}")).or_default() += 1,
                Err(err) => classify(&mut counts, &err),
            },
        }
        let left = invoker_pace.saturating_sub(tick.elapsed());
        tokio::time::sleep(left).await;
    }
    if let Some(t) = restart_task.take() {
        let (g, r) = t.await.map_err(|x| e(&x))?;
        r?;
        gw_slot = Some(g);
    }
    // Let the node settle on the last Gateway before measuring.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss1, fds1) = proc_stats(pid);
    let ready1 = node.lines().iter().filter(|l| l.contains("ready: node ")).count();
    let reconnects = ready1.saturating_sub(ready0);
    println!("soak results ({minutes} min, Gateway restarted {restarts} times):");
    println!("  invokes attempted      {}", counts.attempted);
    println!("  answered               {}", counts.answered);
    println!("  lost (dispatched, no answer) {}", counts.lost);
    println!("  not dispatched (gateway restarting / node reconnecting) {}", counts.not_dispatched);
    println!("  interrupted (operator socket died with the gateway) {}", counts.interrupted);
    println!("  other                  {:?}", counts.other);
    println!("  node reconnects (ready lines) {reconnects}");
    println!("  node RSS  {rss0} KiB -> {rss1} KiB");
    println!("  node fds  {fds0} -> {fds1}");
    drop(node);
    if let Some(mut g) = gw_slot {
        let _ = g.stop().await;
    }
    if counts.lost > 0 {
        return Err(format!("{} invokes lost", counts.lost));
    }
    Ok(())
}
