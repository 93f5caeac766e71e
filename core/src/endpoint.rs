//! Gateway endpoints, their origin (the identity credentials are bound to) and the
//! plaintext policy (remote-access.md §5, transport.md §2–3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Default Gateway port.
pub const DEFAULT_PORT: u16 = 18789;

/// Why a URL is not a usable Gateway endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
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
    /// A TLS pin on a plaintext endpoint.
    #[error("a TLS fingerprint requires a wss:// gateway URL")]
    PinOnPlaintext,
    /// A host name with non-ASCII characters. ClawNode is built without Unicode IDNA tables
    /// (they would add ≈ 110 KB to every binary); the ASCII (punycode) form works.
    #[error("internationalized host {0:?} is not supported: use its ASCII (punycode, xn--…) form")]
    NonAsciiHost(String),
}

/// Why a TLS fingerprint string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// Not 64 hex digits or 32 colon-separated hex pairs (after an optional `sha256:`).
    #[error(
        "invalid TLS fingerprint: expected a SHA-256 certificate fingerprint (64 hex digits or 32 colon-separated pairs, optional sha256: prefix)"
    )]
    Format,
}

/// A TLS pin: SHA-256 of the Gateway's leaf certificate (DER), canonical lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TlsPin([u8; 32]);

impl TlsPin {
    /// Parses `64 hex` or `32 colon-separated pairs`, with an optional case-insensitive
    /// `sha256:` prefix and surrounding whitespace. Anything else (base64, other lengths,
    /// mixed separators) is rejected.
    pub fn parse(input: &str) -> Result<Self, PinError> {
        let t = input.trim();
        let t = match t.get(..7) {
            Some(p) if p.eq_ignore_ascii_case("sha256:") => &t[7..],
            _ => t,
        };
        let hex: String = if t.contains(':') {
            let parts: Vec<&str> = t.split(':').collect();
            if parts.len() != 32 || parts.iter().any(|p| p.len() != 2) {
                return Err(PinError::Format);
            }
            parts.concat()
        } else {
            t.to_string()
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(PinError::Format);
        }
        let mut out = [0u8; 32];
        for (i, chunk) in hex.as_bytes().chunks(2).enumerate() {
            let s = std::str::from_utf8(chunk).map_err(|_| PinError::Format)?;
            out[i] = u8::from_str_radix(s, 16).map_err(|_| PinError::Format)?;
        }
        Ok(TlsPin(out))
    }

    /// The pin of a DER certificate (SHA-256 of the DER bytes).
    pub fn of_der(der: &[u8]) -> Self {
        let d = ring::digest::digest(&ring::digest::SHA256, der);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        TlsPin(out)
    }

    /// The raw digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Constant-time comparison.
    pub fn ct_eq(&self, other: &TlsPin) -> bool {
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }

    /// Canonical form: 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl std::fmt::Display for TlsPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::fmt::Debug for TlsPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TlsPin({})", self.to_hex())
    }
}

impl std::str::FromStr for TlsPin {
    type Err = PinError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TlsPin::parse(s)
    }
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
    /// Pinned leaf-certificate fingerprint (`wss://` only). Not part of the origin.
    pub pin: Option<TlsPin>,
    /// Set when this loopback endpoint is the local end of a managed SSH tunnel: tokens and
    /// pins are then bound to the tunnel's remote target, not to the (random) local port.
    pub tunnel: Option<SshTarget>,
    /// Set when this endpoint is a discovered Gateway's resolved address on a TLS route:
    /// tokens and pins are then bound to the Gateway's stable discovery id
    /// (`discovery::DiscoveredGateway::stable_id`), not to the address, which may change.
    pub discovered: Option<String>,
}

/// The remote target of a managed SSH tunnel: what credentials are bound to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SshTarget {
    /// SSH user (`None`: from `~/.ssh/config` or the local user name).
    pub user: Option<String>,
    /// SSH host or `~/.ssh/config` alias (lower-case).
    pub host: String,
    /// SSH port (`None`: from `~/.ssh/config`, else 22).
    pub ssh_port: Option<u16>,
    /// The Gateway's port on the remote loopback.
    pub remote_port: u16,
}

