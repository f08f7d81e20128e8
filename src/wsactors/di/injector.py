"""Dependency injection: ``Provide``, resolution plans, and query parameters.

Plans are made when the App is built: for every callable the framework will call
(handler, hook, dependency) each parameter is classified, in this order, as a
reserved name (``socket``, ``scope``, ``headers``, ``query``, ``state``: the App's
state, shared; per-connection state is ``socket.state``; ``channels``: the App's
Channels), a path
parameter, a dependency, or a query parameter. Unknown names that cannot be query
parameters, and dependency cycles, raise ``ImproperlyConfiguredError`` then.

At connection time a :class:`Context` caches dependency values, so each dependency
is resolved once per connection (``use_cache=True``) before accept; generator
dependencies are entered into the connection's exit stack and cleaned up after the
connection ends, in reverse order.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import trio

from ..actors.cleanups import Cleanups
from ..exceptions import BadRequestError, ImproperlyConfiguredError
from .signature import RESERVED, ParamSpec, callable_name, read_params

if TYPE_CHECKING:
    from ..socket.websocket import WebSocket

__all__ = ["CallPlan", "Context", "Injector", "Provide"]


class Provide:
    """Declare a dependency.

    Args:
        dependency: A callable: sync or async function, generator or async generator
            (yield dependencies: the code after ``yield`` runs after the connection
            ends), or a class.
        use_cache: Resolve once per connection and share the value (default). With
            False, every consumer gets a fresh call.
        sync_to_thread: Run a sync dependency (and its cleanup) in a worker thread.
    """

    __slots__ = ("_params", "dependency", "kind", "sync_to_thread", "use_cache")

    def __init__(
        self,
        dependency: Callable[..., Any],
        *,
        use_cache: bool = True,
        sync_to_thread: bool = False,
    ) -> None:
        if not callable(dependency):
            raise ImproperlyConfiguredError(f"Provide() needs a callable, got {dependency!r}")
        self.dependency = dependency
        self.use_cache = use_cache
        self.sync_to_thread = sync_to_thread
        # Read when the App is built (the first plan), not here: with
        # `from __future__ import annotations` a type defined further down the module
        # does not exist yet when `Provide(...)` runs at import.
        self._params: list[ParamSpec] | None = None
        # A class is called to build an instance: a sync dependency, whatever its
        # __call__ is. Callable objects are classified by their __call__.
        target: Any = dependency
        while isinstance(target, functools.partial):
            target = target.func
        if not inspect.isclass(target) and not inspect.isroutine(target):
            target = type(target).__call__
        if inspect.isclass(target):
            self.kind = "sync"
        elif inspect.isasyncgenfunction(target):
            self.kind = "asyncgen"
        elif inspect.isgeneratorfunction(target):
            self.kind = "gen"
        elif inspect.iscoroutinefunction(target):
            self.kind = "async"
        else:
            self.kind = "sync"

    @property
    def params(self) -> list[ParamSpec]:
        """The dependency's parameters, read on first use.

        Raises:
            ImproperlyConfiguredError: see :func:`~wsactors.di.signature.read_params`.
        """
        if self._params is None:
            self._params = read_params(self.dependency)
        return self._params

    def __repr__(self) -> str:
        return f"Provide({callable_name(self.dependency)}, use_cache={self.use_cache})"


def as_provider(value: Any) -> Provide:
    """Wrap a plain callable in :class:`Provide` (a ``dependencies`` mapping allows both)."""
    return value if isinstance(value, Provide) else Provide(value)


class Context:
    """What one connection's resolutions share: the socket, its exit stack, the cache."""

    __slots__ = ("cache", "socket", "stack")

    def __init__(self, socket: WebSocket, stack: Cleanups) -> None:
        self.socket = socket
        self.stack = stack
        self.cache: dict[str, Any] = {}


_Step = tuple[str, int, Any]
_RESERVED, _PATH, _DEPENDENCY, _QUERY, _CONSTANT = range(5)


