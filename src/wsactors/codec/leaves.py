"""Strict structure hooks for JSON leaves: primitives, enums and common stdlib types.

- strict primitives: ``"5"`` is not an ``int``, ``true`` is not a number;
- enums by value, of the value's own JSON type (``true`` is not the member of value 1);
- ``uuid.UUID``, ``decimal.Decimal``, ``datetime.time`` and ``pathlib.Path`` as
  strings, ``datetime``/``date`` through cattrs' preconfigured ISO 8601 hooks after a
  type check, ``bytes`` as standard base64 (preconf's base85 is not what clients
  expect).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import enum
import pathlib
import uuid
from collections.abc import Callable
from typing import Any

import cattrs

from .errors import Hook, json_type

__all__ = ["enum_hook", "is_enum", "register_leaves"]


def _strict(expected: type[Any], accepted: tuple[type[Any], ...]) -> Hook:
    """A structure hook that refuses values of the wrong JSON type.

    cattrs' default hooks convert (``int("5")``); the API promises validation.
    ``bool`` is excluded from numbers explicitly because it subclasses ``int``.
    cattrs dispatches an ``IntEnum`` or ``str`` enum here too (by subclass, before
    any factory): those go to :func:`enum_hook`.
    """
    name = expected.__name__

    def hook(value: Any, tp: Any) -> Any:
        if tp is not expected and is_enum(tp) and type(value) in accepted:
            return enum_hook(tp)(value, tp)
        if type(value) in accepted:
            return expected(value) if type(value) is not expected else value
        raise TypeError(f"expected {name}, got {type(value).__name__}")

    return hook


def _from_string(parse: Callable[[str], Any], what: str) -> Hook:
    """A structure hook for a type written as a JSON string (``"a UUID string"``).

    The client's value is not repeated in the reason: it may be long.
    """

    def hook(value: Any, _: Any) -> Any:
        if type(value) is not str:
            raise TypeError(f"expected {what}, got {json_type(value)}")
        try:
            return parse(value)
        except (ValueError, ArithmeticError, binascii.Error):
            raise ValueError(f"expected {what}") from None

    return hook


def _parse_decimal(text: str) -> decimal.Decimal:
    value = decimal.Decimal(text)
    if not value.is_finite():  # "NaN", "Infinity": not numbers a client means
        raise ValueError(text)
    return value


_decimal_from_string = _from_string(_parse_decimal, "a decimal number or string")


def _decimal_hook(value: Any, _: Any) -> decimal.Decimal:
    """Decimals arrive as strings (exact: ``"0.10"``) or as JSON numbers."""
    kind = type(value)
    if kind is int:
        return decimal.Decimal(value)
    if kind is float:
        # repr is the shortest text that reads back as this float: 0.1 -> "0.1".
        return _parse_decimal(repr(value))
    return _decimal_from_string(value, decimal.Decimal)  # type: ignore[no-any-return]


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _b64encode(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def _bound(hook: Hook, kind: Any) -> Callable[[str], Any]:
    return lambda text: hook(text, kind)


def register_leaves(converter: cattrs.Converter) -> None:
    converter.register_structure_hook(int, _strict(int, (int,)))
    converter.register_structure_hook(float, _strict(float, (float, int)))
    converter.register_structure_hook(str, _strict(str, (str,)))
    converter.register_structure_hook(bool, _strict(bool, (bool,)))
    # datetime and date: the preconf converter's ISO 8601 hooks, after a type check.
    for kind, what in ((datetime.datetime, "datetime"), (datetime.date, "date")):
        preconf = _bound(converter.get_structure_hook(kind), kind)
        converter.register_structure_hook(kind, _from_string(preconf, f"an ISO 8601 {what} string"))
    converter.register_structure_hook(
        datetime.time, _from_string(datetime.time.fromisoformat, "an ISO 8601 time string")
    )
    converter.register_unstructure_hook(datetime.time, datetime.time.isoformat)
    converter.register_structure_hook(uuid.UUID, _from_string(uuid.UUID, "a UUID string"))
    converter.register_unstructure_hook(uuid.UUID, str)
    converter.register_structure_hook(decimal.Decimal, _decimal_hook)
    converter.register_unstructure_hook(decimal.Decimal, str)
    converter.register_structure_hook(pathlib.Path, _from_string(pathlib.Path, "a path string"))
    converter.register_structure_hook(bytes, _from_string(_b64decode, "a base64 string"))
    converter.register_unstructure_hook(bytes, _b64encode)


def is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def enum_hook(cl: type[enum.Enum]) -> Hook:
    """A member of ``cl`` from its value, of the value's own JSON type.

    Without it, an ``IntEnum`` or a ``str`` enum meets the strict ``int``/``str``
    hooks (they subclass those) and any integer or string passes unconverted; and
    ``True`` would read as the member of value 1.
    """
    values = [member.value for member in cl]

    def hook(value: Any, _: Any) -> Any:
        try:
            member = cl(value)
        except (ValueError, TypeError):
            raise ValueError(f"{value!r} is not a valid {cl.__name__}") from None
        if type(member.value) is not type(value):
            raise ValueError(f"expected one of {values}, got {value!r}")
        return member

    return hook
