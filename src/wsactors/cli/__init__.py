"""The ``wsactors`` command: ``run``, ``demo`` and ``asyncapi``."""
