"""URL converters shared by every blueprint."""

from __future__ import annotations

from typing import Any

from werkzeug.routing import IntegerConverter
from werkzeug.routing import Map

from forum.validation import INT_MAX


class IdConverter(IntegerConverter):
    """`<id:name>`: a positive id that fits the database, else the route does not match.

    A larger number would fail inside PostgreSQL instead of answering like any other
    missing id (404), so it never reaches a query.
    """

    def __init__(self, url_map: Map, *args: Any, **kwargs: Any) -> None:
        super().__init__(url_map, min=1, max=INT_MAX)
