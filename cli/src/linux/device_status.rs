//! `device.status` for Linux hosts: the core's [`DeviceStatus`] with the sections a Linux
//! machine can read (see `docs/linux-commands.md`).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::device::blocking;
use super::parse::{self, ThermalReading};
use super::sysfs;
use clawnode::CommandError;
use clawnode::commands::{
    BatteryStatus, DeviceStatus, DiskStatus, MemoryStatus, NetworkInterfaceStatus, NetworkStatus, StorageStatus,
    ThermalSensor, ThermalStatus,
};

/// `device.status`: params ignored → the core's [`DeviceStatus`]: the iOS/Android sections
/// that apply (`battery`, `thermal`, `storage`, `network`, `uptimeSeconds`) plus the Linux
/// ones (`loadAverage`, `memory`, `disks`, `networkInterfaces`).
///
/// Every section whose source is missing or unreadable is omitted; never fails except
/// if the worker task dies (`UNAVAILABLE`).
pub async fn device_status(_params: Value) -> Result<Value, CommandError> {
    blocking("device.status", collect_device_status).await
}

/// Gathers `device.status` synchronously.
fn collect_device_status() -> DeviceStatus {
    let interfaces = network_interfaces(Path::new("/sys/class/net"));
    DeviceStatus {
        battery: battery_section(Path::new("/sys/class/power_supply")),
        thermal: thermal_section(Path::new("/sys/class/thermal"), Path::new("/sys/class/hwmon")),
        storage: sysfs::fs_usage("/").map(|root| StorageStatus {
            total_bytes: root.total,
            free_bytes: root.available,
            used_bytes: root.used(),
        }),
        network: network_section(&interfaces),
        uptime_seconds: sysfs::read_text("/proc/uptime").and_then(|t| parse::parse_uptime(&t)),
        load_average: sysfs::read_text("/proc/loadavg").and_then(|t| parse::parse_loadavg(&t)),
        memory: sysfs::read_text("/proc/meminfo").and_then(|t| memory_section(&parse::parse_meminfo(&t))),
        disks: sysfs::read_text("/proc/self/mounts").map(|m| disks_section(&m)),
        network_interfaces: (!interfaces.is_empty()).then(|| interfaces.into_iter().map(|i| i.status).collect()),
    }
}

/// The `memory` section from parsed `/proc/meminfo`; `None` without `MemTotal`.
fn memory_section(m: &parse::MemInfo) -> Option<MemoryStatus> {
    let total = m.total?;
    let available = m.available.map(|a| a.min(total));
    Some(MemoryStatus {
        total_bytes: total,
        available_bytes: available,
        free_bytes: m.free.map(|f| f.min(total)),
        used_bytes: available.or(m.free).map(|a| total.saturating_sub(a)),
        swap_total_bytes: m.swap_total,
        swap_free_bytes: m.swap_free.map(|f| f.min(m.swap_total.unwrap_or(f))),
    })
}

/// The `disks` section: one entry per real block device from a mounts table.
fn disks_section(mounts: &str) -> Vec<DiskStatus> {
    let entries = parse::parse_mounts(mounts);
    parse::select_disk_mounts(&entries)
        .into_iter()
        .filter_map(|m| {
            let usage = sysfs::fs_usage(&m.mount_point)?;
            Some(DiskStatus {
                device: m.device,
                mount_point: m.mount_point,
                fs_type: m.fs_type,
                total_bytes: usage.total,
                available_bytes: usage.available,
                free_bytes: usage.free,
                used_bytes: usage.used(),
            })
        })
        .collect()
}

