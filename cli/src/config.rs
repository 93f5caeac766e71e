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
    #[error("{what} in {path} is not a plain string (secret references are not supported); refusing to fall back")]
    UnresolvedSecret {
        /// Which key.
        what: String,
        /// The file.
        path: String,
    },
    /// `--url` without explicit credentials and no stored device token for it.
    #[error(
        "gateway url override requires explicit credentials: pass --token/--token-file or --password (no stored device token for {0})"
    )]
    ExplicitCredentialsRequired(String),
    /// Both a token and a token file.
    #[error("{0}")]
    Conflict(String),
}

/// ClawNode's own config file (`config.toml`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// Gateway section.
    #[serde(default)]
    pub gateway: GatewaySection,
    /// Node section.
    #[serde(default)]
    pub node: NodeSection,
}

/// `[gateway]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatewaySection {
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
            Ok(text) => toml::from_str(&text)
                .map_err(|e| ConfigError::Parse { path: path.display().to_string(), message: e.to_string() }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(FileConfig::default()),
            Err(e) => Err(ConfigError::Read { path: path.display().to_string(), source: e }),
        }
    }
}

/// Reads a secret from a file (trimmed; the file must not be empty).
pub fn read_secret_file(path: &Path) -> Result<Secret, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::Read { path: path.display().to_string(), source: e })?;
    let t = text.trim();
    if t.is_empty() {
        return Err(ConfigError::Parse { path: path.display().to_string(), message: "file is empty".into() });
    }
    Ok(Secret::new(t))
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
}

