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
    """A small JSON Schema check: $ref, anyOf, oneOf, type, required, properties, items,
    enum."""
    if "$ref" in schema:
        _conforms(doc, _resolve(doc, schema["$ref"]), value, where)
        return
    if "anyOf" in schema:
        # pydantic's nullable fields: {"anyOf": [<the value's schema>, {"type": "null"}]}.
        failures = []
        for option in schema["anyOf"]:
            try:
                _conforms(doc, option, value, where)
            except AssertionError as exc:
                failures.append(str(exc))
        assert len(failures) < len(schema["anyOf"]), f"{where}: matches no anyOf: {failures}"
        return
    if "oneOf" in schema:
        matched = 0
        for option in schema["oneOf"]:
            try:
                _conforms(doc, option, value, where)
            except AssertionError:
                continue
            matched += 1
        assert matched == 1, f"{where}: matches {matched} of oneOf"
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
    factories.make_user("asker")
    public = factories.make_group(slug="open", owner=admin)
    secret = factories.make_group(slug="hidden", secret=True, owner=factories.make_user())
    factories.make_board(group=public)
    join = client.post(f"{PREFIX}/groups/open/join-requests", headers=bearer(admin))
    assert join.status_code == 403  # already the owner: asked by someone else below
    from forum.services import groups

    asked = groups.request_to_join(factories.actor(factories.make_user("joiner")), public)
    from forum.extensions import db

    db.session.commit()
    invite = factories.make_invitation(public, max_uses=5)
    invitation_id = client.get(f"{PREFIX}/groups/open/invitations", headers=headers).get_json()[
        "invitations"
    ][0]["id"]
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
        ("get", "/groups", "/groups", None),
        ("get", "/groups/{slug}", "/groups/open", None),
        ("get", "/groups/{slug}", "/groups/hidden", None),
        ("get", "/groups/{slug}/members", "/groups/open/members", None),
        ("get", "/me/groups", "/me/groups", None),
        ("get", "/admin/groups", "/admin/groups", None),
        (
            "post",
            "/groups",
            "/groups",
            {"name": "New", "slug": "new-group", "visibility": "secret"},
        ),
        ("post", "/groups", "/groups", {"name": "New", "slug": "new-group", "visibility": "x"}),
        (
            "put",
            "/groups/{slug}/members/{username}",
            "/groups/open/members/asker",
            {"role": "moderator"},
        ),
        ("delete", "/groups/{slug}/members/{username}", "/groups/open/members/asker", None),
        ("get", "/groups/{slug}/join-requests", "/groups/open/join-requests", None),
        (
            "post",
            "/groups/{slug}/join-requests/{request_id}/accept",
            f"/groups/open/join-requests/{asked.id}/accept",
            None,
        ),
        (
            "post",
            "/groups/{slug}/join-requests/{request_id}/decline",
            f"/groups/open/join-requests/{asked.id}/decline",
            None,
        ),
        ("post", "/groups/{slug}/invitations", "/groups/open/invitations", {"max_uses": 2}),
        ("get", "/groups/{slug}/invitations", "/groups/open/invitations", None),
        ("post", "/invitations/{token}/accept", f"/invitations/{invite}/accept", None),
        ("post", "/invitations/{token}/accept", "/invitations/made-up-token/accept", None),
        (
            "delete",
            "/groups/{slug}/invitations/{invitation_id}",
            f"/groups/open/invitations/{invitation_id}",
            None,
        ),
        (
            "post",
            "/admin/groups/{group_id}/break-glass",
            f"/admin/groups/{secret.id}/break-glass",
            {"reason": "Checking a report of abuse."},
        ),
        ("post", "/boards", "/boards", {"name": "In group", "group": "open"}),
    ]
    for method, template, path, payload in calls:
        response = getattr(client, method)(f"{PREFIX}{path}", json=payload, headers=headers)
        documented = doc["paths"][template][method]["responses"]
        status = str(response.status_code)
        assert status in documented, f"{method} {path}: {status} not documented"
        answer = documented[status]
        if "$ref" in answer:
            answer = _resolve(doc, answer["$ref"])
        if "content" not in answer:  # 204: no body
            assert response.get_data() == b"", f"{method} {path}"
            continue
        schema = answer["content"]["application/json"]["schema"]
        _conforms(doc, schema, response.get_json(), f"{method} {path}")
    # Registering (as a guest, with a group invitation) answers a NewUser.
    registration = {"username": "invited", "password": "a fresh passphrase"}
    registered = client.post(
        f"{PREFIX}/users", json={**registration, "invite": factories.make_invitation(public)}
    )
    assert registered.status_code == 201
    assert registered.get_json()["group"] == "open"
    _conforms(doc, _resolve(doc, "#/components/schemas/NewUser"), registered.get_json(), "users")


