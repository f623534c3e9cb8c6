"""The leak matrix: every surface that could show a secret group, times every outsider.

Data-driven: a later surface (search, notifications, feeds, moderation views) is one more
`Surface` in `SURFACES`, not a new file. Each row says how to ask for the secret thing and
for a thing that does not exist; for each outsider the two answers must be identical
(status, body, headers, session) and nothing planted in the secret group may show.
List surfaces (same path for both) instead check what they list against what the
outsider may see. The same rows, asked by insiders, must show the secret: the matrix
cannot pass because everything is broken.

A row whose route is not built (yet) is skipped with the reason "not routed"; the lead
sees every such skip in the summary (`-ra`).
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from forum.extensions import db
from forum.models.groups import Membership
from forum.models.users import User
from forum.services import accounts
from tests.conftest import PageClient
from tests.leaks import checks
from tests.leaks.conftest import APPEAL_TEXT
from tests.leaks.conftest import BOARD_NAME
from tests.leaks.conftest import CHAT_BODY
from tests.leaks.conftest import DELETED_BODY
from tests.leaks.conftest import EDIT_NEW_BODY
from tests.leaks.conftest import EDIT_OLD_BODY
from tests.leaks.conftest import FORGED_TOKEN
from tests.leaks.conftest import GLASS_ADMIN
from tests.leaks.conftest import GLASS_REASON
from tests.leaks.conftest import GROUP_DESCRIPTION
from tests.leaks.conftest import GROUP_LABEL
from tests.leaks.conftest import GROUP_NAME
from tests.leaks.conftest import GROUP_SLUG
from tests.leaks.conftest import GUEST_NONE
from tests.leaks.conftest import GUESTS
from tests.leaks.conftest import INVITEE
from tests.leaks.conftest import LEFT_BODY
from tests.leaks.conftest import MEETING_LINK
from tests.leaks.conftest import MEETING_TITLE
from tests.leaks.conftest import MISSING_SLUG
from tests.leaks.conftest import MISSING_USERNAME
from tests.leaks.conftest import MUTED_USERNAME
from tests.leaks.conftest import NON_MEMBER
from tests.leaks.conftest import NOTIFY_TEXT
from tests.leaks.conftest import OTHER_GROUP_MEMBER
from tests.leaks.conftest import OTHER_GROUP_SLUG
from tests.leaks.conftest import OUTSIDERS
from tests.leaks.conftest import POST_BODY
from tests.leaks.conftest import PUBLIC_GROUP_SLUG
from tests.leaks.conftest import QUIET_USERNAME
from tests.leaks.conftest import REMOVED_MEMBER
from tests.leaks.conftest import REPLY_BODY
from tests.leaks.conftest import REPORT_NOTE
from tests.leaks.conftest import ROOM_NAME
from tests.leaks.conftest import SANCTION_REASON
from tests.leaks.conftest import SECOND_TITLE
from tests.leaks.conftest import SECRET_MEMBER
from tests.leaks.conftest import SECRET_OWNER
from tests.leaks.conftest import SECRET_USERNAME
from tests.leaks.conftest import SITE_ADMIN
from tests.leaks.conftest import SITE_LABEL
from tests.leaks.conftest import SITE_MODERATOR
from tests.leaks.conftest import TOPIC_TITLE
from tests.leaks.conftest import USERNAMES
from tests.leaks.conftest import Planted

# The markers the issue names, checked by name in every cell (on top of the full scan).
MARKERS = (TOPIC_TITLE.split()[0], POST_BODY.split()[0], GROUP_NAME.split()[0])

Path = Callable[[Planted, bool], str]
Payload = Callable[[Planted, bool], dict[str, Any]]
Check = Callable[[Planted, str, TestResponse], list[str]]


def _always(_kind: str) -> bool:
    return True


def _guests_only(kind: str) -> bool:
    return kind in GUESTS


def _nothing(_kind: str) -> frozenset[str]:
    return frozenset()


# Admins know every member (the contract, section 4: the member directory), though not
# which secret groups a member is in. For them a surface about a secret-only member is no
# secret about who exists: it is not compared with a missing name, and checked instead for
# showing nothing of the group (`admins_see_no_group`).
ADMINS = frozenset({SITE_ADMIN})


def _unless_admin(kind: str) -> bool:
    return kind not in ADMINS


@dataclass(frozen=True)
class Surface:
    """One place that could leak: how to ask for the secret thing and for a missing one."""

    name: str
    # path(planted, True): the secret thing; path(planted, False): one that does not exist.
    path: Path
    api: bool = False
    method: str = "GET"
    payload: Payload | None = None
    # Whether the secret and the missing answers must be identical, per outsider kind.
    compare: Callable[[str], bool] = _always
    # Extra, surface-specific problems (what a list lists, what a count counts).
    check: Check | None = None
    # Canaries an outsider kind may see here (the admin area shows a group's name).
    allowed: Callable[[str], frozenset[str]] = _nothing
    # Markers the insiders must see at the secret path (empty: no positive control).
    shows: tuple[str, ...] = ()
    insiders: tuple[str, ...] = (SECRET_MEMBER, GLASS_ADMIN)
    # Requests that would write if the app let them: the world is checked unchanged.
    writes: bool = False
    # Outsider kinds who know the member this surface names (admins): a write is not
    # sent as them (an admin may silence any member site-wide; the world is shared).
    known_to: frozenset[str] = frozenset()


# --- paths ---------------------------------------------------------------------


def _id(secret_attr: str, template: str) -> Path:
    def build(p: Planted, secret: bool) -> str:
        return template.format(getattr(p, secret_attr) if secret else p.missing_id)

    return build


def _slug(template: str) -> Path:
    return lambda _p, secret: template.format(GROUP_SLUG if secret else MISSING_SLUG)


def _token(attr: str, template: str) -> Path:
    return lambda p, secret: template.format(getattr(p, attr) if secret else FORGED_TOKEN)


def _same(path: str) -> Path:
    return lambda _p, _secret: path


def _user(username: str, template: str) -> Path:
    return lambda _p, secret: template.format(username if secret else MISSING_USERNAME)


def _reply_to(p: Planted, secret: bool) -> dict[str, Any]:
    return {"body": "Answering that post.", "reply_to": p.first_post_id if secret else p.missing_id}


# --- what lists may list ----------------------------------------------------------


def visible_board_ids(p: Planted, kind: str) -> set[int]:
    """The boards the outsider may see."""
    if kind == GUEST_NONE:
        return set()
    found = {p.public_board_id, p.public_group_board_id}
    return found | ({p.other_board_id} if kind == OTHER_GROUP_MEMBER else set())


def visible_topic_ids(p: Planted, kind: str) -> set[int]:
    """The topics the outsider may see."""
    if kind == GUEST_NONE:
        return set()
    found = {p.public_topic_id, p.public_group_topic_id}
    return found | ({p.other_topic_id} if kind == OTHER_GROUP_MEMBER else set())


def visible_group_slugs(kind: str) -> set[str]:
    """The groups the outsider may know exist."""
    if kind == GUEST_NONE:
        return set()
    return {PUBLIC_GROUP_SLUG} | ({OTHER_GROUP_SLUG} if kind == OTHER_GROUP_MEMBER else set())


# Planted posts and topics per board: (topics, posts).
BOARD_COUNTS = {
    "public_board_id": (1, 4),
    "public_group_board_id": (1, 1),
    "other_board_id": (1, 1),
}
# What a profile counts for whoever is outside the secret group: (topics, posts).
PUBLIC_COUNTS = {"circleowner": (0, 1), "leftmember": (0, 1), SECRET_USERNAME: (0, 0)}
# ... and for its members, who see the secret group's posts too.
MEMBER_COUNTS = {"circleowner": (1, 3), "leftmember": (0, 2), SECRET_USERNAME: (1, 2)}


def _json(response: TestResponse) -> Any:
    return response.get_json(silent=True) or {}


def _links(response: TestResponse, kind: str) -> set[int]:
    return {int(n) for k, n in checks.REF_RE.findall(checks.text_of(response)) if k == kind}


def check_api_boards(p: Planted, kind: str, response: TestResponse) -> list[str]:
    boards = _json(response).get("boards", [])
    found = {b["id"] for b in boards}
    problems = []
    if found != visible_board_ids(p, kind):
        problems.append(
            f"lists boards {sorted(found)}, expected {sorted(visible_board_ids(p, kind))}"
        )
    for attr, (topics, posts) in BOARD_COUNTS.items():
        for board in boards:
            if board["id"] == getattr(p, attr) and (
                board["topics_count"],
                board["posts_count"],
            ) != (
                topics,
                posts,
            ):
                problems.append(f"board {board['id']} counts {board}, expected {topics}/{posts}")
    return problems


def check_api_latest(p: Planted, kind: str, response: TestResponse) -> list[str]:
    body = _json(response)
    found = {t["id"] for t in body.get("topics", [])}
    expected = visible_topic_ids(p, kind)
    problems = (
        [] if found == expected else [f"lists topics {sorted(found)}, expected {sorted(expected)}"]
    )
    if body.get("pages") != 1:
        problems.append(f"pages {body.get('pages')}, expected 1")
    return problems


def check_unread_list(p: Planted, _kind: str, response: TestResponse) -> list[str]:
    """/unread and /new (HTML and API) list no topic of a group the outsider is not in."""
    secret = {p.secret_topic_id, p.second_topic_id}
    if response.is_json:
        found = {t["id"] for t in _json(response).get("topics", [])}
    else:
        found = _links(response, "t")
    return [f"lists secret topics {sorted(found & secret)}"] if found & secret else []


def check_api_groups(_p: Planted, kind: str, response: TestResponse) -> list[str]:
    found = {g["slug"] for g in _json(response).get("groups", [])}
    expected = visible_group_slugs(kind)
    return (
        [] if found == expected else [f"lists groups {sorted(found)}, expected {sorted(expected)}"]
    )


def check_my_groups(_p: Planted, kind: str, response: TestResponse) -> list[str]:
    if kind in GUESTS:
        return []
    found = {g["slug"] for g in _json(response).get("groups", [])}
    mine = {NON_MEMBER: {PUBLIC_GROUP_SLUG}, OTHER_GROUP_MEMBER: {OTHER_GROUP_SLUG}}.get(
        kind, set()
    )
    return [] if found == mine else [f"my groups {sorted(found)}, expected {sorted(mine)}"]


def check_html_lists(boards: bool, topics: bool) -> Check:
    def check(p: Planted, kind: str, response: TestResponse) -> list[str]:
        problems = []
        if boards and not visible_board_ids(p, kind) <= _links(response, "b"):
            problems.append(f"misses visible boards {sorted(visible_board_ids(p, kind))}")
        if topics and not visible_topic_ids(p, kind) <= _links(response, "t"):
            problems.append(f"misses visible topics {sorted(visible_topic_ids(p, kind))}")
        return problems

    return check


COUNTS_RE = re.compile(r"([0-9]+) topics? · ([0-9]+) posts?")


def check_profile(username: str, api: bool) -> Check:
    """A profile counts only what the viewer may see: outsiders never count secret posts."""

    def check(_p: Planted, kind: str, response: TestResponse) -> list[str]:
        if kind in GUESTS:
            return []
        if response.status_code != 200:
            return [f"profile of {username} answers {response.status_code} to a member"]
        if api:
            body = _json(response)
            counts = (body.get("topics_count"), body.get("posts_count"))
        else:
            match = COUNTS_RE.search(checks.text_of(response))
            counts = (int(match[1]), int(match[2])) if match else (None, None)
        expected = PUBLIC_COUNTS[username]
        return (
            [] if counts == expected else [f"counts (topics, posts) {counts}, expected {expected}"]
        )

    return check


def admins_see_no_group(username: str, *, profile: bool = False, api: bool = True) -> Check:
    """An admin who has not broken the glass knows the member, and nothing of the group:
    the profile counts only public posts; the sanctions list holds none of the group's."""
    counted = check_profile(username, api=api) if profile else None

    def check(p: Planted, kind: str, response: TestResponse) -> list[str]:
        if kind not in ADMINS:
            return []
        if response.status_code != 200:
            return [f"{username} answers {response.status_code} to an admin"]
        if counted is not None:
            return counted(p, kind, response)
        sanctions = _json(response).get("sanctions")
        return [] if sanctions == [] else [f"sanctions shown to an admin: {sanctions}"]

    return check


