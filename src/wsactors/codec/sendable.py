"""Which return types can be sent as JSON, decided when the App is built.

cattrs passes a type it has no unstructure hook for through unchanged, so a
handler returning, say, a ``complex`` would build fine and then fail in
``json.dumps`` at every message (close 1011). :func:`unsendable` finds such a type
in a return annotation first, so that the App refuses to build instead.
"""

from __future__ import annotations

import collections
import datetime
import decimal
import enum
import pathlib
import typing
import uuid
from typing import Any

import cattrs
from cattrs.cols import is_namedtuple
from cattrs.fns import identity

from .models import is_foreign_model, is_struct, struct_problem
from .shapes import ARRAY_ORIGINS, OBJECT_ORIGINS, is_record, is_typeddict
from .unions import NONE_TYPE, union_args

__all__ = ["unsendable"]

#: Container origins whose unstructured form is a JSON array or object.
_CONTAINERS = ARRAY_ORIGINS | OBJECT_ORIGINS | {collections.Counter, collections.OrderedDict}
_NATIVE = (str, int, float, bool)


def unsendable(converter: cattrs.Converter, tp: Any) -> str | None:
    """The first type inside ``tp`` that has no JSON form, or ``None`` if all do.

    A type has a JSON form if it is a JSON primitive, a container, record,
    ``TypedDict`` or ``NamedTuple`` of such types, an enum, a pydantic model or a
    msgspec ``Struct`` (their library serializes them, and decides), or has an
    unstructure hook other than cattrs' pass-through (``UUID``, ``datetime``, ...).
    ``Any`` is decided by each value's type when it is sent.
    """
    return _unsendable(converter, tp, set())


def _unsendable(converter: cattrs.Converter, tp: Any, seen: set[int]) -> str | None:
    if tp is Any or tp is object or tp is None or tp is NONE_TYPE or isinstance(tp, typing.TypeVar):
        return None
    if id(tp) in seen:  # a recursive type: already being checked
        return None
    seen.add(id(tp))
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if is_struct(tp):  # msgspec.to_builtins serializes it, unless it holds a custom type
        problem = struct_problem(tp)
        return None if problem is None else f"{problem} (inside a msgspec Struct)"
    if origin is typing.Literal or is_foreign_model(tp):
        return None
    if origin is typing.Annotated:
        return _unsendable(converter, args[0], seen)
    if union_args(tp) is not None or origin in _CONTAINERS:
        if origin in OBJECT_ORIGINS and args and _unsendable_key(converter, args[0]):
            return f"{args[0]!r} (as an object key)"
        return _first(converter, [a for a in args if a is not Ellipsis], seen)
    if is_namedtuple(tp) or is_typeddict(tp) or (origin is None and is_record(tp)):
        return _first(converter, list(typing.get_type_hints(tp).values()), seen)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _first(converter, [type(m.value) for m in tp], seen)
    if origin is not None and is_record(origin):  # a generic record: Page[int]
        return _first(converter, list(args), seen)
    hook = converter.get_unstructure_hook(tp)
    if hook is identity and not (isinstance(tp, type) and issubclass(tp, _NATIVE)):
        return repr(tp)
    return None


def _first(converter: cattrs.Converter, types_: list[Any], seen: set[int]) -> str | None:
    for item in types_:
        found = _unsendable(converter, item, seen)
        if found is not None:
            return found
    return None


def _unsendable_key(converter: cattrs.Converter, key: Any) -> bool:
    """JSON object keys must be strings; ``json`` also writes numbers, booleans and
    null as keys, and the stdlib types above are unstructured to strings."""
    if key is Any or key is NONE_TYPE or typing.get_origin(key) is typing.Literal:
        return False
    if isinstance(key, type) and issubclass(key, _NATIVE):
        return False
    if isinstance(key, type) and issubclass(key, enum.Enum):
        return not all(isinstance(m.value, (*_NATIVE, NONE_TYPE)) for m in key)
    if union_args(key) is not None:
        return any(_unsendable_key(converter, a) for a in typing.get_args(key))
    hook = converter.get_unstructure_hook(key)
    return hook is identity or key not in _STRING_FORMS


_STRING_FORMS = frozenset(
    {uuid.UUID, decimal.Decimal, datetime.datetime, datetime.date, datetime.time, pathlib.Path}
)
