"""FrameScanner + MessageAssembler.check_ahead: invalid UTF-8 inside a frame in flight.

The bytes are real client frames (websockets' serializer, masked), split the way
Autobahn's cases 6.4.3/6.4.4 split them and at every other offset.
"""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from wsactors.transport.native.assembler import AssemblyError, MessageAssembler
from wsactors.transport.native.framescan import FrameScanner

_BAD = "κόσμε".encode() + b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xf4\x90\x80\x80"


def _frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=True)


def _run(stream: bytes, cuts: list[int]) -> tuple[list[tuple[bytes, bool, bool]], list[int]]:
    """Feed ``stream`` in pieces ending at ``cuts``: what the scanner returned, and where."""
    scanner = FrameScanner()
    got: list[tuple[bytes, bool, bool]] = []
    where: list[int] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        ahead = scanner.feed(stream[start:cut])
        if ahead is not None:
            got.append(ahead)
            where.append(cut)
        start = cut
    return got, where


def test_whole_frames_give_nothing() -> None:
    stream = _frame(Opcode.TEXT, b"hello") * 3 + _frame(Opcode.BINARY, b"\xff" * 300)
    assert _run(stream, []) == ([], [])
    assert _run(stream, [len(_frame(Opcode.TEXT, b"hello"))]) == ([], [])


def test_a_text_frame_in_flight_is_unmasked_chunk_by_chunk() -> None:
    payload = ("é" * 100).encode()
    stream = _frame(Opcode.TEXT, payload)
    for first_cut in range(7, len(stream) - 1, 13):
        cuts = [first_cut, first_cut + 1, len(stream) - 1]
        got, _ = _run(stream, cuts)
        assert b"".join(chunk for chunk, _, _ in got) == payload[: len(payload) - 1]
        assert [first for _, first, _ in got] == [True] + [False] * (len(got) - 1)
        assert not any(cont for _, _, cont in got)


def test_a_header_split_anywhere_keeps_the_boundaries() -> None:
    payload = b"x" * 70_000  # a 64-bit length
    stream = _frame(Opcode.PING, b"p") + _frame(Opcode.TEXT, payload)
    for cut in range(1, 20):
        got, _ = _run(stream, [cut, len(stream) - 10])
        assert b"".join(chunk for chunk, _, _ in got) == payload[:-10]


def test_binary_and_compressed_frames_are_not_returned() -> None:
    stream = _frame(Opcode.BINARY, b"\xff" * 100)
    assert _run(stream, [50]) == ([], [])
    compressed = bytearray(_frame(Opcode.TEXT, b"\xff" * 100))
    compressed[0] |= 0x40  # RSV1: permessage-deflate
    assert _run(bytes(compressed), [50]) == ([], [])


def test_continuations_of_text_only() -> None:
    text = _frame(Opcode.TEXT, b"ab", fin=False) + _frame(Opcode.CONT, b"c" * 50)
    got, _ = _run(text, [len(text) - 5])
    assert [cont for _, _, cont in got] == [True]
    binary = _frame(Opcode.BINARY, b"ab", fin=False) + _frame(Opcode.CONT, b"c" * 50)
    assert _run(binary, [len(binary) - 5]) == ([], [])
    # A ping between the fragments belongs to no message.
    pinged = (
        _frame(Opcode.TEXT, b"ab", fin=False)
        + _frame(Opcode.PING, b"")
        + _frame(Opcode.CONT, b"c" * 50)
    )
    got, _ = _run(pinged, [len(pinged) - 5])
    assert [cont for _, _, cont in got] == [True]


def test_stop_scans_no_more() -> None:
    scanner = FrameScanner()
    scanner.stop()
    assert scanner.feed(_frame(Opcode.TEXT, b"x" * 50)[:20]) is None


@pytest.mark.parametrize("cut_after_bad", [False, True])
def test_autobahn_6_4_3_fails_on_the_second_chop(cut_after_bad: bool) -> None:
    # 6.4.3: three chops of one frame, the bad octet in the second; 6.4.4: the
    # second chop ends with it.
    payload = _BAD + b"edited"
    stream = _frame(Opcode.TEXT, payload)
    header = len(stream) - len(payload)
    bad_at = payload.index(b"\xf4\x90")  # U+110000: out of range at its second byte
    second_end = header + bad_at + (2 if cut_after_bad else 4)
    scanner = FrameScanner()
    assembler = MessageAssembler(100)
    first = scanner.feed(stream[: header + 12])
    assert first is not None
    assembler.check_ahead(*first)
    second = scanner.feed(stream[header + 12 : second_end])
    assert second is not None
    with pytest.raises(AssemblyError) as caught:
        assembler.check_ahead(*second)
    assert caught.value.code == 1007
    assert caught.value.reason == f"invalid UTF-8 at byte {bad_at}"


def test_a_continuation_is_checked_with_the_message_so_far() -> None:
    assembler = MessageAssembler(100)
    euro = "€".encode()  # 3 bytes, split across the fragments
    assert assembler.feed(Frame(Opcode.TEXT, b"ab" + euro[:1], fin=False)) is None
    # The continuation's first bytes complete the character: valid.
    assembler.check_ahead(euro[1:] + b"cd", True, True)
    # A later chunk of the same frame with a bad byte fails, with the message offset.
    with pytest.raises(AssemblyError, match="at byte 7"):
        assembler.check_ahead(b"\xff", False, True)


def test_a_whole_frame_after_chunks_is_assembled_as_usual() -> None:
    assembler = MessageAssembler(100)
    assembler.check_ahead("ké".encode(), True, False)
    assert assembler.feed(Frame(Opcode.TEXT, "kéy".encode())) == "kéy"


def _tail(scanner: FrameScanner, data: bytes) -> tuple[int, int] | None:
    scanner.feed(data)
    return scanner.tail


def test_the_tail_is_where_the_payload_of_a_frame_left_unfinished_begins() -> None:
    small = _frame(Opcode.TEXT, b"hi")
    big = _frame(Opcode.BINARY, b"x" * 70000)  # 2 + 8 bytes of header, 4 of mask
    scanner = FrameScanner()
    assert _tail(scanner, small + big[:100]) == (len(small) + 14, 70000)
    assert _tail(scanner, big[100:200]) is None  # inside the same payload: it began earlier
    assert _tail(scanner, big[200:] + small) is None  # whole frames only
    # A header split between reads: the offset is in the read that ends it.
    assert _tail(scanner, big[:5]) is None
    assert _tail(scanner, big[5:20]) == (14 - 5, 70000)


def test_boundaries_are_followed_once_text_is_no_longer_checked() -> None:
    scanner = FrameScanner()
    scanner.stop()
    text = _frame(Opcode.TEXT, b"\xff" * 200)
    assert scanner.feed(text[:50]) is None  # no text checked
    assert scanner.tail == (8, 200)
