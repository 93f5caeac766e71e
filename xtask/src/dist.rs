//! `cargo xtask dist [--wheels]`: the release artifacts of the devices people run ClawNode
//! on, into `<target>/dist/`:
//!
//! - static, stripped `clawnode` per [`TARGETS`] (`clawnode-<version>-<triple>`), the
//!   `SHA256SUMS` of everything in the directory and `SIZES.md` (each binary ≤ [`MAX_SIZE`]:
//!   the step fails above it);
//! - a `.deb` per architecture (`deb.rs`);
//! - with `--wheels`, the Python wheels (`wheels.rs`).
//!
//! Cross builds share one dedicated target dir, `<target>/cross`, so the debug `target/` of
//! the tests is never invalidated. What the step needs is provisioned when missing
//! (`rustup target add`, the Debian cross compilers, qemu-user, debootstrap, lintian).
//!
//! ## Cross compiling
//! Rust links musl targets against its own self-contained musl (crt objects and libc.a ship
//! with the target's rust-std), so a *glibc* cross gcc serves as the linker driver and as the
//! C compiler of `ring` (freestanding C and assembly, no libc headers): the settings are
//! `CC_<triple>` and `CARGO_TARGET_<TRIPLE>_LINKER` in [`Target::env`]. x86_64 uses
//! `musl-gcc` (musl-tools). armv7 is `armv7-unknown-linux-gnueabihf` with `+crt-static`
//! (static glibc) because the distribution server reachable here answers 404 for
//! `rust-std-…-armv7-unknown-linux-musleabihf` (and for every other musl ARM or riscv64
//! target): same static, dependency-free binary, built against Debian's armhf glibc.
//!
//! ## Size
//! Besides the release profile (fat LTO, `opt-level = "z"`, `panic = "abort"`), every target
//! gets [`SIZE_FLAGS`]: LLVM's machine outliner folds repeated instruction sequences into
//! shared functions (AArch64 does it by default at `opt-level = "z"`, x86_64 and ARM do not:
//! −107 KB on x86_64). armv7 is built as Thumb-2 (`+thumb-mode`), as Debian builds its own
//! armhf packages: −0.8 MB against ARM mode, with the same baseline (ARMv7-A, VFPv3-D16, no
//! NEON). rustc accepts `thumb-mode` on stable with a warning that the target feature is not
//! stabilised; the device test runs exactly this binary under qemu-arm against the real
//! Gateway, and the core's unit tests run under qemu-arm built the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{cargo, step};

/// The size limit of one binary (issue #16: ≤ 3 MiB): `dist` fails above it. Measured on
/// 2026-12-06: x86_64 3,127,288 bytes (the tightest), aarch64 and armv7 below it; see
/// docs/devices.md for what each cut bought.
pub const MAX_SIZE: u64 = 3 * 1024 * 1024;

/// One release target.
pub struct Target {
    /// Rust target triple.
    pub triple: &'static str,
    /// Debian architecture of its package.
    pub deb_arch: &'static str,
    /// qemu-user emulator that runs it on x86_64 (`None`: native).
    pub qemu: Option<&'static str>,
    /// `std::env::consts::ARCH` of the build (what `device.info` reports).
    pub rust_arch: &'static str,
    /// C cross compiler, also the linker driver when `linker` is set.
    cc: &'static str,
    /// Prefix of its binutils (`objcopy`, `nm`).
    binutils: &'static str,
    /// Uses the linker setting (`false` for the host's own triple family).
    linker: bool,
    /// `RUSTFLAGS` of the target besides the linker choice ([`LINK_FLAGS`] for musl; the
    /// CLI's build script adds the same for glibc targets).
    rustflags: &'static str,
    /// Debian package providing `cc`.
    cc_package: &'static str,
}

/// Code generation options of every target (see "Size" above).
const SIZE_FLAGS: &str = "-C llvm-args=-enable-machine-outliner=always";

/// Link options of the musl builds, as `cli/build.rs` gives glibc builds: packed relative
/// relocations (`DT_RELR`: −140 KiB of `.rela.dyn` in the static-pie; Rust's
/// self-contained musl 1.2.5 applies them) and identical-code folding (LLD).
const LINK_FLAGS: &str = "-C link-arg=-Wl,-z,pack-relative-relocs -C link-arg=-Wl,--icf=all";

