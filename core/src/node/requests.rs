//! Node-role requests a host makes on the live session: the typed ones of protocol.md §4.1
//! that a node publishes about itself (`node.pluginSurface.refresh`,
//! `node.pluginTools.update`, `node.skills.update`) and a generic one for node methods the
//! catalog does not name yet. Plus the counters of the current session.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::Value;

use super::{Node, NodeError};
use crate::protocol::{
    NodeSkill, PluginSurfaceRefreshParams, PluginSurfaceRefreshResult, PluginTool, PluginToolsUpdateParams,
    SkillsUpdateParams, names,
};
use crate::session::RequestError;

/// How long a node-role request waits for the Gateway's answer.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// Methods the node itself owns: a host cannot send them through [`Node::request`]
/// (`connect` once per socket; invoke results and progress through the invoke's context;
/// `node.event` through [`Node::emit_event`], which keeps the outbox order).
const RESERVED: &[&str] = &[names::CONNECT, names::NODE_INVOKE_RESULT, names::NODE_INVOKE_PROGRESS, names::NODE_EVENT];

/// Counters of the current (or last) session's reader.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionCounters {
    /// Frames that were not valid JSON frames.
    pub malformed_frames: u64,
    /// Broadcast `seq` gaps seen.
    pub seq_gaps: u64,
    /// Responses whose id matched no request.
    pub unknown_responses: u64,
}

impl Node {
    /// Sends a node-role request `method` with `params` on the live session and returns the
    /// Gateway's payload, for node methods without a typed call here. The Gateway allows a
    /// node only the methods of scope `node` (others: `INVALID_REQUEST "unauthorized role:
    /// node"`, and more than 10 in a row close the socket, protocol.md §4.1). `connect`,
    /// `node.invoke.result`, `node.invoke.progress` and `node.event` are refused locally
    /// ([`NodeError::ReservedMethod`]): the node sends them itself.
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, NodeError> {
        if RESERVED.contains(&method) {
            return Err(NodeError::ReservedMethod(method.to_string()));
        }
        Ok(self.live_session()?.request(method, params, REQUEST_TIMEOUT).await?)
    }

    /// `hello-ok.pluginSurfaceUrls` of the current session (surface → URL), updated by
    /// [`Node::refresh_plugin_surface`]. Empty before the first hello.
    pub fn plugin_surface_urls(&self) -> BTreeMap<String, String> {
        self.inner.surface_urls.lock().map(|u| u.clone()).unwrap_or_default()
    }

    /// `node.pluginSurface.refresh {surface, observedUrl?}`: a fresh URL for `surface`
    /// (e.g. `canvas`); [`Node::plugin_surface_urls`] is updated with it.
    pub async fn refresh_plugin_surface(
        &self,
        surface: &str,
        observed_url: Option<String>,
    ) -> Result<PluginSurfaceRefreshResult, NodeError> {
        let params = PluginSurfaceRefreshParams { surface: surface.to_string(), observed_url };
        let v = self.request_typed(names::NODE_PLUGIN_SURFACE_REFRESH, &params).await?;
        let r: PluginSurfaceRefreshResult = serde_json::from_value(v).unwrap_or_default();
        if let Ok(mut u) = self.inner.surface_urls.lock() {
            u.extend(r.plugin_surface_urls.clone());
        }
        Ok(r)
    }

    /// `node.pluginTools.update {tools}`: publishes the node's plugin tools (the whole list).
    pub async fn update_plugin_tools(&self, tools: Vec<PluginTool>) -> Result<Value, NodeError> {
        self.request_typed(names::NODE_PLUGIN_TOOLS_UPDATE, &PluginToolsUpdateParams { tools }).await
    }

    /// `node.skills.update {skills}`: publishes the node's skills (the whole list, ≤ 64).
    pub async fn update_skills(&self, skills: Vec<NodeSkill>) -> Result<Value, NodeError> {
        self.request_typed(names::NODE_SKILLS_UPDATE, &SkillsUpdateParams { skills }).await
    }

    async fn request_typed(&self, method: &str, params: &impl serde::Serialize) -> Result<Value, NodeError> {
        let params = serde_json::to_value(params).map_err(|_| NodeError::Request(RequestError::Closed))?;
        Ok(self.live_session()?.request(method, params, REQUEST_TIMEOUT).await?)
    }

    /// Counters of the current (or last) session; zero before the first hello.
    pub fn session_counters(&self) -> SessionCounters {
        let stats = self.inner.session_stats.lock().ok().and_then(|s| s.clone());
        stats
            .map(|s| SessionCounters {
                malformed_frames: s.malformed_frames.load(Ordering::Relaxed),
                seq_gaps: s.seq_gaps.load(Ordering::Relaxed),
                unknown_responses: s.unknown_responses.load(Ordering::Relaxed),
            })
            .unwrap_or_default()
    }
}