/// The `battery` section from `/sys/class/power_supply`: the first battery (by name)
/// plus whether mains power is online.
fn battery_section(root: &Path) -> Option<BatteryStatus> {
    let mut ac_online: Option<bool> = None;
    let mut battery: Option<BatteryStatus> = None;
    for (name, path) in sysfs::list_dir(root) {
        let kind = sysfs::read_trimmed(path.join("type")).unwrap_or_default();
        match kind.as_str() {
            "Mains" | "USB" => {
                if let Some(online) = sysfs::read_u64(path.join("online")) {
                    ac_online = Some(ac_online.unwrap_or(false) || online == 1);
                }
            }
            "Battery" if battery.is_none() => {
                // Peripheral batteries (mice, keyboards) report scope "Device".
                if sysfs::read_trimmed(path.join("scope")).as_deref() == Some("Device") {
                    continue;
                }
                if sysfs::read_u64(path.join("present")) == Some(0) {
                    continue;
                }
                let level = sysfs::read_u64(path.join("capacity")).map(|c| c.min(100) as f64 / 100.0).or_else(|| {
                    let now = sysfs::read_u64(path.join("energy_now"))
                        .or_else(|| sysfs::read_u64(path.join("charge_now")))?;
                    let full = sysfs::read_u64(path.join("energy_full"))
                        .or_else(|| sysfs::read_u64(path.join("charge_full")))?;
                    (full > 0).then(|| (now as f64 / full as f64).clamp(0.0, 1.0))
                });
                let state = sysfs::read_trimmed(path.join("status")).map_or("unknown", |s| parse::battery_state(&s));
                battery = Some(BatteryStatus {
                    level,
                    state: state.to_owned(),
                    low_power_mode_enabled: None,
                    name: Some(name),
                    ac_online: None,
                });
            }
            _ => {}
        }
    }
    let mut b = battery?;
    b.ac_online = ac_online;
    Some(b)
}

/// One temperature sensor with its trip points.
#[derive(Debug, Clone, PartialEq)]
struct Sensor {
    source: String,
    name: String,
    reading: ThermalReading,
}

/// Reads `/sys/class/thermal/thermal_zone*` sensors.
fn thermal_zone_sensors(root: &Path) -> Vec<Sensor> {
    let mut out = Vec::new();
    for (name, path) in sysfs::list_dir(root) {
        if !name.starts_with("thermal_zone") {
            continue;
        }
        let Some(temp) = sysfs::read_text(path.join("temp")).and_then(|t| parse::parse_millidegrees(&t)) else {
            continue;
        };
        let trips: Vec<(String, String)> = (0..32)
            .map_while(|i| {
                let kind = sysfs::read_text(path.join(format!("trip_point_{i}_type")))?;
                let temp = sysfs::read_text(path.join(format!("trip_point_{i}_temp")))?;
                Some((kind, temp))
            })
            .collect();
        out.push(Sensor {
            name: sysfs::read_trimmed(path.join("type")).unwrap_or_else(|| name.clone()),
            source: name,
            reading: parse::thermal_zone_reading(temp, &trips),
        });
    }
    out
}

/// Reads `/sys/class/hwmon/hwmon*/temp*_input` sensors.
fn hwmon_sensors(root: &Path) -> Vec<Sensor> {
    let mut out = Vec::new();
    for (hwmon, path) in sysfs::list_dir(root) {
        let chip = sysfs::read_trimmed(path.join("name")).unwrap_or_else(|| hwmon.clone());
        for (file, input) in sysfs::list_dir(&path) {
            let Some(prefix) = file.strip_suffix("_input").filter(|p| p.starts_with("temp")) else {
                continue;
            };
            let Some(temp) = sysfs::read_text(&input).and_then(|t| parse::parse_millidegrees(&t)) else {
                continue;
            };
            let trip = |suffix: &str| {
                sysfs::read_text(path.join(format!("{prefix}_{suffix}")))
                    .and_then(|t| parse::parse_millidegrees(&t))
                    .filter(|c| *c > 0.0)
            };
            let label = sysfs::read_trimmed(path.join(format!("{prefix}_label")));
            out.push(Sensor {
                source: format!("{hwmon}/{prefix}"),
                name: label.map_or_else(|| chip.clone(), |l| format!("{chip} {l}")),
                reading: ThermalReading {
                    temperature_c: temp,
                    passive_c: None,
                    hot_c: trip("max"),
                    critical_c: trip("crit"),
                },
            });
        }
    }
    out
}

