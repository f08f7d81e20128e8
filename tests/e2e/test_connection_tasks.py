"""Connection-owned tasks end to end: ``socket.start_soon`` and ``socket.start`` from
every handler kind, on both engines, with a real client.

The runtime's own rules (a failure's close code, a stubborn task, a pending start)
are in tests/actors/test_tasks.py.

No ``from __future__ import annotations``: handlers are closures defined in the tests
and their annotations must resolve.
"""

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from helpers import DEADLINE, ask, close_of
from wsactors import (
    App,
    WebSocket,
    WebSocketDisconnect,
    WebSocketListener,
    websocket,
    websocket_listener,
    websocket_stream,
)
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]


async def ticker(socket: WebSocket, prefix: str, sent: trio.Event | None = None) -> None:
    """Push ``prefix0``, ``prefix1``, ... until cancelled, one every 10 ms."""
    n = 0
    while True:
        await socket.send_text(f"{prefix}{n}")
        n += 1
        if sent is not None:
            sent.set()
        await trio.sleep(0.01)


async def test_a_task_pushes_beside_a_listeners_receive_loop() -> None:
    async def on_connect(socket: WebSocket) -> None:
        socket.start_soon(ticker, socket, "tick ")

    @websocket_listener("/", on_connect=on_connect)
    async def echo(data: str) -> str:
        return f"echo {data}"

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([echo])) as server, server.connect("/") as ws:
            # The task pushes with nothing asked ...
            assert await ws.get_message() == "tick 0"
            assert await ws.get_message() == "tick 1"
            # ... and the receive loop answers meanwhile.
            await ws.send_message("a")
            seen = [await ws.get_message() for _ in range(4)]
            assert "echo a" in seen
            ticks = [m for m in seen if m != "echo a"]
            assert ticks == [f"tick {n}" for n in range(2, 2 + len(ticks))]


async def test_a_class_listener_starts_a_task_in_on_connect_and_it_ends_first() -> None:
    events: list[str] = []
    disconnected = trio.Event()

    class Room(WebSocketListener):
        path = "/room"

        async def on_connect(self, socket: WebSocket) -> None:
            self.pushed = 0
            socket.start_soon(self.feed)

        async def feed(self) -> None:
            try:
                while True:
                    await self.socket.send_json({"feed": self.pushed})
                    self.pushed += 1
                    await trio.sleep(0.01)
            finally:
                events.append("feed cancelled")

        def on_receive(self, data: str) -> str:
            return f"{data} after {self.pushed}"

        async def on_disconnect(self, socket: WebSocket) -> None:
            events.append("disconnect")
            # Too late for a new task: the connection's tasks have ended.
            try:
                socket.start_soon(self.feed)
            except WebSocketDisconnect as exc:
                events.append(f"start_soon refused: {exc.code}")
            disconnected.set()

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Room])) as server:
            async with server.connect("/room") as ws:
                assert await ws.get_message() == '{"feed":0}'
                await ws.send_message("hello")
                while str(reply := await ws.get_message()).startswith('{"feed"'):
                    pass
                assert str(reply).startswith("hello after ")
                await ws.aclose(1000)
            await disconnected.wait()
    # Cancelled before on_disconnect ran; the code is the client's (hypercorn reports
    # 1006 for every client close, its issue #127).
    assert events[:2] == ["feed cancelled", "disconnect"]
    assert events[2] in ("start_soon refused: 1000", "start_soon refused: 1006")


