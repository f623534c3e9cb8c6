"""The OpenAPI 3.1 description of the API: one declarative table of operations, and the
contract models' JSON Schemas.

Every route of the blueprint has one `Operation` below, naming its body and answer
models (`forum.blueprints.api.schemas`); a test walks the URL map and fails when a route
is missing here (or this table names one that does not exist), and with
FORUM_CHECK_CONTRACTS every request is held to its operation (`contracts`). The schemas
are generated from the models, never written by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode
from pydantic.json_schema import models_json_schema

from forum import rendering
from forum.blueprints.api import schemas
from forum.blueprints.api.blueprint import bp
from forum.blueprints.api.inputs import MAX_ID
from forum.blueprints.api.inputs import MAX_PAGE
from forum.listings import DIRECTORY_SANCTIONS
from forum.listings import DIRECTORY_SORTS
from forum.policy import MAX_PARTICIPANTS
from forum.search.service import DATE_MAX
from forum.search.service import DATE_MIN
from forum.search.service import MAX_QUERY_CHARS as QUERY_MAX
from forum.services import chat
from forum.unread import NEW_TOPIC_DAYS
from forum.validation import SLUG_MAX
from forum.validation import SLUG_RE
from forum.validation import TOKEN_RE
from forum.validation import USERNAME_RE

JSON = dict[str, Any]
VERSION = "1.0.0"
REF_TEMPLATE = "#/components/schemas/{model}"


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
    # Other success statuses with the same answer (201 created / 200 changed, say).
    also: tuple[int, ...] = ()
    # Query parameters besides `page` (OpenAPI parameter objects without "in").
    query_params: tuple[JSON, ...] = ()
    # Other success statuses with an answer of their own: (status, schema name).
    alternatives: tuple[tuple[int, str], ...] = ()
    # The success answer's media type: anything but JSON is a file (no schema model).
    media_type: str = "application/json"
    # True: answers 304 with no body to a matching If-None-Match (the live polls).
    not_modified: bool = False


POST_LIMITS_NOTE = (
    "400 `invalid` on `body` for a post over the rendering limits "
    f"({rendering.MAX_TABLE_ROWS} table rows, {rendering.MAX_TABLE_COLUMNS} columns, "
    f"nesting {rendering.MAX_NESTING} deep, {rendering.MAX_ELEMENTS:,} elements, "
    f"{rendering.MAX_LINKS} links, {rendering.MAX_HTML_CHARS:,} characters of HTML), the "
    "message naming the limit. 429 `rate_limited` with Retry-After past your trust level's "
    "posts per minute (or, for new members, posts and topics per day) or edits per hour."
)


# --- moderation (issue 4) -----------------------------------------------------------

REASON_NOTE = (
    "Every moderation action takes a `reason` (1-500 characters): it is logged and shown "
    "to whoever the action concerns."
)
CHANGED_NOTE = "`changed` is false when the object already was that way (nothing logged)."
SCOPE_NOTE = (
    "Moderators in scope: a group's moderators and owners for its boards, site moderators "
    "for site boards and public groups' boards, admins for those and for a secret group "
    "only while broken in. Anything outside your scope that you can read answers 403; "
    "anything you cannot read, 404."
)


def _post_action(name: str, summary: str, *, required: bool = True) -> Operation:
    return Operation(
        "post",
        f"/posts/{{post_id}}/{name}",
        summary,
        tag="moderation",
        auth="member",
        body="ActionReason" if required else "OptionalReason",
        body_required=False,
        response="PostChange",
        extra_errors=(403, 409),
        description=f"{SCOPE_NOTE} {REASON_NOTE} {CHANGED_NOTE}",
    )


def _watch_operations() -> tuple[Operation, ...]:
    """GET and PUT of the member's watching level, for topics, boards and groups."""
    found: list[Operation] = []
    for path, noun in (
        ("/topics/{topic_id}/watch", "topic"),
        ("/boards/{board_id}/watch", "board"),
        ("/groups/{slug}/watch", "group"),
    ):
        for method, summary, body in (
            ("get", f"Your watching level for a {noun}", None),
            ("put", f"Set your watching level for a {noun}", "WatchChange"),
        ):
            found.append(
                Operation(
                    method,
                    path,
                    summary,
                    tag="notifications",
                    auth="member",
                    body=body,
                    response="WatchState",
                    extra_errors=(404,),
                    description=WATCH_NOTE,
                )
            )
    return tuple(found)


def _topic_action(name: str, summary: str) -> Operation:
    return Operation(
        "post",
        f"/topics/{{topic_id}}/{name}",
        summary,
        tag="moderation",
        auth="member",
        body="ActionReason",
        body_required=False,
        response="TopicChange",
        extra_errors=(403,),
        description=f"{SCOPE_NOTE} {REASON_NOTE} {CHANGED_NOTE}",
    )


WATCH_NOTE = (
    "watching: every new post (a topic) or new topic (a board or group); tracking (the "
    "default): replies to you, mentions and quotes; normal: mentions only; muted: nothing. "
    "The most specific choice counts (topic, then board, then group). A topic, board or "
    "group you cannot see is 404."
)

