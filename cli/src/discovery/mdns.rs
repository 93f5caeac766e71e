//! Multicast DNS-SD browsing of `_openclaw-gw._tcp.local.` with one-shot queries (RFC 6762
//! §5.1) answered by legacy unicast (§6.7): each question goes to `224.0.0.251:5353` and
//! `[ff02::fb]:5353` out of every up, multicast-capable interface from an ephemeral port, and
//! responders (the Gateway's ciao, Avahi, mDNSResponder) answer by unicast to that port,
//! echoing the query id. So nothing binds 5353 (no clash with a local Avahi), no daemon thread
//! runs, and no unsolicited multicast is taken in: only answers carrying our random id, from an
//! on-link address (§11), count. Messages are `hickory-proto`'s; [`Records`] assembles them.

use std::collections::{BTreeMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use clawnode::discovery::{DiscoveredGateway, LOCAL_DOMAIN, SERVICE_TYPE};
use hickory_proto::op::{Message, MessageType, Query};
use hickory_proto::rr::{Name, RecordType};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use super::records::Records;

/// The mDNS group and port.
const GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 251);
const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0xfb);
const PORT: u16 = 5353;
/// A question is asked again after this long without the answer (lost datagrams, late
/// responders).
const RESEND: Duration = Duration::from_secs(1);
/// Most questions sent per `RESEND` window (each goes out once per link and family): a
/// hostile responder's PTR flood cannot turn the browser into a multicast amplifier.
const QUESTIONS_PER_WINDOW: usize = 16;
/// The browser decides what to ask at most this often (a flood of answers costs a record
/// merge each, not a pass over every outstanding question).
const PACE: Duration = Duration::from_millis(50);
/// Most questions sent in one browse, however long it runs.
const MAX_QUESTIONS: usize = 128;
/// Largest mDNS message (RFC 6762 §17).
const MAX_MESSAGE: usize = 9000;

/// An interface the questions go out of.
#[derive(Debug, Clone)]
struct Link {
    /// Its IPv4 address and netmask (the on-link check), if any.
    v4: Vec<(Ipv4Addr, Ipv4Addr)>,
    /// Its IPv6 addresses and netmasks.
    v6: Vec<(Ipv6Addr, Ipv6Addr)>,
    index: Option<u32>,
}

/// Browses for `timeout` and returns every resolved instance.
pub async fn browse(timeout: Duration) -> Result<Vec<DiscoveredGateway>, String> {
    let links = links().map_err(|e| format!("cannot list network interfaces: {e}"))?;
    if links.is_empty() {
        return Err("no up, multicast-capable network interface".into());
    }
    let v4 = socket(false).ok();
    let v6 = socket(true).ok();
    if v4.is_none() && v6.is_none() {
        return Err("cannot open a UDP socket for mDNS".into());
    }
    let service = Name::from_ascii(format!("{SERVICE_TYPE}.{LOCAL_DOMAIN}")).map_err(|e| e.to_string())?;
    let mut records = Records::new(service);
    let id = Message::query().metadata.id;
    let deadline = Instant::now() + timeout;
    let mut pacer = Pacer::default();
    let mut sent_any = false;
    let mut next_due = Instant::now();
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // What to ask is worked out at most once per `PACE`, however fast answers arrive.
        if now >= next_due {
            next_due = now + PACE;
            let mut want = vec![(records.service().clone(), RecordType::PTR)];
            want.extend(records.missing());
            for q in pacer.due(want, now) {
                let bytes = question(id, &q.0, q.1)?;
                sent_any |= send(v4.as_ref(), v6.as_ref(), &links, &bytes).await;
            }
            if !sent_any {
                return Err("no interface could send an mDNS query".into());
            }
        }
        let wake = next_due.min(deadline);
        let received = tokio::select! {
            r = recv(v4.as_ref()) => r,
            r = recv(v6.as_ref()) => r,
            () = tokio::time::sleep_until(wake) => None,
        };
        if let Some((bytes, from)) = received {
            take(&mut records, id, &bytes, from, &links);
        }
    }
    Ok(records.gateways(LOCAL_DOMAIN))
}

