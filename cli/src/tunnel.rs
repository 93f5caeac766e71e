//! A managed SSH tunnel (remote-access.md §2): the system `ssh` client (OpenSSH ≥ 6.7)
//! forwards a Unix socket in a private directory of the state directory to the Gateway's
//! port on the remote loopback (`ssh -N -L <state>/tunnel/gateway.sock:127.0.0.1:<port>`),
//! and the node connects through that socket. ClawNode starts ssh, waits until ssh itself
//! serves the socket, restarts it with backoff when it exits, and stops it with the node.
//! Failures that retrying cannot fix (host key unknown or changed, authentication refused,
//! local bind failure, a socket not served by our ssh) pause the tunnel instead of looping.
//!
//! # Why a socket, and why this readiness signal
//!
//! The former scheme forwarded a free loopback TCP port: it was released before ssh bound
//! it (after authenticating, seconds later), it was readable in `/proc/*/cmdline`, and
//! "something accepts on the port" counted as "tunnel up". Any local user who bound the
//! port first received the connect frame with the Gateway token and the device id.
//!
//! Now nothing listens on TCP, and the node never dials TCP for a tunnel:
//! - The socket lives in `<state>/tunnel/`, created (or tightened) 0700 and owned by us,
//!   in a state directory others cannot write to. Another uid cannot create, replace or
//!   connect to anything in it, so it cannot pre-bind the path.
//! - ssh binds it with `StreamLocalBindMask=0177` (mode 0600) and
//!   `StreamLocalBindUnlink=yes`; a stale socket is removed before each start, and
//!   anything else at the path (a regular file, a symlink) is refused, never deleted.
//! - "Up" is ssh's own signal: the socket exists, is a socket of our uid with no group or
//!   other bits, and `SO_PEERCRED` of a connection to it names the very ssh process we
//!   spawned as the listener. ssh sets up `-L` listeners only after authentication, and
//!   with `ExitOnForwardFailure=yes` it exits if it cannot, so the listener is the
//!   "forwarding established" signal. That probe connection writes nothing and is closed;
//!   no credential or WebSocket byte is written before readiness. A ControlMaster `-O
//!   check` would only say a master runs, and `LocalCommand` runs through the user's shell
//!   and config: both weaker and more fragile than asking the kernel who listens.
//!   `ControlMaster=no`/`ControlPath=none` keep the forward in the process we spawned
//!   (a shared master would own it otherwise), so `$CLAWNODE_SSH` wrappers must `exec` ssh.
//! - The transport checks again on every connect that the socket's listener runs as our
//!   uid (`TransportError::ForeignSocket`).
//!
//! A tunnel target never takes environment or `openclaw.json` credentials
//! (remote-access.md §4): see [`credentials`].

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use clawnode::Credentials;
use clawnode::endpoint::SshTarget;
use tokio::io::AsyncReadExt as _;
use tokio::sync::{mpsc, watch};

use crate::config::Explicit;

mod socket;

pub use socket::socket_path;

/// How long `ssh` may take until it serves the socket.
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
    /// The ssh program (`ssh`, or `$CLAWNODE_SSH`, which must `exec` ssh: the listener
    /// must be the process ClawNode started).
    pub program: PathBuf,
    /// The local end ([`socket_path`] of the state directory).
    pub socket: PathBuf,
}

/// `--ssh` (or `[ssh]`) without credentials that may go to the tunnel target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "--ssh needs explicit credentials for {origin}: pass --token-file (or --token, --password-file, --password); \
     OPENCLAW_GATEWAY_TOKEN/PASSWORD and openclaw.json credentials are never sent to a tunnel target, \
     and no device token is stored for it"
)]
pub struct CredentialsRequired {
    /// The tunnel origin (`ssh://user@host:port/127.0.0.1:18789`).
    pub origin: String,
}

