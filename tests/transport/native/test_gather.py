"""A large frame's payload, gathered by the core and handed to the parser whole.

Byte by byte, without a socket: what an unfinished message holds (the budget's
count), the frame fed in small pieces, split headers, limits, fragments, the
fail-fast UTF-8 check, permessage-deflate, and the ends of a connection in the
middle of such a frame.
"""

from __future__ import annotations

import os
import zlib

from test_core import Peer, close_of, frame
from websockets.frames import Frame

from wsactors.connection.events import Close, Disconnect, Failing, Message, Pong
from wsactors.transport.native.core import GATHER_FROM

BIG = GATHER_FROM * 3 + 5  # a frame the core gathers
LIMIT = 4 * GATHER_FROM


def pieces(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def feed_in(peer: Peer, data: bytes, size: int) -> list[object]:
    out: list[object] = []
    for piece in pieces(data, size):
        out.extend(peer.feed(piece))
    return out


def test_a_large_frame_fed_in_small_pieces_is_gathered_outside_the_parser() -> None:
    peer = Peer(limit=LIMIT)
    payload = os.urandom(BIG)
    data = frame(0x2, payload)
    header = len(data) - BIG
    assert peer.feed(data[: header + 1000]) == []
    # The payload so far is counted, and none of it is in websockets' buffer.
    assert peer.core.held_bytes() == 1000
    assert len(peer.core.protocol.reader.buffer) == 0
    arrived = 1000
    for piece in pieces(data[header + 1000 : -1], 7000):
        assert peer.feed(piece) == []
        arrived += len(piece)
        assert peer.core.held_bytes() == arrived
    assert peer.feed(data[-1:]) == [Message(payload)]
    assert peer.core.held_bytes() == 0


def test_a_header_split_byte_by_byte_then_the_frames_after_it_in_the_same_read() -> None:
    peer = Peer(limit=LIMIT)
    payload = b"q" * BIG
    data = frame(0x2, payload)
    for byte in pieces(data[:14], 1):  # 2 + 8 bytes of header, 4 of mask
        assert peer.feed(byte) == []
    after = frame(0x9, b"hi") + frame(0x1, b"next")
    # One read: the rest of the frame, a ping, another message.
    events = peer.feed(data[14:] + after)
    assert events == [Message(payload), Message("next")]
    written = peer.written()
    assert [bytes(f.data) for f in written if isinstance(f, Frame)] == [b"hi"]
    assert peer.core.held_bytes() == 0


def test_two_large_frames_and_a_pong_in_one_read() -> None:
    peer = Peer(limit=LIMIT)
    first, second = b"1" * BIG, b"2" * (GATHER_FROM + 1)
    data = frame(0x2, first) + frame(0xA, b"") + frame(0x2, second)
    events = feed_in(peer, data, 65536)
    assert events[0] == Message(first)
    assert isinstance(events[1], Pong)
    assert events[2] == Message(second)


def test_a_large_frame_over_the_limit_is_refused_at_its_header_with_nothing_held() -> None:
    peer = Peer(limit=LIMIT)
    data = frame(0x2, b"x" * (LIMIT + 1))
    events = peer.feed(data[:20000])
    assert events == [Failing(1009, f"message too big: {LIMIT + 1} bytes > {LIMIT}")]
    assert peer.core.held_bytes() == 0
    assert peer.feed(data[20000:]) == []  # discarded
    assert peer.core.held_bytes() == 0


def test_large_fragments_are_one_message_and_count_against_the_limit() -> None:
    peer = Peer(limit=LIMIT)
    one, two = b"a" * BIG, b"b" * (LIMIT - BIG)
    data = frame(0x2, one, fin=False) + frame(0x9, b"p") + frame(0x0, two)
    assert feed_in(peer, data[: len(data) - 10], 5000) == []
    # The first fragment, and what arrived of the second.
    assert peer.core.held_bytes() == LIMIT - 10
    assert peer.feed(data[-10:]) == [Message(one + two)]
    assert peer.core.held_bytes() == 0
    # One byte more than the limit over two fragments: refused at the second header.
    over = frame(0x2, one, fin=False) + frame(0x0, b"b" * (LIMIT - BIG + 1))
    events = feed_in(peer, over, 5000)
    assert events == [Failing(1009, f"message too big: {LIMIT + 1} bytes > {LIMIT}")]
    assert peer.core.held_bytes() == 0


def test_invalid_utf8_in_a_gathered_text_frame_fails_before_its_end_and_drops_it() -> None:
    peer = Peer(limit=LIMIT)
    text = b"a" * 30000 + b"\xff" + b"z" * (BIG - 30001)
    data = frame(0x1, text)
    events = feed_in(peer, data[:40000], 1000)
    assert events == [Failing(1007, "invalid UTF-8 at byte 30000")]
    assert peer.core.held_bytes() == 0
    assert peer.feed(data[40000:]) == []  # discarded
    peer.core.send([Close(1000, "")])
    assert close_of(peer.written()[0]) == (1007, "invalid UTF-8 at byte 30000")


def test_a_gathered_text_fragment_continues_the_messages_utf8() -> None:
    peer = Peer(limit=LIMIT)
    euro = "€".encode()
    first = b"a" * 10 + euro[:1]
    second = euro[1:] + "é".encode() * (BIG // 2)
    data = frame(0x1, first, fin=False) + frame(0x0, second)
    assert feed_in(peer, data, 3000) == [Message((first + second).decode())]
    bad = frame(0x1, first, fin=False) + frame(0x0, b"\x00" + second[1:])
    events = feed_in(peer, bad[:5000], 3000)
    assert events == [Failing(1007, "invalid UTF-8 at byte 10")]


def test_a_large_compressed_frame_is_gathered_and_inflated_whole() -> None:
    peer = Peer(limit=LIMIT, deflate=True)
    payload = os.urandom(BIG)  # random: does not compress
    compressor = zlib.compressobj(wbits=-15)
    compressed = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    data = frame(0x2, compressed[:-4], rsv1=True)
    assert feed_in(peer, data[:-1], 4096) == []
    assert peer.core.held_bytes() == len(data) - 1 - 14
    assert peer.feed(data[-1:]) == [Message(payload)]
    # Over the limit once inflated (a large compressed frame, then zeros that
    # compress to little): 1009 with the one wording.
    bomb = zlib.compressobj(wbits=-15)
    over = bomb.compress(os.urandom(BIG) + bytes(LIMIT)) + bomb.flush(zlib.Z_SYNC_FLUSH)
    assert GATHER_FROM < len(over) < LIMIT
    (failing,) = feed_in(peer, frame(0x2, over[:-4], rsv1=True), 4096)
    assert failing == Failing(1009, f"message too big: {LIMIT + 1} bytes > {LIMIT}")


def test_the_stream_ending_inside_a_gathered_frame_is_a_drop() -> None:
    peer = Peer(limit=LIMIT)
    peer.feed(frame(0x2, b"x" * BIG)[:30000])
    assert peer.core.held_bytes() > 0
    peer.core.receive_data(b"")
    assert peer.events() == [Disconnect(1006, "")]
    assert peer.core.held_bytes() == 0


def test_a_keepalive_failure_inside_a_gathered_frame_drops_it() -> None:
    peer = Peer(limit=LIMIT)
    peer.feed(frame(0x2, b"x" * BIG)[:30000])
    peer.core.fail_now(1011, "keepalive ping timeout")
    assert peer.core.held_bytes() == 0
    assert peer.events() == [Disconnect(1011, "keepalive ping timeout", by_peer=False)]


def test_the_closing_handshake_reads_on_through_a_frame_in_flight() -> None:
    peer = Peer(limit=LIMIT)
    data = frame(0x2, b"x" * BIG)
    peer.feed(data[:30000])
    peer.core.send([Close(1000, "bye")])
    assert close_of(peer.written()[0]) == (1000, "bye")
    # The rest of the frame, then the peer's close: the handshake completes.
    peer.core.absorb_closing(data[30000:] + frame(0x8, b"\x03\xe8"))
    received = peer.core.protocol.close_rcvd
    assert received is not None
    assert int(received.code) == 1000
    peer.core.absorb_closing(b"")
    assert peer.core.closed


def test_the_parser_gets_the_gathered_payload_as_its_buffer() -> None:
    peer = Peer(limit=LIMIT)
    data = frame(0x2, b"y" * BIG, fin=False)
    feed_in(peer, data, 16384)
    # The first fragment is kept as the parser made it: no copy while unfinished.
    buffer = peer.core.protocol.assembler.buffer
    assert buffer is not None
    assert len(buffer) == 1
    assert type(buffer[0]) is bytes
    assert len(buffer[0]) == BIG
    assert peer.core.held_bytes() == BIG
    assert peer.feed(frame(0x0, b"z")) == [Message(b"y" * BIG + b"z")]


def test_an_unfinished_message_is_dropped_as_soon_as_the_connection_ends() -> None:
    # Not when the connection's objects are collected: reference cycles could keep
    # every unfinished message of the closed connections to the next full GC.
    one = frame(0x2, b"a" * BIG, fin=False)
    for end, event in [
        (b"", Disconnect(1006, "")),
        (frame(0x8, b"\x03\xe8"), Disconnect(1000, "")),
    ]:
        peer = Peer(limit=LIMIT)
        feed_in(peer, one + frame(0x0, b"b" * 100, fin=False), 16384)
        assert peer.core.held_bytes() == BIG + 100
        assert peer.feed(end) == [event]
        assert peer.core.held_bytes() == 0
        assert peer.core.protocol.assembler.buffer is None
    peer = Peer(limit=LIMIT)
    feed_in(peer, one, 16384)
    peer.core.fail_now(1011, "keepalive ping timeout")
    assert peer.core.protocol.assembler.buffer is None


def test_the_protocol_keeps_no_payload_of_a_message_it_handed_out() -> None:
    peer = Peer(limit=LIMIT)
    parsed: list[Frame] = []
    protocol = peer.core.protocol
    hook = protocol.recv_frame

    def recv_frame(frame: Frame) -> None:
        parsed.append(frame)
        hook(frame)

    protocol.recv_frame = recv_frame  # type: ignore[method-assign]
    assert feed_in(peer, frame(0x2, b"m" * BIG), 16384) == [Message(b"m" * BIG)]
    assert feed_in(peer, frame(0x1, b"a", fin=False) + frame(0x0, b"b"), 16384) == [Message("ab")]
    assert [f.data for f in parsed] == [b"", b"", b""]
