//! Transport: endpoint → plaintext policy → resolve → TCP (or a Unix socket) → (TLS) →
//! WebSocket.
//!
//! The policy check happens before any socket is opened, and the socket connects to the
//! exact address that was checked (no second lookup). With
//! [`TransportConfig::unix_socket`] (the local end of a managed SSH tunnel) the endpoint
//! still names the logical target (policy check, `Host` header, TLS name) but the bytes go
//! to that socket, which must be served by this process's own uid (`SO_PEERCRED`); no TCP
//! socket is opened. `wss://` runs over rustls with the
//! ring provider only: a pinned endpoint trusts exactly its leaf certificate (SHA-256 of
//! the DER, compared in constant time; chain and hostname ignored, handshake signatures
//! still verified); an unpinned one uses the platform verifier (system trust). A pin
//! mismatch fails the TLS handshake, so not one byte of the HTTP upgrade is written.
//! Redirects on the upgrade are never followed.
//!
//! With [`TransportConfig::proxy`] the socket is a tunnel through an HTTP `CONNECT` or
//! SOCKS5 proxy ([`proxy`]: TLS stays end to end, the proxy resolves the Gateway's name,
//! plaintext only to a loopback Gateway). [`TransportConfig::headers`] adds custom headers
//! to the upgrade request ([`headers`]: reserved names refused, values redacted).

mod error;
mod headers;
mod listener;
mod proxy;
mod tls;
pub use error::{PinMismatch, TransportError};
pub use headers::{HeaderError, UpgradeHeaders};
pub use listener::LoopbackListeners;
pub use proxy::{Proxy, ProxyError, ProxyKind};
use tls::secure;
pub use tls::{TlsProbe, probe_tls};

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
#[cfg(unix)]
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::crypto::CryptoProvider;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
#[cfg(unix)]
use tokio::net::UnixStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::endpoint::{Endpoint, Host, NetworkClass, PlaintextPolicy, classify_ip, classify_name};

/// The byte stream under the WebSocket: plain TCP, TLS over TCP, or (a managed SSH
/// tunnel's local end) the same over a Unix socket.
///
/// Not API (hidden): public only for [`open_stream`]'s integration test.
#[doc(hidden)]
#[derive(Debug)]
pub enum TransportStream {
    /// `ws://`.
    Plain(TcpStream),
    /// `wss://`.
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
    /// `ws://` through [`TransportConfig::unix_socket`].
    #[cfg(unix)]
    Unix(UnixStream),
    /// `wss://` through [`TransportConfig::unix_socket`].
    #[cfg(unix)]
    UnixTls(Box<tokio_rustls::client::TlsStream<UnixStream>>),
}

/// Forwards a poll call to whichever stream the variant holds.
macro_rules! each_stream {
    ($self:expr, $s:ident => $call:expr) => {
        match $self.get_mut() {
            TransportStream::Plain($s) => {
                let $s = Pin::new($s);
                $call
            }
            TransportStream::Tls($s) => {
                let $s = Pin::new($s.as_mut());
                $call
            }
            #[cfg(unix)]
            TransportStream::Unix($s) => {
                let $s = Pin::new($s);
                $call
            }
            #[cfg(unix)]
            TransportStream::UnixTls($s) => {
                let $s = Pin::new($s.as_mut());
                $call
            }
        }
    };
}

impl AsyncRead for TransportStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => s.poll_read(cx, buf))
    }
}

impl AsyncWrite for TransportStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        each_stream!(self, s => s.poll_write(cx, buf))
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => s.poll_flush(cx))
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        each_stream!(self, s => s.poll_shutdown(cx))
    }
}

/// The WebSocket stream type the session runs on.
pub(crate) type WsStream = WebSocketStream<TransportStream>;

/// A boxed future returned by the [`Resolver`] and [`Dialer`] seams.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Name resolution (a seam so tests control what a name resolves to).
pub trait Resolver: Send + Sync + fmt::Debug {
    /// All addresses of `host` at `port`.
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>>;
}

/// The system resolver (`tokio::net::lookup_host`).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
        Box::pin(async move { Ok(tokio::net::lookup_host((host, port)).await?.collect()) })
    }
}

/// Opens TCP sockets (a seam so tests can count or forbid connects).
pub trait Dialer: Send + Sync + fmt::Debug {
    /// Connects to `addr`.
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>>;
}

/// The real dialer (`TcpStream::connect`).
#[derive(Debug, Default, Clone, Copy)]
pub struct TcpDialer;

impl Dialer for TcpDialer {
    fn connect(&self, addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
        Box::pin(TcpStream::connect(addr))
    }
}

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Which plaintext destinations are allowed.
    pub plaintext: PlaintextPolicy,
    /// TCP connect timeout per address.
    pub connect_timeout: Duration,
    /// TLS handshake timeout.
    pub tls_timeout: Duration,
    /// WebSocket opening handshake timeout.
    pub upgrade_timeout: Duration,
    /// Largest inbound message accepted (the Gateway's own limit is 25 MiB).
    pub max_inbound_message: usize,
    /// Name resolution.
    pub resolver: Arc<dyn Resolver>,
    /// TCP connects.
    pub dialer: Arc<dyn Dialer>,
    /// Dial this Unix socket instead of TCP (the local end of a managed SSH tunnel). The
    /// endpoint still names the logical target: its plaintext policy is checked, its
    /// host and port go in the `Host` header (and the TLS name for `wss://`), and no TCP
    /// socket is opened. The socket must be served by this process's effective uid
    /// (checked with `SO_PEERCRED` before a byte is written), else
    /// [`TransportError::ForeignSocket`].
    #[cfg(unix)]
    pub unix_socket: Option<PathBuf>,
    /// Who may serve a plaintext loopback connection (checked before a byte is written),
    /// else [`TransportError::ForeignListener`].
    pub loopback_listeners: LoopbackListeners,
    /// Reach the Gateway through this proxy (HTTP `CONNECT` or SOCKS5). Not combined with
    /// [`TransportConfig::unix_socket`] ([`TransportError::ProxyWithUnixSocket`]).
    pub proxy: Option<Proxy>,
    /// Extra headers on the WebSocket upgrade request (`wss://` or a loopback `ws://` only).
    pub headers: UpgradeHeaders,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            plaintext: PlaintextPolicy::LoopbackOnly,
            connect_timeout: Duration::from_secs(10),
            tls_timeout: Duration::from_secs(10),
            upgrade_timeout: Duration::from_secs(15),
            max_inbound_message: 32 * 1024 * 1024,
            resolver: Arc::new(SystemResolver),
            dialer: Arc::new(TcpDialer),
            #[cfg(unix)]
            unix_socket: None,
            loopback_listeners: LoopbackListeners::default(),
            proxy: None,
            headers: UpgradeHeaders::default(),
        }
    }
}

