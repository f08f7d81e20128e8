"""Pydantic v2 models and msgspec ``Struct``\\s as message types, validated by their own library.

Each library validates and serializes its own types: the structure hooks call
``Model.model_validate_json`` and ``msgspec.convert``, the unstructure hooks
``model.model_dump(mode="json", by_alias=True)`` and ``msgspec.to_builtins``.
Neither library is imported here until a hook is made for one of its types, and
the predicates recognize a type by the names in its MRO, so ``import wsactors``
imports neither (the ``pydantic`` and ``msgspec`` extras are optional).

- A pydantic model validates as its configuration says: lax by default (``"5"``
  reads as ``5``), strict with ``ConfigDict(strict=True)``. It is validated from
  JSON text (the parsed message, dumped again), so JSON's rules apply: a strict
  model reads an ISO 8601 string as a ``datetime`` and an array as a ``tuple``.
- A ``Struct`` validates strictly, as msgspec always does.
- Their errors become a :class:`~wsactors.codec.errors.FieldError` naming the path
  (``"items[1].qty: Field required"`` reads ``"items[1].qty: required field
  missing"``), so that a 1007 reason names the field as for the other types.
- With the converter's ``forbid_extra_keys`` (the ``forbid_unknown_fields`` option),
  pydantic validates with ``extra="forbid"`` (every model inside too, whatever its
  ``extra``), and the keys of a Struct's message (and of the Structs, dataclasses
  and TypedDicts inside) are checked against msgspec's own description of the type
  (``msgspec.inspect``) once msgspec has accepted it.
"""

from __future__ import annotations

import inspect
import json
import typing
from typing import Any

import cattrs

from .errors import FieldError, Hook

__all__ = [
    "is_foreign_model",
    "is_pydantic_model",
    "is_struct",
    "model_keys",
    "register_models",
    "struct_problem",
]

# Re-serializing a parsed message: it holds no NaN (parse_json refuses them).
_dumps = json.JSONEncoder(separators=(",", ":")).encode


def _has_base(tp: Any, module: str, name: str) -> bool:
    """Whether class ``tp`` (or a generic alias's origin) derives from ``module.name``,
    by the names in its MRO: the library need not be imported to tell."""
    cls = typing.get_origin(tp) or tp
    if not isinstance(cls, type):
        return False
    return any(base.__name__ == name and base.__module__ == module for base in cls.__mro__)


def is_pydantic_model(tp: Any) -> bool:
    """A pydantic v2 ``BaseModel`` subclass (``pydantic.v1`` models are not)."""
    return _has_base(tp, "pydantic.main", "BaseModel")


def is_struct(tp: Any) -> bool:
    """A ``msgspec.Struct`` subclass, or a generic one's alias (``Page[int]``)."""
    return _has_base(tp, "msgspec", "Struct")


def is_foreign_model(tp: Any) -> bool:
    """A type another library validates and serializes: pydantic model, msgspec Struct."""
    return is_pydantic_model(tp) or is_struct(tp)


def model_keys(tp: Any) -> set[str]:
    """The object keys a pydantic model or a Struct reads (its wire names)."""
    if is_pydantic_model(tp):
        return {info.alias or name for name, info in tp.model_fields.items()}
    import msgspec

    return {field.encode_name for field in msgspec.structs.fields(tp)}


# ------------------------------------------------------------------ pydantic
def _wire_path(value: Any, loc: tuple[int | str, ...]) -> str:
    """A cattrs-style path (``".pets[1].name"``) for a pydantic error's ``loc``.

    ``loc`` also holds steps that are no keys of the message: the member of a union
    that was tried (``"Cat"``, a tag) or a validator's name. Walking the message
    alongside tells them apart: a step is kept when it is an index into an array, a
    key of the object, or the last step (the missing or refused field).
    """
    path = ""
    node = value
    for position, step in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            path += f"[{step}]"
            node = node[step]
        elif isinstance(node, dict) and (step in node or last):
            path += f".{step}"
            node = node.get(step)
    return path


#: pydantic's wording for the two errors every type kind shares, as wsactors says them.
_PYDANTIC_TEXTS = {"missing": "required field missing", "extra_forbidden": "unknown field"}


def _pydantic_structure(tp: Any, converter: cattrs.Converter) -> Hook:
    from pydantic import ValidationError

    validate = tp.model_validate_json
    # forbid_unknown_fields: extra="forbid" applies to every model inside as well
    # (pydantic 2.12's per-call extra), overriding the models' own "ignore"/"allow".
    options: dict[str, Any] = {"extra": "forbid"} if converter.forbid_extra_keys else {}
    if options and "extra" not in inspect.signature(validate).parameters:
        raise TypeError("forbid_unknown_fields needs pydantic 2.12 or later for pydantic models")

    def hook(value: Any, _: Any) -> Any:
        try:
            return validate(_dumps(value), **options)
        except ValidationError as exc:
            error = exc.errors(include_url=False, include_input=False)[0]
            text = _PYDANTIC_TEXTS.get(error["type"], error["msg"])
            raise FieldError(text, _wire_path(value, tuple(error["loc"]))) from None

    return hook


def _pydantic_unstructure(value: Any) -> Any:
    # By alias: the names the model reads and its JSON Schema shows (as FastAPI and
    # Litestar send them).
    return value.model_dump(mode="json", by_alias=True)


