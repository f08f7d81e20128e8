"""The server-wide budget for unfinished incoming messages, on Trio's autojump clock."""

from __future__ import annotations

import trio
import trio.testing

from helpers import DEADLINE
from wsactors.transport.native.budget import LOOK_EVERY, IncomingBudget


async def test_a_wait_ends_when_memory_frees_below_the_limit(
    autojump_clock: trio.testing.MockClock,
) -> None:
    budget = IncomingBudget(100, timeout=10.0)
    budget.adjust(150)
    assert budget.over
    results: list[tuple[bool, float]] = []
    start = trio.current_time()

    async def paused() -> None:
        results.append((await budget.wait(), trio.current_time() - start))

    with trio.fail_after(DEADLINE):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(paused)
            nursery.start_soon(paused)
            await trio.sleep(2)
            assert budget.paused == 2
            budget.adjust(-30)  # still over: nobody resumes
            await trio.sleep(1)
            assert budget.paused == 2
            budget.adjust(-40)
    assert results == [(True, 3.0), (True, 3.0)]
    assert budget.paused == 0
    assert budget.used == 80


async def test_a_wait_that_outlasts_the_timeout_says_so(
    autojump_clock: trio.testing.MockClock,
) -> None:
    budget = IncomingBudget(100, timeout=4.0)
    budget.adjust(100)
    start = trio.current_time()
    with trio.fail_after(DEADLINE):
        assert not await budget.wait()
    assert trio.current_time() - start == 4.0
    assert budget.paused == 0


async def test_a_wait_looks_whether_the_connection_ended_every_second(
    autojump_clock: trio.testing.MockClock,
) -> None:
    budget = IncomingBudget(100, timeout=10.0)
    budget.adjust(100)
    looks: list[float] = []
    start = trio.current_time()

    def ended() -> bool:
        looks.append(trio.current_time() - start)
        return len(looks) == 3

    with trio.fail_after(DEADLINE):
        assert await budget.wait(ended)  # ended: the caller reads (the end)
    assert looks == [LOOK_EVERY, 2 * LOOK_EVERY, 3 * LOOK_EVERY]
    assert budget.paused == 0
    # A connection that does not end waits out the timeout, as without looking.
    budget.timeout = 4.0
    start = trio.current_time()
    with trio.fail_after(DEADLINE):
        assert not await budget.wait(lambda: False)
    assert trio.current_time() - start == 4.0
