"""Sans-I/O tests of pydantic models, msgspec Structs and attrs classes as message types,
and of ``forbid_unknown_fields`` for every type kind (issue 21).

Decoders and encoders are taken from a ``Codec`` exactly as a listener takes them.
No ``from __future__ import annotations``: the types below are the real ones.
"""

import datetime
import json
import os
import pathlib
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, TypedDict

import attrs
import msgspec
import pytest
from pydantic import BaseModel, ConfigDict, Field, field_validator

from wsactors import (
    DTO,
    App,
    ImproperlyConfiguredError,
    Router,
    WebSocket,
    WebSocketListener,
    websocket,
    websocket_listener,
    websocket_stream,
)
from wsactors.codec.codec import Codec
from wsactors.codec.models import is_pydantic_model, is_struct
from wsactors.exceptions import InvalidMessageError


# ---------------------------------------------------------------- the types
class Item(BaseModel):
    name: str
    qty: int = 1


class Order(BaseModel):
    id: uuid.UUID
    items: list[Item]
    placed: datetime.datetime | None = None
    note: str = Field(default="", alias="Note")


class StrictOrder(BaseModel):
    model_config = ConfigDict(strict=True)

    placed: datetime.datetime
    pair: tuple[int, str]
    tags: set[str]


class Open(BaseModel):
    model_config = ConfigDict(extra="allow")

    a: int


class Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: int


class Cat(BaseModel):
    kind: Literal["cat"] = "cat"
    lives: int


class Dog(BaseModel):
    kind: Literal["dog"] = "dog"
    good: bool


class Owner(BaseModel):
    pet: Cat | Dog = Field(discriminator="kind")


class Checked(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def no_spaces(cls, value: str) -> str:
        if " " in value:
            raise ValueError("no spaces allowed")
        return value


class Point(msgspec.Struct):
    x: int
    y: int


class Path(msgspec.Struct):
    points: list[Point]
    closed: bool = False


class Square(msgspec.Struct, tag=True):
    side: int


class Circle(msgspec.Struct, tag=True):
    radius: float


class Drawing(msgspec.Struct):
    shape: Square | Circle
    labels: dict[str, int] = {}


class StrictPoint(msgspec.Struct, forbid_unknown_fields=True):
    x: int


class Stamped(msgspec.Struct):
    at: datetime.datetime
    id: uuid.UUID
    blob: bytes


@dataclass
class Meta:
    source: str


class Tagged(msgspec.Struct):
    meta: Meta
    point: Point


@attrs.define
class Crate:
    label: str
    items: list[Item] = attrs.field(factory=list)


@dataclass
class Envelope:
    order: Order
    path: Path | None = None


class Movie(TypedDict):
    title: str


class Pair(NamedTuple):
    left: int
    right: str


@dataclass
class Plain:
    name: str
    inner: Meta | None = None


ORDER = {
    "id": "12345678-1234-5678-1234-567812345678",
    "items": [{"name": "tea", "qty": 2}],
    "placed": "2024-05-01T12:30:00+00:00",
    "Note": "hot",
}


def decode(tp: Any, value: Any, *, forbid: bool = False) -> Any:
    return Codec(forbid_unknown_fields=forbid).decoder(tp)(json.dumps(value))


def reason(tp: Any, value: Any, *, forbid: bool = False) -> str:
    with pytest.raises(InvalidMessageError) as refused:
        decode(tp, value, forbid=forbid)
    assert refused.value.code == 1007
    return refused.value.reason


def encode(tp: Any, value: Any) -> Any:
    payload = Codec().encoder(tp)(value)
    assert isinstance(payload, str)
    return json.loads(payload)


# ---------------------------------------------------------------- recognising them
def test_models_are_recognised_by_their_bases() -> None:
    assert is_pydantic_model(Order)
    assert is_struct(Point)
    assert not is_pydantic_model(Point)
    assert not is_struct(Order)
    for other in (Plain, Crate, Movie, Pair, int, list[Item], "Order"):
        assert not is_pydantic_model(other)
        assert not is_struct(other)


def test_import_wsactors_imports_neither_pydantic_nor_msgspec() -> None:
    code = (
        "import sys, wsactors, wsactors.testing, wsactors.asyncapi, wsactors.cli.main; "
        "print('pydantic' in sys.modules, 'msgspec' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    assert done.stdout.split() == ["False", "False"]


# ---------------------------------------------------------------- pydantic: in
def test_a_pydantic_model_is_validated_by_pydantic() -> None:
    order = decode(Order, ORDER)
    assert isinstance(order, Order)
    assert order.items == [Item(name="tea", qty=2)]
    assert order.placed == datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)
    assert order.note == "hot"  # read by its alias, as pydantic does


def test_a_pydantic_model_is_lax_unless_its_config_says_strict() -> None:
    assert decode(Item, {"name": "tea", "qty": "5"}).qty == 5
    assert reason(Item, {"name": "tea", "qty": "five"}).startswith("qty: Input should be")


def test_a_strict_pydantic_model_reads_json_forms() -> None:
    # Validated as JSON: strict mode still reads ISO 8601 strings, arrays as tuples and sets.
    value = {"placed": "2024-05-01T12:30:00Z", "pair": [1, "a"], "tags": ["x"]}
    order = decode(StrictOrder, value)
    assert order.pair == (1, "a")
    assert order.tags == {"x"}
    assert reason(StrictOrder, {**value, "pair": ["1", "a"]}) == (
        "pair[0]: Input should be a valid integer"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            {**ORDER, "items": [{"name": "tea"}, {"qty": 1}]},
            "items[1].name: required field missing",
        ),
        ({**ORDER, "id": "nope"}, "id: Input should be a valid UUID"),
        ([1, 2], "Input should be an object"),
    ],
)
def test_pydantic_errors_name_the_field_path(value: Any, expected: str) -> None:
    assert reason(Order, value).startswith(expected)


