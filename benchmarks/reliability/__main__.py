"""Run every reliability probe, report each, fail at the end if any missed its goal.

``python -m benchmarks.reliability [--open NAME ...] [NAME ...]``: the probes named
(default: every module of this package not starting with ``_``, in alphabetical
order), each as ``main()`` in a child process bounded by :data:`BOUND` seconds (a
probe that hangs fails and is killed, its process group with it). Every probe runs
even when an earlier one failed; the summary goes to
``artifacts/reliability/summary.json``.

``--open NAME`` declares a goal still open (an issue is working on it): its miss is
printed as ``missed (open)`` and does not fail the run, but the probe still runs
and prints its figure. An open probe that meets its goal is reported as ``met
(open)`` with a reminder to take it off the list, without failing: a goal met in
some runs and not in others (a timing figure on a shared machine) stays open until
it is met reliably.
"""

from __future__ import annotations

import argparse
import json
import os
import pkgutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from ._common import ARTIFACTS

__all__ = ["BOUND", "main", "probes"]

#: Seconds one probe may take, setup included.
BOUND = 60.0


def probes() -> list[str]:
    """The probe modules of this package."""
    here = [str(Path(__file__).parent)]
    return sorted(m.name for m in pkgutil.iter_modules(here) if not m.name.startswith("_"))


def _run(name: str) -> tuple[int | None, str, float]:
    """Run one probe; (exit code or None when it timed out, its last line, seconds)."""
    code = f"import sys; from benchmarks.reliability import {name} as p; sys.exit(p.main())"
    started = time.monotonic()
    # Its own process group, so a probe that hangs is stopped with its servers.
    process = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        out, _ = process.communicate(timeout=BOUND)
        returncode: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, _ = process.communicate()
        returncode = None
    sys.stdout.write(out)
    lines = [line for line in out.splitlines() if line.strip()]
    return returncode, (lines[-1] if lines else ""), time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    """Run the probes; 0 when every one met its goal."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reliability")
    parser.add_argument(
        "--open",
        action="append",
        default=[],
        metavar="NAME",
        help="a probe whose goal is still open (its miss does not fail)",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="probes to run (default: all)")
    args = parser.parse_args(argv if argv is not None else sys.argv[1:])
    names: list[str] = args.names or probes()
    declared: set[str] = set(args.open)
    unknown = sorted((set(names) | declared) - set(probes()))
    if unknown:
        print(f"unknown probe(s): {', '.join(unknown)}; known: {', '.join(probes())}")
        return 2
    results = {}
    for name in names:
        print(f"--- {name}", flush=True)
        code, line, seconds = _run(name)
        status = "ok" if code == 0 else ("timed out" if code is None else f"failed ({code})")
        if name in declared:
            status = "met (open)" if code == 0 else "missed (open)"
        results[name] = {"status": status, "exit_code": code, "line": line, "seconds": seconds}
    print("--- summary")
    for name, result in results.items():
        print(f"{name:<16} {result['status']:<11} {result['seconds']:5.1f} s")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "summary.json").write_text(json.dumps(results, indent=2) + "\n")
    missed = [n for n, r in results.items() if r["exit_code"] != 0 and n not in declared]
    still_open = [n for n, r in results.items() if r["exit_code"] != 0 and n in declared]
    closed = [n for n, r in results.items() if r["exit_code"] == 0 and n in declared]
    if still_open:
        print(f"reliability: open goals, still missed: {', '.join(still_open)}")
    if missed:
        print(f"reliability: {len(missed)} of {len(results)} probes missed: {', '.join(missed)}")
    if closed:
        print(f"reliability: declared open but met this time: {', '.join(closed)}")
    if missed:
        return 1
    met = len(results) - len(still_open)
    print(f"reliability: {met} of {len(results)} probes met their goals")
    return 0


if __name__ == "__main__":
    sys.exit(main())