/// The release targets.
pub const TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-unknown-linux-musl",
        deb_arch: "amd64",
        qemu: None,
        rust_arch: "x86_64",
        cc: "musl-gcc",
        binutils: "",
        linker: false,
        rustflags: LINK_FLAGS,
        cc_package: "musl-tools",
    },
    Target {
        triple: "aarch64-unknown-linux-musl",
        deb_arch: "arm64",
        qemu: Some("qemu-aarch64"),
        rust_arch: "aarch64",
        cc: "aarch64-linux-gnu-gcc",
        binutils: "aarch64-linux-gnu-",
        linker: true,
        rustflags: LINK_FLAGS,
        cc_package: "gcc-aarch64-linux-gnu",
    },
    Target {
        triple: "armv7-unknown-linux-gnueabihf",
        deb_arch: "armhf",
        qemu: Some("qemu-arm"),
        rust_arch: "arm",
        cc: "arm-linux-gnueabihf-gcc",
        binutils: "arm-linux-gnueabihf-",
        linker: true,
        rustflags: "-C target-feature=+crt-static,+thumb-mode",
        cc_package: "gcc-arm-linux-gnueabihf",
    },
];

impl Target {
    /// The environment of a cargo command for this target: the C compiler, the linker
    /// driver, and LLD from the Rust toolchain (`-B <sysroot>/…/gcc-ld -fuse-ld=lld`: one
    /// linker for every architecture, with `--icf`). The release profile's `strip` is off:
    /// the unstripped binary stays in the cross target dir for the size breakdown, and
    /// [`finish`] strips the artifact.
    pub fn env(&self, cmd: &mut Command) -> Result<(), String> {
        let under = self.triple.replace('-', "_");
        let upper = under.to_uppercase();
        cmd.env(format!("CC_{under}"), self.cc);
        if self.linker {
            cmd.env(format!("CARGO_TARGET_{upper}_LINKER"), self.cc);
        }
        let flags = format!(
            "-C link-arg=-B{} -C link-arg=-fuse-ld=lld {SIZE_FLAGS} {} {}",
            gcc_ld()?.display(),
            remap_flags()?,
            self.rustflags
        );
        cmd.env(format!("CARGO_TARGET_{upper}_RUSTFLAGS"), flags.trim_end());
        cmd.env("CARGO_PROFILE_RELEASE_STRIP", "false");
        Ok(())
    }

    /// A binutils program of this target (`objcopy`, `nm`).
    pub fn tool(&self, name: &str) -> String {
        format!("{}{name}", self.binutils)
    }

    /// The env var that makes cargo run this target's executables under qemu.
    pub fn runner_env(&self) -> Option<(String, &'static str)> {
        self.qemu.map(|q| (format!("CARGO_TARGET_{}_RUNNER", self.triple.replace('-', "_").to_uppercase()), q))
    }

    /// The (unstripped) release binary in the cross target dir.
    pub fn built(&self, cross: &Path) -> PathBuf {
        cross.join(self.triple).join("release/clawnode")
    }
}

/// `--remap-path-prefix` for every source tree a build reads: the cargo registry, the
/// workspace, the toolchain's library sources. Panic locations then name
/// `tokio-1.54.1/src/…` rather than `/root/.cargo/registry/src/index.crates.io-…/tokio-1.54.1/src/…`:
/// the binary carries no path of the build machine (the same on every machine) and does not pay
/// for them (378 paths, −20 KB on x86_64). A path with whitespace is left alone (RUSTFLAGS
/// splits on it).
fn remap_flags() -> Result<String, String> {
    let mut prefixes: Vec<PathBuf> = vec![clawnode_testkit::workspace::workspace_root(), sysroot()?];
    prefixes.push(PathBuf::from(format!("/rustc/{}", rustc_v("commit-hash")?)));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(Ok(registries)) = cargo_home.map(|h| std::fs::read_dir(h.join("registry/src"))) {
        prefixes.extend(registries.flatten().map(|e| e.path()));
    }
    Ok(prefixes
        .iter()
        .map(|p| p.display().to_string())
        .filter(|p| !p.contains(char::is_whitespace))
        .map(|p| format!("--remap-path-prefix={}/=", p.trim_end_matches('/')))
        .collect::<Vec<_>>()
        .join(" "))
}

