"""Loading the app an import string names (``module:attribute``), for every command."""

from __future__ import annotations

import importlib
from typing import Any, cast

from ..types import ASGIApp

__all__ = ["AppImportError", "import_app", "split_import_string"]


class AppImportError(Exception):
    """An import string that does not lead to an ASGI app; the message says why."""


def import_app(import_string: str) -> ASGIApp:
    """Import the app that ``"package.module:attribute"`` names.

    The attribute may be dotted (``"project.main:api.app"``) and defaults to
    ``app`` (``"project.main"`` is ``"project.main:app"``, as in hypercorn and
    uvicorn). It is not called: pass the app itself, not a factory.

    Args:
        import_string: ``module:attribute`` or ``module``.

    Returns:
        The object found, which is callable.

    Raises:
        AppImportError: the string is malformed, the module does not exist, the
            attribute is missing, or it is not callable.
        Exception: whatever importing the module raises for another reason (a
            module that exists but fails, e.g. on an import of its own, keeps its
            traceback: that is the useful part).
    """
    module_name, attribute = split_import_string(import_string)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        # Only the named module (or a parent package) missing is the user's typo;
        # a missing dependency inside an existing module is that module's error.
        missing = exc.name or ""
        if missing != module_name and not module_name.startswith(f"{missing}."):
            raise
        raise AppImportError(f"could not import module {module_name!r}: {exc}") from None
    found: Any = module
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            hint = "" if ":" in import_string else f" (MODULE alone means {module_name}:app)"
            raise AppImportError(
                f"module {module_name!r} has no attribute {attribute!r}{hint}"
            ) from None
    if not callable(found):
        raise AppImportError(
            f"{module_name}:{attribute} is a {type(found).__name__}, not an ASGI application"
        )
    return cast(ASGIApp, found)


def split_import_string(import_string: str) -> tuple[str, str]:
    """``"module:attribute"`` as ``(module, attribute)``; the attribute defaults to ``app``.

    Raises:
        AppImportError: an empty module or attribute (``"module:"``, ``":app"``).
    """
    module_name, sep, attribute = import_string.partition(":")
    if not sep:
        attribute = "app"
    if not module_name or not attribute or ":" in attribute:
        raise AppImportError(
            f'{import_string!r} is not an import string: use "module:attribute" or'
            f' "module" (for module:app), e.g. "myproject.main:app"'
        )
    return module_name, attribute
