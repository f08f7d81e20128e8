"""Loading the app an import string names (``module:attribute``), for every command.

What is accepted as an app: a callable that takes three positional arguments,
``(scope, receive, send)`` (an ``async def`` function, an object with an async
``__call__``, an :class:`~wsactors.App`). Anything else is refused when the command
starts, with a message naming it, instead of failing every request with 500: a
function without parameters, most likely a factory, gets the hint to add
``--factory``. With ``factory=True`` the import string names a function called once
with no arguments, and what it returns must be such an app. A callable whose
signature cannot be read (some C extensions) is taken as it is.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any, cast

from ..types import ASGIApp

__all__ = ["AppImportError", "asgi_problem", "import_app", "split_import_string"]


class AppImportError(Exception):
    """An import string that does not lead to an ASGI app; the message says why."""


def _signature(found: Any) -> inspect.Signature | None:
    """The parameters of ``found``, without annotations (they only lengthen messages)."""
    try:
        signature = inspect.signature(found)
    except (TypeError, ValueError):
        return None  # a builtin or C callable whose parameters cannot be read
    return signature.replace(
        parameters=[
            parameter.replace(annotation=inspect.Parameter.empty)
            for parameter in signature.parameters.values()
        ],
        return_annotation=inspect.Signature.empty,
    )


def asgi_problem(found: Any) -> str | None:
    """Why ``found`` is not an ASGI application, or ``None`` if it may be one.

    Only the shape is checked: callable with three positional arguments
    ``(scope, receive, send)``.
    """
    if not callable(found):
        return f"is a {type(found).__name__}, not an ASGI application"
    signature = _signature(found)
    if signature is None:
        return None
    try:
        signature.bind(None, None, None)
    except TypeError:
        if inspect.isclass(found):
            return f"is the class {found.__name__}, not an ASGI application (an instance may be)"
        takes = f"takes {signature}" if signature.parameters else "takes no arguments"
        return f"{takes}: it is not an ASGI application, which takes (scope, receive, send)"
    return None


def import_app(import_string: str, *, factory: bool = False) -> ASGIApp:
    """Import the app that ``"package.module:attribute"`` names.

    The attribute may be dotted (``"project.main:api.app"``) and defaults to
    ``app`` (``"project.main"`` is ``"project.main:app"``, as in hypercorn and
    uvicorn). Without ``factory`` it is the app itself; with ``factory`` it is
    called with no arguments and returns the app (uvicorn's ``--factory``).

    Args:
        import_string: ``module:attribute`` or ``module``.
        factory: Call what the string names, once, to get the app.

    Returns:
        The app, checked to be callable as ``app(scope, receive, send)``.

    Raises:
        AppImportError: the string is malformed, the module does not exist, the
            attribute is missing, or it (or the factory's result) is not an ASGI
            application, or the factory cannot be called without arguments.
        Exception: whatever importing the module raises for another reason (a
            module that exists but fails, e.g. on an import of its own, keeps its
            traceback: that is the useful part), and whatever the factory raises.
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
    name = f"{module_name}:{attribute}"
    if factory:
        found = _call_factory(name, found)
        name = f"{name}()"
    problem = asgi_problem(found)
    if problem is not None:
        hint = ""
        signature = None if factory else _signature(found)
        if signature is not None and not signature.parameters and not inspect.isclass(found):
            hint = "; if it returns the app, add --factory"
        raise AppImportError(f"{name} {problem}{hint}")
    return cast(ASGIApp, found)


def _call_factory(name: str, found: Any) -> Any:
    """Call the factory ``name`` names, refusing one that cannot make the app."""
    if not callable(found):
        raise AppImportError(f"--factory: {name} is a {type(found).__name__}, not a function")
    signature = _signature(found)
    if signature is not None:
        try:
            signature.bind()
        except TypeError:
            raise AppImportError(
                f"--factory: {name} takes {signature}; a factory is called with no"
                " arguments (without --factory, MODULE:APP is the app itself)"
            ) from None
    if inspect.iscoroutinefunction(found):
        raise AppImportError(
            f"--factory: {name} is async; the factory is called before any event loop"
            " runs: make it a plain function"
        )
    return found()


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
