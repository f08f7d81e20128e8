"""The schemas and the codec agree: Hypothesis generates payloads from each route's
schema (hypothesis-jsonschema) and feeds them to that route's own decoder.

- every payload the schema allows is accepted;
- every payload it forbids (a valid one, mutated, that jsonschema confirms
  invalid) is refused with ``InvalidMessageError``, which closes the connection
  with 1007; ``test_e2e_property.py`` checks that last step over real sockets.

The known disagreements are pinned at the end (and listed in docs/asyncapi.md).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from apps import APPS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from jsonschema import Draft7Validator
from schema_helpers import ReceivedSchema, received_schemas
from typed_app import create_app

from wsactors.exceptions import InvalidMessageError

#: Formats msgspec writes that hypothesis-jsonschema does not know.
FORMATS = {
    "uuid": st.uuids().map(str),
    "decimal": st.decimals(allow_nan=False, allow_infinity=False).map(str),
}
EXAMPLES = 60

CASES = [
    pytest.param(case, id=f"{name}:{case.id}")
    for name, make in APPS.items()
    for case in received_schemas(make())
]


def _lax_pydantic(case: ReceivedSchema) -> bool:
    """A pydantic model in pydantic's default lax mode reads more than its schema says
    (``"5"`` and ``true`` as integers): docs/asyncapi.md, only strict models agree."""
    receives = case.route.receives
    annotation: Any = receives.annotation if receives is not None else None
    mro = getattr(annotation, "__mro__", ())
    if not any(base.__module__.startswith("pydantic") for base in mro):
        return False
    return not annotation.model_config.get("strict", False)


#: Schemas that allow any JSON value cannot be violated; a lax pydantic model's is
#: not meant to be exact.
VIOLABLE = [
    param
    for param in CASES
    if param.values[0].schema["allOf"] != [{}]  # type: ignore[union-attr]
    and not _lax_pydantic(param.values[0])  # type: ignore[arg-type]
]

WRONG = st.sampled_from([None, True, False, 0, 0.5, -7, "text", "", [], [1], {}, {"k": 1}])


def mutated(value: Any) -> st.SearchStrategy[Any]:
    """``value`` with one part replaced by a value of another kind, or a key dropped."""
    options = [WRONG]
    if isinstance(value, dict) and value:
        keys = sorted(value)
        options.append(
            st.sampled_from(keys).flatmap(
                lambda k: mutated(value[k]).map(lambda new: {**value, k: new})
            )
        )
        options.append(
            st.sampled_from(keys).map(lambda k: {n: v for n, v in value.items() if n != k})
        )
    if isinstance(value, list) and value:
        options.append(
            st.integers(0, len(value) - 1).flatmap(
                lambda i: mutated(value[i]).map(lambda new: [*value[:i], new, *value[i + 1 :]])
            )
        )
    return st.one_of(options)


def validator(case: ReceivedSchema) -> Draft7Validator:
    return Draft7Validator(case.schema, format_checker=Draft7Validator.FORMAT_CHECKER)


def test_cases_cover_the_typed_app_the_demo_and_the_examples() -> None:
    ids = {param.id for param in CASES}
    assert {"typed:/orders", "typed:/accounts", "typed:/shapes", "demo:/ws/json"} <= ids
    assert any(str(i).startswith("example-") for i in ids)
    assert len(VIOLABLE) >= 10


@pytest.mark.parametrize("case", CASES)
def test_the_codec_accepts_what_the_schema_allows(case: ReceivedSchema) -> None:
    check = validator(case)
    accepted = []

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(from_schema(case.schema, custom_formats=FORMATS))
    def accepts(value: Any) -> None:
        assert check.is_valid(value), "hypothesis-jsonschema made a payload its schema refuses"
        case.decode(json.dumps(value))  # InvalidMessageError here is a disagreement
        accepted.append(value)

    accepts()
    assert accepted


@pytest.mark.parametrize("case", VIOLABLE)
def test_the_codec_refuses_what_the_schema_forbids(case: ReceivedSchema) -> None:
    check = validator(case)
    refused = []

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(from_schema(case.schema, custom_formats=FORMATS).flatmap(mutated))
    def refuses(value: Any) -> None:
        assume(not check.is_valid(value))
        with pytest.raises(InvalidMessageError):
            case.decode(json.dumps(value))
        refused.append(value)

    refuses()
    assert refused


@pytest.mark.parametrize("case", CASES)
@given(text=st.text(max_size=20))
@settings(max_examples=20, deadline=None)
def test_malformed_json_is_refused(case: ReceivedSchema, text: str) -> None:
    data = "{" + text
    try:
        json.loads(data)
    except ValueError:
        pass
    else:
        assume(False)  # "{" + "}" is JSON: not malformed
    with pytest.raises(InvalidMessageError):
        case.decode(data)


# ---------------------------------------------------------------- known disagreements
def _case(path: str) -> ReceivedSchema:
    return next(c for c in received_schemas(create_app()) if c.id == path)


def test_disagreement_integral_floats_for_integers() -> None:
    """Draft 07 counts 1.0 as an integer; the codec wants a JSON integer."""
    case = _case("/api/counter/{room:path}")
    assert validator(case).is_valid({"a": 1.0})
    with pytest.raises(InvalidMessageError, match="expected int, got float"):
        case.decode('{"a": 1.0}')
