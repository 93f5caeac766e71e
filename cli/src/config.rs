//! Where the CLI gets its Gateway target and credentials from.
//!
//! Precedence (remote-access.md §4):
//! - Explicit `--token`/`--password` (or their `-file` forms) always win.
//! - An explicit `--url` never picks up environment or config credentials: without explicit
//!   credentials it is only allowed when a device token issued by that exact origin is stored.
//! - `OPENCLAW_GATEWAY_URL` (without `--url`) uses environment credentials only
//!   (`OPENCLAW_GATEWAY_TOKEN` / `OPENCLAW_GATEWAY_PASSWORD`).
//! - Otherwise ClawNode's own config file, then OpenClaw's `openclaw.json` (`gateway.*` keys
//!   only, never written): local mode takes env → `gateway.auth.*` and, as a node host,
//!   ignores `gateway.remote.*`; remote mode takes `gateway.remote.*` with the remote
//!   precedence.
//!
//! Longer than the ~600 lines a file aims for (670 non-test lines), on purpose: the
//! precedence above is one rule, and each source's reading stays beside the others so it
//! can be checked against remote-access.md §4 top to bottom.

use std::path::{Path, PathBuf};

use clawnode::Secret;
use serde::Deserialize;
use serde_json::Value;

/// Config and credential resolution errors.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file could not be parsed.
    #[error("cannot parse {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A configured secret cannot be resolved: fail closed.
    #[error("{what} in {path} cannot be resolved ({reason}); refusing to fall back to another credential")]
    UnresolvedSecret {
        /// Which key.
        what: String,
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A TLS fingerprint in the config or on the command line is invalid.
    #[error("{what}: {message}")]
    Pin {
        /// Where it came from.
        what: String,
        /// Why.
        message: String,
    },
    /// `--url` without explicit credentials and no stored device token for it.
    #[error(
        "gateway url override requires explicit credentials: pass --token/--token-file or --password (no stored device token for {0})"
    )]
    ExplicitCredentialsRequired(String),
    /// The explicit `--url` is not a valid gateway URL (the message never repeats user info).
    #[error(transparent)]
    Url(#[from] clawnode::endpoint::EndpointError),
    /// Both a token and a token file.
    #[error("{0}")]
    Conflict(String),
}

/// ClawNode's own config file (`config.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[gateway]` or `[[gateway]]` as written; split by [`FileConfig::load`] into
    /// `gateway` and `gateways`.
    #[serde(default, rename = "gateway")]
    tables: crate::reach::GatewayTables,
    /// `[gateway]`: the one Gateway (empty when `[[gateway]]` tables are used).
    #[serde(skip)]
    pub gateway: GatewaySection,
    /// `[[gateway]]`: several Gateways served by one `run` (empty with `[gateway]`).
    #[serde(skip)]
    pub gateways: Vec<GatewaySection>,
    /// Node section.
    #[serde(default)]
    pub node: NodeSection,
    /// `[[commands]]`: commands without Rust.
    #[serde(default)]
    pub commands: Vec<crate::custom::CustomCommandConfig>,
    /// `[ssh]`: a managed SSH tunnel to the Gateway.
    #[serde(default)]
    pub ssh: SshSection,
}

/// `[ssh]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshSection {
    /// `[user@]host[:sshport]` or a `~/.ssh/config` alias.
    pub target: Option<String>,
    /// Private key (relative to the config file).
    pub identity: Option<PathBuf>,
    /// The Gateway's port on the remote loopback (default 18789).
    pub remote_port: Option<u16>,
    /// Extra `-o KEY=VALUE` options.
    #[serde(default)]
    pub options: Vec<String>,
}

/// `[gateway]`, or one of the `[[gateway]]` tables. `Debug` redacts the token, the password
/// and the proxy URL's user info.
#[derive(Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
    /// A short name (status lines, `clawnode status`, the Gateway's own state directory
    /// `gateways/<name>/`); required with `[[gateway]]`.
    pub name: Option<String>,
    /// Gateway URL.
    pub url: Option<String>,
    /// Shared token.
    pub token: Option<String>,
    /// File holding the shared token.
    pub token_file: Option<PathBuf>,
    /// Shared password.
    pub password: Option<String>,
    /// File holding the password.
    pub password_file: Option<PathBuf>,
    /// Pinned TLS fingerprint for a `wss://` url.
    pub tls_fingerprint: Option<String>,
    /// Local users (names or uids; `"any"` turns the check off) besides this node's own
    /// and root whose listener may serve a plaintext loopback Gateway (`--gateway-user`).
    pub users: Option<Vec<String>>,
    /// Proxy to reach this Gateway through: `http://[user:pass@]host:port` (CONNECT) or
    /// `socks5://…` / `socks5h://…`; `"none"` for none.
    pub proxy: Option<String>,
    /// Extra headers on the WebSocket upgrade (values inline or secret references).
    pub headers: Option<std::collections::BTreeMap<String, crate::reach::SecretValue>>,
    /// Commands offered to this Gateway (default: `[node] commands`, else all built-ins).
    pub commands: Option<Vec<String>>,
}

impl std::fmt::Debug for GatewaySection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "[redacted]");
        let proxy = self.proxy.as_deref().map(|p| match p.split_once("://") {
            Some((scheme, rest)) if rest.contains('@') => {
                format!("{scheme}://[redacted]@{}", rest.rsplit_once('@').map_or("", |(_, h)| h))
            }
            Some(_) => p.to_string(),
            None if p.contains('@') => "[redacted]".to_string(),
            None => p.to_string(),
        });
        f.debug_struct("GatewaySection")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("token", &redacted(&self.token))
            .field("token_file", &self.token_file)
            .field("password", &redacted(&self.password))
            .field("password_file", &self.password_file)
            .field("tls_fingerprint", &self.tls_fingerprint)
            .field("users", &self.users)
            .field("proxy", &proxy)
            .field("headers", &self.headers)
            .field("commands", &self.commands)
            .finish()
    }
}

