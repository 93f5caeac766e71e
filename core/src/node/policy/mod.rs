//! The connection policy: a pure state machine that decides, and does nothing else.
//!
//! Inputs are [`Event`]s — the app's controls (nudge, foreground, suspend, pause, resume,
//! trust a pin),
//! a fired timer, a reachability check's result, a connect's result (hello, or the shape of
//! the failure), the end of a session (close code, `restartExpectedMs`) — each with the
//! current [`Instant`]: the policy has no clock and performs no I/O. Outputs are a
//! [`Step`]: [`Effect`]s (publish a state, store the hello's tokens, delete the stored token
//! if it equals the rejected one) and one [`Action`] (connect now, check reachability,
//! wait `d`, hold until the app acts, or continue what is in flight). The driver
//! (`driver.rs`) performs them.
//!
//! # Rules
//!
//! - **Budget.** Every [`Action::Connect`] (one WebSocket handshake) first asks an
//!   [`AttemptBudget`]: at most `handshakes_per_minute` in any sliding 60 s window, whatever
//!   else says "now". Reachability checks are not handshakes and are not counted.
//! - **Gateway down.** A connect that fails before a byte of WebSocket (TCP refused, no
//!   route, name resolution) switches to reachability checks (a TCP connect and close, no
//!   credential) every `probe_interval`; the handshake follows as soon as one succeeds.
//! - **Gateway restart or close** (a session ended by close 1000/1001/1005/1006/1011–1014,
//!   a socket error or the tick watchdog, or announced by `shutdown.restartExpectedMs`):
//!   reachability checks start after `restartExpectedMs` (clamped to [250 ms, cap]) or one
//!   check interval, and the handshake follows the first accept; the backoff does not grow.
//!   While recovering so, up to [`RECOVERY_RETRIES`] handshakes that fail after the port
//!   accepted (a Gateway still starting or still draining drops the WebSocket) go back to
//!   the checks instead of growing the backoff. Any other end (1002, 1008, 4001, …) grows
//!   it; a session shorter than `stable_session` does not reset it.
//! - **Pairing.** While `PAIRING_REQUIRED`, retries follow a steady cadence of 60 s / budget
//!   (6 s by default) from the first retry on, without growing the backoff, so an approval
//!   is picked up within one cadence and the handshakes never exceed the budget.
//! - **Pauses.** Terminal errors pause until `Resume`; a pin mismatch pauses until
//!   `TrustPin` (a `Resume` alone does not offer anything to that origin again). A
//!   suspension holds until `Unsuspend`. Lifting either starts a fresh backoff.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

mod io;

pub(crate) use io::{Action, ConnectFailure, Effect, EndShape, Event, FailureKind, PolicyConfig, SessionOutcome, Step};

use super::{NodeState, PauseKind, PauseReason};
use crate::backoff::{AttemptBudget, Backoff};
use crate::clock::RandomSource;
use crate::protocol::ErrorShape;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Then {
    Connect,
    Probe,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Idle,
    Connecting,
    Probing,
    Serving { since: Instant, attempt_before: u32 },
    Waiting { until: Instant, then: Then, nudgeable: bool },
    Paused,
    Suspended,
}

/// Handshakes that may fail transiently right after a restart or close before the backoff
/// applies again (each is still counted in the budget).
pub(crate) const RECOVERY_RETRIES: u8 = 3;

/// The connection state machine (one per node).
#[derive(Debug)]
pub(crate) struct Policy {
    cfg: PolicyConfig,
    rng: Arc<dyn RandomSource>,
    backoff: Backoff,
    budget: AttemptBudget,
    phase: Phase,
    suspended: bool,
    requested_pause: Option<String>,
    pin_blocked: bool,
    bootstrap: bool,
    device_retry_pending: bool,
    device_retry_used: bool,
    awaiting_device: bool,
    /// Transient failures still retried via reachability checks (after a restart or close).
    recovering: u8,
    handshakes: u64,
    unreachable: String,
    effects: Vec<Effect>,
}

impl Policy {
    /// A policy that has not started.
    pub fn new(cfg: PolicyConfig, rng: Arc<dyn RandomSource>) -> Self {
        Policy {
            backoff: Backoff::new(cfg.backoff.clone()),
            budget: AttemptBudget::new(cfg.handshakes_per_minute, Duration::from_secs(60)),
            bootstrap: cfg.has_bootstrap,
            cfg,
            rng,
            phase: Phase::Idle,
            suspended: false,
            requested_pause: None,
            pin_blocked: false,
            device_retry_pending: false,
            device_retry_used: false,
            awaiting_device: false,
            recovering: 0,
            handshakes: 0,
            unreachable: String::new(),
            effects: Vec::new(),
        }
    }