MODERATION_OPERATIONS: tuple[Operation, ...] = (
    # --- reports
    Operation(
        "post",
        "/posts/{post_id}/reports",
        "Report a post to its moderators",
        tag="reports",
        auth="member",
        status=201,
        also=(200,),
        body="ReportDraft",
        response="Report",
        extra_errors=(403, 409, 429),
        description="201 when you report the post, 200 when you change your open report "
        "(one report per member per post). 409 once moderators have handled your report, "
        "or the post is hidden or deleted (dealt with already). 403 for your own post, or "
        "`silenced` (site-wide, or in the post's group). 429 with "
        "Retry-After when you report too often. The answer shows your own reason only.",
    ),
    Operation(
        "get",
        "/reports",
        "Reports in your moderation scope",
        tag="reports",
        auth="member",
        response="ReviewReportPage",
        paged=True,
        extra_errors=(403,),
        description="`?status=open` (default), `upheld` or `dismissed`. Moderators only: "
        "other members get 403. Never a report about your own post. Reporters are never "
        "named: each reason comes with the reporter's trust level.",
    ),
    Operation(
        "get",
        "/reports/{report_id}",
        "One report in your moderation scope",
        tag="reports",
        auth="member",
        response="ReviewReport",
        description="404 for a report outside your scope, as for one that does not exist.",
    ),
    Operation(
        "post",
        "/reports/{report_id}/resolve",
        "Handle a report",
        tag="reports",
        auth="member",
        body="Resolution",
        response="ReviewReport",
        extra_errors=(403, 409),
        description="`dismiss`, `hide_post`, `delete_post`, `silence_user` or `suspend_user` "
        "(the last two for `days`, 1-365; omitted: permanent, which like anything over 7 "
        "days needs a second moderator's confirmation and runs 7 days until then). "
        'Without `reason` the log records "Resolved from the review queue." The '
        "reporters are notified. 403 for a report about yourself or a member of equal or "
        "higher rank; 409 for a report handled already.",
    ),
    Operation(
        "get",
        "/moderation/queue",
        "The review queue: reported, re-review, waiting posts, sanctions and appeals",
        tag="reports",
        auth="member",
        response="QueuePage",
        paged=True,
        extra_errors=(403,),
        description="Moderators only (others 403). Grouped by post, with each reason, the "
        "reporters' trust levels and the author's history in your scope.",
    ),
    Operation(
        "get",
        "/moderation/log",
        "The moderation log of your scope, newest first",
        tag="moderation",
        auth="member",
        response="LogPage",
        paged=True,
        description="Every logged-in member may ask: moderators see their scope's entries, "
        "members also those of their groups that open the log to members; everyone else "
        "an empty list. A group's entries never show outside it. `actor` null: the "
        "community's automatic defences (auto-hide, auto-silence).",
    ),
    Operation(
        "post",
        "/moderation/log/{entry_id}/undo",
        "Undo a logged action",
        tag="moderation",
        auth="member",
        body="ActionReason",
        body_required=False,
        response="LogEntryChange",
        extra_errors=(403, 409),
        description="For a moderator of the same or a higher rank in the entry's scope. "
        "The undo is logged as an entry of its own. 409 if undone already, or not undoable.",
    ),
    # --- actions on posts and topics
    _post_action("hide", "Hide a post (its author sees why and may edit for a review)"),
    _post_action("unhide", "Show a hidden post again"),
    _post_action("keep-hidden", "Answer a re-review request: the post stays hidden"),
    _post_action("restore", "Restore a deleted post"),
    _post_action("approve", "Let a waiting post through", required=False),
    _post_action("reject", "Reject a waiting post"),
    _topic_action("lock", "Lock a topic"),
    _topic_action("unlock", "Unlock a topic"),
    _topic_action("pin", "Pin a topic"),
    _topic_action("unpin", "Unpin a topic"),
    _topic_action("close", "Close a topic: only moderators reply"),
    _topic_action("open", "Open a closed topic"),
    Operation(
        "post",
        "/topics/{topic_id}/move",
        "Move a topic to another board",
        tag="moderation",
        auth="member",
        body="TopicMove",
        response="TopicChange",
        extra_errors=(403,),
        description="For a moderator of both boards. Into or out of a secret group only "
        "with `confirm_group_change: true` (else 400 on `board`). A board you cannot see: "
        f"404. {REASON_NOTE} {CHANGED_NOTE}",
    ),
    Operation(
        "put",
        "/topics/{topic_id}/slow-mode",
        "Set slow mode: one post per member every N minutes (0: off)",
        tag="moderation",
        auth="member",
        body="SlowMode",
        response="TopicChange",
        extra_errors=(403,),
        description=f"{SCOPE_NOTE} {REASON_NOTE} {CHANGED_NOTE}",
    ),
    # --- sanctions
    Operation(
        "post",
        "/users/{username}/sanctions",
        "Silence or suspend a member",
        tag="sanctions",
        auth="member",
        status=201,
        body="SanctionDraft",
        response="Sanction",
        extra_errors=(403,),
        description="Site-wide, or in `group` (a slug). `days` 1-365; omitted or null: "
        "permanent. Over 7 days or permanent: `unconfirmed` and effective for 7 days until "
        "a second moderator confirms. Silenced members read but cannot write (403 "
        "`silenced`); suspended ones cannot log in (403 `suspended`). 403 for yourself, an "
        "admin or a moderator of equal or higher rank.",
    ),
    Operation(
        "get",
        "/users/{username}/sanctions",
        "A member's sanctions in your scope",
        tag="sanctions",
        auth="member",
        response="SanctionList",
        description="Moderators of a scope the member is in see those in their scope; a "
        "member sees their own (also at /me/standing). Anyone else: 404.",
    ),
    Operation(
        "get",
        "/me/standing",
        "Your sanctions, with the reasons",
        tag="sanctions",
        auth="member",
        response="SanctionList",
    ),
    Operation(
        "post",
        "/sanctions/{sanction_id}/confirm",
        "Confirm a long or permanent sanction (a second moderator)",
        tag="sanctions",
        auth="member",
        response="SanctionChange",
        extra_errors=(403, 409),
        description="Not by the moderator who imposed it (403).",
    ),
    Operation(
        "post",
        "/sanctions/{sanction_id}/lift",
        "Lift a sanction",
        tag="sanctions",
        auth="member",
        body="ActionReason",
        body_required=False,
        response="SanctionChange",
        extra_errors=(403,),
        description=f"{REASON_NOTE} {CHANGED_NOTE}",
    ),
    # --- appeals
    Operation(
        "post",
        "/appeals",
        "Appeal once against your hidden post or your sanction",
        tag="appeals",
        auth="member",
        status=201,
        body="AppealDraft",
        response="Appeal",
        extra_errors=(403, 409),
        description="One appeal per action (409 for a second). It goes to a moderator "
        "other than the one who acted. A target that is not yours to appeal: 404.",
    ),
    Operation(
        "get",
        "/appeals",
        "Appeals: yours, and open ones in your scope you may decide",
        tag="appeals",
        auth="member",
        response="AppealPage",
        paged=True,
    ),
    Operation(
        "post",
        "/appeals/{appeal_id}/decide",
        "Grant or deny an appeal",
        tag="appeals",
        auth="member",
        body="AppealDecision",
        response="Appeal",
        extra_errors=(403, 409),
        description="Granting reverses the action (shows the post, lifts the sanction). "
        "Not by the moderator who acted; 409 once decided.",
    ),
    # --- likes
    Operation(
        "put",
        "/posts/{post_id}/like",
        "Like a post",
        tag="posts",
        auth="member",
        response="LikeState",
        extra_errors=(403,),
        description="Once per member per post; liking again changes nothing. 403 for your "
        "own post, a hidden or deleted one, or `silenced` while you are silenced (site-wide, "
        "or in the post's group).",
    ),
    Operation(
        "delete",
        "/posts/{post_id}/like",
        "Take back a like",
        tag="posts",
        auth="member",
        response="LikeState",
        extra_errors=(403,),
    ),
    # --- notifications
    Operation(
        "get",
        "/notifications",
        "Your notifications, newest first",
        tag="notifications",
        auth="member",
        response="NotificationPage",
        paged=True,
        query_params=(
            {
                "name": "before",
                "description": "Cursor paging: only those older than this notification id "
                "(`next_before` of the previous answer); `page` is then ignored",
                "schema": {"type": "integer", "minimum": 1},
            },
        ),
        description="One about a post shows only while you may still see the post. "
        "`unread` counts the unread ones. Names of who acted are shown as you may see "
        "them now.",
    ),
    Operation(
        "post",
        "/notifications/read",
        "Mark your notifications read (all, or those listed)",
        tag="notifications",
        auth="member",
        body="NotificationsRead",
        body_required=False,
        response="Marked",
        description="Without a body (or without `ids`): all of them. Ids of notifications "
        "that are not yours, or that you may no longer see, change nothing.",
    ),
    # --- unread tracking
    Operation(
        "get",
        "/unread",
        "Topics you opened before with posts you have not read, latest first",
        tag="unread",
        auth="member",
        response="UnreadTopicPage",
        paged=True,
        description="Your position in a topic moves forward as you read its pages (or mark "
        "it read); `new_posts` counts the posts past it. Only topics you may read now.",
    ),
    Operation(
        "get",
        "/new",
        "Topics started by others lately that you never opened, latest first",
        tag="unread",
        auth="member",
        response="UnreadTopicPage",
        paged=True,
        description=f"Lately: in the last {NEW_TOPIC_DAYS} days, and since you last "
        "dismissed the new topics (in the browser).",
    ),
    Operation(
        "post",
        "/topics/{topic_id}/read",
        "Mark a topic read up to a post (what your client showed)",
        tag="unread",
        auth="member",
        body="ReadPosition",
        response="ReadState",
        description="Positions only move forward: a lower `last_read` changes nothing. A "
        "number past the topic's last post marks it read to the end.",
    ),
    Operation(
        "post",
        "/notifications/{notification_id}/read",
        "Mark one of your notifications read",
        tag="notifications",
        auth="member",
        response="Marked",
        extra_errors=(404,),
        description="`marked` 1 if it was unread, 0 if read already. Another member's "
        "notification, or one you may no longer see, is 404 like one that does not exist.",
    ),
    *_watch_operations(),
    Operation(
        "get",
        "/me/notification-preferences",
        "Your choices per kind of notification",
        tag="notifications",
        auth="member",
        response="NotificationPreferences",
        description="Per kind: `in_app` (shown on your notifications page) and `email` "
        "(never, immediately, digest). Mail goes only to a confirmed address; its subject "
        "never holds a name or any text from the forum.",
    ),
    Operation(
        "put",
        "/me/notification-preferences",
        "Change some of your choices per kind of notification",
        tag="notifications",
        auth="member",
        body="NotificationPreferencesChange",
        response="NotificationPreferences",
        description="Only the kinds given change. An unknown kind or value is 400 `invalid`.",
    ),
    Operation(
        "get",
        "/me/email-settings",
        "Your e-mail settings: digest frequency and what a mail may hold",
        tag="notifications",
        auth="member",
        response="EmailSettings",
        description="`digest`: daily (the default), weekly or off; `link_only`: true (the "
        "default) for mails with only a neutral sentence and a link; `address`: whether a "
        "confirmed address is on file.",
    ),
    Operation(
        "put",
        "/me/email-settings",
        "Change your e-mail settings",
        tag="notifications",
        auth="member",
        body="EmailSettingsChange",
        response="EmailSettings",
        description="Only the fields given change. A wrong value is 400 `invalid`.",
    ),
    Operation(
        "get",
        "/users/suggest",
        "Names to mention, starting with `q`",
        tag="notifications",
        auth="member",
        response="UserSuggestions",
        query_params=(
            {
                "name": "q",
                "description": "The start of a username (1 to 20 letters, digits, _ or -)",
                "schema": {"type": "string", "maxLength": 20},
            },
        ),
        description="Up to 10 members you may see (as profiles): fellow members of your "
        "groups, staff, authors of posts you can read. Never someone known only inside a "
        "secret group you are not in. Any other `q` finds nothing.",
    ),
    # --- trust levels
    Operation(
        "put",
        "/users/{username}/trust-level",
        "Grant a trust level by hand",
        tag="trust",
        auth="member",
        body="TrustGrant",
        response="TrustChange",
        extra_errors=(403,),
        description="Without `group`: the member's site level, for admins only; `lock` "
        "(default true) keeps the daily recomputation from changing it. With `group` (a "
        "slug): a level that counts on that group's boards only, granted by the group's "
        "owners (and admins who manage the group) to its members: 1-3, or 0 to take the "
        "grant back. It never lowers or locks the site level, and `lock` is ignored; the "
        "member is told. Inside the group the member's level is the higher of the two.",
    ),
    # --- role labels
    Operation(
        "put",
        "/users/{username}/label",
        "Give or take away a member's role label",
        tag="trust",
        auth="member",
        body="LabelGrant",
        response="LabelChange",
        extra_errors=(403,),
        description='A role label ("Peer supporter", "Probation-approved mentor") shows '
        "beside the member's name so that members know who is a helper or a professional. "
        "Without `group`: the site label, shown everywhere, for admins only. With `group` (a "
        "slug): a label shown inside that group only (its boards and member list), instead "
        "of the site label, given by the group's owners (and admins who manage the group) to "
        "its members. An empty `label` takes it away. Never your own; logged in the scope's "
        "moderation log. Leaving or being removed from a group drops its label.",
    ),
    *(
        Operation(
            method,
            "/groups/{slug}/my-label",
            summary,
            tag="groups",
            auth="member",
            body=body,
            response="MyLabel",
            extra_errors=(403,),
            description="Your role label inside the group (the group's, else the site's) and "
            "whether it shows there: hiding it shows no label of yours on the group's boards "
            "and member list. For the group's members (403 for others).",
        )
        for method, summary, body in (
            ("get", "Your role label inside a group", None),
            ("put", "Show or hide your role label inside a group", "LabelChoice"),
        )
    ),
    Operation(
        "get",
        "/me/trust",
        "Your trust level and what the next one needs",
        tag="trust",
        auth="member",
        response="TrustProgress",
    ),
    # --- appointing moderators and group moderation settings
    Operation(
        "put",
        "/admin/moderators/{username}",
        "Appoint or remove a site moderator",
        tag="admin",
        auth="admin",
        body="Appointment",
        response="UserChange",
        description=f"Logged. {REASON_NOTE} {CHANGED_NOTE}",
    ),
    Operation(
        "patch",
        "/groups/{slug}/moderation",
        "Change how a group is moderated",
        tag="groups",
        auth="member",
        body="GroupModerationChange",
        response="GroupModeration",
        extra_errors=(403,),
        description="The group's owners (and admins). `log_visible_to_members` opens the "
        "group's moderation log (never naming reporters) to all its members; "
        "`approve_first_posts` holds a new member's first N posts for a moderator.",
    ),
)


