"""The fan-out benchmark's summary: medians over rounds, tables, issue 20's targets."""

from __future__ import annotations

import math
from typing import Any

from benchmarks.fanout import CONFIGURATIONS, markdown, summarize, targets


def _phase(cpu: float, p99: float) -> dict[str, Any]:
    return {
        "server_cpu_us_per_delivery": cpu,
        "deliveries_per_s": 20_000.0,
        "p50_ms": p99 / 2,
        "p99_ms": p99,
        "undelivered": 0,
        "gaps": 0,
        "server_busy": 0.5,
        "client_busy": 0.2,
    }


def _result(cpu: float, p99: float = 20.0, ratio: float = 1.05) -> dict[str, Any]:
    return {
        "paced": _phase(cpu, p99),
        "throughput": _phase(cpu * 0.9, p99 * 10),
        "memory": {
            "subscribed_bytes_per_conn": 2048.0 * ratio,
            "unsubscribed_bytes_per_conn": 2048.0,
            "subscribed_ratio": ratio,
        },
    }


NATIVE, HYPERCORN, WEBSOCKETS, LITESTAR = CONFIGURATIONS


def test_medians_over_rounds_and_missing_runs() -> None:
    rounds = {
        ("wsactors-native", 1000): [_result(30.0), _result(10.0), _result(12.0)],
        # A server that failed every round has no figures, not a crash.
    }
    rows = summarize([NATIVE, HYPERCORN], [1000], rounds)
    native, hypercorn = rows
    cpu = native["figures"]["paced.server_cpu_us_per_delivery"]
    assert (cpu["median"], cpu["min"], cpu["max"]) == (12.0, 10.0, 30.0)
    assert native["figures"]["memory.subscribed_bytes_per_conn"]["median"] == 2.1  # KiB
    assert hypercorn["rounds"] == 0
    assert math.isnan(hypercorn["figures"]["paced.p99_ms"]["median"])
    table = markdown(rows, [1000], 20_000)
    assert "| wsactors Channels, native engine | paced, 20 msg/s | 12.0 |" in table
    assert "| wsactors Channels, hypercorn-trio | paced, 20 msg/s | n/a |" in table


def test_targets_say_met_or_missed() -> None:
    rounds = {
        ("wsactors-native", 1000): [_result(11.0, p99=25.0, ratio=1.05)],
        ("websockets", 1000): [_result(12.0)],
        ("litestar", 1000): [_result(11.0)],
        ("wsactors-native", 10000): [_result(14.0, ratio=1.2)],
        ("websockets", 10000): [_result(12.0)],
    }
    rows = summarize([NATIVE, WEBSOCKETS, LITESTAR], [1000, 10000], rounds)
    lines = targets(rows, 20_000)
    assert any("1,000 subscribers, paced" in x and "websockets" in x and "met" in x for x in lines)
    assert any("1,000 subscribers, paced" in x and "litestar" in x and "missed" in x for x in lines)
    assert any("10,000 subscribers, paced" in x and "missed (1.17x)" in x for x in lines)
    assert any("10,000 subscribers: native memory" in x and "missed (1.20x)" in x for x in lines)
    assert any("1,000 subscribers: native memory" in x and "met (1.05x)" in x for x in lines)
    assert any("p99 25.0 ms < 30 ms: met" in x for x in lines)
