//! `argPattern`: a regex over a rendering of the arguments (argv[1..] of the analysed
//! command, after wrappers).
//!
//! The official host (`openclaw@2026.9.6`, `matchArgPattern` in
//! `dist/exec-command-resolution-*.mjs`) has two renderings, chosen by the pattern: when the
//! pattern contains a NUL character, every argument followed by `\0` (no arguments:
//! `"\0\0"`); otherwise the arguments joined by single spaces. The space form is ambiguous
//! (`["a b"]` and `["a","b"]` both render `a b`), so ClawNode keeps both forms with these
//! rules, which make each one injective:
//!
//! - **space form** (pattern without NUL, e.g. `^status( [a-z0-9@.-]+)?$`): the arguments
//!   joined by one space, but the pattern never matches when an argument is empty or
//!   contains whitespace or NUL (such argv can only be allowed by a NUL-form pattern);
//! - **NUL form** (pattern with a literal NUL): each argument followed by `\0`; no arguments
//!   render as the empty string (the official `"\0\0"` would be the same subject as two
//!   empty arguments). An official pattern written for "no arguments" (`^\0\0$`) therefore
//!   matches nothing here: it fails closed.
//!
//! [`exact_arg_pattern`] (allow-always) writes the space form when every argument is
//! space-safe, else the NUL form; either matches exactly the arguments it was made from.

/// The subject a space-form pattern sees, or `None` when the arguments cannot be rendered
/// unambiguously in that form.
pub fn space_subject(args: &[String]) -> Option<String> {
    args.iter().all(|a| space_safe(a)).then(|| args.join(" "))
}

/// The subject a NUL-form pattern sees.
pub fn nul_subject(args: &[String]) -> String {
    args.iter().map(|a| format!("{a}\0")).collect()
}

fn space_safe(a: &str) -> bool {
    !a.is_empty() && !a.chars().any(|c| c.is_whitespace() || c == '\0')
}

/// Whether `pattern` (an `argPattern`) matches `args`. An invalid regex matches nothing.
pub fn arg_pattern_matches(pattern: &str, args: &[String]) -> bool {
    if args.iter().any(|a| a.contains('\0')) {
        return false; // not an argv that can be executed
    }
    let Ok(re) = regex_lite::Regex::new(pattern) else { return false };
    if pattern.contains('\0') {
        re.is_match(&nul_subject(args))
    } else {
        space_subject(args).is_some_and(|s| re.is_match(&s))
    }
}

/// An `argPattern` matching exactly `args` (allow-always).
pub fn exact_arg_pattern(args: &[String]) -> String {
    match space_subject(args) {
        Some(s) => format!("^{}$", regex_lite::escape(&s)),
        None => format!("^{}$", args.iter().map(|a| format!("{}\0", regex_lite::escape(a))).collect::<String>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn readme_example_keeps_working() {
        let p = "^status( [a-z0-9@.-]+)?$";
        assert!(arg_pattern_matches(p, &v(&["status"])));
        assert!(arg_pattern_matches(p, &v(&["status", "nginx.service"])));
        assert!(!arg_pattern_matches(p, &v(&["stop", "nginx"])));
    }

    #[test]
    fn boundary_ambiguity_attack() {
        // `["status x"]` rendered as `status x` would pass the two-argument pattern.
        let p = "^status( [a-z0-9@.-]+)?$";
        assert!(!arg_pattern_matches(p, &v(&["status x"])));
        assert!(!arg_pattern_matches(p, &v(&["status", ""])));
        assert!(!arg_pattern_matches("^-a$", &v(&["-a\n"])));
        // The NUL form sees boundaries.
        assert!(arg_pattern_matches("^status\0x\0$", &v(&["status", "x"])));
        assert!(!arg_pattern_matches("^status\0x\0$", &v(&["status\0x"])));
        // `^\0\0$` is two empty arguments here, never "no arguments" (official rendering).
        assert!(arg_pattern_matches("^\0\0$", &v(&["", ""])));
        assert!(!arg_pattern_matches("^\0\0$", &v(&[])));
        assert!(!arg_pattern_matches("(", &v(&[])));
    }

    #[test]
    fn exact_patterns_match_only_their_argv() {
        for args in [v(&[]), v(&["-a", "x.y"]), v(&["a b"]), v(&["a", "b"]), v(&[""]), v(&["", ""]), v(&["x*"])] {
            let p = exact_arg_pattern(&args);
            assert!(arg_pattern_matches(&p, &args), "{args:?} {p:?}");
            for other in [v(&[]), v(&["-a", "xzy"]), v(&["a b"]), v(&["a", "b"]), v(&[""]), v(&["", ""]), v(&["xx"])] {
                if other != args {
                    assert!(!arg_pattern_matches(&p, &other), "{p:?} matched {other:?}");
                }
            }
        }
    }
}
#[cfg(test)]
mod dos_tests {
    /// Attack: `system.execApprovals.set` with an entry `{pattern:"uname", argPattern:
    /// "^(?:[a-z]*[a-z]*){3000}$"}` (valid: ~512 KiB of NFA, under regex-lite's 10 MiB
    /// limit), then `system.run ["uname", <100 000 x "a">]`: matching is linear but
    /// states x length, 12-18 s of CPU *synchronously on a runtime worker* (decide/prepare),
    /// outside any `timeoutMs`; N such entries multiply it.
    #[test]
    #[ignore = "hole: argPattern matching cost (NFA size x argv length) is unbounded and runs on the async runtime"]
    fn large_nfa_times_long_argv_is_bounded() {
        let pat = "^(?:[a-z]*[a-z]*){3000}$";
        assert!(regex_lite::Regex::new(pat).is_ok());
        let arg = "a".repeat(100_000) + "!";
        let t = std::time::Instant::now();
        let _ = super::arg_pattern_matches(pat, &[arg]);
        assert!(t.elapsed() < std::time::Duration::from_secs(1), "{:?}", t.elapsed());
    }
}
