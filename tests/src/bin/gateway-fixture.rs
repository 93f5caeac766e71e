//! `gateway-fixture`: a real Gateway plus an operator, driven over stdin/stdout with one JSON
//! object per line — for tests written in other languages (the Python and JVM binding tests).
//!
//! ```text
//! gateway-fixture [--allow cmd1,cmd2] [--explicit-pairing] [--tls]
//! ← {"url":"ws://127.0.0.1:PORT","token":"…"}                        (once the Gateway is ready)
//! ← {"url":"wss://127.0.0.1:PORT","token":"…","certPath":"…"}        (with --tls)
//! → {"id":1,"op":"invoke","nodeId":"…","command":"x.y","params":{},"timeoutMs":5000}
//! ← {"id":1,"ok":true,"result":{…node.invoke response…}}
//! ← {"id":2,"ok":false,"error":{"code":"UNAVAILABLE","message":"…","details":{…}}}
//! → {"id":3,"op":"approve_device"}   waits for a pending device pairing request, approves it
//! → {"id":4,"op":"approve_node"}     waits for a pending command-surface request, approves it
//! → {"id":5,"op":"request","method":"node.list","params":{}}
//! ```
//!
//! Requests run concurrently; answers carry the request's `id`. End of input stops the
//! Gateway and exits. `--explicit-pairing` turns off the Gateway's silent loopback device
//! approval so the node sees "pairing required". `--tls` serves `wss://` with a self-signed
//! certificate the Gateway generates (with the system `openssl`) at `certPath`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clawnode_testkit::{Gateway, Operator, OperatorError};
use serde_json::{Value, json};
use std::io::{BufRead as _, Write as _};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(60);

fn error_json(e: &OperatorError) -> Value {
    match e.shape() {
        Some(s) => json!({"code": s.code, "message": s.message, "details": s.details}),
        None => json!({"code": "FIXTURE", "message": e.to_string()}),
    }
}

async fn handle(op: &Operator, req: &Value) -> Result<Value, Value> {
    let s = |k: &str| req[k].as_str().unwrap_or_default().to_string();
    let r = match req["op"].as_str().unwrap_or_default() {
        "invoke" => {
            let timeout = req["timeoutMs"].as_u64().unwrap_or(10_000);
            op.node_invoke(&s("nodeId"), &s("command"), req["params"].clone(), timeout).await
        }
        "approve_device" => match op.wait_for_pending_device(WAIT).await {
            Ok(p) => op.device_pair_approve(p["requestId"].as_str().unwrap_or_default()).await.map(|_| p),
            Err(e) => Err(e),
        },
        "approve_node" => match op.wait_for_pending_node(WAIT).await {
            Ok(p) => op.node_pair_approve(p["requestId"].as_str().unwrap_or_default()).await.map(|_| p),
            Err(e) => Err(e),
        },
        "request" => op.request(&s("method"), req["params"].clone()).await,
        other => return Err(json!({"code": "FIXTURE", "message": format!("unknown op {other:?}")})),
    };
    r.map_err(|e| error_json(&e))
}

async fn run(allow: Vec<String>, explicit_pairing: bool, tls: bool) -> Result<(), String> {
    let certs = tempfile::tempdir().map_err(|e| e.to_string())?;
    let cert_path = certs.path().join("gateway-cert.pem");
    let mut builder = Gateway::builder().allow_commands(&allow).auto_approve_local(!explicit_pairing);
    if tls {
        builder = builder.extra_config(json!({"gateway": {"tls": {
            "enabled": true,
            "autoGenerate": true,
            "certPath": cert_path.to_string_lossy(),
            "keyPath": certs.path().join("gateway-key.pem").to_string_lossy(),
        }}}));
    }
    let mut gw = builder.start().await.map_err(|e| e.to_string())?;
    let url = if tls { format!("wss://127.0.0.1:{}", gw.port()) } else { gw.ws_url() };
    let op = Arc::new(Operator::connect(&url, gw.token()).await.map_err(|e| e.to_string())?);
    let (out_tx, mut out_rx) = mpsc::unbounded_channel::<Value>();
    let writer = tokio::spawn(async move {
        while let Some(v) = out_rx.recv().await {
            let mut stdout = std::io::stdout().lock();
            if writeln!(stdout, "{v}").is_err() || stdout.flush().is_err() {
                break;
            }
        }
    });
    let mut hello = json!({"url": url, "token": gw.token()});
    if tls {
        hello["certPath"] = json!(cert_path.to_string_lossy());
    }
    let _ = out_tx.send(hello);
    // stdin is read on a plain thread (the testkit's tokio has no `io-std`).
    let (in_tx, mut in_rx) = mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if in_tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = in_rx.recv().await {
        if line.trim().is_empty() {
            continue;
        }
        let (op, out) = (op.clone(), out_tx.clone());
        tokio::spawn(async move {
            let req: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            let answer = match handle(&op, &req).await {
                Ok(result) => json!({"id": req["id"], "ok": true, "result": result}),
                Err(error) => json!({"id": req["id"], "ok": false, "error": error}),
            };
            let _ = out.send(answer);
        });
    }
    drop(out_tx);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    gw.stop().await.map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> ExitCode {
    let mut allow = Vec::new();
    let mut explicit_pairing = false;
    let mut tls = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--allow" => allow.extend(args.next().unwrap_or_default().split(',').map(str::to_string)),
            "--explicit-pairing" => explicit_pairing = true,
            "--tls" => tls = true,
            other => {
                eprintln!("gateway-fixture: unknown argument {other}");
                return ExitCode::from(2);
            }
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("gateway-fixture: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(allow, explicit_pairing, tls)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gateway-fixture: {e}");
            ExitCode::FAILURE
        }
    }
}
