"""Helpers for the end-to-end tests of ``docs/examples/`` (fixtures live in conftest.py).

Each example is a module that defines ``app``; :func:`load_example` imports it by
file name (``docs/examples`` is not a package), and ``test_examples_covered.py``
checks that every example is loaded by at least one test here. ``DEADLINE``,
``wait_until``, and ``read_until_close`` behind :func:`server_close`, come from
``tests/helpers.py``, which the other test folders share.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from trio_websocket import WebSocketConnection

from helpers import DEADLINE, read_until_close, wait_until

__all__ = ["DEADLINE", "EXAMPLES_DIR", "load_example", "server_close", "wait_until"]

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "docs" / "examples"


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
    messages, close = await read_until_close(ws)
    return messages, close.code, close.reason
