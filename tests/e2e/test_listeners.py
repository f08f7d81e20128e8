"""``@websocket_listener`` end to end: hypercorn on loopback, a trio-websocket client.

Every test builds its own App (handlers are closures over what the test records)
and asserts on what the client sees: payloads, frame types, close codes and
reasons.

No ``from __future__ import annotations``: handler annotations are real types, so
local classes and closures resolve without a module namespace lookup.
"""

import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple, Optional, TypedDict

import attrs
import pytest
import trio
from e2e_helpers import FixedWebSocket, User

from helpers import (
    DEADLINE,
    ask,
    ask_json,
    close_after,
    close_of,
    echo_listener,
    receive_json,
    rejection,
    response_headers,
)
from wsactors import DTO, App, Router, WebSocket, WebSocketException, websocket_listener
from wsactors.handlers import ListenerRouteHandler
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

#: Deadline of every test (seconds); nothing here should take more than a second.


@dataclass
class Point:
    x: int
    y: int


class Movie(TypedDict):
    title: str
    year: int


class Pair(NamedTuple):
    left: str
    right: int


@attrs.define
class Item:
    name: str
    qty: int = 1


# ---------------------------------------------------------------- receiving JSON
async def test_json_from_text_frame() -> None:
    @websocket_listener("/")
    async def handler(data: dict[str, int]) -> dict[str, int]:
        return {key: value * 2 for key, value in data.items()}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            reply = await ask(ws, '{"a": 1, "b": 20}')
            assert isinstance(reply, str)
            assert json.loads(reply) == {"a": 2, "b": 40}


async def test_json_from_binary_frame_in_binary_mode() -> None:
    @websocket_listener("/", receive_mode="binary")
    async def handler(data: dict[str, int]) -> dict[str, int]:
        return {key: value + 1 for key, value in data.items()}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            reply = await ask(ws, b'{"a": 1}')
            assert isinstance(reply, str)  # send_mode stays "text"
            assert json.loads(reply) == {"a": 2}


async def test_unannotated_data_is_parsed_json() -> None:
    @websocket_listener("/")
    async def handler(data) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        return {"type": type(data).__name__, "value": data}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask_json(ws, "[1, 2]") == {"type": "list", "value": [1, 2]}
            assert await ask_json(ws, '{"k": null}') == {
                "type": "dict",
                "value": {"k": None},
            }


async def test_dict_of_str_in_and_out() -> None:
    @websocket_listener("/")
    def handler(data: dict[str, str]) -> dict[str, str]:
        return {key.upper(): value.upper() for key, value in data.items()}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask_json(ws, '{"a": "x", "b": "y"}') == {"A": "X", "B": "Y"}


async def test_dataclass_in_and_out() -> None:
    @websocket_listener("/")
    async def handler(data: Point) -> Point:
        assert isinstance(data, Point)
        return Point(x=data.y, y=data.x)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask_json(ws, '{"x": 1, "y": 2}') == {"x": 2, "y": 1}


async def test_attrs_class_in_and_out() -> None:
    @websocket_listener("/")
    async def handler(data: Item) -> Item:
        assert isinstance(data, Item)
        return Item(name=data.name.upper(), qty=data.qty + 1)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask_json(ws, '{"name": "pen"}') == {"name": "PEN", "qty": 2}
            assert await ask_json(ws, '{"name": "cup", "qty": 5}') == {
                "name": "CUP",
                "qty": 6,
            }


# ---------------------------------------------------------------- sending structures
async def test_structured_replies() -> None:
    @websocket_listener("/dataclass")
    async def as_dataclass(data: str) -> Point:
        return Point(x=len(data), y=2)

    @websocket_listener("/typeddict")
    async def as_typeddict(data: str) -> Movie:
        return Movie(title=data, year=1999)

    @websocket_listener("/namedtuple")
    async def as_namedtuple(data: str) -> Pair:
        return Pair(left=data, right=7)

    app = App([as_dataclass, as_typeddict, as_namedtuple])
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/dataclass") as ws:
                assert await ask_json(ws, "abc") == {"x": 3, "y": 2}
            async with server.connect("/typeddict") as ws:
                assert await ask_json(ws, "Matrix") == {"title": "Matrix", "year": 1999}
            async with server.connect("/namedtuple") as ws:
                # A NamedTuple is a tuple: it goes over the wire as a JSON array.
                assert await ask_json(ws, "L") == ["L", 7]


