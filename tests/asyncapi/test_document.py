"""What the AsyncAPI document says about each kind of route (unit tests, no I/O)."""

from __future__ import annotations

from dataclasses import make_dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from typed_app import create_app

from wsactors import App, ImproperlyConfiguredError, Router, websocket, websocket_listener
from wsactors.demo import create_app as create_demo_app

Document = dict[str, Any]


@pytest.fixture(scope="module")
def typed() -> Document:
    document: Document = create_app().asyncapi(
        title="typed", version="2.0.0", description="Test routes."
    )
    return document


@pytest.fixture(scope="module")
def demo() -> Document:
    return create_demo_app().asyncapi(servers={"local": "ws://127.0.0.1:8000"})


def schema(document: Document, name: str) -> Document:
    found: Document = document["components"]["schemas"][name]
    return found


def test_info_and_servers(typed: Document, demo: Document) -> None:
    assert typed["asyncapi"] == "3.0.0"
    assert typed["info"] == {"title": "typed", "version": "2.0.0", "description": "Test routes."}
    assert "servers" not in typed
    assert demo["servers"] == {"local": {"host": "127.0.0.1:8000", "protocol": "ws"}}
    document = App([]).asyncapi(servers={"p": "wss://example.com/api", "raw": {"host": "h"}})
    assert document["servers"] == {
        "p": {"host": "example.com", "protocol": "wss", "pathname": "/api"},
        "raw": {"host": "h"},
    }
    with pytest.raises(ImproperlyConfiguredError, match="not a ws:// or wss:// URL"):
        App([]).asyncapi(servers={"bad": "http://example.com"})


def test_one_channel_per_route_with_its_address(demo: Document) -> None:
    addresses = {key: channel["address"] for key, channel in demo["channels"].items()}
    assert addresses == {
        "live_clock": "/ws/clock",
        "json_box": "/ws/json",
        "echo": "/ws/echo",
        "ChatListener": "/ws/chat/{room}",
    }
    chat = demo["channels"]["ChatListener"]
    assert chat["parameters"] == {"room": {"description": "`str`: one path segment (no `/`)"}}
    assert chat["bindings"]["ws"]["query"] == {
        "type": "object",
        "properties": {"name": {"type": "string", "default": ""}},
    }
    assert chat["summary"].startswith("One chat connection")


def test_listener_receives_data_and_replies(demo: Document) -> None:
    channel = demo["channels"]["json_box"]
    assert channel["messages"]["received"]["payload"] == {"$ref": "#/components/schemas/Point"}
    assert channel["messages"]["reply"]["payload"] == {"$ref": "#/components/schemas/PointResult"}
    assert channel["messages"]["received"]["contentType"] == "application/json"
    operation = demo["operations"]["json_box_receive"]
    assert operation["action"] == "receive"
    assert operation["messages"] == [{"$ref": "#/channels/json_box/messages/received"}]
    assert operation["reply"]["messages"] == [{"$ref": "#/channels/json_box/messages/reply"}]
    assert schema(demo, "Point")["required"] == ["x", "y"]
    assert "**1007**" in channel["description"]
    assert "**1009**: a message larger than 4096" in (channel["description"])


def test_stream_sends_what_it_yields(demo: Document) -> None:
    operation = demo["operations"]["live_clock_send"]
    assert operation["action"] == "send"
    assert demo["channels"]["live_clock"]["messages"]["sent"]["payload"] == {
        "$ref": "#/components/schemas/Tick"
    }
    assert "**1008**: any message from the client" in demo["channels"]["live_clock"]["description"]
    assert "live_clock_receive" not in demo["operations"]


def test_low_level_handler_is_opaque_unless_declared(demo: Document, typed: Document) -> None:
    echo = demo["channels"]["echo"]["messages"]
    assert "payload" not in echo["received"]
    assert "payload" not in echo["sent"]
    raw = typed["channels"]["raw"]["messages"]
    assert raw["received"]["payload"] == {"$ref": "#/components/schemas/Item"}
    assert raw["sent"]["payload"] == {"$ref": "#/components/schemas/Pair"}
    assert {"raw_receive", "raw_send"} <= set(typed["operations"])


