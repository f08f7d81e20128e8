"""``WebSocketListener`` end to end: one instance per connection, hooks, class options.

No ``from __future__ import annotations``: listener classes are defined inside the
tests (closures over what each test records) and their annotations must resolve.
"""

from typing import Any

import pytest
import trio
from e2e_helpers import FixedWebSocket, User

from helpers import DEADLINE, ask, ask_json, close_of, response_headers
from wsactors import DTO, App, Provide, Router, WebSocket, WebSocketListener
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

#: Deadline of every test (seconds).


async def accept_with_header(socket: WebSocket) -> None:
    await socket.accept(subprotocols=socket.subprotocols[0], headers=[("x-listener", "class")])


# ---------------------------------------------------------------- the seed's example
async def test_sync_class_listener() -> None:
    events: list[Any] = []
    disconnected = trio.Event()

    class Handler(WebSocketListener):
        path = "/"

        def on_connect(self, socket: WebSocket) -> None:
            events.append(("connect", socket.connection_state))

        def on_disconnect(self, socket: WebSocket) -> None:
            events.append("disconnect")
            disconnected.set()

        def on_receive(self, data: str) -> str:
            events.append(data)
            return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler])) as server:
            async with server.connect("/") as ws:
                assert await ask(ws, "a") == "a"
                assert await ask(ws, "b") == "b"
            await disconnected.wait()
    assert events == [("connect", "connected"), "a", "b", "disconnect"]


async def test_async_class_listener() -> None:
    events: list[Any] = []
    disconnected = trio.Event()

    class Handler(WebSocketListener):
        path = "/"

        async def on_connect(self, socket: WebSocket) -> None:
            events.append("connect")
            await socket.send_data("welcome")

        async def on_disconnect(self, socket: WebSocket) -> None:
            await trio.lowlevel.checkpoint()
            events.append("disconnect")
            disconnected.set()

        async def on_receive(self, data: str) -> str:
            await trio.lowlevel.checkpoint()
            events.append(data)
            return data.upper()

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler])) as server:
            async with server.connect("/") as ws:
                assert await ws.get_message() == "welcome"
                assert await ask(ws, "a") == "A"
            await disconnected.wait()
    assert events == ["connect", "a", "disconnect"]


# ---------------------------------------------------------------- one instance per connection
async def test_each_connection_has_its_own_instance() -> None:
    class Counter(WebSocketListener):
        path = "/"

        def on_connect(self, socket: WebSocket) -> None:
            self.count = 0

        def on_receive(self, data: str) -> dict[str, Any]:
            self.count += 1
            return {"data": data, "count": self.count}

    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(App([Counter])) as server,
            server.connect("/") as first,
            server.connect("/") as second,
        ):
            for n in range(1, 4):
                assert await ask_json(first, "a") == {"data": "a", "count": n}
            assert await ask_json(second, "b") == {"data": "b", "count": 1}
            assert await ask_json(first, "a") == {"data": "a", "count": 4}
            assert await ask_json(second, "b") == {"data": "b", "count": 2}


async def test_self_socket_is_set_before_on_connect() -> None:
    class Handler(WebSocketListener):
        path = "/"

        def on_connect(self, socket: WebSocket) -> None:
            self.seen = getattr(self, "socket", None) is socket

        def on_receive(self, data: str, socket: WebSocket) -> dict[str, bool]:
            return {"before_connect": self.seen, "same": self.socket is socket}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler])) as server, server.connect("/") as ws:
            assert await ask_json(ws, "x") == {"before_connect": True, "same": True}


# ---------------------------------------------------------------- injection
async def test_on_receive_and_hooks_ask_for_dependencies() -> None:
    class Handler(WebSocketListener):
        path = "/{room:str}"
        dependencies = {"greeting": Provide(lambda: "hello")}  # noqa: RUF012

        async def on_connect(self, socket: WebSocket, who: str, room: str) -> None:
            await socket.send_data(f"{who} joined {room}")

        def on_receive(self, data: str, greeting: str, who: str) -> str:
            return f"{greeting} {who}: {data}"

    app = App([Router("/chat", [Handler], dependencies={"who": lambda: "router-level"})])
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/chat/lobby") as ws:
            assert await ws.get_message() == "router-level joined lobby"
            assert await ask(ws, "x") == "hello router-level: x"


