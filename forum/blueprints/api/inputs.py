"""Reading what an API client sent: the JSON object body, `?page=` and path values.

Everything a service later stores passes through here first, so that malformed JSON,
invalid UTF-8, NUL bytes, lone surrogates and integers no database column can hold are
refused with a 400 naming the field, and never reach the database as a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from flask import request

from forum.errors import Invalid
from forum.errors import NotFound
from forum.services.groups import SLUG_RE
from forum.validation import INT_MAX
from forum.validation import USERNAME_RE

# Ids are 32-bit integer columns on PostgreSQL; a larger value in a body would fail
# inside the database instead of answering 400.
MAX_ID = INT_MAX
MAX_PAGE = 1_000_000
# Where a problem belongs to the whole body rather than to one field.
BODY_FIELD = "request"
_PAGE_RE = re.compile(r"[0-9]{1,7}")
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{8,100}")


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


def json_object(allowed: Iterable[str], *, optional: bool = False) -> dict[str, Any]:
    """The body as a JSON object with only `allowed` keys, each value storable; else `Invalid`.

    `optional`: where every field has a default, no body at all reads as `{}`.
    """
    if optional and not request.get_data(cache=True).strip():
        return {}
    data = _decode_json()
    if not isinstance(data, dict):
        raise _refuse("The request body must be a JSON object.")
    known = set(allowed)
    errors: dict[str, str] = {}
    for key, value in data.items():
        if key not in known:
            # Strict: a misspelt field in a PATCH would otherwise "succeed" doing nothing.
            shown = key if _problem(key) is None else "?"
            errors[shown[:40]] = "Unknown field."
        elif (problem := _problem(value)) is not None:
            errors[key] = f"{key.capitalize().replace('_', ' ')} {problem}"
    if errors:
        raise Invalid(errors)
    return data


def page() -> int:
    """`?page=N` (default 1): a positive whole number, else `Invalid`."""
    value = request.args.get("page")
    if value is None:
        return 1
    if not _PAGE_RE.fullmatch(value) or not 1 <= int(value) <= MAX_PAGE:
        raise Invalid("page", f"page must be a whole number from 1 to {MAX_PAGE:,}.")
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
    if not _TOKEN_RE.fullmatch(value):
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


def optional_id(data: dict[str, Any], name: str) -> int | None:
    """An id field of a body: absent or null is None; anything but a positive id, `Invalid`."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        raise Invalid(name, f"{name} must be a positive whole number (an id).")
    return value


def optional_slug(data: dict[str, Any], name: str) -> str | None:
    """A group slug field of a body: absent or null is None; not text, `Invalid`.

    A string no group could have is left to the guard, which answers it like any
    unknown slug (404).
    """
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(name, "Give the group's slug, or null.")
    return value
