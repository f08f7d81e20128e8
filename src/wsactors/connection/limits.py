"""Sans-I/O limits and sizes: declared here once, and the rate limiter.

:class:`RuntimeConfig` holds every size and time limit of the connection runtime;
:class:`LimitOptions` names the subset each layer (App, handler decorators,
``WebSocketListener`` class attributes) accepts, and everything else reads
:data:`LIMIT_NAMES`. Time is passed in, so the rules are unit-tested without a clock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from ..exceptions import ImproperlyConfiguredError

__all__ = [
    "LIMIT_NAMES",
    "LITESTAR_NAMES",
    "LimitOptions",
    "RuntimeConfig",
    "TokenBucket",
    "checked_limits",
    "litestar_advice",
]


@dataclass(frozen=True, slots=True)
class RuntimeConfig:
    """Sizes and time limits of the connection runtime.

    Attributes:
        inbox_size: Received messages buffered ahead of the behaviour.
        outbox_size: Messages queued ahead of the sender.
        disconnect_grace: Seconds a *reading* behaviour may keep running after the
            client left (to drain buffered messages and handle
            ``WebSocketDisconnect``); a behaviour that is not reading is cancelled
            at once.
        close_timeout: Seconds to flush the outbox and send the close frame.
        cleanup_timeout: Seconds for each cleanup step (``on_disconnect``,
            yield-dependency cleanup) once the connection is over.
        debug: Put exception text in 1011 close reasons.
        max_message_size: Received messages larger than this many bytes close the
            connection with 1009 before any decoding (``None``: only the server's
            own limit, hypercorn's ``websocket_max_message_size``).
        rate_limit: ``(messages, seconds)``: a token bucket per connection.
        rate_limit_policy: ``"close"`` (1008 "rate limit exceeded") or ``"drop"``
            (the excess is dropped and counted in ``rate_limited_messages``).
        idle_timeout: Close with 1001 "idle timeout" after this many seconds without
            an inbound message.
        send_timeout: Stop the behaviour (its cleanup runs) and close with 1008
            "send timeout" when one send to the client is stalled this long (a
            consumer that stopped reading). hypercorn shields socket writes, so the
            stalled write itself, and the close frame queued behind it, wait until
            hypercorn closes the TCP connection.
    """

    inbox_size: int = 16
    outbox_size: int = 16
    disconnect_grace: float = 5.0
    close_timeout: float = 5.0
    cleanup_timeout: float = 5.0
    debug: bool = False
    max_message_size: int | None = None
    rate_limit: tuple[int, float] | None = None
    rate_limit_policy: Literal["close", "drop"] = "close"
    idle_timeout: float | None = None
    send_timeout: float | None = None


class LimitOptions(TypedDict, total=False):
    """Per-connection limits, accepted by ``App``, the decorators and ``WebSocketListener``.

    The layer closest to the handler wins; see ``RuntimeConfig`` for each meaning.
    """

    max_message_size: int | None
    rate_limit: tuple[int, float] | None
    rate_limit_policy: Literal["close", "drop"]
    idle_timeout: float | None
    send_timeout: float | None


#: The per-layer limit names: the keys of :class:`LimitOptions`.
LIMIT_NAMES = frozenset(LimitOptions.__annotations__)
# Every per-layer limit is a RuntimeConfig field: one declaration of meaning and default.
assert {f.name for f in dataclasses.fields(RuntimeConfig)} >= LIMIT_NAMES


#: Options of Litestar's handlers and ``WebsocketListener`` that wsactors spells
#: differently or does not have: name -> what to do instead. Given as a keyword (or,
#: on a ``WebSocketListener``, as a class attribute) they are refused with this
#: advice rather than ignored. docs/migrating-from-litestar.md lists the same.
LITESTAR_NAMES: dict[str, str] = {
    "on_accept": "use on_connect (wsactors' name for the hook run after accept)",
    "exception_handlers": (
        "wsactors has no exception handlers: catch the error in the handler, or raise "
        "WebSocketException(reason, code) to choose the close"
    ),
    "middleware": "wsactors has no middleware: use guards=, or wrap the App as an ASGI app",
    "opt": "wsactors has no opt mapping: use dependencies or the App's state",
    "signature_namespace": (
        "wsactors has no signature_namespace: import the annotated types at module level "
        "so that the annotations resolve"
    ),
    "type_encoders": "wsactors has no type_encoders: see the supported types in the docs",
    "type_decoders": "wsactors has no type_decoders: see the supported types in the docs",
}


def litestar_advice(names: Iterable[str], where: str) -> None:
    """Refuse Litestar option names that have another name, or none, here.

    Raises:
        ImproperlyConfiguredError: one of ``names`` is in :data:`LITESTAR_NAMES`.
    """
    found = sorted(set(names) & LITESTAR_NAMES.keys())
    if found:
        name = found[0]
        raise ImproperlyConfiguredError(f"{where}: {name!r} is Litestar's; {LITESTAR_NAMES[name]}")


def checked_limits(options: dict[str, Any], where: str) -> dict[str, Any]:
    """Validate limit options given as keywords (the static types are not enforced).

    Raises:
        ImproperlyConfiguredError: an unknown name (with advice for Litestar's names)
            or an impossible value.
    """
    litestar_advice(options, where)
    unknown = set(options) - LIMIT_NAMES
    if unknown:
        raise ImproperlyConfiguredError(
            f"{where}: unknown option(s) {sorted(unknown)}; limits are {sorted(LIMIT_NAMES)}"
        )
    for name in ("max_message_size", "idle_timeout", "send_timeout"):
        value = options.get(name)
        if value is not None and value <= 0:
            raise ImproperlyConfiguredError(f"{where}: {name} must be positive, got {value!r}")
    rate = options.get("rate_limit")
    if rate is not None and (len(rate) != 2 or rate[0] < 1 or rate[1] <= 0):
        raise ImproperlyConfiguredError(
            f"{where}: rate_limit must be (messages >= 1, seconds > 0), got {rate!r}"
        )
    policy = options.get("rate_limit_policy", "close")
    if policy not in ("close", "drop"):
        raise ImproperlyConfiguredError(
            f"{where}: rate_limit_policy must be 'close' or 'drop', got {policy!r}"
        )
    return options


class TokenBucket:
    """Allow bursts of ``messages`` and a sustained ``messages / seconds`` rate.

    Args:
        messages: Bucket capacity: how many messages may arrive back to back.
        seconds: Time to refill the whole bucket.
        now: The current time (any monotonic clock, in seconds).

    Raises:
        ValueError: ``messages`` < 1 or ``seconds`` <= 0.
    """

    __slots__ = ("_capacity", "_rate", "_stamp", "_tokens")

    def __init__(self, messages: int, seconds: float, now: float) -> None:
        if messages < 1 or seconds <= 0:
            raise ValueError(
                f"rate_limit must be (messages >= 1, seconds > 0), got {(messages, seconds)}"
            )
        self._capacity = float(messages)
        self._rate = messages / seconds
        self._tokens = float(messages)
        self._stamp = now

    def allow(self, now: float) -> bool:
        """Take a token for a message arriving at ``now``; False if none is left."""
        elapsed = now - self._stamp
        self._stamp = now
        if elapsed > 0:
            self._tokens = min(self._capacity, self._tokens + elapsed * self._rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
