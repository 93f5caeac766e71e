//! `NodeConfig` and its enums, and their translation to the core's configuration.

use std::collections::HashMap;
use std::time::Duration;

use clawnode::endpoint::{Endpoint, TlsPin};
use clawnode::protocol::ClientId as CoreClientId;
use clawnode::transport::{Proxy, UpgradeHeaders};
use clawnode::{ClientDescriptor, Credentials, Secret};

use crate::error::NodeError;
use crate::reach::{HeaderMap, ProxyUrl};

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

/// Which plaintext `ws://` destinations are allowed (`wss://` is never restricted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum PlaintextPolicy {
    /// Loopback only (the default on desktop platforms).
    LoopbackOnly,
    /// Also private LAN / tailnet addresses and any name resolving to them. Only on the
    /// user's explicit opt-in.
    PrivateNetwork,
    /// The mobile apps' rule (transport.md §2.4), the default on Android and iOS: loopback
    /// and the local network (RFC 1918 — including the Android emulator's host `10.0.2.2` —,
    /// link-local, ULA, `.local` names); no CGNAT/tailnet (`100.64/10`, `.ts.net`), no
    /// other names.
    MobileStrict,
}

impl PlaintextPolicy {
    /// The default of `NodeConfig.plaintext_policy`: `MobileStrict` on Android and iOS,
    /// `LoopbackOnly` elsewhere.
    pub fn platform_default() -> Self {
        if cfg!(any(target_os = "android", target_os = "ios")) {
            PlaintextPolicy::MobileStrict
        } else {
            PlaintextPolicy::LoopbackOnly
        }
    }
}

impl From<PlaintextPolicy> for clawnode::PlaintextPolicy {
    fn from(p: PlaintextPolicy) -> Self {
        match p {
            PlaintextPolicy::LoopbackOnly => clawnode::PlaintextPolicy::LoopbackOnly,
            PlaintextPolicy::PrivateNetwork => clawnode::PlaintextPolicy::PrivateNetwork,
            PlaintextPolicy::MobileStrict => clawnode::PlaintextPolicy::MobileStrict,
        }
    }
}

