//! The policy's inputs ([`Event`]) and outputs ([`Step`]: [`Effect`]s and one [`Action`]),
//! and the classification of a handshake error into a [`FailureKind`].

use std::time::Duration;

use super::super::{NodeState, PauseKind, PauseReason};
use crate::backoff::BackoffConfig;
use crate::protocol::ErrorShape;
use crate::secret::Secret;
use crate::session::HandshakeError;
use crate::transport::TransportError;

/// The policy's settings (derived from `NodeConfig` by the driver).
#[derive(Debug, Clone)]
pub(crate) struct PolicyConfig {
    /// Backoff schedule of failed handshakes.
    pub backoff: BackoffConfig,
    /// Handshakes allowed in any sliding 60 s window (≥ 1).
    pub handshakes_per_minute: u32,
    /// A session shorter than this does not reset the backoff.
    pub stable_session: Duration,
    /// Cadence of reachability checks while the Gateway does not accept connections.
    pub probe_interval: Duration,
    /// A shared token or password is configured.
    pub has_shared_secret: bool,
    /// A setup-code bootstrap token is configured.
    pub has_bootstrap: bool,
}

impl PolicyConfig {
    /// The steady retry cadence while awaiting device approval: the budget spread evenly.
    pub fn pairing_cadence(&self) -> Duration {
        (Duration::from_secs(60) / self.handshakes_per_minute.max(1)).max(Duration::from_secs(1))
    }
}

/// What the policy is told.
#[derive(Debug, Clone)]
pub(crate) enum Event {
    /// The node started.
    Start,
    /// The last [`Action::Wait`] elapsed.
    Timer,
    /// The app asked to retry now.
    Nudge,
    /// The app came to the foreground: like a nudge (a backoff wait is cut short).
    Foreground,
    /// The app suspended the node.
    Suspend,
    /// The app ended the suspension.
    Unsuspend,
    /// The app paused the node, with its reason.
    Pause(String),
    /// The app lifted a pause.
    Resume,
    /// The app trusted a new TLS pin.
    TrustPin,
    /// A reachability check's result.
    Reachable(bool),
    /// Reading the stored device token failed.
    StoreFailed(String),
    /// Hello received.
    Connected {
        /// The attempt offered the setup-code bootstrap token.
        used_bootstrap: bool,
    },
    /// The handshake failed.
    ConnectFailed(ConnectFailure),
    /// The live session ended.
    SessionEnded(SessionOutcome),
}

/// A failed handshake: what went wrong and what the attempt offered.
#[derive(Debug, Clone)]
pub(crate) struct ConnectFailure {
    /// What went wrong.
    pub kind: FailureKind,
    /// The device token the attempt sent, if any.
    pub sent_device_token: Option<Secret>,
    /// The attempt sent the shared token or password.
    pub sent_shared: bool,
    /// A device token was stored when the attempt started.
    pub had_stored: bool,
    /// The transport allows the one-shot device-token retry (loopback, or `wss://` pinned).
    pub device_retry_trusted: bool,
}

/// The shape of a handshake failure.
#[derive(Debug, Clone)]
pub(crate) enum FailureKind {
    /// Nothing accepted the connection (refused, no route, name resolution).
    Unreachable(String),
    /// Retrying cannot help (policy, trust, configuration).
    Terminal(PauseReason),
    /// The Gateway answered `connect` with an error.
    Rejected(ErrorShape),
    /// Anything else (timeouts, resets, upgrade failures, closes before hello).
    Transient(String),
}

