"""Sans-I/O codec: transport modes, JSON, and validation into annotated types.

One :class:`Codec` (one cattrs converter) per App. Handlers ask it for a decoder
or an encoder when they are registered, so the per-message path is a single call
of a function chosen in advance.

Rules (docs/receiving-data.md and docs/sending-data.md):

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
import json
import math
import re
import sys
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeAlias

import cattrs

from ..exceptions import ImproperlyConfiguredError, InvalidMessageError
from .converter import make_json_converter
from .errors import describe
from .sendable import unsendable

__all__ = ["MAX_JSON_DEPTH", "MAX_JSON_INT_DIGITS", "Codec", "Mode", "Payload", "to_frame"]

Mode: TypeAlias = Literal["text", "binary"]
Payload: TypeAlias = str | bytes
Decoder: TypeAlias = Callable[[Payload], Any]
Encoder: TypeAlias = Callable[[Any], Payload | None]

#: Deepest nesting of arrays and objects accepted in a received message (as Ruby's
#: and Rails' JSON parsers). RFC 8259 section 9 lets a parser limit it; without a
#: limit a 200 KB message of ``[`` exhausts Python's recursion limit.
MAX_JSON_DEPTH = 100
#: Most digits of an integer accepted in a received message: Python's own default
#: (``sys.int_info.default_max_str_digits``), applied whatever the process sets, so
#: that ``sys.set_int_max_str_digits(0)`` elsewhere does not open the quadratic
#: conversion of huge integers to clients.
MAX_JSON_INT_DIGITS = 4300

# allow_nan=False: NaN and Infinity are not JSON (RFC 8259 section 6); refused
# on the way out as on the way in.
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode


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


class _IntegerTooLong(ValueError):
    pass


def _bounded_int(text: str) -> int:
    digits = len(text) - text.startswith("-")
    if digits > MAX_JSON_INT_DIGITS:
        raise _IntegerTooLong(f"integer too long: {digits} digits > {MAX_JSON_INT_DIGITS}")
    return int(text)


# Built once: json.loads(text, parse_constant=...) would build a decoder per call.
_loads = json.JSONDecoder(parse_constant=_reject_constant).decode
# Used only when a run of more digits than allowed appears in the text (maybe in a
# string): calling parse_int for every integer would slow every message down.
_loads_bounded = json.JSONDecoder(parse_constant=_reject_constant, parse_int=_bounded_int).decode
_LONG_DIGITS = re.compile(f"(?<![0-9])[0-9]{{{MAX_JSON_INT_DIGITS + 1}}}")


def _nested_deeper(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (iteratively: a
    recursive walk is what the limit protects against)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        for child in node.values() if type(node) is dict else node:
            if type(child) is list or type(child) is dict:
                stack.append((child, depth + 1))
    return False


def parse_json(data: Payload) -> Any:
    """Parse a JSON payload.

    Raises:
        InvalidMessageError: not UTF-8, not JSON, nested deeper than
            :data:`MAX_JSON_DEPTH` or with an integer longer than
            :data:`MAX_JSON_INT_DIGITS` digits (close 1007).
    """
    # Decode explicitly: json.loads would guess UTF-16/32 for bytes, but RFC 8259
    # section 8.1 requires UTF-8 between systems.
    text = data if type(data) is str else to_text(data)
    try:
        value = _loads(text) if _LONG_DIGITS.search(text) is None else _loads_bounded(text)
    except RecursionError:
        raise InvalidMessageError("JSON nested too deeply") from None
    except _IntegerTooLong as exc:
        raise InvalidMessageError(str(exc)) from None
    except ValueError as exc:
        if "integer string conversion" in str(exc):  # the process set a lower limit
            limit = sys.get_int_max_str_digits()
            raise InvalidMessageError(f"integer too long: more than {limit} digits") from None
        # json.JSONDecodeError is a ValueError; its message names line and column.
        raise InvalidMessageError(f"malformed JSON: {exc}") from None
    # Only a text with more brackets than the limit can nest deeper than it.
    if (
        text.count("[") + text.count("{") > MAX_JSON_DEPTH
        and type(value) in (list, dict)
        and _nested_deeper(value, MAX_JSON_DEPTH)
    ):
        raise InvalidMessageError("JSON nested too deeply")
    return value


def _non_finite(value: Any, path: str = "") -> str | None:
    """Where in an unstructured value a NaN or infinity is: ``"points[2].x: inf"``."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path or 'the value'}: {value!r}"
    if type(value) is dict:
        items: Any = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif type(value) in (list, tuple):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, child in items:
        found = _non_finite(child, where)
        if found is not None:
            return found
    return None


