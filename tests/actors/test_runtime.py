"""Actor tests: one connection's supervised nursery, driven through hand-made ASGI.

The ASGI ``receive``/``send`` pair is built on Trio memory channels (:class:`FakeASGI`),
so each test decides exactly what the client does and when, and sees every ASGI
message the sender actor hands to the server. Time is virtual (the pytest-trio
``autojump_clock`` fixture) wherever a test sleeps or measures; every wait has a
deadline.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio
import trio.lowlevel
import trio.testing

from wsactors import (
    App,
    NotAuthorizedError,
    Provide,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    websocket,
)
from wsactors.actors.mailbox import RuntimeConfig
from wsactors.actors.supervisor import supervise
from wsactors.codec import Codec
from wsactors.datastructures import Headers

Message = dict[str, Any]
Handler = Callable[[WebSocket], Awaitable[None]]

DEADLINE = 5  # seconds; virtual under autojump_clock, real otherwise


def make_scope(*, subprotocols: list[str] | None = None, http_response: bool = True) -> Message:
    return {
        "type": "websocket",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "path": "/ws",
        "raw_path": b"/ws",
        "query_string": b"",
        "headers": [],
        "subprotocols": subprotocols or [],
        "extensions": {"websocket.http.response": {}} if http_response else {},
    }


@dataclass
class FakeASGI:
    """The server side of one connection, as the app sees it through ASGI.

    ``receive`` serves what the test queued with :meth:`client_sends` and
    :meth:`client_leaves`; ``send`` records every message (and blocks while
    :attr:`send_gate` is set and not yet released).
    """

    sent: list[Message] = field(default_factory=list)
    receiving: int = 0  # receive() calls in flight
    sending: int = 0  # send() calls in flight
    send_gate: trio.Event | None = None

    def __post_init__(self) -> None:
        self._to_app, self._queue = trio.open_memory_channel[Message](math.inf)
        self._to_app.send_nowait({"type": "websocket.connect"})

    async def receive(self) -> Message:
        self.receiving += 1
        try:
            return await self._queue.receive()
        finally:
            self.receiving -= 1

    async def send(self, message: Message) -> None:
        self.sending += 1
        try:
            if self.send_gate is not None:
                await self.send_gate.wait()
            self.sent.append(message)
        finally:
            self.sending -= 1

    def client_sends(self, data: str | bytes) -> None:
        key = "text" if isinstance(data, str) else "bytes"
        self._to_app.send_nowait({"type": "websocket.receive", key: data})

    def client_leaves(self, code: int = 1006, reason: str = "") -> None:
        self._to_app.send_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})

    @property
    def closes(self) -> list[tuple[int, str]]:
        return [(m["code"], m["reason"]) for m in self.sent if m["type"] == "websocket.close"]

    @property
    def data(self) -> list[str | bytes]:
        out: list[str | bytes] = []
        for m in self.sent:
            if m["type"] == "websocket.send":
                out.append(m["text"] if "text" in m else m["bytes"])
        return out

    @property
    def types(self) -> list[str]:
        return [m["type"] for m in self.sent]


@dataclass
class Connection:
    """A connection being served in the test's nursery."""

    asgi: FakeASGI
    nursery: trio.Nursery
    done: trio.Event
    sockets: list[WebSocket]

    @property
    def socket(self) -> WebSocket:
        return self.sockets[0]

    async def wait_done(self) -> None:
        """Wait for ``supervise`` to return, then check nothing of it is left."""
        with trio.fail_after(DEADLINE):
            await self.done.wait()
        await assert_nothing_left(self)


async def assert_nothing_left(conn: Connection) -> None:
    await trio.testing.wait_all_tasks_blocked()
    # supervise() returned, so its nursery closed: no receiver, sender, watcher or
    # behaviour task is still running in it or in the test's own nursery ...
    assert conn.nursery.child_tasks == frozenset()
    # ... and none of them is parked inside an ASGI call.
    assert conn.asgi.receiving == 0
    assert conn.asgi.sending == 0


