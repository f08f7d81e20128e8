"""Sans-I/O tests of the close-code table (``wsactors.connection.closes``): no sockets,
no Trio."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wsactors import WebSocketDisconnect, WebSocketException
from wsactors.connection.closes import (
    ABNORMAL,
    MAX_REASON_BYTES,
    NO_STATUS,
    CloseInfo,
    Why,
    close_for_error,
    stop_error,
    truncate_reason,
    validate_close_code,
)
from wsactors.exceptions import BadRequestError, InvalidMessageError, PermissionDeniedError


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


def test_truncate_reason_replaces_a_lone_surrogate() -> None:
    result = truncate_reason("file b\udcffd")
    assert result == "file b?d"
    result.encode("utf-8")  # sendable


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


@pytest.mark.parametrize("code", [0, 999, 1004, NO_STATUS, ABNORMAL, 1015, 1016, 2000, 2999, 5000])
def test_validate_close_code_rejects_reserved_and_unassigned(code: int) -> None:
    with pytest.raises(ValueError, match=f"close code {code} may not be sent"):
        validate_close_code(code)


# --------------------------------------------------------------------- Why and stop_error
@pytest.mark.parametrize("why", list(Why))
def test_every_framework_close_is_sendable_and_fits(why: Why) -> None:
    assert validate_close_code(why.code) == why.code
    assert truncate_reason(why.reason) == why.reason


@pytest.mark.parametrize(
    ("why", "code", "reason"),
    [
        (Why.NORMAL, 1000, ""),
        (Why.GOING_AWAY, 1001, "Going Away"),
        (Why.IDLE_TIMEOUT, 1001, "idle timeout"),
        (Why.INVALID_PAYLOAD, 1007, "invalid payload"),
        (Why.RATE_LIMITED, 1008, "rate limit exceeded"),
        (Why.SEND_TIMEOUT, 1008, "send timeout"),
        (Why.TOO_BIG, 1009, "message too big"),
        (Why.INTERNAL_ERROR, 1011, "Internal Server Error"),
        (Why.TRY_AGAIN, 1013, "Try Again Later"),
    ],
)
def test_why_names_the_code_and_reason(why: Why, code: int, reason: str) -> None:
    assert (why.code, why.reason) == (code, reason)


def test_data_discarded_names_the_option() -> None:
    assert Why.DATA_DISCARDED.code == 1008
    assert "allow_data_discard=True" in Why.DATA_DISCARDED.reason


def test_stop_error_carries_the_code_and_default_reason() -> None:
    error = stop_error(Why.GOING_AWAY)
    assert type(error) is WebSocketException
    assert (error.code, error.reason) == (1001, "Going Away")
    assert close_for_error(error) == CloseInfo(1001, "Going Away")


def test_stop_error_detail_replaces_the_reason() -> None:
    error = stop_error(Why.TOO_BIG, "message too big: 10 bytes > 4")
    assert (error.code, error.reason) == (1009, "message too big: 10 bytes > 4")
    assert stop_error(Why.POLICY, "").reason == ""


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


def test_close_for_error_debug_does_not_reveal_a_websocket_exception_twice() -> None:
    info = close_for_error(WebSocketException("mine", 4000), debug=True)
    assert info == CloseInfo(4000, "mine")


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
