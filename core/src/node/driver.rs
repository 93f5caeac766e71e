//! The driver: one task per node that connects, runs sessions and waits, as decided.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{debug, info, warn};

use super::auth::{Attempt, persist_tokens, select_auth};
use super::connected::{describe_end, run_connected};
use super::{Inner, NodeNotice, NodeState, PauseKind, PauseReason};
use crate::backoff::{AttemptBudget, Backoff};
use crate::protocol::{ErrorShape, HelloOk};
use crate::secret::Secret;
use crate::session::{ConnectRequest, HandshakeError, SessionEndKind, handshake};
use crate::store::TokenKey;
use crate::transport::{self, TransportError};

/// App-driven lifecycle requests, observed by the supervisor.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Control {
    pub(super) suspended: bool,
    pub(super) pause: Option<String>,
    pub(super) resume_gen: u64,
}

impl Control {
    pub(super) fn interrupts(&self) -> bool {
        self.suspended || self.pause.is_some()
    }
}

/// Resolves once `pred` holds (no borrow is held across an await).
async fn wait_ctl(rx: &mut watch::Receiver<Control>, pred: impl FnMut(&Control) -> bool) {
    let _ = rx.wait_for(pred).await;
}

/// Resolves once a suspension or a pause is requested.
pub(super) async fn interrupted(rx: &mut watch::Receiver<Control>) {
    wait_ctl(rx, Control::interrupts).await
}

enum Next {
    Retry(Duration),
    Pause(PauseReason),
}

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

fn pause(kind: PauseKind, err: &ErrorShape, remediation: &str) -> Next {
    Next::Pause(PauseReason {
        kind,
        code: err.detail_code(),
        message: err.to_string(),
        remediation: err.details().remediation_hint.unwrap_or_else(|| remediation.to_string()),
    })
}

pub(super) async fn supervise(inner: Arc<Inner>) {
    let mut backoff = Backoff::new(inner.cfg.backoff.clone());
    let mut budget = AttemptBudget::new(inner.cfg.max_attempts_per_minute, Duration::from_secs(60));
    let mut bootstrap = inner.cfg.credentials.bootstrap_token.clone();
    let mut device_retry_pending = false;
    let mut device_retry_used = false;
    let key = inner.token_key();
    loop {
        if inner.stop.is_cancelled() {
            break;
        }
        let ctl = inner.ctl.borrow().clone();
        if let Some(message) = ctl.pause {
            let reason = PauseReason {
                kind: PauseKind::Requested,
                code: None,
                message,
                remediation: "resume the node when ready".into(),
            };
            if !pause_until_resumed(&inner, reason).await {
                break;
            }
            backoff.reset();
            continue;
        }
        if ctl.suspended {
            info!("suspended: no connection until unsuspended");
            inner.set_state(NodeState::Suspended);
            let mut rx = inner.ctl.subscribe();
            tokio::select! {
                _ = wait_ctl(&mut rx, |c| !c.suspended || c.pause.is_some()) => {}
                _ = inner.stop.cancelled() => break,
            }
            info!("unsuspended: connecting now");
            backoff.reset();
            continue;
        }
        let wait = budget.wait_before_next(tokio::time::Instant::now());
        if !wait.is_zero() {
            warn!(wait_ms = wait.as_millis() as u64, "connection attempt budget spent; waiting");
            if !matches!(*inner.state.borrow(), NodeState::AwaitingDeviceApproval { .. }) {
                inner.set_state(NodeState::BackingOff {
                    delay: wait,
                    reason: format!("at most {} connection attempts per minute", inner.cfg.max_attempts_per_minute),
                });
            }
            if !inner.wait(wait, false).await {
                break;
            }
            continue;
        }
        budget.record(tokio::time::Instant::now());
        let stored = match inner.store.load_token(&key) {
            Ok(t) => t,
            Err(e) => {
                let reason = PauseReason {
                    kind: PauseKind::Storage,
                    code: None,
                    message: e.to_string(),
                    remediation: "fix or move aside the credential store, then resume".into(),
                };
                if !pause_until_resumed(&inner, reason).await {
                    break;
                }
                continue;
            }
        };
        let attempt = select_auth(&inner.cfg.credentials, stored.as_ref(), device_retry_pending, bootstrap.as_ref());
        device_retry_pending = false;
        let total = inner.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        inner.notice(NodeNotice::ConnectAttempt { total });
        if !matches!(*inner.state.borrow(), NodeState::AwaitingDeviceApproval { .. }) {
            inner.set_state(NodeState::Connecting { attempt: backoff.attempt() + 1 });
        }
        let req = ConnectRequest {
            client: inner.cfg.client.client_info(),
            caps: inner.router.registry().caps(),
            commands: inner.router.registry().commands(),
            permissions: inner.cfg.permissions.clone(),
            path_env: inner.cfg.path_env.clone(),
            auth: attempt.auth.clone(),
        };
        let mut ctl_rx = inner.ctl.subscribe();
        let result = tokio::select! {
            r = connect_once(&inner, &req) => r,
            _ = interrupted(&mut ctl_rx) => continue,
            _ = inner.stop.cancelled() => break,
        };
        let next = match result {
            Ok((ws, hello)) => {
                let attempt_before = backoff.attempt();
                backoff.reset();
                device_retry_used = false;
                if attempt.used_bootstrap {
                    bootstrap = None;
                }
                persist_tokens(&inner, &key, stored.as_ref(), &attempt, &hello);
                let connected_at = tokio::time::Instant::now();
                let end = run_connected(&inner, ws, hello).await;
                if inner.stop.is_cancelled() {
                    break;
                }
                let reason = describe_end(&end);
                info!(%reason, "session ended");
                inner.notice(NodeNotice::Disconnected { reason: reason.clone() });
                if inner.ctl.borrow().interrupts() {
                    continue;
                }
                if end.kind == SessionEndKind::Stopped {
                    break;
                }
                if connected_at.elapsed() < inner.cfg.stable_session {
                    // A session that died right after hello does not earn a reset.
                    backoff.set_attempt(attempt_before);
                }
                let delay = match end.shutdown.as_ref().and_then(|s| s.restart_expected_ms) {
                    Some(ms) => Duration::from_millis(ms).clamp(Duration::from_millis(250), inner.cfg.backoff.max),
                    None => backoff.next_delay(inner.rng.as_ref()),
                };
                inner.set_state(NodeState::BackingOff { delay, reason });
                Next::Retry(delay)
            }
            Err(e) => classify(
                &inner,
                e,
                &mut backoff,
                &attempt,
                &key,
                stored.is_some(),
                &mut device_retry_pending,
                &mut device_retry_used,
                &mut bootstrap,
            ),
        };
        match next {
            Next::Retry(delay) => {
                debug!(delay_ms = delay.as_millis() as u64, "retrying");
                if !inner.wait(delay, true).await {
                    break;
                }
            }
            Next::Pause(reason) => {
                if !pause_until_resumed(&inner, reason).await {
                    break;
                }
                backoff.reset();
                device_retry_used = false;
            }
        }
    }
    inner.set_state(NodeState::Stopped);
}