/// Which questions go out when: each outstanding question again after `RESEND` without its
/// answer, the longest unasked first, within a budget of `QUESTIONS_PER_WINDOW` per `RESEND`
/// window and `MAX_QUESTIONS` per browse. What a responder lists is not trusted to be
/// modest: 64 instances with SRV targets that change in every answer made thousands of
/// multicast queries a second (`tests/tests/mdns_flood_netns.rs`), and kept a send time for
/// every name ever asked.
#[derive(Debug, Default)]
struct Pacer {
    /// When each outstanding question was last sent (at most `MAX_QUESTIONS` entries: a
    /// list, searched linearly).
    asked: Vec<((Name, RecordType), Instant)>,
    /// Send times within the last `RESEND` (oldest first).
    window: VecDeque<Instant>,
    /// Questions sent in this browse.
    total: usize,
}
impl Pacer {
    /// The questions of `want` (the outstanding ones, in priority order) to send at `now`,
    /// marked as sent.
    fn due(&mut self, want: Vec<(Name, RecordType)>, now: Instant) -> Vec<(Name, RecordType)> {
        self.asked.retain(|(q, _)| want.contains(q));
        while self.window.front().is_some_and(|at| now.duration_since(*at) >= RESEND) {
            self.window.pop_front();
        }
        let room = QUESTIONS_PER_WINDOW.saturating_sub(self.window.len()).min(MAX_QUESTIONS - self.total);
        let mut due: Vec<(Option<Instant>, (Name, RecordType))> = want
            .into_iter()
            .map(|q| (self.asked.iter().find(|(a, _)| *a == q).map(|(_, at)| *at), q))
            .filter(|(at, _)| at.is_none_or(|at| now.duration_since(at) >= RESEND))
            .collect();
        // Never asked first, then the longest waiting, `want`'s order between equals: at most
        // `room` (≤ QUESTIONS_PER_WINDOW) picks, a scan each.
        let mut picked = Vec::new();
        while picked.len() < room {
            let Some(i) = (0..due.len()).min_by_key(|&i| (due[i].0, i)) else { break };
            picked.push(due.remove(i).1);
        }
        for q in &picked {
            match self.asked.iter_mut().find(|(a, _)| a == q) {
                Some((_, at)) => *at = now,
                None => self.asked.push((q.clone(), now)),
            }
            self.window.push_back(now);
            self.total += 1;
        }
        picked
    }
}

/// One question, as a legacy unicast querier asks it (no QU bit: the ephemeral source port
/// already asks for a unicast answer).
fn question(id: u16, name: &Name, ty: RecordType) -> Result<Vec<u8>, String> {
    let mut msg = Message::query();
    msg.metadata.id = id;
    msg.metadata.recursion_desired = false;
    msg.add_query(Query::query(name.clone(), ty));
    msg.to_vec().map_err(|e| format!("cannot encode an mDNS query: {e}"))
}

/// Takes an answer: a response carrying our id, from an address on one of our links.
fn take(records: &mut Records, id: u16, bytes: &[u8], from: SocketAddr, links: &[Link]) {
    if !on_link(from, links) {
        return;
    }
    let Ok(msg) = Message::from_vec(bytes) else { return };
    if msg.metadata.message_type != MessageType::Response || msg.metadata.id != id {
        return;
    }
    for r in msg.answers.iter().chain(&msg.additionals) {
        records.add(r);
    }
}

/// RFC 6762 §11: an answer must come from the local link — a unicast host address in the
/// subnet of one of the browsed links (not its broadcast address), or an IPv6 link-local
/// address that arrived on a browsed link (or is one of ours: a Gateway on this host).
fn on_link(from: SocketAddr, links: &[Link]) -> bool {
    match from {
        SocketAddr::V4(from) => {
            let ip = *from.ip();
            !(ip.is_unspecified() || ip.is_multicast() || ip.is_broadcast())
                && links.iter().flat_map(|l| &l.v4).any(|(a, m)| {
                    let host_bits = !u32::from(*m);
                    let broadcast = host_bits > 1 && u32::from(ip) & host_bits == host_bits;
                    same_net(&a.octets(), &ip.octets(), &m.octets()) && !broadcast
                })
        }
        SocketAddr::V6(from) => {
            let ip = *from.ip();
            if ip.is_unspecified() || ip.is_multicast() || ip.to_ipv4_mapped().is_some() {
                return false;
            }
            if (ip.segments()[0] & 0xffc0) == 0xfe80 {
                let ours = links.iter().flat_map(|l| &l.v6).any(|(a, _)| *a == ip);
                let browsed = links.iter().any(|l| !l.v6.is_empty() && l.index == Some(from.scope_id()));
                return ours || browsed;
            }
            links.iter().flat_map(|l| &l.v6).any(|(a, m)| same_net(&a.octets(), &ip.octets(), &m.octets()))
        }
    }
}

fn same_net(a: &[u8], b: &[u8], mask: &[u8]) -> bool {
    a.iter().zip(b).zip(mask).all(|((a, b), m)| a & m == b & m)
}

