//! `system.notify`: desktop notifications through `notify-send` (libnotify).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use clawnode_exec::child_env;
use serde_json::{Value, json};

use clawnode::CommandError;
use clawnode::commands::{NotifyPriority, NotifySound, PlatformFamily, SystemNotifyParams};

/// Longest accepted title, in characters.
const MAX_TITLE_CHARS: usize = 256;
/// Longest accepted body, in characters.
const MAX_BODY_CHARS: usize = 4096;
/// How long `notify-send` may run before it is killed.
const NOTIFY_TIMEOUT: Duration = Duration::from_secs(10);
/// Most stderr bytes quoted in an error message.
const MAX_STDERR_CHARS: usize = 300;

/// A validated `system.notify` request.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Notification {
    title: String,
    body: String,
    /// `low`, `normal` or `critical` (`notify-send --urgency`).
    urgency: &'static str,
    silent: bool,
}

/// `system.notify`: params `{ title?, body?, sound?, priority?, delivery? }` → `{ "ok": true }`.
///
/// The params are the core's [`SystemNotifyParams`] (the router has already validated and
/// normalized them with the catalog's rules: strings, at least one of title/body non-blank,
/// `priority` and `sound` vocabularies; `delivery` is macOS-only and ignored here). Linux
/// adds what `notify-send` needs: at most 256 / 4096 characters of title / body and no NUL
/// (an argv cannot carry one). `priority` maps to `--urgency`: `passive` → `low`, `active`
/// → `normal`, `timeSensitive` → `critical`; a silent `sound` adds the `suppress-sound` hint.
///
/// Runs `notify-send` found on `$PATH` with arguments passed directly (no shell),
/// killed after 10 s. Errors: `NOTIFICATIONS_UNAVAILABLE` when `notify-send` is not
/// installed, `NOTIFICATION_FAILED` when it fails or times out.
pub async fn system_notify(params: Value) -> Result<Value, CommandError> {
    let notification = validate(&params)?;
    let Some(program) = find_notify_send() else {
        return Err(CommandError::new(
            "NOTIFICATIONS_UNAVAILABLE",
            "notify-send is not installed (install libnotify-bin)",
        ));
    };
    send(&program, &notification, NOTIFY_TIMEOUT).await?;
    Ok(json!({ "ok": true }))
}

/// The core's params parse, then the Linux limits.
fn validate(params: &Value) -> Result<Notification, CommandError> {
    let SystemNotifyParams { title, body, sound, priority, .. } =
        SystemNotifyParams::parse(params, PlatformFamily::Linux)?;
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(CommandError::invalid_request(format!("title is longer than {MAX_TITLE_CHARS} characters")));
    }
    if body.chars().count() > MAX_BODY_CHARS {
        return Err(CommandError::invalid_request(format!("body is longer than {MAX_BODY_CHARS} characters")));
    }
    if title.contains('\0') || body.contains('\0') {
        return Err(CommandError::invalid_request("title and body must not contain NUL"));
    }
    let urgency = match priority {
        NotifyPriority::Passive => "low",
        NotifyPriority::TimeSensitive => "critical",
        NotifyPriority::Active => "normal",
    };
    Ok(Notification { title, body, urgency, silent: sound == NotifySound::Silent })
}

/// The `notify-send` arguments for a notification (summary is the title, or the body
/// when there is no title). A `--` ends option parsing so text can never become a flag.
fn notify_send_args(n: &Notification) -> Vec<String> {
    let mut args = vec![format!("--urgency={}", n.urgency), "--app-name=OpenClaw".to_owned()];
    if n.silent {
        args.push("--hint=boolean:suppress-sound:true".to_owned());
    }
    args.push("--".to_owned());
    if n.title.is_empty() {
        args.push(n.body.clone());
    } else {
        args.push(n.title.clone());
        if !n.body.is_empty() {
            args.push(n.body.clone());
        }
    }
    args
}

/// Finds `notify-send` on `$PATH`.
fn find_notify_send() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).filter(|dir| dir.is_absolute()).map(|dir| dir.join("notify-send")).find(|candidate| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(candidate).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    })
}

