//! What a [`Node`](super::Node) is built from: the Gateway endpoint, the client description,
//! explicit credentials and the tunables of the connection and session.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::backoff::BackoffConfig;
use crate::endpoint::Endpoint;
use crate::events::HostStats;
use crate::invoke::InvokeConfig;
use crate::outbox::OutboxConfig;
use crate::protocol::{ClientId, ClientInfo, ClientMode};
use crate::secret::Secret;
use crate::session::{HandshakeConfig, LivenessConfig};
use crate::setup_code::SetupCode;
use crate::store::PinStore;
use crate::transport::TransportConfig;

/// Who this node says it is.
#[derive(Debug, Clone)]
pub struct ClientDescriptor {
    /// `client.id` (`node-host`, `openclaw-ios`, `openclaw-android`).
    pub id: ClientId,
    /// Name shown to operators.
    pub display_name: Option<String>,
    /// App/library version.
    pub version: String,
    /// Platform (`linux`, `iOS 18.4`, `Android 15`).
    pub platform: String,
    /// Device family (`Linux`, `iPhone`, `Android`).
    pub device_family: Option<String>,
    /// Model identifier.
    pub model_identifier: Option<String>,
    /// Stable per-install instance id.
    pub instance_id: Option<String>,
}

impl ClientDescriptor {
    /// The headless Linux host: `node-host`, `linux`, `Linux`.
    pub fn linux_node_host(version: impl Into<String>) -> Self {
        ClientDescriptor {
            id: ClientId::NodeHost,
            display_name: None,
            version: version.into(),
            platform: "linux".into(),
            device_family: Some("Linux".into()),
            model_identifier: None,
            instance_id: None,
        }
    }

    pub(super) fn client_info(&self) -> ClientInfo {
        ClientInfo {
            id: self.id,
            display_name: self.display_name.clone(),
            version: self.version.clone(),
            build_id: None,
            platform: self.platform.clone(),
            device_family: self.device_family.clone(),
            model_identifier: self.model_identifier.clone(),
            time_zone: None,
            mode: ClientMode::Node,
            instance_id: self.instance_id.clone(),
        }
    }
}

/// Credentials the user or app configured explicitly for this Gateway.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    /// Shared Gateway token.
    pub shared_token: Option<Secret>,
    /// Shared Gateway password.
    pub password: Option<Secret>,
    /// Setup-code bootstrap token (forgotten after the first successful hello).
    pub bootstrap_token: Option<Secret>,
}

/// Supplies `node.host.stats`.
pub type HostStatsProvider = Arc<dyn Fn() -> HostStats + Send + Sync>;

/// Everything a [`Node`](super::Node) needs.
#[derive(Clone)]
pub struct NodeConfig {
    /// Where the Gateway is.
    pub endpoint: Endpoint,
    /// Transport settings (plaintext policy, timeouts).
    pub transport: TransportConfig,
    /// Explicit credentials.
    pub credentials: Credentials,
    /// Client description.
    pub client: ClientDescriptor,
    /// Permission snapshot.
    pub permissions: BTreeMap<String, bool>,
    /// Host `PATH` (node-host).
    pub path_env: Option<String>,
    /// Reconnect schedule.
    pub backoff: BackoffConfig,
    /// Handshake deadlines.
    pub handshake: HandshakeConfig,
    /// Pings and tick watchdog.
    pub liveness: LivenessConfig,
    /// Dispatch limits.
    pub invoke: InvokeConfig,
    /// `node.host.stats` source; when set, stats are sent on connect (as the readiness
    /// probe) and every `host_stats_interval`.
    pub host_stats: Option<HostStatsProvider>,
    /// Cadence of `node.host.stats`.
    pub host_stats_interval: Duration,
    /// Longest wait between readiness probes while commands await approval.
    pub approval_retry_max: Duration,
    /// Hard bound: connection attempts started in any sliding 60 s window (≥ 1).
    pub max_attempts_per_minute: u32,
    /// A session shorter than this (hello to end) does not reset the backoff.
    pub stable_session: Duration,
    /// The offline outbox for `node.event`s (see [`crate::outbox`]).
    pub outbox: OutboxConfig,
    /// Local throttle of `node.presence.alive` (the Gateway keeps one per 60 s).
    pub presence_throttle: Duration,
    /// Cadence of the TCP reachability checks (connect and close: no WebSocket, no
    /// credential) that gate the next handshake while the Gateway does not accept
    /// connections. `None`: 200 ms for a loopback or Unix-socket (tunnel) target, 1 s for a
    /// remote one; the battery profile sets 5 s.
    pub reachability_interval: Option<Duration>,
    /// More endpoints to try, in order, after [`NodeConfig::endpoint`] (a setup code's
    /// other URLs). When set, the node chooses among them on start with
    /// [`crate::setup_code::choose_among`], the rule the CLI applies to a setup code.
    pub endpoint_candidates: Vec<Endpoint>,
    /// Where TLS pins persist, keyed by the gateway origin: a `wss://` endpoint without
    /// a pin takes the stored one, [`Node::trust_pin`](super::Node::trust_pin) stores the
    /// trusted pin, and a pin that led to a hello (e.g. a setup code's) is stored when none is.
    pub pins: Option<Arc<dyn PinStore>>,
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("endpoint", &self.endpoint.to_string())
            .field("client", &self.client)
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl NodeConfig {
    /// Defaults for `endpoint` and `client`.
    pub fn new(endpoint: Endpoint, client: ClientDescriptor) -> Self {
        NodeConfig {
            endpoint,
            transport: TransportConfig::default(),
            credentials: Credentials::default(),
            client,
            permissions: BTreeMap::new(),
            path_env: None,
            backoff: BackoffConfig::default(),
            handshake: HandshakeConfig::default(),
            liveness: LivenessConfig::default(),
            invoke: InvokeConfig::default(),
            host_stats: None,
            host_stats_interval: Duration::from_secs(60),
            approval_retry_max: Duration::from_secs(30),
            max_attempts_per_minute: 10,
            stable_session: Duration::from_secs(10),
            outbox: OutboxConfig::default(),
            presence_throttle: Duration::from_secs(60),
            reachability_interval: None,
            endpoint_candidates: Vec::new(),
            pins: None,
        }
    }

    /// A node paired by a setup code: its primary URL (with the code's pin) as the endpoint,
    /// its other URLs as [`NodeConfig::endpoint_candidates`] (chosen among on start), its
    /// bootstrap token as the credential.
    pub fn for_setup_code(code: &SetupCode, client: ClientDescriptor) -> Option<Self> {
        let mut urls = code.endpoints.iter().cloned();
        let mut cfg = NodeConfig::new(urls.next()?, client);
        cfg.endpoint_candidates = urls.collect();
        cfg.credentials.bootstrap_token = Some(code.bootstrap_token.clone());
        Some(cfg)
    }

    /// The battery profile for mobile nodes: backoff capped at 5 minutes with full jitter
    /// ([`BackoffConfig::battery`]), at most 6 attempts per minute and a reachability check
    /// every 5 s while the Gateway is down.
    pub fn with_battery_profile(mut self) -> Self {
        self.backoff = BackoffConfig::battery();
        self.max_attempts_per_minute = 6;
        self.reachability_interval = Some(Duration::from_secs(5));
        self
    }
}
