"""The ASGI transport: the runtime over any ASGI 3 server (hypercorn's Trio worker).

ASGI messages are typed with ``hypercorn.typing``'s TypedDicts. What ASGI cannot do
is declared in :data:`ASGI_CAPABILITIES`: hypercorn reports 1006 for every client
close (its issue #127), exposes no ping, and shields its socket writes, so a stalled
write cannot be aborted from the application.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final, cast

import trio
from hypercorn.typing import (
    ASGIReceiveCallable,
    ASGISendCallable,
    WebsocketAcceptEvent,
    WebsocketCloseEvent,
    WebsocketReceiveEvent,
    WebsocketResponseBodyEvent,
    WebsocketResponseStartEvent,
    WebsocketScope,
    WebsocketSendEvent,
)

from ..closes import NO_STATUS
from ..events import Accept, Close, Connect, Deny, Disconnect, Incoming, Message, Outgoing, Send
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
            received = cast(WebsocketReceiveEvent, message)
            text = received.get("text")
            return Message(text if text is not None else received.get("bytes") or b"")
        if kind == "websocket.disconnect":
            # ASGI spec: "code" defaults to 1005 (no status received); "reason"
            # exists since spec 2.3 (hypercorn's TypedDict predates it).
            left = cast(dict[str, Any], message)
            return Disconnect(int(left.get("code", NO_STATUS)), left.get("reason") or "")
        return _CONNECT

    async def send(self, events: Sequence[Outgoing]) -> None:
        """Send each event as its ASGI message.

        Cancellation:
            hypercorn shields its socket writes: a stalled write is not cancelled.
        """
        send = self._send
        for event in events:
            kind = type(event)
            if kind is Send:
                data = event.data  # type: ignore[union-attr]
                if type(data) is str:
                    message: WebsocketSendEvent = {
                        "type": "websocket.send",
                        "text": data,
                        "bytes": None,
                    }
                else:
                    message = {"type": "websocket.send", "bytes": data, "text": None}  # type: ignore[typeddict-item]
                await send(message)
            elif kind is Close:
                assert isinstance(event, Close)
                close: WebsocketCloseEvent = {
                    "type": "websocket.close",
                    "code": event.code,
                    "reason": event.reason,
                }
                await send(close)
            elif kind is Accept:
                assert isinstance(event, Accept)
                accept: WebsocketAcceptEvent = {
                    "type": "websocket.accept",
                    "subprotocol": event.subprotocol,
                    "headers": list(event.headers),
                }
                await send(accept)
            elif kind is Deny:
                assert isinstance(event, Deny)
                start: WebsocketResponseStartEvent = {
                    "type": "websocket.http.response.start",
                    "status": event.status,
                    "headers": list(event.headers),
                }
                await send(start)
                body: WebsocketResponseBodyEvent = {
                    "type": "websocket.http.response.body",
                    "body": event.body,
                    "more_body": False,
                }
                await send(body)
            # Ping: ASGI has no way to send one (the capability says so).

    async def abort(self) -> None:
        """ASGI cannot drop a connection: the app returning is all it can do.

        Cancellation:
            Only a checkpoint.
        """
        await trio.lowlevel.checkpoint()
