//! States and notices as the app sees them.

use clawnode::{
    NodeNotice as CoreNotice, NodeState as CoreState, PauseKind as CorePauseKind, Remediation as CoreRemediation,
};

use crate::events::{GatewayEvent, PendingWorkItem};

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
    /// The proxy (`NodeConfig.proxy`) asked for credentials, rejected them, or refused the
    /// tunnel to the Gateway. Nothing was sent to the Gateway.
    Proxy,
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

/// What the user can do about a pause (the app words it; `PauseInfo.remediation` is a
/// default English text for app users).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum RemediationKind {
    /// Enter the right Gateway token or password.
    FixSharedCredential,
    /// The device is no longer paired: pair again (new setup code or the Gateway token).
    PairAgain,
    /// The setup code is expired or used: get a new one.
    NewSetupCode,
    /// The device proof was rejected: check the device clock.
    CheckClock,
    /// Update the app (or the Gateway).
    Update,
    /// Verify the Gateway's certificate fingerprint, then `trust_pin` it (or keep the old pin).
    TrustCertificate,
    /// The address is not allowed (plaintext to a non-local host…): use a `wss://` address.
    FixConnectionSettings,
    /// The proxy refused: check its address, user and password (or ask its administrator).
    FixProxy,
    /// The secure storage failed.
    FixStorage,
    /// Paused on request: `resume()` when ready.
    Resume,
    /// Only the Gateway's operator can fix it.
    AskOperator,
}

impl RemediationKind {
    /// The app-facing default text (never CLI flags or environment variables).
    pub fn text(self) -> &'static str {
        match self {
            RemediationKind::FixSharedCredential => "Enter the Gateway token or password again, then retry.",
            RemediationKind::PairAgain => {
                "This device is no longer paired. Pair it again with a new setup code or the Gateway token."
            }
            RemediationKind::NewSetupCode => "The setup code is expired or was already used. Ask for a new one.",
            RemediationKind::CheckClock => {
                "The Gateway rejected this device's proof. Check the date and time settings."
            }
            RemediationKind::Update => "This app and the Gateway are not compatible. Update the app or the Gateway.",
            RemediationKind::TrustCertificate => {
                "The Gateway's certificate is not the trusted one. Verify its fingerprint with the Gateway's owner before trusting it."
            }
            RemediationKind::FixConnectionSettings => {
                "This address is not allowed without encryption. Use a secure (wss://) address or a local network."
            }
            RemediationKind::FixProxy => {
                "The proxy refused the connection. Check the proxy settings (address, user name and password), or ask the network's administrator."
            }
            RemediationKind::FixStorage => "The app's secure storage failed. Restart the app or reset its data.",
            RemediationKind::Resume => "Resume the connection when ready.",
            RemediationKind::AskOperator => "The Gateway refused this device. Ask the Gateway's owner.",
        }
    }
}

impl From<CoreRemediation> for RemediationKind {
    fn from(r: CoreRemediation) -> Self {
        match r {
            CoreRemediation::FixSharedCredential => RemediationKind::FixSharedCredential,
            CoreRemediation::PairAgain => RemediationKind::PairAgain,
            CoreRemediation::NewSetupCode => RemediationKind::NewSetupCode,
            CoreRemediation::CheckClock => RemediationKind::CheckClock,
            CoreRemediation::Update => RemediationKind::Update,
            CoreRemediation::TrustCertificate => RemediationKind::TrustCertificate,
            CoreRemediation::FixConnectionSettings => RemediationKind::FixConnectionSettings,
            CoreRemediation::FixProxy => RemediationKind::FixProxy,
            CoreRemediation::FixStorage => RemediationKind::FixStorage,
            CoreRemediation::Resume => RemediationKind::Resume,
            #[allow(unreachable_patterns)]
            _ => RemediationKind::AskOperator,
        }
    }
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
    /// What to do, for the app's user (from `remediation_kind`; no CLI advice).
    pub remediation: String,
    /// What to do, for the app to word or act on.
    pub remediation_kind: RemediationKind,
}

