"""Chat rooms' rules (issue 14): each with an allow and a deny case, and the scope
agreeing with the predicate for every kind of reader."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum import policy
from forum.errors import Denied
from forum.errors import NotFound
from forum.extensions import db
from forum.models.chat import ChatRoom
from forum.moderation import sanctions
from forum.policy import Actor
from forum.services import chat
from tests import factories


@pytest.fixture
def world(db):  # noqa: ANN001, ANN201 - the planted rooms and readers
    member, moderator, outsider = (
        factories.make_user("member"),
        factories.make_user("moder"),
        factories.make_user("outsider"),
    )
    secret = factories.make_group(secret=True, members=(member,), moderators=(moderator,))
    public = factories.make_group(members=(member,))
    admin = factories.make_admin("boss")
    rooms = {
        "secret": chat.open_chat_room(
            factories.actor(factories.owner_of(secret)), secret, name="s"
        ),
        "public": chat.open_chat_room(
            factories.actor(factories.owner_of(public)), public, name="p"
        ),
        "site": chat.open_chat_room(factories.actor(admin), None, name="site"),
    }
    db.session.commit()
    readers = {
        "guest": Actor(),
        "member": factories.actor(member),
        "moderator": factories.actor(moderator),
        "outsider": factories.actor(outsider),
        "admin": factories.actor(admin),
        "owner": factories.actor(factories.owner_of(secret)),
    }
    return {"rooms": rooms, "readers": readers, "secret": secret, "member": member}


SEES = {
    "guest": set(),
    "member": {"secret", "public", "site"},
    "moderator": {"secret", "public", "site"},
    "outsider": {"public", "site"},
    "admin": {"public", "site"},
    "owner": {"secret", "public", "site"},
}


@pytest.mark.parametrize("reader", sorted(SEES))
def test_scope_and_predicate_agree_and_secret_rooms_are_members_only(world, reader) -> None:
    actor = world["readers"][reader]
    visible = set(
        db.session.scalars(policy.visible_chat_rooms(actor).with_only_columns(ChatRoom.id))
    )
    for name, room in world["rooms"].items():
        assert policy.can_see_chat_room(actor, room) == (room.id in visible), name
        assert (name in SEES[reader]) == (room.id in visible), name
    with pytest.raises(NotFound):
        policy.require_chat_room(actor, 987_654)


def test_writing_needs_membership_and_no_silence(world) -> None:
    rooms, readers = world["rooms"], world["readers"]
    assert policy.can_post_chat_message(readers["member"], rooms["secret"])
    assert policy.can_post_chat_message(readers["outsider"], rooms["site"])
    with pytest.raises(Denied):
        policy.check_post_chat_message(readers["outsider"], rooms["public"])
    sanctions.silence_member(
        readers["owner"], world["member"], group=world["secret"], days=1, reason="Pause."
    )
    db.session.commit()
    silenced = factories.actor(world["member"])
    with pytest.raises(Denied) as refused:
        policy.check_post_chat_message(silenced, rooms["secret"])
    assert refused.value.code == "silenced"
    # Silenced in one group only: the other group's room still takes their messages.
    assert policy.can_post_chat_message(silenced, rooms["public"])


def test_opening_moderating_and_managing_rooms(world) -> None:
    rooms, readers, secret = world["rooms"], world["readers"], world["secret"]
    assert policy.can_open_chat_room(readers["owner"], secret)
    assert not policy.can_open_chat_room(readers["moderator"], secret)
    assert not policy.can_open_chat_room(readers["admin"], secret)  # secret: no break-glass here
    assert policy.can_open_chat_room(readers["admin"], None)
    assert not policy.can_open_chat_room(readers["member"], None)
    assert policy.can_moderate_chat_room(readers["moderator"], rooms["secret"])
    assert not policy.can_moderate_chat_room(readers["member"], rooms["secret"])
    assert policy.can_manage_chat_room(readers["owner"], rooms["secret"])
    assert not policy.can_manage_chat_room(readers["moderator"], rooms["secret"])


def test_reporting_is_for_others_messages(world) -> None:
    rooms, readers = world["rooms"], world["readers"]
    message = chat.post_chat_message(readers["member"], rooms["secret"], body="hi")
    db.session.commit()
    assert policy.can_report_chat_message(readers["moderator"], message)
    assert not policy.can_report_chat_message(readers["member"], message)
    assert (
        list(db.session.scalars(policy.visible_chat_reports(readers["member"], rooms["secret"])))
        == []
    )
    assert (
        db.session.scalar(select(ChatRoom.revision).where(ChatRoom.id == rooms["secret"].id)) == 1
    )


def test_the_live_revision_guard_agrees_with_require_topic(db) -> None:
    """What a live page polls answers exactly as the topic page would (waiting topics
    included: their author sees them, other members do not)."""
    author, other = factories.make_user("writer"), factories.make_user("reader")
    topic = factories.make_topic(author=author)
    topic.awaiting_approval = True
    db.session.commit()
    assert policy.require_topic_revision(factories.actor(author), topic.id) == topic.revision
    for actor in (factories.actor(other), Actor()):
        with pytest.raises(NotFound):
            policy.require_topic(actor, topic.id)
        with pytest.raises(NotFound):
            policy.require_topic_revision(actor, topic.id)
    topic.awaiting_approval = False
    db.session.commit()
    assert policy.require_topic_revision(factories.actor(other), topic.id) == topic.revision
