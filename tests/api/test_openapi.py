"""The OpenAPI document: complete, well-formed, and true to what the endpoints answer."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests import factories

PREFIX = "/api/v1"
JSON_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture
def doc(client: FlaskClient) -> dict[str, Any]:
    response = client.get(f"{PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def _routes(app: Flask) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every rule the app serves under the API prefix."""
    found = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule[len(PREFIX) :])
        for method in rule.methods or ():
            if method not in ("HEAD", "OPTIONS"):
                found.add((path, method.lower()))
    return found


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def test_every_route_is_documented(app: Flask, doc: dict[str, Any]) -> None:
    routes = _routes(app)
    assert routes, "no API routes found"
    missing = routes - _documented(doc)
    assert not missing, f"routes missing from openapi.py: {sorted(missing)}"


def test_every_documented_operation_exists(app: Flask, doc: dict[str, Any]) -> None:
    extra = _documented(doc) - _routes(app)
    assert not extra, f"openapi.py documents routes that do not exist: {sorted(extra)}"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


def _resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def _check_schema(schema: Any, where: str) -> None:
    assert isinstance(schema, dict), where
    if "$ref" in schema:
        return
    types = schema.get("type")
    if types is not None:
        for kind in types if isinstance(types, list) else [types]:
            assert kind in JSON_TYPES, f"{where}: bad type {kind!r}"
    for name, sub in schema.get("properties", {}).items():
        _check_schema(sub, f"{where}.{name}")
    for name in schema.get("required", []):
        assert name in schema.get("properties", {}), f"{where}: required {name} not a property"
    if isinstance(schema.get("items"), dict):
        _check_schema(schema["items"], f"{where}[]")


def test_document_is_well_formed_openapi_3_1(doc: dict[str, Any]) -> None:
    try:
        from openapi_spec_validator import validate
    except ImportError:
        validate = None
    if validate is not None:  # pragma: no cover - not a dependency; used when present
        validate(doc)
    assert doc["openapi"].startswith("3.1.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"url": PREFIX}]
    for ref in _refs(doc):
        _resolve(doc, ref)
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer"}
    for name, schema in doc["components"]["schemas"].items():
        _check_schema(schema, name)
    ids = []
    for path, item in doc["paths"].items():
        assert path.startswith("/"), path
        template = set(re.findall(r"{([^}]+)}", path))
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            ids.append(op["operationId"])
            assert op["summary"], where
            assert any(code.startswith("2") for code in op["responses"]), where
            for requirement in op["security"]:
                assert set(requirement) <= set(schemes), where
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert declared == template, where
            for param in op.get("parameters", []):
                assert param["in"] in ("path", "query"), where
                if param["in"] == "path":
                    assert param["required"] is True, where
            for code, response in op["responses"].items():
                if code.startswith(("4", "5")):
                    resolved = _resolve(doc, response["$ref"]) if "$ref" in response else response
                    schema = resolved["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, where
            if method in ("post", "patch", "put"):
                body = op.get("requestBody")
                if body:
                    assert "application/json" in body["content"], where
    assert len(ids) == len(set(ids)), "operationIds must be unique"
    assert "Retry-After" in doc["components"]["responses"]["RateLimited"]["headers"]


# --- the document tells the truth about the answers ---------------------------


def _conforms(doc: dict[str, Any], schema: dict[str, Any], value: Any, where: str) -> None:
    """A small JSON Schema check: $ref, type, required, properties, items, enum."""
    if "$ref" in schema:
        _conforms(doc, _resolve(doc, schema["$ref"]), value, where)
        return
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        actual = {
            dict: "object",
            list: "array",
            str: "string",
            bool: "boolean",
            type(None): "null",
        }.get(type(value), "integer" if isinstance(value, int) else "number")
        assert actual in kinds or (actual == "integer" and "number" in kinds), (
            f"{where}: {actual} is not {kinds}"
        )
    if "enum" in schema:
        assert value in schema["enum"], where
    if isinstance(value, dict):
        for name in schema.get("required", []):
            assert name in value, f"{where}: missing {name}"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                _conforms(doc, sub, value[name], f"{where}.{name}")
        assert set(value) <= set(schema.get("properties", value)), (
            f"{where}: undocumented fields {set(value) - set(schema['properties'])}"
        )
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            _conforms(doc, schema["items"], item, f"{where}[{index}]")


def test_answers_match_their_documented_schemas(
    client: FlaskClient, doc: dict[str, Any], bearer: Callable
) -> None:
    factories.set_settings(registration="open")
    admin = factories.make_admin("boss")
    board = factories.make_board()
    factories.make_board(parent=board)
    topic = factories.make_topic(board, admin)
    post = factories.make_post(topic, admin)
    headers = bearer(admin)
    client.patch(f"{PREFIX}/posts/{post.id}", json={"body": "Edited"}, headers=headers)
    calls = [
        ("get", "/boards", "/boards", None),
        ("get", "/boards/{board_id}", f"/boards/{board.id}", None),
        ("get", "/boards/{board_id}/topics", f"/boards/{board.id}/topics", None),
        ("get", "/topics/{topic_id}", f"/topics/{topic.id}", None),
        ("get", "/posts/{post_id}", f"/posts/{post.id}", None),
        ("get", "/posts/{post_id}/revisions", f"/posts/{post.id}/revisions", None),
        ("get", "/latest", "/latest", None),
        ("get", "/users/{username}", "/users/boss", None),
        ("get", "/me", "/me", None),
        ("get", "/settings", "/settings", None),
        (
            "post",
            "/boards/{board_id}/topics",
            f"/boards/{board.id}/topics",
            {"title": "Schema check", "body": "Body"},
        ),
        ("post", "/topics/{topic_id}/posts", f"/topics/{topic.id}/posts", {"body": "Reply"}),
        (
            "post",
            "/auth/token",
            "/auth/token",
            {"username": "boss", "password": factories.PASSWORD},
        ),
        ("post", "/users", "/users", {"username": "newbie", "password": "a fresh passphrase"}),
        ("get", "/boards/{board_id}", "/boards/9999", None),
    ]
    for method, template, path, payload in calls:
        response = getattr(client, method)(f"{PREFIX}{path}", json=payload, headers=headers)
        documented = doc["paths"][template][method]["responses"]
        status = str(response.status_code)
        assert status in documented, f"{method} {path}: {status} not documented"
        answer = documented[status]
        if "$ref" in answer:
            answer = _resolve(doc, answer["$ref"])
        schema = answer["content"]["application/json"]["schema"]
        _conforms(doc, schema, response.get_json(), f"{method} {path}")


def test_completeness_check_catches_an_undocumented_route(app: Flask) -> None:
    from forum.blueprints.api import openapi

    app.add_url_rule(f"{PREFIX}/forgotten/<int:thing_id>", "forgotten", lambda thing_id: "")
    missing = _routes(app) - _documented(openapi.document())
    assert missing == {("/forgotten/{thing_id}", "get")}
