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


#: ``reason`` label of ``wsactors_messages_dropped_total`` -> the counter's attribute.
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
        figures: dict[RouteTally, RouteFigures] = {}
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
        for rt in self.owner.connections:
            observer = rt.observer
            if not isinstance(observer, RouteTally):
                continue  # served before the metrics were on: not this App's to count
            route = figures.get(observer)
            if route is None:  # a tally of another AppMetrics: never counted twice
                continue
            counters = rt.counters
            if rt.state.accepted:
                route.open += 1
                route.opened += 1
            route.messages_in += counters.messages_in
            route.messages_out += counters.messages_out
            route.bytes_in += counters.bytes_in
            route.bytes_out += counters.bytes_out
            route.send_waits += counters.send_waits
            dropped = route.dropped
            for label, name in DROPS.items():
                dropped[label] += getattr(counters, name)
        channels = self.owner.channels
        return Snapshot(
            routes=list(figures.values()),
            channels=channels.statistics() if channels is not None else None,
        )
