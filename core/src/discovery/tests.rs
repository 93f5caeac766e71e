//! Vectors from transport.md §4 and the Gateway 2026.9.6 beacon (`advertiser.ts`,
//! `widearea-dns.ts`), and the attacks a TXT spoofer can try.

use std::net::IpAddr;

use super::*;
use crate::endpoint::{GatewayOrigin, Host, PlaintextPolicy, TlsPin};

const FP: &str = "3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a3f9a";
const OTHER_FP: &str = "0000000000000000000000000000000000000000000000000000000000000bad";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The TXT the bonjour plugin emits in `minimal` mode with TLS (advertiser.ts key order).
fn mdns_txt() -> GatewayTxt {
    GatewayTxt::from_strings(&[
        "role=gateway".to_string(),
        "gatewayPort=18789".into(),
        "lanHost=pi.local".into(),
        "displayName=pi".into(),
        "gatewayTls=1".into(),
        format!("gatewayTlsSha256={FP}"),
        "transport=gateway".into(),
    ])
}

fn mdns_gateway(txt: GatewayTxt) -> DiscoveredGateway {
    DiscoveredGateway::new(
        "pi\\032\\040OpenClaw\\041",
        "local",
        Some("pi.local."),
        vec![ip("fe80::1"), ip("192.168.1.20")],
        18789,
        txt,
    )
}

#[test]
fn txt_of_the_real_beacon() {
    let t = mdns_txt();
    assert_eq!(t.role.as_deref(), Some("gateway"));
    assert_eq!(t.transport.as_deref(), Some("gateway"));
    assert_eq!(t.display_name.as_deref(), Some("pi"));
    assert_eq!(t.gateway_port, Some(18789));
    assert_eq!(t.lan_host.as_deref(), Some("pi.local"));
    assert_eq!(t.tls, Some(true));
    assert_eq!(t.tls_sha256, Some(TlsPin::parse(FP).unwrap()));
    assert!(t.issues.is_empty(), "{:?}", t.issues);
    assert!(t.other.is_empty());
    // The wide-area zone's TXT (widearea-dns.ts): displayName keeps " (OpenClaw)", tailnetDns
    // whenever detected, no lanHost.
    let w = GatewayTxt::from_strings(&[
        "displayName=pi (OpenClaw)",
        "role=gateway",
        "transport=gateway",
        "gatewayPort=18789",
        "tailnetDns=pi.tail1234.ts.net",
    ]);
    assert_eq!(w.display_name.as_deref(), Some("pi (OpenClaw)"));
    assert_eq!(w.tailnet_dns.as_deref(), Some("pi.tail1234.ts.net"));
    assert_eq!(w.tls, None);
    assert!(!w.says_tls());
}

#[test]
fn txt_values_validated() {
    for (v, want) in [("1", Some(true)), ("true", Some(true)), ("YES", Some(true)), (" yes ", Some(true))] {
        assert_eq!(parse_bool(v), want, "{v}");
    }
    for (v, want) in [("0", Some(false)), ("false", Some(false)), ("No", Some(false)), ("2", None), ("", None)] {
        assert_eq!(parse_bool(v), want, "{v}");
    }
    for (v, want) in [("1", Some(1)), ("18789", Some(18789)), ("65535", Some(65535))] {
        assert_eq!(parse_port(v), want, "{v}");
    }
    for v in ["0", "65536", "-1", "+80", "80x", "", "1 2", "99999999999"] {
        assert_eq!(parse_port(v), None, "{v}");
    }
    let t = GatewayTxt::from_strings(&[
        "gatewayPort=70000",
        "gatewayTls=maybe",
        "gatewayTlsSha256=sha256:abcd",
        "sshPort=0",
        "gatewayDirectReachable",
        "canvasPort=18793",
        "Future=x",
        "flag",
        "=nokey",
        "",
    ]);
    assert_eq!(t.gateway_port, None);
    assert_eq!(t.tls, None);
    assert!(!t.says_tls());
    assert_eq!(t.tls_sha256, None);
    assert_eq!(t.ssh_port, None);
    assert_eq!(t.direct_reachable, Some(true), "a key without a value is present (RFC 6763 §6.4)");
    assert_eq!(t.canvas_port, Some(18793));
    assert_eq!(t.other.get("future"), Some(&Some("x".to_string())), "unknown keys are kept");
    assert_eq!(t.other.get("flag"), Some(&None));
    assert_eq!(t.issues.len(), 4, "{:?}", t.issues);
    assert!(t.issues.contains(&TxtIssue::Port { key: "gatewayPort".into(), value: "70000".into() }));
    assert!(t.issues.contains(&TxtIssue::Boolean { key: "gatewayTls".into(), value: "maybe".into() }));
    assert!(t.issues.contains(&TxtIssue::Fingerprint("sha256:abcd".into())));
    // The fingerprint: exactly 64 hex digits (uppercase accepted, stored canonical).
    let up = GatewayTxt::from_strings(&[format!("gatewayTlsSha256={}", FP.to_uppercase())]);
    assert_eq!(up.tls_sha256.map(|p| p.to_hex()).as_deref(), Some(FP));
    for bad in [&FP[..63], &format!("{FP}0"), &FP.replace('f', "g"), "3F:9A"] {
        let t = GatewayTxt::from_strings(&[format!("gatewayTlsSha256={bad}")]);
        assert_eq!(t.tls_sha256, None, "{bad}");
    }
    // Keys are case-insensitive and the first occurrence wins; non-UTF-8 values are refused.
    let t = GatewayTxt::from_strings(&[b"GATEWAYPORT=1".to_vec(), b"gatewayPort=2".to_vec(), b"role=\xff".to_vec()]);
    assert_eq!(t.gateway_port, Some(1));
    assert_eq!(t.role, None);
    assert!(t.issues.contains(&TxtIssue::Repeated("gatewayPort".into())));
    assert!(t.issues.contains(&TxtIssue::NotUtf8("role".into())));
    // The pair form platforms hand over.
    let t = GatewayTxt::from_pairs([("gatewayTls", Some("true")), ("lanHost", None)]);
    assert!(t.says_tls());
    assert_eq!(t.lan_host, None);
}

