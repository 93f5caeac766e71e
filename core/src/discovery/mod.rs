//! Discovery of Gateways (`_openclaw-gw._tcp`, transport.md §4), the platform-independent
//! half: the TXT record ([`GatewayTxt`]), a resolved instance ([`DiscoveredGateway`]) and the
//! rules that turn it into a connection ([`plan_connection`] → [`ConnectPlan`]).
//!
//! Pure: no sockets, no clocks. Each platform browses with its native resolver (NWBrowser,
//! NsdManager, the CLI's multicast and unicast DNS-SD browser) and hands the resolved
//! `(instance, domain, host, addresses, port, txt)` to this module.
//!
//! The rules, in one place ([`plan_connection`]):
//! - TXT is unauthenticated: it never routes (`lanHost`, `tailnetDns`, `gatewayPort` are
//!   display hints) and never authorises; the SRV/A/AAAA-resolved endpoint routes, except
//!   loopback, unspecified and multicast answers (they come from the network and would
//!   steer the node to its own host).
//! - A TXT fingerprint is a hint shown next to the probed one, never a pin.
//! - TLS unless the plaintext policy admits the resolved address and the Gateway advertises no
//!   TLS; a stored pin always means TLS with that pin, whatever the TXT says.
//! - Already trusted (a stored pin, or stored credentials on an admitted plaintext route) →
//!   connect; otherwise ask the user, after a first-use TLS probe. Stored credentials alone
//!   never trust a TLS route: they are keyed by the stable id, which anyone can claim, and
//!   the transport refuses to open a discovered endpoint without a pin.
//! - A discovered Gateway is identified by its stable id (service type, domain, instance
//!   name), not by its address: pins and credentials survive an address change. A plaintext
//!   route stays keyed by its address (an instance name can be claimed by anyone).

mod plan;
mod txt;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

pub(crate) use plan::points_here;
pub use plan::{ConnectPlan, DiscoveryPolicy, KnownGateway, PlanAction, PlanNote, PlanRefusal, plan_connection};
pub use txt::{GatewayTxt, TxtIssue, parse_bool, parse_port};

/// The DNS-SD service type Gateways advertise.
pub const SERVICE_TYPE: &str = "_openclaw-gw._tcp";
/// The multicast DNS domain.
pub const LOCAL_DOMAIN: &str = "local.";

/// One resolved `_openclaw-gw._tcp` instance, as a browser hands it over.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DiscoveredGateway {
    /// Instance name, `\DDD` escapes decoded (e.g. `pi (OpenClaw)`); control characters and
    /// bidi overrides replaced by U+FFFD.
    pub instance: String,
    /// Browse domain with a trailing dot: `local.` or a wide-area domain.
    pub domain: String,
    /// SRV target host name (without a trailing dot), if known.
    pub host: Option<String>,
    /// A/AAAA addresses of the SRV target, in the order the resolver gave them.
    pub addresses: Vec<IpAddr>,
    /// SRV port (0: unknown).
    pub port: u16,
    /// The TXT record.
    pub txt: GatewayTxt,
}

impl DiscoveredGateway {
    /// A resolved instance. `instance` may still carry `\DDD` escapes (they are decoded);
    /// `domain` gets a trailing dot, `host` loses its trailing dot.
    pub fn new(
        instance: &str,
        domain: &str,
        host: Option<&str>,
        addresses: Vec<IpAddr>,
        port: u16,
        txt: GatewayTxt,
    ) -> Self {
        let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
        let domain = if domain.is_empty() { LOCAL_DOMAIN.to_string() } else { format!("{domain}.") };
        let host = host.map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase()).filter(|h| !h.is_empty());
        let host = host.map(|h| printable(&h));
        DiscoveredGateway { instance: printable(&unescape_dns_sd(instance.trim())), domain, host, addresses, port, txt }
    }

    /// The stable id pins and credentials are keyed by: `_openclaw-gw._tcp.|<domain>|<instance
    /// with whitespace collapsed>` — the Android app's `stableId` form. Addresses and TXT are
    /// not part of it, so a Gateway that moves keeps its pin.
    pub fn stable_id(&self) -> String {
        let name = self.instance.split_whitespace().collect::<Vec<_>>().join(" ");
        format!("{SERVICE_TYPE}.|{}|{name}", self.domain)
    }

    /// What to show: the TXT `displayName`, else the instance name without ` (OpenClaw)`.
    pub fn display_name(&self) -> String {
        if let Some(d) = self.txt.display_name.as_deref().filter(|d| !d.trim().is_empty()) {
            return d.trim().to_string();
        }
        let collapsed = self.instance.split_whitespace().collect::<Vec<_>>().join(" ");
        let lower = collapsed.to_ascii_lowercase();
        match lower.strip_suffix("(openclaw)") {
            Some(rest) if !rest.trim().is_empty() => collapsed[..rest.trim_end().len()].to_string(),
            _ => collapsed,
        }
    }
}

/// `text` from the network made safe to show: control characters (C0, DEL, C1: terminal
/// escapes, line breaks) and bidirectional overrides become U+FFFD, so a beacon cannot
/// rewrite a terminal or a trust prompt around the name it is shown in.
pub(crate) fn printable(text: &str) -> String {
    let unsafe_char = |c: char| {
        c.is_control()
            || matches!(c, '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    };
    if !text.chars().any(unsafe_char) {
        return text.to_string();
    }
    text.chars().map(|c| if unsafe_char(c) { char::REPLACEMENT_CHARACTER } else { c }).collect()
}

/// Decodes DNS-SD presentation escapes in an instance name: `\DDD` (a decimal byte, e.g.
/// `\032` for a space) and `\X` (a literal character, e.g. `\.`, `\\`). The bytes are read
/// as UTF-8 (invalid sequences become U+FFFD). `\DDD` above 255 and a trailing `\` are kept
/// as written.
pub fn unescape_dns_sd(name: &str) -> String {
    if !name.contains('\\') {
        return name.to_string();
    }
    let b = name.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            let digits = b.get(i + 1..i + 4).filter(|d| d.iter().all(u8::is_ascii_digit));
            if let Some(d) = digits {
                let v = u16::from(d[0] - b'0') * 100 + u16::from(d[1] - b'0') * 10 + u16::from(d[2] - b'0');
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
                out.push(b'\\');
                i += 1;
                continue;
            }
            if !b[i + 1].is_ascii_digit() {
                out.push(b[i + 1]);
                i += 2;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
