//! `clawnode import-openclaw`: identity and node device token from the official host.

use std::path::PathBuf;
use std::process::ExitCode;

use clawnode::Secret;
use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::protocol::Role;
use clawnode::store::{CredentialStore, FileStore, PinStore, TokenKey};

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
    // The node host's pin, for the node host's own Gateway only (not another --url).
    if let (Some(f), Some(o)) = (&imported.tls_fingerprint, &origin)
        && imported.gateway_url.as_deref().and_then(|u| Endpoint::parse(u).ok()).map(|e| e.origin().to_string())
            == Some(o.clone())
    {
        let pin = TlsPin::parse(f).map_err(|e| format!("nodeHost.config gateway.tlsFingerprint: {e}"))?;
        match store.load_pin(o)? {
            Some(stored) if !stored.ct_eq(&pin) && !force => {
                return Err(format!(
                    "{o} is pinned to sha256:{stored} here, the node host pins sha256:{pin}; pass --force to take the node host's pin"
                )
                .into());
            }
            Some(stored) if stored.ct_eq(&pin) => {}
            _ => store.save_pin(o, &pin)?,
        }
        println!("tls pin: sha256:{pin} for {o}");
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

#[cfg(test)]
mod tests {
    use super::*;
    use clawnode::clock::SystemRandom;
    use clawnode::identity::DeviceIdentity;

    /// A legacy official-host state dir whose node host config pins its Gateway.
    fn official(dir: &std::path::Path, pin: &str) -> String {
        let id = DeviceIdentity::generate(&SystemRandom::new()).unwrap();
        std::fs::create_dir_all(dir.join("identity")).unwrap();
        let dev = serde_json::json!({"version": 1, "deviceId": id.device_id(), "publicKeyPem": id.public_key_pem(),
            "privateKeyPem": id.private_key_pem(), "createdAtMs": 5});
        std::fs::write(dir.join("identity/device.json"), dev.to_string()).unwrap();
        let node = serde_json::json!({"nodeId": "n1",
            "gateway": {"host": "gw.tail.ts.net", "port": 443, "tls": true, "tlsFingerprint": pin}});
        std::fs::write(dir.join("node.json"), node.to_string()).unwrap();
        id.device_id().to_string()
    }

    fn args(from: &std::path::Path, state: &std::path::Path, url: Option<&str>, force: bool) -> ImportArgs {
        ImportArgs {
            state_dir: Some(state.to_path_buf()),
            from: Some(from.to_path_buf()),
            url: url.map(str::to_string),
            force,
            node: None,
        }
    }

    #[test]
    fn keeps_the_node_host_tls_fingerprint_as_the_pin() {
        let from = tempfile::tempdir().unwrap();
        let state = tempfile::tempdir().unwrap();
        let pin = TlsPin::parse(&"ab".repeat(32)).unwrap();
        official(from.path(), &("AB:".repeat(31) + "AB"));
        import_openclaw(args(from.path(), state.path(), None, false)).unwrap();
        let store = FileStore::open(state.path()).unwrap();
        let got = store.load_pin("wss://gw.tail.ts.net:443").unwrap().expect("pin imported");
        assert!(got.ct_eq(&pin));
        // Another pin already stored for that origin is not replaced without --force.
        let other = TlsPin::parse(&"cd".repeat(32)).unwrap();
        store.save_pin("wss://gw.tail.ts.net:443", &other).unwrap();
        assert!(import_openclaw(args(from.path(), state.path(), None, false)).is_err());
        import_openclaw(args(from.path(), state.path(), None, true)).unwrap();
        assert!(store.load_pin("wss://gw.tail.ts.net:443").unwrap().unwrap().ct_eq(&pin));
        // A --url to another Gateway does not take the node host's pin.
        let state2 = tempfile::tempdir().unwrap();
        import_openclaw(args(from.path(), state2.path(), Some("wss://other.example:443"), false)).unwrap();
        let store2 = FileStore::open(state2.path()).unwrap();
        assert!(store2.load_pin("wss://other.example:443").unwrap().is_none());
        assert!(store2.load_pin("wss://gw.tail.ts.net:443").unwrap().is_none());
    }
}
