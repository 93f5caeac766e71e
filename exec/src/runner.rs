//! Runs one command: argv (no shell added), cwd, a cleared environment ([`child_env`]),
//! a combined output cap, a timeout and cancellation.
//!
//! Containment. With a [`ReaperCommand`] (the CLI sets one) the command runs under a
//! per-run reaper process ([`super::reaper`]) that, on timeout or cancellation, kills every
//! descendant, including those that called `setsid` or double-forked. Without one (a library
//! host that cannot re-execute itself) the command runs in its own process group and only
//! that group is killed: a descendant that left the group survives. Either way the answer
//! is bounded: after a timeout the runner waits at most [`REAPER_GRACE`] for the reaper,
//! kills the group, and stops reading output [`KILL_BUDGET`] after the timeout, whatever
//! still holds the pipes. A command that exits on its own may leave background processes:
//! they are left alone (the official host does the same); output capture stops
//! [`DRAIN_GRACE`] after the exit.

use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::child_env;
use super::reaper::{ReaperCommand, Report};

/// The combined stdout+stderr capture limit of `system.run`.
pub const MAX_OUTPUT_BYTES: usize = 200_000;

/// Appended to stderr (or stdout when stderr is empty) when output was cut.
pub const TRUNCATION_MARKER: &str = "\n... (truncated)";

/// How long output pipes may stay open after the command exited (a background grandchild
/// holding them) before the capture stops.
pub const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// How long the reaper may take to kill the tree once asked, before it is killed itself
/// (with its process group).
pub const REAPER_GRACE: Duration = Duration::from_millis(500);

/// After a timeout or a cancellation, everything (kill, reap, output drain) ends within
/// this: the answer goes out within `timeoutMs` + 1 s.
pub const KILL_BUDGET: Duration = Duration::from_millis(900);

/// What to run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    /// argv; `argv[0]` is looked up in `path_env` when it has no `/`.
    pub argv: Vec<String>,
    /// Working directory.
    pub cwd: Option<PathBuf>,
    /// Environment overrides (already checked by the policy; [`child_env::build`] refuses
    /// the node's own keys in addition).
    pub env: Vec<(String, String)>,
    /// PATH of the child (and for the lookup of `argv[0]`).
    pub path_env: String,
    /// Kill everything after this long.
    pub timeout: Option<Duration>,
    /// Capture limit (bytes, stdout and stderr together).
    pub max_output: usize,
    /// The per-run reaper; `None`: process-group containment only (see the module docs).
    pub reaper: Option<ReaperCommand>,
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

/// A started command: the reaper (when there is one) or the command itself, leader of its
/// own process group.
struct Running {
    child: tokio::process::Child,
    /// The process group (the child's pid).
    pgid: Option<rustix::process::Pid>,
    /// Reaper mode: the runner's end of the control socket. Shutting it down or dropping it
    /// (an aborted handler) makes the reaper kill every descendant.
    ctl: Option<tokio::net::UnixStream>,
}

impl Running {
    /// Kills the run: asks the reaper (at most [`REAPER_GRACE`]), then kills the process
    /// group and waits for the child until `deadline`.
    async fn stop(&mut self, deadline: Instant) -> Option<ExitStatus> {
        if let Some(ctl) = &mut self.ctl {
            let _ = ctl.shutdown().await;
            let grace = (Instant::now() + REAPER_GRACE).min(deadline);
            if let Ok(s) = tokio::time::timeout_at(grace, self.child.wait()).await {
                return s.ok();
            }
            tracing::warn!("exec reaper did not finish in time; killing its process group");
        }
        self.kill_group();
        tokio::time::timeout_at(deadline, self.child.wait()).await.ok().and_then(Result::ok)
    }

    /// SIGKILL to the group, only while the child is unreaped (its pid, hence the group id,
    /// cannot have been recycled).
    fn kill_group(&mut self) {
        if self.child.id().is_some()
            && let Some(pgid) = self.pgid.take()
        {
            let _ = rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL);
        }
    }

    /// The command's exit code: the reaper's report (bounded by `until`), else the status.
    async fn exit_code(&mut self, status: Option<ExitStatus>, until: Instant) -> Result<Option<i32>, String> {
        let Some(ctl) = &mut self.ctl else { return Ok(status.and_then(|s| s.code())) };
        let mut buf = Vec::new();
        let mut chunk = [0u8; 512];
        while !buf.contains(&b'\n') && buf.len() < 4096 {
            match tokio::time::timeout_at(until, ctl.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                _ => break,
            }
        }
        match Report::decode(&String::from_utf8_lossy(&buf)) {
            Some(Report::Exited(c)) => Ok(Some(c)),
            Some(Report::SpawnFailed(m)) => Err(m),
            Some(Report::Signaled(_)) | None => Ok(None),
        }
    }
}

impl Drop for Running {
    /// An aborted or cancelled handler never leaves the command running: in reaper mode the
    /// dropped control socket is the kill request; without a reaper the group is killed.
    fn drop(&mut self) {
        if self.ctl.is_none() {
            self.kill_group();
        }
    }
}

