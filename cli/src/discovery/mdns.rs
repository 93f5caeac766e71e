//! Multicast DNS-SD browsing of `_openclaw-gw._tcp.local.` through `mdns-sd` (pure Rust,
//! no Avahi daemon, no async runtime of its own: blocking, run on a blocking thread).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use clawnode::discovery::{DiscoveredGateway, GatewayTxt, LOCAL_DOMAIN, SERVICE_TYPE};
use mdns_sd::{ResolvedService, ServiceDaemon, ServiceEvent};

/// `_openclaw-gw._tcp.local.`
fn service_domain() -> String {
    format!("{SERVICE_TYPE}.{LOCAL_DOMAIN}")
}

/// Browses for `timeout` and returns every resolved instance (addresses merged).
pub fn browse(timeout: Duration) -> Result<Vec<DiscoveredGateway>, String> {
    let daemon = ServiceDaemon::new().map_err(|e| format!("cannot start the mDNS browser: {e}"))?;
    let result = collect(&daemon, timeout);
    // Stops the daemon's thread; its status channel is not awaited.
    let _ = daemon.shutdown();
    result
}

fn collect(daemon: &ServiceDaemon, timeout: Duration) -> Result<Vec<DiscoveredGateway>, String> {
    let ty = service_domain();
    let events = daemon.browse(&ty).map_err(|e| format!("cannot browse {ty}: {e}"))?;
    let deadline = Instant::now() + timeout;
    let mut found: BTreeMap<String, DiscoveredGateway> = BTreeMap::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match events.recv_timeout(left) {
            Ok(ServiceEvent::ServiceResolved(info)) => {
                let gw = to_discovered(&info, &ty);
                match found.get_mut(&info.fullname) {
                    Some(known) => {
                        for a in gw.addresses {
                            if !known.addresses.contains(&a) {
                                known.addresses.push(a);
                            }
                        }
                    }
                    None => {
                        found.insert(info.fullname.clone(), gw);
                    }
                }
            }
            Ok(ServiceEvent::ServiceRemoved(_, fullname)) => {
                found.remove(&fullname);
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    Ok(found.into_values().collect())
}

/// A resolved `mdns-sd` record as the core's [`DiscoveredGateway`]: the instance label
/// (escapes decoded by the core), the SRV host, port and A/AAAA addresses, the TXT pairs.
fn to_discovered(info: &ResolvedService, ty: &str) -> DiscoveredGateway {
    let instance = info.fullname.strip_suffix(ty).unwrap_or(&info.fullname).trim_end_matches('.');
    let mut addresses: Vec<std::net::IpAddr> = info.addresses.iter().map(|a| a.to_ip_addr()).collect();
    addresses.sort();
    let txt =
        GatewayTxt::from_pairs(info.txt_properties.iter().map(|p| (p.key().to_string(), p.val().map(<[u8]>::to_vec))));
    DiscoveredGateway::new(instance, LOCAL_DOMAIN, Some(&info.host), addresses, info.port, txt)
}
