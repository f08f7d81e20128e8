"""Dependency injection: dependency_injection_simple, dependency_injection_yield."""

from __future__ import annotations

import json

import trio
from example_helpers import DEADLINE, load_example, wait_until

from wsactors.testing import LiveServer


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
                await first.send_message("a")
                assert json.loads(await first.get_message()) == {
                    "echo": "a",
                    "you_are": 1,
                    "online": 1,
                }
                async with server.connect("/") as second:
                    await second.send_message("b")
                    assert json.loads(await second.get_message()) == {
                        "echo": "b",
                        "you_are": 2,
                        "online": 2,
                    }
                    # The dependency ran once per connection: `you_are` is unchanged.
                    await first.send_message("c")
                    assert json.loads(await first.get_message()) == {
                        "echo": "c",
                        "you_are": 1,
                        "online": 2,
                    }
                # The code after `yield` runs once the second connection has ended.
                await wait_until(lambda: app.state.connected_clients == 1)
                await first.send_message("d")
                assert json.loads(await first.get_message())["online"] == 1
            await wait_until(lambda: app.state.connected_clients == 0)
