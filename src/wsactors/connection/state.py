"""Sans-I/O connection state: one state machine for one WebSocket connection.

Theory of operation
-------------------
The *wire state* (:attr:`ConnectionState.state`) says what has crossed the
transport. It changes only when the sender actor hands an event to the transport
(:meth:`ConnectionState.hand_over`) or when the receiver actor reports the peer gone
(:meth:`ConnectionState.peer_left`), never earlier: a call cancelled before its
event was queued changes nothing, so no close frame can be lost by a cancellation::

    state       event handed over / received      next state
    ----------  --------------------------------  ----------
    CONNECTING  Accept                            OPEN
    CONNECTING  Deny, or Close (HTTP 403)         REJECTED
    OPEN        Close                             CLOSING
    CONNECTING  Disconnect                        CLOSED
    OPEN        Disconnect                        CLOSED
    CLOSING     Disconnect                        CLOSED
    REJECTED    Disconnect                        REJECTED

Any other pair is not a transition: a ``Send`` outside OPEN, or a second ``Close``,
is dropped by :meth:`~ConnectionState.hand_over` (so exactly one close frame is ever
sent), and the table is :data:`TRANSITIONS` below.

The *requested state* is what the application has already queued (set by
:meth:`~ConnectionState.queued` once an event is in the outbox): it is what the
``WebSocket`` handle checks, so ``send`` right after ``accept`` is legal even
though the sender has not run yet. The public ``connection_state`` is the further
along of the two.

:mod:`wsactors.connection.endings` decides, in one place, what a behaviour's ending owes the
peer: an HTTP denial, accept-then-close, a close, or nothing.
"""

from __future__ import annotations

import enum
from typing import Final

from ..exceptions import WebSocketDisconnect
from .closes import ABNORMAL, NO_STATUS, Why, truncate_reason
from .closes import validate_close_code as validate_close_code
from .events import (
    Accept,
    Close,
    Deny,
    HeaderPairs,
    HeadersArg,
    Outgoing,
    Send,
    encode_headers,
)

__all__ = [
    "TRANSITIONS",
    "ConnectionState",
    "ProtocolError",
    "State",
]


class State(enum.IntEnum):
    """Where a connection is; the order is how far along it is."""

    CONNECTING = 0
    OPEN = 1
    CLOSING = 2
    CLOSED = 3
    REJECTED = 4


#: (state, event type) -> next state, for events handed to the transport or received.
TRANSITIONS: Final[dict[tuple[State, str], State]] = {
    (State.CONNECTING, "Accept"): State.OPEN,
    (State.CONNECTING, "Deny"): State.REJECTED,
    (State.CONNECTING, "Close"): State.REJECTED,
    (State.OPEN, "Close"): State.CLOSING,
    (State.CONNECTING, "Disconnect"): State.CLOSED,
    (State.OPEN, "Disconnect"): State.CLOSED,
    (State.CLOSING, "Disconnect"): State.CLOSED,
    (State.REJECTED, "Disconnect"): State.REJECTED,
}

_PUBLIC: Final = {State.CONNECTING: "init", State.OPEN: "connected"}


class ProtocolError(RuntimeError):
    """The application called something the connection's state does not allow.

    This is the *application's* mistake (sending before accept, accepting twice);
    the peer leaving is reported as :class:`~wsactors.WebSocketDisconnect` instead.
    """


