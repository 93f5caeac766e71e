//! `sd_notify` without libsystemd: datagrams to `$NOTIFY_SOCKET` (a path, or an abstract
//! name starting with `@`). `READY=1` once the supervisor runs, `STATUS=` lines with the
//! connection state, `WATCHDOG=1` every half `WATCHDOG_USEC`, `STOPPING=1` on shutdown.

use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// A notifier; inert when `NOTIFY_SOCKET` is unset.
#[derive(Debug)]
pub struct Notifier {
    target: Option<(UnixDatagram, String)>,
}

impl Notifier {
    /// From the process environment.
    pub fn from_env() -> Self {
        let target = std::env::var("NOTIFY_SOCKET").ok().filter(|s| !s.is_empty()).and_then(|path| {
            let sock = UnixDatagram::unbound().ok()?;
            Some((sock, path))
        });
        Notifier { target }
    }

    /// Sends one message (`KEY=VALUE` lines); errors are ignored (systemd may be gone).
    pub fn send(&self, msg: &str) {
        let Some((sock, path)) = &self.target else { return };
        let r = match path.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt as _;
                std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes())
                    .and_then(|a| sock.send_to_addr(msg.as_bytes(), &a))
            }
            None => sock.send_to(msg.as_bytes(), path),
        };
        if let Err(e) = r {
            tracing::debug!(error = %e, "sd_notify failed");
        }
    }

    /// `STATUS=<text>` (one line).
    pub fn status(&self, text: &str) {
        self.send(&format!("STATUS={}", text.replace('\n', " ")));
    }
}

/// The watchdog period (half of `WATCHDOG_USEC`), when the watchdog is on for this process.
pub fn watchdog_interval() -> Option<Duration> {
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.trim().parse().ok()?;
    if let Ok(pid) = std::env::var("WATCHDOG_PID")
        && pid.trim() != std::process::id().to_string()
    {
        return None;
    }
    (usec > 0).then(|| Duration::from_micros(usec / 2).max(Duration::from_millis(10)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_datagrams_to_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let rx = UnixDatagram::bind(&path).unwrap();
        let n = Notifier { target: Some((UnixDatagram::unbound().unwrap(), path.to_string_lossy().into_owned())) };
        n.send("READY=1");
        n.status("connecting\n(attempt 1)");
        let mut buf = [0u8; 256];
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"READY=1");
        let k = rx.recv(&mut buf).unwrap();
        assert_eq!(&buf[..k], b"STATUS=connecting (attempt 1)");
        Notifier { target: None }.send("READY=1");
    }
}
