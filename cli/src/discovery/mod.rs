//! Browsing for Gateways on Linux (transport.md §4): multicast DNS-SD on the local link
//! ([`mdns`], one-shot legacy-unicast queries) and unicast wide-area DNS-SD for configured domains
//! ([`unicast`], PTR → SRV → TXT → A/AAAA with `hickory-proto` messages). Both hand
//! resolved instances to the core ([`clawnode::discovery`]), which decides what to do with
//! them; nothing here routes by TXT.

pub mod mdns;
mod records;
pub mod unicast;

use std::net::SocketAddr;
use std::time::Duration;

use clawnode::discovery::DiscoveredGateway;

/// Default browse time.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);

/// What to browse.
#[derive(Debug, Clone)]
pub struct BrowseOptions {
    /// Multicast DNS-SD on `local.`.
    pub multicast: bool,
    /// Wide-area domains (unicast DNS-SD), e.g. `openclaw.internal.`.
    pub domains: Vec<String>,
    /// The DNS server for wide-area queries (default: the first `nameserver` of
    /// `/etc/resolv.conf`).
    pub nameserver: Option<SocketAddr>,
    /// How long to browse.
    pub timeout: Duration,
}

/// What a browse found, and what failed on the way (a failed source does not hide the
/// others' results).
#[derive(Debug, Default)]
pub struct BrowseReport {
    /// Resolved instances, multicast first, each once (by stable id).
    pub gateways: Vec<DiscoveredGateway>,
    /// Errors per source (`mdns: …`, `openclaw.internal.: …`).
    pub errors: Vec<String>,
}

/// Browses every requested source concurrently for `opts.timeout`.
pub async fn browse(opts: &BrowseOptions) -> BrowseReport {
    let mut report = BrowseReport::default();
    let timeout = opts.timeout;
    let multicast = opts.multicast.then(|| tokio::spawn(mdns::browse(timeout)));
    let nameserver = match opts.nameserver {
        Some(ns) => Ok(ns),
        None if opts.domains.is_empty() => Err(String::new()),
        None => unicast::system_nameserver(),
    };
    let mut unicast = Vec::new();
    for domain in &opts.domains {
        match &nameserver {
            Ok(ns) => unicast.push((domain.clone(), unicast::browse_domain(domain, *ns, timeout).await)),
            Err(e) => report.errors.push(format!("{domain}: {e}")),
        }
    }
    if let Some(task) = multicast {
        match task.await {
            Ok(Ok(found)) => report.gateways.extend(found),
            Ok(Err(e)) => report.errors.push(format!("mdns: {e}")),
            Err(e) => report.errors.push(format!("mdns: {e}")),
        }
    }
    for (domain, result) in unicast {
        match result {
            Ok(found) => report.gateways.extend(found),
            Err(e) => report.errors.push(format!("{domain}: {e}")),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    report.gateways.retain(|g| seen.insert(g.stable_id()));
    report
}

/// The core's plan for `gw` with what the state directory holds: the pin stored under the
/// Gateway's stable id, and whether a node device token is stored for the plan's key.
pub fn plan_with_store(
    gw: &DiscoveredGateway,
    store: Option<(&clawnode::store::FileStore, &str)>,
    policy: &clawnode::discovery::DiscoveryPolicy,
) -> clawnode::discovery::ConnectPlan {
    use clawnode::discovery::{KnownGateway, plan_connection};
    use clawnode::store::{CredentialStore, PinStore, TokenKey};
    let pin = store.and_then(|(s, _)| s.load_pin(&gw.stable_id()).ok().flatten());
    let first = plan_connection(gw, &KnownGateway::new(pin, false), policy);
    let has_token = match (store, &first.endpoint) {
        (Some((s, device_id)), Some(_)) => {
            let key = TokenKey {
                origin: first.gateway_id.clone(),
                device_id: device_id.to_string(),
                role: clawnode::protocol::Role::Node,
            };
            matches!(s.load_token(&key), Ok(Some(_)))
        }
        _ => false,
    };
    if has_token { plan_connection(gw, &KnownGateway::new(pin, true), policy) } else { first }
}

/// The plan's action in words.
pub fn action_text(plan: &clawnode::discovery::ConnectPlan) -> String {
    use clawnode::discovery::PlanAction;
    match &plan.action {
        PlanAction::Connect => "connect (trusted: stored pin, or credentials on a plaintext route)".into(),
        PlanAction::AskUser { probe_tls: true } => "ask: probe the certificate, confirm its fingerprint".into(),
        PlanAction::AskUser { .. } => "ask: plaintext LAN route".into(),
        PlanAction::Refuse(why) => format!("refuse: {why}"),
        other => format!("{other:?}"),
    }
}
