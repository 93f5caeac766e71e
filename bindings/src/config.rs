//! `NodeConfig` and its enums, and their translation to the core's configuration.

use std::collections::HashMap;
use std::time::Duration;

use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::protocol::ClientId as CoreClientId;
use clawnode::{ClientDescriptor, Credentials};

use crate::error::NodeError;

/// `client.id` the node presents. The Gateway sends `node.invoke.cancel` only to some ids
/// (`node-host`); for the others cancellation comes from the invoke's local deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum ClientId {
    /// `node-host`: a headless (Linux) node.
    NodeHost,
    /// `openclaw-ios`: the iOS app.
    OpenclawIos,
    /// `openclaw-android`: the Android app.
    OpenclawAndroid,
}

impl From<ClientId> for CoreClientId {
    fn from(c: ClientId) -> Self {
        match c {
            ClientId::NodeHost => CoreClientId::NodeHost,
            ClientId::OpenclawIos => CoreClientId::Ios,
            ClientId::OpenclawAndroid => CoreClientId::Android,
        }
    }
}

/// Which plaintext `ws://` destinations are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Enum)]
pub enum PlaintextPolicy {
    /// Loopback only (the default).
    #[default]
    LoopbackOnly,
    /// Also private LAN / tailnet addresses. Only on the user's explicit opt-in.
    PrivateNetwork,
}

/// Everything a node needs. Either `gateway_url` or `setup_code` must be set.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NodeConfig {
    /// `ws://` / `wss://` (or `http(s)://`) URL of the Gateway.
    #[uniffi(default = None)]
    pub gateway_url: Option<String>,
    /// A setup code (`oc-pair://…`): gives the endpoint, its pin and a one-time bootstrap
    /// token. Its primary URL is used.
    #[uniffi(default = None)]
    pub setup_code: Option<String>,
    /// Name operators see.
    #[uniffi(default = None)]
    pub display_name: Option<String>,
    /// `linux`, `"iOS 18.4"`, `"Android 15"`.
    pub platform: String,
    /// `Linux`, `iPhone`, `Android`.
    #[uniffi(default = None)]
    pub device_family: Option<String>,
    /// Model identifier (`iPhone17,1`).
    #[uniffi(default = None)]
    pub model_identifier: Option<String>,
    /// The `client.id` (`None` → `NodeHost`).
    #[uniffi(default = None)]
    pub client_id: Option<ClientId>,
    /// App version reported to the Gateway.
    #[uniffi(default = "0.0.0")]
    pub version: String,
    /// Plaintext policy (`None` → `LoopbackOnly`). An `Option` because UniFFI's enum field
    /// defaults generate code that does not run in Python.
    #[uniffi(default = None)]
    pub plaintext_policy: Option<PlaintextPolicy>,
    /// Shared Gateway token.
    #[uniffi(default = None)]
    pub token: Option<String>,
    /// Shared Gateway password.
    #[uniffi(default = None)]
    pub password: Option<String>,
    /// SHA-256 pin of the Gateway's leaf certificate (64 hex, `:` allowed), `wss://` only.
    #[uniffi(default = None)]
    pub tls_pin: Option<String>,
    /// Permission snapshot (`camera` → granted).
    #[uniffi(default)]
    pub permissions: HashMap<String, bool>,
    /// Deadline for invokes that carry no `timeoutMs`.
    #[uniffi(default = 30000)]
    pub default_invoke_timeout_ms: u64,
    /// When no `SecureStore` is given: a directory for the core's 0600 JSON file store
    /// (Linux devices). With neither, identity and tokens live in memory only.
    #[uniffi(default = None)]
    pub state_dir: Option<String>,
}