/// The credentials for a tunnel target: the explicit `--token`/`--password` (or their
/// `-file` forms), else none when a device token issued by that tunnel origin is stored.
/// The environment and `openclaw.json` are not inputs: they never reach a tunnel target.
pub fn credentials(
    explicit: &Explicit,
    has_stored_token: bool,
    origin: &str,
) -> Result<Credentials, CredentialsRequired> {
    if explicit.token.is_none() && explicit.password.is_none() && !has_stored_token {
        return Err(CredentialsRequired { origin: origin.to_string() });
    }
    Ok(Credentials { shared_token: explicit.token.clone(), password: explicit.password.clone(), bootstrap_token: None })
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
    /// ssh could not bind the local socket.
    #[error("ssh could not bind the local forward {}", .0.display())]
    LocalBind(PathBuf),
    /// This ssh cannot forward to a Unix socket.
    #[error("this ssh cannot forward to a Unix socket (OpenSSH 6.7 or later is required): {0}")]
    Unsupported(String),
    /// The socket directory cannot be used.
    #[error("the ssh tunnel socket cannot be used: {0}")]
    SocketDir(String),
    /// Something other than the ssh we started appeared at the socket path.
    #[error("refusing the tunnel socket: {0}; nothing was sent")]
    NotServedBySsh(String),
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
    /// ssh did not serve the socket in time.
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
                | TunnelError::Unsupported(_)
                | TunnelError::SocketDir(_)
                | TunnelError::NotServedBySsh(_)
                | TunnelError::Spawn { .. }
        )
    }
}

/// Classifies `ssh` stderr.
pub fn classify(stderr: &str, target: &SshTarget, socket: &Path) -> Option<TunnelError> {
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
    // OpenSSH < 6.7: no StreamLocal* options, no socket forwards.
    if let Some(line) = stderr.lines().find(|l| {
        let l = l.to_ascii_lowercase();
        (l.contains("bad configuration option") && l.contains("streamlocal"))
            || l.contains("bad local forwarding specification")
            || l.contains("bad stream local forwarding specification")
    }) {
        return Some(TunnelError::Unsupported(line.trim().to_string()));
    }
    if stderr.contains("Could not request local forwarding")
        || stderr.contains("unix_listener: cannot bind to path")
        || stderr.contains("Address already in use")
    {
        return Some(TunnelError::LocalBind(socket.to_path_buf()));
    }
    if stderr.contains("open failed: connect failed") || stderr.contains("open failed: administratively") {
        return Some(TunnelError::RemotePortNotListening { host, port: target.remote_port });
    }
    None
}

/// The ssh argv (without the program). Our options come first: ssh keeps the first value
/// of an option, so neither `--ssh-option` nor `~/.ssh/config` can undo them.
pub fn ssh_args(spec: &TunnelSpec) -> Vec<String> {
    let mut a: Vec<String> = vec!["-N".into(), "-T".into()];
    for o in [
        "ExitOnForwardFailure=yes",
        "StreamLocalBindUnlink=yes",
        "StreamLocalBindMask=0177",
        "ControlMaster=no",
        "ControlPath=none",
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
    a.push(format!("{}:127.0.0.1:{}", spec.socket.display(), spec.target.remote_port));
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

/// What the tunnel reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TunnelEvent {
    /// ssh serves the socket.
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
    /// The local socket (stable across restarts).
    pub socket: PathBuf,
    pid: Arc<AtomicU32>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Tunnel {
    /// Prepares the socket directory and starts the manager; events arrive on the returned
    /// channel (wait for the first [`TunnelEvent::Up`] with [`Tunnel::first_up`]).
    pub fn spawn(spec: TunnelSpec) -> Result<(Tunnel, mpsc::UnboundedReceiver<TunnelEvent>), TunnelError> {
        socket::prepare(&spec.socket).map_err(TunnelError::SocketDir)?;
        let socket = spec.socket.clone();
        let (tx, rx) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let pid = Arc::new(AtomicU32::new(0));
        let task = tokio::spawn(manage(spec, tx, stop_rx, pid.clone()));
        Ok((Tunnel { socket, pid, stop, task }, rx))
    }

    /// Waits until ssh first serves the socket, handing the events before that (restarts)
    /// to `seen`; the error when the tunnel paused first. Cancel-safe: dropping it leaves
    /// the tunnel to [`Tunnel::shutdown`].
    pub async fn first_up(
        events: &mut mpsc::UnboundedReceiver<TunnelEvent>,
        mut seen: impl FnMut(&TunnelEvent),
    ) -> Result<(), TunnelError> {
        loop {
            match events.recv().await {
                Some(TunnelEvent::Up { .. }) => return Ok(()),
                Some(TunnelEvent::Paused(e)) => return Err(e),
                Some(ev) => seen(&ev),
                None => return Err(TunnelError::NotReady(READY_TIMEOUT)),
            }
        }
    }

    /// The current ssh pid (0 while down).
    pub fn pid(&self) -> u32 {
        self.pid.load(Ordering::SeqCst)
    }

    /// Stops ssh and the manager.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
        let _ = socket::remove_stale(&self.socket);
    }
}

/// The ssh child's environment: ours without `OPENCLAW_*` and `CLAWNODE_*` (the Gateway
/// token may be among them; ssh needs none of them).
fn ssh_command(spec: &TunnelSpec) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(&spec.program);
    for (k, _) in std::env::vars_os().filter(|(k, _)| clawnode_exec::child_env::is_node_private(k)) {
        cmd.env_remove(&k);
    }
    cmd.args(ssh_args(spec));
    cmd
}

