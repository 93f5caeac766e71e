//! Setup-code decoding (`oc-pair://…` or bare base64url JSON).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(code) = clawnode::setup_code::decode(text, 1_800_000_000_000) {
        let _ = code.primary();
    }
});
