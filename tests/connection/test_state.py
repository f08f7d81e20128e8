"""Sans-I/O tests of the connection state machine (``wsactors.connection.state``).

No sockets, no Trio: ``ConnectionState`` is plain code (``final_events`` and
``deciding_error`` are in test_endings.py). The *wire* state (``state``) moves
only on ``hand_over`` (the sender gave an event to the transport) and ``peer_left``;
``queued`` moves only the *requested* state, which is what the application's calls
check.
"""

from __future__ import annotations

import pytest

from wsactors import WebSocketDisconnect
from wsactors.connection.closes import MAX_REASON_BYTES
from wsactors.connection.endings import final_events
from wsactors.connection.events import Accept, Close, Deny, Outgoing, Ping, Send
from wsactors.connection.state import (
    TRANSITIONS,
    ConnectionState,
    ProtocolError,
    State,
)

DENY_BODY = b"go away"


def fresh(offered: tuple[str, ...] = (), *, http_denials: bool = True) -> ConnectionState:
    return ConnectionState(offered, http_denials=http_denials)


def deliver(state: ConnectionState, event: Outgoing) -> bool:
    """What the runtime does for an application call: queue it, then hand it over."""
    state.queued(event)
    return state.hand_over(event)


def wire(state: ConnectionState) -> State:
    """The wire state, read through a call (mypy keeps no narrowing across it)."""
    return state.state


def in_state(target: State) -> ConnectionState:
    """A connection whose wire state is ``target``, reached the usual way."""
    state = fresh()
    if target is State.OPEN or target is State.CLOSING:
        deliver(state, Accept())
    if target is State.CLOSING:
        deliver(state, Close(1000))
    if target is State.REJECTED:
        deliver(state, Deny(403))
    if target is State.CLOSED:
        deliver(state, Accept())
        state.peer_left(1006)
    assert state.state is target
    return state


def opened(offered: tuple[str, ...] = ()) -> ConnectionState:
    state = fresh(offered)
    deliver(state, Accept())
    return state


# --------------------------------------------------------------------- the table
OUTGOING: dict[str, Outgoing] = {
    "Accept": Accept(),
    "Deny": Deny(403),
    "Close": Close(1000),
    "Send": Send("x"),
    "Ping": Ping(),
}


def test_the_table_is_the_documented_one() -> None:
    assert TRANSITIONS == {
        (State.CONNECTING, "Accept"): State.OPEN,
        (State.CONNECTING, "Deny"): State.REJECTED,
        (State.CONNECTING, "Close"): State.REJECTED,
        (State.OPEN, "Close"): State.CLOSING,
        (State.CONNECTING, "Disconnect"): State.CLOSED,
        (State.OPEN, "Disconnect"): State.CLOSED,
        (State.CLOSING, "Disconnect"): State.CLOSED,
        (State.REJECTED, "Disconnect"): State.REJECTED,
    }


@pytest.mark.parametrize(
    ("start", "name"),
    [key for key in TRANSITIONS if key[1] != "Disconnect"],
    ids=lambda v: v.name if isinstance(v, State) else v,
)
def test_an_outgoing_row_applies_on_hand_over_only(start: State, name: str) -> None:
    state = in_state(start)
    event = OUTGOING[name]
    state.queued(event)
    # Queued is not sent: the wire state has not moved.
    assert state.state is start
    assert state.hand_over(event) is True
    assert state.state is TRANSITIONS[(start, name)]


@pytest.mark.parametrize(
    "start", [s for s, name in TRANSITIONS if name == "Disconnect"], ids=lambda s: s.name
)
def test_a_disconnect_row_applies_on_peer_left(start: State) -> None:
    state = in_state(start)
    assert state.peer_left(1006) is True
    assert state.state is TRANSITIONS[(start, "Disconnect")]
    assert state.peer_gone
    assert state.public_state == "disconnected"


@pytest.mark.parametrize(
    ("start", "name"),
    [(s, n) for s in State for n in OUTGOING if (s, n) not in TRANSITIONS],
    ids=lambda v: v.name if isinstance(v, State) else v,
)
def test_any_other_pair_is_dropped_and_changes_nothing(start: State, name: str) -> None:
    state = in_state(start)
    before = (state.state, state.close_code, state.close_reason, state.subprotocol)
    # Data and pings go out while open (no transition); nothing else does.
    allowed = start is State.OPEN and name in ("Send", "Ping")
    assert state.hand_over(OUTGOING[name]) is allowed
    assert (state.state, state.close_code, state.close_reason, state.subprotocol) == before


