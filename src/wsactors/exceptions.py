"""Exceptions of wsactors, each saying who is at fault.

- :class:`WebSocketException`: the application decides to close a connection with
  a code and reason.
- :class:`WebSocketDisconnect`: the *peer* went away (or the connection is already
  closed); raised by receives and sends on a closed socket.
- :class:`ImproperlyConfiguredError`: a registration mistake, raised when the App
  is built, never at request time.
- :class:`NotAuthorizedError` / :class:`PermissionDeniedError`: raised by guards to
  deny the handshake with HTTP 401 / 403.
"""

from __future__ import annotations

__all__ = [
    "DataDiscardedWarning",
    "ImproperlyConfiguredError",
    "NotAuthorizedError",
    "PermissionDeniedError",
    "WebSocketDisconnect",
    "WebSocketException",
]


class WebSocketException(Exception):
    """Raise it to close the connection with ``code`` and ``reason``.

    Args:
        reason: Close reason sent to the client (truncated to the 123-byte limit of
            RFC 6455 section 5.5.1).
        code: Close code; 1011 (internal error) unless given.
        detail: Litestar's name for ``reason``, accepted so that
            ``WebSocketException(detail="...", code=4001)`` ports unchanged.

    Raises:
        TypeError: ``reason`` and ``detail`` both given, and different.
    """

    def __init__(self, reason: str = "", code: int = 1011, *, detail: str | None = None) -> None:
        if detail is not None:
            if reason and reason != detail:
                raise TypeError(
                    f"{type(self).__name__}: give reason or detail (the same thing), "
                    f"not both: {reason!r} / {detail!r}"
                )
            reason = detail
        super().__init__(reason)
        self.reason = reason
        self.code = code

    @property
    def detail(self) -> str:
        """The close reason, under Litestar's name (the same as :attr:`reason`)."""
        return self.reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(reason={self.reason!r}, code={self.code})"

    def __str__(self) -> str:
        return f"{self.code}: {self.reason}" if self.reason else str(self.code)


class WebSocketDisconnect(WebSocketException):
    """The connection is closed: the client left, or it was already closed.

    ``code`` is the close code the server reported for the client (hypercorn reports
    1006 for every client-initiated close, its issue #127) or the code this side
    closed with. ``detail`` is the close reason, as in Litestar.
    """

    def __init__(self, reason: str = "", code: int = 1000, *, detail: str | None = None) -> None:
        super().__init__(reason, code, detail=detail)


class InvalidMessageError(WebSocketException):
    """A received payload could not be decoded or validated (close 1007).

    RFC 6455 section 7.4.1: 1007 means "received data within a message that was not
    consistent with the type of the message". Not part of the public API; catch
    :class:`WebSocketException` and check ``code`` instead.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, 1007)


class ImproperlyConfiguredError(Exception):
    """A handler, router or dependency is registered wrongly.

    Raised while the :class:`~wsactors.App` is built, never per connection.
    """


class HTTPDenialError(Exception):
    """Base of errors that deny the handshake with an HTTP status (before accept).

    Raised after accept, they close the connection with 1008 (policy violation)
    instead, since no HTTP response can be sent any more.
    """

    status_code: int = 403
    default_detail = "Forbidden"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail or self.default_detail)
        self.detail = detail or self.default_detail


class BadRequestError(HTTPDenialError):
    """A path or query parameter is missing or malformed: HTTP 400 before accept."""

    status_code = 400
    default_detail = "Bad Request"


class NotAuthorizedError(HTTPDenialError):
    """Deny the handshake with HTTP 401 (raised by guards, before accept)."""

    status_code = 401
    default_detail = "Unauthorized"


class PermissionDeniedError(HTTPDenialError):
    """Deny the handshake with HTTP 403 (raised by guards, before accept)."""

    status_code = 403
    default_detail = "Forbidden"


class DataDiscardedWarning(UserWarning):
    """A stream dropped a client message because ``allow_data_discard=True``."""
