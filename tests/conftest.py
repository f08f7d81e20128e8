"""Shared by every test folder.

Besides what it defines, this file puts ``tests/`` on ``sys.path``: with pytest's
default ("prepend") import mode, the directory of a conftest.py that is not inside
a package is inserted there before the conftest is imported. That is what lets a
test in any folder ``import helpers`` (``tests/helpers.py``), however pytest or nox
is started, just as the test modules' own directory is there for
``example_helpers`` in ``tests/examples``. Keep this file even if it defines nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from wsactors.testing import LiveServer

#: Both engines serve every end-to-end test (issue: the suite proves each behaviour
#: on hypercorn and on the native engine). A test of one engine's own behaviour says
#: so with ``@pytest.mark.engine("hypercorn")`` (or "native") and a reason.
ENGINES = ("hypercorn", "native")
TESTS = Path(__file__).parent
#: Where LiveServer-based tests live: every test there runs once per engine.
LIVE = (TESTS / "e2e", TESTS / "examples", TESTS / "channels")
LIVE_FILES = (TESTS / "test_demo.py", TESTS / "asyncapi" / "test_e2e_property.py")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engine(*names, reason=...): run this end-to-end test on these engines only",
    )


def _runs_live(path: Path) -> bool:
    return path in LIVE_FILES or any(folder in path.parents for folder in LIVE)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "live_engine" not in metafunc.fixturenames:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if "live_engine" in names:
            return  # the test lists the engines itself (per-engine marks)
    marker = metafunc.definition.get_closest_marker("engine")
    if marker is not None:
        engines = tuple(marker.args)
    elif _runs_live(Path(metafunc.definition.path)):
        engines = ENGINES
    else:
        engines = ("hypercorn",)
    metafunc.parametrize("live_engine", engines, indirect=True, ids=lambda e: f"{e}")


@pytest.fixture(autouse=True)
def live_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine a LiveServer created without ``engine=`` uses in this test."""
    engine: str = getattr(request, "param", "hypercorn")
    monkeypatch.setattr(LiveServer, "default_engine", engine)
    return engine
