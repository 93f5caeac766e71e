//! Gateway events and queued work as the app receives them (through
//! `NodeListener.on_notice`): typed records where the protocol has a shape, JSON text
//! otherwise.

use clawnode::gateway_event::{ChatEvent as CoreChat, ChatState as CoreChatState, GatewayEvent as CoreEvent};
use clawnode::protocol::PendingDrainItem;

/// State of a [`ChatEvent`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ChatState {
    /// Part of a message still being generated.
    Delta,
    /// The complete message.
    Final,
    /// The run was aborted.
    Aborted,
    /// The run failed (`error_message`).
    Error,
    /// A state this version of the bindings does not know.
    Other,
}

/// A `chat` event of a session the node subscribed to (`send_event("chat.subscribe",
/// {"sessionKey": …})`, protocol.md §4.4).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ChatEvent {
    /// The run (`inject-<messageId>` for a message an operator injected).
    pub run_id: String,
    /// The session (canonical key, e.g. `agent:main:main`).
    pub session_key: String,
    /// The agent, when named.
    pub agent_id: Option<String>,
    /// Order within the run.
    pub seq: u64,
    /// Delta, final, aborted or error.
    pub state: ChatState,
    /// The message as JSON text (`{"role":"assistant","content":[…],…}`), when sent.
    pub message_json: Option<String>,
    /// Why the run failed.
    pub error_message: Option<String>,
}

/// An event the Gateway sent the node.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum GatewayEvent {
    /// `chat` of a subscribed session.
    Chat {
        /// The event.
        chat: ChatEvent,
    },
    /// `voicewake.changed`: the wake words (sent on connect and on change).
    VoiceWakeChanged {
        /// Trigger phrases.
        triggers: Vec<String>,
    },
    /// Any other event (`agent`, `voicewake.routing.changed`, `health`, …), as JSON.
    Other {
        /// Event name.
        name: String,
        /// Payload as JSON text (`None` when absent).
        payload_json: Option<String>,
    },
}

impl std::fmt::Display for GatewayEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GatewayEvent::Chat { chat } => {
                write!(f, "chat {:?} in {} (run {}, seq {})", chat.state, chat.session_key, chat.run_id, chat.seq)
            }
            GatewayEvent::VoiceWakeChanged { triggers } => write!(f, "voicewake.changed {triggers:?}"),
            GatewayEvent::Other { name, .. } => write!(f, "{name}"),
        }
    }
}

impl From<CoreEvent> for GatewayEvent {
    fn from(e: CoreEvent) -> Self {
        match e {
            CoreEvent::Chat(c) => GatewayEvent::Chat { chat: c.into() },
            CoreEvent::VoiceWakeChanged { triggers } => GatewayEvent::VoiceWakeChanged { triggers },
            CoreEvent::Other { name, payload } => {
                GatewayEvent::Other { name, payload_json: payload.map(|p| p.to_string()) }
            }
            // Kinds typed by a newer core: their name at least.
            #[allow(unreachable_patterns)]
            other => GatewayEvent::Other { name: other.name().to_string(), payload_json: None },
        }
    }
}

impl From<CoreChat> for ChatEvent {
    fn from(c: CoreChat) -> Self {
        let state = match c.state {
            CoreChatState::Delta => ChatState::Delta,
            CoreChatState::Final => ChatState::Final,
            CoreChatState::Aborted => ChatState::Aborted,
            CoreChatState::Error => ChatState::Error,
            #[allow(unreachable_patterns)]
            _ => ChatState::Other,
        };
        ChatEvent {
            run_id: c.run_id,
            session_key: c.session_key,
            agent_id: c.agent_id,
            seq: c.seq,
            state,
            message_json: c.message.map(|m| m.to_string()),
            error_message: c.error_message,
        }
    }
}

/// An item of the Gateway's offline work queue (`node.pending.drain`, commands.md §8.2),
/// drained when the app returns to the foreground: the app acts on it (e.g. sends a
/// status or location event). Drained items are gone from the Gateway.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PendingWorkItem {
    /// Item id.
    pub id: String,
    /// `status.request` or `location.request`.
    pub kind: String,
    /// `default`, `normal` or `high`.
    pub priority: Option<String>,
    /// Creation time (Unix ms).
    pub created_at_ms: Option<u64>,
    /// Expiry (Unix ms).
    pub expires_at_ms: Option<u64>,
    /// Extra payload as JSON text.
    pub payload_json: Option<String>,
}

impl From<PendingDrainItem> for PendingWorkItem {
    fn from(i: PendingDrainItem) -> Self {
        PendingWorkItem {
            id: i.id,
            kind: i.kind,
            priority: i.priority,
            created_at_ms: i.created_at_ms,
            expires_at_ms: i.expires_at_ms,
            payload_json: i.payload.map(|p| p.to_string()),
        }
    }
}
