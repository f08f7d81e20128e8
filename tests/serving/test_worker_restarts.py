"""The restart policy of the native engine's workers (``--workers N``), without processes.

The processes themselves (a worker killed, then replaced) are tested end to end in
``tests/cli/test_cli_workers.py``; here, the delays and the bound, exactly.
"""

from __future__ import annotations

from wsactors.server.workers import (
    MAX_RAPID_FAILURES,
    RESTART_DELAY,
    STABLE_AFTER,
    RestartBackoff,
)


def test_a_worker_that_served_a_while_is_restarted_after_the_base_delay() -> None:
    backoff = RestartBackoff()
    assert backoff.after_exit(STABLE_AFTER, served=True) == RESTART_DELAY == 0.5
    assert backoff.after_exit(3600.0, served=True) == RESTART_DELAY


def test_rapid_failures_double_the_delay_then_give_up() -> None:
    backoff = RestartBackoff()
    delays = [backoff.after_exit(1.0, served=True) for _ in range(MAX_RAPID_FAILURES)]
    assert delays == [1.0, 2.0, 4.0, 8.0, None]


def test_a_worker_that_never_served_failed_rapidly_however_long_it_ran() -> None:
    backoff = RestartBackoff()
    assert backoff.after_exit(10 * STABLE_AFTER, served=False) == 2 * RESTART_DELAY


def test_a_worker_that_ran_a_while_starts_the_count_again() -> None:
    backoff = RestartBackoff()
    for _ in range(MAX_RAPID_FAILURES - 1):
        backoff.after_exit(0.1, served=False)
    assert backoff.after_exit(STABLE_AFTER + 1, served=True) == RESTART_DELAY
    assert backoff.after_exit(0.1, served=True) == 2 * RESTART_DELAY
