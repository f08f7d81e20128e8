"""The native engine's options, checked once when the server starts."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["NativeOptions"]


@dataclass(frozen=True, slots=True)
class NativeOptions:
    """How the native engine serves (``wsactors.serve(app, engine="native", ...)``).

    The per-connection limits (``max_message_size``, ``rate_limit``,
    ``idle_timeout``, ``send_timeout``) stay on the App, Routers and handlers; the
    engine applies the route's ``max_message_size`` (default here: 1 MiB) and
    ``send_timeout`` (default here: 30 s) below the runtime, on frames and writes.

    Attributes:
        ping_interval: Seconds between keepalive pings; ``None`` disables keepalive.
        ping_timeout: Seconds a pong may take: then close 1011 "keepalive ping
            timeout" and abort.
        open_timeout: Seconds for the TLS handshake and the HTTP request to arrive.
        close_timeout: Seconds the closing handshake may take before the TCP
            connection is aborted; also the last phase of a shutdown.
        graceful_timeout: Seconds the shutdown drain (1001 to every connection) may
            take before what is left is aborted.
        compression: ``"deflate"`` enables permessage-deflate; ``None`` (default)
            leaves it off.
        max_connections: WebSocket connections served at once; handshakes beyond
            get HTTP 503. ``None``: no limit.
        ssl_context: Serve TLS (``wss://``, ``https://``) with this context.
        max_fragments: Frames one message may span (1009 beyond).
        max_request_size: Bytes the HTTP request line and headers may take,
            checked on every read (431 beyond, 414 when the request line alone is
            over it; each line is also limited to 8 KiB, and headers to 128).
        default_max_message_size: The frame-level size limit when the route sets
            none.
        default_send_timeout: The write timeout when the route sets none.
        max_buffered_bytes: Bytes all connections may hold together in unfinished
            incoming messages; past it, connections holding one are not read
            until memory frees (TCP pushes back on their clients). ``None``: no
            server-wide budget (docs/limits-and-security.md).
        buffer_pause_timeout: Seconds a connection may stay paused by
            ``max_buffered_bytes`` before it is closed 1013 "Try Again Later".
        startup_timeout: Seconds the App's lifespan startup may take.
    """

    ping_interval: float | None = 20.0
    ping_timeout: float = 20.0
    open_timeout: float = 10.0
    close_timeout: float = 5.0
    graceful_timeout: float = 5.0
    compression: Literal["deflate"] | None = None
    max_connections: int | None = None
    ssl_context: ssl.SSLContext | None = None
    max_fragments: int = 65536
    max_request_size: int = 65536
    default_max_message_size: int = 2**20
    default_send_timeout: float = 30.0
    max_buffered_bytes: int | None = 64 * 2**20
    buffer_pause_timeout: float = 10.0
    startup_timeout: float = 60.0

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> NativeOptions:
        """Build from keyword options, rejecting unknown names and impossible values.

        Raises:
            TypeError: an option this engine does not know (the message lists them).
            ValueError: a value out of range.
        """
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(options) - known)
        if unknown:
            raise TypeError(
                f"unknown native engine option(s) {unknown}; options are {sorted(known)}"
            )
        made = cls(**options)
        for name in (
            "ping_timeout",
            "open_timeout",
            "close_timeout",
            "default_send_timeout",
            "buffer_pause_timeout",
        ):
            if getattr(made, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(made, name)!r}")
        if made.ping_interval is not None and made.ping_interval <= 0:
            raise ValueError(f"ping_interval must be positive or None, got {made.ping_interval!r}")
        if made.graceful_timeout < 0:
            raise ValueError(f"graceful_timeout must be >= 0, got {made.graceful_timeout!r}")
        if made.compression not in (None, "deflate"):
            raise ValueError(f"compression must be None or 'deflate', got {made.compression!r}")
        if made.max_buffered_bytes is not None and made.max_buffered_bytes < 1:
            raise ValueError(f"max_buffered_bytes must be >= 1, got {made.max_buffered_bytes!r}")
        if made.max_connections is not None and made.max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {made.max_connections!r}")
        for name in ("max_fragments", "max_request_size", "default_max_message_size"):
            if getattr(made, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(made, name)!r}")
        return made