def behaviour_of(handler: Handler) -> Callable[[WebSocket, AsyncExitStack], Awaitable[None]]:
    async def behaviour(socket: WebSocket, stack: AsyncExitStack) -> None:
        await handler(socket)

    return behaviour


@asynccontextmanager
async def serving(
    handler: Handler,
    *,
    asgi: FakeASGI | None = None,
    config: RuntimeConfig | None = None,
    scope: Message | None = None,
    behaviour: Callable[[WebSocket, AsyncExitStack], Awaitable[None]] | None = None,
) -> AsyncIterator[Connection]:
    """Run ``supervise`` for ``handler`` in a nursery; the body drives the client."""
    asgi = asgi or FakeASGI()
    scope = scope or make_scope()
    sockets: list[WebSocket] = []

    def make_socket(box: Any) -> WebSocket:
        socket = WebSocket(box, scope, codec=Codec())
        sockets.append(socket)
        return socket

    done = trio.Event()

    async def run() -> None:
        try:
            await supervise(
                scope,
                asgi.receive,
                asgi.send,
                behaviour=behaviour or behaviour_of(handler),
                make_socket=make_socket,
                config=config or RuntimeConfig(),
            )
        finally:
            done.set()

    with trio.fail_after(DEADLINE):
        # A nursery of our own whose only child is the connection: once supervise()
        # returns it must have no children left.
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run)
            await trio.testing.wait_all_tasks_blocked()
            yield Connection(asgi, nursery, done, sockets)


async def accept_and_return(socket: WebSocket) -> None:
    await socket.accept()


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
        assert conn.asgi.data == ["tick 0", "tick 1", "tick 2"]
        left_at = trio.current_time()
        conn.asgi.client_leaves(1006)
        with trio.fail_after(1):
            await finalized.wait()
        await conn.wait_done()
    # Cancelled at once (no disconnect_grace for a handler that is not reading),
    # not at its next send one second later.
    assert finalized_at[0] - left_at < 0.01
    assert conn.asgi.closes == []  # the client left first: no close frame
    assert conn.asgi.data == ["tick 0", "tick 1", "tick 2"]
    assert conn.socket.close_code == 1006
    assert conn.socket.connection_state == "disconnected"


# ===================================================================== endings
async def test_handler_returns_sends_exactly_one_close_1000() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.send_text("bye")

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.asgi.types == ["websocket.accept", "websocket.send", "websocket.close"]
    assert conn.asgi.closes == [(1000, "")]


async def test_handler_raises_sends_exactly_one_close_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        raise RuntimeError("kaboom")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert conn.asgi.closes == [(1011, "Internal Server Error")]
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
    assert conn.asgi.closes == [(1011, "Internal Server Error: RuntimeError: kaboom")]


async def test_client_disconnect_sends_no_close() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        async for message in socket.iter_messages():
            await socket.send_message(message)

    async with serving(handler) as conn:
        conn.asgi.client_sends("one")
        await trio.testing.wait_all_tasks_blocked()
        conn.asgi.client_leaves(1001)
        await conn.wait_done()
    assert conn.asgi.data == ["one"]
    assert conn.asgi.closes == []
    assert conn.socket.close_code == 1001


async def test_server_close_sends_exactly_one_close() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.close(4000, "done here")
        await socket.close(4001, "again")  # idempotent
        assert socket.connection_state == "disconnected"
        with pytest.raises(WebSocketDisconnect) as caught:
            await socket.send_text("too late")
        assert caught.value.code == 4000

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.asgi.closes == [(4000, "done here")]
    assert conn.socket.close_code == 4000


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
        conn.asgi.client_leaves(1000)  # hypercorn: the client's close frame arrived
        await conn.wait_done()
    assert conn.asgi.closes == [(1000, "")]
    assert conn.socket.close_code == 1000  # our own code is kept


