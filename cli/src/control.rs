//! The local control socket of `clawnode run` and the `clawnode status` client.
//!
//! `clawnode run` listens on `control.sock` (a Unix stream socket in the state directory,
//! mode 0600) and answers one JSON request line (`{"request":"status"}`) per connection
//! with one JSON line: the snapshot. `clawnode status` connects and prints it. A node
//! serving several Gateways (`[[gateway]]`) answers `{"deviceId", "gateways": [snapshot…]}`,
//! one snapshot per Gateway, each with its `name`.

use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clawnode::NodeState;
use clawnode::invoke::InvokeStats;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _};

/// File name of the control socket in the state directory.
pub const SOCKET_NAME: &str = "control.sock";

/// Upper bound for one request line.
const MAX_REQUEST: usize = 4096;

/// The socket path for a state directory.
pub fn socket_path(state_dir: &Path) -> PathBuf {
    state_dir.join(SOCKET_NAME)
}

/// How the Gateway (2026.9.6) treats a declared command for `platform:"linux"` nodes
/// (commands.md §1.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Linux platform default (`system.notify`, `computer.act`).
    PlatformDefault,
    /// Default of the bundled `linux-node` plugin (`camera.list`, `location.get`).
    PluginDefault,
    /// Desktop-host set: allowed once a node-pairing (surface) approval recorded it.
    DesktopHost,
    /// In DEFAULT_DANGEROUS (or registered dangerous): needs `gateway.nodes.commands.allow`.
    Dangerous,
    /// In no default list: needs `gateway.nodes.commands.allow`.
    NeedsAllow,
}

impl Policy {
    /// Stable token used in the JSON snapshot.
    pub fn as_str(self) -> &'static str {
        match self {
            Policy::PlatformDefault => "platform-default",
            Policy::PluginDefault => "linux-node-plugin-default",
            Policy::DesktopHost => "desktop-host",
            Policy::Dangerous => "dangerous",
            Policy::NeedsAllow => "not-in-defaults",
        }
    }
}

const PLATFORM_DEFAULTS: &[&str] = &["system.notify", "computer.act"];
const PLUGIN_DEFAULTS: &[&str] = &["camera.list", "location.get"];
/// Dangerous commands outside the typed catalog (the catalog's own `dangerous` flags cover
/// camera.snap/clip, screen.record, contacts.add, calendar.add, reminders.add, sms.*).
const DANGEROUS_OUTSIDE_CATALOG: &[&str] = &["camera.ptz.control", "health.summary"];

/// Classifies `command` per the 2026.9.6 Linux policy. `dangerous` marks commands the
/// node itself declares dangerous (custom commands with `dangerous = true`).
pub fn classify(command: &str, dangerous: bool) -> Policy {
    let catalog_dangerous = clawnode::commands::spec(command).is_some_and(|s| s.dangerous);
    if dangerous || catalog_dangerous || DANGEROUS_OUTSIDE_CATALOG.contains(&command) {
        Policy::Dangerous
    } else if PLATFORM_DEFAULTS.contains(&command) {
        Policy::PlatformDefault
    } else if PLUGIN_DEFAULTS.contains(&command) {
        Policy::PluginDefault
    } else if crate::linux::LINUX_DEFAULT_ALLOWED.contains(&command) {
        // The rest of the Linux default list is the desktop-host set.
        Policy::DesktopHost
    } else {
        Policy::NeedsAllow
    }
}

/// What the node saw of its command-surface approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// Ready: the Gateway accepted the declared surface.
    Approved,
    /// Paired, the surface awaits `node.pair.approve`.
    Pending,
    /// Not connected (or not paired): unknown.
    Unknown,
}

impl Surface {
    /// From the node state.
    pub fn from_state(state: &NodeState) -> Self {
        match state {
            NodeState::Ready { .. } => Surface::Approved,
            NodeState::AwaitingCommandApproval { .. } => Surface::Pending,
            _ => Surface::Unknown,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Surface::Approved => "approved",
            Surface::Pending => "pending",
            Surface::Unknown => "unknown",
        }
    }
}

