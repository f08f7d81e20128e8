"""The supervisor: one Trio nursery per connection.

It starts the receiver and the sender (and, when the transport cannot abort a
stalled write, the watcher's send timer), lends its nursery to the connection's own
tasks (``socket.start_soon``, :mod:`wsactors.actors.tasks`), runs the behaviour (the
user's handler wrapped by its handler kind) in the watcher's cancel scope, and on the
way out guarantees, in this order:

1. the behaviour has stopped (it returned, raised, or was cancelled), and so have the
   connection's own tasks (cancelled, within ``cleanup_timeout``); a task's failure
   decides the close as the behaviour's would; the connection's subscriptions
   (``socket.subscribe``) have ended;
2. the close the ending calls for is queued if still due, exactly once, never after
   the peer left (:func:`~wsactors.connection.endings.final_events`);
3. the outbox is flushed (bounded by ``close_timeout``);
4. yield-dependency cleanup runs (shielded, bounded by ``cleanup_timeout``);
5. the receiver (and the send timer) are cancelled: no task of the connection is left.
   The sender ends with the flush; if it is stuck in a write the transport shields
   (hypercorn, with a client that stopped reading), the connection's task ends when
   the server closes that TCP connection.

Errors are logged once, here, and the last line says what the peer received. No
ExceptionGroup reaches the user: actors report failures to the watcher instead of
raising, and a group raised by the behaviour is reduced to the error that decides
the close code.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Final, TypeVar

import trio

from ..codec.codec import Codec
from ..connection.closes import ABNORMAL
from ..connection.endings import deciding_error
from ..connection.limits import RuntimeConfig
from ..connection.state import State
from ..exceptions import (
    HTTPDenialError,
    InvalidMessageError,
    WebSocketDisconnect,
    WebSocketException,
)
from ..transport.base import Transport
from .cleanups import Cleanups
from .feed import TopicHub
from .receiver import run_receiver
from .registry import LiveConnections
from .runtime import ConnectionObserver, ConnectionRuntime
from .sender import run_sender

__all__ = ["supervise"]

logger = logging.getLogger("wsactors.connection")

#: The handle handlers see (``wsactors.WebSocket``): the supervisor only passes it on.
_S = TypeVar("_S")


async def supervise(
    transport: Transport,
    *,
    path: str,
    behaviour: Callable[[_S, Cleanups], Awaitable[None]],
    make_socket: Callable[[ConnectionRuntime], _S],
    config: RuntimeConfig,
    codec: Codec,
    reader: bool = False,
    registry: LiveConnections | None = None,
    route_path: str | None = None,
    hints: set[str] | None = None,
    observer: ConnectionObserver | None = None,
    topics: TopicHub | None = None,
) -> None:
    """Run one connection to its end.

    Args:
        transport: The connection's transport; only the receiver and the sender
            actors use it.
        path: The request path (for log lines).
        behaviour: What to run: the route's behaviour
            (:data:`wsactors.routing.route.Behaviour`), given the handle and the
            connection's cleanup stack.
        make_socket: Builds the ``WebSocket`` handle (the route's websocket_class).
        config: Queue sizes and time limits.
        codec: The App's codec.
        reader: The handler kind always reads (listeners get the disconnect grace).
        registry: The App's live connections (for the graceful drain).
        route_path: The route's template, for hints (defaults to ``path``).
        hints: The hints already logged for the route: each is logged once per route.
        observer: Told of keepalive round trips and of the connection's end (the
            App's metrics), or None.
        topics: The App's Channels (``socket.subscribe``), or None.

    Cancellation:
        If the server cancels the connection, the behaviour is cancelled, close
        1001 is sent if still possible, and cleanup runs shielded within its time
        limits before ``Cancelled`` propagates.
    """
    rt = ConnectionRuntime(
        transport.capabilities,
        transport.subprotocols,
        config,
        codec,
        path,
        reader=reader,
        observer=observer,
        transport=transport,
        topics=topics,
    )
    socket = make_socket(rt)
    stack = Cleanups()
    watcher = rt.watcher
    if registry is not None:
        registry.add(rt)
    started = trio.current_time()
    try:
        async with trio.open_nursery() as nursery:
            # start_soon, not start: nothing waits for the actors to be ready (the
            # inbox and outbox buffer until they run), and start() costs ~25 µs
            # more per actor on every handshake.
            nursery.start_soon(run_receiver, rt, transport)
            nursery.start_soon(run_sender, rt, transport)
            if config.send_timeout is not None and not transport.capabilities.abortable_writes:
                nursery.start_soon(watcher.time_sends, config.send_timeout)
            rt.tasks.open(nursery)
            error: Exception | None = None
            server_cancelled = True
            try:
                with watcher.scope:
                    await behaviour(socket, stack)
                server_cancelled = False
            except Exception as exc:
                server_cancelled = False
                error = exc
            finally:
                # Listeners ended them before on_disconnect; any other kind ends here.
                # A task's failure stopped the behaviour through the watcher: its stop
                # reason then decides the close, unless an earlier one did.
                await rt.end_tasks()
                decided = rt.ending(error, cancelled=server_cancelled)
                _log_outcome(path, error, decided)
                failed = rt.tasks.error
                if failed is not None:
                    _log_outcome(path, failed, deciding_error(failed), from_task=True)
                if hints is not None:
                    for raised in (error, failed):
                        if raised is not None:
                            _hint_foreign_loop(route_path or path, raised, hints)
                with trio.CancelScope(shield=True):
                    if rt.feed is not None:
                        await rt.feed.end()  # nothing more is delivered
                    await _close_and_flush(rt, decided)
                # Inside the nursery: a sender stuck in a write the server shields
                # (a client that stopped reading) must not hold back the cleanup.
                await _clean_up(stack, config.cleanup_timeout, path)
                nursery.cancel_scope.cancel()
    finally:
        # A no-op when it already ran; here for a failure while starting the actors.
        await _clean_up(stack, config.cleanup_timeout, path)
        duration = trio.current_time() - started
        # One step, no checkpoint between: a scrape sees the connection's counters
        # either live or folded into the totals, never both or neither.
        if registry is not None:
            registry.discard(rt)
        if observer is not None:
            observer.ended(rt, duration)
        _log_closed(rt, duration)


def _log_outcome(
    path: str, error: Exception | None, decided: BaseException | None, *, from_task: bool = False
) -> None:
    """One line for a behaviour (or a task of the connection) that ended with an error
    (client values escaped)."""
    if error is None or isinstance(decided, WebSocketDisconnect):
        return
    if isinstance(decided, InvalidMessageError):
        logger.info("invalid message on %r, closing with 1007: %r", path, decided.reason)
    elif isinstance(decided, HTTPDenialError):
        logger.info("denied %r with %d: %r", path, decided.status_code, decided.detail)
    elif isinstance(decided, WebSocketException):
        logger.info("closing %r with %d: %r", path, decided.code, decided.reason)
    else:
        where = "a task of the WebSocket connection" if from_task else "WebSocket handler"
        logger.error("error in %s for %r", where, path, exc_info=error)


def _hint_foreign_loop(route: str, error: BaseException, hints: set[str]) -> None:
    """Once per route: the error came from asyncio (or a library that needs it)."""
    # asyncio.sleep() & co. under Trio: "no running event loop"; sniffio-based
    # libraries: AsyncLibraryNotFoundError.
    foreign = (isinstance(error, RuntimeError) and "no running event loop" in str(error)) or (
        type(error).__name__ == "AsyncLibraryNotFoundError"
    )
    if not foreign or "asyncio" in hints:
        return
    hints.add("asyncio")
    logger.warning(
        "hint: the handler of %r called asyncio (%s: %s), which does not run here: wsactors "
        "runs on Trio. Use trio (trio.sleep, trio.open_nursery, trio.to_thread) or anyio, "
        "which runs on Trio. (Logged once per route.)",
        route,
        type(error).__name__,
        error,
    )


#: What the native engine's own closes mean, for the log (docs/close-codes.md).
_ENGINE_CLOSES: Final = {
    1002: "protocol error",
    1007: "invalid payload",
    1009: "message too big",
    1011: "internal error",
    1013: "the server's buffers are full",
}


def _log_closed(rt: ConnectionRuntime, duration: float) -> None:
    """The connection's last line: what the peer actually received."""
    state = rt.state
    stats = rt.counters
    tail = f"duration={duration:.3f}s in={stats.messages_in} out={stats.messages_out}"
    close = rt.close_sent
    if state.closed_by_peer:
        logger.info(
            "closed %r by the client code=%s reason=%r %s",
            rt.path,
            state.close_code,
            state.close_reason,
            tail,
        )
    elif state.closed_by_engine and state.close_code != ABNORMAL:
        # The native engine failed the connection and sent this close frame itself.
        code = state.close_code
        what = _ENGINE_CLOSES.get(code or 0, "failed the connection")
        logger.info(
            "closed %r code=%s reason=%r (by the engine: %s) %s",
            rt.path,
            code,
            state.close_reason,
            what,
            tail,
        )
    elif state.state is State.REJECTED:
        # Before this check: a close before accept reaches the client as HTTP 403.
        logger.info("rejected %r before accept %s", rt.path, tail)
    elif close is not None:
        logger.info("closed %r code=%d reason=%r %s", rt.path, close.code, close.reason, tail)
    else:
        why = rt.undelivered or "the connection ended before it was sent"
        logger.info("closed %r: close frame not delivered: %s %s", rt.path, why, tail)


async def _clean_up(stack: Cleanups, seconds: float, path: str) -> None:
    """Run yield-dependency cleanup, shielded and bounded; errors are logged.

    Without cleanups (or once they ran) it returns at once: no cancel scope, no
    schedule point (its callers checkpointed already).
    """
    if not stack.pending:
        return
    with trio.move_on_after(seconds, shield=True) as cleanup:
        try:
            await stack.aclose()
        except Exception:
            logger.exception("error in dependency cleanup for %r", path)
    if cleanup.cancelled_caught:
        logger.warning("dependency cleanup for %r exceeded %.1f s and was cancelled", path, seconds)


async def _close_and_flush(rt: ConnectionRuntime, decided: BaseException | None) -> None:
    """Queue the close if due, then let the sender drain (bounded by close_timeout).

    Must run shielded.
    """
    timeout = rt.config.close_timeout
    with trio.move_on_after(timeout) as flush:
        # WebSocketDisconnect: the sender is gone; nothing more can be sent.
        with contextlib.suppress(WebSocketDisconnect):
            await rt.queue_final(decided)
        rt.mailbox.outbox.close()
        await rt.sender_done.wait()
    if flush.cancelled_caught:
        rt.sender_scope.cancel()
        if rt.undelivered is None:
            rt.undelivered = f"the client did not read for {timeout:.1f} s"
        logger.warning("closing %r: the outbox did not drain within %.1f s", rt.path, timeout)
    elif rt.undelivered is None and rt.state.peer_gone and rt.close_sent is None:
        by_engine = rt.state.closed_by_engine
        rt.undelivered = "the engine aborted the connection" if by_engine else "the client had left"