def check_log(p: Planted, _kind: str, response: TestResponse) -> list[str]:
    """No moderation log entry of the secret group, whoever asks."""
    secret_users = {
        p.user_ids[name]
        for name in (
            USERNAMES[SECRET_MEMBER],
            USERNAMES[SECRET_OWNER],
            USERNAMES[REMOVED_MEMBER],
            MUTED_USERNAME,
        )
    }
    secret_targets = {
        ("group", p.secret_group_id),
        ("report", p.report_id),
        ("sanction", p.sanction_id),
        ("appeal", p.appeal_id),
        *(("topic", t) for t in (p.secret_topic_id, p.second_topic_id)),
        *(("post", post) for post in p.secret_post_ids),
    }
    problems = []
    for entry in _json(response).get("entries", []):
        target = (entry.get("target_type"), entry.get("target_id"))
        if entry.get("id") == p.log_entry_id or target in secret_targets:
            problems.append(f"log entry about the secret group: {entry}")
        elif entry.get("target_type") == "user" and entry.get("target_id") in secret_users:
            problems.append(f"log entry about a member of the secret group: {entry}")
    return problems


def check_no_secret_reports(p: Planted, _kind: str, response: TestResponse) -> list[str]:
    """No report, queue item or appeal from inside the secret group (by id)."""
    body = _json(response)
    problems = []
    for item in body.get("reports", []):
        if item.get("id") == p.report_id:
            problems.append(f"lists the secret report: {item}")
    for item in body.get("items", []):
        if (item.get("kind"), item.get("id")) in {
            ("report", p.report_id),
            ("sanction", p.sanction_id),
            ("appeal", p.appeal_id),
        }:
            problems.append(f"queues a secret item: {item}")
    for item in body.get("appeals", []):
        if item.get("id") == p.appeal_id:
            problems.append(f"lists the secret appeal: {item}")
    return problems


