//! Transport: endpoint → plaintext policy → TCP → WebSocket.
//!
//! The policy check happens before any socket is opened, and the socket connects to the
//! exact address that was checked (no second lookup).

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::endpoint::{Endpoint, Host, NetworkClass, PlaintextPolicy, classify_ip, classify_name};

/// The WebSocket stream type the session runs on.
pub type WsStream = WebSocketStream<TcpStream>;

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Which plaintext destinations are allowed.
    pub plaintext: PlaintextPolicy,
    /// TCP connect timeout per address.
    pub connect_timeout: Duration,
    /// WebSocket opening handshake timeout.
    pub upgrade_timeout: Duration,
    /// Largest inbound message accepted (the Gateway's own limit is 25 MiB).
    pub max_inbound_message: usize,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            plaintext: PlaintextPolicy::LoopbackOnly,
            connect_timeout: Duration::from_secs(10),
            upgrade_timeout: Duration::from_secs(15),
            max_inbound_message: 32 * 1024 * 1024,
        }
    }
}

/// Transport failures.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// Plaintext to this destination is not allowed. Terminal: reconnecting cannot help.
    #[error(
        "refusing plaintext ws:// to {host} ({class:?} address): credentials would cross the network unencrypted. \
         Use wss:// (with a pinned certificate), an SSH tunnel (ssh -N -L 18789:127.0.0.1:18789 user@host, then ws://127.0.0.1:18789), \
         Tailscale Serve, or for a trusted private network set OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1"
    )]
    PlaintextRefused {
        /// The refused host.
        host: String,
        /// How it was classified.
        class: NetworkClass,
    },
    /// `wss://` needs the TLS transport, which this build does not provide yet.
    #[error("wss:// endpoints are not supported by this build yet; use an SSH tunnel to the Gateway's loopback port")]
    TlsUnsupported,
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
    /// Whether retrying cannot help (a configuration or policy problem).
    pub fn is_terminal(&self) -> bool {
        matches!(self, TransportError::PlaintextRefused { .. } | TransportError::TlsUnsupported)
    }
}

/// Resolves `endpoint` to the addresses the policy admits (checked before any socket opens).
pub async fn admitted_addresses(
    endpoint: &Endpoint,
    policy: PlaintextPolicy,
) -> Result<Vec<SocketAddr>, TransportError> {
    if endpoint.tls {
        return Err(TransportError::TlsUnsupported);
    }
    let refuse = |class| TransportError::PlaintextRefused { host: endpoint.host.to_string(), class };
    match &endpoint.host {
        Host::Ip(ip) => {
            let class = classify_ip(*ip);
            if !policy.allows(class) {
                return Err(refuse(class));
            }
            Ok(vec![SocketAddr::new(*ip, endpoint.port)])
        }
        Host::Name(name) => {
            // A name is admitted by its suffix class or, failing that, only if every
            // address it resolves to is admitted.
            let name_class = classify_name(name);
            if let Some(class) = name_class
                && !policy.allows(class)
            {
                return Err(refuse(class));
            }
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), endpoint.port))
                .await
                .map_err(|e| TransportError::Resolve { host: name.clone(), message: e.to_string() })?
                .collect();
            if addrs.is_empty() {
                return Err(TransportError::Resolve { host: name.clone(), message: "no addresses".into() });
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

/// Opens the WebSocket to `endpoint`.
pub async fn open(endpoint: &Endpoint, cfg: &TransportConfig) -> Result<WsStream, TransportError> {
    let addrs = admitted_addresses(endpoint, cfg.plaintext).await?;
    let mut last_err = None;
    let mut tcp = None;
    for addr in addrs {
        match tokio::time::timeout(cfg.connect_timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                tcp = Some(s);
                break;
            }
            Ok(Err(e)) => last_err = Some((addr, e.to_string())),
            Err(_) => last_err = Some((addr, "connect timed out".to_string())),
        }
    }
    let tcp = match (tcp, last_err) {
        (Some(s), _) => s,
        (None, Some((addr, message))) => {
            return Err(TransportError::Connect { addr: addr.to_string(), message });
        }
        (None, None) => return Err(TransportError::Timeout("connect")),
    };
    let _ = tcp.set_nodelay(true);
    let mut config = WebSocketConfig::default();
    config.max_message_size = Some(cfg.max_inbound_message);
    config.max_frame_size = Some(cfg.max_inbound_message);
    let url = endpoint.url();
    let upgrade = tokio_tungstenite::client_async_with_config(url, tcp, Some(config));
    match tokio::time::timeout(cfg.upgrade_timeout, upgrade).await {
        Ok(Ok((ws, _resp))) => Ok(ws),
        Ok(Err(e)) => Err(TransportError::Upgrade(e.to_string())),
        Err(_) => Err(TransportError::Timeout("websocket upgrade")),
    }
}

/// Whether a host is loopback (a trusted endpoint for the one-shot device-token retry).
pub fn is_loopback_host(host: &Host) -> bool {
    match host {
        Host::Ip(ip) => classify_ip(*ip) == NetworkClass::Loopback,
        Host::Name(n) => classify_name(n) == Some(NetworkClass::Loopback),
    }
}

/// Whether an address is loopback.
pub fn is_loopback_ip(ip: IpAddr) -> bool {
    classify_ip(ip) == NetworkClass::Loopback
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn policy_checked_before_connect() {
        let e = Endpoint::parse("ws://192.168.1.10:18789").unwrap();
        let err = admitted_addresses(&e, PlaintextPolicy::LoopbackOnly).await.unwrap_err();
        assert!(err.is_terminal());
        assert!(err.to_string().contains("ssh -N -L 18789:127.0.0.1:18789"));
        assert_eq!(
            admitted_addresses(&e, PlaintextPolicy::PrivateNetwork).await.unwrap(),
            vec!["192.168.1.10:18789".parse().unwrap()]
        );
        let e = Endpoint::parse("ws://8.8.8.8:1").unwrap();
        assert!(admitted_addresses(&e, PlaintextPolicy::PrivateNetwork).await.is_err());
        let e = Endpoint::parse("ws://localhost:1").unwrap();
        let a = admitted_addresses(&e, PlaintextPolicy::LoopbackOnly).await.unwrap();
        assert!(a.iter().all(|a| a.ip().is_loopback()));
        let e = Endpoint::parse("wss://localhost:1").unwrap();
        assert!(matches!(
            admitted_addresses(&e, PlaintextPolicy::LoopbackOnly).await,
            Err(TransportError::TlsUnsupported)
        ));
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
}
