"""Turn the rounds into medians and ratios, and write them as JSON, Markdown and PNG."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, Protocol

__all__ = [
    "METRICS",
    "Metric",
    "environment",
    "markdown_table",
    "ratio_lines",
    "reference_ratios",
    "saturation_table",
    "spread",
    "summarize",
    "without_nan",
    "write_chart",
    "write_json",
    "write_markdown",
]


class Labelled(Protocol):
    """A configuration as far as the report is concerned."""

    @property
    def name(self) -> str: ...

    @property
    def label(self) -> str: ...


@dataclass(frozen=True)
class Metric:
    """One reported figure: where it is in a round's result and how to show it."""

    key: str
    title: str
    unit: str
    phase: str
    field: str
    better: Literal["higher", "lower"]
    scale: float = 1.0

    def value(self, result: Mapping[str, Any]) -> float:
        """This metric's value in one round's result (in the shown unit)."""
        return float(result[self.phase][self.field]) * self.scale


METRICS = (
    Metric("echo_rps", "echo, 50 conn.", "round trips/s", "echo50", "round_trips_per_s", "higher"),
    Metric("echo_p50", "echo p50, 50 conn.", "ms", "echo50", "p50_us", "lower", 1e-3),
    Metric("echo_p99", "echo p99, 50 conn.", "ms", "echo50", "p99_us", "lower", 1e-3),
    Metric("echo1_p50", "echo p50, 1 conn.", "µs", "echo1", "p50_us", "lower"),
    Metric("push_mps", "push", "messages/s", "push", "messages_per_s", "higher"),
    Metric(
        "echo_cpu",
        "server CPU per echo",
        "µs/round trip",
        "echo50",
        "server_cpu_us_per_msg",
        "lower",
    ),
    Metric(
        "push_cpu", "server CPU per push", "µs/message", "push", "server_cpu_us_per_msg", "lower"
    ),
    Metric(
        "idle_rss",
        "server RSS per idle conn.",
        "KiB",
        "idle",
        "rss_bytes_per_conn",
        "lower",
        1 / 1024,
    ),
    Metric(
        "idle_handshake_p99",
        "new handshake p99, idle conns. held",
        "ms",
        "idle",
        "handshake_p99_ms",
        "lower",
    ),
)


def _version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return done.stdout.strip() or None


def environment(*, pinned: bool) -> dict[str, Any]:
    """What the figures depend on: machine, load, versions."""
    packages = (
        "wsactors", "hypercorn", "trio", "wsproto", "websockets", "trio-websocket",
        "litestar", "uvicorn", "uvloop", "httptools", "aiohttp",
    )  # fmt: skip
    return {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "git": _git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "pinned": pinned,
        "load_average_start": os.getloadavg(),
        "versions": {name: _version(name) for name in packages},
    }


def spread(values: Sequence[float]) -> dict[str, Any]:
    """A figure over rounds: the ``median``, ``min`` and ``max`` of ``values`` but
    their NaNs (a round without the figure; NaN when there is none), and the
    ``values`` themselves."""
    usable = [value for value in values if not math.isnan(value)]
    return {
        "median": statistics.median(usable) if usable else math.nan,
        "min": min(usable, default=math.nan),
        "max": max(usable, default=math.nan),
        "values": list(values),
    }


def summarize(
    configs: Sequence[Labelled],
    rounds: Mapping[str, Sequence[Mapping[str, Any]]],
    failures: Mapping[str, Sequence[str]],
    skipped: Mapping[str, str],
    floor: str,
) -> dict[str, Any]:
    """Median, spread and ratio to the floor's median of every metric of every config."""
    medians: dict[str, dict[str, float]] = {}
    entries: list[dict[str, Any]] = []
    for config in configs:
        results = rounds[config.name]
        metrics: dict[str, Any] = {}
        for metric in METRICS:
            figures = spread([metric.value(r) for r in results])
            medians.setdefault(config.name, {})[metric.key] = figures["median"]
            metrics[metric.key] = figures
        entries.append(
            {
                "name": config.name,
                "label": config.label,
                "rounds": len(results),
                "failures": list(failures.get(config.name, ())),
                "metrics": metrics,
                "raw": list(results),
            }
        )
    base = medians.get(floor, {})
    for entry in entries:
        for key, figures in entry["metrics"].items():
            reference = base.get(key, math.nan)
            usable = reference and not math.isnan(reference)
            figures["ratio"] = figures["median"] / reference if usable else math.nan
    return {
        "floor": floor,
        "metrics": [dataclasses.asdict(metric) for metric in METRICS],
        "configurations": entries,
        "skipped": dict(skipped),
    }


