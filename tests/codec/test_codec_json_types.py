"""The codec reads arrays only from JSON arrays, validates enums, and writes UUID and
Decimal as strings: what their JSON Schemas in the AsyncAPI document say."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

import pytest

from wsactors.codec.codec import Codec
from wsactors.codec.dto import DTO
from wsactors.exceptions import InvalidMessageError


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Shade(enum.StrEnum):
    DARK = "dark"


class Mixed(enum.Enum):
    NAME = "name"
    ONE = 1


class Pair(NamedTuple):
    left: str
    right: str


@dataclass
class Row:
    name: str
    secret: str = ""


@pytest.mark.parametrize(
    "annotation",
    [list[str], set[str], frozenset[str], tuple[str, ...], tuple[str, str], Sequence[str], Pair],
)
def test_arrays_come_only_from_json_arrays(annotation: Any) -> None:
    decode = Codec().decoder(annotation)
    with pytest.raises(InvalidMessageError, match="expected a JSON array, got string"):
        decode('"ab"')
    assert list(decode('["a", "b"]')) in (["a", "b"], ["b", "a"])


def test_array_kinds_keep_their_python_type() -> None:
    codec = Codec()
    assert codec.decoder(set[int])("[1, 1, 2]") == {1, 2}
    assert codec.decoder(frozenset[int])("[1]") == frozenset({1})
    assert codec.decoder(tuple[int, ...])("[1, 2]") == (1, 2)
    assert codec.decoder(Pair)('["a", "b"]') == Pair("a", "b")
    with pytest.raises(InvalidMessageError, match="Too many values"):
        codec.decoder(tuple[int, int])("[1, 2, 3]")


@dataclass
class Table:
    head: Row


def test_a_dto_reaches_the_elements_of_a_list_and_the_fields_of_records() -> None:
    codec = Codec(DTO(Row, exclude={"secret"}).input_converter(Codec().converter))
    assert codec.decoder(list[Row])('[{"name": "a", "secret": "s"}]') == [Row("a")]
    payload = '{"head": {"name": "a", "secret": "s"}}'
    assert codec.decoder(Table)(payload) == Table(Row("a"))
    assert codec.decoder(Table | Row)(payload) == Table(Row("a"))


@pytest.mark.parametrize(
    ("annotation", "payload", "expected"),
    [
        (Level, "2", Level.HIGH),
        (list[Level], "[1]", [Level.LOW]),
        (Shade, '"dark"', Shade.DARK),
        (Mixed, "1", Mixed.ONE),
        (Mixed, '"name"', Mixed.NAME),
    ],
)
def test_enum_members_from_their_values(annotation: Any, payload: str, expected: Any) -> None:
    assert Codec().decoder(annotation)(payload) == expected


@pytest.mark.parametrize(
    ("annotation", "payload", "reason"),
    [
        (Level, "0", "0 is not a valid Level"),
        (list[Level], "[3]", "3 is not a valid Level"),
        (Level, "true", "expected int, got bool"),
        (Level, "1.0", "expected int, got float"),
        (Shade, '"light"', "'light' is not a valid Shade"),
        (Mixed, "true", "expected one of ['name', 1], got True"),
    ],
)
def test_enum_values_that_are_no_member_close_1007(
    annotation: Any, payload: str, reason: str
) -> None:
    with pytest.raises(InvalidMessageError, match=reason.replace("[", r"\[")):
        Codec().decoder(annotation)(payload)


def test_uuid_and_decimal_are_written_as_strings() -> None:
    codec = Codec()
    value = uuid.uuid4()
    assert codec.decoder(uuid.UUID)(f'"{value}"') == value
    assert codec.decoder(Decimal)('"1.50"') == Decimal("1.50")
    assert codec.encoder()(value) == f'"{value}"'
    assert codec.encoder()(Decimal("1.50")) == '"1.50"'
    # A JSON number is read too (exactly as written: 1.5 -> Decimal("1.5")); the
    # AsyncAPI schema says so with anyOf [string, number].
    assert codec.decoder(Decimal)("1.5") == Decimal("1.5")
    with pytest.raises(InvalidMessageError, match="UUID"):
        codec.decoder(uuid.UUID)('"not-a-uuid"')
