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
    Target { language: "swift", config: None, dest: "ios/Sources/ClawNodeFFI/generated" },
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
        if t.language == "kotlin" {
            for f in files(&dest) {
                let path = dest.join(f);
                let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                std::fs::write(&path, kotlin_data_objects(&text)).map_err(|e| format!("{}: {e}", path.display()))?;
            }
        }
    }
    Ok(())
}

/// UniFFI 0.32 emits the field-less variants of a sealed class as plain `object`s, which print
/// as `NodeNotice$DeviceTokenStored@77659b30`; `data object` (Kotlin 1.9+) prints
/// `DeviceTokenStored` and compares by type. Exactly the lines `    object X : Parent()` change.
fn kotlin_data_objects(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 1024);
    for line in text.split_inclusive('\n') {
        let indent = line.len() - line.trim_start().len();
        let rest = &line[indent..];
        let is_variant = rest.strip_prefix("object ").is_some_and(|r| {
            let mut parts = r.trim_end().splitn(2, " : ");
            let name = parts.next().unwrap_or_default();
            let parent = parts.next().unwrap_or_default();
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '`')
                && parent.ends_with("()")
                && parent[..parent.len() - 2].chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        if is_variant {
            out.push_str(&line[..indent]);
            out.push_str("data ");
            out.push_str(rest);
        } else {
            out.push_str(line);
        }
    }
    out
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
    fixture.current_dir(root).args(["build", "--quiet", "-p", "clawnode-testkit", "--bin", "gateway-fixture"]);
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
        ("bindings: build gateway-fixture", fixture),
        ("bindings: python wheel (maturin, debug) + pytest, real Gateway", python),
    ];
    if root.join("android/jvm/ci.sh").exists() {
        steps.push(("bindings: kotlin/JVM (maven) + JUnit, real Gateway", jvm));
    }
    if root.join("android/aar/ci.sh").exists() {
        steps.push(("bindings: android AAR Kotlin (maven, android-all) + Robolectric", aar));
    }
    if root.join("ios/ci-parse.sh").exists() {
        steps.push(("bindings: swift files parse (tree-sitter)", swift));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::kotlin_data_objects;

    #[test]
    fn only_sealed_unit_variants_become_data_objects() {
        let src = "sealed class S {\n    object Idle : S()\n    data class A(val x: Int) : S()\n    companion object\n}\nobject Other : Foo(1)\n";
        let out = kotlin_data_objects(src);
        assert!(out.contains("    data object Idle : S()\n"));
        assert!(out.contains("    companion object\n") && out.contains("object Other : Foo(1)\n"));
        assert!(!out.contains("data companion") && !out.contains("data data"));
        assert_eq!(kotlin_data_objects(&out), out, "idempotent");
    }
}
