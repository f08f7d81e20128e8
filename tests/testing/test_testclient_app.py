"""The key ``@websocket`` behaviours through the in-process ``TestClient``.

The same App shapes as ``tests/e2e/test_websocket_e2e.py``, without sockets: the client
drives the App over ASGI in the test's own Trio run. Every wait is bounded by the
client's timeout or an explicit ``fail_after``.
"""

from __future__ import annotations

import logging

import pytest
import trio
from e2e_helpers import boom, custom, deny, returns
from native_helpers import echo, events

from helpers import DEADLINE, refusal
from wsactors import App, WebSocket, WebSocketDisconnect, websocket
from wsactors.testing import TestClient, TestClientTimeout, WebSocketDenied


@websocket("/chat")
async def chat(socket: WebSocket) -> None:
    await socket.accept(subprotocols="chat.v2", headers=[("X-Served-By", "wsactors")])
    await socket.send_text(f"{socket.accepted_subprotocol} {socket.headers['x-user']}")


@websocket("/close")
async def close(socket: WebSocket) -> None:
    await socket.accept()
    await socket.close(4000, "x" * 200)


@websocket("/never")
async def never(socket: WebSocket) -> None:
    await trio.sleep_forever()


@websocket("/items/{id:int}")
async def items(socket: WebSocket, id: int, verbose: bool = False) -> None:
    await socket.accept()
    await socket.send_json({"id": id, "verbose": verbose})


# returns, boom, custom and deny come from e2e_helpers.py: e2e/test_websocket_e2e.py too.
HANDLERS = [echo, chat, returns, boom, custom, close, deny, never, items]


@pytest.fixture
def app() -> App:
    """A fresh App per test (see the lifespan-restart test at the end)."""
    return App(HANDLERS)


async def test_echo_keeps_frame_types(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client, client.websocket_connect("/echo") as ws:
            await ws.send_text("héllo")
            assert await ws.receive_text() == "héllo"
            await ws.send_bytes(b"\x00\xff")
            assert await ws.receive_bytes() == b"\x00\xff"
            await ws.send_json({"a": [1, 2]})
            assert await ws.receive_json() == {"a": [1, 2]}


async def test_the_handler_sees_the_client_close_code(app: App) -> None:
    events.clear()
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client, client.websocket_connect("/echo") as ws:
            await ws.send_text("ping")
            assert await ws.receive_text() == "ping"
            await ws.close(4001)
    assert [e[:2] for e in events if e[0] == "disconnect"] == [("disconnect", 4001)]
    assert [e[:2] for e in events if e[0] == "close_code"] == [("close_code", 4001)]


async def test_subprotocol_and_headers(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            TestClient(app) as client,
            client.websocket_connect(
                "/chat", subprotocols=["chat.v1", "chat.v2"], headers={"X-User": "ann"}
            ) as ws,
        ):
            assert ws.accepted_subprotocol == "chat.v2"
            assert (b"x-served-by", b"wsactors") in ws.extra_headers
            assert await ws.receive_text() == "chat.v2 ann"


async def test_handler_return_closes_1000(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client, client.websocket_connect("/return") as ws:
            assert await ws.receive_text() == "bye"
            with pytest.raises(WebSocketDisconnect) as caught:
                await ws.receive_text()
    assert caught.value.code == 1000


async def test_exception_closes_1011_internal_server_error(
    app: App, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO), trio.fail_after(DEADLINE):
        async with TestClient(app) as client, client.websocket_connect("/boom") as ws:
            message = await ws.receive()
    assert message == {"type": "websocket.close", "code": 1011, "reason": "Internal Server Error"}
    with_traceback = [r for r in caplog.records if r.exc_info and r.exc_info[1] is not None]
    assert len(with_traceback) == 1


async def test_websocket_exception_gives_its_code_and_reason(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client, client.websocket_connect("/custom") as ws:
            with pytest.raises(WebSocketDisconnect) as caught:
                await ws.receive_text()
    assert caught.value.code == 4003
    assert caught.value.reason == "room is full"


async def test_server_close_reason_is_truncated_to_123_bytes(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client, client.websocket_connect("/close") as ws:
            message = await ws.receive()
    assert message["code"] == 4000
    assert message["reason"] == "x" * 123


async def test_deny_raises_the_denial_with_status_and_body(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client:
            denied = await refusal(client, WebSocketDenied, "/deny")
    assert denied.status_code == 403
    assert denied.body == b"members only"


async def test_unknown_path_is_a_404_denial(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client:
            denied = await refusal(client, WebSocketDenied, "/nowhere")
    assert denied.status_code == 404


async def test_bad_query_parameter_is_a_400_denial(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client:
            denied = await refusal(client, WebSocketDenied, "/items/3?verbose=perhaps")
    assert denied.status_code == 400


async def test_path_and_query_parameters(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with (
            TestClient(app) as client,
            client.websocket_connect("/items/12", params={"verbose": "yes"}) as ws,
        ):
            assert await ws.receive_json() == {"id": 12, "verbose": True}


async def test_a_handler_that_never_accepts_fails_the_connect_in_time(app: App) -> None:
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client:
            start = trio.current_time()
            await refusal(client, TestClientTimeout, "/never", timeout=0.3)
            assert trio.current_time() - start < 2.0
            # The client is still usable afterwards.
            async with client.websocket_connect("/echo") as ws:
                await ws.send_text("after")
                assert await ws.receive_text() == "after"


async def test_an_app_serves_again_after_a_lifespan_restart(app: App) -> None:
    """Regression: the lifespan shutdown's drain left the App denying every later
    handshake with HTTP 503, so an App served twice (one client per test) broke."""
    with trio.fail_after(DEADLINE):
        async with TestClient(app) as client, client.websocket_connect("/echo") as ws:
            await ws.send_text("first run")
            assert await ws.receive_text() == "first run"
        async with TestClient(app) as client, client.websocket_connect("/echo") as ws:
            await ws.send_text("second run")
            assert await ws.receive_text() == "second run"
