"""The per-message codec path: the decoder and encoder a listener picks at registration."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from wsactors.codec import Codec


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


@pytest.mark.parametrize(
    ("annotation", "payload", "expected"),
    [(str, TEXT, TEXT), (dict[str, Any], DICT_JSON, DICT), (Move, MOVE_JSON, MOVE)],
    ids=["str", "dict", "dataclass"],
)
def test_decode(
    benchmark: BenchmarkFixture, codec: Codec, annotation: Any, payload: str, expected: Any
) -> None:
    decode = codec.decoder(annotation)
    assert benchmark(decode, payload) == expected


@pytest.mark.parametrize(
    ("annotation", "value", "expected"),
    [(str, TEXT, TEXT), (dict[str, Any], DICT, DICT_JSON), (Move, MOVE, MOVE_JSON)],
    ids=["str", "dict", "dataclass"],
)
def test_encode(
    benchmark: BenchmarkFixture, codec: Codec, annotation: Any, value: Any, expected: str
) -> None:
    encode = codec.encoder(annotation)
    assert benchmark(encode, value) == expected
