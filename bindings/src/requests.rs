//! What the app publishes and asks on the live session (node-role requests), the endpoint
//! in force, pauses, and the first-use TLS probe.

use std::collections::HashMap;
use std::time::Duration;

use clawnode::Secret;
use clawnode::protocol::{NodeSkill, PluginTool as CoreTool, PluginToolMcp};
use clawnode::transport::Proxy;

use crate::config::PlaintextPolicy;
use crate::error::NodeError;
use crate::node::Node;
use crate::reach::ProxyUrl;
use crate::runtime;

/// The MCP target of a [`PluginTool`].
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct McpTarget {
    /// MCP server.
    pub server: String,
    /// Tool on that server.
    pub tool: String,
}

/// A plugin tool the node publishes (`node.pluginTools.update`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PluginTool {
    /// Plugin id.
    pub plugin_id: String,
    /// Tool name (`^[A-Za-z][A-Za-z0-9_-]{0,63}$`).
    pub name: String,
    /// Description.
    pub description: String,
    /// JSON Schema of the parameters, as JSON text.
    #[uniffi(default = None)]
    pub parameters_json: Option<String>,
    /// Node command that runs the tool.
    #[uniffi(default = None)]
    pub command: Option<String>,
    /// MCP target.
    #[uniffi(default = None)]
    pub mcp: Option<McpTarget>,
}

/// A skill the node publishes (`node.skills.update`).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Skill {
    /// Name (`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`).
    pub name: String,
    /// Description (1..1024 characters).
    pub description: String,
    /// Content (1..65536 characters).
    pub content: String,
}

/// The answer of `node.pluginSurface.refresh`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PluginSurface {
    /// The surface.
    pub surface: String,
    /// Surface → URL.
    pub urls: HashMap<String, String>,
    /// When the URLs expire (Unix ms).
    pub expires_at_ms: Option<u64>,
}

/// The Gateway endpoint in force.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct EndpointInfo {
    /// URL (for a setup code: the candidate chosen on start).
    pub url: String,
    /// The TLS pin in force (64 hex), `wss://` only.
    pub pin: Option<String>,
}

/// What the first-use TLS probe saw.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct TlsProbe {
    /// SHA-256 of the leaf certificate (64 hex): show it, let the user compare it with the
    /// Gateway's (`openclaw gateway status`), then `trust_pin` it.
    pub fingerprint: String,
    /// Whether the chain passes system trust for this host.
    pub system_trusted: bool,
    /// Why system trust failed, when it did.
    pub system_error: Option<String>,
}

/// Counters of the node.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct NodeStats {
    /// Connection attempts so far.
    pub connect_attempts: u64,
    /// Invokes received.
    pub invokes_received: u64,
    /// Invokes answered `ok`.
    pub invokes_succeeded: u64,
    /// Invokes answered with an error.
    pub invokes_failed: u64,
    /// Malformed frames in the current session.
    pub malformed_frames: u64,
    /// Broadcast gaps in the current session.
    pub seq_gaps: u64,
}

fn parse_json(what: &str, text: &str) -> Result<serde_json::Value, NodeError> {
    serde_json::from_str(text).map_err(|e| NodeError::InvalidConfig { detail: format!("{what} is not JSON: {e}") })
}

#[uniffi::export]
impl Node {
    /// Sends the node-role request `method` with `params_json` (JSON text; `{}` for none)
    /// on the live session and returns the Gateway's payload as JSON text. For node methods
    /// without a typed call here; the Gateway refuses non-node methods (`unauthorized role:
    /// node`). `connect`, `node.invoke.result/progress` and `node.event` are refused
    /// (`InvalidConfig`): use the invoke context and `send_event`.
    pub async fn request(&self, method: String, params_json: String) -> Result<String, NodeError> {
        let params = parse_json("params", &params_json)?;
        let core = self.core.clone();
        runtime::run(async move { Ok(core.request(&method, params).await?.to_string()) }).await
    }

    /// `hello-ok.pluginSurfaceUrls` of the current session (surface → URL), updated by
    /// `refresh_plugin_surface`.
    pub fn plugin_surface_urls(&self) -> HashMap<String, String> {
        self.core.plugin_surface_urls().into_iter().collect()
    }

