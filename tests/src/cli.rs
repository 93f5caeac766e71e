//! Running the `clawnode` binary from tests: build it once, spawn it, read its status lines.

use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::error::TestkitError;
use crate::workspace::{target_dir, workspace_root};

/// Path of the debug `clawnode` binary, built once per test process with
/// `cargo build -p clawnode-cli` (or `$CLAWNODE_BIN` when set).
pub fn clawnode_bin() -> Result<PathBuf, TestkitError> {
    static BUILT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = BUILT.get_or_init(|| {
        if let Some(p) = std::env::var_os("CLAWNODE_BIN") {
            return Ok(PathBuf::from(p));
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .args(["build", "--quiet", "-p", "clawnode-cli", "--bin", "clawnode"])
            .current_dir(workspace_root())
            .output()
            .map_err(|e| format!("cannot run cargo: {e}"))?;
        if !out.status.success() {
            return Err(format!("cargo build -p clawnode-cli failed: {}", String::from_utf8_lossy(&out.stderr)));
        }
        let target = target_dir().map_err(|e| e.to_string())?;
        Ok(target.join("debug").join("clawnode"))
    });
    r.clone().map_err(TestkitError::Provision)
}

/// A running `clawnode` process whose stdout and stderr lines are collected.
pub struct ClawnodeProcess {
    child: Option<Child>,
    lines: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl ClawnodeProcess {
    /// Spawns `clawnode <args>` with `envs` added and `OPENCLAW_GATEWAY_*` removed from the
    /// inherited environment (tests pass credentials explicitly).
    pub fn spawn(args: &[&str], envs: &[(&str, &str)]) -> Result<Self, TestkitError> {
        Self::spawn_with(&[], &clawnode_bin()?, args, envs)
    }

    /// [`ClawnodeProcess::spawn`] in network namespace `netns` (`ip netns exec`; the
    /// process id is still clawnode's own).
    pub fn spawn_in(netns: Option<&str>, args: &[&str], envs: &[(&str, &str)]) -> Result<Self, TestkitError> {
        let runner: Vec<String> = match netns {
            Some(ns) => ["ip", "netns", "exec", ns].map(str::to_string).to_vec(),
            None => Vec::new(),
        };
        Self::spawn_with(&runner, &clawnode_bin()?, args, envs)
    }

    /// Like [`spawn`](Self::spawn) with another binary, started through `runner` when it is
    /// not empty (`["qemu-aarch64"]` for a foreign-architecture build under qemu-user,
    /// `["chroot", "--userspec=clawnode:clawnode", root]` for a packaged install): the first
    /// element is the program, the others and then `bin` its first arguments.
    pub fn spawn_with(
        runner: &[String],
        bin: &std::path::Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> Result<Self, TestkitError> {
        let mut cmd = match runner.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        cmd.args(args)
            .env_remove("OPENCLAW_GATEWAY_URL")
            .env_remove("OPENCLAW_GATEWAY_TOKEN")
            .env_remove("OPENCLAW_GATEWAY_PASSWORD")
            .env_remove("OPENCLAW_STATE_DIR")
            .env_remove("CLAWNODE_PROXY")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().map_err(|e| TestkitError::io(format!("spawn {}", bin.display()), e))?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let mut readers = Vec::new();
        if let Some(out) = child.stdout.take() {
            let l = lines.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    eprintln!("[clawnode] {line}");
                    if let Ok(mut v) = l.lock() {
                        v.push(line);
                    }
                }
            }));
        }
        if let Some(err) = child.stderr.take() {
            let l = lines.clone();
            readers.push(std::thread::spawn(move || {
                for line in BufReader::new(err).lines().map_while(Result::ok) {
                    eprintln!("[clawnode:err] {line}");
                    if let Ok(mut v) = l.lock() {
                        v.push(line);
                    }
                }
            }));
        }
        Ok(ClawnodeProcess { child: Some(child), lines, readers })
    }

    /// The process id while it runs (for `/proc/<pid>` measurements).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// All lines so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().map(|v| v.clone()).unwrap_or_default()
    }

    /// Waits (bounded) for a line containing `needle`; returns it.
    pub async fn wait_line(&self, needle: &str, timeout: Duration) -> Result<String, TestkitError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(l) = self.lines().into_iter().find(|l| l.contains(needle)) {
                return Ok(l);
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout {
                    what: format!("clawnode line containing {needle:?}; got:\n{}", self.lines().join("\n")),
                    timeout,
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits (bounded) for the process to exit.
    pub async fn wait_exit(&mut self, timeout: Duration) -> Result<ExitStatus, TestkitError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(c) = self.child.as_mut()
                && let Ok(Some(st)) = c.try_wait()
            {
                self.child = None;
                // Let the readers collect the last lines (bounded: a grandchild may hold the pipes).
                let until = Instant::now() + Duration::from_secs(3);
                while self.readers.iter().any(|r| !r.is_finished()) && Instant::now() < until {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                return Ok(st);
            }
            if self.child.is_none() {
                return Err(TestkitError::Closed("process already reaped".into()));
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::Timeout { what: "clawnode exit".into(), timeout });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    /// SIGTERM, then wait up to 10 s (SIGKILL after that).
    pub async fn terminate(&mut self) -> Result<ExitStatus, TestkitError> {
        if let Some(c) = &self.child {
            let _ = Command::new("kill").args(["-TERM", &c.id().to_string()]).status();
        }
        match self.wait_exit(Duration::from_secs(10)).await {
            Ok(s) => Ok(s),
            Err(e) => {
                self.kill();
                Err(e)
            }
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for ClawnodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The files `clawnode service install --unit-dir <units>` wrote: the unit and its
/// environment file (empty when there is none).
#[derive(Debug, Clone)]
pub struct InstalledUnit {
    /// `clawnode.service`.
    pub unit: String,
    /// `clawnode.env`.
    pub env: String,
    /// What the installer printed.
    pub lines: Vec<String>,
}

/// Runs `clawnode service install --no-start --unit-dir <units> <args>`, requires success,
/// and reads what it wrote.
pub async fn service_install(units: &std::path::Path, args: &[&str]) -> Result<InstalledUnit, TestkitError> {
    service_install_env(units, args, &[]).await
}

/// [`service_install`] with extra environment variables for the installer (e.g. the
/// `HTTPS_PROXY` that `--proxy-from-env` copies).
pub async fn service_install_env(
    units: &std::path::Path,
    args: &[&str],
    envs: &[(&str, &str)],
) -> Result<InstalledUnit, TestkitError> {
    let units_arg = units.to_string_lossy().into_owned();
    let full = [&["service", "install", "--no-start", "--unit-dir", units_arg.as_str()][..], args].concat();
    let mut p = ClawnodeProcess::spawn(&full, envs)?;
    let status = p.wait_exit(Duration::from_secs(60)).await?;
    if !status.success() {
        return Err(TestkitError::Closed(format!("service install failed ({status}): {:?}", p.lines())));
    }
    let read = |name: &str| std::fs::read_to_string(units.join(name));
    let unit = read("clawnode.service").map_err(|e| TestkitError::io("read clawnode.service", e))?;
    Ok(InstalledUnit { unit, env: read("clawnode.env").unwrap_or_default(), lines: p.lines() })
}
