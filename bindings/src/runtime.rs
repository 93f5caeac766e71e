//! The crate's own tokio runtime.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};

use crate::error::NodeError;

/// Called on every runtime worker thread when it starts. On the JVM the app attaches the
/// thread to JNA once (`Native.detach(false)`), so Rust threads calling Kotlin do not pay an
/// attach/detach per call.
#[uniffi::export(foreign)]
pub trait RuntimeHook: Send + Sync {
    /// Runs on the new worker thread.
    fn on_thread_start(&self) -> Result<(), crate::error::ListenerError>;
}

static HOOK: Mutex<Option<Arc<dyn RuntimeHook>>> = Mutex::new(None);
static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);
static SHUT_DOWN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Installs a hook run on each runtime worker thread at start. Takes effect only when called
/// before the first `Node` is built (the runtime starts lazily).
#[uniffi::export]
pub fn set_runtime_hook(hook: Arc<dyn RuntimeHook>) {
    if let Ok(mut h) = HOOK.lock() {
        *h = Some(hook);
    }
}

fn build() -> std::io::Result<Runtime> {
    let hook = HOOK.lock().ok().and_then(|h| h.clone());
    let workers = std::thread::available_parallelism().map(|n| n.get().clamp(2, 4)).unwrap_or(2);
    let mut b = tokio::runtime::Builder::new_multi_thread();
    b.worker_threads(workers).thread_name("clawnode-ffi").enable_all();
    if let Some(hook) = hook {
        b.on_thread_start(move || {
            let _ = hook.on_thread_start();
        });
    }
    b.build()
}

/// A handle to the runtime, starting it on first use. Fails after [`shutdown`].
pub(crate) fn handle() -> Result<Handle, NodeError> {
    if SHUT_DOWN.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(NodeError::ShutDown);
    }
    let mut rt = RUNTIME.lock().map_err(|_| NodeError::ShutDown)?;
    if rt.is_none() {
        *rt = Some(build().map_err(|e| NodeError::Internal { detail: format!("cannot start the runtime: {e}") })?);
    }
    rt.as_ref().map(|r| r.handle().clone()).ok_or(NodeError::ShutDown)
}

/// Spawns `fut` on the runtime and awaits it: the way every exported async function runs.
/// A panic inside becomes [`NodeError::Internal`].
pub(crate) async fn run<F, T>(fut: F) -> Result<T, NodeError>
where
    F: Future<Output = Result<T, NodeError>> + Send + 'static,
    T: Send + 'static,
{
    match handle()?.spawn(fut).await {
        Ok(r) => r,
        Err(e) if e.is_panic() => Err(NodeError::Internal { detail: "internal panic".into() }),
        Err(_) => Err(NodeError::ShutDown),
    }
}

/// Stops the runtime: running nodes end, and no Rust thread calls foreign code afterwards.
/// Call it (after stopping every node) before the host process or interpreter exits.
/// Afterwards every call fails with `NodeError.ShutDown`. Idempotent.
#[uniffi::export]
pub fn shutdown(timeout_ms: u64) {
    SHUT_DOWN.store(true, std::sync::atomic::Ordering::SeqCst);
    let rt = RUNTIME.lock().ok().and_then(|mut r| r.take());
    if let Some(rt) = rt {
        rt.shutdown_timeout(Duration::from_millis(timeout_ms));
    }
}
