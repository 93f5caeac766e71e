//! `cargo xtask devices` (alias `arm`): the release artifacts exercised as devices run them,
//! against the real Gateway on loopback. CI runs it once, after `cargo xtask test`.
//!
//! 1. `cargo xtask dist --wheels` (static binaries, `.deb`s, wheels; cached builds).
//! 2. `tests/tests/device.rs` once per static binary: x86_64 natively (with its idle RSS
//!    bounded by [`MAX_IDLE_RSS_KIB`]), aarch64 under `qemu-aarch64`, armv7 under `qemu-arm`
//!    (qemu-user; static binaries need no sysroot).
//! 3. The core's unit tests for armv7 (32-bit `usize`) under `qemu-arm`.
//! 4. The amd64 `.deb` installed with `dpkg -i` in a Debian bookworm root made by
//!    `debootstrap` (cached pristine under the cross target dir, copied fresh per run):
//!    the user, the state directory, `clawnode --version`, and `device.rs` through
//!    `chroot --userspec=clawnode:clawnode` (the chroot shares the network namespace, so the
//!    Gateway on loopback is reachable). `lintian` on every `.deb`.
//! 5. The x86_64 wheel installed with pip in a fresh venv and the Python binding tests run
//!    against it; `auditwheel show` on every wheel.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::dist::{self, TARGETS, Target};
use crate::{cargo, step};

/// Idle RSS budget of the static x86_64 build (issue #16).
const MAX_IDLE_RSS_KIB: u64 = 4096;

/// The Debian suite of the test root (the mirror comes from the machine's apt sources).
const SUITE: &str = "bookworm";

fn device_test(
    label: &str,
    runner: &str,
    bin: &Path,
    arch: &str,
    extra: &[(&str, String)],
) -> Result<Duration, String> {
    let mut c = cargo();
    c.args(["test", "--quiet", "-p", "clawnode-testkit", "--test", "device", "--", "--nocapture"])
        .env("CLAWNODE_DEVICE_BIN", bin)
        .env("CLAWNODE_DEVICE_RUNNER", runner)
        .env("CLAWNODE_DEVICE_ARCH", arch);
    for (k, v) in extra {
        c.env(k, v);
    }
    step(&format!("device test: {label}"), &mut c)
}

fn mirror() -> String {
    let sources = std::fs::read_to_string("/etc/apt/sources.list.d/debian.sources")
        .or_else(|_| std::fs::read_to_string("/etc/apt/sources.list"))
        .unwrap_or_default();
    sources
        .lines()
        .filter_map(|l| l.strip_prefix("URIs:").or_else(|| l.strip_prefix("deb ")))
        .flat_map(str::split_whitespace)
        .find(|u| u.starts_with("http") && !u.contains("security"))
        .unwrap_or("http://deb.debian.org/debian")
        .to_string()
}

/// The pristine Debian root (made once), copied to a fresh `run` root.
fn debian_root() -> Result<PathBuf, String> {
    let cross = dist::cross_dir()?;
    let pristine = cross.join("debian-root");
    if !pristine.join(".complete").exists() {
        let tmp = cross.join("debian-root-tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        step(
            &format!("debootstrap {SUITE} (minbase + systemd; once)"),
            Command::new("debootstrap").args(["--variant=minbase", "--include=systemd", SUITE]).arg(&tmp).arg(mirror()),
        )?;
        std::fs::write(tmp.join(".complete"), b"").map_err(|e| e.to_string())?;
        let _ = std::fs::remove_dir_all(&pristine);
        std::fs::rename(&tmp, &pristine).map_err(|e| e.to_string())?;
    }
    let run = cross.join("debian-run");
    let _ = Command::new("umount").arg(run.join("proc")).status();
    let _ = std::fs::remove_dir_all(&run);
    step("copy the Debian root", Command::new("cp").arg("-a").arg(&pristine).arg(&run))?;
    Ok(run)
}

fn chroot_out(root: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("chroot").arg(root).args(args).output().map_err(|e| format!("chroot: {e}"))?;
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(format!("chroot {}: {}: {text}", args.join(" "), out.status)) }
}