def test_exactly_one_close_is_ever_handed_over() -> None:
    state = opened()
    assert state.hand_over(Close(4000, "first")) is True
    assert state.hand_over(Close(4001, "second")) is False
    assert (state.close_code, state.close_reason) == (4000, "first")


def test_nothing_is_handed_over_once_the_peer_left() -> None:
    state = fresh()
    state.queued(Accept())
    state.peer_left(1006)
    for event in OUTGOING.values():
        assert state.hand_over(event) is False
    assert state.state is State.CLOSED


def test_hand_over_records_the_subprotocol_and_the_close() -> None:
    state = fresh(("chat",))
    assert state.hand_over(Accept("chat")) is True
    assert state.subprotocol == "chat"
    assert state.hand_over(Close(4000, "bye")) is True
    assert (state.close_code, state.close_reason) == (4000, "bye")


# --------------------------------------------------------------------- requested vs wire
def test_a_new_connection_is_connecting() -> None:
    state = fresh()
    assert state.state is state.requested is state.current is State.CONNECTING
    assert state.public_state == "init"
    assert not state.accepted
    assert state.close_code is None
    assert not state.peer_gone


def test_a_queued_accept_is_requested_not_sent() -> None:
    state = fresh(("chat",))
    state.queued(Accept("chat"))
    assert state.state is State.CONNECTING  # the sender has not run
    assert state.requested is state.current is State.OPEN
    assert state.public_state == "connected"
    assert state.accepted
    assert state.subprotocol == "chat"
    state.check_send()  # sending right after accept is legal
    state.hand_over(Accept("chat"))
    assert wire(state) is State.OPEN


def test_a_queued_close_reads_as_disconnected_before_it_is_sent() -> None:
    state = opened()
    state.queued(Close(4000, "done"))
    assert state.state is State.OPEN
    assert state.current is State.CLOSING
    assert state.public_state == "disconnected"
    assert (state.close_code, state.close_reason) == (4000, "done")
    assert state.accepted  # stays True after the close


def test_a_queued_close_before_accept_rejects() -> None:
    state = fresh()
    state.queued(Close(1008))
    assert state.requested is State.REJECTED
    assert not state.accepted
    assert state.close_code == 1008


def test_a_queued_denial_rejects_with_no_websocket_code() -> None:
    state = fresh()
    state.queued(Deny(403))
    assert state.requested is State.REJECTED
    assert state.public_state == "disconnected"
    assert state.close_code == 1006  # no WebSocket was ever opened


def test_a_cancelled_close_changes_nothing() -> None:
    """Regression (issue 10): building the close is not queueing it. A close()
    cancelled before its event reached the outbox leaves the close still owed."""
    state = opened()
    assert state.close_event(4000, "") == Close(4000, "")
    assert state.current is State.OPEN
    assert state.close_code is None
    assert final_events(state, None) == [Close(1000, "")]


def test_the_requested_state_never_goes_back() -> None:
    state = opened()
    state.queued(Close(1000))
    state.queued(Accept())  # cannot happen through the handle; still no regression
    assert state.current is State.CLOSING


@pytest.mark.parametrize(
    ("target", "public"),
    [
        (State.CONNECTING, "init"),
        (State.OPEN, "connected"),
        (State.CLOSING, "disconnected"),
        (State.CLOSED, "disconnected"),
        (State.REJECTED, "disconnected"),
    ],
)
def test_public_state(target: State, public: str) -> None:
    assert in_state(target).public_state == public


# --------------------------------------------------------------------- peer_left
def test_the_peer_closing_first_gives_its_code() -> None:
    state = opened()
    assert state.peer_left(4100, "see you") is True
    assert state.closed_by_peer
    assert (state.close_code, state.close_reason) == (4100, "see you")


def test_the_peer_closing_without_a_code_is_1005() -> None:
    state = opened()
    state.peer_left(0)
    assert state.close_code == 1005


