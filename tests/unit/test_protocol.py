"""Sans-I/O tests of the connection state machine and the close-code table.

No sockets, no Trio: ``ProtocolState`` and the close-code helpers are plain code.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsactors import WebSocketDisconnect, WebSocketException
from wsactors.exceptions import BadRequestError, InvalidMessageError, PermissionDeniedError
from wsactors.protocol import (
    MAX_REASON_BYTES,
    CloseInfo,
    ConnState,
    ProtocolError,
    ProtocolState,
    close_for_error,
    truncate_reason,
    validate_close_code,
)

DENY_BODY = b"go away"


def accepted(offered: tuple[str, ...] = ()) -> ProtocolState:
    state = ProtocolState(offered)
    state.accept(None, None)
    return state


# --------------------------------------------------------------------- accept
def test_new_connection_is_init_and_owes_a_close() -> None:
    state = ProtocolState()
    assert state.state is ConnState.INIT
    assert state.public_state == "init"
    assert state.close_code is None
    assert state.close_due()
    assert not state.client_gone


def test_accept_builds_the_asgi_message_and_connects() -> None:
    state = ProtocolState()
    message = state.accept(None, None)
    assert message == {"type": "websocket.accept", "subprotocol": None}
    assert state.state is ConnState.CONNECTED
    assert state.public_state == "connected"
    assert state.close_due()


def test_accept_with_subprotocol_and_headers() -> None:
    state = ProtocolState(["chat.v1", "chat.v2"])
    message = state.accept("chat.v2", [("X-Custom", "yes"), (b"X-Raw", b"1")])
    assert message["subprotocol"] == "chat.v2"
    # ASGI requires lower-cased byte header names.
    assert message["headers"] == [(b"x-custom", b"yes"), (b"x-raw", b"1")]
    assert state.subprotocol == "chat.v2"


def test_accept_rejects_a_subprotocol_the_client_did_not_offer() -> None:
    state = ProtocolState(["chat.v1"])
    with pytest.raises(ProtocolError, match="not offered"):
        state.accept("chat.v2", None)
    assert state.state is ConnState.INIT  # nothing changed: the handler may still accept
    assert state.accept("chat.v1", None)["subprotocol"] == "chat.v1"


def test_accept_rejects_any_subprotocol_when_none_was_offered() -> None:
    with pytest.raises(ProtocolError):
        ProtocolState().accept("chat", None)


def test_accept_twice_is_a_protocol_error() -> None:
    state = accepted()
    with pytest.raises(ProtocolError, match="connected"):
        state.accept(None, None)


def test_accept_after_client_left_raises_disconnect_with_its_code() -> None:
    state = ProtocolState()
    state.client_left(1001, "bye")
    with pytest.raises(WebSocketDisconnect) as caught:
        state.accept(None, None)
    assert caught.value.code == 1001
    assert caught.value.reason == "bye"


# --------------------------------------------------------------------- check_send
def test_check_send_before_accept_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="before"):
        ProtocolState().check_send()


def test_check_send_when_connected_passes() -> None:
    accepted().check_send()


def test_check_send_after_app_close_raises_disconnect_with_own_code() -> None:
    state = accepted()
    state.close(4000, "done")
    with pytest.raises(WebSocketDisconnect) as caught:
        state.check_send()
    assert caught.value.code == 4000
    assert caught.value.reason == "done"


def test_check_send_after_client_left_raises_disconnect_with_client_code() -> None:
    state = accepted()
    state.client_left(1006)
    with pytest.raises(WebSocketDisconnect) as caught:
        state.check_send()
    assert caught.value.code == 1006


# --------------------------------------------------------------------- close
def test_close_when_connected_moves_to_closing() -> None:
    state = accepted()
    message = state.close(1000, "bye")
    assert message == {"type": "websocket.close", "code": 1000, "reason": "bye"}
    assert state.state is ConnState.CLOSING
    assert state.public_state == "disconnected"  # closing reads as disconnected
    assert state.close_code == 1000
    assert not state.close_due()


def test_close_is_idempotent() -> None:
    state = accepted()
    assert state.close(4001, "first") is not None
    assert state.close(4002, "second") is None
    assert state.close(1000, "") is None
    assert (state.close_code, state.close_reason) == (4001, "first")


def test_close_before_accept_rejects_and_disconnects() -> None:
    state = ProtocolState()
    message = state.close(1000, "")
    assert message == {"type": "websocket.close", "code": 1000, "reason": ""}
    assert state.state is ConnState.DISCONNECTED
    assert state.public_state == "disconnected"
    assert not state.close_due()
    with pytest.raises(ProtocolError):
        state.accept(None, None)


def test_close_truncates_long_reasons() -> None:
    state = accepted()
    message = state.close(1000, "x" * 500)
    assert message is not None
    assert message["reason"] == "x" * MAX_REASON_BYTES
    assert state.close_reason == "x" * MAX_REASON_BYTES


@pytest.mark.parametrize("code", [1005, 1006, 1015, 2000, 999, 5000])
def test_close_with_an_unsendable_code_raises_and_changes_nothing(code: int) -> None:
    state = accepted()
    with pytest.raises(ValueError, match=str(code)):
        state.close(code, "")
    assert state.state is ConnState.CONNECTED
    assert state.close_code is None


def test_close_after_client_left_is_a_noop() -> None:
    state = accepted()
    state.client_left(1006)
    assert state.close(1000, "") is None
    assert state.close_code == 1006


# --------------------------------------------------------------------- deny
def test_deny_with_http_response_extension_builds_a_response() -> None:
    state = ProtocolState(http_response_extension=True)
    start, body = state.deny(403, DENY_BODY, [("X-Why", "policy")])
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 403
    headers = dict(start["headers"])
    assert headers[b"x-why"] == b"policy"
    assert headers[b"content-type"] == b"text/plain; charset=utf-8"
    assert headers[b"content-length"] == str(len(DENY_BODY)).encode()
    assert body == {
        "type": "websocket.http.response.body",
        "body": DENY_BODY,
        "more_body": False,
    }
    assert state.state is ConnState.DISCONNECTED
    assert not state.close_due()


def test_deny_keeps_a_given_content_type() -> None:
    state = ProtocolState(http_response_extension=True)
    start, _ = state.deny(400, b"{}", [("Content-Type", "application/json")])
    content_types = [v for k, v in start["headers"] if k == b"content-type"]
    assert content_types == [b"application/json"]


def test_deny_without_extension_falls_back_to_close_before_accept() -> None:
    state = ProtocolState(http_response_extension=False)
    messages = state.deny(403, DENY_BODY, None)
    assert messages == [{"type": "websocket.close", "code": 1008, "reason": ""}]
    assert state.state is ConnState.DISCONNECTED
    assert state.close_code == 1008


def test_deny_after_accept_is_a_protocol_error() -> None:
    state = ProtocolState(http_response_extension=True)
    state.accept(None, None)
    with pytest.raises(ProtocolError, match="deny"):
        state.deny(403, b"", None)
    assert state.state is ConnState.CONNECTED


def test_deny_twice_is_a_protocol_error() -> None:
    state = ProtocolState(http_response_extension=True)
    state.deny(403, b"", None)
    with pytest.raises(ProtocolError):
        state.deny(403, b"", None)


def test_deny_after_client_left_sends_nothing() -> None:
    """Regression: the peer leaving is not the application's mistake (no ProtocolError)."""
    state = ProtocolState(http_response_extension=True)
    state.client_left(1006)
    assert state.deny(403, b"", None) == []


