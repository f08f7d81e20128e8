"""``socket.subscribe``: the connection itself subscribes, end to end on both engines.

Memory backend and Redis (``make_channels``), trio-websocket clients. The App:
``/sub/{topic}`` accepts, subscribes to ``topic`` with the options the test gives,
says ``"ready"``, then reads commands: ``+t`` subscribes to ``t``, ``-t``
unsubscribes from it (each answered ``"ok"``), anything else is published to
``topic`` with ``exclude=socket``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import trio
from channel_helpers import until
from trio_websocket import ConnectionClosed, WebSocketConnection

from helpers import DEADLINE
from wsactors import App, Channels, WebSocket, websocket
from wsactors.connection.state import ProtocolError
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

MakeChannels = Callable[..., Channels]


def subscriber_app(
    channels: Channels, sockets: list[WebSocket] | None = None, **options: Any
) -> App:
    @websocket("/sub/{topic:str}")
    async def subscriber(socket: WebSocket, topic: str, channels: Channels) -> None:
        if sockets is not None:
            sockets.append(socket)
        await socket.accept()
        await socket.subscribe(topic, **options)
        await socket.send_text("ready")
        async for text in socket.iter_data():
            assert isinstance(text, str)
            if text.startswith("+"):
                await socket.subscribe(text[1:])
                await socket.send_text("ok")
            elif text.startswith("-"):
                await socket.unsubscribe(text[1:])
                await socket.send_text("ok")
            else:
                await channels.publish(topic, text, exclude=socket)

    return App([subscriber], channels=channels, shutdown_timeout=3)


async def ready(client: WebSocketConnection) -> WebSocketConnection:
    assert await client.get_message() == "ready"
    return client


def running(server: LiveServer) -> Channels:
    assert isinstance(server.app, App)
    assert server.app.channels is not None
    return server.app.channels


async def test_messages_arrive_as_the_publishers_json_text_but_not_to_the_excluded(
    make_channels: MakeChannels,
) -> None:
    sockets: list[WebSocket] = []
    with trio.fail_after(DEADLINE):
        async with LiveServer(subscriber_app(make_channels(), sockets)) as server:
            channels = running(server)
            async with server.connect("/sub/room") as ada, server.connect("/sub/room") as bob:
                await ready(ada)
                await ready(bob)
                await channels.publish("room", {"n": 1, "text": "héllo"})
                expected = channels.codec.dumps({"n": 1, "text": "héllo"})
                assert await ada.get_message() == expected
                assert await bob.get_message() == expected
                await ada.send_message("from ada")
                assert await bob.get_message() == '"from ada"'
                await bob.send_message("from bob")
                # ada's next message is bob's: her own was not echoed back.
                assert await ada.get_message() == '"from bob"'
                stats = channels.statistics()
                assert (stats.topics, stats.subscribers) == (1, 2)
                assert stats.delivered == 4
                assert [s.statistics().channel_messages for s in sockets] == [2, 2]
                assert [s.statistics().messages_out for s in sockets] == [3, 3]  # and "ready"
            # The subscriptions ended with the connections.
            await until(lambda: channels.statistics().subscribers == 0)
            assert channels.statistics().topics == 0


async def test_unsubscribe_stops_a_topic_and_leaves_the_others(
    make_channels: MakeChannels,
) -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(subscriber_app(make_channels())) as server:
            channels = running(server)
            async with server.connect("/sub/a") as client:
                await ready(client)
                await client.send_message("+b")
                assert await client.get_message() == "ok"
                await client.send_message("+b")  # already subscribed: still one
                assert await client.get_message() == "ok"
                assert channels.statistics().subscribers == 2
                await channels.publish("b", "b1")
                assert await client.get_message() == '"b1"'
                await client.send_message("-a")
                assert await client.get_message() == "ok"
                await channels.publish("a", "lost")
                await channels.publish("b", "b2")
                assert await client.get_message() == '"b2"'
                assert channels.statistics().subscribers == 1


async def test_history_is_replayed_before_live_messages(make_channels: MakeChannels) -> None:
    with trio.fail_after(DEADLINE):
        app = subscriber_app(make_channels(history=10), history=2)
        async with LiveServer(app) as server:
            channels = running(server)
            for n in range(3):
                await channels.publish("t", n)
            async with server.connect("/sub/t") as client:
                # The replay is delivered before subscribe returns.
                got = [await client.get_message() for _ in range(3)]
                await channels.publish("t", 3)
                got.append(await client.get_message())
    assert got == ["1", "2", "ready", "3"]


async def _stall(
    server: LiveServer, channels: Channels, sockets: list[WebSocket], count: int
) -> list[Any]:
    """Publish ``count`` large messages while one client reads nothing and another
    reads everything; return what the reader got. Checks the bounds meanwhile."""
    async with server.connect("/sub/t") as slow, server.connect("/sub/t") as fast:
        await ready(slow)
        await ready(fast)
        stalled, _ = sockets
        # trio-websocket queues one message, then stops reading TCP: the socket
        # buffers fill, then the outbox, then the backlog.
        big = "x" * 65536
        got: list[Any] = []
        for n in range(count):
            await channels.publish("t", {"n": n, "pad": big})
            stats = stalled.statistics()
            assert stats.channel_backlog <= 4
            assert stats.outbox_depth <= stats.outbox_size
            got.append(json.loads(await fast.get_message()))
        assert channels.statistics().dropped > 0
        return got


async def test_a_stalled_subscriber_gets_gaps_and_slows_nobody(
    make_channels: MakeChannels,
) -> None:
    sockets: list[WebSocket] = []
    with trio.fail_after(DEADLINE):
        async with LiveServer(subscriber_app(make_channels(), sockets, max_backlog=4)) as server:
            channels = running(server)
            fast_got = await _stall(server, channels, sockets, 300)
            # The other subscriber got every message, in order, no Gap.
            assert [item["n"] for item in fast_got] == list(range(300))


async def test_the_stalled_subscriber_sees_where_messages_were_lost(
    make_channels: MakeChannels,
) -> None:
    sockets: list[WebSocket] = []
    channels = make_channels()
    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(subscriber_app(channels, sockets, max_backlog=4)) as server,
            server.connect("/sub/t") as slow,
        ):
            await ready(slow)
            big = "x" * 65536
            for n in range(300):
                await channels.publish("t", {"n": n, "pad": big})
                assert sockets[0].statistics().channel_backlog <= 4
            await channels.publish("t", {"n": "last"})
            seen: list[Any] = []
            while not seen or seen[-1].get("n") != "last":
                seen.append(json.loads(await slow.get_message()))
            stats = sockets[0].statistics()
    gaps = [item for item in seen if item.get("type") == "gap"]
    numbers = [item["n"] for item in seen if isinstance(item.get("n"), int)]
    assert gaps, "no gap marker"
    assert all((g["topic"], g["reason"]) == ("t", "overflow") for g in gaps)
    lost = sum(g["count"] for g in gaps)
    assert lost == channels.statistics().dropped
    assert (stats.channel_gaps, stats.channel_lost) == (len(gaps), lost)
    assert stats.channel_messages == len(numbers) + 1
    assert len(numbers) + lost == 300
    assert numbers == sorted(numbers)


@pytest.mark.parametrize("options", [{"on_gap": "close"}, {"overflow": "close"}])
async def test_a_stalled_subscriber_is_closed_with_1013(
    make_channels: MakeChannels, options: dict[str, Any]
) -> None:
    channels = make_channels()
    with trio.fail_after(DEADLINE):
        app = subscriber_app(channels, max_backlog=4, **options)
        async with LiveServer(app) as server, server.connect("/sub/t") as slow:
            await ready(slow)
            big = "x" * 65536
            for n in range(300):
                await channels.publish("t", {"n": n, "pad": big})
            with pytest.raises(ConnectionClosed) as closed:  # noqa: PT012 (read until the close)
                while True:
                    await slow.get_message()
            await until(lambda: channels.statistics().subscribers == 0)
    reason = closed.value.reason
    assert reason is not None
    assert (reason.code, reason.reason) == (1013, "Try Again Later")


async def test_subscribing_needs_channels_and_an_accepted_connection() -> None:
    @websocket("/early")
    async def early(socket: WebSocket) -> None:
        try:
            await socket.subscribe("t")
        except ProtocolError as exc:
            await socket.accept()
            await socket.send_text(str(exc))

    @websocket("/none")
    async def none(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await socket.subscribe("t")
        except RuntimeError as exc:
            await socket.send_text(str(exc))

    with trio.fail_after(DEADLINE):
        app = App([early], channels=Channels())
        async with LiveServer(app) as server, server.connect("/early") as client:
            assert await client.get_message() == "accept the connection before subscribing"
        async with LiveServer(App([none])) as server, server.connect("/none") as client:
            message = await client.get_message()
    assert "App(..., channels=Channels())" in message