#[test]
fn instance_names_unescaped() {
    for (raw, want) in [
        ("pi\\032\\040OpenClaw\\041", "pi (OpenClaw)"),
        ("Studio\\032Mac\\.lan", "Studio Mac.lan"),
        ("back\\\\slash", "back\\slash"),
        ("caf\\195\\169", "café"),
        ("no escapes", "no escapes"),
        ("big\\999", "big\\999"),
        ("trailing\\", "trailing\\"),
        ("bad\\255utf8", "bad\u{fffd}utf8"),
    ] {
        assert_eq!(unescape_dns_sd(raw), want, "{raw}");
    }
}

#[test]
fn stable_identity_survives_address_and_txt_changes() {
    let a = mdns_gateway(mdns_txt());
    assert_eq!(a.instance, "pi (OpenClaw)");
    assert_eq!(a.domain, "local.");
    assert_eq!(a.host.as_deref(), Some("pi.local"));
    assert_eq!(a.stable_id(), "_openclaw-gw._tcp.|local.|pi (OpenClaw)");
    assert_eq!(a.display_name(), "pi");
    let mut moved = mdns_gateway(GatewayTxt::default());
    moved.addresses = vec![ip("10.0.0.7")];
    moved.instance = "pi   (OpenClaw)".into();
    assert_eq!(moved.stable_id(), a.stable_id(), "whitespace collapsed; address and TXT not part of it");
    assert_eq!(moved.display_name(), "pi");
    let wide = DiscoveredGateway::new("pi-gateway", "openclaw.internal", Some("pi"), vec![], 1, GatewayTxt::default());
    assert_eq!(wide.stable_id(), "_openclaw-gw._tcp.|openclaw.internal.|pi-gateway");
    assert_ne!(wide.stable_id(), a.stable_id(), "another domain is another Gateway");
    // Pinned plans for both addresses share the origin tokens and pins are keyed by.
    let known = KnownGateway::new(Some(TlsPin::parse(FP).unwrap()), true);
    let p1 = plan_connection(&a, &known, &DiscoveryPolicy::default());
    let p2 = plan_connection(&moved, &known, &DiscoveryPolicy::default());
    let (e1, e2) = (p1.endpoint.unwrap(), p2.endpoint.unwrap());
    assert_ne!(e1.url(), e2.url());
    assert_eq!(e1.origin(), e2.origin());
    assert_eq!(e1.origin(), GatewayOrigin::Discovered(a.stable_id()));
    assert_eq!(p1.gateway_id, a.stable_id());
}

