"""TLS trust against the real Gateway (`wss://`, self-signed certificate): a node pinned to
another certificate pauses with the expected and observed fingerprints and sends nothing;
the app trusts the observed one (`trust_pin`) and the node becomes READY."""

from __future__ import annotations

import asyncio
import hashlib
import ssl

from conftest import GatewayFixture, make_node, start_ready

from clawnode import Json, NodeState, PauseKind


def cert_fingerprint(path: str) -> str:
    """SHA-256 of the certificate's DER, lowercase hex (what the node pins)."""
    with open(path, encoding="ascii") as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


def test_pin_mismatch_then_trust_then_ready(tls_gateway: GatewayFixture) -> None:
    assert tls_gateway.url.startswith("wss://") and tls_gateway.cert_path
    real = cert_fingerprint(tls_gateway.cert_path)
    wrong = hashlib.sha256(b"a certificate nobody presents").hexdigest()

    async def main() -> None:
        node = make_node(tls_gateway, "py-pin", tls_pin=wrong)

        @node.command("py.echo")
        async def echo(params: Json) -> Json:
            return params

        async with node:
            await node.start()
            paused = await node.wait_for(lambda s: s.is_PAUSED())
            assert isinstance(paused, NodeState.PAUSED)
            kind = paused.pause.kind
            assert isinstance(kind, PauseKind.PIN_MISMATCH), paused
            assert (kind.expected, kind.observed, kind.system_trusted) == (wrong, real, False), paused
            # Paused for good: no retry until the app decides.
            await asyncio.sleep(1.5)
            assert node.state.is_PAUSED(), node.state

            node.trust_pin(kind.observed)
            await start_ready(tls_gateway, node)
            r = await tls_gateway.invoke(node.device_id, "py.echo", {"over": "wss"})
            assert r["ok"] and r["result"]["payload"] == {"over": "wss"}, r

    asyncio.run(main())
