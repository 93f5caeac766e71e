//! `run`, step 3: start the node, the control socket and systemd notifications, then follow
//! states, tunnel events and signals until stopped, paused (`--on-pause exit`) or paired.

use std::process::ExitCode;
use std::sync::Arc;

use clawnode::{ClientDescriptor, Node, NodeConfig, NodeState, PauseKind};

use super::registry::Commands;
use super::target::{Setup, Target};
use super::{OnPause, RunArgs};
use crate::cmd::{CmdResult, EXIT_PAUSED, plaintext_policy};
use crate::tunnel::TunnelEvent;
use crate::{control, linux, sdnotify, status};

/// Runs the node on `target` with `commands` until it stops.
pub(super) async fn serve(args: &RunArgs, setup: Setup, target: Target, commands: Commands) -> CmdResult {
    let Setup { state_dir, file_store, store, mut transport, .. } = setup;
    let Target { endpoint, credentials, source, mut pending_pairing, tunnel } = target;
    let Commands { registry, declared, display_name, instance_id } = commands;
    let (tunnel_handle, mut tunnel_events) = match tunnel {
        Some((t, events)) => (Some(t), Some(events)),
        None => (None, None),
    };

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
        commands: declared,
        last_error: std::sync::Mutex::new(None),
        device_id: node.device_id().to_string(),
        deep: Some(deep),
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
                let last_error = match &s {
                    NodeState::BackingOff { reason, .. } => Some(reason.clone()),
                    NodeState::Paused(p) => Some(format!("paused: {}", p.message)),
                    _ => None,
                };
                if let Some(last) = last_error
                    && let Ok(mut e) = control_shared.last_error.lock()
                {
                    *e = Some(last);
                }
                notifier.status(&status::short(&s));
                if let NodeState::Paused(p) = &s {
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
                let hello_ok = matches!(s, NodeState::Ready { .. } | NodeState::AwaitingCommandApproval { .. });
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
                    Some(TunnelEvent::Up { pid }) => {
                        status::line(&format!("ssh tunnel up again (ssh pid {pid})"));
                        node.nudge();
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