#[test]
fn first_use_asks_with_the_hint_and_a_probe() {
    let gw = mdns_gateway(mdns_txt());
    let plan = plan_connection(&gw, &KnownGateway::default(), &DiscoveryPolicy::default());
    assert_eq!(plan.action, PlanAction::AskUser { probe_tls: true });
    let e = plan.endpoint.unwrap();
    assert_eq!(e.url(), "wss://192.168.1.20:18789/", "the resolved IPv4 (fe80:: has no zone in a URL)");
    assert!(e.tls);
    assert_eq!(e.pin, None, "the TXT fingerprint is never a pin");
    assert_eq!(plan.txt_fingerprint, Some(TlsPin::parse(FP).unwrap()));
    assert_eq!(plan.gateway_id, gw.stable_id());
}

#[test]
fn trusted_gateways_connect_with_the_stored_pin() {
    let stored = TlsPin::parse(OTHER_FP).unwrap();
    let gw = mdns_gateway(mdns_txt());
    let plan = plan_connection(&gw, &KnownGateway::new(Some(stored), false), &DiscoveryPolicy::default());
    assert_eq!(plan.action, PlanAction::Connect);
    assert_eq!(plan.endpoint.unwrap().pin, Some(stored), "the stored pin wins over the TXT hint");
    assert!(plan.notes.contains(&PlanNote::TxtPinDiffers));
    // A stored pin means TLS even when the TXT says no TLS (no downgrade by TXT).
    let mut txt = mdns_txt();
    txt.tls = Some(false);
    let plan = plan_connection(&mdns_gateway(txt), &KnownGateway::new(Some(stored), true), &DiscoveryPolicy::default());
    let e = plan.endpoint.unwrap();
    assert!(e.tls);
    assert_eq!(e.pin, Some(stored));
    assert!(plan.notes.contains(&PlanNote::TxtTlsIgnored));
}

#[test]
fn spoofed_txt_changes_nothing() {
    let gw = mdns_gateway(mdns_txt());
    for known in [KnownGateway::default(), KnownGateway::new(Some(TlsPin::parse(FP).unwrap()), true)] {
        let honest = plan_connection(&gw, &known, &DiscoveryPolicy::default());
        let mut txt = mdns_txt();
        txt.lan_host = Some("evil.example".into());
        txt.tailnet_dns = Some("evil.tail9999.ts.net".into());
        txt.tls_sha256 = Some(TlsPin::parse(OTHER_FP).unwrap());
        txt.gateway_port = Some(443);
        let spoofed = plan_connection(&mdns_gateway(txt), &known, &DiscoveryPolicy::default());
        assert_eq!(spoofed.endpoint, honest.endpoint, "route and pin unchanged");
        assert_eq!(spoofed.action, honest.action);
        assert_eq!(spoofed.gateway_id, honest.gateway_id);
        assert!(spoofed.notes.contains(&PlanNote::TxtHostIgnored("evil.example".into())));
        assert!(spoofed.notes.contains(&PlanNote::TxtHostIgnored("evil.tail9999.ts.net".into())));
        assert!(spoofed.notes.contains(&PlanNote::TxtPortIgnored { txt: 443, srv: 18789 }));
        let e = spoofed.endpoint.unwrap();
        assert_eq!(e.host, Host::Ip(ip("192.168.1.20")));
        assert_eq!(e.port, 18789);
    }
    // No resolved address: TXT hosts are not a fallback.
    let mut gw = mdns_gateway(mdns_txt());
    gw.addresses.clear();
    gw.host = None;
    let plan = plan_connection(&gw, &KnownGateway::default(), &DiscoveryPolicy::default());
    assert_eq!(plan.action, PlanAction::Refuse(PlanRefusal::NoAddress));
    assert_eq!(plan.endpoint, None);
    // The SRV host name routes when no address was resolved.
    let mut gw = mdns_gateway(mdns_txt());
    gw.addresses.clear();
    let plan = plan_connection(&gw, &KnownGateway::default(), &DiscoveryPolicy::default());
    assert_eq!(plan.endpoint.unwrap().url(), "wss://pi.local:18789/");
}

