//! The beacon's TXT record (transport.md §4.1): typed known keys, unknown keys kept, every
//! rejected value reported. Nothing here is authenticated: the values describe, they never
//! route a connection nor authorise one ([`super::plan_connection`]).

use std::collections::BTreeMap;

use crate::endpoint::TlsPin;

/// Why one TXT value was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxtIssue {
    /// A port key that is not a decimal in 1..=65535.
    #[error("TXT {key}={value:?}: not a TCP port (1..65535)")]
    Port {
        /// The key (`gatewayPort`, `sshPort`, `canvasPort`).
        key: String,
        /// The value as received.
        value: String,
    },
    /// A boolean key that is not one of `1/true/yes/0/false/no`.
    #[error("TXT {key}={value:?}: not a boolean (1/true/yes or 0/false/no)")]
    Boolean {
        /// The key (`gatewayTls`, `gatewayDirectReachable`).
        key: String,
        /// The value as received.
        value: String,
    },
    /// `gatewayTlsSha256` that is not 64 hex digits.
    #[error("TXT gatewayTlsSha256={0:?}: not a SHA-256 fingerprint (64 hex digits)")]
    Fingerprint(String),
    /// A value that is not UTF-8.
    #[error("TXT {0}: value is not UTF-8")]
    NotUtf8(String),
    /// A key seen again: only the first occurrence counts (RFC 6763 §6.4).
    #[error("TXT {0}: repeated key ignored")]
    Repeated(String),
}

/// The parsed TXT record of an `_openclaw-gw._tcp` instance. Text values have control
/// characters and bidi overrides replaced by U+FFFD (they are shown to people).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct GatewayTxt {
    /// `role` (`gateway`).
    pub role: Option<String>,
    /// `transport` (`gateway`).
    pub transport: Option<String>,
    /// `displayName`, `\DDD` escapes decoded.
    pub display_name: Option<String>,
    /// `gatewayPort`: what the Gateway says its port is. The SRV port routes.
    pub gateway_port: Option<u16>,
    /// `lanHost` (`<host>.local`): a hint for display, never a route.
    pub lan_host: Option<String>,
    /// `tailnetDns` (MagicDNS name): a hint for display, never a route.
    pub tailnet_dns: Option<String>,
    /// `gatewayTls`: whether the Gateway says it serves `wss://`.
    pub tls: Option<bool>,
    /// `gatewayTlsSha256`: the advertised leaf fingerprint. A hint, never a pin.
    pub tls_sha256: Option<TlsPin>,
    /// `gatewayDirectReachable`.
    pub direct_reachable: Option<bool>,
    /// `sshPort` (`full` mode).
    pub ssh_port: Option<u16>,
    /// `cliPath` (`full` mode).
    pub cli_path: Option<String>,
    /// `canvasPort` (legacy; 2026.9.6 does not emit it).
    pub canvas_port: Option<u16>,
    /// Every other key (lowercased) with its value (`None`: a key without `=`).
    pub other: BTreeMap<String, Option<String>>,
    /// Values that were not taken, and why.
    pub issues: Vec<TxtIssue>,
}

