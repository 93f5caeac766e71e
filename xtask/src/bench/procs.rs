//! Process-tree sampling from /proc: RSS, peak RSS, CPU time.

use std::collections::{HashMap, HashSet};

/// Clock ticks per second for /proc/<pid>/stat times (USER_HZ; 100 on Linux).
pub const TICKS_PER_SEC: f64 = 100.0;

fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces: split after the closing paren.
    let close = s.rfind(')')?;
    let rest = &s[close + 2..];
    Some(rest.split_whitespace().map(str::to_string).collect())
}

/// The pid and all its descendants.
pub fn tree(root: u32) -> Vec<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    if let Ok(rd) = std::fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
            if let Some(f) = stat_fields(pid)
                && let Some(ppid) = f.get(1).and_then(|p| p.parse::<u32>().ok())
            {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut out = vec![root];
    let mut seen: HashSet<u32> = HashSet::from([root]);
    let mut i = 0;
    while i < out.len() {
        if let Some(c) = children.get(&out[i]) {
            for &p in c {
                if seen.insert(p) {
                    out.push(p);
                }
            }
        }
        i += 1;
    }
    out
}

fn status_kib(pid: u32, key: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Sum of VmRSS over the tree, bytes.
pub fn tree_rss(root: u32) -> u64 {
    tree(root).iter().map(|p| status_kib(*p, "VmRSS:")).sum::<u64>() * 1024
}

/// Sum of VmHWM (peak RSS) over the tree, bytes.
pub fn tree_hwm(root: u32) -> u64 {
    tree(root).iter().map(|p| status_kib(*p, "VmHWM:")).sum::<u64>() * 1024
}

/// utime + stime of the tree (including reaped children's cutime/cstime), seconds.
pub fn tree_cpu_secs(root: u32) -> f64 {
    let ticks: u64 = tree(root)
        .iter()
        .filter_map(|p| stat_fields(*p))
        .map(|f| {
            // After the comm: index 11 = utime, 12 = stime, 13 = cutime, 14 = cstime (0-based from state).
            (11..=14).filter_map(|i| f.get(i).and_then(|v| v.parse::<u64>().ok())).sum::<u64>()
        })
        .sum();
    ticks as f64 / TICKS_PER_SEC
}