impl FailureKind {
    /// Classifies a handshake error.
    pub fn of(err: HandshakeError) -> Self {
        match err {
            HandshakeError::Transport(t) if t.is_terminal() => {
                let (kind, remediation) = match &t {
                    TransportError::PinMismatch(m) => (
                        PauseKind::PinMismatch(m.clone()),
                        if m.system_trusted {
                            "the gateway's certificate changed (the new one passes system trust): verify the new fingerprint, then accept it or keep the old pin"
                        } else {
                            "the gateway's certificate changed and is not system-trusted: verify the new fingerprint out of band before accepting it; otherwise use a new setup code"
                        },
                    ),
                    TransportError::Untrusted { observed, .. } => (
                        PauseKind::TlsUntrusted { observed: *observed },
                        "pin the gateway's certificate after verifying its fingerprint out of band",
                    ),
                    TransportError::ProxyAuth { .. } => {
                        (PauseKind::Proxy, "give the proxy's user and password in the proxy URL")
                    }
                    TransportError::ProxyRefused { .. } => {
                        (PauseKind::Proxy, "ask the proxy's administrator to allow the gateway's host and port")
                    }
                    TransportError::DiscoveredUnpinned { .. } => (
                        PauseKind::Configuration,
                        "a discovered Gateway is trusted by its pin only: probe its certificate, verify the fingerprint out of band and pin it (the discovery plan's AskUser step)",
                    ),
                    _ => (PauseKind::Configuration, "change the gateway URL or transport settings"),
                };
                FailureKind::Terminal(PauseReason {
                    kind,
                    code: None,
                    message: t.to_string(),
                    remediation: remediation.into(),
                })
            }
            HandshakeError::Transport(
                t @ (TransportError::Connect { .. }
                | TransportError::Resolve { .. }
                | TransportError::ProxyConnect { .. }
                | TransportError::ProxyTargetUnreachable { .. }
                | TransportError::Timeout("connect")),
            ) => FailureKind::Unreachable(t.to_string()),
            HandshakeError::TooLarge(n) => FailureKind::Terminal(PauseReason {
                kind: PauseKind::Configuration,
                code: None,
                message: format!("connect frame of {n} bytes exceeds the 64 KiB pre-auth limit"),
                remediation: "declare fewer commands or permissions".into(),
            }),
            HandshakeError::Rejected(e) => FailureKind::Rejected(e),
            other => FailureKind::Transient(other.to_string()),
        }
    }
}

/// How a session ended, as far as the policy cares.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SessionOutcome {
    /// How the socket ended.
    pub end: EndShape,
    /// `restartExpectedMs` of a `shutdown` event seen before the end.
    pub restart_expected: Option<Duration>,
    /// A description for the state.
    pub reason: String,
}

/// How the socket of a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndShape {
    /// The Gateway (or the network) closed it, with this close code.
    Closed(Option<u16>),
    /// The tick watchdog closed it (4000).
    TickTimeout,
    /// Reading or writing failed.
    SocketError,
}

impl EndShape {
    /// A Gateway restart, crash or plain close: retried without growing the backoff.
    /// Auth (4001, 1008) and protocol (1002, 1003, 1007, 1009, 1010) closes are not.
    pub fn is_restart_or_close(self) -> bool {
        match self {
            EndShape::TickTimeout | EndShape::SocketError => true,
            EndShape::Closed(None) => true,
            EndShape::Closed(Some(c)) => matches!(c, 1000 | 1001 | 1005 | 1006 | 1011 | 1012 | 1013 | 1014),
        }
    }
}

/// Something the driver does right away.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Effect {
    /// Publish this state.
    State(NodeState),
    /// Persist the tokens of the hello just received.
    StoreTokens,
    /// Delete the stored device token if (and only if) it still equals this rejected one.
    DeleteTokenIfEqual(Secret),
}

/// What the driver does next.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Open a connection and handshake (one handshake of the budget).
    Connect {
        /// Offer the shared token together with the stored device token (the one-shot retry).
        device_retry: bool,
        /// The setup-code bootstrap token may be offered.
        bootstrap: bool,
    },
    /// Check whether the Gateway accepts TCP connections (no WebSocket, no credential).
    Probe,
    /// Wait this long, then report [`Event::Timer`] (the app's events may come first).
    Wait(Duration),
    /// Wait for the app to act (paused, suspended).
    Hold,
    /// Keep going with what is in flight (a connect, a check or a live session).
    Continue,
}

/// The policy's answer to one event.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    /// Done first, in order.
    pub effects: Vec<Effect>,
    /// Then this.
    pub action: Action,
}