def check_notifications(p: Planted, kind: str, response: TestResponse) -> list[str]:
    """Nobody outside is told about the secret group's posts, the removed member included:
    their notification about their own post there went with their membership."""
    if kind in GUESTS:
        return []
    body = _json(response)
    secret_urls = {f"/p/{post}" for post in p.secret_post_ids}
    problems = [
        f"notification about a secret post: {n}"
        for n in body.get("notifications", [])
        if n.get("post_url") in secret_urls or n.get("url") in secret_urls
    ]
    if kind == REMOVED_MEMBER and body.get("unread") != 0:
        problems.append(f"unread count {body.get('unread')} counts the secret group's")
    return problems


def _appeal(p: Planted, secret: bool) -> dict[str, Any]:
    return {
        "target_type": "sanction",
        "target_id": p.sanction_id if secret else p.missing_id,
        "text": "Please look again.",
    }


def _admin_sees_name(kind: str) -> frozenset[str]:
    # Issue 3: the admin area shows a secret group's name (and size) to site admins.
    return frozenset({GROUP_NAME.split()[0], GROUP_SLUG}) if kind == SITE_ADMIN else frozenset()


def _admin_knows_members(kind: str) -> frozenset[str]:
    # Issue 10: admins know every member (the member directory), never their groups.
    return frozenset({SECRET_USERNAME, MUTED_USERNAME}) if kind == SITE_ADMIN else frozenset()


def _not_admin(kind: str) -> bool:
    return kind != SITE_ADMIN


# What differs between two directory rows of members with nothing to show: the account.
_ROW_NOISE = (
    (r'"id":\s*[0-9]+', '"id":<ID>'),
    (r'"joined_at":\s*"[^"]*"', '"joined_at":<WHEN>'),
    (r'datetime="[^"]*"', 'datetime="<WHEN>"'),
)


def check_directory_twin(p: Planted, kind: str, response: TestResponse) -> list[str]:
    """To an admin, a member known only inside the secret group (posting and silenced
    there) reads exactly like a member with no groups and no posts: row, counts, total."""
    if kind != SITE_ADMIN:
        return []
    problems = []
    noise = [(f"re:{pattern}", placeholder) for pattern, placeholder in _ROW_NOISE]
    twin = checks.answer(
        p, planted_get(p, kind, response, QUIET_USERNAME), [(QUIET_USERNAME, "<NAME>"), *noise]
    )
    for name in (SECRET_USERNAME, MUTED_USERNAME):
        mine = checks.answer(p, planted_get(p, kind, response, name), [(name, "<NAME>"), *noise])
        if mine != twin:
            problems.append(
                f"{name} reads unlike a member with nothing to show:\n{mine.differences(twin)}"
            )
    if SECRET_USERNAME.lower() not in checks.text_of(response).lower():
        problems.append("the directory does not list the secret-only member to an admin")
    return problems


def planted_get(p: Planted, kind: str, response: TestResponse, name: str) -> TestResponse:
    """The same directory request as `response`, for another name."""
    api = response.is_json or response.request.path.startswith("/api/")
    base = "/api/v1/admin/users" if api else "/admin/members"
    return p.client(kind, api=api).get(f"{base}?q={name}")


def check_directory_sanctions(p: Planted, kind: str, response: TestResponse) -> list[str]:
    """The sanction filters count only sanctions in the admin's scopes: a silence inside
    the secret group would name one of its members."""
    if kind != SITE_ADMIN:
        return []
    text = checks.text_of(response)
    if response.status_code != 200:
        return [f"status {response.status_code}"]
    return [f"lists {name}" for name in (MUTED_USERNAME,) if name.lower() in text.lower()]


def _directory(api: bool, query: str) -> Path:
    base = "/api/v1/admin/users" if api else "/admin/members"
    return lambda _p, _secret: f"{base}?{query}"


def _directory_name(api: bool) -> Path:
    base = "/api/v1/admin/users" if api else "/admin/members"
    return lambda _p, secret: f"{base}?q={SECRET_USERNAME if secret else MISSING_USERNAME}"


DIRECTORY_SURFACES = tuple(
    surface
    for api in (False, True)
    for surface in (
        Surface(
            f"{'API ' if api else ''}member directory, by name",
            _directory_name(api),
            api=api,
            compare=_not_admin,
            check=check_directory_twin,
            allowed=_admin_knows_members,
            insiders=(SITE_ADMIN,),
            shows=(SECRET_USERNAME,),
        ),
        *(
            Surface(
                f"{'API ' if api else ''}member directory, sanction={value}",
                _directory(api, f"sanction={value}"),
                api=api,
                check=check_directory_sanctions,
                allowed=_admin_knows_members,
            )
            for value in ("now", "silenced", "ever")
        ),
        Surface(
            f"{'API ' if api else ''}member directory, everyone",
            _directory(api, "sort=name"),
            api=api,
            allowed=_admin_knows_members,
        ),
    )
)


TOPIC_SHOWS = (TOPIC_TITLE, POST_BODY, REPLY_BODY, EDIT_NEW_BODY, GROUP_LABEL)


def check_site_label_only(planted: Planted, kind: str, response: TestResponse) -> list[str]:
    """A public topic where the secret group's labelled owner posts: a site label on the
    topic shows (the rendering is not broken), never the label the secret group gave the
    owner (the canary scan finds that)."""
    if kind == GUEST_NONE:
        return []
    return [] if SITE_LABEL in checks.text_of(response) else [f"no site label {SITE_LABEL!r}"]


OWNERS = (SECRET_OWNER, GLASS_ADMIN)

