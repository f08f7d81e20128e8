"""Sans-I/O tests of the codec: transport modes, JSON, validation -> close 1007.

No ``from __future__ import annotations`` here: the types below are the real ones,
except where a test asks for string annotations on purpose.
"""

import base64
import decimal
import sys
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypedDict

import attrs
import pytest

from wsactors import ImproperlyConfiguredError, WebSocketException
from wsactors.codec.codec import (
    MAX_JSON_DEPTH,
    MAX_JSON_INT_DIGITS,
    Codec,
    parse_json,
    to_bytes,
    to_frame,
    to_text,
)
from wsactors.exceptions import InvalidMessageError


@dataclass
class Point:
    x: int
    y: int


@dataclass
class Shape:
    name: str
    points: list[Point]


@attrs.define
class Tagged:
    tag: str
    weight: float


class Movie(TypedDict):
    title: str
    year: int


class Pair(NamedTuple):
    left: int
    right: str


class LazyPair(NamedTuple):
    # What `from __future__ import annotations` (PEP 563) makes of `left: int`.
    left: "int"
    right: "str"


@pytest.fixture
def codec() -> Codec:
    return Codec()


def decode_error(codec: Codec, annotation: Any, payload: str | bytes) -> InvalidMessageError:
    with pytest.raises(InvalidMessageError) as caught:
        codec.decoder(annotation)(payload)
    error = caught.value
    assert isinstance(error, WebSocketException)
    assert error.code == 1007
    return error


# --------------------------------------------------------------------- modes
def test_to_text_passes_text_and_decodes_utf8_bytes() -> None:
    assert to_text("é") == "é"
    assert to_text("é".encode()) == "é"


def test_to_text_rejects_invalid_utf8_with_1007_naming_the_byte() -> None:
    with pytest.raises(InvalidMessageError) as caught:
        to_text(b"ok\xff")
    assert caught.value.code == 1007
    assert "UTF-8" in caught.value.reason
    assert "byte 2" in caught.value.reason


def test_to_bytes_encodes_text_and_passes_bytes() -> None:
    assert to_bytes("é") == b"\xc3\xa9"
    assert to_bytes(b"\x00\xff") == b"\x00\xff"


def test_to_frame_picks_the_frame_type() -> None:
    assert to_frame("é", "text") == "é"
    assert to_frame(b"\xc3\xa9", "text") == "é"
    assert to_frame("é", "binary") == b"\xc3\xa9"
    assert to_frame(b"\x01", "binary") == b"\x01"


def test_to_frame_rejects_unknown_modes() -> None:
    with pytest.raises(ValueError, match="mode"):
        to_frame("x", "json")  # type: ignore[arg-type]


# --------------------------------------------------------------------- decoders
def test_str_and_bytes_arrive_as_is_from_either_frame_type(codec: Codec) -> None:
    assert codec.decoder(str)("not json {") == "not json {"
    assert codec.decoder(str)("é".encode()) == "é"
    assert codec.decoder(bytes)(b"\xff\x00") == b"\xff\x00"
    assert codec.decoder(bytes)("é") == b"\xc3\xa9"


def test_any_means_parsed_json(codec: Codec) -> None:
    assert codec.decoder(Any)('{"a": [1, 2.5, null, true]}') == {"a": [1, 2.5, None, True]}
    assert codec.decoder(Any)(b'"binary json"') == "binary json"


def test_decoders_are_built_once(codec: Codec) -> None:
    assert codec.decoder(Point) is codec.decoder(Point)


def test_dataclass_is_structured(codec: Codec) -> None:
    assert codec.decoder(Point)('{"x": 1, "y": 2}') == Point(1, 2)
    assert codec.decoder(Point)(b'{"x": 1, "y": 2}') == Point(1, 2)


def test_nested_list_of_dataclasses(codec: Codec) -> None:
    payload = '{"name": "tri", "points": [{"x": 0, "y": 0}, {"x": 1, "y": 1}]}'
    assert codec.decoder(Shape)(payload) == Shape("tri", [Point(0, 0), Point(1, 1)])


def test_attrs_typeddict_namedtuple_and_containers(codec: Codec) -> None:
    assert codec.decoder(Tagged)('{"tag": "a", "weight": 2}') == Tagged("a", 2.0)
    assert codec.decoder(Movie)('{"title": "M", "year": 1931}') == {"title": "M", "year": 1931}
    assert codec.decoder(Pair)('[1, "r"]') == Pair(1, "r")
    assert codec.decoder(list[Point])('[{"x": 1, "y": 2}]') == [Point(1, 2)]
    assert codec.decoder(dict[str, int])('{"a": 1}') == {"a": 1}
    assert codec.decoder(int | None)("null") is None
    assert codec.decoder(int | None)("3") == 3