impl SshTarget {
    /// Parses `[user@]host[:port]` with the remote Gateway port.
    pub fn parse(spec: &str, remote_port: u16) -> Result<Self, EndpointError> {
        let spec = spec.trim();
        let (user, rest) = match spec.rsplit_once('@') {
            Some((u, r)) if !u.is_empty() => (Some(u.to_string()), r),
            Some(_) => return Err(EndpointError::Invalid(format!("invalid ssh target {spec:?}"))),
            None => (None, spec),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => {
                let port = p.parse::<u16>().ok().filter(|p| *p > 0);
                let Some(port) = port else {
                    return Err(EndpointError::Invalid(format!("invalid ssh port in {spec:?}")));
                };
                (h, Some(port))
            }
            _ => (rest, None),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let ok = !host.is_empty()
            && !host.starts_with('-')
            && host.chars().all(|c| c.is_ascii_alphanumeric() || ".-_:".contains(c))
            && user.as_deref().is_none_or(|u| !u.starts_with('-') && !u.chars().any(|c| c.is_whitespace()));
        if !ok || remote_port == 0 {
            return Err(EndpointError::Invalid(format!("invalid ssh target {spec:?}")));
        }
        Ok(SshTarget { user, host, ssh_port: port, remote_port })
    }
}

impl std::fmt::Display for SshTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ssh://")?;
        if let Some(u) = &self.user {
            write!(f, "{u}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?
        } else {
            f.write_str(&self.host)?
        }
        if let Some(p) = self.ssh_port {
            write!(f, ":{p}")?;
        }
        write!(f, "/127.0.0.1:{}", self.remote_port)
    }
}

/// The identity credentials and pins are bound to. An enum so that other targets (an SSH
/// tunnel) can be added without changing what a stored token is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    /// The remote end of a managed SSH tunnel (user, host, ssh port, remote port).
    SshTunnel(SshTarget),
    /// A discovered Gateway on a pinned (or system-trusted) TLS route, by its stable id
    /// (`_openclaw-gw._tcp.|<domain>|<instance>`).
    Discovered(String),
}

impl std::fmt::Display for GatewayOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayOrigin::WebSocket { tls, host, port, path } => {
                let scheme = if *tls { "wss" } else { "ws" };
                write!(f, "{scheme}://{host}:{port}{path}")
            }
            GatewayOrigin::SshTunnel(t) => write!(f, "{t}"),
            GatewayOrigin::Discovered(id) => f.write_str(id),
        }
    }
}

