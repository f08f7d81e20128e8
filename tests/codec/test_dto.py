"""``DTO`` without sockets: which fields are read and written, and registration errors.

The DTO's converters are driven through a ``Codec`` exactly as a listener uses
them (decode a received payload, encode a reply).
"""

import json
from dataclasses import dataclass, field
from typing import Any, TypedDict

import attrs
import pytest

from wsactors import DTO, App, ImproperlyConfiguredError, websocket_listener, websocket_stream
from wsactors.codec.codec import Codec
from wsactors.codec.converter import make_json_converter
from wsactors.exceptions import InvalidMessageError


@dataclass
class User:
    name: str
    id: int = 0
    email: str = ""
    tags: list[str] = field(default_factory=list)


@attrs.define
class Account:
    owner: str
    balance: int = 0


class Movie(TypedDict):
    title: str


def reader(dto: DTO[Any], model: Any) -> Any:
    """The decoder a listener with ``dto=dto`` and ``data: model`` uses."""
    return Codec(dto.input_converter(make_json_converter())).decoder(model)


def writer(dto: DTO[Any], model: Any) -> Any:
    """The encoder a listener with ``return_dto=dto`` returning ``model`` uses."""
    return Codec(dto.output_converter(make_json_converter())).encoder(model)


# ---------------------------------------------------------------- dto=: reading
def test_excluded_field_is_never_read() -> None:
    decode = reader(DTO(User, exclude={"id"}), User)
    assert decode('{"name": "ann", "id": 99, "email": "a@x"}') == User("ann", 0, "a@x")


def test_excluded_field_with_a_default_factory() -> None:
    decode = reader(DTO(User, exclude={"tags"}), User)
    assert decode('{"name": "ann", "tags": ["admin"]}').tags == []


def test_excluded_field_of_the_wrong_type_is_not_validated() -> None:
    # Never read means never checked either.
    decode = reader(DTO(User, exclude={"id"}), User)
    assert decode('{"name": "ann", "id": "not an int"}') == User("ann")


def test_renamed_field_is_read_under_its_wire_name() -> None:
    decode = reader(DTO(User, rename={"name": "userName"}), User)
    assert decode('{"userName": "ann"}') == User("ann")


def test_renamed_field_is_not_read_under_its_python_name() -> None:
    decode = reader(DTO(User, rename={"name": "userName"}), User)
    with pytest.raises(InvalidMessageError) as caught:
        decode('{"name": "ann"}')
    assert caught.value.code == 1007
    assert "userName" in caught.value.reason


def test_validation_still_applies_to_read_fields() -> None:
    decode = reader(DTO(User, exclude={"email"}), User)
    with pytest.raises(InvalidMessageError, match="id: expected int, got str"):
        decode('{"name": "ann", "id": "7"}')


def test_attrs_class_input() -> None:
    decode = reader(DTO(Account, exclude={"balance"}, rename={"owner": "who"}), Account)
    assert decode('{"who": "bob", "balance": 1000000}') == Account("bob", 0)


def test_dto_in_a_list_of_the_model() -> None:
    decode = reader(DTO(User, exclude={"id"}), list[User])
    assert decode('[{"name": "a", "id": 1}, {"name": "b", "id": 2}]') == [User("a"), User("b")]


# ---------------------------------------------------------------- return_dto=: writing
def test_excluded_field_is_never_written() -> None:
    encode = writer(DTO(User, exclude={"email", "tags"}), User)
    assert json.loads(encode(User("ann", 7, "secret"))) == {"name": "ann", "id": 7}


def test_renamed_field_is_written_under_its_wire_name() -> None:
    encode = writer(DTO(User, rename={"name": "userName"}, exclude={"tags"}), User)
    assert json.loads(encode(User("ann", 1))) == {"userName": "ann", "id": 1, "email": ""}


def test_return_dto_applies_by_runtime_type_without_annotation() -> None:
    encode = writer(DTO(User, exclude={"email", "tags"}), Any)
    assert json.loads(encode(User("ann", 2, "secret"))) == {"name": "ann", "id": 2}


def test_attrs_class_output() -> None:
    encode = writer(DTO(Account, rename={"owner": "who"}), Account)
    assert json.loads(encode(Account("bob", 3))) == {"who": "bob", "balance": 3}


def test_converters_are_copies() -> None:
    base = make_json_converter()
    DTO(User, exclude={"id"}).input_converter(base)
    DTO(User, exclude={"id"}).output_converter(base)
    assert base.structure({"name": "a", "id": 5}, User).id == 5
    assert base.unstructure(User("a", 5))["id"] == 5


# ---------------------------------------------------------------- configuration errors
@pytest.mark.parametrize(
    "options",
    [{"exclude": {"password"}}, {"rename": {"nickname": "nick"}}],
    ids=["exclude", "rename"],
)
def test_unknown_field_is_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ImproperlyConfiguredError, match="unknown field"):
        DTO(User, **options)


@pytest.mark.parametrize("model", [Movie, dict, int], ids=["TypedDict", "dict", "int"])
def test_unsupported_model_is_refused(model: Any) -> None:
    with pytest.raises(ImproperlyConfiguredError, match="dataclasses and attrs"):
        DTO(model)


def test_excluding_a_required_field_from_input_is_refused_at_app_build() -> None:
    @websocket_listener("/", dto=DTO(User, exclude={"name"}))
    async def handler(data: User) -> str:
        return data.name

    with pytest.raises(ImproperlyConfiguredError, match="name"):
        App([handler])


def test_excluding_a_required_field_from_output_is_fine() -> None:
    @websocket_listener("/", return_dto=DTO(User, exclude={"name"}))
    async def handler(data: str) -> User:
        return User(data)

    @websocket_stream("/stream", return_dto=DTO(User, exclude={"name"}))
    async def stream() -> Any:
        yield User("x")

    App([handler, stream])


def test_a_dto_model_needs_a_json_object() -> None:
    decode = reader(DTO(User, exclude={"id"}), User)
    with pytest.raises(InvalidMessageError) as caught:
        decode("[1]")
    assert caught.value.reason == "expected a JSON object, got array"


def test_a_dto_model_with_a_field_cattrs_cannot_read_fails_when_the_app_is_built() -> None:
    @dataclass
    class Shape:
        turn: complex
        name: str = ""

    @websocket_listener("/", dto=DTO(Shape, exclude={"name"}))
    async def handler(data: Shape) -> None:
        pass

    with pytest.raises(ImproperlyConfiguredError, match="messages cannot be read as Shape"):
        App([handler])