/// The prediction: will the Gateway forward `node.invoke` of this command to this node?
/// Returns (`allowed`, human explanation), `allowed` one of `yes`, `after-approval`,
/// `only-if-allowed`.
pub fn predict(policy: Policy, surface: Surface) -> (&'static str, &'static str) {
    match (policy, surface) {
        (Policy::PlatformDefault, Surface::Pending) | (Policy::PluginDefault, Surface::Pending) => {
            ("after-approval", "Linux default; invocable once the command surface is approved")
        }
        (Policy::PlatformDefault, _) => ("yes", "Linux platform default"),
        (Policy::PluginDefault, _) => ("yes", "linux-node plugin default"),
        (Policy::DesktopHost, Surface::Approved) => ("yes", "desktop-host command, approved into the surface"),
        (Policy::DesktopHost, _) => {
            ("after-approval", "desktop-host command: allowed once approved into the surface (node.pair.approve)")
        }
        (Policy::Dangerous, _) => ("only-if-allowed", "dangerous: needs gateway.nodes.commands.allow"),
        (Policy::NeedsAllow, _) => ("only-if-allowed", "not a Linux default: needs gateway.nodes.commands.allow"),
    }
}

/// The self-check entries for the declared commands.
pub fn self_check(commands: &[(String, bool)], surface: Surface) -> Vec<Value> {
    commands
        .iter()
        .map(|(name, dangerous)| {
            let policy = classify(name, *dangerous);
            let (allowed, why) = predict(policy, surface);
            json!({ "command": name, "policy": policy.as_str(), "allowed": allowed, "why": why })
        })
        .collect()
}

/// What `clawnode run` keeps for the snapshot besides the node state.
pub struct Shared {
    /// Gateway origin (no credentials).
    pub gateway: String,
    /// Declared commands and whether the node marks them dangerous.
    pub commands: Vec<(String, bool)>,
    /// Last BackingOff / Paused reason.
    pub last_error: Mutex<Option<String>>,
    /// The node's device id.
    pub device_id: String,
    /// The Gateway's name (`[[gateway]]` tables), `None` for the single Gateway.
    pub name: Option<String>,
    /// What `status --deep` needs to ask the Gateway's `health` (held by the node only).
    pub deep: Option<Deep>,
}

/// One Gateway served by this `run`: what the snapshot is built from.
#[derive(Clone)]
pub struct Entry {
    /// Fixed facts and the last error.
    pub shared: Arc<Shared>,
    /// The node's state.
    pub states: tokio::sync::watch::Receiver<NodeState>,
    /// Invoke counters.
    pub stats: Arc<InvokeStats>,
    /// Connection attempts so far.
    pub attempts: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl Entry {
    async fn snapshot(&self, deep: bool) -> Value {
        let state = self.states.borrow().clone();
        let mut snap = snapshot(&self.shared, &state, &self.stats, (self.attempts)());
        if deep {
            snap["health"] = deep_health(self.shared.deep.as_ref()).await;
        }
        snap
    }
}

/// The reply to a status request: the one Gateway's snapshot, or one per Gateway.
/// With `deep`, each snapshot carries the Gateway's `health` answer.
async fn reply(entries: &[Entry], deep: bool) -> Value {
    let mut snaps = Vec::with_capacity(entries.len());
    for e in entries {
        snaps.push(e.snapshot(deep).await);
    }
    match snaps.len() {
        1 => snaps.pop().unwrap_or(Value::Null),
        _ => json!({
            "deviceId": entries.first().map(|e| e.shared.device_id.clone()),
            "gateways": snaps,
        }),
    }
}

/// The Gateway as the node reaches it (endpoint with its pin, transport with the tunnel
/// socket) and the node's shared credential: `status --deep` asks `health` through the
/// running node, so no secret ever leaves it.
pub struct Deep {
    /// The endpoint.
    pub endpoint: clawnode::Endpoint,
    /// The transport settings.
    pub transport: clawnode::transport::TransportConfig,
    /// Shared token.
    pub token: Option<clawnode::Secret>,
    /// Shared password.
    pub password: Option<clawnode::Secret>,
}

/// `health {probe: true}` as `openclaw status --deep` asks it; `{"error": …}` on failure.
async fn deep_health(deep: Option<&Deep>) -> Value {
    let Some(d) = deep else { return json!({"error": "not available"}) };
    let r = clawnode::health::gateway_health(
        &d.endpoint,
        &d.transport,
        d.token.as_ref(),
        d.password.as_ref(),
        env!("CARGO_PKG_VERSION"),
        "linux",
        Duration::from_secs(10),
    )
    .await;
    r.unwrap_or_else(|e| json!({"error": e.to_string()}))
}

/// Builds the JSON snapshot.
pub fn snapshot(shared: &Shared, state: &NodeState, stats: &InvokeStats, attempts: u64) -> Value {
    let surface = Surface::from_state(state);
    let (kind, pending) = match state {
        NodeState::Idle => ("idle", Value::Null),
        NodeState::Connecting { .. } => ("connecting", Value::Null),
        NodeState::AwaitingDeviceApproval { request_id, reason, .. } => {
            ("awaiting-device-approval", json!({ "kind": "device", "requestId": request_id, "reason": reason }))
        }
        NodeState::AwaitingCommandApproval { node_id } => {
            ("awaiting-command-approval", json!({ "kind": "commands", "nodeId": node_id }))
        }
        NodeState::Ready { .. } => ("ready", Value::Null),
        NodeState::BackingOff { .. } => ("backing-off", Value::Null),
        NodeState::Paused(_) => ("paused", Value::Null),
        NodeState::Suspended => ("suspended", Value::Null),
        NodeState::Stopped => ("stopped", Value::Null),
        _ => ("other", Value::Null),
    };
    let c = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);
    let t = stats.turnaround.snapshot();
    json!({
        "deviceId": shared.device_id,
        "name": shared.name,
        "gateway": shared.gateway,
        "state": { "kind": kind, "text": crate::status::short(state) },
        "connectAttempts": attempts,
        "pendingApproval": pending,
        "lastError": shared.last_error.lock().ok().and_then(|e| e.clone()),
        "invokes": {
            "received": c(&stats.received),
            "succeeded": c(&stats.succeeded),
            "failed": c(&stats.failed),
            "timedOut": c(&stats.timed_out),
            "cancelled": c(&stats.cancelled),
            "busy": c(&stats.busy),
            "turnaroundUs": {
                "count": t.count, "p50": t.p50_us, "p90": t.p90_us, "p99": t.p99_us, "max": t.max_us,
            },
        },
        "allowlist": {
            "platform": "linux",
            "policy": "openclaw 2026.9.6",
            "surface": surface.as_str(),
            "commands": self_check(&shared.commands, surface),
            "note": "predicted from the Gateway's default policy; gateway.nodes.commands.allow/deny on the Gateway \
                     can change it, and a node never sees invoke denials",
        },
    })
}

