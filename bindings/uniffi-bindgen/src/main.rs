//! `uniffi-bindgen`: generates Kotlin, Swift and Python bindings from the built
//! `clawnode-ffi` library (library mode), e.g.
//! `cargo run -p uniffi-bindgen -- generate --library target/debug/libclawnode_ffi.so --language python --out-dir out`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
