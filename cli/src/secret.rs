//! The one secret reader: a credential given inline (flag or config value) or in a file,
//! for `run`, `service install` and the config file alike.

use std::path::Path;

use clawnode::Secret;

use crate::config::ConfigError;

/// Reads a secret given inline (`inline`, trimmed) or in a file (`file`: trimmed content,
/// which must not be empty). Both given is a conflict (`what` names the secret); neither
/// is `None`.
pub fn read(inline: Option<&str>, file: Option<&Path>, what: &str) -> Result<Option<Secret>, ConfigError> {
    match (inline, file) {
        (Some(_), Some(_)) => Err(ConfigError::Conflict(format!("{what}: both a value and a file are given"))),
        (Some(t), None) => Ok(Some(Secret::new(t.trim()))),
        (None, Some(p)) => read_file(p).map(Some),
        (None, None) => Ok(None),
    }
}

/// Reads a secret from a file (trimmed; the file must not be empty).
fn read_file(path: &Path) -> Result<Secret, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: path.display().to_string(), source: e })?;
    let t = text.trim();
    if t.is_empty() {
        return Err(ConfigError::Parse { path: path.display().to_string(), message: "file is empty".into() });
    }
    Ok(Secret::new(t))
}

/// A secret given as a flag value is readable by every local user (`ps`, `/proc/<pid>/cmdline`)
/// for as long as the process runs: warn and name the file flag.
pub fn warn_flag(flag: &str, given: bool, file_flag: &str) {
    if given {
        eprintln!("{}", flag_warning(flag, file_flag));
    }
}

fn flag_warning(flag: &str, file_flag: &str) -> String {
    format!(
        "clawnode: warning: {flag} puts the secret on the command line, where other local users can read it \
         (ps, /proc/<pid>/cmdline); use {file_flag} <file> (mode 0600) instead"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_file_conflict_and_empty() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("tok");
        std::fs::write(&f, " s3cret \n").unwrap();
        assert_eq!(read(Some(" a "), None, "token").unwrap().unwrap().expose(), "a");
        assert_eq!(read(None, Some(&f), "token").unwrap().unwrap().expose(), "s3cret");
        assert!(read(None, None, "token").unwrap().is_none());
        assert!(matches!(read(Some("a"), Some(&f), "token"), Err(ConfigError::Conflict(_))));
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        assert!(read(None, Some(&dir.path().join("empty")), "token").is_err());
        assert!(read(None, Some(&dir.path().join("missing")), "token").is_err());
    }

    #[test]
    fn flag_warning_names_the_file_flag() {
        let w = flag_warning("--token", "--token-file");
        assert!(w.contains("--token-file") && w.contains("/proc/<pid>/cmdline"), "{w}");
    }
}