def test_the_peer_closing_before_a_queued_close_went_out_wins() -> None:
    # RFC 6455 section 7.1.5: our close frame never went out; the peer's code is it.
    state = opened()
    state.queued(Close(4000, "ours"))
    state.peer_left(1001, "theirs")
    assert state.closed_by_peer
    assert (state.close_code, state.close_reason) == (1001, "theirs")


def test_the_transport_failing_the_connection_is_not_the_peer_closing() -> None:
    # The native engine's own 1002 (say): the connection's code, but not the client's.
    state = opened()
    assert state.peer_left(1002, "protocol error", by_peer=False) is True
    assert not state.closed_by_peer
    assert state.closed_by_engine
    assert (state.close_code, state.close_reason) == (1002, "protocol error")
    # A close queued afterwards (the handler's) never goes out: the code stays.
    state.queued(Close(4000, "ours"))
    assert (state.close_code, state.close_reason) == (1002, "protocol error")


def test_the_transport_failing_after_our_close_keeps_our_code() -> None:
    state = in_state(State.CLOSING)
    state.peer_left(1011, "keepalive ping timeout", by_peer=False)
    assert not state.closed_by_engine
    assert not state.closed_by_peer
    assert state.close_code == 1000


def test_the_peer_confirming_our_close_keeps_our_code() -> None:
    state = in_state(State.CLOSING)
    state.peer_left(1000, "ack")
    assert not state.closed_by_peer
    assert state.close_code == 1000
    assert state.close_reason == ""


def test_the_peer_leaving_after_a_denial_stays_rejected() -> None:
    state = in_state(State.REJECTED)
    state.peer_left(1006)
    assert state.state is State.REJECTED
    assert not state.closed_by_peer


def test_the_peer_leaving_twice_is_not_news() -> None:
    state = opened()
    assert state.peer_left(1006) is True
    assert state.peer_left(1000) is False
    assert state.close_code == 1006


def test_disconnect_error_after_the_peer_left() -> None:
    state = opened()
    state.peer_left(1001, "bye")
    error = state.disconnect_error()
    assert (error.code, error.reason) == (1001, "bye")


def test_disconnect_error_without_a_close_is_1006() -> None:
    assert fresh().disconnect_error().code == 1006


# --------------------------------------------------------------------- accept_event
def test_accept_event_with_subprotocol_and_headers() -> None:
    state = fresh(("chat.v1", "chat.v2"))
    event = state.accept_event("chat.v2", [("X-Custom", "yes"), (b"X-Raw", b"1")])
    # Lower-cased byte header names, as ASGI and HTTP/1.1 servers expect.
    assert event == Accept("chat.v2", ((b"x-custom", b"yes"), (b"x-raw", b"1")))
    assert state.current is State.CONNECTING  # nothing changes until queued


def test_accept_event_rejects_a_subprotocol_the_client_did_not_offer() -> None:
    state = fresh(("chat.v1",))
    with pytest.raises(ProtocolError, match=r"'chat\.v2' was not offered"):
        state.accept_event("chat.v2", None)
    assert state.accept_event("chat.v1", None) == Accept("chat.v1")


def test_accept_event_rejects_any_subprotocol_when_none_was_offered() -> None:
    with pytest.raises(ProtocolError, match="not offered"):
        fresh().accept_event("chat", None)


def test_accept_twice_is_a_protocol_error() -> None:
    state = fresh()
    state.queued(state.accept_event(None, None))
    with pytest.raises(ProtocolError, match="connected"):
        state.accept_event(None, None)


def test_accept_after_a_close_is_a_protocol_error() -> None:
    state = fresh()
    state.queued(Close(1000))
    with pytest.raises(ProtocolError, match="disconnected"):
        state.accept_event(None, None)


def test_accept_after_the_peer_left_raises_disconnect_with_its_code() -> None:
    state = fresh()
    state.peer_left(1001, "bye")
    with pytest.raises(WebSocketDisconnect) as caught:
        state.accept_event(None, None)
    assert (caught.value.code, caught.value.reason) == (1001, "bye")


def test_accept_event_with_a_bad_header_names_it() -> None:
    with pytest.raises(ValueError, match="'x'"):
        fresh().accept_event(None, {"x": "a\r\nb"})


