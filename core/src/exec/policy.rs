//! Allowlist evaluation: executable resolution, globs, `argPattern`, dispatch wrappers,
//! shell payload segments, blocked environment overrides and the `rawCommand` contract.

use std::path::{Path, PathBuf};

use super::approvals::{AllowEntry, ResolvedPolicy};

/// The sanitized PATH used for lookups and for children when the host gives none.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Wrappers whose inner command is what the allowlist sees (commands.md §5.6).
pub const DISPATCH_WRAPPERS: &[&str] = &["env", "flock", "nice", "nohup", "stdbuf", "timeout"];

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash"];

/// Environment keys (exact) that reject a run when overridden.
const BLOCKED_ENV: &[&str] = &[
    "PATH",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "BASH_ENV",
    "ENV",
    "ZDOTDIR",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "IFS",
    "PERL5LIB",
    "PERL5OPT",
    "PERLLIB",
    "RUBYLIB",
    "RUBYOPT",
    "GLIBC_TUNABLES",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "GIT_EXEC_PATH",
    "GIT_SSH_COMMAND",
    "HOME",
];

/// Environment key prefixes that reject a run when overridden.
const BLOCKED_ENV_PREFIXES: &[&str] = &["LD_", "DYLD_", "BASH_FUNC_"];

/// Keys a shell wrapper keeps from the overrides (everything else is dropped).
fn shell_safe_env(key: &str) -> bool {
    matches!(key, "TERM" | "LANG" | "COLORTERM" | "NO_COLOR" | "FORCE_COLOR") || key.starts_with("LC_")
}

/// The overrides that are not allowed, sorted.
pub fn blocked_env_keys<'a>(keys: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = keys
        .filter(|k| {
            let u = k.to_ascii_uppercase();
            BLOCKED_ENV.contains(&u.as_str()) || BLOCKED_ENV_PREFIXES.iter().any(|p| u.starts_with(p))
        })
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Keeps the overrides a shell wrapper may receive.
pub fn filter_shell_env(env: Vec<(String, String)>) -> Vec<(String, String)> {
    env.into_iter().filter(|(k, _)| shell_safe_env(k)).collect()
}

/// The basename of an argv[0].
pub fn basename(arg0: &str) -> &str {
    arg0.rsplit('/').next().unwrap_or(arg0)
}

