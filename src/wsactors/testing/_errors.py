"""What the test helpers raise, each saying who is at fault.

``LifespanError`` and ``AppProtocolError`` are the lifespan driver's own
(:mod:`wsactors.lifespan.driver`), re-exported: the native engine raises the same.
"""

from __future__ import annotations

import trio

from ..exceptions import WebSocketDisconnect
from ..lifespan.driver import AppProtocolError, LifespanError

__all__ = ["AppProtocolError", "LifespanError", "TestClientTimeout", "WebSocketDenied"]


class TestClientTimeout(trio.TooSlowError):
    """Something the test waited for did not happen in time; the message names it."""

    __test__ = False  # not a test class, whatever pytest's name pattern says


class WebSocketDenied(WebSocketDisconnect):
    """The app refused the handshake with an HTTP response instead of accepting.

    ``code`` is 1006 (RFC 6455 section 7.4.1: closed abnormally, no close frame), as
    no WebSocket was ever opened; the useful attributes are the HTTP ones.

    Attributes:
        status_code: The HTTP status of the denial response.
        headers: Its headers, as ``(bytes, bytes)`` pairs.
        body: Its body.
    """

    def __init__(
        self,
        status_code: int,
        body: bytes = b"",
        headers: list[tuple[bytes, bytes]] | None = None,
        *,
        reason: str = "",
    ) -> None:
        super().__init__(reason=reason or f"denied with HTTP {status_code}", code=1006)
        self.status_code = status_code
        self.body = body
        self.headers = headers or []

    def __repr__(self) -> str:
        return f"WebSocketDenied(status_code={self.status_code}, body={self.body[:80]!r})"
