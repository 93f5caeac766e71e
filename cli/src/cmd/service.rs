//! `clawnode service install|status|uninstall`: the systemd unit.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use clawnode::Secret;
use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::transport::Proxy;

use super::CmdResult;
use crate::dirs::{absolute, default_state_dir};
use crate::{reach, secret, service, service_account};

/// `clawnode service` flags and action.
#[derive(clap::Args, Debug)]
pub struct ServiceArgs {
    #[command(subcommand)]
    action: ServiceAction,
    /// A user unit (`systemctl --user`) instead of a system unit.
    #[arg(long, global = true)]
    user: bool,
    /// Where the unit and its environment file go (default /etc/systemd/system, or
    /// ~/.config/systemd/user with --user).
    #[arg(long, global = true)]
    unit_dir: Option<PathBuf>,
}

/// `clawnode service` actions.
#[derive(Subcommand, Debug)]
pub enum ServiceAction {
    /// Write the unit (hardened, Type=notify) and a 0600 environment file with the secrets,
    /// then enable and start it.
    Install(Box<InstallArgs>),
    /// `systemctl status` of the unit and the node's own status.
    Status,
    /// Stop, disable and remove the unit and its environment file.
    Uninstall {
        /// Remove the files only (no systemctl).
        #[arg(long)]
        no_stop: bool,
    },
}

/// `clawnode service install` flags.
#[derive(clap::Args, Debug)]
pub struct InstallArgs {
    /// How much the hardening confines system.run children (see the README).
    #[arg(long, value_enum, default_value = "confined")]
    pub(crate) exec_profile: service::ExecProfile,
    /// Gateway URL (goes to the environment file as OPENCLAW_GATEWAY_URL).
    #[arg(long, conflicts_with = "ssh")]
    pub(crate) url: Option<String>,
    /// Shared Gateway token (goes to the environment file only). Visible in `ps` while
    /// the installer runs: prefer --token-file.
    #[arg(long, conflicts_with = "token_file")]
    pub(crate) token: Option<String>,
    /// File holding the shared Gateway token (its content goes to the 0600 environment
    /// file, never to the unit or a command line).
    #[arg(long)]
    pub(crate) token_file: Option<PathBuf>,
    /// Shared Gateway password (environment file only; visible in `ps` while the
    /// installer runs: prefer --password-file).
    #[arg(long, conflicts_with = "password_file")]
    pub(crate) password: Option<String>,
    /// File holding the Gateway password (its content goes to the 0600 environment file,
    /// or to a 0600 file in the state directory with --ssh).
    #[arg(long)]
    pub(crate) password_file: Option<PathBuf>,
    /// Pin the Gateway's certificate (wss:// only), as for `run --tls-fingerprint`.
    #[arg(long, conflicts_with = "ssh")]
    pub(crate) tls_fingerprint: Option<String>,
    /// Allow plaintext ws:// to a private address (tailnet, LAN): the break-glass
    /// `OPENCLAW_ALLOW_INSECURE_PRIVATE_WS=1`, written to the environment file.
    #[arg(long)]
    pub(crate) allow_insecure_private_ws: bool,
    /// Carry a pairing done by `clawnode pair` (identity, device token, pin, saved
    /// endpoint, instance id) from this state directory into the service's (default: your
    /// own state directory, when it holds a setup code's outcome).
    #[arg(long)]
    pub(crate) from_state_dir: Option<PathBuf>,
    /// Reach the Gateway through a proxy, as `run --proxy` (`http://[user:pass@]host:port`
    /// for HTTP CONNECT, `socks5h://…` for SOCKS5; `none` overrides the config's `proxy`).
    /// Written to the 0600 environment file as CLAWNODE_PROXY, never to the unit. A password
    /// in it is visible in `ps` while the installer runs: prefer --proxy-from-env.
    #[arg(long, value_name = "URL", conflicts_with = "ssh")]
    pub(crate) proxy: Option<String>,
    /// Run the service with `--proxy-from-env`, and copy this shell's HTTPS_PROXY /
    /// ALL_PROXY / NO_PROXY (those set) into the 0600 environment file.
    #[arg(long, conflicts_with = "ssh")]
    pub(crate) proxy_from_env: bool,
    /// Managed SSH tunnel target, as for `run --ssh`.
    #[arg(long)]
    pub(crate) ssh: Option<String>,
    /// SSH key for --ssh.
    #[arg(long, requires = "ssh")]
    pub(crate) ssh_identity: Option<PathBuf>,
    /// Remote Gateway port for --ssh.
    #[arg(long, requires = "ssh")]
    pub(crate) remote_port: Option<u16>,
    /// ClawNode config file for the service.
    #[arg(long)]
    pub(crate) config: Option<PathBuf>,
    /// State directory (writable for the service; created 0700). Default for a system
    /// unit: /var/lib/clawnode (StateDirectory=, owned by the `clawnode` user).
    #[arg(long)]
    pub(crate) state_dir: Option<PathBuf>,
    /// A system unit that runs as root instead of the dedicated `clawnode` user: every
    /// system.run child then runs as root. Only with --exec-profile host.
    #[arg(long)]
    pub(crate) run_as_root: bool,
    /// Write the files only (no systemctl, no user creation).
    #[arg(long)]
    pub(crate) no_start: bool,
}

