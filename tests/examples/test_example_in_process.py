"""Examples whose tests need no server: they run once, not once per engine.

channels_subscribe reads a subscription in-process; low_level_echo is served twice
by the in-process TestClient (its lifespan can start again after a shutdown).
"""

from __future__ import annotations

import trio
from example_helpers import DEADLINE, load_example

from wsactors.testing import TestClient


async def test_channels_subscribe_shows_the_gap_first() -> None:
    main = load_example("channels_subscribe").main
    with trio.fail_after(DEADLINE):
        seen = await main()
    assert seen == ["lost 2 of prices (overflow)", "prices: 12", "prices: 13"]


async def test_an_app_can_be_served_again_after_a_shutdown() -> None:
    app = load_example("low_level_echo").app
    with trio.fail_after(DEADLINE):
        for _ in range(2):
            async with TestClient(app) as client, client.websocket_connect("/echo") as ws:
                await ws.send_text("again")
                assert await ws.receive_text() == "again"
