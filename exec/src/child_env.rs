//! The environment of a `system.run` child: built from nothing (the child never inherits
//! the node's environment), with a small set of keys taken from the node's own environment
//! ([`INHERITED_ENV`]), `PATH` fixed by the host, and the caller's overrides.
//!
//! The node's environment holds secrets (`OPENCLAW_GATEWAY_TOKEN`, everything from a
//! systemd `EnvironmentFile=`, `CLAWNODE_*` settings); none of it reaches a child unless
//! the key is in [`INHERITED_ENV`]. Overrides have already passed the policy's blocklist
//! (`policy::blocked_env_keys`); this module refuses, in addition and whatever that table
//! says, overrides that would reintroduce the node's own keys ([`RESERVED_ENV_PREFIXES`]),
//! set `PATH`, or are malformed (empty, `=` or NUL in the name).

use std::ffi::OsString;

/// One key (or key prefix) a child inherits from the node's environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InheritedKey {
    /// The variable name, or a prefix when `prefix` is set.
    pub name: &'static str,
    /// `name` is a prefix (`LC_` covers `LC_ALL`, `LC_CTYPE`, …).
    pub prefix: bool,
    /// Why a child needs it.
    pub reason: &'static str,
}

const fn key(name: &'static str, reason: &'static str) -> InheritedKey {
    InheritedKey { name, prefix: false, reason }
}

/// The only keys a child takes from the node's environment (exact names, case-sensitive),
/// each with the reason it is passed. Nothing here is a credential: they describe the
/// account the child already runs as and how to render text for it.
pub const INHERITED_ENV: &[InheritedKey] = &[
    key("HOME", "where tools find their per-user configuration and caches (git, ssh, …)"),
    key("LANG", "locale: message language and character encoding of the output"),
    InheritedKey { name: "LC_", prefix: true, reason: "locale categories (LC_ALL, LC_CTYPE, …), as LANG" },
    key("TERM", "terminal type, for tools that format their output"),
    key("TZ", "time zone of the timestamps a tool prints"),
    key("USER", "the account the child runs as (it learns the same from getpwuid); scripts and tools read it instead"),
    key("LOGNAME", "as USER (POSIX name of the same fact)"),
];

/// Override name prefixes that are always refused (case-insensitive): the node's own
/// configuration and credentials.
pub const RESERVED_ENV_PREFIXES: &[&str] = &["OPENCLAW_", "CLAWNODE_"];

/// Why the child environment could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChildEnvError {
    /// Overrides naming reserved or malformed keys (sorted, deduplicated; never the values).
    #[error("environment override rejected (reserved override keys: {})", keys.join(", "))]
    ReservedKeys {
        /// The refused names.
        keys: Vec<String>,
    },
}

fn inherited(name: &str) -> bool {
    INHERITED_ENV
        .iter()
        .any(|k| if k.prefix { name.starts_with(k.name) && name.len() > k.name.len() } else { name == k.name })
}

fn reserved(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    name.is_empty()
        || name.contains(['=', '\0'])
        || upper == "PATH"
        || RESERVED_ENV_PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// Proxy variables (any case) that may carry the proxy's credentials (`user:pass@`): the
/// node reads them with `--proxy-from-env`; its other children never need them.
pub const PROXY_CREDENTIAL_ENV: &[&str] = &["HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"];

/// Whether `name` is one of the node's own keys ([`RESERVED_ENV_PREFIXES`]) or a proxy
/// variable ([`PROXY_CREDENTIAL_ENV`]): a process the node starts that must keep the rest of
/// its environment (`ssh`, `notify-send`) is given everything but these.
pub fn is_node_private(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_none_or(|n| {
        let upper = n.to_ascii_uppercase();
        RESERVED_ENV_PREFIXES.iter().any(|p| upper.starts_with(p)) || PROXY_CREDENTIAL_ENV.contains(&upper.as_str())
    })
}

/// The override names this module refuses (sorted, deduplicated).
pub fn reserved_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut out: Vec<String> = keys.into_iter().filter(|k| reserved(k)).map(str::to_string).collect();
    out.sort();
    out.dedup();
    out
}

