//! The tunnel's local end: a Unix socket in a private directory, and the readiness check
//! that tells "ssh is serving it" from "something is there".

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};

/// The private directory under the state directory.
pub const DIR_NAME: &str = "tunnel";
/// The socket's file name in it.
pub const SOCKET_NAME: &str = "gateway.sock";
/// `sun_path` holds 108 bytes on Linux, the terminating NUL included.
const MAX_PATH: usize = 107;

/// `<state>/tunnel/gateway.sock`, absolute (ssh gets it on its command line).
pub fn socket_path(state_dir: &Path) -> PathBuf {
    std::path::absolute(state_dir).unwrap_or_else(|_| state_dir.to_path_buf()).join(DIR_NAME).join(SOCKET_NAME)
}

/// Checks that `path` can be spelled in an ssh forward spec and bound, then creates its
/// directory with mode 0700 (or tightens it to 0700) and refuses a directory that is a
/// symlink, not owned by this user, or sits in a directory others may write to (they
/// could swap it). Returns why not.
pub fn prepare(path: &Path) -> Result<(), String> {
    let text = path.to_str().ok_or("the state directory path is not UTF-8")?;
    if !path.is_absolute() {
        return Err(format!("{text} is not absolute"));
    }
    // `-L path:host:port` is split on ':'; ssh also treats '[', ']' and '\' specially.
    if let Some(c) = text.chars().find(|c| matches!(c, ':' | '[' | ']' | '\\') || c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "{text} contains {c:?}, which an ssh forward spec cannot carry; choose another --state-dir"
        ));
    }
    if text.len() > MAX_PATH {
        return Err(format!(
            "{text} is {} bytes, longer than a Unix socket path may be ({MAX_PATH}); choose a shorter --state-dir",
            text.len()
        ));
    }
    let dir = path.parent().ok_or("the socket path has no directory")?;
    let state = dir.parent().ok_or("the tunnel directory has no parent")?;
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(state).map_err(|e| format!("cannot create {}: {e}", state.display()))?;
    let st = std::fs::metadata(state).map_err(|e| format!("{}: {e}", state.display()))?;
    if st.mode() & 0o022 != 0 && st.mode() & 0o1000 == 0 {
        return Err(format!(
            "{} is writable by other users (mode {:04o}): make it 0700",
            state.display(),
            st.mode() & 0o7777
        ));
    }
    let mut b = std::fs::DirBuilder::new();
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    match b.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create {}: {e}", dir.display())),
    }
    // Open without following a symlink, then check and tighten through the descriptor.
    use rustix::fs::{Mode, OFlags};
    let fd =
        rustix::fs::open(dir, OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| format!("{} is not a directory of ours ({e})", dir.display()))?;
    let st = rustix::fs::fstat(&fd).map_err(|e| format!("{}: {e}", dir.display()))?;
    let me = rustix::process::geteuid().as_raw();
    if st.st_uid != me {
        return Err(format!("{} belongs to uid {}, not to this user (uid {me})", dir.display(), st.st_uid));
    }
    if st.st_mode & 0o7777 != 0o700 {
        rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o700))
            .map_err(|e| format!("chmod 0700 {}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Removes a socket left by an earlier ssh; anything else at `path` is refused (never
/// deleted: only this user can put it there, and it is not ours to remove).
pub fn remove_stale(path: &Path) -> Result<(), String> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{}: {e}", path.display())),
        Ok(m) if m.file_type().is_socket() => match std::fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("cannot remove the stale socket {}: {e}", path.display())),
        },
        Ok(m) => Err(format!("{} exists and is {}, not a socket: remove it", path.display(), kind(&m))),
    }
}

fn kind(m: &std::fs::Metadata) -> &'static str {
    let t = m.file_type();
    if t.is_symlink() {
        "a symlink"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_file() {
        "a regular file"
    } else {
        "a special file"
    }
}

/// What the readiness check saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    /// Nothing usable yet: keep waiting.
    Pending,
    /// The socket is listening, and the listener is the ssh process we started.
    Ready,
    /// Something other than our ssh is there: refuse it.
    Foreign(String),
}