/// `sh -c PAYLOAD …` (also `-lc`/`-cl`): the payload.
pub fn shell_payload(argv: &[String]) -> Option<&str> {
    let shell = basename(argv.first()?);
    if !SHELLS.contains(&shell) {
        return None;
    }
    let flag = argv.get(1)?;
    if matches!(flag.as_str(), "-c" | "-lc" | "-cl") { argv.get(2).map(String::as_str) } else { None }
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

/// Looks `name` up in `path_env` (names with `/` are not looked up).
pub fn which(name: &str, path_env: &str) -> Option<PathBuf> {
    if name.is_empty() || name.contains('/') {
        return None;
    }
    path_env.split(':').filter(|d| !d.is_empty()).map(|d| Path::new(d).join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The executable a command resolves to: a path (relative to `cwd`) or a PATH lookup.
pub fn resolve_executable(arg0: &str, cwd: Option<&Path>, path_env: &str) -> Option<PathBuf> {
    if arg0.contains('/') {
        let p = Path::new(arg0);
        let p = if p.is_absolute() {
            p.to_path_buf()
        } else {
            match cwd {
                Some(c) => c.join(p),
                None => std::env::current_dir().ok()?.join(p),
            }
        };
        is_executable(&p).then_some(p)
    } else {
        which(arg0, path_env)
    }
}

/// Skips a dispatch wrapper and returns the inner argv (`None` when `argv` is not a
/// wrapper, or the wrapper's shape is not understood).
pub fn unwrap_dispatch(argv: &[String]) -> Option<&[String]> {
    let name = basename(argv.first()?);
    if !DISPATCH_WRAPPERS.contains(&name) {
        return None;
    }
    let mut i = 1;
    // Options that take a separate value, per wrapper.
    let with_value: &[&str] = match name {
        "nice" => &["-n", "--adjustment"],
        "stdbuf" => &["-i", "-o", "-e", "--input", "--output", "--error"],
        "timeout" => &["-s", "--signal", "-k", "--kill-after"],
        "flock" => &["-w", "--timeout", "-E", "--conflict-exit-code"],
        "env" => &["-u", "--unset", "-C", "--chdir"],
        _ => &[],
    };
    while let Some(a) = argv.get(i) {
        if a == "--" {
            i += 1;
            break;
        }
        if name == "env" && !a.starts_with('-') && a.contains('=') {
            i += 1;
            continue;
        }
        if !a.starts_with('-') || a == "-" {
            break;
        }
        // `env -S`/`--split-string` re-parses a string: not a plain dispatch.
        if name == "env" && (a == "-S" || a.starts_with("--split-string") || a.starts_with("-S")) {
            return None;
        }
        i += if with_value.contains(&a.as_str()) { 2 } else { 1 };
    }
    // Positional operands before the command.
    match name {
        "timeout" => i += 1,
        "flock" => i += 1,
        _ => {}
    }
    let inner = argv.get(i..)?;
    (!inner.is_empty()).then_some(inner)
}

/// Strips every leading dispatch wrapper.
pub fn innermost(mut argv: &[String]) -> &[String] {
    for _ in 0..8 {
        match unwrap_dispatch(argv) {
            Some(inner) => argv = inner,
            None => break,
        }
    }
    argv
}

/// Splits a shell payload into the argv of each top-level segment (`&&`, `||`, `;`, `|`,
/// newlines). `None` for anything this host will not analyse: substitutions (`$(…)`,
/// backticks, `$VAR` outside single quotes), redirections, subshells, background `&`,
/// unbalanced quotes. Such payloads never match an allowlist.
pub fn shell_segments(payload: &str) -> Option<Vec<Vec<String>>> {
    let mut segments: Vec<Vec<String>> = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = payload.chars().peekable();
    let end_word = |words: &mut Vec<String>, word: &mut String, in_word: &mut bool| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        ch => word.push(ch),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '$' | '`' => return None,
                        '\\' => {
                            let n = chars.next()?;
                            if !matches!(n, '"' | '\\' | '$' | '`' | '\n') {
                                word.push('\\');
                            }
                            if n != '\n' {
                                word.push(n);
                            }
                        }
                        ch => word.push(ch),
                    }
                }
            }
            '\\' => {
                in_word = true;
                let n = chars.next()?;
                if n != '\n' {
                    word.push(n);
                }
            }
            '$' | '`' | '>' | '<' | '(' | ')' | '{' | '}' | '*' | '?' | '[' | '~' | '#' => {
                if c == '#' && in_word {
                    word.push(c);
                    continue;
                }
                return None;
            }
            ' ' | '\t' => end_word(&mut words, &mut word, &mut in_word),
            ';' | '\n' | '|' | '&' => {
                end_word(&mut words, &mut word, &mut in_word);
                if c == '&' {
                    if chars.peek() != Some(&'&') {
                        return None; // background job
                    }
                    chars.next();
                } else if c == '|' && chars.peek() == Some(&'|') {
                    chars.next();
                }
                if words.is_empty() {
                    if c == ';' || c == '\n' {
                        continue;
                    }
                    return None;
                }
                segments.push(std::mem::take(&mut words));
            }
            ch => {
                in_word = true;
                word.push(ch);
            }
        }
    }
    end_word(&mut words, &mut word, &mut in_word);
    if !words.is_empty() {
        segments.push(words);
    }
    (!segments.is_empty()).then_some(segments)
}

/// Glob match: `**` any characters, `*` any but `/`, `?` one but `/`; ASCII
/// case-insensitive.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    fn rec(p: &[char], t: &[char], budget: &mut u32) -> bool {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        match p.first() {
            None => t.is_empty(),
            Some('*') if p.get(1) == Some(&'*') => {
                let rest = &p[2..];
                (0..=t.len()).any(|i| rec(rest, &t[i..], budget))
                    || (rest.first() == Some(&'/') && rec(&rest[1..], t, budget))
            }
            Some('*') => {
                let rest = &p[1..];
                for i in 0..=t.len() {
                    if rec(rest, &t[i..], budget) {
                        return true;
                    }
                    if t.get(i) == Some(&'/') {
                        break;
                    }
                }
                false
            }
            Some('?') => t.first().is_some_and(|c| *c != '/') && rec(&p[1..], &t[1..], budget),
            Some(c) => t.first() == Some(c) && rec(&p[1..], &t[1..], budget),
        }
    }
    let mut budget = 100_000;
    rec(&p, &t, &mut budget)
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

