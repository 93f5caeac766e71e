//! `paramsJSON` parsing of `node.invoke.request` (string form and legacy `params`).
#![no_main]

use clawnode::protocol::InvokeRequest;
use libfuzzer_sys::fuzz_target;
use serde_json::json;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let req = InvokeRequest {
        id: "i".into(),
        node_id: "n".into(),
        command: "c".into(),
        params_json: Some(text.to_string()),
        params: None,
        timeout_ms: None,
        idempotency_key: None,
        session_key: None,
    };
    let _ = req.params_value();
    // The same text as a whole request payload.
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(text) {
        if let Ok(r) = serde_json::from_value::<InvokeRequest>(json!({"id": "i", "command": "c", "params": v})) {
            let _ = r.params_value();
        }
    }
});
