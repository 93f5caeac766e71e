//! Allowlist evaluation (the entry point of the exec policy).
//!
//! A command is analysed into the commands that will really run:
//! 1. `argv[0]` is resolved ([`resolve`]): PATH lookup in the host's sanitised PATH, paths
//!    with `.`/`..` components refused, symlinks followed to a canonical path;
//! 2. the program is identified by its canonical name (or, for `busybox`/`toybox`, the
//!    applet); when `argv[0]` names a wrapper or shell but resolves to something else, the
//!    command is refused;
//! 3. dispatch wrappers are unwrapped by their exact grammar ([`wrappers`]), `env`'s
//!    `NAME=VALUE` operands checked with the same key rules as `params.env`
//!    ([`env_keys`]); privilege changers and command-line builders are refused;
//! 4. a POSIX shell with `-c` anywhere in its options has its payload split into segments
//!    ([`shell`]), each analysed again (a nested shell payload is refused); a shell with a
//!    script operand is just a command.
//!
//! Every analysed command must match an allowlist entry: a path glob ([`glob`]) against the
//! canonical path (or the resolved path when it has no `..`), a bare-name glob against the
//! name when `argv[0]` had no `/` and was found in the PATH, then `argPattern`
//! ([`arg_pattern`]) against its arguments.

use std::path::{Path, PathBuf};

use super::approvals::{AllowEntry, ResolvedPolicy};
pub use super::arg_pattern::{arg_pattern_matches, exact_arg_pattern};
pub use super::env_keys::{BlockedKey, blocked_env_keys, check_override_key};
pub use super::glob::{glob_escape, glob_match};
pub use super::resolve::{DEFAULT_PATH, ResolveError, Resolved, basename, resolve, resolve_executable, which};
pub use super::shell::shell_segments;
use super::shell::{OTHER_SHELLS, SHELLS, STATEFUL_BUILTINS, ShellInvocation, parse_shell_args};
pub use super::wrappers::{DISPATCH_WRAPPERS, unwrap};
use super::wrappers::{Dispatch, MULTICALL, refused_dispatcher};

/// How many wrappers/shell levels one analysis follows before refusing.
const MAX_DEPTH: usize = 16;

/// Keys a shell wrapper keeps from the overrides (everything else is dropped).
fn shell_safe_env(key: &str) -> bool {
    matches!(key, "TERM" | "LANG" | "COLORTERM" | "NO_COLOR" | "FORCE_COLOR") || key.starts_with("LC_")
}

/// Keeps the overrides a shell wrapper may receive.
pub fn filter_shell_env(env: Vec<(String, String)>) -> Vec<(String, String)> {
    env.into_iter().filter(|(k, _)| shell_safe_env(k)).collect()
}

/// The shell payload of `argv` (`sh -c PAYLOAD`, `bash -ec`, `busybox sh -c`, …), by the
/// shell's option grammar and the basename of `argv[0]` (no file system access).
pub fn shell_payload(argv: &[String]) -> Option<&str> {
    let name = basename(argv.first()?);
    let (shell, args) =
        if MULTICALL.contains(&name) { (argv.get(1)?.as_str(), argv.get(2..)?) } else { (name, &argv[1..]) };
    if !SHELLS.contains(&shell) {
        return None;
    }
    match parse_shell_args(args) {
        ShellInvocation::Payload(p) => Some(p),
        _ => None,
    }
}

fn needs_quotes(a: &str) -> bool {
    a.is_empty() || !a.chars().all(|c| c.is_ascii_alphanumeric() || "_./:=@%+,-".contains(c))
}