async def test_a_task_ends_before_a_connection_lifespans_exit() -> None:
    events: list[str] = []
    exited = trio.Event()

    async def watchdog(sent: trio.Event) -> None:
        try:
            sent.set()
            await trio.sleep_forever()
        finally:
            events.append("watchdog cancelled")

    @asynccontextmanager
    async def lifespan(socket: WebSocket) -> AsyncIterator[None]:
        sent = trio.Event()
        socket.start_soon(watchdog, sent)
        await sent.wait()
        try:
            yield
        finally:
            events.append("lifespan exit")
            exited.set()

    @websocket_listener("/", connection_lifespan=lifespan)
    async def echo(data: str) -> str:
        return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([echo])) as server:
            async with server.connect("/") as ws:
                assert await ask(ws, "a") == "a"
            await exited.wait()
    assert events == ["watchdog cancelled", "lifespan exit"]


async def test_a_failing_task_closes_1011_logs_once_and_on_disconnect_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="wsactors")
    seen: dict[str, Any] = {}
    disconnected = trio.Event()

    async def broken_feed(socket: WebSocket) -> None:
        await socket.send_text("about to fail")
        raise RuntimeError("the feed broke")

    async def on_connect(socket: WebSocket) -> None:
        socket.start_soon(broken_feed, socket)

    def on_disconnect(socket: WebSocket) -> None:
        seen["close_code"] = socket.close_code
        disconnected.set()

    @websocket_listener("/", on_connect=on_connect, on_disconnect=on_disconnect)
    async def echo(data: str) -> str:
        return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([echo])) as server:
            async with server.connect("/") as ws:
                assert await ws.get_message() == "about to fail"
                closed = await close_of(ws)
            await disconnected.wait()
    assert (closed.code, closed.reason) == (1011, "Internal Server Error")
    assert seen == {"close_code": 1011}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "error in a task of the WebSocket connection for '/'"
    ]
    assert errors[0].exc_info is not None
    assert isinstance(errors[0].exc_info[1], RuntimeError)


async def test_start_returns_the_value_the_task_passes_to_started() -> None:
    async def serve_numbers(
        socket: WebSocket,
        first: int,
        *,
        task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        task_status.started(f"ready from {first}")
        for n in range(first, first + 3):
            await socket.send_text(str(n))

    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        started = await socket.start(serve_numbers, socket, 7)
        await socket.send_text(started)
        await socket.receive_text()  # until the client says it has seen enough

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            got = [await ws.get_message() for _ in range(4)]
            # The started value was sent once start() returned; the task's own
            # pushes may come before or after it, in their own order.
            assert "ready from 7" in got
            assert [m for m in got if m != "ready from 7"] == ["7", "8", "9"]
            await ws.send_message("bye")
            closed = await close_of(ws)
            assert closed.code == 1000


async def test_a_task_of_a_stream_pushes_beside_it_and_ends_with_it() -> None:
    cancelled = trio.Event()

    async def side(socket: WebSocket, sent: trio.Event) -> None:
        try:
            await socket.send_text("from the task")
            sent.set()
            await trio.sleep_forever()
        finally:
            cancelled.set()

    @websocket_stream("/stream")
    async def stream(socket: WebSocket) -> AsyncGenerator[str, None]:
        sent = trio.Event()
        socket.start_soon(side, socket, sent)
        await sent.wait()
        yield "from the stream"

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([stream])) as server:
            async with server.connect("/stream") as ws:
                assert await ws.get_message() == "from the task"
                assert await ws.get_message() == "from the stream"
                closed = await close_of(ws)  # the stream is exhausted: 1000
                assert closed.code == 1000
            await cancelled.wait()


async def test_a_task_started_after_the_connection_ended_is_refused() -> None:
    kept: list[WebSocket] = []

    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        kept.append(socket)
        await socket.accept()
        await socket.close(4000, "done")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                closed = await close_of(ws)
                assert closed.code == 4000
            [socket] = kept
            while socket.connection_state != "disconnected":  # noqa: ASYNC110 - a state
                await trio.sleep(0.01)
            with pytest.raises(WebSocketDisconnect) as refused:
                await socket.start(trio.sleep_forever)
            assert refused.value.code == 4000
            with pytest.raises(WebSocketDisconnect):
                socket.start_soon(trio.sleep_forever)
