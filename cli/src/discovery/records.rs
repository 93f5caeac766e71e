//! DNS-SD records as they arrive (RFC 6763 §4–§6): the PTR of the service type lists the
//! instances, each instance has an SRV (target host, port) and a TXT, each SRV target has
//! A/AAAA. Shared by the multicast ([`super::mdns`]) and wide-area ([`super::unicast`])
//! browsers: this is the one place that decides which records belong together and turns
//! them into the core's [`DiscoveredGateway`]s. Nothing here routes by TXT.

use std::collections::BTreeMap;
use std::net::IpAddr;

use clawnode::discovery::{DiscoveredGateway, GatewayTxt};
use hickory_proto::rr::rdata::SRV;
use hickory_proto::rr::{Name, RData, Record, RecordType};

/// Most instances kept per browse: a host on the LAN can answer with anything.
const MAX_INSTANCES: usize = 64;
/// Most host names with addresses kept per browse.
const MAX_HOSTS: usize = 64;
/// Most addresses kept per host name.
const MAX_ADDRESSES: usize = 16;

/// The records gathered for one service type in one domain.
#[derive(Debug)]
pub struct Records {
    /// `_openclaw-gw._tcp.<domain>.`
    service: Name,
    /// Instance full name → what is known of it.
    instances: BTreeMap<Name, Instance>,
    /// Host name → its addresses (sorted, unique).
    hosts: BTreeMap<Name, Vec<IpAddr>>,
}

#[derive(Debug, Default)]
struct Instance {
    /// Named by a PTR of the service (SRV/TXT may arrive before it).
    listed: bool,
    srv: Option<SRV>,
    txt: Option<Vec<Vec<u8>>>,
}

impl Records {
    /// Records for `service` (`_openclaw-gw._tcp.<domain>.`).
    pub fn new(service: Name) -> Self {
        Self { service, instances: BTreeMap::new(), hosts: BTreeMap::new() }
    }

    /// The service name the browse asks for.
    pub fn service(&self) -> &Name {
        &self.service
    }

    /// Takes one resource record. A PTR counts only when it is owned by the service name and
    /// points to a direct child of it (TTL 0, an mDNS goodbye, unlists the instance); SRV and
    /// TXT only when owned by such a child; A/AAAA for any host name (matched to SRV targets
    /// when assembled). Anything else, and anything past the limits, is ignored.
    pub fn add(&mut self, record: &Record) {
        match &record.data {
            RData::PTR(ptr) if record.name == self.service => {
                if !self.is_instance(&ptr.0) {
                    return;
                }
                if record.ttl == 0 {
                    if let Some(i) = self.instances.get_mut(&ptr.0) {
                        i.listed = false;
                    }
                } else if let Some(i) = self.instance(&ptr.0) {
                    i.listed = true;
                }
            }
            RData::SRV(srv) if self.is_instance(&record.name) => {
                if let Some(i) = self.instance(&record.name) {
                    i.srv = Some(srv.clone());
                }
            }
            RData::TXT(txt) if self.is_instance(&record.name) => {
                if let Some(i) = self.instance(&record.name) {
                    i.txt = Some(txt.txt_data.iter().map(|s| s.to_vec()).collect());
                }
            }
            RData::A(a) => self.address(&record.name, IpAddr::V4(a.0)),
            RData::AAAA(a) => self.address(&record.name, IpAddr::V6(a.0)),
            _ => {}
        }
    }

