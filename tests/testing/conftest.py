"""Puts ``tests/e2e`` on ``sys.path`` too: ``test_testclient_app.py`` serves, through
the in-process TestClient, the same handlers as the socket tests there
(``e2e_helpers``, ``native_helpers``); ``tests/conftest.py`` explains the rest."""

from __future__ import annotations

import sys
from pathlib import Path

_E2E_TESTS = str(Path(__file__).resolve().parents[1] / "e2e")
if _E2E_TESTS not in sys.path:
    sys.path.append(_E2E_TESTS)
