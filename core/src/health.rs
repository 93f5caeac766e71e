//! The Gateway's `health` method, asked as `openclaw status --deep` asks it: a short-lived
//! operator connection (role `operator`, scope `operator.read`, the shared token or
//! password, no device identity: the Gateway lets a shared-secret operator skip it), one
//! `health {probe: true}` request, then close. A node's own connection cannot ask: `health`
//! needs an operator scope, and a device token is bound to the role it was issued for.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use serde::Serialize;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::endpoint::Endpoint;
use crate::protocol::{ClientId, ClientMode, ErrorShape, InboundFrame, MAX_PROTOCOL_VERSION, RequestFrame};
use crate::secret::Secret;
use crate::transport::{self, TransportConfig, TransportError};

/// Why the `health` call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HealthError {
    /// No shared token or password: only an operator may call `health`.
    #[error("no shared gateway token or password: `health` needs an operator (operator.read)")]
    NoSharedCredential,
    /// The Gateway could not be reached.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The Gateway refused the operator connect or the request.
    #[error("gateway refused: {0}")]
    Refused(ErrorShape),
    /// The socket closed, a frame was malformed, or the answer took too long.
    #[error("{0}")]
    Failed(String),
}

/// `connect` params of a device-less shared-secret operator (closed shape).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OperatorConnect<'a> {
    min_protocol: u32,
    max_protocol: u32,
    client: OperatorClient<'a>,
    role: &'static str,
    scopes: [&'static str; 1],
    auth: OperatorAuth<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OperatorClient<'a> {
    id: ClientId,
    version: &'a str,
    platform: &'a str,
    mode: ClientMode,
}

#[derive(Serialize)]
struct OperatorAuth<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a Secret>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a Secret>,
}

/// Asks the Gateway at `endpoint` for `health {probe: true}` with the shared `token` or
/// `password` (the token wins when both are given) and returns its payload. `version` and
/// `platform` describe the asking client; `timeout` bounds the whole exchange.
pub async fn gateway_health(
    endpoint: &Endpoint,
    transport_cfg: &TransportConfig,
    token: Option<&Secret>,
    password: Option<&Secret>,
    version: &str,
    platform: &str,
    timeout: Duration,
) -> Result<Value, HealthError> {
    if token.is_none() && password.is_none() {
        return Err(HealthError::NoSharedCredential);
    }
    let connect = OperatorConnect {
        min_protocol: MAX_PROTOCOL_VERSION,
        max_protocol: MAX_PROTOCOL_VERSION,
        client: OperatorClient { id: ClientId::Cli, version, platform, mode: ClientMode::Cli },
        role: "operator",
        scopes: ["operator.read"],
        auth: OperatorAuth { token, password: if token.is_some() { None } else { password } },
    };
    let params = serde_json::to_value(&connect).map_err(|e| HealthError::Failed(e.to_string()))?;
    let exchange = async {
        let mut ws = transport::open(endpoint, transport_cfg).await?;
        // connect.challenge first (a shared-secret operator signs nothing), then connect.
        await_frame(&mut ws, |f| matches!(f, InboundFrame::Event(e) if e.event == "connect.challenge")).await?;
        for (id, method, params) in [("connect", "connect", params), ("health", "health", json!({"probe": true}))] {
            let frame = RequestFrame { id: id.into(), method: method.into(), params: Some(params) };
            ws.send(Message::text(frame.to_json())).await.map_err(|e| HealthError::Failed(e.to_string()))?;
            let res = await_frame(&mut ws, |f| matches!(f, InboundFrame::Response(r) if r.id == id)).await?;
            let InboundFrame::Response(r) = res else {
                return Err(HealthError::Failed("unexpected frame".into()));
            };
            if !r.ok {
                let err = r.error.unwrap_or_else(|| ErrorShape {
                    code: "UNAVAILABLE".into(),
                    message: format!("{method} failed without an error"),
                    details: None,
                    retryable: None,
                    retry_after_ms: None,
                });
                let _ = ws.close(None).await;
                return Err(HealthError::Refused(err));
            }
            if id == "health" {
                let _ = ws.close(None).await;
                return Ok(r.payload.unwrap_or(Value::Null));
            }
        }
        Err(HealthError::Failed("no health answer".into()))
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .map_err(|_| HealthError::Failed(format!("no answer within {timeout:?}")))?
}

/// Reads frames until one matches `want` (others, e.g. events, are skipped).
async fn await_frame(
    ws: &mut transport::WsStream,
    want: impl Fn(&InboundFrame) -> bool,
) -> Result<InboundFrame, HealthError> {
    loop {
        let msg = match ws.next().await {
            None => return Err(HealthError::Failed("connection closed".into())),
            Some(Err(e)) => return Err(HealthError::Failed(e.to_string())),
            Some(Ok(Message::Close(f))) => {
                let why = f.map(|f| format!("{} {}", u16::from(f.code), f.reason)).unwrap_or_default();
                return Err(HealthError::Failed(format!("closed by gateway {why}")));
            }
            Some(Ok(m)) => m,
        };
        let Some(text) = crate::session::message_text(msg) else { continue };
        let text = text.map_err(HealthError::Failed)?;
        if let Ok(frame) = InboundFrame::parse(&text)
            && want(&frame)
        {
            return Ok(frame);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_connect_is_the_exact_closed_shape() {
        let token = Secret::new("t0k");
        let c = OperatorConnect {
            min_protocol: MAX_PROTOCOL_VERSION,
            max_protocol: MAX_PROTOCOL_VERSION,
            client: OperatorClient { id: ClientId::Cli, version: "0.1.0", platform: "linux", mode: ClientMode::Cli },
            role: "operator",
            scopes: ["operator.read"],
            auth: OperatorAuth { token: Some(&token), password: None },
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"minProtocol": 4, "maxProtocol": 4,
                   "client": {"id": "cli", "version": "0.1.0", "platform": "linux", "mode": "cli"},
                   "role": "operator", "scopes": ["operator.read"], "auth": {"token": "t0k"}})
        );
    }

    #[tokio::test]
    async fn without_a_shared_secret_nothing_is_sent() {
        let ep = Endpoint::parse("ws://127.0.0.1:9").unwrap();
        let r =
            gateway_health(&ep, &TransportConfig::default(), None, None, "0", "linux", Duration::from_secs(1)).await;
        assert!(matches!(r, Err(HealthError::NoSharedCredential)), "{r:?}");
    }
}
