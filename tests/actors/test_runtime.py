"""Actor tests: one connection's supervised nursery, driven through a fake transport.

The transport (``runtime_harness.FakeTransport``) is in memory, so each test decides
exactly what the client does and when, and sees every batch the sender actor hands
over. Time is virtual (the pytest-trio ``autojump_clock`` fixture) wherever a test
sleeps or measures; every wait has a deadline. The disconnect policy, the limits, the
data-discard rule and the drain are in test_policy.py; the App's entry point in
test_serve_connection.py.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import pytest
import trio
import trio.lowlevel
import trio.testing
from runtime_harness import (
    FakeTransport,
    Handler,
    accept_and_return,
    run_supervise,
    serving,
)

from helpers import DEADLINE
from wsactors import WebSocket, WebSocketDisconnect, WebSocketException
from wsactors.actors.cleanups import Cleanups
from wsactors.actors.counters import ConnectionStatistics
from wsactors.connection.events import Accept, Close, Deny, Send
from wsactors.connection.limits import RuntimeConfig
from wsactors.transport.base import Capabilities


def closed_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The connection's last log lines ("closed ...", "rejected ...")."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.getMessage().startswith(("closed ", "rejected "))
    ]


# ===================================================================== push-only
async def test_push_only_handler_is_cancelled_when_the_client_leaves(
    autojump_clock: trio.testing.MockClock,
) -> None:
    finalized = trio.Event()
    finalized_at: list[float] = []

    async def push(socket: WebSocket) -> None:
        await socket.accept()
        try:
            tick = 0
            while True:  # never receives: only the receiver actor can notice the leave
                await socket.send_text(f"tick {tick}")
                tick += 1
                await trio.sleep(1)
        finally:
            finalized_at.append(trio.current_time())
            finalized.set()

    async with serving(push) as conn:
        await trio.sleep(2.5)
        assert conn.transport.data == ["tick 0", "tick 1", "tick 2"]
        left_at = trio.current_time()
        conn.transport.client_leaves(1006)
        with trio.fail_after(1):
            await finalized.wait()
        await conn.wait_done()
    # Cancelled at once (no disconnect_grace for a handler that is not reading),
    # not at its next send one second later.
    assert finalized_at[0] - left_at < 0.01
    assert conn.transport.closes == []  # the client left first: no close frame
    assert conn.transport.data == ["tick 0", "tick 1", "tick 2"]
    assert conn.socket.close_code == 1006
    assert conn.socket.connection_state == "disconnected"


async def test_a_handler_busy_with_the_last_message_finishes_it_when_the_client_leaves(
    autojump_clock: trio.testing.MockClock,
) -> None:
    # The client sends a message and leaves while the handler works on it: it has
    # read before, so it gets disconnect_grace (not cancelled at once) and its work
    # completes; its next receive then raises WebSocketDisconnect.
    done: list[str | bytes] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        async for text in socket.iter_data():
            await trio.sleep(1)  # e.g. a database write
            done.append(text)

    async with serving(handler) as conn:
        conn.transport.client_sends("last")
        await trio.sleep(0.1)  # the handler took it and is busy
        conn.transport.client_leaves(1000)
        await conn.wait_done()
    assert done == ["last"]


# ===================================================================== endings
async def test_handler_returns_sends_exactly_one_close_1000(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("bye")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert conn.transport.sent == [Accept(), Send("bye"), Close(1000, "")]
    [line] = closed_lines(caplog)
    assert line.startswith("closed '/ws' code=1000 reason='' duration=")
    assert line.endswith("in=0 out=1")


async def test_handler_raises_sends_exactly_one_close_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        raise RuntimeError("kaboom")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert conn.transport.closes == [(1011, "Internal Server Error")]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)


async def test_debug_puts_the_error_in_the_reason() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        raise RuntimeError("kaboom")

    async with serving(handler, config=RuntimeConfig(debug=True)) as conn:
        await conn.wait_done()
    assert conn.transport.closes == [(1011, "Internal Server Error: RuntimeError: kaboom")]


async def test_client_disconnect_sends_no_close(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        async for message in socket.iter_messages():
            await socket.send_message(message)

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            conn.transport.client_sends("one")
            await trio.testing.wait_all_tasks_blocked()
            conn.transport.client_leaves(1001, "bye")
            await conn.wait_done()
    assert conn.transport.data == ["one"]
    assert conn.transport.closes == []
    assert conn.socket.close_code == 1001
    [line] = closed_lines(caplog)
    assert line.startswith("closed '/ws' by the client code=1001 reason='bye' ")


async def test_server_close_sends_exactly_one_close(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.close(4000, "done here")
        await socket.close(4001, "again")  # idempotent
        assert socket.connection_state == "disconnected"
        with pytest.raises(WebSocketDisconnect) as caught:
            await socket.send_text("too late")
        assert caught.value.code == 4000

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert conn.transport.closes == [(4000, "done here")]
    assert conn.socket.close_code == 4000
    [line] = closed_lines(caplog)
    assert line.startswith("closed '/ws' code=4000 reason='done here' ")


async def test_a_cancelled_close_still_sends_exactly_one_close() -> None:
    """Regression (issue 10): close() moved the state before queueing; cancelled at
    that checkpoint, no close frame was ever sent."""

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        with trio.CancelScope() as scope:
            scope.cancel()
            await socket.close(4000)
        assert scope.cancelled_caught
        assert socket.connection_state == "connected"  # nothing was queued

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.transport.closes == [(1000, "")]


async def test_server_close_then_idle_ends_when_the_client_confirms() -> None:
    closed = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.close(1000, "")
        closed.set()
        await trio.sleep_forever()  # e.g. a push loop that has nothing left to do

    async with serving(handler) as conn:
        with trio.fail_after(DEADLINE):
            await closed.wait()
        await trio.testing.wait_all_tasks_blocked()
        assert not conn.done.is_set()
        conn.transport.client_leaves(1000)  # the client's close frame arrived
        await conn.wait_done()
    assert conn.transport.closes == [(1000, "")]
    assert conn.socket.close_code == 1000  # our own code is kept


async def test_close_after_the_client_left_is_a_noop() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        with pytest.raises(WebSocketDisconnect):
            await socket.receive_text()
        await socket.close(4000, "")  # no error, nothing sent

    async with serving(handler) as conn:
        conn.transport.client_leaves(1006)
        await conn.wait_done()
    assert conn.transport.closes == []


async def test_websocket_exception_closes_with_its_code_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        raise WebSocketException(code=4001, reason="not allowed")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert conn.transport.closes == [(4001, "not allowed")]
    # A deliberate close is not an error: no traceback in the log.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_websocket_exception_with_an_unsendable_code_closes_1011() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        raise WebSocketException(code=1006, reason="reserved")

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.transport.closes == [(1011, "reserved")]


async def test_websocket_exception_inside_a_user_nursery_keeps_its_code() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()

        async def fail() -> None:
            raise WebSocketException(code=4002, reason="from a child task")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(fail)
            nursery.start_soon(trio.sleep_forever)

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.transport.closes == [(4002, "from a child task")]


async def test_an_exception_group_closes_1011_and_does_not_leak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        raise ExceptionGroup("many", [ValueError("a"), KeyError("b")])

    transport = FakeTransport()
    with caplog.at_level(logging.INFO, logger="wsactors"), trio.fail_after(DEADLINE):
        await run_supervise(transport, handler)  # returns: nothing is raised
    assert transport.closes == [(1011, "Internal Server Error")]
    assert len([r for r in caplog.records if r.levelno >= logging.ERROR]) == 1


async def test_disconnects_in_a_user_nursery_are_not_an_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Regression: a group made only of WebSocketDisconnect (two tasks reading when
    the client left) was logged as a handler error with a traceback."""
    raised: list[BaseException] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(socket.receive_text)
                nursery.start_soon(socket.receive_text)
        except BaseException as exc:
            raised.append(exc)
            raise

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            conn.transport.client_leaves(1001)
            await conn.wait_done()
    assert isinstance(raised[0], ExceptionGroup)  # the handler did raise a group
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert conn.transport.closes == []


