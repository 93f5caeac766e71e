//! The managed SSH tunnel against a local attacker, with a stand-in `ssh`
//! (`$CLAWNODE_SSH`: a script that records its argv, environment and pid, then sleeps
//! without forwarding anything). No Gateway and no sshd are needed.
//!
//! - Hijack race (issue #12): the attacker reads the forward from ssh's argv (as from
//!   `/proc/<pid>/cmdline`) and, when it names a TCP port, binds it first and plays
//!   Gateway (upgrade + `connect.challenge`). The former scheme (`-L 127.0.0.1:<free
//!   port>:…`, "up" = "the port accepts") handed it the connect frame with the token;
//!   now the forward is a socket in a 0700 directory and the node dials no TCP at all.
//! - Something other than our ssh at the socket path (a regular file; a listener of
//!   another process) is refused, exit 78, and no byte is written to it.
//! - `--ssh` and `[ssh]` never take `OPENCLAW_GATEWAY_TOKEN`: exit 78 before ssh starts.
//! - ssh's environment carries no `OPENCLAW_*`/`CLAWNODE_*` variable.
//! - `service install --ssh --token …` hands the token over as a 0600 `--token-file`.
//! - The transport refuses a tunnel socket whose listener runs as another user (as root).

use std::net::IpAddr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clawnode_testkit::{ClawnodeProcess, InstalledUnit, service_install};
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

const T: Duration = Duration::from_secs(30);
const MARKER: &str = "race-marker-token-5f0c2b";
const REMOTE: &str = "18789";

