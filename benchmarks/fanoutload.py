"""The fan-out benchmark's client: S subscribers in one process, and a publisher.

Run by :mod:`benchmarks.fanout` as ``python -m benchmarks.fanoutload --url
ws://127.0.0.1:PORT --server-pid PID --subscribers S ...`` on its own CPU; prints
progress to stderr and one JSON object to stdout.

The subscribers cost the client little: one process, one epoll loop, a handshake
over plain sockets, then only the frame boundaries and each message's send stamp
are read (:class:`benchmarks.fanoutframes.StampReader`), and pings are answered;
no WebSocket client object per connection. The publisher is a child process
(``--publish``: the ``websockets`` sync client, at most a few hundred messages a
second) that sends each message to the server's ``/publish`` route at a fixed pace,
stamping it with ``time.monotonic()`` just before it goes.

Phases, each reading the server's CPU time (``/proc/PID/stat``) and RSS:

``memory``
    S connections to ``/room`` (subscribed), then S to ``/idle`` (no subscription;
    fewer where the fd limit, the same for the server, does not hold 2 S), each
    group's RSS growth divided by its count; then the ``/idle`` group is closed.
``warm-up``
    The publisher runs until every subscriber has had a message (the subscriptions
    are all registered then); what is still on its way is drained.
``paced`` / ``throughput``
    ``rate`` messages/s for ``duration`` seconds; the phase ends when every
    delivery arrived, or none came for ``--drain`` seconds (dropped on a backlog's
    overflow), or ``--drain-limit`` seconds after the last publish (a server far
    behind: still queued). Deliveries, deliveries/s (first publish to last
    delivery), server CPU per delivery, publish-to-deliver p50/p99/max, Gap
    notices, undelivered messages (those dropped or still queued at the end).
"""

from __future__ import annotations

import argparse
import json
import select
import signal
import socket
import subprocess
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from .fanoutframes import StampReader, encode_message, latency_summary, masked_frame
from .procstat import cpu_seconds, raise_nofile_limit, rss_bytes
from .rawclient import read_answer, upgrade_request
from .rounds import Option, add_options, client_parser
from .serverproc import stop

__all__ = ["OPTIONS", "main"]

#: The options :mod:`benchmarks.fanout` takes and hands on.
OPTIONS = (
    Option("paced", float, 20_000, "offered deliveries/s"),
    Option("throughput", float, 100_000, "offered deliveries/s"),
    Option("duration", float, 5.0, "seconds of publishing"),
    Option("size", int, 64, "message size in bytes"),
    Option("settle", float, 1.0, "seconds before reading RSS"),
)

#: Handshakes in flight at once: below hypercorn's default listen backlog (100).
_HANDSHAKE_BATCH = 50
_PONG = 0xA
_READ = 262144
#: Seconds the loop naps after a batch of fewer than ``_SMALL_BATCH`` sockets.
NAP = 0.0005
_SMALL_BATCH = 64


_STARTED = time.monotonic()


def _log(text: str) -> None:
    print(f"    [{time.monotonic() - _STARTED:5.1f} s] {text}", file=sys.stderr, flush=True)


class _Connection:
    __slots__ = ("reader", "sock")

    def __init__(self, sock: socket.socket, reader: StampReader) -> None:
        self.sock = sock
        self.reader = reader


