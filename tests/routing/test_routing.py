"""Path templates, the route table, and registration errors raised when an App is built."""

from __future__ import annotations

import uuid

import pytest

from wsactors import App, ImproperlyConfiguredError, Router, WebSocket, websocket
from wsactors.routing.paths import PathTemplate, RouteTable, join_paths, normalize_path


# --------------------------------------------------------------------- paths
@pytest.mark.parametrize(
    ("raw", "normalized"),
    [("", "/"), ("/", "/"), ("a", "/a"), ("/a/", "/a"), ("//a//b///", "/a/b")],
)
def test_normalize_path(raw: str, normalized: str) -> None:
    assert normalize_path(raw) == normalized


def test_join_paths() -> None:
    assert join_paths("/api/", "/chat") == "/api/chat"
    assert join_paths("/", "/") == "/"
    assert join_paths("/a", "b", "/c/") == "/a/b/c"


# --------------------------------------------------------------------- templates
def test_static_template() -> None:
    template = PathTemplate.compile("/chat/")
    assert template.path == "/chat"
    assert template.regex is None
    assert template.match("/chat") == {}
    assert template.match("/chat/x") is None


def test_int_parameter_is_converted() -> None:
    template = PathTemplate.compile("/items/{id:int}")
    assert template.param_types == {"id": int}
    assert template.match("/items/42") == {"id": 42}
    assert template.match("/items/-3") == {"id": -3}
    assert template.match("/items/4x") is None
    assert template.match("/items/x") is None
    assert template.match("/items/42/more") is None


def test_str_is_the_default_type_and_takes_one_segment() -> None:
    template = PathTemplate.compile("/chat/{room}")
    assert template.param_types == {"room": str}
    assert template.match("/chat/lobby") == {"room": "lobby"}
    assert template.match("/chat/a/b") is None


def test_float_uuid_and_path_parameters() -> None:
    assert PathTemplate.compile("/t/{v:float}").match("/t/1.5") == {"v": 1.5}
    assert PathTemplate.compile("/t/{v:float}").match("/t/2") == {"v": 2.0}
    ident = uuid.uuid4()
    assert PathTemplate.compile("/u/{u:uuid}").match(f"/u/{ident}") == {"u": ident}
    assert PathTemplate.compile("/u/{u:uuid}").match("/u/not-a-uuid") is None
    assert PathTemplate.compile("/f/{rest:path}").match("/f/a/b/c.txt") == {"rest": "a/b/c.txt"}


def test_several_parameters_and_literals_are_escaped() -> None:
    template = PathTemplate.compile("/r/{room}/m.{n:int}")
    assert template.match("/r/a/m.7") == {"room": "a", "n": 7}
    assert template.match("/r/a/mx7") is None  # "." is literal, not a regex wildcard


def test_unknown_parameter_type_is_improperly_configured() -> None:
    with pytest.raises(ImproperlyConfiguredError, match="unknown parameter type 'bogus'"):
        PathTemplate.compile("/a/{x:bogus}")


def test_repeated_parameter_is_improperly_configured() -> None:
    with pytest.raises(ImproperlyConfiguredError, match="repeated"):
        PathTemplate.compile("/a/{x}/{x}")


# --------------------------------------------------------------------- route table
def make_table() -> RouteTable[str]:
    table: RouteTable[str] = RouteTable()
    table.add(PathTemplate.compile("/a/{x:int}"), "int")
    table.add(PathTemplate.compile("/a/b"), "static")
    table.add(PathTemplate.compile("/a/{s}"), "str")
    return table


def test_static_routes_win_over_templates() -> None:
    assert make_table().match("/a/b") == ("static", {})


def test_templates_are_tried_in_registration_order() -> None:
    table = make_table()
    assert table.match("/a/5") == ("int", {"x": 5})
    assert table.match("/a/z") == ("str", {"s": "z"})


def test_lookup_normalizes_the_request_path() -> None:
    assert make_table().match("/a/b/") == ("static", {})
    assert make_table().match("//a//5") == ("int", {"x": 5})


def test_no_match_is_none() -> None:
    assert make_table().match("/nope") is None
    assert make_table().match("/a/b/c") is None


def test_iteration_yields_every_route() -> None:
    assert sorted(make_table()) == ["int", "static", "str"]


def test_duplicate_static_path_is_improperly_configured() -> None:
    table: RouteTable[str] = RouteTable()
    table.add(PathTemplate.compile("/a"), "first")
    with pytest.raises(ImproperlyConfiguredError, match="duplicate route"):
        table.add(PathTemplate.compile("/a/"), "second")


def test_same_template_with_other_names_is_a_duplicate() -> None:
    table: RouteTable[str] = RouteTable()
    table.add(PathTemplate.compile("/a/{x:int}"), "first")
    with pytest.raises(ImproperlyConfiguredError, match="duplicate route"):
        table.add(PathTemplate.compile("/a/{y:int}"), "second")


# --------------------------------------------------------------------- App registration
@websocket("/one")
async def one(socket: WebSocket) -> None:
    await socket.accept()


def test_app_registers_routes_under_nested_routers() -> None:
    @websocket("/leaf/{id:int}")
    async def leaf(socket: WebSocket, id: int) -> None:
        await socket.accept()

    app = App([one, Router("/api/", [Router("v1", [leaf])])])
    matched = app.routes.match("/api/v1/leaf/9")
    assert matched is not None
    route, params = matched
    assert route.handler is leaf
    assert params == {"id": 9}
    assert app.routes.match("/one") is not None


def test_app_rejects_a_duplicate_path_when_built() -> None:
    @websocket("/api/one")
    async def other(socket: WebSocket) -> None:
        await socket.accept()

    with pytest.raises(ImproperlyConfiguredError, match="duplicate route"):
        App([Router("/api", [one]), other])


def test_app_rejects_things_that_are_not_handlers() -> None:
    async def plain(socket: WebSocket) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="not a route handler"):
        App([plain])


def test_websocket_handler_must_be_async() -> None:
    @websocket("/sync")
    def sync_handler(socket: WebSocket) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="async def"):
        App([sync_handler])


def test_websocket_handler_must_take_socket() -> None:
    @websocket("/nosocket")
    async def no_socket() -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="socket"):
        App([no_socket])


def test_websocket_handler_must_return_none() -> None:
    @websocket("/returns")
    async def returns(socket: WebSocket) -> int:
        return 1

    with pytest.raises(ImproperlyConfiguredError, match="return None"):
        App([returns])


def test_litestar_request_parameter_is_improperly_configured() -> None:
    @websocket("/req")
    async def with_request(socket: WebSocket, request: object) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="request"):
        App([with_request])


def test_websocket_class_must_subclass_websocket() -> None:
    with pytest.raises(ImproperlyConfiguredError, match="WebSocket subclass"):
        App([one], websocket_class=dict)  # type: ignore[arg-type]


def test_route_path_must_be_a_string() -> None:
    with pytest.raises(ImproperlyConfiguredError, match="path must be a str"):
        websocket(123)(one.fn)  # type: ignore[arg-type]
