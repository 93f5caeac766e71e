//! Foreign command handlers and the invoke context they receive.

use std::sync::{Arc, Mutex};

use clawnode::invoke::{InvokeInputChunk, MAX_PROGRESS_CHUNK_BYTES, ProgressSink};
use clawnode::{CommandError, RequestError};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::error::{CommandFailure, InvokeError};

/// Handles one or more commands. Implemented by the app (Kotlin, Swift, Python).
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait CommandHandler: Send + Sync {
    /// Runs `command` with `params_json` (the invoke's params as JSON text: an object, `{}`
    /// when the operator passed none) and returns the result as JSON text. `ctx` carries
    /// the invoke id, the deadline and cancellation, and streams progress out and input in.
    /// Cancellation (Gateway cancel, deadline, session end, node stop) discards the
    /// result, so return promptly once `ctx.is_cancelled()`.
    async fn invoke(
        &self,
        command: String,
        params_json: String,
        ctx: Arc<InvokeContext>,
    ) -> Result<String, CommandFailure>;
}

/// One `node.invoke.input` chunk, in the Gateway's order.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct InputChunk {
    /// Sequence number (from 0).
    pub seq: u64,
    /// The chunk as JSON text.
    pub payload_json: String,
}

/// One invoke as the handler sees it.
#[derive(uniffi::Object)]
pub struct InvokeContext {
    id: String,
    command: String,
    idempotency_key: Option<String>,
    session_key: Option<String>,
    cancel: CancellationToken,
    done: CancellationToken,
    deadline: tokio::time::Instant,
    deadline_epoch_ms: u64,
    progress: Option<ProgressSink>,
    input: Arc<tokio::sync::Mutex<Option<mpsc::Receiver<InvokeInputChunk>>>>,
    /// Bytes of an incomplete UTF-8 character left by `progress_bytes`.
    utf8_tail: Mutex<Vec<u8>>,
}

impl std::fmt::Debug for InvokeContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvokeContext").field("id", &self.id).field("command", &self.command).finish()
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl InvokeContext {
    pub(crate) fn from_core(ctx: &clawnode::InvokeContext) -> Arc<Self> {
        let remaining = ctx.remaining().as_millis() as u64;
        Arc::new(InvokeContext {
            id: ctx.id.clone(),
            command: ctx.command.clone(),
            idempotency_key: ctx.idempotency_key.clone(),
            session_key: ctx.session_key.clone(),
            cancel: ctx.cancel.clone(),
            done: CancellationToken::new(),
            deadline: ctx.deadline,
            deadline_epoch_ms: now_ms().saturating_add(remaining),
            progress: Some(ctx.progress()),
            input: Arc::new(tokio::sync::Mutex::new(ctx.take_input())),
            utf8_tail: Mutex::new(Vec::new()),
        })
    }

    /// A context without a session (unit tests).
    #[cfg(test)]
    pub(crate) fn detached(
        cancel: CancellationToken,
        deadline: tokio::time::Instant,
        input: Option<mpsc::Receiver<InvokeInputChunk>>,
    ) -> Arc<Self> {
        Arc::new(InvokeContext {
            id: "test".into(),
            command: "test.cmd".into(),
            idempotency_key: None,
            session_key: None,
            cancel,
            done: CancellationToken::new(),
            deadline,
            deadline_epoch_ms: 0,
            progress: None,
            input: Arc::new(tokio::sync::Mutex::new(input)),
            utf8_tail: Mutex::new(Vec::new()),
        })
    }

    /// Marks the invoke finished: pending `cancelled()` / `next_input()` calls return.
    pub(crate) fn finish(&self) {
        self.done.cancel();
    }

    async fn send_progress(&self, text: String) -> Result<(), InvokeError> {
        if self.cancel.is_cancelled() || self.done.is_cancelled() {
            return Err(InvokeError::Cancelled);
        }
        let Some(sink) = self.progress.clone() else { return Err(InvokeError::NotConnected) };
        crate::runtime::run(async move { Ok(sink.send(&text).await) })
            .await
            .map_err(|_| InvokeError::NotConnected)?
            .map_err(InvokeError::from)
    }
}

#[uniffi::export]
impl InvokeContext {
    /// The invoke id (what the operator's `node.invoke` waits on).
    pub fn invoke_id(&self) -> String {
        self.id.clone()
    }

    /// The command.
    pub fn command(&self) -> String {
        self.command.clone()
    }

    /// The caller's idempotency key, when sent.
    pub fn idempotency_key(&self) -> Option<String> {
        self.idempotency_key.clone()
    }

    /// The agent session the invoke belongs to, when sent.
    pub fn session_key(&self) -> Option<String> {
        self.session_key.clone()
    }

