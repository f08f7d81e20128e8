"""Close codes: the one table of why a connection closes, and what the client sees.

Every close the framework itself decides is named here (:class:`Why`); other modules
build the exception that carries it with :func:`stop_error` and never spell a code.
:func:`close_for_error` is the table of docs/close-codes.md: how a behaviour's
ending exception becomes the code and reason of the close frame. Sans-I/O: no Trio.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from ..exceptions import HTTPDenialError, WebSocketDisconnect, WebSocketException

__all__ = [
    "MAX_REASON_BYTES",
    "NO_STATUS",
    "CloseInfo",
    "Why",
    "close_for_error",
    "stop_error",
    "truncate_reason",
    "validate_close_code",
]

# RFC 6455 section 7.4.1: 1005 is "no status code was present"; never sent, but it is
# what a peer's close without a code (and the ASGI default) reports.
NO_STATUS: Final = 1005
#: RFC 6455 section 7.4.1: 1006, the connection dropped without a close frame. Never sent.
ABNORMAL: Final = 1006

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


class Why(enum.Enum):
    """Every close the framework decides by itself: ``(code, reason)``.

    The codes are RFC 6455 section 7.4.1's; docs/close-codes.md lists when each is used.
    """

    NORMAL = (1000, "")
    GOING_AWAY = (1001, "Going Away")
    IDLE_TIMEOUT = (1001, "idle timeout")
    PROTOCOL_ERROR = (1002, "protocol error")
    INVALID_PAYLOAD = (1007, "invalid payload")
    POLICY = (1008, "policy violation")
    DATA_DISCARDED = (
        1008,
        "data received while streaming; set allow_data_discard=True to drop client messages",
    )
    RATE_LIMITED = (1008, "rate limit exceeded")
    SEND_TIMEOUT = (1008, "send timeout")
    TOO_BIG = (1009, "message too big")
    INTERNAL_ERROR = (1011, "Internal Server Error")
    KEEPALIVE_TIMEOUT = (1011, "keepalive ping timeout")
    TRY_AGAIN = (1013, "Try Again Later")
    BUFFERS_FULL = (1013, "Try Again Later: the server's buffers are full")

    @property
    def code(self) -> int:
        """The close code sent for this reason."""
        return self.value[0]

    @property
    def reason(self) -> str:
        """The default reason text."""
        return self.value[1]


def stop_error(why: Why, detail: str | None = None) -> WebSocketException:
    """The exception that closes the connection for ``why``.

    Args:
        why: The framework's reason.
        detail: A reason text replacing the default one (for example the sizes of
            an oversized message).
    """
    return WebSocketException(detail if detail is not None else why.reason, why.code)


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

    The table of docs/close-codes.md:

    - ended normally (``None``) or the client disconnected: 1000;
    - :class:`~wsactors.WebSocketException` (including the codec's 1007, the stream
      rule's 1008 and every :class:`Why`): its own code and reason;
    - a denial error (guard, bad query parameter) after accept: 1008 and its detail
      (before accept it is an HTTP response instead: see
      :func:`wsactors.connection.endings.final_events`);
    - any other exception: 1011 "Internal Server Error" (with the exception's
      text appended when ``debug`` is on).

    Args:
        error: The exception that ended the handler, or ``None``.
        debug: Whether to reveal the exception's text in the reason.

    Returns:
        A :class:`CloseInfo` whose reason fits in a close frame.
    """
    if error is None or isinstance(error, WebSocketDisconnect):
        return CloseInfo(Why.NORMAL.code, "")
    if isinstance(error, WebSocketException):
        try:
            code = validate_close_code(error.code)
        except ValueError:
            code = Why.INTERNAL_ERROR.code
        return CloseInfo(code, truncate_reason(error.reason))
    if isinstance(error, HTTPDenialError):
        return CloseInfo(Why.POLICY.code, truncate_reason(error.detail))
    reason = Why.INTERNAL_ERROR.reason
    if debug:
        reason = f"{reason}: {type(error).__name__}: {error}"
    return CloseInfo(Why.INTERNAL_ERROR.code, truncate_reason(reason))
