"""Channels in an App, end to end: hypercorn on loopback, trio-websocket clients.

Memory backend (one process); ``test_redis.py`` has the same across processes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
from channel_helpers import until
from channels_app import make_app
from trio_websocket import ConnectionClosed

from helpers import DEADLINE
from wsactors import App, Channels, Provide, WebSocket, websocket, websocket_listener
from wsactors.testing import LiveServer, TestClient

pytestmark = pytest.mark.e2e


@pytest.mark.usefixtures("live_engine")
async def test_a_message_from_one_client_reaches_the_others_but_not_itself() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(make_app(Channels())) as server,
            server.connect("/topic/room") as ada,
            server.connect("/topic/room") as bob,
        ):
            await _until_subscribed(server, 2)
            await ada.send_message("hello from ada")
            assert json.loads(await bob.get_message()) == "hello from ada"
            await bob.send_message("hello from bob")
            # ada's next message is bob's: her own was not echoed back.
            assert json.loads(await ada.get_message()) == "hello from bob"


async def _until_subscribed(server: LiveServer, count: int) -> None:
    app = server.app
    assert isinstance(app, App)
    assert app.channels is not None
    channels = app.channels
    await until(lambda: channels.statistics().subscribers >= count)


@asynccontextmanager
async def _stalled_client(
    on_gap: Any, sockets: list[WebSocket] | None = None
) -> AsyncIterator[tuple[Channels, Any]]:
    channels = Channels(max_backlog=4)
    async with (
        LiveServer(make_app(channels, on_gap=on_gap, sockets=sockets)) as server,
        server.connect("/topic/t") as client,
    ):
        # message_queue_size=1: the client stops reading from TCP at once.
        await _until_subscribed(server, 1)
        # Large messages fill the socket buffers, then the 4-message backlog.
        big = "x" * 65536
        for n in range(300):
            await channels.publish("t", {"n": n, "pad": big})
        await until(lambda: channels.statistics().dropped > 0)
        yield channels, client


@pytest.mark.usefixtures("live_engine")
async def test_a_slow_client_gets_a_gap_marker_where_messages_were_lost() -> None:
    sockets: list[WebSocket] = []
    with trio.fail_after(DEADLINE):
        async with _stalled_client("notify", sockets) as (channels, client):
            seen: list[Any] = []
            while not seen or seen[-1].get("n") != 299:
                seen.append(json.loads(await client.get_message()))
            stats = sockets[0].statistics()
    gaps = [item for item in seen if item.get("type") == "gap"]
    numbers = [item["n"] for item in seen if "n" in item]
    assert gaps, "no gap marker"
    assert all((g["topic"], g["reason"]) == ("t", "overflow") for g in gaps)
    lost = sum(g["count"] for g in gaps)
    assert lost == channels.statistics().dropped
    # The connection's own statistics count the same losses.
    assert (stats.channel_gaps, stats.channel_lost) == (len(gaps), lost)
    assert len(numbers) + lost == 300
    assert numbers == sorted(numbers)


@pytest.mark.usefixtures("live_engine")
async def test_on_gap_close_closes_a_slow_client_with_1013() -> None:
    with trio.fail_after(DEADLINE):
        async with _stalled_client("close") as (_, client):
            with pytest.raises(ConnectionClosed) as closed:  # noqa: PT012 (read until the close)
                while True:
                    await client.get_message()
    reason = closed.value.reason
    assert reason is not None
    assert (reason.code, reason.reason) == (1013, "Try Again Later")


async def test_channels_are_injected_into_dependencies_and_listener_hooks() -> None:
    def room_name(channels: Channels) -> str:
        assert channels.running
        return "lobby"

    async def joined(socket: WebSocket, channels: Channels, room: str) -> None:
        await channels.publish(room, "joined")

    @websocket_listener("/say", on_connect=joined, dependencies={"room": Provide(room_name)})
    async def say(data: str, room: str, channels: Channels) -> str:
        await channels.publish(room, data)
        return "said"

    channels = Channels()
    with trio.fail_after(DEADLINE):
        async with (
            TestClient(App([say], channels=channels)) as client,
            channels.subscribe("lobby") as sub,
        ):
            async with client.websocket_connect("/say") as ws:
                await ws.send_text("hi")
                assert await ws.receive_text() == "said"
            got = [(await sub.get()).data for _ in range(2)]  # type: ignore[union-attr]
    assert got == ["joined", "hi"]


@pytest.mark.usefixtures("live_engine")
async def test_send_to_runs_as_a_task_of_the_connection_started_in_on_connect() -> None:
    # The form channels.send_to's docstring gives: socket.start returns once the
    # subscription is registered, and the task ends with the connection.
    async def feed(socket: WebSocket, channels: Channels) -> None:
        await socket.start(channels.send_to, socket, "news")
        await socket.send_text("subscribed")

    @websocket_listener("/news", on_connect=feed)
    async def news(data: str) -> None:
        return None

    channels = Channels()
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([news], channels=channels)) as server:
            async with server.connect("/news") as ws:
                assert await ws.get_message() == "subscribed"
                await channels.publish("news", {"n": 1})
                assert json.loads(await ws.get_message()) == {"n": 1}
            await until(lambda: channels.statistics().subscribers == 0)


async def test_lifespan_contexts_stay_open_while_serving() -> None:
    events: list[str] = []

    @asynccontextmanager
    async def worker(app: App) -> AsyncIterator[None]:
        assert app.channels is not None
        events.append("enter")
        async with trio.open_nursery() as nursery, app.channels.subscribe("jobs") as sub:

            async def work() -> None:
                async for item in sub:
                    events.append(f"job {item.data}")  # type: ignore[union-attr]

            nursery.start_soon(work)
            yield
            nursery.cancel_scope.cancel()
        events.append("exit")

    def started(app: App) -> None:
        events.append("startup hook")

    @websocket_listener("/submit")
    async def submit(data: str, channels: Channels) -> str:
        await channels.publish("jobs", data)
        return "queued"

    app = App([submit], channels=Channels(), lifespan=[worker], on_startup=[started])
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client:
            async with client.websocket_connect("/submit") as ws:
                await ws.send_text("one")
                assert await ws.receive_text() == "queued"
            await until(lambda: 'job "one"' in events or "job one" in events)
        assert not app.channels.running  # type: ignore[union-attr]
    assert events == ["startup hook", "enter", "job one", "exit"]


@pytest.mark.usefixtures("live_engine")
async def test_asking_for_channels_without_any_fails_the_connection() -> None:
    @websocket("/x")
    async def handler(socket: WebSocket, channels: Channels) -> None:
        await socket.accept()  # pragma: no cover

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/x") as client:
            with pytest.raises(ConnectionClosed) as closed:
                await client.get_message()
    assert closed.value.reason is not None
    assert closed.value.reason.code in (1006, 1011)
