"""A load benchmark's rounds: server configurations run one at a time, each against
a fresh server process and a load client in its own process, in interleaved rounds.

Shared by :mod:`benchmarks.harness` (echo and push) and :mod:`benchmarks.fanout`:

- :class:`Configuration`, and :func:`choose` for the ones ``--only`` names;
- :func:`parser` and :func:`parse`: the command-line options both have
  (``--quick``, ``--rounds``, ``--only``, ``--out``);
- :func:`run_client`: start a server (pinned to CPU 0), run a load client against
  it (pinned to CPU 1) with the options :func:`forward` hands on, read the
  client's JSON, stop the server; :func:`client_parser` is the client's side, and
  :class:`Option` defines an option both take;
- :func:`run_rounds`: each round, each case in turn (A B C A B C ...), with
  progress on stdout and each server's log in a file. Interleaving spreads slow
  drifts of the machine (other jobs, thermal limits) over every case alike.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from .serverproc import free_port, missing, pinning, stop, wait_listening

__all__ = [
    "ROOT",
    "Case",
    "Configuration",
    "Option",
    "add_options",
    "choose",
    "client_parser",
    "forward",
    "parse",
    "parser",
    "run_client",
    "run_rounds",
]

ROOT = Path(__file__).resolve().parent.parent

#: What a failed run raises: the server or the client failed, the client took too
#: long, or it printed no JSON.
RUN_ERRORS = (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Configuration:
    """One server under test.

    Attributes:
        name: Short key (``raw-asgi``), used in the JSON and on the command line.
        label: What the table and the chart call it.
        module: The server module, run with ``python -m``.
        requires: Importable names it needs; a missing one skips the configuration.
    """

    name: str
    label: str
    module: str
    requires: tuple[str, ...]


@dataclass(frozen=True)
class Option:
    """An option a benchmark takes and hands on to its load client, which takes it
    too (one definition, so both sides agree on the default).

    Attributes:
        name: Its name in the parsed namespace (``push_count`` for ``--push-count``).
        kind: What converts its text (``int``, ``float``).
        default: Its value when not given.
        help: What ``--help`` says of it.
    """

    name: str
    kind: Callable[[str], Any]
    default: float
    help: str

    @property
    def flag(self) -> str:
        """``--push-count``."""
        return "--" + self.name.replace("_", "-")


def add_options(made: argparse.ArgumentParser, options: Sequence[Option]) -> None:
    """Add ``options`` to a benchmark's or a load client's parser."""
    for option in options:
        made.add_argument(option.flag, type=option.kind, default=option.default, help=option.help)


def forward(args: argparse.Namespace, options: Sequence[Option]) -> list[str]:
    """``options``' values in ``args`` as the load client's command line."""
    return [f"{option.flag}={getattr(args, option.name)}" for option in options]


def parser(prog: str, doc: str | None, quick: str) -> argparse.ArgumentParser:
    """A parser with ``--quick`` (``quick`` says what it does) and ``--rounds``; the
    caller adds its own options, then calls :func:`parse`."""
    made = argparse.ArgumentParser(prog=prog, description=doc.split("\n\n")[0] if doc else "")
    made.add_argument("--quick", action="store_true", help=quick)
    made.add_argument("--rounds", type=int, default=3, help="interleaved rounds (>= 1)")
    return made


def parse(
    made: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    configurations: Sequence[Configuration],
    options: Sequence[Option],
) -> argparse.Namespace:
    """Add ``options`` (those the load client takes too), ``--only`` and ``--out``,
    parse ``argv``; ``--rounds`` below 1 is an error (exit 2) unless ``--quick``
    (one round) overrides it."""
    add_options(made, options)
    made.add_argument(
        "--only",
        default="",
        help="comma-separated configuration names (default: all): "
        + ", ".join(c.name for c in configurations),
    )
    made.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench")
    args = made.parse_args(argv)
    if args.rounds < 1 and not args.quick:
        made.error("--rounds must be at least 1")
    return args


def choose(
    configurations: Sequence[Configuration], only: str, keep: str = ""
) -> tuple[list[Configuration], dict[str, str]]:
    """The configurations ``only`` names (comma-separated; all when empty; ``keep``
    always) that can run here, and why each of the others named cannot.

    Raises:
        LookupError: ``only`` names a configuration that does not exist.
    """
    wanted = {name for name in only.split(",") if name}
    unknown = wanted - {c.name for c in configurations}
    if unknown:
        raise LookupError(f"unknown configuration(s): {', '.join(sorted(unknown))}")
    chosen: list[Configuration] = []
    skipped: dict[str, str] = {}
    for config in configurations:
        if wanted and config.name not in wanted and config.name != keep:
            continue
        absent = missing(config.requires)
        if absent:
            skipped[config.name] = f"not installed: {', '.join(absent)}"
            print(f"skipping {config.name}: {skipped[config.name]}", flush=True)
        else:
            chosen.append(config)
    return chosen, skipped


def run_client(
    config: Configuration,
    client: str,
    options: Sequence[str],
    log: IO[bytes],
    timeout: float,
) -> dict[str, Any]:
    """Start ``config``'s server, run ``python -m client --url=... --server-pid=...
    *options`` against it, stop the server; the JSON the client printed.

    The server's output goes to ``log``; the client's stderr (progress) straight to
    the terminal, its stdout is the JSON.

    Raises:
        RuntimeError: the server did not start or exited during the run, or the
            client failed.
        subprocess.TimeoutExpired: the client took over ``timeout`` seconds.
        json.JSONDecodeError: the client's output is not JSON.
    """
    server_pin, load_pin = pinning()
    port = free_port()
    server = subprocess.Popen(
        [*server_pin, sys.executable, "-m", config.module, "--port", str(port)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_listening(port, server, timeout=30)
        command = [
            *load_pin,
            sys.executable,
            "-m",
            client,
            f"--url=ws://127.0.0.1:{port}",
            f"--server-pid={server.pid}",
            *options,
        ]
        done = subprocess.run(
            command, cwd=ROOT, stdout=subprocess.PIPE, check=False, timeout=timeout
        )
        if done.returncode != 0:
            raise RuntimeError(f"{client} exited with {done.returncode}")
        if server.poll() is not None:
            raise RuntimeError(f"server exited with {server.returncode} during the run")
        result: dict[str, Any] = json.loads(done.stdout)
        return result
    finally:
        stop(server)


def client_parser(doc: str | None) -> argparse.ArgumentParser:
    """The parser of a load client run by :func:`run_client`: ``--url`` and
    ``--server-pid``; the client adds its own options."""
    made = argparse.ArgumentParser(description=doc.split("\n\n")[0] if doc else "")
    made.add_argument("--url", required=True, help="ws://127.0.0.1:PORT")
    made.add_argument("--server-pid", type=int, required=True)
    return made


@dataclass(frozen=True)
class Case(Generic[K]):
    """One run of a round.

    Attributes:
        key: Where its results and failures are kept.
        title: What the progress line calls it, after ``round N/R``.
        log: The server log's name in ``logs/``, before ``-ROUND.log``.
        run: Runs it, given the open server log (:func:`run_client`).
    """

    key: K
    title: str
    log: str
    run: Callable[[IO[bytes]], dict[str, Any]]


def run_rounds(
    rounds: int, cases: Sequence[Case[K]], logs: Path
) -> tuple[dict[K, list[dict[str, Any]]], dict[K, list[str]]]:
    """Each round, every case in order; the results and the failures by key.

    A failed run (:data:`RUN_ERRORS`) is reported (``round N: why``) and the rounds
    go on.
    """
    results: dict[K, list[dict[str, Any]]] = {case.key: [] for case in cases}
    failures: dict[K, list[str]] = {case.key: [] for case in cases}
    started = time.monotonic()
    runs = len(cases) * rounds
    done = 0
    for number in range(1, rounds + 1):
        for case in cases:
            elapsed = time.monotonic() - started
            eta = f", about {elapsed / done * (runs - done):.0f} s left" if done else ""
            print(f"[{elapsed:5.0f} s] round {number}/{rounds}{case.title}{eta}", flush=True)
            log_path = logs / f"{case.log}-{number}.log"
            with log_path.open("wb") as log:
                try:
                    results[case.key].append(case.run(log))
                except RUN_ERRORS as exc:
                    failures[case.key].append(f"round {number}: {exc}")
                    print(f"    FAILED: {exc} (server log: {log_path})", flush=True)
            done += 1
    return results, failures
