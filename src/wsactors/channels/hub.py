"""The local dispatcher: topic -> this process's subscriptions, and the counters.

Backends hand every message to :meth:`Hub.dispatch` once per process; the hub
offers it to each local subscription without awaiting any of them (offers never
block), so one slow subscriber holds up nobody. A subscription is a
:class:`~wsactors.channels.subscription.Subscription` (``channels.subscribe``,
read by a task) or a
:class:`~wsactors.channels.connection.ConnectionSubscription`
(``socket.subscribe``, delivered straight into the connection).
"""

from __future__ import annotations

import uuid
from typing import Protocol

from .items import ChannelCounters, GapReason, Message, id_key

__all__ = ["Hub", "Member", "owner_key"]


#: Tells this process's exclude tokens from another's (ids repeat across processes).
_PROCESS = uuid.uuid4().hex[:12]


def owner_key(owner: object) -> str:
    """The token ``exclude=`` travels as: unique among live objects of all processes."""
    return f"{_PROCESS}.{id(owner):x}"


class Member(Protocol):
    """A subscription as the hub sees it."""

    topics: tuple[str, ...]
    #: What ``publish(..., exclude=)`` names to skip it.
    owner: object
    #: ``owner_key(owner)``, set by :meth:`Hub.add` (compared on every dispatch).
    exclude_key: str

    def offer(self, message: Message) -> None:
        """Take ``message`` without blocking."""
        ...

    def gap(self, topic: str, reason: GapReason, count: int | None = None) -> None:
        """Messages of ``topic`` were lost here."""
        ...

    def close(self) -> None:
        """The Channels are stopping (or the subscription ends)."""
        ...


class Hub:
    """Local subscriptions by topic."""

    def __init__(self) -> None:
        self.counters = ChannelCounters()
        self.topics: dict[str, set[Member]] = {}
        self._subscriptions: set[Member] = set()
        #: Per topic, the newest id dispatched here: where a refill starts.
        self.last_ids: dict[str, str] = {}

    def add(self, subscription: Member) -> list[str]:
        """Register ``subscription``; return the topics that had no subscriber before."""
        subscription.exclude_key = owner_key(subscription.owner)
        self._subscriptions.add(subscription)
        new = []
        for topic in subscription.topics:
            members = self.topics.get(topic)
            if members is None:
                members = self.topics[topic] = set()
                new.append(topic)
            members.add(subscription)
        return new

    def remove(self, subscription: Member) -> list[str]:
        """Unregister ``subscription``; return the topics that have no subscriber now."""
        self._subscriptions.discard(subscription)
        gone = []
        for topic in subscription.topics:
            members = self.topics.get(topic)
            if members is None:
                continue
            members.discard(subscription)
            if not members:
                del self.topics[topic]
                self.last_ids.pop(topic, None)
                gone.append(topic)
        return gone

    @property
    def subscriptions(self) -> int:
        """How many subscriptions are registered."""
        return len(self._subscriptions)

    def dispatch(self, message: Message, exclude: str | None = None) -> None:
        """Offer ``message`` to every subscription of its topic (except ``exclude``'s)."""
        if message.id is not None:
            last = self.last_ids.get(message.topic)
            if last is None or id_key(message.id) > id_key(last):
                self.last_ids[message.topic] = message.id
        for subscription in self.topics.get(message.topic, ()):
            if exclude is None or subscription.exclude_key != exclude:
                subscription.offer(message)

    def gap(self, topic: str, reason: GapReason, count: int | None = None) -> None:
        """Tell every subscription of ``topic`` that messages were lost."""
        for subscription in self.topics.get(topic, ()):
            subscription.gap(topic, reason, count)
