"""Per-connection limits over real sockets: the LiveServer on 127.0.0.1 and
trio-websocket (or hand-driven wsproto) clients.

- ``max_message_size``: close 1009 "message too big: N bytes > M" (RFC 6455 7.4.1),
  at the App level, the handler level (the handler wins) and on ``WebSocketListener``
  class attributes;
- ``rate_limit`` with ``rate_limit_policy="close"``: close 1008 "rate limit exceeded";
- ``idle_timeout``: close 1001 "idle timeout" after that long without an inbound
  message;
- ``send_timeout``: a client that stopped reading gets 1008 "send timeout" (once it
  reads again) and the handler is stopped without waiting for it.

The rate-limit and idle-timeout rules are tested on a fake clock: on the runtime in
``tests/actors/test_policy.py`` (the drop policy, refills, each message resetting the
idle timer) and from handler options and class attributes in
``tests/handlers/test_limit_options.py``. Here one test of each proves the wiring
over real sockets.

The server runs in the test's own Trio run, so tests read the handlers' state
directly.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import trio

from helpers import DEADLINE, StallingClient, read_until_close, wait_until
from wsactors import App, WebSocket, WebSocketListener, websocket, websocket_listener
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]


# --------------------------------------------------------------------- the app
@dataclass
class Seen:
    """What the handlers saw, read by the tests (the server shares the Trio run)."""

    pushed: int = 0
    push_finally: trio.Event = field(default_factory=trio.Event)
    ended_after: dict[str, float] = field(default_factory=dict)
    ended: trio.Event = field(default_factory=trio.Event)  # set by /quiet at each end


seen = Seen()


@pytest.fixture(autouse=True)
def _fresh_seen() -> None:
    global seen
    seen = Seen()


APP_MAX = 1024


@websocket_listener("/echo")
async def echo(data: str) -> str:
    return data


@websocket_listener("/roomy", max_message_size=4096)
async def roomy(data: str) -> str:
    return data


@websocket_listener("/tight", max_message_size=16)
async def tight(data: str) -> str:
    return data


@websocket_listener("/rate-close", rate_limit=(5, 60.0))
async def rate_close(data: str) -> str:
    return data


@websocket_listener("/idle", idle_timeout=0.3)
async def idle(data: str) -> str:
    return data


async def _push_forever(socket: WebSocket) -> None:
    """Push 4 KiB binary messages as fast as the connection takes them.

    Unbounded on purpose: only the framework can stop it (the client leaving, a
    limit, or the server's drain at the end of every test).
    """
    await socket.accept()
    payload = b"x" * 4096
    try:
        while True:
            await socket.send_bytes(payload)
            seen.pushed += 1
    finally:
        seen.push_finally.set()


@websocket("/push", send_timeout=0.5)
async def push(socket: WebSocket) -> None:
    await _push_forever(socket)


@websocket("/push-untimed")
async def push_untimed(socket: WebSocket) -> None:
    """No send_timeout: a stalled client blocks this handler until it leaves."""
    await _push_forever(socket)


class SizedListener(WebSocketListener):
    path = "/class/sized"
    max_message_size = 8

    def on_receive(self, data: str) -> str:
        return data


HANDLERS = [echo, roomy, tight, rate_close, idle, push, push_untimed, SizedListener]


@pytest.fixture
async def server() -> AsyncIterator[LiveServer]:
    # A fresh App per server: the lifespan shutdown leaves an App draining.
    async with LiveServer(App(HANDLERS, max_message_size=APP_MAX)) as live:
        yield live


# --------------------------------------------------------------------- max_message_size
async def test_app_max_message_size_closes_1009_and_spares_other_connections(
    server: LiveServer,
) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/echo") as bystander, server.connect("/echo") as offender:
            await offender.send_message("x" * APP_MAX)  # at the limit: answered
            assert await offender.get_message() == "x" * APP_MAX
            await offender.send_message("x" * (APP_MAX + 1))
            messages, close = await read_until_close(offender)
            assert messages == []
            assert (close.code, close.reason) == (1009, "message too big: 1025 bytes > 1024")
            await bystander.send_message("still here")
            assert await bystander.get_message() == "still here"


async def test_max_message_size_counts_utf8_bytes_not_characters(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/echo") as ws:
            await ws.send_message("é" * 512)  # 512 characters, 1024 bytes: fits
            assert await ws.get_message() == "é" * 512
            await ws.send_message("é" * 513)  # 1026 bytes
            _, close = await read_until_close(ws)
    assert (close.code, close.reason) == (1009, "message too big: 1026 bytes > 1024")


async def test_binary_frames_count_against_max_message_size_too(server: LiveServer) -> None:
    # A text listener drops binary frames, but only after the size check.
    with trio.fail_after(DEADLINE):
        async with server.connect("/echo") as ws:
            await ws.send_message(b"\x00" * (APP_MAX + 7))
            _, close = await read_until_close(ws)
    assert (close.code, close.reason) == (1009, "message too big: 1031 bytes > 1024")


async def test_handler_max_message_size_wins_over_the_app_in_both_directions(
    server: LiveServer,
) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/roomy") as ws:
            await ws.send_message("r" * 4096)  # over the App's 1024, within the handler's
            assert await ws.get_message() == "r" * 4096
            await ws.send_message("r" * 4097)
            _, close = await read_until_close(ws)
        assert (close.code, close.reason) == (1009, "message too big: 4097 bytes > 4096")

        async with server.connect("/tight") as ws:
            await ws.send_message("t" * 16)
            assert await ws.get_message() == "t" * 16
            await ws.send_message("t" * 17)  # far under the App's 1024
            _, close = await read_until_close(ws)
        assert (close.code, close.reason) == (1009, "message too big: 17 bytes > 16")


# --------------------------------------------------------------------- rate_limit
async def test_rate_limit_close_policy_closes_1008_on_the_first_excess_message(
    server: LiveServer,
) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/rate-close") as ws, server.connect("/rate-close") as other:
            for n in range(5):  # the whole bucket
                await ws.send_message(f"m{n}")
                assert await ws.get_message() == f"m{n}"
            await ws.send_message("one too many")
            messages, close = await read_until_close(ws)
            assert messages == []
            assert (close.code, close.reason) == (1008, "rate limit exceeded")
            # Every connection has its own bucket.
            for n in range(5):
                await other.send_message(f"o{n}")
                assert await other.get_message() == f"o{n}"


# --------------------------------------------------------------------- idle_timeout
async def test_idle_timeout_closes_1001(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/idle") as ws:
            started = trio.current_time()
            messages, close = await read_until_close(ws)
            waited = trio.current_time() - started
    assert messages == []
    assert (close.code, close.reason) == (1001, "idle timeout")
    assert 0.25 <= waited < 2.0, waited


# --------------------------------------------------------------------- class attributes
async def test_listener_class_attributes_set_max_message_size(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/class/sized") as ws:
            await ws.send_message("12345678")
            assert await ws.get_message() == "12345678"
            await ws.send_message("123456789")
            _, close = await read_until_close(ws)
    assert (close.code, close.reason) == (1009, "message too big: 9 bytes > 8")


async def test_app_level_limits_reach_class_listeners_without_their_own() -> None:
    class Plain(WebSocketListener):
        path = "/plain"

        def on_receive(self, data: str) -> str:
            return data

    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(App([Plain], max_message_size=4, rate_limit=(50, 60.0))) as server,
            server.connect("/plain") as ws,
        ):
            await ws.send_message("four")
            assert await ws.get_message() == "four"
            await ws.send_message("fives")
            _, close = await read_until_close(ws)
    assert (close.code, close.reason) == (1009, "message too big: 5 bytes > 4")


# --------------------------------------------------------------------- send_timeout
async def _wait_until_pushing_stalls(window: float = 0.3) -> int:
    """Wait until the push handler has queued nothing new for ``window`` seconds."""
    last = -1
    while seen.pushed != last or last <= 0:
        last = seen.pushed
        await trio.sleep(window)
    return last


async def test_send_timeout_stops_the_handler_and_closes_1008(
    server: LiveServer, live_engine: str
) -> None:
    # hypercorn shields its socket writes (TCPServer.protocol_send), so a timeout
    # around ASGI send() could never fire; this pins the behaviour that works.
    # The native engine aborts the stalled write itself (docs/engines.md).
    client = await StallingClient.open(server, "/push")
    async with client.stream:
        with trio.fail_after(DEADLINE):
            await _wait_until_pushing_stalls()
        # The client still reads nothing: the stalled send must end the handler
        # within send_timeout (0.5 s) and a little slack.
        with trio.move_on_after(3.0):
            await seen.push_finally.wait()
        assert seen.push_finally.is_set(), f"handler still blocked after {seen.pushed} sends"
        with trio.fail_after(DEADLINE):
            if live_engine == "hypercorn":
                # Reading again, the client gets what was queued, then the close frame.
                _, close = await client.read_until_close()
                assert close is not None
                assert (close.code, close.reason) == (1008, "send timeout")
            else:
                # The stalled write was aborted (a half-sent frame cannot be
                # finished): the client reads what the kernel held, then a reset.
                with pytest.raises(trio.BrokenResourceError):
                    await client.read_until_close()


async def test_a_client_that_stops_reading_blocks_only_its_own_handler(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Without send_timeout, a handler pushing to a client that reads nothing blocks
    # on send and stays blocked (memory stays bounded, see test_backpressure.py);
    # every other connection is served as usual; and the moment the stalled client
    # goes away the handler's finally runs and the server logs the closed connection.
    caplog.set_level(logging.INFO, logger="wsactors")
    client = await StallingClient.open(server, "/push-untimed")
    async with client.stream:
        with trio.fail_after(DEADLINE):
            stalled_at = await _wait_until_pushing_stalls()
            async with server.connect("/echo") as other:
                started = trio.current_time()
                for n in range(50):
                    await other.send_message(f"ping {n}")
                    assert await other.get_message() == f"ping {n}"
                assert trio.current_time() - started < 2.0
            assert seen.pushed == stalled_at  # still blocked: nothing read
            assert not seen.push_finally.is_set()
            await client.abort()
        with trio.fail_after(2.0):
            await seen.push_finally.wait()
    with trio.fail_after(DEADLINE):
        await wait_until(lambda: "closed '/push-untimed' " in caplog.text)  # a log, no event
    assert "Traceback" not in caplog.text


# --------------------------------------------------------------------- dead peers
@websocket("/quiet")
async def quiet(socket: WebSocket) -> None:
    """Never sends; records when it learns that its client is gone."""
    await socket.accept()
    started = trio.current_time()
    try:
        async for _ in socket.iter_messages():
            pass
    finally:
        seen.ended_after[socket.query_params.get("who", "?")] = trio.current_time() - started
        seen.ended.set()


# hypercorn's own websocket_ping_interval and read_timeout options; the native
# engine's keepalive (ping_timeout, 1011) is tested in test_native_engine.py
# (test_a_frozen_peer_is_closed_1011_and_aborted).
@pytest.mark.engine("hypercorn", reason="hypercorn's websocket_ping_interval and read_timeout")
async def test_hypercorn_pings_and_read_timeout_detect_a_silent_peer() -> None:
    # ASGI gives the app no pong events. hypercorn's websocket_ping_interval makes the
    # server ping; a live client's pongs are reads, so hypercorn's read_timeout drops
    # only a peer that has gone silent (docs/limits-and-security.md).
    app = App([quiet])
    with trio.fail_after(DEADLINE):
        async with LiveServer(app, websocket_ping_interval=0.2, read_timeout=1.0) as server:
            silent = await StallingClient.open(server, "/quiet?who=silent")
            async with silent.stream, trio.open_nursery() as nursery:

                async def read_and_never_answer() -> None:
                    while await silent.stream.receive_some(4096):
                        pass  # pings arrive; no pong is ever sent

                nursery.start_soon(read_and_never_answer)
                async with server.connect("/quiet?who=live") as live:  # answers pings
                    live_since = trio.current_time()
                    with trio.fail_after(2.0):
                        await seen.ended.wait()  # the first to end: the silent one
                    assert list(seen.ended_after) == ["silent"], seen.ended_after
                    assert 0.8 <= seen.ended_after["silent"] < 2.0, seen.ended_after
                    # The live one outlasts two read timeouts: its pongs count as reads.
                    # Time itself is what is tested here, so this waits for it to pass.
                    await trio.sleep_until(live_since + 2.0)
                    assert "live" not in seen.ended_after
                    await live.ping()  # still connected
                nursery.cancel_scope.cancel()
