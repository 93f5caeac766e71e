//! `cargo xtask bench-child`: a ClawNode node in its own process (current-thread runtime) for
//! the fake-Gateway ceiling and the large-payload runs. Commands on stdin: `stats` prints
//! `{"allocs":…,"allocBytes":…}`; `turnaround` prints the node's own turnaround percentiles
//! (`{"count":…,"p50":…,"p90":…,"p99":…,"max":…}`, µs); `turnaround-reset` clears them; EOF
//! stops the node.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use clawnode::endpoint::Endpoint;
use clawnode::store::MemoryStore;
use clawnode::{
    ClientDescriptor, CommandError, CommandRegistry, Credentials, InvokeContext, Node, NodeConfig, NodeState,
};
use serde_json::json;
use tokio::io::AsyncBufReadExt as _;

use crate::alloc::{ALLOC_BYTES, ALLOCS};

pub fn registry() -> CommandRegistry {
    let mut r = CommandRegistry::new();
    let _ = r.register("bench.echo", |_ctx: InvokeContext| async { Ok(json!({"ok": true})) });
    let _ = r.register("bench.big", |ctx: InvokeContext| async move {
        let n = ctx.params.get("bytes").and_then(|b| b.as_u64()).unwrap_or(1024) as usize;
        if n > 64 * 1024 * 1024 {
            return Err(CommandError::invalid_request("bytes too large"));
        }
        // Base64-alphabet payload, like a camera clip.
        let mut s = "QUJD".repeat(n / 4 + 1);
        s.truncate(n);
        Ok(json!({"format": "mp4", "base64": s}))
    });
    r
}

pub fn run(args: &[String]) -> Result<(), String> {
    let get = |k: &str| args.iter().position(|a| a == k).and_then(|i| args.get(i + 1)).cloned();
    let url = get("--url").ok_or("--url required")?;
    let token = get("--token").unwrap_or_default();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    rt.block_on(async move {
        let mut cfg = NodeConfig::new(
            Endpoint::parse(&url).map_err(|e| e.to_string())?,
            ClientDescriptor::linux_node_host(env!("CARGO_PKG_VERSION")),
        );
        cfg.client.display_name = Some("clawnode-bench".into());
        cfg.credentials = Credentials { shared_token: Some(token.into()), ..Default::default() };
        let node = Node::new(cfg, registry(), Arc::new(MemoryStore::default())).map_err(|e| e.to_string())?;
        let mut states = node.subscribe_state();
        node.start();
        let stdin = tokio::io::BufReader::new(tokio::io::stdin());
        let mut lines = stdin.lines();
        loop {
            tokio::select! {
                changed = states.changed() => {
                    if changed.is_err() { break; }
                    let s = states.borrow_and_update().clone();
                    match s {
                        NodeState::Ready { node_id, .. } => println!("READY {node_id}"),
                        NodeState::AwaitingCommandApproval { node_id } => println!("AWAITING {node_id}"),
                        other => println!("STATE {other:?}"),
                    }
                }
                line = lines.next_line() => match line {
                    Ok(Some(l)) if l.trim() == "stats" => {
                        println!("{}", json!({
                            "allocs": ALLOCS.load(Ordering::Relaxed),
                            "allocBytes": ALLOC_BYTES.load(Ordering::Relaxed),
                        }));
                    }
                    Ok(Some(l)) if l.trim() == "turnaround" => {
                        let t = node.invoke_stats().turnaround.snapshot();
                        println!("{}", json!({"count": t.count, "p50": t.p50_us, "p90": t.p90_us,
                            "p99": t.p99_us, "max": t.max_us}));
                    }
                    Ok(Some(l)) if l.trim() == "turnaround-reset" => {
                        node.invoke_stats().turnaround.reset();
                        println!("OK");
                    }
                    Ok(Some(_)) => {}
                    _ => break,
                }
            }
        }
        node.stop().await;
        Ok(())
    })
}
