"""The mobile surfaces against the real Gateway: a Gateway event with its payload (a chat
message in a subscribed session), work queued while the app is in the background and run or
delivered after `set_foreground(True)`, and a setup code whose first URL is dead."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import socket
from typing import Any, Dict, List

from conftest import GatewayFixture, make_node, start_ready

from clawnode import (
    ChatState,
    ClawNode,
    ClientId,
    GatewayEvent,
    Invoke,
    Json,
    NodeConfig,
    NodeNotice,
    NodeState,
    PlaintextPolicy,
)


def test_chat_message_in_a_subscribed_session_reaches_the_node_with_its_payload(gateway: GatewayFixture) -> None:
    session = f"agent:main:py-chat-{secrets.token_hex(4)}"
    text = "hello from the operator ✓"

    async def main() -> None:
        node = make_node(gateway, "py-chat")
        async with node:
            await start_ready(gateway, node)
            events = node.events()
            created = await gateway.call("request", method="sessions.create", params={"key": session})
            assert created["ok"], created
            out = await node.send_event("chat.subscribe", {"sessionKey": session})
            assert out.sent, out
            injected = await gateway.call("request", method="chat.inject", params={"sessionKey": session, "message": text})
            assert injected["ok"], injected
            message_id = injected["result"]["messageId"]

            event = await asyncio.wait_for(events.__anext__(), 20)
            assert isinstance(event, GatewayEvent.CHAT), event
            chat = event.chat
            assert chat.session_key == session, chat
            assert chat.run_id == f"inject-{message_id}", chat
            assert (chat.state, chat.seq, chat.error_message) == (ChatState.FINAL, 0, None), chat
            assert chat.message_json is not None
            message = json.loads(chat.message_json)
            assert message["role"] == "assistant", message
            assert text in json.dumps(message["content"], ensure_ascii=False), message
            notice_text = str(NodeNotice.EVENT(event=event))
            assert notice_text.startswith(f"Gateway event chat Final in {session}"), notice_text
            await events.aclose()

    asyncio.run(main())


def ios_node(gw: GatewayFixture, name: str) -> ClawNode:
    return ClawNode(
        NodeConfig(
            gateway_url=gw.url,
            token=gw.token,
            display_name=name,
            platform="ios",
            device_family="iPhone",
            client_id=ClientId.OPENCLAW_IOS,
        )
    )


def test_work_queued_in_the_background_arrives_after_set_foreground(gateway: GatewayFixture) -> None:
    """iOS: a foreground-only `camera.*` command is refused in the background with
    NODE_BACKGROUND_UNAVAILABLE, so the Gateway queues it (QUEUED_UNTIL_FOREGROUND); the
    operator also queues a `status.request`. Back in the foreground the node runs the queued
    action once (`PENDING_ACTION_RAN`) and hands the drained work item to the app
    (`PENDING_WORK`). (The catalog's own `camera.snap` is not queued by the Gateway: its
    camera plugin answers INVALID_REQUEST before the queue rule.)"""

    async def main() -> None:
        node = ios_node(gateway, "py-pending")
        runs: List[Dict[str, Any]] = []
        notices: List[NodeNotice] = []

        @node.command("camera.py", foreground_only=True)
        async def snap(params: Json, invoke: Invoke) -> Json:
            runs.append(params)
            return {"frames": 1}

        @node.on_notice
        def keep(n: NodeNotice) -> None:
            notices.append(n)

        async with node:
            await start_ready(gateway, node)
            node.set_foreground(False)
            r = await gateway.invoke(node.device_id, "camera.py", {"quality": 0.5})
            assert not r["ok"], r
            details = r["error"]["details"]
            assert details["code"] == "QUEUED_UNTIL_FOREGROUND", r
            assert details["nodeError"]["code"] == "NODE_BACKGROUND_UNAVAILABLE", r
            assert runs == [], "refused in the background: the handler did not run"
            queued = await gateway.call(
                "request", method="node.pending.enqueue", params={"nodeId": node.device_id, "type": "status.request"}
            )
            assert queued["ok"], queued

            node.set_foreground(True)
            ran = await wait_notice(notices, lambda n: n.is_PENDING_ACTION_RAN())
            work = await wait_notice(notices, lambda n: n.is_PENDING_WORK())
            assert isinstance(ran, NodeNotice.PENDING_ACTION_RAN) and isinstance(work, NodeNotice.PENDING_WORK)
            assert (ran.id, ran.command, ran.error) == (details["queuedActionId"], "camera.py", None), ran
            assert runs == [{"quality": 0.5}], runs
            assert work.item.kind == "status.request", work
            await asyncio.sleep(0.5)
            assert len([n for n in notices if n.is_PENDING_ACTION_RAN()]) == 1, notices

    asyncio.run(main())


async def wait_notice(notices: List[NodeNotice], pred: Any, timeout: float = 20) -> NodeNotice:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        found = [n for n in notices if pred(n)]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no such notice in {notices!r}")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_setup_code_with_a_dead_first_url_connects_through_the_second(gateway: GatewayFixture) -> None:
    async def main() -> None:
        issued = await gateway.call(
            "request", method="device.pair.setupCode", params={"bootstrapProfile": "node", "publicUrl": gateway.url}
        )
        assert issued["ok"], issued
        code = issued["result"]["setupCode"]
        body = json.loads(base64.urlsafe_b64decode(code + "=" * (-len(code) % 4)))
        dead = f"ws://127.0.0.1:{closed_port()}"
        body["url"] = dead
        body["urls"] = [dead, gateway.url]
        two_urls = base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")

        node = ClawNode(
            NodeConfig(
                setup_code=two_urls,
                display_name="py-setup",
                platform="linux",
                plaintext_policy=PlaintextPolicy.LOOPBACK_ONLY,
            )
        )

        @node.command("py.echo")
        async def echo(params: Json) -> Json:
            return params

        async with node:
            # A bootstrap-profile setup code: the Gateway approves device and command
            # surface by itself.
            ready = await node.wait_for(lambda s: s.is_READY())
            assert isinstance(ready, NodeState.READY) and ready.auth_method == "bootstrap-token", ready
            assert node.endpoint.url.rstrip("/") == gateway.url, node.endpoint
            r = await gateway.invoke(node.device_id, "py.echo", {"via": "second url"})
            assert r["ok"] and r["result"]["payload"] == {"via": "second url"}, r

    asyncio.run(main())