/// The single crypto provider (ring) used for TLS and handshake signatures.
pub(crate) fn crypto_provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Resolves `endpoint` to the addresses the policy admits (checked before any socket opens).
///
/// `ws://` under [`PlaintextPolicy::LoopbackOnly`] (the default): loopback literals and the
/// name `localhost` (exact, case-insensitive, one trailing dot allowed) only; any other name
/// is refused *before* the resolver is called. Under the break-glass
/// [`PlaintextPolicy::PrivateNetwork`] a name without a lexical class is resolved and admitted
/// only if every address is. `wss://` is not subject to the plaintext policy.
pub(crate) async fn admitted_addresses(
    endpoint: &Endpoint,
    policy: PlaintextPolicy,
    resolver: &dyn Resolver,
) -> Result<Vec<SocketAddr>, TransportError> {
    let refuse = |class| TransportError::PlaintextRefused { host: endpoint.host.to_string(), class: Some(class) };
    match &endpoint.host {
        Host::Ip(ip) => {
            let class = classify_ip(*ip);
            if !endpoint.tls && !policy.allows(class) {
                return Err(refuse(class));
            }
            Ok(vec![SocketAddr::new(*ip, endpoint.port)])
        }
        Host::Name(name) => {
            // A name is admitted by its suffix class or, failing that, only if every
            // address it resolves to is admitted.
            let name_class = classify_name(name);
            if !endpoint.tls
                && let Some(class) = name_class
                && !policy.allows(class)
            {
                return Err(refuse(class));
            }
            // Default policy (remote-access.md §5): only `localhost` passes among names;
            // every other name is refused lexically, before any resolution.
            if !endpoint.tls && !policy.resolves_unclassified_names() && name_class.is_none() {
                return Err(TransportError::PlaintextRefused { host: name.clone(), class: None });
            }
            let addrs = resolver
                .resolve(name, endpoint.port)
                .await
                .map_err(|e| TransportError::Resolve { host: name.clone(), message: e.to_string() })?;
            if addrs.is_empty() {
                return Err(TransportError::Resolve { host: name.clone(), message: "no addresses".into() });
            }
            // A discovered Gateway's name comes from the network: what it resolves to on
            // this host (its own name, `*.localhost`) is no route, as a loopback answer is not.
            let addrs = if endpoint.discovered.is_some() {
                let kept: Vec<SocketAddr> =
                    addrs.into_iter().filter(|a| !crate::discovery::points_here(&a.ip())).collect();
                if kept.is_empty() {
                    return Err(TransportError::Resolve {
                        host: name.clone(),
                        message: "the discovered name resolves only to this host (loopback or unspecified)".into(),
                    });
                }
                kept
            } else {
                addrs
            };
            if endpoint.tls {
                return Ok(addrs);
            }
            let admitted: Vec<SocketAddr> = match name_class {
                // localhost must resolve to loopback; drop anything else it resolves to.
                Some(NetworkClass::Loopback) => {
                    addrs.into_iter().filter(|a| classify_ip(a.ip()) == NetworkClass::Loopback).collect()
                }
                _ => {
                    if let Some(bad) = addrs.iter().find(|a| !policy.allows(classify_ip(a.ip()))) {
                        return Err(refuse(classify_ip(bad.ip())));
                    }
                    addrs
                }
            };
            if admitted.is_empty() {
                return Err(refuse(NetworkClass::Public));
            }
            Ok(admitted)
        }
    }
}

