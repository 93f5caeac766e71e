//! From a discovered Gateway to a connection: the rules of transport.md §4 applied to what
//! the host has stored for that Gateway.

use std::net::IpAddr;

use super::DiscoveredGateway;
use crate::endpoint::{Endpoint, Host, NetworkClass, PlaintextPolicy, TlsPin, classify_host_str, classify_ip};

/// What the host has stored for a discovered Gateway (looked up by
/// [`DiscoveredGateway::stable_id`]; for a plaintext route by its address origin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KnownGateway {
    /// The pin stored for the stable id (user-confirmed earlier, or from a setup code).
    pub pin: Option<TlsPin>,
    /// Whether credentials (a device token) for this Gateway are stored.
    pub has_credentials: bool,
}

impl KnownGateway {
    /// Stored pin and whether credentials exist.
    pub fn new(pin: Option<TlsPin>, has_credentials: bool) -> Self {
        KnownGateway { pin, has_credentials }
    }
}

/// The host's policy for discovered Gateways.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiscoveryPolicy {
    /// Which plaintext routes the user admitted (default: loopback only, so a discovered
    /// Gateway on the LAN needs TLS). `PrivateNetwork` is the "plaintext LAN route" choice.
    pub plaintext: PlaintextPolicy,
}

impl DiscoveryPolicy {
    /// A policy with this plaintext rule.
    pub fn new(plaintext: PlaintextPolicy) -> Self {
        DiscoveryPolicy { plaintext }
    }
}

/// What to do with the plan's endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanAction {
    /// Already trusted (a TLS route with a stored pin, or stored credentials on an admitted
    /// plaintext route): connecting without asking is allowed. Stored credentials alone never
    /// make a TLS route trusted (the stable id they are keyed by can be claimed by anyone).
    Connect,
    /// Not trusted yet: ask the user. With `probe_tls`, first run the TLS probe
    /// (`transport::probe_tls`) on the endpoint, show the observed fingerprint next to the
    /// TXT hint, and on consent store it as the pin for [`ConnectPlan::gateway_id`] and connect
    /// with it. Without (an admitted plaintext route), ask before sending anything.
    AskUser {
        /// Probe the certificate first.
        probe_tls: bool,
    },
    /// Do not connect.
    Refuse(PlanRefusal),
}

/// Why a discovered Gateway cannot be connected to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanRefusal {
    /// No SRV port.
    #[error("the service has no resolved port")]
    NoPort,
    /// No resolved address and no SRV host name (TXT hosts never route).
    #[error("the service has no resolved address (TXT lanHost/tailnetDns are not used for routing)")]
    NoAddress,
    /// The Gateway advertises no TLS and the policy admits no plaintext route to it.
    #[error(
        "TLS required: the Gateway at {address} advertises no TLS and plaintext to it is not allowed (a plaintext LAN route needs OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1 or the app's private-network setting)"
    )]
    PlaintextNotAllowed {
        /// The resolved address.
        address: String,
    },
    /// The resolved host is not a valid endpoint host.
    #[error("the resolved host {0:?} is not a valid gateway host")]
    InvalidHost(String),
}

/// Things the plan noticed and deliberately did not act on (for logs and UI).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanNote {
    /// TXT `lanHost`/`tailnetDns` name a host other than the resolved one: not used.
    TxtHostIgnored(String),
    /// TXT `gatewayPort` differs from the SRV port: the SRV port is used.
    TxtPortIgnored {
        /// The TXT value.
        txt: u16,
        /// The SRV port used.
        srv: u16,
    },
    /// The TXT fingerprint differs from the stored pin: the stored pin is used.
    TxtPinDiffers,
    /// TXT says no TLS, but a pin is stored: TLS with the pin is used.
    TxtTlsIgnored,
    /// Other resolved addresses that were not chosen.
    OtherAddresses(Vec<IpAddr>),
}

/// How to connect to a discovered Gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectPlan {
    /// The key for the pin and credentials: the stable id for TLS routes, the address
    /// origin for a plaintext route (equal to `endpoint.origin()`).
    pub gateway_id: String,
    /// The endpoint: the resolved address and SRV port, TLS unless an admitted plaintext
    /// route; pinned when a pin is stored. `None` when `action` is `Refuse`.
    pub endpoint: Option<Endpoint>,
    /// What to do.
    pub action: PlanAction,
    /// The TXT `gatewayTlsSha256`, to show next to the probed fingerprint. Never a pin.
    pub txt_fingerprint: Option<TlsPin>,
    /// What the plan saw and did not use.
    pub notes: Vec<PlanNote>,
}

/// Rank of an address for connecting (`None`: unusable). IPv6 link-local addresses are
/// unusable here: their zone (the interface) is not part of a URL. Loopback is unusable: a
/// discovery answer comes from the network, and its loopback (or the unspecified address,
/// which reaches the local host) would steer the node to a local service.
fn rank(ip: &IpAddr) -> Option<u8> {
    if points_here(ip) {
        return None;
    }
    match ip {
        IpAddr::V4(v4) if v4.is_link_local() => Some(2),
        IpAddr::V4(_) => Some(0),
        IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80 => None,
        IpAddr::V6(_) => Some(1),
    }
}

/// Whether `ip`, as a discovery answer or what a discovered name resolves to, would reach
/// this host (loopback, or the unspecified address, which Linux connects to the local
/// host) or is no host at all (multicast): never a route for a discovered Gateway.
pub(crate) fn points_here(ip: &IpAddr) -> bool {
    ip.is_unspecified() || ip.is_multicast() || classify_ip(*ip) == NetworkClass::Loopback
}

