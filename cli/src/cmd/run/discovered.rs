//! `run --discover [NAME]` (and `pair --discover`): browse, pick the Gateway, and follow the
//! core's discovery plan — connect when trusted; on first use of a TLS Gateway probe its
//! certificate, show the fingerprint (next to the unauthenticated TXT hint) and pin it only
//! after consent (a terminal answer or `--trust-fingerprint`).

use std::ops::ControlFlow;
use std::process::ExitCode;

use clawnode::Credentials;
use clawnode::discovery::{ConnectPlan, DiscoveredGateway, DiscoveryPolicy, PlanAction};
use clawnode::endpoint::TlsPin;
use clawnode::store::PinStore;

use super::RunArgs;
use super::target::{Resolution, Setup, Target, explicit};
use crate::cmd::discover::note_text;
use crate::cmd::trust::colon_form;
use crate::cmd::{EXIT_PAUSED, plaintext_policy};
use crate::discovery::{self, action_text};
use crate::status;

fn paused(msg: &str) -> Resolution {
    status::line(&format!("paused: {msg}"));
    Ok(ControlFlow::Break(ExitCode::from(EXIT_PAUSED)))
}

/// Whether `gw` answers to `name` (display name, instance name, stable id, or one of its
/// plaintext routes `ws://<address>:<port>`; ASCII case-insensitive). The empty name matches
/// every Gateway.
fn matches(gw: &DiscoveredGateway, name: &str) -> bool {
    let n = name.trim();
    n.is_empty()
        || [gw.display_name(), gw.instance.clone(), gw.stable_id()].iter().any(|c| c.eq_ignore_ascii_case(n))
        || gw.addresses.iter().any(|ip| plaintext_route(*ip, gw.port).is_some_and(|r| r.eq_ignore_ascii_case(n)))
}

/// `ws://<address>:<port>`: a plaintext route as a plan names it (its `gateway_id`).
fn plaintext_route(ip: std::net::IpAddr, port: u16) -> Option<String> {
    clawnode::Endpoint::from_host_port(&ip.to_string(), Some(port), false).ok().map(|e| e.origin().to_string())
}

/// Whether `--discover NAME` named the plan's route itself (`ws://<address>:<port>`).
fn picked_route(name: &str, plan: &ConnectPlan) -> bool {
    name.trim().eq_ignore_ascii_case(&plan.gateway_id)
}

/// Consent to a first plaintext LAN route: anyone on the network can advertise a Gateway's
/// name, so the plaintext policy alone is not the pick of a route (transport.md §4): the
/// user named this route (`--discover ws://<address>:<port>`) or confirms it at a terminal.
fn plaintext_consent(name: &str, plan: &ConnectPlan, url: &str) -> Result<bool, std::io::Error> {
    if picked_route(name, plan) {
        return Ok(true);
    }
    if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        status::line(&format!(
            "paused: first use of the plaintext LAN route {url}: anyone on the network can advertise this Gateway's \
             name, and the credentials would cross the network in clear; verify the address, then re-run with \
             --discover {}; nothing was sent",
            plan.gateway_id
        ));
        return Ok(false);
    }
    print!(
        "Send the credentials in clear to {url} (verify the address: anyone on the network can advertise a name)? [y/N] "
    );
    std::io::Write::flush(&mut std::io::stdout())?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// Browses, picks one Gateway and turns its plan into a target.
