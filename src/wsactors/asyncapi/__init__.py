"""AsyncAPI 3.0 documents of wsactors Apps (``App.asyncapi``, ``wsactors asyncapi``).

Needs the ``asyncapi`` extra (``pip install 'wsactors[asyncapi]'``): msgspec writes
the JSON Schemas, PyYAML the YAML output. See ``docs/asyncapi.md``.
"""

from .document import asyncapi_document
from .render import render

__all__ = ["asyncapi_document", "render"]
