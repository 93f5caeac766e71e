//! `clawnode pair <setup-code>` or `clawnode pair --discover [NAME]`: `run` with a setup code
//! (or through the discovery plan), until paired.

use std::path::PathBuf;

use super::CmdResult;
use super::run::{OnPause, RunArgs, run};

/// `clawnode pair` flags.
#[derive(clap::Args, Debug)]
pub struct PairArgs {
    /// The setup code (`oc-pair://…` or bare).
    #[arg(required_unless_present = "discover")]
    code: Option<String>,
    /// Instead of a setup code: find the Gateway by DNS-SD (NAME picks one) and pair through
    /// the discovery plan (first use: probe, show the fingerprint, ask or --trust-fingerprint).
    #[arg(long, value_name = "NAME", num_args = 0..=1, default_missing_value = "", conflicts_with = "code")]
    discover: Option<String>,
    /// With --discover: the fingerprint verified out of band.
    #[arg(long, value_name = "SHA256", requires = "discover")]
    trust_fingerprint: Option<String>,
    /// With --discover: file holding the shared Gateway token.
    #[arg(long, requires = "discover")]
    token_file: Option<PathBuf>,
    /// With --discover: file holding the Gateway password.
    #[arg(long, requires = "discover")]
    password_file: Option<PathBuf>,
    /// Browse flags for --discover.
    #[command(flatten)]
    browse: crate::cmd::discover::BrowseArgs,
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Name shown to operators (default: the host name).
    #[arg(long)]
    display_name: Option<String>,
    /// Commands to offer (comma-separated; default: all built-ins).
    #[arg(long, value_delimiter = ',')]
    commands: Option<Vec<String>>,
    /// Reach the Gateway through a proxy (`http://…` CONNECT or `socks5://…`), as `run --proxy`.
    #[arg(long)]
    proxy: Option<String>,
    /// Use HTTPS_PROXY / ALL_PROXY and NO_PROXY from the environment, as `run --proxy-from-env`.
    #[arg(long)]
    proxy_from_env: bool,
}

impl From<PairArgs> for RunArgs {
    fn from(p: PairArgs) -> Self {
        RunArgs {
            url: None,
            host: None,
            port: None,
            tls: false,
            no_tls: false,
            context_path: None,
            tls_fingerprint: None,
            gateway_users: vec![],
            setup_code: p.code,
            tailscale_auth: false,
            token: None,
            token_file: p.token_file,
            password: None,
            password_file: p.password_file,
            config: None,
            state_dir: p.state_dir,
            display_name: p.display_name,
            commands: p.commands,
            ssh: None,
            ssh_identity: None,
            remote_port: None,
            ssh_options: vec![],
            proxy: p.proxy,
            proxy_from_env: p.proxy_from_env,
            on_pause: OnPause::Exit,
            until_paired: true,
            proxy_var: None,
            discover: p.discover,
            trust_fingerprint: p.trust_fingerprint,
            browse: p.browse,
        }
    }
}

/// Pairs with the setup code, then exits 0 (78 on a terminal error).
pub async fn pair(args: PairArgs) -> CmdResult {
    run(args.into()).await
}
