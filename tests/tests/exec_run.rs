//! `system.run` and exec approvals of the `clawnode` binary against the real Gateway
//! (`openclaw@2026.9.6`), invoked directly by an admin operator (errata §8):
//!
//! - deny by default: nothing runs before `clawnode exec allow`;
//! - an allowlisted command returns its output; a command outside the allowlist gives
//!   `SYSTEM_RUN_DENIED`; blocked environment overrides and a mismatched `rawCommand` are
//!   refused;
//! - 200 kB+ of output is cut at 200 000 bytes with the truncation marker;
//! - `timeoutMs` kills the whole process tree (a grandchild's pid is checked);
//! - `exec.approvals.node.get/set` round trip through the Gateway, a stale `baseHash` refused;
//! - issue #12: the walk-arounds of the exec policy (`env BASH_FUNC_…`, `env -S` variants,
//!   `flock --wait … -c`, `..` paths, `TAR_OPTIONS`/`GIT_CONFIG_*`, `sh -ec`, `sudo`) are
//!   refused and their marker file never appears; so are `bash -k`/`-o keyword` (arguments
//!   that become assignments) and `GIT_TEST_FSMONITOR` under an allowlisted `git status`.

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

/// Exists and is not a zombie.
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

async fn exec_cli(args: &[&str]) -> Vec<String> {
    let mut p = ClawnodeProcess::spawn(args, &[]).unwrap();
    let st = p.wait_exit(Duration::from_secs(30)).await.unwrap();
    assert!(st.success(), "{args:?}: {:?}", p.lines());
    p.lines()
}