    /// `node.pluginSurface.refresh`: a fresh URL for `surface` (e.g. `canvas`).
    pub async fn refresh_plugin_surface(
        &self,
        surface: String,
        observed_url: Option<String>,
    ) -> Result<PluginSurface, NodeError> {
        let core = self.core.clone();
        runtime::run(async move {
            let r = core.refresh_plugin_surface(&surface, observed_url).await?;
            Ok(PluginSurface {
                surface: r.surface,
                urls: r.plugin_surface_urls.into_iter().collect(),
                expires_at_ms: r.expires_at_ms,
            })
        })
        .await
    }

    /// `node.pluginTools.update`: publishes the node's plugin tools (the whole list).
    pub async fn update_plugin_tools(&self, tools: Vec<PluginTool>) -> Result<(), NodeError> {
        let mut core_tools = Vec::with_capacity(tools.len());
        for t in tools {
            let parameters = t.parameters_json.as_deref().map(|p| parse_json("parameters_json", p)).transpose()?;
            core_tools.push(CoreTool {
                plugin_id: t.plugin_id,
                name: t.name,
                description: t.description,
                parameters,
                command: t.command,
                mcp: t.mcp.map(|m| PluginToolMcp { server: m.server, tool: m.tool }),
            });
        }
        let core = self.core.clone();
        runtime::run(async move { Ok(core.update_plugin_tools(core_tools).await.map(drop)?) }).await
    }

    /// `node.skills.update`: publishes the node's skills (the whole list, at most 64).
    pub async fn update_skills(&self, skills: Vec<Skill>) -> Result<(), NodeError> {
        let skills =
            skills.into_iter().map(|s| NodeSkill { name: s.name, description: s.description, content: s.content });
        let skills: Vec<NodeSkill> = skills.collect();
        let core = self.core.clone();
        runtime::run(async move { Ok(core.update_skills(skills).await.map(drop)?) }).await
    }

    /// The endpoint connections go to, with the pin in force.
    pub fn endpoint(&self) -> EndpointInfo {
        let e = self.core.endpoint();
        EndpointInfo { url: e.url(), pin: e.pin.map(|p| p.to_hex()) }
    }

    /// Counters.
    pub fn stats(&self) -> NodeStats {
        use std::sync::atomic::Ordering::Relaxed;
        let i = self.core.invoke_stats();
        let s = self.core.session_counters();
        NodeStats {
            connect_attempts: self.core.connect_attempts(),
            invokes_received: i.received.load(Relaxed),
            invokes_succeeded: i.succeeded.load(Relaxed),
            invokes_failed: i.failed.load(Relaxed),
            malformed_frames: s.malformed_frames,
            seq_gaps: s.seq_gaps,
        }
    }
}

/// First-use TLS probe of a `wss://` Gateway `url`: connects (TCP + TLS handshake up to the
/// certificate), captures the leaf fingerprint and whether system trust passed, and aborts.
/// Nothing else is sent (no upgrade, no credentials). The app shows the fingerprint, the
/// user verifies it out of band, then the app passes it as `tls_pin` or to `trust_pin`.
/// `proxy`: the `NodeConfig.proxy` the node will use (the probe goes through it; TLS stays
/// end to end, so the fingerprint is the Gateway's).
#[uniffi::export(default(timeout_ms = None, proxy = None))]
pub async fn probe_tls(url: String, timeout_ms: Option<u64>, proxy: Option<Secret>) -> Result<TlsProbe, NodeError> {
    let endpoint = clawnode::Endpoint::parse(&url).map_err(|e| NodeError::InvalidConfig { detail: e.to_string() })?;
    let mut cfg = clawnode::transport::TransportConfig {
        plaintext: PlaintextPolicy::platform_default().into(),
        proxy: proxy.as_ref().map(|p| Proxy::try_from(ProxyUrl(p))).transpose()?,
        ..Default::default()
    };
    if let Some(ms) = timeout_ms {
        cfg.connect_timeout = Duration::from_millis(ms.max(1));
        cfg.tls_timeout = Duration::from_millis(ms.max(1));
    }
    runtime::run(async move {
        let p = clawnode::transport::probe_tls(&endpoint, &cfg)
            .await
            .map_err(|e| NodeError::Request { code: None, detail: e.to_string() })?;
        Ok(TlsProbe {
            fingerprint: p.fingerprint.to_hex(),
            system_trusted: p.system_trusted,
            system_error: p.system_error,
        })
    })
    .await
}
