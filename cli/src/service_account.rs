//! The dedicated system user of a system unit (`clawnode`) and its state directory.
//!
//! Created with `useradd --system` (no home directory created, no login shell): a real,
//! stable uid rather than `DynamicUser=yes`, so that an administrator can run
//! `sudo -u clawnode clawnode exec …` / `clawnode status` on the same state directory and name
//! the user in sudoers or file ACLs for `--exec-profile host` nodes.

use std::path::{Path, PathBuf};

/// Why the service account or its state directory could not be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccountError {
    /// A tool (`getent`, `useradd`) could not run or failed.
    #[error("{command}: {message}")]
    Command {
        /// The command line.
        command: String,
        /// What happened.
        message: String,
    },
    /// The passwd entry could not be read.
    #[error("cannot read the passwd entry of {user}: {line:?}")]
    Passwd {
        /// The user.
        user: String,
        /// What `getent` printed.
        line: String,
    },
    /// The state directory is a symlink or not a directory.
    #[error("state directory {0} is a symlink or not a directory; refusing to hand it to the service user")]
    UnsafeStateDir(PathBuf),
    /// Creating, chowning or chmodding the state directory failed.
    #[error("state directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// The `useradd` invocation that creates `user` with `home` as its (not created) home.
pub fn useradd_command(user: &str, home: &Path) -> Vec<String> {
    [
        "useradd",
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        &home.to_string_lossy(),
        "--shell",
        "/usr/sbin/nologin",
        "--comment",
        "ClawNode node host",
        user,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

/// `argv` as a line to paste into a shell (arguments with other than `[A-Za-z0-9/._:=@,+-]`
/// single-quoted).
pub fn shell_line(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "/._:=@,+-".contains(c)) {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `(uid, gid)` from a `getent passwd` line.
pub fn parse_passwd(user: &str, line: &str) -> Result<(u32, u32), AccountError> {
    let bad = || AccountError::Passwd { user: user.to_string(), line: line.to_string() };
    let f: Vec<&str> = line.trim().split(':').collect();
    if f.len() < 7 || f[0] != user {
        return Err(bad());
    }
    Ok((f[2].parse().map_err(|_| bad())?, f[3].parse().map_err(|_| bad())?))
}

fn run(argv: &[String]) -> Result<std::process::Output, AccountError> {
    std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .output()
        .map_err(|e| AccountError::Command { command: argv.join(" "), message: e.to_string() })
}

fn lookup(user: &str) -> Result<Option<(u32, u32)>, AccountError> {
    let out = run(&["getent".into(), "passwd".into(), user.into()])?;
    match out.status.code() {
        Some(0) => parse_passwd(user, &String::from_utf8_lossy(&out.stdout)).map(Some),
        Some(2) => Ok(None),
        _ => Err(AccountError::Command {
            command: format!("getent passwd {user}"),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        }),
    }
}

/// Creates `user` if missing, then makes `state_dir` exist as a 0700 directory owned by it.
/// Returns the user's `(uid, gid)`: any file the installer (root) puts into the state
/// directory for the service (e.g. a `--token-file`) must be chowned to it.
pub fn ensure(user: &str, state_dir: &Path) -> Result<(u32, u32), AccountError> {
    let (uid, gid) = match lookup(user)? {
        Some(ids) => ids,
        None => {
            let argv = useradd_command(user, state_dir);
            let out = run(&argv)?;
            if !out.status.success() {
                return Err(AccountError::Command {
                    command: shell_line(&argv),
                    message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
                });
            }
            println!("created system user {user}");
            lookup(user)?.ok_or_else(|| AccountError::Passwd { user: user.into(), line: String::new() })?
        }
    };
    let io = |source| AccountError::Io { path: state_dir.to_path_buf(), source };
    match std::fs::symlink_metadata(state_dir) {
        Ok(m) if !m.is_dir() => return Err(AccountError::UnsafeStateDir(state_dir.to_path_buf())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(state_dir).map_err(io)?;
        }
        Err(e) => return Err(io(e)),
    }
    std::os::unix::fs::lchown(state_dir, Some(uid), Some(gid)).map_err(io)?;
    std::fs::set_permissions(state_dir, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o700))
        .map_err(io)?;
    Ok((uid, gid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn useradd_line_and_passwd_parsing() {
        let c = useradd_command("clawnode", Path::new("/var/lib/clawnode"));
        assert_eq!(
            shell_line(&c),
            "useradd --system --user-group --no-create-home --home-dir /var/lib/clawnode --shell /usr/sbin/nologin \
             --comment 'ClawNode node host' clawnode"
        );
        assert_eq!(shell_line(&["a b".into(), "it's".into(), "".into()]), r"'a b' 'it'\''s' ''");
        assert_eq!(
            parse_passwd("clawnode", "clawnode:x:998:997:ClawNode:/var/lib/clawnode:/usr/sbin/nologin\n").unwrap(),
            (998, 997)
        );
        assert!(parse_passwd("clawnode", "other:x:1:1::/:/bin/sh").is_err());
        assert!(parse_passwd("clawnode", "clawnode:x:a:1::/:/bin/sh").is_err());
    }

    /// The state directory handed to an existing user (`nobody` stands in for `clawnode`:
    /// no account is created on the test machine): created 0700, owned by it; an existing
    /// wider one is tightened; a symlink is refused. Needs root for chown.
    #[test]
    fn state_dir_is_handed_to_the_service_user() {
        use std::os::unix::fs::MetadataExt as _;
        if !rustix::process::geteuid().is_root() {
            eprintln!("note: state_dir_is_handed_to_the_service_user skipped (needs root)");
            return;
        }
        let Ok(Some((uid, gid))) = lookup("nobody") else {
            eprintln!("note: no `nobody` user here; skipped");
            return;
        };
        let d = tempfile::tempdir().unwrap();
        let state = d.path().join("lib/clawnode");
        ensure("nobody", &state).unwrap();
        let m = std::fs::metadata(&state).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (uid, gid, 0o700));
        std::fs::set_permissions(&state, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755))
            .unwrap();
        ensure("nobody", &state).unwrap();
        assert_eq!(std::fs::metadata(&state).unwrap().mode() & 0o7777, 0o700);
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&state, &link).unwrap();
        assert!(matches!(ensure("nobody", &link), Err(AccountError::UnsafeStateDir(_))));
    }
}