/// Sends `bytes` to the group out of every link; true when at least one send went out.
async fn send(v4: Option<&UdpSocket>, v6: Option<&UdpSocket>, links: &[Link], bytes: &[u8]) -> bool {
    let mut ok = false;
    for link in links {
        if let (Some(sock), Some((addr, _))) = (v4, link.v4.first())
            && socket2::SockRef::from(sock).set_multicast_if_v4(addr).is_ok()
        {
            ok |= sock.send_to(bytes, SocketAddrV4::new(GROUP_V4, PORT)).await.is_ok();
        }
        if let (Some(sock), Some(index), false) = (v6, link.index, link.v6.is_empty())
            && socket2::SockRef::from(sock).set_multicast_if_v6(index).is_ok()
        {
            ok |= sock.send_to(bytes, SocketAddrV6::new(GROUP_V6, PORT, 0, index)).await.is_ok();
        }
    }
    ok
}

/// The next datagram on `sock` (pending forever without a socket).
async fn recv(sock: Option<&UdpSocket>) -> Option<(Vec<u8>, SocketAddr)> {
    let Some(sock) = sock else { return std::future::pending().await };
    let mut buf = vec![0u8; MAX_MESSAGE];
    let (n, from) = sock.recv_from(&mut buf).await.ok()?;
    buf.truncate(n);
    Some((buf, from))
}

/// An ephemeral-port UDP socket for the group: hop limit 255 as RFC 6762 §11 asks, loopback
/// on so a Gateway on this host answers too.
fn socket(v6: bool) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let s = Socket::new(if v6 { Domain::IPV6 } else { Domain::IPV4 }, Type::DGRAM, Some(Protocol::UDP))?;
    let any: SocketAddr = if v6 {
        s.set_only_v6(true)?;
        s.set_multicast_hops_v6(255)?;
        s.set_multicast_loop_v6(true)?;
        SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0))
    } else {
        s.set_multicast_ttl_v4(255)?;
        s.set_multicast_loop_v4(true)?;
        SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))
    };
    s.set_nonblocking(true)?;
    s.bind(&any.into())?;
    UdpSocket::from_std(s.into())
}

/// Up, non-loopback, non point-to-point interfaces, their addresses grouped by name.
fn links() -> std::io::Result<Vec<Link>> {
    let mut by_name: BTreeMap<String, Link> = BTreeMap::new();
    for i in if_addrs::get_if_addrs()? {
        if i.is_loopback() || i.is_p2p() || i.oper_status == if_addrs::IfOperStatus::Down {
            continue;
        }
        let link = by_name.entry(i.name.clone()).or_insert(Link { v4: vec![], v6: vec![], index: i.index });
        match &i.addr {
            if_addrs::IfAddr::V4(a) => link.v4.push((a.ip, a.netmask)),
            if_addrs::IfAddr::V6(a) => link.v6.push((a.ip, a.netmask)),
        }
    }
    Ok(by_name.into_values().collect())
}

#[cfg(test)]
mod tests {
    use hickory_proto::rr::rdata::{PTR, SRV};
    use hickory_proto::rr::{RData, Record};

    use super::*;

    fn lan() -> Vec<Link> {
        vec![Link {
            v4: vec![(Ipv4Addr::new(192, 168, 1, 20), Ipv4Addr::new(255, 255, 255, 0))],
            v6: vec![("fd00:1::20".parse().unwrap(), "ffff:ffff:ffff:ffff::".parse().unwrap())],
            index: Some(2),
        }]
    }

    #[test]
    fn answers_count_only_from_the_link() {
        let links = lan();
        for (from, ok) in [
            ("192.168.1.7:5353", true),
            ("192.168.2.7:5353", false),
            ("8.8.8.8:5353", false),
            ("[fe80::1%2]:5353", true),
            ("[fd00:1::99]:5353", true),
            ("[fd00:2::99]:5353", false),
        ] {
            assert_eq!(on_link(from.parse().unwrap(), &links), ok, "{from}");
        }
    }

