"""Dependency injection: call plans, reserved names, path and query parameters, Provide.

No sockets: a ``WebSocket`` handle is built over a mailbox and a hand-made scope.
Resolution is async (dependencies may be), so those tests run under Trio.
"""

from __future__ import annotations

import functools
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from wsactors import App, ImproperlyConfiguredError, Provide, WebSocket, websocket
from wsactors.actors.cleanups import Cleanups
from wsactors.actors.runtime import ConnectionRuntime
from wsactors.codec.codec import Codec
from wsactors.connection.limits import RuntimeConfig
from wsactors.di.injector import CallPlan, Context, Injector
from wsactors.di.signature import read_params
from wsactors.exceptions import BadRequestError
from wsactors.socket.datastructures import Headers, QueryParams, State
from wsactors.transport import Capabilities


class FakeApp:
    """Just what injection reads from the App: its shared state."""

    def __init__(self) -> None:
        self.state = State({"shared": True})


def make_socket(
    *,
    query: bytes = b"",
    path_params: dict[str, Any] | None = None,
    app: Any = None,
) -> WebSocket:
    scope: dict[str, Any] = {
        "type": "websocket",
        "path": "/test",
        "query_string": query,
        "headers": [(b"x-token", b"secret")],
        "subprotocols": [],
    }
    if app is not None:
        scope["app"] = app
    runtime = ConnectionRuntime(Capabilities(), (), RuntimeConfig(), Codec(), scope["path"])
    return WebSocket(runtime, scope, path_params=path_params)


def plan_for(
    fn: Callable[..., Any],
    dependencies: dict[str, Any] | None = None,
    path_params: dict[str, type] | None = None,
) -> CallPlan:
    injector = Injector(dependencies or {}, path_params or {})
    return injector.plan(fn, read_params(fn))


@asynccontextmanager
async def cleanups() -> AsyncIterator[Cleanups]:
    """A connection's cleanups, run when the block ends (as ``supervise`` does)."""
    stack = Cleanups()
    try:
        yield stack
    finally:
        await stack.aclose()


async def resolve(
    fn: Callable[..., Any],
    socket: WebSocket,
    dependencies: dict[str, Any] | None = None,
    path_params: dict[str, type] | None = None,
) -> dict[str, Any]:
    plan = plan_for(fn, dependencies, path_params)
    async with cleanups() as stack:
        return await plan.kwargs(Context(socket, stack))


# --------------------------------------------------------------------- reserved names
async def test_reserved_names_are_injected() -> None:
    def handler(
        socket: WebSocket, scope: dict[str, Any], headers: Headers, query: QueryParams
    ) -> None:
        pass

    socket = make_socket(query=b"a=1")
    kwargs = await resolve(handler, socket)
    assert kwargs["socket"] is socket
    assert kwargs["scope"] is socket.scope
    assert kwargs["headers"]["X-Token"] == "secret"
    assert kwargs["query"]["a"] == "1"


async def test_state_is_the_app_state_when_there_is_an_app() -> None:
    def handler(state: State) -> None:
        pass

    app = FakeApp()
    assert (await resolve(handler, make_socket(app=app)))["state"] is app.state
    lonely = make_socket()
    assert (await resolve(handler, lonely))["state"] is lonely.state


async def test_reserved_names_win_over_dependencies() -> None:
    def handler(socket: WebSocket) -> None:
        pass

    socket = make_socket()
    kwargs = await resolve(handler, socket, {"socket": lambda: "impostor"})
    assert kwargs["socket"] is socket


def test_plan_skips_given_names() -> None:
    def listener(data: str, socket: WebSocket) -> None:
        pass

    plan = Injector({}, {}).plan(listener, read_params(listener), given=frozenset({"data"}))
    assert plan.names == {"socket"}


async def test_given_values_are_passed_through() -> None:
    def listener(data: str, socket: WebSocket) -> None:
        pass

    socket = make_socket()
    plan = Injector({}, {}).plan(listener, read_params(listener), given=frozenset({"data"}))
    async with cleanups() as stack:
        kwargs = await plan.kwargs(Context(socket, stack), data="hello")
    assert kwargs == {"data": "hello", "socket": socket}


