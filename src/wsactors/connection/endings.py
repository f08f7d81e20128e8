"""How a connection's ending is answered: the deciding error and the final events.

:func:`deciding_error` reduces what a behaviour raised (an exception group included)
to the one exception that decides the close; :func:`final_events` turns it into what
the peer is still owed, given the connection's state (:mod:`wsactors.connection.state`),
with the close-code table of :mod:`wsactors.connection.closes`. Sans-I/O: no Trio.
"""

from __future__ import annotations

from ..exceptions import HTTPDenialError, WebSocketDisconnect, WebSocketException
from ..groups import leaves
from .closes import CloseInfo, close_for_error
from .events import Accept, Close, Outgoing
from .state import ConnectionState, State

__all__ = ["deciding_error", "final_events"]


def deciding_error(error: BaseException | None) -> BaseException | None:
    """Reduce an exception (group) to the one that decides the close code.

    A :class:`WebSocketException` inside a group keeps its own code (a stream run in
    a user's nursery must not turn into 1011); a group made only of disconnects is
    a disconnect; anything else stays as it is (1011).
    """
    if not isinstance(error, BaseExceptionGroup):
        return error
    chosen, _ = error.split(
        lambda e: isinstance(e, WebSocketException) and not isinstance(e, WebSocketDisconnect)
    )
    if chosen is not None:
        return leaves(chosen)[0]
    # split(type), not subgroup(predicate): a predicate is applied to the groups
    # too, and "not a disconnect" holds for every group.
    _, rest = error.split(WebSocketDisconnect)
    return leaves(error)[0] if rest is None else error


def final_events(
    state: ConnectionState, error: BaseException | None, *, debug: bool = False
) -> list[Outgoing]:
    """What the peer is still owed once a behaviour ended with ``error`` (already
    reduced by :func:`deciding_error`).

    - the peer is gone, or a close or denial is already queued or sent: nothing;
    - before accept, a denial error (guard, bad parameter): its HTTP response;
    - before accept, any other error: accept, then close with the error's code (a
      browser can read close codes, not HTTP statuses);
    - before accept, no error: close-before-accept (HTTP 403);
    - after accept, while the transport fails the connection: a close with its code;
    - after accept: a close with the code of :func:`~wsactors.connection.closes.close_for_error`.
    """
    current = state.current
    if state.peer_gone or current >= State.CLOSING:
        return []
    if current is State.CONNECTING and isinstance(error, HTTPDenialError):
        body = error.detail.encode("utf-8")
        return list(state.deny_events(error.status_code, body, None))
    if state.closed_by_engine and current is State.OPEN and state.close_code is not None:
        # The transport is failing the connection (events.Failing): its code.
        return [Close(state.close_code, state.close_reason)]
    info: CloseInfo = close_for_error(error, debug=debug)
    if current is State.CONNECTING and error is not None:
        return [Accept(), Close(info.code, info.reason)]
    return [Close(info.code, info.reason)]