/// The `thermal` section: `{ state?, sensors: [{source, name, temperatureC}] }`.
fn thermal_section(thermal_root: &Path, hwmon_root: &Path) -> Option<ThermalStatus> {
    let mut sensors = thermal_zone_sensors(thermal_root);
    sensors.extend(hwmon_sensors(hwmon_root));
    if sensors.is_empty() {
        return None;
    }
    let readings: Vec<ThermalReading> = sensors.iter().map(|s| s.reading).collect();
    Some(ThermalStatus {
        state: parse::classify_thermal(&readings).map(str::to_owned),
        sensors: sensors
            .into_iter()
            .map(|s| ThermalSensor {
                source: s.source,
                name: s.name,
                temperature_c: (s.reading.temperature_c * 10.0).round() / 10.0,
            })
            .collect(),
    })
}

/// One network interface from `/sys/class/net`: its `networkInterfaces[]` entry plus the
/// carrier, which decides whether an `unknown` operstate counts as up.
#[derive(Debug, Clone, PartialEq)]
struct Interface {
    status: NetworkInterfaceStatus,
    carrier: Option<bool>,
}

impl Interface {
    /// Whether the link is usable (`up`, or `unknown` with carrier as on tun devices).
    fn is_up(&self) -> bool {
        match self.status.operstate.as_deref() {
            Some("up") => true,
            Some("unknown") => self.carrier == Some(true),
            _ => false,
        }
    }
}

/// Reads all interfaces from `/sys/class/net` with addresses from procfs.
fn network_interfaces(root: &Path) -> Vec<Interface> {
    let routes = sysfs::read_text("/proc/net/route").map(|t| parse::parse_route(&t)).unwrap_or_default();
    let mut v4: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(trie) = sysfs::read_text("/proc/net/fib_trie") {
        for addr in parse::parse_fib_trie_local(&trie) {
            if let Some(iface) = parse::ipv4_interface(addr, &routes) {
                v4.entry(iface).or_default().push(addr.to_string());
            }
        }
    }
    let mut v6: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Some(text) = sysfs::read_text("/proc/net/if_inet6") {
        for entry in parse::parse_if_inet6(&text) {
            v6.entry(entry.iface).or_default().push(entry.address.to_string());
        }
    }
    sysfs::list_dir(root)
        .into_iter()
        .map(|(name, path)| {
            let arp_type = sysfs::read_u64(path.join("type"));
            let kind = if arp_type == Some(772) {
                "loopback"
            } else if path.join("wireless").exists() || path.join("phy80211").exists() {
                "wifi"
            } else if arp_type == Some(1) && path.join("device").exists() {
                "wired"
            } else {
                "other"
            };
            let mac = sysfs::read_trimmed(path.join("address")).filter(|a| a.len() == 17 && a != "00:00:00:00:00:00");
            Interface {
                carrier: sysfs::read_u64(path.join("carrier")).map(|c| c == 1),
                status: NetworkInterfaceStatus {
                    kind: kind.to_owned(),
                    operstate: sysfs::read_trimmed(path.join("operstate")),
                    mac_address: mac,
                    mtu: sysfs::read_u64(path.join("mtu")),
                    rx_bytes: sysfs::read_u64(path.join("statistics/rx_bytes")),
                    tx_bytes: sysfs::read_u64(path.join("statistics/tx_bytes")),
                    ipv4: v4.remove(&name).unwrap_or_default(),
                    ipv6: v6.remove(&name).unwrap_or_default(),
                    name,
                },
            }
        })
        .collect()
}