/// `--proxy` → `CLAWNODE_PROXY`; `--proxy-from-env` → the run flag and this shell's
/// `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` (upper case, as `run` reads them first).
fn proxy_vars(
    proxy: Option<&str>,
    from_env: bool,
    vars: &mut Vec<(&str, String)>,
    run_args: &mut Vec<String>,
) -> Result<(), String> {
    if let Some(p) = proxy.map(str::trim) {
        if p != "none" {
            Proxy::parse(p).map_err(|e| format!("--proxy: {e}"))?;
        }
        vars.push((reach::PROXY_VAR, p.to_string()));
    }
    if from_env {
        let env = reach::ProxyEnv::from_process();
        let mut copied = Vec::new();
        for (var, value) in [("HTTPS_PROXY", env.https), ("ALL_PROXY", env.all), ("NO_PROXY", env.no_proxy)] {
            let Some(v) = value else { continue };
            if var != "NO_PROXY" {
                Proxy::parse(&v).map_err(|e| format!("{var} (--proxy-from-env): {e}"))?;
            }
            vars.push((var, v));
            copied.push(var);
        }
        if copied.is_empty() {
            println!(
                "note: --proxy-from-env: neither HTTPS_PROXY nor ALL_PROXY is set here; the service will use \
                 only what systemd gives it (DefaultEnvironment=, or lines added to its environment file)"
            );
        } else {
            println!("--proxy-from-env: {} copied into the environment file", copied.join(", "));
        }
        run_args.push("--proxy-from-env".into());
    }
    Ok(())
}

