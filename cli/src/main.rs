//! `clawnode`: the ClawNode node host for Linux.
//!
//! `clawnode run` connects to an OpenClaw Gateway as a node, gets paired, and answers
//! `node.invoke` for the built-in Linux commands (`system.which`, `system.notify`,
//! `device.info`, `device.status`). `clawnode identity --json` prints the device identity
//! for out-of-band checks. `clawnode trust --url wss://…` pins a Gateway's certificate after
//! showing its fingerprint; `clawnode pair <setup-code>` pairs with a setup code.
//! `clawnode status` asks a running node over its control socket; `clawnode import-openclaw`
//! takes over the official `openclaw node run` identity and device token.
#![forbid(unsafe_code)]
#![warn(clippy::unwrap_used, clippy::expect_used)]

mod config;
mod control;
mod custom;
mod import;
mod linux;
mod pairing;
mod sdnotify;
mod service;
mod service_account;
mod status;
mod tunnel;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use clawnode::HostStatsProvider;
use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::events::HostStats;
use clawnode::protocol::Role;
use clawnode::store::{CredentialStore, FileStore, PinStore, TokenKey};
use clawnode::transport::TransportConfig;
use clawnode::{
    ClientDescriptor, CommandError, CommandRegistry, Credentials, InvokeContext, Node, NodeConfig, PauseKind,
    PlaintextPolicy, Secret,
};

use crate::config::{ConfigError, Env, Explicit, FileConfig, OpenClawGateway, SavedEndpoint};

/// Exit code when the node paused on a terminal error (EX_CONFIG): do not restart blindly.
pub const EXIT_PAUSED: u8 = 78;

