//! The exec policy's argv/shell analyser (issue #12): no panic, and with a fixed allowlist
//! (`/usr/bin/uname` and the bare name `uname`) no argv is allowed unless every command
//! that would run is the canonical `uname` (or, where busybox/toybox is installed, their
//! applet `uname` reached by a PATH lookup).
//!
//! Input: NUL-separated argv (the first byte picks a cwd: none or `/tmp`); a JSON array of
//! strings is accepted too.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use clawnode_exec::policy::{self, DEFAULT_PATH};
use clawnode_exec::{AllowEntry, Ask, ResolvedPolicy, Security};
use libfuzzer_sys::fuzz_target;

fn fixed_policy() -> &'static (ResolvedPolicy, Option<std::path::PathBuf>) {
    static P: OnceLock<(ResolvedPolicy, Option<std::path::PathBuf>)> = OnceLock::new();
    P.get_or_init(|| {
        let entry = |p: &str| AllowEntry { pattern: p.to_string(), arg_pattern: None };
        let policy = ResolvedPolicy {
            security: Security::Allowlist,
            ask: Ask::Off,
            ask_fallback: Security::Deny,
            allowlist: vec![entry("/usr/bin/uname"), entry("uname")],
        };
        let uname = policy::which("uname", DEFAULT_PATH).and_then(|p| std::fs::canonicalize(p).ok());
        (policy, uname)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let argv: Vec<String> = match serde_json::from_str::<Vec<String>>(text) {
        Ok(a) => a,
        Err(_) => text.split('\0').map(str::to_string).collect(),
    };
    if argv.len() > 64 {
        return;
    }
    let cwd = (first & 1 == 1).then(|| Path::new("/tmp"));
    let (p, uname) = fixed_policy();
    let check = policy::check_allowlist(p, &argv, cwd, DEFAULT_PATH);
    // The syntactic helpers must not panic either.
    let _ = policy::innermost(&argv);
    let _ = policy::shell_payload(&argv);
    let _ = policy::argv_env_keys(&argv);
    let _ = policy::raw_command_matches(text, &argv);
    if check.satisfied {
        let uname = uname.as_ref().expect("uname is installed when something is allowed");
        assert!(!check.executables.is_empty());
        for (exe, cmd) in check.executables.iter().zip(&check.analysed) {
            // The canonical `uname`, or busybox's/toybox's applet `uname` (bare entry).
            let ok = if cmd.applet { cmd.name == "uname" && cmd.exe.bare } else { exe == uname };
            assert!(ok, "allowed {argv:?}: {cmd:?}");
        }
    }
});
