//! The Gateway's `ErrorShape` and the structured `details` it carries.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `ErrorShape` = `{code, message, details?, retryable?, retryAfterMs?}` (protocol.md §1.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorShape {
    /// Top-level code: `NOT_PAIRED`, `INVALID_REQUEST`, `FORBIDDEN`, `UNAVAILABLE`, …
    pub code: String,
    /// Human-readable text; may change between releases.
    #[serde(default)]
    pub message: String,
    /// Structured details (see [`ErrorDetails`]); kept raw as well for forward compatibility.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    /// Whether the Gateway considers the call retryable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// How long to wait before retrying, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
}

impl ErrorShape {
    /// The parsed `details` object (empty when absent or not an object).
    pub fn details(&self) -> ErrorDetails {
        self.details.as_ref().and_then(|d| serde_json::from_value::<ErrorDetails>(d.clone()).ok()).unwrap_or_default()
    }

    /// `details.code`, the machine-readable reason most callers branch on.
    pub fn detail_code(&self) -> Option<String> {
        self.details().code
    }

    /// `retryAfterMs` from the top level, else from `details`.
    pub fn effective_retry_after_ms(&self) -> Option<u64> {
        self.retry_after_ms.or_else(|| self.details().retry_after_ms)
    }

    /// `retryable` from the top level, else from `details`.
    pub fn effective_retryable(&self) -> Option<bool> {
        self.retryable.or_else(|| self.details().retryable)
    }
}

impl std::fmt::Display for ErrorShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.detail_code() {
            Some(dc) => write!(f, "{} ({}): {}", self.code, dc, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

/// `recommendedNextStep` values (protocol.md §2.8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecommendedNextStep {
    /// Retry once with the stored device token.
    RetryWithDeviceToken,
    /// The auth configuration needs changing.
    UpdateAuthConfiguration,
    /// The credentials need renewing.
    UpdateAuthCredentials,
    /// An automatic path is running; retry later.
    WaitThenRetry,
    /// Review scopes/roles.
    ReviewAuthConfiguration,
    /// A value this version does not know.
    #[serde(other)]
    Unknown,
}

/// The known members of `error.details` (all optional; unknown members are kept in `extra`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDetails {
    /// `details.code`, e.g. `PAIRING_REQUIRED`, `AUTH_TOKEN_MISMATCH`.
    #[serde(default)]
    pub code: Option<String>,
    /// e.g. `not-paired`, `role-upgrade`, `device-signature`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Pairing request id (`PAIRING_REQUIRED`).
    #[serde(default)]
    pub request_id: Option<String>,
    /// What the client should do next.
    #[serde(default)]
    pub recommended_next_step: Option<RecommendedNextStep>,
    /// Whether a one-shot retry with a stored device token may help.
    #[serde(default)]
    pub can_retry_with_device_token: Option<bool>,
    /// `false` means: keep reconnecting even though the code is normally terminal.
    #[serde(default)]
    pub pause_reconnect: Option<bool>,
    /// Human remediation text.
    #[serde(default)]
    pub remediation_hint: Option<String>,
    /// `retryable` repeated inside details.
    #[serde(default)]
    pub retryable: Option<bool>,
    /// `retryAfterMs` repeated inside details.
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
    /// `authReason`, e.g. `token_mismatch`.
    #[serde(default)]
    pub auth_reason: Option<String>,
    /// Device id the error refers to.
    #[serde(default)]
    pub device_id: Option<String>,
    /// Role requested by the failed connect.
    #[serde(default)]
    pub requested_role: Option<String>,
    /// Expected protocol version (`PROTOCOL_MISMATCH`).
    #[serde(default)]
    pub expected_protocol: Option<u32>,
    /// A node error relayed to an operator (`node.invoke`).
    #[serde(default)]
    pub node_error: Option<Value>,
    /// Any other member.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_pairing_required() {
        let v = serde_json::json!({"code":"NOT_PAIRED",
         "message":"pairing required: device is not approved yet",
         "details":{"code":"PAIRING_REQUIRED","reason":"not-paired",
          "requestId":"95312c96-1c10-4630-a542-779a55b28fef",
          "remediationHint":"Approve this device from the pending pairing requests.",
          "deviceId":"1c516df1","requestedRole":"node","recommendedNextStep":"wait_then_retry",
          "pauseReconnect":false,"retryable":true,"somethingNew":[1]}});
        let e: ErrorShape = serde_json::from_value(v).unwrap();
        let d = e.details();
        assert_eq!(d.code.as_deref(), Some("PAIRING_REQUIRED"));
        assert_eq!(d.request_id.as_deref(), Some("95312c96-1c10-4630-a542-779a55b28fef"));
        assert_eq!(d.recommended_next_step, Some(RecommendedNextStep::WaitThenRetry));
        assert_eq!(d.pause_reconnect, Some(false));
        assert_eq!(e.effective_retryable(), Some(true));
        assert!(d.extra.contains_key("somethingNew"));
    }

    #[test]
    fn retry_after_top_level_wins() {
        let e: ErrorShape = serde_json::from_value(serde_json::json!({
            "code":"UNAVAILABLE","message":"gateway starting; retry shortly","retryable":true,
            "retryAfterMs":500,"details":{"reason":"startup-sidecars","retryAfterMs":900}}))
        .unwrap();
        assert_eq!(e.effective_retry_after_ms(), Some(500));
        assert_eq!(e.details().reason.as_deref(), Some("startup-sidecars"));
    }

    #[test]
    fn unknown_next_step_and_odd_details() {
        let e: ErrorShape = serde_json::from_value(serde_json::json!({
            "code":"X","message":"m","details":{"recommendedNextStep":"dance"}}))
        .unwrap();
        assert_eq!(e.details().recommended_next_step, Some(RecommendedNextStep::Unknown));
        let e: ErrorShape = serde_json::from_value(serde_json::json!({
            "code":"X","message":"m","details":"a string"}))
        .unwrap();
        assert_eq!(e.details(), ErrorDetails::default());
    }
}
