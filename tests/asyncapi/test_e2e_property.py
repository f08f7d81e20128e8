"""The schema/codec agreement end to end: payloads generated from a route's schema,
sent over a real socket (LiveServer, hypercorn's Trio worker, trio-websocket).

Allowed payloads are each answered; each forbidden one closes its connection with
1007. The payloads are drawn first (Hypothesis runs synchronously), then sent in
one ``trio.run`` with a deadline.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import trio
from hypothesis import HealthCheck, assume, given, settings
from hypothesis_jsonschema import from_schema
from schema_helpers import ReceivedSchema, received_schemas
from test_schema_property import FORMATS, mutated, validator
from typed_app import create_app

from helpers import DEADLINE, close_of
from wsactors import App
from wsactors.demo import create_app as create_demo_app
from wsactors.testing import LiveServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("live_engine")]

# Under /shapes' rate limit (10 a second): one connection sends every allowed payload.
PER_ROUTE = 8
ORIGIN = [(b"origin", b"https://example.com")]


def draw(case: ReceivedSchema, max_size: int | None) -> tuple[list[Any], list[Any]]:
    """``PER_ROUTE`` payloads the schema allows and ``PER_ROUTE`` it forbids.

    None is larger than the route's ``max_message_size``: the schema does not carry
    the limit (the channel's description does), and a larger message closes 1009.
    """

    def fits(value: Any) -> bool:
        return max_size is None or len(json.dumps(value).encode()) <= max_size

    allowed: list[Any] = []
    forbidden: list[Any] = []
    check = validator(case)
    quick = settings(
        max_examples=PER_ROUTE,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )

    @quick
    @given(from_schema(case.schema, custom_formats=FORMATS))
    def collect_allowed(value: Any) -> None:
        assume(fits(value))
        allowed.append(value)

    @quick
    @given(from_schema(case.schema, custom_formats=FORMATS).flatmap(mutated))
    def collect_forbidden(value: Any) -> None:
        assume(fits(value) and not check.is_valid(value))
        forbidden.append(value)

    collect_allowed()
    collect_forbidden()
    return allowed, forbidden


async def exchange(app: App, path: str, allowed: list[Any], forbidden: list[Any]) -> None:
    async with LiveServer(app) as server:
        async with server.connect(path, extra_headers=ORIGIN) as ws:
            for value in allowed:
                await ws.send_message(json.dumps(value))
                await ws.get_message()  # every allowed payload is answered
        for value in forbidden:
            async with server.connect(path, extra_headers=ORIGIN) as ws:
                await ws.send_message(json.dumps(value))
                close = await close_of(ws)
                assert close.code == 1007, (value, close)


@pytest.mark.parametrize(
    ("make", "path"),
    [(create_demo_app, "/ws/json"), (create_app, "/orders"), (create_app, "/shapes")],
)
def test_generated_payloads_over_a_live_server(make: Any, path: str) -> None:
    app = make()
    case = next(c for c in received_schemas(app) if c.id == path)
    matched = app.routes.match(path)
    assert matched is not None
    allowed, forbidden = draw(case, matched[0].config.max_message_size)
    assert allowed
    assert forbidden

    async def main() -> None:
        with trio.fail_after(6 * DEADLINE):  # 16 payloads, 9 connections, rate-limited
            await exchange(app, path, allowed, forbidden)

    trio.run(main)
