//! One `.deb` per architecture, assembled with `dpkg-deb` from the static binary and the
//! files the CLI generates (`clawnode __dist-files`: man pages, completions, the packaged
//! unit — the same `unit_text` `clawnode service install` writes —, sysusers.d and
//! tmpfiles.d entries, the default config). `dpkg-deb` instead of cargo-deb: the package
//! is a handful of generated files and a static binary, and dpkg-deb is already on every
//! Debian machine (no extra tool to compile on CI).
//!
//! Layout: `/usr/bin/clawnode`; `/lib/systemd/system/clawnode.service` (not enabled: the
//! node must be paired first, see docs/devices.md); `/usr/lib/sysusers.d/clawnode.conf`
//! (the `clawnode` system user) and `/usr/lib/tmpfiles.d/clawnode.conf`
//! (`/var/lib/clawnode`, 0700, owned by it), applied by the postinst; the conffile
//! `/etc/clawnode/config.toml`; man pages; bash, zsh and fish completions.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use crate::dist::Target;

const DESCRIPTION: &str = "OpenClaw node host for Linux devices
 ClawNode connects a Linux machine (a Raspberry Pi, an SBC, a server) to an
 OpenClaw Gateway as a node: it pairs with a setup code, then answers the
 Gateway's node commands (system.which, device.info, device.status, and
 operator-approved system.run) as an unprivileged system user under a
 hardened systemd unit.";

const POSTINST: &str = "#!/bin/sh
set -e
if [ \"$1\" = configure ]; then
    systemd-sysusers clawnode.conf
    systemd-tmpfiles --create clawnode.conf
    if [ -d /run/systemd/system ]; then
        systemctl --system daemon-reload >/dev/null || true
    fi
fi
";

const POSTRM: &str = "#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null || true
fi
";

/// Lintian tags that do not apply, each with its reason (shipped as the package's override).
const LINTIAN_OVERRIDES: &str = "# A static binary on purpose: one file that runs on any Linux of the architecture
# (musl, or static glibc for armhf), no runtime dependencies on small devices.
clawnode: statically-linked-binary [usr/bin/clawnode]
# x86_64: a static-pie executable (ET_DYN, for ASLR) that needs no shared library, so it
# has no DT_NEEDED entry at all; lintian takes any ET_DYN for a shared library.
clawnode: shared-library-lacks-prerequisites [usr/bin/clawnode]
# Random bytes of machine code and tables (e.g. \"wtH\"; the words differ per build and
# architecture), not text.
clawnode: spelling-error-in-binary *
";

const COPYRIGHT: &str = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: clawnode

Files: *
Copyright: 2026 The ClawNode authors
License: MIT or Apache-2.0
 The binary statically links Rust crates under MIT, Apache-2.0, ISC and
 BSD-style licenses, and musl libc (MIT) or GNU libc (LGPL-2.1+, armhf).
 On Debian systems the full text of the Apache License 2.0 can be found in
 /usr/share/common-licenses/Apache-2.0 and of the LGPL-2.1 in
 /usr/share/common-licenses/LGPL-2.1.
";

fn err(what: &Path, e: std::io::Error) -> String {
    format!("{}: {e}", what.display())
}

fn put(root: &Path, rel: &str, bytes: &[u8], mode: u32) -> Result<(), String> {
    let p = root.join(rel);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
    }
    std::fs::write(&p, bytes).map_err(|e| err(&p, e))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).map_err(|e| err(&p, e))
}

fn gzip(bytes: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    let mut child = Command::new("gzip")
        .args(["-9n"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("gzip: {e}"))?;
    child.stdin.take().ok_or("gzip: no stdin")?.write_all(bytes).map_err(|e| format!("gzip: {e}"))?;
    let out = child.wait_with_output().map_err(|e| format!("gzip: {e}"))?;
    if out.status.success() { Ok(out.stdout) } else { Err(format!("gzip: {}", out.status)) }
}

fn read(p: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| err(p, e))
}

/// Every regular file under `dir`, relative, sorted.
fn walk(dir: &Path, rel: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), String> {
    let here = dir.join(rel);
    let rd = std::fs::read_dir(&here).map_err(|e| err(&here, e))?;
    for e in rd.flatten() {
        let r = rel.join(e.file_name());
        if e.path().is_dir() {
            walk(dir, &r, out)?;
        } else {
            out.push(r);
        }
    }
    out.sort();
    Ok(())
}

