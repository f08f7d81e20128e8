"""Channels fan-out: ``python -m benchmarks.channels`` (part of ``nox -s bench``).

1. Throughput in one process: 1,000 messages to 1,000 subscribers (1,000,000
   deliveries) with the memory backend, then with Redis (one pub/sub connection
   for the process, fanned out locally): deliveries per second, and Redis as a
   ratio to memory.
2. Latency across two processes through Redis: this process publishes at a
   steady pace, a subscriber process records publish-to-receive times: one
   subscriber (1,000 messages, 1 ms apart) and 1,000 subscribers (200 messages,
   10 ms apart: 100,000 deliveries/s, within one process's capacity; faster, the
   backlogs grow and the latency measures the queueing instead).

Redis parts need ``redis-server`` on PATH and coredis; without them they are
reported as skipped. Results go to ``artifacts/bench/channels.json`` and stdout.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import trio

from wsactors import Channels

OUT = Path(__file__).resolve().parent.parent / "artifacts" / "bench" / "channels.json"


async def fan_out(channels: Channels, subscribers: int, messages: int) -> float:
    """Deliveries per second of ``messages`` to ``subscribers`` (every one consumed)."""
    done = trio.Event()
    remaining = subscribers

    async def consume(task_status: trio.TaskStatus[None]) -> None:
        nonlocal remaining
        async with channels.subscribe("bench", max_backlog=messages) as sub:
            task_status.started()
            for _ in range(messages):
                await sub.get()
        remaining -= 1
        if remaining == 0:
            done.set()

    async with channels, trio.open_nursery() as nursery:
        for _ in range(subscribers):
            await nursery.start(consume)
        start = time.perf_counter()
        for n in range(messages):
            await channels.publish("bench", n)
        await done.wait()
        elapsed = time.perf_counter() - start
        assert channels.statistics().dropped == 0
    return subscribers * messages / elapsed


async def subscriber_process(url: str, subscribers: int, messages: int) -> None:
    """Run in the second process: print the latencies (ms) of every delivery as JSON."""
    from wsactors.channels import RedisBackend

    channels = Channels(RedisBackend(url), max_backlog=messages)
    latencies: list[float] = []

    async def consume(task_status: trio.TaskStatus[None]) -> None:
        async with channels.subscribe("latency") as sub:
            task_status.started()
            for _ in range(messages):
                item = await sub.get()
                latencies.append((time.time() - item.data) * 1000)  # type: ignore[union-attr]

    async with channels, trio.open_nursery() as nursery:
        for _ in range(subscribers):
            await nursery.start(consume)
        print("ready", flush=True)
    print(json.dumps(latencies), flush=True)


async def latency(url: str, subscribers: int, messages: int, pace: float) -> dict[str, float]:
    """p50/p99 publish-to-receive latency (ms) through Redis across two processes."""
    from wsactors.channels import RedisBackend

    command = [sys.executable, "-m", "benchmarks.channels", "--subscriber", url]
    command += [str(subscribers), str(messages)]
    # Blocking process calls are fine here: nothing else runs in this loop meanwhile.
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: ASYNC220
    assert process.stdout is not None
    try:
        assert process.stdout.readline().strip() == "ready"
        async with Channels(RedisBackend(url)) as channels:
            for _ in range(messages):
                await channels.publish("latency", time.time())
                await trio.sleep(pace)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    values = sorted(json.loads(out))
    return {
        "p50_ms": statistics.median(values),
        "p99_ms": values[int(len(values) * 0.99) - 1],
        "deliveries": len(values),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run(messages: int, subscribers: int) -> dict[str, Any]:
    results: dict[str, Any] = {"messages": messages, "subscribers": subscribers}
    results["memory_deliveries_per_s"] = await fan_out(Channels(), subscribers, messages)
    binary = shutil.which("redis-server")
    try:
        from wsactors.channels import RedisBackend
    except ImportError:
        binary = None
    if binary is None:
        results["redis"] = "skipped: redis-server or coredis missing"
        return results
    port = _free_port()
    server = subprocess.Popen(  # noqa: ASYNC220 (fork and exec, returns at once)
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}"
    try:
        await trio.sleep(0.3)
        redis_rate = await fan_out(Channels(RedisBackend(url)), subscribers, messages)
        results["redis_deliveries_per_s"] = redis_rate
        results["redis_ratio_to_memory"] = redis_rate / results["memory_deliveries_per_s"]
        results["two_processes_1_subscriber"] = await latency(url, 1, messages, 0.001)
        results["two_processes_1000_subscribers"] = await latency(url, subscribers, 200, 0.01)
    finally:
        server.kill()
        server.wait()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.channels")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--subscriber", nargs=3, metavar=("URL", "N", "COUNT"), help="internal")
    args = parser.parse_args(argv)
    if args.subscriber:
        url, count, total = args.subscriber
        trio.run(subscriber_process, url, int(count), int(total))
        return 0
    results = trio.run(run, args.messages, args.subscribers)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