    /// Handshakes decided so far.
    #[cfg(test)]
    pub fn handshakes(&self) -> u64 {
        self.handshakes
    }

    /// Decides what follows `event` at `now`.
    pub fn handle(&mut self, now: Instant, event: Event) -> Step {
        let action = self.decide(now, event);
        Step { effects: std::mem::take(&mut self.effects), action }
    }

    fn decide(&mut self, now: Instant, event: Event) -> Action {
        match event {
            Event::Start => match self.phase {
                Phase::Idle => self.gate(now),
                _ => self.current(now),
            },
            Event::Timer => match self.phase {
                Phase::Waiting { until, then, .. } if now >= until => self.follow(now, then),
                _ => self.current(now),
            },
            Event::Nudge | Event::Foreground => match self.phase {
                Phase::Waiting { then, nudgeable: true, .. } => self.follow(now, then),
                _ => self.current(now),
            },
            Event::Suspend => {
                self.suspended = true;
                self.interrupt(now)
            }
            Event::Unsuspend => {
                self.suspended = false;
                if self.phase == Phase::Suspended {
                    self.backoff.reset();
                    self.gate(now)
                } else {
                    self.current(now)
                }
            }
            Event::Pause(message) => {
                self.requested_pause = Some(message);
                self.interrupt(now)
            }
            Event::Resume => {
                self.requested_pause = None;
                if self.phase == Phase::Paused && !self.pin_blocked {
                    self.backoff.reset();
                    self.device_retry_used = false;
                    self.gate(now)
                } else {
                    self.current(now)
                }
            }
            Event::TrustPin => {
                self.pin_blocked = false;
                self.current(now)
            }
            Event::Reachable(ok) => match self.phase {
                Phase::Probing if ok => self.gate(now),
                Phase::Probing => self.probe_later(now),
                _ => self.current(now),
            },
            Event::StoreFailed(_) | Event::Connected { .. } if self.phase != Phase::Connecting => self.current(now),
            Event::StoreFailed(message) => self.pause(PauseReason {
                kind: PauseKind::Storage,
                code: None,
                message,
                remediation: "fix or move aside the credential store, then resume".into(),
            }),
            Event::Connected { used_bootstrap } => {
                let attempt_before = self.backoff.attempt();
                self.backoff.reset();
                self.device_retry_used = false;
                self.awaiting_device = false;
                self.recovering = 0;
                if used_bootstrap {
                    self.bootstrap = false;
                }
                self.effects.push(Effect::StoreTokens);
                self.phase = Phase::Serving { since: now, attempt_before };
                Action::Continue
            }
            Event::ConnectFailed(f) => self.failed(now, f),
            Event::SessionEnded(outcome) => self.ended(now, outcome),
        }
    }

    /// The action of the current phase (an event that changes nothing).
    fn current(&self, now: Instant) -> Action {
        match self.phase {
            Phase::Waiting { until, .. } => Action::Wait(until.saturating_duration_since(now)),
            Phase::Idle | Phase::Paused | Phase::Suspended => Action::Hold,
            Phase::Connecting | Phase::Probing | Phase::Serving { .. } => Action::Continue,
        }
    }

    /// A suspension or pause request: a live session closes by itself (its end is gated);
    /// anything else stops now.
    fn interrupt(&mut self, now: Instant) -> Action {
        match self.phase {
            Phase::Serving { .. } | Phase::Idle => self.current(now),
            // A terminal pause stays as it is until resumed.
            Phase::Paused if self.requested_pause.is_none() || self.pin_blocked => Action::Hold,
            _ => self.gate(now),
        }
    }

    fn show(&mut self, state: NodeState) {
        self.awaiting_device = matches!(state, NodeState::AwaitingDeviceApproval { .. });
        self.effects.push(Effect::State(state));
    }

    fn follow(&mut self, now: Instant, then: Then) -> Action {
        match then {
            Then::Connect => self.gate(now),
            Then::Probe => {
                self.phase = Phase::Probing;
                Action::Probe
            }
        }
    }

