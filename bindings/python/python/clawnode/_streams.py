"""``async for`` streams of states, notices and Gateway events.

A stream subscribes when it is created (not at its first ``__anext__``), so nothing that
happens between ``node.events()`` and the first iteration is lost. The node holds its streams
weakly: a stream the app drops (``break`` out of the loop, no reference left) unsubscribes
itself when it is collected; ``aclose()`` unsubscribes at once."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any, AsyncIterator, Generic, List, Optional, TypeVar, cast

from .clawnode.clawnode import GatewayEvent, NodeNotice, NodeState

T = TypeVar("T")

_END: Any = object()  # ends a stream


class Subscribers(Generic[T]):
    """The streams of one kind that a node feeds (weakly held)."""

    def __init__(self) -> None:
        self._streams: weakref.WeakSet[Stream[T]] = weakref.WeakSet()

    def add(self, stream: Stream[T]) -> None:
        self._streams.add(stream)

    def discard(self, stream: Stream[T]) -> None:
        self._streams.discard(stream)

    def push(self, item: T) -> None:
        for s in list(self._streams):
            s.push(item)

    def end(self) -> None:
        for s in list(self._streams):
            s.push(_END)


class Stream(AsyncIterator[T]):
    """Items in arrival order, until the node stops (or ``aclose()``)."""

    def __init__(self, subscribers: Subscribers[T], initial: List[T], ended: bool) -> None:
        self._queue: asyncio.Queue[T] = asyncio.Queue()
        self._subscribers = subscribers
        self._closed = False
        for item in initial:
            self._queue.put_nowait(item)
        if ended:
            self._queue.put_nowait(_END)
        else:
            subscribers.add(self)

    def push(self, item: T) -> None:
        self._queue.put_nowait(item)

    def __aiter__(self) -> Stream[T]:
        return self

    async def __anext__(self) -> T:
        if self._closed:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is _END:
            await self.aclose()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        """Unsubscribes; the stream ends."""
        self._closed = True
        self._subscribers.discard(self)


class StateStream(Stream[NodeState]):
    """The current state, then every change (consecutive duplicates skipped), until and
    including ``STOPPED``."""

    def __init__(self, subscribers: Subscribers[NodeState], current: NodeState) -> None:
        super().__init__(subscribers, [current], ended=current.is_STOPPED())
        self._last: Optional[NodeState] = None

    async def __anext__(self) -> NodeState:
        if self._last is not None and self._last.is_STOPPED():
            await self.aclose()
            raise StopAsyncIteration
        while True:
            state = await super().__anext__()
            if self._last is None or state != self._last:
                self._last = state
                return state


class EventStream(AsyncIterator[GatewayEvent]):
    """The ``GatewayEvent`` of every ``NodeNotice.EVENT``."""

    def __init__(self, notices: Stream[NodeNotice]) -> None:
        self._notices = notices

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> GatewayEvent:
        while True:
            notice = await self._notices.__anext__()
            if notice.is_EVENT():
                return cast(GatewayEvent, cast(Any, notice).event)

    async def aclose(self) -> None:
        """Unsubscribes; the stream ends."""
        await self._notices.aclose()
