"""Readable ``repr`` for the generated records and enum variants.

UniFFI's variants are dataclasses without fields, so their ``repr`` drops every value
(``NodeState.READY()``), and its records keep ``object.__repr__``. This gives both
``NodeState.READY(node_id='…', server_version='2026.9.6', auth_method='token')``, and keeps
secrets of :class:`NodeConfig` out of ``repr``/``str`` (and so out of logs)."""

from __future__ import annotations

import enum
import inspect
from types import ModuleType
from typing import Any, Dict, List, Tuple

#: Fields never shown, whatever record they are in (a proxy URL may hold a password).
SECRET_FIELDS = frozenset({"token", "password", "setup_code", "bootstrap_token", "proxy"})
#: Maps whose keys are shown and whose values are not (upgrade headers carry service tokens).
SECRET_VALUE_FIELDS = frozenset({"headers"})

_fields_cache: Dict[type, Tuple[str, ...]] = {}


def _fields(cls: type) -> Tuple[str, ...]:
    cached = _fields_cache.get(cls)
    if cached is None:
        try:
            cached = tuple(inspect.signature(cls).parameters)
        except (TypeError, ValueError):
            cached = ()
        _fields_cache[cls] = cached
    return cached


def _show(name: str, value: Any) -> str:
    if name in SECRET_FIELDS and value is not None:
        return f"{name}='<redacted>'"
    if name in SECRET_VALUE_FIELDS and isinstance(value, dict):
        shown = {k: "<redacted>" for k in value}
        return f"{name}={shown!r}"
    if isinstance(value, enum.Enum):  # `ClientId.NODE_HOST`, not `<ClientId.NODE_HOST: 1>`
        return f"{name}={type(value).__name__}.{value.name}"
    return f"{name}={value!r}"


def readable_repr(self: Any) -> str:
    """``Qualified.Name(field=value, …)`` with ``repr`` of each value, secrets redacted."""
    cls = type(self)
    name = cls.__qualname__
    # A variant is re-parented by UniFFI as `type("NodeState.READY", (READY, NodeState), {})`.
    shown: List[str] = [_show(f, getattr(self, f, None)) for f in _fields(cls)]
    return f"{name}({', '.join(shown)})"


def _rust_display(cls: type) -> bool:
    """Whether ``str`` calls the library's ``Display`` (UniFFI's ``uniffi::export(Display)``)."""
    code = getattr(cls.__str__, "__code__", None)
    return code is not None and "_UniffiLib" in code.co_names


def _own_str(cls: type) -> bool:
    return any("__str__" in vars(c) for c in cls.__mro__ if c is not object)


def _targets(module: ModuleType) -> List[type]:
    out: List[type] = []
    for name, obj in vars(module).items():
        if name.startswith("_") or not isinstance(obj, type):
            continue
        if issubclass(obj, (BaseException, enum.Enum)) or obj.__module__ == "builtins":
            continue  # `Secret = str` (the library's secret strings) is an alias, not a record
        if "__str__" in vars(obj):  # a record
            out.append(obj)
        for inner in vars(obj).values():  # an enum with fields: one nested class per variant
            if isinstance(inner, type) and _own_str(inner) and not issubclass(inner, BaseException):
                out.append(inner)
    return out


def install(module: ModuleType) -> None:
    """Gives every generated record and variant of ``module`` a readable ``repr`` (strings
    quoted, secrets redacted). ``str`` stays the library's own text where it exports one
    (``NodeState``/``NodeNotice``: ``ready (Gateway 2026.9.6)``); elsewhere it is the
    ``repr``."""
    for cls in _targets(module):
        setattr(cls, "__repr__", readable_repr)
        if not _rust_display(cls):
            setattr(cls, "__str__", readable_repr)
