"""Load benchmarks and microbenchmarks for wsactors (``nox -s bench``).

- :mod:`benchmarks.harness` starts every server configuration in its own process
  (pinned to CPU 0), drives it from :mod:`benchmarks.loadgen` (pinned to CPU 1) in
  interleaved rounds, and writes a Markdown table, a JSON file and a PNG chart to
  ``artifacts/bench/`` (:mod:`benchmarks.report`).
- :mod:`benchmarks.fanout` does the same for the fan-out (S subscribers in one room,
  driven from :mod:`benchmarks.fanoutload`); both run their rounds with
  :mod:`benchmarks.rounds`.
- :mod:`benchmarks.servers` holds one small server per configuration, all speaking
  the same two routes: ``/echo`` and ``/push?n=N&size=S``.
- ``benchmarks/micro/`` holds pytest-benchmark microbenchmarks of the sans-I/O parts.
- ``benchmarks/tests/`` holds the tests of these tools; the default pytest run
  (``testpaths``) includes them.

``docs/performance.md`` explains the method and the figures.
"""