/// One command (argv with wrappers already stripped) against one entry.
pub fn entry_matches(entry: &AllowEntry, argv: &[String], resolved: &Path) -> bool {
    let Some(arg0) = argv.first() else { return false };
    let name_ok = if is_path_pattern(&entry.pattern) {
        let pat = expand_home(&entry.pattern);
        let r = resolved.to_string_lossy();
        glob_match(&pat, &r) || std::fs::canonicalize(resolved).is_ok_and(|c| glob_match(&pat, &c.to_string_lossy()))
    } else {
        // Bare names only match PATH lookups.
        !arg0.contains('/') && glob_match(&entry.pattern, arg0)
    };
    if !name_ok {
        return false;
    }
    match &entry.arg_pattern {
        None => true,
        Some(re) => match regex_lite::Regex::new(re) {
            Ok(re) => re.is_match(&argv[1..].join(" ")),
            Err(_) => false,
        },
    }
}

/// The outcome of checking a command against the allowlist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowlistCheck {
    /// Every analysed command matched an entry.
    pub satisfied: bool,
    /// The executables of the analysed commands (resolved where possible).
    pub executables: Vec<PathBuf>,
    /// The inner argv of each analysed command.
    pub commands: Vec<Vec<String>>,
    /// Whether the shape could be analysed (a shell payload with substitutions cannot).
    pub analysable: bool,
}

/// Checks `argv` (possibly a shell wrapper, possibly behind dispatch wrappers) against the
/// policy's allowlist: every command must resolve to an executable and match an entry.
pub fn check_allowlist(policy: &ResolvedPolicy, argv: &[String], cwd: Option<&Path>, path_env: &str) -> AllowlistCheck {
    let inner = innermost(argv);
    let commands: Option<Vec<Vec<String>>> = match shell_payload(inner) {
        Some(payload) => shell_segments(payload).map(|segs| segs.iter().map(|s| innermost(s).to_vec()).collect()),
        None => Some(vec![inner.to_vec()]),
    };
    let Some(commands) = commands else {
        return AllowlistCheck { satisfied: false, executables: vec![], commands: vec![], analysable: false };
    };
    let mut satisfied = !commands.is_empty();
    let mut executables = Vec::new();
    for c in &commands {
        // A shell nested in a payload is not analysed further.
        if shell_payload(c).is_some() {
            satisfied = false;
            continue;
        }
        let Some(arg0) = c.first() else {
            satisfied = false;
            continue;
        };
        match resolve_executable(arg0, cwd, path_env) {
            Some(exe) => {
                if !policy.allowlist.iter().any(|e| entry_matches(e, c, &exe)) {
                    satisfied = false;
                }
                executables.push(exe);
            }
            None => satisfied = false,
        }
    }
    AllowlistCheck { satisfied, executables, commands, analysable: true }
}

