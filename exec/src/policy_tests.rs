//! The attack table of issue #12 (exec policy), and the positives that must keep working.

use super::*;
use crate::approvals::{Ask, Security};

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

fn check(p: &ResolvedPolicy, argv: &[&str]) -> AllowlistCheck {
    check_allowlist(p, &v(argv), None, DEFAULT_PATH)
}

/// The verdict, and the refusal text (empty when analysable).
fn verdict(p: &ResolvedPolicy, argv: &[&str], cwd: Option<&Path>) -> (bool, String) {
    let c = check_allowlist(p, &v(argv), cwd, DEFAULT_PATH);
    (c.satisfied, c.refusal.map(|r| r.to_string()).unwrap_or_default())
}

#[test]
fn attack_table() {
    // One harmless entry, as in the issue: `{pattern:"uname"}`.
    let p = policy(&[("uname", None), ("git", Some("^status$")), ("tar", None), ("id", Some("^-u$"))]);
    let rows: &[(&str, &[&str], bool, &str)] = &[
        // (attack, argv, allowed, reason contains)
        (
            "env BASH_FUNC_ exported function",
            &["env", "BASH_FUNC_uname%%=() { id; }", "bash", "-c", "uname"],
            false,
            "BASH_FUNC_uname%%",
        ),
        ("env LD_PRELOAD in argv", &["env", "LD_PRELOAD=/x.so", "uname"], false, "blocked override keys: LD_PRELOAD"),
        ("env lower-case ld_preload", &["env", "ld_preload=/x.so", "uname"], false, "ld_preload"),
        ("env PATH in argv", &["env", "PATH=/tmp", "uname"], false, "PATH"),
        (
            "env TAR_OPTIONS in argv",
            &["env", "TAR_OPTIONS=--checkpoint-action=exec=id", "tar", "-cf", "/dev/null", "/dev/null"],
            false,
            "TAR_OPTIONS",
        ),
        (
            "env GIT_CONFIG_* in argv",
            &["env", "GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.fsmonitor", "GIT_CONFIG_VALUE_0=id", "git", "status"],
            false,
            "GIT_CONFIG_COUNT",
        ),
        ("env -S combined with -i", &["env", "-iSsh -c 'id'", "uname"], false, "split-string"),
        ("env -S alone", &["env", "-S", "sh -c id", "uname"], false, "split-string"),
        ("env --split-string=", &["env", "--split-string=sh -c id", "uname"], false, "split-string"),
        ("env --sp= abbreviation", &["env", "--sp=sh -c 'id'", "uname"], false, ""),
        ("env --ignore abbreviation", &["env", "--ignore", "uname"], false, ""),
        ("env --block-signal LD_PRELOAD", &["env", "--block-signal", "LD_PRELOAD=/x.so", "uname"], false, "LD_PRELOAD"),
        ("env --ignore-signal=INT LD_", &["env", "--ignore-signal=INT", "LD_AUDIT=/x.so", "uname"], false, "LD_AUDIT"),
        ("env -C", &["env", "-C", "/tmp", "uname"], false, "chdir"),
        ("env --chdir=", &["env", "--chdir=/tmp", "uname"], false, "chdir"),
        ("env -P", &["env", "-P", "/tmp", "uname"], false, "PATH"),
        ("env -i then bare name", &["env", "-i", "uname"], false, "cleared PATH"),
        ("env - then bare name", &["env", "-", "uname"], false, "cleared PATH"),
        ("env -u PATH then bare name", &["env", "-uPATH", "uname"], false, "cleared PATH"),
        ("env invalid key", &["env", "=x", "uname"], false, "blocked override keys"),
        ("flock --wait shifts", &["flock", "--wait", "5", "uname", "-c", "id"], false, "flock -c"),
        ("flock -w5", &["flock", "-w5", "/tmp/l", "-c", "id"], false, "flock -c"),
        ("flock --wait=5 --command", &["flock", "--wait=5", "/tmp/l", "--command", "id"], false, "flock -c"),
        ("flock -c option", &["flock", "-nc", "id", "/tmp/l"], false, "flock -c"),
        ("flock --timeout 5", &["flock", "--timeout", "5", "/tmp/l", "id"], false, ""),
        ("flock --wai abbreviation", &["flock", "--wai", "5", "/tmp/l", "uname"], false, ""),
        ("flock -E value", &["flock", "-E", "3", "/tmp/l", "id"], false, ""),
        ("timeout -k takes a value", &["timeout", "-k", "1", "5", "id"], false, ""),
        ("timeout bad duration", &["timeout", "uname", "id"], false, ""),
        ("nice -n value", &["nice", "-n", "5", "id"], false, ""),
        ("nice legacy -N", &["nice", "-5", "id"], false, ""),
        ("nohup unknown option", &["nohup", "-x", "uname"], false, ""),
        ("stdbuf -oL", &["stdbuf", "-oL", "id"], false, ""),
        ("setsid", &["setsid", "-f", "id"], false, ""),
        ("ionice -c3", &["ionice", "-c3", "id"], false, ""),
        ("ionice -p (pids)", &["ionice", "-p", "1", "uname"], false, ""),
        ("taskset mask", &["taskset", "1", "id"], false, ""),
        ("chrt priority", &["chrt", "-o", "0", "id"], false, ""),
        ("sudo", &["sudo", "uname"], false, "sudo is refused"),
        ("doas", &["doas", "uname"], false, "refused"),
        ("su", &["su", "-c", "uname"], false, "refused"),
        ("pkexec", &["pkexec", "uname"], false, "refused"),
        ("chroot", &["chroot", "/", "uname"], false, "refused"),
        ("unshare", &["unshare", "-r", "uname"], false, "refused"),
        ("nsenter", &["nsenter", "-t", "1", "uname"], false, "refused"),
        ("setpriv", &["setpriv", "uname"], false, "refused"),
        ("xargs", &["xargs", "uname"], false, "refused"),
        ("find -exec", &["find", "/", "-maxdepth", "0", "-exec", "uname", ";"], false, "find -exec"),
        ("find -execdir", &["find", ".", "-execdir", "id", "+"], false, "find -exec"),
        ("time", &["time", "uname"], false, "refused"),
        ("sh -ec payload", &["sh", "-ec", "id"], false, ""),
        ("bash -p -c payload", &["bash", "-p", "-c", "id"], false, ""),
        ("bash -x -o pipefail -c", &["bash", "-x", "-o", "pipefail", "-c", "uname; id"], false, ""),
        ("bash --norc -c", &["bash", "--norc", "-c", "id"], false, ""),
        ("bash -lc", &["bash", "-lc", "id"], false, ""),
        ("sh +x -c", &["sh", "+x", "-c", "id"], false, ""),
        ("sh -c after operand-looking option", &["sh", "-e", "-c", "uname", "id"], true, ""),
        ("/bin/sh path", &["/bin/sh", "-c", "id"], false, ""),
        ("bash unknown long option", &["bash", "--rcfilex", "-c", "uname"], false, "long option"),
        ("bash unknown short option", &["bash", "-T", "x", "-c", "uname"], false, "option"),
        ("sh -c without string", &["sh", "-c"], false, "without a command string"),
        ("nested shell", &["sh", "-c", "sh -c uname"], false, "inside a shell payload"),
        ("payload $'...'", &["sh", "-c", "uname $'\\x41'"], false, "not analysable"),
        ("payload <<<", &["bash", "-c", "uname <<< x"], false, "not analysable"),
        ("payload &>", &["bash", "-c", "uname &> /tmp/x"], false, "not analysable"),
        ("payload background", &["sh", "-c", "uname & id"], false, "not analysable"),
        ("payload assignment", &["sh", "-c", "PATH=/tmp uname"], false, "assignment"),
        ("payload export", &["bash", "-c", "export LD_PRELOAD=/x.so; uname"], false, ""),
        ("payload cd", &["bash", "-c", "cd /tmp && uname"], false, "builtin `cd`"),
        ("payload hash -p", &["bash", "-c", "hash -p /tmp/x uname; uname"], false, "builtin `hash`"),
        ("payload printf -v", &["bash", "-c", "printf -v PATH /tmp; uname"], false, "printf -v"),
        ("payload exec", &["sh", "-c", "exec id"], false, "refused"),
        ("payload env LD_PRELOAD", &["sh", "-c", "env LD_PRELOAD=/x.so uname"], false, "LD_PRELOAD"),
        ("payload backslash tricks", &["sh", "-c", "\\i\\d"], false, ""),
        ("payload trailing backslash", &["sh", "-c", "uname \\"], false, "not analysable"),
        // Attack: `set -k` (bash/ksh "keyword") makes every `NAME=VALUE` argument an
        // environment assignment: `uname LD_PRELOAD=/x.so` passes the key rules as an argument.
        ("bash -k makes args env", &["bash", "-k", "-c", "uname LD_PRELOAD=/x.so"], false, "-k"),
        ("bash -ek combined", &["bash", "-ek", "-c", "uname LD_PRELOAD=/x.so"], false, "-k"),
        ("bash -o keyword", &["bash", "-o", "keyword", "-c", "uname LD_PRELOAD=/x.so"], false, "-k"),
        ("bash -co keyword", &["bash", "-co", "keyword", "uname LD_PRELOAD=/x.so"], false, "-k"),
        ("fish", &["fish", "-c", "uname"], false, ""),
        ("NUL byte", &["uname", "-a\u{0}x"], false, "NUL"),
        ("dot component", &["/usr/bin/../bin/uname"], false, "`.`/`..`"),
        ("./ component", &["./uname"], false, "`.`/`..`"),
        ("git status with extra args", &["git", "status", "--porcelain"], false, ""),
        ("id with joined args", &["id", "-u x"], false, ""),
        // Positives.
        ("uname", &["uname", "-a"], true, ""),
        ("env assignment", &["env", "LANG=C", "uname"], true, ""),
        ("env -i with path", &["env", "-i", "LANG=C", "/usr/bin/uname"], false, ""),
        ("env -u other", &["env", "-u", "FOO", "--", "uname"], true, ""),
        ("nice -n 5", &["nice", "-n", "5", "uname"], true, ""),
        ("nice --adjustment=5", &["nice", "--adjustment=5", "uname"], true, ""),
        ("nice -5", &["nice", "-5", "uname"], true, ""),
        ("timeout -s KILL -k 1 5", &["timeout", "-s", "KILL", "-k1", "--preserve-status", "5", "uname"], true, ""),
        ("timeout --foreground 2.5s", &["timeout", "--foreground", "2.5s", "uname"], true, ""),
        ("flock -w 5", &["flock", "-w", "5", "/tmp/l", "uname"], true, ""),
        ("flock -sn --wait=5 -E 2", &["flock", "-sn", "--wait=5", "-E", "2", "/tmp/l", "uname"], true, ""),
        ("nohup", &["nohup", "uname"], true, ""),
        ("stdbuf -oL -e0", &["stdbuf", "-oL", "-e0", "--input=0", "uname"], true, ""),
        ("setsid -w", &["setsid", "-w", "uname"], true, ""),
        ("ionice -c 3 -t", &["ionice", "-c", "3", "-t", "uname"], true, ""),
        ("taskset -c 0", &["taskset", "-c", "0", "uname"], true, ""),
        ("chrt -o 0", &["chrt", "-o", "0", "uname"], true, ""),
        ("nested wrappers", &["env", "A=1", "nice", "-n", "5", "timeout", "5", "uname", "-a"], true, ""),
        ("sh -c segments", &["sh", "-c", "uname -a && uname -r | uname; uname"], true, ""),
        ("bash -ec", &["bash", "-ec", "uname"], true, ""),
        ("bash -p -c", &["bash", "-p", "-c", "uname"], true, ""),
        ("payload backslash-newline", &["sh", "-c", "uname \\\n -a"], true, ""),
        ("git status", &["git", "status"], true, ""),
        ("find without -exec is a command", &["find", "/nonexistent"], false, ""),
    ];
    for (attack, argv, allowed, reason) in rows {
        let (ok, why) = verdict(&p, argv, None);
        assert_eq!(ok, *allowed, "{attack}: {argv:?} -> {why}");
        assert!(why.contains(reason), "{attack}: reason {why:?} lacks {reason:?}");
    }
}

