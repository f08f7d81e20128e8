"""Developer tasks for wsactors. ``nox`` runs lint, typecheck, tests and docs; ``nox -l`` lists all.

Dependencies come from the PEP 735 ``[dependency-groups]`` in pyproject.toml, so the
versions live in one place. Sessions use the interpreter nox itself runs on.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import nox

# nox.project.dependency_groups first shipped in nox 2025.02.09.
nox.needs_version = ">=2025.2.9"
# The stdlib venv module is always there; virtualenv and uv may not be.
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "tests", "docs"]
nox.options.error_on_missing_interpreters = True

PYPROJECT = nox.project.load_toml(Path(__file__).parent / "pyproject.toml")


def group(name: str) -> tuple[str, ...]:
    """Return the requirements of one dependency group in pyproject.toml."""
    return nox.project.dependency_groups(PYPROJECT, name)


@nox.session
def lint(session: nox.Session) -> None:
    """Lint and check formatting with ruff."""
    session.install(*group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """Type-check src/, tests/, benchmarks/ and noxfile.py with mypy --strict."""
    session.install("-e", ".", *group("typecheck"))
    session.run("mypy", *session.posargs)
    if not session.posargs:
        # Excluded from the run above (pyproject.toml [tool.mypy] says why).
        for conftest in sorted(Path("tests").glob("*/conftest.py")):
            session.run("mypy", str(conftest))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite with branch coverage (pass pytest options after --)."""
    session.install("-e", ".", *group("test"))
    # No tests collected is pytest exit code 5, which nox treats as a failure: keep it that way.
    session.run(
        "pytest",
        "--cov=wsactors",
        "--cov-branch",
        "--cov-report=term-missing",
        *session.posargs,
    )


@nox.session(default=False)
def soak(session: nox.Session) -> None:
    """Soak tests: 10,000 connection cycles, 2,000 idle connections (tests/soak, about 30 s)."""
    session.install("-e", ".", *group("test"))
    # -m replaces the addopts' `-m 'not ... soak ...'`; -s shows the figures printed.
    session.run("pytest", "-m", "soak", "-s", "tests/soak", *session.posargs)


@nox.session(default=False)
def fuzz(session: nox.Session) -> None:
    """Fuzz four endpoints over real sockets with Hypothesis (tests/fuzz, about 5 s)."""
    session.install("-e", ".", *group("test"))
    session.run("pytest", "-m", "fuzz", "tests/fuzz", *session.posargs)