/// Runs one `clawnode service` action.
pub fn service(args: ServiceArgs) -> CmdResult {
    let unit_dir = args.unit_dir.clone().unwrap_or_else(|| service::default_unit_dir(args.user));
    let (unit_path, env_path) = service::paths(&unit_dir);
    match args.action {
        ServiceAction::Install(install) => {
            let InstallArgs {
                exec_profile,
                url,
                token,
                token_file,
                password,
                password_file,
                tls_fingerprint,
                allow_insecure_private_ws,
                proxy,
                proxy_from_env,
                from_state_dir,
                ssh,
                ssh_identity,
                remote_port,
                config,
                state_dir,
                run_as_root,
                no_start,
            } = *install;
            secret::warn_flag("--token", token.is_some(), "--token-file");
            secret::warn_flag("--password", password.is_some(), "--password-file");
            reach::warn_proxy_flag(proxy.as_deref());
            if run_as_root && (args.user || exec_profile != service::ExecProfile::Host) {
                return Err("--run-as-root is for a system unit with --exec-profile host only".into());
            }
            let service_user = (!args.user && !run_as_root).then(|| service::SERVICE_USER.to_string());
            let exe = std::env::current_exe()?;
            let exe = std::fs::canonicalize(&exe).unwrap_or(exe);
            let state_dir = absolute(&state_dir.unwrap_or_else(|| {
                if args.user { default_state_dir() } else { PathBuf::from(service::SYSTEM_STATE_DIR) }
            }));
            let mut run_args: Vec<String> = vec!["--state-dir".into(), state_dir.to_string_lossy().into_owned()];
            if let Some(c) = config {
                run_args.extend(["--config".into(), absolute(&c).to_string_lossy().into_owned()]);
            }
            if let Some(t) = &ssh {
                run_args.extend(["--ssh".into(), t.clone()]);
                if let Some(i) = ssh_identity {
                    run_args.extend(["--ssh-identity".into(), absolute(&i).to_string_lossy().into_owned()]);
                }
                if let Some(p) = remote_port {
                    run_args.extend(["--remote-port".into(), p.to_string()]);
                }
            }
            let mut vars: Vec<(&str, String)> = Vec::new();
            if let Some(u) = url {
                Endpoint::parse(&u)?;
                vars.push(("OPENCLAW_GATEWAY_URL", u));
            }
            if allow_insecure_private_ws {
                vars.push(("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS", "1".into()));
            }
            // A proxy may carry a password: the environment file only (never the unit's
            // command line), checked here so a typo fails now rather than at every start.
            proxy_vars(proxy.as_deref(), proxy_from_env, &mut vars, &mut run_args)?;
            // A pin is no secret: it goes to the command line, in its canonical form.
            if let Some(f) = &tls_fingerprint {
                let pin = TlsPin::parse(f).map_err(|e| format!("--tls-fingerprint: {e}"))?;
                run_args.extend(["--tls-fingerprint".into(), pin.to_string()]);
            }
            // Secrets go to the 0600 environment file only: never the unit, never argv.
            let token = secret::read(token.as_deref(), token_file.as_deref(), "--token")?;
            let password = secret::read(password.as_deref(), password_file.as_deref(), "--password")?;
            // A tunnel target never takes env credentials (remote-access.md §4): its secrets
            // go to 0600 files in the state directory that the unit names (written below,
            // once the state directory is set up, and owned by the service user).
            let mut ssh_secrets: Vec<(PathBuf, Secret)> = Vec::new();
            for (s, var, file, flag) in [
                (token, "OPENCLAW_GATEWAY_TOKEN", "ssh-gateway-token", "--token-file"),
                (password, "OPENCLAW_GATEWAY_PASSWORD", "ssh-gateway-password", "--password-file"),
            ] {
                match s {
                    Some(s) if ssh.is_some() => {
                        let path = state_dir.join(file);
                        run_args.extend([flag.into(), path.to_string_lossy().into_owned()]);
                        ssh_secrets.push((path, s));
                    }
                    Some(s) => vars.push((var, s.expose().to_string())),
                    None => {}
                }
            }
            let env_text = service::env_text(&vars)?;
            let spec = service::UnitSpec {
                exe,
                run_args,
                state_dir: state_dir.clone(),
                env_file: absolute(&env_path),
                user: args.user,
                profile: exec_profile,
                service_user: service_user.clone(),
            };
            let owner = match &service_user {
                Some(user) if !no_start => Some(service_account::ensure(user, &state_dir)?),
                Some(user) => {
                    println!(
                        "note: the unit runs as {user}; before starting, create it ({}) and give it {} (chown -R {user}: …, mode 0700)",
                        service_account::shell_line(&service_account::useradd_command(user, &state_dir)),
                        state_dir.display()
                    );
                    None
                }
                None => {
                    clawnode::store::ensure_private_dir(&state_dir)?;
                    None
                }
            };
            for (path, secret) in &ssh_secrets {
                clawnode::store::write_private_atomic(path, secret.expose().as_bytes())?;
                if let Some((uid, gid)) = owner {
                    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
                }
            }
            // A setup code's outcome (`clawnode pair`), from the installer's state directory.
            let from = from_state_dir.map(|d| absolute(&d)).or_else(|| {
                let own = absolute(&default_state_dir());
                (own != state_dir && own.join("endpoint.json").exists()).then_some(own)
            });
            if let Some(from) = from.filter(|f| *f != state_dir) {
                let carried = service::carry_pairing(&from, &state_dir, owner)?;
                if !carried.is_empty() {
                    println!("carried from {}: {}", from.display(), carried.join(", "));
                }
            }
            std::fs::create_dir_all(&unit_dir)?;
            clawnode::store::write_private_atomic(&env_path, env_text.as_bytes())?;
            std::fs::write(&unit_path, service::unit_text(&spec))?;
            println!("wrote {} and {} (0600)", unit_path.display(), env_path.display());
            if !no_start {
                let ok = service::systemctl(args.user, &["daemon-reload"])
                    && service::systemctl(args.user, &["enable", "--now", service::UNIT_NAME]);
                if !ok {
                    return Ok(ExitCode::from(1));
                }
                println!("enabled and started {}", service::UNIT_NAME);
            }
        }
        ServiceAction::Status => {
            let ok = service::systemctl(args.user, &["status", "--no-pager", service::UNIT_NAME]);
            if !ok {
                return Ok(ExitCode::from(3));
            }
        }
        ServiceAction::Uninstall { no_stop } => {
            if !no_stop {
                service::systemctl(args.user, &["disable", "--now", service::UNIT_NAME]);
            }
            for p in [&unit_path, &env_path] {
                match std::fs::remove_file(p) {
                    Ok(()) => println!("removed {}", p.display()),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e.into()),
                }
            }
            if !no_stop {
                service::systemctl(args.user, &["daemon-reload"]);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
