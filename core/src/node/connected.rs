//! The connected loop: one live session from hello to its end — the readiness probe,
//! command-surface approval, host stats, and the app's interruptions.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{Instrument as _, debug, info, warn};

use super::driver::interrupted;
use super::pending::{spawn_flush, spawn_foreground_work};
use super::{Inner, NodeNotice, NodeState};
use crate::events::{NodeEvent, PresenceTrigger, send_node_event};
use crate::gateway_event::GatewayEvent;
use crate::protocol::{HelloOk, PairDecision};
use crate::session::{RequestError, Session, SessionEnd, SessionEndKind, SessionEvent, SessionHandle};
use crate::transport;

pub(super) fn describe_end(end: &SessionEnd) -> String {
    let base = match &end.kind {
        SessionEndKind::Closed { code, reason } => match code {
            Some(c) => format!("closed by gateway ({c} {reason})"),
            None => "connection closed".to_string(),
        },
        SessionEndKind::TickTimeout => "tick timeout".into(),
        SessionEndKind::SocketError(e) => format!("socket error: {e}"),
        SessionEndKind::Stopped => "stopped".into(),
    };
    match &end.shutdown {
        Some(s) => format!("{base}; gateway shutdown: {}", s.reason),
        None => base,
    }
}

enum Probe {
    Ready,
    AwaitingApproval,
    Closed,
}

async fn probe(inner: &Inner, handle: &SessionHandle) -> Probe {
    let event = match &inner.cfg.host_stats {
        Some(p) => NodeEvent::HostStats(p()),
        None => NodeEvent::PresenceAlive(inner.presence(PresenceTrigger::Connect)),
    };
    match send_node_event(handle, &event, Duration::from_secs(15)).await {
        Ok(r) => {
            if matches!(event, NodeEvent::PresenceAlive(_)) {
                inner.mark_presence();
            }
            debug!(event = event.name(), handled = ?r.handled, reason = ?r.reason, "readiness probe ok");
            Probe::Ready
        }
        Err(e) if e.detail_code().as_deref() == Some("PAIRING_CHANGED") => Probe::AwaitingApproval,
        Err(RequestError::Closed) => Probe::Closed,
        Err(e) => {
            warn!(error = %e, "readiness probe failed; treating the session as ready");
            Probe::Ready
        }
    }
}

/// The one transition to `Ready`: commands are live and the outbox flushes.
fn become_ready(inner: &Arc<Inner>, handle: &SessionHandle, ready: &NodeState) {
    inner.set_state(ready.clone());
    inner.ready.store(true, Ordering::SeqCst);
    spawn_flush(inner, handle);
}

/// Sends `node.host.stats` in the background (when the host supplies them).
fn spawn_host_stats(inner: &Inner, handle: &SessionHandle) {
    if let Some(p) = &inner.cfg.host_stats {
        let ev = NodeEvent::HostStats(p());
        let h = handle.clone();
        tokio::spawn(async move {
            if let Err(e) = send_node_event(&h, &ev, Duration::from_secs(15)).await {
                debug!(error = %e, "node.host.stats failed");
            }
        });
    }
}

/// How long the liveness check on the return to the foreground waits for the Gateway
/// (the iOS app's health monitor uses 5 s).
pub(super) const FOREGROUND_CHECK_TIMEOUT: Duration = Duration::from_secs(5);

/// Sends `health` (allowed for every role); no answer within
/// [`FOREGROUND_CHECK_TIMEOUT`] ends the session as dead, so the node reconnects at once
/// instead of waiting for the tick watchdog.
fn spawn_liveness_check(handle: &SessionHandle, stale: tokio_util::sync::CancellationToken) {
    let h = handle.clone();
    tokio::spawn(
        async move {
            match h.request(crate::protocol::names::HEALTH, serde_json::json!({}), FOREGROUND_CHECK_TIMEOUT).await {
                Err(RequestError::Timeout(_)) => stale.cancel(),
                Err(e) => debug!(error = %e, "foreground liveness check"),
                Ok(_) => debug!("foreground liveness check: the Gateway answered"),
            }
        }
        .in_current_span(),
    );
}

