"""The sender: the only caller of ``Transport.send``.

It takes everything queued in the outbox at once and hands it to the transport as
one batch (a transport that owns its socket joins the frames into one write). The
state machine's transition for each event is applied as it is handed over
(:meth:`~wsactors.connection.state.ConnectionState.hand_over`), so exactly one close frame
is ever sent, and nothing after the peer left.

It is the socket's only writer: a transport with bytes of its own to write (a
pong, a keepalive ping, the echo of a close) wakes it through the outbox
(``None``, :meth:`~wsactors.actors.queue.BoundedQueue.nudge`), and it calls
``send`` with what is queued, or an empty batch.

The handler's sends (``ConnectionRuntime.send``) and the deliveries of the
connection's subscriptions (:mod:`wsactors.actors.feed`) reach it as ``Send``
events in the outbox, or bypass it: while it is parked on an empty outbox, a
message may be written directly by the transport, under its ownership.
What the socket did not take of a direct write is the transport's own bytes from
then on: the transport wakes it the same way, and that rest goes out first.
Whenever it has made room, it pulls backlogged deliveries into the outbox
(``Feed.refill``).
"""

from __future__ import annotations

import functools

import trio

from ..connection.events import Close, Outgoing, Send
from ..transport.base import Transport
from .runtime import ConnectionRuntime

__all__ = ["run_sender"]


async def run_sender(rt: ConnectionRuntime, transport: Transport) -> None:
    """Hand queued events to the transport until the outbox is closed.

    Events queued after the peer left are dropped, and data among them counted in
    ``unsent_messages``. A failing transport stops the behaviour.

    Cancellation:
        Shielded from outer cancellation; ended by the supervisor through
        ``rt.sender_scope``. Sets ``rt.sender_done`` however it ends.
    """
    state = rt.state
    counters = rt.counters
    watcher = rt.watcher
    outbox = rt.mailbox.outbox
    timed = rt.config.send_timeout is not None and not rt.capabilities.abortable_writes
    transport.attach_sender(functools.partial(outbox.nudge, None))
    try:
        with rt.sender_scope:
            while True:
                feed = rt.feed
                if feed is not None and feed.waiting:
                    feed.refill()
                # Take what is queued without a scheduler round trip; park only when
                # the outbox is empty. Woken by one event, send it alone: trying for
                # more would raise WouldBlock (costly) on every echo; while behind
                # (the outbox non-empty), join everything queued into one batch.
                behind = True
                try:
                    event: Outgoing | None = outbox.get_nowait()
                except trio.WouldBlock:
                    behind = False
                    try:
                        event = await outbox.get()
                    except trio.EndOfChannel:
                        break
                except trio.EndOfChannel:
                    break
                batch: list[Outgoing] = []
                close: Close | None = None
                woken = False  # the transport has bytes of its own to write
                while True:
                    if event is None:
                        woken = True
                    elif state.hand_over(event):
                        batch.append(event)
                        if type(event) is Close:
                            close = event
                    elif type(event) is Send:
                        counters.unsent_messages += 1
                    if not behind:
                        break
                    try:
                        event = outbox.get_nowait()
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                if not batch and not woken:
                    continue
                if timed:
                    # The transport cannot abort a stalled write: the watcher times it.
                    watcher.send_started = trio.current_time()
                await transport.send(batch)
                if timed:
                    watcher.send_started = None
                if close is not None:
                    rt.close_sent = close
    except Exception as exc:
        rt.undelivered = f"the transport failed: {type(exc).__name__}: {exc}"
        watcher.stop(exc)
    finally:
        # Later sends fail fast (BrokenResourceError -> WebSocketDisconnect) instead
        # of blocking on a queue nobody drains.
        outbox.abandon()
        rt.sender_done.set()
