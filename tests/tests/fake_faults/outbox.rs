//! The offline outbox: events queued while disconnected, flushed in order after hello.

use super::*;

// Expected (offline outbox): while disconnected, `notifications.changed` and `exec.finished`
// are queued (`reason:"queued"`), `node.host.stats` keeps only the newest, `agent.request`
// and `voice.transcript` fail fast with NotConnected; with room for 3 the oldest is dropped
// and counted. After hello and the readiness probe the queue is flushed in order: n2, stats
// #2, exec — then a live event goes out directly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outbox_queues_offline_and_flushes_in_order_after_hello() {
    use clawnode::events::{
        AgentRequest, ExecEvent, HostStats, NodeEvent, NotificationChange, NotificationsChanged, VoiceTranscript,
    };
    let Rig { mut fake, node, .. } = Rig::new(|cfg| {
        cfg.outbox.max_events = 3;
    })
    .await;
    let notif = |k: &str| {
        NodeEvent::NotificationsChanged(NotificationsChanged {
            change: NotificationChange::Posted,
            key: k.into(),
            session_key: None,
            package_name: None,
            title: None,
            text: None,
        })
    };
    let stats = |cpu: u32| {
        NodeEvent::HostStats(HostStats {
            cpu_count: cpu,
            load_average: None,
            memory_total_bytes: 8,
            memory_free_bytes: 4,
            disk_total_bytes: None,
            disk_available_bytes: None,
        })
    };
    let exec = NodeEvent::ExecFinished(ExecEvent {
        session_key: None,
        run_id: "run-1".into(),
        host: "node",
        command: Some("ls".into()),
        exit_code: Some(0),
        timed_out: None,
        success: Some(true),
        output: None,
        reason: None,
    });
    let r = node.send_event(notif("n1")).await.unwrap();
    assert_eq!(r.reason.as_deref(), Some("queued"));
    node.send_event(notif("n2")).await.unwrap();
    node.send_event(stats(1)).await.unwrap();
    node.send_event(stats(2)).await.unwrap();
    assert!(matches!(node.emit_event(exec.clone()).await.unwrap(), clawnode::EventDelivery::Queued));
    let agent = NodeEvent::AgentRequest(AgentRequest {
        message: "stale".into(),
        session_key: None,
        channel: None,
        to: None,
        deliver: None,
        timeout_seconds: None,
    });
    assert!(matches!(node.send_event(agent).await, Err(clawnode::NodeError::NotConnected)));
    let voice = NodeEvent::VoiceTranscript(VoiceTranscript {
        text: "hi".into(),
        session_key: None,
        event_id: None,
        timestamp: None,
    });
    assert!(matches!(node.send_event(voice).await, Err(clawnode::NodeError::NotConnected)));
    let s = node.outbox_stats();
    assert_eq!((s.queued, s.dropped_overflow, s.replaced, s.refused), (3, 1, 1, 2), "{s:?}");

    node.start();
    let (mut wire, _) = Wire::accept(&mut fake, node.device_id(), 30_000, MAX_PAYLOAD, None).await;
    let probe = wire.expect("node.event", STEP).await;
    assert_eq!(probe["params"]["event"], "node.presence.alive");
    wire.auto_ack(&probe).await;
    let mut flushed = Vec::new();
    for _ in 0..3 {
        let f = wire.expect("node.event", STEP).await;
        wire.auto_ack(&f).await;
        flushed.push(f["params"].clone());
    }
    let names: Vec<&str> = flushed.iter().map(|p| p["event"].as_str().unwrap()).collect();
    assert_eq!(names, vec!["notifications.changed", "node.host.stats", "exec.finished"]);
    assert!(flushed[0]["payloadJSON"].as_str().unwrap().contains("\"n2\""));
    assert!(flushed[1]["payloadJSON"].as_str().unwrap().contains("\"cpuCount\":2"));
    eventually("flush counted", STEP, || node.outbox_stats().flushed == 3).await;
    let n = node.clone();
    let live = tokio::spawn(async move { n.emit_event(notif("live")).await });
    let f = wire.expect("node.event", STEP).await;
    wire.auto_ack(&f).await;
    assert!(matches!(live.await.unwrap().unwrap(), clawnode::EventDelivery::Sent(_)));
    assert_eq!(node.outbox_stats().queued, 0);
    stop(&node).await;
}
