//! `system.run`, `system.run.prepare` and `system.execApprovals.get/set` (commands.md §5)
//! with exec approvals in the official host's document format.
//!
//! A host enables them with [`ExecHost::register`]. Nothing here is specific to one
//! platform's UI: the approvals document lives in a file the host names, and commands run
//! as argv (a shell only when the caller's argv is itself a shell wrapper, which the
//! allowlist analyses segment by segment), from a cleared environment ([`child_env`]).
//! On a timeout or a cancellation every descendant dies (a per-run [`reaper`] when the host
//! provides one, else the process group) and the answer goes out within `timeoutMs` + 1 s;
//! what a command that exited normally left in the background is left alone.
//!
//! Policy (deny by default): an absent document or absent `security` means `deny`.
//! `security=full` runs everything; `allowlist` runs what matches; `ask` (`on-miss`,
//! `always`) needs an approval the Gateway carries in (`approved` + a matching
//! `systemRunPlan`), and without one `askFallback` decides (capped by `security`).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod approvals;
pub mod arg_pattern;
pub mod child_env;
pub mod env_keys;
pub mod glob;
pub mod policy;
pub mod reaper;
pub mod resolve;
pub mod runner;
pub mod shell;
pub mod wrappers;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use clawnode::events::{ExecEvent, NodeEvent};
use clawnode::invoke::{CommandError, CommandRegistry, InvokeContext, RegistryError};

pub use approvals::{
    ANY_AGENT, APPROVALS_FILE, AllowEntry, ApprovalsError, ApprovalsSnapshot, ApprovalsStore, Ask, DEFAULT_AGENT,
    ResolvedPolicy, Security,
};
pub use runner::{MAX_OUTPUT_BYTES, RunOutcome, RunSpec, TRUNCATION_MARKER};

/// The commands [`ExecHost::register`] adds.
pub const EXEC_COMMANDS: &[&str] =
    &["system.run.prepare", "system.run", "system.execApprovals.get", "system.execApprovals.set"];

/// Longest `output` in an `exec.finished` event (characters, tail kept).
pub const EVENT_OUTPUT_CHARS: usize = 20_000;

/// Settings of the exec host.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// The approvals document (`exec-approvals.json` in the state dir).
    pub approvals_path: PathBuf,
    /// PATH for lookups and children (sanitized; [`policy::DEFAULT_PATH`] by default).
    pub path_env: String,
    /// Output capture limit.
    pub max_output: usize,
    /// How long to wait for the Gateway's ack of an exec event.
    pub event_timeout: Duration,
    /// The per-run reaper that kills every descendant on timeout and cancellation
    /// ([`reaper`]); `None` (the default): process-group containment only.
    pub reaper: Option<reaper::ReaperCommand>,
}

impl ExecConfig {
    /// Defaults with the document in `state_dir`.
    pub fn in_state_dir(state_dir: &std::path::Path) -> Self {
        ExecConfig {
            approvals_path: state_dir.join(APPROVALS_FILE),
            path_env: policy::DEFAULT_PATH.to_string(),
            max_output: MAX_OUTPUT_BYTES,
            event_timeout: Duration::from_secs(5),
            reaper: None,
        }
    }
}

/// Serves the exec commands.
#[derive(Debug)]
pub struct ExecHost {
    cfg: ExecConfig,
    store: ApprovalsStore,
}

/// The parsed params of `system.run` / `system.run.prepare`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunParams {
    /// argv.
    pub command: Vec<String>,
    /// The caller's display form; must match argv.
    pub raw_command: Option<String>,
    /// Working directory.
    pub cwd: Option<String>,
    /// Environment overrides.
    pub env: BTreeMap<String, String>,
    /// Kill after this long (`> 0`).
    pub timeout_ms: Option<u64>,
    /// macOS only: always denied here.
    pub needs_screen_recording: bool,
    /// Agent.
    pub agent_id: Option<String>,
    /// Session.
    pub session_key: Option<String>,
    /// Run id echoed in events.
    pub run_id: Option<String>,
    /// Echoed in `exec.finished`.
    pub suppress_notify_on_exit: Option<bool>,
    /// Set by the Gateway from a real approval record.
    pub approved: bool,
    /// `allow-once` | `allow-always`.
    pub approval_decision: Option<String>,
    /// The plan the approval was granted for.
    pub system_run_plan: Option<Value>,
    /// Gateway-side security (the stricter one wins).
    pub security: Option<Security>,
    /// Gateway-side ask (the stricter one wins).
    pub ask: Option<Ask>,
}