impl Endpoint {
    /// Parses a gateway URL (`ws`, `wss`, and the aliases `http`, `https`).
    pub fn parse(input: &str) -> Result<Self, EndpointError> {
        let input = input.trim();
        let url = url::Url::parse(input).map_err(|e| match e {
            url::ParseError::IdnaError if !input.is_ascii() => {
                let host = input.split("://").nth(1).unwrap_or(input);
                let host = host.split(['/', '?', '#']).next().unwrap_or(host);
                EndpointError::NonAsciiHost(host.rsplit('@').next().unwrap_or(host).to_string())
            }
            e => EndpointError::Invalid(e.to_string()),
        })?;
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
                // Trimming the root dots must not turn the name into something else: the
                // name `1027.10..` became `1027.10`, which URL parsing reads as an (invalid)
                // IPv4 address, so the endpoint could not be printed and parsed back (fuzz).
                match url::Host::parse(&d) {
                    Ok(url::Host::Domain(ref x)) if *x == d => {}
                    _ => return Err(EndpointError::Invalid(format!("host {d:?} is not a valid DNS name"))),
                }
                Host::Name(d)
            }
            None => return Err(EndpointError::NoHost),
        };
        let port = url.port().unwrap_or(if tls { 443 } else { 80 });
        let context_path = url.path().trim_end_matches('/').to_string();
        Ok(Endpoint { host, port, tls, context_path, pin: None, tunnel: None, discovered: None })
    }

    /// Parses a URL and attaches an optional pin (a pin on `ws://` is an error).
    pub fn parse_pinned(input: &str, pin: Option<TlsPin>) -> Result<Self, EndpointError> {
        Self::parse(input)?.with_pin(pin)
    }

    /// This endpoint with `pin` (replacing any pin it had). A pin on `ws://` is an error.
    pub fn with_pin(mut self, pin: Option<TlsPin>) -> Result<Self, EndpointError> {
        if pin.is_some() && !self.tls {
            return Err(EndpointError::PinOnPlaintext);
        }
        self.pin = pin;
        Ok(self)
    }

    /// An endpoint from host and optional port (default 18789), plaintext.
    pub fn from_host_port(host: &str, port: Option<u16>, tls: bool) -> Result<Self, EndpointError> {
        let scheme = if tls { "wss" } else { "ws" };
        let h = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
        let mut e = Self::parse(&format!("{scheme}://{h}:{}", port.unwrap_or(DEFAULT_PORT)))?;
        e.port = port.unwrap_or(DEFAULT_PORT);
        Ok(e)
    }

    /// The origin credentials are bound to (the tunnel's remote target for a tunnel).
    pub fn origin(&self) -> GatewayOrigin {
        match (&self.tunnel, &self.discovered) {
            (Some(t), _) => GatewayOrigin::SshTunnel(t.clone()),
            (None, Some(id)) => GatewayOrigin::Discovered(id.clone()),
            (None, None) => self.socket_origin(),
        }
    }

    /// This endpoint as the resolved address of the discovered Gateway `stable_id` (see
    /// [`Endpoint::discovered`]); only the discovery plan sets it, on TLS routes.
    pub fn discovered_as(mut self, stable_id: String) -> Self {
        self.discovered = Some(stable_id);
        self
    }

    /// The WebSocket origin the socket opens (the local end for a tunnel).
    pub fn socket_origin(&self) -> GatewayOrigin {
        GatewayOrigin::WebSocket {
            tls: self.tls,
            host: self.host.clone(),
            port: self.port,
            path: self.context_path.clone(),
        }
    }

    /// This endpoint as the local end of a tunnel to `target`.
    pub fn via_tunnel(mut self, target: SshTarget) -> Self {
        self.tunnel = Some(target);
        self
    }

    /// The URL to open (never contains secrets).
    pub fn url(&self) -> String {
        format!("{}/", self.socket_origin())
    }
}

