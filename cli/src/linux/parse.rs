//! Pure parsers for the Linux text sources read by the `linux` commands.
//!
//! Every function here works on `&str` (the file contents), never touches the
//! filesystem and never panics on odd input: malformed lines are skipped and
//! missing values come back as `None`.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Selected `/proc/meminfo` values, converted to bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemInfo {
    /// `MemTotal`.
    pub total: Option<u64>,
    /// `MemFree` (truly unused memory).
    pub free: Option<u64>,
    /// `MemAvailable` (memory available for new workloads without swapping).
    pub available: Option<u64>,
    /// `SwapTotal`.
    pub swap_total: Option<u64>,
    /// `SwapFree`.
    pub swap_free: Option<u64>,
}

/// Parses one `/proc/meminfo`-style value (`"  1234 kB"`) into bytes.
fn parse_meminfo_value(raw: &str) -> Option<u64> {
    let mut parts = raw.split_whitespace();
    let number: u64 = parts.next()?.parse().ok()?;
    match parts.next() {
        None => Some(number),
        Some(unit) if unit.eq_ignore_ascii_case("kb") => number.checked_mul(1024),
        Some(_) => None,
    }
}

/// Parses `/proc/meminfo`. Unknown keys and malformed lines are ignored.
pub fn parse_meminfo(text: &str) -> MemInfo {
    let mut info = MemInfo::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let slot = match key.trim() {
            "MemTotal" => &mut info.total,
            "MemFree" => &mut info.free,
            "MemAvailable" => &mut info.available,
            "SwapTotal" => &mut info.swap_total,
            "SwapFree" => &mut info.swap_free,
            _ => continue,
        };
        if slot.is_none() {
            *slot = parse_meminfo_value(value);
        }
    }
    info
}

/// Parses a non-negative, finite float.
fn parse_non_negative_f64(raw: &str) -> Option<f64> {
    let value: f64 = raw.trim().parse().ok()?;
    (value.is_finite() && value >= 0.0).then_some(value)
}

/// Parses the first three fields of `/proc/loadavg` (1, 5 and 15 minute load averages).
pub fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace();
    let one = parse_non_negative_f64(fields.next()?)?;
    let five = parse_non_negative_f64(fields.next()?)?;
    let fifteen = parse_non_negative_f64(fields.next()?)?;
    Some([one, five, fifteen])
}

/// Parses the first field of `/proc/uptime` (seconds since boot).
pub fn parse_uptime(text: &str) -> Option<f64> {
    parse_non_negative_f64(text.split_whitespace().next()?)
}

/// Counts `processor` entries in `/proc/cpuinfo`; `None` when there are none.
pub fn parse_cpuinfo_count(text: &str) -> Option<usize> {
    let count =
        text.lines().filter(|line| line.split_once(':').is_some_and(|(key, _)| key.trim() == "processor")).count();
    (count > 0).then_some(count)
}

/// Unquotes one os-release value (shell-like: `"…"` with backslash escapes, or `'…'`).
fn unquote_os_release_value(raw: &str) -> String {
    let raw = raw.trim();
    if raw.len() >= 2 && raw.starts_with('\'') && raw.ends_with('\'') {
        return raw[1..raw.len() - 1].to_owned();
    }
    let inner = if raw.len() >= 2 && raw.starts_with('"') && raw.ends_with('"') { &raw[1..raw.len() - 1] } else { raw };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Parses `/etc/os-release` (`KEY=value` lines, comments with `#`).
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue;
        }
        map.insert(key.to_owned(), unquote_os_release_value(value));
    }
    map
}

/// One line of `/proc/self/mounts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountEntry {
    /// The mount source (`/dev/vda1`, `tmpfs`, `pool/data`, …).
    pub device: String,
    /// The mount point, with octal escapes (`\040`) decoded.
    pub mount_point: String,
    /// The filesystem type (`ext4`, `tmpfs`, …).
    pub fs_type: String,
}

