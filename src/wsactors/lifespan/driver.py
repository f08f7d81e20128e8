"""The ASGI lifespan protocol, driven against an app as hypercorn's Trio worker does.

One driver for every caller that runs an app's lifespan from the outside: the native
engine (:mod:`wsactors.serving.native`) and the test client (``wsactors.testing``).
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from ..types import ASGIApp

__all__ = ["AppProtocolError", "Lifespan", "LifespanError", "LifespanTimeout", "lifespan_scope"]

#: The driver's records (an app without lifespan support) keep the name they had when
#: the test client was the driver's only caller.
logger = logging.getLogger("wsactors.testing")

Message = dict[str, Any]


class LifespanError(RuntimeError):
    """The app answered ``lifespan.startup.failed`` or ``lifespan.shutdown.failed``."""


class AppProtocolError(RuntimeError):
    """The app sent an ASGI message that is invalid at this point (the app's bug)."""


class LifespanTimeout(trio.TooSlowError):
    """The app did not answer a lifespan event in time; the message names the event."""


def lifespan_scope(state: dict[str, Any]) -> Message:
    """The ``lifespan`` scope; ``state`` is shared with the app, not copied."""
    return {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": state}


class Lifespan:
    """One run of the app's lifespan: :meth:`startup`, later :meth:`shutdown`.

    An app that raises before reading ``lifespan.startup``, or returns without
    answering, does not support lifespan (uvicorn's "auto" mode): the startup logs
    that at info and the shutdown does nothing.

    Attributes:
        state: The lifespan ``state`` dict, shared with the app.
    """

    def __init__(self) -> None:
        self.state: dict[str, Any] = {}
        # Holds the two events the client sends (startup, shutdown), so never blocks.
        self._send, self._receive = trio.open_memory_channel[Message](2)
        self._cancel_scope: trio.CancelScope | None = None
        self._done = trio.Event()
        self._startup_answered = trio.Event()
        self._shutdown_answered = trio.Event()
        self._supported = True
        self._started = False
        self._startup_received = False
        self._shutdown_requested = False
        self._failure: str | None = None  # the message of a *.failed answer
        self._error: Exception | None = None  # what the app raised

    # `timeout` is the caller's as it is when each wait starts; a timeout becomes a
    # LifespanTimeout naming the lifespan event, hence no fail_after (ASYNC109).
    async def startup(self, app: ASGIApp, nursery: trio.Nursery, timeout: float) -> None:  # noqa: ASYNC109
        """Start the app's lifespan task in ``nursery`` and wait for the startup.

        Raises:
            LifespanError: the app answered ``lifespan.startup.failed``.
            LifespanTimeout: no answer within ``timeout``; the task is cancelled.
            Exception: what the app raised after reading ``lifespan.startup``.
        """
        self._cancel_scope = await nursery.start(self._run, app)
        self._send.send_nowait({"type": "lifespan.startup"})
        with trio.move_on_after(timeout):
            await self._startup_answered.wait()
        if not self._startup_answered.is_set():
            self._cancel_scope.cancel()
            raise LifespanTimeout(f"the app did not answer lifespan.startup in {timeout} s")
        if self._failure is not None:
            raise LifespanError(f"lifespan startup failed: {self._failure}")
        if self._error is not None and (
            self._startup_received or isinstance(self._error, AppProtocolError)
        ):
            raise self._error  # it speaks lifespan, and failed
        if not self._started:
            self._supported = False
            logger.info(
                "the app does not support lifespan (it %s); continuing without it",
                f"raised {self._error!r}" if self._error else "returned",
            )

    async def shutdown(self, timeout: float) -> None:  # noqa: ASYNC109
        """Send ``lifespan.shutdown``, wait for the answer, then cancel the task.

        Raises:
            LifespanError: the app answered ``lifespan.shutdown.failed``.
            LifespanTimeout: no answer within ``timeout``.
            Exception: an error the app's lifespan raised after the startup.
        """
        if not self._supported or self._cancel_scope is None:
            return
        if not self._done.is_set():
            self._shutdown_requested = True
            self._send.send_nowait({"type": "lifespan.shutdown"})
            with trio.move_on_after(timeout):
                await self._shutdown_answered.wait()
            self._cancel_scope.cancel()  # as hypercorn does once shutdown is answered
            if not self._shutdown_answered.is_set():
                raise LifespanTimeout(f"the app did not answer lifespan.shutdown in {timeout} s")
        if self._error is not None:
            raise self._error
        if self._failure is not None:
            raise LifespanError(f"lifespan shutdown failed: {self._failure}")

    async def _run(
        self,
        app: ASGIApp,
        *,
        task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        try:
            with trio.CancelScope() as cancel_scope:
                task_status.started(cancel_scope)
                try:
                    await app(lifespan_scope(self.state), self._next, self._answer)
                except Exception as exc:  # judged by startup / shutdown, never dropped
                    self._error = exc
        finally:
            self._done.set()
            self._startup_answered.set()
            self._shutdown_answered.set()

    async def _next(self) -> Message:
        message = await self._receive.receive()
        if message["type"] == "lifespan.startup":
            self._startup_received = True
        return message

    async def _answer(self, message: Message) -> None:
        kind = message.get("type")
        if kind in ("lifespan.startup.complete", "lifespan.startup.failed"):
            event = self._startup_answered
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            event = self._shutdown_answered
        else:
            raise AppProtocolError(f"unexpected ASGI lifespan message {kind!r}")
        if event.is_set() or (event is self._shutdown_answered and not self._shutdown_requested):
            raise AppProtocolError(f"unexpected ASGI lifespan message {kind!r} at this point")
        if kind == "lifespan.startup.complete":
            self._started = True
        elif kind.endswith(".failed"):
            self._failure = str(message.get("message", ""))
        event.set()
