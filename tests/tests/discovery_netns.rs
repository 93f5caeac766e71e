//! Discovery against the real Gateway (`openclaw@2026.9.6`) across a real link: the Gateway
//! runs in a "gateway host" network namespace (bridge with a LAN and a Tailscale-range
//! address), `clawnode` in a "device" namespace on the other end of a veth pair. Multicast
//! DNS-SD crosses the veth; the wide-area zone the Gateway writes is served by NSD on the
//! tailnet address, which the device's resolv.conf names (split DNS).
//!
//! 1. `discovered_gateway_pairs_through_the_plan` (TLS Gateway): the node finds it by mDNS
//!    and by wide-area DNS-SD; the plan routes to the resolved address with TLS and no pin,
//!    the TXT fingerprint only a hint; a spoofing responder's `lanHost`/`tailnetDns`/
//!    fingerprint/port change nothing and its TXT pin is refused by the probe (nothing
//!    sent: no pairing request); first use without consent sends nothing; with the
//!    verified fingerprint `pair --discover` pairs (pin and device token under the stable
//!    id) and the next plan is "connect".
//! 2. `plaintext_lan_route_needs_the_policy` (Gateway without TLS): refused ("TLS required",
//!    no pairing request) unless `OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1`; even then naming the
//!    Gateway is no pick of the route (anyone can advertise a name: paused, nothing sent);
//!    named by its route (`--discover ws://<address>:<port>`) it pairs over that route with
//!    the token keyed by that address.
//!
//! Needs root (`ip netns`, veth, bridge) and NSD (`nsd`, provisioned by `cargo xtask test`).
//! Where namespaces cannot be created the tests print why, loudly, and skip.

use std::path::Path;
use std::time::Duration;

use clawnode::endpoint::TlsPin;
use clawnode_testkit::netns::{self, GW_LAN, GW_TAILNET, NetnsPair};
use clawnode_testkit::nsd::Nsd;
use clawnode_testkit::{ClawnodeProcess, Gateway, Operator};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);
const DOMAIN: &str = "openclaw.internal.";
const TAILNET_DNS: &str = "gwhost.tail0000.ts.net";
const FAKE_FP: &str = "0badc0de0badc0de0badc0de0badc0de0badc0de0badc0de0badc0de0badc0de";

fn namespaces_or_skip(test: &str) -> Option<NetnsPair> {
    match NetnsPair::create() {
        Ok(p) => Some(p),
        Err(e) => {
            eprintln!("\n********\n{test}: SKIPPED: network namespaces unavailable here ({e})\n********\n");
            None
        }
    }
}

async fn start_gateway(pair: &NetnsPair, tls: bool) -> Gateway {
    let mut b = Gateway::builder()
        .netns(&pair.gw)
        .bind("lan")
        .auto_approve_local(false)
        // Bonjour is opt-in on Linux (and off in containers unless forced).
        .env("OPENCLAW_DISABLE_BONJOUR", "0")
        .env("OPENCLAW_TAILNET_DNS", TAILNET_DNS)
        .extra_config(json!({
            "plugins": {"entries": {"bonjour": {"enabled": true}}},
            "discovery": {"mdns": {"mode": "minimal"}, "wideArea": {"domain": DOMAIN}},
        }));
    if tls {
        b = b.extra_config(json!({"gateway": {"tls": {"enabled": true}}}));
    }
    b.start().await.expect("gateway starts in its namespace")
}

/// SHA-256 of the Gateway's auto-generated certificate (DER), read from its state dir.
fn real_fingerprint(gw: &Gateway) -> TlsPin {
    TlsPin::of_der(&clawnode_testkit::tls::first_cert_der(&cert_path(gw)).unwrap())
}

fn cert_path(gw: &Gateway) -> std::path::PathBuf {
    gw.state_dir().join("gateway/tls/gateway-cert.pem")
}

/// `clawnode discover --json …` in the device namespace.
async fn discover(pair: &NetnsPair, extra: &[&str], envs: &[(&str, &str)]) -> Vec<Value> {
    let mut args = vec!["discover", "--json", "--timeout", "4"];
    args.extend_from_slice(extra);
    let mut p = ClawnodeProcess::spawn_in(Some(&pair.dev), &args, envs).unwrap();
    p.wait_exit(T).await.unwrap();
    let text: String = p.lines().iter().filter(|l| !l.starts_with("clawnode:")).cloned().collect::<Vec<_>>().join("\n");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("discover --json: {e}: {text}"))
}