/// Whether `ssh_pid` is serving `path`: it must be a socket of this user with no group or
/// other permission bits (ssh binds it under `StreamLocalBindMask=0177`), and the process
/// that called `listen()` on it (`SO_PEERCRED` of a connection to it) must be `ssh_pid`.
/// The connection is closed without a byte written.
pub async fn probe(path: &Path, ssh_pid: u32) -> Probe {
    let m = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Probe::Pending,
    };
    if !m.file_type().is_socket() {
        return Probe::Foreign(format!("{} is {}, not a socket", path.display(), kind(&m)));
    }
    let me = rustix::process::geteuid().as_raw();
    if m.uid() != me {
        return Probe::Foreign(format!("{} belongs to uid {}", path.display(), m.uid()));
    }
    if m.mode() & 0o077 != 0 {
        return Probe::Foreign(format!(
            "{} has mode {:04o}; ssh binds it 0600 (StreamLocalBindMask=0177)",
            path.display(),
            m.mode() & 0o7777
        ));
    }
    // Bound but not yet listening (or gone again): keep waiting.
    let Ok(stream) = tokio::net::UnixStream::connect(path).await else { return Probe::Pending };
    let cred = match stream.peer_cred() {
        Ok(c) => c,
        Err(e) => return Probe::Foreign(format!("{}: no peer credentials ({e})", path.display())),
    };
    let pid = cred.pid().and_then(|p| u32::try_from(p).ok());
    if cred.uid() == me && pid == Some(ssh_pid) {
        Probe::Ready
    } else {
        Probe::Foreign(format!(
            "{} is served by pid {} (uid {}), not by ssh (pid {ssh_pid})",
            path.display(),
            pid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
            cred.uid()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    #[test]
    fn path_and_directory_rules() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        let path = socket_path(&state);
        assert!(path.ends_with("tunnel/gateway.sock"));
        prepare(&path).unwrap();
        let tunnel = state.join(DIR_NAME);
        assert_eq!(std::fs::metadata(&tunnel).unwrap().permissions().mode() & 0o7777, 0o700);
        // An existing looser directory is tightened.
        std::fs::set_permissions(&tunnel, std::fs::Permissions::from_mode(0o755)).unwrap();
        prepare(&path).unwrap();
        assert_eq!(std::fs::metadata(&tunnel).unwrap().permissions().mode() & 0o7777, 0o700);
        // A symlinked tunnel directory is refused (it could point anywhere).
        let other = dir.path().join("elsewhere");
        std::fs::create_dir(&other).unwrap();
        let s2 = dir.path().join("s2");
        std::fs::create_dir(&s2).unwrap();
        std::fs::set_permissions(&s2, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::symlink(&other, s2.join(DIR_NAME)).unwrap();
        let e = prepare(&socket_path(&s2)).unwrap_err();
        assert!(e.contains("not a directory of ours"), "{e}");
        // A state directory others may write to is refused.
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = prepare(&socket_path(&open)).unwrap_err();
        assert!(e.contains("writable by other users"), "{e}");
        // Paths ssh cannot carry, or too long for sun_path.
        for bad in ["/tmp/a:b", "/tmp/a b", "/tmp/[x]"] {
            assert!(prepare(&socket_path(Path::new(bad))).is_err(), "{bad}");
        }
        let long = dir.path().join("x".repeat(120));
        assert!(prepare(&socket_path(&long)).unwrap_err().contains("longer than"));
    }

    #[test]
    fn stale_socket_removed_anything_else_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gateway.sock");
        remove_stale(&p).unwrap();
        let l = std::os::unix::net::UnixListener::bind(&p).unwrap();
        drop(l);
        remove_stale(&p).unwrap();
        assert!(!p.exists());
        std::fs::write(&p, b"x").unwrap();
        let e = remove_stale(&p).unwrap_err();
        assert!(e.contains("a regular file"), "{e}");
        assert!(p.exists(), "a regular file is never deleted");
        std::fs::remove_file(&p).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", &p).unwrap();
        assert!(remove_stale(&p).unwrap_err().contains("a symlink"));
    }

    /// Attack rows: what appears at the socket path before "tunnel up" is declared.
    #[tokio::test]
    async fn readiness_needs_the_ssh_process_as_listener() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("gateway.sock");
        let me = std::process::id();
        // Nothing yet.
        assert_eq!(probe(&p, me).await, Probe::Pending);
        // A regular file in place of the socket.
        std::fs::write(&p, b"").unwrap();
        assert!(matches!(probe(&p, me).await, Probe::Foreign(r) if r.contains("regular file")));
        std::fs::remove_file(&p).unwrap();
        // A socket that accepts no stream connection (as between ssh's bind and listen).
        let raw = std::os::unix::net::UnixDatagram::bind(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(probe(&p, me).await, Probe::Pending);
        drop(raw);
        std::fs::remove_file(&p).unwrap();
        // A listening socket with group/other bits (not bound under StreamLocalBindMask).
        let l = tokio::net::UnixListener::bind(&p).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        assert!(matches!(probe(&p, me).await, Probe::Foreign(r) if r.contains("mode 0666")));
        // 0600, but served by another process than the ssh we started.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(probe(&p, me + 1).await, Probe::Foreign(r) if r.contains("not by ssh")));
        // Served by the expected process: ready, and the probe wrote nothing.
        assert_eq!(probe(&p, me).await, Probe::Ready);
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut s, &mut buf).await.unwrap();
        assert!(buf.is_empty(), "the probe must not write");
    }
}
