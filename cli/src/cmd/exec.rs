//! `clawnode exec allow|list|remove`: the `system.run` approvals (deny by default).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use super::CmdResult;
use crate::dirs::default_state_dir;

/// `clawnode exec` flags and action.
#[derive(clap::Args, Debug)]
pub struct ExecArgs {
    #[command(subcommand)]
    action: ExecAction,
    /// State directory (default: $CLAWNODE_STATE_DIR, else the XDG state dir).
    #[arg(long, global = true)]
    state_dir: Option<PathBuf>,
}

/// `clawnode exec` actions.
#[derive(Subcommand, Debug)]
pub enum ExecAction {
    /// Allow commands matching PATTERN: a path glob (`/usr/bin/uname`, `~/bin/*`, `/opt/**`)
    /// or a bare command name glob (`uname`, matched for PATH lookups only).
    Allow {
        /// The pattern.
        pattern: String,
        /// Regex the space-joined arguments must match (e.g. `^-a$`); default: any.
        #[arg(long = "args")]
        arg_pattern: Option<String>,
        /// Agent the entry applies to (default `*`: every agent).
        #[arg(long, default_value = "*")]
        agent: String,
    },
    /// Show the policy and the allowlist.
    List {
        /// Print the document as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove every allowlist entry with exactly this pattern.
    Remove {
        /// The pattern.
        pattern: String,
    },
}

/// Runs one `clawnode exec` action.
pub fn exec(args: ExecArgs) -> CmdResult {
    use clawnode_exec::approvals;
    let state_dir = args.state_dir.unwrap_or_else(default_state_dir);
    clawnode::store::ensure_private_dir(&state_dir)?;
    let store = clawnode_exec::ApprovalsStore::in_state_dir(&state_dir);
    match args.action {
        ExecAction::Allow { pattern, arg_pattern, agent } => {
            if pattern.trim().is_empty() {
                return Err("the pattern must not be empty".into());
            }
            if let Some(a) = &arg_pattern {
                regex_check(a)?;
            }
            let snap = store
                .update(|f| approvals::add_allow_entry(f, &agent, pattern.trim(), arg_pattern.as_deref(), None))?;
            let p = snap.policy(if agent == "*" { clawnode_exec::DEFAULT_AGENT } else { &agent });
            println!(
                "allowed {}{} for agent {agent} (security {}, ask {}); {}",
                pattern.trim(),
                arg_pattern.map(|a| format!(" with arguments matching {a}")).unwrap_or_default(),
                p.security.as_str(),
                p.ask.as_str(),
                store.path().display()
            );
            if !clawnode_exec::policy::is_path_pattern(pattern.trim()) {
                println!(
                    "note: a bare name matches PATH lookups only (`{}`, not `/usr/bin/{}`)",
                    pattern.trim(),
                    pattern.trim()
                );
            }
        }
        ExecAction::List { json } => {
            let snap = store.load()?;
            if json {
                println!("{}", serde_json::to_string_pretty(&snap.redacted_file())?);
                return Ok(ExitCode::SUCCESS);
            }
            println!(
                "file: {}{}",
                store.path().display(),
                if snap.exists { "" } else { " (absent: every command is denied)" }
            );
            let mut agents: Vec<String> = vec![clawnode_exec::DEFAULT_AGENT.to_string()];
            if let Some(a) = snap.file.get("agents").and_then(serde_json::Value::as_object) {
                agents.extend(a.keys().filter(|k| k.as_str() != "main").cloned());
            }
            for agent in agents {
                let p = snap.policy(&agent);
                println!(
                    "agent {agent}: security {}, ask {}, askFallback {}",
                    p.security.as_str(),
                    p.ask.as_str(),
                    p.ask_fallback.as_str()
                );
                for e in &p.allowlist {
                    match &e.arg_pattern {
                        Some(a) => println!("  {}  (args ~ {a})", e.pattern),
                        None => println!("  {}", e.pattern),
                    }
                }
            }
        }
        ExecAction::Remove { pattern } => {
            let mut removed = 0;
            store.update(|f| removed = approvals::remove_allow_entries(f, pattern.trim()))?;
            if removed == 0 {
                println!("no entry with pattern {}", pattern.trim());
                return Ok(ExitCode::from(1));
            }
            println!(
                "removed {removed} entr{} with pattern {}",
                if removed == 1 { "y" } else { "ies" },
                pattern.trim()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Validates an argument pattern with the approvals file's own rule.
fn regex_check(re: &str) -> Result<(), Box<dyn std::error::Error>> {
    let doc = serde_json::json!({"version": 1, "agents": {"x": {"allowlist": [{"pattern": "x", "argPattern": re}]}}});
    clawnode_exec::approvals::validate(&doc).map_err(|e| e.into())
}
