"""Keepalive of a native connection: the ping schedule, the pong deadline, latency.

:class:`Keepalive` is sans-I/O: it keeps when the next ping is due (every
``ping_interval`` from the 101 on, while no pong is awaited), the payload and time
of the ping awaiting its pong, and whether that pong is late (``ping_timeout``); it
turns a pong into the :class:`~wsactors.connection.events.Pong` event, with the
round trip when it answers that ping (RFC 6455 section 5.5.3: a pong carries the
payload of the ping it answers).

:class:`~wsactors.transport.native.core.ConnectionCore` owns one and asks it when
the server's timer (:class:`~wsactors.transport.native.timers.Deadlines`, one task
for every connection) calls: it queues the ping it returns, and fails a connection
whose pong is late with 1011 "keepalive ping timeout". No cancel scope per read or
write, which would cost more than the parsing, and no task per idle connection.
Time is passed in: the schedule is unit-tested on a fake clock.
"""

from __future__ import annotations

import math
import struct

from ...connection.events import Pong

__all__ = ["Keepalive"]


class Keepalive:
    """The keepalive state of one connection.

    Args:
        interval: Seconds between keepalive pings (``None``: no keepalive).
        timeout: Seconds a pong may take before the connection is failed.
    """

    __slots__ = ("_count", "_data", "_interval", "_next", "_sent", "timeout")

    def __init__(self, interval: float | None, timeout: float) -> None:
        self._interval = interval
        self.timeout = timeout
        self._sent: float | None = None  # when the ping awaiting its pong went out
        self._data = b""  # that ping's payload
        self._count = 0
        self._next = math.inf  # when the next ping is due

    def start(self, now: float) -> None:
        """The 101 went out at ``now``: the first ping is due one interval later."""
        if self._interval is not None:
            self._next = now + self._interval

    def late(self, now: float) -> bool:
        """Whether the pong awaited is overdue at ``now``."""
        sent = self._sent
        return sent is not None and now >= sent + self.timeout

    def ping_due(self, now: float) -> bool:
        """Whether a ping is due at ``now`` (none while a pong is awaited)."""
        return self._interval is not None and self._sent is None and now >= self._next

    def ping(self, now: float) -> bytes:
        """The payload of the ping sent at ``now`` (when :meth:`ping_due`): a counter."""
        interval = self._interval
        assert interval is not None  # ping_due
        self._count += 1
        self._data = struct.pack("!I", self._count)
        self._sent = now
        self._next = now + interval
        return self._data

    def wake(self) -> float:
        """When the timer must next look: the pong's deadline, else the next ping
        (``inf``: neither)."""
        sent = self._sent
        return self._next if sent is None else sent + self.timeout

    def pong(self, data: bytes, now: float) -> Pong:
        """The event of a pong arriving at ``now``; with the latency when it answers
        our last ping (the next ping stays due one interval after that ping)."""
        if self._sent is not None and data == self._data:
            latency = now - self._sent
            self._sent = None
            return Pong(data, latency)
        return Pong(data)
