"""Command handlers: the :class:`Invoke` a handler may take, :class:`CommandError`, and the
dispatcher that runs ``async def`` handlers on the node's loop and plain ``def`` handlers in a
worker thread."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from typing import Any, Callable, Dict, TypeVar

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
    """What a handler may look at besides its params: the command, the deadline and whether
    the invoke was cancelled."""

    def __init__(self, command: str, token: _ffi.CancelToken) -> None:
        self.command = command
        self._token = token

    @property
    def cancelled(self) -> bool:
        """Whether the Gateway cancelled the invoke or its deadline passed. Plain ``def``
        handlers (which cannot be interrupted) poll this in long loops."""
        return self._token.is_cancelled()

    @property
    def remaining_ms(self) -> int:
        """Milliseconds before the invoke's deadline."""
        return self._token.remaining_ms()

    def typed(self, params: Json) -> CatalogParams:
        """The params as a typed record (``CatalogParams.LOCATION_GET(params=...)``, …), or
        ``CatalogParams.JSON`` for commands outside the typed catalog."""
        return _ffi.typed_params(self.command, json.dumps(params))

    def __repr__(self) -> str:
        return f"Invoke(command={self.command!r}, cancelled={self.cancelled}, remaining_ms={self.remaining_ms})"


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

    async def invoke(self, command: str, params_json: str, cancel: _ffi.CancelToken) -> str:
        fn = self._handlers.get(command)
        try:
            if fn is None:
                raise CommandError("UNAVAILABLE", f"no handler for {command}")
            params = json.loads(params_json)
            if params is None:  # the operator sent no params: `params.get(...)` must work
                params = {}
            args = (params, Invoke(command, cancel)) if _wants_invoke(fn) else (params,)
            task = asyncio.ensure_future(_run(fn, args))
            watcher = asyncio.ensure_future(cancel.cancelled())  # always completes
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
            if e.code != "CANCELLED":
                log.info("%s failed: %s", command, e)
            raise _failure(e.code, e.message) from None
        except CommandFailure:
            raise
        except Exception as e:  # noqa: BLE001 - every failure becomes a command error
            log.error("%s: handler raised %s", command, type(e).__name__, exc_info=e)
            raise _failure("UNAVAILABLE", f"{type(e).__name__}: {e}") from None


def check_handler(name: str, fn: object) -> None:
    """Rejects what cannot be a handler at registration (not at the first invoke)."""
    if not callable(fn):
        raise TypeError(f"handler for {name} must be callable, got {type(fn).__name__}")


__all__ = ["CommandError", "Dispatcher", "H", "Handler", "Invoke", "Json", "check_handler", "log"]