/// `1/true/yes` → true, `0/false/no` → false (ASCII case-insensitive, trimmed), else `None`.
pub fn parse_bool(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// A decimal TCP port in 1..=65535 (no sign, no spaces inside).
pub fn parse_port(value: &str) -> Option<u16> {
    let v = value.trim();
    if v.is_empty() || v.len() > 5 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u16>().ok().filter(|p| *p > 0)
}

/// Exactly 64 hex digits (the form the Gateway advertises); colons, prefixes and other
/// lengths are refused here even though a configured pin may use them.
fn parse_fingerprint(value: &str) -> Option<TlsPin> {
    let v = value.trim();
    if v.len() == 64 && v.bytes().all(|b| b.is_ascii_hexdigit()) { TlsPin::parse(v).ok() } else { None }
}

impl GatewayTxt {
    /// Parses raw DNS TXT character-strings (`key=value` bytes, RFC 6763 §6): keys are
    /// case-insensitive, the first occurrence of a key wins, a string without `=` is a key
    /// without a value, an empty string or one starting with `=` is skipped.
    pub fn from_strings<B: AsRef<[u8]>>(strings: &[B]) -> Self {
        let mut pairs: Vec<(String, Option<Vec<u8>>)> = Vec::new();
        for s in strings {
            let s = s.as_ref();
            let (k, v) = match s.iter().position(|b| *b == b'=') {
                Some(i) => (&s[..i], Some(s[i + 1..].to_vec())),
                None => (s, None),
            };
            if k.is_empty() {
                continue;
            }
            pairs.push((String::from_utf8_lossy(k).into_owned(), v));
        }
        Self::from_pairs(pairs)
    }

    /// Parses key/value pairs as a platform browser hands them over (NsdManager's
    /// `Map<String, ByteArray>`, NWBrowser's `[String: String]`, mdns-sd's properties).
    pub fn from_pairs<K: AsRef<str>, V: AsRef<[u8]>>(pairs: impl IntoIterator<Item = (K, Option<V>)>) -> Self {
        let mut txt = GatewayTxt::default();
        let mut seen = std::collections::BTreeSet::new();
        for (key, value) in pairs {
            let key = super::printable(key.as_ref().trim());
            let key = key.as_str();
            if key.is_empty() {
                continue;
            }
            let lower = key.to_ascii_lowercase();
            if !seen.insert(lower.clone()) {
                txt.issues.push(TxtIssue::Repeated(key.to_string()));
                continue;
            }
            let value = match value {
                None => None,
                Some(v) => match std::str::from_utf8(v.as_ref()) {
                    Ok(s) => Some(s.to_string()),
                    Err(_) => {
                        txt.issues.push(TxtIssue::NotUtf8(key.to_string()));
                        continue;
                    }
                },
            };
            txt.take(key, &lower, value);
        }
        txt
    }

    fn take(&mut self, key: &str, lower: &str, value: Option<String>) {
        let text = || value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(super::printable);
        let port = |issues: &mut Vec<TxtIssue>| {
            let v = value.as_deref().unwrap_or("");
            let p = parse_port(v);
            if p.is_none() {
                issues.push(TxtIssue::Port { key: key.to_string(), value: v.to_string() });
            }
            p
        };
        let boolean = |issues: &mut Vec<TxtIssue>| {
            // A key without a value is "present" (RFC 6763 §6.4): true.
            let Some(v) = value.as_deref() else { return Some(true) };
            let b = parse_bool(v);
            if b.is_none() {
                issues.push(TxtIssue::Boolean { key: key.to_string(), value: v.to_string() });
            }
            b
        };
        match lower {
            "role" => self.role = text(),
            "transport" => self.transport = text(),
            "displayname" => self.display_name = text().map(|v| super::printable(&super::unescape_dns_sd(&v))),
            "gatewayport" => self.gateway_port = port(&mut self.issues),
            "lanhost" => self.lan_host = text(),
            "tailnetdns" => self.tailnet_dns = text().map(|v| v.trim_end_matches('.').to_string()),
            "gatewaytls" => self.tls = boolean(&mut self.issues),
            "gatewaytlssha256" => {
                let v = value.clone().unwrap_or_default();
                self.tls_sha256 = parse_fingerprint(&v);
                if self.tls_sha256.is_none() {
                    self.issues.push(TxtIssue::Fingerprint(v));
                }
            }
            "gatewaydirectreachable" => self.direct_reachable = boolean(&mut self.issues),
            "sshport" => self.ssh_port = port(&mut self.issues),
            "clipath" => self.cli_path = text(),
            "canvasport" => self.canvas_port = port(&mut self.issues),
            _ => {
                self.other.insert(lower.to_string(), value.map(|v| super::printable(&v)));
            }
        }
    }

    /// Whether the TXT says the Gateway serves TLS (`gatewayTls` true).
    pub fn says_tls(&self) -> bool {
        self.tls == Some(true)
    }
}