    /// The deadline as Unix time in milliseconds (after it the Gateway stops waiting).
    pub fn deadline_ms(&self) -> u64 {
        self.deadline_epoch_ms
    }

    /// Milliseconds left before the deadline (0 when passed).
    pub fn remaining_ms(&self) -> u64 {
        self.deadline.saturating_duration_since(tokio::time::Instant::now()).as_millis() as u64
    }

    /// Whether the invoke was cancelled (Gateway cancel, deadline, session end, stop, input
    /// overflow).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Waits until the invoke is cancelled (`true`) or has finished (`false`). Always
    /// completes, so a watcher awaiting it never leaks.
    pub async fn cancelled(&self) -> bool {
        let cancel = self.cancel.clone();
        let done = self.done.clone();
        crate::runtime::run(async move {
            Ok(tokio::select! {
                biased;
                _ = cancel.cancelled() => true,
                _ = done.cancelled() => false,
            })
        })
        .await
        .unwrap_or(true)
    }

    /// Streams `text` to the operator as `node.invoke.progress` (UTF-8, split into chunks
    /// of at most 16 KiB on character boundaries, `seq` from 0, in call order).
    pub async fn progress(&self, text: String) -> Result<(), InvokeError> {
        self.send_progress(text).await
    }

    /// Streams raw output bytes (a terminal, a child's stdout): decoded as UTF-8 across
    /// calls, so a character cut between two calls arrives whole; invalid bytes become
    /// U+FFFD.
    pub async fn progress_bytes(&self, data: Vec<u8>) -> Result<(), InvokeError> {
        let text = {
            let mut tail = self.utf8_tail.lock().map_err(|_| InvokeError::Cancelled)?;
            decode_utf8_stream(&mut tail, &data)
        };
        if text.is_empty() {
            return Ok(());
        }
        self.send_progress(text).await
    }

    /// Streams one JSON value (`json`, validated and sent compact) as one progress chunk;
    /// fails with `TooLarge` over 16 KiB so a reader can parse chunk by chunk.
    pub async fn progress_json(&self, json: String) -> Result<(), InvokeError> {
        let v: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| InvokeError::InvalidJson { detail: e.to_string() })?;
        let text = v.to_string();
        if text.len() > MAX_PROGRESS_CHUNK_BYTES {
            return Err(InvokeError::TooLarge {
                detail: format!("{} bytes; a progress chunk holds at most {MAX_PROGRESS_CHUNK_BYTES}", text.len()),
            });
        }
        self.send_progress(text).await
    }

    /// An empty progress chunk: a heartbeat that keeps the Gateway's idle timer alive.
    pub async fn heartbeat(&self) -> Result<(), InvokeError> {
        if self.cancel.is_cancelled() || self.done.is_cancelled() {
            return Err(InvokeError::Cancelled);
        }
        let Some(sink) = self.progress.clone() else { return Err(InvokeError::NotConnected) };
        crate::runtime::run(async move { Ok(sink.heartbeat().await) })
            .await
            .map_err(|_| InvokeError::NotConnected)?
            .map_err(InvokeError::from)
    }

    /// The next `node.invoke.input` chunk, in order; `None` once the invoke is cancelled or
    /// finished. Read promptly: more than 64 unread chunks end the invoke with
    /// `INPUT_BUFFER_OVERFLOW`.
    pub async fn next_input(&self) -> Option<InputChunk> {
        let input = self.input.clone();
        let cancel = self.cancel.clone();
        let done = self.done.clone();
        crate::runtime::run(async move {
            let mut guard = input.lock().await;
            let Some(rx) = guard.as_mut() else { return Ok(None) };
            Ok(tokio::select! {
                biased;
                c = rx.recv() => c.map(|c| InputChunk { seq: c.seq, payload_json: c.payload_json }),
                _ = cancel.cancelled() => None,
                _ = done.cancelled() => None,
            })
        })
        .await
        .unwrap_or(None)
    }
}

/// Appends `data` to `tail` and returns the complete UTF-8 text; an incomplete character at
/// the end stays in `tail`, invalid sequences become U+FFFD.
fn decode_utf8_stream(tail: &mut Vec<u8>, data: &[u8]) -> String {
    tail.extend_from_slice(data);
    let mut out = String::new();
    loop {
        match std::str::from_utf8(tail) {
            Ok(s) => {
                out.push_str(s);
                tail.clear();
                return out;
            }
            Err(e) => {
                let valid = e.valid_up_to();
                out.push_str(std::str::from_utf8(&tail[..valid]).unwrap_or_default());
                match e.error_len() {
                    None => {
                        tail.drain(..valid);
                        return out;
                    }
                    Some(n) => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        tail.drain(..valid + n);
                    }
                }
            }
        }
    }
}