/// Decodes the `\NNN` octal escapes the kernel uses in `/proc/self/mounts`.
pub fn unescape_mount_field(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let value =
                    u32::from(digits[0] - b'0') * 64 + u32::from(digits[1] - b'0') * 8 + u32::from(digits[2] - b'0');
                if let Ok(byte) = u8::try_from(value) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `/proc/self/mounts` (fstab format); lines with fewer than 3 fields are skipped.
pub fn parse_mounts(text: &str) -> Vec<MountEntry> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let mount_point = fields.next()?;
            let fs_type = fields.next()?;
            Some(MountEntry {
                device: unescape_mount_field(device),
                mount_point: unescape_mount_field(mount_point),
                fs_type: unescape_mount_field(fs_type),
            })
        })
        .collect()
}

/// Filesystem types that never represent real storage (or only duplicate it).
const PSEUDO_FS_TYPES: &[&str] = &[
    "autofs",
    "binfmt_misc",
    "bpf",
    "cgroup",
    "cgroup2",
    "configfs",
    "debugfs",
    "devpts",
    "devtmpfs",
    "efivarfs",
    "fusectl",
    "hugetlbfs",
    "mqueue",
    "nsfs",
    "overlay",
    "proc",
    "pstore",
    "ramfs",
    "rpc_pipefs",
    "securityfs",
    "selinuxfs",
    "squashfs",
    "sysfs",
    "tmpfs",
    "tracefs",
];

/// Whether `fs_type` is a pseudo, memory-backed, overlay or read-only image filesystem.
pub fn is_pseudo_fs(fs_type: &str) -> bool {
    PSEUDO_FS_TYPES.contains(&fs_type)
}

/// Picks the mounts backed by real storage: source under `/dev/` (or a ZFS dataset),
/// not a pseudo filesystem, deduplicated by device (first mount wins, as `df` does).
pub fn select_disk_mounts(entries: &[MountEntry]) -> Vec<MountEntry> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for entry in entries {
        let real_source = entry.device.starts_with("/dev/") || entry.fs_type == "zfs";
        if !real_source || is_pseudo_fs(&entry.fs_type) || !entry.mount_point.starts_with('/') {
            continue;
        }
        if seen.contains(&entry.device.as_str()) {
            continue;
        }
        seen.push(&entry.device);
        out.push(entry.clone());
    }
    out
}

/// Parses a sysfs temperature in millidegrees Celsius (`"45000\n"` → `45.0`).
///
/// Values outside −100 °C..=300 °C are treated as sensor errors and dropped.
pub fn parse_millidegrees(text: &str) -> Option<f64> {
    let milli: i64 = text.trim().parse().ok()?;
    let celsius = milli as f64 / 1000.0;
    (-100.0..=300.0).contains(&celsius).then_some(celsius)
}

/// A temperature reading plus the trip points known for its sensor (all °C).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ThermalReading {
    /// Current temperature.
    pub temperature_c: f64,
    /// Passive (throttling) trip point, if any.
    pub passive_c: Option<f64>,
    /// Hot / max trip point, if any.
    pub hot_c: Option<f64>,
    /// Critical trip point, if any.
    pub critical_c: Option<f64>,
}

/// Maps readings onto the `device.status` thermal vocabulary
/// (`nominal|fair|serious|critical`). `None` when no reading has any trip point,
/// because a bare temperature says nothing about how close the device is to its limit.
pub fn classify_thermal(readings: &[ThermalReading]) -> Option<&'static str> {
    let mut rank: Option<u8> = None;
    for r in readings {
        if r.passive_c.is_none() && r.hot_c.is_none() && r.critical_c.is_none() {
            continue;
        }
        let t = r.temperature_c;
        let level = if r.critical_c.is_some_and(|c| t >= c) {
            3
        } else if r.hot_c.is_some_and(|c| t >= c) {
            2
        } else if r.passive_c.is_some_and(|c| t >= c) {
            1
        } else {
            0
        };
        rank = Some(rank.map_or(level, |prev| prev.max(level)));
    }
    rank.map(|level| match level {
        0 => "nominal",
        1 => "fair",
        2 => "serious",
        _ => "critical",
    })
}

