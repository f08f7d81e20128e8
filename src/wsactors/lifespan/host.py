"""The server an App runs under, checked once at the App's ASGI entry.

wsactors runs on Trio. An ASGI server on asyncio (plain ``hypercorn`` without
``-k trio``, uvicorn) would otherwise start, then fail every handshake with a
traceback deep in Trio (``RuntimeError: must be called from async context``).
Instead, :class:`Host` sees the async library (``sniffio``) where the server first
calls the App:

- at the lifespan startup, which it fails (``lifespan.startup.failed``) after
  logging :data:`WRONG_LOOP` once; the server then stops, as for any failed startup;
- at a handshake, when the server sent no lifespan (``uvicorn --lifespan off``, a
  middleware that answers the lifespan itself): it logs :data:`WRONG_LOOP` once
  and answers the handshake with HTTP 500 (through the ``websocket.http.response``
  extension when the server offers it, else with ``websocket.close``, which
  servers answer with 403), and the next ones too.

Nothing of Trio is touched on that path. Once a handshake arrived on Trio the
check is done for good (:attr:`Host.ready`): a connection then costs the App one
attribute test, and a message nothing.

Logging: under a plain ``hypercorn -k trio`` command hypercorn configures its own
``hypercorn.error`` logger only, and wsactors' INFO lines would go nowhere. When
nothing else was configured for them (no handler on the ``wsactors`` loggers nor on
the root logger), :func:`adopt_server_logging` gives the ``wsactors`` logger
hypercorn's error log handlers and level, so wsactors' lines show in hypercorn's
format at hypercorn's ``--log-level``. ``wsactors run``, ``--log-config`` and
``logging.basicConfig`` configure logging themselves, and are left alone.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import sniffio

from ..responses import send_response

if TYPE_CHECKING:
    from ..types import ASGIReceive, ASGISend

__all__ = ["WRONG_LOOP", "Host", "adopt_server_logging", "async_library"]

logger = logging.getLogger("wsactors.app")

#: The one line logged when the App is called on another loop than Trio.
WRONG_LOOP = (
    "wsactors runs on Trio: use `hypercorn -k trio module:app` or `wsactors run module:app`"
)

#: The server's error logger whose handlers wsactors' lines adopt (hypercorn's).
SERVER_LOGGER = "hypercorn.error"

_REFUSAL = b"Internal Server Error"


def async_library() -> str:
    """The async library running this task: ``"trio"``, ``"asyncio"``, or ``"unknown"``."""
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return "unknown"


def adopt_server_logging() -> bool:
    """Log wsactors' lines through hypercorn's error log, if nothing else handles them.

    Returns:
        True if the ``wsactors`` logger now has hypercorn's handlers and level.
    """
    ours = logging.getLogger("wsactors")
    if ours.hasHandlers():
        return False  # configured: by the user, `wsactors run`, a test runner, or us
    server = logging.getLogger(SERVER_LOGGER)
    if not server.handlers:
        return False  # not under hypercorn, or its log is not set up yet
    for handler in server.handlers:
        ours.addHandler(handler)
    ours.setLevel(server.getEffectiveLevel())
    return True


class Host:
    """What one App knows of the server calling it.

    Attributes:
        ready: A handshake arrived on Trio: nothing is left to check.
    """

    __slots__ = ("_told", "ready")

    def __init__(self) -> None:
        self.ready = False
        self._told = False

    def _wrong_loop(self) -> str | None:
        """The async library if it is not Trio (the first time, logged), else None."""
        adopt_server_logging()
        library = async_library()
        if library == "trio":
            return None
        if not self._told:
            self._told = True
            logger.error("%s (this server runs %s)", WRONG_LOOP, library)
        return library

    async def refuse_lifespan(self, receive: ASGIReceive, send: ASGISend) -> bool:
        """Fail the lifespan startup unless on Trio; True if it was refused."""
        library = self._wrong_loop()
        if library is None:
            return False
        message = await receive()
        if message["type"] == "lifespan.startup":
            # Not the line again: uvicorn logs this message, hypercorn raises it.
            reason = f"wsactors needs Trio, not {library} (see the error logged above)"
            await send({"type": "lifespan.startup.failed", "message": reason})
        return True

    async def refuse_connection(
        self, scope: dict[str, Any], receive: ASGIReceive, send: ASGISend
    ) -> bool:
        """Answer a handshake with 500 unless on Trio; True if it was refused."""
        if self._wrong_loop() is None:
            self.ready = True
            return False
        message = await receive()
        if message["type"] != "websocket.connect":
            return True  # the client left first
        if "websocket.http.response" in (scope.get("extensions") or {}):
            await send_response(send, 500, _REFUSAL, websocket=True)
        else:
            await send({"type": "websocket.close", "code": 1011})
        return True