/// A stand-in ssh in `dir`: writes `pid`, `env` and `argv` (one argument per line), then
/// sleeps as the same process.
fn stand_in(dir: &Path) -> PathBuf {
    let script = dir.join("fake-ssh");
    let d = dir.display();
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho $$ > {d}/pid\nenv > {d}/env\nprintf '%s\\n' \"$@\" > {d}/argv.tmp\nmv {d}/argv.tmp {d}/argv\nexec sleep 60\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

async fn wait_file(path: &Path, timeout: Duration) -> Option<String> {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if let Ok(s) = std::fs::read_to_string(path) {
            return Some(s);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// The value after `-L` in a recorded argv.
fn forward_of(argv: &str) -> String {
    let args: Vec<&str> = argv.lines().collect();
    let i = args.iter().position(|a| *a == "-L").expect("a -L forward");
    args[i + 1].to_string()
}

/// The local TCP port of a forward spec, if its local end is TCP (`[addr:]port:host:port`).
fn tcp_port_of(forward: &str) -> Option<u16> {
    let parts: Vec<&str> = forward.split(':').collect();
    match parts.as_slice() {
        [addr, port, _, _] if addr.parse::<IpAddr>().is_ok() || *addr == "localhost" => port.parse().ok(),
        [port, _, _] => port.parse().ok(),
        _ => None,
    }
}

fn node_args(state: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["run", "--ssh", "pi@gateway.invalid", "--remote-port", REMOTE, "--state-dir"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    v.push(state.to_str().unwrap().to_string());
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn spawn(args: &[String], envs: &[(&str, &str)]) -> ClawnodeProcess {
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    ClawnodeProcess::spawn(&argv, envs).unwrap()
}

/// What the attacker saw: connections accepted and every text frame received.
#[derive(Default)]
struct Loot {
    accepted: usize,
    frames: Vec<String>,
}

/// Binds `port` before ssh does and answers like a Gateway (upgrade, challenge).
async fn hijack(port: u16, loot: Arc<Mutex<Loot>>) {
    let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.expect("the attacker binds the free port");
    loop {
        let Ok((tcp, _)) = l.accept().await else { return };
        loot.lock().unwrap().accepted += 1;
        let loot = loot.clone();
        tokio::spawn(async move {
            let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else { return };
            let challenge = json!({"type": "event", "event": "connect.challenge",
                "payload": {"nonce": "6f1c2d3e-4b5a-4c6d-8e7f-0123456789ab", "ts": 1_765_000_000_000u64}});
            let _ = ws.send(Message::text(challenge.to_string())).await;
            while let Some(Ok(m)) = ws.next().await {
                if let Message::Text(t) = m {
                    loot.lock().unwrap().frames.push(t.to_string());
                }
            }
        });
    }
}

fn pid_gone(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    // Gone, or a zombie awaiting its parent.
    stat.is_empty() || stat.rsplit(')').next().is_some_and(|r| r.trim_start().starts_with('Z'))
}

/// Issue #12 "SSH tunnel hijack": no credential byte reaches a listener the attacker
/// controls, and the node opens no TCP connection for a tunnel. Fails with the former
/// `-L 127.0.0.1:<free port>` scheme (the attacker receives the connect frame).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnel_hijack_race_leaks_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ssh = stand_in(dir.path());
    let state = dir.path().join("state");
    let mut node = spawn(&node_args(&state, &["--token", MARKER]), &[("CLAWNODE_SSH", ssh.to_str().unwrap())]);
    let argv = wait_file(&dir.path().join("argv"), T).await.expect("the stand-in ssh ran");
    let forward = forward_of(&argv);
    let loot = Arc::new(Mutex::new(Loot::default()));
    // The attacker: whatever TCP port the forward names, bind it first.
    let attacker = tcp_port_of(&forward).map(|port| tokio::spawn(hijack(port, loot.clone())));
    tokio::time::sleep(Duration::from_secs(5)).await;
    {
        let loot = loot.lock().unwrap();
        let leaked: Vec<&String> = loot.frames.iter().filter(|f| f.contains(MARKER)).collect();
        assert!(leaked.is_empty(), "the attacker received the token: {leaked:?}");
        assert_eq!(loot.accepted, 0, "the node connected to the attacker's port; lines: {:#?}", node.lines());
    }
    assert!(attacker.is_none(), "the forward must not be a TCP port: {forward}");
    // The forward is the private socket; nothing counts as "up" while ssh does not serve it.
    let sock = state.join("tunnel").join("gateway.sock");
    assert_eq!(forward, format!("{}:127.0.0.1:{REMOTE}", sock.display()));
    let mode = std::fs::metadata(state.join("tunnel")).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o700);
    for o in ["StreamLocalBindUnlink=yes", "StreamLocalBindMask=0177", "ExitOnForwardFailure=yes"] {
        assert!(argv.lines().any(|l| l == o), "{o} in {argv}");
    }
    assert!(!node.lines().iter().any(|l| l.contains("ssh tunnel up")), "{:#?}", node.lines());
    // The node's own sockets: no TCP connection at all (it has nothing to dial).
    let pid = node.pid().unwrap();
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|p| p.display().to_string())
        .collect();
    let tcp_inodes = tcp_socket_inodes();
    let tcp: Vec<&String> = fds.iter().filter(|f| tcp_inodes.iter().any(|i| **f == format!("socket:[{i}]"))).collect();
    assert!(tcp.is_empty(), "the node holds TCP sockets while the tunnel is down: {tcp:?}");
    let ssh_pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
    node.terminate().await.unwrap();
    assert!(pid_gone(&ssh_pid), "ssh is stopped with the node");
    assert!(!sock.exists());
}

/// Inodes of every TCP socket in this network namespace.
fn tcp_socket_inodes() -> Vec<String> {
    let mut v = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(f).unwrap_or_default().lines().skip(1) {
            if let Some(inode) = line.split_whitespace().nth(9) {
                v.push(inode.to_string());
            }
        }
    }
    v
}

/// A regular file, or a listener of another process, at the socket path: refused before
/// a byte is written (a readiness check of "the path exists" or "it accepts" would send
/// the connect frame to it).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnel_socket_not_served_by_ssh_is_refused() {
    for case in ["regular file", "foreign listener"] {
        let dir = tempfile::tempdir().unwrap();
        let ssh = stand_in(dir.path());
        let state = dir.path().join("state");
        let mut node = spawn(&node_args(&state, &["--token", MARKER]), &[("CLAWNODE_SSH", ssh.to_str().unwrap())]);
        let argv = wait_file(&dir.path().join("argv"), T).await.expect("the stand-in ssh ran");
        let sock = PathBuf::from(forward_of(&argv).split(':').next().unwrap());
        assert_eq!(sock, state.join("tunnel").join("gateway.sock"));
        let received = Arc::new(Mutex::new((0usize, Vec::<u8>::new())));
        let _listener = match case {
            "regular file" => {
                std::fs::write(&sock, b"").unwrap();
                None
            }
            _ => {
                // Same uid as the node here (the test plays "another process"), mode 0600
                // as ssh would leave it: only the listener's pid gives it away.
                let l = tokio::net::UnixListener::bind(&sock).unwrap();
                std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600)).unwrap();
                let r = received.clone();
                Some(tokio::spawn(async move {
                    use tokio::io::AsyncReadExt as _;
                    loop {
                        let Ok((mut s, _)) = l.accept().await else { return };
                        r.lock().unwrap().0 += 1;
                        let r = r.clone();
                        tokio::spawn(async move {
                            let mut buf = [0u8; 4096];
                            while let Ok(n) = s.read(&mut buf).await {
                                if n == 0 {
                                    break;
                                }
                                r.lock().unwrap().1.extend_from_slice(&buf[..n]);
                            }
                        });
                    }
                }))
            }
        };
        let st = node.wait_exit(T).await.unwrap();
        assert_eq!(st.code(), Some(78), "{case}: {:?}", node.lines());
        let lines = node.lines().join("\n");
        let why = if case == "regular file" { "is a regular file, not a socket" } else { "not by ssh (pid" };
        assert!(
            lines.contains("paused: ssh tunnel: refusing the tunnel socket") && lines.contains(why),
            "{case}: {lines}"
        );
        assert!(!lines.contains("ssh tunnel up"), "{case}: {lines}");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (accepted, bytes) = received.lock().unwrap().clone();
        assert!(bytes.is_empty(), "{case}: bytes reached the foreign listener: {:?}", String::from_utf8_lossy(&bytes));
        assert!(accepted <= 1, "{case}: only the readiness probe may connect ({accepted})");
        let ssh_pid = std::fs::read_to_string(dir.path().join("pid")).unwrap();
        assert!(pid_gone(&ssh_pid), "{case}: ssh is stopped");
        if case == "regular file" {
            assert!(sock.is_file(), "a file that is not a socket is never deleted");
        }
    }
}

