//! `clawnode identity`: this node's device identity (created on first use).

use std::path::PathBuf;
use std::process::ExitCode;

use clawnode::store::FileStore;

use super::CmdResult;
use crate::dirs::default_state_dir;

/// `clawnode identity` flags.
#[derive(clap::Args, Debug)]
pub struct IdentityArgs {
    /// Print `{"deviceId":…,"publicKey":…}`.
    #[arg(long)]
    json: bool,
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
}

/// Prints the device id and public key.
pub fn identity(args: IdentityArgs) -> CmdResult {
    let store = FileStore::open(args.state_dir.unwrap_or_else(default_state_dir))?;
    let now = clawnode::clock::Clock::now_ms(&clawnode::clock::SystemClock);
    let id = clawnode::store::load_or_create_identity(&store, &clawnode::clock::SystemRandom::new(), now)?;
    if args.json {
        println!("{}", serde_json::json!({ "deviceId": id.device_id(), "publicKey": id.public_key_b64url() }));
    } else {
        println!("deviceId:  {}", id.device_id());
        println!("publicKey: {}", id.public_key_b64url());
        println!("state:     {}", store.dir().display());
    }
    Ok(ExitCode::SUCCESS)
}
