//! URL / endpoint parsing and host classification.
#![no_main]

use clawnode::Endpoint;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(e) = Endpoint::parse(text) {
        let _ = e.origin().to_string();
        let shown = e.to_string();
        // What we print parses again to the same endpoint.
        let again = Endpoint::parse(&shown).expect("a displayed endpoint parses");
        assert_eq!(again.to_string(), shown);
    }
    let _ = clawnode::endpoint::classify_host_str(text);
});
