"""Dependency injection for listeners, end to end over real sockets.

Dependencies are resolved once per connection, before accept; yield dependencies
are cleaned up after the connection ends, in reverse order (API.md, "Dependency
injection"). Query parameters are typed and checked before accept (HTTP 400).

No ``from __future__ import annotations``: providers and handlers are closures
whose annotations must resolve without a module namespace lookup.
"""

import itertools
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, Optional

import pytest
import trio

from helpers import DEADLINE, ask_json, close_after, close_of, rejection, wait_until
from wsactors import App, Provide, Router, WebSocket, WebSocketException, websocket_listener
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

#: Deadline of every test (seconds).


# ---------------------------------------------------------------- the seed's example
async def test_yield_dependency_counts_concurrent_clients() -> None:
    # The seed's dependency_injection_yield example: the App's state counts clients;
    # the code after `yield` runs once the connection has closed.
    async def client_counter(state: Any) -> AsyncIterator[int]:
        state.client_count = state.get("client_count", 0) + 1
        yield state.client_count
        state.client_count -= 1
        state.cleanups = state.get("cleanups", 0) + 1

    @websocket_listener("/", dependencies={"client_count": Provide(client_counter)})
    async def handler(data: str, client_count: int) -> dict[str, Any]:
        return {"data": data, "client_count": client_count}

    app = App([handler])
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            async with server.connect("/") as first:
                assert await ask_json(first, "a") == {"data": "a", "client_count": 1}
                async with server.connect("/") as second:
                    assert await ask_json(second, "b") == {"data": "b", "client_count": 2}
                    # Resolved once per connection: the first client keeps its value.
                    assert await ask_json(first, "again") == {"data": "again", "client_count": 1}
                await wait_until(lambda: app.state.client_count == 1)
                assert await ask_json(first, "still") == {"data": "still", "client_count": 1}
            await wait_until(lambda: app.state.client_count == 0)
            assert app.state.cleanups == 2


# ---------------------------------------------------------------- kinds of providers
def _sync_dep() -> str:
    return "sync"


async def _async_dep() -> str:
    await trio.lowlevel.checkpoint()
    return "async"


def _gen_dep() -> Iterator[str]:
    yield "gen"


async def _agen_dep() -> AsyncIterator[str]:
    await trio.lowlevel.checkpoint()
    yield "agen"


@pytest.mark.parametrize("wrap", [lambda fn: fn, Provide], ids=["plain", "Provide"])
async def test_sync_async_generator_and_async_generator_providers(wrap: Any) -> None:
    dependencies = {
        "a": wrap(_sync_dep),
        "b": wrap(_async_dep),
        "c": wrap(_gen_dep),
        "d": wrap(_agen_dep),
    }

    @websocket_listener("/", dependencies=dependencies)
    async def handler(data: str, a: str, b: str, c: str, d: str) -> list[str]:
        return [data, a, b, c, d]

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            assert await ask_json(ws, "x") == ["x", "sync", "async", "gen", "agen"]


async def test_dependency_asks_for_dependencies_and_reserved_names() -> None:
    def base() -> str:
        return "base"

    def derived(
        base: str, socket: WebSocket, headers: Mapping[str, str], query: Any, room: str, n: int
    ) -> dict[str, Any]:
        return {
            "base": base,
            "path": socket.path,
            "header": headers.get("x-client"),
            "query": query.get("q"),
            "room": room,
            "n": [n, type(n).__name__],
        }

    @websocket_listener(
        "/rooms/{room:str}/{n:int}", dependencies={"base": base, "derived": derived}
    )
    async def handler(data: str, derived: dict[str, Any]) -> dict[str, Any]:
        return derived

    with trio.fail_after(DEADLINE):
        async with (
            LiveServer(App([handler])) as server,
            server.connect(
                "/rooms/lobby/42?q=hello", extra_headers=[(b"x-client", b"tester")]
            ) as ws,
        ):
            assert await ask_json(ws, "x") == {
                "base": "base",
                "path": "/rooms/lobby/42",
                "header": "tester",
                "query": "hello",
                "room": "lobby",
                "n": [42, "int"],
            }


async def test_layered_dependencies_closest_wins() -> None:
    @websocket_listener("/top")
    async def top(data: str, who: str, shared: str) -> list[str]:
        return [who, shared]

    @websocket_listener("/routed")
    async def routed(data: str, who: str, shared: str) -> list[str]:
        return [who, shared]

    @websocket_listener("/own", dependencies={"who": lambda: "handler"})
    async def own(data: str, who: str, shared: str) -> list[str]:
        return [who, shared]

    @websocket_listener("/deep")
    async def deep(data: str, who: str, shared: str) -> list[str]:
        return [who, shared]

    inner = Router("/inner", [deep], dependencies={"who": Provide(lambda: "inner router")})
    app = App(
        [top, Router("/r", [routed, own, inner], dependencies={"who": lambda: "router"})],
        dependencies={"who": lambda: "app", "shared": lambda: "from app"},
    )
    expected = {
        "/top": ["app", "from app"],
        "/r/routed": ["router", "from app"],
        "/r/own": ["handler", "from app"],
        "/r/inner/deep": ["inner router", "from app"],
    }
    with trio.fail_after(DEADLINE):
        async with LiveServer(app) as server:
            for path, answer in expected.items():
                async with server.connect(path) as ws:
                    assert await ask_json(ws, "x") == answer, path


# ---------------------------------------------------------------- caching
async def test_resolved_once_per_connection() -> None:
    calls = itertools.count(1)

    def ticket() -> int:
        return next(calls)

    @websocket_listener("/", dependencies={"ticket": ticket})
    async def handler(data: str, ticket: int) -> int:
        return ticket

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                assert [await ask_json(ws, str(n)) for n in range(5)] == [1, 1, 1, 1, 1]
            async with server.connect("/") as ws:
                assert [await ask_json(ws, str(n)) for n in range(3)] == [2, 2, 2]