# --------------------------------------------------------------------- client_left
def test_client_left_before_accept() -> None:
    state = ProtocolState()
    assert state.client_left(1006) is True
    assert state.state is ConnState.DISCONNECTED
    assert state.client_gone
    assert state.close_code == 1006
    assert not state.close_due()


def test_client_left_when_connected_records_its_code_and_reason() -> None:
    state = accepted()
    assert state.client_left(1001, "going") is True
    assert state.state is ConnState.DISCONNECTED
    assert (state.close_code, state.close_reason) == (1001, "going")
    assert not state.close_due()


def test_client_left_while_closing_keeps_the_app_close_code() -> None:
    state = accepted()
    state.close(4000, "app")
    assert state.client_left(1000) is True
    assert state.state is ConnState.DISCONNECTED
    assert (state.close_code, state.close_reason) == (4000, "app")


def test_client_left_after_close_before_accept() -> None:
    state = ProtocolState()
    state.close(1000, "")
    assert state.client_left(1006) is True
    assert state.client_gone
    assert state.state is ConnState.DISCONNECTED


def test_client_left_twice_is_not_news() -> None:
    state = accepted()
    assert state.client_left(1006) is True
    assert state.client_left(1000) is False
    assert state.close_code == 1006


# --------------------------------------------------------------------- close_due
@pytest.mark.parametrize(
    ("steps", "due"),
    [
        ([], True),
        (["accept"], True),
        (["accept", "close"], False),
        (["close"], False),
        (["deny"], False),
        (["left"], False),
        (["accept", "left"], False),
    ],
)
def test_close_due(steps: list[str], due: bool) -> None:
    state = ProtocolState(http_response_extension=True)
    for step in steps:
        if step == "accept":
            state.accept(None, None)
        elif step == "close":
            state.close(1000, "")
        elif step == "deny":
            state.deny(403, b"", None)
        else:
            state.client_left(1006)
    assert state.close_due() is due


# --------------------------------------------------------------------- truncate_reason
def test_truncate_reason_keeps_short_reasons() -> None:
    assert truncate_reason("") == ""
    assert truncate_reason("a" * MAX_REASON_BYTES) == "a" * MAX_REASON_BYTES


