"""One subscription: a bounded backlog with an overflow policy, read by one consumer.

The dispatcher calls :meth:`Subscription.offer`, which never blocks: a slow
consumer costs at most ``max_backlog`` messages of memory and never slows the
publisher or the other subscribers. The messages wait in a
:class:`~wsactors.channels.backlog.Backlog`, which applies the overflow policy
and puts every loss as a :class:`Gap` where the lost messages were.
"""

from __future__ import annotations

from typing import Never

import trio

from .backlog import Backlog
from .items import (
    ChannelCounters,
    Gap,
    GapReason,
    Message,
    Overflow,
    SubscriptionStatistics,
    id_key,
)

__all__ = ["Subscription"]

Item = Message | Gap


class Subscription:
    """A live subscription; ``async for item in sub`` yields Messages and Gaps.

    Made by :meth:`Channels.subscribe`, never directly. Iteration ends when the
    subscription is closed: the ``async with`` block left, or the ``"close"``
    overflow policy fired (then the last item is that Gap).
    """

    def __init__(
        self,
        topics: tuple[str, ...],
        *,
        max_backlog: int,
        overflow: Overflow,
        owner: object,
        counters: ChannelCounters,
    ) -> None:
        self.topics = topics
        self.max_backlog = max_backlog
        self.overflow = overflow
        #: Publishing with ``exclude=owner`` skips this subscription.
        self.owner = owner
        #: ``owner_key(owner)``, set by the hub when it registers the subscription.
        self.exclude_key = ""
        self._counters = counters
        self._backlog: Backlog[Never] = Backlog(max_backlog, overflow, counters)
        self._last_ids: dict[str, tuple[int, int]] = {}
        self._wakeup = trio.Event()
        self._stats = SubscriptionStatistics()
        self.closed = False
        #: Why it closed by itself ("overflow"), or None.
        self.close_reason: str | None = None

    # ------------------------------------------------------------ dispatcher side
    def offer(self, message: Message) -> None:
        """Queue ``message``, applying the overflow policy; never blocks.

        Messages whose id is not newer than the last one queued for the topic are
        duplicates (a history replay met the live stream) and are skipped.
        """
        if self.closed:
            return
        if message.id is not None:
            key = id_key(message.id)
            last = self._last_ids.get(message.topic)
            if last is not None and key <= last:
                return
            self._last_ids[message.topic] = key
        if not self._backlog.push(message):
            # The "close" policy: what is queued is still delivered, then its Gap,
            # then the end.
            self.closed = True
            self.close_reason = "overflow"
        self._wakeup.set()

    def gap(self, topic: str, reason: GapReason, count: int | None = None) -> None:
        """Record a loss the backend detected (a reconnect, a trimmed history)."""
        if not self.closed:
            self._backlog.add_gap(Gap(topic, reason, count))
            self._wakeup.set()

    def replay(self, topic: str, history: list[Message]) -> None:
        """Put ``history`` (oldest first) before everything queued live for ``topic``.

        The live subscription was registered before the history was read, so live
        messages already queued that are also in ``history`` are dropped by id.
        """
        if not history or self.closed:
            return
        newest = self._backlog.replay(topic, history)
        last = self._last_ids.get(topic)
        if last is None or newest > last:
            self._last_ids[topic] = newest
        self._wakeup.set()

    def close(self) -> None:
        """End the iteration once the queued items are consumed."""
        self.closed = True
        self._wakeup.set()

    # ------------------------------------------------------------ consumer side
    def statistics(self) -> SubscriptionStatistics:
        """Counts of this subscription (a copy)."""
        stats, backlog = self._stats, self._backlog
        return SubscriptionStatistics(
            stats.delivered, backlog.dropped, stats.gaps, backlog.messages
        )

    def get_nowait(self) -> Item | None:
        """The next item if one is queued, else None."""
        if not self._backlog.items:
            return None
        item = self._backlog.popleft()
        if isinstance(item, Message):
            self._stats.delivered += 1
            self._counters.delivered += 1
        else:
            self._stats.gaps += 1
            gaps = self._counters.gaps
            gaps[item.reason] = gaps.get(item.reason, 0) + 1
        return item

    async def get(self) -> Item:
        """The next item, waiting for one.

        Raises:
            StopAsyncIteration: the subscription is closed and nothing is queued.

        Cancellation:
            Safe: an item is only taken when it is returned.
        """
        await trio.lowlevel.checkpoint_if_cancelled()
        while True:
            item = self.get_nowait()
            if item is not None:
                return item
            if self.closed:
                raise StopAsyncIteration
            self._wakeup = trio.Event()
            await self._wakeup.wait()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Item:
        return await self.get()
