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
"""

from __future__ import annotations

import base64
import contextlib
import enum
import json
import logging
import os
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeAlias
from urllib.parse import quote, unquote, urlencode, urlsplit

import trio

from .exceptions import WebSocketDisconnect
from .serving import ASGIApp, hypercorn_config, serve_async

if TYPE_CHECKING:
    import ssl
    from contextlib import AbstractAsyncContextManager

    from trio_websocket import WebSocketConnection

__all__ = [
    "APP_TO_CLIENT_BUFFER",
    "CLIENT_TO_APP_BUFFER",
    "LifespanError",
    "LiveServer",
    "TestClient",
    "TestClientTimeout",
    "WebSocketDenied",
    "WebSocketTestSession",
]

logger = logging.getLogger(__name__)

Message: TypeAlias = dict[str, Any]
HeaderPairs: TypeAlias = Sequence[tuple[str | bytes, str | bytes]]
Headers: TypeAlias = Mapping[str, str] | HeaderPairs
QueryParams: TypeAlias = Mapping[str, str] | Sequence[tuple[str, str]]

#: Messages the app may send before the test reads them; then the app's ``send``
#: blocks. Generous so that an app never stalls in a test that reads late.
APP_TO_CLIENT_BUFFER = 256
#: Messages the test may send before the app reads them.
CLIENT_TO_APP_BUFFER = 64


class TestClientTimeout(trio.TooSlowError):
    """Something the test waited for did not happen in time; the message names it."""

    __test__ = False  # not a test class, whatever pytest's name pattern says


class LifespanError(RuntimeError):
    """The app answered ``lifespan.startup.failed`` or ``lifespan.shutdown.failed``."""


class _ProtocolError(RuntimeError):
    """The app sent an ASGI message that is invalid at this point (the app's bug)."""


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


class _State(enum.Enum):
    HANDSHAKE = "handshake"  # websocket.connect sent, no answer yet
    RESPONSE = "response"  # a denial response started, body pending
    CONNECTED = "connected"
    DENIED = "denied"
    CLOSED = "closed"  # the app closed or finished after accept


def _disconnect_message(code: int, reason: str = "") -> Message:
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


class WebSocketTestSession:
    """One in-process WebSocket connection; an async context manager.

    Get it from :meth:`TestClient.websocket_connect`. Entering runs the handshake;
    leaving closes with 1000 (unless closed already) and waits for the app to end.

    Attributes:
        scope: The ASGI scope the app was called with.
        accepted_subprotocol: The subprotocol the app accepted, or ``None``.
        extra_headers: The headers of the app's ``websocket.accept``.
    """

    def __init__(
        self,
        app: ASGIApp,
        nursery: trio.Nursery,
        scope: Message,
        *,
        timeout: float,
        connect_timeout: float,
    ) -> None:
        self.scope = scope
        self.accepted_subprotocol: str | None = None
        self.extra_headers: list[tuple[bytes, bytes]] = []
        self._app = app
        self._nursery = nursery
        self._path: str = scope["path"]
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._state = _State.HANDSHAKE
        self._entered = False
        self._accepted = False
        self._to_app, self._app_inbox = trio.open_memory_channel[Message](CLIENT_TO_APP_BUFFER)
        self._app_outbox, self._from_app = trio.open_memory_channel[Message](APP_TO_CLIENT_BUFFER)
        self._disconnect = _disconnect_message(1000)  # what the app's receive() gets at the end
        self._client_closed = False
        self._close: tuple[int, str] | None = None  # the server's close
        self._close_returned = False
        self._handshake_done = trio.Event()
        self._app_done = trio.Event()
        self._app_scope: trio.CancelScope | None = None
        self._app_error: Exception | None = None
        self._app_error_reported = False
        self._denial: WebSocketDisconnect | None = None
        self._response: tuple[int, list[tuple[bytes, bytes]]] = (0, [])
        self._response_body: list[bytes] = []

    @property
    def close_code(self) -> int | None:
        """The code of the server's close (1011 if the app ended without one), or ``None``."""
        return None if self._close is None else self._close[0]

    @property
    def close_reason(self) -> str | None:
        """The reason of the server's close, or ``None`` while it has not closed."""
        return None if self._close is None else self._close[1]

    # -- the app's side ------------------------------------------------------

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
        if self._state is _State.CONNECTED and not self._client_closed:
            self._server_closed(1011, "")  # what hypercorn sends when the app just ends
        self._app_outbox.close()
        self._handshake_done.set()

    async def _asgi_receive(self) -> Message:
        try:
            return await self._app_inbox.receive()
        except trio.EndOfChannel:
            return dict(self._disconnect)  # again and again, like hypercorn

    async def _asgi_send(self, message: Message) -> None:
        if self._client_closed:
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
            raise _ProtocolError(
                f"the ASGI app sent {kind!r} in state {state.value!r} on {self._path!r}"
            )

    def _accept(self, message: Message) -> None:
        subprotocol = message.get("subprotocol")
        if subprotocol is not None and subprotocol not in self.scope["subprotocols"]:
            raise _ProtocolError(
                f"the app accepted subprotocol {subprotocol!r}, which the client did not"
                f" offer ({self.scope['subprotocols']!r})"
            )
        headers = [(bytes(k), bytes(v)) for k, v in message.get("headers") or []]
        if any(name.lower() == b"sec-websocket-protocol" for name, _ in headers):
            raise _ProtocolError("set the subprotocol with the accept's 'subprotocol' key")
        self.accepted_subprotocol = subprotocol
        self.extra_headers = headers
        self._accepted = True
        self._state = _State.CONNECTED
        self._handshake_done.set()

    def _deny(self, denial: WebSocketDisconnect) -> None:
        self._denial = denial
        self._state = _State.DENIED
        self._disconnect = _disconnect_message(1000)  # hypercorn: the HTTP exchange ended
        self._to_app.close()
        self._handshake_done.set()

    def _server_closed(self, code: int, reason: str) -> None:
        self._close = (code, reason)
        self._state = _State.CLOSED
        self._disconnect = _disconnect_message(code, reason)
        self._to_app.close()  # the app reads what the test sent, then the disconnect
        self._app_outbox.close()

    async def _deliver(self, message: Message) -> None:
        text, data = message.get("text"), message.get("bytes")
        if (text is None) == (data is None) or not isinstance(text, str | None):
            raise _ProtocolError("websocket.send needs exactly one of 'bytes' and a str 'text'")
        frame = {
            "type": "websocket.send",
            "bytes": None if data is None else bytes(data),
            "text": text,
        }
        # If the session ended meanwhile the frame is dropped, like a real server does.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await self._app_outbox.send(frame)

    # -- lifecycle ------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Send ``websocket.connect`` and wait for the app's answer.

        Raises:
            WebSocketDenied: the app answered with an HTTP response, or returned
                without answering (``status_code`` 500, as hypercorn answers).
            WebSocketDisconnect: the app closed before accepting (hypercorn would
                answer HTTP 403; here the close code and reason are kept).
            TestClientTimeout: no answer within the timeout; the app is cancelled.
            Exception: whatever the app raised before accepting.

        Cancellation:
            The app is cancelled and waited for (shielded, bounded by the timeout).
        """
        if self._entered:
            raise RuntimeError("a WebSocketTestSession can only be entered once")
        self._entered = True
        self._to_app.send_nowait({"type": "websocket.connect"})
        self._app_scope = await self._nursery.start(self._run_app)
        connected = False
        try:
            await self._handshake()
            connected = True
        finally:
            if not connected:
                await self._cancel_app()
        return self

    async def _handshake(self) -> None:
        with trio.move_on_after(self._connect_timeout):
            await self._handshake_done.wait()
        if not self._handshake_done.is_set():
            self._leave(_disconnect_message(1006))
            raise TestClientTimeout(
                f"the app neither accepted nor denied the WebSocket connection to"
                f" {self._path!r} within {self._connect_timeout} s; it was cancelled"
            )
        if self._accepted:
            return  # even if it already closed or failed: receive_* will tell
        if not await self._wait_app_done():
            raise TestClientTimeout(
                f"the handler for {self._path!r} did not end within {self._timeout} s"
                " after the connection was denied; it was cancelled"
            )
        self._raise_app_error()
        if self._denial is not None:
            raise self._denial
        raise WebSocketDenied(
            500, reason="the ASGI app returned without accepting or denying the connection"
        )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close with 1000 unless closed already, and wait for the app to end.

        Raises:
            TestClientTimeout: the app did not end within the timeout (it is then
                cancelled). Not raised over a ``Cancelled`` in flight.
            Exception: an error the app raised that the test has not seen yet.

        Cancellation:
            The wait is shielded and bounded by the timeout.
        """
        stopped = await self._disconnect_and_wait(1000, "")
        if exc is not None and not isinstance(exc, Exception):
            return  # never replace a Cancelled or KeyboardInterrupt in flight
        self._check_stopped(stopped)
        self._raise_app_error()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Disconnect like a client would, and wait for the app to end.

        The app's ``receive()`` returns ``{"type": "websocket.disconnect", "code":
        code, "reason": reason}`` once it has read what was sent before. This
        in-process client reports the client's real code; hypercorn reports 1006
        for every client-initiated close (its issue #127). If the server closed
        first, the app was already told its own code and ``code`` is unused.
        Idempotent.

        Args:
            code: The client's close code.
            reason: The client's close reason.

        Raises:
            TestClientTimeout: the app did not end within the timeout after the
                client disconnected; it was cancelled.
            Exception: an error the app raised that the test has not seen yet.

        Cancellation:
            The wait for the app is shielded and bounded by the timeout.
        """
        self._check_stopped(await self._disconnect_and_wait(code, reason))
        self._raise_app_error()

    def _leave(self, disconnect: Message) -> None:
        if self._client_closed:
            return
        self._client_closed = True
        if self._close is None:
            self._disconnect = disconnect
        self._to_app.close()
        self._from_app.close()  # unblocks an app stuck on a full buffer

    async def _disconnect_and_wait(self, code: int, reason: str) -> bool:
        self._leave(_disconnect_message(code, reason))
        return await self._wait_app_done()

    async def _wait_app_done(self) -> bool:
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
        await self._cancel_app()  # shielded and bounded too
        return False

    async def _cancel_app(self) -> None:
        if self._app_scope is not None:
            self._app_scope.cancel()
        with trio.CancelScope(shield=True), trio.move_on_after(self._timeout):
            await self._app_done.wait()
        if not self._app_done.is_set():
            logger.error("the app for %r ignores cancellation; it is left running", self._path)

    def _check_stopped(self, stopped: bool) -> None:
        if not stopped:
            raise TestClientTimeout(
                f"the handler for {self._path!r} did not end within {self._timeout} s after"
                " the client disconnected; it was cancelled"
            )

    def _raise_app_error(self) -> None:
        if self._app_error is not None and not self._app_error_reported:
            self._app_error_reported = True
            raise self._app_error

    # -- the test's side --------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Hand a raw ASGI message (e.g. ``websocket.receive``) to the app.

        Args:
            message: The ASGI message, given to the app's ``receive()`` as is.

        Raises:
            WebSocketDisconnect: the server closed the connection.
            trio.ClosedResourceError: the test closed the session.
            TestClientTimeout: the app did not read within the timeout while
                :data:`CLIENT_TO_APP_BUFFER` messages were waiting.
            Exception: an error the app raised that the test has not seen yet.

        Cancellation:
            The message is not sent.
        """
        self._check_can_send()
        with trio.move_on_after(self._timeout):
            try:
                await self._to_app.send(message)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._check_can_send()
                raise  # not reached: one of the checks above raises
            return
        raise TestClientTimeout(
            f"the app on {self._path!r} read nothing for {self._timeout} s while"
            f" {CLIENT_TO_APP_BUFFER} messages were waiting"
        )

    def _check_can_send(self) -> None:
        if self._client_closed:
            raise trio.ClosedResourceError(f"the test closed the session to {self._path!r}")
        self._raise_app_error()
        if self._close is not None:
            raise WebSocketDisconnect(reason=self._close[1], code=self._close[0])

    async def send_text(self, data: str) -> None:
        """Send a text frame; see :meth:`send` for errors and cancellation.

        Args:
            data: The text.
        """
        await self.send({"type": "websocket.receive", "bytes": None, "text": data})

    async def send_bytes(self, data: bytes) -> None:
        """Send a binary frame; see :meth:`send` for errors and cancellation.

        Args:
            data: The payload.
        """
        await self.send({"type": "websocket.receive", "bytes": bytes(data), "text": None})

    async def send_json(self, data: Any, mode: Literal["text", "binary"] = "text") -> None:
        """Send ``data`` as compact JSON; see :meth:`send` for errors and cancellation.

        Args:
            data: A JSON-serializable value.
            mode: ``"text"`` sends a text frame, ``"binary"`` UTF-8 bytes.

        Raises:
            ValueError: unknown mode.
        """
        text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
        if mode == "text":
            await self.send_text(text)
        elif mode == "binary":
            await self.send_bytes(text.encode())
        else:
            raise ValueError(f"mode must be 'text' or 'binary', not {mode!r}")

    # The API contract gives every receive a `timeout` (ASYNC109 prefers fail_after).
    async def receive(self, timeout: float | None = None) -> Message:  # noqa: ASYNC109
        """The next raw ASGI message the app sent.

        ``websocket.send`` messages carry both ``text`` and ``bytes`` keys, one of
        them ``None``. When the server has closed, the first call returns the
        ``websocket.close`` message (1011 if the app ended without closing, as
        hypercorn sends) and later calls raise ``WebSocketDisconnect``.

        Args:
            timeout: Seconds to wait; the session's timeout if ``None``.

        Returns:
            The message.

        Raises:
            TestClientTimeout: nothing arrived in time.
            WebSocketDisconnect: the server closed the connection.
            trio.ClosedResourceError: the test closed the session.
            Exception: an error the app raised that the test has not seen yet.

        Cancellation:
            No message is consumed.
        """
        return await self._receive(timeout, "message", raw=True)

    async def _receive(self, timeout: float | None, what: str, *, raw: bool) -> Message:  # noqa: ASYNC109
        limit = self._timeout if timeout is None else timeout
        with trio.move_on_after(limit):
            try:
                return await self._from_app.receive()
            except trio.ClosedResourceError:
                raise trio.ClosedResourceError(
                    f"the test closed the session to {self._path!r}; nothing more to receive"
                ) from None
            except trio.EndOfChannel:
                pass
            self._raise_app_error()
            code, reason = self._close or (1006, "")
            if raw and not self._close_returned:
                self._close_returned = True
                return {"type": "websocket.close", "code": code, "reason": reason}
            raise WebSocketDisconnect(reason=reason, code=code)
        raise TestClientTimeout(f"the app sent no {what} on {self._path!r} within {limit} s")

    async def receive_text(self, timeout: float | None = None) -> str:  # noqa: ASYNC109
        """The next message, which must be a text frame; see :meth:`receive`.

        Args:
            timeout: Seconds to wait; the session's timeout if ``None``.

        Returns:
            The text.

        Raises:
            TypeError: a binary frame arrived.
            WebSocketDisconnect: the server closed the connection.
            TestClientTimeout: nothing arrived in time.

        Cancellation:
            No message is consumed.
        """
        message = await self._receive(timeout, "text message", raw=False)
        if message["text"] is None:
            raise TypeError(f"expected a text frame, a binary frame arrived: {message['bytes']!r}")
        text: str = message["text"]
        return text

    async def receive_bytes(self, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """The next message, which must be a binary frame; see :meth:`receive`.

        Args:
            timeout: Seconds to wait; the session's timeout if ``None``.

        Returns:
            The payload.

        Raises:
            TypeError: a text frame arrived.
            WebSocketDisconnect: the server closed the connection.
            TestClientTimeout: nothing arrived in time.

        Cancellation:
            No message is consumed.
        """
        message = await self._receive(timeout, "binary message", raw=False)
        if message["bytes"] is None:
            raise TypeError(f"expected a binary frame, a text frame arrived: {message['text']!r}")
        data: bytes = message["bytes"]
        return data

    async def receive_json(
        self,
        timeout: float | None = None,  # noqa: ASYNC109
        mode: Literal["text", "binary"] = "text",
    ) -> Any:
        """The next message parsed as JSON; see :meth:`receive_text`.

        Args:
            timeout: Seconds to wait; the session's timeout if ``None``.
            mode: The frame type to expect: ``"text"`` or ``"binary"`` (UTF-8).

        Returns:
            The parsed value.

        Raises:
            ValueError: unknown mode, or the payload is not JSON.
            TypeError: a frame of the other type arrived.
            WebSocketDisconnect: the server closed the connection.
            TestClientTimeout: nothing arrived in time.

        Cancellation:
            No message is consumed.
        """
        if mode == "text":
            return json.loads(await self.receive_text(timeout))
        if mode == "binary":
            return json.loads(await self.receive_bytes(timeout))
        raise ValueError(f"mode must be 'text' or 'binary', not {mode!r}")


def _header_pairs(headers: Headers | None) -> list[tuple[bytes, bytes]]:
    pairs: HeaderPairs = list(headers.items()) if isinstance(headers, Mapping) else headers or []
    return [
        (
            (name.encode("latin-1") if isinstance(name, str) else name).lower(),
            value.encode("latin-1") if isinstance(value, str) else value,
        )
        for name, value in pairs
    ]


class TestClient:
    """A Trio-native, in-process client for an ASGI app.

    ``async with TestClient(app) as client:`` runs the app's lifespan startup, and
    its shutdown on exit. An app that raises on the lifespan scope before reading
    ``lifespan.startup``, or returns without answering, is taken not to support
    lifespan (uvicorn's "auto" mode; logged at info). An app that read
    ``lifespan.startup`` and then raised supports lifespan and failed: its error
    is raised. Every app call runs as a task in the client's nursery.

    Args:
        app: The ASGI 3 application.
        base_url: ``ws://host[:port]`` or ``wss://...``; sets the ``host`` header,
            the scope's ``scheme`` and ``server``.
        timeout: Seconds every wait may take (handshake, receive, lifespan, the app
            ending after a disconnect). Nothing waits longer.

    Raises:
        ValueError: the base URL is not a ws:// or wss:// URL.
    """

    __test__ = False  # not a test class, whatever pytest's name pattern says

    def __init__(
        self, app: ASGIApp, *, base_url: str = "ws://testserver", timeout: float = 5.0
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"base_url must be a ws:// or wss:// URL, not {base_url!r}")
        self.app = app
        self.base_url = base_url
        self.timeout = timeout
        self._scheme = parts.scheme
        self._netloc = parts.netloc
        self._server = (parts.hostname, parts.port or (443 if parts.scheme == "wss" else 80))
        self._nursery_manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._nursery: trio.Nursery | None = None
        self._lifespan_state: dict[str, Any] = {}
        self._lifespan_send, self._lifespan_receive = trio.open_memory_channel[Message](2)
        self._lifespan_scope: trio.CancelScope | None = None
        self._lifespan_done = trio.Event()
        self._startup_answered = trio.Event()
        self._shutdown_answered = trio.Event()
        self._lifespan_supported = True
        self._lifespan_started = False
        self._startup_received = False
        self._shutdown_requested = False
        self._lifespan_failure: str | None = None
        self._lifespan_error: Exception | None = None

    @property
    def lifespan_state(self) -> dict[str, Any]:
        """The lifespan ``state`` dict; each WebSocket scope gets a shallow copy."""
        return self._lifespan_state

    async def __aenter__(self) -> Self:
        """Open the nursery and run the lifespan startup.

        Raises:
            LifespanError: the app answered ``lifespan.startup.failed``.
            TestClientTimeout: the app did not answer the startup in time.
            Exception: what the app raised after reading ``lifespan.startup``.

        Cancellation:
            The nursery is cancelled and closed.
        """
        if self._nursery_manager is not None:
            raise RuntimeError("this TestClient is already open")
        self._nursery_manager = trio.open_nursery()
        self._nursery = await self._nursery_manager.__aenter__()
        started = False
        try:
            await self._startup(self._nursery)
            started = True
        finally:
            if not started:
                await self._close_nursery()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Run the lifespan shutdown, then cancel and close the nursery.

        The exception leaving the ``async with`` body, if any, propagates as is
        (never wrapped in an ExceptionGroup).

        Raises:
            LifespanError: the app answered ``lifespan.shutdown.failed``.
            TestClientTimeout: the app did not answer the shutdown in time.
            Exception: an error the app's lifespan raised after the startup.

        Cancellation:
            The shutdown still runs, shielded and bounded by the timeout.
        """
        error: Exception | None = None
        try:
            with trio.CancelScope(shield=True):
                await self._shutdown()
        except Exception as shutdown_error:
            error = shutdown_error
        await self._close_nursery()
        if error is None:
            return
        if exc is None or isinstance(exc, Exception):
            raise error
        logger.error("lifespan shutdown failed during cancellation", exc_info=error)

    async def _close_nursery(self) -> None:
        manager, nursery = self._nursery_manager, self._nursery
        if manager is None or nursery is None:
            return
        self._nursery = None
        nursery.cancel_scope.cancel()  # nothing of the app may outlive the client
        await manager.__aexit__(None, None, None)

    async def _run_lifespan(
        self, *, task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED
    ) -> None:
        scope: Message = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self._lifespan_state,
        }
        try:
            with trio.CancelScope() as cancel_scope:
                task_status.started(cancel_scope)
                try:
                    await self.app(scope, self._lifespan_next, self._lifespan_answer)
                except Exception as exc:  # judged by _startup / _shutdown, never dropped
                    self._lifespan_error = exc
        finally:
            self._lifespan_done.set()
            self._startup_answered.set()
            self._shutdown_answered.set()

    async def _lifespan_next(self) -> Message:
        message = await self._lifespan_receive.receive()
        if message["type"] == "lifespan.startup":
            self._startup_received = True
        return message

    async def _lifespan_answer(self, message: Message) -> None:
        kind = message.get("type")
        if kind in ("lifespan.startup.complete", "lifespan.startup.failed"):
            event = self._startup_answered
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            event = self._shutdown_answered
        else:
            raise _ProtocolError(f"unexpected ASGI lifespan message {kind!r}")
        if event.is_set() or (event is self._shutdown_answered and not self._shutdown_requested):
            raise _ProtocolError(f"unexpected ASGI lifespan message {kind!r} at this point")
        if kind == "lifespan.startup.complete":
            self._lifespan_started = True
        elif kind.endswith(".failed"):
            self._lifespan_failure = str(message.get("message", ""))
        event.set()

    async def _startup(self, nursery: trio.Nursery) -> None:
        self._lifespan_scope = await nursery.start(self._run_lifespan)
        self._lifespan_send.send_nowait({"type": "lifespan.startup"})
        with trio.move_on_after(self.timeout):
            await self._startup_answered.wait()
        if not self._startup_answered.is_set():
            self._lifespan_scope.cancel()
            raise TestClientTimeout(f"the app did not answer lifespan.startup in {self.timeout} s")
        if self._lifespan_failure is not None:
            raise LifespanError(f"lifespan startup failed: {self._lifespan_failure}")
        if self._lifespan_error is not None and (
            self._startup_received or isinstance(self._lifespan_error, _ProtocolError)
        ):
            raise self._lifespan_error  # it speaks lifespan, and failed
        if not self._lifespan_started:
            self._lifespan_supported = False
            logger.info(
                "the app does not support lifespan (it %s); continuing without it",
                f"raised {self._lifespan_error!r}" if self._lifespan_error else "returned",
            )

    async def _shutdown(self) -> None:
        if not self._lifespan_supported or self._lifespan_scope is None:
            return
        if not self._lifespan_done.is_set():
            self._shutdown_requested = True
            self._lifespan_send.send_nowait({"type": "lifespan.shutdown"})
            with trio.move_on_after(self.timeout):
                await self._shutdown_answered.wait()
            self._lifespan_scope.cancel()  # as hypercorn does once shutdown is answered
            if not self._shutdown_answered.is_set():
                raise TestClientTimeout(
                    f"the app did not answer lifespan.shutdown in {self.timeout} s"
                )
        if self._lifespan_error is not None:
            raise self._lifespan_error
        if self._lifespan_failure is not None:
            raise LifespanError(f"lifespan shutdown failed: {self._lifespan_failure}")

    def websocket_connect(
        self,
        path: str,
        *,
        subprotocols: Sequence[str] | None = None,
        headers: Headers | None = None,
        params: QueryParams | None = None,
        timeout: float | None = None,
    ) -> WebSocketTestSession:
        """A WebSocket session to ``path``; use it with ``async with``.

        Entering sends ``websocket.connect`` and waits for the app's answer; see
        :meth:`WebSocketTestSession.__aenter__` for what a refusal raises.

        Args:
            path: The path, optionally with ``?query``; non-ASCII characters are
                percent-encoded in ``raw_path`` and decoded in ``path``.
            subprotocols: Offered subprotocols (``sec-websocket-protocol``).
            headers: Extra request headers, a mapping or ``(name, value)`` pairs;
                one named like a default header (``host``, ...) replaces it.
            params: Query parameters appended to the query string.
            timeout: Seconds to wait for the handshake; the client's timeout if
                ``None``. Other waits use the client's timeout.

        Returns:
            The session, not yet connected.

        Raises:
            RuntimeError: the client is not open.
            ValueError: the path does not start with ``/``.
        """
        if self._nursery is None:
            raise RuntimeError("open the client first: async with TestClient(app) as client")
        scope = self._websocket_scope(path, subprotocols or [], headers, params)
        return WebSocketTestSession(
            self.app,
            self._nursery,
            scope,
            timeout=self.timeout,
            connect_timeout=self.timeout if timeout is None else timeout,
        )

    def _websocket_scope(
        self,
        path: str,
        subprotocols: Sequence[str],
        headers: Headers | None,
        params: QueryParams | None,
    ) -> Message:
        path, _, query = path.partition("?")
        if not path.startswith("/"):
            raise ValueError(f"the path must start with '/', not {path!r}")
        raw_path = quote(path, safe="/%!$&'()*+,;=:@").encode("ascii")
        query_string = quote(query, safe="/%!$&'()*+,;=:@?").encode("ascii")
        if params:
            extra = urlencode(params).encode("ascii")
            query_string = query_string + b"&" + extra if query_string else extra
        key = base64.b64encode(os.urandom(16))
        request_headers = [
            (b"host", self._netloc.encode("idna")),
            (b"connection", b"Upgrade"),
            (b"upgrade", b"websocket"),
            (b"sec-websocket-version", b"13"),
            (b"sec-websocket-key", key),
        ]
        if subprotocols:
            request_headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
        user_headers = _header_pairs(headers)
        replaced = {name for name, _ in user_headers}
        request_headers = [h for h in request_headers if h[0] not in replaced] + user_headers
        return {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "scheme": self._scheme,
            "http_version": "1.1",
            "path": unquote(raw_path.decode("ascii")),
            "raw_path": raw_path,
            "query_string": query_string,
            "root_path": "",
            "headers": request_headers,
            "client": ("testclient", 50000),
            "server": self._server,
            "subprotocols": list(subprotocols),
            "state": dict(self._lifespan_state),
            "extensions": {"websocket.http.response": {}},
        }


class LiveServer:
    """The app on hypercorn's Trio worker, on a free port, for end-to-end tests.

    ``async with LiveServer(app) as server:`` serves until the block ends, then
    asks hypercorn to stop (connections get ``graceful_timeout`` seconds, then the
    lifespan shutdown runs) and cancels it if it is not done in ``stop_timeout``.

    Args:
        app: The ASGI 3 application.
        host: Interface to listen on.
        port: TCP port; 0 picks a free one.
        stop_timeout: Seconds hypercorn may take to stop before it is cancelled.
        **hypercorn_options: Settable :class:`hypercorn.config.Config` attributes;
            here ``graceful_timeout`` defaults to 1 s (hypercorn: 3 s) and
            ``startup_timeout`` (the lifespan startup) to 5 s (hypercorn: 60 s).

    Raises:
        TypeError: unknown hypercorn option.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        stop_timeout: float = 5.0,
        **hypercorn_options: Any,
    ) -> None:
        # Test-sized defaults: hypercorn's own are 3 s and 60 s.
        hypercorn_options.setdefault("graceful_timeout", 1.0)
        hypercorn_options.setdefault("startup_timeout", 5.0)
        self.app = app
        self.stop_timeout = stop_timeout
        self.config = hypercorn_config(host, port, **hypercorn_options)
        self.binds: list[str] = []
        self._nursery_manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._shutdown = trio.Event()
        self._server_scope = trio.CancelScope()

    async def __aenter__(self) -> Self:
        """Start hypercorn and wait until it listens.

        Raises:
            OSError: the address could not be bound.
            Exception: hypercorn failed to start, e.g. the lifespan startup failed.

        Cancellation:
            The server is cancelled and the nursery closed.
        """
        if self._nursery_manager is not None:
            raise RuntimeError("this LiveServer is already running")
        self._shutdown = trio.Event()
        self._server_scope = trio.CancelScope()
        self._nursery_manager = trio.open_nursery()
        nursery = await self._nursery_manager.__aenter__()
        listening = False
        try:
            self.binds = await nursery.start(self._run)
            listening = True
        finally:
            if not listening:
                self._shutdown.set()
                nursery.cancel_scope.cancel()
                manager, self._nursery_manager = self._nursery_manager, None
                await manager.__aexit__(None, None, None)
        return self

    async def _run(
        self, *, task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED
    ) -> None:
        with self._server_scope:
            await serve_async(
                self.app, self.config, shutdown_trigger=self._shutdown.wait, task_status=task_status
            )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop hypercorn gracefully, cancelling it after ``stop_timeout`` seconds.

        The exception leaving the ``async with`` body, if any, propagates as is.

        Cancellation:
            hypercorn is cancelled at once (no graceful stop).
        """
        manager, self._nursery_manager = self._nursery_manager, None
        if manager is None:
            return
        self._shutdown.set()
        self._server_scope.deadline = trio.current_time() + self.stop_timeout
        await manager.__aexit__(None, None, None)

    def _bind(self) -> tuple[str, str, int]:
        if not self.binds:
            raise RuntimeError("the LiveServer has not started: use async with LiveServer(app)")
        bind = next((b for b in self.binds if b.startswith("http://")), self.binds[0])
        parts = urlsplit(bind)
        assert parts.hostname is not None
        assert parts.port is not None
        return parts.scheme, parts.hostname, parts.port

    @property
    def host(self) -> str:
        """The address hypercorn listens on, e.g. ``127.0.0.1``."""
        return self._bind()[1]

    @property
    def port(self) -> int:
        """The bound TCP port."""
        return self._bind()[2]

    @property
    def http_url(self) -> str:
        """``http://host:port`` (``https`` with TLS)."""
        scheme, host, port = self._bind()
        host = f"[{host}]" if ":" in host else host
        return f"{scheme}://{host}:{port}"

    @property
    def url(self) -> str:
        """``ws://host:port`` (``wss`` with TLS)."""
        return "ws" + self.http_url.removeprefix("http")

    def url_for(self, path: str) -> str:
        """The ``ws://`` URL of ``path`` on this server.

        Args:
            path: A path, optionally with a query string.

        Returns:
            The URL.
        """
        return self.url + (path if path.startswith("/") else "/" + path)

    def connect(
        self,
        path: str = "/",
        *,
        subprotocols: Sequence[str] | None = None,
        extra_headers: list[tuple[bytes, bytes]] | None = None,
        message_queue_size: int = 1,
        connect_timeout: float = 5.0,
        disconnect_timeout: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> AbstractAsyncContextManager[WebSocketConnection]:
        """A trio-websocket client connection to ``path``; use it with ``async with``.

        Args:
            path: The path, optionally with a query string.
            subprotocols: Offered subprotocols.
            extra_headers: Extra request headers.
            message_queue_size: trio-websocket's receive buffer, in messages.
            connect_timeout: Seconds the handshake may take.
            disconnect_timeout: Seconds the closing handshake may take.
            ssl_context: For a server configured with TLS.

        Returns:
            ``trio_websocket.open_websocket_url(...)``: raises
            ``trio_websocket.ConnectionRejected`` when the app denies the handshake.

        Raises:
            ImportError: trio-websocket is missing (install the ``testing`` extra).
        """
        from trio_websocket import open_websocket_url

        return open_websocket_url(
            self.url_for(path),
            ssl_context,
            subprotocols=subprotocols,
            extra_headers=extra_headers,
            message_queue_size=message_queue_size,
            connect_timeout=connect_timeout,
            disconnect_timeout=disconnect_timeout,
        )
