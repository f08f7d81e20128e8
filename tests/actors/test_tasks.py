"""The connection's own tasks (``socket.start_soon``, ``socket.start``), under the supervisor.

Driven through the fake transport of ``runtime_harness``, on virtual time where a
test sleeps. What the listener kinds add (the order before ``on_disconnect``) and
both engines are in tests/e2e/test_connection_tasks.py.
"""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing
from runtime_harness import FakeTransport, serving

from wsactors import WebSocket, WebSocketDisconnect, WebSocketException
from wsactors.connection.events import Accept, Close, Outgoing, Send
from wsactors.connection.limits import RuntimeConfig


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_task_pushes_beside_the_handler_and_is_cancelled_when_it_returns() -> None:
    events: list[str] = []
    go_on = trio.Event()

    async def ticker(socket: WebSocket, prefix: str) -> None:
        try:
            for n in range(3):
                await socket.send_text(f"{prefix}{n}")
            await trio.sleep_forever()
        finally:
            events.append("ticker cancelled")

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        socket.start_soon(ticker, socket, "t")
        await go_on.wait()
        events.append("handler returns")

    async with serving(handler) as conn:
        await trio.testing.wait_all_tasks_blocked()
        assert conn.transport.data == ["t0", "t1", "t2"]
        go_on.set()
        await conn.wait_done()
    assert events == ["handler returns", "ticker cancelled"]
    assert conn.transport.sent[-1] == Close(1000, "")


