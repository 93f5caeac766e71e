//! The exec approvals document (commands.md §5.6): the same JSON format as the official
//! node host, kept in ClawNode's state directory (`exec-approvals.json`, mode 0600, atomic
//! writes) and edited with compare-and-swap on its hash.
//!
//! The document is kept as JSON so that fields this host does not interpret (`mcpTools`,
//! `autoAllowSkills`, entries' `lastUsed*`, …) survive a round trip. Typed views are read
//! from it when a command is evaluated.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// File name of the document in the state directory.
pub const APPROVALS_FILE: &str = "exec-approvals.json";

/// The wildcard agent whose settings and allowlist apply to every agent.
pub const ANY_AGENT: &str = "*";

/// The agent a run without `agentId` is evaluated for.
pub const DEFAULT_AGENT: &str = "main";

/// `security`: what may run at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Nothing runs.
    Deny,
    /// Only allowlisted commands run.
    Allowlist,
    /// Everything runs.
    Full,
}

impl Security {
    /// Parses `deny|allowlist|full`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "deny" => Some(Security::Deny),
            "allowlist" => Some(Security::Allowlist),
            "full" => Some(Security::Full),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Security::Deny => "deny",
            Security::Allowlist => "allowlist",
            Security::Full => "full",
        }
    }
}

/// `ask`: when an approval is required.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Ask {
    /// Never.
    #[serde(rename = "off")]
    Off,
    /// When the allowlist does not match.
    #[serde(rename = "on-miss")]
    OnMiss,
    /// For every command.
    #[serde(rename = "always")]
    Always,
}

impl Ask {
    /// Parses `off|on-miss|always`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "off" => Some(Ask::Off),
            "on-miss" => Some(Ask::OnMiss),
            "always" => Some(Ask::Always),
            _ => None,
        }
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Ask::Off => "off",
            Ask::OnMiss => "on-miss",
            Ask::Always => "always",
        }
    }
}

/// One allowlist entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowEntry {
    /// Resolved-path glob (`/usr/bin/*`, `~/bin/rg`) or bare command-name glob (`uname`).
    pub pattern: String,
    /// Regex over a rendering of the arguments (see [`super::arg_pattern`]); `None` = any arguments.
    pub arg_pattern: Option<String>,
}

/// The policy in force for one agent, after defaults and the wildcard agent are applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedPolicy {
    /// Security.
    pub security: Security,
    /// Ask mode.
    pub ask: Ask,
    /// What a required approval resolves to when nobody can be asked.
    pub ask_fallback: Security,
    /// Allowlist of the agent followed by the wildcard agent's.
    pub allowlist: Vec<AllowEntry>,
}

impl ResolvedPolicy {
    /// A stable fingerprint of the policy (the `policySnapshot` of a prepared plan).
    pub fn snapshot(&self) -> String {
        let entries: Vec<Value> =
            self.allowlist.iter().map(|e| json!({"pattern": e.pattern, "argPattern": e.arg_pattern})).collect();
        let v = json!({
            "security": self.security.as_str(),
            "ask": self.ask.as_str(),
            "askFallback": self.ask_fallback.as_str(),
            "allowlist": entries,
        });
        format!("sha256:{}", sha256_hex(v.to_string().as_bytes()))
    }
}

/// Why the approvals document could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalsError {
    /// Reading or writing the file failed.
    #[error("exec approvals {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a valid document. Approvals fail closed while it is.
    #[error("exec approvals {path} is invalid: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// `set` with a missing or stale `baseHash`.
    #[error("exec approvals changed; reload and retry")]
    Stale,
}

/// A snapshot as `system.execApprovals.get` returns it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApprovalsSnapshot {
    /// The file.
    pub path: PathBuf,
    /// Whether the file exists.
    pub exists: bool,
    /// SHA-256 (hex) of the file's bytes (of the empty string when it does not exist).
    pub hash: String,
    /// The document (an empty `{"version":1}` document when the file does not exist).
    pub file: Value,
}

impl ApprovalsSnapshot {
    /// The document with `socket.token` removed, as it may leave the host.
    pub fn redacted_file(&self) -> Value {
        let mut f = self.file.clone();
        if let Some(sock) = f.get_mut("socket").and_then(Value::as_object_mut) {
            sock.remove("token");
        }
        f
    }