/// What the node is doing.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
#[uniffi::export(Display)]
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

impl std::fmt::Display for NodeState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeState::Idle => write!(f, "idle"),
            NodeState::Connecting { attempt } => write!(f, "connecting (attempt {attempt})"),
            NodeState::AwaitingDeviceApproval { request_id, .. } => match request_id {
                Some(id) => write!(f, "awaiting device approval (request {id})"),
                None => write!(f, "awaiting device approval"),
            },
            NodeState::AwaitingCommandApproval { .. } => write!(f, "awaiting command approval"),
            NodeState::Ready { server_version, .. } => write!(f, "ready (Gateway {server_version})"),
            NodeState::BackingOff { delay_ms, reason } => write!(f, "retrying in {delay_ms} ms: {reason}"),
            NodeState::Paused { pause } => write!(f, "paused: {} — {}", pause.message, pause.remediation),
            NodeState::Suspended => write!(f, "suspended"),
            NodeState::Stopped => write!(f, "stopped"),
            NodeState::Other { description } => write!(f, "{description}"),
        }
    }
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
                let remediation_kind: RemediationKind = p.remediation_kind().into();
                let kind = match p.kind {
                    CorePauseKind::Auth => PauseKind::Auth,
                    CorePauseKind::Identity => PauseKind::Identity,
                    CorePauseKind::Incompatible => PauseKind::Incompatible,
                    CorePauseKind::Configuration => PauseKind::Configuration,
                    CorePauseKind::Proxy => PauseKind::Proxy,
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
                let message = app_message(&kind, &p.message);
                NodeState::Paused {
                    pause: PauseInfo {
                        kind,
                        code: p.code,
                        message,
                        remediation: remediation_kind.text().to_string(),
                        remediation_kind,
                    },
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

/// What happened, for app users: the TLS pauses from their fingerprints, a configuration
/// refusal without the CLI's advice (its first sentence); other messages as the core or
/// the Gateway wrote them.
fn app_message(kind: &PauseKind, core: &str) -> String {
    match kind {
        PauseKind::PinMismatch { expected, observed, system_trusted } => format!(
            "The Gateway presented certificate {observed} instead of the trusted {expected} ({}). Nothing was sent.",
            if *system_trusted {
                "the new one passes system trust"
            } else {
                "the new one is not trusted by the system"
            }
        ),
        PauseKind::TlsUntrusted { observed } => {
            format!("The Gateway's certificate {observed} is not trusted by this device. Nothing was sent.")
        }
        PauseKind::Configuration => match core.split_once(". ") {
            Some((first, _)) => format!("{first}."),
            None => core.to_string(),
        },
        _ => core.to_string(),
    }
}

/// Informational notices besides state changes.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
#[uniffi::export(Display)]
pub enum NodeNotice {
    /// A connection attempt started.
    ConnectAttempt {
        /// Attempts so far.
        total: u64,
    },
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
    /// A Gateway event reached the node (`chat` of a subscribed session,
    /// `voicewake.changed`, …).
    Event {
        /// The event.
        event: GatewayEvent,
    },
    /// Gateway events were lost (sequence gap).
    EventsLost {
        /// Expected seq.
        expected: u64,
        /// Received seq.
        received: u64,
    },
    /// Queued work drained from the Gateway on the return to the foreground: act on it
    /// (it is no longer on the Gateway).
    PendingWork {
        /// The item.
        item: PendingWorkItem,
    },
    /// A foreground action queued while the app was in the background ran on its return
    /// and was acknowledged (its result cannot reach the original caller).
    PendingActionRan {
        /// Action id.
        id: String,
        /// Command.
        command: String,
        /// Error code when it failed.
        error: Option<String>,
    },
}

impl std::fmt::Display for NodeNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeNotice::ConnectAttempt { total } => write!(f, "connection attempt {total}"),
            NodeNotice::Connected { server_version, auth_method } => match auth_method {
                Some(m) => write!(f, "connected to Gateway {server_version} (auth {m})"),
                None => write!(f, "connected to Gateway {server_version}"),
            },
            NodeNotice::Disconnected { reason } => write!(f, "disconnected: {reason}"),
            NodeNotice::DeviceTokenStored => write!(f, "device token stored"),
            NodeNotice::DeviceTokenCleared => write!(f, "rejected device token deleted"),
            NodeNotice::PairResolved { decision } => write!(f, "command surface {decision}"),
            NodeNotice::Event { event } => write!(f, "Gateway event {event}"),
            NodeNotice::EventsLost { expected, received } => {
                write!(f, "Gateway events lost (expected seq {expected}, received {received})")
            }
            NodeNotice::PendingWork { item } => write!(f, "queued work {} ({})", item.kind, item.id),
            NodeNotice::PendingActionRan { id, command, error } => match error {
                None => write!(f, "queued action {command} ({id}) ran"),
                Some(e) => write!(f, "queued action {command} ({id}) failed: {e}"),
            },
        }
    }
}

