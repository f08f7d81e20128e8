"""Helpers for the end-to-end tests of ``docs/examples/`` (fixtures live in conftest.py).

Each example is a module that defines ``app``; :func:`load_example` imports it by
file name (``docs/examples`` is not a package), and ``test_examples_covered.py``
checks that every example is loaded by at least one test here.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples"

#: Seconds any one example test may take, servers included.
DEADLINE = 10.0


def load_example(name: str) -> ModuleType:
    """Import a fresh copy of ``docs/examples/<name>.py`` and return the module.

    Fresh for every call, so that no state (an App's, a module's lock or counter)
    leaks from one test into the next.
    """
    module_name = f"docs_examples.{name}"
    spec = importlib.util.spec_from_file_location(module_name, EXAMPLES_DIR / f"{name}.py")
    assert spec is not None, f"no example named {name!r}"
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered before running it: dataclasses and cattrs look the module up by name.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


async def server_close(ws: WebSocketConnection) -> tuple[list[str | bytes], int, str | None]:
    """Read until the server closes; return the messages, the close code and reason."""
    messages: list[str | bytes] = []
    while True:
        try:
            messages.append(await ws.get_message())
        except ConnectionClosed as closed:
            reason = closed.reason
            assert reason is not None
            return messages, reason.code, reason.reason


async def wait_until(condition: Callable[[], bool]) -> None:
    """Return once ``condition()`` is true; the caller's deadline bounds the wait.

    For effects that happen on the server after the client left (a hook's log line,
    a yield dependency's cleanup), which offer no event to wait on.
    """
    while not condition():  # noqa: ASYNC110 - polling state that has no event
        await trio.sleep(0.01)