/// Parses the trip points of a thermal zone from `(type, temp)` file pairs
/// (`trip_point_N_type`, `trip_point_N_temp`) into a reading.
pub fn thermal_zone_reading(temperature_c: f64, trips: &[(String, String)]) -> ThermalReading {
    let mut reading = ThermalReading { temperature_c, ..ThermalReading::default() };
    for (kind, temp) in trips {
        let Some(celsius) = parse_millidegrees(temp) else {
            continue;
        };
        if celsius <= 0.0 {
            continue;
        }
        let slot = match kind.trim() {
            "passive" => &mut reading.passive_c,
            "hot" => &mut reading.hot_c,
            "critical" => &mut reading.critical_c,
            _ => continue,
        };
        *slot = Some(slot.map_or(celsius, |prev: f64| prev.min(celsius)));
    }
    reading
}

/// Extracts the local IPv4 host addresses (`/32 host LOCAL`) from `/proc/net/fib_trie`.
pub fn parse_fib_trie_local(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut last_leaf: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("|--") {
            last_leaf = rest.trim().parse().ok();
            continue;
        }
        if trimmed.starts_with("+--") {
            last_leaf = None;
            continue;
        }
        let mut fields = trimmed.split_whitespace();
        if fields.next() == Some("/32")
            && fields.next() == Some("host")
            && fields.next() == Some("LOCAL")
            && let Some(addr) = last_leaf
            && !out.contains(&addr)
        {
            out.push(addr);
        }
    }
    out
}

/// One IPv4 route from `/proc/net/route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route4 {
    /// Interface name.
    pub iface: String,
    /// Destination network.
    pub destination: Ipv4Addr,
    /// Network mask.
    pub mask: Ipv4Addr,
}

/// Decodes an address as printed in `/proc/net/route` (a raw `__be32` printed as `%08X`).
fn parse_route_hex(raw: &str) -> Option<Ipv4Addr> {
    let value = u32::from_str_radix(raw, 16).ok()?;
    Some(Ipv4Addr::from(value.to_ne_bytes()))
}

/// Parses `/proc/net/route` (the header line and malformed lines are skipped).
pub fn parse_route(text: &str) -> Vec<Route4> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 8 || fields[0] == "Iface" {
                return None;
            }
            Some(Route4 {
                iface: fields[0].to_owned(),
                destination: parse_route_hex(fields[1])?,
                mask: parse_route_hex(fields[7])?,
            })
        })
        .collect()
}

/// Assigns a local IPv4 address to an interface: loopback range to `lo`, otherwise the
/// interface of the most specific non-default route containing it.
pub fn ipv4_interface(addr: Ipv4Addr, routes: &[Route4]) -> Option<String> {
    if addr.is_loopback() {
        return Some("lo".to_owned());
    }
    let a = u32::from(addr);
    routes
        .iter()
        .filter(|r| u32::from(r.mask) != 0)
        .filter(|r| a & u32::from(r.mask) == u32::from(r.destination) & u32::from(r.mask))
        .max_by_key(|r| u32::from(r.mask).count_ones())
        .map(|r| r.iface.clone())
}

/// Whether `/proc/net/route` has an IPv4 default route on a non-loopback interface.
pub fn has_default_route4(routes: &[Route4]) -> bool {
    routes.iter().any(|r| u32::from(r.mask) == 0 && u32::from(r.destination) == 0 && r.iface != "lo")
}

/// One address from `/proc/net/if_inet6`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inet6Entry {
    /// Interface name.
    pub iface: String,
    /// The address.
    pub address: Ipv6Addr,
    /// Prefix length.
    pub prefix_len: u8,
}

