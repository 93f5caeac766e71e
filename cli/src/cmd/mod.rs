//! One module per subcommand; `main.rs` only parses and dispatches.

pub mod discover;
pub mod exec;
pub mod identity;
pub mod import;
pub mod pair;
pub mod run;
pub mod service;
pub mod status;
pub mod trust;

use std::process::ExitCode;

use clawnode::PlaintextPolicy;

/// What a subcommand returns: its exit code, or an error printed as `clawnode: …` (exit 2).
pub type CmdResult = Result<ExitCode, Box<dyn std::error::Error>>;

/// Exit code when the node paused on a terminal error (EX_CONFIG): do not restart blindly.
pub const EXIT_PAUSED: u8 = 78;

/// Plaintext `ws://` to private addresses only with `OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1`.
pub fn plaintext_policy() -> PlaintextPolicy {
    if std::env::var("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS").as_deref() == Ok("1") {
        PlaintextPolicy::PrivateNetwork
    } else {
        PlaintextPolicy::LoopbackOnly
    }
}
