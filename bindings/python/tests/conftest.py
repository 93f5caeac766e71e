"""Fixtures: a real OpenClaw Gateway with an operator, through the testkit's `gateway-fixture`
binary (JSON lines on stdin/stdout; see tests/src/bin/gateway-fixture.rs), and helpers to
bring a node to READY."""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import os
import pathlib
import secrets
import subprocess
import threading
from typing import Any, Dict, Iterator, List, Optional

import pytest

from clawnode import ClawNode, ClientId, NodeConfig, NodeState

ROOT = pathlib.Path(__file__).resolve().parents[3]

#: Every command the tests invoke (the Gateway refuses commands it does not allow).
ALLOWED = [
    "py.echo",
    "py.fail",
    "py.crash",
    "py.slow",
    "py.sync",
    "py.sync_crash",
    "location.get",
    "gpio.read",
    "camera.py",
]


def fixture_binary(name: str = "gateway-fixture") -> str:
    """A testkit binary: `$CLAWNODE_GATEWAY_FIXTURE` (its directory for the others), else
    `target/debug/`."""
    given = os.environ.get("CLAWNODE_GATEWAY_FIXTURE")
    base = pathlib.Path(given).parent if given else ROOT / "target" / "debug"
    path = str(base / name)
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: cargo build -p clawnode-testkit --bin {name}")
    return path


class JsonLinesFixture:
    """A testkit fixture process: its first line is a JSON hello, then one JSON request per
    line in, one answer per line out (matched by `id`)."""

    def __init__(self, args: List[str]) -> None:
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self._proc.stdout is not None and self._proc.stdin is not None
        self._stdin = self._proc.stdin
        self._stdout = self._proc.stdout
        first = self._stdout.readline()
        if not first:
            raise RuntimeError(f"{args[0]} exited before it was ready")
        self.hello: Dict[str, Any] = json.loads(first)
        self.url: str = self.hello["url"]
        self._ids = itertools.count(1)
        self._pending: Dict[int, concurrent.futures.Future[Dict[str, Any]]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self._stdout:
            msg = json.loads(line)
            with self._lock:
                fut = self._pending.pop(msg.get("id"), None)
            if fut is not None:
                fut.set_result(msg)

    def request(self, op: str, **fields: Any) -> concurrent.futures.Future[Dict[str, Any]]:
        fut: concurrent.futures.Future[Dict[str, Any]] = concurrent.futures.Future()
        with self._lock:
            rid = next(self._ids)
            self._pending[rid] = fut
            self._stdin.write(json.dumps({"id": rid, "op": op, **fields}) + "\n")
            self._stdin.flush()
        return fut

    async def call(self, op: str, **fields: Any) -> Dict[str, Any]:
        return await asyncio.wrap_future(self.request(op, **fields))

    def close(self) -> None:
        try:
            self._stdin.close()
            self._proc.wait(timeout=20)
        except Exception:  # noqa: BLE001
            self._proc.kill()


class GatewayFixture(JsonLinesFixture):
    """A running Gateway (`url`, `token`) and an operator you send requests to."""

    def __init__(self, allow: List[str], explicit_pairing: bool = False, tls: bool = False) -> None:
        args = [fixture_binary(), "--allow", ",".join(allow)]
        if explicit_pairing:
            args.append("--explicit-pairing")
        if tls:
            args.append("--tls")
        super().__init__(args)
        self.token: str = self.hello["token"]
        #: The Gateway's self-signed certificate (PEM), with `tls`.
        self.cert_path: Optional[str] = self.hello.get("certPath")

    async def invoke(self, node_id: str, command: str, params: Any = None, timeout_ms: int = 10_000) -> Dict[str, Any]:
        """`node.invoke` as the operator; `{"ok": …, "result"|"error": …}`."""
        return await self.call("invoke", nodeId=node_id, command=command, params=params, timeoutMs=timeout_ms)

    async def invoke_without_params(self, node_id: str, command: str) -> Dict[str, Any]:
        """`node.invoke` whose request has no `params` field at all."""
        params = {
            "nodeId": node_id,
            "command": command,
            "timeoutMs": 10_000,
            "idempotencyKey": f"py-{secrets.token_hex(8)}",
        }
        return await self.call("request", method="node.invoke", params=params)


class FakeFixture(JsonLinesFixture):
    """The testkit's fake Gateway (`fake-fixture`): plays invokes, input chunks and collects
    progress, for what the real Gateway does not do on cue."""

    def __init__(self) -> None:
        super().__init__([fixture_binary("fake-fixture")])


@pytest.fixture(scope="session")
def gateway() -> Iterator[GatewayFixture]:
    gw = GatewayFixture(ALLOWED)
    yield gw
    gw.close()


@pytest.fixture(scope="session")
def tls_gateway() -> Iterator[GatewayFixture]:
    """A `wss://` Gateway with a self-signed certificate."""
    gw = GatewayFixture(["py.echo"], tls=True)
    yield gw
    gw.close()


@pytest.fixture()
def fake() -> Iterator[FakeFixture]:
    fx = FakeFixture()
    yield fx
    fx.close()


def make_node(
    gw: GatewayFixture, name: str, state_dir: Optional[str] = None, tls_pin: Optional[str] = None
) -> ClawNode:
    return ClawNode(
        NodeConfig(
            gateway_url=gw.url,
            token=gw.token,
            display_name=name,
            platform="linux",
            device_family="Linux",
            client_id=ClientId.NODE_HOST,
            state_dir=state_dir,
            tls_pin=tls_pin,
        )
    )


async def start_ready(gw: GatewayFixture, node: ClawNode, states: Optional[List[NodeState]] = None) -> None:
    """Starts `node` and brings it to READY (the operator approves its command surface)."""
    if states is not None:
        node.on_state(states.append)
    await node.start()
    # Loopback device pairing is silent; the command surface needs the operator's approval.
    await node.wait_for(lambda s: s.is_AWAITING_COMMAND_APPROVAL() or s.is_READY())
    if not node.state.is_READY():
        approved = await gw.call("approve_node")
        assert approved["ok"], approved
    await node.wait_for(lambda s: s.is_READY())