def test_the_member_pydantic_tried_is_not_a_step_of_the_path() -> None:
    # pydantic's loc is ("pet", "cat", "lives"): "cat" is the union's tag, no key.
    assert reason(Owner, {"pet": {"kind": "cat"}}) == "pet.lives: required field missing"
    assert decode(Owner, {"pet": {"kind": "dog", "good": True}}).pet == Dog(good=True)


def test_a_validator_message_is_the_reason() -> None:
    assert reason(Checked, {"name": "a b"}) == "name: Value error, no spaces allowed"


def test_a_pydantic_model_inside_a_record_is_named_from_the_top() -> None:
    value = {"order": {**ORDER, "items": [{"name": 5}]}}
    assert reason(Envelope, value) == "order.items[0].name: Input should be a valid string"
    assert reason(list[Item], [{"name": "a"}, {}]) == "[1].name: required field missing"


def test_pydantic_models_in_containers_and_optionals() -> None:
    assert decode(list[Item], [{"name": "a"}]) == [Item(name="a")]
    assert decode(dict[str, Item], {"k": {"name": "a"}}) == {"k": Item(name="a")}
    assert decode(Item | None, None) is None
    crate = decode(Crate, {"label": "c", "items": [{"name": "a", "qty": 3}]})
    assert crate == Crate("c", [Item(name="a", qty=3)])


def test_a_union_of_pydantic_models_is_decided_in_declaration_order() -> None:
    assert decode(Cat | Dog, {"lives": 9}) == Cat(lives=9)
    assert decode(Cat | Dog, {"good": False}) == Dog(good=False)
    assert reason(Cat | Dog, {"good": "very"}).startswith(
        "fits none of Cat, Dog; as Dog: good: Input should be a valid boolean"
    )


# ---------------------------------------------------------------- pydantic: out
def test_a_pydantic_model_is_sent_as_pydantic_dumps_it_by_alias() -> None:
    order = Order.model_validate(ORDER)
    assert encode(Order, order) == {
        "id": "12345678-1234-5678-1234-567812345678",
        "items": [{"name": "tea", "qty": 2}],
        "placed": "2024-05-01T12:30:00Z",
        "Note": "hot",
    }
    assert encode(Any, [Item(name="a")]) == [{"name": "a", "qty": 1}]
    assert encode(Envelope, Envelope(order))["order"]["Note"] == "hot"


def test_a_pydantic_return_type_is_sendable() -> None:
    for tp in (Order, list[Item], Item | None, dict[str, Owner], Envelope, Cat | Dog):
        Codec().encoder(tp)


# ---------------------------------------------------------------- msgspec: in and out
def test_a_struct_is_validated_by_msgspec() -> None:
    path = decode(Path, {"points": [{"x": 1, "y": 2}]})
    assert path == Path([Point(1, 2)])
    stamped = decode(
        Stamped,
        {
            "at": "2024-05-01T12:30:00Z",
            "id": "12345678-1234-5678-1234-567812345678",
            "blob": "AAE=",
        },
    )
    assert stamped.blob == b"\x00\x01"
    assert stamped.at.tzinfo is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"points": [{"x": 1, "y": "2"}]}, "points[0].y: Expected `int`, got `str`"),
        ({"points": [{"x": 1}]}, "points[0].y: required field missing"),
        ({"points": "none"}, "points: Expected `array`, got `str`"),
        ([], "Expected `object`, got `array`"),
    ],
)
def test_msgspec_errors_name_the_field_path(value: Any, expected: str) -> None:
    assert reason(Path, value) == expected


