"""Reach through the bindings, against the real Gateway:

- `NodeConfig.proxy`: a `wss://` Gateway through Debian's tinyproxy (HTTP CONNECT with Basic
  auth, started here on loopback). `probe_tls` through the proxy sees the Gateway's own
  certificate (TLS end to end), the node pins it, pairs and answers an invoke; tinyproxy's log
  has the CONNECT to the Gateway's port. Wrong proxy credentials pause the node (terminal, `PauseKind.PROXY`, remediation
  `FIX_PROXY`).
- `NodeConfig.headers`: Debian's nginx in front of the Gateway answers 403 unless the
  Cloudflare Access service-token headers carry the expected values (the shape of a
  Zero-Trust edge); with them the node pairs and answers an invoke (access log: 101), without
  them nginx refuses every upgrade (access log: 403).
- A reserved header or a bad proxy URL is refused when the node is built (typed errors), and
  `repr` of the config shows neither the proxy's password nor a header's value.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import secrets
import socket
import subprocess
import time
from typing import Any, Iterator

import pytest
from conftest import GatewayFixture, start_ready
from test_tls import cert_fingerprint

from clawnode import (
    ClawNode,
    HeaderProblem,
    Json,
    NodeConfig,
    NodeError,
    NodeState,
    PauseKind,
    RemediationKind,
    probe_tls,
)

TINYPROXY = "/usr/bin/tinyproxy"
NGINX = "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_listening(port: int, what: str, log: pathlib.Path) -> None:
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                text = log.read_text() if log.exists() else ""
                pytest.fail(f"{what} did not listen on {port}: {text}")
            time.sleep(0.05)


class Daemon:
    """A proxy process started by a test, on a loopback port, stopped by the fixture."""

    def __init__(self, args: list[str], port: int, log: pathlib.Path, what: str) -> None:
        self.port = port
        self.log = log
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(port, what, log)

    def text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


PROXY_USER, PROXY_PASS = "clawnode", f"proxy-pass-{secrets.token_hex(6)}"


@pytest.fixture()
def tinyproxy(tmp_path: pathlib.Path) -> Iterator[Daemon]:
    """tinyproxy in the foreground with Basic auth, logging every request."""
    if not os.path.exists(TINYPROXY):
        pytest.fail("tinyproxy is required (cargo xtask test installs it)")
    port = free_port()
    log = tmp_path / "tinyproxy.log"
    conf = tmp_path / "tinyproxy.conf"
    conf.write_text(
        f'Port {port}\nListen 127.0.0.1\nTimeout 60\nLogFile "{log}"\nLogLevel Info\nMaxClients 20\n'
        f'PidFile "{tmp_path / "tinyproxy.pid"}"\nBasicAuth {PROXY_USER} {PROXY_PASS}\n'
    )
    d = Daemon([TINYPROXY, "-d", "-c", str(conf)], port, log, "tinyproxy")
    yield d
    d.stop()


EDGE_ID, EDGE_SECRET = "client-id.access", f"edge-{secrets.token_hex(12)}"


@pytest.fixture()
def edge(gateway: GatewayFixture, tmp_path: pathlib.Path) -> Iterator[Daemon]:
    """nginx on loopback: 403 unless CF-Access-Client-Id/-Secret match, else the WebSocket
    upgrade proxied to the real Gateway."""
    if not os.path.exists(NGINX):
        pytest.fail("nginx is required (cargo xtask test installs nginx-light)")
    upstream = gateway.url.rsplit(":", 1)[1].strip("/")
    port = free_port()
    d = tmp_path
    conf = d / "nginx.conf"
    conf.write_text(
        f"daemon off;\nmaster_process off;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log info;\n"
        "events { worker_connections 64; }\n"
        f"http {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n"
        f"  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n"
        f"  server {{\n    listen 127.0.0.1:{port};\n    location / {{\n"
        f'      if ($http_cf_access_client_id != "{EDGE_ID}") {{ return 403; }}\n'
        f'      if ($http_cf_access_client_secret != "{EDGE_SECRET}") {{ return 403; }}\n'
        f"      proxy_pass http://127.0.0.1:{upstream};\n      proxy_http_version 1.1;\n"
        "      proxy_set_header Upgrade $http_upgrade;\n      proxy_set_header Connection \"upgrade\";\n"
        "      proxy_set_header Host $host;\n      proxy_read_timeout 3600s;\n    }\n  }\n}\n"
    )
    daemon = Daemon(
        [NGINX, "-c", str(conf), "-p", str(d), "-e", str(d / "error.log")], port, d / "access.log", "nginx"
    )
    yield daemon
    daemon.stop()


def config(url: str, name: str, **fields: object) -> NodeConfig:
    return NodeConfig(gateway_url=url, display_name=name, platform="linux", device_family="Linux", **fields)  # type: ignore[arg-type]


def echo_node(cfg: NodeConfig) -> ClawNode:
    node = ClawNode(cfg)

    @node.command("py.echo")
    async def echo(params: Json) -> Json:
        return params

    return node


def test_wss_through_tinyproxy_with_basic_auth(tls_gateway: GatewayFixture, tinyproxy: Daemon) -> None:
    assert tls_gateway.cert_path
    real = cert_fingerprint(tls_gateway.cert_path)
    gw_port = int(tls_gateway.url.rsplit(":", 1)[1].strip("/"))
    proxy = f"http://{PROXY_USER}:{PROXY_PASS}@127.0.0.1:{tinyproxy.port}"

    async def main() -> None:
        # First use through the proxy: the certificate is the Gateway's (TLS end to end).
        probe = await probe_tls(tls_gateway.url, 5000, proxy)
        assert probe.fingerprint == real, probe

        cfg = config(tls_gateway.url, "py-proxied", token=tls_gateway.token, tls_pin=real, proxy=proxy)
        assert PROXY_PASS not in repr(cfg) and PROXY_PASS not in str(cfg), repr(cfg)
        node = echo_node(cfg)
        async with node:
            await start_ready(tls_gateway, node)
            r = await tls_gateway.invoke(node.device_id, "py.echo", {"via": "tinyproxy"})
            assert r["ok"] and r["result"]["payload"] == {"via": "tinyproxy"}, r

        # Wrong proxy password: the proxy refuses the tunnel, the node pauses for good.
        bad = config(
            tls_gateway.url, "py-badproxy", token=tls_gateway.token, tls_pin=real,
            proxy=f"http://{PROXY_USER}:wrong@127.0.0.1:{tinyproxy.port}",
        )
        refused = echo_node(bad)
        async with refused:
            await refused.start()
            paused = await refused.wait_for(lambda s: s.is_PAUSED() or s.is_READY(), timeout=30)
            assert isinstance(paused, NodeState.PAUSED), paused
            assert isinstance(paused.pause.kind, PauseKind.PROXY), paused
            assert paused.pause.remediation_kind == RemediationKind.FIX_PROXY, paused
            assert "rejected the proxy credentials" in paused.pause.message, paused.pause.message

    asyncio.run(main())
    log = tinyproxy.text()
    # tinyproxy saw CONNECT requests to the Gateway's port, and nothing else (no GET).
    assert f"CONNECT 127.0.0.1:{gw_port}" in log, log
    assert "GET " not in log, log


def test_edge_headers_through_a_header_checking_nginx(gateway: GatewayFixture, edge: Daemon) -> None:
    url = f"ws://127.0.0.1:{edge.port}"

    async def main() -> None:
        # Without the service token the edge refuses every upgrade: no READY.
        bare = echo_node(config(url, "py-no-headers", token=gateway.token))
        async with bare:
            await bare.start()
            deadline = time.monotonic() + 15
            while '" 403 ' not in edge.text():
                assert time.monotonic() < deadline, edge.text()
                await asyncio.sleep(0.1)
            assert not bare.state.is_READY(), bare.state

        headers = {"CF-Access-Client-Id": EDGE_ID, "CF-Access-Client-Secret": EDGE_SECRET}
        cfg = config(url, "py-edge", token=gateway.token, headers=headers)
        assert EDGE_SECRET not in repr(cfg) and "CF-Access-Client-Secret" in repr(cfg), repr(cfg)
        node = echo_node(cfg)
        async with node:
            await start_ready(gateway, node)
            r = await gateway.invoke(node.device_id, "py.echo", {"via": "edge"})
            assert r["ok"] and r["result"]["payload"] == {"via": "edge"}, r

    asyncio.run(main())
    # nginx logs an upgraded request when its connection ends, which is just after stop():
    # wait for the line rather than race the log write.
    deadline = time.monotonic() + 15
    while '" 101 ' not in edge.text():
        assert time.monotonic() < deadline, edge.text()
        time.sleep(0.1)


def refusal(cfg: NodeConfig) -> Any:
    """The `NodeError` building a node raised. `Any`: UniFFI declares the variants
    (`NodeError.InvalidHeader`, …) on a second `NodeError` class mypy does not see."""
    with pytest.raises(NodeError) as refused:
        ClawNode(cfg)
    return refused.value


def test_reserved_header_and_bad_proxy_are_typed_errors() -> None:
    url = "ws://127.0.0.1:9"
    err = refusal(config(url, "x", headers={"Sec-WebSocket-Protocol": "chat"}))
    assert type(err).__name__ == "InvalidHeader", repr(err)
    assert (err.name, err.problem) == ("Sec-WebSocket-Protocol", HeaderProblem.RESERVED), err
    assert "reserved" in err.detail, err.detail
    err = refusal(config(url, "x", headers={"X-Edge": "a\r\nX-Injected: 1"}))
    assert type(err).__name__ == "InvalidHeader" and err.problem == HeaderProblem.INVALID_VALUE, repr(err)
    assert "X-Injected" not in str(err), err
    err = refusal(config(url, "x", proxy="https://user:hunter2@proxy.example:3128"))
    assert type(err).__name__ == "InvalidProxy", repr(err)
    assert "hunter2" not in str(err), err
