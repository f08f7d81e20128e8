"""Channels: channels_rooms, on the memory backend and on a real Redis (channels_subscribe
needs no server: test_example_in_process.py).

On Redis the room spans two Apps, each with its own LiveServer and its own Channels
on one redis-server, as two processes would (``nox -s redis`` runs that variant).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import trio
from example_helpers import DEADLINE, load_example
from trio_websocket import WebSocketConnection

from redis_helpers import started_redis
from wsactors import App, Channels
from wsactors.testing import LiveServer

pytestmark = pytest.mark.usefixtures("live_engine")


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def redis_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str | None]:
    """None for the memory backend, or the URL of a fresh redis-server."""
    if request.param == "memory":
        yield None
        return
    async with started_redis(tmp_path / "redis.log") as server:
        yield server.url


@asynccontextmanager
async def two_servers(
    module: ModuleType, redis_url: str | None
) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """The example's own App twice (memory), or two Apps sharing one Redis."""
    if redis_url is None:
        async with LiveServer(module.app) as server:
            yield server, server
        return
    from wsactors.channels import RedisBackend

    def app() -> App:
        return App([module.Room], channels=Channels(RedisBackend(redis_url, connect_timeout=2)))

    async with LiveServer(app()) as here, LiveServer(app()) as there:
        yield here, there


def channels_of(server: LiveServer) -> Channels:
    channels = server.app.channels  # type: ignore[attr-defined]
    assert isinstance(channels, Channels)
    return channels


async def receive(ws: WebSocketConnection) -> Any:
    return json.loads(await ws.get_message())


async def subscribed(ws: WebSocketConnection, server: LiveServer, room: str) -> None:
    """Wait until the client alone in ``room`` hears it: its on_connect has subscribed.

    Its handshake completes before ``on_connect`` runs, so the test publishes probes
    until one arrives, then reads up to a last one (ordered after every probe).
    """
    channels = channels_of(server)
    for n in itertools.count():
        await channels.publish(room, {"probe": n})
        with trio.move_on_after(0.2):
            await ws.get_message()
            break
    await channels.publish(room, {"probe": "last"})
    while await receive(ws) != {"probe": "last"}:
        pass


async def test_a_room_hears_joins_messages_and_leaves_and_nothing_of_other_rooms(
    redis_url: str | None,
) -> None:
    module = load_example("channels_rooms")
    with trio.fail_after(DEADLINE):
        async with (
            two_servers(module, redis_url) as (here, there),
            here.connect("/rooms/lobby?name=ada") as ada,
            there.connect("/rooms/other?name=cid") as cid,
        ):
            await subscribed(ada, here, "lobby")
            await subscribed(cid, there, "other")
            async with there.connect("/rooms/lobby?name=bob") as bob:
                # Who came, told to the others only.
                assert await receive(ada) == {"joined": "bob"}
                async with here.connect("/rooms/other?name=dan") as dan:
                    assert await receive(cid) == {"joined": "dan"}
                    await ada.send_message("hi")
                    # bob's first message: not its own join notice, but ada's words.
                    assert await receive(bob) == {"name": "ada", "text": "hi"}
                    await bob.send_message("hello")
                    # ada was not echoed "hi": bob's answer is the next thing it hears.
                    assert await receive(ada) == {"name": "bob", "text": "hello"}
                    await bob.aclose()
                    assert await receive(ada) == {"left": "bob"}
                    # Everything above was published before this; cid heard none of it.
                    await dan.send_message("quiet here?")
                    assert await receive(cid) == {"name": "dan", "text": "quiet here?"}
            assert await receive(cid) == {"left": "dan"}