/// The display form of argv: arguments joined by spaces, quoted with `"…"` (JSON escapes)
/// when they hold anything but plain characters.
pub fn format_argv(argv: &[String]) -> String {
    argv.iter()
        .map(|a| if needs_quotes(a) { serde_json::Value::String(a.clone()).to_string() } else { a.clone() })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `raw` is an acceptable `rawCommand` for `argv`: the formatted argv, the plainly
/// space-joined argv, or (for a shell wrapper) the shell payload.
pub fn raw_command_matches(raw: &str, argv: &[String]) -> bool {
    let raw = raw.trim();
    raw == format_argv(argv) || raw == argv.join(" ") || shell_payload(argv).is_some_and(|p| p.trim() == raw)
}

/// Skips one dispatch wrapper (by the basename of `argv[0]`, no file system access) and
/// returns the inner argv; `None` when `argv` is not a wrapper or is not unwrapped.
pub fn unwrap_dispatch(argv: &[String]) -> Option<&[String]> {
    match unwrap(basename(argv.first()?), argv) {
        Dispatch::Inner { inner, .. } => Some(inner),
        _ => None,
    }
}

/// Strips every leading dispatch wrapper (syntactically, see [`unwrap_dispatch`]).
pub fn innermost(mut argv: &[String]) -> &[String] {
    for _ in 0..MAX_DEPTH {
        match unwrap_dispatch(argv) {
            Some(inner) => argv = inner,
            None => break,
        }
    }
    argv
}

/// The keys of `env NAME=VALUE` operands in the leading wrapper chain of `argv` (and of
/// the segments of a shell payload it wraps), syntactically.
pub fn argv_env_keys(argv: &[String]) -> Vec<String> {
    fn walk(mut argv: &[String], out: &mut Vec<String>, depth: usize) {
        for _ in 0..MAX_DEPTH {
            let Some(arg0) = argv.first() else { return };
            match unwrap(basename(arg0), argv) {
                Dispatch::Inner { inner, env_keys, .. } => {
                    out.extend(env_keys.into_iter().map(str::to_string));
                    argv = inner;
                }
                _ => break,
            }
        }
        if depth == 0 {
            return;
        }
        if let Some(segs) = shell_payload(argv).and_then(shell_segments) {
            for s in &segs {
                walk(s, out, depth - 1);
            }
        }
    }
    let mut out = Vec::new();
    walk(argv, &mut out, 2);
    out
}

/// One command that will run, as analysed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Analysed {
    /// The name bare-name entries see (`argv[0]` as written, or the busybox applet).
    pub name: String,
    /// Its arguments (what `argPattern` sees).
    pub args: Vec<String>,
    /// The executable.
    pub exe: Resolved,
    /// A `busybox`/`toybox` applet (`exe` is the multi-call binary).
    pub applet: bool,
}

/// Why a command cannot be allowed by any allowlist.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    /// `env NAME=VALUE` with keys the override rules refuse.
    #[error("environment override rejected (blocked override keys: {})", .0.join(", "))]
    EnvKeys(Vec<String>),
    /// Anything else, with the reason.
    #[error("{0}")]
    Other(String),
}

fn other(s: impl Into<String>) -> Refusal {
    Refusal::Other(s.into())
}

/// Display of a key for a message (control characters escaped).
fn shown(key: &str) -> String {
    key.escape_debug().to_string()
}

struct Ctx<'a> {
    cwd: Option<&'a Path>,
    path_env: &'a str,
}

