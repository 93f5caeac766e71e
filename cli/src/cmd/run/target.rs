//! `run`, step 1: where the Gateway is and which credentials go there — a managed SSH
//! tunnel, a setup code, or the flags/environment/config precedence of `config::resolve`.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clawnode::Credentials;
use clawnode::endpoint::{Endpoint, GatewayOrigin, SshTarget, TlsPin};
use clawnode::protocol::Role;
use clawnode::setup_code::EndpointChoiceError;
use clawnode::store::{CredentialStore, FileStore, PinStore, TokenKey};
use clawnode::transport::TransportConfig;
use tokio::sync::mpsc::UnboundedReceiver;

use super::RunArgs;
use crate::cmd::{EXIT_PAUSED, plaintext_policy};
use crate::config::{self, ConfigError, Env, Explicit, FileConfig, OpenClawGateway, SavedEndpoint};
use crate::dirs::{default_config_path, default_state_dir, openclaw_config_path};
use crate::tunnel::{self, Tunnel, TunnelEvent, TunnelSpec};
use crate::{pairing, secret, status};

/// What `run` loads before choosing a target: config files, the state directory (checked
/// once: created 0700 or tightened, refused if a symlink or another user's) and the identity.
pub(super) struct Setup {
    /// ClawNode's config file.
    pub file: FileConfig,
    /// Its path (relative paths in it are relative to its directory).
    pub config_path: PathBuf,
    /// `openclaw.json`'s `gateway.*`, when no explicit target overrides it.
    openclaw: Option<OpenClawGateway>,
    /// The state directory.
    pub state_dir: PathBuf,
    /// The state directory's store (pins, saved endpoint).
    pub file_store: Arc<FileStore>,
    /// The same store, as the node's credential store.
    pub store: Arc<dyn CredentialStore>,
    /// Transport settings (the tunnel adds its socket).
    pub transport: TransportConfig,
    /// This node's device id.
    device_id: String,
    /// Wall-clock time at start (setup-code expiry).
    now_ms: u64,
}

impl Setup {
    /// Loads the config files, opens the state directory, loads or creates the identity.
    pub fn load(args: &RunArgs) -> Result<Self, Box<dyn std::error::Error>> {
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
        let file_store = Arc::new(FileStore::open(&state_dir)?);
        let store: Arc<dyn CredentialStore> = file_store.clone();
        // Who may serve a plaintext loopback Gateway: --gateway-user, else `[gateway] users`.
        let users = if args.gateway_users.is_empty() {
            file.gateway.users.clone().unwrap_or_default()
        } else {
            args.gateway_users.clone()
        };
        let transport = TransportConfig {
            plaintext: plaintext_policy(),
            loopback_listeners: config::loopback_listeners(&users)?,
            ..TransportConfig::default()
        };
        let now_ms = clawnode::clock::Clock::now_ms(&clawnode::clock::SystemClock);
        let identity =
            clawnode::store::load_or_create_identity(store.as_ref(), &clawnode::clock::SystemRandom::new(), now_ms)?;
        Ok(Setup {
            file,
            config_path,
            openclaw,
            state_dir,
            file_store,
            store,
            transport,
            device_id: identity.device_id().into(),
            now_ms,
        })
    }

    /// Whether a node device token issued by `origin` is stored.
    pub(super) fn has_stored_token(&self, origin: &str) -> bool {
        let key = TokenKey { origin: origin.to_string(), device_id: self.device_id.clone(), role: Role::Node };
        matches!(self.store.load_token(&key), Ok(Some(_)))
    }
}

/// The chosen Gateway target.
pub(super) struct Target {
    /// The endpoint (pinned when a pin applies).
    pub endpoint: Endpoint,
    /// The credentials offered there.
    pub credentials: Credentials,
    /// Where the target came from (for the status line).
    pub source: &'static str,
    /// A setup code's pin and endpoint, saved after hello-ok on that origin.
    pub pending_pairing: Option<pairing::Pending>,
    /// The managed SSH tunnel and its events.
    pub tunnel: Option<(Tunnel, UnboundedReceiver<TunnelEvent>)>,
}

/// `Break(code)`: exit with `code` before connecting.
pub(super) type Resolution = Result<ControlFlow<ExitCode, Target>, Box<dyn std::error::Error>>;

