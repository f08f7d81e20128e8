"""Run Autobahn|Testsuite's fuzzing client against the echo App and judge its report.

``nox -s conformance`` builds the Python 2.7 environment that has ``wstest`` and runs::

    python conformance/run.py --wstest PATH/TO/wstest [--cases 1.* 9.1.*] [--timeout 600]
        [--engine hypercorn|native] [--compression deflate]

Steps: serve ``conformance/echo_app.py`` in a subprocess (wsactors on hypercorn's Trio
worker, or on the native engine with ``--engine native``; 127.0.0.1, a free port), run
``wstest -m fuzzingclient`` with a generated spec, then read the report's ``index.json``.
Exit 0 only if every case's ``behavior`` and ``behaviorClose`` are OK, NON-STRICT or
INFORMATIONAL, ``wstest`` succeeded and the server stayed up without logging an error.
Everything lands in ``artifacts/autobahn/``: ``spec.json``, ``wstest.log``,
``server.log`` and ``reports/index.html``.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AGENT = "wsactors"
# Sections 1-7, 9 and 10 of the suite (there is no 8 or 11). 12.* and 13.* test the
# permessage-deflate extension (hypercorn negotiates it through wsproto); they are not part
# of the default run, but --cases 12.* 13.* runs them.
DEFAULT_CASES = ("1.*", "2.*", "3.*", "4.*", "5.*", "6.*", "7.*", "9.*", "10.*")
PASSING = frozenset({"OK", "NON-STRICT", "INFORMATIONAL"})
# echo_app.py logs "date time LEVEL logger message"; tracebacks (also of exception groups)
# have a "Traceback (most recent call last)" line.
SERVER_ERROR = re.compile(r"^\S+ \S+ (ERROR|CRITICAL) |Traceback \(most recent call last\)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until_listening(port: int, server: subprocess.Popen[bytes], timeout: float) -> None:
    """Return once the server accepts TCP connections on ``port``.

    Raises:
        RuntimeError: the server exited, or did not listen within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the echo server exited with code {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the echo server did not listen on port {port} within {timeout:g} s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    """SIGTERM (wsactors drains and stops), then SIGKILL if it takes over 10 seconds."""
    if server.poll() is not None:
        return
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def write_spec(path: Path, url: str, cases: list[str], reports: Path) -> None:
    """Write the fuzzing client's spec: one server, the cases, nothing excluded."""
    spec = {
        "outdir": str(reports),
        "servers": [{"agent": AGENT, "url": url}],
        "cases": cases,
        "exclude-cases": [],
        "exclude-agent-cases": {},
    }
    path.write_text(json.dumps(spec, indent=2) + "\n")


def case_key(case_id: str) -> tuple[int, ...]:
    """Sort key for case ids such as ``9.10.2``: numeric, part by part."""
    return tuple(int(part) for part in case_id.split("."))


def strip_html(text: str) -> str:
    """The case descriptions carry a little HTML (``<b>``); keep the words."""
    return " ".join(re.sub(r"<[^>]+>", "", text).split())


def judge(reports: Path) -> list[str]:
    """Print counts per behavior; return the ids of the failing cases (after a table)."""
    index: dict[str, dict[str, Any]] = json.loads((reports / "index.json").read_text())[AGENT]
    ids = sorted(index, key=case_key)
    print(f"\nAutobahn|Testsuite: {len(ids)} cases against {AGENT}")
    for field in ("behavior", "behaviorClose"):
        counts = collections.Counter(index[case][field] for case in ids)
        print(f"  {field:<14}" + ", ".join(f"{name} {n}" for name, n in sorted(counts.items())))
    for verdict in ("NON-STRICT", "INFORMATIONAL"):
        listed = [case for case in ids if index[case]["behavior"] == verdict]
        if listed:
            print(f"  {verdict}: {' '.join(listed)}")
    slowest = sorted(ids, key=lambda case: index[case]["duration"], reverse=True)[:3]
    print("  slowest: " + ", ".join(f"{case} {index[case]['duration']} ms" for case in slowest))

    failing = [
        case
        for case in ids
        if index[case]["behavior"] not in PASSING or index[case]["behaviorClose"] not in PASSING
    ]
    if failing:
        print(f"\n{len(failing)} failing case(s):")
        print(f"{'case':<9} {'behavior':<14} {'close':<14} {'code':<5} result")
        for case in failing:
            entry = index[case]
            report = json.loads((reports / entry["reportfile"]).read_text())
            result = f"{strip_html(report['result'])} / {strip_html(report['resultClose'])}"
            print(
                f"{case:<9} {entry['behavior']:<14} {entry['behaviorClose']:<14}"
                f" {entry['remoteCloseCode']!s:<5} {result}"
            )
            print(f"{'':<9} {strip_html(report['description'])[:160]}")
    return failing


def tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a text file."""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def main(argv: list[str] | None = None) -> int:
    """Serve, fuzz, judge; return the exit code."""
    parser = argparse.ArgumentParser(description="Run Autobahn|Testsuite against the echo App.")
    parser.add_argument("--wstest", required=True, type=Path, help="path of the wstest script")
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), help="case patterns")
    parser.add_argument(
        "--outdir", type=Path, default=ROOT / "artifacts" / "autobahn", help="output folder"
    )
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds wstest may take (%(default)g)"
    )
    parser.add_argument("--engine", choices=["hypercorn", "native"], default="hypercorn")
    parser.add_argument(
        "--compression", choices=["deflate"], default=None, help="native engine: permessage-deflate"
    )
    args = parser.parse_args(argv)

    wstest: Path = args.wstest.resolve()
    if not wstest.is_file():
        parser.error(f"no wstest at {wstest}")
    outdir: Path = args.outdir.resolve()
    reports = outdir / "reports"
    shutil.rmtree(reports, ignore_errors=True)  # never judge a stale index.json
    reports.mkdir(parents=True)
    server_log, wstest_log = outdir / "server.log", outdir / "wstest.log"
    spec = outdir / "spec.json"

    port = free_port()
    write_spec(spec, f"ws://127.0.0.1:{port}/", args.cases, reports)
    problems: list[str] = []
    started = time.monotonic()
    with server_log.open("wb") as log:
        server = subprocess.Popen(
            [
                sys.executable,
                str(HERE / "echo_app.py"),
                "--port",
                str(port),
                "--engine",
                args.engine,
                *(["--compression", args.compression] if args.compression else []),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            try:
                wait_until_listening(port, server, timeout=30)
            except RuntimeError as exc:
                log.flush()
                print(f"conformance: {exc}:\n{tail(server_log)}", file=sys.stderr)
                return 1
            print(f"echo App on ws://127.0.0.1:{port}/ (pid {server.pid}); running wstest")
            print(f"  cases {' '.join(args.cases)}; log {wstest_log}", flush=True)
            code: int | None
            with wstest_log.open("wb") as out:
                try:
                    code = subprocess.run(
                        [str(wstest), "-m", "fuzzingclient", "-s", str(spec)],
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        cwd=outdir,
                        timeout=args.timeout,
                        check=False,
                    ).returncode
                except subprocess.TimeoutExpired:
                    code = None  # subprocess.run killed wstest
            if code is None:
                problems.append(f"wstest was killed after {args.timeout:g} s:\n{tail(wstest_log)}")
            elif code != 0:
                problems.append(f"wstest exited with code {code}:\n{tail(wstest_log)}")
            if server.poll() is not None:
                problems.append(f"the echo server died during the run (code {server.returncode})")
        finally:
            stop_server(server)
    elapsed = time.monotonic() - started

    errors = [line for line in server_log.read_text().splitlines() if SERVER_ERROR.search(line)]
    if errors:
        shown = "\n".join(errors[:20])
        problems.append(f"the echo server logged {len(errors)} error line(s):\n{shown}")

    failing: list[str] = []
    if (reports / "index.json").exists():
        failing = judge(reports)
    else:
        problems.append(f"wstest wrote no {reports / 'index.json'}")
    print(f"\nwstest and server: {elapsed:.1f} s; report: {reports / 'index.html'}")

    for problem in problems:
        print(f"conformance: {problem}", file=sys.stderr)
    if failing:
        print(f"conformance: {len(failing)} case(s) failed: {' '.join(failing)}", file=sys.stderr)
    return 1 if problems or failing else 0


if __name__ == "__main__":
    sys.exit(main())