/// `[node]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Display name.
    pub display_name: Option<String>,
    /// State directory.
    pub state_dir: Option<PathBuf>,
    /// Commands to offer (default: all built-ins).
    pub commands: Option<Vec<String>>,
}

impl FileConfig {
    /// Loads `path`; a missing file is an empty config unless `required`.
    pub fn load(path: &Path, required: bool) -> Result<Self, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let mut cfg: FileConfig = basic_toml::from_str(&text)
                    .map_err(|e| ConfigError::Parse { path: path.display().to_string(), message: e.to_string() })?;
                match std::mem::take(&mut cfg.tables) {
                    crate::reach::GatewayTables::None => {}
                    crate::reach::GatewayTables::One(g) => cfg.gateway = *g,
                    crate::reach::GatewayTables::Many(v) => cfg.gateways = v,
                }
                Ok(cfg)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(FileConfig::default()),
            Err(e) => Err(ConfigError::Read { path: path.display().to_string(), source: e }),
        }
    }
}

/// The `gateway.*` keys of OpenClaw's `openclaw.json`.
#[derive(Debug, Default, Clone)]
pub struct OpenClawGateway {
    /// `gateway.mode == "remote"`.
    pub remote_mode: bool,
    /// `gateway.port`.
    pub port: Option<u16>,
    /// `gateway.remote.url`.
    pub remote_url: Option<String>,
    /// `gateway.remote.token`.
    pub remote_token: Option<Secret>,
    /// `gateway.remote.password`.
    pub remote_password: Option<Secret>,
    /// `gateway.auth.token`.
    pub auth_token: Option<Secret>,
    /// `gateway.auth.password`.
    pub auth_password: Option<Secret>,
    /// `gateway.remote.tlsFingerprint` (raw; validated when used).
    pub remote_tls_fingerprint: Option<String>,
    /// `gateway.tls.enabled`: the local Gateway serves `wss://` on its port.
    pub tls_enabled: bool,
    /// With `tls_enabled`, the certificate the local Gateway serves ([`local_tls_cert`]).
    pub tls_cert: Option<PathBuf>,
}

/// Reads a credential at `path` under `gateway`: a plain string, or a secret reference
/// `{source: "env" | "file", provider?, id}` resolved here. Anything that cannot be
/// resolved fails closed (no fallback masks it).
fn secret_at(
    root: &Value,
    path: &[&str],
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    let mut cur = match root.get("gateway") {
        Some(g) => g,
        None => return Ok(None),
    };
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    let what = format!("gateway.{}", path.join("."));
    let fail =
        |reason: String| ConfigError::UnresolvedSecret { what: what.clone(), path: file.display().to_string(), reason };
    match cur {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(Secret::new(s.trim()))),
        Value::Object(o) => resolve_secret_ref(root, o, file, env).map(|v| Some(Secret::new(v))).map_err(fail),
        _ => Err(fail("not a string or a secret reference".into())),
    }
}

/// Resolves `{source, provider?, id}` (OpenClaw's SecretRef): `env` reads the process
/// environment (`id` = variable name); `file` reads the provider's file
/// (`secrets.providers.<provider>` with `source: "file"`, `path`, `mode: "json"` (default,
/// `id` = JSON pointer) or `"singleValue"` (`id` = `"value"`)). `exec` and `store` are not
/// supported and fail closed.
fn resolve_secret_ref(
    root: &Value,
    r: &serde_json::Map<String, Value>,
    file: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, String> {
    let source = r.get("source").and_then(Value::as_str).ok_or("secret reference without a source")?;
    let id = r.get("id").and_then(Value::as_str).filter(|s| !s.is_empty()).ok_or("secret reference without an id")?;
    let non_empty = |v: String, what: String| {
        let t = v.trim().to_string();
        if t.is_empty() { Err(format!("{what} is empty")) } else { Ok(t) }
    };
    let provider_name = |default_key: &str| -> String {
        r.get("provider")
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| {
                root.pointer(&format!("/secrets/defaults/{default_key}")).and_then(Value::as_str).map(str::to_string)
            })
            .unwrap_or_else(|| "default".to_string())
    };
    match source {
        "env" => {
            let valid = id.bytes().next().is_some_and(|b| b.is_ascii_uppercase())
                && id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
            if !valid {
                return Err(format!("invalid env secret id {id:?}"));
            }
            let name = provider_name("env");
            if let Some(p) = root.pointer(&format!("/secrets/providers/{name}"))
                && p.get("source").and_then(Value::as_str) != Some("env")
            {
                return Err(format!("secret provider {name:?} is not an env provider"));
            }
            let v = env(id).ok_or_else(|| format!("environment variable {id} is not set"))?;
            non_empty(v, format!("environment variable {id}"))
        }
        "file" => {
            let name = provider_name("file");
            let p = root
                .pointer(&format!("/secrets/providers/{name}"))
                .ok_or_else(|| format!("secret provider {name:?} is not configured"))?;
            if p.get("source").and_then(Value::as_str) != Some("file") {
                return Err(format!("secret provider {name:?} is not a file provider"));
            }
            let raw =
                p.get("path").and_then(Value::as_str).ok_or_else(|| format!("secret provider {name:?} has no path"))?;
            let expanded = match (raw.strip_prefix("~/"), std::env::var_os("HOME")) {
                (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
                _ => PathBuf::from(raw),
            };
            let resolved = match file.parent() {
                Some(d) if expanded.is_relative() => d.join(expanded),
                _ => expanded,
            };
            let text =
                std::fs::read_to_string(&resolved).map_err(|e| format!("cannot read {}: {e}", resolved.display()))?;
            match p.get("mode").and_then(Value::as_str).unwrap_or("json") {
                "singleValue" => {
                    if id != "value" {
                        return Err("a singleValue file secret needs id \"value\"".into());
                    }
                    non_empty(text, resolved.display().to_string())
                }
                "json" => {
                    if !id.starts_with('/') {
                        return Err(format!("file secret id {id:?} is not an absolute JSON pointer"));
                    }
                    let v: Value =
                        json5::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", resolved.display()))?;
                    let s = v
                        .pointer(id)
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{id} not found as a string in {}", resolved.display()))?;
                    non_empty(s.to_string(), format!("{id} in {}", resolved.display()))
                }
                other => Err(format!("unsupported file secret mode {other:?}")),
            }
        }
        other => Err(format!("secret source {other:?} is not supported by clawnode")),
    }
}

impl OpenClawGateway {
    /// Reads `openclaw.json` (JSON5) at `path`, `None` when absent. Only `gateway.*` is read.
    pub fn load(path: &Path) -> Result<Option<Self>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ConfigError::Read { path: path.display().to_string(), source: e }),
        };
        let v: Value = json5::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.display().to_string(), message: e.to_string() })?;
        let env = |k: &str| std::env::var(k).ok();
        Self::from_value_with_env(&v, path, &env).map(Some)
    }

    /// Extracts the `gateway.*` keys, resolving env secret references from the process.
    #[cfg(test)]
    pub fn from_value(v: &Value, path: &Path) -> Result<Self, ConfigError> {
        let env = |k: &str| std::env::var(k).ok();
        Self::from_value_with_env(v, path, &env)
    }

    /// Extracts the `gateway.*` keys with `env` as the environment for secret references.
    /// Secret references are resolved for the keys of the mode in force only: a node host
    /// in local mode never reads `gateway.remote.*`.
    pub fn from_value_with_env(
        v: &Value,
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let g = v.get("gateway").cloned().unwrap_or(Value::Null);
        let remote_mode = g.get("mode").and_then(Value::as_str) == Some("remote");
        let remote = |k: &str| if remote_mode { secret_at(v, &["remote", k], path, env) } else { Ok(None) };
        let tls_enabled = g.pointer("/tls/enabled").and_then(Value::as_bool) == Some(true);
        Ok(OpenClawGateway {
            remote_mode,
            port: g.get("port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()),
            remote_url: g.pointer("/remote/url").and_then(Value::as_str).map(str::to_string),
            remote_token: remote("token")?,
            remote_password: remote("password")?,
            auth_token: secret_at(v, &["auth", "token"], path, env)?,
            auth_password: secret_at(v, &["auth", "password"], path, env)?,
            remote_tls_fingerprint: g
                .pointer("/remote/tlsFingerprint")
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            tls_enabled,
            tls_cert: tls_enabled.then(|| local_tls_cert(g.pointer("/tls/certPath").and_then(Value::as_str), path)),
        })
    }
}

