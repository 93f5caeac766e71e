//! Table tests of the connection policy (pure `Instant` arithmetic, no runtime) and a
//! property test over random event sequences.

use super::*;
use crate::backoff::BackoffConfig;
use crate::clock::SeededRandom;
use crate::endpoint::TlsPin;
use crate::secret::Secret;
use crate::session::HandshakeError;
use crate::transport::PinMismatch;
use crate::transport::TransportError;
use serde_json::{Value, json};

fn cfg() -> PolicyConfig {
    PolicyConfig {
        backoff: BackoffConfig::default(),
        handshakes_per_minute: 10,
        stable_session: Duration::from_secs(10),
        probe_interval: Duration::from_millis(200),
        has_shared_secret: false,
        has_bootstrap: false,
    }
}

fn policy(cfg: PolicyConfig) -> Policy {
    Policy::new(cfg, Arc::new(SeededRandom::new(7)))
}

fn connect() -> Action {
    Action::Connect { device_retry: false, bootstrap: false }
}

fn failure(kind: FailureKind) -> Event {
    Event::ConnectFailed(ConnectFailure {
        kind,
        sent_device_token: None,
        sent_shared: false,
        had_stored: false,
        device_retry_trusted: true,
    })
}

fn rejected(code: &str, details: Value) -> Event {
    let shape: ErrorShape = serde_json::from_value(json!({"code": code, "message": "m", "details": details})).unwrap();
    failure(FailureKind::Rejected(shape))
}

fn detail(code: &str) -> Event {
    rejected("INVALID_REQUEST", json!({"code": code}))
}

fn ended(end: EndShape, restart_ms: Option<u64>) -> Event {
    Event::SessionEnded(SessionOutcome {
        end,
        restart_expected: restart_ms.map(Duration::from_millis),
        reason: "ended".into(),
    })
}

fn paused_kind(step: &Step) -> Option<PauseKind> {
    step.effects.iter().find_map(|e| match e {
        Effect::State(NodeState::Paused(r)) => Some(r.kind.clone()),
        _ => None,
    })
}

/// A started policy whose first handshake is in flight.
fn started(c: PolicyConfig) -> (Policy, Instant) {
    let mut p = policy(c);
    let t = Instant::now();
    assert_eq!(p.handle(t, Event::Start).action, connect());
    (p, t)
}

#[derive(Debug, PartialEq)]
enum Expect {
    Pause(PauseKind),
    Retry,
    AwaitApproval,
}

