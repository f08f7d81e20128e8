"""The fan-out benchmark's pure parts: the subscriber's frame reader and the statistics.

No sockets here (:mod:`benchmarks.fanoutload` does the I/O), so both are tested
byte by byte in ``benchmarks/tests``.

A published message is JSON text whose first member is the publisher's send time,
``{"t": 1234.567890, "seq": 17, "pad": "xxx"}``, stamped with ``time.monotonic()``
(``CLOCK_MONOTONIC``: one clock for every process of the machine). Servers forward
the text as it came (websockets, Litestar) or decode and re-encode it (wsactors'
``channels.publish`` takes data, not text): either way the ``"t":`` member is found
by a byte search, not a JSON parser, so reading a delivery costs about a microsecond.
"""

from __future__ import annotations

import math
import struct
from array import array
from collections.abc import Sequence

from .rawclient import server_frames

__all__ = [
    "StampReader",
    "encode_message",
    "latency_summary",
    "masked_frame",
    "percentile",
]

_FIN = 0x80
_TEXT = 0x1
_CLOSE = 0x8
_PING = 0x9
_STAMP = b'"t":'


def encode_message(sent: float, seq: int, size: int) -> str:
    """The publisher's message: JSON text of about ``size`` bytes, the send time first.

    ``size`` below the stamp's own length gives a message without padding.
    """
    head = f'{{"t":{sent:.6f},"seq":{seq},"pad":"'
    pad = max(0, size - len(head) - 2)
    return head + "x" * pad + '"}'


def masked_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame (RFC 6455 5.3: a client masks every frame; a zero key is a valid
    key, and leaves the payload as is). Control frames only: ``payload`` < 126 bytes."""
    if len(payload) > 125:
        raise ValueError("a control frame's payload is at most 125 bytes (RFC 6455 5.5)")
    return struct.pack("!BB4x", _FIN | opcode, 0x80 | len(payload)) + payload


class StampReader:
    """Reads one connection's unmasked server frames (sans-I/O) and counts deliveries.

    Each complete text frame is one of:

    - a **delivery**: it carries a ``"t":`` stamp at or after :attr:`since`; its
      latency, ``now - stamp`` in seconds, is appended to the shared ``latencies``;
    - **stale**: a stamp before :attr:`since` (a warm-up message arriving late);
    - a **gap notice**: no stamp and ``"gap"`` in it (wsactors' Gap,
      ``{"type": "gap", ...}``);
    - **other**: any other text or binary frame.

    Pings are kept in :attr:`pings` for the caller to answer (RFC 6455 5.5.2: a pong
    with the same payload); a close frame sets :attr:`closed` and ends the reading.

    Args:
        latencies: Where every delivery's latency goes (shared by all connections).
        since: The earliest stamp counted as a delivery.

    Raises:
        ValueError (from :meth:`feed`): a masked or fragmented frame, or a stamp that
            is not a number: this benchmark's servers send neither.
    """

    __slots__ = (
        "_buffer",
        "closed",
        "deliveries",
        "gaps",
        "latencies",
        "other",
        "pings",
        "since",
        "stale",
    )

    def __init__(self, latencies: array[float], since: float = -math.inf) -> None:
        self.latencies = latencies
        self.since = since
        self.deliveries = 0
        self.stale = 0
        self.gaps = 0
        self.other = 0
        self.pings: list[bytes] = []
        self.closed = False
        self._buffer = bytearray()

    def reset(self, since: float) -> None:
        """Zero the counts and count only stamps from ``since`` on (a new phase)."""
        self.since = since
        self.deliveries = self.stale = self.gaps = self.other = 0

    def feed(self, data: bytes | memoryview, now: float) -> None:
        """Read the frames ``data`` completes; ``now`` is when it was read."""
        if self.closed:
            return  # nothing comes after a close frame (RFC 6455 5.5.1)
        buffer = self._buffer
        buffer += data
        read = 0
        for first, start, end in server_frames(buffer):
            read = end
            opcode = first & 0x0F
            if opcode >= _CLOSE:
                if opcode == _CLOSE:
                    self.closed = True
                    break
                if opcode == _PING:
                    self.pings.append(bytes(buffer[start:end]))
                continue  # a pong: nothing to do
            if not first & _FIN or opcode == 0:
                raise ValueError("a fragmented message: this benchmark's messages fit a frame")
            if opcode == _TEXT:
                self._text(buffer, start, end, now)
            else:
                self.other += 1
        del buffer[:read]

    def _text(self, buffer: bytearray, start: int, end: int, now: float) -> None:
        found = buffer.find(_STAMP, start, end)
        if found < 0:
            if buffer.find(b'"gap"', start, end) >= 0:
                self.gaps += 1
            else:
                self.other += 1
            return
        value_start = found + len(_STAMP)
        value_end = buffer.find(b",", value_start, end)
        if value_end < 0:
            value_end = end - 1  # the stamp is the last member: up to the closing brace
        stamp = float(buffer[value_start:value_end])  # float() skips the spaces around
        if stamp < self.since:
            self.stale += 1
            return
        self.deliveries += 1
        self.latencies.append(now - stamp)


def percentile(ordered: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of sorted values (NaN when there are none)."""
    if not ordered:
        return math.nan
    rank = math.ceil(fraction * len(ordered))
    return ordered[min(len(ordered), max(1, rank)) - 1]


def latency_summary(latencies: Sequence[float]) -> dict[str, float]:
    """p50, p99 and max of latencies in seconds, in milliseconds."""
    ordered = sorted(latencies)
    return {
        "p50_ms": percentile(ordered, 0.50) * 1e3,
        "p99_ms": percentile(ordered, 0.99) * 1e3,
        "max_ms": (ordered[-1] if ordered else math.nan) * 1e3,
    }
