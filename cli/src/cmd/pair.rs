//! `clawnode pair <setup-code>`: `run` with a setup code, until paired.

use std::path::PathBuf;

use super::CmdResult;
use super::run::{OnPause, RunArgs, run};

/// `clawnode pair` flags.
#[derive(clap::Args, Debug)]
pub struct PairArgs {
    /// The setup code (`oc-pair://…` or bare).
    code: String,
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
            tls_fingerprint: None,
            gateway_users: vec![],
            setup_code: Some(p.code),
            token: None,
            token_file: None,
            password: None,
            password_file: None,
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
        }
    }
}

/// Pairs with the setup code, then exits 0 (78 on a terminal error).
pub async fn pair(args: PairArgs) -> CmdResult {
    run(args.into()).await
}
