//! Who serves a plaintext loopback connection.
//!
//! `ws://127.0.0.1:<port>` is where a node sends its Gateway token in the clear, and any
//! local account may bind a free loopback port: when the Gateway is not listening (not
//! started yet, restarting, on another port) whoever binds that port first would play
//! Gateway and receive the `connect` frame. So before a byte is written on a plaintext
//! loopback connection, the node asks the kernel who owns the socket that accepted it:
//! the row of `/proc/net/tcp` (or `tcp6`) whose local address is our peer and whose remote
//! address is our local end carries the uid of the listening socket (an accepted socket
//! inherits it). The node admits its own user, root, and the users the host names
//! ([`LoopbackListeners::Users`]). Linux only: elsewhere (and on Android, whose apps cannot
//! read `/proc/net`) the check is [`LoopbackListeners::Any`].
//!
//! A Unix-socket tunnel is checked with `SO_PEERCRED` instead; `wss://` needs no check (a
//! squatter has neither the pinned certificate nor a trusted one).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// Which local users may serve a plaintext loopback Gateway connection.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LoopbackListeners {
    /// This process's effective user, root, and these uids (a Gateway that runs as another
    /// account than a system service, e.g. its owner's).
    Users(Vec<u32>),
    /// No check: a platform without `/proc/net`, or a Gateway the kernel shows in another
    /// network namespace (port forwarded into a container).
    Any,
}

impl Default for LoopbackListeners {
    /// [`LoopbackListeners::Users`] with no extra user on Linux, [`LoopbackListeners::Any`]
    /// elsewhere.
    fn default() -> Self {
        if cfg!(target_os = "linux") { LoopbackListeners::Users(Vec::new()) } else { LoopbackListeners::Any }
    }
}

/// What the check found, when it refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The accepting socket belongs to this uid.
    Uid(u32),
    /// No accepting socket was found in this network namespace.
    Unknown,
}

/// Checks the listener behind the connection `local → peer` (a loopback peer; other peers
/// pass).
pub(crate) fn check(policy: &LoopbackListeners, local: SocketAddr, peer: SocketAddr) -> Result<(), Refusal> {
    let LoopbackListeners::Users(extra) = policy else { return Ok(()) };
    if !peer.ip().is_loopback() && !is_mapped_loopback(peer.ip()) {
        return Ok(());
    }
    let file = if peer.is_ipv4() { "/proc/net/tcp" } else { "/proc/net/tcp6" };
    let table = std::fs::read_to_string(file).unwrap_or_default();
    let uid = listener_uid(&table, local, peer).ok_or(Refusal::Unknown)?;
    let me = rustix::process::geteuid().as_raw();
    if uid == me || uid == 0 || extra.contains(&uid) { Ok(()) } else { Err(Refusal::Uid(uid)) }
}

fn is_mapped_loopback(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()))
}

/// The uid of the socket whose local address is `peer` and remote address is `local`, from
/// the text of `/proc/net/tcp{,6}`.
pub(crate) fn listener_uid(table: &str, local: SocketAddr, peer: SocketAddr) -> Option<u32> {
    table.lines().skip(1).find_map(|line| {
        let mut fields = line.split_whitespace();
        let _slot = fields.next()?;
        let row_local = parse_addr(fields.next()?)?;
        let row_remote = parse_addr(fields.next()?)?;
        if !same(row_local, peer) || !same(row_remote, local) {
            return None;
        }
        // st, tx_queue:rx_queue, tr:tm->when, retrnsmt, then uid.
        fields.nth(4)?.parse().ok()
    })
}

/// Equal addresses, an IPv4 address and its IPv4-mapped IPv6 form counting as equal.
fn same(a: SocketAddr, b: SocketAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    a.port() == b.port() && canon(a.ip()) == canon(b.ip())
}

