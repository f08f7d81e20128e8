"""Direct writes (``NativeTransport.send_now``, ``send_data_now``): in order, and the
rest goes out first.

Over a local socket pair (no server, no runtime): the transport, its core and its
wire are the things under test; a websockets client protocol reads the other end
the way a peer would, and the test plays the sender (``transport.send``) and
records the sender's wake-up (``attach_sender``).
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import trio
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.uri import parse_uri

from helpers import DEADLINE
from wsactors.connection.events import Accept, Connect, Message, Send
from wsactors.transport.base import SharedText, WriteNow
from wsactors.transport.native.rfc6455 import text_frame
from wsactors.transport.native.transport import NativeTransport
from wsactors.transport.native.wireprotocol import WireProtocol

_QUIET = logging.getLogger("tests.native.direct")


@dataclass
class Pair:
    """The transport on one end of a socket pair; the client on the other."""

    transport: NativeTransport
    client: ClientProtocol
    theirs: socket.socket
    wakes: list[None] = field(default_factory=list)

    async def frames(self, count: int) -> list[Frame]:
        """The next ``count`` frames the client reads (within the deadline)."""
        got: list[Frame] = []
        with trio.fail_after(DEADLINE):
            while len(got) < count:
                await trio.lowlevel.wait_readable(self.theirs)
                self.client.receive_data(self.theirs.recv(1 << 20))
                got.extend(e for e in self.client.events_received() if isinstance(e, Frame))
        assert len(got) == count
        return got

    def send(self, frames: bytes) -> None:
        """The client writes (whole, small frames: the buffer has room)."""
        self.theirs.sendall(frames)


def open_transport() -> tuple[WireProtocol, ClientProtocol, Response]:
    """A transport whose handshake request was parsed, and the client that sent it."""
    client = ClientProtocol(parse_uri("ws://test/"), max_size=None)
    request = client.connect()
    protocol = WireProtocol(max_size=1 << 22, max_fragments=64, logger=_QUIET)
    protocol.receive_data(request.serialize())
    parsed = protocol.events_received()
    assert isinstance(parsed[0], Request)
    response = protocol.accept(parsed[0])
    client.send_request(request)
    client.data_to_send()
    return protocol, client, response


def _native(ours: socket.socket, protocol: WireProtocol, response: Response) -> NativeTransport:
    """The native transport over our end of a socket pair: no keepalive, no timer."""
    return NativeTransport(
        trio.SocketStream(trio.socket.from_stdlib_socket(ours)),
        protocol,
        response,
        subprotocols=(),
        ping_interval=None,
        ping_timeout=DEADLINE,
        send_timeout=DEADLINE,
        deadlines=None,
    )


@pytest.fixture
async def pair() -> AsyncIterator[Pair]:
    """An accepted connection: the 101 went out and the client read it."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    theirs.setblocking(False)
    protocol, client, response = open_transport()
    transport = _native(ours, protocol, response)
    result = Pair(transport, client, theirs)
    transport.attach_sender(lambda: result.wakes.append(None))
    with theirs:
        with trio.fail_after(DEADLINE):
            assert await transport.receive() == Connect()
            await transport.send([Accept()])
            await trio.lowlevel.wait_readable(theirs)
            client.receive_data(theirs.recv(1 << 16))
            assert isinstance(client.events_received()[0], Response)
        yield result
        await transport.abort()


def texts(frames: list[Frame]) -> list[tuple[Opcode, bytes]]:
    return [(f.opcode, bytes(f.data)) for f in frames]


async def test_a_direct_write_that_fits_is_written_at_once(pair: Pair) -> None:
    message = SharedText("frame")
    assert pair.transport.send_now(message) == WriteNow.WRITTEN
    # The shared frame is built once, for every connection that writes it.
    assert message.frame == text_frame(b"frame")
    assert texts(await pair.frames(1)) == [(Opcode.TEXT, b"frame")]
    assert pair.wakes == []  # nothing left for the sender


async def test_the_rest_of_a_direct_write_goes_out_before_anything_queued_later(
    pair: Pair,
) -> None:
    transport = pair.transport
    big = "ab" * (1 << 19)  # 1 MiB: more than the socket pair buffers
    assert transport.send_now(SharedText(big)) == WriteNow.PENDING
    # The rest is the transport's own bytes now: it woke the sender for them.
    assert pair.wakes == [None]
    # While a rest is kept, nothing else is written directly.
    assert transport.send_now(SharedText("other")) == WriteNow.REFUSED
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            # The sender, woken, writes the rest first, then what it was given.
            nursery.start_soon(transport.send, [Send("after")])
            got = await pair.frames(2)
    assert texts(got) == [(Opcode.TEXT, big.encode()), (Opcode.TEXT, b"after")]
    assert transport.send_now(SharedText("again")) == WriteNow.WRITTEN
    assert texts(await pair.frames(1)) == [(Opcode.TEXT, b"again")]


async def test_pending_pongs_go_out_before_a_direct_write(pair: Pair) -> None:
    transport = pair.transport
    client = pair.client
    client.send_ping(b"p1")
    client.send_text(b"m")
    pair.send(b"".join(client.data_to_send()))
    # The receiver reads the ping (a pong is queued: the sender is woken for it,
    # the receiver never writes), then the message.
    with trio.fail_after(DEADLINE):
        assert await transport.receive() == Message("m")
    assert pair.wakes == [None]
    assert transport.send_now(SharedText("direct")) == WriteNow.WRITTEN
    assert texts(await pair.frames(2)) == [(Opcode.PONG, b"p1"), (Opcode.TEXT, b"direct")]
    # The sender, woken for the pong, finds it gone: it writes nothing.
    with trio.fail_after(DEADLINE):
        await transport.send([])
    assert transport.send_now(SharedText("last")) == WriteNow.WRITTEN
    assert texts(await pair.frames(1)) == [(Opcode.TEXT, b"last")]


async def test_a_direct_write_is_refused_before_the_handshake_is_answered() -> None:
    ours, theirs = socket.socketpair()
    protocol, _, response = open_transport()
    with ours, theirs:
        transport = _native(ours, protocol, response)
        assert transport.send_now(SharedText("early")) == WriteNow.REFUSED
        assert transport.send_data_now("early") == WriteNow.REFUSED
        await transport.abort()


async def test_a_handlers_own_messages_are_framed_and_written_directly(pair: Pair) -> None:
    transport = pair.transport
    assert transport.send_data_now("text") == WriteNow.WRITTEN
    assert transport.send_data_now(b"\x00binary") == WriteNow.WRITTEN
    assert texts(await pair.frames(2)) == [(Opcode.TEXT, b"text"), (Opcode.BINARY, b"\x00binary")]
    big = b"\xff" * (1 << 20)  # more than the socket pair buffers
    assert transport.send_data_now(big) == WriteNow.PENDING
    assert pair.wakes == [None]
    assert transport.send_data_now("refused") == WriteNow.REFUSED  # a rest is kept
    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(transport.send, [Send("after")])
            got = await pair.frames(2)
    assert texts(got) == [(Opcode.BINARY, big), (Opcode.TEXT, b"after")]


async def test_a_queued_delivery_writes_the_shared_frame(pair: Pair) -> None:
    message = SharedText("queued")
    with trio.fail_after(DEADLINE):
        await pair.transport.send([Send(message)])
    assert message.frame == text_frame(b"queued")
    assert texts(await pair.frames(1)) == [(Opcode.TEXT, b"queued")]
