//! `system.which`: resolve command names against `$PATH`.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use clawnode::CommandError;

/// Most names accepted in one request.
const MAX_BINS: usize = 64;
/// Longest accepted name, in bytes (`NAME_MAX`).
const MAX_NAME_BYTES: usize = 255;
/// PATH used when the process has none (same default as the official node host).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `system.which`: params `{ "bins": ["git", "rg"] }` → `{ "bins": { "git": "/usr/bin/git" } }`.
///
/// Only names that were found appear in the result (keys are the names as given,
/// trimmed). A name is found in the first absolute `$PATH` directory holding a regular
/// file (after following symlinks) with any execute bit set; the returned path is
/// that directory joined with the name (not canonicalized). Unknown param keys are
/// ignored.
///
/// Errors (`INVALID_REQUEST`): params not an object, `bins` missing / not an array /
/// empty / longer than 64, or an entry that is not a string, is empty, contains `/`
/// or NUL, or is longer than 255 bytes.
pub async fn system_which(params: Value) -> Result<Value, CommandError> {
    let bins = validate_bins(&params)?;
    let path_var = std::env::var_os("PATH");
    // A handful of stat calls: cheap enough to run inline (a blocking-pool hop would cost
    // more than the lookup itself).
    Ok(which_in(&bins, path_var))
}

/// Validates the params and returns the trimmed names.
fn validate_bins(params: &Value) -> Result<Vec<String>, CommandError> {
    let bins = params
        .as_object()
        .and_then(|o| o.get("bins"))
        .and_then(Value::as_array)
        .ok_or_else(|| CommandError::invalid_request("bins required"))?;
    if bins.is_empty() {
        return Err(CommandError::invalid_request("bins must not be empty"));
    }
    if bins.len() > MAX_BINS {
        return Err(CommandError::invalid_request(format!("too many bins ({}; at most {MAX_BINS})", bins.len())));
    }
    bins.iter()
        .enumerate()
        .map(|(i, entry)| {
            let raw =
                entry.as_str().ok_or_else(|| CommandError::invalid_request(format!("bins[{i}] must be a string")))?;
            let name = raw.trim();
            if name.is_empty() {
                return Err(CommandError::invalid_request(format!("bins[{i}] is empty")));
            }
            if name.contains('/') || name.contains('\0') {
                return Err(CommandError::invalid_request(format!(
                    "bins[{i}] must be a plain command name (no '/' or NUL)"
                )));
            }
            if name.len() > MAX_NAME_BYTES {
                return Err(CommandError::invalid_request(format!("bins[{i}] is longer than {MAX_NAME_BYTES} bytes")));
            }
            Ok(name.to_owned())
        })
        .collect()
}

/// Resolves every name against `path_var` (or the default PATH when unset or empty).
fn which_in(bins: &[String], path_var: Option<OsString>) -> Value {
    let path_var = path_var.filter(|p| !p.is_empty()).unwrap_or_else(|| OsString::from(DEFAULT_PATH));
    let dirs: Vec<PathBuf> = std::env::split_paths(&path_var).filter(|d| d.is_absolute()).collect();
    let mut found = Map::new();
    for name in bins {
        if found.contains_key(name) {
            continue;
        }
        if let Some(path) = dirs.iter().find_map(|dir| executable_in(dir, name)) {
            found.insert(name.clone(), Value::String(path));
        }
    }
    let mut out = Map::new();
    out.insert("bins".to_owned(), Value::Object(found));
    Value::Object(out)
}

/// `dir/name` when it is an executable regular file (symlinks followed) with a UTF-8 path.
fn executable_in(dir: &Path, name: &str) -> Option<String> {
    let candidate = dir.join(name);
    let meta = std::fs::metadata(&candidate).ok()?;
    if !meta.is_file() || meta.permissions().mode() & 0o111 == 0 {
        return None;
    }
    candidate.into_os_string().into_string().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn validation() {
        let bad = [
            Value::Null,
            json!([]),
            json!({}),
            json!({"bins": "sh"}),
            json!({"bins": []}),
            json!({"bins": [""]}),
            json!({"bins": ["   "]}),
            json!({"bins": ["/bin/sh"]}),
            json!({"bins": ["a/b"]}),
            json!({"bins": ["a\u{0}b"]}),
            json!({"bins": [1]}),
            json!({"bins": ["x".repeat(256)]}),
            json!({"bins": vec!["sh"; 65]}),
        ];
        for params in bad {
            let err = validate_bins(&params).err();
            assert_eq!(err.map(|e| e.code().to_owned()), Some("INVALID_REQUEST".to_owned()), "{params}");
        }
        assert_eq!(validate_bins(&json!({"bins": [" sh "], "extra": 1})).ok(), Some(vec!["sh".to_owned()]));
        assert!(validate_bins(&json!({"bins": vec!["sh"; 64]})).is_ok());
    }

    #[test]
    fn custom_path_resolution() {
        let dir = std::env::temp_dir().join(format!("clawnode-which-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let exe = dir.join("tool");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let plain = dir.join("plain");
        std::fs::write(&plain, "x").unwrap();
        std::fs::set_permissions(&plain, std::fs::Permissions::from_mode(0o644)).unwrap();
        std::os::unix::fs::symlink(&exe, dir.join("link")).unwrap();
        std::os::unix::fs::symlink(dir.join("missing"), dir.join("dangling")).unwrap();

        let path = OsString::from(format!("relative:{}:/nonexistent", dir.display()));
        let names: Vec<String> =
            ["tool", "plain", "link", "dangling", "sub", "nope"].iter().map(|s| (*s).to_owned()).collect();
        let result = which_in(&names, Some(path));
        let d = dir.display();
        assert_eq!(result, json!({"bins": {"tool": format!("{d}/tool"), "link": format!("{d}/link")}}));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn finds_sh_on_this_machine() {
        let result = system_which(json!({"bins": ["sh", "definitely-not-a-command-xyz"]})).await.unwrap();
        let bins = result["bins"].as_object().unwrap();
        assert_eq!(bins.len(), 1);
        let sh = bins["sh"].as_str().unwrap();
        assert!(sh == "/bin/sh" || sh == "/usr/bin/sh", "{sh}");
        assert_eq!(result.as_object().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn invalid_params_error() {
        let err = system_which(Value::Null).await.unwrap_err();
        assert_eq!(err.code(), "INVALID_REQUEST");
        assert_eq!(err.message(), "bins required");
    }
}