# ------------------------------------------------------------------ msgspec
def _msgspec_reason(message: str) -> FieldError:
    """``"Expected `int`, got `str` - at `$.items[0].qty`"`` as a located error."""
    text, found, where = message.rpartition(" - at `")
    path = where.removesuffix("`").removeprefix("$") if found else ""
    if not found:
        text = message
    for prefix, wording in (
        ("Object missing required field `", "required field missing"),
        ("Object contains unknown field `", "unknown field"),
    ):
        if text.startswith(prefix):
            return FieldError(wording, f"{path}.{text.removeprefix(prefix).removesuffix('`')}")
    return FieldError(text, path)


def _unknown_key(value: Any, info: Any, path: str) -> str | None:
    """The path of the first key of ``value`` that msgspec's type ``info`` does not
    read, in a message msgspec has already accepted; ``None`` if there is none."""
    from msgspec import inspect as mi

    while isinstance(info, mi.Metadata):
        info = info.type
    if isinstance(info, mi.UnionType):
        info = _union_member(value, info.types)
    if isinstance(info, mi.StructType | mi.DataclassType | mi.TypedDictType | mi.NamedTupleType):
        fields = info.fields
        if isinstance(value, list):  # array_like Structs, NamedTuples: no keys to check
            pairs = [
                (f"[{i}]", item, field.type)
                for i, (item, field) in enumerate(zip(value, fields, strict=False))
            ]
        elif isinstance(value, dict):
            names = {field.encode_name: field for field in fields}
            tag = getattr(info, "tag_field", None)
            for key in value:
                if key not in names and key != tag:
                    return f"{path}.{key}"
            pairs = [(f".{key}", value[key], f.type) for key, f in names.items() if key in value]
        else:
            return None
    elif isinstance(info, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        if not isinstance(value, list):
            return None
        pairs = [(f"[{i}]", item, info.item_type) for i, item in enumerate(value)]
    elif isinstance(info, mi.TupleType):
        if not isinstance(value, list):
            return None
        pairs = [
            (f"[{i}]", item, kind)
            for i, (item, kind) in enumerate(zip(value, info.item_types, strict=False))
        ]
    elif isinstance(info, mi.DictType):
        if not isinstance(value, dict):
            return None
        pairs = [(f"[{key!r}]", item, info.value_type) for key, item in value.items()]
    else:
        return None
    for step, item, kind in pairs:
        found = _unknown_key(item, kind, path + step)
        if found is not None:
            return found
    return None


def _union_member(value: Any, members: tuple[Any, ...]) -> Any:
    """The member of a union msgspec read ``value`` as: by its tag among tagged
    Structs, else the one member of the value's JSON kind (msgspec allows no other)."""
    from msgspec import inspect as mi

    for member in members:
        inner = member
        while isinstance(inner, mi.Metadata):
            inner = inner.type
        array_like = getattr(inner, "array_like", False)
        if isinstance(value, dict) and isinstance(inner, _objects()) and not array_like:
            tag = getattr(inner, "tag_field", None)
            if tag is None or value.get(tag) == inner.tag:
                return member
        if isinstance(value, list) and (isinstance(inner, _arrays()) or array_like):
            return member
    return None


def _objects() -> tuple[type[Any], ...]:
    from msgspec import inspect as mi

    return (mi.StructType, mi.DataclassType, mi.TypedDictType, mi.DictType)


def _arrays() -> tuple[type[Any], ...]:
    from msgspec import inspect as mi

    return (
        mi.ListType,
        mi.SetType,
        mi.FrozenSetType,
        mi.VarTupleType,
        mi.TupleType,
        mi.NamedTupleType,
    )


def struct_problem(tp: Any) -> str | None:
    """A type inside Struct ``tp`` that msgspec can neither validate nor serialize (a
    pydantic model, a ``Path``: msgspec's "custom" types), else ``None``."""
    from msgspec import inspect as mi

    stack: list[Any] = [mi.type_info(tp)]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:  # recursive Structs refer to their own description
            continue
        seen.add(id(node))
        if isinstance(node, mi.CustomType):
            return repr(node.cls)
        if isinstance(node, tuple):
            stack.extend(node)
        elif isinstance(node, mi.Type | mi.Field):
            stack.extend(getattr(node, name) for name in node.__struct_fields__)
    return None


def _struct_structure(tp: Any, converter: cattrs.Converter) -> Hook:
    import msgspec

    problem = struct_problem(tp)
    if problem is not None:
        raise TypeError(f"msgspec cannot read {problem} inside {tp!r}")
    convert = msgspec.convert
    info = msgspec.inspect.type_info(tp) if converter.forbid_extra_keys else None

    def hook(value: Any, _: Any) -> Any:
        try:
            result = convert(value, tp)
        except msgspec.ValidationError as exc:
            raise _msgspec_reason(str(exc)) from None
        if info is not None:
            unknown = _unknown_key(value, info, "")
            if unknown is not None:
                raise FieldError("unknown field", unknown)
        return result

    return hook


def _struct_unstructure(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value)


def register_models(converter: cattrs.Converter) -> None:
    """Structure and unstructure pydantic models and Structs with their own library."""
    converter.register_structure_hook_factory(is_pydantic_model, _pydantic_structure)
    converter.register_structure_hook_factory(is_struct, _struct_structure)
    converter.register_unstructure_hook_func(is_pydantic_model, _pydantic_unstructure)
    converter.register_unstructure_hook_func(is_struct, _struct_unstructure)
