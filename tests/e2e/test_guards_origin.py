"""Guards and Origin checks over real sockets.

Guards (``guard(socket)``, sync or async) on the App, Routers and handlers run
outermost first, before dependencies are resolved and before accept; a guard raising
``NotAuthorizedError`` or ``PermissionDeniedError`` denies the handshake with HTTP
401 or 403 and the detail as the body. ``allowed_origins`` denies (403) a handshake
whose ``Origin`` matches no exact origin or ``https://*.example.com`` pattern;
handshakes without ``Origin`` pass unless ``require_origin=True``.

The client is wsproto over a raw TCP stream, so the test reads the HTTP status line
and body of a denial exactly as the server wrote them (and owns the socket: no
``ResourceWarning`` from a client library that keeps it open after a rejection).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

import pytest
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from helpers import DEADLINE
from wsactors import (
    App,
    NotAuthorizedError,
    PermissionDeniedError,
    Provide,
    Router,
    WebSocket,
    WebSocketListener,
    websocket,
    websocket_stream,
)
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]


@dataclass
class Handshake:
    """What the client saw: the HTTP status, the denial body, the messages received."""

    status: int
    body: bytes = b""
    messages: tuple[str, ...] = ()
    close_code: int | None = None


async def handshake(
    server: LiveServer, path: str, headers: dict[str, str] | None = None
) -> Handshake:
    """Open ``path`` with ``headers``; if accepted, read until the server closes.

    A handshake that is accepted but not closed by the server within a moment is
    closed by the client (code 1000).
    """
    conn = WSConnection(ConnectionType.CLIENT)
    extra = [(name.encode(), value.encode()) for name, value in (headers or {}).items()]
    request = Request(host=f"{server.host}:{server.port}", target=path, extra_headers=extra)
    messages: list[str] = []
    with trio.fail_after(DEADLINE):
        async with await trio.open_tcp_stream(server.host, server.port) as stream:
            await stream.send_all(conn.send(request))
            status, body = 0, b""
            while True:
                with trio.move_on_after(1.0) as quiet:
                    chunk = await stream.receive_some(65536)
                if quiet.cancelled_caught:
                    # Accepted and left open: close from this side.
                    assert status == 101
                    await stream.send_all(conn.send(CloseConnection(code=1000)))
                    continue
                if not chunk:
                    return Handshake(status, body, tuple(messages))
                conn.receive_data(chunk)
                for event in conn.events():
                    if isinstance(event, AcceptConnection):
                        status = 101
                    elif isinstance(event, RejectConnection):
                        status = event.status_code
                        if not event.has_body:
                            return Handshake(status)
                    elif isinstance(event, RejectData):
                        body += event.data
                        if event.body_finished:
                            return Handshake(status, body)
                    elif isinstance(event, TextMessage):
                        messages.append(event.data)
                    elif isinstance(event, CloseConnection):
                        if conn.state.name == "REMOTE_CLOSING":
                            await stream.send_all(conn.send(event.response()))
                        return Handshake(status, body, tuple(messages), event.code)


# --------------------------------------------------------------------- guards app
calls: list[str] = []


@pytest.fixture(autouse=True)
def _fresh_calls() -> None:
    calls.clear()


def _check(socket: WebSocket, name: str) -> None:
    """Record the guard's run; deny if the request asks this guard to."""
    calls.append(f"{name} ({socket.connection_state})")
    if socket.headers.get("x-deny") == name:
        if socket.headers.get("x-deny-status") == "401":
            raise NotAuthorizedError(f"{name} says: who are you?")
        raise PermissionDeniedError(f"{name} says: not you")


def app_guard(socket: WebSocket) -> None:
    _check(socket, "app")


async def router_guard(socket: WebSocket) -> None:
    await trio.lowlevel.checkpoint()  # a real await: async guards are awaited in order
    _check(socket, "router")


def handler_sync_guard(socket: WebSocket) -> None:
    _check(socket, "handler-sync")


async def handler_async_guard(socket: WebSocket) -> None:
    await trio.sleep(0.01)
    _check(socket, "handler-async")


def audit() -> str:
    """A dependency with a side effect: it must not run for a denied handshake."""
    calls.append("dependency")
    return "audited"


@websocket(
    "/guarded",
    guards=[handler_sync_guard, handler_async_guard],
    dependencies={"audit": Provide(audit)},
)
async def guarded(socket: WebSocket, audit: str) -> None:
    calls.append(f"handler ({socket.connection_state})")
    await socket.accept()
    await socket.send_text(f"welcome, {audit}")


class GuardedListener(WebSocketListener):
    path = "/class"
    guards = (handler_async_guard,)
    dependencies = {"audit": Provide(audit)}  # noqa: RUF012

    def on_connect(self, socket: WebSocket, audit: str) -> None:
        calls.append("on_connect")

    def on_receive(self, data: str) -> str:
        return data


@websocket_stream("/stream", guards=[handler_sync_guard], dependencies={"audit": Provide(audit)})
async def guarded_stream(audit: str) -> AsyncGenerator[str, None]:
    calls.append("stream started")
    yield f"streamed, {audit}"


def make_guarded_app() -> App:
    return App(
        [Router("/api", [guarded, GuardedListener, guarded_stream], guards=[router_guard])],
        guards=[app_guard],
    )


@pytest.fixture
async def guarded_server() -> AsyncIterator[LiveServer]:
    async with LiveServer(make_guarded_app()) as live:
        yield live


