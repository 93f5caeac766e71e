//! Starts and stops the real (pinned) OpenClaw Gateway for integration tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), clawnode_testkit::TestkitError> {
//! use clawnode_testkit::gateway::Gateway;
//! let mut gw = Gateway::builder()
//!     .auto_approve_local(false)
//!     .allow_commands(&["device.info"])
//!     .start()
//!     .await?;
//! println!("{} {}", gw.ws_url(), gw.token());
//! gw.restart().await?; // same port, state dir and token
//! gw.stop().await?;
//! # Ok(()) }
//! ```
//!
//! Each [`Gateway`] gets a fresh temp folder holding `state/` (`OPENCLAW_STATE_DIR`,
//! with `openclaw.json` written before start), `home/` (`HOME`) and `gateway.log`
//! (stdout and stderr). The process runs in its own process group; [`Gateway::stop`]
//! sends SIGTERM to the group, then SIGKILL after 10 s, and [`Drop`] SIGKILLs the group
//! and reaps the leader, so a panicking test never leaks a Gateway. When the drop
//! happens during a panic (or `CLAWNODE_KEEP_GATEWAY_STATE` is set) the temp folder is
//! kept and its path printed to stderr.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::error::TestkitError;
use crate::provision::{Provisioned, provision_async};
use crate::util::{file_tail, random_hex, strip_ansi};

/// Default readiness budget.
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(90);
/// Time between SIGTERM and SIGKILL in [`Gateway::stop`].
pub const STOP_GRACE: Duration = Duration::from_secs(10);
/// How many bytes of the log are put into error messages by default.
pub const DEFAULT_LOG_TAIL: usize = 8 * 1024;
const START_ATTEMPTS: usize = 3;
/// How long to wait for the other members of a killed process group to disappear.
const GROUP_GONE_WAIT: Duration = Duration::from_secs(3);

/// Configures and starts a [`Gateway`].
#[derive(Debug, Clone)]
pub struct GatewayBuilder {
    auto_approve_local: Option<bool>,
    allow_commands: Option<Vec<String>>,
    extra_config: Value,
    env: Vec<(String, String)>,
    token: Option<String>,
    ready_timeout: Duration,
    log_tail_bytes: usize,
    provisioned: Option<Provisioned>,
    netns: Option<String>,
    bind: String,
}

impl Default for GatewayBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl GatewayBuilder {
    /// A builder with the Gateway's defaults (no config keys), a random token and a
    /// 90 s readiness budget.
    pub fn new() -> Self {
        GatewayBuilder {
            auto_approve_local: None,
            allow_commands: None,
            extra_config: json!({}),
            env: Vec::new(),
            token: None,
            ready_timeout: DEFAULT_READY_TIMEOUT,
            log_tail_bytes: DEFAULT_LOG_TAIL,
            provisioned: None,
            netns: None,
            bind: "loopback".into(),
        }
    }

    /// Runs the Gateway in network namespace `ns` (`ip netns exec`, see [`crate::netns`]);
    /// its readiness is checked on that namespace's loopback.
    pub fn netns(mut self, ns: impl Into<String>) -> Self {
        self.netns = Some(ns.into());
        self
    }

    /// `--bind` mode (default `loopback`; `lan` listens on every address).
    pub fn bind(mut self, mode: impl Into<String>) -> Self {
        self.bind = mode.into();
        self
    }

    /// Sets `gateway.nodes.pairing.autoApproveLocal` (`false` exercises explicit
    /// device pairing from loopback).
    pub fn auto_approve_local(mut self, on: bool) -> Self {
        self.auto_approve_local = Some(on);
        self
    }

    /// Sets `gateway.nodes.commands.allow` (extra commands the policy allows).
    pub fn allow_commands<S: AsRef<str>>(mut self, commands: &[S]) -> Self {
        self.allow_commands = Some(commands.iter().map(|c| c.as_ref().to_string()).collect());
        self
    }

    /// Deep-merges `extra` into the config (objects merge key by key, anything else
    /// replaces). May be called several times; applied after the typed setters.
    pub fn extra_config(mut self, extra: Value) -> Self {
        merge_json(&mut self.extra_config, extra);
        self
    }