# --- search (issue 5) -----------------------------------------------------------------

_DATE: JSON = {
    "type": "string",
    "format": "date",
    "description": f"YYYY-MM-DD (UTC), from {DATE_MIN.isoformat()} to {DATE_MAX.isoformat()}",
}
SEARCH_PARAMETERS: tuple[JSON, ...] = (
    {
        "name": "q",
        "required": True,
        "description": 'Words (stemmed), "a phrase" in double quotes, -word to leave a '
        "word out. Titles, post text, authors' usernames and board names are searched. "
        "Other syntax characters are taken literally; an unclosed quote is closed.",
        "schema": {"type": "string", "minLength": 1, "maxLength": QUERY_MAX},
    },
    {
        "name": "board",
        "description": "Only this board (an id)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    {
        "name": "author",
        "description": "Only posts by this member (a username)",
        "schema": {"type": "string"},
    },
    {"name": "since", "description": "Posts written on or after this day", "schema": _DATE},
    {"name": "until", "description": "Posts written on or before this day", "schema": _DATE},
    {
        "name": "topic",
        "description": "Only this topic (an id)",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
    },
    {
        "name": "mine",
        "description": "1: only the boards of your own groups",
        "schema": {"type": "string", "enum": ["0", "1", "true", "false"], "default": "0"},
    },
)


