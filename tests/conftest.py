"""Shared by every test folder: the engines a LiveServer runs on, and ``sys.path``.

**Engines.** A test that starts a :class:`~wsactors.testing.LiveServer` runs once per
engine (the suite proves each behaviour over real sockets on hypercorn and on the
native engine); every other test runs once, with no engine in its id. A test asks
for the engines by requesting the ``live_engine`` fixture: as an argument when it
reads the engine, otherwise with ``pytest.mark.usefixtures("live_engine")`` on the
test, or in the module's ``pytestmark`` when every test there serves. A test of one
engine's own behaviour adds ``@pytest.mark.engine("hypercorn", reason=...)`` (or
"native"). Both mistakes fail loudly instead of passing quietly:

- a test that starts a LiveServer without requesting ``live_engine`` fails at the
  start of the server, which says what to add;
- a test that runs once per engine but starts no LiveServer (and does not read
  ``live_engine`` to start a server of its own, such as a subprocess) fails after
  it passed, which says what to remove: it ran twice for nothing.

``@pytest.mark.engine`` on a test that does not request ``live_engine`` is a
collection error.

**sys.path.** With pytest's default ("prepend") import mode, the directory of a
conftest.py that is not inside a package is inserted in ``sys.path`` before the
conftest is imported. That puts ``tests/`` there, which lets a test in any folder
``import helpers`` (``tests/helpers.py``), however pytest or nox is started, just as
each test module's own directory is there for ``example_helpers`` in
``tests/examples``. Keep this file even if it defines nothing.
"""

from __future__ import annotations

import inspect
from collections.abc import Generator

import pytest

from wsactors.testing import LiveServer

#: Both engines serve every test that starts a LiveServer.
ENGINES = ("hypercorn", "native")
FIXTURE = "live_engine"
#: The engines of the LiveServers a test started (setup included).
STARTED = pytest.StashKey[list[str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "engine(*names, reason=...): run this LiveServer test on these engines only",
    )


def _engines(node: pytest.Item) -> tuple[str, ...]:
    marker = node.get_closest_marker("engine")
    return tuple(marker.args) if marker is not None else ENGINES


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if FIXTURE not in metafunc.fixturenames:
        if metafunc.definition.get_closest_marker("engine") is not None:
            pytest.fail(
                f"{metafunc.definition.nodeid}: @pytest.mark.engine restricts the engines "
                f"of a test that requests the {FIXTURE} fixture; this one does not: add "
                f'@pytest.mark.usefixtures("{FIXTURE}") or drop the mark',
                pytrace=False,
            )
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if isinstance(names, str):
            names = [name.strip() for name in names.split(",")]
        if FIXTURE in names:
            return  # the test lists the engines itself (per-engine marks)
    metafunc.parametrize(FIXTURE, _engines(metafunc.definition), indirect=True, ids=str)


@pytest.fixture
def live_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The engine a LiveServer created without ``engine=`` uses in this test.

    Requesting it makes the test run once per engine (``pytest_generate_tests``).
    """
    engine: str = request.param
    monkeypatch.setattr(LiveServer, "default_engine", engine)
    started = request.node.stash.setdefault(STARTED, [])
    enter = LiveServer.__aenter__

    async def counted_enter(self: LiveServer) -> LiveServer:
        started.append(self.engine)
        return await enter(self)

    monkeypatch.setattr(LiveServer, "__aenter__", counted_enter)
    return engine


@pytest.fixture(autouse=True)
def _live_server_needs_an_engine(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refuse to start a LiveServer in a test that did not request ``live_engine``."""
    if FIXTURE in request.fixturenames:
        return
    nodeid = request.node.nodeid

    async def refuse(self: LiveServer) -> LiveServer:
        pytest.fail(
            f"{nodeid} starts a LiveServer but does not request the {FIXTURE} fixture, "
            f"so it would run on one engine only: add "
            f'@pytest.mark.usefixtures("{FIXTURE}") (or pytestmark in the module), and '
            f'@pytest.mark.engine("hypercorn", reason=...) if it is for one engine only',
            pytrace=False,
        )

    monkeypatch.setattr(LiveServer, "__aenter__", refuse)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail a test that ran once per engine for nothing (after it passed)."""
    yield  # a test that failed or skipped raises here: nothing more to say
    callspec = getattr(item, "callspec", None)
    if callspec is None or FIXTURE not in callspec.params or len(_engines(item)) < 2:
        return
    if item.stash.get(STARTED, []):
        return
    if FIXTURE in inspect.signature(getattr(item, "obj", lambda: None)).parameters:
        return  # it reads the engine: it starts a server of its own with it
    pytest.fail(
        f"{item.nodeid} runs once per engine ({', '.join(_engines(item))}) but started no "
        f"LiveServer: remove its {FIXTURE} request so that it runs once",
        pytrace=False,
    )