#[test]
fn payload_segments_are_what_runs() {
    let p = policy(&[("uname", None)]);
    let c = check(&p, &["bash", "-x", "-o", "pipefail", "-c", "uname -a | uname"]);
    assert!(c.satisfied);
    assert_eq!(c.commands, vec![v(&["uname", "-a"]), v(&["uname"])]);
    // A shell with a script operand is a command: the shell must be allowlisted.
    let c = check(&p, &["sh", "/nonexistent/script.sh"]);
    assert!(!c.satisfied && c.analysable, "{c:?}");
    let sh = which("sh", DEFAULT_PATH).unwrap();
    let c = check(&policy(&[(sh.to_str().unwrap(), None)]), &["sh", "-e", "/nonexistent/script.sh"]);
    assert!(c.satisfied, "the resolved path (no `..`) matches: {c:?}");
    assert_eq!(c.commands, vec![v(&["sh", "-e", "/nonexistent/script.sh"])]);
    let canon = std::fs::canonicalize(&sh).unwrap();
    let c = check(&policy(&[(canon.to_str().unwrap(), None)]), &["sh", "-e", "/nonexistent/script.sh"]);
    assert!(c.satisfied, "{c:?}");
    // The shell itself being allowlisted does not let a payload through.
    assert!(!check(&policy(&[(canon.to_str().unwrap(), None)]), &["sh", "-c", "id"]).satisfied);
}

