"""Developer tasks for wsactors. ``nox`` runs lint, typecheck and tests; ``nox -l`` lists all.

Dependencies come from the PEP 735 ``[dependency-groups]`` in pyproject.toml, so the
versions live in one place. Sessions use the interpreter nox itself runs on.
"""

from __future__ import annotations

from pathlib import Path

import nox

# nox.project.dependency_groups first shipped in nox 2025.02.09.
nox.needs_version = ">=2025.2.9"
# The stdlib venv module is always there; virtualenv and uv may not be.
nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "typecheck", "tests"]
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
    """Type-check src/ with mypy --strict."""
    session.install("-e", ".", *group("typecheck"))
    session.run("mypy", *session.posargs)


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
