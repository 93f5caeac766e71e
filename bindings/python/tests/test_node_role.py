"""Node-role requests against the real Gateway: plugin tools published by the node show in
the operator's `node.describe`, skills are stored (the generic `request` returns the
Gateway's payload), a plugin surface the Gateway does not host is a typed error, and the
methods the node's protocol owns are refused locally."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from conftest import GatewayFixture, make_node, start_ready

from clawnode import Json, NodeError, PluginTool, Skill


def test_plugin_tools_skills_surface_and_generic_requests(gateway: GatewayFixture) -> None:
    async def main() -> None:
        node = make_node(gateway, "py-role")

        @node.command("py.echo")
        async def echo(params: Json) -> Json:
            return params

        async with node:
            await start_ready(gateway, node)
            assert node.plugin_surface_urls == {}, node.plugin_surface_urls

            tool = PluginTool(
                plugin_id="py",
                name="py_echo",
                description="Echoes its input",
                parameters_json='{"type":"object"}',
                command="py.echo",
                mcp=None,
            )
            await node.update_plugin_tools([tool])
            d = await gateway.call("request", method="node.describe", params={"nodeId": node.device_id})
            assert d["ok"], d
            tools: List[Dict[str, Any]] = d["result"]["nodePluginTools"]
            assert tools == [
                {
                    "pluginId": "py",
                    "name": "py_echo",
                    "description": "Echoes its input",
                    "parameters": {"type": "object"},
                    "command": "py.echo",
                }
            ], tools

            await node.update_skills([Skill(name="py-skill", description="Says hi", content="# Hi\nSay hi.")])
            skill = {"name": "py-skill-2", "description": "Says bye", "content": "# Bye"}
            stored = await node.request("node.skills.update", {"skills": [skill]})
            assert stored["nodeId"] == node.device_id, stored
            assert [s["name"] for s in stored["skills"]] == ["py-skill-2"], stored

            drained = await node.request("node.pending.drain", {"maxItems": 5})
            assert drained["nodeId"] == node.device_id and isinstance(drained["items"], list), drained

            with pytest.raises(NodeError) as refused:
                await node.refresh_plugin_surface("canvas")
            assert "canvas plugin surface unavailable" in str(refused.value), refused.value

            for owned in ("connect", "node.event", "node.invoke.result"):
                with pytest.raises(NodeError):
                    await node.request(owned, {})

    asyncio.run(main())
