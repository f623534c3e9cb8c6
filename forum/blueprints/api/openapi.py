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
from forum.services.groups import SLUG_RE
from forum.services.invitations import DEFAULT_HOURS
from forum.services.invitations import MAX_HOURS
from forum.services.invitations import MAX_USES
from forum.services.settings import GUEST_ACCESS_CHOICES
from forum.services.settings import REGISTRATION_CHOICES
from forum.validation import BODY_MAX
from forum.validation import PASSWORD_MAX
from forum.validation import PASSWORD_MIN
from forum.validation import TITLE_MAX
from forum.validation import TITLE_MIN

JSON = dict[str, Any]
VERSION = "1.0.0"
SLUG_PATTERN = SLUG_RE.pattern
ROLES = ["member", "moderator", "owner"]


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
    body_required: bool = True  # False: every field has a default, no body reads as {}
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
        description="403 `invite_required` while registration is by invitation, unless "
        "`invite` holds a valid invitation token; a group invitation makes the newcomer a "
        "member of the group, whose slug comes back as `group`. 404 for an unknown, used-up, "
        "revoked or expired invitation; 409 `username_taken`.",
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
        extra_errors=(404,),
        description="Site boards: admins. With `group` (a slug), the group's board: admins "
        "and the group's owners. A group you cannot see answers 404, like an unknown slug.",
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
    # --- groups
    Operation(
        "get",
        "/groups",
        "The groups you can see, by name",
        tag="groups",
        auth="optional",
        response="GroupList",
        description="Public groups (for whoever reads the site) and your own secret groups. "
        "A secret group you are not in is absent.",
    ),
    Operation(
        "post",
        "/groups",
        "Create a group",
        tag="groups",
        auth="admin",
        status=201,
        body="NewGroup",
        response="Group",
        extra_errors=(409,),
        description="`owner` (a username) defaults to you. 409 `slug_taken` if another group "
        "has the slug. If you make someone else the owner of a secret group, you are outside "
        "it from then on: the answer is the last time you see it outside the admin area.",
    ),
    Operation(
        "get",
        "/groups/{slug}",
        "A group",
        tag="groups",
        auth="optional",
        response="Group",
        description="A secret group you are not in answers 404, exactly like an unknown slug.",
    ),
    Operation(
        "get",
        "/groups/{slug}/members",
        "Who is in a group, owners first",
        tag="groups",
        auth="optional",
        response="MemberList",
        extra_errors=(403,),
        description="For the group's members and owners (and admins, in a public group). "
        "Others who can see the group: 403 (guests 401).",
    ),
    Operation(
        "put",
        "/groups/{slug}/members/{username}",
        "Add a member with a role, or change a member's role",
        tag="groups",
        auth="member",
        body="RoleChange",
        response="Member",
        extra_errors=(403, 409),
        description="Group owners and admins. 409 when it would leave the group without an "
        "owner: make someone else owner first.",
    ),
    Operation(
        "delete",
        "/groups/{slug}/members/{username}",
        "Remove a member, or leave a group",
        tag="groups",
        auth="member",
        status=204,
        extra_errors=(403, 409),
        description="Group owners and admins remove anyone; a member removes themselves. "
        "404 if the member is not in the group; 409 for the last owner.",
    ),
    Operation(
        "get",
        "/me/groups",
        "The groups you belong to, with your role",
        tag="groups",
        auth="member",
        response="GroupList",
    ),
    Operation(
        "post",
        "/groups/{slug}/join-requests",
        "Ask to join a public group",
        tag="groups",
        auth="member",
        status=201,
        response="JoinRequest",
        extra_errors=(403,),
        description="Asking again returns the pending request. 403 for a group you are in, "
        "and for secret groups (they take members by invitation only).",
    ),
    Operation(
        "get",
        "/groups/{slug}/join-requests",
        "Pending requests to join",
        tag="groups",
        auth="member",
        response="JoinRequestList",
        extra_errors=(403,),
        description="For the group's owners and moderators.",
    ),
    Operation(
        "post",
        "/groups/{slug}/join-requests/{request_id}/accept",
        "Accept a request: the asker becomes a member",
        tag="groups",
        auth="member",
        response="JoinRequest",
        extra_errors=(403,),
        description="For the group's owners and moderators. A request decided before is "
        "answered as it stands.",
    ),
    Operation(
        "post",
        "/groups/{slug}/join-requests/{request_id}/decline",
        "Decline a request",
        tag="groups",
        auth="member",
        response="JoinRequest",
        extra_errors=(403,),
        description="For the group's owners and moderators. A request decided before is "
        "answered as it stands.",
    ),
    # --- invitations
    Operation(
        "post",
        "/groups/{slug}/invitations",
        "Make an invitation link",
        tag="invitations",
        auth="member",
        status=201,
        body="InvitationDraft",
        body_required=False,
        response="NewInvitation",
        extra_errors=(403,),
        description="Group owners and moderators. The token is in this answer only. "
        "A group you cannot see: 404; one you see but do not moderate: 403.",
    ),
    Operation(
        "get",
        "/groups/{slug}/invitations",
        "The group's open invitations, newest first",
        tag="invitations",
        auth="member",
        response="InvitationList",
        extra_errors=(403,),
        description="Neither revoked, expired nor used up. No tokens: they are shown once.",
    ),
    Operation(
        "delete",
        "/groups/{slug}/invitations/{invitation_id}",
        "Revoke an invitation",
        tag="invitations",
        auth="member",
        status=204,
        extra_errors=(403,),
        description="Its token answers 404 from then on. Revoking again changes nothing.",
    ),
    Operation(
        "post",
        "/invitations/{token}/accept",
        "Join through an invitation",
        tag="invitations",
        auth="member",
        response="Acceptance",
        description="Accepting again answers the same and spends no second use. 404 for an "
        "unknown, used-up, revoked or expired token. Guests get 401 whatever the token. "
        "A site invitation (no group) answers null for both fields.",
    ),
    # --- the admin area
    Operation(
        "get",
        "/admin/groups",
        "Every group, with member counts",
        tag="admin",
        auth="admin",
        response="AdminGroupList",
        description="Secret groups included, with name and member count only: an admin "
        "has to know what exists to look after the site, but not who is in a secret group "
        "or what is said there. Entering one takes the logged break-glass step.",
    ),
    Operation(
        "post",
        "/admin/groups/{group_id}/break-glass",
        "Enter a secret group for an hour",
        tag="admin",
        auth="admin",
        status=201,
        body="BreakGlassRequest",
        response="BreakGlass",
        description="For a site admin outside the secret group (else 403). The reason is "
        "written to the group's moderation log, which its owners see. Read access ends at "
        "`expires_at`. By id, since slugs of secret groups resolve only for their members.",
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


def _nullable_ref(name: str) -> JSON:
    return {"oneOf": [_ref(name), {"type": "null"}]}


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
            group=_nullable(_string(description="The slug of the group the invitation led into")),
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
        "Group": _record(
            id=ID,
            name=_string(),
            slug=_string(pattern=SLUG_PATTERN),
            description=_string(),
            visibility=_string(enum=["public", "secret"]),
            url=URL,
            members_count=_nullable(
                {**COUNT, "description": "null unless you may see who is in the group"}
            ),
            role=_nullable(_string(enum=[*ROLES, None], description="Yours; null if not a member")),
        ),
        "GroupList": _record(groups=_list("Group")),
        "Member": _record(
            username=_string(),
            role=_string(enum=ROLES),
            joined_at={**TIME, "description": "The first of the month they joined the group"},
            url=URL,
        ),
        "MemberList": _record(members=_list("Member")),
        "JoinRequest": _record(
            id=ID,
            username=_string(),
            user_url=URL,
            state=_string(enum=["pending", "accepted", "declined"]),
            created_at=TIME,
            decided_at=_nullable(TIME),
        ),
        "JoinRequestList": _record(join_requests=_list("JoinRequest")),
        "Invitation": _record(id=ID, created_at=TIME, expires_at=TIME, max_uses=NUMBER, uses=COUNT),
        "InvitationList": _record(invitations=_list("Invitation")),
        "NewInvitation": _record(
            id=ID,
            token=_string(description="Shown only in this answer"),
            url=_string(description="The invitation's page in the browser: /invite/<token>"),
            expires_at=TIME,
            max_uses=NUMBER,
            uses=COUNT,
        ),
        "Acceptance": _record(group=_nullable_ref("Group"), member=_nullable_ref("Member")),
        "AdminGroup": _record(
            id=ID,
            name=_string(),
            slug=_string(pattern=SLUG_PATTERN),
            visibility=_string(enum=["public", "secret"]),
            members_count=COUNT,
        ),
        "AdminGroupList": _record(groups=_list("AdminGroup")),
        "BreakGlass": _record(group=_ref("Group"), expires_at=TIME),
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
            group=_nullable(_string(description="A group's slug: the board is the group's")),
        ),
        "BoardChange": _closed(
            name=_string(minLength=1, maxLength=80),
            description=_string(maxLength=500),
            parent_id=_nullable(ID),
            position={"type": "integer", "minimum": 0},
        ),
        "NewGroup": _closed(
            ("name", "slug", "visibility"),
            name=_string(minLength=1, maxLength=80),
            slug=_string(pattern=SLUG_PATTERN, maxLength=40),
            visibility=_string(enum=["public", "secret"]),
            description=_string(maxLength=500),
            owner=_nullable(_string(description="A username; defaults to you")),
        ),
        "RoleChange": _closed(("role",), role=_string(enum=ROLES)),
        "InvitationDraft": _closed(
            max_uses={**NUMBER, "maximum": MAX_USES, "default": 1},
            expires_in_hours={**NUMBER, "maximum": MAX_HOURS, "default": DEFAULT_HOURS},
        ),
        "BreakGlassRequest": _closed(
            ("reason",), reason=_string(minLength=10, maxLength=500, description="Logged")
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
        {"name": name, "in": "path", "required": True, "schema": PATH_SCHEMAS.get(name, ID)}
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


PATH_SCHEMAS: dict[str, JSON] = {
    "username": _string(pattern="^[A-Za-z0-9_-]{3,20}$"),
    "slug": _string(pattern=SLUG_PATTERN, maxLength=40),
    "token": _string(pattern="^[A-Za-z0-9_-]{8,100}$", description="From the invitation link"),
}

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
            "required": op.body_required,
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
