//! Foreign command handlers and their cancellation token.

use std::sync::Arc;

use clawnode::{CommandError, InvokeContext};
use tokio_util::sync::CancellationToken;

use crate::error::CommandFailure;

/// Handles one or more commands. Implemented by the app (Kotlin, Swift, Python).
#[uniffi::export(foreign)]
#[async_trait::async_trait]
pub trait CommandHandler: Send + Sync {
    /// Runs `command` with `params_json` (the invoke's params as JSON text, `null` when
    /// absent) and returns the result as JSON text. `cancel` fires when the Gateway cancels
    /// the invoke, its deadline passes, the session ends or the node stops; after that the
    /// result is discarded, so return promptly.
    async fn invoke(
        &self,
        command: String,
        params_json: String,
        cancel: Arc<CancelToken>,
    ) -> Result<String, CommandFailure>;
}

/// Cancellation of one invoke, for the handler to poll or await.
#[derive(uniffi::Object)]
pub struct CancelToken {
    cancel: CancellationToken,
    done: CancellationToken,
    deadline: tokio::time::Instant,
}

impl CancelToken {
    pub(crate) fn new(cancel: CancellationToken, deadline: tokio::time::Instant) -> Arc<Self> {
        Arc::new(CancelToken { cancel, done: CancellationToken::new(), deadline })
    }

    /// Marks the invoke finished: pending `cancelled()` calls return `false`.
    pub(crate) fn finish(&self) {
        self.done.cancel();
    }
}

#[uniffi::export]
impl CancelToken {
    /// Whether the invoke was cancelled (Gateway cancel, deadline, session end, stop).
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Milliseconds left before the invoke's deadline (0 when passed).
    pub fn remaining_ms(&self) -> u64 {
        self.deadline.saturating_duration_since(tokio::time::Instant::now()).as_millis() as u64
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
}

/// A core handler that calls the foreign one.
pub(crate) fn adapter(handler: Arc<dyn CommandHandler>) -> impl clawnode::invoke::CommandHandler {
    move |ctx: InvokeContext| {
        let handler = handler.clone();
        async move {
            let token = CancelToken::new(ctx.cancel.clone(), ctx.deadline);
            let params = serde_json::to_string(&ctx.params).unwrap_or_else(|_| "null".into());
            let command = ctx.command.clone();
            // The foreign call runs inline, so dropping this future (the core aborts a handler
            // that ignores cancellation past its grace period) drops the foreign future at
            // once and `Node::stop()` returns only after that. A panic while lifting/lowering
            // values is caught and reported instead of unwinding through the router.
            let _guard = Guard { token: token.clone() };
            let call = std::panic::AssertUnwindSafe(handler.invoke(command, params, token.clone()));
            match futures_util::FutureExt::catch_unwind(call).await {
                Ok(Ok(text)) => serde_json::from_str(&text).map_err(|e| {
                    CommandError::unavailable(format!("handler returned invalid JSON ({e}): {}", truncate(&text)))
                }),
                Ok(Err(CommandFailure::Failed { code, detail })) => Err(CommandError::new(code, detail)),
                Err(_) => Err(CommandError::unavailable("handler adapter panicked")),
            }
        }
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Releases `CancelToken::cancelled()` waiters when the invoke ends (also when the core
/// drops the handler after its grace period).
struct Guard {
    token: Arc<CancelToken>,
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.token.finish();
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
        let t = CancelToken::new(cancel.clone(), tokio::time::Instant::now() + std::time::Duration::from_secs(5));
        assert!(!t.is_cancelled());
        assert!(t.remaining_ms() > 4000);
        let waiter = {
            let t = t.clone();
            std::thread::spawn(move || block_on(t.cancelled()))
        };
        cancel.cancel();
        assert!(waiter.join().unwrap());
        assert!(t.is_cancelled());

        let t = CancelToken::new(CancellationToken::new(), tokio::time::Instant::now());
        assert_eq!(t.remaining_ms(), 0);
        t.finish();
        assert!(!block_on(t.cancelled()), "a finished invoke releases its watchers");
    }
}
