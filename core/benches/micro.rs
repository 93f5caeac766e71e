//! Micro-benchmarks: frame decode/encode, connect signing, setup-code decode.
//! Run through `cargo xtask bench` (or `cargo bench -p clawnode --bench micro`).

use std::hint::black_box;

use clawnode::identity::{DeviceIdentity, SignatureInput};
use clawnode::protocol::{
    ClientId, ClientMode, InboundFrame, InvokeRequest, InvokeResultParams, RequestFrame, Role, names,
};
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
    c.bench_function("sign v3 connect payload", |b| {
        b.iter(|| {
            let input = SignatureInput {
                device_id: id.device_id(),
                client_id: ClientId::NodeHost,
                client_mode: ClientMode::Node,
                role: Role::Node,
                scopes: &[],
                signed_at_ms: 1_737_264_000_000,
                token: "UBaH3HQRy8bBogWBonlVae8O7fmErdNB06i2ls9EX6o",
                nonce: "0f8e2c1a-6b6e-4c2f-9a51-3d4e5f607182",
                platform: Some("linux"),
                device_family: Some("Linux"),
            };
            black_box(id.sign(&input.v3()))
        })
    });
}

fn setup_codes(c: &mut Criterion) {
    let code = "eyJ1cmwiOiJ3czovLzEyNy4wLjAuMToxODg5OSIsImJvb3RzdHJhcFRva2VuIjoiOHNJSlFCUGdlby1tdThTS012QlR6dk9KUFhQZ24zVmZFUlpMWDZ4bkRMTSIsImV4cGlyZXNBdE1zIjoxNzk1NTE2NTYwMDE3fQ";
    c.bench_function("decode setup code", |b| {
        b.iter(|| black_box(clawnode::setup_code::decode(black_box(code), 1_700_000_000_000).is_ok()))
    });
}

criterion_group!(benches, frames, signing, setup_codes);
criterion_main!(benches);
