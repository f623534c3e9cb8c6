"""Issue 14's gaps on the pages: the header counts unread conversations, a member deletes
their own message (the others read a placeholder), and closing a report from
/mod/messages is logged."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum.audit import Action
from forum.extensions import db as database
from forum.models.messages import Conversation
from forum.models.modlog import ModerationLog
from forum.services import messages
from tests import factories as f

COUNT = '<span class="count">{}<span class="visually-hidden"> unread</span>'


@pytest.fixture
def trio(db):
    ann = f.make_user("ann", trust_level=1)
    bob = f.make_user("bob", trust_level=1)
    mod = f.make_user("mod", moderator=True, trust_level=2)
    f.make_group("Circle", members=(ann, bob))
    conversation = messages.start_conversation(
        f.actor(ann), recipients=["bob"], title="Coffee?", body="Shall we meet?"
    )
    db.session.commit()
    return ann, bob, mod, conversation.id


def _conversation(cid):
    return database.session.get(Conversation, cid)


def _as(new_client, user):
    other = new_client()
    key = f.make_session(user)
    with other.session_transaction() as session:
        session["_user_id"] = key
        session["_fresh"] = True
    return other


def test_header_counts_unread_conversations(new_client, trio):
    ann, bob, _mod, cid = trio
    reader = _as(new_client, bob)
    assert COUNT.format(1) in reader.get("/").get_data(as_text=True)
    assert reader.get(f"/messages/{cid}").status_code == 200
    assert '<span class="visually-hidden"> unread' not in reader.get("/").get_data(as_text=True)
    # The writer has nothing unread.
    assert COUNT.format(1) not in _as(new_client, ann).get("/").get_data(as_text=True)


def test_delete_own_message_from_the_page(new_client, trio):
    ann, bob, _mod, cid = trio
    author = _as(new_client, ann)
    mid = messages.messages(f.actor(ann), _conversation(cid)).items[0].id
    page = author.get(f"/messages/{cid}").get_data(as_text=True)
    assert f"/messages/{cid}/m/{mid}/delete" in page
    reader = _as(new_client, bob)
    # Someone else's message: no button, and 403 if asked (they can see it).
    assert f"/m/{mid}/delete" not in reader.get(f"/messages/{cid}").get_data(as_text=True)
    assert reader.post(f"/messages/{cid}/m/{mid}/delete").status_code == 403
    done = author.post(f"/messages/{cid}/m/{mid}/delete")
    assert done.status_code == 302
    shown = reader.get(f"/messages/{cid}").get_data(as_text=True)
    assert "This message was deleted." in shown and "Shall we meet?" not in shown


def test_closing_a_report_from_the_page_is_logged(new_client, trio, db):
    ann, bob, mod, cid = trio
    message = messages.messages(f.actor(bob), _conversation(cid)).items[0]
    report = messages.report_message(f.actor(bob), message, reason="abuse")
    db.session.commit()
    closed = _as(new_client, mod).post(f"/mod/messages/{report.id}", data={"decision": "upheld"})
    assert closed.status_code == 302
    assert db.session.scalar(
        select(ModerationLog.id).where(ModerationLog.action == Action.MESSAGE_REPORT_RESOLVED)
    )
