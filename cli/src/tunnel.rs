//! A managed SSH tunnel (remote-access.md §2): the system `ssh` client forwards a free
//! loopback port to the Gateway's port on the remote loopback. ClawNode starts it, waits
//! until the forward accepts, restarts it with backoff when `ssh` exits, and stops it with
//! the node. Failures that retrying cannot fix (host key unknown or changed,
//! authentication refused, local bind failure) pause the tunnel instead of looping.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clawnode::endpoint::SshTarget;
use tokio::io::AsyncReadExt as _;
use tokio::sync::{mpsc, watch};

/// How long `ssh` may take until the forward accepts.
const READY_TIMEOUT: Duration = Duration::from_secs(20);
const BACKOFF_MIN: Duration = Duration::from_secs(1);
const BACKOFF_MAX: Duration = Duration::from_secs(30);
/// A tunnel that stayed up this long resets the backoff.
const STABLE_AFTER: Duration = Duration::from_secs(30);

/// What to run.
#[derive(Debug, Clone)]
pub struct TunnelSpec {
    /// The remote target.
    pub target: SshTarget,
    /// `-i FILE` (with `IdentitiesOnly=yes`).
    pub identity: Option<PathBuf>,
    /// Extra `-o KEY=VALUE` options.
    pub options: Vec<String>,
    /// The ssh program (`ssh`, or `$CLAWNODE_SSH`).
    pub program: PathBuf,
}

/// Why the tunnel is down.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TunnelError {
    /// The server's host key is not in known_hosts (BatchMode never asks).
    #[error(
        "ssh host key of {0} is unknown: verify it and add it to ~/.ssh/known_hosts (e.g. `ssh {0}` once interactively)"
    )]
    HostKeyUnknown(String),
    /// The server's host key differs from known_hosts.
    #[error("ssh host key of {0} CHANGED: possible man-in-the-middle; if expected, fix ~/.ssh/known_hosts")]
    HostKeyChanged(String),
    /// Public-key authentication was refused.
    #[error("ssh authentication to {0} refused: check the user, --ssh-identity and the server's authorized_keys")]
    AuthRefused(String),
    /// Nothing listens on the remote Gateway port.
    #[error("the Gateway port {port} on {host} is not listening (is the Gateway running there?)")]
    RemotePortNotListening {
        /// Host.
        host: String,
        /// Remote port.
        port: u16,
    },
    /// The local end could not be bound.
    #[error("ssh could not bind the local forward 127.0.0.1:{0}")]
    LocalBind(u16),
    /// `ssh` could not be started.
    #[error("cannot start {program}: {message}")]
    Spawn {
        /// The program.
        program: String,
        /// Why.
        message: String,
    },
    /// `ssh` exited for another reason.
    #[error("ssh exited ({status}): {stderr}")]
    Exited {
        /// Exit status.
        status: String,
        /// Last stderr line.
        stderr: String,
    },
    /// The forward did not accept in time.
    #[error("the ssh forward did not come up within {0:?}")]
    NotReady(Duration),
}

impl TunnelError {
    /// Whether retrying cannot help (the tunnel pauses).
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            TunnelError::HostKeyUnknown(_)
                | TunnelError::HostKeyChanged(_)
                | TunnelError::AuthRefused(_)
                | TunnelError::LocalBind(_)
                | TunnelError::Spawn { .. }
        )
    }
}

/// Classifies `ssh` stderr.
pub fn classify(stderr: &str, target: &SshTarget, local_port: u16) -> Option<TunnelError> {
    let host = target.host.clone();
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || stderr.contains("Host key for") {
        return Some(TunnelError::HostKeyChanged(host));
    }
    if stderr.contains("host key is known for") || stderr.contains("Host key verification failed") {
        return Some(TunnelError::HostKeyUnknown(host));
    }
    if stderr.contains("Permission denied (") || stderr.contains("Too many authentication failures") {
        return Some(TunnelError::AuthRefused(host));
    }
    if stderr.contains("Could not request local forwarding") || stderr.contains("Address already in use") {
        return Some(TunnelError::LocalBind(local_port));
    }
    if stderr.contains("open failed: connect failed") || stderr.contains("open failed: administratively") {
        return Some(TunnelError::RemotePortNotListening { host, port: target.remote_port });
    }
    None
}

