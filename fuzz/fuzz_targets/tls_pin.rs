//! TLS fingerprint parsing (64 hex / 32 colon pairs, optional `sha256:`).
#![no_main]

use clawnode::TlsPin;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = TlsPin::parse(text) {
        let hex = p.to_hex();
        assert_eq!(TlsPin::parse(&hex).ok(), Some(p), "round trip");
        let _ = p.to_string();
    }
});
