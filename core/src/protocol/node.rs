//! Node-role events (Gateway → node) and method parameters (node → Gateway); protocol.md §4.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `connect.challenge` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ConnectChallenge {
    /// Per-socket nonce (UUID). Must be non-empty.
    pub nonce: String,
    /// Gateway clock, epoch ms; signed as `signedAt`.
    pub ts: u64,
}

/// `node.invoke.request` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeRequest {
    /// Invoke id (answer with it).
    pub id: String,
    /// Target node id (this node).
    #[serde(default)]
    pub node_id: String,
    /// Command name.
    pub command: String,
    /// Params as a JSON string (`null` when absent).
    #[serde(default, rename = "paramsJSON")]
    pub params_json: Option<String>,
    /// Legacy structured params from older Gateways.
    #[serde(default)]
    pub params: Option<Value>,
    /// Remaining deadline in ms (default 30 000).
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    /// Caller idempotency key.
    #[serde(default)]
    pub idempotency_key: Option<String>,
    /// Agent session key.
    #[serde(default)]
    pub session_key: Option<String>,
}

impl InvokeRequest {
    /// The params as JSON: `paramsJSON` parsed when present, else legacy `params`; absent or
    /// `null` params are an empty object.
    pub fn params_value(&self) -> Result<Value, serde_json::Error> {
        let v = match (&self.params_json, &self.params) {
            (Some(s), _) => serde_json::from_str(s)?,
            (None, Some(v)) => v.clone(),
            (None, None) => Value::Null,
        };
        // An operator that passes no params (`paramsJSON: null`, or `"null"`) means "no
        // params": handlers see an empty object, so `params.get(...)` works everywhere.
        Ok(if v.is_null() { Value::Object(serde_json::Map::new()) } else { v })
    }
}

/// `node.invoke.cancel` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeCancel {
    /// The invoke to cancel.
    pub invoke_id: String,
    /// This node.
    #[serde(default)]
    pub node_id: String,
}

/// `node.invoke.input` payload (streamed invokes).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeInput {
    /// The invoke the input belongs to.
    pub id: String,
    /// This node.
    #[serde(default)]
    pub node_id: String,
    /// Input sequence number.
    pub seq: u64,
    /// Input as JSON text (≤ 16384 chars).
    #[serde(rename = "payloadJSON")]
    pub payload_json: String,
}

/// Decision in `node.pair.resolved`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PairDecision {
    /// Surface approved.
    Approved,
    /// Surface rejected.
    Rejected,
    /// Node removed.
    Removed,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

/// `node.pair.resolved` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PairResolved {
    /// Surface request id.
    #[serde(default)]
    pub request_id: String,
    /// Node id.
    #[serde(default)]
    pub node_id: String,
    /// Decision.
    pub decision: PairDecision,
    /// Time of the decision.
    #[serde(default)]
    pub ts: Option<u64>,
}

/// `tick` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TickEvent {
    /// Gateway time.
    #[serde(default)]
    pub ts: Option<u64>,
}

/// `shutdown` payload.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShutdownEvent {
    /// Why the Gateway stops.
    #[serde(default)]
    pub reason: String,
    /// When it expects to be back.
    #[serde(default)]
    pub restart_expected_ms: Option<u64>,
}

/// `error` of `node.invoke.result` (closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InvokeResultError {
    /// Stable token, e.g. `CAMERA_DISABLED`.
    pub code: String,
    /// `"<TOKEN>: human text"`.
    pub message: String,
}

/// `node.invoke.result` params (closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeResultParams {
    /// The invoke id.
    pub id: String,
    /// This node's id (= device id).
    pub node_id: String,
    /// Success flag.
    pub ok: bool,
    /// Result as JSON text (what the official node host sends; errata §1).
    #[serde(rename = "payloadJSON", skip_serializing_if = "Option::is_none")]
    pub payload_json: Option<String>,
    /// Error when `ok` is false.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<InvokeResultError>,
}

/// A successful `node.invoke.result`'s params, borrowing the result: serializes to exactly the
/// bytes of [`InvokeResultParams`] with `payloadJSON = serde_json::to_string(payload)`, but in
/// one pass, without the intermediate `payloadJSON` string (for a 20 MiB camera clip that is
/// one 20 MiB copy and one full escaping pass less).
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeResultOk<'a> {
    /// The invoke id.
    pub id: &'a str,
    /// This node's id.
    pub node_id: &'a str,
    /// Always `true`.
    pub ok: bool,
    /// The result, written as a JSON string holding its JSON text.
    #[serde(rename = "payloadJSON")]
    pub payload_json: JsonText<'a>,
}

/// Serializes a [`Value`] as a JSON *string* containing its JSON text (`{"a":1}` →
/// `"{\"a\":1}"`), streaming the text through the string escaper.
#[derive(Debug, Clone, Copy)]
pub struct JsonText<'a>(pub &'a Value);