/// The ssh argv (without the program).
pub fn ssh_args(spec: &TunnelSpec, local_port: u16) -> Vec<String> {
    let mut a: Vec<String> = vec!["-N".into(), "-T".into()];
    for o in [
        "ExitOnForwardFailure=yes",
        "ServerAliveInterval=15",
        "ServerAliveCountMax=3",
        "BatchMode=yes",
        "ConnectTimeout=15",
        "ClearAllForwardings=no",
    ] {
        a.push("-o".into());
        a.push(o.into());
    }
    for o in &spec.options {
        a.push("-o".into());
        a.push(o.clone());
    }
    if let Some(i) = &spec.identity {
        a.extend(["-i".into(), i.to_string_lossy().into_owned(), "-o".into(), "IdentitiesOnly=yes".into()]);
    }
    a.push("-L".into());
    a.push(format!("127.0.0.1:{local_port}:127.0.0.1:{}", spec.target.remote_port));
    if let Some(p) = spec.target.ssh_port {
        a.extend(["-p".into(), p.to_string()]);
    }
    if let Some(u) = &spec.target.user {
        a.extend(["-l".into(), u.clone()]);
    }
    a.push("--".into());
    a.push(spec.target.host.clone());
    a
}

/// A free loopback port (bound and released; `ssh` binds it next).
pub fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// What the tunnel reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelEvent {
    /// The forward accepts.
    Up {
        /// ssh pid.
        pid: u32,
    },
    /// ssh exited; restarting after the delay.
    Restarting {
        /// Why it went down.
        error: TunnelError,
        /// Backoff.
        delay: Duration,
    },
    /// A terminal failure: the tunnel stays down.
    Paused(TunnelError),
    /// The tunnel is up but a forwarded connection failed (reported once per ssh run).
    Warning(TunnelError),
}

/// A running tunnel manager.
pub struct Tunnel {
    /// The local port (stable across restarts).
    pub local_port: u16,
    pid: Arc<AtomicU32>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Tunnel {
    /// Starts the manager; events arrive on the returned channel. Resolves once the
    /// first attempt is up, or with its error if that failed terminally.
    pub async fn start(spec: TunnelSpec) -> Result<(Tunnel, mpsc::UnboundedReceiver<TunnelEvent>), TunnelError> {
        let local_port = free_port().map_err(|_| TunnelError::LocalBind(0))?;
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let pid = Arc::new(AtomicU32::new(0));
        let task = tokio::spawn(manage(spec, local_port, tx, stop_rx, pid.clone()));
        let tunnel = Tunnel { local_port, pid, stop, task };
        // Wait for the first outcome; forward it to the caller's stream too.
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        loop {
            match rx.recv().await {
                Some(TunnelEvent::Paused(e)) => {
                    tunnel.shutdown().await;
                    return Err(e);
                }
                Some(ev @ TunnelEvent::Up { .. }) => {
                    let _ = out_tx.send(ev);
                    break;
                }
                Some(ev) => {
                    let _ = out_tx.send(ev);
                }
                None => return Err(TunnelError::NotReady(READY_TIMEOUT)),
            }
        }
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                if out_tx.send(ev).is_err() {
                    break;
                }
            }
        });
        Ok((tunnel, out_rx))
    }

    /// The current ssh pid (0 while down).
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    /// Stops ssh and the manager.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

async fn accepts(port: u16) -> bool {
    tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok()
}

