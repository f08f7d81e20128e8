"""The opening handshake: read one HTTP request, build the ASGI-like scope.

Parsing is the ``websockets`` library's (:class:`~websockets.server.ServerProtocol`):
it bounds each line to 8 KiB and the headers to 128; this module also bounds the
whole request (``max_request_size``) and the time it may take (the caller's
``open_timeout``).
"""

from __future__ import annotations

import email.utils
import http
import logging
from typing import Any, Final, NamedTuple, cast
from urllib.parse import unquote

import trio
from websockets.datastructures import Headers
from websockets.frames import Frame
from websockets.headers import parse_subprotocol
from websockets.http11 import Request, Response
from websockets.server import ServerProtocol

from ..connection.events import Message
from ..transport.native.wire import READ_SIZE, socket_of

__all__ = [
    "Opening",
    "is_upgrade",
    "offered_subprotocols",
    "read_request",
    "simple_response",
    "websocket_scope",
]

logger = logging.getLogger("wsactors.engine")

_ASGI: Final = {"version": "3.0", "spec_version": "2.4"}
# The scope's header names, shared by every connection for the usual headers (the
# scope lives as long as the connection: ~40 bytes per name and connection).
_NAMES: Final = {
    name: name.encode("latin-1")
    for name in (
        "accept-encoding",
        "accept-language",
        "authorization",
        "cache-control",
        "connection",
        "cookie",
        "host",
        "origin",
        "pragma",
        "sec-websocket-extensions",
        "sec-websocket-key",
        "sec-websocket-protocol",
        "sec-websocket-version",
        "upgrade",
        "user-agent",
    )
}


class Opening(NamedTuple):
    """A handshake request, and what the client sent right behind it."""

    request: Request
    #: What websockets parsed from the bytes after the request (messages and
    #: control frames, see :class:`~wsactors.transport.native.wireprotocol.WireProtocol`).
    events: list[Message | Frame]
    #: The bytes after the request (the native transport follows frames from there).
    rest: bytes


async def read_request(
    stream: trio.abc.Stream, protocol: ServerProtocol, max_request_size: int
) -> Opening | bytes:
    """Read until ``protocol`` parsed a request.

    ``max_request_size`` bounds the request line and headers however they arrive:
    no read goes past the first byte over it, so the handshake never holds more
    than ``max_request_size + 1`` bytes (here, and as much in the parser's buffer),
    and a request over it is answered 414 (its request line alone is over it) or
    431, never 101. Both buffers are dropped once this returns.

    Returns:
        The request and what followed it; otherwise the bytes of the HTTP response
        to send before closing (431 or 414 for a request too large, 400 for a
        malformed one; empty when the client left without a request).

    Raises:
        trio.BrokenResourceError: the connection broke.

    Cancellation:
        Stops reading; nothing is sent.
    """
    seen = bytearray()
    while True:
        # Never past the first byte over the limit (at least 1: over it, we returned).
        data = await stream.receive_some(min(READ_SIZE, max_request_size + 1 - len(seen)))
        if not data:
            return b""
        seen += data
        protocol.receive_data(data)
        events = protocol.events_received()
        if events and isinstance(events[0], Request):
            # websockets reads header lines up to the empty one (CRLF CRLF); it
            # parsed whatever came after it as frames already.
            end = seen.find(b"\r\n\r\n") + 4
            if end > max_request_size:
                # The last byte of the request was the first over the limit.
                return _too_large(seen, max_request_size)
            rest = bytes(seen[end:])
            return Opening(events[0], cast(list[Message | Frame], events[1:]), rest)
        if protocol.handshake_exc is not None:
            # websockets queued 414/431 itself; a malformed request gets a 400.
            answer = b"".join(protocol.data_to_send())
            return answer or simple_response(400, "Bad Request\n")
        if len(seen) > max_request_size:  # and still incomplete
            return _too_large(seen, max_request_size)


def _too_large(seen: bytearray, max_request_size: int) -> bytes:
    """The answer to a request over ``max_request_size`` (RFC 9110 15.5.15, RFC 6585 5)."""
    line_end = seen.find(b"\r\n")
    if line_end == -1 or line_end + 2 > max_request_size:
        status, text = 414, "URI Too Long\n"
    else:
        status, text = 431, "Request Header Fields Too Large\n"
    logger.info(
        "handshake request over max_request_size=%d bytes: answered %d", max_request_size, status
    )
    return simple_response(status, text)


def simple_response(
    status: int, text: str, extra: list[tuple[str, str]] | None = None, *, head: bool = False
) -> bytes:
    """A short ``text/plain`` response with ``Connection: close``, serialized."""
    body = text.encode()
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Type", "text/plain; charset=utf-8"),
            ("Content-Length", str(len(body))),
            *(extra or ()),
        ]
    )
    phrase = http.HTTPStatus(status).phrase
    return Response(status, phrase, headers, b"" if head else body).serialize()


def is_upgrade(request: Request) -> bool:
    """Whether the request asks for a WebSocket (``Upgrade: websocket``)."""
    upgrade = request.headers.get("Upgrade", "")
    return "websocket" in upgrade.lower()


def offered_subprotocols(request: Request) -> tuple[str, ...]:
    """The subprotocols in the request's ``Sec-WebSocket-Protocol`` headers.

    Raises:
        websockets.exceptions.InvalidHeader: a malformed header.
    """
    offered: list[str] = []
    for value in request.headers.get_all("Sec-WebSocket-Protocol"):
        offered.extend(parse_subprotocol(value))
    return tuple(offered)


def _address(sock: trio.socket.SocketType, peer: bool) -> tuple[str, int] | None:
    try:
        address = sock.getpeername() if peer else sock.getsockname()
    except OSError:
        return None
    return (str(address[0]), int(address[1]))


def _header_name(name: str) -> bytes:
    lower = name.lower()
    shared = _NAMES.get(lower)
    return shared if shared is not None else lower.encode("latin-1")


def base_scope(
    kind: str, request: Request, stream: trio.abc.Stream, *, tls: bool, state: dict[str, Any]
) -> dict[str, Any]:
    """The parts of an ASGI ``websocket`` or ``http`` scope both share."""
    target = request.path
    raw, _, query = target.partition("?")
    sock = socket_of(stream)
    headers = [
        (_header_name(name), value.encode("latin-1")) for name, value in request.headers.raw_items()
    ]
    secure = "s" if tls else ""
    return {
        "type": kind,
        "asgi": dict(_ASGI),
        "http_version": request.protocol.removeprefix("HTTP/"),
        "scheme": ("wss" if kind == "websocket" else "https")
        if secure
        else ("ws" if kind == "websocket" else "http"),
        "path": unquote(raw),
        "raw_path": raw.encode("latin-1"),
        "query_string": query.encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": _address(sock, True) if sock is not None else None,
        "server": _address(sock, False) if sock is not None else None,
        # ASGI: a shallow copy of the lifespan state for each connection.
        "state": dict(state),
    }


def websocket_scope(
    request: Request,
    stream: trio.abc.Stream,
    subprotocols: tuple[str, ...],
    *,
    tls: bool,
    state: dict[str, Any],
) -> dict[str, Any]:
    """The ASGI ``websocket`` scope of a handshake request."""
    scope = base_scope("websocket", request, stream, tls=tls, state=state)
    scope["subprotocols"] = list(subprotocols)
    # Denials are HTTP responses on this engine (the ASGI extension's meaning).
    scope["extensions"] = {"websocket.http.response": {}}
    return scope