fn opt_str(v: &Value, key: &str) -> Result<Option<String>, CommandError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(CommandError::invalid_request(format!("{key} must be a string"))),
    }
}

impl RunParams {
    /// Parses and validates (argv, rawCommand contract, blocked environment overrides).
    pub fn parse(params: &Value) -> Result<Self, CommandError> {
        if !params.is_object() {
            return Err(CommandError::invalid_request("params required"));
        }
        let raw_command = opt_str(params, "rawCommand")?;
        let command: Vec<String> = match params.get("command") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| CommandError::invalid_request("command must be an array of strings"))?,
            None | Some(Value::Null) => vec![],
            Some(_) => return Err(CommandError::invalid_request("command must be an array of strings")),
        };
        if command.is_empty() || command[0].is_empty() {
            return Err(if raw_command.is_some() {
                CommandError::invalid_request("MISSING_COMMAND: rawCommand requires command (argv)")
            } else {
                CommandError::invalid_request("command required")
            });
        }
        if let Some(raw) = &raw_command
            && !policy::raw_command_matches(raw, &command)
        {
            return Err(CommandError::invalid_request("rawCommand does not match command"));
        }
        let mut env = BTreeMap::new();
        match params.get("env") {
            None | Some(Value::Null) => {}
            Some(Value::Object(m)) => {
                for (k, v) in m {
                    let v = match v {
                        Value::String(s) => s.clone(),
                        Value::Number(n) => n.to_string(),
                        Value::Bool(b) => b.to_string(),
                        _ => return Err(CommandError::invalid_request(format!("env.{k} must be a string"))),
                    };
                    env.insert(k.clone(), v);
                }
            }
            Some(_) => return Err(CommandError::invalid_request("env must be an object")),
        }
        // `params.env` and the `NAME=VALUE` operands of `env` in argv: one set of rules.
        let argv_keys = policy::argv_env_keys(&command);
        let blocked =
            policy::blocked_env_keys(env.keys().map(String::as_str).chain(argv_keys.iter().map(String::as_str)));
        if !blocked.is_empty() {
            let shown: Vec<String> = blocked.iter().map(|k| k.escape_debug().to_string()).collect();
            return Err(CommandError::invalid_request(format!(
                "SYSTEM_RUN_DENIED: {}",
                policy::Refusal::EnvKeys(shown)
            )));
        }
        let timeout_ms = match params.get("timeoutMs") {
            None | Some(Value::Null) => None,
            Some(v) => match v.as_f64() {
                Some(t) if t > 0.0 => Some(t.min(u64::MAX as f64) as u64),
                Some(_) => None,
                None => return Err(CommandError::invalid_request("timeoutMs must be a number")),
            },
        };
        let security = match opt_str(params, "security")? {
            Some(s) => Some(Security::parse(&s).ok_or_else(|| CommandError::invalid_request("invalid security"))?),
            None => None,
        };
        let ask = match opt_str(params, "ask")? {
            Some(s) => Some(Ask::parse(&s).ok_or_else(|| CommandError::invalid_request("invalid ask"))?),
            None => None,
        };
        Ok(RunParams {
            command,
            raw_command,
            cwd: opt_str(params, "cwd")?.filter(|c| !c.is_empty()),
            env,
            timeout_ms,
            needs_screen_recording: params.get("needsScreenRecording").and_then(Value::as_bool).unwrap_or(false),
            agent_id: opt_str(params, "agentId")?.filter(|a| !a.is_empty()),
            session_key: opt_str(params, "sessionKey")?,
            run_id: opt_str(params, "runId")?,
            suppress_notify_on_exit: params.get("suppressNotifyOnExit").and_then(Value::as_bool),
            approved: params.get("approved").and_then(Value::as_bool).unwrap_or(false),
            approval_decision: opt_str(params, "approvalDecision")?,
            system_run_plan: params.get("systemRunPlan").filter(|p| p.is_object()).cloned(),
            security,
            ask,
        })
    }

    /// The command text a plan binds (`rawCommand`, else the formatted argv).
    pub fn command_text(&self) -> String {
        self.raw_command.clone().unwrap_or_else(|| policy::format_argv(&self.command))
    }

    fn agent(&self) -> &str {
        self.agent_id.as_deref().unwrap_or(DEFAULT_AGENT)
    }

    /// An approval the Gateway carried in (`approved` / `approvalDecision`).
    fn carries_approval(&self) -> bool {
        self.approved || self.approval_decision.is_some()
    }
}

