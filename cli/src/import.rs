//! `clawnode import-openclaw`: takes over the official node host's device identity and node
//! device token (pairing.md §1.3), so the Gateway sees the same device and no new pairing
//! is needed.
//!
//! Sources, in order: `<from>/state/openclaw.sqlite` (tables `device_identities`,
//! `device_auth_tokens`, `config_machine_state`), then the legacy files
//! `<from>/identity/device.json` and `<from>/identity/device-auth.json`. The SQLite file is
//! read in-process with the `import-openclaw` feature (rusqlite, bundled SQLite: +0.9 MiB),
//! otherwise through `node:sqlite` of the Node runtime the official host runs on.

use std::path::Path;

use clawnode::identity::DeviceIdentity;
use serde_json::Value;

/// What was read from the official host's state.
pub struct Imported {
    /// The device identity.
    pub identity: DeviceIdentity,
    /// When the official host created it.
    pub created_at_ms: u64,
    /// The node-role device token, with its scopes and update time.
    pub token: Option<(String, Vec<String>, u64)>,
    /// The Gateway URL from the node host config (`nodeHost.config` / `node.json`).
    pub gateway_url: Option<String>,
    /// The pin of that Gateway (`gateway.tlsFingerprint` of the node host config; raw).
    pub tls_fingerprint: Option<String>,
    /// The node host's `nodeId` (sent as `client.instanceId`).
    pub instance_id: Option<String>,
    /// Where it came from (for messages).
    pub source: String,
}

fn err(msg: impl Into<String>) -> Box<dyn std::error::Error> {
    msg.into().into()
}