DIRECTORY_PARAMETERS: tuple[JSON, ...] = (
    {
        "name": "q",
        "description": "Part of the username (any case)",
        "schema": {"type": "string", "maxLength": 20},
    },
    {
        "name": "level",
        "description": "Only this trust level",
        "schema": {"type": "integer", "minimum": 0, "maximum": 4},
    },
    {"name": "joined_after", "description": "Joined on or after this day", "schema": _DATE},
    {"name": "joined_before", "description": "Joined on or before this day", "schema": _DATE},
    {
        "name": "sanction",
        "description": "now: silenced or suspended now; silenced, suspended: now; ever: at "
        "any time (in your scopes only)",
        "schema": {"type": "string", "enum": [s for s in DIRECTORY_SANCTIONS if s]},
    },
    {
        "name": "sort",
        "schema": {"type": "string", "enum": list(DIRECTORY_SORTS), "default": "newest"},
    },
)


# --- private messages (issue 14) -----------------------------------------------------

PRIVATE_NOTE = (
    "A conversation exists only for those taking part in it now: anyone else - another "
    "member, a moderator, an admin, someone who left - gets 404, as for one that never was."
)
RECIPIENT_NOTE = (
    "A member you may not message answers 404 like an unknown name when you must not "
    "learn why (unknown, hidden from you, blocking you, suspended); 403 with a code when "
    "you may: `silenced`, `groups_only` (they take messages only from members of their "
    "groups), `trust_level` (new members message moderators, and answer those who "
    "messaged them first). 429 `rate_limited` past new members' messages per day or your "
    "trust level's posts per minute."
)

MESSAGE_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "post",
        "/conversations",
        "Start a private conversation",
        tag="messages",
        auth="member",
        status=201,
        body="ConversationStart",
        response="Conversation",
        extra_errors=(403, 404, 429),
        description=f"Up to {MAX_PARTICIPANTS} people, you included. Each recipient gets a "
        f"`message` notification (never with the words). {RECIPIENT_NOTE} Yourself as a "
        "recipient: 400.",
    ),
    Operation(
        "get",
        "/conversations",
        "Your conversations, latest message first",
        tag="messages",
        auth="member",
        response="ConversationPage",
        paged=True,
        description="Only those you take part in now; `unread` marks new messages.",
    ),
    Operation(
        "get",
        "/conversations/{conversation_id}",
        "A conversation's messages, oldest first",
        tag="messages",
        auth="member",
        response="ConversationMessages",
        paged=True,
        description=f"{PRIVATE_NOTE} Without `page`: the last page. You read the messages "
        "written since you joined.",
    ),
    Operation(
        "post",
        "/conversations/{conversation_id}/messages",
        "Write in a conversation",
        tag="messages",
        auth="member",
        status=201,
        body="MessageSend",
        response="PrivateMessage",
        extra_errors=(403, 429),
        description=f"{PRIVATE_NOTE} 403 `silenced` while you are silenced (unless a "
        "moderator takes part).",
    ),
    Operation(
        "post",
        "/conversations/{conversation_id}/participants",
        "Add people to a conversation",
        tag="messages",
        auth="member",
        body="ParticipantsAdd",
        response="Conversation",
        extra_errors=(403, 429),
        description=f"{PRIVATE_NOTE} {RECIPIENT_NOTE} They read from now on.",
    ),
    Operation(
        "post",
        "/conversations/{conversation_id}/leave",
        "Leave a conversation",
        tag="messages",
        auth="member",
        status=204,
        description=f"{PRIVATE_NOTE} After leaving, it and its notifications are gone for you.",
    ),
    Operation(
        "post",
        "/messages/{message_id}/report",
        "Report a message to the site's moderators",
        tag="messages",
        auth="member",
        status=201,
        body="MessageReportBody",
        response="MessageReportState",
        extra_errors=(403, 409),
        description="The moderators handling it read that message and the two before it, "
        "nothing else. 403 for your own message; 409 if you reported it already.",
    ),
    *(
        Operation(
            method,
            "/users/{username}/block",
            summary,
            tag="messages",
            auth="member",
            status=204,
            extra_errors=(403,),
            description="No messages or mentions reach you from them, and their posts are "
            "collapsed for you. They are never told.",
        )
        for method, summary in (("put", "Block a member"), ("delete", "Unblock a member"))
    ),
    Operation(
        "get",
        "/me/messaging",
        "Who may message you, and whom you blocked",
        tag="messages",
        auth="member",
        response="Messaging",
    ),
    Operation(
        "put",
        "/me/messaging",
        "Choose who may message you",
        tag="messages",
        auth="member",
        body="MessagingChange",
        response="Messaging",
    ),
    Operation(
        "delete",
        "/messages/{message_id}",
        "Delete your own message",
        tag="messages",
        auth="member",
        status=204,
        extra_errors=(403,),
        description="The others see that a message was deleted, not its words (`deleted` "
        "true, `body` and `html` empty). 403 `not_author` for someone else's message; 404 "
        "for one you cannot read. While a report of it is open, the moderators handling "
        "the report still read it; its words are wiped when the report is closed.",
    ),
    Operation(
        "get",
        "/message-reports",
        "Open reports of private messages",
        tag="messages",
        auth="member",
        response="MessageReportList",
        extra_errors=(403,),
        description="Site moderators only, oldest first: each with the reported message "
        "and the two before it (never more of the conversation, never the reporter's "
        "name). A member who moderates nothing gets 403; a group moderator an empty list.",
    ),
    Operation(
        "post",
        "/message-reports/{message_report_id}/resolve",
        "Close a report of a private message",
        tag="messages",
        auth="member",
        body="MessageReportDecision",
        response="MessageReportItem",
        extra_errors=(409,),
        description="`upheld` or `dismissed`. Logged in the moderation log; the reporter is "
        "told the decision in neutral words (nothing of the message). Act on the member "
        "through sanctions. 404 for a report you do not handle, as for one that does not "
        "exist; 409 if it is closed already.",
    ),
)


