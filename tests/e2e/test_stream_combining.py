"""The seed's "Combining streaming and receiving data" examples, ported to Trio, end
to end over real loopback sockets.

Both run ``send_websocket_stream`` in a Trio nursery beside a receive loop: once in
a ``@websocket`` handler, once in a ``@websocket_listener``'s
``connection_lifespan``. When the client leaves, both must end cleanly: nothing
logged at ERROR, no traceback or ExceptionGroup anywhere in the logs, and the
user's code past the nursery (or in the lifespan's ``finally``) runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import trio

from helpers import DEADLINE, read_until_close, receive_json
from wsactors import (
    App,
    WebSocket,
    WebSocketDisconnect,
    WebSocketException,
    send_websocket_stream,
    websocket,
    websocket_listener,
)
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

PING = {"message": "ping"}


@dataclass
class Probe:
    """What the handler reports about how it ended."""

    ended: trio.Event = field(default_factory=trio.Event)
    outcome: list[str] = field(default_factory=list)


async def pings(delay: float = 0.05) -> AsyncGenerator[dict[str, str], None]:
    while True:
        yield PING
        await trio.sleep(delay)


async def failing_pings() -> AsyncGenerator[dict[str, str], None]:
    yield PING
    yield PING
    raise WebSocketException(code=4004, reason="stream gave up")


#: What the apps stream: ``pings`` unless a test says otherwise.
Stream = Callable[[], AsyncGenerator[dict[str, str], None]]


def raw_handler_app(probe: Probe, stream: Stream = pings) -> App:
    # The seed's stream_and_receive_raw, with a Trio nursery for the task group.
    @websocket("/")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()

        async def handle_receive() -> None:
            async for event in socket.iter_json():
                await socket.send_json(event)

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(send_websocket_stream, socket, stream())
                nursery.start_soon(handle_receive)
            probe.outcome.append("nursery exited")
        finally:
            probe.ended.set()

    return App([handler])


def listener_app(probe: Probe, stream: Stream = pings) -> App:
    # The seed's stream_and_receive_listener: the stream runs in a nursery opened by
    # the connection_lifespan, beside the listener's own message loop.
    @asynccontextmanager
    async def listener_lifespan(socket: WebSocket) -> AsyncIterator[None]:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_websocket_stream, socket, stream())
            try:
                yield
            except WebSocketDisconnect:
                probe.outcome.append("disconnect")
            else:
                probe.outcome.append("yield returned")
            finally:
                nursery.cancel_scope.cancel()
                probe.outcome.append("lifespan finally")
                probe.ended.set()

    @websocket_listener("/", connection_lifespan=listener_lifespan)
    async def handler(data: dict[str, Any]) -> dict[str, Any]:
        return data

    return App([handler])


APPS = {"websocket-handler": raw_handler_app, "listener-lifespan": listener_app}


def assert_clean_logs(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert record.levelno < logging.ERROR, caplog.text
        assert record.exc_info is None, caplog.text
        text = record.getMessage()
        assert "Traceback" not in text, text
        assert "ExceptionGroup" not in text, text
    assert "Traceback" not in caplog.text
    assert "ExceptionGroup" not in caplog.text


@pytest.mark.parametrize("make_app", APPS.values(), ids=APPS.keys())
async def test_stream_and_receive_then_leave_cleanly(
    make_app: Any, caplog: pytest.LogCaptureFixture, live_engine: str
) -> None:
    caplog.set_level(logging.DEBUG, logger="wsactors")
    caplog.set_level(logging.DEBUG, logger="hypercorn")
    probe = Probe()
    # hypercorn's own loglevel option, so its error log reaches caplog too; the
    # native engine has no such option: it logs to "wsactors.engine" (set above).
    options: dict[str, Any] = {"loglevel": "DEBUG"} if live_engine == "hypercorn" else {}

    with trio.fail_after(DEADLINE):
        async with LiveServer(make_app(probe), **options) as server:
            async with server.connect("/") as ws:
                await ws.send_message(json.dumps({"hello": "there"}))
                received = [await receive_json(ws) for _ in range(6)]
            with trio.fail_after(2):
                await probe.ended.wait()

    assert {"hello": "there"} in received
    assert received.count(PING) >= 4
    assert_clean_logs(caplog)


async def visit_and_leave(server: LiveServer, probe: Probe) -> None:
    """Send one message, read past the pings to its echo and leave while the handler is
    waiting for the next; then wait (2 s at most) for the handler to report its end."""
    async with server.connect("/") as ws:
        await ws.send_message(json.dumps({"hello": "there"}))
        while await receive_json(ws) == PING:
            pass
    with trio.fail_after(2):
        await probe.ended.wait()


async def test_listener_lifespan_yield_returns_normally_when_the_client_leaves() -> None:
    probe = Probe()

    with trio.fail_after(DEADLINE):
        async with LiveServer(listener_app(probe)) as server:
            await visit_and_leave(server, probe)

    assert probe.outcome == ["yield returned", "lifespan finally"]


async def test_code_after_the_users_nursery_runs_when_the_client_leaves() -> None:
    # The receive loop is waiting in iter_json when the client leaves, so the handler
    # is a reader: it must get disconnect_grace, its loop ends quietly, the stream's
    # next send ends quietly, and the line after the nursery runs. Ten connections,
    # because the bug depends on Trio's scheduling order.
    connections = 10
    probe = Probe()

    with trio.fail_after(2 * DEADLINE):  # ten connections, one after the other
        async with LiveServer(raw_handler_app(probe)) as server:
            for _ in range(connections):
                probe.ended = trio.Event()
                await visit_and_leave(server, probe)

    assert probe.outcome == ["nursery exited"] * connections


@pytest.mark.parametrize("make_app", APPS.values(), ids=APPS.keys())
async def test_several_messages_are_echoed_between_pings(make_app: Any) -> None:
    probe = Probe()

    with trio.fail_after(DEADLINE):
        async with LiveServer(make_app(probe)) as server, server.connect("/") as ws:
            for i in range(3):
                await ws.send_message(json.dumps({"n": i}))
                while (message := await receive_json(ws)) == PING:
                    pass
                assert message == {"n": i}


@pytest.mark.parametrize("make_app", APPS.values(), ids=APPS.keys())
async def test_websocket_exception_in_the_users_nursery_keeps_its_code(make_app: Any) -> None:
    probe = Probe()

    with trio.fail_after(DEADLINE):
        async with LiveServer(make_app(probe, failing_pings)) as server, server.connect("/") as ws:
            messages, close = await read_until_close(ws)
            with trio.fail_after(2):
                await probe.ended.wait()

    assert [json.loads(m) for m in messages] == [PING, PING]
    assert close.code == 4004
    assert close.reason == "stream gave up"