fn deb_in_debian_root(version: &str, dist_dir: &Path) -> Result<(), String> {
    let root = debian_root()?;
    // As on a booted system: the postinst's systemd-tmpfiles needs /proc.
    let proc = root.join("proc");
    step("mount /proc in the Debian root", Command::new("mount").args(["-t", "proc", "proc"]).arg(&proc))?;
    let r = deb_in_mounted_root(&root, version, dist_dir);
    let _ = Command::new("umount").arg(&proc).status();
    r?;
    std::fs::remove_dir_all(&root).map_err(|e| e.to_string())
}

fn deb_in_mounted_root(root: &Path, version: &str, dist_dir: &Path) -> Result<(), String> {
    let root = root.to_path_buf();
    let deb = format!("clawnode_{version}_amd64.deb");
    std::fs::copy(dist_dir.join(&deb), root.join("tmp").join(&deb)).map_err(|e| e.to_string())?;
    step(
        "dpkg -i (amd64) in the Debian root",
        Command::new("chroot").arg(&root).args(["dpkg", "-i", &format!("/tmp/{deb}")]),
    )?;
    println!("{}", chroot_out(&root, &["clawnode", "--version"])?.trim());
    let user = chroot_out(&root, &["getent", "passwd", "clawnode"])?;
    let state = chroot_out(&root, &["stat", "-c", "%a %U:%G", "/var/lib/clawnode"])?;
    println!("user: {}state: /var/lib/clawnode {}", user, state.trim());
    if state.trim() != "700 clawnode:clawnode" || !user.contains(":/var/lib/clawnode:/usr/sbin/nologin") {
        return Err(format!("package set-up: user {user:?}, state dir {state:?}"));
    }
    let unit = chroot_out(&root, &["systemd-analyze", "verify", "--man=no", "/lib/systemd/system/clawnode.service"]);
    println!("systemd-analyze verify clawnode.service: {}", unit.as_deref().map(str::trim).unwrap_or("failed"));
    unit?;
    for page in ["clawnode", "clawnode-pair", "clawnode-service"] {
        let p = root.join(format!("usr/share/man/man1/{page}.1.gz"));
        if !p.exists() {
            return Err(format!("missing man page {}", p.display()));
        }
    }
    let runner = format!("chroot --userspec=clawnode:clawnode {} env HOME=/var/lib/clawnode", root.display());
    device_test(
        "the .deb's /usr/bin/clawnode in the Debian root (chroot, user clawnode)",
        &runner,
        Path::new("/usr/bin/clawnode"),
        "x86_64",
        &[
            ("CLAWNODE_DEVICE_STATE_A", "/tmp/clawnode-approval".into()),
            ("CLAWNODE_DEVICE_STATE_B", "/var/lib/clawnode".into()),
            ("CLAWNODE_DEVICE_CONFIG", "/etc/clawnode/config.toml".into()),
        ],
    )
    .map(|_| ())
}