#[test]
fn dotdot_walks_out_of_an_allowlisted_dir() {
    // `<dir>/tools/**` allowlisted; `<dir>/tools/../../../usr/bin/id`.
    let dir = tempfile::tempdir().unwrap();
    let tools = dir.path().join("tools");
    std::fs::create_dir(&tools).unwrap();
    let p = policy(&[(&format!("{}/tools/**", dir.path().display()), None)]);
    let depth = dir.path().components().count();
    let attack = format!("{}/tools/{}usr/bin/id", dir.path().display(), "../".repeat(depth));
    let (ok, why) = verdict(&p, &[&attack], None);
    assert!(!ok && why.contains("`.`/`..`"), "{why}");
    // Relative form from a cwd inside the dir.
    let (ok, _) = verdict(&p, &["tools/../../../../../../usr/bin/id"], Some(dir.path()));
    assert!(!ok);
    // A cwd with `..` only matches through the canonical path.
    let cwd = tools.join("..");
    std::fs::copy(which("uname", DEFAULT_PATH).unwrap(), tools.join("u")).unwrap();
    let (ok, why) = verdict(&p, &["tools/u"], Some(&cwd));
    assert!(ok, "{why}");
    // A symlink in the allowlisted dir to a binary elsewhere: the resolved path (no `..`)
    // matches, by the documented convenience rule, but a symlink named like a wrapper is
    // identified by its target.
    std::os::unix::fs::symlink(which("env", DEFAULT_PATH).unwrap(), tools.join("innocent")).unwrap();
    let innocent = tools.join("innocent");
    let (ok, why) = verdict(&p, &[innocent.to_str().unwrap(), "/usr/bin/id"], None);
    assert!(!ok, "{why}");
}

