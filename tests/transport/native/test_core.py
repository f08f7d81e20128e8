"""The native connection core (``ConnectionCore``), byte by byte on a fake clock.

No socket and no Trio: a client's bytes go in, the runtime's events and the
server's bytes come out, and a websockets client protocol parses those bytes
the way a peer would.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from collections.abc import Sequence

import pytest
from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import (
    ClientPerMessageDeflateFactory,
    enable_server_permessage_deflate,
)
from websockets.frames import Close as CloseFrame
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.uri import parse_uri

from wsactors.connection.events import (
    Accept,
    Close,
    Connect,
    Disconnect,
    Failing,
    Incoming,
    Message,
    Ping,
    Pong,
    Send,
    SharedText,
)
from wsactors.transport.native.core import SEND_EOF, ConnectionCore
from wsactors.transport.native.deflate import limited
from wsactors.transport.native.rfc6455 import text_frame
from wsactors.transport.native.wireprotocol import PENDING_PONGS, WireProtocol

LIMIT = 1000
INTERVAL = 10.0
TIMEOUT = 5.0
_QUIET = logging.getLogger("tests.core.wire")


class Clock:
    """A fake clock: the core reads it; the test moves it."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Peer:
    """A connection's two ends: the core, and a websockets client that reads it."""

    def __init__(
        self,
        *,
        limit: int = LIMIT,
        deflate: bool = False,
        ping_interval: float | None = INTERVAL,
        max_fragments: int = 64,
    ) -> None:
        self.clock = Clock()
        self.client = ClientProtocol(
            parse_uri("ws://test/"),
            extensions=[ClientPerMessageDeflateFactory()] if deflate else None,
            max_size=None,
        )
        request = self.client.connect()
        protocol = WireProtocol(
            extensions=limited(enable_server_permessage_deflate(None)) if deflate else None,
            max_size=limit,
            max_fragments=max_fragments,
            logger=_QUIET,
        )
        protocol.receive_data(request.serialize())
        parsed = protocol.events_received()
        assert isinstance(parsed[0], Request)
        response = protocol.accept(parsed[0])
        protocol.limit_messages(limit)
        self.core = ConnectionCore(
            protocol,
            response,
            ping_interval=ping_interval,
            ping_timeout=TIMEOUT,
            clock=self.clock,
        )
        self.core.send([Accept()])
        assert self.core.retime  # keepalive starts with the 101
        self.core.retime = False
        self.client.send_request(request)
        self.client.data_to_send()
        self.client.receive_data(b"".join(self.core.data_to_send()))
        assert isinstance(self.client.events_received()[0], Response)
        assert self.events() == [Connect()]

    # ------------------------------------------------------------------ client side
    def feed(self, data: bytes) -> list[Incoming]:
        """The core reads ``data`` (in as many slices as it takes): its events."""
        core = self.core
        core.receive_data(data)
        while core.unfed is not None:
            rest, core.unfed = core.unfed, None
            core.receive_data(rest)
        return self.events()

    def events(self) -> list[Incoming]:
        out: list[Incoming] = []
        while self.core.pending:
            out.append(self.core.take())
        return out

    def written(self) -> list[Frame | str]:
        """What the core wrote, as the client parses it ("EOF" for a half-close)."""
        chunks = self.core.data_to_send()
        out: list[Frame | str] = []
        data = b"".join(chunks)
        if data:
            self.client.receive_data(data)
            out.extend(e for e in self.client.events_received() if isinstance(e, Frame))
        if SEND_EOF in chunks:
            out.append("EOF")
        self.client.data_to_send()  # the client's own answers are not looked at
        return out


