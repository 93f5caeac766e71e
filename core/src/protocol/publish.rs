//! What a node publishes about itself (protocol.md §4.1): plugin surface URLs, plugin
//! tools and skills. Params are closed; results are tolerant.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `node.pluginSurface.refresh` params.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginSurfaceRefreshParams {
    /// The surface (e.g. `canvas`).
    pub surface: String,
    /// The URL the node currently uses, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_url: Option<String>,
}

/// `node.pluginSurface.refresh` result: `{surface, pluginSurfaceUrls, expiresAtMs}`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PluginSurfaceRefreshResult {
    /// The surface.
    #[serde(default)]
    pub surface: String,
    /// Surface → URL.
    #[serde(default)]
    pub plugin_surface_urls: BTreeMap<String, String>,
    /// When the URLs expire.
    #[serde(default)]
    pub expires_at_ms: Option<u64>,
}

/// The MCP target of a [`PluginTool`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginToolMcp {
    /// MCP server.
    pub server: String,
    /// Tool on that server.
    pub tool: String,
}

/// One tool of `node.pluginTools.update`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PluginTool {
    /// Plugin id.
    pub plugin_id: String,
    /// Tool name (`^[A-Za-z][A-Za-z0-9_-]{0,63}$`, checked by the Gateway).
    pub name: String,
    /// Description.
    pub description: String,
    /// JSON Schema of the parameters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Value>,
    /// Node command that runs the tool.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// MCP target.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mcp: Option<PluginToolMcp>,
}

/// `node.pluginTools.update` params.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginToolsUpdateParams {
    /// The complete tool list (replaces the previous one).
    pub tools: Vec<PluginTool>,
}

/// One skill of `node.skills.update`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSkill {
    /// Name (`^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$`, checked by the Gateway).
    pub name: String,
    /// Description (1..1024).
    pub description: String,
    /// Content (1..65536).
    pub content: String,
}

/// `node.skills.update` params.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SkillsUpdateParams {
    /// The complete skill list (≤ 64; replaces the previous one).
    pub skills: Vec<NodeSkill>,
}

/// `hello-ok.pluginSurfaceUrls` (or a refresh result's) as surface → URL; entries that
/// are not strings are skipped.
pub fn surface_urls(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn params_are_closed_shapes() {
        let p = PluginSurfaceRefreshParams { surface: "canvas".into(), observed_url: None };
        assert_eq!(serde_json::to_value(&p).unwrap(), json!({"surface": "canvas"}));
        let t = PluginTool {
            plugin_id: "p".into(),
            name: "t".into(),
            description: "d".into(),
            parameters: None,
            command: Some("acme.run".into()),
            mcp: Some(PluginToolMcp { server: "s".into(), tool: "x".into() }),
        };
        assert_eq!(
            serde_json::to_value(PluginToolsUpdateParams { tools: vec![t] }).unwrap(),
            json!({"tools": [{"pluginId": "p", "name": "t", "description": "d", "command": "acme.run",
                "mcp": {"server": "s", "tool": "x"}}]})
        );
        let s = NodeSkill { name: "n".into(), description: "d".into(), content: "c".into() };
        assert_eq!(
            serde_json::to_value(SkillsUpdateParams { skills: vec![s] }).unwrap(),
            json!({"skills": [{"name": "n", "description": "d", "content": "c"}]})
        );
    }

    #[test]
    fn results_and_urls_are_tolerant() {
        let r: PluginSurfaceRefreshResult = serde_json::from_value(json!({"surface": "canvas",
            "pluginSurfaceUrls": {"canvas": "http://127.0.0.1:1/c"}, "expiresAtMs": 5, "x": 1}))
        .unwrap();
        assert_eq!(r.plugin_surface_urls.get("canvas").map(String::as_str), Some("http://127.0.0.1:1/c"));
        let m = surface_urls(Some(&json!({"canvas": "u", "bad": 1})));
        assert_eq!(m.len(), 1);
        assert!(surface_urls(None).is_empty());
    }
}
