"""Keepalive under the native transport: pings, the pong deadline, latency.

:class:`Keepalive` adds to :class:`~wsactors.transport.native.wire.Wire` what the
server's timer (:class:`~wsactors.transport.native.timers.Deadlines`, one task for every
connection) does for a connection once its 101 went out: a ping every
``ping_interval``, a connection whose pong is late failed with 1011 "keepalive ping
timeout" and aborted, the write timeout (the wire's) folded into the same deadline,
and the round trip of the last answered ping. No cancel scope per read or write,
which would cost more than the parsing, and no task per idle connection.
:class:`~wsactors.transport.native.transport.NativeTransport` builds on it.
"""

from __future__ import annotations

import math
import struct
from typing import Final

import trio
from websockets.protocol import State as WireState

from ...connection.closes import Why
from ...connection.events import Pong
from .timers import Action, Deadlines
from .wire import Wire
from .wireprotocol import WireProtocol

__all__ = ["Keepalive"]

_OPEN: Final = WireState.OPEN


class Keepalive(Wire):
    """A wire with keepalive pings and the pong deadline, on the server's timer.

    Args:
        stream: The connection's stream (TCP, or TLS over TCP).
        protocol: The ``websockets`` protocol of the connection.
        send_timeout: Seconds one write may stall before the connection is aborted.
        ping_interval: Seconds between keepalive pings (``None``: no keepalive).
        ping_timeout: Seconds a pong may take before the connection is closed with
            1011 "keepalive ping timeout" and aborted.
        deadlines: The server's timer (keepalive and the write timeout, from
            :meth:`_start_timer` on); ``None``: neither.
    """

    __slots__ = (
        "_keeper",
        "_next_ping",
        "_ping_count",
        "_ping_data",
        "_ping_interval",
        "_ping_sent",
        "_ping_timeout",
    )

    def __init__(
        self,
        stream: trio.abc.Stream,
        protocol: WireProtocol,
        send_timeout: float,
        *,
        ping_interval: float | None,
        ping_timeout: float,
        deadlines: Deadlines | None,
    ) -> None:
        super().__init__(stream, protocol, send_timeout)
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._ping_sent: float | None = None
        self._ping_data = b""
        self._ping_count = 0
        self._next_ping = math.inf
        # The server's timer: it times this connection once the 101 went out.
        self._keeper = deadlines

    async def _flush_quietly(self) -> None:
        """A flush by the timer: a failed write ends the connection (the subclass's)."""
        raise NotImplementedError

    def _fail_now(self, code: int, reason: str) -> None:
        """Fail the connection: close frame, then TCP close (the subclass's)."""
        raise NotImplementedError

    def _start_timer(self) -> None:
        """The 101 went out: keepalive and the write timeout start now."""
        self._deadlines = self._keeper
        if self._ping_interval is not None:
            self._next_ping = trio.current_time() + self._ping_interval
        self._schedule_timer()

    def on_deadline(self, now: float) -> Action | None:
        """The server's timer: this connection's next deadline passed.

        Keepalive pings, the pong that is due (then 1011 "keepalive ping timeout"
        and abort), the write in progress reaching ``send_timeout`` (then abort).
        Per message it costs nothing: a writer notes when its write began, and
        moves the deadline only when the timer would wake past it.

        Returns:
            The work to run as a task (a ping to write, a failure, an abort); the
            next deadline is set meanwhile. ``None``: nothing to write now.
        """
        action = super().on_deadline(now)  # a stalled write
        if action is not None or self._closed:
            return action
        ping_sent = self._ping_sent
        if ping_sent is not None and now >= ping_sent + self._ping_timeout:
            return self._keepalive_failed
        interval = self._ping_interval
        ping = None
        if interval is not None and ping_sent is None and now >= self._next_ping:
            if self._protocol.state is not _OPEN:
                return None  # closing: the closing handshake has its own bound
            self._ping_count += 1
            self._ping_data = struct.pack("!I", self._ping_count)
            self._ping_sent = now
            self._next_ping = now + interval
            self._protocol.send_ping(self._ping_data)
            ping = self._flush_ping
        self._schedule_timer()
        return ping

    def _schedule_timer(self) -> None:
        """Ask the server's timer to call :meth:`on_deadline` at the next deadline."""
        deadlines = self._deadlines
        if deadlines is None:
            return
        if self._ping_sent is not None:
            wake = self._ping_sent + self._ping_timeout
        else:
            wake = self._next_ping  # inf without keepalive
        started = self._write_started
        if started is not None:
            wake = min(wake, started + self._send_timeout)
        if wake != math.inf:
            deadlines.schedule(self, wake)

    async def _flush_ping(self) -> None:
        with trio.move_on_after(self._ping_timeout):
            await self._flush_quietly()

    async def _keepalive_failed(self) -> None:
        # Fail the connection: the close frame if it can still go out, then abort.
        self._fail_now(*Why.KEEPALIVE_TIMEOUT.value)
        with trio.move_on_after(self._ping_timeout):
            await self._flush_quietly()
        await self.abort()

    def _pong(self, data: bytes) -> Pong:
        """The event of a pong; with the latency when it answers our last ping."""
        if self._ping_sent is not None and data == self._ping_data:
            latency = trio.current_time() - self._ping_sent
            self._ping_sent = None
            return Pong(data, latency)
        return Pong(data)
