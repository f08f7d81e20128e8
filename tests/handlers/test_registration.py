"""Registration errors: raised by ``App(...)`` when it is built, never at request time.

Each handler is decorated outside ``pytest.raises``: decorating is allowed to
succeed, and the App must refuse the handler. No sockets, no Trio.
"""

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from helpers import echo_listener
from wsactors import (
    App,
    ImproperlyConfiguredError,
    Router,
    WebSocket,
    WebSocketListener,
    websocket,
    websocket_listener,
    websocket_stream,
)


def refused(*handlers: Any, match: str, **app_options: Any) -> None:
    """Assert that building an App with ``handlers`` raises, mentioning ``match``."""
    with pytest.raises(ImproperlyConfiguredError, match=match):
        App(list(handlers), **app_options)


@asynccontextmanager
async def _lifespan() -> AsyncIterator[None]:
    yield


def _hook(socket: WebSocket) -> None:
    pass


async def _accept(socket: WebSocket) -> None:
    await socket.accept()


# ---------------------------------------------------------------- listener signatures
def test_listener_without_data() -> None:
    @websocket_listener("/")
    async def handler(message: str) -> str:
        return message

    refused(handler, match="`data`")


def test_listener_with_request_parameter() -> None:
    @websocket_listener("/")
    async def handler(data: str, request: Any) -> str:
        return data

    refused(handler, match="request")


def test_listener_with_body_parameter() -> None:
    @websocket_listener("/")
    async def handler(data: str, body: bytes) -> str:
        return data

    refused(handler, match="body")


def test_unannotated_unknown_parameter() -> None:
    @websocket_listener("/")
    async def handler(data: str, mystery) -> str:  # type: ignore[no-untyped-def]
        return data

    refused(handler, match="mystery")


def test_generator_listener() -> None:
    @websocket_listener("/")
    def handler(data: str) -> Iterator[str]:
        yield data

    refused(handler, match="generator")


@pytest.mark.parametrize("hook", ["on_connect", "on_disconnect", "connection_accept_handler"])
def test_connection_lifespan_combined_with_hook(hook: str) -> None:
    value = _accept if hook == "connection_accept_handler" else _hook
    handler = echo_listener("/", connection_lifespan=_lifespan, **{hook: value})
    refused(handler, match="connection_lifespan")


@pytest.mark.parametrize("option", ["receive_mode", "send_mode"])
def test_bad_transport_mode(option: str) -> None:
    handler = echo_listener("/", **{option: "json"})
    refused(handler, match=option)


# ---------------------------------------------------------------- dependencies
def test_dependency_cycle() -> None:
    def first(second: int) -> int:
        return second

    def second(first: int) -> int:
        return first

    @websocket_listener("/", dependencies={"first": first, "second": second})
    async def handler(data: str, first: int) -> str:
        return data

    refused(handler, match="cycle")


def test_self_dependency_is_a_cycle() -> None:
    def loop(loop: int) -> int:
        return loop

    @websocket_listener("/", dependencies={"loop": loop})
    async def handler(data: str, loop: int) -> str:
        return data

    refused(handler, match="cycle")


def test_dependency_with_unknown_parameter() -> None:
    def provider(unknown) -> int:  # type: ignore[no-untyped-def]
        return 1

    @websocket_listener("/", dependencies={"value": provider})
    async def handler(data: str, value: int) -> str:
        return data

    refused(handler, match="unknown")


def test_cycle_through_app_level_dependencies() -> None:
    @websocket_listener("/")
    async def handler(data: str, a: int) -> str:
        return data

    refused(handler, match="cycle", dependencies={"a": lambda b: b, "b": lambda a: a})


# ---------------------------------------------------------------- class listeners
def test_class_listener_without_on_receive() -> None:
    class NoReceive(WebSocketListener):
        path = "/"

        def on_connect(self, socket: WebSocket) -> None:
            pass

    refused(NoReceive, match="on_receive")


def test_class_listener_without_path() -> None:
    class NoPath(WebSocketListener):
        def on_receive(self, data: str) -> str:
            return data

    refused(NoPath, match="path")


def test_class_listener_on_receive_without_data() -> None:
    class NoData(WebSocketListener):
        path = "/"

        def on_receive(self, message: str) -> str:
            return message

    refused(NoData, match="`data`")


def test_listener_instance_instead_of_class() -> None:
    class Handler(WebSocketListener):
        path = "/"

        def on_receive(self, data: str) -> str:
            return data

    refused(Handler(), match="not an instance")


def test_plain_function_is_not_a_handler() -> None:
    async def handler(socket: WebSocket) -> None:
        pass

    refused(handler, match="not a route handler")


# ---------------------------------------------------------------- paths
def test_duplicate_paths_across_routers() -> None:
    first, second = echo_listener("/chat"), echo_listener("/chat")
    refused(Router("/api", [first]), Router("/api/", [second]), match="duplicate")


def test_duplicate_path_between_router_and_app() -> None:
    top, routed = echo_listener("/api/chat"), echo_listener("/chat")
    refused(top, Router("/api", [routed]), match="duplicate")


def test_duplicate_templated_paths_with_other_parameter_names() -> None:
    first = echo_listener("/items/{item_id:int}")

    @websocket("/items/{other:int}")
    async def second(socket: WebSocket) -> None:
        await socket.accept()

    refused(Router("/", [first]), Router("/", [second]), match="duplicate")


def test_same_path_different_parameter_types_is_allowed() -> None:
    App([echo_listener("/items/{item_id:int}"), echo_listener("/items/{slug:str}")])


# ---------------------------------------------------------------- @websocket
def test_websocket_handler_that_is_sync() -> None:
    @websocket("/")
    def handler(socket: WebSocket) -> None:
        pass

    refused(handler, match="async")


def test_websocket_handler_without_socket() -> None:
    @websocket("/")
    async def handler(data: str) -> None:
        pass

    refused(handler, match="`socket`")


def test_websocket_handler_returning_a_value() -> None:
    @websocket("/")
    async def handler(socket: WebSocket) -> str:
        return "nope"

    refused(handler, match="return")


# ---------------------------------------------------------------- @websocket_stream
def test_stream_on_a_coroutine_function() -> None:
    @websocket_stream("/")
    async def handler() -> str:
        return "not a generator"

    refused(handler, match="async generator")


def test_stream_on_a_sync_generator() -> None:
    @websocket_stream("/")
    def handler() -> Iterator[str]:
        yield "sync"

    refused(handler, match="async generator")


# ---------------------------------------------------------------- what is fine
def test_a_valid_app_builds() -> None:
    @websocket_listener("/listener")
    def listener(data: str, limit: int = 10) -> str:
        return data

    @websocket("/raw")
    async def raw(socket: WebSocket) -> None:
        await socket.accept()

    @websocket_stream("/stream")
    async def stream() -> AsyncIterator[str]:
        yield "x"

    class Listener(WebSocketListener):
        path = "/class"

        def on_receive(self, data: str) -> str:
            return data

    app = App([listener, raw, stream, Router("/r", [Listener])])
    # Every handler got its route, under its Router's prefix, and nothing else did.
    matched = [app.routes.match(path) for path in ("/listener", "/raw", "/stream", "/r/class")]
    assert all(found is not None for found in matched)
    assert len({id(found[0]) for found in matched if found is not None}) == 4
    assert app.routes.match("/class") is None
    assert app.routes.match("/nope") is None
