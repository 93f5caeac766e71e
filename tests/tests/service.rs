//! `clawnode service install` and systemd notifications:
//!
//! - the generated unit passes `systemd-analyze verify` with no output at all (unknown keys
//!   and bad values are only warnings there), carries the hardening, and holds no secret;
//!   the secret is in the 0600 environment file;
//! - `--proxy` goes to the environment file only (`CLAWNODE_PROXY`, its password never in the
//!   unit); `--proxy-from-env` puts the run flag in the unit and the installer's
//!   `HTTPS_PROXY`/`NO_PROXY` in the environment file; a bad proxy URL or a proxy with
//!   `--ssh` is refused and writes nothing (the round trip through a real proxy from these
//!   files is in `proxies.rs`);
//! - `clawnode run` sends `READY=1` as soon as its supervisor runs (no Gateway reachable
//!   here), `STATUS=` lines with the connection state, `WATCHDOG=1` with `WATCHDOG_USEC`,
//!   and `STOPPING=1` on SIGTERM, to a test `NOTIFY_SOCKET`.
//!
//! Needs `systemd-analyze` (Debian's systemd package; `cargo xtask test` installs it).

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use clawnode_testkit::{ClawnodeProcess, InstalledUnit, service_install, service_install_env};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unit_verifies_and_keeps_secrets_out() {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("units");
    let state = dir.path().join("state");
    let token_file = dir.path().join("token");
    // `$`, `%` and a quote: EnvironmentFile must carry them unaltered.
    let secret = "s3cret-token-value$HOME%h'x";
    std::fs::write(&token_file, format!("{secret}\n")).unwrap();
    for profile in ["confined", "host"] {
        // confined: the secret from --token-file; host: from --token (warned).
        let (flag, value) =
            if profile == "confined" { ("--token-file", token_file.to_str().unwrap()) } else { ("--token", secret) };
        let args = [
            "--exec-profile",
            profile,
            "--url",
            "ws://127.0.0.1:18789",
            flag,
            value,
            "--state-dir",
            state.to_str().unwrap(),
        ];
        let InstalledUnit { unit, env, lines } = service_install(&units, &args).await.unwrap();
        let warned = lines.iter().any(|l| l.contains("warning: --token puts the secret on the command line"));
        assert_eq!(warned, flag == "--token", "{lines:?}");
        let unit_path = units.join("clawnode.service");
        assert!(!unit.contains("s3cret"), "{unit}");
        // A system unit runs as the dedicated user, never root by default.
        for line in ["User=clawnode", "Group=clawnode"] {
            assert!(unit.lines().any(|l| l == line), "{line}\n{unit}");
        }
        for line in ["Type=notify", "Restart=on-failure", "RestartPreventExitStatus=78", "PrivateTmp=yes"] {
            assert!(unit.lines().any(|l| l == line), "{line}\n{unit}");
        }
        assert!(unit.contains(&format!("ReadWritePaths={}", state.display())));
        assert_eq!(unit.contains("NoNewPrivileges=yes"), profile == "confined");
        assert_eq!(unit.contains("ProtectSystem=strict"), profile == "confined");
        assert!(env.lines().any(|l| l == "OPENCLAW_GATEWAY_TOKEN=\"s3cret-token-value\\$HOME%h'x\""), "{env}");
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(units.join("clawnode.env")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let out = std::process::Command::new("systemd-analyze")
            .arg("verify")
            .arg(&unit_path)
            .output()
            .expect("systemd-analyze runs (apt-get install systemd)");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && stderr.trim().is_empty(), "systemd-analyze verify ({profile}): {stderr}");
    }
    // A password, the break-glass variable, a pin and a `clawnode pair` outcome: the password
    // in the 0600 environment file only, the pin on the command line, the pairing files
    // copied 0600 into the service's state directory.
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, "pw$ecret\n").unwrap();
    let paired = dir.path().join("paired");
    std::fs::create_dir_all(&paired).unwrap();
    for (name, text) in [("identity.json", "{}"), ("device-tokens.json", "{}"), ("endpoint.json", "{}")] {
        std::fs::write(paired.join(name), text).unwrap();
    }
    let pin = "AB:".repeat(31) + "AB";
    let state2 = dir.path().join("state2");
    let args = [
        "--url",
        "wss://gw.tail.example:443",
        "--password-file",
        pw_file.to_str().unwrap(),
        "--tls-fingerprint",
        &pin,
        "--allow-insecure-private-ws",
        "--from-state-dir",
        paired.to_str().unwrap(),
        "--state-dir",
        state2.to_str().unwrap(),
    ];
    let InstalledUnit { unit, env, lines } = service_install(&units, &args).await.unwrap();
    assert!(!unit.contains("ecret"), "{unit}");
    assert!(unit.contains(&format!("--tls-fingerprint {}", "ab".repeat(32))), "{unit}");
    assert!(env.lines().any(|l| l == "OPENCLAW_GATEWAY_PASSWORD='pw$ecret'"), "{env}");
    assert!(env.lines().any(|l| l == "OPENCLAW_ALLOW_INSECURE_PRIVATE_WS='1'"), "{env}");
    assert!(lines.iter().any(|l| l.starts_with("carried from")), "{lines:?}");
    for name in ["identity.json", "device-tokens.json", "endpoint.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(state2.join(name)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let out = std::process::Command::new("systemd-analyze").arg("verify").arg(units.join("clawnode.service")).output();
    let out = out.expect("systemd-analyze runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Root only with --exec-profile host --run-as-root.
    let base = ["service", "install", "--unit-dir", units.to_str().unwrap(), "--no-start", "--state-dir"];
    let mut p =
        ClawnodeProcess::spawn(&[&base[..], &[state.to_str().unwrap(), "--run-as-root"]].concat(), &[]).unwrap();
    assert_eq!(p.wait_exit(Duration::from_secs(30)).await.unwrap().code(), Some(2), "{:?}", p.lines());
    let args = [&base[..], &[state.to_str().unwrap(), "--run-as-root", "--exec-profile", "host"]].concat();
    let mut p = ClawnodeProcess::spawn(&args, &[]).unwrap();
    assert!(p.wait_exit(Duration::from_secs(30)).await.unwrap().success(), "{:?}", p.lines());
    let unit = std::fs::read_to_string(units.join("clawnode.service")).unwrap();
    assert!(!unit.contains("User=") && unit.contains("--run-as-root"), "{unit}");
    let mut p =
        ClawnodeProcess::spawn(&["service", "uninstall", "--no-stop", "--unit-dir", units.to_str().unwrap()], &[])
            .unwrap();
    assert!(p.wait_exit(Duration::from_secs(30)).await.unwrap().success());
    assert!(!units.join("clawnode.service").exists());
    assert!(!units.join("clawnode.env").exists());
}

fn verify(unit: &std::path::Path) {
    let out = std::process::Command::new("systemd-analyze").arg("verify").arg(unit).output();
    let out = out.expect("systemd-analyze runs (apt-get install systemd)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "systemd-analyze verify: {stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_goes_to_the_environment_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let units = dir.path().join("units");
    let state = dir.path().join("state");
    let state_arg = state.to_str().unwrap();
    let proxy = "http://corp-user:pr0xy-pa$$@proxy.corp.example:3128";
    let args = ["--url", "wss://gw.example:443", "--proxy", proxy, "--state-dir", state_arg];
    let InstalledUnit { unit, env, lines } = service_install(&units, &args).await.unwrap();
    for needle in ["pr0xy", "corp-user", "proxy.corp.example", "--proxy", "CLAWNODE_PROXY"] {
        assert!(!unit.contains(needle), "{needle} in the unit:\n{unit}");
    }
    assert!(env.lines().any(|l| l == format!("CLAWNODE_PROXY='{proxy}'")), "{env}");
    assert!(lines.iter().any(|l| l.contains("warning: --proxy carries a password")), "{lines:?}");
    verify(&units.join("clawnode.service"));

    // --proxy-from-env: the flag in the unit, this shell's variables in the environment file.
    let env_proxy = "http://env-user:env-pa55@proxy.corp.example:8080";
    let envs = [("HTTPS_PROXY", env_proxy), ("NO_PROXY", "internal.example,10.0.0.0"), ("ALL_PROXY", "")];
    let args = ["--url", "wss://gw.example:443", "--proxy-from-env", "--state-dir", state_arg];
    let InstalledUnit { unit, env, lines } = service_install_env(&units, &args, &envs).await.unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(exec.ends_with("--proxy-from-env"), "{exec}");
    assert!(!unit.contains("env-pa55") && !unit.contains("HTTPS_PROXY=") && !unit.contains("CLAWNODE_PROXY"), "{unit}");
    assert!(env.lines().any(|l| l == format!("HTTPS_PROXY='{env_proxy}'")), "{env}");
    assert!(env.lines().any(|l| l == "NO_PROXY='internal.example,10.0.0.0'"), "{env}");
    assert!(!env.contains("ALL_PROXY") && !env.contains("CLAWNODE_PROXY"), "{env}");
    assert!(
        lines.iter().any(|l| l == "--proxy-from-env: HTTPS_PROXY, NO_PROXY copied into the environment file"),
        "{lines:?}"
    );
    verify(&units.join("clawnode.service"));

    // Refused before anything is written: a bad URL (the password not echoed), a proxy with --ssh.
    let fresh = dir.path().join("fresh");
    let fresh_arg = fresh.to_str().unwrap();
    for (args, code, want) in [
        (
            vec!["--url", "wss://gw.example", "--proxy", "https://u:hunter2@proxy:3128"],
            2,
            "--proxy: unsupported proxy scheme",
        ),
        (vec!["--ssh", "gw.example", "--proxy", "http://proxy:3128"], 2, "cannot be used with"),
        (vec!["--ssh", "gw.example", "--proxy-from-env"], 2, "cannot be used with"),
    ] {
        let full = [&["service", "install", "--no-start", "--unit-dir", fresh_arg][..], &args[..]].concat();
        let mut p = ClawnodeProcess::spawn(&full, &[]).unwrap();
        let st = p.wait_exit(Duration::from_secs(30)).await.unwrap();
        let out = p.lines().join("\n");
        assert_eq!(st.code(), Some(code), "{args:?}: {out}");
        assert!(out.contains(want) && !out.contains("hunter2"), "{args:?}: {out}");
        assert!(!fresh.join("clawnode.env").exists() && !fresh.join("clawnode.service").exists(), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sd_notify_ready_status_watchdog() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    // Nothing listens here: the node keeps retrying, yet it is READY for systemd.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("ws://127.0.0.1:{port}");
    let state = dir.path().join("state");
    let args = ["run", "--url", &url, "--token", "x", "--state-dir", state.to_str().unwrap()];
    let envs = [("NOTIFY_SOCKET", sock_path.to_str().unwrap()), ("WATCHDOG_USEC", "400000")];
    let mut node = ClawnodeProcess::spawn(&args, &envs).unwrap();

    let mut got: Vec<String> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        let watchdogs = got.iter().filter(|m| *m == "WATCHDOG=1").count();
        if watchdogs >= 3 && got.iter().any(|m| m.starts_with("STATUS=connecting")) {
            break;
        }
    }
    assert_eq!(got.first().map(String::as_str), Some("READY=1"), "{got:?}");
    assert!(got.iter().any(|m| m.starts_with("STATUS=connecting")), "{got:?}");
    assert!(got.iter().filter(|m| *m == "WATCHDOG=1").count() >= 3, "{got:?}");
    let st = node.terminate().await.unwrap();
    assert!(st.success(), "{st:?}");
    let mut rest = Vec::new();
    while let Ok(n) = sock.recv(&mut buf) {
        rest.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    assert!(rest.iter().any(|m| m == "STOPPING=1"), "{rest:?}");
}
