"""Puts ``tests/examples`` on ``sys.path`` too: these tests load every docs example
with its ``load_example`` (``tests/conftest.py`` explains the rest of the path)."""

from __future__ import annotations

import sys
from pathlib import Path

_EXAMPLES_TESTS = str(Path(__file__).resolve().parents[1] / "examples")
if _EXAMPLES_TESTS not in sys.path:
    sys.path.append(_EXAMPLES_TESTS)