# --------------------------------------------------------------------- path parameters
async def test_path_parameters_are_injected_by_name() -> None:
    def handler(id: int, room: str) -> None:
        pass

    socket = make_socket(path_params={"id": 7, "room": "lobby"})
    kwargs = await resolve(handler, socket, path_params={"id": int, "room": str})
    assert kwargs == {"id": 7, "room": "lobby"}


async def test_path_parameters_win_over_dependencies_and_query() -> None:
    def handler(id: int) -> None:
        pass

    socket = make_socket(query=b"id=99", path_params={"id": 7})
    kwargs = await resolve(handler, socket, {"id": lambda: 1234}, {"id": int})
    assert kwargs == {"id": 7}


# --------------------------------------------------------------------- query parameters
async def test_query_parameters_are_converted() -> None:
    def handler(
        name: str, count: int, ratio: float, flag: bool, ident: uuid.UUID, tags: list[int]
    ) -> None:
        pass

    ident = uuid.uuid4()
    socket = make_socket(
        query=f"name=ann&count=3&ratio=0.5&flag=yes&ident={ident}&tags=1&tags=2".encode()
    )
    kwargs = await resolve(handler, socket)
    assert kwargs == {
        "name": "ann",
        "count": 3,
        "ratio": 0.5,
        "flag": True,
        "ident": ident,
        "tags": [1, 2],
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("On", True), ("0", False), ("FALSE", False), ("no", False)],
)
async def test_bool_query_parameter(raw: str, expected: bool) -> None:
    def handler(flag: bool) -> None:
        pass

    assert (await resolve(handler, make_socket(query=f"flag={raw}".encode())))["flag"] is expected


async def test_missing_required_query_parameter_is_bad_request() -> None:
    def handler(count: int) -> None:
        pass

    with pytest.raises(BadRequestError, match="missing query parameter 'count'") as caught:
        await resolve(handler, make_socket())
    assert caught.value.status_code == 400


@pytest.mark.parametrize(
    ("annotation", "raw"),
    [(int, "x"), (float, "abc"), (bool, "maybe"), (uuid.UUID, "not-a-uuid"), (list[int], "x")],
)
async def test_malformed_query_parameter_is_bad_request(annotation: Any, raw: str) -> None:
    def handler(value: Any) -> None:
        pass

    handler.__annotations__["value"] = annotation
    with pytest.raises(BadRequestError, match="query parameter 'value'") as caught:
        await resolve(handler, make_socket(query=f"value={raw}".encode()))
    assert caught.value.status_code == 400


async def test_optional_and_default_query_parameters() -> None:
    def handler(
        maybe: int | None,
        also: int | None = 5,
        page: int = 1,
        tags: list[str] | None = None,
        many: list[int] | None = None,
    ) -> None:
        pass

    kwargs = await resolve(handler, make_socket())
    # An absent optional list is None, as declared, not [] (issue 13).
    assert kwargs == {"maybe": None, "also": 5, "page": 1, "tags": None, "many": None}
    kwargs = await resolve(handler, make_socket(query=b"maybe=2&page=3&tags=a&tags=b"))
    assert kwargs == {"maybe": 2, "also": 5, "page": 3, "tags": ["a", "b"], "many": None}


async def test_unannotated_parameter_with_a_default_is_a_str_query_parameter() -> None:
    def handler(sort="asc") -> None:  # type: ignore[no-untyped-def]
        pass

    assert (await resolve(handler, make_socket()))["sort"] == "asc"
    assert (await resolve(handler, make_socket(query=b"sort=desc")))["sort"] == "desc"


def test_unannotated_unknown_name_is_improperly_configured() -> None:
    def handler(socket, mystery) -> None:  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(ImproperlyConfiguredError, match="'mystery'"):
        plan_for(handler)