/// A running control socket; removes the socket file on drop.
pub struct Server {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Binds `control.sock` in `state_dir` (mode 0600) and serves snapshots of `entries`.
pub fn serve(state_dir: &Path, entries: Vec<Entry>) -> std::io::Result<Server> {
    use std::os::unix::fs::PermissionsExt as _;
    let path = socket_path(state_dir);
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("another clawnode run already listens on {}", path.display()),
            ));
        }
        std::fs::remove_file(&path)?;
    }
    let listener = tokio::net::UnixListener::bind(&path)?;
    if let Err(e) = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let entries = entries.clone();
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut line = String::new();
                let mut r = tokio::io::BufReader::new(r).take(MAX_REQUEST as u64);
                let read = tokio::time::timeout(Duration::from_secs(5), r.read_line(&mut line)).await;
                let reply = match read {
                    Ok(Ok(_)) => match serde_json::from_str::<Value>(line.trim()) {
                        Ok(v) if v["request"] == "status" => reply(&entries, v["deep"] == true).await,
                        _ => json!({ "error": "unknown request; send {\"request\":\"status\"}" }),
                    },
                    _ => return,
                };
                let mut out = reply.to_string();
                out.push('\n');
                let _ = w.write_all(out.as_bytes()).await;
                let _ = w.shutdown().await;
            });
        }
    });
    Ok(Server { path, task })
}

/// Why `clawnode status` failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens.
    #[error(
        "no clawnode node is running with state directory {dir} (no control socket at {path}); start `clawnode run` or pass --state-dir"
    )]
    NotRunning {
        /// The state dir.
        dir: String,
        /// The socket path.
        path: String,
    },
    /// I/O or protocol failure.
    #[error("control socket {path}: {message}")]
    Failed {
        /// The socket path.
        path: String,
        /// What happened.
        message: String,
    },
}

/// Asks the node listening in `state_dir` for its snapshot (`deep`: with the Gateway's
/// `health`).
pub fn request_status(state_dir: &Path, deep: bool) -> Result<Value, ClientError> {
    let path = socket_path(state_dir);
    let failed = |m: String| ClientError::Failed { path: path.display().to_string(), message: m };
    let mut stream = match std::os::unix::net::UnixStream::connect(&path) {
        Ok(s) => s,
        Err(e) if matches!(e.kind(), std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused) => {
            return Err(ClientError::NotRunning {
                dir: state_dir.display().to_string(),
                path: path.display().to_string(),
            });
        }
        Err(e) => return Err(failed(e.to_string())),
    };
    stream
        .set_read_timeout(Some(Duration::from_secs(if deep { 20 } else { 10 })))
        .map_err(|e| failed(e.to_string()))?;
    let mut req = json!({"request": "status"});
    if deep {
        req["deep"] = json!(true);
    }
    stream.write_all(format!("{req}\n").as_bytes()).map_err(|e| failed(e.to_string()))?;
    let mut line = String::new();
    std::io::BufReader::new(stream).read_line(&mut line).map_err(|e| failed(e.to_string()))?;
    let v: Value = serde_json::from_str(line.trim()).map_err(|e| failed(format!("bad reply: {e}")))?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        return Err(failed(e.to_string()));
    }
    Ok(v)
}