    /// The policy for `agent` (see [`resolve_policy`]).
    pub fn policy(&self, agent: &str) -> ResolvedPolicy {
        resolve_policy(self.exists.then_some(&self.file), agent)
    }
}

/// Resolves the policy of `agent`: the agent's field, else the wildcard agent's, else
/// `defaults`, else **deny** (ClawNode is deny-by-default: an absent document, or absent
/// fields, never widen what runs; the official host defaults to `full`).
pub fn resolve_policy(file: Option<&Value>, agent: &str) -> ResolvedPolicy {
    let empty = Value::Null;
    let file = file.unwrap_or(&empty);
    let agents = file.get("agents");
    let own = agents.and_then(|a| a.get(agent));
    let any = agents.and_then(|a| a.get(ANY_AGENT));
    let defaults = file.get("defaults");
    let field = |name: &str| -> Option<&str> {
        [own, any, defaults].into_iter().flatten().find_map(|o| o.get(name).and_then(Value::as_str))
    };
    let security = field("security").and_then(Security::parse).unwrap_or(Security::Deny);
    let ask = field("ask").and_then(Ask::parse).unwrap_or(Ask::Off);
    let ask_fallback = field("askFallback").and_then(Security::parse).unwrap_or(Security::Deny);
    let mut allowlist = Vec::new();
    let mut push_from = |o: Option<&Value>| {
        for e in o.and_then(|o| o.get("allowlist")).and_then(Value::as_array).into_iter().flatten() {
            if let Some(pattern) = e.get("pattern").and_then(Value::as_str).filter(|p| !p.trim().is_empty()) {
                let arg_pattern = e.get("argPattern").and_then(Value::as_str).map(str::to_string);
                allowlist.push(AllowEntry { pattern: pattern.trim().to_string(), arg_pattern });
            }
        }
    };
    push_from(own);
    if agent != ANY_AGENT {
        push_from(any);
    }
    ResolvedPolicy { security, ask, ask_fallback, allowlist }
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the shape of a document given to `set` (the fields this host interprets).
pub fn validate(file: &Value) -> Result<(), String> {
    let obj = file.as_object().ok_or("file must be an object")?;
    match obj.get("version") {
        None => {}
        Some(v) if v.as_u64() == Some(1) => {}
        Some(v) => return Err(format!("unsupported version {v}")),
    }
    let check_scope = |what: &str, o: &Value| -> Result<(), String> {
        let Some(o) = o.as_object() else { return Err(format!("{what} must be an object")) };
        for (key, parse) in [("security", true), ("askFallback", true), ("ask", false)] {
            if let Some(v) = o.get(key) {
                let ok = v
                    .as_str()
                    .is_some_and(|s| if parse { Security::parse(s).is_some() } else { Ask::parse(s).is_some() });
                if !ok {
                    return Err(format!("{what}.{key}: invalid value {v}"));
                }
            }
        }
        if let Some(list) = o.get("allowlist") {
            let list = list.as_array().ok_or(format!("{what}.allowlist must be an array"))?;
            for (i, e) in list.iter().enumerate() {
                if e.get("pattern").and_then(Value::as_str).is_none_or(|p| p.trim().is_empty()) {
                    return Err(format!("{what}.allowlist[{i}].pattern required"));
                }
                if let Some(p) = e.get("argPattern") {
                    let Some(p) = p.as_str() else {
                        return Err(format!("{what}.allowlist[{i}].argPattern must be a string"));
                    };
                    if regex_lite::Regex::new(p).is_err() {
                        return Err(format!("{what}.allowlist[{i}].argPattern is not a valid regex"));
                    }
                }
            }
        }
        Ok(())
    };
    if let Some(d) = obj.get("defaults") {
        check_scope("defaults", d)?;
    }
    if let Some(a) = obj.get("agents") {
        let a = a.as_object().ok_or("agents must be an object")?;
        for (name, scope) in a {
            check_scope(&format!("agents.{name}"), scope)?;
        }
    }
    Ok(())
}

/// The document on disk, with compare-and-swap edits.
#[derive(Debug)]
pub struct ApprovalsStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl ApprovalsStore {
    /// A store for `path` (created on the first write, mode 0600; its directory 0700).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        ApprovalsStore { path: path.into(), lock: Mutex::new(()) }
    }

    /// A store for `exec-approvals.json` in `state_dir`.
    pub fn in_state_dir(state_dir: &Path) -> Self {
        Self::new(state_dir.join(APPROVALS_FILE))
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> ApprovalsError {
        ApprovalsError::Io { path: self.path.display().to_string(), source }
    }

    /// Reads the document (fresh from disk: edits by `clawnode exec` apply at once).
    pub fn load(&self) -> Result<ApprovalsSnapshot, ApprovalsError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                let file: Value = serde_json::from_slice(&bytes).map_err(|e| ApprovalsError::Invalid {
                    path: self.path.display().to_string(),
                    reason: e.to_string(),
                })?;
                validate(&file)
                    .map_err(|reason| ApprovalsError::Invalid { path: self.path.display().to_string(), reason })?;
                Ok(ApprovalsSnapshot { path: self.path.clone(), exists: true, hash: sha256_hex(&bytes), file })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ApprovalsSnapshot {
                path: self.path.clone(),
                exists: false,
                hash: sha256_hex(b""),
                file: json!({"version": 1}),
            }),
            Err(e) => Err(self.io(e)),
        }
    }

    /// Replaces the document if `base_hash` is the current hash (a missing hash is only
    /// accepted while no file exists). A `socket.token` the caller could not see (it is
    /// redacted) is kept.
    pub fn set(&self, mut file: Value, base_hash: Option<&str>) -> Result<ApprovalsSnapshot, ApprovalsError> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.load()?;
        match base_hash {
            Some(h) if h == current.hash => {}
            None if !current.exists => {}
            _ => return Err(ApprovalsError::Stale),
        }
        validate(&file).map_err(|reason| ApprovalsError::Invalid { path: self.path.display().to_string(), reason })?;
        if let Some(token) = current.file.get("socket").and_then(|s| s.get("token")).cloned()
            && let Some(obj) = file.as_object_mut()
        {
            let sock = obj.entry("socket").or_insert_with(|| Value::Object(Map::new()));
            if let Some(sock) = sock.as_object_mut() {
                sock.entry("token").or_insert(token);
            }
        }
        if let Some(obj) = file.as_object_mut() {
            obj.entry("version").or_insert(json!(1));
        }
        self.write(&file)?;
        self.load()
    }

    /// Applies `edit` to the current document and writes it (read-modify-write under the
    /// store's lock).
    pub fn update(&self, edit: impl FnOnce(&mut Value)) -> Result<ApprovalsSnapshot, ApprovalsError> {
        let _g = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut file = self.load()?.file;
        edit(&mut file);
        validate(&file).map_err(|reason| ApprovalsError::Invalid { path: self.path.display().to_string(), reason })?;
        self.write(&file)?;
        self.load()
    }

    fn write(&self, file: &Value) -> Result<(), ApprovalsError> {
        let mut bytes = serde_json::to_vec_pretty(file)
            .map_err(|e| ApprovalsError::Invalid { path: self.path.display().to_string(), reason: e.to_string() })?;
        bytes.push(b'\n');
        clawnode::store::write_private_atomic(&self.path, &bytes).map_err(|e| self.io(e))
    }
}

