"""The connection's own tasks: what ``socket.start_soon`` and ``socket.start`` run.

A handler (of any kind) may add actors of its own to its connection: a ticker, a
feed, a watchdog. They run in the connection's nursery, the supervisor's, beside
the receiver and the sender, so the structured-concurrency promise holds for them
too: when the connection ends, they end first.

Theory of operation. Each task runs in a cancel scope this object owns, created
when the task is asked for (so a task cancelled before it ever ran starts
cancelled). :meth:`ConnectionTasks.end` cancels every scope and waits for the
tasks to finish; after it, no task can start. The handler kinds call it before
``on_disconnect`` (``HandlerContext.end_tasks``), the supervisor once more after
the behaviour, so the order is always: tasks cancelled, close decided, hooks run.

A task's failure is the connection's: the first exception is kept in
:attr:`ConnectionTasks.error` (the supervisor logs it once and closes with its
code, 1011 for an ordinary exception), the behaviour is stopped through the
watcher (so ``on_disconnect`` sees the close code) and the other tasks are
cancelled. Nothing is raised into the connection's nursery: no exception group
can reach anyone. Two exceptions to that rule, both as in Trio or in a handler:

- before it calls ``task_status.started()``, a task started with :meth:`start`
  runs under the caller, and its exception is raised by ``start`` (a handler that
  does not catch it ends the connection with it);
- :class:`~wsactors.WebSocketDisconnect` ends only the task that raised it: the
  connection is already over or closing, and whoever ended it decides the close.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from ..connection.endings import deciding_error
from ..connection.state import ConnectionState
from ..exceptions import WebSocketDisconnect
from .watcher import Watcher

__all__ = ["ConnectionTasks"]

logger = logging.getLogger("wsactors.connection")


class _Status(trio.TaskStatus[Any]):
    """``task_status`` as the task sees it: Trio's, noting that ``started`` was called."""

    __slots__ = ("_inner", "called")

    def __init__(self, inner: trio.TaskStatus[Any]) -> None:
        self._inner = inner
        self.called = False

    def started(self, value: Any = None) -> None:
        self._inner.started(value)
        self.called = True


