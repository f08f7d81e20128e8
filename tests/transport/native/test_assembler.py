"""MessageAssembler: reassembly and incremental UTF-8 validation, without I/O."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from wsactors.transport.native.assembler import GATHER, AssemblyError, MessageAssembler


def frames(opcode: Opcode, *parts: bytes) -> list[Frame]:
    last = len(parts) - 1
    return [
        Frame(opcode if i == 0 else Opcode.CONT, part, fin=i == last)
        for i, part in enumerate(parts)
    ]


def test_a_single_frame_is_a_message() -> None:
    assembler = MessageAssembler(8)
    assert assembler.feed(Frame(Opcode.TEXT, "é".encode())) == "é"
    assert assembler.feed(Frame(Opcode.BINARY, b"\xff")) == b"\xff"


def test_fragments_are_joined_even_inside_a_character() -> None:
    assembler = MessageAssembler(8)
    encoded = "a€😀".encode()
    out = [assembler.feed(f) for f in frames(Opcode.TEXT, encoded[:2], encoded[2:5], encoded[5:])]
    assert out == [None, None, "a€😀"]
    assert not assembler.in_progress


def test_a_bad_byte_in_the_first_fragment_fails_at_once() -> None:
    assembler = MessageAssembler(8)
    with pytest.raises(AssemblyError) as failed:
        assembler.feed(Frame(Opcode.TEXT, b"ok\xff", fin=False))
    assert (failed.value.code, failed.value.reason) == (1007, "invalid UTF-8 at byte 2")


def test_an_unfinished_character_at_the_end_fails() -> None:
    assembler = MessageAssembler(8)
    assert assembler.feed(Frame(Opcode.TEXT, b"\xe2\x82", fin=False)) is None
    with pytest.raises(AssemblyError) as failed:
        assembler.feed(Frame(Opcode.CONT, b"", fin=True))
    assert failed.value.code == 1007


def test_binary_is_not_decoded() -> None:
    assembler = MessageAssembler(8)
    out = [assembler.feed(f) for f in frames(Opcode.BINARY, b"\xff", b"\xfe")]
    assert out == [None, b"\xff\xfe"]


def test_the_fragment_limit_counts_every_frame_of_a_message() -> None:
    assembler = MessageAssembler(2)
    assert [assembler.feed(f) for f in frames(Opcode.BINARY, b"a", b"b")] == [None, b"ab"]
    assembler.feed(Frame(Opcode.BINARY, b"a", fin=False))
    assembler.feed(Frame(Opcode.CONT, b"b", fin=False))
    with pytest.raises(AssemblyError) as failed:
        assembler.feed(Frame(Opcode.CONT, b"c", fin=True))
    assert failed.value.code == 1009


def test_a_large_fragment_is_kept_as_it_came_and_small_ones_gathered() -> None:
    assembler = MessageAssembler(100)
    large = b"L" * GATHER
    assert assembler.feed(Frame(Opcode.BINARY, large, fin=False)) is None
    for _ in range(50):
        assert assembler.feed(Frame(Opcode.CONT, b"s" * 10, fin=False)) is None
    buffer = assembler.buffer
    assert buffer is not None
    assert buffer[0] is large  # not copied while the message is unfinished
    assert len(buffer) == 2  # the 50 small fragments in one chunk
    assert assembler.size == GATHER + 500
    assert assembler.feed(Frame(Opcode.CONT, b"!")) == large + b"s" * 500 + b"!"
    assert assembler.size == 0
    assert assembler.buffer is None


def test_small_fragments_start_a_new_chunk_past_the_gather_size() -> None:
    assembler = MessageAssembler(100)
    piece = b"p" * (GATHER // 3 + 1)
    assembler.feed(Frame(Opcode.TEXT, piece, fin=False))
    assembler.feed(Frame(Opcode.CONT, piece, fin=False))
    assembler.feed(Frame(Opcode.CONT, piece, fin=False))
    assert assembler.buffer is not None
    assert [len(chunk) for chunk in assembler.buffer] == [2 * len(piece), len(piece)]
    assert assembler.feed(Frame(Opcode.CONT, b"")) == (piece * 3).decode()
