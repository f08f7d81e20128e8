"""Fan-out: one server, S subscribers in one room, one publisher at a fixed pace.

``python -m benchmarks.fanout`` (part of ``nox -s bench``; ``--quick`` for one short
round). For each round, each room size S and each server (A B C A B C ...), a fresh
server process is started (pinned to CPU 0), :mod:`benchmarks.fanoutload` runs on
CPU 1 with S subscribers and the publisher, and the server is terminated. Each
server serves the same three routes (``/room``, ``/idle``, ``/publish``, see
:mod:`benchmarks.servers.fanout_wsactors`): the publisher sends its messages over a
WebSocket connection to ``/publish``, on every server alike.

Two paces per size, given as offered deliveries per second so both sizes are loaded
alike: ``--paced`` (default 20,000/s: 20 messages/s to 1,000 subscribers, 2/s to
10,000) and ``--throughput`` (default 100,000/s, beyond what some servers deliver).

Reported per server and size (medians over rounds): server CPU per delivery,
deliveries per second, publish-to-deliver p50/p99, undelivered messages,
and server RSS per subscribed idle connection against an unsubscribed one.
Output: ``fanout.md`` and ``fanout.json`` in ``--out`` (default ``artifacts/bench/``),
the servers' logs in ``logs/``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import IO, Any

from .fanoutload import OPTIONS
from .procstat import raise_nofile_limit
from .report import environment, spread, without_nan
from .rounds import Case, Configuration, choose, forward, parse, parser, run_client, run_rounds
from .serverproc import pinning

__all__ = ["CONFIGURATIONS", "figures_of", "main", "markdown", "summarize", "targets"]

CONFIGURATIONS = (
    Configuration(
        "wsactors-native",
        "wsactors Channels, native engine",
        "benchmarks.servers.fanout_wsactors_native",
        ("wsactors", "websockets"),
    ),
    Configuration(
        "wsactors-hypercorn",
        "wsactors Channels, hypercorn-trio",
        "benchmarks.servers.fanout_wsactors",
        ("wsactors", "hypercorn"),
    ),
    Configuration(
        "websockets",
        "websockets broadcast(), asyncio",
        "benchmarks.servers.fanout_websockets",
        ("websockets",),
    ),
    Configuration(
        "litestar",
        "Litestar Channels, uvicorn[standard]",
        "benchmarks.servers.fanout_litestar",
        ("litestar", "uvicorn", "uvloop", "httptools"),
    ),
)

PHASES = ("paced", "throughput")

#: A phase's figures: (field in the phase's result, column title, format).
PHASE_FIGURES = (
    ("server_cpu_us_per_delivery", "server CPU µs/delivery", "{:.1f}"),
    ("deliveries_per_s", "deliveries/s", "{:,.0f}"),
    ("p50_ms", "p50 ms", "{:,.1f}"),
    ("p99_ms", "p99 ms", "{:,.1f}"),
    ("undelivered", "undelivered", "{:,.0f}"),
    ("gaps", "Gap notices", "{:,.0f}"),
    ("server_busy", "server busy", "{:.2f}"),
    ("client_busy", "client busy", "{:.2f}"),
)

#: The memory phase's figures: (field, column title, scale, format).
MEMORY_FIGURES = (
    ("subscribed_bytes_per_conn", "subscribed KiB/conn", 1 / 1024, "{:.1f}"),
    ("unsubscribed_bytes_per_conn", "unsubscribed KiB/conn", 1 / 1024, "{:.1f}"),
    ("subscribed_ratio", "subscribed / unsubscribed", 1.0, "{:.2f}"),
)


def figures_of(result: Mapping[str, Any]) -> dict[str, float]:
    """One round's figures, flat: ``paced.p99_ms``, ``memory.subscribed_ratio``..."""
    flat = {}
    for phase in PHASES:
        for field, _, _ in PHASE_FIGURES:
            flat[f"{phase}.{field}"] = _number(result[phase][field])
    for field, _, scale, _ in MEMORY_FIGURES:
        flat[f"memory.{field}"] = _number(result["memory"][field]) * scale
    return flat


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def run_once(
    config: Configuration, subscribers: int, args: argparse.Namespace, log: IO[bytes]
) -> dict[str, Any]:
    """Start ``config``'s server, run the fan-out client against it, stop the server."""
    options = [f"--subscribers={subscribers}", *forward(args, OPTIONS)]
    return run_client(config, "benchmarks.fanoutload", options, log, timeout=600)


