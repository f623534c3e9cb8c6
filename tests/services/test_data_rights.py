"""Members' data rights: the export holds the member's data and nothing of others'."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from forum.errors import NotFound
from forum.models.notifications import Notification
from forum.services import data_rights
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
    assert [n["text"] for n in account["notifications"]] == ["MY-NOTIFICATION"]
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
