"""The benchmark's push reader counts whole messages however the bytes are split."""

from __future__ import annotations

import pytest
from benchmarks.pushreader import FrameCounter
from websockets.frames import Close, Frame, Opcode


def _frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=False)


def test_counts_messages_split_anywhere() -> None:
    stream = b"".join(
        [_frame(Opcode.TEXT, b"x" * 64)] * 3
        + [_frame(Opcode.BINARY, b"y" * 64)]
        + [_frame(Opcode.TEXT, b"a" * 10, fin=False), _frame(Opcode.CONT, b"b" * 54)]
        + [_frame(Opcode.PING, b"")]
        + [_frame(Opcode.TEXT, b"z" * 64)]
        + [Frame(Opcode.CLOSE, Close(1000, "").serialize()).serialize(mask=False)]
    )
    for step in (1, 3, 7, 64, len(stream)):
        counter = FrameCounter(64)
        for start in range(0, len(stream), step):
            counter.feed(stream[start : start + step])
        assert counter.messages == 6
        assert counter.closed


def test_long_lengths() -> None:
    for size in (200, 70_000):
        counter = FrameCounter(size)
        counter.feed(_frame(Opcode.BINARY, b"q" * size) * 2)
        assert counter.messages == 2


def test_wrong_size_and_masked_frames_are_errors() -> None:
    with pytest.raises(ValueError, match="1: 3 bytes"):
        FrameCounter(64).feed(_frame(Opcode.TEXT, b"abc"))
    with pytest.raises(ValueError, match="masked"):
        FrameCounter(3).feed(Frame(Opcode.TEXT, b"abc").serialize(mask=True))