pub(super) async fn dial(addrs: Vec<SocketAddr>, cfg: &TransportConfig) -> Result<TcpStream, TransportError> {
    let mut last_err = None;
    for addr in addrs {
        match tokio::time::timeout(cfg.connect_timeout, cfg.dialer.connect(addr)).await {
            Ok(Ok(s)) => {
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => last_err = Some((addr, e.to_string())),
            Err(_) => last_err = Some((addr, "connect timed out".to_string())),
        }
    }
    match last_err {
        Some((addr, message)) => Err(TransportError::Connect { addr: addr.to_string(), message }),
        None => Err(TransportError::Timeout("connect")),
    }
}

/// Connects to a Unix socket and checks that our own uid serves it.
#[cfg(unix)]
async fn dial_unix(path: &Path, cfg: &TransportConfig) -> Result<UnixStream, TransportError> {
    let addr = || path.display().to_string();
    let s = match tokio::time::timeout(cfg.connect_timeout, UnixStream::connect(path)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => return Err(TransportError::Connect { addr: addr(), message: e.to_string() }),
        Err(_) => return Err(TransportError::Timeout("connect")),
    };
    let peer = s.peer_cred().map_err(|e| TransportError::Connect { addr: addr(), message: e.to_string() })?;
    if peer.uid() != rustix::process::geteuid().as_raw() {
        return Err(TransportError::ForeignSocket { path: addr(), uid: peer.uid() });
    }
    Ok(s)
}

/// The connected socket before TLS.
enum Socket {
    Tcp(TcpStream),
    #[cfg(unix)]
    Unix(UnixStream),
}

/// Policy check, then the configured Unix socket, a tunnel through the configured proxy, or
/// TCP to the admitted addresses.
async fn connect_socket(endpoint: &Endpoint, cfg: &TransportConfig) -> Result<Socket, TransportError> {
    if let Some(p) = &cfg.proxy {
        #[cfg(unix)]
        if cfg.unix_socket.is_some() {
            return Err(TransportError::ProxyWithUnixSocket);
        }
        return proxy::tunnel(p, endpoint, cfg).await.map(Socket::Tcp);
    }
    let addrs = admitted_addresses(endpoint, cfg.plaintext, cfg.resolver.as_ref()).await?;
    #[cfg(unix)]
    if let Some(path) = &cfg.unix_socket {
        return dial_unix(path, cfg).await.map(Socket::Unix);
    }
    dial(addrs, cfg).await.map(Socket::Tcp)
}

/// Opens TCP or the configured Unix socket (and TLS for `wss://`) to `endpoint` after the
/// policy check; nothing of the WebSocket upgrade is written yet.
///
/// Not API (hidden): public only so an integration test can check the Unix socket owner
/// check (`tests/tests/ssh_tunnel_race.rs`) without a whole session.
#[doc(hidden)]
pub async fn open_stream(endpoint: &Endpoint, cfg: &TransportConfig) -> Result<TransportStream, TransportError> {
    match connect_socket(endpoint, cfg).await? {
        Socket::Tcp(tcp) if !endpoint.tls => {
            // Through a proxy the hop to it was checked before the proxy handshake.
            if cfg.proxy.is_none() {
                check_listener(&tcp, cfg)?;
            }
            Ok(TransportStream::Plain(tcp))
        }
        Socket::Tcp(tcp) => secure(tcp, endpoint, cfg).await.map(|s| TransportStream::Tls(Box::new(s))),
        #[cfg(unix)]
        Socket::Unix(unix) if !endpoint.tls => Ok(TransportStream::Unix(unix)),
        #[cfg(unix)]
        Socket::Unix(unix) => secure(unix, endpoint, cfg).await.map(|s| TransportStream::UnixTls(Box::new(s))),
    }
}

/// The loopback listener check on a connected plaintext socket (before a byte is written).
pub(super) fn check_listener(tcp: &TcpStream, cfg: &TransportConfig) -> Result<(), TransportError> {
    let dead = |e: io::Error| TransportError::Connect { addr: "socket".into(), message: e.to_string() };
    let (local, peer) = (tcp.local_addr().map_err(dead)?, tcp.peer_addr().map_err(dead)?);
    listener::check(&cfg.loopback_listeners, local, peer).map_err(|r| TransportError::ForeignListener {
        addr: peer.to_string(),
        uid: match r {
            listener::Refusal::Uid(uid) => Some(uid),
            listener::Refusal::Unknown => None,
        },
    })
}

/// A reachability check: the plaintext policy check, then a TCP connect through the
/// configured resolver and dialer (or a connect to the configured Unix socket), closed at
/// once. No TLS, no WebSocket, no credential: it only tells whether the Gateway's port
/// accepts connections.
pub async fn reachable(endpoint: &Endpoint, cfg: &TransportConfig) -> Result<(), TransportError> {
    connect_socket(endpoint, cfg).await.map(drop)
}

/// Opens the WebSocket to `endpoint`.
pub(crate) async fn open(endpoint: &Endpoint, cfg: &TransportConfig) -> Result<WsStream, TransportError> {
    if let (Some(id), None) = (&endpoint.discovered, endpoint.pin) {
        return Err(TransportError::DiscoveredUnpinned { id: id.clone() });
    }
    if !cfg.headers.is_empty() && !endpoint.tls && !is_loopback_host(&endpoint.host) {
        return Err(TransportError::HeadersNeedTls { host: endpoint.host.to_string() });
    }
    let request = upgrade_request(endpoint, &cfg.headers)?;
    let stream = open_stream(endpoint, cfg).await?;
    let mut config = WebSocketConfig::default();
    // tungstenite zero-fills `read_buffer_size` bytes before every socket read (128 KiB by
    // default: two 128 KiB memsets per invoke, and 128 KiB resident per connection). Inbound
    // frames are small; 16 KiB reads lose nothing.
    config.read_buffer_size = 16 * 1024;
    config.max_message_size = Some(cfg.max_inbound_message);
    config.max_frame_size = Some(cfg.max_inbound_message);
    let upgrade = tokio_tungstenite::client_async_with_config(request, stream, Some(config));
    match tokio::time::timeout(cfg.upgrade_timeout, upgrade).await {
        Ok(Ok((ws, _resp))) => Ok(ws),
        Ok(Err(tokio_tungstenite::tungstenite::Error::Http(resp))) if resp.status().is_redirection() => {
            Err(TransportError::Redirect { status: resp.status().as_u16() })
        }
        Ok(Err(e)) => Err(TransportError::Upgrade(e.to_string())),
        Err(_) => Err(TransportError::Timeout("websocket upgrade")),
    }
}

/// The upgrade request: the endpoint's URL and the custom headers (values marked sensitive).
fn upgrade_request(
    endpoint: &Endpoint,
    headers: &UpgradeHeaders,
) -> Result<tokio_tungstenite::tungstenite::handshake::client::Request, TransportError> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
    use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
    let mut request = endpoint.url().into_client_request().map_err(|e| TransportError::Upgrade(e.to_string()))?;
    for (name, value) in headers.iter() {
        let n = HeaderName::from_bytes(name.as_bytes()).map_err(|e| TransportError::Upgrade(format!("{name}: {e}")))?;
        let mut v = HeaderValue::from_str(value.expose())
            .map_err(|_| TransportError::Upgrade(format!("invalid value for header {name}")))?;
        v.set_sensitive(true);
        request.headers_mut().insert(n, v);
    }
    Ok(request)
}

