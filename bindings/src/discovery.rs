//! Discovery for apps: the app browses natively (NWBrowser on iOS, NsdManager on Android,
//! zeroconf/the CLI in Python), resolves an `_openclaw-gw._tcp` instance, and hands the
//! resolved `(instance, domain, host, addresses, port, txt)` here; [`plan_connection`]
//! applies the core's rules (`clawnode::discovery`): the resolved address routes, never
//! the TXT; the TXT fingerprint is a hint, never a pin; TLS unless the plaintext policy
//! admits the address; trusted (a TLS route with a stored pin, or a plaintext route with stored
//! credentials) → connect, else ask the user after a TLS probe.

use std::collections::HashMap;
use std::net::IpAddr;

use clawnode::discovery::{
    DiscoveredGateway as CoreGateway, DiscoveryPolicy, GatewayTxt, KnownGateway as CoreKnown, PlanAction as CoreAction,
};
use clawnode::endpoint::TlsPin;

use crate::config::PlaintextPolicy;
use crate::error::NodeError;

/// One resolved `_openclaw-gw._tcp` instance, as the platform browser reports it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DiscoveredGateway {
    /// Instance name (DNS-SD `\DDD` escapes are decoded), e.g. `pi (OpenClaw)`.
    pub instance: String,
    /// Browse domain: `local.` or a wide-area domain such as `openclaw.internal.`.
    #[uniffi(default = "local.")]
    pub domain: String,
    /// The SRV target host name, if the platform reports it.
    #[uniffi(default = None)]
    pub host: Option<String>,
    /// Resolved A/AAAA addresses (IP literals; others are ignored).
    #[uniffi(default = [])]
    pub addresses: Vec<String>,
    /// The SRV port.
    pub port: u16,
    /// The TXT record as key → value (a key without a value: empty string).
    pub txt: HashMap<String, String>,
}

/// What the app has stored for this Gateway (under [`ConnectPlan::gateway_id`]).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct KnownGateway {
    /// The stored pin (64 hex), if any.
    #[uniffi(default = None)]
    pub pin: Option<String>,
    /// Whether credentials (a device token) for this Gateway are stored.
    #[uniffi(default = false)]
    pub has_credentials: bool,
}

/// What to do with a discovered Gateway.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PlanAction {
    /// Trusted already: connecting without asking is allowed.
    Connect,
    /// Ask the user. With `probe_tls`: run `probe_tls` on `url` first, show the observed
    /// fingerprint (and `txt_fingerprint` as an unauthenticated hint), and on consent store
    /// it under `gateway_id` and connect with it as the pin.
    AskUser {
        /// Probe the certificate first.
        probe_tls: bool,
    },
    /// Do not connect.
    Refuse {
        /// Why, for the user.
        reason: String,
    },
}

/// How to connect to a discovered Gateway.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ConnectPlan {
    /// Key for the pin and credentials: the Gateway's stable id on TLS routes
    /// (`_openclaw-gw._tcp.|<domain>|<instance>`), the `ws://` origin on a plaintext route.
    pub gateway_id: String,
    /// The stable id (also for plaintext routes).
    pub stable_id: String,
    /// What to show.
    pub display_name: String,
    /// The URL to connect to (the resolved address and SRV port); `None` when refused.
    pub url: Option<String>,
    /// The pin to connect with (the stored one; never the TXT's).
    pub pin: Option<String>,
    /// The action.
    pub action: PlanAction,
    /// The TXT `gatewayTlsSha256`: a hint to show next to the probed fingerprint.
    pub txt_fingerprint: Option<String>,
    /// What the plan saw and did not use (TXT hosts, ports, a differing TXT pin).
    pub notes: Vec<String>,
}

impl DiscoveredGateway {
    fn to_core(&self) -> CoreGateway {
        let addresses: Vec<IpAddr> = self
            .addresses
            .iter()
            .filter_map(|a| a.trim().trim_start_matches('[').trim_end_matches(']').split('%').next()?.parse().ok())
            .collect();
        let pairs = self.txt.iter().map(|(k, v)| (k.as_str(), Some(v.as_bytes())));
        CoreGateway::new(
            &self.instance,
            &self.domain,
            self.host.as_deref(),
            addresses,
            self.port,
            GatewayTxt::from_pairs(pairs),
        )
    }
}