impl Serialize for JsonText<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&DisplayJson(self.0))
    }
}

struct DisplayJson<'a>(&'a Value);

impl std::fmt::Display for DisplayJson<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        serde_json::to_writer(FmtWriter(f), self.0).map_err(|_| std::fmt::Error)
    }
}

/// `io::Write` over a `fmt::Formatter`. serde_json only ever writes whole UTF-8 sequences
/// (punctuation, numbers, and string pieces cut at ASCII escape points).
struct FmtWriter<'a, 'b>(&'a mut std::fmt::Formatter<'b>);

impl std::io::Write for FmtWriter<'_, '_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let s = std::str::from_utf8(buf).map_err(std::io::Error::other)?;
        self.0.write_str(s).map_err(std::io::Error::other)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An upper estimate of the bytes `JsonText(v)` serializes to, without its two outer quotes
/// (inner quotes escaped; other escapes not counted), used to size the frame buffer once
/// instead of growing it by doubling.
pub fn json_text_size_hint(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(_) => 24,
        // `"` → `\"` on both sides.
        Value::String(s) => s.len() + 4,
        Value::Array(a) => 2 + a.iter().map(|x| json_text_size_hint(x) + 1).sum::<usize>(),
        Value::Object(o) => 2 + o.iter().map(|(k, x)| k.len() + 6 + json_text_size_hint(x)).sum::<usize>(),
    }
}

/// `node.invoke.progress` params (closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeProgressParams {
    /// The invoke id.
    pub invoke_id: String,
    /// This node's id.
    pub node_id: String,
    /// Sequence number from 0.
    pub seq: u64,
    /// UTF-8 chunk ≤ 16384 bytes; empty = heartbeat.
    pub chunk: String,
}

/// `node.event` params (closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NodeEventParams {
    /// Event name.
    pub event: String,
    /// Payload as JSON text.
    #[serde(rename = "payloadJSON", skip_serializing_if = "Option::is_none")]
    pub payload_json: Option<String>,
}

/// Result of `node.event`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct NodeEventResult {
    /// Always true on success.
    #[serde(default)]
    pub ok: bool,
    /// Echoed event name.
    #[serde(default)]
    pub event: Option<String>,
    /// Whether a handler took the event (absent when the handler returned nothing).
    #[serde(default)]
    pub handled: Option<bool>,
    /// `updated`, `persisted`, `throttled`, `unsupported_event`, …
    #[serde(default)]
    pub reason: Option<String>,
}

/// One queued foreground invoke (`node.pending.pull`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingAction {
    /// Action id (ack it).
    pub id: String,
    /// Command name.
    pub command: String,
    /// Params JSON.
    #[serde(default, rename = "paramsJSON")]
    pub params_json: Option<String>,
    /// When it was queued.
    #[serde(default)]
    pub enqueued_at_ms: Option<u64>,
}

/// Result of `node.pending.pull`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingPullResult {
    /// This node.
    #[serde(default)]
    pub node_id: String,
    /// Queued actions.
    #[serde(default)]
    pub actions: Vec<PendingAction>,
}

/// `node.pending.ack` params (closed; at least one id).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PendingAckParams {
    /// Ids to acknowledge.
    pub ids: Vec<String>,
}

/// Result of `node.pending.ack`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingAckResult {
    /// This node.
    #[serde(default)]
    pub node_id: String,
    /// Acknowledged ids.
    #[serde(default)]
    pub acked_ids: Vec<String>,
    /// Still queued.
    #[serde(default)]
    pub remaining_count: u64,
}

/// `node.pending.drain` params (closed).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingDrainParams {
    /// 1..10 items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u8>,
}

/// One drained item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingDrainItem {
    /// Item id.
    pub id: String,
    /// `status.request` or `location.request`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `default`, `normal` or `high`.
    #[serde(default)]
    pub priority: Option<String>,
    /// Creation time.
    #[serde(default)]
    pub created_at_ms: Option<u64>,
    /// Expiry.
    #[serde(default)]
    pub expires_at_ms: Option<u64>,
    /// Extra payload.
    #[serde(default)]
    pub payload: Option<Value>,
}