    /// Attack: answers from sources no on-link responder has — the subnet's broadcast
    /// address, the limited broadcast, 0.0.0.0, a multicast address, a link-local address
    /// that arrived on an interface we do not browse (a VPN, a container bridge) — are not
    /// taken. Our own link-local address (a Gateway on this host) is.
    #[test]
    fn spoofed_looking_sources_are_not_on_link() {
        let mut links = lan();
        links[0].v6.push(("fe80::20".parse().unwrap(), "ffff:ffff:ffff:ffff::".parse().unwrap()));
        let v6 = |ip: &str, scope: u32| SocketAddr::V6(SocketAddrV6::new(ip.parse().unwrap(), 5353, 0, scope));
        for from in [
            "192.168.1.255:5353",
            "255.255.255.255:5353",
            "0.0.0.0:5353",
            "224.0.0.251:5353",
            "[ff02::fb]:5353",
            "[::]:5353",
            "[::ffff:192.168.1.7]:5353",
        ] {
            assert!(!on_link(from.parse().unwrap(), &links), "{from}");
        }
        assert!(!on_link(v6("fe80::1", 9), &links), "link-local from another interface");
        assert!(on_link(v6("fe80::1", 2), &links), "link-local from the browsed interface");
        assert!(on_link(v6("fe80::20", 1), &links), "our own address, looped back");
        assert!(on_link("192.168.1.20:5353".parse().unwrap(), &links));
        // A /31 has no broadcast address: both ends are hosts.
        let p2p = vec![Link {
            v4: vec![(Ipv4Addr::new(10, 0, 0, 0), Ipv4Addr::new(255, 255, 255, 254))],
            v6: vec![],
            index: Some(3),
        }];
        assert!(on_link("10.0.0.1:5353".parse().unwrap(), &p2p));
    }

    fn answer(id: u16) -> Vec<u8> {
        let svc = Name::from_ascii("_openclaw-gw._tcp.local.").unwrap();
        let inst = Name::from_ascii("gw._openclaw-gw._tcp.local.").unwrap();
        let mut m = Message::response(id, hickory_proto::op::OpCode::Query);
        m.add_answer(Record::from_rdata(svc, 10, RData::PTR(PTR(inst.clone()))));
        m.add_additional(Record::from_rdata(
            inst,
            10,
            RData::SRV(SRV::new(0, 0, 443, Name::from_ascii("gw.local.").unwrap())),
        ));
        m.to_vec().unwrap()
    }

    #[test]
    fn only_answers_to_our_id_from_the_link_are_taken() {
        let links = lan();
        let svc = Name::from_ascii("_openclaw-gw._tcp.local.").unwrap();
        let from: SocketAddr = "192.168.1.7:5353".parse().unwrap();
        let mut r = Records::new(svc.clone());
        take(&mut r, 7, &answer(8), from, &links);
        take(&mut r, 7, &answer(7), "10.9.9.9:5353".parse().unwrap(), &links);
        take(&mut r, 7, b"\x00\x07garbage", from, &links);
        assert!(r.gateways(LOCAL_DOMAIN).is_empty());
        // A query (not a response) with our id is not an answer either.
        let q = question(7, &svc, RecordType::PTR).unwrap();
        take(&mut r, 7, &q, from, &links);
        assert!(r.gateways(LOCAL_DOMAIN).is_empty());
        take(&mut r, 7, &answer(7), from, &links);
        let gws = r.gateways(LOCAL_DOMAIN);
        assert_eq!(gws.len(), 1);
        assert_eq!((gws[0].instance.as_str(), gws[0].port), ("gw", 443));
    }

    fn ptr_flood(round: usize) -> Vec<Record> {
        let svc = Name::from_ascii("_openclaw-gw._tcp.local.").unwrap();
        let mut out = Vec::new();
        for i in 0..200 {
            let inst = Name::from_ascii(format!("g{i}._openclaw-gw._tcp.local.")).unwrap();
            out.push(Record::from_rdata(svc.clone(), 120, RData::PTR(PTR(inst.clone()))));
            // A new SRV target in every answer, never an address: new A/AAAA questions.
            let target = Name::from_ascii(format!("h{round}-{i}.local.")).unwrap();
            out.push(Record::from_rdata(inst, 120, RData::SRV(SRV::new(0, 0, 443, target))));
        }
        out
    }

    /// Attack: a hostile host answers every query, 20 times a second for a minute, with
    /// 200 PTRs whose SRV targets change in every answer and never resolve. The browser
    /// asks at most `QUESTIONS_PER_WINDOW` questions per second and `MAX_QUESTIONS` in all,
    /// and remembers no more questions than are outstanding.
    #[test]
    fn a_ptr_flood_cannot_amplify_queries() {
        let svc = Name::from_ascii("_openclaw-gw._tcp.local.").unwrap();
        let mut records = Records::new(svc.clone());
        let mut pacer = Pacer::default();
        let start = Instant::now();
        let mut sent: Vec<Duration> = Vec::new();
        for round in 0..1200 {
            let now = start + Duration::from_millis(50 * round as u64);
            let mut want = vec![(svc.clone(), RecordType::PTR)];
            want.extend(records.missing());
            let outstanding = want.len();
            sent.extend(pacer.due(want, now).iter().map(|_| now - start));
            assert!(pacer.asked.len() <= outstanding, "{} remembered, {outstanding} outstanding", pacer.asked.len());
            for r in ptr_flood(round) {
                records.add(&r);
            }
        }
        assert!(sent.len() <= MAX_QUESTIONS, "{} questions in all", sent.len());
        for (i, t) in sent.iter().enumerate() {
            let in_window = sent[i..].iter().take_while(|u| **u < *t + RESEND).count();
            assert!(in_window <= QUESTIONS_PER_WINDOW, "{in_window} questions within a second of {t:?}");
        }
        assert!(sent.len() >= QUESTIONS_PER_WINDOW, "the browser still asks: {}", sent.len());
    }