CHAT_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/changes",
        "What changed on a live page since its token",
        tag="live",
        auth="optional",
        response="Changes",
        not_modified=True,
        extra_errors=(400, 404),
        query_params=(
            {
                "name": "since",
                "required": True,
                "description": "A token from a page or an answer: `t<topic id>.<n>` for a "
                "topic, `r<room id>.<n>` for a chat room",
                "schema": {"type": "string", "maxLength": 21},
            },
        ),
        description="Answers the current token (also the ETag): `changed` is true when "
        "the topic or room changed since `since`. With `If-None-Match` set to the last "
        "ETag and nothing changed: 304, no body. Something you may not see (a secret "
        "group's topic or room, one you were removed from) answers 404 like nothing.",
    ),
    Operation(
        "get",
        "/groups/{slug}/rooms",
        "A group's chat rooms",
        tag="chat",
        auth="optional",
        response="ChatRoomList",
        description="Who can see the group sees its rooms (a secret group: its members).",
    ),
    Operation(
        "post",
        "/groups/{slug}/rooms",
        "Open a chat room in a group",
        tag="chat",
        auth="member",
        status=201,
        body="RoomDraft",
        response="ChatRoomAnswer",
        extra_errors=(403,),
        description="The group's owners (and admins, as for the group's settings). Logged.",
    ),
    Operation(
        "get",
        "/rooms",
        "The site's chat rooms (not in a group)",
        tag="chat",
        auth="optional",
        response="ChatRoomList",
    ),
    Operation(
        "post",
        "/rooms",
        "Open a site chat room",
        tag="chat",
        auth="member",
        status=201,
        body="RoomDraft",
        response="ChatRoomAnswer",
        extra_errors=(403,),
        description="Admins only. Logged.",
    ),
    Operation(
        "get",
        "/rooms/{room_id}",
        "A chat room",
        tag="chat",
        auth="optional",
        response="ChatRoomAnswer",
    ),
    Operation(
        "patch",
        "/rooms/{room_id}",
        "Change a room's slow mode or how long it keeps history",
        tag="chat",
        auth="member",
        body="RoomChange",
        response="ChatRoomAnswer",
        extra_errors=(403,),
        description="`slow_mode_seconds`: the room's moderators; `retention_days`: its "
        "owners. Logged.",
    ),
    Operation(
        "get",
        "/rooms/{room_id}/messages",
        "A room's messages, oldest first",
        tag="chat",
        auth="optional",
        response="ChatMessageList",
        extra_errors=(400,),
        query_params=(
            {
                "name": "after",
                "description": "Only messages after this message id (at most "
                f"{chat.PAGE_SIZE}); without it: the latest {chat.PAGE_SIZE}",
                "schema": {"type": "integer", "minimum": 0},
            },
        ),
        description="Hidden messages are left out.",
    ),
    Operation(
        "post",
        "/rooms/{room_id}/messages",
        "Write in a chat room",
        tag="chat",
        auth="member",
        status=201,
        body="MessageDraft",
        response="ChatMessageAnswer",
        extra_errors=(403, 429),
        description="Members of the room's group (any member, for a site room); 403 "
        "`silenced` while a silence runs (site-wide or in the group). 429 `rate_limited` "
        f"(Retry-After) in slow mode, or past {chat.FLOOD_PER_MINUTE} messages a minute.",
    ),
    Operation(
        "post",
        "/chat-messages/{message_id}/reports",
        "Report a chat message to the room's moderators",
        tag="chat",
        auth="member",
        status=201,
        body="ChatReportDraft",
        response="ChatReported",
        extra_errors=(403,),
        description="Once per member and message; the moderators never see who reported.",
    ),
    Operation(
        "post",
        "/chat-messages/{message_id}/hide",
        "Hide a chat message",
        tag="chat",
        auth="member",
        body="OptionalReason",
        body_required=False,
        response="ChatHidden",
        extra_errors=(403,),
        description="The room's moderators. Its reports are handled; logged.",
    ),
)

# --- meetings and reminders (issue 14) --------------------------------------------------

