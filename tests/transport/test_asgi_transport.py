"""The ASGI transport: ASGI messages in, events out, and back (``transport/asgi.py``).

Driven with hand-made ASGI ``receive``/``send`` callables; the runtime on top of it
is tested over the fake transport, and over hypercorn in tests/e2e.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import pytest
import trio
from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, WebsocketScope

from wsactors.connection.events import (
    Accept,
    Close,
    Connect,
    Deny,
    Disconnect,
    Incoming,
    Message,
    Outgoing,
    Ping,
    Send,
)
from wsactors.transport.asgi import ASGI_CAPABILITIES, ASGITransport
from wsactors.transport.base import Capabilities, Transport

ASGIMessage = dict[str, Any]


def transport_for(
    incoming: Sequence[ASGIMessage] = (),
    *,
    extensions: dict[str, Any] | None = None,
    subprotocols: list[str] | None = None,
) -> tuple[ASGITransport, list[ASGIMessage]]:
    """An ASGITransport whose receive serves ``incoming`` and whose send records."""
    queue = list(incoming)
    sent: list[ASGIMessage] = []

    async def receive() -> ASGIMessage:
        await trio.lowlevel.checkpoint()
        return queue.pop(0)

    async def send(message: ASGIMessage) -> None:
        await trio.lowlevel.checkpoint()
        sent.append(message)

    scope: dict[str, Any] = {"type": "websocket", "path": "/"}
    if extensions is not None:
        scope["extensions"] = extensions
    if subprotocols is not None:
        scope["subprotocols"] = subprotocols
    transport = ASGITransport(
        cast(WebsocketScope, scope),
        cast(ASGIReceiveCallable, receive),
        cast(ASGISendCallable, send),
    )
    return transport, sent


def test_it_is_a_transport() -> None:
    transport: Transport = transport_for()[0]
    assert transport.subprotocols == ()


def test_what_asgi_over_hypercorn_can_do() -> None:
    capabilities = transport_for()[0].capabilities
    assert capabilities is ASGI_CAPABILITIES
    assert capabilities == Capabilities(
        peer_close_codes=False, ping=False, http_denials=False, abortable_writes=False
    )


def test_the_http_response_extension_allows_denials() -> None:
    transport = transport_for(extensions={"websocket.http.response": {}})[0]
    assert transport.capabilities == Capabilities(http_denials=True)


def test_the_offered_subprotocols() -> None:
    assert transport_for(subprotocols=["a", "b"])[0].subprotocols == ("a", "b")


@pytest.mark.parametrize(
    ("message", "event"),
    [
        ({"type": "websocket.connect"}, Connect()),
        ({"type": "websocket.receive", "text": "hi"}, Message("hi")),
        ({"type": "websocket.receive", "text": "", "bytes": None}, Message("")),
        ({"type": "websocket.receive", "bytes": b"\x00"}, Message(b"\x00")),
        ({"type": "websocket.receive", "text": None, "bytes": b"b"}, Message(b"b")),
        ({"type": "websocket.disconnect", "code": 4100, "reason": "bye"}, Disconnect(4100, "bye")),
        ({"type": "websocket.disconnect", "code": 1006}, Disconnect(1006, "")),
        ({"type": "websocket.disconnect"}, Disconnect(1005, "")),  # the ASGI default
    ],
    ids=["connect", "text", "empty-text", "bytes", "bytes-text-none", "close", "drop", "none"],
)
async def test_receive(message: ASGIMessage, event: Incoming) -> None:
    transport = transport_for([message])[0]
    assert await transport.receive() == event


@pytest.mark.parametrize(
    ("event", "messages"),
    [
        (
            Accept("chat", ((b"x-a", b"1"),)),
            [{"type": "websocket.accept", "subprotocol": "chat", "headers": [(b"x-a", b"1")]}],
        ),
        (Send("hi"), [{"type": "websocket.send", "text": "hi", "bytes": None}]),
        (Send(b"\x01"), [{"type": "websocket.send", "bytes": b"\x01", "text": None}]),
        (Close(4000, "done"), [{"type": "websocket.close", "code": 4000, "reason": "done"}]),
        (
            Deny(403, ((b"content-length", b"2"),), b"no"),
            [
                {
                    "type": "websocket.http.response.start",
                    "status": 403,
                    "headers": [(b"content-length", b"2")],
                },
                {"type": "websocket.http.response.body", "body": b"no", "more_body": False},
            ],
        ),
        (Ping(b"p"), []),  # ASGI cannot ping (the capability says so)
    ],
    ids=["accept", "text", "bytes", "close", "deny", "ping"],
)
async def test_send(event: Outgoing, messages: list[ASGIMessage]) -> None:
    transport, sent = transport_for()
    await transport.send([event])
    assert sent == messages


async def test_a_batch_goes_out_in_order() -> None:
    transport, sent = transport_for()
    await transport.send([Accept(), Send("a"), Send(b"b"), Close(1000)])
    assert [m["type"] for m in sent] == [
        "websocket.accept",
        "websocket.send",
        "websocket.send",
        "websocket.close",
    ]
    assert [m.get("text") or m.get("bytes") for m in sent[1:3]] == ["a", b"b"]


async def test_abort_sends_nothing() -> None:
    transport, sent = transport_for()
    await transport.abort()
    assert sent == []
