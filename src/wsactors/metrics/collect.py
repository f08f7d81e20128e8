"""One App's metrics: the tallies of its routes, and a snapshot at scrape time.

:class:`AppMetrics` is the App's (``App(metrics=True)``; ``app.metrics``): no global
state, so two Apps in one process never mix. A scrape reads, in one synchronous
step, the totals folded in by ended connections plus the live counters of every
open one (:class:`~wsactors.actors.registry.LiveConnections`) and the Channels'
statistics. Nothing here imports ``prometheus_client``; :mod:`.prometheus` turns
a snapshot into the exposition format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..actors.registry import LiveConnections
from .tally import Histogram, RouteTally

if TYPE_CHECKING:
    from prometheus_client.registry import CollectorRegistry

    from ..channels import Channels, ChannelStatistics

__all__ = ["AppMetrics", "MetricsOwner", "RouteFigures", "Snapshot"]


class MetricsOwner(Protocol):
    """What the metrics read of an App (``wsactors.App`` is one)."""

    connections: LiveConnections
    channels: Channels | None


@dataclass(slots=True)
class RouteFigures:
    """Everything one route on one engine counted: ended connections plus live ones."""

    route: str
    engine: str
    open: int = 0
    opened: int = 0
    closes: dict[tuple[str, str], int] = field(default_factory=dict)
    denials: dict[int, int] = field(default_factory=dict)
    messages_in: int = 0
    messages_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    send_waits: int = 0
    rtt: Histogram | None = None
    durations: Histogram | None = None


@dataclass(slots=True)
class Snapshot:
    """What one scrape reports."""

    routes: list[RouteFigures]
    channels: ChannelStatistics | None


#: ``reason`` label of ``wsactors_messages_dropped_total`` -> the counter's attribute
#: (in this order in :meth:`AppMetrics.snapshot`'s sums).
DROPS = {
    "rate_limited": "rate_limited_messages",
    "discarded": "discarded_messages",
    "wrong_mode": "dropped_frames",
    "unsent": "unsent_messages",
}


class AppMetrics:
    """The metrics of one App.

    Args:
        owner: The App: its live connections and Channels are read at scrape time.
        path: Where the App answers scrapes over its own HTTP side
            (``App(metrics_path=...)``), or None when only a metrics port serves them.
    """

    def __init__(self, owner: MetricsOwner, path: str | None) -> None:
        self.owner = owner
        self.path = path
        self._tallies: dict[tuple[str, str], RouteTally] = {}
        #: ``(host, first port, how many ports to try)`` of the metrics listener,
        #: started with the App's lifespan (``App(metrics_port=...)``, ``wsactors run
        #: --metrics-port``), or None.
        self.listen: tuple[str, int, int] | None = None
        #: The metrics listener's URL once it listens.
        self.url: str | None = None
        #: Its Prometheus registry, made by the first scrape (:mod:`.prometheus`).
        self.registry: CollectorRegistry | None = None

    def tally(self, route: str, engine: str) -> RouteTally:
        """The totals of ``route`` (a template) on ``engine``, made on first use."""
        key = (route, engine)
        tally = self._tallies.get(key)
        if tally is None:
            tally = self._tallies[key] = RouteTally(route, engine)
        return tally

    def denied(self, route: str, engine: str, status: int) -> None:
        """A handshake for ``route`` (a template, or ``UNMATCHED``) got HTTP ``status``."""
        self.tally(route, engine).denied(status)

    def snapshot(self) -> Snapshot:
        """The totals and the live counters, read in one step (no checkpoint)."""
        figures: dict[object, RouteFigures] = {}  # by tally
        for tally in self._tallies.values():
            figures[tally] = RouteFigures(
                tally.route,
                tally.engine,
                opened=tally.opened,
                closes=dict(tally.closes),
                denials=dict(tally.denials),
                messages_in=tally.messages_in,
                messages_out=tally.messages_out,
                bytes_in=tally.bytes_in,
                bytes_out=tally.bytes_out,
                dropped={label: getattr(tally, name) for label, name in DROPS.items()},
                send_waits=tally.send_waits,
                rtt=tally.rtt,
                durations=tally.durations,
            )
        # Plain sums per route first (a scrape walks every live connection: about a
        # microsecond each), then into the figures.
        live: dict[object, list[int]] = {}
        for rt in self.owner.connections:
            observer = rt.observer
            sums = live.get(observer)
            if sums is None:
                if observer not in figures:
                    continue  # no tally of this App's (served before metrics were on)
                sums = live[observer] = [0] * 10
            counters = rt.counters
            if rt.state.accepted:
                sums[0] += 1
            sums[1] += counters.messages_in
            sums[2] += counters.messages_out
            sums[3] += counters.bytes_in
            sums[4] += counters.bytes_out
            sums[5] += counters.send_waits
            sums[6] += counters.rate_limited_messages
            sums[7] += counters.discarded_messages
            sums[8] += counters.dropped_frames
            sums[9] += counters.unsent_messages
        for key, sums in live.items():
            route = figures[key]
            route.open = sums[0]
            route.opened += sums[0]
            route.messages_in += sums[1]
            route.messages_out += sums[2]
            route.bytes_in += sums[3]
            route.bytes_out += sums[4]
            route.send_waits += sums[5]
            for label, value in zip(DROPS, sums[6:], strict=True):
                route.dropped[label] += value
        channels = self.owner.channels
        return Snapshot(
            routes=list(figures.values()),
            channels=channels.statistics() if channels is not None else None,
        )