def _reserved_value(ctx: Context, name: str) -> Any:
    socket = ctx.socket
    if name == "socket":
        return socket
    if name == "scope":
        return socket.scope
    if name == "headers":
        return socket.headers
    if name == "query":
        return socket.query_params
    if name == "channels":
        channels = getattr(socket.app, "channels", None)
        if channels is None:
            raise ImproperlyConfiguredError("`channels` asked for, but the App has no channels=")
        return channels
    # "state" is the application's state, shared by all connections, as in Litestar:
    # the yield-dependency example of docs/dependency-injection.md counts concurrent
    # clients through it.
    # Per-connection state is ``socket.state``.
    app = socket.app
    return app.state if app is not None else socket.state


class CallPlan:
    """How to build the keyword arguments of one callable."""

    __slots__ = ("_steps", "names")

    def __init__(self, steps: list[_Step]) -> None:
        self._steps = tuple(steps)
        self.names = frozenset(name for name, _, _ in steps)

    async def kwargs(self, ctx: Context, **given: Any) -> dict[str, Any]:
        """Resolve every parameter; ``given`` values (e.g. ``data``) are passed through.

        Raises:
            BadRequestError: a query parameter is missing or malformed (HTTP 400 before
                accept).

        Cancellation:
            Safe; a cancelled resolution leaves already-entered yield dependencies in
            the exit stack, so they are still cleaned up.
        """
        out = dict(given)
        for name, source, extra in self._steps:
            if source == _RESERVED:
                out[name] = _reserved_value(ctx, name)
            elif source == _PATH:
                out[name] = ctx.socket.path_params[name]
            elif source == _DEPENDENCY:
                out[name] = await extra(ctx)
            elif source == _QUERY:
                out[name] = extra(ctx.socket.query_params)
        return out


class Injector:
    """Plans calls for one route: its layered dependencies and path parameters.

    Args:
        dependencies: name -> ``Provide`` or plain callable (already layered: the
            closest layer has won).
        path_params: path parameter name -> type.
    """

    def __init__(self, dependencies: Mapping[str, Any], path_params: Mapping[str, type]) -> None:
        self._providers = {name: as_provider(dep) for name, dep in dependencies.items()}
        self._path_params = dict(path_params)
        self._resolvers: dict[str, Callable[[Context], Any]] = {}
        self._visiting: list[str] = []

    def plan(
        self,
        fn: Callable[..., Any],
        params: list[ParamSpec],
        *,
        given: frozenset[str] = frozenset(),
    ) -> CallPlan:
        """The plan for ``fn``; names in ``given`` are supplied by the caller.

        Raises:
            ImproperlyConfiguredError: a cycle, or a parameter that is nothing known
                and cannot be a query parameter.
        """
        steps: list[_Step] = []
        for param in params:
            if param.name in given:
                continue
            steps.append(self._classify(fn, param))
        return CallPlan(steps)

    def _classify(self, fn: Callable[..., Any], param: ParamSpec) -> _Step:
        name = param.name
        if name in RESERVED:
            return (name, _RESERVED, None)
        if name in self._path_params:
            return (name, _PATH, None)
        if name in self._providers:
            return (name, _DEPENDENCY, self._resolver(name))
        return (name, _QUERY, query_converter(fn, param))

    def _resolver(self, name: str) -> Callable[[Context], Any]:
        if name in self._resolvers:
            return self._resolvers[name]
        if name in self._visiting:
            cycle = " -> ".join([*self._visiting[self._visiting.index(name) :], name])
            raise ImproperlyConfiguredError(f"dependency cycle: {cycle}")
        provider = self._providers[name]
        self._visiting.append(name)
        try:
            plan = self.plan(provider.dependency, provider.params)
        finally:
            self._visiting.pop()
        resolver = _make_resolver(name, provider, plan)
        self._resolvers[name] = resolver
        return resolver