/// Runs `program` with the notification arguments, killing it after `timeout`.
async fn send(program: &Path, notification: &Notification, timeout: Duration) -> Result<(), CommandError> {
    let mut cmd = tokio::process::Command::new(program);
    // notify-send needs the session's environment (D-Bus address, display), never the
    // node's own keys.
    for (key, _) in std::env::vars_os().filter(|(k, _)| child_env::is_node_private(k)) {
        cmd.env_remove(key);
    }
    let child = cmd
        .args(notify_send_args(notification))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| CommandError::new("NOTIFICATION_FAILED", format!("could not start {}: {e}", program.display())))?;
    // On timeout the `wait_with_output` future (and with it the child) is dropped,
    // which kills the process because of `kill_on_drop`.
    let output = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(output)) => output,
        Ok(Err(e)) => {
            return Err(CommandError::new("NOTIFICATION_FAILED", format!("waiting for notify-send failed: {e}")));
        }
        Err(_) => {
            tracing::warn!("notify-send timed out after {timeout:?}; killed");
            return Err(CommandError::new(
                "NOTIFICATION_FAILED",
                format!("notify-send timed out after {}s", timeout.as_secs()),
            ));
        }
    };
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr: String = stderr.trim().chars().take(MAX_STDERR_CHARS).collect();
    let status =
        output.status.code().map_or_else(|| "was killed by a signal".to_owned(), |c| format!("exited with {c}"));
    let detail =
        if stderr.is_empty() { format!("notify-send {status}") } else { format!("notify-send {status}: {stderr}") };
    Err(CommandError::new("NOTIFICATION_FAILED", detail))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn validation_rules() {
        let invalid = [
            Value::Null,
            json!("hi"),
            json!({}),
            json!({"title": "", "body": "  "}),
            json!({"title": 5}),
            json!({"title": "x", "priority": "urgent"}),
            json!({"title": "x", "priority": 2}),
            json!({"title": "x".repeat(257)}),
            json!({"body": "x".repeat(4097)}),
            json!({"title": "a\u{0}b"}),
        ];
        for params in invalid {
            assert_eq!(
                validate(&params).err().map(|e| e.code().to_owned()),
                Some("INVALID_REQUEST".to_owned()),
                "{params}"
            );
        }
        assert_eq!(validate(&json!({})).err().map(|e| e.message().to_owned()), Some("empty notification".to_owned()));
        let n = validate(&json!({
            "title": "Ping", "body": "Gateway ready", "sound": "none",
            "priority": "timeSensitive", "delivery": "overlay", "extra": true
        }))
        .unwrap();
        assert_eq!(n.urgency, "critical");
        assert!(n.silent);
        let n = validate(&json!({"body": "only body", "title": null, "sound": "default"})).unwrap();
        assert_eq!(n.urgency, "normal");
        assert!(!n.silent);
        assert_eq!(validate(&json!({"title": "t", "priority": "passive"})).unwrap().urgency, "low");
        assert!(validate(&json!({"title": "t", "sound": false})).unwrap().silent);
        assert!(validate(&json!({"title": "t", "sound": 0})).unwrap().silent);
    }

    #[test]
    fn reads_the_routers_normalized_form() {
        // The router hands the handler the core's normalized params, not the raw ones.
        for (raw, urgency, silent) in [
            (json!({"title": "t", "priority": "TIME-SENSITIVE", "sound": false}), "critical", true),
            (json!({"body": "b", "priority": "passive", "sound": "chime"}), "low", false),
            (json!({"title": "t"}), "normal", false),
        ] {
            let normalized =
                serde_json::to_value(SystemNotifyParams::parse(&raw, PlatformFamily::Linux).unwrap()).unwrap();
            let n = validate(&normalized).unwrap();
            assert_eq!((n.urgency, n.silent), (urgency, silent), "{raw} → {normalized}");
        }
    }

    #[test]
    fn argument_building() {
        let n = validate(&json!({"title": "-u critical", "body": "--help", "sound": "off"})).unwrap();
        assert_eq!(
            notify_send_args(&n),
            vec![
                "--urgency=normal",
                "--app-name=OpenClaw",
                "--hint=boolean:suppress-sound:true",
                "--",
                "-u critical",
                "--help"
            ]
        );
        let n = validate(&json!({"body": "just body"})).unwrap();
        assert_eq!(notify_send_args(&n), vec!["--urgency=normal", "--app-name=OpenClaw", "--", "just body"]);
    }

    /// Writes an executable shell script into a fresh temp dir.
    fn script(name: &str, body: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("clawnode-notify-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify-send");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        (dir, path)
    }

    #[tokio::test]
    async fn passes_arguments_without_a_shell() {
        let (dir, program) =
            script("args", "for a in \"$@\"; do printf '%s\\n' \"$a\"; done > \"$(dirname \"$0\")/args.txt\"");
        let n = validate(&json!({"title": "$(touch /tmp/pwned) ; `id`", "body": "b\"c'd"})).unwrap();
        send(&program, &n, Duration::from_secs(10)).await.unwrap();
        let args = std::fs::read_to_string(dir.join("args.txt")).unwrap();
        assert_eq!(args, "--urgency=normal\n--app-name=OpenClaw\n--\n$(touch /tmp/pwned) ; `id`\nb\"c'd\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn failure_and_timeout() {
        let (dir, program) = script("fail", "echo 'Cannot autolaunch D-Bus' >&2; exit 1");
        let n = validate(&json!({"title": "t"})).unwrap();
        let err = send(&program, &n, Duration::from_secs(10)).await.unwrap_err();
        assert_eq!(err.code(), "NOTIFICATION_FAILED");
        assert_eq!(err.message(), "notify-send exited with 1: Cannot autolaunch D-Bus");
        std::fs::remove_dir_all(&dir).unwrap();

        let (dir, program) = script("slow", "exec sleep 30");
        let started = std::time::Instant::now();
        let err = send(&program, &n, Duration::from_millis(200)).await.unwrap_err();
        assert_eq!(err.code(), "NOTIFICATION_FAILED");
        assert!(err.message().contains("timed out"), "{}", err.message());
        assert!(started.elapsed() < Duration::from_secs(5));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn real_call_matches_installation() {
        let result = system_notify(json!({"title": "clawnode test", "sound": "none"})).await;
        if find_notify_send().is_none() {
            let err = result.unwrap_err();
            assert_eq!(err.code(), "NOTIFICATIONS_UNAVAILABLE");
            assert!(err.message().contains("libnotify-bin"));
        } else {
            // With notify-send present the outcome depends on a session bus.
            match result {
                Ok(v) => assert_eq!(v, json!({"ok": true})),
                Err(e) => assert_eq!(e.code(), "NOTIFICATION_FAILED"),
            }
        }
    }
}
