"""The Python layer against the real Gateway: a Python handler answers an operator invoke,
its error code reaches the operator (and unexpected exceptions reach `logging` with their
traceback), and cancellation reaches the coroutine."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any, Dict, List, Tuple

import pytest
from conftest import GatewayFixture, make_node, start_ready

from clawnode import CatalogParams, CommandError, Invoke, Json, NodeState, catalog


def test_handler_answers_and_errors_reach_the_operator(gateway: GatewayFixture, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="clawnode")

    async def main() -> None:
        node = make_node(gateway, "py-handlers")

        @node.command("py.echo")
        async def echo(params: Json) -> Json:
            await asyncio.sleep(0)
            return {"echo": params, "from": "python"}

        @node.command("py.fail")
        async def fail(params: Json) -> Json:
            raise CommandError("SENSOR_OFFLINE", "boom")

        @node.command("py.crash")
        async def crash(params: Json) -> Json:
            raise ValueError("unexpected")

        states: List[NodeState] = []
        async with node:
            await start_ready(gateway, node, states)
            assert [s for s in states if s.is_READY()], states

            r = await gateway.invoke(node.device_id, "py.echo", {"x": 1, "s": "é"})
            assert r["ok"], r
            assert r["result"]["payload"] == {"echo": {"x": 1, "s": "é"}, "from": "python"}

            r = await gateway.invoke(node.device_id, "py.fail", {})
            assert not r["ok"]
            err = r["error"]
            assert err["code"] == "UNAVAILABLE"
            assert err["message"] == "SENSOR_OFFLINE: SENSOR_OFFLINE: boom"
            assert err["details"]["nodeError"] == {"code": "SENSOR_OFFLINE", "message": "SENSOR_OFFLINE: boom"}

            # Any other exception is UNAVAILABLE, and the node keeps serving.
            r = await gateway.invoke(node.device_id, "py.crash", {})
            assert r["error"]["details"]["nodeError"]["code"] == "UNAVAILABLE"
            assert "ValueError: unexpected" in r["error"]["message"]
            # ... and the app's log has it, with the traceback pointing into the handler.
            crashes = [r for r in caplog.records if r.name == "clawnode" and r.exc_info]
            assert len(crashes) == 1, caplog.records
            assert crashes[0].levelno == logging.ERROR and "py.crash" in crashes[0].getMessage()
            assert crashes[0].exc_info is not None and crashes[0].exc_info[0] is ValueError
            assert "in crash" in caplog.text and "raise ValueError" in caplog.text
            # A CommandError is an answer, not a crash: the library logs it (through the
            # log sink), without traceback.
            fails = [r for r in caplog.records if "command=py.fail" in r.getMessage()]
            assert [(f.name, f.levelno, f.exc_info) for f in fails] == [
                ("clawnode.ffi.handler", logging.WARNING, None)
            ], fails
            assert "code=SENSOR_OFFLINE" in fails[0].getMessage()
            # The core's own lifecycle logs reach `logging` too.
            assert any(r.name.startswith("clawnode.node.") for r in caplog.records), caplog.records
            r = await gateway.invoke(node.device_id, "py.echo", [1])
            assert r["result"]["payload"]["echo"] == [1]
        assert node.state.is_STOPPED()

    asyncio.run(main())


def test_gateway_timeout_cancels_the_coroutine(gateway: GatewayFixture) -> None:
    """node-host receives `node.invoke.cancel`; the invoke's local deadline (the same
    timeoutMs) fires at the same moment. Either cancels the coroutine: this test checks that
    the coroutine sees `CancelledError`, that `Invoke.cancelled` is set, and that the
    operator gets the Gateway's timeout error and no late result."""

    async def main() -> None:
        node = make_node(gateway, "py-cancel")
        seen: Dict[str, Any] = {}
        cancelled = asyncio.Event()

        @node.command("py.slow")
        async def slow(params: Json, invoke: Invoke) -> Json:
            seen["remaining_ms"] = invoke.remaining_ms
            try:
                await asyncio.sleep(30)
                seen["finished"] = True
                return {"late": True}
            except asyncio.CancelledError:
                seen["token_cancelled"] = invoke.cancelled
                cancelled.set()
                raise

        async with node:
            await start_ready(gateway, node)
            started = time.monotonic()
            r = await gateway.invoke(node.device_id, "py.slow", {}, timeout_ms=1500)
            assert not r["ok"]
            assert r["error"]["code"] in ("UNAVAILABLE", "TIMEOUT"), r
            await asyncio.wait_for(cancelled.wait(), 10)
            assert time.monotonic() - started < 10
            assert seen.get("token_cancelled") is True
            assert 0 < seen["remaining_ms"] <= 1500
            assert "finished" not in seen

            # The node is still healthy afterwards.
            @node.command("py.echo")
            async def echo2(params: Json) -> Json:
                return params

            r = await gateway.invoke(node.device_id, "py.slow", {}, timeout_ms=200)
            assert not r["ok"]

    asyncio.run(main())


def test_catalog_params_are_normalized_and_typed_and_events_answer(gateway: GatewayFixture) -> None:
    """location.get (a Linux default): the core applies the catalog's defaults and clamps
    before the Python handler runs, `invoke.typed()` gives the record, bad params never reach
    the handler; `send_event` returns the Gateway's answer."""

    async def main() -> None:
        node = make_node(gateway, "py-catalog")
        seen: List[Tuple[Json, CatalogParams]] = []

        @node.command("location.get")
        async def location(params: Json, invoke: Invoke) -> Json:
            seen.append((params, invoke.typed(params)))
            return {"lat": 48.2, "lon": 16.37, "accuracyMeters": 5.0, "timestamp": "2026-11-26T00:00:00Z"}

        entry = next(e for e in catalog() if e.name == "location.get")
        assert (entry.cap, entry.dangerous, entry.foreground_ios) == ("location", False, False)
        async with node:
            await start_ready(gateway, node)
            r = await gateway.invoke(node.device_id, "location.get", {"timeoutMs": 5, "junk": 1})
            assert r["ok"], r
            assert r["result"]["payload"]["lat"] == 48.2
            params, typed = seen[-1]
            assert params == {"timeoutMs": 1000}, params
            assert isinstance(typed, CatalogParams.LOCATION_GET), typed
            assert typed.params.timeout_ms == 1000 and typed.params.desired_accuracy is None

            r = await gateway.invoke(node.device_id, "location.get", {"desiredAccuracy": "exact"})
            assert not r["ok"], r
            assert "INVALID_REQUEST" in r["error"]["message"], r
            assert "desiredAccuracy" in r["error"]["message"], r
            assert len(seen) == 1

            out = await node.send_event("node.presence.alive", {"trigger": "manual"})
            assert out.sent, out
            assert out.handled is True, out

    asyncio.run(main())
