"""Sans-I/O tests of ``wsactors.connection.events.encode_headers``: header validation at
the call."""

from __future__ import annotations

import pytest

from wsactors.connection.events import HeadersArg, encode_headers


@pytest.mark.parametrize("headers", [None, {}, []])
def test_no_headers(headers: HeadersArg) -> None:
    assert encode_headers(headers) == ()


def test_a_mapping_becomes_lower_cased_byte_pairs() -> None:
    assert encode_headers({"X-Custom": "yes", "Set-Cookie": "a=1"}) == (
        (b"x-custom", b"yes"),
        (b"set-cookie", b"a=1"),
    )


def test_pairs_keep_their_order_and_repeats() -> None:
    pairs: list[tuple[str | bytes, str | bytes]] = [("X-A", "1"), (b"X-Raw", b"2"), ("x-a", "3")]
    assert encode_headers(pairs) == ((b"x-a", b"1"), (b"x-raw", b"2"), (b"x-a", b"3"))


def test_latin_1_text_and_tabs_are_allowed() -> None:
    value = "café\tau lait"
    assert encode_headers({"x-name": value}) == ((b"x-name", value.encode("latin-1")),)


def test_an_empty_value_is_allowed() -> None:
    assert encode_headers({"x-empty": ""}) == ((b"x-empty", b""),)


@pytest.mark.parametrize(
    "value",
    ["a\r\nb", "a\rb", "a\nb", "a\x00b", "a\x01b", "a\x1fb", "a\x7fb", b"a\r\nb", b"a\x00b"],
    ids=["crlf", "cr", "lf", "nul", "soh", "us", "del", "bytes-crlf", "bytes-nul"],
)
def test_a_control_character_in_a_value_names_the_header(value: str | bytes) -> None:
    with pytest.raises(ValueError, match="header 'x-bad': the value contains CR, LF, NUL"):
        encode_headers([("x-bad", value)])


def test_a_value_that_is_not_latin_1_names_the_header() -> None:
    with pytest.raises(ValueError, match="header 'x-emoji': the value is not latin-1"):
        encode_headers({"x-emoji": "😀"})


def test_a_name_that_is_not_latin_1_names_the_header() -> None:
    with pytest.raises(ValueError, match="header 'x-€': the name is not latin-1"):
        encode_headers({"x-€": "1"})


@pytest.mark.parametrize(
    "name",
    ["", "bad name", "x:y", "x\r\ny", "x\x00", "(x)", "x/y", b"x y", "é"],
    ids=["empty", "space", "colon", "crlf", "nul", "parens", "slash", "bytes-space", "latin-1"],
)
def test_a_name_that_is_not_a_token_names_the_header(name: str | bytes) -> None:
    with pytest.raises(ValueError, match="is not a valid HTTP token") as caught:
        encode_headers([(name, "1")])
    assert repr(name) in str(caught.value)


def test_the_first_bad_header_is_reported() -> None:
    with pytest.raises(ValueError, match="'x-second'"):
        encode_headers([("x-first", "ok"), ("x-second", "a\nb"), ("x third", "c")])
