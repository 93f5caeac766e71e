//! What the node tells its host: the state stream, notices, and the outcomes of sends.

use std::time::Duration;

use crate::endpoint::TlsPin;
use crate::protocol::{NodeEventResult, PendingDrainItem};
use crate::transport::PinMismatch;

#[cfg(doc)]
use super::{Node, NodeConfig};

/// Why the node stopped retrying until someone acts.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PauseKind {
    /// Credentials are missing or wrong.
    Auth,
    /// The device identity or its proof was rejected.
    Identity,
    /// Protocol or version incompatibility.
    Incompatible,
    /// Transport policy (e.g. plaintext refused) or configuration.
    Configuration,
    /// The credential store failed.
    Storage,
    /// The Gateway presented a certificate other than the pinned one. Nothing was sent.
    /// The app decides: accept the observed fingerprint ([`Node::trust_pin`]) or keep the
    /// old pin (stay paused).
    PinMismatch(PinMismatch),
    /// No pin and the certificate fails system trust. Probe, confirm and pin it
    /// ([`Node::trust_pin`]) or fix the certificate.
    TlsUntrusted {
        /// The leaf fingerprint the Gateway presented.
        observed: TlsPin,
    },
    /// The app or user paused the node ([`Node::pause`]).
    Requested,
}

/// A terminal condition: no retry until [`Node::resume`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseReason {
    /// Category.
    pub kind: PauseKind,
    /// `details.code` when the Gateway sent one.
    pub code: Option<String>,
    /// What happened.
    pub message: String,
    /// What to do.
    pub remediation: String,
}

/// What the node is doing, as the app shows it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NodeState {
    /// Not started.
    Idle,
    /// Opening a connection.
    Connecting {
        /// Attempt number since the last success.
        attempt: u32,
    },
    /// The device awaits operator approval; retrying keeps the request alive.
    AwaitingDeviceApproval {
        /// Pairing request id to approve.
        request_id: Option<String>,
        /// `not-paired`, `role-upgrade`, …
        reason: Option<String>,
        /// Human hint.
        remediation: String,
        /// Connection attempts made while waiting.
        attempts: u64,
    },
    /// Connected and paired, but the command surface awaits operator approval.
    AwaitingCommandApproval {
        /// This node's id.
        node_id: String,
    },
    /// Connected; commands are live.
    Ready {
        /// This node's id.
        node_id: String,
        /// Gateway version.
        server_version: String,
        /// `hello-ok.auth.method`.
        auth_method: Option<String>,
    },
    /// Waiting before the next attempt.
    BackingOff {
        /// The wait.
        delay: Duration,
        /// Why.
        reason: String,
    },
    /// Stopped retrying until the app or user acts.
    Paused(PauseReason),
    /// Suspended by the app ([`Node::suspend`]): no socket until [`Node::unsuspend`].
    Suspended,
    /// Stopped for good.
    Stopped,
}

/// Informational notices (besides state).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum NodeNotice {
    /// A connection attempt started.
    ConnectAttempt {
        /// Total attempts so far.
        total: u64,
    },
    /// Hello received.
    Connected {
        /// Gateway version.
        server_version: String,
        /// Auth method.
        auth_method: Option<String>,
        /// Epoch of the new session.
        epoch: u64,
    },
    /// A new device token was persisted.
    DeviceTokenStored,
    /// A stored device token was rejected and deleted.
    DeviceTokenCleared,
    /// The session ended.
    Disconnected {
        /// Description.
        reason: String,
    },
    /// Surface decision received.
    PairResolved {
        /// The decision.
        decision: String,
    },
    /// Broadcast events were lost.
    SeqGap {
        /// Expected seq.
        expected: u64,
        /// Received seq.
        received: u64,
    },
    /// Another Gateway event reached the node.
    GatewayEvent {
        /// Name.
        event: String,
    },
    /// An item of the Gateway's offline work queue (`node.pending.drain`: `status.request`,
    /// `location.request`) for the app to act on.
    PendingWork {
        /// The drained item.
        item: PendingDrainItem,
    },
    /// A queued foreground action (`node.pending.pull`) ran on return to the foreground and
    /// was acknowledged (its result cannot reach the original caller).
    PendingActionRan {
        /// Action id.
        id: String,
        /// Command.
        command: String,
        /// Error code when it failed.
        error: Option<String>,
    },
}

/// What [`Node::emit_event`] did with an event.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum EventDelivery {
    /// Sent on the live session; the Gateway's answer.
    Sent(NodeEventResult),
    /// Queued in the offline outbox; it is sent in order after the next hello unless it
    /// expires first.
    Queued,
}

/// Outcome of [`Node::report_alive`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AliveOutcome {
    /// Sent; the Gateway's answer (`reason: "persisted"` or `"throttled"`).
    Sent(NodeEventResult),
    /// Not sent: one went out less than [`NodeConfig::presence_throttle`] ago.
    Throttled,
}