def test_types_from_msgspec(typed: Document) -> None:
    order = schema(typed, "Order")["properties"]
    assert order["id"] == {"type": "string", "format": "uuid"}
    assert order["placed"] == {"type": "string", "format": "date-time"}
    assert order["due"]["anyOf"][0] == {"type": "string", "format": "date-time"}
    assert order["color"] == {"$ref": "#/components/schemas/Color"}
    assert order["notes"]["additionalProperties"] == {"type": "integer"}
    assert schema(typed, "Item")["properties"]["price"] == {
        "anyOf": [{"type": "string", "format": "decimal"}, {"type": "number"}]
    }
    assert schema(typed, "Color")["enum"] == ["green", "red"]
    assert schema(typed, "Level")["enum"] == [1, 2]
    assert schema(typed, "Address")["required"] == ["street", "zip"]  # as Python recorded it
    pair = schema(typed, "Pair")
    assert pair["items"] == [{"type": "integer"}, {"type": "number"}]
    assert pair["additionalItems"] is False
    assert "prefixItems" not in pair
    shapes = typed["channels"]["shapes"]["messages"]["received"]["payload"]
    assert shapes == {
        "anyOf": [{"$ref": "#/components/schemas/Circle"}, {"$ref": "#/components/schemas/Square"}]
    }


def test_dto_renames_and_exclusions(typed: Document) -> None:
    messages = typed["channels"]["accounts"]["messages"]
    assert messages["received"]["payload"] == {"$ref": "#/components/schemas/AccountIn"}
    assert messages["reply"]["payload"] == {"$ref": "#/components/schemas/AccountOut"}
    assert set(schema(typed, "AccountIn")["properties"]) == {"name", "emailAddress", "password"}
    assert set(schema(typed, "AccountOut")["properties"]) == {"name", "emailAddress", "id"}
    assert "Account" not in typed["components"]["schemas"]


def test_content_type_follows_mode_and_codec(typed: Document) -> None:
    text = typed["channels"]["text"]["messages"]
    assert text["received"]["contentType"] == "application/octet-stream"  # str, binary frames
    assert text["received"]["x-wsactors-frame"] == "binary"
    assert text["reply"]["contentType"] == "text/plain"  # bytes sent in text frames
    assert text["reply"]["payload"] == {"type": "string", "format": "binary"}
    raw_bytes = typed["channels"]["raw_bytes"]
    assert raw_bytes["messages"]["received"]["contentType"] == "text/plain"
    assert "reply" not in raw_bytes["messages"]  # returns None: no reply
    assert "**1007**" not in raw_bytes["description"]  # bytes never fail to decode
    assert "invalid UTF-8" in typed["channels"]["text"]["description"]
    pairs = typed["channels"]["pairs"]["messages"]["received"]
    assert (pairs["contentType"], pairs["x-wsactors-frame"]) == ("application/json", "binary")


def test_query_parameters_path_parameters_and_headers(typed: Document) -> None:
    levels = typed["channels"]["levels"]
    assert levels["address"] == "/levels/{n}"
    assert levels["parameters"]["n"]["description"].startswith("`int`")
    query = levels["bindings"]["ws"]["query"]
    assert query["required"] == ["limit"]
    assert query["properties"]["limit"] == {"type": "integer"}
    assert query["properties"]["tags"] == {"type": "array", "items": {"type": "string"}}
    counter = typed["channels"]["Counter"]
    assert counter["address"] == "/api/counter/{room}"
    # `db` is the Router's dependency; its own `page` parameter comes from the query.
    assert counter["bindings"]["ws"]["query"]["properties"] == {
        "page": {"type": "integer", "default": 1}
    }
    assert counter["parameters"]["room"]["description"].startswith("`path`")
    headers = counter["bindings"]["ws"]["headers"]
    assert headers["required"] == ["Origin"]
    assert "https://example.com" in headers["properties"]["Origin"]["description"]
    ticks = typed["channels"]["ticks"]
    assert ticks["parameters"]["id"]["description"].startswith("`uuid`")


def test_close_codes_of_limits_and_the_discard_rule(typed: Document) -> None:
    shapes = typed["channels"]["shapes"]["description"]
    assert "**1009**: a message larger than 1024 bytes" in shapes
    assert "**1008**: more than 10 messages in 1 s (rate limit)" in shapes
    assert (
        "**1001**: no message for 30 s (idle timeout)"
        in typed["channels"]["Counter"]["description"]
    )
    assert "**1008**" not in typed["channels"]["ticks"]["description"]  # allow_data_discard


