"""The test's end of an in-memory WebSocket connection."""

from __future__ import annotations

import json
from typing import Any, Literal, Self

import trio

from ..exceptions import WebSocketDisconnect
from ..types import ASGIApp
from ._errors import TestClientTimeout, WebSocketDenied
from ._scope import Message
from ._server_end import CLIENT_TO_APP_BUFFER, ServerEnd

__all__ = ["WebSocketTestSession"]

# A frame's key in a websocket.send message, and what the error messages call it.
_FRAME_NAMES = {"text": "text", "bytes": "binary"}


class WebSocketTestSession:
    """One in-process WebSocket connection; an async context manager.

    Get it from :meth:`TestClient.websocket_connect`. Entering runs the handshake;
    leaving closes with 1000 (unless closed already) and waits for the app to end.

    Every method that waits also raises, once, an exception the app raised that the
    test has not seen yet.

    Attributes:
        scope: The ASGI scope the app was called with.
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
        self._server = ServerEnd(app, scope, timeout=timeout)
        self._nursery = nursery
        self._path: str = scope["path"]
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._entered = False
        self._close_returned = False

    @property
    def accepted_subprotocol(self) -> str | None:
        """The subprotocol the app accepted, or ``None``."""
        return self._server.accepted_subprotocol

    @property
    def extra_headers(self) -> list[tuple[bytes, bytes]]:
        """The headers of the app's ``websocket.accept``."""
        return self._server.extra_headers

    @property
    def close_code(self) -> int | None:
        """The code of the server's close (1011 if the app ended without one), or ``None``."""
        close = self._server.close
        return None if close is None else close[0]

    @property
    def close_reason(self) -> str | None:
        """The reason of the server's close, or ``None`` while it has not closed."""
        close = self._server.close
        return None if close is None else close[1]

    # -- lifecycle ------------------------------------------------------------

    async def __aenter__(self) -> Self:
        """Send ``websocket.connect`` and wait for the app's answer.

        Raises:
            WebSocketDenied: the app answered with an HTTP response, or returned
                without answering (``status_code`` 500, as hypercorn answers).
            WebSocketDisconnect: the app closed before accepting (hypercorn would
                answer HTTP 403; here the close code and reason are kept).
            TestClientTimeout: no answer within the timeout; the app is cancelled.

        Cancellation:
            The app is cancelled and waited for (shielded, bounded by the timeout).
        """
        if self._entered:
            raise RuntimeError("a WebSocketTestSession can only be entered once")
        self._entered = True
        await self._server.start(self._nursery)
        connected = False
        try:
            await self._handshake()
            connected = True
        finally:
            if not connected:
                await self._server.cancel()
        return self

    async def _handshake(self) -> None:
        server = self._server
        with trio.move_on_after(self._connect_timeout):
            await server.handshake_done.wait()
        if not server.handshake_done.is_set():
            server.leave(1006)
            raise TestClientTimeout(
                f"the app neither accepted nor denied the WebSocket connection to"
                f" {self._path!r} within {self._connect_timeout} s; it was cancelled"
            )
        if server.accepted:
            return  # even if it already closed or failed: receive_* will tell
        if not await server.wait_done():
            raise TestClientTimeout(
                f"the handler for {self._path!r} did not end within {self._timeout} s"
                " after the connection was denied; it was cancelled"
            )
        server.raise_error()
        if server.denial is not None:
            raise server.denial
        raise WebSocketDenied(
            500, reason="the ASGI app returned without accepting or denying the connection"
        )

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        """Close with 1000 unless closed already, and wait for the app to end.

        Raises:
            TestClientTimeout: the app did not end within the timeout (it is then
                cancelled). Not raised over a ``Cancelled`` in flight.

        Cancellation:
            The wait is shielded and bounded by the timeout.
        """
        stopped = await self._disconnect_and_wait(1000, "")
        if exc is not None and not isinstance(exc, Exception):
            return  # never replace a Cancelled or KeyboardInterrupt in flight
        self._check_stopped(stopped)
        self._server.raise_error()

    async def close(self, code: int = 1000, reason: str = "") -> None:
        """Disconnect like a client would, and wait for the app to end.

        The app's ``receive()`` returns ``{"type": "websocket.disconnect", "code":
        code, "reason": reason}`` once it has read what was sent before; hypercorn
        would report 1006 (its issue #127). If the server closed first, the app was
        already told its own code and ``code`` is unused. Idempotent.

        Args:
            code: The client's close code.
            reason: The client's close reason.

        Raises:
            TestClientTimeout: the app did not end within the timeout after the
                client disconnected; it was cancelled.

        Cancellation:
            The wait for the app is shielded and bounded by the timeout.
        """
        self._check_stopped(await self._disconnect_and_wait(code, reason))
        self._server.raise_error()

    async def _disconnect_and_wait(self, code: int, reason: str) -> bool:
        self._server.leave(code, reason)
        return await self._server.wait_done()

    def _check_stopped(self, stopped: bool) -> None:
        if not stopped:
            raise TestClientTimeout(
                f"the handler for {self._path!r} did not end within {self._timeout} s after"
                " the client disconnected; it was cancelled"
            )

    # -- sending ----------------------------------------------------------------

    async def send(self, message: Message) -> None:
        """Hand a raw ASGI message (e.g. ``websocket.receive``) to the app.

        Args:
            message: The ASGI message, given to the app's ``receive()`` as is.

        Raises:
            WebSocketDisconnect: the server closed the connection.
            trio.ClosedResourceError: the test closed the session.
            TestClientTimeout: the app did not read within the timeout while
                :data:`CLIENT_TO_APP_BUFFER` messages were waiting.

        Cancellation:
            The message is not sent.
        """
        self._check_can_send()
        with trio.move_on_after(self._timeout):
            try:
                await self._server.to_app.send(message)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                self._check_can_send()
                raise  # not reached: one of the checks above raises
            return
        raise TestClientTimeout(
            f"the app on {self._path!r} read nothing for {self._timeout} s while"
            f" {CLIENT_TO_APP_BUFFER} messages were waiting"
        )

    def _check_can_send(self) -> None:
        server = self._server
        if server.client_closed:
            raise trio.ClosedResourceError(f"the test closed the session to {self._path!r}")
        server.raise_error()
        if server.close is not None:
            raise WebSocketDisconnect(reason=server.close[1], code=server.close[0])

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

    # -- receiving (the API contract gives each a `timeout`; ASYNC109 prefers fail_after)

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

        Cancellation:
            No message is consumed.
        """
        return await self._receive(timeout, "message", raw=True)

    async def _receive(self, timeout: float | None, what: str, *, raw: bool) -> Message:  # noqa: ASYNC109
        limit = self._timeout if timeout is None else timeout
        with trio.move_on_after(limit):
            try:
                return await self._server.from_app.receive()
            except trio.ClosedResourceError:
                raise trio.ClosedResourceError(
                    f"the test closed the session to {self._path!r}; nothing more to receive"
                ) from None
            except trio.EndOfChannel:
                pass
            self._server.raise_error()
            code, reason = self._server.close or (1006, "")
            if raw and not self._close_returned:
                self._close_returned = True
                return {"type": "websocket.close", "code": code, "reason": reason}
            raise WebSocketDisconnect(reason=reason, code=code)
        raise TestClientTimeout(f"the app sent no {what} on {self._path!r} within {limit} s")

    async def receive_text(self, timeout: float | None = None) -> str:  # noqa: ASYNC109
        """The next message, which must be a text frame; otherwise as :meth:`receive`.

        Raises:
            TypeError: a binary frame arrived.
        """
        text: str = await self._receive_frame(timeout, "text")
        return text

    async def receive_bytes(self, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        """The next message, which must be a binary frame; otherwise as :meth:`receive`.

        Raises:
            TypeError: a text frame arrived.
        """
        data: bytes = await self._receive_frame(timeout, "bytes")
        return data

    async def _receive_frame(self, timeout: float | None, key: Literal["text", "bytes"]) -> Any:  # noqa: ASYNC109
        other: Literal["text", "bytes"] = "bytes" if key == "text" else "text"
        message = await self._receive(timeout, f"{_FRAME_NAMES[key]} message", raw=False)
        if message[key] is None:
            raise TypeError(
                f"expected a {_FRAME_NAMES[key]} frame, a {_FRAME_NAMES[other]} frame arrived:"
                f" {message[other]!r}"
            )
        return message[key]

    async def receive_json(
        self,
        timeout: float | None = None,  # noqa: ASYNC109
        mode: Literal["text", "binary"] = "text",
    ) -> Any:
        """The next message parsed as JSON; otherwise as :meth:`receive`.

        Args:
            timeout: Seconds to wait; the session's timeout if ``None``.
            mode: The frame type to expect: ``"text"`` or ``"binary"`` (UTF-8).

        Raises:
            ValueError: unknown mode, or the payload is not JSON.
            TypeError: a frame of the other type arrived.
        """
        if mode == "text":
            return json.loads(await self.receive_text(timeout))
        if mode == "binary":
            return json.loads(await self.receive_bytes(timeout))
        raise ValueError(f"mode must be 'text' or 'binary', not {mode!r}")
