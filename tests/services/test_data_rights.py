"""Members' data rights: the export holds the member's data and nothing of others'."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from sqlalchemy import func
from sqlalchemy import select

from forum.errors import Conflict
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.models.activity import PostLike
from forum.models.groups import Membership
from forum.models.notifications import Notification
from forum.models.posts import PostRevision
from forum.models.sessions import UserSession
from forum.policy import require_user
from forum.search import service as search_service
from forum.services import data_rights
from forum.services import groups
from tests import factories

OTHER_EMAIL = "other-private@example.org"
OTHER_BIO = "OTHER-PRIVATE-BIO"
OTHER_NOTE = "OTHER-REPORTER-NOTE"
OTHER_SECRET_POST = "OTHER-SECRET-GROUP-POST"


def _unzip(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201 - the db fixture
    me = factories.make_user("exporter", email="me@example.org")
    me.bio = "My own bio"
    other = factories.make_user("otherperson", email=OTHER_EMAIL)
    other.bio = OTHER_BIO
    db.session.commit()
    public = factories.make_topic(author=me, title="My public topic", body="MY-PUBLIC-BODY")
    secret_group = factories.make_group(secret=True, members=(me, other))
    secret_board = factories.make_board(group=secret_group)
    secret = factories.make_topic(secret_board, me, title="Secret topic", body="MY-SECRET-BODY")
    factories.make_post(secret, other, body=OTHER_SECRET_POST)
    # A group the member is not in: a post there by another member is not theirs.
    closed = factories.make_group(secret=True, members=(other,))
    factories.make_topic(factories.make_board(group=closed), other, body="UNSEEN-GROUP-POST")
    theirs = factories.make_post(public, other, body="A reply by the other member.")
    factories.make_report(theirs, me, note="my note on it")
    third = factories.make_user("thirdreporter", trust_level=1)
    factories.make_report(theirs, third, note=OTHER_NOTE)
    factories.make_like(me, theirs)
    db.session.add(Notification(user_id=other.id, kind="test", text="OTHER-NOTIFICATION"))
    db.session.add(Notification(user_id=me.id, kind="test", text="MY-NOTIFICATION"))
    factories.make_session(me, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0")
    db.session.commit()
    return me, other, public, secret


def test_export_holds_the_members_own_data(world) -> None:  # noqa: ANN001
    me, _other, public, secret = world
    files = _unzip(data_rights.export_member_data(factories.actor(me), me))
    account = json.loads(files["account.json"])
    assert account["profile"]["username"] == "exporter"
    assert account["profile"]["bio"] == "My own bio"
    assert account["email"] == "me@example.org"
    assert len(account["sessions"]) == 1
    assert "key" not in json.dumps(account["sessions"])
    assert [g["role"] for g in account["groups"]] == ["member"]
    # (Besides those the test's replies and likes made, which name nobody in their text.)
    mine = [n["text"] for n in account["notifications"] if n["kind"] == "test"]
    assert mine == ["MY-NOTIFICATION"]
    assert [r["note"] for r in account["reports"]] == ["my note on it"]
    assert account["reports"][0]["post_text"] == "A reply by the other member."
    assert len(account["likes"]) == 1
    assert f"posts/{public.id}-1.md" in files
    assert f"posts/{secret.id}-1.md" in files
    public_md = files[f"posts/{public.id}-1.md"]
    assert public_md.startswith("# My public topic\n")
    assert "MY-PUBLIC-BODY" in public_md
    assert "/p/" in public_md
    assert "MY-SECRET-BODY" in files[f"posts/{secret.id}-1.md"]
    assert len([name for name in files if name.startswith("posts/")]) == 2


def test_export_holds_nothing_of_other_members(world) -> None:  # noqa: ANN001
    me, other, _public, _secret = world
    everything = "\n".join(_unzip(data_rights.export_member_data(factories.actor(me), me)).values())
    for planted in (
        OTHER_EMAIL,
        OTHER_BIO,
        OTHER_NOTE,
        OTHER_SECRET_POST,
        "UNSEEN-GROUP-POST",
        "OTHER-NOTIFICATION",
        other.username,
        "thirdreporter",
        other.password_hash,
        me.password_hash,
    ):
        assert planted not in everything


def test_export_is_only_for_the_member_themself(world) -> None:  # noqa: ANN001
    me, other, _public, _secret = world
    with pytest.raises(NotFound):
        data_rights.export_member_data(factories.actor(other), me)


# --- deleting an account ------------------------------------------------------------

DELETED_BODY = "ZEBRAPHRASE-WRITTEN-BY-THE-LEAVER"
SECRET_BODY = "OKAPIPHRASE-IN-THE-SECRET-GROUP"


@pytest.fixture
def leaver(db, app):  # noqa: ANN001, ANN201 - the db and app fixtures
    """A member with posts (one in a secret group), an edit, likes, tokens and codes."""
    from forum.services import accounts
    from forum.services import posts as post_service

    me = factories.make_user("leaverperson", email="leaver@example.org", trust_level=1)
    me.bio = "LEAVER-BIO"
    other = factories.make_user("stayer", trust_level=1)
    db.session.commit()
    public = factories.make_topic(author=me, title="Leaver topic title", body=DELETED_BODY)
    reply = factories.make_post(public, other, body="A reply that stays.")
    group = factories.make_group(secret=True, members=(me, other))
    secret = factories.make_topic(factories.make_board(group=group), other, body="Group talk.")
    secret_post = factories.make_post(secret, me, body=SECRET_BODY)
    mine = public_post(public)
    post_service.edit_post(factories.actor(me), mine, body=DELETED_BODY + " edited once")
    factories.make_like(me, reply)
    factories.make_like(other, mine)
    accounts.issue_api_token(me)
    accounts.issue_recovery_codes(me)
    factories.make_session(me)
    # Notifications written with a name in their text (as before 0017; kinds in
    # notifications.ACTED name nobody in their text, only by actor_id when read).
    db.session.add(Notification(user_id=other.id, kind="legacy", text="leaverperson replied"))
    # The name inside a longer word is somebody else's text: it stays.
    db.session.add(Notification(user_id=other.id, kind="legacy", text="xleaverpersons replied"))
    db.session.add(Notification(user_id=me.id, kind="legacy", text="stayer replied"))
    db.session.commit()
    search_service.drain_all(app)
    return me, other, public, secret, secret_post


def public_post(topic):  # noqa: ANN001, ANN201
    from forum.models.posts import Post

    return db_session().scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))


def db_session():  # noqa: ANN201
    from forum.extensions import db

    return db.session


def _rows(model, **where) -> int:  # noqa: ANN001
    query = select(func.count()).select_from(model)
    for name, value in where.items():
        query = query.where(getattr(model, name) == value)
    return db_session().scalar(query)


def _gone_everywhere(me, other, old_name: str) -> None:  # noqa: ANN001
    from forum.models.users import ApiToken
    from forum.models.users import RecoveryCode
    from forum.services import accounts

    assert me.username == f"deleted-{me.id}"
    assert me.email is None and me.pending_email is None and me.bio == ""
    assert me.is_deleted
    assert accounts.find_user(old_name) is None
    for model in (ApiToken, RecoveryCode, Notification, UserSession, Membership, PostLike):
        assert _rows(model, user_id=me.id) == 0
    for name in (old_name, me.username):
        with pytest.raises(NotLoggedIn):
            accounts.authenticate(name, factories.PASSWORD, ip=None)
        with pytest.raises(NotFound):
            require_user(factories.actor(other), name)
    texts = (
        db_session()
        .scalars(
            select(Notification.text).where(Notification.kind == "legacy").order_by(Notification.id)
        )
        .all()
    )
    assert texts == ["deleted member replied", "xleaverpersons replied"]
    hits = search_service.search_posts(factories.actor(other), q="leaverperson")
    assert hits.total == 0


def test_delete_keeping_posts_leaves_them_under_the_tombstone(leaver, app) -> None:  # noqa: ANN001
    me, other, public, _secret, secret_post = leaver
    data_rights.delete_account(factories.actor(me), me, posts="keep")
    db_session().commit()
    search_service.drain_all(app)
    _gone_everywhere(me, other, "leaverperson")
    kept = public_post(public)
    assert kept.author_id == me.id and DELETED_BODY in kept.body and not kept.is_deleted
    assert _rows(PostRevision, post_id=kept.id) == 1
    assert secret_post.body == SECRET_BODY
    # Their words are still found; under the placeholder name, never the old one.
    assert search_service.search_posts(factories.actor(other), q="ZEBRAPHRASE").total == 1


def test_delete_removing_posts_empties_them_and_their_history(leaver, app) -> None:  # noqa: ANN001
    me, other, public, secret, secret_post = leaver
    data_rights.delete_account(factories.actor(me), me, posts="remove")
    db_session().commit()
    search_service.drain_all(app)
    _gone_everywhere(me, other, "leaverperson")
    removed = public_post(public)
    assert removed.body == "" and removed.html == "" and removed.is_deleted
    assert _rows(PostRevision, post_id=removed.id) == 0
    assert _rows(PostLike, post_id=removed.id) == 0
    assert public.title == "Removed topic"
    assert public.posts_count == 1  # the other member's reply
    assert secret_post.body == "" and secret_post.is_deleted
    assert secret.posts_count == 1
    for phrase in ("ZEBRAPHRASE", "OKAPIPHRASE", "Leaver"):
        assert search_service.search_posts(factories.actor(other), q=phrase).total == 0


def test_deleted_name_is_free_and_placeholders_are_reserved(leaver) -> None:  # noqa: ANN001
    from forum.errors import Invalid
    from forum.services import accounts

    me, _other, _public, _secret, _post = leaver
    data_rights.delete_account(factories.actor(me), me, posts="keep")
    db_session().commit()
    again = accounts.create_user(username="leaverperson", password=factories.PASSWORD)
    assert again.id != me.id
    with pytest.raises(Invalid):
        accounts.create_user(username=f"deleted-{me.id + 1}", password=factories.PASSWORD)


def test_delete_refuses_a_bad_choice_and_other_members(leaver) -> None:  # noqa: ANN001
    from forum.errors import Invalid

    me, other, _public, _secret, _post = leaver
    with pytest.raises(Invalid):
        data_rights.delete_account(factories.actor(me), me, posts="maybe")
    with pytest.raises(NotFound):
        data_rights.delete_account(factories.actor(other), me, posts="keep")
    assert me.username == "leaverperson"


def test_sole_owner_must_hand_over_first(db) -> None:  # noqa: ANN001
    owner = factories.make_user("loneowner")
    factories.make_group(owner=owner)
    with pytest.raises(Conflict):
        data_rights.delete_account(factories.actor(owner), owner, posts="keep")


def test_admin_deletion_is_logged_under_the_tombstone(leaver) -> None:  # noqa: ANN001
    from forum.models.modlog import Action
    from forum.models.modlog import ModerationLog

    me, _other, _public, _secret, _post = leaver
    admin = factories.make_admin()
    data_rights.delete_account(factories.actor(admin), me, posts="remove", reason="Asked by e-mail")
    db_session().commit()
    entry = db_session().scalar(
        select(ModerationLog).where(ModerationLog.action == Action.ACCOUNT_DELETED)
    )
    assert entry is not None and entry.target_id == me.id and entry.actor_id == admin.id
    assert "leaverperson" not in entry.data + entry.reason


def test_export_leaves_out_a_group_that_removed_the_member(db) -> None:  # noqa: ANN001
    """A removal holds through the export too: the group's topic and board names are the
    group's secret now, so the posts the member wrote there are not handed back."""
    owner = factories.make_user("circleowner")
    me = factories.make_user("removedone")
    circle = factories.make_group(secret=True, owner=owner, members=(me,))
    board = factories.make_board(group=circle, name="LEFT-GROUP-BOARD")
    factories.make_topic(board, me, title="LEFT-GROUP-TITLE", body="MY-POST-IN-LEFT-GROUP")
    db.session.commit()
    groups.remove_member(factories.actor(owner), circle, "removedone")
    db.session.commit()
    everything = "\n".join(_unzip(data_rights.export_member_data(factories.actor(me), me)).values())
    for secret in ("LEFT-GROUP-BOARD", "LEFT-GROUP-TITLE", "MY-POST-IN-LEFT-GROUP", circle.name):
        assert secret not in everything
