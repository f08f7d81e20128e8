"""The metrics package without sockets: the lean default, labels, histograms, the
Channels' figures, the exposition formats, and how a metrics port is configured.

The end-to-end side (scrapes of a served App on both engines) is
``tests/e2e/test_metrics.py``; the scrape by a real Prometheus server is
``test_prometheus_server.py`` here (``nox -s prometheus``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import trio

from metrics_helpers import Scrape
from wsactors import App, Channels, ChannelStatistics, Gap, Message, websocket
from wsactors.actors.registry import LiveConnections
from wsactors.exceptions import ImproperlyConfiguredError
from wsactors.metrics import AppMetrics, Histogram
from wsactors.metrics.http import LISTEN_ENV, listen_from_environ, serve_metrics_port
from wsactors.metrics.prometheus import exposition
from wsactors.metrics.tally import close_label

TIMEOUT = 10
SRC = Path(__file__).resolve().parents[2] / "src"


def test_import_wsactors_never_imports_prometheus_client() -> None:
    code = textwrap.dedent(
        """
        import sys
        import wsactors
        from wsactors import App, Channels
        App([], channels=Channels())
        assert "prometheus_client" not in sys.modules, "imported by default"
        App([], metrics=True)
        assert "prometheus_client" in sys.modules
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def test_metrics_need_prometheus_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # as if not installed
    with pytest.raises(ImproperlyConfiguredError, match=r"wsactors\[metrics\]"):
        App([], metrics=True)
    with pytest.raises(ImproperlyConfiguredError, match=r"wsactors\[metrics\]"):
        App([], metrics_port=9100)
    assert App([]).metrics is None  # without metrics, nothing is needed


def test_metrics_path_must_be_a_path() -> None:
    with pytest.raises(ImproperlyConfiguredError, match="metrics_path"):
        App([], metrics=True, metrics_path="metrics")


@pytest.mark.parametrize(
    ("code", "by_client", "label"),
    [
        (1000, True, "1000"),
        (1006, True, "1006"),
        (1015, True, "1015"),
        (3003, True, "3xxx"),
        (4999, True, "4xxx"),
        (4001, False, "4001"),  # the App's own codes are its choice: kept
        (3000, False, "3000"),
    ],
)
def test_client_close_codes_are_labelled_by_range(code: int, by_client: bool, label: str) -> None:
    assert close_label(code, by_client=by_client) == label


def test_histogram_buckets_are_cumulative() -> None:
    histogram = Histogram((0.01, 0.1, 1.0))
    for value in (0.005, 0.01, 0.05, 0.5, 7.0):
        histogram.observe(value)
    assert histogram.cumulative() == [("0.01", 2), ("0.1", 3), ("1.0", 4), ("+Inf", 5)]
    assert histogram.sum == pytest.approx(7.565)


async def test_channels_publishes_deliveries_gaps_and_losses_are_exported() -> None:
    channels = Channels(max_backlog=1)
    app = App([], channels=channels, metrics=True)
    assert app.metrics is not None
    with trio.fail_after(TIMEOUT):
        async with channels, channels.subscribe("room") as sub:
            for number in range(3):
                await channels.publish("room", number)
            first, second = await sub.get(), await sub.get()
    assert first == Gap("room", "overflow", 2)
    assert isinstance(second, Message)
    assert second.data == 2
    scraped = Scrape.parse(exposition(app.metrics)[0].decode())
    assert scraped.value("wsactors_channel_publishes_total") == 3
    assert scraped.value("wsactors_channel_deliveries_total") == 1
    assert scraped.value("wsactors_channel_lost_messages_total") == 2
    assert scraped.value("wsactors_channel_gaps_total", reason="overflow") == 1
    assert scraped.value("wsactors_channel_gaps_total", reason="reconnect") == 0
    assert scraped.value("wsactors_channel_redis_reconnects_total") == 0


class _Reconnecting:
    """Channels whose broker connection dropped twice (what RedisBackend counts)."""

    def statistics(self) -> ChannelStatistics:
        return ChannelStatistics(reconnects=2, connected=False, gaps={"reconnect": 5})


class _Owner:
    def __init__(self) -> None:
        self.connections = LiveConnections()
        self.channels = _Reconnecting()