#[test]
fn symlink_named_like_a_wrapper_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(which("id", DEFAULT_PATH).unwrap(), dir.path().join("env")).unwrap();
    let p = policy(&[(&format!("{}/*", dir.path().display()), None), ("uname", None)]);
    let fake_env = dir.path().join("env");
    let (ok, why) = verdict(&p, &[fake_env.to_str().unwrap(), "uname"], None);
    assert!(!ok && why.contains("resolves to"), "{why}");
    // A `busybox` that is not busybox is not analysed as applets.
    std::os::unix::fs::symlink(which("id", DEFAULT_PATH).unwrap(), dir.path().join("busybox")).unwrap();
    let fake_bb = dir.path().join("busybox");
    let (ok, why) = verdict(&p, &[fake_bb.to_str().unwrap(), "uname"], None);
    assert!(!ok && why.contains("resolves to"), "{why}");
}

#[test]
fn path_entries_and_merged_usr() {
    let uname = which("uname", DEFAULT_PATH).unwrap();
    let canon = std::fs::canonicalize(&uname).unwrap();
    let p = policy(&[(canon.to_str().unwrap(), None)]);
    assert!(check(&p, &["uname"]).satisfied);
    assert!(check(&p, &[canon.to_str().unwrap()]).satisfied);
    // `/bin/uname` on merged-usr: the entry `/bin/uname` matches the resolved path.
    if Path::new("/bin/uname").exists() {
        let p = policy(&[("/bin/uname", None)]);
        assert!(check(&p, &["/bin/uname"]).satisfied);
    }
    // Bare names do not match explicit paths.
    let p = policy(&[("uname", None)]);
    assert!(!check(&p, &[uname.to_str().unwrap()]).satisfied);
    // Case-variant globs do not match.
    let upper = canon.to_str().unwrap().to_uppercase();
    assert!(!check(&policy(&[(&upper, None)]), &["uname"]).satisfied);
    assert!(!check(&policy(&[("UNAME", None)]), &["uname"]).satisfied);
}

