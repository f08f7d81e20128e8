"""The App's cattrs converter: JSON shapes, strict primitives and common stdlib types.

Built on cattrs' preconfigured JSON converter (``cattrs.preconf.json``), whose
hooks are kept where they exist (``datetime``/``date`` as ISO 8601, sets as
arrays, enums by value), with:

- strict primitives: ``"5"`` is not an ``int``, ``true`` is not a number;
- JSON shapes checked first: a ``dict``, ``Mapping`` or ``TypedDict`` needs a JSON
  object, a ``list``, ``tuple``, ``set`` or ``NamedTuple`` a JSON array, so a
  wrong shape reads "expected a JSON object, got array" (cattrs' own hooks would
  iterate a string into characters or report ``'list' object has no attribute``);
- ``uuid.UUID``, ``decimal.Decimal``, ``datetime.time`` and ``pathlib.Path`` as
  strings, ``bytes`` fields as standard base64 (preconf's base85 is not what
  clients expect);
- deterministic unions of records and eager ``Optional`` (so an unsupported member
  fails when the App is built, not at the first message).

:func:`wsactors.sendable.unsendable` checks the other direction.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime
import decimal
import enum
import json
import pathlib
import types
import typing
import uuid
from collections import abc
from collections.abc import Callable
from typing import Any

import attrs
import cattrs
from cattrs.cols import (
    homogenous_tuple_structure_factory,
    is_namedtuple,
    list_structure_factory,
    mapping_structure_factory,
)
from cattrs.gen import make_dict_structure_fn
from cattrs.preconf.json import make_converter

__all__ = ["describe", "json_type", "make_json_converter"]

Hook = Callable[[Any, Any], Any]
NONE_TYPE = type(None)


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


# ---------------------------------------------------------------- leaves
def _strict(expected: type[Any], accepted: tuple[type[Any], ...]) -> Hook:
    """A structure hook that refuses values of the wrong JSON type.

    cattrs' default hooks convert (``int("5")``); the API promises validation.
    ``bool`` is excluded from numbers explicitly because it subclasses ``int``.
    cattrs dispatches an ``IntEnum`` or ``str`` enum here too (by subclass, before
    any factory): those go to :func:`_enum_hook`.
    """
    name = expected.__name__

    def hook(value: Any, tp: Any) -> Any:
        if tp is not expected and _is_enum(tp) and type(value) in accepted:
            return _enum_hook(tp)(value, tp)
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


def _register_leaves(converter: cattrs.Converter) -> None:
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


# ---------------------------------------------------------------- JSON shapes
def _expect(kind: type[Any], name: str, inner: Hook) -> Hook:
    """``inner``, after a check that the value is a JSON ``name`` (object or array)."""

    def hook(value: Any, tp: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected a JSON {name}, got {json_type(value)}")
        return inner(value, tp)

    return hook


ARRAY_ORIGINS = frozenset(
    {list, tuple, set, frozenset, abc.Sequence, abc.MutableSequence, abc.Set, abc.MutableSet}
)
OBJECT_ORIGINS = frozenset({dict, abc.Mapping, abc.MutableMapping})


def _origin(tp: Any) -> Any:
    return typing.get_origin(tp) or tp


def _is_array(tp: Any) -> bool:
    try:
        return _origin(tp) in ARRAY_ORIGINS and not is_namedtuple(tp)
    except TypeError:  # unhashable
        return False


# The factories take the converter they are called for (cattrs' "extended"
# factories), so that a copy (a DTO's) builds nested hooks from its own hooks.
def _array_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    origin = _origin(tp)
    args = typing.get_args(tp)
    inner: Hook
    if origin is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
        inner = converter.gen_structure_hetero_tuple(tp)
    elif origin in (tuple, abc.Sequence):
        inner = homogenous_tuple_structure_factory(tp, converter)
    elif origin in (list, abc.MutableSequence):
        inner = list_structure_factory(tp, converter)
    else:  # the sets: read as a list, then made a set
        as_list: Any = list[args[0]] if args else list  # type: ignore[valid-type]
        read = list_structure_factory(as_list, converter)
        make = frozenset if origin in (frozenset, abc.Set) else set

        def inner(value: Any, _: Any) -> Any:
            return make(read(value, as_list))

    return _expect(list, "array", inner)


def _namedtuple_hook(cl: Any, converter: cattrs.Converter) -> Hook:
    """NamedTuples read from an array, with their annotations resolved (cattrs reads
    ``__annotations__`` as they are, so ``"int"`` under PEP 563 would not work)."""
    hints = typing.get_type_hints(cl)
    as_tuple: Any = tuple.__class_getitem__(tuple(hints[name] for name in cl._fields))
    structure = converter.get_structure_hook(as_tuple)  # checks for an array
    return lambda value, _: cl(*structure(value, as_tuple))


def _is_object(tp: Any) -> bool:
    try:
        return _origin(tp) in OBJECT_ORIGINS
    except TypeError:
        return False


def _object_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    # cattrs' own factory, not Converter.gen_structure_mapping: that one also
    # registers its hook for the type, which would then bypass this check.
    inner = mapping_structure_factory(
        tp, converter, dict, detailed_validation=converter.detailed_validation
    )
    return _expect(dict, "object", inner)


def _typeddict_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    return _expect(dict, "object", converter.gen_structure_typeddict(tp))


def _record_hook(cl: Any, converter: cattrs.Converter) -> Hook:
    return _expect(dict, "object", make_dict_structure_fn(cl, converter))


def is_typeddict(tp: Any) -> bool:
    return typing.is_typeddict(_origin(tp))


def is_record(cl: Any) -> bool:
    """Classes read from a JSON object: dataclasses and attrs classes."""
    return isinstance(cl, type) and (dataclasses.is_dataclass(cl) or attrs.has(cl))


def _record_fields(cl: Any) -> list[str]:
    if attrs.has(cl):
        return [f.name for f in attrs.fields(cl)]
    return [f.name for f in dataclasses.fields(cl)]


# ---------------------------------------------------------------- unions
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


def _is_primitive_union(tp: Any) -> bool:
    args = union_args(tp)
    return args is not None and all(a in _PRIMITIVES for a in args)


def _primitive_union_hook(tp: Any) -> Hook:
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


def _is_literal(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Literal and all(
        type(a) in _PRIMITIVES for a in typing.get_args(tp)
    )


def _literal_hook(tp: Any) -> Hook:
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


def _is_optional(tp: Any) -> bool:
    args = union_args(tp)
    return args is not None and len(args) == 2 and NONE_TYPE in args


def _optional_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    """``X | None`` with ``X``'s hook made now (cattrs finds it per message, so an
    unsupported ``X`` would only fail then)."""
    other = next(a for a in typing.get_args(tp) if a is not NONE_TYPE)
    structure = converter.get_structure_hook(other)
    return lambda value, _: None if value is None else structure(value, other)


def _record_members(tp: Any) -> tuple[list[Any], bool] | None:
    """The record members of a union of records (and ``None``), else ``None``."""
    args = union_args(tp)
    if args is None:
        return None
    members = [a for a in args if a is not NONE_TYPE]
    if len(members) < 2 or not all(is_record(m) for m in members):
        return None
    return members, len(members) < len(args)


def _record_union_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    """Unions of records, decided deterministically.

    cattrs' default disambiguation depends on set order (so on PYTHONHASHSEED) when
    no field is unique. Here each member is tried in declaration order; if none
    fits, the reason comes from the member sharing the most keys with the payload.
    """
    found = _record_members(tp)
    assert found is not None
    members, optional = found
    hooks = [(m, converter.get_structure_hook(m)) for m in members]
    fields = {m: set(_record_fields(m)) for m in members}

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


def _is_enum(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, enum.Enum)


def _enum_hook(cl: type[enum.Enum]) -> Hook:
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


def make_json_converter() -> cattrs.Converter:
    """The converter every App starts from: JSON-shaped, strict, stdlib types included."""
    converter = make_converter(detailed_validation=True, forbid_extra_keys=False)
    _register_leaves(converter)
    # Factories registered later take precedence (cattrs), so the most specific last.
    for predicate, factory in (
        (_is_optional, _optional_hook),
        (_is_array, _array_hook),
        (_is_object, _object_hook),
        (is_typeddict, _typeddict_hook),
        (is_namedtuple, _namedtuple_hook),
        (is_record, _record_hook),
        (_is_primitive_union, _primitive_union_hook),
        (_is_literal, _literal_hook),
        (lambda tp: _record_members(tp) is not None, _record_union_hook),
        (_is_enum, _enum_hook),
    ):
        converter.register_structure_hook_factory(predicate, factory)
    return converter
