//! `cargo xtask fuzz [--seconds N]`: runs every cargo-fuzz target in `fuzz/` for a bounded
//! time (default 60 s each). `cargo xtask test` runs a short smoke of each
//! ([`smoke_step`], 10 s per target).
//!
//! Only stable Rust is available: the fuzz build sets `RUSTC_BOOTSTRAP=1` **for the
//! cargo-fuzz subprocess only** (so `-Zsanitizer=address` and the other nightly flags
//! cargo-fuzz passes are accepted by the stable compiler), keeping AddressSanitizer on.
//! cargo-fuzz is installed when missing, pinned (`cargo install cargo-fuzz --version
//! 0.13.1 --locked`, about 70 s on a 2-core machine). Fuzz artefacts go to the shared
//! target dir (`<target dir>/fuzz`, the target dir as cargo resolves it), corpora to
//! `<target dir>/fuzz-corpus/<target>` (seeded from `fuzz/seeds/<target>`).

use std::path::Path;
use std::process::Command;

/// The fuzz targets (`fuzz/fuzz_targets/<name>.rs`).
pub const TARGETS: &[&str] = &["frame", "setup_code", "endpoint", "tls_pin", "params_json", "exec_argv", "discovery"];

/// The pinned cargo-fuzz version.
pub const CARGO_FUZZ_VERSION: &str = "0.13.1";

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// Installs cargo-fuzz (pinned) when `cargo fuzz --version` fails.
pub fn ensure_cargo_fuzz() -> Result<(), String> {
    let have = cargo().args(["fuzz", "--version"]).output().map(|o| o.status.success()).unwrap_or(false);
    if have {
        return Ok(());
    }
    println!("installing cargo-fuzz {CARGO_FUZZ_VERSION} (pinned)");
    let st = cargo()
        .args(["install", "cargo-fuzz", "--version", CARGO_FUZZ_VERSION, "--locked"])
        .status()
        .map_err(|e| format!("cargo install cargo-fuzz: {e}"))?;
    if st.success() { Ok(()) } else { Err(format!("cargo install cargo-fuzz failed: {st}")) }
}

fn fuzz_cmd(root: &Path) -> Command {
    let mut c = cargo();
    c.current_dir(root.join("fuzz")).env("RUSTC_BOOTSTRAP", "1");
    c
}

/// Builds all targets, then runs each for `seconds`. Fails on the first crash.
pub fn run(root: &Path, seconds: u64) -> Result<(), String> {
    ensure_cargo_fuzz()?;
    let shared = crate::target_dir()?;
    let target_dir = shared.join("fuzz");
    let st = fuzz_cmd(root)
        .args(["fuzz", "build", "-O", "--target-dir"])
        .arg(&target_dir)
        .status()
        .map_err(|e| format!("cargo fuzz build: {e}"))?;
    if !st.success() {
        return Err(format!("cargo fuzz build failed: {st}"));
    }
    let mut summary = Vec::new();
    for t in TARGETS {
        let corpus = shared.join("fuzz-corpus").join(t);
        std::fs::create_dir_all(&corpus).map_err(|e| format!("create {}: {e}", corpus.display()))?;
        let seeds = root.join("fuzz/seeds").join(t);
        let mut c = fuzz_cmd(root);
        c.args(["fuzz", "run", "-O", "--target-dir"]).arg(&target_dir).arg(t).arg(&corpus);
        if seeds.is_dir() {
            c.arg(&seeds);
        }
        c.args([
            "--",
            &format!("-max_total_time={seconds}"),
            "-rss_limit_mb=2048",
            "-timeout=10",
            "-print_final_stats=1",
        ]);
        println!("fuzz: {t} for {seconds} s");
        let out = c.output().map_err(|e| format!("cargo fuzz run {t}: {e}"))?;
        let err = String::from_utf8_lossy(&out.stderr);
        let runs = err
            .lines()
            .filter_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .next_back()
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|| "?".into());
        if !out.status.success() {
            let tail: Vec<&str> = err.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            return Err(format!("fuzz target {t} failed ({}):\n{}", out.status, tail.join("\n")));
        }
        summary.push(format!("  {t:<12} {runs:>10} execs in {seconds} s, 0 crashes"));
    }
    println!("fuzz summary:");
    for s in summary {
        println!("{s}");
    }
    Ok(())
}

/// `cargo xtask fuzz [--seconds N]`.
pub fn main(args: &[String], root: &Path) -> Result<(), String> {
    let mut seconds = 60;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                seconds = it.next().and_then(|s| s.parse().ok()).ok_or("--seconds needs a number")?;
            }
            other => return Err(format!("unknown argument {other:?} (usage: cargo xtask fuzz [--seconds N])")),
        }
    }
    run(root, seconds)
}
