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
    use hickory_proto::op::OpCode;
    use hickory_proto::rr::RData;
    use hickory_proto::rr::rdata::{A, PTR, SRV, TXT};

    /// An answer to `q` (id `id`): the honest Gateway's records, or an attacker's.
    fn answer(q: &Message, id: u16, evil: bool) -> Vec<u8> {
        let query = q.queries[0].clone();
        let name = query.name().clone();
        let n = |s: &str| Name::from_ascii(s).unwrap();
        let data = match (query.query_type(), evil) {
            (RecordType::PTR, false) => Some(RData::PTR(PTR(n("pi._openclaw-gw._tcp.openclaw.test.")))),
            (RecordType::PTR, true) => Some(RData::PTR(PTR(n("evil._openclaw-gw._tcp.openclaw.test.")))),
            (RecordType::SRV, false) => Some(RData::SRV(SRV::new(0, 0, 18789, n("pi.openclaw.test.")))),
            (RecordType::SRV, true) => Some(RData::SRV(SRV::new(0, 0, 443, n("evil.example.")))),
            (RecordType::TXT, _) => {
                Some(RData::TXT(TXT::new(vec![format!("displayName={}", if evil { "evil" } else { "pi" })])))
            }
            (RecordType::A, false) => Some(RData::A(A("100.64.0.7".parse().unwrap()))),
            (RecordType::A, true) => Some(RData::A(A("203.0.113.66".parse().unwrap()))),
            _ => None,
        };
        let mut m = Message::response(id, OpCode::Query);
        m.add_query(query.clone());
        if let Some(d) = data {
            m.add_answer(Record::from_rdata(name.clone(), 60, d));
        }
        if query.query_type() == RecordType::PTR && !evil {
            // PTRs out of the service's own zone (another domain, a deeper name).
            for other in ["pi._openclaw-gw._tcp.evil.example.", "a.pi._openclaw-gw._tcp.openclaw.test."] {
                m.add_answer(Record::from_rdata(name.clone(), 60, RData::PTR(PTR(n(other)))));
            }
        }
        m.to_vec().unwrap()
    }

    /// Attack: an off-path host answers every query first — from another port with the right
    /// id, and from the server's port with a wrong id — pointing at its own Gateway. Only
    /// the server's answer with the query's id counts, and of its PTRs only those to an
    /// instance of the browsed service in the browsed domain.
    #[tokio::test]
    async fn forged_answers_are_ignored() {
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let spoofer = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let (n, client) = server.recv_from(&mut buf).await.unwrap();
                let q = Message::from_vec(&buf[..n]).unwrap();
                let id = q.metadata.id;
                spoofer.send_to(&answer(&q, id, true), client).await.unwrap();
                server.send_to(&answer(&q, id.wrapping_add(1), true), client).await.unwrap();
                tokio::time::sleep(Duration::from_millis(20)).await;
                server.send_to(&answer(&q, id, false), client).await.unwrap();
            }
        });
        let found = browse_domain("openclaw.test", addr, Duration::from_secs(10)).await.unwrap();
        task.abort();
        assert_eq!(found.len(), 1, "{found:?}");
        let gw = &found[0];
        assert_eq!(gw.instance, "pi");
        assert_eq!(gw.host.as_deref(), Some("pi.openclaw.test"));
        assert_eq!(gw.port, 18789);
        assert_eq!(gw.addresses, vec!["100.64.0.7".parse::<IpAddr>().unwrap()]);
        assert_eq!(gw.txt.display_name.as_deref(), Some("pi"));
    }

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
