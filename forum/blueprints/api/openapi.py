"""The OpenAPI 3.1 description of the API, built from one declarative table.

Every route of the blueprint has one `Operation` below; a test walks the URL map and
fails when a route is missing here (or this table names one that does not exist).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from forum.blueprints.api import bp
from forum.blueprints.api.inputs import MAX_ID
from forum.blueprints.api.inputs import MAX_PAGE
from forum.services.settings import GUEST_ACCESS_CHOICES
from forum.services.settings import REGISTRATION_CHOICES
from forum.validation import BODY_MAX
from forum.validation import PASSWORD_MAX
from forum.validation import PASSWORD_MIN
from forum.validation import TITLE_MAX
from forum.validation import TITLE_MIN

JSON = dict[str, Any]
VERSION = "1.0.0"


@dataclass(frozen=True)
class Operation:
    """One method on one path (relative to /api/v1, OpenAPI style: `/boards/{board_id}`)."""

    method: str
    path: str
    summary: str
    tag: str
    # "none": uses no session at all; "optional": guests too; "member"; "admin".
    auth: str = "none"
    status: int = 200
    response: str | None = None  # a schema name; None for an empty body
    body: str | None = None  # a request body schema name
    paged: bool = False
    extra_errors: tuple[int, ...] = ()
    description: str = ""


OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/openapi.json", "This document", tag="meta", response="Document"),
    # --- authentication and recovery
    Operation(
        "post",
        "/auth/token",
        "Log in: get a bearer token",
        tag="auth",
        status=201,
        body="Credentials",
        response="TokenAnswer",
        extra_errors=(401, 403, 429),
        description="401 `invalid_credentials`, the same for unknown names; 403 `suspended`; "
        "429 after 10 failures per account or 30 per address within 15 minutes.",
    ),
    Operation(
        "delete",
        "/auth/token",
        "Revoke the bearer token sent with this request",
        tag="auth",
        auth="member",
        status=204,
    ),
    Operation(
        "post",
        "/auth/recover",
        "Set a new password with a recovery code",
        tag="auth",
        body="RecoverRequest",
        response="TokenAnswer",
        extra_errors=(429,),
        description="Spends the code and ends every session and token; answers a new token.",
    ),
    Operation(
        "post",
        "/auth/reset-request",
        "Ask for a password reset link by e-mail",
        tag="auth",
        status=202,
        body="ResetRequest",
        response="Message",
        description="Always the same answer, whether or not the address is known.",
    ),
    Operation(
        "post",
        "/auth/reset",
        "Set a new password with the token from an e-mailed link",
        tag="auth",
        body="ResetWithToken",
        response="TokenAnswer",
        extra_errors=(404,),
        description="404 for a bad, used or expired token. Answers a new bearer token.",
    ),
    # --- the member's own account
    Operation("get", "/me", "Your own account", tag="account", auth="member", response="Me"),
    Operation(
        "patch",
        "/me",
        "Change your profile",
        tag="account",
        auth="member",
        body="ProfileChange",
        response="Me",
        extra_errors=(429,),
        description="Changing `email` needs `password`; a new address counts once confirmed "
        "through the link mailed to it.",
    ),
    Operation(
        "post",
        "/me/password",
        "Change your password",
        tag="account",
        auth="member",
        body="PasswordChange",
        response="TokenAnswer",
        description="Ends every session and token, this one included; answers a new token.",
    ),
    Operation(
        "post",
        "/me/recovery-codes",
        "Replace your recovery codes",
        tag="account",
        auth="member",
        status=201,
        body="PasswordConfirmation",
        response="RecoveryCodes",
        extra_errors=(429,),
        description="The codes are shown only in this answer.",
    ),
    # --- members
    Operation(
        "post",
        "/users",
        "Register",
        tag="users",
        status=201,
        body="Registration",
        response="NewUser",
        extra_errors=(403, 404, 409),
        description="403 `invite_required` while registration is by invitation; "
        "404 for an unknown invitation; 409 `username_taken`.",
    ),
    Operation(
        "get",
        "/users/{username}",
        "A member's profile",
        tag="users",
        auth="optional",
        response="Profile",
        description="Members only: guests get 404.",
    ),
    # --- settings
    Operation(
        "get", "/settings", "Site settings", tag="settings", auth="admin", response="Settings"
    ),
    Operation(
        "patch",
        "/settings",
        "Change site settings",
        tag="settings",
        auth="admin",
        body="SettingsChange",
        response="Settings",
    ),
    # --- boards and topics
    Operation(
        "get",
        "/boards",
        "The boards you can see, in order",
        tag="boards",
        auth="optional",
        response="BoardList",
        description="Top-level boards by position, each followed by its sub-boards.",
    ),
    Operation(
        "post",
        "/boards",
        "Create a board",
        tag="boards",
        auth="admin",
        status=201,
        body="NewBoard",
        response="Board",
    ),
    Operation(
        "get", "/boards/{board_id}", "A board", tag="boards", auth="optional", response="Board"
    ),
    Operation(
        "patch",
        "/boards/{board_id}",
        "Rename, describe, move or reorder a board",
        tag="boards",
        auth="admin",
        body="BoardChange",
        response="Board",
    ),
    Operation(
        "get",
        "/boards/{board_id}/topics",
        "A board's topics",
        tag="topics",
        auth="optional",
        response="TopicPage",
        paged=True,
        description="Pinned first, then by latest activity.",
    ),
    Operation(
        "post",
        "/boards/{board_id}/topics",
        "Start a topic",
        tag="topics",
        auth="member",
        status=201,
        body="TopicDraft",
        response="NewTopic",
        description="403 `silenced` while you are silenced.",
        extra_errors=(403,),
    ),
    Operation(
        "get",
        "/topics/{topic_id}",
        "A topic and one page of its posts",
        tag="topics",
        auth="optional",
        response="TopicWithPosts",
        paged=True,
    ),
    Operation(
        "post",
        "/topics/{topic_id}/posts",
        "Reply to a topic, or to one of its posts",
        tag="posts",
        auth="member",
        status=201,
        body="ReplyDraft",
        response="Post",
        description="`reply_to` must be a post in the same topic (else 400) that you can see "
        "(else 404). 403 `locked` for a locked topic, `silenced` while you are silenced.",
        extra_errors=(403,),
    ),
    Operation(
        "get",
        "/latest",
        "The latest topics on every board you can see",
        tag="topics",
        auth="optional",
        response="TopicPage",
        paged=True,
    ),
    # --- posts
    Operation("get", "/posts/{post_id}", "A post", tag="posts", auth="optional", response="Post"),
    Operation(
        "patch",
        "/posts/{post_id}",
        "Edit a post (the old text is kept as a revision)",
        tag="posts",
        auth="member",
        body="PostEdit",
        response="Post",
        extra_errors=(403,),
    ),
    Operation(
        "delete",
        "/posts/{post_id}",
        "Delete a post (it stays as a placeholder)",
        tag="posts",
        auth="member",
        status=204,
        extra_errors=(403,),
    ),
    Operation(
        "get",
        "/posts/{post_id}/revisions",
        "A post's earlier versions, newest first",
        tag="posts",
        auth="optional",
        response="RevisionList",
    ),
)


# --- schemas ------------------------------------------------------------------


def _ref(name: str) -> JSON:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: tuple[str, ...] = (), **properties: JSON) -> JSON:
    schema: JSON = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def _record(**properties: JSON) -> JSON:
    """An answer object: every field is always present (perhaps null)."""
    return _object(tuple(properties), **properties)


def _closed(required: tuple[str, ...] = (), **properties: JSON) -> JSON:
    """A request body: unknown fields are refused with 400."""
    return {**_object(required, **properties), "additionalProperties": False}


def _string(**extra: Any) -> JSON:
    return {"type": "string", **extra}


def _nullable(schema: JSON) -> JSON:
    return {**schema, "type": [schema["type"], "null"]}


def _list(item: str) -> JSON:
    return {"type": "array", "items": _ref(item)}


ID: JSON = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
NUMBER: JSON = {"type": "integer", "minimum": 1}
TIME = _string(format="date-time", description="UTC, e.g. 2026-11-25T20:04:53Z")
URL = _string(description="The object's page in the browser (a path)")
COUNT: JSON = {"type": "integer", "minimum": 0}
BOOL: JSON = {"type": "boolean"}
PASSWORD = _string(minLength=PASSWORD_MIN, maxLength=PASSWORD_MAX)
BODY = _string(minLength=1, maxLength=BODY_MAX, description="Markdown")
PAGE_FIELDS: dict[str, JSON] = {"page": NUMBER, "pages": NUMBER}

USER_FIELDS: dict[str, JSON] = {
    "id": ID,
    "username": _string(),
    "trust_level": {"type": "integer", "minimum": 0, "maximum": 4},
    "roles": {"type": "array", "items": _string(enum=["admin", "moderator"])},
    "created_at": {**TIME, "description": "The first of the join month, unless shown in full"},
    "bio": _string(),
    "url": URL,
}
SETTINGS_FIELDS: dict[str, JSON] = {
    "registration": _string(enum=list(REGISTRATION_CHOICES)),
    "guest_access": _string(enum=list(GUEST_ACCESS_CHOICES)),
    "site_name": _string(maxLength=80),
    "site_description": _string(maxLength=500),
}


def _answer_schemas() -> JSON:
    return {
        "Error": _object(
            ("error",),
            error=_object(
                ("code", "message"),
                code=_string(examples=["not_found", "invalid", "unauthorized"]),
                message=_string(),
                fields={
                    "type": "object",
                    "additionalProperties": _string(),
                    "description": "Field name to message, for 400 invalid input",
                },
            ),
        ),
        "Document": {"type": "object", "description": "An OpenAPI 3.1 document"},
        "Message": _record(message=_string()),
        "User": _record(**USER_FIELDS),
        "NewUser": _record(
            **USER_FIELDS,
            recovery_codes={"type": "array", "items": _string(), "description": "Shown once"},
        ),
        "Profile": _record(**USER_FIELDS, posts_count=COUNT, topics_count=COUNT),
        "Me": _record(
            **USER_FIELDS,
            show_join_date=BOOL,
            has_email=BOOL,
            email_pending=BOOL,
            recovery_codes_left=COUNT,
            silenced_until=_nullable(TIME),
        ),
        "TokenAnswer": _record(token=_string(), user=_ref("User")),
        "RecoveryCodes": _record(codes={"type": "array", "items": _string()}),
        "Settings": _record(**SETTINGS_FIELDS),
        "Board": _record(
            id=ID,
            name=_string(),
            description=_string(),
            group=_nullable(_string(description="The owning group's slug")),
            parent_id=_nullable(ID),
            position={"type": "integer"},
            topics_count=COUNT,
            posts_count=COUNT,
            last_post_at=_nullable(TIME),
            url=URL,
        ),
        "BoardList": _record(boards=_list("Board")),
        "Topic": _record(
            id=ID,
            board_id=ID,
            title=_string(),
            author=_string(),
            posts_count=COUNT,
            created_at=TIME,
            last_post_at=TIME,
            locked=BOOL,
            pinned=BOOL,
            url=URL,
        ),
        "TopicPage": _record(topics=_list("Topic"), **PAGE_FIELDS),
        "TopicWithPosts": _record(topic=_ref("Topic"), posts=_list("Post"), **PAGE_FIELDS),
        "NewTopic": _record(topic=_ref("Topic"), post=_ref("Post")),
        "Post": _record(
            id=ID,
            topic_id=ID,
            number=NUMBER,
            author=_string(),
            reply_to=_nullable(ID),
            body=_nullable(_string(description="Markdown; null if deleted and not yours to read")),
            html=_nullable(_string(description="Sanitised HTML rendered from body")),
            created_at=TIME,
            edited_at=_nullable(TIME),
            deleted=BOOL,
            url=URL,
        ),
        "Revision": _record(number=NUMBER, body=_string(), html=_string(), created_at=TIME),
        "RevisionList": _record(revisions=_list("Revision")),
    }


def _request_schemas() -> JSON:
    return {
        "Credentials": _closed(("username", "password"), username=_string(), password=_string()),
        "RecoverRequest": _closed(
            ("username", "code", "new_password"),
            username=_string(),
            code=_string(),
            new_password=PASSWORD,
        ),
        "ResetRequest": _closed(("email",), email=_string()),
        "ResetWithToken": _closed(
            ("token", "new_password"), token=_string(), new_password=PASSWORD
        ),
        "ProfileChange": _closed(
            bio=_string(maxLength=500),
            show_join_date=BOOL,
            email=_nullable(_string(description='"" or null removes the address')),
            password=_string(description="Your password; required with email"),
        ),
        "PasswordChange": _closed(
            ("current_password", "new_password"), current_password=_string(), new_password=PASSWORD
        ),
        "PasswordConfirmation": _closed(("password",), password=_string()),
        "Registration": _closed(
            ("username", "password"),
            username=_string(minLength=3, maxLength=20, pattern="^[A-Za-z0-9_-]+$"),
            password=PASSWORD,
            email=_nullable(_string()),
            invite=_nullable(_string()),
        ),
        "SettingsChange": _closed((), **SETTINGS_FIELDS),
        "NewBoard": _closed(
            ("name",),
            name=_string(minLength=1, maxLength=80),
            description=_string(maxLength=500),
            parent_id=_nullable(ID),
            group=_nullable(_string(description="Not available yet: must be null")),
        ),
        "BoardChange": _closed(
            name=_string(minLength=1, maxLength=80),
            description=_string(maxLength=500),
            parent_id=_nullable(ID),
            position={"type": "integer", "minimum": 0},
        ),
        "TopicDraft": _closed(
            ("title", "body"), title=_string(minLength=TITLE_MIN, maxLength=TITLE_MAX), body=BODY
        ),
        "ReplyDraft": _closed(("body",), body=BODY, reply_to=_nullable(ID)),
        "PostEdit": _closed(("body",), body=BODY),
    }


# --- errors -------------------------------------------------------------------

ERRORS = {
    400: ("BadRequest", "Invalid input: `code` is `invalid` with `fields`, or `csrf_failed`"),
    401: ("Unauthorized", "Not logged in, or the bearer token is not valid"),
    403: ("Forbidden", "Logged in, and you can see it, but you may not do this"),
    404: ("NotFound", "Not there, or not visible to you: the two answer alike"),
    409: ("Conflict", "Conflicts with the current state"),
    413: ("TooLarge", "The request body is too large"),
    429: ("RateLimited", "Too many attempts; see Retry-After"),
}


def _error_responses() -> JSON:
    responses: JSON = {}
    for name, description in ERRORS.values():
        responses[name] = {
            "description": description,
            "content": {"application/json": {"schema": _ref("Error")}},
        }
    responses["RateLimited"]["headers"] = {
        "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
    }
    return responses


def _errors_for(op: Operation, path_params: list[str]) -> set[int]:
    statuses = set(op.extra_errors)
    if op.body or op.paged:
        statuses.add(400)
    if op.body:
        statuses.add(413)
    if op.method != "get" and op.auth != "none":
        statuses.add(400)  # csrf_failed for a cookie session without the token
    if op.auth in ("member", "admin"):
        statuses.add(401)
    if op.auth == "admin":
        statuses.add(403)
    if path_params:
        statuses.add(404)
    return statuses


# --- the document -------------------------------------------------------------

_PARAM = re.compile(r"{([^}]+)}")


def _parameters(op: Operation, path_params: list[str]) -> list[JSON]:
    params: list[JSON] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": _string(pattern="^[A-Za-z0-9_-]{3,20}$") if name == "username" else ID,
        }
        for name in path_params
    ]
    if op.paged:
        params.append(
            {
                "name": "page",
                "in": "query",
                "required": False,
                "description": "Beyond the last page: an empty list",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
            }
        )
    return params


SECURITY: dict[str, list[JSON]] = {
    "none": [],
    # {} = also without credentials: guests may call it (and see what guests see).
    "optional": [{"bearerAuth": []}, {"sessionCookie": []}, {}],
    "member": [{"bearerAuth": []}, {"sessionCookie": []}],
    "admin": [{"bearerAuth": []}, {"sessionCookie": []}],
}


def _operation(op: Operation) -> JSON:
    path_params = _PARAM.findall(op.path)
    success: JSON = {"description": op.summary}
    if op.response:
        success["content"] = {"application/json": {"schema": _ref(op.response)}}
    responses: JSON = {str(op.status): success}
    for status in sorted(_errors_for(op, path_params)):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERRORS[status][0]}"}
    operation_id = re.sub(r"[^A-Za-z0-9]+", "_", f"{op.method} {op.path}").strip("_")
    result: JSON = {
        "operationId": operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "security": SECURITY[op.auth],
        "responses": responses,
    }
    if op.description:
        result["description"] = op.description
    if parameters := _parameters(op, path_params):
        result["parameters"] = parameters
    if op.body:
        result["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(op.body)}},
        }
    return result


@cache
def document() -> JSON:
    """The whole OpenAPI document (built once per process)."""
    paths: JSON = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Forum API",
            "version": VERSION,
            "description": (
                "JSON in, JSON out, UTF-8. Whatever you may not see answers exactly as if "
                'it did not exist (404). Errors are {"error": {"code", "message", '
                '"fields"?}}. Times are ISO 8601 UTC with Z. Cookie-session writes need '
                "the CSRF token in an X-CSRFToken header; bearer requests do not."
            ),
        },
        "servers": [{"url": bp.url_prefix}],
        "paths": paths,
        "components": {
            "schemas": {**_answer_schemas(), **_request_schemas()},
            "responses": _error_responses(),
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from POST /auth/token",
                },
                "sessionCookie": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "session",
                    "description": "The browser session; writes also need X-CSRFToken",
                },
            },
        },
    }


@bp.get("/openapi.json")
def openapi_document() -> Any:
    return document()
