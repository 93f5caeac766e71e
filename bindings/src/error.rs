//! One error enum per surface.

/// Errors of the `Node` API.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum NodeError {
    /// The configuration is not usable (bad URL, setup code, pin, command name).
    #[error("invalid configuration: {message}")]
    InvalidConfig {
        /// What is wrong.
        message: String,
    },
    /// The secure store failed or holds unreadable data (never silently replaced).
    #[error("credential store: {message}")]
    Store {
        /// What failed.
        message: String,
    },
    /// No live Gateway session (`sendEvent` before `Ready`).
    #[error("not connected")]
    NotConnected,
    /// A Gateway request failed.
    #[error("gateway request failed: {message}")]
    Request {
        /// The Gateway's error code, when it sent one.
        code: Option<String>,
        /// Description.
        message: String,
    },
    /// `shutdown()` was called: the library is no longer usable in this process.
    #[error("the clawnode runtime was shut down")]
    ShutDown,
    /// A bug (e.g. a Rust panic, caught).
    #[error("internal error: {message}")]
    Internal {
        /// Description.
        message: String,
    },
}

impl From<clawnode::NodeError> for NodeError {
    fn from(e: clawnode::NodeError) -> Self {
        match e {
            clawnode::NodeError::Store(s) => NodeError::Store { message: s.to_string() },
            clawnode::NodeError::NotConnected => NodeError::NotConnected,
            clawnode::NodeError::PinOnPlaintext => NodeError::InvalidConfig { message: e.to_string() },
            clawnode::NodeError::Request(r) => {
                let code = match &r {
                    clawnode::session::RequestError::Rejected(shape) => Some(shape.code.clone()),
                    _ => None,
                };
                NodeError::Request { code, message: r.to_string() }
            }
        }
    }
}

/// What a `CommandHandler` returns on failure. `code` is an UPPER_SNAKE token
/// (`CAMERA_PERMISSION_REQUIRED`, `INVALID_REQUEST`, …); the operator sees
/// `"CODE: message"`. A code that is not a token is sent as `UNAVAILABLE`.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum CommandFailure {
    /// The command failed.
    #[error("{code}: {message}")]
    Failed {
        /// UPPER_SNAKE code token.
        code: String,
        /// Human text.
        message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for CommandFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        CommandFailure::Failed { code: "UNAVAILABLE".into(), message: format!("handler raised: {}", e.reason) }
    }
}

/// What a `SecureStore` returns on failure.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum StoreFailure {
    /// The platform store failed (locked keychain, I/O error, …).
    #[error("secure store failed: {message}")]
    Failed {
        /// Description.
        message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for StoreFailure {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        StoreFailure::Failed { message: e.reason }
    }
}

/// What a `NodeListener` (or `RuntimeHook`) may return; it is logged and ignored.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum ListenerError {
    /// The listener failed.
    #[error("listener failed: {message}")]
    Failed {
        /// Description.
        message: String,
    },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for ListenerError {
    fn from(e: uniffi::UnexpectedUniFFICallbackError) -> Self {
        ListenerError::Failed { message: e.reason }
    }
}