#[test]
fn allow_always_of_a_path_with_edge_whitespace_does_not_cover_its_trimmed_twin() {
    // Attack: approving (allow-always) `<dir>/uname ` (trailing space; a harmless copy)
    // stored a pattern that entries trim to `<dir>/uname`: a planted `<dir>/uname` ran.
    let dir = tempfile::tempdir().unwrap();
    let spaced = dir.path().join("uname ");
    std::fs::copy(which("uname", DEFAULT_PATH).unwrap(), &spaced).unwrap();
    let twin = dir.path().join("uname");
    std::fs::copy(which("id", DEFAULT_PATH).unwrap(), &twin).unwrap();
    let c = check(&policy(&[]), &[spaced.to_str().unwrap()]);
    if let Some((pattern, args)) = allow_always_entry(&c.analysed[0]) {
        let p = policy(&[(&pattern, Some(&args))]);
        assert!(!check(&p, &[twin.to_str().unwrap()]).satisfied, "{pattern:?} covers {}", twin.display());
    }
}

#[test]
fn allow_always_escapes_glob_metacharacters() {
    let dir = tempfile::tempdir().unwrap();
    let star = dir.path().join("*");
    std::fs::copy(which("uname", DEFAULT_PATH).unwrap(), &star).unwrap();
    let c = check(&policy(&[]), &[star.to_str().unwrap(), "-a"]);
    let (pattern, args) = allow_always_entry(&c.analysed[0]).unwrap();
    assert_eq!(pattern, glob_escape(std::fs::canonicalize(&star).unwrap().to_str().unwrap()));
    assert!(pattern.ends_with("/\\*"), "{pattern}");
    let p = policy(&[(&pattern, Some(&args))]);
    assert!(check(&p, &[star.to_str().unwrap(), "-a"]).satisfied);
    // Another file in the same dir is not covered.
    let other = dir.path().join("other");
    std::fs::copy(which("id", DEFAULT_PATH).unwrap(), &other).unwrap();
    assert!(!check(&p, &[other.to_str().unwrap(), "-a"]).satisfied);
    assert!(!check(&p, &[star.to_str().unwrap(), "-a", "-b"]).satisfied);
}

#[test]
fn arg_pattern_boundaries() {
    let p = policy(&[("git", Some("^status( [a-z0-9@.-]+)?$"))]);
    assert!(check(&p, &["git", "status", "main"]).satisfied);
    assert!(!check(&p, &["git", "status main"]).satisfied);
    assert!(!check(&p, &["git", "status", ""]).satisfied);
    let exact = exact_arg_pattern(&v(&["-a", "x.y"]));
    let p = policy(&[("uname", Some(&exact))]);
    assert!(check(&p, &["uname", "-a", "x.y"]).satisfied);
    assert!(!check(&p, &["uname", "-a", "xzy"]).satisfied);
    assert!(!check(&p, &["uname", "-a x.y"]).satisfied);
}

#[test]
fn syntactic_helpers() {
    assert_eq!(innermost(&v(&["env", "A=1", "nice", "-n", "5", "uname", "-a"])), &v(&["uname", "-a"])[..]);
    assert_eq!(innermost(&v(&["timeout", "-s", "KILL", "5", "ls"])), &v(&["ls"])[..]);
    assert_eq!(innermost(&v(&["flock", "/tmp/l", "ls"])), &v(&["ls"])[..]);
    assert_eq!(
        innermost(&v(&["flock", "--wait", "5", "uname", "-c", "id"])),
        &v(&["flock", "--wait", "5", "uname", "-c", "id"])[..]
    );
    assert_eq!(innermost(&v(&["env", "-S", "ls -l"])), &v(&["env", "-S", "ls -l"])[..]);
    assert_eq!(shell_payload(&v(&["sh", "-ec", "x"])), Some("x"));
    assert_eq!(shell_payload(&v(&["bash", "-o", "pipefail", "-xc", "x", "a0"])), Some("x"));
    assert_eq!(shell_payload(&v(&["busybox", "sh", "-c", "x"])), Some("x"));
    assert_eq!(shell_payload(&v(&["bash", "script.sh", "-c", "x"])), None);
    assert_eq!(
        argv_env_keys(&v(&["env", "A=1", "nice", "env", "LD_PRELOAD=x", "sh", "-c", "env B=2 uname"])),
        v(&["A", "LD_PRELOAD", "B"])
    );
}

