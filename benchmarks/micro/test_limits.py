"""``TokenBucket.allow``: called by the receiver for every message when rate-limited."""

from __future__ import annotations

from pytest_benchmark.fixture import BenchmarkFixture

from wsactors.connection.limits import TokenBucket


def test_token_bucket_allow(benchmark: BenchmarkFixture) -> None:
    bucket = TokenBucket(100, 1.0, now=0.0)
    clock = iter(i * 0.001 for i in range(100_000_000))  # 1000 msg/s against 100/s: mixed

    def allow() -> bool:
        return bucket.allow(next(clock))

    benchmark(allow)
