//! Human-readable status lines.

use clawnode::NodeState;

/// Prints one timestamped status line to stdout.
pub fn line(text: &str) {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    println!("[{:02}:{:02}:{:02}] {text}", secs / 3600, (secs / 60) % 60, secs % 60);
}

/// Prints state changes, without repeating itself.
#[derive(Default)]
pub struct Printer {
    last_request: Option<String>,
    /// `[name] ` before every line (several Gateways), else nothing.
    prefix: String,
}

impl Printer {
    /// A printer whose lines start with `[label]` (one Gateway of several).
    pub fn labelled(label: Option<&str>) -> Self {
        Printer { last_request: None, prefix: label.map(|l| format!("[{l}] ")).unwrap_or_default() }
    }

    /// Prints `text` with this printer's label.
    pub fn say(&self, text: &str) {
        line(&format!("{}{text}", self.prefix));
    }

    /// Prints `state`.
    pub fn print(&mut self, state: &NodeState, attempts: u64) {
        let prefix = self.prefix.clone();
        let line = move |t: &str| line(&format!("{prefix}{t}"));
        match state {
            NodeState::Idle => {}
            NodeState::Connecting { attempt } => line(&format!("connecting (attempt {attempt}, total {attempts})")),
            NodeState::AwaitingDeviceApproval { request_id, reason, remediation, attempts } => {
                if self.last_request == *request_id {
                    line(&format!(
                        "still awaiting approval of {} (attempt {attempts})",
                        request_id.as_deref().unwrap_or("the device")
                    ));
                } else {
                    self.last_request = request_id.clone();
                    match request_id {
                        Some(id) => line(&format!(
                            "pairing required ({}): approve request {id} with `openclaw devices approve {id}`",
                            reason.as_deref().unwrap_or("not-paired")
                        )),
                        None => line(&format!("pairing required: {remediation}")),
                    }
                }
            }
            NodeState::AwaitingCommandApproval { node_id } => line(&format!(
                "paired; commands await approval: `openclaw nodes pending`, then `openclaw nodes approve <requestId>` (node {node_id})"
            )),
            NodeState::Ready { node_id, server_version, auth_method } => {
                self.last_request = None;
                line(&format!(
                    "ready: node {node_id} on gateway {server_version} (auth: {})",
                    auth_method.as_deref().unwrap_or("?")
                ))
            }
            NodeState::BackingOff { delay, reason } => {
                line(&format!("disconnected: {reason}; retrying in {:.1}s", delay.as_secs_f64()))
            }
            NodeState::Paused(p) => {
                line(&format!("paused: {}", p.message));
                line(&format!("  to fix: {}", p.remediation));
            }
            NodeState::Suspended => line("suspended: no connection until unsuspended (SIGUSR2 toggles)"),
            NodeState::Stopped => {}
            other => line(&short(other)),
        }
    }
}

/// A one-line summary of `state` (systemd `STATUS=`, `clawnode status`).
pub fn short(state: &NodeState) -> String {
    match state {
        NodeState::Idle => "starting".into(),
        NodeState::Connecting { attempt } => format!("connecting (attempt {attempt})"),
        NodeState::AwaitingDeviceApproval { request_id, .. } => match request_id {
            Some(id) => format!("awaiting device approval (request {id})"),
            None => "awaiting device approval".into(),
        },
        NodeState::AwaitingCommandApproval { .. } => "paired; commands await approval".into(),
        NodeState::Ready { server_version, .. } => format!("ready (gateway {server_version})"),
        NodeState::BackingOff { delay, reason } => {
            format!("disconnected: {reason}; retrying in {:.1}s", delay.as_secs_f64())
        }
        NodeState::Paused(p) => format!("paused: {}", p.message),
        NodeState::Suspended => "suspended".into(),
        NodeState::Stopped => "stopped".into(),
        other => format!("{other:?}"),
    }
}