# ---------------------------------------------------------------- invalid input: 1007
@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ('{"x": 1, "y": "2"}', "y: expected int, got str"),
        ('{"x": 1}', "y: required field missing"),
    ],
)
async def test_validation_failure_closes_1007_naming_the_field(
    caplog: pytest.LogCaptureFixture, payload: str, reason: str
) -> None:
    caplog.set_level(logging.INFO, logger="wsactors")
    calls: list[Point] = []

    @websocket_listener("/")
    async def handler(data: Point) -> str:
        calls.append(data)
        return "ok"

    with trio.fail_after(DEADLINE):
        closed = await close_after(App([handler]), payload)
    assert (closed.code, closed.reason) == (1007, reason)
    assert calls == []
    ours = [r for r in caplog.records if r.name.startswith("wsactors")]
    logged = [r for r in ours if reason in r.getMessage()]
    assert logged, "the 1007 and its reason are logged"
    # The client sent bad data: worth an INFO line, not an error with a traceback.
    assert all(r.levelno == logging.INFO and r.exc_info is None for r in logged)
    assert not [r for r in ours if r.levelno >= logging.WARNING]


def _ok_listener(data_type: Any) -> ListenerRouteHandler:
    """A listener on "/" for ``data: data_type`` that answers "ok"."""

    async def handler(data: data_type) -> str:
        return "ok"

    return websocket_listener("/")(handler)


async def test_wrong_json_type_in_dict_closes_1007() -> None:
    with trio.fail_after(DEADLINE):
        closed = await close_after(App([_ok_listener(dict[str, str])]), '{"a": 1}')
    assert closed.code == 1007
    assert "expected str, got int" in (closed.reason or "")


async def test_malformed_json_closes_1007() -> None:
    with trio.fail_after(DEADLINE):
        closed = await close_after(App([_ok_listener(dict[str, Any])]), "{not json")
    assert closed.code == 1007
    assert (closed.reason or "").startswith("malformed JSON")


async def test_invalid_utf8_for_str_listener_in_binary_mode_closes_1007() -> None:
    @websocket_listener("/", receive_mode="binary")
    async def handler(data: str) -> str:
        return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            # Valid UTF-8 in a binary frame is decoded for a `data: str` listener...
            assert await ask(ws, "héllo".encode()) == "héllo"
            # ... invalid UTF-8 is a 1007 (RFC 6455 section 7.4.1).
            await ws.send_message(b"ok\xff\xfe")
            closed = await close_of(ws)
    assert closed.code == 1007
    assert "UTF-8" in (closed.reason or "")


# ---------------------------------------------------------------- transport modes
async def test_binary_mode_drops_text_frames() -> None:
    @websocket_listener("/", receive_mode="binary")
    async def handler(data: bytes, socket: WebSocket) -> dict[str, Any]:
        return {"got": data.decode(), "dropped": socket.statistics().dropped_frames}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            await ws.send_message("text is not for me")
            await ws.send_message(b"one")
            # The first thing received answers the binary frame: the text one was dropped.
            assert await receive_json(ws) == {"got": "one", "dropped": 1}
            await ws.send_message("again")
            await ws.send_message("and again")
            assert await ask_json(ws, b"two") == {"got": "two", "dropped": 3}


async def test_text_mode_drops_binary_frames() -> None:
    @websocket_listener("/", receive_mode="text")
    async def handler(data: str, socket: WebSocket) -> dict[str, Any]:
        return {"got": data, "dropped": socket.statistics().dropped_frames}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            await ws.send_message(b"bytes are not for me")
            await ws.send_message("one")
            assert await receive_json(ws) == {"got": "one", "dropped": 1}
            assert await ask_json(ws, "two") == {"got": "two", "dropped": 1}