def test_unsupported_query_annotation_is_improperly_configured() -> None:
    def handler(filters: dict[str, str]) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="'filters'"):
        plan_for(handler)


def test_bad_parameter_fails_when_the_app_is_built() -> None:
    @websocket("/ws")
    async def handler(socket: WebSocket, mystery) -> None:  # type: ignore[no-untyped-def]
        pass

    with pytest.raises(ImproperlyConfiguredError, match="mystery"):
        App([handler])


def test_var_args_are_improperly_configured() -> None:
    def handler(*args: Any, **kwargs: Any) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match=r"\*args"):
        read_params(handler)


# --------------------------------------------------------------------- dependencies
async def test_sync_and_async_dependencies_and_nesting() -> None:
    def config() -> dict[str, str]:
        return {"dsn": "db://"}

    async def db(config: dict[str, str], headers: Headers) -> str:
        return f"{config['dsn']}{headers['x-token']}"

    def handler(db: str) -> None:
        pass

    kwargs = await resolve(handler, make_socket(), {"config": config, "db": Provide(db)})
    assert kwargs == {"db": "db://secret"}


async def test_dependency_may_ask_for_query_and_path_parameters() -> None:
    def user(id: int, verbose: bool = False) -> str:
        return f"user{id}{'!' if verbose else ''}"

    def handler(user: str) -> None:
        pass

    socket = make_socket(query=b"verbose=1", path_params={"id": 3})
    assert (await resolve(handler, socket, {"user": user}, {"id": int})) == {"user": "user3!"}


async def test_cached_dependency_resolves_once_per_connection() -> None:
    calls: list[str] = []

    def counter() -> int:
        calls.append("counter")
        return len(calls)

    def a(counter: int) -> int:
        return counter

    def b(counter: int) -> int:
        return counter

    def handler(a: int, b: int, counter: int) -> None:
        pass

    kwargs = await resolve(handler, make_socket(), {"counter": counter, "a": a, "b": b})
    assert kwargs == {"a": 1, "b": 1, "counter": 1}
    assert calls == ["counter"]


async def test_uncached_dependency_is_called_for_each_consumer() -> None:
    calls: list[str] = []

    def counter() -> int:
        calls.append("counter")
        return len(calls)

    def a(counter: int) -> int:
        return counter

    def handler(a: int, counter: int) -> None:
        pass

    deps = {"counter": Provide(counter, use_cache=False), "a": a}
    kwargs = await resolve(handler, make_socket(), deps)
    assert sorted(kwargs.values()) == [1, 2]
    assert len(calls) == 2


async def test_yield_dependencies_clean_up_in_reverse_order() -> None:
    events: list[str] = []

    def sync_gen() -> Iterator[str]:
        events.append("enter sync")
        yield "s"
        events.append("exit sync")

    async def async_gen(sync_gen: str) -> AsyncIterator[str]:
        events.append("enter async")
        yield sync_gen + "a"
        events.append("exit async")

    def handler(async_gen: str) -> None:
        pass

    plan = plan_for(handler, {"sync_gen": sync_gen, "async_gen": async_gen})
    async with cleanups() as stack:
        kwargs = await plan.kwargs(Context(make_socket(), stack))
        assert kwargs == {"async_gen": "sa"}
        assert events == ["enter sync", "enter async"]
    assert events == ["enter sync", "enter async", "exit async", "exit sync"]


async def test_yield_dependency_cleanup_runs_when_the_handler_fails() -> None:
    events: list[str] = []

    async def resource() -> AsyncIterator[str]:
        try:
            yield "r"
        finally:
            events.append("released")

    def handler(resource: str) -> None:
        pass

    plan = plan_for(handler, {"resource": resource})

    async def connection() -> None:
        async with cleanups() as stack:
            await plan.kwargs(Context(make_socket(), stack))
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await connection()
    assert events == ["released"]