/// Builds `clawnode_<version>_<arch>.deb` into `out_dir`.
pub fn build(t: &Target, version: &str, bin: &Path, files: &Path, out_dir: &Path) -> Result<(), String> {
    let stage = out_dir.join(format!("deb-{}", t.deb_arch));
    let _ = std::fs::remove_dir_all(&stage);
    put(&stage, "usr/bin/clawnode", &read(bin)?, 0o755)?;
    put(&stage, "lib/systemd/system/clawnode.service", &read(&files.join("clawnode.service"))?, 0o644)?;
    put(&stage, "usr/lib/sysusers.d/clawnode.conf", &read(&files.join("sysusers.conf"))?, 0o644)?;
    put(&stage, "usr/lib/tmpfiles.d/clawnode.conf", &read(&files.join("tmpfiles.conf"))?, 0o644)?;
    put(&stage, "etc/clawnode/config.toml", &read(&files.join("config.toml"))?, 0o644)?;
    let mut pages = Vec::new();
    walk(&files.join("man"), Path::new(""), &mut pages)?;
    for p in &pages {
        let gz = gzip(&read(&files.join("man").join(p))?)?;
        put(&stage, &format!("usr/share/man/man1/{}.gz", p.display()), &gz, 0o644)?;
    }
    for (src, dst) in [
        ("clawnode.bash", "usr/share/bash-completion/completions/clawnode"),
        ("_clawnode", "usr/share/zsh/vendor-completions/_clawnode"),
        ("clawnode.fish", "usr/share/fish/vendor_completions.d/clawnode.fish"),
    ] {
        put(&stage, dst, &read(&files.join("completions").join(src))?, 0o644)?;
    }
    put(&stage, "usr/share/doc/clawnode/copyright", COPYRIGHT.as_bytes(), 0o644)?;
    let date = Command::new("date")
        .args(["-u", "-R", "-d", "@0"])
        .env("SOURCE_DATE_EPOCH", "0")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .map_err(|e| format!("date: {e}"))?;
    let changelog = format!(
        "clawnode ({version}) unstable; urgency=medium\n\n  * Release {version}, built by `cargo xtask dist`.\n\n -- ClawNode maintainers <clawnode@example.invalid>  {date}\n"
    );
    put(&stage, "usr/share/doc/clawnode/changelog.gz", &gzip(changelog.as_bytes())?, 0o644)?;
    put(&stage, "usr/share/lintian/overrides/clawnode", LINTIAN_OVERRIDES.as_bytes(), 0o644)?;

    let mut payload = Vec::new();
    walk(&stage, Path::new(""), &mut payload)?;
    let mut md5 = String::new();
    let mut size = 0u64;
    for p in &payload {
        let full = stage.join(p);
        size += std::fs::metadata(&full).map_err(|e| err(&full, e))?.len();
        if p.starts_with("etc") {
            continue;
        }
        let out = Command::new("md5sum").arg(&full).output().map_err(|e| format!("md5sum: {e}"))?;
        let sum = String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_string();
        md5.push_str(&format!("{sum}  {}\n", p.display()));
    }
    let control = format!(
        "Package: clawnode\nVersion: {version}\nArchitecture: {arch}\nMaintainer: ClawNode maintainers <clawnode@example.invalid>\n\
         Installed-Size: {kib}\nDepends: systemd\nSection: net\nPriority: optional\nHomepage: https://example.invalid/clawnode\n\
         Description: {DESCRIPTION}\n",
        arch = t.deb_arch,
        kib = size.div_ceil(1024),
    );
    put(&stage, "DEBIAN/control", control.as_bytes(), 0o644)?;
    put(&stage, "DEBIAN/md5sums", md5.as_bytes(), 0o644)?;
    put(&stage, "DEBIAN/conffiles", b"/etc/clawnode/config.toml\n", 0o644)?;
    put(&stage, "DEBIAN/postinst", POSTINST.as_bytes(), 0o755)?;
    put(&stage, "DEBIAN/postrm", POSTRM.as_bytes(), 0o755)?;
    // Directories 0755 whatever the umask.
    let mut dirs = vec![stage.clone()];
    while let Some(d) = dirs.pop() {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).map_err(|e| err(&d, e))?;
        for e in std::fs::read_dir(&d).map_err(|e| err(&d, e))?.flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            }
        }
    }
    let deb = out_dir.join(format!("clawnode_{version}_{}.deb", t.deb_arch));
    crate::step(
        &format!("dpkg-deb --build ({})", t.deb_arch),
        Command::new("dpkg-deb").args(["--root-owner-group", "-Zxz", "--build"]).arg(&stage).arg(&deb),
    )?;
    std::fs::remove_dir_all(&stage).map_err(|e| err(&stage, e))
}