/// The certificate a local TLS Gateway serves, as OpenClaw's local CLI finds it:
/// `gateway.tls.certPath` (`~/` expanded; relative to the directory of `openclaw.json`),
/// else `gateway/tls/gateway-cert.pem` in that directory (OpenClaw's state directory).
fn local_tls_cert(cert_path: Option<&str>, openclaw_json: &Path) -> PathBuf {
    let dir = openclaw_json.parent().unwrap_or(Path::new("."));
    match cert_path.map(str::trim).filter(|p| !p.is_empty()) {
        Some(p) => match (p.strip_prefix("~/"), crate::dirs::home()) {
            (Some(rest), Some(home)) => home.join(rest),
            _ => dir.join(p),
        },
        None => dir.join("gateway").join("tls").join("gateway-cert.pem"),
    }
}

/// `OPENCLAW_GATEWAY_PORT` as OpenClaw reads it (`parseGatewayPortEnvValue`): digits, or
/// `host:port` / `[v6]:port` (the port part); `None` when unset or not a port in 1..=65535.
pub fn parse_port_env(raw: &str) -> Option<u16> {
    let t = raw.trim();
    let digits = if t.bytes().all(|b| b.is_ascii_digit()) {
        t
    } else if let Some(rest) = t.strip_prefix('[') {
        rest.split_once("]:")?.1
    } else {
        match t.split_once(':') {
            Some((host, port)) if !host.is_empty() && !port.contains(':') => port,
            _ => return None,
        }
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u16>().ok().filter(|p| *p > 0)
}

/// The process environment as far as credentials go (only `OPENCLAW_GATEWAY_*`).
#[derive(Debug, Default, Clone)]
pub struct Env {
    /// `OPENCLAW_GATEWAY_URL`.
    pub url: Option<String>,
    /// `OPENCLAW_GATEWAY_TOKEN`.
    pub token: Option<Secret>,
    /// `OPENCLAW_GATEWAY_PASSWORD`.
    pub password: Option<Secret>,
    /// `OPENCLAW_GATEWAY_PORT`: the local target's port (before `gateway.port`).
    pub port: Option<u16>,
}

impl Env {
    /// Reads the real environment.
    pub fn from_process() -> Self {
        let get = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Env {
            url: get("OPENCLAW_GATEWAY_URL"),
            token: get("OPENCLAW_GATEWAY_TOKEN").map(Secret::new),
            password: get("OPENCLAW_GATEWAY_PASSWORD").map(Secret::new),
            port: get("OPENCLAW_GATEWAY_PORT").and_then(|p| parse_port_env(&p)),
        }
    }
}

/// Explicit command-line inputs.
#[derive(Debug, Default, Clone)]
pub struct Explicit {
    /// `--url`.
    pub url: Option<String>,
    /// `--token` / `--token-file`.
    pub token: Option<Secret>,
    /// `--password` / `--password-file`.
    pub password: Option<Secret>,
    /// `--tailscale-auth`: an explicit URL with no shared secret, on purpose (the Gateway
    /// authenticates the device by its Tailscale identity, `gateway.auth.allowTailscale`).
    pub tokenless: bool,
}

/// Where the target came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--url`.
    Flag,
    /// `OPENCLAW_GATEWAY_URL`.
    Env,
    /// ClawNode's config file.
    ClawnodeConfig,
    /// `openclaw.json`.
    OpenClawConfig,
    /// The endpoint saved by `clawnode pair` / `run --setup-code`.
    SavedEndpoint,
    /// The default `ws://127.0.0.1:18789`.
    Default,
}

