//! Dispatch wrappers (`env`, `nice`, `timeout`, …): each parsed by its own exact grammar
//! (GNU coreutils 9 / util-linux 2.38 semantics, all of them stop at the first operand like
//! getopt's `+`). Options are whitelisted exactly: no long-option abbreviations, combined
//! short flags split and each checked, a value taken in every form (`-w 5`, `-w5`,
//! `--wait 5`, `--wait=5`). An option outside the grammar means the wrapper is not
//! unwrapped: it is then itself the command the allowlist must name. Privilege and
//! namespace changers, and dispatchers that build command lines (`xargs`, `find -exec`, …),
//! are refused outright.

/// Wrappers whose inner command is what the allowlist sees.
pub const DISPATCH_WRAPPERS: &[&str] =
    &["env", "nice", "nohup", "timeout", "flock", "stdbuf", "setsid", "ionice", "taskset", "chrt"];

/// Multi-call binaries whose behaviour is chosen by an applet name.
pub const MULTICALL: &[&str] = &["busybox", "toybox"];

/// Commands refused outright (they never match through their inner command), with why.
pub const REFUSED_DISPATCHERS: &[(&str, &str)] = &[
    ("sudo", "runs a command as another user"),
    ("doas", "runs a command as another user"),
    ("su", "runs a command as another user"),
    ("pkexec", "runs a command as another user"),
    ("run0", "runs a command as another user"),
    ("runuser", "runs a command as another user"),
    ("sg", "runs a command with another group"),
    ("newgrp", "runs a shell with another group"),
    ("setpriv", "runs a command with other privileges"),
    ("capsh", "runs a command with other capabilities"),
    ("chroot", "runs a command in another root"),
    ("unshare", "runs a command in new namespaces"),
    ("nsenter", "runs a command in other namespaces"),
    ("systemd-run", "runs a command through the service manager"),
    ("systemd-nspawn", "runs a command in a container"),
    ("firejail", "runs a command in a sandbox it configures"),
    ("bwrap", "runs a command in a sandbox it configures"),
    ("proot", "runs a command in another root"),
    ("fakeroot", "runs a command under a fake root"),
    ("fakechroot", "runs a command under a fake root"),
    ("xargs", "builds command lines from its input"),
    ("parallel", "builds command lines from its input"),
    ("watch", "runs its arguments through a shell"),
    ("script", "runs a command through a shell"),
    ("time", "runs another command"),
    ("prlimit", "runs another command"),
    ("numactl", "runs another command"),
    ("cgexec", "runs another command"),
    ("systemd-inhibit", "runs another command"),
    ("dbus-run-session", "runs another command"),
    ("strace", "runs another command"),
    ("ltrace", "runs another command"),
    ("valgrind", "runs another command"),
    ("gdb", "runs another command"),
    ("coreutils", "multi-call binary dispatching on --coreutils-prog"),
    ("exec", "shell builtin that runs another command"),
    ("command", "shell builtin that runs another command"),
    ("builtin", "shell builtin that runs another command"),
    ("eval", "shell builtin that evaluates a string"),
    ("source", "shell builtin that reads a script"),
    (".", "shell builtin that reads a script"),
    ("coproc", "shell keyword that runs another command"),
];

/// The reason `name` is refused outright, if it is (`find` only with an `-exec`-like action).
pub fn refused_dispatcher(name: &str, args: &[String]) -> Option<&'static str> {
    if name == "find" {
        return args
            .iter()
            .any(|a| matches!(a.as_str(), "-exec" | "-execdir" | "-ok" | "-okdir"))
            .then_some("find -exec/-execdir/-ok runs other commands");
    }
    REFUSED_DISPATCHERS.iter().find(|(n, _)| *n == name).map(|(_, why)| *why)
}

/// What a wrapper invocation dispatches to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dispatch<'a> {
    /// `argv` is not a wrapper.
    NotWrapper,
    /// The wrapper runs `inner`.
    Inner {
        /// The inner argv (a suffix of the wrapper's argv).
        inner: &'a [String],
        /// `NAME` of each `env NAME=VALUE` operand.
        env_keys: Vec<&'a str>,
        /// `env -i` / `env -u PATH`: the inner lookup would not use the host's PATH.
        path_cleared: bool,
    },
    /// Options outside the grammar, or no inner command: the wrapper is the command.
    Opaque,
    /// A form that is refused (`env -S`, `flock -c`, …).
    Refused(&'static str),
}

#[derive(Clone, Copy)]
enum Kind {
    Flag,
    Value,
    /// A long option whose value is optional: only `--name=VALUE` gives it one.
    OptValue,
    Refuse(&'static str),
}

struct Opt {
    short: Option<char>,
    long: &'static [&'static str],
    kind: Kind,
    id: &'static str,
}

