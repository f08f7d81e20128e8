"""Actor tests of the rules around a behaviour: the disconnect policy and its grace,
the per-connection limits, the data-discard rule, the watcher's stop reason, and
the App's drain through ``LiveConnections``.

Driven through ``runtime_harness.FakeTransport`` under virtual time (the
``autojump_clock`` fixture); every wait has a deadline.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import AsyncIterator

import pytest
import trio
import trio.testing
from runtime_harness import FakeTransport, serving

from helpers import DEADLINE
from wsactors import WebSocket, WebSocketDisconnect, send_websocket_stream
from wsactors.actors.counters import ConnectionStatistics
from wsactors.actors.registry import LiveConnections
from wsactors.actors.watcher import Watcher
from wsactors.connection.closes import Why, stop_error
from wsactors.connection.limits import RuntimeConfig
from wsactors.exceptions import DataDiscardedWarning


# ===================================================================== disconnect policy
async def test_a_reader_gets_the_grace_to_handle_the_disconnect(
    autojump_clock: trio.testing.MockClock,
) -> None:
    handled: list[float] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await socket.receive_text()
        except WebSocketDisconnect:
            await trio.sleep(1)  # e.g. saving state: within disconnect_grace
            handled.append(trio.current_time())

    async with serving(handler) as conn:
        left_at = await conn.client_leaves()
    assert handled == [pytest.approx(left_at + 1, abs=0.01)]


async def test_a_behaviour_that_outlives_the_grace_is_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ended: list[float] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await socket.receive_text()
        except WebSocketDisconnect:
            try:
                await trio.sleep_forever()
            finally:
                ended.append(trio.current_time())

    async with serving(handler, config=RuntimeConfig(disconnect_grace=3.0)) as conn:
        left_at = await conn.client_leaves()
    assert ended == [pytest.approx(left_at + 3.0, abs=0.01)]
    assert conn.transport.closes == []


async def test_messages_sent_before_the_disconnect_are_still_delivered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    go = trio.Event()
    received: list[str] = []
    disconnect: list[int] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()  # busy while the client sends and leaves: messages are queued
        try:
            while True:
                received.append(await socket.receive_text())
        except WebSocketDisconnect as exc:
            disconnect.append(exc.code)

    async with serving(handler) as conn:
        for n in range(5):
            conn.transport.client_sends(f"m{n}")
        conn.transport.client_leaves(1001)
        await trio.testing.wait_all_tasks_blocked()
        go.set()
        await conn.wait_done()
    assert received == [f"m{n}" for n in range(5)]
    assert disconnect == [1001]


async def test_a_reader_kind_gets_the_grace_even_when_busy(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """Listeners (``reader=True``) always read: never cancelled at once."""
    ended: list[float] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await trio.sleep(60)  # busy, not receiving, nothing queued
        finally:
            ended.append(trio.current_time())

    config = RuntimeConfig(disconnect_grace=2.0)
    async with serving(handler, config=config, reader=True) as conn:
        left_at = await conn.client_leaves()
    assert ended == [pytest.approx(left_at + 2.0, abs=0.01)]


# ===================================================================== limits
async def echo(socket: WebSocket) -> None:
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)


async def test_max_message_size_closes_1009_before_decoding(
    autojump_clock: trio.testing.MockClock,
) -> None:
    config = RuntimeConfig(max_message_size=4)
    async with serving(echo, config=config) as conn:
        conn.transport.client_sends("four")
        await trio.testing.wait_all_tasks_blocked()
        # Not sent along with "four": a violation stops the behaviour at once, even
        # with earlier messages still queued.
        conn.transport.client_sends("hello")
        await conn.wait_done()
    assert conn.transport.data == ["four"]
    assert conn.transport.closes == [(1009, "message too big: 5 bytes > 4")]


async def test_max_message_size_counts_utf8_bytes(autojump_clock: trio.testing.MockClock) -> None:
    async with serving(echo, config=RuntimeConfig(max_message_size=4)) as conn:
        conn.transport.client_sends("ééé")  # three characters, six bytes
        await conn.wait_done()
    assert conn.transport.closes == [(1009, "message too big: 6 bytes > 4")]


async def test_rate_limit_close_policy(autojump_clock: trio.testing.MockClock) -> None:
    async with serving(echo, config=RuntimeConfig(rate_limit=(2, 1.0))) as conn:
        for n in range(2):
            conn.transport.client_sends(str(n))
        await trio.testing.wait_all_tasks_blocked()
        conn.transport.client_sends("2")  # at the same virtual time: over the limit
        await conn.wait_done()
    assert conn.transport.data == ["0", "1"]
    assert conn.transport.closes == [(1008, "rate limit exceeded")]


async def test_rate_limit_drop_policy_counts_and_refills(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stats: list[ConnectionStatistics] = []

    async def handler(socket: WebSocket) -> None:
        try:
            await echo(socket)
        finally:
            stats.append(socket.statistics())

    config = RuntimeConfig(rate_limit=(2, 1.0), rate_limit_policy="drop")
    async with serving(handler, config=config) as conn:
        for n in range(3):
            conn.transport.client_sends(str(n))
        await trio.sleep(1)  # the bucket refills
        conn.transport.client_sends("later")
        await trio.testing.wait_all_tasks_blocked()
        conn.transport.client_leaves()
        await conn.wait_done()
    assert conn.transport.data == ["0", "1", "later"]
    assert conn.transport.closes == []  # dropping never closes: the client left
    assert stats[0].rate_limited_messages == 1
    assert stats[0].messages_in == 4


async def test_idle_timeout_closes_1001_and_each_message_resets_it(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with serving(echo, config=RuntimeConfig(idle_timeout=1.5)) as conn:
        start = trio.current_time()
        await trio.sleep(1)
        conn.transport.client_sends("still here")
        await conn.wait_done()
        closed_after = trio.current_time() - start
    assert conn.transport.data == ["still here"]
    assert conn.transport.closes == [(1001, "idle timeout")]
    assert closed_after == pytest.approx(2.5, abs=0.01)


async def test_send_timeout_stops_the_behaviour_when_a_write_the_transport_shields_stalls(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = trio.Event()
    transport = FakeTransport(send_gate=gate, shielded_sends=True)  # like hypercorn
    stopped: list[float] = []
    stopped_event = trio.Event()

    async def push(socket: WebSocket) -> None:
        await socket.accept()
        try:
            for n in range(3):
                await socket.send_text(str(n))
            await trio.sleep_forever()
        finally:
            stopped.append(trio.current_time())
            stopped_event.set()

    config = RuntimeConfig(send_timeout=2.0, close_timeout=1.0)
    async with serving(push, transport=transport, config=config) as conn:
        start = trio.current_time()
        try:
            with trio.fail_after(DEADLINE):
                await stopped_event.wait()
            # Timed from outside the write, a few times per period.
            assert 2.0 <= stopped[0] - start < 2.0 + 0.5 + 0.01
            assert (conn.socket.close_code, conn.socket.close_reason) == (1008, "send timeout")
            await trio.sleep(2)
            assert transport.batches == []  # still stuck
        finally:
            gate.set()  # the client reads again
        await conn.wait_done()
    # The stalled write, and then what was queued behind it, close included.
    assert transport.data == ["0", "1", "2"]
    assert transport.closes == [(1008, "send timeout")]


# ===================================================================== data-discard rule
async def ticks(count: int, every: float = 1.0) -> AsyncIterator[str]:
    for n in range(count):
        yield f"tick {n}"
        await trio.sleep(every)


async def test_a_message_while_streaming_breaks_the_rule_with_1008(
    autojump_clock: trio.testing.MockClock,
) -> None:
    finalized = trio.Event()

    async def stream() -> AsyncIterator[str]:
        try:
            async for item in ticks(100):
                yield item
        finally:
            finalized.set()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await send_websocket_stream(socket, stream(), listen_for_disconnect=True)

    async with serving(handler) as conn:
        await trio.sleep(1.5)
        conn.transport.client_sends("hello?")
        await conn.wait_done()
    assert finalized.is_set()
    assert conn.transport.data == ["tick 0", "tick 1"]
    assert conn.transport.closes == [Why.DATA_DISCARDED.value]


async def test_a_message_queued_before_the_stream_began_breaks_the_rule(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await trio.sleep(1)  # the client's message arrives meanwhile
        await send_websocket_stream(socket, ticks(100), listen_for_disconnect=True)

    async with serving(handler) as conn:
        conn.transport.client_sends("early")
        await conn.wait_done()
    assert conn.transport.closes == [Why.DATA_DISCARDED.value]


async def test_allowed_discards_are_counted_and_the_stream_goes_on(
    autojump_clock: trio.testing.MockClock,
) -> None:
    stats: list[ConnectionStatistics] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await send_websocket_stream(
            socket,
            ticks(3),
            listen_for_disconnect=True,
            allow_data_discard=True,
            warn_on_data_discard=False,
        )
        stats.append(socket.statistics())

    async with serving(handler) as conn:
        for n in range(3):
            conn.transport.client_sends(str(n))
        await conn.wait_done()
    assert conn.transport.data == ["tick 0", "tick 1", "tick 2"]
    assert conn.transport.closes == [(1000, "")]
    assert stats[0].discarded_messages == 3


async def test_allowed_discards_warn_unless_told_not_to(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await send_websocket_stream(
            socket, ticks(2), listen_for_disconnect=True, allow_data_discard=True
        )

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with serving(handler) as conn:
            conn.transport.client_sends("dropped")
            await conn.wait_done()
    assert [type(w.message) for w in caught] == [DataDiscardedWarning]
    assert "discarded while streaming" in str(caught[0].message)
    assert conn.transport.closes == [(1000, "")]


async def test_the_discard_log_line_is_rate_limited(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await send_websocket_stream(
            socket,
            ticks(1, every=3),
            listen_for_disconnect=True,
            allow_data_discard=True,
            warn_on_data_discard=False,
        )

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            for _ in range(3):
                conn.transport.client_sends("abc")
            await trio.sleep(0.5)
            for _ in range(2):
                conn.transport.client_sends("abc")
            await trio.sleep(1)
            conn.transport.client_sends("abcdef")
            await conn.wait_done()
    lines = [r.getMessage() for r in caplog.records if "discarded a" in r.getMessage()]
    assert lines == [
        "'/ws': discarded a 3-byte client message while streaming "
        "(allow_data_discard=True; 0 more since the last line)",
        "'/ws': discarded a 6-byte client message while streaming "
        "(allow_data_discard=True; 4 more since the last line)",
    ]


async def test_the_client_leaving_ends_a_listening_stream_quietly(
    autojump_clock: trio.testing.MockClock,
) -> None:
    finalized = trio.Event()
    after: list[str] = []

    async def stream() -> AsyncIterator[str]:
        try:
            async for item in ticks(100):
                yield item
        finally:
            finalized.set()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await send_websocket_stream(socket, stream(), listen_for_disconnect=True)
        after.append(socket.connection_state)  # the code after the stream runs

    async with serving(handler) as conn:
        await trio.sleep(1.5)
        conn.transport.client_leaves()
        await conn.wait_done()
    assert finalized.is_set()
    assert after == ["disconnected"]
    assert conn.transport.closes == []


# ===================================================================== the watcher
async def test_the_watchers_first_stop_reason_wins(autojump_clock: trio.testing.MockClock) -> None:
    watcher = Watcher(5.0, reader=False)
    first, second = stop_error(Why.TOO_BIG), stop_error(Why.GOING_AWAY)
    watcher.stop(first)
    watcher.stop(second)
    assert watcher.stop_reason is first
    assert watcher.scope.cancel_called


async def test_the_first_reason_decides_the_close(autojump_clock: trio.testing.MockClock) -> None:
    registry = LiveConnections()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        with trio.CancelScope(shield=True):
            await trio.sleep(1)  # both reasons arrive while it cannot be cancelled

    config = RuntimeConfig(max_message_size=1)
    async with serving(handler, config=config, registry=registry) as conn:
        conn.transport.client_sends("too big")
        await trio.testing.wait_all_tasks_blocked()
        registry.stop_all(stop_error(Why.GOING_AWAY))
        await conn.wait_done()
    assert conn.transport.closes == [(1009, "message too big: 7 bytes > 1")]


# ===================================================================== the drain
async def test_the_drain_closes_every_connection_with_1001(
    autojump_clock: trio.testing.MockClock,
) -> None:
    registry = LiveConnections()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await trio.sleep_forever()

    async with (
        serving(handler, registry=registry) as one,
        serving(handler, registry=registry) as two,
    ):
        assert len(registry) == 2
        registry.stop_all(stop_error(Why.GOING_AWAY))
        with trio.fail_after(DEADLINE):
            await registry.wait_empty()
        await one.wait_done()
        await two.wait_done()
    assert len(registry) == 0
    assert one.transport.closes == two.transport.closes == [(1001, "Going Away")]


async def test_wait_empty_returns_at_once_with_no_connection(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(DEADLINE):
        await LiveConnections().wait_empty()
