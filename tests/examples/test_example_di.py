"""Dependency injection: dependency_injection_simple, dependency_injection_yield."""

from __future__ import annotations

import pytest
import trio
from example_helpers import DEADLINE, load_example, wait_until

from helpers import ask_json
from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_simple_dependency_is_injected_by_name() -> None:
    app = load_example("dependency_injection_simple").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            await ws.send_message("hello")
            assert await ws.get_message() == "hello!"


async def test_yield_dependency_counts_clients_in_app_state() -> None:
    app = load_example("dependency_injection_yield").app
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            assert app.state.connected_clients == 0  # set by the startup hook
            async with server.connect("/") as first:
                assert await ask_json(first, "a") == {"echo": "a", "you_are": 1, "online": 1}
                async with server.connect("/") as second:
                    assert await ask_json(second, "b") == {"echo": "b", "you_are": 2, "online": 2}
                    # The dependency ran once per connection: `you_are` is unchanged.
                    assert await ask_json(first, "c") == {"echo": "c", "you_are": 1, "online": 2}
                # The code after `yield` runs once the second connection has ended.
                await wait_until(lambda: app.state.connected_clients == 1)
                assert (await ask_json(first, "d"))["online"] == 1
            await wait_until(lambda: app.state.connected_clients == 0)
