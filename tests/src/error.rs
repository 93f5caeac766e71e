//! The testkit error type.

use std::path::PathBuf;
use std::time::Duration;

/// Everything that can go wrong in the testkit (outside of operator RPC errors, which
/// are [`crate::operator::OperatorError`] and convert into [`TestkitError::Operator`]).
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// An I/O operation failed; `context` says which.
    #[error("{context}: {source}")]
    Io {
        /// What the testkit was doing.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An external command (python3, pip, npm) failed.
    #[error(
        "command failed: {command} ({status})\n--- stdout tail ---\n{stdout_tail}\n--- stderr tail ---\n{stderr_tail}"
    )]
    Command {
        /// The command line, for humans.
        command: String,
        /// The exit status, for humans.
        status: String,
        /// The last few KiB of stdout.
        stdout_tail: String,
        /// The last few KiB of stderr.
        stderr_tail: String,
    },
    /// Provisioning went wrong in a way not covered by [`TestkitError::Command`].
    #[error("provisioning: {0}")]
    Provision(String),
    /// `cargo metadata` could not tell the workspace's target directory.
    #[error("target directory: {0}")]
    TargetDir(String),
    /// The real Gateway failed to start, exited, or misbehaved.
    #[error("gateway: {message}\ngateway log: {}\n--- gateway log tail ---\n{log_tail}", log_path.display())]
    Gateway {
        /// What happened.
        message: String,
        /// The full log file (kept on failure).
        log_path: PathBuf,
        /// The last few KiB of the log, ANSI codes stripped.
        log_tail: String,
    },
    /// A bounded wait ran out.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The budget that ran out.
        timeout: Duration,
    },
    /// A WebSocket (tungstenite) error.
    #[error("websocket: {0}")]
    WebSocket(#[from] Box<tokio_tungstenite::tungstenite::Error>),
    /// JSON (de)serialisation failed.
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// The WebSocket connection is closed (the string says how).
    #[error("connection closed: {0}")]
    Closed(String),
    /// The peer sent something the testkit did not expect.
    #[error("protocol: {0}")]
    Protocol(String),
    /// An operator RPC failed.
    #[error(transparent)]
    Operator(#[from] crate::operator::OperatorError),
}

impl TestkitError {
    /// Builds an [`TestkitError::Io`] with context.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TestkitError::Io { context: context.into(), source }
    }
}

impl From<tokio_tungstenite::tungstenite::Error> for TestkitError {
    fn from(e: tokio_tungstenite::tungstenite::Error) -> Self {
        TestkitError::WebSocket(Box::new(e))
    }
}