#[test]
fn shell_parsing() {
    assert_eq!(
        shell_segments("uname -a && echo 'a b' | wc -c; ls").unwrap(),
        vec![v(&["uname", "-a"]), v(&["echo", "a b"]), v(&["wc", "-c"]), v(&["ls"])]
    );
    assert_eq!(shell_segments("echo \"x y\"\\ z").unwrap(), vec![v(&["echo", "x y z"])]);
    assert_eq!(shell_segments("uname \\\n -a").unwrap(), vec![v(&["uname", "-a"])]);
    for bad in [
        "echo $(id)",
        "echo `id`",
        "echo $HOME",
        "ls > f",
        "sleep 1 &",
        "(ls)",
        "echo 'open",
        "a \\",
        "x &> f",
        "x <<< y",
        "echo \"$x\"",
        "ls *",
    ] {
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
    assert!(raw_command_matches("ls -l", &v(&["sh", "-ec", "ls -l"])));
}

#[test]
fn shell_env_filter() {
    assert_eq!(
        filter_shell_env(vec![("LANG".into(), "C".into()), ("FOO".into(), "1".into())]),
        vec![("LANG".to_string(), "C".to_string())]
    );
}

#[test]
fn existing_allowlist_positives() {
    let uname = which("uname", DEFAULT_PATH).unwrap();
    let p = policy(&[(&uname.to_string_lossy(), None), ("echo", Some("^hello( world)?$"))]);
    assert!(check(&p, &["uname", "-a"]).satisfied);
    assert!(check(&p, &[&uname.to_string_lossy(), "-a"]).satisfied);
    assert!(check(&p, &["echo", "hello"]).satisfied);
    assert!(!check(&p, &["echo", "bye"]).satisfied);
    assert!(check(&p, &["env", "LANG=C", "uname"]).satisfied);
    assert!(check(&p, &["sh", "-c", "uname -a && echo hello"]).satisfied);
    assert!(!check(&p, &["sh", "-c", "uname -a; id"]).satisfied);
    assert!(!check(&p, &["sh", "-c", "uname $(id)"]).satisfied);
}

/// A deterministic stand-in for the fuzz target's property (runs in `cargo test`).
#[test]
fn only_allowlisted_executables_are_allowed() {
    let uname = std::fs::canonicalize(which("uname", DEFAULT_PATH).unwrap()).unwrap();
    let p = policy(&[("/usr/bin/uname", None), ("uname", None)]);
    let words = [
        "env",
        "-i",
        "-iS",
        "--sp=x",
        "-u",
        "PATH",
        "A=1",
        "LD_PRELOAD=x",
        "nice",
        "-n",
        "5",
        "timeout",
        "1",
        "flock",
        "-w",
        "/tmp/l",
        "-c",
        "sh",
        "bash",
        "-ec",
        "uname",
        "id",
        "uname; id",
        "uname && uname",
        "busybox",
        "sudo",
        "--",
        "-",
        "/usr/bin/uname",
        "/usr/bin/../bin/id",
        "setsid",
        "stdbuf",
        "-oL",
        "chrt",
        "0",
        "taskset",
        "1",
    ];
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..20_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = 1 + (seed % 6) as usize;
        let argv: Vec<String> =
            (0..len).map(|i| words[((seed >> (i * 8)) % words.len() as u64) as usize].to_string()).collect();
        let c = check_allowlist(&p, &argv, None, DEFAULT_PATH);
        if c.satisfied {
            let ok = c.analysed.iter().all(|a| if a.applet { a.name == "uname" } else { a.exe.canonical == uname });
            assert!(ok, "{argv:?} -> {c:?}");
        }
    }
}
