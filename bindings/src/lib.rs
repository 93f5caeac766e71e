//! # clawnode-ffi
//!
//! UniFFI bindings (Kotlin, Swift, Python) over the `clawnode` core. This crate is a thin
//! adapter: records and enums that mirror the core's configuration and states, foreign
//! traits the app implements (`CommandHandler`, `NodeListener`, `SecureStore`), and one
//! `Node` object. No protocol logic lives here.
//!
//! ## Threads and async
//! The crate owns one multi-thread tokio runtime ([`runtime`]). Every exported async
//! function spawns its work on that runtime and awaits the `JoinHandle`, so the foreign
//! executor (asyncio, Kotlin coroutines, Swift concurrency) only polls a join handle and
//! never needs a tokio reactor. [`shutdown`] stops the runtime (Python calls it at exit,
//! before the interpreter goes away).
//!
//! ## Failures
//! A foreign callback that throws something unexpected, or a Rust panic in a handler
//! adapter, becomes an `UNAVAILABLE` command error for that invoke; it never takes the node
//! (or the app) down. The crate must be built with `panic = "unwind"` (profile `release-ffi`
//! or `dev`); it refuses to compile with `panic = "abort"` (the CLI's `release` profile).

// A library inside apps: no `unwrap`/`expect` outside tests, no printing.
#![warn(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout, clippy::print_stderr)]

#[cfg(panic = "abort")]
compile_error!(
    "clawnode-ffi needs panic = \"unwind\" so a Rust panic becomes an error in the host app: \
     build it with `--profile release-ffi` (the `release` profile aborts on panic)"
);

#[cfg(target_os = "android")]
mod android;
mod catalog;
mod config;
mod discovery;
mod error;
mod events;
mod handler;
mod log;
mod node;
mod reach;
mod requests;
mod runtime;
mod state;
mod store;

pub use catalog::{
    CalendarAddParams, CalendarEventsParams, CameraClipParams, CameraFacing, CameraSnapParams, CatalogEntry,
    CatalogParams, ContactsAddParams, ContactsSearchParams, DesiredAccuracy, LocationParams, MotionParams,
    NotificationAction, NotificationActionParams, NotifyParams, NotifyPriority, PhotosLatestParams, ReminderStatus,
    RemindersAddParams, RemindersListParams, ScreenRecordParams, SmsSearchParams, SmsSendParams, catalog, typed_params,
};
pub use config::{ClientId, NodeConfig, PlaintextPolicy};
pub use discovery::{
    ConnectPlan, DiscoveredGateway, KnownGateway, PlanAction, discovered_gateway_stable_id, plan_connection,
};
pub use error::{CommandFailure, InvokeError, ListenerError, NodeError, StoreFailure};
pub use events::{ChatEvent, ChatState, GatewayEvent, PendingWorkItem};
pub use handler::{CommandHandler, InputChunk, InvokeContext};
pub use log::{LogLevel, LogRecord, LogSink, clear_log_sink, set_log_level, set_log_sink};
pub use node::{CommandOptions, EventOutcome, Node, NodeListener, PresenceTrigger};
pub use reach::HeaderProblem;
pub use requests::{EndpointInfo, McpTarget, NodeStats, PluginSurface, PluginTool, Skill, TlsProbe, probe_tls};
pub use runtime::{RuntimeHook, set_runtime_hook, shutdown};
pub use state::{NodeNotice, NodeState, PauseInfo, PauseKind, RemediationKind};
pub use store::{ForeignStore, SecureStore, SecureStoreAdapter, keys};

uniffi::setup_scaffolding!("clawnode");

/// The version of this library (the `clawnode` core version).
#[uniffi::export]
pub fn clawnode_version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