/// The resolved target and credentials.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Gateway URL.
    pub url: String,
    /// Where it came from.
    pub source: Source,
    /// Shared token.
    pub token: Option<Secret>,
    /// Password.
    pub password: Option<Secret>,
    /// TLS pin from configuration (`--tls-fingerprint` is applied by the caller).
    pub tls_fingerprint: Option<String>,
    /// A local TLS Gateway's certificate (`gateway.tls.enabled`): its fingerprint is the pin
    /// unless a pin is given.
    pub tls_cert: Option<PathBuf>,
}

/// Resolves target and credentials. `has_stored_token(url)` says whether a device token
/// issued by that URL's origin is stored.
pub fn resolve(
    explicit: &Explicit,
    env: &Env,
    file: &FileConfig,
    file_dir: Option<&Path>,
    openclaw: Option<&OpenClawGateway>,
    saved: Option<&SavedEndpoint>,
    has_stored_token: &dyn Fn(&str) -> bool,
) -> Result<Resolved, ConfigError> {
    // 1. --url: explicit credentials only (or a stored token for that exact origin).
    if let Some(url) = &explicit.url {
        // Parsed first: a URL with user info is refused without being echoed, and the
        // error below names the origin, never the text as given.
        let origin = clawnode::endpoint::Endpoint::parse(url)?.origin().to_string();
        let chosen = explicit.token.is_some() || explicit.password.is_some() || explicit.tokenless;
        if !chosen && !has_stored_token(url) {
            return Err(ConfigError::ExplicitCredentialsRequired(origin));
        }
        return Ok(Resolved {
            url: url.clone(),
            source: Source::Flag,
            token: explicit.token.clone(),
            password: explicit.password.clone(),
            tls_fingerprint: None,
            tls_cert: None,
        });
    }
    // 2. OPENCLAW_GATEWAY_URL: env credentials only.
    if let Some(url) = &env.url {
        return Ok(Resolved {
            url: url.clone(),
            source: Source::Env,
            token: explicit.token.clone().or_else(|| env.token.clone()),
            password: explicit.password.clone().or_else(|| env.password.clone()),
            tls_fingerprint: None,
            tls_cert: None,
        });
    }
    // 3. ClawNode's config file.
    if let Some(url) = &file.gateway.url {
        let rel = |p: &PathBuf| match file_dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p.clone(),
        };
        let file_token = crate::secret::read(
            file.gateway.token.as_deref(),
            file.gateway.token_file.as_ref().map(rel).as_deref(),
            "config token",
        )?;
        let file_password = crate::secret::read(
            file.gateway.password.as_deref(),
            file.gateway.password_file.as_ref().map(rel).as_deref(),
            "config password",
        )?;
        return Ok(Resolved {
            url: url.clone(),
            source: Source::ClawnodeConfig,
            token: explicit.token.clone().or(file_token),
            password: explicit.password.clone().or(file_password),
            tls_fingerprint: file.gateway.tls_fingerprint.clone(),
            tls_cert: None,
        });
    }
    // 4. The endpoint a setup code paired with: its device token only (no config or env
    //    secret is sent to it, pairing.md §5.2).
    if let Some(saved) = saved {
        return Ok(Resolved {
            url: saved.url.clone(),
            source: Source::SavedEndpoint,
            token: explicit.token.clone(),
            password: explicit.password.clone(),
            tls_fingerprint: saved.tls_fingerprint.clone(),
            tls_cert: None,
        });
    }
    // 5. OpenClaw's config.
    if let Some(oc) = openclaw {
        if oc.remote_mode
            && let Some(url) = &oc.remote_url
        {
            {
                return Ok(Resolved {
                    url: url.clone(),
                    source: Source::OpenClawConfig,
                    token: explicit
                        .token
                        .clone()
                        .or_else(|| oc.remote_token.clone())
                        .or_else(|| env.token.clone())
                        .or_else(|| oc.auth_token.clone()),
                    password: explicit
                        .password
                        .clone()
                        .or_else(|| env.password.clone())
                        .or_else(|| oc.remote_password.clone())
                        .or_else(|| oc.auth_password.clone()),
                    tls_fingerprint: oc.remote_tls_fingerprint.clone(),
                    tls_cert: None,
                });
            }
        }
        // Local mode; a node host ignores gateway.remote.* entirely. The port as OpenClaw's
        // local CLI picks it: OPENCLAW_GATEWAY_PORT, gateway.port, 18789; `wss://` with
        // gateway.tls.enabled, pinned to the Gateway's own certificate.
        let port = env.port.or(oc.port).unwrap_or(clawnode::endpoint::DEFAULT_PORT);
        let scheme = if oc.tls_enabled { "wss" } else { "ws" };
        return Ok(Resolved {
            url: format!("{scheme}://127.0.0.1:{port}"),
            source: Source::OpenClawConfig,
            token: explicit.token.clone().or_else(|| env.token.clone()).or_else(|| oc.auth_token.clone()),
            password: explicit.password.clone().or_else(|| env.password.clone()).or_else(|| oc.auth_password.clone()),
            tls_fingerprint: None,
            tls_cert: oc.tls_cert.clone(),
        });
    }
    // 6. Default loopback target with env credentials.
    Ok(Resolved {
        url: format!("ws://127.0.0.1:{}", env.port.unwrap_or(clawnode::endpoint::DEFAULT_PORT)),
        source: Source::Default,
        token: explicit.token.clone().or_else(|| env.token.clone()),
        password: explicit.password.clone().or_else(|| env.password.clone()),
        tls_fingerprint: None,
        tls_cert: None,
    })
}

