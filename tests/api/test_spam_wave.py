"""The issue's "Done when", played through the API: a spam wave with no admin online.

A hub whose admin set it up (appointing three peer moderators) and then went offline.
Twenty brand-new accounts post spam. Established members report it; the community's
defences hide every spam post at once and silence the authors that three members
reported, before any moderator looks. Then the three peer moderators, never the admin,
work through the review queue. Every step is in the moderation log.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from forum.extensions import db
from tests import factories

API = "/api/v1"
SPAMMERS = 20
PEERS = ("peer_ana", "peer_bo", "peer_cy")


class Hub:
    """Bearer-token requests, each member's token obtained by logging in through the API."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}
        self.requests_by: Counter[str] = Counter()

    def login(self, username: str, password: str = factories.PASSWORD) -> None:
        answer = self.client.post(
            f"{API}/auth/token", json={"username": username, "password": password}
        )
        assert answer.status_code == 201, answer.get_json()
        self.tokens[username] = answer.get_json()["token"]

    def __call__(self, who: str, method: str, path: str, json: Any = None) -> TestResponse:
        self.requests_by[who] += 1
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        return self.client.open(f"{API}{path}", method=method, json=json, headers=headers)

    def ok(self, who: str, method: str, path: str, json: Any = None, status: int = 200) -> Any:
        answer = self(who, method, path, json)
        assert answer.status_code == status, (who, method, path, answer.get_json())
        return answer.get_json()

    def all_pages(self, who: str, path: str, plural: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        page, pages = 1, 1
        while page <= pages:
            body = self.ok(who, "GET", f"{path}?page={page}")
            found += body[plural]
            page, pages = page + 1, body["pages"]
        return found


def _set_up(client: FlaskClient) -> tuple[Hub, int]:
    """The admin's one session: settings, a board, three appointed peer moderators."""
    factories.set_settings(registration="open")
    factories.make_admin("founder")
    board = factories.make_board("Lounge", description="Say hello.")
    for name in PEERS:
        factories.make_topic(board, factories.make_user(name, trust_level=2))
    # Established members: one regular (trust level 3) and three members (level 2). Their
    # levels stand for months of activity this test does not replay; locked, so that the
    # lazy recomputation on login keeps them.
    for name, level in (("veteran", 3), ("mia", 2), ("noor", 2), ("ola", 2)):
        factories.make_user(name, trust_level=level).trust_level_locked = True
    db.session.commit()
    hub = Hub(client)
    for name in ("founder", *PEERS, "veteran", "mia", "noor", "ola"):
        hub.login(name)
    for name in PEERS:
        appointed = hub.ok(
            "founder",
            "PUT",
            f"/admin/moderators/{name}",
            {"moderator": True, "reason": "Trusted by the community; agreed to help."},
        )
        assert "moderator" in appointed["roles"]
    return hub, board.id


def _spam(hub: Hub, board_id: int) -> dict[str, int]:
    """Twenty new accounts register and each posts spam; post id by author."""
    posts = {}
    for n in range(SPAMMERS):
        name = f"cheapdeals{n:02d}"
        made = hub.client.post(
            f"{API}/users", json={"username": name, "password": "buy now buy now buy now"}
        )
        assert made.status_code == 201
        assert made.get_json()["trust_level"] == 0
        hub.login(name, "buy now buy now buy now")
        topic = hub.ok(
            name,
            "POST",
            f"/boards/{board_id}/topics",
            {"title": f"Cheap watches {n}", "body": "Best prices, visit cheap-watches dot example"},
            status=201,
        )
        posts[name] = topic["post"]["id"]
    return posts


def _report(hub: Hub, who: str, post_id: int) -> None:
    hub.ok(who, "POST", f"/posts/{post_id}/reports", {"reason": "spam"}, status=201)


def _shown_to_members(hub: Hub, post_id: int) -> dict[str, Any]:
    return hub.ok("veteran", "GET", f"/posts/{post_id}")  # type: ignore[no-any-return]


def _cannot_post(hub: Hub, author: str, board_id: int) -> bool:
    """True if the author is refused as silenced (they can still read)."""
    answer = hub(author, "POST", f"/boards/{board_id}/topics", {"title": "More deals", "body": "!"})
    assert hub(author, "GET", f"/boards/{board_id}/topics").status_code == 200
    return answer.status_code == 403 and answer.get_json()["error"]["code"] == "silenced"


def test_three_peer_moderators_handle_a_spam_wave_with_no_admin_online(
    client: FlaskClient,
) -> None:
    hub, board_id = _set_up(client)
    admin_requests = hub.requests_by["founder"]
    posts = _spam(hub, board_id)
    authors = sorted(posts)
    spotted, crowd = authors[:10], authors[10:]

    # 1. A trusted regular's spam report hides a new account's post at once.
    for author in spotted:
        _report(hub, "veteran", posts[author])
        shown = _shown_to_members(hub, posts[author])
        assert (shown["hidden"], shown["hidden_kind"], shown["body"]) == (True, "community", None)

    # 2. Three level-2 members together reach the hide threshold; no two of them do. Spam
    #    reports from three members silence the new author until a moderator looks.
    for author in crowd:
        _report(hub, "mia", posts[author])
        _report(hub, "noor", posts[author])
        assert _shown_to_members(hub, posts[author])["hidden"] is False
        assert hub.ok(author, "GET", "/me/standing")["sanctions"] == []
        _report(hub, "ola", posts[author])
        assert _shown_to_members(hub, posts[author])["hidden"] is True
        assert _cannot_post(hub, author, board_id)
        standing = hub.ok(author, "GET", "/me/standing")["sanctions"]
        assert [(s["kind"], s["automatic"], s["state"]) for s in standing] == [
            ("silence", True, "active")
        ]
    # One reporter is not enough to silence anyone.
    assert all(hub.ok(a, "GET", "/me/standing")["sanctions"] == [] for a in spotted)

    # So far no moderator has done anything, and every step is already logged.
    assert all(hub.requests_by[peer] == 0 for peer in PEERS)
    log = hub.all_pages(PEERS[0], "/moderation/log", "entries")
    automatic = Counter(e["action"] for e in log if e["actor"] is None)
    assert automatic == {"post_hidden_by_community": SPAMMERS, "member_auto_silenced": 10}
    hidden_targets = {e["target_id"] for e in log if e["action"] == "post_hidden_by_community"}
    assert hidden_targets == set(posts.values())

    # 3. The peer moderators work through the queue, taking turns.
    turns = 0
    while True:
        peer = PEERS[turns % len(PEERS)]
        items = hub.ok(peer, "GET", "/moderation/queue")["items"]
        if not items:
            break
        item = items[0]
        if item["kind"] == "report":
            author = item["member"]
            assert item["post"]["body"], "moderators read the hidden post"
            assert {r["reason"] for r in item["reasons"]} == {"spam"}
            payload: dict[str, Any] = (
                {"action": "silence_user", "days": 7, "reason": "Spam account."}
                if author in spotted
                else {"action": "delete_post", "reason": "Spam."}
            )
            resolved = hub.ok(peer, "POST", f"/reports/{item['id']}/resolve", payload)
            assert resolved["status"] == "upheld"
        else:
            # The automatic silences wait for a moderator to keep (or lift) them.
            assert item["kind"] == "sanction" and item["sanction"]["automatic"] is True
            kept = hub.ok(peer, "POST", f"/sanctions/{item['id']}/confirm")
            assert kept["changed"] is True
        turns += 1
        assert turns <= 100, "the queue does not empty"
    assert turns == SPAMMERS + 10
    for peer in PEERS:
        assert hub.ok(peer, "GET", "/reports?status=open")["reports"] == []
        assert hub.ok(peer, "GET", "/moderation/queue")["items"] == []
    upheld = hub.ok(PEERS[1], "GET", "/reports?status=upheld")["reports"]
    assert len(upheld) == SPAMMERS

    # Every spam post is gone from members' eyes; every spammer is silenced.
    for author, post_id in posts.items():
        shown = _shown_to_members(hub, post_id)
        assert shown["body"] is None and (shown["hidden"] or shown["deleted"])
        assert _cannot_post(hub, author, board_id)

    # 4. The whole story is in the log: each auto-hide, each auto-silence, each decision.
    log = hub.all_pages(PEERS[2], "/moderation/log", "entries")
    assert Counter(e["action"] for e in log) == {
        "site_moderator_appointed": 3,
        "post_hidden_by_community": SPAMMERS,
        "member_auto_silenced": 10,
        "member_silenced": 10,
        "post_deleted": 10,
        "sanction_confirmed": 10,
    }
    by_actor = Counter(e["actor"] for e in log)
    assert by_actor[None] == SPAMMERS + 10
    assert by_actor["founder"] == 3  # the appointments at set-up, nothing after
    assert sum(by_actor[peer] for peer in PEERS) == SPAMMERS + 10
    assert all(by_actor[peer] == 10 for peer in PEERS), by_actor
    assert hub.requests_by["founder"] == admin_requests
    # The reporters heard that their reports were handled.
    veteran = hub.ok("veteran", "GET", "/notifications")
    assert Counter(n["kind"] for n in veteran["notifications"]) == {"report_handled": 10}