async def test_error_before_accept_accepts_then_closes_1011() -> None:
    async def handler(socket: WebSocket) -> None:
        raise RuntimeError("before accept")

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.transport.sent == [Accept(), Close(1011, "Internal Server Error")]


async def test_returning_without_accepting_closes_before_accept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        return

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    # Close before accept: a server answers the handshake with HTTP 403.
    assert conn.transport.sent == [Close(1000, "")]
    assert conn.socket.connection_state == "disconnected"
    [line] = closed_lines(caplog)
    assert line.startswith("rejected '/ws' before accept ")


async def test_deny_sends_an_http_response_and_no_close(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.deny(403, b"members only", {"x-why": "policy"})

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    [deny] = conn.transport.sent
    assert isinstance(deny, Deny)
    assert deny.status == 403
    assert (b"x-why", b"policy") in deny.headers
    assert deny.body == b"members only"
    assert conn.socket.connection_state == "disconnected"
    [line] = closed_lines(caplog)
    assert line.startswith("rejected '/ws' before accept ")


async def test_deny_without_http_denials_closes_before_accept() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.deny(403, b"members only")

    transport = FakeTransport(capabilities=Capabilities(http_denials=False))
    async with serving(handler, transport=transport) as conn:
        await conn.wait_done()
    assert transport.sent == [Close(1008, "")]


async def test_deny_after_the_client_left_is_not_a_handler_error(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression: deny() after the client left used to raise ProtocolError, logged
    as a handler error with a traceback."""

    async def handler(socket: WebSocket) -> None:
        with trio.CancelScope(shield=True):
            await trio.sleep(1)  # e.g. an authentication lookup that must not be torn
        await socket.deny(403, b"no")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            conn.transport.client_leaves(1006)
            await conn.wait_done()
    assert conn.transport.sent == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_handler_that_ends_in_every_way_leaves_no_task(
    autojump_clock: trio.testing.MockClock,
) -> None:
    """One connection per way of ending: each tidies up and sends the right closes."""

    async def returns(socket: WebSocket) -> None:
        await socket.accept()

    async def raises(socket: WebSocket) -> None:
        await socket.accept()
        raise ValueError("x")

    async def closes(socket: WebSocket) -> None:
        await socket.accept()
        await socket.close(3001)

    async def reads(socket: WebSocket) -> None:
        await socket.accept()
        await socket.receive_text()

    async def pushes(socket: WebSocket) -> None:
        await socket.accept()
        while True:
            await socket.send_text("x")
            await trio.sleep(1)

    leaves = FakeTransport.client_leaves
    expectations: list[tuple[Handler, Callable[[FakeTransport], None] | None, list[int]]] = [
        (returns, None, [1000]),
        (raises, None, [1011]),
        (closes, None, [3001]),
        (reads, leaves, []),
        (pushes, leaves, []),
    ]
    for handler, client_action, codes in expectations:
        async with serving(handler) as conn:
            await trio.sleep(1.5)
            if client_action is not None:
                client_action(conn.transport)
            await conn.wait_done()
        assert [code for code, _ in conn.transport.closes] == codes, handler.__name__


# ===================================================================== ordering
async def test_the_close_goes_after_every_queued_message() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        for n in range(100):
            await socket.send_text(str(n))

    async with serving(handler, config=RuntimeConfig(outbox_size=4)) as conn:
        await conn.wait_done()
    assert conn.transport.sent == [
        Accept(),
        *(Send(str(n)) for n in range(100)),
        Close(1000, ""),
    ]


async def test_the_sender_joins_queued_events_into_one_batch() -> None:
    async def handler(socket: WebSocket) -> None:
        # No checkpoint yields to the sender while these are queued.
        await socket.accept()
        await socket.send_text("a")
        await socket.send_bytes(b"b")
        await socket.send_text("c")
        await socket.close(4000, "done")

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.transport.batches == [
        [Accept(), Send("a"), Send(b"b"), Send("c"), Close(4000, "done")]
    ]


async def test_events_queued_after_the_client_left_are_dropped_and_counted(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = trio.Event()
    transport = FakeTransport(send_gate=gate)
    stats: list[ConnectionStatistics] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await trio.sleep(1)  # the sender is stuck with the accept by now
        await socket.send_text("one")
        await socket.send_text("two")
        try:
            await trio.sleep_forever()
        finally:
            stats.append(socket.statistics())

    async with serving(handler, transport=transport) as conn:
        await trio.sleep(2)
        assert transport.attempts == [[Accept()]]
        conn.transport.client_leaves(1006)
        await trio.testing.wait_all_tasks_blocked()
        gate.set()
        await conn.wait_done()
    assert transport.sent == [Accept()]  # nothing after the client left
    assert stats[0].messages_out == 2  # queued ...
    assert conn.socket.statistics().unsent_messages == 2  # ... but never sent


# ===================================================================== reading
async def test_reader_gets_websocket_disconnect_with_the_client_code() -> None:
    outcome: list[WebSocketDisconnect] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await socket.receive_text()
        except WebSocketDisconnect as exc:
            outcome.append(exc)

    async with serving(handler) as conn:
        conn.transport.client_leaves(4100, "see you")
        await conn.wait_done()
    assert len(outcome) == 1
    assert outcome[0].code == 4100
    assert outcome[0].reason == "see you"
    assert conn.transport.closes == []


async def test_iter_messages_ends_quietly_and_keeps_frame_types() -> None:
    received: list[str | bytes] = []
    ended = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        async for message in socket.iter_messages():
            received.append(message)
        ended.set()

    async with serving(handler) as conn:
        conn.transport.client_sends("text")
        conn.transport.client_sends(b"\x00bin")
        conn.transport.client_leaves()
        await conn.wait_done()
    assert ended.is_set()
    assert received == ["text", b"\x00bin"]


async def test_receive_before_accept_is_a_protocol_error_closing_1011() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.receive_text()

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.transport.closes == [(1011, "Internal Server Error")]


# ===================================================================== statistics
async def test_statistics_count_messages_and_bytes() -> None:
    snapshot: list[ConnectionStatistics] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        assert await socket.receive_message() == "héllo"
        assert await socket.receive_message() == b"\x01\x02"
        await socket.send_text("é")
        await socket.send_bytes(b"abc")
        snapshot.append(socket.statistics())

    async with serving(handler) as conn:
        conn.transport.client_sends("héllo")
        conn.transport.client_sends(b"\x01\x02")
        await conn.wait_done()
    stats = snapshot[0]
    assert stats.messages_in == 2
    assert stats.bytes_in == len("héllo".encode()) + 2
    assert stats.messages_out == 2
    assert stats.bytes_out == 2 + 3  # payload bytes: "é" is two UTF-8 bytes
    assert stats.dropped_frames == 0
    assert stats.unsent_messages == 0
    assert stats.inbox_size == 16
    assert stats.outbox_size == 16


async def test_other_mode_frames_are_dropped_and_counted() -> None:
    got: list[object] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        got.append(await socket.receive_text())
        got.append(await socket.receive_bytes())
        got.append(socket.statistics().dropped_frames)

    async with serving(handler) as conn:
        conn.transport.client_sends(b"binary, dropped")
        conn.transport.client_sends(b"another")
        conn.transport.client_sends("wanted text")
        conn.transport.client_sends("text, dropped")
        conn.transport.client_sends(b"wanted bytes")
        await conn.wait_done()
    assert got == ["wanted text", b"wanted bytes", 3]
    assert conn.transport.closes == [(1000, "")]


# ===================================================================== backpressure
async def test_outbox_backpressure_blocks_the_behaviour() -> None:
    gate = trio.Event()
    transport = FakeTransport(send_gate=gate)
    queued: list[int] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        for n in range(10):
            await socket.send_text(str(n))
            queued.append(n)

    config = RuntimeConfig(outbox_size=2)
    async with serving(handler, transport=transport, config=config) as conn:
        await trio.testing.wait_all_tasks_blocked()
        # The sender is stuck in send() with its first batch (the accept, and what
        # was queued before it ran); the outbox holds two more messages, and the
        # handler is blocked in the send after them.
        assert transport.sending == 1
        [in_flight] = transport.attempts
        assert in_flight[0] == Accept()
        assert conn.socket.statistics().outbox_depth == 2
        assert len(queued) == len(in_flight) - 1 + 2 < 10
        assert transport.batches == []
        gate.set()
        await conn.wait_done()
    assert queued == list(range(10))
    assert transport.data == [str(n) for n in range(10)]  # in order, nothing lost
    assert transport.closes == [(1000, "")]


async def test_inbox_backpressure_stops_reading_from_the_transport() -> None:
    go = trio.Event()
    received: list[str] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        async for message in socket.iter_data():
            received.append(str(message))

    async with serving(handler, config=RuntimeConfig(inbox_size=2)) as conn:
        for n in range(6):
            conn.transport.client_sends(str(n))
        await trio.testing.wait_all_tasks_blocked()
        stats = conn.socket.statistics()
        # Two queued, one held by the receiver blocked on the full inbox; the rest
        # stay with the transport (its bounded queue, then TCP, push back).
        assert stats.inbox_depth == 2
        assert stats.messages_in == 3
        assert conn.transport.receiving == 0
        go.set()
        await trio.testing.wait_all_tasks_blocked()
        conn.transport.client_leaves()
        await conn.wait_done()
    assert received == [str(n) for n in range(6)]


async def test_a_blocked_send_cannot_hang_the_close(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    transport = FakeTransport(send_gate=trio.Event())  # never released: a stuck client
    config = RuntimeConfig(close_timeout=2.0)
    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(accept_and_return, transport=transport, config=config) as conn:
            start = trio.current_time()
            await conn.wait_done()
            elapsed = trio.current_time() - start
    assert 2.0 <= elapsed < 2.1
    assert "the outbox did not drain within 2.0 s" in caplog.text
    assert transport.closes == []
    # The last line says what the client got: no close frame, and why.
    [line] = closed_lines(caplog)
    assert line.startswith(
        "closed '/ws': close frame not delivered: the client did not read for 2.0 s "
    )


async def test_a_write_the_transport_shields_does_not_hold_back_the_cleanup(
    autojump_clock: trio.testing.MockClock,
) -> None:
    gate = trio.Event()
    transport = FakeTransport(send_gate=gate, shielded_sends=True)  # like hypercorn
    cleaned = trio.Event()
    sending_at_cleanup: list[int] = []

    async def behaviour(socket: WebSocket, stack: Cleanups) -> None:
        async def cleanup() -> None:
            sending_at_cleanup.append(transport.sending)
            cleaned.set()

        stack.push_async_callback(cleanup)
        await socket.accept()

    config = RuntimeConfig(close_timeout=1.0)
    async with serving(behaviour=behaviour, transport=transport, config=config) as conn:
        try:
            with trio.fail_after(DEADLINE):
                await cleaned.wait()
            assert sending_at_cleanup == [1]  # the write was still stuck
            await trio.sleep(2)
            assert not conn.done.is_set()  # the task ends when the write does
        finally:
            gate.set()  # a failed assertion must not leave the write stuck forever
        await conn.wait_done()


# ===================================================================== order and failures
async def test_cleanup_runs_after_the_close_frame() -> None:
    seen_at_cleanup: list[list[str]] = []
    transport = FakeTransport()

    async def behaviour(socket: WebSocket, stack: Cleanups) -> None:
        async def cleanup() -> None:
            seen_at_cleanup.append(transport.kinds)

        stack.push_async_callback(cleanup)
        await socket.accept()

    async with serving(behaviour=behaviour, transport=transport) as conn:
        await conn.wait_done()
    assert seen_at_cleanup == [["Accept", "Close"]]


async def test_cleanup_runs_when_the_client_left(autojump_clock: trio.testing.MockClock) -> None:
    cleaned = trio.Event()

    async def behaviour(socket: WebSocket, stack: Cleanups) -> None:
        async def cleanup() -> None:
            await trio.sleep(0.5)  # async cleanup still gets to checkpoint
            cleaned.set()

        stack.push_async_callback(cleanup)
        await socket.accept()
        await trio.sleep_forever()

    async with serving(behaviour=behaviour) as conn:
        conn.transport.client_leaves()
        await conn.wait_done()
    assert cleaned.is_set()


async def test_a_stuck_cleanup_is_cancelled_after_cleanup_timeout(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    cancelled: list[float] = []

    async def behaviour(socket: WebSocket, stack: Cleanups) -> None:
        async def cleanup() -> None:
            try:
                await trio.sleep_forever()
            finally:
                cancelled.append(trio.current_time())

        stack.push_async_callback(cleanup)
        await socket.accept()

    config = RuntimeConfig(cleanup_timeout=3.0)
    async with serving(behaviour=behaviour, config=config) as conn:
        start = trio.current_time()
        await conn.wait_done()
    assert len(cancelled) == 1
    assert cancelled[0] - start == pytest.approx(3.0, abs=0.01)
    assert "dependency cleanup for '/ws' exceeded 3.0 s and was cancelled" in caplog.text
    assert conn.transport.closes == [(1000, "")]  # the close went out first


async def test_server_cancellation_closes_1001_and_propagates() -> None:
    transport = FakeTransport()
    finalized = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await trio.sleep_forever()
        finally:
            finalized.set()

    returned = False
    with trio.fail_after(DEADLINE):
        with trio.CancelScope() as server:

            async def cancel_soon() -> None:
                await trio.testing.wait_all_tasks_blocked()
                server.cancel()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(cancel_soon)
                await run_supervise(transport, handler)
                returned = True
    assert not returned  # Cancelled propagated out of supervise
    assert server.cancelled_caught
    assert finalized.is_set()
    assert transport.closes == [(1001, "Going Away")]


async def test_a_failing_transport_receive_closes_1011() -> None:
    transport = FakeTransport()
    transport.receive_error = OSError("transport broke")

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await trio.sleep_forever()

    with trio.fail_after(DEADLINE):
        await run_supervise(transport, handler)
    assert transport.closes == [(1011, "Internal Server Error")]


async def test_a_failing_transport_send_stops_the_behaviour(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finalized = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            while True:
                await socket.send_text("x")
                await trio.lowlevel.checkpoint()
        finally:
            finalized.set()

    transport = FakeTransport()
    transport.send_error = (Send, OSError("transport broke"))
    with caplog.at_level(logging.INFO, logger="wsactors"), trio.fail_after(DEADLINE):
        await run_supervise(transport, handler)
    assert finalized.is_set()
    attempted = [type(e).__name__ for batch in transport.attempts for e in batch]
    assert attempted[:2] == ["Accept", "Send"]
    assert "Close" not in attempted  # the sender is gone: nothing more is sent
    [line] = closed_lines(caplog)
    assert line.startswith(
        "closed '/ws': close frame not delivered: the transport failed: OSError: transport broke "
    )


async def test_accept_with_a_bad_header_raises_at_the_call() -> None:
    """Regression (issue 10): the header was only refused by the server, which made a
    bare close the handler never heard of."""
    errors: list[ValueError] = []

    async def handler(socket: WebSocket) -> None:
        try:
            await socket.accept(headers={"x": "a\r\nb"})
        except ValueError as exc:
            errors.append(exc)
        await socket.accept()

    async with serving(handler) as conn:
        await conn.wait_done()
    assert "'x'" in str(errors[0])
    assert conn.transport.sent == [Accept(), Close(1000, "")]
