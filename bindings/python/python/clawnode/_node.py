"""The :class:`ClawNode` object: registration, lifecycle, states and notices on asyncio."""

from __future__ import annotations

import asyncio
import atexit
import inspect
import json
import threading
import weakref
from typing import Any, Callable, Dict, List, Optional, TypeVar, cast

from . import _log
from ._invoke import Dispatcher, Handler, H, Json, check_handler, log
from ._streams import EventStream, StateStream, Stream, Subscribers
from .clawnode import clawnode as _ffi
from .clawnode.clawnode import (
    EndpointInfo,
    EventOutcome,
    NodeConfig,
    NodeNotice,
    NodeState,
    NodeStats,
    PluginSurface,
    PluginTool,
    PresenceTrigger,
    SecureStore,
    Skill,
    TlsProbe,
)

StateCallback = Callable[[NodeState], Any]
NoticeCallback = Callable[[NodeNotice], Any]
C = TypeVar("C", bound=Callable[..., Any])


class _Listener(_ffi.NodeListener):
    """Called on a library thread: hands everything to the node's event loop."""

    def __init__(self, owner: ClawNode) -> None:
        self._owner = weakref.ref(owner)

    def _post(self, fn: Callable[..., None], arg: Any) -> None:
        owner = self._owner()
        loop = owner._loop if owner is not None else None
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(fn, arg)
        except RuntimeError:  # loop closed meanwhile
            pass

    def on_state(self, state: NodeState) -> None:
        owner = self._owner()
        if owner is not None:
            self._post(owner._on_state, state)

    def on_notice(self, notice: NodeNotice) -> None:
        owner = self._owner()
        if owner is not None:
            self._post(owner._on_notice, notice)


_live: weakref.WeakSet[ClawNode] = weakref.WeakSet()
_lock = threading.Lock()


def _call(cb: Callable[[Any], Any], value: Any, what: str) -> None:
    """Runs an app callback on the loop; a failing one is logged (with its traceback), never
    fatal; an ``async def`` one is scheduled."""
    try:
        out = cb(value)
        if inspect.isawaitable(out):
            fut = asyncio.ensure_future(out)
            fut.add_done_callback(lambda f: _log_failure(f, what))
    except Exception:  # noqa: BLE001 - an app callback must not stop delivery
        log.exception("%s callback %r failed", what, cb)


def _log_failure(fut: asyncio.Future[Any], what: str) -> None:
    if not fut.cancelled() and fut.exception() is not None:
        log.error("%s callback failed", what, exc_info=fut.exception())


def bind_loop(loop: asyncio.AbstractEventLoop) -> None:
    """UniFFI resumes every async call, and runs every async handler, on one module-wide
    loop: the running one from here on (async foreign calls hang without it)."""
    _ffi.uniffi_set_event_loop(cast(asyncio.BaseEventLoop, loop))


async def probe_tls(url: str, timeout_ms: Optional[int] = None, proxy: Optional[str] = None) -> TlsProbe:
    """First-use trust: connects to ``wss://`` ``url`` without trusting anything and returns
    the certificate's fingerprint and whether system trust accepts it (nothing is sent).
    Show the fingerprint to the user; :meth:`ClawNode.trust_pin` (or ``tls_pin``) if they
    confirm it. ``proxy``: the ``NodeConfig.proxy`` the node will use (TLS stays end to end
    through it, so the fingerprint is the Gateway's)."""
    bind_loop(asyncio.get_running_loop())
    return await _ffi.probe_tls(url, timeout_ms, proxy)


