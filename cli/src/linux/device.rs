//! `device.info` and `device.status` for Linux hosts.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value, json};

use super::parse::{self, ThermalReading};
use clawnode::CommandError;
use clawnode::commands::DeviceInfo;

use super::{stats, sysfs};

/// Host-side facts `device.info` cannot read from the system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceInfoContext {
    /// The clawnode version reported as `appVersion`.
    pub app_version: String,
    /// The node's configured display name (`displayName`), if any.
    pub display_name: Option<String>,
    /// The node's instance id (`instanceId`), if any.
    pub instance_id: Option<String>,
}

/// Inserts `value` under `key` when it is `Some`.
fn put<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(v) = value {
        map.insert(key.to_owned(), v.into());
    }
}

/// Runs blocking system reads on the blocking pool.
async fn blocking<F>(what: &str, f: F) -> Result<Value, CommandError>
where
    F: FnOnce() -> Value + Send + 'static,
{
    tokio::task::spawn_blocking(f).await.map_err(|e| CommandError::unavailable(format!("{what} worker failed: {e}")))
}

/// `device.info`: params ignored → the core's [`DeviceInfo`]: the iOS/Android fields where
/// they apply, plus the Linux ones:
///
/// `{ deviceName, modelIdentifier?, manufacturer?, systemName, systemVersion?, osPrettyName?,
///    osId?, kernelVersion?, arch, platform:"linux", deviceFamily:"Linux", appVersion,
///    displayName?, instanceId?, locale?, cpuCount, memoryTotalBytes? }`
///
/// Sources: hostname from `uname`; model from `/proc/device-tree/model` (boards) or
/// `/sys/class/dmi/id/product_name`; OS from `/etc/os-release` (`/usr/lib/os-release`);
/// locale from `LC_ALL`/`LANG` as a BCP 47 tag (`C`/`POSIX` omitted). Missing sources
/// are omitted; never fails except if the worker task dies (`UNAVAILABLE`).
///
/// Written as a plain `fn` returning a `'static` future (the context is cloned up front)
/// so the call can be spawned; use it like an `async fn`: `device_info(p, &ctx).await`.
pub fn device_info(
    _params: Value,
    ctx: &DeviceInfoContext,
) -> impl Future<Output = Result<Value, CommandError>> + Send + use<> {
    let ctx = ctx.clone();
    let locale = ["LC_ALL", "LANG"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .and_then(|v| parse::normalize_locale(&v));
    async move {
        let info = tokio::task::spawn_blocking(move || collect_device_info(&ctx, locale))
            .await
            .map_err(|e| CommandError::unavailable(format!("device.info worker failed: {e}")))?;
        serde_json::to_value(info).map_err(|e| CommandError::unavailable(format!("device.info: {e}")))
    }
}

/// Gathers `device.info` synchronously.
fn collect_device_info(ctx: &DeviceInfoContext, locale: Option<String>) -> DeviceInfo {
    let uname = rustix::system::uname();
    let hostname = uname.nodename().to_str().ok().map(str::to_owned);
    let kernel = uname.release().to_str().ok().map(str::to_owned);
    let os = sysfs::read_text("/etc/os-release")
        .or_else(|| sysfs::read_text("/usr/lib/os-release"))
        .map(|t| parse::parse_os_release(&t))
        .unwrap_or_default();
    let os_field = |key: &str| os.get(key).filter(|v| !v.is_empty()).cloned();
    let model = sysfs::read_trimmed("/proc/device-tree/model")
        .or_else(|| sysfs::read_trimmed("/sys/firmware/devicetree/base/model"))
        .or_else(|| sysfs::read_trimmed("/sys/class/dmi/id/product_name"));
    DeviceInfo {
        device_name: hostname
            .filter(|h| !h.is_empty())
            .or_else(|| sysfs::read_trimmed("/proc/sys/kernel/hostname"))
            .unwrap_or_else(|| "localhost".to_owned()),
        model_identifier: model,
        manufacturer: sysfs::read_trimmed("/sys/class/dmi/id/sys_vendor"),
        system_name: os_field("NAME").unwrap_or_else(|| "Linux".to_owned()),
        system_version: os_field("VERSION_ID").or_else(|| kernel.clone()),
        os_pretty_name: os_field("PRETTY_NAME"),
        os_id: os_field("ID"),
        kernel_version: kernel,
        arch: Some(std::env::consts::ARCH.to_owned()),
        platform: Some("linux".to_owned()),
        device_family: Some("Linux".to_owned()),
        app_version: ctx.app_version.clone(),
        app_build: None,
        display_name: ctx.display_name.clone(),
        instance_id: ctx.instance_id.clone(),
        locale,
        cpu_count: u32::try_from(stats::cpu_count()).ok(),
        memory_total_bytes: sysfs::read_text("/proc/meminfo").and_then(|t| parse::parse_meminfo(&t).total),
    }
}

/// `device.status`: params ignored → the iOS/Android `device.status` sections that apply
/// (`battery`, `thermal`, `storage`, `network`, `uptimeSeconds`) plus Linux sections
/// (`loadAverage`, `memory`, `disks`, `networkInterfaces`). See `docs/linux-commands.md`.
///
/// Every section whose source is missing or unreadable is omitted; never fails except
/// if the worker task dies (`UNAVAILABLE`).
pub async fn device_status(_params: Value) -> Result<Value, CommandError> {
    blocking("device.status", collect_device_status).await
}

/// Gathers `device.status` synchronously.
fn collect_device_status() -> Value {
    let mut out = Map::new();
    if let Some(battery) = battery_section(Path::new("/sys/class/power_supply")) {
        out.insert("battery".to_owned(), battery);
    }
    if let Some(thermal) = thermal_section(Path::new("/sys/class/thermal"), Path::new("/sys/class/hwmon")) {
        out.insert("thermal".to_owned(), thermal);
    }
    if let Some(root) = sysfs::fs_usage("/") {
        out.insert(
            "storage".to_owned(),
            json!({"totalBytes": root.total, "freeBytes": root.available, "usedBytes": root.used()}),
        );
    }
    let interfaces = network_interfaces(Path::new("/sys/class/net"));
    if let Some(network) = network_section(&interfaces) {
        out.insert("network".to_owned(), network);
    }
    put(&mut out, "uptimeSeconds", sysfs::read_text("/proc/uptime").and_then(|t| parse::parse_uptime(&t)));
    if let Some(loads) = sysfs::read_text("/proc/loadavg").and_then(|t| parse::parse_loadavg(&t)) {
        out.insert("loadAverage".to_owned(), json!(loads));
    }
    if let Some(memory) = sysfs::read_text("/proc/meminfo").and_then(|t| memory_section(&parse::parse_meminfo(&t))) {
        out.insert("memory".to_owned(), memory);
    }
    if let Some(mounts) = sysfs::read_text("/proc/self/mounts") {
        out.insert("disks".to_owned(), disks_section(&mounts));
    }
    if !interfaces.is_empty() {
        let list = interfaces.into_iter().map(|i| i.into_json()).collect();
        out.insert("networkInterfaces".to_owned(), Value::Array(list));
    }
    Value::Object(out)
}

/// The `memory` section from parsed `/proc/meminfo`; `None` without `MemTotal`.
fn memory_section(m: &parse::MemInfo) -> Option<Value> {
    let total = m.total?;
    let mut out = Map::new();
    out.insert("totalBytes".to_owned(), Value::from(total));
    let available = m.available.map(|a| a.min(total));
    put(&mut out, "availableBytes", available);
    put(&mut out, "freeBytes", m.free.map(|f| f.min(total)));
    put(&mut out, "usedBytes", available.or(m.free).map(|a| total.saturating_sub(a)));
    put(&mut out, "swapTotalBytes", m.swap_total);
    put(&mut out, "swapFreeBytes", m.swap_free.map(|f| f.min(m.swap_total.unwrap_or(f))));
    Some(Value::Object(out))
}

/// The `disks` section: one entry per real block device from a mounts table.
fn disks_section(mounts: &str) -> Value {
    let entries = parse::parse_mounts(mounts);
    let disks = parse::select_disk_mounts(&entries)
        .into_iter()
        .filter_map(|m| {
            let usage = sysfs::fs_usage(&m.mount_point)?;
            Some(json!({
                "device": m.device,
                "mountPoint": m.mount_point,
                "fsType": m.fs_type,
                "totalBytes": usage.total,
                "availableBytes": usage.available,
                "freeBytes": usage.free,
                "usedBytes": usage.used(),
            }))
        })
        .collect();
    Value::Array(disks)
}

/// The `battery` section from `/sys/class/power_supply`: the first battery (by name)
/// plus whether mains power is online.
fn battery_section(root: &Path) -> Option<Value> {
    let supplies = sysfs::list_dir(root);
    let mut ac_online: Option<bool> = None;
    let mut battery: Option<Map<String, Value>> = None;
    for (name, path) in supplies {
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
                let mut b = Map::new();
                let level = sysfs::read_u64(path.join("capacity")).map(|c| c.min(100) as f64 / 100.0).or_else(|| {
                    let now = sysfs::read_u64(path.join("energy_now"))
                        .or_else(|| sysfs::read_u64(path.join("charge_now")))?;
                    let full = sysfs::read_u64(path.join("energy_full"))
                        .or_else(|| sysfs::read_u64(path.join("charge_full")))?;
                    (full > 0).then(|| (now as f64 / full as f64).clamp(0.0, 1.0))
                });
                put(&mut b, "level", level);
                let state = sysfs::read_trimmed(path.join("status")).map_or("unknown", |s| parse::battery_state(&s));
                b.insert("state".to_owned(), Value::from(state));
                b.insert("name".to_owned(), Value::from(name));
                battery = Some(b);
            }
            _ => {}
        }
    }
    let mut b = battery?;
    put(&mut b, "acOnline", ac_online);
    Some(Value::Object(b))
}

