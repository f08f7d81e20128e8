"""The server's end of an in-memory WebSocket: what hypercorn's Trio worker is to the app."""

from __future__ import annotations

import contextlib
import enum
import logging

import trio

from ..exceptions import WebSocketDisconnect
from ..types import ASGIApp
from ._errors import AppProtocolError, WebSocketDenied
from ._scope import Message

__all__ = ["APP_TO_CLIENT_BUFFER", "CLIENT_TO_APP_BUFFER", "ServerEnd"]

logger = logging.getLogger("wsactors.testing")

#: Messages the app may send before the test reads them; then the app's ``send``
#: blocks. Generous so that an app never stalls in a test that reads late.
APP_TO_CLIENT_BUFFER = 256
#: Messages the test may send before the app reads them.
CLIENT_TO_APP_BUFFER = 64


class _State(enum.Enum):
    HANDSHAKE = "handshake"  # websocket.connect sent, no answer yet
    RESPONSE = "response"  # a denial response started, body pending
    CONNECTED = "connected"
    DENIED = "denied"
    CLOSED = "closed"  # the app closed or finished after accept


def _disconnect_message(code: int, reason: str = "") -> Message:
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


class ServerEnd:
    """Runs the app on one ``websocket`` scope and answers it as hypercorn would.

    The app's ``receive()`` returns what the test sent, then ``websocket.disconnect``
    again and again; each message the app sends is checked against the ASGI
    websocket states (an invalid one raises :class:`AppProtocolError` in the app)
    and its frames are queued for the test. The test's end is
    :class:`~wsactors.testing.WebSocketTestSession`, which reads the attributes.

    Attributes:
        scope: The ASGI scope the app is called with.
        accepted: Whether the app accepted (it may have closed since).
        accepted_subprotocol: The subprotocol the app accepted, or ``None``.
        extra_headers: The headers of the app's ``websocket.accept``.
        denial: What the test gets when the app refused the handshake.
        close: The server's close as ``(code, reason)``, once it closed.
        client_closed: Whether the test has left (:meth:`leave`).
        handshake_done: Set once the app accepted, refused or ended.
        to_app: The test's messages, at most :data:`CLIENT_TO_APP_BUFFER` waiting.
        from_app: Frames for the test, at most :data:`APP_TO_CLIENT_BUFFER` waiting.
    """

    def __init__(self, app: ASGIApp, scope: Message, *, timeout: float) -> None:
        self.scope = scope
        self.accepted = False
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []
        self.denial: WebSocketDisconnect | None = None
        self.close: tuple[int, str] | None = None
        self.client_closed = False
        self.handshake_done = trio.Event()
        self.to_app, self._app_inbox = trio.open_memory_channel[Message](CLIENT_TO_APP_BUFFER)
        self._app_outbox, self.from_app = trio.open_memory_channel[Message](APP_TO_CLIENT_BUFFER)
        self._app = app
        self._path: str = scope["path"]
        self._timeout = timeout
        self._state = _State.HANDSHAKE
        self._disconnect = _disconnect_message(1000)  # what the app's receive() gets at the end
        self._app_done = trio.Event()
        self._app_scope: trio.CancelScope | None = None
        self._app_error: Exception | None = None
        self._app_error_reported = False
        self._response: tuple[int, list[tuple[bytes, bytes]]] = (0, [])
        self._response_body: list[bytes] = []

    # -- for the test's end ----------------------------------------------------

    async def start(self, nursery: trio.Nursery) -> None:
        """Queue ``websocket.connect`` and start the app as a task in ``nursery``."""
        self.to_app.send_nowait({"type": "websocket.connect"})
        self._app_scope = await nursery.start(self._run_app)

    def leave(self, code: int, reason: str = "") -> None:
        """The client disconnects; the app is told ``code`` unless the server closed first."""
        if self.client_closed:
            return
        self.client_closed = True
        if self.close is None:
            self._disconnect = _disconnect_message(code, reason)
        self.to_app.close()
        self.from_app.close()  # unblocks an app stuck on a full buffer

    async def wait_done(self) -> bool:
        """Wait for the app task; cancel it if it outlives the timeout.

        Returns:
            Whether the app ended by itself in time.

        Cancellation:
            Shielded; bounded by twice the timeout.
        """
        with trio.CancelScope(shield=True), trio.move_on_after(self._timeout):
            await self._app_done.wait()
        if self._app_done.is_set():
            return True
        await self.cancel()  # shielded and bounded too
        return False

    async def cancel(self) -> None:
        """Cancel the app task and wait for it (shielded, bounded by the timeout)."""
        if self._app_scope is not None:
            self._app_scope.cancel()
        with trio.CancelScope(shield=True), trio.move_on_after(self._timeout):
            await self._app_done.wait()
        if not self._app_done.is_set():
            logger.error("the app for %r ignores cancellation; it is left running", self._path)

    def raise_error(self) -> None:
        """Raise what the app raised, once; the test sees each error a single time."""
        if self._app_error is not None and not self._app_error_reported:
            self._app_error_reported = True
            raise self._app_error

    # -- the app's side ----------------------------------------------------------

    async def _run_app(
        self, *, task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED
    ) -> None:
        try:
            with trio.CancelScope() as cancel_scope:
                task_status.started(cancel_scope)
                try:
                    await self._app(self.scope, self._asgi_receive, self._asgi_send)
                except Exception as exc:  # kept and raised in the test, never dropped
                    self._app_error = exc
        finally:
            self._app_finished()

    def _app_finished(self) -> None:
        self._app_done.set()
        self._app_inbox.close()
        if self._state is _State.CONNECTED and not self.client_closed:
            self._server_closed(1011, "")  # what hypercorn sends when the app just ends
        self._app_outbox.close()
        self.handshake_done.set()

    async def _asgi_receive(self) -> Message:
        try:
            return await self._app_inbox.receive()
        except trio.EndOfChannel:
            return dict(self._disconnect)  # again and again, like hypercorn

    async def _asgi_send(self, message: Message) -> None:
        if self.client_closed:
            return  # the client is gone: dropped, like a real server does
        kind, state = message.get("type"), self._state
        if state is _State.HANDSHAKE and kind == "websocket.accept":
            self._accept(message)
        elif state is _State.HANDSHAKE and kind == "websocket.close":
            reason = message.get("reason") or ""
            self._deny(WebSocketDisconnect(reason=reason, code=int(message.get("code", 1000))))
        elif state is _State.HANDSHAKE and kind == "websocket.http.response.start":
            headers = [(bytes(k), bytes(v)) for k, v in message.get("headers") or []]
            self._response = (int(message["status"]), headers)
            self._state = _State.RESPONSE
        elif state is _State.RESPONSE and kind == "websocket.http.response.body":
            self._response_body.append(bytes(message.get("body", b"")))
            if not message.get("more_body", False):
                status, headers = self._response
                self._deny(WebSocketDenied(status, b"".join(self._response_body), headers))
        elif state is _State.CONNECTED and kind == "websocket.send":
            await self._deliver(message)
        elif state is _State.CONNECTED and kind == "websocket.close":
            self._server_closed(int(message.get("code", 1000)), message.get("reason") or "")
        else:
            raise AppProtocolError(
                f"the ASGI app sent {kind!r} in state {state.value!r} on {self._path!r}"
            )

    def _accept(self, message: Message) -> None:
        subprotocol = message.get("subprotocol")
        if subprotocol is not None and subprotocol not in self.scope["subprotocols"]:
            raise AppProtocolError(
                f"the app accepted subprotocol {subprotocol!r}, which the client did not"
                f" offer ({self.scope['subprotocols']!r})"
            )
        headers = [(bytes(k), bytes(v)) for k, v in message.get("headers") or []]
        if any(name.lower() == b"sec-websocket-protocol" for name, _ in headers):
            raise AppProtocolError("set the subprotocol with the accept's 'subprotocol' key")
        self.accepted_subprotocol = subprotocol
        self.extra_headers = headers
        self.accepted = True
        self._state = _State.CONNECTED
        self.handshake_done.set()

    def _deny(self, denial: WebSocketDisconnect) -> None:
        self.denial = denial
        self._state = _State.DENIED
        self._disconnect = _disconnect_message(1000)  # hypercorn: the HTTP exchange ended
        self.to_app.close()
        self.handshake_done.set()

    def _server_closed(self, code: int, reason: str) -> None:
        self.close = (code, reason)
        self._state = _State.CLOSED
        self._disconnect = _disconnect_message(code, reason)
        self.to_app.close()  # the app reads what the test sent, then the disconnect
        self._app_outbox.close()

    async def _deliver(self, message: Message) -> None:
        text, data = message.get("text"), message.get("bytes")
        if (text is None) == (data is None) or not isinstance(text, str | None):
            raise AppProtocolError("websocket.send needs exactly one of 'bytes' and a str 'text'")
        frame = {
            "type": "websocket.send",
            "bytes": None if data is None else bytes(data),
            "text": text,
        }
        # If the session ended meanwhile the frame is dropped, like a real server does.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._app_outbox.send(frame)