/// remote-access.md §4: an explicit target never picks up env credentials. `--ssh` (and
/// `[ssh]` in the config) with only `OPENCLAW_GATEWAY_TOKEN` set: exit 78 before ssh
/// starts, naming the flags. Fails with the former code (the env token was sent).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_target_never_takes_env_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let ssh = stand_in(dir.path());
    let state = dir.path().join("state");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[ssh]\ntarget = \"pi@gateway.invalid\"\nremote_port = {REMOTE}\n")).unwrap();
    let env = [("CLAWNODE_SSH", ssh.to_str().unwrap()), ("OPENCLAW_GATEWAY_TOKEN", MARKER)];
    let from_file: Vec<String> =
        ["run", "--config", config.to_str().unwrap(), "--state-dir", state.to_str().unwrap()].map(String::from).into();
    for args in [node_args(&state, &[]), from_file] {
        let mut node = spawn(&args, &env);
        let st = node.wait_exit(T).await.unwrap();
        assert_eq!(st.code(), Some(78), "{args:?}: {:?}", node.lines());
        let lines = node.lines().join("\n");
        assert!(lines.contains("--ssh needs explicit credentials for ssh://pi@gateway.invalid"), "{lines}");
        assert!(lines.contains("--token-file") && lines.contains("--password"), "{lines}");
        assert!(!lines.contains("starting ssh tunnel"), "{lines}");
        assert!(!dir.path().join("argv").exists(), "ssh must not start: {args:?}");
    }
}

