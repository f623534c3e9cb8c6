"""The crawl's machinery: every rule of the app's URL map, filled from the planted world.

Rules come from the app's own URL map when the tests are collected, so a route added
tomorrow is crawled tomorrow without anyone adding it here. Each argument is filled by
its name (`ARGUMENTS`): the secret group's objects, a twin that does not exist (for a
username: a member nobody outside can know either), and the public side. An argument
name nobody taught this module fails the test for that route: teach it here.
"""

from __future__ import annotations

import functools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.routing import Rule

from tests.conftest import make_test_app
from tests.leaks.conftest import FORGED_TOKEN
from tests.leaks.conftest import FORGED_TOKEN_TWIN
from tests.leaks.conftest import GROUP_NAME
from tests.leaks.conftest import GROUP_SLUG
from tests.leaks.conftest import GUESTS
from tests.leaks.conftest import MISSING_SLUG
from tests.leaks.conftest import MISSING_USERNAME
from tests.leaks.conftest import MUTED_USERNAME
from tests.leaks.conftest import NOWHERE_WORD
from tests.leaks.conftest import PUBLIC_GROUP_SLUG
from tests.leaks.conftest import QUIET_USERNAME
from tests.leaks.conftest import REMOVED_MEMBER
from tests.leaks.conftest import SEARCH_MARKERS
from tests.leaks.conftest import SECRET_OWNER
from tests.leaks.conftest import SECRET_USERNAME
from tests.leaks.conftest import SITE_ADMIN
from tests.leaks.conftest import USERNAMES
from tests.leaks.conftest import Planted

# Rules the crawl does not request, each with its reason. Nothing else is skipped.
SKIPPED_ENDPOINTS = {
    "static": "theme files (CSS, images): no data, no database",
    "favicon": "the theme's icon file (/favicon.ico): no data, no database",
}


@dataclass(frozen=True)
class Fill:
    """How to fill one URL argument: secret values (one crawl variant each) and a twin.

    `text`: the value is a name, echoed in any case; it may be replaced everywhere when
    answers are compared. Ids are only replaced as part of the path. `reaches_secret`:
    True when the value points into the secret group, False when even an insider cannot
    tell the two apart (forged tokens), None when it only rides along with another
    argument that does (a join request id next to the secret slug).
    """

    secret: tuple[Any, ...]
    twin: Any
    # Values on the public side (a public group, a member who posts in both places):
    # their pages must not mention the secret group either.
    public: tuple[Any, ...] = ()
    text: bool = False
    reaches_secret: bool | None = True
    # Extra (pattern, placeholder) substitutions when comparing, for secret and twin.
    secret_subs: tuple[tuple[str, str], ...] = ()
    twin_subs: tuple[tuple[str, str], ...] = ()


def _user_id_subs(planted: Planted, username: str) -> tuple[tuple[str, str], ...]:
    # A profile carries the member's id: the one thing that differs between two members
    # with nothing to show.
    user_id = planted.user_ids[username]
    return ((rf're:"id":\s*{user_id}(?=[,}}\s])', '"id":"<USER-ID>"'),)


def _username(p: Planted) -> Fill:
    return Fill(
        (SECRET_USERNAME,),
        QUIET_USERNAME,
        public=(USERNAMES[SECRET_OWNER], USERNAMES[REMOVED_MEMBER]),
        text=True,
        secret_subs=_user_id_subs(p, SECRET_USERNAME),
        twin_subs=_user_id_subs(p, QUIET_USERNAME),
    )


def _slug(p: Planted) -> Fill:
    return Fill((GROUP_SLUG,), MISSING_SLUG, public=(PUBLIC_GROUP_SLUG,), text=True)