/// Whether a host is loopback (a trusted endpoint for the one-shot device-token retry).
pub(crate) fn is_loopback_host(host: &Host) -> bool {
    match host {
        Host::Ip(ip) => classify_ip(*ip) == NetworkClass::Loopback,
        Host::Name(n) => classify_name(n) == Some(NetworkClass::Loopback),
    }
}

/// Whether `endpoint` is trusted for device credentials beyond their first use: loopback,
/// or `wss://` with a pin (the one-shot device-token retry, hand-off tokens).
pub(crate) fn is_trusted_for_device_retry(endpoint: &Endpoint) -> bool {
    is_loopback_host(&endpoint.host) || (endpoint.tls && endpoint.pin.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::net::IpAddr;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::endpoint::TlsPin;
    use crate::secret::Secret;

    /// A resolver with a fixed table.
    #[derive(Debug, Default)]
    struct TableResolver(HashMap<String, Vec<IpAddr>>, AtomicUsize);

    impl Resolver for TableResolver {
        fn resolve<'a>(&'a self, host: &'a str, port: u16) -> BoxFuture<'a, io::Result<Vec<SocketAddr>>> {
            self.1.fetch_add(1, Ordering::SeqCst);
            let r = self
                .0
                .get(host)
                .map(|ips| ips.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
                .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "unknown"));
            Box::pin(async move { r })
        }
    }

    /// A dialer that counts and refuses.
    #[derive(Debug, Default)]
    struct CountingDialer(AtomicUsize);

    impl Dialer for CountingDialer {
        fn connect(&self, _addr: SocketAddr) -> BoxFuture<'_, io::Result<TcpStream>> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Err(io::Error::new(io::ErrorKind::PermissionDenied, "test dialer")) })
        }
    }

    fn resolver() -> TableResolver {
        let mut t = HashMap::new();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        t.insert("public.test".to_string(), vec![ip("203.0.113.7")]);
        t.insert("nas.home.arpa".to_string(), vec![ip("192.168.1.20"), ip("fd00::20")]);
        t.insert("mixed.test".to_string(), vec![ip("10.0.0.5"), ip("198.51.100.1")]);
        t.insert("tailnet.test".to_string(), vec![ip("100.101.102.103")]);
        t.insert("localhost".to_string(), vec![ip("127.0.0.1"), ip("192.0.2.9")]);
        t.insert("loop.test".to_string(), vec![ip("127.0.0.2")]);
        t.insert("unspecified.test".to_string(), vec![ip("0.0.0.0")]);
        t.insert("nas.local".to_string(), vec![ip("192.168.1.30")]);
        t.insert("evil.local".to_string(), vec![ip("198.51.100.2")]);
        TableResolver(t, AtomicUsize::new(0))
    }

    #[tokio::test]
    async fn dns_admission_with_a_controlled_resolver() {
        use PlaintextPolicy::*;
        let r = resolver();
        let addrs = |s: &[&str], port: u16| -> Vec<SocketAddr> {
            s.iter().map(|a| SocketAddr::new(a.parse().unwrap(), port)).collect()
        };
        let rows: &[(&str, PlaintextPolicy, Option<&[&str]>)] = &[
            ("ws://public.test:1", LoopbackOnly, None),
            ("ws://public.test:1", PrivateNetwork, None),
            ("ws://nas.home.arpa:1", LoopbackOnly, None),
            ("ws://nas.home.arpa:1", PrivateNetwork, Some(&["192.168.1.20", "fd00::20"])),
            ("ws://mixed.test:1", PrivateNetwork, None),
            ("ws://tailnet.test:1", PrivateNetwork, Some(&["100.101.102.103"])),
            ("ws://tailnet.test:1", LoopbackOnly, None),
            // Default policy: a name other than localhost is refused even if it resolves to loopback.
            ("ws://loop.test:1", LoopbackOnly, None),
            ("ws://loop.test:1", PrivateNetwork, Some(&["127.0.0.2"])),
            // localhost keeps only its loopback addresses.
            ("ws://localhost:1", LoopbackOnly, Some(&["127.0.0.1"])),
            ("ws://unspecified.test:1", PrivateNetwork, None),
            // wss is not subject to the plaintext policy.
            ("wss://public.test:1", LoopbackOnly, Some(&["203.0.113.7"])),
        ];
        for (url, policy, want) in rows {
            let e = Endpoint::parse(url).unwrap();
            let got = admitted_addresses(&e, *policy, &r).await;
            match want {
                Some(w) => assert_eq!(got.unwrap(), addrs(w, 1), "{url} {policy:?}"),
                None => {
                    let err = got.unwrap_err();
                    assert!(matches!(err, TransportError::PlaintextRefused { .. }), "{url} {policy:?}: {err}");
                    assert!(err.is_terminal());
                }
            }
        }
        // Names with a lexical class that the policy refuses are refused without a lookup.
        let before = r.1.load(Ordering::SeqCst);
        let e = Endpoint::parse("ws://printer.local:1").unwrap();
        assert!(admitted_addresses(&e, LoopbackOnly, &r).await.is_err());
        let e = Endpoint::parse("ws://8.8.8.8:1").unwrap();
        assert!(admitted_addresses(&e, PrivateNetwork, &r).await.is_err());
        assert_eq!(r.1.load(Ordering::SeqCst), before);
    }

    /// The mobile rule (transport.md §2.4): local network yes, tailnet and other names no.
    #[tokio::test]
    async fn mobile_strict_admits_the_local_network_only() {
        let r = resolver();
        let ok = [
            "ws://127.0.0.1:1",
            "ws://localhost:1",
            "ws://10.0.2.2:18789",
            "ws://192.168.1.20:1",
            "ws://172.16.0.1:1",
            "ws://169.254.3.4:1",
            "ws://[fe80::1]:1",
            "ws://[fd00::20]:1",
        ];
        for url in ok {
            let e = Endpoint::parse(url).unwrap();
            assert!(admitted_addresses(&e, PlaintextPolicy::MobileStrict, &r).await.is_ok(), "{url}");
        }
        let before = r.1.load(Ordering::SeqCst);
        for url in [
            "ws://100.101.102.103:1",
            "ws://box.tail1234.ts.net:1",
            "ws://nas.home.arpa:1",
            "ws://nas:1",
            "ws://8.8.8.8:1",
        ] {
            let e = Endpoint::parse(url).unwrap();
            let err = admitted_addresses(&e, PlaintextPolicy::MobileStrict, &r).await.unwrap_err();
            assert!(matches!(err, TransportError::PlaintextRefused { .. }) && err.is_terminal(), "{url}: {err}");
        }
        assert_eq!(r.1.load(Ordering::SeqCst), before, "refused without resolving");
        // `.local` names are resolved and must stay local.
        assert!(PlaintextPolicy::MobileStrict.allows(NetworkClass::PrivateLan));
        assert!(!PlaintextPolicy::MobileStrict.allows(NetworkClass::Tailnet));
        let e = Endpoint::parse("ws://nas.local:1").unwrap();
        assert_eq!(admitted_addresses(&e, PlaintextPolicy::MobileStrict, &r).await.unwrap().len(), 1);
        let e = Endpoint::parse("ws://evil.local:1").unwrap();
        assert!(admitted_addresses(&e, PlaintextPolicy::MobileStrict, &r).await.is_err());
    }

    /// Attack (issue #12): `clawnode run --url ws://gateway.example.invalid:18789` without
    /// break-glass resolved the name and retried forever on "could not resolve". Under the
    /// default policy every name but `localhost` is refused lexically: zero resolutions,
    /// terminal, with the remedy in the message.
    #[tokio::test]
    async fn attack_plaintext_dns_name_refused_before_resolution() {
        let r = resolver();
        for url in [
            "ws://gateway.example.invalid:18789",
            "ws://public.test:1",
            "ws://loop.test:1",
            "ws://nas:18789",
            "ws://nas.home.arpa:1",
            "ws://foo.localhost:1",
            "ws://localhost.example:1",
        ] {
            let e = Endpoint::parse(url).unwrap();
            let err = admitted_addresses(&e, PlaintextPolicy::LoopbackOnly, &r).await.unwrap_err();
            assert!(matches!(err, TransportError::PlaintextRefused { class: None, .. }), "{url}: {err}");
            assert!(err.is_terminal(), "{url}");
            let msg = err.to_string();
            for remedy in ["wss://", "--ssh", "OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1"] {
                assert!(msg.contains(remedy), "{url}: {remedy} missing in {msg}");
            }
        }
        assert_eq!(r.1.load(Ordering::SeqCst), 0, "no name may be resolved under the default policy");
        // localhost (any case, one trailing dot) and loopback literals still pass.
        for url in
            ["ws://localhost:1", "ws://LocalHost.:1", "ws://127.0.0.5:1", "ws://[::1]:1", "ws://[::ffff:127.0.0.1]:1"]
        {
            let e = Endpoint::parse(url).unwrap();
            assert!(admitted_addresses(&e, PlaintextPolicy::LoopbackOnly, &r).await.is_ok(), "{url}");
        }
        // Break-glass keeps resolve-then-check: the name is resolved.
        let before = r.1.load(Ordering::SeqCst);
        let e = Endpoint::parse("ws://nas.home.arpa:1").unwrap();
        assert!(admitted_addresses(&e, PlaintextPolicy::PrivateNetwork, &r).await.is_ok());
        assert_eq!(r.1.load(Ordering::SeqCst), before + 1);
        // The full transport opens no socket for it either.
        let dialer = Arc::new(CountingDialer::default());
        let cfg =
            TransportConfig { resolver: Arc::new(resolver()), dialer: dialer.clone(), ..TransportConfig::default() };
        let e = Endpoint::parse("ws://gateway.example.invalid:18789").unwrap();
        assert!(open(&e, &cfg).await.unwrap_err().is_terminal());
        assert_eq!(dialer.0.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn refusal_opens_no_socket() {
        let dialer = Arc::new(CountingDialer::default());
        let cfg =
            TransportConfig { resolver: Arc::new(resolver()), dialer: dialer.clone(), ..TransportConfig::default() };
        for url in ["ws://192.0.2.1:18789", "ws://public.test:18789", "ws://[2001:db8::1]:1", "ws://0.0.0.0:1"] {
            let e = Endpoint::parse(url).unwrap();
            let err = open(&e, &cfg).await.unwrap_err();
            assert!(matches!(err, TransportError::PlaintextRefused { .. }), "{url}: {err}");
            assert!(err.is_terminal());
        }
        assert_eq!(dialer.0.load(Ordering::SeqCst), 0, "no socket may be opened");
    }

    #[tokio::test]
    async fn policy_checked_before_connect() {
        let r = SystemResolver;
        let e = Endpoint::parse("ws://192.168.1.10:18789").unwrap();
        let err = admitted_addresses(&e, PlaintextPolicy::LoopbackOnly, &r).await.unwrap_err();
        assert!(err.is_terminal());
        assert!(err.to_string().contains("ssh -N -L 18789:127.0.0.1:18789"));
        assert_eq!(
            admitted_addresses(&e, PlaintextPolicy::PrivateNetwork, &r).await.unwrap(),
            vec!["192.168.1.10:18789".parse().unwrap()]
        );
        let e = Endpoint::parse("ws://8.8.8.8:1").unwrap();
        assert!(admitted_addresses(&e, PlaintextPolicy::PrivateNetwork, &r).await.is_err());
    }

    #[tokio::test]
    async fn connect_refused_is_retryable() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        drop(l);
        let e = Endpoint::parse(&format!("ws://127.0.0.1:{port}")).unwrap();
        let err = open(&e, &TransportConfig::default()).await.unwrap_err();
        assert!(matches!(err, TransportError::Connect { .. }), "{err}");
        assert!(!err.is_terminal());
    }

    /// Attack (Gateway operator / network): the upgrade is answered with a redirect to
    /// another origin, hoping the node re-sends there (and then offers that origin's
    /// credentials, or this one's). Never followed: a terminal error, one request only.
    #[tokio::test]
    async fn attack_upgrade_redirect_to_another_origin_is_not_followed() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut requests = 0;
            while let Ok(Ok((mut s, _))) = tokio::time::timeout(Duration::from_millis(500), listener.accept()).await {
                requests += 1;
                let mut buf = vec![0u8; 4096];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(
                        b"HTTP/1.1 307 Temporary Redirect\r\nLocation: ws://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
                    )
                    .await;
            }
            requests
        });
        let e = Endpoint::parse(&format!("ws://127.0.0.1:{port}")).unwrap();
        let err = open(&e, &TransportConfig::default()).await.unwrap_err();
        assert!(matches!(err, TransportError::Redirect { status: 307 }), "{err}");
        assert!(err.is_terminal());
        assert_eq!(server.await.unwrap(), 1, "exactly one request, to the origin asked for");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn unix_socket_dial_opens_no_tcp_and_keeps_the_logical_host() {
        use tokio::io::AsyncReadExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let dialer = Arc::new(CountingDialer::default());
        let cfg = TransportConfig {
            dialer: dialer.clone(),
            unix_socket: Some(path.clone()),
            upgrade_timeout: Duration::from_millis(300),
            ..TransportConfig::default()
        };
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let e = Endpoint::parse("ws://127.0.0.1:18789").unwrap();
        // The stand-in server never answers the upgrade: the request is what matters.
        let _ = open(&e, &cfg).await;
        let request = server.await.unwrap();
        assert!(request.starts_with("GET / HTTP/1.1"), "{request}");
        assert!(request.to_ascii_lowercase().contains("host: 127.0.0.1:18789"), "{request}");
        assert_eq!(dialer.0.load(Ordering::SeqCst), 0, "no TCP connect through a Unix socket transport");
        // The stream type is the Unix one.
        let l2 = tokio::net::UnixListener::bind(dir.path().join("b.sock")).unwrap();
        let cfg = TransportConfig { unix_socket: Some(dir.path().join("b.sock")), ..cfg };
        let s = open_stream(&e, &cfg).await.unwrap();
        assert!(matches!(s, TransportStream::Unix(_)));
        drop(l2);
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn unix_socket_dial_still_applies_the_plaintext_policy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.sock");
        let listener = tokio::net::UnixListener::bind(&path).unwrap();
        let cfg = TransportConfig { unix_socket: Some(path), ..TransportConfig::default() };
        let e = Endpoint::parse("ws://192.0.2.1:18789").unwrap();
        let err = open_stream(&e, &cfg).await.unwrap_err();
        assert!(matches!(err, TransportError::PlaintextRefused { .. }), "{err}");
        let accepted = tokio::time::timeout(Duration::from_millis(200), listener.accept()).await;
        assert!(accepted.is_err(), "nothing may connect to the socket after a refusal");
        // A missing socket is a retryable connect error.
        let cfg = TransportConfig { unix_socket: Some(dir.path().join("absent.sock")), ..TransportConfig::default() };
        let err = open_stream(&Endpoint::parse("ws://127.0.0.1:1").unwrap(), &cfg).await.unwrap_err();
        assert!(matches!(err, TransportError::Connect { .. }), "{err}");
        assert!(!err.is_terminal());
        assert!(TransportError::ForeignSocket { path: "/x".into(), uid: 1 }.is_terminal());
    }

    /// Plaintext through a proxy: refused before any socket unless the Gateway and the proxy
    /// are loopback and the proxy hop passes the plaintext policy.
    #[tokio::test]
    async fn plaintext_through_a_proxy_is_refused_before_any_socket() {
        let dialer = Arc::new(CountingDialer::default());
        let cfg = |proxy: &str, plaintext| TransportConfig {
            resolver: Arc::new(resolver()),
            dialer: dialer.clone(),
            plaintext,
            proxy: Some(Proxy::parse(proxy).unwrap()),
            ..TransportConfig::default()
        };
        for (url, proxy, policy) in [
            ("ws://192.168.1.10:18789", "http://127.0.0.1:3128", PlaintextPolicy::LoopbackOnly),
            // Break-glass trusts a private network, not a proxy.
            ("ws://192.168.1.10:18789", "http://127.0.0.1:3128", PlaintextPolicy::PrivateNetwork),
            ("ws://nas.home.arpa:18789", "socks5://127.0.0.1:1080", PlaintextPolicy::PrivateNetwork),
            ("ws://gw.example:18789", "http://127.0.0.1:3128", PlaintextPolicy::LoopbackOnly),
            // A loopback Gateway, but the cleartext would cross the network to the proxy.
            ("ws://127.0.0.1:18789", "http://203.0.113.9:3128", PlaintextPolicy::LoopbackOnly),
            ("ws://127.0.0.1:18789", "socks5://public.test:1080", PlaintextPolicy::PrivateNetwork),
        ] {
            let e = Endpoint::parse(url).unwrap();
            let err = open(&e, &cfg(proxy, policy)).await.unwrap_err();
            assert!(matches!(err, TransportError::PlaintextViaProxy { .. }), "{url} via {proxy}: {err}");
            assert!(err.is_terminal());
            assert!(err.to_string().contains("wss://"), "{err}");
        }
        assert_eq!(dialer.0.load(Ordering::SeqCst), 0, "no socket may be opened");
        // Admitted: a loopback Gateway through a loopback proxy, and wss:// through any proxy
        // (the test dialer then refuses: a retryable proxy connect error).
        for (url, proxy) in [
            ("ws://127.0.0.1:18789", "http://127.0.0.1:3128"),
            ("ws://localhost:18789", "socks5://[::1]:1080"),
            ("wss://gw.example:443", "http://203.0.113.9:3128"),
            ("wss://203.0.113.7:443", "socks5h://public.test:1080"),
        ] {
            let e = Endpoint::parse(url).unwrap();
            let err = open(&e, &cfg(proxy, PlaintextPolicy::LoopbackOnly)).await.unwrap_err();
            assert!(matches!(err, TransportError::ProxyConnect { .. }), "{url} via {proxy}: {err}");
            assert!(!err.is_terminal());
        }
        assert_eq!(dialer.0.load(Ordering::SeqCst), 4, "one connect per admitted attempt, to the proxy");
    }

    /// Attack: a loopback `ws://` Gateway (an `adb reverse` or SSH port forward) and a proxy
    /// on the LAN (an app passing the system proxy), under a policy that admits plaintext to
    /// private addresses (the mobile default, the break-glass). The hop passes the policy,
    /// but the proxy resolves `127.0.0.1` on ITS host: the token and every frame would go
    /// in clear to whatever listens on the proxy's loopback. Plaintext through a proxy needs
    /// the proxy on this host too.
    #[tokio::test]
    async fn a_loopback_gateway_is_not_the_lan_proxys_loopback() {
        let dialer = Arc::new(CountingDialer::default());
        for (proxy, policy) in [
            ("http://192.168.1.1:3128", PlaintextPolicy::PrivateNetwork),
            ("socks5h://192.168.1.1:1080", PlaintextPolicy::MobileStrict),
            ("http://nas.local:3128", PlaintextPolicy::MobileStrict),
            ("socks5://nas.home.arpa:1080", PlaintextPolicy::PrivateNetwork),
        ] {
            let cfg = TransportConfig {
                resolver: Arc::new(resolver()),
                dialer: dialer.clone(),
                plaintext: policy,
                proxy: Some(Proxy::parse(proxy).unwrap()),
                ..TransportConfig::default()
            };
            for url in ["ws://127.0.0.1:18789", "ws://localhost:18789", "ws://[::1]:18789"] {
                let err = open(&Endpoint::parse(url).unwrap(), &cfg).await.unwrap_err();
                assert!(matches!(err, TransportError::PlaintextViaProxy { .. }), "{url} via {proxy}: {err}");
            }
            // wss:// through the same proxy is admitted (TLS runs end to end; the dialer refuses).
            let err = open(&Endpoint::parse("wss://gw.example:443").unwrap(), &cfg).await.unwrap_err();
            assert!(matches!(err, TransportError::ProxyConnect { .. }), "wss via {proxy}: {err}");
        }
        assert_eq!(dialer.0.load(Ordering::SeqCst), 4, "only the wss:// attempts reached a proxy");
    }

    /// Attack: names that look like loopback (but are DNS names the proxy would resolve
    /// anywhere) do not pass the "plaintext only to a loopback Gateway" rule; the WHATWG
    /// IPv4 spellings and the IPv4-mapped form are real loopback addresses and do.
    #[tokio::test]
    async fn loopback_lookalikes_through_a_proxy() {
        let dialer = Arc::new(CountingDialer::default());
        let cfg = TransportConfig {
            resolver: Arc::new(resolver()),
            dialer: dialer.clone(),
            proxy: Some(Proxy::parse("http://127.0.0.1:3128").unwrap()),
            ..TransportConfig::default()
        };
        for url in [
            "ws://localhost.example.com:18789",
            "ws://127.0.0.1.nip.io:18789",
            "ws://localhost.localdomain:18789",
            "ws://foo.localhost:18789",
            "ws://127.0.0.1.:18789.example",
        ] {
            let Ok(e) = Endpoint::parse(url) else { continue };
            let err = open(&e, &cfg).await.unwrap_err();
            assert!(matches!(err, TransportError::PlaintextViaProxy { .. }), "{url}: {err}");
        }
        assert_eq!(dialer.0.load(Ordering::SeqCst), 0, "no socket may be opened");
        for url in ["ws://0x7f.1:18789", "ws://2130706433:18789", "ws://[::ffff:127.0.0.1]:18789", "ws://LOCALHOST.:1"]
        {
            let e = Endpoint::parse(url).unwrap();
            assert!(is_loopback_host(&e.host), "{url} is loopback: {}", e.host);
            let err = open(&e, &cfg).await.unwrap_err();
            assert!(matches!(err, TransportError::ProxyConnect { .. }), "{url}: {err}");
        }
    }

    /// Attack: an endpoint keyed by a discovered Gateway's stable id (which anyone on the
    /// network can claim) but without a pin would send the device token stored under that
    /// id to whatever certificate passes system trust for an attacker-chosen SRV host.
    /// Refused before any socket opens.
    #[tokio::test]
    async fn a_discovered_endpoint_is_opened_only_pinned() {
        let dialer = Arc::new(CountingDialer::default());
        let cfg =
            TransportConfig { resolver: Arc::new(resolver()), dialer: dialer.clone(), ..TransportConfig::default() };
        let id = "_openclaw-gw._tcp.|local.|pi (OpenClaw)".to_string();
        for url in ["wss://public.test:443", "wss://192.168.1.20:18789"] {
            let e = Endpoint::parse(url).unwrap().discovered_as(id.clone());
            let err = open(&e, &cfg).await.unwrap_err();
            assert!(matches!(err, TransportError::DiscoveredUnpinned { .. }), "{url}: {err}");
            assert!(err.is_terminal());
            assert!(err.to_string().contains("pin"), "{err}");
        }
        assert_eq!(dialer.0.load(Ordering::SeqCst), 0, "no socket may be opened");
        let pin = TlsPin::parse(&"ab".repeat(32)).unwrap();
        let e = Endpoint::parse("wss://192.168.1.20:18789").unwrap().with_pin(Some(pin)).unwrap().discovered_as(id);
        let err = open(&e, &cfg).await.unwrap_err();
        assert!(matches!(err, TransportError::Connect { .. }), "pinned: dialled ({err})");
        assert_eq!(dialer.0.load(Ordering::SeqCst), 1);
    }

    /// Attack: a responder advertises an SRV target that is no loopback literal but a name
    /// this host resolves to itself (its own host name in /etc/hosts, `*.localhost` under
    /// nss-myhostname), with no A/AAAA, so the plan routes to the name. A discovery answer
    /// comes from the network: what the name resolves to on this host is no route either,
    /// for the first-use probe and for the pinned connect; other addresses are kept.
    #[tokio::test]
    async fn a_discovered_name_never_resolves_to_this_host() {
        let dialer = Arc::new(CountingDialer::default());
        let cfg =
            TransportConfig { resolver: Arc::new(resolver()), dialer: dialer.clone(), ..TransportConfig::default() };
        let id = "_openclaw-gw._tcp.|local.|pi (OpenClaw)".to_string();
        let pin = TlsPin::parse(&"ab".repeat(32)).unwrap();
        for name in ["loop.test", "unspecified.test"] {
            let probe = Endpoint::parse(&format!("wss://{name}:18789")).unwrap().discovered_as(id.clone());
            let pinned = probe.clone().with_pin(Some(pin)).unwrap();
            let Err(err) = tls::probe_tls(&probe, &cfg).await else { panic!("{name}: probed") };
            assert!(matches!(err, TransportError::Resolve { .. }), "{name}: {err}");
            let Err(err) = open_stream(&pinned, &cfg).await else { panic!("{name}: opened") };
            assert!(matches!(err, TransportError::Resolve { .. }), "{name}: {err}");
        }
        assert_eq!(dialer.0.load(Ordering::SeqCst), 0, "no socket to this host");
        // `localhost` of this table also resolves to a documentation address: only that one.
        let e = Endpoint::parse("wss://localhost:18789").unwrap().with_pin(Some(pin)).unwrap().discovered_as(id);
        let Err(err) = open_stream(&e, &cfg).await else { panic!("opened") };
        assert!(matches!(&err, TransportError::Connect { addr, .. } if addr == "192.0.2.9:18789"), "{err}");
        assert_eq!(dialer.0.load(Ordering::SeqCst), 1);
        // Not discovered: a configured wss:// name resolves as it always did.
        let e = Endpoint::parse("wss://loop.test:18789").unwrap();
        let Err(err) = open_stream(&e, &cfg).await else { panic!("opened") };
        assert!(matches!(&err, TransportError::Connect { addr, .. } if addr == "127.0.0.2:18789"), "{err}");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn proxy_and_unix_socket_do_not_combine() {
        let cfg = TransportConfig {
            proxy: Some(Proxy::parse("http://127.0.0.1:3128").unwrap()),
            unix_socket: Some("/nonexistent/gateway.sock".into()),
            ..TransportConfig::default()
        };
        let err = open_stream(&Endpoint::parse("ws://127.0.0.1:1").unwrap(), &cfg).await.unwrap_err();
        assert!(matches!(err, TransportError::ProxyWithUnixSocket) && err.is_terminal(), "{err}");
    }

    /// Custom headers go on the upgrade request; on a non-loopback ws:// they are refused
    /// before any socket opens.
    #[tokio::test]
    async fn upgrade_headers_on_the_request_and_never_over_remote_plaintext() {
        use tokio::io::AsyncReadExt as _;
        let mut headers = UpgradeHeaders::new();
        headers.insert("CF-Access-Client-Id", Secret::new("client.access")).unwrap();
        headers.insert("CF-Access-Client-Secret", Secret::new("edge-secret-value")).unwrap();
        let dialer = Arc::new(CountingDialer::default());
        let cfg = TransportConfig {
            resolver: Arc::new(resolver()),
            dialer: dialer.clone(),
            plaintext: PlaintextPolicy::PrivateNetwork,
            headers: headers.clone(),
            ..TransportConfig::default()
        };
        let err = open(&Endpoint::parse("ws://192.168.1.10:18789").unwrap(), &cfg).await.unwrap_err();
        assert!(matches!(err, TransportError::HeadersNeedTls { .. }) && err.is_terminal(), "{err}");
        assert_eq!(dialer.0.load(Ordering::SeqCst), 0);
        // Loopback ws://: the headers are on the request, once each.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            String::from_utf8_lossy(&buf[..n]).into_owned()
        });
        let cfg =
            TransportConfig { headers, upgrade_timeout: Duration::from_millis(300), ..TransportConfig::default() };
        let _ = open(&Endpoint::parse(&format!("ws://127.0.0.1:{port}")).unwrap(), &cfg).await;
        let request = server.await.unwrap().to_ascii_lowercase();
        assert!(request.contains("\r\ncf-access-client-id: client.access\r\n"), "{request}");
        assert!(request.contains("\r\ncf-access-client-secret: edge-secret-value\r\n"), "{request}");
        assert_eq!(request.matches("sec-websocket-key").count(), 1, "{request}");
    }

    /// tungstenite traces the whole upgrade request (custom headers included) at trace
    /// level: the `log` facade is compiled out.
    #[test]
    fn log_trace_is_compiled_out() {
        assert_eq!(log::STATIC_MAX_LEVEL, log::LevelFilter::Off);
    }

    #[test]
    fn device_retry_trust() {
        let pin = TlsPin::parse(&"ab".repeat(32)).unwrap();
        assert!(is_trusted_for_device_retry(&Endpoint::parse("ws://127.0.0.1:1").unwrap()));
        assert!(!is_trusted_for_device_retry(&Endpoint::parse("wss://gw.example:1").unwrap()));
        assert!(is_trusted_for_device_retry(&Endpoint::parse_pinned("wss://gw.example:1", Some(pin)).unwrap()));
        assert!(!is_trusted_for_device_retry(&Endpoint::parse("ws://10.0.0.1:1").unwrap()));
    }
}
