"""``RouteTable.match``: once per handshake, over a table of realistic size."""

from __future__ import annotations

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from wsactors.routing.paths import PathTemplate, RouteTable


@pytest.fixture(scope="module")
def table() -> RouteTable[str]:
    routes: RouteTable[str] = RouteTable()
    for index in range(20):
        routes.add(PathTemplate.compile(f"/static/route{index}"), f"static{index}")
    for index in range(20):
        routes.add(
            PathTemplate.compile(f"/rooms{index}/{{room:str}}/items/{{id:int}}"), f"d{index}"
        )
    return routes


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/static/route19", "static19"),
        ("/rooms19/lobby/items/42", "d19"),
        ("/nowhere/at/all", None),
    ],
    ids=["static", "templated-last", "miss"],
)
def test_route_match(
    benchmark: BenchmarkFixture, table: RouteTable[str], path: str, expected: str | None
) -> None:
    found = benchmark(table.match, path)
    assert (found[0] if found else None) == expected