/// Adds an allowlist entry for `agent` (no duplicate of the same pattern/argPattern);
/// `source` is `Some("allow-always")` for entries an approval created. When
/// the document leaves `security` unset or `deny` at every level for that agent, the
/// agent's scope is set to `security: "allowlist"`, `ask: "off"`.
pub fn add_allow_entry(file: &mut Value, agent: &str, pattern: &str, arg_pattern: Option<&str>, source: Option<&str>) {
    let policy = resolve_policy(Some(file), agent);
    let Some(root) = file.as_object_mut() else { return };
    root.entry("version").or_insert(json!(1));
    let agents = root.entry("agents").or_insert_with(|| Value::Object(Map::new()));
    let Some(agents) = agents.as_object_mut() else { return };
    let scope = agents.entry(agent.to_string()).or_insert_with(|| Value::Object(Map::new()));
    let Some(scope) = scope.as_object_mut() else { return };
    if policy.security == Security::Deny {
        scope.insert("security".into(), json!("allowlist"));
        scope.entry("ask").or_insert(json!("off"));
    }
    let list = scope.entry("allowlist").or_insert_with(|| json!([]));
    let Some(list) = list.as_array_mut() else { return };
    let exists = list.iter().any(|e| {
        e.get("pattern").and_then(Value::as_str) == Some(pattern)
            && e.get("argPattern").and_then(Value::as_str) == arg_pattern
    });
    if !exists {
        let mut e = Map::new();
        if let Ok(id) = clawnode::clock::uuid_v4(&clawnode::clock::SystemRandom::new()) {
            e.insert("id".into(), json!(id));
        }
        e.insert("pattern".into(), json!(pattern));
        if let Some(a) = arg_pattern {
            e.insert("argPattern".into(), json!(a));
        }
        // The Gateway's schema only knows `allow-always` here.
        if let Some(source) = source {
            e.insert("source".into(), json!(source));
        }
        list.push(Value::Object(e));
    }
}

