//! `run`, step 2: the commands this node offers — the built-in Linux commands, the exec
//! host's and the config-declared ones — and the facts the node describes itself with.

use std::path::PathBuf;
use std::sync::Arc;

use clawnode::{CommandRegistry, InvokeContext};

use super::RunArgs;
use super::target::Setup;
use crate::{custom, instance, linux, status};

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

/// The registry and what the node says about itself.
pub(super) struct Commands {
    /// The handlers.
    pub registry: CommandRegistry,
    /// The declared commands, each with whether it is marked dangerous.
    pub declared: Vec<(String, bool)>,
    /// The name shown to operators.
    pub display_name: Option<String>,
    /// The persistent instance id.
    pub instance_id: Option<String>,
}

/// What one Gateway may invoke: its command list and where its exec approvals live.
pub(super) struct Scope {
    /// The `[[gateway]]` table's `commands` (`--commands` and then `[node] commands` are
    /// the fallbacks in that order: the flag wins).
    pub commands: Option<Vec<String>>,
    /// The directory of `exec-approvals.json` (the state directory, or
    /// `gateways/<name>/` in it for one of several Gateways).
    pub exec_dir: PathBuf,
    /// `[name] ` before the notes (several Gateways).
    pub label: String,
}

impl Scope {
    /// The single Gateway's scope: the state directory.
    pub fn single(setup: &Setup) -> Self {
        Scope { commands: setup.file.gateway.commands.clone(), exec_dir: setup.state_dir.clone(), label: String::new() }
    }
}

/// Builds the registry for `--commands` (or the Gateway's or the node's `commands`, else
/// everything), printing the dangerous-command and Gateway-allowlist notes.
pub(super) fn build(args: &RunArgs, setup: &Setup, scope: &Scope) -> Result<Commands, Box<dyn std::error::Error>> {
    let file = &setup.file;
    let display_name = args.display_name.clone().or(file.node.display_name.clone()).or_else(hostname);
    let instance_id = instance::load_or_create(&setup.state_dir);
    let info_ctx = linux::DeviceInfoContext {
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        display_name: display_name.clone(),
        instance_id: instance_id.clone(),
    };
    let selected = args.commands.clone().or(scope.commands.clone()).or(file.node.commands.clone());
    let mut exec_cfg = clawnode_exec::ExecConfig::in_state_dir(&scope.exec_dir);
    exec_cfg.reaper = exec_reaper();
    let exec_host = clawnode_exec::ExecHost::new(exec_cfg);
    let reserved: Vec<&str> = BUILTIN.iter().chain(linux::LINUX_DEFAULT_ALLOWED).copied().collect();
    let customs = custom::validate(&file.commands, &reserved, setup.config_path.parent()).map_err(|e| e.to_string())?;
    for c in customs.iter().filter(|c| c.dangerous) {
        status::line(&format!(
            "{}note: {} is marked dangerous; the Gateway runs it only if gateway.nodes.commands.allow lists it",
            scope.label, c.name
        ));
    }
    let registry = registry(selected.as_deref(), info_ctx, &exec_host, &customs)?;
    let declared = registry.commands();
    let outside = linux::outside_linux_defaults(&declared.iter().map(String::as_str).collect::<Vec<_>>());
    if !outside.is_empty() {
        status::line(&format!(
            "{}note: the Gateway's Linux defaults do not allow {}; add them to gateway.nodes.commands.allow on the Gateway to invoke them",
            scope.label,
            outside.join(", ")
        ));
    }
    let declared =
        declared.into_iter().map(|c| (c.clone(), customs.iter().any(|x| x.name == c && x.dangerous))).collect();
    Ok(Commands { registry, declared, display_name, instance_id })
}

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
            "system.which" => {
                r.register("system.which", |ctx: InvokeContext| async move { linux::system_which(ctx.params).await })
            }
            "system.notify" => {
                r.register("system.notify", |ctx: InvokeContext| async move { linux::system_notify(ctx.params).await })
            }
            "device.info" => {
                let c = info_ctx.clone();
                r.register("device.info", move |ctx: InvokeContext| linux::device_info(ctx.params, &c))
            }
            "device.status" => {
                r.register("device.status", |ctx: InvokeContext| async move { linux::device_status(ctx.params).await })
            }
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

/// The host name (`uname`), when not empty.
fn hostname() -> Option<String> {
    let n = rustix::system::uname().nodename().to_string_lossy().trim().to_string();
    (!n.is_empty()).then_some(n)
}
