"""TLS trust against the real Gateway (`wss://`, self-signed certificate): a node pinned to
another certificate pauses with the expected and observed fingerprints and sends nothing;
the app trusts the observed one (`trust_pin`) and the node becomes READY."""

from __future__ import annotations

import asyncio
import hashlib
import pathlib
import ssl

from conftest import GatewayFixture, make_node, start_ready

from clawnode import Json, NodeState, PauseKind, RemediationKind, probe_tls


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


def test_probe_then_untrusted_then_trust_is_remembered(tls_gateway: GatewayFixture, tmp_path: pathlib.Path) -> None:
    """First use: `probe_tls` shows the fingerprint (not system-trusted); a node without a pin
    pauses TLS_UNTRUSTED with the same fingerprint and sends nothing; `trust_pin` resumes it
    to READY and stores the pin, so the next node on the same store connects at once."""
    assert tls_gateway.cert_path
    real = cert_fingerprint(tls_gateway.cert_path)
    state_dir = str(tmp_path / "state")

    async def main() -> None:
        probe = await probe_tls(tls_gateway.url, 5000)
        assert (probe.fingerprint, probe.system_trusted) == (real, False), probe
        assert probe.system_error, probe

        node = make_node(tls_gateway, "py-tofu", state_dir=state_dir)
        async with node:
            await node.start()
            paused = await node.wait_for(lambda s: s.is_PAUSED())
            assert isinstance(paused, NodeState.PAUSED)
            kind = paused.pause.kind
            assert isinstance(kind, PauseKind.TLS_UNTRUSTED) and kind.observed == probe.fingerprint, paused
            assert paused.pause.remediation_kind == RemediationKind.TRUST_CERTIFICATE, paused
            assert "--" not in paused.pause.remediation, paused.pause.remediation  # no CLI advice
            node.trust_pin(probe.fingerprint)
            await start_ready(tls_gateway, node)
            assert node.endpoint.pin == real, node.endpoint

        again = make_node(tls_gateway, "py-tofu", state_dir=state_dir)
        async with again:
            await again.start()
            ready = await again.wait_for(lambda s: s.is_READY() or s.is_PAUSED())
            assert ready.is_READY(), ready

    asyncio.run(main())
