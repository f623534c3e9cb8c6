"""The declared contracts: bodies read through their models, answers held to theirs, and
the document made of the same declarations."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from forum import validation
from forum.blueprints.api import openapi
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.contracts import ContractBroken
from tests import factories

API = "/api/v1"
JSON_TYPE = {"Content-Type": "application/json"}
FORUM = Path(__file__).resolve().parents[2] / "forum"


Target = tuple[str, str, dict[str, Any], dict[str, str], str]


def _targets(bearer: Callable) -> dict[str, Target]:
    """A few writes of different areas: method, path, a valid body, headers, a text field."""
    admin = factories.make_admin("boss")
    board = factories.make_board()
    factories.make_user("kim")
    headers = bearer(admin)
    topic = {"title": "A title", "body": "Hi"}
    group = {"name": "G", "slug": "g-one", "visibility": "public"}
    return {
        "topic": ("post", f"/boards/{board.id}/topics", topic, headers, "body"),
        "profile": ("patch", "/me", {"bio": "Hello"}, headers, "bio"),
        "group": ("post", "/groups", group, headers, "name"),
        "trust": ("put", "/users/kim/trust-level", {"level": 2}, headers, "reason"),
        "board": ("patch", f"/boards/{board.id}", {"position": 2}, headers, "name"),
    }


TARGETS = ["topic", "profile", "group", "trust", "board"]


def _invalid(response: Any) -> dict[str, str]:
    """The fields of a 400 in the house shape (and nothing else in it)."""
    assert response.status_code == 400, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["code"] == "invalid"
    assert body["error"]["message"]
    fields: dict[str, str] = body["error"]["fields"]
    return fields


@pytest.mark.parametrize("target", TARGETS)
def test_unknown_field_is_refused_in_the_house_shape(
    client: FlaskClient, bearer: Callable, target: str
) -> None:
    method, path, payload, headers, _ = _targets(bearer)[target]
    response = getattr(client, method)(
        f"{API}{path}", json={**payload, "colour": "red"}, headers=headers
    )
    assert _invalid(response) == {"colour": "Unknown field."}


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(
    ("escape", "problem"), [("\\u0000", "NUL byte"), ("\\ud800", "not valid UTF-8")]
)
def test_nul_bytes_and_lone_surrogates_are_refused(
    client: FlaskClient, bearer: Callable, target: str, escape: str, problem: str
) -> None:
    method, path, _, headers, name = _targets(bearer)[target]
    # Escaped in the JSON text: the decoder turns it into the character itself.
    raw = f'{{"{name}": "bad {escape} here"}}'
    response = getattr(client, method)(
        f"{API}{path}", data=raw.encode(), headers={**headers, **JSON_TYPE}
    )
    fields = _invalid(response)
    assert list(fields) == [name]
    assert problem in fields[name]


def test_a_value_of_the_wrong_type_is_named_in_the_house_words(
    client: FlaskClient, bearer: Callable
) -> None:
    _, path, _, headers, _ = _targets(bearer)["topic"]
    response = client.post(f"{API}{path}", json={"title": 5, "body": True}, headers=headers)
    assert _invalid(response) == {"title": "Title must be text.", "body": "Body must be text."}
    flags = client.patch(f"{API}/me", json={"show_join_date": "yes"}, headers=headers)
    assert _invalid(flags) == {"show_join_date": "show_join_date must be true or false."}


def test_numbers_as_digits_pass_as_they_did(client: FlaskClient, bearer: Callable) -> None:
    """Whole numbers keep arriving as digits too (the services read form values alike)."""
    group = factories.make_group()
    response = client.post(
        f"{API}/groups/{group.slug}/invitations",
        json={"max_uses": "3"},
        headers=bearer(factories.owner_of(group)),
    )
    assert response.status_code == 201
    assert response.get_json()["max_uses"] == 3


def test_every_operation_names_models_the_document_holds() -> None:
    document = openapi.document()
    components = document["components"]["schemas"]
    named: set[str] = set()
    for op in openapi.OPERATIONS:
        for name in (op.body, op.response, *(model for _, model in op.alternatives)):
            if name is not None:
                assert name in schemas.MODELS, f"{op.method} {op.path}: {name} is no model"
                assert name in components, f"{op.method} {op.path}: {name} not in the document"
                named.add(name)
        if op.body is not None:
            assert issubclass(schemas.MODELS[op.body], schemas.Body), op.path
            operation = document["paths"][op.path][op.method]
            assert operation["requestBody"]["content"]["application/json"]["schema"] == {
                "$ref": f"#/components/schemas/{op.body}"
            }
        if op.response is not None:
            assert issubclass(schemas.MODELS[op.response], schemas.Answer), op.path
    # And no declaration is left over that no route uses (reached through a $ref counts).
    text = str(document["paths"]) + str(document["components"])
    unused = {name for name in schemas.MODELS if f"/schemas/{name}'" not in text} - named
    assert unused == set()


def test_request_bodies_refuse_unknown_fields_in_the_document() -> None:
    components = openapi.document()["components"]["schemas"]
    for name, model in schemas.MODELS.items():
        if issubclass(model, schemas.Body):
            assert components[name]["additionalProperties"] is False, name


def test_documented_limits_are_the_services_limits(client: FlaskClient, bearer: Callable) -> None:
    components = openapi.document()["components"]["schemas"]
    title = components["TopicDraft"]["properties"]["title"]
    assert (title["minLength"], title["maxLength"]) == (validation.TITLE_MIN, validation.TITLE_MAX)
    board = factories.make_board()
    headers = bearer(factories.make_user())
    for length, status in ((title["maxLength"], 201), (title["maxLength"] + 1, 400)):
        response = client.post(
            f"{API}/boards/{board.id}/topics",
            json={"title": "x" * length, "body": "Hello"},
            headers=headers,
        )
        assert response.status_code == status, length
    slug = components["NewGroup"]["properties"]["slug"]
    assert slug["pattern"] == validation.SLUG_RE.pattern
    assert slug["maxLength"] == validation.SLUG_MAX


def test_an_answer_that_drifts_from_its_model_fails(
    client: FlaskClient, bearer: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = factories.make_board()
    headers = bearer(factories.make_user())
    assert client.get(f"{API}/boards/{board.id}", headers=headers).status_code == 200
    original = serializers.board
    monkeypatch.setattr(serializers, "board", lambda item: {**original(item), "secret": 1})
    with pytest.raises(ContractBroken, match="Board"):
        client.get(f"{API}/boards/{board.id}", headers=headers)


def test_a_view_reading_another_model_than_declared_fails(
    app: Flask, client: FlaskClient, bearer: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    from forum.blueprints.api import topics

    monkeypatch.setattr(topics.schemas.boards, "ReplyDraft", schemas.boards.PostEdit)
    topic = factories.make_topic()
    with pytest.raises(ContractBroken, match="PostEdit"):
        client.post(
            f"{API}/topics/{topic.id}/posts",
            json={"body": "Hello"},
            headers=bearer(factories.make_user()),
        )


def test_name_patterns_are_written_once() -> None:
    """The username, slug and token expressions live in forum.validation alone."""
    literals = [r"A-Za-z0-9_-]{3", r"a-z0-9](?:", r"A-Za-z0-9_-]{8"]
    found = []
    for path in FORUM.rglob("*.py"):
        if path.name == "validation.py" and path.parent == FORUM:
            continue
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(FORUM)}: {lit}" for lit in literals if lit in text]
    assert found == []
    assert validation.USERNAME_RE.fullmatch("ab_c-1")
    assert not re.fullmatch(validation.SLUG_RE, "-edge")