/// One temperature sensor.
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
fn thermal_section(thermal_root: &Path, hwmon_root: &Path) -> Option<Value> {
    let mut sensors = thermal_zone_sensors(thermal_root);
    sensors.extend(hwmon_sensors(hwmon_root));
    if sensors.is_empty() {
        return None;
    }
    let readings: Vec<ThermalReading> = sensors.iter().map(|s| s.reading).collect();
    let mut out = Map::new();
    put(&mut out, "state", parse::classify_thermal(&readings));
    let list = sensors
        .into_iter()
        .map(|s| {
            json!({
                "source": s.source,
                "name": s.name,
                "temperatureC": (s.reading.temperature_c * 10.0).round() / 10.0,
            })
        })
        .collect();
    out.insert("sensors".to_owned(), Value::Array(list));
    Some(Value::Object(out))
}

/// One network interface from `/sys/class/net`.
#[derive(Debug, Clone, PartialEq)]
struct Interface {
    name: String,
    /// `wired`, `wifi`, `loopback` or `other`.
    kind: &'static str,
    operstate: Option<String>,
    carrier: Option<bool>,
    mac: Option<String>,
    mtu: Option<u64>,
    rx_bytes: Option<u64>,
    tx_bytes: Option<u64>,
    ipv4: Vec<String>,
    ipv6: Vec<String>,
}

