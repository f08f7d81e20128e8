"""``@websocket`` handlers end to end: a real hypercorn (Trio worker) on 127.0.0.1 and
trio-websocket clients over loopback TCP.

Every assertion is on what the client sees: frames, frame types, close codes and
reasons, HTTP statuses and bodies.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import trio
from e2e_helpers import boom, custom, deny, returns

from helpers import DEADLINE, http_get, read_until_close, rejection, response_headers
from wsactors import App, WebSocket, websocket
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]


# --------------------------------------------------------------------- the app
pushed_finalized: list[trio.Event] = []


@websocket("/echo")
async def echo(socket: WebSocket) -> None:
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)  # keeps the frame type


@websocket("/chat")
async def chat(socket: WebSocket) -> None:
    assert socket.subprotocols == ["chat.v1", "chat.v2"]
    await socket.accept(subprotocols="chat.v2", headers={"x-served-by": "wsactors"})
    await socket.send_text(socket.accepted_subprotocol or "")


@websocket("/long-reason")
async def long_reason(socket: WebSocket) -> None:
    await socket.accept()
    await socket.close(4000, "é" * 100)  # 200 bytes: must be cut to fit the close frame


@websocket("/push")
async def push(socket: WebSocket) -> None:
    finalized = trio.Event()
    pushed_finalized.append(finalized)
    await socket.accept()
    try:
        tick = 0
        while True:  # never receives
            await socket.send_text(f"tick {tick}")
            tick += 1
            # Then a long pause: only the disconnect watcher can stop it in time (the
            # next send, which would fail, is a minute away).
            await trio.sleep(0.05 if tick < 2 else 60)
    finally:
        finalized.set()


@websocket("/items/{id:int}")
async def items(socket: WebSocket, id: int, verbose: bool = False, tag: str = "none") -> None:
    await socket.accept()
    await socket.send_json({"id": id, "id_type": type(id).__name__, "verbose": verbose, "tag": tag})


# returns, boom, custom and deny come from e2e_helpers.py: testing/test_testclient_app.py too.
HANDLERS = [echo, chat, returns, boom, custom, long_reason, deny, push, items]


@pytest.fixture
async def server() -> AsyncIterator[LiveServer]:
    # A fresh App per test: no App state (drain flag, live connections) carries over.
    async with LiveServer(App(HANDLERS)) as live:
        yield live


# --------------------------------------------------------------------- handshake
async def test_accept_with_subprotocol_and_extra_headers(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/chat", subprotocols=["chat.v1", "chat.v2"]) as ws:
            assert ws.subprotocol == "chat.v2"
            headers = response_headers(ws)
            assert headers[b"x-served-by"] == b"wsactors"
            assert await ws.get_message() == "chat.v2"


async def test_deny_gives_the_http_status_and_body(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        rejected = await rejection(server, "/deny")
    assert rejected.status_code == 403
    assert rejected.body == b"members only"


async def test_unknown_path_gives_404(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        rejected = await rejection(server, "/nowhere")
    assert rejected.status_code == 404


async def test_path_parameter_of_the_wrong_type_gives_404(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        rejected = await rejection(server, "/items/abc")
    assert rejected.status_code == 404


async def test_bad_query_parameter_gives_400(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        rejected = await rejection(server, "/items/1?verbose=perhaps")
    assert rejected.status_code == 400
    assert b"verbose" in (rejected.body or b"")


# The native engine answers a plain GET on a WebSocket route without an http_app
# with 426 (test_native_serving.py::test_plain_http_without_an_http_app).
@pytest.mark.engine("hypercorn", reason="native answers plain HTTP on a route with 426")
async def test_http_get_gives_404(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        status, body = await http_get(server, "/echo")
    assert status.startswith(b"HTTP/1.1 404")
    assert body == b"Not Found"


# --------------------------------------------------------------------- messages
async def test_text_and_binary_echo_keep_their_frame_types(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/echo") as ws:
            await ws.send_message("héllo 😀")
            reply = await ws.get_message()
            assert reply == "héllo 😀"
            assert isinstance(reply, str)
            await ws.send_message(b"\x00\xffbinary")
            reply = await ws.get_message()
            assert reply == b"\x00\xffbinary"
            assert isinstance(reply, bytes)
            await ws.send_message("")
            assert await ws.get_message() == ""


async def test_a_thousand_messages_arrive_in_order(server: LiveServer) -> None:
    count = 1000
    with trio.fail_after(DEADLINE):
        async with server.connect("/echo") as ws:
            received: list[str | bytes] = []

            async def send_all() -> None:
                for n in range(count):
                    await ws.send_message(f"message {n}")

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send_all)
                for _ in range(count):
                    received.append(await ws.get_message())
    assert received == [f"message {n}" for n in range(count)]


async def test_fifty_concurrent_connections_echo_correctly(server: LiveServer) -> None:
    results: dict[int, list[str | bytes]] = {}

    async def client(n: int) -> None:
        async with server.connect("/echo") as ws:
            replies: list[str | bytes] = []
            for k in range(5):
                await ws.send_message(f"client {n} message {k}")
                replies.append(await ws.get_message())
            await ws.send_message(n.to_bytes(2, "big"))
            replies.append(await ws.get_message())
            results[n] = replies

    with trio.fail_after(2 * DEADLINE):  # fifty clients at once
        async with trio.open_nursery() as nursery:
            for n in range(50):
                nursery.start_soon(client, n)
    assert sorted(results) == list(range(50))
    for n, replies in results.items():
        assert replies == [f"client {n} message {k}" for k in range(5)] + [n.to_bytes(2, "big")]


async def test_path_and_query_parameters_are_typed_and_injected(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/items/42?verbose=true&tag=red") as ws:
            reply = json.loads(await ws.get_message())
        async with server.connect("/items/-7") as ws:
            defaults = json.loads(await ws.get_message())
    assert reply == {"id": 42, "id_type": "int", "verbose": True, "tag": "red"}
    assert defaults == {"id": -7, "id_type": "int", "verbose": False, "tag": "none"}


# --------------------------------------------------------------------- close codes
async def test_handler_return_closes_1000(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/return") as ws:
            messages, close = await read_until_close(ws)
    assert messages == ["bye"]
    assert close.code == 1000


async def test_exception_closes_1011_and_is_logged_once(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), trio.fail_after(DEADLINE):
        async with server.connect("/boom") as ws:
            messages, close = await read_until_close(ws)
    assert messages == []
    assert close.code == 1011
    assert close.reason == "Internal Server Error"  # no detail leaks without debug
    with_traceback = [r for r in caplog.records if r.exc_info and r.exc_info[1] is not None]
    assert len(with_traceback) == 1
    assert isinstance(with_traceback[0].exc_info[1], RuntimeError)  # type: ignore[index]
    assert "kaboom in handler" in caplog.text


async def test_websocket_exception_gives_its_code_and_reason(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/custom") as ws:
            _, close = await read_until_close(ws)
    assert close.code == 4003
    assert close.reason == "room is full"


async def test_long_close_reason_is_cut_on_a_character_boundary(server: LiveServer) -> None:
    with trio.fail_after(DEADLINE):
        async with server.connect("/long-reason") as ws:
            _, close = await read_until_close(ws)
    # 61 x "é" is 122 bytes; a 62nd would exceed the 123-byte limit of RFC 6455 5.5.
    assert close.code == 4000
    assert close.reason == "é" * 61


#: The server-wide message size limit: hypercorn's own option, or the native
#: engine's default for routes that set no max_message_size (docs/engines.md).
SERVER_LIMIT: dict[str, dict[str, Any]] = {
    "hypercorn": {"websocket_max_message_size": 1024},
    "native": {"default_max_message_size": 1024},
}


async def test_message_over_the_server_limit_closes_1009_and_others_go_on(
    live_engine: str,
) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(App(HANDLERS), **SERVER_LIMIT[live_engine]) as server,
            server.connect("/echo") as bystander,
            server.connect("/echo") as offender,
        ):
            await offender.send_message("x" * 1024)  # at the limit: fine
            assert await offender.get_message() == "x" * 1024
            await offender.send_message("x" * 2048)
            _, close = await read_until_close(offender)
            assert close.code == 1009
            await bystander.send_message("still here")
            assert await bystander.get_message() == "still here"


async def test_push_only_handler_stops_within_a_second_of_the_client_leaving(
    server: LiveServer,
) -> None:
    pushed_finalized.clear()
    with trio.fail_after(DEADLINE):
        async with server.connect("/push") as ws:
            assert await ws.get_message() == "tick 0"
            assert await ws.get_message() == "tick 1"
        # The client has closed: the handler never receives, yet it must stop.
        assert len(pushed_finalized) == 1
    with trio.fail_after(1):
        await pushed_finalized[0].wait()


async def test_many_clients_leaving_push_handlers_all_stop(server: LiveServer) -> None:
    pushed_finalized.clear()

    async def client() -> None:
        async with server.connect("/push") as ws:
            await ws.get_message()

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            for _ in range(10):
                nursery.start_soon(client)
    with trio.fail_after(1):
        for finalized in pushed_finalized:
            await finalized.wait()
    assert len(pushed_finalized) == 10
