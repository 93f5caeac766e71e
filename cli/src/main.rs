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

mod cmd;
mod config;
mod control;
mod custom;
mod dirs;
mod discovery;
#[cfg(feature = "dist-files")]
mod dist_files;
mod import;
mod instance;
mod linux;
mod pairing;
mod reach;
mod sdnotify;
mod secret;
mod service;
mod service_account;
mod status;
mod tunnel;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "clawnode", version, about = "ClawNode: an OpenClaw node host for Linux")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Connect to a Gateway and serve node commands until stopped.
    Run(Box<cmd::run::RunArgs>),
    /// Print this node's device identity (created on first use).
    Identity(cmd::identity::IdentityArgs),
    /// Show a wss:// Gateway's certificate fingerprint and pin it for that endpoint.
    Trust(cmd::trust::TrustArgs),
    /// Pair with a setup code (`oc-pair://…` or the bare code), then exit.
    Pair(cmd::pair::PairArgs),
    /// Exec approvals for `system.run` (deny by default): allow, list, remove.
    Exec(cmd::exec::ExecArgs),
    /// Install, inspect or remove the systemd service.
    Service(cmd::service::ServiceArgs),
    /// Take over the official node host's identity and node device token
    /// (`openclaw node run` state: state/openclaw.sqlite or the legacy identity/*.json).
    ImportOpenclaw(cmd::import::ImportArgs),
    /// Ask the running `clawnode run` (same state directory) for its status.
    Status(cmd::status::StatusArgs),
    /// Find Gateways on the local network (mDNS) and in wide-area DNS-SD domains, with the
    /// connection plan for each.
    Discover(cmd::discover::DiscoverArgs),
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

fn main() -> ExitCode {
    // Hidden mode (not a clap subcommand, not in --help): the exec runner starts one reaper
    // per `system.run` as `clawnode __exec-reaper <program> <argv0> <args>…`.
    let mut raw = std::env::args_os().skip(1);
    if raw.next().is_some_and(|a| a == clawnode_exec::reaper::REAPER_SUBCOMMAND) {
        let args: Vec<std::ffi::OsString> = raw.collect();
        return ExitCode::from(u8::try_from(clawnode_exec::reaper::reaper_main(&args)).unwrap_or(u8::MAX));
    }
    #[cfg(feature = "dist-files")]
    if std::env::args_os().nth(1).is_some_and(|a| a == dist_files::SUBCOMMAND) {
        let Some(dir) = std::env::args_os().nth(2) else {
            eprintln!("usage: clawnode {} <dir>", dist_files::SUBCOMMAND);
            return ExitCode::from(2);
        };
        return match dist_files::generate(std::path::Path::new(&dir)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("clawnode {}: {e}", dist_files::SUBCOMMAND);
                ExitCode::FAILURE
            }
        };
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
        Command::Run(args) => rt.block_on(cmd::run::run(*args)),
        Command::Identity(args) => cmd::identity::identity(args),
        Command::Trust(args) => rt.block_on(cmd::trust::trust(args)),
        Command::Pair(args) => rt.block_on(cmd::pair::pair(args)),
        Command::Exec(args) => cmd::exec::exec(args),
        Command::Service(args) => cmd::service::service(args),
        Command::ImportOpenclaw(args) => cmd::import::import_openclaw(args),
        Command::Status(args) => cmd::status::status(args),
        Command::Discover(args) => rt.block_on(cmd::discover::discover(args)),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("clawnode: {e}");
            ExitCode::from(2)
        }
    }
}
