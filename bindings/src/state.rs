//! States and notices as the app sees them.

use clawnode::{NodeNotice as CoreNotice, NodeState as CoreState, PauseKind as CorePauseKind};

/// Why the node paused.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum PauseKind {
    /// Credentials missing or wrong.
    Auth,
    /// The device identity or its proof was rejected.
    Identity,
    /// Protocol or version incompatibility.
    Incompatible,
    /// Transport policy (e.g. plaintext refused) or configuration.
    Configuration,
    /// The secure store failed.
    Storage,
    /// The Gateway presented another certificate than the pinned one (nothing was sent).
    PinMismatch {
        /// Pinned fingerprint (hex).
        expected: String,
        /// Presented fingerprint (hex).
        observed: String,
        /// Whether the presented chain passes system trust.
        system_trusted: bool,
    },
    /// No pin and the certificate fails system trust.
    TlsUntrusted {
        /// Presented fingerprint (hex).
        observed: String,
    },
    /// The app or user paused the node.
    Requested,
    /// A kind this version of the bindings does not know.
    Other,
}

/// A pause: no retry until `Node.resume()` (or `trustPin`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PauseInfo {
    /// Category.
    pub kind: PauseKind,
    /// The Gateway's `details.code`, when sent.
    pub code: Option<String>,
    /// What happened.
    pub message: String,
    /// What to do.
    pub remediation: String,
}

/// What the node is doing.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum NodeState {
    /// Not started.
    Idle,
    /// Opening a connection.
    Connecting {
        /// Attempt number since the last success.
        attempt: u32,
    },
    /// Pairing required: the operator must approve `request_id`.
    AwaitingDeviceApproval {
        /// Pairing request id.
        request_id: Option<String>,
        /// `not-paired`, `role-upgrade`, …
        reason: Option<String>,
        /// Human hint.
        remediation: String,
    },
    /// Paired; the declared commands await operator approval.
    AwaitingCommandApproval {
        /// This node's id.
        node_id: String,
    },
    /// Commands are live.
    Ready {
        /// This node's id.
        node_id: String,
        /// Gateway version.
        server_version: String,
        /// `token`, `device-token`, `password`, …
        auth_method: Option<String>,
    },
    /// Waiting before the next attempt.
    BackingOff {
        /// The wait in milliseconds.
        delay_ms: u64,
        /// Why.
        reason: String,
    },
    /// Stopped retrying until the app or user acts.
    Paused {
        /// Details.
        pause: PauseInfo,
    },
    /// Suspended by the app (`Node.suspend()`): no connection until `unsuspend()`.
    Suspended,
    /// Stopped for good.
    Stopped,
    /// A state this version of the bindings does not model yet.
    Other {
        /// Debug description.
        description: String,
    },
}

impl From<CoreState> for NodeState {
    fn from(s: CoreState) -> Self {
        match s {
            CoreState::Idle => NodeState::Idle,
            CoreState::Connecting { attempt } => NodeState::Connecting { attempt },
            CoreState::AwaitingDeviceApproval { request_id, reason, remediation, .. } => {
                NodeState::AwaitingDeviceApproval { request_id, reason, remediation }
            }
            CoreState::AwaitingCommandApproval { node_id } => NodeState::AwaitingCommandApproval { node_id },
            CoreState::Ready { node_id, server_version, auth_method } => {
                NodeState::Ready { node_id, server_version, auth_method }
            }
            CoreState::BackingOff { delay, reason } => {
                NodeState::BackingOff { delay_ms: delay.as_millis() as u64, reason }
            }
            CoreState::Paused(p) => {
                let kind = match p.kind {
                    CorePauseKind::Auth => PauseKind::Auth,
                    CorePauseKind::Identity => PauseKind::Identity,
                    CorePauseKind::Incompatible => PauseKind::Incompatible,
                    CorePauseKind::Configuration => PauseKind::Configuration,
                    CorePauseKind::Storage => PauseKind::Storage,
                    CorePauseKind::PinMismatch(m) => PauseKind::PinMismatch {
                        expected: m.expected.to_hex(),
                        observed: m.observed.to_hex(),
                        system_trusted: m.system_trusted,
                    },
                    CorePauseKind::TlsUntrusted { observed } => PauseKind::TlsUntrusted { observed: observed.to_hex() },
                    CorePauseKind::Requested => PauseKind::Requested,
                    #[allow(unreachable_patterns)]
                    _ => PauseKind::Other,
                };
                NodeState::Paused {
                    pause: PauseInfo { kind, code: p.code, message: p.message, remediation: p.remediation },
                }
            }
            CoreState::Suspended => NodeState::Suspended,
            CoreState::Stopped => NodeState::Stopped,
            // States added to the core later than these bindings.
            #[allow(unreachable_patterns)]
            other => NodeState::Other { description: format!("{other:?}") },
        }
    }
}

/// Informational notices besides state changes.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum NodeNotice {
    /// Hello received.
    Connected {
        /// Gateway version.
        server_version: String,
        /// Auth method.
        auth_method: Option<String>,
    },
    /// The session ended.
    Disconnected {
        /// Description.
        reason: String,
    },
    /// A new device token was stored.
    DeviceTokenStored,
    /// A rejected device token was deleted.
    DeviceTokenCleared,
    /// The operator decided on the command surface (`approved`, `rejected`).
    PairResolved {
        /// The decision.
        decision: String,
    },
    /// Another Gateway event reached the node.
    GatewayEvent {
        /// Event name.
        event: String,
    },
    /// Gateway events were lost (sequence gap).
    EventsLost {
        /// Expected seq.
        expected: u64,
        /// Received seq.
        received: u64,
    },
}

impl NodeNotice {
    pub(crate) fn from_core(n: CoreNotice) -> Option<Self> {
        Some(match n {
            CoreNotice::Connected { server_version, auth_method, .. } => {
                NodeNotice::Connected { server_version, auth_method }
            }
            CoreNotice::Disconnected { reason } => NodeNotice::Disconnected { reason },
            CoreNotice::DeviceTokenStored => NodeNotice::DeviceTokenStored,
            CoreNotice::DeviceTokenCleared => NodeNotice::DeviceTokenCleared,
            CoreNotice::PairResolved { decision } => NodeNotice::PairResolved { decision },
            CoreNotice::GatewayEvent { event } => NodeNotice::GatewayEvent { event },
            CoreNotice::SeqGap { expected, received } => NodeNotice::EventsLost { expected, received },
            #[allow(unreachable_patterns)]
            _ => return None,
        })
    }
}
