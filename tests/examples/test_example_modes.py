"""Transport modes: mode_receive_text, mode_receive_binary, mode_send_text, mode_send_binary."""

from __future__ import annotations

import pytest
import trio
from example_helpers import DEADLINE, load_example

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_receive_text_mode_drops_binary_frames() -> None:
    app = load_example("mode_receive_text").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message(b"binary: dropped")
            await ws.send_message("text: answered")
            assert await ws.get_message() == "text: answered"


async def test_receive_binary_mode_drops_text_frames() -> None:
    app = load_example("mode_receive_binary").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("text: dropped")
            await ws.send_message(b"binary: answered")
            # The reply is a str sent in send_mode "text": a text frame.
            assert await ws.get_message() == "binary: answered"


async def test_send_text_mode_sends_text_frames() -> None:
    app = load_example("mode_send_text").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("hello")
            reply = await ws.get_message()
            assert reply == "hello"
            assert isinstance(reply, str)


async def test_send_binary_mode_sends_binary_frames() -> None:
    app = load_example("mode_send_binary").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("héllo")
            reply = await ws.get_message()
            assert reply == "héllo".encode()
            assert isinstance(reply, bytes)