class ConnectionState:
    """The state of one connection.

    Args:
        offered_subprotocols: The subprotocols the client offered.
        http_denials: Whether the transport can send HTTP denial responses; without
            it a denial falls back to close-before-accept (HTTP 403).
    """

    __slots__ = (
        "_http_denials",
        "_offered",
        "close_code",
        "close_reason",
        "closed_by_engine",
        "closed_by_peer",
        "current",
        "denial_status",
        "peer_gone",
        "requested",
        "sendable",
        "state",
        "subprotocol",
        "wire_open",
    )

    def __init__(self, offered_subprotocols: tuple[str, ...] = (), *, http_denials: bool) -> None:
        self.state = State.CONNECTING
        self.requested = State.CONNECTING
        #: The further along of the two, kept up to date.
        self.current = State.CONNECTING
        #: ``current is OPEN`` and ``state is OPEN``, as plain booleans: the
        #: per-message checks (an enum member lookup costs ~50 ns each).
        self.sendable = False
        self.wire_open = False
        #: The code and reason of the close: the one queued or sent by this side, or
        #: the peer's when it closed first.
        self.close_code: int | None = None
        self.close_reason = ""
        #: Whether the peer ended the connection before this side closed it.
        self.closed_by_peer = False
        #: Whether the transport ended the connection before this side closed it
        #: (the native engine failing it): ``close_code`` is then the engine's.
        self.closed_by_engine = False
        #: Whether the peer is gone: nothing may be handed to the transport any more.
        self.peer_gone = False
        self.subprotocol: str | None = None
        #: The HTTP status of the denial this side queued (a close before accept
        #: reaches the client as 403), for the metrics of denied handshakes.
        self.denial_status: int | None = None
        self._offered = offered_subprotocols
        self._http_denials = http_denials

    # ------------------------------------------------------------------ views
    @property
    def public_state(self) -> str:
        """``"init"``, ``"connected"`` or ``"disconnected"`` (the public names)."""
        return _PUBLIC.get(self.current, "disconnected")

    @property
    def accepted(self) -> bool:
        """Whether an accept was queued or sent (stays True after the close)."""
        return self.requested is not State.CONNECTING and self.requested is not State.REJECTED

    def disconnect_error(self) -> WebSocketDisconnect:
        """The exception for an operation on a connection that is over."""
        code = self.close_code if self.close_code is not None else ABNORMAL
        return WebSocketDisconnect(self.close_reason, code)

    # ------------------------------------------------------------------ application side
    def accept_event(self, subprotocol: str | None, headers: HeadersArg) -> Accept:
        """The ``Accept`` to queue; nothing changes until :meth:`queued`.

        Raises:
            WebSocketDisconnect: the client left before it was accepted.
            ProtocolError: not connecting, or ``subprotocol`` was not offered.
            ValueError: an invalid header name or value (named in the message).
        """
        if self.peer_gone:
            raise self.disconnect_error()
        if self.current is not State.CONNECTING:
            raise ProtocolError(f"cannot accept a connection that is {self.public_state}")
        if subprotocol is not None and subprotocol not in self._offered:
            # RFC 6455 section 4.2.2: the server must pick one of the offered values.
            raise ProtocolError(
                f"subprotocol {subprotocol!r} was not offered by the client "
                f"(offered: {list(self._offered)})"
            )
        return Accept(subprotocol, encode_headers(headers))

    def check_send(self) -> None:
        """Raise unless application data may be queued now.

        Raises:
            WebSocketDisconnect: the peer left, or this side already closed.
            ProtocolError: the connection was never accepted.
        """
        if self.sendable:
            return
        if self.current is State.CONNECTING:
            raise ProtocolError("cannot send before the connection is accepted")
        raise WebSocketDisconnect(self.close_reason, self.close_code or Why.NORMAL.code)

    def close_event(self, code: int, reason: str) -> Close | None:
        """The ``Close`` to queue, or ``None`` when closing is moot (idempotent).

        Raises:
            ValueError: ``code`` may not be sent (RFC 6455 section 7.4).
        """
        validate_close_code(code)
        if self.peer_gone or self.current >= State.CLOSING:
            return None
        return Close(code, truncate_reason(reason))

    def deny_events(
        self, status: int, body: bytes, headers: HeadersArg
    ) -> list[Deny] | list[Close]:
        """The events that reject the handshake with an HTTP response.

        Without the transport's HTTP denials, close-before-accept (HTTP 403) instead.
        Once the peer has left there is no one to answer: no events.

        Raises:
            ProtocolError: the connection was already accepted or closed.
            ValueError: an invalid header name or value.
        """
        if self.peer_gone:
            return []
        if self.current is not State.CONNECTING:
            raise ProtocolError(f"cannot deny a connection that is {self.public_state}")
        if not self._http_denials:
            return [Close(Why.POLICY.code, "")]
        return [Deny(status, _denial_headers(encode_headers(headers), body), body)]

    def queued(self, event: Outgoing) -> None:
        """Record that the application's ``event`` is now in the outbox."""
        kind = type(event)
        if kind is Accept:
            assert isinstance(event, Accept)
            self._request(State.OPEN)
            self.subprotocol = event.subprotocol
        elif kind is Close:
            assert isinstance(event, Close)
            if not self.accepted and self.denial_status is None:
                self.denial_status = 403
            self._request(State.CLOSING if self.accepted else State.REJECTED)
            self._record_close(event.code, event.reason)
        elif kind is Deny:
            assert isinstance(event, Deny)
            if self.denial_status is None:
                self.denial_status = event.status
            self._request(State.REJECTED)
            self._record_close(ABNORMAL, "")  # no WebSocket was ever opened

    def _request(self, state: State) -> None:
        self.requested = max(self.requested, state)
        self.current = max(self.state, self.requested)
        self.sendable = self.current is State.OPEN

    def _move(self, state: State) -> None:
        self.state = state
        self.wire_open = state is State.OPEN
        self._request(state)

    def _record_close(self, code: int, reason: str) -> None:
        if not (self.closed_by_peer or self.closed_by_engine):
            self.close_code = code
            self.close_reason = reason

    # ------------------------------------------------------------------ transport side
    def hand_over(self, event: Outgoing) -> bool:
        """Apply ``event``'s transition as the sender hands it to the transport.

        Returns:
            Whether the event may go out: False for data after the close, a second
            close, or anything once the peer is gone.
        """
        if type(event) is Send:  # the per-message path: one attribute
            return self.wire_open
        if self.peer_gone:
            return False
        name = type(event).__name__
        following = TRANSITIONS.get((self.state, name))
        if following is None:
            return name == "Ping" and self.state is State.OPEN
        self._move(following)
        if name == "Accept":
            assert isinstance(event, Accept)
            self.subprotocol = event.subprotocol
        elif name == "Close":
            assert isinstance(event, Close)
            self._record_close(event.code, event.reason)
        return True

    def peer_left(self, code: int, reason: str = "", by_peer: bool = True) -> bool:
        """Record that the peer is gone; returns whether this is news.

        Args:
            code: The peer's close code (1005 when it sent none).
            reason: Its reason.
            by_peer: False when the transport itself ended the connection; ``code``
                is then the transport's.
        """
        if self.peer_gone:
            return False
        self.peer_gone = True
        if self.state < State.CLOSING and not self.closed_by_engine:
            # The peer closed before our close frame went out (if one was queued, it
            # never will): its code is the connection's (RFC 6455 section 7.1.5).
            self.closed_by_peer = by_peer
            self.closed_by_engine = not by_peer
            self.close_code = code if code else NO_STATUS
            self.close_reason = reason
        self._move(TRANSITIONS[(self.state, "Disconnect")])
        return True

    def engine_failing(self, code: int, reason: str) -> bool:
        """Record that the transport is failing the connection; whether this is news.

        The peer's input is over, but the wire stays open for what the application
        sends until its close, which carries ``code`` (see
        ``events.Failing``); ``code`` is the connection's unless a
        close was already handed over.
        """
        if self.peer_gone or self.closed_by_engine:
            return False
        if self.state < State.CLOSING:
            self.closed_by_engine = True
            self.close_code = code
            self.close_reason = reason
        return True


def _denial_headers(pairs: HeaderPairs, body: bytes) -> HeaderPairs:
    out = list(pairs)
    if not any(name == b"content-type" for name, _ in out):
        out.append((b"content-type", b"text/plain; charset=utf-8"))
    out.append((b"content-length", str(len(body)).encode("ascii")))
    return tuple(out)
