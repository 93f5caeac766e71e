//! Runs one command in its own process group: argv (no shell added), cwd, environment,
//! a combined output cap, a timeout and cancellation that kill the whole group.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio_util::sync::CancellationToken;

/// The combined stdout+stderr capture limit of `system.run`.
pub const MAX_OUTPUT_BYTES: usize = 200_000;

/// Appended to stderr (or stdout when stderr is empty) when output was cut.
pub const TRUNCATION_MARKER: &str = "\n... (truncated)";

/// How long output pipes may stay open after the command exited (a background grandchild
/// holding them) before the capture stops.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// What to run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// argv; `argv[0]` is looked up in `path_env` when it has no `/`.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Environment overrides (already checked).
    pub env: Vec<(String, String)>,
    /// PATH of the child (and for the lookup of `argv[0]`).
    pub path_env: String,
    /// Kill the group after this long.
    pub timeout: Option<Duration>,
    /// Capture limit (bytes, stdout and stderr together).
    pub max_output: usize,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Exit code (`None` when killed by a signal or never started).
    pub exit_code: Option<i32>,
    /// The timeout killed it.
    pub timed_out: bool,
    /// Captured stdout (lossy UTF-8).
    pub stdout: String,
    /// Captured stderr (lossy UTF-8).
    pub stderr: String,
    /// Output beyond the cap was dropped (the marker is already appended).
    pub truncated: bool,
    /// It could not be started.
    pub error: Option<String>,
}

impl RunOutcome {
    /// Exit code 0, no timeout, started.
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && !self.timed_out && self.error.is_none()
    }

    fn failed(error: String) -> Self {
        RunOutcome {
            exit_code: None,
            timed_out: false,
            stdout: String::new(),
            stderr: String::new(),
            truncated: false,
            error: Some(error),
        }
    }
}

#[derive(Default)]
struct Capture {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    truncated: bool,
}

/// Kills the process group when dropped, unless disarmed: an aborted or cancelled handler
/// never leaves the command running.
struct GroupGuard {
    pgid: Option<rustix::process::Pid>,
}

