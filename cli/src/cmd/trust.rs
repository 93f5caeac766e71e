//! `clawnode trust --url wss://…`: first-use probe, show, confirm, store.

use std::path::PathBuf;
use std::process::ExitCode;

use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::store::{FileStore, PinStore};
use clawnode::transport::TransportConfig;

use super::{CmdResult, plaintext_policy};
use crate::dirs::default_state_dir;

/// `clawnode trust` flags.
#[derive(clap::Args, Debug)]
pub struct TrustArgs {
    /// The Gateway, e.g. wss://gateway.example:18789.
    #[arg(long)]
    url: String,
    /// Pin without asking (for scripts): only after verifying the fingerprint out of band.
    #[arg(long)]
    yes: bool,
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Probe through this proxy (`http://…` CONNECT or `socks5://…`), as `run --proxy`: the
    /// fingerprint is still the Gateway's own (TLS runs end to end through the proxy).
    #[arg(long)]
    proxy: Option<String>,
}

/// `AA:BB:…`, as `openssl x509 -fingerprint` prints it.
pub(crate) fn colon_form(pin: &TlsPin) -> String {
    pin.as_bytes().iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

/// Probes the Gateway, shows its fingerprint and pins it once confirmed.
pub async fn trust(args: TrustArgs) -> CmdResult {
    let endpoint = Endpoint::parse(&args.url)?;
    if !endpoint.tls {
        return Err("clawnode trust needs a wss:// URL (plaintext endpoints have no certificate to pin)".into());
    }
    let store = FileStore::open(args.state_dir.unwrap_or_else(default_state_dir))?;
    let origin = endpoint.origin().to_string();
    crate::reach::warn_proxy_flag(args.proxy.as_deref());
    let proxy = match args.proxy.as_deref().map(str::trim) {
        None | Some("none") => None,
        Some(p) => Some(clawnode::transport::Proxy::parse(p).map_err(|e| format!("--proxy: {e}"))?),
    };
    let transport = TransportConfig { plaintext: plaintext_policy(), proxy, ..TransportConfig::default() };
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