/// A refusal: the error returned to the caller and the `exec.denied` reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Denial {
    /// `SYSTEM_RUN_DENIED` error.
    pub error: CommandError,
    /// Event reason (`security=deny`, `allowlist-miss`, …).
    pub reason: &'static str,
}

fn deny(detail: &str, reason: &'static str) -> Denial {
    Denial { error: CommandError::new("SYSTEM_RUN_DENIED", detail), reason }
}

/// What the policy decided for a run.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Run it; `persist` is an allow-always entry to record first.
    Allow {
        /// `(pattern, argPattern)` to add for the agent.
        persist: Option<(String, String)>,
    },
    /// Refuse it.
    Deny(Denial),
}

impl ExecHost {
    /// A host with `cfg`.
    pub fn new(cfg: ExecConfig) -> Arc<Self> {
        let store = ApprovalsStore::new(cfg.approvals_path.clone());
        Arc::new(ExecHost { cfg, store })
    }

    /// The approvals store.
    pub fn store(&self) -> &ApprovalsStore {
        &self.store
    }

    /// Registers [`EXEC_COMMANDS`] (cap `system`).
    pub fn register(self: &Arc<Self>, registry: &mut CommandRegistry) -> Result<(), RegistryError> {
        self.register_filtered(registry, |_| true)
    }

    /// Registers the [`EXEC_COMMANDS`] for which `keep` is true.
    pub fn register_filtered(
        self: &Arc<Self>,
        registry: &mut CommandRegistry,
        keep: impl Fn(&str) -> bool,
    ) -> Result<(), RegistryError> {
        if keep("system.run") {
            let h = self.clone();
            registry.register_with_cap("system.run", "system", move |ctx: InvokeContext| {
                let h = h.clone();
                async move { h.system_run(ctx).await }
            })?;
        }
        if keep("system.run.prepare") {
            let h = self.clone();
            registry.register_with_cap("system.run.prepare", "system", move |ctx: InvokeContext| {
                let h = h.clone();
                async move { h.prepare(&ctx.params) }
            })?;
        }
        if keep("system.execApprovals.get") {
            let h = self.clone();
            registry.register_with_cap("system.execApprovals.get", "system", move |ctx: InvokeContext| {
                let h = h.clone();
                async move { h.approvals_get(&ctx.params) }
            })?;
        }
        if keep("system.execApprovals.set") {
            let h = self.clone();
            registry.register_with_cap("system.execApprovals.set", "system", move |ctx: InvokeContext| {
                let h = h.clone();
                async move { h.approvals_set(&ctx.params) }
            })?;
        }
        Ok(())
    }

    fn load_policy(&self, p: &RunParams) -> Result<ResolvedPolicy, Denial> {
        let snap = self.store.load().map_err(|e| {
            tracing::warn!(error = %e, "exec approvals unreadable; failing closed");
            deny("exec approvals could not be read on the node host", "security=deny")
        })?;
        let mut policy = snap.policy(p.agent());
        if let Some(s) = p.security {
            policy.security = policy.security.min(s);
        }
        // A caller-raised `ask` never makes a carried approval answerable: such a request is
        // judged by the owner's `ask` (see `decide`).
        if let Some(a) = p.ask.filter(|_| !p.carries_approval()) {
            policy.ask = policy.ask.max(a);
        }
        Ok(policy)
    }