/// The endpoint a setup code paired with (`endpoint.json` in the state directory).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedEndpoint {
    /// Gateway URL.
    pub url: String,
    /// Pin for a `wss://` url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_fingerprint: Option<String>,
}

impl SavedEndpoint {
    /// `endpoint.json` in the state directory `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("endpoint.json")
    }

    /// Writes `endpoint.json` to `dir` (0600, atomically).
    pub fn save(&self, dir: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        clawnode::store::write_private_atomic(&Self::path(dir), &bytes)
    }

    /// Loads `endpoint.json` from `dir` (`None` when absent).
    pub fn load(dir: &Path) -> Result<Option<Self>, ConfigError> {
        let path = Self::path(dir);
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|e| ConfigError::Parse { path: path.display().to_string(), message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(ConfigError::Read { path: path.display().to_string(), source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn s(v: &str) -> Option<Secret> {
        Some(Secret::new(v))
    }
    fn tok(r: &Resolved) -> Option<&str> {
        r.token.as_ref().map(Secret::expose)
    }
    fn pw(r: &Resolved) -> Option<&str> {
        r.password.as_ref().map(Secret::expose)
    }
    const NO: &dyn Fn(&str) -> bool = &|_| false;

    fn oc(v: Value) -> OpenClawGateway {
        OpenClawGateway::from_value(&v, Path::new("openclaw.json")).unwrap()
    }

    #[test]
    fn explicit_url_never_uses_env_or_config() {
        let env = Env { url: None, token: s("envtok"), password: s("envpw"), port: None };
        let file = FileConfig {
            gateway: GatewaySection {
                url: Some("ws://127.0.0.1:1".into()),
                token: Some("cfg".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let ex = Explicit { url: Some("ws://127.0.0.1:2".into()), ..Default::default() };
        let err = resolve(&ex, &env, &file, None, None, None, NO).unwrap_err();
        assert!(err.to_string().contains("explicit credentials"), "{err}");
        // A stored token for that origin allows it, still without env/config credentials.
        let r = resolve(&ex, &env, &file, None, None, None, &|u| u == "ws://127.0.0.1:2").unwrap();
        assert_eq!((tok(&r), pw(&r)), (None, None));
        let ex = Explicit { url: Some("ws://127.0.0.1:2".into()), token: s("flag"), ..Default::default() };
        let r = resolve(&ex, &env, &file, None, None, None, NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), pw(&r)), ("ws://127.0.0.1:2", Some("flag"), None));
    }

    #[test]
    fn tailscale_auth_allows_a_tokenless_explicit_url_and_sends_no_secret() {
        let env = Env { token: s("envtok"), password: s("envpw"), ..Default::default() };
        let file = FileConfig {
            gateway: GatewaySection { token: Some("cfg".into()), ..Default::default() },
            ..Default::default()
        };
        let o = oc(json!({"gateway":{"auth":{"token":"octok"}}}));
        let ex = Explicit { url: Some("wss://gw.tail1234.ts.net".into()), tokenless: true, ..Default::default() };
        let r = resolve(&ex, &env, &file, None, Some(&o), None, NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), pw(&r), r.source), ("wss://gw.tail1234.ts.net", None, None, Source::Flag));
        let ex = Explicit { tokenless: false, ..ex };
        assert!(resolve(&ex, &env, &file, None, Some(&o), None, NO).is_err(), "without the flag: refused as before");
    }

    /// Attack: `--url wss://user:SECRET@host/` without a token was answered with "no stored
    /// device token for wss://user:SECRET@host/": the password in the URL reached stderr
    /// (the journal, for a unit). A URL with user info is refused first, without echoing it.
    #[test]
    fn attack_explicit_url_with_userinfo_is_never_echoed() {
        for url in ["wss://u:SECRETPW@gw.example:1/", "ws://SECRETPW@127.0.0.1:2"] {
            let ex = Explicit { url: Some(url.into()), ..Default::default() };
            let err = resolve(&ex, &Env::default(), &FileConfig::default(), None, None, None, NO).unwrap_err();
            assert!(!err.to_string().contains("SECRETPW"), "{url}: {err}");
            assert!(err.to_string().contains("user info"), "{url}: {err}");
        }
    }

    #[test]
    fn env_url_uses_env_credentials_only() {
        let env = Env { url: Some("ws://127.0.0.1:3".into()), token: s("envtok"), password: None, port: None };
        let file = FileConfig {
            gateway: GatewaySection { token: Some("cfg".into()), ..Default::default() },
            ..Default::default()
        };
        let o = oc(json!({"gateway":{"auth":{"token":"octok"}}}));
        let r = resolve(&Explicit::default(), &env, &file, None, Some(&o), None, NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), r.source), ("ws://127.0.0.1:3", Some("envtok"), Source::Env));
        let env = Env { url: Some("ws://127.0.0.1:3".into()), token: None, password: None, port: None };
        let r = resolve(&Explicit::default(), &env, &file, None, Some(&o), None, NO).unwrap();
        assert_eq!(tok(&r), None, "no config fallback for an env URL");
        let ex = Explicit { token: s("flag"), ..Default::default() };
        let r = resolve(&ex, &env, &file, None, Some(&o), None, NO).unwrap();
        assert_eq!(tok(&r), Some("flag"), "explicit credentials always win");
    }

    #[test]
    fn local_mode_precedence_and_node_host_exception() {
        let o = oc(json!({"gateway":{"port":19000,"auth":{"token":"authtok","password":"authpw"},
            "remote":{"token":"remtok","password":"rempw","url":"wss://far:443"}}}));
        let env = Env { url: None, token: s("envtok"), password: s("envpw"), port: None };
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), pw(&r)), ("ws://127.0.0.1:19000", Some("envtok"), Some("envpw")));
        let r =
            resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!((tok(&r), pw(&r)), (Some("authtok"), Some("authpw")));
        // gateway.remote.* is ignored in local mode, even as a fallback.
        let o = oc(json!({"gateway":{"remote":{"token":"remtok","password":"rempw"}}}));
        let r =
            resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), pw(&r)), ("ws://127.0.0.1:18789", None, None));
    }

    #[test]
    fn remote_mode_precedence() {
        let full = json!({"gateway":{"mode":"remote","auth":{"token":"authtok","password":"authpw"},
            "remote":{"url":"ws://127.0.0.1:18789","token":"remtok","password":"rempw"}}});
        let env = Env { url: None, token: s("envtok"), password: s("envpw"), port: None };
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&oc(full.clone())), None, NO)
            .unwrap();
        // token: remote → env → auth; password: env → remote → auth.
        assert_eq!((tok(&r), pw(&r)), (Some("remtok"), Some("envpw")));
        let mut v = full.clone();
        v["gateway"]["remote"].as_object_mut().unwrap().remove("token");
        let r =
            resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&oc(v.clone())), None, NO).unwrap();
        assert_eq!(tok(&r), Some("envtok"));
        let r = resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&oc(v)), None, NO)
            .unwrap();
        assert_eq!((tok(&r), pw(&r)), (Some("authtok"), Some("rempw")));
    }

    #[test]
    fn unresolvable_secret_fails_closed() {
        let v = json!({"gateway":{"auth":{"token":{"source":"env","id":"CLAWNODE_TEST_MISSING_VAR"}}}});
        assert!(matches!(OpenClawGateway::from_value(&v, Path::new("x")), Err(ConfigError::UnresolvedSecret { .. })));
    }

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn secret_refs_env_and_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("secrets.json"), r#"{"gw":{"token":"filetok"}}"#).unwrap();
        std::fs::write(dir.path().join("single"), "singletok\n").unwrap();
        let cfg = dir.path().join("openclaw.json");
        let env = env_of(&[("GW_TOKEN", "envreftok"), ("EMPTY", " ")]);
        let providers = json!({
            "providers": {
                "filemain": {"source": "file", "path": "secrets.json"},
                "one": {"source": "file", "path": dir.path().join("single").to_str().unwrap(), "mode": "singleValue"},
                "vault": {"source": "exec", "command": "/bin/false"},
            },
            "defaults": {"file": "filemain"},
        });
        let load = |auth: Value| {
            let v = json!({"secrets": providers.clone(), "gateway": {"auth": auth}});
            OpenClawGateway::from_value_with_env(&v, &cfg, &env)
        };
        let tok = |o: OpenClawGateway| o.auth_token.map(|s| s.expose().to_string());
        // Resolvable references.
        assert_eq!(
            tok(load(json!({"token": {"source": "env", "id": "GW_TOKEN"}})).unwrap()).as_deref(),
            Some("envreftok")
        );
        let r = load(json!({"token": {"source": "env", "provider": "default", "id": "GW_TOKEN"}})).unwrap();
        assert_eq!(tok(r).as_deref(), Some("envreftok"));
        let r = load(json!({"token": {"source": "file", "id": "/gw/token"}})).unwrap();
        assert_eq!(tok(r).as_deref(), Some("filetok"), "default file provider from secrets.defaults.file");
        let r = load(json!({"token": {"source": "file", "provider": "one", "id": "value"}})).unwrap();
        assert_eq!(tok(r).as_deref(), Some("singletok"));
        // Unresolvable ones fail closed.
        for bad in [
            json!({"token": {"source": "env", "id": "UNSET_VAR"}}),
            json!({"token": {"source": "env", "id": "EMPTY"}}),
            json!({"token": {"source": "env", "id": "lower_case"}}),
            json!({"token": {"source": "env"}}),
            json!({"token": {"source": "file", "id": "/gw/missing"}}),
            json!({"token": {"source": "file", "id": "gw/token"}}),
            json!({"token": {"source": "file", "provider": "nope", "id": "/gw/token"}}),
            json!({"token": {"source": "file", "provider": "one", "id": "/x"}}),
            json!({"token": {"source": "file", "provider": "vault", "id": "/x"}}),
            json!({"token": {"source": "exec", "provider": "vault", "id": "x"}}),
            json!({"password": {"source": "store", "id": "x"}}),
            json!({"token": 42}),
        ] {
            assert!(matches!(load(bad.clone()), Err(ConfigError::UnresolvedSecret { .. })), "{bad}");
        }
        // A missing secrets file fails closed too.
        std::fs::remove_file(dir.path().join("secrets.json")).unwrap();
        assert!(load(json!({"token": {"source": "file", "id": "/gw/token"}})).is_err());
        // In local mode gateway.remote.* is never read, so its references cannot fail.
        let v = json!({"gateway": {"remote": {"token": {"source": "env", "id": "UNSET_VAR"}}}});
        assert!(OpenClawGateway::from_value_with_env(&v, &cfg, &env).is_ok());
        let v = json!({"gateway": {"mode": "remote", "remote": {"url": "wss://gw.example", "token": {"source": "env", "id": "UNSET_VAR"}}}});
        assert!(OpenClawGateway::from_value_with_env(&v, &cfg, &env).is_err());
    }

    #[test]
    fn openclaw_gateway_port_env_as_openclaw_parses_it() {
        for (raw, want) in [
            ("19001", Some(19001)),
            (" 19001 ", Some(19001)),
            ("127.0.0.1:19002", Some(19002)),
            ("gw:19003", Some(19003)),
            ("[::1]:19004", Some(19004)),
            ("", None),
            ("0", None),
            ("70000", None),
            ("abc", None),
            (":19005", None),
            ("::1:19006", None),
            ("host:", None),
            ("host:12a", None),
        ] {
            assert_eq!(parse_port_env(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn local_target_port_env_then_config_then_default() {
        let env = Env { port: Some(19100), ..Default::default() };
        let o = oc(json!({"gateway":{"port":19000}}));
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!(r.url, "ws://127.0.0.1:19100", "OPENCLAW_GATEWAY_PORT wins over gateway.port");
        let r =
            resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!(r.url, "ws://127.0.0.1:19000");
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, None, None, NO).unwrap();
        assert_eq!((r.url.as_str(), r.source), ("ws://127.0.0.1:19100", Source::Default));
        // It never changes an explicit, env or remote URL.
        let env = Env { url: Some("ws://127.0.0.1:3".into()), port: Some(19100), ..Default::default() };
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!(r.url, "ws://127.0.0.1:3");
        let remote = oc(json!({"gateway":{"mode":"remote","remote":{"url":"wss://far:443","token":"t"}}}));
        let env = Env { port: Some(19100), ..Default::default() };
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&remote), None, NO).unwrap();
        assert_eq!(r.url, "wss://far:443");
    }

    #[test]
    fn local_mode_honours_gateway_tls_enabled() {
        let at = |v: Value| OpenClawGateway::from_value(&v, Path::new("/srv/oc/openclaw.json")).unwrap();
        let o = at(json!({"gateway":{"port":19000,"tls":{"enabled":true}}}));
        let r =
            resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!(r.url, "wss://127.0.0.1:19000");
        assert_eq!(r.tls_cert.as_deref(), Some(Path::new("/srv/oc/gateway/tls/gateway-cert.pem")), "the default cert");
        let o = at(json!({"gateway":{"tls":{"enabled":true,"certPath":"certs/gw.pem"}}}));
        assert_eq!(o.tls_cert.as_deref(), Some(Path::new("/srv/oc/certs/gw.pem")));
        let o = at(json!({"gateway":{"tls":{"enabled":true,"certPath":"/etc/gw.pem"}}}));
        assert_eq!(o.tls_cert.as_deref(), Some(Path::new("/etc/gw.pem")));
        for off in [json!({"gateway":{"tls":{"enabled":false}}}), json!({"gateway":{"tls":{"enabled":"yes"}}})] {
            let o = at(off);
            let r = resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), None, NO)
                .unwrap();
            assert_eq!((r.url.as_str(), r.tls_cert), ("ws://127.0.0.1:18789", None));
        }
        // Remote mode: gateway.tls.* describes the local Gateway, not the remote one.
        let o = at(
            json!({"gateway":{"mode":"remote","tls":{"enabled":true},"remote":{"url":"wss://far:443","token":"t"}}}),
        );
        let r =
            resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!((r.url.as_str(), r.tls_cert), ("wss://far:443", None));
    }

    #[test]
    fn tls_fingerprint_sources() {
        let pin = "ab".repeat(32);
        // gateway.remote.tlsFingerprint applies to gateway.remote.url in remote mode only.
        let o = oc(
            json!({"gateway":{"mode":"remote","remote":{"url":"wss://gw.example:8443","token":"t","tlsFingerprint": pin}}}),
        );
        let r =
            resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!((r.url.as_str(), r.tls_fingerprint.as_deref()), ("wss://gw.example:8443", Some(pin.as_str())));
        let o = oc(json!({"gateway":{"remote":{"url":"wss://gw.example:8443","tlsFingerprint": pin}}}));
        let r =
            resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!((r.url.as_str(), r.tls_fingerprint), ("ws://127.0.0.1:18789", None));
        // Never inherited by another URL source.
        let o = oc(json!({"gateway":{"mode":"remote","remote":{"url":"wss://gw.example:8443","tlsFingerprint": pin}}}));
        let env = Env { url: Some("wss://other.example".into()), token: s("e"), password: None, port: None };
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!(r.tls_fingerprint, None);
        let ex = Explicit { url: Some("wss://gw.example:8443".into()), token: s("f"), ..Default::default() };
        let r = resolve(&ex, &Env::default(), &FileConfig::default(), None, Some(&o), None, NO).unwrap();
        assert_eq!(r.tls_fingerprint, None);
    }

    #[test]
    fn saved_endpoint_uses_no_config_or_env_credentials() {
        let saved = SavedEndpoint { url: "wss://gw.example:8443".into(), tls_fingerprint: Some("ab".repeat(32)) };
        let env = Env { url: None, token: s("envtok"), password: s("envpw"), port: None };
        let o = oc(json!({"gateway":{"auth":{"token":"authtok"}}}));
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&o), Some(&saved), NO).unwrap();
        assert_eq!(
            (r.url.as_str(), r.source, tok(&r), pw(&r)),
            ("wss://gw.example:8443", Source::SavedEndpoint, None, None)
        );
        assert_eq!(r.tls_fingerprint, saved.tls_fingerprint);
        // An env URL still wins over the saved endpoint.
        let env = Env { url: Some("ws://127.0.0.1:3".into()), token: s("envtok"), password: None, port: None };
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&o), Some(&saved), NO).unwrap();
        assert_eq!(r.source, Source::Env);
    }

    /// Local mode, one row per rule of remote-access.md §4 (node-host flavour).
    #[test]
    fn local_mode_rows() {
        let both = json!({"gateway":{"auth":{"token":"authtok","password":"authpw"},"remote":{"token":"remtok","password":"rempw"}}});
        let env = Env { url: None, token: s("envtok"), password: s("envpw"), port: None };
        let none = Env::default();
        let r = |e: &Env, v: &Value| {
            resolve(&Explicit::default(), e, &FileConfig::default(), None, Some(&oc(v.clone())), None, NO).unwrap()
        };
        // token: env → gateway.auth.token; password: env → gateway.auth.password.
        let x = r(&env, &both);
        assert_eq!((tok(&x), pw(&x)), (Some("envtok"), Some("envpw")));
        let x = r(&none, &both);
        assert_eq!((tok(&x), pw(&x)), (Some("authtok"), Some("authpw")));
        // Node-host exception: no fallback to gateway.remote.* when nothing local is set.
        let remote_only = json!({"gateway":{"mode":"local","remote":{"token":"remtok","password":"rempw"}}});
        let x = r(&none, &remote_only);
        assert_eq!((tok(&x), pw(&x)), (None, None));
        // Explicit always wins.
        let ex = Explicit { token: s("flag"), password: s("flagpw"), ..Default::default() };
        let x = resolve(&ex, &env, &FileConfig::default(), None, Some(&oc(both)), None, NO).unwrap();
        assert_eq!((tok(&x), pw(&x)), (Some("flag"), Some("flagpw")));
    }

    /// Remote mode, one row per rule of remote-access.md §4.
    #[test]
    fn remote_mode_rows() {
        let base = |remote: Value, auth: Value| {
            let mut r = json!({"url": "wss://gw.example"});
            crate::config::tests::merge(&mut r, remote);
            oc(json!({"gateway":{"mode":"remote","remote": r,"auth": auth}}))
        };
        let env = Env { url: None, token: s("envtok"), password: s("envpw"), port: None };
        let none = Env::default();
        let run = |e: &Env, o: &OpenClawGateway| {
            resolve(&Explicit::default(), e, &FileConfig::default(), None, Some(o), None, NO).unwrap()
        };
        let all = base(json!({"token":"remtok","password":"rempw"}), json!({"token":"authtok","password":"authpw"}));
        // token: remote first; password: env first.
        let x = run(&env, &all);
        assert_eq!((tok(&x), pw(&x)), (Some("remtok"), Some("envpw")));
        // token: env second; password: remote second.
        let x = run(&none, &all);
        assert_eq!((tok(&x), pw(&x)), (Some("remtok"), Some("rempw")));
        let no_remote = base(json!({}), json!({"token":"authtok","password":"authpw"}));
        let x = run(&env, &no_remote);
        assert_eq!((tok(&x), pw(&x)), (Some("envtok"), Some("envpw")));
        // auth.* last.
        let x = run(&none, &no_remote);
        assert_eq!((tok(&x), pw(&x)), (Some("authtok"), Some("authpw")));
        assert_eq!(x.url, "wss://gw.example");
    }

    fn merge(dst: &mut Value, src: Value) {
        if let (Some(d), Value::Object(s)) = (dst.as_object_mut(), src) {
            for (k, v) in s {
                d.insert(k, v);
            }
        }
    }

    #[test]
    fn clawnode_config_and_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "  filetok\n").unwrap();
        let cfg_path = dir.path().join("config.toml");
        std::fs::write(
            &cfg_path,
            "[gateway]\nurl = \"ws://127.0.0.1:5\"\ntoken_file = \"tok\"\n[node]\ndisplay_name = \"pi\"\n",
        )
        .unwrap();
        let file = FileConfig::load(&cfg_path, true).unwrap();
        let r = resolve(&Explicit::default(), &Env::default(), &file, Some(dir.path()), None, None, NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), r.source), ("ws://127.0.0.1:5", Some("filetok"), Source::ClawnodeConfig));
        std::fs::write(&cfg_path, "[gateway]\nurll = 1\n").unwrap();
        assert!(matches!(FileConfig::load(&cfg_path, true), Err(ConfigError::Parse { .. })));
        assert!(FileConfig::load(&dir.path().join("missing.toml"), false).is_ok());
        assert!(FileConfig::load(&dir.path().join("missing.toml"), true).is_err());
    }

    #[test]
    fn json5_openclaw_config() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("openclaw.json");
        std::fs::write(&p, "{\n // comment\n gateway: { port: 18999, auth: { token: 'x', }, },\n}\n").unwrap();
        let o = OpenClawGateway::load(&p).unwrap().unwrap();
        assert_eq!(o.port, Some(18999));
        assert_eq!(o.auth_token.as_ref().map(Secret::expose), Some("x"));
        assert!(OpenClawGateway::load(&dir.path().join("nope.json")).unwrap().is_none());
    }
}