def test_float_accepts_integers(codec: Codec) -> None:
    value = codec.decoder(float)("3")
    assert value == 3.0
    assert type(value) is float


def test_wrong_type_is_1007_naming_the_field(codec: Codec) -> None:
    error = decode_error(codec, Point, '{"x": 1, "y": "2"}')
    assert error.reason == "y: expected int, got str"


def test_validation_is_strict_bool_is_not_int(codec: Codec) -> None:
    error = decode_error(codec, Point, '{"x": true, "y": 1}')
    assert error.reason == "x: expected int, got bool"


def test_missing_field_is_1007_naming_the_field(codec: Codec) -> None:
    error = decode_error(codec, Point, '{"x": 1}')
    assert error.reason == "y: required field missing"


def test_nested_error_names_the_path(codec: Codec) -> None:
    payload = '{"name": "tri", "points": [{"x": 0, "y": 0}, {"x": 1, "y": "z"}]}'
    error = decode_error(codec, Shape, payload)
    assert error.reason == "points[1].y: expected int, got str"


def test_list_item_error_names_the_index(codec: Codec) -> None:
    error = decode_error(codec, list[int], '[1, "2"]')
    assert error.reason == "[1]: expected int, got str"


def test_scalar_error_has_no_path(codec: Codec) -> None:
    assert decode_error(codec, int, '"5"').reason == "expected int, got str"
    assert decode_error(codec, str, b"\xff").reason.startswith("invalid UTF-8")


def test_malformed_json_is_1007(codec: Codec) -> None:
    error = decode_error(codec, Point, "{not json")
    assert error.reason.startswith("malformed JSON")
    assert "line 1" in error.reason
    assert decode_error(codec, Any, "").reason.startswith("malformed JSON")


def test_invalid_utf8_json_is_1007(codec: Codec) -> None:
    error = decode_error(codec, Any, b'{"a": "\xff"}')
    assert "UTF-8" in error.reason


def test_json_bytes_in_utf16_are_not_guessed() -> None:
    # RFC 8259 section 8.1: JSON between systems is UTF-8; json.loads would guess UTF-16.
    with pytest.raises(InvalidMessageError):
        parse_json('"x"'.encode("utf-16"))


@pytest.mark.parametrize("payload", ["NaN", "Infinity", '{"x": -Infinity}'])
def test_non_standard_json_constants_are_rejected(payload: str) -> None:
    with pytest.raises(InvalidMessageError):
        parse_json(payload)


def test_namedtuple_with_postponed_annotations(codec: Codec) -> None:
    assert codec.decoder(LazyPair)('[1, "r"]') == LazyPair(1, "r")


def test_extra_keys_are_ignored(codec: Codec) -> None:
    assert codec.decoder(Point)('{"x": 1, "y": 2, "z": 3}') == Point(1, 2)


# --------------------------------------------------------------------- encoders
def test_encoder_none_str_bytes_pass_through(codec: Codec) -> None:
    encode = codec.encoder()
    assert encode(None) is None
    assert encode("raw text") == "raw text"
    assert encode(b"\x00raw") == b"\x00raw"


def test_encoder_dumps_compact_json(codec: Codec) -> None:
    encode = codec.encoder()
    assert encode(Point(1, 2)) == '{"x":1,"y":2}'
    assert encode([Point(1, 2)]) == '[{"x":1,"y":2}]'
    assert encode({"k": "é"}) == '{"k":"é"}'  # not \\u-escaped
    assert encode(3) == "3"
    assert encode(True) == "true"


def test_encoder_with_an_annotation(codec: Codec) -> None:
    encode = codec.encoder(list[Point])
    assert encode([Point(3, 4)]) == '[{"x":3,"y":4}]'
    # The runtime type wins for str, bytes and None whatever the annotation.
    assert codec.encoder(str | None)(None) is None


def test_dumps_round_trips_through_the_decoder(codec: Codec) -> None:
    shape = Shape("sq", [Point(0, 0), Point(0, 1)])
    assert codec.decoder(Shape)(codec.dumps(shape)) == shape


def test_sending_non_utf8_bytes_as_text_is_the_applications_error() -> None:
    # Invalid UTF-8 *received* is the client's fault (1007); sending it is ours (1011).
    with pytest.raises(ValueError, match="not UTF-8"):
        to_frame(b"\xff\xfe", "text")
    assert to_frame(b"\xff\xfe", "binary") == b"\xff\xfe"


@dataclass
class ChatLine:
    name: str
    text: str


@dataclass
class StatsAsk:
    stats: bool


