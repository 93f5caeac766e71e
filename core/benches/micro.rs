//! Micro-benchmarks: frame decode/encode, connect signing, setup-code decode.
//! Run through `cargo xtask bench` (or `cargo bench -p clawnode --bench micro`).
#![allow(missing_docs, reason = "`criterion_group!` defines an undocumented `pub fn benches`")]

use std::hint::black_box;

use clawnode::identity::DeviceIdentity;
use clawnode::protocol::{InboundFrame, InvokeRequest, InvokeResultParams, RequestFrame, names};
use criterion::{Criterion, criterion_group, criterion_main};

const INVOKE: &str = r#"{"type":"event","event":"node.invoke.request","payload":{"id":"ea1f2531-b286-4dce-9a32-57dec53086ca","nodeId":"816d2bfbde9e","command":"system.which","paramsJSON":"{\"bins\":[\"ls\"]}","timeoutMs":9993,"idempotencyKey":"k-1795516167750"}}"#;

fn frames(c: &mut Criterion) {
    c.bench_function("decode node.invoke.request frame", |b| {
        b.iter(|| {
            let f = InboundFrame::parse(black_box(INVOKE)).ok();
            if let Some(InboundFrame::Event(ev)) = f {
                let r: Option<InvokeRequest> = ev.payload.and_then(|p| serde_json::from_value(p).ok());
                black_box(r.map(|r| r.params_value().ok()));
            }
        })
    });
    c.bench_function("encode node.invoke.result frame", |b| {
        b.iter(|| {
            let params = InvokeResultParams {
                id: "ea1f2531-b286-4dce-9a32-57dec53086ca".into(),
                node_id: "816d2bfbde9e".into(),
                ok: true,
                payload_json: Some(r#"{"bins":{"ls":"/usr/bin/ls"}}"#.into()),
                error: None,
            };
            let f = RequestFrame {
                id: "1:42".into(),
                method: names::NODE_INVOKE_RESULT.into(),
                params: serde_json::to_value(params).ok(),
            };
            black_box(f.to_json())
        })
    });
}

fn signing(c: &mut Criterion) {
    let id = DeviceIdentity::from_seed([7u8; 32]).expect("seed");
    // The v3 payload (pairing.md §2.2) the node signs on connect: deviceId, client id and
    // mode, role, scopes, signedAt, token, nonce, platform, device family.
    let payload = format!(
        "v3|{}|node-host|node|node||1737264000000|UBaH3HQRy8bBogWBonlVae8O7fmErdNB06i2ls9EX6o|0f8e2c1a-6b6e-4c2f-9a51-3d4e5f607182|linux|linux",
        id.device_id()
    );
    c.bench_function("sign v3 connect payload", |b| b.iter(|| black_box(id.sign(black_box(&payload)))));
}

fn setup_codes(c: &mut Criterion) {
    let code = "eyJ1cmwiOiJ3czovLzEyNy4wLjAuMToxODg5OSIsImJvb3RzdHJhcFRva2VuIjoiOHNJSlFCUGdlby1tdThTS012QlR6dk9KUFhQZ24zVmZFUlpMWDZ4bkRMTSIsImV4cGlyZXNBdE1zIjoxNzk1NTE2NTYwMDE3fQ";
    c.bench_function("decode setup code", |b| {
        b.iter(|| black_box(clawnode::setup_code::decode(black_box(code), 1_700_000_000_000).is_ok()))
    });
}

criterion_group!(benches, frames, signing, setup_codes);
criterion_main!(benches);
