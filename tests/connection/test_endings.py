"""Sans-I/O tests of how a behaviour's ending becomes what the peer is owed.

``deciding_error`` reduces what the behaviour raised (exception groups included) to
the error that decides the close; ``final_events`` turns it into the events still
owed: an HTTP denial, accept-then-close, a close, or nothing. No Trio.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wsactors import WebSocketDisconnect, WebSocketException
from wsactors.connection.endings import deciding_error, final_events
from wsactors.connection.events import Accept, Close, Deny
from wsactors.connection.state import ConnectionState
from wsactors.exceptions import (
    BadRequestError,
    InvalidMessageError,
    NotAuthorizedError,
    PermissionDeniedError,
)


def fresh(*, http_denials: bool = True) -> ConnectionState:
    return ConnectionState((), http_denials=http_denials)


def opened() -> ConnectionState:
    state = fresh()
    state.queued(Accept())
    state.hand_over(Accept())
    return state


# --------------------------------------------------------------------- final_events
def test_final_events_deny_before_accept() -> None:
    [event] = final_events(fresh(), NotAuthorizedError("token expired"))
    assert isinstance(event, Deny)
    assert (event.status, event.body) == (401, b"token expired")


def test_final_events_deny_falls_back_without_http_denials() -> None:
    assert final_events(fresh(http_denials=False), PermissionDeniedError()) == [Close(1008, "")]


def test_final_events_error_before_accept_accepts_then_closes() -> None:
    assert final_events(fresh(), RuntimeError("x")) == [
        Accept(),
        Close(1011, "Internal Server Error"),
    ]


def test_final_events_error_before_accept_in_debug() -> None:
    assert final_events(fresh(), KeyError("room"), debug=True) == [
        Accept(),
        Close(1011, "Internal Server Error: KeyError: 'room'"),
    ]


def test_final_events_no_error_before_accept_closes_before_accept() -> None:
    assert final_events(fresh(), None) == [Close(1000, "")]


@pytest.mark.parametrize(
    ("error", "close"),
    [
        (None, Close(1000, "")),
        (WebSocketDisconnect("gone", 1006), Close(1000, "")),
        (WebSocketException("mine", 4001), Close(4001, "mine")),
        (InvalidMessageError("malformed JSON"), Close(1007, "malformed JSON")),
        (BadRequestError("no q"), Close(1008, "no q")),
        (ValueError("x"), Close(1011, "Internal Server Error")),
    ],
    ids=["none", "disconnect", "websocket-exception", "invalid", "denial", "other"],
)
def test_final_events_after_accept_close_with_the_table(
    error: BaseException | None, close: Close
) -> None:
    state = fresh()
    state.queued(Accept())  # queued, not yet sent: still a close is owed
    assert final_events(state, error) == [close]


@pytest.mark.parametrize(
    "setup",
    [
        lambda s: s.peer_left(1006),
        lambda s: (s.queued(Accept()), s.peer_left(1006)),
        lambda s: (s.queued(Accept()), s.queued(Close(4000))),
        lambda s: s.queued(Close(1000)),
        lambda s: s.queued(Deny(403)),
    ],
    ids=["left-before-accept", "left", "closed", "rejected", "denied"],
)
@pytest.mark.parametrize("error", [None, RuntimeError("x"), PermissionDeniedError()])
def test_final_events_nothing_when_over(
    setup: Callable[[ConnectionState], object], error: BaseException | None
) -> None:
    state = fresh()
    setup(state)
    assert final_events(state, error) == []


# --------------------------------------------------------------------- deciding_error
def test_deciding_error_passes_plain_values_through() -> None:
    error = RuntimeError("x")
    assert deciding_error(None) is None
    assert deciding_error(error) is error


def test_deciding_error_finds_a_websocket_exception_in_a_group() -> None:
    mine = WebSocketException("from a child task", 4002)
    group = ExceptionGroup("g", [ValueError("noise"), ExceptionGroup("inner", [mine])])
    assert deciding_error(group) is mine


def test_deciding_error_ignores_disconnects_when_choosing() -> None:
    mine = InvalidMessageError("bad")
    group = ExceptionGroup("g", [WebSocketDisconnect("gone", 1006), mine])
    assert deciding_error(group) is mine


def test_deciding_error_a_flat_group_of_disconnects_is_a_disconnect() -> None:
    """Regression: ``subgroup`` applies its predicate to the group itself, so a
    group made only of disconnects was kept whole (1011, logged as a handler error)."""
    first = WebSocketDisconnect("gone", 1006)
    assert deciding_error(ExceptionGroup("g", [first])) is first


def test_deciding_error_a_nested_group_of_disconnects_is_a_disconnect() -> None:
    first = WebSocketDisconnect("gone", 1006)
    group = ExceptionGroup("g", [ExceptionGroup("i", [first]), WebSocketDisconnect("", 1001)])
    assert deciding_error(group) is first


def test_deciding_error_keeps_a_group_of_other_errors() -> None:
    group = ExceptionGroup("g", [WebSocketDisconnect("gone"), KeyError("k")])
    assert deciding_error(group) is group
    assert final_events(opened(), deciding_error(group)) == [Close(1011, "Internal Server Error")]


def test_a_failing_transport_gets_its_own_code_whatever_ended_the_behaviour() -> None:
    state = opened()
    assert state.engine_failing(1007, "invalid UTF-8 at byte 3")
    assert not state.engine_failing(1002, "second")  # the first failure stands
    for error in (None, WebSocketDisconnect("", 1007), RuntimeError("boom")):
        assert final_events(state, error) == [Close(1007, "invalid UTF-8 at byte 3")]
    assert state.sendable  # replies still go out
    state.peer_left(1006, "")  # then the TCP connection ends
    assert (state.close_code, state.close_reason) == (1007, "invalid UTF-8 at byte 3")
    assert state.closed_by_engine
    assert not state.closed_by_peer
    assert final_events(state, None) == []


def test_a_failure_after_our_close_keeps_our_code() -> None:
    state = opened()
    state.queued(Close(1000, "done"))
    state.hand_over(Close(1000, "done"))
    assert state.engine_failing(1002, "late")
    assert (state.close_code, state.close_reason) == (1000, "done")
    assert final_events(state, None) == []
