"""Fixtures: a real OpenClaw Gateway with an operator, through the testkit's `gateway-fixture`
binary (JSON lines on stdin/stdout; see tests/src/bin/gateway-fixture.rs)."""

import concurrent.futures
import itertools
import json
import os
import pathlib
import subprocess
import threading

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]


def fixture_binary() -> str:
    path = os.environ.get("CLAWNODE_GATEWAY_FIXTURE") or str(ROOT / "target" / "debug" / "gateway-fixture")
    if not os.path.exists(path):
        pytest.fail(f"{path} missing: cargo build -p clawnode-testkit --bin gateway-fixture")
    return path


class GatewayFixture:
    """A running Gateway (`url`, `token`) and an operator you send requests to."""

    def __init__(self, allow, explicit_pairing=False):
        args = [fixture_binary(), "--allow", ",".join(allow)]
        if explicit_pairing:
            args.append("--explicit-pairing")
        self._proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        first = self._proc.stdout.readline()
        if not first:
            raise RuntimeError("gateway-fixture exited before the Gateway was ready")
        hello = json.loads(first)
        self.url, self.token = hello["url"], hello["token"]
        self._ids = itertools.count(1)
        self._pending = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self._proc.stdout:
            msg = json.loads(line)
            with self._lock:
                fut = self._pending.pop(msg.get("id"), None)
            if fut is not None:
                fut.set_result(msg)

    def request(self, op, **fields) -> concurrent.futures.Future:
        fut = concurrent.futures.Future()
        with self._lock:
            rid = next(self._ids)
            self._pending[rid] = fut
        self._proc.stdin.write(json.dumps({"id": rid, "op": op, **fields}) + "\n")
        self._proc.stdin.flush()
        return fut

    async def call(self, op, **fields) -> dict:
        import asyncio

        return await asyncio.wrap_future(self.request(op, **fields))

    async def invoke(self, node_id, command, params=None, timeout_ms=10_000) -> dict:
        return await self.call("invoke", nodeId=node_id, command=command, params=params, timeoutMs=timeout_ms)

    def close(self):
        try:
            self._proc.stdin.close()
            self._proc.wait(timeout=20)
        except Exception:  # noqa: BLE001
            self._proc.kill()


@pytest.fixture(scope="module")
def gateway():
    gw = GatewayFixture(["py.echo", "py.fail", "py.crash", "py.slow", "location.get"])
    yield gw
    gw.close()