/// The row for the Gateway on `port` in `domain`, browsing again (bounded) until it shows.
async fn find_row(
    pair: &NetnsPair,
    extra: &[&str],
    envs: &[(&str, &str)],
    domain: &str,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..5 {
        let rows = discover(pair, extra, envs).await;
        if let Some(r) = rows.into_iter().find(|r| r["domain"] == domain && pred(r)) {
            eprintln!("discovered: {}", serde_json::to_string(&r).unwrap());
            return r;
        }
    }
    panic!("no {domain} row found by discover {extra:?}");
}

fn notes(row: &Value) -> String {
    row["plan"]["notes"].to_string()
}

/// Operator actions in the gateway namespace (its loopback), on a thread that joined it.
async fn operator<T, F, Fut>(pair: &NetnsPair, gw: &Gateway, f: F) -> T
where
    T: Send + 'static,
    F: FnOnce(Operator) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
{
    // wss:// when the Gateway serves TLS (the operator accepts its self-signed certificate).
    let url = if cert_path(gw).is_file() { gw.ws_url().replacen("ws://", "wss://", 1) } else { gw.ws_url() };
    let (ns, token) = (pair.gw.clone(), gw.token().to_string());
    tokio::task::spawn_blocking(move || {
        netns::block_on_in(&ns, move || async move {
            let op = Operator::connect(&url, &token).await.expect("operator connects in the gateway namespace");
            f(op).await
        })
    })
    .await
    .unwrap()
    .unwrap()
}

async fn pending_devices(pair: &NetnsPair, gw: &Gateway) -> Vec<Value> {
    operator(pair, gw, |op| async move {
        op.device_pair_list().await.unwrap()["pending"].as_array().cloned().unwrap_or_default()
    })
    .await
}

