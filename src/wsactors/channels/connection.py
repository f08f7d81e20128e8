"""A connection's subscription to one topic (``socket.subscribe``): a lane to its Feed.

The hub offers each message to :meth:`ConnectionSubscription.offer`, which never
blocks. While nothing of this subscription waits, the message goes straight to the
connection's :class:`~wsactors.actors.feed.Feed` (written to the socket, or queued
for its sender), as the message's :class:`~wsactors.transport.base.SharedText`:
its JSON text encoded, and on the native engine framed, once for every subscriber.
When the connection's outbox is full, the message waits in this subscription's
backlog, bounded by ``max_backlog`` with the overflow policy, until the sender
pulls it (:meth:`ConnectionSubscription.drain`). Losses become Gaps at the place
they happened (the :class:`~wsactors.channels.backlog.Backlog` of
:class:`~wsactors.channels.subscription.Subscription` too); a Gap
reaches the client as ``{"type": "gap", ...}`` or as close 1013 (``on_gap``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from ..actors.feed import Feed
from ..transport.base import SharedText
from .backlog import Backlog
from .items import ChannelCounters, Gap, GapReason, Message, Overflow, id_key

__all__ = ["ConnectionSubscription"]


class _Close:
    """In a backlog: close the connection with 1013 here (the ``"close"`` policy)."""

    __slots__ = ()


_CLOSE: Final = _Close()

Item = Message | Gap | _Close


class ConnectionSubscription:
    """One topic of one connection's subscriptions (made by ``Channels.attach``).

    Args:
        topic: The topic.
        feed: The connection's feed; its ``owner`` (the socket) is what
            ``publish(..., exclude=)`` names.
        max_backlog: Messages kept while the connection's outbox is full.
        overflow: What a full backlog does with one more message.
        on_gap: ``"notify"`` (send the Gap) or ``"close"`` (close with 1013).
        counters: The Channels' totals.
        dumps: Encodes a Gap's JSON (the App's codec, as ``send_to`` does).
        holding: Keep everything in the backlog until :meth:`release` (a history
            replay is being read: live messages must not overtake it).
    """

    __slots__ = (
        "_backlog",
        "_dumps",
        "_last_id",
        "closed",
        "counters",
        "exclude_key",
        "feed",
        "holding",
        "max_backlog",
        "on_gap",
        "overflow",
        "owner",
        "topic",
        "topics",
    )

    def __init__(
        self,
        topic: str,
        feed: Feed,
        *,
        max_backlog: int,
        overflow: Overflow,
        on_gap: str,
        counters: ChannelCounters,
        dumps: Callable[[Any], str],
        holding: bool = False,
    ) -> None:
        self.topic = topic
        self.topics: tuple[str, ...] = (topic,)
        self.feed = feed
        self.owner = feed.owner
        #: Set by the hub when it registers this subscription.
        self.exclude_key = ""
        self.max_backlog = max_backlog
        self.overflow = overflow
        self.on_gap = on_gap
        self.counters = counters
        self._dumps = dumps
        self.holding = holding
        # None while nothing waits (the usual case: no backlog per idle subscription).
        self._backlog: Backlog[_Close] | None = None
        self._last_id: tuple[int, int] | None = None
        #: No more messages are taken (unsubscribed, ended, or closing the connection).
        self.closed = False

    @property
    def backlog(self) -> int:
        """Messages waiting now."""
        backlog = self._backlog
        return 0 if backlog is None else backlog.messages

    # ------------------------------------------------------------------ the hub's side
    def offer(self, message: Message) -> None:
        """Deliver ``message`` now, or keep it (overflow policy); never blocks.

        Messages whose id is not newer than the last one taken are duplicates (a
        history replay met the live stream) and are skipped.
        """
        if self.closed:
            return
        if message.id is not None:
            key = id_key(message.id)
            last = self._last_id
            if last is not None and key <= last:
                return
            self._last_id = key
        if self._backlog is None and not self.holding and self._hand(message):
            return
        backlog = self._waiting()
        if not backlog.push(message):
            # The "close" policy: what is kept still goes out, then the Gap, then
            # the close.
            backlog.items.append(_CLOSE)
            self.closed = True

    def gap(self, topic: str, reason: GapReason, count: int | None = None) -> None:
        """A loss the backend detected (a reconnect, a trimmed history)."""
        if self.closed:
            return
        gap = Gap(topic, reason, count)
        if self._backlog is None and not self.holding and self._hand(gap):
            return
        self._waiting().add_gap(gap)

    def replay(self, history: list[Message]) -> None:
        """Put ``history`` (oldest first) before everything kept live (while holding).

        Live messages kept meanwhile that are also in ``history`` are dropped by id;
        the replay is cut to the bound.
        """
        if not history or self.closed:
            return
        backlog = self._backlog or Backlog(self.max_backlog, self.overflow, self.counters)
        newest = backlog.replay(self.topic, history)
        self._backlog = backlog if backlog.items else None
        last = self._last_id
        if last is None or newest > last:
            self._last_id = newest

    def release(self) -> None:
        """Stop holding: deliver what was kept (the replay, then live messages)."""
        self.holding = False
        if self._backlog is not None and not self.drain():
            self.feed.wait(self)

    def close(self) -> None:
        """Take nothing more and drop the backlog (unsubscribed, or the end)."""
        self.closed = True
        self._backlog = None

    # ------------------------------------------------------------------ the sender's side
    def drain(self) -> bool:
        """Hand kept items to the feed while it takes them; True once none is left."""
        backlog = self._backlog
        while backlog is not None and backlog.items:
            if not self._hand(backlog.items[0]):
                return False
            if self._backlog is not backlog:
                return True  # closed meanwhile (on_gap="close")
            backlog.popleft()
        self._backlog = None
        return True

    # ------------------------------------------------------------------ inside
    def _hand(self, item: Item) -> bool:
        """Give ``item`` to the feed; False when it has no room now."""
        feed = self.feed
        if type(item) is Message:
            shared = item.shared
            if shared is None:
                shared = item.shared = SharedText(item.raw)
            if not feed.deliver(shared):
                return False
            self.counters.delivered += 1
            return True
        if type(item) is Gap:
            if self.on_gap == "close":
                if not feed.deliver_close():
                    return False
                self.close()  # nothing goes out after the close
            elif not feed.deliver(SharedText(self._dumps(item.as_json())), notice=True):
                return False
            gaps = self.counters.gaps
            gaps[item.reason] = gaps.get(item.reason, 0) + 1
            feed.count_gap(item.count)
            return True
        if not feed.deliver_close():  # _CLOSE: the "close" overflow policy
            return False
        self.close()
        return True

    def _waiting(self) -> Backlog[_Close]:
        backlog = self._backlog
        if backlog is None:
            backlog = self._backlog = Backlog(self.max_backlog, self.overflow, self.counters)
            if not self.holding:
                self.feed.wait(self)  # the sender pulls once it has room
        return backlog
