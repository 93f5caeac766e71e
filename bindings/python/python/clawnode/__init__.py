"""ClawNode for Python: run an OpenClaw Gateway node whose commands are ``async def``s.

    node = ClawNode(NodeConfig(gateway_url="ws://127.0.0.1:18789", token="…", platform="linux"))

    @node.command("gpio.read")
    async def gpio_read(params):
        return {"pin": params["pin"], "value": 1}

    async with node:                       # start(); stop() on exit
        await node.wait_for(lambda s: s.is_READY())

Handlers receive the params (decoded JSON) and, when they take a second argument, an
:class:`Invoke` with the cancellation state. Commands of the typed catalog (:func:`catalog`:
``camera.snap``, ``location.get``, ``system.notify``, …) receive their params validated,
with defaults and clamps applied; ``invoke.typed()`` decodes them into records. Raise :class:`CommandError` with an UPPER_SNAKE
code to fail; any other exception is reported as ``UNAVAILABLE``. When the Gateway cancels
the invoke or its deadline passes, the handler's coroutine is cancelled
(``asyncio.CancelledError``).

The node is stopped and the native runtime shut down before the interpreter exits.
"""

from __future__ import annotations

import asyncio
import atexit
import inspect
import json
import threading
import weakref
from typing import Any, Awaitable, Callable, Optional

# maturin packs the generated module as `clawnode/clawnode/clawnode.py`.
from .clawnode import clawnode as _ffi
from .clawnode.clawnode import (  # noqa: F401  (re-exported)
    CatalogEntry,
    CatalogParams,
    ClientId,
    CommandFailure,
    ConnectPlan,
    DiscoveredGateway,
    EventOutcome,
    KnownGateway,
    NodeConfig,
    NodeError,
    NodeNotice,
    NodeState,
    PauseInfo,
    PauseKind,
    PlaintextPolicy,
    PlanAction,
    PresenceTrigger,
    SecureStore,
    StoreFailure,
    catalog,
    clawnode_version,
    discovered_gateway_stable_id,
    plan_connection,
    typed_params,
)

__all__ = [
    "CatalogEntry",
    "CatalogParams",
    "ClawNode",
    "ClientId",
    "CommandError",
    "ConnectPlan",
    "DiscoveredGateway",
    "EventOutcome",
    "Invoke",
    "KnownGateway",
    "NodeConfig",
    "NodeError",
    "NodeNotice",
    "NodeState",
    "PauseInfo",
    "PauseKind",
    "PlaintextPolicy",
    "PlanAction",
    "PresenceTrigger",
    "SecureStore",
    "StoreFailure",
    "catalog",
    "clawnode_version",
    "discovered_gateway_stable_id",
    "plan_connection",
    "typed_params",
]


class CommandError(Exception):
    """Fails a command with an UPPER_SNAKE ``code`` the operator sees as ``"CODE: message"``."""

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Invoke:
    """What a handler may look at besides its params."""

    def __init__(self, command: str, token: _ffi.CancelToken):
        self.command = command
        self._token = token

    @property
    def cancelled(self) -> bool:
        """Whether the Gateway cancelled the invoke or its deadline passed."""
        return self._token.is_cancelled()

    def typed(self, params: Any) -> CatalogParams:
        """The params as a typed record (``CatalogParams.LOCATION_GET(params=...)``, …), or
        ``CatalogParams.JSON`` for commands outside the typed catalog."""
        return _ffi.typed_params(self.command, json.dumps(params))

    @property
    def remaining_ms(self) -> int:
        """Milliseconds before the invoke's deadline."""
        return self._token.remaining_ms()


Handler = Callable[..., Awaitable[Any]]


class _Dispatcher(_ffi.CommandHandler):
    def __init__(self, handlers: dict):
        self._handlers = handlers

    async def invoke(self, command: str, params_json: str, cancel: _ffi.CancelToken) -> str:
        fn = self._handlers.get(command)
        try:
            if fn is None:
                raise CommandError("UNAVAILABLE", f"no handler for {command}")
            params = json.loads(params_json)
            args = (params, Invoke(command, cancel)) if _wants_invoke(fn) else (params,)
            task = asyncio.ensure_future(fn(*args))
            watcher = asyncio.ensure_future(cancel.cancelled())  # always completes
            done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if task not in done:
                task.cancel()
                try:
                    await task
                except BaseException:  # noqa: BLE001 - the coroutine's own ending
                    pass
                raise CommandError("CANCELLED", "invoke cancelled")
            return json.dumps(task.result())
        except CommandError as e:
            raise CommandFailure.Failed(e.code, e.message) from None
        except CommandFailure:
            raise
        except Exception as e:  # noqa: BLE001 - every failure becomes a command error
            raise CommandFailure.Failed("UNAVAILABLE", f"{type(e).__name__}: {e}") from None


def _wants_invoke(fn: Handler) -> bool:
    try:
        return len(inspect.signature(fn).parameters) >= 2
    except (TypeError, ValueError):
        return False


class _Listener(_ffi.NodeListener):
    """Called on a library thread: hands everything to the node's event loop."""

    def __init__(self, owner: "ClawNode"):
        self._owner = weakref.ref(owner)

    def _post(self, fn, *args):
        owner = self._owner()
        loop = owner._loop if owner else None
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed meanwhile
            pass

    def on_state(self, state):
        owner = self._owner()
        if owner is not None:
            self._post(owner._on_state, state)

    def on_notice(self, notice):
        owner = self._owner()
        if owner is not None:
            self._post(owner._on_notice, notice)


