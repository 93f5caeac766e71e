//! A local user of another uid squats the loopback Gateway port (attacker model: a local
//! account; it may bind any free loopback port). The plaintext rule admits
//! `ws://127.0.0.1:<port>` (loopback), so when the Gateway is not listening (not started
//! yet, restarting, or on another port) whoever binds that port first would play Gateway:
//! answer the upgrade, send `connect.challenge`, and receive the `connect` frame with
//! `auth.token` and the device id. The node now asks the kernel who owns the accepting
//! socket (`/proc/net/tcp`) before writing a byte, and admits only its own user, root and
//! the `--gateway-user`s it was given: the squatter gets nothing, the node pauses (exit 78)
//! and says which uid serves the port.
//!
//! Needs root (to start the squatter as uid 65534) and `/usr/bin/python3`; skipped with a
//! note otherwise.

use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use clawnode_testkit::ClawnodeProcess;

const MARKER: &str = "squat-marker-token-0b7e41";

/// Binds a free loopback port, prints it, plays Gateway for one connection (upgrade +
/// `connect.challenge`) and prints the first client frame, unmasked, on one line.
const SQUATTER: &str = r#"
import socket, base64, hashlib, json, uuid, time, struct, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.settimeout(20)
req = b""
while b"\r\n\r\n" not in req:
    d = c.recv(4096)
    if not d: sys.exit(0)
    req += d
key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key")][0]
acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n")
p = json.dumps({"type": "event", "event": "connect.challenge", "payload": {"nonce": str(uuid.uuid4()), "ts": int(time.time() * 1000)}}).encode()
c.sendall(bytes([0x81, 126]) + struct.pack(">H", len(p)) + p)
buf = b""
def need(n):
    global buf
    while len(buf) < n:
        d = c.recv(65536)
        if not d: raise SystemExit(0)
        buf += d
need(2); n = buf[1] & 0x7f; i = 2
if n == 126: need(4); n = struct.unpack(">H", buf[2:4])[0]; i = 4
elif n == 127: need(10); n = struct.unpack(">Q", buf[2:10])[0]; i = 10
need(i + 4 + n); m = buf[i:i + 4]
print(bytes(x ^ m[k % 4] for k, x in enumerate(buf[i + 4:i + 4 + n])).decode("utf-8", "replace"), flush=True)
"#;

/// Starts the squatter as uid 65534 and a node with `extra` args pointed at it; returns the
/// first frame the squatter received and the node (exited or still running). `None` when
/// the test cannot run here.
async fn squat(extra: &[&str]) -> Option<(String, Option<std::process::ExitStatus>, ClawnodeProcess)> {
    let python = std::path::Path::new("/usr/bin/python3");
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    if !root || !python.exists() {
        eprintln!("note: loopback squat test skipped (needs root and /usr/bin/python3)");
        return None;
    }
    let mut squatter = Command::new(python)
        .args(["-c", SQUATTER])
        .uid(65534)
        .gid(65534)
        .current_dir("/")
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let out = squatter.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let port = rx.recv_timeout(Duration::from_secs(10)).expect("squatter port");
    let home = tempfile::tempdir().unwrap();
    let state = home.path().join("state");
    let url = format!("ws://127.0.0.1:{port}");
    let home_s = home.path().to_string_lossy().into_owned();
    let state_s = state.to_string_lossy().into_owned();
    let mut args = vec!["run", "--state-dir", &state_s];
    args.extend_from_slice(extra);
    let mut node = ClawnodeProcess::spawn(
        &args,
        &[
            ("HOME", &home_s),
            ("XDG_CONFIG_HOME", &home_s),
            ("OPENCLAW_GATEWAY_URL", &url),
            ("OPENCLAW_GATEWAY_TOKEN", MARKER),
        ],
    )
    .unwrap();
    let got = rx.recv_timeout(Duration::from_secs(15)).unwrap_or_default();
    let status = node.wait_exit(Duration::from_secs(if got.is_empty() { 20 } else { 1 })).await.ok();
    node.kill();
    let _ = squatter.kill();
    let _ = squatter.wait();
    Some((got, status, node))
}

#[tokio::test]
async fn attack_loopback_port_squatter_of_another_uid_gets_no_credential_byte() {
    let Some((got, status, node)) = squat(&[]).await else { return };
    assert!(!got.contains(MARKER), "a listener of uid 65534 received the Gateway token: {got}");
    assert!(!got.contains("\"connect\""), "a listener of uid 65534 received the connect frame: {got}");
    assert_eq!(status.and_then(|s| s.code()), Some(78), "{:?}", node.lines());
    assert!(node.lines().iter().any(|l| l.contains("served by uid 65534")), "{:?}", node.lines());
}

/// The owner can trust the Gateway's account: then that listener is served.
#[tokio::test]
async fn a_trusted_gateway_user_is_served() {
    let Some((got, _, node)) = squat(&["--gateway-user", "65534"]).await else { return };
    assert!(got.contains("\"connect\"") && got.contains(MARKER), "{got} {:?}", node.lines());
}
