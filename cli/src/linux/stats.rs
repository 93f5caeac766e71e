//! The `node.host.stats` event payload.

use clawnode::events::HostStats;

use super::parse;
use super::sysfs;

/// Largest `cpuCount` the Gateway accepts.
const MAX_CPU_COUNT: usize = 4096;

/// Number of CPUs available to this process (`available_parallelism`, else
/// `/proc/cpuinfo`, else 1), clamped to `1..=4096`.
pub(crate) fn cpu_count() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .ok()
        .or_else(|| parse::parse_cpuinfo_count(&sysfs::read_text("/proc/cpuinfo")?))
        .unwrap_or(1)
        .clamp(1, MAX_CPU_COUNT)
}

/// The `node.host.stats` payload (protocol.md §4.4), as the core's [`HostStats`]:
///
/// - `cpuCount`: [`std::thread::available_parallelism`] (fallback `/proc/cpuinfo`), `1..=4096`;
/// - `loadAverage`: `/proc/loadavg`, omitted when unreadable;
/// - `memoryTotalBytes` / `memoryFreeBytes`: `MemTotal` / `MemAvailable` (falling back to
///   `MemFree`) from `/proc/meminfo`, `0` when unreadable;
/// - `diskTotalBytes` / `diskAvailableBytes`: `statvfs("/")`, both or neither.
///
/// Clamped into the Gateway's ranges by [`HostStats::sanitized`]. Synchronous and cheap (a
/// few procfs reads and one `statvfs`).
pub fn host_stats() -> HostStats {
    let loadavg = sysfs::read_text("/proc/loadavg").and_then(|t| parse::parse_loadavg(&t));
    let meminfo = sysfs::read_text("/proc/meminfo").map(|t| parse::parse_meminfo(&t)).unwrap_or_default();
    build_host_stats(cpu_count(), loadavg, meminfo, sysfs::fs_usage("/").map(|u| (u.total, u.available)))
}

/// Assembles the payload from already gathered values (pure, for testing).
fn build_host_stats(
    cpu_count: usize,
    loadavg: Option<[f64; 3]>,
    meminfo: parse::MemInfo,
    disk: Option<(u64, u64)>,
) -> HostStats {
    HostStats {
        cpu_count: u32::try_from(cpu_count).unwrap_or(u32::MAX),
        load_average: loadavg,
        memory_total_bytes: meminfo.total.unwrap_or(0),
        memory_free_bytes: meminfo.available.or(meminfo.free).unwrap_or(0),
        disk_total_bytes: disk.map(|(total, _)| total),
        disk_available_bytes: disk.map(|(_, available)| available),
    }
    .sanitized()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ALLOWED: &[&str] =
        &["cpuCount", "loadAverage", "memoryTotalBytes", "memoryFreeBytes", "diskTotalBytes", "diskAvailableBytes"];

    fn wire(s: HostStats) -> serde_json::Value {
        serde_json::to_value(s).unwrap()
    }

    #[test]
    fn builds_clamped_payload() {
        let mem = parse::MemInfo { total: Some(1000), free: Some(10), available: Some(2000), ..Default::default() };
        let v = wire(build_host_stats(9999, Some([1.5, 200_000.0, 0.0]), mem, Some((50, 70))));
        assert_eq!(
            v,
            json!({"cpuCount": 4096, "loadAverage": [1.5, 100000.0, 0.0],
                   "memoryTotalBytes": 1000, "memoryFreeBytes": 1000,
                   "diskTotalBytes": 50, "diskAvailableBytes": 50})
        );
        let v = wire(build_host_stats(0, None, parse::MemInfo::default(), None));
        assert_eq!(v, json!({"cpuCount": 1, "memoryTotalBytes": 0, "memoryFreeBytes": 0}));
        let mem = parse::MemInfo { total: Some(1000), free: Some(10), ..Default::default() };
        assert_eq!(wire(build_host_stats(2, None, mem, None))["memoryFreeBytes"], json!(10));
        let nan = wire(build_host_stats(2, Some([f64::NAN, -1.0, f64::INFINITY]), parse::MemInfo::default(), None));
        assert_eq!(nan["loadAverage"], json!([0.0, 0.0, 0.0]));
    }

    #[test]
    fn real_host_stats_shape() {
        let v = wire(host_stats());
        let obj = v.as_object().unwrap();
        for key in obj.keys() {
            assert!(ALLOWED.contains(&key.as_str()), "unexpected key {key}");
        }
        let cpu = obj["cpuCount"].as_u64().unwrap();
        assert!((1..=4096).contains(&cpu));
        let total = obj["memoryTotalBytes"].as_u64().unwrap();
        let free = obj["memoryFreeBytes"].as_u64().unwrap();
        assert!(total > 0 && free <= total);
        let loads = obj["loadAverage"].as_array().unwrap();
        assert_eq!(loads.len(), 3);
        assert!(loads.iter().all(|l| l.as_f64().is_some_and(|x| (0.0..=1e5).contains(&x))));
        assert_eq!(obj.contains_key("diskTotalBytes"), obj.contains_key("diskAvailableBytes"));
        let disk_total = obj["diskTotalBytes"].as_u64().unwrap();
        assert!(obj["diskAvailableBytes"].as_u64().unwrap() <= disk_total);
    }
}