def summarize(
    configs: Sequence[Configuration],
    sizes: Sequence[int],
    rounds: Mapping[tuple[str, int], Sequence[Mapping[str, Any]]],
) -> list[dict[str, Any]]:
    """Per size and configuration: every figure's median, min, max and values."""
    rows = []
    for size in sizes:
        for config in configs:
            flats = [figures_of(result) for result in rounds.get((config.name, size), [])]
            keys = flats[0].keys() if flats else figures_of_keys()
            figures = {key: spread([flat[key] for flat in flats]) for key in keys}
            rows.append(
                {
                    "name": config.name,
                    "label": config.label,
                    "subscribers": size,
                    "rounds": len(flats),
                    "figures": figures,
                }
            )
    return rows


def figures_of_keys() -> list[str]:
    """Every key :func:`figures_of` returns, in order."""
    keys = [f"{phase}.{field}" for phase in PHASES for field, _, _ in PHASE_FIGURES]
    return keys + [f"memory.{field}" for field, _, _, _ in MEMORY_FIGURES]


def _cell(row: Mapping[str, Any], key: str, shape: str) -> str:
    value = row["figures"][key]["median"]
    return "n/a" if math.isnan(value) else shape.format(value)


def markdown(rows: Sequence[Mapping[str, Any]], sizes: Sequence[int], paced: float) -> str:
    """Per room size: a table of the two phases and one of memory (medians)."""
    parts = []
    for size in sizes:
        mine = [row for row in rows if row["subscribers"] == size]
        rates = {"paced": paced / size, "throughput": None}
        parts.append(f"**{size:,} subscribers**\n")
        parts.append("| server | phase | " + " | ".join(t for _, t, _ in PHASE_FIGURES) + " |")
        parts.append("| --- | --- | " + " | ".join("---:" for _ in PHASE_FIGURES) + " |")
        for row in mine:
            for phase in PHASES:
                rate = rates[phase]
                name = f"{phase}, {rate:g} msg/s" if rate else phase
                cells = [_cell(row, f"{phase}.{field}", shape) for field, _, shape in PHASE_FIGURES]
                parts.append(f"| {row['label']} | {name} | " + " | ".join(cells) + " |")
        parts.append("")
        parts.append("| server | " + " | ".join(t for _, t, _, _ in MEMORY_FIGURES) + " |")
        parts.append("| --- | " + " | ".join("---:" for _ in MEMORY_FIGURES) + " |")
        for row in mine:
            cells = [_cell(row, f"memory.{field}", shape) for field, _, _, shape in MEMORY_FIGURES]
            parts.append(f"| {row['label']} | " + " | ".join(cells) + " |")
        parts.append("")
    return "\n".join(parts)


def targets(rows: Sequence[Mapping[str, Any]], paced_rate: float) -> list[str]:
    """Issue 20's targets for the native engine, each said met or missed."""
    by = {(row["name"], row["subscribers"]): row["figures"] for row in rows}
    lines = []

    def median(name: str, size: int, key: str) -> float:
        figures = by.get((name, size))
        return float(figures[key]["median"]) if figures else math.nan

    for size in sorted({row["subscribers"] for row in rows}):
        native = median("wsactors-native", size, "paced.server_cpu_us_per_delivery")
        for other, relation in (("websockets", "<="), ("litestar", "<")):
            theirs = median(other, size, "paced.server_cpu_us_per_delivery")
            if math.isnan(native) or math.isnan(theirs):
                continue
            met = native <= theirs if relation == "<=" else native < theirs
            lines.append(
                f"- {size:,} subscribers, paced: native CPU/delivery {native:.1f} µs "
                f"{relation} {other} {theirs:.1f} µs: {'met' if met else 'missed'} "
                f"({native / theirs:.2f}x)"
            )
        ratio = median("wsactors-native", size, "memory.subscribed_ratio")
        if not math.isnan(ratio):
            lines.append(
                f"- {size:,} subscribers: native memory per subscribed connection within "
                f"10 % of an unsubscribed one: {'met' if ratio <= 1.10 else 'missed'} "
                f"({ratio:.2f}x)"
            )
    p99 = median("wsactors-native", 1000, "paced.p99_ms")
    if not math.isnan(p99) and paced_rate == 20_000:
        lines.append(
            f"- 1,000 subscribers at 20 messages/s: native p99 {p99:.1f} ms < 30 ms: "
            f"{'met' if p99 < 30 else 'missed'}"
        )
    return lines


def _subscription_mode() -> str:
    """Which subscription the wsactors servers use (they decide the same way)."""
    try:
        from .servers.fanout_wsactors import SUBSCRIPTION
    except ImportError:
        return "n/a (wsactors missing)"
    return SUBSCRIPTION