#: Issue 19's comparison: the native engine's ``@websocket`` against Litestar as its
#: users deploy it. Target: echo CPU at most 1.35x; push no worse than before.
RATIOS = (
    ("echo_cpu", "wsactors-native", "litestar-uvicorn", 1.35),
    ("push_cpu", "wsactors-native", "litestar-uvicorn", None),
)


def reference_ratios(summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Server CPU of one configuration over another's, of the medians and per round.

    Only the pairs of :data:`RATIOS` that both ran.
    """
    entries = {entry["name"]: entry for entry in summary["configurations"]}
    ratios = []
    for key, name, reference, target in RATIOS:
        if name not in entries or reference not in entries:
            continue
        mine = entries[name]["metrics"][key]
        theirs = entries[reference]["metrics"][key]
        per_round = [
            a / b if b else math.nan for a, b in zip(mine["values"], theirs["values"], strict=False)
        ]
        median = theirs["median"]
        ratios.append(
            {
                "metric": key,
                "configuration": name,
                "reference": reference,
                "ratio": mine["median"] / median if median else math.nan,
                "per_round": per_round,
                "target": target,
            }
        )
    return ratios


def ratio_lines(summary: Mapping[str, Any]) -> list[str]:
    """One Markdown list item per :func:`reference_ratios` entry."""
    entries = {entry["name"]: entry for entry in summary["configurations"]}
    titles = {metric.key: metric.title for metric in METRICS}
    lines = []
    for ratio in summary.get("reference_ratios", ()):
        rounds = ", ".join(f"{value:.2f}" for value in ratio["per_round"])
        target = ratio["target"]
        verdict = ""
        if target is not None and not math.isnan(ratio["ratio"]):
            met = "met" if ratio["ratio"] <= target else "missed"
            verdict = f"; target <= {target:.2f}x (issue 19): {met}"
        lines.append(
            f"- {titles[ratio['metric']]}: {entries[ratio['configuration']]['label']} / "
            f"{entries[ratio['reference']]['label']} = **{ratio['ratio']:.2f}x** "
            f"(rounds: {rounds}){verdict}"
        )
    return lines


def without_nan(value: Any) -> Any:
    """``value`` with every NaN in it (in dicts, lists, tuples) as ``None``: JSON has
    no NaN (``null`` in the file)."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: without_nan(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nan(v) for v in value]
    return value


def write_json(path: Path, env: Mapping[str, Any], params: Mapping[str, Any], summary: Any) -> None:
    """Everything, rounds included (NaN written as null)."""
    document = {"environment": env, "parameters": params, **summary}
    path.write_text(json.dumps(without_nan(document), indent=2) + "\n")


def _figure(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def markdown_table(summary: Mapping[str, Any]) -> str:
    """Metrics as rows, configurations as columns; each cell ``median (ratio)``."""
    entries = summary["configurations"]
    header = "| metric | " + " | ".join(e["label"] for e in entries) + " |"
    rule = "| --- | " + " | ".join("---:" for _ in entries) + " |"
    lines = [header, rule]
    for metric in METRICS:
        cells = []
        for entry in entries:
            figures = entry["metrics"][metric.key]
            ratio = figures["ratio"]
            shown = _figure(figures["median"])
            if entry["name"] != summary["floor"] and not math.isnan(ratio):
                shown += f" ({ratio:.2f}x)"
            cells.append(shown)
        arrow = "higher is better" if metric.better == "higher" else "lower is better"
        lines.append(f"| {metric.title}, {metric.unit} ({arrow}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def saturation_table(summary: Mapping[str, Any]) -> str:
    """Who was busy: CPU seconds per wall second of the server and of the load generator.

    A server below about 0.9 in a phase was not the bottleneck there (the client
    was, or other jobs took the CPU), so its rate understates what it can do; its
    CPU per message is still right.
    """
    lines = [
        "| busy (CPU s per s) | echo, server | echo, client | push, server | push, client |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for entry in summary["configurations"]:
        cells = []
        for phase in ("echo50", "push"):
            for side in ("server_busy", "client_busy"):
                values = [r[phase][side] for r in entry["raw"] if side in r[phase]]
                cells.append(f"{statistics.median(values):.2f}" if values else "n/a")
        lines.append(f"| {entry['label']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_markdown(
    path: Path, env: Mapping[str, Any], params: Mapping[str, Any], summary: Mapping[str, Any]
) -> str:
    """The table with the conditions it was measured in; returns the table alone."""
    table = markdown_table(summary)
    ratios = ratio_lines(summary)
    notes = [
        f"Medians of {params['rounds']} interleaved rounds; in parentheses the ratio to the "
        f"raw ASGI floor of the same run.",
        "",
        table,
        "",
        saturation_table(summary),
        "",
        *ratios,
        *([""] if ratios else []),
        f"- {env['date']}, git {env['git']}, Python {env['python']}, {env['cpu']}, "
        f"{env['cpus']} CPUs, server {'pinned to one CPU' if env['pinned'] else 'not pinned'}; "
        f"load average {env['load_average_start'][0]:.2f} at start.",
        f"- Echo: {params['connections']} (then 1) closed-loop connections, "
        f"{params['size']}-byte text messages, {params['warmup']:g} s warm-up, "
        f"{params['duration']:g} s measured. Push: {params['push_count']:,} messages of "
        f"{params['size']} bytes on one connection. Idle: {params['idle']:,} connections.",
    ]
    for entry in summary["configurations"]:
        for failure in entry["failures"]:
            notes.append(f"- {entry['label']} failed {failure}")
    for name, reason in summary["skipped"].items():
        notes.append(f"- {name} skipped: {reason}")
    path.write_text("\n".join(notes) + "\n")
    return table


def _colour(name: str, floor: str) -> str:
    if name == floor:
        return "#7f7f7f"
    if name.startswith("wsactors"):
        return "#1f77b4"
    return "#ff7f0e"


def write_chart(path: Path, summary: Mapping[str, Any]) -> None:
    """One horizontal bar panel per metric; whiskers span the rounds' min to max."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    entries = list(summary["configurations"])
    labels = [e["label"] for e in entries]
    colours = [_colour(e["name"], summary["floor"]) for e in entries]
    columns = 2
    rows = math.ceil(len(METRICS) / columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(13, 2.0 + rows * (0.45 * len(entries) + 0.9)), squeeze=False
    )
    for index, metric in enumerate(METRICS):
        ax = axes[index // columns][index % columns]
        medians = [e["metrics"][metric.key]["median"] for e in entries]
        lows = [m - e["metrics"][metric.key]["min"] for m, e in zip(medians, entries, strict=True)]
        highs = [e["metrics"][metric.key]["max"] - m for m, e in zip(medians, entries, strict=True)]
        positions = list(range(len(entries)))
        ax.barh(positions, medians, color=colours, xerr=[lows, highs], capsize=3)
        ax.set_yticks(positions, labels if index % columns == 0 else [""] * len(entries))
        ax.invert_yaxis()
        arrow = "higher is better" if metric.better == "higher" else "lower is better"
        ax.set_title(f"{metric.title} ({metric.unit}), {arrow}", fontsize=10)
        ax.tick_params(axis="both", labelsize=8)
        for position, entry, value in zip(positions, entries, medians, strict=True):
            if math.isnan(value):
                continue
            figures = entry["metrics"][metric.key]
            text = _figure(value)
            if entry["name"] != summary["floor"] and not math.isnan(figures["ratio"]):
                text += f"  ({figures['ratio']:.2f}x)"
            # Past the whisker, so the label never sits on it.
            end = figures["max"] if not math.isnan(figures["max"]) else value
            ax.annotate(
                text,
                (max(value, end), position),
                xytext=(5, 0),
                textcoords="offset points",
                va="center",
                fontsize=8,
            )
        ax.margins(x=0.35)
    for index in range(len(METRICS), rows * columns):
        axes[index // columns][index % columns].axis("off")
    fig.suptitle(
        "wsactors benchmarks: medians over rounds (whiskers: min to max), "
        "ratio to the raw ASGI floor in parentheses",
        fontsize=11,
    )
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=110)
    plt.close(fig)