def frame(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A masked client frame, any opcode (also invalid ones)."""
    head = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    mask = b"\x01\x02\x03\x04"
    size = len(payload)
    if size < 126:
        header = struct.pack("!BB", head, 0x80 | size)
    elif size < 65536:
        header = struct.pack("!BBH", head, 0x80 | 126, size)
    else:
        header = struct.pack("!BBQ", head, 0x80 | 127, size)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return header + mask + masked


def close_of(item: Frame | str) -> tuple[int, str]:
    assert isinstance(item, Frame)
    assert item.opcode is Opcode.CLOSE
    parsed = CloseFrame.parse(item.data)
    return int(parsed.code), parsed.reason


# ---------------------------------------------------------------------- close codes
def test_a_client_close_is_echoed_and_reported_with_its_code_and_reason() -> None:
    peer = Peer()
    events = peer.feed(frame(0x8, struct.pack("!H", 4001) + b"bye"))
    assert events == [Disconnect(4001, "bye")]
    out = peer.written()
    assert close_of(out[0]) == (4001, "bye")
    assert out[1] == "EOF"  # RFC 6455 section 7.1.1: the server closes TCP first


@pytest.mark.parametrize(
    ("data", "code", "reason"),
    [
        (frame(0x3, b"x"), 1002, "invalid opcode"),
        (frame(0x1, "é".encode()[:1]), 1007, "invalid UTF-8 at byte 0"),
        (frame(0x8, struct.pack("!H", 1000) + b"\xff"), 1007, None),
        (frame(0x2, b"x" * (LIMIT + 1)), 1009, f"message too big: {LIMIT + 1} bytes > {LIMIT}"),
        (frame(0x9, b"p", fin=False), 1002, "fragmented control frame"),
    ],
    ids=["opcode", "utf8", "close-reason", "too-big", "fragmented-ping"],
)
def test_each_failure_is_held_with_its_code_then_sent_on_the_runtimes_close(
    data: bytes, code: int, reason: str | None
) -> None:
    peer = Peer()
    events = peer.feed(data)
    assert len(events) == 1
    failing = events[0]
    assert isinstance(failing, Failing)
    assert failing.code == code
    if reason is not None:
        assert failing.reason == reason
    assert peer.written() == []  # held: nothing goes out until the runtime closes
    peer.core.send([Close(1000, "")])
    out = peer.written()
    assert close_of(out[0]) == (code, failing.reason)  # the failure's code wins
    assert out[-1] == "EOF"


def test_too_many_fragments_is_1009() -> None:
    peer = Peer(max_fragments=2)
    data = frame(0x2, b"a", fin=False) + frame(0x0, b"b", fin=False) + frame(0x0, b"c")
    assert peer.feed(data) == [Failing(1009, "more than 2 fragments in a message")]


# ---------------------------------------------------------------------- held failure
def test_replies_to_messages_before_a_held_failure_go_out_first() -> None:
    peer = Peer()
    events = peer.feed(frame(0x1, b"one") + frame(0x1, b"two") + frame(0x3, b""))
    assert events == [Message("one"), Message("two"), Failing(1002, "invalid opcode")]
    peer.core.send([Send("re: one"), Send("re: two")])
    out = peer.written()
    assert [bytes(f.data) for f in out if isinstance(f, Frame)] == [b"re: one", b"re: two"]
    peer.core.send([Close(1000, "")])
    assert close_of(peer.written()[0]) == (1002, "invalid opcode")


def test_nothing_after_the_bad_frame_is_read_not_even_a_ping() -> None:
    peer = Peer()
    events = peer.feed(frame(0x3, b"") + frame(0x9, b"later") + frame(0x1, b"later"))
    assert events == [Failing(1002, "invalid opcode")]
    assert peer.written() == []  # no pong for the ping after the failure


def test_keepalive_never_overrides_a_held_failure() -> None:
    peer = Peer()
    core = peer.core
    peer.clock.now += INTERVAL
    core.on_time(peer.clock.now)
    assert [f.opcode for f in peer.written() if isinstance(f, Frame)] == [Opcode.PING]
    # The failure arrives before the pong: the pong can never be read now.
    assert peer.feed(frame(0x1, b"\xff")) == [Failing(1007, "invalid UTF-8 at byte 0")]
    assert core.next_deadline() == float("inf")
    peer.clock.now += 10 * TIMEOUT
    core.on_time(peer.clock.now)
    assert peer.written() == []  # no 1011, no ping
    assert peer.events() == []
    core.send([Close(1011, "")])
    assert close_of(peer.written()[0]) == (1007, "invalid UTF-8 at byte 0")


# ---------------------------------------------------------------------- keepalive
def _answer_pings(peer: Peer) -> list[Incoming]:
    pings = [f for f in peer.written() if isinstance(f, Frame) and f.opcode is Opcode.PING]
    assert len(pings) == 1
    return peer.feed(frame(0xA, bytes(pings[0].data)))


@pytest.mark.parametrize("timeout", [TIMEOUT, 2 * INTERVAL])
def test_pings_go_out_every_ping_interval_whatever_the_timeout(timeout: float) -> None:
    peer = Peer()
    core = peer.core
    core.keepalive.timeout = timeout
    start = peer.clock.now
    sent = []
    for _ in range(4):
        due = core.next_deadline()
        assert due > peer.clock.now
        peer.clock.now = due
        core.on_time(due)
        sent.append(due - start)
        peer.clock.now += 1.0  # the pong takes one second
        (pong,) = _answer_pings(peer)
        assert isinstance(pong, Pong)
        assert pong.latency == 1.0
        assert core.retime  # the owner moves its timer to the next ping
        core.retime = False
    assert sent == [INTERVAL, 2 * INTERVAL, 3 * INTERVAL, 4 * INTERVAL]


def test_a_late_pong_fails_the_connection_with_1011_and_drops_it_after_the_close() -> None:
    peer = Peer()
    core = peer.core
    peer.clock.now += INTERVAL
    core.on_time(peer.clock.now)
    peer.written()
    assert core.next_deadline() == peer.clock.now + TIMEOUT
    peer.clock.now += TIMEOUT
    core.on_time(peer.clock.now)
    assert peer.events() == [Disconnect(1011, "keepalive ping timeout", by_peer=False)]
    out = peer.written()
    assert close_of(out[0]) == (1011, "keepalive ping timeout")
    assert core.drop_after_write
    assert not core.abort_due(peer.clock.now)
    assert core.abort_due(peer.clock.now + TIMEOUT)  # a backstop if the close cannot go out


def test_no_keepalive_without_an_interval() -> None:
    peer = Peer(ping_interval=None)
    assert peer.core.next_deadline() == float("inf")


def test_a_pong_that_answers_no_ping_of_ours_has_no_latency() -> None:
    peer = Peer()
    assert peer.feed(frame(0xA, b"unsolicited")) == [Pong(b"unsolicited")]
    assert not peer.core.retime


def test_the_runtimes_ping_goes_out() -> None:
    peer = Peer()
    peer.core.send([Ping(b"app")])
    out = peer.written()
    assert isinstance(out[0], Frame)
    assert (out[0].opcode, bytes(out[0].data)) == (Opcode.PING, b"app")


# ---------------------------------------------------------------------- pings while stalled
def test_pings_while_a_write_is_stalled_leave_a_fixed_amount_of_pongs_to_write() -> None:
    peer = Peer()
    core = peer.core
    core.send([Send("a reply the socket has not taken yet")])
    pings = b"".join(frame(0x9, str(i).encode()) for i in range(10_000 + 1))
    assert peer.feed(pings) == []
    chunks = core.data_to_send()
    # RFC 6455 section 5.5.3: past PENDING_PONGS, only the latest ping is answered.
    assert sum(map(len, chunks)) < PENDING_PONGS * 131 + 100
    peer.client.receive_data(b"".join(chunks))
    frames = [f for f in peer.client.events_received() if isinstance(f, Frame)]
    pongs = [bytes(f.data) for f in frames if f.opcode is Opcode.PONG]
    assert 1 <= len(pongs) <= PENDING_PONGS
    assert pongs[-1] == b"10000"
    assert frames[len(pongs)].opcode is Opcode.TEXT  # the pongs go first


def test_a_few_pings_are_each_answered_in_order() -> None:
    peer = Peer()
    pings = b"".join(frame(0x9, str(i).encode()) for i in range(10))
    assert peer.feed(pings) == []
    out = peer.written()
    assert [bytes(f.data) for f in out if isinstance(f, Frame)] == [
        str(i).encode() for i in range(10)
    ]


def test_no_pong_goes_out_after_the_close() -> None:
    peer = Peer()
    peer.core.send([Close(1000, "")])
    peer.written()
    peer.feed(frame(0x9, b"late"))
    assert peer.written() == []


# ---------------------------------------------------------------------- direct writes
def test_a_direct_write_takes_the_pending_pongs_first() -> None:
    peer = Peer()
    core = peer.core
    peer.feed(frame(0x9, b"p"))
    data = core.direct_write(b"\x81\x01d")
    assert data is not None
    assert not core.wants_write()  # taken whole: the caller writes it
    peer.client.receive_data(data)
    got = peer.client.events_received()
    assert [(f.opcode, bytes(f.data)) for f in got if isinstance(f, Frame)] == [
        (Opcode.PONG, b"p"),
        (Opcode.TEXT, b"d"),
    ]
    assert len(got) == 2


def test_the_kept_rest_of_a_direct_write_goes_out_before_a_later_pong() -> None:
    peer = Peer()
    core = peer.core
    frame_bytes = b"\x81\x05hello"
    assert core.direct_write(frame_bytes) == frame_bytes
    peer.client.receive_data(frame_bytes[:3])  # what the socket took
    core.keep(frame_bytes[3:])
    assert core.wants_write()
    assert core.direct_write(b"\x81\x01x") is None  # nothing more while a rest is kept
    peer.feed(frame(0x9, b"p"))  # a pong may go between two frames, not inside one
    core.send([Send("after")])
    out = peer.written()
    assert [(f.opcode, bytes(f.data)) for f in out if isinstance(f, Frame)] == [
        (Opcode.TEXT, b"hello"),
        (Opcode.PONG, b"p"),
        (Opcode.TEXT, b"after"),
    ]


def test_no_direct_write_while_a_failure_is_held_or_once_closing() -> None:
    peer = Peer()
    assert peer.feed(frame(0x3, b"")) == [Failing(1002, "invalid opcode")]
    assert peer.core.direct_write(b"\x81\x01x") is None
    closing = Peer()
    closing.core.send([Close(1000, "")])
    assert closing.core.direct_write(b"\x81\x01x") is None


def test_no_direct_write_with_permessage_deflate() -> None:
    assert Peer(deflate=True).core.direct_write(b"\x81\x01x") is None


def test_a_queued_delivery_writes_the_shared_frame_built_once() -> None:
    message = SharedText("shared")
    first, second = Peer(), Peer()
    first.core.send([Send(message)])
    [written] = first.core.data_to_send()
    assert written is message.frame  # the cached object, not a copy
    assert written == text_frame(b"shared")
    second.core.send([Send(message)])
    assert second.core.data_to_send()[0] is message.frame
    compressed = Peer(deflate=True)
    other = SharedText("shared")
    compressed.core.send([Send(other)])
    [raw] = compressed.core.data_to_send()
    assert raw[0] == 0xC1  # FIN, RSV1 (compressed with this connection's context), text
    assert other.frame is None
    compressed.client.receive_data(raw)
    [event] = compressed.client.events_received()
    assert isinstance(event, Frame)
    assert bytes(event.data) == b"shared"


# ---------------------------------------------------------------------- fragments and size
def test_fragments_are_one_message_with_control_frames_between() -> None:
    peer = Peer()
    data = frame(0x1, b"ab", fin=False) + frame(0x9, b"p") + frame(0x0, "é".encode())
    assert peer.feed(data) == [Message("abé")]
    assert [bytes(f.data) for f in peer.written() if isinstance(f, Frame)] == [b"p"]


def test_fragments_over_the_limit_are_1009_with_the_message_size() -> None:
    peer = Peer()
    data = frame(0x2, b"x" * 600, fin=False) + frame(0x0, b"y" * 600)
    assert peer.feed(data) == [Failing(1009, f"message too big: 1200 bytes > {LIMIT}")]


def test_a_message_exactly_at_the_limit_is_accepted() -> None:
    peer = Peer()
    data = frame(0x2, b"x" * 600, fin=False) + frame(0x0, b"y" * (LIMIT - 600))
    assert peer.feed(data) == [Message(b"x" * 600 + b"y" * (LIMIT - 600))]


def test_invalid_utf8_fails_before_the_rest_of_its_frame_arrives() -> None:
    peer = Peer()
    whole = frame(0x1, b"ok" + b"\xff" + b"z" * 500)
    assert peer.feed(whole[:20]) == [Failing(1007, "invalid UTF-8 at byte 2")]


def test_the_stream_ending_inside_a_frame_is_a_drop() -> None:
    peer = Peer()
    assert peer.feed(frame(0x2, b"x" * 100)[:50]) == []
    peer.core.receive_data(b"")
    assert peer.events() == [Disconnect(1006, "")]


# ---------------------------------------------------------------------- deflate
def _deflated(payload: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-15)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


def test_deflate_random_bytes_exactly_at_the_limit_are_accepted() -> None:
    peer = Peer(deflate=True)
    payload = os.urandom(LIMIT)
    compressed = _deflated(payload)
    assert len(compressed) > LIMIT  # random data grows when compressed
    assert peer.feed(frame(0x2, compressed, rsv1=True)) == [Message(payload)]


def _assert_too_big(events: Sequence[object]) -> None:
    """The one 1009 wording, whatever the compression (docs/close-codes.md)."""
    (failing,) = events
    assert isinstance(failing, Failing)
    assert failing.code == 1009
    assert failing.reason.startswith("message too big: ")
    assert failing.reason.endswith(f" bytes > {LIMIT}")


def test_deflate_limits_count_the_decompressed_size_with_one_wording() -> None:
    peer = Peer(deflate=True)
    compressed = _deflated(b"x" * (LIMIT + 1))
    _assert_too_big(peer.feed(frame(0x2, compressed, rsv1=True)))


def test_a_deflate_bomb_is_refused_without_inflating_it_whole() -> None:
    peer = Peer(deflate=True)
    compressed = _deflated(b"\x00" * (100 * LIMIT))
    assert len(compressed) < LIMIT
    _assert_too_big(peer.feed(frame(0x2, compressed, rsv1=True)))


def test_deflate_fragments_count_the_decompressed_size() -> None:
    peer = Peer(deflate=True)
    compressor = zlib.compressobj(wbits=-15)
    # RFC 7692 section 7.2.1: one stream per message; only its end loses the tail.
    first = compressor.compress(b"a" * 600) + compressor.flush(zlib.Z_SYNC_FLUSH)
    second = compressor.compress(b"b" * 600) + compressor.flush(zlib.Z_SYNC_FLUSH)
    data = frame(0x2, first, fin=False, rsv1=True) + frame(0x0, second[:-4])
    (failing,) = peer.feed(data)
    # Inflating stops at the limit: the size is what was inflated then.
    assert failing == Failing(1009, f"message too big: {LIMIT + 1} bytes > {LIMIT}")


def test_deflate_uncompressed_messages_have_the_same_limit() -> None:
    peer = Peer(deflate=True)
    assert peer.feed(frame(0x2, b"x" * LIMIT)) == [Message(b"x" * LIMIT)]
    data = frame(0x2, b"x" * 600, fin=False) + frame(0x0, b"y" * 600)
    assert peer.feed(data) == [Failing(1009, f"message too big: 1200 bytes > {LIMIT}")]


# ---------------------------------------------------------------------- unfinished messages
def test_an_unfinished_message_counts_its_fragments_and_its_partial_frame() -> None:
    peer = Peer()
    assert peer.core.held_bytes() == 0
    peer.feed(frame(0x2, b"a" * 300, fin=False))
    assert peer.core.held_bytes() == 300
    last = frame(0x0, b"b" * 400)
    peer.feed(last[:208])  # its 4-byte header, its mask and 200 bytes
    assert peer.core.held_bytes() == 500
    assert peer.feed(last[208:]) == [Message(b"a" * 300 + b"b" * 400)]
    assert peer.core.held_bytes() == 0


def test_a_full_budget_fails_with_1013_after_the_replies_and_drops_the_message() -> None:
    peer = Peer()
    assert peer.feed(frame(0x1, b"before") + frame(0x2, b"x" * 900)[:500]) == [Message("before")]
    assert peer.core.held_bytes() > 0
    peer.core.fail_buffers_full()
    assert peer.events() == [Failing(1013, "Try Again Later: the server's buffers are full")]
    assert peer.core.held_bytes() == 0  # dropped at once, not when more arrives
    peer.core.send([Send("re: before"), Close(1000, "")])
    out = peer.written()
    assert isinstance(out[0], Frame)
    assert bytes(out[0].data) == b"re: before"
    assert close_of(out[1]) == (1013, "Try Again Later: the server's buffers are full")
