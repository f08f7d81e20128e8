"""The App's cattrs converter: JSON shapes, strict primitives and common stdlib types.

Built on cattrs' preconfigured JSON converter (``cattrs.preconf.json``), whose
hooks are kept where they exist (``datetime``/``date`` as ISO 8601, sets as
arrays, enums by value), with the hooks of :mod:`wsactors.codec.leaves` (strict
primitives, enums, stdlib types), :mod:`wsactors.codec.shapes` (JSON arrays and
objects), :mod:`wsactors.codec.unions` (unions, literals, optionals) and
:mod:`wsactors.codec.models` (pydantic models and msgspec Structs, validated by
their own library), registered here in the order that decides which one applies.

``forbid_unknown_fields`` is cattrs' ``forbid_extra_keys``: the records' and
TypedDicts' hooks (cattrs') refuse a key they do not read, and the models' hooks
read the flag from the converter they are made for.

:func:`wsactors.codec.sendable.unsendable` checks the other direction.
"""

from __future__ import annotations

import cattrs
from cattrs.cols import is_namedtuple
from cattrs.preconf.json import make_converter

from .leaves import enum_hook, is_enum, register_leaves
from .models import register_models
from .shapes import (
    array_hook,
    is_array,
    is_object,
    is_record,
    is_typeddict,
    namedtuple_hook,
    object_hook,
    record_hook,
    typeddict_hook,
)
from .unions import (
    is_literal,
    is_optional,
    is_primitive_union,
    literal_hook,
    optional_hook,
    primitive_union_hook,
    record_members,
    record_union_hook,
)

__all__ = ["make_json_converter"]


def make_json_converter(*, forbid_unknown_fields: bool = False) -> cattrs.Converter:
    """The converter every App starts from: JSON-shaped, strict, stdlib types included.

    Args:
        forbid_unknown_fields: Refuse object keys that a record, TypedDict, pydantic
            model or Struct does not read (by default they are ignored).
    """
    converter = make_converter(detailed_validation=True, forbid_extra_keys=forbid_unknown_fields)
    register_leaves(converter)
    register_models(converter)
    # Factories registered later take precedence (cattrs), so the most specific last.
    for predicate, factory in (
        (is_optional, optional_hook),
        (is_array, array_hook),
        (is_object, object_hook),
        (is_typeddict, typeddict_hook),
        (is_namedtuple, namedtuple_hook),
        (is_record, record_hook),
        (is_primitive_union, primitive_union_hook),
        (is_literal, literal_hook),
        (lambda tp: record_members(tp) is not None, record_union_hook),
        (is_enum, enum_hook),
    ):
        converter.register_structure_hook_factory(predicate, factory)
    return converter