# By argument name. Secret values point into the secret group; twins do not exist.
ARGUMENTS: dict[str, Callable[[Planted], Fill]] = {
    "board_id": lambda p: Fill(
        (p.secret_board_id,), p.missing_id, (p.public_board_id, p.public_group_board_id)
    ),
    "topic_id": lambda p: Fill(
        (p.secret_topic_id, p.second_topic_id),
        p.missing_id,
        (p.public_topic_id, p.public_group_topic_id),
    ),
    "post_id": lambda p: Fill(p.secret_post_ids, p.missing_id, (p.public_post_id,)),
    "group_id": lambda p: Fill((p.secret_group_id,), p.missing_id, (p.public_group_id,)),
    "invitation_id": lambda p: Fill((p.secret_invitation_id,), p.missing_id),
    "username": _username,
    "slug": _slug,
    "group_slug": _slug,
    "group": _slug,
    # A made-up token against another made-up token: no token may reveal anything
    # it does not open. Real tokens are the leak matrix's business.
    "token": lambda p: Fill((FORGED_TOKEN,), FORGED_TOKEN_TWIN, text=True, reaches_secret=False),
    # Secret groups take no join requests: an id that rides along with the secret slug.
    "request_id": lambda p: Fill((p.missing_id - 1,), p.missing_id, reaches_secret=None),
    # Moderation inside the secret group (issue 4).
    "report_id": lambda p: Fill((p.report_id,), p.missing_id),
    "sanction_id": lambda p: Fill((p.sanction_id,), p.missing_id),
    "appeal_id": lambda p: Fill((p.appeal_id,), p.missing_id),
    "entry_id": lambda p: Fill((p.log_entry_id,), p.missing_id),
    # An invitation by name into the secret group (issue 10): someone else's.
    "member_invitation_id": lambda p: Fill((p.member_invitation_id,), p.missing_id),
    # Issue 13: the secret member's notification (marking it read is theirs alone).
    "notification_id": lambda p: Fill((p.notification_id,), p.missing_id),
    # Issue 10: another member's browser session (ending one of your own is the point).
    "session_id": lambda p: Fill((p.secret_member_session_id,), p.missing_id),
    # Issue 14: the secret member's private conversation and its message: theirs and the
    # owner's alone (admins and site moderators included among the outsiders).
    "conversation_id": lambda p: Fill((p.conversation_id,), p.missing_id),
    # `message_id` names a private message on /messages routes and a chat message on
    # /chat-messages routes: both secret ones are tried on every route.
    "message_id": lambda p: Fill((p.message_id, p.secret_chat_message_id), p.missing_id),
    # No message is reported in this world: site moderators would (rightly) read a
    # reported one. The report window has its own rows (test_message_leaks.py).
    "message_report_id": lambda p: Fill((p.missing_id - 1,), p.missing_id, reaches_secret=False),
    # A revision number rides along with a post id (issue 10: redacting a revision). The
    # secret group's edited post has a revision 1; the twin's post does not exist.
    "number": lambda p: Fill((1,), 1, public=(1,), reaches_secret=None),
    # Issue 14: the secret group's chat room and a message in it.
    "room_id": lambda p: Fill((p.secret_room_id,), p.missing_id),
    # Issue 14: the secret group's meeting, and the secret member's personal reminder on
    # a secret post (cancelling it is theirs alone).
    "meeting_id": lambda p: Fill((p.meeting_id,), p.missing_id),
    "reminder_id": lambda p: Fill((p.reminder_id,), p.missing_id),
}


@dataclass(frozen=True)
class QueryFill:
    """A query string that asks after the secret group, and its twin that asks after
    nothing that exists (for routes whose answer depends on the query, not the path).

    Text values that differ between the two are echoes (a search page shows the words
    asked for); ids only ever show as part of the path.
    """

    secret: dict[str, str]
    twin: dict[str, str]
    reaches_secret: bool = True
    text: frozenset[str] = field(default_factory=lambda: frozenset({"q", "author"}))


def _search_queries(p: Planted) -> list[QueryFill]:
    # Each marker planted in the secret group (post text, titles, usernames, the board's
    # name, hidden and deleted posts) against a word that is nowhere; then the filters
    # pointed into the group against ones pointed at nothing, with a word that matches
    # posts on both sides ("circle": inside, and the owner's public post).
    words = [
        QueryFill({"q": marker}, {"q": NOWHERE_WORD}, reaches_secret=reaches)
        for marker, reaches in SEARCH_MARKERS
    ]
    return [
        *words,
        QueryFill(
            {"q": "circle", "author": SECRET_USERNAME}, {"q": "circle", "author": MISSING_USERNAME}
        ),
        QueryFill(
            {"q": "circle", "board": str(p.secret_board_id)},
            {"q": "circle", "board": str(p.missing_id)},
        ),
        QueryFill(
            {"q": "circle", "topic": str(p.secret_topic_id)},
            {"q": "circle", "topic": str(p.missing_id)},
        ),
    ]