async def test_send_mode_binary_sends_bytes_frames() -> None:
    @websocket_listener("/text", send_mode="binary")
    async def text_reply(data: str) -> str:
        return data.upper()

    @websocket_listener("/json", send_mode="binary")
    async def json_reply(data: str) -> dict[str, str]:
        return {"echo": data}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([text_reply, json_reply])) as server:
            async with server.connect("/text") as ws:
                assert await ask(ws, "héllo") == "HÉLLO".encode()
            async with server.connect("/json") as ws:
                reply = await ask(ws, "x")
                assert isinstance(reply, bytes)
                assert json.loads(reply) == {"echo": "x"}


async def test_bytes_data_from_text_frame_is_utf8_encoded() -> None:
    @websocket_listener("/")
    async def handler(data: bytes) -> dict[str, str]:
        return {"type": type(data).__name__, "hex": data.hex()}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask_json(ws, "é!") == {"type": "bytes", "hex": "c3a921"}


def _unannotated_quiet(data: str):  # type: ignore[no-untyped-def]
    if not data.startswith("quiet"):
        return data
    return None


def _optional_quiet(data: str) -> Optional[str]:  # noqa: UP045 - the Optional spelling on purpose
    return None if data.startswith("quiet") else data


async def _async_none_quiet(data: str) -> str | None:
    return None if data.startswith("quiet") else data


@pytest.mark.parametrize("fn", [_unannotated_quiet, _optional_quiet, _async_none_quiet])
async def test_returning_none_sends_nothing(fn: Any) -> None:
    handler = websocket_listener("/")(fn)
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            await ws.send_message("quiet 1")
            await ws.send_message("quiet 2")
            await ws.send_message("loud")
            assert await ws.get_message() == "loud"  # nothing came before it
            await ws.send_message("quiet 3")
            assert await ask(ws, "loud again") == "loud again"


# ---------------------------------------------------------------- calls and order
async def test_one_call_per_message_replies_in_order() -> None:
    calls: list[int] = []

    @websocket_listener("/")
    async def handler(data: int) -> dict[str, int]:
        calls.append(data)
        await trio.lowlevel.checkpoint()  # let the next message arrive meanwhile
        return {"n": data}

    count = 200
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:

            async def send_all() -> None:
                for n in range(count):
                    await ws.send_message(str(n))

            async with trio.open_nursery() as nursery:
                nursery.start_soon(send_all)
                replies = [(await receive_json(ws))["n"] for _ in range(count)]
    assert replies == list(range(count))
    assert calls == list(range(count))


def _sync_echo(data: str) -> str:
    return f"sync {data}"


async def _async_echo(data: str) -> str:
    await trio.lowlevel.checkpoint()
    return f"async {data}"


@pytest.mark.parametrize(("fn", "prefix"), [(_sync_echo, "sync"), (_async_echo, "async")])
async def test_sync_and_async_listeners(fn: Any, prefix: str) -> None:
    handler = websocket_listener("/")(fn)
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask(ws, "a") == f"{prefix} a"
            assert await ask(ws, "b") == f"{prefix} b"


@pytest.mark.slow
async def test_sync_to_thread_does_not_block_other_connections() -> None:
    sleeping = threading.Event()

    @websocket_listener("/slow", sync_to_thread=True)
    def slow(data: str) -> str:
        sleeping.set()
        time.sleep(1.0)
        return f"slow {data}"

    @websocket_listener("/fast")
    async def fast(data: str) -> str:
        return f"fast {data}"

    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(App([slow, fast])) as server,
            server.connect("/slow") as slow_ws,
            server.connect("/fast") as fast_ws,
        ):
            await slow_ws.send_message("x")
            assert await trio.to_thread.run_sync(sleeping.wait, DEADLINE)
            started = trio.current_time()
            assert await ask(fast_ws, "y") == "fast y"
            assert trio.current_time() - started < 0.5
            assert await slow_ws.get_message() == "slow x"


# ---------------------------------------------------------------- hooks
def _recording_listener(events: list[Any], **hooks: Any) -> ListenerRouteHandler:
    """A sync listener on "/" that appends each message to ``events`` and echoes it,
    except "boom", which makes it raise."""

    @websocket_listener("/", **hooks)
    def handler(data: str) -> str:
        events.append(data)
        if data == "boom":
            raise RuntimeError("listener failed")
        return data

    return handler