fn node_error(e: &clawnode_testkit::OperatorError) -> (String, String) {
    let shape = e.shape().unwrap_or_else(|| panic!("not a gateway error: {e}"));
    let d = shape.details.clone().unwrap_or(Value::Null);
    (
        d["nodeError"]["code"].as_str().unwrap_or(&shape.code).to_string(),
        d["nodeError"]["message"].as_str().unwrap_or(&shape.message).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn system_run_with_exec_approvals() {
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_string();
    let work = tempfile::tempdir().unwrap();
    let scripts = work.path().join("bin");
    std::fs::create_dir(&scripts).unwrap();
    let big = write_script(&scripts, "big.sh", "head -c 250000 /dev/zero | tr '\\0' x");
    let tree = write_script(&scripts, "tree.sh", "sleep 30 &\necho $! > \"$1\"\nwait");
    let hello = write_script(&scripts, "hello.sh", "echo \"hello $*\"; pwd; echo to-stderr >&2; exit 3");

    let url = gw.ws_url();
    let args = ["run", "--url", &url, "--token", gw.token(), "--state-dir", &state_dir, "--display-name", "exec-node"];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    node.wait_line("commands await approval", T).await.unwrap();
    let node_id = op
        .approve_surface_declaring(
            &["system.run", "system.run.prepare", "system.execApprovals.get", "system.execApprovals.set"],
            T,
        )
        .await
        .unwrap();
    node.wait_line("ready: node", T).await.unwrap();

    // Deny by default: no approvals document yet.
    let e = op.node_invoke(&node_id, "system.run", json!({"command": ["uname", "-s"]}), 15_000).await.unwrap_err();
    let (code, message) = node_error(&e);
    assert_eq!(code, "SYSTEM_RUN_DENIED", "{e}");
    assert!(message.contains("security=deny"), "{message}");

    // Allow the scripts and `uname` (bare name: PATH lookups).
    let glob = format!("{}/*.sh", scripts.display());
    exec_cli(&["exec", "allow", &glob, "--state-dir", &state_dir]).await;
    exec_cli(&["exec", "allow", "uname", "--args", "^-[sr]$", "--state-dir", &state_dir]).await;
    let listed = exec_cli(&["exec", "list", "--state-dir", &state_dir]).await;
    assert!(listed.iter().any(|l| l.contains("security allowlist")), "{listed:?}");

    let r = op
        .node_invoke(
            &node_id,
            "system.run",
            json!({"command": ["uname", "-s"], "rawCommand": "uname -s", "runId": "run-1", "sessionKey": "agent:main:main"}),
            15_000,
        )
        .await
        .unwrap();
    let p = &r["payload"];
    assert_eq!(p["stdout"], "Linux\n", "{r}");
    assert_eq!(p["exitCode"], 0);
    assert_eq!(p["success"], true);
    assert_eq!(p["timedOut"], false);

    // Arguments outside argPattern, and commands outside the allowlist, are denied.
    for argv in [json!(["uname", "-a"]), json!(["id"]), json!(["sh", "-c", "uname -s; id"])] {
        let e = op.node_invoke(&node_id, "system.run", json!({"command": argv}), 15_000).await.unwrap_err();
        let (code, message) = node_error(&e);
        assert_eq!(code, "SYSTEM_RUN_DENIED", "{argv}: {e}");
        assert!(message.contains("allowlist miss"), "{message}");
    }
    // A shell payload is analysed segment by segment.
    let r = op.node_invoke(&node_id, "system.run", json!({"command": ["sh", "-c", "uname -s && uname -r"]}), 15_000);
    assert_eq!(r.await.unwrap()["payload"]["exitCode"], 0);
    // Blocked environment overrides and a rawCommand that is not the argv.
    let e = op
        .node_invoke(
            &node_id,
            "system.run",
            json!({"command": ["uname", "-s"], "env": {"LD_PRELOAD": "/x.so"}}),
            15_000,
        )
        .await
        .unwrap_err();
    assert!(node_error(&e).1.contains("environment override rejected (blocked override keys: LD_PRELOAD)"), "{e}");
    let e = op
        .node_invoke(&node_id, "system.run", json!({"command": ["uname", "-s"], "rawCommand": "rm -rf /"}), 15_000)
        .await
        .unwrap_err();
    assert!(node_error(&e).1.contains("rawCommand does not match command"), "{e}");

    // Arguments, cwd, exit code, both streams.
    let r = op
        .node_invoke(&node_id, "system.run", json!({"command": [&hello, "a b"], "cwd": "/tmp"}), 15_000)
        .await
        .unwrap();
    let p = &r["payload"];
    assert_eq!(p["stdout"], "hello a b\n/tmp\n", "{r}");
    assert_eq!(p["stderr"], "to-stderr\n");
    assert_eq!(p["exitCode"], 3);
    assert_eq!(p["success"], false);

    // 200 kB+ of output: the first 200 000 bytes and the marker.
    let r = op.node_invoke(&node_id, "system.run", json!({"command": [&big]}), 20_000).await.unwrap();
    let out = r["payload"]["stdout"].as_str().unwrap();
    assert_eq!(out.len(), 200_000 + "\n... (truncated)".len());
    assert!(out.ends_with("\n... (truncated)"));
    assert!(out.starts_with("xxxx"));

    // timeoutMs kills the whole tree.
    let pidfile = work.path().join("grandchild.pid");
    let started = std::time::Instant::now();
    let r = op
        .node_invoke(
            &node_id,
            "system.run",
            json!({"command": [&tree, pidfile.to_str().unwrap()], "timeoutMs": 1500}),
            20_000,
        )
        .await
        .unwrap();
    assert_eq!(r["payload"]["timedOut"], true, "{r}");
    assert_eq!(r["payload"]["success"], false);
    assert!(started.elapsed() < Duration::from_secs(10));
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(!alive(pid), "grandchild {pid} survived the timeout");

    // The Gateway's invoke deadline cancels the run: the tree is killed too.
    std::fs::remove_file(&pidfile).unwrap();
    let e = op.node_invoke(&node_id, "system.run", json!({"command": [&tree, pidfile.to_str().unwrap()]}), 2_000);
    assert!(e.await.is_err());
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while alive(pid) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!alive(pid), "grandchild {pid} survived the cancellation");

    // exec.approvals.node.get/set through the Gateway, compare-and-swap on the hash.
    let g = op.request("exec.approvals.node.get", json!({"nodeId": node_id})).await.unwrap();
    assert_eq!(g["exists"], true, "{g}");
    let hash = g["hash"].as_str().unwrap().to_string();
    let mut file = g["file"].clone();
    assert_eq!(file["agents"]["*"]["security"], "allowlist", "{g}");
    file["agents"]["*"]["allowlist"].as_array_mut().unwrap().push(json!({"pattern": "id"}));
    let s = op
        .request("exec.approvals.node.set", json!({"nodeId": node_id, "file": file, "baseHash": hash}))
        .await
        .unwrap();
    let new_hash = s["hash"].as_str().unwrap().to_string();
    assert_ne!(new_hash, hash, "{s}");
    let r = op.node_invoke(&node_id, "system.run", json!({"command": ["id", "-u"]}), 15_000).await.unwrap();
    assert_eq!(r["payload"]["exitCode"], 0, "{r}");
    // The stale hash is refused, and the document is unchanged.
    let e = op
        .request("exec.approvals.node.set", json!({"nodeId": node_id, "file": {"version": 1}, "baseHash": hash}))
        .await
        .unwrap_err();
    assert!(format!("{e}").contains("exec approvals changed; reload and retry"), "{e}");
    let g = op.request("exec.approvals.node.get", json!({"nodeId": node_id})).await.unwrap();
    assert_eq!(g["hash"], new_hash.as_str());
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(state.path().join("exec-approvals.json")).unwrap()).unwrap();
    assert_eq!(on_disk["agents"]["*"]["allowlist"].as_array().unwrap().len(), 3);
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state.path().join("exec-approvals.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    walkarounds_are_refused(&op, &node_id, work.path()).await;

    node.terminate().await.unwrap();
    op.close().await;
}

/// Issue #12: with harmless entries (`uname`, `tar`, `git` + `^status$`, `<work>/tools/**`)
/// every way around the policy is refused with `SYSTEM_RUN_DENIED`, and the marker file the
/// attacks try to create never appears.
async fn walkarounds_are_refused(op: &Operator, node_id: &str, work: &Path) {
    let tools = work.join("tools");
    std::fs::create_dir(&tools).unwrap();
    let marker = work.join("MARKER");
    let mk = marker.to_str().unwrap().to_string();
    let g = op.request("exec.approvals.node.get", json!({"nodeId": node_id})).await.unwrap();
    let file = json!({"version": 1, "defaults": {"security": "allowlist", "ask": "off"},
    "agents": {"*": {"allowlist": [
        {"pattern": "uname"}, {"pattern": "tar"}, {"pattern": "git", "argPattern": "^status$"},
        {"pattern": format!("{}/**", tools.display())},
    ]}}});
    op.request("exec.approvals.node.set", json!({"nodeId": node_id, "file": file, "baseHash": g["hash"]}))
        .await
        .unwrap();
    let depth = tools.components().count();
    let dotdot = format!("{}/{}usr/bin/touch", tools.display(), "../".repeat(depth));
    let touch = format!("touch {mk}");
    let fn_def = format!("() {{ touch {mk}; }}");
    let repo = work.join("repo");
    std::fs::create_dir(&repo).unwrap();
    let init = std::process::Command::new("git").args(["init", "-q"]).current_dir(&repo).status().unwrap();
    assert!(init.success());
    let keyword_tar =
        format!("tar -cf /dev/null /dev/null TAR_OPTIONS=\"--checkpoint=1 --checkpoint-action=exec='{touch}'\"");
    let cases: Vec<(&str, Value)> = vec![
        ("env BASH_FUNC_", json!({"command": ["env", format!("BASH_FUNC_uname%%={fn_def}"), "bash", "-c", "uname"]})),
        ("env LD_PRELOAD", json!({"command": ["env", "LD_PRELOAD=/nonexistent.so", "uname"]})),
        ("env -iS", json!({"command": ["env", format!("-iSsh -c '{touch}'"), "uname"]})),
        ("env --sp=", json!({"command": ["env", format!("--sp=sh -c '{touch}'"), "uname"]})),
        ("env -S", json!({"command": ["env", "-S", format!("sh -c '{touch}'"), "uname"]})),
        (
            "flock --wait",
            json!({"command": ["flock", "--wait", "5", "uname", "-c", touch], "cwd": work.to_str().unwrap()}),
        ),
        ("dotdot path", json!({"command": [dotdot, mk]})),
        ("sh -ec", json!({"command": ["sh", "-ec", touch]})),
        ("bash -p -c", json!({"command": ["bash", "-p", "-c", format!("uname; {touch}")]})),
        ("sudo", json!({"command": ["sudo", "-n", "touch", mk]})),
        (
            "TAR_OPTIONS",
            json!({"command": ["tar", "-cf", "/dev/null", "/dev/null"],
                "env": {"TAR_OPTIONS": format!("--checkpoint=1 --checkpoint-action=exec={touch}")}}),
        ),
        (
            "env TAR_OPTIONS",
            json!({"command": ["env", format!("TAR_OPTIONS=--checkpoint=1 --checkpoint-action=exec={touch}"),
                "tar", "-cf", "/dev/null", "/dev/null"]}),
        ),
        (
            "GIT_CONFIG_*",
            json!({"command": ["git", "status"], "cwd": work.to_str().unwrap(), "env": {"GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "core.fsmonitor", "GIT_CONFIG_VALUE_0": touch}}),
        ),
        // `set -k`: the quoted assignment after the arguments becomes tar's environment.
        ("bash -k TAR_OPTIONS", json!({"command": ["bash", "-k", "-c", keyword_tar]})),
        ("bash -o keyword", json!({"command": ["bash", "-o", "keyword", "-c", keyword_tar]})),
        // Release git runs GIT_TEST_FSMONITOR through `sh -c` when core.fsmonitor is unset.
        (
            "GIT_TEST_FSMONITOR",
            json!({"command": ["git", "status"], "cwd": repo.to_str().unwrap(),
                "env": {"GIT_TEST_FSMONITOR": touch}}),
        ),
    ];
    for (attack, params) in cases {
        let e = op.node_invoke(node_id, "system.run", params, 15_000).await;
        let e = e.expect_err(attack);
        let (code, message) = node_error(&e);
        assert!(code == "SYSTEM_RUN_DENIED" || message.contains("SYSTEM_RUN_DENIED"), "{attack}: {code} {message}");
        assert!(!marker.exists(), "{attack}: the marker was created");
    }
    // The harmless forms still run.
    for argv in [
        json!(["env", "LANG=C", "uname", "-s"]),
        json!(["bash", "-ec", "uname -s"]),
        json!(["nice", "-n", "5", "uname", "-s"]),
    ] {
        let r = op.node_invoke(node_id, "system.run", json!({"command": argv}), 15_000).await.unwrap();
        assert_eq!(r["payload"]["stdout"], "Linux\n", "{argv}: {r}");
    }
    assert!(!marker.exists());
}

/// Attack (security=full, i.e. any command): the child reads the node's own initial
/// environment from `/proc/<node pid>/environ` (same uid) and prints
/// `OPENCLAW_GATEWAY_TOKEN`, although the child's environment never holds it. The node
/// marks itself non-dumpable, so that file (and `mem`, ptrace) is closed to its children.
/// Root reads any process's `environ` (CAP_SYS_PTRACE): the check is made for other users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_cannot_read_the_node_environment_from_proc() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let euid = status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|r| r.split_whitespace().nth(1));
    if euid == Some("0") {
        eprintln!("skipped: running as root, which reads every process's environ");
        return;
    }
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let state = tempfile::tempdir().unwrap();
    let state_dir = state.path().to_str().unwrap().to_string();
    let url = gw.ws_url();
    // The token reaches the node by its environment (an explicit `--url` would not take it).
    let args = ["run", "--state-dir", &state_dir, "--display-name", "environ-node"];
    let envs = [("OPENCLAW_GATEWAY_URL", url.as_str()), ("OPENCLAW_GATEWAY_TOKEN", gw.token())];
    let node = ClawnodeProcess::spawn(&args, &envs).unwrap();
    node.wait_line("commands await approval", T).await.unwrap();
    let node_id = op.approve_next_surface(T).await.unwrap();
    node.wait_line("ready: node", T).await.unwrap();
    op.allow_all_exec(&node_id).await.unwrap();
    // Walk up from the child (reaper, then the node) and read every ancestor's environ.
    let script = "p=$$; for i in 1 2 3 4; do p=$(cut -d' ' -f4 /proc/$p/stat); \
                  tr '\\0' '\\n' < /proc/$p/environ 2>/dev/null; done; true";
    let r = op.node_invoke(&node_id, "system.run", json!({"command": ["sh", "-c", script]}), 15_000).await.unwrap();
    let out = r["payload"]["stdout"].as_str().unwrap_or_default();
    assert!(!out.contains(gw.token()), "the Gateway token was read from /proc: {r}");
    assert_eq!(r["payload"]["exitCode"], 0, "{r}");
    drop(node);
}
