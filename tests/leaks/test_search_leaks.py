"""The search rows of the leak matrix, on every pair of database and search backend.

Markers planted inside the secret group (a post's text, titles, the board's name, a
secret-only member's username, hidden and deleted posts) are searched for by every
kind of outsider, on the page and through the API: nothing found, total 0, no
suggestion, and an answer identical to a search for a word that exists nowhere. The
same searches by the group's own people find them (positive controls); hidden and
deleted posts only by the moderators in scope.

Each row is a `Surface` of the matrix (tests/leaks/test_leak_matrix.py) and is checked
by the same code; this module only plants its world once per (database, search
backend) pair, so that the PostgreSQL full-text backend passes the same rows as Whoosh.
The canary crawl (whoosh) asks the same questions of /search and /api/v1/search.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
from werkzeug.test import TestResponse

from tests.leaks import checks
from tests.leaks.conftest import BOARD_NAME
from tests.leaks.conftest import GLASS_ADMIN
from tests.leaks.conftest import GUEST_NONE
from tests.leaks.conftest import HIDDEN_BODY
from tests.leaks.conftest import INSIDERS
from tests.leaks.conftest import MISSING_USERNAME
from tests.leaks.conftest import NOWHERE_WORD
from tests.leaks.conftest import OTHER_GROUP_MEMBER
from tests.leaks.conftest import OUTSIDERS
from tests.leaks.conftest import SEARCH_MARKERS
from tests.leaks.conftest import SECOND_TITLE
from tests.leaks.conftest import SECRET_MEMBER
from tests.leaks.conftest import SECRET_OWNER
from tests.leaks.conftest import SECRET_USERNAME
from tests.leaks.conftest import TOPIC_TITLE
from tests.leaks.conftest import Planted
from tests.leaks.conftest import planted_world
from tests.leaks.test_leak_matrix import Surface
from tests.leaks.test_leak_matrix import check_insider
from tests.leaks.test_leak_matrix import check_outsider

PAIRS = {
    "sqlite-whoosh": ("sqlite", "whoosh"),
    "postgres-whoosh": ("postgres", "whoosh"),
    "postgres-postgres": ("postgres", "postgres"),
}
OWNERS = (SECRET_OWNER, GLASS_ADMIN)
# Markers only the moderators in scope may find (hidden and deleted posts, and the
# silenced member whose only post is hidden); the group's ordinary members may not.
MODERATED = {HIDDEN_BODY.split()[0], "CANARYDELETED7", "CanaryMute7"}
NOBODY = {marker for marker, found in SEARCH_MARKERS if not found}
# What a search for a marker shows its insiders besides the words asked for: the
# result's topic title or, when the title is what was asked, the board's name.
SHOWS = {TOPIC_TITLE.split()[0]: BOARD_NAME, SECOND_TITLE.split()[0]: BOARD_NAME}


@pytest.fixture(scope="module", params=list(PAIRS.values()), ids=list(PAIRS))
def planted(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Planted]:
    """The planted world on one (database, search backend) pair."""
    database, search = request.param
    with planted_world(request, tmp_path_factory, database, search=search) as world:
        yield world


Args = Callable[[Planted, bool], dict[str, str]]


def _search(api: bool, args: Args) -> Callable[[Planted, bool], str]:
    base = "/api/v1/search" if api else "/search"
    return lambda p, secret: f"{base}?{urlencode(args(p, secret))}"


def _marker(marker: str) -> Args:
    """The marker, against a word that is nowhere."""

    def args(_p: Planted, secret: bool) -> dict[str, str]:
        return {"q": marker if secret else NOWHERE_WORD}

    return args


def _filter(name: str) -> Args:
    """A word found on both sides, with a filter pointed inside against one pointed at
    nothing that exists."""

    def args(p: Planted, secret: bool) -> dict[str, str]:
        inside, nothing = {
            "author": (SECRET_USERNAME, MISSING_USERNAME),
            "board": (str(p.secret_board_id), str(p.missing_id)),
            "topic": (str(p.secret_topic_id), str(p.missing_id)),
        }[name]
        return {"q": "circle", name: inside if secret else nothing}

    return args


def check_finds_nothing(_p: Planted, kind: str, response: TestResponse) -> list[str]:
    """An outsider's search: nothing, counted as nothing, and no suggestion. (A guest
    where guests read nothing is asked to log in and come back: no search at all.)"""
    if response.is_json:
        body = response.get_json(silent=True) or {}
        expected = {
            "results": [],
            "total": 0,
            "total_exact": True,
            "page": 1,
            "pages": 1,
            "suggestion": None,
        }
        return [] if body == expected else [f"answers {body}, expected {expected}"]
    text = checks.text_of(response)
    if kind == GUEST_NONE and not response.is_json:
        location = response.headers.get("Location", "")
        invited = response.status_code == 302 and location.startswith("/login?next=/search")
        return [] if invited else [f"status {response.status_code}, not sent to log in"]
    problems = []
    if response.status_code != 200 or "0 results" not in text:
        problems.append(f"status {response.status_code}, no '0 results'")
    if '<ol class="results"' in text or "Did you mean" in text:
        problems.append("lists results or suggests a word")
    return problems


def _rows(api: bool) -> list[Surface]:
    kind = "API search" if api else "search page"
    rows = [
        Surface(
            f"{kind}: {marker}",
            _search(api, _marker(marker)),
            api=api,
            check=check_finds_nothing,
            shows=(SHOWS.get(marker, TOPIC_TITLE),) if found else (),
            insiders=OWNERS if marker in MODERATED else (SECRET_MEMBER, GLASS_ADMIN),
        )
        for marker, found in SEARCH_MARKERS
    ]
    rows += [
        Surface(
            f"{kind}: 'circle' with the {name} filter pointed inside",
            _search(api, _filter(name)),
            api=api,
            check=check_finds_nothing,
            shows=(TOPIC_TITLE,),
        )
        for name in ("author", "board", "topic")
    ]
    return rows


SEARCH_SURFACES = (*_rows(api=False), *_rows(api=True))
INSIDER_CELLS = [(s, k) for s in SEARCH_SURFACES if s.shows for k in s.insiders]


@pytest.mark.parametrize("kind", OUTSIDERS)
@pytest.mark.parametrize("surface", SEARCH_SURFACES, ids=[s.name for s in SEARCH_SURFACES])
def test_outsider_finds_nothing(planted: Planted, surface: Surface, kind: str) -> None:
    check_outsider(planted, surface, kind)


@pytest.mark.parametrize(
    ("surface", "kind"), INSIDER_CELLS, ids=[f"{s.name}-{k}" for s, k in INSIDER_CELLS]
)
def test_insider_finds_the_secret(planted: Planted, surface: Surface, kind: str) -> None:
    check_insider(planted, surface, kind)


def _api(planted: Planted, kind: str, **args: str) -> dict[str, Any]:
    response = planted.client(kind, api=True).get(f"/api/v1/search?{urlencode(args)}")
    assert response.status_code == 200, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


@pytest.mark.parametrize("marker", sorted(MODERATED))
def test_hidden_and_deleted_posts_only_for_the_moderators_in_scope(
    planted: Planted, marker: str
) -> None:
    member = _api(planted, SECRET_MEMBER, q=marker)
    assert (member["results"], member["total"], member["suggestion"]) == ([], 0, None)
    for kind in OWNERS:
        found = _api(planted, kind, q=marker)
        assert found["total"] == len(found["results"]) >= 1, kind
        assert {r["post_id"] for r in found["results"]} <= set(planted.secret_post_ids)


@pytest.mark.parametrize("marker", sorted(NOBODY))
def test_nobody_finds_group_names_or_replaced_text(planted: Planted, marker: str) -> None:
    for kind in INSIDERS:
        assert _api(planted, kind, q=marker)["total"] == 0, kind


def test_totals_count_only_what_the_reader_may_see(planted: Planted) -> None:
    """'circle' is in two secret posts, one public post and the other secret group's
    title: each outsider counts what they may read, and nothing from inside."""
    for kind in OUTSIDERS:
        body = _api(planted, kind, q="circle")
        topics = {planted.public_topic_id}
        if kind == OTHER_GROUP_MEMBER:
            topics.add(planted.other_topic_id)
        expected = 0 if kind == GUEST_NONE else len(topics)
        assert body["total"] == len(body["results"]) == expected, (kind, body)
        for result in body["results"]:
            assert result["post_id"] not in planted.secret_post_ids, kind
            assert result["topic_id"] in topics, kind
            assert not checks.CANARY_RE.search(result["snippet"]), kind
    member = _api(planted, SECRET_MEMBER, q="circle")
    assert member["total"] == len(member["results"]) == 3


MARKER_TYPOS = ("CANARYPOSTT7", "canarypst7", "CanaryUsr7", "CANARYBORD7")
WORD_TYPOS = ("sprng", "anwser", "insde", "wrtten")


@pytest.mark.parametrize("kind", OUTSIDERS)
def test_misspelt_secret_words_suggest_nothing(planted: Planted, kind: str) -> None:
    """No suggestion is ever built from words the reader may not see: misspelt markers,
    and misspelt plain words that appear only inside ("spring", "answer", "inside",
    "written"), answer exactly like a misspelt word that is nowhere."""
    for typo in (*MARKER_TYPOS, *WORD_TYPOS):
        body = _api(planted, kind, q=typo)
        assert (
            body
            == _api(planted, kind, q="nowherwordd7x")
            == {
                "results": [],
                "total": 0,
                "total_exact": True,
                "page": 1,
                "pages": 1,
                "suggestion": None,
            }
        ), (kind, typo, body)


def test_insiders_get_suggestions_from_the_secret_words(planted: Planted) -> None:
    """The positive control of the row above (Whoosh; PostgreSQL suggests nothing)."""
    if planted.app.config["FORUM_SEARCH_BACKEND"] != "whoosh":
        pytest.skip("the postgres backend offers no spelling suggestions")
    for typo, word in zip(WORD_TYPOS, ("spring", "answer", "inside", "written"), strict=True):
        body = _api(planted, SECRET_MEMBER, q=typo)
        assert (body["total"], body["suggestion"]) == (0, word), typo
