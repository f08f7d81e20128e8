"""The handler's sends arrive in order whichever way they went, on both engines.

On the native engine a send made while the sender is idle is written directly by
the handler's task (``ConnectionRuntime.send``); one made while the sender is
busy, or once a direct write left a rest for the sender, is queued. On hypercorn
every send is queued. Either way the client sees every message, in the order
sent, then the close: small and large, text and binary, a reader that keeps up
and one that stops reading for a while (the socket fills, the rest of a direct
write is kept and written first by the sender).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from helpers import DEADLINE, read_until_close
from wsactors import App, WebSocket, websocket
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

BIG = 64 * 1024


def message(n: int) -> str | bytes:
    """The ``n``-th message: text or binary, small or 64 KiB, numbered."""
    head = f"{n:06d}"
    if n % 3 == 0:
        return head + "x" * (BIG if n % 7 == 0 else 10)
    return head.encode() + b"y" * (BIG if n % 5 == 0 else 20)


@websocket("/burst")
async def burst(socket: WebSocket) -> None:
    """On ``"N"``: sends messages N at a time, then closes 4001 on ``"close"``."""
    await socket.accept()
    sent = 0
    async for command in socket.iter_data():
        if command == "close":
            await socket.close(4001, "done")
            return
        for _ in range(int(command)):
            await socket.send_message(message(sent))
            sent += 1


@pytest.fixture
async def server() -> AsyncIterator[LiveServer]:
    async with LiveServer(App([burst])) as live:
        yield live


async def test_single_and_burst_sends_arrive_in_order_then_the_close(server: LiveServer) -> None:
    expected = 0
    with trio.fail_after(DEADLINE):
        async with server.connect("/burst", message_queue_size=1000) as ws:
            # One at a time (the sender idle each time), then bursts of growing size.
            for count in (1, 1, 1, 2, 5, 30, 1, 60):
                await ws.send_message(str(count))
                for _ in range(count):
                    assert await ws.get_message() == message(expected)
                    expected += 1
            await ws.send_message("close")
            messages, reason = await read_until_close(ws)
    assert messages == []
    assert (reason.code, reason.reason) == (4001, "done")


async def test_a_reader_that_stalls_gets_everything_in_order(server: LiveServer) -> None:
    count = 300  # about 6 MiB: more than loopback buffers while the client stalls
    with trio.fail_after(2 * DEADLINE):
        # A queue of one message: while the test does not read, the client's reader
        # stops and the server's socket fills up.
        async with server.connect("/burst", message_queue_size=1) as ws:
            await ws.send_message(str(count))
            await ws.send_message("close")
            await trio.sleep(0.5)
            got = [await ws.get_message() for _ in range(count)]
            messages, reason = await read_until_close(ws)
    assert [m[:6] for m in got] == [message(n)[:6] for n in range(count)]
    assert got == [message(n) for n in range(count)]
    assert messages == []
    assert (reason.code, reason.reason) == (4001, "done")