/// `0100007F:4965` (IPv4) or 32 hex digits + port (IPv6): the kernel prints each 32-bit
/// word of the address as a native-endian integer and the port in host order.
fn parse_addr(field: &str) -> Option<SocketAddr> {
    let (addr, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let word = |hex: &str| u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes);
    let ip = match addr.len() {
        8 => IpAddr::V4(Ipv4Addr::from(word(addr)?)),
        32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(addr.get(i * 8..i * 8 + 8)?)?);
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    // Rows as a little-endian kernel prints them (x86_64, aarch64, armv7).
    #[cfg(target_endian = "little")]
    const TCP: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:4965 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0 100 0 0 10 0
   1: 0100007F:4965 0100007F:D431 01 00000000:00000000 00:00000000 00000000 65534        0 4243 1 0 20 4 30 10 -1
   2: 0100007F:D431 0100007F:4965 01 00000000:00000000 00:00000000 00000000     0        0 4244 1 0 20 4 30 10 -1
";

    #[cfg(target_endian = "little")]
    const TCP6: &str = "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000001000000:4965 00000000000000000000000001000000:A1B2 01 00000000:00000000 00:00000000 00000000  1001        0 77 1 0 20 4 30 10 -1
   1: 0000000000000000FFFF00000100007F:4965 0000000000000000FFFF00000100007F:A1B3 01 00000000:00000000 00:00000000 00000000  1002        0 78 1 0 20 4 30 10 -1
";

    #[test]
    #[cfg(target_endian = "little")]
    fn finds_the_accepting_socket_of_a_connection() {
        // Our end is 127.0.0.1:54321 (0xD431), the peer 127.0.0.1:18789 (0x4965): the row
        // with local = peer and remote = us is the accepted socket (uid 65534), not the
        // listener row (uid 1000) and not our own row (uid 0).
        assert_eq!(listener_uid(TCP, sa("127.0.0.1:54321"), sa("127.0.0.1:18789")), Some(65534));
        assert_eq!(listener_uid(TCP, sa("127.0.0.1:54322"), sa("127.0.0.1:18789")), None);
        assert_eq!(listener_uid(TCP6, sa("[::1]:41394"), sa("[::1]:18789")), Some(1001));
        // IPv4-mapped rows match the IPv4 form.
        assert_eq!(listener_uid(TCP6, sa("127.0.0.1:41395"), sa("127.0.0.1:18789")), Some(1002));
        assert_eq!(listener_uid("", sa("127.0.0.1:1"), sa("127.0.0.1:2")), None);
        assert_eq!(listener_uid("header\n   0: garbage", sa("127.0.0.1:1"), sa("127.0.0.1:2")), None);
    }

    #[test]
    fn addresses_parse_in_kernel_form() {
        if cfg!(target_endian = "little") {
            assert_eq!(parse_addr("0100007F:4965"), Some(sa("127.0.0.1:18789")));
            assert_eq!(parse_addr("00000000000000000000000001000000:0050"), Some(sa("[::1]:80")));
        }
        for bad in ["", "0100007F", "0100007F:", "XYZ0007F:4965", "0100007F:10000", "01007F:4965"] {
            assert_eq!(parse_addr(bad), None, "{bad}");
        }
    }

    #[test]
    fn only_loopback_peers_are_checked_and_any_skips() {
        let users = LoopbackListeners::Users(vec![]);
        // Not loopback: not this check's business (the plaintext policy decided).
        assert_eq!(check(&users, sa("10.0.0.2:5000"), sa("10.0.0.1:18789")), Ok(()));
        assert_eq!(check(&LoopbackListeners::Any, sa("127.0.0.1:1"), sa("127.0.0.1:2")), Ok(()));
    }

    #[tokio::test]
    #[cfg(target_os = "linux")]
    async fn a_listener_of_this_user_passes_and_a_missing_row_refuses() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = tokio::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (local, peer) = (c.local_addr().unwrap(), c.peer_addr().unwrap());
        assert_eq!(check(&LoopbackListeners::Users(vec![]), local, peer), Ok(()));
        // A connection that does not exist has no accepting socket.
        let nowhere = SocketAddr::new(local.ip(), 1);
        assert_eq!(check(&LoopbackListeners::Users(vec![]), nowhere, peer), Err(Refusal::Unknown));
    }
}
