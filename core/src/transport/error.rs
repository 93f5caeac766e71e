//! What opening a transport can fail with.

use crate::endpoint::{NetworkClass, TlsPin};

/// A pinned certificate did not match: what was expected, what the Gateway presented, and
/// whether the presented certificate passes system trust (a CA-issued rotation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinMismatch {
    /// The stored pin.
    pub expected: TlsPin,
    /// The leaf fingerprint the Gateway presented.
    pub observed: TlsPin,
    /// Whether the presented chain passes system trust for this host.
    pub system_trusted: bool,
}

/// Transport failures.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Plaintext to this destination is not allowed. Terminal: reconnecting cannot help.
    #[error(
        "refusing plaintext ws:// to {host} ({}): credentials would cross the network unencrypted. \
         Use wss:// (with a pinned certificate), an SSH tunnel (`clawnode run --ssh user@host`, or \
         ssh -N -L 18789:127.0.0.1:18789 user@host, then ws://127.0.0.1:18789), Tailscale Serve, \
         or for a trusted private network set OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1",
        match .class { Some(c) => format!("{c:?} address"), None => "a DNS name other than localhost, not resolved".to_string() }
    )]
    PlaintextRefused {
        /// The refused host.
        host: String,
        /// How it was classified; `None`: a DNS name refused lexically, before any
        /// resolution (the default policy admits only `localhost` and loopback literals).
        class: Option<NetworkClass>,
    },
    /// The Gateway's certificate does not match the pin. Terminal until the app decides.
    #[error(
        "gateway TLS fingerprint mismatch: expected {}, the gateway presented {} (system trust: {}); nothing was sent",
        .0.expected, .0.observed, if .0.system_trusted { "passes" } else { "fails" }
    )]
    PinMismatch(PinMismatch),
    /// No pin and the certificate fails system trust. Terminal.
    #[error(
        "the gateway's TLS certificate is not trusted ({reason}); presented fingerprint {observed}. \
         Verify it out of band, then pin it (`clawnode trust --url …` or --tls-fingerprint)"
    )]
    Untrusted {
        /// The leaf fingerprint presented.
        observed: TlsPin,
        /// Why system trust failed.
        reason: String,
    },
    /// The TLS configuration could not be built (platform verifier unavailable).
    #[error("TLS setup failed: {0}")]
    TlsSetup(String),
    /// The TLS handshake failed for another reason.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// The Unix socket to dial is served by another user: nothing was written. Terminal.
    #[error("refusing {path}: it is served by uid {uid}, not by this process's user; nothing was sent")]
    ForeignSocket {
        /// The socket path.
        path: String,
        /// The uid of the process that listens on it.
        uid: u32,
    },
    /// A plaintext loopback port is served by another local user (or by nobody this
    /// network namespace shows): nothing was written. Terminal.
    #[error(
        "refusing ws://{addr}: {}; nothing was sent. If that is your Gateway, trust its user (`clawnode run --gateway-user <name|uid>`)",
        match uid { Some(uid) => format!("the port is served by uid {uid}, not by this node's user or root"), None => "no process of this network namespace is shown serving it".to_string() }
    )]
    ForeignListener {
        /// The loopback address.
        addr: String,
        /// The uid of the listening socket, when one was found.
        uid: Option<u32>,
    },
    /// Plaintext `ws://` through a proxy to a Gateway that is not loopback, or over a hop
    /// to the proxy that the plaintext policy refuses: the proxy would see the token and
    /// every frame in clear. Terminal.
    #[error(
        "refusing plaintext ws://{host} through the proxy {proxy}: the proxy (and the network to it) would see \
         the credentials and every frame in clear. Use wss:// (TLS runs end to end through the proxy), or a \
         loopback Gateway URL with a proxy on loopback"
    )]
    PlaintextViaProxy {
        /// The Gateway host.
        host: String,
        /// The proxy (no credentials).
        proxy: String,
    },
    /// Custom upgrade headers on a plaintext `ws://` to a non-loopback host. Terminal.
    #[error(
        "custom upgrade headers carry credentials: they need a wss:// Gateway URL (or a loopback ws://), not ws://{host}"
    )]
    HeadersNeedTls {
        /// The Gateway host.
        host: String,
    },
    /// A discovered Gateway's endpoint (keyed by its stable id) without a pin: the stable id
    /// is an instance name anyone on the network can claim, so only a pin ties it to the
    /// Gateway its device token and pin were stored for (transport.md §4: discovery is not
    /// authorisation). Nothing was sent. Terminal.
    #[error(
        "refusing the discovered Gateway {id} without a pinned certificate: anyone on the network can claim \
         its name; probe its certificate, verify the fingerprint out of band and pin it first \
         (`clawnode run --discover … --trust-fingerprint …`); nothing was sent"
    )]
    DiscoveredUnpinned {
        /// The stable id.
        id: String,
    },
    /// A proxy and a Unix socket (SSH tunnel) were both configured. Terminal.
    #[error("a proxy cannot be combined with an SSH tunnel's socket")]
    ProxyWithUnixSocket,
    /// The proxy could not be reached (resolution, TCP connect, or it closed the connection).
    #[error("could not reach the proxy {proxy}: {message}")]
    ProxyConnect {
        /// The proxy (no credentials).
        proxy: String,
        /// What happened.
        message: String,
    },
    /// The proxy wants credentials (`offered: false`) or rejected the ones given
    /// (`offered: true`). Terminal.
    #[error(
        "the proxy {proxy} {}; nothing was sent to the gateway",
        if *offered { "rejected the proxy credentials" } else { "requires authentication: add user:password to the proxy URL" }
    )]
    ProxyAuth {
        /// The proxy (no credentials).
        proxy: String,
        /// Whether credentials were offered.
        offered: bool,
    },
    /// The proxy refused to open a tunnel to the Gateway (its rules). Terminal.
    #[error("the proxy {proxy} refused the tunnel to the gateway: {reason}")]
    ProxyRefused {
        /// The proxy (no credentials).
        proxy: String,
        /// The proxy's answer.
        reason: String,
    },
    /// The proxy could not reach the Gateway (down, or not listening). Retryable.
    #[error("the proxy {proxy} could not reach the gateway: {message}")]
    ProxyTargetUnreachable {
        /// The proxy (no credentials).
        proxy: String,
        /// The proxy's answer.
        message: String,
    },
    /// The proxy spoke something unexpected.
    #[error("the proxy {proxy} answered unexpectedly: {message}")]
    ProxyProtocol {
        /// The proxy (no credentials).
        proxy: String,
        /// What was wrong.
        message: String,
    },
    /// The upgrade was answered with a redirect, which is never followed. Terminal.
    #[error("the gateway answered the WebSocket upgrade with a redirect ({status}); redirects are not followed")]
    Redirect {
        /// HTTP status.
        status: u16,
    },
    /// Name resolution failed.
    #[error("could not resolve {host}: {message}")]
    Resolve {
        /// Host name.
        host: String,
        /// Resolver message.
        message: String,
    },
    /// TCP connect failed on every address.
    #[error("could not connect to {addr}: {message}")]
    Connect {
        /// Last address tried.
        addr: String,
        /// OS message.
        message: String,
    },
    /// A stage took too long.
    #[error("timed out during {0}")]
    Timeout(&'static str),
    /// The WebSocket upgrade failed.
    #[error("websocket upgrade failed: {0}")]
    Upgrade(String),
}

impl TransportError {
    /// Whether retrying cannot help (a configuration, policy or trust problem).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TransportError::PlaintextRefused { .. }
                | TransportError::PinMismatch(_)
                | TransportError::Untrusted { .. }
                | TransportError::TlsSetup(_)
                | TransportError::ForeignSocket { .. }
                | TransportError::ForeignListener { .. }
                | TransportError::Redirect { .. }
                | TransportError::PlaintextViaProxy { .. }
                | TransportError::HeadersNeedTls { .. }
                | TransportError::DiscoveredUnpinned { .. }
                | TransportError::ProxyWithUnixSocket
                | TransportError::ProxyAuth { .. }
                | TransportError::ProxyRefused { .. }
        )
    }
}
