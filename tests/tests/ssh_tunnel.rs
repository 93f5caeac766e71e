//! `clawnode run --ssh …`: a managed SSH tunnel through a real `sshd` (Debian's
//! openssh-server, started here on a loopback port with generated host and user keys) to
//! the real Gateway (`openclaw@2026.9.6`):
//!
//! - the node pairs and serves invokes through the tunnel; ssh forwards a Unix socket in
//!   the state directory's 0700 `tunnel/` (no local TCP port: argv has `-L
//!   <state>/tunnel/gateway.sock:127.0.0.1:<port>` and nothing listens on TCP for it); its
//!   device token is bound to the tunnel's remote target and is used on restart;
//! - killing the `ssh` process is survived (the tunnel restarts, the node reconnects);
//! - a wrong user key gives the authentication error and a pause (exit 78), no retries.
//!
//! Needs root (sshd) and `/usr/sbin/sshd` (`cargo xtask test` installs openssh-server).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);

struct Sshd {
    _child: clawnode_testkit::KillOnDrop,
    port: u16,
}

fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "clawnode-test", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("ssh-keygen runs");
    assert!(st.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn start_sshd(dir: &Path, authorized: &Path) -> Sshd {
    assert!(Path::new("/usr/sbin/sshd").exists(), "openssh-server is required (cargo xtask test installs it)");
    std::fs::create_dir_all("/run/sshd").unwrap();
    let host_key = dir.join("host_ed25519");
    keygen(&host_key);
    let port = free_port();
    let cfg = dir.join("sshd_config");
    std::fs::write(
        &cfg,
        format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\nUsePAM no\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             PermitRootLogin prohibit-password\nStrictModes no\nAllowTcpForwarding yes\n\
             PidFile {}\nLogLevel ERROR\n",
            host_key.display(),
            authorized.display(),
            dir.join("sshd.pid").display()
        ),
    )
    .unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sshd starts");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(std::time::Instant::now() < deadline, "sshd did not listen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // known_hosts for this server.
    let pubkey = std::fs::read_to_string(dir.join("host_ed25519.pub")).unwrap();
    let mut parts = pubkey.split_whitespace();
    let line = format!("[127.0.0.1]:{port} {} {}\n", parts.next().unwrap(), parts.next().unwrap());
    std::fs::write(dir.join("known_hosts"), line).unwrap();
    Sshd { _child: clawnode_testkit::KillOnDrop(child), port }
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn count(p: &ClawnodeProcess, needle: &str) -> usize {
    p.lines().iter().filter(|l| l.contains(needle)).count()
}

async fn wait_count(p: &ClawnodeProcess, needle: &str, n: usize) {
    let deadline = std::time::Instant::now() + T;
    while count(p, needle) < n {
        assert!(std::time::Instant::now() < deadline, "waiting for {n}× {needle:?}: {:#?}", p.lines());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn ssh_pid(p: &ClawnodeProcess) -> u32 {
    let line = p.lines().into_iter().rev().find(|l| l.contains("ssh pid ")).unwrap();
    line.split("ssh pid ").nth(1).unwrap().trim_end_matches(')').trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_through_managed_ssh_tunnel() {
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("user_ed25519");
    let wrong = dir.path().join("wrong_ed25519");
    keygen(&key);
    keygen(&wrong);
    let authorized = dir.path().join("authorized_keys");
    std::fs::copy(dir.path().join("user_ed25519.pub"), &authorized).unwrap();
    let sshd = start_sshd(dir.path(), &authorized).await;

    let state = dir.path().join("state");
    let state_dir = state.to_str().unwrap().to_string();
    let target = format!("{}@127.0.0.1:{}", user(), sshd.port);
    let remote = gw.port().to_string();
    let kh = format!("UserKnownHostsFile={}", dir.path().join("known_hosts").display());
    let key_s = key.to_str().unwrap().to_string();
    let base: Vec<String> = [
        "run",
        "--ssh",
        &target,
        "--remote-port",
        &remote,
        "--ssh-option",
        &kh,
        "--ssh-option",
        "StrictHostKeyChecking=yes",
        "--state-dir",
        &state_dir,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let with = |extra: &[&str]| -> Vec<String> {
        let mut v = base.clone();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    // A wrapper that records ssh's argv and execs the real ssh (same pid: the listener
    // must be the process clawnode started).
    let wrapper = dir.path().join("ssh-wrapper");
    let argv_log = dir.path().join("ssh-argv");
    std::fs::write(&wrapper, format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > {}\nexec ssh \"$@\"\n", argv_log.display()))
        .unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let ssh_env = [("CLAWNODE_SSH", wrapper.to_str().unwrap())];
    let args = with(&["--ssh-identity", &key_s, "--token", gw.token()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut node = ClawnodeProcess::spawn(&argv, &ssh_env).unwrap();
    let sock = state.join("tunnel").join("gateway.sock");
    let up = node.wait_line("ssh tunnel up: ", T).await.unwrap();
    assert!(up.contains(&format!("ssh tunnel up: {} → ssh://", sock.display())), "{up}");
    let ssh_argv: Vec<String> = std::fs::read_to_string(&argv_log).unwrap().lines().map(String::from).collect();
    let forwards: Vec<&String> =
        ssh_argv.iter().zip(ssh_argv.iter().skip(1)).filter(|(a, _)| *a == "-L").map(|(_, f)| f).collect();
    assert_eq!(forwards, [&format!("{}:127.0.0.1:{remote}", sock.display())], "{ssh_argv:?}");
    assert!(!ssh_argv.iter().any(|a| a.starts_with("127.0.0.1:")), "no TCP forward: {ssh_argv:?}");
    {
        use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
        let m = std::fs::symlink_metadata(&sock).unwrap();
        assert!(m.file_type().is_socket());
        assert_eq!(m.permissions().mode() & 0o777, 0o600, "StreamLocalBindMask=0177");
        let d = std::fs::metadata(state.join("tunnel")).unwrap();
        assert_eq!(d.permissions().mode() & 0o7777, 0o700);
    }
    node.wait_line("commands await approval", T).await.unwrap();
    let node_id = op.approve_next_surface(T).await.unwrap();
    node.wait_line("ready: node", T).await.unwrap();
    let r = op.node_invoke(&node_id, "system.which", json!({"bins": ["sh"]}), 10_000).await.unwrap();
    assert!(r["payload"]["bins"]["sh"].is_string(), "{r}");

    // The device token is bound to the tunnel's remote target.
    let tokens: Value = serde_json::from_slice(&std::fs::read(state.join("device-tokens.json")).unwrap()).unwrap();
    let entry = tokens["tokens"].as_object().unwrap().values().next().unwrap().clone();
    assert_eq!(entry["origin"], format!("ssh://{target}/127.0.0.1:{remote}"), "{tokens}");

    // Killing ssh is survived: the tunnel restarts and the node reconnects.
    let ready_before = count(&node, "ready: node");
    let pid = ssh_pid(&node);
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    node.wait_line("ssh tunnel down", T).await.unwrap();
    node.wait_line("ssh tunnel up again", T).await.unwrap();
    wait_count(&node, "ready: node", ready_before + 1).await;
    assert_ne!(ssh_pid(&node), pid);
    let r = op.node_invoke(&node_id, "system.which", json!({"bins": ["sh"]}), 10_000).await.unwrap();
    assert!(r["payload"]["bins"]["sh"].is_string(), "{r}");
    let st = node.terminate().await.unwrap();
    assert!(st.success(), "{st:?}");
    assert!(!sock.exists(), "the socket is removed with the tunnel");

    // Restarted without --token (a new ssh, a new socket): the stored device token is used.
    let args = with(&["--ssh-identity", &key_s]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut node = ClawnodeProcess::spawn(&argv, &[]).unwrap();
    let ready = node.wait_line("ready: node", T).await.unwrap();
    assert!(ready.contains("auth: device-token"), "{ready}");
    node.terminate().await.unwrap();

    // A wrong user key: the authentication error, a pause, no retry storm.
    let wrong_s = wrong.to_str().unwrap().to_string();
    let args = with(&["--ssh-identity", &wrong_s, "--token", gw.token()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut bad = ClawnodeProcess::spawn(&argv, &[]).unwrap();
    let st = bad.wait_exit(T).await.unwrap();
    assert_eq!(st.code(), Some(78), "{:?}", bad.lines());
    assert!(bad.lines().iter().any(|l| l.contains("paused: ssh tunnel: ssh authentication")), "{:?}", bad.lines());
    assert_eq!(count(&bad, "starting ssh tunnel"), 1);

    // An unknown host key (empty known_hosts) is refused the same way.
    let empty_kh = dir.path().join("empty_known_hosts");
    std::fs::write(&empty_kh, "").unwrap();
    let mut args = with(&["--ssh-identity", &key_s, "--token", gw.token()]);
    let pos = args.iter().position(|a| a.starts_with("UserKnownHostsFile=")).unwrap();
    args[pos] = format!("UserKnownHostsFile={}", empty_kh.display());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut bad = ClawnodeProcess::spawn(&argv, &[]).unwrap();
    let st = bad.wait_exit(T).await.unwrap();
    assert_eq!(st.code(), Some(78), "{:?}", bad.lines());
    assert!(bad.lines().iter().any(|l| l.contains("host key of 127.0.0.1 is unknown")), "{:?}", bad.lines());

    // Nothing listens on the remote port: a plain message, the tunnel stays up and retries.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    let mut args = with(&["--ssh-identity", &key_s, "--token", gw.token()]);
    let pos = args.iter().position(|a| a == &remote).unwrap();
    args[pos] = closed.clone();
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut nl = ClawnodeProcess::spawn(&argv, &[]).unwrap();
    let line = nl.wait_line("is not listening", T).await.unwrap();
    assert!(line.contains(&format!("Gateway port {closed} on 127.0.0.1")), "{line}");
    assert!(nl.is_running());
    nl.terminate().await.unwrap();

    op.close().await;
    // ssh clients are gone (clawnode stopped them); now the listener.
    drop(sshd);
}