const fn flag(short: Option<char>, long: &'static [&'static str], id: &'static str) -> Opt {
    Opt { short, long, kind: Kind::Flag, id }
}

const fn value(short: Option<char>, long: &'static [&'static str], id: &'static str) -> Opt {
    Opt { short, long, kind: Kind::Value, id }
}

const fn opt_value(long: &'static [&'static str], id: &'static str) -> Opt {
    Opt { short: None, long, kind: Kind::OptValue, id }
}

const fn refuse(short: Option<char>, long: &'static [&'static str], why: &'static str) -> Opt {
    Opt { short, long, kind: Kind::Refuse(why), id: "" }
}

const ENV: &[Opt] = &[
    flag(Some('i'), &["ignore-environment"], "i"),
    flag(Some('0'), &["null"], "0"),
    flag(Some('v'), &["debug"], "v"),
    value(Some('u'), &["unset"], "u"),
    opt_value(&["block-signal", "default-signal", "ignore-signal"], "signal"),
    flag(None, &["list-signal-handling"], "list-signal-handling"),
    refuse(Some('C'), &["chdir"], "env -C/--chdir: the inner command would resolve in another directory"),
    refuse(Some('S'), &["split-string"], "env -S/--split-string re-splits a string into a command line"),
    refuse(Some('P'), &[], "env -P: another lookup PATH"),
];
const NICE: &[Opt] = &[value(Some('n'), &["adjustment"], "n")];
const NOHUP: &[Opt] = &[];
const TIMEOUT: &[Opt] = &[
    value(Some('s'), &["signal"], "s"),
    value(Some('k'), &["kill-after"], "k"),
    flag(Some('v'), &["verbose"], "v"),
    flag(Some('f'), &["foreground"], "f"),
    flag(Some('p'), &["preserve-status"], "p"),
];
const FLOCK: &[Opt] = &[
    flag(Some('s'), &["shared"], "s"),
    flag(Some('x'), &["exclusive"], "x"),
    flag(Some('e'), &[], "x"),
    flag(Some('u'), &["unlock"], "u"),
    flag(Some('n'), &["nonblock", "nb"], "n"),
    flag(Some('o'), &["close"], "o"),
    flag(Some('F'), &["no-fork"], "F"),
    flag(None, &["verbose"], "verbose"),
    flag(None, &["fcntl"], "fcntl"),
    value(Some('w'), &["wait", "timeout"], "w"),
    value(Some('E'), &["conflict-exit-code"], "E"),
    refuse(Some('c'), &["command"], "flock -c/--command runs a shell command string"),
];
const STDBUF: &[Opt] =
    &[value(Some('i'), &["input"], "i"), value(Some('o'), &["output"], "o"), value(Some('e'), &["error"], "e")];
const SETSID: &[Opt] =
    &[flag(Some('c'), &["ctty"], "c"), flag(Some('f'), &["fork"], "f"), flag(Some('w'), &["wait"], "w")];
const IONICE: &[Opt] =
    &[value(Some('c'), &["class"], "c"), value(Some('n'), &["classdata"], "n"), flag(Some('t'), &["ignore"], "t")];
const TASKSET: &[Opt] = &[flag(Some('a'), &["all-tasks"], "a"), flag(Some('c'), &["cpu-list"], "c")];
const CHRT: &[Opt] = &[
    flag(Some('b'), &["batch"], "b"),
    flag(Some('d'), &["deadline"], "d"),
    flag(Some('f'), &["fifo"], "f"),
    flag(Some('i'), &["idle"], "i"),
    flag(Some('o'), &["other"], "o"),
    flag(Some('r'), &["rr"], "r"),
    flag(Some('R'), &["reset-on-fork"], "R"),
    flag(Some('v'), &["verbose"], "v"),
    flag(Some('a'), &["all-tasks"], "a"),
    value(Some('T'), &["sched-runtime"], "T"),
    value(Some('P'), &["sched-period"], "P"),
    value(Some('D'), &["sched-deadline"], "D"),
];

fn grammar(name: &str) -> Option<&'static [Opt]> {
    Some(match name {
        "env" => ENV,
        "nice" => NICE,
        "nohup" => NOHUP,
        "timeout" => TIMEOUT,
        "flock" => FLOCK,
        "stdbuf" => STDBUF,
        "setsid" => SETSID,
        "ionice" => IONICE,
        "taskset" => TASKSET,
        "chrt" => CHRT,
        _ => return None,
    })
}

enum Parsed<'a> {
    /// Options (id, value) and the index of the first operand.
    Ok(Vec<(&'static str, Option<&'a str>)>, usize),
    Opaque,
    Refused(&'static str),
}

