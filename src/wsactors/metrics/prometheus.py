"""The Prometheus exposition of one App's metrics (``prometheus-client``).

A custom collector: at each scrape it turns :meth:`AppMetrics.snapshot
<wsactors.metrics.collect.AppMetrics.snapshot>` into metric families, so nothing is
updated per message, and no label lookup or lock is ever on a connection's path.
Each App has its own :class:`~prometheus_client.registry.CollectorRegistry` (with
this process's ``process_*`` metrics), never the global one: two Apps in one
process never mix. Imported only when metrics are asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector, CollectorRegistry

from .collect import AppMetrics, Snapshot
from .tally import UNMATCHED

__all__ = ["AppCollector", "exposition", "registry_of"]

_ROUTE = ("route", "engine")


class AppCollector(Collector):
    """Reads one App's :class:`AppMetrics` at scrape time."""

    def __init__(self, metrics: AppMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterator[Metric]:
        snapshot = self._metrics.snapshot()
        yield from _connection_families(snapshot)
        yield from _channel_families(snapshot)


def _connection_families(snapshot: Snapshot) -> Iterator[Metric]:
    open_ = GaugeMetricFamily(
        "wsactors_connections_open", "WebSocket connections accepted and not ended", labels=_ROUTE
    )
    opened = CounterMetricFamily(
        "wsactors_connections_opened", "WebSocket connections accepted", labels=_ROUTE
    )
    closed = CounterMetricFamily(
        "wsactors_connections_closed",
        "Accepted connections that ended, by close code and by who closed first"
        " (client codes 3000-4999 are labelled 3xxx, 4xxx)",
        labels=(*_ROUTE, "code", "by"),
    )
    denied = CounterMetricFamily(
        "wsactors_handshakes_denied",
        "WebSocket handshakes answered with an HTTP status instead of a 101",
        labels=(*_ROUTE, "status"),
    )
    messages_in = CounterMetricFamily(
        "wsactors_messages_received", "Messages received from clients", labels=_ROUTE
    )
    messages_out = CounterMetricFamily(
        "wsactors_messages_sent", "Messages queued to clients", labels=_ROUTE
    )
    bytes_in = CounterMetricFamily(
        "wsactors_received_bytes",
        "Payload bytes received (UTF-8 for text)",
        labels=_ROUTE,
        unit="bytes",
    )
    bytes_out = CounterMetricFamily(
        "wsactors_sent_bytes", "Payload bytes queued (UTF-8 for text)", labels=_ROUTE, unit="bytes"
    )
    dropped = CounterMetricFamily(
        "wsactors_messages_dropped",
        "Messages dropped: rate_limited (inbound, rate_limit_policy=drop), discarded"
        " (data-discard rule), wrong_mode (frames of the other transport mode),"
        " unsent (queued after the client left)",
        labels=(*_ROUTE, "reason"),
    )
    waits = CounterMetricFamily(
        "wsactors_send_waits",
        "Sends that found the outbox full and waited (backpressure from slow clients)",
        labels=_ROUTE,
    )
    rtt = HistogramMetricFamily(
        "wsactors_keepalive_rtt_seconds",
        "Keepalive ping round trips (native engine)",
        labels=_ROUTE,
        unit="seconds",
    )
    durations = HistogramMetricFamily(
        "wsactors_connection_duration_seconds",
        "How long accepted connections lasted",
        labels=_ROUTE,
        unit="seconds",
    )
    for route in snapshot.routes:
        labels = (route.route, route.engine)
        for status, count in sorted(route.denials.items()):
            denied.add_metric((*labels, str(status)), count)
        if route.route == UNMATCHED:
            continue  # handshakes that matched no route: denied, never connections
        open_.add_metric(labels, route.open)
        opened.add_metric(labels, route.opened)
        for (code, by), count in sorted(route.closes.items()):
            closed.add_metric((*labels, code, by), count)
        messages_in.add_metric(labels, route.messages_in)
        messages_out.add_metric(labels, route.messages_out)
        bytes_in.add_metric(labels, route.bytes_in)
        bytes_out.add_metric(labels, route.bytes_out)
        for reason, count in route.dropped.items():
            dropped.add_metric((*labels, reason), count)
        waits.add_metric(labels, route.send_waits)
        if route.rtt is not None and (route.engine == "native" or sum(route.rtt.counts) > 0):
            rtt.add_metric(labels, route.rtt.cumulative(), route.rtt.sum)
        if route.durations is not None:
            durations.add_metric(labels, route.durations.cumulative(), route.durations.sum)
    yield from (open_, opened, closed, denied, messages_in, messages_out, bytes_in, bytes_out)
    yield from (dropped, waits, rtt, durations)


def _channel_families(snapshot: Snapshot) -> Iterator[Metric]:
    stats = snapshot.channels
    if stats is None:
        return
    yield CounterMetricFamily(
        "wsactors_channel_publishes", "Messages published through this process", stats.published
    )
    yield CounterMetricFamily(
        "wsactors_channel_deliveries", "Messages handed to local subscribers", stats.delivered
    )
    yield CounterMetricFamily(
        "wsactors_channel_lost_messages",
        "Messages local subscribers lost to their overflow policy",
        stats.dropped,
    )
    gaps = CounterMetricFamily(
        "wsactors_channel_gaps", "Gap items handed to local subscribers", labels=("reason",)
    )
    for reason in ("overflow", "reconnect", "history_trimmed"):
        gaps.add_metric((reason,), stats.gaps.get(reason, 0))
    yield gaps
    yield CounterMetricFamily(
        "wsactors_channel_redis_reconnects",
        "Times the backend lost its broker connection (Redis)",
        stats.reconnects,
    )
    yield GaugeMetricFamily(
        "wsactors_channel_subscribers", "Local subscriptions now", stats.subscribers
    )
    yield GaugeMetricFamily(
        "wsactors_channel_topics", "Topics with a local subscriber now", stats.topics
    )
    yield GaugeMetricFamily(
        "wsactors_channel_backend_connected",
        "1 while the backend is connected to its broker",
        1 if stats.connected else 0,
    )


def registry_of(metrics: AppMetrics) -> CollectorRegistry:
    """A registry of its own for one App: its collector and the process metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AppCollector(metrics))
    ProcessCollector(registry=registry)
    return registry


def exposition(metrics: AppMetrics, accept: str = "") -> tuple[bytes, str]:
    """``(body, content type)`` of a scrape: Prometheus' text format, or OpenMetrics
    when ``accept`` asks for it."""
    if metrics.registry is None:
        metrics.registry = registry_of(metrics)
    encoder, content_type = choose_encoder(accept)
    return encoder(metrics.registry), content_type