MEETING_NOTE = (
    "A secret group's meetings answer outsiders 404, like ones that do not exist. `link` "
    "and `attendance` are null unless you are in the meeting's audience (the group's "
    "members; every member for a site meeting)."
)
MEETING_OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get",
        "/groups/{slug}/meetings",
        "A group's meetings still to come",
        tag="meetings",
        auth="optional",
        response="MeetingList",
        description=f"Soonest first, by next occurrence. {MEETING_NOTE}",
    ),
    Operation(
        "post",
        "/groups/{slug}/meetings",
        "Arrange a meeting of a group",
        tag="meetings",
        auth="member",
        status=201,
        body="NewMeeting",
        response="Meeting",
        extra_errors=(403,),
        description="The group's owners and moderators (admins where they manage the "
        "group). 400 `invalid` for a time in the past or over two years ahead, an unknown "
        "time zone, or a monthly meeting on day 29-31.",
    ),
    Operation(
        "get",
        "/meetings",
        "The site's meetings still to come",
        tag="meetings",
        auth="member",
        response="MeetingList",
    ),
    Operation(
        "post",
        "/meetings",
        "Arrange a meeting for the whole forum",
        tag="meetings",
        auth="member",
        status=201,
        body="NewMeeting",
        response="Meeting",
        extra_errors=(403,),
        description="Admins and site moderators.",
    ),
    Operation(
        "get",
        "/me/meetings",
        "Meetings still to come of your groups and the site",
        tag="meetings",
        auth="member",
        response="MeetingList",
    ),
    Operation(
        "get",
        "/meetings/{meeting_id}",
        "A meeting",
        tag="meetings",
        auth="optional",
        response="Meeting",
        description=MEETING_NOTE,
    ),
    Operation(
        "patch",
        "/meetings/{meeting_id}",
        "Change a meeting",
        tag="meetings",
        auth="member",
        body="MeetingChange",
        response="Meeting",
        extra_errors=(403,),
        description="Only the fields given change; a new `timezone` alone keeps the local time.",
    ),
    Operation(
        "delete",
        "/meetings/{meeting_id}",
        "Call a meeting off",
        tag="meetings",
        auth="member",
        status=204,
        extra_errors=(403,),
    ),
    Operation(
        "put",
        "/meetings/{meeting_id}/rsvp",
        "Answer a meeting: going, maybe or no",
        tag="meetings",
        auth="member",
        body="MeetingAnswerChange",
        response="MeetingAnswerState",
        extra_errors=(403,),
        description="The meeting's audience only (403 for a public group's non-members). "
        "Reminders go to those going or maybe, before each occurrence.",
    ),
    Operation(
        "get",
        "/me/calendar",
        "Your time zone, default meeting reminder and whether you have a feed",
        tag="meetings",
        auth="member",
        response="CalendarSettings",
    ),
    Operation(
        "put",
        "/me/calendar",
        "Change your time zone or default meeting reminder",
        tag="meetings",
        auth="member",
        body="CalendarSettingsChange",
        response="CalendarSettings",
    ),
    Operation(
        "post",
        "/me/calendar/feed",
        "Make your private calendar feed (a new one revokes the old)",
        tag="meetings",
        auth="member",
        status=201,
        response="CalendarFeed",
        description="The address (no login needed) lists the meetings of the groups you "
        "are in when it is fetched. Only a hash of its token is kept: it is shown once.",
    ),
    Operation(
        "delete",
        "/me/calendar/feed",
        "Stop your calendar feed",
        tag="meetings",
        auth="member",
        status=204,
    ),
    Operation(
        "get",
        "/me/reminders",
        "Your personal reminders still to come",
        tag="meetings",
        auth="member",
        response="ReminderList",
    ),
    Operation(
        "post",
        "/posts/{post_id}/reminders",
        "Remind me of a post",
        tag="meetings",
        auth="member",
        status=201,
        body="NewReminder",
        response="Reminder",
        description="A notification at the preset's time in your time zone, if you can "
        "still see the post then.",
    ),
    Operation(
        "delete",
        "/reminders/{reminder_id}",
        "Cancel one of your reminders",
        tag="meetings",
        auth="member",
        status=204,
        extra_errors=(404,),
    ),
)


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
        description="401 `invalid_credentials`, the same for unknown names; 403 `suspended`. "
        "429 (see Retry-After) for an account at one address: a growing wait after 3 "
        "failures and a stop after 10 within 15 minutes; also after 30 failures from one "
        "address, or 50 on one account from all addresses, within 15 minutes.",
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
        extra_errors=(403, 429),
        description="Changing `email` needs `password`; a new address counts once confirmed "
        "through the link mailed to it. 403 `silenced` for a new `bio` while you are "
        "silenced (it is public text, like a post); other fields still change.",
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
    Operation(
        "delete",
        "/me",
        "Delete your account",
        tag="account",
        auth="member",
        status=204,
        body="AccountDeletion",
        extra_errors=(409, 429),
        description="`posts`: `remove` empties every post of yours (and the titles of your "
        "topics; others' replies stay), `keep` leaves them under the placeholder name "
        "`deleted-<id>`. Either way your name, e-mail, profile, sessions, tokens, recovery "
        "codes, notifications, invitations, group memberships and likes go, and the old "
        "name is free. 400 on `password` when it is wrong; 409 `sole_owner` while you are "
        "a group's only owner.",
    ),
    Operation(
        "get",
        "/me/export",
        "Download your data",
        tag="account",
        auth="member",
        media_type="application/zip",
        description="A zip: `account.json` (profile, e-mail, sessions without keys, groups, "
        "notifications, reports you made, sanctions on you, likes, invitations) and your "
        "posts as Markdown, `posts/<topic id>-<post number>.md`. Nothing of other members' "
        "private data.",
    ),
    Operation(
        "get",
        "/me/sessions",
        "Where you are logged in: your browser sessions",
        tag="account",
        auth="member",
        response="SessionList",
        description="Live sessions only, most recently active first; `current` marks the one "
        "this request's session cookie belongs to (none for a bearer token). A device is a "
        "coarse label from the browser's User-Agent; no address is kept.",
    ),
    Operation(
        "delete",
        "/me/sessions/{session_id}",
        "Log out one of your sessions",
        tag="account",
        auth="member",
        status=204,
        description="Its session cookie and remember-me cookie stop working at once. Another "
        "member's session, or one that has ended, answers 404.",
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
        description='`privacy_policy`: the privacy page\'s Markdown; "" shows the default text.',
    ),
    Operation(
        "get",
        "/privacy",
        "The privacy page",
        tag="settings",
        auth="optional",
        response="PrivacyPage",
        description="For anyone, also where guests may read nothing else.",
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
        description="403 `silenced` while you are silenced, site-wide or in the board's group "
        "(the message says which; `/account/standing` says why and how to appeal). "
        f"{POST_LIMITS_NOTE}",
        extra_errors=(403, 429),
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
        response="NewPost",
        description="`reply_to` must be a post in the same topic (else 400) that you can see "
        "(else 404). 403 `locked` for a locked topic, `closed` for a closed one, `silenced` "
        "while you are silenced (site-wide, or in the topic's group). "
        f"{POST_LIMITS_NOTE}",
        extra_errors=(403, 429),
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
    Operation(
        "get",
        "/search",
        "Search the posts you can see",
        tag="search",
        auth="optional",
        response="SearchPage",
        paged=True,
        query_params=SEARCH_PARAMETERS,
        extra_errors=(503,),
        description="Ranked by relevance, newer first among equals; a search matching more "
        "than 1000 posts is answered from the newest 1000 (`total_exact` false). "
        "Results, `total` and "
        "`suggestion` are computed only over what you may read: a secret group's posts "
        "for its members; hidden, deleted and waiting posts for their moderators. A "
        "board, author or topic you cannot see finds nothing, exactly like one that does "
        "not exist (never 404). 400 `invalid` with `fields` for an empty or too long `q`, "
        "a date that is not YYYY-MM-DD, not a real day or outside the range, or a malformed "
        "id.",
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
        extra_errors=(403, 429),
        description="403 `locked` for the author in a locked topic, `silenced` while you are "
        "silenced (site-wide, or in the post's group). The author's edits within 5 minutes of "
        "the edit that made the newest revision replace the text without another. "
        f"{POST_LIMITS_NOTE}",
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
        description="At most 20 are kept: the original and the newest others. The author's "
        "edits within 5 minutes of the edit that made the newest one make no new one. A "
        "redacted version has `body` and `html` null.",
    ),
    Operation(
        "post",
        "/posts/{post_id}/revisions/{number}/redact",
        "Remove an earlier version's text for good",
        tag="posts",
        auth="member",
        body="OptionalReason",
        body_required=False,
        response="RevisionChange",
        extra_errors=(403,),
        description="For the post's author (shown as removed by the author) and the "
        "moderators of its board (shown as removed by a moderator, and logged with the "
        "optional `reason`, never the text). The text is deleted from the database; the "
        "version stays in the list with `redacted` true. `changed` is false when it was "
        "removed already. 404 for a version number the post does not have.",
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
        "Change a member's role, or invite someone to join with a role",
        tag="groups",
        auth="member",
        body="RoleChange",
        response="Member",
        alternatives=((202, "MemberInvitation"),),
        extra_errors=(403, 409),
        description="Group owners and admins. For a member of the group: 200, the role "
        "changed. For someone not in it yet: 202, a pending invitation by name with the "
        "role offered; they are told (a `group_invitation` notification) and become a "
        "member only if they accept. Asking again while it waits changes the role offered. "
        "Only owners (and admins, in a public group; never through break-glass) invite by "
        "name: others 403. 404 for a name you do not know. 409 when it would leave the "
        "group without an owner, and 409 `excluded` for someone the group keeps out (they "
        "were removed, or declined for good): allow them back first.",
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
        "Someone removed is kept out, at every door, until an owner allows them back "
        "(`/groups/{slug}/exclusions`); someone who leaves is not. Either way the links and "
        "invitations by name they made are revoked. 404 if the member is not in the group; "
        "409 for the last owner.",
    ),
    Operation(
        "get",
        "/groups/{slug}/member-invitations",
        "The group's invitations by name: pending, and the latest declined",
        tag="groups",
        auth="member",
        response="MemberInvitationList",
        extra_errors=(403,),
        description="For the group's owners (and admins). A declined invitation says only "
        "that: the invitee gives no reason.",
    ),
    Operation(
        "delete",
        "/groups/{slug}/member-invitations/{member_invitation_id}",
        "Withdraw a pending invitation by name",
        tag="groups",
        auth="member",
        status=204,
        extra_errors=(403,),
        description="For the group's owners (and admins). The invitee no longer sees it, "
        "and accepting it answers 404. Withdrawing one that no longer waits changes nothing.",
    ),
    Operation(
        "get",
        "/groups/{slug}/exclusions",
        "Who the group keeps out",
        tag="groups",
        auth="member",
        response="ExclusionList",
        extra_errors=(403,),
        description="For the group's owners (and admins). Someone removed from the group, "
        "or whose join request was declined with `keep_out`, comes back by no door (no "
        "link, request or invitation by name) until an owner allows them back.",
    ),
    Operation(
        "delete",
        "/groups/{slug}/exclusions/{username}",
        "Allow someone the group keeps out back",
        tag="groups",
        auth="member",
        status=204,
        extra_errors=(403,),
        description="For the group's owners (and admins); logged. It does not make them a "
        "member: it lets them come in again by the group's doors. 404 if the group keeps "
        "nobody of that name out.",
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
        extra_errors=(403, 409),
        description="For the group's owners and moderators. A request decided before is "
        "answered as it stands. 409 `excluded` if the group keeps the asker out (an owner "
        "allows them back first). A live silence or suspension of theirs in the group "
        "applies again.",
    ),
    Operation(
        "post",
        "/groups/{slug}/join-requests/{request_id}/decline",
        "Decline a request",
        tag="groups",
        auth="member",
        body="JoinRequestDecline",
        body_required=False,
        response="JoinRequest",
        extra_errors=(403,),
        description="For the group's owners and moderators. A request decided before is "
        "answered as it stands. `keep_out: true` also keeps the asker from asking again, "
        "and from every other door, until an owner allows them back (logged).",
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
        description="Group owners and moderators (not while silenced or suspended there), "
        "and admins in a public group; never an admin inside a secret group through "
        "break-glass (403). The token is in this answer only. A group you cannot see: 404; "
        "one you see but may not invite into: 403.",
    ),
    Operation(
        "get",
        "/groups/{slug}/invitations",
        "The group's open invitations, newest first",
        tag="invitations",
        auth="member",
        response="InvitationList",
        extra_errors=(403,),
        description="Neither revoked, expired nor used up. No tokens: they are shown once. "
        "`created_by` names who made each link. A link works only while its maker may "
        "still invite in the group (`working`: false while they may not, e.g. silenced "
        "there); removing or demoting them (or their leaving) revokes it.",
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
        "unknown, used-up, revoked or expired token, for a link whose maker may no longer "
        "invite, and for someone the group keeps out. Guests get 401 whatever the token. "
        "A site invitation (no group) answers null for both fields and changes nothing: it "
        "is for registering. `group` is null while a group suspension you left with runs.",
    ),
    Operation(
        "get",
        "/me/invitations",
        "Your pending invitations by name",
        tag="invitations",
        auth="member",
        response="MyInvitationList",
        description="Each shows the group's name and description and who invited you. The "
        "group itself stays closed to you (a secret one answers 404) until you accept. An "
        "invitation whose inviter may no longer invite is not listed.",
    ),
    Operation(
        "post",
        "/me/invitations/{member_invitation_id}/accept",
        "Accept an invitation by name: join the group with the role offered",
        tag="invitations",
        auth="member",
        response="Acceptance",
        description="404 for anyone else's invitation, and for one withdrawn, answered or "
        "no longer standing, exactly like an id never used.",
    ),
    Operation(
        "post",
        "/me/invitations/{member_invitation_id}/decline",
        "Decline an invitation by name",
        tag="invitations",
        auth="member",
        status=204,
        description="The group's owners see only that you declined. 404 as for accepting.",
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
    Operation(
        "get",
        "/admin/users",
        "The member directory: every account",
        tag="admin",
        auth="admin",
        response="DirectoryPage",
        paged=True,
        query_params=DIRECTORY_PARAMETERS,
        description="Every member, also those who never posted, 50 a page, with the posts "
        "you can read and the sanctions in your scopes (site-wide, public groups, groups you "
        "moderate or broke into). Never which groups a member is in: who is in a secret "
        "group is not an admin's to know. 400 `invalid` with `fields` for a bad filter.",
    ),
    *MODERATION_OPERATIONS,
    *MESSAGE_OPERATIONS,
    *CHAT_OPERATIONS,
    *MEETING_OPERATIONS,
)


# --- schemas ------------------------------------------------------------------


def _ref(name: str) -> JSON:
    if name not in schemas.MODELS:
        raise LookupError(f"the operation table names {name}, which no contract model is")
    return {"$ref": REF_TEMPLATE.format(model=name)}


def _component_schemas() -> JSON:
    """The models' JSON Schemas, each under its own name.

    Request bodies as they are read ("validation"), answers as they are sent
    ("serialization"); `$ref`s point into the document's components.
    """
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (model, "validation" if issubclass(model, schemas.Body) else "serialization")
        for model in schemas.MODELS.values()
    ]
    _, found = models_json_schema(models, ref_template=REF_TEMPLATE)
    defs: JSON = found.get("$defs", {})
    for name, schema in defs.items():
        _drop_titles(schema)
        if name in schemas.MODELS and issubclass(schemas.MODELS[name], schemas.Answer):
            # An answer has every field, always; pydantic leaves defaulted ones optional.
            schema["required"] = list(schema.get("properties", {}))
            if name == "ErrorDetail":
                schema["required"] = ["code", "message"]
    return defs


