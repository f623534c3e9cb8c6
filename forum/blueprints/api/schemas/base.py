"""The vocabulary of the API's contracts: two kinds of model and the field types they use.

A `Body` is what a client may send: unknown fields are refused, and each field accepts
the JSON types the service behind it accepts (text or null, a whole number given as a
number or as digits, true/false). The services still own the checks of value (lengths,
patterns, choices), because the HTML forms call them too; the limits the document shows
are the services' own constants, so the two cannot drift apart.

An `Answer` is what an endpoint sends back: every field always present (perhaps null),
nothing else. `forum.blueprints.api.contracts` checks each answer against its model
while the app runs with FORUM_CHECK_CONTRACTS (the test suite does).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated
from typing import Any
from typing import ClassVar
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import WithJsonSchema

from forum.validation import INT_MAX

JSON = dict[str, Any]


class Body(BaseModel):
    """A request body: strict JSON types, no unknown fields."""

    # strict: "5" is no text and 1 is no boolean; numbers are declared as `Whole` below.
    # defer_build: a worker builds a model's validator when a request first needs it,
    # not at start-up for every endpoint (memory on a 1 GB VPS).
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)
    # Field name -> the message for a value of the wrong type (else a house default).
    messages: ClassVar[dict[str, str]] = {}


class Answer(BaseModel):
    """An answer object: every field present, no field undeclared."""

    # Built only when something validates against it (the tests' contract check) or the
    # document is asked for: production workers never pay for the answers' validators.
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, defer_build=True)


# --- request fields -------------------------------------------------------------
# Each accepts null as well: the service reads a null like a missing field (its default,
# or its "must not be empty"), as it did before the contracts existed. The document
# shows the type the client should send.

Text = Annotated[str | None, WithJsonSchema({"type": "string"})]
# Where the service answers any value it cannot use exactly like an unknown one (an
# e-mail address, a token), a number there must not answer differently: 400 would tell
# a prober which answers mean "unknown". Documented as text, read as whatever came.
OpaqueText = Annotated[Any, WithJsonSchema({"type": "string"})]
NullableOpaqueText = Annotated[Any, WithJsonSchema({"type": ["string", "null"]})]
NullableText = Annotated[str | None, WithJsonSchema({"type": ["string", "null"]})]
# A whole number; the services also take it as a string of ASCII digits, as the HTML
# forms send it, and check its range.
Whole = Annotated[int | str | None, WithJsonSchema({"type": "integer"})]
NullableWhole = Annotated[int | str | None, WithJsonSchema({"type": ["integer", "null"]})]
Boolean = Annotated[bool | None, WithJsonSchema({"type": "boolean"})]
IdList = Annotated[
    list[int] | None,
    WithJsonSchema(
        {"type": "array", "items": {"type": "integer", "minimum": 1, "maximum": INT_MAX}}
    ),
]


def spec(default: Any = ..., *, description: str | None = None, **schema: Any) -> Any:
    """A field's documented limits (JSON Schema keywords: minLength, maximum, enum...).

    `...` (the default) makes the field required in the document; a missing required
    field still reaches the service as null, whose message names what is missing.
    """
    return Field(default, description=description, json_schema_extra=schema or None)


# --- answer fields --------------------------------------------------------------

Id = Annotated[int, Field(ge=1, le=INT_MAX)]
Count = Annotated[int, Field(ge=0)]
Number = Annotated[int, Field(ge=1)]
Time = Annotated[
    str,
    Field(json_schema_extra={"format": "date-time"}, description="UTC, e.g. 2026-11-25T20:04:53Z"),
]
Url = Annotated[str, Field(description="The object's page in the browser (a path)")]
TrustLevel = Annotated[int, Field(ge=0, le=4)]


def one_of(values: Iterable[str]) -> Any:
    """Text that is one of `values` (an enum's values, say), as a `Literal` type."""
    return Literal[tuple(values)]