#[derive(Parser, Debug)]
#[command(name = "clawnode", version, about = "ClawNode: an OpenClaw node host for Linux")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Connect to a Gateway and serve node commands until stopped.
    Run(Box<RunArgs>),
    /// Print this node's device identity (created on first use).
    Identity {
        /// Print `{"deviceId":…,"publicKey":…}`.
        #[arg(long)]
        json: bool,
        /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Show a wss:// Gateway's certificate fingerprint and pin it for that endpoint.
    Trust(TrustArgs),
    /// Pair with a setup code (`oc-pair://…` or the bare code), then exit.
    Pair(PairArgs),
    /// Exec approvals for `system.run` (deny by default): allow, list, remove.
    Exec(ExecArgs),
    /// Install, inspect or remove the systemd service.
    Service(ServiceArgs),
    /// Take over the official node host's identity and node device token
    /// (`openclaw node run` state: state/openclaw.sqlite or the legacy identity/*.json).
    ImportOpenclaw {
        /// ClawNode state directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// The official host's state directory (default: $OPENCLAW_STATE_DIR, else ~/.openclaw).
        #[arg(long)]
        from: Option<PathBuf>,
        /// Gateway URL the token belongs to (default: the node host's configured gateway).
        #[arg(long)]
        url: Option<String>,
        /// Replace an existing, different ClawNode identity.
        #[arg(long)]
        force: bool,
        /// Node runtime (≥ 24) used to read the official host's SQLite state when this build
        /// lacks the `import-openclaw` feature (default: `node` on PATH).
        #[arg(long)]
        node: Option<PathBuf>,
    },
    /// Ask the running `clawnode run` (same state directory) for its status.
    Status {
        /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// Print the snapshot as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
struct ServiceArgs {
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

#[derive(Subcommand, Debug)]
enum ServiceAction {
    /// Write the unit (hardened, Type=notify) and a 0600 environment file with the secrets,
    /// then enable and start it.
    Install {
        /// How much the hardening confines system.run children (see the README).
        #[arg(long, value_enum, default_value = "confined")]
        exec_profile: service::ExecProfile,
        /// Gateway URL (goes to the environment file as OPENCLAW_GATEWAY_URL).
        #[arg(long, conflicts_with = "ssh")]
        url: Option<String>,
        /// Shared Gateway token (goes to the environment file only). Visible in `ps` while
        /// the installer runs: prefer --token-file.
        #[arg(long, conflicts_with = "token_file")]
        token: Option<String>,
        /// File holding the shared Gateway token (its content goes to the 0600 environment
        /// file, never to the unit or a command line).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Managed SSH tunnel target, as for `run --ssh`.
        #[arg(long)]
        ssh: Option<String>,
        /// SSH key for --ssh.
        #[arg(long, requires = "ssh")]
        ssh_identity: Option<PathBuf>,
        /// Remote Gateway port for --ssh.
        #[arg(long, requires = "ssh")]
        remote_port: Option<u16>,
        /// ClawNode config file for the service.
        #[arg(long)]
        config: Option<PathBuf>,
        /// State directory (writable for the service; created 0700). Default for a system
        /// unit: /var/lib/clawnode (StateDirectory=, owned by the `clawnode` user).
        #[arg(long)]
        state_dir: Option<PathBuf>,
        /// A system unit that runs as root instead of the dedicated `clawnode` user: every
        /// system.run child then runs as root. Only with --exec-profile host.
        #[arg(long)]
        run_as_root: bool,
        /// Write the files only (no systemctl, no user creation).
        #[arg(long)]
        no_start: bool,
    },
    /// `systemctl status` of the unit and the node's own status.
    Status,
    /// Stop, disable and remove the unit and its environment file.
    Uninstall {
        /// Remove the files only (no systemctl).
        #[arg(long)]
        no_stop: bool,
    },
}

#[derive(clap::Args, Debug)]
struct ExecArgs {
    #[command(subcommand)]
    action: ExecAction,
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long, global = true)]
    state_dir: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum ExecAction {
    /// Allow commands matching PATTERN: a path glob (`/usr/bin/uname`, `~/bin/*`, `/opt/**`)
    /// or a bare command name glob (`uname`, matched for PATH lookups only).
    Allow {
        /// The pattern.
        pattern: String,
        /// Regex the space-joined arguments must match (e.g. `^-a$`); default: any.
        #[arg(long = "args")]
        arg_pattern: Option<String>,
        /// Agent the entry applies to (default `*`: every agent).
        #[arg(long, default_value = "*")]
        agent: String,
    },
    /// Show the policy and the allowlist.
    List {
        /// Print the document as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove every allowlist entry with exactly this pattern.
    Remove {
        /// The pattern.
        pattern: String,
    },
}

#[derive(clap::Args, Debug)]
struct TrustArgs {
    /// The Gateway, e.g. wss://gateway.example:18789.
    #[arg(long)]
    url: String,
    /// Pin without asking (for scripts): only after verifying the fingerprint out of band.
    #[arg(long)]
    yes: bool,
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
struct PairArgs {
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
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Gateway URL, e.g. ws://127.0.0.1:18789 (never picks up env or config credentials).
    #[arg(long)]
    url: Option<String>,
    /// Pin the Gateway's certificate (wss:// only): SHA-256 of its leaf certificate, 64 hex
    /// digits or 32 colon-separated pairs, optional `sha256:` prefix.
    #[arg(long)]
    tls_fingerprint: Option<String>,
    /// A local user (name or uid) besides this node's own and root whose listener may serve
    /// a plaintext loopback Gateway, e.g. the account a Gateway runs as when the node is a
    /// system service (repeatable; `any` turns the check off).
    #[arg(long = "gateway-user", value_name = "USER")]
    gateway_users: Vec<String>,
    /// Pair with a setup code (`oc-pair://…` or bare) instead of --url and credentials.
    #[arg(long, conflicts_with_all = ["url", "token", "token_file", "password", "password_file", "tls_fingerprint"])]
    setup_code: Option<String>,
    /// Shared Gateway token.
    #[arg(long, conflicts_with = "token_file")]
    token: Option<String>,
    /// File holding the shared Gateway token.
    #[arg(long)]
    token_file: Option<PathBuf>,
    /// Shared Gateway password.
    #[arg(long, conflicts_with = "password_file")]
    password: Option<String>,
    /// File holding the Gateway password.
    #[arg(long)]
    password_file: Option<PathBuf>,
    /// ClawNode config file (default: $XDG_CONFIG_HOME/clawnode/config.toml).
    #[arg(long)]
    config: Option<PathBuf>,
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Name shown to operators (default: the host name).
    #[arg(long)]
    display_name: Option<String>,
    /// Commands to offer (comma-separated; default: all built-ins).
    #[arg(long, value_delimiter = ',')]
    commands: Option<Vec<String>>,
    /// Reach the Gateway through a managed SSH tunnel: `[user@]host[:sshport]` (a
    /// `~/.ssh/config` alias works). ClawNode runs the system `ssh` itself.
    #[arg(long, conflicts_with_all = ["url", "setup_code", "tls_fingerprint"])]
    ssh: Option<String>,
    /// SSH private key for --ssh (default: ssh's own choice).
    #[arg(long, requires = "ssh")]
    ssh_identity: Option<PathBuf>,
    /// The Gateway's port on the SSH host's loopback (default 18789).
    #[arg(long, requires = "ssh")]
    remote_port: Option<u16>,
    /// Extra ssh option `KEY=VALUE` (repeatable), e.g. `UserKnownHostsFile=/etc/clawnode/known_hosts`.
    #[arg(long = "ssh-option", requires = "ssh")]
    ssh_options: Vec<String>,
    /// What to do on a terminal error: exit (code 78) or wait paused.
    #[arg(long, value_enum, default_value = "exit")]
    on_pause: OnPause,
    /// Exit 0 once paired (`clawnode pair`).
    #[arg(skip)]
    until_paired: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum OnPause {
    Exit,
    Wait,
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(PathBuf::from)
}

fn xdg(var: &str, fallback: &str) -> PathBuf {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => home().unwrap_or_else(|| PathBuf::from(".")).join(fallback),
    }
}

fn default_state_dir() -> PathBuf {
    match std::env::var_os("CLAWNODE_STATE_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => xdg("XDG_STATE_HOME", ".local/state").join("clawnode"),
    }
}

fn default_config_path() -> PathBuf {
    xdg("XDG_CONFIG_HOME", ".config").join("clawnode").join("config.toml")
}

fn openclaw_config_path() -> Option<PathBuf> {
    match std::env::var_os("OPENCLAW_STATE_DIR").filter(|v| !v.is_empty()) {
        Some(d) => Some(PathBuf::from(d).join("openclaw.json")),
        None => home().map(|h| h.join(".openclaw").join("openclaw.json")),
    }
}

fn init_tracing() {
    // A plain level (error|warn|info|debug|trace); no regex-based filter, to keep the binary small.
    let level = std::env::var("CLAWNODE_LOG")
        .ok()
        .and_then(|v| v.trim().parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::WARN);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false)
        .init();
}

/// The per-run exec reaper: this binary re-executed in its hidden mode, resolved once.
fn exec_reaper() -> Option<clawnode_exec::reaper::ReaperCommand> {
    match std::env::current_exe() {
        Ok(exe) => Some(clawnode_exec::reaper::ReaperCommand::subcommand_of(exe)),
        Err(e) => {
            tracing::warn!(error = %e, "own executable unknown: system.run timeouts kill the process group only");
            None
        }
    }
}

fn main() -> ExitCode {
    // Hidden mode (not a clap subcommand, not in --help): the exec runner starts one reaper
    // per `system.run` as `clawnode __exec-reaper <program> <argv0> <args>…`.
    let mut raw = std::env::args_os().skip(1);
    if raw.next().is_some_and(|a| a == clawnode_exec::reaper::REAPER_SUBCOMMAND) {
        let args: Vec<std::ffi::OsString> = raw.collect();
        return ExitCode::from(u8::try_from(clawnode_exec::reaper::reaper_main(&args)).unwrap_or(u8::MAX));
    }
    // Not dumpable: a process of the same uid (every `system.run` child, any local process
    // of the service account) cannot read `/proc/<node>/environ` (the Gateway token), `mem`,
    // nor ptrace the node; no core dump holds its secrets. A child's `execve` resets it, so
    // the children (and the reaper) are unaffected. Root (CAP_SYS_PTRACE) still can.
    let _ = rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable);
    let cli = Cli::parse();
    init_tracing();
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("clawnode: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Command::Identity { json, state_dir } => identity(json, state_dir),
        Command::Run(args) => rt.block_on(run(*args)),
        Command::Trust(args) => rt.block_on(trust(args)),
        Command::Exec(args) => exec_cmd(args),
        Command::Service(args) => service_cmd(args),
        Command::Status { state_dir, json } => status_cmd(state_dir, json),
        Command::ImportOpenclaw { state_dir, from, url, force, node } => import_cmd(state_dir, from, url, force, node),
        Command::Pair(p) => rt.block_on(run(RunArgs {
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
            on_pause: OnPause::Exit,
            until_paired: true,
        })),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("clawnode: {e}");
            ExitCode::from(2)
        }
    }
}

fn identity(json: bool, state_dir: Option<PathBuf>) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let store = FileStore::open(state_dir.unwrap_or_else(default_state_dir))?;
    let now = clawnode::clock::Clock::now_ms(&clawnode::clock::SystemClock);
    let id = clawnode::store::load_or_create_identity(&store, &clawnode::clock::SystemRandom::new(), now)?;
    if json {
        println!("{}", serde_json::json!({ "deviceId": id.device_id(), "publicKey": id.public_key_b64url() }));
    } else {
        println!("deviceId:  {}", id.device_id());
        println!("publicKey: {}", id.public_key_b64url());
        println!("state:     {}", store.dir().display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `clawnode import-openclaw`: identity and node device token from the official host.
fn import_cmd(
    state_dir: Option<PathBuf>,
    from: Option<PathBuf>,
    url: Option<String>,
    force: bool,
    node: Option<PathBuf>,
) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let from = match from {
        Some(f) => f,
        None => match std::env::var_os("OPENCLAW_STATE_DIR").filter(|v| !v.is_empty()) {
            Some(d) => PathBuf::from(d),
            None => home().ok_or("no --from and no HOME")?.join(".openclaw"),
        },
    };
    let state_dir = state_dir.unwrap_or_else(default_state_dir);
    let imported = import::read(&from, node.as_deref())?;
    let device_id = imported.identity.device_id().to_string();
    let url = url.or(imported.gateway_url.clone());
    let origin = match &url {
        Some(u) => Some(Endpoint::parse(u)?.origin().to_string()),
        None => None,
    };
    if imported.token.is_some() && origin.is_none() {
        return Err(
            "the node host config names no Gateway: pass --url (the Gateway its device token belongs to)".into()
        );
    }
    let store = FileStore::open(&state_dir)?;
    match store.load_identity()? {
        Some(existing) if existing.device_id() != device_id && !force => {
            return Err(format!(
                "{} already holds another identity (device {}); pass --force to replace it with {device_id}",
                state_dir.display(),
                existing.device_id()
            )
            .into());
        }
        Some(existing) if existing.device_id() == device_id => {}
        _ => store.save_identity(&imported.identity, imported.created_at_ms)?,
    }
    println!("identity: device {device_id} (from {})", imported.source);
    match (&imported.token, &origin) {
        (Some((token, scopes, updated)), Some(origin)) => {
            let key = TokenKey { origin: origin.clone(), device_id: device_id.clone(), role: Role::Node };
            let stored = clawnode::store::StoredToken {
                token: Secret::new(token.as_str()),
                scopes: scopes.clone(),
                issued_at_ms: None,
                updated_at_ms: *updated,
            };
            store.save_token(&key, &stored)?;
            println!("device token: role node for {origin}");
        }
        _ => println!("device token: none stored by the node host (the device pairs on first connect)"),
    }
    if let Some(inst) = &imported.instance_id {
        let path = state_dir.join("instance-id");
        if force || !path.exists() {
            std::fs::write(&path, inst)?;
        }
    }
    if let Some(u) = &url {
        let saved = state_dir.join("endpoint.json");
        if force || !saved.exists() {
            let ep = SavedEndpoint { url: Endpoint::parse(u)?.origin().to_string(), tls_fingerprint: None };
            clawnode::store::write_private_atomic(&saved, &serde_json::to_vec_pretty(&ep)?)?;
        }
        println!("next: stop `openclaw node run`, then `clawnode run --url {u} --state-dir {}`", state_dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// `clawnode status`: the running node's snapshot over its control socket.
fn status_cmd(state_dir: Option<PathBuf>, json: bool) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let dir = state_dir.unwrap_or_else(default_state_dir);
    match control::request_status(&dir) {
        Ok(v) if json => println!("{v}"),
        Ok(v) => print!("{}", control::render(&v)),
        Err(e @ control::ClientError::NotRunning { .. }) => {
            eprintln!("clawnode: {e}");
            return Ok(ExitCode::from(3));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}

fn plaintext_policy() -> PlaintextPolicy {
    if std::env::var("OPENCLAW_ALLOW_INSECURE_PRIVATE_WS").as_deref() == Ok("1") {
        PlaintextPolicy::PrivateNetwork
    } else {
        PlaintextPolicy::LoopbackOnly
    }
}

fn colon_form(pin: &TlsPin) -> String {
    pin.as_bytes().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// `clawnode trust --url wss://…`: first-use probe, show, confirm, store.
async fn trust(args: TrustArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let endpoint = Endpoint::parse(&args.url)?;
    if !endpoint.tls {
        return Err("clawnode trust needs a wss:// URL (plaintext endpoints have no certificate to pin)".into());
    }
    let store = FileStore::open(args.state_dir.unwrap_or_else(default_state_dir))?;
    let origin = endpoint.origin().to_string();
    let transport = TransportConfig { plaintext: plaintext_policy(), ..TransportConfig::default() };
    let probe = clawnode::transport::probe_tls(&endpoint, &transport).await?;
    println!("gateway:     {origin}");
    println!("fingerprint: sha256:{}", probe.fingerprint);
    println!("             {}", colon_form(&probe.fingerprint));
    match &probe.system_error {
        None => println!("system trust: passes"),
        Some(e) => println!("system trust: fails ({e})"),
    }
    match store.load_pin(&origin)? {
        Some(old) if old.ct_eq(&probe.fingerprint) => {
            println!("already pinned for {origin}");
            return Ok(ExitCode::SUCCESS);
        }
        Some(old) => println!("this REPLACES the pin stored for {origin}: {old}"),
        None => {}
    }
    let confirmed = if args.yes {
        true
    } else if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        print!(
            "Verify this fingerprint out of band (e.g. `openssl x509 -noout -fingerprint -sha256 -in gateway-cert.pem` on the Gateway host). Trust it? [y/N] "
        );
        std::io::Write::flush(&mut std::io::stdout())?;
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer)?;
        matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
    } else {
        println!("not pinned: no terminal to ask; re-run with --yes after verifying the fingerprint");
        false
    };
    if !confirmed {
        println!("not pinned");
        return Ok(ExitCode::from(1));
    }
    store.save_pin(&origin, &probe.fingerprint)?;
    println!("pinned {} for {origin} (in {})", probe.fingerprint, store.dir().display());
    Ok(ExitCode::SUCCESS)
}

fn instance_id(dir: &Path) -> Option<String> {
    let path = dir.join("instance-id");
    if let Ok(s) = std::fs::read_to_string(&path) {
        let s = s.trim().to_string();
        if !s.is_empty() {
            return Some(s);
        }
    }
    let id = clawnode::clock::uuid_v4(&clawnode::clock::SystemRandom::new()).ok()?;
    std::fs::write(&path, &id).ok()?;
    Some(id)
}

fn to_command_error(e: linux::LinuxCommandError) -> CommandError {
    CommandError::new(e.code, e.message)
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

/// `clawnode service install|status|uninstall`.
fn service_cmd(args: ServiceArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let unit_dir = args.unit_dir.clone().unwrap_or_else(|| service::default_unit_dir(args.user));
    let (unit_path, env_path) = service::paths(&unit_dir);
    match args.action {
        ServiceAction::Install {
            exec_profile,
            url,
            token,
            token_file,
            ssh,
            ssh_identity,
            remote_port,
            config,
            state_dir,
            run_as_root,
            no_start,
        } => {
            warn_secret_flag("--token", token.is_some(), "--token-file");
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
            // The secret goes to the 0600 environment file only: never the unit, never argv.
            let secret = match (token, token_file) {
                (Some(t), _) => Some(Secret::new(t.trim())),
                (None, Some(p)) => Some(config::read_secret_file(&p)?),
                _ => None,
            };
            // A tunnel target never takes env credentials (remote-access.md §4): its token
            // goes to a 0600 file in the state directory that the unit names (written below,
            // once the state directory is set up, and owned by the service user).
            let mut ssh_token: Option<(PathBuf, Secret)> = None;
            match secret {
                Some(t) if ssh.is_some() => {
                    let path = state_dir.join("ssh-gateway-token");
                    run_args.extend(["--token-file".into(), path.to_string_lossy().into_owned()]);
                    ssh_token = Some((path, t));
                }
                Some(t) => vars.push(("OPENCLAW_GATEWAY_TOKEN", t.expose().to_string())),
                None => {}
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
            if let Some((path, token)) = &ssh_token {
                clawnode::store::write_private_atomic(path, token.expose().as_bytes())?;
                if let Some((uid, gid)) = owner {
                    std::os::unix::fs::chown(path, Some(uid), Some(gid))?;
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

/// `clawnode exec allow|list|remove`.
fn exec_cmd(args: ExecArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    use clawnode_exec::approvals;
    let state_dir = args.state_dir.unwrap_or_else(default_state_dir);
    clawnode::store::ensure_private_dir(&state_dir)?;
    let store = clawnode_exec::ApprovalsStore::in_state_dir(&state_dir);
    match args.action {
        ExecAction::Allow { pattern, arg_pattern, agent } => {
            if pattern.trim().is_empty() {
                return Err("the pattern must not be empty".into());
            }
            if let Some(a) = &arg_pattern {
                regex_check(a)?;
            }
            let snap = store
                .update(|f| approvals::add_allow_entry(f, &agent, pattern.trim(), arg_pattern.as_deref(), None))?;
            let p = snap.policy(if agent == "*" { clawnode_exec::DEFAULT_AGENT } else { &agent });
            println!(
                "allowed {}{} for agent {agent} (security {}, ask {}); {}",
                pattern.trim(),
                arg_pattern.map(|a| format!(" with arguments matching {a}")).unwrap_or_default(),
                p.security.as_str(),
                p.ask.as_str(),
                store.path().display()
            );
            if !clawnode_exec::policy::is_path_pattern(pattern.trim()) {
                println!(
                    "note: a bare name matches PATH lookups only (`{}`, not `/usr/bin/{}`)",
                    pattern.trim(),
                    pattern.trim()
                );
            }
        }
        ExecAction::List { json } => {
            let snap = store.load()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&snap.redacted_file())?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "file: {}{}",
                store.path().display(),
                if snap.exists { "" } else { " (absent: every command is denied)" }
            );
            let mut agents: Vec<String> = vec![clawnode_exec::DEFAULT_AGENT.to_string()];
            if let Some(a) = snap.file.get("agents").and_then(serde_json::Value::as_object) {
                agents.extend(a.keys().filter(|k| k.as_str() != "main").cloned());
            }
            for agent in agents {
                let p = snap.policy(&agent);
                println!(
                    "agent {agent}: security {}, ask {}, askFallback {}",
                    p.security.as_str(),
                    p.ask.as_str(),
                    p.ask_fallback.as_str()
                );
                for e in &p.allowlist {
                    match &e.arg_pattern {
                        Some(a) => println!("  {}  (args ~ {a})", e.pattern),
                        None => println!("  {}", e.pattern),
                    }
                }
            }
        }
        ExecAction::Remove { pattern } => {
            let mut removed = 0;
            store.update(|f| removed = approvals::remove_allow_entries(f, pattern.trim()))?;
            if removed == 0 {
                println!("no entry with pattern {}", pattern.trim());
                return Ok(ExitCode::from(1));
            }
            println!(
                "removed {removed} entr{} with pattern {}",
                if removed == 1 { "y" } else { "ies" },
                pattern.trim()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn regex_check(re: &str) -> Result<(), Box<dyn std::error::Error>> {
    let doc = serde_json::json!({"version": 1, "agents": {"x": {"allowlist": [{"pattern": "x", "argPattern": re}]}}});
    clawnode_exec::approvals::validate(&doc).map_err(|e| e.into())
}

/// Built-in commands: the Linux ones and the exec host's.
const BUILTIN: &[&str] = &[
    "system.which",
    "system.notify",
    "device.info",
    "device.status",
    "system.run.prepare",
    "system.run",
    "system.execApprovals.get",
    "system.execApprovals.set",
];

/// The built-in Linux commands, the exec host's and the config-declared ones.
fn registry(
    selected: Option<&[String]>,
    info_ctx: linux::DeviceInfoContext,
    exec: &Arc<clawnode_exec::ExecHost>,
    customs: &[custom::CustomCommand],
) -> Result<CommandRegistry, String> {
    let wanted: Vec<String> = match selected {
        Some(list) => {
            for c in list {
                if !BUILTIN.contains(&c.as_str()) && !customs.iter().any(|x| &x.name == c) {
                    return Err(format!(
                        "unknown command {c:?}; built-ins are {} (others must be declared in [[commands]])",
                        BUILTIN.join(", ")
                    ));
                }
            }
            list.to_vec()
        }
        None => BUILTIN.iter().map(|s| s.to_string()).chain(customs.iter().map(|c| c.name.clone())).collect(),
    };
    let mut r = CommandRegistry::new();
    let info_ctx = Arc::new(info_ctx);
    for name in &wanted {
        let res = match name.as_str() {
            "system.which" => r.register("system.which", |ctx: InvokeContext| async move {
                linux::system_which(ctx.params).await.map_err(to_command_error)
            }),
            "system.notify" => r.register("system.notify", |ctx: InvokeContext| async move {
                linux::system_notify(ctx.params).await.map_err(to_command_error)
            }),
            "device.info" => {
                let c = info_ctx.clone();
                r.register("device.info", move |ctx: InvokeContext| {
                    let fut = linux::device_info(ctx.params, &c);
                    async move { fut.await.map_err(to_command_error) }
                })
            }
            "device.status" => r.register("device.status", |ctx: InvokeContext| async move {
                linux::device_status(ctx.params).await.map_err(to_command_error)
            }),
            _ => continue,
        };
        res.map_err(|e| e.to_string())?;
    }
    // The exec commands come as a set (prepare/approvals are part of system.run's contract).
    exec.register_filtered(&mut r, |name| wanted.iter().any(|c| c == name)).map_err(|e| e.to_string())?;
    for c in customs {
        if wanted.iter().any(|w| w == &c.name) {
            let cmd = Arc::new(c.clone());
            r.register(&c.name, move |ctx: InvokeContext| custom::invoke(cmd.clone(), ctx))
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(r)
}

fn host_stats_provider() -> HostStatsProvider {
    Arc::new(|| {
        let v = linux::host_stats();
        let u = |k: &str| v.get(k).and_then(serde_json::Value::as_u64);
        let load = v.get("loadAverage").and_then(|l| l.as_array()).and_then(|a| {
            let f: Vec<f64> = a.iter().filter_map(serde_json::Value::as_f64).collect();
            (f.len() == 3).then(|| [f[0], f[1], f[2]])
        });
        HostStats {
            cpu_count: u("cpuCount").and_then(|c| u32::try_from(c).ok()).unwrap_or(1),
            load_average: load,
            memory_total_bytes: u("memoryTotalBytes").unwrap_or(0),
            memory_free_bytes: u("memoryFreeBytes").unwrap_or(0),
            disk_total_bytes: u("diskTotalBytes"),
            disk_available_bytes: u("diskAvailableBytes"),
        }
    })
}

fn hostname() -> Option<String> {
    let n = rustix::system::uname().nodename().to_string_lossy().trim().to_string();
    (!n.is_empty()).then_some(n)
}

async fn run(args: RunArgs) -> Result<ExitCode, Box<dyn std::error::Error>> {
    warn_secret_flag("--token", args.token.is_some(), "--token-file");
    warn_secret_flag("--password", args.password.is_some(), "--password-file");
    // Config files.
    let (config_path, config_required) = match &args.config {
        Some(p) => (p.clone(), true),
        None => (default_config_path(), false),
    };
    let file = FileConfig::load(&config_path, config_required)?;
    let openclaw = match openclaw_config_path() {
        Some(p)
            if args.url.is_none()
                && args.setup_code.is_none()
                && std::env::var_os("OPENCLAW_GATEWAY_URL").is_none() =>
        {
            OpenClawGateway::load(&p)?
        }
        _ => None,
    };
    let state_dir = args.state_dir.clone().or(file.node.state_dir.clone()).unwrap_or_else(default_state_dir);
    // The state directory is checked here, once: created 0700 or tightened, refused if it
    // is a symlink or another user's.
    let file_store = Arc::new(FileStore::open(&state_dir)?);
    let store: Arc<dyn CredentialStore> = file_store.clone();
    let users = if args.gateway_users.is_empty() {
        file.gateway.users.clone().unwrap_or_default()
    } else {
        args.gateway_users.clone()
    };
    let mut transport = TransportConfig {
        plaintext: plaintext_policy(),
        loopback_listeners: config::loopback_listeners(&users)?,
        ..TransportConfig::default()
    };

    let now = clawnode::clock::Clock::now_ms(&clawnode::clock::SystemClock);
    let identity =
        clawnode::store::load_or_create_identity(store.as_ref(), &clawnode::clock::SystemRandom::new(), now)?;
    // A managed SSH tunnel (--ssh, or [ssh] in the config when no other target is given).
    let ssh_spec: Option<tunnel::TunnelSpec> = {
        let from_file = args.url.is_none() && args.setup_code.is_none();
        let target = args.ssh.clone().or(if from_file { file.ssh.target.clone() } else { None });
        match target {
            Some(t) => {
                let remote = args.remote_port.or(file.ssh.remote_port).unwrap_or(clawnode::endpoint::DEFAULT_PORT);
                let target = clawnode::endpoint::SshTarget::parse(&t, remote)?;
                let base = config_path.parent().map(Path::to_path_buf).unwrap_or_default();
                let identity = args.ssh_identity.clone().or(file.ssh.identity.as_ref().map(|i| base.join(i)));
                let mut options = file.ssh.options.clone();
                options.extend(args.ssh_options.iter().cloned());
                if let Some(bad) = options.iter().find(|o| !o.contains('=') || o.starts_with('-')) {
                    return Err(format!("ssh option {bad:?} must look like KEY=VALUE").into());
                }
                let program = std::env::var_os("CLAWNODE_SSH").map(PathBuf::from).unwrap_or_else(|| "ssh".into());
                let socket = tunnel::socket_path(&state_dir);
                Some(tunnel::TunnelSpec { target, identity, options, program, socket })
            }
            None => None,
        }
    };
    let mut pending_pairing: Option<pairing::Pending> = None;
    let mut tunnel_handle: Option<tunnel::Tunnel> = None;
    let mut tunnel_events: Option<tokio::sync::mpsc::UnboundedReceiver<tunnel::TunnelEvent>> = None;
    let (endpoint, credentials, source) = if let Some(spec) = ssh_spec {
        let origin = clawnode::endpoint::GatewayOrigin::SshTunnel(spec.target.clone()).to_string();
        // Explicit credentials only (never the environment or openclaw.json), checked
        // before ssh starts; exit 78 (EX_CONFIG) so a unit does not restart in a loop.
        let explicit = Explicit {
            url: None,
            token: match (&args.token, &args.token_file) {
                (Some(t), _) => Some(Secret::new(t.trim())),
                (None, Some(p)) => Some(config::read_secret_file(p)?),
                _ => None,
            },
            password: match (&args.password, &args.password_file) {
                (Some(t), _) => Some(Secret::new(t.trim())),
                (None, Some(p)) => Some(config::read_secret_file(p)?),
                _ => None,
            },
        };
        let key = TokenKey { origin: origin.clone(), device_id: identity.device_id().into(), role: Role::Node };
        let credentials = match tunnel::credentials(&explicit, matches!(store.load_token(&key), Ok(Some(_))), &origin) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("clawnode: {e}");
                return Ok(ExitCode::from(EXIT_PAUSED));
            }
        };
        status::line(&format!("starting ssh tunnel to {origin}"));
        let target = spec.target.clone();
        let started = match tunnel::Tunnel::spawn(spec) {
            Ok((t, mut events)) => {
                // Until ssh serves the socket; SIGTERM/SIGINT meanwhile stop ssh too.
                let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
                let first = tokio::select! {
                    r = tunnel::Tunnel::first_up(&mut events, |ev| {
                        if let tunnel::TunnelEvent::Restarting { error, delay } = ev {
                            status::line(&format!("ssh tunnel down: {error}; restarting in {delay:?}"));
                        }
                    }) => Some(r),
                    _ = term.recv() => None,
                    _ = tokio::signal::ctrl_c() => None,
                };
                match first {
                    Some(Ok(())) => Ok((t, events)),
                    Some(Err(e)) => {
                        t.shutdown().await;
                        Err(Some(e))
                    }
                    None => {
                        t.shutdown().await;
                        Err(None)
                    }
                }
            }
            Err(e) => Err(Some(e)),
        };
        match started {
            Ok((t, events)) => {
                status::line(&format!("ssh tunnel up: {} → {origin} (ssh pid {})", t.socket.display(), t.pid()));
                // The logical target on the remote loopback; the bytes go through the socket.
                let endpoint = Endpoint::parse(&format!("ws://127.0.0.1:{}", target.remote_port))?.via_tunnel(target);
                transport.unix_socket = Some(t.socket.clone());
                tunnel_handle = Some(t);
                tunnel_events = Some(events);
                (endpoint, credentials, "--ssh")
            }
            Err(Some(e)) => {
                status::line(&format!("paused: ssh tunnel: {e}"));
                return Ok(ExitCode::from(EXIT_PAUSED));
            }
            Err(None) => {
                status::line("stopped");
                return Ok(ExitCode::SUCCESS);
            }
        }
    } else {
        match &args.setup_code {
            Some(code) => {
                // A setup code: no config or env credentials, the bootstrap token only. Its pin
                // is used in memory and stored only after hello-ok on that origin
                // (`pending_pin`); a different pin stored earlier (`clawnode trust`) is never
                // replaced: refused before any I/O.
                let mut code = clawnode::setup_code::decode(code, now)?;
                for e in &mut code.endpoints {
                    let origin = e.origin().to_string();
                    let stored = if e.tls { file_store.load_pin(&origin)? } else { None };
                    match (e.pin, stored) {
                        (Some(code_pin), Some(stored)) if !code_pin.ct_eq(&stored) => {
                            status::line(&format!(
                                "paused: pinned endpoint conflict: the setup code pins sha256:{code_pin} for {origin}, \
                                 but sha256:{stored} is pinned there (clawnode trust); nothing was sent. If the Gateway's \
                                 certificate really changed, verify it out of band and run `clawnode trust --url {}`, then pair again",
                                e.url()
                            ));
                            return Ok(ExitCode::from(EXIT_PAUSED));
                        }
                        (None, Some(stored)) => *e = e.clone().with_pin(Some(stored))?,
                        _ => {}
                    }
                }
                let endpoint = match clawnode::setup_code::select_endpoint(&code, &transport).await {
                    Ok(e) => e,
                    Err(errors) => {
                        for (e, err) in &errors {
                            status::line(&format!("setup code endpoint {e}: {err}"));
                        }
                        if let Some((_, err)) = errors.iter().find(|(_, err)| err.is_terminal()) {
                            status::line(&format!("paused: {err}"));
                            return Ok(ExitCode::from(EXIT_PAUSED));
                        }
                        code.primary().cloned().ok_or("the setup code has no endpoint")?
                    }
                };
                pending_pairing = Some(pairing::Pending::new(&endpoint));
                let creds = Credentials { bootstrap_token: Some(code.bootstrap_token.clone()), ..Default::default() };
                (endpoint, creds, "setup code")
            }
            None => {
                let explicit = Explicit {
                    url: args.url.clone(),
                    token: match (&args.token, &args.token_file) {
                        (Some(t), _) => Some(Secret::new(t.trim())),
                        (None, Some(p)) => Some(config::read_secret_file(p)?),
                        _ => None,
                    },
                    password: match (&args.password, &args.password_file) {
                        (Some(t), _) => Some(Secret::new(t.trim())),
                        (None, Some(p)) => Some(config::read_secret_file(p)?),
                        _ => None,
                    },
                };
                // Needed before resolution: whether a device token for an explicit URL's origin exists.
                let has_stored = |url: &str| -> bool {
                    let Ok(ep) = Endpoint::parse(url) else { return false };
                    let key = TokenKey {
                        origin: ep.origin().to_string(),
                        device_id: identity.device_id().into(),
                        role: Role::Node,
                    };
                    matches!(store.load_token(&key), Ok(Some(_)))
                };
                let saved = SavedEndpoint::load(&state_dir)?;
                let resolved: config::Resolved = config::resolve(
                    &explicit,
                    &Env::from_process(),
                    &file,
                    config_path.parent(),
                    openclaw.as_ref(),
                    saved.as_ref(),
                    &has_stored,
                )
                .map_err(|e: ConfigError| e.to_string())?;
                let mut endpoint = Endpoint::parse(&resolved.url)?;
                // Pin: --tls-fingerprint, else the configured one, else the one stored for this endpoint.
                let (pin_text, what) = match (&args.tls_fingerprint, &resolved.tls_fingerprint) {
                    (Some(p), _) => (Some(p.clone()), "--tls-fingerprint"),
                    (None, Some(p)) => (Some(p.clone()), "configured tlsFingerprint"),
                    _ => (None, ""),
                };
                let pin = match pin_text {
                    Some(t) => Some(
                        TlsPin::parse(&t)
                            .map_err(|e| ConfigError::Pin { what: what.into(), message: e.to_string() })?,
                    ),
                    None if endpoint.tls => file_store.load_pin(&endpoint.origin().to_string())?,
                    None => None,
                };
                endpoint = endpoint.with_pin(pin)?;
                let source = match resolved.source {
                    config::Source::Flag => "--url",
                    config::Source::Env => "OPENCLAW_GATEWAY_URL",
                    config::Source::ClawnodeConfig => "clawnode config",
                    config::Source::OpenClawConfig => "openclaw.json",
                    config::Source::SavedEndpoint => "saved endpoint",
                    config::Source::Default => "default",
                };
                let creds =
                    Credentials { shared_token: resolved.token, password: resolved.password, bootstrap_token: None };
                (endpoint, creds, source)
            }
        }
    };

    let display_name = args.display_name.clone().or(file.node.display_name.clone()).or_else(hostname);
    let instance = instance_id(&state_dir);
    let info_ctx = linux::DeviceInfoContext {
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        display_name: display_name.clone(),
        instance_id: instance.clone(),
    };
    let selected = args.commands.clone().or(file.node.commands.clone());
    let mut exec_cfg = clawnode_exec::ExecConfig::in_state_dir(&state_dir);
    exec_cfg.reaper = exec_reaper();
    let exec_host = clawnode_exec::ExecHost::new(exec_cfg);
    let reserved: Vec<&str> = BUILTIN.iter().chain(linux::LINUX_DEFAULT_ALLOWED).copied().collect();
    let customs = custom::validate(&file.commands, &reserved, config_path.parent()).map_err(|e| e.to_string())?;
    for c in customs.iter().filter(|c| c.dangerous) {
        status::line(&format!(
            "note: {} is marked dangerous; the Gateway runs it only if gateway.nodes.commands.allow lists it",
            c.name
        ));
    }
    let registry = registry(selected.as_deref(), info_ctx, &exec_host, &customs)?;
    let declared = registry.commands();
    let outside = linux::outside_linux_defaults(&declared.iter().map(String::as_str).collect::<Vec<_>>());
    if !outside.is_empty() {
        status::line(&format!(
            "note: the Gateway's Linux defaults do not allow {}; add them to gateway.nodes.commands.allow on the Gateway to invoke them",
            outside.join(", ")
        ));
    }

    let mut client = ClientDescriptor::linux_node_host(env!("CARGO_PKG_VERSION"));
    client.display_name = display_name;
    client.instance_id = instance;
    let mut cfg = NodeConfig::new(endpoint.clone(), client);
    cfg.credentials = credentials;
    transport.plaintext = plaintext_policy();
    cfg.transport = transport;
    cfg.path_env = std::env::var("PATH").ok();
    cfg.host_stats = Some(host_stats_provider());

    let node = Node::new(cfg, registry, store)?;
    status::line(&format!("clawnode {} — device {}", env!("CARGO_PKG_VERSION"), node.device_id()));
    let pinned = match endpoint.pin {
        Some(p) => format!(", pinned sha256:{p}"),
        None if endpoint.tls => ", system trust".to_string(),
        None => String::new(),
    };
    status::line(&format!("gateway {endpoint} (from {source}{pinned}); state {}", state_dir.display()));
    let mut states = node.subscribe_state();
    let control_shared = Arc::new(control::Shared {
        gateway: endpoint.origin().to_string(),
        commands: declared.iter().map(|c| (c.clone(), customs.iter().any(|x| x.name == *c && x.dangerous))).collect(),
        last_error: std::sync::Mutex::new(None),
        device_id: node.device_id().to_string(),
    });
    let node_for_control = node.clone();
    let _control = match control::serve(
        &state_dir,
        control_shared.clone(),
        node.subscribe_state(),
        node.invoke_stats(),
        Arc::new(move || node_for_control.connect_attempts()),
    ) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(e.to_string().into()),
        Err(e) => {
            status::line(&format!("note: no control socket (`clawnode status` unavailable): {e}"));
            None
        }
    };
    node.start();
    // systemd: ready as soon as the supervisor runs (a node awaiting approval must not hit
    // the start timeout), then STATUS= lines and watchdog pings.
    let notifier = sdnotify::Notifier::from_env();
    notifier.send("READY=1");
    notifier.status("starting");
    let watchdog_period = sdnotify::watchdog_interval();
    let mut watchdog = tokio::time::interval(watchdog_period.unwrap_or(std::time::Duration::from_secs(3600)));

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    // SIGUSR1: network regained → retry now (`Node::nudge`). SIGUSR2: toggle suspension
    // (`Node::suspend`/`unsuspend`: no socket while suspended, e.g. from a systemd sleep hook).
    let mut sigusr1 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())?;
    let mut sigusr2 = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined2())?;
    let mut printer = status::Printer::default();
    let code = loop {
        tokio::select! {
            changed = states.changed() => {
                if changed.is_err() {
                    break ExitCode::SUCCESS;
                }
                let s = states.borrow_and_update().clone();
                printer.print(&s, node.connect_attempts());
                match &s {
                    clawnode::NodeState::BackingOff { reason, .. } => {
                        if let Ok(mut e) = control_shared.last_error.lock() {
                            *e = Some(reason.clone());
                        }
                    }
                    clawnode::NodeState::Paused(p) => {
                        if let Ok(mut e) = control_shared.last_error.lock() {
                            *e = Some(format!("paused: {}", p.message));
                        }
                    }
                    _ => {}
                }
                notifier.status(&status::short(&s));
                if let clawnode::NodeState::Paused(p) = &s {
                    match &p.kind {
                        PauseKind::PinMismatch(m) => status::line(&format!(
                            "  to accept the presented certificate after verifying sha256:{} out of band: `clawnode trust --url {}`, then restart",
                            m.observed,
                            endpoint.url()
                        )),
                        PauseKind::TlsUntrusted { observed } => status::line(&format!(
                            "  to pin it after verifying sha256:{observed} out of band: `clawnode trust --url {}` or --tls-fingerprint",
                            endpoint.url()
                        )),
                        _ => {}
                    }
                    if args.on_pause == OnPause::Exit {
                        break ExitCode::from(EXIT_PAUSED);
                    }
                }
                let hello_ok =
                    matches!(s, clawnode::NodeState::Ready { .. } | clawnode::NodeState::AwaitingCommandApproval { .. });
                if hello_ok && let Some(p) = pending_pairing.take() {
                    // hello-ok on the setup code's origin: now its pin and the endpoint are kept.
                    if let Err(e) = p.persist(file_store.as_ref(), &state_dir) {
                        status::line(&format!("paired, but saving the endpoint failed: {e}"));
                    }
                }
                if args.until_paired && hello_ok {
                    status::line(&format!(
                        "paired with {}; `clawnode run` now uses this saved endpoint",
                        endpoint.origin()
                    ));
                    break ExitCode::SUCCESS;
                }
            }
            ev = async {
                match tunnel_events.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match ev {
                    Some(tunnel::TunnelEvent::Up { pid }) => {
                        status::line(&format!("ssh tunnel up again (ssh pid {pid})"));
                        node.nudge();
                    }
                    Some(tunnel::TunnelEvent::Restarting { error, delay }) => {
                        status::line(&format!("ssh tunnel down: {error}; restarting in {delay:?}"));
                    }
                    Some(tunnel::TunnelEvent::Warning(error)) => status::line(&format!("ssh tunnel: {error}")),
                    Some(tunnel::TunnelEvent::Paused(error)) => {
                        status::line(&format!("paused: ssh tunnel: {error}"));
                        if args.on_pause == OnPause::Exit {
                            break ExitCode::from(EXIT_PAUSED);
                        }
                    }
                    None => tunnel_events = None,
                }
            }
            _ = watchdog.tick() => {
                if watchdog_period.is_some() {
                    notifier.send("WATCHDOG=1");
                }
            }
            _ = tokio::signal::ctrl_c() => break ExitCode::SUCCESS,
            _ = sigterm.recv() => break ExitCode::SUCCESS,
            _ = sigusr1.recv() => {
                status::line("SIGUSR1: reconnecting now");
                node.nudge();
            }
            _ = sigusr2.recv() => {
                let suspend = !node.is_suspended();
                status::line(if suspend { "SIGUSR2: suspending" } else { "SIGUSR2: resuming from suspension" });
                node.set_suspended(suspend);
            }
        }
    };
    notifier.send("STOPPING=1");
    node.stop().await;
    if let Some(t) = tunnel_handle {
        t.shutdown().await;
    }
    status::line("stopped");
    Ok(code)
}

/// A secret given as a flag value is readable by every local user (`ps`, `/proc/<pid>/cmdline`)
/// for as long as the process runs: warn and name the file flag.
fn warn_secret_flag(flag: &str, given: bool, file_flag: &str) {
    if given {
        eprintln!("{}", secret_flag_warning(flag, file_flag));
    }
}

fn secret_flag_warning(flag: &str, file_flag: &str) -> String {
    format!(
        "clawnode: warning: {flag} puts the secret on the command line, where other local users can read it \
         (ps, /proc/<pid>/cmdline); use {file_flag} <file> (mode 0600) instead"
    )
}