    /// An honest exchange is not slowed down: the PTR at once, then SRV and TXT of the
    /// instance it lists, then A/AAAA of the SRV target, each as soon as it is known.
    #[test]
    fn honest_questions_go_out_at_once_and_again_after_a_second() {
        let svc = Name::from_ascii("_openclaw-gw._tcp.local.").unwrap();
        let inst = Name::from_ascii("gw._openclaw-gw._tcp.local.").unwrap();
        let host = Name::from_ascii("gw.local.").unwrap();
        let mut records = Records::new(svc.clone());
        let mut pacer = Pacer::default();
        let t0 = Instant::now();
        let mut ask = |records: &Records, at: Duration| {
            let mut want = vec![(svc.clone(), RecordType::PTR)];
            want.extend(records.missing());
            pacer.due(want, t0 + at)
        };
        assert_eq!(ask(&records, Duration::ZERO), [(svc.clone(), RecordType::PTR)]);
        records.add(&Record::from_rdata(svc.clone(), 120, RData::PTR(PTR(inst.clone()))));
        assert_eq!(
            ask(&records, Duration::from_millis(10)),
            [(inst.clone(), RecordType::TXT), (inst.clone(), RecordType::SRV)]
        );
        records.add(&Record::from_rdata(inst.clone(), 120, RData::SRV(SRV::new(0, 0, 443, host.clone()))));
        assert_eq!(
            ask(&records, Duration::from_millis(20)),
            [(host.clone(), RecordType::A), (host.clone(), RecordType::AAAA)]
        );
        assert!(ask(&records, Duration::from_millis(500)).is_empty());
        assert_eq!(ask(&records, Duration::from_millis(1000)), [(svc.clone(), RecordType::PTR)]);
        assert_eq!(ask(&records, Duration::from_millis(1010)), [(inst.clone(), RecordType::TXT)]);
    }

    /// Attack: malformed answers carrying our id from an on-link host — a name compression
    /// pointer to itself, a pointer loop between two names, a forward pointer, a truncated
    /// answer, a header claiming 65535 answers, a 9000-byte message of pointers — are
    /// dropped whole, quickly, and add nothing.
    #[test]
    fn malformed_answers_add_nothing() {
        let links = lan();
        let from: SocketAddr = "192.168.1.7:5353".parse().unwrap();
        let header = |an: u16| {
            let mut h = vec![0, 7, 0x84, 0, 0, 0];
            h.extend(an.to_be_bytes());
            h.extend([0, 0, 0, 0]);
            h
        };
        let rr_tail = [0, 12, 0, 1, 0, 0, 0, 120, 0, 2, 0xc0, 12];
        let mut self_loop = header(1);
        self_loop.extend([0xc0, 12]);
        self_loop.extend(rr_tail);
        let mut two_loop = header(1);
        two_loop.extend([1, b'a', 0xc0, 16, 1, b'b', 0xc0, 12]);
        two_loop.extend(rr_tail);
        let mut forward = header(1);
        forward.extend([0xc0, 40]);
        forward.extend(rr_tail);
        forward.extend([0; 32]);
        let good = answer(7);
        let truncated = good[..good.len() - 5].to_vec();
        let mut many = header(u16::MAX);
        many.extend(good[12..].iter());
        let mut huge = header(u16::MAX);
        while huge.len() + 14 <= MAX_MESSAGE {
            huge.extend([0xc0, 12]);
            huge.extend(rr_tail);
        }
        let svc = Name::from_ascii("_openclaw-gw._tcp.local.").unwrap();
        let started = std::time::Instant::now();
        for (what, bytes) in [
            ("self loop", self_loop),
            ("two-name loop", two_loop),
            ("forward pointer", forward),
            ("truncated", truncated),
            ("65535 answers claimed", many),
            ("9000 bytes of pointers", huge),
        ] {
            let mut r = Records::new(svc.clone());
            take(&mut r, 7, &bytes, from, &links);
            assert!(r.gateways(LOCAL_DOMAIN).is_empty() && r.missing().is_empty(), "{what}");
        }
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
