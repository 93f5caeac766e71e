//! Where the workspace and its build output are: the one place that knows.
//!
//! The target directory is **asked from cargo** (`cargo metadata --format-version 1
//! --no-deps`, field `target_directory`), never assumed to be `<workspace>/target`: it
//! honours `CARGO_TARGET_DIR`, `build.target-dir` in any `.cargo/config.toml` and
//! `--config` overrides, as CI caches and many users set them. The answer is asked once per
//! process and cached. `xtask` and the testkit (the `clawnode` binary lookup, the provision
//! cache default) use [`target_dir`]; scripts started by `xtask` get it as
//! `$CLAWNODE_TARGET_DIR` (see [`TARGET_DIR_ENV`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::error::TestkitError;

/// The environment variable `xtask` sets for the scripts it runs (`bindings/python/ci.sh`,
/// `android/jvm/ci.sh`, `ios/ci-parse.sh`) to the resolved target directory.
pub const TARGET_DIR_ENV: &str = "CLAWNODE_TARGET_DIR";

/// The workspace root (the parent of the testkit's manifest dir).
pub fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(Path::to_path_buf).unwrap_or_else(|| manifest.to_path_buf())
}

/// The workspace's target directory as cargo resolves it (absolute), e.g.
/// `<workspace>/target`, or `$CARGO_TARGET_DIR` when set.
///
/// Runs `$CARGO metadata` (or `cargo metadata`) in the workspace root on the first call of
/// the process, then answers from a cache. Fails when cargo cannot be run or answers
/// without a `target_directory`.
pub fn target_dir() -> Result<PathBuf, TestkitError> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(ask_cargo).clone().map_err(TestkitError::TargetDir)
}

fn ask_cargo() -> Result<PathBuf, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(&cargo)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("cannot run {} metadata: {e}", cargo.to_string_lossy()))?;
    if !out.status.success() {
        return Err(format!("cargo metadata failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr).trim()));
    }
    target_dir_of(&out.stdout)
}

/// Extracts `target_directory` from `cargo metadata` JSON output.
fn target_dir_of(metadata: &[u8]) -> Result<PathBuf, String> {
    let v: serde_json::Value =
        serde_json::from_slice(metadata).map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
    match v.get("target_directory").and_then(serde_json::Value::as_str) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => Err("cargo metadata has no target_directory".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_target_directory() {
        let json = br#"{"packages":[],"target_directory":"/tmp/alt-target","workspace_root":"/w"}"#;
        assert_eq!(target_dir_of(json), Ok(PathBuf::from("/tmp/alt-target")));
        assert!(target_dir_of(br#"{"packages":[]}"#).is_err());
        assert!(target_dir_of(br#"{"target_directory":""}"#).is_err());
        assert!(target_dir_of(b"warning: not json").is_err());
    }

    /// The answer is cargo's: `$CARGO_TARGET_DIR` when the test runs with it set, else the
    /// default `<workspace>/target`.
    #[test]
    fn asks_cargo() {
        let dir = target_dir().expect("cargo metadata answers");
        assert!(dir.is_absolute(), "{}", dir.display());
        match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
            Some(t) if t.is_absolute() => assert_eq!(dir, t),
            Some(_) => {}
            None => assert_eq!(dir, workspace_root().join("target")),
        }
    }
}
