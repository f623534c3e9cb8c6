"""E-mail choices on the account page and through the API, and the one-click unsubscribe
link every notification mail carries: no login, a button (GET changes nothing), and a
clear page for a damaged, old or orphaned link (nothing changed)."""

from __future__ import annotations

import pytest

from forum.extensions import db as database
from forum.models.email import EmailSettings
from forum.services import data_rights
from forum.services import notification_mail
from forum.services import notifications
from tests import factories as f


def _choices(user):
    return notifications.preferences(f.actor(user))


def _mailed(app, client, login_as):
    """ann opted in to mentions at once; bob mentions her through the reply form."""
    ann = f.make_user("ann", email="ann@example.org")
    bob = f.make_user("bob", trust_level=1)
    topic = f.make_topic(author=ann)
    notifications.set_preferences(
        f.actor(ann), {"mention": {"email": "immediately"}, "reply": {"email": "immediately"}}
    )
    database.session.commit()
    login_as(bob)
    answer = client.post(f"/t/{topic.id}/reply", data={"body": "Thanks @ann"})
    assert answer.status_code in (302, 303)
    [sent] = app.extensions["forum_outbox"]
    client.post("/logout")
    path = sent.headers["List-Unsubscribe"].strip("<>").split("://", 1)[1].split("/", 1)[1]
    return ann, "/" + path


def test_the_mail_link_shows_a_button_and_post_stops_that_kind(
    app, db, client, new_client, login_as
):
    ann, path = _mailed(app, client, login_as)
    client = new_client()  # nobody logged in
    page = client.get(path)
    assert page.status_code == 200
    assert "Stop these e-mails" in page.get_data(as_text=True)
    assert _choices(ann)["mention"]["email"] == "immediately"  # a GET changes nothing
    done = client.post(path)
    assert done.status_code == 200 and "Unsubscribed" in done.get_data(as_text=True)
    database.session.expire_all()
    assert _choices(ann)["mention"]["email"] == "never"
    assert _choices(ann)["reply"]["email"] == "immediately"


def test_one_click_post_from_a_mail_program_and_stop_everything(
    app, db, client, new_client, login_as
):
    ann, path = _mailed(app, client, login_as)
    client = new_client()
    # RFC 8058: the mail program posts this body, with no cookie and no CSRF token.
    answer = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    answer = client.post(path, data={"scope": "all"})
    assert answer.status_code == 200
    database.session.expire_all()
    assert {c["email"] for c in _choices(ann).values()} == {"never"}
    row = database.session.get(EmailSettings, ann.id)
    assert row is None or row.digest == "off"


def _forged(path):
    return path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")


@pytest.mark.parametrize("damage", ["tampered", "garbage", "expired"])
def test_a_bad_link_is_a_clear_page_and_changes_nothing(
    app, db, client, new_client, login_as, monkeypatch, damage
):
    ann, path = _mailed(app, client, login_as)
    if damage == "tampered":
        path = _forged(path)
    elif damage == "garbage":
        path = "/email/unsubscribe/not-a-token"
    else:
        monkeypatch.setattr(notification_mail, "UNSUBSCRIBE_MAX_AGE", -1)
    client = new_client()
    for answer in (client.get(path), client.post(path, data={"scope": "all"})):
        assert answer.status_code == 400
        assert "Nothing was changed" in answer.get_data(as_text=True)
    database.session.expire_all()
    assert _choices(ann)["mention"]["email"] == "immediately"


@pytest.mark.parametrize("change", ["address", "deleted"])
def test_a_link_dies_with_the_address_or_the_account(app, db, client, new_client, login_as, change):
    ann, path = _mailed(app, client, login_as)
    if change == "address":
        ann.email = "new@example.org"
    else:
        data_rights.delete_account(f.actor(ann), ann, posts="keep")
    database.session.commit()
    answer = new_client().post(path)
    assert answer.status_code == 404
    assert "Nothing was changed" in answer.get_data(as_text=True)


def test_account_page_shows_and_saves_email_choices(db, client, login_as):
    ann = f.make_user("ann")
    login_as(ann)
    page = client.get("/account").get_data(as_text=True)
    assert 'id="email-h"' in page and "no confirmed e-mail address" in page
    client.post("/account/email", data={"digest": "weekly"})  # box unticked: excerpts
    assert notification_mail.email_settings(f.actor(ann)) == {
        "digest": "weekly",
        "link_only": False,
        "address": False,
    }
    answer = client.post("/account/email", data={"digest": "hourly", "link_only": "1"})
    assert answer.status_code == 302
    assert notification_mail.email_settings(f.actor(ann))["digest"] == "weekly"
