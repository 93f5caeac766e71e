//! Private files and the private state directory: the one place secrets reach the disk.
//!
//! - [`write_private_atomic`]: a temp file with a random name in the target's directory,
//!   opened `O_CREAT|O_EXCL|O_NOFOLLOW` with mode 0600, written, fsynced, renamed over the
//!   target, then the directory fsynced. A symlink planted at any temp name is never
//!   followed (the open fails and another name is drawn); a symlink at the target itself is
//!   replaced by `rename`, not followed.
//! - [`ensure_private_dir`]: the state directory is created 0700, or tightened to 0700 when it
//!   exists with wider bits, and refused when it is a symlink, owned by another user, or holds
//!   an entry owned by another user (planted while it was open to others).
//! - [`refuse_unsafe_ancestors`]: refused when another user can change a directory above it
//!   (and so swap it after the check); [`super::FileStore::open`] applies it.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use crate::clock::{RandomSource as _, SystemRandom};

/// Why a state directory is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PrivateDirError {
    /// Creating, opening or tightening it failed.
    #[error("state directory {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// It belongs to another user: whoever owns it can read or replace the secrets.
    #[error(
        "state directory {path} is owned by uid {owner}, not by this process (euid {euid}); refusing to keep secrets \
         there: run as its owner (e.g. `sudo -u clawnode …` for the service's state), use a directory you own \
         (--state-dir), or fix its owner"
    )]
    ForeignOwner {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        euid: u32,
    },
    /// An entry in it belongs to another user: it was planted while the directory was open to
    /// others (a policy, a pin or a key they chose), so nothing in it can be trusted.
    #[error(
        "state directory {path} holds {entry}, owned by uid {owner}, not by this process (euid {euid}); another \
         user could write there before it was made private, so its contents cannot be trusted: inspect and remove \
         what you did not create, or use a fresh directory (--state-dir)"
    )]
    ForeignEntry {
        /// The directory.
        path: PathBuf,
        /// The entry's name.
        entry: String,
        /// Its owner.
        owner: u32,
        /// This process's effective uid.
        euid: u32,
    },
    /// A directory on its path (or a symlink the path goes through) can be changed by
    /// another user, who could then swap the state directory for one of theirs after it was
    /// checked.
    #[error(
        "state directory {path} lies under {ancestor}, which {reason}; another user could swap the state directory \
         after it is checked: use a directory whose parents only you or root can change (--state-dir)"
    )]
    UnsafeAncestor {
        /// The state directory.
        path: PathBuf,
        /// The ancestor (or symlink) at fault.
        ancestor: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// It is a symlink (whoever can change the link chooses where the secrets go).
    #[error("state directory {path} is a symlink; refusing it: pass the real directory (--state-dir)")]
    Symlink {
        /// The directory.
        path: PathBuf,
    },
    /// Something other than a directory is in its place.
    #[error("state directory {path} exists and is not a directory")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
}

/// Creates `dir` (and missing parents) with mode 0700, or checks an existing one: refused if
/// it is a symlink, not a directory or owned by another user than the effective uid;
/// tightened to 0700 if group or others have any bit; then refused if any entry in it (not
/// following symlinks) belongs to another user. (Its parents: [`refuse_unsafe_ancestors`].) The checks run on a descriptor opened
/// `O_DIRECTORY|O_NOFOLLOW`, so the directory checked is the one tightened and scanned.
pub fn ensure_private_dir(dir: &Path) -> Result<(), PrivateDirError> {
    let io = |source| PrivateDirError::Io { path: dir.to_path_buf(), source };
    match std::fs::symlink_metadata(dir) {
        Ok(m) if m.file_type().is_symlink() => return Err(PrivateDirError::Symlink { path: dir.to_path_buf() }),
        Ok(m) if !m.is_dir() => return Err(PrivateDirError::NotADirectory { path: dir.to_path_buf() }),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut b = std::fs::DirBuilder::new();
            b.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
            b.create(dir).map_err(io)?;
        }
        Err(e) => return Err(io(e)),
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).custom_flags((rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NOFOLLOW).bits() as i32);
        let f = opts.open(dir).map_err(|e| match e.raw_os_error() {
            Some(code) if code == rustix::io::Errno::LOOP.raw_os_error() => {
                PrivateDirError::Symlink { path: dir.to_path_buf() }
            }
            Some(code) if code == rustix::io::Errno::NOTDIR.raw_os_error() => {
                PrivateDirError::NotADirectory { path: dir.to_path_buf() }
            }
            _ => io(e),
        })?;
        let m = f.metadata().map_err(io)?;
        let euid = rustix::process::geteuid().as_raw();
        if m.uid() != euid {
            return Err(PrivateDirError::ForeignOwner { path: dir.to_path_buf(), owner: m.uid(), euid });
        }
        if m.mode() & 0o077 != 0 {
            f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o700)).map_err(io)?;
        }
        // Now that no one else can add entries: anything another user put here while it was
        // open (a policy, a pin, a key, a symlink to their file) is refused, never trusted.
        refuse_foreign_entries(&f, dir, euid)?;
    }
    Ok(())
}

