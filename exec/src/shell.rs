//! Shells: recognising a payload by the shell's own option grammar, and splitting a payload
//! into the argv of its segments with a conservative lexer.

/// POSIX-family shells whose option grammar [`parse_shell_args`] knows.
pub const SHELLS: &[&str] = &[
    "sh", "bash", "rbash", "dash", "zsh", "ksh", "ksh93", "mksh", "lksh", "pdksh", "oksh", "ash", "hush", "posh",
    "yash",
];

/// Shells whose option grammar is not parsed here: refused outright.
pub const OTHER_SHELLS: &[&str] = &["csh", "tcsh", "fish", "rc", "es", "nu", "elvish", "xonsh", "pwsh", "ion"];

/// Shell builtins that change the shell's state (cwd, PATH, functions, variables, options):
/// refused as a payload segment, whatever the allowlist says (some systems ship an
/// executable of the same name, e.g. Fedora's `/usr/bin/cd`).
pub const STATEFUL_BUILTINS: &[&str] = &[
    "cd",
    "pushd",
    "popd",
    "hash",
    "alias",
    "unalias",
    "export",
    "readonly",
    "declare",
    "typeset",
    "local",
    "set",
    "unset",
    "shopt",
    "setopt",
    "unsetopt",
    "emulate",
    "enable",
    "trap",
    "ulimit",
    "umask",
    "fc",
    "read",
    "mapfile",
    "readarray",
    "getopts",
    "let",
    "autoload",
    "zmodload",
    "functions",
    "rehash",
    "bindkey",
    "disable",
    "shift",
];

/// Short options of the POSIX-family shells that take no value (`-k` is not one of them:
/// see [`KEYWORD`]).
const NO_VALUE: &str = "abefhmnptuvxBCEHPilrsDIVq";
/// Why `-k` / `-o keyword` (bash, ksh) is refused: it makes every `NAME=VALUE` argument of
/// a command an environment assignment, past the override key rules.
const KEYWORD: &str = "shell -k / -o keyword turns NAME=VALUE arguments into environment assignments";
/// Long options (bash) that take no value.
const LONG_NO_VALUE: &[&str] =
    &["norc", "noprofile", "login", "posix", "noediting", "restricted", "verbose", "debugger", "help", "version"];
/// Long options (bash) that take a value.
const LONG_VALUE: &[&str] = &["rcfile", "init-file"];

/// How a shell was invoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellInvocation<'a> {
    /// `-c` somewhere in the options: this string is the command.
    Payload(&'a str),
    /// A script file operand, or commands from stdin: the shell is just a command.
    Script,
    /// Options this host does not parse.
    Refused(&'static str),
}

/// Parses the arguments of a POSIX-family shell (`args` = argv[1..]).
pub fn parse_shell_args(args: &[String]) -> ShellInvocation<'_> {
    let mut payload = false;
    let mut i = 0;
    while let Some(a) = args.get(i) {
        if a == "--" || a == "-" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            if LONG_NO_VALUE.contains(&long) {
                i += 1;
            } else if LONG_VALUE.contains(&long) {
                i += 2;
            } else {
                return ShellInvocation::Refused("shell long option this host does not parse");
            }
            continue;
        }
        let Some(cluster) = a.strip_prefix('-').or_else(|| a.strip_prefix('+')).filter(|c| !c.is_empty()) else {
            break; // the first operand
        };
        let mut values = 0;
        for c in cluster.chars() {
            match c {
                'c' => payload = true,
                'k' => return ShellInvocation::Refused(KEYWORD),
                'o' | 'O' => values += 1,
                c if NO_VALUE.contains(c) => {}
                _ => return ShellInvocation::Refused("shell option this host does not parse"),
            }
        }
        if args.len() < i + 1 + values {
            return ShellInvocation::Refused("shell option without its value");
        }
        if args[i + 1..i + 1 + values].iter().any(|v| v.replace('_', "").eq_ignore_ascii_case("keyword")) {
            return ShellInvocation::Refused(KEYWORD);
        }
        i += 1 + values;
    }
    if !payload {
        return ShellInvocation::Script;
    }
    match args.get(i) {
        Some(p) => ShellInvocation::Payload(p),
        None => ShellInvocation::Refused("shell -c without a command string"),
    }
}

/// Splits a shell payload into the argv of each top-level segment (`&&`, `||`, `;`, `|`,
/// newlines). `None` for anything this host will not analyse: substitutions (`$(…)`,
/// backticks, any `$` outside single quotes, so `$'…'` and `$VAR` too), redirections
/// (`<`, `>`, `<<<`, `&>`), subshells and groups, globs, `~`, comments, background `&`,
/// unbalanced quotes, a trailing backslash. A backslash-newline is a line continuation
/// (removed, like the shell does). Such payloads never match an allowlist.
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
                        '$' | '`' | '!' => return None,
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
                let n = chars.next()?;
                if n != '\n' {
                    in_word = true;
                    word.push(n);
                }
            }
            '$' | '`' | '>' | '<' | '(' | ')' | '{' | '}' | '*' | '?' | '[' | ']' | '~' | '#' | '!' | '^' => {
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
                        return None; // background job, `&>`
                    }
                    chars.next();
                } else if c == '|' && chars.peek() == Some(&'|') {
                    chars.next();
                } else if c == ';' && chars.peek() == Some(&';') {
                    return None; // `;;` (case)
                }
                if words.is_empty() {
                    if c == ';' || c == '\n' {
                        continue;
                    }
                    return None;
                }
                segments.push(std::mem::take(&mut words));
            }
            '\0' => return None,
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
