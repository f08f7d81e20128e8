"""The totals of one route on one engine: what ended connections leave behind.

A live connection's figures are its own counters (:mod:`wsactors.actors.counters`),
read at scrape time. When it ends, :meth:`RouteTally.ended` folds them into the
totals of its route, with its close code, in the same step as it leaves the App's
live connections: nothing is counted per message. Plain Python: no
``prometheus_client`` here.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Final

from ..actors.runtime import ConnectionRuntime
from ..connection.closes import ABNORMAL, NO_STATUS
from ..connection.state import State

__all__ = [
    "DURATION_BUCKETS",
    "RTT_BUCKETS",
    "UNMATCHED",
    "Histogram",
    "RouteTally",
    "close_label",
]

#: The ``route`` label of a handshake that matched no route (never a raw path).
UNMATCHED: Final = "unmatched"

#: Keepalive round trips, in seconds.
RTT_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: How long accepted connections lasted, in seconds (a minute, an hour, a day...).
DURATION_BUCKETS: Final = (0.1, 1.0, 10.0, 60.0, 300.0, 1800.0, 3600.0, 21600.0, 86400.0)

#: Close codes a client may send that RFC 6455 and the IANA registry define;
#: a client's other codes (3000-4999, its application's) are labelled by range,
#: so a client cannot create one time series per code.
_REGISTERED: Final = frozenset(range(1000, 1016))


def close_label(code: int, *, by_client: bool) -> str:
    """The ``code`` label of a close: the code, or ``"3xxx"``/``"4xxx"`` for a client's
    application codes."""
    if not by_client or code in _REGISTERED:
        return str(code)
    if 3000 <= code < 4000:
        return "3xxx"
    if 4000 <= code < 5000:
        return "4xxx"
    return "other"


class Histogram:
    """Observations in fixed buckets (Prometheus' ``le``: value <= bound)."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        #: One count per bound, and a last one for values above every bound.
        self.counts = [0] * (len(self.bounds) + 1)
        self.sum = 0.0

    def observe(self, value: float) -> None:
        """Count ``value``."""
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    def cumulative(self) -> list[tuple[str, int]]:
        """``(le, count of values <= le)`` pairs, ``"+Inf"`` last (Prometheus' shape)."""
        pairs: list[tuple[str, int]] = []
        total = 0
        for bound, count in zip((*map(repr, self.bounds), "+Inf"), self.counts, strict=True):
            total += count
            pairs.append((bound, total))
        return pairs


class RouteTally:
    """The totals of one route template on one engine (a ``ConnectionObserver``).

    Args:
        route: The route's template (``/items/{id:int}``), or :data:`UNMATCHED`.
        engine: ``"hypercorn"``, ``"native"``, or ``"custom"`` (another transport
            through ``App.serve_connection``).
    """

    __slots__ = (
        "bytes_in",
        "bytes_out",
        "closes",
        "denials",
        "discarded_messages",
        "dropped_frames",
        "durations",
        "engine",
        "messages_in",
        "messages_out",
        "opened",
        "rate_limited_messages",
        "route",
        "rtt",
        "send_waits",
        "unsent_messages",
    )

    def __init__(self, route: str, engine: str) -> None:
        self.route = route
        self.engine = engine
        #: Accepted connections that ended (the live ones are counted at scrape time).
        self.opened = 0
        #: ``(code label, "client" or "server")`` -> accepted connections that ended so.
        self.closes: dict[tuple[str, str], int] = {}
        #: HTTP status -> handshakes denied.
        self.denials: dict[int, int] = {}
        self.messages_in = 0
        self.messages_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.dropped_frames = 0
        self.discarded_messages = 0
        self.rate_limited_messages = 0
        self.unsent_messages = 0
        self.send_waits = 0
        self.rtt = Histogram(RTT_BUCKETS)
        self.durations = Histogram(DURATION_BUCKETS)

    def pong(self, latency: float) -> None:
        """A keepalive round trip of one of this route's connections."""
        self.rtt.observe(latency)

    def denied(self, status: int) -> None:
        """A handshake of this route was answered with HTTP ``status``."""
        self.denials[status] = self.denials.get(status, 0) + 1

    def ended(self, rt: ConnectionRuntime, duration: float) -> None:
        """Fold an ended connection's counters in, with its close or its denial."""
        counters = rt.counters
        self.messages_in += counters.messages_in
        self.messages_out += counters.messages_out
        self.bytes_in += counters.bytes_in
        self.bytes_out += counters.bytes_out
        self.dropped_frames += counters.dropped_frames
        self.discarded_messages += counters.discarded_messages
        self.rate_limited_messages += counters.rate_limited_messages
        self.unsent_messages += counters.unsent_messages
        self.send_waits += counters.send_waits
        state = rt.state
        if state.state is State.REJECTED:
            # The denial reached the client (a close before accept is HTTP 403).
            self.denied(state.denial_status or 403)
            return
        if not state.accepted:
            return  # the client left before any answer: never opened, never denied
        self.opened += 1
        self.durations.observe(duration)
        key = close_of(rt)
        self.closes[key] = self.closes.get(key, 0) + 1


def close_of(rt: ConnectionRuntime) -> tuple[str, str]:
    """The ``(code, by)`` labels of an accepted connection's end.

    ``by`` is ``"client"`` when the client closed first (its code, or 1006 when it
    vanished without a close frame; hypercorn reports 1006 for every client close),
    else ``"server"``: the close frame the transport took, the engine's own close,
    or 1006 when no close frame could be delivered.
    """
    state = rt.state
    if state.closed_by_peer:
        return close_label(state.close_code or NO_STATUS, by_client=True), "client"
    if rt.close_sent is not None:
        return str(rt.close_sent.code), "server"
    if state.closed_by_engine and state.close_code:
        return str(state.close_code), "server"
    return str(ABNORMAL), "server"
