"""A bounded queue between two actors of one connection, lighter than a memory channel.

:func:`trio.open_memory_channel` gives a general channel: clones, any number of
senders and receivers on either end, per-end task sets, statistics objects. The
inbox and the outbox of a connection need less, and every idle connection pays for
two of them: a memory channel pair costs about 1.7 KiB, this queue about 200 bytes
(``benchmarks/memory_native.py``), and a hand-off through it about a third less CPU
(it does the same checks in fewer calls).

Semantics are those of a memory channel with one send end and one receive end, and
the same exceptions:

- :meth:`put` / :meth:`put_nowait` hand an item straight to a parked receiver,
  else buffer it while fewer than ``size`` items wait, else block / raise
  :class:`trio.WouldBlock`;
- :meth:`get` / :meth:`get_nowait` take the oldest item; once :meth:`close` was
  called and the buffer is drained they raise :class:`trio.EndOfChannel`;
- :meth:`nudge` wakes the consumer with an item outside the buffer (at most one
  waits: a wake-up, not a message);
- after :meth:`close`, putting raises :class:`trio.ClosedResourceError`; after
  :meth:`abandon` (the consumer is gone) it raises :class:`trio.BrokenResourceError`
  and the buffer is dropped.

Several tasks may wait on either end; they are served first come, first served.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import trio
from outcome import Error, Value
from trio.lowlevel import (
    Abort,
    RaiseCancelT,
    Task,
    cancel_shielded_checkpoint,
    checkpoint_if_cancelled,
    current_task,
    enable_ki_protection,
    reschedule,
    wait_task_rescheduled,
)

__all__ = ["BoundedQueue"]

T = TypeVar("T")

#: Taken items are dropped from the front of the list in one go once this many
#: accumulated (and at once whenever the queue empties, the usual case).
_COMPACT_AT = 32


class BoundedQueue(Generic[T]):
    """At most ``size`` buffered items from one producer side to one consumer side.

    Args:
        size: Items buffered while nobody is waiting for them (``0``: every put
            waits for a getter, as with an unbuffered memory channel).
    """

    # A list and an index rather than a deque: an empty list is 56 bytes, a deque
    # keeps a 760-byte block even when empty. The waiter lists exist only while
    # somebody waits.
    __slots__ = (
        "_closed",
        "_getters",
        "_items",
        "_nudge",
        "_putters",
        "_taken",
        "abandoned",
        "size",
    )

    def __init__(self, size: int) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        self.size = size
        self._items: list[T] = []
        self._taken = 0
        self._getters: list[Task] | None = None
        self._putters: list[tuple[Task, T]] | None = None
        self._closed = False
        # A wake-up for the consumer, outside the buffer (see nudge).
        self._nudge: tuple[T] | None = None
        #: The consumer is gone: puts raise BrokenResourceError.
        self.abandoned = False

    def __len__(self) -> int:
        """Items buffered now."""
        return len(self._items) - self._taken

    def consumer_waiting(self) -> bool:
        """Whether a getter is parked (then the buffer is empty)."""
        return bool(self._getters)

    # ------------------------------------------------------------------ producer
    @enable_ki_protection
    def put_nowait(self, item: T) -> None:
        """Queue ``item`` without waiting.

        Raises:
            trio.WouldBlock: the buffer is full.
            trio.ClosedResourceError: :meth:`close` was called.
            trio.BrokenResourceError: the consumer abandoned the queue.
        """
        if self._closed:
            raise trio.ClosedResourceError
        if self.abandoned:
            raise trio.BrokenResourceError
        getters = self._getters
        if getters:
            # A getter waits only on an empty buffer: hand the item over directly.
            reschedule(getters.pop(0), Value(item))
        elif len(self._items) - self._taken < self.size:
            self._items.append(item)
        else:
            raise trio.WouldBlock

    @enable_ki_protection
    async def put(self, item: T) -> None:
        """Queue ``item``, waiting while the buffer is full.

        Raises:
            trio.ClosedResourceError: :meth:`close` was called (also while waiting).
            trio.BrokenResourceError: the consumer abandoned the queue (also while
                waiting).

        Cancellation:
            A checkpoint. If cancelled, ``item`` was not queued.
        """
        await checkpoint_if_cancelled()
        try:
            self.put_nowait(item)
        except trio.WouldBlock:
            pass
        else:
            await cancel_shielded_checkpoint()
            return
        task = current_task()
        putters = self._putters
        if putters is None:
            putters = self._putters = []
        entry = (task, item)
        putters.append(entry)

        def abort(_: RaiseCancelT) -> Abort:
            # By identity: items are compared by nothing here (their __eq__ is theirs).
            for index, waiting in enumerate(putters):
                if waiting is entry:
                    del putters[index]
                    break
            return Abort.SUCCEEDED

        await wait_task_rescheduled(abort)

    @enable_ki_protection
    def nudge(self, item: T) -> None:
        """Wake the consumer with ``item``, outside the buffer and its bound.

        Handed to a parked getter at once; otherwise kept in one slot (a second
        nudge replaces the first) that the consumer gets once the buffer is empty.
        Nothing after :meth:`abandon`. Not a checkpoint (callable from any task).
        """
        if self.abandoned:
            return
        getters = self._getters
        if getters:
            reschedule(getters.pop(0), Value(item))
        else:
            self._nudge = (item,)

    @enable_ki_protection
    def close(self) -> None:
        """The producer is done: getters drain the buffer, then get ``EndOfChannel``.

        Idempotent. Not a checkpoint (usable in a cancelled task's cleanup).
        """
        if self._closed:
            return
        self._closed = True
        putters, self._putters = self._putters, None
        for task, _ in putters or ():
            reschedule(task, Error(trio.ClosedResourceError()))
        getters, self._getters = self._getters, None
        for task in getters or ():
            reschedule(task, Error(trio.EndOfChannel()))

    # ------------------------------------------------------------------ consumer
    @enable_ki_protection
    def get_nowait(self) -> T:
        """The oldest item, without waiting.

        Raises:
            trio.WouldBlock: nothing is queued.
            trio.EndOfChannel: nothing is queued and :meth:`close` was called.
        """
        items = self._items
        taken = self._taken
        if taken < len(items):
            item = items[taken]
            taken += 1
            if taken == len(items):
                items.clear()  # frees the item array
                taken = 0
            elif taken >= _COMPACT_AT:
                del items[:taken]
                taken = 0
            self._taken = taken
            putters = self._putters
            if putters:
                # Room was made: the longest-waiting putter's item joins the buffer.
                task, waiting = putters.pop(0)
                items.append(waiting)
                reschedule(task)
            return item
        putters = self._putters
        if putters:
            # Unbuffered (size 0): take the item from a waiting putter.
            task, item = putters.pop(0)
            reschedule(task)
            return item
        nudge = self._nudge
        if nudge is not None:
            self._nudge = None
            return nudge[0]
        if self._closed:
            raise trio.EndOfChannel
        raise trio.WouldBlock

    @enable_ki_protection
    async def get(self) -> T:
        """The oldest item, waiting for one.

        Raises:
            trio.EndOfChannel: the producer closed the queue and it is drained.

        Cancellation:
            A checkpoint. If cancelled, no item was taken.
        """
        await checkpoint_if_cancelled()
        try:
            item = self.get_nowait()
        except trio.WouldBlock:
            pass
        else:
            await cancel_shielded_checkpoint()
            return item
        task = current_task()
        getters = self._getters
        if getters is None:
            getters = self._getters = []
        getters.append(task)

        def abort(_: RaiseCancelT) -> Abort:
            getters.remove(task)
            return Abort.SUCCEEDED

        return await wait_task_rescheduled(abort)  # type: ignore[no-any-return]

    @enable_ki_protection
    def abandon(self) -> None:
        """The consumer is gone: later puts raise ``BrokenResourceError``.

        Waiting putters get it at once, waiting getters ``ClosedResourceError``
        (as on a closed receive channel), and buffered items are dropped.
        Idempotent; not a checkpoint.
        """
        self.abandoned = True
        self._nudge = None
        self._items.clear()
        self._taken = 0
        putters, self._putters = self._putters, None
        for task, _ in putters or ():
            reschedule(task, Error(trio.BrokenResourceError()))
        getters, self._getters = self._getters, None
        for task in getters or ():
            reschedule(task, Error(trio.ClosedResourceError()))
