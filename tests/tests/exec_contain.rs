//! Containment of `system.run` children (issue #12, items 2 and 3):
//!
//! - with the per-run reaper of the `clawnode` binary (`clawnode __exec-reaper`), a timeout
//!   or a cancellation kills every descendant, including `setsid`'d and double-forked ones,
//!   and the answer comes within `timeoutMs` + 1 s; exit codes, signal deaths, both output
//!   streams and `cwd` still reach the caller through the reaper;
//! - through the real Gateway (`openclaw@2026.9.6`): the setsid attack answers in
//!   time, leaves no survivor and frees the invoke slot; a child's environment holds none of
//!   the node's secrets, and PATH is the sanitised default.

use std::path::Path;
use std::time::{Duration, Instant};

use clawnode_exec::reaper::ReaperCommand;
use clawnode_exec::runner::{self, RunOutcome, RunSpec};
use clawnode_testkit::{ClawnodeProcess, Gateway, Operator, clawnode_bin};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const T: Duration = Duration::from_secs(60);

/// Exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// Polls until `pid` is gone (bounded); kills it if it is not, so a failing test leaks
/// nothing. Returns whether it died on its own.
async fn dies_within(pid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while alive(pid) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = !alive(pid);
    if !dead {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    dead
}

async fn read_pids(path: &Path, n: usize) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids: Vec<i32> = std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        if pids.len() >= n {
            return pids;
        }
        assert!(Instant::now() < deadline, "{}: {pids:?}", path.display());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn reaper() -> Option<ReaperCommand> {
    Some(ReaperCommand::subcommand_of(clawnode_bin().expect("clawnode binary")))
}

fn spec(argv: &[&str]) -> RunSpec {
    RunSpec {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        cwd: None,
        env: vec![],
        path_env: clawnode_exec::policy::DEFAULT_PATH.into(),
        timeout: None,
        max_output: runner::MAX_OUTPUT_BYTES,
        reaper: reaper(),
    }
}

async fn run(s: RunSpec) -> RunOutcome {
    runner::run(s, &CancellationToken::new()).await.expect("not cancelled")
}

/// A shell line that starts a `setsid`'d process and a double-forked one, both writing
/// their pid to `pidfile`, then sleeps.
fn escaping_tree(pidfile: &Path) -> String {
    let f = pidfile.display();
    format!(
        "setsid sh -c 'echo $$ >> {f}; exec sleep 47' & \
         (sh -c 'echo $$ >> {f}; exec sleep 48' &) ; \
         sleep 30"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaper_passes_output_exit_codes_and_cwd() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(&["sh", "-c", "pwd; echo \"$0 $1\"; echo err >&2; exit 3", "zero", "one two"]);
    s.cwd = Some(dir.path().to_path_buf());
    s.env = vec![("GREETING".into(), "hi".into())];
    let o = run(s).await;
    let canon = std::fs::canonicalize(dir.path()).unwrap();
    assert_eq!(o.stdout, format!("{}\nzero one two\n", canon.display()), "{o:?}");
    assert_eq!(o.stderr, "err\n");
    assert_eq!(o.exit_code, Some(3));
    assert!(!o.timed_out);
    assert_eq!(o.error, None);
    // argv[0] is the caller's, and the program is the resolved one.
    let o = run(spec(&["sh", "-c", "echo $0"])).await;
    assert_eq!((o.stdout.as_str(), o.exit_code), ("sh\n", Some(0)));
    // A signal death is `exitCode: null`, not 128+n.
    let o = run(spec(&["sh", "-c", "kill -TERM $$"])).await;
    assert_eq!(o.exit_code, None, "{o:?}");
    assert!(!o.timed_out);
    let o = run(spec(&["sh", "-c", "exit 130"])).await;
    assert_eq!(o.exit_code, Some(130));
    // The command cannot start: an error, as without the reaper.
    let o = run(spec(&["/nonexistent/definitely-not-here"])).await;
    assert!(o.error.as_deref().is_some_and(|e| e.contains("cannot start /nonexistent/definitely-not-here")), "{o:?}");
    // Large output passes through the reaper's inherited pipes (cut at the cap).
    let o = run(spec(&["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"])).await;
    assert!(o.truncated);
    assert_eq!(o.stdout.len(), runner::MAX_OUTPUT_BYTES + runner::TRUNCATION_MARKER.len());
}

/// The reaper is started with the cleared environment and passes it through: this test
/// process's own variables (cargo's `CARGO_*`, anything else) never reach the command.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaper_passes_only_the_child_environment() {
    assert!(std::env::var_os("CARGO_MANIFEST_DIR").is_some(), "cargo sets it for tests");
    let mut s = spec(&["env"]);
    s.env = vec![("FOO".into(), "bar".into())];
    let o = run(s).await;
    let keys: Vec<&str> = o.stdout.lines().filter_map(|l| l.split_once('=').map(|(k, _)| k)).collect();
    let allowed = ["HOME", "LANG", "TERM", "TZ", "USER", "LOGNAME", "PATH", "FOO"];
    for k in &keys {
        assert!(allowed.contains(k) || k.starts_with("LC_"), "{k} leaked: {}", o.stdout);
    }
    assert!(o.stdout.contains(&format!("PATH={}\n", clawnode_exec::policy::DEFAULT_PATH)), "{}", o.stdout);
    assert!(o.stdout.contains("FOO=bar\n"));
}

/// Attack (issue #12): `sh -c "setsid sleep 47 & sleep 30"` with a 1 s timeout. Before: no
/// answer until the Gateway's timeout, the setsid'd child survived. Now: the answer within
/// timeout + 1 s and every descendant (setsid'd, double-forked) dead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_kills_setsid_and_double_forked_descendants() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let tree = escaping_tree(&pidfile);
    let mut s = spec(&["sh", "-c", &tree]);
    s.timeout = Some(Duration::from_millis(1000));
    let started = Instant::now();
    let o = run(s).await;
    let took = started.elapsed();
    eprintln!("reaper timeout answer after {took:?}");
    assert!(o.timed_out, "{o:?}");
    assert_eq!(o.exit_code, None);
    assert!(took < Duration::from_millis(2000), "answer after {took:?}");
    for pid in read_pids(&pidfile, 2).await {
        assert!(dies_within(pid, Duration::from_millis(500)).await, "descendant {pid} survived the timeout");
    }
}

