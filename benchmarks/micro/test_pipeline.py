"""The framework's own per-message and per-connection cost, without sockets.

Each App is driven through in-memory ASGI ``receive``/``send`` channels, so
hypercorn, wsproto and the kernel are out of the picture and what remains is the
application: for wsactors, the actors, channels and handler layers; for the raw
ASGI floor, next to nothing. The difference between the two is wsactors' share
of the figures in ``docs/performance.md``. Times are per call: divide by the
count in the test name for one message or one connection (each call also starts
and ends one ``trio.run``, well under a millisecond).
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import trio
from pytest_benchmark.fixture import BenchmarkFixture

from ..servers import raw_asgi, wsactors_listener, wsactors_raw

MESSAGES = 1000
CONNECTIONS = 100
SIZE = 64
PAYLOAD = "x" * SIZE

APPS = {
    "raw-asgi": raw_asgi.app,
    "wsactors-listener": wsactors_listener.app,
    "wsactors-websocket": wsactors_raw.app,
}


def _scope(path: str, query: str = "") -> dict[str, Any]:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "headers": [(b"host", b"127.0.0.1")],
        "subprotocols": [],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "extensions": {"websocket.http.response": {}},
    }


async def _session(app: Any, path: str, query: str, messages: int, push: bool) -> None:
    """One connection: accept, then ``messages`` echoes or pushed messages, then leave."""
    to_app, app_receive = trio.open_memory_channel[dict[str, Any]](math.inf)
    app_send, from_app = trio.open_memory_channel[dict[str, Any]](math.inf)
    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(app, _scope(path, query), app_receive.receive, app_send.send)
            to_app.send_nowait({"type": "websocket.connect"})
            assert (await from_app.receive())["type"] == "websocket.accept"
            for _ in range(messages):
                if not push:
                    await to_app.send({"type": "websocket.receive", "text": PAYLOAD})
                reply = await from_app.receive()
                assert reply.get("text") == PAYLOAD
            await to_app.send({"type": "websocket.disconnect", "code": 1000})


async def _echo(app: Any) -> None:
    await _session(app, "/echo", "", MESSAGES, push=False)


async def _push(app: Any) -> None:
    await _session(app, "/push", f"n={MESSAGES}&size={SIZE}", MESSAGES, push=True)


async def _connections(app: Any) -> None:
    for _ in range(CONNECTIONS):
        await _session(app, "/echo", "", 0, push=False)


def _measure(
    benchmark: BenchmarkFixture, session: Callable[[Any], Awaitable[None]], app: Any
) -> None:
    """Time ``trio.run(session, app)``; a fresh run each round, like a fresh server."""
    pedantic: Callable[..., object] = benchmark.pedantic  # untyped in pytest-benchmark
    pedantic(trio.run, args=(session, app), rounds=10, warmup_rounds=1)


@pytest.mark.parametrize("name", APPS)
def test_echo_1000_round_trips(benchmark: BenchmarkFixture, name: str) -> None:
    _measure(benchmark, _echo, APPS[name])


@pytest.mark.parametrize("name", APPS)
def test_push_1000_messages(benchmark: BenchmarkFixture, name: str) -> None:
    _measure(benchmark, _push, APPS[name])


@pytest.mark.parametrize("name", ["raw-asgi", "wsactors-listener"])
def test_100_connections_opened_and_closed(benchmark: BenchmarkFixture, name: str) -> None:
    _measure(benchmark, _connections, APPS[name])
