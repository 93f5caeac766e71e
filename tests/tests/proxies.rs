//! `clawnode run` through real proxies to the real Gateway (`openclaw@2026.9.6`):
//! Debian's `tinyproxy` (HTTP CONNECT, Basic auth) and `dante-server` (`danted`, SOCKS5
//! with user/password), each started here on loopback with its own config file.
//!
//! A recording relay ([`Tap`]) sits between the node and the proxy, so the test sees every
//! byte the proxy was given in clear:
//! - `wss://` through tinyproxy: the node's bytes are exactly one `CONNECT 127.0.0.1:<port>`
//!   head and then TLS records; the Gateway token and the protocol's method names never
//!   appear in either direction; tinyproxy's log names the CONNECT target. An invoke works.
//! - `wss://localhost` through danted with user/password: the SOCKS5 request carries the
//!   *name* `localhost` (address type 3: the proxy resolves it), then TLS only, whose
//!   ClientHello names `localhost` (SNI for the Gateway, not the proxy); an invoke works.
//!   Wrong SOCKS credentials: exit 78, "rejected the proxy credentials".
//! - tinyproxy with `BasicAuth`: no credentials → 407 → exit 78 "requires authentication";
//!   wrong ones → "rejected"; right ones → ready.
//! - plaintext `ws://127.0.0.1` through tinyproxy works (loopback Gateway) and the tap
//!   *does* see the token in clear (the control that the tap would catch a leak, and why
//!   plaintext to anything else is refused); `ws://192.0.2.1` through the proxy is refused
//!   before any byte reaches the proxy.
//!
//! - `service install --proxy http://user:pass@…` (tinyproxy with `BasicAuth`): the unit's
//!   `ExecStart` with its 0600 environment file (`CLAWNODE_PROXY`, the Gateway URL and token)
//!   pairs through the proxy and serves an invoke; tinyproxy's log names the CONNECT to the
//!   Gateway's port; the status line says where the proxy came from, never its password.
//!
//! Needs root for danted's user/password method (a system user `clawnode-socks` gets a
//! fresh random password via `chpasswd`); `cargo xtask test` installs the packages.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use clawnode::TlsPin;
use clawnode_testkit::tap::{Tap, client_hello_sni, contains, tls_records_only, unmasked_client_payloads};
use clawnode_testkit::{ClawnodeProcess, Gateway, InstalledUnit, Operator, random_hex, service_install};
use serde_json::json;

const T: Duration = Duration::from_secs(60);

/// A proxy process; killed on drop.
struct ProxyProcess {
    _child: clawnode_testkit::KillOnDrop,
    port: u16,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_listening(port: u16, what: &str, log: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "{what} did not listen on {port}: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// tinyproxy in the foreground on a loopback port, logging every request.
async fn tinyproxy(dir: &Path, name: &str, basic_auth: Option<(&str, &str)>) -> ProxyProcess {
    assert!(Path::new("/usr/bin/tinyproxy").exists(), "tinyproxy is required (cargo xtask test installs it)");
    let port = free_port();
    let log = dir.join(format!("{name}.log"));
    let mut conf = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 60\nLogFile \"{}\"\nLogLevel Info\nMaxClients 20\nPidFile \"{}\"\n",
        log.display(),
        dir.join(format!("{name}.pid")).display()
    );
    if let Some((u, p)) = basic_auth {
        conf.push_str(&format!("BasicAuth {u} {p}\n"));
    }
    let path = dir.join(format!("{name}.conf"));
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("/usr/bin/tinyproxy")
        .args(["-d", "-c"])
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("tinyproxy starts");
    wait_listening(port, "tinyproxy", &log).await;
    ProxyProcess { _child: clawnode_testkit::KillOnDrop(child), port }
}

const SOCKS_USER: &str = "clawnode-socks";

/// A system user for danted's `username` method, with a fresh random password.
fn socks_user() -> String {
    let exists = Command::new("getent").args(["passwd", SOCKS_USER]).stdout(Stdio::null()).status().unwrap();
    if !exists.success() {
        let st = Command::new("useradd")
            .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SOCKS_USER])
            .status()
            .expect("useradd runs");
        assert!(st.success(), "useradd {SOCKS_USER}");
    }
    let password = random_hex(12);
    let mut c = Command::new("chpasswd").stdin(Stdio::piped()).spawn().expect("chpasswd runs");
    {
        use std::io::Write as _;
        c.stdin.take().unwrap().write_all(format!("{SOCKS_USER}:{password}\n").as_bytes()).unwrap();
    }
    assert!(c.wait().unwrap().success(), "chpasswd");
    password
}