async def test_close_after_the_client_left_is_a_noop() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        with pytest.raises(WebSocketDisconnect):
            await socket.receive_text()
        await socket.close(4000, "")  # no error, nothing sent

    async with serving(handler) as conn:
        conn.asgi.client_leaves(1006)
        await conn.wait_done()
    assert conn.asgi.closes == []


async def test_websocket_exception_closes_with_its_code_and_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        raise WebSocketException(code=4001, reason="not allowed")

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await conn.wait_done()
    assert conn.asgi.closes == [(4001, "not allowed")]
    # A deliberate close is not an error: no traceback in the log.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_websocket_exception_with_an_unsendable_code_closes_1011() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        raise WebSocketException(code=1006, reason="reserved")

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.asgi.closes == [(1011, "reserved")]


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
    assert conn.asgi.closes == [(4002, "from a child task")]


async def test_error_before_accept_accepts_then_closes_1011() -> None:
    async def handler(socket: WebSocket) -> None:
        raise RuntimeError("before accept")

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.asgi.types == ["websocket.accept", "websocket.close"]
    assert conn.asgi.closes == [(1011, "Internal Server Error")]


async def test_returning_without_accepting_closes_before_accept() -> None:
    async def handler(socket: WebSocket) -> None:
        return

    async with serving(handler) as conn:
        await conn.wait_done()
    # Close before accept: the server answers the handshake with HTTP 403.
    assert conn.asgi.types == ["websocket.close"]
    assert conn.socket.connection_state == "disconnected"


async def test_deny_sends_an_http_response_and_no_close() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.deny(403, b"members only", {"x-why": "policy"})

    async with serving(handler) as conn:
        await conn.wait_done()
    start, body = conn.asgi.sent
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 403
    assert (b"x-why", b"policy") in start["headers"]
    assert body["type"] == "websocket.http.response.body"
    assert body["body"] == b"members only"
    assert conn.asgi.closes == []


async def test_deny_without_the_extension_closes_before_accept() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.deny(403, b"members only")

    async with serving(handler, scope=make_scope(http_response=False)) as conn:
        await conn.wait_done()
    assert conn.asgi.sent == [{"type": "websocket.close", "code": 1008, "reason": ""}]


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
            conn.asgi.client_leaves(1006)
            await conn.wait_done()
    assert conn.asgi.sent == []
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

    expectations: list[tuple[Handler, Callable[[FakeASGI], None] | None, list[int]]] = [
        (returns, None, [1000]),
        (raises, None, [1011]),
        (closes, None, [3001]),
        (reads, FakeASGI.client_leaves, []),
        (pushes, FakeASGI.client_leaves, []),
    ]
    for handler, client_action, codes in expectations:
        async with serving(handler) as conn:
            await trio.sleep(1.5)
            if client_action is not None:
                client_action(conn.asgi)
            await conn.wait_done()
        assert [code for code, _ in conn.asgi.closes] == codes, handler.__name__


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
        conn.asgi.client_leaves(4100, "see you")
        await conn.wait_done()
    assert len(outcome) == 1
    assert outcome[0].code == 4100
    assert outcome[0].reason == "see you"
    assert conn.asgi.closes == []


async def test_iter_messages_ends_quietly_and_keeps_frame_types() -> None:
    received: list[str | bytes] = []
    ended = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        async for message in socket.iter_messages():
            received.append(message)
        ended.set()

    async with serving(handler) as conn:
        conn.asgi.client_sends("text")
        conn.asgi.client_sends(b"\x00bin")
        conn.asgi.client_leaves()
        await conn.wait_done()
    assert ended.is_set()
    assert received == ["text", b"\x00bin"]


