"""Progress out and input in, through the invoke context. The real Gateway (2026.9.6) streams
`node.invoke.progress` only to its internal plugin runtimes and sends `node.invoke.input`
only from them, never for a WebSocket operator's `node.invoke`, so these run against the
testkit's fake Gateway (`fake-fixture`), which checks the frames on the wire."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List

from conftest import FakeFixture

from clawnode import ClawNode, ClientId, Invoke, InvokeError, Json, NodeConfig


def fake_node(fake: FakeFixture) -> ClawNode:
    return ClawNode(
        NodeConfig(gateway_url=fake.url, token="fake", platform="linux", client_id=ClientId.NODE_HOST)
    )


async def accept(fake: FakeFixture, node: ClawNode) -> None:
    await node.start()
    r = await fake.call("accept", nodeId=node.device_id)
    assert r["ok"], r
    await node.wait_for(lambda s: s.is_READY(), timeout=20)


def test_progress_stream_reaches_the_gateway_in_order(fake: FakeFixture) -> None:
    """`progress(str)`, `progress(bytes)` with a character cut between two calls,
    `progress_json`, `heartbeat`: `node.invoke.progress` frames with `seq` 0, 1, 2, … in call
    order, the cut `€` whole, then the result. The context carries the invoke's id, deadline
    and idempotency key."""

    async def main() -> None:
        node = fake_node(fake)
        seen: Dict[str, Any] = {}

        @node.command("py.stream")
        async def stream(params: Json, invoke: Invoke) -> Json:
            seen.update(id=invoke.id, key=invoke.idempotency_key, remaining=invoke.remaining_ms)
            await invoke.progress("line 1\n")
            euro = "€".encode()
            await invoke.progress(b"price: " + euro[:1])
            await invoke.progress(euro[1:] + b"5\n")
            await invoke.progress_json({"step": 3, "of": params["steps"]})
            await invoke.heartbeat()
            return {"done": True}

        async with node:
            await accept(fake, node)
            await fake.call("invoke", invokeId="inv-1", command="py.stream", params={"steps": 3}, timeoutMs=8000)
            got = await fake.call("collect", invokeId="inv-1", timeoutMs=15000)
            assert got["ok"], got
            progress: List[Dict[str, Any]] = got["result"]["progress"]
            assert [p["seq"] for p in progress] == list(range(len(progress))), progress
            chunks = [p["chunk"] for p in progress]
            assert chunks[:3] == ["line 1\n", "price: ", "€5\n"], chunks
            assert json.loads(chunks[3]) == {"step": 3, "of": 3} and chunks[4] == "", chunks
            assert len(chunks) == 5, chunks
            result = got["result"]["result"]
            assert result["ok"] is True and json.loads(result["payloadJSON"]) == {"done": True}, result
            assert seen["id"] == "inv-1" and seen["key"] == "k-inv-1", seen
            assert 0 < seen["remaining"] <= 8000, seen

    asyncio.run(main())


def test_input_chunks_arrive_in_order_and_progress_after_the_end_is_refused(fake: FakeFixture) -> None:
    """`async for chunk in invoke.inputs()` yields the decoded `node.invoke.input` payloads in
    `seq` order; an invoke whose deadline passes while its handler waits for input answers
    and is cancelled, and `progress` on it raises `InvokeError.Cancelled`."""

    async def main() -> None:
        node = fake_node(fake)
        received: List[Json] = []
        invokes: List[Invoke] = []

        @node.command("py.read")
        async def read(params: Json, invoke: Invoke) -> Json:
            invokes.append(invoke)
            async for chunk in invoke.inputs():
                received.append(chunk)
                if chunk.get("last"):
                    return {"n": len(received)}
            return None

        async with node:
            await accept(fake, node)
            await fake.call("invoke", invokeId="inv-2", command="py.read", params={}, timeoutMs=8000)
            for seq in range(5):
                payload: Dict[str, Any] = {"n": seq, "text": f"chunk {seq} ✓"}
                if seq == 4:
                    payload["last"] = True
                r = await fake.call("input", invokeId="inv-2", seq=seq, payload=payload)
                assert r["ok"], r
            got = await fake.call("collect", invokeId="inv-2", timeoutMs=15000)
            assert got["ok"], got
            assert json.loads(got["result"]["result"]["payloadJSON"]) == {"n": 5}, got
            assert [c["n"] for c in received] == [0, 1, 2, 3, 4], received
            assert received[1]["text"] == "chunk 1 ✓"

            # No input and a short deadline: answered, cancelled, progress refused.
            received.clear()
            await fake.call("invoke", invokeId="inv-3", command="py.read", params={}, timeoutMs=600)
            got = await fake.call("collect", invokeId="inv-3", timeoutMs=15000)
            assert got["ok"], got
            assert got["result"]["result"]["ok"] is False, got
            assert received == [], received
            late = invokes[-1]
            assert late.id == "inv-3" and late.cancelled and late.remaining_ms == 0, late
            try:
                await late.progress("too late")
                raise AssertionError("progress after the end must fail")
            except InvokeError as e:
                assert type(e).__name__ == "Cancelled", e

    asyncio.run(main())


def test_unread_input_overflows_with_a_typed_error(fake: FakeFixture) -> None:
    """A handler that does not read its input: past 64 unread chunks the invoke is answered
    `INPUT_BUFFER_OVERFLOW` (no chunk dropped silently) and the handler is cancelled."""

    async def main() -> None:
        node = fake_node(fake)
        cancelled = asyncio.Event()

        @node.command("py.deaf")
        async def deaf(params: Json, invoke: Invoke) -> Json:
            try:
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                cancelled.set()
                raise
            return None

        async with node:
            await accept(fake, node)
            await fake.call("invoke", invokeId="inv-4", command="py.deaf", params={}, timeoutMs=20000)
            for seq in range(70):
                await fake.call("input", invokeId="inv-4", seq=seq, payload={"n": seq})
            got = await fake.call("collect", invokeId="inv-4", timeoutMs=15000)
            assert got["ok"], got
            result = got["result"]["result"]
            assert result["ok"] is False and result["error"]["code"] == "INPUT_BUFFER_OVERFLOW", result
            await asyncio.wait_for(cancelled.wait(), 5)

    asyncio.run(main())