fn lintian(dist_dir: &Path, version: &str) -> Result<(), String> {
    for t in TARGETS {
        let deb = dist_dir.join(format!("clawnode_{version}_{}.deb", t.deb_arch));
        // Info tags and overrides (with their reasons) shown; an error or warning fails the
        // step. Judged from the tags: with these display options lintian's exit status is 2
        // even when only info tags remain.
        let out = Command::new("lintian")
            .args(["--display-info", "--show-overrides"])
            .arg(&deb)
            .output()
            .map_err(|e| format!("lintian: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        println!("lintian {}:\n{}", t.deb_arch, if text.trim().is_empty() { "  (no tags)" } else { text.trim_end() });
        let bad: Vec<&str> = text.lines().filter(|l| l.starts_with("E: ") || l.starts_with("W: ")).collect();
        if !bad.is_empty() || text.trim().is_empty() && !out.status.success() {
            return Err(format!(
                "lintian {}: {bad:?} ({})",
                deb.display(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}

fn wheels(dist_dir: &Path) -> Result<(), String> {
    let tools = crate::wheels::venv()?;
    let dir = dist_dir.join("wheels");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    found.sort();
    let mut host = None;
    for w in &found {
        let out = Command::new(tools.join("bin/auditwheel")).arg("show").arg(w).output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        println!("auditwheel show {}:\n{}", w.display(), text.trim_end());
        let name = w.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        // auditwheel wraps its lines: compare with the blanks collapsed.
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if !out.status.success() || !flat.contains("is consistent with the following platform tag: \"manylinux") {
            return Err(format!("auditwheel show {name}: {}", out.status));
        }
        if name.contains("x86_64") {
            host = Some(w.clone());
        }
    }
    if found.len() < 2 {
        return Err(format!("expected an x86_64 and an aarch64 wheel in {}", dir.display()));
    }
    let host = host.ok_or("no x86_64 wheel")?;
    let venv = tempfile::tempdir().map_err(|e| e.to_string())?;
    let py = venv.path().join("bin/python");
    step("python3 -m venv (fresh)", Command::new("python3").args(["-m", "venv"]).arg(venv.path()))?;
    step(
        "pip install <x86_64 wheel> pytest==9.2.0",
        Command::new(&py)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"])
            .arg(&host)
            .arg("pytest==9.2.0"),
    )?;
    step(
        "build gateway-fixture",
        cargo().args(["build", "--quiet", "-p", "clawnode-testkit", "--bin", "gateway-fixture"]),
    )?;
    let root = clawnode_testkit::workspace::workspace_root();
    step(
        "pytest against the installed release wheel (real Gateway)",
        Command::new(&py)
            .current_dir(venv.path())
            .env("CLAWNODE_GATEWAY_FIXTURE", crate::target_dir()?.join("debug/gateway-fixture"))
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
            .arg(root.join("bindings/python/tests")),
    )
    .map(|_| ())
}

fn qemu_unit_tests(t: &Target) -> Result<Duration, String> {
    let mut c = dist::cross_cargo()?;
    c.args(["test", "--quiet", "-p", "clawnode", "--lib", "--target", t.triple]);
    t.env(&mut c)?;
    if let Some((k, v)) = t.runner_env() {
        c.env(k, v);
    }
    step(&format!("core unit tests under {} ({})", t.qemu.unwrap_or("native"), t.triple), &mut c)
}

/// `cargo xtask devices`.
pub fn main() -> Result<(), String> {
    let start = Instant::now();
    let mut timings: Vec<(String, Duration)> = Vec::new();
    let t0 = Instant::now();
    dist::main(&["--wheels".to_string()])?;
    timings.push(("dist --wheels (binaries, .debs, wheels)".into(), t0.elapsed()));
    let version = dist::version()?;
    let dist_dir = dist::dist_dir()?;
    for t in TARGETS {
        let bin = dist_dir.join(format!("clawnode-{version}-{}", t.triple));
        let extra: Vec<(&str, String)> = match t.qemu {
            None => vec![("CLAWNODE_DEVICE_MAX_RSS_KIB", MAX_IDLE_RSS_KIB.to_string())],
            Some(_) => vec![],
        };
        let label = format!("{} {}", t.triple, t.qemu.map(|q| format!("under {q}")).unwrap_or("native".into()));
        let d = device_test(&label, t.qemu.unwrap_or(""), &bin, t.rust_arch, &extra)?;
        timings.push((format!("device test {label}"), d));
    }
    if let Some(arm) = TARGETS.iter().find(|t| t.rust_arch == "arm") {
        let d = qemu_unit_tests(arm)?;
        timings.push((format!("core unit tests {} under qemu-arm", arm.triple), d));
    }
    let t0 = Instant::now();
    lintian(&dist_dir, &version)?;
    deb_in_debian_root(&version, &dist_dir)?;
    timings.push(("deb: lintian + Debian root install + device test".into(), t0.elapsed()));
    let t0 = Instant::now();
    wheels(&dist_dir)?;
    timings.push(("wheels: auditwheel + fresh venv + pytest".into(), t0.elapsed()));
    println!("\nxtask devices summary:");
    for (name, d) in &timings {
        println!("  {name:<72} {:>7.1}s", d.as_secs_f64());
    }
    println!("  {:<72} {:>7.1}s", "total", start.elapsed().as_secs_f64());
    Ok(())
}
