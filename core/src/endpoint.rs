//! Gateway endpoints, their origin (the identity credentials are bound to) and the
//! plaintext policy (remote-access.md §5, transport.md §2–3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Default Gateway port.
pub const DEFAULT_PORT: u16 = 18789;

/// Why a URL is not a usable Gateway endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not a URL at all.
    #[error("invalid gateway URL: {0}")]
    Invalid(String),
    /// A scheme other than ws, wss, http or https.
    #[error("unsupported URL scheme {0:?}: use ws:// or wss://")]
    Scheme(String),
    /// `user:pass@` in the URL: secrets never go into URLs.
    #[error("the gateway URL must not contain credentials (user info); pass a token instead")]
    UserInfo,
    /// A query string.
    #[error("the gateway URL must not contain a query string")]
    Query,
    /// A fragment.
    #[error("the gateway URL must not contain a fragment")]
    Fragment,
    /// No host.
    #[error("the gateway URL has no host")]
    NoHost,
}

/// Host part of an endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// An IP literal.
    Ip(IpAddr),
    /// A DNS name (lowercase, without a trailing dot).
    Name(String),
}

impl std::fmt::Display for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
            Host::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Host::Name(n) => f.write_str(n),
        }
    }
}

/// A Gateway WebSocket endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint {
    /// Host.
    pub host: Host,
    /// Port.
    pub port: u16,
    /// `wss://` when true.
    pub tls: bool,
    /// Context path when behind a proxy (`""` or `/prefix`).
    pub context_path: String,
}

/// The identity credentials and pins are bound to. An enum so that other targets (an SSH
/// tunnel) can be added without changing what a stored token is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GatewayOrigin {
    /// A direct WebSocket origin: scheme, host, port, path.
    WebSocket {
        /// wss when true.
        tls: bool,
        /// Host.
        host: Host,
        /// Port.
        port: u16,
        /// Context path.
        path: String,
    },
}

impl std::fmt::Display for GatewayOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayOrigin::WebSocket { tls, host, port, path } => {
                let scheme = if *tls { "wss" } else { "ws" };
                write!(f, "{scheme}://{host}:{port}{path}")
            }
        }
    }
}

impl Endpoint {
    /// Parses a gateway URL (`ws`, `wss`, and the aliases `http`, `https`).
    pub fn parse(input: &str) -> Result<Self, EndpointError> {
        let url = url::Url::parse(input.trim()).map_err(|e| EndpointError::Invalid(e.to_string()))?;
        let tls = match url.scheme() {
            "ws" | "http" => false,
            "wss" | "https" => true,
            other => return Err(EndpointError::Scheme(other.to_string())),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(EndpointError::UserInfo);
        }
        if url.query().is_some() {
            return Err(EndpointError::Query);
        }
        if url.fragment().is_some() {
            return Err(EndpointError::Fragment);
        }
        let host = match url.host() {
            Some(url::Host::Ipv4(v4)) => Host::Ip(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Host::Ip(IpAddr::V6(v6)),
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                if d.is_empty() {
                    return Err(EndpointError::NoHost);
                }
                Host::Name(d)
            }
            None => return Err(EndpointError::NoHost),
        };
        let port = url.port().unwrap_or(if tls { 443 } else { 80 });
        let context_path = url.path().trim_end_matches('/').to_string();
        Ok(Endpoint { host, port, tls, context_path })
    }

    /// An endpoint from host and optional port (default 18789), plaintext.
    pub fn from_host_port(host: &str, port: Option<u16>, tls: bool) -> Result<Self, EndpointError> {
        let scheme = if tls { "wss" } else { "ws" };
        let h = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
        let mut e = Self::parse(&format!("{scheme}://{h}:{}", port.unwrap_or(DEFAULT_PORT)))?;
        e.port = port.unwrap_or(DEFAULT_PORT);
        Ok(e)
    }

    /// The origin credentials are bound to.
    pub fn origin(&self) -> GatewayOrigin {
        GatewayOrigin::WebSocket {
            tls: self.tls,
            host: self.host.clone(),
            port: self.port,
            path: self.context_path.clone(),
        }
    }

    /// The URL to open (never contains secrets).
    pub fn url(&self) -> String {
        format!("{}/", self.origin())
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.origin())
    }
}

/// How an address looks from a plaintext point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetworkClass {
    /// 127/8, ::1, IPv4-mapped loopback, `localhost`.
    Loopback,
    /// RFC 1918, link-local, ULA, `.local` names.
    PrivateLan,
    /// 100.64/10 (CGNAT, tailnets) and `.ts.net` names.
    Tailnet,
    /// Anything else, including unspecified addresses.
    Public,
}

/// Which plaintext (`ws://`) destinations are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PlaintextPolicy {
    /// Loopback only (default).
    #[default]
    LoopbackOnly,
    /// Break-glass: loopback plus private LAN and tailnet addresses.
    PrivateNetwork,
}