/// An `argPattern` matching exactly these arguments.
pub fn exact_arg_pattern(args: &[String]) -> String {
    format!("^{}$", regex_lite::escape(&args.join(" ")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::approvals::{Ask, Security};

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    fn policy(entries: &[(&str, Option<&str>)]) -> ResolvedPolicy {
        ResolvedPolicy {
            security: Security::Allowlist,
            ask: Ask::Off,
            ask_fallback: Security::Deny,
            allowlist: entries
                .iter()
                .map(|(p, a)| AllowEntry { pattern: p.to_string(), arg_pattern: a.map(str::to_string) })
                .collect(),
        }
    }

    #[test]
    fn globs() {
        assert!(glob_match("/usr/bin/*", "/usr/bin/uname"));
        assert!(!glob_match("/usr/*", "/usr/bin/uname"));
        assert!(glob_match("/usr/**", "/usr/bin/uname"));
        assert!(glob_match("/opt/**/bin/rg", "/opt/bin/rg"));
        assert!(glob_match("/opt/**/bin/rg", "/opt/a/b/bin/rg"));
        assert!(glob_match("UNAME", "uname"));
        assert!(glob_match("un?me", "uname"));
        assert!(!glob_match("echo", "echo2"));
    }

    #[test]
    fn wrappers() {
        assert_eq!(innermost(&v(&["env", "A=1", "nice", "-n", "5", "uname", "-a"])), &v(&["uname", "-a"])[..]);
        assert_eq!(innermost(&v(&["timeout", "-s", "KILL", "5", "ls"])), &v(&["ls"])[..]);
        assert_eq!(innermost(&v(&["flock", "/tmp/l", "ls"])), &v(&["ls"])[..]);
        assert_eq!(innermost(&v(&["nohup", "ls"])), &v(&["ls"])[..]);
        assert_eq!(innermost(&v(&["env", "-S", "ls -l"])), &v(&["env", "-S", "ls -l"])[..]);
    }

    #[test]
    fn shell_parsing() {
        assert_eq!(
            shell_segments("uname -a && echo 'a b' | wc -c; ls").unwrap(),
            vec![v(&["uname", "-a"]), v(&["echo", "a b"]), v(&["wc", "-c"]), v(&["ls"])]
        );
        assert_eq!(shell_segments("echo \"x y\"\\ z").unwrap(), vec![v(&["echo", "x y z"])]);
        for bad in ["echo $(id)", "echo `id`", "echo $HOME", "ls > f", "sleep 1 &", "(ls)", "echo 'open"] {
            assert!(shell_segments(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn raw_command_contract() {
        let argv = v(&["/bin/echo", "a b", "c"]);
        assert!(raw_command_matches("/bin/echo \"a b\" c", &argv));
        assert!(raw_command_matches("/bin/echo a b c", &argv));
        assert!(!raw_command_matches("/bin/echo c", &argv));
        assert!(raw_command_matches("ls -l", &v(&["sh", "-c", "ls -l"])));
    }

    #[test]
    fn env_blocking() {
        let keys = ["LANG", "PATH", "LD_PRELOAD", "ld_library_path", "FOO"];
        assert_eq!(blocked_env_keys(keys.into_iter()), v(&["LD_PRELOAD", "PATH", "ld_library_path"]));
        assert_eq!(
            filter_shell_env(vec![("LANG".into(), "C".into()), ("FOO".into(), "1".into())]),
            vec![("LANG".to_string(), "C".to_string())]
        );
    }

    #[test]
    fn allowlist_checks() {
        let sh = which("sh", DEFAULT_PATH).unwrap();
        let uname = which("uname", DEFAULT_PATH).unwrap();
        let p = policy(&[(&uname.to_string_lossy(), None), ("echo", Some("^hello( world)?$"))]);
        assert!(check_allowlist(&p, &v(&["uname", "-a"]), None, DEFAULT_PATH).satisfied);
        assert!(check_allowlist(&p, &v(&[&uname.to_string_lossy(), "-a"]), None, DEFAULT_PATH).satisfied);
        assert!(check_allowlist(&p, &v(&["echo", "hello"]), None, DEFAULT_PATH).satisfied);
        assert!(!check_allowlist(&p, &v(&["echo", "bye"]), None, DEFAULT_PATH).satisfied);
        assert!(check_allowlist(&p, &v(&["env", "LANG=C", "uname"]), None, DEFAULT_PATH).satisfied);
        assert!(check_allowlist(&p, &v(&["sh", "-c", "uname -a && echo hello"]), None, DEFAULT_PATH).satisfied);
        assert!(!check_allowlist(&p, &v(&["sh", "-c", "uname -a; id"]), None, DEFAULT_PATH).satisfied);
        assert!(!check_allowlist(&p, &v(&["sh", "-c", "uname $(id)"]), None, DEFAULT_PATH).satisfied);
        // The shell itself being allowlisted does not let any payload through.
        let p = policy(&[(&sh.to_string_lossy(), None)]);
        assert!(!check_allowlist(&p, &v(&["sh", "-c", "id"]), None, DEFAULT_PATH).satisfied);
        // Bare names do not match explicit paths.
        let p = policy(&[("uname", None)]);
        assert!(!check_allowlist(&p, &v(&[&uname.to_string_lossy()]), None, DEFAULT_PATH).satisfied);
        let re = regex_lite::Regex::new(&exact_arg_pattern(&v(&["-a", "x.y"]))).unwrap();
        assert!(re.is_match("-a x.y") && !re.is_match("-a xzy") && !re.is_match("-a x.y z"));
    }
}
