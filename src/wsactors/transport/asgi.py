"""The ASGI transport: the runtime over any ASGI 3 server (hypercorn's Trio worker).

ASGI messages are typed with ``hypercorn.typing``'s TypedDicts. What ASGI cannot do
is declared in :data:`ASGI_CAPABILITIES`: hypercorn reports 1006 for every client
close (its issue #127), exposes no ping, and shields its socket writes, so a stalled
write cannot be aborted from the application.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, cast

import trio
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    ASGISendEvent,
    WebsocketAcceptEvent,
    WebsocketCloseEvent,
    WebsocketReceiveEvent,
    WebsocketResponseBodyEvent,
    WebsocketResponseStartEvent,
    WebsocketScope,
    WebsocketSendEvent,
)

from ..connection.closes import NO_STATUS
from ..connection.events import (
    Accept,
    Close,
    Connect,
    Deny,
    Disconnect,
    Incoming,
    Message,
    Outgoing,
    Send,
    SharedText,
)
from .base import Capabilities

__all__ = ["ASGI_CAPABILITIES", "ASGITransport"]

ASGI_CAPABILITIES: Final = Capabilities()
_DENIALS: Final = Capabilities(http_denials=True)
_CONNECT: Final = Connect()


class ASGITransport:
    """Adapts ASGI ``receive``/``send`` of one websocket scope to the Transport interface.

    Args:
        scope: The ASGI websocket scope.
        receive: ASGI ``receive``.
        send: ASGI ``send``.
    """

    __slots__ = ("_receive", "_send", "capabilities", "subprotocols")

    def __init__(
        self, scope: WebsocketScope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        self._receive = receive
        self._send = send
        # ASGI spec: the websocket.http.response extension allows denial responses.
        extensions = scope.get("extensions") or {}
        self.capabilities = (
            _DENIALS if "websocket.http.response" in extensions else ASGI_CAPABILITIES
        )
        self.subprotocols = tuple(scope.get("subprotocols") or ())

    async def receive(self) -> Incoming:
        """The next ASGI message as an event.

        Cancellation:
            hypercorn's receive reads a memory channel: cancelling loses nothing.
        """
        message = await self._receive()
        kind = message["type"]
        if kind == "websocket.receive":
            # An annotation, not typing.cast: cast is a call on every message.
            received: WebsocketReceiveEvent = message  # type: ignore[assignment]
            text = received.get("text")
            return Message(text if text is not None else received.get("bytes") or b"")
        if kind == "websocket.disconnect":
            # ASGI spec: "code" defaults to 1005 (no status received); "reason"
            # exists since spec 2.3 (hypercorn's TypedDict predates it).
            left = cast(dict[str, Any], message)
            return Disconnect(int(left.get("code", NO_STATUS)), left.get("reason") or "")
        return _CONNECT

    async def send(self, events: Sequence[Outgoing]) -> None:
        """Send each event as its ASGI message(s).

        Cancellation:
            hypercorn shields its socket writes: a stalled write is not cancelled.
        """
        send = self._send
        for event in events:
            if type(event) is Send:  # the per-message path: no tuple, no call
                data = event.data
                if isinstance(data, SharedText):
                    data = data.text  # a subscription's delivery
                if isinstance(data, str):
                    text: WebsocketSendEvent = {
                        "type": "websocket.send",
                        "text": data,
                        "bytes": None,
                    }
                    await send(text)
                else:
                    binary: WebsocketSendEvent = {
                        "type": "websocket.send",
                        "bytes": data,
                        "text": None,
                    }
                    await send(binary)
                continue
            for message in _control_messages(event):
                await send(message)

    def attach_sender(self, wake: Callable[[], None]) -> None:
        """ASGI servers write their own control frames: nothing to wake the sender for."""

    async def abort(self) -> None:
        """ASGI cannot drop a connection: the app returning is all it can do.

        Cancellation:
            Only a checkpoint.
        """
        await trio.lowlevel.checkpoint()


def _control_messages(event: Outgoing) -> tuple[ASGISendEvent, ...]:
    """The ASGI messages of an event other than Send (ASGI spec, "WebSocket")."""
    if isinstance(event, Close):
        close: WebsocketCloseEvent = {
            "type": "websocket.close",
            "code": event.code,
            "reason": event.reason,
        }
        return (close,)
    if isinstance(event, Accept):
        headers = list(event.headers)
        accept: WebsocketAcceptEvent = {
            "type": "websocket.accept",
            "subprotocol": event.subprotocol,
            "headers": headers,
        }
        return (accept,)
    if isinstance(event, Deny):
        # The websocket.http.response extension: a start, then one body message.
        start: WebsocketResponseStartEvent = {
            "type": "websocket.http.response.start",
            "status": event.status,
            "headers": list(event.headers),
        }
        body: WebsocketResponseBodyEvent = {
            "type": "websocket.http.response.body",
            "body": event.body,
            "more_body": False,
        }
        return (start, body)
    return ()  # Ping: ASGI has no way to send one (the capabilities say so)
