"""Path templates and the route table.

Templates carry typed parameters: ``/chat/{room:str}``, ``/items/{id:int}``;
types are ``str`` (one segment, the default), ``int``, ``float``, ``uuid`` and
``path`` (the rest of the path, slashes included). Static paths are looked up in
a dict; templated ones are tried in registration order.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..exceptions import ImproperlyConfiguredError

__all__ = ["PathTemplate", "RouteTable", "join_paths", "normalize_path"]

_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_]+))?}")
_UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

#: type name -> (regex for the segment, converter, Python type)
_TYPES: dict[str, tuple[str, Callable[[str], Any], type]] = {
    "str": (r"[^/]+", str, str),
    "int": (r"-?[0-9]+", int, int),
    "float": (r"-?[0-9]+(?:\.[0-9]+)?", float, float),
    "uuid": (_UUID, uuid.UUID, uuid.UUID),
    "path": (r".*", str, str),
}

_R = TypeVar("_R")


def normalize_path(path: str) -> str:
    """One leading slash, no trailing slash (except the root), no empty segments."""
    return "/" + "/".join(part for part in path.split("/") if part)


def join_paths(*parts: str) -> str:
    """Join path prefixes: ``join_paths("/api/", "/chat")`` is ``"/api/chat"``."""
    return normalize_path("/".join(parts))


@dataclass(frozen=True, slots=True)
class PathTemplate:
    """A compiled path template.

    Attributes:
        path: The normalized template.
        regex: ``None`` for a static path.
        params: Parameter name -> converter.
        param_types: Parameter name -> Python type (for injection by name).
        key: The template with parameter names erased; equal keys are duplicates.
    """

    path: str
    regex: re.Pattern[str] | None
    params: dict[str, Callable[[str], Any]]
    param_types: dict[str, type]
    key: str

    @classmethod
    def compile(cls, path: str) -> PathTemplate:
        """Compile ``path``; raises ImproperlyConfiguredError for an unknown type or a
        repeated parameter name."""
        path = normalize_path(path)
        params: dict[str, Callable[[str], Any]] = {}
        param_types: dict[str, type] = {}
        pattern = ["^"]
        key = []
        position = 0
        for found in _PARAM.finditer(path):
            name, type_name = found.group(1), found.group(2) or "str"
            if type_name not in _TYPES:
                raise ImproperlyConfiguredError(
                    f"path {path!r}: unknown parameter type {type_name!r} "
                    f"(known: {', '.join(_TYPES)})"
                )
            if name in params:
                raise ImproperlyConfiguredError(f"path {path!r}: parameter {name!r} repeated")
            regex, convert, py_type = _TYPES[type_name]
            literal = path[position : found.start()]
            pattern.append(re.escape(literal))
            pattern.append(f"(?P<{name}>{regex})")
            key.append(f"{literal}{{{type_name}}}")
            params[name] = convert
            param_types[name] = py_type
            position = found.end()
        if not params:
            return cls(path, None, {}, {}, path)
        pattern.append(re.escape(path[position:]) + "$")
        key.append(path[position:])
        return cls(path, re.compile("".join(pattern)), params, param_types, "".join(key))

    def match(self, path: str) -> dict[str, Any] | None:
        """Parameters converted to their types, or ``None`` if ``path`` does not match."""
        if self.regex is None:
            return {} if path == self.path else None
        found = self.regex.match(path)
        if found is None:
            return None
        try:
            return {name: convert(found.group(name)) for name, convert in self.params.items()}
        except ValueError:
            return None


@dataclass(slots=True)
class _Entry(Generic[_R]):
    template: PathTemplate
    route: _R


class RouteTable(Generic[_R]):
    """Maps request paths to routes."""

    def __init__(self) -> None:
        self._static: dict[str, _Entry[_R]] = {}
        self._dynamic: list[_Entry[_R]] = []
        self._keys: dict[str, str] = {}

    def add(self, template: PathTemplate, route: _R) -> None:
        """Register ``route``; a second route for the same template is an error."""
        if template.key in self._keys:
            raise ImproperlyConfiguredError(
                f"duplicate route: {template.path!r} is already registered "
                f"(as {self._keys[template.key]!r})"
            )
        self._keys[template.key] = template.path
        entry = _Entry(template, route)
        if template.regex is None:
            self._static[template.path] = entry
        else:
            self._dynamic.append(entry)

    def match(self, path: str) -> tuple[_R, dict[str, Any]] | None:
        """The route for ``path`` and its converted parameters, or ``None``."""
        path = normalize_path(path)
        entry = self._static.get(path)
        if entry is not None:
            return entry.route, {}
        for entry in self._dynamic:
            params = entry.template.match(path)
            if params is not None:
                return entry.route, params
        return None

    def __iter__(self) -> Any:
        yield from (e.route for e in self._static.values())
        yield from (e.route for e in self._dynamic)
