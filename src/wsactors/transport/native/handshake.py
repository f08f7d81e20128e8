"""The native transport's answer to the handshake: the 101, or an HTTP response.

The runtime's :class:`~wsactors.connection.events.Accept` turns the 101 response that
``protocol.accept(request)`` prepared into the one sent (the chosen subprotocol,
the handler's headers); its :class:`~wsactors.connection.events.Deny` becomes a plain HTTP
response (status, headers, body; ``Connection: close``).
:class:`~wsactors.transport.native.transport.NativeTransport` sends them and starts the
connection's timer after a 101.
"""

from __future__ import annotations

import http

from websockets.datastructures import Headers
from websockets.http11 import Response
from websockets.server import ServerProtocol

from ...connection.events import Accept, Deny

__all__ = ["accepted_response", "denied_response"]


def accepted_response(protocol: ServerProtocol, response: Response, event: Accept) -> Response:
    """The prepared 101 ``response`` with the subprotocol and headers of ``event``.

    The subprotocol is also recorded on ``protocol``.
    """
    headers = response.headers
    if event.subprotocol is not None:
        if "Sec-WebSocket-Protocol" in headers:
            del headers["Sec-WebSocket-Protocol"]
        headers["Sec-WebSocket-Protocol"] = event.subprotocol
        protocol.subprotocol = event.subprotocol  # type: ignore[assignment]
    for name, value in event.headers:
        headers[name.decode("latin-1")] = value.decode("latin-1")
    return response


def denied_response(event: Deny) -> Response:
    """The HTTP response of a denial: its status, headers and body; then the close."""
    headers = Headers([("Connection", "close")])
    for name, value in event.headers:
        headers[name.decode("latin-1")] = value.decode("latin-1")
    return Response(event.status, _phrase(event.status), headers, event.body)


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""
