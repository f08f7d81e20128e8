"""Graceful drain: server shutdown closes every connection with 1001 "Going Away".

``serve_async`` (and so ``LiveServer``, ``serve`` and ``wsactors run``) calls
``App.drain()`` before hypercorn stops: every live connection gets close 1001
(RFC 6455 7.4.1: "an endpoint is going away, such as a server going down"), and
``on_disconnect`` hooks, stream ``finally`` blocks and yield-dependency cleanups run
within ``App(shutdown_timeout=...)``. Handshakes arriving during the drain get HTTP
503. hypercorn alone sends no close frame and cancels apps after its
``graceful_timeout``: the tests set that to 10 s, so a shutdown that finishes in well
under a second proves the drain did the work.
"""

from __future__ import annotations

import importlib.util
import math
import signal
import sys
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
import trio
from hypercorn.middleware import ProxyFixMiddleware
from trio_websocket import CloseReason
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, RejectConnection, RejectData, Request

from cli_helpers import server_command
from helpers import DEADLINE, open_non_reader, read_until_close
from wsactors import App, Provide, WebSocket, websocket, websocket_listener, websocket_stream
from wsactors.testing import LiveServer, open_client

if TYPE_CHECKING:
    from hypercorn.typing import ASGIFramework

    from wsactors.types import ASGIApp

pytestmark = pytest.mark.e2e

# Longer than the graceful_timeout (10 s) and stop_timeout (12 s) some servers below
# get: a drain that did not do the work shows as a slow stop, not as this timeout.
STOP_DEADLINE = DEADLINE + 5.0
FIXTURES = Path(__file__).parent / "fixtures"


# --------------------------------------------------------------------- clients
async def raw_handshake(server: LiveServer, path: str) -> tuple[int, bytes]:
    """The HTTP status and body the server answers a handshake for ``path`` with."""
    conn = WSConnection(ConnectionType.CLIENT)
    status, body = 0, b""
    with trio.fail_after(STOP_DEADLINE):
        async with await trio.open_tcp_stream(server.host, server.port) as stream:
            await stream.send_all(conn.send(Request(host=server.host, target=path)))
            while chunk := await stream.receive_some(65536):
                conn.receive_data(chunk)
                for event in conn.events():
                    if isinstance(event, AcceptConnection):
                        return 101, b""
                    if isinstance(event, RejectConnection):
                        status = event.status_code
                        if not event.has_body:
                            return status, b""
                    if isinstance(event, RejectData):
                        body += event.data
                        if event.body_finished:
                            return status, body
    return status, body


# --------------------------------------------------------------------- the app
events: list[str] = []
on_disconnect_started = trio.Event()


@pytest.fixture(autouse=True)
def _fresh_events() -> None:
    global on_disconnect_started
    events.clear()
    on_disconnect_started = trio.Event()


CLEANUP_WORK = 0.2  # every cleanup below awaits this long: cut short, it records nothing


async def listener_left(socket: WebSocket) -> None:
    on_disconnect_started.set()
    await trio.sleep(CLEANUP_WORK)
    events.append("listener on_disconnect")


@websocket_listener("/listener", on_disconnect=listener_left)
async def listener(data: str) -> str:
    return data


@websocket_stream("/stream")
async def ticker() -> AsyncGenerator[str, None]:
    try:
        while True:
            yield "tick"
            await trio.sleep(0.05)
    finally:
        with trio.CancelScope(shield=True):
            await trio.sleep(CLEANUP_WORK)
        events.append("stream finally")


async def session() -> AsyncGenerator[str, None]:
    try:
        yield "session"
    finally:
        await trio.sleep(CLEANUP_WORK)
        events.append("dependency cleanup")


@websocket("/raw", dependencies={"session": Provide(session)})
async def raw(socket: WebSocket, session: str) -> None:
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)


@websocket("/stubborn")
async def stubborn(socket: WebSocket) -> None:
    """Ignores the stop: its cleanup sleeps 2 s, shielded from cancellation."""
    await socket.accept()
    try:
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            await trio.sleep(2.0)
        events.append("stubborn done")


