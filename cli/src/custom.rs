//! Commands without Rust: `[[commands]]` in the config file name an executable that gets
//! the invoke params as JSON on stdin and answers with a JSON result on stdout. A non-zero
//! exit with `CODE: message` on the last stderr line becomes that error.
//!
//! ```toml
//! [[commands]]
//! name = "garage.open"            # family.verb
//! argv = ["/usr/local/bin/garage", "open"]
//! timeout = 20                    # seconds (default 30)
//! dangerous = true                # informational: the Gateway must allow it anyway
//! ```

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clawnode::{CommandError, InvokeContext};
use clawnode_exec::child_env;
use clawnode_exec::policy::DEFAULT_PATH;
use serde::Deserialize;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// Largest stdout accepted (a result larger than this is refused).
pub const MAX_STDOUT: usize = 16 << 20;
/// stderr kept for the error message.
const MAX_STDERR: usize = 64 << 10;
/// Default timeout.
pub const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// One `[[commands]]` entry as written.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CustomCommandConfig {
    /// `family.verb`.
    pub name: String,
    /// Executable and its fixed arguments; a relative executable path is relative to the
    /// config file.
    pub argv: Vec<String>,
    /// Seconds before the process group is killed (default 30).
    pub timeout: Option<u64>,
    /// Marks the command dangerous (documentation and the startup hint; the Gateway's
    /// `gateway.nodes.commands.allow` decides).
    #[serde(default)]
    pub dangerous: bool,
}

/// A validated custom command.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomCommand {
    /// `family.verb`.
    pub name: String,
    /// Resolved argv.
    pub argv: Vec<String>,
    /// Kill after this long.
    pub timeout: Duration,
    /// Dangerous flag.
    pub dangerous: bool,
}

/// Why a `[[commands]]` entry was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomCommandError {
    /// Not `family.verb` (lower-case family, segments `[a-z][a-zA-Z0-9_-]*`).
    #[error("custom command {0:?}: the name must look like family.verb (e.g. garage.open)")]
    BadName(String),
    /// Same name as a built-in or a command reserved by the Gateway's policy.
    #[error("custom command {0:?} collides with a built-in or reserved command")]
    Reserved(String),
    /// Declared twice.
    #[error("custom command {0:?} is declared twice")]
    Duplicate(String),
    /// Empty argv or a missing / non-executable program.
    #[error("custom command {name:?}: {reason}")]
    BadArgv {
        /// The command.
        name: String,
        /// Why.
        reason: String,
    },
}

fn valid_name(name: &str) -> bool {
    let segs: Vec<&str> = name.split('.').collect();
    segs.len() >= 2
        && name.len() <= 128
        && segs.iter().all(|s| {
            s.starts_with(|c: char| c.is_ascii_lowercase())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
}

/// Validates the entries; `reserved` are names that may not be reused.
pub fn validate(
    entries: &[CustomCommandConfig],
    reserved: &[&str],
    base: Option<&Path>,
) -> Result<Vec<CustomCommand>, CustomCommandError> {
    let mut out: Vec<CustomCommand> = Vec::new();
    for e in entries {
        let name = e.name.trim().to_string();
        if !valid_name(&name) {
            return Err(CustomCommandError::BadName(name));
        }
        if reserved.contains(&name.as_str()) {
            return Err(CustomCommandError::Reserved(name));
        }
        if out.iter().any(|c| c.name == name) {
            return Err(CustomCommandError::Duplicate(name));
        }
        let Some(program) = e.argv.first().filter(|p| !p.is_empty()) else {
            return Err(CustomCommandError::BadArgv { name, reason: "argv must name an executable".into() });
        };
        let path = PathBuf::from(program);
        let path = match (path.is_absolute(), program.contains('/'), base) {
            (false, true, Some(b)) => b.join(path),
            _ => path,
        };
        if program.contains('/') {
            use std::os::unix::fs::PermissionsExt;
            let ok = std::fs::metadata(&path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
            if !ok {
                return Err(CustomCommandError::BadArgv {
                    name,
                    reason: format!("{} is not an executable file", path.display()),
                });
            }
        }
        let mut argv = e.argv.clone();
        argv[0] = path.to_string_lossy().into_owned();
        let timeout = Duration::from_secs(e.timeout.unwrap_or(DEFAULT_TIMEOUT_SECS).max(1));
        out.push(CustomCommand { name, argv, timeout, dangerous: e.dangerous });
    }
    Ok(out)
}

/// `CODE: message` from the last non-empty stderr line (CODE an UPPER_SNAKE token).
pub fn parse_error_line(stderr: &str) -> Option<(String, String)> {
    let line = stderr.lines().rev().find(|l| !l.trim().is_empty())?.trim();
    let (code, msg) = line.split_once(':')?;
    let ok = !code.is_empty()
        && code.len() <= 64
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    ok.then(|| (code.to_string(), msg.trim().to_string()))
}

async fn read_capped<R: tokio::io::AsyncRead + Unpin>(mut r: R, max: usize, over: Arc<Mutex<bool>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = max.saturating_sub(out.len());
                if n > room
                    && let Ok(mut o) = over.lock()
                {
                    *o = true;
                }
                out.extend_from_slice(&buf[..n.min(room)]);
            }
        }
    }
    out
}

fn kill_group(pid: Option<u32>) {
    if let Some(p) = pid.and_then(|p| i32::try_from(p).ok()).and_then(rustix::process::Pid::from_raw) {
        let _ = rustix::process::kill_process_group(p, rustix::process::Signal::KILL);
    }
}

