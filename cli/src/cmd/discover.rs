//! `clawnode discover`: browse for Gateways (multicast DNS-SD on the local link and unicast
//! DNS-SD for `--domain`s) and print each with the plan the core makes for it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clawnode::discovery::{DiscoveredGateway, DiscoveryPolicy, PlanAction, PlanNote};
use clawnode::store::{CredentialStore, FileStore};
use serde_json::{Value, json};

use super::{CmdResult, plaintext_policy};
use crate::dirs::default_state_dir;
use crate::discovery::{self, BrowseOptions, action_text, plan_with_store};

/// Browse flags, shared by `discover`, `run --discover` and `pair --discover`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct BrowseArgs {
    /// Wide-area DNS-SD domain to browse by unicast DNS (repeatable), e.g. openclaw.internal.
    #[arg(long = "domain", value_name = "DOMAIN")]
    pub domains: Vec<String>,
    /// DNS server for --domain (IP or IP:PORT; default: the first nameserver of /etc/resolv.conf).
    #[arg(long, value_name = "ADDR")]
    pub nameserver: Option<String>,
    /// Skip multicast DNS (only the --domain browse).
    #[arg(long)]
    pub no_mdns: bool,
    /// How long to browse, in seconds (default 3).
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<f64>,
}

impl BrowseArgs {
    /// The browse options these flags ask for.
    pub fn options(&self) -> Result<BrowseOptions, String> {
        let nameserver = self.nameserver.as_deref().map(discovery::unicast::parse_nameserver).transpose()?;
        let timeout = match self.timeout {
            Some(t) if t.is_finite() && t > 0.0 && t <= 600.0 => Duration::from_secs_f64(t),
            Some(t) => return Err(format!("--timeout {t}: expected seconds in (0, 600]")),
            None => discovery::DEFAULT_TIMEOUT,
        };
        Ok(BrowseOptions { multicast: !self.no_mdns, domains: self.domains.clone(), nameserver, timeout })
    }
}