impl NodeNotice {
    pub(crate) fn from_core(n: CoreNotice) -> Option<Self> {
        Some(match n {
            CoreNotice::ConnectAttempt { total } => NodeNotice::ConnectAttempt { total },
            CoreNotice::Connected { server_version, auth_method, .. } => {
                NodeNotice::Connected { server_version, auth_method }
            }
            CoreNotice::Disconnected { reason } => NodeNotice::Disconnected { reason },
            CoreNotice::DeviceTokenStored => NodeNotice::DeviceTokenStored,
            CoreNotice::DeviceTokenCleared => NodeNotice::DeviceTokenCleared,
            CoreNotice::PairResolved { decision } => NodeNotice::PairResolved { decision },
            CoreNotice::GatewayEvent { event } => NodeNotice::Event { event: event.into() },
            CoreNotice::SeqGap { expected, received } => NodeNotice::EventsLost { expected, received },
            CoreNotice::PendingWork { item } => NodeNotice::PendingWork { item: item.into() },
            CoreNotice::PendingActionRan { id, command, error } => NodeNotice::PendingActionRan { id, command, error },
            // Notices added to the core later than these bindings.
            #[allow(unreachable_patterns)]
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clawnode::protocol::PendingDrainItem;

    #[test]
    fn pending_work_and_actions_reach_the_app() {
        let item: PendingDrainItem = serde_json::from_value(serde_json::json!({"id": "baseline-status",
            "type": "status.request", "priority": "default", "createdAtMs": 5, "payload": {"a": 1}}))
        .unwrap();
        let n = NodeNotice::from_core(CoreNotice::PendingWork { item }).expect("delivered, not dropped");
        let NodeNotice::PendingWork { item } = &n else { panic!("{n:?}") };
        assert_eq!((item.id.as_str(), item.kind.as_str()), ("baseline-status", "status.request"));
        assert_eq!(item.payload_json.as_deref(), Some(r#"{"a":1}"#));
        assert_eq!(n.to_string(), "queued work status.request (baseline-status)");
        let n = CoreNotice::PendingActionRan { id: "x".into(), command: "camera.snap".into(), error: Some("E".into()) };
        assert_eq!(
            NodeNotice::from_core(n),
            Some(NodeNotice::PendingActionRan {
                id: "x".into(),
                command: "camera.snap".into(),
                error: Some("E".into())
            })
        );
    }

    #[test]
    fn gateway_events_keep_their_payload() {
        let core = clawnode::GatewayEvent::parse(
            "chat",
            Some(serde_json::json!({"runId": "r", "sessionKey": "s", "seq": 1, "state": "final",
                "message": {"role": "assistant"}})),
        );
        let n = NodeNotice::from_core(CoreNotice::GatewayEvent { event: core }).unwrap();
        let NodeNotice::Event { event: GatewayEvent::Chat { chat } } = n else { panic!() };
        assert_eq!(chat.message_json.as_deref(), Some(r#"{"role":"assistant"}"#));
        let other = clawnode::GatewayEvent::parse("agent", Some(serde_json::json!({"x": 1})));
        let n = NodeNotice::from_core(CoreNotice::GatewayEvent { event: other }).unwrap();
        assert_eq!(
            n,
            NodeNotice::Event {
                event: GatewayEvent::Other { name: "agent".into(), payload_json: Some(r#"{"x":1}"#.into()) }
            }
        );
    }

    #[test]
    fn a_proxy_pause_reaches_the_app_as_a_proxy_pause() {
        let p = clawnode::PauseReason {
            kind: CorePauseKind::Proxy,
            code: None,
            message: "the proxy http://127.0.0.1:3128 rejected the proxy credentials; nothing was sent to the gateway"
                .into(),
            remediation: "give the proxy's user and password in the proxy URL".into(),
        };
        let NodeState::Paused { pause } = NodeState::from(CoreState::Paused(p)) else { panic!() };
        assert_eq!((pause.kind, pause.remediation_kind), (PauseKind::Proxy, RemediationKind::FixProxy));
        assert!(pause.remediation.contains("proxy settings") && !pause.remediation.contains("wss://"));
        assert!(pause.message.contains("rejected the proxy credentials"), "{}", pause.message);
    }

    #[test]
    fn app_remediation_never_gives_cli_advice() {
        let p = clawnode::PauseReason {
            kind: CorePauseKind::Auth,
            code: Some("AUTH_TOKEN_MISMATCH".into()),
            message: "unauthorized".into(),
            remediation: "the gateway token is wrong: fix --token / OPENCLAW_GATEWAY_TOKEN".into(),
        };
        let NodeState::Paused { pause } = NodeState::from(CoreState::Paused(p)) else { panic!() };
        assert_eq!(pause.remediation_kind, RemediationKind::FixSharedCredential);
        for k in [
            RemediationKind::FixSharedCredential,
            RemediationKind::PairAgain,
            RemediationKind::NewSetupCode,
            RemediationKind::CheckClock,
            RemediationKind::Update,
            RemediationKind::TrustCertificate,
            RemediationKind::FixConnectionSettings,
            RemediationKind::FixProxy,
            RemediationKind::FixStorage,
            RemediationKind::Resume,
            RemediationKind::AskOperator,
        ] {
            for cli in ["--", "OPENCLAW_", "clawnode "] {
                assert!(!k.text().contains(cli), "{k:?}: {}", k.text());
            }
        }
        assert!(!pause.remediation.contains("--token"));
        // Transport refusals lose the CLI's advice.
        let refusal = clawnode::transport::TransportError::PlaintextRefused { host: "8.8.8.8".into(), class: None };
        let p = clawnode::PauseReason {
            kind: CorePauseKind::Configuration,
            code: None,
            message: refusal.to_string(),
            remediation: String::new(),
        };
        let NodeState::Paused { pause } = NodeState::from(CoreState::Paused(p)) else { panic!() };
        assert!(pause.message.starts_with("refusing plaintext ws:// to 8.8.8.8"), "{}", pause.message);
        for cli in ["--ssh", "OPENCLAW_", "clawnode "] {
            assert!(!pause.message.contains(cli), "{}", pause.message);
        }
        let untrusted = PauseKind::TlsUntrusted { observed: "ab".repeat(32) };
        assert!(!app_message(&untrusted, "… (`clawnode trust --url …` or --tls-fingerprint)").contains("clawnode"));
        assert_eq!(NodeState::Stopped.to_string(), "stopped");
    }
}