    /// Adds an environment variable for the Gateway process (for example
    /// `OPENCLAW_HANDSHAKE_TIMEOUT_MS`).
    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((key.into(), value.into()));
        self
    }

    /// Uses this shared token instead of a random one.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Changes the readiness budget (default 90 s).
    pub fn ready_timeout(mut self, timeout: Duration) -> Self {
        self.ready_timeout = timeout;
        self
    }

    /// How many bytes of the log go into error messages (default 8 KiB).
    pub fn log_tail_bytes(mut self, bytes: usize) -> Self {
        self.log_tail_bytes = bytes;
        self
    }

    /// Uses already provisioned paths instead of calling [`crate::provision::provision`].
    pub fn provisioned(mut self, p: Provisioned) -> Self {
        self.provisioned = Some(p);
        self
    }

    /// The `openclaw.json` content this builder writes.
    pub fn config(&self) -> Value {
        let mut cfg = json!({});
        if let Some(on) = self.auto_approve_local {
            merge_json(&mut cfg, json!({"gateway": {"nodes": {"pairing": {"autoApproveLocal": on}}}}));
        }
        if let Some(allow) = &self.allow_commands {
            merge_json(&mut cfg, json!({"gateway": {"nodes": {"commands": {"allow": allow}}}}));
        }
        merge_json(&mut cfg, self.extra_config.clone());
        cfg
    }

    /// Provisions (if needed), writes the config and starts the Gateway, waiting until
    /// it logs `[gateway] ready` and accepts TCP connections.
    pub async fn start(self) -> Result<Gateway, TestkitError> {
        let prov = match self.provisioned.clone() {
            Some(p) => p,
            None => provision_async().await?,
        };
        let root = tempfile::Builder::new()
            .prefix("clawnode-gw-")
            .tempdir()
            .map_err(|e| TestkitError::io("create gateway temp dir", e))?;
        let root_path = root.path().to_path_buf();
        let state_dir = root_path.join("state");
        let home_dir = root_path.join("home");
        for d in [&state_dir, &home_dir] {
            fs::create_dir_all(d).map_err(|e| TestkitError::io(format!("create {}", d.display()), e))?;
        }
        let config_path = state_dir.join("openclaw.json");
        let config = serde_json::to_vec_pretty(&self.config())?;
        fs::write(&config_path, config).map_err(|e| TestkitError::io(format!("write {}", config_path.display()), e))?;

        let mut gw = Gateway {
            prov,
            child: None,
            port: 0,
            token: self.token.clone().unwrap_or_else(|| random_hex(24)),
            root: Some(root),
            state_dir,
            home_dir,
            log_path: root_path.join("gateway.log"),
            env: self.env.clone(),
            ready_timeout: self.ready_timeout,
            log_tail_bytes: self.log_tail_bytes,
            last_start: Duration::ZERO,
            netns: self.netns.clone(),
            bind: self.bind.clone(),
        };
        let mut last_err = None;
        for _ in 0..START_ATTEMPTS {
            gw.port = free_port()?;
            match gw.spawn_and_wait().await {
                Ok(()) => return Ok(gw),
                Err(e) => {
                    let retry = matches!(&e, TestkitError::Gateway { log_tail, .. }
                        if log_tail.contains("EADDRINUSE") || log_tail.contains("already in use"));
                    last_err = Some(e);
                    if !retry {
                        break;
                    }
                }
            }
        }
        // Keep the temp folder so the log path in the error stays readable.
        if let Some(root) = gw.root.take() {
            let kept = root.keep();
            eprintln!("clawnode-testkit: gateway failed to start; kept {}", kept.display());
        }
        Err(last_err.unwrap_or_else(|| TestkitError::Provision("gateway start: no attempt".into())))
    }
}

/// A running real Gateway. Killed (with its whole process group) on drop.
#[derive(Debug)]
pub struct Gateway {
    prov: Provisioned,
    child: Option<Child>,
    port: u16,
    token: String,
    root: Option<TempDir>,
    state_dir: PathBuf,
    home_dir: PathBuf,
    log_path: PathBuf,
    env: Vec<(String, String)>,
    ready_timeout: Duration,
    log_tail_bytes: usize,
    last_start: Duration,
    netns: Option<String>,
    bind: String,
}

impl Gateway {
    /// Shorthand for [`GatewayBuilder::new`].
    pub fn builder() -> GatewayBuilder {
        GatewayBuilder::new()
    }

    /// `ws://127.0.0.1:<port>` (the Gateway's WebSocket root).
    pub fn ws_url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// The loopback port the Gateway listens on (kept across [`Gateway::restart`]).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The shared gateway token (`--auth token --token <this>`).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// `OPENCLAW_STATE_DIR` (holds `openclaw.json`, pairing state, …).
    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// The `HOME` given to the Gateway.
    pub fn home_dir(&self) -> &Path {
        &self.home_dir
    }

