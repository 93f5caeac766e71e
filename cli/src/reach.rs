//! Per-Gateway reach settings: `[gateway]` or `[[gateway]]` tables in the config, the proxy
//! (`--proxy`, else `CLAWNODE_PROXY` — where `service install --proxy` puts it, in the 0600
//! environment file —, the table's `proxy`, and `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` only
//! with `--proxy-from-env`) and the custom upgrade headers (plain values or secret
//! references, resolved fail-closed).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use clawnode::Secret;
use clawnode::endpoint::{Endpoint, Host, NetworkClass, classify_host_str};
use clawnode::transport::{Proxy, UpgradeHeaders};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::config::{ConfigError, GatewaySection};

/// `[gateway]` (one table) or `[[gateway]]` (several).
#[derive(Debug, Clone, Default)]
pub enum GatewayTables {
    /// No `gateway` key.
    #[default]
    None,
    /// `[gateway]`.
    One(Box<GatewaySection>),
    /// `[[gateway]]`.
    Many(Vec<GatewaySection>),
}

impl<'de> Deserialize<'de> for GatewayTables {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = GatewayTables;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a [gateway] table or [[gateway]] tables")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                GatewaySection::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|g| GatewayTables::One(Box::new(g)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                Vec::<GatewaySection>::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(GatewayTables::Many)
            }
        }
        d.deserialize_any(V)
    }
}

/// A secret in the config: the value itself, or a reference `{ source = "file" | "env",
/// id = … }` (`file`: a path, relative to the config file, whose trimmed content is the
/// value; `env`: an upper-case variable name). A reference that cannot be resolved fails
/// closed.
#[derive(Clone)]
pub enum SecretValue {
    /// Inline.
    Plain(Secret),
    /// A reference.
    Ref {
        /// `file` or `env`.
        source: String,
        /// The path or variable name.
        id: String,
    },
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretValue::Plain(_) => f.write_str("[redacted]"),
            SecretValue::Ref { source, id } => write!(f, "{{source: {source:?}, id: {id:?}}}"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Ref {
            source: String,
            id: String,
        }
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SecretValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a secret reference { source = \"file\" | \"env\", id = \"…\" }")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(SecretValue::Plain(Secret::new(v)))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let r = Ref::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(SecretValue::Ref { source: r.source, id: r.id })
            }
        }
        d.deserialize_any(V)
    }
}

