"""Exception groups, reduced: the one helper every layer uses to look inside them.

Trio nurseries (the connection's, hypercorn's, coredis' task groups) wrap what their
tasks raise in :class:`BaseExceptionGroup`; wsactors never lets a group reach a user
who did not ask for one. These functions say what is inside.
"""

from __future__ import annotations

__all__ = ["leaves", "sole_leaf"]


def leaves(exc: BaseException) -> list[BaseException]:
    """The exceptions inside ``exc``, through nested groups, in order (``[exc]`` if it is
    not a group). Groups are never empty, so the list never is."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def sole_leaf(exc: BaseException) -> BaseException | None:
    """The only exception inside ``exc`` (``exc`` itself if it is not a group), or None
    when a group holds more than one."""
    found = leaves(exc)
    return found[0] if len(found) == 1 else None