impl GroupGuard {
    fn kill(&mut self) {
        if let Some(pid) = self.pgid.take() {
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn pump<R: tokio::io::AsyncRead + Unpin>(mut r: R, cap: Arc<Mutex<Capture>>, max: usize, is_err: bool) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let Ok(mut c) = cap.lock() else { break };
        let used = c.stdout.len() + c.stderr.len();
        let room = max.saturating_sub(used);
        let take = n.min(room);
        if take < n {
            c.truncated = true;
        }
        let dst = if is_err { &mut c.stderr } else { &mut c.stdout };
        dst.extend_from_slice(&buf[..take]);
        // Keep reading (and discarding) so the command is not blocked on a full pipe.
    }
}

/// Runs `spec` to completion, timeout or cancellation. On cancellation the group is
/// killed and `None` is returned.
pub async fn run(spec: RunSpec, cancel: &CancellationToken) -> Option<RunOutcome> {
    let Some(arg0) = spec.argv.first() else { return Some(RunOutcome::failed("command required".into())) };
    if let Some(cwd) = &spec.cwd
        && !cwd.is_dir()
    {
        return Some(RunOutcome::failed(format!(
            "node exec working directory does not exist on the node host: {}",
            cwd.display()
        )));
    }
    let program = if arg0.contains('/') {
        PathBuf::from(arg0)
    } else {
        match super::policy::which(arg0, &spec.path_env) {
            Some(p) => p,
            None => return Some(RunOutcome::failed(format!("command not found on the node host: {arg0}"))),
        }
    };
    let mut cmd = tokio::process::Command::new(&program);
    cmd.arg0(arg0)
        .args(&spec.argv[1..])
        .env("PATH", &spec.path_env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (k, v) in &spec.env {
        cmd.env(k, v);
    }
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Some(RunOutcome::failed(format!("cannot start {}: {e}", program.display()))),
    };
    let mut guard =
        GroupGuard { pgid: child.id().and_then(|id| i32::try_from(id).ok()).and_then(rustix::process::Pid::from_raw) };
    let cap = Arc::new(Mutex::new(Capture::default()));
    let mut readers = Vec::new();
    if let Some(out) = child.stdout.take() {
        readers.push(tokio::spawn(pump(out, cap.clone(), spec.max_output, false)));
    }
    if let Some(err) = child.stderr.take() {
        readers.push(tokio::spawn(pump(err, cap.clone(), spec.max_output, true)));
    }
    let timeout = async {
        match spec.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    let mut timed_out = false;
    let status = tokio::select! {
        s = child.wait() => s.ok(),
        _ = timeout => {
            timed_out = true;
            guard.kill();
            child.wait().await.ok()
        }
        _ = cancel.cancelled() => {
            guard.kill();
            let _ = child.wait().await;
            for r in readers {
                r.abort();
            }
            return None;
        }
    };
    if timed_out {
        // The whole group is dead: pipes close at once.
        for r in readers {
            let _ = r.await;
        }
    } else {
        // The command exited; members of its group that outlive it are left alone, but
        // the capture stops once they keep the pipes open past a short grace.
        guard.pgid = None;
        let all = futures_util::future::join_all(readers.iter_mut());
        if tokio::time::timeout(DRAIN_GRACE, all).await.is_err() {
            for r in &readers {
                r.abort();
            }
        }
    }
    let c = std::mem::take(&mut *cap.lock().unwrap_or_else(|p| p.into_inner()));
    let mut stdout = String::from_utf8_lossy(&c.stdout).into_owned();
    let mut stderr = String::from_utf8_lossy(&c.stderr).into_owned();
    if c.truncated {
        if stderr.is_empty() {
            stdout.push_str(TRUNCATION_MARKER);
        } else {
            stderr.push_str(TRUNCATION_MARKER);
        }
    }
    let exit_code = status.and_then(|s| s.code());
    Some(RunOutcome { exit_code, timed_out, stdout, stderr, truncated: c.truncated, error: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::policy::DEFAULT_PATH;

    fn spec(argv: &[&str]) -> RunSpec {
        RunSpec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: None,
            env: vec![],
            path_env: DEFAULT_PATH.into(),
            timeout: None,
            max_output: MAX_OUTPUT_BYTES,
        }
    }

    /// Exists and is not a zombie (an unreaped zombie is dead for this purpose).
    fn alive(pid: i32) -> bool {
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(s) => s.rsplit(')').next().and_then(|r| r.split_whitespace().next()) != Some("Z"),
            Err(_) => false,
        }
    }

    #[tokio::test]
    async fn runs_argv_with_cwd_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spec(&["sh", "-c", "pwd; echo $GREETING; echo err >&2; exit 3"]);
        s.cwd = Some(dir.path().to_path_buf());
        s.env = vec![("GREETING".into(), "hi".into())];
        let o = run(s, &CancellationToken::new()).await.unwrap();
        assert_eq!(o.exit_code, Some(3));
        assert!(!o.success());
        let canon = std::fs::canonicalize(dir.path()).unwrap();
        assert_eq!(o.stdout, format!("{}\nhi\n", canon.display()));
        assert_eq!(o.stderr, "err\n");
        let o = run(spec(&["definitely-not-a-command-xyz"]), &CancellationToken::new()).await.unwrap();
        assert!(o.error.unwrap().contains("not found"));
        let mut s = spec(&["true"]);
        s.cwd = Some("/nonexistent/dir".into());
        let o = run(s, &CancellationToken::new()).await.unwrap();
        assert!(o.error.unwrap().contains("working directory does not exist"));
    }

    #[tokio::test]
    async fn caps_output_with_marker() {
        let o =
            run(spec(&["sh", "-c", "head -c 300000 /dev/zero | tr '\\0' x"]), &CancellationToken::new()).await.unwrap();
        assert!(o.truncated);
        assert_eq!(o.stdout.len(), MAX_OUTPUT_BYTES + TRUNCATION_MARKER.len());
        assert!(o.stdout.ends_with(TRUNCATION_MARKER));
        assert_eq!(o.exit_code, Some(0));
    }

    #[tokio::test]
    async fn timeout_and_cancel_kill_the_group() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("grandchild.pid");
        let script = format!("sh -c 'echo $$ > {}; sleep 30' & wait", pidfile.display());
        let mut s = spec(&["sh", "-c", &script]);
        s.timeout = Some(Duration::from_millis(500));
        let started = std::time::Instant::now();
        let o = run(s.clone(), &CancellationToken::new()).await.unwrap();
        assert!(o.timed_out);
        assert_eq!(o.exit_code, None);
        assert!(started.elapsed() < Duration::from_secs(5));
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!alive(pid), "grandchild {pid} survived the timeout");

        std::fs::remove_file(&pidfile).unwrap();
        s.timeout = None;
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        let pf = pidfile.clone();
        tokio::spawn(async move {
            while !pf.exists() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            c2.cancel();
        });
        assert!(run(s, &cancel).await.is_none());
        let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!alive(pid), "grandchild {pid} survived the cancel");
    }
}