/// The toolchain's sysroot.
fn sysroot() -> Result<PathBuf, String> {
    let out = Command::new("rustc").args(["--print", "sysroot"]).output().map_err(|e| format!("rustc: {e}"))?;
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// A field of `rustc -vV` (`host`, `commit-hash`).
fn rustc_v(field: &str) -> Result<String, String> {
    let out = Command::new("rustc").args(["-vV"]).output().map_err(|e| format!("rustc: {e}"))?;
    let prefix = format!("{field}: ");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).map(str::to_string))
        .ok_or(format!("rustc -vV: no {field}"))
}

/// The toolchain's `gcc-ld` directory (an `ld.lld` that runs the toolchain's `rust-lld`).
pub fn gcc_ld() -> Result<PathBuf, String> {
    let dir = sysroot()?.join("lib/rustlib").join(rustc_v("host")?).join("bin/gcc-ld");
    if dir.join("ld.lld").exists() { Ok(dir) } else { Err(format!("no ld.lld in {}", dir.display())) }
}

/// The artifact: `bin` stripped (symbols, and the unwind tables: `.eh_frame` and its
/// header, ≈ 12 % of the file). With `panic = "abort"` nothing unwinds: the tables only
/// fed the panic hook's `RUST_BACKTRACE` output, which prints no frames without them
/// (the process aborts either way). `-C force-unwind-tables=no` does not remove them
/// (measured: the same `.eh_frame` bytes), and the precompiled std carries its own.
pub fn finish(t: &Target, bin: &Path, out: &Path) -> Result<(), String> {
    step(
        &format!("strip {} (symbols, unwind tables)", t.triple),
        Command::new(t.tool("objcopy"))
            .args([
                "--strip-all",
                "--remove-section=.eh_frame",
                "--remove-section=.eh_frame_hdr",
                "--remove-section=.comment",
            ])
            .arg(bin)
            .arg(out),
    )
    .map(|_| ())
}

/// What pulls size: the largest contributors by symbol size (crate of a Rust symbol, the
/// symbol itself for C), from the unstripped binary.
pub fn top_symbols(t: &Target, bin: &Path, n: usize) -> Result<Vec<(String, u64)>, String> {
    let out = Command::new(t.tool("nm"))
        .args(["--size-sort", "-S", "-C"])
        .arg(bin)
        .output()
        .map_err(|e| format!("nm: {e}"))?;
    let mut by: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let mut it = line.splitn(4, ' ');
        let (Some(_), Some(size), Some(_), Some(name)) = (it.next(), it.next(), it.next(), it.next()) else {
            continue;
        };
        let Ok(size) = u64::from_str_radix(size, 16) else { continue };
        let name = name.trim_start_matches('<').trim_start_matches('&');
        let key = match name.split_once("::") {
            Some((krate, _)) if !krate.contains(' ') => krate.to_string(),
            Some(_) => "(generic impls)".to_string(),
            None if name.starts_with("OUTLINED_FUNCTION_") => "(machine outliner)".to_string(),
            None => format!("C: {name}"),
        };
        *by.entry(key).or_default() += size;
    }
    let mut v: Vec<(String, u64)> = by.into_iter().collect();
    v.sort_by_key(|b| std::cmp::Reverse(b.1));
    v.truncate(n);
    Ok(v)
}

/// The dedicated target dir of cross and release builds.
pub fn cross_dir() -> Result<PathBuf, String> {
    Ok(crate::target_dir()?.join("cross"))
}

/// The artifact directory.
pub fn dist_dir() -> Result<PathBuf, String> {
    Ok(crate::target_dir()?.join("dist"))
}

