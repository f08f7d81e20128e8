"""``App.serve_connection``, any engine's entry point, over the fake transport.

Routing, the Origin check, dependencies and denials answer through the transport
before and around the handler; plain HTTP goes through the ASGI entry point.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import trio
from runtime_harness import FakeTransport, make_scope

from helpers import DEADLINE
from wsactors import App, NotAuthorizedError, Provide, WebSocket, websocket
from wsactors.connection.events import Accept, Close, Deny
from wsactors.routing.route import RouteHandler
from wsactors.socket.datastructures import Headers
from wsactors.transport.base import Capabilities


async def serve(app: App, scope: dict[str, Any], transport: FakeTransport) -> None:
    with trio.fail_after(DEADLINE):
        await app.serve_connection(scope, transport)


def accept_route() -> RouteHandler:
    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        await socket.accept()

    return handler


def denial(transport: FakeTransport) -> Deny:
    [event] = transport.sent
    assert isinstance(event, Deny)
    return event


async def test_error_before_accept_accepts_then_closes_1011(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        raise KeyError("no such room")

    transport = FakeTransport()
    with caplog.at_level(logging.INFO, logger="wsactors"):
        await serve(App([handler]), make_scope(), transport)
    assert transport.sent == [Accept(), Close(1011, "Internal Server Error")]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None


async def test_handler_returning_without_accept_closes_before_accept() -> None:
    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        pass

    transport = FakeTransport()
    await serve(App([handler]), make_scope(), transport)
    assert transport.sent == [Close(1000, "")]


async def test_bad_query_parameter_is_denied_with_400() -> None:
    @websocket("/ws")
    async def handler(socket: WebSocket, count: int) -> None:
        await socket.accept()

    transport = FakeTransport()
    scope = make_scope()
    scope["query_string"] = b"count=many"
    await serve(App([handler]), scope, transport)
    deny = denial(transport)
    assert deny.status == 400
    assert b"count" in deny.body


async def test_unknown_path_is_denied_with_404() -> None:
    transport = FakeTransport()
    await serve(App([]), make_scope("/nowhere"), transport)
    deny = denial(transport)
    assert (deny.status, deny.body) == (404, b"Not Found")


async def test_unknown_path_without_http_denials_closes_before_accept() -> None:
    transport = FakeTransport(capabilities=Capabilities(http_denials=False))
    await serve(App([]), make_scope("/nowhere"), transport)
    assert transport.sent == [Close(1008, "")]


async def test_a_client_gone_before_the_answer_gets_none() -> None:
    transport = FakeTransport()
    await transport.receive()  # the Connect, taken: the client left instead
    transport.client_leaves()
    await serve(App([]), make_scope("/nowhere"), transport)
    assert transport.sent == []


async def test_denial_from_a_dependency_before_accept() -> None:
    def current_user(headers: Headers) -> str:
        raise NotAuthorizedError("token expired")

    @websocket("/ws", dependencies={"user": Provide(current_user)})
    async def handler(socket: WebSocket, user: str) -> None:
        await socket.accept()

    transport = FakeTransport()
    await serve(App([handler]), make_scope(), transport)
    deny = denial(transport)
    assert (deny.status, deny.body) == (401, b"token expired")


async def test_error_in_a_dependency_accepts_then_closes_1011() -> None:
    def broken() -> str:
        raise LookupError("database down")

    @websocket("/ws", dependencies={"db": broken})
    async def handler(socket: WebSocket, db: str) -> None:
        await socket.accept()

    transport = FakeTransport()
    await serve(App([handler]), make_scope(), transport)
    assert transport.sent == [Accept(), Close(1011, "Internal Server Error")]


async def test_origin_not_allowed_is_denied_with_403() -> None:
    app = App([accept_route()], allowed_origins=["https://*.example.com"])
    denied, allowed = FakeTransport(), FakeTransport()
    scope = make_scope()
    scope["headers"] = [(b"origin", b"https://evil.test")]
    await serve(app, scope, denied)
    scope = make_scope()
    scope["headers"] = [(b"origin", b"https://chat.example.com")]
    await serve(app, scope, allowed)
    assert denial(denied).status == 403
    assert allowed.sent == [Accept(), Close(1000, "")]


async def test_a_draining_app_denies_with_503() -> None:
    app = App([accept_route()])
    with trio.fail_after(DEADLINE):
        assert await app.drain() is True  # nothing to drain
    transport = FakeTransport()
    await serve(app, make_scope(), transport)
    assert denial(transport).status == 503


async def test_the_app_is_put_in_the_scope() -> None:
    apps: list[object] = []

    @websocket("/ws")
    async def handler(socket: WebSocket) -> None:
        apps.append(socket.app)

    app = App([handler])
    await serve(app, make_scope(), FakeTransport())
    assert apps == [app]


async def test_app_answers_http_with_a_plain_404() -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        await trio.lowlevel.checkpoint()
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        await trio.lowlevel.checkpoint()
        sent.append(message)

    with trio.fail_after(DEADLINE):
        await App([])({"type": "http", "path": "/", "method": "GET"}, receive, send)
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 404
    assert sent[1]["body"] == b"Not Found"
