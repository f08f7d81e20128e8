"""The data-discard rule: data_discard."""

from __future__ import annotations

import pytest
import trio
from example_helpers import (
    DEADLINE,
    load_example,
    server_close,
)
from trio_websocket import WebSocketConnection

from wsactors import DataDiscardedWarning
from wsactors.testing import LiveServer


async def test_strict_stream_closes_with_1008_on_client_data() -> None:
    app = load_example("data_discard").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/strict") as ws:
            assert await ws.get_message() == "tick"
            await ws.send_message("hello?")
            _, code, reason = await server_close(ws)
    assert code == 1008
    assert reason is not None
    assert "allow_data_discard" in reason


async def test_lenient_stream_drops_client_data_and_goes_on() -> None:
    app = load_example("data_discard").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/lenient") as ws:
            assert await ws.get_message() == "tick"
            with pytest.warns(DataDiscardedWarning):
                ticks = await _send_then_read(ws, "ignored", count=3)
            # The stream went on; by these ticks the server had seen the message.
            assert ticks == ["tick"] * 3


async def test_stream_that_reads_the_socket_itself() -> None:
    app = load_example("data_discard").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/countdown") as ws:
            await ws.send_message("3")
            messages, code, _ = await server_close(ws)
    assert messages == ["3", "2", "1"]
    assert code == 1000  # the generator was exhausted


async def _send_then_read(ws: WebSocketConnection, message: str, count: int) -> list[str | bytes]:
    await ws.send_message(message)
    return [await ws.get_message() for _ in range(count)]