impl Interface {
    /// Whether the link is usable (`up`, or `unknown` with carrier as on tun devices).
    fn is_up(&self) -> bool {
        match self.operstate.as_deref() {
            Some("up") => true,
            Some("unknown") => self.carrier == Some(true),
            _ => false,
        }
    }

    /// The `networkInterfaces[]` entry.
    fn into_json(self) -> Value {
        let mut m = Map::new();
        m.insert("name".to_owned(), Value::from(self.name));
        m.insert("kind".to_owned(), Value::from(self.kind));
        put(&mut m, "operstate", self.operstate);
        put(&mut m, "macAddress", self.mac);
        put(&mut m, "mtu", self.mtu);
        put(&mut m, "rxBytes", self.rx_bytes);
        put(&mut m, "txBytes", self.tx_bytes);
        m.insert("ipv4".to_owned(), json!(self.ipv4));
        m.insert("ipv6".to_owned(), json!(self.ipv6));
        Value::Object(m)
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
                kind,
                operstate: sysfs::read_trimmed(path.join("operstate")),
                carrier: sysfs::read_u64(path.join("carrier")).map(|c| c == 1),
                mac,
                mtu: sysfs::read_u64(path.join("mtu")),
                rx_bytes: sysfs::read_u64(path.join("statistics/rx_bytes")),
                tx_bytes: sysfs::read_u64(path.join("statistics/tx_bytes")),
                ipv4: v4.remove(&name).unwrap_or_default(),
                ipv6: v6.remove(&name).unwrap_or_default(),
                name,
            }
        })
        .collect()
}

