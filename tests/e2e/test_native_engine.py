"""What the native engine guarantees beyond hypercorn (issue 11, item 3), end to end.

Every test runs ``LiveServer(app, engine="native")`` on 127.0.0.1 and talks to it
with trio-websocket, or with raw bytes (wsproto for the handshake) where a test
needs a peer that misbehaves: sends a bad frame, never answers a ping, never reads.
These behaviours are the native engine's: hypercorn reports 1006 for every client
close, drops the TCP connection without a close frame on bad input, never checks
pongs, and shields its writes (docs/engines.md). The handshake, plain HTTP, TLS and
processes are in ``test_native_serving.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from native_helpers import DEADLINE, RawClient, closes, echo, events, hold, native
from trio_websocket import open_websocket_url
from wsproto.events import Ping

from helpers import open_non_reader, wait_until
from wsactors import App, WebSocket, websocket, websocket_listener
from wsactors.handlers import WebSocketRouteHandler

# The native engine's own guarantees: each test builds its server with engine="native".
pytestmark = [pytest.mark.engine("native"), pytest.mark.usefixtures("live_engine")]


@pytest.fixture(autouse=True)
def _clear_events() -> None:
    events.clear()


def _bye(socket: WebSocket) -> None:
    events.append(("on_disconnect", socket.close_code, socket.close_reason))


@websocket_listener("/listen", on_disconnect=_bye)
async def listen(data: str) -> str:
    return data.upper()


# ----------------------------------------------------------------- basics
async def test_echo_round_trips_text_and_bytes() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server, server.connect("/echo") as ws:
            await ws.send_message("héllo")
            assert await ws.get_message() == "héllo"
            await ws.send_message(b"\x00\xff")
            assert await ws.get_message() == b"\x00\xff"


async def test_a_listener_runs_unchanged() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([listen])) as server, server.connect("/listen") as ws:
            await ws.send_message("abc")
            assert await ws.get_message() == "ABC"


async def test_a_clients_ping_is_answered_while_the_handler_is_idle() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([hold])) as server, server.connect("/hold") as ws:
            await ws.ping(b"are you there")  # returns once the pong arrived


# ----------------------------------------------------------------- close codes
async def test_the_clients_close_code_and_reason_reach_the_handler() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo, listen])) as server:
            async with server.connect("/echo") as ws:
                await ws.aclose(4001, "bye")
            async with server.connect("/listen") as ws:
                await ws.aclose(4001, "bye")
            await wait_until(lambda: len(events) >= 3)
    assert ("disconnect", 4001, "bye") in events
    assert ("close_code", 4001, "bye") in events
    assert ("on_disconnect", 4001, "bye") in events


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        # A reserved opcode (0x3): a framing error.
        ([(0x3, b"", True)], 1002),
        # A continuation frame with no message open.
        ([(0x0, b"x", True)], 1002),
        # Invalid UTF-8 in a text frame.
        ([(0x1, b"ok \xff", True)], 1007),
        # Invalid UTF-8 in the first fragment: closed at once, before the message ends.
        ([(0x1, b"\xc3\x28", False)], 1007),
    ],
    ids=["reserved-opcode", "stray-continuation", "bad-utf8", "bad-utf8-first-fragment"],
)
async def test_bad_input_closes_with_a_close_frame_then_the_tcp_connection(
    frames: list[tuple[int, bytes, bool]], code: int
) -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                for opcode, payload, fin in frames:
                    await client.send_frame(opcode, payload, fin=fin)
                seen = await client.read_events()  # returns once the server closed TCP
            await wait_until(lambda: any(e[0] == "close_code" for e in events))
    assert [c for c, _ in closes(seen)] == [code]
    assert ("close_code", code) == next(e for e in events if e[0] == "close_code")[:2]


@pytest.mark.parametrize(
    ("bad", "code"),
    [((0x3, b"", True), 1002), ((0x1, b"\xff", True), 1007), ((0x0, b"x", True), 1002)],
    ids=["reserved-opcode", "bad-utf8", "stray-continuation"],
)
async def test_replies_to_what_came_before_a_bad_frame_go_out_before_the_close(
    bad: tuple[int, bytes, bool], code: int
) -> None:
    # Autobahn 3.2, 4.1.3, 5.15 (strict): the message before the bad frame, sent in
    # the same write, is echoed, then the connection is failed with its close code;
    # nothing after the bad frame is read (the ping gets no pong).
    opcode, payload, fin = bad
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                burst = client.frame(0x1, b"first") + client.frame(opcode, payload, fin=fin)
                await client.stream.send_all(burst + client.frame(0x9, b"ping?"))
                seen = await client.read_events()
            await wait_until(lambda: any(e[0] == "close_code" for e in events))
    assert [type(e).__name__ for e in seen] == ["TextMessage", "CloseConnection"]
    assert seen[0].data == "first"
    assert closes(seen)[0][0] == code
    assert ("disconnect", code) == events[0][:2]
    assert ("close_code", code) == events[1][:2]


async def test_a_bad_frame_closes_at_once_when_the_handler_is_not_reading() -> None:
    # Nothing to answer: the held failure does not wait for the handler (it is
    # cancelled, as when the peer leaves), and the close code is the engine's.
    @websocket("/sleep")
    async def sleep(socket: WebSocket) -> None:
        await socket.accept()
        try:
            await trio.sleep_forever()
        finally:
            events.append(("close_code", socket.close_code))

    with trio.fail_after(DEADLINE):
        async with native(App([sleep])) as server:
            client = await RawClient.open(server, "/sleep")
            async with client.stream:
                await client.send_frame(0x3, b"")
                seen = await client.read_events()
            await wait_until(lambda: bool(events))
    assert [c for c, _ in closes(seen)] == [1002]
    assert events == [("close_code", 1002)]


async def test_invalid_utf8_closes_before_the_rest_of_its_frame_arrives() -> None:
    # Autobahn 6.4.3: the bad byte arrives in the middle of one frame, whose end
    # never comes here; the close must not wait for it (RFC 6455 section 8.1).
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                frame = client.frame(0x1, "κόσμε".encode() + b"\xf4\x90\x80\x80" + b"x" * 1000)
                await client.stream.send_all(frame[:20])
                await trio.sleep(0.05)  # a separate read
                await client.stream.send_all(frame[20:30])
                seen = await client.read_events()  # the server closes; the rest is never sent
    assert closes(seen) == [(1007, "invalid UTF-8 at byte 10")]


async def test_frames_sent_with_the_handshake_request_are_not_lost() -> None:
    # RFC 6455 section 4.1 tells clients to wait for the 101; one that does not
    # still has its message delivered, and the frame scanner stays in step.
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            stream = await trio.open_tcp_stream(server.host, server.port)
            async with stream:
                request = (
                    f"GET /echo HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
                text = "ça va".encode()
                frame = RawClient.frame(0x1, text)
                # The request, a whole frame and the start of a second one in one write.
                second = RawClient.frame(0x1, b"yyyy\xff" + b"y" * 200)
                await stream.send_all(request + frame + second[:12])
                seen = b""
                while b"\r\n\r\n" not in seen:
                    seen += await stream.receive_some(4096)
                head, _, rest = seen.partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 101")
                while len(rest) < 8:  # the echo
                    rest += await stream.receive_some(4096)
                # More of the second frame, in a read of its own: checked as it arrives.
                await stream.send_all(second[12:20])
                while b"\x88" not in rest:  # until the close frame
                    chunk = await stream.receive_some(4096)
                    assert chunk
                    rest += chunk
    # The echo of the first message, then a 1007 for the bad byte of the second.
    assert rest.startswith(b"\x81\x06" + text)
    assert b"invalid UTF-8 at byte 4" in rest


async def test_a_fragmented_message_with_valid_utf8_split_inside_a_character() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                text = "é€😀".encode()
                await client.send_frame(0x1, text[:1], fin=False)
                await client.send_frame(0x0, text[1:4], fin=False)
                await client.send_frame(0x0, text[4:], fin=True)
                while True:
                    client.conn.receive_data(await client.stream.receive_some(4096))
                    got = [e for e in client.conn.events() if hasattr(e, "data")]
                    if got:
                        break
    assert got[0].data == "é€😀"


async def test_one_read_of_many_frames_is_handed_out_whole_and_in_order() -> None:
    # 3000 masked frames in one write: more than one 16 KiB slice of a read, and a
    # 40 KB frame that spans slices.
    with trio.fail_after(DEADLINE):
        async with native(App([echo])) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                burst = [client.frame(0x1, str(n % 10).encode()) for n in range(3000)]
                burst.append(client.frame(0x2, b"z" * 40000))
                await client.stream.send_all(b"".join(burst))
                got: list[Any] = []
                while len(got) < 3001:
                    client.conn.receive_data(await client.stream.receive_some(65536))
                    got.extend(e.data for e in client.conn.events() if hasattr(e, "data"))
    assert got[:3000] == [str(n % 10) for n in range(3000)]
    assert got[3000] == b"z" * 40000


# ----------------------------------------------------------------- sizes
async def test_too_big_closes_1009_and_a_peer_that_keeps_sending_is_cut_off() -> None:
    app = App([echo], max_message_size=1000, close_timeout=0.5)
    with trio.fail_after(DEADLINE):
        async with native(app, close_timeout=0.5) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                # Fragments whose running size passes the limit: refused on the
                # header of the frame that would cross it, before it is buffered.
                await client.send_frame(0x2, b"x" * 600, fin=False)
                await client.send_frame(0x0, b"x" * 600, fin=False)
                cut_off = False
                with trio.move_on_after(3.0):
                    try:
                        while True:  # keeps sending and never answers the close
                            await client.send_frame(0x0, b"y" * 60000, fin=False)
                    except (trio.BrokenResourceError, trio.ClosedResourceError):
                        cut_off = True
                assert cut_off, "the server kept reading from a peer after its 1009"
                seen = await client.read_events()
    assert [c for c, _ in closes(seen)] == [1009]


async def test_too_many_fragments_close_1009() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), max_fragments=3) as server:
            client = await RawClient.open(server, "/echo")
            async with client.stream:
                for _ in range(4):
                    await client.send_frame(0x0 if _ else 0x1, b"a", fin=False)
                seen = await client.read_events()
    assert closes(seen) == [(1009, "more than 3 fragments in a message")]


# ----------------------------------------------------------------- keepalive
@websocket("/latency")
async def latency(socket: WebSocket) -> None:
    await socket.accept()
    async for _ in socket.iter_messages():
        await socket.send_text(repr(socket.latency))


async def test_keepalive_measures_latency_with_a_client_that_answers() -> None:
    with trio.fail_after(DEADLINE):
        async with (
            native(App([latency]), ping_interval=0.1) as server,
            server.connect("/latency") as ws,
        ):
            await trio.sleep(0.35)  # trio-websocket answers the pings
            await ws.send_message("?")
            answer = await ws.get_message()
    assert isinstance(answer, str)
    assert answer != "None"
    assert 0 <= float(answer) < 0.1


async def test_a_frozen_peer_is_closed_1011_and_aborted() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([echo]), ping_interval=0.2, ping_timeout=0.3) as server:
            client = await RawClient.open(server, "/echo")
            # The client reads but never answers (wsproto queues pongs we never send).
            started = trio.current_time()
            async with client.stream:
                seen = await client.read_events()
            took = trio.current_time() - started
            await wait_until(lambda: any(e[0] == "close_code" for e in events))
    assert any(isinstance(e, Ping) for e in seen)
    assert closes(seen) == [(1011, "keepalive ping timeout")]
    assert ("close_code", 1011, "keepalive ping timeout") in events
    assert 0.4 < took < 3.0, took  # ping at 0.2 s, pong due at 0.5 s


# ----------------------------------------------------------------- stalled writes
def _stalling_writer(path: str, *, first_receive: bool) -> WebSocketRouteHandler:
    """A handler that writes 64 KiB chunks until a write stalls past 0.5 s.

    With ``first_receive`` it waits for one message before writing. It records
    ``"<name> finally"`` in :data:`events` when it ends.
    """

    @websocket(path, send_timeout=0.5)
    async def writer(socket: WebSocket) -> None:
        await socket.accept()
        if first_receive:
            await socket.receive_message()
        try:
            while True:
                await socket.send_bytes(b"x" * 65536)
        finally:
            events.append(f"{path.lstrip('/')} finally")

    return writer


firehose = _stalling_writer("/firehose", first_receive=False)
later = _stalling_writer("/later", first_receive=True)


async def test_a_write_stalled_past_send_timeout_aborts_the_connection() -> None:
    with trio.fail_after(DEADLINE):
        async with native(App([firehose])) as server:
            stream = await open_non_reader(server, "/firehose")
            async with stream:
                # send_timeout 0.5 s, far shorter than the keepalive interval (20 s)
                # the connection's timer sleeps for: the stalled write wakes it.
                with trio.fail_after(3.0):
                    await wait_until(lambda: "firehose finally" in events)
                # The server reset the connection: reading ends (after the buffered data).
                with trio.fail_after(3.0):
                    try:
                        while await stream.receive_some(1 << 20):
                            pass
                    except trio.BrokenResourceError:
                        pass


async def test_a_write_that_stalls_on_an_idle_connection_is_aborted_too() -> None:
    # The connection is idle first, so its timer sleeps until the next keepalive
    # ping (20 s away); the write that then stalls must wake it after 0.5 s.
    with trio.fail_after(DEADLINE):
        async with native(App([later])) as server:
            client = await RawClient.open(server, "/later")
            async with client.stream:
                await trio.sleep(0.3)
                await client.send_frame(0x1, b"go")
                with trio.fail_after(3.0):
                    await wait_until(lambda: "later finally" in events)


async def test_shutdown_is_bounded_with_a_client_that_never_reads() -> None:
    @websocket("/push")
    async def push(socket: WebSocket) -> None:
        await socket.accept()
        while True:
            await socket.send_bytes(b"x" * 65536)

    app = App([push], shutdown_timeout=0.5, close_timeout=0.5)
    with trio.fail_after(DEADLINE):
        server = native(app, graceful_timeout=0.5, close_timeout=0.5, stop_timeout=5.0)
        async with server:
            stream = await open_non_reader(server, "/push")
            await trio.sleep(0.3)  # the client's receive window fills
            stopping = trio.current_time()
        took = trio.current_time() - stopping
        await stream.aclose()
    assert took < 0.5 + 0.5 + 1.0, took  # graceful + close, and slack


# ----------------------------------------------------------------- server-wide budget
async def test_past_the_buffer_budget_an_unfinished_message_pauses_then_closes_1013() -> None:
    budget = 64 * 1024
    with trio.fail_after(DEADLINE):
        async with native(
            App([echo]), max_buffered_bytes=budget, buffer_pause_timeout=0.5
        ) as server:
            hog = await RawClient.open(server, "/echo")
            async with hog.stream:
                # Half of a 256 KiB frame: more than the whole server may hold.
                frame = hog.frame(0x2, b"x" * 256 * 1024)
                await hog.stream.send_all(frame[: 128 * 1024])
                # Meanwhile a client whose messages are whole is still served.
                async with open_websocket_url(server.url_for("/echo")) as other:
                    for _ in range(3):
                        await other.send_message("still here")
                        assert await other.get_message() == "still here"
                seen = await hog.read_events()
    assert closes(seen) == [(1013, "Try Again Later: the server's buffers are full")]
