"""Reading what an API client sent: the JSON body (through its declared model), `?page=`
and path values.

Everything a service later stores passes through here first, so that malformed JSON,
invalid UTF-8, NUL bytes, lone surrogates, integers no database column can hold, unknown
fields and values of the wrong JSON type are refused with a 400 naming the field, and
never reach the database as a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any
from typing import TypeVar

from flask import current_app
from flask import request
from pydantic import ValidationError

from forum.blueprints.api.schemas.base import Body
from forum.errors import Invalid
from forum.errors import NotFound
from forum.validation import INT_MAX
from forum.validation import SLUG_RE
from forum.validation import TOKEN_RE
from forum.validation import USERNAME_RE

# Ids are 32-bit integer columns on PostgreSQL; a larger value in a body would fail
# inside the database instead of answering 400.
MAX_ID = INT_MAX
MAX_PAGE = 1_000_000
# Where a problem belongs to the whole body rather than to one field.
BODY_FIELD = "request"
_PAGE_RE = re.compile(r"[0-9]{1,7}")
_ID_RE = re.compile(r"[1-9][0-9]{0,11}")
# Read by the contract check (forum.blueprints.api.contracts): the model each request's
# body was read with, and whether it was optional, to compare with the operation table.
PARSED_WITH = "forum_api_body_model"
B = TypeVar("B", bound=Body)


def _refuse(message: str) -> Invalid:
    return Invalid(BODY_FIELD, message)


def _decode_json() -> Any:
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise _refuse("The request needs a JSON object as its body.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse("The request body is not valid UTF-8.") from exc

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        return json.loads(text, parse_constant=no_constants)
    except (ValueError, RecursionError) as exc:
        raise _refuse("The request body is not valid JSON.") from exc


def _problem(value: Any, depth: int = 0) -> str | None:
    """Why a JSON value cannot be stored, or None."""
    if depth > 20:
        return "is nested too deeply."
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL byte, which is not allowed."
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains characters that are not valid UTF-8."
    elif isinstance(value, int) and not isinstance(value, bool):
        if abs(value) > MAX_ID:
            return "is too large a number."
    elif isinstance(value, list):
        return next((p for v in value if (p := _problem(v, depth + 1))), None)
    elif isinstance(value, dict):
        items = [*value.keys(), *value.values()]
        return next((p for v in items if (p := _problem(v, depth + 1))), None)
    return None


def _label(name: str) -> str:
    return name.capitalize().replace("_", " ")


# What a value of the wrong JSON type is told, by the type its field expects.
_TYPE_MESSAGES = {
    "string_type": "{label} must be text.",
    "int_type": "{name} must be a whole number.",
    "bool_type": "{name} must be true or false.",
    "list_type": "{name} must be a list.",
}


def _field_errors(model: type[Body], exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        name = str(error["loc"][0]) if error["loc"] else BODY_FIELD
        if name in errors:
            continue  # a union reports once per member: the first says enough
        if name in model.messages:
            errors[name] = model.messages[name]
        elif error["type"] == "extra_forbidden":
            # Strict: a misspelt field in a PATCH would otherwise "succeed" doing nothing.
            errors[name[:40]] = "Unknown field."
        else:
            template = _TYPE_MESSAGES.get(error["type"], "{label}: {message}.")
            errors[name] = template.format(
                name=name, label=_label(name), message=error["msg"].rstrip(".")
            )
    return errors


def body(model: type[B], *, optional: bool = False) -> dict[str, Any]:
    """The body read with its declared `model`: the fields the client sent, each of the
    type the model declares and storable; else `Invalid` naming the fields.

    A dict of what was sent, not the model: a PATCH tells "left out" from "null", and the
    services keep their own defaults. `optional`: where every field has a default, no
    body at all reads as `{}`.
    """
    if current_app.config.get("FORUM_CHECK_CONTRACTS"):
        setattr(request, PARSED_WITH, (model, optional))
    if optional and not request.get_data(cache=True).strip():
        return {}
    data = _decode_json()
    if not isinstance(data, dict):
        raise _refuse("The request body must be a JSON object.")
    fields = model.model_fields
    errors: dict[str, str] = {}
    for key, value in data.items():
        if (problem := _problem(key)) is not None:
            errors["?"] = "Unknown field."
        elif key in fields and (problem := _problem(value)) is not None:
            errors[key] = f"{_label(key)} {problem}"
    if errors:
        raise Invalid(errors)
    # A required field left out reaches the service as null, whose message says what is
    # missing in the service's words (the same as the HTML form's).
    try:
        model.model_validate({**dict.fromkeys(fields), **data})
    except ValidationError as exc:
        raise Invalid(_field_errors(model, exc)) from exc
    return data


def page() -> int:
    """`?page=N` (default 1): a positive whole number, else `Invalid`."""
    value = request.args.get("page")
    if value is None:
        return 1
    if not _PAGE_RE.fullmatch(value) or not 1 <= int(value) <= MAX_PAGE:
        raise Invalid("page", f"page must be a whole number from 1 to {MAX_PAGE:,}.")
    return int(value)


def before() -> int | None:
    """`?before=<id>` (cursor paging): a positive whole number, else `Invalid`."""
    value = request.args.get("before")
    if value is None:
        return None
    if not _ID_RE.fullmatch(value):
        raise Invalid("before", "before must be the id of a notification.")
    return int(value)


def slug(value: str) -> str:
    """A group slug from the path; one no group could have is simply not found."""
    if not SLUG_RE.fullmatch(value):
        raise NotFound()
    return value


def token(value: str) -> str:
    """An invitation token from the path (URL-safe base64); anything else is not found.

    Checked here because a NUL byte in a path would fail inside PostgreSQL (500)
    instead of answering like any other unknown token.
    """
    if not TOKEN_RE.fullmatch(value):
        raise NotFound()
    return value


def username(value: str) -> str:
    """A username from the path; a name no account could have is simply not found."""
    if not USERNAME_RE.fullmatch(value):
        raise NotFound()
    return value


def query_choice(name: str, options: tuple[str, ...], default: str) -> str:
    """`?name=` as one of `options` (default when absent), else `Invalid` listing them."""
    value = request.args.get(name)
    if value is None:
        return default
    if value not in options:
        raise Invalid(name, f"{name} must be one of: {', '.join(options)}.")
    return value
