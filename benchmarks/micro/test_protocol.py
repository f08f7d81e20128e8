"""``close_for_error``: the close-code table, consulted once per connection end."""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from wsactors.exceptions import WebSocketDisconnect, WebSocketException
from wsactors.protocol import close_for_error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (None, 1000),
        (WebSocketDisconnect("gone", 1001), 1000),
        (WebSocketException("bad input", 1007), 1007),
        (ValueError("boom"), 1011),
    ],
    ids=["none", "disconnect", "websocket-exception", "other-exception"],
)
def test_close_for_error(
    benchmark: BenchmarkFixture, error: BaseException | None, code: int
) -> None:
    info = benchmark(close_for_error, error)
    assert info.code == code
