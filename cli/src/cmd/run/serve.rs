//! `run`, step 3: start one node per Gateway (one, or one per `[[gateway]]` table, all
//! from the same identity and store), the control socket and systemd notifications, then
//! follow states, tunnel events and signals until stopped, paused (`--on-pause exit`: with
//! several Gateways, once every one is paused) or paired.
//!
//! Each node has its own supervisor, session, state and control-socket entry; an invoke
//! is answered on the session it came on (the core's rule), so Gateways never see each
//! other's traffic.

use std::process::ExitCode;
use std::sync::Arc;

use clawnode::endpoint::Endpoint;
use clawnode::transport::TransportConfig;
use clawnode::{ClientDescriptor, Node, NodeConfig, NodeState, PauseKind};

use super::registry::Commands;
use super::target::{Setup, Target};
use super::{OnPause, RunArgs};
use crate::cmd::{CmdResult, EXIT_PAUSED, plaintext_policy};
use crate::tunnel::TunnelEvent;
use crate::{control, linux, pairing, sdnotify, status};

/// One Gateway to serve.
pub(super) struct Served {
    /// Its name (`[[gateway]]`), `None` for the single Gateway.
    pub name: Option<String>,
    /// Where it is and what is offered there.
    pub target: Target,
    /// How the bytes get there (proxy, headers, listener rule).
    pub transport: TransportConfig,
    /// The commands it may invoke.
    pub commands: Commands,
    /// Proxy and headers, for the status line (no credentials).
    pub note: String,
}

/// A running node and what `serve` keeps about it.
struct Running {
    node: Node,
    endpoint: Endpoint,
    printer: status::Printer,
    shared: Arc<control::Shared>,
    pending_pairing: Option<pairing::Pending>,
    /// Where the target came from (`--url`, a setup code, discovery, …).
    source: &'static str,
    paused: bool,
}