/// danted on a loopback port with the user/password method (system accounts).
async fn danted(dir: &Path) -> ProxyProcess {
    assert!(Path::new("/usr/sbin/danted").exists(), "dante-server is required (cargo xtask test installs it)");
    let port = free_port();
    let log = dir.join("danted.log");
    let conf = format!(
        "logoutput: {log}\ninternal: 127.0.0.1 port = {port}\nexternal: 127.0.0.1\n\
         clientmethod: none\nsocksmethod: username\nuser.privileged: root\nuser.unprivileged: nobody\n\
         client pass {{\n  from: 127.0.0.0/8 to: 0.0.0.0/0\n  log: connect error\n}}\n\
         socks pass {{\n  from: 127.0.0.0/8 to: 127.0.0.0/8\n  command: connect\n  log: connect error\n}}\n",
        log = log.display()
    );
    let path = dir.join("danted.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new("/usr/sbin/danted")
        .args(["-f"])
        .arg(&path)
        .args(["-p"])
        .arg(dir.join("danted.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("danted starts");
    wait_listening(port, "danted", &log).await;
    ProxyProcess { _child: clawnode_testkit::KillOnDrop(child), port }
}

/// The TLS Gateway (self-signed cert generated by the Gateway) and its pin.
async fn tls_gateway(certs: &Path) -> (Gateway, TlsPin) {
    let cert = certs.join("gateway-cert.pem");
    let gw = Gateway::builder()
        .extra_config(json!({"gateway": {"tls": {
            "enabled": true,
            "autoGenerate": true,
            "certPath": cert.to_str().unwrap(),
            "keyPath": certs.join("gateway-key.pem").to_str().unwrap(),
        }}}))
        .start()
        .await
        .expect("TLS gateway starts");
    let pin = TlsPin::of_der(&clawnode_testkit::tls::first_cert_der(&cert).expect("gateway cert readable"));
    (gw, pin)
}

/// Waits for the command-surface request, approves it, waits for ready, invokes
/// `system.which` and checks the answer.
async fn pair_and_invoke(node: &ClawnodeProcess, op: &Operator) {
    node.wait_line("commands await approval", T).await.unwrap();
    let surface = op.wait_for_pending_node(T).await.unwrap();
    let node_id = surface["nodeId"].as_str().unwrap().to_string();
    op.node_pair_approve(surface["requestId"].as_str().unwrap()).await.unwrap();
    node.wait_line("ready: node", T).await.unwrap();
    let r = op.node_invoke(&node_id, "system.which", json!({"bins": ["sh"]}), 10_000).await.unwrap();
    assert!(r["payload"]["bins"]["sh"].is_string(), "{r}");
}

/// Nothing the Gateway protocol says in clear appears in `bytes`.
fn assert_opaque(bytes: &[u8], token: &str, what: &str) {
    for needle in [token, "\"method\"", "connect.challenge", "node.invoke", "system.which", "hello-ok"] {
        assert!(!contains(bytes, needle.as_bytes()), "{what}: {needle:?} crossed the proxy in clear");
    }
}

fn head_end(bytes: &[u8]) -> usize {
    bytes.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4).expect("an HTTP head")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wss_through_tinyproxy_and_danted_is_end_to_end_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (gw, pin) = tls_gateway(dir.path()).await;
    let url = format!("wss://127.0.0.1:{}", gw.port());
    let op = Operator::connect(&url, gw.token()).await.expect("operator connects over wss");
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, gw.token()).unwrap();
    let token_path = token_file.to_str().unwrap();
    let pin_s = pin.to_string();

    // 1. HTTP CONNECT (tinyproxy), behind the tap.
    let tiny = tinyproxy(dir.path(), "tinyproxy", None).await;
    let tap = Tap::start(tiny.port).await.unwrap();
    let state1 = dir.path().join("state1");
    let proxy = format!("http://127.0.0.1:{}", tap.port());
    let args = [
        "run",
        "--url",
        &url,
        "--tls-fingerprint",
        &pin_s,
        "--token-file",
        token_path,
        "--proxy",
        &proxy,
        "--state-dir",
        state1.to_str().unwrap(),
    ];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let line = node.wait_line("via proxy", T).await.unwrap();
    assert!(line.contains(&format!("via proxy {proxy} (from --proxy)")), "{line}");
    pair_and_invoke(&node, &op).await;
    node.terminate().await.unwrap();
    let conns = tap.connections();
    assert!(!conns.is_empty());
    let connect = format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n", gw.port(), gw.port());
    for c in &conns {
        let end = head_end(&c.up);
        assert_eq!(String::from_utf8_lossy(&c.up[..end]), connect, "only the CONNECT head in clear");
        assert_eq!(c.up.get(end..end + 2), Some(&[0x16, 0x03][..]), "then a TLS handshake record");
        // TLS is with the Gateway (an IP address: no server name), never named for the proxy.
        assert_eq!(client_hello_sni(&c.up[end..]), Ok(None), "no SNI for the Gateway's IP address");
        let records = tls_records_only(&c.up[end..]).unwrap();
        assert!(records > 3, "handshake and application data, all TLS records ({records})");
        let down_end = head_end(&c.down);
        assert!(c.down.starts_with(b"HTTP/1."), "{:?}", String::from_utf8_lossy(&c.down[..down_end]));
        assert_eq!(c.down.get(down_end), Some(&0x16), "the proxy relays the server's TLS");
        tls_records_only(&c.down[down_end..]).unwrap();
        assert_opaque(&c.up, gw.token(), "node → proxy");
        assert_opaque(&c.down, gw.token(), "proxy → node");
    }
    // `clawnode trust` probes through the proxy too: the Gateway's own fingerprint.
    let before = tap.connections().len();
    let tstate = dir.path().join("trust-state");
    let targs = ["trust", "--url", &url, "--yes", "--proxy", &proxy, "--state-dir", tstate.to_str().unwrap()];
    let mut trust = ClawnodeProcess::spawn(&targs, &[]).unwrap();
    assert!(trust.wait_exit(T).await.unwrap().success(), "{:?}", trust.lines());
    assert!(trust.lines().join("\n").contains(&format!("fingerprint: sha256:{pin}")), "{:?}", trust.lines());
    let probe = tap.connections();
    assert_eq!(probe.len(), before + 1, "one probe connection through the proxy");
    let last = probe.last().unwrap();
    assert_eq!(String::from_utf8_lossy(&last.up[..head_end(&last.up)]), connect);
    let log = std::fs::read_to_string(dir.path().join("tinyproxy.log")).unwrap();
    assert!(log.contains(&format!("CONNECT 127.0.0.1:{}", gw.port())), "{log}");

    // 2. SOCKS5 with user/password (danted), the Gateway named `localhost`: the proxy
    //    gets the name. The proxy URL comes from the config file.
    let password = socks_user();
    let dante = danted(dir.path()).await;
    let stap = Tap::start(dante.port).await.unwrap();
    let state2 = dir.path().join("state2");
    let cfg = dir.path().join("socks.toml");
    let write_cfg = |password: &str| {
        std::fs::write(
            &cfg,
            format!(
                "[gateway]\nurl = \"wss://localhost:{}\"\ntoken_file = \"{}\"\ntls_fingerprint = \"{pin_s}\"\n\
                 proxy = \"socks5h://{SOCKS_USER}:{password}@127.0.0.1:{}\"\n",
                gw.port(),
                token_path,
                stap.port()
            ),
        )
        .unwrap();
    };
    write_cfg(&password);
    let args = ["run", "--config", cfg.to_str().unwrap(), "--state-dir", state2.to_str().unwrap()];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let line = node.wait_line("via proxy", T).await.unwrap();
    assert!(line.contains("(from config, with credentials)") && !line.contains(&password), "{line}");
    pair_and_invoke(&node, &op).await;
    node.terminate().await.unwrap();
    assert!(!node.lines().join("\n").contains(&password), "the proxy password is never printed");
    let c = stap.connections().into_iter().next().unwrap();
    // Greeting offers user/password (method 2); the subnegotiation carries the user.
    assert_eq!(c.up.first(), Some(&5), "SOCKS version 5");
    assert!(contains(&c.up, SOCKS_USER.as_bytes()));
    // CONNECT with address type 3 (a domain name) "localhost": resolved by the proxy.
    let mut req = vec![5u8, 1, 0, 3, 9];
    req.extend_from_slice(b"localhost");
    req.extend_from_slice(&gw.port().to_be_bytes());
    let at = c.up.windows(req.len()).position(|w| w == req.as_slice()).expect("a SOCKS5 CONNECT to the name");
    assert_eq!(c.up.get(at + req.len()..at + req.len() + 2), Some(&[0x16, 0x03][..]), "then TLS");
    assert!(tls_records_only(&c.up[at + req.len()..]).unwrap() > 3, "nothing but TLS records after the request");
    // SNI names the Gateway (`localhost`), not the proxy: TLS is end to end.
    assert_eq!(client_hello_sni(&c.up[at + req.len()..]), Ok(Some("localhost".to_string())), "the hello's server name");
    assert_opaque(&c.up, gw.token(), "node → socks proxy");
    assert_opaque(&c.down, gw.token(), "socks proxy → node");

    //    Wrong SOCKS password: typed, terminal (exit 78), the Gateway is not reached.
    write_cfg("not-the-password");
    let mut bad = ClawnodeProcess::spawn(&args, &[]).unwrap();
    let st = bad.wait_exit(T).await.unwrap();
    assert_eq!(st.code(), Some(78), "{:?}", bad.lines());
    assert!(bad.lines().join("\n").contains("rejected the proxy credentials"), "{:?}", bad.lines());

    // 3. tinyproxy with BasicAuth: none → 407 (exit 78), wrong → rejected, right → ready.
    let authed = tinyproxy(dir.path(), "tinyproxy-auth", Some(("clawnode", "proxy-pass-1"))).await;
    let run_via = |proxy: String| {
        let args: Vec<String> = [
            "run",
            "--url",
            &url,
            "--tls-fingerprint",
            &pin_s,
            "--token-file",
            token_path,
            "--proxy",
            &proxy,
            "--state-dir",
            state1.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args
    };
    for (proxy, want) in [
        (format!("http://127.0.0.1:{}", authed.port), "requires authentication"),
        (format!("http://clawnode:wrong@127.0.0.1:{}", authed.port), "rejected the proxy credentials"),
    ] {
        let args = run_via(proxy);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut bad = ClawnodeProcess::spawn(&argv, &[]).unwrap();
        let st = bad.wait_exit(T).await.unwrap();
        assert_eq!(st.code(), Some(78), "{:?}", bad.lines());
        assert!(bad.lines().join("\n").contains(want), "{want}: {:?}", bad.lines());
    }
    let args = run_via(format!("http://clawnode:proxy-pass-1@127.0.0.1:{}", authed.port));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut node = ClawnodeProcess::spawn(&argv, &[]).unwrap();
    node.wait_line("ready: node", T).await.unwrap();
    assert!(node.lines().join("\n").contains("warning: --proxy carries a password"), "{:?}", node.lines());
    node.terminate().await.unwrap();
    op.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_through_a_proxy_only_to_a_loopback_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let tiny = tinyproxy(dir.path(), "tinyproxy", None).await;
    let tap = Tap::start(tiny.port).await.unwrap();
    let proxy = format!("http://127.0.0.1:{}", tap.port());
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, gw.token()).unwrap();
    let state = dir.path().join("state");

    // A non-loopback plaintext Gateway through the proxy: refused before any socket.
    let args = [
        "run",
        "--url",
        "ws://192.0.2.1:18789",
        "--token-file",
        token_file.to_str().unwrap(),
        "--proxy",
        &proxy,
        "--state-dir",
        state.to_str().unwrap(),
    ];
    let mut bad = ClawnodeProcess::spawn(&args, &[("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS", "1")]).unwrap();
    let st = bad.wait_exit(T).await.unwrap();
    assert_eq!(st.code(), Some(78), "{:?}", bad.lines());
    assert!(
        bad.lines().join("\n").contains("refusing plaintext ws://192.0.2.1 through the proxy"),
        "{:?}",
        bad.lines()
    );
    assert!(tap.connections().is_empty(), "not one byte reached the proxy");

    // A loopback Gateway through the proxy works; the tap sees the token in clear (what
    // plaintext through a proxy means, and the proof the tap would catch a leak).
    let url = gw.ws_url();
    let args = [
        "run",
        "--url",
        &url,
        "--token-file",
        token_file.to_str().unwrap(),
        "--proxy",
        &proxy,
        "--state-dir",
        state.to_str().unwrap(),
    ];
    let mut node = ClawnodeProcess::spawn(&args, &[]).unwrap();
    pair_and_invoke(&node, &op).await;
    node.terminate().await.unwrap();
    let conns = tap.connections();
    let c = conns.iter().find(|c| contains(&c.up, b"GET / HTTP/1.1")).expect("the upgrade went through the proxy");
    assert!(c.up.starts_with(format!("CONNECT 127.0.0.1:{} HTTP/1.1\r\n", gw.port()).as_bytes()));
    // After the CONNECT head and the upgrade request head come the (masked) client frames.
    let connect_end = head_end(&c.up);
    let frames_at = connect_end + head_end(&c.up[connect_end..]);
    let clear = unmasked_client_payloads(&c.up[frames_at..]);
    assert!(contains(&clear, gw.token().as_bytes()), "plaintext: the proxy can read the token");
    assert!(contains(&clear, b"\"method\":\"connect\""), "and the connect frame");
    assert!(contains(&c.down, b"connect.challenge") && contains(&c.down, b"node.invoke.request"));
    op.close().await;
}

/// `KEY='value'` lines of the environment file (the values here have no quote, so the
/// installer wrote them single-quoted: literal, systemd.exec(5)).
fn env_file_vars(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            let v = v.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')).unwrap_or_else(|| panic!("{l}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_install_proxy_reaches_the_gateway_from_the_environment_file() {
    let dir = tempfile::tempdir().unwrap();
    let gw = Gateway::builder().start().await.expect("gateway starts");
    let op = Operator::connect(&gw.ws_url(), gw.token()).await.expect("operator connects");
    let password = format!("svc-{}", random_hex(8));
    let tiny = tinyproxy(dir.path(), "tinyproxy-svc", Some(("clawnode", &password))).await;
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, gw.token()).unwrap();
    let units = dir.path().join("units");
    let state = dir.path().join("state");
    let proxy = format!("http://clawnode:{password}@127.0.0.1:{}", tiny.port);
    let url = gw.ws_url();
    let args = [
        "--url",
        &url,
        "--token-file",
        token_file.to_str().unwrap(),
        "--proxy",
        &proxy,
        "--state-dir",
        state.to_str().unwrap(),
    ];
    let InstalledUnit { unit, env, .. } = service_install(&units, &args).await.unwrap();
    assert!(!unit.contains(&password), "{unit}");

    // What systemd would run: ExecStart's arguments after the binary, with the unit's
    // Environment= and the environment file.
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    let argv: Vec<&str> = exec.split(' ').skip(1).collect();
    assert_eq!(argv.first(), Some(&"run"), "{exec}");
    let mut vars = env_file_vars(&env);
    for l in unit.lines().filter_map(|l| l.strip_prefix("Environment=")) {
        let (k, v) = l.split_once('=').unwrap();
        vars.push((k.to_string(), v.to_string()));
    }
    assert!(vars.iter().any(|(k, v)| k == "CLAWNODE_PROXY" && *v == proxy), "{vars:?}");
    let envs: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let node = ClawnodeProcess::spawn(&argv, &envs).unwrap();
    pair_and_invoke(&node, &op).await;
    let out = node.lines().join("\n");
    assert!(
        out.contains(&format!("via proxy http://127.0.0.1:{} (from CLAWNODE_PROXY, with credentials)", tiny.port)),
        "{out}"
    );
    assert!(!out.contains(&password) && !out.contains("warning: --proxy"), "{out}");
    drop(node);
    let log = std::fs::read_to_string(dir.path().join("tinyproxy-svc.log")).unwrap();
    assert!(log.contains(&format!("CONNECT 127.0.0.1:{}", gw.port())), "{log}");
    op.close().await;
}
