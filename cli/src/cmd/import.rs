//! `clawnode import-openclaw`: identity and node device token from the official host.

use std::path::PathBuf;
use std::process::ExitCode;

use clawnode::Secret;
use clawnode::endpoint::Endpoint;
use clawnode::protocol::Role;
use clawnode::store::{CredentialStore, FileStore, TokenKey};

use super::CmdResult;
use crate::config::SavedEndpoint;
use crate::dirs::{default_state_dir, openclaw_state_dir};
use crate::{import, instance};

/// `clawnode import-openclaw` flags.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
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
}

/// Takes over the identity, the node device token, the instance id and the endpoint.
pub fn import_openclaw(args: ImportArgs) -> CmdResult {
    let ImportArgs { state_dir, from, url, force, node } = args;
    let from = match from {
        Some(f) => f,
        None => openclaw_state_dir().ok_or("no --from and no HOME")?,
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
        let path = instance::path(&state_dir);
        if force || !path.exists() {
            std::fs::write(&path, inst)?;
        }
    }
    if let Some(u) = &url {
        if force || !SavedEndpoint::path(&state_dir).exists() {
            let ep = SavedEndpoint { url: Endpoint::parse(u)?.origin().to_string(), tls_fingerprint: None };
            ep.save(&state_dir)?;
        }
        println!("next: stop `openclaw node run`, then `clawnode run --url {u} --state-dir {}`", state_dir.display());
    }
    Ok(ExitCode::SUCCESS)
}
