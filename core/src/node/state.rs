//! What the node tells its host: the state stream, notices, and the outcomes of sends.

use std::time::Duration;

use crate::endpoint::TlsPin;
use crate::gateway_event::GatewayEvent;
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
    /// The proxy asked for credentials, rejected them, or refused the tunnel to the
    /// Gateway. Nothing was sent to the Gateway.
    Proxy,
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
    /// Another Gateway event reached the node (`chat` for a subscribed session,
    /// `voicewake.changed`, …), typed where the protocol has a shape.
    GatewayEvent {
        /// The event.
        event: GatewayEvent,
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

impl std::fmt::Display for NodeNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeNotice::ConnectAttempt { total } => write!(f, "connection attempt {total}"),
            NodeNotice::Connected { server_version, auth_method, epoch } => {
                write!(f, "connected to Gateway {server_version} (session {epoch}")?;
                match auth_method {
                    Some(m) => write!(f, ", auth {m})"),
                    None => write!(f, ")"),
                }
            }
            NodeNotice::DeviceTokenStored => write!(f, "device token stored"),
            NodeNotice::DeviceTokenCleared => write!(f, "rejected device token deleted"),
            NodeNotice::Disconnected { reason } => write!(f, "disconnected: {reason}"),
            NodeNotice::PairResolved { decision } => write!(f, "command surface {decision}"),
            NodeNotice::SeqGap { expected, received } => {
                write!(f, "Gateway events lost (expected seq {expected}, received {received})")
            }
            NodeNotice::GatewayEvent { event } => write!(f, "Gateway event {event}"),
            NodeNotice::PendingWork { item } => write!(f, "queued work {} ({})", item.kind, item.id),
            NodeNotice::PendingActionRan { id, command, error } => match error {
                None => write!(f, "queued action {command} ({id}) ran"),
                Some(e) => write!(f, "queued action {command} ({id}) failed: {e}"),
            },
        }
    }
}

/// What a person can do about a pause, independent of the layer (CLI, app) that tells
/// them: each host words it for its own users ([`PauseReason::remediation`] is the CLI's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Remediation {
    /// The shared Gateway token or password is missing or wrong: enter the right one.
    FixSharedCredential,
    /// The device is no longer paired (device token revoked): pair again with a new
    /// setup code or the shared token.
    PairAgain,
    /// The setup code is expired or already used: get a new one.
    NewSetupCode,
    /// The device proof was rejected: check the device clock.
    CheckClock,
    /// Protocol incompatibility: update the app (or the Gateway).
    Update,
    /// The Gateway's certificate changed or is not trusted: verify and trust it, or keep
    /// the old pin.
    TrustCertificate,
    /// The connection is not allowed (plaintext to a non-local address, bad endpoint):
    /// use a secure (`wss://`) address.
    FixConnectionSettings,
    /// The proxy refused (credentials missing or wrong, or the Gateway's host and port not
    /// allowed): fix the proxy settings or ask the proxy's administrator.
    FixProxy,
    /// The secure storage failed: fix or reset it.
    FixStorage,
    /// Paused on request: resume when ready.
    Resume,
    /// Only the Gateway's operator can fix it (scopes, identity-aware proxy, …).
    AskOperator,
}

impl PauseReason {
    /// The layer-neutral remediation of this pause (from its kind and `details.code`).
    pub fn remediation_kind(&self) -> Remediation {
        let code = self.code.as_deref().unwrap_or_default();
        match &self.kind {
            PauseKind::PinMismatch(_) | PauseKind::TlsUntrusted { .. } => Remediation::TrustCertificate,
            PauseKind::Requested => Remediation::Resume,
            PauseKind::Storage => Remediation::FixStorage,
            PauseKind::Incompatible => Remediation::Update,
            PauseKind::Configuration => Remediation::FixConnectionSettings,
            PauseKind::Proxy => Remediation::FixProxy,
            PauseKind::Identity if code.starts_with("DEVICE_AUTH_") => Remediation::CheckClock,
            PauseKind::Identity => Remediation::Update,
            PauseKind::Auth => match code {
                "AUTH_DEVICE_TOKEN_MISMATCH" => Remediation::PairAgain,
                "AUTH_BOOTSTRAP_TOKEN_INVALID" => Remediation::NewSetupCode,
                "AUTH_TOKEN_MISMATCH"
                | "AUTH_TOKEN_MISSING"
                | "AUTH_PASSWORD_MISSING"
                | "AUTH_PASSWORD_MISMATCH"
                | "AUTH_REQUIRED"
                | "AUTH_UNAUTHORIZED"
                | "" => Remediation::FixSharedCredential,
                _ => Remediation::AskOperator,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pause(kind: PauseKind, code: Option<&str>) -> PauseReason {
        PauseReason { kind, code: code.map(Into::into), message: String::new(), remediation: String::new() }
    }

    #[test]
    fn remediation_kinds_follow_kind_and_code() {
        use Remediation as R;
        let rows = [
            (PauseKind::Auth, Some("AUTH_TOKEN_MISMATCH"), R::FixSharedCredential),
            (PauseKind::Auth, None, R::FixSharedCredential),
            (PauseKind::Auth, Some("AUTH_DEVICE_TOKEN_MISMATCH"), R::PairAgain),
            (PauseKind::Auth, Some("AUTH_BOOTSTRAP_TOKEN_INVALID"), R::NewSetupCode),
            (PauseKind::Auth, Some("AUTH_SCOPE_MISMATCH"), R::AskOperator),
            (PauseKind::Identity, Some("DEVICE_AUTH_SIGNATURE_EXPIRED"), R::CheckClock),
            (PauseKind::Incompatible, Some("PROTOCOL_MISMATCH"), R::Update),
            (PauseKind::Configuration, None, R::FixConnectionSettings),
            (PauseKind::Proxy, None, R::FixProxy),
            (PauseKind::Storage, None, R::FixStorage),
            (PauseKind::Requested, None, R::Resume),
            (PauseKind::TlsUntrusted { observed: TlsPin::of_der(b"x") }, None, R::TrustCertificate),
        ];
        for (kind, code, want) in rows {
            assert_eq!(pause(kind.clone(), code).remediation_kind(), want, "{kind:?} {code:?}");
        }
    }

    #[test]
    fn notices_read_as_sentences() {
        let n = NodeNotice::PendingActionRan { id: "a1".into(), command: "camera.snap".into(), error: None };
        assert_eq!(n.to_string(), "queued action camera.snap (a1) ran");
        let n =
            NodeNotice::Connected { server_version: "2026.9.6".into(), auth_method: Some("token".into()), epoch: 2 };
        assert_eq!(n.to_string(), "connected to Gateway 2026.9.6 (session 2, auth token)");
        assert_eq!(NodeNotice::DeviceTokenStored.to_string(), "device token stored");
    }
}