async def test_on_connect_and_on_disconnect_run_once_in_order() -> None:
    events: list[Any] = []
    disconnected = trio.Event()

    async def on_connect(socket: WebSocket) -> None:
        events.append(("connect", socket.connection_state))
        await socket.send_data("welcome")

    def on_disconnect(socket: WebSocket) -> None:
        events.append("disconnect")
        disconnected.set()

    handler = _recording_listener(events, on_connect=on_connect, on_disconnect=on_disconnect)
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                assert await ws.get_message() == "welcome"
                assert await ask(ws, "a") == "a"
                assert await ask(ws, "b") == "b"
                assert events == [("connect", "connected"), "a", "b"]
            await disconnected.wait()
    # The server has stopped: every connection is over, so "once" is final.
    assert events == [("connect", "connected"), "a", "b", "disconnect"]


async def test_on_disconnect_runs_when_listener_raises() -> None:
    events: list[str] = []

    def on_connect() -> None:
        events.append("connect")

    def on_disconnect() -> None:
        events.append("disconnect")

    handler = _recording_listener(events, on_connect=on_connect, on_disconnect=on_disconnect)
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                assert await ask(ws, "fine") == "fine"
                await ws.send_message("boom")
                closed = await close_of(ws)
            assert (closed.code, closed.reason) == (1011, "Internal Server Error")
    assert events == ["connect", "fine", "boom", "disconnect"]


async def test_on_disconnect_runs_when_on_connect_raises() -> None:
    events: list[str] = []

    def on_connect() -> None:
        events.append("connect")
        raise RuntimeError("on_connect failed")

    def on_disconnect() -> None:
        events.append("disconnect")

    handler = _recording_listener(events, on_connect=on_connect, on_disconnect=on_disconnect)
    with trio.fail_after(DEADLINE):
        closed = await close_after(App([handler]))
    assert (closed.code, closed.reason) == (1011, "Internal Server Error")
    assert events == ["connect", "disconnect"]


async def test_connection_accept_handler_sets_header_and_subprotocol() -> None:
    async def accept(socket: WebSocket) -> None:
        # Choose the client's last offer, to show the choice is the handler's.
        await socket.accept(
            subprotocols=socket.subprotocols[-1], headers={"x-powered-by": "wsactors"}
        )

    @websocket_listener("/", connection_accept_handler=accept)
    async def handler(data: str, socket: WebSocket) -> str:
        return f"{socket.accepted_subprotocol}: {data}"

    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(App([handler])) as server,
            server.connect("/", subprotocols=["chat.v1", "chat.v2"]) as ws,
        ):
            assert ws.subprotocol == "chat.v2"
            headers = response_headers(ws)
            assert headers[b"x-powered-by"] == b"wsactors"
            assert await ask(ws, "hi") == "chat.v2: hi"


async def test_connection_lifespan_wraps_the_loop() -> None:
    events: list[Any] = []
    exited = trio.Event()

    @asynccontextmanager
    async def lifespan(socket: WebSocket) -> AsyncIterator[None]:
        events.append(("enter", socket.connection_state))
        await socket.send_data("hello from lifespan")
        try:
            yield
        finally:
            events.append(("exit", socket.connection_state))
            exited.set()

    @websocket_listener("/", connection_lifespan=lifespan)
    async def handler(data: str) -> str:
        events.append(data)
        return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                assert await ws.get_message() == "hello from lifespan"
                assert await ask(ws, "a") == "a"
                assert events == [("enter", "connected"), "a"]
            await exited.wait()
    assert events == [("enter", "connected"), "a", ("exit", "disconnected")]


# ---------------------------------------------------------------- the socket itself
async def test_socket_access_close_on_goodbye() -> None:
    # The seed's socket_access example: close from inside the listener.
    @websocket_listener("/")
    async def handler(data: str, socket: WebSocket) -> str:
        if data == "goodbye":
            await socket.close()
        return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask(ws, "hello") == "hello"
            await ws.send_message("goodbye")
            closed = await close_of(ws)  # no "goodbye" reply: the socket was closed
    assert closed.code == 1000


# ---------------------------------------------------------------- custom websocket class
# FixedWebSocket, the seed's custom_websocket example, is in e2e_helpers.py.
def _tagging(tag: str) -> type[WebSocket]:
    class Tagging(WebSocket):
        async def receive_data(self, mode: Any = "text") -> str | bytes:
            data = await super().receive_data(mode)
            return f"{tag}:{data!s}"

    return Tagging


