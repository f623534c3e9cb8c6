"""Private messages: who may message whom, reading with history, notifications, the
report window, blocks. Each rule has an allow and a deny case."""

from __future__ import annotations

import pytest

from forum import policy
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.base import utcnow
from forum.services import messages
from forum.services import notifications
from tests import factories as f


@pytest.fixture
def people(db):
    ann = f.make_user("ann", trust_level=1)
    bob = f.make_user("bob", trust_level=1)
    cat = f.make_user("cat", trust_level=1)
    newbie = f.make_user("newbie", trust_level=0)
    mod = f.make_user("mod", moderator=True, trust_level=2)
    admin = f.make_admin("boss")
    outsider = f.make_user("outsider", trust_level=1)
    f.make_group("Circle", members=(ann, bob, cat, newbie))
    # Joining a group by invitation lifts a member to level 1: back to 0.
    newbie.trust_level = 0
    db.session.commit()
    return {
        "ann": ann,
        "bob": bob,
        "cat": cat,
        "newbie": newbie,
        "mod": mod,
        "admin": admin,
        "outsider": outsider,
    }


def start(db, sender, names, body="Hello there", title="A word"):
    conversation = messages.start_conversation(
        f.actor(sender), recipients=names, title=title, body=body
    )
    db.session.commit()
    return conversation


def test_start_notifies_the_others_without_the_words(db, people):
    conversation = start(db, people["ann"], ["bob", "cat"], body="my secret words")
    for name in ("bob", "cat"):
        actor = f.actor(people[name])
        found = notifications.notifications(actor).items
        assert [n.kind for n in found] == ["message"]
        shown = notifications.shown(actor, found)[found[0].id]
        assert "secret" not in shown.text and "A word" not in shown.text
        assert shown.url.startswith(f"/messages/{conversation.id}/m/")
    assert notifications.notifications(f.actor(people["ann"])).items == []


def test_non_participants_and_staff_get_404(db, people):
    conversation = start(db, people["ann"], ["bob"])
    for name in ("cat", "mod", "admin", "outsider"):
        with pytest.raises(NotFound):
            policy.require_conversation(f.actor(people[name]), conversation.id)
        assert messages.conversations(f.actor(people[name])).items == []
    assert policy.require_conversation(f.actor(people["bob"]), conversation.id) == conversation


def test_unknown_hidden_and_blocking_recipients_answer_alike(db, people):
    for names in (["nobody"], ["outsider"]):
        with pytest.raises(NotFound):
            start(db, people["ann"], names)
    messages.block_user(f.actor(people["bob"]), people["ann"])
    db.session.commit()
    with pytest.raises(NotFound):
        start(db, people["ann"], ["bob"])
    messages.unblock_user(f.actor(people["bob"]), people["ann"])
    db.session.commit()
    assert start(db, people["ann"], ["bob"]).id


def test_suspended_recipient_answers_like_unknown(db, people):
    from datetime import timedelta

    people["bob"].suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    with pytest.raises(NotFound):
        start(db, people["ann"], ["bob"])


def test_self_and_too_many_are_invalid(db, people):
    with pytest.raises(Invalid):
        start(db, people["ann"], ["ann"])
    with pytest.raises(Invalid):
        start(db, people["ann"], [f"x{n:02d}xx" for n in range(20)])


def test_groups_only_setting(db, people):
    # The outsider knows bob from a public post but shares no group with him; bob's
    # setting (on for new members) refuses, and says so (it reveals no block).
    f.make_topic(board=f.make_board(), author=people["bob"])
    with pytest.raises(Denied) as refused:
        start(db, people["outsider"], ["bob"])
    assert refused.value.code == "groups_only"
    messages.set_messages_from_groups_only(f.actor(people["bob"]), False)
    db.session.commit()
    assert start(db, people["outsider"], ["bob"]).id


def test_new_members_answer_or_message_moderators_only(db, people):
    newbie = people["newbie"]
    with pytest.raises(Denied) as refused:
        start(db, newbie, ["ann"])
    assert refused.value.code == "trust_level"
    assert start(db, newbie, ["mod"]).id
    start(db, people["ann"], ["newbie"])
    assert start(db, newbie, ["ann"]).id


def test_leaving_hides_the_conversation_and_its_notifications(db, people):
    conversation = start(db, people["ann"], ["bob", "cat"])
    bob = f.actor(people["bob"])
    messages.leave_conversation(bob, conversation)
    db.session.commit()
    with pytest.raises(NotFound):
        policy.require_conversation(bob, conversation.id)
    messages.send_message(f.actor(people["ann"]), conversation, body="After bob left")
    db.session.commit()
    assert notifications.notifications(bob).items == []
    assert notifications.unread_count(bob) == 0
    assert len(notifications.notifications(f.actor(people["cat"])).items) == 2