enum Category {
    Plain,
    Wrapper,
    Shell,
    OtherShell,
    Refused(&'static str),
}

fn category(name: &str, args: &[String]) -> Category {
    if let Some(why) = refused_dispatcher(name, args) {
        Category::Refused(why)
    } else if DISPATCH_WRAPPERS.contains(&name) {
        Category::Wrapper
    } else if SHELLS.contains(&name) {
        Category::Shell
    } else if OTHER_SHELLS.contains(&name) {
        Category::OtherShell
    } else {
        Category::Plain
    }
}

fn special(name: &str) -> bool {
    !matches!(category(name, &[]), Category::Plain) || name == "find" || MULTICALL.contains(&name)
}

/// Analyses `argv` into the commands that will run, or refuses it.
pub fn analyse(argv: &[String], cwd: Option<&Path>, path_env: &str) -> Result<Vec<Analysed>, Refusal> {
    if argv.iter().any(|a| a.contains('\0')) {
        return Err(other("NUL byte in an argument"));
    }
    let mut out = Vec::new();
    analyse_into(argv, &Ctx { cwd, path_env }, false, false, 0, &mut out)?;
    if out.is_empty() {
        return Err(other("no command"));
    }
    Ok(out)
}

fn analyse_into(
    mut argv: &[String],
    ctx: &Ctx<'_>,
    mut path_cleared: bool,
    in_payload: bool,
    mut depth: usize,
    out: &mut Vec<Analysed>,
) -> Result<(), Refusal> {
    loop {
        depth += 1;
        if depth > MAX_DEPTH {
            return Err(other("too many nested wrappers"));
        }
        let Some(arg0) = argv.first().filter(|a| !a.is_empty()) else { return Err(other("empty command")) };
        if in_payload {
            if arg0.contains('=') {
                return Err(other("variable assignment in a shell payload"));
            }
            if STATEFUL_BUILTINS.contains(&arg0.as_str()) {
                return Err(other(format!("shell builtin `{arg0}` changes the shell's state")));
            }
            if arg0 == "printf" && argv.get(1).is_some_and(|a| a.starts_with("-v")) {
                return Err(other("printf -v assigns a shell variable"));
            }
        }
        if let Category::Refused(why) = category(basename(arg0), &argv[1..]) {
            return Err(other(format!("{} is refused: {why}", basename(arg0))));
        }
        if path_cleared && !arg0.contains('/') {
            return Err(other(format!(
                "`{}` after env cleared PATH: the lookup would not use the host's PATH",
                shown(arg0)
            )));
        }
        let exe = resolve(arg0, ctx.cwd, ctx.path_env).map_err(|e| other(format!("{}: {e}", shown(arg0))))?;
        let written = basename(arg0);
        let canonical_name = exe.canonical.file_name().and_then(|n| n.to_str()).unwrap_or("");
        // The program's identity: the canonical binary, or a multi-call binary's applet.
        let (name, args, applet): (&str, &[String], bool) = if MULTICALL.contains(&canonical_name) {
            if MULTICALL.contains(&written) {
                match argv.get(1) {
                    Some(a) if !a.starts_with('-') && !a.is_empty() => (a.as_str(), &argv[2..], true),
                    _ => (written, &argv[1..], false),
                }
            } else {
                (written, &argv[1..], true) // a symlink named after the applet
            }
        } else if special(canonical_name) {
            (canonical_name, &argv[1..], false)
        } else if special(written) {
            return Err(other(format!("`{}` resolves to {}", shown(arg0), exe.canonical.display())));
        } else {
            (written, &argv[1..], false)
        };
        match category(name, args) {
            Category::Refused(why) => return Err(other(format!("{name} is refused: {why}"))),
            Category::OtherShell => {
                return Err(other(format!("{name}: a shell whose options this host does not parse")));
            }
            Category::Wrapper if applet => {
                return Err(other(format!("{name} applet: wrappers are not analysed as applets")));
            }
            Category::Wrapper => match unwrap(name, argv) {
                Dispatch::Inner { inner, env_keys, path_cleared: cleared } => {
                    let blocked = blocked_env_keys(env_keys.into_iter());
                    if !blocked.is_empty() {
                        return Err(Refusal::EnvKeys(blocked.iter().map(|k| shown(k)).collect()));
                    }
                    path_cleared |= cleared;
                    argv = inner;
                    continue;
                }
                Dispatch::Refused(why) => return Err(other(why)),
                Dispatch::Opaque | Dispatch::NotWrapper => {}
            },
            Category::Shell => match parse_shell_args(args) {
                ShellInvocation::Payload(p) => {
                    if in_payload {
                        return Err(other("a shell payload inside a shell payload is not analysed"));
                    }
                    let segs = shell_segments(p).ok_or_else(|| {
                        other("shell payload not analysable (substitutions, variables, redirections, globs, background jobs or unbalanced quotes)")
                    })?;
                    for s in &segs {
                        analyse_into(s, ctx, path_cleared, true, depth, out)?;
                    }
                    return Ok(());
                }
                ShellInvocation::Refused(why) => return Err(other(format!("{name}: {why}"))),
                ShellInvocation::Script => {}
            },
            Category::Plain => {}
        }
        // Bare-name entries see the name as written (`sh`, not `dash`), or the applet.
        let shown_name = if applet { name } else { written };
        out.push(Analysed { name: shown_name.to_string(), args: args.to_vec(), exe, applet });
        return Ok(());
    }
}

fn expand_home(pattern: &str) -> String {
    match pattern.strip_prefix("~/") {
        Some(rest) => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(h) => format!("{}/{rest}", Path::new(&h).display()),
            None => pattern.to_string(),
        },
        None => pattern.to_string(),
    }
}

