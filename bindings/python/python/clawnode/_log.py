"""The core's logs in :mod:`logging`: every record of the native library reaches the logger
``clawnode.<module>`` (``clawnode::node::driver`` → ``clawnode.node.driver``,
``clawnode_ffi::handler`` → ``clawnode.ffi.handler``), so configuring ``clawnode`` covers the
package and the library alike. Secrets never reach these records (the core redacts them)."""

from __future__ import annotations

import logging
import threading
from typing import Dict, Optional

from .clawnode import clawnode as _ffi
from .clawnode.clawnode import LogLevel, LogRecord

#: ``logging`` level of the library's ``TRACE`` records.
TRACE = 5

_TO_PY: Dict[LogLevel, int] = {
    LogLevel.ERROR: logging.ERROR,
    LogLevel.WARN: logging.WARNING,
    LogLevel.INFO: logging.INFO,
    LogLevel.DEBUG: logging.DEBUG,
    LogLevel.TRACE: TRACE,
}

_lock = threading.Lock()
_installed = False

# A library configures no output of its own: without the app's logging configuration the
# records go nowhere (instead of `logging.lastResort` printing every retry to stderr).
logging.getLogger("clawnode").addHandler(logging.NullHandler())


def logger_name(target: str) -> str:
    """``clawnode::node::driver`` → ``clawnode.node.driver``; ``clawnode_ffi::x`` →
    ``clawnode.ffi.x``; anything else → ``clawnode.lib.<target>``."""
    parts = target.split("::")
    head = parts[0]
    if head == "clawnode":
        rest = parts[1:]
    elif head.startswith("clawnode_"):
        rest = [head[len("clawnode_") :], *parts[1:]]
    else:
        rest = ["lib", *parts]
    return ".".join(["clawnode", *[p for p in rest if p]])


def level_for(py_level: int) -> LogLevel:
    """The library's filter for a ``logging`` level (records below it are not even built)."""
    if py_level <= TRACE:
        return LogLevel.TRACE
    if py_level <= logging.DEBUG:
        return LogLevel.DEBUG
    if py_level <= logging.INFO:
        return LogLevel.INFO
    if py_level <= logging.WARNING:
        return LogLevel.WARN
    return LogLevel.ERROR


class _Sink(_ffi.LogSink):
    """Called on library threads; `logging` is thread-safe."""

    def log(self, record: LogRecord) -> None:
        logger = logging.getLogger(logger_name(record.target))
        level = _TO_PY.get(record.level, logging.INFO)
        if logger.isEnabledFor(level):
            logger.log(level, "%s", record.message)


def route_logs(level: Optional[int] = None) -> None:
    """Sends the library's logs to :mod:`logging`, at ``level`` and above (default: the
    effective level of the ``clawnode`` logger, so ``logging.basicConfig(level=…)`` before
    ``start()`` is enough). Called by :meth:`ClawNode.start`; call it again after changing
    the level. Fails (``NodeError.InvalidConfig``) if the process already has another
    Rust ``tracing`` subscriber."""
    global _installed
    effective = logging.getLogger("clawnode").getEffectiveLevel() if level is None else level
    with _lock:
        if not _installed:
            _ffi.set_log_sink(_Sink(), level_for(effective))
            _installed = True
        else:
            _ffi.set_log_level(level_for(effective))


def stop_logs() -> None:
    """Stops delivering the library's logs (at interpreter exit, before the runtime stops)."""
    global _installed
    with _lock:
        if _installed:
            _ffi.clear_log_sink()
            _installed = False