/// Parses 32 hex digits into an IPv6 address.
fn parse_ipv6_hex(raw: &str) -> Option<Ipv6Addr> {
    if raw.len() != 32 {
        return None;
    }
    u128::from_str_radix(raw, 16).ok().map(Ipv6Addr::from)
}

/// Parses `/proc/net/if_inet6` (`addr ifindex prefixlen scope flags name`).
pub fn parse_if_inet6(text: &str) -> Vec<Inet6Entry> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 6 {
                return None;
            }
            Some(Inet6Entry {
                iface: fields[5].to_owned(),
                address: parse_ipv6_hex(fields[0])?,
                prefix_len: u8::from_str_radix(fields[2], 16).ok()?,
            })
        })
        .collect()
}

/// Whether `/proc/net/ipv6_route` has a default route (`::/0`) on a non-loopback interface.
pub fn has_default_route6(text: &str) -> bool {
    text.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() >= 10
            && fields[0].len() == 32
            && fields[0].bytes().all(|b| b == b'0')
            && fields[1] == "00"
            && fields[9] != "lo"
    })
}

/// Converts a POSIX locale (`en_US.UTF-8`, `de_AT@euro`) to a BCP 47 tag (`en-US`).
/// `C`, `POSIX` and malformed values give `None`.
pub fn normalize_locale(raw: &str) -> Option<String> {
    let base = raw.trim();
    let base = base.split(['.', '@']).next().unwrap_or(base);
    if base.is_empty() || base == "C" || base == "POSIX" {
        return None;
    }
    let mut parts = base.split('_');
    let language = parts.next()?;
    if !(2..=3).contains(&language.len()) || !language.chars().all(|c| c.is_ascii_alphabetic()) {
        return None;
    }
    let mut tag = language.to_ascii_lowercase();
    if let Some(region) = parts.next() {
        if region.is_empty() || region.len() > 3 || !region.chars().all(|c| c.is_ascii_alphanumeric()) {
            return None;
        }
        tag.push('-');
        tag.push_str(&region.to_ascii_uppercase());
    }
    if parts.next().is_some() {
        return None;
    }
    Some(tag)
}

/// Maps a sysfs `power_supply/*/status` value onto the `device.status` battery vocabulary
/// (`unknown|unplugged|charging|full`).
pub fn battery_state(status: &str) -> &'static str {
    match status.trim() {
        "Charging" => "charging",
        "Discharging" | "Not charging" => "unplugged",
        "Full" => "full",
        _ => "unknown",
    }
}

