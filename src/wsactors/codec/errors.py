"""What a rejected JSON value is told, and the hook signature the JSON hooks share.

:func:`json_type` names a parsed value's JSON type (``"array"``, ``"object"``, ...)
for the hooks' reasons; :func:`describe` turns a cattrs error into one short
reason such as ``"y: expected int, got str"``, the path first: cattrs' "field @
$.path" messages (``cattrs.transform_error``) turned around, for the first error
only. :class:`FieldError` carries an error another library found (pydantic,
msgspec) with its path, so that a model inside a record is named from the top.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cattrs
from cattrs.errors import ForbiddenExtraKeysError, IterableValidationError

__all__ = ["FieldError", "Hook", "describe", "json_type"]

#: A cattrs structure hook: ``(value, type) -> structured value``.
Hook = Callable[[Any, Any], Any]


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type: ``"array"``, ``"object"``, ..."""
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


class FieldError(ValueError):
    """A value refused by a model's own validation (pydantic, msgspec), located.

    Args:
        text: What is wrong (``"required field missing"``, the library's message).
        path: Where, below the value the hook was given, as cattrs writes paths:
            ``".user.name"``, ``"[2].x"``, or ``""`` for the value itself.
    """

    def __init__(self, text: str, path: str = "") -> None:
        super().__init__(f"{path.removeprefix('.')}: {text}" if path else text)
        self.text = text
        self.path = path


def describe(error: Exception) -> str:
    """A short reason such as ``"y: expected int, got str"`` for a cattrs error."""
    if isinstance(error, cattrs.BaseValidationError | FieldError | ForbiddenExtraKeysError):
        text, path = _first_error(error, "")
        path = path.removeprefix(".")
        return f"{path}: {text}" if path else text
    return str(error) or type(error).__name__


def _first_error(error: BaseException, path: str) -> tuple[str, str]:
    """The reason and path of the first message ``cattrs.transform_error`` would
    write for ``error`` (fields with notes first, in order), without the others."""
    if isinstance(error, IterableValidationError):
        items, rest = error.group_exceptions()
        if items:
            inner, item = items[0]
            return _first_error(inner, f"{path}[{item.index!r}]")
        return _first_error(rest[0], path) if rest else (str(error), path)
    if isinstance(error, cattrs.ClassValidationError):
        fields, rest = error.group_exceptions()
        if fields:
            inner, field = fields[0]
            return _first_error(inner, f"{path}.{field.name}")
        return _first_error(rest[0], path) if rest else (str(error), path)
    if isinstance(error, ForbiddenExtraKeysError):
        # forbid_unknown_fields: name the first unknown key as a field of its object.
        return "unknown field", f"{path}.{sorted(error.extra_fields)[0]}"
    if isinstance(error, FieldError):
        return error.text, path + error.path
    if isinstance(error, KeyError):
        return "required field missing", path
    if isinstance(error, TypeError | ValueError) and str(error):
        return str(error), path
    return f"invalid value ({type(error).__name__})", path
