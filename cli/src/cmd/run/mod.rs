//! `clawnode run`: resolve the Gateway target ([`target`]) and how to reach it ([`route`]:
//! proxy, upgrade headers), build the command registry ([`registry`]), then serve until
//! stopped ([`serve`]). With `[[gateway]]` tables in the config, one `run` serves each of
//! them from the same identity ([`route::many`]), each with its own node.

mod discovered;
mod registry;
mod route;
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
    /// Reach the Gateway through a proxy: `http://[user:pass@]host:port` (HTTP CONNECT) or
    /// `socks5://…` / `socks5h://…` (the proxy resolves the Gateway's name); `none` for none.
    /// TLS stays end to end; plaintext ws:// only to a loopback Gateway. Default:
    /// $CLAWNODE_PROXY (what `service install --proxy` writes), then the config's `proxy`.
    #[arg(long, conflicts_with = "ssh")]
    pub(crate) proxy: Option<String>,
    /// Use HTTPS_PROXY (wss://) / ALL_PROXY and NO_PROXY from the environment when no proxy
    /// is configured (ignored otherwise, so a stray variable never reroutes credentials).
    #[arg(long)]
    pub(crate) proxy_from_env: bool,
    /// What to do on a terminal error: exit (code 78) or wait paused.
    #[arg(long, value_enum, default_value = "exit")]
    pub(crate) on_pause: OnPause,
    /// Find the Gateway by DNS-SD (mDNS, and --domain by unicast DNS) and connect through
    /// the discovery plan; NAME picks one by name or id when several answer.
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "",
          conflicts_with_all = ["url", "setup_code", "ssh", "tls_fingerprint"])]
    pub(crate) discover: Option<String>,
    /// With --discover, first use of a TLS Gateway: the fingerprint verified out of band;
    /// pinned if the probed certificate matches it (never taken from the DNS-SD TXT).
    #[arg(long, value_name = "SHA256", requires = "discover")]
    pub(crate) trust_fingerprint: Option<String>,
    /// Browse flags for --discover.
    #[command(flatten)]
    pub(crate) browse: crate::cmd::discover::BrowseArgs,
    /// Exit 0 once paired (`clawnode pair`).
    #[arg(skip)]
    pub(crate) until_paired: bool,
    /// `CLAWNODE_PROXY`, read by [`run`] (`service install --proxy` writes it to the unit's
    /// environment file): used when `--proxy` is not given.
    #[arg(skip)]
    pub(crate) proxy_var: Option<String>,
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
pub async fn run(mut args: RunArgs) -> CmdResult {
    secret::warn_flag("--token", args.token.is_some(), "--token-file");
    secret::warn_flag("--password", args.password.is_some(), "--password-file");
    crate::reach::warn_proxy_flag(args.proxy.as_deref());
    args.proxy_var = crate::reach::proxy_var();
    let mut setup = target::Setup::load(&args)?;
    if !setup.file.gateways.is_empty() {
        let served = route::many(&args, &setup)?;
        return serve::serve(&args, setup, served).await;
    }
    // A setup code's endpoints are probed through the --proxy too.
    let explicit = match (&args.proxy, &args.proxy_var) {
        (Some(p), _) => Some((p.as_str(), "--proxy")),
        (None, Some(p)) => Some((p.as_str(), crate::reach::PROXY_VAR)),
        (None, None) => None,
    };
    if let Some((p, what)) = explicit.filter(|(p, _)| p.trim() != "none") {
        setup.transport.proxy = Some(clawnode::transport::Proxy::parse(p).map_err(|e| format!("{what}: {e}"))?);
    }
    let target = match target::resolve(&args, &mut setup).await? {
        ControlFlow::Continue(t) => t,
        ControlFlow::Break(code) => return Ok(code),
    };
    let table = (target.source == "clawnode config").then_some(&setup.file.gateway);
    let mut transport = setup.transport.clone();
    let note = route::apply(&args, &setup, table, &target.endpoint, target.tunnel.is_some(), &mut transport)?;
    let commands = registry::build(&args, &setup, &registry::Scope::single(&setup))?;
    serve::serve(&args, setup, vec![serve::Served { name: None, target, transport, commands, note }]).await
}
