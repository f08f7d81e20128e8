"""Sans-I/O codec: transport modes, JSON, and validation into annotated types.

One :class:`Codec` (one cattrs converter) per App. Handlers ask it for a decoder
or an encoder when they are registered, so the per-message path is a single call
of a function chosen in advance.

Rules (API.md, "Handlers"):

- ``str`` and ``bytes`` arrive as-is from either frame type; a text frame for
  ``bytes`` is UTF-8 encoded and a binary frame for ``str`` is UTF-8 decoded.
- Anything else is JSON, structured by cattrs into the annotated type and
  validated strictly (``"5"`` is not an ``int``). Malformed JSON, invalid UTF-8
  and payloads that do not fit raise :class:`~wsactors.exceptions.InvalidMessageError`
  (close 1007, RFC 6455 section 7.4.1) with a reason naming the problem.
- Outgoing values: ``None`` means "send nothing", ``str``/``bytes`` are sent raw,
  anything else is unstructured by cattrs and sent as compact JSON.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

import attrs
import cattrs
from cattrs.cols import is_namedtuple
from cattrs.gen import make_dict_structure_fn
from cattrs.preconf.json import make_converter

from .exceptions import InvalidMessageError
from .jsontypes import json_type_name as _json_type
from .jsontypes import register_json_types

__all__ = ["Codec", "Mode", "Payload", "to_frame"]

Mode: TypeAlias = Literal["text", "binary"]
Payload: TypeAlias = str | bytes
Decoder: TypeAlias = Callable[[Payload], Any]
Encoder: TypeAlias = Callable[[Any], Payload | None]

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def _strict(expected: type[Any], accepted: tuple[type[Any], ...]) -> Callable[[Any, Any], Any]:
    """A structure hook that refuses values of the wrong JSON type.

    cattrs' default hooks convert (``int("5")``); the API promises validation.
    ``bool`` is excluded from numbers explicitly because it subclasses ``int``.
    The hook also serves subclasses (an ``IntEnum``, a ``str`` enum), which are
    built from the value: a value that is no member raises ``ValueError``.
    """
    name = expected.__name__

    def hook(value: Any, tp: Any) -> Any:
        if type(value) in accepted:
            target = tp if isinstance(tp, type) and issubclass(tp, expected) else expected
            return target(value) if type(value) is not target else value
        raise TypeError(f"expected {name}, got {type(value).__name__}")

    return hook


def _has_string_annotations(cl: Any) -> bool:
    return is_namedtuple(cl) and any(
        isinstance(a, str | typing.ForwardRef) for a in cl.__annotations__.values()
    )


def _namedtuple_from_hints(cl: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """Structure NamedTuples whose annotations are strings (``from __future__ import
    annotations``): cattrs reads ``__annotations__`` as they are and cannot resolve
    ``"int"``, so resolve them once and structure as a fixed-length tuple.

    This and the record factories below take the converter in use (cattrs passes
    it), so a DTO's copy of the converter also reaches records nested in them.
    """
    hints = typing.get_type_hints(cl)
    as_tuple: Any = tuple.__class_getitem__(tuple(hints[name] for name in cl._fields))
    structure = converter.get_structure_hook(as_tuple)
    return lambda value, _: cl(*structure(value, as_tuple))


def _is_record(cl: Any) -> bool:
    """Classes read from a JSON object: dataclasses and attrs classes."""
    return isinstance(cl, type) and (dataclasses.is_dataclass(cl) or attrs.has(cl))


def _record_hook(cl: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """cattrs' own hook for a record, after a check that the value is an object, so
    ``[1, 2]`` for a dataclass reads "expected a JSON object, got array"."""
    structure = make_dict_structure_fn(cl, converter)

    def hook(value: Any, tp: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected a JSON object, got {_json_type(value)}")
        return structure(value, tp)

    return hook


def _record_members(tp: Any) -> tuple[list[Any], bool] | None:
    """The record members of a union of records (and ``None``), else ``None``."""
    if typing.get_origin(tp) not in (typing.Union, types.UnionType):
        return None
    args = typing.get_args(tp)
    members = [a for a in args if a is not type(None)]
    if len(members) < 2 or not all(_is_record(m) for m in members):
        return None
    return members, len(members) < len(args)


def _record_union_hook(tp: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """Unions of records, decided deterministically.

    cattrs' default disambiguation depends on set order (so on PYTHONHASHSEED) when
    no field is unique. Here each member is tried in declaration order; if none
    fits, the reason comes from the member sharing the most keys with the payload.
    """
    found = _record_members(tp)
    assert found is not None
    members, optional = found
    hooks = [(m, converter.get_structure_hook(m)) for m in members]
    fields = {
        m: {f.name for f in attrs.fields(m)}
        if attrs.has(m)
        else {f.name for f in dataclasses.fields(m)}
        for m in members
    }

    def hook(value: Any, _: Any) -> Any:
        if value is None and optional:
            return None
        if not isinstance(value, dict):
            raise TypeError(f"expected a JSON object, got {_json_type(value)}")
        failures = []
        for member, structure in hooks:
            try:
                return structure(value, member)
            except Exception as exc:
                failures.append((len(fields[member] & value.keys()), member, exc))
        _, closest, error = max(failures, key=lambda f: f[0])  # first of the best
        names = ", ".join(m.__name__ for m in members)
        raise TypeError(f"fits none of {names}; as {closest.__name__}: {_describe(error)}")

    return hook


def make_json_converter() -> cattrs.Converter:
    """The converter every App starts from: JSON-friendly and strict on primitives."""
    converter = make_converter(detailed_validation=True, forbid_extra_keys=False)
    converter.register_structure_hook(int, _strict(int, (int,)))
    converter.register_structure_hook(float, _strict(float, (float, int)))
    converter.register_structure_hook(str, _strict(str, (str,)))
    converter.register_structure_hook(bool, _strict(bool, (bool,)))
    converter.register_structure_hook_factory(_has_string_annotations, _namedtuple_from_hints)
    register_json_types(converter)
    converter.register_structure_hook_factory(_is_record, _record_hook)
    converter.register_structure_hook_factory(
        lambda tp: _record_members(tp) is not None, _record_union_hook
    )
    return converter


def _describe(error: Exception) -> str:
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


def to_text(data: Payload) -> str:
    """UTF-8 decode a binary payload; text passes through.

    Raises:
        InvalidMessageError: the bytes are not UTF-8 (close 1007).
    """
    if isinstance(data, str):
        return data
    try:
        return bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessageError(f"invalid UTF-8 at byte {exc.start}") from None


def to_bytes(data: Payload) -> bytes:
    """UTF-8 encode a text payload; bytes pass through."""
    return data.encode("utf-8") if isinstance(data, str) else data


def to_frame(data: Payload, mode: Mode) -> Payload:
    """The value to put in an ASGI ``websocket.send`` for ``mode``.

    ``"text"`` sends a text frame (bytes are UTF-8 decoded), ``"binary"`` a binary
    frame (str is UTF-8 encoded). RFC 6455 section 5.6: text frames must carry UTF-8.

    Raises:
        ValueError: bytes that are not UTF-8 for a text frame. This is the
            application's error (close 1011), unlike invalid UTF-8 *received*
            from the client (1007).
    """
    if mode == "text":
        if isinstance(data, str):
            return data
        try:
            return bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"cannot send bytes that are not UTF-8 (byte {exc.start}) in a text frame; "
                f"use send mode 'binary'"
            ) from None
    if mode == "binary":
        return to_bytes(data)
    raise ValueError(f"mode must be 'text' or 'binary', not {mode!r}")


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and +-Infinity; RFC 8259 section 6 does not.
    raise ValueError(f"{name} is not valid JSON")


# Built once: json.loads(text, parse_constant=...) would build a decoder per call.
_loads = json.JSONDecoder(parse_constant=_reject_constant).decode


def parse_json(data: Payload) -> Any:
    """Parse a JSON payload.

    Raises:
        InvalidMessageError: not UTF-8 or not JSON (close 1007).
    """
    # Decode explicitly: json.loads would guess UTF-16/32 for bytes, but RFC 8259
    # section 8.1 requires UTF-8 between systems.
    text = data if type(data) is str else to_text(data)
    try:
        return _loads(text)
    except ValueError as exc:
        # json.JSONDecodeError is a ValueError; its message names line and column.
        raise InvalidMessageError(f"malformed JSON: {exc}") from None


class Codec:
    """Decoders and encoders for one App, built on one cattrs converter.

    Args:
        converter: A configured converter; :func:`make_json_converter` by default.
    """

    def __init__(self, converter: cattrs.Converter | None = None) -> None:
        self.converter = converter if converter is not None else make_json_converter()
        # receive_json(type=...) asks per call; build each decoder once.
        self._decoders: dict[Any, Decoder] = {}

    def decoder(self, annotation: Any) -> Decoder:
        """The function that turns a received payload into ``annotation``.

        Args:
            annotation: ``str``, ``bytes``, ``Any`` (parsed JSON) or any type cattrs
                can structure.

        Returns:
            A one-argument function raising ``InvalidMessageError`` on bad input.
        """
        try:
            return self._decoders[annotation]
        except (KeyError, TypeError):  # TypeError: an unhashable annotation
            pass
        decoder = self._make_decoder(annotation)
        with contextlib.suppress(TypeError):  # unhashable annotations are not cached
            self._decoders[annotation] = decoder
        return decoder

    def _make_decoder(self, annotation: Any) -> Decoder:
        if annotation is str:
            return to_text
        if annotation is bytes:
            return to_bytes
        if annotation is Any:
            return parse_json
        structure = self.converter.get_structure_hook(annotation)

        def decode(data: Payload) -> Any:
            value = parse_json(data)
            try:
                return structure(value, annotation)
            except Exception as exc:
                raise InvalidMessageError(_describe(exc)) from None

        return decode

    def encoder(self, annotation: Any = Any) -> Encoder:
        """The function that turns a handler's value into a payload (``None``: send nothing).

        The runtime type decides: ``str``/``bytes`` pass through and ``None`` means
        nothing to send, whatever the annotation says (so ``Optional[str]`` works);
        anything else is unstructured as ``annotation`` (``Any``: by its own type)
        and dumped as compact JSON.
        """
        unstructure = self.converter.unstructure
        as_type = None if annotation is Any else annotation

        def encode(value: Any) -> Payload | None:
            kind = type(value)
            if kind is str or kind is bytes or value is None:
                return value  # type: ignore[no-any-return]
            return _dumps(unstructure(value, as_type))

        return encode

    def dumps(self, value: Any) -> str:
        """Unstructure ``value`` by its own type and dump it as compact JSON."""
        return _dumps(self.converter.unstructure(value))
