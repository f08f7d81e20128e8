"""Structure hooks for JSON shapes: arrays, objects, ``TypedDict``, ``NamedTuple``, records.

Each checks the JSON shape first: a ``dict``, ``Mapping`` or ``TypedDict`` needs a
JSON object, a ``list``, ``tuple``, ``set`` or ``NamedTuple`` a JSON array, so a
wrong shape reads "expected a JSON object, got array" (cattrs' own hooks would
iterate a string into characters or report ``'list' object has no attribute``).
Records are dataclasses and attrs classes.
"""

from __future__ import annotations

import dataclasses
import typing
from collections import abc
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

from .errors import Hook, json_type

__all__ = [
    "ARRAY_ORIGINS",
    "OBJECT_ORIGINS",
    "array_hook",
    "is_array",
    "is_object",
    "is_record",
    "is_typeddict",
    "namedtuple_hook",
    "object_hook",
    "record_fields",
    "record_hook",
    "typeddict_hook",
]


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


def is_array(tp: Any) -> bool:
    try:
        return _origin(tp) in ARRAY_ORIGINS and not is_namedtuple(tp)
    except TypeError:  # unhashable
        return False


# The factories take the converter they are called for (cattrs' "extended"
# factories), so that a copy (a DTO's) builds nested hooks from its own hooks.
def array_hook(tp: Any, converter: cattrs.Converter) -> Hook:
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


def namedtuple_hook(cl: Any, converter: cattrs.Converter) -> Hook:
    """NamedTuples read from an array, with their annotations resolved (cattrs reads
    ``__annotations__`` as they are, so ``"int"`` under PEP 563 would not work)."""
    hints = typing.get_type_hints(cl)
    as_tuple: Any = tuple.__class_getitem__(tuple(hints[name] for name in cl._fields))
    structure = converter.get_structure_hook(as_tuple)  # checks for an array
    return lambda value, _: cl(*structure(value, as_tuple))


def is_object(tp: Any) -> bool:
    try:
        return _origin(tp) in OBJECT_ORIGINS
    except TypeError:
        return False


def object_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    # cattrs' own factory, not Converter.gen_structure_mapping: that one also
    # registers its hook for the type, which would then bypass this check.
    inner = mapping_structure_factory(
        tp, converter, dict, detailed_validation=converter.detailed_validation
    )
    return _expect(dict, "object", inner)


def typeddict_hook(tp: Any, converter: cattrs.Converter) -> Hook:
    return _expect(dict, "object", converter.gen_structure_typeddict(tp))


def record_hook(cl: Any, converter: cattrs.Converter) -> Hook:
    return _expect(dict, "object", make_dict_structure_fn(cl, converter))


def is_typeddict(tp: Any) -> bool:
    return typing.is_typeddict(_origin(tp))


def is_record(cl: Any) -> bool:
    """Classes read from a JSON object: dataclasses and attrs classes."""
    return isinstance(cl, type) and (dataclasses.is_dataclass(cl) or attrs.has(cl))


def record_fields(cl: Any) -> list[str]:
    if attrs.has(cl):
        return [f.name for f in attrs.fields(cl)]
    return [f.name for f in dataclasses.fields(cl)]
