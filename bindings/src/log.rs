//! The logging bridge: the core's `tracing` events reach the app through its `LogSink`
//! (level, target, message), which the platform wrappers route to `logging` / Logcat /
//! `os_log`. Secrets never reach these records (the core redacts them).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt as _};

use crate::error::{ListenerError, NodeError};

/// Severity of a [`LogRecord`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Failures.
    Error,
    /// Something went wrong but the node carries on (a handler failed, a retry).
    Warn,
    /// Lifecycle: connected, ready, paused.
    Info,
    /// Details for debugging.
    Debug,
    /// Everything.
    Trace,
}

impl LogLevel {
    fn of(level: &Level) -> Self {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            _ => LogLevel::Trace,
        }
    }
}

/// One log line of the library.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct LogRecord {
    /// Severity.
    pub level: LogLevel,
    /// Where it comes from (`clawnode::node::driver`, `clawnode_ffi::handler`, …).
    pub target: String,
    /// The message with its fields (`command handler failed command=… code=…`).
    pub message: String,
}

/// Receives the library's log records. Called synchronously on the library's threads, where
/// the event happens: return quickly and do not call back into the `Node` from it.
#[uniffi::export(foreign)]
pub trait LogSink: Send + Sync {
    /// One record.
    fn log(&self, record: LogRecord) -> Result<(), ListenerError>;
}

static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);
static MAX_LEVEL: AtomicU8 = AtomicU8::new(LogLevel::Info as u8);
static INSTALLED: OnceLock<bool> = OnceLock::new();

/// Routes the library's logs at `max_level` and above to `sink` (replacing any previous
/// sink). The first call installs the process-wide `tracing` subscriber; it fails with
/// `InvalidConfig` when the process already has another one (a Rust host app).
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) -> Result<(), NodeError> {
    let installed = *INSTALLED.get_or_init(|| {
        let subscriber = tracing_subscriber::registry().with(SinkLayer);
        tracing::subscriber::set_global_default(subscriber).is_ok()
    });
    if !installed {
        return Err(NodeError::InvalidConfig { detail: "another tracing subscriber is installed".into() });
    }
    if let Ok(mut s) = SINK.write() {
        *s = Some(sink);
    }
    set_log_level(max_level);
    Ok(())
}

/// Changes the level of the installed sink.
#[uniffi::export]
pub fn set_log_level(max_level: LogLevel) {
    MAX_LEVEL.store(max_level as u8, Ordering::SeqCst);
    tracing::callsite::rebuild_interest_cache();
}

/// Stops delivering logs (e.g. before the app releases its sink).
#[uniffi::export]
pub fn clear_log_sink() {
    if let Ok(mut s) = SINK.write() {
        s.take();
    }
}

fn enabled(meta: &Metadata<'_>) -> bool {
    (LogLevel::of(meta.level()) as u8) <= MAX_LEVEL.load(Ordering::Relaxed)
}

struct SinkLayer;

impl<S: Subscriber> Layer<S> for SinkLayer {
    fn enabled(&self, meta: &Metadata<'_>, _ctx: Context<'_, S>) -> bool {
        enabled(meta)
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let Some(sink) = SINK.read().ok().and_then(|s| s.clone()) else { return };
        let mut v = MessageVisitor::default();
        event.record(&mut v);
        let meta = event.metadata();
        // A failing sink is ignored: logging about it would call it again.
        let _ =
            sink.log(LogRecord { level: LogLevel::of(meta.level()), target: meta.target().into(), message: v.text() });
    }
}

/// `message` first, then the other fields as `name=value`.
#[derive(Default)]
struct MessageVisitor {
    message: String,
    fields: String,
}

impl MessageVisitor {
    fn text(self) -> String {
        match (self.message.is_empty(), self.fields.is_empty()) {
            (_, true) => self.message,
            (true, false) => self.fields,
            (false, false) => format!("{} {}", self.message, self.fields),
        }
    }
}

impl Visit for MessageVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
        } else {
            self.push(field, format_args!("{value}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
        } else {
            self.push(field, format_args!("{value:?}"));
        }
    }
}

impl MessageVisitor {
    fn push(&mut self, field: &Field, value: std::fmt::Arguments<'_>) {
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        let _ = write!(self.fields, "{}={value}", field.name());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Collect(Mutex<Vec<LogRecord>>);

    impl LogSink for Collect {
        fn log(&self, record: LogRecord) -> Result<(), ListenerError> {
            self.0.lock().unwrap().push(record);
            Ok(())
        }
    }

    #[test]
    fn records_carry_level_target_message_and_fields() {
        let sink = Arc::new(Collect::default());
        set_log_sink(sink.clone(), LogLevel::Info).unwrap();
        tracing::warn!(command = "acme.x", code = "BOOM", "command handler failed");
        tracing::debug!("filtered out at info");
        set_log_level(LogLevel::Debug);
        tracing::debug!(n = 1, "now visible");
        clear_log_sink();
        tracing::warn!("after clear");
        let got = sink.0.lock().unwrap().clone();
        let mine: Vec<&LogRecord> = got.iter().filter(|r| r.target == module_path!()).collect();
        assert_eq!(mine.len(), 2, "{got:?}");
        assert_eq!(mine[0].level, LogLevel::Warn);
        assert_eq!(mine[0].message, "command handler failed command=acme.x code=BOOM");
        assert_eq!((mine[1].level, mine[1].message.as_str()), (LogLevel::Debug, "now visible n=1"));
    }
}