# --------------------------------------------------------------------- check_send
def test_check_send_before_accept_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="before"):
        fresh().check_send()


def test_check_send_when_open_passes() -> None:
    opened().check_send()


def test_check_send_after_our_close_raises_disconnect_with_our_code() -> None:
    state = opened()
    state.queued(Close(4000, "done"))
    with pytest.raises(WebSocketDisconnect) as caught:
        state.check_send()
    assert (caught.value.code, caught.value.reason) == (4000, "done")


def test_check_send_after_the_peer_left_raises_disconnect_with_its_code() -> None:
    state = opened()
    state.peer_left(1006)
    with pytest.raises(WebSocketDisconnect) as caught:
        state.check_send()
    assert caught.value.code == 1006


# --------------------------------------------------------------------- close_event
def test_close_event_when_open() -> None:
    state = opened()
    assert state.close_event(1000, "bye") == Close(1000, "bye")


def test_close_event_is_idempotent() -> None:
    state = opened()
    first = state.close_event(4001, "first")
    assert first is not None
    state.queued(first)
    assert state.close_event(4002, "second") is None
    assert state.close_event(1000, "") is None
    assert (state.close_code, state.close_reason) == (4001, "first")


def test_close_event_before_accept_rejects() -> None:
    state = fresh()
    event = state.close_event(1000, "")
    assert event == Close(1000, "")
    state.queued(event)
    assert state.public_state == "disconnected"
    with pytest.raises(ProtocolError):
        state.accept_event(None, None)


def test_close_event_truncates_long_reasons() -> None:
    assert opened().close_event(1000, "x" * 500) == Close(1000, "x" * MAX_REASON_BYTES)


@pytest.mark.parametrize("code", [1005, 1006, 1015, 2000, 999, 5000])
def test_close_event_with_an_unsendable_code_raises(code: int) -> None:
    state = opened()
    with pytest.raises(ValueError, match=str(code)):
        state.close_event(code, "")
    assert state.current is State.OPEN


def test_close_event_checks_the_code_even_when_closing_is_moot() -> None:
    state = opened()
    state.peer_left(1006)
    with pytest.raises(ValueError, match="1005"):
        state.close_event(1005, "")


def test_close_event_after_the_peer_left_is_none() -> None:
    state = opened()
    state.peer_left(1006)
    assert state.close_event(1000, "") is None
    assert state.close_code == 1006


# --------------------------------------------------------------------- deny_events
def test_deny_with_http_denials_builds_a_response() -> None:
    [event] = fresh().deny_events(403, DENY_BODY, [("X-Why", "policy")])
    assert isinstance(event, Deny)
    assert event.status == 403
    assert event.body == DENY_BODY
    headers = dict(event.headers)
    assert headers[b"x-why"] == b"policy"
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"content-length"] == str(len(DENY_BODY)).encode()


def test_deny_keeps_a_given_content_type() -> None:
    [event] = fresh().deny_events(400, b"{}", [("Content-Type", "application/json")])
    assert isinstance(event, Deny)
    assert [v for k, v in event.headers if k == b"content-type"] == [b"application/json"]


def test_deny_without_http_denials_falls_back_to_close_before_accept() -> None:
    assert fresh(http_denials=False).deny_events(403, DENY_BODY, None) == [Close(1008, "")]


def test_deny_with_a_bad_header_names_it() -> None:
    with pytest.raises(ValueError, match="'x-bad'"):
        fresh().deny_events(403, b"", {"x-bad": "\x00"})


def test_deny_after_accept_is_a_protocol_error() -> None:
    state = fresh()
    state.queued(Accept())
    with pytest.raises(ProtocolError, match="deny"):
        state.deny_events(403, b"", None)


def test_deny_twice_is_a_protocol_error() -> None:
    state = fresh()
    for event in state.deny_events(403, b"", None):
        state.queued(event)
    with pytest.raises(ProtocolError):
        state.deny_events(403, b"", None)


def test_deny_after_the_peer_left_sends_nothing() -> None:
    """Regression: the peer leaving is not the application's mistake (no ProtocolError)."""
    state = fresh()
    state.peer_left(1006)
    assert state.deny_events(403, b"", None) == []