class ConnectionTasks:
    """The user tasks of one connection (one Trio thread: no locks).

    Args:
        watcher: Stops the behaviour when a task fails.
        state: The connection's state (for the error of a start after the end).
        path: The request path (for log lines).
        cleanup_timeout: Seconds the tasks get to finish once cancelled.
    """

    __slots__ = (
        "_ended",
        "_idle",
        "_nursery",
        "_path",
        "_scopes",
        "_state",
        "_timeout",
        "_watcher",
        "error",
    )

    def __init__(
        self, watcher: Watcher, state: ConnectionState, path: str, cleanup_timeout: float
    ) -> None:
        self._watcher = watcher
        self._state = state
        self._path = path
        self._timeout = cleanup_timeout
        self._nursery: trio.Nursery | None = None
        # One scope per task not yet finished (started or still to run); made with
        # the first task: most connections never start one (memory per idle one).
        self._scopes: set[trio.CancelScope] | None = None
        self._ended = False
        self._idle: trio.Event | None = None
        #: The first exception a task ended with (it decides the close), or None.
        self.error: Exception | None = None

    def open(self, nursery: trio.Nursery) -> None:
        """Tasks run in ``nursery`` (the connection's) from now on."""
        self._nursery = nursery

    @property
    def running(self) -> int:
        """How many tasks have not finished yet."""
        return len(self._scopes) if self._scopes else 0

    def start_soon(
        self,
        async_fn: Callable[..., Awaitable[object]],
        *args: object,
        name: object = None,
    ) -> None:
        """Run ``async_fn(*args)`` as a task of the connection (see the module's docstring).

        Raises:
            WebSocketDisconnect: the connection's tasks have ended.
        """
        nursery, scope = self._admit()
        try:
            nursery.start_soon(self._run, scope, async_fn, args, name=_name(name, async_fn))
        except BaseException:
            self._forget(scope)
            raise

    async def start(
        self, async_fn: Callable[..., Awaitable[object]], *args: object, name: object = None
    ) -> Any:
        """Run ``async_fn(*args, task_status=...)`` and return what it passes to
        ``task_status.started()``.

        Raises:
            WebSocketDisconnect: the connection's tasks ended before the task started.
            Exception: what the task raised before it called ``started()``.

        Cancellation:
            As Trio's ``Nursery.start``: the task is cancelled with the caller until it
            has started.
        """
        try:
            nursery, scope = self._admit()
        except WebSocketDisconnect:
            await trio.lowlevel.checkpoint()
            raise
        try:
            return await nursery.start(self._run, scope, async_fn, args, name=_name(name, async_fn))
        except BaseException:
            # A no-op unless the task never ran (it forgets its scope as it ends).
            self._forget(scope)
            raise

    async def end(self) -> None:
        """Cancel every task, wait for them to finish; no task starts afterwards.

        Idempotent. A task that fails while it is cancelled still counts as a failure.

        Cancellation:
            Shielded, so that it runs in the ``finally`` of a cancelled behaviour, and
            bounded by ``cleanup_timeout``: a task that ignores its cancellation longer
            is logged and left to the connection's nursery, which waits for it.
        """
        self._cancel_all()
        if not self._scopes:
            # Shielded, so not a cancellation point; and no scheduler round trip: the
            # connection goes on ending (its close queued) before anyone else runs.
            return
        with trio.move_on_after(self._timeout, shield=True) as bound:
            self._idle = idle = trio.Event()
            await idle.wait()
        if bound.cancelled_caught:
            logger.warning(
                "%d task(s) of %r did not end within %.1f s of being cancelled",
                self.running,
                self._path,
                self._timeout,
            )

    def _over(self) -> WebSocketDisconnect:
        """The error of a task that cannot start: the connection's, with a note."""
        error = self._state.disconnect_error()
        error.add_note(
            f"the connection {self._path!r} has ended (or is ending): "
            f"socket.start_soon() and socket.start() cannot add a task to it"
        )
        return error

    def _admit(self) -> tuple[trio.Nursery, trio.CancelScope]:
        nursery = self._nursery
        if nursery is None or self._ended:
            raise self._over()
        scope = trio.CancelScope()
        if self._scopes is None:
            self._scopes = set()
        self._scopes.add(scope)
        return nursery, scope

    def _forget(self, scope: trio.CancelScope) -> None:
        scopes = self._scopes
        if scopes is None:
            return
        scopes.discard(scope)
        if not scopes and self._idle is not None:
            self._idle.set()

    def _cancel_all(self) -> None:
        self._ended = True
        for scope in self._scopes or ():
            scope.cancel()

    def _fail(self, error: Exception) -> None:
        """A task raised: the connection ends with ``error`` as with a handler's."""
        # Reduced here (a group from the task's own nursery): the watcher's stop
        # reason decides the close as it is.
        decided = deciding_error(error)
        if decided is None or isinstance(decided, WebSocketDisconnect):
            return  # the connection is over or closing: the task just ends
        if self.error is None:
            self.error = error
        else:
            # The supervisor logs the first one; each failure is logged once.
            logger.error("another task of %r failed", self._path, exc_info=error)
        self._watcher.stop(decided)
        self._cancel_all()

    async def _run(
        self,
        scope: trio.CancelScope,
        async_fn: Callable[..., Awaitable[object]],
        args: tuple[object, ...],
        *,
        task_status: trio.TaskStatus[Any] | None = None,
    ) -> None:
        """One task: ``async_fn`` in ``scope``; its failure reported, never raised."""
        # None: started with start_soon, which has no "before started()".
        status = None if task_status is None else _Status(task_status)
        try:
            with scope:
                if status is None:
                    await async_fn(*args)
                else:
                    await async_fn(*args, task_status=status)
            if status is not None and not status.called and scope.cancelled_caught:
                # end() cancelled it before it started: start() tells its caller (Trio
                # would raise "child exited without calling task_status.started()").
                raise self._over()
        except Exception as exc:
            if status is not None and not status.called:
                raise  # start()'s caller gets it, as with Trio's Nursery.start
            self._fail(exc)
        finally:
            self._forget(scope)


def _name(name: object, async_fn: Callable[..., Any]) -> object:
    """The task's name in Trio: the user's function (Trio formats it), not the wrapper."""
    return async_fn if name is None else name