/// Cancellation (the Gateway's invoke deadline, a dropped handler) kills the same tree.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_and_drop_kill_setsid_and_double_forked_descendants() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let tree = escaping_tree(&pidfile);
    // Cancellation token.
    let cancel = CancellationToken::new();
    let run = tokio::spawn({
        let s = spec(&["sh", "-c", &tree]);
        let cancel = cancel.clone();
        async move { runner::run(s, &cancel).await }
    });
    let pids = read_pids(&pidfile, 2).await;
    let started = Instant::now();
    cancel.cancel();
    assert!(run.await.unwrap().is_none());
    assert!(started.elapsed() < Duration::from_secs(1), "cancel took {:?}", started.elapsed());
    for pid in pids {
        assert!(dies_within(pid, Duration::from_millis(500)).await, "descendant {pid} survived the cancel");
    }
    // Dropping the run (an aborted handler) closes the reaper's control socket.
    std::fs::remove_file(&pidfile).unwrap();
    let run = tokio::spawn({
        let s = spec(&["sh", "-c", &tree]);
        async move { runner::run(s, &CancellationToken::new()).await }
    });
    let pids = read_pids(&pidfile, 2).await;
    run.abort();
    let _ = run.await;
    for pid in pids {
        assert!(dies_within(pid, Duration::from_secs(1)).await, "descendant {pid} survived the drop");
    }
}

/// The node dies (crash, SIGKILL): its end of the control socket closes and the reaper
/// kills the tree on its own. Simulated by driving the reaper directly and dropping the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reaper_kills_the_tree_when_the_node_goes_away() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pids");
    let r = reaper().unwrap();
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut reaper = std::process::Command::new(&r.program)
        .args(&r.args)
        .args(["/bin/sh", "sh", "-c", &escaping_tree(&pidfile)])
        .env_clear()
        .stdin(std::os::fd::OwnedFd::from(theirs))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pids = read_pids(&pidfile, 2).await;
    drop(ours);
    let deadline = Instant::now() + Duration::from_secs(2);
    while reaper.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the reaper did not finish");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for pid in pids {
        assert!(dies_within(pid, Duration::from_millis(200)).await, "descendant {pid} survived the node");
    }
}

/// Concurrent runs: one run's timeout kills its own tree only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_runs_are_contained_separately() {
    let dir = tempfile::tempdir().unwrap();
    let (fa, fb) = (dir.path().join("a"), dir.path().join("b"));
    let mut a = spec(&["sh", "-c", &escaping_tree(&fa)]);
    a.timeout = Some(Duration::from_millis(500));
    let b = tokio::spawn({
        let line = format!("setsid sh -c 'echo $$ >> {}; exec sleep 30' & sleep 2", fb.display());
        let mut s = spec(&["sh", "-c", &line]);
        s.timeout = Some(Duration::from_secs(20));
        async move { runner::run(s, &CancellationToken::new()).await }
    });
    let b_pid = read_pids(&fb, 1).await[0];
    let o = run(a).await;
    assert!(o.timed_out);
    for pid in read_pids(&fa, 2).await {
        assert!(dies_within(pid, Duration::from_millis(500)).await, "{pid} survived");
    }
    assert!(alive(b_pid), "the other run's setsid'd child was killed");
    let o = b.await.unwrap().unwrap();
    assert_eq!(o.exit_code, Some(0), "{o:?}");
    // b exited normally: its setsid'd child is left alone (runner docs); `dies_within`
    // reports it alive and ends it.
    assert!(!dies_within(b_pid, Duration::ZERO).await, "a normal exit killed the background");
}