fn secret_at(v: &Value, path: &[&str], file: &Path) -> Result<Option<Secret>, ConfigError> {
    let mut cur = v;
    for p in path {
        match cur.get(p) {
            Some(n) => cur = n,
            None => return Ok(None),
        }
    }
    match cur {
        Value::Null => Ok(None),
        Value::String(s) if s.trim().is_empty() => Ok(None),
        Value::String(s) => Ok(Some(Secret::new(s.trim()))),
        _ => Err(ConfigError::UnresolvedSecret { what: path.join("."), path: file.display().to_string() }),
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
        Self::from_value(&v, path).map(Some)
    }

    /// Extracts the `gateway.*` keys.
    pub fn from_value(v: &Value, path: &Path) -> Result<Self, ConfigError> {
        let g = v.get("gateway").cloned().unwrap_or(Value::Null);
        Ok(OpenClawGateway {
            remote_mode: g.get("mode").and_then(Value::as_str) == Some("remote"),
            port: g.get("port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()),
            remote_url: g.pointer("/remote/url").and_then(Value::as_str).map(str::to_string),
            remote_token: secret_at(&g, &["remote", "token"], path)?,
            remote_password: secret_at(&g, &["remote", "password"], path)?,
            auth_token: secret_at(&g, &["auth", "token"], path)?,
            auth_password: secret_at(&g, &["auth", "password"], path)?,
        })
    }
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
}

impl Env {
    /// Reads the real environment.
    pub fn from_process() -> Self {
        let get = |k: &str| std::env::var(k).ok().map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
        Env {
            url: get("OPENCLAW_GATEWAY_URL"),
            token: get("OPENCLAW_GATEWAY_TOKEN").map(Secret::new),
            password: get("OPENCLAW_GATEWAY_PASSWORD").map(Secret::new),
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
}

/// Resolves target and credentials. `has_stored_token(url)` says whether a device token
/// issued by that URL's origin is stored.
pub fn resolve(
    explicit: &Explicit,
    env: &Env,
    file: &FileConfig,
    file_dir: Option<&Path>,
    openclaw: Option<&OpenClawGateway>,
    has_stored_token: &dyn Fn(&str) -> bool,
) -> Result<Resolved, ConfigError> {
    // 1. --url: explicit credentials only (or a stored token for that exact origin).
    if let Some(url) = &explicit.url {
        if explicit.token.is_none() && explicit.password.is_none() && !has_stored_token(url) {
            return Err(ConfigError::ExplicitCredentialsRequired(url.clone()));
        }
        return Ok(Resolved {
            url: url.clone(),
            source: Source::Flag,
            token: explicit.token.clone(),
            password: explicit.password.clone(),
        });
    }
    // 2. OPENCLAW_GATEWAY_URL: env credentials only.
    if let Some(url) = &env.url {
        return Ok(Resolved {
            url: url.clone(),
            source: Source::Env,
            token: explicit.token.clone().or_else(|| env.token.clone()),
            password: explicit.password.clone().or_else(|| env.password.clone()),
        });
    }
    // 3. ClawNode's config file.
    if let Some(url) = &file.gateway.url {
        let rel = |p: &PathBuf| match file_dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p.clone(),
        };
        let file_token = match (&file.gateway.token, &file.gateway.token_file) {
            (Some(_), Some(_)) => return Err(ConfigError::Conflict("config has both token and token_file".into())),
            (Some(t), None) => Some(Secret::new(t.trim())),
            (None, Some(p)) => Some(read_secret_file(&rel(p))?),
            (None, None) => None,
        };
        let file_password = match (&file.gateway.password, &file.gateway.password_file) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict("config has both password and password_file".into()));
            }
            (Some(t), None) => Some(Secret::new(t.trim())),
            (None, Some(p)) => Some(read_secret_file(&rel(p))?),
            (None, None) => None,
        };
        return Ok(Resolved {
            url: url.clone(),
            source: Source::ClawnodeConfig,
            token: explicit.token.clone().or(file_token),
            password: explicit.password.clone().or(file_password),
        });
    }
    // 4. OpenClaw's config.
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
                });
            }
        }
        // Local mode; a node host ignores gateway.remote.* entirely.
        let port = oc.port.unwrap_or(clawnode::endpoint::DEFAULT_PORT);
        return Ok(Resolved {
            url: format!("ws://127.0.0.1:{port}"),
            source: Source::OpenClawConfig,
            token: explicit.token.clone().or_else(|| env.token.clone()).or_else(|| oc.auth_token.clone()),
            password: explicit.password.clone().or_else(|| env.password.clone()).or_else(|| oc.auth_password.clone()),
        });
    }
    // 5. Default loopback target with env credentials.
    Ok(Resolved {
        url: format!("ws://127.0.0.1:{}", clawnode::endpoint::DEFAULT_PORT),
        source: Source::Default,
        token: explicit.token.clone().or_else(|| env.token.clone()),
        password: explicit.password.clone().or_else(|| env.password.clone()),
    })
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
        let env = Env { url: None, token: s("envtok"), password: s("envpw") };
        let file = FileConfig {
            gateway: GatewaySection {
                url: Some("ws://127.0.0.1:1".into()),
                token: Some("cfg".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let ex = Explicit { url: Some("ws://127.0.0.1:2".into()), ..Default::default() };
        let err = resolve(&ex, &env, &file, None, None, NO).unwrap_err();
        assert!(err.to_string().contains("explicit credentials"), "{err}");
        // A stored token for that origin allows it, still without env/config credentials.
        let r = resolve(&ex, &env, &file, None, None, &|u| u == "ws://127.0.0.1:2").unwrap();
        assert_eq!((tok(&r), pw(&r)), (None, None));
        let ex = Explicit { url: Some("ws://127.0.0.1:2".into()), token: s("flag"), password: None };
        let r = resolve(&ex, &env, &file, None, None, NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), pw(&r)), ("ws://127.0.0.1:2", Some("flag"), None));
    }

    #[test]
    fn env_url_uses_env_credentials_only() {
        let env = Env { url: Some("ws://127.0.0.1:3".into()), token: s("envtok"), password: None };
        let file = FileConfig {
            gateway: GatewaySection { token: Some("cfg".into()), ..Default::default() },
            ..Default::default()
        };
        let o = oc(json!({"gateway":{"auth":{"token":"octok"}}}));
        let r = resolve(&Explicit::default(), &env, &file, None, Some(&o), NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), r.source), ("ws://127.0.0.1:3", Some("envtok"), Source::Env));
        let env = Env { url: Some("ws://127.0.0.1:3".into()), token: None, password: None };
        let r = resolve(&Explicit::default(), &env, &file, None, Some(&o), NO).unwrap();
        assert_eq!(tok(&r), None, "no config fallback for an env URL");
        let ex = Explicit { token: s("flag"), ..Default::default() };
        let r = resolve(&ex, &env, &file, None, Some(&o), NO).unwrap();
        assert_eq!(tok(&r), Some("flag"), "explicit credentials always win");
    }

    #[test]
    fn local_mode_precedence_and_node_host_exception() {
        let o = oc(json!({"gateway":{"port":19000,"auth":{"token":"authtok","password":"authpw"},
            "remote":{"token":"remtok","password":"rempw","url":"wss://far:443"}}}));
        let env = Env { url: None, token: s("envtok"), password: s("envpw") };
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&o), NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), pw(&r)), ("ws://127.0.0.1:19000", Some("envtok"), Some("envpw")));
        let r = resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), NO).unwrap();
        assert_eq!((tok(&r), pw(&r)), (Some("authtok"), Some("authpw")));
        // gateway.remote.* is ignored in local mode, even as a fallback.
        let o = oc(json!({"gateway":{"remote":{"token":"remtok","password":"rempw"}}}));
        let r = resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&o), NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), pw(&r)), ("ws://127.0.0.1:18789", None, None));
    }

    #[test]
    fn remote_mode_precedence() {
        let full = json!({"gateway":{"mode":"remote","auth":{"token":"authtok","password":"authpw"},
            "remote":{"url":"ws://127.0.0.1:18789","token":"remtok","password":"rempw"}}});
        let env = Env { url: None, token: s("envtok"), password: s("envpw") };
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&oc(full.clone())), NO).unwrap();
        // token: remote → env → auth; password: env → remote → auth.
        assert_eq!((tok(&r), pw(&r)), (Some("remtok"), Some("envpw")));
        let mut v = full.clone();
        v["gateway"]["remote"].as_object_mut().unwrap().remove("token");
        let r = resolve(&Explicit::default(), &env, &FileConfig::default(), None, Some(&oc(v.clone())), NO).unwrap();
        assert_eq!(tok(&r), Some("envtok"));
        let r = resolve(&Explicit::default(), &Env::default(), &FileConfig::default(), None, Some(&oc(v)), NO).unwrap();
        assert_eq!((tok(&r), pw(&r)), (Some("authtok"), Some("rempw")));
    }

    #[test]
    fn unresolvable_secret_fails_closed() {
        let v = json!({"gateway":{"auth":{"token":{"source":"env","id":"MISSING"}}}});
        assert!(matches!(OpenClawGateway::from_value(&v, Path::new("x")), Err(ConfigError::UnresolvedSecret { .. })));
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
        let r = resolve(&Explicit::default(), &Env::default(), &file, Some(dir.path()), None, NO).unwrap();
        assert_eq!((r.url.as_str(), tok(&r), r.source), ("ws://127.0.0.1:5", Some("filetok"), Source::ClawnodeConfig));
        std::fs::write(&cfg_path, "[gateway]\nurll = 1\n").unwrap();
        assert!(matches!(FileConfig::load(&cfg_path, true), Err(ConfigError::Parse { .. })));
        assert!(FileConfig::load(&dir.path().join("missing.toml"), false).is_ok());
        assert!(FileConfig::load(&dir.path().join("missing.toml"), true).is_err());
        std::fs::write(dir.path().join("empty"), "\n").unwrap();
        assert!(read_secret_file(&dir.path().join("empty")).is_err());
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
