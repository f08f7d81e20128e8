"""Fixtures and hooks for the end-to-end tests of ``docs/examples/``."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "server_error_expected: the test makes the server log an error on purpose"
    )


@pytest.fixture(autouse=True)
def _server_logs_no_error(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Fail a test whose server logged an error it did not expect (the seed's
    "the server logs no error" for every example)."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("server_error_expected"):
        return
    errors = [
        record
        for record in caplog.get_records("call")
        if record.levelno >= logging.ERROR and record.name.startswith(("wsactors", "hypercorn"))
    ]
    assert not errors, "the server logged errors:\n" + "\n".join(
        f"{r.name}: {r.getMessage()}" for r in errors
    )
