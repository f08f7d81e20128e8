"""Structure hooks for choices: strict primitive unions, literals, optionals, record unions.

``X | None`` gets ``X``'s hook when the App is built (so an unsupported ``X`` fails
then, not at the first message), and a union of records is decided
deterministically, in declaration order.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import cattrs

from .errors import Hook, describe, json_type
from .models import is_foreign_model, model_keys
from .shapes import is_record, record_fields

__all__ = [
    "NONE_TYPE",
    "is_literal",
    "is_optional",
    "is_primitive_union",
    "literal_hook",
    "optional_hook",
    "primitive_union_hook",
    "record_members",
    "record_union_hook",
    "union_args",
]

NONE_TYPE = type(None)


def union_args(tp: Any) -> tuple[Any, ...] | None:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return None


#: JSON primitive types -> the parsed types each accepts (a float accepts 1).
_PRIMITIVES = {
    str: (str,),
    int: (int,),
    float: (float, int),
    bool: (bool,),
    NONE_TYPE: (NONE_TYPE,),
}
_NAMES = {str: "str", int: "int", float: "float", bool: "bool", NONE_TYPE: "null"}


def is_primitive_union(tp: Any) -> bool:
    args = union_args(tp)
    return args is not None and all(a in _PRIMITIVES for a in args)


def primitive_union_hook(tp: Any) -> Hook:
    """``int | str | None`` and the like, strictly: ``true`` is not an ``int``."""
    args = typing.get_args(tp)
    accepted = frozenset(kind for a in args for kind in _PRIMITIVES[a])
    to_float = float in args and int not in args
    names = ", ".join(_NAMES[a] for a in args)

    def hook(value: Any, _: Any) -> Any:
        kind = type(value)
        if kind not in accepted:
            raise TypeError(f"expected one of {names}, got {json_type(value)}")
        return float(value) if to_float and kind is int else value

    return hook


def is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Literal and all(
        type(a) in _PRIMITIVES for a in typing.get_args(tp)
    )


def literal_hook(tp: Any) -> Hook:
    """``Literal["a", "b"]``: the value, of the same JSON type (``true`` is not ``1``)."""
    allowed = frozenset((type(a), a) for a in typing.get_args(tp))
    names = ", ".join(json.dumps(a) for a in typing.get_args(tp))

    def hook(value: Any, _: Any) -> Any:
        try:
            if (type(value), value) in allowed:
                return value
        except TypeError:  # unhashable: an array or object
            pass
        raise ValueError(f"expected one of {names}, got {json_type(value)}")

    return hook


def is_optional(tp: Any) -> bool:
    args = union_args(tp)
    return args is not None and len(args) == 2 and NONE_TYPE in args


def optional_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    """``X | None`` with ``X``'s hook made now (cattrs finds it per message, so an
    unsupported ``X`` would only fail then)."""
    other = next(a for a in typing.get_args(tp) if a is not NONE_TYPE)
    structure = converter.get_structure_hook(other)
    return lambda value, _: None if value is None else structure(value, other)


def _is_object_model(tp: Any) -> bool:
    return is_record(tp) or is_foreign_model(tp)


def _keys(tp: Any) -> set[str]:
    return model_keys(tp) if is_foreign_model(tp) else set(record_fields(tp))


def record_members(tp: Any) -> tuple[list[Any], bool] | None:
    """The members of a union of records, pydantic models and Structs (and
    ``None``), else ``None``."""
    args = union_args(tp)
    if args is None:
        return None
    members = [a for a in args if a is not NONE_TYPE]
    if len(members) < 2 or not all(_is_object_model(m) for m in members):
        return None
    return members, len(members) < len(args)


def record_union_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    """Unions of records (pydantic models and Structs too), decided deterministically.

    cattrs' default disambiguation depends on set order (so on PYTHONHASHSEED) when
    no field is unique. Here each member is tried in declaration order; if none
    fits, the reason comes from the member sharing the most keys with the payload.
    """
    found = record_members(tp)
    assert found is not None
    members, optional = found
    hooks = [(m, converter.get_structure_hook(m)) for m in members]
    fields = {m: _keys(m) for m in members}

    def hook(value: Any, _: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise TypeError(f"expected a JSON object, got {json_type(value)}")
        failures = []
        for member, structure in hooks:
            try:
                return structure(value, member)
            except Exception as exc:
                failures.append((len(fields[member] & value.keys()), member, exc))
        _, closest, error = max(failures, key=lambda f: f[0])  # first of the best
        names = ", ".join(m.__name__ for m in members)
        raise TypeError(f"fits none of {names}; as {closest.__name__}: {describe(error)}")

    return hook