/// Runs one node per entry of `gateways` until stopped.
pub(super) async fn serve(args: &RunArgs, setup: Setup, gateways: Vec<Served>) -> CmdResult {
    let Setup { state_dir, file_store, store, .. } = setup;
    let mut tunnel = None;
    let mut running = Vec::with_capacity(gateways.len());
    for (i, g) in gateways.into_iter().enumerate() {
        let Served { name, target, mut transport, commands, note } = g;
        let Target { endpoint, credentials, source, pending_pairing, tunnel: t } = target;
        if t.is_some() {
            tunnel = t;
        }
        let Commands { registry, declared, display_name, instance_id } = commands;
        let mut client = ClientDescriptor::linux_node_host(env!("CARGO_PKG_VERSION"));
        client.display_name = display_name;
        client.instance_id = instance_id;
        let mut cfg = NodeConfig::new(endpoint.clone(), client);
        transport.plaintext = plaintext_policy();
        let deep = control::Deep {
            endpoint: endpoint.clone(),
            transport: transport.clone(),
            token: credentials.shared_token.clone(),
            password: credentials.password.clone(),
        };
        cfg.credentials = credentials;
        cfg.transport = transport;
        cfg.path_env = std::env::var("PATH").ok();
        cfg.host_stats = Some(Arc::new(linux::host_stats));
        let node = Node::new(cfg, registry, store.clone())?;
        if i == 0 {
            status::line(&format!("clawnode {} — device {}", env!("CARGO_PKG_VERSION"), node.device_id()));
        }
        let printer = status::Printer::labelled(name.as_deref());
        let pinned = match endpoint.pin {
            Some(p) => format!(", pinned sha256:{p}"),
            None if endpoint.tls => ", system trust".to_string(),
            None => String::new(),
        };
        printer.say(&format!("gateway {endpoint} (from {source}{pinned}{note}); state {}", state_dir.display()));
        let shared = Arc::new(control::Shared {
            gateway: endpoint.origin().to_string(),
            commands: declared,
            last_error: std::sync::Mutex::new(None),
            device_id: node.device_id().to_string(),
            name,
            deep: Some(deep),
        });
        running.push(Running { node, endpoint, printer, shared, pending_pairing, source, paused: false });
    }
    let (tunnel_handle, mut tunnel_events) = match tunnel {
        Some((t, events)) => (Some(t), Some(events)),
        None => (None, None),
    };
    let entries = running
        .iter()
        .map(|r| {
            let node = r.node.clone();
            control::Entry {
                shared: r.shared.clone(),
                states: r.node.subscribe_state(),
                stats: r.node.invoke_stats(),
                attempts: Arc::new(move || node.connect_attempts()),
            }
        })
        .collect();
    let _control = match control::serve(&state_dir, entries) {
        Ok(s) => Some(s),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => return Err(e.to_string().into()),
        Err(e) => {
            status::line(&format!("note: no control socket (`clawnode status` unavailable): {e}"));
            None
        }
    };
    // Every node's state changes, tagged with its index, on one channel.
    let (state_tx, mut states) = tokio::sync::mpsc::unbounded_channel::<(usize, NodeState)>();
    for (i, r) in running.iter().enumerate() {
        let mut rx = r.node.subscribe_state();
        let tx = state_tx.clone();
        tokio::spawn(async move {
            while rx.changed().await.is_ok() {
                let s = rx.borrow_and_update().clone();
                if tx.send((i, s)).is_err() {
                    break;
                }
            }
        });
        r.node.start();
    }
    drop(state_tx);
    // systemd: ready as soon as the supervisors run (a node awaiting approval must not hit
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
    let several = running.len() > 1;
    let code = loop {
        tokio::select! {
            changed = states.recv() => {
                let Some((i, s)) = changed else { break ExitCode::SUCCESS };
                let Some(r) = running.get_mut(i) else { continue };
                if on_state(args, r, &s, &file_store, &state_dir) == Some(Stop::Paired) {
                    break ExitCode::SUCCESS;
                }
                r.paused = matches!(s, NodeState::Paused(_));
                let summary: Vec<String> = running
                    .iter()
                    .map(|r| {
                        let st = status::short(&r.node.state());
                        match &r.shared.name {
                            Some(n) if several => format!("{n}: {st}"),
                            _ => st,
                        }
                    })
                    .collect();
                notifier.status(&summary.join("; "));
                if args.on_pause == OnPause::Exit && running.iter().all(|r| r.paused) {
                    break ExitCode::from(EXIT_PAUSED);
                }
            }
            ev = async {
                match tunnel_events.as_mut() {
                    Some(rx) => rx.recv().await,
                    None => std::future::pending().await,
                }
            } => {
                match ev {
                    Some(TunnelEvent::Up { pid }) => {
                        status::line(&format!("ssh tunnel up again (ssh pid {pid})"));
                        running.iter().for_each(|r| r.node.nudge());
                    }
                    Some(TunnelEvent::Restarting { error, delay }) => {
                        status::line(&format!("ssh tunnel down: {error}; restarting in {delay:?}"));
                    }
                    Some(TunnelEvent::Warning(error)) => status::line(&format!("ssh tunnel: {error}")),
                    Some(TunnelEvent::Paused(error)) => {
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
                running.iter().for_each(|r| r.node.nudge());
            }
            _ = sigusr2.recv() => {
                let suspend = !running.iter().all(|r| r.node.is_suspended());
                status::line(if suspend { "SIGUSR2: suspending" } else { "SIGUSR2: resuming from suspension" });
                running.iter().for_each(|r| r.node.set_suspended(suspend));
            }
        }
    };
    notifier.send("STOPPING=1");
    for r in &running {
        r.node.stop().await;
    }
    if let Some(t) = tunnel_handle {
        t.shutdown().await;
    }
    status::line("stopped");
    Ok(code)
}

/// Why a state ends `run`.
#[derive(Debug, PartialEq, Eq)]
enum Stop {
    /// `clawnode pair`: paired.
    Paired,
}

/// Prints a node's new state, records its last error, keeps a setup code's outcome after
/// hello-ok, and says whether `run` ends.
fn on_state(
    args: &RunArgs,
    r: &mut Running,
    s: &NodeState,
    file_store: &clawnode::store::FileStore,
    state_dir: &std::path::Path,
) -> Option<Stop> {
    r.printer.print(s, r.node.connect_attempts());
    let last_error = match s {
        NodeState::BackingOff { reason, .. } => Some(reason.clone()),
        NodeState::Paused(p) => Some(format!("paused: {}", p.message)),
        _ => None,
    };
    if let Some(last) = last_error
        && let Ok(mut e) = r.shared.last_error.lock()
    {
        *e = Some(last);
    }
    if let NodeState::Paused(p) = s {
        match &p.kind {
            PauseKind::PinMismatch(m) => r.printer.say(&format!(
                "  to accept the presented certificate after verifying sha256:{} out of band: `clawnode trust --url {}`, then restart",
                m.observed,
                r.endpoint.url()
            )),
            PauseKind::TlsUntrusted { observed } => r.printer.say(&format!(
                "  to pin it after verifying sha256:{observed} out of band: `clawnode trust --url {}` or --tls-fingerprint",
                r.endpoint.url()
            )),
            _ => {}
        }
    }
    let hello_ok = matches!(s, NodeState::Ready { .. } | NodeState::AwaitingCommandApproval { .. });
    if hello_ok && let Some(p) = r.pending_pairing.take() {
        // hello-ok on the setup code's origin: now its pin and the endpoint are kept.
        if let Err(e) = p.persist(file_store, state_dir) {
            r.printer.say(&format!("paired, but saving the endpoint failed: {e}"));
        }
    }
    if args.until_paired && hello_ok {
        let next = if r.source == "discovery" {
            "`clawnode run --discover` finds it again (pin and token are kept under this id)"
        } else {
            "`clawnode run` now uses this saved endpoint"
        };
        r.printer.say(&format!("paired with {}; {next}", r.endpoint.origin()));
        return Some(Stop::Paired);
    }
    None
}
