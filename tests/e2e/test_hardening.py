"""Hostile and mistaken input, end to end over hypercorn (issue 13, items 9 and 11).

- a stream that still calls ``asyncio.sleep`` closes 1011, and the log says once per
  route that wsactors runs on Trio (and that anyio works);
- values that come from the client (the percent-decoded path, close reasons,
  subprotocols, payload values quoted in a 1007 reason) are escaped in every log
  line, so ``%0a`` in a URL cannot forge a line.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncGenerator
from dataclasses import dataclass

import pytest
import trio

from helpers import DEADLINE, close_of
from wsactors import App, WebSocket, websocket, websocket_listener, websocket_stream
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]


@websocket_stream("/legacy")
async def legacy() -> AsyncGenerator[str, None]:
    await asyncio.sleep(0.01)  # ported from Litestar without changing the sleep
    yield "never"


async def test_asyncio_in_a_stream_closes_1011_with_a_hint_once_per_route(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wsactors")
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([legacy])) as server:
            for _ in range(3):
                async with server.connect("/legacy") as ws:
                    close = await close_of(ws)
                    assert close.code == 1011
    hints = [r.getMessage() for r in caplog.records if r.getMessage().startswith("hint:")]
    assert len(hints) == 1, hints
    assert "'/legacy'" in hints[0]
    assert "trio" in hints[0]
    assert "anyio" in hints[0]
    assert "no running event loop" in hints[0]


class Colour(enum.Enum):
    RED = "red"


@dataclass
class Paint:
    colour: Colour


@websocket_listener("/rooms/{room:str}")
async def room(data: Paint) -> str:
    return "ok"


@websocket("/closer")
async def closer(socket: WebSocket) -> None:
    await socket.accept(subprotocols=socket.subprotocols[0] if socket.subprotocols else None)
    async for _ in socket.iter_messages():
        pass


FORGED = "\nINFO wsactors.connection forged line"


async def test_client_values_cannot_forge_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="wsactors")
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([room, closer])) as server:
            # A percent-encoded LF in the path: decoded into scope["path"] by the server.
            async with server.connect("/rooms/a%0aINFO%20wsactors.connection%20forged") as ws:
                # ...and in a payload value the 1007 reason quotes.
                await ws.send_message('{"colour": "blue' + FORGED.replace("\n", "\\n") + '"}')
                close = await close_of(ws)
                assert close.code == 1007
            # No route: the 404 line quotes the path too.
            with pytest.raises(Exception):  # noqa: B017, PT011 - trio-websocket's rejection
                async with server.connect("/nowhere%0aforged"):
                    pass
            # A close reason (reported by engines that report the client's close).
            async with server.connect("/closer", subprotocols=["chat"]) as ws:
                await ws.aclose(code=4001, reason="bye" + FORGED)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("wsactors")]
    assert messages
    assert not [m for m in messages if "\n" in m], messages
    assert any("'/rooms/a\\nINFO wsactors.connection forged'" in m for m in messages)
    assert any("'/nowhere\\nforged'" in m for m in messages)