fn invalid(e: impl std::fmt::Display) -> NodeError {
    NodeError::InvalidConfig { detail: e.to_string() }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl NodeConfig {
    /// The core configuration.
    pub(crate) fn to_core(&self) -> Result<clawnode::NodeConfig, NodeError> {
        let pin = self.tls_pin.as_deref().map(TlsPin::parse).transpose().map_err(invalid)?;
        let mut credentials = Credentials {
            shared_token: self.token.clone().map(Into::into),
            password: self.password.clone().map(Into::into),
            bootstrap_token: None,
        };
        let endpoint = match (&self.gateway_url, &self.setup_code) {
            (Some(url), None) => Endpoint::parse_pinned(url, pin).map_err(invalid)?,
            (None, Some(code)) => {
                let code = clawnode::setup_code::decode(code, now_ms()).map_err(invalid)?;
                credentials.bootstrap_token = Some(code.bootstrap_token.clone());
                // The core's rule without probing (no I/O before `start()`): the primary.
                let e = code.primary().cloned().ok_or_else(|| invalid("the setup code has no URL"))?;
                if pin.is_some() { e.with_pin(pin).map_err(invalid)? } else { e }
            }
            (Some(_), Some(_)) => return Err(invalid("set either gateway_url or setup_code, not both")),
            (None, None) => return Err(invalid("gateway_url or setup_code is required")),
        };
        let client = ClientDescriptor {
            id: self.client_id.unwrap_or(ClientId::NodeHost).into(),
            display_name: self.display_name.clone(),
            version: self.version.clone(),
            platform: self.platform.clone(),
            device_family: self.device_family.clone(),
            model_identifier: self.model_identifier.clone(),
            instance_id: None,
        };
        let mut cfg = clawnode::NodeConfig::new(endpoint, client);
        cfg.credentials = credentials;
        cfg.transport.plaintext = match self.plaintext_policy.unwrap_or_default() {
            PlaintextPolicy::LoopbackOnly => clawnode::PlaintextPolicy::LoopbackOnly,
            PlaintextPolicy::PrivateNetwork => clawnode::PlaintextPolicy::PrivateNetwork,
        };
        cfg.permissions = self.permissions.iter().map(|(k, v)| (k.clone(), *v)).collect();
        cfg.invoke.default_timeout = Duration::from_millis(self.default_invoke_timeout_ms.max(1));
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn base() -> NodeConfig {
        NodeConfig {
            gateway_url: Some("ws://127.0.0.1:18789".into()),
            setup_code: None,
            display_name: Some("t".into()),
            platform: "linux".into(),
            device_family: Some("Linux".into()),
            model_identifier: None,
            client_id: None,
            version: "1.0".into(),
            plaintext_policy: None,
            token: Some("tok".into()),
            password: None,
            tls_pin: None,
            permissions: HashMap::from([("camera".to_string(), true)]),
            default_invoke_timeout_ms: 5000,
            state_dir: None,
        }
    }

    #[test]
    fn translates_to_core() {
        let c = base().to_core().unwrap();
        assert_eq!(c.endpoint.url(), "ws://127.0.0.1:18789/");
        assert_eq!(c.client.id, CoreClientId::NodeHost);
        assert_eq!(c.credentials.shared_token.as_ref().map(|s| s.expose().to_string()), Some("tok".into()));
        assert_eq!(c.permissions.get("camera"), Some(&true));
        assert_eq!(c.invoke.default_timeout, Duration::from_secs(5));
        assert_eq!(c.transport.plaintext, clawnode::PlaintextPolicy::LoopbackOnly);
    }

    #[test]
    fn rejects_bad_configs() {
        let mut c = base();
        c.gateway_url = None;
        assert!(matches!(c.to_core(), Err(NodeError::InvalidConfig { .. })));
        let mut c = base();
        c.setup_code = Some("x".into());
        assert!(matches!(c.to_core(), Err(NodeError::InvalidConfig { .. })));
        let mut c = base();
        c.tls_pin = Some("zz".into());
        assert!(matches!(c.to_core(), Err(NodeError::InvalidConfig { .. })));
        let mut c = base();
        c.gateway_url = Some("ftp://x".into());
        assert!(matches!(c.to_core(), Err(NodeError::InvalidConfig { .. })));
    }
}
