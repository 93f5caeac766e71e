//! Link options for the `clawnode` binary.
//!
//! On GNU/Linux the binary is linked with packed relative relocations (`DT_RELR`,
//! `-z pack-relative-relocs`): the position-independent executable keeps its ASLR, but its
//! ≈ 10 000 relative relocations take a few KiB instead of ≈ 250 KiB, and the dynamic loader
//! touches fewer pages at start-up. It needs binutils ≥ 2.38 or LLD to link and glibc ≥ 2.36
//! to run; set `CLAWNODE_NO_RELR=1` to build for older systems. `--icf=all` (identical code
//! folding; LLD, rustc's default linker here) merges identical monomorphisations (−40 KB).

fn main() {
    println!("cargo:rerun-if-env-changed=CLAWNODE_NO_RELR");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        if std::env::var_os("CLAWNODE_NO_RELR").is_none() {
            println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
        }
        println!("cargo:rustc-link-arg-bins=-Wl,--icf=all");
    }
}