    /// The log file receiving the Gateway's stdout and stderr (all runs appended).
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// The last `bytes` bytes of the log, ANSI codes stripped.
    pub fn log_tail(&self, bytes: usize) -> String {
        file_tail(&self.log_path, bytes as u64)
    }

    /// The provisioned paths this Gateway runs from.
    pub fn provisioned(&self) -> &Provisioned {
        &self.prov
    }

    /// The pid (and process-group id) of the running Gateway.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// How long the last start took (spawn to ready).
    pub fn startup_time(&self) -> Duration {
        self.last_start
    }

    /// Whether the Gateway process is still running (reaps it if it exited).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Stops the Gateway: SIGTERM to its process group, SIGKILL after 10 s, then reaps
    /// it. Returns the exit status (`None` if it was not running).
    pub async fn stop(&mut self) -> Result<Option<ExitStatus>, TestkitError> {
        let Some(mut child) = self.child.take() else {
            return Ok(None);
        };
        let pgid = child.id() as i32;
        signal_group(pgid, libc::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        let mut exited = false;
        while Instant::now() < deadline {
            if has_exited(pgid) {
                exited = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if !exited {
            eprintln!("clawnode-testkit: gateway pid {pgid} ignored SIGTERM for {STOP_GRACE:?}; SIGKILL");
        }
        // The leader is exited (a zombie, so the pgid cannot be reused) or still
        // running; either way kill whatever is left in the group.
        signal_group(pgid, libc::SIGKILL);
        let status = tokio::task::spawn_blocking(move || child.wait())
            .await
            .map_err(|e| TestkitError::Provision(format!("reaper task: {e}")))?
            .map_err(|e| TestkitError::io("wait for gateway", e))?;
        let deadline = Instant::now() + GROUP_GONE_WAIT;
        while group_alive(pgid) && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Some(status))
    }

    /// Stops the Gateway and starts it again on the same port with the same state dir,
    /// config file and token, waiting for readiness again.
    pub async fn restart(&mut self) -> Result<(), TestkitError> {
        self.stop().await?;
        self.spawn_and_wait().await
    }

    /// Sends SIGKILL to the process group and reaps the leader (no graceful shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pgid = child.id() as i32;
            signal_group(pgid, libc::SIGKILL);
            let _ = child.wait();
            wait_group_gone(pgid, GROUP_GONE_WAIT);
        }
    }

    /// Whether the port accepts a TCP connection (on the namespace's loopback with a netns).
    async fn accepts(&self) -> bool {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], self.port));
        match &self.netns {
            Some(ns) => crate::netns::NetnsPair::wait_tcp(ns, addr, Duration::from_secs(1)).await,
            None => tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr))
                .await
                .is_ok_and(|r| r.is_ok()),
        }
    }

    fn gateway_error(&self, message: String) -> TestkitError {
        TestkitError::Gateway { message, log_path: self.log_path.clone(), log_tail: self.log_tail(self.log_tail_bytes) }
    }

    async fn spawn_and_wait(&mut self) -> Result<(), TestkitError> {
        let started = Instant::now();
        let log_offset = fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0);
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(|e| TestkitError::io(format!("open {}", self.log_path.display()), e))?;
        let log_err = log.try_clone().map_err(|e| TestkitError::io("clone log handle", e))?;

        let mut cmd = match &self.netns {
            Some(ns) => crate::netns::NetnsPair::command(ns, &self.prov.node),
            None => Command::new(&self.prov.node),
        };
        cmd.arg(&self.prov.openclaw_entry)
            .args(["gateway", "run", "--bind", &self.bind, "--port"])
            .arg(self.port.to_string())
            .args(["--auth", "token", "--token"])
            .arg(&self.token)
            .arg("--allow-unconfigured")
            .current_dir(&self.home_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(log))
            .stderr(Stdio::from(log_err));
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OPENCLAW_") {
                cmd.env_remove(&k);
            }
        }
        let path = match std::env::var_os("PATH") {
            Some(old) => {
                let mut v = vec![self.prov.node_bin_dir.clone()];
                v.extend(std::env::split_paths(&old));
                std::env::join_paths(v).unwrap_or(old)
            }
            None => self.prov.node_bin_dir.clone().into_os_string(),
        };
        cmd.env("PATH", path)
            .env("OPENCLAW_STATE_DIR", &self.state_dir)
            .env("HOME", &self.home_dir)
            .env("NO_COLOR", "1");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        {
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd.spawn().map_err(|e| TestkitError::io(format!("spawn {}", self.prov.node.display()), e))?;
        self.child = Some(child);

        let deadline = started + self.ready_timeout;
        let mut saw_ready = false;
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(status)) = c.try_wait()
            {
                self.child = None;
                return Err(self.gateway_error(format!("exited during startup ({status}) on port {}", self.port)));
            }
            if !saw_ready {
                saw_ready = log_shows_ready(&self.log_path, log_offset);
            }
            if saw_ready && self.accepts().await {
                self.last_start = started.elapsed();
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(self.gateway_error(format!(
                    "not ready within {:?} on port {} (saw ready line: {saw_ready})",
                    self.ready_timeout, self.port
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
        let keep =
            std::thread::panicking() || std::env::var_os("CLAWNODE_KEEP_GATEWAY_STATE").is_some_and(|v| !v.is_empty());
        if keep && let Some(root) = self.root.take() {
            let kept = root.keep();
            eprintln!(
                "clawnode-testkit: kept gateway state and log in {} (log: {})",
                kept.display(),
                self.log_path.display()
            );
        }
    }
}

/// True when a line of the log (from `offset` on) is the Gateway's readiness line:
/// `[gateway]` followed by the word `ready` (not e.g. `spawn broker ready pid=…`).
fn log_shows_ready(path: &Path, offset: u64) -> bool {
    let Ok(bytes) = fs::read(path) else {
        return false;
    };
    let start = usize::try_from(offset).unwrap_or(0).min(bytes.len());
    let text = strip_ansi(&String::from_utf8_lossy(&bytes[start..]));
    text.lines().any(is_ready_line)
}

fn is_ready_line(line: &str) -> bool {
    match line.find("[gateway]") {
        Some(i) => line[i + "[gateway]".len()..].split_whitespace().next() == Some("ready"),
        None => false,
    }
}

/// Picks a free loopback port (bind `127.0.0.1:0`, read, drop).
fn free_port() -> Result<u16, TestkitError> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| TestkitError::io("bind 127.0.0.1:0", e))?;
    let port = l.local_addr().map_err(|e| TestkitError::io("local_addr", e))?.port();
    Ok(port)
}

