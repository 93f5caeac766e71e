//! # ClawNode core
//!
//! The node side of the OpenClaw Gateway protocol: device identity, credentials, the
//! WebSocket session (challenge → signed connect → hello), pairing, invoke dispatch and a
//! reconnecting supervisor. No FFI and no CLI code lives here: the host (CLI, mobile app
//! through the bindings) supplies command handlers, a credential store and a listener.
//!
//! Data flows one way: [`transport`] → [`session`] → [`invoke`] → host handler → back.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod backoff;
pub mod clock;
pub mod commands;
pub mod endpoint;
pub mod events;
pub mod identity;
pub mod invoke;
pub mod outbox;
pub mod protocol;
pub mod secret;
pub mod session;
pub mod setup_code;
pub mod store;
pub mod supervisor;
pub mod transport;

pub use secret::Secret;

pub use endpoint::{Endpoint, PlaintextPolicy, TlsPin};
pub use events::NodeEvent;
pub use invoke::{CommandError, CommandRegistry, InvokeContext};
pub use supervisor::{
    AliveOutcome, ClientDescriptor, Credentials, EventDelivery, Node, NodeConfig, NodeError, NodeNotice, NodeState,
    PauseKind, PauseReason,
};
