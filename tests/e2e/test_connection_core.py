"""Regressions of the connection core, where a user meets them (hypercorn, real sockets).

- a cancelled ``close()`` still leaves exactly one close frame (it used to move the
  state to CLOSING before queueing, so nothing was sent and hypercorn closed 1011);
- ``on_disconnect`` sees the final ``close_code`` and ``"disconnected"`` after every
  kind of server-side close (it used to see ``None`` and ``"connected"``);
- the close log line says what the client received, or "close frame not delivered";
- invalid ``accept()`` headers raise ``ValueError`` naming the header (they used to
  produce a bare close and a log line "code=1000").
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest
import trio

from helpers import DEADLINE, StallingClient, close_of
from wsactors import App, WebSocket, WebSocketListener, websocket, websocket_listener
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]


@dataclass
class Seen:
    """What the handlers saw in on_disconnect: (close_code, close_reason, state)."""

    endings: dict[str, tuple[int | None, str, str]] = field(default_factory=dict)
    ended: trio.Event = field(default_factory=trio.Event)
    errors: list[str] = field(default_factory=list)
    push_finally: trio.Event = field(default_factory=trio.Event)


seen = Seen()


@pytest.fixture(autouse=True)
def _fresh_seen() -> None:
    global seen
    seen = Seen()


def record(socket: WebSocket) -> None:
    seen.endings[socket.path] = (socket.close_code, socket.close_reason, socket.connection_state)
    seen.ended.set()


# --------------------------------------------------------------------- cancelled close()
@websocket("/cancelled-close")
async def cancelled_close(socket: WebSocket) -> None:
    await socket.accept()
    with trio.CancelScope() as scope:
        scope.cancel()
        await socket.close(4000, "never queued")
    await socket.send_text(f"still {socket.connection_state}")


async def test_a_cancelled_close_still_leaves_exactly_one_close_frame() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(App([cancelled_close])) as server,
            server.connect("/cancelled-close") as ws,
        ):
            # The cancelled call queued nothing and changed no state.
            assert await ws.get_message() == "still connected"
            close = await close_of(ws)
    # The handler returned: the framework's close, 1000, not hypercorn's 1011.
    assert close.code == 1000
    assert not close.reason


# --------------------------------------------------------------------- on_disconnect
@dataclass
class Item:
    quantity: int


@websocket_listener("/typed", on_disconnect=record)
async def typed(data: Item) -> str:
    return "ok"


@websocket_listener("/app-close", on_disconnect=record)
async def app_close(data: str, socket: WebSocket) -> None:
    await socket.close(4000, "done")


@websocket_listener("/tight", on_disconnect=record, max_message_size=4)
async def tight(data: str) -> str:
    return data


@websocket_listener("/idle", on_disconnect=record, idle_timeout=0.2)
async def idle(data: str) -> str:
    return data


@websocket_listener("/boom", on_disconnect=record)
async def boom(data: str) -> str:
    raise RuntimeError("kaboom")


class ClassTyped(WebSocketListener):
    path = "/class-typed"

    def on_receive(self, data: Item) -> str:
        return "ok"

    def on_disconnect(self, socket: WebSocket) -> None:
        record(socket)


@websocket_listener("/drained", on_disconnect=record)
async def drained(data: str) -> str:
    return data


APP = App([typed, app_close, tight, idle, boom, ClassTyped, drained])


@pytest.mark.parametrize(
    ("path", "message", "code", "reason"),
    [
        ("/typed", '{"quantity": "many"}', 1007, None),
        ("/class-typed", "not json", 1007, None),
        ("/app-close", "bye", 4000, "done"),
        ("/tight", "too long", 1009, "message too big: 8 bytes > 4"),
        ("/idle", None, 1001, "idle timeout"),
        ("/boom", "x", 1011, "Internal Server Error"),
    ],
)
async def test_on_disconnect_sees_the_final_close_after_a_server_side_close(
    path: str, message: str | None, code: int, reason: str | None
) -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(APP) as server, server.connect(path) as ws:
            if message is not None:
                await ws.send_message(message)
            close = await close_of(ws)
            await seen.ended.wait()
    assert close.code == code
    got_code, got_reason, state = seen.endings[path]
    # What on_disconnect saw is what the client received.
    assert (got_code, got_reason) == (close.code, close.reason or "")
    assert state == "disconnected"
    if reason is not None:
        assert close.reason == reason


async def test_on_disconnect_sees_1001_during_the_drain() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(APP) as server, server.connect("/drained") as ws:
            await ws.send_message("hi")
            assert await ws.get_message() == "hi"
            assert await APP.drain()
            close = await close_of(ws)
    assert (close.code, close.reason) == (1001, "Going Away")
    assert seen.endings["/drained"] == (1001, "Going Away", "disconnected")


# --------------------------------------------------------------------- the close log line
@websocket("/push", send_timeout=0.3)
async def push(socket: WebSocket) -> None:
    await socket.accept()
    try:
        while True:
            await socket.send_bytes(b"x" * 4096)
    finally:
        seen.push_finally.set()


async def test_the_log_says_when_the_close_frame_was_not_delivered(
    caplog: pytest.LogCaptureFixture, live_engine: str
) -> None:
    caplog.set_level(logging.INFO, logger="wsactors")
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([push], close_timeout=0.3)) as server:
            client = await StallingClient.open(server, "/push")
            async with client.stream:
                await seen.push_finally.wait()  # send_timeout stopped the handler
                # Longer than close_timeout: the flush gives up; then the client leaves
                # without ever reading, so no close frame ever reached it.
                await trio.sleep(1.0)
                await client.abort()
            while "close frame not delivered" not in caplog.text:  # noqa: ASYNC110 - a log
                await trio.sleep(0.01)
    [line] = [m for m in caplog.messages if m.startswith("closed '/push'")]
    if live_engine == "hypercorn":
        # hypercorn's write cannot be aborted: the 1008 waits behind it, then the
        # flush gives up after close_timeout.
        assert "close frame not delivered: the client did not read for 0.3 s" in line
    else:
        # The native engine aborts the stalled write itself (docs/engines.md).
        assert "close frame not delivered: the transport failed: SendTimeoutError: " in line
        assert "a write stalled for 0.3 s" in line
    assert "code=1008" not in line
    assert "by the client" not in line


async def test_the_log_gives_the_code_the_client_received(
    caplog: pytest.LogCaptureFixture, live_engine: str
) -> None:
    caplog.set_level(logging.INFO, logger="wsactors")
    with trio.fail_after(DEADLINE):
        async with LiveServer(APP) as server:
            async with server.connect("/tight") as ws:
                await ws.send_message("too long")
                close = await close_of(ws)
            await seen.ended.wait()
            while "closed '/tight'" not in caplog.text:  # noqa: ASYNC110 - a log
                await trio.sleep(0.01)
    assert close.code == 1009
    [line] = [m for m in caplog.messages if m.startswith("closed '/tight'")]
    assert line.startswith("closed '/tight' code=1009 reason='message too big: 8 bytes > 4' ")
    # On hypercorn the runtime checks the size and closes; the native engine checks
    # it from the frame header and closes itself (docs/close-codes.md).
    assert ("(by the engine: message too big)" in line) == (live_engine == "native")
    assert "by the client" not in line


# --------------------------------------------------------------------- accept() headers
@websocket("/bad-headers")
async def bad_headers(socket: WebSocket) -> None:
    for headers in (
        {"x-ok": "a\r\nb"},
        {"x-ok": "nul\x00"},
        {"x-ok": "snowman \u2603"},
        {"bad name": "v"},
        [("x-lf\n", "v")],
    ):
        try:
            await socket.accept(headers=headers)
        except ValueError as exc:
            seen.errors.append(str(exc))
    assert socket.connection_state == "init"
    await socket.accept(headers={"x-ok": "fine"})
    await socket.send_text("\n".join(seen.errors))


async def test_invalid_accept_headers_raise_value_error_naming_the_header() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([bad_headers])) as server, server.connect("/bad-headers") as ws:
            errors = str(await ws.get_message()).split("\n")
    assert len(errors) == 5
    assert all("'x-ok'" in error for error in errors[:3])
    assert "CR, LF, NUL" in errors[0]
    assert "CR, LF, NUL" in errors[1]
    assert "latin-1" in errors[2]
    assert "'bad name'" in errors[3]
    assert "'x-lf\\n'" in errors[4]
