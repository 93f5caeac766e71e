//! What a handler receives: params, deadline, cancellation, progress and input streams.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::protocol::{InvokeProgressParams, names};
use crate::session::{RequestError, SessionHandle};

/// Largest `node.invoke.progress` chunk, in UTF-8 bytes.
pub const MAX_PROGRESS_CHUNK_BYTES: usize = 16_384;

/// One invoke, as a handler sees it.
pub struct InvokeContext {
    /// Invoke id.
    pub id: String,
    /// Command name.
    pub command: String,
    /// Params (an empty object when the operator passed none).
    pub params: Value,
    /// When the Gateway stops waiting.
    pub deadline: Instant,
    /// Caller idempotency key.
    pub idempotency_key: Option<String>,
    /// Agent session key.
    pub session_key: Option<String>,
    /// Cancelled on `node.invoke.cancel`, deadline or session end.
    pub cancel: CancellationToken,
    progress: ProgressSink,
    input: Mutex<Option<mpsc::Receiver<InvokeInputChunk>>>,
}

impl std::fmt::Debug for InvokeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvokeContext").field("id", &self.id).field("command", &self.command).finish()
    }
}

/// One `node.invoke.input` item.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeInputChunk {
    /// Sequence number.
    pub seq: u64,
    /// Payload JSON text.
    pub payload_json: String,
}

impl InvokeContext {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: String,
        command: String,
        params: Value,
        deadline: Instant,
        idempotency_key: Option<String>,
        session_key: Option<String>,
        cancel: CancellationToken,
        session: SessionHandle,
        input: mpsc::Receiver<InvokeInputChunk>,
    ) -> Self {
        let progress = ProgressSink { session, invoke_id: id.clone(), seq: std::sync::Arc::new(AtomicU64::new(0)) };
        InvokeContext {
            id,
            command,
            params,
            deadline,
            idempotency_key,
            session_key,
            cancel,
            progress,
            input: Mutex::new(Some(input)),
        }
    }

    /// Time left before the deadline.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// The progress sink for streaming output.
    pub fn progress(&self) -> ProgressSink {
        self.progress.clone()
    }

    /// Sends a `node.event` on the session that received this invoke (e.g. `exec.finished`).
    pub async fn send_event(
        &self,
        event: &crate::events::NodeEvent,
        timeout: Duration,
    ) -> Result<crate::protocol::NodeEventResult, RequestError> {
        crate::events::send_node_event(&self.progress.session, event, timeout).await
    }

    /// Takes the stream of `node.invoke.input` items (once).
    pub fn take_input(&self) -> Option<mpsc::Receiver<InvokeInputChunk>> {
        self.input.lock().ok().and_then(|mut i| i.take())
    }
}

/// Sends `node.invoke.progress` for one invoke: `seq` from 0, chunks ≤ 16384 bytes.
#[derive(Clone)]
pub struct ProgressSink {
    session: SessionHandle,
    invoke_id: String,
    seq: std::sync::Arc<AtomicU64>,
}

impl ProgressSink {
    /// Streams `text`, split on character boundaries into chunks of at most 16384 bytes.
    pub async fn send(&self, text: &str) -> Result<(), RequestError> {
        for chunk in split_chunks(text, MAX_PROGRESS_CHUNK_BYTES) {
            self.send_chunk(chunk).await?;
        }
        Ok(())
    }

    /// An empty-chunk heartbeat (keeps the Gateway's inactivity timer alive).
    pub async fn heartbeat(&self) -> Result<(), RequestError> {
        self.send_chunk("").await
    }

    async fn send_chunk(&self, chunk: &str) -> Result<(), RequestError> {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst);
        let params = InvokeProgressParams {
            invoke_id: self.invoke_id.clone(),
            node_id: self.session.node_id().to_string(),
            seq,
            chunk: chunk.to_string(),
        };
        let params = serde_json::to_value(params).map_err(|_| RequestError::Closed)?;
        self.session.request(names::NODE_INVOKE_PROGRESS, params, Duration::from_secs(10)).await.map(|_| ())
    }
}

/// Splits `text` into pieces of at most `max` bytes without cutting a character.
pub fn split_chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        if rest.len() <= max {
            out.push(rest);
            break;
        }
        let mut cut = max;
        while cut > 0 && !rest.is_char_boundary(cut) {
            cut -= 1;
        }
        if cut == 0 {
            // max smaller than one character: take the character whole.
            cut = rest.chars().next().map(char::len_utf8).unwrap_or(rest.len());
        }
        out.push(&rest[..cut]);
        rest = &rest[cut..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_respect_boundaries() {
        assert!(split_chunks("", 4).is_empty());
        assert_eq!(split_chunks("abcdef", 4), vec!["abcd", "ef"]);
        let s = "é".repeat(10); // 2 bytes each
        let c = split_chunks(&s, 5);
        assert!(c.iter().all(|p| p.len() <= 5));
        assert_eq!(c.concat(), s);
        let big = "x".repeat(MAX_PROGRESS_CHUNK_BYTES * 2 + 1);
        let c = split_chunks(&big, MAX_PROGRESS_CHUNK_BYTES);
        assert_eq!(c.len(), 3);
        assert_eq!(split_chunks("€", 1), vec!["€"]);
    }
}