#[test]
fn plaintext_lan_route_only_when_the_policy_admits_it() {
    let mut txt = mdns_txt();
    txt.tls = None;
    txt.tls_sha256 = None;
    let gw = mdns_gateway(txt);
    let plan = plan_connection(&gw, &KnownGateway::default(), &DiscoveryPolicy::default());
    assert_eq!(plan.action, PlanAction::Refuse(PlanRefusal::PlaintextNotAllowed { address: "192.168.1.20".into() }));
    assert_eq!(plan.endpoint, None);
    let lan = DiscoveryPolicy::new(PlaintextPolicy::PrivateNetwork);
    let plan = plan_connection(&gw, &KnownGateway::default(), &lan);
    assert_eq!(plan.action, PlanAction::AskUser { probe_tls: false });
    let e = plan.endpoint.unwrap();
    assert_eq!(e.url(), "ws://192.168.1.20:18789/");
    assert_eq!(e.origin().to_string(), "ws://192.168.1.20:18789", "plaintext stays keyed by its address");
    assert_eq!(plan.gateway_id, "ws://192.168.1.20:18789");
    let plan = plan_connection(&gw, &KnownGateway::new(None, true), &lan);
    assert_eq!(plan.action, PlanAction::Connect);
    // A public address is never a plaintext route, even with the LAN policy.
    let public = DiscoveredGateway::new(
        "x",
        "local.",
        None,
        vec![ip("8.8.8.8")],
        18789,
        GatewayTxt::from_strings(&["role=gateway"]),
    );
    let plan = plan_connection(&public, &KnownGateway::default(), &lan);
    assert_eq!(plan.action, PlanAction::Refuse(PlanRefusal::PlaintextNotAllowed { address: "8.8.8.8".into() }));
    // A loopback answer is no route at all (see `loopback_and_unspecified_answers_never_route`).
    let local = DiscoveredGateway::new("x", "local.", None, vec![ip("127.0.0.1")], 18789, GatewayTxt::default());
    let plan = plan_connection(&local, &KnownGateway::default(), &DiscoveryPolicy::default());
    assert_eq!(plan.action, PlanAction::Refuse(PlanRefusal::NoAddress));
}

#[test]
fn address_choice_and_missing_port() {
    let gw = DiscoveredGateway::new(
        "x",
        "local.",
        None,
        vec![ip("::"), ip("fe80::2"), ip("169.254.0.9"), ip("fd00::5"), ip("100.64.0.9")],
        8443,
        mdns_txt(),
    );
    let plan = plan_connection(&gw, &KnownGateway::default(), &DiscoveryPolicy::default());
    assert_eq!(plan.endpoint.unwrap().url(), "wss://100.64.0.9:8443/");
    assert!(plan.notes.contains(&PlanNote::OtherAddresses(vec![ip("fd00::5"), ip("169.254.0.9")])));
    let mut no_port = gw.clone();
    no_port.port = 0;
    let plan = plan_connection(&no_port, &KnownGateway::default(), &DiscoveryPolicy::default());
    assert_eq!(plan.action, PlanAction::Refuse(PlanRefusal::NoPort));
}

/// Attack: a LAN host advertises the SAME instance name as a Gateway the node already holds
/// a device token for (so the same stable id), pointing at its own address and a TLS route
/// (an SRV host name it holds a public certificate for). Stored credentials without a
/// stored pin must not auto-connect: the stable id is claimable by anyone, and only the
/// pin ties it to the Gateway the token was issued by (transport.md §1.4/§4.2: auto-connect
/// only to a Gateway with a stored pin, "discovery cannot supply a pin").
#[test]
fn a_claimed_instance_name_without_a_stored_pin_never_auto_connects() {
    let real = mdns_gateway(mdns_txt());
    let mut txt = mdns_txt();
    txt.tls_sha256 = Some(TlsPin::parse(OTHER_FP).unwrap());
    let spoof =
        DiscoveredGateway::new("pi\\032\\040OpenClaw\\041", "local.", Some("gw.attacker.example"), vec![], 443, txt);
    assert_eq!(spoof.stable_id(), real.stable_id(), "the attacker claims the same stable id");
    let creds_no_pin = KnownGateway::new(None, true);
    for gw in [&real, &spoof] {
        let plan = plan_connection(gw, &creds_no_pin, &DiscoveryPolicy::default());
        assert_eq!(plan.action, PlanAction::AskUser { probe_tls: true }, "{}", gw.stable_id());
        assert_eq!(plan.endpoint.as_ref().and_then(|e| e.pin), None);
    }
    // With the stored pin it connects, pinned: the spoofer's certificate fails the handshake.
    let pin = TlsPin::parse(FP).unwrap();
    let plan = plan_connection(&spoof, &KnownGateway::new(Some(pin), true), &DiscoveryPolicy::default());
    assert_eq!(plan.action, PlanAction::Connect);
    assert_eq!(plan.endpoint.unwrap().pin, Some(pin));
}

