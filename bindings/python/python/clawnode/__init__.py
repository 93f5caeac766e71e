"""ClawNode for Python: run an OpenClaw Gateway node whose commands are Python functions.

    node = ClawNode(NodeConfig(gateway_url="ws://127.0.0.1:18789", token="…", platform="linux"))

    @node.command("gpio.read")
    async def gpio_read(params):           # or a plain `def`: it runs in a worker thread
        return {"pin": params.get("pin", 4), "value": 1}

    async with node:                       # start(); stop() on exit
        async for state in node.states():  # IDLE, CONNECTING, …, READY
            print(state)

Handlers receive the params (decoded JSON; ``{}`` when the operator sent none) and, when they
take a second argument, an :class:`Invoke`: ids, deadline, cancellation, ``await
invoke.progress(…)`` out and ``async for chunk in invoke.inputs()`` in. Commands
of the typed catalog (:func:`catalog`: ``camera.snap``, ``location.get``, ``system.notify``,
…) receive their params validated, with defaults and clamps applied; ``invoke.typed()``
decodes them into records. Raise :class:`CommandError` with an UPPER_SNAKE code to fail; any
other exception is reported as ``UNAVAILABLE`` and logged (logger ``clawnode``, with its
traceback; the native library's own logs go to ``clawnode.*`` loggers too). When the Gateway cancels the invoke or its deadline passes, an ``async def``
handler's coroutine is cancelled (``asyncio.CancelledError``).

``async for`` over ``node.states()``, ``node.notices()`` (pending work, pending actions,
…) and ``node.events()`` (Gateway events with their payloads). :func:`probe_tls` and
``node.trust_pin`` handle first-use TLS trust. ``NodeConfig(proxy="http://user:pw@proxy:3128")``
(or ``socks5h://…``) reaches the Gateway through a proxy, ``NodeConfig(headers={…})`` adds
headers to the WebSocket upgrade (a Zero-Trust edge's service token); a bad proxy URL or a
reserved header raises ``NodeError.InvalidProxy`` / ``NodeError.InvalidHeader``. The node is stopped and the native runtime
shut down before the interpreter exits.
"""

from __future__ import annotations

from . import _readable
from ._invoke import CommandError, Handler, Invoke, Json
from ._log import route_logs
from ._node import ClawNode, probe_tls
from .clawnode import clawnode as _ffi
from .clawnode.clawnode import (
    CatalogEntry,
    CatalogParams,
    ChatEvent,
    ChatState,
    ClientId,
    CommandFailure,
    ConnectPlan,
    DiscoveredGateway,
    EndpointInfo,
    EventOutcome,
    GatewayEvent,
    HeaderProblem,
    InvokeError,
    KnownGateway,
    LogLevel,
    McpTarget,
    NodeConfig,
    NodeError,
    NodeNotice,
    NodeState,
    NodeStats,
    PauseInfo,
    PauseKind,
    PendingWorkItem,
    PlaintextPolicy,
    PlanAction,
    PluginSurface,
    PluginTool,
    PresenceTrigger,
    RemediationKind,
    SecureStore,
    Skill,
    StoreFailure,
    TlsProbe,
    catalog,
    clawnode_version,
    discovered_gateway_stable_id,
    plan_connection,
    typed_params,
)

_readable.install(_ffi)

__all__ = [
    "CatalogEntry",
    "CatalogParams",
    "ChatEvent",
    "ChatState",
    "ClawNode",
    "ClientId",
    "CommandError",
    "CommandFailure",
    "ConnectPlan",
    "DiscoveredGateway",
    "EndpointInfo",
    "EventOutcome",
    "GatewayEvent",
    "Handler",
    "HeaderProblem",
    "Invoke",
    "InvokeError",
    "Json",
    "KnownGateway",
    "LogLevel",
    "McpTarget",
    "NodeConfig",
    "NodeError",
    "NodeNotice",
    "NodeState",
    "NodeStats",
    "PauseInfo",
    "PauseKind",
    "PendingWorkItem",
    "PlaintextPolicy",
    "PlanAction",
    "PluginSurface",
    "PluginTool",
    "PresenceTrigger",
    "RemediationKind",
    "SecureStore",
    "Skill",
    "StoreFailure",
    "TlsProbe",
    "catalog",
    "clawnode_version",
    "discovered_gateway_stable_id",
    "plan_connection",
    "probe_tls",
    "route_logs",
    "typed_params",
]
