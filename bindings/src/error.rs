//! One error enum per surface. No field is called `message`: in Kotlin errors are
//! exceptions and a `message` field clashes with `Throwable.message`.

/// Errors of the `Node` API.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum NodeError {
    /// The configuration is not usable (bad URL, setup code, pin, command name).
    #[error("invalid configuration: {detail}")]
    InvalidConfig {
        /// What is wrong.
        detail: String,
    },
    /// `NodeConfig.proxy` is not a usable proxy URL (scheme other than `http`, `socks5`,
    /// `socks5h`; no host or port; a path or query). The URL's credentials are not repeated.
    #[error("invalid proxy: {detail}")]
    InvalidProxy {
        /// What is wrong.
        detail: String,
    },
    /// A `NodeConfig.headers` entry was refused (a name the WebSocket upgrade owns, not a
    /// valid name or value, given twice). The value is not repeated.
    #[error("invalid upgrade header {name}: {detail}")]
    InvalidHeader {
        /// The header's name.
        name: String,
        /// Why.
        problem: crate::reach::HeaderProblem,
        /// The core's explanation.
        detail: String,
    },
    /// The secure store failed or holds unreadable data (never silently replaced).
    #[error("credential store: {detail}")]
    Store {
        /// What failed.
        detail: String,
    },
    /// No live Gateway session (`sendEvent` before `Ready`).
    #[error("not connected")]
    NotConnected,
    /// A Gateway request failed.
    #[error("gateway request failed: {detail}")]
    Request {
        /// The Gateway's error code, when it sent one.
        code: Option<String>,
        /// Description.
        detail: String,
    },
    /// `shutdown()` was called: the library is no longer usable in this process.
    #[error("the clawnode runtime was shut down")]
    ShutDown,
    /// A bug (e.g. a Rust panic, caught).
    #[error("internal error: {detail}")]
    Internal {
        /// Description.
        detail: String,
    },
}

impl From<clawnode::NodeError> for NodeError {
    fn from(e: clawnode::NodeError) -> Self {
        match e {
            clawnode::NodeError::Store(s) => NodeError::Store { detail: s.to_string() },
            clawnode::NodeError::NotConnected => NodeError::NotConnected,
            clawnode::NodeError::PinOnPlaintext | clawnode::NodeError::ReservedMethod(_) => {
                NodeError::InvalidConfig { detail: e.to_string() }
            }
            clawnode::NodeError::Request(r) => {
                let code = match &r {
                    clawnode::RequestError::Rejected(shape) => Some(shape.code.clone()),
                    _ => None,
                };
                NodeError::Request { code, detail: r.to_string() }
            }
            other => NodeError::Request { code: None, detail: other.to_string() },
        }
    }
}

/// What a `CommandHandler` returns on failure. `code` is an UPPER_SNAKE token
/// (`CAMERA_PERMISSION_REQUIRED`, `INVALID_REQUEST`, …); the operator sees
/// `"CODE: message"`. A code that is not a token is sent as `UNAVAILABLE`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CommandFailure {
    /// The command failed.
    #[error("{code}: {detail}")]
    Failed {
        /// UPPER_SNAKE code token.
        code: String,
        /// Human text.
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CommandFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CommandFailure::Failed { code: "UNAVAILABLE".into(), detail: format!("handler raised: {}", e.reason) }
    }
}

/// Errors of the `InvokeContext` calls (progress).
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum InvokeError {
    /// The invoke was cancelled or has ended: stop and return.
    #[error("the invoke was cancelled")]
    Cancelled,
    /// The session that received the invoke is gone (its result cannot be sent either).
    #[error("the session of this invoke has ended")]
    NotConnected,
    /// The chunk is larger than a progress chunk may be.
    #[error("too large: {detail}")]
    TooLarge {
        /// Sizes.
        detail: String,
    },
    /// `progress_json` got text that is not JSON.
    #[error("not JSON: {detail}")]
    InvalidJson {
        /// Parser message.
        detail: String,
    },
    /// The Gateway refused the frame.
    #[error("{code}: {detail}")]
    Rejected {
        /// The Gateway's error code.
        code: String,
        /// Description.
        detail: String,
    },
}

/// What a `SecureStore` returns on failure.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum StoreFailure {
    /// The platform store failed (locked keychain, I/O error, …).
    #[error("secure store failed: {detail}")]
    Failed {
        /// Description.
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for StoreFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        StoreFailure::Failed { detail: e.reason }
    }
}

/// What a `NodeListener` (or `RuntimeHook`) may return; it is logged and ignored.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The listener failed.
    #[error("listener failed: {detail}")]
    Failed {
        /// Description.
        detail: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed { detail: e.reason }
    }
}
