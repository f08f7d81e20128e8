"""Reading handler signatures once, at registration."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..exceptions import ImproperlyConfiguredError

__all__ = ["RESERVED", "ParamSpec", "callable_name", "read_params"]

#: Names injected by the framework wherever they are asked for (API.md, "Handlers").
RESERVED = frozenset({"socket", "scope", "headers", "query", "state"})

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
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:
        raise ImproperlyConfiguredError(
            f"{callable_name(fn)}: cannot resolve annotations: {exc}"
        ) from exc
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


def return_annotation(fn: Callable[..., Any]) -> Any:
    """The resolved return annotation, or ``inspect.Parameter.empty`` if none."""
    try:
        hints = typing.get_type_hints(fn)
    except Exception:
        return inspect.Parameter.empty
    return hints.get("return", inspect.Parameter.empty)
