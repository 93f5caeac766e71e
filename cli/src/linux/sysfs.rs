//! Small, failure-tolerant readers for `/proc`, `/sys` and `/etc` files.

use std::io::Read;
use std::path::{Path, PathBuf};

/// Upper bound for a single file read (procfs files such as `fib_trie` can grow, but
/// nothing we read legitimately exceeds this).
const MAX_READ_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a whole text file (lossy UTF-8, bounded); `None` on any error.
pub(crate) fn read_text(path: impl AsRef<Path>) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut buf = Vec::new();
    file.take(MAX_READ_BYTES).read_to_end(&mut buf).ok()?;
    Some(String::from_utf8_lossy(&buf).into_owned())
}

/// Reads a file and trims whitespace and NUL padding; `None` when missing or empty.
pub(crate) fn read_trimmed(path: impl AsRef<Path>) -> Option<String> {
    super::parse::clean_sysfs_string(&read_text(path)?)
}

/// Reads a file holding one unsigned integer.
pub(crate) fn read_u64(path: impl AsRef<Path>) -> Option<u64> {
    read_trimmed(path)?.parse().ok()
}

/// Lists a directory as `(file name, path)` pairs sorted by name; empty on error.
/// Entries whose names are not UTF-8 are skipped.
pub(crate) fn list_dir(path: impl AsRef<Path>) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(path) else {
        return Vec::new();
    };
    let mut out: Vec<(String, PathBuf)> =
        entries.filter_map(Result::ok).filter_map(|e| Some((e.file_name().into_string().ok()?, e.path()))).collect();
    out.sort_by_key(|a| natural_key(&a.0));
    out
}

/// Sort key that orders `hwmon10` after `hwmon9`.
fn natural_key(name: &str) -> (String, u64, String) {
    let split = name.find(|c: char| c.is_ascii_digit()).unwrap_or(name.len());
    let (prefix, rest) = name.split_at(split);
    let digits_end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    let number = rest[..digits_end].parse().unwrap_or(0);
    (prefix.to_owned(), number, rest[digits_end..].to_owned())
}

/// Block sizes of a filesystem from `statvfs`, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FsUsage {
    /// Total size.
    pub total: u64,
    /// Space available to unprivileged users (`f_bavail`).
    pub available: u64,
    /// Free space including the root reserve (`f_bfree`).
    pub free: u64,
}

impl FsUsage {
    /// Used space as `df` computes it (`total - free`).
    pub(crate) fn used(&self) -> u64 {
        self.total.saturating_sub(self.free)
    }
}

/// `statvfs(path)`; `None` on error or for a zero-sized filesystem.
pub(crate) fn fs_usage(path: impl AsRef<Path>) -> Option<FsUsage> {
    let st = rustix::fs::statvfs(path.as_ref()).ok()?;
    let unit = if st.f_frsize > 0 { st.f_frsize } else { st.f_bsize };
    let total = st.f_blocks.saturating_mul(unit);
    if total == 0 {
        return None;
    }
    let free = st.f_bfree.saturating_mul(unit).min(total);
    let available = st.f_bavail.saturating_mul(unit).min(free);
    Some(FsUsage { total, available, free })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_sort() {
        let mut names = vec!["hwmon10", "hwmon9", "hwmon1", "eth0", "a"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(names, vec!["a", "eth0", "hwmon1", "hwmon9", "hwmon10"]);
    }

    #[test]
    fn readers_tolerate_missing_files() {
        assert_eq!(read_text("/nonexistent/clawnode/x"), None);
        assert_eq!(read_u64("/nonexistent/clawnode/x"), None);
        assert!(list_dir("/nonexistent/clawnode").is_empty());
        assert_eq!(fs_usage("/nonexistent/clawnode"), None);
        let root = fs_usage("/");
        assert!(root.is_some_and(|u| u.total > 0 && u.available <= u.free));
    }
}
