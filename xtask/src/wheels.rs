//! Python wheels for devices (`cargo xtask dist --wheels`): a maturin release build of
//! `bindings/python` (UniFFI mode, `--profile release-ffi`: `--release` would select the
//! aborting `release` profile, which the FFI crate refuses) for x86_64 and aarch64 manylinux,
//! into `<dist>/wheels`, in the cross target dir. The aarch64 library is linked with
//! Debian's `aarch64-linux-gnu-gcc` against Debian's arm64 glibc; maturin picks the
//! manylinux tag from the glibc symbol versions the library needs, and `cargo xtask
//! devices` checks the tag with `auditwheel show` and installs the host wheel in a fresh
//! venv. Tools are pinned in a venv under the target dir.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::step;

/// Rust targets the wheels need besides the host.
pub const RUST_TARGETS: &[&str] = &["aarch64-unknown-linux-gnu"];

/// Pinned tools (PyPI).
const TOOLS: &[&str] = &["maturin==1.16.0", "auditwheel==6.8.2"];

/// The tools venv (`maturin`, `auditwheel`).
pub fn venv() -> Result<PathBuf, String> {
    let v = crate::dist::cross_dir()?.join("wheel-tools-venv");
    if !v.join("bin/python").exists() {
        step("python3 -m venv (wheel tools)", Command::new("python3").args(["-m", "venv"]).arg(&v))?;
    }
    step(
        "pip install maturin auditwheel (pinned)",
        Command::new(v.join("bin/pip")).args(["install", "--quiet", "--disable-pip-version-check"]).args(TOOLS),
    )?;
    Ok(v)
}

/// Builds the wheels into `out`.
pub fn build(out: &Path) -> Result<(), String> {
    let venv = venv()?;
    let _ = std::fs::remove_dir_all(out);
    let root = clawnode_testkit::workspace::workspace_root();
    let path = format!("{}:{}", venv.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    for target in [None, Some("aarch64-unknown-linux-gnu")] {
        let mut c = Command::new(venv.join("bin/maturin"));
        c.current_dir(root.join("bindings/python"))
            .env("PATH", &path)
            .env("CARGO_TARGET_DIR", crate::dist::cross_dir()?)
            .args(["build", "--profile", "release-ffi", "--quiet", "-o"])
            .arg(out);
        if let Some(t) = target {
            c.args(["--target", t])
                .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", "aarch64-linux-gnu-gcc")
                .env("CC_aarch64_unknown_linux_gnu", "aarch64-linux-gnu-gcc")
                // The FFI crate's build script asks for `--icf=all` and DT_RELR on glibc
                // targets: link with the toolchain's LLD, as `dist` does.
                .env(
                    "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
                    format!("-C link-arg=-B{} -C link-arg=-fuse-ld=lld", crate::dist::gcc_ld()?.display()),
                );
        }
        step(&format!("maturin build --profile release-ffi ({})", target.unwrap_or("x86_64 host")), &mut c)?;
    }
    Ok(())
}
