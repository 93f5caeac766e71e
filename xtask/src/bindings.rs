//! `cargo xtask bindings [--check]` and the binding test steps of `cargo xtask test`.
//!
//! Generated code policy: the Kotlin (JVM and Android flavours) and Swift bindings are
//! **committed** — app builds (Gradle, Xcode/SwiftPM) and the Swift syntax check need them
//! without a Rust toolchain, and API changes show up in review — and `--check` (run by
//! `cargo xtask test`) regenerates them into a temp dir and fails on any drift. The Python
//! module is **generated in the build** by maturin from the very `.so` it packs, so it can
//! never drift from its library and is not committed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where each committed generated tree lives, and how it is produced.
struct Target {
    language: &'static str,
    config: Option<&'static str>,
    /// Directory (relative to the workspace) the generated files are committed in.
    dest: &'static str,
}

const TARGETS: &[Target] = &[
    Target { language: "kotlin", config: Some("bindings/uniffi-jvm.toml"), dest: "android/jvm/src/generated/kotlin" },
    Target {
        language: "kotlin",
        config: Some("bindings/uniffi-android.toml"),
        dest: "android/aar/src/generated/kotlin",
    },
    Target { language: "swift", config: None, dest: "ios/Sources/ClawNodeBindings/generated" },
];

fn lib_path(target: &Path) -> PathBuf {
    let name = if cfg!(target_os = "macos") { "libclawnode_ffi.dylib" } else { "libclawnode_ffi.so" };
    target.join("debug").join(name)
}

fn run(cmd: &mut Command) -> Result<(), String> {
    let status = cmd.status().map_err(|e| format!("{cmd:?}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{cmd:?} failed: {status}")) }
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                out.push(rel.to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// Generates every committed binding into `out/<dest>`.
fn generate_into(root: &Path, out: &Path) -> Result<(), String> {
    run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).current_dir(root).args([
        "build",
        "--quiet",
        "-p",
        "clawnode-ffi",
        "-p",
        "uniffi-bindgen",
    ]))?;
    let target = crate::target_dir()?;
    let bindgen = target.join("debug/uniffi-bindgen");
    let lib = lib_path(&target);
    for t in TARGETS {
        let dest = out.join(t.dest);
        let _ = std::fs::remove_dir_all(&dest);
        std::fs::create_dir_all(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        let mut cmd = Command::new(&bindgen);
        cmd.current_dir(root).arg("generate").arg("--no-format").arg("--language").arg(t.language);
        if let Some(c) = t.config {
            cmd.arg("--config").arg(root.join(c));
        }
        cmd.arg("--out-dir").arg(&dest).arg(&lib);
        let output = cmd.output().map_err(|e| format!("uniffi-bindgen: {e}"))?;
        if !output.status.success() {
            return Err(format!("uniffi-bindgen {}: {}", t.language, String::from_utf8_lossy(&output.stderr)));
        }
    }
    Ok(())
}

/// `cargo xtask bindings [--check]`.
pub fn bindings(root: &Path, check: bool) -> Result<(), String> {
    if !check {
        generate_into(root, root)?;
        for t in TARGETS {
            println!("generated {}", t.dest);
        }
        return Ok(());
    }
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    generate_into(root, tmp.path())?;
    let mut drift = Vec::new();
    for t in TARGETS {
        let (fresh, committed) = (tmp.path().join(t.dest), root.join(t.dest));
        let (a, b) = (files(&fresh), files(&committed));
        if a != b {
            drift.push(format!("{}: file set differs ({a:?} vs {b:?})", t.dest));
            continue;
        }
        for f in a {
            if std::fs::read(fresh.join(&f)).ok() != std::fs::read(committed.join(&f)).ok() {
                drift.push(format!("{}/{}", t.dest, f.display()));
            }
        }
    }
    if drift.is_empty() {
        println!("generated bindings are up to date");
        Ok(())
    } else {
        Err(format!("generated bindings drifted (run `cargo xtask bindings` and commit):\n  {}", drift.join("\n  ")))
    }
}

/// Steps appended to `cargo xtask test`. Each provisions its own tools (a venv under the
/// target dir, Maven Central through `mvn`). The scripts get the resolved target dir as
/// `$CLAWNODE_TARGET_DIR` ([`clawnode_testkit::workspace::TARGET_DIR_ENV`]).
pub fn test_steps(root: &Path, target: &Path) -> Vec<(&'static str, Command)> {
    use clawnode_testkit::workspace::TARGET_DIR_ENV;
    let xtask = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("xtask"));
    let mut check = Command::new(xtask);
    check.current_dir(root).args(["bindings", "--check"]);
    let mut fixture = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    fixture.current_dir(root).args([
        "build",
        "--quiet",
        "-p",
        "clawnode-testkit",
        "--bin",
        "gateway-fixture",
        "--bin",
        "fake-fixture",
    ]);
    let mut python = Command::new("bash");
    python.current_dir(root).env(TARGET_DIR_ENV, target).arg("bindings/python/ci.sh");
    let mut jvm = Command::new("bash");
    jvm.current_dir(root).env(TARGET_DIR_ENV, target).arg("android/jvm/ci.sh");
    let mut aar = Command::new("bash");
    aar.current_dir(root).env(TARGET_DIR_ENV, target).arg("android/aar/ci.sh");
    let mut swift = Command::new("bash");
    swift.current_dir(root).env(TARGET_DIR_ENV, target).arg("ios/ci-parse.sh");
    let mut steps = vec![
        ("bindings: drift check (cargo xtask bindings --check)", check),
        ("bindings: build gateway-fixture + fake-fixture", fixture),
        ("bindings: python wheel (maturin, debug) + mypy --strict + pytest, real Gateway", python),
    ];
    if root.join("android/jvm/ci.sh").exists() {
        steps.push(("bindings: kotlin/JVM (maven) + JUnit, real Gateway", jvm));
    }
    if root.join("android/aar/ci.sh").exists() {
        steps.push(("bindings: android AAR Kotlin (maven, android-all) + Robolectric", aar));
    }
    if root.join("ios/ci-parse.sh").exists() {
        steps.push(("bindings: swift parse (tree-sitter) + Kotlin/Swift API parity", swift));
    }
    steps
}
