//! `clawnode status`: the running node's snapshot over its control socket.

use std::path::PathBuf;
use std::process::ExitCode;

use super::CmdResult;
use crate::control;
use crate::dirs::default_state_dir;

/// `clawnode status` flags.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// Print the snapshot as JSON.
    #[arg(long)]
    json: bool,
    /// Also ask the Gateway's `health` (as `openclaw status --deep`), through the running
    /// node: an operator call with the node's shared token or password (a node paired with
    /// a device token only has none to offer).
    #[arg(long)]
    deep: bool,
}

/// Asks the node on `state_dir`'s control socket; exit 3 when none runs.
pub fn status(args: StatusArgs) -> CmdResult {
    let dir = args.state_dir.unwrap_or_else(default_state_dir);
    match control::request_status(&dir, args.deep) {
        Ok(v) if args.json => println!("{v}"),
        Ok(v) => print!("{}", control::render(&v)),
        Err(e @ control::ClientError::NotRunning { .. }) => {
            eprintln!("clawnode: {e}");
            return Ok(ExitCode::from(3));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(ExitCode::SUCCESS)
}