def _make_resolver(name: str, provider: Provide, plan: CallPlan) -> Callable[[Context], Any]:
    fn = provider.dependency
    kind = provider.kind
    to_thread = provider.sync_to_thread

    async def call(ctx: Context) -> Any:
        kwargs = await plan.kwargs(ctx)
        if kind == "async":
            return await fn(**kwargs)
        if kind == "asyncgen":
            agen = fn(**kwargs)
            value = await agen.__anext__()
            ctx.stack.push_async_callback(_finish_async_gen, name, agen)
            return value
        if kind == "gen":
            gen = fn(**kwargs)
            value = await trio.to_thread.run_sync(next, gen) if to_thread else next(gen)
            ctx.stack.push_async_callback(_finish_gen, name, gen, to_thread)
            return value
        if to_thread:
            return await trio.to_thread.run_sync(functools.partial(fn, **kwargs))
        return fn(**kwargs)

    if not provider.use_cache:
        return call

    async def cached(ctx: Context) -> Any:
        try:
            return ctx.cache[name]
        except KeyError:
            value = ctx.cache[name] = await call(ctx)
            return value

    return cached


async def _finish_async_gen(name: str, agen: Any) -> None:
    try:
        await agen.__anext__()
    except StopAsyncIteration:
        return
    await agen.aclose()
    raise RuntimeError(f"yield dependency {name!r} yielded more than once")


async def _finish_gen(name: str, gen: Any, to_thread: bool) -> None:
    try:
        if to_thread:
            await trio.to_thread.run_sync(next, gen)
        else:
            next(gen)
    except StopIteration:
        return
    gen.close()
    raise RuntimeError(f"yield dependency {name!r} yielded more than once")


# ---------------------------------------------------------------- query parameters
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _to_bool(raw: str) -> bool:
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError("expected a boolean (true/false/1/0/yes/no/on/off)")


_SCALARS: dict[Any, Callable[[str], Any]] = {
    str: str,
    int: int,
    float: float,
    bool: _to_bool,
    uuid.UUID: uuid.UUID,
    Any: str,
}


def query_converter(fn: Callable[..., Any], param: ParamSpec) -> Callable[[Any], Any]:
    """A function turning ``QueryParams`` into ``param``'s value.

    Supported annotations: ``str``, ``int``, ``float``, ``bool``, ``UUID``, ``list`` of
    those, and ``Optional`` of either; unannotated parameters need a default.

    Raises:
        ImproperlyConfiguredError: the parameter cannot be a query parameter.
    """
    name = param.name
    annotation = param.annotation
    optional = False
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        optional = len(members) < len(typing.get_args(annotation))
        if len(members) == 1:
            annotation = members[0]
            origin = typing.get_origin(annotation)
    many = origin in (list, tuple, set, frozenset) or annotation in (list,)
    item = typing.get_args(annotation)[0] if many and typing.get_args(annotation) else str
    scalar = _SCALARS.get(item if many else annotation)
    if scalar is None or (not param.annotated and param.required):
        raise ImproperlyConfiguredError(
            f"{callable_name(fn)}: parameter {name!r} is not a reserved name "
            f"({', '.join(sorted(RESERVED))}), a path parameter or a dependency, and cannot "
            f"be a query parameter (annotate it as str, int, float, bool, UUID, a list or "
            f"Optional of those, or give it a default)"
        )
    default = param.default
    required = param.required and not optional
    fallback = None if default is inspect.Parameter.empty else default
    type_name = getattr(item if many else annotation, "__name__", str(annotation))

    def convert(query: Any) -> Any:
        values = query.getall(name)
        if not values:
            if required:
                raise BadRequestError(f"missing query parameter {name!r}")
            # Absent: the default as declared (`list[str] | None = None` gives None),
            # a list default copied so that connections never share one.
            return list(fallback) if isinstance(fallback, list) else fallback
        try:
            if many:
                return [scalar(v) for v in values]
            return scalar(values[0])
        except ValueError:
            raise BadRequestError(f"query parameter {name!r}: expected {type_name}") from None

    return convert