/// `clawnode discover` flags.
#[derive(clap::Args, Debug)]
pub struct DiscoverArgs {
    #[command(flatten)]
    browse: BrowseArgs,
    /// Print a JSON array.
    #[arg(long)]
    json: bool,
    /// State directory whose pins and device tokens the plans use (default:
    /// $CLAWNODE_STATE_DIR, else the XDG state dir; never created here).
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

/// The state directory's store and device id, when both exist (discover creates nothing).
pub fn existing_store(state_dir: Option<PathBuf>) -> Option<(FileStore, String)> {
    let dir = state_dir.unwrap_or_else(default_state_dir);
    if !dir.is_dir() {
        return None;
    }
    let store = FileStore::open(dir).ok()?;
    let id = store.load_identity().ok().flatten()?;
    let device = id.device_id().to_string();
    Some((store, device))
}

/// Browses and prints what it found.
pub async fn discover(args: DiscoverArgs) -> CmdResult {
    let opts = args.browse.options()?;
    let report = discovery::browse(&opts).await;
    for e in &report.errors {
        eprintln!("clawnode: discovery: {e}");
    }
    let stored = existing_store(args.state_dir);
    let policy = DiscoveryPolicy::new(plaintext_policy());
    let rows: Vec<Value> = report
        .gateways
        .iter()
        .map(|gw| {
            let plan = plan_with_store(gw, stored.as_ref().map(|(s, d)| (s, d.as_str())), &policy);
            row_json(gw, &plan)
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else if report.gateways.is_empty() {
        println!("no Gateway found");
    } else {
        for gw in &report.gateways {
            let plan = plan_with_store(gw, stored.as_ref().map(|(s, d)| (s, d.as_str())), &policy);
            print_human(gw, &plan);
        }
    }
    Ok(if report.gateways.is_empty() && !report.errors.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn print_human(gw: &DiscoveredGateway, plan: &clawnode::discovery::ConnectPlan) {
    let addrs: Vec<String> = gw.addresses.iter().map(ToString::to_string).collect();
    println!("{}", gw.display_name());
    println!("  instance:  {} ({})", gw.instance, gw.domain);
    println!("  resolved:  {}:{} [{}]", gw.host.as_deref().unwrap_or("-"), gw.port, addrs.join(", "));
    if let Some(fp) = plan.txt_fingerprint {
        println!("  TXT fingerprint (a hint, not trusted): sha256:{fp}");
    }
    if let Some(e) = &plan.endpoint {
        let pin = e.pin.map(|p| format!(" pinned sha256:{p}")).unwrap_or_default();
        println!("  connect:   {}{pin}", e.url());
    }
    println!("  plan:      {}", action_text(plan));
    println!("  id:        {}", gw.stable_id());
}

/// One JSON row: the instance as resolved, its TXT, and the plan.
fn row_json(gw: &DiscoveredGateway, plan: &clawnode::discovery::ConnectPlan) -> Value {
    let t = &gw.txt;
    let txt = json!({
        "role": t.role, "transport": t.transport, "displayName": t.display_name,
        "gatewayPort": t.gateway_port, "lanHost": t.lan_host, "tailnetDns": t.tailnet_dns,
        "gatewayTls": t.tls, "gatewayTlsSha256": t.tls_sha256.map(|p| p.to_hex()),
        "gatewayDirectReachable": t.direct_reachable, "sshPort": t.ssh_port, "cliPath": t.cli_path,
        "canvasPort": t.canvas_port, "other": t.other,
        "issues": t.issues.iter().map(ToString::to_string).collect::<Vec<_>>(),
    });
    let (action, probe) = match &plan.action {
        PlanAction::Connect => ("connect", false),
        PlanAction::AskUser { probe_tls } => ("ask", *probe_tls),
        PlanAction::Refuse(_) => ("refuse", false),
        _ => ("unknown", false),
    };
    let refusal = match &plan.action {
        PlanAction::Refuse(why) => Some(why.to_string()),
        _ => None,
    };
    let notes: Vec<String> = plan.notes.iter().map(note_text).collect();
    json!({
        "displayName": gw.display_name(),
        "instance": gw.instance,
        "domain": gw.domain,
        "stableId": gw.stable_id(),
        "host": gw.host,
        "addresses": gw.addresses.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "port": gw.port,
        "txt": txt,
        "plan": {
            "action": action,
            "probeTls": probe,
            "url": plan.endpoint.as_ref().map(|e| e.url()),
            "tls": plan.endpoint.as_ref().map(|e| e.tls),
            "pin": plan.endpoint.as_ref().and_then(|e| e.pin).map(|p| p.to_hex()),
            "gatewayId": plan.gateway_id,
            "txtFingerprint": plan.txt_fingerprint.map(|p| p.to_hex()),
            "refusal": refusal,
            "notes": notes,
        },
    })
}

/// A plan note in words.
pub fn note_text(n: &PlanNote) -> String {
    match n {
        PlanNote::TxtHostIgnored(h) => format!("TXT host {h} not used for routing"),
        PlanNote::TxtPortIgnored { txt, srv } => {
            format!("TXT gatewayPort {txt} differs from the SRV port {srv} (SRV used)")
        }
        PlanNote::TxtPinDiffers => "TXT fingerprint differs from the stored pin (stored pin used)".into(),
        PlanNote::TxtTlsIgnored => "TXT says no TLS but a pin is stored (TLS used)".into(),
        PlanNote::OtherAddresses(a) => {
            format!("other addresses: {}", a.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        }
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browse_flags() {
        let mut a = BrowseArgs { domains: vec!["openclaw.internal.".into()], ..BrowseArgs::default() };
        let o = a.options().unwrap();
        assert!(o.multicast);
        assert_eq!(o.timeout, discovery::DEFAULT_TIMEOUT);
        assert_eq!(o.nameserver, None);
        a.timeout = Some(0.5);
        a.nameserver = Some("100.64.0.53".into());
        a.no_mdns = true;
        let o = a.options().unwrap();
        assert!(!o.multicast);
        assert_eq!(o.timeout, Duration::from_millis(500));
        assert_eq!(o.nameserver.map(|s| s.to_string()).as_deref(), Some("100.64.0.53:53"));
        for bad in [0.0, -1.0, f64::NAN, 601.0] {
            a.timeout = Some(bad);
            assert!(a.options().is_err(), "{bad}");
        }
        a.timeout = None;
        a.nameserver = Some("dns.example".into());
        assert!(a.options().is_err());
    }
}