async fn manage(
    spec: TunnelSpec,
    local_port: u16,
    tx: mpsc::UnboundedSender<TunnelEvent>,
    mut stop: watch::Receiver<bool>,
    pid_slot: Arc<AtomicU32>,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let mut child = match tokio::process::Command::new(&spec.program)
            .args(ssh_args(&spec, local_port))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => {
                let _ = tx.send(TunnelEvent::Paused(TunnelError::Spawn {
                    program: spec.program.display().to_string(),
                    message: e.to_string(),
                }));
                return;
            }
        };
        let pid = child.id().unwrap_or(0);
        pid_slot.store(pid, Ordering::SeqCst);
        // Collect stderr (bounded) for classification.
        let stderr = Arc::new(std::sync::Mutex::new(String::new()));
        if let Some(mut err) = child.stderr.take() {
            let buf = stderr.clone();
            let (warn_tx, target) = (tx.clone(), spec.target.clone());
            tokio::spawn(async move {
                let mut warned = false;
                let mut chunk = [0u8; 4096];
                while let Ok(n) = err.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&chunk[..n]);
                    if !warned
                        && let Some(e @ TunnelError::RemotePortNotListening { .. }) =
                            classify(&text, &target, local_port)
                    {
                        warned = true;
                        let _ = warn_tx.send(TunnelEvent::Warning(e));
                    }
                    if let Ok(mut b) = buf.lock() {
                        b.push_str(&text);
                        if b.len() > 16_384 {
                            let cut = b.len() - 8_192;
                            let cut = (cut..b.len()).find(|i| b.is_char_boundary(*i)).unwrap_or(0);
                            b.drain(..cut);
                        }
                    }
                }
            });
        }
        let started = tokio::time::Instant::now();
        // Wait until the forward accepts, ssh exits, or time runs out.
        let mut up = false;
        let mut exited = None;
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(st)) = child.try_wait() {
                exited = Some(st);
                break;
            }
            if accepts(local_port).await {
                up = true;
                break;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = stop.changed() => {
                    let _ = child.kill().await;
                    return;
                }
            }
        }
        let error = if up {
            let _ = tx.send(TunnelEvent::Up { pid });
            tokio::select! {
                st = child.wait() => {
                    exited = st.ok();
                }
                _ = stop.changed() => {
                    let _ = child.kill().await;
                    pid_slot.store(0, Ordering::SeqCst);
                    return;
                }
            }
            if started.elapsed() >= STABLE_AFTER {
                backoff = BACKOFF_MIN;
            }
            None
        } else if exited.is_none() {
            let _ = child.kill().await;
            Some(TunnelError::NotReady(READY_TIMEOUT))
        } else {
            None
        };
        pid_slot.store(0, Ordering::SeqCst);
        // Let the stderr reader catch up.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let text = stderr.lock().map(|s| s.clone()).unwrap_or_default();
        let error =
            error.or_else(|| classify(&text, &spec.target, local_port)).unwrap_or_else(|| TunnelError::Exited {
                status: exited.map(|s| s.to_string()).unwrap_or_else(|| "unknown".into()),
                stderr: text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string(),
            });
        if error.is_terminal() {
            let _ = tx.send(TunnelEvent::Paused(error));
            return;
        }
        let _ = tx.send(TunnelEvent::Restarting { error, delay: backoff });
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> SshTarget {
        SshTarget::parse("pi@gw.lan:2222", 18789).unwrap()
    }

    #[test]
    fn args() {
        let spec = TunnelSpec {
            target: target(),
            identity: Some("/k".into()),
            options: vec!["UserKnownHostsFile=/kh".into()],
            program: "ssh".into(),
        };
        let a = ssh_args(&spec, 40000).join(" ");
        assert!(a.starts_with("-N -T -o ExitOnForwardFailure=yes"), "{a}");
        assert!(a.contains("-o BatchMode=yes"));
        assert!(a.contains("-o ServerAliveInterval=15 -o ServerAliveCountMax=3"));
        assert!(a.contains("-o UserKnownHostsFile=/kh"));
        assert!(a.contains("-i /k -o IdentitiesOnly=yes"));
        assert!(a.ends_with("-L 127.0.0.1:40000:127.0.0.1:18789 -p 2222 -l pi -- gw.lan"), "{a}");
    }

    #[test]
    fn classification() {
        let t = target();
        let c = |s: &str| classify(s, &t, 4);
        assert!(matches!(
            c(
                "No ED25519 host key is known for [127.0.0.1]:2222 and you have requested strict checking.\r\nHost key verification failed.\r\n"
            ),
            Some(TunnelError::HostKeyUnknown(_))
        ));
        assert!(matches!(
            c("@@@\nWARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!\nHost key verification failed."),
            Some(TunnelError::HostKeyChanged(_))
        ));
        assert!(matches!(c("pi@gw.lan: Permission denied (publickey)."), Some(TunnelError::AuthRefused(_))));
        assert!(matches!(
            c("bind [127.0.0.1]:4: Address already in use\nCould not request local forwarding."),
            Some(TunnelError::LocalBind(4))
        ));
        assert!(matches!(
            c("channel 2: open failed: connect failed: Connection refused"),
            Some(TunnelError::RemotePortNotListening { port: 18789, .. })
        ));
        assert_eq!(c("Connection closed by remote host"), None);
        assert!(TunnelError::AuthRefused("h".into()).is_terminal());
        assert!(!TunnelError::RemotePortNotListening { host: "h".into(), port: 1 }.is_terminal());
    }
}
