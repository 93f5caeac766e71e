//! # ClawNode core
//!
//! The node side of the OpenClaw Gateway protocol: device identity, credentials, the
//! WebSocket session (challenge → signed connect → hello), pairing, invoke dispatch and a
//! reconnecting supervisor. No FFI and no CLI code lives here: the host (CLI, mobile app
//! through the bindings) supplies command handlers, a credential store and a listener.
//!
//! Data flows one way: [`transport`] → the session → [`invoke`] → host handler → back.
//!
//! ## The public API
//!
//! Curated: what a host needs is re-exported here (the node handle, its configuration,
//! states, notices and errors, the command registry) or lives in one of the public modules
//! below; the machinery (session, backoff, outbox, the invoke router) is private. The whole
//! surface is listed in `core/public-api.txt`, checked by `cargo xtask test`; after an
//! intended change, regenerate it with `cargo xtask api`.
//!
//! Public modules: [`commands`] (the typed catalog of node commands), [`gateway_event`] (what
//! the Gateway sends the host), [`events`] (what a
//! host emits), [`endpoint`] (Gateway URLs, TLS pins, network classes), [`store`]
//! (credential and pin stores, the private file writer), [`identity`], [`setup_code`],
//! [`clock`] (time and randomness sources, injectable), [`discovery`] (TXT parsing and the
//! connection plan for discovered Gateways), [`protocol`] (the wire shapes),
//! [`transport`] (transport options: resolver, dialer, Unix socket; the TLS probe),
//! [`invoke`] (what a command handler sees). The exec host (`system.run`) is the separate
//! crate `clawnode-exec`.
#![forbid(unsafe_code)]
// A library: no `unwrap`/`expect` outside tests (typed errors), no printing (`tracing`).
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

pub(crate) mod backoff;
pub mod clock;
pub(crate) mod command_error;
pub mod commands;
pub mod discovery;
pub mod endpoint;
pub mod events;
pub mod gateway_event;
pub mod health;
pub mod identity;
pub mod invoke;
pub(crate) mod node;
pub(crate) mod outbox;
pub mod protocol;
pub(crate) mod secret;
pub(crate) mod session;
pub mod setup_code;
pub(crate) mod stats;
pub mod store;
pub mod transport;

// The node handle, its configuration, states, notices and errors.
pub use node::{
    AliveOutcome, ClientDescriptor, Credentials, EventDelivery, HostStatsProvider, Node, NodeConfig, NodeError,
    NodeNotice, NodeState, PauseKind, PauseReason, Remediation, SessionCounters,
};
// The tuning knobs of `NodeConfig`.
pub use backoff::{BackoffConfig, Jitter};
pub use invoke::InvokeConfig;
pub use outbox::{OutboxConfig, OutboxStats};
pub use session::{HandshakeConfig, LivenessConfig};
// What a request to the Gateway can fail with (`NodeError::Request`).
pub use session::RequestError;

pub use endpoint::{Endpoint, PlaintextPolicy, TlsPin};
pub use events::NodeEvent;
pub use gateway_event::GatewayEvent;
pub use invoke::{CommandError, CommandHandler, CommandRegistry, InvokeContext};
pub use secret::Secret;
