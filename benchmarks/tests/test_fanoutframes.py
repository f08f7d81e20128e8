"""The fan-out benchmark's frame reader and statistics, byte by byte, no sockets."""

from __future__ import annotations

import json
import math
from array import array

import pytest
from benchmarks.fanoutframes import (
    StampReader,
    encode_message,
    latency_summary,
    masked_frame,
    percentile,
)
from websockets.frames import Close, Frame, Opcode
from websockets.streams import StreamReader


def _frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=False)


def _text(text: str) -> bytes:
    return _frame(Opcode.TEXT, text.encode())


def _stream() -> bytes:
    """Deliveries as each server sends them, a Gap, a ping, a stale one, then a close."""
    return b"".join(
        [
            _text(encode_message(10.0, 0, 64)),  # forwarded as published
            _text(json.dumps({"t": 10.25, "seq": 1, "pad": "x"})),  # re-encoded, spaces
            _text('{"seq": 2, "t": 10.5}'),  # the stamp last
            _text('{"type": "gap", "topic": "room", "reason": "overflow", "count": 3}'),
            _frame(Opcode.PING, b"keepalive"),
            _frame(Opcode.PONG, b""),
            _text(encode_message(9.0, 3, 64)),  # before `since`: stale
            _frame(Opcode.BINARY, b"\x00"),
            _text("hello"),
            _text(encode_message(10.0, 4, 70_000)),  # a 64-bit length
            Frame(Opcode.CLOSE, Close(1000, "").serialize()).serialize(mask=False),
            _text(encode_message(10.0, 5, 64)),  # after the close: never read
        ]
    )


@pytest.mark.parametrize("step", [1, 2, 3, 7, 64, 1000, 10**6])
def test_reads_every_frame_however_the_bytes_are_split(step: int) -> None:
    stream = _stream()
    latencies: array[float] = array("d")
    reader = StampReader(latencies, since=9.5)
    for start in range(0, len(stream), step):
        reader.feed(memoryview(stream)[start : start + step], now=11.0)
    assert reader.deliveries == 4
    assert list(latencies) == [1.0, 0.75, 0.5, 1.0]
    assert (reader.gaps, reader.stale, reader.other) == (1, 1, 2)
    assert reader.pings == [b"keepalive"]
    assert reader.closed


def test_reset_starts_a_phase() -> None:
    latencies: array[float] = array("d")
    reader = StampReader(latencies)
    reader.feed(_text(encode_message(1.0, 0, 64)) + _text("{}"), now=2.0)
    assert (reader.deliveries, reader.other) == (1, 1)
    reader.reset(since=5.0)
    assert (reader.deliveries, reader.other, reader.stale, reader.gaps) == (0, 0, 0, 0)
    reader.feed(_text(encode_message(4.0, 1, 64)) + _text(encode_message(6.0, 2, 64)), 6.5)
    assert (reader.deliveries, reader.stale) == (1, 1)
    assert list(latencies) == [1.0, 0.5]


def test_refuses_masked_and_fragmented_frames_and_bad_stamps() -> None:
    reader = StampReader(array("d"))
    with pytest.raises(ValueError, match="masked"):
        reader.feed(Frame(Opcode.TEXT, b"{}").serialize(mask=True), 0.0)
    with pytest.raises(ValueError, match="fragmented"):
        StampReader(array("d")).feed(_frame(Opcode.TEXT, b'{"t":', fin=False), 0.0)
    with pytest.raises(ValueError, match="fragmented"):
        StampReader(array("d")).feed(_frame(Opcode.CONT, b"1}"), 0.0)
    with pytest.raises(ValueError, match="could not convert"):
        StampReader(array("d")).feed(_text('{"t": "soon", "seq": 1}'), 0.0)


def test_encode_message_is_json_of_the_size_asked_with_the_stamp_first() -> None:
    for size in (64, 200, 1000):
        message = encode_message(1234.5678901, 17, size)
        assert len(message) == size
        assert message.startswith('{"t":1234.567890,')
        assert json.loads(message)["seq"] == 17
    assert json.loads(encode_message(1.0, 3, 0)) == {"t": 1.0, "seq": 3, "pad": ""}


def test_masked_frame_is_a_valid_client_frame() -> None:
    frame = masked_frame(0xA, b"abc")
    # websockets' own parser, as a server reads it (mask=True: a client's frame).
    stream = StreamReader()
    stream.feed_data(frame)
    parser = Frame.parse(stream.read_exact, mask=True)
    with pytest.raises(StopIteration) as done:
        next(parser)
    assert done.value.value == Frame(Opcode.PONG, b"abc")
    assert frame[0] == 0x8A  # FIN, pong
    assert frame[1] == 0x80 | 3  # masked, 3 bytes
    assert frame[2:6] == b"\x00\x00\x00\x00"  # the zero key leaves the payload as is
    assert frame[6:] == b"abc"
    with pytest.raises(ValueError, match="125"):
        masked_frame(0xA, b"x" * 126)


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 0.50) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile(values, 0.0) == 1.0
    assert percentile([7.0], 0.99) == 7.0
    assert math.isnan(percentile([], 0.5))


def test_latency_summary_in_milliseconds() -> None:
    summary = latency_summary([0.003, 0.001] + [0.002] * 98)
    assert summary == pytest.approx({"p50_ms": 2.0, "p99_ms": 2.0, "max_ms": 3.0})
    assert latency_summary([0.001] * 98 + [0.005, 0.009])["p99_ms"] == pytest.approx(5.0)
    empty = latency_summary([])
    assert all(math.isnan(value) for value in empty.values())