pub(super) async fn resolve(args: &RunArgs, name: &str, setup: &Setup) -> Resolution {
    let opts = args.browse.options()?;
    status::line(&format!(
        "discovering Gateways ({}{}) for {:?}",
        if opts.multicast { "mDNS" } else { "" },
        opts.domains.iter().map(|d| format!(" {d}")).collect::<String>(),
        opts.timeout
    ));
    let report = discovery::browse(&opts).await;
    for e in &report.errors {
        status::line(&format!("discovery: {e}"));
    }
    let found: Vec<&DiscoveredGateway> = report.gateways.iter().filter(|g| matches(g, name)).collect();
    let gw = match found.as_slice() {
        [one] => *one,
        [] if name.is_empty() => return paused("no Gateway found"),
        [] => return paused(&format!("no Gateway named {name:?} found")),
        many => {
            let names: Vec<String> = many.iter().map(|g| format!("{:?}", g.stable_id())).collect();
            return paused(&format!("several Gateways found ({}); name one with --discover NAME", names.join(", ")));
        }
    };
    let policy = DiscoveryPolicy::new(plaintext_policy());
    // The device id only matters for the stored-token lookup, which `has_stored_token` does.
    let pin = setup.file_store.load_pin(&gw.stable_id())?;
    let plan0 = clawnode::discovery::plan_connection(gw, &clawnode::discovery::KnownGateway::new(pin, false), &policy);
    let has_token = plan0.endpoint.is_some() && setup.has_stored_token(&plan0.gateway_id);
    let plan =
        clawnode::discovery::plan_connection(gw, &clawnode::discovery::KnownGateway::new(pin, has_token), &policy);
    status::line(&format!("found {} ({}): {}", gw.display_name(), gw.stable_id(), action_text(&plan)));
    for n in &plan.notes {
        status::line(&format!("discovery: {}", note_text(n)));
    }
    if let PlanAction::Refuse(why) = &plan.action {
        return paused(&why.to_string());
    }
    let explicit = explicit(args, None)?;
    if explicit.token.is_none() && explicit.password.is_none() && !has_token {
        return paused(&format!(
            "a discovered Gateway gets explicit credentials only: pass --token-file or --password-file \
             (no device token stored for {})",
            plan.gateway_id
        ));
    }
    let credentials = Credentials { shared_token: explicit.token, password: explicit.password, bootstrap_token: None };
    let Some(endpoint) = plan.endpoint.clone() else {
        return paused(&action_text(&plan));
    };
    let endpoint = match &plan.action {
        PlanAction::Connect => endpoint,
        PlanAction::AskUser { probe_tls: true } => match first_use(args, gw, &plan, setup).await? {
            Some(pin) => endpoint.with_pin(Some(pin))?,
            None => return Ok(ControlFlow::Break(ExitCode::from(EXIT_PAUSED))),
        },
        PlanAction::AskUser { probe_tls: false } => {
            // The plaintext policy (OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1) admits the route; the
            // user still picks it.
            if !plaintext_consent(name, &plan, &endpoint.url())? {
                return Ok(ControlFlow::Break(ExitCode::from(EXIT_PAUSED)));
            }
            status::line(&format!("plaintext LAN route to {} (admitted by the plaintext policy)", endpoint.url()));
            endpoint
        }
        PlanAction::Refuse(why) => return paused(&why.to_string()),
        other => return paused(&format!("unsupported plan {other:?}")),
    };
    Ok(ControlFlow::Continue(Target {
        endpoint,
        credentials,
        source: "discovery",
        pending_pairing: None,
        tunnel: None,
    }))
}

