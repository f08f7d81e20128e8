"""Run every server configuration against the load generator, in interleaved rounds.

``python -m benchmarks`` (what ``nox -s bench`` runs). For each round and each
configuration (A B C A B C ...), a fresh server process is started (pinned to CPU 0
with ``taskset`` when there are two CPUs or more), the load generator runs in its
own process (pinned to CPU 1) and reports the figures of every phase, and the
server is terminated. Interleaving spreads slow drifts of the machine (other jobs,
thermal limits) over every configuration alike. Each figure is then the median over
rounds, and a ratio against the raw ASGI floor of the same run.

Output in ``--out`` (default ``artifacts/bench/``): ``results.md``, ``results.json``,
``bench.png`` and each server's log in ``logs/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

from .loadgen import OPTIONS
from .procstat import raise_nofile_limit
from .report import (
    environment,
    ratio_lines,
    reference_ratios,
    summarize,
    write_chart,
    write_json,
    write_markdown,
)
from .rounds import Case, Configuration, choose, forward, parse, parser, run_client, run_rounds
from .serverproc import pinning

__all__ = ["CONFIGURATIONS", "Configuration", "main"]

#: The floor comes first: every ratio is against it.
CONFIGURATIONS = (
    Configuration(
        "raw-asgi",
        "raw ASGI, hypercorn-trio (floor)",
        "benchmarks.servers.raw_asgi",
        ("hypercorn", "trio"),
    ),
    Configuration(
        "wsactors-listener",
        "wsactors listener/stream, hypercorn-trio",
        "benchmarks.servers.wsactors_listener",
        ("wsactors",),
    ),
    Configuration(
        "wsactors-websocket",
        "wsactors @websocket, hypercorn-trio",
        "benchmarks.servers.wsactors_raw",
        ("wsactors",),
    ),
    Configuration(
        "wsactors-native",
        "wsactors @websocket, native engine",
        "benchmarks.servers.wsactors_native",
        ("wsactors", "websockets"),
    ),
    Configuration(
        "wsactors-native-listener",
        "wsactors listener/stream, native engine",
        "benchmarks.servers.wsactors_native_listener",
        ("wsactors", "websockets"),
    ),
    # The same @websocket App with App(metrics=True): metrics on vs off, per engine.
    Configuration(
        "wsactors-websocket-metrics",
        "wsactors @websocket, metrics on, hypercorn-trio",
        "benchmarks.servers.wsactors_metrics",
        ("wsactors", "prometheus_client"),
    ),
    Configuration(
        "wsactors-native-metrics",
        "wsactors @websocket, metrics on, native engine",
        "benchmarks.servers.wsactors_native_metrics",
        ("wsactors", "websockets", "prometheus_client"),
    ),
    Configuration(
        "websockets-trio",
        "websockets' Trio server",
        "benchmarks.servers.websockets_trio_server",
        ("websockets.trio",),
    ),
    Configuration(
        "trio-websocket",
        "trio-websocket server",
        "benchmarks.servers.trio_websocket_server",
        ("trio_websocket",),
    ),
    # The references issue 19 measures the native engine against: Litestar as its
    # users deploy it (uvicorn[standard]: uvloop and httptools) and aiohttp.
    Configuration(
        "litestar-uvicorn",
        "Litestar listener/stream, uvicorn[standard] (uvloop, httptools)",
        "benchmarks.servers.litestar_uvicorn",
        ("litestar", "uvicorn", "uvloop", "httptools"),
    ),
    Configuration(
        "aiohttp",
        "aiohttp server, asyncio",
        "benchmarks.servers.aiohttp_server",
        ("aiohttp",),
    ),
)
FLOOR = CONFIGURATIONS[0].name


def run_once(config: Configuration, args: argparse.Namespace, log: IO[bytes]) -> dict[str, Any]:
    """Start ``config``'s server, run the load generator against it, stop the server."""
    return run_client(config, "benchmarks.loadgen", forward(args, OPTIONS), log, timeout=300)


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    made = parser(
        "python -m benchmarks",
        __doc__,
        quick="1 round, 1 s phases, 20,000 pushed messages, 500 idle connections",
    )
    args = parse(made, argv, CONFIGURATIONS, OPTIONS)
    if args.quick:
        args.rounds, args.duration, args.warmup = 1, 1.0, 0.5
        args.push_count, args.idle = 20_000, 500
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rounds, then write the table, the JSON and the chart."""
    args = _parse(argv)
    try:
        configs, skipped = choose(CONFIGURATIONS, args.only, keep=FLOOR)
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    raise_nofile_limit()  # the children inherit it
    out: Path = args.out
    (out / "logs").mkdir(parents=True, exist_ok=True)
    if not configs or configs[0].name != FLOOR:
        print("the raw ASGI floor cannot run (hypercorn and trio needed)", file=sys.stderr)
        return 1
    server_pin, load_pin = pinning()
    placement = (
        f"server on CPU {server_pin[-1]}, load generator on CPU {load_pin[-1]}"
        if server_pin
        else "not pinned (taskset or a second CPU missing)"
    )
    print(f"{len(configs)} configurations x {args.rounds} rounds; {placement}", flush=True)

    env = environment(pinned=bool(server_pin))
    cases = [Case(c.name, f": {c.label}", c.name, partial(run_once, c, args)) for c in configs]
    started = time.monotonic()
    rounds, failures = run_rounds(args.rounds, cases, out / "logs")
    env["duration_s"] = round(time.monotonic() - started, 1)
    env["load_average_end"] = os.getloadavg()

    params = {k: getattr(args, k) for k in ("rounds", *(option.name for option in OPTIONS))}
    summary = summarize(configs, rounds, failures, skipped, FLOOR)
    summary["reference_ratios"] = reference_ratios(summary)
    write_json(out / "results.json", env, params, summary)
    table = write_markdown(out / "results.md", env, params, summary)
    write_chart(out / "bench.png", summary)
    print()
    print(table)
    print("\n".join(ratio_lines(summary)))
    print(f"wrote {out}/results.md, results.json, bench.png in {env['duration_s']:.0f} s")
    return 1 if any(failures.values()) else 0
