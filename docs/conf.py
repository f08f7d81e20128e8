"""Sphinx configuration of the wsactors documentation.

Build with ``nox -s docs`` (``sphinx-build -W -n --keep-going``): every warning is
an error and every cross-reference must resolve. Pages are Markdown (MyST) except
the API reference, which is reStructuredText for autodoc.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util.nodes import make_refnode

import wsactors

project = "wsactors"
author = "the wsactors authors"
copyright = "the wsactors authors"
release = wsactors.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    # The docstrings use Google style (Args:, Returns:, Raises:, Cancellation:).
    "sphinx.ext.napoleon",
    "myst_parser",
    # No sphinx.ext.intersphinx: the build runs without network access, so Python's,
    # Trio's and hypercorn's inventories cannot be fetched (see nitpick_ignore below).
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "examples"]

myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "furo"
html_title = f"wsactors {release}"

# -- autodoc ------------------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_custom_sections = [("Cancellation", "notes_style")]

# -- nitpicky -------------------------------------------------------------------
# Without intersphinx, names from the standard library and from third-party
# packages have no target in this build. Only those are ignored here; every
# wsactors name must resolve (see _resolve_wsactors_names below).
nitpick_ignore_regex = [
    # Standard library (docs.python.org is not reachable from the build). Short
    # names appear where a module imports them only for type checking.
    ("py:class", r"(collections\.abc|contextlib|types|ssl|enum|pathlib)\..*"),
    ("py:class", r"(Awaitable|Callable|Iterable|Mapping|Sequence|Collection|Iterator)"),
    ("py:class", r"(Self|TracebackType|AsyncIterator|AsyncGenerator)"),
    ("py:class", r"AbstractAsyncContextManager"),
    # Trio, hypercorn, cattrs and trio-websocket (their inventories are online only).
    ("py:(class|exc|func|meth|obj|mod)", r"(trio|hypercorn|cattrs|trio_websocket)(\..*)?"),
    ("py:class", r"WebSocketConnection"),  # trio_websocket's, imported for type checking
]


def _resolve_wsactors_names(app: Sphinx, env: BuildEnvironment, node: Any, contnode: Any) -> Any:
    """Resolve a wsactors name written short (``WebSocketDisconnect``) or through the
    module that defines it (``wsactors.exceptions.WebSocketDisconnect``) to the one
    documented object it can mean; anything ambiguous or unknown stays unresolved.

    Docstrings and signatures name objects where they are defined, while the
    reference documents them where users import them (``wsactors.App``).
    """
    if node.get("refdomain") != "py":
        return None
    target = str(node.get("reftarget", ""))
    if target.startswith("wsactors."):
        target = target.rsplit(".", 1)[-1]
    if not target or target.startswith("_"):
        return None
    domain = env.get_domain("py")
    matches = [
        (name, obj)
        for name, obj in domain.objects.items()  # type: ignore[attr-defined]
        if name.startswith("wsactors.") and name.endswith("." + target)
    ]
    if len(matches) != 1:
        return None
    name, obj = matches[0]
    return make_refnode(app.builder, node["refdoc"], obj.docname, obj.node_id, contnode, name)


def _public_signatures(
    app: Sphinx,
    what: str,
    name: str,
    obj: Any,
    options: Any,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None] | None:
    """Show the private async iterator that ``WebSocket.iter_*`` return as what it
    is to users: an ``AsyncIterator``; and a dataclass field's ``default_factory``
    (``<factory>``, which is not Python and breaks the signature's parsing) as ``...``."""
    private = "wsactors.socket.websocket._Stream"
    if signature and "<factory>" in signature:
        signature = signature.replace("<factory>", "...")
    if return_annotation and private in return_annotation:
        return_annotation = return_annotation.replace(private, "collections.abc.AsyncIterator")
    return signature, return_annotation


def setup(app: Sphinx) -> None:
    app.connect("missing-reference", _resolve_wsactors_names)
    app.connect("autodoc-process-signature", _public_signatures)