# By endpoint: query strings to crawl besides the bare rule (issue 5: search).
def _live_queries(p: Planted) -> list[QueryFill]:
    # Issue 14: the live pages' tokens, for the secret topic and room against nothing.
    return [
        QueryFill({"since": f"t{p.secret_topic_id}.0"}, {"since": f"t{p.missing_id}.0"}),
        QueryFill({"since": f"r{p.secret_room_id}.0"}, {"since": f"r{p.missing_id}.0"}),
    ]


QUERIES: dict[str, Callable[[Planted], list[QueryFill]]] = {
    "api.changes": _live_queries,
    "search.index": _search_queries,
    "api.search": _search_queries,
}
# Searches that find public posts, some by members who also post in the secret group:
# their results (snippets, titles, names) must show nothing from inside.
PUBLIC_SEARCHES = (
    {"q": "circle"},
    {"q": "public"},
    {"q": USERNAMES[SECRET_OWNER]},
    {"q": USERNAMES[REMOVED_MEMBER]},
    {"q": "circle", "author": USERNAMES[SECRET_OWNER]},
)
PUBLIC_QUERIES: dict[str, tuple[dict[str, str], ...]] = {
    "search.index": PUBLIC_SEARCHES,
    "api.search": PUBLIC_SEARCHES,
}


@dataclass(frozen=True)
class Allowance:
    """A documented exception to the crawl's rule for some paths and outsiders."""

    path_prefixes: tuple[str, ...]
    kinds: frozenset[str]
    # Canaries these outsiders may see on these paths.
    canaries: frozenset[str]
    # Arguments that address a group the outsider may legitimately reach: rules with
    # one of them are not compared with a missing twin (the canary scan still runs).
    reachable_args: frozenset[str]
    reason: str

    def compares(self, rule: Rule) -> bool:
        """Whether secret and twin answers must still be identical on this rule."""
        return not (self.reachable_args & set(rule.arguments))


# The issue itself lets a site admin see a secret group's name (and member count) in the
# admin area (pages and API), and act on it by id (break-glass): for them that group
# exists there, so those routes are not compared with a missing id. Nothing else of the
# group may show: not its description, members, boards, topics or posts.
ALLOWANCES = (
    # Issue 10 (contract section 4): admins know every member - the member directory lists
    # accounts known only inside a secret group too, never which group (leak matrix rows
    # check that such a member reads like one with no groups and no posts).
    Allowance(
        path_prefixes=("/admin/members", "/api/v1/admin/users"),
        kinds=frozenset({SITE_ADMIN}),
        canaries=frozenset({SECRET_USERNAME, MUTED_USERNAME}),
        reachable_args=frozenset(),
        reason="issue 10: admins know every member (the member directory), not their groups",
    ),
    Allowance(
        path_prefixes=("/admin", "/api/v1/admin"),
        kinds=frozenset({SITE_ADMIN}),
        canaries=frozenset({GROUP_NAME.split()[0], GROUP_SLUG}),
        reachable_args=frozenset({"group_id"}),
        reason="issue 3: admins see a secret group's name and member count in the admin area",
    ),
)


def allowance_for(rule: str, kind: str) -> Allowance | None:
    """The allowance that applies, if any."""
    return next(
        (a for a in ALLOWANCES if rule.startswith(a.path_prefixes) and kind in a.kinds),
        None,
    )


WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


