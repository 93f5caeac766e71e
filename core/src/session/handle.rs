//! The clonable handle through which the rest of the node sends requests on one live
//! session ("epoch"). A handle never outlives its socket: once the session ends every
//! request on it fails with [`RequestError::Closed`], so a result can never be sent on a
//! newer socket.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::protocol::{ErrorShape, RequestFrame};

/// Why a request on a session failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The session ended (before sending or before the answer).
    #[error("session closed")]
    Closed,
    /// No answer before the per-request deadline.
    #[error("request timed out after {0:?}")]
    Timeout(Duration),
    /// The frame would exceed the Gateway's `policy.maxPayload`.
    #[error("frame of {size} bytes exceeds the gateway limit of {limit} bytes")]
    TooLarge {
        /// Serialized size.
        size: usize,
        /// The limit.
        limit: u64,
    },
    /// The Gateway answered with an error.
    #[error("gateway error: {0}")]
    Rejected(ErrorShape),
}

impl RequestError {
    /// `details.code` of a Gateway rejection.
    pub fn detail_code(&self) -> Option<String> {
        match self {
            RequestError::Rejected(e) => e.detail_code(),
            _ => None,
        }
    }
}

/// An outbound item for the writer task.
#[derive(Debug)]
pub(crate) enum Outbound {
    /// A serialized text frame; with a timing, the writer records the turnaround once it is
    /// written.
    Text(String, Option<Timing>),
    /// A WebSocket ping.
    Ping,
    /// Close with code and reason, then stop writing.
    Close(u16, String),
}

/// When the request a frame answers arrived, and where its turnaround is recorded.
#[derive(Debug)]
pub struct Timing {
    /// The request frame was read at this instant.
    pub since: Instant,
    /// The router's counters.
    pub stats: Arc<crate::stats::InvokeStats>,
}

type Pending = Mutex<HashMap<String, oneshot::Sender<Result<Value, ErrorShape>>>>;

pub(crate) struct Shared {
    pub(crate) out: mpsc::Sender<Outbound>,
    pub(crate) pending: Pending,
    next_id: AtomicU64,
    pub(crate) max_payload: AtomicU64,
    pub(crate) closed: CancellationToken,
    epoch: u64,
    node_id: String,
}

/// A handle to one live session.
#[derive(Clone)]
pub struct SessionHandle {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SessionHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionHandle")
            .field("epoch", &self.shared.epoch)
            .field("closed", &self.shared.closed.is_cancelled())
            .finish()
    }
}

impl SessionHandle {
    pub(crate) fn new(out: mpsc::Sender<Outbound>, epoch: u64, node_id: String, max_payload: u64) -> Self {
        SessionHandle {
            shared: Arc::new(Shared {
                out,
                pending: Mutex::new(HashMap::new()),
                next_id: AtomicU64::new(1),
                max_payload: AtomicU64::new(max_payload),
                closed: CancellationToken::new(),
                epoch,
                node_id,
            }),
        }
    }

    /// The session's epoch (1 for the first socket, incremented per socket).
    pub fn epoch(&self) -> u64 {
        self.shared.epoch
    }

    /// This node's id (its device id).
    pub fn node_id(&self) -> &str {
        &self.shared.node_id
    }