/// Renders a reply for people: one block per Gateway.
pub fn render(v: &Value) -> String {
    match v["gateways"].as_array() {
        Some(list) => {
            let mut out = format!("device:    {}\n", v["deviceId"].as_str().unwrap_or("-"));
            for g in list {
                out.push_str(&format!("\n== gateway {} ==\n", g["name"].as_str().unwrap_or("-")));
                out.push_str(&render_one(g));
            }
            out
        }
        None => render_one(v),
    }
}

/// Renders one Gateway's snapshot.
fn render_one(v: &Value) -> String {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    let mut out = String::new();
    out.push_str(&format!("device:    {}\n", s(&v["deviceId"])));
    if let Some(name) = v["name"].as_str() {
        out.push_str(&format!("name:      {name}\n"));
    }
    out.push_str(&format!("gateway:   {}\n", s(&v["gateway"])));
    out.push_str(&format!("state:     {} (connect attempts: {})\n", s(&v["state"]["text"]), v["connectAttempts"]));
    let p = &v["pendingApproval"];
    match p["kind"].as_str() {
        Some("device") => out.push_str(&format!(
            "pending:   device pairing request {} (`openclaw devices approve {}`)\n",
            s(&p["requestId"]),
            s(&p["requestId"])
        )),
        Some("commands") => out.push_str(
            "pending:   command surface (`openclaw nodes pending`, then `openclaw nodes approve <requestId>`)\n",
        ),
        _ => out.push_str("pending:   none\n"),
    }
    out.push_str(&format!("last error: {}\n", v["lastError"].as_str().unwrap_or("none")));
    match v.get("health") {
        Some(h) if h.get("error").is_some() => out.push_str(&format!("health:    unavailable ({})\n", s(&h["error"]))),
        Some(h) => out.push_str(&format!(
            "health:    {} (gateway health{})\n",
            if h["ok"] == false { "not ok" } else { "ok" },
            h.get("durationMs").map(|d| format!(", {d} ms")).unwrap_or_default()
        )),
        None => {}
    }
    let i = &v["invokes"];
    out.push_str(&format!(
        "invokes:   {} received, {} ok, {} failed, {} timed out, {} cancelled, {} busy\n",
        i["received"], i["succeeded"], i["failed"], i["timedOut"], i["cancelled"], i["busy"]
    ));
    let t = &i["turnaroundUs"];
    if t["count"].as_u64().unwrap_or(0) > 0 {
        out.push_str(&format!(
            "turnaround: p50 {} µs, p90 {} µs, p99 {} µs, max {} µs (request frame read → result frame written)\n",
            t["p50"], t["p90"], t["p99"], t["max"]
        ));
    }
    let a = &v["allowlist"];
    out.push_str(&format!(
        "allowlist self-check ({} policy for platform {}, surface {}):\n",
        s(&a["policy"]),
        s(&a["platform"]),
        s(&a["surface"])
    ));
    let empty = vec![];
    let cmds = a["commands"].as_array().unwrap_or(&empty);
    let width = cmds.iter().filter_map(|c| c["command"].as_str()).map(str::len).max().unwrap_or(0);
    for c in cmds {
        out.push_str(&format!("  {:width$}  {:16} {}\n", s(&c["command"]), s(&c["allowed"]), s(&c["why"])));
    }
    out.push_str(&format!("note: {}\n", s(&a["note"])));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prediction_table() {
        let cases: &[(&str, bool, Surface, &str, &str)] = &[
            ("system.notify", false, Surface::Approved, "platform-default", "yes"),
            ("computer.act", false, Surface::Unknown, "platform-default", "yes"),
            ("system.notify", false, Surface::Pending, "platform-default", "after-approval"),
            ("camera.list", false, Surface::Approved, "linux-node-plugin-default", "yes"),
            ("location.get", false, Surface::Unknown, "linux-node-plugin-default", "yes"),
            ("system.which", false, Surface::Pending, "desktop-host", "after-approval"),
            ("system.which", false, Surface::Unknown, "desktop-host", "after-approval"),
            ("system.which", false, Surface::Approved, "desktop-host", "yes"),
            ("system.run", false, Surface::Approved, "desktop-host", "yes"),
            ("desktop.stream", false, Surface::Approved, "desktop-host", "yes"),
            ("camera.snap", false, Surface::Approved, "dangerous", "only-if-allowed"),
            ("sms.send", false, Surface::Approved, "dangerous", "only-if-allowed"),
            ("backup.run", true, Surface::Approved, "dangerous", "only-if-allowed"),
            ("device.info", false, Surface::Approved, "not-in-defaults", "only-if-allowed"),
            ("device.status", false, Surface::Pending, "not-in-defaults", "only-if-allowed"),
            ("custom.thing", false, Surface::Approved, "not-in-defaults", "only-if-allowed"),
        ];
        for (cmd, dangerous, surface, policy, allowed) in cases {
            let p = classify(cmd, *dangerous);
            assert_eq!(p.as_str(), *policy, "{cmd}");
            assert_eq!(predict(p, *surface).0, *allowed, "{cmd} {surface:?}");
        }
    }

    #[test]
    fn agrees_with_the_linux_default_list() {
        // Everything in LINUX_DEFAULT_ALLOWED is a default or desktop-host command; nothing else is.
        for c in crate::linux::LINUX_DEFAULT_ALLOWED {
            assert!(!matches!(classify(c, false), Policy::Dangerous | Policy::NeedsAllow), "{c}");
        }
    }

    #[test]
    fn snapshot_and_render() {
        let shared = Shared {
            gateway: "ws://127.0.0.1:1".into(),
            commands: vec![("device.info".into(), false), ("system.which".into(), false)],
            last_error: Mutex::new(Some("connection refused".into())),
            device_id: "d".into(),
            name: None,
            deep: None,
        };
        let stats = InvokeStats::default();
        stats.received.fetch_add(2, Ordering::Relaxed);
        let st = NodeState::AwaitingCommandApproval { node_id: "d".into() };
        let v = snapshot(&shared, &st, &stats, 3);
        assert_eq!(v["state"]["kind"], "awaiting-command-approval");
        assert_eq!(v["pendingApproval"]["kind"], "commands");
        assert_eq!(v["invokes"]["received"], 2);
        assert_eq!(v["lastError"], "connection refused");
        assert_eq!(v["allowlist"]["commands"][0]["allowed"], "only-if-allowed");
        assert_eq!(v["allowlist"]["commands"][1]["allowed"], "after-approval");
        let text = render(&v);
        assert!(text.contains("device.info"), "{text}");
        assert!(text.contains("never sees invoke denials"), "{text}");
    }

    #[test]
    fn not_running_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = request_status(dir.path(), false).unwrap_err();
        assert!(matches!(e, ClientError::NotRunning { .. }));
        assert!(e.to_string().contains("no clawnode node is running"), "{e}");
    }

    #[tokio::test]
    async fn serves_over_a_0600_socket() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let entry = |name: Option<&str>, state| {
            let shared = Arc::new(Shared {
                gateway: "ws://127.0.0.1:1".into(),
                commands: vec![("system.notify".into(), false)],
                last_error: Mutex::new(None),
                device_id: "d".into(),
                name: name.map(str::to_string),
                deep: None,
            });
            let (tx, rx) = tokio::sync::watch::channel(state);
            (Entry { shared, states: rx, stats: Arc::new(InvokeStats::default()), attempts: Arc::new(|| 0) }, tx)
        };
        let (one, _tx) = entry(None, NodeState::Idle);
        let server = serve(dir.path(), vec![one]).unwrap();
        let mode = std::fs::metadata(socket_path(dir.path())).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let d = dir.path().to_path_buf();
        let v = tokio::task::spawn_blocking(move || request_status(&d, false)).await.unwrap().unwrap();
        assert_eq!(v["state"]["kind"], "idle");
        drop(server);
        assert!(!socket_path(dir.path()).exists());
        // Several Gateways: one snapshot each, named, rendered one block each.
        let ((home, _t1), (work, _t2)) =
            (entry(Some("home"), NodeState::Idle), entry(Some("work"), NodeState::Suspended));
        let server = serve(dir.path(), vec![home, work]).unwrap();
        let d = dir.path().to_path_buf();
        let v = tokio::task::spawn_blocking(move || request_status(&d, false)).await.unwrap().unwrap();
        assert_eq!(v["gateways"][0]["name"], "home");
        assert_eq!(v["gateways"][1]["name"], "work");
        assert_eq!(v["gateways"][1]["state"]["kind"], "suspended");
        let text = render(&v);
        assert!(text.contains("== gateway home ==") && text.contains("== gateway work =="), "{text}");
        drop(server);
    }
}
