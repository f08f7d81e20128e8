"""The transport ending the connection itself is not the client closing it.

The native engine fails a connection on its own (1002 framing, 1007 bad UTF-8,
1009 too big, 1011 keepalive) or aborts it (a stalled write, the shutdown): it
reports ``Disconnect(code, reason, by_peer=False)``. The handler sees that code,
but the log must not say the client closed, and ``closed_by_peer`` stays False.
"""

from __future__ import annotations

import logging

import pytest
import trio
import trio.testing
from runtime_harness import serving

from helpers import DEADLINE, wait_until
from wsactors import WebSocket, WebSocketDisconnect


def closed_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("closed ")]


@pytest.mark.parametrize(
    ("code", "reason", "what"),
    [
        (1002, "invalid opcode 3", "protocol error"),
        (1007, "invalid UTF-8", "invalid payload"),
        (1009, "message too big: 8 bytes > 4", "message too big"),
        (1011, "keepalive ping timeout", "internal error"),
    ],
)
async def test_an_engine_close_is_logged_as_the_engines(
    caplog: pytest.LogCaptureFixture, code: int, reason: str, what: str
) -> None:
    seen: list[WebSocketDisconnect] = []

    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await socket.receive_text()
        except WebSocketDisconnect as exc:
            seen.append(exc)
            raise

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            conn.transport.engine_fails(code, reason)
            await conn.wait_done()
    # The handler sees the code the engine closed with ...
    assert [(e.code, e.reason) for e in seen] == [(code, reason)]
    assert conn.socket.close_code == code
    # ... no close frame of the runtime's goes out (the engine sent its own) ...
    assert conn.transport.closes == []
    # ... and the log says who closed.
    [line] = closed_lines(caplog)
    assert line.startswith(f"closed '/ws' code={code} reason={reason!r} (by the engine: {what}) ")
    assert "by the client" not in line


async def test_an_engine_abort_is_not_delivered_and_not_the_clients(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.receive_text()

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            conn.transport.engine_fails(1006)
            await conn.wait_done()
    assert conn.socket.close_code == 1006
    [line] = closed_lines(caplog)
    assert line.startswith(
        "closed '/ws': close frame not delivered: the engine aborted the connection "
    )


async def test_a_client_close_is_still_the_clients(caplog: pytest.LogCaptureFixture) -> None:
    async def handler(socket: WebSocket) -> None:
        await socket.accept()
        await socket.receive_text()

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(handler) as conn:
            await trio.testing.wait_all_tasks_blocked()
            conn.transport.client_leaves(1002, "the client's own")
            with trio.fail_after(DEADLINE):
                await conn.wait_done()
    [line] = closed_lines(caplog)
    assert line.startswith("closed '/ws' by the client code=1002 reason=\"the client's own\" ")


# ===================================================================== a held failure
async def test_replies_to_messages_before_a_held_failure_still_go_out(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Failing: the peer's input is over (the handler drains what came before it,
    # then sees the engine's code), but its replies and the final close still go
    # out; the close the runtime hands over carries the engine's code.
    seen: list[WebSocketDisconnect] = []

    async def echo(socket: WebSocket) -> None:
        await socket.accept()
        try:
            while True:
                await socket.send_text((await socket.receive_text()).upper())
        except WebSocketDisconnect as exc:
            seen.append(exc)

    with caplog.at_level(logging.INFO, logger="wsactors"):
        async with serving(echo) as conn:
            conn.transport.client_sends("a")
            conn.transport.client_sends("b")
            conn.transport.engine_holds_a_failure(1002, "invalid opcode")
            with trio.fail_after(DEADLINE):
                await wait_until(lambda: bool(conn.transport.closes))
            conn.transport.client_leaves(1006)  # the TCP connection ends after it
            await conn.wait_done()
    assert conn.transport.data == ["A", "B"]
    assert conn.transport.closes == [(1002, "invalid opcode")]
    assert [(e.code, e.reason) for e in seen] == [(1002, "invalid opcode")]
    assert conn.socket.close_code == 1002
    [line] = closed_lines(caplog)
    assert "(by the engine: protocol error)" in line


async def test_a_held_failure_cancels_a_handler_that_is_not_reading(
    autojump_clock: trio.testing.MockClock,
) -> None:
    finished: list[float] = []

    async def busy(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await trio.sleep_forever()
        finally:
            finished.append(trio.current_time())

    async with serving(busy) as conn:
        await trio.sleep(1)
        failed_at = trio.current_time()
        conn.transport.engine_holds_a_failure(1007, "invalid UTF-8 at byte 0")
        with trio.fail_after(DEADLINE):
            await wait_until(lambda: bool(conn.transport.closes))
        conn.transport.client_leaves(1006)
        await conn.wait_done()
    assert finished[0] - failed_at < 0.01
    assert conn.transport.closes == [(1007, "invalid UTF-8 at byte 0")]