def test_a_struct_that_forbids_unknown_fields_itself_is_honoured() -> None:
    assert reason(StrictPoint, {"x": 1, "y": 2}) == "y: unknown field"
    assert reason(list[StrictPoint], [{"x": 1, "z": 2}]) == "[0].z: unknown field"


def test_tagged_structs_and_unions_of_structs() -> None:
    drawing = decode(Drawing, {"shape": {"type": "Circle", "radius": 2}})
    assert drawing.shape == Circle(2.0)
    assert decode(Point | Square, {"x": 1, "y": 2}) == Point(1, 2)
    assert reason(Drawing, {"shape": {"type": "Square"}}) == "shape.side: required field missing"


def test_a_struct_is_sent_as_msgspec_builds_it() -> None:
    assert encode(Drawing, Drawing(Square(3), {"a": 1})) == {
        "shape": {"type": "Square", "side": 3},
        "labels": {"a": 1},
    }
    stamped = Stamped(datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC), uuid.UUID(int=1), b"\x01")
    assert encode(Any, stamped) == {
        "at": "2024-05-01T00:00:00Z",
        "id": "00000000-0000-0000-0000-000000000001",
        "blob": "AQ==",
    }


class HoldsAModel(msgspec.Struct):
    item: Item


class HoldsAPath(msgspec.Struct):
    where: pathlib.Path


@pytest.mark.parametrize("tp", [HoldsAModel, HoldsAPath, list[HoldsAModel]])
def test_a_struct_holding_what_msgspec_cannot_read_is_refused_at_build(tp: Any) -> None:
    with pytest.raises(ImproperlyConfiguredError, match="msgspec cannot read"):
        Codec().decoder(tp)
    with pytest.raises(ImproperlyConfiguredError, match="inside a msgspec Struct"):
        Codec().encoder(tp)


# ---------------------------------------------------------------- DTOs
@pytest.mark.parametrize("model", [Order, Path])
def test_a_dto_of_a_pydantic_model_or_a_struct_is_refused(model: Any) -> None:
    with pytest.raises(ImproperlyConfiguredError, match="chooses its fields on the wire itself"):
        DTO(model)


@dataclass
class Shipment:
    order: Order
    secret: str = ""
    tags: list[str] = field(default_factory=list)


def test_a_dto_of_a_record_holding_a_pydantic_model() -> None:
    dto = DTO(Shipment, exclude={"secret"}, rename={"tags": "labels"})
    reader = Codec(dto.input_converter(Codec().converter)).decoder(Shipment)
    shipment = reader(json.dumps({"order": ORDER, "secret": "x", "labels": ["a"]}))
    assert shipment.secret == ""
    assert shipment.tags == ["a"]
    assert shipment.order.note == "hot"
    writer = Codec(dto.output_converter(Codec().converter)).encoder(Shipment)
    sent = json.loads(writer(shipment) or "")
    assert set(sent) == {"order", "labels"}
    assert sent["order"]["Note"] == "hot"


# ---------------------------------------------------------------- forbid_unknown_fields
#: (type, a message with one undeclared key, the reason that names it)
UNKNOWN = [
    (Plain, {"name": "a", "nmae": "b"}, "nmae: unknown field"),
    (Plain, {"name": "a", "inner": {"source": "s", "x": 1}}, "inner.x: unknown field"),
    (Crate, {"label": "c", "colour": "red"}, "colour: unknown field"),
    (Movie, {"title": "t", "year": 1999}, "year: unknown field"),
    (list[Movie], [{"title": "t"}, {"title": "u", "x": 0}], "[1].x: unknown field"),
    (Item, {"name": "a", "price": 3}, "price: unknown field"),
    (Order, {**ORDER, "items": [{"name": "a", "size": 2}]}, "items[0].size: unknown field"),
    (Open, {"a": 1, "b": 2}, "b: unknown field"),
    (Crate, {"label": "c", "items": [{"name": "a", "x": 1}]}, "items[0].x: unknown field"),
    (Path, {"points": [{"x": 1, "y": 2, "z": 3}]}, "points[0].z: unknown field"),
    (Drawing, {"shape": {"type": "Square", "side": 1, "r": 2}}, "shape.r: unknown field"),
    (Tagged, {"meta": {"source": "s", "x": 1}, "point": {"x": 1, "y": 2}}, "meta.x: unknown field"),
    (Envelope, {"order": ORDER, "path": {"points": [], "open": True}}, "path.open: unknown field"),
]


@pytest.mark.parametrize(("tp", "value", "expected"), UNKNOWN)
def test_unknown_fields_are_ignored_by_default(tp: Any, value: Any, expected: str) -> None:
    decode(tp, value)