_live: "weakref.WeakSet[ClawNode]" = weakref.WeakSet()
_lock = threading.Lock()


class ClawNode:
    """A node. Register commands with :meth:`command`, then ``await start()``."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        store: Optional[SecureStore] = None,
        on_state: Optional[Callable[[NodeState], Any]] = None,
        on_notice: Optional[Callable[[NodeNotice], Any]] = None,
    ):
        self._handlers: dict = {}
        self._caps: dict = {}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._state_cbs = [on_state] if on_state else []
        self._notice_cb = on_notice
        self._changed: Optional[asyncio.Condition] = None
        self._node = _ffi.Node(config, store, _Listener(self))
        self._state = self._node.state()
        with _lock:
            _live.add(self)

    # ---- registration -------------------------------------------------------------
    def command(
        self, name: str, *, cap: Optional[str] = None, foreground_only: bool = False
    ) -> Callable[[Handler], Handler]:
        """Decorator: registers an ``async def handler(params[, invoke])`` for ``name``.

        ``foreground_only`` refuses it with ``NODE_BACKGROUND_UNAVAILABLE`` while
        :meth:`set_foreground` says the app is in the background."""

        def register(fn: Handler) -> Handler:
            if not inspect.iscoroutinefunction(fn):
                raise TypeError(f"handler for {name} must be an async def")
            self._handlers[name] = fn
            options = _ffi.CommandOptions(cap=cap, foreground_only=foreground_only)
            self._node.register_command_with(name, options, _Dispatcher(self._handlers))
            return fn

        return register

    # ---- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        """Starts connecting; handlers and state callbacks run on the current event loop."""
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Condition()
        _ffi.uniffi_set_event_loop(self._loop)  # async foreign calls hang without it
        self._node.start()

    async def stop(self) -> None:
        """Stops the node (cancels running handlers) and releases the handlers."""
        await self._node.stop()

    def close(self) -> None:
        """Blocking stop, for exit paths without a running loop."""
        self._node.stop_blocking()

    async def __aenter__(self) -> "ClawNode":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # ---- state ---------------------------------------------------------------------
    @property
    def state(self) -> NodeState:
        return self._node.state()

    @property
    def device_id(self) -> str:
        return self._node.device_id()

    def on_state(self, fn: Callable[[NodeState], Any]) -> Callable[[NodeState], Any]:
        """Decorator: ``fn(state)`` runs on the event loop for every state change."""
        self._state_cbs.append(fn)
        return fn

    async def wait_for(self, predicate: Callable[[NodeState], bool], timeout: float = 60.0) -> NodeState:
        """Waits until ``predicate(state)`` holds, e.g. ``lambda s: s.is_READY()``."""
        if self._changed is None:
            raise RuntimeError("start() the node first")

        async def wait() -> NodeState:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self._state))
                return self._state

        return await asyncio.wait_for(wait(), timeout)

    def _on_state(self, state: NodeState) -> None:
        self._state = state
        for cb in self._state_cbs:
            cb(state)
        if self._changed is not None:
            asyncio.ensure_future(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _on_notice(self, notice: NodeNotice) -> None:
        if self._notice_cb:
            self._notice_cb(notice)

    # ---- actions ------------------------------------------------------------------
    def nudge(self) -> None:
        """Retry now (network changed)."""
        self._node.nudge()

    def resume(self) -> None:
        """Lift a pause after fixing credentials."""
        self._node.resume()

    def suspend(self) -> None:
        """Disconnect until :meth:`unsuspend` (e.g. the device goes to sleep)."""
        self._node.suspend()

    def unsuspend(self) -> None:
        """End a suspension and connect again."""
        self._node.unsuspend()

    def trust_pin(self, pin: str) -> None:
        """Trust a TLS certificate fingerprint the user confirmed."""
        self._node.trust_pin(pin)

    def set_foreground(self, foreground: bool) -> None:
        """Tell the node whether the app is in the foreground."""
        self._node.set_foreground(foreground)

    def pause(self, reason: str) -> None:
        """Stop reconnecting until :meth:`resume` (state ``PAUSED``, kind ``REQUESTED``)."""
        self._node.pause(reason)

    async def send_event(self, event: str, payload: Any) -> EventOutcome:
        """Sends a ``node.event``; returns the Gateway's ``handled``/``reason`` (``sent`` is
        false when it was queued offline). Raises ``NodeError.NotConnected`` without a session
        for events that are not queued."""
        return await self._node.send_event(event, json.dumps(payload))

    async def report_alive(self, trigger: PresenceTrigger = PresenceTrigger.MANUAL) -> EventOutcome:
        """Sends ``node.presence.alive`` (throttled to one a minute: ``reason == "throttled"``)."""
        return await self._node.report_alive(trigger)


@atexit.register
def _shutdown() -> None:
    # Rust threads must not call into Python while the interpreter shuts down: stop every
    # node, then the runtime, before that.
    with _lock:
        nodes = list(_live)
    for n in nodes:
        try:
            n.close()
        except Exception:  # noqa: BLE001
            pass
    _ffi.shutdown(2000)