/// Whether a pattern is a path glob (else a bare command-name glob).
pub fn is_path_pattern(pattern: &str) -> bool {
    pattern.contains('/') || pattern.starts_with('~')
}

/// One analysed command against one entry.
pub fn entry_matches(entry: &AllowEntry, cmd: &Analysed) -> bool {
    let pattern = entry.pattern.trim();
    if pattern.is_empty() {
        return false;
    }
    let name_ok = if is_path_pattern(pattern) {
        let pat = expand_home(pattern);
        let resolved = cmd.exe.path.to_string_lossy();
        glob_match(&pat, &cmd.exe.canonical.to_string_lossy())
            || (!super::resolve::has_dot_component(&resolved) && glob_match(&pat, &resolved))
    } else {
        // Bare names only match PATH lookups.
        cmd.exe.bare && glob_match(pattern, &cmd.name)
    };
    name_ok && entry.arg_pattern.as_deref().is_none_or(|re| arg_pattern_matches(re, &cmd.args))
}

/// The outcome of checking a command against the allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistCheck {
    /// Every analysed command matched an entry.
    pub satisfied: bool,
    /// The canonical executables of the analysed commands.
    pub executables: Vec<PathBuf>,
    /// The argv (`name` + args) of each analysed command.
    pub commands: Vec<Vec<String>>,
    /// The analysed commands.
    pub analysed: Vec<Analysed>,
    /// Whether the shape could be analysed (`refusal` is `None`).
    pub analysable: bool,
    /// Why no allowlist can allow it.
    pub refusal: Option<Refusal>,
}

/// Checks `argv` against the policy's allowlist: every analysed command must match an entry.
pub fn check_allowlist(policy: &ResolvedPolicy, argv: &[String], cwd: Option<&Path>, path_env: &str) -> AllowlistCheck {
    match analyse(argv, cwd, path_env) {
        Err(r) => AllowlistCheck {
            satisfied: false,
            executables: vec![],
            commands: vec![],
            analysed: vec![],
            analysable: false,
            refusal: Some(r),
        },
        Ok(analysed) => AllowlistCheck {
            satisfied: analysed.iter().all(|c| policy.allowlist.iter().any(|e| entry_matches(e, c))),
            executables: analysed.iter().map(|c| c.exe.canonical.clone()).collect(),
            commands: analysed
                .iter()
                .map(|c| std::iter::once(c.name.clone()).chain(c.args.iter().cloned()).collect())
                .collect(),
            analysed,
            analysable: true,
            refusal: None,
        },
    }
}

/// The allow-always entry for an analysed command: its canonical path as an escaped glob
/// and an exact `argPattern`; `None` for an applet (the binary would allow every applet) and
/// for a path with leading or trailing whitespace (entries are trimmed: `/x/uname ` would be
/// stored as `/x/uname`, another file).
pub fn allow_always_entry(cmd: &Analysed) -> Option<(String, String)> {
    if cmd.applet {
        return None;
    }
    let path = cmd.exe.canonical.to_str().filter(|p| p.trim() == *p)?;
    Some((glob_escape(path), exact_arg_pattern(&cmd.args)))
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