class ClawNode:
    """A node. Register commands with :meth:`command`, then ``await start()`` (or
    ``async with node:``)."""

    def __init__(
        self,
        config: NodeConfig,
        *,
        store: Optional[SecureStore] = None,
        on_state: Optional[StateCallback] = None,
        on_notice: Optional[NoticeCallback] = None,
    ) -> None:
        self._handlers: dict[str, Handler] = {}
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._state_cbs: List[StateCallback] = [on_state] if on_state else []
        self._notice_cbs: List[NoticeCallback] = [on_notice] if on_notice else []
        self._state_subs: Subscribers[NodeState] = Subscribers()
        self._notice_subs: Subscribers[NodeNotice] = Subscribers()
        self._node = _ffi.Node(config, store, _Listener(self))
        self._state: NodeState = self._node.state()
        with _lock:
            _live.add(self)

    def __repr__(self) -> str:
        return f"ClawNode(device_id={self.device_id!r}, state={self._state!r})"

    # ---- registration -------------------------------------------------------------
    def command(self, name: str, *, cap: Optional[str] = None, foreground_only: bool = False) -> Callable[[H], H]:
        """Decorator: registers ``handler(params[, invoke])`` for ``name``.

        An ``async def`` handler runs on the node's event loop and is cancelled
        (``asyncio.CancelledError``) when the invoke is; a plain ``def`` handler runs in a worker
        thread (poll ``invoke.cancelled`` in long loops: a thread cannot be interrupted, its
        late result is discarded). Absent params arrive as ``{}``. ``foreground_only`` refuses
        the command with ``NODE_BACKGROUND_UNAVAILABLE`` while :meth:`set_foreground` says the
        app is in the background."""

        def register(fn: H) -> H:
            check_handler(name, fn)
            self._handlers[name] = fn
            options = _ffi.CommandOptions(cap=cap, foreground_only=foreground_only)
            self._node.register_command_with(name, options, Dispatcher(self._handlers))
            return fn

        return register

    @property
    def commands(self) -> List[str]:
        """The commands registered so far (what the next connect declares)."""
        return list(self._node.commands())

    # ---- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        """Starts connecting; handlers and callbacks run on the current event loop. The
        library's logs go to :mod:`logging` from here on (see :func:`route_logs`)."""
        _log.route_logs()
        self._loop = asyncio.get_running_loop()
        bind_loop(self._loop)
        self._node.start()

    async def stop(self) -> None:
        """Stops the node (cancels running handlers) and releases the handlers. State and
        notice streams end after ``STOPPED``."""
        await self._node.stop()

    def close(self) -> None:
        """Blocking stop, for exit paths without a running loop."""
        self._node.stop_blocking()

    async def __aenter__(self) -> ClawNode:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ---- state ---------------------------------------------------------------------
    @property
    def state(self) -> NodeState:
        """The current state."""
        return self._node.state()

    @property
    def device_id(self) -> str:
        """This node's device id (= node id)."""
        return self._node.device_id()

    def on_state(self, fn: C) -> C:
        """Decorator: ``fn(state)`` (or ``async def``) runs on the event loop for every state
        change."""
        self._state_cbs.append(fn)
        return fn

    def on_notice(self, fn: C) -> C:
        """Decorator: ``fn(notice)`` (or ``async def``) runs on the event loop for every
        notice."""
        self._notice_cbs.append(fn)
        return fn

    def states(self) -> StateStream:
        """``async for state in node.states()``: the current state, then every change, until
        (and including) ``STOPPED``. Subscribed from this call on."""
        return StateStream(self._state_subs, self._state)

    def notices(self) -> Stream[NodeNotice]:
        """``async for notice in node.notices()``: every notice from this call on, until the
        node stops."""
        return Stream(self._notice_subs, [], ended=self._state.is_STOPPED())

    def events(self) -> EventStream:
        """``async for event in node.events()``: the Gateway events that reach the node
        (``GatewayEvent.CHAT`` of a session subscribed with ``send_event("chat.subscribe",
        {"sessionKey": …})``, ``VOICE_WAKE_CHANGED``, ``OTHER`` with its JSON payload) from
        this call on, until the node stops. They also arrive as ``NodeNotice.EVENT``."""
        return EventStream(self.notices())

    async def wait_for(self, predicate: Callable[[NodeState], bool], timeout: float = 60.0) -> NodeState:
        """Waits until ``predicate(state)`` holds, e.g. ``lambda s: s.is_READY()``. Raises
        ``TimeoutError`` after ``timeout`` seconds, ``RuntimeError`` when the node stops
        first."""

        async def wait() -> NodeState:
            stream = self.states()
            try:
                async for state in stream:
                    if predicate(state):
                        return state
            finally:
                await stream.aclose()
            raise RuntimeError(f"the node stopped before the awaited state (last: {self._state!r})")

        return await asyncio.wait_for(wait(), timeout)

    def _on_state(self, state: NodeState) -> None:
        self._state = state
        self._state_subs.push(state)
        for cb in list(self._state_cbs):
            _call(cb, state, "on_state")
        if state.is_STOPPED():
            self._state_subs.end()
            self._notice_subs.end()

    def _on_notice(self, notice: NodeNotice) -> None:
        log.debug("notice: %r", notice)
        self._notice_subs.push(notice)
        for cb in list(self._notice_cbs):
            _call(cb, notice, "on_notice")

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
        """Trust a TLS certificate fingerprint the user confirmed (after a
        ``PauseKind.PIN_MISMATCH`` / ``TLS_UNTRUSTED`` pause or a :func:`probe_tls`), store
        it for the endpoint's origin and retry."""
        self._node.trust_pin(pin)

    def set_foreground(self, foreground: bool) -> None:
        """Tell the node whether the app is in the foreground. Coming back reconnects at
        once and runs the work the Gateway queued meanwhile (``NodeNotice.PENDING_ACTION_RAN``,
        ``NodeNotice.PENDING_WORK``)."""
        self._node.set_foreground(foreground)

    def pause(self, reason: str) -> None:
        """Stop reconnecting until :meth:`resume` (state ``PAUSED``, kind ``REQUESTED``)."""
        self._node.pause(reason)

    async def send_event(self, event: str, payload: Json) -> EventOutcome:
        """Sends a ``node.event``; returns the Gateway's ``handled``/``reason`` (``sent`` is
        false when it was queued offline). Raises ``NodeError.NotConnected`` without a session
        for events that are not queued."""
        return await self._node.send_event(event, json.dumps(payload))

    async def request(self, method: str, params: Json = None) -> Json:
        """Calls a Gateway method as this node (``node.canvas.capability.refresh``, …) and
        returns its decoded payload. ``params=None`` sends ``{}``. The methods the node's
        protocol owns (``connect``, ``node.invoke.result``, ``node.event``, …) are refused."""
        out = await self._node.request(method, json.dumps({} if params is None else params))
        return json.loads(out)

    @property
    def plugin_surface_urls(self) -> Dict[str, str]:
        """``hello-ok.pluginSurfaceUrls`` of the current session (surface → URL)."""
        return dict(self._node.plugin_surface_urls())

    async def refresh_plugin_surface(self, surface: str, observed_url: Optional[str] = None) -> PluginSurface:
        """``node.pluginSurface.refresh``: a fresh URL set for ``surface`` (e.g. ``canvas``)."""
        return await self._node.refresh_plugin_surface(surface, observed_url)

    async def update_plugin_tools(self, tools: List[PluginTool]) -> None:
        """``node.pluginTools.update``: publishes the tools this node offers to agents."""
        await self._node.update_plugin_tools(tools)

    async def update_skills(self, skills: List[Skill]) -> None:
        """``node.skills.update``: publishes the skills this node offers."""
        await self._node.update_skills(skills)

    @property
    def endpoint(self) -> EndpointInfo:
        """The endpoint in use (for a setup code: the URL that answered) and its pin."""
        return self._node.endpoint()

    @property
    def stats(self) -> NodeStats:
        """Counters: connect attempts, invokes received/succeeded/failed, …"""
        return self._node.stats()

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
    _log.stop_logs()
    _ffi.shutdown(2000)