/// Attack: a responder on the network answers with this machine's loopback (or the
/// unspecified address, which Linux connects to the local host) as the Gateway's address or
/// SRV target, to steer the node — with the credentials it was given — to a local service.
/// A discovery answer comes from the network: its loopback is never a route.
#[test]
fn loopback_and_unspecified_answers_never_route() {
    let plain = GatewayTxt::from_strings(&["role=gateway"]);
    for policy in [DiscoveryPolicy::default(), DiscoveryPolicy::new(PlaintextPolicy::PrivateNetwork)] {
        for (host, addrs) in [
            (None, vec![ip("127.0.0.1")]),
            (None, vec![ip("::1"), ip("0.0.0.0")]),
            (None, vec![ip("::ffff:127.0.0.1")]),
            (Some("localhost"), vec![]),
            (Some("localhost."), vec![ip("127.0.0.53")]),
            (Some("127.0.0.1"), vec![]),
            (Some("0.0.0.0"), vec![]),
            (Some("[::1]"), vec![]),
        ] {
            for txt in [plain.clone(), mdns_txt()] {
                let gw = DiscoveredGateway::new("x", "local.", host, addrs.clone(), 18789, txt);
                for known in [KnownGateway::default(), KnownGateway::new(Some(TlsPin::parse(FP).unwrap()), true)] {
                    let plan = plan_connection(&gw, &known, &policy);
                    assert_eq!(plan.endpoint, None, "{host:?} {addrs:?} {policy:?}: {:?}", plan.action);
                    assert!(matches!(plan.action, PlanAction::Refuse(_)), "{:?}", plan.action);
                }
            }
        }
    }
    // A usable address next to a loopback one is chosen.
    let gw = DiscoveredGateway::new("x", "local.", None, vec![ip("127.0.0.1"), ip("192.168.1.20")], 18789, mdns_txt());
    let plan = plan_connection(&gw, &KnownGateway::default(), &DiscoveryPolicy::default());
    assert_eq!(plan.endpoint.unwrap().url(), "wss://192.168.1.20:18789/");
}

/// Attack: a beacon whose instance name, SRV host or TXT values carry terminal control
/// sequences (ESC, CR/LF, C1 controls) or bidi overrides, printed next to the first-use
/// trust prompt (`gateway: <name>` above the fingerprint) — e.g. a fake
/// `fingerprint:` line followed by `ESC[8m` to conceal the real one. Every text a browser
/// hands over comes out printable.
#[test]
fn control_characters_from_the_network_are_neutralised() {
    let evil = "pi\n  fingerprint:  sha256:00\x1b[8m\r\u{9b}2J\u{202e}\u{7f}";
    let txt = GatewayTxt::from_strings(&[
        format!("displayName={evil}").into_bytes(),
        format!("lanHost={evil}").into_bytes(),
        format!("tailnetDns={evil}").into_bytes(),
        format!("cliPath={evil}").into_bytes(),
        format!("role={evil}").into_bytes(),
        format!("x-extra={evil}").into_bytes(),
        b"gatewayTls=1".to_vec(),
        b"k\x1b[8m=\xff".to_vec(),
        b"K\x1b[8m=2".to_vec(),
    ]);
    for issue in &txt.issues {
        assert!(!issue.to_string().chars().any(char::is_control), "{issue}");
    }
    assert_eq!(txt.issues.len(), 2, "{:?}", txt.issues);
    let gw = DiscoveredGateway::new(
        "pi\\027[8m\\010\\013 (OpenClaw)\u{202e}",
        "local.",
        Some(evil),
        vec![ip("192.168.1.20")],
        1,
        txt,
    );
    let t = &gw.txt;
    let texts = [
        gw.instance.clone(),
        gw.display_name(),
        gw.stable_id(),
        gw.host.clone().unwrap(),
        t.display_name.clone().unwrap(),
        t.lan_host.clone().unwrap(),
        t.tailnet_dns.clone().unwrap(),
        t.cli_path.clone().unwrap(),
        t.role.clone().unwrap(),
        t.other["x-extra"].clone().unwrap(),
    ];
    for s in &texts {
        assert!(!s.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)), "{s:?}");
    }
    assert!(gw.instance.starts_with("pi"), "{:?}", gw.instance);
    let plan = plan_connection(&gw, &KnownGateway::default(), &DiscoveryPolicy::default());
    for n in &plan.notes {
        if let PlanNote::TxtHostIgnored(h) = n {
            assert!(!h.chars().any(char::is_control), "{h:?}");
        }
    }
}
