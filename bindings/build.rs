//! Link options for the `clawnode_ffi` shared library on GNU/Linux (the Python wheel and the
//! JVM tests): packed relative relocations (`DT_RELR`, glibc ≥ 2.36; set `CLAWNODE_NO_RELR=1`
//! for older systems) and identical-code folding. Android and Apple builds are left to their
//! toolchains' defaults.

fn main() {
    println!("cargo:rerun-if-env-changed=CLAWNODE_NO_RELR");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        if std::env::var_os("CLAWNODE_NO_RELR").is_none() {
            println!("cargo:rustc-link-arg-cdylib=-Wl,-z,pack-relative-relocs");
        }
        println!("cargo:rustc-link-arg-cdylib=-Wl,--icf=all");
    }
}
