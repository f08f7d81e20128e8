"""The bundled demo: a browser page that talks to a WebSocket echo handler.

Run it with ``wsactors demo`` or ``python -m wsactors.demo`` and open the printed
URL. The App is ``wsactors.demo.app:app``, an ordinary :class:`wsactors.App`, so
``wsactors run wsactors.demo.app:app`` serves it too. (It is deliberately not
re-exported here: a package attribute ``app`` would hide the ``app`` submodule.)
"""

from .app import StaticFiles, create_app, echo

__all__ = ["StaticFiles", "create_app", "echo"]
