"""Class-based listeners: listener_class_based, listener_class_based_async,
listener_class_tasks."""

from __future__ import annotations

import json

import pytest
import trio
from example_helpers import DEADLINE, load_example, wait_until

from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


async def test_sync_class_listener_keeps_state_per_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module = load_example("listener_class_based")
    with trio.fail_after(DEADLINE):
        async with LiveServer(module.app) as server:
            async with server.connect("/") as first, server.connect("/") as second:
                await first.send_message("a")
                assert await first.get_message() == "1: a"
                await first.send_message("b")
                assert await first.get_message() == "2: b"
                # A fresh instance for the second connection: its own count.
                await second.send_message("c")
                assert await second.get_message() == "1: c"
            # on_disconnect runs after the client left; wait for both log lines.
            await wait_until(lambda: _messages(caplog, module.__name__).count("closed") == 2)
    lines = _lines(caplog, module.__name__)
    assert sum(line.startswith("connection accepted from") for line in lines) == 2
    assert sorted(line for line in lines if "closed" in line) == [
        "connection closed after 1 messages",
        "connection closed after 2 messages",
    ]


def _lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[str]:
    """What the example's own logger said, in order."""
    return [r.getMessage() for r in caplog.records if r.name == logger]


def _messages(caplog: pytest.LogCaptureFixture, logger: str) -> str:
    return " ".join(_lines(caplog, logger))


async def test_async_class_listener_greets_then_echoes(
    caplog: pytest.LogCaptureFixture, live_engine: str
) -> None:
    module = load_example("listener_class_based_async")
    with trio.fail_after(DEADLINE):
        async with LiveServer(module.app) as server:
            async with server.connect("/") as ws:
                assert await ws.get_message() == "welcome"
                await ws.send_message("hello")
                assert await ws.get_message() == "hello"
            await wait_until(lambda: "connection closed" in _messages(caplog, module.__name__))
    # The client closed with 1000. hypercorn reports 1006 for every client-initiated
    # close (its issue #127); the native engine gives the client's code
    # (docs/engines.md).
    code = 1006 if live_engine == "hypercorn" else 1000
    assert f"connection closed (code {code})" in _messages(caplog, module.__name__)


async def test_class_listener_task_ticks_beside_the_loop_and_stops_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module = load_example("listener_class_tasks")
    with trio.fail_after(DEADLINE):
        async with LiveServer(module.app) as server:
            async with server.connect("/ticks") as ws:
                assert json.loads(await ws.get_message()) == {"tick": 0}
                await ws.send_message("0.01")  # the loop answers while the task ticks
                seen = [json.loads(await ws.get_message())]
                while seen[-1] != {"interval": 0.01}:  # a slow machine: a tick may come first
                    seen.append(json.loads(await ws.get_message()))
                # Faster from the next tick on: ticks arrive without asking, in order.
                seen += [json.loads(await ws.get_message()) for _ in range(3)]
                ticks = [message["tick"] for message in seen if "tick" in message]
                assert len(ticks) >= 3
                assert ticks == list(range(1, len(ticks) + 1))
            await wait_until(lambda: "disconnected" in _messages(caplog, module.__name__))
    lines = _lines(caplog, module.__name__)
    assert len(lines) == 2
    assert lines[0].startswith("ticker stopped after ")
    assert lines[1] == "disconnected; the ticker has already stopped"