@functools.cache
def all_rules() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(endpoint, rule, methods) for every rule, read from an app built only to read its map."""
    instance = Path(tempfile.gettempdir()) / "forum-leaks-collect"
    app = make_test_app("sqlite://", instance)
    found = sorted(
        (rule.endpoint, rule.rule, tuple(sorted(rule.methods or ())))
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED_ENDPOINTS
    )
    return tuple(found)


def get_rules() -> list[tuple[str, str]]:
    """Every crawled GET rule as (endpoint, rule)."""
    return [(e, r) for e, r, methods in all_rules() if "GET" in methods]


def write_rules() -> list[tuple[str, str, str]]:
    """Every write (endpoint, rule, method) whose path names something (has arguments)."""
    return [
        (e, r, m)
        for e, r, methods in all_rules()
        for m in methods
        if m in WRITE_METHODS and "<" in r
    ]


def find_rule(planted: Planted, endpoint: str, text: str) -> Rule:
    """The live rule (it must still exist)."""
    for rule in planted.app.url_map.iter_rules(endpoint):
        if rule.rule == text:
            return rule
    raise AssertionError(f"{text} ({endpoint}) is not in the app's URL map any more")


@dataclass(frozen=True)
class Variant:
    """One way of filling a rule: the secret URL, its twin, and what to normalise."""

    secret_path: str
    twin_path: str
    secret_subs: tuple[tuple[str, str], ...]
    twin_subs: tuple[tuple[str, str], ...]
    echoes: tuple[str, ...]
    reaches_secret: bool


def variants(planted: Planted, rule: Rule) -> list[Variant]:
    """Every secret filling of the rule, each with its twin; fails on unknown arguments."""
    unknown = sorted(a for a in rule.arguments if a not in ARGUMENTS)
    if unknown:
        pytest.fail(
            f"{rule.rule} ({rule.endpoint}) has arguments the leak crawl cannot fill: {unknown}. "
            "Teach tests/leaks/crawl.py::ARGUMENTS what a secret value and a "
            "non-existent twin are for them."
        )
    fills = {name: ARGUMENTS[name](planted) for name in sorted(rule.arguments)}
    count = max((len(f.secret) for f in fills.values()), default=1)
    found = []
    for index in range(count):
        secret_values = {n: f.secret[index % len(f.secret)] for n, f in fills.items()}
        twin_values = {n: f.twin for n, f in fills.items()}
        secret_path = _build(rule, secret_values)
        twin_path = _build(rule, twin_values)
        secret_subs = [(secret_path, "<PATH>")]
        twin_subs = [(twin_path, "<PATH>")]
        for name, fill in fills.items():
            if fill.text:
                secret_subs.append((str(secret_values[name]), f"<{name}>"))
                twin_subs.append((str(twin_values[name]), f"<{name}>"))
            secret_subs += fill.secret_subs
            twin_subs += fill.twin_subs
        echoes = (secret_path, *(str(v) for n, v in secret_values.items() if fills[n].text))
        found.append(
            Variant(
                secret_path,
                twin_path,
                tuple(secret_subs),
                tuple(twin_subs),
                echoes,
                any(f.reaches_secret for f in fills.values())
                and all(f.reaches_secret is not False for f in fills.values()),
            )
        )
    if not rule.arguments:
        found += [_query_variant(rule, fill) for fill in QUERIES.get(rule.endpoint, _none)(planted)]
    return found


def _none(_planted: Planted) -> list[QueryFill]:
    return []


def _query_variant(rule: Rule, fill: QueryFill) -> Variant:
    base = _build(rule, {})
    secret_path = f"{base}?{urlencode(fill.secret)}"
    twin_path = f"{base}?{urlencode(fill.twin)}"
    changed = [
        name for name in fill.secret if name in fill.text and fill.secret[name] != fill.twin[name]
    ]
    return Variant(
        secret_path,
        twin_path,
        ((secret_path, "<PATH>"), *((fill.secret[n], f"<{n}>") for n in changed)),
        ((twin_path, "<PATH>"), *((fill.twin[n], f"<{n}>") for n in changed)),
        (secret_path, *(fill.secret[n] for n in fill.secret if n in fill.text)),
        fill.reaches_secret,
    )


def public_paths(planted: Planted, rule: Rule) -> list[str]:
    """The rule filled from the public side (arguments without a public value: their twin)."""
    fills = {name: ARGUMENTS[name](planted) for name in sorted(rule.arguments)}
    count = max((len(f.public) for f in fills.values()), default=0)
    queries = [f"{_build(rule, {})}?{urlencode(q)}" for q in PUBLIC_QUERIES.get(rule.endpoint, ())]
    return [
        _build(
            rule, {n: f.public[i % len(f.public)] if f.public else f.twin for n, f in fills.items()}
        )
        for i in range(count)
    ] + queries


def _build(rule: Rule, values: dict[str, Any]) -> str:
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build {rule.rule} from {values}"
    return built[1]


def modes(rule: Rule, kind: str) -> list[bool]:
    """How the outsider asks: by cookie session (False) and, for the API, by bearer (True)."""
    if kind in GUESTS:
        return [False]
    return [False, True] if rule.rule.startswith("/api/") else [False]