impl From<RequestError> for InvokeError {
    fn from(e: RequestError) -> Self {
        match e {
            RequestError::Closed => InvokeError::NotConnected,
            RequestError::Rejected(shape) => InvokeError::Rejected { code: shape.code.clone(), detail: shape.message },
            other => InvokeError::Rejected { code: "UNAVAILABLE".into(), detail: other.to_string() },
        }
    }
}

/// A core handler that calls the foreign one.
pub(crate) fn adapter(handler: Arc<dyn CommandHandler>) -> impl clawnode::invoke::CommandHandler {
    move |ctx: clawnode::InvokeContext| {
        let handler = handler.clone();
        async move {
            let fctx = InvokeContext::from_core(&ctx);
            let params = serde_json::to_string(&ctx.params).unwrap_or_else(|_| "{}".into());
            let command = ctx.command.clone();
            // The foreign call runs inline, so dropping this future (the core aborts a handler
            // that ignores cancellation past its grace period) drops the foreign future at
            // once and `Node::stop()` returns only after that. A panic while lifting/lowering
            // values is caught and reported instead of unwinding through the router.
            let _guard = Guard { ctx: fctx.clone() };
            let call = std::panic::AssertUnwindSafe(handler.invoke(command.clone(), params, fctx.clone()));
            let r = match futures_util::FutureExt::catch_unwind(call).await {
                Ok(Ok(text)) => serde_json::from_str(&text).map_err(|e| {
                    CommandError::unavailable(format!("handler returned invalid JSON ({e}): {}", truncate(&text)))
                }),
                Ok(Err(CommandFailure::Failed { code, detail })) => Err(CommandError::new(code, detail)),
                Err(_) => Err(CommandError::unavailable("handler adapter panicked")),
            };
            if let Err(e) = &r
                && !fctx.is_cancelled()
            {
                warn!(command = %command, invoke_id = %ctx.id, code = e.code(), error = %e, "command handler failed");
            }
            r
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Releases `cancelled()` and `next_input()` waiters when the invoke ends (also when the
/// core drops the handler after its grace period).
struct Guard {
    ctx: Arc<InvokeContext>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.ctx.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
    }

    #[test]
    fn cancelled_resolves_true_on_cancel_and_false_once_finished() {
        let cancel = CancellationToken::new();
        let t = InvokeContext::detached(
            cancel.clone(),
            tokio::time::Instant::now() + std::time::Duration::from_secs(5),
            None,
        );
        assert!(!t.is_cancelled());
        assert!(t.remaining_ms() > 4000);
        let waiter = {
            let t = t.clone();
            std::thread::spawn(move || block_on(t.cancelled()))
        };
        cancel.cancel();
        assert!(waiter.join().unwrap());
        assert!(t.is_cancelled());

        let t = InvokeContext::detached(CancellationToken::new(), tokio::time::Instant::now(), None);
        assert_eq!(t.remaining_ms(), 0);
        t.finish();
        assert!(!block_on(t.cancelled()), "a finished invoke releases its watchers");
    }

    #[test]
    fn input_chunks_arrive_in_order_and_end_with_the_invoke() {
        let (tx, rx) = mpsc::channel(4);
        let t = InvokeContext::detached(CancellationToken::new(), tokio::time::Instant::now(), Some(rx));
        for seq in 0..3 {
            tx.try_send(InvokeInputChunk { seq, payload_json: format!("{{\"n\":{seq}}}") }).unwrap();
        }
        let got: Vec<u64> = (0..3).map(|_| block_on(t.next_input()).unwrap().seq).collect();
        assert_eq!(got, [0, 1, 2]);
        t.finish();
        assert_eq!(block_on(t.next_input()), None, "no more input after the invoke finished");
    }

    #[test]
    fn bytes_are_decoded_across_calls() {
        let mut tail = Vec::new();
        let euro = "€".as_bytes(); // 3 bytes
        assert_eq!(decode_utf8_stream(&mut tail, &[b'a', euro[0]]), "a");
        assert_eq!(decode_utf8_stream(&mut tail, &euro[1..]), "€");
        assert!(tail.is_empty());
        assert_eq!(decode_utf8_stream(&mut tail, &[0xff, b'b']), "\u{FFFD}b");
    }

    #[test]
    fn progress_json_is_validated_and_bounded() {
        let t = InvokeContext::detached(CancellationToken::new(), tokio::time::Instant::now(), None);
        assert!(matches!(block_on(t.progress_json("{bad".into())), Err(InvokeError::InvalidJson { .. })));
        let big = format!("\"{}\"", "x".repeat(MAX_PROGRESS_CHUNK_BYTES));
        assert!(matches!(block_on(t.progress_json(big)), Err(InvokeError::TooLarge { .. })));
    }
}