@nox.session(default=False)
def reliability(session: nox.Session) -> None:
    """Bounded probes of the native engine's limits (benchmarks/reliability, ~2 min).

    Each prints one figure and fails when it misses its goal; every probe runs, and
    the session fails at the end if any missed (details: artifacts/reliability/).
    Name probes after ``--`` to run only those (``-- ping_schedule``); ``-- --open
    NAME`` declares a goal still open (its figure reported, never failed).
    """
    session.install("-e", ".")
    session.run("python", "-m", "benchmarks.reliability", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the HTML docs; any warning or unresolved reference fails the build."""
    session.install("-e", ".", *group("docs"))
    session.run(
        "sphinx-build", "-W", "-n", "--keep-going", "-b", "html", "docs", "docs/_build/html"
    )


#: Reference servers in the bench group: each is installed on its own, and one that
#: cannot be installed is skipped by the harness instead of failing the session.
BENCH_REFERENCES = frozenset({"litestar", "uvicorn", "trio-websocket", "aiohttp"})


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", requirement, maxsplit=1)[0].lower()


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    """Load and fan-out benchmarks, instruction counts and microbenchmarks, in
    artifacts/bench/ (~25 min; ``-- --quick``: one short round of each load benchmark).

    Options after ``--`` go to the echo/push harness (``python -m benchmarks --help``);
    ``--quick`` goes to the fan-out benchmark too.
    """
    requirements = group("bench")
    session.install(
        "-e", ".", *(r for r in requirements if _requirement_name(r) not in BENCH_REFERENCES)
    )
    for requirement in requirements:
        if _requirement_name(requirement) in BENCH_REFERENCES:
            # pip exits 1 when it cannot install; the harness then reports the reference skipped.
            session.run_install("python", "-m", "pip", "install", requirement, success_codes=[0, 1])
    session.run("python", "-m", "benchmarks", *session.posargs)
    # Fan-out (benchmarks/fanout.py): 1,000 and 10,000 subscribers in one room on
    # wsactors (native, hypercorn), websockets' broadcast() and Litestar Channels:
    # artifacts/bench/fanout.md and fanout.json.
    quick = ["--quick"] if "--quick" in session.posargs else []
    session.run("python", "-m", "benchmarks.fanout", *quick)
    # Instructions per echo and per push under callgrind (about 5 minutes; skipped,
    # with a line saying so, where valgrind is missing): artifacts/bench/instructions.json.
    session.run("python", "-m", "benchmarks.instructions")
    # Channels fan-out (benchmarks/channels.py): memory, and Redis when redis-server is
    # on PATH; results in artifacts/bench/channels.json.
    session.install("-e", ".[redis]")
    session.run("python", "-m", "benchmarks.channels")
    Path("artifacts/bench").mkdir(parents=True, exist_ok=True)
    session.run(
        "pytest",
        "benchmarks/micro",
        "-p",
        "no:cacheprovider",
        "--benchmark-only",
        "--benchmark-max-time=0.5",
        # Rounds of at least 100 µs (many calls each): steadier medians, a smaller JSON.
        "--benchmark-min-time=0.0001",
        "--benchmark-columns=median,iqr,ops,rounds",
        "--benchmark-sort=name",
        "--benchmark-json=artifacts/bench/micro.json",
    )


#: Autobahn|Testsuite's wstest runs on Python 2 only: pyenv's 2.7.18 builds its environment.
PYTHON2 = "2.7.18"
AUTOBAHN_REQUIREMENTS = Path("conformance/requirements-py27.txt")


def _python2(session: nox.Session) -> str:
    """Return the path of pyenv's Python 2.7.18, or stop the session with a hint."""
    prefix = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv", "versions", PYTHON2)
    pyenv = shutil.which("pyenv")
    if pyenv:  # it knows its root even when PYENV_ROOT is not set
        found = subprocess.run([pyenv, "prefix", PYTHON2], capture_output=True, text=True)
        if found.returncode == 0:
            prefix = Path(found.stdout.strip())
    python = prefix / "bin" / "python2.7"
    if not python.is_file():
        session.error(f"no {python}: conformance needs `pyenv install {PYTHON2}`")
    return str(python)


@nox.session(default=False)
def conformance(session: nox.Session) -> None:
    """Autobahn|Testsuite cases 1-7, 9, 10 against an echo App on hypercorn (1-2 minutes).

    ``-- --engine native`` runs them against the native engine, ``--compression deflate``
    (native) with ``--cases '12.*' '13.*'`` the permessage-deflate cases.
    """
    # virtualenv 20.22 dropped Python 2 targets; 20.21 runs here and seeds pip 20.3.4 offline.
    session.install("-e", ".", "virtualenv<20.22")
    env = Path(session.cache_dir, "autobahn-py27").resolve()
    stamp = env / AUTOBAHN_REQUIREMENTS.name  # the requirements it was built from
    if not stamp.is_file() or stamp.read_text() != AUTOBAHN_REQUIREMENTS.read_text():
        shutil.rmtree(env, ignore_errors=True)
        session.run("virtualenv", "--no-periodic-update", "-p", _python2(session), str(env))
        python2 = str(env / "bin" / "python")
        session.run(
            python2, "-m", "pip", "install", "-r", str(AUTOBAHN_REQUIREMENTS), external=True
        )
        shutil.copyfile(AUTOBAHN_REQUIREMENTS, stamp)
    wstest = str(env / "bin" / "wstest")
    session.run("python", "conformance/run.py", "--wstest", wstest, *session.posargs)


@nox.session(default=False)
def e2e(session: nox.Session) -> None:
    """The demo page in Debian's headless Chromium, driven by Playwright (about 15 s).

    Needs ``/usr/bin/chromium`` (``apt-get install chromium``); ``playwright install``
    is never run. The screenshot goes to artifacts/e2e/demo.png.
    """
    session.install("-e", ".", *group("e2e"))
    session.run("pytest", "-m", "browser", "tests/browser", *session.posargs)


#: The official AsyncAPI parser, from npm: tests/asyncapi/test_official_parser.py
#: validates every document with it (through tests/asyncapi/validate.cjs).
ASYNCAPI_PARSER = "@asyncapi/parser@3.6.6"


@nox.session(default=False)
def asyncapi(session: nox.Session) -> None:
    """AsyncAPI documents and their property tests, validated by @asyncapi/parser (~1 min).

    Needs node and npm. The parser goes into nox's cache (.nox/.cache/asyncapi-parser),
    where the default ``tests`` session finds it too; install scripts are not run.
    """
    npm = shutil.which("npm")
    if npm is None:
        session.error("the asyncapi session needs node and npm (apt-get install nodejs npm)")
    session.install("-e", ".", *group("test"))
    prefix = Path(session.cache_dir, "asyncapi-parser").resolve()
    stamp = prefix / "installed.txt"  # the package spec it holds
    if not stamp.is_file() or stamp.read_text() != ASYNCAPI_PARSER:
        shutil.rmtree(prefix, ignore_errors=True)
        prefix.mkdir(parents=True)
        session.run(
            npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
            "--ignore-scripts", ASYNCAPI_PARSER, external=True,
        )  # fmt: skip
        stamp.write_text(ASYNCAPI_PARSER)
    session.run(
        "pytest",
        "tests/asyncapi",
        "tests/codec/test_codec_json_types.py",
        *session.posargs,
        env={"WSACTORS_ASYNCAPI_PARSER": str(prefix / "node_modules")},
    )


@nox.session(default=False)
def redis(session: nox.Session) -> None:
    """The Channels tests against a real redis-server (tests/channels, and the docs'
    room example in tests/examples; about 15 s).

    Needs ``redis-server`` on PATH (Debian: ``apt-get install redis-server``); each
    test starts its own on 127.0.0.1 and a free port. With ``CI=true`` a missing
    binary fails the session instead of skipping its tests.
    """
    session.install("-e", ".[redis]", *group("redis"))
    session.run(
        "pytest",
        "-m",
        "redis",
        "-p",
        "no:cacheprovider",
        "tests/channels",
        "tests/examples",
        *session.posargs,
    )


@nox.session(default=False)
def prometheus(session: nox.Session) -> None:
    """The metrics scraped by a real Prometheus server (tests/metrics, about 15 s).

    Needs Debian's ``prometheus`` (``apt-get install prometheus``); each test starts
    its own on 127.0.0.1 and a free port, with a configuration it writes. With
    ``CI=true`` a missing binary fails the session instead of skipping its tests.
    Installs only what these tests import, to stay quick.
    """
    session.install("-e", ".[metrics,testing]", "pytest>=8", "pytest-trio>=0.8")
    session.run(
        "pytest", "-m", "prometheus", "-p", "no:cacheprovider", "tests/metrics", *session.posargs
    )
