"""pytest-benchmark microbenchmarks of the sans-I/O parts (run by ``nox -s bench``).

Not collected by the test suite (``testpaths = ["tests"]``); run them alone with
``pytest benchmarks/micro --benchmark-only`` in an environment that has the ``bench``
dependency group.
"""
