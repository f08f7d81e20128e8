"""A real Prometheus server for the ``prometheus`` tests (``nox -s prometheus``).

``start_prometheus(targets, tmp_path)`` runs Debian's ``/usr/bin/prometheus`` on
127.0.0.1 and a free port, with a configuration written here (a 1 s scrape
interval, storage in ``tmp_path``), waits until it is ready, and stops it by PID.
Without the binary the tests skip, except when ``CI=true``: there a missing
Prometheus fails the run instead of passing it silently.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import trio

from metrics_helpers import http_get_url

#: Bound of the start, and of one wait for a scraped value.
READY_TIMEOUT = 30


class Prometheus:
    """A running Prometheus server: its address, and queries through its HTTP API."""

    def __init__(self, process: subprocess.Popen[bytes], port: int, log: Path) -> None:
        self.process = process
        self.port = port
        self.log = log

    async def get(self, path: str) -> tuple[int, bytes]:
        status, headers, body = await http_get_url("127.0.0.1", self.port, path)
        if headers.get("transfer-encoding") == "chunked":
            body = _unchunked(body)
        return status, body

    async def query(self, promql: str) -> list[dict[str, Any]]:
        """The result vector of an instant query: ``[{"metric": {...}, "value": [t, "v"]}]``."""
        status, body = await self.get(f"/api/v1/query?query={quote(promql)}")
        answer = json.loads(body)
        assert status == 200, answer
        assert answer["status"] == "success", answer
        result: list[dict[str, Any]] = answer["data"]["result"]
        return result

    async def values_by(self, promql: str, label: str) -> dict[str, float]:
        """``label`` value -> sample value, for each series of the query's result."""
        return {
            series["metric"].get(label, ""): float(series["value"][1])
            for series in await self.query(promql)
        }

    async def wait_for(self, promql: str, label: str, expected: dict[str, float]) -> None:
        """Query until the result is ``expected`` (scrapes come every second)."""
        seen: dict[str, float] = {}
        try:
            with trio.fail_after(READY_TIMEOUT):
                while (seen := await self.values_by(promql, label)) != expected:  # noqa: ASYNC110
                    await trio.sleep(0.25)  # the next scrape: no event to wait on
        except trio.TooSlowError:
            pytest.fail(f"{promql}: {seen} after {READY_TIMEOUT} s, expected {expected}")


def _unchunked(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _binary() -> str:
    binary = shutil.which("prometheus") or (
        "/usr/bin/prometheus" if os.path.exists("/usr/bin/prometheus") else None
    )
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is missing, and CI=true: the Prometheus test must run in CI")
        pytest.skip("prometheus is missing (apt-get install prometheus)")
    return binary


@asynccontextmanager
async def start_prometheus(
    targets: Sequence[str], tmp_path: Path, metrics_path: str = "/metrics"
) -> AsyncIterator[Prometheus]:
    """Prometheus scraping ``targets`` (``host:port``) every second, until the block ends."""
    binary = _binary()
    config = tmp_path / "prometheus.yml"
    config.write_text(
        json.dumps(  # JSON is YAML
            {
                "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                "scrape_configs": [
                    {
                        "job_name": "wsactors",
                        "metrics_path": metrics_path,
                        "static_configs": [{"targets": list(targets)}],
                    }
                ],
            }
        )
    )
    port = _free_port()
    log = tmp_path / "prometheus.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: ASYNC220 - returns at once; stopped by PID
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(process, port, log)
    try:
        with trio.fail_after(READY_TIMEOUT):
            while True:
                assert process.poll() is None, log.read_text()
                try:
                    status, _ = await server.get("/-/ready")
                except OSError:
                    status = 0
                if status == 200:
                    break
                await trio.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                with trio.fail_after(10):
                    while process.poll() is None:  # noqa: ASYNC110 - a child process
                        await trio.sleep(0.05)
            except trio.TooSlowError:
                process.kill()
                process.wait(timeout=10)
