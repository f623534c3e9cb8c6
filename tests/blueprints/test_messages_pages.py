"""Private messages in the browser: start from a profile, read and reply, leave, report,
block; outsiders get the plain 404."""

from __future__ import annotations

import pytest

from forum.errors import NotFound
from forum.extensions import db
from forum.services import messages
from tests import factories as f
from tests.blueprints.conftest import flat
from tests.blueprints.conftest import without_csrf


@pytest.fixture
def pair(db):
    ann = f.make_user("ann", trust_level=1)
    bob = f.make_user("bob", trust_level=1)
    f.make_group("Circle", members=(ann, bob))
    return ann, bob


def test_start_from_profile_reply_and_badge(client, new_client, login_as, pair):
    ann, bob = pair
    login_as(ann)
    profile = client.get("/u/bob").get_data(as_text=True)
    assert "/messages/new?to=bob" in profile and "/u/bob/block" in profile
    form = client.get("/messages/new?to=bob").get_data(as_text=True)
    assert 'value="bob"' in form
    sent = client.post(
        "/messages/new", data={"recipients": "bob", "title": "Coffee?", "body": "Shall we *meet*?"}
    )
    assert sent.status_code == 302
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "<em>meet</em>" in page and messages.REPORT_NOTICE in page
    other = new_client()
    key = f.make_session(bob)
    with other.session_transaction() as session:
        session["_user_id"] = key
        session["_fresh"] = True
    assert "Notifications (1)" in other.get("/messages").get_data(as_text=True)
    listed = flat(other.get("/messages").get_data(as_text=True))
    assert "New Coffee?" in listed
    conversation_id = int(sent.headers["Location"].rsplit("/", 1)[1])
    link = other.get(f"/messages/{conversation_id}")
    assert link.status_code == 200
    assert "Notifications (" not in other.get("/messages").get_data(as_text=True)
    reply = other.post(f"/messages/{conversation_id}", data={"body": "Yes please"})
    assert reply.status_code == 302 and "/m/" in reply.headers["Location"]
    landed = other.get(reply.headers["Location"])
    assert landed.headers["Location"].endswith(
        f"?page=1#m{reply.headers['Location'].rsplit('/', 1)[1]}"
    )
    shown = other.get(landed.headers["Location"]).get_data(as_text=True)
    assert "Yes please" in shown


def test_outsider_gets_the_plain_404(client, login_as, pair):
    ann, bob = pair
    conversation = messages.start_conversation(
        f.actor(ann), recipients=["bob"], title="Private", body="Only for bob"
    )
    db.session.commit()
    login_as(f.make_admin("boss"))
    secret = client.get(f"/messages/{conversation.id}")
    missing = client.get("/messages/999999")
    assert secret.status_code == missing.status_code == 404
    assert without_csrf(secret.get_data(as_text=True)) == without_csrf(
        missing.get_data(as_text=True)
    )
    assert "Private" not in client.get("/messages").get_data(as_text=True)


def test_block_from_profile_collapses_messages_and_refuses_new_ones(client, login_as, pair):
    ann, bob = pair
    conversation = messages.start_conversation(
        f.actor(ann), recipients=["bob"], title="Earlier", body="Before the block"
    )
    db.session.commit()
    login_as(bob)
    assert client.post("/u/ann/block").status_code == 302
    page = client.get(f"/messages/{conversation.id}").get_data(as_text=True)
    assert "<summary>Message by someone you blocked</summary>" in page
    assert "ann" in flat(client.get("/account/messages").get_data(as_text=True))
    # Ann is not told: her new conversation is refused like one to an unknown name,
    # and bob's profile no longer offers her a "Message" button.
    with pytest.raises(NotFound):
        messages.start_conversation(f.actor(ann), recipients=["bob"], title="Again", body="Hi")
    login_as(ann)
    assert "/messages/new?to=bob" not in client.get("/u/bob").get_data(as_text=True)


def test_blocked_authors_posts_fold_away_for_the_blocker_only(client, new_client, login_as, pair):
    ann, bob = pair
    topic = f.make_topic(author=bob, body="Bob opens the topic")
    f.make_post(topic, ann, body="Ann replies here")
    messages.block_user(f.actor(bob), ann)
    db.session.commit()
    login_as(bob)
    page = client.get(f"/t/{topic.id}?page=1").get_data(as_text=True)
    folded = page.split("<summary>Post by someone you blocked</summary>")
    assert len(folded) == 2 and "Ann replies here" in folded[1]
    assert "Bob opens the topic" in folded[0]
    other = new_client()
    key = f.make_session(ann)
    with other.session_transaction() as session:
        session["_user_id"] = key
    seen = other.get(f"/t/{topic.id}?page=1").get_data(as_text=True)
    assert "someone you blocked" not in seen and "Ann replies here" in seen


def test_mentions_from_a_blocked_member_notify_nobody(db, pair):
    from forum.services import notifications

    ann, bob = pair
    topic = f.make_topic(author=f.make_user(trust_level=1))
    messages.block_user(f.actor(bob), ann)
    db.session.commit()
    f.make_post(topic, ann, body="Hello @bob")
    assert notifications.notifications(f.actor(bob)).items == []
    messages.unblock_user(f.actor(bob), ann)
    db.session.commit()
    f.make_post(topic, ann, body="Hello again @bob")
    assert [n.kind for n in notifications.notifications(f.actor(bob)).items] == ["mention"]


def test_a_helpers_site_label_shows_beside_their_name_in_a_conversation(client, login_as, pair):
    # Members should know when they are talking to a professional (issue 14).
    from forum.services import labels

    ann, bob = pair
    labels.set_label(f.actor(f.make_admin("boss")), ann, label="Peer supporter")
    conversation = messages.start_conversation(
        f.actor(ann), recipients=["bob"], title="Hello", body="How are you?"
    )
    db.session.commit()
    login_as(bob)
    page = client.get(f"/messages/{conversation.id}").get_data(as_text=True)
    assert '<span class="visually-hidden">role: </span>Peer supporter</span>' in page