    /// Connect now if nothing holds it: a requested pause, a suspension, the budget.
    fn gate(&mut self, now: Instant) -> Action {
        if let Some(message) = self.requested_pause.clone() {
            return self.pause(PauseReason {
                kind: PauseKind::Requested,
                code: None,
                message,
                remediation: "resume the node when ready".into(),
            });
        }
        if self.suspended {
            self.phase = Phase::Suspended;
            self.show(NodeState::Suspended);
            return Action::Hold;
        }
        let wait = self.budget.wait_before_next(now);
        if !wait.is_zero() {
            if !self.awaiting_device {
                let reason = format!("at most {} connection attempts per minute", self.cfg.handshakes_per_minute);
                self.show(NodeState::BackingOff { delay: wait, reason });
            }
            self.phase = Phase::Waiting { until: now + wait, then: Then::Connect, nudgeable: false };
            return Action::Wait(wait);
        }
        self.budget.record(now);
        self.handshakes += 1;
        self.phase = Phase::Connecting;
        if !self.awaiting_device {
            self.show(NodeState::Connecting { attempt: self.backoff.attempt() + 1 });
        }
        Action::Connect { device_retry: std::mem::take(&mut self.device_retry_pending), bootstrap: self.bootstrap }
    }

    fn pause(&mut self, reason: PauseReason) -> Action {
        // A pause ends a recovery: after it, failures back off as usual.
        self.recovering = 0;
        if matches!(reason.kind, PauseKind::PinMismatch(_)) {
            self.pin_blocked = true;
        }
        self.phase = Phase::Paused;
        self.show(NodeState::Paused(reason));
        Action::Hold
    }

    fn wait(&mut self, now: Instant, delay: Duration, then: Then, state: Option<NodeState>) -> Action {
        if let Some(s) = state {
            self.show(s);
        }
        self.phase = Phase::Waiting { until: now + delay, then, nudgeable: true };
        Action::Wait(delay)
    }

    fn retry(&mut self, now: Instant, reason: String) -> Action {
        let delay = self.backoff.next_delay(self.rng.as_ref());
        self.wait(now, delay, Then::Connect, Some(NodeState::BackingOff { delay, reason }))
    }

    fn probe_later(&mut self, now: Instant) -> Action {
        let delay = self.cfg.probe_interval;
        let reason = format!("gateway unreachable ({}); checking every {delay:?}", self.unreachable);
        self.wait(now, delay, Then::Probe, Some(NodeState::BackingOff { delay, reason }))
    }

    fn ended(&mut self, now: Instant, o: SessionOutcome) -> Action {
        let Phase::Serving { since, attempt_before } = self.phase else { return self.current(now) };
        if self.suspended || self.requested_pause.is_some() {
            return self.gate(now);
        }
        if now.saturating_duration_since(since) < self.cfg.stable_session {
            // A session that died right after hello does not earn a reset.
            self.backoff.set_attempt(attempt_before);
        }
        // A restart or close: watch the port (cheap checks, no handshake) from the moment the
        // Gateway said it would be back, else from one check interval on.
        let (delay, then) = match o.restart_expected {
            Some(d) => (d.clamp(Duration::from_millis(250), self.cfg.backoff.max), Then::Probe),
            None if o.end.is_restart_or_close() => (self.cfg.probe_interval, Then::Probe),
            None => (self.backoff.next_delay(self.rng.as_ref()), Then::Connect),
        };
        if then == Then::Probe {
            self.recovering = RECOVERY_RETRIES;
            self.unreachable = "restarting".into();
        }
        self.wait(now, delay, then, Some(NodeState::BackingOff { delay, reason: o.reason }))
    }