def test_redis_reconnects_and_the_connection_state_are_exported() -> None:
    metrics = AppMetrics(_Owner(), "/metrics")  # type: ignore[arg-type]
    scraped = Scrape.parse(exposition(metrics)[0].decode())
    assert scraped.value("wsactors_channel_redis_reconnects_total") == 2
    assert scraped.value("wsactors_channel_backend_connected") == 0
    assert scraped.value("wsactors_channel_gaps_total", reason="reconnect") == 5


def test_without_channels_there_are_no_channel_metrics() -> None:
    app = App([], metrics=True)
    assert app.metrics is not None
    assert "wsactors_channel" not in exposition(app.metrics)[0].decode()


def test_openmetrics_when_the_scraper_asks_for_it() -> None:
    app = App([], metrics=True)
    assert app.metrics is not None
    body, content_type = exposition(app.metrics, "application/openmetrics-text; version=1.0.0")
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    assert b"# UNIT wsactors_received_bytes bytes" in body
    _, plain = exposition(app.metrics, "")
    assert plain.startswith("text/plain")


def test_each_app_has_its_own_registry() -> None:
    first, second = App([], metrics=True), App([], metrics=True)
    assert first.metrics is not None
    assert second.metrics is not None
    exposition(first.metrics)
    exposition(second.metrics)
    assert first.metrics.registry is not second.metrics.registry


@websocket("/ws")
async def handler(socket: object) -> None:
    raise AssertionError("never served here")


def test_serve_metrics_on_sets_the_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(LISTEN_ENV, raising=False)
    assert App([handler]).metrics is None
    app = App([handler])
    app.serve_metrics_on(9100, "0.0.0.0", tries=4)
    assert app.metrics is not None
    assert app.metrics.listen == ("0.0.0.0", 9100, 4)
    assert app.metrics.path is None  # no /metrics on the App's own port...
    assert app.plain_http is None  # ...so the native engine keeps its own 404/426
    with_path = App([handler], metrics=True, metrics_port=9200)
    assert with_path.metrics is not None
    assert with_path.metrics.listen == ("127.0.0.1", 9200, 1)
    assert with_path.metrics.path == "/metrics"


def test_worker_processes_read_the_listener_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert listen_from_environ({}) is None
    assert listen_from_environ({LISTEN_ENV: "::1:9100:2"}) == ("::1", 9100, 2)
    monkeypatch.setenv(LISTEN_ENV, "127.0.0.1:9300:3")
    app = App([handler])
    assert app.metrics is not None
    assert app.metrics.listen == ("127.0.0.1", 9300, 3)


async def _raw(port: int, request: bytes) -> bytes:
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        response = b""
        while chunk := await stream.receive_some():
            response += chunk
    return response


async def test_the_metrics_listener_takes_the_first_free_port_and_answers_scrapes() -> None:
    app = App([], metrics_port=0)
    assert app.metrics is not None
    with trio.fail_after(TIMEOUT):
        taken = (await trio.open_tcp_listeners(0, host="127.0.0.1"))[0]
        first = taken.socket.getsockname()[1]
        async with taken, trio.open_nursery() as nursery:
            url = await nursery.start(serve_metrics_port, app.metrics, "127.0.0.1", first, 20)
            port = int(url.removeprefix("http://127.0.0.1:").removesuffix("/metrics"))
            assert first < port < first + 20  # the first port was taken
            got = await _raw(port, b"GET /anything HTTP/1.1\r\nHost: x\r\n\r\n")
            head = await _raw(port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
            post = await _raw(port, b"POST /metrics HTTP/1.1\r\n\r\n")
            junk = await _raw(port, b"nonsense\r\n\r\n")
            nursery.cancel_scope.cancel()
    assert got.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in got
    assert b"wsactors_connections_open" in got
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.endswith(b"\r\n\r\n")  # no body
    assert post.startswith(b"HTTP/1.1 405")
    assert b"Allow: GET, HEAD" in post
    assert junk.startswith(b"HTTP/1.1 400")


def test_unmatched_handshakes_are_only_denials() -> None:
    app = App([], metrics=True)
    assert app.metrics is not None
    app.metrics.denied("unmatched", "native", 404)
    scraped = Scrape.parse(exposition(app.metrics)[0].decode())
    assert (
        scraped.value(
            "wsactors_handshakes_denied_total", route="unmatched", engine="native", status="404"
        )
        == 1
    )
    assert scraped.label_values("route") == {"unmatched"}
    assert scraped.total("wsactors_connections_open") == 0
    assert ("wsactors_connections_open", (("engine", "native"), ("route", "unmatched"))) not in (
        scraped.samples
    )