/// cargo with the cross target dir.
pub fn cross_cargo() -> Result<Command, String> {
    let mut c = cargo();
    c.env("CARGO_TARGET_DIR", cross_dir()?);
    Ok(c)
}

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Installs the missing Rust targets (`extra`: more triples, e.g. for the wheels) and the
/// Debian packages of the device steps (cross compilers, musl-tools, qemu-user, debootstrap,
/// lintian, dpkg-dev, file). Kept apart from `SYSTEM_PACKAGES` (the test step's): only
/// `dist`/`devices` need them.
pub fn provision(extra: &[&str]) -> Result<(), String> {
    let out =
        Command::new("rustup").args(["target", "list", "--installed"]).output().map_err(|e| format!("rustup: {e}"))?;
    let installed = String::from_utf8_lossy(&out.stdout).to_string();
    let missing: Vec<&str> = TARGETS
        .iter()
        .map(|t| t.triple)
        .chain(extra.iter().copied())
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if !missing.is_empty() {
        step("rustup target add", Command::new("rustup").args(["target", "add"]).args(&missing))?;
    }
    let mut need: Vec<&str> = TARGETS.iter().filter(|t| !have(t.cc)).map(|t| t.cc_package).collect();
    for (program, package) in [
        ("qemu-aarch64", "qemu-user"),
        ("debootstrap", "debootstrap"),
        ("lintian", "lintian"),
        ("dpkg-deb", "dpkg-dev"),
        ("file", "file"),
    ] {
        if !have(program) {
            need.push(package);
        }
    }
    // The cross compilers' C library headers and objects: only a Recommends of the compiler
    // packages, so `--no-install-recommends` leaves them out (ring's C then finds the host's
    // /usr/include and fails on a fresh machine). The static armv7 build and the aarch64
    // wheel link against them too.
    for (header, package) in [
        ("/usr/aarch64-linux-gnu/include/stdint.h", "libc6-dev-arm64-cross"),
        ("/usr/arm-linux-gnueabihf/include/stdint.h", "libc6-dev-armhf-cross"),
    ] {
        if !Path::new(header).exists() {
            need.push(package);
        }
    }
    if need.is_empty() {
        return Ok(());
    }
    let script = format!(
        "set -eu; apt-get update -qq; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends {}",
        need.join(" ")
    );
    step("apt-get install (dist tools)", Command::new("bash").args(["-c", &script])).map(|_| ())
}

/// The workspace version (from `cargo metadata` of the CLI package).
pub fn version() -> Result<String, String> {
    let out = cargo()
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    v["packages"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "clawnode-cli"))
        .and_then(|p| p["version"].as_str())
        .map(str::to_string)
        .ok_or_else(|| "no clawnode-cli in cargo metadata".into())
}

/// Builds the release binary of every target (cached in the cross target dir).
pub fn build_binaries() -> Result<(), String> {
    for t in TARGETS {
        let mut c = cross_cargo()?;
        c.args(["build", "--release", "--locked", "-p", "clawnode-cli", "--bin", "clawnode", "--target", t.triple]);
        t.env(&mut c)?;
        step(&format!("build clawnode --release --target {}", t.triple), &mut c)?;
    }
    Ok(())
}

/// The packaging files generated from the CLI's definitions (`clawnode __dist-files`): a
/// host debug build of the CLI with the `dist-files` feature, in the workspace's own target
/// dir (its debug dependencies are warm there after `cargo xtask test`: seconds, where the
/// cross dir took 9 minutes to build them from scratch).
pub fn dist_files(out: &Path) -> Result<(), String> {
    let mut c = cargo();
    c.args(["build", "--quiet", "--locked", "-p", "clawnode-cli", "--bin", "clawnode", "--features", "dist-files"]);
    step("build clawnode --features dist-files (host)", &mut c)?;
    // The generators' own lints and unit tests (they need the feature, so `cargo xtask test`
    // skips them).
    let mut l = cargo();
    l.args(["clippy", "--quiet", "--locked", "-p", "clawnode-cli", "--all-targets", "--features", "dist-files"]);
    step("clippy of the packaging files (host)", l.args(["--", "-D", "warnings"]))?;
    let mut t = cargo();
    t.args(["test", "--quiet", "--locked", "-p", "clawnode-cli", "--bin", "clawnode", "--features", "dist-files"]);
    step("unit tests of the packaging files (host)", t.args(["--", "dist_files::"]))?;
    let _ = std::fs::remove_dir_all(out);
    let exe = crate::target_dir()?.join("debug/clawnode");
    step("generate man pages, completions, unit", Command::new(exe).arg("__dist-files").arg(out)).map(|_| ())
}