/// First use of a discovered TLS Gateway: probe, show, get consent, store the pin under the
/// stable id. `None`: not trusted (the reason was printed).
async fn first_use(
    args: &RunArgs,
    gw: &DiscoveredGateway,
    plan: &ConnectPlan,
    setup: &Setup,
) -> Result<Option<TlsPin>, Box<dyn std::error::Error>> {
    let Some(endpoint) = &plan.endpoint else { return Ok(None) };
    let probe = match clawnode::transport::probe_tls(endpoint, &setup.transport).await {
        Ok(p) => p,
        Err(e) => {
            status::line(&format!("paused: TLS probe of {} failed: {e}", endpoint.url()));
            return Ok(None);
        }
    };
    let fp = probe.fingerprint;
    println!("gateway:      {} at {}", gw.display_name(), endpoint.url());
    println!("fingerprint:  sha256:{fp}");
    println!("              {}", colon_form(&fp));
    match plan.txt_fingerprint {
        Some(h) if h.ct_eq(&fp) => println!("TXT hint:     matches (the TXT is unauthenticated: verify out of band)"),
        Some(h) => println!("TXT hint:     DIFFERS: the TXT advertised sha256:{h} (unauthenticated; not used)"),
        None => println!("TXT hint:     none"),
    }
    match &probe.system_error {
        None => println!("system trust: passes"),
        Some(e) => println!("system trust: fails ({e})"),
    }
    let accepted = match &args.trust_fingerprint {
        Some(given) => {
            let given = TlsPin::parse(given).map_err(|e| format!("--trust-fingerprint: {e}"))?;
            if !given.ct_eq(&fp) {
                status::line(&format!(
                    "paused: the Gateway presented sha256:{fp}, not the --trust-fingerprint sha256:{given}; nothing was sent"
                ));
                return Ok(None);
            }
            true
        }
        None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            print!(
                "Verify this fingerprint out of band (on the Gateway host: openssl x509 -noout -fingerprint -sha256 -in gateway-cert.pem). Trust it? [y/N] "
            );
            std::io::Write::flush(&mut std::io::stdout())?;
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
        }
        None => {
            status::line(&format!(
                "paused: first use of {}: verify the fingerprint out of band, then re-run with --trust-fingerprint sha256:{fp}",
                gw.stable_id()
            ));
            return Ok(None);
        }
    };
    if !accepted {
        status::line("paused: not trusted");
        return Ok(None);
    }
    setup.file_store.save_pin(&plan.gateway_id, &fp)?;
    status::line(&format!("pinned sha256:{fp} for {}", plan.gateway_id));
    Ok(Some(fp))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawnode::discovery::GatewayTxt;

    #[test]
    fn names_match_display_instance_or_id() {
        let txt = GatewayTxt::from_strings(&["displayName=pi"]);
        let gw = DiscoveredGateway::new("pi\\032(OpenClaw)", "local.", None, vec![], 1, txt);
        for n in ["", "pi", "PI", "pi (openclaw)", "_openclaw-gw._tcp.|local.|pi (OpenClaw)", "  pi "] {
            assert!(matches(&gw, n), "{n:?}");
        }
        for n in ["p", "pi (OpenClaw) 2", "_openclaw-gw._tcp.|openclaw.internal.|pi (OpenClaw)"] {
            assert!(!matches(&gw, n), "{n:?}");
        }
    }

    /// Attack: with the LAN plaintext policy on, a host that advertises a paired Gateway's
    /// name from its own address would be sent the shared token (`--token-file`) in clear.
    /// The policy admits plaintext routes; only the user picks one: by naming it, or at a
    /// terminal (tests run without one).
    #[test]
    fn a_plaintext_route_needs_the_user_to_pick_it() {
        use clawnode::discovery::{DiscoveryPolicy, KnownGateway, plan_connection};
        use clawnode::endpoint::PlaintextPolicy;
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let txt = GatewayTxt::from_strings(&["role=gateway"]);
        let gw = DiscoveredGateway::new("pi (OpenClaw)", "local.", None, vec![ip("192.168.1.66")], 18789, txt);
        let plan =
            plan_connection(&gw, &KnownGateway::default(), &DiscoveryPolicy::new(PlaintextPolicy::PrivateNetwork));
        assert_eq!(plan.action, PlanAction::AskUser { probe_tls: false });
        for name in ["", "pi", "_openclaw-gw._tcp.|local.|pi (OpenClaw)", "ws://192.168.1.20:18789"] {
            assert!(!picked_route(name, &plan), "{name:?}");
        }
        assert!(matches(&gw, "ws://192.168.1.66:18789"));
        assert!(!matches(&gw, "ws://192.168.1.20:18789"));
        assert!(picked_route(" WS://192.168.1.66:18789 ", &plan));
        let v6 = DiscoveredGateway::new("x", "local.", None, vec![ip("fd00::66")], 1, GatewayTxt::default());
        assert!(matches(&v6, "ws://[fd00::66]:1"));
    }
}