/// Runs one live session from hello to its end.
pub(super) async fn run_connected(inner: &Arc<Inner>, ws: transport::WsStream, hello: HelloOk) -> SessionEnd {
    let epoch = inner.epoch.fetch_add(1, Ordering::Relaxed) + 1;
    let node_id = inner.identity.device_id().to_string();
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let dispatch: Arc<dyn crate::session::InvokeDispatch> = Arc::new(inner.router.clone());
    let session = Session::start(ws, &hello, epoch, node_id.clone(), dispatch, ev_tx, inner.cfg.liveness.clone());
    let handle = session.handle().clone();
    if let Ok(mut c) = inner.current.lock() {
        *c = Some(handle.clone());
    }
    if let Ok(mut u) = inner.surface_urls.lock() {
        *u = crate::protocol::surface_urls(hello.plugin_surface_urls.as_ref());
    }
    if let Ok(mut s) = inner.session_stats.lock() {
        *s = Some(session.stats.clone());
    }
    info!(
        epoch,
        server = %hello.server.version,
        auth_method = ?hello.auth.method,
        tick_ms = hello.policy.tick_interval_ms,
        "connected"
    );
    inner.notice(NodeNotice::Connected {
        server_version: hello.server.version.clone(),
        auth_method: hello.auth.method.clone(),
        epoch,
    });
    let ready_state = NodeState::Ready {
        node_id: node_id.clone(),
        server_version: hello.server.version.clone(),
        auth_method: hello.auth.method.clone(),
    };
    let awaiting_state = NodeState::AwaitingCommandApproval { node_id: node_id.clone() };

    let mut awaiting = match probe(inner, &handle).await {
        Probe::Ready => {
            become_ready(inner, &handle, &ready_state);
            false
        }
        Probe::AwaitingApproval => {
            info!("device paired; command surface awaits operator approval");
            inner.set_state(awaiting_state.clone());
            true
        }
        Probe::Closed => false,
    };
    let mut approval_delay = Duration::from_secs(2);
    let approval_timer = tokio::time::sleep(approval_delay);
    tokio::pin!(approval_timer);
    let mut stats_timer = tokio::time::interval_at(
        tokio::time::Instant::now() + inner.cfg.host_stats_interval,
        inner.cfg.host_stats_interval,
    );
    stats_timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut stop_sent = false;
    let session_closed = handle.clone();
    let mut ctl_rx = inner.ctl.subscribe();
    if inner.foreground.load(Ordering::SeqCst) && inner.fg_work_due.swap(false, Ordering::SeqCst) {
        spawn_foreground_work(inner, &handle);
    }

    loop {
        tokio::select! {
            _ = session_closed.closed() => break,
            _ = interrupted(&mut ctl_rx), if !stop_sent => {
                info!("closing the session: suspended or paused by the app");
                stop_sent = true;
                session.stop();
            }
            _ = inner.fg_kick.notified() => {
                if inner.foreground.load(Ordering::SeqCst) {
                    // Back in the foreground: a socket that slept with the app may be dead
                    // while the tick watchdog has not noticed yet (transport.md §5.4).
                    spawn_liveness_check(&handle, session.stale_token());
                    if inner.fg_work_due.swap(false, Ordering::SeqCst) {
                        spawn_foreground_work(inner, &handle);
                    }
                }
            }
            _ = inner.flush_kick.notified() => {
                if !awaiting {
                    spawn_flush(inner, &handle);
                }
            }
            ev = ev_rx.recv() => match ev {
                None => break,
                Some(SessionEvent::PairResolved(p)) => {
                    if !p.node_id.is_empty() && p.node_id != node_id {
                        continue;
                    }
                    inner.notice(NodeNotice::PairResolved { decision: format!("{:?}", p.decision).to_lowercase() });
                    match p.decision {
                        PairDecision::Approved => {
                            info!("command surface approved");
                            awaiting = false;
                            become_ready(inner, &handle, &ready_state);
                            // The stats sent as the first probe were refused before approval.
                            spawn_host_stats(inner, &handle);
                        }
                        other => {
                            warn!(decision = ?other, "command surface not approved");
                            awaiting = true;
                            inner.ready.store(false, Ordering::SeqCst);
                            inner.set_state(awaiting_state.clone());
                        }
                    }
                }
                Some(SessionEvent::SeqGap { expected, received }) => {
                    warn!(expected, received, "event sequence gap");
                    inner.notice(NodeNotice::SeqGap { expected, received });
                }
                Some(SessionEvent::Other(name, payload)) => {
                    let event = GatewayEvent::parse(&name, payload);
                    debug!(event = %event, "gateway event");
                    inner.notice(NodeNotice::GatewayEvent { event });
                }
            },
            _ = &mut approval_timer, if awaiting => {
                match probe(inner, &handle).await {
                    Probe::Ready => {
                        awaiting = false;
                        become_ready(inner, &handle, &ready_state);
                    }
                    Probe::AwaitingApproval => {}
                    Probe::Closed => break,
                }
                approval_delay = (approval_delay * 2).min(inner.cfg.approval_retry_max);
                approval_timer.as_mut().reset(tokio::time::Instant::now() + approval_delay);
            }
            _ = stats_timer.tick(), if inner.cfg.host_stats.is_some() => spawn_host_stats(inner, &handle),
            _ = inner.stop.cancelled(), if !stop_sent => {
                stop_sent = true;
                session.stop();
            }
        }
    }
    inner.ready.store(false, Ordering::SeqCst);
    if let Ok(mut c) = inner.current.lock() {
        *c = None;
    }
    let end = session.wait().await;
    if inner.stop.is_cancelled() {
        return SessionEnd { kind: SessionEndKind::Stopped, shutdown: end.shutdown };
    }
    end
}
