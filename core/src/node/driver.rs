//! The driver: one task per node that performs what the [`Policy`] decides — connects,
//! checks reachability, runs sessions, waits — and feeds back what happened.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use super::auth::{persist_tokens, select_auth};
use super::connected::{describe_end, run_connected};
use super::policy::{
    Action, ConnectFailure, Effect, EndShape, Event, FailureKind, Policy, PolicyConfig, SessionOutcome,
};
use super::{Inner, NodeConfig, NodeNotice, NodeState};
use crate::protocol::HelloOk;
use crate::session::{ConnectRequest, HandshakeError, SessionEnd, SessionEndKind, handshake};
use crate::store::TokenKey;
use crate::{setup_code, transport};

/// App-driven lifecycle requests, observed by the driver.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Control {
    pub(super) suspended: bool,
    pub(super) pause: Option<String>,
    pub(super) resume_gen: u64,
    pub(super) pin_gen: u64,
    pub(super) foreground_gen: u64,
}

impl Control {
    pub(super) fn interrupts(&self) -> bool {
        self.suspended || self.pause.is_some()
    }

    /// The policy events that lead from `self` to `now`.
    fn events_to(&self, now: &Control) -> Vec<Event> {
        let mut out = Vec::new();
        if now.pin_gen != self.pin_gen {
            out.push(Event::TrustPin);
        }
        if now.resume_gen != self.resume_gen {
            out.push(Event::Resume);
        }
        if let Some(m) = &now.pause
            && (self.pause.as_ref() != Some(m) || now.resume_gen != self.resume_gen)
        {
            out.push(Event::Pause(m.clone()));
        }
        if now.foreground_gen != self.foreground_gen {
            out.push(Event::Foreground);
        }
        if now.suspended != self.suspended {
            out.push(if now.suspended { Event::Suspend } else { Event::Unsuspend });
        }
        out
    }
}

/// Resolves once a suspension or a pause is requested.
pub(super) async fn interrupted(rx: &mut watch::Receiver<Control>) {
    let _ = rx.wait_for(Control::interrupts).await;
}

/// The policy's settings for `cfg`.
fn policy_config(cfg: &NodeConfig) -> PolicyConfig {
    #[cfg(unix)]
    let tunnel = cfg.transport.unix_socket.is_some();
    #[cfg(not(unix))]
    let tunnel = false;
    // Through a proxy every probe is a tunnel request to the proxy: the remote cadence.
    let local = tunnel || (cfg.transport.proxy.is_none() && transport::is_loopback_host(&cfg.endpoint.host));
    PolicyConfig {
        backoff: cfg.backoff.clone(),
        handshakes_per_minute: cfg.max_attempts_per_minute.max(1),
        stable_session: cfg.stable_session,
        probe_interval: cfg.reachability_interval.unwrap_or(if local {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(1)
        }),
        has_shared_secret: cfg.credentials.shared_token.is_some() || cfg.credentials.password.is_some(),
        has_bootstrap: cfg.credentials.bootstrap_token.is_some(),
    }
}

/// The policy plus what the driver needs to feed it.
struct Driver {
    inner: Arc<Inner>,
    policy: Policy,
    ctl: watch::Receiver<Control>,
    seen: Control,
    key: TokenKey,
}

impl Driver {
    /// Feeds `event`, performs the effects (`persist` stores a hello's tokens) and returns
    /// the action.
    fn feed(&mut self, event: Event, persist: &mut dyn FnMut()) -> Action {
        let step = self.policy.handle(Instant::now(), event);
        for e in step.effects {
            match e {
                Effect::State(s) => {
                    if let NodeState::Paused(r) = &s {
                        warn!(code = ?r.code, message = %r.message, "paused: {}", r.remediation);
                    }
                    self.inner.set_state(s);
                }
                Effect::StoreTokens => persist(),
                Effect::DeleteTokenIfEqual(sent) => match self.inner.store.delete_token_if(&self.key, &sent) {
                    Ok(true) => {
                        info!("stored device token rejected; deleted");
                        self.inner.notice(NodeNotice::DeviceTokenCleared);
                    }
                    Ok(false) => {}
                    Err(e) => warn!(error = %e, "could not delete the rejected device token"),
                },
            }
        }
        step.action
    }

    /// Feeds the app's control changes since the last look; the last action wins.
    fn feed_ctl(&mut self, mut action: Action) -> Action {
        let now = self.ctl.borrow_and_update().clone();
        for ev in self.seen.events_to(&now) {
            action = self.feed(ev, &mut || {});
        }
        self.seen = now;
        action
    }