/// The parts of the command line shared by both modes.
fn base_command(program: &Path, spec: &RunSpec, env: &[(OsString, OsString)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(program);
    cmd.env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    if let Some(cwd) = &spec.cwd {
        cmd.current_dir(cwd);
    }
    cmd
}

fn pgid_of(child: &tokio::process::Child) -> Option<rustix::process::Pid> {
    child.id().and_then(|id| i32::try_from(id).ok()).and_then(rustix::process::Pid::from_raw)
}

/// `reaper args… <program> <argv0> <args>…`, stdin = the reaper's end of the control socket.
fn spawn_reaped(
    reaper: &ReaperCommand,
    program: &Path,
    spec: &RunSpec,
    env: &[(OsString, OsString)],
) -> std::io::Result<Running> {
    let (ours, theirs) = std::os::unix::net::UnixStream::pair()?;
    ours.set_nonblocking(true)?;
    let ctl = tokio::net::UnixStream::from_std(ours)?;
    let mut cmd = base_command(&reaper.program, spec, env);
    cmd.args(&reaper.args).arg(program).args(&spec.argv).stdin(Stdio::from(OwnedFd::from(theirs))).kill_on_drop(false);
    let child = cmd.spawn()?;
    // `cmd` (and with it the reaper's end of the socket) is dropped here.
    Ok(Running { pgid: pgid_of(&child), child, ctl: Some(ctl) })
}

fn spawn_direct(program: &Path, spec: &RunSpec, env: &[(OsString, OsString)]) -> std::io::Result<Running> {
    let mut cmd = base_command(program, spec, env);
    if let Some(arg0) = spec.argv.first() {
        cmd.arg0(arg0);
    }
    cmd.args(spec.argv.get(1..).unwrap_or_default()).kill_on_drop(true);
    let child = cmd.spawn()?;
    Ok(Running { pgid: pgid_of(&child), child, ctl: None })
}

/// Runs `spec` to completion, timeout or cancellation, with the environment built from the
/// node's own ([`child_env::build`]). On cancellation everything is killed and `None` is
/// returned.
pub async fn run(spec: RunSpec, cancel: &CancellationToken) -> Option<RunOutcome> {
    run_with_parent_env(spec, std::env::vars_os().collect(), cancel).await
}

/// [`run`] with `parent` standing for the node's environment.
pub(crate) async fn run_with_parent_env(
    spec: RunSpec,
    parent: Vec<(OsString, OsString)>,
    cancel: &CancellationToken,
) -> Option<RunOutcome> {
    let Some(arg0) = spec.argv.first() else { return Some(RunOutcome::failed("command required".into())) };
    if let Some(cwd) = &spec.cwd
        && !cwd.is_dir()
    {
        return Some(RunOutcome::failed(format!(
            "node exec working directory does not exist on the node host: {}",
            cwd.display()
        )));
    }
    let env = match child_env::build(parent, &spec.path_env, &spec.env) {
        Ok(env) => env,
        Err(e) => return Some(RunOutcome::failed(format!("SYSTEM_RUN_DENIED: {e}"))),
    };
    let program = if arg0.contains('/') {
        PathBuf::from(arg0)
    } else {
        match super::policy::which(arg0, &spec.path_env) {
            Some(p) => p,
            None => return Some(RunOutcome::failed(format!("command not found on the node host: {arg0}"))),
        }
    };
    let spawned = match &spec.reaper {
        Some(r) => spawn_reaped(r, &program, &spec, &env).or_else(|e| {
            tracing::warn!(error = %e, reaper = %r.program.display(), "exec reaper unavailable; process-group containment only");
            spawn_direct(&program, &spec, &env)
        }),
        None => spawn_direct(&program, &spec, &env),
    };
    let mut running = match spawned {
        Ok(r) => r,
        Err(e) => return Some(RunOutcome::failed(format!("cannot start {}: {e}", program.display()))),
    };
    let cap = Arc::new(Mutex::new(Capture::default()));
    let mut readers = Vec::new();
    if let Some(out) = running.child.stdout.take() {
        readers.push(tokio::spawn(pump(out, cap.clone(), spec.max_output, false)));
    }
    if let Some(err) = running.child.stderr.take() {
        readers.push(tokio::spawn(pump(err, cap.clone(), spec.max_output, true)));
    }
    let timeout = async {
        match spec.timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    enum End {
        Exited(Option<ExitStatus>),
        TimedOut,
        Cancelled,
    }
    let end = tokio::select! {
        s = running.child.wait() => End::Exited(s.ok()),
        _ = timeout => End::TimedOut,
        _ = cancel.cancelled() => End::Cancelled,
    };
    let (status, timed_out, drain_until) = match end {
        End::Cancelled => {
            running.stop(Instant::now() + KILL_BUDGET).await;
            for r in &readers {
                r.abort();
            }
            return None;
        }
        End::TimedOut => {
            let deadline = Instant::now() + KILL_BUDGET;
            (running.stop(deadline).await, true, deadline)
        }
        // The command exited: what it left behind is left alone (see the module docs).
        End::Exited(s) => (s, false, Instant::now() + DRAIN_GRACE),
    };
    let all = futures_util::future::join_all(readers.iter_mut());
    if tokio::time::timeout_at(drain_until, all).await.is_err() {
        // Something still holds the pipes: stop reading (the readers drop their ends).
        for r in &readers {
            r.abort();
        }
    }
    let exit_code = match running.exit_code(status, drain_until.max(Instant::now() + Duration::from_millis(50))).await {
        Ok(c) => c,
        Err(message) => return Some(RunOutcome::failed(message)),
    };
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
    Some(RunOutcome { exit_code, timed_out, stdout, stderr, truncated: c.truncated, error: None })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::DEFAULT_PATH;

    fn spec(argv: &[&str]) -> RunSpec {
        RunSpec {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            cwd: None,
            env: vec![],
            path_env: DEFAULT_PATH.into(),
            timeout: None,
            max_output: MAX_OUTPUT_BYTES,
            reaper: None,
        }
    }

    fn read_pid(path: &Path) -> i32 {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(pid) = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse().ok()) {
                return pid;
            }
            assert!(std::time::Instant::now() < deadline, "no pid in {}", path.display());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn kill(pid: i32) {
        if let Some(p) = rustix::process::Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(p, rustix::process::Signal::KILL);
        }
    }

    /// Attack (issue #12): the node's environment (Gateway token, `CLAWNODE_*`, the service
    /// env file's keys, a poisoned PATH) reached every child. The child now sees exactly
    /// the inherited table, PATH = the host's, and the overrides.
    #[tokio::test]
    async fn child_sees_exactly_the_allowed_environment() {
        let mut s = spec(&["env", "-0"]);
        s.env = vec![("FOO".into(), "bar".into()), ("LANG".into(), "de_DE.UTF-8".into())];
        let parent = crate::child_env::tests::node_env();
        let o = run_with_parent_env(s, parent, &CancellationToken::new()).await.unwrap();
        assert_eq!(o.exit_code, Some(0), "{o:?}");
        let mut seen: Vec<&str> = o.stdout.split('\0').filter(|l| !l.is_empty()).collect();
        seen.sort();
        let path = format!("PATH={DEFAULT_PATH}");
        let mut want = vec![
            "FOO=bar",
            "HOME=/home/node",
            "LANG=de_DE.UTF-8",
            "LC_ALL=C",
            "LOGNAME=node",
            &path,
            "TERM=xterm",
            "TZ=UTC",
            "USER=node",
        ];
        want.sort();
        assert_eq!(seen, want);
        assert!(!o.stdout.contains("SECRET"));
    }

    /// Attack: an override naming the node's own keys is refused before anything starts.
    #[tokio::test]
    async fn reserved_override_is_refused_before_start() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("started");
        let mut s = spec(&["touch", marker.to_str().unwrap()]);
        s.env = vec![("OPENCLAW_GATEWAY_TOKEN".into(), "x".into())];
        let o = run(s, &CancellationToken::new()).await.unwrap();
        assert_eq!(
            o.error.as_deref(),
            Some("SYSTEM_RUN_DENIED: environment override rejected (reserved override keys: OPENCLAW_GATEWAY_TOKEN)")
        );
        assert!(!marker.exists());
    }

    /// Attack: `sh -c "setsid sleep 47 & sleep 30"`, `timeoutMs: 1000` got no answer until
    /// the Gateway's own timeout (the setsid'd child held the output pipes). Without a
    /// reaper the setsid'd child still escapes the group kill (documented), but the answer
    /// is bounded: timeout + KILL_BUDGET.
    #[tokio::test]
    async fn timeout_answer_is_bounded_without_reaper() {
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("setsid.pid");
        let script = format!("setsid sh -c 'echo $$ > {}; exec sleep 47' & sleep 30", pidfile.display());
        let mut s = spec(&["sh", "-c", &script]);
        s.timeout = Some(Duration::from_millis(300));
        let started = std::time::Instant::now();
        let o = run(s, &CancellationToken::new()).await.unwrap();
        let took = started.elapsed();
        kill(read_pid(&pidfile));
        assert!(o.timed_out);
        assert_eq!(o.exit_code, None);
        assert!(took < Duration::from_millis(300) + Duration::from_secs(1), "answer after {took:?}");
    }

    /// After a normal exit, background processes are left alone and the capture stops
    /// DRAIN_GRACE after the exit even though they hold the pipes.
    #[tokio::test]
    async fn normal_exit_leaves_background_alone_and_drain_is_bounded() {
        let started = std::time::Instant::now();
        let o = run(spec(&["sh", "-c", "sleep 30 & echo $!"]), &CancellationToken::new()).await.unwrap();
        let took = started.elapsed();
        assert_eq!(o.exit_code, Some(0));
        let pid: i32 = o.stdout.trim().parse().unwrap();
        let survived = alive(pid);
        kill(pid);
        assert!(survived, "the background process of a normal exit was killed");
        assert!(took < DRAIN_GRACE + Duration::from_millis(700), "answer after {took:?}");
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