/// The Gateway URL of a node host config `{gateway:{host,port,tls,tlsFingerprint,contextPath}}`
/// (a pin implies TLS, as in `openclaw node run`).
pub fn gateway_url(config: &Value) -> Option<String> {
    let g = config.get("gateway")?;
    let host = g.get("host")?.as_str()?.trim();
    if host.is_empty() {
        return None;
    }
    let port = g.get("port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok());
    let tls = g.get("tls").and_then(Value::as_bool).unwrap_or(false) || tls_fingerprint(config).is_some();
    Some(node_host_url(host, port, tls, g.get("contextPath").and_then(Value::as_str)))
}

/// `gateway.tlsFingerprint` of a node host config (trimmed; `None` when absent or empty).
pub fn tls_fingerprint(config: &Value) -> Option<String> {
    let f = config.pointer("/gateway/tlsFingerprint")?.as_str()?.trim();
    (!f.is_empty()).then(|| f.to_string())
}

/// The official node host's URL rule (`formatGatewayCandidateUrl`), shared by the import and
/// `run --host/--port/--tls/--context-path`: `ws[s]://host:port[/path]`, port 18789 by
/// default, an IPv6 host bracketed, the path given a leading `/` and no trailing one.
pub fn node_host_url(host: &str, port: Option<u16>, tls: bool, context_path: Option<&str>) -> String {
    let host = if host.contains(':') && !host.starts_with('[') { format!("[{host}]") } else { host.to_string() };
    let port = port.unwrap_or(clawnode::endpoint::DEFAULT_PORT);
    let path = context_path.unwrap_or("").trim().trim_end_matches('/');
    let path = if path.is_empty() || path.starts_with('/') { path.to_string() } else { format!("/{path}") };
    format!("{}://{host}:{port}{path}", if tls { "wss" } else { "ws" })
}

fn check_device_id(identity: &DeviceIdentity, claimed: &str, source: &str) -> Result<(), Box<dyn std::error::Error>> {
    if !claimed.is_empty() && claimed != identity.device_id() {
        return Err(err(format!(
            "{source}: deviceId {claimed} does not match its key (which gives {})",
            identity.device_id()
        )));
    }
    Ok(())
}

/// Reads the official host's state under `from`.
pub fn read(from: &Path, node: Option<&Path>) -> Result<Imported, Box<dyn std::error::Error>> {
    let db = from.join("state").join("openclaw.sqlite");
    if db.exists() {
        return read_sqlite(&db, node);
    }
    let legacy = from.join("identity").join("device.json");
    if legacy.exists() {
        return read_legacy(from);
    }
    Err(err(format!(
        "no OpenClaw node host state under {} (neither state/openclaw.sqlite nor identity/device.json); pass --from",
        from.display()
    )))
}

/// The rows the import needs from `openclaw.sqlite`, however they were read.
#[derive(Debug, Default, serde::Deserialize)]
struct SqliteRows {
    /// `device_identities` row `primary`: device_id, public_key_pem, private_key_pem, created_at_ms.
    identity: Option<IdentityRow>,
    /// `device_auth_tokens` row of the node role.
    token: Option<TokenRow>,
    /// Every `config_machine_state` row, each column as text where it is text.
    #[serde(default)]
    config: Vec<Vec<Option<String>>>,
}

#[derive(Debug, serde::Deserialize)]
struct IdentityRow {
    device_id: String,
    public_key_pem: String,
    private_key_pem: String,
    created_at_ms: Option<i64>,
}

#[derive(Debug, serde::Deserialize)]
struct TokenRow {
    token: String,
    scopes_json: Option<String>,
    updated_at_ms: Option<i64>,
}

fn from_rows(rows: SqliteRows, source: String) -> Result<Imported, Box<dyn std::error::Error>> {
    let Some(id) = rows.identity else {
        return Err(err(format!("{source}: no 'primary' device identity (has the node host run?)")));
    };
    let identity = DeviceIdentity::from_pem(&id.private_key_pem, Some(&id.public_key_pem))
        .map_err(|e| err(format!("{source}: the stored key pair is unusable: {e}")))?;
    check_device_id(&identity, &id.device_id, &source)?;
    let token = rows.token.map(|t| {
        let scopes: Vec<String> = t.scopes_json.and_then(|s| serde_json::from_str(&s).ok()).unwrap_or_default();
        (t.token, scopes, t.updated_at_ms.unwrap_or(0).max(0) as u64)
    });
    // config_machine_state: the `nodeHost.config` row, without assuming column names.
    let config =
        rows.config.iter().find(|cols| cols.iter().any(|c| c.as_deref() == Some("nodeHost.config"))).and_then(|cols| {
            cols.iter().flatten().filter_map(|c| serde_json::from_str::<Value>(c).ok()).find(|v| v.is_object())
        });
    Ok(Imported {
        identity,
        created_at_ms: id.created_at_ms.unwrap_or(0).max(0) as u64,
        token,
        gateway_url: config.as_ref().and_then(gateway_url),
        tls_fingerprint: config.as_ref().and_then(tls_fingerprint),
        instance_id: config.as_ref().and_then(|c| c.get("nodeId")).and_then(Value::as_str).map(str::to_string),
        source,
    })
}

const IDENTITY_SQL: &str = "SELECT device_id, public_key_pem, private_key_pem, created_at_ms FROM device_identities \
                            WHERE identity_key = 'primary'";
const TOKEN_SQL: &str =
    "SELECT token, scopes_json, updated_at_ms FROM device_auth_tokens WHERE device_id = ?1 AND role = 'node'";

/// With the `import-openclaw` feature: SQLite read in-process (rusqlite, bundled SQLite).
#[cfg(feature = "import-openclaw")]
fn read_sqlite(db: &Path, _node: Option<&Path>) -> Result<Imported, Box<dyn std::error::Error>> {
    use rusqlite::{Connection, OpenFlags, OptionalExtension as _};
    let source = db.display().to_string();
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| err(format!("{source}: {e}")))?;
    let identity = conn
        .query_row(IDENTITY_SQL, [], |r| {
            Ok(IdentityRow {
                device_id: r.get(0)?,
                public_key_pem: r.get(1)?,
                private_key_pem: r.get(2)?,
                created_at_ms: r.get(3)?,
            })
        })
        .optional()
        .map_err(|e| err(format!("{source}: device_identities: {e}")))?;
    let token = match &identity {
        Some(id) => conn
            .query_row(TOKEN_SQL, [&id.device_id], |r| {
                Ok(TokenRow { token: r.get(0)?, scopes_json: r.get(1)?, updated_at_ms: r.get(2)? })
            })
            .optional()
            .map_err(|e| err(format!("{source}: device_auth_tokens: {e}")))?,
        None => None,
    };
    let mut config = Vec::new();
    if let Ok(mut stmt) = conn.prepare("SELECT * FROM config_machine_state") {
        let n = stmt.column_count();
        let mut rows = stmt.query([]).map_err(|e| err(format!("{source}: config_machine_state: {e}")))?;
        while let Some(r) = rows.next().map_err(|e| err(format!("{source}: config_machine_state: {e}")))? {
            config.push((0..n).map(|i| r.get::<_, String>(i).ok()).collect());
        }
    }
    from_rows(SqliteRows { identity, token, config }, source)
}

