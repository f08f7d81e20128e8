"""Test helpers: an in-process Trio client and a live hypercorn server.

:class:`TestClient` drives an ASGI app in the test's own Trio run through bounded
memory channels: no sockets, no threads. It speaks the ASGI ``lifespan`` and
``websocket`` protocols the way hypercorn's Trio worker does, with these
deliberate differences (each is also stated where it applies):

- a ``websocket.close`` before accept raises :class:`WebSocketDisconnect` with the
  app's code; hypercorn answers HTTP 403 and the code is lost;
- the app sees the client's real close code in ``websocket.disconnect``;
  hypercorn reports 1006 for every client-initiated close (its issue #127);
- after the app's own ``websocket.close`` the app is told ``websocket.disconnect``
  with the same code at once (the client echoes it, RFC 6455 section 5.5.1);
  hypercorn reports 1000 once the client's close frame arrives;
- it is stricter: an exception escaping the app is raised in the test, and an
  ASGI message that is invalid in the current state (a second close, ``send``
  before accept, ...) raises ``RuntimeError`` inside the app's ``send``.

Memory bound per session: at most :data:`APP_TO_CLIENT_BUFFER` messages from the
app wait for the test to read them (then the app's ``send`` blocks, as with a slow
client) and at most :data:`CLIENT_TO_APP_BUFFER` messages from the test wait for
the app (then the test's ``send_*`` blocks, failing after the timeout).

:class:`LiveServer` runs the app on hypercorn's Trio worker on a free loopback
port for end-to-end tests with a real client (trio-websocket, the ``testing``
extra).

Modules: :mod:`._client` (TestClient), :mod:`._lifespan` (the lifespan protocol),
:mod:`._session` (the test's end of a connection), :mod:`._server_end` (the app's
end, played as hypercorn plays it), :mod:`._scope` (ASGI scopes), :mod:`._live`
(LiveServer), :mod:`._errors`.
"""

from __future__ import annotations

from ._client import TestClient
from ._errors import LifespanError, TestClientTimeout, WebSocketDenied
from ._live import ClientOptions, LiveServer, open_client
from ._server_end import APP_TO_CLIENT_BUFFER, CLIENT_TO_APP_BUFFER
from ._session import WebSocketTestSession

__all__ = [
    "APP_TO_CLIENT_BUFFER",
    "CLIENT_TO_APP_BUFFER",
    "ClientOptions",
    "LifespanError",
    "LiveServer",
    "TestClient",
    "TestClientTimeout",
    "WebSocketDenied",
    "WebSocketTestSession",
    "open_client",
]
