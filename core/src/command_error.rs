//! Command errors as handlers return them and as they go on the wire.

use crate::protocol::InvokeResultError;

/// A handler failure: a stable UPPER_SNAKE `code` token and human text.
///
/// On the wire it becomes `{code: "TOKEN", message: "TOKEN: text"}` (commands.md §2), which
/// the Gateway shows the operator as `"TOKEN: TOKEN: text"`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CommandError {
    code: String,
    message: String,
}

impl CommandError {
    /// A new error. A `code` that is not an UPPER_SNAKE token is replaced by `UNAVAILABLE`
    /// (and kept in the message) so the wire contract always holds.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        let code = code.into();
        let message = message.into();
        if is_token(&code) {
            CommandError { code, message }
        } else {
            CommandError { code: "UNAVAILABLE".into(), message: format!("{code}: {message}") }
        }
    }

    /// `INVALID_REQUEST`.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new("INVALID_REQUEST", message)
    }

    /// `UNAVAILABLE`.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new("UNAVAILABLE", message)
    }

    /// The code token.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The human text (without the token prefix).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The wire form: the token in `code`, and `message` starting with `"TOKEN: "`.
    pub fn to_wire(&self) -> InvokeResultError {
        let prefix = format!("{}:", self.code);
        let message = if self.message.starts_with(&prefix) {
            self.message.clone()
        } else {
            format!("{}: {}", self.code, self.message)
        };
        InvokeResultError { code: self.code.clone(), message }
    }
}

fn is_token(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form() {
        let e = CommandError::new("CAMERA_DISABLED", "enable the camera");
        let w = e.to_wire();
        assert_eq!(w.code, "CAMERA_DISABLED");
        assert_eq!(w.message, "CAMERA_DISABLED: enable the camera");
        let e = CommandError::new("NOT_FOUND", "NOT_FOUND: already prefixed");
        assert_eq!(e.to_wire().message, "NOT_FOUND: already prefixed");
        let e = CommandError::new("bad code", "x");
        assert_eq!(e.code(), "UNAVAILABLE");
        assert_eq!(e.to_wire().message, "UNAVAILABLE: bad code: x");
        assert_eq!(e.to_string(), "UNAVAILABLE: bad code: x");
    }
}
