"""``DTO``: choose which fields of a type are read from or written to the wire.

Like Litestar's DTOs, but built on cattrs overrides: a DTO registers structure and
unstructure hooks for its type on a copy of the App's converter, made once per
handler when the App is built.

- as ``dto=``: excluded fields are never read from the payload (they keep their
  defaults); renamed fields are read under their wire name;
- as ``return_dto=``: excluded fields are never sent; renamed fields are written
  under their wire name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any, Generic, TypeVar

import attrs
import cattrs
from cattrs.errors import AttributeValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ..exceptions import ImproperlyConfiguredError
from .errors import json_type
from .models import is_pydantic_model, is_struct

__all__ = ["DTO"]

_T = TypeVar("_T")


def _fields(model: type[Any]) -> dict[str, bool]:
    """Field name -> whether it has a default, for dataclasses and attrs classes."""
    if dataclasses.is_dataclass(model):
        return {
            f.name: f.default is not dataclasses.MISSING
            or f.default_factory is not dataclasses.MISSING
            for f in dataclasses.fields(model)
        }
    if attrs.has(model):
        return {a.name: a.default is not attrs.NOTHING for a in attrs.fields(model)}
    if is_pydantic_model(model) or is_struct(model):
        kind = "a pydantic model" if is_pydantic_model(model) else "a msgspec Struct"
        how = (
            "Field(alias=...), Field(exclude=True) or a model of its own for each direction"
            if is_pydantic_model(model)
            else "the Struct's options (rename=, omit_defaults=) or a Struct for each direction"
        )
        raise ImproperlyConfiguredError(
            f"DTO({model.__name__}): {kind} chooses its fields on the wire itself; use {how} "
            f"(DTOs take dataclasses and attrs classes)"
        )
    raise ImproperlyConfiguredError(
        f"DTO({model!r}): only dataclasses and attrs classes are supported"
    )


def _rename_notes(error: cattrs.ClassValidationError, wire_names: Mapping[str, str]) -> None:
    """Rewrite the attribute names in ``error``'s notes to their wire names, in place."""
    if not wire_names:
        return
    for exc in error.exceptions:
        notes = getattr(exc, "__notes__", None)
        if not notes:
            continue
        exc.__notes__ = [
            AttributeValidationNote(str(note), wire_names[note.name], note.type)
            if isinstance(note, AttributeValidationNote) and note.name in wire_names
            else note
            for note in notes
        ]


class DTO(Generic[_T]):
    """Field selection and renaming for one dataclass or attrs class.

    Args:
        model: The dataclass or attrs class.
        exclude: Field names never read (``dto=``) or never written (``return_dto=``).
        rename: Field name -> name on the wire.

    Raises:
        ImproperlyConfiguredError: an unknown field name, or an unsupported type.
    """

    def __init__(
        self,
        model: type[_T],
        *,
        exclude: Collection[str] = (),
        rename: Mapping[str, str] | None = None,
    ) -> None:
        self.model = model
        self.exclude = frozenset(exclude)
        self.rename = dict(rename or {})
        fields = _fields(model)
        unknown = (self.exclude | set(self.rename)) - set(fields)
        if unknown:
            raise ImproperlyConfiguredError(
                f"DTO({model.__name__}): unknown field(s) {sorted(unknown)}; "
                f"fields are {sorted(fields)}"
            )
        self._has_default = fields

    def _overrides(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: override(omit=True) for name in self.exclude}
        for name, wire in self.rename.items():
            if name not in self.exclude:
                out[name] = override(rename=wire)
        return out

    def input_converter(self, base: cattrs.Converter) -> cattrs.Converter:
        """A copy of ``base`` that reads ``model`` through this DTO.

        Raises:
            ImproperlyConfiguredError: an excluded field has no default, so the model
                could not be built without reading it; or a field's type cannot be
                read.
        """
        required = sorted(n for n in self.exclude if not self._has_default[n])
        if required:
            raise ImproperlyConfiguredError(
                f"DTO({self.model.__name__}) as dto=: excluded field(s) {required} have no "
                f"default, so the type cannot be built without reading them"
            )
        converter = base.copy()
        try:
            structure = make_dict_structure_fn(self.model, converter, **self._overrides())
        except Exception as exc:  # e.g. cattrs' StructureHandlerNotFoundError for a field
            raise ImproperlyConfiguredError(
                f"{self!r} as dto=: messages cannot be read as {self.model.__name__}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        wire_names = {name: wire for name, wire in self.rename.items() if name not in self.exclude}

        def structure_model(value: Any, model: Any) -> Any:
            if not isinstance(value, dict):
                raise TypeError(f"expected a JSON object, got {json_type(value)}")
            try:
                return structure(value, model)
            except cattrs.ClassValidationError as exc:
                # Name the field as the client spells it, so 1007 reasons point at
                # the wire name ("userName: required field missing").
                _rename_notes(exc, wire_names)
                raise

        converter.register_structure_hook(self.model, structure_model)
        return converter

    def output_converter(self, base: cattrs.Converter) -> cattrs.Converter:
        """A copy of ``base`` that writes ``model`` through this DTO."""
        converter = base.copy()
        converter.register_unstructure_hook(
            self.model,
            make_dict_unstructure_fn(self.model, converter, **self._overrides()),
        )
        return converter

    def __repr__(self) -> str:
        return f"DTO({self.model.__name__}, exclude={sorted(self.exclude)}, rename={self.rename})"
