//! Wire types of the Gateway WebSocket protocol, as shipped in `openclaw@2026.9.6`.
//!
//! Outbound types (client → Gateway) are *closed*: they serialize exactly the keys the
//! Gateway's schemas allow and nothing else (every client schema has
//! `additionalProperties: false`). Inbound types (Gateway → client) are tolerant: unknown
//! fields are ignored so additive Gateway releases keep working.

mod connect;
mod error;
mod frames;
mod hello;
mod node;
mod publish;

pub use connect::{
    ClientId, ClientInfo, ClientMode, ConnectAuth, ConnectParams, DeviceProof, MAX_PROTOCOL_VERSION,
    MIN_PROTOCOL_VERSION, Role,
};
pub use error::{ErrorDetails, ErrorShape, RecommendedNextStep};
pub use frames::{EventFrame, FrameError, InboundFrame, RequestFrame, ResponseFrame};
pub use hello::{HandoffToken, HelloAuth, HelloFeatures, HelloOk, HelloPolicy, HelloServer};
pub use node::{
    ConnectChallenge, InvokeCancel, InvokeInput, InvokeProgressParams, InvokeRequest, InvokeResultError,
    InvokeResultOk, InvokeResultParams, JsonText, NodeEventParams, NodeEventResult, PairDecision, PairResolved,
    PendingAckParams, PendingAckResult, PendingAction, PendingDrainItem, PendingDrainParams, PendingDrainResult,
    PendingPullResult, ShutdownEvent, TickEvent, json_text_size_hint,
};
pub use publish::{
    NodeSkill, PluginSurfaceRefreshParams, PluginSurfaceRefreshResult, PluginTool, PluginToolMcp,
    PluginToolsUpdateParams, SkillsUpdateParams, surface_urls,
};

/// Method and event names used by a node.
pub mod names {
    /// First request of every connection.
    pub const CONNECT: &str = "connect";
    /// Answer to a `node.invoke.request`.
    pub const NODE_INVOKE_RESULT: &str = "node.invoke.result";
    /// Streamed output of a running invoke.
    pub const NODE_INVOKE_PROGRESS: &str = "node.invoke.progress";
    /// A node-originated event.
    pub const NODE_EVENT: &str = "node.event";
    /// Pull queued foreground invokes.
    pub const NODE_PENDING_PULL: &str = "node.pending.pull";
    /// Acknowledge pulled invokes.
    pub const NODE_PENDING_ACK: &str = "node.pending.ack";
    /// Drain queued status/location requests.
    pub const NODE_PENDING_DRAIN: &str = "node.pending.drain";
    /// Any role: the Gateway's health snapshot (the node's liveness check).
    pub const HEALTH: &str = "health";
    /// Node method: refresh a plugin surface's URL.
    pub const NODE_PLUGIN_SURFACE_REFRESH: &str = "node.pluginSurface.refresh";
    /// Node method: publish the node's plugin tools.
    pub const NODE_PLUGIN_TOOLS_UPDATE: &str = "node.pluginTools.update";
    /// Node method: publish the node's skills.
    pub const NODE_SKILLS_UPDATE: &str = "node.skills.update";
    /// Server challenge, first frame of a socket.
    pub const EV_CONNECT_CHALLENGE: &str = "connect.challenge";
    /// An invoke request addressed to this node.
    pub const EV_INVOKE_REQUEST: &str = "node.invoke.request";
    /// Cancellation of an invoke.
    pub const EV_INVOKE_CANCEL: &str = "node.invoke.cancel";
    /// Ordered input for a streamed invoke.
    pub const EV_INVOKE_INPUT: &str = "node.invoke.input";
    /// Surface approval decision for this node.
    pub const EV_PAIR_RESOLVED: &str = "node.pair.resolved";
    /// Liveness broadcast.
    pub const EV_TICK: &str = "tick";
    /// Graceful stop/restart announcement.
    pub const EV_SHUTDOWN: &str = "shutdown";
}
