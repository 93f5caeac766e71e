//! `fake-fixture`: the testkit's fake Gateway, driven over stdin/stdout with one JSON object
//! per line — for binding tests (Python, JVM) of what the real Gateway does not do on cue for a
//! WebSocket operator: `node.invoke.progress` reaches only the Gateway's internal plugin
//! runtimes and `node.invoke.input` comes only from them (2026.9.6), so a progress stream and
//! input chunks are played here.
//!
//! ```text
//! fake-fixture
//! ← {"url":"ws://127.0.0.1:PORT"}
//! → {"id":1,"op":"accept","nodeId":"…"}     next connection: hello-ok, readiness probe acked
//! ← {"id":1,"ok":true,"result":{"connect":{…connect params…}}}
//! → {"id":2,"op":"invoke","invokeId":"i1","command":"x.y","params":{…},"timeoutMs":5000}
//! → {"id":3,"op":"input","invokeId":"i1","seq":0,"payload":{…}}     a node.invoke.input event
//! → {"id":4,"op":"collect","invokeId":"i1","timeoutMs":10000}
//! ← {"id":4,"ok":true,"result":{"progress":[{"seq":0,"chunk":"…"},…],"result":{…node.invoke.result params…}}}
//! ```
//!
//! Requests run one after the other (one connection). `collect` reads the node's frames,
//! acking each like the Gateway, until the invoke's result. End of input exits.

use std::io::{BufRead as _, Write as _};
use std::process::ExitCode;
use std::time::Duration;

use clawnode_testkit::fake::FakeGateway;
use clawnode_testkit::wire::{Got, Wire};
use serde_json::{Value, json};
use tokio::sync::mpsc;

struct Fixture {
    fake: FakeGateway,
    wire: Option<Wire>,
}

impl Fixture {
    fn wire(&mut self) -> Result<&mut Wire, String> {
        self.wire.as_mut().ok_or_else(|| "no connection: send accept first".to_string())
    }

    async fn handle(&mut self, req: &Value) -> Result<Value, String> {
        let s = |k: &str| req[k].as_str().unwrap_or_default().to_string();
        let ms = |k: &str, d: u64| Duration::from_millis(req[k].as_u64().unwrap_or(d));
        match req["op"].as_str().unwrap_or_default() {
            "accept" => {
                let conn = self.fake.next_conn(ms("timeoutMs", 20_000)).await.map_err(|e| e.to_string())?;
                let mut wire = Wire::new(conn, &s("nodeId"));
                let connect = expect(&mut wire, "connect", Duration::from_secs(20)).await?;
                let id = connect["id"].as_str().unwrap_or_default().to_string();
                wire.conn.hello_ok(&id, 30_000, 25 * 1024 * 1024, None).await.map_err(|e| e.to_string())?;
                // The node probes readiness with a `node.event` after hello-ok.
                let probe = expect(&mut wire, "node.event", Duration::from_secs(20)).await?;
                wire.auto_ack(&probe).await;
                self.wire = Some(wire);
                Ok(json!({"connect": connect["params"]}))
            }
            "invoke" => {
                let wire = self.wire()?;
                let timeout = req["timeoutMs"].as_u64().unwrap_or(10_000);
                wire.invoke(&s("invokeId"), &s("command"), req["params"].clone(), timeout).await;
                Ok(json!({}))
            }
            "input" => {
                let wire = self.wire()?;
                let payload = json!({"id": s("invokeId"), "nodeId": wire.node_id, "seq": req["seq"],
                    "payloadJSON": req["payload"].to_string()});
                wire.conn.send_event("node.invoke.input", payload, None).await.map_err(|e| e.to_string())?;
                Ok(json!({}))
            }
            "collect" => {
                let invoke_id = s("invokeId");
                let wait = ms("timeoutMs", 10_000);
                let wire = self.wire()?;
                let deadline = tokio::time::Instant::now() + wait;
                let mut progress = Vec::new();
                loop {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    match wire.next(left).await {
                        Got::Frame(v) => {
                            wire.auto_ack(&v).await;
                            let p = &v["params"];
                            match v["method"].as_str() {
                                Some("node.invoke.progress") if p["invokeId"] == invoke_id.as_str() => {
                                    progress.push(json!({"seq": p["seq"], "chunk": p["chunk"]}));
                                }
                                Some("node.invoke.result") if p["id"] == invoke_id.as_str() => {
                                    return Ok(json!({"progress": progress, "result": p}));
                                }
                                _ => {}
                            }
                        }
                        other => return Err(format!("collect {invoke_id}: {other:?} ({} progress)", progress.len())),
                    }
                }
            }
            other => Err(format!("unknown op {other:?}")),
        }
    }
}

/// The next request with `method` (others acked), as a `Result` instead of a panic.
async fn expect(wire: &mut Wire, method: &str, wait: Duration) -> Result<Value, String> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match wire.next(left).await {
            Got::Frame(v) if v["method"] == method => return Ok(v),
            Got::Frame(v) => wire.auto_ack(&v).await,
            other => return Err(format!("waiting for {method}: {other:?}")),
        }
    }
}

async fn run() -> Result<(), String> {
    let fake = FakeGateway::start().await.map_err(|e| e.to_string())?;
    let mut fixture = Fixture { fake, wire: None };
    let say = |v: Value| {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{v}").and_then(|_| stdout.flush()).is_ok()
    };
    if !say(json!({"url": fixture.fake.ws_url()})) {
        return Ok(());
    }
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
        let req: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        let answer = match fixture.handle(&req).await {
            Ok(result) => json!({"id": req["id"], "ok": true, "result": result}),
            Err(message) => json!({"id": req["id"], "ok": false, "error": {"code": "FIXTURE", "message": message}}),
        };
        if !say(answer) {
            break;
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("fake-fixture: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fake-fixture: {e}");
            ExitCode::FAILURE
        }
    }
}