/// Waits for the pairing request of `node`, approves it from the operator, waits for exit 0.
async fn approve_and_finish(pair: &NetnsPair, gw: &Gateway, node: &mut ClawnodeProcess) -> Value {
    let line = node.wait_line("approve request ", T).await.unwrap();
    let request_id = line.split("approve request ").nth(1).unwrap().split_whitespace().next().unwrap().to_string();
    let pending = operator(pair, gw, move |op| async move {
        let p = op.wait_for_pending_device(T).await.unwrap();
        assert_eq!(p["requestId"], request_id.as_str());
        op.device_pair_approve(&request_id).await.unwrap();
        p
    })
    .await;
    let status = node.wait_exit(T).await.unwrap();
    assert!(status.success(), "pair exits 0: {:?}", node.lines());
    pending
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

fn token_file(dir: &Path, token: &str) -> String {
    let p = dir.join("token");
    std::fs::write(&p, token).unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(&p, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    p.to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovered_gateway_pairs_through_the_plan() {
    let Some(mut pair) = namespaces_or_skip("discovered_gateway_pairs_through_the_plan") else { return };
    let gw = start_gateway(&pair, true).await;
    let port = gw.port();
    let real = real_fingerprint(&gw);
    let tmp = tempfile::tempdir().unwrap();
    let token = token_file(tmp.path(), gw.token());
    let empty_state = tmp.path().join("empty");
    let empty = empty_state.to_str().unwrap();

    // 1. mDNS across the veth: the resolved address and SRV port route, TLS, no pin; the TXT
    // fingerprint (the real one here) is shown as a hint only.
    let on_port = move |r: &Value| r["port"] == port;
    let row = find_row(&pair, &["--state-dir", empty], &[], "local.", on_port).await;
    assert!(row["addresses"].as_array().unwrap().contains(&json!(GW_LAN.to_string())), "{row}");
    assert_eq!(row["txt"]["role"], "gateway");
    assert_eq!(row["txt"]["gatewayTls"], true);
    assert_eq!(row["txt"]["gatewayPort"], port);
    let lan_host = row["txt"]["lanHost"].as_str().unwrap();
    assert!(lan_host.ends_with(".local"), "{row}");
    assert_eq!(row["host"], lan_host, "the SRV target is the advertised host");
    assert_eq!(row["plan"]["action"], "ask");
    assert_eq!(row["plan"]["probeTls"], true);
    assert_eq!(row["plan"]["url"], format!("wss://{GW_LAN}:{port}/"));
    assert_eq!(row["plan"]["pin"], Value::Null, "a TXT fingerprint is never a pin");
    assert_eq!(row["plan"]["txtFingerprint"], real.to_hex());
    let stable_id = row["stableId"].as_str().unwrap().to_string();
    assert!(stable_id.starts_with("_openclaw-gw._tcp.|local.|"), "{stable_id}");

    // 2. Wide-area DNS-SD: the zone the Gateway wrote (it has a 100.64/10 address), served
    // by NSD on the tailnet address; the device's resolver is that server.
    let zone = gw.state_dir().join("dns/openclaw.internal.db");
    let deadline = std::time::Instant::now() + T;
    while !zone.is_file() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let zone_text = std::fs::read_to_string(&zone).expect("the Gateway wrote its wide-area zone");
    eprintln!("zone written by the Gateway:\n{zone_text}");
    let _nsd = Nsd::start(&pair.gw, GW_TAILNET, DOMAIN, &zone).await.expect("nsd serves the zone");
    pair.set_resolv_conf(&pair.dev.clone(), GW_TAILNET).unwrap();
    let wide = find_row(&pair, &["--no-mdns", "--domain", DOMAIN, "--state-dir", empty], &[], DOMAIN, on_port).await;
    assert_eq!(wide["addresses"], json!([GW_TAILNET.to_string()]));
    assert!(wide["host"].as_str().unwrap().ends_with(".openclaw.internal"), "{wide}");
    assert_eq!(wide["txt"]["tailnetDns"], TAILNET_DNS);
    assert_eq!(wide["txt"]["lanHost"], Value::Null, "the zone has no lanHost");
    assert_eq!(wide["plan"]["url"], format!("wss://{GW_TAILNET}:{port}/"), "A record, not tailnetDns");
    assert!(notes(&wide).contains(TAILNET_DNS), "{wide}");
    assert_eq!(wide["plan"]["pin"], Value::Null);
    assert_eq!(wide["plan"]["txtFingerprint"], real.to_hex());
    assert!(wide["stableId"].as_str().unwrap().starts_with("_openclaw-gw._tcp.|openclaw.internal.|"));

    // 3. A spoofing responder on the gateway host's link: its TXT routes nowhere.
    let spoof_bin = env!("CARGO_BIN_EXE_mdns-spoof");
    let mut spoof = NetnsPair::command(&pair.gw, spoof_bin);
    spoof
        .args(["spoofed (OpenClaw)", "spoof.local.", &GW_LAN.to_string(), &port.to_string()])
        .args(["role=gateway", "displayName=spoofed", "gatewayPort=1", "lanHost=evil.example"])
        .args(["tailnetDns=evil.tail9999.ts.net", "gatewayTls=1", &format!("gatewayTlsSha256={FAKE_FP}")])
        .stdout(std::process::Stdio::null());
    let mut spoof = clawnode_testkit::KillOnDrop(spoof.spawn().unwrap());
    let s = find_row(&pair, &["--state-dir", empty], &[], "local.", |r| r["instance"] == "spoofed (OpenClaw)").await;
    assert_eq!(s["txt"]["lanHost"], "evil.example");
    assert_eq!(s["plan"]["url"], format!("wss://{GW_LAN}:{port}/"), "the resolved address, not lanHost");
    assert_eq!(s["plan"]["pin"], Value::Null);
    assert_eq!(s["plan"]["txtFingerprint"], FAKE_FP);
    for n in ["evil.example", "evil.tail9999.ts.net", "gatewayPort 1"] {
        assert!(notes(&s).contains(n), "{n} ignored: {s}");
    }
    // Trusting the spoofed TXT pin fails at the probe: the real certificate differs, and
    // nothing is sent (no pairing request reaches the Gateway).
    let spoof_state = tmp.path().join("spoof");
    let args = ["pair", "--discover", "spoofed", "--trust-fingerprint", FAKE_FP, "--token-file", &token];
    let mut p = ClawnodeProcess::spawn_in(
        Some(&pair.dev),
        &[&args[..], &["--state-dir", spoof_state.to_str().unwrap()]].concat(),
        &[],
    )
    .unwrap();
    let status = p.wait_exit(T).await.unwrap();
    assert_eq!(status.code(), Some(78), "{:?}", p.lines());
    let text = p.lines().join("\n");
    assert!(text.contains(&format!("presented sha256:{real}")) && text.contains("nothing was sent"), "{text}");
    assert!(!spoof_state.join("tls-pins.json").exists(), "no pin stored");
    assert!(pending_devices(&pair, &gw).await.is_empty(), "no pairing request reached the Gateway");
    spoof.0.kill().ok();

    // 4. First use without consent (no terminal, no --trust-fingerprint): probe only.
    let state = tmp.path().join("node");
    let state_dir = state.to_str().unwrap();
    let base = ["pair", "--discover", &stable_id, "--token-file", &token, "--state-dir", state_dir];
    let mut p = ClawnodeProcess::spawn_in(Some(&pair.dev), &base, &[]).unwrap();
    assert_eq!(p.wait_exit(T).await.unwrap().code(), Some(78));
    let text = p.lines().join("\n");
    assert!(text.contains(&format!("--trust-fingerprint sha256:{real}")), "{text}");
    assert!(text.contains("TXT hint:     matches"), "{text}");
    assert!(pending_devices(&pair, &gw).await.is_empty(), "the probe sent nothing");

    // 5. With the verified fingerprint: pin under the stable id, pair, device token under it.
    let fp = real.to_hex();
    let mut p =
        ClawnodeProcess::spawn_in(Some(&pair.dev), &[&base[..], &["--trust-fingerprint", &fp]].concat(), &[]).unwrap();
    let pending = approve_and_finish(&pair, &gw, &mut p).await;
    eprintln!("pending device as the Gateway saw it: {pending}");
    assert!(p.lines().iter().any(|l| l.contains(&format!("paired with {stable_id}"))), "{:?}", p.lines());
    let pins = read_json(&state.join("tls-pins.json"));
    assert_eq!(pins["pins"][&stable_id], fp, "{pins}");
    let tokens = read_json(&state.join("device-tokens.json"));
    let entry = tokens["tokens"].as_object().unwrap().values().next().unwrap();
    assert_eq!(entry["origin"], stable_id.as_str(), "the device token is keyed by the stable id");

    // 6. Trusted now: the plan connects with the stored pin, and `run --discover` does.
    let row = find_row(&pair, &["--state-dir", state_dir], &[], "local.", on_port).await;
    assert_eq!(row["plan"]["action"], "connect");
    assert_eq!(row["plan"]["pin"], fp);
    let run =
        ClawnodeProcess::spawn_in(Some(&pair.dev), &["run", "--discover", &stable_id, "--state-dir", state_dir], &[])
            .unwrap();
    run.wait_line("connect (trusted", T).await.unwrap();
    run.wait_line("commands await approval", T).await.unwrap();
    assert!(!run.lines().iter().any(|l| l.contains("fingerprint:")), "no probe for a trusted Gateway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_lan_route_needs_the_policy() {
    let Some(pair) = namespaces_or_skip("plaintext_lan_route_needs_the_policy") else { return };
    let gw = start_gateway(&pair, false).await;
    let port = gw.port();
    let tmp = tempfile::tempdir().unwrap();
    let token = token_file(tmp.path(), gw.token());
    let state = tmp.path().join("node");
    let state_dir = state.to_str().unwrap();
    let on_port = move |r: &Value| r["port"] == port;

    // Default policy: a discovered Gateway needs TLS.
    let row = find_row(&pair, &["--state-dir", state_dir], &[], "local.", on_port).await;
    assert_eq!(row["txt"]["gatewayTls"], Value::Null, "no TLS advertised");
    assert_eq!(row["plan"]["action"], "refuse");
    assert!(row["plan"]["refusal"].as_str().unwrap().contains("TLS required"), "{row}");
    assert_eq!(row["plan"]["url"], Value::Null);
    let id = row["stableId"].as_str().unwrap().to_string();
    let args = ["pair", "--discover", &id, "--token-file", &token, "--state-dir", state_dir];
    let mut p = ClawnodeProcess::spawn_in(Some(&pair.dev), &args, &[]).unwrap();
    assert_eq!(p.wait_exit(T).await.unwrap().code(), Some(78));
    assert!(p.lines().iter().any(|l| l.contains("paused: TLS required")), "{:?}", p.lines());
    assert!(pending_devices(&pair, &gw).await.is_empty(), "nothing was sent");

    // The LAN plaintext policy admits the resolved private address.
    let allow = [("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS", "1")];
    let row = find_row(&pair, &["--state-dir", state_dir], &allow, "local.", on_port).await;
    assert_eq!(row["plan"]["action"], "ask");
    assert_eq!(row["plan"]["probeTls"], false);
    assert_eq!(row["plan"]["url"], format!("ws://{GW_LAN}:{port}/"));
    // The policy admits the route, but naming the Gateway is no pick of the route (anyone on
    // the link can advertise the name): paused, nothing sent, the route to name is shown.
    let mut p = ClawnodeProcess::spawn_in(Some(&pair.dev), &args, &allow).unwrap();
    assert_eq!(p.wait_exit(T).await.unwrap().code(), Some(78));
    let route = format!("ws://{GW_LAN}:{port}");
    assert!(p.lines().iter().any(|l| l.contains(&format!("--discover {route}"))), "{:?}", p.lines());
    assert!(pending_devices(&pair, &gw).await.is_empty(), "nothing was sent");
    // Named by its route, it pairs.
    let picked = ["pair", "--discover", &route, "--token-file", &token, "--state-dir", state_dir];
    let mut p = ClawnodeProcess::spawn_in(Some(&pair.dev), &picked, &allow).unwrap();
    approve_and_finish(&pair, &gw, &mut p).await;
    let tokens = read_json(&state.join("device-tokens.json"));
    let entry = tokens["tokens"].as_object().unwrap().values().next().unwrap();
    assert_eq!(entry["origin"], format!("ws://{GW_LAN}:{port}"), "a plaintext route stays keyed by its address");
}