async def test_a_failing_task_ends_the_connection_with_1011_logged_once(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    events: list[str] = []

    async def failing() -> None:
        await trio.lowlevel.checkpoint()
        raise RuntimeError("the feed broke")

    async def sibling() -> None:
        try:
            await trio.sleep_forever()
        finally:
            events.append("sibling cancelled")

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        socket.start_soon(sibling)
        socket.start_soon(failing)
        try:
            await trio.sleep_forever()
        finally:
            # The siblings are cancelled with the handler, not after it ended.
            with trio.CancelScope(shield=True):
                await trio.sleep(1)
            events.append("handler finished")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()  # nothing raised out of supervise()
    assert conn.transport.closes == [(1011, "Internal Server Error")]
    assert events == ["sibling cancelled", "handler finished"]
    [error] = errors(caplog)
    assert error.getMessage() == "error in a task of the WebSocket connection for '/ws'"
    assert error.exc_info is not None
    assert isinstance(error.exc_info[1], RuntimeError)


async def test_a_task_raising_a_websocket_exception_closes_with_its_code() -> None:
    async def closer() -> None:
        await trio.lowlevel.checkpoint()
        raise WebSocketException("room closed", code=4001)

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        socket.start_soon(closer)
        await trio.sleep_forever()

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.transport.closes == [(4001, "room closed")]


async def test_a_group_from_a_tasks_own_nursery_closes_1011_and_does_not_leak(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def fails(message: str) -> None:
        await trio.lowlevel.checkpoint()
        raise ValueError(message)

    async def two_children() -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(fails, "a")
            nursery.start_soon(fails, "b")

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        socket.start_soon(two_children)
        await trio.sleep_forever()

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert conn.transport.closes == [(1011, "Internal Server Error")]
    assert len(errors(caplog)) == 1


async def test_a_disconnect_in_a_task_ends_only_that_task(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def quits() -> None:
        await trio.lowlevel.checkpoint()
        raise WebSocketDisconnect("gone", 1001)

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        socket.start_soon(quits)
        await trio.testing.wait_all_tasks_blocked()
        await socket.send_text("still here")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert conn.transport.sent == [Accept(), Send("still here"), Close(1000, "")]
    assert errors(caplog) == []


async def test_start_returns_the_started_value_and_the_task_runs_on() -> None:
    release = trio.Event()

    async def server(
        socket: WebSocket, *, task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED
    ) -> None:
        task_status.started(4242)
        await release.wait()
        await socket.send_text("after started")

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        port = await socket.start(server, socket)
        await socket.send_text(f"port {port}")
        release.set()
        await trio.sleep_forever()

    async with serving(handler) as conn:
        await trio.testing.wait_all_tasks_blocked()
        assert conn.transport.data == ["port 4242", "after started"]
        conn.transport.client_leaves()
        await conn.wait_done()


async def test_an_error_before_started_is_raised_by_start_to_its_caller(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def refuses(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.lowlevel.checkpoint()
        raise KeyError("no such room")

    async def returns(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.lowlevel.checkpoint()

    caught: list[BaseException] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        for fn in (refuses, returns):
            try:
                await socket.start(fn)
            except (KeyError, RuntimeError) as exc:
                caught.append(exc)
        await socket.send_text("handled")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert [type(e) for e in caught] == [KeyError, RuntimeError]  # as with Trio
    assert conn.transport.sent == [Accept(), Send("handled"), Close(1000, "")]
    assert errors(caplog) == []


async def test_starting_a_task_after_the_end_raises_websocket_disconnect() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.close(4000, "done")

    async with serving(handler) as conn:
        await conn.wait_done()
    socket = conn.socket
    with pytest.raises(WebSocketDisconnect) as soon:
        socket.start_soon(trio.sleep_forever)
    assert soon.value.code == 4000
    assert "cannot add a task" in "".join(soon.value.__notes__)
    with pytest.raises(WebSocketDisconnect):
        await socket.start(trio.sleep_forever)


async def test_a_start_still_pending_when_the_connection_ends_raises_disconnect() -> None:
    """A task being started from outside the connection (another connection's
    handler, say) is cancelled with the connection; ``start`` says so."""
    started_by_test: list[WebSocketDisconnect] = []

    async def slow(*, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        await trio.sleep_forever()  # never started

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        async for _ in socket.iter_messages():
            pass

    async with serving(handler) as conn:

        async def start_from_outside() -> None:
            try:
                await conn.socket.start(slow)
            except WebSocketDisconnect as exc:
                started_by_test.append(exc)

        async with trio.open_nursery() as outside:
            outside.start_soon(start_from_outside)
            await trio.testing.wait_all_tasks_blocked()
            conn.transport.client_leaves(1001)
        await conn.wait_done()
    [error] = started_by_test
    assert error.code == 1001


async def test_a_task_that_ignores_its_cancellation_is_logged_and_waited_for(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    transport = FakeTransport()
    finished: list[tuple[float, list[Outgoing]]] = []

    async def stubborn() -> None:
        try:
            await trio.sleep_forever()
        finally:
            with trio.CancelScope(shield=True):
                await trio.sleep(5)
            finished.append((trio.current_time(), list(transport.sent)))

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        socket.start_soon(stubborn)
        await trio.testing.wait_all_tasks_blocked()

    config = RuntimeConfig(cleanup_timeout=1.0)
    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler, transport=transport, config=config) as conn:
            start = trio.current_time()
            await conn.wait_done()
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "1 task(s) of '/ws' did not end within 1.0 s of being cancelled"
    ]
    # The close went out after the bound, before the task ended; the connection's
    # nursery still waited for it (wait_done: nothing is left behind).
    [(ended_at, sent_by_then)] = finished
    assert ended_at == pytest.approx(start + 5)
    assert sent_by_then == [Accept(), Close(1000, "")]


async def test_a_task_may_start_before_accept_and_is_cancelled_on_a_rejection() -> None:
    cancelled = trio.Event()

    async def lookup() -> None:
        try:
            await trio.sleep_forever()
        finally:
            cancelled.set()

    async def handler(socket: WebSocket) -> None:
        socket.start_soon(lookup)
        await trio.testing.wait_all_tasks_blocked()
        await socket.close()  # before accept: a rejection

    async with serving(handler) as conn:
        await conn.wait_done()
    assert cancelled.is_set()