/// `nice`'s obsolete `-N` / `--N` / `-+N` adjustment.
fn nice_legacy(a: &str) -> bool {
    let rest = a.strip_prefix('-').map(|r| r.strip_prefix(['-', '+']).unwrap_or(r));
    rest.is_some_and(|r| !r.is_empty() && r.bytes().all(|b| b.is_ascii_digit()))
}

fn parse_options<'a>(name: &str, spec: &[Opt], argv: &'a [String]) -> Parsed<'a> {
    let mut opts = Vec::new();
    let mut i = 1;
    while let Some(a) = argv.get(i) {
        if a == "--" {
            return Parsed::Ok(opts, i + 1);
        }
        if name == "nice" && nice_legacy(a) {
            opts.push(("n", Some(a.as_str())));
            i += 1;
            continue;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (lname, inline) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let Some(o) = spec.iter().find(|o| o.long.contains(&lname)) else { return Parsed::Opaque };
            match o.kind {
                Kind::Refuse(why) => return Parsed::Refused(why),
                Kind::Flag if inline.is_some() => return Parsed::Opaque,
                Kind::Flag => opts.push((o.id, None)),
                Kind::OptValue => opts.push((o.id, inline)),
                Kind::Value => match inline {
                    Some(v) => opts.push((o.id, Some(v))),
                    None => {
                        let Some(v) = argv.get(i + 1) else { return Parsed::Opaque };
                        opts.push((o.id, Some(v.as_str())));
                        i += 1;
                    }
                },
            }
            i += 1;
            continue;
        }
        let Some(cluster) = a.strip_prefix('-').filter(|c| !c.is_empty()) else {
            return Parsed::Ok(opts, i); // an operand (or `-`)
        };
        let mut consumed_next = false;
        for (pos, c) in cluster.char_indices() {
            let Some(o) = spec.iter().find(|o| o.short == Some(c)) else { return Parsed::Opaque };
            match o.kind {
                Kind::Refuse(why) => return Parsed::Refused(why),
                Kind::Flag | Kind::OptValue => opts.push((o.id, None)),
                Kind::Value => {
                    let rest = &cluster[pos + c.len_utf8()..];
                    if rest.is_empty() {
                        let Some(v) = argv.get(i + 1) else { return Parsed::Opaque };
                        opts.push((o.id, Some(v.as_str())));
                        consumed_next = true;
                    } else {
                        opts.push((o.id, Some(rest)));
                    }
                    break;
                }
            }
        }
        i += if consumed_next { 2 } else { 1 };
    }
    Parsed::Ok(opts, i)
}

/// A `timeout` DURATION: a decimal number with an optional `s`/`m`/`h`/`d` suffix.
fn is_duration(d: &str) -> bool {
    let num = d.strip_suffix(['s', 'm', 'h', 'd']).unwrap_or(d);
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    (!int.is_empty() || !frac.is_empty())
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Parses `argv` as the wrapper `name` (chosen by the caller from the executable).
pub fn unwrap<'a>(name: &str, argv: &'a [String]) -> Dispatch<'a> {
    let Some(spec) = grammar(name) else { return Dispatch::NotWrapper };
    let (opts, mut i) = match parse_options(name, spec, argv) {
        Parsed::Ok(o, i) => (o, i),
        Parsed::Opaque => return Dispatch::Opaque,
        Parsed::Refused(why) => return Dispatch::Refused(why),
    };
    let mut env_keys = Vec::new();
    let mut path_cleared = false;
    match name {
        "env" => {
            for (id, v) in &opts {
                match (*id, v) {
                    ("i", _) => path_cleared = true,
                    ("u", Some(k)) if *k == "PATH" => path_cleared = true,
                    _ => {}
                }
            }
            if argv.get(i).is_some_and(|a| a == "-") {
                path_cleared = true;
                i += 1;
            }
            while let Some(a) = argv.get(i) {
                let Some((k, _)) = a.split_once('=') else { break };
                env_keys.push(k);
                i += 1;
            }
        }
        "timeout" => match argv.get(i) {
            Some(d) if is_duration(d) => i += 1,
            _ => return Dispatch::Opaque,
        },
        "flock" => {
            i += 1; // the lock file or directory
            if argv.get(i).is_some_and(|a| a == "-c" || a == "--command") {
                return Dispatch::Refused("flock -c/--command runs a shell command string");
            }
        }
        "taskset" => i += 1, // the mask (or cpu list with -c)
        "chrt" => match argv.get(i) {
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => i += 1,
            _ => return Dispatch::Opaque,
        },
        _ => {}
    }
    match argv.get(i..) {
        Some(inner) if !inner.is_empty() => Dispatch::Inner { inner, env_keys, path_cleared },
        _ => Dispatch::Opaque,
    }
}