    fn cwd(p: &RunParams) -> Option<PathBuf> {
        p.cwd.as_ref().map(PathBuf::from)
    }

    /// Decides whether `p` may run under `policy`.
    pub fn decide(&self, p: &RunParams, policy: &ResolvedPolicy) -> Decision {
        if p.needs_screen_recording {
            return Decision::Deny(deny("PERMISSION_MISSING: screenRecording", "permission:screenRecording"));
        }
        if policy.security == Security::Deny {
            return Decision::Deny(deny(
                "security=deny (exec approvals on this node allow no command; on the node host: `clawnode exec allow <pattern>`)",
                "security=deny",
            ));
        }
        let cwd = Self::cwd(p);
        let check = policy::check_allowlist(policy, &p.command, cwd.as_deref(), &self.cfg.path_env);
        // An approval the Gateway carried in, bound to a plan. Only a policy that asks can be
        // answered: with `ask=off` the owner's allowlist is the whole decision (the caller
        // controls `approved` and can mirror its own params into a plan).
        if p.carries_approval() && policy.ask != Ask::Off {
            let Some(plan) = &p.system_run_plan else {
                return Decision::Deny(deny("execution plan mismatch", "execution-plan-miss"));
            };
            let field = |k: &str| plan.get(k).and_then(Value::as_str).map(str::to_string);
            let argv: Option<Vec<String>> = plan
                .get("argv")
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(|x| x.as_str().map(str::to_string)).collect::<Option<Vec<_>>>());
            let matches = argv.as_ref() == Some(&p.command)
                && field("commandText") == Some(p.command_text())
                && field("cwd") == p.cwd
                && field("agentId") == p.agent_id
                && field("sessionKey") == p.session_key;
            if !matches {
                return Decision::Deny(deny("execution plan mismatch", "execution-plan-miss"));
            }
            if field("policySnapshot") != Some(policy.snapshot()) {
                return Decision::Deny(deny(
                    "exec approval policy changed; request approval again",
                    "approval-required",
                ));
            }
            let persist = if p.approval_decision.as_deref() == Some("allow-always") {
                match check.analysed.as_slice() {
                    [cmd] if check.analysable => match policy::allow_always_entry(cmd) {
                        Some(entry) => Some(entry),
                        None => {
                            return Decision::Deny(deny(
                                "approval requires a stable executable path",
                                "approval-required",
                            ));
                        }
                    },
                    _ => {
                        return Decision::Deny(deny("approval requires a stable executable path", "approval-required"));
                    }
                }
            } else {
                None
            };
            return Decision::Allow { persist };
        }
        let allowlisted = policy.security == Security::Full || check.satisfied;
        let needs_ask = policy.ask == Ask::Always || (policy.ask == Ask::OnMiss && !allowlisted);
        if needs_ask {
            // Nobody can be asked on this host: askFallback decides, never wider than security.
            return match policy.ask_fallback.min(policy.security) {
                Security::Full => Decision::Allow { persist: None },
                Security::Allowlist if check.satisfied => Decision::Allow { persist: None },
                _ => Decision::Deny(deny("approval required", "approval-required")),
            };
        }
        if allowlisted {
            Decision::Allow { persist: None }
        } else {
            match &check.refusal {
                Some(r @ policy::Refusal::EnvKeys(_)) => Decision::Deny(deny(&r.to_string(), "allowlist-miss")),
                Some(r) => Decision::Deny(deny(&format!("allowlist miss ({r})"), "allowlist-miss")),
                None => Decision::Deny(deny("allowlist miss", "allowlist-miss")),
            }
        }
    }

    fn event(&self, p: &RunParams, session_key: Option<String>) -> ExecEvent {
        ExecEvent {
            session_key,
            run_id: p.run_id.clone().unwrap_or_default(),
            host: "node",
            command: Some(p.command_text()),
            exit_code: None,
            timed_out: None,
            success: None,
            output: None,
            reason: None,
        }
    }

    async fn emit(&self, ctx: &InvokeContext, event: NodeEvent) {
        if let Err(e) = ctx.send_event(&event, self.cfg.event_timeout).await {
            tracing::debug!(error = %e, event = event.name(), "exec event not delivered");
        }
    }

    /// Evaluates, runs and reports one `system.run`; `Ok(None)` when cancelled.
    pub async fn run_checked(
        &self,
        p: &RunParams,
        cancel: &tokio_util::sync::CancellationToken,
    ) -> Result<Option<RunOutcome>, Denial> {
        let policy = self.load_policy(p)?;
        match self.decide(p, &policy) {
            Decision::Deny(d) => return Err(d),
            Decision::Allow { persist: Some((pattern, arg_pattern)) } => {
                let agent = p.agent().to_string();
                self.store
                    .update(|f| {
                        approvals::add_allow_entry(f, &agent, &pattern, Some(&arg_pattern), Some("allow-always"))
                    })
                    .map_err(|_| deny("approval state could not be persisted", "approval-state-write-failed"))?;
            }
            Decision::Allow { persist: None } => {}
        }
        let mut env: Vec<(String, String)> = p.env.clone().into_iter().collect();
        if policy::shell_payload(policy::innermost(&p.command)).is_some() {
            env = policy::filter_shell_env(env);
        }
        let spec = RunSpec {
            argv: p.command.clone(),
            cwd: Self::cwd(p),
            env,
            path_env: self.cfg.path_env.clone(),
            timeout: p.timeout_ms.map(Duration::from_millis),
            max_output: self.cfg.max_output,
            reaper: self.cfg.reaper.clone(),
        };
        Ok(runner::run(spec, cancel).await)
    }

    async fn system_run(&self, ctx: InvokeContext) -> Result<Value, CommandError> {
        let p = RunParams::parse(&ctx.params)?;
        let session_key = p.session_key.clone().or_else(|| ctx.session_key.clone());
        match self.run_checked(&p, &ctx.cancel).await {
            Err(d) => {
                if p.run_id.is_some() {
                    let mut e = self.event(&p, session_key);
                    e.reason = Some(d.reason.to_string());
                    self.emit(&ctx, NodeEvent::ExecDenied(e)).await;
                }
                Err(d.error)
            }
            Ok(None) => Err(CommandError::new("ABORTED", "cancelled")),
            Ok(Some(o)) => {
                if p.run_id.is_some() {
                    let mut e = self.event(&p, session_key);
                    e.exit_code = o.exit_code;
                    e.timed_out = Some(o.timed_out);
                    e.success = Some(o.success());
                    e.output = Some(event_output(&o));
                    self.emit(&ctx, NodeEvent::ExecFinished(e)).await;
                }
                Ok(run_result(&o))
            }
        }
    }

    fn prepare(&self, params: &Value) -> Result<Value, CommandError> {
        let p = RunParams::parse(params)?;
        let policy = self.load_policy(&p).map_err(|d| d.error)?;
        let cwd = Self::cwd(&p);
        let check = policy::check_allowlist(&policy, &p.command, cwd.as_deref(), &self.cfg.path_env);
        let entries: Vec<Option<(String, String)>> = check.analysed.iter().map(policy::allow_always_entry).collect();
        let patterns: Vec<String> = entries.iter().flatten().map(|(p, _)| p.clone()).collect();
        let complete = check.analysable && patterns.len() == check.analysed.len() && !patterns.is_empty();
        Ok(json!({
            "plan": {
                "argv": p.command,
                "cwd": p.cwd,
                "commandText": p.command_text(),
                "commandPreview": Value::Null,
                "agentId": p.agent_id,
                "sessionKey": p.session_key,
                "policySnapshot": policy.snapshot(),
            },
            "execPolicy": {"security": policy.security.as_str(), "ask": policy.ask.as_str()},
            "allowAlwaysCoverage": {"complete": complete, "patterns": patterns},
        }))
    }

    fn snapshot_json(snap: &ApprovalsSnapshot, include_defaults: bool) -> Value {
        let mut v = json!({
            "path": snap.path.display().to_string(),
            "exists": snap.exists,
            "hash": snap.hash,
            "file": snap.redacted_file(),
        });
        if include_defaults {
            let d = approvals::resolve_policy(snap.exists.then_some(&snap.file), ANY_AGENT);
            v["resolvedDefaults"] = json!({
                "security": d.security.as_str(),
                "ask": d.ask.as_str(),
                "askFallback": d.ask_fallback.as_str(),
                "autoAllowSkills": false,
            });
        }
        v
    }

    fn approvals_get(&self, params: &Value) -> Result<Value, CommandError> {
        let include = params.get("includeResolvedDefaults").and_then(Value::as_bool).unwrap_or(false);
        let snap = self.store.load().map_err(|e| CommandError::unavailable(e.to_string()))?;
        Ok(Self::snapshot_json(&snap, include))
    }

    fn approvals_set(&self, params: &Value) -> Result<Value, CommandError> {
        let file = params.get("file").filter(|f| f.is_object()).cloned();
        let Some(file) = file else { return Err(CommandError::invalid_request("file required")) };
        let base = params.get("baseHash").and_then(Value::as_str);
        match self.store.set(file, base) {
            Ok(snap) => Ok(Self::snapshot_json(&snap, false)),
            Err(ApprovalsError::Stale) => {
                Err(CommandError::invalid_request("exec approvals changed; reload and retry"))
            }
            Err(ApprovalsError::Invalid { reason, .. }) => {
                Err(CommandError::invalid_request(format!("invalid exec approvals: {reason}")))
            }
            Err(e) => Err(CommandError::unavailable(e.to_string())),
        }
    }
}