/// The stable id a discovered Gateway's pin and credentials are stored under (look the
/// stored pin up with it before calling [`plan_connection`]).
#[uniffi::export]
pub fn discovered_gateway_stable_id(gateway: DiscoveredGateway) -> String {
    gateway.to_core().stable_id()
}

/// Applies the discovery rules to `gateway` with what the app stored for it.
#[uniffi::export]
pub fn plan_connection(
    gateway: DiscoveredGateway,
    known: KnownGateway,
    plaintext_policy: Option<PlaintextPolicy>,
) -> Result<ConnectPlan, NodeError> {
    let gw = gateway.to_core();
    let pin = known
        .pin
        .as_deref()
        .map(TlsPin::parse)
        .transpose()
        .map_err(|e| NodeError::InvalidConfig { detail: format!("stored pin: {e}") })?;
    let policy = DiscoveryPolicy::new(plaintext_policy.unwrap_or_else(PlaintextPolicy::platform_default).into());
    let plan = clawnode::discovery::plan_connection(&gw, &CoreKnown::new(pin, known.has_credentials), &policy);
    let action = match &plan.action {
        CoreAction::Connect => PlanAction::Connect,
        CoreAction::AskUser { probe_tls } => PlanAction::AskUser { probe_tls: *probe_tls },
        CoreAction::Refuse(why) => PlanAction::Refuse { reason: why.to_string() },
        other => PlanAction::Refuse { reason: format!("unsupported plan {other:?}") },
    };
    Ok(ConnectPlan {
        gateway_id: plan.gateway_id.clone(),
        stable_id: gw.stable_id(),
        display_name: gw.display_name(),
        url: plan.endpoint.as_ref().map(|e| e.url()),
        pin: plan.endpoint.as_ref().and_then(|e| e.pin).map(|p| p.to_hex()),
        action,
        txt_fingerprint: plan.txt_fingerprint.map(|p| p.to_hex()),
        notes: plan.notes.iter().map(|n| format!("{n:?}")).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_through_the_ffi_records() {
        let fp = "ab".repeat(32);
        let gw = DiscoveredGateway {
            instance: "pi\\032(OpenClaw)".into(),
            domain: "local.".into(),
            host: Some("pi.local.".into()),
            addresses: vec!["fe80::1%en0".into(), "192.168.1.20".into()],
            port: 18789,
            txt: HashMap::from([
                ("gatewayTls".to_string(), "1".to_string()),
                ("gatewayTlsSha256".to_string(), fp.clone()),
                ("lanHost".to_string(), "evil.example".to_string()),
            ]),
        };
        assert_eq!(discovered_gateway_stable_id(gw.clone()), "_openclaw-gw._tcp.|local.|pi (OpenClaw)");
        let plan = plan_connection(gw.clone(), KnownGateway::default(), None).unwrap();
        assert_eq!(plan.url.as_deref(), Some("wss://192.168.1.20:18789/"));
        assert_eq!(plan.pin, None);
        assert_eq!(plan.action, PlanAction::AskUser { probe_tls: true });
        assert_eq!(plan.txt_fingerprint.as_deref(), Some(fp.as_str()));
        assert_eq!(plan.gateway_id, plan.stable_id);
        // A stored device token without a stored pin does not make the route trusted.
        let plan = plan_connection(gw.clone(), KnownGateway { pin: None, has_credentials: true }, None).unwrap();
        assert_eq!(plan.action, PlanAction::AskUser { probe_tls: true });
        let known = KnownGateway { pin: Some("cd".repeat(32)), has_credentials: true };
        let plan = plan_connection(gw, known, None).unwrap();
        assert_eq!(plan.action, PlanAction::Connect);
        assert_eq!(plan.pin, Some("cd".repeat(32)));
    }
}