/// Chooses the target: `--ssh` (or `[ssh]`), else `--setup-code`, else the precedence of
/// `config::resolve`.
pub(super) async fn resolve(args: &RunArgs, setup: &mut Setup) -> Resolution {
    if let Some(name) = &args.discover {
        return super::discovered::resolve(args, name, setup).await;
    }
    if let Some(spec) = ssh_spec(args, setup)? {
        return via_tunnel(args, setup, spec).await;
    }
    match &args.setup_code {
        Some(code) => from_setup_code(code, setup).await,
        None => from_config(args, setup),
    }
}

/// `--token`/`--token-file` and `--password`/`--password-file` (each at most one).
pub(super) fn explicit(args: &RunArgs, url: Option<String>) -> Result<Explicit, ConfigError> {
    Ok(Explicit {
        url,
        token: secret::read(args.token.as_deref(), args.token_file.as_deref(), "--token")?,
        password: secret::read(args.password.as_deref(), args.password_file.as_deref(), "--password")?,
        tokenless: args.tailscale_auth,
    })
}

/// A managed SSH tunnel: `--ssh`, or `[ssh]` in the config when no other target is given.
fn ssh_spec(args: &RunArgs, setup: &Setup) -> Result<Option<TunnelSpec>, Box<dyn std::error::Error>> {
    let file = &setup.file;
    let from_file = args.url.is_none() && args.setup_code.is_none();
    let Some(t) = args.ssh.clone().or(if from_file { file.ssh.target.clone() } else { None }) else {
        return Ok(None);
    };
    let remote = args.remote_port.or(file.ssh.remote_port).unwrap_or(clawnode::endpoint::DEFAULT_PORT);
    let target = SshTarget::parse(&t, remote)?;
    let base = setup.config_path.parent().map(Path::to_path_buf).unwrap_or_default();
    let identity = args.ssh_identity.clone().or(file.ssh.identity.as_ref().map(|i| base.join(i)));
    let mut options = file.ssh.options.clone();
    options.extend(args.ssh_options.iter().cloned());
    if let Some(bad) = options.iter().find(|o| !o.contains('=') || o.starts_with('-')) {
        return Err(format!("ssh option {bad:?} must look like KEY=VALUE").into());
    }
    let program = std::env::var_os("CLAWNODE_SSH").map(PathBuf::from).unwrap_or_else(|| "ssh".into());
    let socket = tunnel::socket_path(&setup.state_dir);
    Ok(Some(TunnelSpec { target, identity, options, program, socket }))
}