impl SecretValue {
    /// The value; `what` names it in errors, `config` is the config file (for relative
    /// paths and messages), `env` the environment.
    pub fn resolve(
        &self,
        what: &str,
        config: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Secret, ConfigError> {
        let fail = |reason: String| ConfigError::UnresolvedSecret {
            what: what.to_string(),
            path: config.display().to_string(),
            reason,
        };
        match self {
            SecretValue::Plain(s) => Ok(s.clone()),
            SecretValue::Ref { source, id } => match source.as_str() {
                "file" => {
                    let p = Path::new(id);
                    let p = match config.parent() {
                        Some(d) if p.is_relative() => d.join(p),
                        _ => p.to_path_buf(),
                    };
                    crate::secret::read(None, Some(&p), what)
                        .map_err(|e| fail(e.to_string()))?
                        .ok_or_else(|| fail("no value".into()))
                }
                "env" => {
                    let valid = id.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
                        && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
                    if !valid {
                        return Err(fail(format!("invalid env secret id {id:?}")));
                    }
                    let v = env(id).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
                    v.map(Secret::new).ok_or_else(|| fail(format!("environment variable {id} is not set or empty")))
                }
                other => Err(fail(format!("secret source {other:?} is not supported here (use \"file\" or \"env\")"))),
            },
        }
    }
}

/// The upgrade headers of a gateway table, resolved and checked (reserved names refused).
pub fn headers(
    table: &BTreeMap<String, SecretValue>,
    config: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<UpgradeHeaders, ConfigError> {
    let mut out = UpgradeHeaders::new();
    for (name, value) in table {
        let v = value.resolve(&format!("header {name}"), config, env)?;
        out.insert(name, v).map_err(|e| ConfigError::Conflict(format!("{}: {e}", config.display())))?;
    }
    Ok(out)
}

/// The proxy environment (`--proxy-from-env` only): `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY`
/// and their lower-case forms (upper case wins).
#[derive(Debug, Default, Clone)]
pub struct ProxyEnv {
    /// `HTTPS_PROXY`.
    pub https: Option<String>,
    /// `ALL_PROXY`.
    pub all: Option<String>,
    /// `NO_PROXY`.
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// Reads the process environment.
    pub fn from_process() -> Self {
        let get = |k: &str| {
            std::env::var(k)
                .ok()
                .or_else(|| std::env::var(k.to_ascii_lowercase()).ok())
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        ProxyEnv { https: get("HTTPS_PROXY"), all: get("ALL_PROXY"), no_proxy: get("NO_PROXY") }
    }

    /// The proxy for `endpoint`: `wss://` takes `HTTPS_PROXY`, then `ALL_PROXY`; `ws://`
    /// only `ALL_PROXY`; none when `NO_PROXY` matches the Gateway's host, and none for a
    /// loopback Gateway (as Go's `ProxyFromEnvironment`): the proxy would resolve the
    /// loopback name on its own side — with a local `ssh -D` SOCKS proxy, on the far host,
    /// where any user may listen on that port.
    fn for_endpoint(&self, endpoint: &Endpoint) -> Option<&str> {
        let loopback = classify_host_str(&endpoint.host.to_string()) == Some(NetworkClass::Loopback);
        if loopback || self.no_proxy.as_deref().is_some_and(|n| no_proxy_matches(n, &endpoint.host)) {
            return None;
        }
        if endpoint.tls { self.https.as_deref().or(self.all.as_deref()) } else { self.all.as_deref() }
    }
}

/// Whether `NO_PROXY` (comma- or space-separated) covers `host`: `*` covers everything; a
/// name covers itself and its subdomains (a leading `.` or `*.` is ignored); an IP literal
/// covers itself, a CIDR block (`10.0.0.0/8`, `fd00::/8`) the addresses in it; a `:port`
/// suffix is ignored.
pub fn no_proxy_matches(no_proxy: &str, host: &Host) -> bool {
    let host_text = match host {
        Host::Ip(ip) => ip.to_string(),
        Host::Name(n) => n.clone(),
    };
    no_proxy.split([',', ' ']).map(str::trim).filter(|e| !e.is_empty()).any(|entry| {
        if entry == "*" {
            return true;
        }
        let entry = entry.trim_start_matches("*.").trim_start_matches('.').to_ascii_lowercase();
        if let Some((net, len)) = entry.split_once('/') {
            return match (host, net.trim_matches(['[', ']']).parse::<std::net::IpAddr>(), len.parse::<u8>()) {
                (Host::Ip(ip), Ok(net), Ok(len)) => in_cidr(*ip, net, len),
                _ => false,
            };
        }
        let entry = entry.trim_start_matches('[');
        let entry = match entry.rsplit_once(']') {
            Some((ip6, _)) => ip6.to_string(),
            None if entry.matches(':').count() == 1 => entry.split(':').next().unwrap_or("").to_string(),
            None => entry.to_string(),
        };
        match host {
            Host::Ip(ip) => entry.parse::<std::net::IpAddr>().is_ok_and(|e| e == *ip),
            Host::Name(_) => host_text == entry || host_text.ends_with(&format!(".{entry}")),
        }
    })
}

/// Whether `ip` is in `net/len` (same family; a length past the family's width is no match).
fn in_cidr(ip: std::net::IpAddr, net: std::net::IpAddr, len: u8) -> bool {
    use std::net::IpAddr::{V4, V6};
    match (ip, net) {
        (V4(ip), V4(net)) if len <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (V6(ip), V6(net)) if len <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// The variable `run` takes a proxy from when `--proxy` is not given: ClawNode's own (so
/// no other program's setting reroutes the node), written by `service install --proxy` into
/// the 0600 environment file (a proxy URL may carry a password). Like every `CLAWNODE_*`
/// key, it never reaches a child process.
pub const PROXY_VAR: &str = "CLAWNODE_PROXY";

/// `CLAWNODE_PROXY` from the process environment (trimmed; unset or empty → `None`).
pub fn proxy_var() -> Option<String> {
    std::env::var(PROXY_VAR).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

/// Where a proxy came from (for the status line and errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxySource {
    /// `--proxy`.
    Flag,
    /// `CLAWNODE_PROXY` (`service install --proxy`).
    Var,
    /// The gateway table's `proxy`.
    Config,
    /// `HTTPS_PROXY` / `ALL_PROXY` (with `--proxy-from-env`).
    Env,
}

impl ProxySource {
    /// How the user names this source.
    pub fn what(self) -> &'static str {
        match self {
            ProxySource::Flag => "--proxy",
            ProxySource::Var => PROXY_VAR,
            ProxySource::Config => "proxy in the config",
            ProxySource::Env => "HTTPS_PROXY/ALL_PROXY (--proxy-from-env)",
        }
    }
}

/// The proxy for `endpoint`: `--proxy`, else `CLAWNODE_PROXY` (`var`), else the table's
/// `proxy`, else (only when `from_env`) the environment. `none` in the flag, the variable or
/// the table means no proxy.
pub fn choose_proxy(
    flag: Option<&str>,
    var: Option<&str>,
    table: Option<&str>,
    from_env: Option<&ProxyEnv>,
    endpoint: &Endpoint,
) -> Result<Option<(Proxy, ProxySource)>, ConfigError> {
    let parse = |s: &str, source: ProxySource| {
        Proxy::parse(s).map(|p| Some((p, source))).map_err(|e| ConfigError::Conflict(format!("{}: {e}", source.what())))
    };
    for (value, source) in [(flag, ProxySource::Flag), (var, ProxySource::Var), (table, ProxySource::Config)] {
        match value.map(str::trim) {
            Some("none") => return Ok(None),
            Some(v) => return parse(v, source),
            None => {}
        }
    }
    match from_env.and_then(|e| e.for_endpoint(endpoint)) {
        Some(v) => parse(v, ProxySource::Env),
        None => Ok(None),
    }
}

/// A proxy URL with a password on the command line is readable by every local user.
pub fn warn_proxy_flag(flag: Option<&str>) {
    if let Some(p) = flag
        && let Ok(u) = url_has_password(p)
        && u
    {
        eprintln!(
            "clawnode: warning: --proxy carries a password on the command line, where other local users can read it \
             (ps, /proc/<pid>/cmdline); put `proxy = \"…\"` in the config file (mode 0600) instead"
        );
    }
}

fn url_has_password(s: &str) -> Result<bool, ()> {
    let rest = s.split_once("://").map(|(_, r)| r).ok_or(())?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    Ok(authority.rsplit_once('@').is_some_and(|(userinfo, _)| userinfo.contains(':')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        Endpoint::parse(s).unwrap()
    }

    #[test]
    fn no_proxy_rules() {
        let h = |s: &str| ep(&format!("wss://{s}:1")).host;
        assert!(no_proxy_matches("*", &h("gw.example")));
        assert!(no_proxy_matches("example", &h("gw.example")));
        assert!(no_proxy_matches(".example", &h("gw.example")));
        assert!(no_proxy_matches("*.example", &h("gw.example")));
        assert!(no_proxy_matches("localhost, gw.example:443", &h("gw.example")));
        assert!(!no_proxy_matches("ample", &h("gw.example")));
        assert!(!no_proxy_matches("gw.example.org", &h("gw.example")));
        assert!(no_proxy_matches("10.0.0.1", &h("10.0.0.1")));
        assert!(no_proxy_matches("[::1]:18789", &h("[::1]")));
        assert!(no_proxy_matches("::1", &h("[::1]")));
        assert!(!no_proxy_matches("10.0.0.2", &h("10.0.0.1")));
        assert!(!no_proxy_matches("", &h("gw.example")));
    }

    /// Attack: `NO_PROXY=10.0.0.0/8,fd00::/8` (CIDR, as Go's `ProxyFromEnvironment` and curl
    /// read it, and as corporate setups write it) must keep an internal Gateway off the
    /// corporate proxy: otherwise `--proxy-from-env` sends a proxy meant for the internet
    /// the internal Gateway's address (and the traffic) it was told to bypass.
    #[test]
    fn no_proxy_cidr_entries() {
        let h = |s: &str| ep(&format!("wss://{s}:1")).host;
        let no_proxy = "localhost, 10.0.0.0/8, fd00::/8, 192.168.1.0/24";
        for inside in ["10.1.2.3", "[fd00::5]", "[fdff:1::1]", "192.168.1.254"] {
            assert!(no_proxy_matches(no_proxy, &h(inside)), "{inside}");
        }
        for outside in ["11.0.0.1", "[fe80::1]", "192.168.2.1", "gw.example", "ten.internal"] {
            assert!(!no_proxy_matches(no_proxy, &h(outside)), "{outside}");
        }
        assert!(no_proxy_matches("0.0.0.0/0", &h("203.0.113.7")));
        assert!(!no_proxy_matches("0.0.0.0/0", &h("[2001:db8::1]")), "families do not mix");
        for bad in ["10.0.0.0/33", "10.0.0.0/x", "fd00::/129", "example/8"] {
            assert!(!no_proxy_matches(bad, &h("10.1.2.3")), "{bad}");
        }
        let env =
            ProxyEnv { https: Some("http://corp-proxy:3128".into()), all: None, no_proxy: Some("10.0.0.0/8".into()) };
        let chosen = choose_proxy(None, None, None, Some(&env), &ep("wss://10.20.30.40:443")).unwrap();
        assert!(chosen.is_none(), "{chosen:?}");
    }

    #[test]
    fn proxy_precedence_and_env_opt_in() {
        let env = ProxyEnv {
            https: Some("http://envproxy:3128".into()),
            all: Some("socks5h://allproxy:1080".into()),
            no_proxy: Some("internal.example".into()),
        };
        let wss = ep("wss://gw.example:443");
        let get = |flag, table, e: Option<&ProxyEnv>, endpoint: &Endpoint| {
            choose_proxy(flag, None, table, e, endpoint).unwrap().map(|(p, s)| (p.to_string(), s))
        };
        assert_eq!(get(None, None, None, &wss), None, "the environment is ignored without --proxy-from-env");
        assert_eq!(get(None, None, Some(&env), &wss), Some(("http://envproxy:3128".into(), ProxySource::Env)));
        assert_eq!(
            get(None, None, Some(&env), &ep("ws://192.168.1.5:1")),
            Some(("socks5h://allproxy:1080".into(), ProxySource::Env)),
            "ws:// takes ALL_PROXY only"
        );
        // Attack: ALL_PROXY is a local `ssh -D` SOCKS proxy and the Gateway a loopback URL
        // (an SSH tunnel's local end): the proxy would resolve 127.0.0.1 on the far host and
        // hand the plaintext token to whoever listens there. An environment proxy never
        // applies to a loopback Gateway (an explicit --proxy or table proxy still may).
        let local_socks = ProxyEnv {
            https: Some("socks5h://127.0.0.1:1080".into()),
            all: Some("socks5h://127.0.0.1:1080".into()),
            no_proxy: None,
        };
        for url in ["ws://127.0.0.1:18789", "ws://localhost:18789", "wss://[::1]:18789", "ws://127.0.0.2:1"] {
            assert_eq!(get(None, None, Some(&local_socks), &ep(url)), None, "{url}");
        }
        assert_eq!(
            get(Some("socks5h://127.0.0.1:1080"), None, Some(&local_socks), &ep("ws://127.0.0.1:18789")),
            Some(("socks5h://127.0.0.1:1080".into(), ProxySource::Flag)),
            "an explicit proxy is the user's choice"
        );
        assert_eq!(get(None, None, Some(&env), &ep("wss://gw.internal.example:1")), None, "NO_PROXY");
        assert_eq!(
            get(None, Some("http://cfg:8080"), Some(&env), &wss),
            Some(("http://cfg:8080".into(), ProxySource::Config))
        );
        assert_eq!(
            get(Some("socks5://flag:1080"), Some("http://cfg:8080"), Some(&env), &wss),
            Some(("socks5h://flag:1080".into(), ProxySource::Flag))
        );
        assert_eq!(get(Some("none"), Some("http://cfg:8080"), Some(&env), &wss), None);
        assert_eq!(get(None, Some("none"), Some(&env), &wss), None);
        assert!(choose_proxy(Some("https://p:1"), None, None, None, &wss).is_err());
        assert!(
            choose_proxy(
                None,
                None,
                None,
                Some(&ProxyEnv { https: Some("ftp://x:1".into()), ..ProxyEnv::default() }),
                &wss
            )
            .is_err()
        );
        // CLAWNODE_PROXY (what `service install --proxy` writes): after --proxy, before the table.
        let var = |flag, var, table| {
            choose_proxy(flag, var, table, Some(&env), &wss).unwrap().map(|(p, s)| (p.to_string(), s))
        };
        assert_eq!(
            var(None, Some("http://svc:3128"), Some("http://cfg:8080")),
            Some(("http://svc:3128".into(), ProxySource::Var))
        );
        assert_eq!(
            var(Some("socks5://flag:1080"), Some("http://svc:3128"), None),
            Some(("socks5h://flag:1080".into(), ProxySource::Flag))
        );
        assert_eq!(var(None, Some("none"), Some("http://cfg:8080")), None);
        let e = choose_proxy(None, Some("ftp://u:hunter2@x:1"), None, None, &wss).unwrap_err().to_string();
        assert!(e.contains("CLAWNODE_PROXY") && !e.contains("hunter2"), "{e}");
    }

    #[test]
    fn password_in_flag_detected() {
        assert_eq!(url_has_password("http://u:p@proxy:1"), Ok(true));
        assert_eq!(url_has_password("http://u@proxy:1"), Ok(false));
        assert_eq!(url_has_password("http://proxy:1/a@b"), Ok(false));
    }

    #[test]
    fn header_values_and_refs() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(dir.path().join("cf-secret"), "from-file\n").unwrap();
        std::fs::write(
            &cfg,
            r#"
[gateway]
url = "wss://gw.example"
headers = { "CF-Access-Client-Id" = "id.access", "CF-Access-Client-Secret" = { source = "file", id = "cf-secret" }, "X-Env" = { source = "env", id = "EDGE_TOKEN" } }
"#,
        )
        .unwrap();
        let file = crate::config::FileConfig::load(&cfg, true).unwrap();
        let env = |k: &str| (k == "EDGE_TOKEN").then(|| "from-env".to_string());
        let h = headers(file.gateway.headers.as_ref().unwrap(), &cfg, &env).unwrap();
        assert_eq!(h.names().collect::<Vec<_>>(), ["CF-Access-Client-Id", "CF-Access-Client-Secret", "X-Env"]);
        let dbg = format!("{h:?} {:?}", file.gateway.headers);
        assert!(!dbg.contains("id.access") && !dbg.contains("from-file"), "{dbg}");
        // Fail closed: a missing file, an unset variable, an unknown source.
        let none = |_: &str| None;
        for bad in [
            SecretValue::Ref { source: "file".into(), id: "missing".into() },
            SecretValue::Ref { source: "env".into(), id: "EDGE_TOKEN".into() },
            SecretValue::Ref { source: "env".into(), id: "lower".into() },
            SecretValue::Ref { source: "exec".into(), id: "x".into() },
        ] {
            let mut t = BTreeMap::new();
            t.insert("X-Edge".to_string(), bad.clone());
            assert!(matches!(headers(&t, &cfg, &none), Err(ConfigError::UnresolvedSecret { .. })), "{bad:?}");
        }
        // Reserved names are refused with the rule in the message.
        let mut t = BTreeMap::new();
        t.insert("Sec-WebSocket-Protocol".to_string(), SecretValue::Plain(Secret::new("x")));
        let e = headers(&t, &cfg, &none).unwrap_err().to_string();
        assert!(e.contains("reserved"), "{e}");
    }

    #[test]
    fn one_or_many_gateway_tables() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        std::fs::write(
            &cfg,
            "[[gateway]]\nname = \"home\"\nurl = \"ws://127.0.0.1:1\"\n[[gateway]]\nname = \"work\"\nurl = \"wss://gw.example\"\nproxy = \"http://proxy:3128\"\n",
        )
        .unwrap();
        let file = crate::config::FileConfig::load(&cfg, true).unwrap();
        let names: Vec<_> = file.gateways.iter().map(|g| g.name.clone().unwrap_or_default()).collect();
        assert_eq!(names, ["home", "work"]);
        assert!(file.gateway.url.is_none());
        std::fs::write(&cfg, "[[gateway]]\nname = \"x\"\nurll = \"ws://127.0.0.1:1\"\n").unwrap();
        let e = crate::config::FileConfig::load(&cfg, true).unwrap_err().to_string();
        assert!(e.contains("urll"), "{e}");
    }
}

#[cfg(test)]
mod leak_tests {
    /// Attack: `Debug` of the parsed config (a `tracing` field, a panic message, a future
    /// `{:?}`) must not print a gateway table's inline token, password or proxy password.
    #[test]
    fn gateway_tables_debug_without_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("config.toml");
        let table = "url = \"wss://gw.example\"\ntoken = \"tok-SECRET-1\"\npassword = \"pw-SECRET-2\"\n\
                     proxy = \"http://alice:px-SECRET-3@proxy:3128\"\n\
                     headers = { \"X-Edge\" = \"hdr-SECRET-4\" }\n";
        for text in [format!("[gateway]\n{table}"), format!("[[gateway]]\nname = \"a\"\n{table}")] {
            std::fs::write(&cfg, &text).unwrap();
            let file = crate::config::FileConfig::load(&cfg, true).unwrap();
            let dbg = format!("{file:?} {:?} {:?}", file.gateway, file.gateways);
            for secret in ["tok-SECRET-1", "pw-SECRET-2", "px-SECRET-3", "hdr-SECRET-4", "alice"] {
                assert!(!dbg.contains(secret), "{secret} in {dbg}");
            }
            assert!(dbg.contains("gw.example") && dbg.contains("proxy:3128"), "{dbg}");
        }
    }
}