    /// Runs `fut` while feeding control changes; `Err(action)` when the policy abandons
    /// it, `None` when the node stops.
    async fn race<F: Future>(&mut self, fut: F) -> Option<Result<F::Output, Action>> {
        tokio::pin!(fut);
        let stop = self.inner.stop.clone();
        loop {
            tokio::select! {
                r = &mut fut => return Some(Ok(r)),
                _ = self.ctl.changed() => {
                    let a = self.feed_ctl(Action::Continue);
                    if a != Action::Continue {
                        return Some(Err(a));
                    }
                }
                _ = stop.cancelled() => return None,
            }
        }
    }

    /// Performs `action`; returns the next one (`None`: stopping).
    async fn perform(&mut self, action: Action) -> Option<Action> {
        let inner = self.inner.clone();
        match action {
            Action::Continue | Action::Hold => {
                tokio::select! {
                    _ = self.ctl.changed() => Some(self.feed_ctl(action)),
                    _ = inner.stop.cancelled() => None,
                }
            }
            Action::Wait(d) => {
                debug!(delay_ms = d.as_millis() as u64, "waiting");
                tokio::select! {
                    _ = tokio::time::sleep(d) => Some(self.feed(Event::Timer, &mut || {})),
                    _ = inner.nudge.notified() => Some(self.feed(Event::Nudge, &mut || {})),
                    _ = self.ctl.changed() => Some(self.feed_ctl(action)),
                    _ = inner.stop.cancelled() => None,
                }
            }
            Action::Probe => {
                let endpoint = inner.endpoint();
                let checked = self.race(transport::reachable(&endpoint, &inner.cfg.transport)).await?;
                match checked {
                    Ok(r) => {
                        // A terminal refusal is reported by the real attempt that follows.
                        let ok = r.as_ref().map_or_else(|e| e.is_terminal(), |_| true);
                        debug!(reachable = ok, "reachability check");
                        Some(self.feed(Event::Reachable(ok), &mut || {}))
                    }
                    Err(a) => Some(a),
                }
            }
            Action::Connect { device_retry, bootstrap } => self.connect(device_retry, bootstrap).await,
        }
    }

    async fn connect(&mut self, device_retry: bool, bootstrap: bool) -> Option<Action> {
        let inner = self.inner.clone();
        let stored = match inner.store.load_token(&self.key) {
            Ok(t) => t,
            Err(e) => return Some(self.feed(Event::StoreFailed(e.to_string()), &mut || {})),
        };
        let boot = inner.cfg.credentials.bootstrap_token.as_ref().filter(|_| bootstrap);
        let attempt = select_auth(&inner.cfg.credentials, stored.as_ref(), device_retry, boot);
        let total = inner.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        debug!(total, "connecting");
        inner.notice(NodeNotice::ConnectAttempt { total });
        let req = ConnectRequest {
            client: inner.cfg.client.client_info(),
            caps: inner.router.registry().caps(),
            commands: inner.router.registry().commands(),
            permissions: inner.cfg.permissions.clone(),
            path_env: inner.cfg.path_env.clone(),
            auth: attempt.auth.clone(),
        };
        let result = match self.race(connect_once(&inner, &req)).await? {
            Ok(r) => r,
            Err(a) => return Some(a),
        };
        match result {
            Ok((ws, hello)) => {
                let used_bootstrap = attempt.used_bootstrap;
                let key = self.key.clone();
                let mut persist = || persist_tokens(&inner, &key, stored.as_ref(), &attempt, &hello);
                let a = self.feed(Event::Connected { used_bootstrap }, &mut persist);
                inner.remember_pin();
                if a != Action::Continue {
                    return Some(a);
                }
                let end = run_connected(&inner, ws, hello).await;
                if inner.stop.is_cancelled() || end.kind == SessionEndKind::Stopped && !inner.ctl.borrow().interrupts()
                {
                    return None;
                }
                let outcome = outcome(&end);
                info!(reason = %outcome.reason, "session ended");
                inner.notice(NodeNotice::Disconnected { reason: outcome.reason.clone() });
                self.feed_ctl(Action::Continue);
                Some(self.feed(Event::SessionEnded(outcome), &mut || {}))
            }
            Err(e) => {
                match &e {
                    HandshakeError::Rejected(s) => {
                        warn!(code = %s.code, detail = ?s.detail_code(), message = %s.message, "connect rejected")
                    }
                    other => warn!(error = %other, "connect failed"),
                }
                let failure = ConnectFailure {
                    kind: FailureKind::of(e),
                    sent_device_token: attempt.sent_device_token.clone(),
                    sent_shared: attempt.auth.token.is_some() || attempt.auth.password.is_some(),
                    had_stored: stored.is_some(),
                    device_retry_trusted: inner.trusted_for_device_retry(),
                };
                Some(self.feed(Event::ConnectFailed(failure), &mut || {}))
            }
        }
    }
}

