//! The per-run reaper: a small process between the runner and the command that makes
//! "kill everything this run started" possible, including processes that called `setsid`
//! or double-forked (they leave the command's process group, so a group kill misses them).
//!
//! A host that wants containment re-executes itself in a hidden mode ([`REAPER_SUBCOMMAND`],
//! dispatched before any argument parsing) and calls [`reaper_main`] with the rest of its
//! arguments: `<program> <argv0> <args>…`. The reaper
//!
//! 1. marks itself `PR_SET_CHILD_SUBREAPER`: every orphan among its descendants is reparented
//!    to it, never to init, so all of them stay findable as its direct children;
//! 2. spawns the command (stdin `/dev/null`, stdout/stderr inherited: the runner's pipes;
//!    environment and working directory inherited: the runner gave the reaper the child's);
//! 3. waits. When the command exits on its own, it reports the status and exits at once:
//!    background processes the command left behind are left alone (the official host
//!    behaves the same; containment is for timeout and cancellation);
//! 4. when told to stop, it kills: in rounds, every direct child (`SIGKILL`) and the
//!    process group each one leads, reaping as they die, until it has no child left (then no
//!    descendant is left either: a living descendant always has a living ancestor chain up
//!    to the subreaper). Then it reports and exits.
//!
//! The control channel is the reaper's stdin, one end of a Unix socket pair whose other end
//! the runner holds: the runner asks for the kill by shutting its end down (or by dropping
//! it, or by dying: a crashed or killed node closes it too). The reaper writes its one-line
//! [`Report`] back on the same socket. Nothing here uses signal handlers (the crate forbids
//! `unsafe`), and `PR_SET_PDEATHSIG` is not used: it fires when the parent *thread* exits
//! (any runtime thread), and its signal would kill the reaper before it cleans up; the
//! socket's end-of-file covers the parent's death without either problem.
//!
//! Race freedom: a child that has not been reaped keeps its pid, so killing "my direct
//! children" cannot hit a recycled pid as long as no reaping happens between listing and
//! killing. Reaping and killing therefore take the same lock; the waiting thread blocks in
//! `waitid(WNOWAIT)` (which reaps nothing) and reaps under the lock.

use std::ffi::OsString;
use std::io::{Read as _, Write as _};
use std::os::fd::AsFd as _;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions, WaitOptions, WaitStatus};

/// The hidden first argument that makes a host binary run [`reaper_main`].
pub const REAPER_SUBCOMMAND: &str = "__exec-reaper";

/// How often the killing rounds repeat until the reaper has no child left.
const KILL_ROUND: Duration = Duration::from_millis(5);

/// How the runner starts a reaper: `program args… <command program> <argv0> <args>…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaperCommand {
    /// The executable (for the CLI: its own, resolved once at start).
    pub program: PathBuf,
    /// Arguments before the command (for the CLI: [`REAPER_SUBCOMMAND`]).
    pub args: Vec<OsString>,
}

impl ReaperCommand {
    /// `program __exec-reaper`: a binary that dispatches [`REAPER_SUBCOMMAND`] to
    /// [`reaper_main`].
    pub fn subcommand_of(program: PathBuf) -> Self {
        ReaperCommand { program, args: vec![OsString::from(REAPER_SUBCOMMAND)] }
    }
}

/// The reaper's one-line answer on the control socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Report {
    /// The command exited with this code.
    Exited(i32),
    /// The command was killed by this signal.
    Signaled(i32),
    /// The command could not be started (the message says why).
    SpawnFailed(String),
}

impl Report {
    fn from_status(st: WaitStatus) -> Self {
        match (st.exit_status(), st.terminating_signal()) {
            (Some(code), _) => Report::Exited(code),
            (None, Some(sig)) => Report::Signaled(sig),
            (None, None) => Report::Signaled(0),
        }
    }

    fn encode(&self) -> String {
        match self {
            Report::Exited(c) => format!("exit {c}\n"),
            Report::Signaled(s) => format!("signal {s}\n"),
            Report::SpawnFailed(m) => format!("error {}\n", m.replace('\n', " ")),
        }
    }

    /// Parses one line (without or with its newline).
    pub(crate) fn decode(line: &str) -> Option<Self> {
        let line = line.strip_suffix('\n').unwrap_or(line);
        let (kind, rest) = line.split_once(' ')?;
        match kind {
            "exit" => rest.parse().ok().map(Report::Exited),
            "signal" => rest.parse().ok().map(Report::Signaled),
            "error" => Some(Report::SpawnFailed(rest.to_string())),
            _ => None,
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            Report::Exited(c) => *c,
            Report::Signaled(s) => 128 + s,
            Report::SpawnFailed(_) => 127,
        }
    }
}

