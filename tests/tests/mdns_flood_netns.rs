//! Attack on the mDNS browser across a real link (no Gateway needed): a hostile host on the
//! device's LAN (the "gateway host" network namespace, on the other end of a veth pair)
//! answers every query the device's `clawnode discover` multicasts — from its on-link
//! address, with the query's id — with 60 PTRs whose SRV targets are new host names in every
//! answer and never resolve, and adds 50 more such answers a second. Each new target is
//! something the browser could ask for (A and AAAA).
//!
//! Asserted on the wire (the queries the hostile host receives on 224.0.0.251:5353): at most
//! 16 within any 0.9 s (16 a second at the sender) and 128 in all, whatever the flood; the browse ends on time and stays off
//! the CPU while it waits.
//!
//! Needs root (`ip netns`, veth, bridge); where namespaces cannot be created it prints why,
//! loudly, and skips.

use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use clawnode_testkit::ClawnodeProcess;
use clawnode_testkit::netns::{self, GW_LAN, NetnsPair};

const BROWSE_SECS: u64 = 4;

/// A DNS name, uncompressed.
fn name(out: &mut Vec<u8>, dotted: &str) {
    for label in dotted.split('.').filter(|l| !l.is_empty()) {
        out.push(u8::try_from(label.len()).unwrap());
        out.extend(label.as_bytes());
    }
    out.push(0);
}

fn record(out: &mut Vec<u8>, owner: &str, ty: u16, rdata: &[u8]) {
    name(out, owner);
    out.extend(ty.to_be_bytes());
    out.extend(1u16.to_be_bytes()); // IN
    out.extend(120u32.to_be_bytes());
    out.extend(u16::try_from(rdata.len()).unwrap().to_be_bytes());
    out.extend(rdata);
}

/// One hostile answer to query `id`: 60 instances, each with a never-seen SRV target.
fn flood_answer(id: u16, round: u32) -> Vec<u8> {
    const SERVICE: &str = "_openclaw-gw._tcp.local";
    let n = 60u16;
    let mut m = Vec::with_capacity(9000);
    m.extend(id.to_be_bytes());
    m.extend([0x84, 0x00]); // response, authoritative
    m.extend([0, 0]);
    m.extend((2 * n).to_be_bytes());
    m.extend([0, 0, 0, 0]);
    for i in 0..n {
        let instance = format!("g{i}.{SERVICE}");
        let mut ptr = Vec::new();
        name(&mut ptr, &instance);
        record(&mut m, SERVICE, 12, &ptr);
        let mut srv = vec![0, 0, 0, 0, 0x01, 0xbb];
        name(&mut srv, &format!("h{round}x{i}.local"));
        record(&mut m, &instance, 33, &srv);
    }
    assert!(m.len() <= 9000, "{}", m.len());
    m
}

/// The hostile responder, on the gateway host's LAN: returns the arrival times of the
/// queries it received from the device until `stop`.
fn hostile_responder(sock: UdpSocket, stop: Instant) -> Vec<Instant> {
    sock.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut queries = Vec::new();
    let mut last: Option<(u16, SocketAddr)> = None;
    let mut round = 0u32;
    let mut buf = [0u8; 9000];
    while Instant::now() < stop {
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            let is_query = n >= 12 && buf[2] & 0x80 == 0;
            if is_query && from.ip() != std::net::IpAddr::V4(GW_LAN) {
                queries.push(Instant::now());
                last = Some((u16::from_be_bytes([buf[0], buf[1]]), from));
            }
        }
        // Every query answered, and 50 unsolicited answers a second on top.
        if let Some((id, to)) = last {
            round += 1;
            let _ = sock.send_to(&flood_answer(id, round), to);
        }
    }
    queries
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ptr_flood_does_not_make_the_browser_an_amplifier() {
    let pair = match NetnsPair::create() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("\n********\nmdns flood: SKIPPED: network namespaces unavailable here ({e})\n********\n");
            return;
        }
    };
    let gw = pair.gw.clone();
    let stop = Instant::now() + Duration::from_secs(BROWSE_SECS + 4);
    let responder = tokio::task::spawn_blocking(move || {
        netns::run_in(&gw, move || {
            let sock = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 5353)).unwrap();
            sock.join_multicast_v4(&Ipv4Addr::new(224, 0, 0, 251), &GW_LAN).unwrap();
            hostile_responder(sock, stop)
        })
        .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;

    let started = Instant::now();
    let secs = BROWSE_SECS.to_string();
    let mut p = ClawnodeProcess::spawn_in(Some(&pair.dev), &["discover", "--json", "--timeout", &secs], &[]).unwrap();
    let pid = p.pid().unwrap();
    // CPU time (utime + stime, clock ticks) of the browser, sampled until it exits.
    let mut ticks = 0u64;
    let sampler = async {
        loop {
            if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                let fields: Vec<&str> =
                    stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("").split_whitespace().collect();
                if let (Some(u), Some(s)) = (fields.get(11), fields.get(12)) {
                    ticks = u.parse::<u64>().unwrap_or(0) + s.parse::<u64>().unwrap_or(0);
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let status = tokio::select! {
        s = p.wait_exit(Duration::from_secs(BROWSE_SECS + 20)) => s.unwrap(),
        () = sampler => unreachable!(),
    };
    let took = started.elapsed();
    let queries = responder.await.unwrap();
    eprintln!(
        "mdns flood: {} queries from the device in {took:?} ({status}), {ticks} CPU ticks; output:\n{}",
        queries.len(),
        p.lines().join("\n")
    );
    assert!(status.success(), "{status}: {}", p.lines().join("\n"));
    assert!(took < Duration::from_secs(BROWSE_SECS + 3), "the browse ends at its deadline: {took:?}");
    assert!(!queries.is_empty(), "the hostile host saw the browser's queries (else this test tests nothing)");
    assert!(queries.len() <= 128, "{} queries in all", queries.len());
    // 16 a second at the sender; a window a little under a second absorbs arrival jitter.
    for (i, t) in queries.iter().enumerate() {
        let in_window = queries[i..].iter().take_while(|u| u.duration_since(*t) < Duration::from_millis(900)).count();
        assert!(in_window <= 16, "{in_window} queries within 0.9 s");
    }
    assert!(ticks < 200, "{ticks} CPU ticks for a {BROWSE_SECS}s browse: no busy loop");
}
