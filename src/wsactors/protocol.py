"""Sans-I/O protocol state and the close-code table.

Theory of operation
-------------------
A connection moves through four states (API.md exposes three of them through
``WebSocket.connection_state``: ``closing`` reads as ``"disconnected"`` because the
application may no longer send once it has closed)::

    INIT ──accept──> CONNECTED ──app close──> CLOSING ──client gone──> DISCONNECTED
      │                  │                                                 ▲
      ├──deny / close────┼──────────────────────────────────────────────────┤
      └──client gone─────┴──client gone─────────────────────────────────────┘

The application side (the ``WebSocket`` handle) asks for transitions with
:meth:`ProtocolState.accept`, :meth:`ProtocolState.close` and
:meth:`ProtocolState.deny`; each returns the ASGI messages to hand to the sender
actor, or raises :class:`ProtocolError` when the call is illegal in the current
state. The receiver actor reports the peer leaving with
:meth:`ProtocolState.client_left`. Nothing here does I/O or imports Trio, so every
rule is unit-tested without sockets.

:func:`close_for_error` is the single place that implements the close-code table
of API.md.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .exceptions import HTTPDenialError, WebSocketDisconnect, WebSocketException

__all__ = [
    "ABNORMAL_CLOSURE",
    "GOING_AWAY",
    "INTERNAL_ERROR",
    "INVALID_PAYLOAD",
    "MAX_REASON_BYTES",
    "MESSAGE_TOO_BIG",
    "NORMAL_CLOSURE",
    "POLICY_VIOLATION",
    "CloseInfo",
    "ConnState",
    "ProtocolError",
    "ProtocolState",
    "close_for_error",
    "truncate_reason",
    "validate_close_code",
]

# RFC 6455 section 7.4.1 status codes used by the framework.
NORMAL_CLOSURE: Final = 1000
GOING_AWAY: Final = 1001
ABNORMAL_CLOSURE: Final = 1006  # never sent on the wire; what hypercorn reports for client closes
INVALID_PAYLOAD: Final = 1007
POLICY_VIOLATION: Final = 1008
MESSAGE_TOO_BIG: Final = 1009
INTERNAL_ERROR: Final = 1011

# RFC 6455 section 5.5: control frame payloads are at most 125 bytes, two of which
# carry the close code, leaving 123 bytes for the UTF-8 reason.
MAX_REASON_BYTES: Final = 123

# RFC 6455 section 7.4.1/7.4.2: 1004, 1005, 1006 and 1015 are reserved and "MUST NOT
# be set as a status code in a Close control frame by an endpoint"; below 1000 and
# 1016-2999 are unassigned or reserved for the protocol; 3000-4999 are for libraries
# and applications.
_SENDABLE_PROTOCOL_CODES: Final = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)


class ConnState(enum.Enum):
    """Where a connection is in its life (see the module docstring)."""

    INIT = "init"
    CONNECTED = "connected"
    CLOSING = "closing"
    DISCONNECTED = "disconnected"


class ProtocolError(RuntimeError):
    """The application called something the connection's state does not allow.

    This is the *application's* mistake (sending before accept, accepting twice);
    the peer leaving is reported as :class:`~wsactors.WebSocketDisconnect` instead.
    """


@dataclass(frozen=True, slots=True)
class CloseInfo:
    """A close code and reason, with the reason already truncated."""

    code: int
    reason: str


def truncate_reason(reason: str) -> str:
    """Cut ``reason`` to at most 123 UTF-8 bytes without splitting a character.

    Args:
        reason: Any text.

    Returns:
        The longest prefix of ``reason`` whose UTF-8 encoding fits in a close frame.
    """
    if reason.isascii() and len(reason) <= MAX_REASON_BYTES:
        return reason
    # errors="replace": a lone surrogate (e.g. from a surrogate-escaped file name in
    # an exception text) cannot be sent as UTF-8 (RFC 6455 section 5.5.1).
    encoded = reason.encode("utf-8", errors="replace")
    if len(encoded) <= MAX_REASON_BYTES:
        return encoded.decode("utf-8")
    # errors="ignore" drops the partial trailing character left by the byte cut.
    return encoded[:MAX_REASON_BYTES].decode("utf-8", errors="ignore")


def validate_close_code(code: int) -> int:
    """Check that ``code`` may be sent in a close frame (RFC 6455 section 7.4).

    Raises:
        ValueError: for reserved or unassigned codes such as 1005, 1006 or 2000.
    """
    if code in _SENDABLE_PROTOCOL_CODES or 3000 <= code <= 4999:
        return code
    raise ValueError(f"close code {code} may not be sent (RFC 6455 section 7.4)")


def close_for_error(error: BaseException | None, *, debug: bool = False) -> CloseInfo:
    """The close code and reason the client sees for how a handler ended.

    This is API.md's close-code table in one place:

    - ended normally (``None``) or the client disconnected: 1000;
    - :class:`~wsactors.WebSocketException` (including the codec's 1007 and the
      stream rule's 1008): its own code and reason;
    - a denial error (guard, bad query parameter) after accept: 1008 and its detail
      (before accept it is an HTTP response instead: see :meth:`ProtocolState.deny`);
    - any other exception: 1011 "Internal Server Error" (with the exception's
      text appended when ``debug`` is on).

    Args:
        error: The exception that ended the handler, or ``None``.
        debug: Whether to reveal the exception's text in the reason.

    Returns:
        A :class:`CloseInfo` whose reason fits in a close frame.
    """
    if error is None or isinstance(error, WebSocketDisconnect):
        return CloseInfo(NORMAL_CLOSURE, "")
    if isinstance(error, WebSocketException):
        try:
            code = validate_close_code(error.code)
        except ValueError:
            code = INTERNAL_ERROR
        return CloseInfo(code, truncate_reason(error.reason))
    if isinstance(error, HTTPDenialError):
        return CloseInfo(POLICY_VIOLATION, truncate_reason(error.detail))
    reason = "Internal Server Error"
    if debug:
        reason = f"{reason}: {type(error).__name__}: {error}"
    return CloseInfo(INTERNAL_ERROR, truncate_reason(reason))


HeaderPairs = list[tuple[bytes, bytes]]


def encode_headers(headers: Iterable[tuple[str | bytes, str | bytes]] | None) -> HeaderPairs:
    """Turn header pairs into the lower-cased byte pairs ASGI requires."""
    if not headers:
        return []
    out: HeaderPairs = []
    for name, value in headers:
        raw_name = name.encode("latin-1") if isinstance(name, str) else name
        raw_value = value.encode("latin-1") if isinstance(value, str) else value
        out.append((raw_name.lower(), raw_value))
    return out


class ProtocolState:
    """The state of one connection, as seen from the application.

    Args:
        offered_subprotocols: The subprotocols the client offered (from the scope).
        http_response_extension: Whether the server supports the ASGI
            ``websocket.http.response`` extension (denials as real HTTP responses).
    """

    __slots__ = (
        "_http_response",
        "_offered",
        "accepted",
        "client_gone",
        "close_code",
        "close_reason",
        "state",
        "subprotocol",
    )

    def __init__(
        self, offered_subprotocols: Sequence[str] = (), *, http_response_extension: bool = False
    ) -> None:
        self.state = ConnState.INIT
        #: True once the handshake was accepted (stays True after the close).
        self.accepted = False
        #: True once the peer is gone: nothing may be sent any more.
        self.client_gone = False
        self.close_code: int | None = None
        self.close_reason = ""
        self.subprotocol: str | None = None
        self._offered = tuple(offered_subprotocols)
        self._http_response = http_response_extension

    @property
    def public_state(self) -> str:
        """``"init"``, ``"connected"`` or ``"disconnected"`` (closing reads as the last)."""
        if self.state is ConnState.CLOSING:
            return "disconnected"
        return str(self.state.value)

    def accept(
        self, subprotocol: str | None, headers: Iterable[tuple[str | bytes, str | bytes]] | None
    ) -> dict[str, Any]:
        """Move INIT -> CONNECTED and build the ``websocket.accept`` message.

        Raises:
            WebSocketDisconnect: the client left before it was accepted.
            ProtocolError: not in INIT, or ``subprotocol`` was not offered by the client.
        """
        if self.client_gone:
            raise WebSocketDisconnect(self.close_reason, self.close_code or ABNORMAL_CLOSURE)
        if self.state is not ConnState.INIT:
            raise ProtocolError(f"cannot accept a connection that is {self.public_state}")
        if subprotocol is not None and subprotocol not in self._offered:
            # RFC 6455 section 4.2.2: the server must pick one of the offered values.
            raise ProtocolError(
                f"subprotocol {subprotocol!r} was not offered by the client "
                f"(offered: {list(self._offered)})"
            )
        self.state = ConnState.CONNECTED
        self.accepted = True
        self.subprotocol = subprotocol
        message: dict[str, Any] = {"type": "websocket.accept", "subprotocol": subprotocol}
        encoded = encode_headers(headers)
        if encoded:
            message["headers"] = encoded
        return message

    def check_send(self) -> None:
        """Raise unless application data may be sent now.

        Raises:
            WebSocketDisconnect: the peer left, or this side already closed.
            ProtocolError: the connection was never accepted.
        """
        if self.state is ConnState.CONNECTED:
            return
        if self.state is ConnState.INIT:
            raise ProtocolError("cannot send before the connection is accepted")
        raise WebSocketDisconnect(self.close_reason, self.close_code or NORMAL_CLOSURE)

    def close(self, code: int, reason: str) -> dict[str, Any] | None:
        """Ask to close; returns the ``websocket.close`` message, or ``None`` if moot.

        Closing before accept rejects the handshake (the server answers HTTP 403);
        closing twice, or after the peer left, is a no-op so that ``close`` is
        idempotent.

        Raises:
            ValueError: ``code`` may not be sent (RFC 6455 section 7.4).
        """
        validate_close_code(code)
        if self.client_gone or self.state in (ConnState.CLOSING, ConnState.DISCONNECTED):
            return None
        reason = truncate_reason(reason)
        self.close_code = code
        self.close_reason = reason
        self.state = (
            ConnState.CLOSING if self.state is ConnState.CONNECTED else ConnState.DISCONNECTED
        )
        return {"type": "websocket.close", "code": code, "reason": reason}

    def deny(
        self,
        status: int,
        body: bytes,
        headers: Iterable[tuple[str | bytes, str | bytes]] | None,
    ) -> list[dict[str, Any]]:
        """Reject the handshake with an HTTP response (INIT -> DISCONNECTED).

        Uses the ASGI ``websocket.http.response`` extension when the server offers
        it; otherwise falls back to close-before-accept, which servers answer with
        HTTP 403.

        Once the client has left there is no one to answer: like :meth:`close`, this
        is then a no-op returning no messages.

        Raises:
            ProtocolError: the connection was already accepted or closed.
        """
        if self.client_gone:
            return []
        if self.state is not ConnState.INIT:
            raise ProtocolError(f"cannot deny a connection that is {self.public_state}")
        self.state = ConnState.DISCONNECTED
        self.close_code = ABNORMAL_CLOSURE  # no WebSocket was ever opened
        if not self._http_response:
            self.close_code = POLICY_VIOLATION
            return [{"type": "websocket.close", "code": POLICY_VIOLATION, "reason": ""}]
        pairs = encode_headers(headers)
        if not any(name == b"content-type" for name, _ in pairs):
            pairs.append((b"content-type", b"text/plain; charset=utf-8"))
        pairs.append((b"content-length", str(len(body)).encode("ascii")))
        return [
            {"type": "websocket.http.response.start", "status": status, "headers": pairs},
            {"type": "websocket.http.response.body", "body": body, "more_body": False},
        ]

    def client_left(self, code: int, reason: str = "") -> bool:
        """Record that the peer is gone; returns whether this is news.

        Args:
            code: The code from the ASGI ``websocket.disconnect`` message.
            reason: Its reason, when the server reports one (ASGI spec 2.3+).
        """
        if self.client_gone:
            return False
        self.client_gone = True
        if self.state is not ConnState.CLOSING or self.close_code is None:
            self.close_code = code
            self.close_reason = reason
        self.state = ConnState.DISCONNECTED
        return True

    def close_due(self) -> bool:
        """Whether a close frame (or handshake rejection) is still owed to the peer."""
        return not self.client_gone and self.state in (ConnState.INIT, ConnState.CONNECTED)
