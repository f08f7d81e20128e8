"""``wsactors run --metrics-port``: the metrics on a port of their own, per worker.

Subprocesses as in ``test_cli_serving.py``. With ``--metrics-port P`` the workers
take P to P+N-1 (each the first free one), and every one of them is scraped there.
With ``--metrics-port 0`` (one process, or the native engine's forked workers) each
picks a free port and logs it ("metrics served on ...").
"""

from __future__ import annotations

import re
import signal
import socket
import sys
from pathlib import Path

import pytest
import trio
from trio_websocket import open_websocket_url

from cli_helpers import ECHO_APP, ServerProcess, server_command
from metrics_helpers import Scrape, http_get_url
from wsactors.cli.main import main

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals"),
]

RUN = [sys.executable, "-m", "wsactors", "run"]
SERVED = r"metrics served on http://127\.0\.0\.1:(\d+)/metrics"


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    """A directory with ``echoapp.py`` (an App echoing text on /echo) and
    ``plainapp.py`` (an ASGI function that is not a wsactors App)."""
    (tmp_path / "echoapp.py").write_text(ECHO_APP)
    (tmp_path / "plainapp.py").write_text("async def app(scope, receive, send):\n    pass\n")
    return tmp_path


async def _metrics_ports(server: ServerProcess, workers: int) -> list[int]:
    """The metrics port of each worker, from their log lines."""
    pattern = "(?s)" + ".*".join([SERVED] * workers)
    await server.wait_for_log(pattern)
    return [int(port) for port in re.findall(SERVED, await server.log())]


async def _echo_clients(server: ServerProcess, count: int) -> None:
    for n in range(count):
        async with open_websocket_url(f"ws://127.0.0.1:{server.port}/echo") as ws:
            await ws.send_message(f"hello {n}")
            assert await ws.get_message() == f"hello {n}"


async def _opened(port: int) -> float:
    status, _, body = await http_get_url("127.0.0.1", port, "/metrics")
    assert status == 200, body
    return Scrape.parse(body.decode()).total("wsactors_connections_opened_total")


async def _all_opened(ports: list[int], expected: int) -> None:
    """Scrape every worker until their figures add up (a close is counted a moment
    after the client saw it)."""
    while sum([await _opened(port) for port in ports]) != expected:  # noqa: ASYNC110 - no event
        await trio.sleep(0.05)


def _free_port_pair() -> int:
    """A port P such that P and P+1 are free now (a worker each)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port: int = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise AssertionError("no two consecutive free ports")


@pytest.mark.parametrize(("engine", "workers"), [("hypercorn", 1), ("hypercorn", 2), ("native", 2)])
async def test_run_serves_every_workers_metrics_on_a_port(
    app_dir: Path, engine: str, workers: int
) -> None:
    # hypercorn's worker processes bind before their logging is set up: a real port.
    first = _free_port_pair() if engine == "hypercorn" and workers > 1 else 0
    command = [*RUN, "echoapp", "--port", "0", "--metrics-port", str(first)]
    command += ["--engine", engine, "--workers", str(workers)]
    with trio.fail_after(40):
        async with server_command(command, app_dir) as server:
            if first:
                await server.wait_for_log(f"metrics served by the workers on ports {first}-")
                # Each worker binds its metrics port in its lifespan startup, before
                # it says it is running: wait for both.
                bound = re.escape(f"Running on http://127.0.0.1:{server.port}")
                await server.wait_for_log(f"(?s){bound}.*{bound}")
                ports = [first, first + 1]
            else:
                ports = await _metrics_ports(server, workers)
            assert len(set(ports)) == workers
            await _echo_clients(server, 4)
            await _all_opened(ports, 4)
            # The App's own port has no HTTP side: the metrics are only there.
            status, _, _ = await http_get_url("127.0.0.1", server.port, "/metrics")
            assert status == 404
            # (The kernel may have given every client to the same worker.)
            bodies = [(await http_get_url("127.0.0.1", port, "/metrics"))[2] for port in ports]
            assert any(f'engine="{engine}"' in body.decode() for body in bodies)
            assert await server.stop(signal.SIGTERM) == 0
            log = await server.log()
    assert "Traceback" not in log


def test_metrics_port_0_with_hypercorn_workers_is_refused(
    app_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(app_dir)
    monkeypatch.syspath_prepend(str(app_dir))
    assert main(["run", "echoapp", "--workers", "2", "--metrics-port", "0"]) == 2
    assert "--metrics-port: give a port" in capsys.readouterr().err


def test_metrics_port_needs_a_wsactors_app(
    app_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(app_dir)
    monkeypatch.syspath_prepend(str(app_dir))
    assert main(["run", "plainapp:app", "--metrics-port", "9100"]) == 2
    assert "--metrics-port: plainapp:app is not a wsactors App" in capsys.readouterr().err