async def test_yield_dependency_yielding_twice_is_an_error_at_cleanup() -> None:
    def twice() -> Iterator[int]:
        yield 1
        yield 2

    def handler(twice: int) -> None:
        pass

    plan = plan_for(handler, {"twice": twice})
    with pytest.raises(RuntimeError, match="yielded more than once"):
        async with cleanups() as stack:
            await plan.kwargs(Context(make_socket(), stack))


async def test_sync_to_thread_runs_in_a_worker_thread() -> None:
    def where() -> int:
        return threading.get_ident()

    def handler(where: int) -> None:
        pass

    kwargs = await resolve(handler, make_socket(), {"where": Provide(where, sync_to_thread=True)})
    assert kwargs["where"] != threading.get_ident()
    inline = await resolve(handler, make_socket(), {"where": where})
    assert inline["where"] == threading.get_ident()


def test_provide_detects_the_kind() -> None:
    def sync() -> int:
        return 1

    async def coro() -> int:
        return 1

    def gen() -> Iterator[int]:
        yield 1

    async def agen() -> AsyncIterator[int]:
        yield 1

    class Plain:
        pass

    kinds = {f.__name__: Provide(f).kind for f in (sync, coro, gen, agen, Plain)}
    assert kinds == {
        "sync": "sync",
        "coro": "async",
        "gen": "gen",
        "agen": "asyncgen",
        "Plain": "sync",
    }


def test_provide_needs_a_callable() -> None:
    with pytest.raises(ImproperlyConfiguredError, match="callable"):
        Provide(42)  # type: ignore[arg-type]


class Greeter:
    """A callable object: ``Provide(Greeter())`` is a callable like any other."""

    async def __call__(self, headers: Headers) -> str:
        return f"hello {headers['x-token']}"


async def _greet(prefix: str, headers: Headers) -> str:
    return f"{prefix} {headers['x-token']}"


@pytest.mark.parametrize(
    "dependency", [Greeter(), functools.partial(_greet, "hello")], ids=["object", "partial"]
)
async def test_callable_objects_and_partials_are_dependencies(dependency: Any) -> None:
    """Regression: annotations used to be read from the object itself and fail."""

    def handler(greeting: str) -> None:
        pass

    kwargs = await resolve(handler, make_socket(), {"greeting": Provide(dependency)})
    assert kwargs == {"greeting": "hello secret"}


class Pager:
    # At module level: this file's annotations are strings (PEP 563), and a class
    # local to a test could not be resolved from them.
    def __init__(self, headers: Headers) -> None:
        self.token = headers["x-token"]

    def __call__(self) -> Iterator[int]:
        yield 1


async def test_class_with_a_generator_call_method_is_a_plain_dependency() -> None:
    """Regression: calling the class builds an instance; its __call__ is irrelevant."""

    def handler(pager: Pager) -> None:
        pass

    assert Provide(Pager).kind == "sync"
    kwargs = await resolve(handler, make_socket(), {"pager": Pager})
    assert isinstance(kwargs["pager"], Pager)


# --------------------------------------------------------------------- cycles
def test_dependency_cycle_is_improperly_configured() -> None:
    def a(b: int) -> int:
        return b

    def b(a: int) -> int:
        return a

    def handler(a: int) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="dependency cycle: a -> b -> a"):
        plan_for(handler, {"a": a, "b": b})


def test_self_dependency_is_a_cycle() -> None:
    def a(a: int) -> int:
        return a

    def handler(a: int) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="dependency cycle: a -> a"):
        plan_for(handler, {"a": a})


def test_cycle_fails_when_the_app_is_built() -> None:
    def a(b: int) -> int:
        return b

    def b(a: int) -> int:
        return a

    @websocket("/ws", dependencies={"a": a, "b": b})
    async def handler(socket: WebSocket, a: int) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="cycle"):
        App([handler])


def test_shared_dependency_is_not_a_cycle() -> None:
    def base() -> int:
        return 1

    def left(base: int) -> int:
        return base

    def right(base: int, left: int) -> int:
        return base + left

    def handler(left: int, right: int) -> None:
        pass

    assert plan_for(handler, {"base": base, "left": left, "right": right}).names == {
        "left",
        "right",
    }