def _parse(argv: Sequence[str] | None) -> argparse.Namespace:
    made = parser("python -m benchmarks.fanout", __doc__, quick="1 round, 2 s phases (~4 min)")
    made.add_argument("--sizes", default="1000,10000", help="subscribers per room")
    args = parse(made, argv, CONFIGURATIONS, OPTIONS)
    if args.quick:
        args.rounds, args.duration, args.settle = 1, 2.0, 0.5
    args.sizes = [int(size) for size in args.sizes.split(",") if size]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rounds, then write the tables and the JSON."""
    args = _parse(argv)
    try:
        configs, skipped = choose(CONFIGURATIONS, args.only)
    except LookupError as exc:
        print(exc.args[0], file=sys.stderr)
        return 2
    limit = raise_nofile_limit()  # the children inherit it
    if limit < max(args.sizes) + 300:
        print(f"the fd limit ({limit}) is too low for {max(args.sizes):,} subscribers")
        return 1
    out: Path = args.out
    (out / "logs").mkdir(parents=True, exist_ok=True)
    mode = _subscription_mode()
    server_pin, _ = pinning()
    print(
        f"fan-out: {len(configs)} servers x {len(args.sizes)} sizes x {args.rounds} rounds; "
        f"wsactors subscribers via {mode}; "
        + ("server on one CPU, clients on another" if server_pin else "not pinned"),
        flush=True,
    )
    env = environment(pinned=bool(server_pin))
    cases = [
        Case(
            (config.name, size),
            f", {size:,} subscribers: {config.label}",
            f"fanout-{config.name}-{size}",
            partial(run_once, config, size, args),
        )
        for size in args.sizes
        for config in configs
    ]
    started = time.monotonic()
    rounds, failed = run_rounds(args.rounds, cases, out / "logs")
    failures = [f"{name}, {size}, {why}" for (name, size), whys in failed.items() for why in whys]
    env["duration_s"] = round(time.monotonic() - started, 1)
    env["load_average_end"] = os.getloadavg()
    rows = summarize(configs, args.sizes, rounds)
    params = {
        k: getattr(args, k) for k in ("rounds", "sizes", *(option.name for option in OPTIONS))
    }
    checks = targets(rows, args.paced)
    document = {
        "environment": env,
        "parameters": params,
        "wsactors_subscription": mode,
        "rows": rows,
        "raw": {f"{name}/{size}": done for (name, size), done in rounds.items() if done},
        "targets": checks,
        "failures": failures,
        "skipped": skipped,
    }
    (out / "fanout.json").write_text(json.dumps(without_nan(document), indent=2) + "\n")
    tables = markdown(rows, args.sizes, args.paced)
    notes = [
        f"Fan-out, medians of {args.rounds} interleaved round(s); wsactors subscribers via "
        f"`{mode}`.",
        "",
        tables,
        "Issue 20's targets for the native engine:",
        "",
        *(checks or ["- (not enough figures to check them)"]),
        "",
        f"- {env['date']}, git {env['git']}, Python {env['python']}, {env['cpu']}, "
        f"{env['cpus']} CPUs, server {'pinned to one CPU' if env['pinned'] else 'not pinned'}; "
        f"load average {env['load_average_start'][0]:.2f} at start.",
        f"- paced: {args.paced:,.0f} offered deliveries/s (messages/s = that / subscribers); "
        f"throughput: {args.throughput:,.0f}/s; {args.duration:g} s of publishing each, "
        f"{args.size}-byte JSON messages through `/publish`. Latency: publisher's "
        "`time.monotonic()` stamp to the subscriber's read. `undelivered`: not arrived "
        "when none came for 2 s (dropped: a backlog's overflow; wsactors' backlogs hold "
        "256 messages, Litestar's and websockets' are unbounded) or 10 s after the last "
        "publish (still queued: the server was far behind).",
        "- Memory: server RSS growth per connection, S subscribed (`/room`) then S "
        f"unsubscribed (`/idle`) connections (fewer under this fd limit, {limit:,}: "
        "S + unsubscribed + 200 at most). `busy`: CPU seconds per second (server "
        "below ~0.9: not saturated; client near 1.0: the client may have been the limit).",
        *(f"- failed: {failure}" for failure in failures),
        *(f"- {name} skipped: {reason}" for name, reason in skipped.items()),
    ]
    (out / "fanout.md").write_text("\n".join(notes) + "\n")
    print()
    print("\n".join(notes))
    print(f"wrote {out}/fanout.md, fanout.json in {env['duration_s']:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
