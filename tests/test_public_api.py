"""The public surface: ``wsactors.__all__`` is pinned, and it is the whole surface.

When a feature adds a public name, add it to ``EXPECTED`` in the same change.
"""

from __future__ import annotations

import importlib
import inspect
import types

import pytest

import wsactors

EXPECTED = {
    "DTO",
    "App",
    "ChannelStatistics",
    "Channels",
    "DataDiscardedWarning",
    "Gap",
    "ImproperlyConfiguredError",
    "MemoryBackend",
    "Message",
    "NotAuthorizedError",
    "PermissionDeniedError",
    "Provide",
    "Router",
    "WebSocket",
    "WebSocketDisconnect",
    "WebSocketException",
    "WebSocketListener",
    "send_websocket_stream",
    "serve",
    "websocket",
    "websocket_listener",
    "websocket_stream",
}


def test_all_is_pinned() -> None:
    assert set(wsactors.__all__) == EXPECTED
    assert len(wsactors.__all__) == len(EXPECTED), "duplicates in __all__"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_public_name_is_importable(name: str) -> None:
    module = importlib.import_module("wsactors")
    obj = getattr(module, name)
    assert obj is not None
    namespace: dict[str, object] = {}
    exec(f"from wsactors import {name}", namespace)
    assert namespace[name] is obj


def test_star_import_gives_exactly_all() -> None:
    namespace: dict[str, object] = {}
    exec("from wsactors import *", namespace)
    assert set(namespace) - {"__builtins__"} == EXPECTED


def test_nothing_public_outside_all_except_submodules() -> None:
    extras = {
        name
        for name in dir(wsactors)
        if not name.startswith("_")
        and name not in wsactors.__all__
        and not isinstance(getattr(wsactors, name), types.ModuleType)
    }
    assert extras == set(), f"public names missing from __all__: {sorted(extras)}"


def test_version_is_a_string() -> None:
    assert isinstance(wsactors.__version__, str)
    assert wsactors.__version__.count(".") >= 2


def test_exceptions_hierarchy() -> None:
    assert issubclass(wsactors.WebSocketDisconnect, wsactors.WebSocketException)
    assert issubclass(wsactors.WebSocketException, Exception)
    assert issubclass(wsactors.DataDiscardedWarning, Warning)
    error = wsactors.WebSocketException(reason="why", code=4000)
    assert (error.code, error.reason) == (4000, "why")
    assert wsactors.WebSocketException().code == 1011
    assert wsactors.WebSocketDisconnect().code == 1000


def test_public_callables_have_docstrings() -> None:
    for name in EXPECTED:
        obj = getattr(wsactors, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert inspect.getdoc(obj), f"{name} has no docstring"
