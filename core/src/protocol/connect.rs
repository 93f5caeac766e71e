//! The `connect` request parameters (`ConnectParamsSchema`, closed; protocol.md §2.3).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Lowest protocol version ClawNode speaks (the Gateway's N-1 node window).
pub const MIN_PROTOCOL_VERSION: u32 = 3;
/// Highest protocol version ClawNode speaks.
pub const MAX_PROTOCOL_VERSION: u32 = 4;

/// `client.id`: the Gateway's closed `GATEWAY_CLIENT_IDS` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ClientId {
    /// `webchat-ui`
    #[serde(rename = "webchat-ui")]
    WebchatUi,
    /// `openclaw-control-ui`
    #[serde(rename = "openclaw-control-ui")]
    ControlUi,
    /// `openclaw-browser-copilot`
    #[serde(rename = "openclaw-browser-copilot")]
    BrowserCopilot,
    /// `openclaw-tui`
    #[serde(rename = "openclaw-tui")]
    Tui,
    /// `webchat`
    #[serde(rename = "webchat")]
    Webchat,
    /// `cli`
    #[serde(rename = "cli")]
    Cli,
    /// `gateway-client`
    #[serde(rename = "gateway-client")]
    GatewayClient,
    /// `openclaw-macos`
    #[serde(rename = "openclaw-macos")]
    Macos,
    /// `openclaw-linux`
    #[serde(rename = "openclaw-linux")]
    Linux,
    /// `openclaw-ios`: the iOS app.
    #[serde(rename = "openclaw-ios")]
    Ios,
    /// `openclaw-watchos`
    #[serde(rename = "openclaw-watchos")]
    Watchos,
    /// `openclaw-android`: the Android app.
    #[serde(rename = "openclaw-android")]
    Android,
    /// `node-host`: the headless node host (gets `node.invoke.cancel`).
    #[serde(rename = "node-host")]
    NodeHost,
    /// `openclaw-worker` (refused on the main socket).
    #[serde(rename = "openclaw-worker")]
    Worker,
    /// `test`
    #[serde(rename = "test")]
    Test,
    /// `fingerprint`
    #[serde(rename = "fingerprint")]
    Fingerprint,
    /// `openclaw-probe`
    #[serde(rename = "openclaw-probe")]
    Probe,
}

impl ClientId {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientId::WebchatUi => "webchat-ui",
            ClientId::ControlUi => "openclaw-control-ui",
            ClientId::BrowserCopilot => "openclaw-browser-copilot",
            ClientId::Tui => "openclaw-tui",
            ClientId::Webchat => "webchat",
            ClientId::Cli => "cli",
            ClientId::GatewayClient => "gateway-client",
            ClientId::Macos => "openclaw-macos",
            ClientId::Linux => "openclaw-linux",
            ClientId::Ios => "openclaw-ios",
            ClientId::Watchos => "openclaw-watchos",
            ClientId::Android => "openclaw-android",
            ClientId::NodeHost => "node-host",
            ClientId::Worker => "openclaw-worker",
            ClientId::Test => "test",
            ClientId::Fingerprint => "fingerprint",
            ClientId::Probe => "openclaw-probe",
        }
    }

    /// Whether the Gateway sends `node.invoke.cancel` to this client id (protocol.md §4.2).
    pub fn receives_invoke_cancel(self) -> bool {
        matches!(self, ClientId::NodeHost | ClientId::Macos)
    }
}

/// `client.mode`: the Gateway's closed `GATEWAY_CLIENT_MODES` enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientMode {
    /// `webchat`
    Webchat,
    /// `cli`
    Cli,
    /// `ui`
    Ui,
    /// `backend`
    Backend,
    /// `node`: what every node sends.
    Node,
    /// `worker`
    Worker,
    /// `probe`
    Probe,
    /// `test`
    Test,
}

impl ClientMode {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientMode::Webchat => "webchat",
            ClientMode::Cli => "cli",
            ClientMode::Ui => "ui",
            ClientMode::Backend => "backend",
            ClientMode::Node => "node",
            ClientMode::Worker => "worker",
            ClientMode::Probe => "probe",
            ClientMode::Test => "test",
        }
    }
}

/// `role`: only `operator` and `node` exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An operator (UI, CLI).
    Operator,
    /// A node (device).
    Node,
}

impl Role {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Node => "node",
        }
    }
}

/// `client` (closed).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientInfo {
    /// Client id.
    pub id: ClientId,
    /// Display name shown to operators.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Client version.
    pub version: String,
    /// Build id (1..96 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub build_id: Option<String>,
    /// Platform, e.g. `linux`, `iOS 18.4`, `Android 15`.
    pub platform: String,
    /// Device family, e.g. `Linux`, `iPhone`, `Android`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_family: Option<String>,
    /// Model identifier, e.g. `iPhone17,1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_identifier: Option<String>,
    /// IANA time zone (1..64 chars).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// Client mode.
    pub mode: ClientMode,
    /// Stable per-install instance id (not the device id).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

/// `device` (closed): the signed device proof.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceProof {
    /// Device id: lowercase hex SHA-256 of the raw public key.
    pub id: String,
    /// Raw public key, base64url without padding.
    pub public_key: String,
    /// Signature, base64url without padding.
    pub signature: String,
    /// Milliseconds that were signed (the challenge `ts`).
    pub signed_at: u64,
    /// The challenge nonce.
    pub nonce: String,
}