def _dump(value: Any) -> str:
    """Compact JSON of an unstructured value.

    Raises:
        ValueError: the value holds a NaN or infinity, named in the message: it has
            no JSON form (``Infinity`` is rejected by every JSON parser), so it is the
            application's error (close 1011).
    """
    try:
        return _dumps(value)
    except ValueError:
        where = _non_finite(value)
        if where is None:
            raise
        raise ValueError(
            f"cannot send {where} as JSON: NaN and infinities are not JSON numbers "
            f"(RFC 8259 section 6)"
        ) from None


class Codec:
    """Decoders and encoders for one App, built on one cattrs converter.

    Args:
        converter: A configured converter; :func:`make_json_converter` by default.
        forbid_unknown_fields: Without ``converter``, whether the default one
            refuses object keys the type does not read (``converter`` says it itself:
            cattrs' ``forbid_extra_keys``).
    """

    def __init__(
        self, converter: cattrs.Converter | None = None, *, forbid_unknown_fields: bool = False
    ) -> None:
        self.converter = (
            converter
            if converter is not None
            else make_json_converter(forbid_unknown_fields=forbid_unknown_fields)
        )
        # receive_json(type=...) asks per call; build each decoder once.
        self._decoders: dict[Any, Decoder] = {}
        self._variant: Codec | None = None

    @property
    def forbid_unknown_fields(self) -> bool:
        """Whether object keys that the type does not read close 1007 (else ignored)."""
        return bool(self.converter.forbid_extra_keys)

    def variant(self, forbid_unknown_fields: bool | None) -> Codec:
        """This codec, or its twin that decides unknown fields the other way.

        ``None`` keeps this codec: an App's, a Router's or a handler's option left
        unset inherits the layer above. The twin is a copy of this converter (its
        hooks included) with ``forbid_extra_keys`` changed, made once.
        """
        if forbid_unknown_fields is None or forbid_unknown_fields == self.forbid_unknown_fields:
            return self
        if self._variant is None:
            twin = Codec(self.converter.copy(forbid_extra_keys=forbid_unknown_fields))
            twin._variant = self
            self._variant = twin
        return self._variant

    def decoder(self, annotation: Any) -> Decoder:
        """The function that turns a received payload into ``annotation``.

        Args:
            annotation: ``str``, ``bytes``, ``Any`` (parsed JSON) or any type cattrs
                can structure.

        Returns:
            A one-argument function raising ``InvalidMessageError`` on bad input.

        Raises:
            ImproperlyConfiguredError: no message can be read as ``annotation`` (a
                type cattrs cannot structure, or an annotation that does not resolve).
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
        try:
            structure = self.converter.get_structure_hook(annotation)
        except Exception as exc:
            raise ImproperlyConfiguredError(
                f"messages cannot be read as {_type_name(annotation)}: {type(exc).__name__}: {exc}"
            ) from exc

        def decode(data: Payload) -> Any:
            value = parse_json(data)
            try:
                return structure(value, annotation)
            except RecursionError:
                raise InvalidMessageError("JSON nested too deeply") from None
            except Exception as exc:
                raise InvalidMessageError(describe(exc)) from None

        return decode

    def encoder(self, annotation: Any = Any) -> Encoder:
        """The function that turns a handler's value into a payload (``None``: send nothing).

        The runtime type decides: ``str``/``bytes`` pass through and ``None`` means
        nothing to send, whatever the annotation says (so ``Optional[str]`` works);
        anything else is unstructured as ``annotation`` (``Any``: by its own type)
        and dumped as compact JSON.

        Raises:
            ImproperlyConfiguredError: ``annotation`` holds a type with no JSON form.
        """
        try:
            found = unsendable(self.converter, annotation)
        except Exception as exc:  # e.g. a record field annotation that does not resolve
            raise ImproperlyConfiguredError(
                f"cannot send {_type_name(annotation)} as JSON: {type(exc).__name__}: {exc}"
            ) from exc
        if found is not None:
            raise ImproperlyConfiguredError(
                f"cannot send {_type_name(annotation)} as JSON: {found} has no JSON form "
                f"(annotate str or bytes to send it yourself)"
            )
        unstructure = self.converter.unstructure
        as_type = None if annotation is Any else annotation

        def encode(value: Any) -> Payload | None:
            kind = type(value)
            if kind is str or kind is bytes or value is None:
                return value  # type: ignore[no-any-return]
            return _dump(unstructure(value, as_type))

        return encode

    def dumps(self, value: Any) -> str:
        """Unstructure ``value`` by its own type and dump it as compact JSON.

        Raises:
            ValueError: the value holds a NaN or infinity.
        """
        return _dump(self.converter.unstructure(value))


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and typing.get_origin(annotation) is None:
        return annotation.__qualname__
    return repr(annotation)