class BracketWebSocket(WebSocket):
    """Overrides the sending side: every reply is wrapped in brackets."""

    async def send_data(self, data: str | bytes, mode: Any = "text") -> None:
        text = data if isinstance(data, str) else data.decode()
        await super().send_data(f"[{text}]", mode)


async def test_custom_websocket_class_seed_example() -> None:
    app = App([echo_listener("/")], websocket_class=FixedWebSocket)
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server, server.connect("/") as ws:
            assert await ask(ws, "anything") == "Fixed response"
            assert await ask(ws, "else") == "Fixed response"


async def test_custom_websocket_class_closest_layer_wins() -> None:
    top, routed = echo_listener("/top"), echo_listener("/routed")
    own = echo_listener("/own", websocket_class=_tagging("handler"))
    app = App(
        [top, Router("/r", [routed, own], websocket_class=_tagging("router"))],
        websocket_class=_tagging("app"),
    )
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/top") as ws:
                assert await ask(ws, "x") == "app:x"
            async with server.connect("/r/routed") as ws:
                assert await ask(ws, "x") == "router:x"
            async with server.connect("/r/own") as ws:
                assert await ask(ws, "x") == "handler:x"


async def test_custom_websocket_class_overriding_send_data() -> None:
    @websocket_listener("/")
    async def handler(data: str) -> dict[str, str]:
        return {"echo": data}

    binary = echo_listener("/binary", send_mode="binary")
    app = App([handler, binary], websocket_class=BracketWebSocket)
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/") as ws:
                assert await ask(ws, "x") == '[{"echo":"x"}]'
            async with server.connect("/binary") as ws:
                assert await ask(ws, "y") == b"[y]"


# ---------------------------------------------------------------- DTOs
async def test_dto_exclude_never_reads_the_field() -> None:
    @websocket_listener("/", dto=DTO(User, exclude={"id"}))
    async def handler(data: User) -> dict[str, Any]:
        return {"id": data.id, "name": data.name, "email": data.email}

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            reply = await ask(ws, '{"id": 99, "name": "ann", "email": "a@x"}')
            assert json.loads(reply) == {"id": 0, "name": "ann", "email": "a@x"}


async def test_dto_rename_reads_and_writes_wire_names() -> None:
    renamed = DTO(User, rename={"name": "userName"})

    @websocket_listener("/", dto=renamed, return_dto=renamed)
    async def handler(data: User) -> User:
        return User(name=data.name.upper(), id=data.id + 1, email=data.email)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            reply = await ask(ws, '{"userName": "ann", "id": 1}')
            assert json.loads(reply) == {"userName": "ANN", "id": 2, "email": ""}
            # The Python name is not the wire name: "name" alone leaves userName missing.
            await ws.send_message('{"name": "ann"}')
            closed = await close_of(ws)
    assert closed.code == 1007
    assert "userName" in (closed.reason or "")


async def test_return_dto_excludes_a_field_from_replies() -> None:
    @websocket_listener("/", return_dto=DTO(User, exclude={"email"}))
    async def handler(data: str) -> User:
        return User(name=data, id=7, email="secret@example.com")

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask_json(ws, "bob") == {"name": "bob", "id": 7}


# ---------------------------------------------------------------- failures and their close codes
async def test_accept_handler_error_accepts_then_closes_1011() -> None:
    async def accept(socket: WebSocket) -> None:
        raise RuntimeError("accept handler failed")

    handler = echo_listener("/", connection_accept_handler=accept)
    with trio.fail_after(DEADLINE):
        closed = await close_after(App([handler]))
    assert (closed.code, closed.reason) == (1011, "Internal Server Error")


async def test_accept_handler_deny_is_an_http_response() -> None:
    async def accept(socket: WebSocket) -> None:
        await socket.deny(403, b"members only")

    handler = echo_listener("/", connection_accept_handler=accept)
    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            rejected = await rejection(server, "/")
    assert rejected.status_code == 403
    assert rejected.body == b"members only"


