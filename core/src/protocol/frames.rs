//! The three frame shapes: request, response, event (protocol.md §1.2).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::ErrorShape;

/// A client → Gateway request: `{type:"req", id, method, params?}` (closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename = "req")]
pub struct RequestFrame {
    /// Opaque request id, unique per connection.
    pub id: String,
    /// Method name.
    pub method: String,
    /// Method parameters (omitted when `None`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl RequestFrame {
    /// Serializes the frame to its JSON text.
    pub fn to_json(&self) -> String {
        // Serializing a struct of strings and `Value`s cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A Gateway → client response: `{type:"res", id, ok, payload?, error?}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ResponseFrame {
    /// The id of the request this answers.
    pub id: String,
    /// Success flag.
    pub ok: bool,
    /// Result payload when `ok`.
    #[serde(default)]
    pub payload: Option<Value>,
    /// Error when not `ok`.
    #[serde(default)]
    pub error: Option<ErrorShape>,
}

/// A Gateway → client event: `{type:"event", event, payload?, seq?, stateVersion?}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventFrame {
    /// Event name.
    pub event: String,
    /// Event payload.
    #[serde(default)]
    pub payload: Option<Value>,
    /// Per-connection broadcast sequence number (absent on targeted events).
    #[serde(default)]
    pub seq: Option<u64>,
    /// `{presence, health}` versions on some broadcasts.
    #[serde(default)]
    pub state_version: Option<Value>,
}

/// Any frame a client can receive ([`InboundFrame::parse`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InboundFrame {
    /// `type:"res"`.
    Response(ResponseFrame),
    /// `type:"event"`.
    Event(EventFrame),
}

/// Why an inbound text could not be used as a frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The text is not a JSON object with a known `type`.
    #[error("malformed frame: {0}")]
    Malformed(String),
}

impl InboundFrame {
    /// Parses one inbound text frame; unknown fields are ignored.
    ///
    /// One pass into a flat shape, then the fields of the frame's `type` are checked. (A
    /// `#[serde(tag = "type")]` enum buffers the whole frame into an intermediate tree first:
    /// this was the largest user-space cost of an invoke.) Fields that belong to the other
    /// frame type are ignored like any unknown field.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Flat {
            #[serde(rename = "type")]
            kind: String,
            #[serde(default)]
            id: Option<Value>,
            #[serde(default)]
            ok: Option<Value>,
            #[serde(default)]
            payload: Option<Value>,
            #[serde(default)]
            error: Option<Value>,
            #[serde(default)]
            event: Option<Value>,
            #[serde(default)]
            seq: Option<Value>,
            #[serde(default)]
            state_version: Option<Value>,
        }
        fn field<T: serde::de::DeserializeOwned>(v: Option<Value>, name: &str) -> Result<Option<T>, FrameError> {
            match v {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    serde_json::from_value(v).map(Some).map_err(|e| FrameError::Malformed(format!("{name}: {e}")))
                }
            }
        }
        fn required<T>(v: Option<T>, name: &str) -> Result<T, FrameError> {
            v.ok_or_else(|| FrameError::Malformed(format!("missing field `{name}`")))
        }
        let f: Flat = serde_json::from_str(text).map_err(|e| FrameError::Malformed(e.to_string()))?;
        match f.kind.as_str() {
            "res" => Ok(InboundFrame::Response(ResponseFrame {
                id: required(field(f.id, "id")?, "id")?,
                ok: required(field(f.ok, "ok")?, "ok")?,
                payload: f.payload,
                error: field(f.error, "error")?,
            })),
            "event" => Ok(InboundFrame::Event(EventFrame {
                event: required(field(f.event, "event")?, "event")?,
                payload: f.payload,
                seq: field(f.seq, "seq")?,
                state_version: f.state_version,
            })),
            other => Err(FrameError::Malformed(format!("unknown frame type {other:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_is_closed_shape() {
        let f = RequestFrame { id: "1".into(), method: "health".into(), params: None };
        assert_eq!(f.to_json(), r#"{"type":"req","id":"1","method":"health"}"#);
        let f = RequestFrame { id: "2".into(), method: "x".into(), params: Some(json!({})) };
        let v: Value = serde_json::from_str(&f.to_json()).unwrap();
        assert_eq!(v, json!({"type":"req","id":"2","method":"x","params":{}}));
    }

    #[test]
    fn parses_event_and_response_ignoring_unknown() {
        let e = InboundFrame::parse(
            r#"{"type":"event","event":"tick","payload":{"ts":1},"seq":3,"recipientProfileId":"p","new":1}"#,
        )
        .unwrap();
        match e {
            InboundFrame::Event(ev) => {
                assert_eq!(ev.event, "tick");
                assert_eq!(ev.seq, Some(3));
            }
            other => panic!("{other:?}"),
        }
        let r = InboundFrame::parse(
            r#"{"type":"res","id":"9","ok":false,"error":{"code":"INVALID_REQUEST","message":"m"}}"#,
        )
        .unwrap();
        match r {
            InboundFrame::Response(r) => {
                assert!(!r.ok);
                assert_eq!(r.error.unwrap().code, "INVALID_REQUEST");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn own_fields_strict_other_kinds_fields_ignored() {
        // `ok`/`error` on an event and `seq` on a response are unknown fields there.
        let e = InboundFrame::parse(r#"{"type":"event","event":"tick","ok":"x","error":5,"payload":null}"#).unwrap();
        assert!(matches!(e, InboundFrame::Event(EventFrame { payload: None, .. })));
        let r = InboundFrame::parse(r#"{"type":"res","id":"1","ok":true,"seq":"x","event":[]}"#).unwrap();
        assert!(matches!(r, InboundFrame::Response(ResponseFrame { ok: true, .. })));
        for bad in [
            r#"{"type":"event","event":"tick","seq":"x"}"#,
            r#"{"type":"event","event":7}"#,
            r#"{"type":"res","id":"1","ok":"yes"}"#,
            r#"{"type":"res","id":1,"ok":true}"#,
            r#"{"type":"res","id":"1","ok":false,"error":{"code":5}}"#,
            r#"{"type":"res","id":null,"ok":true}"#,
            r#"{"type":7}"#,
        ] {
            assert!(InboundFrame::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "nope", "[]", "{}", r#"{"type":"req","id":"1","method":"x"}"#, r#"{"type":"res"}"#] {
            assert!(InboundFrame::parse(bad).is_err(), "{bad}");
        }
    }
}