#[allow(unsafe_code, reason = "kill(2) on our own child's process group")]
pub(crate) fn signal_group(pgid: i32, sig: i32) {
    if pgid > 0 {
        // SAFETY: kill(2) with a negative pid signals our own child's process group.
        unsafe {
            libc::kill(-pgid, sig);
        }
    }
}

/// Whether any process (zombies included) is left in process group `pgid`.
#[allow(unsafe_code, reason = "kill(2) with signal 0")]
fn group_alive(pgid: i32) -> bool {
    // SAFETY: signal 0 only probes for existence.
    pgid > 0 && unsafe { libc::kill(-pgid, 0) } == 0
}

/// Blocks (bounded by `max`) until process group `pgid` is gone. Members reparented
/// to init disappear once they are reaped, which is quick but asynchronous.
fn wait_group_gone(pgid: i32, max: Duration) {
    let deadline = Instant::now() + max;
    while group_alive(pgid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the child `pid` has exited, without reaping it (`WNOWAIT`), so its pid and
/// process-group id stay reserved until we `wait` for it.
#[allow(unsafe_code, reason = "waitid(2) on our own child")]
fn has_exited(pid: i32) -> bool {
    // SAFETY: waitid on our own child with a zeroed siginfo_t out-parameter.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(libc::P_PID, pid as libc::id_t, &mut info, libc::WEXITED | libc::WNOHANG | libc::WNOWAIT);
        rc == 0 && info.si_pid() != 0
    }
}

/// Deep-merges `src` into `dst`: objects merge recursively, other values replace.
pub fn merge_json(dst: &mut Value, src: Value) {
    match (dst, src) {
        (Value::Object(d), Value::Object(s)) => {
            for (k, v) in s {
                match d.get_mut(&k) {
                    Some(existing) => merge_json(existing, v),
                    None => {
                        d.insert(k, v);
                    }
                }
            }
        }
        (d, s) => *d = s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line() {
        assert!(is_ready_line("2026-11-26T03:07:55.552+00:00 [gateway] ready"));
        assert!(!is_ready_line("2026 [gateway] spawn broker ready pid=2302"));
        assert!(!is_ready_line("[heartbeat] ready"));
    }

    #[test]
    fn config_merge() {
        let b = GatewayBuilder::new()
            .auto_approve_local(false)
            .allow_commands(&["device.info"])
            .extra_config(json!({"gateway": {"nodes": {"pairing": {"x": 1}}}}));
        assert_eq!(
            b.config(),
            json!({"gateway": {"nodes": {
                "pairing": {"autoApproveLocal": false, "x": 1},
                "commands": {"allow": ["device.info"]}}}})
        );
    }
}