@pytest.mark.parametrize("use_cache", [True, False])
async def test_use_cache(use_cache: bool) -> None:
    calls = itertools.count(1)

    def token() -> int:
        return next(calls)

    def first(token: int) -> int:
        return token

    def second(token: int) -> int:
        return token

    dependencies = {"token": Provide(token, use_cache=use_cache), "first": first, "second": second}

    @websocket_listener("/", dependencies=dependencies)
    async def handler(data: str, token: int, first: int, second: int) -> list[int]:
        return [token, first, second]

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server, server.connect("/") as ws:
            values = await ask_json(ws, "a")
            if use_cache:
                assert values == [1, 1, 1]  # one call shared by every consumer
            else:
                assert sorted(values) == [1, 2, 3]  # one call per consumer
            # Either way, all of it happened once for the connection.
            assert await ask_json(ws, "b") == values


# ---------------------------------------------------------------- yield cleanup
@pytest.mark.parametrize("fail", [False, True], ids=["client-leaves", "listener-raises"])
async def test_yield_cleanup_runs_after_the_connection_in_reverse_order(fail: bool) -> None:
    order: list[str] = []
    cleaned = trio.Event()

    async def outer(socket: WebSocket) -> AsyncIterator[str]:
        order.append("outer setup")
        yield "outer"
        order.append(f"outer cleanup ({socket.connection_state})")
        cleaned.set()

    def inner(outer: str, socket: WebSocket) -> Iterator[str]:
        order.append(f"inner setup after {outer}")
        yield "inner"
        order.append(f"inner cleanup ({socket.connection_state})")

    @websocket_listener("/", dependencies={"outer": outer, "inner": inner})
    async def handler(data: str, inner: str) -> str:
        order.append(f"message {data}")
        if data == "boom":
            raise RuntimeError("listener failed")
        return data

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                await ws.send_message("hi")
                assert await ws.get_message() == "hi"
                # The connection is open: nothing is cleaned up yet.
                assert order == ["outer setup", "inner setup after outer", "message hi"]
                if fail:
                    await ws.send_message("boom")
                    closed = await close_of(ws)
                    assert (closed.code, closed.reason) == (1011, "Internal Server Error")
            await cleaned.wait()
    expected = ["outer setup", "inner setup after outer", "message hi"]
    if fail:
        expected.append("message boom")
    expected += ["inner cleanup (disconnected)", "outer cleanup (disconnected)"]
    assert order == expected


# ---------------------------------------------------------------- failures before accept
async def test_dependency_error_accepts_then_closes_1011() -> None:
    def broken() -> str:
        raise RuntimeError("no database")

    @websocket_listener("/", dependencies={"db": broken})
    async def handler(data: str, db: str) -> str:
        return data

    with trio.fail_after(DEADLINE):
        closed = await close_after(App([handler]))
    assert (closed.code, closed.reason) == (1011, "Internal Server Error")


async def test_dependency_websocket_exception_closes_with_its_code() -> None:
    async def auth(headers: Mapping[str, str]) -> str:
        if headers.get("x-token") != "secret":
            raise WebSocketException(reason="bad token", code=4001)
        return "user"

    @websocket_listener("/", dependencies={"user": auth})
    async def handler(data: str, user: str) -> str:
        return f"{user}: {data}"

    with trio.fail_after(DEADLINE):
        async with LiveServer(App([handler])) as server:
            async with server.connect("/") as ws:
                closed = await close_of(ws)
            assert (closed.code, closed.reason) == (4001, "bad token")
            async with server.connect("/", extra_headers=[(b"x-token", b"secret")]) as ws:
                await ws.send_message("hi")
                assert await ws.get_message() == "user: hi"


# ---------------------------------------------------------------- query parameters
def _query_app() -> App:
    @websocket_listener("/")
    async def handler(data: str, limit: int, page: int = 1) -> dict[str, Any]:
        return {"limit": [limit, type(limit).__name__], "page": page}

    return App([handler])


async def test_query_parameters_are_typed() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(_query_app()) as server:
            async with server.connect("/?limit=5") as ws:
                assert await ask_json(ws, "x") == {"limit": [5, "int"], "page": 1}
            async with server.connect("/?limit=-3&page=4") as ws:
                assert await ask_json(ws, "x") == {"limit": [-3, "int"], "page": 4}


@pytest.mark.parametrize("query", ["", "?page=2", "?limit=abc", "?limit=5&page=x"])
async def test_missing_or_bad_query_parameter_is_denied_with_400(query: str) -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(_query_app()) as server:
            rejected = await rejection(server, "/" + query)
    assert rejected.status_code == 400


def _query_dependency_app() -> App:
    def page(token: str, size: Optional[int] = None) -> dict[str, Any]:  # noqa: UP045
        return {"token": token, "size": size}

    @websocket_listener("/", dependencies={"page": page})
    async def handler(data: str, page: dict[str, Any]) -> dict[str, Any]:
        return page

    return App([handler])


async def test_dependency_query_parameters() -> None:
    with trio.fail_after(DEADLINE):
        async with LiveServer(_query_dependency_app()) as server:
            async with server.connect("/?token=t1") as ws:
                assert await ask_json(ws, "x") == {"token": "t1", "size": None}
            async with server.connect("/?token=t2&size=3") as ws:
                assert await ask_json(ws, "x") == {"token": "t2", "size": 3}
            for query in ("", "?token=t&size=big"):
                rejected = await rejection(server, "/" + query)
                assert rejected.status_code == 400, query