# --------------------------------------------------------------------- guards
async def test_guards_run_outermost_first_then_dependencies_then_accept(
    guarded_server: LiveServer,
) -> None:
    seen = await handshake(guarded_server, "/api/guarded")
    assert seen.status == 101
    assert seen.messages == ("welcome, audited",)
    assert seen.close_code == 1000
    assert calls == [
        "app (init)",
        "router (init)",
        "handler-sync (init)",
        "handler-async (init)",
        "dependency",
        "handler (init)",
    ]


LAYERS = ["app", "router", "handler-sync", "handler-async"]


@pytest.mark.parametrize("status", [401, 403])
@pytest.mark.parametrize("layer", LAYERS)
async def test_a_denying_guard_answers_http_with_its_detail_before_anything_else(
    guarded_server: LiveServer, layer: str, status: int
) -> None:
    seen = await handshake(
        guarded_server, "/api/guarded", {"x-deny": layer, "x-deny-status": str(status)}
    )
    detail = f"{layer} says: who are you?" if status == 401 else f"{layer} says: not you"
    assert (seen.status, seen.body) == (status, detail.encode())
    # The guards up to the denying one ran, in order; nothing after it: no later
    # guard, no dependency (its side effect did not happen), no handler, no accept.
    ran = LAYERS[: LAYERS.index(layer) + 1]
    assert calls == [f"{name} (init)" for name in ran]


async def test_guards_protect_class_listeners_and_streams_too(
    guarded_server: LiveServer,
) -> None:
    seen = await handshake(guarded_server, "/api/class", {"x-deny": "handler-async"})
    assert (seen.status, seen.body) == (403, b"handler-async says: not you")
    assert calls == ["app (init)", "router (init)", "handler-async (init)"]

    calls.clear()
    seen = await handshake(
        guarded_server, "/api/stream", {"x-deny": "handler-sync", "x-deny-status": "401"}
    )
    assert (seen.status, seen.body) == (401, b"handler-sync says: who are you?")
    assert calls == ["app (init)", "router (init)", "handler-sync (init)"]

    calls.clear()
    seen = await handshake(guarded_server, "/api/stream")
    assert (seen.status, seen.messages, seen.close_code) == (101, ("streamed, audited",), 1000)
    assert calls == [
        "app (init)",
        "router (init)",
        "handler-sync (init)",
        "dependency",
        "stream started",
    ]


# --------------------------------------------------------------------- Origin
ALLOWED = ["https://app.example.org", "https://*.example.com"]


@pytest.fixture
async def origin_server() -> AsyncIterator[LiveServer]:
    async with LiveServer(App([Router("/api", [guarded])], allowed_origins=ALLOWED)) as live:
        yield live


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.org",  # exact
        "https://chat.example.com",  # pattern
        "https://eu.chat.example.com",  # pattern: any depth of subdomain
    ],
)
async def test_allowed_origins_accept_exact_and_pattern_matches(
    origin_server: LiveServer, origin: str
) -> None:
    seen = await handshake(origin_server, "/api/guarded", {"origin": origin})
    assert seen.status == 101
    assert seen.messages == ("welcome, audited",)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example.net",
        "http://app.example.org",  # another scheme is another origin
        "https://app.example.org:8443",  # and so is another port
        "https://app.example.org.evil.net",  # a suffix trick
        "https://example.com",  # the pattern asks for a subdomain
        "http://chat.example.com",  # the pattern's scheme counts
        "https://evilexample.com",  # not a subdomain, only the same ending
        "https://chat.example.com.evil.net",
        "null",  # sandboxed iframes and file: pages
    ],
)
async def test_other_origins_are_denied_403_before_guards_and_dependencies(
    origin_server: LiveServer, origin: str
) -> None:
    seen = await handshake(origin_server, "/api/guarded", {"origin": origin})
    assert (seen.status, seen.body) == (403, b"Origin not allowed")
    assert calls == []


async def test_no_origin_header_passes_by_default(origin_server: LiveServer) -> None:
    # Non-browser clients (and this one) send no Origin; browsers always do.
    seen = await handshake(origin_server, "/api/guarded")
    assert seen.status == 101


async def test_require_origin_denies_handshakes_without_one() -> None:
    app = App([Router("/api", [guarded])], allowed_origins=ALLOWED, require_origin=True)
    async with LiveServer(app) as server:
        missing = await handshake(server, "/api/guarded")
        allowed = await handshake(server, "/api/guarded", {"origin": "https://app.example.org"})
        other = await handshake(server, "/api/guarded", {"origin": "https://evil.example.net"})
    assert (missing.status, missing.body) == (403, b"Origin header required")
    assert allowed.status == 101
    assert (other.status, other.body) == (403, b"Origin not allowed")


async def test_without_allowed_origins_any_origin_is_accepted() -> None:
    # The default is permissive (as Starlette and Litestar): a browser app that
    # authenticates with cookies must set allowed_origins (docs/limits-and-security.md).
    async with LiveServer(App([Router("/api", [guarded])])) as server:
        seen = await handshake(server, "/api/guarded", {"origin": "https://evil.example.net"})
    assert seen.status == 101


async def test_a_star_allows_every_origin() -> None:
    async with LiveServer(App([Router("/api", [guarded])], allowed_origins=["*"])) as server:
        seen = await handshake(server, "/api/guarded", {"origin": "https://anyone.example"})
    assert seen.status == 101
