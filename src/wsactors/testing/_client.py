"""TestClient: the app's lifespan and WebSocket sessions, in the test's own Trio run."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

import trio

from ..lifespan.driver import Lifespan, LifespanTimeout
from ..types import ASGIApp
from ._errors import TestClientTimeout
from ._scope import Headers, Origin, QueryParams, websocket_scope
from ._session import WebSocketTestSession

if TYPE_CHECKING:
    from contextlib import AbstractAsyncContextManager

__all__ = ["TestClient"]

logger = logging.getLogger("wsactors.testing")


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
        self._origin = Origin.from_url(base_url)
        self.app = app
        self.base_url = base_url
        self.timeout = timeout
        self._nursery_manager: AbstractAsyncContextManager[trio.Nursery] | None = None
        self._nursery: trio.Nursery | None = None
        self._lifespan = Lifespan()

    @property
    def lifespan_state(self) -> dict[str, Any]:
        """The lifespan ``state`` dict; each WebSocket scope gets a shallow copy."""
        return self._lifespan.state

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
            try:
                await self._lifespan.startup(self.app, self._nursery, self.timeout)
            except LifespanTimeout as exc:
                raise TestClientTimeout(str(exc)) from None
            started = True
        finally:
            if not started:
                await self._close_nursery()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
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
                await self._lifespan.shutdown(self.timeout)
        except LifespanTimeout as timeout:
            error = TestClientTimeout(str(timeout))
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
        scope = websocket_scope(
            self._origin, path, subprotocols or [], headers, params, self._lifespan.state
        )
        return WebSocketTestSession(
            self.app,
            self._nursery,
            scope,
            timeout=self.timeout,
            connect_timeout=self.timeout if timeout is None else timeout,
        )
