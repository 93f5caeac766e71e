//! Default locations: the state directory, the config file, OpenClaw's config.

use std::path::{Path, PathBuf};

/// `$HOME`, when set and not empty.
pub fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

/// An XDG base directory: `$var`, else `$HOME/fallback`.
fn xdg(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => home().unwrap_or_else(|| PathBuf::from(".")).join(fallback),
    }
}

/// `$CLAWNODE_STATE_DIR`, else `$XDG_STATE_HOME/clawnode`.
pub fn default_state_dir() -> PathBuf {
    match std::env::var_os("CLAWNODE_STATE_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => xdg("XDG_STATE_HOME", ".local/state").join("clawnode"),
    }
}

/// `$XDG_CONFIG_HOME/clawnode/config.toml`.
pub fn default_config_path() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config").join("clawnode").join("config.toml")
}

/// The official host's state directory: `$OPENCLAW_STATE_DIR`, else `~/.openclaw`.
pub fn openclaw_state_dir() -> Option<PathBuf> {
    match std::env::var_os("OPENCLAW_STATE_DIR").filter(|v| !v.is_empty()) {
        Some(d) => Some(PathBuf::from(d)),
        None => home().map(|h| h.join(".openclaw")),
    }
}

/// OpenClaw's `openclaw.json` in [`openclaw_state_dir`].
pub fn openclaw_config_path() -> Option<PathBuf> {
    openclaw_state_dir().map(|d| d.join("openclaw.json"))
}

/// `p` made absolute (unchanged if that fails).
pub fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}