async fn pause_until_resumed(inner: &Inner, reason: PauseReason) -> bool {
    let mut rx = inner.ctl.subscribe();
    let gen_at_pause = rx.borrow_and_update().resume_gen;
    warn!(code = ?reason.code, message = %reason.message, "paused: {}", reason.remediation);
    inner.set_state(NodeState::Paused(reason));
    tokio::select! {
        _ = wait_ctl(&mut rx, |c| c.resume_gen != gen_at_pause) => true,
        _ = inner.stop.cancelled() => false,
    }
}

async fn connect_once(inner: &Inner, req: &ConnectRequest) -> Result<(transport::WsStream, HelloOk), HandshakeError> {
    let ws = transport::open(&inner.endpoint(), &inner.cfg.transport).await?;
    handshake(ws, &inner.identity, req, &inner.cfg.handshake).await
}

#[allow(clippy::too_many_arguments)]
fn classify(
    inner: &Inner,
    err: HandshakeError,
    backoff: &mut Backoff,
    attempt: &Attempt,
    key: &TokenKey,
    have_stored: bool,
    device_retry_pending: &mut bool,
    device_retry_used: &mut bool,
    bootstrap: &mut Option<Secret>,
) -> Next {
    let rng = inner.rng.as_ref();
    let retry = |backoff: &mut Backoff, reason: String| {
        let delay = backoff.next_delay(rng);
        inner.set_state(NodeState::BackingOff { delay, reason });
        Next::Retry(delay)
    };
    let shape = match err {
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
                _ => (PauseKind::Configuration, "change the gateway URL or transport settings"),
            };
            return Next::Pause(PauseReason {
                kind,
                code: None,
                message: t.to_string(),
                remediation: remediation.into(),
            });
        }
        HandshakeError::TooLarge(n) => {
            return Next::Pause(PauseReason {
                kind: PauseKind::Configuration,
                code: None,
                message: format!("connect frame of {n} bytes exceeds the 64 KiB pre-auth limit"),
                remediation: "declare fewer commands or permissions".into(),
            });
        }
        HandshakeError::Rejected(e) => e,
        other => {
            warn!(error = %other, "connect failed");
            return retry(backoff, other.to_string());
        }
    };
    let details = shape.details();
    let code = details.code.clone().unwrap_or_default();
    warn!(code = %shape.code, detail = %code, message = %shape.message, "connect rejected");
    match code.as_str() {
        "PAIRING_REQUIRED" => {
            let delay = backoff.next_delay(rng);
            let request_id = details.request_id.clone();
            info!(request_id = ?request_id, reason = ?details.reason, "pairing required; retrying in {delay:?} to keep the request alive");
            inner.set_state(NodeState::AwaitingDeviceApproval {
                attempts: inner.attempts.load(Ordering::Relaxed),
                request_id,
                reason: details.reason.clone(),
                remediation: details
                    .remediation_hint
                    .clone()
                    .unwrap_or_else(|| "Approve this device from the pending pairing requests.".into()),
            });
            Next::Retry(delay)
        }
        "AUTH_RATE_LIMITED" => {
            let delay = shape
                .effective_retry_after_ms()
                .map(Duration::from_millis)
                .unwrap_or_else(|| backoff.next_delay(rng))
                .max(Duration::from_secs(1));
            inner.set_state(NodeState::BackingOff { delay, reason: "rate limited".into() });
            Next::Retry(delay)
        }
        "AUTH_TOKEN_MISMATCH" => {
            if details.can_retry_with_device_token == Some(true)
                && have_stored
                && !*device_retry_used
                && inner.trusted_for_device_retry()
            {
                *device_retry_pending = true;
                *device_retry_used = true;
                info!("shared token rejected; retrying once with the stored device token");
                Next::Retry(Duration::from_millis(250))
            } else {
                pause(PauseKind::Auth, &shape, "the gateway token is wrong: fix --token / OPENCLAW_GATEWAY_TOKEN")
            }
        }
        "AUTH_DEVICE_TOKEN_MISMATCH" => {
            if let Some(sent) = &attempt.sent_device_token {
                match inner.store.delete_token_if(key, sent) {
                    Ok(true) => {
                        info!("stored device token rejected; deleted");
                        inner.notice(NodeNotice::DeviceTokenCleared);
                    }
                    Ok(false) => {}
                    Err(e) => warn!(error = %e, "could not delete the rejected device token"),
                }
            }
            let have_shared = inner.cfg.credentials.shared_token.is_some() || inner.cfg.credentials.password.is_some();
            let sent_shared = attempt.auth.token.is_some() || attempt.auth.password.is_some();
            if have_shared && !sent_shared {
                retry(backoff, "device token rejected; retrying with the shared token".into())
            } else if bootstrap.is_some() {
                retry(backoff, "device token rejected; retrying with the setup code".into())
            } else {
                pause(
                    PauseKind::Auth,
                    &shape,
                    "the device token was revoked or rotated: reconnect with the gateway token or a new setup code",
                )
            }
        }
        "AUTH_BOOTSTRAP_TOKEN_INVALID" => {
            *bootstrap = None;
            pause(PauseKind::Auth, &shape, "the setup code is expired or used: ask for a new one")
        }
        "PROTOCOL_MISMATCH" | "CLIENT_VERSION_MISMATCH" => {
            pause(PauseKind::Incompatible, &shape, "update ClawNode or the Gateway")
        }
        "DEVICE_IDENTITY_REQUIRED" => pause(PauseKind::Identity, &shape, "the node must send its device identity"),
        c if c.starts_with("DEVICE_AUTH_") => pause(
            PauseKind::Identity,
            &shape,
            "the device proof was rejected: check the system clock (±120 s) and the identity files",
        ),
        c if TERMINAL_AUTH.contains(&c) => {
            pause(PauseKind::Auth, &shape, "provide valid gateway credentials (--token, --password or a setup code)")
        }
        _ if shape.code == "UNAVAILABLE" => {
            let delay = shape
                .effective_retry_after_ms()
                .map(|ms| Duration::from_millis(ms).clamp(Duration::from_millis(100), inner.cfg.backoff.max))
                .unwrap_or_else(|| backoff.next_delay(rng));
            inner.set_state(NodeState::BackingOff { delay, reason: shape.to_string() });
            Next::Retry(delay)
        }
        "" if shape.code == "INVALID_REQUEST" => {
            pause(PauseKind::Incompatible, &shape, "the gateway refused the connect parameters; update ClawNode")
        }
        _ => retry(backoff, shape.to_string()),
    }
}