async def test_messages_sent_before_the_disconnect_are_still_delivered() -> None:
    go = trio.Event()
    received: list[str] = []
    disconnect: list[int] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()  # busy while the client sends and leaves
        try:
            while True:
                received.append(await socket.receive_text())
        except WebSocketDisconnect as exc:
            disconnect.append(exc.code)

    async with serving(handler) as conn:
        for n in range(5):
            conn.asgi.client_sends(f"m{n}")
        conn.asgi.client_leaves(1001)
        await trio.testing.wait_all_tasks_blocked()
        go.set()
        await conn.wait_done()
    assert received == [f"m{n}" for n in range(5)]
    assert disconnect == [1001]


async def test_receive_before_accept_is_a_protocol_error_closing_1011() -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.receive_text()

    async with serving(handler) as conn:
        await conn.wait_done()
    assert conn.asgi.closes == [(1011, "Internal Server Error")]


# ===================================================================== statistics
async def test_statistics_count_messages_and_bytes() -> None:
    snapshot: list[Any] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        assert await socket.receive_message() == "héllo"
        assert await socket.receive_message() == b"\x01\x02"
        await socket.send_text("é")
        await socket.send_bytes(b"abc")
        snapshot.append(socket.statistics())

    async with serving(handler) as conn:
        conn.asgi.client_sends("héllo")
        conn.asgi.client_sends(b"\x01\x02")
        await conn.wait_done()
    stats = snapshot[0]
    assert stats.messages_in == 2
    assert stats.bytes_in == len("héllo".encode()) + 2
    assert stats.messages_out == 2
    assert stats.bytes_out == 2 + 3  # payload bytes: "é" is two UTF-8 bytes
    assert stats.dropped_frames == 0
    assert stats.inbox_size == 16
    assert stats.outbox_size == 16


async def test_other_mode_frames_are_dropped_and_counted() -> None:
    got: list[Any] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        got.append(await socket.receive_text())
        got.append(await socket.receive_bytes())
        got.append(socket.statistics().dropped_frames)

    async with serving(handler) as conn:
        conn.asgi.client_sends(b"binary, dropped")
        conn.asgi.client_sends(b"another")
        conn.asgi.client_sends("wanted text")
        conn.asgi.client_sends("text, dropped")
        conn.asgi.client_sends(b"wanted bytes")
        await conn.wait_done()
    assert got == ["wanted text", b"wanted bytes", 3]
    assert conn.asgi.closes == [(1000, "")]


# ===================================================================== backpressure
async def test_outbox_backpressure_blocks_the_sender_of_the_behaviour() -> None:
    gate = trio.Event()
    asgi = FakeASGI(send_gate=gate)
    queued: list[int] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        for n in range(10):
            await socket.send_text(str(n))
            queued.append(n)

    async with serving(handler, asgi=asgi, config=RuntimeConfig(outbox_size=2)) as conn:
        await trio.testing.wait_all_tasks_blocked()
        # The sender is stuck in ASGI send() with the accept; the outbox holds two
        # messages; the third send_text blocks the handler.
        assert asgi.sending == 1
        assert queued == [0, 1]
        assert conn.socket.statistics().outbox_depth == 2
        assert asgi.sent == []
        gate.set()
        await conn.wait_done()
    assert queued == list(range(10))
    assert asgi.data == [str(n) for n in range(10)]  # in order, nothing lost
    assert asgi.closes == [(1000, "")]


async def test_inbox_backpressure_stops_reading_from_the_server() -> None:
    go = trio.Event()
    received: list[str] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await go.wait()
        async for message in socket.iter_data():
            received.append(str(message))

    async with serving(handler, config=RuntimeConfig(inbox_size=2)) as conn:
        for n in range(6):
            conn.asgi.client_sends(str(n))
        await trio.testing.wait_all_tasks_blocked()
        stats = conn.socket.statistics()
        # Two queued, one held by the receiver blocked on the full inbox; the rest
        # stay with the server (its queue, then TCP, push back on the client).
        assert stats.inbox_depth == 2
        assert stats.messages_in == 3
        assert conn.asgi.receiving == 0
        go.set()
        await trio.testing.wait_all_tasks_blocked()
        conn.asgi.client_leaves()
        await conn.wait_done()
    assert received == [str(n) for n in range(6)]