/// The complete environment of a child: the [`INHERITED_ENV`] keys of `parent` (the node's
/// environment, `std::env::vars_os()` in production), then `overrides` (which replace an
/// inherited value), then `PATH=path_env`. Sorted by name, one entry per name.
pub fn build(
    parent: impl IntoIterator<Item = (OsString, OsString)>,
    path_env: &str,
    overrides: &[(String, String)],
) -> Result<Vec<(OsString, OsString)>, ChildEnvError> {
    let refused = reserved_keys(overrides.iter().map(|(k, _)| k.as_str()));
    if !refused.is_empty() {
        return Err(ChildEnvError::ReservedKeys { keys: refused });
    }
    let mut env = std::collections::BTreeMap::new();
    for (k, v) in parent {
        if k.to_str().is_some_and(inherited) {
            env.insert(k, v);
        }
    }
    for (k, v) in overrides {
        env.insert(OsString::from(k), OsString::from(v));
    }
    env.insert(OsString::from("PATH"), OsString::from(path_env));
    Ok(env.into_iter().collect())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn os(pairs: &[(&str, &str)]) -> Vec<(OsString, OsString)> {
        pairs.iter().map(|(k, v)| (OsString::from(k), OsString::from(v))).collect()
    }

    /// The node's environment as a systemd unit with an env file gives it.
    pub(crate) fn node_env() -> Vec<(OsString, OsString)> {
        os(&[
            ("OPENCLAW_GATEWAY_TOKEN", "tok-SECRET-marker"),
            ("OPENCLAW_GATEWAY_PASSWORD", "pw-SECRET-marker"),
            ("CLAWNODE_STATE_DIR", "/var/lib/clawnode"),
            ("CLAWNODE_TEST_SECRET", "SECRET-marker"),
            ("AWS_SECRET_ACCESS_KEY", "SECRET-marker"),
            ("LD_PRELOAD", "/tmp/evil.so"),
            ("PATH", "/tmp/evil:/usr/bin"),
            ("HOME", "/home/node"),
            ("LANG", "C.UTF-8"),
            ("LC_ALL", "C"),
            ("LC_", "not a locale key"),
            ("TERM", "xterm"),
            ("TZ", "UTC"),
            ("USER", "node"),
            ("LOGNAME", "node"),
            ("SHELL", "/bin/bash"),
            ("home", "lower-case is another key"),
        ])
    }

    #[test]
    fn only_the_table_is_inherited_and_path_is_fixed() {
        let env = build(node_env(), "/usr/bin:/bin", &[]).unwrap();
        assert_eq!(
            env,
            os(&[
                ("HOME", "/home/node"),
                ("LANG", "C.UTF-8"),
                ("LC_ALL", "C"),
                ("LOGNAME", "node"),
                ("PATH", "/usr/bin:/bin"),
                ("TERM", "xterm"),
                ("TZ", "UTC"),
                ("USER", "node"),
            ])
        );
    }

    #[test]
    fn overrides_replace_inherited_values() {
        let env = build(node_env(), "/bin", &[("LANG".into(), "de_DE.UTF-8".into()), ("FOO".into(), "1".into())]);
        let env = env.unwrap();
        assert!(env.contains(&(OsString::from("LANG"), OsString::from("de_DE.UTF-8"))));
        assert!(env.contains(&(OsString::from("FOO"), OsString::from("1"))));
        assert_eq!(env.iter().filter(|(k, _)| k == "LANG").count(), 1);
    }

    /// Attack rows: an override that names the node's own keys, PATH, or a malformed name
    /// (`PATH=/tmp` would put a second PATH entry into envp) is refused, never dropped.
    #[test]
    fn reserved_and_malformed_overrides_are_refused() {
        for (k, why) in [
            ("OPENCLAW_GATEWAY_TOKEN", "the Gateway token by name"),
            ("openclaw_gateway_url", "case variant"),
            ("CLAWNODE_STATE_DIR", "node setting"),
            ("PATH", "PATH is the host's"),
            ("Path", "case variant of PATH"),
            ("PATH=/tmp", "second PATH entry in envp"),
            ("", "empty name"),
            ("A\0B", "NUL in the name"),
        ] {
            let e = build(node_env(), "/bin", &[(k.into(), "v".into())]).unwrap_err();
            assert_eq!(e, ChildEnvError::ReservedKeys { keys: vec![k.to_string()] }, "{why}");
        }
        let e = build(vec![], "/bin", &[("OPENCLAW_X".into(), "SECRET".into()), ("CLAWNODE_Y".into(), "v".into())]);
        let msg = e.unwrap_err().to_string();
        assert_eq!(msg, "environment override rejected (reserved override keys: CLAWNODE_Y, OPENCLAW_X)");
        assert!(!msg.contains("SECRET"));
        assert!(reserved_keys(["FOO", "LANG"]).is_empty());
    }

    #[test]
    fn node_private_keys_include_proxy_credentials_in_any_case() {
        use std::ffi::OsStr;
        for k in ["CLAWNODE_PROXY", "openclaw_gateway_token", "HTTPS_PROXY", "https_proxy", "All_Proxy", "HTTP_PROXY"] {
            assert!(is_node_private(OsStr::new(k)), "{k}");
        }
        for k in ["NO_PROXY", "DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "HOME", "SSH_AUTH_SOCK"] {
            assert!(!is_node_private(OsStr::new(k)), "{k}");
        }
    }
}
