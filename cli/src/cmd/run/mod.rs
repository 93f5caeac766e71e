//! `clawnode run`: resolve the Gateway target ([`target`]), build the command registry
//! ([`registry`]), then serve until stopped ([`serve`]).

mod registry;
mod serve;
mod target;

use std::ops::ControlFlow;
use std::path::PathBuf;

use super::CmdResult;
use crate::secret;

/// `clawnode run` flags.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Gateway URL, e.g. ws://127.0.0.1:18789 (never picks up env or config credentials).
    #[arg(long)]
    pub(crate) url: Option<String>,
    /// Gateway host, as `openclaw node run --host` (default 127.0.0.1): with --port, --tls,
    /// --no-tls or --context-path it builds the URL `ws[s]://host:port/path`, which is then
    /// an explicit target like --url.
    #[arg(long, conflicts_with_all = ["url", "setup_code", "ssh"])]
    pub(crate) host: Option<String>,
    /// Gateway port for --host (default 18789).
    #[arg(long, conflicts_with_all = ["url", "setup_code", "ssh"])]
    pub(crate) port: Option<u16>,
    /// Use TLS (`wss://`) for the --host target (implied by --tls-fingerprint).
    #[arg(long, conflicts_with_all = ["url", "setup_code", "ssh", "no_tls"])]
    pub(crate) tls: bool,
    /// Plain `ws://` for the --host target (cannot be combined with --tls-fingerprint).
    #[arg(long, conflicts_with_all = ["url", "setup_code", "ssh", "tls_fingerprint"])]
    pub(crate) no_tls: bool,
    /// WebSocket context path of the --host target (e.g. /openclaw-gw).
    #[arg(long, conflicts_with_all = ["url", "setup_code", "ssh"])]
    pub(crate) context_path: Option<String>,
    /// Pin the Gateway's certificate (wss:// only): SHA-256 of its leaf certificate, 64 hex
    /// digits or 32 colon-separated pairs, optional `sha256:` prefix.
    #[arg(long)]
    pub(crate) tls_fingerprint: Option<String>,
    /// A local user (name or uid) besides this node's own and root whose listener may serve
    /// a plaintext loopback Gateway, e.g. the account a Gateway runs as when the node is a
    /// system service (repeatable; `any` turns the check off).
    #[arg(long = "gateway-user", value_name = "USER")]
    pub(crate) gateway_users: Vec<String>,
    /// Pair with a setup code (`oc-pair://…` or bare) instead of --url and credentials.
    #[arg(long, conflicts_with_all = ["url", "token", "token_file", "password", "password_file", "tls_fingerprint"])]
    pub(crate) setup_code: Option<String>,
    /// Connect to --url (or --host) with no shared secret: the Gateway authenticates this
    /// device by its Tailscale identity (Tailscale Serve run by the Gateway,
    /// `gateway.tailscale.mode: "serve"` with `gateway.auth.allowTailscale`); the device is
    /// then paired as usual and uses its device token.
    #[arg(long, conflicts_with_all = ["token", "token_file", "password", "password_file", "setup_code", "ssh"])]
    pub(crate) tailscale_auth: bool,
    /// Shared Gateway token.
    #[arg(long, conflicts_with = "token_file")]
    pub(crate) token: Option<String>,
    /// File holding the shared Gateway token.
    #[arg(long)]
    pub(crate) token_file: Option<PathBuf>,
    /// Shared Gateway password.
    #[arg(long, conflicts_with = "password_file")]
    pub(crate) password: Option<String>,
    /// File holding the Gateway password.
    #[arg(long)]
    pub(crate) password_file: Option<PathBuf>,
    /// ClawNode config file (default: $XDG_CONFIG_HOME/clawnode/config.toml).
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long)]
    pub(crate) state_dir: Option<PathBuf>,
    /// Name shown to operators (default: the host name).
    #[arg(long)]
    pub(crate) display_name: Option<String>,
    /// Commands to offer (comma-separated; default: all built-ins).
    #[arg(long, value_delimiter = ',')]
    pub(crate) commands: Option<Vec<String>>,
    /// Reach the Gateway through a managed SSH tunnel: `[user@]host[:sshport]` (a
    /// `~/.ssh/config` alias works). ClawNode runs the system `ssh` itself.
    #[arg(long, conflicts_with_all = ["url", "setup_code", "tls_fingerprint"])]
    pub(crate) ssh: Option<String>,
    /// SSH private key for --ssh (default: ssh's own choice).
    #[arg(long, requires = "ssh")]
    pub(crate) ssh_identity: Option<PathBuf>,
    /// The Gateway's port on the SSH host's loopback (default 18789).
    #[arg(long, requires = "ssh")]
    pub(crate) remote_port: Option<u16>,
    /// Extra ssh option `KEY=VALUE` (repeatable), e.g. `UserKnownHostsFile=/etc/clawnode/known_hosts`.
    #[arg(long = "ssh-option", requires = "ssh")]
    pub(crate) ssh_options: Vec<String>,
    /// What to do on a terminal error: exit (code 78) or wait paused.
    #[arg(long, value_enum, default_value = "exit")]
    pub(crate) on_pause: OnPause,
    /// Exit 0 once paired (`clawnode pair`).
    #[arg(skip)]
    pub(crate) until_paired: bool,
}

/// What `run` does on a terminal error.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnPause {
    // Exit with code 78. (No doc comments: clap would print them in --help.)
    Exit,
    // Stay paused until stopped.
    Wait,
}

/// Connects and serves until stopped, paused (with `--on-pause exit`) or paired (`pair`).
pub async fn run(args: RunArgs) -> CmdResult {
    secret::warn_flag("--token", args.token.is_some(), "--token-file");
    secret::warn_flag("--password", args.password.is_some(), "--password-file");
    let mut setup = target::Setup::load(&args)?;
    let target = match target::resolve(&args, &mut setup).await? {
        ControlFlow::Continue(t) => t,
        ControlFlow::Break(code) => return Ok(code),
    };
    let commands = registry::build(&args, &setup)?;
    serve::serve(&args, setup, target, commands).await
}
