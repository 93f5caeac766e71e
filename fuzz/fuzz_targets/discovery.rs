//! Discovery input: TXT strings, instance names and addresses from the network. Never
//! panics, and whatever the TXT says, a plan without a stored pin carries no pin and routes
//! only to a resolved address.
#![no_main]

use clawnode::discovery::{DiscoveredGateway, DiscoveryPolicy, GatewayTxt, KnownGateway, plan_connection};
use clawnode::endpoint::Host;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|b| *b == 0);
    let instance = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let port = parts.next().and_then(|p| p.get(..2)).map(|p| u16::from_be_bytes([p[0], p[1]])).unwrap_or(0);
    let addresses: Vec<std::net::IpAddr> = parts
        .next()
        .map(|a| a.chunks(4).filter(|c| c.len() == 4).map(|c| std::net::IpAddr::from([c[0], c[1], c[2], c[3]])).collect())
        .unwrap_or_default();
    let strings: Vec<&[u8]> = parts.collect();
    let txt = GatewayTxt::from_strings(&strings);
    let gw = DiscoveredGateway::new(&instance, "local.", None, addresses.clone(), port, txt);
    for text in [gw.stable_id(), gw.display_name(), gw.instance.clone()] {
        assert!(!text.chars().any(char::is_control), "beacon text is printable: {text:?}");
    }
    for policy in [DiscoveryPolicy::default(), DiscoveryPolicy::new(clawnode::PlaintextPolicy::PrivateNetwork)] {
        let plan = plan_connection(&gw, &KnownGateway::default(), &policy);
        if let Some(e) = plan.endpoint {
            assert_eq!(e.pin, None, "a TXT fingerprint never becomes a pin");
            assert_eq!(e.port, port, "the SRV port routes");
            match e.host {
                Host::Ip(ip) => {
                    assert!(addresses.contains(&ip), "only a resolved address routes");
                    assert!(!ip.is_loopback() && !ip.is_unspecified(), "an answer never routes to this host");
                }
                Host::Name(n) => panic!("no SRV host was given, yet {n} routes"),
            }
        }
    }
});