/// Whether an SRV target name may route: not `localhost`, and not an IP literal that
/// [`rank`] refuses. (A name that is no valid host is refused later, as `InvalidHost`.)
fn usable_name(name: &str) -> bool {
    match Endpoint::from_host_port(name, None, true).map(|e| e.host) {
        Ok(Host::Ip(ip)) => rank(&ip).is_some(),
        Ok(Host::Name(n)) => classify_host_str(&n) != Some(NetworkClass::Loopback),
        Err(_) => true,
    }
}

/// Applies the discovery rules (module docs of [`super`]) to `gw` with what is stored for
/// it and the host's policy. Pure and deterministic.
pub fn plan_connection(gw: &DiscoveredGateway, known: &KnownGateway, policy: &DiscoveryPolicy) -> ConnectPlan {
    let mut notes = Vec::new();
    let txt = &gw.txt;
    // TLS decision: a stored pin always means TLS; otherwise the TXT's gatewayTls, with
    // plaintext only where the policy admits the resolved address.
    let pinned = known.pin.is_some();
    if pinned && !txt.says_tls() {
        notes.push(PlanNote::TxtTlsIgnored);
    }
    let tls = pinned || txt.says_tls();
    let mut candidates: Vec<IpAddr> = gw.addresses.iter().copied().filter(|ip| rank(ip).is_some()).collect();
    candidates.sort_by_key(|ip| rank(ip).unwrap_or(u8::MAX));
    candidates.dedup();
    if !tls {
        // Only addresses the policy admits for plaintext.
        candidates.retain(|ip| policy.plaintext.allows(classify_ip(*ip)));
    }
    let any_usable = gw.addresses.iter().any(|ip| rank(ip).is_some());
    let host: Option<(Host, String)> = match candidates.first() {
        Some(ip) => Some((Host::Ip(*ip), ip.to_string())),
        // The SRV target name only when nothing was resolved (not to dodge the policy).
        None if !any_usable => gw.host.as_ref().filter(|h| usable_name(h)).map(|h| (Host::Name(h.clone()), h.clone())),
        None => None,
    };
    if candidates.len() > 1 {
        notes.push(PlanNote::OtherAddresses(candidates[1..].to_vec()));
    }
    for hint in [&txt.lan_host, &txt.tailnet_dns].into_iter().flatten() {
        let h = hint.trim_end_matches('.').to_ascii_lowercase();
        if gw.host.as_deref() != Some(h.as_str()) {
            notes.push(PlanNote::TxtHostIgnored(hint.clone()));
        }
    }
    if let Some(p) = txt.gateway_port.filter(|p| *p != gw.port && gw.port != 0) {
        notes.push(PlanNote::TxtPortIgnored { txt: p, srv: gw.port });
    }
    if let (Some(hint), Some(pin)) = (txt.tls_sha256, known.pin)
        && !hint.ct_eq(&pin)
    {
        notes.push(PlanNote::TxtPinDiffers);
    }
    let refuse = |why: PlanRefusal, notes: Vec<PlanNote>| ConnectPlan {
        gateway_id: gw.stable_id(),
        endpoint: None,
        action: PlanAction::Refuse(why),
        txt_fingerprint: txt.tls_sha256,
        notes,
    };
    if gw.port == 0 {
        return refuse(PlanRefusal::NoPort, notes);
    }
    let Some((host, shown)) = host else {
        let why = match (tls, gw.addresses.iter().find(|ip| rank(ip).is_some())) {
            (false, Some(ip)) => PlanRefusal::PlaintextNotAllowed { address: ip.to_string() },
            _ => PlanRefusal::NoAddress,
        };
        return refuse(why, notes);
    };
    if !tls {
        let class = match &host {
            Host::Ip(ip) => Some(classify_ip(*ip)),
            Host::Name(n) => classify_host_str(n),
        };
        if !class.is_some_and(|c| policy.plaintext.allows(c)) {
            return refuse(PlanRefusal::PlaintextNotAllowed { address: shown }, notes);
        }
    }
    let endpoint = match Endpoint::from_host_port(&shown, Some(gw.port), tls) {
        Ok(e) => e,
        Err(_) => return refuse(PlanRefusal::InvalidHost(shown), notes),
    };
    let endpoint = if tls {
        // TLS routes are keyed by the stable id: the pin protects whatever address the
        // name resolves to next time. The pin is set only from the store, never from TXT.
        match endpoint.with_pin(known.pin) {
            Ok(e) => e.discovered_as(gw.stable_id()),
            Err(_) => return refuse(PlanRefusal::InvalidHost(shown), notes),
        }
    } else {
        endpoint
    };
    // A TLS route is trusted by its stored pin alone: stored credentials are keyed by the
    // stable id, which anyone on the network can claim, and without the pin a certificate
    // for an attacker-chosen SRV host (or address) would pass system trust.
    let action = match (tls, pinned, known.has_credentials) {
        (true, true, _) | (false, _, true) => PlanAction::Connect,
        (true, false, _) => PlanAction::AskUser { probe_tls: true },
        (false, _, false) => PlanAction::AskUser { probe_tls: false },
    };
    ConnectPlan {
        gateway_id: endpoint.origin().to_string(),
        endpoint: Some(endpoint),
        action,
        txt_fingerprint: txt.tls_sha256,
        notes,
    }
}