/// What the policy needs to know of a session's end.
fn outcome(end: &SessionEnd) -> SessionOutcome {
    let shape = match &end.kind {
        SessionEndKind::Closed { code, .. } => EndShape::Closed(*code),
        SessionEndKind::TickTimeout => EndShape::TickTimeout,
        SessionEndKind::SocketError(_) | SessionEndKind::Stopped => EndShape::SocketError,
    };
    SessionOutcome {
        end: shape,
        restart_expected: end.shutdown.as_ref().and_then(|s| s.restart_expected_ms).map(Duration::from_millis),
        reason: describe_end(end),
    }
}

/// With setup-code candidates: the first that answers, tried in order
/// ([`setup_code::choose_among`]: the rule the CLI applies too), each with its stored pin.
/// When none answers, the configured (primary) endpoint stays and the policy's own retry
/// and pause rules apply to it.
async fn choose_start_endpoint(inner: &Inner) {
    let mut candidates = vec![inner.endpoint()];
    for e in &inner.cfg.endpoint_candidates {
        candidates.push(super::with_stored_pin(e.clone(), inner.cfg.pins.as_deref()).unwrap_or_else(|_| e.clone()));
    }
    match setup_code::choose_among(&candidates, &inner.cfg.transport).await {
        Ok(choice) if choice.reached => {
            info!(endpoint = %choice.endpoint, skipped = choice.failures.len(), "setup-code endpoint chosen");
            if let Ok(mut e) = inner.endpoint_now.lock() {
                *e = choice.endpoint;
            }
        }
        Ok(_) => info!("no setup-code endpoint answered; retrying the primary"),
        Err(e) => warn!(error = %e, "setup-code endpoints refused; the primary's attempt reports why"),
    }
}

/// The node's task: until stopped.
pub(super) async fn supervise(inner: Arc<Inner>) {
    if !inner.cfg.endpoint_candidates.is_empty() {
        inner.set_state(NodeState::Connecting { attempt: 1 });
        tokio::select! {
            _ = choose_start_endpoint(&inner) => {}
            _ = inner.stop.cancelled() => {
                inner.set_state(NodeState::Stopped);
                return;
            }
        }
    }
    let ctl = inner.ctl.subscribe();
    let mut d = Driver {
        policy: Policy::new(policy_config(&inner.cfg), inner.rng.clone()),
        key: inner.token_key(),
        seen: Control::default(),
        ctl,
        inner: inner.clone(),
    };
    d.feed_ctl(Action::Hold);
    let mut action = d.feed(Event::Start, &mut || {});
    while let Some(next) = d.perform(action).await {
        action = next;
    }
    inner.set_state(NodeState::Stopped);
}

async fn connect_once(inner: &Inner, req: &ConnectRequest) -> Result<(transport::WsStream, HelloOk), HandshakeError> {
    let ws = transport::open(&inner.endpoint(), &inner.cfg.transport).await?;
    handshake(ws, &inner.identity, req, &inner.cfg.handshake).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::endpoint::Endpoint;
    use crate::node::ClientDescriptor;

    fn cfg(url: &str) -> NodeConfig {
        NodeConfig::new(Endpoint::parse(url).unwrap(), ClientDescriptor::linux_node_host("0"))
    }

    #[test]
    fn reachability_cadence_by_target_and_profile() {
        assert_eq!(policy_config(&cfg("ws://127.0.0.1:18789")).probe_interval, Duration::from_millis(200));
        assert_eq!(policy_config(&cfg("wss://gw.example.com")).probe_interval, Duration::from_secs(1));
        let mut tunnel = cfg("ws://gw.example.com:18789");
        tunnel.transport.unix_socket = Some("/run/t/gateway.sock".into());
        assert_eq!(policy_config(&tunnel).probe_interval, Duration::from_millis(200));
        let mut proxied = cfg("ws://127.0.0.1:18789");
        proxied.transport.proxy = Some(crate::transport::Proxy::parse("http://127.0.0.1:3128").unwrap());
        assert_eq!(policy_config(&proxied).probe_interval, Duration::from_secs(1));
        let battery = cfg("ws://127.0.0.1:18789").with_battery_profile();
        let p = policy_config(&battery);
        assert_eq!((p.probe_interval, p.handshakes_per_minute), (Duration::from_secs(5), 6));
    }

    #[test]
    fn control_changes_become_policy_events_in_order() {
        let a = Control::default();
        let b = Control { pause: Some("x".into()), resume_gen: 1, pin_gen: 1, suspended: true, foreground_gen: 1 };
        let names: Vec<String> = a.events_to(&b).iter().map(|e| format!("{e:?}")).collect();
        assert_eq!(names, ["TrustPin", "Resume", "Pause(\"x\")", "Foreground", "Suspend"]);
        assert!(b.events_to(&b).is_empty());
    }
}
