"""Reliability probes: bounded measurements of the native engine's promises (issue 19).

Each probe is a module here with a ``main()`` returning its exit code (0: goal
met); it prints one figure line and writes ``artifacts/reliability/<name>.json``.
``python -m benchmarks.reliability`` (``nox -s reliability``) runs every one of
them, each in its own process with a time bound, and fails at the end if any
missed its goal. A new probe is a new module: modules whose names start with
``_`` are helpers, every other one is run.
"""