# ---------------------------------------------------------------- class attributes
async def test_receive_mode_attribute() -> None:
    class Handler(WebSocketListener):
        path = "/"
        receive_mode = "binary"

        def on_receive(self, data: bytes, socket: WebSocket) -> dict[str, Any]:
            return {"got": data.decode(), "dropped": socket.statistics().dropped_frames}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler])) as server, server.connect("/") as ws:
            await ws.send_message("dropped")
            assert await ask_json(ws, b"kept") == {"got": "kept", "dropped": 1}


async def test_send_mode_attribute() -> None:
    class Handler(WebSocketListener):
        path = "/"
        send_mode = "binary"

        def on_receive(self, data: str) -> str:
            return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler])) as server, server.connect("/") as ws:
            assert await ask(ws, "é") == "é".encode()


async def test_websocket_class_attribute_beats_app_level() -> None:
    class Handler(WebSocketListener):
        path = "/own"
        websocket_class = FixedWebSocket

        def on_receive(self, data: str) -> str:
            return data

    class Plain(WebSocketListener):
        path = "/plain"

        def on_receive(self, data: str) -> str:
            return data

    class Tagging(WebSocket):
        async def receive_data(self, mode: Any = "text") -> str | bytes:
            return f"app:{(await super().receive_data(mode))!s}"

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler, Plain], websocket_class=Tagging)) as server:
            async with server.connect("/own") as ws:
                assert await ask(ws, "x") == "Fixed response"
            async with server.connect("/plain") as ws:
                assert await ask(ws, "x") == "app:x"


async def test_connection_accept_handler_attribute() -> None:
    class Handler(WebSocketListener):
        path = "/"
        connection_accept_handler = accept_with_header

        def on_receive(self, data: str) -> str:
            return data

    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(App([Handler])) as server,
            server.connect("/", subprotocols=["proto.a", "proto.b"]) as ws,
        ):
            assert ws.subprotocol == "proto.a"
            headers = response_headers(ws)
            assert headers[b"x-listener"] == b"class"
            assert await ask(ws, "x") == "x"


async def test_dto_attributes() -> None:
    class Handler(WebSocketListener):
        path = "/"
        dto = DTO(User, exclude={"id"})
        return_dto = DTO(User, exclude={"email"}, rename={"name": "userName"})

        def on_receive(self, data: User) -> User:
            return User(name=data.name, id=data.id + 1, email="hidden")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler])) as server, server.connect("/") as ws:
            reply = await ask_json(ws, '{"name": "ann", "id": 41}')
            # id was never read (default 0, +1); email is never written.
            assert reply == {"userName": "ann", "id": 1}


async def test_on_disconnect_runs_when_on_receive_raises() -> None:
    events: list[str] = []

    class Handler(WebSocketListener):
        path = "/"

        def on_receive(self, data: str) -> str:
            raise RuntimeError("on_receive failed")

        def on_disconnect(self, socket: WebSocket) -> None:
            events.append("disconnect")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler])) as server:
            async with server.connect("/") as ws:
                await ws.send_message("x")
                closed = await close_of(ws)
            assert (closed.code, closed.reason) == (1011, "Internal Server Error")
    assert events == ["disconnect"]


async def test_sync_to_thread_and_staticmethod_accept_handler() -> None:
    class Handler(WebSocketListener):
        path = "/"
        sync_to_thread = True

        @staticmethod
        async def connection_accept_handler(socket: WebSocket) -> None:
            await socket.accept(headers={"x-static": "yes"})

        def on_receive(self, data: str) -> dict[str, Any]:
            # A worker thread: no Trio run here.
            return {"data": data, "in_trio": _in_trio()}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([Handler])) as server, server.connect("/") as ws:
            headers = response_headers(ws)
            assert headers[b"x-static"] == b"yes"
            assert await ask_json(ws, "x") == {"data": "x", "in_trio": False}


def _in_trio() -> bool:
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
