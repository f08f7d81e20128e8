"""What a rejected JSON value is told, and the hook signature the JSON hooks share.

:func:`json_type` names a parsed value's JSON type (``"array"``, ``"object"``, ...)
for the hooks' reasons; :func:`describe` turns a cattrs error into one short
reason such as ``"y: expected int, got str"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cattrs

__all__ = ["Hook", "describe", "json_type"]

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


def describe(error: Exception) -> str:
    """A short reason such as ``"y: expected int, got str"`` for a cattrs error."""
    if isinstance(error, cattrs.BaseValidationError):
        messages = cattrs.transform_error(error, format_exception=_format_leaf)
        first = messages[0] if messages else str(error)
        text, _, path = first.rpartition(" @ ")
        path = path.removeprefix("$").removeprefix(".")
        return f"{path}: {text}" if path else text
    return str(error) or type(error).__name__


def _format_leaf(error: BaseException, _type: Any) -> str:
    if isinstance(error, KeyError):
        return "required field missing"
    if isinstance(error, TypeError | ValueError) and str(error):
        return str(error)
    return f"invalid value ({type(error).__name__})"
