//! Events the Gateway sends a node besides the invoke and pairing events the session
//! handles itself (protocol.md §4.2): typed where the protocol has a shape, JSON otherwise.
//!
//! Everything here is untrusted input: a payload that does not have the expected shape is
//! delivered as [`GatewayEvent::Other`] with its JSON, never dropped and never an error.

use serde::Deserialize;
use serde_json::Value;

/// `chat` (session chat stream) event name.
pub const CHAT: &str = "chat";
/// `voicewake.changed` event name.
pub const VOICEWAKE_CHANGED: &str = "voicewake.changed";

/// A Gateway event delivered to the host ([`crate::NodeNotice::GatewayEvent`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum GatewayEvent {
    /// `chat`: a message of a session the node subscribed to with the `node.event`
    /// `chat.subscribe {sessionKey}` (protocol.md §4.4).
    Chat(ChatEvent),
    /// `voicewake.changed {triggers}`: the wake words (sent on connect and on change).
    VoiceWakeChanged {
        /// The trigger phrases.
        triggers: Vec<String>,
    },
    /// Any other event (`agent`, `voicewake.routing.changed`, `health`,
    /// `update.available`, …) or one whose payload did not have the expected shape.
    Other {
        /// Event name.
        name: String,
        /// Payload as sent (`None` when absent).
        payload: Option<Value>,
    },
}

/// State of a [`ChatEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChatState {
    /// Part of a message still being generated.
    Delta,
    /// The complete message.
    Final,
    /// The run was aborted.
    Aborted,
    /// The run failed (`error_message`).
    Error,
}

impl ChatState {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "delta" => ChatState::Delta,
            "final" => ChatState::Final,
            "aborted" => ChatState::Aborted,
            "error" => ChatState::Error,
            _ => return None,
        })
    }

    /// The wire spelling (`delta`, `final`, `aborted`, `error`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChatState::Delta => "delta",
            ChatState::Final => "final",
            ChatState::Aborted => "aborted",
            ChatState::Error => "error",
        }
    }
}

/// A `chat` event: `{runId, sessionKey, agentId?, seq, state, message?, errorMessage?}`
/// (as the Gateway's `chat.send` / `chat.inject` handlers emit it).
#[derive(Debug, Clone, PartialEq)]
pub struct ChatEvent {
    /// The run (`inject-<messageId>` for an injected message).
    pub run_id: String,
    /// The session (canonical key, e.g. `agent:main:main`).
    pub session_key: String,
    /// The agent, when the Gateway names it.
    pub agent_id: Option<String>,
    /// Order within the run.
    pub seq: u64,
    /// Delta, final, aborted or error.
    pub state: ChatState,
    /// The message (role, content, …), as sent.
    pub message: Option<Value>,
    /// Why the run failed (`state == Error`).
    pub error_message: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatWire {
    run_id: String,
    session_key: String,
    #[serde(default)]
    agent_id: Option<String>,
    #[serde(default)]
    seq: u64,
    state: String,
    #[serde(default)]
    message: Option<Value>,
    #[serde(default)]
    error_message: Option<String>,
}

#[derive(Deserialize)]
struct VoiceWakeWire {
    triggers: Vec<String>,
}

impl GatewayEvent {
    /// Types the event `name` with `payload`; anything without the expected shape is
    /// [`GatewayEvent::Other`].
    pub fn parse(name: &str, payload: Option<Value>) -> Self {
        let typed = payload.as_ref().and_then(|p| match name {
            CHAT => {
                let w = ChatWire::deserialize(p).ok()?;
                Some(GatewayEvent::Chat(ChatEvent {
                    run_id: w.run_id,
                    session_key: w.session_key,
                    agent_id: w.agent_id,
                    seq: w.seq,
                    state: ChatState::parse(&w.state)?,
                    message: w.message.filter(|m| !m.is_null()),
                    error_message: w.error_message,
                }))
            }
            VOICEWAKE_CHANGED => {
                let w = VoiceWakeWire::deserialize(p).ok()?;
                Some(GatewayEvent::VoiceWakeChanged { triggers: w.triggers })
            }
            _ => None,
        });
        typed.unwrap_or_else(|| GatewayEvent::Other { name: name.to_string(), payload })
    }

    /// The event name on the wire.
    pub fn name(&self) -> &str {
        match self {
            GatewayEvent::Chat(_) => CHAT,
            GatewayEvent::VoiceWakeChanged { .. } => VOICEWAKE_CHANGED,
            GatewayEvent::Other { name, .. } => name,
        }
    }
}

impl std::fmt::Display for GatewayEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayEvent::Chat(c) => {
                write!(f, "chat {} in {} (run {}, seq {})", c.state.as_str(), c.session_key, c.run_id, c.seq)
            }
            GatewayEvent::VoiceWakeChanged { triggers } => write!(f, "voicewake.changed {triggers:?}"),
            GatewayEvent::Other { name, .. } => write!(f, "{name}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn chat_events_are_typed() {
        // The shape `chat.inject` broadcasts (dist/chat-*.mjs).
        let p = json!({"runId": "inject-m1", "sessionKey": "agent:main:main", "agentId": "main", "seq": 0,
            "state": "final", "message": {"role": "assistant", "content": [{"type": "text", "text": "hi"}]},
            "extra": true});
        let GatewayEvent::Chat(c) = GatewayEvent::parse("chat", Some(p)) else { panic!("not typed") };
        assert_eq!((c.run_id.as_str(), c.session_key.as_str(), c.seq), ("inject-m1", "agent:main:main", 0));
        assert_eq!(c.state, ChatState::Final);
        assert_eq!(c.agent_id.as_deref(), Some("main"));
        assert_eq!(c.message.unwrap()["content"][0]["text"], "hi");
        let e = GatewayEvent::parse(
            "chat",
            Some(json!({"runId": "r", "sessionKey": "s", "seq": 3, "state": "error", "errorMessage": "no model"})),
        );
        let GatewayEvent::Chat(c) = e else { panic!() };
        assert_eq!((c.state, c.error_message.as_deref(), c.message), (ChatState::Error, Some("no model"), None));
    }

    #[test]
    fn unexpected_shapes_stay_json() {
        for (name, p) in [
            ("chat", Some(json!({"runId": 1}))),
            ("chat", Some(json!({"runId": "r", "sessionKey": "s", "state": "weird"}))),
            ("chat", None),
            ("voicewake.changed", Some(json!({"triggers": "x"}))),
            ("agent", Some(json!({"stream": "assistant"}))),
        ] {
            let e = GatewayEvent::parse(name, p.clone());
            assert_eq!(e, GatewayEvent::Other { name: name.into(), payload: p }, "{name}");
            assert_eq!(e.name(), name);
        }
        let e = GatewayEvent::parse("voicewake.changed", Some(json!({"triggers": ["openclaw", "claude"]})));
        assert_eq!(e, GatewayEvent::VoiceWakeChanged { triggers: vec!["openclaw".into(), "claude".into()] });
        assert_eq!(e.to_string(), "voicewake.changed [\"openclaw\", \"claude\"]");
    }
}
