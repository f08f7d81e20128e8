"""RedisBackend against a real redis-server: across processes, outages, shutdowns.

Every test here needs ``redis-server`` and coredis (``nox -s redis``); see
conftest.py for the fixture. Outages of one client only go through
:class:`~proxy.CuttableProxy`; outages of Redis itself kill or freeze the server.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from channel_helpers import until
from channels_app import make_app
from proxy import CuttableProxy

from cli_helpers import server_command
from helpers import DEADLINE
from redis_helpers import RedisServer
from wsactors import App, Channels, Gap, Message, WebSocket, websocket
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.redis, pytest.mark.e2e]

# Redis restarts, freezes and reconnection backoff: twice the usual bound.
REDIS_DEADLINE = 2 * DEADLINE
HERE = Path(__file__).parent


def redis_channels(url: str, *, history: int = 0, **options: Any) -> Channels:
    from wsactors.channels import RedisBackend

    options.setdefault("connect_timeout", 2)
    return Channels(RedisBackend(url, **options), history=history)


@asynccontextmanager
async def second_process(url: str, log: Path, history: int = 0) -> AsyncIterator[int]:
    """``channels_app:app`` in another Python process; yields its port."""
    env = {"WSACTORS_TEST_REDIS": url, "WSACTORS_TEST_HISTORY": str(history)}
    command = [sys.executable, "-m", "wsactors", "run", "channels_app:app", "--port", "0"]
    async with server_command(command, HERE, output=log, env=env) as server:
        yield server.port


@pytest.mark.usefixtures("live_engine")
async def test_two_processes_share_a_topic(redis_server: RedisServer, tmp_path: Path) -> None:
    from wsactors.testing import open_client

    with trio.fail_after(REDIS_DEADLINE):
        async with (
            second_process(redis_server.url, tmp_path / "other.log") as other_port,
            LiveServer(make_app(redis_channels(redis_server.url))) as here,
            here.connect("/topic/room") as ada,
            open_client("127.0.0.1", other_port, "/topic/room") as bob,
        ):
            await until(lambda: here.app.channels.statistics().subscribers == 1)  # type: ignore[attr-defined]
            # The other process subscribes after its handshake: retry until it hears.
            while True:
                await ada.send_message("ping from ada")
                with trio.move_on_after(0.2):
                    assert json.loads(await bob.get_message()) == "ping from ada"
                    break
            await bob.send_message("hello from the other process")
            assert json.loads(await ada.get_message()) == "hello from the other process"


async def test_a_redis_restart_gives_a_gap_then_messages_flow_again(
    redis_server: RedisServer,
) -> None:
    publisher = redis_channels(redis_server.url)
    subscriber = redis_channels(redis_server.url)
    with trio.fail_after(REDIS_DEADLINE):
        async with publisher, subscriber, subscriber.subscribe("t") as sub:
            await publisher.publish("t", "before")
            assert (await sub.get()) == Message("t", '"before"')
            redis_server.kill()
            assert (await sub.get()) == Gap("t", "reconnect", None)
            await redis_server.start()
            restarted = trio.current_time()
            await until(lambda: subscriber.backend.connected)
            resumed = trio.current_time() - restarted
            await publisher.publish("t", "after")
            assert (await sub.get()) == Message("t", '"after"')
            stats = subscriber.statistics()
    print(f"resumed {resumed * 1000:.0f} ms after Redis answered PING again")
    assert resumed < 2.0  # reconnect_max_delay is 0.5 s
    assert stats.reconnects == 1


async def test_five_restarts_in_a_row_each_resume_quickly(redis_server: RedisServer) -> None:
    subscriber = redis_channels(redis_server.url)
    resumed = []
    with trio.fail_after(REDIS_DEADLINE):
        async with subscriber, subscriber.subscribe("t") as sub:
            for _ in range(5):
                redis_server.kill()
                assert (await sub.get()) == Gap("t", "reconnect", None)
                await redis_server.start()
                restarted = trio.current_time()
                await until(lambda: subscriber.backend.connected)
                resumed.append(trio.current_time() - restarted)
    # coredis' own backoff grows across outages (seconds by the fifth); ours resets.
    assert max(resumed) < 1.0, resumed
    assert subscriber.statistics().reconnects == 5


async def _publish_during_a_cut(
    proxy: CuttableProxy, publisher: Channels, subscriber: Channels, numbers: range
) -> None:
    """Cut ``subscriber``'s link, publish ``numbers`` on "t", and restore the link.

    Returns once ``subscriber`` is connected again (callers set the deadline).
    """
    proxy.cut()
    await until(lambda: not subscriber.backend.connected)
    for n in numbers:
        await publisher.publish("t", n)
    proxy.restore()
    await until(lambda: subscriber.backend.connected)


async def test_with_history_an_outage_loses_nothing(redis_server: RedisServer) -> None:
    async with trio.open_nursery() as nursery:
        proxy = CuttableProxy(redis_server.port)
        await nursery.start(proxy.serve)
        publisher = redis_channels(redis_server.url, history=100)
        subscriber = redis_channels(proxy.url, history=100)
        with trio.fail_after(REDIS_DEADLINE):
            async with publisher, subscriber, subscriber.subscribe("t") as sub:
                await publisher.publish("t", 0)
                assert (await sub.get()).data == 0  # type: ignore[union-attr]
                await _publish_during_a_cut(proxy, publisher, subscriber, range(1, 6))
                await publisher.publish("t", 6)
                items = [await sub.get() for _ in range(7)]
                assert sub.get_nowait() is None
        nursery.cancel_scope.cancel()
    assert items[0] == Gap("t", "reconnect", None)
    assert [m.data for m in items[1:]] == [1, 2, 3, 4, 5, 6]  # type: ignore[union-attr]


async def test_a_refill_past_trimmed_history_says_so(redis_server: RedisServer) -> None:
    async with trio.open_nursery() as nursery:
        proxy = CuttableProxy(redis_server.port)
        await nursery.start(proxy.serve)
        publisher = redis_channels(redis_server.url, history=10)
        subscriber = redis_channels(proxy.url, history=10)
        with trio.fail_after(REDIS_DEADLINE):
            async with publisher, subscriber, subscriber.subscribe("t", max_backlog=2000) as sub:
                await publisher.publish("t", -1)
                assert (await sub.get()).data == -1  # type: ignore[union-attr]
                # MAXLEN ~10 trims whole nodes of 100 entries.
                await _publish_during_a_cut(proxy, publisher, subscriber, range(600))
                await trio.sleep(0.1)
                items = []
                while (item := sub.get_nowait()) is not None:
                    items.append(item)
        nursery.cancel_scope.cancel()
    assert items[:2] == [Gap("t", "reconnect", None), Gap("t", "history_trimmed", None)]
    numbers = [m.data for m in items[2:]]  # type: ignore[union-attr]
    assert numbers == list(range(600 - len(numbers), 600))
    assert 10 <= len(numbers) < 600


@pytest.mark.usefixtures("live_engine")
async def test_shutdown_with_redis_down_finishes_within_its_bound(
    redis_server: RedisServer,
) -> None:
    channels = redis_channels(redis_server.url, stop_timeout=2)
    with trio.fail_after(REDIS_DEADLINE):
        async with LiveServer(make_app(channels), stop_timeout=5) as server:
            async with server.connect("/topic/t"):
                await until(lambda: channels.statistics().subscribers == 1)
                redis_server.kill()
                await until(lambda: not channels.backend.connected)
            stopping = trio.current_time()
        took = trio.current_time() - stopping
    assert took < 3.0, f"shutdown took {took:.1f} s"
    assert not channels.running


async def test_startup_fails_fast_when_redis_is_unreachable(redis_server: RedisServer) -> None:
    from wsactors.channels.redis import RedisUnavailableError

    redis_server.kill()
    channels = redis_channels(redis_server.url, connect_timeout=1)
    start = trio.current_time()
    with (
        trio.fail_after(REDIS_DEADLINE),
        pytest.raises(RedisUnavailableError, match="start_degraded"),
    ):
        async with channels:
            pass  # pragma: no cover
    assert trio.current_time() - start < 2.0
    assert not channels.running


async def test_start_degraded_starts_and_connects_when_redis_comes(
    redis_server: RedisServer,
) -> None:
    redis_server.kill()
    subscriber = redis_channels(redis_server.url, start_degraded=True)
    with trio.fail_after(REDIS_DEADLINE):
        async with subscriber, subscriber.subscribe("t") as sub:
            assert not subscriber.statistics().connected
            assert (await sub.get()) == Gap("t", "reconnect", None)
            await redis_server.start()
            await until(lambda: subscriber.backend.connected)
            async with redis_channels(redis_server.url) as publisher:
                await publisher.publish("t", "hello")
            assert (await sub.get()).data == "hello"  # type: ignore[union-attr]


async def test_a_frozen_redis_is_detected_by_the_health_check(
    redis_server: RedisServer,
) -> None:
    subscriber = redis_channels(
        redis_server.url, connect_timeout=0.5, health_check_interval=0.2, health_check_timeout=0.3
    )
    with trio.fail_after(REDIS_DEADLINE):
        async with subscriber, subscriber.subscribe("t") as sub:
            redis_server.freeze()
            frozen = trio.current_time()
            assert (await sub.get()) == Gap("t", "reconnect", None)
            detected = trio.current_time() - frozen
            redis_server.thaw()
            await until(lambda: subscriber.backend.connected)
            async with redis_channels(redis_server.url) as publisher:
                await publisher.publish("t", "thawed")
            assert (await sub.get()).data == "thawed"  # type: ignore[union-attr]
    assert detected < 1.5


async def test_a_foreign_message_on_the_prefix_is_ignored(redis_server: RedisServer) -> None:
    import coredis

    channels = redis_channels(redis_server.url)
    with trio.fail_after(REDIS_DEADLINE):
        async with channels, channels.subscribe("t") as sub:
            async with coredis.Redis.from_url(redis_server.url) as client:
                await client.publish("wsactors:t", "not from wsactors")
            await channels.publish("t", "ours")
            assert (await sub.get()) == Message("t", '"ours"')
            assert channels.backend.connected


async def test_shutdown_with_a_frozen_redis_finishes_within_its_bound(
    redis_server: RedisServer,
) -> None:
    channels = redis_channels(redis_server.url, stop_timeout=1)
    with trio.fail_after(REDIS_DEADLINE):
        async with channels:
            async with channels.subscribe("t"):
                redis_server.freeze()  # sockets stay open, nothing answers
            stopping = trio.current_time()
        took = trio.current_time() - stopping
    assert took < 2.5, f"shutdown took {took:.1f} s"


async def test_an_app_whose_redis_is_unreachable_fails_its_startup_clearly(
    redis_server: RedisServer,
) -> None:
    from wsactors.testing import LifespanError, TestClient

    redis_server.kill()
    app = make_app(redis_channels(redis_server.url, connect_timeout=1))
    with (
        trio.fail_after(REDIS_DEADLINE),
        pytest.raises(LifespanError, match=r"RedisUnavailableError.*unreachable within 1s"),
    ):
        async with TestClient(app):
            pass  # pragma: no cover


@pytest.mark.usefixtures("live_engine")
async def test_a_redis_restart_reaches_a_socket_subscriber_as_a_gap(
    redis_server: RedisServer,
) -> None:
    """socket.subscribe keeps the delivery guarantee across a Redis restart: the
    client gets the Gap notice where messages may have been lost, then the stream."""

    @websocket("/sub")
    async def subscriber(socket: WebSocket) -> None:
        await socket.accept()
        await socket.subscribe("t")
        await socket.send_text("ready")
        async for _ in socket.iter_data():
            pass

    publisher = redis_channels(redis_server.url)
    served = redis_channels(redis_server.url)
    with trio.fail_after(REDIS_DEADLINE):
        async with (
            publisher,
            LiveServer(App([subscriber], channels=served)) as server,
            server.connect("/sub") as client,
        ):
            assert await client.get_message() == "ready"
            await publisher.publish("t", "before")
            assert json.loads(await client.get_message()) == "before"
            redis_server.kill()
            gap = json.loads(await client.get_message())
            assert gap == {"type": "gap", "topic": "t", "reason": "reconnect", "count": None}
            await redis_server.start()
            await until(lambda: served.backend.connected)
            await publisher.publish("t", "after")
            assert json.loads(await client.get_message()) == "after"
