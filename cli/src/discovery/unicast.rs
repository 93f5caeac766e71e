//! Unicast (wide-area) DNS-SD for a configured domain, RFC 6763 over plain DNS: PTR
//! `_openclaw-gw._tcp.<domain>` → each instance's SRV and TXT → the SRV target's A/AAAA,
//! assembled by [`Records`].
//! Messages are built and parsed by `hickory-proto`; the transport is one UDP socket per
//! query (TCP when the answer is truncated), with a deadline.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use clawnode::discovery::{DiscoveredGateway, SERVICE_TYPE};
use hickory_proto::op::{Message, MessageType, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::records::Records;

/// Why a wide-area browse failed.
#[derive(Debug, thiserror::Error)]
pub enum UnicastError {
    /// The domain is not a valid DNS name.
    #[error("invalid discovery domain {0:?}")]
    Domain(String),
    /// No DNS server answered in time.
    #[error("no answer from {0} in time")]
    Timeout(SocketAddr),
    /// Socket error.
    #[error("DNS query to {server} failed: {source}")]
    Io {
        /// The server.
        server: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
    /// The server sent something that is not an answer to our query.
    #[error("bad DNS answer from {0}: {1}")]
    Bad(SocketAddr, String),
    /// The server answered with an error code (other than NXDOMAIN).
    #[error("DNS server {0} answered {1}")]
    Rcode(SocketAddr, ResponseCode),
}

/// The first `nameserver` of `/etc/resolv.conf` (port 53).
pub fn system_nameserver() -> Result<SocketAddr, String> {
    let text = std::fs::read_to_string("/etc/resolv.conf").map_err(|e| format!("cannot read /etc/resolv.conf: {e}"))?;
    parse_resolv_conf(&text).ok_or_else(|| "no nameserver in /etc/resolv.conf (pass --nameserver)".to_string())
}

fn parse_resolv_conf(text: &str) -> Option<SocketAddr> {
    text.lines().find_map(|l| {
        let mut w = l.split_whitespace();
        match (w.next(), w.next()) {
            (Some("nameserver"), Some(addr)) => {
                addr.split('%').next().and_then(|a| a.parse::<IpAddr>().ok()).map(|ip| SocketAddr::new(ip, 53))
            }
            _ => None,
        }
    })
}

/// Parses `IP` or `IP:PORT` / `[IPv6]:PORT` (default port 53).
pub fn parse_nameserver(s: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Ok(sa);
    }
    s.trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("invalid nameserver {s:?}: expected IP or IP:PORT"))
}

/// Browses `domain` at `server` within `timeout`.
pub async fn browse_domain(
    domain: &str,
    server: SocketAddr,
    timeout: Duration,
) -> Result<Vec<DiscoveredGateway>, UnicastError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let fqdn = format!("{}.", domain.trim().trim_end_matches('.'));
    let zone = Name::from_ascii(&fqdn).map_err(|_| UnicastError::Domain(domain.to_string()))?;
    let ptr_name = Name::from_ascii(format!("{SERVICE_TYPE}.{}.", zone.to_ascii().trim_end_matches('.')))
        .map_err(|_| UnicastError::Domain(domain.to_string()))?;
    let mut records = Records::new(ptr_name.clone());
    for r in query(server, ptr_name, RecordType::PTR, deadline).await? {
        records.add(&r);
    }
    // Each instance's SRV and TXT, then the SRV targets' A/AAAA: two rounds cover the chain.
    for _ in 0..2 {
        for (name, ty) in records.missing() {
            for r in query(server, name, ty, deadline).await? {
                records.add(&r);
            }
        }
    }
    Ok(records.gateways(&zone.to_ascii()))
}

