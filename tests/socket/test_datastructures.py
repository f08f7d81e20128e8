"""Read-only views over the ASGI scope: headers, query parameters, cookies, state."""

from __future__ import annotations

import pytest

from wsactors.socket.datastructures import Address, Headers, QueryParams, State, parse_cookies


# --------------------------------------------------------------------- Headers
@pytest.fixture
def headers() -> Headers:
    return Headers(
        [
            (b"content-type", b"text/plain"),
            (b"x-multi", b"1"),
            (b"X-Multi", b"2"),
            (b"x-latin", "café".encode("latin-1")),
        ]
    )


def test_headers_are_case_insensitive(headers: Headers) -> None:
    assert headers["Content-Type"] == "text/plain"
    assert headers["CONTENT-TYPE"] == "text/plain"
    assert "Content-Type" in headers
    assert headers.get("X-MULTI") == "1"
    assert headers.get("missing") is None
    assert "missing" not in headers
    with pytest.raises(KeyError):
        headers["missing"]


def test_headers_getall_and_order(headers: Headers) -> None:
    assert headers.getall("x-multi") == ["1", "2"]
    assert headers.getall("X-Multi") == ["1", "2"]
    assert headers.getall("missing") == []
    assert headers.multi_items()[1:3] == [("x-multi", "1"), ("X-Multi", "2")]


def test_headers_are_decoded_as_latin1(headers: Headers) -> None:
    assert headers["x-latin"] == "café"


def test_headers_iterate_lower_cased_unique_names(headers: Headers) -> None:
    assert list(headers) == ["content-type", "x-multi", "x-latin"]
    assert len(headers) == 3
    assert dict(headers) == {"content-type": "text/plain", "x-multi": "1", "x-latin": "café"}


def test_headers_are_read_only(headers: Headers) -> None:
    with pytest.raises(TypeError):
        headers["x"] = "y"  # type: ignore[index]


# --------------------------------------------------------------------- QueryParams
def test_query_params_first_value_and_getall() -> None:
    query = QueryParams(b"a=1&a=2&b=")
    assert query["a"] == "1"
    assert query.getall("a") == ["1", "2"]
    assert query["b"] == ""  # blank values are kept
    assert query.getall("zz") == []
    assert query.multi_items() == [("a", "1"), ("a", "2"), ("b", "")]


def test_query_params_are_case_sensitive() -> None:
    query = QueryParams(b"Key=v")
    assert "Key" in query
    assert "key" not in query


def test_query_params_are_percent_decoded_as_utf8() -> None:
    query = QueryParams(b"name=caf%C3%A9&sp=a+b&amp=%26")
    assert query["name"] == "café"
    assert query["sp"] == "a b"
    assert query["amp"] == "&"


def test_query_params_from_str_and_empty() -> None:
    assert QueryParams("k=v")["k"] == "v"
    assert len(QueryParams(b"")) == 0


# --------------------------------------------------------------------- cookies
def test_parse_cookies() -> None:
    assert parse_cookies("session=abc; theme=dark") == {"session": "abc", "theme": "dark"}
    assert parse_cookies('quoted="a b"') == {"quoted": "a b"}
    assert parse_cookies("") == {}


@pytest.mark.parametrize("header", ["flag; session=abc", 'prefs={"k":1}; session=abc'])
def test_parse_cookies_skips_only_the_malformed_pair(header: str) -> None:
    """Regression: one odd pair (a bare flag, a JSON value) used to drop the whole header."""
    assert parse_cookies(header).get("session") == "abc"


# --------------------------------------------------------------------- State, Address
def test_state_attribute_and_mapping_access() -> None:
    state = State({"x": 1})
    state.y = 2
    state["z"] = 3
    assert (state.x, state["y"], state.z) == (1, 2, 3)
    assert "z" in state
    assert "w" not in state
    assert state.get("w", 9) == 9
    assert state.get("x") == 1
    with pytest.raises(KeyError):
        state["w"]
    with pytest.raises(AttributeError):
        _ = state.w
    assert repr(state) == "State({'x': 1, 'y': 2, 'z': 3})"


def test_state_starts_empty_and_copies_its_seed() -> None:
    seed = {"a": 1}
    state = State(seed)
    state.a = 2
    assert seed == {"a": 1}
    assert "a" not in State()


def test_address() -> None:
    address = Address("127.0.0.1", 5000)
    assert address.host == "127.0.0.1"
    assert address.port == 5000
    assert address == ("127.0.0.1", 5000)


def test_state_missing_attribute_raises_attribute_error() -> None:
    state = State({"a": 1})
    assert state.a == 1
    assert not hasattr(state, "b")
    with pytest.raises(AttributeError, match="'b'"):
        _ = state.b
