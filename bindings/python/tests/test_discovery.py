"""Discovery through the bindings: a resolved service (as zeroconf/NsdManager/NWBrowser
report it) planned by the core. No Gateway needed: the plan is pure."""

from typing import Dict

from clawnode import DiscoveredGateway, KnownGateway, PlaintextPolicy, PlanAction, discovered_gateway_stable_id, plan_connection

FP = "ab" * 32


def found(txt: Dict[str, str]) -> DiscoveredGateway:
    return DiscoveredGateway(
        instance="pi\\032(OpenClaw)",
        domain="local.",
        host="pi.local.",
        addresses=["fe80::1%eth0", "192.168.1.20"],
        port=18789,
        txt=txt,
    )


def test_resolved_address_routes_and_the_txt_pin_is_a_hint() -> None:
    gw = found({"gatewayTls": "1", "gatewayTlsSha256": FP, "lanHost": "evil.example", "tailnetDns": "evil.ts.net"})
    assert discovered_gateway_stable_id(gw) == "_openclaw-gw._tcp.|local.|pi (OpenClaw)"
    plan = plan_connection(gw, KnownGateway(pin=None, has_credentials=False), None)
    assert plan.url == "wss://192.168.1.20:18789/"
    assert plan.pin is None
    assert plan.txt_fingerprint == FP
    assert plan.action == PlanAction.ASK_USER(probe_tls=True)
    trusted = plan_connection(gw, KnownGateway(pin="cd" * 32, has_credentials=True), None)
    assert isinstance(trusted.action, PlanAction.CONNECT)
    assert trusted.pin == "cd" * 32


def test_plaintext_only_with_the_private_network_policy() -> None:
    gw = found({})
    refused = plan_connection(gw, KnownGateway(pin=None, has_credentials=False), None)
    assert isinstance(refused.action, PlanAction.REFUSE) and "TLS required" in refused.action.reason
    assert refused.url is None
    lan = plan_connection(gw, KnownGateway(pin=None, has_credentials=False), PlaintextPolicy.PRIVATE_NETWORK)
    assert lan.url == "ws://192.168.1.20:18789/"
    assert lan.action == PlanAction.ASK_USER(probe_tls=False)
    assert lan.gateway_id == "ws://192.168.1.20:18789"
