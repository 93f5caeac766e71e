//! `cargo xtask phones`: type-checks the FFI crate (`clawnode-ffi`, with the core and every
//! dependency, ring's C included) for the phones' own targets with `cargo clippy -D warnings`.
//!
//! What it installs when missing: the Rust standard library of each target (`rustup target
//! add`) and `clang`/`lld` from Debian (`apt-get`, as root). What it does not need: an Android
//! NDK or Xcode. ring's C is compiled by Debian's clang as freestanding code
//! (`-ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1`: ring's own headers replace libc's),
//! and for Apple targets cc-rs gets `SDKROOT` pointing at a generated stub SDK whose only file is
//! `usr/include/TargetConditionals.h` (ring reads the `TARGET_OS_*` macros from it; without
//! `SDKROOT` cc-rs asks `xcrun`, which does not exist here).
//!
//! What cannot be done here, and why: **linking**. The cdylib for Android needs the NDK's
//! sysroot (bionic `libc.so`, `liblog.so`, `libdl.so`, crt objects) and its per-API-level
//! linker wrappers; the iOS static library is archived fine but an app or a test binary needs
//! Xcode's SDK (`libSystem.tbd`, `Security.framework`, `CoreFoundation.framework`) and Apple's
//! linker. Neither is redistributable to these machines. `android/aar/build-native.sh`
//! (`cargo ndk`) and `ios/build-xcframework.sh` build the real artefacts where they exist.
//!
//! All targets share the workspace target dir (`<target>/<triple>/`, host build scripts and
//! proc macros built once for all five), so a warm run costs seconds per target.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// One phone target: its triple and whether its `rust-std` must be installable.
struct Phone {
    triple: &'static str,
    apple: bool,
    /// Extra C flags for ring's C (cc-rs's own `--target` for the target, where clang needs
    /// a more precise one).
    cflags: &'static str,
    /// `false` only where the toolchain's distribution server is known not to serve the
    /// target's `rust-std` for the pinned toolchain (then the check is reported as skipped).
    required: bool,
}

const PHONES: &[Phone] = &[
    Phone { triple: "aarch64-linux-android", apple: false, cflags: "", required: true },
    Phone {
        triple: "armv7-linux-androideabi",
        apple: false,
        // cc-rs says `--target=arm-none-linux-android` (ARMv4T): ring's ARMv7 assembly needs v7-A.
        cflags: "--target=armv7a-linux-androideabi21",
        required: true,
    },
    Phone { triple: "x86_64-linux-android", apple: false, cflags: "", required: true },
    Phone { triple: "aarch64-apple-ios", apple: true, cflags: "", required: true },
    // The dist server these machines use answers 404 for rust-std-1.95.0-aarch64-apple-ios-sim
    // (checked 2026-12-06); a machine that can install it checks it like the others.
    Phone { triple: "aarch64-apple-ios-sim", apple: true, cflags: "", required: false },
];

/// ring's C compiled without a libc sysroot: its own headers stand in for libc's.
const FREESTANDING_CFLAGS: &str = "-ffreestanding -nostdlibinc -DRING_CORE_NOSTDLIBINC=1";

/// Installs clang and lld from Debian when `clang` is missing (root with apt-get only).
const CLANG_PACKAGES: &str = r#"set -eu
if command -v clang >/dev/null 2>&1 && command -v ld.lld >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang lld
else
  echo "cargo xtask phones needs clang and lld (apt-get install clang lld as root)" >&2
  exit 1
fi"#;

/// The `TARGET_OS_*` macros ring's `base.h` reads (TargetConditionals.h of Apple's SDKs).
fn target_conditionals(simulator: bool) -> String {
    let sim = u8::from(simulator);
    let device = u8::from(!simulator);
    format!(
        "/* Stub written by `cargo xtask phones` for type-checking only (not Apple's SDK). */\n\
         #pragma once\n\
         #define TARGET_OS_MAC 1\n#define TARGET_OS_OSX 0\n#define TARGET_OS_IPHONE 1\n\
         #define TARGET_OS_IOS 1\n#define TARGET_OS_TV 0\n#define TARGET_OS_WATCH 0\n\
         #define TARGET_OS_VISION 0\n#define TARGET_OS_MACCATALYST 0\n\
         #define TARGET_OS_SIMULATOR {sim}\n#define TARGET_OS_EMBEDDED {device}\n\
         #define TARGET_CPU_ARM64 1\n#define TARGET_CPU_X86_64 0\n"
    )
}