/// Everything a node needs. Either `gateway_url` or `setup_code` must be set.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NodeConfig {
    /// `ws://` / `wss://` (or `http(s)://`) URL of the Gateway.
    #[uniffi(default = None)]
    pub gateway_url: Option<String>,
    /// A setup code (`oc-pair://…`): gives the endpoints, the primary's pin and a one-time
    /// bootstrap token. On `start()` the node tries its URLs in order and keeps the first
    /// that answers (the code's pin applies to its primary URL only; a stored pin applies
    /// to the others); when none answers it keeps retrying the primary.
    #[uniffi(default = None)]
    pub setup_code: Option<Secret>,
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
    /// The app's version, reported to the Gateway (operators see it). `None` → the
    /// library's version (`clawnode_version()`).
    #[uniffi(default = None)]
    pub version: Option<String>,
    /// Plaintext policy (`None` → `PlaintextPolicy::platform_default()`: `MobileStrict` on
    /// Android and iOS, `LoopbackOnly` elsewhere). An `Option` because UniFFI's enum field
    /// defaults generate code that does not run in Python.
    #[uniffi(default = None)]
    pub plaintext_policy: Option<PlaintextPolicy>,
    /// The battery profile for phones: backoff up to 5 minutes with full jitter, at most 6
    /// connection attempts per minute, a reachability check every 5 s while the Gateway is
    /// down.
    #[uniffi(default = false)]
    pub battery_profile: bool,
    /// Hard bound on connection attempts started in any 60 s window (`None`: 10, or 6
    /// with the battery profile; at least 1).
    #[uniffi(default = None)]
    pub max_attempts_per_minute: Option<u32>,
    /// Shared Gateway token.
    #[uniffi(default = None)]
    pub token: Option<Secret>,
    /// Shared Gateway password.
    #[uniffi(default = None)]
    pub password: Option<Secret>,
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
    /// The stable id of the discovered Gateway `gateway_url` came from (`ConnectPlan`'s
    /// `gateway_id`, from `plan_connection`). On a `wss://` URL the device token and the pin
    /// are then stored under that id, so they survive the Gateway's address changes; a
    /// plaintext `ws://` route stays keyed by its address (anyone can claim an instance
    /// name). Not allowed with `setup_code`.
    #[uniffi(default = None)]
    pub discovered_gateway_id: Option<String>,
    /// Reach the Gateway through a proxy: `http://[user:password@]host:port` (HTTP
    /// `CONNECT`, Basic auth) or `socks5://…` / `socks5h://…` (SOCKS5, user/password; the
    /// proxy resolves the Gateway's name). TLS stays end to end (the pin and SNI apply to
    /// the Gateway); plaintext `ws://` only to a loopback Gateway. Used for a setup code's
    /// URLs too. A bad URL: `NodeError.InvalidProxy`. A secret (it may hold a password).
    #[uniffi(default = None)]
    pub proxy: Option<Secret>,
    /// Extra headers on the WebSocket upgrade request, e.g. a Zero-Trust edge's service
    /// token (`CF-Access-Client-Id`, `CF-Access-Client-Secret`). Values are secrets. Names
    /// the upgrade owns (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-*`, `Proxy-*`, …)
    /// are refused: `NodeError.InvalidHeader`. Sent only on `wss://` or to a loopback
    /// Gateway.
    #[uniffi(default)]
    pub headers: HashMap<String, Secret>,
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
        let mut setup = None;
        let endpoint = match (&self.gateway_url, &self.setup_code) {
            (Some(url), None) => {
                let endpoint = Endpoint::parse_pinned(url, pin).map_err(invalid)?;
                match &self.discovered_gateway_id {
                    Some(id) if id.trim().is_empty() => return Err(invalid("discovered_gateway_id is empty")),
                    // Only a stable id: any other string could name another Gateway's origin
                    // (`wss://host:port`) and send that Gateway's device token here.
                    Some(id) if !id.starts_with(&format!("{}.|", clawnode::discovery::SERVICE_TYPE)) => {
                        return Err(invalid("discovered_gateway_id is not a discovery stable id (plan.gateway_id)"));
                    }
                    Some(id) if endpoint.tls => endpoint.discovered_as(id.clone()),
                    _ => endpoint,
                }
            }
            (None, Some(_)) if self.discovered_gateway_id.is_some() => {
                return Err(invalid("discovered_gateway_id applies to a gateway_url, not a setup code"));
            }
            (None, Some(code)) => {
                let code = clawnode::setup_code::decode(code.expose(), now_ms()).map_err(invalid)?;
                let primary = code.primary().cloned().ok_or_else(|| invalid("the setup code has no URL"))?;
                setup = Some(code);
                // A configured pin overrides the code's for its primary URL.
                if pin.is_some() { primary.with_pin(pin).map_err(invalid)? } else { primary }
            }
            (Some(_), Some(_)) => return Err(invalid("set either gateway_url or setup_code, not both")),
            (None, None) => return Err(invalid("gateway_url or setup_code is required")),
        };
        let client = ClientDescriptor {
            id: self.client_id.unwrap_or(ClientId::NodeHost).into(),
            display_name: self.display_name.clone(),
            version: self.version.clone().unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_string()),
            platform: self.platform.clone(),
            device_family: self.device_family.clone(),
            model_identifier: self.model_identifier.clone(),
            instance_id: None,
        };
        // The core's setup-code configuration (the primary now, every URL tried on start).
        let mut cfg = match setup.as_ref().and_then(|c| clawnode::NodeConfig::for_setup_code(c, client.clone())) {
            Some(c) => clawnode::NodeConfig { endpoint, ..c },
            None => clawnode::NodeConfig::new(endpoint, client),
        };
        cfg.credentials = Credentials {
            shared_token: self.token.clone(),
            password: self.password.clone(),
            bootstrap_token: cfg.credentials.bootstrap_token.take(),
        };
        if self.battery_profile {
            cfg = cfg.with_battery_profile();
        }
        if let Some(n) = self.max_attempts_per_minute {
            cfg.max_attempts_per_minute = n.max(1);
        }
        cfg.transport.plaintext = self.plaintext_policy.unwrap_or_else(PlaintextPolicy::platform_default).into();
        cfg.permissions = self.permissions.iter().map(|(k, v)| (k.clone(), *v)).collect();
        cfg.invoke.default_timeout = Duration::from_millis(self.default_invoke_timeout_ms.max(1));
        cfg.transport.proxy = self.proxy.as_ref().map(|p| Proxy::try_from(ProxyUrl(p))).transpose()?;
        cfg.transport.headers = UpgradeHeaders::try_from(HeaderMap(&self.headers))?;
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
            version: Some("1.0".into()),
            plaintext_policy: None,
            battery_profile: false,
            max_attempts_per_minute: None,
            token: Some("tok".into()),
            password: None,
            tls_pin: None,
            permissions: HashMap::from([("camera".to_string(), true)]),
            default_invoke_timeout_ms: 5000,
            state_dir: None,
            discovered_gateway_id: None,
            proxy: None,
            headers: HashMap::new(),
        }
    }

    #[test]
    fn a_discovered_tls_gateway_is_keyed_by_its_stable_id_and_plaintext_by_address() {
        let id = "_openclaw-gw._tcp.|local.|studio (OpenClaw)".to_string();
        let tls = NodeConfig {
            gateway_url: Some("wss://192.168.1.20:18789".into()),
            discovered_gateway_id: Some(id.clone()),
            plaintext_policy: Some(PlaintextPolicy::PrivateNetwork),
            ..base()
        };
        let c = tls.to_core().unwrap();
        assert_eq!(c.endpoint.discovered.as_deref(), Some(id.as_str()));
        let moved = NodeConfig { gateway_url: Some("wss://192.168.1.77:18789".into()), ..tls.clone() };
        assert_eq!(moved.to_core().unwrap().endpoint.origin(), c.endpoint.origin(), "same key after an address change");
        let plain = NodeConfig { gateway_url: Some("ws://192.168.1.20:18789".into()), ..tls.clone() };
        assert_eq!(plain.to_core().unwrap().endpoint.discovered, None);
        let empty = NodeConfig { discovered_gateway_id: Some(" ".into()), ..tls.clone() };
        assert!(matches!(empty.to_core(), Err(NodeError::InvalidConfig { .. })));
        // Attack: an id that is another Gateway's origin would key this endpoint's device
        // token (and pin) as that Gateway's.
        for other in ["wss://gw.example:443", "ssh://pi/127.0.0.1:18789", "ws://127.0.0.1:18789"] {
            let c = NodeConfig { discovered_gateway_id: Some(other.into()), ..tls.clone() };
            assert!(matches!(c.to_core(), Err(NodeError::InvalidConfig { .. })), "{other}");
        }
        let with_code = NodeConfig { gateway_url: None, setup_code: Some("x".into()), ..tls };
        assert!(matches!(with_code.to_core(), Err(NodeError::InvalidConfig { .. })));
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
    fn proxy_and_headers_reach_the_core_transport() {
        let c = NodeConfig {
            gateway_url: Some("wss://gw.example:8443".into()),
            proxy: Some("http://alice:proxy-pass-1@proxy.corp:3128".into()),
            headers: HashMap::from([
                ("CF-Access-Client-Id".to_string(), "id.access".into()),
                ("CF-Access-Client-Secret".to_string(), "edge-secret-1".into()),
            ]),
            ..base()
        };
        let core = c.to_core().unwrap();
        let p = core.transport.proxy.as_ref().unwrap();
        assert_eq!((p.to_string(), p.has_auth()), ("http://proxy.corp:3128".to_string(), true));
        let names: Vec<_> = core.transport.headers.names().collect();
        assert_eq!(names, ["CF-Access-Client-Id", "CF-Access-Client-Secret"]);
        // No secret of the record in `Debug` (the core's `Secret` redacts), names shown.
        let dbg = format!("{c:?} {core:?}");
        for secret in ["proxy-pass-1", "edge-secret-1", "id.access", "tok\""] {
            assert!(!dbg.contains(secret), "{secret} in {dbg}");
        }
        assert!(dbg.contains("CF-Access-Client-Secret"), "{dbg}");
        // None of either: the core's defaults.
        let plain = base().to_core().unwrap();
        assert!(plain.transport.proxy.is_none() && plain.transport.headers.is_empty());
    }

    #[test]
    fn bad_proxy_or_header_is_a_typed_error() {
        let c = NodeConfig { proxy: Some("ftp://proxy:21".into()), ..base() };
        assert!(matches!(c.to_core(), Err(NodeError::InvalidProxy { .. })), "{:?}", c.to_core().err());
        let c = NodeConfig { headers: HashMap::from([("Upgrade".to_string(), "h2c".into())]), ..base() };
        match c.to_core() {
            Err(NodeError::InvalidHeader { name, problem, detail }) => {
                assert_eq!((name.as_str(), problem), ("Upgrade", crate::reach::HeaderProblem::Reserved));
                assert!(detail.contains("reserved"), "{detail}");
            }
            other => panic!("{other:?}"),
        }
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

    #[test]
    fn version_profile_budget_and_policy_defaults() {
        let mut c = base();
        c.version = None;
        let core = c.to_core().unwrap();
        assert_eq!(core.client.version, env!("CARGO_PKG_VERSION"), "never 0.0.0");
        assert_eq!(core.max_attempts_per_minute, 10);
        assert_eq!(core.transport.plaintext, PlaintextPolicy::platform_default().into());
        c.battery_profile = true;
        let core = c.to_core().unwrap();
        assert_eq!(core.max_attempts_per_minute, 6);
        assert_eq!(core.reachability_interval, Some(Duration::from_secs(5)));
        c.max_attempts_per_minute = Some(0);
        assert_eq!(c.to_core().unwrap().max_attempts_per_minute, 1);
        c.plaintext_policy = Some(PlaintextPolicy::MobileStrict);
        assert_eq!(c.to_core().unwrap().transport.plaintext, clawnode::PlaintextPolicy::MobileStrict);
    }

    #[test]
    fn setup_code_urls_become_candidates_in_order() {
        use base64::Engine as _;
        let code = serde_json::json!({"url": "ws://127.0.0.1:1", "urls": ["ws://127.0.0.1:1", "ws://127.0.0.1:2"],
            "bootstrapToken": "b"});
        let code = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(code.to_string());
        let mut c = base();
        c.gateway_url = None;
        c.setup_code = Some(code.into());
        let core = c.to_core().unwrap();
        assert_eq!(core.endpoint.url(), "ws://127.0.0.1:1/");
        let rest: Vec<String> = core.endpoint_candidates.iter().map(|e| e.url()).collect();
        assert_eq!(rest, ["ws://127.0.0.1:2/"]);
        assert!(core.credentials.bootstrap_token.is_some());
    }
}
