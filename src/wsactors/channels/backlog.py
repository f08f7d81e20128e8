"""A subscription's backlog: a bounded queue of Messages and Gaps with an overflow policy.

Both kinds of subscription keep their waiting messages in one:
:class:`~wsactors.channels.subscription.Subscription` (``channels.subscribe``,
read by its consumer) and
:class:`~wsactors.channels.connection.ConnectionSubscription` (``socket.subscribe``,
while the connection's outbox is full). The backlog decides what a full queue
does with one more message and where a loss is told; its owner decides what to
do once the ``"close"`` policy fired and who reads the items.

At most ``max_backlog`` Messages are kept; Gaps do not count toward the bound.
Every loss becomes a :class:`~wsactors.channels.items.Gap` placed where the lost
messages were: ``drop_oldest`` where the oldest Message was, ``drop_newest`` and
the losses a backend reports (:meth:`Backlog.add_gap`) at the back. A Gap is
merged with a neighbouring Gap of the same topic and reason, so Gaps stay few.
Every message an overflow policy loses is counted in :attr:`Backlog.dropped`
and in the Channels' ``counters.dropped``.

Nothing here blocks or awaits: the hub calls it synchronously.
"""

from __future__ import annotations

from collections import deque
from typing import Generic, TypeVar

from .items import ChannelCounters, Gap, Message, Overflow, id_key

__all__ = ["Backlog"]

#: A marker the owner may append after the items (the connection's close), never
#: counted or merged by the backlog.
M = TypeVar("M")


class Backlog(Generic[M]):
    """A bounded deque of Messages and Gaps (and the owner's markers ``M``).

    Args:
        max_backlog: Messages kept at most (at least 1).
        overflow: What a full backlog does with one more message.
        counters: The Channels' totals; ``dropped`` counts the losses.

    Attributes:
        items: What waits, oldest first; the owner reads from the front with
            :meth:`popleft` (it may look at ``items[0]`` first).
        messages: Messages in ``items``.
        dropped: Messages this backlog's overflow policy lost.
    """

    __slots__ = ("counters", "dropped", "items", "max_backlog", "messages", "overflow")

    def __init__(self, max_backlog: int, overflow: Overflow, counters: ChannelCounters) -> None:
        self.max_backlog = max_backlog
        self.overflow = overflow
        self.counters = counters
        self.items: deque[Message | Gap | M] = deque()
        self.messages = 0
        self.dropped = 0

    def push(self, message: Message) -> bool:
        """Queue ``message`` under the overflow policy.

        Returns:
            False when the ``"close"`` policy fired: ``message`` is lost and an
            uncounted Gap (``count=None``) now ends the items, after everything
            kept; the owner takes nothing more. True otherwise.
        """
        if self.messages >= self.max_backlog:
            self._lost()
            if self.overflow == "drop_newest":
                self.add_gap(Gap(message.topic, "overflow", 1))
                return True
            if self.overflow == "close":
                # What is kept still goes out, then the Gap, then the end.
                self.items.append(Gap(message.topic, "overflow", None))
                return False
            self._drop_oldest()
        self.items.append(message)
        self.messages += 1
        return True

    def add_gap(self, gap: Gap) -> None:
        """Put ``gap`` at the back, merged into a last Gap of its topic and reason."""
        items = self.items
        last = items[-1] if items else None
        if type(last) is Gap and (last.topic, last.reason) == (gap.topic, gap.reason):
            if last.count is not None and gap.count is not None:
                last.count += gap.count
            else:
                last.count = None  # one unknown loss makes the whole Gap unknown
            return
        items.append(gap)

    def replay(self, topic: str, history: list[Message]) -> tuple[int, int]:
        """Put ``history`` (oldest first, not empty) before everything queued.

        Messages of ``topic`` already queued whose id is not newer than the
        newest of ``history`` are dropped (the live stream met the history, and
        each message goes out once). The replay is cut to the room left: it never
        overflows the backlog and loses nothing the policy would count.

        Returns:
            The id key of the newest message of ``history``.
        """
        newest = id_key(history[-1].id or "0-0")
        kept: deque[Message | Gap | M] = deque()
        for item in self.items:
            duplicate = (
                type(item) is Message
                and item.topic == topic
                and item.id is not None
                and id_key(item.id) <= newest
            )
            if duplicate:
                self.messages -= 1
            else:
                kept.append(item)
        room = max(self.max_backlog - self.messages, 0)
        replayed = history[-room:] if room else []
        kept.extendleft(reversed(replayed))
        self.items = kept
        self.messages += len(replayed)
        return newest

    def popleft(self) -> Message | Gap | M:
        """Take the oldest item (the items must not be empty)."""
        item = self.items.popleft()
        if type(item) is Message:
            self.messages -= 1
        return item

    def _drop_oldest(self) -> None:
        # The oldest Message goes; a Gap takes its place, merged into an overflow
        # Gap of its topic just before it. Gaps before it stay where they are.
        items = self.items
        for index, item in enumerate(items):
            if type(item) is Message:
                del items[index]
                self.messages -= 1
                before = items[index - 1] if index else None
                if (
                    type(before) is Gap
                    and before.topic == item.topic
                    and before.reason == "overflow"
                    and before.count is not None
                ):
                    before.count += 1
                else:
                    items.insert(index, Gap(item.topic, "overflow", 1))
                return

    def _lost(self) -> None:
        self.dropped += 1
        self.counters.dropped += 1
