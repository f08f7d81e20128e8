"""One subscription: a bounded backlog with an overflow policy, read by one consumer.

The dispatcher calls :meth:`Subscription.offer`, which never blocks: a slow
consumer costs at most ``max_backlog`` messages of memory and never slows the
publisher or the other subscribers. Every loss becomes a :class:`Gap` placed
where the lost messages were: ``drop_oldest`` at the front of the backlog (the
oldest went), ``drop_newest`` and reconnects at the back. Gaps are coalesced with
a neighbouring Gap of the same topic and reason, so they stay few.
"""

from __future__ import annotations

from collections import deque

import trio

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
        self._items: deque[Item] = deque()
        self._messages = 0  # Messages in _items (Gaps do not count toward the bound)
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
        if self._messages >= self.max_backlog:
            if self.overflow == "drop_newest":
                self._lost(1, message.topic)
                self._add_gap(Gap(message.topic, "overflow", 1), front=False)
                return
            if self.overflow == "close":
                # What is queued is still delivered, then the Gap, then the end.
                self._lost(1, message.topic)
                self._items.append(Gap(message.topic, "overflow", None))
                self.closed = True
                self.close_reason = "overflow"
                self._wakeup.set()
                return
            self._drop_oldest()
        self._items.append(message)
        self._messages += 1
        self._wakeup.set()

    def gap(self, topic: str, reason: GapReason, count: int | None = None) -> None:
        """Record a loss the backend detected (a reconnect, a trimmed history)."""
        if not self.closed:
            self._add_gap(Gap(topic, reason, count), front=False)
            self._wakeup.set()

    def replay(self, topic: str, history: list[Message]) -> None:
        """Put ``history`` (oldest first) before everything queued live for ``topic``.

        The live subscription was registered before the history was read, so live
        messages already queued that are also in ``history`` are dropped by id.
        """
        if not history or self.closed:
            return
        newest = id_key(history[-1].id or "0-0")
        kept: deque[Item] = deque()
        for item in self._items:
            duplicate = (
                isinstance(item, Message)
                and item.topic == topic
                and item.id is not None
                and id_key(item.id) <= newest
            )
            if duplicate:
                self._messages -= 1
            else:
                kept.append(item)
        # Oldest history first, cut to the bound: replay never overflows a backlog.
        room = max(self.max_backlog - self._messages, 0)
        replayed = history[-room:] if room else []
        kept.extendleft(reversed(replayed))
        self._items = kept
        self._messages += len(replayed)
        last = self._last_ids.get(topic)
        if last is None or newest > last:
            self._last_ids[topic] = newest
        self._wakeup.set()

    def close(self) -> None:
        """End the iteration once the queued items are consumed."""
        self.closed = True
        self._wakeup.set()

    def _drop_oldest(self) -> None:
        # The oldest Message goes; Gaps before it stay where they are.
        for index, item in enumerate(self._items):
            if isinstance(item, Message):
                del self._items[index]
                self._messages -= 1
                self._lost(1, item.topic)
                before = self._items[index - 1] if index else None
                if (
                    isinstance(before, Gap)
                    and before.topic == item.topic
                    and before.reason == "overflow"
                    and before.count is not None
                ):
                    before.count += 1
                else:
                    self._items.insert(index, Gap(item.topic, "overflow", 1))
                return

    def _add_gap(self, gap: Gap, *, front: bool) -> None:
        neighbour = (self._items[0] if front else self._items[-1]) if self._items else None
        if isinstance(neighbour, Gap) and (neighbour.topic, neighbour.reason) == (
            gap.topic,
            gap.reason,
        ):
            if neighbour.count is not None and gap.count is not None:
                neighbour.count += gap.count
            else:
                neighbour.count = None
            return
        if front:
            self._items.appendleft(gap)
        else:
            self._items.append(gap)

    def _lost(self, count: int, topic: str) -> None:
        self._stats.dropped += count
        self._counters.dropped += count

    # ------------------------------------------------------------ consumer side
    def statistics(self) -> SubscriptionStatistics:
        """Counts of this subscription (a copy)."""
        stats = self._stats
        return SubscriptionStatistics(stats.delivered, stats.dropped, stats.gaps, self._messages)

    def get_nowait(self) -> Item | None:
        """The next item if one is queued, else None."""
        if not self._items:
            return None
        item = self._items.popleft()
        if isinstance(item, Message):
            self._messages -= 1
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
