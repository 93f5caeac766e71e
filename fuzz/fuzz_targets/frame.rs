//! Inbound frame decoding: `InboundFrame::parse`, then every payload type the session
//! and supervisor decode from events and responses.
#![no_main]

use clawnode::protocol::{
    ConnectChallenge, ErrorShape, HelloOk, InboundFrame, InvokeCancel, InvokeInput, InvokeRequest, PairResolved,
    PendingDrainResult, PendingPullResult, ShutdownEvent,
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn payloads(v: Value) {
    let _ = serde_json::from_value::<ConnectChallenge>(v.clone());
    let _ = serde_json::from_value::<HelloOk>(v.clone());
    let _ = serde_json::from_value::<PairResolved>(v.clone());
    let _ = serde_json::from_value::<ShutdownEvent>(v.clone());
    let _ = serde_json::from_value::<InvokeCancel>(v.clone());
    let _ = serde_json::from_value::<InvokeInput>(v.clone());
    let _ = serde_json::from_value::<PendingPullResult>(v.clone());
    let _ = serde_json::from_value::<PendingDrainResult>(v.clone());
    if let Ok(e) = serde_json::from_value::<ErrorShape>(v.clone()) {
        let _ = e.details();
        let _ = e.effective_retry_after_ms();
        let _ = e.to_string();
    }
    if let Ok(r) = serde_json::from_value::<InvokeRequest>(v) {
        let _ = r.params_value();
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match InboundFrame::parse(text) {
        Ok(InboundFrame::Event(ev)) => payloads(ev.payload.unwrap_or(Value::Null)),
        Ok(InboundFrame::Response(r)) => {
            if let Some(e) = r.error {
                let _ = e.details();
            }
            payloads(r.payload.unwrap_or(Value::Null));
        }
        Ok(_) | Err(_) => {}
    }
});
