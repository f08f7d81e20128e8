"""Sans-I/O limits: the options every layer accepts, and the rate limiter.

Time is passed in, so the rules are unit-tested without a clock.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal, TypedDict

from .exceptions import ImproperlyConfiguredError

__all__ = [
    "LIMIT_NAMES",
    "LITESTAR_NAMES",
    "LimitOptions",
    "TokenBucket",
    "checked_limits",
    "litestar_advice",
]


class LimitOptions(TypedDict, total=False):
    """Per-connection limits, accepted by ``App``, the decorators and ``WebSocketListener``.

    The layer closest to the handler wins; see ``RuntimeConfig`` for each meaning.
    """

    max_message_size: int | None
    rate_limit: tuple[int, float] | None
    rate_limit_policy: Literal["close", "drop"]
    idle_timeout: float | None
    send_timeout: float | None


LIMIT_NAMES = frozenset(LimitOptions.__annotations__)


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
