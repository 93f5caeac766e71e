"""Command handlers: the :class:`Invoke` a handler may take, :class:`CommandError`, and the
dispatcher that runs ``async def`` handlers on the node's loop and plain ``def`` handlers in a
worker thread."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any, AsyncIterator, Callable, Dict, Optional, TypeVar, Union

from .clawnode import clawnode as _ffi
from .clawnode.clawnode import CatalogParams, CommandFailure

log = logging.getLogger("clawnode")

#: A decoded JSON value (``dict``, ``list``, ``str``, ``int``, ``float``, ``bool`` or ``None``).
Json = Any

#: A command handler: ``async def`` or plain ``def``, taking ``(params)`` or
#: ``(params, invoke)`` and returning a JSON value.
Handler = Callable[..., Any]

H = TypeVar("H", bound=Handler)


class CommandError(Exception):
    """Fails a command with an UPPER_SNAKE ``code`` the operator sees as ``"CODE: message"``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Invoke:
    """One invoke as the handler sees it: ids, deadline, cancellation, progress out and input
    in. Take it as the handler's second argument."""

    def __init__(self, command: str, ctx: _ffi.InvokeContext) -> None:
        self.command = command
        self._ctx = ctx

    @property
    def id(self) -> str:
        """The invoke id (what the operator's ``node.invoke`` waits on)."""
        return self._ctx.invoke_id()

    @property
    def idempotency_key(self) -> Optional[str]:
        """The caller's idempotency key, when sent."""
        return self._ctx.idempotency_key()

    @property
    def session_key(self) -> Optional[str]:
        """The agent session the invoke belongs to, when sent."""
        return self._ctx.session_key()

    @property
    def cancelled(self) -> bool:
        """Whether the Gateway cancelled the invoke or its deadline passed. Plain ``def``
        handlers (which cannot be interrupted) poll this in long loops."""
        return self._ctx.is_cancelled()

    @property
    def remaining_ms(self) -> int:
        """Milliseconds before the invoke's deadline."""
        return self._ctx.remaining_ms()

    @property
    def deadline_ms(self) -> int:
        """The deadline as Unix time in milliseconds."""
        return self._ctx.deadline_ms()

    async def progress(self, data: Union[str, bytes]) -> None:
        """Streams output to the operator (``node.invoke.progress``, in call order). ``str``
        is sent as is (split into 16 KiB chunks); ``bytes`` (a child's stdout) are decoded
        as UTF-8 across calls. Raises ``InvokeError.Cancelled`` once the invoke is over."""
        if isinstance(data, (bytes, bytearray, memoryview)):
            await self._ctx.progress_bytes(bytes(data))
        else:
            await self._ctx.progress(data)

    async def progress_json(self, value: Json) -> None:
        """Streams one JSON value as one progress chunk (at most 16 KiB: ``InvokeError.TooLarge``)."""
        await self._ctx.progress_json(json.dumps(value))

    async def heartbeat(self) -> None:
        """An empty progress chunk: keeps the Gateway's idle timer alive."""
        await self._ctx.heartbeat()

    async def inputs(self) -> AsyncIterator[Json]:
        """``async for chunk in invoke.inputs()``: the operator's ``node.invoke.input``
        payloads (decoded JSON) in order, until the invoke is cancelled or finished. Read
        promptly: more than 64 unread chunks end the invoke with ``INPUT_BUFFER_OVERFLOW``."""
        while True:
            chunk = await self._ctx.next_input()
            if chunk is None:
                return
            yield json.loads(chunk.payload_json)

    def typed(self, params: Json) -> CatalogParams:
        """The params as a typed record (``CatalogParams.LOCATION_GET(params=...)``, …), or
        ``CatalogParams.JSON`` for commands outside the typed catalog."""
        return _ffi.typed_params(self.command, json.dumps(params))

    def __repr__(self) -> str:
        return f"Invoke(id={self.id!r}, command={self.command!r}, cancelled={self.cancelled}, remaining_ms={self.remaining_ms})"


def _wants_invoke(fn: Handler) -> bool:
    try:
        return len(inspect.signature(fn).parameters) >= 2
    except (TypeError, ValueError):
        return False


def _is_async(fn: Handler) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


async def _run(fn: Handler, args: tuple[Any, ...]) -> Json:
    """Awaits an ``async def`` handler; runs a plain ``def`` one in a worker thread (its
    result may still be awaitable, e.g. a lambda returning a coroutine)."""
    if _is_async(fn):
        return await fn(*args)
    result = await asyncio.to_thread(fn, *args)
    if inspect.isawaitable(result):
        return await result
    return result


def _failure(code: str, detail: str) -> Exception:
    # UniFFI attaches the variant classes after the class body, out of mypy's sight.
    failed: Callable[[str, str], Exception] = getattr(CommandFailure, "Failed")
    return failed(code, detail)


class Dispatcher(_ffi.CommandHandler):
    """Called by the library for every invoke of a registered command."""

    def __init__(self, handlers: Dict[str, Handler]) -> None:
        self._handlers = handlers

    async def invoke(self, command: str, params_json: str, ctx: _ffi.InvokeContext) -> str:
        fn = self._handlers.get(command)
        try:
            if fn is None:
                raise CommandError("UNAVAILABLE", f"no handler for {command}")
            params = json.loads(params_json)
            if params is None:  # older libraries sent `null` for absent params
                params = {}
            args = (params, Invoke(command, ctx)) if _wants_invoke(fn) else (params,)
            task = asyncio.ensure_future(_run(fn, args))
            watcher = asyncio.ensure_future(ctx.cancelled())  # always completes
            done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if task not in done:
                task.cancel()
                try:
                    await task
                except BaseException:  # noqa: BLE001 - the coroutine's own ending
                    pass
                log.info("%s: cancelled (Gateway cancel or deadline)", command)
                raise CommandError("CANCELLED", "invoke cancelled")
            return json.dumps(task.result())
        except CommandError as e:
            # An answer, not a crash: the library logs it (WARNING, `clawnode.ffi.handler`).
            raise _failure(e.code, e.message) from None
        except CommandFailure:
            raise
        except Exception as e:  # noqa: BLE001 - every failure becomes a command error
            # The library logs the failure too, but only Python has the traceback.
            log.error("%s: handler raised %s", command, type(e).__name__, exc_info=e)
            raise _failure("UNAVAILABLE", f"{type(e).__name__}: {e}") from None


def check_handler(name: str, fn: object) -> None:
    """Rejects what cannot be a handler at registration (not at the first invoke)."""
    if not callable(fn):
        raise TypeError(f"handler for {name} must be callable, got {type(fn).__name__}")


__all__ = ["CommandError", "Dispatcher", "H", "Handler", "Invoke", "Json", "check_handler", "log"]

