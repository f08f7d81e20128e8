"""What a subscription yields (``Message``, ``Gap``), statistics, and message ids.

Ids are Redis stream ids (``"1700000000000-0"``: milliseconds and a sequence);
the memory backend makes ids of the same shape, so both compare the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ..transport.base import SharedText

__all__ = [
    "ChannelCounters",
    "ChannelStatistics",
    "Gap",
    "GapReason",
    "Message",
    "Overflow",
    "SubscriptionStatistics",
    "id_key",
]

#: What a full backlog does with a new message.
Overflow = Literal["drop_oldest", "drop_newest", "close"]
OVERFLOWS: frozenset[str] = frozenset({"drop_oldest", "drop_newest", "close"})

#: Why messages were lost: the subscriber's backlog overflowed, the broker
#: connection dropped, or a replay started after entries the history had trimmed.
GapReason = Literal["overflow", "reconnect", "history_trimmed"]


def id_key(message_id: str) -> tuple[int, int]:
    """``"ms-seq"`` as a tuple that sorts like the ids do."""
    ms, _, seq = message_id.partition("-")
    return int(ms), int(seq or 0)


class Message:
    """One published message, as a subscriber receives it.

    Attributes:
        topic: The topic it was published to.
        raw: The JSON text, encoded once by the publisher; ``send_to`` sends it as is.
        id: Its history id (``"ms-seq"``), or None when the Channels keep no history.
        shared: ``raw`` as the subscribed connections send it (encoded and framed
            once for all of them), made by the first one; None until then.
    """

    __slots__ = ("id", "raw", "shared", "topic")

    def __init__(self, topic: str, raw: str, id: str | None = None) -> None:
        self.topic = topic
        self.raw = raw
        self.id = id
        self.shared: SharedText | None = None

    @property
    def data(self) -> Any:
        """The published value, decoded from :attr:`raw` (a fresh object per access)."""
        return json.loads(self.raw)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Message):
            return NotImplemented
        return (self.topic, self.raw, self.id) == (other.topic, other.raw, other.id)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Message(topic={self.topic!r}, data={self.raw}, id={self.id!r})"


@dataclass(slots=True)
class Gap:
    """Messages of ``topic`` were lost here, between the items before and after it.

    Attributes:
        topic: The topic that lost messages.
        reason: ``"overflow"``, ``"reconnect"`` or ``"history_trimmed"``.
        count: How many were lost, or None when nobody can know (a broker
            connection dropped: whatever was published meanwhile is gone).
    """

    topic: str
    reason: GapReason
    count: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The marker ``send_to(..., on_gap="notify")`` sends to the client."""
        return {"type": "gap", "topic": self.topic, "reason": self.reason, "count": self.count}


@dataclass(slots=True)
class SubscriptionStatistics:
    """Counts of one subscription.

    Attributes:
        delivered: Messages handed to the consumer.
        dropped: Messages lost to this subscription's overflow policy.
        gaps: Gap items delivered (coalesced: one Gap may count many losses).
        backlog: Messages waiting now.
    """

    delivered: int = 0
    dropped: int = 0
    gaps: int = 0
    backlog: int = 0


@dataclass(slots=True)
class ChannelStatistics:
    """Counts of one :class:`~wsactors.Channels`, since it started.

    Attributes:
        topics: Topics with at least one local subscriber now.
        subscribers: Local subscriptions now.
        published: Messages published through this process.
        delivered: Messages handed to local consumers.
        dropped: Messages lost to local overflow policies.
        reconnects: Times the backend lost its broker connection (0 in memory).
        connected: Whether the backend is connected to its broker now.
        gaps: Gap items handed to local consumers, by reason (``"overflow"``,
            ``"reconnect"``, ``"history_trimmed"``); one Gap may stand for many
            lost messages (``dropped`` counts those of overflows).
    """

    topics: int = 0
    subscribers: int = 0
    published: int = 0
    delivered: int = 0
    dropped: int = 0
    reconnects: int = 0
    connected: bool = True
    gaps: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class ChannelCounters:
    """Totals shared by every subscription of one Channels."""

    published: int = 0
    delivered: int = 0
    dropped: int = 0
    reconnects: int = 0
    #: Gap items handed to consumers, by reason (Gaps are rare: a dict is cheap).
    gaps: dict[str, int] = field(default_factory=dict)