/// Fails with [`PrivateDirError::UnsafeAncestor`] when another user could swap the existing
/// directory `dir` after it is checked: a directory above it (on the path as given and on
/// its canonical path) that is owned by another uid than the effective uid or root, or is
/// writable by group or others without the sticky bit; or a symlink on the path as given
/// that another uid owns. For programs that pick a state directory on a multi-user system
/// (the CLI, through [`super::FileStore::open`]); not for mobile app sandboxes, whose
/// parents belong to the platform (Android's `/data/user/0` is `system`'s, mode 0771).
#[cfg(unix)]
pub fn refuse_unsafe_ancestors(dir: &Path) -> Result<(), PrivateDirError> {
    use std::os::unix::fs::MetadataExt as _;
    let euid = rustix::process::geteuid().as_raw();
    let io = |source| PrivateDirError::Io { path: dir.to_path_buf(), source };
    let given = std::path::absolute(dir).map_err(io)?;
    let canonical = std::fs::canonicalize(dir).map_err(io)?;
    for path in [&given, &canonical] {
        for ancestor in path.ancestors().skip(1) {
            let m = std::fs::symlink_metadata(ancestor).map_err(io)?;
            let reason = if m.uid() != euid && m.uid() != 0 {
                Some(format!("belongs to uid {}", m.uid()))
            } else if !m.file_type().is_symlink() && m.mode() & 0o022 != 0 && m.mode() & 0o1000 == 0 {
                Some(format!("others may write to (mode {:04o}, not sticky)", m.mode() & 0o7777))
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(PrivateDirError::UnsafeAncestor {
                    path: dir.to_path_buf(),
                    ancestor: ancestor.to_path_buf(),
                    reason,
                });
            }
        }
    }
    Ok(())
}

/// Fails with [`PrivateDirError::ForeignEntry`] when an entry of the open directory `fd`
/// (checked without following symlinks) is owned by another uid than `euid`.
#[cfg(unix)]
fn refuse_foreign_entries(fd: &std::fs::File, dir: &Path, euid: u32) -> Result<(), PrivateDirError> {
    let io = |e: rustix::io::Errno| PrivateDirError::Io { path: dir.to_path_buf(), source: e.into() };
    for entry in rustix::fs::Dir::read_from(fd).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name();
        if matches!(name.to_bytes(), b"." | b"..") {
            continue;
        }
        let st = match rustix::fs::statat(fd, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(io(e)),
        };
        if st.st_uid != euid {
            return Err(PrivateDirError::ForeignEntry {
                path: dir.to_path_buf(),
                entry: name.to_string_lossy().into_owned(),
                owner: st.st_uid,
                euid,
            });
        }
    }
    Ok(())
}

