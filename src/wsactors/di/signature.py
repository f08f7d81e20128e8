"""Reading handler signatures once, at registration."""

from __future__ import annotations

import functools
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..exceptions import ImproperlyConfiguredError

__all__ = ["RESERVED", "ParamSpec", "callable_name", "read_params"]

#: Names injected by the framework wherever they are asked for (docs/dependency-injection.md).
RESERVED = frozenset({"socket", "scope", "headers", "query", "state", "channels"})

#: Names Litestar users may bring over that mean nothing for a WebSocket.
_FORBIDDEN = {
    "request": "WebSocket handlers have no HTTP request; ask for `socket` instead",
    "body": "WebSocket handlers have no body; listeners receive messages as `data`",
}


@dataclass(frozen=True, slots=True)
class ParamSpec:
    """One parameter of a handler, hook or dependency."""

    name: str
    annotation: Any  # typing.Any when not annotated
    default: Any  # inspect.Parameter.empty when required
    annotated: bool

    @property
    def required(self) -> bool:
        """Whether the parameter has no default."""
        return self.default is inspect.Parameter.empty


def callable_name(fn: Callable[..., Any]) -> str:
    """``module.qualname`` of ``fn`` for error messages."""
    target = getattr(fn, "__func__", fn)
    return f"{getattr(target, '__module__', '?')}.{getattr(target, '__qualname__', repr(fn))}"


def read_params(fn: Callable[..., Any], *, skip_self: bool = False) -> list[ParamSpec]:
    """The parameters of ``fn`` with annotations resolved (PEP 563 strings included).

    Raises:
        ImproperlyConfiguredError: ``*args``/``**kwargs``, a forbidden name, or an
            annotation that cannot be resolved.
    """
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfiguredError(f"cannot read the signature of {fn!r}: {exc}") from exc
    hints = _resolve_hints(fn)
    specs = []
    for index, param in enumerate(signature.parameters.values()):
        if skip_self and index == 0 and param.name in ("self", "cls"):
            continue
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ImproperlyConfiguredError(
                f"{callable_name(fn)}: *args/**kwargs cannot be injected; name each parameter"
            )
        if param.name in _FORBIDDEN:
            raise ImproperlyConfiguredError(
                f"{callable_name(fn)}: parameter {param.name!r}: {_FORBIDDEN[param.name]}"
            )
        annotated = param.name in hints
        specs.append(ParamSpec(param.name, hints.get(param.name, Any), param.default, annotated))
    return specs


def _annotated_target(fn: Callable[..., Any]) -> Any:
    """What carries ``fn``'s annotations: the function behind a partial, the
    ``__call__`` of a callable object, ``__init__`` of a class."""
    while isinstance(fn, functools.partial):
        fn = fn.func
    if inspect.isclass(fn):
        return fn.__init__
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)) and callable(fn):
        return type(fn).__call__
    return fn


def _resolve_hints(fn: Callable[..., Any]) -> dict[str, Any]:
    """Annotations of ``fn`` (the return annotation included), resolved.

    Raises:
        ImproperlyConfiguredError: an annotation cannot be resolved, naming ``fn`` and
            the parameter. Dropping it instead would silently turn a typed ``data``
            into raw JSON, without validation.
    """
    target = _annotated_target(fn)
    try:
        return typing.get_type_hints(target)
    except Exception:
        pass
    # Resolve one annotation at a time, with get_type_hints' own rules, to name the
    # one that fails.
    raw = getattr(target, "__annotations__", None) or {}
    namespace = getattr(inspect.unwrap(target), "__globals__", {})
    hints = {}
    for name, value in raw.items():
        single = types.SimpleNamespace(__annotations__={name: value}, __globals__=namespace)
        try:
            hints.update(typing.get_type_hints(single))
        except Exception as exc:
            what = "the return annotation" if name == "return" else f"parameter {name!r}"
            raise ImproperlyConfiguredError(
                f"{callable_name(fn)}: cannot resolve the annotation {value!r} of {what} "
                f"({type(exc).__name__}: {exc}). Annotations are read when the App is "
                f"built: import the type at module level, not under `if TYPE_CHECKING:`, "
                f"and define it at module level, not inside a function"
            ) from exc
    return hints


def return_annotation(fn: Callable[..., Any]) -> Any:
    """The resolved return annotation, or ``inspect.Parameter.empty`` if none.

    Raises:
        ImproperlyConfiguredError: an annotation of ``fn`` cannot be resolved.
    """
    return _resolve_hints(fn).get("return", inspect.Parameter.empty)
