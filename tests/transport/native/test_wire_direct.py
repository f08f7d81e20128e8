"""``Wire.write_now``: a direct write never interleaves, and its rest goes out first.

Over a local socket pair (no server): the write is the thing under test.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from functools import partial
from typing import Any, cast

import pytest
import trio

from helpers import DEADLINE
from wsactors.transport.base import WriteNow
from wsactors.transport.native.wire import Wire


class Protocol:
    """What the wire reads of the protocol: its queued output."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []

    def data_to_send(self) -> list[bytes]:
        out, self.writes = self.writes, []
        return out


Pair = tuple[Wire, Protocol, socket.socket]


@pytest.fixture
def pair() -> Iterator[Pair]:
    """A wire on one end of a socket pair, and the other end."""
    ours, theirs = socket.socketpair()
    ours.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    theirs.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    protocol = Protocol()
    stream = trio.SocketStream(trio.socket.from_stdlib_socket(ours))
    with ours, theirs:
        yield Wire(stream, cast(Any, protocol), send_timeout=DEADLINE), protocol, theirs


async def read_all(sock: socket.socket, size: int) -> bytes:
    sock.setblocking(False)
    data = b""
    while len(data) < size:
        await trio.lowlevel.wait_readable(sock)
        data += sock.recv(1 << 20)
    return data


async def test_a_direct_write_that_fits_is_written_at_once(pair: Pair) -> None:
    wire, _, theirs = pair
    with trio.fail_after(DEADLINE):
        assert wire.write_now(b"frame") == WriteNow.WRITTEN
        assert await read_all(theirs, 5) == b"frame"


async def test_the_rest_of_a_direct_write_goes_out_before_anything_queued_later(pair: Pair) -> None:
    wire, protocol, theirs = pair
    big = bytes(range(256)) * 4096  # 1 MiB: more than the socket pair buffers
    with trio.fail_after(DEADLINE):
        assert wire.write_now(big) == WriteNow.PENDING
        # While a rest is kept, nothing else is written directly.
        assert wire.write_now(b"other") == WriteNow.REFUSED
        protocol.writes.append(b"after")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(wire.flush, wait=True))
            got = await read_all(theirs, len(big) + 5)
    assert got == big + b"after"
    assert wire.write_now(b"again") == WriteNow.WRITTEN


async def test_a_direct_write_waits_for_what_the_protocol_queued(pair: Pair) -> None:
    wire, protocol, _ = pair
    protocol.writes.append(b"pong")
    assert wire.write_now(b"frame") == WriteNow.REFUSED
    await trio.lowlevel.checkpoint()