def test_truncate_reason_cuts_ascii_at_123_bytes() -> None:
    assert MAX_REASON_BYTES == 123
    assert truncate_reason("a" * 124) == "a" * 123


def test_truncate_reason_never_splits_a_two_byte_character() -> None:
    # 62 x "é" is 124 bytes; 61 of them (122 bytes) fit, half of the 62nd does not.
    result = truncate_reason("é" * 62)
    assert result == "é" * 61
    assert len(result.encode("utf-8")) == 122


def test_truncate_reason_never_splits_a_four_byte_character() -> None:
    # 31 x "😀" is 124 bytes: 30 fit (120 bytes), three bytes of the 31st do not.
    result = truncate_reason("😀" * 31)
    assert result == "😀" * 30
    assert len(result.encode("utf-8")) == 120


def test_truncate_reason_mixed_width() -> None:
    reason = "a" * 121 + "é" + "z"  # the "é" would end at byte 123: it fits
    assert truncate_reason(reason) == "a" * 121 + "é"
    reason = "a" * 122 + "é"  # the "é" would end at byte 124: dropped whole
    assert truncate_reason(reason) == "a" * 122


@given(st.text())
def test_truncate_reason_is_the_longest_fitting_prefix(reason: str) -> None:
    result = truncate_reason(reason)
    encoded = result.encode("utf-8")
    assert len(encoded) <= MAX_REASON_BYTES
    assert reason.startswith(result)
    if result != reason:
        # One more character would not fit.
        assert len(reason[: len(result) + 1].encode("utf-8")) > MAX_REASON_BYTES


# --------------------------------------------------------------------- validate_close_code
@pytest.mark.parametrize("code", [1000, 1001, 1007, 1008, 1009, 1011, 1014, 3000, 4001, 4999])
def test_validate_close_code_accepts_sendable_codes(code: int) -> None:
    assert validate_close_code(code) == code


@pytest.mark.parametrize("code", [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000])
def test_validate_close_code_rejects_reserved_and_unassigned(code: int) -> None:
    with pytest.raises(ValueError, match="may not be sent"):
        validate_close_code(code)


# --------------------------------------------------------------------- close_for_error
def test_close_for_error_normal_end() -> None:
    assert close_for_error(None) == CloseInfo(1000, "")


def test_close_for_error_client_disconnect() -> None:
    assert close_for_error(WebSocketDisconnect("gone", 1006)) == CloseInfo(1000, "")


def test_close_for_error_websocket_exception_keeps_code_and_reason() -> None:
    error = WebSocketException(code=4001, reason="not allowed")
    assert close_for_error(error) == CloseInfo(4001, "not allowed")


def test_close_for_error_websocket_exception_default_code_is_1011() -> None:
    assert close_for_error(WebSocketException("oops")) == CloseInfo(1011, "oops")


@pytest.mark.parametrize("code", [1005, 1006, 1015, 2000, 5000])
def test_close_for_error_invalid_code_becomes_1011(code: int) -> None:
    info = close_for_error(WebSocketException(code=code, reason="why"))
    assert info == CloseInfo(1011, "why")


def test_close_for_error_truncates_the_exception_reason() -> None:
    info = close_for_error(WebSocketException(code=4000, reason="😀" * 40))
    assert info.code == 4000
    assert info.reason == "😀" * 30


def test_close_for_error_generic_exception_is_1011_internal_server_error() -> None:
    info = close_for_error(RuntimeError("secret detail"))
    assert info == CloseInfo(1011, "Internal Server Error")


def test_close_for_error_debug_reveals_the_exception() -> None:
    info = close_for_error(RuntimeError("secret detail"), debug=True)
    assert info.code == 1011
    assert info.reason == "Internal Server Error: RuntimeError: secret detail"


def test_close_for_error_debug_reason_is_truncated() -> None:
    info = close_for_error(RuntimeError("é" * 200), debug=True)
    assert info.code == 1011
    assert info.reason.startswith("Internal Server Error: RuntimeError: é")
    assert len(info.reason.encode("utf-8")) <= MAX_REASON_BYTES


def test_close_for_error_invalid_message_is_1007() -> None:
    info = close_for_error(InvalidMessageError("malformed JSON"))
    assert info == CloseInfo(1007, "malformed JSON")


def test_close_for_error_denial_after_accept_is_1008() -> None:
    assert close_for_error(BadRequestError("missing query parameter 'q'")) == CloseInfo(
        1008, "missing query parameter 'q'"
    )
    assert close_for_error(PermissionDeniedError()) == CloseInfo(1008, "Forbidden")


def test_close_for_error_survives_a_reason_with_a_lone_surrogate() -> None:
    """Regression: e.g. an OS error on a surrogate-escaped file name, with debug on;
    this runs in the supervisor's shielded close path and must not raise."""
    info = close_for_error(OSError("no such file: b\udcffd"), debug=True)
    assert info.code == 1011
    info.reason.encode("utf-8")  # must be sendable