/// Starts ssh and waits until it serves the socket. Explicit credentials only (never the
/// environment or openclaw.json), checked before ssh starts; exit 78 (EX_CONFIG) so a unit
/// does not restart in a loop.
async fn via_tunnel(args: &RunArgs, setup: &mut Setup, spec: TunnelSpec) -> Resolution {
    let origin = GatewayOrigin::SshTunnel(spec.target.clone()).to_string();
    let explicit = explicit(args, None)?;
    let credentials = match tunnel::credentials(&explicit, setup.has_stored_token(&origin), &origin) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("clawnode: {e}");
            return Ok(ControlFlow::Break(ExitCode::from(EXIT_PAUSED)));
        }
    };
    status::line(&format!("starting ssh tunnel to {origin}"));
    let target = spec.target.clone();
    let started = match Tunnel::spawn(spec) {
        Ok((t, mut events)) => {
            // Until ssh serves the socket; SIGTERM/SIGINT meanwhile stop ssh too.
            let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
            let first = tokio::select! {
                r = Tunnel::first_up(&mut events, |ev| {
                    if let TunnelEvent::Restarting { error, delay } = ev {
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
            setup.transport.unix_socket = Some(t.socket.clone());
            Ok(ControlFlow::Continue(Target {
                endpoint,
                credentials,
                source: "--ssh",
                pending_pairing: None,
                tunnel: Some((t, events)),
            }))
        }
        Err(Some(e)) => {
            status::line(&format!("paused: ssh tunnel: {e}"));
            Ok(ControlFlow::Break(ExitCode::from(EXIT_PAUSED)))
        }
        Err(None) => {
            status::line("stopped");
            Ok(ControlFlow::Break(ExitCode::SUCCESS))
        }
    }
}

/// A setup code: no config or env credentials, the bootstrap token only. Its pin is used in
/// memory and stored only after hello-ok on that origin (`pending_pairing`); a different pin
/// stored earlier (`clawnode trust`) is never replaced: refused before any I/O.
async fn from_setup_code(code: &str, setup: &Setup) -> Resolution {
    let mut code = clawnode::setup_code::decode(code, setup.now_ms)?;
    for e in &mut code.endpoints {
        let origin = e.origin().to_string();
        let stored = if e.tls { setup.file_store.load_pin(&origin)? } else { None };
        match (e.pin, stored) {
            (Some(code_pin), Some(stored)) if !code_pin.ct_eq(&stored) => {
                status::line(&format!(
                    "paused: pinned endpoint conflict: the setup code pins sha256:{code_pin} for {origin}, \
                     but sha256:{stored} is pinned there (clawnode trust); nothing was sent. If the Gateway's \
                     certificate really changed, verify it out of band and run `clawnode trust --url {}`, then pair again",
                    e.url()
                ));
                return Ok(ControlFlow::Break(ExitCode::from(EXIT_PAUSED)));
            }
            (None, Some(stored)) => *e = e.clone().with_pin(Some(stored))?,
            _ => {}
        }
    }
    let endpoint = match clawnode::setup_code::choose_endpoint(&code, &setup.transport).await {
        Ok(choice) => {
            if !choice.reached {
                for (e, err) in &choice.failures {
                    status::line(&format!("setup code endpoint {e}: {err}"));
                }
            }
            choice.endpoint
        }
        Err(err) => {
            if let EndpointChoiceError::Terminal { failures } = &err {
                for (e, err) in failures {
                    status::line(&format!("setup code endpoint {e}: {err}"));
                }
            }
            status::line(&format!("paused: {err}"));
            return Ok(ControlFlow::Break(ExitCode::from(EXIT_PAUSED)));
        }
    };
    let credentials = Credentials { bootstrap_token: Some(code.bootstrap_token.clone()), ..Default::default() };
    Ok(ControlFlow::Continue(Target {
        pending_pairing: Some(pairing::Pending::new(&endpoint)),
        endpoint,
        credentials,
        source: "setup code",
        tunnel: None,
    }))
}

/// The URL of `--host/--port/--tls/--no-tls/--context-path`, built as `openclaw node run`
/// builds it ([`crate::import::node_host_url`]): host 127.0.0.1 by default; TLS when `--tls`
/// or a `--tls-fingerprint` is given. `None` when none of these flags is given.
pub(super) fn url_from_parts(args: &RunArgs) -> Option<String> {
    let path = args.context_path.as_deref().map(str::trim).filter(|p| !p.is_empty());
    if args.host.is_none() && args.port.is_none() && !args.tls && !args.no_tls && path.is_none() {
        return None;
    }
    let host = args.host.as_deref().map(str::trim).filter(|h| !h.is_empty()).unwrap_or("127.0.0.1");
    let tls = !args.no_tls && (args.tls || args.tls_fingerprint.is_some());
    Some(crate::import::node_host_url(host, args.port, tls, path))
}

/// Flags, environment, config files, saved endpoint (`config::resolve`); the pin is
/// `--tls-fingerprint`, else the configured one, else (a local TLS Gateway) the fingerprint
/// of its own certificate, else the one stored for the endpoint.
fn from_config(args: &RunArgs, setup: &Setup) -> Resolution {
    let explicit = explicit(args, args.url.clone().or_else(|| url_from_parts(args)))?;
    // Needed before resolution: whether a device token for an explicit URL's origin exists.
    let has_stored = |url: &str| -> bool {
        let Ok(ep) = Endpoint::parse(url) else { return false };
        setup.has_stored_token(&ep.origin().to_string())
    };
    let saved = SavedEndpoint::load(&setup.state_dir)?;
    let resolved: config::Resolved = config::resolve(
        &explicit,
        &Env::from_process(),
        &setup.file,
        setup.config_path.parent(),
        setup.openclaw.as_ref(),
        saved.as_ref(),
        &has_stored,
    )
    .map_err(|e: ConfigError| e.to_string())?;
    let endpoint = Endpoint::parse(&resolved.url)?;
    let (pin_text, what) = match (&args.tls_fingerprint, &resolved.tls_fingerprint) {
        (Some(p), _) => (Some(p.clone()), "--tls-fingerprint"),
        (None, Some(p)) => (Some(p.clone()), "configured tlsFingerprint"),
        _ => (None, ""),
    };
    let pin = match (pin_text, &resolved.tls_cert) {
        (Some(t), _) => {
            Some(TlsPin::parse(&t).map_err(|e| ConfigError::Pin { what: what.into(), message: e.to_string() })?)
        }
        (None, Some(cert)) if endpoint.tls => Some(local_cert_pin(cert)?),
        (None, _) if endpoint.tls => setup.file_store.load_pin(&endpoint.origin().to_string())?,
        (None, _) => None,
    };
    let endpoint = endpoint.with_pin(pin)?;
    let source = match resolved.source {
        config::Source::Flag if args.url.is_none() => "--host/--port",
        config::Source::Flag => "--url",
        config::Source::Env => "OPENCLAW_GATEWAY_URL",
        config::Source::ClawnodeConfig => "clawnode config",
        config::Source::OpenClawConfig => "openclaw.json",
        config::Source::SavedEndpoint => "saved endpoint",
        config::Source::Default => "default",
    };
    let credentials = Credentials { shared_token: resolved.token, password: resolved.password, bootstrap_token: None };
    Ok(ControlFlow::Continue(Target { endpoint, credentials, source, pending_pairing: None, tunnel: None }))
}

/// The pin of a local TLS Gateway: the SHA-256 of the first certificate in its PEM file.
fn local_cert_pin(path: &Path) -> Result<TlsPin, ConfigError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let what = format!("gateway.tls.enabled: certificate {}", path.display());
    let der = CertificateDer::from_pem_file(path)
        .map_err(|e| ConfigError::Pin { what, message: format!("{e:?}; pass --tls-fingerprint instead") })?;
    Ok(TlsPin::of_der(der.as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn url(args: &[&str]) -> Result<Option<String>, clap::Error> {
        let cli = Cli::try_parse_from(std::iter::once("run").chain(args.iter().copied()))?;
        Ok(url_from_parts(&cli.run))
    }

    #[test]
    fn host_port_tls_context_path_as_openclaw_node_run() {
        assert_eq!(url(&[]).unwrap(), None);
        assert_eq!(url(&["--port", "19000"]).unwrap().as_deref(), Some("ws://127.0.0.1:19000"));
        assert_eq!(url(&["--host", "gw.tail.ts.net", "--tls"]).unwrap().as_deref(), Some("wss://gw.tail.ts.net:18789"));
        assert_eq!(
            url(&["--host", "::1", "--port", "1", "--context-path", "openclaw-gw"]).unwrap().as_deref(),
            Some("ws://[::1]:1/openclaw-gw")
        );
        assert_eq!(url(&["--host", "[::1]", "--context-path", "/gw"]).unwrap().as_deref(), Some("ws://[::1]:18789/gw"));
        let pin = "ab".repeat(32);
        assert_eq!(
            url(&["--host", "10.0.0.2", "--tls-fingerprint", &pin]).unwrap().as_deref(),
            Some("wss://10.0.0.2:18789"),
            "a pin implies TLS"
        );
        assert_eq!(url(&["--no-tls", "--port", "2"]).unwrap().as_deref(), Some("ws://127.0.0.1:2"));
        // As `openclaw node run`: --no-tls with a pin, or --tls with --no-tls, is refused; and
        // a built target cannot be mixed with --url, a setup code or --ssh.
        for bad in [
            &["--no-tls", "--tls-fingerprint", pin.as_str()][..],
            &["--tls", "--no-tls"],
            &["--host", "h", "--url", "ws://127.0.0.1:1"],
            &["--port", "1", "--setup-code", "x"],
            &["--port", "1", "--ssh", "pi@gw"],
            &["--port", "0x10"],
        ] {
            assert!(url(bad).is_err(), "{bad:?}");
        }
    }
}