def test_added_member_reads_from_joining_only(db, people):
    conversation = start(db, people["ann"], ["bob"], body="Before cat")
    ann = f.actor(people["ann"])
    messages.add_participants(ann, conversation, usernames=["cat"])
    messages.send_message(ann, conversation, body="After cat")
    db.session.commit()
    cat = f.actor(people["cat"])
    assert [m.body for m in messages.messages(cat, conversation).items] == ["After cat"]
    with pytest.raises(NotFound):
        messages.add_participants(ann, conversation, usernames=["outsider"])


def test_report_window_is_the_message_and_two_before(db, people):
    conversation = start(db, people["ann"], ["bob"], body="one")
    ann, bob = f.actor(people["ann"]), f.actor(people["bob"])
    for body in ("two", "three", "four", "five"):
        messages.send_message(ann, conversation, body=body)
    db.session.commit()
    four = messages.messages(bob, conversation).items[3]
    with pytest.raises(NotFound):
        policy.require_conversation(f.actor(people["mod"]), conversation.id)
    report = messages.report_message(bob, four, reason="abuse", note="")
    db.session.commit()
    with pytest.raises(Conflict):
        messages.report_message(bob, four, reason="abuse")
    window = policy.reported_message_window(f.actor(people["mod"]), report)
    assert [m.body for m in window] == ["two", "three", "four"]
    # Still no door into the conversation itself, and no other member sees the report.
    with pytest.raises(NotFound):
        policy.require_conversation(f.actor(people["mod"]), conversation.id)
    with pytest.raises(NotFound):
        policy.require_message_report(f.actor(people["cat"]), report.id)


def test_own_message_cannot_be_reported(db, people):
    conversation = start(db, people["ann"], ["bob"])
    mine = messages.messages(f.actor(people["ann"]), conversation).items[0]
    assert not policy.can_report_message(f.actor(people["ann"]), mine)
    assert policy.can_report_message(f.actor(people["bob"]), mine)


def test_blocker_is_not_notified_of_messages_in_a_shared_conversation(db, people):
    conversation = start(db, people["ann"], ["bob", "cat"])
    messages.block_user(f.actor(people["bob"]), people["cat"])
    db.session.commit()
    messages.send_message(f.actor(people["cat"]), conversation, body="from cat")
    db.session.commit()
    kinds = [n.actor_id for n in notifications.notifications(f.actor(people["bob"])).items]
    assert people["cat"].id not in kinds


def test_unread_marks_in_the_list(db, people):
    conversation = start(db, people["ann"], ["bob"])
    bob = f.actor(people["bob"])
    assert [e.unread for e in messages.conversations(bob).items] == [True]
    assert [e.unread for e in messages.conversations(f.actor(people["ann"])).items] == [False]
    messages.mark_read(bob, conversation, messages.messages(bob, conversation).items)
    db.session.commit()
    assert [e.unread for e in messages.conversations(bob).items] == [False]


def test_deleted_author_keeps_messages_for_the_others(db, people):
    from forum.services import data_rights

    conversation = start(db, people["ann"], ["bob"], body="kept")
    ann = people["ann"]
    data_rights.delete_account(f.actor(ann), ann, posts="keep")
    db.session.commit()
    kept = messages.messages(f.actor(people["bob"]), conversation).items
    assert [(m.body, m.author.shown_name) for m in kept] == [("kept", "deleted member")]


def test_report_window_never_reaches_before_the_reporter_joined(db, people):
    conversation = start(db, people["ann"], ["bob"], body="before cat one")
    ann = f.actor(people["ann"])
    messages.send_message(ann, conversation, body="before cat two")
    messages.add_participants(ann, conversation, usernames=["cat"])
    db.session.commit()
    first_seen = messages.send_message(ann, conversation, body="cat sees this")
    db.session.commit()
    report = messages.report_message(f.actor(people["cat"]), first_seen, reason="abuse")
    db.session.commit()
    window = policy.reported_message_window(f.actor(people["mod"]), report)
    assert [m.body for m in window] == ["cat sees this"]


def test_export_holds_the_messages_the_member_wrote(db, people):
    import io
    import json
    import zipfile

    from forum.services import data_rights

    start(db, people["ann"], ["bob"], body="written by ann")
    conversation = messages.conversations(f.actor(people["bob"])).items[0].conversation
    messages.send_message(f.actor(people["bob"]), conversation, body="written by bob")
    db.session.commit()
    data = data_rights.export_member_data(f.actor(people["ann"]), people["ann"])
    account = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("account.json"))
    assert [m["body"] for m in account["messages"]] == ["written by ann"]
