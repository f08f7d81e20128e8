"""The connection state machine's own costs: the close-code table, consulted once per
connection end, and the sender's per-message ``hand_over``."""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from wsactors.connection.closes import close_for_error
from wsactors.connection.events import Accept, Send
from wsactors.connection.state import ConnectionState
from wsactors.exceptions import WebSocketDisconnect, WebSocketException


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


def test_hand_over_send(benchmark: BenchmarkFixture) -> None:
    state = ConnectionState(http_denials=False)
    state.queued(Accept())
    state.hand_over(Accept())
    assert benchmark(state.hand_over, Send("x")) is True