SURFACES = (
    # Pages.
    Surface("board index", _same("/"), check=check_html_lists(boards=True, topics=False)),
    Surface("latest", _same("/latest"), check=check_html_lists(boards=False, topics=True)),
    # Unread tracking (issue 13): the removed member read the secret topic before they
    # were removed; it must leave their lists with the group.
    # (No insider control here: tests/blueprints/test_unread_pages.py has both sides.)
    Surface("unread topics", _same("/unread"), check=check_unread_list, insiders=()),
    Surface(
        "new topics",
        _same("/new"),
        check=check_unread_list,
        shows=(SECOND_TITLE,),
        insiders=(SECRET_MEMBER,),
    ),
    Surface("board page", _id("secret_board_id", "/b/{}"), shows=(BOARD_NAME, TOPIC_TITLE)),
    Surface("new topic form", _id("secret_board_id", "/b/{}/new"), shows=(BOARD_NAME,)),
    Surface("topic page", _id("secret_topic_id", "/t/{}"), shows=TOPIC_SHOWS),
    Surface(
        "topic page (deleted text, moderators)",
        _id("secret_topic_id", "/t/{}"),
        shows=(DELETED_BODY,),
        insiders=OWNERS,
    ),
    Surface("post permalink", _id("first_post_id", "/p/{}")),
    Surface("post revisions", _id("edited_post_id", "/p/{}/revisions"), shows=(EDIT_OLD_BODY,)),
    # Issue 10: redacting a revision. Outsiders asking to redact the secret post's first
    # version get the answer a missing post gets, and nothing changes.
    Surface(
        "redact a revision (form)",
        _id("edited_post_id", "/p/{}/revisions/1/redact"),
        method="POST",
        payload=lambda _p, _secret: {"reason": "A real name"},
        writes=True,
    ),
    Surface("reply form", _id("first_post_id", "/p/{}/reply"), shows=(POST_BODY,)),
    Surface(
        "edit form", _id("edited_post_id", "/p/{}/edit"), shows=(EDIT_NEW_BODY,), insiders=OWNERS
    ),
    Surface(
        "reply to a secret post from a public topic (form)",
        lambda p, _s: f"/t/{p.public_topic_id}/reply",
        method="POST",
        payload=_reply_to,
        writes=True,
    ),
    Surface(
        "reply to a secret post from a public topic, empty body (form)",
        lambda p, _s: f"/t/{p.public_topic_id}/reply",
        method="POST",
        payload=lambda p, secret: {**_reply_to(p, secret), "body": ""},
        writes=True,
    ),
    # Issue 14: role labels. A secret group's label shows inside it only.
    Surface(
        "public topic with a post by a member labelled inside the group",
        lambda p, _s: f"/t/{p.public_topic_id}",
        check=check_site_label_only,
    ),
    Surface(
        "API public topic with a post by a member labelled inside the group",
        lambda p, _s: f"/api/v1/topics/{p.public_topic_id}",
        api=True,
        check=check_site_label_only,
    ),
    Surface(
        "profile of a member who posts inside and outside",
        _user("circleowner", "/u/{}"),
        compare=_guests_only,
        check=check_profile("circleowner", api=False),
    ),
    Surface(
        "profile of the removed member",
        _user("leftmember", "/u/{}"),
        compare=_guests_only,
        check=check_profile("leftmember", api=False),
    ),
    # Someone who posts only inside the secret group is unknown outside it (policy:
    # `_user_visible`): their profile answers like a name nobody has. Admins know every
    # member, and see none of the group's posts in it.
    Surface(
        "profile of the secret-only member",
        _user(SECRET_USERNAME, "/u/{}"),
        compare=_unless_admin,
        check=admins_see_no_group(SECRET_USERNAME, profile=True, api=False),
    ),
    # Issue 12: a member's data export holds their posts, also in secret groups they are
    # in; an outsider's (a removed member's included) holds nothing of the secret group.
    Surface(
        "my data export",
        _same("/api/v1/me/export"),
        api=True,
        shows=(TOPIC_TITLE, POST_BODY, GROUP_NAME),
        insiders=(SECRET_MEMBER,),
    ),
    Surface(
        "my data export (form)",
        _same("/account/export"),
        method="POST",
        shows=(TOPIC_TITLE, POST_BODY, GROUP_NAME),
        insiders=(SECRET_MEMBER,),
    ),
    Surface("groups list", _same("/groups")),
    Surface("group page", _slug("/g/{}"), shows=(GROUP_NAME, BOARD_NAME)),
    Surface(
        "group page (break-glass notes, owners)",
        _slug("/g/{}"),
        shows=(GLASS_REASON,),
        insiders=(SECRET_OWNER,),
    ),
    Surface("group members", _slug("/g/{}/members"), shows=(SECRET_USERNAME,), insiders=OWNERS),
    Surface("group invitations", _slug("/g/{}/invitations"), shows=(GROUP_NAME,), insiders=OWNERS),
    Surface("group join requests", _slug("/g/{}/requests"), insiders=OWNERS),
    Surface("group new board form", _slug("/g/{}/boards/new"), insiders=OWNERS),
    Surface("leave group form", _slug("/g/{}/leave"), shows=(GROUP_NAME,)),
    Surface("ask to join", _slug("/g/{}/join"), method="POST", writes=True),
    # Whoever holds an open link was invited and may learn the group's name: nothing more
    # (not its description, members, boards or posts). The link exists, so no comparison,
    # except for the removed member: the group keeps them out, so for them it is a dead
    # link exactly like a forged one (issue 10).
    Surface(
        "invitation link, open",
        _token("secret_invite_token", "/invite/{}"),
        compare=lambda kind: kind == REMOVED_MEMBER,
        allowed=lambda kind: (
            frozenset() if kind == REMOVED_MEMBER else frozenset({GROUP_NAME.split()[0]})
        ),
    ),
    Surface("invitation link, used up", _token("used_up_token", "/invite/{}")),
    Surface("invitation link, revoked", _token("revoked_token", "/invite/{}")),
    Surface("invitation link, expired", _token("expired_token", "/invite/{}")),
    Surface(
        "invitation link, used up, accepted",
        _token("used_up_token", "/invite/{}"),
        method="POST",
        writes=True,
    ),
    Surface(
        "register with a dead invitation (form)",
        _same("/register"),
        method="POST",
        payload=lambda p, secret: {
            "username": "newcomer7x",
            "password": "a long newcomer passphrase",
            "invite": p.used_up_token if secret else FORGED_TOKEN,
        },
        writes=True,
    ),
    Surface(
        "the removed member's own post (permalink)",
        _id("left_post_id", "/p/{}"),
    ),
    Surface("admin groups", _same("/admin/groups"), allowed=_admin_sees_name),
    # Invitations by name (issue 10): the invitee alone sees the group's name and
    # description there; anyone else's id answers like one never used, and changes nothing.
    Surface(
        "my invitations page",
        _same("/account/invitations"),
        shows=(GROUP_NAME, GROUP_DESCRIPTION),
        insiders=(INVITEE,),
    ),
    Surface(
        "accept someone else's invitation by name (form)",
        _id("member_invitation_id", "/account/invitations/{}/accept"),
        method="POST",
        writes=True,
    ),
    Surface(
        "decline someone else's invitation by name (form)",
        _id("member_invitation_id", "/account/invitations/{}/decline"),
        method="POST",
        writes=True,
    ),
    Surface(
        "withdraw an invitation by name (form)",
        lambda p, secret: (
            f"/g/{GROUP_SLUG if secret else MISSING_SLUG}/member-invitations/"
            f"{p.member_invitation_id}/withdraw"
        ),
        method="POST",
        writes=True,
    ),
    Surface(
        "allow the removed member back (form)",
        _slug("/g/{}/exclusions/leftmember/allow"),
        method="POST",
        writes=True,
    ),
    # Issue 10: the admins' member directory (pages and API).
    *DIRECTORY_SURFACES,
    # The JSON API.
    Surface("API boards", _same("/api/v1/boards"), api=True, check=check_api_boards),
    Surface(
        "API board", _id("secret_board_id", "/api/v1/boards/{}"), api=True, shows=(BOARD_NAME,)
    ),
    Surface(
        "API board topics",
        _id("secret_board_id", "/api/v1/boards/{}/topics"),
        api=True,
        shows=(TOPIC_TITLE,),
    ),
    Surface("API topic", _id("secret_topic_id", "/api/v1/topics/{}"), api=True, shows=TOPIC_SHOWS),
    Surface("API post", _id("first_post_id", "/api/v1/posts/{}"), api=True, shows=(POST_BODY,)),
    Surface(
        "API deleted post",
        _id("deleted_post_id", "/api/v1/posts/{}"),
        api=True,
        shows=(DELETED_BODY,),
        insiders=OWNERS,
    ),
    Surface(
        "API post revisions",
        _id("edited_post_id", "/api/v1/posts/{}/revisions"),
        api=True,
        shows=(EDIT_OLD_BODY,),
    ),
    Surface(
        "API redact a revision",
        _id("edited_post_id", "/api/v1/posts/{}/revisions/1/redact"),
        api=True,
        method="POST",
        payload=lambda _p, _secret: {"reason": "A real name"},
        writes=True,
    ),
    Surface(
        "API profile of a member who posts inside and outside",
        _user("circleowner", "/api/v1/users/{}"),
        api=True,
        compare=_guests_only,
        check=check_profile("circleowner", api=True),
    ),
    Surface(
        "API profile of the removed member",
        _user("leftmember", "/api/v1/users/{}"),
        api=True,
        compare=_guests_only,
        check=check_profile("leftmember", api=True),
    ),
    Surface(
        "API profile of the secret-only member",
        _user(SECRET_USERNAME, "/api/v1/users/{}"),
        api=True,
        compare=_unless_admin,
        check=admins_see_no_group(SECRET_USERNAME, profile=True),
    ),
    # Issue 13: mention suggestions name only members the asker may see (admins know
    # every member, not their groups).
    Surface(
        "API mention suggestions for the secret-only member",
        _user(SECRET_USERNAME, "/api/v1/users/suggest?q={}"),
        api=True,
        compare=_unless_admin,
    ),
    Surface("API latest", _same("/api/v1/latest"), api=True, check=check_api_latest),
    Surface(
        "API unread topics", _same("/api/v1/unread"), api=True, check=check_unread_list, insiders=()
    ),
    Surface(
        "API new topics",
        _same("/api/v1/new"),
        api=True,
        check=check_unread_list,
        shows=(SECOND_TITLE,),
        insiders=(SECRET_MEMBER,),
    ),
    Surface(
        "API mark a secret topic read",
        _id("secret_topic_id", "/api/v1/topics/{}/read"),
        api=True,
        method="POST",
        payload=lambda _p, _secret: {"last_read": 2},
        writes=True,
    ),
    Surface("API groups", _same("/api/v1/groups"), api=True, check=check_api_groups),
    Surface("API my groups", _same("/api/v1/me/groups"), api=True, check=check_my_groups),
    Surface("API group", _slug("/api/v1/groups/{}"), api=True, shows=(GROUP_NAME,)),
    Surface(
        "API group members", _slug("/api/v1/groups/{}/members"), api=True, shows=(SECRET_USERNAME,)
    ),
    Surface(
        "API group invitations",
        _slug("/api/v1/groups/{}/invitations"),
        api=True,
        insiders=OWNERS,
        shows=('"invitations"',),
    ),
    Surface("API group join requests", _slug("/api/v1/groups/{}/join-requests"), api=True),
    Surface(
        "API group invitations by name",
        _slug("/api/v1/groups/{}/member-invitations"),
        api=True,
        insiders=OWNERS,
        shows=(USERNAMES[INVITEE],),
    ),
    Surface(
        "API who the group keeps out",
        _slug("/api/v1/groups/{}/exclusions"),
        api=True,
        insiders=OWNERS,
        shows=(USERNAMES[REMOVED_MEMBER],),
    ),
    Surface(
        "API my invitations",
        _same("/api/v1/me/invitations"),
        api=True,
        shows=(GROUP_NAME, GROUP_DESCRIPTION),
        insiders=(INVITEE,),
    ),
    Surface(
        "API accept someone else's invitation by name",
        _id("member_invitation_id", "/api/v1/me/invitations/{}/accept"),
        api=True,
        method="POST",
        writes=True,
    ),
    Surface(
        "API decline someone else's invitation by name",
        _id("member_invitation_id", "/api/v1/me/invitations/{}/decline"),
        api=True,
        method="POST",
        writes=True,
    ),
    Surface(
        "API withdraw an invitation by name",
        lambda p, secret: (
            f"/api/v1/groups/{GROUP_SLUG if secret else MISSING_SLUG}/member-invitations/"
            f"{p.member_invitation_id}"
        ),
        api=True,
        method="DELETE",
        writes=True,
    ),
    Surface(
        "API allow the removed member back",
        _slug("/api/v1/groups/{}/exclusions/leftmember"),
        api=True,
        method="DELETE",
        writes=True,
    ),
    Surface(
        "API reply_to a secret post from a public topic",
        lambda p, _s: f"/api/v1/topics/{p.public_topic_id}/posts",
        api=True,
        method="POST",
        payload=_reply_to,
        writes=True,
    ),
    Surface(
        "API create an invitation into the secret group",
        _slug("/api/v1/groups/{}/invitations"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {"max_uses": 3},
        writes=True,
    ),
    Surface(
        "API add a member to the secret group",
        lambda _p, secret: (
            f"/api/v1/groups/{GROUP_SLUG if secret else MISSING_SLUG}/members/"
            f"{USERNAMES[NON_MEMBER]}"
        ),
        api=True,
        method="PUT",
        payload=lambda _p, _s: {"role": "member"},
        writes=True,
    ),
    Surface(
        "API ask to join the secret group",
        _slug("/api/v1/groups/{}/join-requests"),
        api=True,
        method="POST",
        writes=True,
    ),
    Surface(
        "API accept a used-up invitation",
        _token("used_up_token", "/api/v1/invitations/{}/accept"),
        api=True,
        method="POST",
        writes=True,
    ),
    Surface(
        "API accept a revoked invitation",
        _token("revoked_token", "/api/v1/invitations/{}/accept"),
        api=True,
        method="POST",
        writes=True,
    ),
    Surface(
        "API accept an expired invitation",
        _token("expired_token", "/api/v1/invitations/{}/accept"),
        api=True,
        method="POST",
        writes=True,
    ),
    Surface(
        "API create a board in the secret group",
        _same("/api/v1/boards"),
        api=True,
        method="POST",
        payload=lambda _p, secret: {
            "name": "Sneaky",
            "group": GROUP_SLUG if secret else MISSING_SLUG,
        },
        writes=True,
    ),
    Surface(
        "API the removed member's own post",
        _id("left_post_id", "/api/v1/posts/{}"),
        api=True,
        shows=(LEFT_BODY,),
    ),
    Surface(
        "API register with a revoked invitation",
        _same("/api/v1/users"),
        api=True,
        method="POST",
        payload=lambda p, secret: {
            "username": "newcomer7y",
            "password": "a long newcomer passphrase",
            "invite": p.revoked_token if secret else FORGED_TOKEN,
        },
        writes=True,
    ),
    Surface("API admin groups", _same("/api/v1/admin/groups"), api=True, allowed=_admin_sees_name),
    # Moderation (issue 4): the log, reports, the queue, sanctions, appeals, notifications.
    Surface(
        "API moderation log",
        _same("/api/v1/moderation/log"),
        api=True,
        check=check_log,
        shows=(GLASS_REASON, SANCTION_REASON),
        insiders=OWNERS,
    ),
    Surface(
        "API reports",
        _same("/api/v1/reports"),
        api=True,
        check=check_no_secret_reports,
        shows=(REPORT_NOTE,),
        insiders=OWNERS,
    ),
    Surface(
        "API report",
        _id("report_id", "/api/v1/reports/{}"),
        api=True,
        shows=(REPORT_NOTE, REPLY_BODY),
        insiders=OWNERS,
    ),
    Surface(
        "API resolve a secret report",
        _id("report_id", "/api/v1/reports/{}/resolve"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {"action": "dismiss", "reason": "Nothing wrong here."},
        writes=True,
    ),
    Surface(
        "API moderation queue",
        _same("/api/v1/moderation/queue"),
        api=True,
        check=check_no_secret_reports,
        shows=(REPORT_NOTE,),
        insiders=OWNERS,
    ),
    Surface(
        "API notifications",
        _same("/api/v1/notifications"),
        api=True,
        check=check_notifications,
        shows=(NOTIFY_TEXT,),
        insiders=(SECRET_MEMBER,),
    ),
    # Issue 14: the secret group's meeting, its calendar file, forms and answers; the
    # member's meeting lists (the removed member had answered "going").
    Surface("meeting page", _id("meeting_id", "/meetings/{}"), shows=(MEETING_TITLE, MEETING_LINK)),
    Surface("meeting calendar file", _id("meeting_id", "/meetings/{}.ics"), shows=(MEETING_TITLE,)),
    Surface(
        "meeting edit form",
        _id("meeting_id", "/meetings/{}/edit"),
        shows=(MEETING_TITLE,),
        insiders=OWNERS,
    ),
    Surface(
        "answer a meeting (form)",
        _id("meeting_id", "/meetings/{}/rsvp"),
        method="POST",
        payload=lambda _p, _s: {"answer": "going"},
        writes=True,
    ),
    Surface(
        "call a meeting off (form)",
        _id("meeting_id", "/meetings/{}/delete"),
        method="POST",
        writes=True,
    ),
    Surface("new meeting form", _slug("/g/{}/meetings/new"), insiders=OWNERS),
    Surface("my meetings", _same("/meetings"), shows=(MEETING_TITLE,), insiders=(SECRET_MEMBER,)),
    Surface(
        "API meeting", _id("meeting_id", "/api/v1/meetings/{}"), api=True, shows=(MEETING_LINK,)
    ),
    Surface(
        "API group meetings",
        _slug("/api/v1/groups/{}/meetings"),
        api=True,
        shows=(MEETING_TITLE,),
    ),
    Surface(
        "API my meetings",
        _same("/api/v1/me/meetings"),
        api=True,
        shows=(MEETING_TITLE,),
        insiders=(SECRET_MEMBER,),
    ),
    Surface(
        "API answer a meeting",
        _id("meeting_id", "/api/v1/meetings/{}/rsvp"),
        api=True,
        method="PUT",
        payload=lambda _p, _s: {"answer": "going"},
        writes=True,
    ),
    Surface(
        "API change a meeting",
        _id("meeting_id", "/api/v1/meetings/{}"),
        api=True,
        method="PATCH",
        payload=lambda _p, _s: {"title": "Taken over"},
        writes=True,
    ),
    Surface(
        "API call a meeting off",
        _id("meeting_id", "/api/v1/meetings/{}"),
        api=True,
        method="DELETE",
        writes=True,
    ),
    Surface(
        "API arrange a meeting in the secret group",
        _slug("/api/v1/groups/{}/meetings"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {
            "title": "Planted",
            "starts_at": "2030-01-01T10:00",
            "timezone": "UTC",
        },
        writes=True,
    ),
    # Issue 14's gaps: deleting a private message of the planted conversation.
    Surface(
        "API delete a private message",
        _id("message_id", "/api/v1/messages/{}"),
        api=True,
        method="DELETE",
        writes=True,
    ),
    Surface(
        "Delete a private message",
        lambda p, secret: (
            f"/messages/{p.conversation_id}/m/{p.message_id}/delete"
            if secret
            else f"/messages/{p.missing_id}/m/{p.missing_id}/delete"
        ),
        method="POST",
        payload=lambda _p, _s: {},
        writes=True,
    ),
    # Issue 13: watching levels. A secret topic, board or group answers as a missing one,
    # asked or set; setting one changes nothing.
    Surface("API watch a topic", _id("secret_topic_id", "/api/v1/topics/{}/watch"), api=True),
    Surface("API watch a board", _id("secret_board_id", "/api/v1/boards/{}/watch"), api=True),
    Surface("API watch a group", _slug("/api/v1/groups/{}/watch"), api=True),
    Surface(
        "API set watching a topic",
        _id("secret_topic_id", "/api/v1/topics/{}/watch"),
        api=True,
        method="PUT",
        payload=lambda _p, _s: {"level": "watching"},
        writes=True,
    ),
    Surface(
        "API set watching a board",
        _id("secret_board_id", "/api/v1/boards/{}/watch"),
        api=True,
        method="PUT",
        payload=lambda _p, _s: {"level": "watching"},
        writes=True,
    ),
    Surface(
        "API set watching a group",
        _slug("/api/v1/groups/{}/watch"),
        api=True,
        method="PUT",
        payload=lambda _p, _s: {"level": "watching"},
        writes=True,
    ),
    Surface(
        "API report a secret post",
        _id("first_post_id", "/api/v1/posts/{}/reports"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {"reason": "spam", "note": "Looks like spam."},
        writes=True,
    ),
    Surface(
        "API like a secret post",
        _id("first_post_id", "/api/v1/posts/{}/like"),
        api=True,
        method="PUT",
        writes=True,
    ),
    Surface(
        "API hide a secret post",
        _id("reply_post_id", "/api/v1/posts/{}/hide"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {"reason": "Off topic."},
        writes=True,
    ),
    Surface(
        "API sanctions of the secret-only member",
        _user(SECRET_USERNAME, "/api/v1/users/{}/sanctions"),
        api=True,
        shows=('"sanctions"',),
        insiders=(SECRET_MEMBER, SECRET_OWNER),
        compare=_unless_admin,
        check=admins_see_no_group(SECRET_USERNAME),
    ),
    Surface(
        "API sanctions of the silenced secret-only member",
        _user(MUTED_USERNAME, "/api/v1/users/{}/sanctions"),
        api=True,
        shows=(SANCTION_REASON,),
        insiders=OWNERS,
        compare=_unless_admin,
        check=admins_see_no_group(MUTED_USERNAME),
    ),
    Surface(
        "API silence the secret-only member",
        _user(SECRET_USERNAME, "/api/v1/users/{}/sanctions"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {"kind": "silence", "days": 3, "reason": "Spam."},
        writes=True,
        known_to=ADMINS,
    ),
    Surface(
        "API confirm a secret sanction",
        _id("sanction_id", "/api/v1/sanctions/{}/confirm"),
        api=True,
        method="POST",
        writes=True,
    ),
    Surface(
        "API appeal against a secret sanction",
        _same("/api/v1/appeals"),
        api=True,
        method="POST",
        payload=_appeal,
        writes=True,
    ),
    Surface(
        "API appeals",
        _same("/api/v1/appeals"),
        api=True,
        check=check_no_secret_reports,
        shows=(APPEAL_TEXT,),
        insiders=(GLASS_ADMIN,),
    ),
    Surface("API my standing", _same("/api/v1/me/standing"), api=True),
    Surface(
        "API undo a secret log entry",
        _id("log_entry_id", "/api/v1/moderation/log/{}/undo"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {"reason": "Too harsh."},
        writes=True,
    ),
    # --- issue 14: chat rooms and live pages
    Surface("group chat rooms", _slug("/g/{}/rooms"), shows=(ROOM_NAME,)),
    Surface("site chat rooms", _same("/rooms")),
    Surface("chat room", _id("secret_room_id", "/rooms/{}"), shows=(ROOM_NAME, CHAT_BODY)),
    Surface(
        "chat message report form",
        _id("secret_chat_message_id", "/chat-messages/{}/report"),
        shows=(CHAT_BODY,),
        insiders=(SECRET_MEMBER,),
    ),
    Surface(
        "write in a chat room",
        _id("secret_room_id", "/rooms/{}/messages"),
        method="POST",
        writes=True,
    ),
    Surface(
        "new posts link",
        _id("secret_topic_id", "/t/{}/after/1"),
    ),
    Surface(
        "API group chat rooms",
        _slug("/api/v1/groups/{}/rooms"),
        api=True,
        shows=(ROOM_NAME,),
    ),
    Surface("API site chat rooms", _same("/api/v1/rooms"), api=True),
    Surface(
        "API chat room", _id("secret_room_id", "/api/v1/rooms/{}"), api=True, shows=(ROOM_NAME,)
    ),
    Surface(
        "API chat messages",
        _id("secret_room_id", "/api/v1/rooms/{}/messages"),
        api=True,
        shows=(CHAT_BODY,),
    ),
    Surface(
        "API chat messages after",
        _id("secret_room_id", "/api/v1/rooms/{}/messages?after=0"),
        api=True,
        shows=(CHAT_BODY,),
    ),
    Surface(
        "API write in a chat room",
        _id("secret_room_id", "/api/v1/rooms/{}/messages"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {"body": "hello"},
        writes=True,
    ),
    Surface(
        "API report a chat message",
        _id("secret_chat_message_id", "/api/v1/chat-messages/{}/reports"),
        api=True,
        method="POST",
        payload=lambda _p, _s: {"reason": "spam"},
        writes=True,
    ),
    Surface(
        "API live changes, topic",
        lambda p, secret: (
            f"/api/v1/changes?since=t{p.secret_topic_id if secret else p.missing_id}.0"
        ),
        api=True,
        shows=('"token"',),
    ),
    Surface(
        "API live changes, room",
        lambda p, secret: (
            f"/api/v1/changes?since=r{p.secret_room_id if secret else p.missing_id}.0"
        ),
        api=True,
        shows=('"token"',),
    ),
)


def _ids(surfaces: tuple[Surface, ...]) -> list[str]:
    return [s.name for s in surfaces]


def _request(planted: Planted, surface: Surface, client: FlaskClient, secret: bool) -> TestResponse:
    payload = surface.payload(planted, secret) if surface.payload else None
    path = surface.path(planted, secret)
    if surface.api:
        return client.open(path, method=surface.method, json=payload)
    return client.open(path, method=surface.method, data=payload)


def _values(planted: Planted, surface: Surface, secret: bool) -> list[str]:
    path = surface.path(planted, secret)
    payload = surface.payload(planted, secret) if surface.payload else {}
    # A query string's values are what was asked too (a search page shows its words).
    route, _, query = path.partition("?")
    return [
        path,
        *route.split("/"),
        *(value for _name, value in parse_qsl(query)),
        *(str(v) for v in payload.values()),
    ]


def _substitutions(
    planted: Planted, surface: Surface
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Placeholders for what differs between the secret and the missing request.

    Whole paths, and the names (not ids: those only as part of a path) in paths and
    bodies; what both requests share stays as it is.
    """
    mine, theirs = _values(planted, surface, True), _values(planted, surface, False)
    pairs = [
        (a, b)
        for i, (a, b) in enumerate(zip(mine, theirs, strict=False))
        if a != b and (i == 0 or not a.isdigit())
    ]
    return [(a, "<ASKED>") for a, _b in pairs], [(b, "<ASKED>") for _a, b in pairs]


def _asked(planted: Planted, surface: Surface) -> list[str]:
    """What the secret request itself said (its path, the names it sent): echoes are fine."""
    return [a for a, _placeholder in _substitutions(planted, surface)[0]] + [
        surface.path(planted, True)
    ]


@pytest.mark.parametrize("kind", OUTSIDERS)
@pytest.mark.parametrize("surface", SURFACES, ids=_ids(SURFACES))
def test_outsider_sees_nothing(planted: Planted, surface: Surface, kind: str) -> None:
    check_outsider(planted, surface, kind)


def check_outsider(planted: Planted, surface: Surface, kind: str) -> None:
    """One cell of the matrix: the outsider sees nothing, and the secret answers like
    the missing (also used by tests/leaks/test_search_leaks.py)."""
    secret_path, missing_path = surface.path(planted, True), surface.path(planted, False)
    if not checks.routed(planted, surface.method, secret_path):
        pytest.skip(f"not routed (yet): {surface.method} {secret_path}")
    if surface.writes and kind in surface.known_to:
        pytest.skip(f"{kind} knows the member and may act on them site-wide (not written)")
    client = planted.client(kind, api=surface.api)
    before = planted.state() if surface.writes else ()
    secret = _request(planted, surface, client, True)
    problems = []
    asked = _asked(planted, surface)
    text = checks.without(checks.everything(planted.app, secret), asked).lower()
    allowed = surface.allowed(kind)
    problems += [f"marker {m!r}" for m in MARKERS if m.lower() in text and m not in allowed]
    problems += checks.findings(planted, secret, echoes=asked, allowed=allowed)
    if surface.check is not None:
        problems += surface.check(planted, kind, secret)
    if secret_path != missing_path or surface.payload is not None:
        if surface.compare(kind):
            missing = _request(planted, surface, client, False)
            mine_subs, their_subs = _substitutions(planted, surface)
            mine = checks.answer(planted, secret, mine_subs)
            theirs = checks.answer(planted, missing, their_subs)
            if mine != theirs:
                problems.append(f"answers unlike a missing thing:\n{mine.differences(theirs)}")
    if surface.writes:
        if planted.state() != before:
            problems.append("the request changed the world")
    where = f"{surface.method} {secret_path} as {kind} ({'bearer' if surface.api else 'session'})"
    assert not problems, f"LEAK at {surface.name}: {where}:\n" + "\n".join(problems)


INSIDER_CELLS = [
    (surface, kind) for surface in SURFACES if surface.shows for kind in surface.insiders
]


@pytest.mark.parametrize(
    ("surface", "kind"), INSIDER_CELLS, ids=[f"{s.name}-{k}" for s, k in INSIDER_CELLS]
)
def test_insider_sees_the_secret(planted: Planted, surface: Surface, kind: str) -> None:
    """The other half of every row: the group's own people (and a broken-in admin) see it."""
    check_insider(planted, surface, kind)


def check_insider(planted: Planted, surface: Surface, kind: str) -> None:
    """An insider's cell: the secret shows at the secret path (a positive control)."""
    path = surface.path(planted, True)
    if not checks.routed(planted, surface.method, path):
        pytest.skip(f"not routed (yet): {surface.method} {path}")
    response = _request(planted, surface, planted.client(kind, api=surface.api), True)
    assert response.status_code == 200, f"{path} as {kind}: {response.status_code}"
    text = checks.text_of(response)
    missing = [m for m in surface.shows if m not in text and m.replace("'", "&#39;") not in text]
    assert not missing, f"{path} as {kind} does not show {missing}"


@pytest.mark.parametrize("kind", [SECRET_MEMBER, GLASS_ADMIN])
@pytest.mark.parametrize("username", sorted(MEMBER_COUNTS))
def test_insider_profile_counts_include_the_secret_posts(
    planted: Planted, kind: str, username: str
) -> None:
    """Outsiders' counts are smaller than members': the profile checks are not vacuous."""
    client = planted.client(kind, api=True)
    body = client.get(f"/api/v1/users/{username}").get_json()
    assert (body["topics_count"], body["posts_count"]) == MEMBER_COUNTS[username]
    assert MEMBER_COUNTS[username] != PUBLIC_COUNTS[username]


def test_public_side_is_visible(planted: Planted) -> None:
    """Outsiders do see the public side: the absence checks are not vacuous."""
    client = planted.client(NON_MEMBER)
    assert client.get(f"/t/{planted.public_topic_id}").status_code == 200
    assert client.get(f"/b/{planted.public_group_board_id}").status_code == 200
    assert client.get(f"/g/{PUBLIC_GROUP_SLUG}").status_code == 200
    guest = planted.client("guest_public")
    assert guest.get(f"/t/{planted.public_topic_id}").status_code == 200


def _median_ms(client: Any, path: str, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def test_topic_timing_not_wildly_different(planted: Planted) -> None:
    """A secret topic and a missing one take about as long to refuse (loose bound)."""
    client = planted.client(NON_MEMBER)
    secret, missing = f"/t/{planted.secret_topic_id}", f"/t/{planted.missing_id}"
    for path in (secret, missing):  # warm up caches and the connection pool
        _median_ms(client, path, 3)
    # Interleave, so a slow moment of the machine hurts both sides alike.
    secret_times, missing_times = [], []
    for _ in range(15):
        secret_times.append(_median_ms(client, secret, 1))
        missing_times.append(_median_ms(client, missing, 1))
    a, b = statistics.median(secret_times), statistics.median(missing_times)
    print(f"topic page as outsider: secret {a:.2f} ms, missing {b:.2f} ms ({planted.backend})")
    assert max(a, b) / min(a, b) < 5, f"secret {a:.2f} ms vs missing {b:.2f} ms"


# --- tests that change the world: each on a fresh one --------------------------------


def _bearer(world: Planted, username: str) -> Any:
    """A cookie-less client with a fresh API token for any planted member."""
    db.session.rollback()
    user = db.session.get(User, world.user_ids[username])
    token = accounts.issue_api_token(user)
    db.session.commit()
    world.app.test_client_class = PageClient
    client = world.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


def _is_member(world: Planted, username: str) -> bool:
    db.session.rollback()
    found = db.session.scalar(
        select(Membership.id).where(
            Membership.group_id == world.secret_group_id,
            Membership.user_id == world.user_ids[username],
        )
    )
    db.session.rollback()
    return found is not None


def test_token_of_another_group_opens_only_that_group(fresh_world: Planted) -> None:
    """Accepting group B's link shows group B, and nothing of the secret group A."""
    for kind in (NON_MEMBER, REMOVED_MEMBER, SITE_MODERATOR, SITE_ADMIN):
        api = fresh_world.client(kind, api=True)
        page = fresh_world.client(kind)
        accepted = api.post(f"/api/v1/invitations/{fresh_world.other_invite_token}/accept")
        assert accepted.status_code == 200, (kind, accepted.get_json())
        assert accepted.get_json()["group"]["slug"] == OTHER_GROUP_SLUG
        assert not checks.findings(fresh_world, accepted), kind
        landing = page.get(f"/invite/{fresh_world.other_invite_token}")
        assert not checks.findings(fresh_world, landing), kind
        assert api.get(f"/api/v1/groups/{OTHER_GROUP_SLUG}").status_code == 200, kind
        for path in (
            f"/api/v1/groups/{GROUP_SLUG}",
            f"/api/v1/topics/{fresh_world.secret_topic_id}",
        ):
            response = api.get(path)
            assert response.status_code == 404, (kind, path)
            assert not checks.findings(fresh_world, response, echoes=[path]), (kind, path)
        assert page.get(f"/g/{GROUP_SLUG}").status_code == 404, kind


def test_removed_member_cannot_read_the_group_back_through_their_old_link(
    fresh_world: Planted,
) -> None:
    """A member who joined by a (still open) link and was removed, using the link again.

    Either the link lets them in again (they are a member afterwards), or it answers like
    a link that does not exist. Never a 200 that shows the group to someone outside it.
    """
    name = USERNAMES[NON_MEMBER]
    client = _bearer(fresh_world, name)
    token = fresh_world.secret_invite_token
    assert client.post(f"/api/v1/invitations/{token}/accept").status_code == 200
    owner = _bearer(fresh_world, USERNAMES[SECRET_OWNER])
    assert owner.delete(f"/api/v1/groups/{GROUP_SLUG}/members/{name}").status_code == 204
    again = client.post(f"/api/v1/invitations/{token}/accept")
    if _is_member(fresh_world, name):
        return
    forged = client.post(f"/api/v1/invitations/{FORGED_TOKEN}/accept")
    mine = checks.answer(fresh_world, again, [(token, "<TOKEN>")])
    theirs = checks.answer(fresh_world, forged, [(FORGED_TOKEN, "<TOKEN>")])
    assert mine == theirs, (
        "LEAK: a removed member re-accepting their old link is not let back in, yet is "
        f"answered unlike a dead link:\n{mine.differences(theirs)}"
    )


def test_public_group_owner_cannot_probe_hidden_accounts(fresh_world: Planted) -> None:
    """An ordinary member who owns a public group, adding people by name.

    Someone who posts only inside a secret group is unknown outside it (their profile is
    a 404): adding them by name must answer like a name nobody has, and add nobody.
    """
    owner = _bearer(fresh_world, "allotowner")
    base = f"/api/v1/groups/{PUBLIC_GROUP_SLUG}/members"
    hidden = owner.put(f"{base}/{SECRET_USERNAME}", json={"role": "member"})
    nobody = owner.put(f"{base}/{MISSING_USERNAME}", json={"role": "member"})
    mine = checks.answer(fresh_world, hidden, [(SECRET_USERNAME, "<NAME>")])
    theirs = checks.answer(fresh_world, nobody, [(MISSING_USERNAME, "<NAME>")])
    assert mine == theirs, (
        "LEAK: a public group's owner can tell a hidden account from a missing one "
        f"(and pull it into their group):\n{mine.differences(theirs)}"
    )