def test_union_of_records_is_decided_in_declaration_order(codec: Codec) -> None:
    decode = codec.decoder(ChatLine | StatsAsk)
    assert decode('{"stats": true}') == StatsAsk(True)
    assert decode('{"name": "a", "text": "b"}') == ChatLine("a", "b")
    with pytest.raises(InvalidMessageError) as caught:
        decode('{"name": "x"}')
    # Not cattrs' set-order dependent "Couldn't disambiguate": the closest member speaks.
    assert (
        caught.value.reason
        == "fits none of ChatLine, StatsAsk; as ChatLine: text: required field missing"
    )


@pytest.mark.parametrize(
    ("payload", "kind"), [("[1, 2]", "array"), ("5", "number"), ('"s"', "string")]
)
def test_a_record_needs_a_json_object(codec: Codec, payload: str, kind: str) -> None:
    with pytest.raises(InvalidMessageError, match=f"expected a JSON object, got {kind}"):
        codec.decoder(Point)(payload)


# --------------------------------------------------------------------- bounds (issue 13)
def test_nesting_up_to_the_limit_parses_and_one_more_level_is_1007() -> None:
    assert parse_json("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH) is not None
    deeper = '{"a":' * MAX_JSON_DEPTH + "[]" + "}" * MAX_JSON_DEPTH
    with pytest.raises(InvalidMessageError, match=r"^1007: JSON nested too deeply$"):
        parse_json(deeper)


def test_nesting_beyond_the_recursion_limit_is_1007_not_a_recursion_error() -> None:
    with pytest.raises(InvalidMessageError, match=r"^1007: JSON nested too deeply$"):
        parse_json("[" * 100_000 + "]" * 100_000)


def test_many_brackets_side_by_side_are_not_deep() -> None:
    assert parse_json("[" + ",".join(["[]"] * 500) + "]") == [[]] * 500


def test_integers_are_bounded_in_digits() -> None:
    assert parse_json("-" + "9" * MAX_JSON_INT_DIGITS) == -int("9" * MAX_JSON_INT_DIGITS)
    with pytest.raises(InvalidMessageError, match=r"^1007: integer too long: 4301 digits > 4300$"):
        parse_json("[" + "9" * (MAX_JSON_INT_DIGITS + 1) + "]")
    # Digits in a string, and a long fraction, are not integers.
    assert parse_json(f'"{"7" * 5000}"') == "7" * 5000
    assert parse_json("0." + "5" * 5000) == 0.5555555555555556


def test_a_lower_process_integer_limit_is_reported_too() -> None:
    before = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(1000)
    try:
        with pytest.raises(
            InvalidMessageError, match=r"^1007: integer too long: more than 1000 digits$"
        ):
            parse_json("1" * 2000)
    finally:
        sys.set_int_max_str_digits(before)


# --------------------------------------------------------------------- outgoing JSON
def test_non_finite_floats_are_refused_naming_where_they_are(codec: Codec) -> None:
    with pytest.raises(ValueError, match=r"cannot send shapes\[1\]\.x: nan as JSON"):
        codec.encoder()({"shapes": [{"x": 1.0}, {"x": float("nan")}]})
    with pytest.raises(ValueError, match=r"cannot send the value: inf as JSON"):
        codec.dumps(float("inf"))


# --------------------------------------------------------------------- stdlib types
def test_bytes_fields_are_standard_base64_both_ways(codec: Codec) -> None:
    @dataclass
    class Blob:
        data: bytes

    raw = b"\xfb\xff\x00hello"
    text = base64.b64encode(raw).decode()
    assert "+" in text or "/" in text  # the standard alphabet, not urlsafe or base85
    assert codec.encoder(Blob)(Blob(raw)) == f'{{"data":"{text}"}}'
    assert codec.decoder(Blob)(f'{{"data":"{text}"}}') == Blob(raw)


def test_decimals_refuse_nan_and_are_sent_as_strings(codec: Codec) -> None:
    assert decode_error(codec, decimal.Decimal, '"NaN"').reason == (
        "expected a decimal number or string"
    )
    assert codec.encoder(list[decimal.Decimal])([decimal.Decimal("1.10")]) == '["1.10"]'


def test_an_unsupported_type_is_improperly_configured_both_ways(codec: Codec) -> None:
    with pytest.raises(ImproperlyConfiguredError, match=r"messages cannot be read as complex"):
        codec.decoder(complex)
    with pytest.raises(ImproperlyConfiguredError, match=r"complex'> has no JSON form"):
        codec.encoder(dict[str, complex | None])


def test_literals_are_strict_and_name_the_choices(codec: Codec) -> None:
    assert codec.decoder(Literal["a", 1])("1") == 1
    assert decode_error(codec, Literal["a", 1], "true").reason == (
        'expected one of "a", 1, got boolean'
    )
