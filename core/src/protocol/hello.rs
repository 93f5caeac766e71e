//! The `hello-ok` payload (tolerant: unknown fields are ignored; protocol.md §2.6).

use serde::Deserialize;
use serde_json::Value;

use crate::secret::Secret;

/// Payload of the successful `connect` response.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloOk {
    /// Always `"hello-ok"`.
    #[serde(rename = "type", default)]
    pub kind: String,
    /// Negotiated protocol (the Gateway reports 4 even for legacy v3 nodes).
    #[serde(default)]
    pub protocol: u32,
    /// Server identity.
    #[serde(default)]
    pub server: HelloServer,
    /// Discovery lists.
    #[serde(default)]
    pub features: HelloFeatures,
    /// State snapshot (kept raw).
    #[serde(default)]
    pub snapshot: Value,
    /// Auth result, including the device token.
    #[serde(default)]
    pub auth: HelloAuth,
    /// Limits and cadences.
    #[serde(default)]
    pub policy: HelloPolicy,
    /// Plugin surface URLs (e.g. `canvas`).
    #[serde(default)]
    pub plugin_surface_urls: Option<Value>,
}

/// `hello-ok.server`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloServer {
    /// Gateway version, e.g. `2026.9.6`.
    #[serde(default)]
    pub version: String,
    /// Connection id.
    #[serde(default)]
    pub conn_id: String,
    /// Build id.
    #[serde(default)]
    pub build_id: Option<String>,
    /// Boot id (changes on every Gateway start).
    #[serde(default)]
    pub boot_id: Option<String>,
}

/// `hello-ok.features`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct HelloFeatures {
    /// Gateway-wide method list (not filtered by role).
    #[serde(default)]
    pub methods: Vec<String>,
    /// Event list.
    #[serde(default)]
    pub events: Vec<String>,
    /// Feature capabilities.
    #[serde(default)]
    pub capabilities: Vec<String>,
}

/// An extra hand-off token from bootstrap (`hello-ok.auth.deviceTokens[]`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandoffToken {
    /// The token.
    pub device_token: Secret,
    /// Its role.
    pub role: String,
    /// Its scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Issue time.
    #[serde(default)]
    pub issued_at_ms: Option<u64>,
}

/// `hello-ok.auth`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloAuth {
    /// How the connection authenticated: `token`, `password`, `device-token`, `bootstrap-token`, …
    #[serde(default)]
    pub method: Option<String>,
    /// Granted role.
    #[serde(default)]
    pub role: Option<String>,
    /// Live scopes (`[]` for nodes).
    #[serde(default)]
    pub scopes: Vec<String>,
    /// The per-device token to persist.
    #[serde(default)]
    pub device_token: Option<Secret>,
    /// When the token was issued.
    #[serde(default)]
    pub issued_at_ms: Option<u64>,
    /// Bootstrap hand-off tokens.
    #[serde(default)]
    pub device_tokens: Vec<HandoffToken>,
}

/// `hello-ok.policy`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelloPolicy {
    /// Largest frame the Gateway accepts after hello.
    #[serde(default = "default_max_payload")]
    pub max_payload: u64,
    /// Per-socket outbound buffer of the Gateway.
    #[serde(default = "default_max_buffered")]
    pub max_buffered_bytes: u64,
    /// `tick` cadence.
    #[serde(default = "default_tick")]
    pub tick_interval_ms: u64,
    /// Attachment limits (raw).
    #[serde(default)]
    pub attachments: Option<Value>,
}

fn default_max_payload() -> u64 {
    26_214_400
}
fn default_max_buffered() -> u64 {
    52_428_800
}
fn default_tick() -> u64 {
    30_000
}

impl Default for HelloPolicy {
    fn default() -> Self {
        HelloPolicy {
            max_payload: default_max_payload(),
            max_buffered_bytes: default_max_buffered(),
            tick_interval_ms: default_tick(),
            attachments: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_observed_hello() {
        let text = r#"{"type":"hello-ok","protocol":4,
 "server":{"version":"2026.9.6","buildId":"2026.9.6-release-eb377ac","bootId":"62be9769","controlUiBuildSource":"bundled","connId":"c8536e4f"},
 "features":{"methods":["health"],"events":["connect.challenge"],"capabilities":["x"]},
 "snapshot":{"suspension":{"phase":"accepting"},"presence":[],"uptimeMs":134545},
 "auth":{"method":"token","role":"node","scopes":[],
         "deviceToken":"UBaH3HQRy8bBogWBonlVae8O7fmErdNB06i2ls9EX6o","issuedAtMs":1795516134489,
         "deviceTokens":[{"deviceToken":"op","role":"operator","scopes":["operator.read"],"issuedAtMs":1}]},
 "policy":{"maxPayload":26214400,"maxBufferedBytes":52428800,"tickIntervalMs":30000,
           "attachments":{"maxBytes":19464192,"maxImageBytes":6291456},
           "allowedSessionVisibilities":["shared"],"hasMultipleSessionSharingIdentities":false},
 "futureField":{"x":1}}"#;
        let h: HelloOk = serde_json::from_str(text).unwrap();
        assert_eq!(h.protocol, 4);
        assert_eq!(h.server.version, "2026.9.6");
        assert_eq!(h.auth.method.as_deref(), Some("token"));
        assert_eq!(
            h.auth.device_token.as_ref().map(Secret::expose),
            Some("UBaH3HQRy8bBogWBonlVae8O7fmErdNB06i2ls9EX6o")
        );
        assert_eq!(h.auth.device_tokens.len(), 1);
        assert_eq!(h.policy.tick_interval_ms, 30000);
        assert!(!format!("{h:?}").contains("UBaH3HQ"), "token must not leak through Debug");
    }

    #[test]
    fn minimal_hello_gets_defaults() {
        let h: HelloOk = serde_json::from_str(r#"{"type":"hello-ok","protocol":4}"#).unwrap();
        assert_eq!(h.policy, HelloPolicy::default());
        assert!(h.auth.device_token.is_none());
    }
}