@pytest.mark.parametrize(("tp", "value", "expected"), UNKNOWN)
def test_forbidden_unknown_fields_close_1007_naming_the_field(
    tp: Any, value: Any, expected: str
) -> None:
    assert reason(tp, value, forbid=True) == expected


@pytest.mark.parametrize(
    ("tp", "value"),
    [
        (Plain, {"name": "a", "inner": {"source": "s"}}),
        (Order, ORDER),
        (Drawing, {"shape": {"type": "Circle", "radius": 1}, "labels": {"any": 1}}),
        (dict[str, int], {"any": 1, "key": 2}),
        (Movie, {"title": "t"}),
    ],
)
def test_declared_keys_and_free_mappings_pass_when_unknown_fields_are_forbidden(
    tp: Any, value: Any
) -> None:
    decode(tp, value, forbid=True)


def test_a_model_forbidding_extras_itself_refuses_them_either_way() -> None:
    assert reason(Closed, {"a": 1, "b": 2}) == "b: unknown field"


def test_a_namedtuple_refuses_extra_items_either_way() -> None:
    for forbid in (False, True):
        assert "Too many values" in reason(Pair, [1, "a", 2], forbid=forbid)


def test_a_dto_under_forbid_refuses_excluded_and_python_names() -> None:
    dto = DTO(Shipment, exclude={"secret"}, rename={"tags": "labels"})
    reader = Codec(dto.input_converter(Codec(forbid_unknown_fields=True).converter))
    decoder = reader.decoder(Shipment)
    assert decoder(json.dumps({"order": ORDER, "labels": []})).tags == []
    for key in ("secret", "tags"):
        with pytest.raises(InvalidMessageError, match=f"^1007: {key}: unknown field$"):
            decoder(json.dumps({"order": ORDER, key: "x"}))


def test_a_codec_variant_is_made_once_and_knows_its_twin() -> None:
    codec = Codec()
    assert not codec.forbid_unknown_fields
    assert codec.variant(None) is codec
    assert codec.variant(False) is codec
    strict = codec.variant(True)
    assert strict.forbid_unknown_fields
    assert codec.variant(True) is strict
    assert strict.variant(False) is codec


# ---------------------------------------------------------------- the option's layers
@websocket_listener("/default")
async def default(data: Plain) -> None:
    pass


@websocket_listener("/lenient", forbid_unknown_fields=False)
async def lenient(data: Plain) -> None:
    pass


@websocket_listener("/strict", forbid_unknown_fields=True)
async def strict(data: Plain) -> None:
    pass


@websocket("/low")
async def low(socket: WebSocket) -> None:
    pass


@websocket_stream("/stream", forbid_unknown_fields=True)
async def stream() -> Any:
    yield 1


class ClassListener(WebSocketListener):
    path = "/class"
    forbid_unknown_fields = False

    async def on_receive(self, data: Plain) -> None:
        pass


def _forbids(app: App) -> dict[str, bool]:
    return {route.template.path: route.codec.forbid_unknown_fields for route in app.routes}


def test_the_option_is_layered_app_router_handler() -> None:
    handlers = [default, lenient, strict, low, stream, ClassListener]
    assert _forbids(App(handlers)) == {
        "/default": False,
        "/lenient": False,
        "/strict": True,
        "/low": False,
        "/stream": True,
        "/class": False,
    }
    app = App(
        [*handlers, Router("/r", [default, lenient, Router("/in", [default])])],
        forbid_unknown_fields=True,
    )
    assert _forbids(app) == {
        "/default": True,
        "/lenient": False,
        "/strict": True,
        "/low": True,
        "/stream": True,
        "/class": False,
        "/r/default": True,
        "/r/lenient": False,
        "/r/in/default": True,
    }
    nested = App(
        [Router("/r", [default, strict, Router("/in", [default])], forbid_unknown_fields=False)],
        forbid_unknown_fields=True,
    )
    assert _forbids(nested) == {"/r/default": False, "/r/strict": True, "/r/in/default": False}
    # One twin per App: every forbidding route shares one codec (and its decoders).
    codecs = {id(route.codec) for route in app.routes}
    assert len(codecs) == 2


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_the_option_must_be_a_bool(value: Any) -> None:
    with pytest.raises(ImproperlyConfiguredError, match="forbid_unknown_fields must be"):
        App([], forbid_unknown_fields=value)
    with pytest.raises(ImproperlyConfiguredError, match="forbid_unknown_fields must be"):
        Router("/r", [], forbid_unknown_fields=value)
    with pytest.raises(ImproperlyConfiguredError, match="forbid_unknown_fields must be"):
        websocket_listener("/", forbid_unknown_fields=value)(default.fn)