HANDLERS = [listener, ticker, raw, stubborn]
ALL_CLEANUPS = ["dependency cleanup", "listener on_disconnect", "stream finally"]


class Clients:
    """Client connections held open in the test's nursery until the server closes them."""

    def __init__(self) -> None:
        self.closes: dict[str, CloseReason] = {}
        self.closed_at: dict[str, float] = {}

    async def hold(
        self,
        server: LiveServer,
        path: str,
        greet: bool = True,
        *,
        task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        async with open_client(server.host, server.port, path) as ws:
            if path == "/stream":
                assert await ws.get_message() == "tick"  # a stream takes no messages
            elif greet:
                await ws.send_message("hello")
                assert await ws.get_message() == "hello"
            task_status.started()
            _, self.closes[path] = await read_until_close(ws)
            self.closed_at[path] = trio.current_time()


# --------------------------------------------------------------------- LiveServer exit
@pytest.mark.usefixtures("live_engine")
async def test_leaving_live_server_closes_everyone_1001_and_runs_cleanups_first() -> None:
    clients = Clients()
    app = App(HANDLERS, shutdown_timeout=5.0)
    with trio.fail_after(STOP_DEADLINE):
        async with trio.open_nursery() as nursery:
            async with LiveServer(app, graceful_timeout=10.0, stop_timeout=12.0) as server:
                for path in ("/listener", "/stream", "/raw"):
                    await nursery.start(clients.hold, server, path)
                assert len(app.connections) == 3
                stopping = trio.current_time()
            stopped = trio.current_time()
    assert {path: (c.code, c.reason) for path, c in clients.closes.items()} == {
        "/listener": (1001, "Going Away"),
        "/stream": (1001, "Going Away"),
        "/raw": (1001, "Going Away"),
    }
    # Every cleanup ran to completion before the server stopped ...
    assert sorted(events) == ALL_CLEANUPS
    assert len(app.connections) == 0
    # ... and the drain, not hypercorn's graceful_timeout (10 s), ended them.
    assert stopped - stopping < 2.0, stopped - stopping
    assert all(at <= stopped for at in clients.closed_at.values())


@pytest.mark.usefixtures("live_engine")
async def test_a_handshake_during_the_drain_gets_503() -> None:
    clients = Clients()
    app = App(HANDLERS)
    answers: list[tuple[int, bytes]] = []

    async def knock_while_draining(server: LiveServer) -> None:
        # The listener's on_disconnect takes 0.2 s: the drain is in progress.
        await on_disconnect_started.wait()
        answers.append(await raw_handshake(server, "/raw"))

    with trio.fail_after(STOP_DEADLINE):
        async with trio.open_nursery() as nursery, LiveServer(app, graceful_timeout=10.0) as server:
            await nursery.start(clients.hold, server, "/listener")
            nursery.start_soon(knock_while_draining, server)
    assert answers == [(503, b"Server shutting down")]
    assert clients.closes["/listener"].code == 1001
    assert events == ["listener on_disconnect"]


# --------------------------------------------------------------------- App.drain()
@pytest.mark.usefixtures("live_engine")
async def test_drain_closes_1001_runs_cleanups_and_then_refuses_with_503() -> None:
    clients = Clients()
    app = App(HANDLERS, shutdown_timeout=5.0)
    with trio.fail_after(STOP_DEADLINE):
        async with trio.open_nursery() as nursery, LiveServer(app) as server:
            for path in ("/listener", "/stream", "/raw"):
                await nursery.start(clients.hold, server, path)
            started = trio.current_time()
            finished_in_time = await app.drain()
            took = trio.current_time() - started
            # drain() returned: the cleanups are done, and the server still runs.
            assert sorted(events) == ALL_CLEANUPS
            assert len(app.connections) == 0
            assert await raw_handshake(server, "/raw") == (503, b"Server shutting down")
    assert finished_in_time is True
    assert CLEANUP_WORK <= took < 2.0, took
    assert {c.code for c in clients.closes.values()} == {1001}
    assert {c.reason for c in clients.closes.values()} == {"Going Away"}


@pytest.mark.usefixtures("live_engine")
async def test_drain_is_bounded_by_shutdown_timeout_when_a_handler_ignores_the_stop(
    live_engine: str,
) -> None:
    clients = Clients()
    app = App(HANDLERS, shutdown_timeout=0.5)
    with trio.fail_after(STOP_DEADLINE):
        async with trio.open_nursery() as nursery, LiveServer(app) as server:
            await nursery.start(clients.hold, server, "/raw")
            await nursery.start(clients.hold, server, "/stubborn", False)
            started = trio.current_time()
            finished_in_time = await app.drain()
            took = trio.current_time() - started
            # The well-behaved connection was closed and cleaned up meanwhile; the
            # stubborn one is still running its shielded cleanup.
            assert clients.closes["/raw"].code == 1001
            assert events == ["dependency cleanup"]
            assert len(app.connections) == 1
    assert finished_in_time is False
    assert 0.5 <= took < 1.5, took
    # It ended on its own (2 s) before the server stopped ...
    assert events == ["dependency cleanup", "stubborn done"]
    if live_engine == "hypercorn":
        # ... still with 1001: hypercorn's shutdown waits for the connection.
        assert clients.closes["/stubborn"].code == 1001
    else:
        # ... but the native engine's shutdown drains once more (0.5 s again), then
        # aborts what is left: a cleanup outlasting the drain means 1006 at the
        # client (docs/engines.md, "shutdown").
        assert clients.closes["/stubborn"].code == 1006


@websocket_stream("/burst", mode="binary")
async def burst() -> AsyncGenerator[bytes, None]:
    try:
        while True:
            yield b"b" * 65536
    finally:
        events.append("burst finally")


@pytest.mark.usefixtures("live_engine")
async def test_drain_finalizes_a_stream_parked_at_its_yield_by_a_slow_client() -> None:
    # A client that reads nothing: the outbox and the TCP buffers fill, the stream's
    # send blocks, and the generator waits at its `yield` (not in an await of its own,
    # where cancellation would reach it anyway). Stopping must still finalize it.
    app = App([burst], shutdown_timeout=0.5, close_timeout=0.5)
    # Leaving the block closes the client's socket first, which lets the stalled
    # write, and so the server, finish (see the xfail below).
    with trio.fail_after(STOP_DEADLINE):
        async with LiveServer(app) as server, await open_non_reader(server, "/burst"):
            await trio.sleep(0.5)
            assert events == []
            await app.drain()
            assert events == ["burst finally"]


# ASGI middleware around the App: the native engine serves an App itself
# (App.serve_connection), so there is nothing to wrap (docs/engines.md).
@pytest.mark.engine("hypercorn", reason="ASGI middleware applies on hypercorn only")
@pytest.mark.usefixtures("live_engine")
async def test_a_wrapped_app_is_drained_when_given_the_apps_drain() -> None:
    # serve_async drains an app that has a drain() method; middleware hides it
    # (docs/deployment.md): hand the App's drain to the wrapper.
    clients = Clients()
    app = App(HANDLERS)
    # The casts: App.__call__ takes plain dicts, hypercorn's middleware its TypedDicts.
    wrapped = cast(
        "ASGIApp", ProxyFixMiddleware(cast("ASGIFramework", app), mode="legacy", trusted_hops=1)
    )
    wrapped.drain = app.drain  # type: ignore[attr-defined]
    with trio.fail_after(STOP_DEADLINE):
        async with trio.open_nursery() as nursery:
            async with LiveServer(wrapped, graceful_timeout=10.0) as server:
                await nursery.start(clients.hold, server, "/raw")
                stopping = trio.current_time()
            took = trio.current_time() - stopping
    assert (clients.closes["/raw"].code, clients.closes["/raw"].reason) == (1001, "Going Away")
    assert events == ["dependency cleanup"]
    assert took < 2.0, took  # the drain, not hypercorn's 10 s graceful_timeout


# --------------------------------------------------------------------- a client that never reads
@websocket("/firehose", send_timeout=0.5)
async def firehose(socket: WebSocket) -> None:
    await socket.accept()
    for _ in range(200_000):  # about 800 MB: bounded, far more than TCP can buffer
        await socket.send_bytes(b"f" * 4096)


CLIENT_GIVES_UP = 8.0


_HYPERCORN_SHIELDS_WRITES = pytest.mark.xfail(
    strict=True,
    reason=(
        "BUG: a client that keeps its TCP connection open but stops reading blocks "
        "server shutdown until it leaves. hypercorn's TCPServer.protocol_send writes "
        "with stream.send_all inside a shielded CancelScope; once the peer's receive "
        "window is full that write never returns, so the connection's sender actor "
        "never ends and neither App.drain (shutdown_timeout), close_timeout, "
        "send_timeout, hypercorn's graceful_timeout nor cancelling the server "
        "(LiveServer stop_timeout) can end the connection or the server"
    ),
)


@pytest.mark.slow
@pytest.mark.parametrize(
    "live_engine",
    [
        pytest.param("hypercorn", marks=_HYPERCORN_SHIELDS_WRITES),
        # The native engine aborts a write still stalled after the drain.
        "native",
    ],
    indirect=True,
)
async def test_server_stop_is_bounded_even_with_a_client_that_never_reads(
    live_engine: str,
) -> None:
    app = App([firehose], shutdown_timeout=0.5, close_timeout=0.5)
    took = math.inf
    with trio.fail_after(STOP_DEADLINE + CLIENT_GIVES_UP):
        async with trio.open_nursery() as nursery:
            # Whatever happens, the client leaves after CLIENT_GIVES_UP seconds, which
            # ends the stalled write: the test is bounded either way.
            stopping = math.inf
            server = LiveServer(app, graceful_timeout=0.5, stop_timeout=1.0, engine=live_engine)
            async with server:
                stream = await open_non_reader(server, "/firehose")

                async def give_up() -> None:
                    await trio.sleep(CLIENT_GIVES_UP)
                    await stream.aclose()

                nursery.start_soon(give_up)
                await trio.sleep(1.0)  # the TCP buffers fill up; the send stalls
                stopping = trio.current_time()
            took = trio.current_time() - stopping
            nursery.cancel_scope.cancel()
        await stream.aclose()
    # drain 0.5 s + graceful_timeout 0.5 s + stop_timeout 1 s, and some slack.
    assert took < 4.0, f"the server took {took:.1f} s to stop (the client left at 8 s)"


# --------------------------------------------------------------------- the command line
def _cli_missing() -> bool:
    return importlib.util.find_spec("wsactors.cli") is None


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")
@pytest.mark.skipif(_cli_missing(), reason="the `wsactors run` command line is not written yet")
async def test_sigterm_drains_wsactors_run_and_exits_0(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "wsactors", "run", "drain_app:app", "--port", "0"]
    with trio.fail_after(STOP_DEADLINE):
        async with server_command(command, FIXTURES, output=tmp_path / "server.log") as server:
            async with open_client("127.0.0.1", server.port, "/echo") as ws:
                await ws.send_message("before the signal")
                assert await ws.get_message() == "before the signal"
                server.process.send_signal(signal.SIGTERM)
                signalled = trio.current_time()
                _, close = await read_until_close(ws)
            returncode = await server.process.wait()
            took = trio.current_time() - signalled
    text = server.output.read_text()
    assert (close.code, close.reason) == (1001, "Going Away"), text
    assert returncode == 0, text
    assert took < 5.0, text
    assert "drain_app: on_disconnect ran" in text
    assert "draining 1 connection(s)" in text
    assert "Traceback" not in text