fn random_suffix() -> std::io::Result<String> {
    let mut b = [0u8; 12];
    SystemRandom::new().fill(&mut b).map_err(|_| std::io::Error::other("no randomness for a temp file name"))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

/// Writes a private file (0600) atomically: a random-named temp file in the same directory
/// (`O_CREAT|O_EXCL|O_NOFOLLOW`, 0600), fsync, rename over `path`, fsync the directory.
/// A missing parent directory is created 0700 (an existing one is left as it is: callers
/// check the state directory once with [`ensure_private_dir`]).
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut attempt = 0;
    let (tmp, mut f) = loop {
        let tmp = dir.join(format!(".{name}.tmp-{}", random_suffix()?));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt as _;
            opts.mode(0o600).custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        }
        match opts.open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
            Err(e) => return Err(e),
        }
    };
    let r = (|| {
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(dir)?.sync_all()
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    /// Attack (issue #12): temp files for secrets had predictable names (`.x.tmp-<pid>`) and
    /// no `O_EXCL|O_NOFOLLOW`; a symlink planted there sent the secret to the link's target.
    #[test]
    fn attack_predictable_temp_name_symlink_is_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("device-tokens.json");
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"untouched").unwrap();
        // The old predictable names, all pointing at the victim.
        for old in [
            format!(".device-tokens.json.tmp-{}", std::process::id()),
            format!("device-tokens.tmp-{}", std::process::id()),
        ] {
            std::os::unix::fs::symlink(&victim, d.path().join(old)).unwrap();
        }
        write_private_atomic(&target, b"secret").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
        assert_eq!(std::fs::read(&target).unwrap(), b"secret");
        assert_eq!(mode(&target), 0o600);
        // Two writes use two different temp names (random), and none is left behind.
        write_private_atomic(&target, b"secret2").unwrap();
        let left: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-") && !n.contains(&std::process::id().to_string()))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        let (a, b) = (random_suffix().unwrap(), random_suffix().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 24);
    }

    /// A symlink at the final path is replaced by the rename, never written through.
    #[test]
    fn symlink_at_the_target_is_replaced_not_followed() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, b"untouched").unwrap();
        let target = d.path().join("endpoint.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_private_atomic(&target, b"x").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"untouched");
        assert!(!std::fs::symlink_metadata(&target).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"x");
    }

    /// Attack (issue #12): an existing state dir with wider bits was kept as it was.
    #[test]
    fn attack_state_dir_too_open_is_tightened_to_0700() {
        let d = tempfile::tempdir().unwrap();
        let fresh = d.path().join("a/b/state");
        ensure_private_dir(&fresh).unwrap();
        assert_eq!(mode(&fresh), 0o700);
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        ensure_private_dir(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
        let file = d.path().join("file");
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(ensure_private_dir(&file), Err(PrivateDirError::NotADirectory { .. })));
    }

    /// A symlinked state dir is refused (and its target left alone).
    #[test]
    fn attack_state_dir_symlink_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = d.path().join("state");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = ensure_private_dir(&link).unwrap_err();
        assert!(matches!(err, PrivateDirError::Symlink { .. }), "{err}");
        assert_eq!(mode(&real), 0o755);
    }

    /// A state dir owned by another user is refused with a typed error (needs root to chown:
    /// skipped otherwise, with a note).
    #[test]
    fn attack_state_dir_owned_by_another_user_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let foreign = d.path().join("foreign");
        std::fs::create_dir(&foreign).unwrap();
        std::fs::set_permissions(&foreign, std::fs::Permissions::from_mode(0o755)).unwrap();
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&foreign, Some(65534), Some(65534)).unwrap();
            let err = ensure_private_dir(&foreign).unwrap_err();
            assert!(matches!(err, PrivateDirError::ForeignOwner { owner: 65534, euid: 0, .. }), "{err}");
            assert!(err.to_string().contains("owned by uid 65534"), "{err}");
        } else {
            // Not root: a root-owned directory is foreign to us.
            let err = ensure_private_dir(Path::new("/")).unwrap_err();
            assert!(matches!(err, PrivateDirError::ForeignOwner { owner: 0, .. }), "{err}");
        }
        // A refused directory is not touched.
        assert_eq!(mode(&foreign), 0o755);
    }

    /// Attack: a state directory that was once open to others (the case "tightened to 0700"
    /// exists for) may already hold files another user planted: an `exec-approvals.json`
    /// with `security: full`, a `tls-pins.json` pinning their certificate, an
    /// `identity.json` whose key they know, or a symlink to their own file. Tightening the
    /// mode leaves those in place, owned by them, and the node would read and trust them.
    /// Any entry owned by another uid is refused. Needs root to plant a foreign-owned entry
    /// (the test suite runs as root in CI and here); otherwise only the clean case runs.
    #[test]
    fn attack_state_dir_with_entries_planted_by_another_user_is_refused() {
        use std::os::unix::fs::MetadataExt as _;
        let d = tempfile::tempdir().unwrap();
        // Our own entries pass.
        let clean = d.path().join("clean");
        ensure_private_dir(&clean).unwrap();
        write_private_atomic(&clean.join("identity.json"), b"{}").unwrap();
        ensure_private_dir(&clean).unwrap();
        if !rustix::process::geteuid().is_root() {
            eprintln!("note: planted-entry rows skipped (need root to chown)");
            return;
        }
        for (name, symlink) in [("exec-approvals.json", false), ("tls-pins.json", false), ("identity.json", true)] {
            let open = d.path().join(format!("open-{name}"));
            std::fs::create_dir(&open).unwrap();
            std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
            let planted = open.join(name);
            if symlink {
                let theirs = d.path().join(format!("theirs-{name}"));
                std::fs::write(&theirs, b"{}").unwrap();
                std::os::unix::fs::symlink(&theirs, &planted).unwrap();
            } else {
                std::fs::write(&planted, br#"{"defaults":{"security":"full"}}"#).unwrap();
            }
            std::os::unix::fs::lchown(&planted, Some(65534), Some(65534)).unwrap();
            let err = ensure_private_dir(&open).unwrap_err();
            assert!(matches!(err, PrivateDirError::ForeignEntry { owner: 65534, .. }), "{name}: {err}");
            assert!(err.to_string().contains(name), "{err}");
            assert_eq!(std::fs::symlink_metadata(&planted).unwrap().uid(), 65534, "never deleted or chowned");
        }
    }

    /// Attack: a state directory under a directory another user can change (theirs, or
    /// writable by others without the sticky bit; or reached through their symlink). The
    /// state directory itself passes every check, and afterwards they rename it away and put
    /// their own in its place (with `exec-approvals.json`, `tls-pins.json`), which the node
    /// then reads by path. Refused when the store is opened; a sticky `/tmp`-like parent is
    /// fine (others cannot rename what is ours there).
    #[test]
    fn attack_state_dir_under_a_parent_others_can_change_is_refused() {
        let checked = |p: &Path| ensure_private_dir(p).and_then(|()| refuse_unsafe_ancestors(p));
        let d = tempfile::tempdir().unwrap();
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = checked(&open.join("state")).unwrap_err();
        assert!(matches!(err, PrivateDirError::UnsafeAncestor { ref ancestor, .. } if *ancestor == open), "{err}");
        // The CLI's entry point applies it.
        let err = crate::store::FileStore::open(open.join("state2")).unwrap_err();
        assert!(matches!(err, crate::store::StoreError::StateDir(PrivateDirError::UnsafeAncestor { .. })), "{err}");
        let sticky = d.path().join("sticky");
        std::fs::create_dir(&sticky).unwrap();
        std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
        checked(&sticky.join("state")).unwrap();
        if !rustix::process::geteuid().is_root() {
            eprintln!("note: foreign-owner rows skipped (need root to chown)");
            return;
        }
        // A parent owned by another user (mode 0755: only they can change it).
        let theirs = d.path().join("theirs");
        std::fs::create_dir(&theirs).unwrap();
        std::os::unix::fs::lchown(&theirs, Some(65534), Some(65534)).unwrap();
        let err = checked(&theirs.join("state")).unwrap_err();
        assert!(matches!(err, PrivateDirError::UnsafeAncestor { ref ancestor, .. } if *ancestor == theirs), "{err}");
        // A path through another user's symlink (in a sticky directory) to a safe place.
        let safe = d.path().join("safe");
        std::fs::create_dir(&safe).unwrap();
        let link = sticky.join("link");
        std::os::unix::fs::symlink(&safe, &link).unwrap();
        std::os::unix::fs::lchown(&link, Some(65534), Some(65534)).unwrap();
        let err = checked(&link.join("state")).unwrap_err();
        assert!(matches!(err, PrivateDirError::UnsafeAncestor { ref ancestor, .. } if *ancestor == link), "{err}");
    }
}
