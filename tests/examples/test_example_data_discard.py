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

pytestmark = pytest.mark.usefixtures("live_engine")


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
            assert await ws.get_message() == "tick, 0 discarded"
            with pytest.warns(DataDiscardedWarning):
                tick = await _send_then_read_past(ws, "ignored", "tick, 0 discarded")
            # Ticks go on; the first one after the drop counts it.
            assert tick == "tick, 1 discarded"
            assert await ws.get_message() == "tick, 1 discarded"


async def test_stream_that_reads_the_socket_itself() -> None:
    app = load_example("data_discard").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/countdown") as ws:
            await ws.send_message("3")
            messages, code, _ = await server_close(ws)
    assert messages == ["3", "2", "1"]
    assert code == 1000  # the generator was exhausted


async def _send_then_read_past(ws: WebSocketConnection, message: str, skip: str) -> str | bytes:
    """Send ``message``, then return the first message that is not ``skip``."""
    await ws.send_message(message)
    while (received := await ws.get_message()) == skip:
        pass
    return received
