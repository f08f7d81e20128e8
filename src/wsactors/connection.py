"""The ``WebSocket`` handle: what handlers use to talk to their connection.

The handle never touches ASGI. Receives read the connection's inbox (filled by the
receiver actor); sends queue ready-made ASGI events in its outbox (drained by the
sender actor). Errors are translated here, once: a closed or broken channel means
the connection is over and surfaces as :class:`~wsactors.WebSocketDisconnect`.

Subclass it and pass ``websocket_class=`` (App, Router or handler) to change what
handlers see; listeners read through :meth:`WebSocket.receive_data` and reply
through :meth:`WebSocket.send_data`, so overriding those changes listeners too.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import trio

from .actors.mailbox import payload_size
from .codec import Codec, Mode, Payload, to_frame
from .exceptions import WebSocketDisconnect
from .protocol import ConnState, ProtocolError
from .scope import ScopeViews

if TYPE_CHECKING:
    from .actors.mailbox import ConnectionStatistics, Mailbox

__all__ = ["WebSocket"]

logger = logging.getLogger("wsactors.connection")

_T = TypeVar("_T")
HeadersArg = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]] | None

_WANT: dict[str, type[str] | type[bytes]] = {"text": str, "binary": bytes}


def _header_pairs(headers: HeadersArg) -> Iterable[tuple[str | bytes, str | bytes]] | None:
    if isinstance(headers, Mapping):
        return list(headers.items())
    return headers


class _Stream(Generic[_T]):
    """An async iterator over received messages that ends quietly on disconnect."""

    __slots__ = ("_next",)

    def __init__(self, next_item: Any) -> None:
        self._next = next_item

    def __aiter__(self) -> _Stream[_T]:
        return self

    async def __anext__(self) -> _T:
        try:
            return await self._next()  # type: ignore[no-any-return]
        except WebSocketDisconnect:
            raise StopAsyncIteration from None


class WebSocket(ScopeViews):
    """One WebSocket connection, as a handler sees it.

    The handshake request's views (``path``, ``headers``, ``query_params``, ...)
    are defined in ``wsactors/scope.py``, an internal base class.

    Created by the framework for every connection (never by users); subclass it to
    customise behaviour and register the subclass with ``websocket_class=``.
    """

    def __init__(
        self,
        mailbox: Mailbox,
        scope: dict[str, Any],
        *,
        codec: Codec,
        path_params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(scope, path_params)
        self._mailbox = mailbox
        self._codec = codec

    @property
    def accepted_subprotocol(self) -> str | None:
        """The subprotocol chosen at accept, if any."""
        return self._mailbox.protocol.subprotocol

    @property
    def connection_state(self) -> str:
        """``"init"``, ``"connected"`` or ``"disconnected"``."""
        return self._mailbox.protocol.public_state

    @property
    def close_code(self) -> int | None:
        """The close code once closed (the one sent, or the one the server reported
        for the client; hypercorn reports 1006 for every client close: its #127)."""
        return self._mailbox.protocol.close_code

    def statistics(self) -> ConnectionStatistics:
        """Message and byte counts, drops, and queue depths of this connection."""
        return self._mailbox.statistics()

    # ------------------------------------------------------------------ handshake
    async def accept(self, subprotocols: str | None = None, headers: HeadersArg = None) -> None:
        """Accept the handshake.

        Args:
            subprotocols: The subprotocol to use; must be one the client offered.
            headers: Extra response headers (mapping or pairs).

        Raises:
            ProtocolError: already accepted, closed or denied, or an unoffered
                subprotocol.
            WebSocketDisconnect: the client left before it was accepted.

        Cancellation:
            Safe to cancel; if cancelled the accept may or may not have been queued.
        """
        await self._put(self._mailbox.protocol.accept(subprotocols, _header_pairs(headers)))
        logger.info("accepted %s subprotocol=%s", self.path, subprotocols)

    async def deny(self, status: int, body: bytes | str = b"", headers: HeadersArg = None) -> None:
        """Reject the handshake with an HTTP response (before accept only).

        Uses the ASGI ``websocket.http.response`` extension when the server offers
        it (hypercorn does); otherwise closes before accept, which servers answer
        with HTTP 403.

        Raises:
            ProtocolError: the connection was already accepted or closed.
        """
        raw = body.encode("utf-8") if isinstance(body, str) else body
        for message in self._mailbox.protocol.deny(status, raw, _header_pairs(headers)):
            await self._put(message)

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Close the connection; idempotent, and a no-op once the client left.

        Before accept this rejects the handshake (HTTP 403). The reason is cut to the
        123-byte limit of RFC 6455 section 5.5.

        Raises:
            ValueError: ``code`` may not be sent (1005, 1006, 1015, unassigned).
        """
        message = self._mailbox.protocol.close(code, reason)
        if message is not None:
            # The sender being gone means the close cannot matter any more.
            with contextlib.suppress(WebSocketDisconnect):
                await self._put(message)

    # ------------------------------------------------------------------ receiving
    async def receive_message(self) -> Payload:
        """The next message, keeping its frame type: text -> ``str``, binary -> ``bytes``.

        Messages that arrived before the client left are still delivered.

        Raises:
            WebSocketDisconnect: the client left (and everything it sent was read),
                or this side closed the connection.
            ProtocolError: called before accept.

        Cancellation:
            Safe to cancel: no message is lost by a cancelled receive.
        """
        box = self._mailbox
        protocol = box.protocol
        state = protocol.state
        if state is not ConnState.CONNECTED and not protocol.client_gone:
            if state is ConnState.INIT:
                raise ProtocolError("accept the connection before receiving")
            raise self._disconnect_error()
        inbox = box.inbox
        try:
            # A cancellation point without a scheduler round trip when a message is
            # already queued (the per-message path; see docs/performance.md).
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                return inbox.receive_nowait()
            except trio.WouldBlock:
                pass
            box.receiving += 1
            try:
                return await inbox.receive()
            finally:
                box.receiving -= 1
        except (trio.EndOfChannel, trio.ClosedResourceError):
            raise self._disconnect_error() from None

    async def receive_data(self, mode: Mode = "text") -> Payload:
        """The next message of ``mode``: ``str`` for ``"text"``, ``bytes`` for ``"binary"``.

        Frames of the other type are dropped, counted in ``statistics()`` and
        logged at debug (the seed: a listener "will only listen to socket events of
        the appropriate type"). Use :meth:`receive_message` to get both.

        Raises:
            WebSocketDisconnect: as :meth:`receive_message`.
        """
        want = _WANT.get(mode)
        if want is None:
            raise ValueError(f"mode must be 'text' or 'binary', not {mode!r}")
        while True:
            data = await self.receive_message()
            if type(data) is want:
                return data
            self._mailbox.counters.dropped_frames += 1
            logger.debug(
                "%s: dropped a %s frame (receive mode %r)",
                self.path,
                "text" if want is bytes else "binary",
                mode,
            )

    async def receive_text(self) -> str:
        """The next text message (binary frames are dropped, see :meth:`receive_data`)."""
        return str(await self.receive_data("text"))

    async def receive_bytes(self) -> bytes:
        """The next binary message (text frames are dropped, see :meth:`receive_data`)."""
        data = await self.receive_data("binary")
        return data if isinstance(data, bytes) else data.encode("utf-8")

    async def receive_json(self, mode: Mode = "text", type: Any = Any) -> Any:
        """The next message of ``mode``, parsed as JSON and structured into ``type``.

        Raises:
            InvalidMessageError: malformed JSON, invalid UTF-8, or a payload that does
                not fit ``type`` (a ``WebSocketException`` with code 1007; uncaught, it
                closes the connection with 1007).
            WebSocketDisconnect: as :meth:`receive_message`.
        """
        return self._codec.decoder(type)(await self.receive_data(mode))

    def iter_messages(self) -> _Stream[Payload]:
        """Iterate :meth:`receive_message` until the client leaves (no exception)."""
        return _Stream(self.receive_message)

    def iter_data(self, mode: Mode = "text") -> _Stream[Payload]:
        """Iterate :meth:`receive_data` until the client leaves (no exception)."""
        return _Stream(lambda: self.receive_data(mode))

    def iter_json(self, mode: Mode = "text", type: Any = Any) -> _Stream[Any]:
        """Iterate :meth:`receive_json` until the client leaves (no exception)."""
        return _Stream(lambda: self.receive_json(mode, type))

    # ------------------------------------------------------------------ sending
    async def send_message(self, data: Payload) -> None:
        """Send ``str`` as a text frame and ``bytes`` as a binary frame.

        Returns once the message is queued for the sender actor (ordering is kept;
        a full queue blocks: backpressure from a slow client).

        Raises:
            WebSocketDisconnect: the client left or this side closed.
            ProtocolError: called before accept.

        Cancellation:
            If cancelled, the message was not queued.
        """
        box = self._mailbox
        box.protocol.check_send()
        if type(data) is str:
            message: dict[str, Any] = {"type": "websocket.send", "text": data}
        elif isinstance(data, bytes | bytearray | memoryview):
            message = {"type": "websocket.send", "bytes": bytes(data)}
        else:
            raise TypeError(f"send_message takes str or bytes, not {type(data).__name__}")
        counters = box.counters
        counters.messages_out += 1
        counters.bytes_out += payload_size(data)
        await self._put(message)

    async def send_data(self, data: Payload, mode: Mode = "text") -> None:
        """Send ``data`` in a frame of ``mode`` (str and bytes converted as UTF-8)."""
        await self.send_message(to_frame(data, mode))

    async def send_text(self, data: str) -> None:
        """Send a text frame."""
        await self.send_data(data, "text")

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame."""
        await self.send_data(data, "binary")

    async def send_json(self, data: Any, mode: Mode = "text") -> None:
        """Unstructure ``data`` with the App's cattrs converter and send it as JSON."""
        await self.send_data(self._codec.dumps(data), mode)

    # ------------------------------------------------------------------ internals
    async def _put(self, message: dict[str, Any]) -> None:
        outbox = self._mailbox.outbox
        try:
            # A cancellation point; it yields to the scheduler only when the outbox is
            # full (backpressure), saving a round trip per message otherwise.
            await trio.lowlevel.checkpoint_if_cancelled()
            try:
                outbox.send_nowait(message)
            except trio.WouldBlock:
                await outbox.send(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            raise self._disconnect_error() from None

    def _disconnect_error(self) -> WebSocketDisconnect:
        protocol = self._mailbox.protocol
        code = protocol.close_code if protocol.close_code is not None else 1006
        return WebSocketDisconnect(protocol.close_reason, code)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.path!r} {self.connection_state}>"