class Subscribers:
    """Every connection of this process, in one epoll loop."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.epoll = select.epoll()
        self.connections: dict[int, _Connection] = {}
        self.groups: dict[str, list[_Connection]] = {}
        self.latencies: array[float] = array("d")
        #: Connections the server closed (close frame or EOF), by group.
        self.ended: dict[str, int] = {}
        self._group_of: dict[int, str] = {}
        #: Deliveries since the last :meth:`reset`, and when the last one was read.
        self.delivered = 0
        self.last_delivery = 0.0
        # One read buffer for every socket: a fresh 256 KiB bytes object per recv()
        # would be an mmap and a munmap each time (46 µs a read, measured).
        self._view = memoryview(bytearray(_READ))

    def open(self, group: str, path: str, count: int) -> None:
        """Open ``count`` connections to ``path``, ``_HANDSHAKE_BATCH`` at a time.

        Raises:
            RuntimeError: a handshake was refused or the server closed during it.
        """
        members = self.groups.setdefault(group, [])
        self.ended.setdefault(group, 0)
        while len(members) < count:
            batch = []
            request = upgrade_request(path, f"{self.host}:{self.port}")
            for _ in range(min(_HANDSHAKE_BATCH, count - len(members))):
                sock = socket.create_connection((self.host, self.port), timeout=60)
                sock.sendall(request)
                batch.append(sock)
            for sock in batch:
                try:
                    _, rest = read_answer(sock)
                except (EOFError, ConnectionRefusedError) as exc:
                    raise RuntimeError(f"{path}: {exc}") from None
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection = _Connection(sock, StampReader(self.latencies))
                self.connections[sock.fileno()] = connection
                self._group_of[sock.fileno()] = group
                self.epoll.register(sock.fileno(), select.EPOLLIN)
                members.append(connection)
                if rest:
                    self._feed(connection, rest, time.monotonic())
            self.poll(0)  # answer early pings, keep the socket buffers empty

    def close(self, group: str) -> None:
        """Close a group's sockets (TCP FIN, no closing handshake)."""
        for connection in self.groups.pop(group, []):
            fd = connection.sock.fileno()
            if fd in self.connections:
                self._drop(fd)

    def _drop(self, fd: int) -> None:
        connection = self.connections.pop(fd)
        self._group_of.pop(fd, None)
        self.epoll.unregister(fd)
        connection.sock.close()

    def _feed(self, connection: _Connection, data: bytes | memoryview, now: float) -> None:
        reader = connection.reader
        before = reader.deliveries
        reader.feed(data, now)
        if reader.deliveries != before:
            self.delivered += reader.deliveries - before
            self.last_delivery = now
        if reader.pings:
            for payload in reader.pings:
                frame = masked_frame(_PONG, payload)
                # A few bytes into a send buffer this client never fills otherwise.
                if connection.sock.send(frame) != len(frame):
                    raise RuntimeError("a pong did not fit the socket's send buffer")
            reader.pings.clear()

    def poll(self, timeout: float) -> int:
        """Read whatever is ready within ``timeout`` seconds; returns how many sockets.

        After a small batch it naps :data:`NAP` seconds, so the next one is larger:
        a wake-up per delivery would cost the client more than the server spends
        per delivery, and the client must stay the cheaper side. Each read's time
        is taken once per batch, so a latency may read up to a nap too high.
        """
        events = self.epoll.poll(timeout)
        if not events:
            return 0
        now = time.monotonic()
        connections = self.connections
        view = self._view
        for fd, _ in events:
            connection = connections.get(fd)
            if connection is None:
                continue
            try:
                size = connection.sock.recv_into(view)
            except BlockingIOError:
                continue
            except ConnectionError:
                size = 0
            if size:
                self._feed(connection, view[:size], now)
            if not size or connection.reader.closed:
                group = self._group_of.get(fd, "?")
                self.ended[group] = self.ended.get(group, 0) + 1
                self._drop(fd)
        if len(events) < _SMALL_BATCH:
            time.sleep(NAP)
        return len(events)

    def reset(self, group: str, since: float) -> list[StampReader]:
        """Start a phase: zero every count, count stamps from ``since`` on; returns
        the group's readers."""
        readers = self.readers(group)
        for reader in readers:
            reader.reset(since)
        del self.latencies[:]
        self.delivered = 0
        self.last_delivery = since
        return readers

    def readers(self, group: str) -> list[StampReader]:
        """The readers of a group's connections that are still open."""
        return [c.reader for c in self.groups.get(group, []) if c.sock.fileno() >= 0]

    def run_until(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        """Poll until ``done()`` or ``timeout`` seconds.

        Raises:
            RuntimeError: the timeout passed first.
        """
        deadline = time.monotonic() + timeout
        while not done():
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"{what}: not done after {timeout:g} s")
            self.poll(min(left, 0.05))

    def quiet(self, seconds: float, timeout: float) -> None:
        """Read until nothing came for ``seconds`` (at most ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        last = time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - last < seconds:
            if self.epoll.poll(0):
                self.poll(0)
                last = time.monotonic()
            else:
                self.poll(0.02)


class Publisher:
    """The publisher child process: started ready, paced from :meth:`go` on."""

    def __init__(self, url: str, rate: float, count: int, size: int) -> None:
        command = [sys.executable, "-m", "benchmarks.fanoutload", "--publish", url]
        command += [str(rate), str(count), str(size)]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        if line != "ready":
            self.stop()
            raise RuntimeError(f"the publisher did not start: {line!r}")
        self.started = 0.0

    def go(self) -> None:
        """Start publishing now."""
        assert self.process.stdin is not None
        self.started = time.monotonic()
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def finished(self) -> bool:
        return self.process.poll() is not None

    def result(self) -> dict[str, Any]:
        """What the publisher printed (its pace) once it ended.

        Raises:
            RuntimeError: it failed.
        """
        assert self.process.stdout is not None
        out = self.process.stdout.read()
        if self.process.wait() != 0:
            raise RuntimeError(f"the publisher failed with {self.process.returncode}")
        result: dict[str, Any] = json.loads(out)
        return result

    def stop(self) -> None:
        """End the child (this process's own) if it still runs: SIGTERM, which it
        answers by closing its connection; SIGKILL if that takes over 10 s (a
        server too busy to answer the close)."""
        stop(self.process)


def wait_server_quiet(pid: int, timeout: float = 20.0) -> None:
    """Wait until the server spends under 5 % of a CPU (closing, collecting garbage)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(0.2)
        if cpu_seconds(pid) - before <= 0.01:
            return


def memory_phase(
    subs: Subscribers, pid: int, count: int, idle_count: int, settle: float
) -> dict[str, Any]:
    """RSS per ``/room`` connection (``count`` of them), then per ``/idle`` connection.

    Subscribed first: they stay for the fan-out. Both groups are fresh growth (no
    connection closes in between, whose memory the next group would reuse), after
    a warm-up that opened and closed a few of each. ``idle_count`` may be below
    ``count`` where the fd limit does not hold twice ``count`` sockets.
    """
    for path in ("/room", "/idle"):  # imports, caches, free lists
        subs.open("warm", path, _HANDSHAKE_BATCH)
        subs.close("warm")
    subs.quiet(settle, settle * 4)
    wait_server_quiet(pid)
    base = rss_bytes(pid)
    subs.open("room", "/room", count)
    subs.quiet(settle, settle * 4)
    wait_server_quiet(pid)
    room = rss_bytes(pid)
    subs.open("idle", "/idle", idle_count)
    subs.quiet(settle, settle * 4)
    wait_server_quiet(pid)
    idle = rss_bytes(pid)
    subscribed = (room - base) / count
    unsubscribed = (idle - room) / idle_count
    return {
        "connections": count,
        "idle_connections": idle_count,
        "rss_base_bytes": base,
        "unsubscribed_bytes_per_conn": unsubscribed,
        "subscribed_bytes_per_conn": subscribed,
        "subscribed_ratio": subscribed / unsubscribed if unsubscribed > 0 else float("nan"),
    }


def warm_up(subs: Subscribers, url: str, count: int, size: int, timeout: float) -> float:
    """Publish until every ``/room`` connection had a message; returns the seconds taken."""
    # At most 2,000 deliveries/s (10,000 subscribers: a message every 5 s): the
    # slowest server delivers the first message to all before the next piles up,
    # so little is still queued when the measured phases start.
    rate = max(0.2, min(20.0, 2_000 / count))
    publisher = Publisher(url, rate, int(rate * timeout) + 1, size)
    started = time.monotonic()
    try:
        publisher.go()
        readers = subs.readers("room")
        subs.run_until(
            lambda: all(r.deliveries for r in readers), timeout, "warm-up (every subscriber)"
        )
    finally:
        publisher.stop()
    taken = time.monotonic() - started
    subs.quiet(1.0, 60.0)
    return taken


def fan_out_phase(
    subs: Subscribers,
    url: str,
    pid: int,
    rate: float,
    duration: float,
    size: int,
    drain: float,
    drain_limit: float,
) -> dict[str, Any]:
    """``rate`` messages/s for ``duration`` s to every ``/room`` connection; the figures."""
    readers = subs.readers("room")
    subscribers = len(readers)
    messages = max(1, round(rate * duration))
    expected = messages * subscribers
    publisher = Publisher(url, rate, messages, size)
    try:
        wait_server_quiet(pid)
        ended_before = subs.ended.get("room", 0)
        start = time.monotonic()
        subs.reset("room", start)
        cpu_start = cpu_seconds(pid)
        own_start = time.process_time()
        publisher.go()
        subs.run_until(publisher.finished, duration * 3 + 30, "publishing")
        published = time.monotonic()
        pace = publisher.result()
        # Until every delivery arrived, or none came for `drain` seconds, or
        # `drain_limit` seconds passed: a server far behind is reported with what
        # it delivered by then, at the rate it delivered (it was saturated).
        deadline = time.monotonic() + drain_limit
        while subs.delivered < expected:
            now = time.monotonic()
            if now - max(subs.last_delivery, published) >= drain or now >= deadline:
                break
            subs.poll(0.05)
        cpu = cpu_seconds(pid) - cpu_start
        own = time.process_time() - own_start
        end = time.monotonic()
    finally:
        publisher.stop()
    deliveries = subs.delivered
    span = max(subs.last_delivery - publisher.started, 1e-9)
    return {
        "rate": rate,
        "messages": messages,
        "subscribers": subscribers,
        "published_per_s": pace["published_per_s"],
        "deliveries": deliveries,
        "undelivered": expected - deliveries,
        "gaps": sum(r.gaps for r in readers),
        "other_frames": sum(r.other for r in readers),
        "closed_by_server": subs.ended.get("room", 0) - ended_before,
        "seconds": span,
        "deliveries_per_s": deliveries / span,
        "server_cpu_s": cpu,
        "server_cpu_us_per_delivery": cpu / deliveries * 1e6 if deliveries else float("nan"),
        "server_busy": cpu / span,
        "client_busy": own / (end - start),
        **latency_summary(subs.latencies),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every phase against one server; the result the harness reads."""
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    pid: int = args.server_pid
    count: int = args.subscribers
    subs = Subscribers(host, port)
    results: dict[str, Any] = {"subscribers": count}
    # Every socket is a file descriptor here and in the server: what the limit
    # leaves (besides a margin for the rest) beside the subscribers' goes to /idle.
    idle_count = min(count, args.fd_limit - count - 200)
    if idle_count < 100:
        raise RuntimeError(f"the fd limit ({args.fd_limit}) is too low for {count} subscribers")
    _log(f"memory: {count:,} subscribed, then {idle_count:,} unsubscribed connections")
    results["memory"] = memory_phase(subs, pid, count, idle_count, args.settle)
    subs.close("idle")
    _log("warm-up: publishing until every subscriber had a message")
    results["warm_up_s"] = warm_up(subs, args.url, count, args.size, args.warmup_timeout)
    for name, offered in (("paced", args.paced), ("throughput", args.throughput)):
        rate = offered / count
        _log(f"{name}: {rate:g} messages/s for {args.duration:g} s ({offered:,.0f} deliveries/s)")
        results[name] = fan_out_phase(
            subs, args.url, pid, rate, args.duration, args.size, args.drain, args.drain_limit
        )
        subs.quiet(0.5, 30.0)
    subs.close("room")
    _log("done")
    return results


def publish(url: str, rate: float, count: int, size: int) -> None:
    """The publisher child: connect, say ``ready``, wait for ``go``, publish, report."""
    from websockets.sync.client import connect

    # Terminated (the warm-up's end): stop after the current message and close the
    # connection with 1000, so the server logs no error.
    stopping = False

    def on_terminate(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_terminate)
    with connect(f"{url}/publish", compression=None, open_timeout=30, close_timeout=5) as ws:
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return
        started = time.monotonic()
        for seq in range(count):
            if stopping:
                break
            delay = started + seq / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ws.send(encode_message(time.monotonic(), seq, size))
        elapsed = time.monotonic() - started
    if stopping:
        return
    per_s = (count - 1) / elapsed if count > 1 and elapsed > 0 else float(rate)
    print(json.dumps({"published": count, "published_per_s": per_s}), flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the phases, print the JSON result."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--publish"]:
        url, rate, count, size = argv[1:5]
        publish(url, float(rate), int(count), int(size))
        return 0
    parser = client_parser(__doc__)
    parser.add_argument("--subscribers", type=int, default=1000)
    add_options(parser, OPTIONS)
    parser.add_argument("--drain", type=float, default=2.0, help="seconds without a delivery")
    parser.add_argument(
        "--drain-limit", type=float, default=10.0, help="seconds of delivery after publishing"
    )
    parser.add_argument("--warmup-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)
    args.fd_limit = raise_nofile_limit()
    print(json.dumps(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
