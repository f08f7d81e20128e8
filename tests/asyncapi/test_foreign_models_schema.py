"""What the AsyncAPI document says about pydantic models, msgspec Structs, attrs classes
and routes that forbid unknown fields (issue 21; unit tests, no I/O).

The official parser and the schema/codec property tests check the same App too
(``foreign`` in ``apps.APPS``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from foreign_app import Owner, create_app
from pydantic.json_schema import models_json_schema

from wsactors.asyncapi.schema import REF_PREFIX, SchemaSet

Document = dict[str, Any]


@pytest.fixture(scope="module")
def document() -> Document:
    found: Document = create_app().asyncapi()
    return found


def payload(document: Document, channel: str, message: str) -> Document:
    found: Document = document["channels"][channel]["messages"][message]["payload"]
    return found


def component(document: Document, ref: Document) -> Document:
    found: Document = document["components"]["schemas"][ref["$ref"].removeprefix(REF_PREFIX)]
    return found


def nodes(node: Any) -> Iterator[Any]:
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from nodes(value)


def test_a_pydantic_model_is_described_by_pydantic(document: Document) -> None:
    received = component(document, payload(document, "orders", "received"))
    # pydantic's own schema: its titles, its constraints, the alias as the key.
    assert received["title"] == "Order"
    assert set(received["properties"]) == {"id", "lines", "placed", "Note"}
    assert received["properties"]["id"] == {"format": "uuid", "title": "Id", "type": "string"}
    line = component(document, received["properties"]["lines"]["items"])
    assert line["properties"]["qty"] == {"minimum": 1, "title": "Qty", "type": "integer"}
    assert line["description"] == "One line of an order."


def test_a_reply_is_described_as_pydantic_serializes_it(document: Document) -> None:
    reply = component(document, payload(document, "orders", "reply"))
    assert reply["properties"]["total"] == {"readOnly": True, "title": "Total", "type": "integer"}
    assert "total" in reply["required"]
    received = component(document, payload(document, "orders", "received"))
    assert "total" not in received["properties"]


def test_discriminator_objects_are_left_out(document: Document) -> None:
    # pydantic and msgspec write OpenAPI's {"propertyName", "mapping"}; AsyncAPI's
    # discriminator is a string, and the official parser refuses the object.
    assert not any(isinstance(n, dict) and "discriminator" in n for n in nodes(document))
    owner = component(document, payload(document, "owners", "received"))
    assert owner["properties"]["pet"]["oneOf"] == [
        {"$ref": REF_PREFIX + "Cat"},
        {"$ref": REF_PREFIX + "Dog"},
    ]
    # pydantic's own schema had one.
    _, top = models_json_schema([(Owner, "validation")])
    assert "discriminator" in top["$defs"]["Owner"]["properties"]["pet"]


def test_a_struct_is_described_by_msgspec(document: Document) -> None:
    drawing = component(document, payload(document, "drawings", "received"))
    assert drawing["required"] == ["shape"]
    square = document["components"]["schemas"]["Square"]
    assert square["properties"]["type"] == {"enum": ["Square"]}
    closed = component(document, payload(document, "closed", "received"))
    assert closed["additionalProperties"] is False  # the Struct's forbid_unknown_fields


def test_unions_of_models_are_an_any_of(document: Document) -> None:
    assert payload(document, "Unions", "received") == {
        "anyOf": [
            {"$ref": REF_PREFIX + "Point"},
            {"$ref": REF_PREFIX + "Closed"},
            {"$ref": REF_PREFIX + "Line"},
        ]
    }


def test_a_stream_of_models(document: Document) -> None:
    assert payload(document, "feed", "sent") == {"$ref": REF_PREFIX + "Owner"}


def _objects(document: Document, ref: Document, seen: set[str] | None = None) -> Iterator[Document]:
    """Every object schema reachable from ``ref``, following ``$ref``s."""
    seen = set() if seen is None else seen
    for node in nodes(ref):
        if isinstance(node, dict) and "$ref" in node and node["$ref"] not in seen:
            seen.add(node["$ref"])
            body = component(document, node)
            if "properties" in body:
                yield body
            yield from _objects(document, body, seen)


def test_a_forbidding_route_receives_closed_objects_at_every_depth(document: Document) -> None:
    closed = list(_objects(document, payload(document, "parcels", "received")))
    titles = {body["title"] for body in closed}
    assert titles == {"Parcel", "Crate", "Line", "Drawing", "Square", "Circle", "Point", "Label"}
    assert all(body["additionalProperties"] is False for body in closed)
    # What it sends is described as it is, as are the same types on other routes.
    for channel, message in (("parcels", "reply"), ("drawings", "received")):
        found = list(_objects(document, payload(document, channel, message)))
        assert found
        assert all("additionalProperties" not in body for body in found)


def test_a_forbidding_router_closes_the_objects_its_routes_receive(document: Document) -> None:
    strict = component(document, payload(document, "orders_2", "received"))
    lenient = component(document, payload(document, "orders", "received"))
    assert strict["additionalProperties"] is False
    assert set(strict["properties"]) == set(lenient["properties"])
    assert strict["required"] == lenient["required"]
    line = component(document, strict["properties"]["lines"]["items"])
    assert line["additionalProperties"] is False
    # One component per distinct schema: both forbidding routes share Drawing_2.
    assert payload(document, "drawings_2", "received") == {"$ref": REF_PREFIX + "Drawing_2"}


def test_every_ref_resolves_and_names_are_unique(document: Document) -> None:
    names = document["components"]["schemas"]
    for node in nodes(document):
        if isinstance(node, dict) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            if ref.startswith(REF_PREFIX):
                assert ref.removeprefix(REF_PREFIX) in names
    bodies = [repr(sorted(body.items())) for body in names.values()]
    assert len(bodies) == len(set(bodies)), "one schema under two names"


def test_schemas_of_models_met_twice_are_merged_once() -> None:
    schemas = SchemaSet()
    first = schemas.payload(Owner)
    again = schemas.payload(Owner)
    closed = schemas.payload(Owner, forbid_unknown_fields=True)
    assert first == again == {"$ref": REF_PREFIX + "Owner"}
    assert closed == {"$ref": REF_PREFIX + "Owner_2"}
    assert sorted(schemas.components) == ["Cat", "Cat_2", "Dog", "Dog_2", "Owner", "Owner_2"]
