"""The data-discard rule (docs/streams.md), one implementation for both stream APIs.

While a stream listens for disconnects, the receiver hands every client message to
the :class:`DiscardRule` in force instead of the inbox. By default a message is a
violation: the stream's scope is cancelled and the stream API raises 1008 with a
reason naming ``allow_data_discard``. With ``allow_data_discard=True`` the message is
dropped, counted in ``statistics().discarded_messages``, logged (at most once a
second per connection, with the count of lines left out) and, unless
``warn_on_data_discard=False``, warned about with ``DataDiscardedWarning``.
"""

from __future__ import annotations

import logging
import warnings

import trio

from ..connection.closes import Why, stop_error
from ..exceptions import DataDiscardedWarning, WebSocketException
from .counters import Counters

__all__ = ["DiscardRule"]

logger = logging.getLogger("wsactors.connection")

_WARNING = "a message from the client was discarded while streaming"
#: Seconds between two discard log lines of one connection.
_LOG_EVERY = 1.0


class DiscardRule:
    """The rule for one stream; its scope ends the stream (peer gone, or violation).

    Args:
        allow: Drop client messages instead of stopping the stream.
        warn: Warn with ``DataDiscardedWarning`` for each dropped message.
        counters: The connection's counters.
        path: The connection's path, for the log line.
    """

    __slots__ = (
        "_allow",
        "_counters",
        "_logged_at",
        "_path",
        "_unlogged",
        "_warn",
        "scope",
        "violation",
    )

    def __init__(self, allow: bool, warn: bool, counters: Counters, path: str) -> None:
        self._allow = allow
        self._warn = warn
        self._counters = counters
        self._path = path
        self._logged_at = -_LOG_EVERY
        self._unlogged = 0
        #: Wraps the stream's pump: cancelled when the peer leaves or on a violation.
        self.scope = trio.CancelScope()
        #: Set when a message broke the rule; the stream API raises it.
        self.violation: WebSocketException | None = None

    def take(self, data: str | bytes) -> None:
        """Apply the rule to one client message (called by the receiver; never blocks)."""
        if not self._allow:
            if self.violation is None:
                self.violation = stop_error(Why.DATA_DISCARDED)
            self.scope.cancel()
            return
        self._counters.discarded_messages += 1
        now = trio.current_time()
        if now - self._logged_at >= _LOG_EVERY:
            logger.info(
                "%r: discarded a %d-byte client message while streaming "
                "(allow_data_discard=True; %d more since the last line)",
                self._path,
                len(data),
                self._unlogged,
            )
            self._logged_at = now
            self._unlogged = 0
        else:
            self._unlogged += 1
        if self._warn:
            warnings.warn(DataDiscardedWarning(_WARNING), stacklevel=2)

    def peer_left(self) -> None:
        """The peer is gone: the stream ends (quietly)."""
        self.scope.cancel()