/// One query: the answer records of type `ty` owned by `name` (empty on NXDOMAIN/no data).
async fn query(
    server: SocketAddr,
    name: Name,
    ty: RecordType,
    deadline: tokio::time::Instant,
) -> Result<Vec<Record>, UnicastError> {
    let mut msg = Message::query();
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name.clone(), ty));
    let id = msg.metadata.id;
    let bytes = msg.to_vec().map_err(|e| UnicastError::Bad(server, e.to_string()))?;
    let io = |source| UnicastError::Io { server, source };
    let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
        .parse()
        .map_err(|_| UnicastError::Bad(server, "bind address".into()))?;
    let sock = tokio::net::UdpSocket::bind(bind).await.map_err(io)?;
    sock.connect(server).await.map_err(io)?;
    let mut buf = vec![0u8; 4096];
    let answer = loop {
        // Resend once a second until the deadline (UDP may drop).
        sock.send(&bytes).await.map_err(io)?;
        let wait = tokio::time::Instant::now() + Duration::from_secs(1);
        let until = wait.min(deadline);
        match tokio::time::timeout_at(until, sock.recv(&mut buf)).await {
            Ok(Ok(n)) => {
                let Ok(m) = Message::from_vec(&buf[..n]) else { continue };
                if m.metadata.id != id || m.metadata.message_type != MessageType::Response {
                    continue;
                }
                break m;
            }
            Ok(Err(e)) => return Err(io(e)),
            Err(_) if tokio::time::Instant::now() >= deadline => return Err(UnicastError::Timeout(server)),
            Err(_) => continue,
        }
    };
    let answer = if answer.metadata.truncation { tcp_query(server, &bytes, id, deadline).await? } else { answer };
    match answer.metadata.response_code {
        ResponseCode::NoError => {}
        ResponseCode::NXDomain => return Ok(Vec::new()),
        other => return Err(UnicastError::Rcode(server, other)),
    }
    Ok(answer.answers.into_iter().filter(|r| r.name == name && r.record_type() == ty).collect())
}

/// The same query over TCP (two-byte length prefix), for truncated answers.
async fn tcp_query(
    server: SocketAddr,
    bytes: &[u8],
    id: u16,
    deadline: tokio::time::Instant,
) -> Result<Message, UnicastError> {
    let io = |source| UnicastError::Io { server, source };
    let work = async {
        let mut s = tokio::net::TcpStream::connect(server).await.map_err(io)?;
        let len = u16::try_from(bytes.len()).map_err(|_| UnicastError::Bad(server, "query too long".into()))?;
        s.write_all(&len.to_be_bytes()).await.map_err(io)?;
        s.write_all(bytes).await.map_err(io)?;
        let n = s.read_u16().await.map_err(io)?;
        let mut buf = vec![0u8; usize::from(n)];
        s.read_exact(&mut buf).await.map_err(io)?;
        let m = Message::from_vec(&buf).map_err(|e| UnicastError::Bad(server, e.to_string()))?;
        if m.metadata.id != id {
            return Err(UnicastError::Bad(server, "answer id mismatch".into()));
        }
        Ok(m)
    };
    tokio::time::timeout_at(deadline, work).await.map_err(|_| UnicastError::Timeout(server))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nameservers() {
        assert_eq!(
            parse_resolv_conf("# x\nsearch lan\nnameserver 100.100.100.100\nnameserver 1.1.1.1\n")
                .map(|s| s.to_string())
                .as_deref(),
            Some("100.100.100.100:53")
        );
        assert_eq!(
            parse_resolv_conf("nameserver fe80::1%eth0\n").map(|s| s.ip().to_string()).as_deref(),
            Some("fe80::1")
        );
        assert_eq!(parse_resolv_conf("options ndots:1\n"), None);
        assert_eq!(parse_nameserver("10.0.0.1").unwrap().to_string(), "10.0.0.1:53");
        assert_eq!(parse_nameserver("10.0.0.1:5353").unwrap().port(), 5353);
        assert_eq!(parse_nameserver("[fd00::1]:53").unwrap().to_string(), "[fd00::1]:53");
        assert_eq!(parse_nameserver("fd00::1").unwrap().port(), 53);
        assert!(parse_nameserver("dns.example").is_err());
    }
}
