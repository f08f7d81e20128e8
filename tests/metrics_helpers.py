"""Reading the metrics an App exports: scrapes over HTTP, parsed with prometheus_client.

Imported as ``metrics_helpers`` (``tests/conftest.py`` explains how ``tests/`` gets on
``sys.path``). None of these sets a deadline: callers wrap them in ``trio.fail_after``.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio
from prometheus_client.parser import text_string_to_metric_families

from wsactors import WebSocket, websocket
from wsactors.testing import LiveServer


@websocket("/echo")
async def echo(socket: WebSocket) -> None:
    """The echo route both metrics test modules serve."""
    await socket.accept()
    async for message in socket.iter_messages():
        await socket.send_message(message)


@dataclass(frozen=True)
class Scrape:
    """One scrape's samples: ``(name, sorted label pairs) -> value``."""

    text: str
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples = {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        return cls(text, samples)

    def value(self, name: str, **labels: str) -> float:
        """The sample with exactly these labels; 0 when there is none (not yet counted)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum of the samples of ``name`` whose labels include these."""
        wanted = set(labels.items())
        return sum(
            value
            for (sample, pairs), value in self.samples.items()
            if sample == name and wanted <= set(pairs)
        )

    def label_values(self, label: str) -> set[str]:
        """Every value ``label`` takes in this scrape."""
        return {value for (_, pairs) in self.samples for name, value in pairs if name == label}


async def http_get_url(host: str, port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    """One HTTP/1.1 GET with ``Connection: close``: status, headers (lower-case), body."""
    stream = await trio.open_tcp_stream(host, port)
    async with stream:
        request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        await stream.send_all(request.encode())
        response = b""
        while chunk := await stream.receive_some():
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, body


async def scrape(server: LiveServer, path: str = "/metrics") -> Scrape:
    """GET ``path`` on the server's own port; fails unless it answers 200."""
    status, _, body = await http_get_url(server.host, server.port, path)
    assert status == 200, body
    return Scrape.parse(body.decode())


async def scrape_until(server: LiveServer, name: str, expected: float, **labels: str) -> Scrape:
    """Scrape until ``name`` with these labels has the ``expected`` value (the
    server counts a connection's end a moment after the client saw it)."""
    while True:
        result = await scrape(server)
        if result.value(name, **labels) == expected:
            return result
        await trio.sleep(0.02)