/// The script the official host's own Node runtime runs to read its SQLite state
/// (`node:sqlite`, built into the Node ≥ 24 that `openclaw` requires), printing the rows as
/// JSON. The database is opened read-only.
const NODE_SCRIPT: &str = r#"
const { DatabaseSync } = require("node:sqlite");
const db = new DatabaseSync(process.argv[1], { readOnly: true });
const identity = db.prepare(process.argv[2]).get() ?? null;
const token = identity ? (db.prepare(process.argv[3].replace("?1", "?")).get(identity.device_id) ?? null) : null;
let config = [];
try {
  config = db.prepare("SELECT * FROM config_machine_state").all()
    .map((row) => Object.values(row).map((v) => (typeof v === "string" ? v : null)));
} catch {}
db.close();
process.stdout.write(JSON.stringify({ identity, token, config }));
"#;

/// Without the `import-openclaw` feature: SQLite read by the Node runtime the official host
/// runs on (`--node`, else `node` on PATH), so the default binary carries no SQLite.
#[cfg(not(feature = "import-openclaw"))]
fn read_sqlite(db: &Path, node: Option<&Path>) -> Result<Imported, Box<dyn std::error::Error>> {
    let source = db.display().to_string();
    let node = node.unwrap_or(Path::new("node"));
    let out = std::process::Command::new(node)
        .args(["--no-warnings", "-e", NODE_SCRIPT])
        .arg(db)
        .args([IDENTITY_SQL, TOKEN_SQL])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| {
            err(format!(
                "{source} is SQLite, read through the Node runtime of the official host, but `{}` cannot run ({e}): \
                 pass --node /path/to/node (Node ≥ 24), or build clawnode with the `import-openclaw` feature",
                node.display()
            ))
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no output");
        return Err(err(format!("{source}: reading it with {} failed: {last}", node.display())));
    }
    let rows: SqliteRows = serde_json::from_slice(&out.stdout)
        .map_err(|e| err(format!("{source}: unexpected output from {}: {e}", node.display())))?;
    from_rows(rows, source)
}