/// The `network` section (device.status vocabulary): `status` is `satisfied` when a
/// non-loopback interface is up and a default route exists, else `unsatisfied`;
/// `interfaces` lists the kinds (`wired|wifi|other`) of the up, non-loopback interfaces.
fn network_section(interfaces: &[Interface]) -> Option<NetworkStatus> {
    if interfaces.is_empty() {
        return None;
    }
    let up: Vec<&Interface> = interfaces.iter().filter(|i| i.status.kind != "loopback" && i.is_up()).collect();
    let default_route = sysfs::read_text("/proc/net/route")
        .is_some_and(|t| parse::has_default_route4(&parse::parse_route(&t)))
        || sysfs::read_text("/proc/net/ipv6_route").is_some_and(|t| parse::has_default_route6(&t));
    let status = if !up.is_empty() && default_route { "satisfied" } else { "unsatisfied" };
    let interfaces = ["wifi", "wired", "other"]
        .into_iter()
        .filter(|kind| up.iter().any(|i| i.status.kind == *kind))
        .map(str::to_owned)
        .collect();
    Some(NetworkStatus { status: status.to_owned(), is_expensive: None, is_constrained: None, interfaces })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fake_tree(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("clawnode-dev-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(path: &Path, content: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
    }

    /// The section as it goes on the wire.
    fn wire<T: serde::Serialize>(section: T) -> Value {
        serde_json::to_value(section).unwrap()
    }
    #[test]
    fn battery_from_fake_sysfs() {
        let root = fake_tree("battery");
        write(&root.join("AC/type"), "Mains\n");
        write(&root.join("AC/online"), "1\n");
        write(&root.join("hidpp_battery_0/type"), "Battery\n");
        write(&root.join("hidpp_battery_0/scope"), "Device\n");
        write(&root.join("hidpp_battery_0/capacity"), "5\n");
        write(&root.join("BAT0/type"), "Battery\n");
        write(&root.join("BAT0/status"), "Charging\n");
        write(&root.join("BAT0/energy_now"), "30000000\n");
        write(&root.join("BAT0/energy_full"), "40000000\n");
        assert_eq!(
            battery_section(&root).map(wire),
            Some(json!({"level": 0.75, "state": "charging", "name": "BAT0", "acOnline": true}))
        );
        write(&root.join("BAT0/capacity"), "garbage\n");
        write(&root.join("BAT0/status"), "\u{0}\u{1}\n");
        assert_eq!(
            battery_section(&root).map(wire),
            Some(json!({"level": 0.75, "state": "unknown", "name": "BAT0", "acOnline": true}))
        );
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(battery_section(&root).map(wire), None);
    }

    #[test]
    fn thermal_from_fake_sysfs() {
        let thermal = fake_tree("thermal");
        let hwmon = fake_tree("hwmon");
        write(&thermal.join("thermal_zone0/temp"), "48500\n");
        write(&thermal.join("thermal_zone0/type"), "x86_pkg_temp\n");
        write(&thermal.join("thermal_zone0/trip_point_0_type"), "passive\n");
        write(&thermal.join("thermal_zone0/trip_point_0_temp"), "45000\n");
        write(&thermal.join("thermal_zone1/temp"), "bogus\n");
        write(&thermal.join("cooling_device0/type"), "Fan\n");
        write(&hwmon.join("hwmon0/name"), "coretemp\n");
        write(&hwmon.join("hwmon0/temp1_input"), "51000\n");
        write(&hwmon.join("hwmon0/temp1_label"), "Core 0\n");
        write(&hwmon.join("hwmon0/temp1_crit"), "100000\n");
        write(&hwmon.join("hwmon0/fan1_input"), "1200\n");
        assert_eq!(
            thermal_section(&thermal, &hwmon).map(wire),
            Some(json!({"state": "fair", "sensors": [
                {"source": "thermal_zone0", "name": "x86_pkg_temp", "temperatureC": 48.5},
                {"source": "hwmon0/temp1", "name": "coretemp Core 0", "temperatureC": 51.0}
            ]}))
        );
        std::fs::remove_dir_all(&thermal).unwrap();
        std::fs::remove_dir_all(&hwmon).unwrap();
        assert_eq!(thermal_section(&thermal, &hwmon).map(wire), None);
    }

    #[test]
    fn memory_section_clamps() {
        let m = parse::MemInfo {
            total: Some(100),
            free: Some(150),
            available: Some(60),
            swap_total: Some(10),
            swap_free: Some(20),
        };
        assert_eq!(
            memory_section(&m).map(wire),
            Some(json!({"totalBytes": 100, "availableBytes": 60, "freeBytes": 100,
                        "usedBytes": 40, "swapTotalBytes": 10, "swapFreeBytes": 10}))
        );
        assert_eq!(memory_section(&parse::MemInfo::default()), None);
    }

    #[test]
    fn disks_from_fixture_mounts() {
        let v = wire(disks_section(
            "/dev/root / ext4 rw 0 0\nproc /proc proc rw 0 0\n/dev/nope /nonexistent/x ext4 rw 0 0\n",
        ));
        let disks = v.as_array().unwrap();
        assert_eq!(disks.len(), 1);
        assert_eq!(disks[0]["mountPoint"], "/");
        assert_eq!(wire(disks_section("garbage")), json!([]));
    }

    #[tokio::test]
    async fn real_device_status_shape() {
        let v = device_status(Value::Null).await.unwrap();
        let memory = &v["memory"];
        assert!(memory["totalBytes"].as_u64().unwrap() > 0);
        assert!(memory["availableBytes"].as_u64().unwrap() <= memory["totalBytes"].as_u64().unwrap());
        let disks = v["disks"].as_array().unwrap();
        assert!(!disks.is_empty(), "{v}");
        for d in disks {
            for key in ["device", "mountPoint", "fsType"] {
                assert!(d[key].is_string());
            }
            for key in ["totalBytes", "availableBytes", "freeBytes", "usedBytes"] {
                assert!(d[key].is_u64());
            }
        }
        assert!(v["storage"]["totalBytes"].as_u64().unwrap() > 0);
        assert!(v["uptimeSeconds"].as_f64().unwrap() > 0.0);
        assert_eq!(v["loadAverage"].as_array().unwrap().len(), 3);
        let ifaces = v["networkInterfaces"].as_array().unwrap();
        let lo = ifaces.iter().find(|i| i["name"] == "lo").unwrap();
        assert_eq!(lo["kind"], "loopback");
        assert!(lo["ipv4"].as_array().unwrap().iter().any(|a| a == "127.0.0.1"));
        let status = v["network"]["status"].as_str().unwrap();
        assert!(status == "satisfied" || status == "unsatisfied");
    }

    #[test]
    fn network_section_skips_without_interfaces_and_lists_up_kinds() {
        assert_eq!(network_section(&[]), None);
        let iface = |name: &str, kind: &str, operstate: &str, carrier: Option<bool>| Interface {
            carrier,
            status: NetworkInterfaceStatus {
                name: name.into(),
                kind: kind.into(),
                operstate: Some(operstate.into()),
                mac_address: None,
                mtu: None,
                rx_bytes: None,
                tx_bytes: None,
                ipv4: vec![],
                ipv6: vec![],
            },
        };
        let list = [
            iface("lo", "loopback", "unknown", Some(true)),
            iface("tun0", "other", "unknown", Some(true)),
            iface("eth0", "wired", "down", Some(false)),
            iface("wlan0", "wifi", "up", None),
        ];
        let v = wire(network_section(&list).unwrap());
        assert_eq!(v["interfaces"], json!(["wifi", "other"]), "up, non-loopback kinds in a fixed order");
        assert!(v.get("isExpensive").is_none() && v.get("isConstrained").is_none(), "{v}");
        // The loopback entry as it goes on the wire: absent fields omitted, address lists kept.
        assert_eq!(
            wire(&list[0].status),
            json!({"name": "lo", "kind": "loopback", "operstate": "unknown", "ipv4": [], "ipv6": []})
        );
    }
}