/// Removes every allowlist entry with this pattern (any agent); returns how many.
pub fn remove_allow_entries(file: &mut Value, pattern: &str) -> usize {
    let mut removed = 0;
    if let Some(agents) = file.get_mut("agents").and_then(Value::as_object_mut) {
        for scope in agents.values_mut() {
            if let Some(list) = scope.get_mut("allowlist").and_then(Value::as_array_mut) {
                let before = list.len();
                list.retain(|e| e.get("pattern").and_then(Value::as_str) != Some(pattern));
                removed += before - list.len();
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unconfigured_is_deny() {
        let p = resolve_policy(None, "main");
        assert_eq!((p.security, p.ask, p.ask_fallback), (Security::Deny, Ask::Off, Security::Deny));
        let p = resolve_policy(Some(&json!({"version":1,"defaults":{}})), "main");
        assert_eq!(p.security, Security::Deny);
    }

    #[test]
    fn precedence_agent_wildcard_defaults() {
        let f = json!({
            "version": 1,
            "defaults": {"security": "full", "ask": "always"},
            "agents": {
                "*": {"security": "allowlist", "allowlist": [{"pattern": "/bin/ls"}]},
                "main": {"ask": "on-miss", "allowlist": [{"pattern": "uname", "argPattern": "^-a$"}]}
            }
        });
        let p = resolve_policy(Some(&f), "main");
        assert_eq!(p.security, Security::Allowlist);
        assert_eq!(p.ask, Ask::OnMiss);
        assert_eq!(p.allowlist.len(), 2);
        assert_eq!(p.allowlist[0].arg_pattern.as_deref(), Some("^-a$"));
        let p = resolve_policy(Some(&f), "other");
        assert_eq!(p.ask, Ask::Always);
        assert_eq!(p.allowlist.len(), 1);
    }

    #[test]
    fn cas_and_redaction() {
        let dir = tempfile::tempdir().unwrap();
        let store = ApprovalsStore::in_state_dir(dir.path());
        let s0 = store.load().unwrap();
        assert!(!s0.exists);
        let doc = json!({"version":1,"socket":{"path":"/x","token":"secret"},"defaults":{"security":"allowlist"}});
        let s1 = store.set(doc, None).unwrap();
        assert!(s1.exists);
        assert_eq!(s1.redacted_file()["socket"], json!({"path":"/x"}));
        // Missing or stale hashes are refused once the file exists.
        assert!(matches!(store.set(json!({"version":1}), None), Err(ApprovalsError::Stale)));
        assert!(matches!(store.set(json!({"version":1}), Some(&s0.hash)), Err(ApprovalsError::Stale)));
        // The redacted token is kept.
        let mut next = s1.redacted_file();
        next["defaults"]["security"] = json!("full");
        let s2 = store.set(next, Some(&s1.hash)).unwrap();
        assert_eq!(s2.file["socket"]["token"], "secret");
        assert_ne!(s2.hash, s1.hash);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(matches!(
            store.set(json!({"defaults":{"security":"maybe"}}), Some(&s2.hash)),
            Err(ApprovalsError::Invalid { .. })
        ));
    }

    #[test]
    fn allow_entries() {
        let mut f = json!({"version":1});
        add_allow_entry(&mut f, ANY_AGENT, "/usr/bin/uname", None, None);
        add_allow_entry(&mut f, ANY_AGENT, "/usr/bin/uname", None, None);
        let p = resolve_policy(Some(&f), "main");
        assert_eq!(p.security, Security::Allowlist);
        assert_eq!(p.allowlist.len(), 1);
        assert_eq!(remove_allow_entries(&mut f, "/usr/bin/uname"), 1);
        assert!(resolve_policy(Some(&f), "main").allowlist.is_empty());
    }
}