/// Runs one invoke of `cmd`.
pub async fn invoke(cmd: Arc<CustomCommand>, ctx: InvokeContext) -> Result<Value, CommandError> {
    let Some(program) = cmd.argv.first() else { return Err(CommandError::unavailable("empty argv")) };
    // The same cleared environment as a `system.run` child: the node's credentials and
    // settings (`OPENCLAW_*`, `CLAWNODE_*`, a service's env file) never reach the command.
    let env = child_env::build(std::env::vars_os(), DEFAULT_PATH, &[])
        .map_err(|e| CommandError::unavailable(format!("cannot start {program}: {e}")))?;
    let mut child = tokio::process::Command::new(program)
        .args(&cmd.argv[1..])
        .env_clear()
        .envs(env)
        .env("CLAWNODE_COMMAND", &cmd.name)
        .env("CLAWNODE_INVOKE_ID", &ctx.id)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CommandError::unavailable(format!("cannot start {program}: {e}")))?;
    let pid = child.id();
    // Kills the group when the invoke is cancelled or the handler is dropped.
    struct Guard(Option<u32>);
    impl Drop for Guard {
        fn drop(&mut self) {
            kill_group(self.0.take());
        }
    }
    let mut guard = Guard(pid);
    let input = serde_json::to_vec(&ctx.params).unwrap_or_else(|_| b"null".to_vec());
    let stdin = child.stdin.take();
    let writer = tokio::spawn(async move {
        if let Some(mut s) = stdin {
            let _ = s.write_all(&input).await;
            let _ = s.shutdown().await;
        }
    });
    let over = Arc::new(Mutex::new(false));
    let out = child.stdout.take().map(|o| tokio::spawn(read_capped(o, MAX_STDOUT, over.clone())));
    let err = child.stderr.take().map(|e| tokio::spawn(read_capped(e, MAX_STDERR, Arc::new(Mutex::new(false)))));
    let status = tokio::select! {
        s = child.wait() => s.map_err(|e| CommandError::unavailable(format!("{}: {e}", cmd.name)))?,
        _ = tokio::time::sleep(cmd.timeout) => {
            kill_group(guard.0.take());
            let _ = child.wait().await;
            return Err(CommandError::new("TIMEOUT", format!("{} did not finish within {:?}", cmd.name, cmd.timeout)));
        }
        _ = ctx.cancel.cancelled() => {
            kill_group(guard.0.take());
            let _ = child.wait().await;
            return Err(CommandError::new("ABORTED", "cancelled"));
        }
    };
    // The command exited: do not kill what it left behind in its group.
    guard.0 = None;
    let _ = writer.await;
    let grace = Duration::from_millis(500);
    let stdout = match out {
        Some(h) => tokio::time::timeout(grace, h).await.ok().and_then(Result::ok).unwrap_or_default(),
        None => Vec::new(),
    };
    let stderr = match err {
        Some(h) => tokio::time::timeout(grace, h).await.ok().and_then(Result::ok).unwrap_or_default(),
        None => Vec::new(),
    };
    let stderr = String::from_utf8_lossy(&stderr);
    if !status.success() {
        if let Some((code, message)) = parse_error_line(&stderr) {
            return Err(CommandError::new(code, message));
        }
        let tail: String = stderr.trim().chars().rev().take(500).collect::<Vec<_>>().into_iter().rev().collect();
        let how = match status.code() {
            Some(c) => format!("exit code {c}"),
            None => "killed by a signal".into(),
        };
        return Err(CommandError::unavailable(format!("{} failed ({how}): {tail}", cmd.name)));
    }
    if over.lock().map(|o| *o).unwrap_or(false) {
        return Err(CommandError::new(
            "PAYLOAD_TOO_LARGE",
            format!("{} printed more than {MAX_STDOUT} bytes", cmd.name),
        ));
    }
    let text = String::from_utf8_lossy(&stdout);
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    serde_json::from_str(text.trim())
        .map_err(|e| CommandError::unavailable(format!("{} printed invalid JSON: {e}", cmd.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, argv: &[&str]) -> CustomCommandConfig {
        CustomCommandConfig {
            name: name.into(),
            argv: argv.iter().map(|s| s.to_string()).collect(),
            timeout: None,
            dangerous: false,
        }
    }

    #[test]
    fn validation() {
        let ok = validate(&[entry("garage.open", &["/bin/true"])], &["system.run"], None).unwrap();
        assert_eq!(ok[0].timeout, Duration::from_secs(30));
        for bad in ["garage", "Garage.open", "garage.", ".open", "garage open", "garage.o/pen"] {
            assert_eq!(
                validate(&[entry(bad, &["/bin/true"])], &[], None),
                Err(CustomCommandError::BadName(bad.trim().to_string())),
                "{bad}"
            );
        }
        assert!(matches!(
            validate(&[entry("system.run", &["/bin/true"])], &["system.run"], None),
            Err(CustomCommandError::Reserved(_))
        ));
        assert!(matches!(
            validate(&[entry("a.b", &["/bin/true"]), entry("a.b", &["/bin/true"])], &[], None),
            Err(CustomCommandError::Duplicate(_))
        ));
        assert!(matches!(validate(&[entry("a.b", &[])], &[], None), Err(CustomCommandError::BadArgv { .. })));
        assert!(matches!(
            validate(&[entry("a.b", &["/nonexistent/x"])], &[], None),
            Err(CustomCommandError::BadArgv { .. })
        ));
    }

    #[test]
    fn error_lines() {
        assert_eq!(
            parse_error_line("noise\nGARAGE_JAMMED: door stuck\n\n"),
            Some(("GARAGE_JAMMED".into(), "door stuck".into()))
        );
        assert_eq!(parse_error_line("Error: x"), None);
        assert_eq!(parse_error_line(""), None);
    }
}
