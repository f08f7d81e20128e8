"""Metrics of an App: ``App(metrics=True)``, exported in Prometheus' format.

Nothing is counted per message for them: a scrape reads the live connections'
own counters (:mod:`wsactors.actors.counters`) and the totals their routes'
tallies folded in when connections ended (:mod:`.tally`), plus the Channels'
statistics. This package imports ``prometheus_client`` only in :mod:`.prometheus`,
when a scrape is answered; ``import wsactors`` never does. docs/observability.md
lists every metric.
"""

from __future__ import annotations

from .collect import AppMetrics, RouteFigures, Snapshot
from .tally import UNMATCHED, Histogram, RouteTally

__all__ = ["UNMATCHED", "AppMetrics", "Histogram", "RouteFigures", "RouteTally", "Snapshot"]