/// The `system.run` result payload (commands.md §5.3).
pub fn run_result(o: &RunOutcome) -> Value {
    let mut v = json!({
        "timedOut": o.timed_out,
        "success": o.success(),
        "stdout": o.stdout,
        "stderr": o.stderr,
        "error": o.error,
    });
    if o.error.is_none() {
        v["exitCode"] = json!(o.exit_code);
    }
    v
}

/// stdout + stderr + error, trimmed, tail-truncated to [`EVENT_OUTPUT_CHARS`].
pub fn event_output(o: &RunOutcome) -> String {
    let joined = [o.stdout.trim(), o.stderr.trim(), o.error.as_deref().unwrap_or("").trim()]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n");
    let n = joined.chars().count();
    if n <= EVENT_OUTPUT_CHARS { joined } else { joined.chars().skip(n - EVENT_OUTPUT_CHARS).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(doc: Option<Value>) -> (tempfile::TempDir, Arc<ExecHost>) {
        let dir = tempfile::tempdir().unwrap();
        let h = ExecHost::new(ExecConfig::in_state_dir(dir.path()));
        if let Some(d) = doc {
            h.store().set(d, None).unwrap();
        }
        (dir, h)
    }

    fn params(v: Value) -> RunParams {
        RunParams::parse(&v).unwrap()
    }

    fn decide(h: &ExecHost, v: Value) -> Decision {
        let p = params(v);
        let policy = h.load_policy(&p).unwrap();
        h.decide(&p, &policy)
    }

    fn denied_reason(d: Decision) -> &'static str {
        match d {
            Decision::Deny(d) => {
                assert_eq!(d.error.code(), "SYSTEM_RUN_DENIED");
                d.reason
            }
            Decision::Allow { .. } => panic!("allowed"),
        }
    }

    #[test]
    fn param_validation() {
        let e = RunParams::parse(&json!({"rawCommand": "ls"})).unwrap_err();
        assert!(e.message().contains("MISSING_COMMAND"));
        let e = RunParams::parse(&json!({"command": ["ls"], "rawCommand": "rm -rf /"})).unwrap_err();
        assert_eq!(e.to_wire().message, "INVALID_REQUEST: rawCommand does not match command");
        let e = RunParams::parse(&json!({"command": ["ls"], "env": {"LD_PRELOAD": "x", "PATH": "/"}})).unwrap_err();
        assert_eq!(
            e.to_wire().message,
            "INVALID_REQUEST: SYSTEM_RUN_DENIED: environment override rejected (blocked override keys: LD_PRELOAD, PATH)"
        );
        // `env NAME=VALUE` in argv: the same rules and the same message as params.env.
        let e = RunParams::parse(&json!({"command": ["env", "LD_PRELOAD=/x.so", "uname"]})).unwrap_err();
        assert_eq!(
            e.to_wire().message,
            "INVALID_REQUEST: SYSTEM_RUN_DENIED: environment override rejected (blocked override keys: LD_PRELOAD)"
        );
        let e = RunParams::parse(&json!({"command": ["env", "BASH_FUNC_uname%%=() { id; }", "bash", "-c", "uname"]}))
            .unwrap_err();
        assert!(e.message().contains("blocked override keys: BASH_FUNC_uname%%"), "{}", e.message());
        let e = RunParams::parse(&json!({"command": ["ls"], "env": {"GIT_CONFIG_COUNT": "1", "TAR_OPTIONS": "x"}}))
            .unwrap_err();
        assert!(e.message().contains("blocked override keys: GIT_CONFIG_COUNT, TAR_OPTIONS"), "{}", e.message());
        let p = params(json!({"command": ["ls"], "timeoutMs": 0}));
        assert_eq!(p.timeout_ms, None);
        assert!(RunParams::parse(&json!({"command": "ls"})).is_err());
    }

    #[test]
    fn deny_by_default_and_allowlist() {
        let (_d, h) = host(None);
        assert_eq!(denied_reason(decide(&h, json!({"command": ["uname"]}))), "security=deny");
        let (_d, h) = host(Some(json!({"version": 1, "defaults": {"security": "allowlist"},
            "agents": {"*": {"allowlist": [{"pattern": "uname"}]}}})));
        assert!(matches!(decide(&h, json!({"command": ["uname", "-a"]})), Decision::Allow { persist: None }));
        assert_eq!(denied_reason(decide(&h, json!({"command": ["id"]}))), "allowlist-miss");
        // A refused shape says why.
        let Decision::Deny(d) = decide(&h, json!({"command": ["flock", "--wait", "5", "uname", "-c", "id"]})) else {
            panic!("flock -c allowed")
        };
        assert!(d.error.message().starts_with("allowlist miss (flock -c"), "{}", d.error.message());
        // Gateway-side security can only narrow.
        assert_eq!(denied_reason(decide(&h, json!({"command": ["uname"], "security": "deny"}))), "security=deny");
        assert!(matches!(decide(&h, json!({"command": ["uname"], "security": "full"})), Decision::Allow { .. }));
        assert_eq!(
            denied_reason(decide(&h, json!({"command": ["uname"], "needsScreenRecording": true}))),
            "permission:screenRecording"
        );
    }

    #[test]
    fn ask_and_fallback() {
        let (_d, h) = host(Some(json!({"version": 1,
            "defaults": {"security": "allowlist", "ask": "on-miss", "askFallback": "deny"},
            "agents": {"main": {"allowlist": [{"pattern": "uname"}]}}})));
        assert!(matches!(decide(&h, json!({"command": ["uname"]})), Decision::Allow { .. }));
        assert_eq!(denied_reason(decide(&h, json!({"command": ["id"]}))), "approval-required");
        // An approval bound to a plan from prepare runs once, or persists with allow-always.
        let prep = h.prepare(&json!({"command": ["id", "-u"], "sessionKey": "s"})).unwrap();
        let plan = prep["plan"].clone();
        assert_eq!(prep["execPolicy"], json!({"security": "allowlist", "ask": "on-miss"}));
        let run = json!({"command": ["id", "-u"], "sessionKey": "s", "approved": true,
            "approvalDecision": "allow-always", "systemRunPlan": plan});
        let Decision::Allow { persist: Some((pattern, args)) } = decide(&h, run.clone()) else { panic!() };
        assert!(pattern.ends_with("/id"), "{pattern}");
        assert!(regex_lite::Regex::new(&args).unwrap().is_match("-u"));
        // A plan for another command is refused.
        let mut other = run.clone();
        other["command"] = json!(["id", "-g"]);
        assert_eq!(denied_reason(decide(&h, other)), "execution-plan-miss");
        // The policy changed since the plan was made.
        h.store().update(|f| approvals::add_allow_entry(f, "main", "/bin/true", None, None)).unwrap();
        assert_eq!(denied_reason(decide(&h, run)), "approval-required");
        // ask=always with fallback allowlist runs allowlisted commands only.
        let (_d, h) = host(Some(json!({"version": 1,
            "defaults": {"security": "full", "ask": "always", "askFallback": "allowlist"},
            "agents": {"*": {"allowlist": [{"pattern": "uname"}]}}})));
        assert!(matches!(decide(&h, json!({"command": ["uname"]})), Decision::Allow { .. }));
        assert_eq!(denied_reason(decide(&h, json!({"command": ["id"]}))), "approval-required");
    }

    #[test]
    fn gateway_approval_never_widens_a_policy_that_does_not_ask() {
        // Attack: security=allowlist, ask=off. The caller gets a plan from prepare (or
        // writes one: every field mirrors its own params) and sends `approved:true`
        // (+ allow-always): the allowlist miss ran, and a wider entry was persisted.
        let (_d, h) = host(Some(json!({"version": 1, "defaults": {"security": "allowlist"},
            "agents": {"*": {"allowlist": [{"pattern": "uname"}]}}})));
        let prep = h.prepare(&json!({"command": ["id"]})).unwrap();
        for decision in [json!("allow-once"), json!("allow-always"), Value::Null] {
            let run = json!({"command": ["id"], "approved": true, "approvalDecision": decision,
                "systemRunPlan": prep["plan"].clone()});
            assert_eq!(denied_reason(decide(&h, run)), "allowlist-miss", "{decision}");
        }
        // Raising `ask` in the params (prepare and run alike) does not open that path.
        let prep = h.prepare(&json!({"command": ["id"], "ask": "always"})).unwrap();
        let run = json!({"command": ["id"], "ask": "always", "approved": true,
            "approvalDecision": "allow-always", "systemRunPlan": prep["plan"].clone()});
        assert_eq!(denied_reason(decide(&h, run)), "allowlist-miss");
        // An allowlisted command still runs, approval or not (and nothing is persisted).
        let prep = h.prepare(&json!({"command": ["uname"]})).unwrap();
        let run = json!({"command": ["uname"], "approved": true, "approvalDecision": "allow-always",
            "systemRunPlan": prep["plan"].clone()});
        assert!(matches!(decide(&h, run), Decision::Allow { persist: None }));
    }

    #[tokio::test]
    async fn runs_allowed_commands() {
        let (_d, h) = host(Some(json!({"version": 1, "defaults": {"security": "full"}})));
        let p = params(json!({"command": ["sh", "-c", "echo $LANG $FOO"], "env": {"LANG": "C", "FOO": "x"}}));
        let o = h.run_checked(&p, &Default::default()).await.unwrap().unwrap();
        // A shell wrapper only keeps the locale/terminal overrides.
        assert_eq!(o.stdout, "C\n");
        let v = run_result(&o);
        assert_eq!(v["exitCode"], 0);
        assert_eq!(v["success"], true);
        assert_eq!(v["error"], Value::Null);
        let o = RunOutcome {
            exit_code: Some(1),
            timed_out: false,
            stdout: " a ".into(),
            stderr: "b\n".into(),
            truncated: false,
            error: None,
        };
        assert_eq!(event_output(&o), "a\nb");
    }

    #[test]
    fn approvals_get_set() {
        let (_d, h) = host(None);
        let g = h.approvals_get(&json!({"includeResolvedDefaults": true})).unwrap();
        assert_eq!(g["exists"], false);
        assert_eq!(g["resolvedDefaults"]["security"], "deny");
        let s = h
            .approvals_set(&json!({"file": {"version": 1, "defaults": {"security": "full"}}, "baseHash": g["hash"]}))
            .unwrap();
        assert_eq!(s["exists"], true);
        let e = h.approvals_set(&json!({"file": {"version": 1}, "baseHash": g["hash"]})).unwrap_err();
        assert_eq!(e.to_wire().message, "INVALID_REQUEST: exec approvals changed; reload and retry");
    }
}