fn node_error(e: &clawnode_testkit::OperatorError) -> String {
    let shape = e.shape().unwrap_or_else(|| panic!("not a gateway error: {e}"));
    let d = shape.details.clone().unwrap_or(Value::Null);
    d["nodeError"]["message"].as_str().unwrap_or(&shape.message).to_string()
}

/// The attacks through the real Gateway, against one `clawnode run` whose own
/// environment carries secrets (as a systemd env file gives them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_setsid_timeout_and_cleared_environment() {
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_string();
    let work = tempfile::tempdir().unwrap();
    let marker_token = format!("tok-{}", clawnode_testkit::random_hex(12));
    let marker_secret = format!("sec-{}", clawnode_testkit::random_hex(12));

    let url = gw.ws_url();
    let args = ["run", "--url", &url, "--token", gw.token(), "--state-dir", &state_dir, "--display-name", "contain"];
    let envs = [("OPENCLAW_GATEWAY_TOKEN", marker_token.as_str()), ("CLAWNODE_TEST_SECRET", marker_secret.as_str())];
    let mut node = ClawnodeProcess::spawn(&args, &envs).unwrap();
    node.wait_line("commands await approval", T).await.unwrap();
    let node_id = op.approve_next_surface(T).await.unwrap();
    node.wait_line("ready: node", T).await.unwrap();

    // security=full through the Gateway.
    op.allow_all_exec(&node_id).await.unwrap();

    // The Gateway's own round trip, for the record.
    let started = Instant::now();
    let r = op.node_invoke(&node_id, "system.run", json!({"command": ["true"]}), 15_000).await.unwrap();
    assert_eq!(r["payload"]["exitCode"], 0, "{r}");
    eprintln!("baseline: node.invoke of `true` answered after {:?}", started.elapsed());

    // Attack: setsid'd child + timeoutMs 1000.
    let pidfile = work.path().join("setsid.pid");
    let line = format!("setsid sh -c 'echo $$ > {}; exec sleep 47' & sleep 30", pidfile.display());
    let started = Instant::now();
    let r =
        op.node_invoke(&node_id, "system.run", json!({"command": ["sh", "-c", line], "timeoutMs": 1000}), 15_000).await;
    let took = started.elapsed();
    eprintln!("setsid attack: node.invoke answered after {took:?}");
    let r = r.unwrap_or_else(|e| panic!("no answer after {took:?}: {e}"));
    assert_eq!(r["payload"]["timedOut"], true, "{r}");
    assert_eq!(r["payload"]["success"], false);
    assert!(took < Duration::from_millis(2500), "answer after {took:?}");
    let pid = read_pids(&pidfile, 1).await[0];
    assert!(dies_within(pid, Duration::from_secs(1)).await, "setsid'd {pid} survived the timeout");
    // The slot is free: the next invoke answers at once.
    let started = Instant::now();
    let r = op.node_invoke(&node_id, "system.run", json!({"command": ["echo", "next"]}), 15_000).await.unwrap();
    assert_eq!(r["payload"]["stdout"], "next\n", "{r}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Attack: the node's secrets in a child's environment.
    let r = op.node_invoke(&node_id, "system.run", json!({"command": ["env"]}), 15_000).await.unwrap();
    let out = r["payload"]["stdout"].as_str().unwrap().to_string();
    assert!(!out.contains(&marker_token), "Gateway token leaked: {out}");
    assert!(!out.contains(&marker_secret), "CLAWNODE_ secret leaked: {out}");
    assert!(!out.contains("OPENCLAW_") && !out.contains("CLAWNODE_"), "{out}");
    let path: Vec<&str> = out.lines().filter(|l| l.starts_with("PATH=")).collect();
    assert_eq!(path, [format!("PATH={}", clawnode_exec::policy::DEFAULT_PATH)], "{out}");
    // An override naming the node's keys never gets them in.
    let e = op
        .node_invoke(
            &node_id,
            "system.run",
            json!({"command": ["env"], "env": {"OPENCLAW_GATEWAY_TOKEN": "x", "CLAWNODE_TEST_SECRET": "y"}}),
            15_000,
        )
        .await;
    match e {
        Err(e) => assert!(node_error(&e).contains("environment override rejected"), "{e}"),
        Ok(r) => {
            let p = &r["payload"];
            assert!(p["error"].as_str().is_some_and(|m| m.contains("environment override rejected")), "{r}");
            assert_eq!(p["stdout"], "", "{r}");
        }
    }

    node.terminate().await.unwrap();
    op.close().await;
}