/// The `network` section (device.status vocabulary): `status` is `satisfied` when a
/// non-loopback interface is up and a default route exists, else `unsatisfied`;
/// `interfaces` lists the kinds (`wired|wifi|other`) of the up, non-loopback interfaces.
fn network_section(interfaces: &[Interface]) -> Option<Value> {
    if interfaces.is_empty() {
        return None;
    }
    let up: Vec<&Interface> = interfaces.iter().filter(|i| i.kind != "loopback" && i.is_up()).collect();
    let default_route = sysfs::read_text("/proc/net/route")
        .is_some_and(|t| parse::has_default_route4(&parse::parse_route(&t)))
        || sysfs::read_text("/proc/net/ipv6_route").is_some_and(|t| parse::has_default_route6(&t));
    let status = if !up.is_empty() && default_route { "satisfied" } else { "unsatisfied" };
    let mut kinds: Vec<&str> = Vec::new();
    for kind in ["wifi", "wired", "other"] {
        if up.iter().any(|i| i.kind == kind) {
            kinds.push(kind);
        }
    }
    Some(json!({"status": status, "interfaces": kinds}))
}

#[cfg(test)]
mod tests {
    use super::*;

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
            battery_section(&root),
            Some(json!({"level": 0.75, "state": "charging", "name": "BAT0", "acOnline": true}))
        );
        write(&root.join("BAT0/capacity"), "garbage\n");
        write(&root.join("BAT0/status"), "\u{0}\u{1}\n");
        assert_eq!(
            battery_section(&root),
            Some(json!({"level": 0.75, "state": "unknown", "name": "BAT0", "acOnline": true}))
        );
        std::fs::remove_dir_all(&root).unwrap();
        assert_eq!(battery_section(&root), None);
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
            thermal_section(&thermal, &hwmon),
            Some(json!({"state": "fair", "sensors": [
                {"source": "thermal_zone0", "name": "x86_pkg_temp", "temperatureC": 48.5},
                {"source": "hwmon0/temp1", "name": "coretemp Core 0", "temperatureC": 51.0}
            ]}))
        );
        std::fs::remove_dir_all(&thermal).unwrap();
        std::fs::remove_dir_all(&hwmon).unwrap();
        assert_eq!(thermal_section(&thermal, &hwmon), None);
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
            memory_section(&m),
            Some(json!({"totalBytes": 100, "availableBytes": 60, "freeBytes": 100,
                        "usedBytes": 40, "swapTotalBytes": 10, "swapFreeBytes": 10}))
        );
        assert_eq!(memory_section(&parse::MemInfo::default()), None);
    }

    #[test]
    fn disks_from_fixture_mounts() {
        let v =
            disks_section("/dev/root / ext4 rw 0 0\nproc /proc proc rw 0 0\n/dev/nope /nonexistent/x ext4 rw 0 0\n");
        let disks = v.as_array().unwrap();
        assert_eq!(disks.len(), 1);
        assert_eq!(disks[0]["mountPoint"], "/");
        assert_eq!(disks_section("garbage"), json!([]));
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

    #[tokio::test]
    async fn real_device_info_shape() {
        let ctx = DeviceInfoContext {
            app_version: "0.1.0".to_owned(),
            display_name: Some("Build box".to_owned()),
            instance_id: None,
        };
        let v = device_info(Value::Null, &ctx).await.unwrap();
        assert!(!v["deviceName"].as_str().unwrap().is_empty());
        assert!(v["systemName"].is_string());
        assert_eq!(v["arch"], std::env::consts::ARCH);
        assert_eq!(v["appVersion"], "0.1.0");
        assert_eq!(v["displayName"], "Build box");
        assert!(v.get("instanceId").is_none());
        assert_eq!(v["platform"], "linux");
        assert_eq!(v["deviceFamily"], "Linux");
        assert!(v["cpuCount"].as_u64().unwrap() >= 1);
        assert!(v["kernelVersion"].is_string());
        assert!(v.get("appBuild").is_none(), "no mobile build number on Linux: {v}");
        for (_, value) in v.as_object().unwrap() {
            assert!(!value.is_null());
        }
    }
}
