"""Channels: channels_rooms (channels_subscribe needs no server: test_example_in_process.py)."""

from __future__ import annotations

import json

import pytest
import trio
from example_helpers import DEADLINE, load_example

from helpers import wait_until
from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_channels_rooms_reach_the_others_but_not_the_sender() -> None:
    app = load_example("channels_rooms").app
    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(app) as server,
            server.connect("/rooms/lobby") as ada,
            server.connect("/rooms/lobby") as bob,
            server.connect("/rooms/other") as cid,
        ):
            while app.channels.statistics().subscribers < 3:  # noqa: ASYNC110 (a counter)
                await trio.sleep(0.01)
            await ada.send_message("hi")
            assert json.loads(await bob.get_message()) == {"text": "hi"}
            await bob.send_message("hello")
            assert json.loads(await ada.get_message()) == {"text": "hello"}
            await cid.send_message("anyone?")
            await cid.aclose()
            # cid's message reaches the server before its close; the handler still
            # publishes it (disconnect_grace), before the server is stopped.
            await wait_until(lambda: app.channels.statistics().published == 3)
    assert app.channels.statistics().published == 3