/// Every `details.code` of protocol.md §2.8 (`ConnectErrorDetailCodes`), as the node gets
/// it on a node connect (top-level code as the Gateway sends it), and the decision.
#[test]
fn every_connect_error_detail_code() {
    use Expect::*;
    let table: &[(&str, &str, Expect)] = &[
        ("INVALID_REQUEST", "AUTH_REQUIRED", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_UNAUTHORIZED", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_TOKEN_MISSING", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_TOKEN_MISMATCH", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_TOKEN_NOT_CONFIGURED", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_PASSWORD_MISSING", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_PASSWORD_MISMATCH", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_PASSWORD_NOT_CONFIGURED", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_BOOTSTRAP_TOKEN_INVALID", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_DEVICE_TOKEN_MISMATCH", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_SCOPE_MISMATCH", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_RATE_LIMITED", Retry),
        ("INVALID_REQUEST", "AUTH_TAILSCALE_IDENTITY_MISSING", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_TAILSCALE_PROXY_MISSING", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_TAILSCALE_WHOIS_FAILED", Retry),
        ("INVALID_REQUEST", "AUTH_TAILSCALE_IDENTITY_MISMATCH", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_IDENTITY_HEADER_REQUIRED", Pause(PauseKind::Auth)),
        ("INVALID_REQUEST", "AUTH_VERIFIED_USER_REQUIRED", Pause(PauseKind::Auth)),
        ("UNAVAILABLE", "AUTHENTICATED_PROFILE_UNAVAILABLE", Retry),
        ("INVALID_REQUEST", "CONTROL_UI_BUILD_MISMATCH", Retry),
        ("INVALID_REQUEST", "CONTROL_UI_ORIGIN_NOT_ALLOWED", Retry),
        ("INVALID_REQUEST", "PROTOCOL_MISMATCH", Pause(PauseKind::Incompatible)),
        ("INVALID_REQUEST", "CONTROL_UI_DEVICE_IDENTITY_REQUIRED", Retry),
        ("NOT_PAIRED", "DEVICE_IDENTITY_REQUIRED", Pause(PauseKind::Identity)),
        ("INVALID_REQUEST", "DEVICE_AUTH_INVALID", Pause(PauseKind::Identity)),
        ("INVALID_REQUEST", "DEVICE_AUTH_DEVICE_ID_MISMATCH", Pause(PauseKind::Identity)),
        ("INVALID_REQUEST", "DEVICE_AUTH_SIGNATURE_EXPIRED", Pause(PauseKind::Identity)),
        ("INVALID_REQUEST", "DEVICE_AUTH_NONCE_REQUIRED", Pause(PauseKind::Identity)),
        ("INVALID_REQUEST", "DEVICE_AUTH_NONCE_MISMATCH", Pause(PauseKind::Identity)),
        ("INVALID_REQUEST", "DEVICE_AUTH_SIGNATURE_INVALID", Pause(PauseKind::Identity)),
        ("INVALID_REQUEST", "DEVICE_AUTH_PUBLIC_KEY_INVALID", Pause(PauseKind::Identity)),
        ("NOT_PAIRED", "PAIRING_REQUIRED", AwaitApproval),
        ("INVALID_REQUEST", "CLIENT_VERSION_MISMATCH", Pause(PauseKind::Incompatible)),
        // No details.code: invalid connect params pause; a Gateway starting retries.
        ("INVALID_REQUEST", "", Pause(PauseKind::Incompatible)),
        ("UNAVAILABLE", "", Retry),
        ("SOMETHING_NEW", "", Retry),
    ];
    for (top, code, expect) in table {
        let (mut p, t) = started(cfg());
        let details = if code.is_empty() { json!({}) } else { json!({"code": code}) };
        let step = p.handle(t, rejected(top, details));
        let got = match (&step.action, paused_kind(&step)) {
            (Action::Hold, Some(k)) => Pause(k),
            (Action::Wait(_), None)
                if step
                    .effects
                    .iter()
                    .any(|e| matches!(e, Effect::State(NodeState::AwaitingDeviceApproval { .. }))) =>
            {
                AwaitApproval
            }
            (Action::Wait(d), None) if !d.is_zero() => Retry,
            other => panic!("{code}: unexpected {other:?}"),
        };
        assert_eq!(&got, expect, "{top}/{code}");
        // A pause holds against timers and nudges: no handshake until resumed.
        if matches!(expect, Pause(_)) {
            assert_eq!(p.handle(t + Duration::from_secs(3600), Event::Timer).action, Action::Hold, "{code}");
            assert_eq!(p.handle(t + Duration::from_secs(3601), Event::Nudge).action, Action::Hold, "{code}");
            assert_eq!(p.handle(t + Duration::from_secs(3602), Event::Resume).action, connect(), "{code}");
        }
    }
}

#[test]
fn retry_after_hints_are_honoured_and_clamped() {
    let (mut p, t) = started(cfg());
    let s = p.handle(t, rejected("UNAVAILABLE", json!({"reason": "startup-sidecars"})));
    assert_eq!(s.action, Action::Wait(Duration::from_secs(1)), "no hint: the backoff");
    let cases = [(200, 200), (10, 100), (600_000, 30_000)];
    for (hint, want) in cases {
        let (mut p, t) = started(cfg());
        let shape: ErrorShape =
            serde_json::from_value(json!({"code": "UNAVAILABLE", "message": "gateway starting", "retryAfterMs": hint}))
                .unwrap();
        let s = p.handle(t, failure(FailureKind::Rejected(shape)));
        assert_eq!(s.action, Action::Wait(Duration::from_millis(want)), "UNAVAILABLE retryAfterMs {hint}");
    }
    let (mut p, t) = started(cfg());
    let s = p.handle(t, rejected("INVALID_REQUEST", json!({"code": "AUTH_RATE_LIMITED", "retryAfterMs": 10})));
    assert_eq!(s.action, Action::Wait(Duration::from_secs(1)), "rate limited: at least 1 s");
}

/// Every close code of protocol.md §2.8/§3.4 (and the node's own ends): a restart or close
/// watches the port from one check interval on, without growing the backoff; auth and
/// protocol closes grow it.
#[test]
fn every_close_code() {
    let restart_like = [
        EndShape::Closed(Some(1000)),
        EndShape::Closed(Some(1001)),
        EndShape::Closed(Some(1005)),
        EndShape::Closed(Some(1006)),
        EndShape::Closed(Some(1011)),
        EndShape::Closed(Some(1012)),
        EndShape::Closed(Some(1013)),
        EndShape::Closed(Some(1014)),
        EndShape::Closed(None),
        EndShape::TickTimeout,
        EndShape::SocketError,
    ];
    let growing = [1002, 1003, 1007, 1008, 1009, 1010, 4000, 4001, 4999].map(|c| EndShape::Closed(Some(c)));
    for (end, grows) in restart_like.iter().map(|e| (*e, false)).chain(growing.iter().map(|e| (*e, true))) {
        let (mut p, mut t) = started(cfg());
        // Three failed handshakes: the backoff stands at 8 s.
        for want in [1, 2, 4] {
            let s = p.handle(t, failure(FailureKind::Transient("reset".into())));
            assert_eq!(s.action, Action::Wait(Duration::from_secs(want)));
            t += Duration::from_secs(want);
            assert_eq!(p.handle(t, Event::Timer).action, connect());
        }
        assert_eq!(p.handle(t, Event::Connected { used_bootstrap: false }).action, Action::Continue);
        // A short session: the backoff is restored, not reset.
        t += Duration::from_secs(2);
        let s = p.handle(t, ended(end, None));
        let want = if grows { Duration::from_secs(8) } else { Duration::from_millis(200) };
        assert_eq!(s.action, Action::Wait(want), "{end:?}");
        assert_eq!(end.is_restart_or_close(), !grows);
        let next = p.handle(t + want, Event::Timer).action;
        assert_eq!(next, if grows { connect() } else { Action::Probe }, "{end:?}");
    }
}

#[test]
fn restart_expected_ms_is_honoured_and_clamped() {
    for (hint, want) in [(300, 300), (0, 250), (3_600_000, 30_000)] {
        let (mut p, t) = started(cfg());
        p.handle(t, Event::Connected { used_bootstrap: false });
        let s = p.handle(t + Duration::from_secs(60), ended(EndShape::Closed(Some(1012)), Some(hint)));
        assert_eq!(s.action, Action::Wait(Duration::from_millis(want)), "restartExpectedMs {hint}");
    }
}

#[test]
fn gateway_down_is_watched_by_reachability_checks_not_handshakes() {
    let (mut p, mut t) = started(cfg());
    let s = p.handle(t, failure(FailureKind::Unreachable("connection refused".into())));
    assert_eq!(s.action, Action::Wait(Duration::from_millis(200)));
    // Ten minutes of a refusing port: only checks, one per 200 ms, no handshake.
    for _ in 0..3000 {
        t += Duration::from_millis(200);
        assert_eq!(p.handle(t, Event::Timer).action, Action::Probe);
        assert_eq!(p.handle(t, Event::Reachable(false)).action, Action::Wait(Duration::from_millis(200)));
    }
    assert_eq!(p.handshakes(), 1);
    t += Duration::from_millis(200);
    assert_eq!(p.handle(t, Event::Timer).action, Action::Probe);
    assert_eq!(p.handle(t, Event::Reachable(true)).action, connect(), "the handshake follows the first accept");
    assert_eq!(p.handshakes(), 2);
    // The return to the foreground, or a nudge, cuts the check interval short.
    let s = p.handle(t, failure(FailureKind::Unreachable("refused".into())));
    assert_eq!(s.action, Action::Wait(Duration::from_millis(200)));
    assert_eq!(p.handle(t, Event::Foreground).action, Action::Probe);
    assert_eq!(p.handle(t, Event::Foreground).action, Action::Continue, "a check in flight continues");
    assert_eq!(p.handle(t, Event::Reachable(false)).action, Action::Wait(Duration::from_millis(200)));
    assert_eq!(p.handle(t, Event::Nudge).action, Action::Probe);
}

#[test]
fn a_crash_after_a_recovery_is_back_within_a_check_interval() {
    // The case of the issue: backoff grown, a short session, then the Gateway crashes.
    let (mut p, mut t) = started(cfg());
    for _ in 0..4 {
        let s = p.handle(t, failure(FailureKind::Transient("upgrade failed".into())));
        let Action::Wait(d) = s.action else { panic!("{s:?}") };
        t += d;
        assert_eq!(p.handle(t, Event::Timer).action, connect());
    }
    p.handle(t, Event::Connected { used_bootstrap: false });
    t += Duration::from_secs(3);
    let handshakes = p.handshakes();
    assert_eq!(p.handle(t, ended(EndShape::Closed(None), None)).action, Action::Wait(Duration::from_millis(200)));
    // Checks while the port refuses: no handshake is spent on a refusing port.
    for _ in 0..10 {
        t += Duration::from_millis(200);
        assert_eq!(p.handle(t, Event::Timer).action, Action::Probe);
        assert_eq!(p.handle(t, Event::Reachable(false)).action, Action::Wait(Duration::from_millis(200)));
    }
    t += Duration::from_millis(200);
    assert_eq!(p.handle(t, Event::Timer).action, Action::Probe);
    assert_eq!(p.handle(t, Event::Reachable(true)).action, connect());
    assert_eq!(p.handshakes(), handshakes + 1, "one handshake for the whole outage");
}

/// The sequence behind the slow recoveries of issue 13 (bench-recovery, max 1.8 s): the new
/// Gateway's port accepts before the Gateway logs ready; the first handshake there is dropped
/// (the WebSocket is accepted, then closed before hello: the Gateway is still starting), and
/// a session it did accept is closed again right away (1013). Before, each such drop cost a
/// backoff step (1 s, then 2 s) although the Gateway was back a moment later. Now each goes
/// back to the reachability checks: the node is back one check interval after the Gateway
/// is, and a fourth drop in a row backs off as before.
#[test]
fn a_gateway_still_starting_costs_a_check_interval_not_a_backoff_step() {
    let (mut p, mut t) = started(cfg());
    p.handle(t, Event::Connected { used_bootstrap: false });
    t += Duration::from_secs(60);
    // SIGTERM restart without restartExpectedMs: 1012.
    assert_eq!(p.handle(t, ended(EndShape::Closed(Some(1012)), None)).action, Action::Wait(Duration::from_millis(200)));
    t += Duration::from_millis(200);
    assert_eq!(p.handle(t, Event::Timer).action, Action::Probe);
    // The new process listens early; the first handshake is dropped before hello.
    let accepted = t;
    assert_eq!(p.handle(t, Event::Reachable(true)).action, connect());
    let s = p.handle(t, failure(FailureKind::Transient("connection closed before hello".into())));
    assert_eq!(s.action, Action::Wait(Duration::from_millis(200)), "a check interval, not the 1 s backoff step");
    t += Duration::from_millis(200);
    assert_eq!(p.handle(t, Event::Timer).action, Action::Probe);
    assert_eq!(p.handle(t, Event::Reachable(true)).action, connect());
    // Hello, then the starting Gateway closes the early session (1013).
    p.handle(t, Event::Connected { used_bootstrap: false });
    t += Duration::from_millis(300);
    assert_eq!(p.handle(t, ended(EndShape::Closed(Some(1013)), None)).action, Action::Wait(Duration::from_millis(200)));
    t += Duration::from_millis(200);
    assert_eq!(p.handle(t, Event::Timer).action, Action::Probe);
    assert_eq!(p.handle(t, Event::Reachable(true)).action, connect());
    p.handle(t, Event::Connected { used_bootstrap: false });
    // From the first accept: two check intervals and the 300 ms session (was ≥ 1 s + 2 s).
    assert_eq!(t - accepted, Duration::from_millis(700));
    // A Gateway that keeps dropping handshakes after a restart: 3 quick retries, then the
    // backoff (1 s, 2 s, …) as for any transient failure.
    t += Duration::from_secs(60);
    p.handle(t, ended(EndShape::Closed(Some(1012)), None));
    let mut waits = Vec::new();
    for _ in 0..5 {
        let mut a = p.handle(t, Event::Timer).action;
        while let Action::Wait(d) = a {
            t += d;
            a = p.handle(t, Event::Timer).action;
        }
        if a == Action::Probe {
            a = p.handle(t, Event::Reachable(true)).action;
        }
        assert_eq!(a, connect());
        let Action::Wait(d) = p.handle(t, failure(FailureKind::Transient("reset".into()))).action else { panic!() };
        waits.push(d);
    }
    assert_eq!(waits, [200, 200, 200, 1000, 2000].map(Duration::from_millis));
}

/// Connect times of a policy driven for `span` by a Gateway that accepts and closes every
/// session at once (1012, `restartExpectedMs: 0`) while the app nudges every 20 ms.
fn flapping(c: PolicyConfig, span: Duration) -> Vec<Instant> {
    let (mut p, t0) = started(c);
    let mut t = t0;
    let mut starts = vec![t0];
    let first = p.handle(t, Event::Connected { used_bootstrap: false });
    assert_eq!(first.action, Action::Continue);
    let mut action = p.handle(t, ended(EndShape::Closed(Some(1012)), Some(0))).action;
    while t < t0 + span {
        action = match action {
            Action::Wait(d) => {
                let nudge_at = t + Duration::from_millis(20);
                if d > Duration::from_millis(20) {
                    t = nudge_at;
                    p.handle(t, Event::Nudge).action
                } else {
                    t += d;
                    p.handle(t, Event::Timer).action
                }
            }
            Action::Connect { .. } => {
                starts.push(t);
                p.handle(t, Event::Connected { used_bootstrap: false });
                p.handle(t, ended(EndShape::Closed(Some(1012)), Some(0))).action
            }
            // The flapping Gateway's port always accepts.
            Action::Probe => p.handle(t, Event::Reachable(true)).action,
            other => panic!("{other:?}"),
        };
    }
    starts
}

fn max_in_any_minute(starts: &[Instant]) -> usize {
    (0..starts.len())
        .map(|i| starts[i..].iter().take_while(|x| x.duration_since(starts[i]) < Duration::from_secs(60)).count())
        .max()
        .unwrap_or(0)
}

#[test]
fn handshake_budget_holds_under_a_flapping_gateway_and_nudges() {
    let starts = flapping(cfg(), Duration::from_secs(600));
    assert_eq!(max_in_any_minute(&starts), 10);
    assert!(starts.len() >= 95 && starts.len() <= 110, "{}", starts.len());
}

#[test]
fn battery_profile_budget_and_schedule() {
    let c = PolicyConfig { backoff: BackoffConfig::battery(), handshakes_per_minute: 6, ..cfg() };
    assert_eq!(max_in_any_minute(&flapping(c.clone(), Duration::from_secs(600))), 6);
    // Transient failures: jittered delays within [1 s, 5 min].
    let (mut p, mut t) = started(c);
    for _ in 0..30 {
        let Action::Wait(d) = p.handle(t, failure(FailureKind::Transient("x".into()))).action else { panic!() };
        assert!(d >= Duration::from_secs(1) && d <= Duration::from_secs(300), "{d:?}");
        let mut a = Action::Wait(d);
        while let Action::Wait(d) = a {
            t += d;
            a = p.handle(t, Event::Timer).action;
        }
        assert_eq!(a, connect());
    }
}

#[test]
fn pairing_required_retries_on_a_steady_cadence_within_the_budget() {
    let (mut p, t0) = started(cfg());
    let mut t = t0;
    let mut starts = vec![t0];
    let mut gaps = Vec::new();
    while t < t0 + Duration::from_secs(300) {
        let mut a = p.handle(t, rejected("NOT_PAIRED", json!({"code": "PAIRING_REQUIRED", "requestId": "r1"}))).action;
        let before = t;
        while let Action::Wait(d) = a {
            t += d;
            a = p.handle(t, Event::Timer).action;
        }
        assert_eq!(a, connect());
        gaps.push(t - before);
        starts.push(t);
    }
    // Steady from the first retry: every gap is the cadence, none longer (an approval is
    // seen within 6 s), none shorter (10 handshakes in any minute).
    assert!(gaps.iter().all(|g| *g == Duration::from_secs(6)), "steady cadence: {gaps:?}");
    assert!(max_in_any_minute(&starts) <= 10);
    // The battery budget spreads to one every 10 s.
    assert_eq!(PolicyConfig { handshakes_per_minute: 6, ..cfg() }.pairing_cadence(), Duration::from_secs(10));
}

#[test]
fn suspend_and_resume() {
    let (mut p, t) = started(cfg());
    p.handle(t, failure(FailureKind::Transient("x".into())));
    let s = p.handle(t, Event::Suspend);
    assert_eq!(s.action, Action::Hold);
    assert!(s.effects.contains(&Effect::State(NodeState::Suspended)));
    for ev in [Event::Timer, Event::Nudge, Event::Foreground, Event::Resume, Event::TrustPin, Event::Reachable(true)] {
        assert_eq!(p.handle(t + Duration::from_secs(90), ev).action, Action::Hold);
    }
    assert_eq!(p.handle(t + Duration::from_secs(91), Event::Unsuspend).action, connect(), "at once");
    assert!(matches!(p.handle(t, Event::Connected { used_bootstrap: false }).action, Action::Continue));
    // Suspended while connected: the session closes itself; its end holds.
    assert_eq!(p.handle(t, Event::Suspend).action, Action::Continue);
    assert_eq!(p.handle(t, ended(EndShape::Closed(Some(1000)), None)).action, Action::Hold);
    // A requested pause wins over a suspension and outlives it.
    assert_eq!(p.handle(t, Event::Pause("user".into())).action, Action::Hold);
    assert_eq!(p.handle(t, Event::Unsuspend).action, Action::Hold);
    assert_eq!(p.handle(t, Event::Resume).action, connect());
}

#[test]
fn pin_mismatch_holds_until_trust_pin() {
    let (mut p, t) = started(cfg());
    let pin = TlsPin::parse(&"ab".repeat(32)).unwrap();
    let other = TlsPin::parse(&"cd".repeat(32)).unwrap();
    let m = PinMismatch { expected: pin, observed: other, system_trusted: false };
    let kind = FailureKind::of(HandshakeError::Transport(TransportError::PinMismatch(m)));
    let s = p.handle(t, failure(kind));
    assert!(matches!(paused_kind(&s), Some(PauseKind::PinMismatch(_))));
    assert_eq!(p.handle(t, Event::Resume).action, Action::Hold, "resume alone offers nothing to that origin");
    assert_eq!(p.handle(t, Event::TrustPin).action, Action::Hold);
    assert_eq!(p.handle(t, Event::Resume).action, connect());
}

#[test]
fn proxy_refusals_pause_as_proxy_and_an_unreachable_proxy_is_retried() {
    let proxy = "http://127.0.0.1:3128".to_string();
    for e in [
        TransportError::ProxyAuth { proxy: proxy.clone(), offered: true },
        TransportError::ProxyRefused { proxy: proxy.clone(), reason: "HTTP 403 Forbidden".into() },
    ] {
        match FailureKind::of(HandshakeError::Transport(e)) {
            FailureKind::Terminal(r) => {
                assert_eq!(
                    (r.kind.clone(), r.remediation_kind()),
                    (PauseKind::Proxy, crate::node::Remediation::FixProxy),
                    "{r:?}"
                )
            }
            other => panic!("{other:?}"),
        }
    }
    let e = TransportError::ProxyConnect { proxy, message: "connection refused".into() };
    assert!(matches!(FailureKind::of(HandshakeError::Transport(e)), FailureKind::Unreachable(_)));
}

#[test]
fn device_token_mismatch_deletes_only_the_rejected_token() {
    let c = PolicyConfig { has_shared_secret: true, ..cfg() };
    let (mut p, t) = started(c);
    let sent: Secret = "dev-1".into();
    let s = p.handle(
        t,
        Event::ConnectFailed(ConnectFailure {
            kind: match detail("AUTH_DEVICE_TOKEN_MISMATCH") {
                Event::ConnectFailed(f) => f.kind,
                _ => unreachable!(),
            },
            sent_device_token: Some(sent.clone()),
            sent_shared: false,
            had_stored: true,
            device_retry_trusted: true,
        }),
    );
    assert_eq!(s.effects.first(), Some(&Effect::DeleteTokenIfEqual(sent)));
    assert!(matches!(s.action, Action::Wait(_)), "retries with the shared token");
    // Nothing sent: nothing deleted.
    let (mut p, t) = started(cfg());
    let s = p.handle(t, detail("AUTH_DEVICE_TOKEN_MISMATCH"));
    assert!(!s.effects.iter().any(|e| matches!(e, Effect::DeleteTokenIfEqual(_))));
}

#[test]
fn one_shot_device_token_retry() {
    let (mut p, t) = started(cfg());
    let mismatch = || {
        Event::ConnectFailed(ConnectFailure {
            kind: match rejected(
                "INVALID_REQUEST",
                json!({"code": "AUTH_TOKEN_MISMATCH", "canRetryWithDeviceToken": true}),
            ) {
                Event::ConnectFailed(f) => f.kind,
                _ => unreachable!(),
            },
            sent_device_token: None,
            sent_shared: true,
            had_stored: true,
            device_retry_trusted: true,
        })
    };
    assert_eq!(p.handle(t, mismatch()).action, Action::Wait(Duration::from_millis(250)));
    let t = t + Duration::from_millis(250);
    assert_eq!(p.handle(t, Event::Timer).action, Action::Connect { device_retry: true, bootstrap: false });
    assert_eq!(paused_kind(&p.handle(t, mismatch())), Some(PauseKind::Auth), "once only");
}

#[test]
fn bootstrap_is_offered_until_used_or_refused() {
    let c = PolicyConfig { has_bootstrap: true, ..cfg() };
    let mut p = policy(c.clone());
    let t = Instant::now();
    assert_eq!(p.handle(t, Event::Start).action, Action::Connect { device_retry: false, bootstrap: true });
    p.handle(t, Event::Connected { used_bootstrap: true });
    p.handle(t, ended(EndShape::Closed(Some(1012)), Some(300)));
    assert_eq!(p.handle(t + Duration::from_secs(1), Event::Timer).action, Action::Probe);
    assert_eq!(
        p.handle(t + Duration::from_secs(1), Event::Reachable(true)).action,
        connect(),
        "forgotten after its hello"
    );
    let mut p = policy(c);
    p.handle(t, Event::Start);
    p.handle(t, detail("AUTH_BOOTSTRAP_TOKEN_INVALID"));
    assert_eq!(p.handle(t, Event::Resume).action, connect(), "forgotten after its refusal");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Gen {
        Timer,
        Nudge,
        Foreground,
        Suspend,
        Unsuspend,
        Pause,
        Resume,
        TrustPin,
        Reachable(bool),
        StoreFailed,
        Connected,
        Fail(u8),
        Ended(u8, Option<u16>),
    }

    fn events_gen() -> impl Strategy<Value = (u16, Gen)> {
        let g = prop_oneof![
            4 => Just(Gen::Timer),
            2 => Just(Gen::Nudge),
            1 => Just(Gen::Foreground),
            1 => Just(Gen::Suspend),
            1 => Just(Gen::Unsuspend),
            1 => Just(Gen::Pause),
            2 => Just(Gen::Resume),
            1 => Just(Gen::TrustPin),
            2 => any::<bool>().prop_map(Gen::Reachable),
            1 => Just(Gen::StoreFailed),
            3 => Just(Gen::Connected),
            4 => (0u8..12).prop_map(Gen::Fail),
            2 => (0u8..6, proptest::option::of(0u16..2000)).prop_map(|(e, r)| Gen::Ended(e, r)),
        ];
        (0u16..3000, g)
    }

    fn failure_of(i: u8, sent: &Secret) -> ConnectFailure {
        let codes = [
            "PAIRING_REQUIRED",
            "AUTH_TOKEN_MISMATCH",
            "AUTH_DEVICE_TOKEN_MISMATCH",
            "AUTH_RATE_LIMITED",
            "AUTH_TOKEN_MISSING",
            "PROTOCOL_MISMATCH",
            "DEVICE_AUTH_INVALID",
        ];
        let kind = match i {
            0..=6 => match rejected(
                "INVALID_REQUEST",
                json!({"code": codes[i as usize], "canRetryWithDeviceToken": true, "retryAfterMs": 0}),
            ) {
                Event::ConnectFailed(f) => f.kind,
                _ => unreachable!(),
            },
            7 => FailureKind::Unreachable("refused".into()),
            8 => FailureKind::Transient("reset".into()),
            9 => {
                let pin = TlsPin::parse(&"ab".repeat(32)).unwrap();
                let observed = TlsPin::parse(&"cd".repeat(32)).unwrap();
                FailureKind::of(HandshakeError::Transport(TransportError::PinMismatch(PinMismatch {
                    expected: pin,
                    observed,
                    system_trusted: true,
                })))
            }
            10 => rejected("UNAVAILABLE", json!({})).into_kind(),
            _ => FailureKind::Terminal(PauseReason {
                kind: PauseKind::Configuration,
                code: None,
                message: "x".into(),
                remediation: "y".into(),
            }),
        };
        ConnectFailure {
            kind,
            sent_device_token: i.is_multiple_of(2).then(|| sent.clone()),
            sent_shared: i.is_multiple_of(3),
            had_stored: true,
            device_retry_trusted: i % 4 != 1,
        }
    }

    impl Event {
        fn into_kind(self) -> FailureKind {
            match self {
                Event::ConnectFailed(f) => f.kind,
                _ => unreachable!(),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        #[test]
        fn invariants_hold_for_any_event_sequence(
            budget in 1u32..12,
            events in proptest::collection::vec(events_gen(), 1..400),
        ) {
            let c = PolicyConfig { handshakes_per_minute: budget, has_shared_secret: true, has_bootstrap: true, ..cfg() };
            let mut p = policy(c);
            let mut t = Instant::now();
            let mut starts: Vec<Instant> = Vec::new();
            let (mut suspended, mut requested, mut pin_blocked, mut terminal) = (false, false, false, false);
            let mut stored: Option<Secret> = Some("stored".into());
            let mut action = p.handle(t, Event::Start).action;
            if matches!(action, Action::Connect { .. }) { starts.push(t); }
            for (step_no, (dt, g)) in events.into_iter().enumerate() {
                // The token the next attempt offers: the stored one (when any) or another.
                let sent: Secret = stored.clone().unwrap_or_else(|| format!("other-{step_no}").into());
                let ev = match g {
                    Gen::Timer => {
                        if let Action::Wait(d) = action { t += d; } else { t += Duration::from_millis(dt.into()); }
                        Event::Timer
                    }
                    other => {
                        t += Duration::from_millis(dt.into());
                        match other {
                            Gen::Nudge => Event::Nudge,
                            Gen::Foreground => Event::Foreground,
                            Gen::Suspend => { suspended = true; Event::Suspend }
                            Gen::Unsuspend => { suspended = false; Event::Unsuspend }
                            Gen::Pause => { requested = true; Event::Pause("app".into()) }
                            Gen::Resume => {
                                requested = false;
                                if !pin_blocked { terminal = false; }
                                Event::Resume
                            }
                            Gen::TrustPin => { pin_blocked = false; Event::TrustPin }
                            Gen::Reachable(ok) => Event::Reachable(ok),
                            Gen::StoreFailed => Event::StoreFailed("io".into()),
                            Gen::Connected => Event::Connected { used_bootstrap: false },
                            Gen::Fail(i) => Event::ConnectFailed(failure_of(i, &sent)),
                            Gen::Ended(e, restart) => ended(
                                [EndShape::Closed(Some(1012)), EndShape::Closed(None), EndShape::TickTimeout,
                                 EndShape::Closed(Some(4001)), EndShape::Closed(Some(1008)), EndShape::SocketError][e as usize],
                                restart.map(u64::from),
                            ),
                            Gen::Timer => unreachable!(),
                        }
                    }
                };
                let rejected_token = match &ev { Event::ConnectFailed(f) => f.sent_device_token.clone(), _ => None };
                let step = p.handle(t, ev);
                for e in &step.effects {
                    match e {
                        Effect::State(NodeState::Paused(r)) => match r.kind {
                            PauseKind::Requested => {}
                            PauseKind::PinMismatch(_) => { pin_blocked = true; terminal = true; }
                            _ => terminal = true,
                        },
                        Effect::DeleteTokenIfEqual(tok) => {
                            prop_assert_eq!(Some(tok), rejected_token.as_ref(), "only the rejected token is named");
                            if stored.as_ref() == Some(tok) { stored = None; }
                        }
                        _ => {}
                    }
                }
                if let Action::Connect { .. } = step.action {
                    prop_assert!(!suspended, "no handshake while suspended");
                    prop_assert!(!requested, "no handshake while paused by the app");
                    prop_assert!(!pin_blocked, "no credential to an origin whose pin mismatched until trust_pin");
                    prop_assert!(!terminal, "no handshake while paused until resumed");
                    starts.push(t);
                }
                action = step.action;
            }
            let n = max_in_any_minute(&starts);
            prop_assert!(n <= budget as usize, "{n} handshakes within 60 s (budget {budget})");
        }
    }
}