/// Classifies an IP address.
pub fn classify_ip(ip: IpAddr) -> NetworkClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            if v6 == Ipv6Addr::LOCALHOST {
                NetworkClass::Loopback
            } else if (v6.segments()[0] & 0xffc0) == 0xfe80 || (v6.segments()[0] & 0xfe00) == 0xfc00 {
                NetworkClass::PrivateLan
            } else {
                NetworkClass::Public
            }
        }
    }
}

fn classify_v4(v4: Ipv4Addr) -> NetworkClass {
    let o = v4.octets();
    if v4.is_loopback() {
        NetworkClass::Loopback
    } else if v4.is_private() || v4.is_link_local() {
        NetworkClass::PrivateLan
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        NetworkClass::Tailnet
    } else {
        NetworkClass::Public
    }
}

/// Classifies a host name without resolving it (`None`: only resolution can tell).
pub fn classify_name(name: &str) -> Option<NetworkClass> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if n == "localhost" || n.ends_with(".localhost") {
        Some(NetworkClass::Loopback)
    } else if n.ends_with(".ts.net") {
        Some(NetworkClass::Tailnet)
    } else if n.ends_with(".local") {
        Some(NetworkClass::PrivateLan)
    } else {
        None
    }
}

impl PlaintextPolicy {
    /// Whether plaintext to an address of this class is allowed.
    pub fn allows(self, class: NetworkClass) -> bool {
        matches!(
            (self, class),
            (_, NetworkClass::Loopback)
                | (PlaintextPolicy::PrivateNetwork, NetworkClass::PrivateLan | NetworkClass::Tailnet)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_urls() {
        let e = Endpoint::parse("ws://127.0.0.1:18789").unwrap();
        assert_eq!(e.origin().to_string(), "ws://127.0.0.1:18789");
        assert_eq!(e.url(), "ws://127.0.0.1:18789/");
        let e = Endpoint::parse("https://GW.example.ts.net./openclaw/").unwrap();
        assert!(e.tls);
        assert_eq!(e.port, 443);
        assert_eq!(e.origin().to_string(), "wss://gw.example.ts.net:443/openclaw");
        let e = Endpoint::parse("ws://[::1]:9").unwrap();
        assert_eq!(e.origin().to_string(), "ws://[::1]:9");
        assert_eq!(Endpoint::parse("ftp://x"), Err(EndpointError::Scheme("ftp".into())));
        assert_eq!(Endpoint::parse("ws://u:p@h:1"), Err(EndpointError::UserInfo));
        assert_eq!(Endpoint::parse("ws://h:1/?token=x"), Err(EndpointError::Query));
        assert_eq!(Endpoint::parse("ws://h:1/#x"), Err(EndpointError::Fragment));
        assert!(matches!(Endpoint::parse("not a url"), Err(EndpointError::Invalid(_))));
        let e = Endpoint::from_host_port("::1", None, false).unwrap();
        assert_eq!(e.origin().to_string(), "ws://[::1]:18789");
        // Odd IPv4 spellings normalise through the WHATWG parser.
        let e = Endpoint::parse("ws://127.1:1").unwrap();
        assert_eq!(e.host, Host::Ip("127.0.0.1".parse().unwrap()));
        let e = Endpoint::parse("ws://0x7f.1:1").unwrap();
        assert_eq!(e.host, Host::Ip("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn classification_table() {
        let rows: &[(&str, NetworkClass)] = &[
            ("127.0.0.1", NetworkClass::Loopback),
            ("127.255.0.9", NetworkClass::Loopback),
            ("::1", NetworkClass::Loopback),
            ("::ffff:127.0.0.1", NetworkClass::Loopback),
            ("10.1.2.3", NetworkClass::PrivateLan),
            ("172.16.0.1", NetworkClass::PrivateLan),
            ("192.168.1.1", NetworkClass::PrivateLan),
            ("169.254.1.1", NetworkClass::PrivateLan),
            ("fe80::1", NetworkClass::PrivateLan),
            ("fd00::1", NetworkClass::PrivateLan),
            ("100.64.0.1", NetworkClass::Tailnet),
            ("100.127.255.255", NetworkClass::Tailnet),
            ("100.128.0.1", NetworkClass::Public),
            ("8.8.8.8", NetworkClass::Public),
            ("0.0.0.0", NetworkClass::Public),
            ("::", NetworkClass::Public),
            ("2001:db8::1", NetworkClass::Public),
        ];
        for (ip, class) in rows {
            assert_eq!(classify_ip(ip.parse().unwrap()), *class, "{ip}");
        }
        assert_eq!(classify_name("localhost."), Some(NetworkClass::Loopback));
        assert_eq!(classify_name("box.tail1234.ts.net"), Some(NetworkClass::Tailnet));
        assert_eq!(classify_name("printer.local"), Some(NetworkClass::PrivateLan));
        assert_eq!(classify_name("example.com"), None);
        assert!(PlaintextPolicy::LoopbackOnly.allows(NetworkClass::Loopback));
        assert!(!PlaintextPolicy::LoopbackOnly.allows(NetworkClass::PrivateLan));
        assert!(PlaintextPolicy::PrivateNetwork.allows(NetworkClass::Tailnet));
        assert!(!PlaintextPolicy::PrivateNetwork.allows(NetworkClass::Public));
    }
}