fn read_json(path: &Path) -> Result<Value, Box<dyn std::error::Error>> {
    let bytes = std::fs::read(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    serde_json::from_slice(&bytes).map_err(|e| err(format!("{}: {e}", path.display())))
}

fn read_legacy(from: &Path) -> Result<Imported, Box<dyn std::error::Error>> {
    let path = from.join("identity").join("device.json");
    let source = path.display().to_string();
    let v = read_json(&path)?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("");
    let identity = DeviceIdentity::from_pem(s("privateKeyPem"), Some(s("publicKeyPem")).filter(|p| !p.is_empty()))
        .map_err(|e| err(format!("{source}: the stored key pair is unusable: {e}")))?;
    check_device_id(&identity, s("deviceId"), &source)?;
    let created_at_ms = v.get("createdAtMs").and_then(Value::as_u64).unwrap_or(0);
    let auth = from.join("identity").join("device-auth.json");
    let token = if auth.exists() {
        let a = read_json(&auth)?;
        let owner = a.get("deviceId").and_then(Value::as_str).unwrap_or("");
        if !owner.is_empty() && owner != identity.device_id() {
            None
        } else {
            a.get("tokens").and_then(|t| t.get("node")).and_then(|t| {
                let token = t.get("token")?.as_str()?.to_string();
                let scopes = t
                    .get("scopes")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
                    .unwrap_or_default();
                Some((token, scopes, t.get("updatedAtMs").and_then(Value::as_u64).unwrap_or(0)))
            })
        }
    } else {
        None
    };
    let node = from.join("node.json");
    let config = if node.exists() { read_json(&node).ok() } else { None };
    Ok(Imported {
        identity,
        created_at_ms,
        token,
        gateway_url: config.as_ref().and_then(gateway_url),
        tls_fingerprint: config.as_ref().and_then(tls_fingerprint),
        instance_id: config.as_ref().and_then(|c| c.get("nodeId")).and_then(Value::as_str).map(str::to_string),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawnode::clock::SystemRandom;

    #[test]
    fn gateway_url_from_config() {
        let c = serde_json::json!({"gateway": {"host": "127.0.0.1", "port": 18789, "tls": false}});
        assert_eq!(gateway_url(&c).unwrap(), "ws://127.0.0.1:18789");
        let c = serde_json::json!({"gateway": {"host": "gw.example", "port": 443, "tls": true, "contextPath": "oc/"}});
        assert_eq!(gateway_url(&c).unwrap(), "wss://gw.example:443/oc");
        let c = serde_json::json!({"gateway": {"host": "::1", "port": 1}});
        assert_eq!(gateway_url(&c).unwrap(), "ws://[::1]:1");
        assert!(gateway_url(&serde_json::json!({})).is_none());
        // The pin is kept, and implies TLS as in `openclaw node run`.
        let pin = "AB:".repeat(31) + "AB";
        let c = serde_json::json!({"gateway": {"host": "gw.ts.net", "port": 443, "tlsFingerprint": pin}});
        assert_eq!(gateway_url(&c).unwrap(), "wss://gw.ts.net:443");
        assert_eq!(tls_fingerprint(&c).as_deref(), Some(pin.as_str()));
        assert_eq!(tls_fingerprint(&serde_json::json!({"gateway": {"tlsFingerprint": " "}})), None);
    }

    #[test]
    fn legacy_json() {
        let dir = tempfile::tempdir().unwrap();
        let id = DeviceIdentity::generate(&SystemRandom::new()).unwrap();
        std::fs::create_dir_all(dir.path().join("identity")).unwrap();
        let dev = serde_json::json!({"version": 1, "deviceId": id.device_id(), "publicKeyPem": id.public_key_pem(),
            "privateKeyPem": id.private_key_pem(), "createdAtMs": 5});
        std::fs::write(dir.path().join("identity/device.json"), dev.to_string()).unwrap();
        let auth = serde_json::json!({"version": 1, "deviceId": id.device_id(), "tokens": {"node":
            {"token": "tok", "role": "node", "scopes": [], "updatedAtMs": 7}}});
        std::fs::write(dir.path().join("identity/device-auth.json"), auth.to_string()).unwrap();
        std::fs::write(dir.path().join("node.json"), r#"{"nodeId":"n1","gateway":{"host":"h","port":2}}"#).unwrap();
        let got = read(dir.path(), None).unwrap();
        assert_eq!(got.identity.device_id(), id.device_id());
        assert_eq!(got.created_at_ms, 5);
        assert_eq!(got.token, Some(("tok".into(), vec![], 7)));
        assert_eq!(got.gateway_url.as_deref(), Some("ws://h:2"));
        assert_eq!(got.instance_id.as_deref(), Some("n1"));

        // A deviceId that does not match the key is refused.
        let bad = serde_json::json!({"deviceId": "00", "publicKeyPem": id.public_key_pem(),
            "privateKeyPem": id.private_key_pem()});
        std::fs::write(dir.path().join("identity/device.json"), bad.to_string()).unwrap();
        assert!(read(dir.path(), None).is_err());
    }

    #[cfg(feature = "import-openclaw")]
    #[test]
    fn sqlite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        let id = DeviceIdentity::generate(&SystemRandom::new()).unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("state/openclaw.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE device_identities (identity_key TEXT PRIMARY KEY, device_id TEXT NOT NULL, \
             public_key_pem TEXT NOT NULL, private_key_pem TEXT NOT NULL, created_at_ms INTEGER NOT NULL, \
             updated_at_ms INTEGER NOT NULL) STRICT;
             CREATE TABLE device_auth_tokens (device_id TEXT NOT NULL, role TEXT NOT NULL, token TEXT NOT NULL, \
             scopes_json TEXT NOT NULL, updated_at_ms INTEGER NOT NULL, PRIMARY KEY (device_id, role));
             CREATE TABLE config_machine_state (key TEXT PRIMARY KEY, value_json TEXT NOT NULL);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO device_identities VALUES ('primary', ?1, ?2, ?3, 11, 12)",
            [id.device_id(), &id.public_key_pem(), &id.private_key_pem()],
        )
        .unwrap();
        conn.execute("INSERT INTO device_auth_tokens VALUES (?1, 'node', 'ntok', '[]', 13)", [id.device_id()]).unwrap();
        conn.execute("INSERT INTO device_auth_tokens VALUES (?1, 'operator', 'otok', '[]', 14)", [id.device_id()])
            .unwrap();
        conn.execute(
            "INSERT INTO config_machine_state VALUES ('nodeHost.config', ?1)",
            [r#"{"version":1,"nodeId":"inst","gateway":{"host":"127.0.0.1","port":4242,"tls":false}}"#],
        )
        .unwrap();
        drop(conn);
        let got = read(dir.path(), None).unwrap();
        assert_eq!(got.identity.device_id(), id.device_id());
        assert_eq!(got.created_at_ms, 11);
        assert_eq!(got.token, Some(("ntok".into(), vec![], 13)));
        assert_eq!(got.gateway_url.as_deref(), Some("ws://127.0.0.1:4242"));
        assert_eq!(got.instance_id.as_deref(), Some("inst"));
    }
}