/// ssh gets no `OPENCLAW_*`/`CLAWNODE_*` variable (the Gateway token may be among them)
/// and no secret on its command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_child_gets_no_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let ssh = stand_in(dir.path());
    let state = dir.path().join("state");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "file-token-7d1e").unwrap();
    let env = [
        ("CLAWNODE_SSH", ssh.to_str().unwrap()),
        ("OPENCLAW_GATEWAY_TOKEN", MARKER),
        ("OPENCLAW_GATEWAY_PASSWORD", MARKER),
    ];
    let mut node = spawn(&node_args(&state, &["--token-file", token_file.to_str().unwrap()]), &env);
    let child_env = wait_file(&dir.path().join("env"), T).await.expect("the stand-in ssh ran");
    let argv = wait_file(&dir.path().join("argv"), T).await.unwrap();
    node.terminate().await.unwrap();
    assert!(!child_env.contains(MARKER), "{child_env}");
    for line in child_env.lines() {
        assert!(!line.starts_with("OPENCLAW_") && !line.starts_with("CLAWNODE_"), "{line}");
    }
    assert!(child_env.lines().any(|l| l.starts_with("PATH=")), "ssh keeps the rest: {child_env}");
    assert!(!argv.contains("file-token-7d1e") && !argv.contains(MARKER), "{argv}");
}

/// `service install --ssh … --token …`: the token reaches the unit as a 0600
/// `--token-file` in the state directory (the env file's OPENCLAW_GATEWAY_TOKEN would be
/// refused for a tunnel target), never on the command line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_install_ssh_passes_a_token_file() {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("units");
    let state = dir.path().join("state");
    let args = ["--ssh", "pi@gateway.invalid", "--token", "svc-s3cret-9a", "--state-dir", state.to_str().unwrap()];
    let InstalledUnit { unit, env, .. } = service_install(&units, &args).await.unwrap();
    let token_file = state.join("ssh-gateway-token");
    assert!(!unit.contains("svc-s3cret-9a") && !env.contains("svc-s3cret-9a"), "{unit}\n{env}");
    assert!(unit.contains(&format!("--token-file {}", token_file.display())), "{unit}");
    assert_eq!(std::fs::read_to_string(&token_file).unwrap().trim(), "svc-s3cret-9a");
    assert_eq!(std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777, 0o600);
}

/// The transport's own check on every connect through a tunnel socket: a socket whose
/// listener runs as another user is refused (`ForeignSocket`, terminal) before a byte is
/// written. The other user's listener is a `clawnode run` started as `nobody` (its control
/// socket). Needs root and `setpriv`; skipped otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transport_refuses_a_socket_of_another_user() {
    let root = std::process::Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if !root || !Path::new("/usr/bin/setpriv").exists() {
        eprintln!("skipped: needs root and setpriv");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = dir.path().join("clawnode");
    std::fs::copy(clawnode_testkit::clawnode_bin().unwrap(), &bin).unwrap();
    let state = dir.path().join("nobody-state");
    std::fs::create_dir(&state).unwrap();
    std::fs::set_permissions(&state, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
    let mut other = std::process::Command::new("/usr/bin/setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&bin)
        .args(["run", "--url", "ws://127.0.0.1:9", "--token", "x", "--on-pause", "wait", "--state-dir"])
        .arg(&state)
        .env_remove("OPENCLAW_GATEWAY_TOKEN")
        .env("HOME", &state)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let sock = state.join("control.sock");
    let deadline = Instant::now() + T;
    while !sock.exists() {
        assert!(Instant::now() < deadline, "the other user's node did not bind its socket");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cfg = clawnode::transport::TransportConfig {
        unix_socket: Some(sock.clone()),
        ..clawnode::transport::TransportConfig::default()
    };
    let ep = clawnode::endpoint::Endpoint::parse("ws://127.0.0.1:18789").unwrap();
    let r = clawnode::transport::open_stream(&ep, &cfg).await;
    let _ = other.kill();
    let _ = other.wait();
    match r {
        Err(e @ clawnode::transport::TransportError::ForeignSocket { uid: 65534, .. }) => assert!(e.is_terminal()),
        Err(e) => panic!("expected ForeignSocket, got {e}"),
        Ok(_) => panic!("a socket of another user was accepted"),
    }
}