def test_equal_names_get_distinct_keys() -> None:
    def listener(model: type) -> Any:
        def handler(data):  # type: ignore[no-untyped-def]
            return None

        # Set at run time: this module's annotations are strings, and `model` is local.
        handler.__annotations__ = {"data": model, "return": None}
        return websocket_listener("/m")(handler)

    first = listener(make_dataclass("Model", [("value", int)]))
    second = listener(make_dataclass("Model", [("value", str)]))
    app = App([Router("/a", [first]), Router("/b", [second])])
    document = app.asyncapi()
    assert set(document["channels"]) == {"handler", "handler_2"}
    assert set(document["components"]["schemas"]) == {"Model", "Model_2"}
    assert schema(document, "Model_2")["properties"] == {"value": {"type": "string"}}
    payloads = [c["messages"]["received"]["payload"] for c in document["channels"].values()]
    assert payloads == [
        {"$ref": "#/components/schemas/Model"},
        {"$ref": "#/components/schemas/Model_2"},
    ]


def test_websocket_receives_and_sends_are_docs_only() -> None:
    @websocket("/w", receives=int, sends=list[str])
    async def handler(socket: Any) -> None:
        await socket.accept()

    assert (handler.receives, handler.sends) == (int, list[str])
    channel = App([handler]).asyncapi()["channels"]["handler"]
    assert channel["messages"]["received"]["payload"] == {"type": "integer"}
    assert channel["messages"]["sent"]["payload"] == {"type": "array", "items": {"type": "string"}}


def test_the_docs_show_part_of_the_real_demo_document() -> None:
    """docs/asyncapi.md's abridged demo document: every key and value is the real one's."""
    page = (Path(__file__).resolve().parents[2] / "docs" / "asyncapi.md").read_text()
    section = page.split("## The demo's document (abridged)", 1)[1]
    excerpt = yaml.safe_load(section.split("```yaml\n", 1)[1].split("```", 1)[0])
    real = create_demo_app().asyncapi(
        title="wsactors demo", version="0.1.0", servers={"local": "ws://127.0.0.1:8000"}
    )

    def contained(part: Any, whole: Any, where: str) -> None:
        if isinstance(part, dict):
            assert isinstance(whole, dict), where
            for key, value in part.items():
                assert key in whole, f"{where}/{key} is not in the document"
                contained(value, whole[key], f"{where}/{key}")
        else:
            assert part == whole, where

    contained(excerpt, real, "")
    assert set(excerpt["channels"]) < set(real["channels"])  # abridged, not a copy


def test_a_union_of_records_inside_a_field_is_left_undescribed() -> None:
    from typed_app import Circle, Square

    def handler(data):  # type: ignore[no-untyped-def]
        return None

    handler.__annotations__ = {"data": list[Circle | Square], "return": None}
    document = App([websocket_listener("/many")(handler)]).asyncapi()
    payload = document["channels"]["handler"]["messages"]["received"]["payload"]
    assert payload == {
        "type": "array",
        "items": {
            "anyOf": [
                {"$ref": "#/components/schemas/Circle"},
                {"$ref": "#/components/schemas/Square"},
            ]
        },
    }


def test_a_union_of_records_inside_a_record_field() -> None:
    from typed_app import Circle, Square

    drawing = make_dataclass("Drawing", [("shapes", dict[str, Circle | Square]), ("name", str, "")])

    def handler(data):  # type: ignore[no-untyped-def]
        return None

    handler.__annotations__ = {"data": drawing, "return": None}
    document = App([websocket_listener("/drawings")(handler)]).asyncapi()
    assert schema(document, "Drawing") == {
        "title": "Drawing",
        "type": "object",
        "properties": {
            "shapes": {
                "type": "object",
                "additionalProperties": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/Circle"},
                        {"$ref": "#/components/schemas/Square"},
                    ]
                },
            },
            "name": {"type": "string"},
        },
        "required": ["shapes"],
    }
    assert set(document["components"]["schemas"]) == {"Drawing", "Circle", "Square"}


def test_dto_applies_inside_other_records(typed: Document) -> None:
    payload = typed["channels"]["teams"]["messages"]["received"]["payload"]
    assert payload == {"$ref": "#/components/schemas/Team"}
    team = schema(typed, "Team")["properties"]
    assert team["lead"] == {"$ref": "#/components/schemas/AccountIn"}
    assert team["members"]["items"] == {"$ref": "#/components/schemas/AccountIn"}
