//! Typed `node.event` payloads (protocol.md §4.4). Every payload serializes to exactly the
//! keys the Gateway accepts.

use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::protocol::{NodeEventParams, NodeEventResult, names};
use crate::session::{RequestError, SessionHandle};

/// `node.host.stats` (closed; the disk fields go together).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostStats {
    /// 1..4096.
    pub cpu_count: u32,
    /// 1/5/15-minute load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_average: Option<[f64; 3]>,
    /// Total memory.
    pub memory_total_bytes: u64,
    /// Available memory (≤ total).
    pub memory_free_bytes: u64,
    /// Disk size (with `disk_available_bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_total_bytes: Option<u64>,
    /// Disk available (with `disk_total_bytes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disk_available_bytes: Option<u64>,
}

impl HostStats {
    /// Clamps values into the ranges the Gateway validates.
    pub fn sanitized(mut self) -> Self {
        self.cpu_count = self.cpu_count.clamp(1, 4096);
        self.memory_free_bytes = self.memory_free_bytes.min(self.memory_total_bytes);
        if let Some(l) = &mut self.load_average {
            for v in l.iter_mut() {
                *v = if v.is_finite() { v.clamp(0.0, 100_000.0) } else { 0.0 };
            }
        }
        match (self.disk_total_bytes, self.disk_available_bytes) {
            (Some(t), Some(a)) => self.disk_available_bytes = Some(a.min(t)),
            _ => {
                self.disk_total_bytes = None;
                self.disk_available_bytes = None;
            }
        }
        self
    }
}

/// Why a node reports it is alive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceTrigger {
    /// App went to background.
    Background,
    /// Silent push.
    SilentPush,
    /// Background app refresh.
    BgAppRefresh,
    /// Significant location change.
    SignificantLocation,
    /// User action.
    Manual,
    /// Just connected.
    Connect,
}

/// `node.presence.alive`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PresenceAlive {
    /// Trigger.
    pub trigger: PresenceTrigger,
    /// When it was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at_ms: Option<u64>,
    /// Display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Device family.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Model identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
}

/// `voice.transcript`: starts an agent turn.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VoiceTranscript {
    /// Text (≤ 20000 chars).
    pub text: String,
    /// Session (default: main).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Event id for de-duplication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// Timestamp.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<u64>,
}

/// `agent.request`: runs the agent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AgentRequest {
    /// Message (≤ 20000 chars).
    pub message: String,
    /// Session key (default `node-<nodeId>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Delivery channel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// Delivery target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// Whether to deliver the answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliver: Option<bool>,
    /// Timeout.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
}

/// `notifications.changed` change kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NotificationChange {
    /// Posted.
    Posted,
    /// Removed.
    Removed,
}

/// `notifications.changed` (Android notification mirror).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationsChanged {
    /// Posted or removed.
    pub change: NotificationChange,
    /// Notification key.
    pub key: String,
    /// Session key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Source package.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_name: Option<String>,
    /// Title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// `exec.started` / `exec.finished` / `exec.denied` payload.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecEvent {
    /// Session key forwarded with `system.run`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_key: Option<String>,
    /// Run id forwarded with `system.run`.
    pub run_id: String,
    /// Always `node`.
    pub host: &'static str,
    /// Command line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// Exit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// Whether it timed out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timed_out: Option<bool>,
    /// Success flag.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// Output tail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Denial reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A `node.event` a node can send.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NodeEvent {
    /// `node.host.stats`.
    HostStats(HostStats),
    /// `node.presence.alive`.
    PresenceAlive(PresenceAlive),
    /// `voice.transcript`.
    VoiceTranscript(VoiceTranscript),
    /// `agent.request`.
    AgentRequest(AgentRequest),
    /// `notifications.changed`.
    NotificationsChanged(NotificationsChanged),
    /// `chat.subscribe {sessionKey}`.
    ChatSubscribe {
        /// Session to follow.
        session_key: String,
    },
    /// `chat.unsubscribe {sessionKey}`.
    ChatUnsubscribe {
        /// Session to stop following.
        session_key: String,
    },
    /// `exec.started`.
    ExecStarted(ExecEvent),
    /// `exec.finished`.
    ExecFinished(ExecEvent),
    /// `exec.denied`.
    ExecDenied(ExecEvent),
    /// Any other event name with a raw payload.
    Custom {
        /// Event name.
        event: String,
        /// Payload object.
        payload: Value,
    },
}