    /// Whether the session has ended.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.is_cancelled()
    }

    /// Resolves when the session ends.
    pub async fn closed(&self) {
        self.shared.closed.cancelled().await
    }

    /// The current `policy.maxPayload`.
    pub fn max_payload(&self) -> u64 {
        self.shared.max_payload.load(Ordering::Relaxed)
    }

    /// Sends a request and waits for its response (out-of-order responses are fine).
    pub async fn request(&self, method: &str, params: Value, timeout: Duration) -> Result<Value, RequestError> {
        let params = serde_json::to_string(&params).map_err(|_| RequestError::Closed)?;
        self.request_json(method, params, timeout).await
    }

    /// Like [`SessionHandle::request`] with the params already serialized to a JSON object
    /// text. Large results use this to avoid intermediate copies: the frame text is built
    /// around `params_json` directly.
    pub async fn request_json(
        &self,
        method: &str,
        params_json: String,
        timeout: Duration,
    ) -> Result<Value, RequestError> {
        let hint = params_json.len();
        self.request_with(
            method,
            hint,
            move |buf| {
                buf.extend_from_slice(params_json.as_bytes());
                Ok(())
            },
            timeout,
        )
        .await
    }

    /// Like [`SessionHandle::request_json`], with the params written by `write_params`
    /// straight into the frame buffer (sized once from `params_size_hint`). The closure owns
    /// what it serializes, so a large result is freed as soon as its frame text exists.
    pub async fn request_with(
        &self,
        method: &str,
        params_size_hint: usize,
        write_params: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
        timeout: Duration,
    ) -> Result<Value, RequestError> {
        self.request_timed(method, params_size_hint, write_params, timeout, None).await
    }

    /// [`SessionHandle::request_with`], recording the turnaround when the frame is written.
    pub(crate) async fn request_timed(
        &self,
        method: &str,
        params_size_hint: usize,
        write_params: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
        timeout: Duration,
        timing: Option<Timing>,
    ) -> Result<Value, RequestError> {
        if self.is_closed() {
            return Err(RequestError::Closed);
        }
        let id = format!("{}:{}", self.shared.epoch, self.shared.next_id.fetch_add(1, Ordering::Relaxed));
        // Same bytes as `RequestFrame::to_json` (field order type, id, method, params).
        let head = serde_json::to_string(&RequestFrame { id: id.clone(), method: method.into(), params: None })
            .map_err(|_| RequestError::Closed)?;
        let mut buf = Vec::with_capacity(head.len() + params_size_hint + 12);
        buf.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
        buf.extend_from_slice(b",\"params\":");
        write_params(&mut buf).map_err(|_| RequestError::Closed)?;
        buf.push(b'}');
        // serde_json writes UTF-8 only; a failure here means a bug, not bad input.
        let text = String::from_utf8(buf).map_err(|_| RequestError::Closed)?;
        let limit = self.max_payload();
        if text.len() as u64 > limit {
            return Err(RequestError::TooLarge { size: text.len(), limit });
        }
        let (tx, rx) = oneshot::channel();
        self.shared.pending.lock().map_err(|_| RequestError::Closed)?.insert(id.clone(), tx);
        let guard = PendingGuard { shared: &self.shared, id: &id };
        tokio::select! {
            biased;
            _ = self.shared.closed.cancelled() => return Err(RequestError::Closed),
            sent = self.shared.out.send(Outbound::Text(text, timing)) => {
                if sent.is_err() {
                    return Err(RequestError::Closed);
                }
            }
        }
        let result = tokio::select! {
            r = rx => match r {
                Ok(Ok(v)) => Ok(v),
                Ok(Err(e)) => Err(RequestError::Rejected(e)),
                Err(_) => Err(RequestError::Closed),
            },
            _ = tokio::time::sleep(timeout) => Err(RequestError::Timeout(timeout)),
            _ = self.shared.closed.cancelled() => Err(RequestError::Closed),
        };
        drop(guard);
        result
    }

    /// Routes a response to its waiter; returns false for an unknown id.
    pub(crate) fn complete(&self, id: &str, result: Result<Value, ErrorShape>) -> bool {
        let waiter = self.shared.pending.lock().ok().and_then(|mut p| p.remove(id));
        match waiter {
            Some(tx) => {
                let _ = tx.send(result);
                true
            }
            None => false,
        }
    }

    /// Marks the session closed and fails every pending request.
    pub(crate) fn close(&self) {
        self.shared.closed.cancel();
        if let Ok(mut p) = self.shared.pending.lock() {
            p.clear();
        }
    }

    /// Queues a raw outbound item (pings, close).
    pub(crate) async fn send_raw(&self, item: Outbound) -> bool {
        self.shared.out.send(item).await.is_ok()
    }
}

struct PendingGuard<'a> {
    shared: &'a Shared,
    id: &'a str,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut p) = self.shared.pending.lock() {
            p.remove(self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn request_json_builds_the_same_frame_and_enforces_the_limit() {
        let (tx, mut rx) = mpsc::channel(4);
        let h = SessionHandle::new(tx, 7, "node".into(), 200);
        let h2 = h.clone();
        let task = tokio::spawn(async move {
            h2.request("node.event", json!({"event": "e", "payloadJSON": "{\"a\":\"\\\"q\"}"}), Duration::from_secs(5))
                .await
        });
        let Some(Outbound::Text(text, _)) = rx.recv().await else { panic!("no frame") };
        let expected = RequestFrame {
            id: "7:1".into(),
            method: "node.event".into(),
            params: Some(json!({"event": "e", "payloadJSON": "{\"a\":\"\\\"q\"}"})),
        }
        .to_json();
        assert_eq!(text, expected);
        assert!(h.complete("7:1", Ok(json!({"ok": true}))));
        assert_eq!(task.await.unwrap().unwrap(), json!({"ok": true}));
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(300));
        let err = h.request_json("node.event", big, Duration::from_secs(1)).await.unwrap_err();
        assert!(matches!(err, RequestError::TooLarge { limit: 200, .. }), "{err}");
        h.close();
        assert_eq!(h.request("x", json!({}), Duration::from_secs(1)).await, Err(RequestError::Closed));
    }
}