async fn manage(
    spec: TunnelSpec,
    tx: mpsc::UnboundedSender<TunnelEvent>,
    mut stop: watch::Receiver<bool>,
    pid_slot: Arc<AtomicU32>,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        // A stale socket from an earlier ssh goes; anything else there stops the tunnel.
        if let Err(e) = socket::remove_stale(&spec.socket) {
            let _ = tx.send(TunnelEvent::Paused(TunnelError::SocketDir(e)));
            return;
        }
        let mut child = match ssh_command(&spec)
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
            let (warn_tx, target, sock) = (tx.clone(), spec.target.clone(), spec.socket.clone());
            tokio::spawn(async move {
                let mut warned = false;
                let mut chunk = [0u8; 4096];
                while let Ok(n) = err.read(&mut chunk).await {
                    if n == 0 {
                        break;
                    }
                    let text = String::from_utf8_lossy(&chunk[..n]);
                    if !warned
                        && let Some(e @ TunnelError::RemotePortNotListening { .. }) = classify(&text, &target, &sock)
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
        // Wait until ssh serves the socket, ssh exits, or time runs out.
        let mut up = false;
        let mut exited = None;
        let mut foreign = None;
        while started.elapsed() < READY_TIMEOUT {
            if let Ok(Some(st)) = child.try_wait() {
                exited = Some(st);
                break;
            }
            match socket::probe(&spec.socket, pid).await {
                socket::Probe::Ready => {
                    up = true;
                    break;
                }
                socket::Probe::Foreign(why) => {
                    foreign = Some(TunnelError::NotServedBySsh(why));
                    break;
                }
                socket::Probe::Pending => {}
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                _ = stop.changed() => {
                    let _ = child.kill().await;
                    return;
                }
            }
        }
        let error = if let Some(e) = foreign {
            let _ = child.kill().await;
            Some(e)
        } else if up {
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
            error.or_else(|| classify(&text, &spec.target, &spec.socket)).unwrap_or_else(|| TunnelError::Exited {
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
    use clawnode::Secret;

    fn target() -> SshTarget {
        SshTarget::parse("pi@gw.lan:2222", 18789).unwrap()
    }

    fn spec() -> TunnelSpec {
        TunnelSpec {
            target: target(),
            identity: Some("/k".into()),
            options: vec!["UserKnownHostsFile=/kh".into()],
            program: "ssh".into(),
            socket: "/var/lib/clawnode/tunnel/gateway.sock".into(),
        }
    }

    #[test]
    fn args() {
        let a = ssh_args(&spec()).join(" ");
        assert!(a.starts_with("-N -T -o ExitOnForwardFailure=yes"), "{a}");
        assert!(a.contains("-o StreamLocalBindUnlink=yes -o StreamLocalBindMask=0177"), "{a}");
        assert!(a.contains("-o ControlMaster=no -o ControlPath=none"), "{a}");
        assert!(a.contains("-o BatchMode=yes"));
        assert!(a.contains("-o ServerAliveInterval=15 -o ServerAliveCountMax=3"));
        assert!(a.contains("-o UserKnownHostsFile=/kh"));
        assert!(a.contains("-i /k -o IdentitiesOnly=yes"));
        assert!(a.ends_with("-L /var/lib/clawnode/tunnel/gateway.sock:127.0.0.1:18789 -p 2222 -l pi -- gw.lan"), "{a}");
        // Our options precede the user's (ssh keeps the first value of an option).
        let ours = a.find("StreamLocalBindMask").unwrap();
        assert!(ours < a.find("UserKnownHostsFile").unwrap());
    }

    /// Attack row (tunnel hijack): no TCP forward, so no port to race for.
    #[test]
    fn args_forward_no_tcp_port() {
        let a = ssh_args(&spec());
        let l: Vec<&String> = a.iter().skip_while(|x| x.as_str() != "-L").skip(1).take(1).collect();
        assert_eq!(l.len(), 1);
        assert!(l[0].starts_with('/'), "the local end is a socket path: {}", l[0]);
        assert_eq!(a.iter().filter(|x| x.as_str() == "-L").count(), 1);
        assert!(!a.iter().any(|x| x.starts_with("127.0.0.1:") || x.starts_with("localhost:")), "{a:?}");
    }

    #[test]
    fn classification() {
        let t = target();
        let sock = Path::new("/s/tunnel/gateway.sock");
        let c = |s: &str| classify(s, &t, sock);
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
        // OpenSSH 9.2's words when the socket cannot be bound.
        assert_eq!(
            c(
                "unix_listener: cannot bind to path /s/tunnel/gateway.sock: No such file or directory\nCould not request local forwarding.\n"
            ),
            Some(TunnelError::LocalBind(sock.to_path_buf()))
        );
        assert_eq!(
            c("unix_listener: cannot bind to path /s/tunnel/gateway.sock: Address already in use"),
            Some(TunnelError::LocalBind(sock.to_path_buf()))
        );
        // Too old for socket forwards (or a spec it cannot parse).
        for old in [
            "command-line line 0: Bad configuration option: streamlocalbindunlink",
            "Bad local forwarding specification '/s/tunnel/gateway.sock:127.0.0.1:18789'",
            "Bad stream local forwarding specification '/s/tunnel/gateway.sock:127.0.0.1:18789'",
        ] {
            assert!(matches!(c(old), Some(TunnelError::Unsupported(ref l)) if l == old), "{old}");
        }
        assert!(matches!(
            c("channel 2: open failed: connect failed: Connection refused"),
            Some(TunnelError::RemotePortNotListening { port: 18789, .. })
        ));
        assert_eq!(c("Connection closed by remote host"), None);
        assert!(TunnelError::AuthRefused("h".into()).is_terminal());
        assert!(TunnelError::Unsupported("x".into()).is_terminal());
        assert!(TunnelError::NotServedBySsh("x".into()).is_terminal());
        assert!(TunnelError::SocketDir("x".into()).is_terminal());
        assert!(!TunnelError::RemotePortNotListening { host: "h".into(), port: 1 }.is_terminal());
        assert!(!TunnelError::NotReady(READY_TIMEOUT).is_terminal());
    }

    /// Attack rows (env credentials to a tunnel target): only explicit credentials or a
    /// stored device token for the tunnel origin.
    #[test]
    fn tunnel_credentials() {
        let origin = "ssh://pi@gw.lan:2222/127.0.0.1:18789";
        let none = Explicit::default();
        let e = credentials(&none, false, origin).unwrap_err();
        assert_eq!(e, CredentialsRequired { origin: origin.into() });
        let msg = e.to_string();
        for flag in ["--token-file", "--token", "--password-file", "--password", "OPENCLAW_GATEWAY_TOKEN", origin] {
            assert!(msg.contains(flag), "{msg}");
        }
        // A stored device token for that origin: no shared credentials are sent.
        let c = credentials(&none, true, origin).unwrap();
        assert!(c.shared_token.is_none() && c.password.is_none() && c.bootstrap_token.is_none());
        let tok = Explicit { token: Some(Secret::new("t")), ..Explicit::default() };
        let c = credentials(&tok, false, origin).unwrap();
        assert_eq!(c.shared_token.as_ref().map(|s| s.expose()), Some("t"));
        let pw = Explicit { password: Some(Secret::new("p")), ..Explicit::default() };
        assert_eq!(credentials(&pw, false, origin).unwrap().password.as_ref().map(|s| s.expose()), Some("p"));
    }
}