#[derive(Default)]
struct State {
    /// The command's pid.
    command: Option<Pid>,
    /// Its status once reaped.
    status: Option<WaitStatus>,
    /// A kill was requested: the command's exit no longer ends the reaper.
    killing: bool,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn report(ctl: &UnixStream, r: &Report) -> i32 {
    let mut w = ctl;
    let _ = w.write_all(r.encode().as_bytes());
    r.exit_code()
}

/// Runs the reaper (see the module documentation). `args` are the arguments after
/// [`REAPER_SUBCOMMAND`]: `<program> <argv0> <args>…`. Returns the process exit code: the
/// command's, `128 + signal` when a signal ended it, 127 when it could not start, 125 when
/// the reaper itself cannot work (no control socket on stdin). The runner decodes the
/// [`Report`] it writes rather than this code.
pub fn reaper_main(args: &[OsString]) -> i32 {
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else { return 125 };
    let ctl = UnixStream::from(fd);
    let [program, arg0, rest @ ..] = args else {
        return report(&ctl, &Report::SpawnFailed("reaper: usage: <program> <argv0> [args…]".into()));
    };
    // Should it fail (not Linux ≥ 3.4), orphans escape to init and only what stays a direct
    // child is killed; there is nobody to tell but the runner's bounded wait.
    let _ = rustix::process::set_child_subreaper(Some(rustix::process::getpid()));
    let state = Arc::new(Mutex::new(State::default()));
    {
        let mut st = lock(&state);
        let spawned = Command::new(program).arg0(arg0).args(rest).stdin(Stdio::null()).spawn();
        match spawned {
            Ok(child) => st.command = i32::try_from(child.id()).ok().and_then(Pid::from_raw),
            Err(e) => {
                let program = PathBuf::from(program);
                return report(&ctl, &Report::SpawnFailed(format!("cannot start {}: {e}", program.display())));
            }
        }
        // `child` is dropped without waiting: std neither kills nor reaps on drop.
    }
    if let Ok(reader) = ctl.try_clone() {
        let state = state.clone();
        std::thread::spawn(move || killer(reader, &state));
    }
    // Wait for any child to become waitable without reaping it, then reap under the lock.
    loop {
        match rustix::process::waitid(WaitId::All, WaitIdOptions::EXITED | WaitIdOptions::NOWAIT) {
            Ok(_) => {}
            Err(Errno::INTR) => continue,
            Err(_) => break, // ECHILD: no child, hence no descendant, is left.
        }
        let mut st = lock(&state);
        while let Ok(Some((pid, status))) = rustix::process::wait(WaitOptions::NOHANG) {
            if Some(pid) == st.command {
                st.status = Some(status);
                if !st.killing {
                    return report(&ctl, &Report::from_status(status));
                }
            }
        }
    }
    let st = lock(&state);
    report(&ctl, &st.status.map_or(Report::Signaled(Signal::KILL.as_raw()), Report::from_status))
}

/// Blocks until the runner asks for the kill (any byte, end of file or an error on the
/// control socket), then kills in rounds until the process exits (the waiting thread ends
/// it once no child is left).
fn killer(mut ctl: UnixStream, state: &Mutex<State>) {
    let mut byte = [0u8; 1];
    let _ = ctl.read(&mut byte);
    lock(state).killing = true;
    loop {
        {
            let _st = lock(state);
            for pid in direct_children() {
                let _ = rustix::process::kill_process(pid, Signal::KILL);
                if rustix::process::getpgid(Some(pid)) == Ok(pid) {
                    let _ = rustix::process::kill_process_group(pid, Signal::KILL);
                }
            }
        }
        std::thread::sleep(KILL_ROUND);
    }
}

fn parse_pids(s: &str) -> impl Iterator<Item = Pid> + '_ {
    s.split_ascii_whitespace().filter_map(|p| p.parse::<i32>().ok()).filter_map(Pid::from_raw)
}

/// The reaper's direct children (all threads' `children` lists; a scan of `/proc/*/stat`
/// when the kernel has no `CONFIG_PROC_CHILDREN`). Zombies are included (killing them is
/// harmless); the caller holds the lock, so none of these pids can be recycled meanwhile.
fn direct_children() -> Vec<Pid> {
    let mut out = Vec::new();
    let tasks = match std::fs::read_dir("/proc/self/task") {
        Ok(t) => t,
        Err(_) => return children_by_scan(),
    };
    for task in tasks.flatten() {
        match std::fs::read_to_string(task.path().join("children")) {
            Ok(s) => out.extend(parse_pids(&s)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return children_by_scan(),
            Err(_) => {} // the thread ended meanwhile
        }
    }
    out
}

fn children_by_scan() -> Vec<Pid> {
    let me = rustix::process::getpid();
    let Ok(procs) = std::fs::read_dir("/proc") else { return Vec::new() };
    procs
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.split_whitespace().nth(1).map(str::to_string)))
                .flatten()
                .and_then(|ppid| ppid.parse::<i32>().ok())
                == Some(me.as_raw_nonzero().get())
        })
        .filter_map(Pid::from_raw)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_round_trip() {
        for r in
            [Report::Exited(0), Report::Exited(3), Report::Signaled(9), Report::SpawnFailed("cannot start x".into())]
        {
            assert_eq!(Report::decode(&r.encode()), Some(r));
        }
        assert_eq!(Report::decode("error a\nb"), Some(Report::SpawnFailed("a\nb".into())));
        assert_eq!(Report::SpawnFailed("a\nb".into()).encode(), "error a b\n");
        assert_eq!(Report::decode("exit x"), None);
        assert_eq!(Report::decode(""), None);
        assert_eq!(Report::Signaled(9).exit_code(), 137);
    }

    #[test]
    fn lists_own_children() {
        let mut c = Command::new("sleep").arg("5").spawn().unwrap();
        let pid = Pid::from_raw(c.id() as i32).unwrap();
        assert!(direct_children().contains(&pid));
        assert!(children_by_scan().contains(&pid));
        c.kill().unwrap();
        c.wait().unwrap();
    }
}