/// The normalised form of a gateway URL as setup codes carry it (pairing.md §4.1,
/// transport.md §3): `http(s)` mapped to `ws(s)`, an explicit port kept, a bare `/` path
/// dropped; userinfo, query and fragment rejected.
pub(crate) fn normalize_gateway_url(input: &str) -> Result<String, EndpointError> {
    let url = url::Url::parse(input.trim()).map_err(|e| EndpointError::Invalid(e.to_string()))?;
    let scheme = match url.scheme() {
        "ws" | "http" => "ws",
        "wss" | "https" => "wss",
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
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or(EndpointError::NoHost)?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = match url.path() {
        "/" => "",
        p => p,
    };
    Ok(format!("{scheme}://{host}{port}{path}"))
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
    /// The mobile apps' rule (transport.md §2.4): loopback and the local network — RFC 1918
    /// (which includes the Android emulator's host `10.0.2.2`), link-local, site-local and
    /// ULA IPv6, `.local` names — but no CGNAT/tailnet (`100.64/10`, `.ts.net`) and no other
    /// name (a name is refused before it is resolved unless it is `localhost` or `.local`).
    /// The default of the FFI's `NodeConfig` on Android and iOS.
    MobileStrict,
}

/// Classifies an IP address.
pub(crate) fn classify_ip(ip: IpAddr) -> NetworkClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let first = v6.segments()[0];
            if v6 == Ipv6Addr::LOCALHOST {
                NetworkClass::Loopback
            } else if (first & 0xffc0) == 0xfe80 || (first & 0xffc0) == 0xfec0 || (first & 0xfe00) == 0xfc00 {
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
/// `localhost` is matched exactly (not `*.localhost`, transport.md §2.1).
pub(crate) fn classify_name(name: &str) -> Option<NetworkClass> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    if n == "localhost" {
        Some(NetworkClass::Loopback)
    } else if n.ends_with(".ts.net") {
        Some(NetworkClass::Tailnet)
    } else if n.ends_with(".local") {
        Some(NetworkClass::PrivateLan)
    } else {
        None
    }
}

/// Classifies a parsed host lexically (`None`: a DNS name only resolution can tell).
#[cfg(test)]
pub(crate) fn classify_host(host: &Host) -> Option<NetworkClass> {
    match host {
        Host::Ip(ip) => Some(classify_ip(*ip)),
        Host::Name(n) => classify_name(n),
    }
}

/// Classifies a host as written by a user or in discovery data: brackets, an IPv6 zone id
/// (`fe80::1%eth0`) and trailing dots are stripped; IPv4 literals in the WHATWG spellings
/// (`127.1`, `0x7f.1`) are normalised like URL hosts. `None`: a DNS name only resolution
/// can tell.
pub fn classify_host_str(host: &str) -> Option<NetworkClass> {
    let h = host.trim().trim_start_matches('[').trim_end_matches(']');
    let h = h.split('%').next().unwrap_or(h);
    if let Ok(v6) = h.parse::<Ipv6Addr>() {
        return Some(classify_ip(IpAddr::V6(v6)));
    }
    match url::Host::parse(h) {
        Ok(url::Host::Ipv4(v4)) => Some(classify_ip(IpAddr::V4(v4))),
        Ok(url::Host::Ipv6(v6)) => Some(classify_ip(IpAddr::V6(v6))),
        Ok(url::Host::Domain(d)) => classify_name(&d),
        Err(_) => None,
    }
}

impl PlaintextPolicy {
    /// Whether plaintext to an address of this class is allowed.
    pub fn allows(self, class: NetworkClass) -> bool {
        matches!(
            (self, class),
            (_, NetworkClass::Loopback)
                | (PlaintextPolicy::PrivateNetwork, NetworkClass::PrivateLan | NetworkClass::Tailnet)
                | (PlaintextPolicy::MobileStrict, NetworkClass::PrivateLan)
        )
    }

    /// Whether a host name without a lexical class (neither `localhost`, `.local` nor
    /// `.ts.net`) may be resolved and then judged by its addresses. Only the break-glass
    /// [`PlaintextPolicy::PrivateNetwork`] does; the others refuse such a name over `ws://`
    /// before any resolution.
    pub fn resolves_unclassified_names(self) -> bool {
        self == PlaintextPolicy::PrivateNetwork
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internationalized_hosts_need_their_ascii_form() {
        let e = Endpoint::parse("wss://bücher.example:8443/gw").unwrap_err();
        assert_eq!(e, EndpointError::NonAsciiHost("bücher.example:8443".into()));
        assert!(e.to_string().contains("punycode"), "{e}");
        let ok = Endpoint::parse("wss://xn--bcher-kva.example:8443/gw").unwrap();
        assert_eq!(ok.to_string(), "wss://xn--bcher-kva.example:8443/gw");
        assert!(Endpoint::parse("ws://gw.tail-scale.ts.net").is_ok());
    }

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

    /// transport.md §2.1 (TS client / node host) and §2.4 (mobile) rows as classification,
    /// and what each policy does with them.
    #[test]
    fn plaintext_rows_as_classification() {
        use NetworkClass::*;
        // (host as written, class (None = a DNS name only resolution can tell), loopback-only
        // admits, private-network admits)
        let rows: &[(&str, Option<NetworkClass>, bool, bool)] = &[
            // §2.1 localhost (exact; not *.localhost), trailing dots stripped.
            ("localhost", Some(Loopback), true, true),
            ("LOCALHOST.", Some(Loopback), true, true),
            ("foo.localhost", None, false, false),
            // 127/8, ::1, IPv4-mapped, odd IPv4 spellings.
            ("127.0.0.1", Some(Loopback), true, true),
            ("127.255.255.254", Some(Loopback), true, true),
            ("127.1", Some(Loopback), true, true),
            ("0x7f.1", Some(Loopback), true, true),
            ("0177.0.0.1", Some(Loopback), true, true),
            ("2130706433", Some(Loopback), true, true),
            ("127.0.0.1.", Some(Loopback), true, true),
            ("::1", Some(Loopback), true, true),
            ("[::1]", Some(Loopback), true, true),
            ("::ffff:127.0.0.1", Some(Loopback), true, true),
            ("[::ffff:7f00:1]", Some(Loopback), true, true),
            // RFC 1918, link-local, CGNAT.
            ("10.0.0.1", Some(PrivateLan), false, true),
            ("10.255.255.255", Some(PrivateLan), false, true),
            ("172.16.0.1", Some(PrivateLan), false, true),
            ("172.31.255.255", Some(PrivateLan), false, true),
            ("172.32.0.1", Some(Public), false, false),
            ("192.168.0.1", Some(PrivateLan), false, true),
            ("::ffff:192.168.1.1", Some(PrivateLan), false, true),
            ("169.254.10.20", Some(PrivateLan), false, true),
            ("100.64.0.1", Some(Tailnet), false, true),
            ("100.127.255.255", Some(Tailnet), false, true),
            ("100.63.255.255", Some(Public), false, false),
            ("100.128.0.0", Some(Public), false, false),
            // IPv6 link-local (with and without zone id), ULA, deprecated site-local.
            ("fe80::1", Some(PrivateLan), false, true),
            ("fe80::1%eth0", Some(PrivateLan), false, true),
            ("[fe80::1%25wlan0]", Some(PrivateLan), false, true),
            ("febf::1", Some(PrivateLan), false, true),
            ("fc00::1", Some(PrivateLan), false, true),
            ("fd12:3456::1", Some(PrivateLan), false, true),
            ("fec0::1", Some(PrivateLan), false, true),
            // .local / .ts.net names.
            ("printer.local", Some(PrivateLan), false, true),
            ("printer.local.", Some(PrivateLan), false, true),
            ("gw.tail1234.ts.net", Some(Tailnet), false, true),
            ("GW.TAIL1234.TS.NET.", Some(Tailnet), false, true),
            // Never: unspecified, multicast, public.
            ("0.0.0.0", Some(Public), false, false),
            ("::", Some(Public), false, false),
            ("224.0.0.251", Some(Public), false, false),
            ("ff02::1", Some(Public), false, false),
            ("8.8.8.8", Some(Public), false, false),
            ("192.0.2.1", Some(Public), false, false),
            ("2001:db8::1", Some(Public), false, false),
            ("::ffff:8.8.8.8", Some(Public), false, false),
            // Other DNS names: only resolution can tell (see transport's resolver tests).
            ("gateway.home.arpa", None, false, false),
            ("nas", None, false, false),
            ("example.com", None, false, false),
            // §2.4 mobile rows (classification only; mobile refuses CGNAT and .ts.net).
            ("10.0.2.2", Some(PrivateLan), false, true),
            ("fd00::1%1", Some(PrivateLan), false, true),
        ];
        for (host, class, loopback_only, private) in rows {
            let got = classify_host_str(host);
            assert_eq!(got, *class, "{host}");
            let admit = |p: PlaintextPolicy| got.is_some_and(|c| p.allows(c));
            assert_eq!(admit(PlaintextPolicy::LoopbackOnly), *loopback_only, "{host} loopback-only");
            assert_eq!(admit(PlaintextPolicy::PrivateNetwork), *private, "{host} private-network");
        }
        // The same hosts through URL parsing agree (zone ids are not valid in URLs).
        for (host, class, _, _) in rows {
            if host.contains('%') {
                continue;
            }
            let h = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
            let e = Endpoint::parse(&format!("ws://{h}:1")).unwrap();
            assert_eq!(classify_host(&e.host), *class, "{host} via URL");
        }
        assert!(matches!(Endpoint::parse("ws://[fe80::1%25eth0]:1"), Err(EndpointError::Invalid(_))));
    }

    #[test]
    fn pins() {
        let hex = "3f9a".repeat(16);
        let p = TlsPin::parse(&hex).unwrap();
        assert_eq!(p.to_hex(), hex);
        let colons: Vec<String> = hex.as_bytes().chunks(2).map(|c| String::from_utf8(c.to_vec()).unwrap()).collect();
        let upper = colons.join(":").to_uppercase();
        for form in [hex.to_uppercase(), format!("sha256:{hex}"), format!("SHA256:{upper}"), format!("  {upper} \n")] {
            assert_eq!(TlsPin::parse(&form), Ok(p), "{form}");
        }
        for bad in [
            "",
            "sha256:",
            &hex[..62],
            &format!("{hex}00"),
            &format!("sha1:{hex}"),
            &format!("sha-256:{hex}"),
            "P5qaP5qaP5qaP5qaP5qaP5qaP5qaP5qaP5qaP5qaP5o=",
            &colons[..31].join(":"),
            &format!("{}:{}", colons[..30].join(":"), "3f9a"),
            &format!("{}z", &hex[..63]),
            &colons.join("-"),
        ] {
            assert_eq!(TlsPin::parse(bad), Err(PinError::Format), "{bad}");
        }
        assert!(p.ct_eq(&TlsPin::parse(&hex).unwrap()));
        assert!(!p.ct_eq(&TlsPin::parse(&"00".repeat(32)).unwrap()));
        assert_eq!(TlsPin::of_der(b"abc").to_hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        // A pin on ws:// is an error; on wss:// it is kept but not part of the origin.
        assert_eq!(Endpoint::parse_pinned("ws://127.0.0.1:1", Some(p)), Err(EndpointError::PinOnPlaintext));
        let e = Endpoint::parse_pinned("wss://gw.example:8443", Some(p)).unwrap();
        assert_eq!(e.pin, Some(p));
        assert_eq!(e.origin(), Endpoint::parse("wss://gw.example:8443").unwrap().origin());
    }

    #[test]
    fn ssh_tunnel_origin_ignores_the_local_port() {
        let t = SshTarget::parse("pi@Gateway.lan:2222", 18789).unwrap();
        assert_eq!(t.to_string(), "ssh://pi@gateway.lan:2222/127.0.0.1:18789");
        let a = Endpoint::parse("ws://127.0.0.1:40001").unwrap().via_tunnel(t.clone());
        let b = Endpoint::parse("ws://127.0.0.1:40002").unwrap().via_tunnel(t.clone());
        assert_eq!(a.origin(), b.origin());
        assert_eq!(a.url(), "ws://127.0.0.1:40001/");
        assert_ne!(a.origin(), Endpoint::parse("ws://127.0.0.1:40001").unwrap().origin());
        let other = SshTarget::parse("pi@gateway.lan:2222", 18790).unwrap();
        assert_ne!(a.origin(), b.via_tunnel(other).origin());
        assert_eq!(SshTarget::parse("host", 1).unwrap().to_string(), "ssh://host/127.0.0.1:1");
        for bad in ["", "@host", "-oProxyCommand=x", "host:0", "host:x", "a b"] {
            assert!(SshTarget::parse(bad, 18789).is_err(), "{bad}");
        }
        assert_eq!(Endpoint::parse("wss://gw.example").unwrap().port, 443);
        assert_eq!(Endpoint::from_host_port("gw.example", None, true).unwrap().port, DEFAULT_PORT);
    }

    #[test]
    fn normalised_urls() {
        for (input, want) in [
            ("ws://127.0.0.1:18789", "ws://127.0.0.1:18789"),
            ("ws://127.0.0.1:18789/", "ws://127.0.0.1:18789"),
            ("https://GW.example:443/", "wss://gw.example"),
            ("http://[::1]:1/prefix", "ws://[::1]:1/prefix"),
        ] {
            assert_eq!(normalize_gateway_url(input).as_deref(), Ok(want), "{input}");
        }
        assert_eq!(normalize_gateway_url("ws://a:b@h"), Err(EndpointError::UserInfo));
        assert_eq!(normalize_gateway_url("ftp://h"), Err(EndpointError::Scheme("ftp".into())));
    }

    #[test]
    fn trailing_dots_cannot_turn_a_name_into_a_number() {
        // Found by the `endpoint` fuzz target: printed endpoints must parse back.
        assert!(Endpoint::parse("ws://1027.10..:").is_err());
        let e = Endpoint::parse("ws://localhost.:18789").unwrap();
        assert_eq!(Endpoint::parse(&e.to_string()).unwrap().to_string(), e.to_string());
    }
}