impl NodeEvent {
    /// The event name.
    pub fn name(&self) -> &str {
        match self {
            NodeEvent::HostStats(_) => "node.host.stats",
            NodeEvent::PresenceAlive(_) => "node.presence.alive",
            NodeEvent::VoiceTranscript(_) => "voice.transcript",
            NodeEvent::AgentRequest(_) => "agent.request",
            NodeEvent::NotificationsChanged(_) => "notifications.changed",
            NodeEvent::ChatSubscribe { .. } => "chat.subscribe",
            NodeEvent::ChatUnsubscribe { .. } => "chat.unsubscribe",
            NodeEvent::ExecStarted(_) => "exec.started",
            NodeEvent::ExecFinished(_) => "exec.finished",
            NodeEvent::ExecDenied(_) => "exec.denied",
            NodeEvent::Custom { event, .. } => event,
        }
    }

    /// The payload JSON.
    pub fn payload(&self) -> Value {
        let v = match self {
            NodeEvent::HostStats(p) => serde_json::to_value(p.clone().sanitized()),
            NodeEvent::PresenceAlive(p) => serde_json::to_value(p),
            NodeEvent::VoiceTranscript(p) => serde_json::to_value(p),
            NodeEvent::AgentRequest(p) => serde_json::to_value(p),
            NodeEvent::NotificationsChanged(p) => serde_json::to_value(p),
            NodeEvent::ChatSubscribe { session_key } | NodeEvent::ChatUnsubscribe { session_key } => {
                Ok(serde_json::json!({ "sessionKey": session_key }))
            }
            NodeEvent::ExecStarted(p) | NodeEvent::ExecFinished(p) | NodeEvent::ExecDenied(p) => {
                serde_json::to_value(p)
            }
            NodeEvent::Custom { payload, .. } => Ok(payload.clone()),
        };
        v.unwrap_or(Value::Null)
    }

    /// The `node.event` params (`payloadJSON`, as the official node host sends).
    pub fn params(&self) -> NodeEventParams {
        NodeEventParams { event: self.name().to_string(), payload_json: Some(self.payload().to_string()) }
    }
}

/// Sends a `node.event` and parses `{handled, reason}`.
pub(crate) async fn send_node_event(
    session: &SessionHandle,
    event: &NodeEvent,
    timeout: Duration,
) -> Result<NodeEventResult, RequestError> {
    let params = serde_json::to_value(event.params()).unwrap_or(Value::Null);
    let v = session.request(names::NODE_EVENT, params, timeout).await?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn host_stats_shape() {
        let s = HostStats {
            cpu_count: 0,
            load_average: Some([0.5, f64::NAN, 1e9]),
            memory_total_bytes: 10,
            memory_free_bytes: 20,
            disk_total_bytes: Some(5),
            disk_available_bytes: None,
        };
        assert_eq!(
            NodeEvent::HostStats(s).payload(),
            json!({"cpuCount":1,"loadAverage":[0.5,0.0,100000.0],"memoryTotalBytes":10,"memoryFreeBytes":10})
        );
    }

    #[test]
    fn params_use_payload_json() {
        let e = NodeEvent::ChatSubscribe { session_key: "agent:main:main".into() };
        assert_eq!(
            serde_json::to_value(e.params()).unwrap(),
            json!({"event":"chat.subscribe","payloadJSON":"{\"sessionKey\":\"agent:main:main\"}"})
        );
        let e = NodeEvent::PresenceAlive(PresenceAlive {
            trigger: PresenceTrigger::BgAppRefresh,
            sent_at_ms: Some(1),
            display_name: None,
            version: None,
            platform: None,
            device_family: None,
            model_identifier: None,
        });
        assert_eq!(e.payload(), json!({"trigger":"bg_app_refresh","sentAtMs":1}));
        let e = NodeEvent::ExecFinished(ExecEvent {
            session_key: None,
            run_id: "r".into(),
            host: "node",
            command: None,
            exit_code: Some(0),
            timed_out: None,
            success: Some(true),
            output: None,
            reason: None,
        });
        assert_eq!(e.name(), "exec.finished");
        assert_eq!(e.payload(), json!({"runId":"r","host":"node","exitCode":0,"success":true}));
    }
}
