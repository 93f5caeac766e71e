//! Work done on a live session besides invokes: flushing the offline outbox, and the
//! foreground work of commands.md §4 (`node.pending.pull/ack/drain`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::json;
use tracing::{Instrument as _, info, warn};

use super::{Inner, NodeNotice};
use crate::events::send_node_event;
use crate::protocol::{PendingAckParams, PendingDrainParams, PendingDrainResult, PendingPullResult, names};
use crate::session::{RequestError, SessionHandle};

/// Flushes the outbox on `handle`, in order, one event at a time (one flusher at a time).
pub(super) fn spawn_flush(inner: &Arc<Inner>, handle: &SessionHandle) {
    if inner.outbox.lock().map(|o| o.is_empty()).unwrap_or(true) {
        return;
    }
    if inner.flushing.swap(true, Ordering::SeqCst) {
        return;
    }
    let inner = inner.clone();
    let handle = handle.clone();
    tokio::spawn(
        async move {
            let mut sent = 0u64;
            loop {
                let next = inner.outbox.lock().ok().and_then(|mut o| o.pop_fresh(tokio::time::Instant::now()));
                let Some((event, at)) = next else { break };
                match send_node_event(&handle, &event, Duration::from_secs(15)).await {
                    Ok(_) => {
                        sent += 1;
                        if let Ok(mut o) = inner.outbox.lock() {
                            o.count_flushed();
                        }
                    }
                    Err(e)
                        if matches!(e, RequestError::Closed)
                            || e.detail_code().as_deref() == Some("PAIRING_CHANGED") =>
                    {
                        if let Ok(mut o) = inner.outbox.lock() {
                            o.requeue(event, at);
                        }
                        break;
                    }
                    Err(e) => warn!(error = %e, event = event.name(), "queued event refused by the gateway; dropped"),
                }
            }
            if sent > 0 {
                info!(sent, "outbox flushed");
            }
            inner.flushing.store(false, Ordering::SeqCst);
        }
        .in_current_span(),
    );
}

/// On the return to the foreground: pull, run and ack queued actions, then drain the
/// offline work queue into notices (commands.md §4). A session that ends midway leaves the
/// work due for the next hello; unacked actions stay queued on the Gateway.
pub(super) fn spawn_foreground_work(inner: &Arc<Inner>, handle: &SessionHandle) {
    let inner = inner.clone();
    let handle = handle.clone();
    tokio::spawn(
        async move {
            if let Err(e) = foreground_work(&inner, &handle).await {
                if matches!(e, RequestError::Closed) {
                    inner.fg_work_due.store(true, Ordering::SeqCst);
                }
                warn!(error = %e, "foreground work (node.pending.*) failed");
            }
        }
        .in_current_span(),
    );
}

async fn foreground_work(inner: &Arc<Inner>, handle: &SessionHandle) -> Result<(), RequestError> {
    const T: Duration = Duration::from_secs(15);
    let v = handle.request(names::NODE_PENDING_PULL, json!({}), T).await?;
    let pulled: PendingPullResult = serde_json::from_value(v).unwrap_or_default();
    let mut acked = Vec::new();
    for a in pulled.actions {
        if !inner.foreground.load(Ordering::SeqCst) {
            break;
        }
        let r = inner.router.run_local(&a.id, &a.command, a.params_json.clone(), handle).await;
        let error = r.as_ref().err().map(|e| e.code().to_string());
        if error.as_deref() == Some("NODE_BACKGROUND_UNAVAILABLE") {
            // Backgrounded again meanwhile: leave it queued.
            continue;
        }
        info!(id = %a.id, command = %a.command, error = ?error, "queued action ran");
        inner.notice(NodeNotice::PendingActionRan { id: a.id.clone(), command: a.command.clone(), error });
        acked.push(a.id);
    }
    if !acked.is_empty() {
        let params = serde_json::to_value(PendingAckParams { ids: acked }).unwrap_or_default();
        handle.request(names::NODE_PENDING_ACK, params, T).await?;
    }
    for _ in 0..10 {
        let params = serde_json::to_value(PendingDrainParams { max_items: Some(10) }).unwrap_or_default();
        let v = handle.request(names::NODE_PENDING_DRAIN, params, T).await?;
        let drained: PendingDrainResult = serde_json::from_value(v).unwrap_or_default();
        let empty = drained.items.is_empty();
        for item in drained.items {
            inner.notice(NodeNotice::PendingWork { item });
        }
        if !drained.has_more || empty {
            break;
        }
    }
    Ok(())
}
