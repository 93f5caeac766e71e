//! `run`, step 1b: how the bytes reach a Gateway — its proxy and its upgrade headers — and,
//! with `[[gateway]]` tables, one target per table.
//!
//! A table's proxy and headers apply only to the target that came from that table (headers
//! carry credentials, so they follow the credential rule: never to a `--url`, an env URL
//! or a setup code). `--proxy` applies to any target; the environment's proxy variables
//! only with `--proxy-from-env`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use clawnode::Credentials;
use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::store::PinStore;
use clawnode::transport::TransportConfig;

use super::RunArgs;
use super::registry::{self, Scope};
use super::serve::Served;
use super::target::{Setup, Target};
use crate::config::{self, ConfigError, GatewaySection};
use crate::reach::{self, ProxyEnv, ProxySource};
use crate::secret;

/// Sets `transport`'s proxy and headers for `endpoint`; `table` is the gateway table the
/// target came from, if any. Returns a note for the status line (no credentials).
pub(super) fn apply(
    args: &RunArgs,
    setup: &Setup,
    table: Option<&GatewaySection>,
    endpoint: &Endpoint,
    tunnel: bool,
    transport: &mut TransportConfig,
) -> Result<String, ConfigError> {
    let env = args.proxy_from_env.then(ProxyEnv::from_process);
    let table_proxy = table.and_then(|t| t.proxy.as_deref());
    let chosen = if tunnel {
        // ssh carries the bytes: an environment proxy is not for it; an explicit one is an error.
        if args.proxy.is_some() || args.proxy_var.is_some() || table_proxy.is_some_and(|p| p.trim() != "none") {
            return Err(ConfigError::Conflict(
                "a proxy cannot be combined with --ssh / [ssh] (use ssh's own ProxyCommand/ProxyJump)".into(),
            ));
        }
        None
    } else {
        reach::choose_proxy(args.proxy.as_deref(), args.proxy_var.as_deref(), table_proxy, env.as_ref(), endpoint)?
    };
    transport.headers = match table.and_then(|t| t.headers.as_ref()) {
        Some(h) => {
            let getenv = |k: &str| std::env::var(k).ok();
            reach::headers(h, &setup.config_path, &getenv)?
        }
        None => Default::default(),
    };
    let mut note = String::new();
    if let Some((p, source)) = &chosen {
        let from = match source {
            ProxySource::Flag => "--proxy",
            ProxySource::Var => reach::PROXY_VAR,
            ProxySource::Config => "config",
            ProxySource::Env => "environment, --proxy-from-env",
        };
        let auth = if p.has_auth() { ", with credentials" } else { "" };
        note.push_str(&format!(", via proxy {p} (from {from}{auth})"));
    }
    if !transport.headers.is_empty() {
        note.push_str(&format!(", upgrade headers {}", transport.headers.names().collect::<Vec<_>>().join(", ")));
    }
    transport.proxy = chosen.map(|(p, _)| p);
    Ok(note)
}

/// Whether `name` is a usable gateway name (a directory name under `gateways/`).
fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && !name.starts_with('-')
}

/// `[[gateway]]` tables: one target per table, from the table alone (its URL, its
/// credentials or a stored device token, its pin, proxy, headers, commands and exec
/// approvals in `gateways/<name>/`). Explicit target flags do not combine with them.
pub(super) fn many(args: &RunArgs, setup: &Setup) -> Result<Vec<Served>, Box<dyn std::error::Error>> {
    let flags = [
        ("--url", args.url.is_some()),
        ("--setup-code", args.setup_code.is_some()),
        ("--ssh", args.ssh.is_some()),
        ("--token/--token-file", args.token.is_some() || args.token_file.is_some()),
        ("--password/--password-file", args.password.is_some() || args.password_file.is_some()),
        ("--tls-fingerprint", args.tls_fingerprint.is_some()),
        ("--discover", args.discover.is_some()),
    ];
    if let Some((flag, _)) = flags.iter().find(|(_, given)| *given) {
        return Err(format!(
            "{flag} cannot be combined with [[gateway]] tables in {}: each table names its own target",
            setup.config_path.display()
        )
        .into());
    }
    if setup.file.ssh.target.is_some() {
        return Err("[ssh] cannot be combined with [[gateway]] tables".into());
    }
    let base = setup.config_path.parent().map(PathBuf::from).unwrap_or_default();
    let rel = |p: &PathBuf| if p.is_relative() { base.join(p) } else { p.clone() };
    let (mut names, mut origins) = (BTreeSet::new(), BTreeSet::new());
    let mut out = Vec::new();
    for table in &setup.file.gateways {
        let name = table.name.clone().unwrap_or_default();
        if !valid_name(&name) {
            return Err(format!(
                "every [[gateway]] table needs a name of 1–32 letters, digits, '-' or '_' (got {name:?})"
            )
            .into());
        }
        if !names.insert(name.clone()) {
            return Err(format!("two [[gateway]] tables are named {name:?}").into());
        }
        let url = table.url.as_deref().ok_or_else(|| format!("[[gateway]] {name}: url is missing"))?;
        let mut endpoint = Endpoint::parse(url)?;
        if !origins.insert(endpoint.origin().to_string()) {
            return Err(format!("[[gateway]] {name}: {} is already served by another table", endpoint.origin()).into());
        }
        let pin = match &table.tls_fingerprint {
            Some(t) => Some(TlsPin::parse(t).map_err(|e| ConfigError::Pin {
                what: format!("[[gateway]] {name} tls_fingerprint"),
                message: e.to_string(),
            })?),
            None if endpoint.tls => setup.file_store.load_pin(&endpoint.origin().to_string())?,
            None => None,
        };
        endpoint = endpoint.with_pin(pin)?;
        let credentials = Credentials {
            shared_token: secret::read(
                table.token.as_deref(),
                table.token_file.as_ref().map(&rel).as_deref(),
                &format!("[[gateway]] {name} token"),
            )?,
            password: secret::read(
                table.password.as_deref(),
                table.password_file.as_ref().map(&rel).as_deref(),
                &format!("[[gateway]] {name} password"),
            )?,
            bootstrap_token: None,
        };
        let mut transport = setup.transport.clone();
        if args.gateway_users.is_empty()
            && let Some(users) = &table.users
        {
            transport.loopback_listeners = config::loopback_listeners(users)?;
        }
        let note = apply(args, setup, Some(table), &endpoint, false, &mut transport)?;
        let exec_dir = setup.state_dir.join("gateways").join(&name);
        clawnode::store::ensure_private_dir(&exec_dir)?;
        let scope = Scope { commands: table.commands.clone(), exec_dir, label: format!("[{name}] ") };
        let commands = registry::build(args, setup, &scope)?;
        let target = Target { endpoint, credentials, source: "[[gateway]]", pending_pairing: None, tunnel: None };
        out.push(Served { name: Some(name), target, transport, commands, note });
    }
    if out.is_empty() {
        return Err("no [[gateway]] tables".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gateway_names() {
        for ok in ["home", "work-2", "a_b", "X"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "-x", "a/b", "..", "a b", &"x".repeat(33)] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
