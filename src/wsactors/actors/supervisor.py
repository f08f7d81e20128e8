"""The supervisor: one Trio nursery per connection.

It installs the watcher, starts the receiver and the sender (and, with a
``send_timeout``, the watcher's send timer), runs the behaviour (the user's handler
wrapped by its handler kind) in a cancel scope the watcher controls, and on the way
out guarantees, in this order:

1. the behaviour has stopped (it returned, raised, or was cancelled);
2. a close frame is sent if one is still due, exactly once, never after the client
   left (the code comes from :func:`~wsactors.protocol.close_for_error`);
3. the outbox is flushed (bounded by ``close_timeout``);
4. yield-dependency cleanup runs (shielded, bounded by ``cleanup_timeout``);
5. the receiver (and the send timer) are cancelled: no task of the connection is left.
   The sender ends with the flush; if it is stuck in a write hypercorn shields (a
   client that stopped reading, see ``send_timeout``), the connection's task ends
   when hypercorn closes that TCP connection.

Errors are logged once, here. No ExceptionGroup reaches the user: actors report
failures through the mailbox instead of raising, and a group raised by the
behaviour is reduced to the error that decides the close code.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

import trio

from ..cleanups import Cleanups
from ..exceptions import (
    HTTPDenialError,
    InvalidMessageError,
    WebSocketDisconnect,
    WebSocketException,
)
from ..protocol import GOING_AWAY, ConnState, close_for_error
from .mailbox import Mailbox, RuntimeConfig
from .receiver import ASGIReceive, run_receiver
from .registry import LiveConnections
from .sender import ASGISend, run_sender
from .watcher import install, watch_sends

if TYPE_CHECKING:
    from ..connection import WebSocket

__all__ = ["Behaviour", "supervise"]

logger = logging.getLogger("wsactors.connection")

#: A handler kind's entry point: run the user's code on an accepted-or-not socket,
#: entering yield dependencies into the stack (cleaned up after the close frame).
Behaviour = Callable[["WebSocket", Cleanups], Awaitable[None]]


def deciding_error(error: BaseException | None) -> BaseException | None:
    """Reduce an exception (group) to the one that decides the close code.

    A :class:`WebSocketException` inside a group keeps its own code (a stream run in
    a user's nursery must not turn into 1011); a group made only of disconnects is
    a disconnect; anything else stays as it is (1011).
    """
    if not isinstance(error, BaseExceptionGroup):
        return error
    leaves = list(_leaves(error))
    for leaf in leaves:
        if isinstance(leaf, WebSocketException) and not isinstance(leaf, WebSocketDisconnect):
            return leaf
    if leaves and all(isinstance(leaf, WebSocketDisconnect) for leaf in leaves):
        return leaves[0]
    return error


def _leaves(group: BaseExceptionGroup[BaseException]) -> Iterator[BaseException]:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            yield from _leaves(exc)
        else:
            yield exc


def _log_outcome(path: str, error: BaseException | None, decided: BaseException | None) -> None:
    if error is None or isinstance(decided, WebSocketDisconnect):
        return
    if isinstance(decided, InvalidMessageError):
        logger.info("invalid message on %s, closing with 1007: %s", path, decided.reason)
    elif isinstance(decided, HTTPDenialError):
        logger.info("denied %s with %d: %s", path, decided.status_code, decided.detail)
    elif isinstance(decided, WebSocketException):
        logger.info("closing %s with %d: %s", path, decided.code, decided.reason)
    else:
        logger.error("error in WebSocket handler for %s", path, exc_info=error)


async def supervise(
    scope: dict[str, Any],
    receive: ASGIReceive,
    send: ASGISend,
    *,
    behaviour: Behaviour,
    make_socket: Callable[[Mailbox], WebSocket],
    config: RuntimeConfig,
    on_data: Callable[[Mailbox, Any], bool] | None = None,
    on_mailbox: Callable[[Mailbox], None] | None = None,
    registry: LiveConnections | None = None,
) -> None:
    """Run one connection to its end.

    Args:
        scope: The ASGI websocket scope.
        receive: ASGI ``receive``; only the receiver actor calls it.
        send: ASGI ``send``; only the sender actor calls it.
        behaviour: What to run (see :data:`Behaviour`).
        make_socket: Builds the ``WebSocket`` handle (the route's websocket_class).
        config: Queue sizes and time limits.
        on_data: The receiver's per-payload filter (streams' data-discard rule).
        on_mailbox: Called with the mailbox before the actors start (lets a handler
            kind tune it, e.g. mark a listener as a reader).
        registry: The App's live connections (for the graceful drain).

    Cancellation:
        If the server cancels the connection, the behaviour is cancelled, close
        1001 is sent if still possible, and cleanup runs shielded within its time
        limits before ``Cancelled`` propagates.
    """
    box = Mailbox(scope, config)
    install(box)
    if on_mailbox is not None:
        on_mailbox(box)
    socket = make_socket(box)
    stack = Cleanups()
    if registry is not None:
        registry.add(box)
    path = scope.get("path", "")
    started = trio.current_time()
    try:
        async with trio.open_nursery() as nursery:
            # start_soon, not start: nothing waits for the actors to be ready (the
            # inbox and outbox buffer until they run), and start() costs ~25 µs
            # more per actor on every handshake.
            nursery.start_soon(run_receiver, box, receive, on_data)
            nursery.start_soon(run_sender, box, send)
            if config.send_timeout is not None:
                nursery.start_soon(watch_sends, box)
            error: BaseException | None = None
            server_cancelled = True
            try:
                with box.behaviour_scope:
                    await behaviour(socket, stack)
                server_cancelled = False
            except Exception as exc:
                server_cancelled = False
                error = exc
            finally:
                if error is None:
                    error = box.stop_error
                if server_cancelled and error is None:
                    error = WebSocketException("Going Away", GOING_AWAY)
                with trio.CancelScope(shield=True):
                    await _close_and_flush(box, error, path)
                # Inside the nursery: a sender stuck in a write the server shields
                # (a client that stopped reading) must not hold back the cleanup.
                await _clean_up(stack, config.cleanup_timeout, path)
                nursery.cancel_scope.cancel()
    finally:
        # A no-op when it already ran; here for a failure while starting the actors.
        await _clean_up(stack, config.cleanup_timeout, path)
        if registry is not None:
            registry.discard(box)
        stats = box.statistics()
        logger.info(
            "closed %s code=%s reason=%r duration=%.3fs in=%d out=%d",
            path,
            box.protocol.close_code,
            box.protocol.close_reason,
            trio.current_time() - started,
            stats.messages_in,
            stats.messages_out,
        )


async def _clean_up(stack: Cleanups, seconds: float, path: str) -> None:
    """Run yield-dependency cleanup, shielded and bounded; errors are logged."""
    with trio.CancelScope(shield=True) as cleanup:
        cleanup.deadline = trio.current_time() + seconds
        try:
            await stack.aclose()
        except Exception:
            logger.exception("error in dependency cleanup for %s", path)
    if cleanup.cancelled_caught:
        logger.warning("dependency cleanup for %s exceeded %.1f s and was cancelled", path, seconds)


async def _close_and_flush(box: Mailbox, error: BaseException | None, path: str) -> None:
    """Send the close frame if due, then let the sender drain (bounded).

    Must run shielded; it bounds itself with ``close_timeout``.
    """
    decided = deciding_error(error)
    _log_outcome(path, error, decided)
    protocol = box.protocol
    messages: list[dict[str, Any]] = []
    if protocol.state is ConnState.INIT and isinstance(decided, HTTPDenialError):
        body = decided.detail.encode("utf-8")
        messages.extend(protocol.deny(decided.status_code, body, None))
    elif protocol.close_due():
        info = close_for_error(decided, debug=box.config.debug)
        if protocol.state is ConnState.INIT and decided is not None:
            # An error before accept: accept, then close with the code, so the
            # client (a browser can read close codes, not HTTP statuses) learns why.
            messages.append(protocol.accept(None, None))
        closing = protocol.close(info.code, info.reason)
        if closing is not None:
            messages.append(closing)
    with trio.move_on_after(box.config.close_timeout) as flush:
        try:
            for message in messages:
                await box.outbox.send(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the sender is gone; nothing more can be sent
        box.outbox.close()
        await box.sender_done.wait()
    if flush.cancelled_caught:
        box.sender_scope.cancel()
        logger.warning(
            "closing %s: the outbox did not drain within %.1f s", path, box.config.close_timeout
        )