@pytest.mark.parametrize("where", ["on_connect", "listener"])
async def test_websocket_exception_closes_with_its_code(where: str) -> None:
    events: list[str] = []

    def on_connect() -> None:
        if where == "on_connect":
            raise WebSocketException(reason="not now", code=4000)

    def on_disconnect() -> None:
        events.append("disconnect")

    @websocket_listener("/", on_connect=on_connect, on_disconnect=on_disconnect)
    async def handler(data: str) -> str:
        raise WebSocketException(reason="not now", code=4000)

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                if where == "listener":
                    await ws.send_message("x")
                closed = await close_of(ws)
            assert (closed.code, closed.reason) == (4000, "not now")
    assert events == ["disconnect"]


async def test_error_in_sync_to_thread_listener_closes_1011() -> None:
    @websocket_listener("/", sync_to_thread=True)
    def handler(data: str) -> str:
        raise ValueError("thread failed")

    with trio.fail_after(DEADLINE):
        closed = await close_after(App([handler]), "x")
    assert (closed.code, closed.reason) == (1011, "Internal Server Error")


async def test_connection_lifespan_gets_dependencies_and_cleans_up_on_error() -> None:
    events: list[str] = []
    exited = trio.Event()

    @asynccontextmanager
    async def lifespan(resource: str, socket: WebSocket) -> AsyncIterator[None]:
        await socket.send_data(f"lifespan has {resource}")
        try:
            yield
        finally:
            events.append("lifespan exit")
            exited.set()

    @websocket_listener("/", connection_lifespan=lifespan, dependencies={"resource": lambda: "db"})
    async def handler(data: str, resource: str) -> str:
        if data == "boom":
            raise RuntimeError("listener failed")
        return f"{resource}: {data}"

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                assert await ws.get_message() == "lifespan has db"
                assert await ask(ws, "x") == "db: x"
                await ws.send_message("boom")
                closed = await close_of(ws)
            assert closed.code == 1011
            await exited.wait()
    assert events == ["lifespan exit"]


async def test_structured_data_types_in() -> None:
    @websocket_listener("/list")
    async def as_list(data: list[Point]) -> int:
        return sum(p.x + p.y for p in data)

    @websocket_listener("/optional")
    async def as_optional(data: Optional[Point]) -> str:  # noqa: UP045
        return "none" if data is None else f"{data.x},{data.y}"

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([as_list, as_optional])) as server:
            async with server.connect("/list") as ws:
                assert await ask(ws, '[{"x": 1, "y": 2}, {"x": 3, "y": 4}]') == "10"
                await ws.send_message('[{"x": 1, "y": 2}, {"x": "3", "y": 4}]')
                closed = await close_of(ws)
                assert closed.code == 1007
                assert "x" in (closed.reason or "")
            async with server.connect("/optional") as ws:
                assert await ask(ws, "null") == "none"
                assert await ask(ws, '{"x": 5, "y": 6}') == "5,6"


# ---------------------------------------------------------------- the end of a connection
async def test_listener_busy_when_client_leaves_finishes_its_call() -> None:
    # A listener is a reader: it gets disconnect_grace to finish the call in progress.
    events: list[str] = []
    disconnected = trio.Event()
    busy = trio.Event()

    def on_disconnect() -> None:
        events.append("disconnect")
        disconnected.set()

    @websocket_listener("/", on_disconnect=on_disconnect)
    async def handler(data: str) -> str:
        events.append(f"start {data}")
        busy.set()
        await trio.sleep(0.3)
        events.append(f"finish {data}")
        return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                await ws.send_message("slow")
                await busy.wait()
            await disconnected.wait()
    assert events == ["start slow", "finish slow", "disconnect"]


async def test_server_shutdown_closes_1001_and_runs_on_disconnect_once() -> None:
    events: list[str] = []

    def on_disconnect() -> None:
        events.append("disconnect")

    handler = echo_listener("/", on_disconnect=on_disconnect)
    stop = trio.Event()

    async def serve(*, task_status: trio.TaskStatus[LiveServer]) -> None:
        async with LiveServer(App([handler])) as server:
            task_status.started(server)
            await stop.wait()

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            # The server runs in its own task, so it can stop while the client is open.
            server = await nursery.start(serve)
            async with server.connect("/") as ws:
                assert await ask(ws, "x") == "x"
                stop.set()
                closed = await close_of(ws)
    assert closed.code == 1001
    assert events == ["disconnect"]
