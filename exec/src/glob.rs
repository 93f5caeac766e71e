//! Allowlist globs: `**` any characters, `*` any but `/`, `?` one but `/`, `\c` the
//! character `c` itself (so a path holding `*?[\` can be stored without widening the entry:
//! [`glob_escape`]). Matching is case-sensitive (Linux file systems are), and bounded.

/// Whether `pattern` matches all of `text`.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let p = tokens(pattern);
    let t: Vec<char> = text.chars().collect();
    let mut budget = 100_000u32;
    rec(&p, &t, &mut budget)
}

/// `pattern` with every glob metacharacter escaped: it matches exactly `literal`.
pub fn glob_escape(literal: &str) -> String {
    let mut out = String::with_capacity(literal.len());
    for c in literal.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok {
    AnyDeep,
    Any,
    One,
    Lit(char),
}

fn tokens(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(Tok::Lit(chars.next().unwrap_or('\\'))),
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                out.push(Tok::AnyDeep);
            }
            '*' => out.push(Tok::Any),
            '?' => out.push(Tok::One),
            c => out.push(Tok::Lit(c)),
        }
    }
    out
}

fn rec(p: &[Tok], t: &[char], budget: &mut u32) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    match p.first() {
        None => t.is_empty(),
        Some(Tok::AnyDeep) => {
            let rest = &p[1..];
            (0..=t.len()).any(|i| rec(rest, &t[i..], budget))
                || (rest.first() == Some(&Tok::Lit('/')) && rec(&rest[1..], t, budget))
        }
        Some(Tok::Any) => {
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
        Some(Tok::One) => t.first().is_some_and(|c| *c != '/') && rec(&p[1..], &t[1..], budget),
        Some(Tok::Lit(c)) => t.first() == Some(c) && rec(&p[1..], &t[1..], budget),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob_match("/usr/bin/*", "/usr/bin/uname"));
        assert!(!glob_match("/usr/*", "/usr/bin/uname"));
        assert!(glob_match("/usr/**", "/usr/bin/uname"));
        assert!(glob_match("/opt/**/bin/rg", "/opt/bin/rg"));
        assert!(glob_match("/opt/**/bin/rg", "/opt/a/b/bin/rg"));
        assert!(glob_match("un?me", "uname"));
        assert!(!glob_match("echo", "echo2"));
    }

    #[test]
    fn case_variant_globs_do_not_match() {
        // Attack: `UNAME` / `/USR/BIN/*` matched case-insensitively on a case-sensitive FS.
        assert!(!glob_match("UNAME", "uname"));
        assert!(!glob_match("/USR/BIN/*", "/usr/bin/uname"));
        assert!(!glob_match("/usr/bin/Uname", "/usr/bin/uname"));
    }

    #[test]
    fn escaped_metacharacters_are_literal() {
        // Attack: allow-always of `/tmp/x/*` (a file literally named `*`) stored unescaped
        // would allow every file in /tmp/x.
        let stored = glob_escape("/tmp/x/*");
        assert_eq!(stored, "/tmp/x/\\*");
        assert!(glob_match(&stored, "/tmp/x/*"));
        assert!(!glob_match(&stored, "/tmp/x/id"));
        for lit in ["/a/b?c", "/a/[ab]", "/a/\\x", "/a/**/b", "/plain/uname"] {
            let g = glob_escape(lit);
            assert!(glob_match(&g, lit), "{lit}");
        }
        assert!(!glob_match(&glob_escape("/a/b?c"), "/a/bxc"));
        assert!(!glob_match(&glob_escape("/a/**/b"), "/a/x/y/b"));
    }
}