@pytest.mark.fresh_app
def test_completeness_check_catches_an_undocumented_route(app: Flask) -> None:
    from forum.blueprints.api import openapi

    app.add_url_rule(f"{PREFIX}/forgotten/<int:thing_id>", "forgotten", lambda thing_id: "")
    missing = _routes(app) - _documented(openapi.document())
    assert missing == {("/forgotten/{thing_id}", "get")}


def test_door_answers_match_their_documented_schemas(
    client: FlaskClient, doc: dict[str, Any], bearer: Callable
) -> None:
    """Invitations by name, who a group keeps out, and declines for good (issue 10)."""
    from forum.extensions import db
    from forum.services import groups

    owner = factories.make_user("owner")
    public = factories.make_group(slug="open", owner=owner)
    kim, ben, asker = (factories.make_user(name) for name in ("kim", "ben", "asker"))
    for user in (kim, ben):
        factories.make_topic(author=user)
    factories.make_invitation(public, by=owner)
    invitations_of = {}
    for user in (kim, ben):
        invited = groups.set_member_role(
            factories.actor(owner), public, user.username, role="member"
        )
        invitations_of[user.username] = invited.id
    asked = groups.request_to_join(factories.actor(asker), public)
    db.session.commit()
    own, theirs = bearer(owner), {"kim": bearer(kim), "ben": bearer(ben)}
    calls = [
        ("get", "/groups/{slug}/invitations", "/groups/open/invitations", None, own),
        ("get", "/groups/{slug}/member-invitations", "/groups/open/member-invitations", None, own),
        ("get", "/me/invitations", "/me/invitations", None, theirs["kim"]),
        (
            "post",
            "/me/invitations/{member_invitation_id}/accept",
            f"/me/invitations/{invitations_of['kim']}/accept",
            None,
            theirs["kim"],
        ),
        (
            "post",
            "/me/invitations/{member_invitation_id}/decline",
            f"/me/invitations/{invitations_of['ben']}/decline",
            None,
            theirs["ben"],
        ),
        (
            "put",
            "/groups/{slug}/members/{username}",
            "/groups/open/members/ben",
            {"role": "moderator"},
            own,
        ),
        (
            "delete",
            "/groups/{slug}/member-invitations/{member_invitation_id}",
            f"/groups/open/member-invitations/{invitations_of['ben']}",
            None,
            own,
        ),
        (
            "post",
            "/groups/{slug}/join-requests/{request_id}/decline",
            f"/groups/open/join-requests/{asked.id}/decline",
            {"keep_out": True},
            own,
        ),
        ("delete", "/groups/{slug}/members/{username}", "/groups/open/members/kim", None, own),
        ("get", "/groups/{slug}/exclusions", "/groups/open/exclusions", None, own),
        (
            "put",
            "/groups/{slug}/members/{username}",
            "/groups/open/members/kim",
            {"role": "member"},
            own,
        ),
        (
            "delete",
            "/groups/{slug}/exclusions/{username}",
            "/groups/open/exclusions/kim",
            None,
            own,
        ),
    ]
    seen = set()
    for method, template, path, payload, headers in calls:
        response = getattr(client, method)(f"{PREFIX}{path}", json=payload, headers=headers)
        documented = doc["paths"][template][method]["responses"]
        status = str(response.status_code)
        seen.add(status)
        assert status in documented, f"{method} {path}: {status} not documented"
        answer = documented[status]
        if "$ref" in answer:
            answer = _resolve(doc, answer["$ref"])
        if "content" not in answer:  # 204: no body
            assert response.get_data() == b"", f"{method} {path}"
            continue
        schema = answer["content"]["application/json"]["schema"]
        _conforms(doc, schema, response.get_json(), f"{method} {path}")
    # Every kind of answer was checked: lists, an acceptance, 202, 204 and the 409.
    assert {"200", "202", "204", "409"} <= seen