    fn failed(&mut self, now: Instant, f: ConnectFailure) -> Action {
        if self.phase != Phase::Connecting {
            return self.current(now);
        }
        let shape = match f.kind {
            FailureKind::Unreachable(message) => {
                self.unreachable = message;
                return self.probe_later(now);
            }
            FailureKind::Terminal(reason) => return self.pause(reason),
            FailureKind::Transient(message) if self.recovering > 0 => {
                // The port accepted but the WebSocket was dropped: a Gateway still starting
                // (or draining). Back to the checks; the budget still bounds the handshakes.
                self.recovering -= 1;
                self.unreachable = message;
                return self.probe_later(now);
            }
            FailureKind::Transient(message) => return self.retry(now, message),
            FailureKind::Rejected(shape) => shape,
        };
        let details = shape.details();
        let code = details.code.clone().unwrap_or_default();
        let rng = self.rng.clone();
        match code.as_str() {
            "PAIRING_REQUIRED" => {
                // Steady from the first retry: a growing backoff would leave one long gap
                // (1, 2, 4 s, then the budget's window) in which an approval waits.
                let delay = self.cfg.pairing_cadence();
                let state = NodeState::AwaitingDeviceApproval {
                    attempts: self.handshakes,
                    request_id: details.request_id.clone(),
                    reason: details.reason.clone(),
                    remediation: details
                        .remediation_hint
                        .clone()
                        .unwrap_or_else(|| "Approve this device from the pending pairing requests.".into()),
                };
                self.wait(now, delay, Then::Connect, Some(state))
            }
            "AUTH_RATE_LIMITED" => {
                let delay = shape
                    .effective_retry_after_ms()
                    .map(Duration::from_millis)
                    .unwrap_or_else(|| self.backoff.next_delay(rng.as_ref()))
                    .max(Duration::from_secs(1));
                self.wait(
                    now,
                    delay,
                    Then::Connect,
                    Some(NodeState::BackingOff { delay, reason: "rate limited".into() }),
                )
            }
            "AUTH_TOKEN_MISMATCH" => {
                if details.can_retry_with_device_token == Some(true)
                    && f.had_stored
                    && !self.device_retry_used
                    && f.device_retry_trusted
                {
                    self.device_retry_pending = true;
                    self.device_retry_used = true;
                    self.wait(now, Duration::from_millis(250), Then::Connect, None)
                } else {
                    self.pause(reason(
                        PauseKind::Auth,
                        &shape,
                        "the gateway token is wrong: fix --token / OPENCLAW_GATEWAY_TOKEN",
                    ))
                }
            }
            "AUTH_DEVICE_TOKEN_MISMATCH" => {
                if let Some(sent) = f.sent_device_token {
                    self.effects.push(Effect::DeleteTokenIfEqual(sent));
                }
                if self.cfg.has_shared_secret && !f.sent_shared {
                    self.retry(now, "device token rejected; retrying with the shared token".into())
                } else if self.bootstrap {
                    self.retry(now, "device token rejected; retrying with the setup code".into())
                } else {
                    self.pause(reason(
                        PauseKind::Auth,
                        &shape,
                        "the device token was revoked or rotated: reconnect with the gateway token or a new setup code",
                    ))
                }
            }
            "AUTH_BOOTSTRAP_TOKEN_INVALID" => {
                self.bootstrap = false;
                self.pause(reason(PauseKind::Auth, &shape, "the setup code is expired or used: ask for a new one"))
            }
            "PROTOCOL_MISMATCH" | "CLIENT_VERSION_MISMATCH" => {
                self.pause(reason(PauseKind::Incompatible, &shape, "update ClawNode or the Gateway"))
            }
            "DEVICE_IDENTITY_REQUIRED" => {
                self.pause(reason(PauseKind::Identity, &shape, "the node must send its device identity"))
            }
            c if c.starts_with("DEVICE_AUTH_") => self.pause(reason(
                PauseKind::Identity,
                &shape,
                "the device proof was rejected: check the system clock (±120 s) and the identity files",
            )),
            c if TERMINAL_AUTH.contains(&c) => self.pause(reason(
                PauseKind::Auth,
                &shape,
                "provide valid gateway credentials (--token, --password or a setup code)",
            )),
            _ if shape.code == "UNAVAILABLE" => {
                let delay = match shape.effective_retry_after_ms() {
                    Some(ms) => Duration::from_millis(ms).clamp(Duration::from_millis(100), self.cfg.backoff.max),
                    None => self.backoff.next_delay(rng.as_ref()),
                };
                self.wait(now, delay, Then::Connect, Some(NodeState::BackingOff { delay, reason: shape.to_string() }))
            }
            "" if shape.code == "INVALID_REQUEST" => self.pause(reason(
                PauseKind::Incompatible,
                &shape,
                "the gateway refused the connect parameters; update ClawNode",
            )),
            _ => self.retry(now, shape.to_string()),
        }
    }
}

/// `details.code`s that pause with [`PauseKind::Auth`] (besides the ones handled apart).
const TERMINAL_AUTH: &[&str] = &[
    "AUTH_TOKEN_MISSING",
    "AUTH_PASSWORD_MISSING",
    "AUTH_PASSWORD_MISMATCH",
    "AUTH_TOKEN_NOT_CONFIGURED",
    "AUTH_PASSWORD_NOT_CONFIGURED",
    "AUTH_SCOPE_MISMATCH",
    "AUTH_IDENTITY_HEADER_REQUIRED",
    "AUTH_VERIFIED_USER_REQUIRED",
    "AUTH_REQUIRED",
    "AUTH_UNAUTHORIZED",
    "AUTH_TAILSCALE_IDENTITY_MISSING",
    "AUTH_TAILSCALE_PROXY_MISSING",
    "AUTH_TAILSCALE_IDENTITY_MISMATCH",
];

fn reason(kind: PauseKind, err: &ErrorShape, remediation: &str) -> PauseReason {
    PauseReason {
        kind,
        code: err.detail_code(),
        message: err.to_string(),
        remediation: err.details().remediation_hint.unwrap_or_else(|| remediation.to_string()),
    }
}

#[cfg(test)]
mod tests;