/// Result of `node.pending.drain`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingDrainResult {
    /// This node.
    #[serde(default)]
    pub node_id: String,
    /// Queue revision.
    #[serde(default)]
    pub revision: u64,
    /// Items.
    #[serde(default)]
    pub items: Vec<PendingDrainItem>,
    /// More items remain.
    #[serde(default)]
    pub has_more: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn invoke_request_params_forms() {
        let r: InvokeRequest = serde_json::from_value(json!({
            "id":"ea1f","nodeId":"816d","command":"system.which",
            "paramsJSON":"{\"bins\":[\"ls\"],\"hello\":1}","timeoutMs":9993,"idempotencyKey":"k"}))
        .unwrap();
        assert_eq!(r.params_value().unwrap(), json!({"bins":["ls"],"hello":1}));
        assert_eq!(r.timeout_ms, Some(9993));
        let r: InvokeRequest = serde_json::from_value(json!({
            "id":"a","nodeId":"n","command":"c","params":{"x":1}}))
        .unwrap();
        assert_eq!(r.params_value().unwrap(), json!({"x":1}));
        let r: InvokeRequest = serde_json::from_value(json!({
            "id":"a","nodeId":"n","command":"c","paramsJSON":null}))
        .unwrap();
        assert_eq!(r.params_value().unwrap(), json!({}), "absent params are an empty object");
        let r: InvokeRequest = serde_json::from_value(json!({
            "id":"a","command":"c","paramsJSON":"{bad"}))
        .unwrap();
        assert!(r.params_value().is_err());
    }

    #[test]
    fn outbound_shapes_are_exact() {
        let p = InvokeResultParams {
            id: "i".into(),
            node_id: "n".into(),
            ok: false,
            payload_json: None,
            error: Some(InvokeResultError { code: "X".into(), message: "X: y".into() }),
        };
        assert_eq!(
            serde_json::to_value(p).unwrap(),
            json!({"id":"i","nodeId":"n","ok":false,"error":{"code":"X","message":"X: y"}})
        );
        let p = InvokeResultParams {
            id: "i".into(),
            node_id: "n".into(),
            ok: true,
            payload_json: Some("{}".into()),
            error: None,
        };
        assert_eq!(serde_json::to_value(p).unwrap(), json!({"id":"i","nodeId":"n","ok":true,"payloadJSON":"{}"}));
        let p = InvokeProgressParams { invoke_id: "i".into(), node_id: "n".into(), seq: 0, chunk: "".into() };
        assert_eq!(serde_json::to_value(p).unwrap(), json!({"invokeId":"i","nodeId":"n","seq":0,"chunk":""}));
        let p = NodeEventParams { event: "e".into(), payload_json: Some("{}".into()) };
        assert_eq!(serde_json::to_value(p).unwrap(), json!({"event":"e","payloadJSON":"{}"}));
        assert_eq!(serde_json::to_value(PendingDrainParams::default()).unwrap(), json!({}));
    }

    #[test]
    fn inbound_events() {
        let p: PairResolved =
            serde_json::from_value(json!({"requestId":"c2e7","nodeId":"816d","decision":"approved","ts":1})).unwrap();
        assert_eq!(p.decision, PairDecision::Approved);
        let p: PairResolved = serde_json::from_value(json!({"decision":"later"})).unwrap();
        assert_eq!(p.decision, PairDecision::Unknown);
        let s: ShutdownEvent =
            serde_json::from_value(json!({"reason":"gateway stopping","restartExpectedMs":1500})).unwrap();
        assert_eq!(s.restart_expected_ms, Some(1500));
        let c: InvokeCancel = serde_json::from_value(json!({"invokeId":"x","nodeId":"n"})).unwrap();
        assert_eq!(c.invoke_id, "x");
        let d: PendingDrainResult = serde_json::from_value(json!({"nodeId":"n","revision":2,"items":[{"id":"baseline-status","type":"status.request","priority":"default","createdAtMs":1,"expiresAtMs":null}],"hasMore":false})).unwrap();
        assert_eq!(d.items[0].kind, "status.request");
    }
}

#[cfg(test)]
mod result_ok_tests {
    use super::*;
    use serde_json::json;

    /// The one-pass form is byte-identical to the two-pass one, and the size hint is an upper
    /// bound for escape-free text.
    #[test]
    fn one_pass_result_matches_two_pass() {
        let values = [
            json!(null),
            json!(true),
            json!(-1.5e300),
            json!(12345678901234567_u64),
            json!("plain"),
            json!("quote \" backslash \\ newline \n tab \t nul \u{0} é 😀 \u{2028}"),
            json!({"format": "jpg", "base64": "QUJD".repeat(1000), "width": 1600, "nested": [1, {"a": [null]}]}),
            json!([]),
            json!({}),
        ];
        for v in values {
            let two = serde_json::to_string(&InvokeResultParams {
                id: "i-1".into(),
                node_id: "n".into(),
                ok: true,
                payload_json: Some(serde_json::to_string(&v).unwrap()),
                error: None,
            })
            .unwrap();
            let one = serde_json::to_string(&InvokeResultOk {
                id: "i-1",
                node_id: "n",
                ok: true,
                payload_json: JsonText(&v),
            })
            .unwrap();
            assert_eq!(one, two);
            let text = serde_json::to_string(&JsonText(&v)).unwrap();
            if !v.to_string().contains(['\\', '\n', '\t', '\u{0}']) {
                assert!(text.len() - 2 <= json_text_size_hint(&v), "{} > {}", text.len(), json_text_size_hint(&v));
            }
        }
    }
}