fn is_static(bin: &Path) -> Result<bool, String> {
    // A static executable has no PT_INTERP (`file` would say "statically linked").
    let out = Command::new("file").arg("-b").arg(bin).output().map_err(|e| format!("file: {e}"))?;
    let s = String::from_utf8_lossy(&out.stdout);
    Ok(s.contains("statically linked") || s.contains("static-pie linked"))
}

fn sha256(path: &Path) -> Result<String, String> {
    let out = Command::new("sha256sum").arg(path).output().map_err(|e| format!("sha256sum: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .map(str::to_string)
        .ok_or_else(|| format!("sha256sum {}: no output", path.display()))
}

/// `cargo xtask dist [--wheels]`.
pub fn main(args: &[String]) -> Result<(), String> {
    let wheels = match args {
        [] => false,
        [w] if w == "--wheels" => true,
        _ => return Err("usage: cargo xtask dist [--wheels]".into()),
    };
    let extra: &[&str] = if wheels { crate::wheels::RUST_TARGETS } else { &[] };
    provision(extra)?;
    let version = version()?;
    build_binaries()?;
    let dist = dist_dir()?;
    let _ = std::fs::remove_dir_all(&dist);
    std::fs::create_dir_all(&dist).map_err(|e| format!("{}: {e}", dist.display()))?;
    let cross = cross_dir()?;
    let mut table =
        String::from("| target | static | size (bytes) | size (MiB) | ≤ 3 MiB |\n|---|---|---:|---:|---|\n");
    let mut over = Vec::new();
    let mut pulls = String::new();
    for t in TARGETS {
        let src = t.built(&cross);
        let name = format!("clawnode-{version}-{}", t.triple);
        let dst = dist.join(&name);
        finish(t, &src, &dst)?;
        let size = std::fs::metadata(&dst).map_err(|e| e.to_string())?.len();
        let st = is_static(&dst)?;
        if !st {
            over.push(format!("{name} is not statically linked"));
        }
        if size > MAX_SIZE {
            over.push(format!("{name}: {size} bytes > {MAX_SIZE}"));
        }
        table.push_str(&format!(
            "| {} | {} | {size} | {:.2} | {} |\n",
            t.triple,
            if st { "yes" } else { "NO" },
            size as f64 / 1048576.0,
            if size <= MAX_SIZE { "yes" } else { "NO" }
        ));
        pulls.push_str(&format!("\n{} (symbol bytes by crate, before stripping):\n", t.triple));
        for (what, bytes) in top_symbols(t, &src, 12)? {
            pulls.push_str(&format!("  {bytes:>8}  {what}\n"));
        }
    }
    table.push_str(&pulls);
    let files = dist.join("files");
    dist_files(&files)?;
    for t in TARGETS {
        let bin = dist.join(format!("clawnode-{version}-{}", t.triple));
        crate::deb::build(t, &version, &bin, &files, &dist)?;
    }
    if wheels {
        crate::wheels::build(&dist.join("wheels"))?;
    }
    std::fs::write(dist.join("SIZES.md"), &table).map_err(|e| e.to_string())?;
    let mut sums = String::new();
    let mut entries: Vec<PathBuf> = Vec::new();
    for sub in [dist.clone(), dist.join("wheels")] {
        if let Ok(rd) = std::fs::read_dir(&sub) {
            entries.extend(rd.flatten().map(|e| e.path()).filter(|p| p.is_file()));
        }
    }
    entries.sort();
    for p in entries.iter().filter(|p| !p.ends_with("SHA256SUMS")) {
        let rel = p.strip_prefix(&dist).unwrap_or(p);
        sums.push_str(&format!("{}  {}\n", sha256(p)?, rel.display()));
    }
    std::fs::write(dist.join("SHA256SUMS"), &sums).map_err(|e| e.to_string())?;
    println!("\n{table}\nSHA256SUMS:\n{sums}\nartifacts in {}", dist.display());
    if over.is_empty() { Ok(()) } else { Err(over.join("; ")) }
}