async def test_blocked_server_send_cannot_hang_the_close(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    asgi = FakeASGI(send_gate=trio.Event())  # never released: a stuck client
    config = RuntimeConfig(close_timeout=2.0)
    async with serving(accept_and_return, asgi=asgi, config=config) as conn:
        start = trio.current_time()
        await conn.wait_done()
        elapsed = trio.current_time() - start
    assert 2.0 <= elapsed < 2.1
    assert "did not drain" in caplog.text


# ===================================================================== order and failures
async def test_cleanup_runs_after_the_close_frame() -> None:
    seen_at_cleanup: list[list[str]] = []
    asgi = FakeASGI()

    async def behaviour(socket: WebSocket, stack: AsyncExitStack) -> None:
        async def cleanup() -> None:
            seen_at_cleanup.append(list(asgi.types))

        stack.push_async_callback(cleanup)
        await socket.accept()

    async with serving(accept_and_return, asgi=asgi, behaviour=behaviour) as conn:
        await conn.wait_done()
    assert seen_at_cleanup == [["websocket.accept", "websocket.close"]]


async def test_cleanup_runs_when_the_client_left(autojump_clock: trio.testing.MockClock) -> None:
    cleaned = trio.Event()

    async def behaviour(socket: WebSocket, stack: AsyncExitStack) -> None:
        async def cleanup() -> None:
            await trio.sleep(0.5)  # async cleanup still gets to checkpoint
            cleaned.set()

        stack.push_async_callback(cleanup)
        await socket.accept()
        await trio.sleep_forever()

    async with serving(accept_and_return, behaviour=behaviour) as conn:
        conn.asgi.client_leaves()
        await conn.wait_done()
    assert cleaned.is_set()


async def test_server_cancellation_closes_1001_and_propagates() -> None:
    asgi = FakeASGI()
    finalized = trio.Event()

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await trio.sleep_forever()
        finally:
            finalized.set()

    scope = make_scope()
    returned = False
    with trio.fail_after(DEADLINE):
        with trio.CancelScope() as server:

            async def make() -> None:
                await trio.testing.wait_all_tasks_blocked()
                server.cancel()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(make)
                await supervise(
                    scope,
                    asgi.receive,
                    asgi.send,
                    behaviour=behaviour_of(handler),
                    make_socket=lambda box: WebSocket(box, scope, codec=Codec()),
                    config=RuntimeConfig(),
                )
                returned = True
    assert not returned  # Cancelled propagated out of supervise
    assert server.cancelled_caught
    assert finalized.is_set()
    assert asgi.closes == [(1001, "Going Away")]


async def test_a_failing_asgi_receive_closes_1011() -> None:
    asgi = FakeASGI()

    async def broken_receive() -> Message:
        raise OSError("transport broke")

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await trio.sleep_forever()

    scope = make_scope()
    with trio.fail_after(DEADLINE):
        await supervise(
            scope,
            broken_receive,
            asgi.send,
            behaviour=behaviour_of(handler),
            make_socket=lambda box: WebSocket(box, scope, codec=Codec()),
            config=RuntimeConfig(),
        )
    assert asgi.closes == [(1011, "Internal Server Error")]


async def test_a_failing_asgi_send_stops_the_behaviour() -> None:
    calls: list[str] = []
    finalized = trio.Event()

    async def broken_send(message: Message) -> None:
        calls.append(message["type"])
        if message["type"] == "websocket.send":
            raise OSError("transport broke")

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            while True:
                await socket.send_text("x")
                await trio.lowlevel.checkpoint()
        finally:
            finalized.set()

    asgi = FakeASGI()
    scope = make_scope()
    with trio.fail_after(DEADLINE):
        await supervise(
            scope,
            asgi.receive,
            broken_send,
            behaviour=behaviour_of(handler),
            make_socket=lambda box: WebSocket(box, scope, codec=Codec()),
            config=RuntimeConfig(),
        )
    assert finalized.is_set()
    assert calls[:2] == ["websocket.accept", "websocket.send"]
    assert "websocket.close" not in calls  # the sender is gone: nothing more is sent


# ===================================================================== through an App
async def drive_app(app: App, scope: Message, asgi: FakeASGI) -> None:
    with trio.fail_after(DEADLINE):
        await app(scope, asgi.receive, asgi.send)


async def test_app_error_before_accept_accepts_then_closes_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        raise KeyError("no such room")

    asgi = FakeASGI()
    with caplog.at_level(logging.INFO, logger="wsactors"):
        await drive_app(App([handler]), make_scope(), asgi)
    assert asgi.types == ["websocket.accept", "websocket.close"]
    assert asgi.closes == [(1011, "Internal Server Error")]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None


async def test_app_handler_returning_without_accept_closes_before_accept() -> None:
    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        pass

    asgi = FakeASGI()
    await drive_app(App([handler]), make_scope(), asgi)
    assert asgi.types == ["websocket.close"]


async def test_app_bad_query_parameter_is_denied_with_400() -> None:
    @websocket("/ws")
    async def handler(socket: WebSocket, count: int) -> None:
        await socket.accept()

    asgi = FakeASGI()
    scope = make_scope()
    scope["query_string"] = b"count=many"
    await drive_app(App([handler]), scope, asgi)
    start, body = asgi.sent
    assert start["status"] == 400
    assert b"count" in body["body"]
    assert asgi.closes == []


async def test_app_unknown_path_is_denied_with_404() -> None:
    asgi = FakeASGI()
    scope = make_scope()
    scope["path"] = "/nowhere"
    await drive_app(App([]), scope, asgi)
    assert [m["type"] for m in asgi.sent] == [
        "websocket.http.response.start",
        "websocket.http.response.body",
    ]
    assert asgi.sent[0]["status"] == 404


async def test_app_denial_from_a_dependency_before_accept() -> None:
    def current_user(headers: Headers) -> str:
        raise NotAuthorizedError("token expired")

    @websocket("/ws", dependencies={"user": Provide(current_user)})
    async def handler(socket: WebSocket, user: str) -> None:
        await socket.accept()

    asgi = FakeASGI()
    await drive_app(App([handler]), make_scope(), asgi)
    start, body = asgi.sent
    assert start["status"] == 401
    assert body["body"] == b"token expired"


async def test_app_error_in_a_dependency_accepts_then_closes_1011() -> None:
    def broken() -> str:
        raise LookupError("database down")

    @websocket("/ws", dependencies={"db": broken})
    async def handler(socket: WebSocket, db: str) -> None:
        await socket.accept()

    asgi = FakeASGI()
    await drive_app(App([handler]), make_scope(), asgi)
    assert asgi.types == ["websocket.accept", "websocket.close"]
    assert asgi.closes == [(1011, "Internal Server Error")]


async def test_app_origin_not_allowed_is_denied_with_403() -> None:
    app = App([accept_route()], allowed_origins=["https://*.example.com"])
    denied, allowed = FakeASGI(), FakeASGI()
    scope = make_scope()
    scope["headers"] = [(b"origin", b"https://evil.test")]
    await drive_app(app, scope, denied)
    scope = make_scope()
    scope["headers"] = [(b"origin", b"https://chat.example.com")]
    await drive_app(app, scope, allowed)
    assert denied.sent[0]["status"] == 403
    assert allowed.types == ["websocket.accept", "websocket.close"]


def accept_route() -> Any:
    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()

    return handler


async def test_app_answers_http_with_a_plain_404() -> None:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    with trio.fail_after(DEADLINE):
        await App([])({"type": "http", "path": "/", "method": "GET"}, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 404
    assert sent[1]["body"] == b"Not Found"