/// `auth` (closed). Every member is a secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectAuth {
    /// Shared Gateway token (or a device token, which the Gateway also accepts here).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// Setup-code bootstrap token.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bootstrap_token: Option<Secret>,
    /// Per-device token issued at pairing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_token: Option<Secret>,
    /// Shared Gateway password (never signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
}

impl ConnectAuth {
    /// The token the signature binds: `auth.token ?? auth.deviceToken ?? auth.bootstrapToken ?? ""`
    /// (JS `??`: an empty `token` still wins; the password is never signed).
    pub fn signature_token(&self) -> &str {
        self.token
            .as_ref()
            .or(self.device_token.as_ref())
            .or(self.bootstrap_token.as_ref())
            .map(Secret::expose)
            .unwrap_or("")
    }

    /// Whether no credential at all is set.
    pub fn is_empty(&self) -> bool {
        self.token.is_none() && self.bootstrap_token.is_none() && self.device_token.is_none() && self.password.is_none()
    }
}

/// `connect` params (closed). Fields the schema lacks are not representable.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectParams {
    /// Lowest protocol accepted.
    pub min_protocol: u32,
    /// Highest protocol accepted.
    pub max_protocol: u32,
    /// Client description.
    pub client: ClientInfo,
    /// Role (`node` for ClawNode).
    pub role: Role,
    /// Requested scopes (`[]` for nodes).
    pub scopes: Vec<String>,
    /// Capability categories.
    pub caps: Vec<String>,
    /// Invokable commands the node declares.
    pub commands: Vec<String>,
    /// OS permission snapshot (omitted when empty).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub permissions: BTreeMap<String, bool>,
    /// `PATH` of the host (node-host only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_env: Option<String>,
    /// Signed device proof.
    pub device: DeviceProof,
    /// Credentials (omitted when empty).
    #[serde(skip_serializing_if = "ConnectAuth::is_empty")]
    pub auth: ConnectAuth,
    /// Locale, e.g. `en-US`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
    /// User agent string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn sample() -> ConnectParams {
        ConnectParams {
            min_protocol: MIN_PROTOCOL_VERSION,
            max_protocol: MAX_PROTOCOL_VERSION,
            client: ClientInfo {
                id: ClientId::NodeHost,
                display_name: Some("box".into()),
                version: "0.1.0".into(),
                build_id: None,
                platform: "linux".into(),
                device_family: Some("Linux".into()),
                model_identifier: None,
                time_zone: None,
                mode: ClientMode::Node,
                instance_id: None,
            },
            role: Role::Node,
            scopes: vec![],
            caps: vec!["system".into()],
            commands: vec!["system.which".into()],
            permissions: BTreeMap::new(),
            path_env: None,
            device: DeviceProof {
                id: "d".into(),
                public_key: "k".into(),
                signature: "s".into(),
                signed_at: 5,
                nonce: "n".into(),
            },
            auth: ConnectAuth { token: Some("t".into()), ..Default::default() },
            locale: None,
            user_agent: None,
        }
    }

    #[test]
    fn exact_closed_shape() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            v,
            json!({"minProtocol":3,"maxProtocol":4,
              "client":{"id":"node-host","displayName":"box","version":"0.1.0","platform":"linux","deviceFamily":"Linux","mode":"node"},
              "role":"node","scopes":[],"caps":["system"],"commands":["system.which"],
              "device":{"id":"d","publicKey":"k","signature":"s","signedAt":5,"nonce":"n"},
              "auth":{"token":"t"}})
        );
        let mut p = sample();
        p.auth = ConnectAuth::default();
        let v: Value = serde_json::to_value(p).unwrap();
        assert!(v.get("auth").is_none());
    }

    #[test]
    fn client_ids_round_trip() {
        for id in [
            ClientId::WebchatUi,
            ClientId::ControlUi,
            ClientId::BrowserCopilot,
            ClientId::Tui,
            ClientId::Webchat,
            ClientId::Cli,
            ClientId::GatewayClient,
            ClientId::Macos,
            ClientId::Linux,
            ClientId::Ios,
            ClientId::Watchos,
            ClientId::Android,
            ClientId::NodeHost,
            ClientId::Worker,
            ClientId::Test,
            ClientId::Fingerprint,
            ClientId::Probe,
        ] {
            let s = serde_json::to_value(id).unwrap();
            assert_eq!(s, Value::String(id.as_str().into()));
            let back: ClientId = serde_json::from_value(s).unwrap();
            assert_eq!(back, id);
        }
        assert!(serde_json::from_value::<ClientId>(json!("ios-node")).is_err());
        assert_eq!(serde_json::to_value(ClientMode::Node).unwrap(), json!("node"));
    }

    #[test]
    fn signature_token_precedence() {
        let mut a = ConnectAuth::default();
        assert_eq!(a.signature_token(), "");
        a.bootstrap_token = Some("b".into());
        assert_eq!(a.signature_token(), "b");
        a.device_token = Some("d".into());
        assert_eq!(a.signature_token(), "d");
        a.token = Some("".into());
        assert_eq!(a.signature_token(), "", "JS ?? keeps an empty token");
        a.password = Some("p".into());
        a.token = None;
        assert_eq!(a.signature_token(), "d");
        let pw = ConnectAuth { password: Some("p".into()), ..Default::default() };
        assert_eq!(pw.signature_token(), "");
    }
}
