"""How the codec reads JSON arrays, enums, UUIDs and decimals.

Hooks added to cattrs' JSON preset so that each type is read only from the JSON
its schema in the AsyncAPI document names (docs/asyncapi.md): arrays only from
JSON arrays (cattrs alone takes any iterable, so ``"abc"`` as ``list[str]``), enum
members only from their values, UUIDs and decimals from strings.
"""

from __future__ import annotations

import enum
import typing
import uuid
from collections.abc import Callable, MutableSequence, MutableSet, Sequence, Set
from decimal import Decimal, InvalidOperation
from typing import Any

import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, list_structure_factory
from cattrs.gen import make_hetero_tuple_structure_fn

__all__ = ["json_type_name", "register_json_types"]


def json_type_name(value: Any) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else type(value).__name__


def _from_string(name: str, parse: Callable[[str], Any]) -> Callable[[Any, Any], Any]:
    """A structure hook for a type written as a JSON string (UUID, Decimal)."""

    def hook(value: Any, _: Any) -> Any:
        if type(value) is not str:
            raise TypeError(f"expected {name} as a string, got {json_type_name(value)}")
        try:
            return parse(value)
        except (ValueError, InvalidOperation):
            raise ValueError(f"invalid {name}: {value!r}") from None

    return hook


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _enum_hook(cl: type[enum.Enum]) -> Callable[[Any, Any], Any]:
    """A member of ``cl`` from its value, of the value's own JSON type.

    Without it, an ``IntEnum`` or ``StrEnum`` would meet the ``int``/``str`` hooks
    (they subclass those) and any integer or string would pass unconverted.
    """
    values = [member.value for member in cl]

    def hook(value: Any, _: Any) -> Any:
        try:
            member = cl(value)
        except (ValueError, TypeError):
            member = None
        if member is None or type(member.value) is not type(value):
            raise ValueError(f"expected one of {values}, got {value!r}")
        return member

    return hook


_LISTS = (list, Sequence, MutableSequence, typing.List, typing.Sequence, typing.MutableSequence)  # noqa: UP006
_SETS = (set, frozenset, Set, MutableSet, typing.Set, typing.FrozenSet, typing.AbstractSet)  # noqa: UP006


def _array_kind(tp: Any) -> str | None:
    """How a JSON array becomes ``tp``: "list", "tuple" (``tuple[X, ...]``), "fixed"
    (``tuple[A, B]``), "set", or None when ``tp`` is not read from an array."""
    origin = typing.get_origin(tp) or tp
    if origin in _LISTS:
        return "list"
    if origin in _SETS:
        return "set"
    if origin is tuple:
        args = typing.get_args(tp)
        return "fixed" if args and args[-1] is not Ellipsis else "tuple"
    return None


def _array_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """cattrs' own hook for a list, set or tuple, after a check that the value is a
    JSON array: cattrs alone would take any iterable, so ``"abc"`` for ``list[str]``.

    A two-argument factory: cattrs passes the converter in use, so a DTO's copy of
    the converter reaches the elements (``list[Model]``).
    """
    kind = _array_kind(tp)
    args = typing.get_args(tp)
    if kind == "fixed":
        structure: Any = make_hetero_tuple_structure_fn(tp, converter)
    elif kind == "tuple":
        structure = homogenous_tuple_structure_factory(tp, converter)
    else:
        as_list: Any = list[args[0]] if args else list  # type: ignore[valid-type]
        structure = list_structure_factory(as_list, converter)
    make = frozenset if typing.get_origin(tp) in (frozenset, typing.FrozenSet) else set  # noqa: UP006

    def hook(value: Any, _: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected a JSON array, got {json_type_name(value)}")
        result = structure(value, tp if kind in ("fixed", "tuple") else None)
        return make(result) if kind == "set" else result

    return hook


def register_json_types(converter: cattrs.Converter) -> None:
    """Register the hooks of this module on ``converter``."""
    # Strings on the wire, as their JSON Schema says.
    converter.register_structure_hook(uuid.UUID, _from_string("UUID", uuid.UUID))
    converter.register_structure_hook(Decimal, _from_string("decimal", Decimal))
    converter.register_unstructure_hook(uuid.UUID, str)
    converter.register_unstructure_hook(Decimal, str)
    converter.register_structure_hook_factory(lambda tp: _array_kind(tp) is not None, _array_hook)
    converter.register_structure_hook_factory(_is_enum, _enum_hook)
