"""The per-connection actors: receiver, sender, disconnect watcher, and their supervisor.

Each connection is one Trio nursery (see :mod:`.supervisor`) in which these actors
talk over the bounded channels of one :class:`~.mailbox.Mailbox`.
"""
