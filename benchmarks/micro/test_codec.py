"""The per-message codec path: the decoder and encoder a listener picks at registration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from wsactors.codec.codec import Codec


@dataclass
class Move:
    """A typical small typed message."""

    room: str
    x: int
    y: int
    note: str | None = None


MOVE = Move(room="lobby", x=3, y=-7, note="hello")
#: Compact JSON, as the encoder writes it.
MOVE_JSON = '{"room":"lobby","x":3,"y":-7,"note":"hello"}'
DICT = {"room": "lobby", "x": 3, "y": -7, "tags": ["a", "b"]}
DICT_JSON = json.dumps(DICT, separators=(",", ":"))
TEXT = "x" * 64


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


#: ``(annotation, value, wire)``: the decoder turns ``wire`` into ``value``, the encoder
#: ``value`` into ``wire``.
cases = pytest.mark.parametrize(
    ("annotation", "value", "wire"),
    [(str, TEXT, TEXT), (dict[str, Any], DICT, DICT_JSON), (Move, MOVE, MOVE_JSON)],
    ids=["str", "dict", "dataclass"],
)


@cases
def test_decode(
    benchmark: BenchmarkFixture, codec: Codec, annotation: Any, value: Any, wire: str
) -> None:
    decode = codec.decoder(annotation)
    assert benchmark(decode, wire) == value


@cases
def test_encode(
    benchmark: BenchmarkFixture, codec: Codec, annotation: Any, value: Any, wire: str
) -> None:
    encode = codec.encoder(annotation)
    assert benchmark(encode, value) == wire