/// Returns the trimmed content with trailing NUL bytes removed (device-tree strings),
/// or `None` when nothing printable is left.
pub fn clean_sysfs_string(raw: &str) -> Option<String> {
    let cleaned = raw.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!cleaned.is_empty()).then(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MEMINFO: &str = "MemTotal:       24684084 kB\nMemFree:        22442380 kB\n\
MemAvailable:   24231408 kB\nBuffers:          267896 kB\nSwapTotal:             0 kB\n\
SwapFree:              0 kB\nHugePages_Total:       0\n";

    #[test]
    fn meminfo_parses_fixture() {
        let m = parse_meminfo(MEMINFO);
        assert_eq!(m.total, Some(24_684_084 * 1024));
        assert_eq!(m.free, Some(22_442_380 * 1024));
        assert_eq!(m.available, Some(24_231_408 * 1024));
        assert_eq!(m.swap_total, Some(0));
        assert_eq!(m.swap_free, Some(0));
    }

    #[test]
    fn meminfo_tolerates_garbage() {
        let m = parse_meminfo("MemTotal: lots kB\nnonsense\n:::\nMemFree: 5 MB\nMemAvailable: 7\n");
        assert_eq!(m.total, None);
        assert_eq!(m.free, None);
        assert_eq!(m.available, Some(7));
        assert_eq!(parse_meminfo(""), MemInfo::default());
        let huge = parse_meminfo("MemTotal: 18446744073709551615 kB\n");
        assert_eq!(huge.total, None);
    }

    #[test]
    fn loadavg_and_uptime() {
        assert_eq!(parse_loadavg("0.47 0.32 0.13 1/90 3358\n"), Some([0.47, 0.32, 0.13]));
        assert_eq!(parse_loadavg("0.47 0.32"), None);
        assert_eq!(parse_loadavg("a b c"), None);
        assert_eq!(parse_loadavg("-1 0 0"), None);
        assert_eq!(parse_loadavg("NaN 0 0"), None);
        assert_eq!(parse_loadavg(""), None);
        assert_eq!(parse_uptime("190.38 297.88\n"), Some(190.38));
        assert_eq!(parse_uptime(""), None);
        assert_eq!(parse_uptime("inf 1"), None);
        assert_eq!(parse_uptime("x"), None);
    }

    #[test]
    fn cpuinfo_count() {
        let text = "processor\t: 0\nmodel name\t: X\n\nprocessor\t: 1\nmodel name\t: X\n";
        assert_eq!(parse_cpuinfo_count(text), Some(2));
        assert_eq!(parse_cpuinfo_count("garbage"), None);
    }

    #[test]
    fn os_release_parses_quotes_and_comments() {
        let text = "# comment\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME='Debian'\n\
VERSION_ID=12\nBAD LINE\nQUOTED=\"a \\\"b\\\" \\$c\"\n=novalue\nBROKEN=\"unterminated\n";
        let map = parse_os_release(text);
        assert_eq!(map.get("PRETTY_NAME").map(String::as_str), Some("Debian GNU/Linux 12 (bookworm)"));
        assert_eq!(map.get("NAME").map(String::as_str), Some("Debian"));
        assert_eq!(map.get("VERSION_ID").map(String::as_str), Some("12"));
        assert_eq!(map.get("QUOTED").map(String::as_str), Some("a \"b\" $c"));
        assert_eq!(map.get("BROKEN").map(String::as_str), Some("\"unterminated"));
        assert!(!map.contains_key(""));
        assert!(parse_os_release("\u{0}\u{1}==").is_empty());
    }

    const MOUNTS: &str = "proc /proc proc rw,relatime 0 0\n\
sysfs /sys sysfs rw 0 0\n\
/dev/vda / ext4 rw,relatime 0 0\n\
tmpfs /dev/shm tmpfs rw 0 0\n\
/dev/vda /var/lib/docker ext4 rw 0 0\n\
/dev/sdb1 /media/My\\040Disk vfat rw 0 0\n\
/dev/loop0 /snap/core/1 squashfs ro 0 0\n\
overlay /merged overlay rw 0 0\n\
tank/data /tank/data zfs rw 0 0\n\
cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n\
short line\n\n";

    #[test]
    fn mounts_parse_and_select() {
        let entries = parse_mounts(MOUNTS);
        assert_eq!(entries.len(), 10);
        assert_eq!(entries[5].mount_point, "/media/My Disk");
        let disks = select_disk_mounts(&entries);
        let points: Vec<&str> = disks.iter().map(|d| d.mount_point.as_str()).collect();
        assert_eq!(points, vec!["/", "/media/My Disk", "/tank/data"]);
    }

    #[test]
    fn mount_unescape_edge_cases() {
        assert_eq!(unescape_mount_field("a\\040b"), "a b");
        assert_eq!(unescape_mount_field("a\\134b"), "a\\b");
        assert_eq!(unescape_mount_field("trailing\\"), "trailing\\");
        assert_eq!(unescape_mount_field("short\\04"), "short\\04");
        assert_eq!(unescape_mount_field("bad\\999"), "bad\\999");
        assert_eq!(unescape_mount_field("big\\777"), "big\\777");
        assert_eq!(unescape_mount_field("\\"), "\\");
    }

    #[test]
    fn thermal_parsing_and_classification() {
        assert_eq!(parse_millidegrees("45000\n"), Some(45.0));
        assert_eq!(parse_millidegrees("-5500"), Some(-5.5));
        assert_eq!(parse_millidegrees("-274000"), None);
        assert_eq!(parse_millidegrees("999999999999"), None);
        assert_eq!(parse_millidegrees("hot"), None);
        assert_eq!(parse_millidegrees(""), None);

        let trips = vec![
            ("passive".to_owned(), "80000".to_owned()),
            ("critical".to_owned(), "105000".to_owned()),
            ("hot".to_owned(), "95000".to_owned()),
            ("active".to_owned(), "60000".to_owned()),
            ("critical".to_owned(), "garbage".to_owned()),
        ];
        let cool = thermal_zone_reading(50.0, &trips);
        assert_eq!(cool.passive_c, Some(80.0));
        assert_eq!(cool.hot_c, Some(95.0));
        assert_eq!(cool.critical_c, Some(105.0));
        assert_eq!(classify_thermal(&[cool]), Some("nominal"));
        let warm = thermal_zone_reading(85.0, &trips);
        assert_eq!(classify_thermal(&[cool, warm]), Some("fair"));
        let hot = thermal_zone_reading(96.0, &trips);
        assert_eq!(classify_thermal(&[hot, cool]), Some("serious"));
        let crit = thermal_zone_reading(110.0, &trips);
        assert_eq!(classify_thermal(&[cool, crit]), Some("critical"));
        let bare = thermal_zone_reading(90.0, &[]);
        assert_eq!(classify_thermal(&[bare]), None);
        assert_eq!(classify_thermal(&[]), None);
    }

    const FIB_TRIE: &str = "Main:\n  +-- 0.0.0.0/0 3 0 5\n     |-- 0.0.0.0\n        /0 universe UNICAST\n\
     +-- 127.0.0.0/8 2 0 2\n        +-- 127.0.0.0/31 1 0 0\n           |-- 127.0.0.0\n\
              /8 host LOCAL\n           |-- 127.0.0.1\n              /32 host LOCAL\n\
        |-- 127.255.255.255\n           /32 link BROADCAST\n     +-- 192.0.2.0/24 2 0 2\n\
        +-- 192.0.2.0/30 2 0 2\n           |-- 192.0.2.0\n              /24 link UNICAST\n\
           |-- 192.0.2.2\n              /32 host LOCAL\n        |-- 192.0.2.255\n\
           /32 link BROADCAST\nLocal:\n  +-- 0.0.0.0/0 3 0 5\n           |-- 192.0.2.2\n\
              /32 host LOCAL\n  |-- not.an.ip\n  /32 host LOCAL\n";

    const ROUTE: &str = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
bogus line\n";

    #[test]
    fn ipv4_addresses_and_routes() {
        let addrs = parse_fib_trie_local(FIB_TRIE);
        assert_eq!(addrs, vec![Ipv4Addr::new(127, 0, 0, 1), Ipv4Addr::new(192, 0, 2, 2)]);
        let routes = parse_route(ROUTE);
        assert_eq!(routes.len(), 2);
        if cfg!(target_endian = "little") {
            assert_eq!(routes[1].destination, Ipv4Addr::new(192, 0, 2, 0));
            assert_eq!(routes[1].mask, Ipv4Addr::new(255, 255, 255, 0));
            assert_eq!(ipv4_interface(Ipv4Addr::new(192, 0, 2, 2), &routes).as_deref(), Some("eth0"));
            assert_eq!(ipv4_interface(Ipv4Addr::new(10, 0, 0, 1), &routes), None);
        }
        assert_eq!(ipv4_interface(Ipv4Addr::new(127, 0, 0, 1), &routes).as_deref(), Some("lo"));
        assert!(has_default_route4(&routes));
        assert!(!has_default_route4(&routes[1..]));
        assert!(parse_fib_trie_local("garbage\n|--\n/32 host LOCAL").is_empty());
        assert!(parse_route("").is_empty());
    }

    #[test]
    fn ipv6_addresses_and_default_route() {
        let text = "fe8000000000000000fc00fffe000001 04 40 20 80     eth0\n\
00000000000000000000000000000001 01 80 10 80       lo\n\
zz 01 80 10 80 lo\n\
fd000000000000000000000000000002 04 40 00 82     eth0\n";
        let entries = parse_if_inet6(text);
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].address, "fe80::fc:ff:fe00:1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(entries[0].prefix_len, 64);
        assert_eq!(entries[1].iface, "lo");
        assert_eq!(entries[2].address, "fd00::2".parse::<Ipv6Addr>().unwrap());

        let route6 = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 \
fe800000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n";
        assert!(has_default_route6(route6));
        assert!(!has_default_route6(&route6.replace("eth0", "lo")));
        assert!(!has_default_route6("short"));
    }

    #[test]
    fn locale_normalization() {
        assert_eq!(normalize_locale("en_US.UTF-8").as_deref(), Some("en-US"));
        assert_eq!(normalize_locale("de_AT@euro").as_deref(), Some("de-AT"));
        assert_eq!(normalize_locale("fr").as_deref(), Some("fr"));
        assert_eq!(normalize_locale("C.UTF-8"), None);
        assert_eq!(normalize_locale("POSIX"), None);
        assert_eq!(normalize_locale(""), None);
        assert_eq!(normalize_locale("x_y_z"), None);
        assert_eq!(normalize_locale("en_"), None);
        assert_eq!(normalize_locale("\u{e9}\u{e9}"), None);
    }

    #[test]
    fn parsers_never_panic_on_odd_input() {
        let odd = [
            "",
            "\"",
            "'",
            "\\",
            "é",
            "\"é",
            "'é'",
            "K=\"",
            "K='",
            "K=\\",
            "\0\0\0",
            "|--",
            "/32 host LOCAL",
            "+--",
            "\\0",
            "\\07",
            "\\0777\\",
            "a\\é12",
            "1 2",
            "Iface",
            "eth0 zz zz 0 0 0 0 zz",
            "🦀 🦀 🦀 🦀 🦀 🦀 🦀 🦀 🦀 🦀",
            "99999999999999999999999999 1 1",
            ":",
            "MemTotal:",
            "MemTotal: 1 kB kB",
        ];
        for text in odd {
            let _ = parse_meminfo(text);
            let _ = parse_loadavg(text);
            let _ = parse_uptime(text);
            let _ = parse_cpuinfo_count(text);
            let _ = parse_os_release(text);
            let _ = parse_mounts(text);
            let _ = unescape_mount_field(text);
            let _ = parse_millidegrees(text);
            let _ = parse_fib_trie_local(text);
            let _ = parse_route(text);
            let _ = parse_if_inet6(text);
            let _ = has_default_route6(text);
            let _ = normalize_locale(text);
            let _ = battery_state(text);
            let _ = clean_sysfs_string(text);
        }
    }

    #[test]
    fn battery_and_strings() {
        assert_eq!(battery_state("Charging\n"), "charging");
        assert_eq!(battery_state("Discharging"), "unplugged");
        assert_eq!(battery_state("Not charging"), "unplugged");
        assert_eq!(battery_state("Full"), "full");
        assert_eq!(battery_state("???"), "unknown");
        assert_eq!(
            clean_sysfs_string("Raspberry Pi 4 Model B Rev 1.4\0").as_deref(),
            Some("Raspberry Pi 4 Model B Rev 1.4")
        );
        assert_eq!(clean_sysfs_string(" \0\n"), None);
    }
}