/// The loopback listener rule from `--gateway-user` / `[gateway] users`: names are looked up
/// in `/etc/passwd` (local accounts), numbers are uids, `any` turns the check off.
pub fn loopback_listeners(users: &[String]) -> Result<clawnode::transport::LoopbackListeners, String> {
    use clawnode::transport::LoopbackListeners;
    if users.iter().any(|u| u == "any") {
        return Ok(LoopbackListeners::Any);
    }
    let passwd = if users.iter().any(|u| u.parse::<u32>().is_err()) {
        std::fs::read_to_string("/etc/passwd").map_err(|e| format!("cannot read /etc/passwd: {e}"))?
    } else {
        String::new()
    };
    let uids = users
        .iter()
        .map(|u| {
            u.parse::<u32>().ok().or_else(|| uid_of(&passwd, u)).ok_or_else(|| {
                format!("--gateway-user {u}: no such local user (give a uid, a name from /etc/passwd, or any)")
            })
        })
        .collect::<Result<Vec<u32>, String>>()?;
    Ok(LoopbackListeners::Users(uids))
}

fn uid_of(passwd: &str, name: &str) -> Option<u32> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

#[cfg(test)]
mod listener_tests {
    use super::*;
    use clawnode::transport::LoopbackListeners;

    #[test]
    fn gateway_users_by_uid_name_or_any() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\npi:x:1000:1000::/home/pi:/bin/bash\n";
        assert_eq!(uid_of(passwd, "pi"), Some(1000));
        assert_eq!(uid_of(passwd, "p"), None);
        assert_eq!(loopback_listeners(&[]).unwrap(), LoopbackListeners::Users(vec![]));
        assert_eq!(loopback_listeners(&["1000".into(), "0".into()]).unwrap(), LoopbackListeners::Users(vec![1000, 0]));
        assert_eq!(loopback_listeners(&["root".into()]).unwrap(), LoopbackListeners::Users(vec![0]));
        assert_eq!(loopback_listeners(&["7".into(), "any".into()]).unwrap(), LoopbackListeners::Any);
        let e = loopback_listeners(&["no-such-user-xyz".into()]).unwrap_err();
        assert!(e.contains("no such local user"), "{e}");
    }
}