    /// What a browser should still ask for: SRV and TXT of each listed instance that lacks
    /// them, A and AAAA of each SRV target without addresses.
    pub fn missing(&self) -> Vec<(Name, RecordType)> {
        let mut out = Vec::new();
        for (name, i) in self.instances.iter().filter(|(_, i)| i.listed) {
            match &i.srv {
                None => out.push((name.clone(), RecordType::SRV)),
                Some(srv) if !self.hosts.contains_key(&srv.target) => {
                    out.push((srv.target.clone(), RecordType::A));
                    out.push((srv.target.clone(), RecordType::AAAA));
                }
                Some(_) => {}
            }
            if i.txt.is_none() {
                out.push((name.clone(), RecordType::TXT));
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Every listed instance with an SRV, as the core's record (`domain` as in its stable
    /// id: `local.` or the wide-area zone). An instance without TXT gets an empty one; one
    /// whose target has no address is kept (the core's plan refuses it and says why).
    pub fn gateways(&self, domain: &str) -> Vec<DiscoveredGateway> {
        self.instances
            .iter()
            .filter(|(_, i)| i.listed)
            .filter_map(|(name, i)| {
                let srv = i.srv.as_ref()?;
                // The instance label is the first label of its name, raw bytes off the wire;
                // the core takes presentation text (it decodes `\DDD` and `\X`), so a raw
                // backslash goes as `\\` (else `Studio\032Gateway` would be `Studio Gateway`).
                let label = name.iter().next()?;
                let instance = String::from_utf8_lossy(label).replace('\\', "\\\\");
                let addresses = self.hosts.get(&srv.target).cloned().unwrap_or_default();
                let txt = i.txt.as_deref().map(GatewayTxt::from_strings).unwrap_or_default();
                Some(DiscoveredGateway::new(&instance, domain, Some(&srv.target.to_ascii()), addresses, srv.port, txt))
            })
            .collect()
    }

    /// `<instance>.<service>`: one label more than the service, under it.
    fn is_instance(&self, name: &Name) -> bool {
        name.num_labels() == self.service.num_labels() + 1 && self.service.zone_of(name)
    }

    fn instance(&mut self, name: &Name) -> Option<&mut Instance> {
        if !self.instances.contains_key(name) && self.instances.len() >= MAX_INSTANCES {
            return None;
        }
        Some(self.instances.entry(name.clone()).or_default())
    }

    fn address(&mut self, host: &Name, ip: IpAddr) {
        if !self.hosts.contains_key(host) && self.hosts.len() >= MAX_HOSTS {
            return;
        }
        let list = self.hosts.entry(host.clone()).or_default();
        if let Err(at) = list.binary_search(&ip)
            && list.len() < MAX_ADDRESSES
        {
            list.insert(at, ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use hickory_proto::rr::rdata::{A, AAAA, PTR, TXT};

    use super::*;

    /// Raw labels, as they come off the wire (an instance label may hold spaces).
    fn name(s: &str) -> Name {
        let mut n = Name::from_labels(s.trim_end_matches('.').split('.').map(str::as_bytes)).unwrap();
        n.set_fqdn(true);
        n
    }

    fn rec(owner: &str, ttl: u32, data: RData) -> Record {
        Record::from_rdata(name(owner), ttl, data)
    }

    const SVC: &str = "_openclaw-gw._tcp.local.";
    const INST: &str = "Studio Gateway._openclaw-gw._tcp.local.";

    fn srv(port: u16, target: &str) -> RData {
        RData::SRV(SRV::new(0, 0, port, name(target)))
    }

    #[test]
    fn assembles_in_any_order_and_asks_for_what_is_missing() {
        let mut r = Records::new(name(SVC));
        // Additionals may come before the PTR that lists the instance.
        r.add(&rec(INST, 120, srv(18789, "studio.local.")));
        assert!(r.gateways("local.").is_empty(), "not listed by a PTR yet");
        r.add(&rec(SVC, 4500, RData::PTR(PTR(name(INST)))));
        assert_eq!(
            r.missing(),
            vec![
                (name(INST), RecordType::TXT),
                (name("studio.local."), RecordType::A),
                (name("studio.local."), RecordType::AAAA),
            ]
        );
        r.add(&rec("studio.local.", 120, RData::A(A(Ipv4Addr::new(10, 0, 0, 7)))));
        r.add(&rec("STUDIO.local.", 120, RData::A(A(Ipv4Addr::new(10, 0, 0, 7)))));
        r.add(&rec("studio.local.", 120, RData::AAAA(AAAA(Ipv6Addr::LOCALHOST))));
        r.add(&rec(INST, 4500, RData::TXT(TXT::new(vec!["gatewayPort=1".into(), "tls=1".into()]))));
        assert!(r.missing().is_empty());
        let gws = r.gateways("local.");
        assert_eq!(gws.len(), 1);
        let g = &gws[0];
        assert_eq!(g.instance, "Studio Gateway");
        assert_eq!(g.port, 18789);
        assert_eq!(g.addresses, [IpAddr::V4(Ipv4Addr::new(10, 0, 0, 7)), IpAddr::V6(Ipv6Addr::LOCALHOST)]);
        assert_eq!(g.stable_id(), "_openclaw-gw._tcp.|local.|Studio Gateway");
    }

    #[test]
    fn records_outside_the_service_are_ignored_and_goodbyes_unlist() {
        let mut r = Records::new(name(SVC));
        // A PTR of another service, a PTR to a grandchild, SRV of a name outside the service.
        r.add(&rec("_other._tcp.local.", 120, RData::PTR(PTR(name("x._other._tcp.local.")))));
        r.add(&rec(SVC, 120, RData::PTR(PTR(name("a.b._openclaw-gw._tcp.local.")))));
        r.add(&rec("evil.local.", 120, srv(1, "evil.local.")));
        assert!(r.missing().is_empty());
        assert!(r.gateways("local.").is_empty());
        r.add(&rec(SVC, 120, RData::PTR(PTR(name(INST)))));
        r.add(&rec(INST, 120, srv(1, "h.local.")));
        assert_eq!(r.gateways("local.").len(), 1);
        r.add(&rec(SVC, 0, RData::PTR(PTR(name(INST)))));
        assert!(r.gateways("local.").is_empty());
    }

    #[test]
    fn a_flood_is_bounded() {
        let mut r = Records::new(name(SVC));
        for i in 0..500 {
            let inst = format!("g{i}.{SVC}");
            r.add(&rec(SVC, 120, RData::PTR(PTR(name(&inst)))));
            r.add(&rec(&inst, 120, srv(1, "h.local.")));
            r.add(&rec("h.local.", 120, RData::A(A(Ipv4Addr::from(u32::try_from(i).unwrap())))));
            r.add(&rec(&format!("h{i}.local."), 120, RData::A(A(Ipv4Addr::LOCALHOST))));
        }
        let gws = r.gateways("local.");
        assert_eq!(gws.len(), MAX_INSTANCES);
        assert_eq!(gws[0].addresses.len(), MAX_ADDRESSES);
        assert!(r.hosts.len() <= MAX_HOSTS);
    }

    /// Attack: an instance label whose raw bytes spell a DNS-SD escape (`Studio\032Gateway`,
    /// `a\.b`) is another name than the one the escape denotes: it must not come out as
    /// `Studio Gateway` under that Gateway's stable id (and pin). Raw labels reach the core
    /// as presentation text with their backslashes escaped, so they come back unchanged.
    #[test]
    fn escape_spellings_in_raw_labels_do_not_collide() {
        let mut r = Records::new(name(SVC));
        let forged = Name::from_labels([&b"Studio\\032Gateway"[..], b"_openclaw-gw", b"_tcp", b"local"]).unwrap();
        let dotted = Name::from_labels([&b"a.b\\"[..], b"_openclaw-gw", b"_tcp", b"local"]).unwrap();
        for inst in [name(INST), forged, dotted] {
            r.add(&Record::from_rdata(name(SVC), 120, RData::PTR(PTR(inst.clone()))));
            r.add(&Record::from_rdata(inst, 120, srv(1, "h.local.")));
        }
        let mut ids: Vec<String> = r.gateways("local.").iter().map(|g| g.instance.clone()).collect();
        ids.sort();
        assert_eq!(ids, ["Studio Gateway", "Studio\\032Gateway", "a.b\\"]);
    }
}
