"""The native engine's shared timer (``wsactors.transport.native.timers.Deadlines``).

One task keeps the deadlines of every connection; these tests drive it with
fake connections on Trio's autojump clock, so each deadline is exact.
"""

from __future__ import annotations

import logging
import math

import pytest
import trio
import trio.testing

from helpers import DEADLINE
from wsactors.transport.native.timers import Action, Deadlines, Entry

# Virtual seconds (autojump_clock): a test here sleeps 26 of them, more than DEADLINE.
TIMERS_DEADLINE = 3 * DEADLINE


class Owner:
    """A connection as the timer sees it: records when it was called."""

    def __init__(self, name: str, calls: list[tuple[str, float]]) -> None:
        self.name = name
        self.calls = calls
        self._timer_entry: Entry | None = None
        self._timer_scope: trio.CancelScope | None = None
        self.then: Action | None = None  # what the next call returns

    def on_deadline(self, now: float) -> Action | None:
        self.calls.append((self.name, now))
        action, self.then = self.then, None
        return action


async def test_each_owner_is_called_at_its_deadline_in_order(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls: list[tuple[str, float]] = []
    deadlines = Deadlines()
    a, b, c = Owner("a", calls), Owner("b", calls), Owner("c", calls)
    start = trio.current_time()
    with trio.fail_after(TIMERS_DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(deadlines.run)
            await trio.lowlevel.checkpoint()
            deadlines.schedule(a, start + 3)
            deadlines.schedule(b, start + 1)
            deadlines.schedule(c, start + 2)
            await trio.sleep(5)
            nursery.cancel_scope.cancel()
    assert [(name, when - start) for name, when in calls] == [("b", 1), ("c", 2), ("a", 3)]
    assert Deadlines.due(a) == math.inf  # called: no deadline left


async def test_an_earlier_deadline_wakes_the_sleeping_timer_and_replaces_the_old_one(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls: list[tuple[str, float]] = []
    deadlines = Deadlines()
    owner = Owner("a", calls)
    start = trio.current_time()
    with trio.fail_after(TIMERS_DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(deadlines.run)
            deadlines.schedule(owner, start + 20)
            await trio.sleep(1)  # the timer sleeps until start + 20
            deadlines.schedule(owner, start + 2)
            assert Deadlines.due(owner) == start + 2
            await trio.sleep(25)
            nursery.cancel_scope.cancel()
    # Once, at the new deadline: the replaced entry no longer calls it.
    assert [when - start for _, when in calls] == [2]


async def test_a_cancelled_owner_is_not_called_and_its_action_is_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    calls: list[tuple[str, float]] = []
    ended: list[str] = []
    deadlines = Deadlines()
    idle, busy = Owner("idle", calls), Owner("busy", calls)

    async def write_forever() -> None:
        try:
            await trio.sleep_forever()
        finally:
            ended.append("action")

    busy.then = write_forever
    start = trio.current_time()
    with trio.fail_after(TIMERS_DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(deadlines.run)
            deadlines.schedule(idle, start + 5)
            deadlines.schedule(busy, start + 1)
            await trio.sleep(2)
            assert busy._timer_scope is not None  # its action runs as a task
            deadlines.cancel(idle)
            deadlines.cancel(busy)
            await trio.sleep(10)
            nursery.cancel_scope.cancel()
    assert [name for name, _ in calls] == ["busy"]
    assert ended == ["action"]
    assert busy._timer_scope is None


async def test_a_failing_action_is_logged_and_the_timer_goes_on(
    autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[tuple[str, float]] = []
    deadlines = Deadlines()
    broken, fine = Owner("broken", calls), Owner("fine", calls)

    async def fail() -> None:
        await trio.lowlevel.checkpoint()
        raise RuntimeError("kaboom")

    async def drop() -> None:
        await trio.lowlevel.checkpoint()
        raise trio.BrokenResourceError("gone")

    broken.then = fail
    fine.then = drop
    start = trio.current_time()
    with caplog.at_level(logging.DEBUG, logger="wsactors.engine"), trio.fail_after(TIMERS_DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(deadlines.run)
            deadlines.schedule(broken, start + 1)
            deadlines.schedule(fine, start + 2)
            await trio.sleep(3)
            deadlines.schedule(fine, start + 4)  # the timer still runs
            await trio.sleep(3)
            nursery.cancel_scope.cancel()
    assert [(name, when - start) for name, when in calls] == [
        ("broken", 1),
        ("fine", 2),
        ("fine", 4),
    ]
    assert "error in a connection's timer" in caplog.text
    assert "connection dropped by its timer" in caplog.text
