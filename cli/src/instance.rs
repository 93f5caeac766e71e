//! The node's persistent instance id (`instance-id` in the state directory).

use std::path::{Path, PathBuf};

/// `instance-id` in the state directory `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join("instance-id")
}

/// The stored instance id, else a new UUID saved for next time (`None` if neither works).
pub fn load_or_create(dir: &Path) -> Option<String> {
    let path = path(dir);
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_string();
        if !s.is_empty() {
            return Some(s);
        }
    }
    let id = clawnode::clock::uuid_v4(&clawnode::clock::SystemRandom::new()).ok()?;
    std::fs::write(&path, &id).ok()?;
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert_eq!(load_or_create(dir.path()).as_deref(), Some(first.as_str()));
        std::fs::write(path(dir.path()), " imported \n").unwrap();
        assert_eq!(load_or_create(dir.path()).as_deref(), Some("imported"));
    }
}
