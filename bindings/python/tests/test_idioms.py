"""Python idioms against the real Gateway: plain `def` handlers run in a worker thread, absent
params arrive as `{}`, `async for` over states and notices, readable `repr`, failures of
app callbacks logged and survived."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List, cast

import pytest
from conftest import GatewayFixture, make_node, start_ready

from clawnode import ClawNode, Invoke, Json, NodeConfig, NodeNotice, NodeState, PauseInfo, PauseKind, RemediationKind


def test_plain_def_handlers_run_in_a_thread_and_absent_params_are_an_empty_dict(
    gateway: GatewayFixture, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        node = make_node(gateway, "py-sync")
        seen: List[Dict[str, Any]] = []
        loop_thread = threading.get_ident()

        @node.command("py.sync")
        def sync(params: Json, invoke: Invoke) -> Json:
            seen.append({"params": params, "thread": threading.get_ident(), "command": invoke.command})
            return {"pin": params.get("pin", 4), "value": 1}

        @node.command("py.sync_crash")
        def sync_crash(params: Json) -> Json:
            return {"x": 1 / int(params.get("d", 0))}

        async with node:
            await start_ready(gateway, node)
            # No `params` field in the operator's request at all.
            r = await gateway.invoke_without_params(node.device_id, "py.sync")
            assert r["ok"], r
            assert r["result"]["payload"] == {"pin": 4, "value": 1}, r
            # `params: null`.
            r = await gateway.invoke(node.device_id, "py.sync", None)
            assert r["result"]["payload"] == {"pin": 4, "value": 1}, r
            r = await gateway.invoke(node.device_id, "py.sync", {"pin": 7})
            assert r["result"]["payload"] == {"pin": 7, "value": 1}, r
            assert [s["params"] for s in seen] == [{}, {}, {"pin": 7}]
            assert all(s["thread"] != loop_thread for s in seen), "a plain def must not block the loop"
            assert {s["command"] for s in seen} == {"py.sync"}

            r = await gateway.invoke(node.device_id, "py.sync_crash", {})
            assert not r["ok"]
            assert r["error"]["details"]["nodeError"]["code"] == "UNAVAILABLE"
            assert "ZeroDivisionError" in r["error"]["message"]
            assert "in sync_crash" in caplog.text, caplog.text

    asyncio.run(main())


def test_async_for_states_and_notices_end_when_the_node_stops(gateway: GatewayFixture) -> None:
    async def main() -> None:
        node = make_node(gateway, "py-streams")
        states: List[NodeState] = []
        notices: List[NodeNotice] = []

        async def collect_states() -> None:
            async for s in node.states():
                states.append(s)

        async def collect_notices() -> None:
            async for n in node.notices():
                notices.append(n)

        state_task = asyncio.ensure_future(collect_states())
        notice_task = asyncio.ensure_future(collect_notices())
        await asyncio.sleep(0)
        async with node:
            await start_ready(gateway, node)
            ready = await node.wait_for(lambda s: s.is_READY())
        # Both streams end by themselves once the node stopped.
        await asyncio.wait_for(asyncio.gather(state_task, notice_task), 10)

        assert states[0].is_IDLE(), states
        assert states[-1].is_STOPPED(), states
        kinds = [type(s).__name__ for s in states]
        assert "NodeState.READY" in kinds, kinds
        assert kinds.index("NodeState.CONNECTING") < kinds.index("NodeState.READY"), kinds
        assert all(a != b for a, b in zip(states, states[1:])), "consecutive duplicates"
        assert any(n.is_CONNECTED() for n in notices), notices

        # repr: every field, strings quoted; str: the library's text.
        assert isinstance(ready, NodeState.READY)
        assert str(ready) == f"ready (Gateway {ready.server_version})"
        assert repr(ready) == (
            f"NodeState.READY(node_id={node.device_id!r}, server_version={ready.server_version!r}, "
            f"auth_method={ready.auth_method!r})"
        )
        connected = next(n for n in notices if n.is_CONNECTED())
        assert repr(connected).startswith("NodeNotice.CONNECTED(server_version='"), repr(connected)
        assert str(connected).startswith("connected to Gateway "), str(connected)

        # A stream opened after the stop yields STOPPED (states) or nothing (notices).
        assert [s.is_STOPPED() for s in [s async for s in node.states()]] == [True]
        assert [n async for n in node.notices()] == []

    asyncio.run(main())


def test_failing_callbacks_are_logged_and_do_not_stop_delivery(
    gateway: GatewayFixture, caplog: pytest.LogCaptureFixture
) -> None:
    async def main() -> None:
        node = make_node(gateway, "py-callbacks")
        seen: List[NodeState] = []

        @node.on_state
        def broken(state: NodeState) -> None:
            raise RuntimeError("callback bug")

        @node.on_state
        async def fine(state: NodeState) -> None:
            seen.append(state)

        async with node:
            await start_ready(gateway, node)
        await asyncio.sleep(0.05)  # the async callback of STOPPED runs on the loop
        assert any(s.is_READY() for s in seen) and seen[-1].is_STOPPED(), seen
        failures = [r for r in caplog.records if r.name == "clawnode" and r.exc_info]
        assert failures and all("on_state" in r.getMessage() for r in failures), caplog.records
        assert "callback bug" in caplog.text

    asyncio.run(main())


def test_secrets_stay_out_of_repr_and_records_are_readable() -> None:
    config = NodeConfig(gateway_url="ws://127.0.0.1:1", token="tok-SECRET", password="pw-SECRET", platform="linux")
    for text in (repr(config), str(config), f"{config}"):
        assert "SECRET" not in text, text
        assert "token='<redacted>'" in text and "gateway_url='ws://127.0.0.1:1'" in text
    pause = PauseInfo(
        # UniFFI re-parents variants at run time; mypy sees them as unrelated classes.
        kind=cast(PauseKind, PauseKind.PIN_MISMATCH(expected="aa", observed="bb", system_trusted=False)),
        code=None,
        message="m",
        remediation="r",
        remediation_kind=RemediationKind.TRUST_CERTIFICATE,
    )
    assert repr(NodeState.PAUSED(pause=pause)) == (
        "NodeState.PAUSED(pause=PauseInfo(kind=PauseKind.PIN_MISMATCH(expected='aa', observed='bb', "
        "system_trusted=False), code=None, message='m', remediation='r', "
        "remediation_kind=RemediationKind.TRUST_CERTIFICATE))"
    )
    node = ClawNode(config)
    assert repr(node) == f"ClawNode(device_id={node.device_id!r}, state=NodeState.IDLE())"
    node.close()


def test_register_rejects_what_is_not_callable() -> None:
    node = ClawNode(NodeConfig(gateway_url="ws://127.0.0.1:1", platform="linux"))
    with pytest.raises(TypeError, match="must be callable"):
        node.command("py.x")(42)  # type: ignore[type-var]
    assert node.commands == []
    node.close()