def _drop_titles(schema: Any) -> None:
    """pydantic titles every property after its name, and gives an optional field's null
    default; the document needs neither (a null default is "left out" here)."""
    if isinstance(schema, dict):
        if isinstance(schema.get("properties"), dict):
            for sub in schema["properties"].values():
                if isinstance(sub, dict):
                    sub.pop("title", None)
                    if "default" in sub and sub["default"] is None:
                        del sub["default"]
        for value in schema.values():
            _drop_titles(value)
    elif isinstance(schema, list):
        for value in schema:
            _drop_titles(value)


# --- errors -------------------------------------------------------------------

ERRORS = {
    400: (
        "BadRequest",
        "Invalid input: `code` is `invalid` with `fields`; or `csrf_failed`, a write with a "
        "session cookie but without its X-CSRFToken header",
    ),
    401: (
        "Unauthorized",
        "Not logged in (`not_logged_in`: a write with neither a bearer token nor a session "
        "cookie); the bearer token is not valid (`invalid_token`) or was unused for longer "
        "than the `api_token_idle_days` setting (`token_expired`)",
    ),
    403: ("Forbidden", "Logged in, and you can see it, but you may not do this"),
    404: ("NotFound", "Not there, or not visible to you: the two answer alike"),
    409: ("Conflict", "Conflicts with the current state"),
    413: ("TooLarge", "The request body is too large"),
    429: ("RateLimited", "Too many attempts; see Retry-After"),
    503: (
        "Unavailable",
        "Briefly unavailable (the search index is being repaired); retry. On a write, "
        "`disk_full`: the server is out of disk space and nothing was saved",
    ),
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
        statuses.add(401)  # not_logged_in: neither a token nor a session cookie
    if op.method != "get":
        statuses.add(503)  # disk_full: any write, when the server's disk is full
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
    params += [
        {**param, "in": "query", "required": param.get("required", False)}
        for param in op.query_params
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


ID: JSON = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
PATH_SCHEMAS: dict[str, JSON] = {
    "username": {"type": "string", "pattern": USERNAME_RE.pattern},
    "slug": {"type": "string", "pattern": SLUG_RE.pattern, "maxLength": SLUG_MAX},
    "token": {
        "type": "string",
        "pattern": TOKEN_RE.pattern,
        "description": "From the invitation link",
    },
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
    elif op.media_type != "application/json":
        success["content"] = {
            op.media_type: {"schema": {"type": "string", "contentMediaType": op.media_type}}
        }
    responses: JSON = {str(status): success for status in (op.status, *op.also)}
    for status, schema in op.alternatives:
        responses[str(status)] = {
            "description": f"{op.summary} ({schema})",
            "content": {"application/json": {"schema": _ref(schema)}},
        }
    if op.not_modified:
        responses["304"] = {"description": "Nothing changed since the ETag in If-None-Match"}
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
                "the CSRF token in an X-CSRFToken header; bearer requests do not. A write "
                "with neither answers 401 `not_logged_in`."
            ),
        },
        "servers": [{"url": bp.url_prefix}],
        "paths": paths,
        "components": {
            "schemas": _component_schemas(),
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