/// Writes the stub SDK for one Apple target and returns its root.
fn stub_sdk(target: &Path, triple: &str) -> Result<std::path::PathBuf, String> {
    let root = target.join("phones-sdk").join(triple);
    let include = root.join("usr/include");
    std::fs::create_dir_all(&include).map_err(|e| format!("{}: {e}", include.display()))?;
    let header = include.join("TargetConditionals.h");
    let text = target_conditionals(triple.ends_with("-sim"));
    // Rewritten only when it changes, so cc-rs's fingerprint stays warm.
    if std::fs::read_to_string(&header).ok().as_deref() != Some(text.as_str()) {
        std::fs::write(&header, text).map_err(|e| format!("{}: {e}", header.display()))?;
    }
    Ok(root)
}

fn rustup_add(triple: &str) -> Result<(), String> {
    let out = Command::new("rustup")
        .args(["target", "add", triple])
        .output()
        .map_err(|e| format!("rustup target add {triple}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let first = err.lines().find(|l| l.starts_with("error")).unwrap_or("failed");
    Err(format!("rustup target add {triple}: {first}"))
}

/// `cargo xtask phones`.
pub fn main(root: &Path) -> Result<(), String> {
    let start = Instant::now();
    crate::step("phones: clang + lld (Debian)", Command::new("bash").args(["-c", CLANG_PACKAGES]))?;
    let target = crate::target_dir()?;
    let mut report = Vec::new();
    for phone in PHONES {
        if let Err(e) = rustup_add(phone.triple) {
            if phone.required {
                return Err(e);
            }
            println!("\n==> {}: SKIPPED ({e})", phone.triple);
            report.push((phone.triple, None));
            continue;
        }
        let env_key = phone.triple.replace('-', "_");
        let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
        cmd.current_dir(root)
            .args(["clippy", "--quiet", "-p", "clawnode-ffi", "--target", phone.triple, "--", "-D", "warnings"])
            .env(format!("CC_{env_key}"), "clang");
        let mut cflags = format!("{FREESTANDING_CFLAGS} {}", phone.cflags).trim_end().to_string();
        if phone.apple {
            let sdk = stub_sdk(&target, phone.triple)?;
            // `-nostdlibinc` also drops `<sysroot>/usr/include`: name the stub's include dir.
            cflags.push_str(&format!(" -isystem {}", sdk.join("usr/include").display()));
            cmd.env("SDKROOT", sdk);
        }
        cmd.env(format!("CFLAGS_{env_key}"), cflags);
        let took = crate::step(&format!("phones: cargo clippy -p clawnode-ffi --target {}", phone.triple), &mut cmd)?;
        report.push((phone.triple, Some(took)));
    }
    println!("\nxtask phones summary:");
    for (triple, took) in &report {
        match took {
            Some(d) => println!("  {triple:<28} {:>7.1}s", d.as_secs_f64()),
            None => println!("  {triple:<28} skipped (rust-std not installable here)"),
        }
    }
    println!("  {:<28} {:>7.1}s", "total", start.elapsed().as_secs_f64());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stub_header_tells_device_from_simulator() {
        let device = target_conditionals(false);
        let sim = target_conditionals(true);
        assert!(device.contains("#define TARGET_OS_IPHONE 1") && device.contains("#define TARGET_OS_SIMULATOR 0"));
        assert!(sim.contains("#define TARGET_OS_SIMULATOR 1") && sim.contains("#define TARGET_OS_OSX 0"));
    }

    #[test]
    fn every_phone_target_is_listed_once() {
        let mut triples: Vec<_> = PHONES.iter().map(|p| p.triple).collect();
        triples.sort_unstable();
        triples.dedup();
        assert_eq!(triples.len(), 5);
        assert!(PHONES.iter().filter(|p| p.apple).all(|p| p.triple.contains("apple-ios")));
    }
}
